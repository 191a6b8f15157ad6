//! Why a flow's action did not happen: one error type for every flow, so a
//! handler, a CLI command and the worker read a refusal the same way. The
//! HTTP layer maps each to its answer (`error::ApiError`); the CLI prints it.

use std::time::Duration;

use crate::domain::{EntryProblem, PasswordProblem};
use crate::hasher::HashError;
use crate::limits::LimitError;
use crate::storage::StorageError;

/// Why an action did not happen.
#[derive(Debug, thiserror::Error)]
pub enum FlowError {
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
    /// A password check that did not match a live account with a password:
    /// one answer for every reason.
    #[error("invalid credentials")]
    InvalidCredentials,
    #[error("no such user")]
    UserNotFound,
    #[error("the user is disabled")]
    UserDisabled,
    /// The application that holds the passwords did not take the change
    /// (`PASSWORD_HANDOFF_URL`): nothing changed, the link still works.
    #[error("the application did not accept the password change")]
    HandoffFailed,
    /// Another use of this link is being handed to the application now.
    #[error("the link is being used by another request")]
    LinkInUse,
    /// A password hash was given, and this pwreset keeps none
    /// (`PASSWORD_HANDOFF_URL` is set).
    #[error("this pwreset keeps no password hashes")]
    KeepsNoHashes,
    #[error("another user has this id or email address")]
    Conflict,
    #[error(transparent)]
    Storage(#[from] StorageError),
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

impl From<LimitError> for FlowError {
    fn from(e: LimitError) -> Self {
        match e {
            LimitError::Limited { retry_after } => Self::Limited { retry_after },
            LimitError::Storage(e) => Self::Storage(e),
        }
    }
}

impl From<HashError> for FlowError {
    fn from(e: HashError) -> Self {
        match e {
            HashError::Busy => Self::Busy,
            other => Self::Internal(other.into()),
        }
    }
}
