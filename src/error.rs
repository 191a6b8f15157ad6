//! Every error a client can see, as RFC 9457 problem+json. A 500 says nothing
//! about its cause; the cause chain goes to the log.

use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderValue};
use actix_web::{HttpResponse, ResponseError};
use serde::Serialize;

use crate::domain::{EntryProblem, FieldErrors, PasswordProblem, field_error};
use crate::flow_error::FlowError;
use crate::i18n::Locale;
use crate::storage::StorageError;

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("invalid token")]
    InvalidToken,
    #[error("validation failed: {0:?}")]
    Validation(FieldErrors),
    #[error("malformed request body: {0}")]
    MalformedBody(String),
    #[error("request body too large")]
    PayloadTooLarge,
    #[error("unsupported media type")]
    UnsupportedMediaType,
    #[error("not found")]
    NotFound,
    #[error("unauthorized")]
    Unauthorized,
    #[error("invalid credentials")]
    InvalidCredentials,
    #[error("no such user")]
    UserNotFound,
    #[error("no such reset request")]
    ResetRequestNotFound,
    #[error("email taken")]
    EmailTaken,
    #[error("user disabled")]
    UserDisabled,
    #[error("method not allowed")]
    MethodNotAllowed,
    #[error("CORS request refused")]
    CorsRefused,
    #[error("request body too slow")]
    RequestTimeout,
    #[error("rate limited")]
    RateLimited { retry_after: std::time::Duration },
    #[error("too busy")]
    Busy { retry_after_secs: u64 },
    /// The application did not take a password change, or another use of
    /// the same link is with it right now: nothing changed.
    #[error("password handoff unavailable")]
    HandoffUnavailable { in_use: bool },
    #[error("database unavailable: {0}")]
    Unavailable(#[source] StorageError),
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

/// Declares `ErrorCode` with its wire names and `ErrorCode::ALL`, from one
/// list: the OpenAPI document's enumeration cannot miss a code.
macro_rules! error_codes {
    ($($variant:ident => $code:literal,)+) => {
        /// The stable machine `code` a problem carries.
        #[derive(Clone, Copy, Debug, PartialEq, Eq)]
        pub enum ErrorCode {
            $($variant,)+
        }

        impl ErrorCode {
            pub const ALL: &[ErrorCode] = &[$(ErrorCode::$variant,)+];

            pub fn as_str(self) -> &'static str {
                match self {
                    $(ErrorCode::$variant => $code,)+
                }
            }
        }
    };
}

error_codes! {
    InvalidToken => "invalid_token",
    ValidationFailed => "validation_failed",
    MalformedRequest => "malformed_request",
    PayloadTooLarge => "payload_too_large",
    UnsupportedMediaType => "unsupported_media_type",
    NotFound => "not_found",
    Unauthorized => "unauthorized",
    InvalidCredentials => "invalid_credentials",
    UserNotFound => "user_not_found",
    ResetRequestNotFound => "reset_request_not_found",
    EmailTaken => "email_taken",
    UserDisabled => "user_disabled",
    MethodNotAllowed => "method_not_allowed",
    CorsRefused => "cors_refused",
    RequestTimeout => "request_timeout",
    Busy => "busy",
    RateLimited => "rate_limited",
    Unavailable => "unavailable",
    InternalError => "internal_error",
}

impl ApiError {
    pub fn field(field: &str, message: impl Into<String>) -> Self {
        Self::Validation(field_error(field, message))
    }

    pub fn code(&self) -> ErrorCode {
        match self {
            Self::InvalidToken => ErrorCode::InvalidToken,
            Self::Validation(_) => ErrorCode::ValidationFailed,
            Self::MalformedBody(_) => ErrorCode::MalformedRequest,
            Self::PayloadTooLarge => ErrorCode::PayloadTooLarge,
            Self::UnsupportedMediaType => ErrorCode::UnsupportedMediaType,
            Self::NotFound => ErrorCode::NotFound,
            Self::Unauthorized => ErrorCode::Unauthorized,
            Self::InvalidCredentials => ErrorCode::InvalidCredentials,
            Self::UserNotFound => ErrorCode::UserNotFound,
            Self::ResetRequestNotFound => ErrorCode::ResetRequestNotFound,
            Self::EmailTaken => ErrorCode::EmailTaken,
            Self::UserDisabled => ErrorCode::UserDisabled,
            Self::MethodNotAllowed => ErrorCode::MethodNotAllowed,
            Self::CorsRefused => ErrorCode::CorsRefused,
            Self::RequestTimeout => ErrorCode::RequestTimeout,
            Self::Busy { .. } => ErrorCode::Busy,
            Self::RateLimited { .. } => ErrorCode::RateLimited,
            Self::Unavailable(_) | Self::HandoffUnavailable { .. } => ErrorCode::Unavailable,
            Self::Internal(_) => ErrorCode::InternalError,
        }
    }

