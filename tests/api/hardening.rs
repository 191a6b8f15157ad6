//! What a security review of a running build found, each closed: duplicate
//! JSON keys, page refusals that were raw text, request values that reached
//! the log with invisible characters or at full length, addresses that were
//! one mailbox but two keys, and the same-origin check (in pages.rs) that
//! ignored the scheme.

use reqwest::header::CONTENT_TYPE;
use serde_json::json;

use crate::helpers::*;

async fn raw_json(app: &TestApp, path: &str, body: &str) -> reqwest::Response {
    app.client
        .post(app.url(path))
        .header(CONTENT_TYPE, "application/json")
        .body(body.to_owned())
        .send()
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_body_that_names_a_key_twice_is_refused_and_changes_nothing() {
    let app = spawn_app_with(with_services).await;
    app.add_user("u-1", "a@example.com", None).await;
    let twice = r#"{"email":"a@example.com","email":"b@example.com"}"#;
    let refused = assert_problem(
        raw_json(&app, "/api/auth/forgot-password/", twice).await,
        400,
        "malformed_request",
    )
    .await;
    assert!(
        refused["detail"].as_str().unwrap().contains("twice"),
        "{refused}"
    );
    assert_eq!(app.outbox_len().await, 0, "nothing was queued");

    // At any depth, on the internal API too.
    let nested = r#"{"email":"c@example.com","extra":{"x":1,"x":2}}"#;
    let response = app
        .internal(reqwest::Method::PUT, "/internal/v1/users/u-2")
        .header(CONTENT_TYPE, "application/json")
        .body(nested)
        .send()
        .await
        .unwrap();
    assert_problem(response, 400, "malformed_request").await;
    assert_eq!(app.find_user("u-2").await.map(|u| u.id), None);
    // One of each is fine.
    let once = r#"{"email":"a@example.com"}"#;
    assert_eq!(
        raw_json(&app, "/api/auth/forgot-password/", once)
            .await
            .status(),
        202
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_refusal_of_a_page_is_html_in_the_readers_language() {
    let app = spawn_app().await;
    let html_page = |response: reqwest::Response, status: u16| async move {
        assert_eq!(response.status().as_u16(), status);
        let content_type = response.headers()[CONTENT_TYPE]
            .to_str()
            .unwrap()
            .to_owned();
        assert!(
            content_type.starts_with("text/html"),
            "{status}: {content_type}"
        );
        let text = response.text().await.unwrap();
        assert!(text.contains("<html lang=\"de\">"), "{text}");
        text
    };
    let send = |request: reqwest::RequestBuilder| async move {
        request
            .header("Accept-Language", "de")
            .send()
            .await
            .unwrap()
    };
    let big = "x".repeat(17 * 1024);
    // Every page route, each with a query it cannot read, a form over the
    // size limit, a body of the wrong type and a method it lacks.
    for (path, repeated) in [
        ("/forgot-password", "return_to=a&return_to=b"),
        ("/reset-password", "token=a&token=b"),
    ] {
        let url = app.url(path);
        html_page(send(app.client.get(format!("{url}?{repeated}"))).await, 400).await;
        let oversized = app.client.post(&url).form(&[("email", big.as_str())]);
        html_page(send(oversized).await, 413).await;
        let post_as = |content_type: &str, body: &'static str| {
            app.client
                .post(&url)
                .header(CONTENT_TYPE, content_type)
                .body(body)
        };
        let wrong_type = post_as("application/xml", "<email>a@example.com</email>");
        html_page(send(wrong_type).await, 415).await;
        let not_a_form = post_as("application/x-www-form-urlencoded", "%zz=%%");
        html_page(send(not_a_form).await, 400).await;
        html_page(send(app.client.put(&url)).await, 405).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ids_with_invisible_characters_are_refused_and_long_ones_are_cut_in_the_log() {
    let app = spawn_app_with(with_services).await;
    for id in ["evil\u{202e}txt", "zero\u{200b}width", "bom\u{feff}"] {
        let response = app.put_user(id, json!({"email": "x@example.com"})).await;
        assert_eq!(response.status(), 400, "{id:?}");
    }
    let long = format!("{}-end-of-a-long-id", "l".repeat(230));
    let response = app
        .put_user(&long, json!({"email": "long@example.com"}))
        .await;
    assert_eq!(response.status(), 201);
    let logs = captured_logs();
    let line = logs
        .lines()
        .find(|l| l.contains(&long[..100]))
        .expect("the change is logged");
    assert!(
        !line.contains("-end-of-a-long-id"),
        "cut at 120 characters: {line}"
    );
    assert!(!logs.contains('\u{202e}') && !logs.contains('\u{200b}'));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_answer_only_the_listed_peers_and_can_have_a_listener_of_their_own() {
    let app = spawn_app().await;
    assert!(app.metrics_text().await.contains("pwreset_"));
    // Another loopback address is another peer, outside the default list.
    let elsewhere = reqwest::Client::builder()
        .local_address("127.0.0.2".parse::<std::net::IpAddr>().unwrap())
        .build()
        .unwrap();
    let refused = elsewhere.get(app.url("/metrics")).send().await.unwrap();
    assert_problem(refused, 404, "not_found").await;
    // As an unknown path does.
    let unknown = elsewhere
        .get(app.url("/no-such-path"))
        .send()
        .await
        .unwrap();
    assert_problem(unknown, 404, "not_found").await;

    let listed = spawn_app_with(|env| {
        env.insert("METRICS_ALLOWED_FROM".into(), "127.0.0.0/8".into());
    })
    .await;
    let answer = elsewhere.get(listed.url("/metrics")).send().await.unwrap();
    assert_eq!(answer.status(), 200);

    let own = spawn_app_with(|env| {
        env.insert("METRICS_BIND_ADDR".into(), "127.0.0.1:0".into());
    })
    .await;
    let public = own.client.get(own.url("/metrics")).send().await.unwrap();
    assert_problem(public, 404, "not_found").await;
    let port = own.metrics_address.clone().expect("a metrics listener");
    let scraped = own
        .client
        .get(format!("{port}/metrics"))
        .send()
        .await
        .unwrap();
    assert_eq!(scraped.status(), 200);
    assert!(
        scraped
            .text()
            .await
            .unwrap()
            .contains("pwreset_http_requests_total")
    );
    let other = own
        .client
        .get(format!("{port}/healthz"))
        .send()
        .await
        .unwrap();
    assert_eq!(other.status(), 404, "only /metrics there");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_case_of_an_address_is_one_account_and_one_limit_and_old_rows_are_refolded() {
    let db = TestDatabase::new().await;
    let mail = std::sync::Arc::new(tempfile::tempdir().unwrap());
    let limit_two = |env: &mut std::collections::HashMap<String, String>| {
        with_services(env);
        env.insert("RATE_LIMIT_ENABLED".into(), "true".into());
        env.insert("RATE_LIMIT_FORGOT_PER_EMAIL".into(), "2".into());
    };
    let before = spawn_app_on(db.clone(), mail.clone(), limit_two).await;
    // Rows as the earlier rule (lower-casing) stored them, and the upgrade
    // its migration asks for.
    let at = "'2026-12-01 00:00:00', '2026-12-01 00:00:00'";
    db.execute(&format!(
        "INSERT INTO users (id, email, created_at, updated_at) VALUES
           ('u-sigma', 'σς@example.com', {at}),
           ('u-idn', 'ana@bücher.de', {at}),
           ('u-sharp', 'straße@example.com', {at}),
           ('u-ss', 'strasse@example.com', {at});
         INSERT INTO pending_upgrades (name) VALUES ('email_case_folding');"
    ))
    .await;
    drop(before);
    let app = spawn_app_on(db, mail, limit_two).await;
    assert_eq!(app.user("u-sigma").await.email, "σσ@example.com");
    assert_eq!(app.user("u-idn").await.email, "ana@xn--bcher-kva.de");
    // Two accounts that are one key now: the first keeps it, the other is
    // left as it was and named in the log for an operator to settle.
    assert_eq!(app.user("u-ss").await.email, "strasse@example.com");
    assert_eq!(app.user("u-sharp").await.email, "straße@example.com");
    assert!(
        captured_logs().contains("user u-sharp: stored email address left as it was"),
        "the kept account is named"
    );

    // Every case of the Greek address reaches the one account, and counts on
    // one limit: the third spelling is the third request for one address.
    assert_eq!(app.forgot("ΣΣ@example.com").await.status(), 202);
    assert_eq!(app.forgot("σς@example.com").await.status(), 202);
    assert_problem(app.forgot("Σσ@EXAMPLE.com").await, 429, "rate_limited").await;
    app.deliver().await;
    assert_eq!(app.reset_emails_to("σσ@example.com").len(), 2);
    // U-label and A-label of one domain are one address, sent to as ASCII.
    assert_eq!(app.forgot("Ana@BÜCHER.de").await.status(), 202);
    assert_eq!(app.forgot("ana@XN--BCHER-KVA.DE").await.status(), 202);
    app.deliver().await;
    assert_eq!(app.reset_emails_to("ana@xn--bcher-kva.de").len(), 2);

    // The service's own API stores the key too: İ and i + combining dot are
    // one account, plain i another.
    let put = app
        .put_user("u-dot", json!({"email": "İlkay@example.com"}))
        .await;
    assert_eq!(put.status(), 201);
    let again = app
        .put_user("u-dot-2", json!({"email": "i\u{307}lkay@example.com"}))
        .await;
    assert_eq!(again.status(), 409, "the same address under another id");
    let plain = app
        .put_user("u-plain", json!({"email": "ilkay@example.com"}))
        .await;
    assert_eq!(plain.status(), 201);
}
