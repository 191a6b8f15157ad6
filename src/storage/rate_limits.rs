//! Rate-limit counters, in the database so that every replica (and every
//! process sharing a SQLite file) enforces one limit. Each key has a fixed
//! window: the first hit after the window is over starts a new one.

use std::sync::LazyLock;

use chrono::NaiveDateTime;
use diesel::prelude::*;
use diesel_async::RunQueryDsl;

use super::schema::rate_limits;
use super::{Pools, Repo, StorageError, with_conn};

/// A key's state after a hit, or as read.
#[derive(Clone, Copy, Debug, PartialEq, Eq, QueryableByName, Queryable)]
pub struct Counter {
    #[diesel(sql_type = diesel::sql_types::Timestamp)]
    pub window_start: NaiveDateTime,
    #[diesel(sql_type = diesel::sql_types::Integer)]
    pub count: i32,
    #[diesel(sql_type = diesel::sql_types::Timestamp)]
    pub last_at: NaiveDateTime,
}

/// How every writer of counters adds hits to a key ($3 is now, $4 the end
/// of an expired window, `excluded.count` the hits added): a window that is
/// over starts again with these hits. One hit (`hit_rate_limit`), SQLite's
/// batch (one key at a time) and Postgres' batch statement all use it.
pub(crate) const ON_CONFLICT: &str = "ON CONFLICT (key) DO UPDATE SET \
       count = CASE WHEN rate_limits.window_start <= $4 THEN excluded.count \
                    ELSE rate_limits.count + excluded.count END, \
       window_start = CASE WHEN rate_limits.window_start <= $4 THEN $3 \
                           ELSE rate_limits.window_start END, \
       last_at = $3 \
     RETURNING key, window_start, count, last_at";

/// Adds $2 hits to key $1 (now $3, a window that started at or before $4
/// is over), on Postgres.
static UPSERT: LazyLock<String> = LazyLock::new(|| {
    format!(
        "INSERT INTO rate_limits (key, window_start, count, last_at) \
         VALUES ($1, $3, $2, $3) {ON_CONFLICT}"
    )
});

/// The same for SQLite, whose numbered parameters are `?N` (`$N` is a
/// named one there).
pub(crate) static UPSERT_SQLITE: LazyLock<String> = LazyLock::new(|| UPSERT.replace('$', "?"));

impl Counter {
    /// Whether the hit that left the counter here was within `limit`: the
    /// n-th hit of a window passes while n <= limit. The rule in Rust; the
    /// group-commit statement states it in SQL (`within`), and a property
    /// test holds the two to the same answers.
    pub fn is_within(&self, limit: u32) -> bool {
        i64::from(self.count) <= i64::from(limit)
    }
}

impl Repo {
    /// Counts one hit on `key` atomically (one upsert) and returns the state
    /// after it. A window that started at or before `expired_before` is over.
    pub async fn hit_rate_limit(
        &self,
        key: &str,
        now: NaiveDateTime,
        expired_before: NaiveDateTime,
    ) -> Result<Counter, StorageError> {
        use diesel::sql_types::{Integer, Text, Timestamp};
        let counter = match &self.pools {
            Pools::Postgres(pool) => {
                let mut conn = pool.get().await?;
                diesel::sql_query(UPSERT.as_str())
                    .bind::<Text, _>(key)
                    .bind::<Integer, _>(1)
                    .bind::<Timestamp, _>(now)
                    .bind::<Timestamp, _>(expired_before)
                    .get_result(&mut conn)
                    .await?
            }
            Pools::Sqlite(pool) => {
                let mut conn = pool.get().await?;
                diesel::sql_query(UPSERT_SQLITE.as_str())
                    .bind::<Text, _>(key)
                    .bind::<Integer, _>(1)
                    .bind::<Timestamp, _>(now)
                    .bind::<Timestamp, _>(expired_before)
                    .get_result(&mut conn)
                    .await?
            }
        };
        Ok(counter)
    }

    /// Takes back one hit that `hit_rate_limit` counted on `key` in the
    /// window that started at `window_start`; a window since ended (and its
    /// count with it) is left alone.
    pub async fn unhit_rate_limit(
        &self,
        key: &str,
        window_start: NaiveDateTime,
    ) -> Result<(), StorageError> {
        with_conn!(self, |conn| {
            diesel::update(
                rate_limits::table
                    .find(key)
                    .filter(rate_limits::window_start.eq(window_start))
                    .filter(rate_limits::count.gt(0)),
            )
            .set(rate_limits::count.eq(rate_limits::count - 1))
            .execute(conn)
            .await?
        });
        Ok(())
    }

    /// Deletes the counter `key` (a count that a success clears).
    pub async fn forget_rate_limit(&self, key: &str) -> Result<(), StorageError> {
        with_conn!(self, |conn| {
            diesel::delete(rate_limits::table.find(key))
                .execute(conn)
                .await?
        });
        Ok(())
    }

    pub async fn read_rate_limit(&self, key: &str) -> Result<Option<Counter>, StorageError> {
        Ok(with_conn!(self, |conn| {
            rate_limits::table
                .find(key)
                .select((
                    rate_limits::window_start,
                    rate_limits::count,
                    rate_limits::last_at,
                ))
                .first::<Counter>(conn)
                .await
                .optional()?
        }))
    }
}
