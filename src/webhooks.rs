//! Events for other services, signed per the Standard Webhooks spec
//! (`webhook-id`, `webhook-timestamp`, `webhook-signature: v1,<base64
//! HMAC-SHA256 of "id.timestamp.body">`). Events are built by
//! `announce` (one outbox row per receiver, written in the same
//! transaction as the change) and delivered from here with the same retries
//! and leases as email.

use std::time::Duration;

use aws_lc_rs::hmac;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use chrono::Utc;
use secrecy::{ExposeSecret, SecretSlice};

use crate::messages::Webhook;
use crate::send_error::{SendError, redact_url};

/// `v1,<base64 HMAC-SHA256(secret, "{id}.{timestamp}.{body}")>`.
pub fn sign(secret: &[u8], msg_id: &str, timestamp: i64, body: &str) -> String {
    let key = hmac::Key::new(hmac::HMAC_SHA256, secret);
    let tag = hmac::sign(&key, format!("{msg_id}.{timestamp}.{body}").as_bytes());
    format!("v1,{}", STANDARD.encode(tag.as_ref()))
}

pub struct WebhookSender {
    client: reqwest::Client,
    secret: SecretSlice<u8>,
}

impl WebhookSender {
    pub fn new(
        secret: SecretSlice<u8>,
        connect_timeout: Duration,
        timeout: Duration,
    ) -> Result<Self, reqwest::Error> {
        let client = reqwest::Client::builder()
            .connect_timeout(connect_timeout)
            .timeout(timeout)
            .user_agent(concat!("pwreset/", env!("CARGO_PKG_VERSION")))
            .redirect(reqwest::redirect::Policy::none())
            .build()?;
        Ok(Self { client, secret })
    }

    /// Posts one event. The timestamp is the real time of this attempt (what
    /// receivers check for freshness), so each retry is signed anew.
    pub async fn deliver(&self, payload: &Webhook) -> Result<(), SendError> {
        let timestamp = Utc::now().timestamp();
        let signature = sign(
            self.secret.expose_secret(),
            &payload.msg_id,
            timestamp,
            &payload.body,
        );
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
            .map_err(|e| {
                SendError::no_answer(&format!("webhook {}", redact_url(&payload.url)), e)
            })?;
        let status = response.status();
        if status.is_success() {
            return Ok(());
        }
        let reason = format!("webhook {} answered {status}", redact_url(&payload.url));
        Err(SendError::from_status(status, response.headers(), reason))
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
}
