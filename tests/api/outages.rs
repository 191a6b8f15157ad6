//! A database that is full or read-only answers 503 + Retry-After (never a
//! 500), `/readyz` reports it, and what was accepted before still goes out
//! once it recovers. SQLite gets a real full disk (a small tmpfs); Postgres a
//! real read-only database.

use std::io::Write;
use std::process::Command;
use std::time::Duration;

use crate::helpers::*;

/// A tmpfs of `size`, unmounted on drop.
struct SmallDisk {
    dir: tempfile::TempDir,
}

impl SmallDisk {
    fn mount(size: &str) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let status = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(dir.path())
            .status()
            .unwrap();
        assert!(status.success(), "mount tmpfs");
        Self { dir }
    }

    /// Writes a file until the disk has no room left.
    fn fill(&self) -> std::path::PathBuf {
        let path = self.dir.path().join("filler");
        let mut file = std::fs::File::create(&path).unwrap();
        let block = vec![0u8; 4096];
        while file
            .write_all(&block)
            .and_then(|()| file.sync_data())
            .is_ok()
        {}
        path
    }
}

impl Drop for SmallDisk {
    fn drop(&mut self) {
        let _ = Command::new("umount")
            .arg("-l")
            .arg(self.dir.path())
            .status();
    }
}

/// Sets the test database read-only or writable; every open connection is
/// cut, so the app's next connections get the new setting.
async fn set_read_only(app: &TestApp, read_only: bool) {
    let name = app.db.url.rsplit('/').next().unwrap().to_owned();
    let setting = if read_only { "on" } else { "off" };
    app.db
        .execute_as_admin(&format!(
            "ALTER DATABASE {name} SET default_transaction_read_only = {setting}; \
             SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{name}'"
        ))
        .await;
}

/// Asks for links until one is refused; every answer is 202 or a 503 with
/// Retry-After, never anything else.
async fn forgot_until_refused(app: &TestApp) -> bool {
    for i in 0..500 {
        let response = app.forgot(&format!("flood{i}@example.com")).await;
        match response.status().as_u16() {
            202 => continue,
            503 => {
                assert!(response.headers().contains_key("retry-after"));
                assert_problem(response, 503, "unavailable").await;
                return true;
            }
            other => {
                let logs = captured_logs();
                let tail: Vec<&str> = logs
                    .lines()
                    .filter(|l| l.contains("ERROR"))
                    .rev()
                    .take(3)
                    .collect();
                panic!("a {other} while the database refuses writes; log: {tail:#?}")
            }
        }
    }
    false
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_disk_answers_503_and_loses_nothing_accepted() {
    if backend() != Backend::Sqlite {
        eprintln!("a SQLite file on a full disk: not for this backend");
        return;
    }
    if !may_mount("a full-disk test") {
        return;
    }
    let disk = SmallDisk::mount("2m");
    let url = format!("sqlite://{}", disk.dir.path().join("pwreset.db").display());
    let app = spawn_app_with(move |env| {
        env.insert("DATABASE_URL".into(), url);
    })
    .await;
    app.add_user("u-1", "before@example.com", None).await;
    assert_eq!(app.forgot("before@example.com").await.status(), 202);

    let filler = disk.fill();
    assert!(forgot_until_refused(&app).await, "a full disk is noticed");
    assert_eq!(app.ready_status().await, 503, "/readyz reports it");

    std::fs::remove_file(filler).unwrap();
    assert_eq!(
        wait_for(Duration::from_secs(10), || async {
            app.ready_status().await == 200
        })
        .await,
        Some(())
    );
    app.deliver().await;
    assert_eq!(
        app.reset_emails_to("before@example.com").len(),
        1,
        "the request accepted before the disk filled up is sent"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "Postgres only: run with PWRESET_TEST_BACKEND=postgres and --include-ignored"]
async fn a_read_only_database_answers_503_and_loses_nothing_accepted() {
    assert_eq!(
        backend(),
        Backend::Postgres,
        "needs PWRESET_TEST_BACKEND=postgres"
    );
    let app = spawn_app().await;
    app.add_user("u-1", "before@example.com", None).await;
    assert_eq!(app.forgot("before@example.com").await.status(), 202);
    let name = app.db.url.rsplit('/').next().unwrap().to_owned();
    let reconnect =
        format!("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{name}'");

    app.db
        .execute_as_admin(&format!(
            "ALTER DATABASE {name} SET default_transaction_read_only = on; {reconnect}"
        ))
        .await;
    assert!(
        forgot_until_refused(&app).await,
        "a read-only database is noticed"
    );
    assert_eq!(
        wait_for(Duration::from_secs(10), || async {
            app.ready_status().await == 503
        })
        .await,
        Some(()),
        "/readyz reports it"
    );

    set_read_only(&app, false).await;
    assert_eq!(
        wait_for(Duration::from_secs(10), || async {
            app.ready_status().await == 200
        })
        .await,
        Some(())
    );
    app.deliver().await;
    assert_eq!(app.reset_emails_to("before@example.com").len(), 1);
}
