//! The outbox worker: delivers what the flows enqueued. Rows are claimed in
//! batches with a lease, handed to the job of their kind (an `OutboxJob`
//! that lives in its flow; each kind registered once, in `Jobs` and
//! `OutboxWorker::process`), and settled; failures go through the retry
//! policy (`outbox::policy`) until sent or dead. It also runs retention.

use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::time::Duration;

use chrono::{NaiveDateTime, TimeDelta};
use futures_util::{FutureExt, StreamExt};
use tokio::sync::{Notify, watch};

use crate::clock::Clock;
use crate::config::Settings;
use crate::domain::OutboxId;
use crate::flows::fulfil::Fulfil;
use crate::flows::prune::{PruneReport, Retention};
use crate::flows::send::{SendEmail, SendWebhook};
use crate::messages::{OutboxKind, OutboxPayload};
use crate::metrics::Metrics;
use crate::outbox::{OutboxJob, Outcome, Settler, StepError, panic_message};
use crate::storage::leases::Due;
use crate::storage::outbox::OutboxRow;
use crate::storage::{Repo, StorageError};

/// Rows claimed per batch, and how many of them are in flight at once.
const BATCH: i64 = 16;
const CONCURRENCY: usize = 4;
/// How often the worker applies retention (the first pass runs at start).
const PRUNE_EVERY: Duration = Duration::from_secs(300);

/// The registration of every kind of row: its job, as its flow built it.
pub struct Jobs {
    pub fulfil: Fulfil,
    pub email: SendEmail,
    pub webhook: SendWebhook,
}

#[derive(Clone)]
pub struct OutboxWorker {
    jobs: Arc<Jobs>,
    retention: Retention,
    settler: Settler,
    repo: Repo,
    clock: Clock,
    metrics: Arc<Metrics>,
    /// The poll interval and the timeouts a lease must cover.
    settings: Arc<Settings>,
    wake: Arc<Notify>,
}

impl OutboxWorker {
    pub fn new(
        jobs: Jobs,
        retention: Retention,
        repo: Repo,
        clock: Clock,
        metrics: Arc<Metrics>,
        settings: Arc<Settings>,
        wake: Arc<Notify>,
    ) -> Self {
        let settler = Settler::new(repo.clone(), clock.clone(), settings.mail.max_attempts);
        Self {
            jobs: Arc::new(jobs),
            retention,
            settler,
            repo,
            clock,
            metrics,
            settings,
            wake,
        }
    }

    /// Long enough for a whole batch of slow providers; a crashed worker's
    /// rows are picked up by others after it.
    pub fn lease(&self) -> TimeDelta {
        let mail = &self.settings.mail;
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
            self.jobs.email.mailer_name()
        );
        let mut restarts: u32 = 0;
        loop {
            let ended = tokio::spawn(self.clone().run_loop(stop.clone())).await;
            if *stop.borrow() {
                break;
            }
            restarts = restarts.saturating_add(1);
            self.metrics.worker_restarted();
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
                _ = tokio::time::sleep(self.settings.outbox_poll_interval) => {}
                _ = stop.changed() => {}
            }
        }
    }

    /// Records progress for `/readyz` and the metrics.
    fn alive(&self) {
        self.metrics.worker_alive(self.clock.unix_secs());
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
        let now = self.clock.now_naive();
        let lease_until = now
            .checked_add_signed(self.lease())
            .unwrap_or(NaiveDateTime::MAX);
        let (mut rows, settled) = self.jobs.fulfil.claim_batch(now, lease_until).await?;
        if settled > 0 {
            self.alive();
        }
        rows.extend(
            self.repo
                .claim_due_outbox_rows(Due::Deliveries, now, lease_until, BATCH)
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
                .repo
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

    /// Processes one row with the job of its kind, and counts the outcome.
    async fn process_guarded(&self, row: &OutboxRow) -> Result<(), StorageError> {
        let outcome = self.process(row).await?;
        if outcome == Outcome::LeaseLost {
            log::warn!(
                "outbox {} ({}): the lease ran out before the row was settled; its next holder decides",
                row.id,
                row.kind
            );
        }
        self.metrics.delivery(row.kind, outcome.metric());
        self.alive();
        Ok(())
    }

    async fn process(&self, row: &OutboxRow) -> Result<Outcome, StorageError> {
        let jobs = &*self.jobs;
        // The registration of every kind of row.
        match row.kind {
            OutboxKind::ResetRequest => self.run_job(&jobs.fulfil, row).await,
            OutboxKind::Email => self.run_job(&jobs.email, row).await,
            OutboxKind::Webhook => self.run_job(&jobs.webhook, row).await,
        }
    }

    /// Reads the row's payload as the job's and runs the job on it; settles
    /// a failure through the retry policy. A panic inside is that row's
    /// failure only (retried or dead like any other), never the worker's.
    async fn run_job<J: OutboxJob>(
        &self,
        job: &J,
        row: &OutboxRow,
    ) -> Result<Outcome, StorageError> {
        let Some(lease) = row.locked_until else {
            return Ok(Outcome::LeaseLost);
        };
        debug_assert_eq!(row.kind, J::Payload::KIND);
        let claimed = self.settler.claimed(row, lease);
        let run = async {
            let payload: J::Payload = serde_json::from_str(&row.payload).map_err(|e| {
                StepError::Permanent(
                    anyhow::Error::new(e).context(format!("bad {} payload", row.kind)),
                )
            })?;
            job.run(&claimed, payload).await
        };
        let error = match AssertUnwindSafe(run).catch_unwind().await {
            Ok(Ok(outcome)) => return Ok(outcome),
            Ok(Err(error)) => error,
            Err(panic) => {
                let error = StepError::Panicked(panic_message(Some(panic)));
                log::error!("outbox {} ({}): {error}", row.id, row.kind);
                error
            }
        };
        self.settler
            .settle_failure(row, lease, &error, |reason| job.when_given_up(row, reason))
            .await
    }
}
