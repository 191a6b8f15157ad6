//! A JSON body read into `T`: the content type must say JSON, the body is
//! at most `MAX_BODY_BYTES`, and the text must be `T`. It does what
//! actix-web's `Json` does, but gathers the body in a buffer of its
//! declared length (a request of 60 bytes holds 60) where actix-web's
//! starts every body at 8 KiB.

use std::future::Future;
use std::pin::Pin;

use actix_web::http::header::CONTENT_LENGTH;
use actix_web::{FromRequest, HttpMessage, HttpRequest, dev::Payload, mime};
use futures_util::StreamExt;
use serde::de::DeserializeOwned;

use crate::error::ApiError;

/// The largest body any JSON endpoint reads.
pub const MAX_BODY_BYTES: usize = 16 * 1024;

/// A JSON body read into `T`; refused as `unsupported_media_type`,
/// `payload_too_large` or `malformed_request`.
pub struct Json<T>(pub T);

impl<T: DeserializeOwned + 'static> FromRequest for Json<T> {
    type Error = actix_web::Error;
    type Future = Pin<Box<dyn Future<Output = Result<Self, Self::Error>>>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let checked = says_json(req).and_then(|()| declared_length(req));
        let mut payload = payload.take();
        Box::pin(async move {
            let mut text = Vec::with_capacity(checked?);
            while let Some(chunk) = payload.next().await {
                let chunk = chunk.map_err(|e| {
                    ApiError::MalformedBody(format!("the body could not be read: {e}"))
                })?;
                if text.len() + chunk.len() > MAX_BODY_BYTES {
                    return Err(ApiError::PayloadTooLarge.into());
                }
                text.extend_from_slice(&chunk);
            }
            serde_json::from_slice(&text)
                .map(Json)
                .map_err(|e| ApiError::MalformedBody(e.to_string()).into())
        })
    }
}

/// A JSON media type: `application/json`, or any with a `+json` suffix.
fn says_json(req: &HttpRequest) -> Result<(), ApiError> {
    match req.mime_type() {
        Ok(Some(mime)) if mime.subtype() == mime::JSON || mime.suffix() == Some(mime::JSON) => {
            Ok(())
        }
        _ => Err(ApiError::UnsupportedMediaType),
    }
}

/// The body's declared length, when it declares one within the limit (the
/// buffer's first size); 0 when it declares none.
fn declared_length(req: &HttpRequest) -> Result<usize, ApiError> {
    let declared = req
        .headers()
        .get(CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok());
    match declared {
        Some(n) if n > MAX_BODY_BYTES => Err(ApiError::PayloadTooLarge),
        Some(n) => Ok(n),
        None => Ok(0),
    }
}
