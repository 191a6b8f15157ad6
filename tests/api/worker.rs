//! The worker cannot be stopped by what a provider or one row does: absurd
//! `Retry-After` answers, a panic while processing a row. And `/readyz`
//! tells when it has stopped making progress.

use std::sync::Arc;
use std::time::Duration;

use pwreset::mailer::{EmailMessage, Mailer, SendFuture};
use pwreset::storage::leases::Due;
use wiremock::matchers::{body_string_contains, method};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::helpers::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn absurd_retry_after_answers_delay_one_row_and_never_the_others() {
    let server = MockServer::start().await;
    let absurd = [
        ("huge@example.com", "10000000000000"),
        ("far@example.com", "Fri, 31 Dec 9999 23:59:59 GMT"),
        ("garbage@example.com", "soon-ish, maybe"),
    ];
    for (address, retry_after) in absurd {
        Mock::given(method("POST"))
            .and(body_string_contains(address))
            .respond_with(ResponseTemplate::new(503).insert_header("Retry-After", retry_after))
            .mount(&server)
            .await;
    }
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(200).set_body_json(serde_json::json!({"id": "ok"})))
        .mount(&server)
        .await;
    let app = spawn_app_with_provider("resend", &server, &[]).await;
    let mut everyone: Vec<&str> = absurd.iter().map(|(a, _)| *a).collect();
    everyone.push("fine@example.com");
    for (i, address) in everyone.iter().enumerate() {
        app.add_user(&format!("u-{i}"), address, None).await;
        assert_eq!(app.forgot(address).await.status(), 202);
    }

    app.deliver().await;

    let before = app.clock.now_naive();
    for row in app.email_rows().await {
        let to = serde_json::from_str::<serde_json::Value>(&row.payload).unwrap()["to"]
            .as_str()
            .unwrap()
            .to_owned();
        if to == "fine@example.com" {
            assert_eq!(row.status, OutboxStatus::Sent);
            continue;
        }
        assert_eq!(row.status, OutboxStatus::Pending, "{to} is retried");
        let wait = row.next_attempt_at - before;
        assert!(
            wait <= chrono::TimeDelta::minutes(15) + chrono::TimeDelta::seconds(5),
            "{to}: Retry-After is capped at the backoff cap, not {wait}"
        );
    }
    // The worker is still there: the next due row goes out.
    app.add_user("u-late", "later@example.com", None).await;
    app.forgot("later@example.com").await;
    app.deliver().await;
    assert!(
        app.email_rows()
            .await
            .iter()
            .any(|r| r.payload.contains("later@example.com") && r.status == OutboxStatus::Sent)
    );
}

