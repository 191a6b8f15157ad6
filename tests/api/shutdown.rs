//! Graceful shutdown of the real binary: on SIGTERM it finishes the
//! deliveries in hand, gives back the rows it claimed but had not started,
//! and exits 0; the next process sends the rest at once and nothing twice.

use std::collections::BTreeSet;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use wiremock::matchers::method;
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::helpers::*;

fn serve(app: &TestApp, provider: &MockServer, log: &std::path::Path) -> Child {
    serve_with_grace(app, provider, log, 20)
}

fn serve_with_grace(
    app: &TestApp,
    provider: &MockServer,
    log: &std::path::Path,
    grace_secs: u64,
) -> Child {
    Command::new(env!("CARGO_BIN_EXE_pwreset"))
        .arg("serve")
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("DATABASE_URL", &app.db.url)
        .env("JWT_SECRET", &app.jwt_secret)
        .env("BIND_ADDR", "127.0.0.1:0")
        .env("MAIL_PROVIDER", "http")
        .env("MAIL_API_BASE_URL", format!("{}/send", provider.uri()))
        .env("OUTBOX_POLL_INTERVAL_MS", "50")
        // Four sends at a time, so some rows are still waiting at SIGTERM.
        .env("MAIL_CONCURRENCY", "4")
        .env("SHUTDOWN_TIMEOUT_SECS", grace_secs.to_string())
        .env("RATE_LIMIT_ENABLED", "false")
        .env("RUST_LOG", "info")
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(log).unwrap())
        .spawn()
        .unwrap()
}

/// Sends SIGTERM, as an orchestrator stopping the service would.
fn sigterm(child: &Child) {
    let status = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
}

/// The exit status, once the process has ended (None past `limit`).
async fn wait_exit(child: &mut Child, limit: Duration) -> Option<std::process::ExitStatus> {
    let deadline = tokio::time::Instant::now() + limit;
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return Some(status);
        }
        if tokio::time::Instant::now() >= deadline {
            return None;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

fn idempotency_keys(requests: &[wiremock::Request]) -> Vec<String> {
    requests
        .iter()
        .map(|r| r.headers["idempotency-key"].to_str().unwrap().to_owned())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_finishes_deliveries_in_hand_and_the_next_process_sends_the_rest_once() {
    let provider = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(200).set_delay(Duration::from_secs(2)))
        .mount(&provider)
        .await;
    // Six reset emails queued (the worker sends four at a time here).
    let app = spawn_app().await;
    for i in 0..6 {
        let email = format!("leaving{i}@example.com");
        app.add_user(&format!("u-{i}"), &email, None).await;
        assert_eq!(app.forgot(&email).await.status(), 202);
    }
    assert_eq!(app.worker.run_once().await.unwrap(), 6);
    assert_eq!(app.email_rows().await.len(), 6);

    let logs = tempfile::tempdir().unwrap();
    let mut first = serve(&app, &provider, &logs.path().join("first.log"));
    let sending = wait_for(Duration::from_secs(30), || async {
        provider.received_requests().await.unwrap_or_default().len() >= 4
    })
    .await;
    assert_eq!(sending, Some(()), "the first process started sending");
    sigterm(&first);
    let exited = wait_exit(&mut first, Duration::from_secs(40)).await;
    let first_log = std::fs::read_to_string(logs.path().join("first.log")).unwrap();
    let Some(exited) = exited else {
        let _ = first.kill();
        panic!("still running 40 s after SIGTERM:\n{first_log}");
    };
    assert!(exited.success(), "exit status 0: {exited:?}\n{first_log}");

    let rows = app.email_rows().await;
    let sent: Vec<_> = rows
        .iter()
        .filter(|r| r.status == OutboxStatus::Sent)
        .collect();
    let released: Vec<_> = rows
        .iter()
        .filter(|r| r.status == OutboxStatus::Pending)
        .collect();
    assert_eq!(
        sent.len(),
        4,
        "the deliveries in hand finished: {first_log}"
    );
    assert_eq!(released.len(), 2);
    for row in &released {
        assert_eq!(row.locked_until, None, "its lease was given back");
        assert_eq!(row.attempts, 0, "an attempt not made is not counted");
    }

    // The next process sends the two released rows at once (their lease
    // would have lasted 90 s), and nothing the first one sent.
    let mut second = serve(&app, &provider, &logs.path().join("second.log"));
    let all_sent = wait_for(Duration::from_secs(30), || async {
        app.email_rows()
            .await
            .iter()
            .all(|r| r.status == OutboxStatus::Sent)
    })
    .await;
    let _ = second.kill();
    let _ = second.wait();
    assert_eq!(
        all_sent,
        Some(()),
        "released rows are sent without waiting for a lease"
    );
    let keys = idempotency_keys(&provider.received_requests().await.unwrap());
    let distinct: BTreeSet<&String> = keys.iter().collect();
    assert_eq!(keys.len(), 6, "six sends in all: {keys:?}");
    assert_eq!(distinct.len(), 6, "no email was sent twice");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_shutdown_cut_short_by_its_timeout_is_not_reported_as_clean() {
    // The provider holds the one send far past the 1 s grace period.
    let provider = MockServer::builder().start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(200).set_delay(Duration::from_secs(60)))
        .mount(&provider)
        .await;
    let app = spawn_app().await;
    app.add_user("u-1", "slow@example.com", None).await;
    assert_eq!(app.forgot("slow@example.com").await.status(), 202);
    assert_eq!(app.worker.run_once().await.unwrap(), 1);

    let logs = tempfile::tempdir().unwrap();
    let log = logs.path().join("serve.log");
    let mut child = serve_with_grace(&app, &provider, &log, 1);
    let sending = wait_for(Duration::from_secs(30), || async {
        !provider
            .received_requests()
            .await
            .unwrap_or_default()
            .is_empty()
    })
    .await;
    assert_eq!(sending, Some(()), "the send started");
    sigterm(&child);
    let exited = wait_exit(&mut child, Duration::from_secs(20)).await;
    let text = std::fs::read_to_string(&log).unwrap();
    let Some(exited) = exited else {
        let _ = child.kill();
        panic!("still running 20 s after SIGTERM:\n{text}");
    };
    assert!(
        !exited.success(),
        "a cut-short stop exits non-zero:\n{text}"
    );
    assert!(text.contains("stopped at the shutdown timeout"), "{text}");
    assert!(text.contains("abandoned"), "{text}");
    assert!(
        !text.contains("] stopped\n") && !text.ends_with(" stopped\n"),
        "{text}"
    );
    // The abandoned row is still the next process's to send.
    let rows = app.email_rows().await;
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].status, OutboxStatus::Pending);
}