    fn title_and_detail(&self) -> (&'static str, String) {
        match self {
            Self::InvalidToken => (
                "Invalid or expired token",
                "The reset link is invalid or has expired. Request a new one.".into(),
            ),
            Self::Validation(_) => (
                "Validation failed",
                "Some fields are invalid; see `errors`.".into(),
            ),
            Self::MalformedBody(why) => (
                "Malformed request",
                format!("The request body is not valid JSON: {why}"),
            ),
            Self::PayloadTooLarge => (
                "Payload too large",
                "The request body is larger than 16 KiB.".into(),
            ),
            Self::UnsupportedMediaType => (
                "Unsupported media type",
                "Send the body as JSON with `Content-Type: application/json`.".into(),
            ),
            Self::NotFound => ("Not found", "There is nothing at this address.".into()),
            Self::Unauthorized => (
                "Unauthorized",
                "Send a valid service key as `Authorization: Bearer <key>`.".into(),
            ),
            Self::InvalidCredentials => (
                "Invalid credentials",
                "The email (or user id) and password do not match an active account.".into(),
            ),
            Self::UserNotFound => (
                "User not found",
                "There is no user with this id or email.".into(),
            ),
            Self::ResetRequestNotFound => (
                "Reset request not found",
                "There is no emailed reset request with this id (records are kept for RETENTION_SECS).".into(),
            ),
            Self::EmailTaken => (
                "Email taken",
                "Another user already has this email address.".into(),
            ),
            Self::UserDisabled => (
                "User disabled",
                "This user is disabled; enable it before starting a reset.".into(),
            ),
            Self::MethodNotAllowed => (
                "Method not allowed",
                "This address does not accept that method.".into(),
            ),
            Self::RequestTimeout => (
                "Request timeout",
                "The request did not arrive in time; send it again in one go.".into(),
            ),
            Self::CorsRefused => (
                "Cross-origin request refused",
                "This origin, method or header is not allowed to call the API from a browser."
                    .into(),
            ),
            Self::Busy { .. } => (
                "Service busy",
                "Too many passwords are being processed right now; retry shortly.".into(),
            ),
            Self::RateLimited { .. } => (
                "Too many requests",
                "Too many requests; wait for the time in `Retry-After` and try again.".into(),
            ),
            Self::Unavailable(_) => (
                "Service unavailable",
                "The service cannot reach its database right now; retry shortly.".into(),
            ),
            Self::HandoffUnavailable { in_use: false } => (
                "Service unavailable",
                "The password could not be saved right now; nothing changed and the link still \
                 works. Try again shortly."
                    .into(),
            ),
            Self::HandoffUnavailable { in_use: true } => (
                "Service unavailable",
                "This link is being used by another request right now; try again in a few \
                 seconds."
                    .into(),
            ),
            Self::Internal(_) => (
                "Internal server error",
                "Something went wrong on our side.".into(),
            ),
        }
    }
}

/// Why a password hash is refused when the application holds the passwords.
pub const KEEPS_NO_HASHES: &str = "This pwreset keeps no password hashes: PASSWORD_HANDOFF_URL \
     is set and the application holds the passwords. Send the user without `password_hash`.";

/// How long a database outage and a failed handoff ask clients to wait.
const UNAVAILABLE_RETRY_AFTER_SECS: u64 = 5;
/// How long a request refused for want of a bcrypt slot is asked to wait.
const BUSY_RETRY_AFTER_SECS: u64 = 2;

impl ApiError {
    /// The `Retry-After` this answer carries, in seconds (the JSON API and
    /// the hosted pages send the same).
    pub fn retry_after_secs(&self) -> Option<u64> {
        match self {
            Self::Busy { retry_after_secs } => Some(*retry_after_secs),
            Self::Unavailable(_) | Self::HandoffUnavailable { .. } => {
                Some(UNAVAILABLE_RETRY_AFTER_SECS)
            }
            Self::RateLimited { retry_after } => Some(retry_after.as_secs().max(1)),
            _ => None,
        }
    }

    /// Writes what the client is not told: the cause of a 500 or a 503.
    pub fn log_cause(&self) {
        match self {
            Self::Internal(e) => log::error!("internal error: {e:#}"),
            Self::Unavailable(e) => log::error!("database unavailable: {e}"),
            _ => {}
        }
    }
}

/// A database that cannot be reached is a 503 (retry later); anything else
/// the database says is a bug, a 500.
impl From<StorageError> for ApiError {
    fn from(e: StorageError) -> Self {
        if e.is_unavailable() {
            Self::Unavailable(e)
        } else {
            Self::Internal(e.into())
        }
    }
}

