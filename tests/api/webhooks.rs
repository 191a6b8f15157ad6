//! Signed events for other services, verified by an independent
//! implementation of Standard Webhooks.

use serde_json::{Value, json};
use standardwebhooks::Webhook;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::helpers::*;

async fn app_with_receivers(receivers: &[&MockServer]) -> TestApp {
    let urls: Vec<String> = receivers
        .iter()
        .map(|s| format!("{}/hooks/pwreset", s.uri()))
        .collect();
    spawn_app_with(move |env| {
        with_services(env);
        env.insert("WEBHOOK_URLS".into(), urls.join(","));
        env.insert("WEBHOOK_SECRET".into(), WEBHOOK_SECRET.into());
    })
    .await
}

/// A user provisioned by a service, whose password is then reset through
/// a link the service asked for (one `password.reset.requested` and one
/// `password.reset.completed` per receiver).
async fn reset_through_a_service_link(app: &TestApp) {
    app.put_user("u-1", json!({"email": "svc@example.com"}))
        .await;
    let link: Value = app
        .service_reset(json!({"user_id": "u-1", "delivery": "link"}))
        .await
        .json()
        .await
        .unwrap();
    let token = link["token"].as_str().unwrap();
    assert_eq!(app.reset(token, STRONG_PASSWORD).await.status(), 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_completed_reset_is_announced_with_a_verifiable_signature() {
    let receiver = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/hooks/pwreset"))
        .respond_with(ResponseTemplate::new(204))
        .mount(&receiver)
        .await;
    let app = app_with_receivers(&[&receiver]).await;
    app.add_user("u-1", "owner@example.com", None).await;
    let token = app.request_link("owner@example.com").await;
    assert_eq!(app.reset(&token, STRONG_PASSWORD).await.status(), 200);
    app.deliver().await;

    let requests = receiver.received_requests().await.unwrap();
    let events = verified_events(&requests);
    let types: Vec<&str> = events.iter().map(|e| e["type"].as_str().unwrap()).collect();
    assert_eq!(
        types,
        ["password.reset.requested", "password.reset.completed"]
    );
    for event in &events {
        assert_eq!(event["data"]["user_id"], "u-1");
        assert!(chrono::DateTime::parse_from_rfc3339(event["timestamp"].as_str().unwrap()).is_ok());
    }
    let hash = app.user("u-1").await.password_hash.unwrap();
    for request in &requests {
        let body = String::from_utf8_lossy(&request.body);
        assert!(
            !body.contains(&token) && !body.contains("token") && !body.contains(&hash),
            "{body}"
        );
        assert!(!body.contains(STRONG_PASSWORD) && !body.contains("owner@example.com"));
    }
    // A tampered body fails the independent check.
    let mut forged = requests[1].clone();
    forged.body = json!({"type": "password.reset.completed", "data": {"user_id": "admin"}})
        .to_string()
        .into_bytes();
    assert!(
        Webhook::new(WEBHOOK_SECRET)
            .unwrap()
            .verify(&forged.body, &forged.headers)
            .is_err()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_event_for_addresses_without_an_account() {
    let receiver = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(200))
        .mount(&receiver)
        .await;
    let app = app_with_receivers(&[&receiver]).await;
    assert_eq!(app.forgot("ghost@example.com").await.status(), 202);
    app.deliver().await;
    assert!(receiver.received_requests().await.unwrap().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_receiver_that_fails_then_recovers_gets_each_event_once() {
    let flaky = MockServer::start().await;
    let steady = MockServer::start().await;
    mount_failures_then(
        &flaky,
        ResponseTemplate::new(503),
        2,
        ResponseTemplate::new(200),
    )
    .await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(200))
        .mount(&steady)
        .await;
    let app = app_with_receivers(&[&flaky, &steady]).await;
    reset_through_a_service_link(&app).await;
    for _ in 0..5 {
        app.deliver().await;
        app.clock.advance(30);
    }

    let steady_events = verified_events(&steady.received_requests().await.unwrap());
    assert_eq!(steady_events.len(), 2);
    let flaky_requests = flaky.received_requests().await.unwrap();
    assert_eq!(
        flaky_requests.len(),
        4,
        "two refusals, then each event once"
    );
    let delivered = verified_events(&flaky_requests[2..]);
    let mut types: Vec<&str> = delivered
        .iter()
        .map(|e| e["type"].as_str().unwrap())
        .collect();
    types.sort();
    assert_eq!(
        types,
        ["password.reset.completed", "password.reset.requested"]
    );
    // Every receiver sees the same event id for the same event.
    let id = |r: &wiremock::Request| r.headers["webhook-id"].to_str().unwrap().to_owned();
    let steady_ids: Vec<String> = steady
        .received_requests()
        .await
        .unwrap()
        .iter()
        .map(id)
        .collect();
    for r in &flaky_requests[2..] {
        assert!(steady_ids.contains(&id(r)));
    }
    let rows = app.repo().list_outbox(None, 100).await.unwrap();
    assert_eq!(
        rows.iter()
            .filter(|r| r.kind == OutboxKind::Webhook && r.status == OutboxStatus::Sent)
            .count(),
        4
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_receiver_that_cannot_be_reached_is_retried_with_the_cause_recorded() {
    // A port nothing listens on: bound, then closed.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let url = format!("http://127.0.0.1:{port}/hooks/pwreset");
    let app = spawn_app_with(move |env| {
        with_services(env);
        env.insert("WEBHOOK_URLS".into(), url);
        env.insert("WEBHOOK_SECRET".into(), WEBHOOK_SECRET.into());
    })
    .await;
    reset_through_a_service_link(&app).await;
    app.deliver().await;

    let rows = app.repo().list_outbox(None, 100).await.unwrap();
    let hooks: Vec<_> = rows
        .iter()
        .filter(|r| r.kind == OutboxKind::Webhook)
        .collect();
    assert!(!hooks.is_empty());
    for row in hooks {
        assert_eq!(row.status, OutboxStatus::Pending, "retried later");
        let error = row.last_error.as_deref().unwrap();
        assert!(error.contains("could not connect"), "{error}");
        // reqwest's cause, down to the operating system's refusal.
        assert!(error.to_lowercase().contains("refused"), "{error}");
    }
}
