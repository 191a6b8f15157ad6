//! Retention's SQL: what a pass deletes, in batches so that no pass holds
//! locks for long.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use diesel_async::RunQueryDsl;

use crate::domain::{OutboxId, TokenId};
use crate::messages::OutboxStatus;
use crate::storage::schema::{outbox, password_reset_tokens, rate_limits};
use crate::storage::{Repo, StorageError, with_conn};

/// Rows deleted per statement when pruning, so no prune holds locks long.
const PRUNE_BATCH: i64 = 500;

/// What one prune removed.
#[derive(Debug, Default, PartialEq, Eq)]
pub(super) struct Pruned {
    pub(super) outbox_rows: usize,
    pub(super) tokens: usize,
}

impl Repo {
    /// Deletes settled outbox rows (sent, done, dead) created before
    /// `before`, and token rows used or expired before it, in batches.
    pub(super) async fn prune_settled(
        &self,
        before: NaiveDateTime,
    ) -> Result<Pruned, StorageError> {
        use password_reset_tokens as t;
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
                let tokens: Vec<TokenId> = t::table
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

    /// Forgets keys not hit since `before` (their windows are long over).
    pub(super) async fn prune_rate_limits(
        &self,
        before: NaiveDateTime,
    ) -> Result<usize, StorageError> {
        Ok(with_conn!(self, |conn| {
            diesel::delete(rate_limits::table.filter(rate_limits::last_at.lt(before)))
                .execute(conn)
                .await?
        }))
    }
}
