//! The import's batched write: one transaction per batch of users, two
//! reads (who has these ids, who has these emails), an insert for each new
//! user and an update for each changed one (none for unchanged ones). A batch the database
//! refuses as a whole (another writer took an email meanwhile) is written
//! again one user at a time, so one conflict never stops the others.

use std::collections::HashMap;

use chrono::NaiveDateTime;
use diesel::prelude::*;
use diesel_async::{AsyncConnection, RunQueryDsl};

use super::schema::users;
use super::users::{NewUser, User};
use super::{Repo, StorageError, is_unique_violation, revoke_user_tokens, with_conn};
use crate::domain::{EmailAddress, UserId};

/// One user as an import wants it. `None` leaves an existing user's value
/// as it is; so does a hash for a user who already has one.
pub struct ImportRow<'a> {
    pub id: &'a UserId,
    pub email: &'a EmailAddress,
    pub password_hash: Option<&'a str>,
    pub disabled: Option<bool>,
    pub locale: Option<&'a str>,
}

/// What became of one row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ImportOutcome {
    Created,
    Updated,
    Unchanged,
    /// Another user has this email.
    EmailTaken,
}

impl Repo {
    /// Writes a batch (ids and emails distinct within it) and says what
    /// became of each row, in order.
    pub async fn import_users(
        &self,
        rows: &[ImportRow<'_>],
        now: NaiveDateTime,
    ) -> Result<Vec<ImportOutcome>, StorageError> {
        match self.import_batch(rows, now).await {
            Err(ImportFailed::Conflict) => {
                let mut outcomes = Vec::with_capacity(rows.len());
                for row in rows {
                    outcomes.push(
                        match self.import_batch(std::slice::from_ref(row), now).await {
                            Ok(mut one) => one.pop().unwrap_or(ImportOutcome::EmailTaken),
                            Err(ImportFailed::Conflict) => ImportOutcome::EmailTaken,
                            Err(ImportFailed::Storage(e)) => return Err(e),
                        },
                    );
                }
                Ok(outcomes)
            }
            Err(ImportFailed::Storage(e)) => Err(e),
            Ok(outcomes) => Ok(outcomes),
        }
    }

    async fn import_batch(
        &self,
        rows: &[ImportRow<'_>],
        now: NaiveDateTime,
    ) -> Result<Vec<ImportOutcome>, ImportFailed> {
        let ids: Vec<&UserId> = rows.iter().map(|r| r.id).collect();
        let emails: Vec<&str> = rows.iter().map(|r| r.email.as_str()).collect();
        let result = with_conn!(self, |conn| {
            conn.transaction(async |conn| {
                // A write first, so SQLite takes its write lock up front
                // rather than failing to upgrade a read lock later.
                diesel::update(users::table.filter(users::id.eq("")))
                    .set(users::updated_at.eq(now))
                    .execute(conn)
                    .await?;
                let existing: HashMap<UserId, User> = users::table
                    .filter(users::id.eq_any(&ids))
                    .select(User::as_select())
                    .load(conn)
                    .await?
                    .into_iter()
                    .map(|u| (u.id.clone(), u))
                    .collect();
                let owners: HashMap<String, UserId> = users::table
                    .filter(users::email.eq_any(&emails))
                    .select((users::email, users::id))
                    .load::<(String, UserId)>(conn)
                    .await?
                    .into_iter()
                    .collect();
                let mut outcomes = Vec::with_capacity(rows.len());
                let mut inserts = Vec::new();
                for row in rows {
                    let taken = owners
                        .get(row.email.as_str())
                        .is_some_and(|owner| owner != row.id);
                    if taken {
                        outcomes.push(ImportOutcome::EmailTaken);
                        continue;
                    }
                    let Some(user) = existing.get(row.id) else {
                        inserts.push(NewUser {
                            id: row.id,
                            email: row.email.as_str(),
                            password_hash: row.password_hash,
                            disabled: row.disabled.unwrap_or(false),
                            password_changed_at: row.password_hash.map(|_| now),
                            created_at: now,
                            updated_at: now,
                            locale: row.locale,
                        });
                        outcomes.push(ImportOutcome::Created);
                        continue;
                    };
                    let email_changed = user.email != row.email.as_str();
                    // A hash is given to a user who has none, never swapped
                    // for the one pwreset holds: the person may have signed
                    // in (their hash became bcrypt) or reset since the last
                    // import, and must keep the password they use now.
                    let new_hash = row.password_hash.filter(|_| user.password_hash.is_none());
                    let disabled = row.disabled.unwrap_or(user.disabled);
                    let locale = row.locale.or(user.locale.as_deref());
                    if !email_changed
                        && new_hash.is_none()
                        && disabled == user.disabled
                        && locale == user.locale.as_deref()
                    {
                        outcomes.push(ImportOutcome::Unchanged);
                        continue;
                    }
                    diesel::update(users::table.find(row.id))
                        .set((
                            users::email.eq(row.email.as_str()),
                            users::disabled.eq(disabled),
                            users::password_hash.eq(new_hash.or(user.password_hash.as_deref())),
                            users::password_changed_at.eq(if new_hash.is_some() {
                                Some(now)
                            } else {
                                user.password_changed_at
                            }),
                            users::updated_at.eq(now),
                            users::locale.eq(locale),
                        ))
                        .execute(conn)
                        .await?;
                    if email_changed || new_hash.is_some() || (disabled && !user.disabled) {
                        revoke_user_tokens!(conn, row.id);
                    }
                    outcomes.push(ImportOutcome::Updated);
                }
                // One statement per row: diesel-async cannot send SQLite a
                // multi-row insert, and inside one transaction on one
                // connection a row costs a round trip, no more.
                for insert in &inserts {
                    diesel::insert_into(users::table)
                        .values(insert)
                        .execute(conn)
                        .await?;
                }
                Ok::<_, diesel::result::Error>(outcomes)
            })
            .await
        });
        match result {
            Ok(outcomes) => Ok(outcomes),
            Err(e) if is_unique_violation(&e) => Err(ImportFailed::Conflict),
            Err(e) => Err(ImportFailed::Storage(e.into())),
        }
    }
}

enum ImportFailed {
    Conflict,
    Storage(StorageError),
}

impl From<diesel_async::pooled_connection::deadpool::PoolError> for ImportFailed {
    fn from(e: diesel_async::pooled_connection::deadpool::PoolError) -> Self {
        Self::Storage(e.into())
    }
}
