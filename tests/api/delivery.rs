//! Delivery that neither loses nor duplicates mail: retries, Retry-After,
//! permanent failures, timeouts, outages, several workers, crashed workers.

use std::time::Duration;

use pwreset::storage::leases::Due;
use serde_json::json;
use wiremock::matchers::method;
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::helpers::*;

fn ok() -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_json(json!({"id": "ok"}))
}

async fn requests(server: &MockServer) -> Vec<wiremock::Request> {
    server.received_requests().await.unwrap()
}

fn recipient(request: &wiremock::Request) -> String {
    request.body_json::<serde_json::Value>().unwrap()["to"][0]
        .as_str()
        .unwrap()
        .to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_500_then_a_200_delivers_the_email_once() {
    let server = MockServer::start().await;
    mount_failures_then(&server, ResponseTemplate::new(500), 1, ok()).await;
    let app = spawn_app_with_provider("resend", &server, &[]).await;
    app.add_user("u-1", "retry@example.com", None).await;
    assert_eq!(app.forgot("retry@example.com").await.status(), 202);

    app.deliver().await;
    assert_eq!(requests(&server).await.len(), 1);
    let row = &app.email_rows().await[0];
    assert_eq!((row.status.as_str(), row.attempts), ("pending", 1));
    assert!(row.last_error.as_deref().unwrap().contains("500"));

    app.clock.advance(3); // past the first backoff (at most 2 s)
    app.deliver().await;
    app.clock.advance(3600 - 10);
    app.deliver().await;
    let all = requests(&server).await;
    assert_eq!(all.len(), 2, "one failure, one success, nothing after");
    assert_eq!(
        all[0].headers["idempotency-key"], all[1].headers["idempotency-key"],
        "same key on retry"
    );
    let row = &app.email_rows().await[0];
    assert_eq!((row.status.as_str(), row.attempts), ("sent", 2));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_429_is_not_retried_before_its_retry_after() {
    let server = MockServer::start().await;
    mount_failures_then(
        &server,
        ResponseTemplate::new(429).insert_header("Retry-After", "120"),
        1,
        ok(),
    )
    .await;
    let app = spawn_app_with_provider("resend", &server, &[]).await;
    app.add_user("u-1", "patient@example.com", None).await;
    app.forgot("patient@example.com").await;
    app.deliver().await;
    assert_eq!(requests(&server).await.len(), 1);

    app.clock.advance(100);
    app.deliver().await;
    assert_eq!(requests(&server).await.len(), 1, "not before Retry-After");

    app.clock.advance(21);
    app.deliver().await;
    assert_eq!(requests(&server).await.len(), 2);
    assert_eq!(app.email_rows().await[0].status, OutboxStatus::Sent);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn permanent_refusals_go_dead_at_once_with_the_reason() {
    for status in [400, 401, 403, 404, 413, 422] {
        let server = MockServer::start().await;
        Mock::given(method("POST"))
            .respond_with(
                ResponseTemplate::new(status)
                    .set_body_json(json!({"message": "recipient is not allowed"})),
            )
            .mount(&server)
            .await;
        let app = spawn_app_with_provider("resend", &server, &[]).await;
        app.add_user("u-1", "refused@example.com", None).await;
        app.forgot("refused@example.com").await;
        app.deliver().await;
        app.clock.advance(3600);
        app.deliver().await;
        assert_eq!(requests(&server).await.len(), 1, "{status}: never retried");
        let row = &app.email_rows().await[0];
        assert_eq!(row.status, OutboxStatus::Dead, "{status}");
        let error = row.last_error.as_deref().unwrap();
        assert!(
            error.contains(&status.to_string()) && error.contains("recipient is not allowed"),
            "{error}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slow_provider_times_out_and_is_retried() {
    let server = MockServer::start().await;
    mount_failures_then(&server, ok().set_delay(Duration::from_secs(5)), 1, ok()).await;
    let app = spawn_app_with_provider("resend", &server, &[("MAIL_TIMEOUT_SECS", "1")]).await;
    app.add_user("u-1", "slow@example.com", None).await;
    app.forgot("slow@example.com").await;
    app.deliver().await;
    let row = &app.email_rows().await[0];
    assert_eq!(row.status, OutboxStatus::Pending);
    assert!(
        row.last_error.as_deref().unwrap().contains("timed out"),
        "{:?}",
        row.last_error
    );

    app.clock.advance(3);
    app.deliver().await;
    assert_eq!(app.email_rows().await[0].status, OutboxStatus::Sent);
    assert_eq!(requests(&server).await.len(), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn requests_accepted_during_an_outage_are_each_delivered_exactly_once() {
    let server = MockServer::start().await;
    mount_failures_then(&server, ResponseTemplate::new(503), 12, ok()).await;
    let app = spawn_app_with_provider("resend", &server, &[]).await;
    let people: Vec<String> = (0..5).map(|i| format!("person{i}@example.com")).collect();
    for (i, email) in people.iter().enumerate() {
        app.add_user(&format!("u-{i}"), email, None).await;
        assert_eq!(app.forgot(email).await.status(), 202);
    }
    for _ in 0..12 {
        app.deliver().await;
        app.clock.advance(60);
    }
    let all = requests(&server).await;
    assert_eq!(
        all.len(),
        12 + 5,
        "12 refused during the outage, then one success each"
    );
    let delivered: Vec<String> = all[12..].iter().map(recipient).collect();
    for email in &people {
        assert_eq!(
            delivered.iter().filter(|r| *r == email).count(),
            1,
            "{email}"
        );
    }
    assert!(
        app.email_rows()
            .await
            .iter()
            .all(|r| r.status == OutboxStatus::Sent)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_workers_on_one_database_send_each_row_once() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ok().set_delay(Duration::from_millis(20)))
        .mount(&server)
        .await;
    let first = spawn_app_with_provider("resend", &server, &[]).await;
    // Replicas share the database and the signing key.
    let secret = first.jwt_secret.clone();
    let second = spawn_app_on(
        first.db.clone(),
        std::sync::Arc::new(tempfile::tempdir().unwrap()),
        |env| {
            env.insert("JWT_SECRET".into(), secret);
            env.insert("MAIL_PROVIDER".into(), "resend".into());
            env.insert("MAIL_API_KEY".into(), "test-api-key".into());
            env.insert("MAIL_API_BASE_URL".into(), server.uri());
        },
    )
    .await;
    let people: Vec<String> = (0..30).map(|i| format!("crowd{i}@example.com")).collect();
    for (i, email) in people.iter().enumerate() {
        first.add_user(&format!("u-{i}"), email, None).await;
        assert_eq!(first.forgot(email).await.status(), 202);
    }
    // Each takes a batch, then both drain the rest side by side.
    let a = first.worker.run_once().await.unwrap();
    let b = second.worker.run_once().await.unwrap();
    assert!(a > 0 && b > 0, "both workers took part: {a} and {b}");
    let (a, b) = tokio::join!(
        first.worker.run_until_idle(),
        second.worker.run_until_idle()
    );
    a.unwrap();
    b.unwrap();
    first.deliver().await;
    let delivered: Vec<String> = requests(&server).await.iter().map(recipient).collect();
    assert_eq!(delivered.len(), 30);
    for email in &people {
        assert_eq!(
            delivered.iter().filter(|r| *r == email).count(),
            1,
            "{email}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_crashed_workers_lease_is_taken_over_after_it_expires() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ok())
        .mount(&server)
        .await;
    let app = spawn_app_with_provider("resend", &server, &[]).await;
    app.add_user("u-1", "orphan@example.com", None).await;
    app.forgot("orphan@example.com").await;
    assert_eq!(app.worker.run_once().await.unwrap(), 1); // the request becomes an email row

    // Another worker claims the email and dies before settling it.
    let now = app.clock.now_naive();
    let lease = app.worker.lease();
    let claimed = app
        .repo()
        .claim_due_outbox_rows(Due::Deliveries, now, now + lease, 16)
        .await
        .unwrap();
    assert_eq!(claimed.len(), 1);

    app.deliver().await;
    assert!(
        requests(&server).await.is_empty(),
        "a live lease is respected"
    );

    app.clock.advance(lease.num_seconds() + 1);
    app.deliver().await;
    assert_eq!(requests(&server).await.len(), 1);
    let row = &app.email_rows().await[0];
    assert_eq!((row.status.as_str(), row.attempts), ("sent", 2));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mail_gives_up_after_the_configured_attempts() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(502))
        .mount(&server)
        .await;
    let app = spawn_app_with_provider("resend", &server, &[("MAIL_MAX_ATTEMPTS", "3")]).await;
    app.add_user("u-1", "unlucky@example.com", None).await;
    app.forgot("unlucky@example.com").await;
    for _ in 0..6 {
        app.deliver().await;
        app.clock.advance(30);
    }
    assert_eq!(requests(&server).await.len(), 3);
    let row = &app.email_rows().await[0];
    assert_eq!((row.status.as_str(), row.attempts), ("dead", 3));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_broken_template_override_refuses_start_up_with_file_and_line() {
    let templates = tempfile::tempdir().unwrap();
    std::fs::write(
        templates.path().join("reset.html"),
        "<p>hello</p>\n<a href=\"{{ link }\">x</a>\n",
    )
    .unwrap();
    let db = TestDatabase::new().await;
    let mail = tempfile::tempdir().unwrap();
    let mut env = base_env(&db, mail.path(), &test_secret());
    env.insert(
        "MAIL_TEMPLATE_DIR".into(),
        templates.path().to_str().unwrap().into(),
    );
    let settings = pwreset::config::Settings::from_map(&env).unwrap();
    let err = pwreset::startup::Application::build(settings, pwreset::clock::Clock::system())
        .await
        .err()
        .expect("start-up refused")
        .to_string();
    assert!(err.contains("reset.html line 2"), "{err}");
}
