//! Files the service writes hold secrets or addresses: the SQLite database
//! and its WAL/SHM, the generated signing key, the `file` mailer's messages.
//! Only their owner may read them.

use std::os::unix::fs::PermissionsExt;

use crate::helpers::*;

fn mode(path: &std::path::Path) -> u32 {
    std::fs::metadata(path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .permissions()
        .mode()
        & 0o777
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn database_key_and_messages_are_readable_by_their_owner_only() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("pwreset.db");
    let url = format!("sqlite://{}", db.display());
    let app = spawn_app_with(move |env| {
        env.insert("DATABASE_URL".into(), url);
        env.remove("JWT_SECRET"); // generated beside the database
    })
    .await;
    app.add_user("u-1", "private@example.com", None).await;
    app.request_link("private@example.com").await;

    let mut files = vec![
        db.clone(),
        dir.path().join("pwreset.db-wal"),
        dir.path().join("pwreset.db-shm"),
        dir.path().join("pwreset.db.jwt-secret"),
    ];
    files.extend(
        std::fs::read_dir(&app.mail_dir)
            .unwrap()
            .map(|e| e.unwrap().path()),
    );
    assert!(files.len() >= 5, "{files:?}");
    for file in files {
        assert_eq!(mode(&file), 0o600, "{}", file.display());
    }
}
