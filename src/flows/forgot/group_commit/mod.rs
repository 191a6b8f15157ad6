//! Group commit for forgot-password. Concurrent requests are written
//! together: one transaction counts every request's rate-limit hits (one
//! upsert per distinct key, in key order so that transactions never wait on
//! each other in a cycle) and inserts the rows of the requests still inside
//! their limits. Each caller hears back only after that commit, so a 202 is
//! never sent for a row that is not durable.
//!
//! There is no timer: when idle, a request is committed at once, alone;
//! under load, requests that arrive while earlier batches are committing
//! wait for the next one, and that wait is the collection window.

mod postgres;
mod sqlite;

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use chrono::NaiveDateTime;
use diesel::prelude::*;
use tokio::sync::{Semaphore, mpsc, oneshot};

use crate::messages::Outgoing;
use crate::storage::rate_limits::Counter;
use crate::storage::rows::{NewOutboxRow, new_row};
use crate::storage::{BatchFailed, Pools, Repo, StorageError};
use postgres::write_postgres_batch;
use sqlite::{SqliteBatch, write_sqlite_batch};

/// Requests written in one transaction at most.
const MAX_BATCH: usize = 256;
/// Requests waiting for a batch at most; past this, callers wait to queue.
const QUEUE: usize = 4096;

/// One rate-limit counter a request counts against, and its limit: the
/// request's row is written only if every counter stays within its limit.
#[derive(Clone, Debug)]
pub struct Hit {
    pub key: String,
    pub limit: u32,
}

/// What became of a request: its counters after its hits (in the order of
/// its `Hit`s), and whether its row was written.
#[derive(Debug)]
pub struct Written {
    pub counters: Vec<Counter>,
    pub queued: bool,
}

/// One request of a batch: its row, written if all its hits are within.
pub struct BatchEntry {
    row: NewOutboxRow,
    hits: Vec<Hit>,
}

impl BatchEntry {
    pub fn new(
        message: &Outgoing,
        hits: Vec<Hit>,
        now: NaiveDateTime,
    ) -> Result<Self, StorageError> {
        Ok(Self {
            row: new_row(message, now)?,
            hits,
        })
    }
}

struct Job {
    entry: BatchEntry,
    now: NaiveDateTime,
    expired_before: NaiveDateTime,
    reply: oneshot::Sender<Result<Written, BatchFailed>>,
}

/// The handle requests are written through; cheap to clone. The committing
/// task ends when the last handle is dropped.
#[derive(Clone)]
pub struct GroupCommit {
    jobs: mpsc::Sender<Job>,
}

impl GroupCommit {
    /// Starts the committing task on `runtime` (else on the current one).
    /// `in_flight` batches may commit at once: 1 for SQLite (one writer
    /// anyway), a few for Postgres so that one batch collects while another
    /// commits.
    pub fn start(repo: Repo, runtime: Option<&tokio::runtime::Handle>) -> Self {
        let in_flight = match repo.pools {
            Pools::Postgres(_) => 4,
            Pools::Sqlite(_) => 1,
        };
        let (jobs, queue) = mpsc::channel(QUEUE);
        match runtime {
            Some(runtime) => drop(runtime.spawn(run(repo, queue, in_flight))),
            None => drop(tokio::spawn(run(repo, queue, in_flight))),
        }
        Self { jobs }
    }

    /// Counts `hits` and, if none is over its limit, writes `message`; both
    /// committed (with whatever else shared the batch) before this returns.
    pub async fn write(
        &self,
        message: &Outgoing,
        hits: Vec<Hit>,
        now: NaiveDateTime,
        expired_before: NaiveDateTime,
    ) -> Result<Written, StorageError> {
        let entry = BatchEntry::new(message, hits, now)?;
        let (reply, answer) = oneshot::channel();
        let job = Job {
            entry,
            now,
            expired_before,
            reply,
        };
        self.jobs
            .send(job)
            .await
            .map_err(|_| StorageError::WriterStopped)?;
        Ok(answer.await.map_err(|_| StorageError::WriterStopped)??)
    }
}

async fn run(repo: Repo, mut queue: mpsc::Receiver<Job>, in_flight: usize) {
    let permits = Arc::new(Semaphore::new(in_flight));
    loop {
        // Waiting for a free commit slot first is what lets a batch grow
        // under load; when idle the slot is free and the first job goes alone.
        let Ok(permit) = permits.clone().acquire_owned().await else {
            return;
        };
        let mut batch = Vec::new();
        if queue.recv_many(&mut batch, MAX_BATCH).await == 0 {
            return;
        }
        let repo = repo.clone();
        tokio::spawn(async move {
            commit(&repo, batch).await;
            drop(permit);
        });
    }
}

/// Commits one batch and answers each of its callers.
async fn commit(repo: &Repo, jobs: Vec<Job>) {
    // The batch's clock is its latest request's.
    let now = jobs.iter().map(|job| job.now).max().unwrap_or_default();
    let expired_before = jobs
        .iter()
        .map(|job| job.expired_before)
        .max()
        .unwrap_or_default();
    let (entries, replies): (Vec<_>, Vec<_>) =
        jobs.into_iter().map(|job| (job.entry, job.reply)).unzip();
    match write_batch(repo, &entries, now, expired_before).await {
        Ok(results) => {
            for (reply, written) in replies.into_iter().zip(results) {
                // A caller that went away (client disconnected) is no error:
                // its row is written all the same.
                let _ = reply.send(Ok(written));
            }
        }
        Err(error) => {
            log::error!(
                "forgot-password batch of {} request(s) failed: {error}",
                entries.len()
            );
            let failed = BatchFailed(Arc::new(error));
            for reply in replies {
                let _ = reply.send(Err(failed.clone()));
            }
        }
    }
}

