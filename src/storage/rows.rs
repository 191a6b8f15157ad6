//! Outbox rows as they are first written: built from typed messages (the
//! kind and status derived here, the payload serialized before any
//! transaction starts), and what a handled reset request keeps. Every
//! writer of outbox rows (the flows' transactions, group commit) builds
//! them here.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::StorageError;
use super::schema::outbox;
use crate::domain::OutboxId;
use crate::messages::{OutboxKind, OutboxStatus, Outgoing};

/// A row as first written: pending, due now.
#[derive(Insertable, Clone, Debug)]
#[diesel(table_name = outbox)]
pub(crate) struct NewOutboxRow {
    pub(crate) id: OutboxId,
    pub(crate) kind: OutboxKind,
    pub(crate) payload: String,
    status: OutboxStatus,
    attempts: i32,
    next_attempt_at: NaiveDateTime,
    pub(crate) created_at: NaiveDateTime,
    pub(crate) give_up_at: Option<NaiveDateTime>,
    /// The request that queued it, for the worker's lines about it.
    pub(crate) request_id: Option<String>,
}

/// The rows for these messages, serialized before any transaction starts.
pub(crate) fn new_rows(
    messages: &[Outgoing],
    now: NaiveDateTime,
) -> Result<Vec<NewOutboxRow>, StorageError> {
    messages.iter().map(|out| new_row(out, now)).collect()
}

/// The row for one message: pending, due now.
pub(crate) fn new_row(out: &Outgoing, now: NaiveDateTime) -> Result<NewOutboxRow, StorageError> {
    Ok(NewOutboxRow {
        id: out.id.clone(),
        kind: out.message.kind(),
        payload: out.message.to_json().map_err(StorageError::Payload)?,
        status: OutboxStatus::Pending,
        attempts: 0,
        next_attempt_at: now,
        created_at: now,
        give_up_at: out.give_up_at,
        request_id: out.request_id.as_ref().map(|id| id.as_str().to_owned()),
    })
}

/// What a handled reset request keeps: nothing. The address someone typed
/// (and their IP) leave the database as soon as the request is handled.
pub(crate) const HANDLED_PAYLOAD: &str = "{}";

/// The changes that settle a handled reset request at `now`: done, its
/// payload forgotten, its lease released (in the fulfil transaction;
/// `claim_due_reset_requests` writes the same in its SQL).
macro_rules! handled_request {
    ($now:expr) => {
        (
            $crate::storage::schema::outbox::status.eq($crate::messages::OutboxStatus::Done),
            $crate::storage::schema::outbox::sent_at.eq($now),
            $crate::storage::schema::outbox::payload.eq($crate::storage::rows::HANDLED_PAYLOAD),
            $crate::storage::schema::outbox::locked_until.eq(None::<chrono::NaiveDateTime>),
        )
    };
}
pub(crate) use handled_request;
