//! The outbox worker: delivers what the actions enqueued. Rows are claimed
//! in batches with a lease, handed to the job of their kind (an `OutboxJob`,
//! one file each: `reset_request`, `email`, `webhook`; registered in
//! `OutboxWorker::process`), and settled; failures go through the retry
//! policy (`policy`) until sent or dead.

mod email;
pub mod policy;
mod reset_request;
mod step;
mod webhook;

use std::sync::Arc;
use std::time::Duration;

use std::panic::AssertUnwindSafe;

use chrono::{NaiveDateTime, TimeDelta};
use futures_util::{FutureExt, StreamExt};
use tokio::sync::{Notify, watch};

use crate::domain::OutboxId;
use crate::flows::prune::{PruneReport, Retention};
use crate::mailer::Mailer;
use crate::mailer::templates::Templates;
use crate::messages::OutboxKind;
use crate::metrics::DeliveryOutcome;
use crate::reset::Actions;
use crate::storage::StorageError;
use crate::storage::leases::Due;
use crate::storage::outbox::OutboxRow;
use crate::webhooks::WebhookSender;
use step::{OutboxJob, StepError, panic_message};

/// Rows claimed per batch, and how many of them are in flight at once.
const BATCH: i64 = 16;
/// Reset requests claimed per batch besides: most are settled by the claim
/// itself (no live account has the address).
const REQUEST_BATCH: i64 = 256;
const CONCURRENCY: usize = 4;
/// How often the worker applies retention (the first pass runs at start).
const PRUNE_EVERY: Duration = Duration::from_secs(300);

/// What happened to one row.
#[derive(Debug, PartialEq, Eq)]
pub enum Outcome {
    /// Delivered (an email or webhook), or turned into a token and its email.
    Sent,
    /// Settled with nothing to send (no such account, the account's hourly
    /// limit reached).
    Skipped,
    Retrying,
    Dead,
    /// The lease ran out before the row was settled; its next holder decides.
    LeaseLost,
}

impl Outcome {
    /// This outcome if the settlement found the row still under our lease
    /// (`ours`); otherwise the row is its next holder's to decide.
    fn unless_lease_lost(self, ours: bool) -> Self {
        if ours { self } else { Self::LeaseLost }
    }

    fn metric(&self) -> DeliveryOutcome {
        match self {
            Self::Sent => DeliveryOutcome::Sent,
            Self::Retrying => DeliveryOutcome::Retry,
            Self::Dead => DeliveryOutcome::Dead,
            Self::Skipped | Self::LeaseLost => DeliveryOutcome::Skipped,
        }
    }
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
    retention: Retention,
    couriers: Arc<Couriers>,
    wake: Arc<Notify>,
}

