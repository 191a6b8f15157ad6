//! Slow clients: the request body must arrive within
//! `CLIENT_REQUEST_TIMEOUT_SECS` of the headers (actix times the headers out
//! itself, with the same setting). A body that is late ends the request with
//! 408 and the connection is closed, so one client trickling a byte every
//! few seconds cannot hold a connection open.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Context, Poll};

use actix_web::HttpMessage;
use actix_web::body::{EitherBody, MessageBody};
use actix_web::dev::{Payload, ServiceRequest, ServiceResponse};
use actix_web::error::PayloadError;
use actix_web::middleware::Next;
use actix_web::web::{Bytes, Data};
use futures_util::Stream;

use crate::error::ApiError;
use crate::http::AppState;

/// A payload that fails once its deadline has passed.
struct Deadline {
    inner: Payload,
    sleep: Pin<Box<tokio::time::Sleep>>,
    expired: Arc<AtomicBool>,
}

impl Stream for Deadline {
    type Item = Result<Bytes, PayloadError>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        if self.expired.load(Ordering::Relaxed) {
            return Poll::Ready(None);
        }
        if self.sleep.as_mut().poll(cx).is_ready() {
            self.expired.store(true, Ordering::Relaxed);
            return Poll::Ready(Some(Err(PayloadError::Io(std::io::Error::new(
                std::io::ErrorKind::TimedOut,
                "the request body did not arrive in time",
            )))));
        }
        Pin::new(&mut self.inner).poll_next(cx)
    }
}

pub async fn body_deadline(
    mut req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<EitherBody<impl MessageBody>>, actix_web::Error> {
    let Some(timeout) = req
        .app_data::<Data<AppState>>()
        .map(|state| state.settings().client_request_timeout)
    else {
        return next
            .call(req)
            .await
            .map(ServiceResponse::map_into_left_body);
    };
    let expired = Arc::new(AtomicBool::new(false));
    let payload = req.take_payload();
    let timed = Deadline {
        inner: payload,
        sleep: Box::pin(tokio::time::sleep(timeout)),
        expired: expired.clone(),
    };
    req.set_payload(Payload::Stream {
        payload: Box::pin(timed),
    });
    let result = next.call(req).await;
    if !expired.load(Ordering::Relaxed) {
        return result.map(ServiceResponse::map_into_left_body);
    }
    log::info!("request body too slow: answered 408 and closed the connection");
    match result {
        Ok(response) => {
            let (request, _) = response.into_parts();
            let timeout = actix_web::ResponseError::error_response(&ApiError::RequestTimeout);
            Ok(ServiceResponse::new(request, timeout).map_into_right_body())
        }
        Err(_) => Err(ApiError::RequestTimeout.into()),
    }
}