/// What an action's refusal looks like to an HTTP client.
impl From<FlowError> for ApiError {
    fn from(e: FlowError) -> Self {
        match e {
            FlowError::InvalidLink => Self::InvalidToken,
            FlowError::Entry(problems) => {
                Self::Validation(EntryProblem::field_errors(&problems, &Locale::english()))
            }
            // The JSON API words the policy in English (a stable contract).
            FlowError::WeakPassword(problems) => Self::Validation(FieldErrors::from([(
                "new_password".to_owned(),
                PasswordProblem::messages(&problems, &Locale::english()),
            )])),
            FlowError::Limited { retry_after } => Self::RateLimited { retry_after },
            FlowError::Busy => Self::Busy {
                retry_after_secs: BUSY_RETRY_AFTER_SECS,
            },
            FlowError::InvalidCredentials => Self::InvalidCredentials,
            FlowError::UserNotFound => Self::UserNotFound,
            FlowError::UserDisabled => Self::UserDisabled,
            FlowError::Conflict => Self::EmailTaken,
            FlowError::HandoffFailed => Self::HandoffUnavailable { in_use: false },
            FlowError::LinkInUse => Self::HandoffUnavailable { in_use: true },
            FlowError::KeepsNoHashes => Self::field("password_hash", KEEPS_NO_HASHES),
            FlowError::Storage(e) => e.into(),
            FlowError::Internal(e) => Self::Internal(e),
        }
    }
}

#[derive(Serialize)]
struct Problem<'a> {
    #[serde(rename = "type")]
    kind: String,
    title: &'a str,
    status: u16,
    detail: String,
    code: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    errors: Option<&'a FieldErrors>,
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        match self {
            Self::InvalidToken
            | Self::Validation(_)
            | Self::MalformedBody(_)
            | Self::CorsRefused => StatusCode::BAD_REQUEST,
            Self::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            Self::UnsupportedMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            Self::NotFound | Self::UserNotFound | Self::ResetRequestNotFound => {
                StatusCode::NOT_FOUND
            }
            Self::Unauthorized | Self::InvalidCredentials => StatusCode::UNAUTHORIZED,
            Self::RateLimited { .. } => StatusCode::TOO_MANY_REQUESTS,
            Self::EmailTaken | Self::UserDisabled => StatusCode::CONFLICT,
            Self::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            Self::RequestTimeout => StatusCode::REQUEST_TIMEOUT,
            Self::Busy { .. } | Self::Unavailable(_) | Self::HandoffUnavailable { .. } => {
                StatusCode::SERVICE_UNAVAILABLE
            }
            Self::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn error_response(&self) -> HttpResponse {
        self.log_cause();
        let status = self.status_code();
        let (title, detail) = self.title_and_detail();
        let errors = match self {
            Self::Validation(errors) => Some(errors),
            _ => None,
        };
        let problem = Problem {
            kind: format!("urn:pwreset:problem:{}", self.code().as_str()),
            title,
            status: status.as_u16(),
            detail,
            code: self.code().as_str(),
            errors,
        };
        let mut response = HttpResponse::build(status);
        response.insert_header((header::CONTENT_TYPE, "application/problem+json"));
        if matches!(self, Self::RequestTimeout) {
            // The connection was being held open: end it.
            response.force_close();
        }
        if let Some(secs) = self.retry_after_secs() {
            response.insert_header((header::RETRY_AFTER, HeaderValue::from(secs)));
        }
        if matches!(self, Self::Unauthorized) {
            response.insert_header((header::WWW_AUTHENTICATE, "Bearer"));
        }
        match serde_json::to_string(&problem) {
            Ok(body) => response.body(body),
            Err(e) => {
                log::error!("cannot serialize a problem+json body: {e}");
                response.finish()
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use actix_web::ResponseError;
    use actix_web::body::MessageBody;

    use super::{ApiError, ErrorCode};

    #[test]
    fn wire_codes_are_distinct_snake_case_words() {
        let codes: std::collections::BTreeSet<&str> =
            ErrorCode::ALL.iter().map(|c| c.as_str()).collect();
        assert_eq!(codes.len(), ErrorCode::ALL.len(), "no code twice");
        assert!(
            codes
                .iter()
                .all(|c| c.bytes().all(|b| b.is_ascii_lowercase() || b == b'_'))
        );
    }

    #[test]
    fn busy_and_unavailable_say_when_to_retry_and_hide_internals() {
        let busy = ApiError::Busy {
            retry_after_secs: 2,
        }
        .error_response();
        assert_eq!(busy.status(), 503);
        assert_eq!(busy.headers().get("retry-after").unwrap(), "2");
        let down = ApiError::Unavailable(crate::storage::StorageError::Migration(
            "connection refused to 10.0.0.7".into(),
        ))
        .error_response();
        assert_eq!(down.status(), 503);
        assert_eq!(down.headers().get("retry-after").unwrap(), "5");
        let body = down.into_body().try_into_bytes().unwrap();
        let body = String::from_utf8_lossy(&body);
        assert!(
            body.contains("\"code\":\"unavailable\"") && !body.contains("10.0.0.7"),
            "{body}"
        );
        let internal = ApiError::Internal(anyhow::anyhow!("secret detail")).error_response();
        let body = internal.into_body().try_into_bytes().unwrap();
        let body = String::from_utf8_lossy(&body);
        assert!(
            body.contains("\"code\":\"internal_error\"") && !body.contains("secret detail"),
            "{body}"
        );
    }
}
