//! The way back: a reset ends where the person can sign in (`LOGIN_URL`),
//! or where the application that sent them asked (`return_to`, strictly
//! matched against `RETURN_TO_ALLOWED` and signed into the link).

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use reqwest::header::ACCEPT_LANGUAGE;
use serde_json::{Value, json};

use crate::helpers::*;

const LOGIN: &str = "https://app.example.test/login";
const ALLOWED: &str =
    "https://eu.example.test/account,https://*.shop.example.test/,http://localhost:3000/";

async fn app_with_way_back() -> TestApp {
    spawn_app_with(|env| {
        env.insert("LOGIN_URL".into(), LOGIN.into());
        env.insert("RETURN_TO_ALLOWED".into(), ALLOWED.into());
    })
    .await
}

/// A URL as the pages write it in an attribute (HTML-escaped, `/` too).
fn attr(url: &str) -> String {
    url.replace('&', "&amp;").replace('/', "&#x2f;")
}

/// The claims of a link's JWT, as anyone holding the link can read them.
fn claims(jwt: &str) -> Value {
    let payload = jwt.split('.').nth(1).unwrap();
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).unwrap()).unwrap()
}

async fn forgot_returning(app: &TestApp, email: &str, return_to: &str) -> reqwest::Response {
    app.post_json(
        "/api/auth/forgot-password/",
        &json!({ "email": email, "return_to": return_to }),
    )
    .await
}

/// The hosted form's post for a link, in a language.
async fn reset_on_page(app: &TestApp, token: &str, language: &str) -> String {
    let page = app
        .client
        .post(app.url("/reset-password"))
        .header(ACCEPT_LANGUAGE, language)
        .form(&[
            ("token", token),
            ("new_password", STRONG_PASSWORD),
            ("confirm_password", STRONG_PASSWORD),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), 200);
    page.text().await.unwrap()
}

