//! Work a migration leaves for the service to do once at start-up, because
//! SQL cannot do it alike on both databases. A migration inserts the work's
//! name into `pending_upgrades`; the row is deleted when the work is done.
//! Each step is idempotent, so replicas starting together may both run it.

use diesel::prelude::*;
use diesel_async::RunQueryDsl;

use super::schema::{pending_upgrades, users};
use super::{Repo, StorageError, is_unique_violation, with_conn};
use crate::domain::{EmailAddress, UserId};

const EMAIL_CASE_FOLDING: &str = "email_case_folding";
const PAGE: i64 = 1000;

/// What re-normalizing the stored addresses did.
#[derive(Debug, Default)]
pub struct Refolded {
    /// Accounts whose address now holds the new key.
    pub changed: usize,
    /// Accounts left as they were, and why: an operator settles these with
    /// `PUT /internal/v1/users/{id}`.
    pub kept: Vec<(UserId, KeptBecause)>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeptBecause {
    /// Another account already holds the address's new key.
    KeyTaken,
    /// The stored address is not a valid address under the new rule.
    Invalid,
}

impl std::fmt::Display for KeptBecause {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::KeyTaken => "another account holds the address's normalized form",
            Self::Invalid => "the stored address is not a valid address any more",
        })
    }
}

impl Repo {
    /// Rewrites every stored address as `EmailAddress` now normalizes it,
    /// when a migration asked for it; None when nothing was pending.
    pub async fn refold_emails(&self) -> Result<Option<Refolded>, StorageError> {
        let pending: Option<String> = with_conn!(self, |conn| {
            pending_upgrades::table
                .find(EMAIL_CASE_FOLDING)
                .select(pending_upgrades::name)
                .first(conn)
                .await
                .optional()?
        });
        if pending.is_none() {
            return Ok(None);
        }
        let mut report = Refolded::default();
        let mut after: Option<UserId> = None;
        loop {
            let page: Vec<(UserId, String)> = with_conn!(self, |conn| {
                let mut query = users::table
                    .select((users::id, users::email))
                    .order(users::id)
                    .limit(PAGE)
                    .into_boxed();
                if let Some(after) = &after {
                    query = query.filter(users::id.gt(after));
                }
                query.load(conn).await?
            });
            let Some((last, _)) = page.last() else { break };
            after = Some(last.clone());
            for (id, stored) in page {
                match EmailAddress::parse(&stored) {
                    Ok(key) if key.as_str() == stored => {}
                    Ok(key) => match self.rewrite_email(&id, &stored, key.as_str()).await? {
                        true => report.changed += 1,
                        false => report.kept.push((id, KeptBecause::KeyTaken)),
                    },
                    Err(_) => report.kept.push((id, KeptBecause::Invalid)),
                }
            }
        }
        with_conn!(self, |conn| {
            diesel::delete(pending_upgrades::table.find(EMAIL_CASE_FOLDING))
                .execute(conn)
                .await?
        });
        Ok(Some(report))
    }

    /// False when another account holds `key` already.
    async fn rewrite_email(
        &self,
        id: &UserId,
        stored: &str,
        key: &str,
    ) -> Result<bool, StorageError> {
        let result = with_conn!(self, |conn| {
            diesel::update(
                users::table
                    .filter(users::id.eq(id))
                    .filter(users::email.eq(stored)),
            )
            .set(users::email.eq(key))
            .execute(conn)
            .await
        });
        match result {
            Ok(_) => Ok(true),
            Err(e) if is_unique_violation(&e) => Ok(false),
            Err(e) => Err(e.into()),
        }
    }
}
