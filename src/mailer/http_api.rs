//! What every HTTP email provider shares: one reqwest client with the
//! configured timeouts, and one reading of the answer into "sent", "try again
//! later" or "give up". Each provider file only says how its request looks
//! and where its message id is.

use std::time::Duration;

use reqwest::header::HeaderMap;
use reqwest::{Client, RequestBuilder, StatusCode};
use serde_json::Value;

use super::{EmailMessage, Mailer, SendError, SendFuture};

pub trait ProviderApi: Send + Sync {
    fn name(&self) -> &'static str;
    fn request(&self, client: &Client, message: &EmailMessage) -> RequestBuilder;
    fn message_id(&self, headers: &HeaderMap, body: &Value) -> Option<String>;
}

pub struct HttpMailer {
    client: Client,
    api: Box<dyn ProviderApi>,
}

impl HttpMailer {
    pub fn new(
        api: Box<dyn ProviderApi>,
        connect_timeout: Duration,
        timeout: Duration,
    ) -> Result<Self, String> {
        let client = Client::builder()
            .connect_timeout(connect_timeout)
            .timeout(timeout)
            .user_agent(concat!("pwreset/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| format!("cannot build the HTTP client: {e}"))?;
        Ok(Self { client, api })
    }
}

impl Mailer for HttpMailer {
    fn send<'a>(&'a self, message: &'a EmailMessage) -> SendFuture<'a> {
        Box::pin(async move {
            let name = self.api.name();
            let response = self
                .api
                .request(&self.client, message)
                .send()
                .await
                .map_err(|e| {
                    let what = if e.is_timeout() {
                        "timed out"
                    } else if e.is_connect() {
                        "could not connect"
                    } else {
                        "request failed"
                    };
                    SendError::Transient {
                        reason: format!("{name}: {what}: {e}"),
                        retry_after: None,
                    }
                })?;
            let status = response.status();
            if status.is_success() {
                let headers = response.headers().clone();
                let body = response.json::<Value>().await.unwrap_or(Value::Null);
                return Ok(self.api.message_id(&headers, &body));
            }
            let retry_after = retry_after(response.headers());
            let body = response.text().await.unwrap_or_default();
            let reason = format!("{name} answered {status}: {}", snippet(&body));
            if is_retryable(status) {
                Err(SendError::Transient {
                    reason,
                    retry_after,
                })
            } else {
                Err(SendError::Permanent(reason))
            }
        })
    }

    fn name(&self) -> &'static str {
        self.api.name()
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

/// The start of a provider's error body, on one line, for the outbox's
/// `last_error` (providers answer with short JSON errors).
fn snippet(body: &str) -> String {
    let one_line: String = body.split_whitespace().collect::<Vec<_>>().join(" ");
    one_line.chars().take(200).collect()
}

/// Joins a base URL (no trailing slash) and a path.
pub fn endpoint(base: &str, path: &str) -> String {
    format!("{}{path}", base.trim_end_matches('/'))
}

pub fn json_str(body: &Value, key: &str) -> Option<String> {
    body.get(key).and_then(Value::as_str).map(str::to_owned)
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
