//! `GET /metrics`: the fixed families with bounded labels and no
//! secrets, accepted by `promtool check metrics`, scraped by a real
//! Prometheus; outbox gauges read from the shared database.

use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::Duration;

use crate::helpers::*;

const FAMILIES: [&str; 17] = [
    "pwreset_http_requests_total",
    "pwreset_http_request_duration_seconds",
    "pwreset_outbox_rows",
    "pwreset_outbox_oldest_due_age_seconds",
    "pwreset_outbox_deliveries_total",
    "pwreset_reset_links_issued_total",
    "pwreset_password_resets_total",
    "pwreset_token_rejections_total",
    "pwreset_rate_limited_total",
    "pwreset_bcrypt_in_flight",
    "pwreset_bcrypt_waiting",
    "pwreset_bcrypt_busy_total",
    "pwreset_breach_checks_total",
    "pwreset_worker_last_run_timestamp_seconds",
    "pwreset_worker_restarts_total",
    "pwreset_build_info",
    "process_resident_memory_bytes",
];

/// Some of everything: a reset, a refused link, an unknown path, a 429.
async fn busy_app() -> (TestApp, String) {
    let app = spawn_app_with(|env| {
        env.insert("RATE_LIMIT_ENABLED".into(), "true".into());
        env.insert("RATE_LIMIT_FORGOT_PER_EMAIL".into(), "1".into());
    })
    .await;
    app.add_user("u-1", "counted@example.com", None).await;
    let token = app.request_link("counted@example.com").await;
    assert_eq!(app.reset(&token, STRONG_PASSWORD).await.status(), 200);
    assert_eq!(app.validate(&token).await.status(), 400);
    assert_eq!(app.forgot("counted@example.com").await.status(), 429);
    let secret_path = format!("/reset-password/{token}");
    assert_eq!(
        app.client
            .get(app.url(&secret_path))
            .send()
            .await
            .unwrap()
            .status(),
        404
    );
    app.forgot("queued@example.com").await;
    (app, token)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_family_is_exported_with_bounded_labels_and_no_secrets() {
    let (app, token) = busy_app().await;
    let text = app.metrics_text().await;
    for family in FAMILIES {
        assert!(text.contains(family), "{family} missing");
    }
    for sample in [
        r#"pwreset_http_requests_total{method="POST",route="/api/auth/reset-password",status="200"} 1"#,
        r#"pwreset_http_requests_total{method="GET",route="unmatched",status="404"} 1"#,
        r#"pwreset_reset_links_issued_total{via="forgot_password"} 1"#,
        "pwreset_password_resets_total 1",
        r#"pwreset_token_rejections_total{reason="used"} 1"#,
        r#"pwreset_rate_limited_total{limit="forgot_per_email"} 1"#,
        r#"pwreset_outbox_rows{kind="reset_request",status="pending"} 1"#,
        r#"pwreset_outbox_rows{kind="email",status="sent"} 1"#,
        r#"pwreset_outbox_rows{kind="email",status="pending"} 1"#,
    ] {
        assert!(text.contains(sample), "{sample} missing from\n{text}");
    }
    assert!(!text.contains('@'), "no address in any label");
    assert!(
        !text.contains("/reset-password/ey"),
        "raw paths are never labels"
    );
    let signature = token.rsplit('.').next().unwrap();
    assert!(!text.contains(signature), "no token in any label");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_replica_reports_the_shared_queue() {
    let first = spawn_app().await;
    let secret = first.jwt_secret.clone();
    let second = spawn_app_on(
        first.db.clone(),
        Arc::new(tempfile::tempdir().unwrap()),
        |env| {
            env.insert("JWT_SECRET".into(), secret);
        },
    )
    .await;
    for i in 0..3 {
        first.forgot(&format!("someone{i}@example.com")).await;
    }
    let line = r#"pwreset_outbox_rows{kind="reset_request",status="pending"} 3"#;
    assert!(first.metrics_text().await.contains(line));
    assert!(
        second.metrics_text().await.contains(line),
        "read from the database"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn promtool_accepts_the_exposition() {
    let Some(promtool) = required_tool("promtool", "apt-get install prometheus") else {
        return;
    };
    let (app, _) = busy_app().await;
    let text = app.metrics_text().await;
    let mut child = Command::new(promtool)
        .args(["check", "metrics"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    use std::io::Write;
    child
        .stdin
        .take()
        .unwrap()
        .write_all(text.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "promtool check metrics: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_real_prometheus_scrapes_the_service() {
    let Some(prometheus) = required_tool("prometheus", "apt-get install prometheus") else {
        return;
    };
    let (app, _) = busy_app().await;
    let dir = tempfile::tempdir().unwrap();
    let target = app.address.trim_start_matches("http://");
    std::fs::write(
        dir.path().join("prometheus.yml"),
        format!(
            "global:\n  scrape_interval: 1s\nscrape_configs:\n  - job_name: pwreset\n    static_configs:\n      - targets: ['{target}']\n"
        ),
    )
    .unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut server = Command::new(prometheus)
        .arg(format!(
            "--config.file={}",
            dir.path().join("prometheus.yml").display()
        ))
        .arg(format!(
            "--storage.tsdb.path={}",
            dir.path().join("data").display()
        ))
        .arg(format!("--web.listen-address=127.0.0.1:{port}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let query = format!("http://127.0.0.1:{port}/api/v1/query?query=pwreset_password_resets_total");
    let scraped = wait_for(Duration::from_secs(60), || async {
        let Ok(response) = app.client.get(&query).send().await else {
            return false;
        };
        let body: serde_json::Value = response.json().await.unwrap_or_default();
        body["data"]["result"][0]["value"][1] == "1"
    })
    .await;
    let up = app
        .client
        .get(format!("http://127.0.0.1:{port}/api/v1/query?query=up"))
        .send()
        .await
        .ok();
    let _ = server.kill();
    let _ = server.wait();
    assert_eq!(scraped, Some(()), "Prometheus stored the service's counter");
    if let Some(up) = up {
        let body: serde_json::Value = up.json().await.unwrap_or_default();
        assert_eq!(body["data"]["result"][0]["value"][1], "1", "{body}");
    }
}

#[test]
fn the_alert_rules_in_the_docs_pass_promtool() {
    let Some(promtool) = required_tool("promtool", "apt-get install prometheus") else {
        return;
    };
    let rules = format!("{}/docs/alerts.yml", env!("CARGO_MANIFEST_DIR"));
    let out = Command::new(&promtool)
        .args(["check", "rules", &rules])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "promtool check rules: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    // The rules' own unit tests: synthetic series, the alerts they raise.
    let rule_tests = format!("{}/docs/alerts.test.yml", env!("CARGO_MANIFEST_DIR"));
    let out = Command::new(&promtool)
        .args(["test", "rules", &rule_tests])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "promtool test rules: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let readme =
        std::fs::read_to_string(format!("{}/README.md", env!("CARGO_MANIFEST_DIR"))).unwrap();
    assert!(
        readme.contains("docs/alerts.yml"),
        "the README points to the rules"
    );
}
