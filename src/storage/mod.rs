//! Database access. One code path for Postgres and SQLite: every query is
//! written once inside `with_conn!`, which type-checks it against both
//! backends. Nothing outside this module sees diesel.

pub mod codes;
mod error;
pub mod handoff;
pub mod import;
pub mod leases;
pub mod outbox;
pub(crate) mod rate_limits;
pub(crate) mod reusable;
pub(crate) mod rows;
pub(crate) mod schema;
mod tls;
pub(crate) mod tokens;
pub mod upgrades;
mod url;
pub mod users;

pub(crate) use error::is_unique_violation;
pub use error::{BatchFailed, StorageError};
pub use url::{Backend, DatabaseUrl, InvalidDatabaseUrl};

use std::path::PathBuf;
use std::time::Duration;

use diesel::SqliteConnection;
use diesel_async::pooled_connection::deadpool::Pool;
use diesel_async::pooled_connection::{
    AsyncDieselConnectionManager, ManagerConfig, RecyclingMethod,
};
use diesel_async::sync_connection_wrapper::SyncConnectionWrapper;
use diesel_async::{AsyncConnection, AsyncPgConnection, SimpleAsyncConnection};

use diesel_migrations::{EmbeddedMigrations, MigrationHarness, embed_migrations};
use futures_util::FutureExt;

pub type SqliteConn = SyncConnectionWrapper<SqliteConnection>;

const POOL_TIMEOUT: Duration = Duration::from_secs(10);
const PG_MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations/postgres");
const SQLITE_MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations/sqlite");

#[derive(Clone)]
pub(crate) enum Pools {
    Postgres(Pool<AsyncPgConnection>),
    Sqlite(Pool<SqliteConn>),
}

/// Handle to the database; cheap to clone.
#[derive(Clone)]
pub struct Repo {
    pub(crate) pools: Pools,
    url: DatabaseUrl,
    tls: Option<std::sync::Arc<rustls::ClientConfig>>,
    /// SQLite takes one writer at a time, and a second one waits in SQLite's
    /// busy handler, which sleeps (1, 2, 5, 10 ms ...). The busy writers of
    /// this process (forgot-password batches, the worker's claims and
    /// settlements) queue here instead, in order and without sleeping.
    /// Unused with Postgres.
    sqlite_writer: std::sync::Arc<tokio::sync::Mutex<()>>,
}

/// Runs `$body` with `$conn` bound to a pooled connection of whichever backend
/// the repo uses. The body is compiled once per backend.
macro_rules! with_conn {
    ($repo:expr, |$conn:ident| $body:expr) => {
        match &$repo.pools {
            $crate::storage::Pools::Postgres(pool) => {
                let mut pooled = pool.get().await?;
                let $conn: &mut diesel_async::AsyncPgConnection = &mut pooled;
                $body
            }
            $crate::storage::Pools::Sqlite(pool) => {
                let mut pooled = pool.get().await?;
                let $conn: &mut $crate::storage::SqliteConn = &mut pooled;
                $body
            }
        }
    };
}
pub(crate) use with_conn;

/// Inserts outbox rows inside a transaction body, one statement per row
/// (diesel's SQLite batch insert cannot write NULLs for optional columns).
macro_rules! insert_outbox_rows {
    ($conn:expr, $rows:expr) => {
        for row in $rows {
            diesel::insert_into($crate::storage::schema::outbox::table)
                .values(row)
                .execute($conn)
                .await?;
        }
    };
}
pub(crate) use insert_outbox_rows;

/// Deletes a user's outstanding (unused) reset tokens inside a transaction
/// body; evaluates to how many died. The one way links are revoked: a
/// password change by any path (the token just consumed is already used),
/// disabling, an email change, and a service's revoke all come here. Used
/// tokens stay until retention prunes them.
macro_rules! revoke_user_tokens {
    ($conn:expr, $user_id:expr) => {{
        use $crate::storage::schema::password_reset_tokens as t;
        diesel::delete(
            t::table
                .filter(t::user_id.eq($user_id))
                .filter(t::used_at.is_null()),
        )
        .execute($conn)
        .await?
    }};
}
pub(crate) use revoke_user_tokens;

pub struct PoolOptions {
    pub max_size: usize,
    pub ca_file: Option<PathBuf>,
}

