//! Bad requests get a clear 4xx in problem+json and change nothing.

use serde_json::json;

use crate::helpers::*;

const JSON_PATHS: [&str; 3] = [
    "/api/auth/forgot-password/",
    "/api/auth/reset-password/validate/",
    "/api/auth/reset-password/",
];

async fn assert_nothing_changed(app: &TestApp) {
    assert_eq!(app.outbox_len().await, 0, "nothing was queued");
    app.deliver().await;
    assert!(app.emails().is_empty(), "nothing was mailed");
    assert!(
        app.user("u-1").await.password_hash.is_none(),
        "no password was stored"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_bodies_get_400_and_change_nothing() {
    let app = spawn_app().await;
    app.add_user("u-1", "user@example.com", None).await;
    for path in JSON_PATHS {
        for raw in ["{", "{\"email\": }", "nul", "[1,2", "\u{0}"] {
            let response = app
                .client
                .post(app.url(path))
                .header("Content-Type", "application/json")
                .body(raw)
                .send()
                .await
                .unwrap();
            assert_problem(response, 400, "malformed_request").await;
        }
        for body in [
            json!([]),
            json!(["user@example.com"]),
            json!(null),
            json!(42),
            json!("user@example.com"),
        ] {
            let problem =
                assert_problem(app.post_json(path, &body).await, 400, "validation_failed").await;
            assert!(
                problem["errors"]["non_field_errors"].is_array(),
                "{path} {body}"
            );
        }
    }
    assert_nothing_changed(&app).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_email_fields_get_a_message_for_the_field() {
    let app = spawn_app().await;
    app.add_user("u-1", "user@example.com", None).await;
    let cases = [
        (json!({}), "required"),
        (json!({"email": null}), "required"),
        (json!({"email": ""}), "blank"),
        (json!({"email": 42}), "Must be a string"),
        (json!({"email": true}), "Must be a string"),
        (json!({"email": ["user@example.com"]}), "Must be a string"),
        (
            json!({"email": ["user@example.com", "attacker@evil.test"]}),
            "Must be a string",
        ),
        (json!({"email": {"$ne": null}}), "Must be a string"),
        (
            json!({"email": "user@example.com\r\nBcc: attacker@evil.test"}),
            "line breaks",
        ),
        (
            json!({"email": "user@example.com\nattacker@evil.test"}),
            "line breaks",
        ),
        (
            json!({"email": "user@example.com,attacker@evil.test"}),
            "valid email",
        ),
        (json!({"email": "not an email"}), "spaces"),
        (json!({"email": "no-at-sign"}), "valid email"),
        (
            json!({"email": format!("{}@example.com", "a".repeat(300))}),
            "254",
        ),
    ];
    for (body, why) in cases {
        let problem = assert_problem(app.forgot_raw(&body).await, 400, "validation_failed").await;
        let messages = problem["errors"]["email"].to_string();
        assert!(messages.contains(why), "{body}: {messages}");
    }
    assert_nothing_changed(&app).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn missing_or_mistyped_reset_fields_are_named() {
    let app = spawn_app().await;
    app.add_user("u-1", "user@example.com", None).await;
    let problem = assert_problem(
        app.post_json("/api/auth/reset-password/", &json!({})).await,
        400,
        "validation_failed",
    )
    .await;
    for field in ["token", "new_password", "confirm_password"] {
        assert!(
            problem["errors"][field].to_string().contains("required"),
            "{field}: {problem}"
        );
    }
    let problem = assert_problem(
        app.post_json(
            "/api/auth/reset-password/",
            &json!({"token": ["a"], "new_password": 123456789012345_u64, "confirm_password": {"x": 1}}),
        )
        .await,
        400,
        "validation_failed",
    )
    .await;
    for field in ["token", "new_password", "confirm_password"] {
        assert!(
            problem["errors"][field]
                .to_string()
                .contains("Must be a string"),
            "{field}: {problem}"
        );
    }
    let problem = assert_problem(
        app.post_json("/api/auth/reset-password/validate/", &json!({"token": 1}))
            .await,
        400,
        "validation_failed",
    )
    .await;
    assert!(problem["errors"]["token"].is_array());
    assert_nothing_changed(&app).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_content_type_size_method_and_path_get_their_own_status() {
    let app = spawn_app().await;
    app.add_user("u-1", "user@example.com", None).await;
    for path in JSON_PATHS {
        for content_type in [
            None,
            Some("text/plain"),
            Some("application/x-www-form-urlencoded"),
            Some("multipart/form-data; boundary=x"),
        ] {
            let mut request = app
                .client
                .post(app.url(path))
                .body("email=user%40example.com");
            if let Some(ct) = content_type {
                request = request.header("Content-Type", ct);
            }
            assert_problem(request.send().await.unwrap(), 415, "unsupported_media_type").await;
        }
        let huge = json!({ "email": format!("{}@example.com", "a".repeat(20 * 1024)) });
        assert_problem(app.post_json(path, &huge).await, 413, "payload_too_large").await;
        for method in [
            reqwest::Method::GET,
            reqwest::Method::PUT,
            reqwest::Method::DELETE,
            reqwest::Method::PATCH,
        ] {
            let response = app
                .client
                .request(method.clone(), app.url(path))
                .send()
                .await
                .unwrap();
            assert_problem(response, 405, "method_not_allowed").await;
        }
    }
    let response = app
        .client
        .get(app.url("/api/auth/nope"))
        .send()
        .await
        .unwrap();
    assert_problem(response, 404, "not_found").await;
    assert_nothing_changed(&app).await;
}

/// Sends `body` in chunks of 1 KiB (no Content-Length) and returns the
/// status line and the rest of the answer.
async fn post_chunked(app: &TestApp, content_type: &str, body: &str) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let address = app.address.trim_start_matches("http://");
    let mut stream = tokio::net::TcpStream::connect(address).await.unwrap();
    let mut request = format!(
        "POST /api/auth/forgot-password/ HTTP/1.1\r\nHost: pwreset\r\n\
         Content-Type: {content_type}\r\nTransfer-Encoding: chunked\r\n\
         Connection: close\r\n\r\n"
    );
    for chunk in body.as_bytes().chunks(1024) {
        request.push_str(&format!("{:x}\r\n", chunk.len()));
        request.push_str(std::str::from_utf8(chunk).unwrap());
        request.push_str("\r\n");
    }
    request.push_str("0\r\n\r\n");
    // The server may answer and close before the whole body is written.
    let _ = stream.write_all(request.as_bytes()).await;
    let mut answer = Vec::new();
    let _ = stream.read_to_end(&mut answer).await;
    String::from_utf8_lossy(&answer).into_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_body_that_declares_no_length_is_read_and_limited_all_the_same() {
    let app = spawn_app().await;
    app.add_user("u-1", "user@example.com", None).await;
    let huge = json!({ "email": format!("{}@example.com", "a".repeat(20 * 1024)) });
    let answer = post_chunked(&app, "application/json", &huge.to_string()).await;
    assert!(answer.starts_with("HTTP/1.1 413"), "{answer}");
    assert!(answer.contains("payload_too_large"), "{answer}");
    let broken = post_chunked(&app, "application/json", r#"{"email": "user@exa"#).await;
    assert!(broken.starts_with("HTTP/1.1 400"), "{broken}");
    assert!(broken.contains("malformed_request"), "{broken}");
    assert_nothing_changed(&app).await;

    // A JSON body in several chunks, under a JSON media type with a
    // parameter, is read whole.
    let padded = format!("{{\"email\": \"user@example.com\"{}}}", " ".repeat(3000));
    let answer = post_chunked(&app, "application/json; charset=utf-8", &padded).await;
    assert!(answer.starts_with("HTTP/1.1 202"), "{answer}");
    app.deliver().await;
    assert_eq!(app.reset_emails_to("user@example.com").len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_answer_carries_the_security_headers() {
    let app = spawn_app().await;
    let responses = vec![
        app.forgot("someone@example.com").await,
        app.validate("garbage").await,
        app.client.get(app.url("/healthz")).send().await.unwrap(),
        app.client.get(app.url("/nowhere")).send().await.unwrap(),
        app.client
            .post(app.url("/api/auth/forgot-password/"))
            .body("x")
            .send()
            .await
            .unwrap(),
    ];
    for response in responses {
        let h = response.headers();
        assert_eq!(h["cache-control"], "no-store", "{}", response.url());
        assert_eq!(h["x-content-type-options"], "nosniff");
        assert_eq!(h["referrer-policy"], "no-referrer");
    }
}

impl TestApp {
    async fn forgot_raw(&self, body: &serde_json::Value) -> reqwest::Response {
        self.post_json("/api/auth/forgot-password/", body).await
    }
}
