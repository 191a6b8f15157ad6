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
    let signature = jwt.rsplit('.').next().unwrap().to_owned();

    let logs = captured_logs();
    assert!(
        logs.contains("password reset for user u-1"),
        "the flow was logged at all"
    );
    for (name, secret) in [
        ("JWT", jwt.as_str()),
        ("JWT payload", payload),
        ("JWT signature", signature.as_str()),
        ("random token", rtk.as_str()),
        ("new password", STRONG_PASSWORD),
        ("refused password", weak),
        ("other password", OTHER_STRONG_PASSWORD),
        ("bcrypt hash", hash.as_str()),
        ("signing key", app.jwt_secret.as_str()),
    ] {
        assert!(!logs.contains(secret), "the {name} appears in the logs");
    }
}
