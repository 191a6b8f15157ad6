//! The worker's hold on outbox rows: claims that lease due rows, the settlement
//! of a leased row, and the release of rows claimed but not started. Every
//! write here is conditional on the lease, so two workers never hold one
//! row at once and one whose lease ran out never overwrites the next.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use diesel_async::{AsyncConnection, RunQueryDsl};

use super::outbox::OutboxRow;
use super::rows::{handled_request, new_rows};
use super::schema::outbox;
use super::{Pools, Repo, StorageError, insert_outbox_rows, with_conn};
use crate::domain::OutboxId;
use crate::messages::{OutboxStatus, Outgoing};

/// The two kinds of work the worker claims separately (each has its
/// partial index, migration 000006).
#[derive(Clone, Copy, Debug)]
pub enum Due {
    /// Emails and webhooks.
    Deliveries,
    ResetRequests,
}

/// The columns of `OutboxRow`, as the claims return them.
pub(crate) const RETURNING_ROW: &str = "RETURNING outbox.id, outbox.kind, outbox.payload, outbox.status, \
     outbox.attempts, outbox.next_attempt_at, outbox.locked_until, outbox.last_error, \
     outbox.provider_message_id, outbox.created_at, outbox.sent_at, outbox.give_up_at, outbox.request_id";

/// How a delivery attempt ended, as the worker records it.
#[derive(Debug)]
pub enum Settlement<'a> {
    Sent {
        provider_message_id: Option<&'a str>,
        /// What to keep of the payload (a sealed token is dropped once sent).
        payload: &'a str,
    },
    /// A reset request that has been turned into a token and an email (or,
    /// for an unknown account, into nothing).
    Done,
    Retry {
        at: NaiveDateTime,
        error: &'a str,
    },
    /// Kept whole (a sealed token stays encrypted and dies with the token),
    /// so `pwreset outbox retry` can send it later. `announce` (the
    /// `email.delivery.failed` events) is written in the same transaction.
    Dead {
        error: &'a str,
        announce: &'a [Outgoing],
    },
}

impl Repo {
    /// Leases up to `limit` due rows of one kind of work (oldest first) and
    /// counts the attempt, in one statement. On Postgres, `FOR UPDATE SKIP
    /// LOCKED` lets workers in many processes claim side by side without
    /// waiting on each other; SQLite has a single writer, so the statement
    /// alone is enough there. Reset requests leased this way are leased
    /// whatever their address (the worker's fallback when
    /// `claim_due_reset_requests` fails; tests).
    pub async fn claim_due_outbox_rows(
        &self,
        due: Due,
        now: NaiveDateTime,
        lease_until: NaiveDateTime,
        limit: i64,
    ) -> Result<Vec<OutboxRow>, StorageError> {
        let only = match due {
            Due::Deliveries => "AND kind <> 'reset_request'",
            Due::ResetRequests => "AND kind = 'reset_request'",
        };
        self.claim(now, lease_until, limit, only).await
    }

    async fn claim(
        &self,
        now: NaiveDateTime,
        lease_until: NaiveDateTime,
        limit: i64,
        only: &str,
    ) -> Result<Vec<OutboxRow>, StorageError> {
        use diesel::sql_types::{BigInt, Timestamp};
        let sql = format!(
            "UPDATE outbox SET locked_until = $1, attempts = attempts + 1 \
             WHERE id IN (SELECT id FROM outbox WHERE status = 'pending' \
               AND next_attempt_at <= $2 AND (locked_until IS NULL OR locked_until < $2) {only} \
               ORDER BY next_attempt_at LIMIT $3 {{lock}}) {RETURNING_ROW}"
        );
        let sql = match &self.pools {
            Pools::Postgres(_) => sql.replace("{lock}", "FOR UPDATE SKIP LOCKED"),
            Pools::Sqlite(_) => sql.replace('$', "?").replace("{lock}", ""),
        };
        let query = diesel::sql_query(sql)
            .bind::<Timestamp, _>(lease_until)
            .bind::<Timestamp, _>(now)
            .bind::<BigInt, _>(limit);
        self.load_claim(query).await
    }