/// The hits of a batch, summed per key; sorted by key (a `BTreeMap`), which
/// is the order the upsert takes its row locks in.
fn tally<'a>(hits: impl Iterator<Item = &'a [Hit]>) -> BTreeMap<&'a str, i32> {
    let mut tally = BTreeMap::new();
    for hit in hits.flatten() {
        *tally.entry(hit.key.as_str()).or_insert(0) += 1;
    }
    tally
}

/// Each job's counters as if the batch's hits had come one by one in queue
/// order: a key hit `n` times in the batch ends at `after.count`, so its
/// i-th hit (from 1) saw `after.count - n + i`.
fn share_out<'a>(
    hits: impl Iterator<Item = &'a [Hit]>,
    tally: &BTreeMap<&str, i32>,
    after: &HashMap<String, Counter>,
) -> Result<Vec<Written>, StorageError> {
    let mut seen: HashMap<&str, i32> = HashMap::new();
    hits.map(|hits| {
        let counters = hits
            .iter()
            .map(|hit| {
                let key = hit.key.as_str();
                // Every key of the batch was upserted; one missing from
                // the answer would be a bug, and fails the batch.
                let total = after.get(key).ok_or(StorageError::BatchAnswer(
                    "a key of the batch has no counter",
                ))?;
                let nth = seen.entry(key).or_insert(0);
                *nth += 1;
                Ok(Counter {
                    count: total.count - tally[key] + *nth,
                    ..*total
                })
            })
            .collect::<Result<Vec<_>, StorageError>>()?;
        let queued = hits
            .iter()
            .zip(&counters)
            .all(|(hit, counter)| counter.is_within(hit.limit));
        Ok(Written { counters, queued })
    })
    .collect()
}

/// Writes one batch: every entry's hits counted as if the entries came one
/// by one in this order, and the rows of those within their limits. The
/// committing task's one write; public so that a test can hold the two
/// backends' judgements to the same answers on the same batch.
pub async fn write_batch(
    repo: &Repo,
    jobs: &[BatchEntry],
    now: NaiveDateTime,
    expired_before: NaiveDateTime,
) -> Result<Vec<Written>, StorageError> {
    let pool = match &repo.pools {
        Pools::Postgres(pool) => pool,
        Pools::Sqlite(pool) => {
            // The whole batch in one trip to a blocking thread, where the
            // synchronous connection lives (not one trip per statement).
            let batch = SqliteBatch {
                rows: jobs.iter().map(|job| job.row.clone()).collect(),
                hits: jobs.iter().map(|job| job.hits.clone()).collect(),
                now,
                expired_before,
            };
            let mut conn = pool.get().await?;
            let _turn = repo.sqlite_write_turn().await;
            // The outer result is the connection's; the inner, the batch's.
            return conn
                .spawn_blocking(move |conn| Ok(write_sqlite_batch(conn, &batch)))
                .await?;
        }
    };
    write_postgres_batch(pool, jobs, &tally(hits_of(jobs)), now, expired_before).await
}

#[derive(QueryableByName)]
struct KeyedCounter {
    #[diesel(sql_type = diesel::sql_types::Text)]
    key: String,
    #[diesel(embed)]
    counter: Counter,
}

fn hits_of(jobs: &[BatchEntry]) -> impl Iterator<Item = &[Hit]> {
    jobs.iter().map(|job| job.hits.as_slice())
}

fn keyed(rows: Vec<KeyedCounter>) -> HashMap<String, Counter> {
    rows.into_iter().map(|row| (row.key, row.counter)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hit(key: &str, limit: u32) -> Hit {
        Hit {
            key: key.to_owned(),
            limit,
        }
    }

    fn at(count: i32) -> Counter {
        let t = chrono::DateTime::UNIX_EPOCH.naive_utc();
        Counter {
            window_start: t,
            count,
            last_at: t,
        }
    }

    #[test]
    fn a_batch_shares_out_counts_as_if_requests_came_one_by_one() {
        // Three requests from one address (limit 4) with their own addresses
        // (limit 5); the address already had 2 hits before this batch.
        let jobs = [
            vec![hit("email:a", 5), hit("ip:1", 4)],
            vec![hit("email:b", 5), hit("ip:1", 4)],
            vec![hit("email:a", 5), hit("ip:1", 4)],
        ];
        let slices = || jobs.iter().map(Vec::as_slice);
        let tally = tally(slices());
        assert_eq!(
            tally.iter().map(|(k, n)| (*k, *n)).collect::<Vec<_>>(),
            [("email:a", 2), ("email:b", 1), ("ip:1", 3)],
            "sorted by key: the order rows are locked in"
        );
        let after = HashMap::from([
            ("email:a".to_owned(), at(2)),
            ("email:b".to_owned(), at(1)),
            ("ip:1".to_owned(), at(5)),
        ]);
        let written = share_out(slices(), &tally, &after).unwrap();
        let counts: Vec<Vec<i32>> = written
            .iter()
            .map(|w| w.counters.iter().map(|c| c.count).collect())
            .collect();
        assert_eq!(counts, [vec![1, 3], vec![1, 4], vec![2, 5]]);
        let queued: Vec<bool> = written.iter().map(|w| w.queued).collect();
        assert_eq!(
            queued,
            [true, true, false],
            "the fifth hit on ip:1 is over 4"
        );
    }

    #[test]
    fn a_key_missing_from_the_answer_fails_the_batch() {
        let jobs = [vec![hit("ip:1", 4)]];
        let tally = tally(jobs.iter().map(Vec::as_slice));
        assert!(matches!(
            share_out(jobs.iter().map(Vec::as_slice), &tally, &HashMap::new()),
            Err(StorageError::BatchAnswer(_))
        ));
    }
}
