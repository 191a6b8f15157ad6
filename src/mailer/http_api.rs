//! What every HTTP email provider shares: one reqwest client with the
//! configured timeouts, and one reading of the answer into "sent", "try again
//! later" or "give up". Each provider file only says how its request looks
//! and where its message id is.

use std::time::Duration;

use reqwest::header::HeaderMap;
use reqwest::{Client, RequestBuilder, StatusCode};
use serde_json::Value;

use super::{EmailMessage, Mailer, SendFuture};
use crate::send_error::SendError;

pub trait ProviderApi: Send + Sync {
    fn name(&self) -> &'static str;
    fn request(&self, client: &Client, message: &EmailMessage)
    -> Result<RequestBuilder, SendError>;
    fn message_id(&self, headers: &HeaderMap, body: &Value) -> Option<String>;
    /// Whether a refusal may pass later: by its status (`delivery::is_retryable`)
    /// unless the provider says more (SES answers throttling as 400).
    fn is_retryable(&self, status: StatusCode, _headers: &HeaderMap, _body: &str) -> bool {
        crate::send_error::is_retryable(status)
    }
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
    ) -> Result<Self, reqwest::Error> {
        let client = Client::builder()
            .connect_timeout(connect_timeout)
            .timeout(timeout)
            .user_agent(concat!("pwreset/", env!("CARGO_PKG_VERSION")))
            .build()?;
        Ok(Self { client, api })
    }
}

impl Mailer for HttpMailer {
    fn send<'a>(&'a self, message: &'a EmailMessage) -> SendFuture<'a> {
        Box::pin(async move {
            let name = self.api.name();
            let response = self
                .api
                .request(&self.client, message)?
                .send()
                .await
                .map_err(|e| SendError::no_answer(name, e))?;
            let status = response.status();
            if status.is_success() {
                let headers = response.headers().clone();
                let body = response.json::<Value>().await.unwrap_or(Value::Null);
                return Ok(self.api.message_id(&headers, &body));
            }
            let headers = response.headers().clone();
            let body = response.text().await.unwrap_or_default();
            let reason = format!("{name} answered {status}: {}", snippet(&body));
            let retryable = self.api.is_retryable(status, &headers, &body);
            Err(SendError::refusal(retryable, &headers, reason))
        })
    }

    fn name(&self) -> &'static str {
        self.api.name()
    }
}

/// The start of a provider's error body, on one line, for the outbox's
/// `last_error` (providers answer with short JSON errors).
fn snippet(body: &str) -> String {
    let one_line: String = body.split_whitespace().collect::<Vec<_>>().join(" ");
    crate::log_safe::clean(&crate::log_safe::without_jwts(&one_line))
}

/// Joins a base URL (which may have a path of its own) and a path.
pub fn endpoint(base: &url::Url, path: &str) -> String {
    format!("{}{path}", base.as_str().trim_end_matches('/'))
}

pub fn json_str(body: &Value, key: &str) -> Option<String> {
    body.get(key).and_then(Value::as_str).map(str::to_owned)
}
