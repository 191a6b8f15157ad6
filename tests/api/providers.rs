//! Each email provider, against a local fake of its API: the exact wire
//! format, tracking off, idempotency where the provider supports it, and the
//! provider's message id recorded.

use serde_json::{Value, json};
use wiremock::matchers::{
    basic_auth, body_partial_json, body_string_contains, header, method, path,
};
use wiremock::{Mock, MockServer, Request, ResponseTemplate};

use crate::helpers::*;

async fn one_reset_through(provider: &str, server: &MockServer) -> (TestApp, Request) {
    let app = spawn_app_with_provider(provider, server, &[]).await;
    app.add_user("u-1", "reader@example.com", None).await;
    assert_eq!(app.forgot("reader@example.com").await.status(), 202);
    app.deliver().await;
    let requests = server.received_requests().await.unwrap();
    assert_eq!(requests.len(), 1, "{provider}: exactly one request");
    let rows = app.email_rows().await;
    assert_eq!(rows.len(), 1);
    assert_eq!(
        rows[0].status,
        OutboxStatus::Sent,
        "{provider}: {:?}",
        rows[0].last_error
    );
    (app, requests.into_iter().next().unwrap())
}

async fn link_works(app: &TestApp, text_body: &str) {
    let token = token_in(text_body);
    assert_eq!(app.validate(&token).await.status(), 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postmark_gets_its_wire_format_with_tracking_off() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/email"))
        .and(header("X-Postmark-Server-Token", "test-api-key"))
        .and(header("Accept", "application/json"))
        .and(body_partial_json(json!({
            "From": "no-reply@example.test",
            "To": "reader@example.com",
            "Subject": "Reset your Acme password",
            "MessageStream": "outbound",
            "TrackLinks": "None",
            "TrackOpens": false,
        })))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({"MessageID": "pm-123", "ErrorCode": 0})),
        )
        .expect(1)
        .mount(&server)
        .await;
    let (app, request) = one_reset_through("postmark", &server).await;
    let body: Value = request.body_json().unwrap();
    assert!(
        body["HtmlBody"]
            .as_str()
            .unwrap()
            .contains("href=\"https://app.example.test/reset-password?token=")
    );
    link_works(&app, body["TextBody"].as_str().unwrap()).await;
    assert_eq!(
        app.email_rows().await[0].provider_message_id.as_deref(),
        Some("pm-123")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sendgrid_gets_its_wire_format_with_tracking_off() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v3/mail/send"))
        .and(header("Authorization", "Bearer test-api-key"))
        .and(body_partial_json(json!({
            "personalizations": [{"to": [{"email": "reader@example.com"}]}],
            "from": {"email": "no-reply@example.test"},
            "subject": "Reset your Acme password",
            "tracking_settings": {
                "click_tracking": {"enable": false, "enable_text": false},
                "open_tracking": {"enable": false},
            },
        })))
        .respond_with(ResponseTemplate::new(202).insert_header("X-Message-Id", "sg-456"))
        .expect(1)
        .mount(&server)
        .await;
    let (app, request) = one_reset_through("sendgrid", &server).await;
    let body: Value = request.body_json().unwrap();
    assert_eq!(body["content"][0]["type"], "text/plain");
    assert_eq!(body["content"][1]["type"], "text/html");
    link_works(&app, body["content"][0]["value"].as_str().unwrap()).await;
    assert_eq!(
        app.email_rows().await[0].provider_message_id.as_deref(),
        Some("sg-456")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mailgun_gets_a_form_with_basic_auth_and_tracking_off() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v3/mg.example.test/messages"))
        .and(basic_auth("api", "test-api-key"))
        .and(header("Content-Type", "application/x-www-form-urlencoded"))
        .and(body_string_contains("o%3Atracking-clicks=no"))
        .and(body_string_contains("to=reader%40example.com"))
        .and(body_string_contains("from=no-reply%40example.test"))
        .respond_with(ResponseTemplate::new(200).set_body_json(
            json!({"id": "<mg-789@mg.example.test>", "message": "Queued. Thank you."}),
        ))
        .expect(1)
        .mount(&server)
        .await;
    let (app, request) = one_reset_through("mailgun", &server).await;
    let form: Vec<(String, String)> = url::form_urlencoded::parse(&request.body)
        .into_owned()
        .collect();
    let field = |k: &str| {
        form.iter()
            .find(|(n, _)| n == k)
            .map(|(_, v)| v.clone())
            .unwrap()
    };
    assert_eq!(field("subject"), "Reset your Acme password");
    assert_eq!(field("o:tracking-opens"), "no");
    assert!(field("html").contains("href=\"https://app.example.test/reset-password?token="));
    link_works(&app, &field("text")).await;
    assert_eq!(
        app.email_rows().await[0].provider_message_id.as_deref(),
        Some("<mg-789@mg.example.test>")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn resend_gets_its_wire_format_and_the_outbox_id_as_idempotency_key() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/emails"))
        .and(header("Authorization", "Bearer test-api-key"))
        .and(body_partial_json(json!({
            "from": "no-reply@example.test",
            "to": ["reader@example.com"],
            "subject": "Reset your Acme password",
        })))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"id": "rs-1"})))
        .expect(1)
        .mount(&server)
        .await;
    let (app, request) = one_reset_through("resend", &server).await;
    let row = &app.email_rows().await[0];
    assert_eq!(request.headers["idempotency-key"], row.id.as_str());
    let body: Value = request.body_json().unwrap();
    link_works(&app, body["text"].as_str().unwrap()).await;
    assert_eq!(row.provider_message_id.as_deref(), Some("rs-1"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mailpit_gets_its_send_api_format() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/api/v1/send"))
        .and(body_partial_json(json!({
            "From": {"Email": "no-reply@example.test"},
            "To": [{"Email": "reader@example.com"}],
            "Subject": "Reset your Acme password",
        })))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"ID": "mp-1"})))
        .expect(1)
        .mount(&server)
        .await;
    let (app, request) = one_reset_through("mailpit", &server).await;
    let body: Value = request.body_json().unwrap();
    assert!(
        body["HTML"]
            .as_str()
            .unwrap()
            .contains("Choose a new password")
    );
    link_works(&app, body["Text"].as_str().unwrap()).await;
    assert_eq!(
        app.email_rows().await[0].provider_message_id.as_deref(),
        Some("mp-1")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_generic_http_provider_posts_json_with_bearer_key_and_idempotency_key() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/send"))
        .and(header("Authorization", "Bearer test-api-key"))
        .and(body_partial_json(json!({
            "from": "no-reply@example.test",
            "to": "reader@example.com",
            "subject": "Reset your Acme password",
        })))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"id": "in-house-1"})))
        .expect(1)
        .mount(&server)
        .await;
    let (app, request) = one_reset_through("http", &server).await;
    let row = &app.email_rows().await[0];
    let body: Value = request.body_json().unwrap();
    assert_eq!(body["idempotency_key"], row.id.as_str());
    assert_eq!(request.headers["idempotency-key"], row.id.as_str());
    link_works(&app, body["text"].as_str().unwrap()).await;
    assert_eq!(row.provider_message_id.as_deref(), Some("in-house-1"));
}
