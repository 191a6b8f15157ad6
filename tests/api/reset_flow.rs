use pwreset::domain::OutboxId;
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_user_resets_their_password_through_the_emailed_link() {
    let app = spawn_app().await;
    app.add_user(
        "u-1",
        "alice@example.com",
        Some("old password that is long"),
    )
    .await;

    let response = app.forgot("Alice@Example.com").await;
    assert_eq!(response.status(), StatusCode::ACCEPTED);
    let body: Value = response.json().await.unwrap();
    assert_eq!(
        body,
        json!({"detail": "If an account exists for this email, a password reset link has been sent."})
    );
    assert!(
        app.emails().is_empty(),
        "the request path never sends the email itself"
    );

    app.deliver().await;
    let emails = app.reset_emails_to("alice@example.com");
    assert_eq!(emails.len(), 1);
    let email = &emails[0];
    assert!(
        email
            .reset_link()
            .starts_with(&format!("{FRONTEND_URL}/reset-password?token="))
    );
    assert!(
        email.text.contains("60 minutes"),
        "the email states the lifetime"
    );
    assert!(
        email
            .html
            .contains("href=\"https://app.example.test/reset-password?token=")
    );
    let token = email.reset_token();
    let sent_row = app
        .repo()
        .outbox_row(&OutboxId::from_operator(&email.id))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(sent_row.status, OutboxStatus::Sent);
    assert!(
        !sent_row.payload.contains("sealed"),
        "a sent row keeps no trace of the token"
    );

    let response = app.validate(&token).await;
    assert_eq!(response.status(), StatusCode::OK);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["valid"], true);
    let expires_at =
        chrono::DateTime::parse_from_rfc3339(body["expires_at"].as_str().unwrap()).unwrap();
    let lifetime = expires_at.timestamp() - chrono::Utc::now().timestamp();
    assert!(
        (3590..=3600).contains(&lifetime),
        "expires in about an hour: {lifetime}"
    );
    // Validating twice consumes nothing.
    assert_eq!(app.validate(&token).await.status(), StatusCode::OK);

    let response = app.reset(&token, STRONG_PASSWORD).await;
    assert_eq!(response.status(), StatusCode::OK);
    let body: Value = response.json().await.unwrap();
    assert_eq!(
        body,
        json!({"detail": "Password has been reset successfully."})
    );

    let user = app.user("u-1").await;
    assert!(bcrypt::verify(STRONG_PASSWORD, user.password_hash.as_deref().unwrap()).unwrap());
    assert!(user.password_changed_at.is_some());

    // Single use.
    assert_problem(
        app.reset(&token, OTHER_STRONG_PASSWORD).await,
        400,
        "invalid_token",
    )
    .await;
    assert_problem(app.validate(&token).await, 400, "invalid_token").await;
    let user = app.user("u-1").await;
    assert!(bcrypt::verify(STRONG_PASSWORD, user.password_hash.as_deref().unwrap()).unwrap());

    // The owner hears about it.
    app.deliver().await;
    let notices: Vec<_> = app
        .emails()
        .into_iter()
        .filter(|e| e.to == "alice@example.com" && e.subject.contains("was changed"))
        .collect();
    assert_eq!(notices.len(), 1);
    assert!(notices[0].text.contains("If this wasn't you"));
    assert!(!notices[0].text.contains("token="));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_seed_paths_work_with_and_without_trailing_slash() {
    let app = spawn_app().await;
    app.add_user("u-1", "user@example.com", None).await;
    for path in ["/api/auth/forgot-password/", "/api/auth/forgot-password"] {
        let response = app
            .post_json(path, &json!({"email": "user@example.com"}))
            .await;
        assert_eq!(response.status(), StatusCode::ACCEPTED, "{path}");
    }
    app.deliver().await;
    let tokens: Vec<String> = app
        .reset_emails_to("user@example.com")
        .iter()
        .map(|e| e.reset_token())
        .collect();
    assert_eq!(tokens.len(), 2);
    for path in [
        "/api/auth/reset-password/validate/",
        "/api/auth/reset-password/validate",
    ] {
        let response = app.post_json(path, &json!({"token": tokens[0]})).await;
        assert_eq!(response.status(), StatusCode::OK, "{path}");
    }
    let response = app
        .post_json(
            "/api/auth/reset-password",
            &json!({"token": tokens[1], "new_password": STRONG_PASSWORD, "confirm_password": STRONG_PASSWORD}),
        )
        .await;
    assert_eq!(response.status(), StatusCode::OK);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_password_leaves_the_link_usable() {
    let app = spawn_app().await;
    app.add_user("u-1", "jordan.miller@example.com", None).await;
    let token = app.request_link("jordan.miller@example.com").await;

    let cases: &[(&str, &str)] = &[
        ("password1234", "too easy to guess"),
        ("qwertyuiop[]asdf", "too easy to guess"),
        ("zzzzzzzzzzzzzzzzzzzz", "too easy to guess"),
        ("jordan.miller.example", "too similar to your email"),
        ("Jordan-Miller-1990!", "too similar to your email"),
        ("short", "at least 12 characters"),
        (
            &"long-enough-but-way-too-long-for-bcrypt-".repeat(2),
            "at most 72 bytes",
        ),
    ];
    for (password, why) in cases {
        let body =
            assert_problem(app.reset(&token, password).await, 400, "validation_failed").await;
        let messages = body["errors"]["new_password"].to_string();
        assert!(messages.contains(why), "{password}: {messages}");
    }
    let body = assert_problem(
        app.post_json(
            "/api/auth/reset-password/",
            &json!({"token": token, "new_password": STRONG_PASSWORD, "confirm_password": OTHER_STRONG_PASSWORD}),
        )
        .await,
        400,
        "validation_failed",
    )
    .await;
    assert!(
        body["errors"]["confirm_password"]
            .to_string()
            .contains("didn't match")
    );
    assert!(
        app.user("u-1").await.password_hash.is_none(),
        "nothing was stored"
    );

    assert_eq!(app.validate(&token).await.status(), StatusCode::OK);
    assert_eq!(
        app.reset(&token, STRONG_PASSWORD).await.status(),
        StatusCode::OK
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn of_sixteen_concurrent_resets_with_one_link_exactly_one_wins() {
    let app = spawn_app().await;
    app.add_user("u-1", "race@example.com", None).await;
    let token = app.request_link("race@example.com").await;

    let passwords: Vec<String> = (0..16)
        .map(|i| format!("{STRONG_PASSWORD}-{i:02}"))
        .collect();
    let responses =
        futures_util::future::join_all(passwords.iter().map(|p| app.reset(&token, p))).await;
    let mut winners = Vec::new();
    for (i, response) in responses.into_iter().enumerate() {
        match response.status().as_u16() {
            200 => winners.push(i),
            400 => {
                assert_problem(response, 400, "invalid_token").await;
            }
            other => panic!("request {i}: unexpected status {other}"),
        }
    }
    assert_eq!(winners.len(), 1, "exactly one winner: {winners:?}");
    let hash = app.user("u-1").await.password_hash.unwrap();
    assert!(
        bcrypt::verify(&passwords[winners[0]], &hash).unwrap(),
        "the winner's password is stored"
    );
    app.deliver().await;
    let notices = app
        .emails()
        .into_iter()
        .filter(|e| e.subject.contains("was changed"))
        .count();
    assert_eq!(notices, 1, "one notice for one change");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reset_kills_every_other_outstanding_link() {
    let app = spawn_app().await;
    app.add_user("u-1", "many@example.com", None).await;
    let first = app.request_link("many@example.com").await;
    let second = app.request_link("many@example.com").await;
    let third = app.request_link("many@example.com").await;
    // Several outstanding links are allowed: an older email keeps working.
    for token in [&first, &second, &third] {
        assert_eq!(app.validate(token).await.status(), StatusCode::OK);
    }
    assert_eq!(
        app.reset(&second, STRONG_PASSWORD).await.status(),
        StatusCode::OK
    );
    for token in [&first, &third] {
        assert_problem(app.validate(token).await, 400, "invalid_token").await;
        assert_problem(
            app.reset(token, OTHER_STRONG_PASSWORD).await,
            400,
            "invalid_token",
        )
        .await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_disabled_user_cannot_use_an_earlier_link() {
    let app = spawn_app().await;
    app.add_user("u-1", "gone@example.com", None).await;
    let token = app.request_link("gone@example.com").await;
    let response = app
        .put_user(
            "u-1",
            json!({"email": "gone@example.com", "disabled": true}),
        )
        .await;
    assert_eq!(response.status(), 200);
    app.assert_link_refused(&token).await;
    assert!(app.user("u-1").await.password_hash.is_none());
}
