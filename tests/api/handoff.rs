//! The password handoff: when the application holds the passwords, every
//! change is POSTed to it, signed as Standard Webhooks (checked here by an
//! independent implementation), and only its 2xx completes the change.

use serde_json::{Value, json};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::helpers::*;

/// An app that hands every password change to `url`.
async fn handoff_app(url: &str, timeout_ms: &str) -> TestApp {
    let (url, timeout_ms) = (url.to_owned(), timeout_ms.to_owned());
    spawn_app_with(move |env| {
        with_services(env);
        env.insert("PASSWORD_HANDOFF_URL".into(), url);
        env.insert("PASSWORD_HANDOFF_SECRET".into(), HANDOFF_SECRET.into());
        env.insert("PASSWORD_HANDOFF_TIMEOUT_MS".into(), timeout_ms);
    })
    .await
}

/// A receiver that answers every change with `status`.
async fn receiver_answering(status: u16) -> MockServer {
    let receiver = MockServer::start().await;
    answer_with(&receiver, status).await;
    receiver
}

async fn answer_with(receiver: &MockServer, status: u16) {
    receiver.reset().await;
    let mut answer = ResponseTemplate::new(status);
    if (300..400).contains(&status) {
        answer = answer.insert_header("location", "/somewhere-else");
    }
    Mock::given(method("POST"))
        .and(path("/pwreset/password"))
        .respond_with(answer)
        .mount(receiver)
        .await;
}

fn receiver_url(receiver: &MockServer) -> String {
    format!("{}/pwreset/password", receiver.uri())
}

