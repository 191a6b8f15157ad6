//! Queries on `outbox`, the durable queue of everything that leaves the
//! service, outside the worker's leases (`leases.rs`): the fulfilment of a
//! reset request, reading rows back, retrying a dead one, counts and
//! listing.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use diesel_async::{AsyncConnection, RunQueryDsl};

use super::rows::{handled_request, new_rows};
use super::schema::{outbox, password_reset_tokens, users};
use super::tokens::NewToken;
use super::{Repo, StorageError, insert_outbox_rows, with_conn};
use crate::domain::{AccountEmailLimit, OutboxId};
use crate::messages::{OutboxKind, OutboxStatus, Outgoing};

#[derive(Queryable, QueryableByName, Selectable, Clone, Debug)]
#[diesel(table_name = outbox)]
pub struct OutboxRow {
    pub id: OutboxId,
    pub kind: OutboxKind,
    pub payload: String,
    pub status: OutboxStatus,
    pub attempts: i32,
    pub next_attempt_at: NaiveDateTime,
    pub locked_until: Option<NaiveDateTime>,
    pub last_error: Option<String>,
    pub provider_message_id: Option<String>,
    pub created_at: NaiveDateTime,
    pub sent_at: Option<NaiveDateTime>,
    pub give_up_at: Option<NaiveDateTime>,
}

/// What became of a reset request.
#[derive(Debug, PartialEq, Eq)]
pub enum Fulfilment {
    Issued,
    /// The account had its reset emails for the window; nothing was created.
    AccountLimitReached,
    /// Under the lock, the account no longer has the address the request
    /// named (or was disabled or deleted): nothing was created.
    AccountChanged,
    LeaseLost,
}

impl Repo {
    /// Turns a claimed reset request into a token and its messages,
    /// atomically: a crash leaves either the pending request or all new rows,
    /// never a part. The user's row is locked first (the lock an email or
    /// password change takes too) and read again: unless it still has
    /// `email` and is enabled, nothing is created. With `limit`, a user who
    /// already got that many tokens since the given time gets none.
    #[allow(clippy::too_many_arguments)]
    pub async fn fulfil_reset_request(
        &self,
        request_id: &OutboxId,
        lease: NaiveDateTime,
        now: NaiveDateTime,
        email: &str,
        token: &NewToken<'_>,
        messages: &[Outgoing],
        limit: Option<AccountEmailLimit>,
    ) -> Result<Fulfilment, StorageError> {
        let rows = new_rows(messages, now)?;
        Ok(with_conn!(self, |conn| {
            conn.transaction(async |conn| {
                let done = diesel::update(
                    outbox::table
                        .filter(outbox::id.eq(request_id))
                        .filter(outbox::status.eq(OutboxStatus::Pending))
                        .filter(outbox::locked_until.eq(lease)),
                )
                .set(handled_request!(now))
                .execute(conn)
                .await?;
                if done != 1 {
                    return Ok(Fulfilment::LeaseLost);
                }
                // A no-op write: takes the user's row lock on both backends.
                diesel::update(users::table.find(token.user_id))
                    .set(users::id.eq(users::id))
                    .execute(conn)
                    .await?;
                let current: Option<(String, bool)> = users::table
                    .find(token.user_id)
                    .select((users::email, users::disabled))
                    .first(conn)
                    .await
                    .optional()?;
                if current.is_none_or(|(now_email, disabled)| now_email != email || disabled) {
                    return Ok(Fulfilment::AccountChanged);
                }
                if let Some(limit) = limit {
                    let recent: Vec<Option<String>> = password_reset_tokens::table
                        .filter(password_reset_tokens::user_id.eq(token.user_id))
                        .filter(password_reset_tokens::created_at.gt(limit.since))
                        .select(password_reset_tokens::requested_ip)
                        .load(conn)
                        .await?;
                    if !limit.allows(token.requested_ip, &recent) {
                        return Ok(Fulfilment::AccountLimitReached);
                    }
                }
                diesel::insert_into(password_reset_tokens::table)
                    .values(token)
                    .execute(conn)
                    .await?;
                insert_outbox_rows!(conn, &rows);
                Ok::<_, diesel::result::Error>(Fulfilment::Issued)
            })
            .await?
        }))
    }

    pub async fn outbox_row(&self, id: &OutboxId) -> Result<Option<OutboxRow>, StorageError> {
        Ok(with_conn!(self, |conn| {
            outbox::table
                .find(id)
                .select(OutboxRow::as_select())
                .first(conn)
                .await
                .optional()?
        }))
    }

    /// Puts a dead row back in the queue with a fresh attempt count.
    /// Returns false when there is no dead row with this id.
    pub async fn retry_dead_outbox_row(
        &self,
        id: &OutboxId,
        now: NaiveDateTime,
    ) -> Result<bool, StorageError> {
        let updated = with_conn!(self, |conn| {
            diesel::update(
                outbox::table
                    .filter(outbox::id.eq(id))
                    .filter(outbox::status.eq(OutboxStatus::Dead)),
            )
            .set((
                outbox::status.eq(OutboxStatus::Pending),
                outbox::attempts.eq(0),
                outbox::next_attempt_at.eq(now),
                outbox::locked_until.eq(None::<NaiveDateTime>),
            ))
            .execute(conn)
            .await?
        });
        Ok(updated == 1)
    }

    /// Rows by kind and status, and when the oldest due pending row became
    /// due (for the metrics, read at scrape time).
    pub async fn outbox_stats(
        &self,
        now: NaiveDateTime,
    ) -> Result<(Vec<(OutboxKind, OutboxStatus, i64)>, Option<NaiveDateTime>), StorageError> {
        Ok(with_conn!(self, |conn| {
            let counts = outbox::table
                .group_by((outbox::kind, outbox::status))
                .select((outbox::kind, outbox::status, diesel::dsl::count_star()))
                .load::<(OutboxKind, OutboxStatus, i64)>(conn)
                .await?;
            let oldest_due = outbox::table
                .filter(outbox::status.eq(OutboxStatus::Pending))
                .filter(outbox::next_attempt_at.le(now))
                .select(diesel::dsl::min(outbox::next_attempt_at))
                .first::<Option<NaiveDateTime>>(conn)
                .await?;
            (counts, oldest_due)
        }))
    }

    /// Rows newest first, optionally only those with `status` (operators'
    /// listing; tests).
    pub async fn list_outbox(
        &self,
        status: Option<OutboxStatus>,
        limit: i64,
    ) -> Result<Vec<OutboxRow>, StorageError> {
        Ok(with_conn!(self, |conn| {
            let mut query = outbox::table
                .order(outbox::created_at.desc())
                .select(OutboxRow::as_select())
                .limit(limit)
                .into_boxed();
            if let Some(status) = status {
                query = query.filter(outbox::status.eq(status));
            }
            query.load(conn).await?
        }))
    }
}
