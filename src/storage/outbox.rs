//! Queries on `outbox`: the durable queue of everything that leaves the
//! service. Rows are claimed with a lease (`locked_until`) through a
//! conditional update, so two workers never hold one row at once.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use diesel_async::{AsyncConnection, RunQueryDsl};

use super::schema::{outbox, password_reset_tokens};
use super::tokens::NewToken;
use super::{Repo, StorageError, with_conn};

pub const STATUS_PENDING: &str = "pending";
pub const STATUS_SENT: &str = "sent";
pub const STATUS_DONE: &str = "done";
pub const STATUS_DEAD: &str = "dead";

#[derive(Queryable, Selectable, Clone, Debug)]
#[diesel(table_name = outbox)]
pub struct OutboxRow {
    pub id: String,
    pub kind: String,
    pub payload: String,
    pub status: String,
    pub attempts: i32,
    pub next_attempt_at: NaiveDateTime,
    pub locked_until: Option<NaiveDateTime>,
    pub last_error: Option<String>,
    pub provider_message_id: Option<String>,
    pub created_at: NaiveDateTime,
    pub sent_at: Option<NaiveDateTime>,
    pub give_up_at: Option<NaiveDateTime>,
}

#[derive(Insertable, Clone, Debug)]
#[diesel(table_name = outbox)]
pub struct NewOutboxRow {
    pub id: String,
    pub kind: String,
    pub payload: String,
    pub status: String,
    pub attempts: i32,
    pub next_attempt_at: NaiveDateTime,
    pub created_at: NaiveDateTime,
    pub give_up_at: Option<NaiveDateTime>,
}

impl NewOutboxRow {
    pub fn pending(
        kind: &str,
        payload: String,
        now: NaiveDateTime,
        give_up_at: Option<NaiveDateTime>,
    ) -> Self {
        Self {
            id: uuid::Uuid::new_v4().to_string(),
            kind: kind.to_owned(),
            payload,
            status: STATUS_PENDING.to_owned(),
            attempts: 0,
            next_attempt_at: now,
            created_at: now,
            give_up_at,
        }
    }
}

/// How a delivery attempt ended, as the worker records it.
pub enum Settlement<'a> {
    Sent {
        provider_message_id: Option<&'a str>,
        payload: &'a str,
    },
    /// A reset request that has been turned into a token and an email (or,
    /// for an unknown account, into nothing).
    Done,
    Retry {
        at: NaiveDateTime,
        error: &'a str,
    },
    Dead {
        error: &'a str,
        payload: &'a str,
    },
}

impl Repo {
    pub async fn enqueue(&self, row: &NewOutboxRow) -> Result<(), StorageError> {
        with_conn!(self, |conn| {
            diesel::insert_into(outbox::table)
                .values(row)
                .execute(conn)
                .await?
        });
        Ok(())
    }

    /// Ids of rows that are due and not leased by a live worker, oldest first.
    pub async fn due_outbox_ids(
        &self,
        now: NaiveDateTime,
        limit: i64,
    ) -> Result<Vec<String>, StorageError> {
        Ok(with_conn!(self, |conn| {
            outbox::table
                .filter(outbox::status.eq(STATUS_PENDING))
                .filter(outbox::next_attempt_at.le(now))
                .filter(
                    outbox::locked_until
                        .is_null()
                        .or(outbox::locked_until.lt(now)),
                )
                .order(outbox::next_attempt_at.asc())
                .select(outbox::id)
                .limit(limit)
                .load(conn)
                .await?
        }))
    }

    /// Takes the lease on one row and counts the attempt. Returns None when
    /// another worker got there first.
    pub async fn claim_outbox_row(
        &self,
        id: &str,
        now: NaiveDateTime,
        lease_until: NaiveDateTime,
    ) -> Result<Option<OutboxRow>, StorageError> {
        Ok(with_conn!(self, |conn| {
            let claimed = diesel::update(
                outbox::table
                    .filter(outbox::id.eq(id))
                    .filter(outbox::status.eq(STATUS_PENDING))
                    .filter(outbox::next_attempt_at.le(now))
                    .filter(
                        outbox::locked_until
                            .is_null()
                            .or(outbox::locked_until.lt(now)),
                    ),
            )
            .set((
                outbox::locked_until.eq(lease_until),
                outbox::attempts.eq(outbox::attempts + 1),
            ))
            .execute(conn)
            .await?;
            if claimed == 1 {
                outbox::table
                    .find(id)
                    .select(OutboxRow::as_select())
                    .first(conn)
                    .await
                    .optional()?
            } else {
                None
            }
        }))
    }

