//! The worker's two lanes, each a loop that keeps its slots busy: reset
//! requests (turned into a token and its email: database work only) and
//! deliveries (emails and webhooks, which also pass the send gate:
//! `MAIL_CONCURRENCY`, `MAIL_MAX_PER_SECOND`). A lane claims rows only for
//! slots that are free, so a claimed row starts at once (a delivery waits
//! at most for one send per gate slot) and its lease covers one row's
//! work, however long the queue. The lanes do not wait for
//! each other: a burst of requests never holds back the notices and
//! webhooks behind it, and a slow provider holds back only its sends.

use std::sync::Arc;

use chrono::NaiveDateTime;
use tokio::sync::{Notify, watch};
use tokio::task::JoinSet;

use super::OutboxWorker;
use crate::flows::fulfil::REQUEST_BATCH;
use crate::messages::OutboxKind;
use crate::storage::StorageError;
use crate::storage::leases::Due;
use crate::storage::outbox::OutboxRow;

/// Reset requests in hand at once (each a short transaction); a claim takes
/// a whole batch once this many slots are free, so a flood may briefly
/// hold more.
const REQUEST_SLOTS: usize = 16;

/// Deliveries in hand at once: twice the sends the gate lets run. A row
/// reads its token and renders its email before its turn to send, and a
/// claim on a busy database takes a while: with only as many rows as send
/// slots, slots would sit idle meanwhile. The rows beyond the sends wait at
/// the gate, each behind at most one send per slot (the lease covers it),
/// and go back to the queue unsent when the worker stops.
pub(super) fn delivery_slots(concurrency: usize) -> usize {
    concurrency.max(1).saturating_mul(2)
}

#[derive(Clone, Copy, Debug)]
pub(super) enum Lane {
    Requests = 0,
    Deliveries = 1,
}

impl Lane {
    /// The lane a kind of row goes through.
    pub(super) fn of(kind: OutboxKind) -> Self {
        match kind {
            OutboxKind::ResetRequest => Self::Requests,
            OutboxKind::Email | OutboxKind::Webhook => Self::Deliveries,
        }
    }

    fn name(self) -> &'static str {
        match self {
            Self::Requests => "reset requests",
            Self::Deliveries => "deliveries",
        }
    }
}

impl OutboxWorker {
    fn lane_slots(&self, lane: Lane) -> usize {
        match lane {
            Lane::Requests => REQUEST_SLOTS,
            Lane::Deliveries => delivery_slots(self.settings.mail.concurrency),
        }
    }

    /// Rows in hand below which a claim is itself progress: with more, every
    /// send slot may be held by a send that never ends, and the claims that
    /// keep the gate's queue full are not progress.
    fn working_below(&self, lane: Lane) -> usize {
        match lane {
            Lane::Requests => REQUEST_SLOTS,
            Lane::Deliveries => self.settings.mail.concurrency.max(1),
        }
    }

    /// Due rows of the lane, leased, and whether there may be more: up to
    /// `free` deliveries; for requests a whole batch, since the claim itself
    /// settles those no live account has (most, in a flood) and only the
    /// others take a slot.
    async fn claim_for(
        &self,
        lane: Lane,
        free: usize,
    ) -> Result<(Vec<OutboxRow>, bool), StorageError> {
        let now = self.clock.now_naive();
        let lease_until = now
            .checked_add_signed(self.lease())
            .unwrap_or(NaiveDateTime::MAX);
        match lane {
            Lane::Requests => {
                let (rows, settled) = self
                    .jobs
                    .fulfil
                    .claim_batch(now, lease_until, REQUEST_BATCH)
                    .await?;
                let taken = i64::try_from(rows.len() + settled).unwrap_or(i64::MAX);
                Ok((rows, taken >= REQUEST_BATCH))
            }
            Lane::Deliveries => {
                let rows = self
                    .repo
                    .claim_due_outbox_rows(
                        Due::Deliveries,
                        now,
                        lease_until,
                        i64::try_from(free).unwrap_or(i64::MAX),
                    )
                    .await?;
                let full = rows.len() >= free;
                Ok((rows, full))
            }
        }
    }

    /// Runs the lane until `stop` turns true, then lets the rows in hand
    /// finish. `wake` says rows were queued in this process.
    pub(super) async fn run_lane(
        self,
        lane: Lane,
        wake: Arc<Notify>,
        mut stop: watch::Receiver<bool>,
    ) {
        let capacity = self.lane_slots(lane);
        let working_below = self.working_below(lane);
        // Under load, claim when a quarter of the slots is free: fewer,
        // larger claims.
        let threshold = (capacity / 4).max(1);
        let mut running: JoinSet<()> = JoinSet::new();
        let mut poll = tokio::time::interval(self.settings.outbox_poll_interval);
        poll.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut more_due = true;
        loop {
            while let Some(done) = running.try_join_next() {
                log_ended(lane, done);
            }
            if *stop.borrow() {
                break;
            }
            let free = capacity.saturating_sub(running.len());
            if more_due && free > 0 && (free >= threshold || running.is_empty()) {
                match self.claim_for(lane, free).await {
                    Ok((rows, full)) => {
                        more_due = full;
                        if running.len() < working_below {
                            self.lane_alive(Some(lane));
                        }
                        for row in rows {
                            let worker = self.clone();
                            let stop = Some(stop.clone());
                            // A failure is logged under the row's ids.
                            running.spawn(async move {
                                let _ = worker.process_guarded(&row, stop).await;
                            });
                        }
                    }
                    Err(e) => {
                        more_due = false;
                        log::warn!("outbox worker ({}): {e}", lane.name());
                    }
                }
                // More is due and there is room for it: claim again now.
                if more_due && running.len() < capacity {
                    continue;
                }
            }
            tokio::select! {
                _ = wake.notified() => more_due = true,
                Some(done) = running.join_next(), if !running.is_empty() => log_ended(lane, done),
                _ = poll.tick() => more_due = true,
                _ = stop.changed() => {}
            }
        }
        // Stopping: no new row; the sends under way finish (and settle), the
        // rows still waiting for their turn are released.
        while let Some(done) = running.join_next().await {
            log_ended(lane, done);
        }
    }
}

/// A row's task ended; a panic outside its job is logged (the row's lease
/// runs out and another holder takes it).
fn log_ended(lane: Lane, done: Result<(), tokio::task::JoinError>) {
    if let Err(e) = done
        && e.is_panic()
    {
        log::error!(
            "outbox worker ({}): a row's task panicked: {}",
            lane.name(),
            crate::outbox::panic_message(e.try_into_panic().ok())
        );
    }
}