impl Repo {
    /// Builds the pool. Connections are opened lazily, so this never blocks.
    pub fn connect(url: &DatabaseUrl, options: &PoolOptions) -> Result<Self, StorageError> {
        match url {
            DatabaseUrl::Postgres(raw) => {
                let (raw, verify) = tls::split_sslmode(raw);
                let tls = tls::client_config(options.ca_file.as_deref(), verify)?;
                let setup_tls = tls.clone();
                let mut config = ManagerConfig::<AsyncPgConnection>::default();
                // No ping on every checkout (a round trip per query); a
                // connection that broke is dropped by the pool when returned,
                // and the request that met it answers 503 + Retry-After.
                config.recycling_method = RecyclingMethod::Fast;
                config.custom_setup =
                    Box::new(move |url| tls::establish(url.to_owned(), setup_tls.clone()).boxed());
                let manager = AsyncDieselConnectionManager::new_with_config(raw.clone(), config);
                let url = DatabaseUrl::Postgres(raw);
                let pool = Pool::builder(manager)
                    .max_size(options.max_size)
                    .wait_timeout(Some(POOL_TIMEOUT))
                    .create_timeout(Some(POOL_TIMEOUT))
                    .runtime(deadpool::Runtime::Tokio1)
                    .build()?;
                Ok(Self {
                    pools: Pools::Postgres(pool),
                    url,
                    tls: Some(tls),
                    sqlite_writer: Default::default(),
                })
            }
            DatabaseUrl::Sqlite(path) => {
                create_private_file(path).map_err(StorageError::File)?;
                let mut config = ManagerConfig::<SqliteConn>::default();
                config.recycling_method = RecyclingMethod::Fast;
                config.custom_setup = Box::new(|url| establish_sqlite(url.to_owned()).boxed());
                let manager = AsyncDieselConnectionManager::new_with_config(
                    path.to_string_lossy().into_owned(),
                    config,
                );
                let pool = Pool::builder(manager)
                    .max_size(options.max_size)
                    .wait_timeout(Some(POOL_TIMEOUT))
                    .create_timeout(Some(POOL_TIMEOUT))
                    .runtime(deadpool::Runtime::Tokio1)
                    .build()?;
                Ok(Self {
                    pools: Pools::Sqlite(pool),
                    url: url.clone(),
                    tls: None,
                    sqlite_writer: Default::default(),
                })
            }
        }
    }

    /// This process's turn to write to SQLite (see `sqlite_writer`). Take
    /// it after checking out the connection, never before: a turn held while
    /// waiting for the pool could wait on connections whose holders wait for
    /// the turn.
    pub(crate) async fn sqlite_write_turn(&self) -> tokio::sync::MutexGuard<'_, ()> {
        self.sqlite_writer.lock().await
    }

    pub fn backend(&self) -> Backend {
        match self.pools {
            Pools::Postgres(_) => Backend::Postgres,
            Pools::Sqlite(_) => Backend::Sqlite,
        }
    }

    /// Applies pending migrations. diesel's migration harness is synchronous
    /// and calls `block_in_place`, so it runs on a runtime of its own.
    pub async fn run_migrations(&self) -> Result<usize, StorageError> {
        let repo = self.clone();
        let (tx, rx) = tokio::sync::oneshot::channel();
        std::thread::spawn(move || {
            let result = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(1)
                .enable_all()
                .build()
                .map_err(|e| StorageError::Migration(e.into()))
                .and_then(|rt| {
                    rt.block_on(async move {
                        match tokio::spawn(async move { repo.migrate_in_place().await }).await {
                            Ok(result) => result,
                            Err(e) => Err(StorageError::Migration(e.into())),
                        }
                    })
                });
            let _ = tx.send(result);
        });
        rx.await
            .map_err(|_| StorageError::Migration("migration thread died".into()))?
    }

    async fn migrate_in_place(&self) -> Result<usize, StorageError> {
        // The pooled connections belong to the caller's runtime; open a fresh one here.
        match (&self.url, &self.tls) {
            (DatabaseUrl::Postgres(raw), Some(tls)) => {
                let conn = tls::establish(raw.clone(), tls.clone()).await?;
                let mut harness = diesel_async::AsyncMigrationHarness::new(conn);
                let applied = harness
                    .run_pending_migrations(PG_MIGRATIONS)
                    .map_err(StorageError::Migration)?;
                Ok(applied.len())
            }
            (DatabaseUrl::Sqlite(path), _) => {
                let conn = establish_sqlite(path.to_string_lossy().into_owned()).await?;
                let mut harness = diesel_async::AsyncMigrationHarness::new(conn);
                let applied = harness
                    .run_pending_migrations(SQLITE_MIGRATIONS)
                    .map_err(StorageError::Migration)?;
                Ok(applied.len())
            }
            (DatabaseUrl::Postgres(_), None) => Err(StorageError::Migration(
                "Postgres without TLS settings".into(),
            )),
        }
    }

    /// One line for the start-up log: which database, and for Postgres
    /// whether this connection is encrypted.
    pub async fn describe(&self) -> Result<String, StorageError> {
        use diesel::prelude::*;
        use diesel_async::RunQueryDsl;

        #[derive(QueryableByName)]
        struct Encrypted {
            #[diesel(sql_type = diesel::sql_types::Bool)]
            ssl: bool,
        }
        match &self.pools {
            Pools::Postgres(pool) => {
                let mut conn = pool.get().await?;
                let row: Encrypted =
                    diesel::sql_query("SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()")
                        .get_result(&mut conn)
                        .await?;
                Ok(if row.ssl {
                    "Postgres over TLS"
                } else {
                    "Postgres without TLS"
                }
                .to_owned())
            }
            Pools::Sqlite(_) => Ok(match &self.url {
                DatabaseUrl::Sqlite(path) => format!("SQLite file {}", path.display()),
                DatabaseUrl::Postgres(_) => "SQLite".to_owned(),
            }),
        }
    }

    /// Whether the database takes a write now (readiness: a full disk or a
    /// read-only database answers reads but not writes). Upserts one
    /// rate-limit key of its own.
    pub async fn accepts_writes(&self, now: chrono::NaiveDateTime) -> Result<(), StorageError> {
        self.hit_rate_limit("readyz:write-probe", now, now).await?;
        Ok(())
    }

    /// True when the database answers and every embedded migration is applied.
    pub async fn is_ready(&self) -> Result<bool, StorageError> {
        use diesel::prelude::*;
        use diesel_async::RunQueryDsl;

        diesel::table! {
            __diesel_schema_migrations (version) {
                version -> Text,
            }
        }
        let latest = match self.backend() {
            Backend::Postgres => latest_version::<diesel::pg::Pg>(&PG_MIGRATIONS)?,
            Backend::Sqlite => latest_version::<diesel::sqlite::Sqlite>(&SQLITE_MIGRATIONS)?,
        };
        let applied: Option<String> = with_conn!(self, |conn| {
            __diesel_schema_migrations::table
                .select(diesel::dsl::max(__diesel_schema_migrations::version))
                .first(conn)
                .await?
        });
        Ok(applied.is_some_and(|v| v >= latest))
    }
}

