//! How a delivery attempt can fail, and whether trying again can help: one
//! reading of an HTTP answer shared by the email providers and the webhook
//! sender, so neither borrows the other's internals.

use std::time::Duration;

use reqwest::StatusCode;
use reqwest::header::HeaderMap;

/// Why a send failed, and whether trying again can help.
#[derive(Debug, thiserror::Error)]
pub enum SendError {
    #[error("temporary failure: {reason}")]
    Transient {
        reason: String,
        retry_after: Option<Duration>,
    },
    #[error("permanent failure: {0}")]
    Permanent(String),
}

impl SendError {
    /// A refusal read from an HTTP status: retried or not as `is_retryable` says.
    pub fn from_status(status: StatusCode, headers: &HeaderMap, reason: String) -> Self {
        if is_retryable(status) {
            Self::Transient {
                reason,
                retry_after: retry_after(headers),
            }
        } else {
            Self::Permanent(reason)
        }
    }
}

/// 408, 429 and 5xx may succeed later; any other refusal will not
/// (400, 401, 403, 404, 413, 422: the request or the account is wrong).
pub fn is_retryable(status: StatusCode) -> bool {
    status == StatusCode::REQUEST_TIMEOUT
        || status == StatusCode::TOO_MANY_REQUESTS
        || status.is_server_error()
}

/// `Retry-After` as seconds or as an HTTP date.
pub fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    let value = headers
        .get(reqwest::header::RETRY_AFTER)?
        .to_str()
        .ok()?
        .trim();
    if let Ok(secs) = value.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    let date = chrono::DateTime::parse_from_rfc2822(value).ok()?;
    let wait = date.timestamp() - chrono::Utc::now().timestamp();
    Some(Duration::from_secs(wait.max(0) as u64))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_after_reads_seconds_and_dates() {
        let mut headers = HeaderMap::new();
        headers.insert("retry-after", "120".parse().unwrap());
        assert_eq!(retry_after(&headers), Some(Duration::from_secs(120)));
        let later = chrono::Utc::now() + chrono::Duration::seconds(300);
        headers.insert(
            "retry-after",
            later.to_rfc2822().replace("+0000", "GMT").parse().unwrap(),
        );
        let wait = retry_after(&headers).unwrap().as_secs();
        assert!((298..=300).contains(&wait), "{wait}");
        headers.insert("retry-after", "soon".parse().unwrap());
        assert_eq!(retry_after(&headers), None);
    }

    #[test]
    fn only_temporary_statuses_are_retried() {
        for code in [408, 429, 500, 502, 503, 504] {
            assert!(is_retryable(StatusCode::from_u16(code).unwrap()), "{code}");
        }
        for code in [400, 401, 403, 404, 413, 422] {
            assert!(!is_retryable(StatusCode::from_u16(code).unwrap()), "{code}");
        }
    }
}