/// Sends by writing nothing, except that it panics for one address.
struct PanicsFor(&'static str);

impl Mailer for PanicsFor {
    fn send<'a>(&'a self, message: &'a EmailMessage) -> SendFuture<'a> {
        Box::pin(async move {
            assert_ne!(message.to, self.0, "a bug in the mailer");
            Ok(Some(format!("sent-{}", message.id)))
        })
    }

    fn name(&self) -> &'static str {
        "panics-for-one"
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_panic_in_one_row_is_that_rows_failure_and_the_next_row_goes_out() {
    let db = TestDatabase::new().await;
    let app = spawn_custom_app(
        db,
        Arc::new(tempfile::tempdir().unwrap()),
        |env| {
            env.insert("MAIL_MAX_ATTEMPTS".into(), "1".into());
        },
        AppOptions {
            mailer: Some(Arc::new(PanicsFor("boom@example.com"))),
            ..AppOptions::default()
        },
    )
    .await;
    app.add_user("u-1", "boom@example.com", None).await;
    app.add_user("u-2", "calm@example.com", None).await;
    app.forgot("boom@example.com").await;
    app.forgot("calm@example.com").await;

    app.deliver().await;

    let rows = app.email_rows().await;
    assert_eq!(rows.len(), 2);
    for row in rows {
        if row.payload.contains("boom@example.com") {
            assert_eq!(row.status, OutboxStatus::Dead);
            assert!(
                row.last_error
                    .as_deref()
                    .unwrap_or_default()
                    .contains("panicked")
            );
        } else {
            assert_eq!(row.status, OutboxStatus::Sent);
        }
    }
    let metrics = app.metrics_text().await;
    assert!(
        metrics.contains(r#"pwreset_outbox_deliveries_total{kind="email",outcome="dead"} 1"#),
        "{metrics}"
    );
}

/// Never finishes a send.
struct Hangs;

impl Mailer for Hangs {
    fn send<'a>(&'a self, _message: &'a EmailMessage) -> SendFuture<'a> {
        Box::pin(std::future::pending())
    }

    fn name(&self) -> &'static str {
        "hangs"
    }
}

/// An app whose own worker runs, sending through `mailer` one message at a
/// time (`MAIL_CONCURRENCY=1`), polling every 50 ms, with 1 s timeouts.
async fn app_sending_one_at_a_time(mailer: Arc<dyn Mailer>) -> TestApp {
    spawn_custom_app(
        TestDatabase::new().await,
        Arc::new(tempfile::tempdir().unwrap()),
        |env| {
            env.insert("OUTBOX_POLL_INTERVAL_MS".into(), "50".into());
            env.insert("MAIL_CONCURRENCY".into(), "1".into());
            env.insert("MAIL_CONNECT_TIMEOUT_SECS".into(), "1".into());
            env.insert("MAIL_TIMEOUT_SECS".into(), "1".into());
        },
        AppOptions {
            run_worker: true,
            mailer: Some(mailer),
            ..AppOptions::default()
        },
    )
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn readiness_fails_when_the_worker_stops_making_progress() {
    // One send at a time: the one that hangs holds every slot.
    let app = app_sending_one_at_a_time(Arc::new(Hangs)).await;
    assert_eq!(
        wait_for(Duration::from_secs(10), || async {
            app.ready_status().await == 200
        })
        .await,
        Some(()),
        "ready once the worker has run"
    );
    app.add_user("u-1", "stuck@example.com", None).await;
    app.forgot("stuck@example.com").await;
    assert_eq!(
        wait_for(Duration::from_secs(20), || async {
            app.ready_status().await == 503
        })
        .await,
        Some(()),
        "a worker stuck on one send is reported"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_batch_of_requests_settles_the_unanswerable_and_answers_the_live() {
    let app = spawn_app().await;
    app.add_user("u-1", "live@example.com", None).await;
    app.add_disabled_user("u-2", "disabled@example.com").await;
    for email in [
        "nobody-1@example.com",
        "live@example.com",
        "disabled@example.com",
        "nobody-2@example.com",
    ] {
        assert_eq!(app.forgot(email).await.status(), 202);
    }
    app.deliver().await;

    // Only the live account gets its email; the other requests are settled
    // in the same batch, nothing of them kept.
    let emails = app.emails();
    assert_eq!(emails.len(), 1, "only the live account is written to");
    assert_eq!(app.reset_emails_to("live@example.com").len(), 1);
    let requests = app.outbox_rows(OutboxKind::ResetRequest).await;
    assert_eq!(requests.len(), 4);
    for row in &requests {
        assert_eq!(row.status, OutboxStatus::Done, "{row:?}");
        assert_eq!(row.payload, "{}", "{row:?}");
        assert_eq!(row.locked_until, None, "{row:?}");
    }
    let metrics = app.metrics_text().await;
    assert!(
        metrics.contains(
            r#"pwreset_outbox_deliveries_total{kind="reset_request",outcome="skipped"} 3"#
        ),
        "{metrics}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_request_another_worker_holds_is_left_to_its_lease() {
    let app = spawn_app().await;
    assert_eq!(app.forgot("nobody@example.com").await.status(), 202);
    // Another worker claims the request and dies before deciding it.
    let now = app.clock.now_naive();
    let lease = app.worker.lease();
    let claimed = app
        .repo()
        .claim_due_outbox_rows(Due::ResetRequests, now, now + lease, 256)
        .await
        .unwrap();
    assert_eq!(claimed.len(), 1);

    assert_eq!(app.deliver().await, 0, "a live lease is respected");
    let row = &app.outbox_rows(OutboxKind::ResetRequest).await[0];
    assert_eq!(row.status, OutboxStatus::Pending);
    assert!(
        row.payload.contains("nobody@example.com"),
        "not settled yet"
    );

    app.clock.advance(lease.num_seconds() + 1);
    assert_eq!(app.deliver().await, 1);
    let row = &app.outbox_rows(OutboxKind::ResetRequest).await[0];
    assert_eq!(
        (row.status, row.payload.as_str()),
        (OutboxStatus::Done, "{}")
    );
    assert!(app.emails().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_request_row_that_is_not_json_goes_dead_and_the_others_are_still_answered() {
    let app = spawn_app().await;
    app.add_user("u-1", "live@example.com", None).await;
    app.db
        .execute(
            "INSERT INTO outbox (id, kind, payload, status, attempts, next_attempt_at, created_at) \
             VALUES ('00000000-0000-4000-8000-000000000001', 'reset_request', 'not json', \
                     'pending', 0, '2000-01-01 00:00:00', '2000-01-01 00:00:00')",
        )
        .await;
    assert_eq!(app.forgot("nobody@example.com").await.status(), 202);
    assert_eq!(app.forgot("live@example.com").await.status(), 202);

    app.deliver().await;

    assert_eq!(app.reset_emails_to("live@example.com").len(), 1);
    let requests = app.outbox_rows(OutboxKind::ResetRequest).await;
    assert_eq!(requests.len(), 3);
    for row in &requests {
        let expected = if row.payload == "not json" {
            OutboxStatus::Dead
        } else {
            OutboxStatus::Done
        };
        assert_eq!(row.status, expected, "{row:?}");
    }
}

/// A mailer that records each message it is handed and answers only when
/// the test lets it (one permit per answer).
struct Held {
    handed: std::sync::Mutex<Vec<String>>,
    answers: tokio::sync::Semaphore,
}

impl Mailer for Held {
    fn send<'a>(&'a self, message: &'a EmailMessage) -> SendFuture<'a> {
        self.handed.lock().unwrap().push(message.id.clone());
        Box::pin(async move {
            let _ = self.answers.acquire().await.unwrap();
            Ok(None)
        })
    }

    fn name(&self) -> &'static str {
        "held"
    }
}

/// Rows wait at the send gate beyond the sends in flight. One whose lease
/// runs out while it waits is not sent under that lease (another holder
/// may have it by then): it is sent once, by its next claim.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_row_whose_lease_ran_out_at_the_gate_is_sent_once_by_its_next_claim() {
    let mailer = Arc::new(Held {
        handed: std::sync::Mutex::default(),
        answers: tokio::sync::Semaphore::new(0),
    });
    // One send at a time: the second row waits at the gate.
    let app = app_sending_one_at_a_time(mailer.clone()).await;
    for i in 0..2 {
        let email = format!("waiting{i}@example.com");
        app.add_user(&format!("u-{i}"), &email, None).await;
        assert_eq!(app.forgot(&email).await.status(), 202);
    }
    // One send under way, both rows in the worker's hand.
    let in_hand = wait_for(Duration::from_secs(20), || async {
        let rows = app.email_rows().await;
        mailer.handed.lock().unwrap().len() == 1
            && rows.len() == 2
            && rows.iter().all(|r| r.locked_until.is_some())
    })
    .await;
    assert_eq!(in_hand, Some(()), "one row sending, one waiting");
    let first = mailer.handed.lock().unwrap()[0].clone();

    // Both leases run out; then the send under way answers.
    app.clock.advance(app.worker.lease().num_seconds() + 1);
    mailer.answers.add_permits(10);
    let all_sent = wait_for(Duration::from_secs(20), || async {
        app.email_rows()
            .await
            .iter()
            .all(|r| r.status == OutboxStatus::Sent)
    })
    .await;
    assert_eq!(all_sent, Some(()));
    let handed = mailer.handed.lock().unwrap().clone();
    assert_eq!(handed.len(), 2, "each row handed over once: {handed:?}");
    for row in app.email_rows().await {
        let expected = if row.id.to_string() == first { 1 } else { 2 };
        assert_eq!(
            row.attempts, expected,
            "the waiting row went out under its second claim: {row:?}"
        );
    }
}
