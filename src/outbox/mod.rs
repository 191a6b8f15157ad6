//! The outbox worker: delivers what the actions enqueued. Rows are claimed
//! in batches with a lease, handed to the handler of their kind (one file
//! each: `reset_request`, `email`, `webhook`), and settled; failures go
//! through the retry policy (`policy`) until sent or dead.

mod email;
pub mod policy;
mod reset_request;
mod webhook;

use std::sync::Arc;
use std::time::Duration;

use chrono::{NaiveDateTime, TimeDelta};
use futures_util::StreamExt;
use tokio::sync::{Notify, watch};

use crate::delivery::SendError;
use crate::limits;
use crate::mailer::Mailer;
use crate::mailer::templates::Templates;
use crate::messages::OutboxMessage;
use crate::reset::Actions;
use crate::storage::StorageError;
use crate::storage::outbox::{OutboxRow, Settlement};
use crate::webhooks::WebhookSender;
use policy::{Decision, Failure};

/// Rows claimed per batch, and how many of them are in flight at once.
const BATCH: i64 = 16;
const CONCURRENCY: usize = 4;
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
    actions: Actions,
    couriers: Arc<Couriers>,
    wake: Arc<Notify>,
}

/// Why processing a row failed.
#[derive(Debug, thiserror::Error)]
enum StepError {
    /// Worth retrying: a database hiccup.
    #[error(transparent)]
    Storage(#[from] StorageError),
    /// Worth retrying or not, as the other side's answer says.
    #[error(transparent)]
    Send(#[from] SendError),
    /// Never worth retrying.
    #[error(transparent)]
    Permanent(anyhow::Error),
}

impl StepError {
    fn permanent(e: impl Into<anyhow::Error>) -> Self {
        Self::Permanent(e.into())
    }

    fn failure(&self) -> Failure {
        match self {
            Self::Permanent(_) | Self::Send(SendError::Permanent(_)) => Failure::Permanent,
            Self::Send(SendError::Transient { retry_after, .. }) => Failure::Retryable {
                retry_after: *retry_after,
            },
            Self::Storage(_) => Failure::Retryable { retry_after: None },
        }
    }
}

impl OutboxWorker {
    pub fn new(actions: Actions, couriers: Couriers, wake: Arc<Notify>) -> Self {
        Self {
            actions,
            couriers: Arc::new(couriers),
            wake,
        }
    }

    /// Long enough for a whole batch of slow providers; a crashed worker's
    /// rows are picked up by others after it.
    pub fn lease(&self) -> TimeDelta {
        let mail = &self.actions.settings().mail;
        let per_row = mail.connect_timeout + mail.timeout;
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
                _ = tokio::time::sleep(self.actions.settings().outbox_poll_interval) => {}
                _ = stop.changed() => {}
            }
        }
        log::info!("outbox worker stopped");
    }

    /// Forgets rate-limit keys whose windows (and backoffs) are long over.
    pub async fn prune_rate_limits(&self) {
        let before = self.actions.clock().now_naive() - limits::WINDOW * 2;
        match self.actions.repo().prune_rate_limits(before).await {
            Ok(0) => {}
            Ok(n) => log::debug!("pruned {n} stale rate-limit keys"),
            Err(e) => log::warn!("pruning rate-limit keys: {e}"),
        }
    }

    /// Claims one batch of due rows and processes it; returns how many.
    pub async fn run_once(&self) -> Result<usize, StorageError> {
        let now = self.actions.clock().now_naive();
        let rows = self
            .actions
            .repo()
            .claim_due_outbox_rows(now, now + self.lease(), BATCH)
            .await?;
        let claimed = rows.len();
        let results: Vec<_> = futures_util::stream::iter(rows)
            .map(|row| self.process(row))
            .buffer_unordered(CONCURRENCY)
            .collect()
            .await;
        match results.into_iter().find_map(Result::err) {
            Some(e) => Err(e),
            None => Ok(claimed),
        }
    }

    /// Runs batches until none is due (tests drive the worker with this).
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
        let result = match OutboxMessage::from_json(row.kind, &row.payload) {
            Ok(OutboxMessage::ResetRequest(request)) => {
                self.fulfil_reset_request(&row, lease, &request).await
            }
            Ok(OutboxMessage::Email(email)) => self.deliver_email(&row, lease, &email).await,
            Ok(OutboxMessage::Webhook(hook)) => self.deliver_webhook(&row, lease, &hook).await,
            Err(e) => Err(StepError::Permanent(
                anyhow::Error::new(e).context(format!("bad {} payload", row.kind)),
            )),
        };
        match result {
            Ok(outcome) => Ok(outcome),
            Err(error) => self.settle_failure(&row, lease, &error).await,
        }
    }

    async fn settle_failure(
        &self,
        row: &OutboxRow,
        lease: NaiveDateTime,
        error: &StepError,
    ) -> Result<Outcome, StorageError> {
        let now = self.actions.clock().now_naive();
        let reason = format!("{error:#}");
        let max_attempts = self.actions.settings().mail.max_attempts;
        let (settlement, outcome) = match policy::decide(row, &error.failure(), now, max_attempts) {
            Decision::RetryAt(at) => {
                log::info!(
                    "outbox {} ({}) attempt {} failed, retrying at {at}: {reason}",
                    row.id,
                    row.kind,
                    row.attempts
                );
                (Settlement::Retry { at, error: &reason }, Outcome::Retrying)
            }
            Decision::GiveUp => {
                log::warn!(
                    "outbox {} ({}) dead after {} attempt(s): {reason}",
                    row.id,
                    row.kind,
                    row.attempts
                );
                (Settlement::Dead { error: &reason }, Outcome::Dead)
            }
        };
        let ours = self
            .actions
            .repo()
            .settle_outbox_row(&row.id, lease, now, settlement)
            .await?;
        Ok(if ours { outcome } else { Outcome::LeaseLost })
    }

    /// Marks a delivered row sent, keeping `payload`; returns what the log
    /// line should add when the lease had run out meanwhile.
    async fn record_sent(
        &self,
        row: &OutboxRow,
        lease: NaiveDateTime,
        provider_message_id: Option<&str>,
        payload: &str,
    ) -> Result<&'static str, StorageError> {
        let settled = self
            .actions
            .repo()
            .settle_outbox_row(
                &row.id,
                lease,
                self.actions.clock().now_naive(),
                Settlement::Sent {
                    provider_message_id,
                    payload,
                },
            )
            .await?;
        Ok(if settled { "" } else { "; lease had run out" })
    }

    /// Our batch may have waited: never send on a lease that has run out.
    fn lease_expired(&self, lease: NaiveDateTime) -> bool {
        self.actions.clock().now_naive() >= lease
    }
}
