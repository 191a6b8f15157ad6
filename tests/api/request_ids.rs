//! One reset followed through the logs: every answer carries its request's
//! id, a trusted proxy's id is kept (a client's own is not), every line of
//! the request carries it, and the outbox rows it queued remember it, so the
//! worker's lines about them name the row and the request.

use std::process::{Command, Stdio};
use std::time::Duration;

use pwreset::messages::OutboxKind;
use serde_json::Value;

use crate::helpers::*;

fn request_id(response: &reqwest::Response) -> String {
    response
        .headers()
        .get("x-request-id")
        .unwrap_or_else(|| panic!("no X-Request-Id on a {}", response.status()))
        .to_str()
        .unwrap()
        .to_owned()
}

/// forgot-password for `email` as a trusted proxy forwarding request `id`.
async fn forgot_forwarded(
    client: &reqwest::Client,
    base: &str,
    email: &str,
    id: &str,
) -> reqwest::Response {
    client
        .post(format!("{base}/api/auth/forgot-password/"))
        .header("X-Request-Id", id)
        .json(&serde_json::json!({ "email": email }))
        .send()
        .await
        .unwrap()
}

/// The JSON lines this process logged that carry `request_id`.
fn lines_of(request_id: &str) -> Vec<Value> {
    captured_json_logs()
        .lines()
        .map(|line| serde_json::from_str::<Value>(line).unwrap())
        .filter(|line| line["request_id"] == request_id)
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_answer_carries_its_own_id_refusals_included() {
    let app = spawn_app().await;
    let answers = [
        app.forgot("someone@example.com").await,
        app.client
            .get(app.url("/no-such-path"))
            .send()
            .await
            .unwrap(),
        app.client
            .post(app.url("/api/auth/forgot-password/"))
            .header("Content-Type", "application/json")
            .body("{not json")
            .send()
            .await
            .unwrap(),
        app.client
            .delete(app.url("/api/auth/forgot-password/"))
            .send()
            .await
            .unwrap(),
        app.client
            .get(app.url("/internal/v1/users/u-1"))
            .send()
            .await
            .unwrap(),
        app.client.get(app.url("/healthz")).send().await.unwrap(),
    ];
    let statuses: Vec<u16> = answers.iter().map(|r| r.status().as_u16()).collect();
    assert_eq!(statuses, [202, 404, 400, 405, 401, 200]);
    let ids: Vec<String> = answers.iter().map(request_id).collect();
    for id in &ids {
        assert!(
            id.len() == 32 && id.chars().all(|c| c.is_ascii_hexdigit()),
            "a generated id: {id}"
        );
    }
    let distinct: std::collections::BTreeSet<&String> = ids.iter().collect();
    assert_eq!(distinct.len(), ids.len(), "one id per request: {ids:?}");
    let access = lines_of(&ids[1]);
    assert!(
        access.iter().any(|l| l["msg"]
            .as_str()
            .unwrap()
            .starts_with("GET /no-such-path 404")),
        "the 404's access line carries its id: {access:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_trusted_proxys_id_is_kept_and_a_clients_own_is_not() {
    let direct = spawn_app().await;
    let response = direct
        .client
        .get(direct.url("/healthz"))
        .header("X-Request-Id", "chosen-by-the-client")
        .send()
        .await
        .unwrap();
    assert_ne!(request_id(&response), "chosen-by-the-client");

    let proxied = spawn_app_with(|env| {
        env.insert("TRUSTED_PROXIES".into(), "127.0.0.1".into());
    })
    .await;
    let ask = |id: &'static str| {
        proxied
            .client
            .get(proxied.url("/healthz"))
            .header("X-Request-Id", id)
            .send()
    };
    let kept = ask("edge-7f3a:trace/1").await.unwrap();
    assert_eq!(request_id(&kept), "edge-7f3a:trace/1");
    // Not an id to put in a log line: the service makes its own.
    let replaced = ask("two words").await.unwrap();
    assert_ne!(request_id(&replaced), "two words");
    assert_eq!(request_id(&replaced).len(), 32);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_reset_is_followed_from_its_202_through_the_worker_to_the_provider() {
    let app = spawn_app_with(|env| {
        env.insert("TRUSTED_PROXIES".into(), "127.0.0.1".into());
    })
    .await;
    app.add_user("u-follow", "follow-me@example.com", None)
        .await;
    let forgot_id = format!("forgot-{}", uuid::Uuid::new_v4().simple());
    let response = forgot_forwarded(
        &app.client,
        &app.address,
        "follow-me@example.com",
        &forgot_id,
    )
    .await;
    assert_eq!(response.status(), 202);
    assert_eq!(request_id(&response), forgot_id);
    let request_row = app.outbox_rows(OutboxKind::ResetRequest).await;
    assert_eq!(
        request_row[0].request_id.as_deref(),
        Some(forgot_id.as_str())
    );
    app.deliver().await;

    // The email the worker queued while fulfilling the request remembers it.
    let email = &app.email_rows().await[0];
    assert_eq!(email.request_id.as_deref(), Some(forgot_id.as_str()));
    let lines = lines_of(&forgot_id);
    let about = |outbox_id: &str, needle: &str| {
        lines
            .iter()
            .any(|l| l["outbox_id"] == outbox_id && l["msg"].as_str().unwrap().contains(needle))
    };
    assert!(
        lines.iter().any(|l| {
            l["outbox_id"].is_null()
                && l["msg"]
                    .as_str()
                    .unwrap()
                    .starts_with("POST /api/auth/forgot-password/ 202")
        }),
        "the request's own access line: {lines:#?}"
    );
    assert!(
        about(request_row[0].id.as_str(), "reset token"),
        "fulfil, under the request row's id: {lines:#?}"
    );
    let provider_id = email.provider_message_id.as_deref().unwrap();
    assert!(
        about(
            email.id.as_str(),
            &format!("sent via file (attempt 1, provider message id {provider_id})")
        ),
        "the send and the provider's id, under the email row's id: {lines:#?}"
    );

    // The reset's own request: the notice it queued is sent under its id.
    let token = app.emails()[0].reset_token();
    let reset_id = format!("reset-{}", uuid::Uuid::new_v4().simple());
    let response = app
        .client
        .post(app.url("/api/auth/reset-password/"))
        .header("X-Request-Id", &reset_id)
        .json(&serde_json::json!({
            "token": token, "new_password": STRONG_PASSWORD, "confirm_password": STRONG_PASSWORD,
        }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    app.deliver().await;
    let notice = app
        .email_rows()
        .await
        .into_iter()
        .find(|row| row.request_id.as_deref() == Some(reset_id.as_str()))
        .expect("the password-changed notice remembers the reset's request");
    assert!(
        lines_of(&reset_id)
            .iter()
            .any(|l| l["outbox_id"] == notice.id.as_str()
                && l["msg"].as_str().unwrap().contains("sent via file")),
        "the notice's send names the reset's request"
    );
}

/// The real binary with `LOG_FORMAT=json`: every line it writes, start-up
/// and shutdown included, is one JSON object, and the request's lines and
/// the worker's lines about its rows carry the ids; no secret in any.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_binary_with_log_format_json_writes_only_json_lines() {
    let app = spawn_app().await;
    app.add_user("u-json", "json-lines@example.com", None).await;
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let dir = tempfile::tempdir().unwrap();
    let mail = dir.path().join("mail");
    let log = dir.path().join("service.log");
    let mut child = Command::new(env!("CARGO_BIN_EXE_pwreset"))
        .arg("serve")
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("DATABASE_URL", &app.db.url)
        .env("JWT_SECRET", &app.jwt_secret)
        .env("BIND_ADDR", format!("127.0.0.1:{port}"))
        .env("MAIL_PROVIDER", "file")
        .env("MAIL_FILE_DIR", &mail)
        .env("TRUSTED_PROXIES", "127.0.0.1")
        .env("RATE_LIMIT_ENABLED", "false")
        .env("RUST_LOG", "info")
        .env("LOG_FORMAT", "json")
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&log).unwrap())
        .spawn()
        .unwrap();
    let base = format!("http://127.0.0.1:{port}");
    let up = wait_for(Duration::from_secs(30), || async {
        reqwest::get(format!("{base}/healthz"))
            .await
            .is_ok_and(|r| r.status() == 200)
    })
    .await;
    assert_eq!(up, Some(()), "{}", std::fs::read_to_string(&log).unwrap());
    let client = reqwest::Client::new();
    let response = forgot_forwarded(&client, &base, "json-lines@example.com", "edge-json-1").await;
    assert_eq!(response.status(), 202);
    let sent = wait_for(Duration::from_secs(30), || async {
        std::fs::read_dir(&mail).is_ok_and(|d| d.count() > 0)
    })
    .await;
    assert_eq!(sent, Some(()), "the email went out");
    let stopped = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(stopped.success());
    assert!(child.wait().unwrap().success());

    let written = std::fs::read_to_string(&log).unwrap();
    let lines: Vec<Value> = written
        .lines()
        .map(|line| {
            serde_json::from_str::<Value>(line)
                .unwrap_or_else(|e| panic!("not a JSON line ({e}): {line}"))
        })
        .collect();
    for line in &lines {
        for field in ["ts", "level", "target", "msg"] {
            assert!(line[field].is_string(), "{field} in {line}");
        }
    }
    let has = |pred: &dyn Fn(&Value) -> bool| lines.iter().any(pred);
    let msg = |l: &Value| l["msg"].as_str().unwrap_or_default().to_owned();
    assert!(
        has(&|l| msg(l).starts_with("listening on")),
        "start-up: {written}"
    );
    assert!(
        has(&|l| l["request_id"] == "edge-json-1"
            && msg(l).starts_with("POST /api/auth/forgot-password/ 202")),
        "{written}"
    );
    assert!(
        has(&|l| l["request_id"] == "edge-json-1"
            && l["outbox_id"].is_string()
            && msg(l).contains("sent via file")),
        "the worker's send names the request: {written}"
    );
    let email: Value = serde_json::from_str(
        &std::fs::read_to_string(
            std::fs::read_dir(&mail)
                .unwrap()
                .next()
                .unwrap()
                .unwrap()
                .path(),
        )
        .unwrap(),
    )
    .unwrap();
    let jwt = token_in(email["text"].as_str().unwrap());
    assert!(!written.contains(&jwt), "the link's token reached the log");
    assert!(
        !written.contains(&app.jwt_secret),
        "the signing key reached the log"
    );
}

/// A refused setting is the last thing the process writes; with
/// `LOG_FORMAT=json` it is a JSON line too, and `LOG_FORMAT` itself is
/// checked like any other variable.
#[test]
fn a_refused_start_is_reported_in_the_chosen_format() {
    let run = |vars: &[(&str, &str)]| {
        let dir = tempfile::tempdir().unwrap();
        let out = Command::new(env!("CARGO_BIN_EXE_pwreset"))
            .arg("serve")
            .current_dir(dir.path())
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("BIND_ADDR", "not-an-address")
            .envs(vars.iter().copied())
            .output()
            .unwrap();
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    let (code, stderr) = run(&[("LOG_FORMAT", "json")]);
    assert_eq!(code, Some(2), "{stderr}");
    let lines: Vec<Value> = stderr
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
        .collect();
    assert!(
        lines
            .iter()
            .any(|l| l["level"] == "ERROR" && l["msg"].as_str().unwrap().contains("BIND_ADDR")),
        "{stderr}"
    );

    let (code, stderr) = run(&[]);
    assert_eq!(code, Some(2));
    assert!(
        stderr.starts_with("pwreset: ") && stderr.contains("BIND_ADDR"),
        "{stderr}"
    );

    let (code, stderr) = run(&[("LOG_FORMAT", "yaml"), ("BIND_ADDR", "127.0.0.1:0")]);
    assert_eq!(code, Some(2));
    assert!(
        stderr.contains("LOG_FORMAT=yaml") && stderr.contains("text or json"),
        "{stderr}"
    );
}

/// A provider that keeps failing: the worker's retry and dead lines about
/// the email name the row and the request that queued it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retries_and_give_ups_name_the_row_and_its_request() {
    let provider = wiremock::MockServer::start().await;
    wiremock::Mock::given(wiremock::matchers::method("POST"))
        .respond_with(wiremock::ResponseTemplate::new(500))
        .mount(&provider)
        .await;
    let app = spawn_app_with_provider(
        "http",
        &provider,
        &[("TRUSTED_PROXIES", "127.0.0.1"), ("MAIL_MAX_ATTEMPTS", "2")],
    )
    .await;
    app.add_user("u-failing", "failing@example.com", None).await;
    let id = format!("failing-{}", uuid::Uuid::new_v4().simple());
    let response = forgot_forwarded(&app.client, &app.address, "failing@example.com", &id).await;
    assert_eq!(response.status(), 202);
    app.deliver().await;
    // Past the retry's time (and within the link's life): the last attempt.
    app.clock.advance(20 * 60);
    app.deliver().await;

    let email = &app.email_rows().await[0];
    assert_eq!(email.status, pwreset::messages::OutboxStatus::Dead);
    let lines = lines_of(&id);
    let about_email = |needle: &str| {
        lines.iter().any(|l| {
            l["outbox_id"] == email.id.as_str() && l["msg"].as_str().unwrap().contains(needle)
        })
    };
    assert!(about_email("failed, retrying at"), "{lines:#?}");
    assert!(about_email("dead after 2 attempt(s)"), "{lines:#?}");
}