    /// Runs a claim on either backend (on SQLite, in the process's turn to
    /// write: SQLite has one writer, so the statement alone is enough there,
    /// where Postgres needs `FOR UPDATE SKIP LOCKED`); the rows oldest first
    /// (`RETURNING` keeps no order).
    pub(crate) async fn load_claim<Q>(&self, query: Q) -> Result<Vec<OutboxRow>, StorageError>
    where
        Q: diesel::query_builder::QueryFragment<diesel::pg::Pg>
            + diesel::query_builder::QueryFragment<diesel::sqlite::Sqlite>
            + diesel::query_builder::QueryId
            + diesel::query_builder::Query<SqlType = diesel::sql_types::Untyped>
            + Send
            + 'static,
    {
        let mut rows: Vec<OutboxRow> = match &self.pools {
            Pools::Postgres(pool) => {
                let mut conn = pool.get().await?;
                query.load(&mut conn).await?
            }
            Pools::Sqlite(pool) => {
                let mut conn = pool.get().await?;
                let _turn = self.sqlite_write_turn().await;
                query.load(&mut conn).await?
            }
        };
        rows.sort_by_key(|r| r.next_attempt_at);
        Ok(rows)
    }

    /// Records the outcome of a claimed row and releases its lease, only if
    /// the lease is still ours (`lease`): a worker whose lease ran out must
    /// not overwrite what the next holder did. Returns whether it was ours.
    pub async fn settle_outbox_row(
        &self,
        id: &OutboxId,
        lease: NaiveDateTime,
        now: NaiveDateTime,
        settlement: Settlement<'_>,
    ) -> Result<bool, StorageError> {
        let target = outbox::table
            .filter(outbox::id.eq(id))
            .filter(outbox::locked_until.eq(lease));
        let mut _turn = None;
        let updated = with_conn!(self, |conn| {
            if matches!(self.pools, Pools::Sqlite(_)) {
                _turn = Some(self.sqlite_write_turn().await);
            }
            match settlement {
                Settlement::Sent {
                    provider_message_id,
                    payload,
                } => {
                    diesel::update(target)
                        .set((
                            outbox::status.eq(OutboxStatus::Sent),
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
                        .set(handled_request!(now))
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
                Settlement::Dead { error, announce } => {
                    let rows = new_rows(announce, now)?;
                    conn.transaction(async |conn| {
                        let dead = diesel::update(target)
                            .set((
                                outbox::status.eq(OutboxStatus::Dead),
                                outbox::last_error.eq(error),
                                outbox::locked_until.eq(None::<NaiveDateTime>),
                            ))
                            .execute(conn)
                            .await?;
                        if dead == 1 {
                            insert_outbox_rows!(conn, &rows);
                        }
                        Ok::<_, diesel::result::Error>(dead)
                    })
                    .await?
                }
            }
        });
        Ok(updated == 1)
    }

    /// Gives claimed rows that were never started back to the queue at once
    /// (graceful shutdown): the lease is cleared and the claim's attempt is
    /// not counted. Only rows whose lease is still `lease` are touched.
    pub async fn release_outbox_rows(
        &self,
        ids: &[OutboxId],
        lease: NaiveDateTime,
    ) -> Result<usize, StorageError> {
        if ids.is_empty() {
            return Ok(0);
        }
        Ok(with_conn!(self, |conn| {
            diesel::update(
                outbox::table
                    .filter(outbox::id.eq_any(ids))
                    .filter(outbox::status.eq(OutboxStatus::Pending))
                    .filter(outbox::locked_until.eq(lease)),
            )
            .set((
                outbox::locked_until.eq(None::<NaiveDateTime>),
                outbox::attempts.eq(outbox::attempts - 1),
            ))
            .execute(conn)
            .await?
        }))
    }
}
