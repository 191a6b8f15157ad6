//! Every request's id and its access line. The id is a trusted proxy's
//! `X-Request-Id` (when plain and short enough, `log_context::RequestId`),
//! else generated here: a client's own header from any other peer is not
//! believed, so one client cannot make its lines look like another's. The
//! id is in force for everything the request's handler logs and for the
//! outbox rows it queues, and it is echoed in `X-Request-Id` on every
//! answer, refusals by any layer included.

use std::time::Instant;

use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::error::InternalError;
use actix_web::http::header::{HeaderName, HeaderValue};
use actix_web::middleware::Next;
use actix_web::web;

use super::AppState;
use crate::log_context::{self, LogContext, RequestId};
use crate::log_safe;

const HEADER: HeaderName = HeaderName::from_static("x-request-id");

/// The outermost layer: the request's id set, the answer tagged with it,
/// and one access line (method, path without the query, status, time).
pub async fn tag_request(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    let id = request_id(&req);
    let line = format!("{} {}", req.method(), log_safe::clean(req.path()));
    let started = Instant::now();
    let context = LogContext {
        request_id: Some(id.clone()),
        outbox_id: None,
    };
    let value = HeaderValue::from_str(id.as_str()).ok();
    log_context::scope(context, async move {
        let result = next.call(req).await;
        let status = match &result {
            Ok(response) => response.status(),
            Err(e) => e.as_response_error().status_code(),
        };
        log::info!(
            "{line} {} {:.3}ms",
            status.as_u16(),
            started.elapsed().as_secs_f64() * 1000.0
        );
        match result {
            Ok(response) => {
                let mut response = response.map_into_boxed_body();
                if let Some(value) = value {
                    response.headers_mut().insert(HEADER, value);
                }
                Ok(response)
            }
            // A layer's refusal: its own answer, with the id added.
            Err(e) => {
                let mut answer = e.error_response();
                if let Some(value) = value {
                    answer.headers_mut().insert(HEADER, value);
                }
                Err(InternalError::from_response(e, answer).into())
            }
        }
    })
    .await
}

/// A trusted proxy's id, or a new one.
fn request_id(req: &ServiceRequest) -> RequestId {
    let from_proxy = req
        .app_data::<web::Data<AppState>>()
        .zip(req.peer_addr())
        .is_some_and(|(state, peer)| state.settings().trusted_proxies.contains(&peer.ip()));
    from_proxy
        .then(|| req.headers().get(HEADER))
        .flatten()
        .and_then(|value| value.to_str().ok())
        .and_then(RequestId::from_header)
        .unwrap_or_else(RequestId::generate)
}
