//! The outbox worker: delivers what the request path enqueued.
//!
//! Two kinds of rows: `reset_request` (written by forgot-password whatever
//! the account; the worker resolves the account and, for a live one, creates
//! the token and the email in one transaction) and `email` (a reset link or a
//! password-changed notice). Rows are claimed in batches with a lease and
//! retried with exponential backoff and full jitter until sent or dead.

mod payload;

use std::sync::Arc;
use std::time::Duration;

use chrono::{NaiveDateTime, TimeDelta};
use futures_util::StreamExt;
use tokio::sync::{Notify, watch};

pub use payload::{EmailPayload, EmailTemplate, ResetRequestPayload};

use crate::clock::Clock;
use crate::config::Settings;
use crate::issue::IssuedToken;
use crate::limits::{self, Limiter};
use crate::mailer::templates::{Branding, Templates};
use crate::mailer::{EmailMessage, Mailer, SendError};
use crate::storage::outbox::{Fulfilment, OutboxRow, Settlement};
use crate::storage::{Repo, StorageError};
use crate::tokens::TokenCodec;
use crate::webhooks::{self, KIND_WEBHOOK, WebhookPayload, WebhookSender};

pub const KIND_RESET_REQUEST: &str = "reset_request";
pub const KIND_EMAIL: &str = "email";

/// Rows claimed per batch, and how many of them are in flight at once.
const BATCH: i64 = 16;
const CONCURRENCY: usize = 4;
const BACKOFF_BASE_SECS: u64 = 2;
const BACKOFF_CAP_SECS: u64 = 15 * 60;
const PRUNE_EVERY: Duration = Duration::from_secs(600);

/// What happened to one row.
#[derive(Debug, PartialEq, Eq)]
pub enum Outcome {
    Sent,
    Done,
    Retrying,
    Dead,
    /// The lease ran out before the row was settled; its next holder decides.
    LeaseLost,
}

/// Everything the worker hands rows to.
pub struct Couriers {
    pub mailer: Arc<dyn Mailer>,
    pub webhooks: WebhookSender,
    pub templates: Templates,
}

#[derive(Clone)]
pub struct OutboxWorker {
    repo: Repo,
    couriers: Arc<Couriers>,
    codec: TokenCodec,
    settings: Arc<Settings>,
    clock: Clock,
    wake: Arc<Notify>,
    limiter: Limiter,
}

