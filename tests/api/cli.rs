//! The operator's commands, run as the real binary against the test database.

use std::process::{Command, Output};

use crate::helpers::*;

fn set_password(app: &TestApp, password: &str) -> Output {
    let args = [
        "user",
        "set-password",
        "ops@example.com",
        "--password-stdin",
    ];
    pwreset(app, &args, Some(password))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn operators_add_users_set_passwords_and_disable_them() {
    let app = spawn_app().await;
    let out = pwreset(
        &app,
        &[
            "user",
            "add",
            "Ops@Example.com",
            "--id",
            "ops-1",
            "--password-stdin",
        ],
        Some(&format!("{STRONG_PASSWORD}\n")),
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(text(&out.stdout).contains("created user ops-1 <ops@example.com>"));
    let user = app.user("ops-1").await;
    assert!(bcrypt::verify(STRONG_PASSWORD, user.password_hash.as_deref().unwrap()).unwrap());

    let out = pwreset(&app, &["user", "add", "ops@example.com"], None);
    assert!(!out.status.success());
    assert!(text(&out.stderr).contains("already exists"));

    // set-password kills outstanding links and tells the owner.
    let link = app.request_link("ops@example.com").await;
    let out = set_password(&app, OTHER_STRONG_PASSWORD);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(app.password_is("ops-1", OTHER_STRONG_PASSWORD).await);
    assert_problem(app.validate(&link).await, 400, "invalid_token").await;
    app.deliver().await;
    assert!(
        app.emails()
            .iter()
            .any(|e| e.to == "ops@example.com" && e.subject.contains("was changed"))
    );

    // A weak password is refused with the reason, and nothing changes.
    let out = set_password(&app, "password1234");
    assert!(!out.status.success());
    assert!(text(&out.stderr).contains("too easy to guess"));
    assert!(app.password_is("ops-1", OTHER_STRONG_PASSWORD).await);

    // disable kills links; later requests send nothing.
    let link = app.request_link("ops@example.com").await;
    let out = pwreset(&app, &["user", "disable", "ops@example.com"], None);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(app.user("ops-1").await.disabled);
    assert_problem(app.validate(&link).await, 400, "invalid_token").await;
    let mails_before = app.emails().len();
    assert_eq!(app.forgot("ops@example.com").await.status(), 202);
    app.deliver().await;
    assert_eq!(app.emails().len(), mails_before);

    let out = pwreset(&app, &["user", "disable", "nobody@example.com"], None);
    assert!(!out.status.success());
    assert!(text(&out.stderr).contains("no user with email nobody@example.com"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn migrate_and_keys_generate() {
    let app = spawn_app().await;
    let out = pwreset(&app, &["migrate"], None);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(text(&out.stdout).contains("database is up to date"));

    let first = pwreset(&app, &["keys", "generate"], None);
    let second = pwreset(&app, &["keys", "generate"], None);
    let (first, second) = (
        text(&first.stdout).trim().to_owned(),
        text(&second.stdout).trim().to_owned(),
    );
    assert_eq!(first.len(), 43);
    assert_ne!(first, second);
    assert!(
        pwreset::tokens::SigningKey::new(first.as_bytes()).is_ok(),
        "a generated key is accepted"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bad_setting_refuses_start_up_naming_the_variable() {
    let app = spawn_app().await;
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_pwreset"));
    let dir = tempfile::tempdir().unwrap();
    let out = cmd
        .arg("migrate")
        .current_dir(dir.path())
        .env_clear()
        .env("DATABASE_URL", &app.db.url)
        .env("JWT_SECRET", "too-short")
        .env("BCRYPT_COST", "99")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains("JWT_SECRET is 9 bytes long; it must be at least 32 bytes"),
        "{stderr}"
    );
    assert!(stderr.contains("BCRYPT_COST=\"99\""), "{stderr}");
    assert!(
        !stderr.contains("too-short"),
        "the bad secret itself is not echoed: {stderr}"
    );
}

#[test]
fn without_a_key_sqlite_generates_one_beside_the_database_and_keeps_it() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("dev.db");
    let env = [(
        "DATABASE_URL".to_owned(),
        format!("sqlite://{}", db.display()),
    )]
    .into_iter()
    .collect();
    let settings = pwreset::config::Settings::from_map(&env).unwrap();
    let first = format!("{:?}", settings.load_keys().unwrap());
    let key_file = dir.path().join("dev.db.jwt-secret");
    assert!(key_file.is_file());
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(
            std::fs::metadata(&key_file).unwrap().permissions().mode() & 0o777,
            0o600
        );
    }
    let second = format!("{:?}", settings.load_keys().unwrap());
    assert_eq!(first, second, "the same key after a restart");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn operators_list_the_outbox_and_requeue_a_dead_row() {
    use wiremock::{MockServer, ResponseTemplate};

    let server = MockServer::start().await;
    mount_failures_then(
        &server,
        ResponseTemplate::new(422)
            .set_body_json(serde_json::json!({"message": "sender not verified"})),
        1,
        ResponseTemplate::new(200).set_body_json(serde_json::json!({"id": "ok"})),
    )
    .await;
    let app = spawn_app_with_provider("resend", &server, &[]).await;
    app.add_user("u-1", "queued@example.com", None).await;
    app.forgot("queued@example.com").await;
    app.deliver().await;
    let row = app.email_rows().await.remove(0);
    assert_eq!(row.status, OutboxStatus::Dead);

    let out = pwreset(&app, &["outbox", "list"], None);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let listing = text(&out.stdout);
    let line = listing
        .lines()
        .find(|l| l.starts_with(row.id.as_str()))
        .expect("the dead row is listed");
    assert!(
        line.contains("email") && line.contains("dead") && line.contains("sender not verified"),
        "{line}"
    );
    assert!(listing.contains("reset_request") && listing.contains("done"));
    assert!(
        !listing.contains("sealed")
            && !listing.contains("token=")
            && !listing.contains("queued@example.com")
    );
    let dead_only = text(&pwreset(&app, &["outbox", "list", "--status", "dead"], None).stdout);
    assert_eq!(
        dead_only.lines().count(),
        2,
        "header and the one dead row:\n{dead_only}"
    );

    let out = pwreset(&app, &["outbox", "retry", row.id.as_str()], None);
    assert!(out.status.success(), "{}", text(&out.stderr));
    app.deliver().await;
    let row = app.email_rows().await.remove(0);
    assert_eq!(row.status, OutboxStatus::Sent, "{:?}", row.last_error);
    let sent = server.received_requests().await.unwrap();
    assert_eq!(sent.len(), 2);
    let body: serde_json::Value = sent[1].body_json().unwrap();
    assert_eq!(
        app.validate(&token_in(body["text"].as_str().unwrap()))
            .await
            .status(),
        200
    );

    let out = pwreset(&app, &["outbox", "retry", row.id.as_str()], None);
    assert!(!out.status.success(), "a sent row cannot be re-queued");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mail_preview_prints_what_would_be_sent() {
    let app = spawn_app().await;
    let out = pwreset(&app, &["mail", "preview", "reset"], None);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let preview = text(&out.stdout);
    assert!(preview.contains("Subject: Reset your pwreset password"));
    assert!(preview.contains("60 minutes") && preview.contains("<html lang=\"en\">"));
    let out = pwreset(&app, &["mail", "preview", "changed"], None);
    assert!(text(&out.stdout).contains("If this wasn't you"));
    let out = pwreset(&app, &["mail", "preview", "reset", "--locale", "de"], None);
    assert!(text(&out.stdout).contains("Subject: Setze dein pwreset-Passwort zurück"));
    let out = pwreset(&app, &["mail", "preview", "reset", "--locale", "tlh"], None);
    assert!(!out.status.success());
    assert!(
        text(&out.stderr).contains("expected one of en"),
        "{}",
        text(&out.stderr)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn prune_deletes_what_is_past_retention_and_says_what() {
    let app = spawn_app().await;
    app.add_user("u-1", "old@example.com", None).await;
    app.request_link("old@example.com").await;
    app.forgot("pending@example.com").await;
    assert_eq!(app.outbox_len().await, 3);
    // Age the handled request, the sent email and the token by decades.
    app.db
        .execute(
            "UPDATE outbox SET created_at = '2000-01-01 00:00:00' WHERE status <> 'pending'; \
             UPDATE password_reset_tokens SET created_at = '2000-01-01 00:00:00', \
             expires_at = '2000-01-01 01:00:00'",
        )
        .await;

    let out = pwreset(&app, &["prune"], None);

    assert!(out.status.success(), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    assert!(
        stdout.contains("deleted 2 outbox row(s), 1 token(s)"),
        "{stdout}"
    );
    let left = app.repo().list_outbox(None, 100).await.unwrap();
    assert_eq!(left.len(), 1);
    assert_eq!(left[0].status, OutboxStatus::Pending);
}
