//! The outbox worker: delivers what the request path enqueued.
//!
//! Three kinds of rows: `reset_request` (written by forgot-password whatever
//! the account; the worker resolves the account and, for a live one, creates
//! the token and the email in one transaction), and `email` (a reset link or
//! a password-changed notice). Every row is claimed with a lease and retried
//! with exponential backoff and full jitter until it is sent or goes dead.

mod payload;

use std::sync::Arc;
use std::time::Duration;

use chrono::TimeDelta;
use tokio::sync::{Notify, watch};

pub use payload::{EmailPayload, EmailTemplate, ResetRequestPayload};

use crate::clock::Clock;
use crate::config::Settings;
use crate::mailer::templates::{self, Branding};
use crate::mailer::{EmailMessage, Mailer, SendError};
use crate::storage::outbox::{NewOutboxRow, OutboxRow, Settlement};
use crate::storage::tokens::NewToken;
use crate::storage::{Repo, StorageError};
use crate::tokens::{ResetToken, TokenCodec};

pub const KIND_RESET_REQUEST: &str = "reset_request";
pub const KIND_EMAIL: &str = "email";

/// How long a claimed row stays ours before another worker may take it.
const LEASE: TimeDelta = TimeDelta::seconds(60);
const BATCH: i64 = 32;
const BACKOFF_BASE_SECS: u64 = 2;
const BACKOFF_CAP_SECS: u64 = 15 * 60;

/// What happened to one row, for the caller and the tests.
#[derive(Debug, PartialEq, Eq)]
pub enum Outcome {
    Sent,
    Done,
    Retrying,
    Dead,
}

#[derive(Clone)]
pub struct OutboxWorker {
    repo: Repo,
    mailer: Arc<dyn Mailer>,
    codec: TokenCodec,
    settings: Arc<Settings>,
    clock: Clock,
    wake: Arc<Notify>,
}

