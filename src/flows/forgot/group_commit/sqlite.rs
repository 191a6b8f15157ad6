//! The SQLite batch: one transaction on the connection's blocking thread.

use chrono::NaiveDateTime;

use super::{Hit, KeyedCounter, Written, keyed, share_out, tally};
use crate::storage::rows::NewOutboxRow;
use crate::storage::{StorageError, rate_limits};

/// A batch for the SQLite connection's blocking thread (owned: it moves there).
pub(super) struct SqliteBatch {
    pub(super) rows: Vec<NewOutboxRow>,
    pub(super) hits: Vec<Vec<Hit>>,
    pub(super) now: NaiveDateTime,
    pub(super) expired_before: NaiveDateTime,
}

/// The SQLite batch, synchronously: one `BEGIN IMMEDIATE` transaction (the
/// write lock from the start) with an upsert per distinct key, the same
/// `share_out` judgement, and the admitted rows.
pub(super) fn write_sqlite_batch(
    conn: &mut diesel::SqliteConnection,
    batch: &SqliteBatch,
) -> Result<Vec<Written>, StorageError> {
    use diesel::sql_types::{Integer, Text, Timestamp};
    // The synchronous diesel calls (this module imports the async ones).
    use diesel::RunQueryDsl as Sync;
    let hits = || batch.hits.iter().map(Vec::as_slice);
    conn.immediate_transaction::<_, StorageError, _>(|conn| {
        let tally = tally(hits());
        let mut after = Vec::with_capacity(tally.len());
        for (key, n) in &tally {
            let query = diesel::sql_query(rate_limits::UPSERT_SQLITE.as_str())
                .bind::<Text, _>(*key)
                .bind::<Integer, _>(*n)
                .bind::<Timestamp, _>(batch.now)
                .bind::<Timestamp, _>(batch.expired_before);
            after.push(Sync::get_result::<KeyedCounter>(query, conn)?);
        }
        let written = share_out(hits(), &tally, &keyed(after))?;
        for (row, w) in batch.rows.iter().zip(&written) {
            if w.queued {
                Sync::execute(
                    diesel::insert_into(crate::storage::schema::outbox::table).values(row),
                    conn,
                )?;
            }
        }
        Ok(written)
    })
}
