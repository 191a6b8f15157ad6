use crate::helpers::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn links_come_from_configuration_never_from_request_headers() {
    let app = spawn_app().await;
    app.add_user("u-1", "victim@example.com", None).await;
    let response = app
        .client
        .post(app.url("/api/auth/forgot-password/"))
        .header("Host", "evil.test")
        .header("X-Forwarded-Host", "evil.test")
        .header("X-Forwarded-Proto", "http")
        .header("Forwarded", "host=evil.test;proto=http")
        .json(&serde_json::json!({"email": "victim@example.com"}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 202);
    app.deliver().await;
    let email = &app.reset_emails_to("victim@example.com")[0];
    assert!(
        email
            .reset_link()
            .starts_with("https://app.example.test/reset-password?token=")
    );
    assert!(!email.text.contains("evil.test") && !email.html.contains("evil.test"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_link_template_puts_the_token_where_the_spa_wants_it() {
    let app = spawn_app_with(|env| {
        env.insert(
            "RESET_LINK_TEMPLATE".into(),
            "https://spa.example.test/#/reset?token={token}".into(),
        );
    })
    .await;
    app.add_user("u-1", "spa@example.com", None).await;
    let token = app.request_link("spa@example.com").await;
    let link = app.reset_emails_to("spa@example.com")[0].reset_link();
    assert_eq!(
        link,
        format!("https://spa.example.test/#/reset?token={token}")
    );
    assert_eq!(app.validate(&token).await.status(), 200);
}
