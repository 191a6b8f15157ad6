//! `pwreset user import`: an operator moves a user base in from a JSON
//! Lines file or Django's `dumpdata`, as the real binary, against the test
//! database. One bad record never stops the others, each refusal is named,
//! and a second run changes nothing.

use reqwest::Method;
use serde_json::json;

use crate::helpers::*;

async fn check(app: &TestApp, user_id: &str, password: &str) -> u16 {
    app.internal(Method::POST, "/internal/v1/password-checks")
        .json(&json!({"user_id": user_id, "password": password}))
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

fn import(app: &TestApp, file: &std::path::Path, format: &str) -> (bool, String, String) {
    let path = file.to_str().unwrap();
    let out = pwreset(app, &["user", "import", path, "--format", format], None);
    (out.status.success(), text(&out.stdout), text(&out.stderr))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_jsonl_file_is_imported_record_by_record_and_a_second_run_changes_nothing() {
    let app = spawn_app_with(with_services).await;
    app.add_user("old-1", "old@example.com", Some(STRONG_PASSWORD))
        .await;
    app.add_user("taken-1", "taken@example.com", None).await;
    let link = app.request_link("old@example.com").await;
    let hash = bcrypt::hash(STRONG_PASSWORD, 4).unwrap();
    let lines = [
        json!({"id": "new-1", "email": "New@Example.com", "password_hash": hash}).to_string(),
        json!({"id": "new-2", "email": "nopass@example.com", "locale": "de"}).to_string(),
        json!({"id": "new-3", "email": "off@example.com", "disabled": true}).to_string(),
        // An existing user's address changes: its link dies.
        json!({"id": "old-1", "email": "old-new@example.com"}).to_string(),
        "{not json".to_owned(),
        json!({"id": "new-1", "email": "again@example.com"}).to_string(),
        json!({"id": "new-4", "email": "taken@example.com"}).to_string(),
        json!({"id": "new-5", "email": "plain@example.com", "password_hash": STRONG_PASSWORD})
            .to_string(),
        String::new(),
        json!({"id": "new-6", "email": "x@example.com", "admin": true}).to_string(),
    ];
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("users.jsonl");
    std::fs::write(&file, lines.join("\n")).unwrap();

    let (ok, stdout, stderr) = import(&app, &file, "jsonl");
    assert!(!ok, "refusals make the command fail:\n{stdout}\n{stderr}");
    assert!(
        stdout.contains("created 3, updated 1, unchanged 0, refused 5"),
        "{stdout}\n{stderr}"
    );
    assert!(stderr.contains("refused line 5: not JSON"), "{stderr}");
    assert!(
        stderr.contains("refused line 6: id new-1 already appears at line 1"),
        "{stderr}"
    );
    assert!(
        stderr.contains("refused line 7: email taken@example.com belongs to another user"),
        "{stderr}"
    );
    assert!(stderr.contains("refused line 8: password hash: not a password hash"));
    assert!(stderr.contains("Accepted") || stderr.contains("accepted: bcrypt"));
    assert!(
        stderr.contains("refused line 10: unknown field \"admin\""),
        "{stderr}"
    );
    assert!(
        !stderr.contains(STRONG_PASSWORD) && !stdout.contains(STRONG_PASSWORD),
        "a refused plaintext is never echoed"
    );

    // What the file said is what pwreset holds.
    assert_eq!(app.user("new-1").await.email, "new@example.com");
    assert_eq!(check(&app, "new-1", STRONG_PASSWORD).await, 200);
    let nopass = app.user("new-2").await;
    assert!(nopass.password_hash.is_none());
    assert_eq!(nopass.locale.as_deref(), Some("de"));
    assert!(app.user("new-3").await.disabled);
    assert_eq!(app.user("old-1").await.email, "old-new@example.com");
    assert_eq!(check(&app, "old-1", STRONG_PASSWORD).await, 200);
    app.assert_link_refused(&link).await;
    assert!(app.find_user("new-4").await.is_none());
    assert!(app.find_user("new-5").await.is_none());
    assert_eq!(app.user("taken-1").await.email, "taken@example.com");

    // The same file again: nothing changes, the same records are refused.
    let (ok, stdout, _) = import(&app, &file, "jsonl");
    assert!(!ok);
    assert!(
        stdout.contains("created 0, updated 0, unchanged 4, refused 5"),
        "{stdout}"
    );

    // A hash in the file never replaces the one pwreset holds (new-1 may
    // have reset since); only the good lines: exit 0.
    let good = [
        json!({"id": "new-1", "email": "new@example.com", "password_hash": bcrypt::hash(OTHER_STRONG_PASSWORD, 4).unwrap()}).to_string(),
        json!({"id": "new-2", "email": "nopass@example.com", "password_hash": hash}).to_string(),
        json!({"id": "new-3", "email": "off@example.com", "disabled": false}).to_string(),
    ];
    std::fs::write(&file, good.join("\n")).unwrap();
    let (ok, stdout, stderr) = import(&app, &file, "jsonl");
    assert!(ok, "{stdout}\n{stderr}");
    assert!(
        stdout.contains("created 0, updated 2, unchanged 1, refused 0"),
        "{stdout}"
    );
    assert_eq!(check(&app, "new-1", STRONG_PASSWORD).await, 200);
    assert_eq!(check(&app, "new-2", STRONG_PASSWORD).await, 200);
    assert!(!app.user("new-3").await.disabled);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_django_user_base_moves_in_with_one_command_and_signs_in() {
    let Some(python) = python_with(&["django"], "pip install django") else {
        return;
    };
    let script = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/api/support/django_dumpdata.py"
    );
    let mut command = std::process::Command::new(python);
    command.arg(script).arg(STRONG_PASSWORD);
    let output = tokio::task::spawn_blocking(move || command.output())
        .await
        .unwrap()
        .unwrap();
    assert!(output.status.success(), "{}", text(&output.stderr));
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("dump.json");
    std::fs::write(&file, &output.stdout).unwrap();

    let app = spawn_app_with(with_services).await;
    let (ok, stdout, stderr) = import(&app, &file, "django");
    assert!(ok, "{stdout}\n{stderr}");
    assert!(
        stdout.contains("created 3, updated 0, unchanged 0, refused 0"),
        "{stdout}"
    );
    // pk 1 is alice (Django's pk becomes the id), email normalized.
    let alice = app.user("1").await;
    assert_eq!(alice.email, "alice@example.com");
    assert!(
        alice
            .password_hash
            .as_deref()
            .unwrap()
            .starts_with("pbkdf2_sha256$")
    );
    assert_eq!(check(&app, "1", OTHER_STRONG_PASSWORD).await, 401);
    assert_eq!(check(&app, "1", STRONG_PASSWORD).await, 200);
    assert!(
        app.user("1")
            .await
            .password_hash
            .unwrap()
            .starts_with("$2b$")
    );
    // bob's unusable password is no password: he can reset, not sign in.
    assert!(app.user("2").await.password_hash.is_none());
    assert_eq!(check(&app, "2", STRONG_PASSWORD).await, 401);
    // carol is inactive: disabled.
    assert!(app.user("3").await.disabled);
    assert_eq!(check(&app, "3", STRONG_PASSWORD).await, 401);

    // Again, after alice's hash became bcrypt: nothing changes.
    let (ok, stdout, _) = import(&app, &file, "django");
    assert!(ok);
    assert!(
        stdout.contains("created 0, updated 0, unchanged 3, refused 0"),
        "{stdout}"
    );
    assert_eq!(check(&app, "1", STRONG_PASSWORD).await, 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_file_that_is_not_the_format_is_refused_whole_and_changes_nothing() {
    let app = spawn_app().await;
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("users.jsonl");
    std::fs::write(
        &file,
        json!({"id": "u1", "email": "u1@example.com"}).to_string(),
    )
    .unwrap();
    let (ok, _, stderr) = import(&app, &file, "django");
    assert!(!ok);
    assert!(stderr.contains("not a Django dumpdata file"), "{stderr}");
    assert!(app.find_user("u1").await.is_none());
    let (ok, _, stderr) = import(&app, &dir.path().join("missing.jsonl"), "jsonl");
    assert!(!ok);
    assert!(stderr.contains("opening"), "{stderr}");
}
