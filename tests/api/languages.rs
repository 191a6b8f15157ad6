//! Emails in the reader's language: the account's `locale` when a service
//! set one, else the `Accept-Language` of the forgot-password request, else
//! English.

use serde_json::json;

use crate::helpers::*;

async fn forgot_in(app: &TestApp, email: &str, accept_language: &str) {
    let response = app
        .client
        .post(app.url("/api/auth/forgot-password/"))
        .header("Accept-Language", accept_language)
        .json(&json!({ "email": email }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 202);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn emails_follow_the_account_then_the_request_then_english() {
    let app = spawn_app().await;
    let response = app
        .put_user(
            "u-de",
            json!({"email": "anna@example.com", "locale": "de-AT"}),
        )
        .await;
    assert_eq!(response.status(), 201);
    assert_eq!(
        response.json::<serde_json::Value>().await.unwrap()["locale"],
        "de"
    );
    app.add_user("u-none", "marie@example.com", None).await;
    app.add_user("u-plain", "joe@example.com", None).await;

    forgot_in(&app, "anna@example.com", "fr").await; // the account's language wins
    forgot_in(&app, "marie@example.com", "fr-CA,fr;q=0.9").await;
    forgot_in(&app, "joe@example.com", "tlh").await; // nothing supported: English
    app.deliver().await;

    let subject = |to: &str| {
        app.emails()
            .into_iter()
            .find(|e| e.to == to)
            .map(|e| e.subject)
            .unwrap()
    };
    assert_eq!(
        subject("anna@example.com"),
        "Setze dein Acme-Passwort zurück"
    );
    assert_eq!(
        subject("marie@example.com"),
        "Réinitialisez votre mot de passe Acme"
    );
    assert_eq!(subject("joe@example.com"), "Reset your Acme password");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_language_without_translations_is_refused_by_the_internal_api() {
    let app = spawn_app().await;
    let problem = assert_problem(
        app.put_user("u-1", json!({"email": "a@example.com", "locale": "tlh"}))
            .await,
        400,
        "validation_failed",
    )
    .await;
    let message = problem["errors"]["locale"].to_string();
    for tag in ["en", "de", "fr", "es"] {
        assert!(message.contains(tag), "{message}");
    }
    assert!(app.find_user("u-1").await.is_none());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn weights_choose_the_language_of_pages_and_emails_and_q0_is_never() {
    let app = spawn_app().await;
    app.add_user("u-1", "sol@example.com", None).await;
    for (header, lang) in [("de;q=0, es", "es"), ("fr;q=0.1,es;q=0.9", "es")] {
        let page = app
            .client
            .get(app.url("/forgot-password"))
            .header("Accept-Language", header)
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert!(
            page.contains(&format!(r#"<html lang="{lang}">"#)),
            "{header}"
        );
    }
    // The hosted form's request carries the choice into the email.
    let sent = app
        .client
        .post(app.url("/forgot-password"))
        .header("Accept-Language", "fr;q=0.1,es;q=0.9")
        .form(&[("email", "sol@example.com")])
        .send()
        .await
        .unwrap();
    assert_eq!(sent.status(), 200);
    app.deliver().await;
    let mail = app.emails().into_iter().find(|e| e.to == "sol@example.com");
    assert_eq!(
        mail.map(|m| m.subject).as_deref(),
        Some("Restablece tu contraseña de Acme")
    );
}
