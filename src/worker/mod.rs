//! The outbox worker: delivers what the flows enqueued. Rows are claimed
//! with a lease by two lanes that keep their slots busy (`lanes.rs`: reset
//! requests, and deliveries through the send gate), handed to the job of
//! their kind (an `OutboxJob` that lives in its flow; each kind registered
//! once, in `Jobs` and `OutboxWorker::process`), and settled; failures go
//! through the retry policy (`outbox::policy`) until sent or dead. It also
//! runs retention. Tests drive it a batch at a time (`run_once`).

mod lanes;

use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use chrono::{NaiveDateTime, TimeDelta};
use futures_util::{FutureExt, StreamExt};
use tokio::sync::{Notify, watch};

use crate::clock::Clock;
use crate::config::Settings;
use crate::domain::OutboxId;
use crate::flows::fulfil::Fulfil;
use crate::flows::fulfil::REQUEST_BATCH;
use crate::flows::prune::{PruneReport, Retention};
use crate::flows::send::{SendEmail, SendWebhook};
use crate::log_context::{self, LogContext, RequestId};
use crate::messages::{OutboxKind, OutboxPayload};
use crate::metrics::Metrics;
use crate::outbox::{OutboxJob, Outcome, SendGate, Settler, StepError, panic_message};
use crate::storage::leases::Due;
use crate::storage::outbox::OutboxRow;
use crate::storage::{Repo, StorageError};
use lanes::Lane;

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
    /// When each lane last made progress (Unix seconds).
    progress: Arc<[AtomicU64; 2]>,
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
            progress: Arc::new([AtomicU64::new(0), AtomicU64::new(0)]),
        }
    }

    /// Long enough for one row's work: a row is claimed only when a slot of
    /// its lane is free, so it waits at most for one send ahead of it at
    /// the gate and for its turn at the send rate, then for the provider's
    /// timeouts (over SMTP, also for its turn on a connection). A crashed
    /// worker's rows are picked up by others after it.
    pub fn lease(&self) -> TimeDelta {
        let mail = &self.settings.mail;
        let in_hand = lanes::delivery_slots(mail.concurrency);
        let per_row = mail.longest_send().saturating_mul(2)
            + SendGate::longest_wait(in_hand, mail.max_per_second);
        TimeDelta::from_std(per_row + Duration::from_secs(30)).unwrap_or(TimeDelta::minutes(5))
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

    /// The lanes and retention, until `stop` turns true; then the rows in
    /// hand finish. The flows' wake-up reaches both lanes.
    async fn run_loop(self, mut stop: watch::Receiver<bool>) {
        let wakes = [Arc::new(Notify::new()), Arc::new(Notify::new())];
        let mut lanes = tokio::task::JoinSet::new();
        for (lane, wake) in [Lane::Requests, Lane::Deliveries].into_iter().zip(&wakes) {
            lanes.spawn(self.clone().run_lane(lane, wake.clone(), stop.clone()));
        }
        let mut prune = tokio::time::interval(PRUNE_EVERY);
        loop {
            tokio::select! {
                _ = self.wake.notified() => {
                    for wake in &wakes {
                        wake.notify_one();
                    }
                }
                _ = prune.tick() => self.prune().await,
                _ = stop.changed() => {
                    if *stop.borrow() {
                        break;
                    }
                }
                // A lane ended: at `stop`, the others are waited for below;
                // before it, the loop ends and is restarted.
                Some(_) = lanes.join_next() => {
                    if *stop.borrow() {
                        break;
                    }
                    return;
                }
            }
        }
        while lanes.join_next().await.is_some() {}
    }

    /// Records progress for `/readyz` and the metrics (a batch by hand:
    /// both lanes).
    fn alive(&self) {
        self.lane_alive(None);
    }

    /// Records one lane's progress (None: both). The worker has made
    /// progress when each lane has: one whose slots are all held by sends
    /// that never end is stuck, whatever the other does.
    fn lane_alive(&self, lane: Option<Lane>) {
        let now = self.clock.unix_secs().max(0.0) as u64;
        for (i, at) in self.progress.iter().enumerate() {
            if lane.is_none_or(|l| l as usize == i) {
                at.store(now, Ordering::Relaxed);
            }
        }
        let oldest = self
            .progress
            .iter()
            .map(|at| at.load(Ordering::Relaxed))
            .min();
        self.metrics.worker_alive(oldest.unwrap_or(now) as f64);
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
        let concurrency = self.settings.mail.concurrency.max(1);
        let (mut rows, settled) = self
            .jobs
            .fulfil
            .claim_batch(now, lease_until, REQUEST_BATCH)
            .await?;
        if settled > 0 {
            self.alive();
        }
        rows.extend(
            self.repo
                .claim_due_outbox_rows(
                    Due::Deliveries,
                    now,
                    lease_until,
                    i64::try_from(concurrency).unwrap_or(i64::MAX),
                )
                .await?,
        );
        let claimed = rows.len();
        let stopping = || stop.is_some_and(|s| *s.borrow());
        let results: Vec<Result<Option<OutboxId>, StorageError>> = futures_util::stream::iter(rows)
            .map(|row| async move {
                if stopping() {
                    return Ok(Some(row.id));
                }
                self.process_guarded(&row, stop.cloned())
                    .await
                    .map(|()| None)
            })
            .buffer_unordered(concurrency)
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
    /// Every line logged meanwhile carries the row's id and the id of the
    /// request that queued it, and the rows its job queues remember that
    /// request too.
    async fn process_guarded(
        &self,
        row: &OutboxRow,
        stop: Option<watch::Receiver<bool>>,
    ) -> Result<(), StorageError> {
        let context = LogContext {
            request_id: row.request_id.clone().map(RequestId::stored),
            outbox_id: Some(row.id.to_string()),
        };
        log_context::scope(context, async {
            let processed = self.process_counted(row, stop).await;
            if let Err(e) = &processed {
                log::warn!("outbox {} ({}): {e}", row.id, row.kind);
            }
            processed
        })
        .await
    }

    async fn process_counted(
        &self,
        row: &OutboxRow,
        stop: Option<watch::Receiver<bool>>,
    ) -> Result<(), StorageError> {
        let outcome = self.process(row, stop).await?;
        match outcome {
            Outcome::LeaseLost => log::warn!(
                "outbox {} ({}): the lease ran out before the row was settled; its next holder decides",
                row.id,
                row.kind
            ),
            Outcome::NotStarted => log::info!(
                "outbox {} ({}): released unsent, the worker is stopping",
                row.id,
                row.kind
            ),
            _ => {}
        }
        if let Some(counted) = outcome.metric() {
            self.metrics.delivery(row.kind, counted);
            self.lane_alive(Some(Lane::of(row.kind)));
        }
        Ok(())
    }

    async fn process(
        &self,
        row: &OutboxRow,
        stop: Option<watch::Receiver<bool>>,
    ) -> Result<Outcome, StorageError> {
        let jobs = &*self.jobs;
        // The registration of every kind of row.
        match row.kind {
            OutboxKind::ResetRequest => self.run_job(&jobs.fulfil, row, stop).await,
            OutboxKind::Email => self.run_job(&jobs.email, row, stop).await,
            OutboxKind::Webhook => self.run_job(&jobs.webhook, row, stop).await,
        }
    }

    /// Reads the row's payload as the job's and runs the job on it; settles
    /// a failure through the retry policy. A panic inside is that row's
    /// failure only (retried or dead like any other), never the worker's.
    async fn run_job<J: OutboxJob>(
        &self,
        job: &J,
        row: &OutboxRow,
        stop: Option<watch::Receiver<bool>>,
    ) -> Result<Outcome, StorageError> {
        let Some(lease) = row.locked_until else {
            return Ok(Outcome::LeaseLost);
        };
        debug_assert_eq!(row.kind, J::Payload::KIND);
        let claimed = self.settler.claimed(row, lease, stop);
        let run = async {
            let payload: J::Payload = serde_json::from_str(&row.payload).map_err(|e| {
                StepError::Permanent(
                    anyhow::Error::new(e).context(format!("bad {} payload", row.kind)),
                )
            })?;
            job.run(&claimed, payload).await
        };
        let error = match AssertUnwindSafe(run).catch_unwind().await {
            Ok(Ok(Outcome::NotStarted)) => {
                self.settler.release(row, lease).await?;
                return Ok(Outcome::NotStarted);
            }
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
