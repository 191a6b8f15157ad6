//! Fulfil's SQL: the claim that settles at once the requests no live account
//! can answer, and the one transaction that turns a request into a token and
//! its messages.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use diesel_async::{AsyncConnection, RunQueryDsl};

use crate::domain::AccountEmailLimit;
use crate::domain::OutboxId;
use crate::messages::{OutboxStatus, Outgoing};
use crate::storage::leases::RETURNING_ROW;
use crate::storage::outbox::OutboxRow;
use crate::storage::rows::{HANDLED_PAYLOAD, handled_request, new_rows};
use crate::storage::schema::{outbox, password_reset_tokens, users};
use crate::storage::tokens::NewToken;
use crate::storage::{Pools, Repo, StorageError, insert_outbox_rows, with_conn};

/// What became of a reset request.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum Fulfilment {
    Issued,
    /// The account had its reset emails for the window; nothing was created.
    AccountLimitReached,
    /// Under the lock, the account no longer has the address the request
    /// named (or was disabled or deleted): nothing was created.
    AccountChanged,
    LeaseLost,
}

/// What `claim_due_reset_requests` took: the requests leased for the worker
/// to decide (addresses of live accounts), and how many it settled at once.
#[derive(Debug)]
pub(super) struct ClaimedRequests {
    pub(super) leased: Vec<OutboxRow>,
    pub(super) settled: usize,
}

impl Repo {
    /// Takes up to `limit` due reset requests (oldest first) in one
    /// statement, one write per row: those whose address no live account
    /// has are settled on the spot (done, the address forgotten: nothing is
    /// created for them, as the one-by-one path would decide), the others
    /// are leased like any claim. Under a flood of made-up addresses that is
    /// most of them, and they cost one write instead of a claim and then a
    /// settlement. Fails if a request's payload is not JSON.
    pub(super) async fn claim_due_reset_requests(
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

    /// Turns a claimed reset request into a token and its messages,
    /// atomically: a crash leaves either the pending request or all new rows,
    /// never a part. The user's row is locked first (the lock an email or
    /// password change takes too) and read again: unless it still has
    /// `email` and is enabled, nothing is created. With `limit`, a user who
    /// already got that many tokens since the given time gets none.
    #[allow(clippy::too_many_arguments)]
    pub(super) async fn fulfil_reset_request(
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
                // A no-op write: takes the user's row lock on both backends,
                // and reads the row as it is under that lock.
                let current: Option<(String, bool)> =
                    diesel::update(users::table.find(token.user_id))
                        .set(users::id.eq(users::id))
                        .returning((users::email, users::disabled))
                        .get_result(conn)
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
}
