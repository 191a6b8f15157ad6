//! One-time codes: beside every emailed link, the same token; for a person
//! who reads the email on another device than the one they asked on.

use serde_json::{Value, json};

use crate::helpers::*;

impl TestApp {
    async fn validate_code(&self, email: &str, code: &str) -> reqwest::Response {
        self.post_json(
            "/api/auth/reset-password/validate/",
            &json!({ "email": email, "code": code }),
        )
        .await
    }

    async fn reset_by_code(&self, email: &str, code: &str, password: &str) -> reqwest::Response {
        self.post_json(
            "/api/auth/reset-password/",
            &json!({ "email": email, "code": code,
                     "new_password": password, "confirm_password": password }),
        )
        .await
    }

    /// Asks for a link; returns the email's token and code.
    async fn request_link_and_code(&self, email: &str) -> (String, String) {
        let token = self.request_link(email).await;
        let mail = self
            .reset_emails_to(email)
            .into_iter()
            .find(|m| m.reset_token() == token)
            .unwrap();
        (token, mail.reset_code())
    }
}

fn digits(code: &str) -> String {
    code.chars().filter(char::is_ascii_digit).collect()
}

/// A code other than `code`, of the same length.
fn another(code: &str) -> String {
    digits(code)
        .chars()
        .map(|c| char::from(b'0' + (c as u8 - b'0' + 1) % 10))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_emailed_code_resets_the_password_once_and_spends_the_link_too() {
    let app = spawn_app().await;
    app.add_user("u-1", "owner@example.com", None).await;
    let (token, code) = app.request_link_and_code("owner@example.com").await;
    assert_eq!(code.len(), 9, "8 digits in two groups: {code:?}");
    let mail = app.reset_emails_to("owner@example.com").pop().unwrap();
    assert!(mail.html.contains(&code), "the HTML shows it too");
    assert!(
        !mail.subject.contains(&digits(&code)[..4]),
        "{}",
        mail.subject
    );

    // Typed as shown, with dashes, and with another case of the address.
    for typed in [
        code.clone(),
        digits(&code),
        format!("{}-{}", &code[..4], &code[5..]),
    ] {
        let response = app.validate_code("Owner@Example.com", &typed).await;
        assert_eq!(response.status(), 200, "{typed}");
        let body: Value = response.json().await.unwrap();
        assert_eq!(body["valid"], true);
    }
    assert_eq!(
        app.reset_by_code("owner@example.com", &code, STRONG_PASSWORD)
            .await
            .status(),
        200
    );
    assert!(app.password_is("u-1", STRONG_PASSWORD).await);
    // The same token: the link is spent, and so is the code.
    app.assert_link_refused(&token).await;
    assert_problem(
        app.reset_by_code("owner@example.com", &code, OTHER_STRONG_PASSWORD)
            .await,
        400,
        "invalid_token",
    )
    .await;
    let metrics = app.metrics_text().await;
    assert!(metrics.contains(r#"pwreset_reset_codes_total{outcome="used"} 1"#));

    // And the other way round: a used link spends its code.
    let (token, code) = app.request_link_and_code("owner@example.com").await;
    assert_eq!(app.reset(&token, OTHER_STRONG_PASSWORD).await.status(), 200);
    assert_problem(
        app.validate_code("owner@example.com", &code).await,
        400,
        "invalid_token",
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_code_failure_is_the_same_invalid_token() {
    let app = spawn_app().await;
    app.add_user("u-1", "owner@example.com", None).await;
    app.add_disabled_user("u-2", "off@example.com").await;
    let (_, code) = app.request_link_and_code("owner@example.com").await;
    let mut bodies = Vec::new();
    for (email, typed) in [
        ("owner@example.com", another(&code)),
        ("nobody@example.com", digits(&code)),
        ("off@example.com", digits(&code)),
        ("owner@example.com", "12ab5678".to_owned()),
        ("owner@example.com", "123".to_owned()),
    ] {
        let body =
            assert_problem(app.validate_code(email, &typed).await, 400, "invalid_token").await;
        bodies.push(body);
    }
    assert!(bodies.windows(2).all(|w| w[0] == w[1]), "{bodies:?}");
    // The right code still works: the wrong ones were one try.
    assert_eq!(
        app.validate_code("owner@example.com", &code).await.status(),
        200
    );

    // A body is the link or the code, never both, never half.
    for (body, field) in [
        (
            json!({"token": "x", "email": "owner@example.com", "code": code}),
            "token",
        ),
        (json!({"email": "owner@example.com"}), "code"),
        (json!({"code": code}), "email"),
        (json!({"email": "not an address", "code": code}), "email"),
        (json!({}), "token"),
    ] {
        let refused = assert_problem(
            app.post_json("/api/auth/reset-password/validate/", &body)
                .await,
            400,
            "validation_failed",
        )
        .await;
        assert!(refused["errors"][field].is_array(), "{body}: {refused}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_code_dies_after_its_tries_counted_before_comparing_even_concurrently() {
    // The limits are off in this app: the code's bounds hold regardless.
    let app = spawn_app().await;
    app.add_user("u-1", "owner@example.com", None).await;
    let (token, code) = app.request_link_and_code("owner@example.com").await;
    let wrong = another(&code);
    let tries = (0..5).map(|_| app.validate_code("owner@example.com", &wrong));
    for response in futures_util::future::join_all(tries).await {
        assert_eq!(response.status(), 400);
    }
    // Five wrong tries, however they raced: the right code is now dead.
    assert_problem(
        app.reset_by_code("owner@example.com", &code, STRONG_PASSWORD)
            .await,
        400,
        "invalid_token",
    )
    .await;
    // The link still works.
    assert_eq!(app.validate(&token).await.status(), 200);
    let metrics = app.metrics_text().await;
    assert!(
        metrics.contains(r#"pwreset_reset_codes_total{outcome="wrong"} 5"#),
        "{metrics}"
    );
    assert!(metrics.contains(r#"pwreset_reset_codes_total{outcome="dead"} 1"#));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn past_twenty_wrong_codes_an_hour_every_code_of_the_account_is_refused_but_links_work() {
    let app = spawn_app_with(|env| {
        env.insert("RESET_CODE_MAX_ATTEMPTS".into(), "10".into());
        env.insert("RESET_TOKEN_TTL_SECS".into(), "7200".into());
    })
    .await;
    app.add_user("u-1", "owner@example.com", None).await;
    for _ in 0..2 {
        let (_, code) = app.request_link_and_code("owner@example.com").await;
        for _ in 0..10 {
            app.validate_code("owner@example.com", &another(&code))
                .await;
        }
    }
    // Twenty wrong codes: a fresh code, right, is refused for the hour.
    let (token, code) = app.request_link_and_code("owner@example.com").await;
    assert_problem(
        app.validate_code("owner@example.com", &code).await,
        400,
        "invalid_token",
    )
    .await;
    let metrics = app.metrics_text().await;
    assert!(
        metrics.contains(r#"pwreset_reset_codes_total{outcome="capped"} 1"#),
        "{metrics}"
    );
    // The owner's link works.
    assert_eq!(app.validate(&token).await.status(), 200);
    app.clock.advance(61 * 60);
    assert_eq!(
        app.validate_code("owner@example.com", &code).await.status(),
        200
    );
    assert_eq!(
        app.reset_by_code("owner@example.com", &code, STRONG_PASSWORD)
            .await
            .status(),
        200
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_length_and_the_subject_line_are_the_operators_choice() {
    let app = spawn_app_with(|env| {
        env.insert("RESET_CODE_LENGTH".into(), "6".into());
        env.insert("RESET_CODE_IN_SUBJECT".into(), "true".into());
    })
    .await;
    app.add_user("u-1", "owner@example.com", None).await;
    let (_, code) = app.request_link_and_code("owner@example.com").await;
    assert_eq!(digits(&code).len(), 6);
    assert_eq!(code.len(), 7, "{code:?}");
    let mail = app.reset_emails_to("owner@example.com").pop().unwrap();
    assert!(mail.subject.contains(&code), "{}", mail.subject);
    assert_eq!(
        app.validate_code("owner@example.com", &code).await.status(),
        200
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_hosted_code_page_resets_and_explains_a_code_that_does_not_work() {
    let app = spawn_app().await;
    app.add_user("u-1", "owner@example.com", None).await;
    let (_, code) = app.request_link_and_code("owner@example.com").await;

    let form = app.page("/reset-password", "de").await;
    assert_eq!(form.status(), 200);
    let html = form.text().await.unwrap();
    assert!(html.contains(r#"id="code-form""#) && html.contains("Code aus der E-Mail"));
    assert!(html.contains(r#"autocomplete="one-time-code""#));
    let invalid = app
        .page("/reset-password?token=forged.token.here", "en")
        .await;
    assert!(
        invalid
            .text()
            .await
            .unwrap()
            .contains(r#"href="/reset-password""#)
    );

    let fields = |code: &str| {
        vec![
            ("email".to_owned(), "owner@example.com".to_owned()),
            ("code".to_owned(), code.to_owned()),
            ("new_password".to_owned(), STRONG_PASSWORD.to_owned()),
            ("confirm_password".to_owned(), STRONG_PASSWORD.to_owned()),
        ]
    };
    let post = |fields: Vec<(String, String)>| {
        let request = app.client.post(app.url("/reset-password")).form(&fields);
        async move { request.send().await.unwrap() }
    };
    let refused = post(fields(&another(&code))).await;
    assert_eq!(refused.status(), 400);
    let html = refused.text().await.unwrap();
    assert!(html.contains("This code does not work"), "{html}");
    assert!(html.contains(r#"value="owner@example.com""#) || html.contains("owner@example.com"));
    assert!(!html.contains(STRONG_PASSWORD));

    let mut weak = fields(&code);
    weak[2].1 = "password1234".into();
    weak[3].1 = "password1234".into();
    let again = post(weak).await;
    assert_eq!(again.status(), 400);
    assert!(
        again
            .text()
            .await
            .unwrap()
            .contains(r#"id="new_password-errors""#)
    );

    let done = post(fields(&code)).await;
    assert_eq!(done.status(), 200);
    assert!(app.password_is("u-1", STRONG_PASSWORD).await);
}
