//! Backend services provision users, start resets and revoke links with
//! their own keys.

use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::*;

async fn app() -> TestApp {
    spawn_app_with(with_services).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_the_right_key_every_internal_route_answers_the_same_401() {
    let app = app().await;
    app.add_user("u-1", "user@example.com", None).await;
    let almost = |k: &str| {
        let mut k = k.to_owned();
        let last = k.pop().unwrap();
        k.push(if last == 'Z' { 'Y' } else { 'Z' });
        k
    };
    let headers: Vec<Option<String>> = vec![
        None,
        Some("Bearer".into()),
        Some("Bearer ".into()),
        Some("Bearer wrong-key-0123456789abcdefghij".into()),
        Some(format!("Bearer {}", almost(BILLING_KEY))),
        Some(format!("Bearer {}", &BILLING_KEY[..BILLING_KEY.len() - 1])),
        Some(format!("Bearer {BILLING_KEY}x")),
        Some(format!("Bearer {}", BILLING_KEY.to_uppercase())),
        Some(format!("Basic {BILLING_KEY}")),
        Some(BILLING_KEY.to_owned()),
        Some(format!("Bearer billing:{BILLING_KEY}")),
    ];
    let routes = [
        (Method::PUT, "/internal/v1/users/u-1"),
        (Method::DELETE, "/internal/v1/users/u-1"),
        (Method::POST, "/internal/v1/reset-requests"),
        (Method::DELETE, "/internal/v1/users/u-1/reset-tokens"),
        (Method::GET, "/internal/v1/secret-admin-route"),
        (Method::GET, "/internal"),
    ];
    let mut bodies = Vec::new();
    for (method, path) in &routes {
        for header in &headers {
            let mut request = app
                .client
                .request(method.clone(), app.url(path))
                .header("Content-Type", "text/plain")
                .body("not json");
            if let Some(h) = header {
                request = request.header("Authorization", h);
            }
            let response = request.send().await.unwrap();
            assert_eq!(response.headers()["www-authenticate"], "Bearer");
            bodies.push(assert_problem(response, 401, "unauthorized").await);
        }
    }
    assert!(
        bodies.windows(2).all(|w| w[0] == w[1]),
        "one answer for every refusal"
    );
    assert!(
        app.user("u-1").await.email == "user@example.com",
        "nothing changed"
    );

    // With the key, an unknown route is a plain 404.
    let response = app
        .internal(Method::GET, "/internal/v1/secret-admin-route")
        .send()
        .await
        .unwrap();
    assert_problem(response, 404, "not_found").await;
    let logs = captured_logs();
    assert!(logs.contains("internal API: billing calls GET /internal/v1/secret-admin-route"));
    assert!(!logs.contains(BILLING_KEY), "keys never reach the log");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_no_keys_configured_the_internal_api_is_closed() {
    let app = spawn_app_with(|env| {
        env.remove("SERVICE_API_KEYS");
    })
    .await;
    let response = app.put_user("u-1", json!({"email": "a@example.com"})).await;
    assert_problem(response, 401, "unauthorized").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn services_create_update_and_delete_users() {
    let app = app().await;
    let response = app
        .put_user("ext-42", json!({"email": "New.User@Example.com"}))
        .await;
    assert_eq!(response.status(), 201);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["id"], "ext-42");
    assert_eq!(body["email"], "new.user@example.com");
    assert_eq!(body["has_password"], false);
    assert!(
        body.get("password_hash").is_none(),
        "hashes never leave the service"
    );

    let hash = bcrypt::hash(STRONG_PASSWORD, 4).unwrap();
    let response = app
        .put_user(
            "ext-42",
            json!({"email": "new.user@example.com", "password_hash": hash}),
        )
        .await;
    assert_eq!(response.status(), 200);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["has_password"], true);
    assert!(app.password_is("ext-42", STRONG_PASSWORD).await);

    // An email that belongs to someone else.
    assert_eq!(
        app.put_user("ext-43", json!({"email": "other@example.com"}))
            .await
            .status(),
        201
    );
    assert_problem(
        app.put_user("ext-43", json!({"email": "new.user@example.com"}))
            .await,
        409,
        "email_taken",
    )
    .await;
    assert_problem(
        app.put_user("ext-44", json!({"email": "NEW.user@example.com"}))
            .await,
        409,
        "email_taken",
    )
    .await;
    assert_eq!(app.user("ext-43").await.email, "other@example.com");

    let response = app
        .internal(Method::DELETE, "/internal/v1/users/ext-43")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 204);
    assert!(app.find_user("ext-43").await.is_none());
    let response = app
        .internal(Method::DELETE, "/internal/v1/users/ext-43")
        .send()
        .await
        .unwrap();
    assert_problem(response, 404, "user_not_found").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_user_bodies_get_field_errors_and_change_nothing() {
    let app = app().await;
    let cases = [
        (json!({}), "email"),
        (json!({"email": "not an email"}), "email"),
        (json!({"email": ["a@example.com"]}), "email"),
        (
            json!({"email": "a@example.com", "password_hash": "hunter2hunter2"}),
            "password_hash",
        ),
        (
            json!({"email": "a@example.com", "password_hash": 42}),
            "password_hash",
        ),
        (
            json!({"email": "a@example.com", "password_hash": "$2b$12$short"}),
            "password_hash",
        ),
        (
            json!({"email": "a@example.com", "disabled": "yes"}),
            "disabled",
        ),
    ];
    for (body, field) in cases {
        let problem = assert_problem(
            app.put_user("u-9", body.clone()).await,
            400,
            "validation_failed",
        )
        .await;
        assert!(problem["errors"][field].is_array(), "{body}: {problem}");
    }
    let response = app
        .internal(Method::PUT, "/internal/v1/users/u-9")
        .header("Content-Type", "application/json")
        .body("{")
        .send()
        .await
        .unwrap();
    assert_problem(response, 400, "malformed_request").await;
    assert_problem(
        app.put_user(&"x".repeat(300), json!({"email": "a@example.com"}))
            .await,
        400,
        "validation_failed",
    )
    .await;
    assert!(app.find_user("u-9").await.is_none());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_support_link_validates_and_resets_through_the_public_api() {
    let app = app().await;
    app.put_user("u-1", json!({"email": "help-me@example.com"}))
        .await;
    let response = app
        .service_reset(json!({"user_id": "u-1", "delivery": "link"}))
        .await;
    assert_eq!(response.status(), 201);
    let body: Value = response.json().await.unwrap();
    let token = body["token"].as_str().unwrap();
    assert_eq!(
        body["reset_url"],
        format!("{FRONTEND_URL}/reset-password?token={token}")
    );
    let expires_at =
        chrono::DateTime::parse_from_rfc3339(body["expires_at"].as_str().unwrap()).unwrap();
    assert!((expires_at.timestamp() - chrono::Utc::now().timestamp() - 3600).abs() <= 2);

    app.deliver().await;
    assert!(app.emails().is_empty(), "a link delivery emails nothing");
    assert_eq!(app.validate(token).await.status(), 200);
    assert_eq!(app.reset(token, STRONG_PASSWORD).await.status(), 200);
    assert_problem(app.validate(token).await, 400, "invalid_token").await;

    // By email, with a shorter lifetime, sent through the outbox.
    let response = app
        .service_reset(json!({"email": "HELP-ME@example.com", "ttl_seconds": 600}))
        .await;
    assert_eq!(response.status(), 202);
    app.deliver().await;
    let emails = app.reset_emails_to("help-me@example.com");
    assert_eq!(emails.len(), 1);
    assert!(
        emails[0].text.contains("10 minutes"),
        "the email states this link's lifetime"
    );
    let token = emails[0].reset_token();
    app.clock.advance(601);
    assert_problem(app.validate(&token).await, 400, "invalid_token").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reset_requests_for_unknown_or_disabled_users_are_refused_plainly() {
    let app = app().await;
    app.put_user("u-1", json!({"email": "off@example.com", "disabled": true}))
        .await;
    assert_problem(
        app.service_reset(json!({"user_id": "nobody"})).await,
        404,
        "user_not_found",
    )
    .await;
    assert_problem(
        app.service_reset(json!({"email": "nobody@example.com"}))
            .await,
        404,
        "user_not_found",
    )
    .await;
    assert_problem(
        app.service_reset(json!({"user_id": "u-1", "delivery": "link"}))
            .await,
        409,
        "user_disabled",
    )
    .await;
    for (body, field) in [
        (json!({}), "non_field_errors"),
        (
            json!({"user_id": "u-1", "email": "off@example.com"}),
            "non_field_errors",
        ),
        (json!({"user_id": "u-1", "delivery": "sms"}), "delivery"),
        (json!({"user_id": "u-1", "ttl_seconds": 10}), "ttl_seconds"),
        (
            json!({"user_id": "u-1", "ttl_seconds": 10_000_000}),
            "ttl_seconds",
        ),
        (
            json!({"user_id": "u-1", "ttl_seconds": "600"}),
            "ttl_seconds",
        ),
    ] {
        let problem = assert_problem(
            app.service_reset(body.clone()).await,
            400,
            "validation_failed",
        )
        .await;
        assert!(problem["errors"][field].is_array(), "{body}: {problem}");
    }
    assert_eq!(app.outbox_len().await, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn revocation_email_change_disable_and_deletion_kill_outstanding_links() {
    let app = app().await;
    app.put_user("u-1", json!({"email": "a@example.com"})).await;

    let token = support_link(&app).await;
    let response = app
        .internal(Method::DELETE, "/internal/v1/users/u-1/reset-tokens")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 204);
    assert_problem(app.validate(&token).await, 400, "invalid_token").await;

    let token = support_link(&app).await;
    assert_eq!(
        app.put_user("u-1", json!({"email": "a@example.com"}))
            .await
            .status(),
        200
    );
    assert_eq!(
        app.validate(&token).await.status(),
        200,
        "an unchanged PUT revokes nothing"
    );
    assert_eq!(
        app.put_user("u-1", json!({"email": "b@example.com"}))
            .await
            .status(),
        200
    );
    assert_problem(app.validate(&token).await, 400, "invalid_token").await;

    let token = support_link(&app).await;
    assert_eq!(
        app.put_user("u-1", json!({"email": "b@example.com", "disabled": true}))
            .await
            .status(),
        200
    );
    assert_problem(app.validate(&token).await, 400, "invalid_token").await;
    assert_eq!(
        app.put_user("u-1", json!({"email": "b@example.com", "disabled": false}))
            .await
            .status(),
        200
    );

    let token = support_link(&app).await;
    assert_eq!(
        app.internal(Method::DELETE, "/internal/v1/users/u-1")
            .send()
            .await
            .unwrap()
            .status(),
        204
    );
    assert_problem(app.validate(&token).await, 400, "invalid_token").await;

    let response = app
        .internal(Method::DELETE, "/internal/v1/users/u-1/reset-tokens")
        .send()
        .await
        .unwrap();
    assert_problem(response, 404, "user_not_found").await;
}

async fn support_link(app: &TestApp) -> String {
    let response = app
        .service_reset(json!({"user_id": "u-1", "delivery": "link"}))
        .await;
    let body: Value = response.json().await.unwrap();
    body["token"].as_str().unwrap().to_owned()
}
