//! The password handoff: when the application holds the passwords
//! (`PASSWORD_HANDOFF_URL`), every change of one is POSTed to it before the
//! person is told it worked, signed like the webhooks (Standard Webhooks
//! headers), and only a 2xx answer completes it. The body:
//! `{"type": "password.changed", "user_id", "password_hash", "changed_at",
//! "sequence"}`; `sequence` grows with each change of that user's password,
//! so the application can refuse a stale one.

use std::time::Duration;

use chrono::{DateTime, Utc};
use secrecy::{ExposeSecret, SecretSlice};
use serde::Serialize;

use crate::config::HandoffSettings;
use crate::domain::UserId;
use crate::send_error::{SendError, redact_url};
use crate::webhooks::sign;

/// How much longer than the application's timeout a link stays claimed:
/// room for the writes that follow a 2xx, so a claim never runs out while
/// its answer is being recorded.
const CLAIM_MARGIN: Duration = Duration::from_secs(30);

/// One password change, as the application receives it.
#[derive(Serialize)]
pub struct PasswordChanged<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    user_id: &'a UserId,
    password_hash: &'a str,
    /// RFC 3339, UTC.
    changed_at: String,
    sequence: i64,
}

impl<'a> PasswordChanged<'a> {
    pub fn new(
        user_id: &'a UserId,
        password_hash: &'a str,
        changed_at: DateTime<Utc>,
        sequence: i64,
    ) -> Self {
        Self {
            kind: "password.changed",
            user_id,
            password_hash,
            changed_at: changed_at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
            sequence,
        }
    }
}

/// Why the application did not take a change; each is a value of
/// `pwreset_password_handoffs_total{outcome}`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HandoffFailure {
    /// It answered, with anything but a 2xx (redirects are not followed).
    Refused(u16),
    /// No answer within `PASSWORD_HANDOFF_TIMEOUT_MS`.
    Timeout,
    /// No connection (refused, no route, TLS, DNS).
    Unreachable,
}

impl HandoffFailure {
    pub fn label(self) -> &'static str {
        match self {
            Self::Refused(_) => "refused",
            Self::Timeout => "timeout",
            Self::Unreachable => "unreachable",
        }
    }
}

impl std::fmt::Display for HandoffFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Refused(status) => write!(f, "answered {status}"),
            Self::Timeout => f.write_str("did not answer in time"),
            Self::Unreachable => f.write_str("could not be reached"),
        }
    }
}

/// The application's receiver. Cheap to clone.
#[derive(Clone)]
pub struct Handoff {
    client: reqwest::Client,
    url: url::Url,
    secret: std::sync::Arc<SecretSlice<u8>>,
    timeout: Duration,
}

impl Handoff {
    pub fn new(settings: &HandoffSettings) -> Result<Self, reqwest::Error> {
        let client = reqwest::Client::builder()
            .timeout(settings.timeout)
            .user_agent(concat!("pwreset/", env!("CARGO_PKG_VERSION")))
            .redirect(reqwest::redirect::Policy::none())
            .build()?;
        Ok(Self {
            client,
            url: settings.url.clone(),
            secret: std::sync::Arc::new(settings.secret.clone()),
            timeout: settings.timeout,
        })
    }

    /// How long a link handed off stays claimed against a second use.
    pub fn claim_duration(&self) -> Duration {
        self.timeout + CLAIM_MARGIN
    }

    /// Posts one change; Ok only for a 2xx. Each attempt has its own
    /// message id and timestamp; `sequence` is what identifies the change.
    pub async fn hand_off(&self, change: &PasswordChanged<'_>) -> Result<(), HandoffFailure> {
        let body = serde_json::to_string(change).map_err(|e| {
            log::error!("password handoff: cannot serialize the change: {e}");
            HandoffFailure::Unreachable
        })?;
        let msg_id = format!("msg_{}", uuid::Uuid::new_v4().simple());
        let timestamp = Utc::now().timestamp();
        let signature = sign(self.secret.expose_secret(), &msg_id, timestamp, &body);
        let answer = self
            .client
            .post(self.url.clone())
            .header("content-type", "application/json")
            .header("webhook-id", &msg_id)
            .header("webhook-timestamp", timestamp.to_string())
            .header("webhook-signature", signature)
            .body(body)
            .send()
            .await;
        let target = redact_url(self.url.as_str());
        match answer {
            Ok(response) if response.status().is_success() => Ok(()),
            Ok(response) => {
                let status = response.status().as_u16();
                log::warn!("password handoff: {target} answered {status}");
                Err(HandoffFailure::Refused(status))
            }
            Err(e) => {
                let failure = if e.is_timeout() {
                    HandoffFailure::Timeout
                } else {
                    HandoffFailure::Unreachable
                };
                log::warn!("password handoff: {}", SendError::no_answer(&target, e));
                Err(failure)
            }
        }
    }
}