    /// Records the outcome of a claimed row and releases its lease.
    pub async fn settle_outbox_row(
        &self,
        id: &str,
        now: NaiveDateTime,
        settlement: Settlement<'_>,
    ) -> Result<(), StorageError> {
        let target = outbox::table.filter(outbox::id.eq(id));
        with_conn!(self, |conn| {
            match settlement {
                Settlement::Sent {
                    provider_message_id,
                    payload,
                } => {
                    diesel::update(target)
                        .set((
                            outbox::status.eq(STATUS_SENT),
                            outbox::sent_at.eq(now),
                            outbox::provider_message_id.eq(provider_message_id),
                            outbox::payload.eq(payload),
                            outbox::locked_until.eq(None::<NaiveDateTime>),
                            outbox::last_error.eq(None::<String>),
                        ))
                        .execute(conn)
                        .await?
                }
                Settlement::Done => {
                    diesel::update(target)
                        .set((
                            outbox::status.eq(STATUS_DONE),
                            outbox::sent_at.eq(now),
                            outbox::locked_until.eq(None::<NaiveDateTime>),
                        ))
                        .execute(conn)
                        .await?
                }
                Settlement::Retry { at, error } => {
                    diesel::update(target)
                        .set((
                            outbox::next_attempt_at.eq(at),
                            outbox::last_error.eq(error),
                            outbox::locked_until.eq(None::<NaiveDateTime>),
                        ))
                        .execute(conn)
                        .await?
                }
                Settlement::Dead { error, payload } => {
                    diesel::update(target)
                        .set((
                            outbox::status.eq(STATUS_DEAD),
                            outbox::last_error.eq(error),
                            outbox::payload.eq(payload),
                            outbox::locked_until.eq(None::<NaiveDateTime>),
                        ))
                        .execute(conn)
                        .await?
                }
            }
        });
        Ok(())
    }

    /// Turns a claimed reset request into a token and its email, atomically:
    /// a crash leaves either the pending request or both new rows, never one.
    pub async fn fulfil_reset_request(
        &self,
        request_id: &str,
        now: NaiveDateTime,
        token: &NewToken<'_>,
        email: &NewOutboxRow,
    ) -> Result<bool, StorageError> {
        Ok(with_conn!(self, |conn| {
            conn.transaction(async |conn| {
                let done = diesel::update(
                    outbox::table
                        .filter(outbox::id.eq(request_id))
                        .filter(outbox::status.eq(STATUS_PENDING)),
                )
                .set((
                    outbox::status.eq(STATUS_DONE),
                    outbox::sent_at.eq(now),
                    outbox::locked_until.eq(None::<NaiveDateTime>),
                ))
                .execute(conn)
                .await?;
                if done != 1 {
                    return Ok(false);
                }
                diesel::insert_into(password_reset_tokens::table)
                    .values(token)
                    .execute(conn)
                    .await?;
                diesel::insert_into(outbox::table)
                    .values(email)
                    .execute(conn)
                    .await?;
                Ok::<_, diesel::result::Error>(true)
            })
            .await?
        }))
    }

    pub async fn outbox_row(&self, id: &str) -> Result<Option<OutboxRow>, StorageError> {
        Ok(with_conn!(self, |conn| {
            outbox::table
                .find(id)
                .select(OutboxRow::as_select())
                .first(conn)
                .await
                .optional()?
        }))
    }

    /// Every row, newest first (operators' listing; tests).
    pub async fn list_outbox(&self, limit: i64) -> Result<Vec<OutboxRow>, StorageError> {
        Ok(with_conn!(self, |conn| {
            outbox::table
                .order(outbox::created_at.desc())
                .select(OutboxRow::as_select())
                .limit(limit)
                .load(conn)
                .await?
        }))
    }
}
