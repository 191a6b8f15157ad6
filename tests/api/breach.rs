//! Breached passwords, against a local stand-in for the Pwned Passwords
//! range API: only 5 hex characters of the SHA-1 leave the service, padding
//! entries (count 0) are not breaches, and an outage fails open.

use std::time::Duration;

use aws_lc_rs::digest;
use wiremock::matchers::{header, method, path_regex};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::helpers::*;

fn sha1(password: &str) -> String {
    digest::digest(&digest::SHA1_FOR_LEGACY_USE_ONLY, password.as_bytes())
        .as_ref()
        .iter()
        .map(|b| format!("{b:02X}"))
        .collect()
}

/// A range server that lists `breached` (count 7) and `padded` (count 0).
async fn range_server(breached: &str, padded: &str) -> MockServer {
    let server = MockServer::start().await;
    let line = |password: &str, count: u32| format!("{}:{count}\r\n", &sha1(password)[5..]);
    for (password, count) in [(breached, 7), (padded, 0)] {
        Mock::given(method("GET"))
            .and(path_regex(format!("^/range/{}$", &sha1(password)[..5])))
            .and(header("add-padding", "true"))
            .respond_with(ResponseTemplate::new(200).set_body_string(format!(
                "0018A45C4D1DEF81644B54AB7F969B88D65:3\r\n{}",
                line(password, count)
            )))
            .mount(&server)
            .await;
    }
    Mock::given(method("GET"))
        .respond_with(
            ResponseTemplate::new(200).set_body_string("0018A45C4D1DEF81644B54AB7F969B88D65:3\r\n"),
        )
        .mount(&server)
        .await;
    server
}

/// Passes zxcvbn, and is in "the breach" of `range_server`.
const BREACHED: &str = "quiet Harbor lantern 93 drifts";

/// A range server listing BREACHED (and STRONG_PASSWORD as padding), an app
/// that asks it, a user and a live link.
async fn app_with_breach_check() -> (MockServer, TestApp, String) {
    let server = range_server(BREACHED, STRONG_PASSWORD).await;
    let (app, token) = app_asking(&server).await;
    (server, app, token)
}

/// An app whose breach check asks `server`, a user and a live link.
async fn app_asking(server: &MockServer) -> (TestApp, String) {
    let uri = server.uri();
    let app = spawn_app_with(move |env| {
        env.insert("PWNED_PASSWORDS_URL".into(), uri);
    })
    .await;
    app.add_user("u-1", "user@example.com", None).await;
    let token = app.request_link("user@example.com").await;
    (app, token)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_breached_password_is_refused_and_only_five_hex_characters_leave() {
    let breached = BREACHED;
    let (server, app, token) = app_with_breach_check().await;

    let problem = assert_problem(app.reset(&token, breached).await, 400, "validation_failed").await;
    assert!(
        problem["errors"]["new_password"][0]
            .as_str()
            .unwrap()
            .contains("data breach"),
        "{problem}"
    );
    // A padding entry (count 0) for the other password is no breach.
    assert_eq!(app.reset(&token, STRONG_PASSWORD).await.status(), 200);
    assert!(app.password_is("u-1", STRONG_PASSWORD).await);

    let requests = server.received_requests().await.unwrap();
    assert_eq!(requests.len(), 2);
    for request in &requests {
        let prefix = request.url.path().trim_start_matches("/range/");
        assert_eq!(prefix.len(), 5, "{}", request.url);
        assert!(request.url.query().is_none());
        assert!(request.body.is_empty());
        for password in [breached, STRONG_PASSWORD] {
            let hash = sha1(password);
            assert!(
                !request.url.as_str().contains(&hash[5..]),
                "no more of the hash leaves"
            );
        }
    }
    let metrics = app.metrics_text().await;
    assert!(metrics.contains(r#"pwreset_breach_checks_total{outcome="breached"} 1"#));
    assert!(metrics.contains(r#"pwreset_breach_checks_total{outcome="clean"} 1"#));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_outage_of_the_breach_api_never_blocks_a_reset() {
    // Not from wiremock's pool: a pooled server outlives `drop` and goes on
    // serving whichever test takes it next (the range server above lists a
    // breached password), so "down" would not be down.
    let server = MockServer::builder().start().await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(200).set_delay(Duration::from_secs(5)))
        .mount(&server)
        .await;
    let uri = server.uri();
    let app = spawn_app_with(move |env| {
        env.insert("PWNED_PASSWORDS_URL".into(), uri);
        env.insert("PWNED_PASSWORDS_TIMEOUT_MS".into(), "200".into());
    })
    .await;
    app.add_user("u-1", "user@example.com", None).await;
    let token = app.request_link("user@example.com").await;
    assert_eq!(
        app.reset(&token, STRONG_PASSWORD).await.status(),
        200,
        "failed open"
    );
    let metrics = app.metrics_text().await;
    assert!(metrics.contains(r#"pwreset_breach_checks_total{outcome="failed_open"} 1"#));
    assert!(captured_logs().contains("breached-password check skipped"));

    // Down entirely (nothing listens): the same.
    drop(server);
    let token = app.request_link("user@example.com").await;
    assert_eq!(
        app.reset(&token, "amber-Tundra-whistles-58-low")
            .await
            .status(),
        200
    );
    let metrics = app.metrics_text().await;
    assert!(metrics.contains(r#"pwreset_breach_checks_total{outcome="failed_open"} 2"#));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_answer_that_is_not_a_range_list_fails_open_and_is_not_counted_clean() {
    // A proxy's or captive portal's page with a 200 says nothing about the
    // password: the reset goes through as in an outage, counted as one.
    let server = MockServer::builder().start().await;
    Mock::given(method("GET"))
        .respond_with(
            ResponseTemplate::new(200).set_body_string("<html><body>Please sign in</body></html>"),
        )
        .mount(&server)
        .await;
    let (app, token) = app_asking(&server).await;
    assert_eq!(app.reset(&token, STRONG_PASSWORD).await.status(), 200);
    let metrics = app.metrics_text().await;
    assert!(metrics.contains(r#"pwreset_breach_checks_total{outcome="failed_open"} 1"#));
    assert!(metrics.contains(r#"pwreset_breach_checks_total{outcome="clean"} 0"#));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn operators_and_the_hosted_page_get_the_same_check() {
    let breached = BREACHED;
    let (server, app, token) = app_with_breach_check().await;
    let page = app
        .client
        .post(app.url("/reset-password"))
        .header("Accept-Language", "fr")
        .form(&[
            ("token", token.as_str()),
            ("new_password", breached),
            ("confirm_password", breached),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), 400);
    assert!(page.text().await.unwrap().contains("fuite de données"));

    let out = std::process::Command::new(env!("CARGO_BIN_EXE_pwreset"))
        .args([
            "user",
            "set-password",
            "user@example.com",
            "--password-stdin",
        ])
        .env_clear()
        .env("DATABASE_URL", &app.db.url)
        .env("JWT_SECRET", &app.jwt_secret)
        .env("BCRYPT_COST", "10")
        .env("PWNED_PASSWORDS_URL", server.uri())
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .and_then(|mut child| {
            use std::io::Write;
            child.stdin.take().unwrap().write_all(breached.as_bytes())?;
            child.wait_with_output()
        })
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("data breach"));
}