impl OutboxWorker {
    pub fn new(
        actions: Actions,
        couriers: Couriers,
        wake: Arc<Notify>,
        retention: Retention,
    ) -> Self {
        Self {
            actions,
            retention,
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

    /// Runs until `stop` turns true. The loop runs in a task of its own: if
    /// it ever ends unexpectedly (a panic outside any one row), it is logged,
    /// counted and restarted after a growing pause.
    pub async fn run(self, mut stop: watch::Receiver<bool>) {
        log::info!(
            "outbox worker started (mailer: {})",
            self.couriers.mailer.name()
        );
        let mut restarts: u32 = 0;
        loop {
            let ended = tokio::spawn(self.clone().run_loop(stop.clone())).await;
            if *stop.borrow() {
                break;
            }
            restarts = restarts.saturating_add(1);
            self.actions.metrics().worker_restarted();
            let pause = Duration::from_secs(1u64 << restarts.min(6));
            match ended {
                Ok(()) => log::error!("outbox worker loop ended; restarting in {pause:?}"),
                Err(e) => log::error!(
                    "outbox worker loop died ({}); restarting in {pause:?}",
                    panic_message(e.try_into_panic().ok())
                ),
            }
            tokio::select! {
                _ = tokio::time::sleep(pause) => {}
                _ = stop.changed() => {}
            }
        }
        log::info!("outbox worker stopped");
    }

    /// The loop: claim, deliver, wait for the next poll or a wake-up. Returns
    /// when `stop` turns true, after finishing the deliveries in hand and
    /// releasing the rows it had claimed but not started.
    async fn run_loop(self, mut stop: watch::Receiver<bool>) {
        let mut last_prune: Option<std::time::Instant> = None;
        loop {
            if *stop.borrow() {
                return;
            }
            if last_prune.is_none_or(|at| at.elapsed() >= PRUNE_EVERY) {
                last_prune = Some(std::time::Instant::now());
                self.prune().await;
            }
            match self.run_batch(Some(&stop)).await {
                // A full batch: there may be more right away.
                Ok(n) if n as i64 >= BATCH => {
                    self.alive();
                    continue;
                }
                Ok(_) => self.alive(),
                Err(e) => log::warn!("outbox worker: {e}"),
            }
            tokio::select! {
                _ = self.wake.notified() => {}
                _ = tokio::time::sleep(self.actions.settings().outbox_poll_interval) => {}
                _ = stop.changed() => {}
            }
        }
    }

    /// Records progress for `/readyz` and the metrics.
    fn alive(&self) {
        self.actions
            .metrics()
            .worker_alive(self.actions.clock().unix_secs());
    }

    /// The retention pass this worker runs (tests run it by hand).
    pub fn retention(&self) -> &Retention {
        &self.retention
    }

    /// Retention (`flows::prune`); a failure is logged and tried
    /// again at the next interval.
    pub async fn prune(&self) {
        match self.retention.prune().await {
            Ok(report) if report == PruneReport::default() => {}
            Ok(report) => log::info!(
                "retention: deleted {} outbox row(s), {} token(s), {} rate-limit key(s)",
                report.outbox_rows,
                report.tokens,
                report.rate_limit_keys
            ),
            Err(e) => log::warn!("retention: {e}"),
        }
    }

    /// Claims one batch of due rows and processes it; returns how many.
    pub async fn run_once(&self) -> Result<usize, StorageError> {
        self.run_batch(None).await
    }

    /// One batch. Once `stop` turns true no further row is started; the rows
    /// in flight finish and the others are released at once.
    async fn run_batch(&self, stop: Option<&watch::Receiver<bool>>) -> Result<usize, StorageError> {
        let now = self.actions.clock().now_naive();
        let lease_until = now
            .checked_add_signed(self.lease())
            .unwrap_or(NaiveDateTime::MAX);
        let (mut rows, settled) = self.claim_reset_requests(now, lease_until).await?;
        let repo = self.actions.repo();
        rows.extend(
            repo.claim_due_outbox_rows(Due::Deliveries, now, lease_until, BATCH)
                .await?,
        );
        let claimed = rows.len();
        let stopping = || stop.is_some_and(|s| *s.borrow());
        let results: Vec<Result<Option<OutboxId>, StorageError>> = futures_util::stream::iter(rows)
            .map(|row| async move {
                if stopping() {
                    return Ok(Some(row.id));
                }
                self.process_guarded(&row).await.map(|()| None)
            })
            .buffer_unordered(CONCURRENCY)
            .collect()
            .await;
        let mut not_started = Vec::new();
        let mut first_error = None;
        for result in results {
            match result {
                Ok(Some(id)) => not_started.push(id),
                Ok(None) => {}
                Err(e) => {
                    first_error.get_or_insert(e);
                }
            }
        }
        if !not_started.is_empty() {
            let released = self
                .actions
                .repo()
                .release_outbox_rows(&not_started, lease_until)
                .await?;
            log::info!("outbox worker stopping: released {released} claimed row(s) not started");
        }
        match first_error {
            Some(e) => Err(e),
            None => Ok(settled + claimed),
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

    /// Processes one row; a panic inside is that row's failure only (it is
    /// retried or goes dead like any other failure), never the worker's.
    async fn process_guarded(&self, row: &OutboxRow) -> Result<(), StorageError> {
        let outcome = match AssertUnwindSafe(self.process(row)).catch_unwind().await {
            Ok(outcome) => outcome?,
            Err(panic) => {
                let error = StepError::Panicked(panic_message(Some(panic)));
                log::error!("outbox {} ({}): {error}", row.id, row.kind);
                match row.locked_until {
                    Some(lease) => self.settle_failure(row, lease, &error).await?,
                    None => Outcome::LeaseLost,
                }
            }
        };
        if outcome == Outcome::LeaseLost {
            log::warn!(
                "outbox {} ({}): the lease ran out before the row was settled; its next holder decides",
                row.id,
                row.kind
            );
        }
        self.actions.metrics().delivery(row.kind, outcome.metric());
        self.alive();
        Ok(())
    }

    async fn process(&self, row: &OutboxRow) -> Result<Outcome, StorageError> {
        let Some(lease) = row.locked_until else {
            return Ok(Outcome::LeaseLost);
        };
        // The registration of every kind of row.
        let result = match row.kind {
            OutboxKind::ResetRequest => self.run_job::<reset_request::Fulfil>(row, lease).await,
            OutboxKind::Email => self.run_job::<email::SendEmail>(row, lease).await,
            OutboxKind::Webhook => self.run_job::<webhook::SendWebhook>(row, lease).await,
        };
        match result {
            Ok(outcome) => Ok(outcome),
            Err(error) => self.settle_failure(row, lease, &error).await,
        }
    }
}
