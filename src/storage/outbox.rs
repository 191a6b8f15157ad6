//! Queries on `outbox`: the durable queue of everything that leaves the
//! service. Rows are written from typed messages (kind and status derived
//! here) and claimed with a lease (`locked_until`) through a conditional
//! update, so two workers never hold one row at once.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use diesel_async::{AsyncConnection, RunQueryDsl};

use super::schema::{outbox, password_reset_tokens, users};
use super::tokens::NewToken;
use super::{Pools, Repo, StorageError, insert_outbox_rows, with_conn};
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

/// A row as first written: pending, due now.
#[derive(Insertable, Clone, Debug)]
#[diesel(table_name = outbox)]
pub(super) struct NewOutboxRow {
    pub(super) id: OutboxId,
    pub(super) kind: OutboxKind,
    pub(super) payload: String,
    status: OutboxStatus,
    attempts: i32,
    next_attempt_at: NaiveDateTime,
    pub(super) created_at: NaiveDateTime,
    pub(super) give_up_at: Option<NaiveDateTime>,
}

/// The rows for these messages, serialized before any transaction starts.
pub(super) fn new_rows(
    messages: &[Outgoing],
    now: NaiveDateTime,
) -> Result<Vec<NewOutboxRow>, StorageError> {
    messages.iter().map(|out| new_row(out, now)).collect()
}

/// The row for one message: pending, due now.
pub(super) fn new_row(out: &Outgoing, now: NaiveDateTime) -> Result<NewOutboxRow, StorageError> {
    Ok(NewOutboxRow {
        id: out.id.clone(),
        kind: out.message.kind(),
        payload: out.message.to_json().map_err(StorageError::Payload)?,
        status: OutboxStatus::Pending,
        attempts: 0,
        next_attempt_at: now,
        created_at: now,
        give_up_at: out.give_up_at,
    })
}

/// What a handled reset request keeps: nothing. The address someone typed
/// (and their IP) leave the database as soon as the request is handled.
const HANDLED_PAYLOAD: &str = "{}";

/// The changes that settle a handled reset request at `now`: done, its
/// payload forgotten, its lease released (in the fulfil transaction;
/// `claim_due_reset_requests` writes the same in its SQL).
macro_rules! handled_request {
    ($now:expr) => {
        (
            outbox::status.eq(OutboxStatus::Done),
            outbox::sent_at.eq($now),
            outbox::payload.eq(HANDLED_PAYLOAD),
            outbox::locked_until.eq(None::<NaiveDateTime>),
        )
    };
}

/// The two kinds of work the worker claims separately (each has its
/// partial index, migration 000006).
#[derive(Clone, Copy, Debug)]
pub enum Due {
    /// Emails and webhooks.
    Deliveries,
    ResetRequests,
}

/// The columns of `OutboxRow`, as the claims return them.
const RETURNING_ROW: &str = "RETURNING outbox.id, outbox.kind, outbox.payload, outbox.status, \
     outbox.attempts, outbox.next_attempt_at, outbox.locked_until, outbox.last_error, \
     outbox.provider_message_id, outbox.created_at, outbox.sent_at, outbox.give_up_at";

/// What `claim_due_reset_requests` took: the requests leased for the worker
/// to decide (addresses of live accounts), and how many it settled at once.
#[derive(Debug)]
pub struct ClaimedRequests {
    pub leased: Vec<OutboxRow>,
    pub settled: usize,
}

/// Rows deleted per statement when pruning, so no prune holds locks long.
const PRUNE_BATCH: i64 = 500;

