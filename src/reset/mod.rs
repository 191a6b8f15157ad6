//! The service's actions. A handler, a CLI command and the worker that do the
//! same thing call the same function here; each owns one storage unit of work
//! and enqueues typed outbox messages. Nothing here knows HTTP.
//!
//! - `request`: the worker turns a forgot-password request into a token
//!   and an email;
//! - `issue`: a service asks for a link, by email or for a support tool;
//! - `announce`: the notices and webhook events that follow a change;
//! - `record`: what became of an emailed reset, and the event when one dies;

pub(crate) mod announce;
mod issue;
mod record;
mod request;
mod vetting;

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::Notify;

pub use issue::{Delivery, IssuedLink, Target, UnusableLink};
pub use record::{DeliveryRecord, DeliveryState};
pub use request::Fulfilled;
pub use vetting::Vetting;

use crate::breach::BreachCheck;
use crate::clock::Clock;
use crate::config::Settings;
use crate::domain::{EntryProblem, PasswordPolicy, PasswordProblem};
use crate::hasher::{HashError, PasswordHasher};
use crate::limits::{LimitError, Limiter};
use crate::metrics::Metrics;
use crate::storage::{Repo, StorageError};
use crate::tokens::TokenCodec;

/// Why an action did not happen. The HTTP layer maps each to its answer;
/// the CLI prints it.
#[derive(Debug, thiserror::Error)]
pub enum ResetError {
    /// Expired, used, revoked, forged or malformed: the log has the reason.
    #[error("the reset link is invalid or has expired")]
    InvalidLink,
    /// The new password is missing or its confirmation differs.
    #[error("the password fields are not filled in right: {0:?}")]
    Entry(Vec<EntryProblem>),
    /// The new password breaks the policy; each problem can be worded in
    /// the reader's language.
    #[error("the password is refused: {0:?}")]
    WeakPassword(Vec<PasswordProblem>),
    #[error("rate limited for {retry_after:?}")]
    Limited { retry_after: Duration },
    #[error("every bcrypt slot is busy")]
    Busy,
    #[error("no such user")]
    UserNotFound,
    #[error("the user is disabled")]
    UserDisabled,
    #[error("another user has this id or email address")]
    Conflict,
    #[error(transparent)]
    Storage(#[from] StorageError),
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

impl From<LimitError> for ResetError {
    fn from(e: LimitError) -> Self {
        match e {
            LimitError::Limited { retry_after } => Self::Limited { retry_after },
            LimitError::Storage(e) => Self::Storage(e),
        }
    }
}

impl From<HashError> for ResetError {
    fn from(e: HashError) -> Self {
        match e {
            HashError::Busy => Self::Busy,
            other => Self::Internal(other.into()),
        }
    }
}

/// Everything the actions need; cheap to clone.
#[derive(Clone)]
pub struct Actions {
    pub(crate) repo: Repo,
    pub(crate) codec: TokenCodec,
    /// Checks and hashes new passwords (policy, breach check, bcrypt).
    pub(crate) vetting: Vetting,
    pub(crate) settings: Arc<Settings>,
    pub(crate) clock: Clock,
    pub(crate) limiter: Limiter,
    pub(crate) metrics: Arc<Metrics>,
    /// Wakes the in-process worker when something is ready to send.
    wake_worker: Arc<Notify>,
}

impl Actions {
    pub fn new(
        repo: Repo,
        codec: TokenCodec,
        settings: Arc<Settings>,
        clock: Clock,
        metrics: Arc<Metrics>,
        breach: Option<BreachCheck>,
    ) -> Self {
        let limiter = Limiter::new(
            repo.clone(),
            settings.rate_limits,
            clock.clone(),
            metrics.clone(),
        );
        let hasher = PasswordHasher::new(
            settings.bcrypt_cost,
            settings.bcrypt_max_concurrency,
            settings.bcrypt_queue_timeout,
            metrics.clone(),
        );
        let vetting = Vetting::new(
            PasswordPolicy {
                min_chars: settings.password_min_length,
            },
            breach,
            hasher,
            settings.app_name.clone(),
            metrics.clone(),
        );
        Self {
            repo,
            codec,
            vetting,
            settings,
            clock,
            limiter,
            metrics,
            wake_worker: Arc::new(Notify::new()),
        }
    }

    pub fn repo(&self) -> &Repo {
        &self.repo
    }

    pub fn settings(&self) -> &Settings {
        &self.settings
    }

    pub fn clock(&self) -> &Clock {
        &self.clock
    }

    pub fn metrics(&self) -> &Arc<Metrics> {
        &self.metrics
    }

    pub(crate) fn wake_worker(&self) {
        self.wake_worker.notify_one();
    }

    /// What the in-process worker waits on besides its poll interval.
    pub fn worker_wake(&self) -> Arc<Notify> {
        self.wake_worker.clone()
    }
}
