//! The Postgres batch: one statement, prepared once per connection.

use std::collections::BTreeMap;
use std::sync::LazyLock;

use chrono::NaiveDateTime;
use diesel::pg::Pg;
use diesel::prelude::*;
use diesel::query_builder::AstPass;
use diesel_async::RunQueryDsl;
use diesel_async::pooled_connection::deadpool::Pool;

use super::{BatchEntry, Written, hits_of};
use crate::storage::StorageError;
use crate::storage::rate_limits::{self, Counter};
use crate::storage::reusable::{Binds, Reusable, no_such_placeholder};

/// One statement (so one implicit transaction and one round trip for the
/// whole batch): the same arithmetic as `share_out`, in SQL. With limits
/// off there are no hits and it inserts every row.
pub(super) async fn write_postgres_batch(
    pool: &Pool<diesel_async::AsyncPgConnection>,
    jobs: &[BatchEntry],
    tally: &BTreeMap<&str, i32>,
    now: NaiveDateTime,
    expired_before: NaiveDateTime,
) -> Result<Vec<Written>, StorageError> {
    let mut conn = pool.get().await?;
    let (keys, counts) = tally.iter().unzip();
    let mut binds = BatchBinds {
        keys,
        counts,
        now,
        expired_before,
        hit_jobs: Vec::new(),
        hit_keys: Vec::new(),
        hit_limits: Vec::new(),
        ids: jobs.iter().map(|job| job.row.id.as_str()).collect(),
        kinds: jobs.iter().map(|job| job.row.kind.as_str()).collect(),
        payloads: jobs.iter().map(|job| job.row.payload.as_str()).collect(),
        created: jobs.iter().map(|job| job.row.created_at).collect(),
        give_up: jobs.iter().map(|job| job.row.give_up_at).collect(),
        request_ids: jobs
            .iter()
            .map(|job| job.row.request_id.as_deref())
            .collect(),
    };
    for (job, hits) in hits_of(jobs).enumerate() {
        for hit in hits {
            binds.hit_jobs.push(job as i32);
            binds.hit_keys.push(hit.key.as_str());
            binds
                .hit_limits
                .push(i64::from(hit.limit).min(i64::from(i32::MAX)) as i32);
        }
    }
    let judged: Vec<Judged> = Reusable::new(BATCH_WITH_LIMITS.as_str(), binds)
        .load(&mut conn)
        .await?;
    let mut written: Vec<Written> = jobs
        .iter()
        .map(|job| Written {
            counters: Vec::with_capacity(job.hits.len()),
            queued: true,
        })
        .collect();
    for row in judged {
        let Some(w) = usize::try_from(row.job)
            .ok()
            .and_then(|j| written.get_mut(j))
        else {
            return Err(StorageError::BatchAnswer(
                "a judged hit names no job of the batch",
            ));
        };
        w.queued &= row.within;
        w.counters.push(row.counter);
    }
    if jobs
        .iter()
        .zip(&written)
        .any(|(job, w)| w.counters.len() != job.hits.len())
    {
        return Err(StorageError::BatchAnswer(
            "a job's hits and judged counters differ in number",
        ));
    }
    Ok(written)
}

/// The values of `BATCH_WITH_LIMITS`'s placeholders.
struct BatchBinds<'a> {
    keys: Vec<&'a str>,
    counts: Vec<i32>,
    now: NaiveDateTime,
    expired_before: NaiveDateTime,
    hit_jobs: Vec<i32>,
    hit_keys: Vec<&'a str>,
    hit_limits: Vec<i32>,
    ids: Vec<&'a str>,
    kinds: Vec<&'a str>,
    payloads: Vec<&'a str>,
    created: Vec<NaiveDateTime>,
    give_up: Vec<Option<NaiveDateTime>>,
    request_ids: Vec<Option<&'a str>>,
}