/// What one prune removed.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Pruned {
    pub outbox_rows: usize,
    pub tokens: usize,
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
    pub async fn enqueue(
        &self,
        message: &Outgoing,
        now: NaiveDateTime,
    ) -> Result<(), StorageError> {
        let rows = new_rows(std::slice::from_ref(message), now)?;
        with_conn!(self, |conn| {
            diesel::insert_into(outbox::table)
                .values(&rows[0])
                .execute(conn)
                .await?
        });
        Ok(())
    }

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

    /// Takes up to `limit` due reset requests (oldest first) in one
    /// statement, one write per row: those whose address no live account
    /// has are settled on the spot (done, the address forgotten: nothing is
    /// created for them, as the one-by-one path would decide), the others
    /// are leased like any claim. Under a flood of made-up addresses that is
    /// most of them, and they cost one write instead of a claim and then a
    /// settlement. Fails if a request's payload is not JSON.
    pub async fn claim_due_reset_requests(
        &self,
        now: NaiveDateTime,
        lease_until: NaiveDateTime,
        limit: i64,
    ) -> Result<ClaimedRequests, StorageError> {
        use diesel::sql_types::{BigInt, Text, Timestamp};
        // `$1` the lease, `$2` now, `$3` the limit, `$4` the handled payload;
        // `{address}` the request's address as each backend reads its JSON,
        // `{lock}` the row locks, `{returning}` the columns of `OutboxRow`.
        const CLAIM: &str = "WITH picked AS ( \
               SELECT o.id, EXISTS (SELECT 1 FROM users u \
                   WHERE u.email = {address} AND NOT u.disabled) AS live \
               FROM outbox o \
               WHERE o.status = 'pending' AND o.kind = 'reset_request' AND o.next_attempt_at <= $2 \
                 AND (o.locked_until IS NULL OR o.locked_until < $2) \
               ORDER BY o.next_attempt_at LIMIT $3 {lock}) \
             UPDATE outbox SET \
               status = CASE WHEN picked.live THEN outbox.status ELSE 'done' END, \
               sent_at = CASE WHEN picked.live THEN outbox.sent_at ELSE $2 END, \
               payload = CASE WHEN picked.live THEN outbox.payload ELSE $4 END, \
               locked_until = CASE WHEN picked.live THEN $1 ELSE NULL END, \
               attempts = CASE WHEN picked.live THEN outbox.attempts + 1 ELSE outbox.attempts END \
             FROM picked WHERE outbox.id = picked.id {returning}";
        let sql = match &self.pools {
            Pools::Postgres(_) => CLAIM
                .replace("{address}", "o.payload::jsonb ->> 'email'")
                .replace("{lock}", "FOR UPDATE OF o SKIP LOCKED"),
            Pools::Sqlite(_) => CLAIM
                .replace('$', "?")
                .replace("{address}", "json_extract(o.payload, '$.email')")
                .replace("{lock}", ""),
        };
        let query = diesel::sql_query(sql.replace("{returning}", RETURNING_ROW))
            .bind::<Timestamp, _>(lease_until)
            .bind::<Timestamp, _>(now)
            .bind::<BigInt, _>(limit)
            .bind::<Text, _>(HANDLED_PAYLOAD);
        let mut leased = self.load_claim(query).await?;
        let taken = leased.len();
        // The settled rows are the ones the statement marked done.
        leased.retain(|row| row.status != OutboxStatus::Done);
        Ok(ClaimedRequests {
            settled: taken - leased.len(),
            leased,
        })
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
    async fn load_claim<Q>(&self, query: Q) -> Result<Vec<OutboxRow>, StorageError>
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
                        .set((
                            outbox::status.eq(OutboxStatus::Done),
                            outbox::sent_at.eq(now),
                            outbox::payload.eq(HANDLED_PAYLOAD),
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

    /// Deletes settled outbox rows (sent, done, dead) created before
    /// `before`, and token rows used or expired before it, in batches.
    pub async fn prune(&self, before: NaiveDateTime) -> Result<Pruned, StorageError> {
        use super::schema::password_reset_tokens as t;
        let mut pruned = Pruned::default();
        // One batch of each per round, until both come back short.
        loop {
            let (rows, tokens) = with_conn!(self, |conn| {
                let rows: Vec<OutboxId> = outbox::table
                    .filter(outbox::status.ne(OutboxStatus::Pending))
                    .filter(outbox::created_at.lt(before))
                    .select(outbox::id)
                    .limit(PRUNE_BATCH)
                    .load(conn)
                    .await?;
                let tokens: Vec<crate::domain::TokenId> = t::table
                    .filter(t::used_at.lt(before).or(t::expires_at.lt(before)))
                    .select(t::id)
                    .limit(PRUNE_BATCH)
                    .load(conn)
                    .await?;
                (
                    diesel::delete(outbox::table.filter(outbox::id.eq_any(&rows)))
                        .execute(conn)
                        .await?,
                    diesel::delete(t::table.filter(t::id.eq_any(&tokens)))
                        .execute(conn)
                        .await?,
                )
            });
            pruned.outbox_rows += rows;
            pruned.tokens += tokens;
            if (rows.max(tokens) as i64) < PRUNE_BATCH {
                return Ok(pruned);
            }
        }
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