/// The newest migration the binary carries. A list that cannot be read, or
/// an empty one, is an error: with no version to compare, readiness would
/// pass whatever the database holds.
fn latest_version<DB: diesel::backend::Backend>(
    migrations: &impl diesel::migration::MigrationSource<DB>,
) -> Result<String, StorageError> {
    let all = migrations.migrations().map_err(StorageError::Migration)?;
    all.iter()
        .map(|m| m.name().version().to_string())
        .max()
        .ok_or_else(|| StorageError::Migration("the binary carries no migration".into()))
}

/// Creates the SQLite file readable by its owner only (0600) if it does not
/// exist yet; SQLite gives its WAL and SHM files the database file's mode.
/// An existing file keeps the mode its operator gave it.
fn create_private_file(path: &std::path::Path) -> std::io::Result<()> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    match options.open(path) {
        Ok(_) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
        Err(e) => Err(e),
    }
}

/// SQLite allows one writer: WAL plus a busy timeout lets the server, its
/// worker and a CLI command share the file without "database is locked".
async fn establish_sqlite(path: String) -> diesel::ConnectionResult<SqliteConn> {
    let mut conn = SqliteConn::establish(&path).await?;
    conn.batch_execute(
        "PRAGMA journal_mode = WAL; PRAGMA busy_timeout = 10000; \
         PRAGMA foreign_keys = ON; PRAGMA synchronous = NORMAL;",
    )
    .await
    .map_err(diesel::ConnectionError::CouldntSetupConfiguration)?;
    Ok(conn)
}

#[cfg(test)]
mod migration_list_tests {
    use diesel::migration::{Migration, MigrationSource};
    use diesel::sqlite::Sqlite;

    use super::{SQLITE_MIGRATIONS, StorageError, latest_version};

    struct Unreadable;

    impl MigrationSource<Sqlite> for Unreadable {
        fn migrations(&self) -> diesel::migration::Result<Vec<Box<dyn Migration<Sqlite>>>> {
            Err("cannot read the migration list".into())
        }
    }

    struct Empty;

    impl MigrationSource<Sqlite> for Empty {
        fn migrations(&self) -> diesel::migration::Result<Vec<Box<dyn Migration<Sqlite>>>> {
            Ok(Vec::new())
        }
    }

    #[test]
    fn readiness_has_no_version_to_pass_when_the_list_cannot_be_read() {
        assert!(matches!(
            latest_version(&Unreadable),
            Err(StorageError::Migration(_))
        ));
        assert!(matches!(
            latest_version(&Empty),
            Err(StorageError::Migration(_))
        ));
        let latest = latest_version::<Sqlite>(&SQLITE_MIGRATIONS).unwrap();
        assert!(latest.contains("000010"), "{latest}");
    }
}