/// The notices queued so far (one per completed change).
async fn notices(app: &TestApp) -> usize {
    app.email_rows()
        .await
        .iter()
        .filter(|r| r.payload.contains("password_changed"))
        .count()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_reset_hands_the_application_a_signed_bcrypt_hash_with_a_growing_sequence() {
    let receiver = receiver_answering(204).await;
    let app = handoff_app(&receiver_url(&receiver), "5000").await;
    app.put_user("u-1", json!({"email": "owner@example.com"}))
        .await;

    let mut sequences = Vec::new();
    for password in [STRONG_PASSWORD, OTHER_STRONG_PASSWORD] {
        let token = app.request_link("owner@example.com").await;
        assert_eq!(app.reset(&token, password).await.status(), 200);
        app.assert_link_refused(&token).await;

        let requests = receiver.received_requests().await.unwrap();
        let change = verified_handoffs(&requests).pop().unwrap();
        assert_eq!(change["type"], "password.changed");
        assert_eq!(change["user_id"], "u-1");
        let hash = change["password_hash"].as_str().unwrap();
        assert!(hash.starts_with("$2b$"), "{hash}");
        assert!(bcrypt::verify(password, hash).unwrap());
        let changed_at = change["changed_at"].as_str().unwrap();
        let changed_at = chrono::DateTime::parse_from_rfc3339(changed_at).unwrap();
        sequences.push(change["sequence"].as_i64().unwrap());

        // pwreset keeps no hash, only when the password changed.
        let user = app.user("u-1").await;
        assert_eq!(user.password_hash, None);
        let recorded = user.password_changed_at.unwrap().and_utc();
        assert!((recorded - changed_at.to_utc()).num_seconds().abs() <= 1);
        let body = String::from_utf8_lossy(&requests.last().unwrap().body).into_owned();
        assert!(!body.contains(password) && !body.contains("owner@example.com"));
    }
    assert!(
        sequences[0] >= 1 && sequences[1] > sequences[0],
        "{sequences:?}"
    );

    // The owner is told, as in the other mode.
    app.deliver().await;
    let told = app
        .emails()
        .into_iter()
        .filter(|e| e.to == "owner@example.com" && e.subject.contains("was changed"))
        .count();
    assert_eq!(told, 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn any_answer_but_a_2xx_changes_nothing_and_the_link_still_works() {
    let receiver = receiver_answering(500).await;
    let app = handoff_app(&receiver_url(&receiver), "5000").await;
    app.put_user("u-1", json!({"email": "owner@example.com"}))
        .await;
    let token = app.request_link("owner@example.com").await;

    for status in [500, 503, 400, 409, 302, 301] {
        answer_with(&receiver, status).await;
        let refused =
            assert_problem(app.reset(&token, STRONG_PASSWORD).await, 503, "unavailable").await;
        assert!(
            refused["detail"]
                .as_str()
                .unwrap()
                .contains("link still works"),
            "{refused}"
        );
        assert_eq!(receiver.received_requests().await.unwrap().len(), 1);
        assert_eq!(app.validate(&token).await.status(), 200, "after {status}");
        assert_eq!(notices(&app).await, 0, "after {status}");
        assert_eq!(app.user("u-1").await.password_changed_at, None);
    }
    let metrics = app.metrics_text().await;
    assert!(metrics.contains(r#"pwreset_password_handoffs_total{outcome="refused"} 6"#));
    assert!(metrics.contains(r#"pwreset_password_handoffs_total{outcome="accepted"} 0"#));

    // Once the application takes it, the same link completes the reset.
    answer_with(&receiver, 200).await;
    assert_eq!(app.reset(&token, STRONG_PASSWORD).await.status(), 200);
    let requests = receiver.received_requests().await.unwrap();
    let change = verified_handoffs(&requests).pop().unwrap();
    assert!(change["sequence"].as_i64().unwrap() > 6, "{change}");
    assert_eq!(notices(&app).await, 1);
    app.assert_link_refused(&token).await;
    let metrics = app.metrics_text().await;
    assert!(metrics.contains(r#"pwreset_password_handoffs_total{outcome="accepted"} 1"#));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_application_that_does_not_answer_in_time_or_cannot_be_reached_changes_nothing() {
    // No answer within PASSWORD_HANDOFF_TIMEOUT_MS.
    let mut silent = GatedReceiver::start().await;
    let app = handoff_app(&silent.url, "300").await;
    app.put_user("u-1", json!({"email": "owner@example.com"}))
        .await;
    let token = app.request_link("owner@example.com").await;
    let reset = app.reset(&token, STRONG_PASSWORD);
    let (answer, _held) = tokio::join!(reset, silent.next());
    let answer = assert_problem(answer, 503, "unavailable").await;
    assert!(
        answer["detail"]
            .as_str()
            .unwrap()
            .contains("link still works")
    );
    assert_eq!(app.validate(&token).await.status(), 200);
    assert_eq!(notices(&app).await, 0);
    let metrics = app.metrics_text().await;
    assert!(metrics.contains(r#"pwreset_password_handoffs_total{outcome="timeout"} 1"#));

    // Nothing listens at the address.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/pwreset/password", closed.local_addr().unwrap());
    drop(closed);
    let app = handoff_app(&url, "5000").await;
    app.put_user("u-2", json!({"email": "other@example.com"}))
        .await;
    let token = app.request_link("other@example.com").await;
    let response = app.reset(&token, STRONG_PASSWORD).await;
    assert_eq!(response.headers()["retry-after"], "5");
    assert_problem(response, 503, "unavailable").await;
    assert_eq!(app.validate(&token).await.status(), 200);
    assert_eq!(notices(&app).await, 0);
    let metrics = app.metrics_text().await;
    assert!(metrics.contains(r#"pwreset_password_handoffs_total{outcome="unreachable"} 1"#));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_uses_of_one_link_hand_the_application_one_change() {
    let mut receiver = GatedReceiver::start().await;
    let app = handoff_app(&receiver.url, "5000").await;
    app.put_user("u-1", json!({"email": "owner@example.com"}))
        .await;
    let token = app.request_link("owner@example.com").await;

    // The first use is with the application...
    let first = {
        let (client, url) = (app.client.clone(), app.url("/api/auth/reset-password/"));
        let body = json!({"token": token, "new_password": STRONG_PASSWORD,
                          "confirm_password": STRONG_PASSWORD});
        tokio::spawn(async move { client.post(url).json(&body).send().await.unwrap() })
    };
    let held = receiver.next().await;
    assert!(
        bcrypt::verify(
            STRONG_PASSWORD,
            held.body["password_hash"].as_str().unwrap()
        )
        .unwrap()
    );

    // ...so a second one, with another password, is told to wait and
    // never reaches it.
    let second = assert_problem(
        app.reset(&token, OTHER_STRONG_PASSWORD).await,
        503,
        "unavailable",
    )
    .await;
    assert!(
        second["detail"]
            .as_str()
            .unwrap()
            .contains("another request"),
        "{second}"
    );
    assert_eq!(receiver.waiting(), 0);

    held.answer(204);
    assert_eq!(first.await.unwrap().status(), 200);
    // The link is spent: the second use cannot come back and change it.
    app.assert_link_refused(&token).await;
    assert_eq!(receiver.waiting(), 0);
    assert_eq!(notices(&app).await, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_hosted_page_says_nothing_changed_and_offers_the_form_again() {
    let receiver = receiver_answering(502).await;
    let app = handoff_app(&receiver_url(&receiver), "5000").await;
    app.put_user("u-1", json!({"email": "owner@example.com"}))
        .await;
    let token = app.request_link("owner@example.com").await;
    let fields = [
        ("token", token.as_str()),
        ("new_password", STRONG_PASSWORD),
        ("confirm_password", STRONG_PASSWORD),
    ];

    let page = app.post_form("/reset-password", &fields).await;
    assert_eq!(page.status(), 503);
    assert_eq!(page.headers()["retry-after"], "5");
    let html = page.text().await.unwrap();
    assert!(
        html.contains("Your password has not been changed yet"),
        "{html}"
    );
    assert!(html.contains(r#"id="reset-form""#) && html.contains(&token));
    assert!(!html.contains(STRONG_PASSWORD));

    answer_with(&receiver, 204).await;
    let page = app.post_form("/reset-password", &fields).await;
    assert_eq!(page.status(), 200);
    assert_eq!(receiver.received_requests().await.unwrap().len(), 1);
    app.assert_link_refused(&token).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn in_handoff_mode_no_hash_is_taken_and_there_is_no_password_check() {
    let receiver = receiver_answering(204).await;
    let app = handoff_app(&receiver_url(&receiver), "5000").await;

    let hash = bcrypt::hash(STRONG_PASSWORD, 4).unwrap();
    let refused = assert_problem(
        app.put_user(
            "u-1",
            json!({"email": "a@example.com", "password_hash": hash}),
        )
        .await,
        400,
        "validation_failed",
    )
    .await;
    assert!(
        refused.to_string().contains("PASSWORD_HANDOFF_URL"),
        "{refused}"
    );
    assert_eq!(app.find_user("u-1").await.map(|u| u.id), None);
    let created = app.put_user("u-1", json!({"email": "a@example.com"})).await;
    assert_eq!(created.status(), 201);

    let check = app
        .internal(reqwest::Method::POST, "/internal/v1/password-checks")
        .json(&json!({"user_id": "u-1", "password": STRONG_PASSWORD}))
        .send()
        .await
        .unwrap();
    assert_problem(check, 404, "not_found").await;
    assert!(receiver.received_requests().await.unwrap().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn operators_set_passwords_through_the_application_and_cannot_bring_hashes() {
    let receiver = receiver_answering(204).await;
    let url = receiver_url(&receiver);
    let app = handoff_app(&url, "5000").await;
    let vars = [
        ("PASSWORD_HANDOFF_URL", url.as_str()),
        ("PASSWORD_HANDOFF_SECRET", HANDOFF_SECRET),
    ];
    app.put_user("ops-1", json!({"email": "ops@example.com"}))
        .await;
    let link = app.request_link("ops@example.com").await;

    let set = |password: &str| {
        pwreset_with(
            &app,
            &[
                "user",
                "set-password",
                "ops@example.com",
                "--password-stdin",
            ],
            Some(password),
            &vars,
        )
    };
    let out = set(STRONG_PASSWORD);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let requests = receiver.received_requests().await.unwrap();
    let change = verified_handoffs(&requests).pop().unwrap();
    assert_eq!(change["user_id"], "ops-1");
    assert!(bcrypt::verify(STRONG_PASSWORD, change["password_hash"].as_str().unwrap()).unwrap());
    assert_eq!(app.user("ops-1").await.password_hash, None);
    assert!(app.user("ops-1").await.password_changed_at.is_some());
    app.assert_link_refused(&link).await;
    assert_eq!(notices(&app).await, 1);

    // Refused by the application: the command fails and nothing changes.
    answer_with(&receiver, 500).await;
    let link = app.request_link("ops@example.com").await;
    let out = set(OTHER_STRONG_PASSWORD);
    assert!(!out.status.success());
    assert!(
        text(&out.stderr).contains("did not accept"),
        "{}",
        text(&out.stderr)
    );
    assert_eq!(app.validate(&link).await.status(), 200);
    assert_eq!(notices(&app).await, 1);

    // No first password at `user add`, no hashes in an import.
    let out = pwreset_with(
        &app,
        &["user", "add", "new@example.com", "--password-stdin"],
        Some(STRONG_PASSWORD),
        &vars,
    );
    assert!(!out.status.success());
    assert!(
        text(&out.stderr).contains("PASSWORD_HANDOFF_URL"),
        "{}",
        text(&out.stderr)
    );
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("users.jsonl");
    let hash = bcrypt::hash(STRONG_PASSWORD, 4).unwrap();
    let records: Vec<Value> = vec![
        json!({"id": "imp-1", "email": "imp1@example.com", "password_hash": hash}),
        json!({"id": "imp-2", "email": "imp2@example.com"}),
    ];
    let lines: Vec<String> = records.iter().map(Value::to_string).collect();
    std::fs::write(&file, lines.join("\n")).unwrap();
    let out = pwreset_with(
        &app,
        &["user", "import", file.to_str().unwrap()],
        None,
        &vars,
    );
    assert!(!out.status.success());
    assert!(
        text(&out.stdout).contains("created 1"),
        "{}",
        text(&out.stdout)
    );
    assert!(
        text(&out.stderr).contains("line 1"),
        "{}",
        text(&out.stderr)
    );
    assert_eq!(app.find_user("imp-1").await.map(|u| u.id), None);
    assert_eq!(app.user("imp-2").await.password_hash, None);
}
