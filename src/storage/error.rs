//! Why a storage call failed, and which failures mean "the database cannot
//! be reached for now" (a 503 to retry) rather than a bug.

use diesel_async::pooled_connection::deadpool::PoolError;

use std::sync::Arc;

use super::tls;

#[derive(Debug, thiserror::Error)]
pub enum StorageError {
    #[error("database pool: {0}")]
    Pool(#[from] deadpool::managed::BuildError),
    #[error("database connection pool: {0}")]
    Checkout(#[from] PoolError),
    #[error("database TLS setup: {0}")]
    Tls(#[from] tls::TlsError),
    #[error("database query: {0}")]
    Query(#[from] diesel::result::Error),
    #[error("database connection: {0}")]
    Connection(#[from] diesel::ConnectionError),
    #[error("migrations: {0}")]
    Migration(#[source] Box<dyn std::error::Error + Send + Sync>),
    #[error("cannot serialize an outbox payload: {0}")]
    Payload(#[source] serde_json::Error),
    #[error("cannot create the SQLite file: {0}")]
    File(#[source] std::io::Error),
    #[error(transparent)]
    Batch(#[from] BatchFailed),
    #[error("the forgot-password writer has stopped")]
    WriterStopped,
    /// The batch statement answered rows that do not fit the batch it was
    /// given (a bug in the statement): the whole batch fails.
    #[error("the forgot-password batch's answer does not match the batch: {0}")]
    BatchAnswer(&'static str),
}

/// A statement refused because a row with the same key or unique value
/// exists (a conflict to report, not a failure).
pub(crate) fn is_unique_violation(e: &diesel::result::Error) -> bool {
    matches!(
        e,
        diesel::result::Error::DatabaseError(diesel::result::DatabaseErrorKind::UniqueViolation, _)
    )
}

impl StorageError {
    /// The database cannot be reached (down, restarting, connection cut), as
    /// opposed to a query it refused: the first is retried later, the second
    /// is a bug.
    pub fn is_unavailable(&self) -> bool {
        use diesel::result::{DatabaseErrorKind, Error};
        match self {
            // A failed batch fails every request in it alike, whatever the
            // cause (logged once by the writer): each may simply try again.
            Self::Checkout(_)
            | Self::Connection(_)
            | Self::Pool(_)
            | Self::Batch(_)
            | Self::WriterStopped => true,
            Self::Query(Error::DatabaseError(
                DatabaseErrorKind::UnableToSendCommand
                | DatabaseErrorKind::ClosedConnection
                | DatabaseErrorKind::ReadOnlyTransaction,
                _,
            )) => true,
            // Postgres's class 57 (operator intervention: shutdown, restart,
            // database dropped), a full disk (53100) or a read-only database
            // (25006), and SQLite's full or read-only file, reach diesel as
            // "Unknown" with these texts: all pass once an operator acts.
            Self::Query(Error::DatabaseError(DatabaseErrorKind::Unknown, info)) => {
                let message = info.message();
                UNAVAILABLE_MESSAGES.iter().any(|m| message.contains(m))
            }
            _ => false,
        }
    }
}

/// What the database says when it cannot take writes for now (see
/// `StorageError::is_unavailable`).
const UNAVAILABLE_MESSAGES: [&str; 7] = [
    "terminating connection",
    "read-only transaction",
    "could not extend file",
    "No space left on device",
    "database or disk is full",
    "attempt to write a readonly database",
    "disk I/O error",
];

/// A batch that could not be committed: every request in it gets this.
#[derive(Debug, Clone, thiserror::Error)]
#[error("the batch this request joined was not committed: {0}")]
pub struct BatchFailed(pub(crate) Arc<StorageError>);