#[derive(Debug, thiserror::Error)]
enum StepError {
    /// Worth retrying: a database hiccup.
    #[error(transparent)]
    Storage(#[from] StorageError),
    /// Worth retrying or not, as the provider's answer says.
    #[error(transparent)]
    Send(#[from] SendError),
    /// Never worth retrying.
    #[error("{0}")]
    Permanent(String),
}

impl OutboxWorker {
    pub fn new(
        repo: Repo,
        couriers: Couriers,
        codec: TokenCodec,
        settings: Arc<Settings>,
        clock: Clock,
        wake: Arc<Notify>,
        limiter: Limiter,
    ) -> Self {
        let couriers = Arc::new(couriers);
        Self {
            repo,
            couriers,
            codec,
            settings,
            clock,
            wake,
            limiter,
        }
    }

    /// Long enough for a whole batch of slow providers; a crashed worker's
    /// rows are picked up by others after it.
    pub fn lease(&self) -> TimeDelta {
        let per_row = self.settings.mail.connect_timeout + self.settings.mail.timeout;
        let batch = per_row * (BATCH as u32).div_ceil(CONCURRENCY as u32);
        TimeDelta::from_std(batch + Duration::from_secs(30)).unwrap_or(TimeDelta::minutes(5))
    }

    /// Runs until `stop` turns true; finishes the batch in hand before
    /// leaving, so a graceful shutdown leaves no lease behind.
    pub async fn run(self, mut stop: watch::Receiver<bool>) {
        log::info!(
            "outbox worker started (mailer: {})",
            self.couriers.mailer.name()
        );
        let mut last_prune = std::time::Instant::now();
        loop {
            if *stop.borrow() {
                break;
            }
            if last_prune.elapsed() >= PRUNE_EVERY {
                last_prune = std::time::Instant::now();
                self.prune_rate_limits().await;
            }
            match self.run_once().await {
                // A full batch: there may be more right away.
                Ok(n) if n as i64 >= BATCH => continue,
                Ok(_) => {}
                Err(e) => log::warn!("outbox worker: {e}"),
            }
            tokio::select! {
                _ = self.wake.notified() => {}
                _ = tokio::time::sleep(self.settings.outbox_poll_interval) => {}
                _ = stop.changed() => {}
            }
        }
        log::info!("outbox worker stopped");
    }

    /// Forgets rate-limit keys whose windows (and backoffs) are long over.
    pub async fn prune_rate_limits(&self) {
        let before = self.clock.now_naive() - limits::WINDOW * 2;
        match self.repo.prune_rate_limits(before).await {
            Ok(0) => {}
            Ok(n) => log::debug!("pruned {n} stale rate-limit keys"),
            Err(e) => log::warn!("pruning rate-limit keys: {e}"),
        }
    }

    /// Claims one batch of due rows and processes it; returns how many.
    pub async fn run_once(&self) -> Result<usize, StorageError> {
        let now = self.clock.now_naive();
        let rows = self
            .repo
            .claim_due_outbox_rows(now, now + self.lease(), BATCH)
            .await?;
        let claimed = rows.len();
        let mut first_error = None;
        let results: Vec<_> = futures_util::stream::iter(rows)
            .map(|row| self.process(row))
            .buffer_unordered(CONCURRENCY)
            .collect()
            .await;
        for result in results {
            if let Err(e) = result {
                first_error.get_or_insert(e);
            }
        }
        match first_error {
            Some(e) => Err(e),
            None => Ok(claimed),
        }
    }

    /// Processes rows until none is due (tests and operators' commands).
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
        let Some(lease) = row.locked_until else {
            return Ok(Outcome::LeaseLost);
        };
        let result = match row.kind.as_str() {
            KIND_RESET_REQUEST => self.fulfil_reset_request(&row, lease).await,
            KIND_EMAIL => self.deliver_email(&row, lease).await,
            KIND_WEBHOOK => self.deliver_webhook(&row, lease).await,
            other => Err(StepError::Permanent(format!(
                "unknown outbox kind {other:?}"
            ))),
        };
        let now = self.clock.now_naive();
        let error = match result {
            Ok(outcome) => return Ok(outcome),
            Err(e) => e,
        };
        let reason = error.to_string();
        let retryable = !matches!(
            error,
            StepError::Permanent(_) | StepError::Send(SendError::Permanent(_))
        );
        let out_of_attempts = row.attempts as u32 >= self.settings.mail.max_attempts;
        let out_of_time = row.give_up_at.is_some_and(|t| t <= now);
        let settlement = if retryable && !out_of_attempts && !out_of_time {
            let retry_after = match &error {
                StepError::Send(SendError::Transient { retry_after, .. }) => *retry_after,
                _ => None,
            };
            let at = now + to_delta(next_delay(row.attempts as u32, retry_after));
            if row.give_up_at.is_some_and(|t| t <= at) {
                Settlement::Dead { error: &reason }
            } else {
                log::info!(
                    "outbox {} ({}) attempt {} failed, retrying at {at}: {reason}",
                    row.id,
                    row.kind,
                    row.attempts
                );
                Settlement::Retry { at, error: &reason }
            }
        } else {
            Settlement::Dead { error: &reason }
        };
        let outcome = match settlement {
            Settlement::Retry { .. } => Outcome::Retrying,
            _ => {
                log::warn!(
                    "outbox {} ({}) dead after {} attempt(s): {reason}",
                    row.id,
                    row.kind,
                    row.attempts
                );
                Outcome::Dead
            }
        };
        if self
            .repo
            .settle_outbox_row(&row.id, lease, now, settlement)
            .await?
        {
            Ok(outcome)
        } else {
            Ok(Outcome::LeaseLost)
        }
    }

    async fn fulfil_reset_request(
        &self,
        row: &OutboxRow,
        lease: NaiveDateTime,
    ) -> Result<Outcome, StepError> {
        let request: ResetRequestPayload = parse_payload(row)?;
        let now = self.clock.now();
        let user = match self.repo.find_user_by_email(&request.email).await? {
            Some(user) if !user.disabled => user,
            found => {
                let why = if found.is_some() {
                    "a disabled account"
                } else {
                    "no account"
                };
                log::info!(
                    "outbox {}: reset requested for an address with {why}; nothing sent",
                    row.id
                );
                self.repo
                    .settle_outbox_row(&row.id, lease, now.naive_utc(), Settlement::Done)
                    .await?;
                return Ok(Outcome::Done);
            }
        };
        let issued = IssuedToken::new(now, self.settings.reset_token_ttl)
            .map_err(|e| StepError::Permanent(format!("OS random generator failed: {e}")))?;
        let mut rows = vec![
            issued
                .email_row(&self.codec, &user, now)
                .map_err(|e| StepError::Permanent(e.to_string()))?,
        ];
        rows.extend(webhooks::event_rows(
            &self.settings.webhooks,
            webhooks::RESET_REQUESTED,
            &user.id,
            now,
        ));
        let token_row = issued.row(&user.id, request.ip.as_deref());
        let limit = self.limiter.account_email_limit();
        match self
            .repo
            .fulfil_reset_request(&row.id, lease, now.naive_utc(), &token_row, &rows, limit)
            .await?
        {
            Fulfilment::Issued => {}
            Fulfilment::LeaseLost => return Ok(Outcome::LeaseLost),
            Fulfilment::AccountLimitReached => {
                log::warn!(
                    "outbox {}: user {} had its reset emails for this hour; nothing sent",
                    row.id,
                    user.id
                );
                return Ok(Outcome::Done);
            }
        }
        let token_id = &issued.id;
        log::info!(
            "outbox {}: reset token {token_id} created for user {}",
            row.id,
            user.id
        );
        self.wake.notify_one();
        Ok(Outcome::Done)
    }

    async fn deliver_email(
        &self,
        row: &OutboxRow,
        lease: NaiveDateTime,
    ) -> Result<Outcome, StepError> {
        let email: EmailPayload = parse_payload(row)?;
        let message = self.render(row, &email).await?;
        // Our batch may have waited: never send on a lease that has run out.
        if self.clock.now_naive() >= lease {
            return Ok(Outcome::LeaseLost);
        }
        let provider_id = self.couriers.mailer.send(&message).await?;
        let note = self
            .record_sent(
                row,
                lease,
                provider_id.as_deref(),
                &payload::scrub(&row.payload),
            )
            .await?;
        log::info!(
            "outbox {}: {} email for user {} sent via {} (attempt {}{note})",
            row.id,
            email.template.name(),
            email.user_id,
            self.couriers.mailer.name(),
            row.attempts,
        );
        Ok(Outcome::Sent)
    }

    async fn deliver_webhook(
        &self,
        row: &OutboxRow,
        lease: NaiveDateTime,
    ) -> Result<Outcome, StepError> {
        let payload: WebhookPayload = parse_payload(row)?;
        if self.clock.now_naive() >= lease {
            return Ok(Outcome::LeaseLost);
        }
        self.couriers.webhooks.deliver(&payload).await?;
        let note = self
            .record_sent(row, lease, Some(&payload.msg_id), &row.payload)
            .await?;
        log::info!(
            "outbox {}: webhook {} delivered to {} (attempt {}{note})",
            row.id,
            payload.msg_id,
            payload.url,
            row.attempts
        );
        Ok(Outcome::Sent)
    }

    /// Marks a delivered row sent (keeping `payload`); returns what the log
    /// line should add when the lease had run out meanwhile.
    async fn record_sent(
        &self,
        row: &OutboxRow,
        lease: NaiveDateTime,
        provider_message_id: Option<&str>,
        payload: &str,
    ) -> Result<&'static str, StorageError> {
        let settled = self
            .repo
            .settle_outbox_row(
                &row.id,
                lease,
                self.clock.now_naive(),
                Settlement::Sent {
                    provider_message_id,
                    payload,
                },
            )
            .await?;
        Ok(if settled { "" } else { "; lease had run out" })
    }