impl Binds for BatchBinds<'_> {
    fn bind<'b>(&'b self, n: usize, out: &mut AstPass<'_, 'b, Pg>) -> QueryResult<()> {
        use diesel::sql_types::{Array, Integer, Nullable, Text, Timestamp};
        match n {
            1 => out.push_bind_param::<Array<Text>, _>(&self.keys),
            2 => out.push_bind_param::<Array<Integer>, _>(&self.counts),
            3 => out.push_bind_param::<Timestamp, _>(&self.now),
            4 => out.push_bind_param::<Timestamp, _>(&self.expired_before),
            5 => out.push_bind_param::<Array<Integer>, _>(&self.hit_jobs),
            6 => out.push_bind_param::<Array<Text>, _>(&self.hit_keys),
            7 => out.push_bind_param::<Array<Integer>, _>(&self.hit_limits),
            8 => out.push_bind_param::<Array<Text>, _>(&self.ids),
            9 => out.push_bind_param::<Array<Text>, _>(&self.kinds),
            10 => out.push_bind_param::<Array<Text>, _>(&self.payloads),
            11 => out.push_bind_param::<Array<Timestamp>, _>(&self.created),
            12 => out.push_bind_param::<Array<Nullable<Timestamp>>, _>(&self.give_up),
            13 => out.push_bind_param::<Array<Nullable<Text>>, _>(&self.request_ids),
            n => Err(no_such_placeholder(n)),
        }
    }
}

/// The Postgres batch: counts the hits ($1 distinct keys, $2 hits per key)
/// and judges each one as if they had come one by one in queue order
/// ($5..$7: job, key and limit of each hit, in order), then inserts the rows
/// ($8..$13) of the jobs none of whose hits went over. Data-modifying CTEs
/// run once and to completion, all in the statement's one transaction.
static BATCH_WITH_LIMITS: LazyLock<String> =
    LazyLock::new(|| BATCH_TEMPLATE.replace("{ON_CONFLICT}", rate_limits::ON_CONFLICT));

const BATCH_TEMPLATE: &str = "WITH tally AS ( \
       SELECT * FROM unnest($1::text[], $2::int[]) AS t(key, n)), \
     counted AS ( \
       INSERT INTO rate_limits (key, window_start, count, last_at) \
       SELECT key, $3, n, $3 FROM tally ORDER BY key \
       {ON_CONFLICT}), \
     hits AS ( \
       SELECT h.job, h.key, h.lim, h.ord, \
              row_number() OVER (PARTITION BY h.key ORDER BY h.ord) AS nth \
       FROM unnest($5::int[], $6::text[], $7::int[]) WITH ORDINALITY AS h(job, key, lim, ord)), \
     judged AS ( \
       SELECT hits.job, hits.ord, counted.window_start, counted.last_at, \
              (counted.count - tally.n + hits.nth)::int AS count, \
              counted.count - tally.n + hits.nth <= hits.lim AS within \
       FROM hits JOIN counted ON counted.key = hits.key JOIN tally ON tally.key = hits.key), \
     written AS ( \
       INSERT INTO outbox (id, kind, payload, status, attempts, next_attempt_at, created_at, give_up_at, request_id) \
       SELECT r.id, r.kind, r.payload, 'pending', 0, r.at, r.at, r.give_up_at, r.request_id \
       FROM unnest($8::text[], $9::text[], $10::text[], $11::timestamp[], $12::timestamp[], $13::text[]) \
            WITH ORDINALITY AS r(id, kind, payload, at, give_up_at, request_id, job) \
       WHERE NOT EXISTS (SELECT 1 FROM judged WHERE judged.job = r.job - 1 AND NOT judged.within) \
       RETURNING 1) \
     SELECT job, window_start, count, last_at, within FROM judged ORDER BY ord";

/// One judged hit of the Postgres batch.
#[derive(QueryableByName)]
struct Judged {
    #[diesel(sql_type = diesel::sql_types::Integer)]
    job: i32,
    #[diesel(embed)]
    counter: Counter,
    #[diesel(sql_type = diesel::sql_types::Bool)]
    within: bool,
}
