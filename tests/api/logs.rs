use crate::helpers::*;

/// Runs the whole flow (including refused passwords and forged links), then
/// greps everything the service logged for each secret it handled.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn logs_never_hold_tokens_passwords_hashes_or_keys() {
    let app = spawn_app().await;
    app.add_user("u-1", "secret-keeper@example.com", None).await;
    let jwt = app.request_link("secret-keeper@example.com").await;
    let weak = "password1234";
    let _ = app.reset(&jwt, weak).await;
    let _ = app.reset(&format!("{jwt}x"), STRONG_PASSWORD).await;
    assert_eq!(app.reset(&jwt, STRONG_PASSWORD).await.status(), 200);
    let _ = app.reset(&jwt, OTHER_STRONG_PASSWORD).await;
    app.deliver().await;

    let hash = app.user("u-1").await.password_hash.unwrap();
    let payload = jwt.split('.').nth(1).unwrap();
    let claims: serde_json::Value = serde_json::from_slice(
        &base64::Engine::decode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, payload)
            .unwrap(),
    )
    .unwrap();
    let rtk = claims["rtk"].as_str().unwrap().to_owned();

    for (format, logs) in captured_logs_in_both_formats() {
        assert_no_secrets(format, &logs, &jwt, &hash, &rtk, &app.jwt_secret, weak);
    }
}

fn assert_no_secrets(
    format: &str,
    logs: &str,
    jwt: &str,
    hash: &str,
    rtk: &str,
    signing_key: &str,
    weak: &str,
) {
    let payload = jwt.split('.').nth(1).unwrap();
    let signature = jwt.rsplit('.').next().unwrap();
    assert!(
        logs.contains("password reset for user u-1"),
        "the flow was logged at all ({format})"
    );
    for (name, secret) in [
        ("JWT", jwt),
        ("JWT payload", payload),
        ("JWT signature", signature),
        ("random token", rtk),
        ("new password", STRONG_PASSWORD),
        ("refused password", weak),
        ("other password", OTHER_STRONG_PASSWORD),
        ("bcrypt hash", hash),
        ("signing key", signing_key),
    ] {
        assert!(
            !logs.contains(secret),
            "the {name} appears in the logs ({format})"
        );
    }
}

/// Receivers' and providers' URLs may carry credentials (user-info, a key in
/// the query string): failures are logged and recorded without them.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn urls_are_logged_without_credentials() {
    // Nothing listens on port 1: every attempt fails and is logged.
    let app = spawn_app_with(|env| {
        env.insert(
            "WEBHOOK_URLS".into(),
            "http://hook-user:hunter2-pass@127.0.0.1:1/in?token=webhook-s3cret".into(),
        );
        env.insert("WEBHOOK_SECRET".into(), WEBHOOK_SECRET.into());
        env.insert("MAIL_PROVIDER".into(), "http".into());
        env.insert(
            "MAIL_API_BASE_URL".into(),
            "http://mail-user:mail-pass@127.0.0.1:1/send?key=mail-s3cret".into(),
        );
    })
    .await;
    app.add_user("u-1", "someone@example.com", None).await;
    let response = app
        .internal(reqwest::Method::POST, "/internal/v1/reset-requests")
        .json(&serde_json::json!({"user_id": "u-1"}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 202);
    app.deliver().await;

    let rows = app.repo().list_outbox(None, 100).await.unwrap();
    let errors: Vec<&str> = rows
        .iter()
        .filter_map(|r| r.last_error.as_deref())
        .collect();
    assert!(errors.len() >= 2, "both deliveries failed: {errors:?}");
    for (format, logs) in captured_logs_in_both_formats() {
        assert!(
            logs.contains("127.0.0.1:1/in"),
            "the receiver is named ({format})"
        );
        for secret in [
            "hunter2-pass",
            "webhook-s3cret",
            "mail-pass",
            "mail-s3cret",
            "hook-user",
            "mail-user",
        ] {
            assert!(!logs.contains(secret), "{secret} reached the {format} log");
            assert!(
                errors.iter().all(|e| !e.contains(secret)),
                "{secret} reached last_error: {errors:?}"
            );
        }
    }
}

/// A client cannot write a log line of its own: CR/LF and ANSI escapes in
/// every request value that reaches a log come out escaped.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn request_values_cannot_forge_log_lines_or_terminal_escapes() {
    use base64::Engine;
    let app = spawn_app().await;
    let forged = "[2026-01-01T00:00:00Z INFO  pwreset] forged line";
    let b64 = |v: serde_json::Value| {
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v.to_string())
    };
    for (field, value) in [
        ("alg", format!("HS256\r\n{forged}\u{1b}[2J")),
        ("typ", format!("x\n{forged}\u{1b}]0;owned\u{7}")),
        ("kid", format!("k\r{forged}")),
    ] {
        let mut header = serde_json::json!({"alg": "HS256", "typ": "pwreset+jwt", "kid": "k"});
        header[field] = value.into();
        let jwt = format!(
            "{}.{}.c2ln",
            b64(header),
            b64(serde_json::json!({"sub": "u"}))
        );
        assert_problem(app.validate(&jwt).await, 400, "invalid_token").await;
    }
    let response = app
        .client
        .get(app.url("/internal/v1/users/a%0d%0a%1b%5b31mforged"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 401);

    for line in captured_json_logs().lines() {
        let value: serde_json::Value = serde_json::from_str(line)
            .unwrap_or_else(|e| panic!("a JSON log line that is not one object ({e}): {line}"));
        assert!(value.is_object(), "{line}");
        assert!(
            !value["msg"]
                .as_str()
                .unwrap()
                .contains(['\r', '\n', '\u{1b}', '\u{7}']),
            "a raw control character in a message: {line}"
        );
    }
    let logs = captured_logs();
    assert!(
        logs.contains("forged line"),
        "the values were logged, escaped"
    );
    for line in logs.lines() {
        assert!(
            !line.trim_start().starts_with("[2026-01-01"),
            "a forged line: {line}"
        );
    }
    assert!(!logs.contains('\r'), "no carriage return");
    assert!(
        !logs.contains('\u{1b}') && !logs.contains('\u{7}'),
        "no terminal escapes"
    );
}
