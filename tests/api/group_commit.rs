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