/// The newest reset link's token sent to `email`.
fn latest_token(app: &TestApp, email: &str) -> String {
    app.reset_emails_to(email).pop().unwrap().reset_token()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_done_page_continues_to_sign_in_in_the_pages_language() {
    let app = app_with_way_back().await;
    app.add_user("u-1", "owner@example.com", None).await;
    let token = app.request_link("owner@example.com").await;
    assert_eq!(claims(&token).get("rtn"), None);
    let html = reset_on_page(&app, &token, "de").await;
    assert!(
        html.contains(&format!(r#"href="{}""#, attr(LOGIN)))
            && html.contains("Weiter zur Anmeldung"),
        "{html}"
    );

    // Without LOGIN_URL there is nowhere to continue to, and no link.
    let plain = spawn_app().await;
    plain.add_user("u-1", "owner@example.com", None).await;
    let token = plain.request_link("owner@example.com").await;
    let html = reset_on_page(&plain, &token, "en").await;
    assert!(!html.contains("Continue to sign in"), "{html}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_allowed_return_to_is_signed_into_the_link_and_the_done_page_leads_there() {
    let app = app_with_way_back().await;
    app.add_user("u-1", "owner@example.com", None).await;
    let back = "https://eu.example.test/account/welcome?from=reset&step=2";
    assert_eq!(
        forgot_returning(&app, "owner@example.com", back)
            .await
            .status(),
        202
    );
    app.deliver().await;
    let token = latest_token(&app, "owner@example.com");
    assert_eq!(claims(&token)["rtn"], back);

    // The claim is signed: a link whose `rtn` was changed is refused.
    let mut parts: Vec<String> = token.split('.').map(str::to_owned).collect();
    let mut forged = claims(&token);
    forged["rtn"] = json!("https://evil.example.net/");
    parts[1] = URL_SAFE_NO_PAD.encode(forged.to_string());
    app.assert_link_refused(&parts.join(".")).await;

    let html = reset_on_page(&app, &token, "en").await;
    assert!(
        html.contains(&format!(r#"href="{}""#, attr(back))),
        "{html}"
    );
    assert!(!html.contains(&attr(LOGIN)));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_hosted_forgot_page_carries_return_to_and_refuses_one_not_allowed() {
    let app = app_with_way_back().await;
    app.add_user("u-1", "owner@example.com", None).await;
    let back = "https://fr.shop.example.test/cart";

    let form = app
        .page(&format!("/forgot-password?return_to={back}"), "en")
        .await;
    assert_eq!(form.status(), 200);
    let html = form.text().await.unwrap();
    assert!(
        html.contains(&format!(r#"name="return_to" value="{}""#, attr(back))),
        "{html}"
    );
    let sent = app
        .post_form(
            "/forgot-password",
            &[("email", "owner@example.com"), ("return_to", back)],
        )
        .await;
    assert_eq!(sent.status(), 200);
    app.deliver().await;
    assert_eq!(
        claims(&latest_token(&app, "owner@example.com"))["rtn"],
        back
    );

    let queued = app.outbox_len().await;
    let evil = "https://shop.example.test.evil.net/";
    let refused = app
        .page(&format!("/forgot-password?return_to={evil}"), "en")
        .await;
    assert_eq!(refused.status(), 400);
    assert!(
        refused
            .text()
            .await
            .unwrap()
            .contains("cannot send you back")
    );
    let refused = app
        .post_form(
            "/forgot-password",
            &[("email", "owner@example.com"), ("return_to", evil)],
        )
        .await;
    assert_eq!(refused.status(), 400);
    assert_eq!(app.outbox_len().await, queued, "nothing queued");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_known_bypass_is_refused_for_existing_and_unknown_accounts_alike() {
    let app = app_with_way_back().await;
    app.add_user("u-1", "owner@example.com", None).await;
    let long = format!("https://eu.example.test/account/{}", "a".repeat(4096));
    let bypasses = [
        "https://eu.example.test/accountx",
        "https://eu.example.test/",
        "https://eu.example.test.evil.net/account",
        "https://eu.examp1e.test/account",
        "https://eu.example.test@evil.net/account",
        "https://a@b@eu.example.test/account",
        "https://evil.net\\@eu.example.test/account",
        "//eu.example.test/account",
        "/account",
        "https:eu.example.test/account",
        "javascript:alert(document.domain)//https://eu.example.test/account",
        "data:text/html,<script>alert(1)</script>",
        "https://eu.example.test/account/../admin",
        "https://eu.example.test/account/..;/admin",
        "https://eu.example.test/account/%2e%2e/admin",
        "https://eu.example.test/account/%0d%0aSet-Cookie:%20x=1",
        "https://eu.example.test:8443/account",
        "http://eu.example.test/account",
        "https://shop.example.test/",
        "https://evilshop.example.test/",
        "http://localhost.evil.net:3000/",
        "http://localhost:3001/",
        long.as_str(),
    ];
    for email in ["owner@example.com", "nobody@example.com"] {
        for bypass in bypasses {
            let refused = assert_problem(
                forgot_returning(&app, email, bypass).await,
                400,
                "validation_failed",
            )
            .await;
            assert!(
                refused["errors"]["return_to"][0].is_string(),
                "{bypass}: {refused}"
            );
        }
    }
    assert_eq!(app.outbox_len().await, 0, "nothing was queued");
    // The same body's answer for both kinds of account.
    let a = forgot_returning(&app, "owner@example.com", "https://evil.net/").await;
    let b = forgot_returning(&app, "nobody@example.com", "https://evil.net/").await;
    assert_eq!(a.text().await.unwrap(), b.text().await.unwrap());

    // With no allow-list every return_to is refused; without one, the seed's
    // request works as it always did.
    let closed = spawn_app().await;
    assert_problem(
        forgot_returning(
            &closed,
            "owner@example.com",
            "https://eu.example.test/account",
        )
        .await,
        400,
        "validation_failed",
    )
    .await;
    assert_eq!(closed.forgot("owner@example.com").await.status(), 202);
}
