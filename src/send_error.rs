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
    /// A request that got no answer (timeout, no connection, a broken
    /// exchange), retried; `to` names the receiver as it may be logged. The
    /// reason keeps reqwest's cause chain, without the URL (a URL may carry
    /// credentials).
    pub fn no_answer(to: &str, error: reqwest::Error) -> Self {
        let what = if error.is_timeout() {
            "timed out"
        } else if error.is_connect() {
            "could not connect"
        } else {
            "request failed"
        };
        let error = error.without_url();
        let mut reason = format!("{to}: {what}: {error}");
        let mut cause = std::error::Error::source(&error);
        while let Some(e) = cause {
            reason.push_str(&format!(": {e}"));
            cause = e.source();
        }
        Self::Transient {
            reason,
            retry_after: None,
        }
    }

    /// A refusal read from an HTTP status: retried or not as `is_retryable` says.
    pub fn from_status(status: StatusCode, headers: &HeaderMap, reason: String) -> Self {
        Self::refusal(is_retryable(status), headers, reason)
    }

    /// A refusal the caller judged retryable or not (a provider may know
    /// better than the status alone); a retry honours `Retry-After`.
    pub fn refusal(retryable: bool, headers: &HeaderMap, reason: String) -> Self {
        if retryable {
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

/// The longest wait a provider's `Retry-After` can impose: the backoff cap.
/// Whatever a provider answers, the row is tried again within this.
pub const MAX_RETRY_AFTER: Duration = Duration::from_secs(15 * 60);

/// `Retry-After` as seconds or as an HTTP date, capped at `MAX_RETRY_AFTER`;
/// anything else (garbage, negative, a date in the past) is ignored.
pub fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    let value = headers
        .get(reqwest::header::RETRY_AFTER)?
        .to_str()
        .ok()?
        .trim();
    let wait = match value.parse::<u64>() {
        Ok(secs) => Duration::from_secs(secs),
        Err(_) => {
            let date = chrono::DateTime::parse_from_rfc2822(value).ok()?;
            let secs = date
                .timestamp()
                .saturating_sub(chrono::Utc::now().timestamp());
            Duration::from_secs(u64::try_from(secs).unwrap_or(0))
        }
    };
    Some(wait.min(MAX_RETRY_AFTER))
}

/// A URL as it may be logged: scheme, host, port and path only. User-info
/// and query strings may carry credentials (`https://user:pass@...`,
/// `?token=...`); anything that does not parse is not shown at all.
pub fn redact_url(raw: &str) -> String {
    match url::Url::parse(raw) {
        Ok(mut url) => {
            let _ = url.set_username("");
            let _ = url.set_password(None);
            url.set_query(None);
            url.set_fragment(None);
            url.to_string()
        }
        Err(_) => "<unparsable URL>".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn logged_urls_carry_no_credentials() {
        assert_eq!(
            redact_url("https://user:s3cret@hooks.example.test:8443/in?token=abc#x"),
            "https://hooks.example.test:8443/in"
        );
        assert_eq!(redact_url("not a url s3cret"), "<unparsable URL>");
    }

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
    fn absurd_retry_after_values_are_capped_or_ignored() {
        let mut headers = HeaderMap::new();
        for huge in [
            "10000000000000",
            "18446744073709551615",
            "Fri, 31 Dec 9999 23:59:59 GMT",
        ] {
            headers.insert("retry-after", huge.parse().unwrap());
            assert_eq!(retry_after(&headers), Some(MAX_RETRY_AFTER), "{huge}");
        }
        for garbage in [
            "-5",
            "1e9",
            "99999999999999999999999",
            "Thu, 01 Jan 1970 00:00:00 GMT",
        ] {
            headers.insert("retry-after", garbage.parse().unwrap());
            assert!(
                retry_after(&headers).is_none_or(|d| d == Duration::ZERO),
                "{garbage}"
            );
        }
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
