//! forgot-password writes concurrent requests together, in one transaction
//! with their rate-limit counters (group commit). A batch that cannot be
//! committed fails every request in it with 503 and leaves nothing behind:
//! no row, no count. None is lost or written twice.

use futures_util::future::join_all;

use crate::helpers::*;

/// Makes the database refuse every new outbox row, as a failing disk or a
/// broken constraint would, until `allow_outbox_writes`.
async fn refuse_outbox_writes(app: &TestApp) {
    app.db
        .execute(match backend() {
            Backend::Postgres => {
                "ALTER TABLE outbox ADD CONSTRAINT test_refuses CHECK (false) NOT VALID"
            }
            Backend::Sqlite => {
                "CREATE TRIGGER test_refuses BEFORE INSERT ON outbox \
                 BEGIN SELECT RAISE(ABORT, 'refused by the test'); END"
            }
        })
        .await;
}

async fn allow_outbox_writes(app: &TestApp) {
    app.db
        .execute(match backend() {
            Backend::Postgres => "ALTER TABLE outbox DROP CONSTRAINT test_refuses",
            Backend::Sqlite => "DROP TRIGGER test_refuses",
        })
        .await;
}

fn addresses(n: usize) -> Vec<String> {
    (0..n).map(|i| format!("user{i}@example.com")).collect()
}