/// A failure that should be retried later (database hiccup, provider down).
#[derive(Debug, thiserror::Error)]
enum StepError {
    #[error(transparent)]
    Storage(#[from] StorageError),
    #[error(transparent)]
    Send(#[from] SendError),
    #[error("{0}")]
    Permanent(String),
}

impl OutboxWorker {
    pub fn new(
        repo: Repo,
        mailer: Arc<dyn Mailer>,
        codec: TokenCodec,
        settings: Arc<Settings>,
        clock: Clock,
        wake: Arc<Notify>,
    ) -> Self {
        Self {
            repo,
            mailer,
            codec,
            settings,
            clock,
            wake,
        }
    }

    /// Runs until `stop` turns true; finishes the row in hand before leaving,
    /// so no lease is left behind by a graceful shutdown.
    pub async fn run(self, mut stop: watch::Receiver<bool>) {
        log::info!("outbox worker started (mailer: {})", self.mailer.name());
        loop {
            if *stop.borrow() {
                break;
            }
            if let Err(e) = self.run_once().await {
                log::warn!("outbox worker: {e}");
            }
            tokio::select! {
                _ = self.wake.notified() => {}
                _ = tokio::time::sleep(self.settings.outbox_poll_interval) => {}
                _ = stop.changed() => {}
            }
        }
        log::info!("outbox worker stopped");
    }

    /// Claims and processes every row due now; returns how many it handled.
    pub async fn run_once(&self) -> Result<usize, StorageError> {
        let now = self.clock.now_naive();
        let mut handled = 0;
        for id in self.repo.due_outbox_ids(now, BATCH).await? {
            let now = self.clock.now_naive();
            if let Some(row) = self.repo.claim_outbox_row(&id, now, now + LEASE).await? {
                self.process(row).await?;
                handled += 1;
            }
        }
        Ok(handled)
    }

    /// Processes rows until none is due (tests and `outbox` commands).
    pub async fn run_until_idle(&self) -> Result<usize, StorageError> {
        let mut total = 0;
        loop {
            let handled = self.run_once().await?;
            if handled == 0 {
                return Ok(total);
            }
            total += handled;
        }
    }

    async fn process(&self, row: OutboxRow) -> Result<Outcome, StorageError> {
        let result = match row.kind.as_str() {
            KIND_RESET_REQUEST => self.fulfil_reset_request(&row).await,
            KIND_EMAIL => self.deliver_email(&row).await,
            other => Err(StepError::Permanent(format!(
                "unknown outbox kind {other:?}"
            ))),
        };
        let now = self.clock.now_naive();
        let (outcome, settlement_error);
        match result {
            Ok(outcome) => return Ok(outcome),
            Err(StepError::Permanent(reason)) => {
                log::warn!("outbox {} ({}) dead: {reason}", row.id, row.kind);
                outcome = Outcome::Dead;
                settlement_error = reason;
            }
            Err(e) => {
                let reason = e.to_string();
                let gave_up_by_time = row.give_up_at.is_some_and(|t| t <= now);
                if row.attempts as u32 >= self.settings.mail.max_attempts || gave_up_by_time {
                    log::warn!(
                        "outbox {} ({}) dead after {} attempts: {reason}",
                        row.id,
                        row.kind,
                        row.attempts
                    );
                    outcome = Outcome::Dead;
                    settlement_error = reason;
                } else {
                    let retry_after = match &e {
                        StepError::Send(SendError::Transient { retry_after, .. }) => *retry_after,
                        _ => None,
                    };
                    let at = now + to_delta(next_delay(row.attempts as u32, retry_after));
                    log::info!(
                        "outbox {} ({}) attempt {} failed, retrying at {at}: {reason}",
                        row.id,
                        row.kind,
                        row.attempts
                    );
                    self.repo
                        .settle_outbox_row(&row.id, now, Settlement::Retry { at, error: &reason })
                        .await?;
                    return Ok(Outcome::Retrying);
                }
            }
        }
        let payload = payload::scrub(&row.payload);
        self.repo
            .settle_outbox_row(
                &row.id,
                now,
                Settlement::Dead {
                    error: &settlement_error,
                    payload: &payload,
                },
            )
            .await?;
        Ok(outcome)
    }

    async fn fulfil_reset_request(&self, row: &OutboxRow) -> Result<Outcome, StepError> {
        let request: ResetRequestPayload = serde_json::from_str(&row.payload)
            .map_err(|e| StepError::Permanent(format!("bad reset request payload: {e}")))?;
        let now = self.clock.now();
        let user = match self.repo.find_user_by_email(&request.email).await? {
            Some(user) if !user.disabled => user,
            found => {
                let why = if found.is_some() {
                    "disabled account"
                } else {
                    "no account"
                };
                log::info!(
                    "outbox {}: reset requested for an address with {why}; nothing sent",
                    row.id
                );
                self.repo
                    .settle_outbox_row(&row.id, now.naive_utc(), Settlement::Done)
                    .await?;
                return Ok(Outcome::Done);
            }
        };
        let token = ResetToken::generate()
            .map_err(|e| StepError::Permanent(format!("OS random generator failed: {e}")))?;
        let token_id = uuid::Uuid::new_v4().to_string();
        // Whole seconds, so the JWT's `exp` equals the row's `expires_at`.
        let issued_at = chrono::DateTime::from_timestamp(now.timestamp(), 0).unwrap_or(now);
        let ttl = TimeDelta::from_std(self.settings.reset_token_ttl).unwrap_or(TimeDelta::hours(1));
        let expires_at = issued_at + ttl;
        let sealed = self
            .codec
            .seal(&token, &token_id)
            .map_err(|e| StepError::Permanent(e.to_string()))?;
        let email = EmailPayload {
            template: EmailTemplate::Reset,
            to: user.email.clone(),
            user_id: user.id.clone(),
            token_id: Some(token_id.clone()),
            sealed_token: Some(sealed),
        };
        let email_row = NewOutboxRow::pending(
            KIND_EMAIL,
            email.to_json(),
            now.naive_utc(),
            Some(expires_at.naive_utc()),
        );
        let token_hash = token.hash();
        let new_token = NewToken {
            id: &token_id,
            user_id: &user.id,
            token_hash: &token_hash,
            created_at: issued_at.naive_utc(),
            expires_at: expires_at.naive_utc(),
            requested_ip: request.ip.as_deref(),
        };
        if self
            .repo
            .fulfil_reset_request(&row.id, now.naive_utc(), &new_token, &email_row)
            .await?
        {
            log::info!(
                "outbox {}: reset token {token_id} created for user {}",
                row.id,
                user.id
            );
            self.wake.notify_one();
        }
        Ok(Outcome::Done)
    }

    async fn deliver_email(&self, row: &OutboxRow) -> Result<Outcome, StepError> {
        let email: EmailPayload = serde_json::from_str(&row.payload)
            .map_err(|e| StepError::Permanent(format!("bad email payload: {e}")))?;
        let branding = Branding {
            app_name: &self.settings.app_name,
            support_contact: self.settings.support_contact.as_deref(),
        };
        let rendered = match email.template {
            EmailTemplate::Reset => {
                let link = self.reset_link(&email).await?;
                let minutes = self.settings.reset_token_ttl.as_secs().div_ceil(60);
                templates::reset_email(&branding, &link, minutes)
            }
            EmailTemplate::PasswordChanged => templates::password_changed_email(&branding),
        };
        let message = EmailMessage {
            id: row.id.clone(),
            from: self.settings.default_from_email.clone(),
            to: email.to.clone(),
            subject: rendered.subject,
            text: rendered.text,
            html: rendered.html,
        };
        let provider_id = self.mailer.send(&message).await?;
        let now = self.clock.now_naive();
        let payload = payload::scrub(&row.payload);
        self.repo
            .settle_outbox_row(
                &row.id,
                now,
                Settlement::Sent {
                    provider_message_id: provider_id.as_deref(),
                    payload: &payload,
                },
            )
            .await?;
        log::info!(
            "outbox {}: {:?} email for user {} sent via {} (attempt {})",
            row.id,
            email.template,
            email.user_id,
            self.mailer.name(),
            row.attempts
        );
        Ok(Outcome::Sent)
    }

    /// Rebuilds the link for a reset email, refusing when the token is no
    /// longer usable: a stale reset email is never sent.
    async fn reset_link(&self, email: &EmailPayload) -> Result<String, StepError> {
        let (Some(token_id), Some(sealed)) = (&email.token_id, &email.sealed_token) else {
            return Err(StepError::Permanent("reset email without its token".into()));
        };
        let now = self.clock.now_naive();
        let (row, user) = self.repo.find_token_by_id(token_id).await?.ok_or_else(|| {
            StepError::Permanent("token revoked before delivery; not sent".into())
        })?;
        if row.used_at.is_some() || row.expires_at <= now || user.disabled {
            return Err(StepError::Permanent(
                "token no longer valid before delivery; not sent".into(),
            ));
        }
        let token = self
            .codec
            .unseal(sealed, token_id)
            .map_err(|e| StepError::Permanent(e.to_string()))?;
        let jwt = self
            .codec
            .mint(
                &row.user_id,
                &row.id,
                &token,
                row.created_at.and_utc(),
                row.expires_at.and_utc(),
            )
            .map_err(|e| StepError::Permanent(format!("cannot sign the link: {e}")))?;
        Ok(self.settings.reset_link(&jwt))
    }
}

/// Exponential backoff with full jitter; a provider's Retry-After wins when longer.
pub fn next_delay(attempts: u32, retry_after: Option<Duration>) -> Duration {
    let exp = BACKOFF_BASE_SECS.saturating_mul(1u64 << attempts.saturating_sub(1).min(20));
    let cap_ms = exp.min(BACKOFF_CAP_SECS) * 1000;
    let mut bytes = [0u8; 8];
    let jitter_ms = match getrandom::fill(&mut bytes) {
        Ok(()) => u64::from_le_bytes(bytes) % (cap_ms + 1),
        Err(_) => cap_ms / 2,
    };
    let delay = Duration::from_millis(jitter_ms.max(500));
    retry_after.map_or(delay, |ra| ra.max(delay))
}

fn to_delta(d: Duration) -> TimeDelta {
    TimeDelta::from_std(d).unwrap_or(TimeDelta::seconds(BACKOFF_CAP_SECS as i64))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_within_its_cap_and_honours_retry_after() {
        for attempt in 1..30 {
            let d = next_delay(attempt, None);
            assert!(
                d <= Duration::from_secs(BACKOFF_CAP_SECS),
                "attempt {attempt}: {d:?}"
            );
            assert!(d >= Duration::from_millis(500));
        }
        assert!(next_delay(1, None) <= Duration::from_secs(2));
        assert_eq!(
            next_delay(1, Some(Duration::from_secs(120))),
            Duration::from_secs(120)
        );
    }
}
