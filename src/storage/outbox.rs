//! Queries on `outbox`, the durable queue of everything that leaves the
//! service, outside the worker's leases (`leases.rs`): reading rows back, retrying a dead one, counts and
//! listing.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use diesel_async::RunQueryDsl;

use super::schema::outbox;
use super::{Repo, StorageError, with_conn};
use crate::domain::OutboxId;
use crate::messages::{OutboxKind, OutboxStatus};

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
    /// The request that queued it (absent for rows from before ids, or
    /// queued outside any request: the CLI).
    pub request_id: Option<String>,
}

impl Repo {
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
