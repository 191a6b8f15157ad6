//! Reading JSON bodies: size and content type enforced by the extractor,
//! fields read one by one so each problem gets its own message.

use actix_web::error::JsonPayloadError;
use actix_web::web;
use serde_json::{Map, Value};

use crate::error::{ApiError, FieldErrors};

pub const MAX_BODY_BYTES: usize = 16 * 1024;

pub fn json_config() -> web::JsonConfig {
    web::JsonConfig::default()
        .limit(MAX_BODY_BYTES)
        .error_handler(|err, _req| {
            let api = match &err {
                JsonPayloadError::Overflow { .. }
                | JsonPayloadError::OverflowKnownLength { .. } => ApiError::PayloadTooLarge,
                JsonPayloadError::ContentType => ApiError::UnsupportedMediaType,
                JsonPayloadError::Deserialize(e) => ApiError::MalformedBody(e.to_string()),
                other => ApiError::MalformedBody(other.to_string()),
            };
            api.into()
        })
}

/// The body as a JSON object, or a validation error saying what was expected.
pub fn object(body: &Value) -> Result<&Map<String, Value>, ApiError> {
    body.as_object()
        .ok_or_else(|| ApiError::field("non_field_errors", "Expected a JSON object."))
}

/// A required string field; records why it is unusable otherwise.
pub fn string_field<'a>(
    obj: &'a Map<String, Value>,
    name: &str,
    errors: &mut FieldErrors,
) -> Option<&'a str> {
    let problem = match obj.get(name) {
        Some(Value::String(s)) if !s.is_empty() => return Some(s),
        None | Some(Value::Null) => "This field is required.",
        Some(Value::String(_)) => "This field may not be blank.",
        Some(_) => "Must be a string.",
    };
    errors
        .entry(name.to_owned())
        .or_default()
        .push(problem.to_owned());
    None
}