    /// The message for an email row, rendered from the current templates.
    async fn render(
        &self,
        row: &OutboxRow,
        email: &EmailPayload,
    ) -> Result<EmailMessage, StepError> {
        let branding = Branding {
            app_name: &self.settings.app_name,
            support_contact: self.settings.support_contact.as_deref(),
        };
        let rendered = match email.template {
            EmailTemplate::Reset => {
                let (link, minutes) = self.reset_link(email).await?;
                self.couriers.templates.reset(&branding, &link, minutes)
            }
            EmailTemplate::PasswordChanged => self.couriers.templates.password_changed(&branding),
        }
        .map_err(StepError::Permanent)?;
        Ok(EmailMessage {
            id: row.id.clone(),
            from: self.settings.default_from_email.clone(),
            to: email.to.clone(),
            subject: rendered.subject,
            text: rendered.text,
            html: rendered.html,
        })
    }

    /// Rebuilds the link for a reset email, refusing when the token is no
    /// longer usable: a stale reset email is never sent.
    /// Returns the link and the token's lifetime in minutes (a service may
    /// have asked for a lifetime other than the default).
    async fn reset_link(&self, email: &EmailPayload) -> Result<(String, u64), StepError> {
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
        let lifetime_secs = (row.expires_at - row.created_at).num_seconds().max(0) as u64;
        Ok((self.settings.reset_link(&jwt), lifetime_secs.div_ceil(60)))
    }
}

fn parse_payload<T: serde::de::DeserializeOwned>(row: &OutboxRow) -> Result<T, StepError> {
    serde_json::from_str(&row.payload)
        .map_err(|e| StepError::Permanent(format!("bad {} payload: {e}", row.kind)))
}

/// Exponential backoff with full jitter (a random delay up to 2 s, 4 s, 8 s,
/// ... capped at 15 min, at least 0.5 s); a provider's Retry-After wins when
/// it asks for longer.
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
