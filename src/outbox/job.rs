//! One kind of outbox row: the job it runs, what can go wrong, and what
//! became of the row.

use super::Claimed;
use crate::messages::{OutboxPayload, Outgoing};
use crate::metrics::DeliveryOutcome;
use crate::send_error::SendError;
use crate::storage::StorageError;
use crate::storage::outbox::OutboxRow;

/// One kind of outbox row: the payload it carries (which names its `kind`,
/// the column and the metrics' label) and what the worker does with a
/// claimed row of it. A new kind is a file with its payload's job, and one
/// line in the worker's registration (`worker::Jobs`).
pub trait OutboxJob: Sync {
    type Payload: OutboxPayload + Send + Sync;

    /// Carries out one claimed row (still under its lease). The worker
    /// settles failures; a job settles its own successes.
    fn run(
        &self,
        claimed: &Claimed<'_>,
        payload: Self::Payload,
    ) -> impl Future<Output = Result<Outcome, StepError>> + Send;

    /// What goes out, in the same write, with a row the worker gives up on
    /// (the payload may be unreadable: this reads the row itself). Nothing,
    /// unless the kind says otherwise.
    fn when_given_up(&self, _row: &OutboxRow, _reason: &str) -> Vec<Outgoing> {
        Vec::new()
    }
}

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
    /// The worker stopped while the row waited for its turn to send: it goes
    /// back to the queue as it was.
    NotStarted,
}

impl Outcome {
    /// This outcome if the settlement found the row still under our lease
    /// (`ours`); otherwise the row is its next holder's to decide.
    pub fn unless_lease_lost(self, ours: bool) -> Self {
        if ours { self } else { Self::LeaseLost }
    }

    /// How the outcome is counted; a row not started is not counted.
    pub fn metric(&self) -> Option<DeliveryOutcome> {
        match self {
            Self::Sent => Some(DeliveryOutcome::Sent),
            Self::Retrying => Some(DeliveryOutcome::Retry),
            Self::Dead => Some(DeliveryOutcome::Dead),
            Self::Skipped | Self::LeaseLost => Some(DeliveryOutcome::Skipped),
            Self::NotStarted => None,
        }
    }
}

/// Why processing a row failed.
#[derive(Debug, thiserror::Error)]
pub enum StepError {
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
    pub fn permanent(e: impl Into<anyhow::Error>) -> Self {
        Self::Permanent(e.into())
    }
}

/// What a panic carried, as text.
pub fn panic_message(panic: Option<Box<dyn std::any::Any + Send>>) -> String {
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
