//! What a backend service learns about the reset emails it asked for: the id
//! in the 202, the record behind it (queued, sent, dead), and the
//! `email.delivery.failed` event. Never a token, a link or an address.

use serde_json::{Value, json};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::helpers::*;

const ADDRESS: &str = "record-keeper@example.com";

impl TestApp {
    /// `POST /internal/v1/reset-requests` by email; the id it answered.
    async fn emailed_reset(&self) -> String {
        let response = self.service_reset(json!({ "user_id": "u-1" })).await;
        assert_eq!(response.status(), 202);
        let body: Value = response.json().await.unwrap();
        assert!(body["expires_at"].is_string() && body["user_id"] == "u-1");
        body["id"].as_str().unwrap().to_owned()
    }

    async fn record(&self, id: &str) -> reqwest::Response {
        self.internal(
            reqwest::Method::GET,
            &format!("/internal/v1/reset-requests/{id}"),
        )
        .send()
        .await
        .unwrap()
    }

    /// The record, checked to hold nothing secret; as JSON.
    async fn record_json(&self, id: &str) -> Value {
        let response = self.record(id).await;
        assert_eq!(response.status(), 200);
        let text = response.text().await.unwrap();
        for secret in ["token", "eyJ", "http", ADDRESS] {
            assert!(!text.contains(secret), "{secret} in the record: {text}");
        }
        serde_json::from_str(&text).unwrap()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_service_follows_its_emailed_reset_from_queued_to_sent() {
    let server = MockServer::start().await;
    mount_failures_then(
        &server,
        ResponseTemplate::new(500),
        1,
        ResponseTemplate::new(200).set_body_json(json!({"id": "rs-42"})),
    )
    .await;
    let app = spawn_app_with_provider("resend", &server, &[]).await;
    app.add_user("u-1", ADDRESS, None).await;
    let id = app.emailed_reset().await;

    let queued = app.record_json(&id).await;
    assert_eq!(queued["id"], id.as_str());
    assert_eq!(queued["status"], "queued");
    assert_eq!(queued["user_id"], "u-1");
    assert_eq!(queued["attempts"], 0);
    assert!(queued["next_attempt_at"].is_string() && queued.get("reason").is_none());

    app.deliver().await;
    let retrying = app.record_json(&id).await;
    assert_eq!(
        (&retrying["status"], &retrying["attempts"]),
        (&json!("queued"), &json!(1))
    );
    assert!(
        retrying["reason"].as_str().unwrap().contains("500"),
        "{retrying}"
    );

    app.clock.advance(3);
    app.deliver().await;
    let sent = app.record_json(&id).await;
    assert_eq!(sent["status"], "sent");
    assert_eq!(sent["provider_message_id"], "rs-42");
    assert_eq!(sent["attempts"], 2);
    assert!(sent["sent_at"].is_string() && sent.get("reason").is_none());
    // The email that was sent is the one this id names.
    let requests = server.received_requests().await.unwrap();
    assert_eq!(
        requests.last().unwrap().headers["idempotency-key"],
        id.as_str()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dead_reset_email_says_why_and_is_announced_when_asked_for() {
    let provider = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(
            ResponseTemplate::new(422)
                .set_body_json(json!({"message": "The recipient's domain does not accept mail"})),
        )
        .mount(&provider)
        .await;
    let receiver = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/hooks"))
        .respond_with(ResponseTemplate::new(204))
        .mount(&receiver)
        .await;
    let hooks = format!("{}/hooks", receiver.uri());
    let app = spawn_app_with_provider(
        "resend",
        &provider,
        &[
            ("WEBHOOK_URLS", &hooks),
            ("WEBHOOK_SECRET", WEBHOOK_SECRET),
            ("WEBHOOK_EVENTS", "email.delivery.failed"),
        ],
    )
    .await;
    app.add_user("u-1", ADDRESS, None).await;
    let id = app.emailed_reset().await;
    app.deliver().await;

    let dead = app.record_json(&id).await;
    assert_eq!(
        (&dead["status"], &dead["attempts"]),
        (&json!("dead"), &json!(1))
    );
    let reason = dead["reason"].as_str().unwrap();
    assert!(
        reason.contains("422") && reason.contains("does not accept mail"),
        "{reason}"
    );

    let requests = receiver.received_requests().await.unwrap();
    let events = verified_events(&requests);
    assert_eq!(events.len(), 1, "one event for one dead email");
    let event = &events[0];
    assert_eq!(event["type"], "email.delivery.failed");
    assert_eq!(event["data"]["request_id"], id.as_str());
    assert_eq!(event["data"]["user_id"], "u-1");
    assert_eq!(event["data"]["reason"], reason);
    let text = String::from_utf8_lossy(&requests[0].body);
    assert!(!text.contains(ADDRESS) && !text.contains("token"), "{text}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_opting_in_a_dead_email_sends_no_event() {
    let provider = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(400))
        .mount(&provider)
        .await;
    let receiver = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(204))
        .mount(&receiver)
        .await;
    let hooks = receiver.uri();
    let app = spawn_app_with_provider(
        "resend",
        &provider,
        &[("WEBHOOK_URLS", &hooks), ("WEBHOOK_SECRET", WEBHOOK_SECRET)],
    )
    .await;
    app.add_user("u-1", ADDRESS, None).await;
    let id = app.emailed_reset().await;
    app.deliver().await;
    assert_eq!(app.record_json(&id).await["status"], "dead");
    let events = verified_events(&receiver.received_requests().await.unwrap());
    let types: Vec<&str> = events.iter().map(|e| e["type"].as_str().unwrap()).collect();
    assert_eq!(
        types,
        ["password.reset.requested"],
        "the default events only"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_emailed_resets_have_records_and_only_for_callers_with_a_key() {
    let app = spawn_app().await;
    app.add_user("u-1", ADDRESS, None).await;
    let id = app.emailed_reset().await;
    app.deliver().await;
    let token = app.request_link(ADDRESS).await;
    assert_eq!(app.reset(&token, STRONG_PASSWORD).await.status(), 200);
    app.deliver().await;
    assert_eq!(app.record_json(&id).await["status"], "sent");

    // The password-changed notice and the forgot-password request are rows
    // too, but not emailed resets a service asked for: no record.
    let others: Vec<String> = app
        .repo()
        .list_outbox(None, 100)
        .await
        .unwrap()
        .into_iter()
        .filter(|r| r.kind != OutboxKind::Email || r.payload.contains("password_changed"))
        .map(|r| r.id.to_string())
        .collect();
    assert!(others.len() >= 2, "{others:?}");
    for other in others.iter().map(String::as_str).chain([
        "6f1d7c2e-8f0a-4c55-9a43-3f1b2c9d0e11",
        "not-a-uuid",
        "%27%20OR%201%3D1",
    ]) {
        assert_problem(app.record(other).await, 404, "reset_request_not_found").await;
    }
    let anonymous = app
        .client
        .get(app.url(&format!("/internal/v1/reset-requests/{id}")))
        .send()
        .await
        .unwrap();
    assert_problem(anonymous, 401, "unauthorized").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_record_is_kept_for_the_retention_period_then_forgotten() {
    let app = spawn_app().await;
    app.add_user("u-1", ADDRESS, None).await;
    let id = app.emailed_reset().await;
    app.deliver().await;
    app.clock.advance(6 * 24 * 3600);
    app.worker.prune().await;
    assert_eq!(app.record_json(&id).await["status"], "sent");
    app.clock.advance(2 * 24 * 3600);
    app.worker.prune().await;
    assert_problem(app.record(&id).await, 404, "reset_request_not_found").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_corrupt_record_is_a_server_error_never_a_made_up_answer() {
    let app = spawn_app().await;
    app.add_user("u-1", ADDRESS, None).await;

    // Settled sent, but the time it was sent is gone: no sent_at is invented.
    let sent = app.emailed_reset().await;
    app.deliver().await;
    assert_eq!(app.record_json(&sent).await["status"], "sent");
    app.db
        .execute(&format!(
            "UPDATE outbox SET sent_at = NULL WHERE id = '{sent}'"
        ))
        .await;
    // Dead with no reason: no empty reason is invented.
    let dead = app.emailed_reset().await;
    app.db
        .execute(&format!(
            "UPDATE outbox SET status = 'dead', last_error = NULL WHERE id = '{dead}'"
        ))
        .await;
    // A payload that cannot be read: not "no such record".
    let unreadable = app.emailed_reset().await;
    app.db
        .execute(&format!(
            "UPDATE outbox SET payload = 'not json' WHERE id = '{unreadable}'"
        ))
        .await;

    for id in [&sent, &dead, &unreadable] {
        let body = assert_problem(app.record(id).await, 500, "internal_error").await;
        assert!(
            !body.to_string().contains("corrupt"),
            "no internal text: {body}"
        );
    }
    assert!(captured_logs().contains(&format!("outbox row {unreadable} is corrupt")));
}
