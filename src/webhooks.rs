//! Events for other services, signed per the Standard Webhooks spec
//! (`webhook-id`, `webhook-timestamp`, `webhook-signature: v1,<base64
//! HMAC-SHA256 of "id.timestamp.body">`). Each event becomes one outbox row
//! per receiver, written in the same transaction as the change, and is
//! delivered with the same retries and leases as email. No token, link or
//! hash ever goes into an event.

use std::time::Duration;

use aws_lc_rs::hmac;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use chrono::{DateTime, SecondsFormat, Utc};
use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::config::WebhookSettings;
use crate::mailer::SendError;
use crate::mailer::http_api::{is_retryable, retry_after};
use crate::storage::outbox::NewOutboxRow;

pub const KIND_WEBHOOK: &str = "webhook";
pub const RESET_COMPLETED: &str = "password.reset.completed";
pub const RESET_REQUESTED: &str = "password.reset.requested";

#[derive(Debug, Serialize, Deserialize)]
pub struct WebhookPayload {
    pub url: String,
    pub msg_id: String,
    /// The exact bytes that are signed and sent.
    pub body: String,
}

/// The outbox rows for one event: one per configured receiver, none when
/// webhooks are off or the event is not wanted.
pub fn event_rows(
    settings: &WebhookSettings,
    event: &str,
    user_id: &str,
    at: DateTime<Utc>,
) -> Vec<NewOutboxRow> {
    if !settings.wants(event) {
        return Vec::new();
    }
    let msg_id = format!("msg_{}", uuid::Uuid::new_v4().simple());
    let time = at.to_rfc3339_opts(SecondsFormat::Millis, true);
    let body = json!({
        "type": event,
        "timestamp": time,
        "data": { "user_id": user_id, "occurred_at": time },
    })
    .to_string();
    settings
        .urls
        .iter()
        .map(|url| {
            let payload = WebhookPayload {
                url: url.clone(),
                msg_id: msg_id.clone(),
                body: body.clone(),
            };
            NewOutboxRow::pending(
                KIND_WEBHOOK,
                serde_json::to_string(&payload).unwrap_or_default(),
                at.naive_utc(),
                None,
            )
        })
        .collect()
}

/// `v1,<base64 HMAC-SHA256(secret, "{id}.{timestamp}.{body}")>`.
pub fn sign(secret: &[u8], msg_id: &str, timestamp: i64, body: &str) -> String {
    let key = hmac::Key::new(hmac::HMAC_SHA256, secret);
    let tag = hmac::sign(&key, format!("{msg_id}.{timestamp}.{body}").as_bytes());
    format!("v1,{}", STANDARD.encode(tag.as_ref()))
}

pub struct WebhookSender {
    client: reqwest::Client,
    secret: Vec<u8>,
}

impl WebhookSender {
    pub fn new(
        secret: Vec<u8>,
        connect_timeout: Duration,
        timeout: Duration,
    ) -> Result<Self, String> {
        let client = reqwest::Client::builder()
            .connect_timeout(connect_timeout)
            .timeout(timeout)
            .user_agent(concat!("pwreset/", env!("CARGO_PKG_VERSION")))
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| format!("cannot build the webhook client: {e}"))?;
        Ok(Self { client, secret })
    }

    /// Posts one event. The timestamp is the real time of this attempt (what
    /// receivers check for freshness), so each retry is signed anew.
    pub async fn deliver(&self, payload: &WebhookPayload) -> Result<(), SendError> {
        let timestamp = Utc::now().timestamp();
        let signature = sign(&self.secret, &payload.msg_id, timestamp, &payload.body);
        let response = self
            .client
            .post(&payload.url)
            .header("content-type", "application/json")
            .header("webhook-id", &payload.msg_id)
            .header("webhook-timestamp", timestamp.to_string())
            .header("webhook-signature", signature)
            .body(payload.body.clone())
            .send()
            .await
            .map_err(|e| SendError::Transient {
                reason: format!(
                    "webhook {}: {}",
                    payload.url,
                    if e.is_timeout() {
                        "timed out"
                    } else {
                        "request failed"
                    }
                ),
                retry_after: None,
            })?;
        let status = response.status();
        if status.is_success() {
            return Ok(());
        }
        let reason = format!("webhook {} answered {status}", payload.url);
        if is_retryable(status) {
            Err(SendError::Transient {
                reason,
                retry_after: retry_after(response.headers()),
            })
        } else {
            Err(SendError::Permanent(reason))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signature_matches_the_spec_example() {
        // The example from the Standard Webhooks specification.
        let secret = STANDARD.decode("MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw").unwrap();
        let body = r#"{"test": 2432232314}"#;
        assert_eq!(
            sign(&secret, "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, body),
            "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
        );
    }

    #[test]
    fn one_row_per_receiver_and_none_when_unwanted() {
        let settings = WebhookSettings {
            urls: vec!["https://a.test/h".into(), "https://b.test/h".into()],
            secret: vec![1; 32],
            events: vec![RESET_COMPLETED.into()],
        };
        let rows = event_rows(&settings, RESET_COMPLETED, "u-1", Utc::now());
        assert_eq!(rows.len(), 2);
        assert!(
            rows.iter()
                .all(|r| r.kind == KIND_WEBHOOK && r.payload.contains("u-1"))
        );
        assert!(event_rows(&settings, RESET_REQUESTED, "u-1", Utc::now()).is_empty());
    }
}
