//! A fresh database per test: a SQLite file in a temporary folder, or a
//! Postgres database cloned from a template migrated once per test process
//! (as crates.io's `crates_io_test_db` does), dropped afterwards.

use std::sync::{Arc, OnceLock};

use pwreset::storage::{DatabaseUrl, PoolOptions, Repo};

use super::logs::init_logging;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

pub fn backend() -> Backend {
    match std::env::var("PWRESET_TEST_BACKEND").as_deref() {
        Ok("postgres") => Backend::Postgres,
        Ok("sqlite") | Err(_) => Backend::Sqlite,
        Ok(other) => panic!("PWRESET_TEST_BACKEND={other}: expected sqlite or postgres"),
    }
}

pub fn postgres_admin_url() -> String {
    std::env::var("PWRESET_TEST_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into())
}

pub struct TestDatabase {
    pub url: String,
    pub backend: Backend,
    _dir: Option<tempfile::TempDir>,
    pg_name: Option<String>,
}

impl TestDatabase {
    pub async fn new() -> Arc<Self> {
        init_logging();
        match backend() {
            Backend::Sqlite => {
                let dir = tempfile::tempdir().unwrap();
                let url = format!("sqlite://{}", dir.path().join("test.db").display());
                Arc::new(Self {
                    url,
                    backend: Backend::Sqlite,
                    _dir: Some(dir),
                    pg_name: None,
                })
            }
            Backend::Postgres => {
                let name = format!("pwreset_test_{}", uuid::Uuid::new_v4().simple());
                let template = migrated_template();
                admin_sql(format!("CREATE DATABASE {name} TEMPLATE {template}")).await;
                Arc::new(Self {
                    url: replace_database(&postgres_admin_url(), &name),
                    backend: Backend::Postgres,
                    _dir: None,
                    pg_name: Some(name),
                })
            }
        }
    }

    /// Runs raw SQL against the test database, as an operator would.
    pub async fn execute(&self, sql: &str) {
        match self.backend {
            Backend::Postgres => {
                let (client, conn) = tokio_postgres::connect(&self.url, tokio_postgres::NoTls)
                    .await
                    .unwrap();
                tokio::spawn(conn);
                client.batch_execute(sql).await.unwrap();
            }
            Backend::Sqlite => {
                use diesel::Connection;
                let path = self.url.trim_start_matches("sqlite://").to_owned();
                let sql = sql.to_owned();
                tokio::task::spawn_blocking(move || {
                    let mut conn = diesel::SqliteConnection::establish(&path).unwrap();
                    diesel::connection::SimpleConnection::batch_execute(&mut conn, &sql).unwrap();
                })
                .await
                .unwrap();
            }
        }
    }

    /// Runs SQL on the Postgres server's admin database (for what cannot run
    /// inside the test database, like changing its own settings).
    pub async fn execute_as_admin(&self, sql: &str) {
        admin_sql(sql.to_owned()).await;
    }

    pub fn drop_postgres_database_now(&self) {
        if let Some(name) = &self.pg_name {
            drop_postgres_database(name);
        }
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        if let Some(name) = &self.pg_name {
            drop_postgres_database(name);
        }
    }
}

async fn admin_sql(sql: String) {
    let (client, conn) = tokio_postgres::connect(&postgres_admin_url(), tokio_postgres::NoTls)
        .await
        .expect("Postgres must answer at PWRESET_TEST_POSTGRES_URL");
    tokio::spawn(conn);
    client.batch_execute(&sql).await.unwrap();
}

/// Runs `work` on a runtime of its own (callers may be inside a runtime or
/// in `Drop`).
fn on_own_runtime<T: Send + 'static>(
    work: impl FnOnce() -> std::pin::Pin<Box<dyn std::future::Future<Output = T> + Send>>
    + Send
    + 'static,
) -> T {
    std::thread::spawn(move || {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .unwrap()
            .block_on(work())
    })
    .join()
    .unwrap()
}

/// The template every Postgres test database is cloned from: created and
/// migrated once per test process. Templates of processes that have ended
/// are dropped first.
fn migrated_template() -> &'static str {
    static TEMPLATE: OnceLock<String> = OnceLock::new();
    TEMPLATE.get_or_init(|| {
        let name = format!("pwreset_template_{}", std::process::id());
        let template = name.clone();
        on_own_runtime(move || {
            Box::pin(async move {
                let (client, conn) =
                    tokio_postgres::connect(&postgres_admin_url(), tokio_postgres::NoTls)
                        .await
                        .expect("Postgres must answer at PWRESET_TEST_POSTGRES_URL");
                tokio::spawn(conn);
                let rows = client
                    .query(
                        "SELECT datname FROM pg_database WHERE datname LIKE 'pwreset_template_%'",
                        &[],
                    )
                    .await
                    .unwrap();
                for row in rows {
                    let old: String = row.get(0);
                    let pid = old.trim_start_matches("pwreset_template_");
                    if old == template || !std::path::Path::new(&format!("/proc/{pid}")).exists() {
                        client
                            .batch_execute(&format!("DROP DATABASE IF EXISTS {old} WITH (FORCE)"))
                            .await
                            .unwrap();
                    }
                }
                client
                    .batch_execute(&format!("CREATE DATABASE {template}"))
                    .await
                    .unwrap();
                let url = DatabaseUrl::parse(&replace_database(&postgres_admin_url(), &template))
                    .unwrap();
                let repo = Repo::connect(
                    &url,
                    &PoolOptions {
                        max_size: 1,
                        ca_file: None,
                    },
                )
                .unwrap();
                repo.run_migrations().await.unwrap();
                drop(repo);
            })
        });
        name
    })
}

fn drop_postgres_database(name: &str) {
    let name = name.to_owned();
    on_own_runtime(move || {
        Box::pin(async move {
            if let Ok((client, conn)) =
                tokio_postgres::connect(&postgres_admin_url(), tokio_postgres::NoTls).await
            {
                tokio::spawn(conn);
                let _ = client
                    .batch_execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                    .await;
            }
        })
    });
}

fn replace_database(url: &str, name: &str) -> String {
    let (base, query) = url
        .split_once('?')
        .map_or((url, None), |(b, q)| (b, Some(q)));
    let base = base.rsplit_once('/').map_or(base, |(b, _)| b);
    match query {
        Some(q) => format!("{base}/{name}?{q}"),
        None => format!("{base}/{name}"),
    }
}
