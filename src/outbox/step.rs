//! One claimed row, from its payload to its settlement: the job a kind of
//! row runs (`OutboxJob`), what can go wrong (`StepError`), a panic kept to
//! its row, and the settlement of failures through the retry policy.

use chrono::NaiveDateTime;

use super::policy::{self, Decision, Failure};
use super::{OutboxWorker, Outcome};
use crate::messages::OutboxPayload;
use crate::send_error::SendError;
use crate::storage::StorageError;
use crate::storage::leases::Settlement;
use crate::storage::outbox::OutboxRow;

/// One kind of outbox row: the payload it carries (which names its `kind`,
/// the column and the metrics' label) and what the worker does with a
/// claimed row of it. A new kind is a file with its payload's job, and one
/// line in `OutboxWorker::process`.
pub(super) trait OutboxJob {
    type Payload: OutboxPayload + Send + Sync;

    /// Carries out one claimed row (still under `lease`). The worker settles
    /// failures; a job settles its own successes.
    async fn run(
        worker: &OutboxWorker,
        row: &OutboxRow,
        lease: NaiveDateTime,
        payload: Self::Payload,
    ) -> Result<Outcome, StepError>;
}

/// Why processing a row failed.
#[derive(Debug, thiserror::Error)]
pub(super) enum StepError {
    /// Worth retrying: a database hiccup.
    #[error(transparent)]
    Storage(#[from] StorageError),
    /// Worth retrying or not, as the other side's answer says.
    #[error(transparent)]
    Send(#[from] SendError),
    /// Never worth retrying.
    #[error(transparent)]
    Permanent(anyhow::Error),
    /// The processing panicked: a bug, but maybe one that depends on the
    /// moment (retried within the row's attempts).
    #[error("{0}")]
    Panicked(String),
}

impl StepError {
    pub(super) fn permanent(e: impl Into<anyhow::Error>) -> Self {
        Self::Permanent(e.into())
    }

    fn failure(&self) -> Failure {
        match self {
            Self::Permanent(_) | Self::Send(SendError::Permanent(_)) => Failure::Permanent,
            Self::Send(SendError::Transient { retry_after, .. }) => Failure::Retryable {
                retry_after: *retry_after,
            },
            Self::Storage(_) | Self::Panicked(_) => Failure::Retryable { retry_after: None },
        }
    }
}

/// What a panic carried, as text.
pub(super) fn panic_message(panic: Option<Box<dyn std::any::Any + Send>>) -> String {
    let Some(panic) = panic else {
        return "cancelled".to_owned();
    };
    match panic.downcast::<String>() {
        Ok(text) => format!("panicked: {text}"),
        Err(panic) => match panic.downcast::<&'static str>() {
            Ok(text) => format!("panicked: {text}"),
            Err(_) => "panicked".to_owned(),
        },
    }
}

impl OutboxWorker {
    /// Reads the row's payload as the job's, and runs the job on it.
    pub(super) async fn run_job<J: OutboxJob>(
        &self,
        row: &OutboxRow,
        lease: NaiveDateTime,
    ) -> Result<Outcome, StepError> {
        debug_assert_eq!(row.kind, J::Payload::KIND);
        let payload: J::Payload = serde_json::from_str(&row.payload).map_err(|e| {
            StepError::Permanent(anyhow::Error::new(e).context(format!("bad {} payload", row.kind)))
        })?;
        J::run(self, row, lease, payload).await
    }

    pub(super) async fn settle_failure(
        &self,
        row: &OutboxRow,
        lease: NaiveDateTime,
        error: &StepError,
    ) -> Result<Outcome, StorageError> {
        let now = self.actions.clock().now_naive();
        let reason = format!("{error:#}");
        let max_attempts = self.actions.settings().mail.max_attempts;
        let announce;
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
                announce = self.actions.when_given_up(row, &reason);
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
            .actions
            .repo()
            .settle_outbox_row(&row.id, lease, now, settlement)
            .await?;
        Ok(outcome.unless_lease_lost(ours))
    }

    /// Marks a delivered row sent, keeping `payload`; returns what the log
    /// line should add when the lease had run out meanwhile.
    pub(super) async fn record_sent(
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
    pub(super) fn lease_expired(&self, lease: NaiveDateTime) -> bool {
        self.actions.clock().now_naive() >= lease
    }
}
