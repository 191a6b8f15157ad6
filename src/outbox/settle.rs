//! A claimed row and its settlement: sent, done, or a failure through the
//! retry policy. Every settlement holds only while the row's lease is ours.

use chrono::NaiveDateTime;
use tokio::sync::watch;

use super::gate::{SendGate, Turn};
use super::policy::{self, Decision, Failure};
use super::{Outcome, StepError};
use crate::clock::Clock;
use crate::messages::Outgoing;
use crate::send_error::SendError;
use crate::storage::leases::Settlement;
use crate::storage::outbox::OutboxRow;
use crate::storage::{Repo, StorageError};

/// Settles rows: the repository, the clock and the attempts a row gets.
#[derive(Clone)]
pub struct Settler {
    repo: Repo,
    clock: Clock,
    max_attempts: u32,
}

/// A row a job works on, under the lease that ends at `lease`, until the
/// worker's `stop` (none when a test drives the worker by hand).
pub struct Claimed<'a> {
    pub row: &'a OutboxRow,
    pub lease: NaiveDateTime,
    settler: &'a Settler,
    stop: Option<watch::Receiver<bool>>,
}

impl Settler {
    pub fn new(repo: Repo, clock: Clock, max_attempts: u32) -> Self {
        Self {
            repo,
            clock,
            max_attempts,
        }
    }

    pub fn claimed<'a>(
        &'a self,
        row: &'a OutboxRow,
        lease: NaiveDateTime,
        stop: Option<watch::Receiver<bool>>,
    ) -> Claimed<'a> {
        Claimed {
            row,
            lease,
            settler: self,
            stop,
        }
    }

    /// Gives a claimed row that was never started back to the queue: no
    /// lease, no attempt counted.
    pub async fn release(&self, row: &OutboxRow, lease: NaiveDateTime) -> Result<(), StorageError> {
        self.repo
            .release_outbox_rows(std::slice::from_ref(&row.id), lease)
            .await?;
        Ok(())
    }

    /// Settles a failed row as the policy decides: retried at a time, or
    /// dead together with `when_given_up`'s messages.
    pub async fn settle_failure(
        &self,
        row: &OutboxRow,
        lease: NaiveDateTime,
        error: &StepError,
        when_given_up: impl FnOnce(&str) -> Vec<Outgoing>,
    ) -> Result<Outcome, StorageError> {
        let now = self.clock.now_naive();
        let reason = format!("{error:#}");
        let announce;
        let (settlement, outcome) =
            match policy::decide(row, &failure(error), now, self.max_attempts) {
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
                    announce = when_given_up(&reason);
                    (
                        Settlement::Dead {
                            error: &reason,
                            announce: &announce,
                        },
                        Outcome::Dead,
                    )
                }
            };
        let ours = self
            .repo
            .settle_outbox_row(&row.id, lease, now, settlement)
            .await?;
        Ok(outcome.unless_lease_lost(ours))
    }
}

/// How the retry policy reads a failure.
fn failure(error: &StepError) -> Failure {
    match error {
        StepError::Permanent(_) | StepError::Send(SendError::Permanent(_)) => Failure::Permanent,
        StepError::Send(SendError::Transient { retry_after, .. }) => Failure::Retryable {
            retry_after: *retry_after,
        },
        StepError::Storage(_) | StepError::Panicked(_) => Failure::Retryable { retry_after: None },
    }
}

impl Claimed<'_> {
    /// Marks a delivered row sent, keeping `payload`; returns what the log
    /// line should add when the lease had run out meanwhile.
    pub async fn record_sent(
        &self,
        provider_message_id: Option<&str>,
        payload: &str,
    ) -> Result<&'static str, StorageError> {
        let settled = self
            .settle(Settlement::Sent {
                provider_message_id,
                payload,
            })
            .await?;
        Ok(if settled { "" } else { "; lease had run out" })
    }

    /// Settles the row done with nothing sent: `Skipped`, unless the lease
    /// had run out.
    pub async fn record_skipped(&self) -> Result<Outcome, StorageError> {
        let ours = self.settle(Settlement::Done).await?;
        Ok(Outcome::Skipped.unless_lease_lost(ours))
    }

    async fn settle(&self, settlement: Settlement<'_>) -> Result<bool, StorageError> {
        let settler = self.settler;
        settler
            .repo
            .settle_outbox_row(
                &self.row.id,
                self.lease,
                settler.clock.now_naive(),
                settlement,
            )
            .await
    }

    /// Our batch may have waited: never send on a lease that has run out.
    pub fn lease_expired(&self) -> bool {
        self.settler.clock.now_naive() >= self.lease
    }

    /// This row's turn to send at `gate`, or what became of it instead: not
    /// started (the worker stopped while it waited), or its lease lost while
    /// it waited (its next holder may have it: it is not sent under this
    /// lease).
    pub async fn turn_at<'g>(&self, gate: &'g SendGate) -> Result<Turn<'g>, Outcome> {
        let turn = gate
            .turn(self.stop.clone())
            .await
            .ok_or(Outcome::NotStarted)?;
        if self.lease_expired() {
            return Err(Outcome::LeaseLost);
        }
        Ok(turn)
    }
}
