//! The service's actions. A handler, a CLI command and the worker that do the
//! same thing call the same function here; each owns one storage unit of work
//! and enqueues typed outbox messages. Nothing here knows HTTP.
//!
//! - `request`: the worker turns a forgot-password request into a token
//!   and an email;
//! - `issue`: a service asks for a link, by email or for a support tool;
//! - `check`: is a link usable;
//! - `complete`: set the new password through a link, or as an operator;
//! - `provision`: create, update, disable and delete users, revoke links;
//! - `announce`: the notices and webhook events that follow a change;
//! - `record`: what became of an emailed reset, and the event when one dies;

mod announce;
mod check;
mod complete;
mod issue;
mod provision;
mod record;
mod request;

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::Notify;

pub use check::LiveLink;
pub use issue::{Delivery, IssuedLink, Target, UnusableLink};
pub use provision::{NewUserRequest, Provisioned};
pub use record::{DeliveryRecord, DeliveryState};
pub use request::Fulfilled;

use crate::breach::{BreachCheck, BreachVerdict};
use crate::clock::Clock;
use crate::config::Settings;
use crate::domain::{EmailAddress, EntryProblem, NewPassword, PasswordPolicy, PasswordProblem};
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
    hasher: PasswordHasher,
    policy: PasswordPolicy,
    pub(crate) settings: Arc<Settings>,
    pub(crate) clock: Clock,
    pub(crate) limiter: Limiter,
    pub(crate) metrics: Arc<Metrics>,
    /// The breached-password check, when `PWNED_PASSWORDS_URL` is set.
    breach: Option<BreachCheck>,
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
        Self {
            policy: PasswordPolicy {
                min_chars: settings.password_min_length,
            },
            repo,
            codec,
            hasher,
            settings,
            clock,
            limiter,
            metrics,
            breach,
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

    /// The policy, with the account's email and the product's name as words
    /// a guessable password would be built from.
    fn check_password(&self, raw: &str, email: &str) -> Result<NewPassword, ResetError> {
        let mut user_inputs = vec![self.settings.app_name.as_str()];
        let email = EmailAddress::parse(email).ok();
        if let Some(email) = &email {
            user_inputs.extend(email.guessable_parts());
        }
        self.policy
            .check(raw, &user_inputs)
            .map_err(ResetError::WeakPassword)
    }

    /// The policy, then (when configured) the breached-password check. An
    /// unreachable breach API lets the password through: logged and counted.
    async fn vet_password(&self, raw: &str, email: &str) -> Result<NewPassword, ResetError> {
        let password = self.check_password(raw, email)?;
        let Some(breach) = &self.breach else {
            return Ok(password);
        };
        match breach.check(&password).await {
            Ok(BreachVerdict::Clean) => {
                self.metrics.breach_check("clean");
                Ok(password)
            }
            Ok(BreachVerdict::Breached(_)) => {
                self.metrics.breach_check("breached");
                Err(ResetError::WeakPassword(vec![PasswordProblem::Breached]))
            }
            Err(e) => {
                self.metrics.breach_check("failed_open");
                log::warn!("breached-password check skipped (failing open): {e}");
                Ok(password)
            }
        }
    }

    async fn hash(&self, password: &NewPassword) -> Result<String, ResetError> {
        Ok(self.hasher.hash(password).await?)
    }

    fn wake_worker(&self) {
        self.wake_worker.notify_one();
    }

    /// What the in-process worker waits on besides its poll interval.
    pub fn worker_wake(&self) -> Arc<Notify> {
        self.wake_worker.clone()
    }
}
