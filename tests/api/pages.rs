//! The hosted pages over plain HTTP, as a browser without JavaScript (or a
//! mail scanner, or an attacker) sees them. The browser tests are in
//! browser.rs.

use reqwest::header::{ACCEPT_LANGUAGE, CONTENT_TYPE, ORIGIN};
use serde_json::json;

use crate::helpers::*;

impl TestApp {
    pub async fn page(&self, path: &str, language: &str) -> reqwest::Response {
        self.client
            .get(self.url(path))
            .header(ACCEPT_LANGUAGE, language)
            .send()
            .await
            .unwrap()
    }

    pub async fn post_form(&self, path: &str, fields: &[(&str, &str)]) -> reqwest::Response {
        self.client
            .post(self.url(path))
            .form(fields)
            .send()
            .await
            .unwrap()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_forgot_page_answers_the_same_bytes_whatever_the_account() {
    let app = spawn_app().await;
    app.add_user("u-1", "exists@example.com", None).await;
    app.add_disabled_user("u-2", "disabled@example.com").await;
    let mut pages = Vec::new();
    for email in [
        "exists@example.com",
        "nobody@example.com",
        "disabled@example.com",
    ] {
        let response = app.post_form("/forgot-password", &[("email", email)]).await;
        assert_eq!(response.status(), 200);
        pages.push(response.bytes().await.unwrap());
    }
    assert_eq!(pages[0], pages[1]);
    assert_eq!(pages[0], pages[2]);
    assert!(String::from_utf8_lossy(&pages[0]).contains("Check your inbox"));
    app.deliver().await;
    assert_eq!(app.emails().len(), 1);
    assert_eq!(app.reset_emails_to("exists@example.com").len(), 1);

    let response = app
        .post_form("/forgot-password", &[("email", "not an address")])
        .await;
    assert_eq!(response.status(), 400);
    let html = response.text().await.unwrap();
    assert!(html.contains("aria-invalid=\"true\"") && html.contains("cannot contain spaces"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_link_opens_the_form_and_get_or_head_never_consume_it() {
    let app = spawn_app().await;
    app.add_user("u-1", "user@example.com", None).await;
    let token = app.request_link("user@example.com").await;
    let path = format!("/reset-password?token={token}");
    for _ in 0..3 {
        let head = app.client.head(app.url(&path)).send().await.unwrap();
        assert!(head.status().is_success());
        let page = app.page(&path, "en").await;
        assert_eq!(page.status(), 200);
        let html = page.text().await.unwrap();
        assert!(html.contains("<form") && html.contains(&format!("value=\"{token}\"")));
        assert!(html.contains("autocomplete=\"new-password\""));
        assert!(!html.contains("autofocus") && !html.contains(".submit()"));
    }
    assert_eq!(app.validate(&token).await.status(), 200, "still usable");

    let response = app
        .page("/reset-password?token=forged.token.here", "en")
        .await;
    assert_eq!(response.status(), 400);
    let html = response.text().await.unwrap();
    assert!(html.contains("can no longer be used") && html.contains("href=\"/forgot-password\""));
    assert!(!html.contains("<form"), "no form for an unusable link");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_password_keeps_the_link_and_the_right_one_resets_it_once() {
    let app = spawn_app().await;
    app.add_user("u-1", "user@example.com", None).await;
    let token = app.request_link("user@example.com").await;
    let post = |new: &'static str, confirm: &'static str| {
        let token = token.clone();
        let app = &app;
        async move {
            app.post_form(
                "/reset-password",
                &[
                    ("token", &token),
                    ("new_password", new),
                    ("confirm_password", confirm),
                ],
            )
            .await
        }
    };

    let response = post("password1234", "password1234").await;
    assert_eq!(response.status(), 400);
    let html = response.text().await.unwrap();
    assert!(
        html.contains("too easy to guess"),
        "the reason, by its field"
    );
    assert!(html.contains("id=\"new_password-errors\""));
    let response = post(STRONG_PASSWORD, OTHER_STRONG_PASSWORD).await;
    assert_eq!(response.status(), 400);
    assert!(response.text().await.unwrap().contains("don&#x27;t match"));
    assert!(
        app.user("u-1").await.password_hash.is_none(),
        "nothing changed yet"
    );

    let response = post(STRONG_PASSWORD, STRONG_PASSWORD).await;
    assert_eq!(response.status(), 200);
    assert!(
        response
            .text()
            .await
            .unwrap()
            .contains("Your password has been changed")
    );
    assert!(app.password_is("u-1", STRONG_PASSWORD).await);

    let response = post(OTHER_STRONG_PASSWORD, OTHER_STRONG_PASSWORD).await;
    assert_eq!(response.status(), 400);
    assert!(
        response
            .text()
            .await
            .unwrap()
            .contains("can no longer be used")
    );
    assert!(app.password_is("u-1", STRONG_PASSWORD).await);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pages_carry_a_strict_policy_and_refuse_other_sites_and_other_formats() {
    let app = spawn_app().await;
    app.add_user("u-1", "user@example.com", None).await;
    let token = app.request_link("user@example.com").await;
    for path in [
        "/forgot-password".to_owned(),
        format!("/reset-password?token={token}"),
    ] {
        let response = app.page(&path, "en").await;
        let h = response.headers();
        let csp = h["content-security-policy"].to_str().unwrap();
        for directive in [
            "default-src 'none'",
            "script-src 'self'",
            "style-src 'self'",
            "frame-ancestors 'none'",
            "form-action 'self'",
            "base-uri 'none'",
        ] {
            assert!(csp.contains(directive), "{path}: {csp}");
        }
        assert!(!csp.contains("unsafe-inline") && !csp.contains("http"));
        assert_eq!(h["referrer-policy"], "no-referrer");
        assert_eq!(h["cache-control"], "no-store");
        let html = response.text().await.unwrap();
        assert!(
            !html.contains("<script>") && !html.contains("style=\""),
            "no inline code"
        );
        assert!(!html.contains("https://"), "no external assets");
    }
    let fields = [
        ("token", token.as_str()),
        ("new_password", STRONG_PASSWORD),
        ("confirm_password", STRONG_PASSWORD),
    ];
    let cross_site = app
        .client
        .post(app.url("/reset-password"))
        .header(ORIGIN, "https://evil.example")
        .form(&fields)
        .send()
        .await
        .unwrap();
    assert_eq!(cross_site.status(), 403);
    let fetch_site = app
        .client
        .post(app.url("/forgot-password"))
        .header("Sec-Fetch-Site", "cross-site")
        .form(&[("email", "user@example.com")])
        .send()
        .await
        .unwrap();
    assert_eq!(fetch_site.status(), 403);
    let as_json = app
        .client
        .post(app.url("/reset-password"))
        .header(CONTENT_TYPE, "application/json")
        .body(json!({"token": token, "new_password": STRONG_PASSWORD, "confirm_password": STRONG_PASSWORD}).to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(as_json.status(), 415);
    assert!(
        app.user("u-1").await.password_hash.is_none(),
        "nothing changed"
    );
    // The same host and port over another scheme is another origin.
    let https_origin = app.address.replacen("http://", "https://", 1);
    let other_scheme = app
        .client
        .post(app.url("/reset-password"))
        .header(ORIGIN, https_origin.as_str())
        .form(&fields)
        .send()
        .await
        .unwrap();
    assert_eq!(other_scheme.status(), 403, "{https_origin}");
    let same_site = app
        .client
        .post(app.url("/reset-password"))
        .header(ORIGIN, app.address.as_str())
        .form(&fields)
        .send()
        .await
        .unwrap();
    assert_eq!(same_site.status(), 200, "the page's own post goes through");
    for (fetch_site, origin) in [("same-site", "null"), ("cross-site", "null")] {
        let response = app
            .client
            .post(app.url("/forgot-password"))
            .header("Sec-Fetch-Site", fetch_site)
            .header(ORIGIN, origin)
            .form(&[("email", "user@example.com")])
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 403, "{fetch_site}");
    }
    let null_origin = app
        .client
        .post(app.url("/forgot-password"))
        .header(ORIGIN, "null")
        .form(&[("email", "user@example.com")])
        .send()
        .await
        .unwrap();
    assert_eq!(
        null_origin.status(),
        403,
        "Origin: null alone is not trusted"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_language_gets_its_own_page() {
    let app = spawn_app().await;
    for (language, lang, title) in [
        ("en-GB,en;q=0.8", "en", "Forgot your password?"),
        ("de-DE", "de", "Passwort vergessen?"),
        ("fr-CH, fr;q=0.9", "fr", "Mot de passe oublié ?"),
        ("es", "es", "¿Olvidaste tu contraseña?"),
        ("tlh", "en", "Forgot your password?"),
    ] {
        let html = app
            .page("/forgot-password", language)
            .await
            .text()
            .await
            .unwrap();
        assert!(
            html.contains(&format!("<html lang=\"{lang}\">")),
            "{language}"
        );
        assert!(html.contains(title), "{language}: {html}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_live_feedback_is_the_servers_policy_for_a_usable_link_only() {
    let app = spawn_app().await;
    app.add_user("u-1", "jordan.miller@example.com", None).await;
    let token = app.request_link("jordan.miller@example.com").await;
    let check = |password: &'static str, token: String| {
        let app = &app;
        async move {
            app.post_json(
                "/reset-password/check",
                &json!({"token": token, "new_password": password}),
            )
            .await
        }
    };
    let weak: serde_json::Value = check("jordan.miller.example", token.clone())
        .await
        .json()
        .await
        .unwrap();
    assert!(!weak["problems"].as_array().unwrap().is_empty(), "{weak}");
    let strong: serde_json::Value = check(STRONG_PASSWORD, token.clone())
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(strong["problems"], json!([]));
    assert_problem(
        check(STRONG_PASSWORD, "forged".into()).await,
        400,
        "invalid_token",
    )
    .await;
    assert_eq!(app.validate(&token).await.status(), 200, "nothing consumed");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn page_templates_are_overridable_per_file_and_per_language() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("sent.html"),
        "{% extends \"layout.html\" %}{% block content %}<h1>Sent by {{ app_name }}</h1>{% endblock %}",
    )
    .unwrap();
    std::fs::create_dir(dir.path().join("de")).unwrap();
    std::fs::write(
        dir.path().join("de/sent.html"),
        "{% extends \"layout.html\" %}{% block content %}<h1>Gesendet</h1>{% endblock %}",
    )
    .unwrap();
    let path = dir.path().to_str().unwrap().to_owned();
    let app = spawn_app_with(move |env| {
        env.insert("PAGE_TEMPLATE_DIR".into(), path);
    })
    .await;
    let sent = |language: &'static str| {
        let app = &app;
        async move {
            app.client
                .post(app.url("/forgot-password"))
                .header(ACCEPT_LANGUAGE, language)
                .form(&[("email", "a@example.com")])
                .send()
                .await
                .unwrap()
                .text()
                .await
                .unwrap()
        }
    };
    assert!(sent("en").await.contains("<h1>Sent by Acme</h1>"));
    assert!(sent("de").await.contains("<h1>Gesendet</h1>"));
    assert!(sent("fr").await.contains("<h1>Sent by Acme</h1>"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_password_is_explained_in_the_pages_language() {
    let app = spawn_app().await;
    app.add_user("u-1", "user@example.com", None).await;
    let token = app.request_link("user@example.com").await;
    let response = app
        .client
        .post(app.url("/reset-password"))
        .header(ACCEPT_LANGUAGE, "de")
        .form(&[
            ("token", token.as_str()),
            ("new_password", "password1234"),
            ("confirm_password", "password1234"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 400);
    let html = response.text().await.unwrap();
    assert!(
        html.contains("Dieses Passwort ist zu leicht zu erraten."),
        "{html}"
    );
    let feedback: serde_json::Value = app
        .client
        .post(app.url("/reset-password/check"))
        .header(ACCEPT_LANGUAGE, "es")
        .json(&json!({"token": token, "new_password": "corto"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(
        feedback["problems"][0]
            .as_str()
            .unwrap()
            .contains("demasiado corta")
    );
    // The JSON API keeps its English words.
    let problem = assert_problem(
        app.reset(&token, "password1234").await,
        400,
        "validation_failed",
    )
    .await;
    assert!(
        problem["errors"]["new_password"][0]
            .as_str()
            .unwrap()
            .starts_with("This password is too easy to guess.")
    );
}