/// Every address asked for at once; the statuses in the same order.
async fn forgot_all_at_once(app: &TestApp, emails: &[String]) -> Vec<reqwest::Response> {
    join_all(emails.iter().map(|email| app.forgot(email))).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_batch_fails_every_request_in_it_and_changes_nothing() {
    const N: usize = 40;
    let app = spawn_app_with(|env| {
        // Every request comes from 127.0.0.1: they share one counter, which
        // allows exactly N.
        env.insert("RATE_LIMIT_ENABLED".into(), "true".into());
        env.insert("RATE_LIMIT_FORGOT_PER_IP".into(), N.to_string());
    })
    .await;
    let emails = addresses(N);
    for (i, email) in emails.iter().enumerate() {
        app.add_user(&format!("u-{i}"), email, None).await;
    }

    refuse_outbox_writes(&app).await;
    for response in forgot_all_at_once(&app, &emails).await {
        assert_problem(response, 503, "unavailable").await;
    }
    assert!(app.outbox_rows(OutboxKind::ResetRequest).await.is_empty());

    // Nothing was counted either: the whole allowance is still there.
    allow_outbox_writes(&app).await;
    let statuses: Vec<u16> = forgot_all_at_once(&app, &emails)
        .await
        .iter()
        .map(|r| r.status().as_u16())
        .collect();
    assert_eq!(statuses, vec![202; N]);
    assert_eq!(app.outbox_rows(OutboxKind::ResetRequest).await.len(), N);
    assert_problem(
        app.forgot("one-more@example.com").await,
        429,
        "rate_limited",
    )
    .await;

    // Each accepted request becomes exactly one email.
    app.deliver().await;
    for email in &emails {
        assert_eq!(app.reset_emails_to(email).len(), 1, "{email}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_requests_over_a_shared_limit_are_counted_one_by_one() {
    // 30 requests at once against an allowance of 12 from one address: as if
    // they had come one after another, exactly 12 are accepted, whatever
    // batches they were written in.
    let app = spawn_app_with(|env| {
        env.insert("RATE_LIMIT_ENABLED".into(), "true".into());
        env.insert("RATE_LIMIT_FORGOT_PER_IP".into(), "12".into());
    })
    .await;
    let emails = addresses(30);
    let responses = forgot_all_at_once(&app, &emails).await;
    let accepted = responses.iter().filter(|r| r.status() == 202).count();
    let refused = responses.iter().filter(|r| r.status() == 429).count();
    assert_eq!((accepted, refused), (12, 18));
    assert_eq!(app.outbox_rows(OutboxKind::ResetRequest).await.len(), 12);
}

/// One counter's state before a case, per backend alike: `count` hits
/// `age_mins` minutes ago (over 60: its window is over).
#[derive(Clone, Debug)]
struct Earlier {
    key: usize,
    age_mins: i64,
    count: u32,
}

fn earlier() -> impl proptest::strategy::Strategy<Value = Earlier> {
    use proptest::prelude::*;
    (
        0..3usize,
        prop::sample::select(vec![5i64, 30, 59, 61, 120]),
        1..6u32,
    )
        .prop_map(|(key, age_mins, count)| Earlier {
            key,
            age_mins,
            count,
        })
}

/// A request's hits: distinct keys of three, each with a limit.
fn job() -> impl proptest::strategy::Strategy<Value = Vec<(usize, u32)>> {
    use proptest::prelude::*;
    (
        prop::sample::subsequence(vec![0usize, 1, 2], 1..=3),
        prop::collection::vec(1..6u32, 3),
    )
        .prop_map(|(keys, limits)| keys.into_iter().zip(limits).collect())
}

/// The rule, one request at a time: every hit counts (also a refused
/// request's), a window that started an hour ago or more starts again, and
/// a request is written when each of its counters is within its limit.
fn judged_one_by_one(
    earlier: &[Earlier],
    jobs: &[Vec<(usize, u32)>],
    now: chrono::NaiveDateTime,
) -> Vec<(bool, Vec<(i32, chrono::NaiveDateTime)>)> {
    let mut state: [Option<(i32, chrono::NaiveDateTime)>; 3] = [None; 3];
    for e in earlier {
        let at = now - chrono::TimeDelta::minutes(e.age_mins);
        for _ in 0..e.count {
            state[e.key] = Some(match state[e.key] {
                Some((count, start)) if start > at - chrono::TimeDelta::hours(1) => {
                    (count + 1, start)
                }
                _ => (1, at),
            });
        }
    }
    jobs.iter()
        .map(|hits| {
            let counters: Vec<(i32, chrono::NaiveDateTime)> = hits
                .iter()
                .map(|(key, _)| {
                    let next = match state[*key] {
                        Some((count, start)) if start > now - chrono::TimeDelta::hours(1) => {
                            (count + 1, start)
                        }
                        _ => (1, now),
                    };
                    state[*key] = Some(next);
                    next
                })
                .collect();
            let queued = hits
                .iter()
                .zip(&counters)
                .all(|((_, limit), (count, _))| *count <= *limit as i32);
            (queued, counters)
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs Postgres: PWRESET_TEST_BACKEND=postgres cargo test -- --include-ignored"]
async fn the_postgres_statement_and_the_sqlite_batch_judge_every_batch_alike() {
    use proptest::prelude::*;
    use proptest::test_runner::{Config, TestRunner};
    use pwreset::flows::forgot::group_commit::{BatchEntry, Hit, write_batch};
    use pwreset::messages::{OutboxMessage, Outgoing, ResetRequest};
    use pwreset::storage::{DatabaseUrl, PoolOptions, Repo};

    assert_eq!(
        backend(),
        Backend::Postgres,
        "run with PWRESET_TEST_BACKEND=postgres"
    );
    let options = PoolOptions {
        max_size: 4,
        ca_file: None,
    };
    let pg_db = TestDatabase::new().await;
    let postgres = Repo::connect(&DatabaseUrl::parse(&pg_db.url).unwrap(), &options).unwrap();
    postgres.run_migrations().await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let lite_url = format!("sqlite://{}", dir.path().join("judge.db").display());
    let sqlite = Repo::connect(&DatabaseUrl::parse(&lite_url).unwrap(), &options).unwrap();
    sqlite.run_migrations().await.unwrap();
    let backends = [postgres, sqlite];

    let strategy = (
        prop::collection::vec(earlier(), 0..6),
        prop::collection::vec(job(), 1..24),
    );
    let mut runner = TestRunner::new(Config {
        cases: 48,
        ..Config::default()
    });
    let case = std::sync::atomic::AtomicUsize::new(0);
    let handle = tokio::runtime::Handle::current();
    let result = runner.run(&strategy, |(earlier, jobs)| {
        let n = case.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let key = |k: usize| format!("judge:{n}:{k}");
        // Whole seconds: both databases keep them exactly.
        let now = chrono::DateTime::from_timestamp(chrono::Utc::now().timestamp(), 0)
            .unwrap()
            .naive_utc();
        let expected = judged_one_by_one(&earlier, &jobs, now);
        let answers: Vec<_> = tokio::task::block_in_place(|| {
            handle.block_on(async {
                let mut answers = Vec::new();
                for repo in &backends {
                    for e in &earlier {
                        let at = now - chrono::TimeDelta::minutes(e.age_mins);
                        for _ in 0..e.count {
                            repo.hit_rate_limit(&key(e.key), at, at - chrono::TimeDelta::hours(1))
                                .await
                                .unwrap();
                        }
                    }
                    // Each request its own row (its own id); all in one
                    // batch, to be judged as if they came one by one.
                    let batch: Vec<BatchEntry> = jobs
                        .iter()
                        .map(|hits| {
                            let message =
                                Outgoing::new(OutboxMessage::ResetRequest(ResetRequest {
                                    email: "judge@example.com".into(),
                                    ip: None,
                                    locale: None,
                                    return_to: None,
                                }));
                            let hits = hits
                                .iter()
                                .map(|(k, limit)| Hit {
                                    key: key(*k),
                                    limit: *limit,
                                })
                                .collect();
                            BatchEntry::new(&message, hits, now).unwrap()
                        })
                        .collect();
                    let written = write_batch(repo, &batch, now, now - chrono::TimeDelta::hours(1))
                        .await
                        .unwrap();
                    let written: Vec<(bool, Vec<(i32, chrono::NaiveDateTime)>)> = written
                        .into_iter()
                        .map(|w| {
                            let counters = w.counters.iter().map(|c| (c.count, c.window_start));
                            (w.queued, counters.collect())
                        })
                        .collect();
                    answers.push(written);
                }
                answers
            })
        });
        prop_assert_eq!(&answers[0], &expected, "Postgres' statement");
        prop_assert_eq!(&answers[1], &expected, "SQLite's batch");
        Ok(())
    });
    result.unwrap();
}
