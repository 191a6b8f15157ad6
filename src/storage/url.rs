//! `DATABASE_URL`: which database, and where.

use std::path::PathBuf;

use super::tls;

/// Where the data lives, parsed from `DATABASE_URL`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DatabaseUrl {
    Postgres(String),
    Sqlite(PathBuf),
}

#[derive(Debug, thiserror::Error)]
pub enum InvalidDatabaseUrl {
    #[error("not a valid Postgres URL: {0}")]
    Postgres(#[source] tokio_postgres::Error),
    #[error("a SQLite URL needs a file path, e.g. sqlite://pwreset.db")]
    NoSqlitePath,
    #[error("expected postgres://USER@HOST/DB or sqlite://PATH")]
    UnknownScheme,
}

impl DatabaseUrl {
    pub fn parse(raw: &str) -> Result<Self, InvalidDatabaseUrl> {
        if raw.starts_with("postgres://") || raw.starts_with("postgresql://") {
            tls::split_sslmode(raw)
                .0
                .parse::<tokio_postgres::Config>()
                .map_err(InvalidDatabaseUrl::Postgres)?;
            return Ok(Self::Postgres(raw.to_owned()));
        }
        if let Some(path) = raw.strip_prefix("sqlite://") {
            let path = path.split('?').next().unwrap_or_default();
            if path.is_empty() || path == ":memory:" {
                return Err(InvalidDatabaseUrl::NoSqlitePath);
            }
            return Ok(Self::Sqlite(PathBuf::from(path)));
        }
        Err(InvalidDatabaseUrl::UnknownScheme)
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    Postgres,
    Sqlite,
}
