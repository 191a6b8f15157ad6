//! Queries on `users`.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use diesel_async::{AsyncConnection, RunQueryDsl};

use super::rows::new_rows;
use super::schema::users;
use super::{
    Repo, StorageError, insert_outbox_rows, is_unique_violation, revoke_user_tokens, with_conn,
};
use crate::domain::{EmailAddress, UserId};
use crate::messages::Outgoing;

#[derive(Queryable, Selectable, Clone)]
#[diesel(table_name = users)]
pub struct User {
    pub id: UserId,
    pub email: String,
    pub password_hash: Option<String>,
    pub disabled: bool,
    pub password_changed_at: Option<NaiveDateTime>,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
    /// The language of the user's emails (a supported tag), if set.
    pub locale: Option<String>,
}

impl std::fmt::Debug for User {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("User")
            .field("id", &self.id)
            .field("email", &self.email)
            .field("has_password", &self.password_hash.is_some())
            .field("disabled", &self.disabled)
            .finish_non_exhaustive()
    }
}

#[derive(Insertable)]
#[diesel(table_name = users)]
pub struct NewUser<'a> {
    pub id: &'a UserId,
    pub email: &'a str,
    pub password_hash: Option<&'a str>,
    pub disabled: bool,
    pub password_changed_at: Option<NaiveDateTime>,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
    pub locale: Option<&'a str>,
}

/// What a service asks `PUT /internal/v1/users/{id}` to be true.
pub struct UserUpsert<'a> {
    pub id: &'a UserId,
    pub email: &'a EmailAddress,
    pub password_hash: Option<&'a str>,
    pub disabled: Option<bool>,
    /// None leaves an existing user's language as it is.
    pub locale: Option<&'a str>,
}

pub struct Upserted {
    pub user: User,
    pub created: bool,
    pub tokens_revoked: bool,
}

#[derive(Debug, thiserror::Error)]
pub enum InsertUserError {
    #[error("a user with this id or email already exists")]
    Conflict,
    #[error(transparent)]
    Storage(#[from] StorageError),
}

impl From<diesel_async::pooled_connection::deadpool::PoolError> for InsertUserError {
    fn from(e: diesel_async::pooled_connection::deadpool::PoolError) -> Self {
        Self::Storage(e.into())
    }
}

impl Repo {
    pub async fn find_user_by_email(
        &self,
        email: &EmailAddress,
    ) -> Result<Option<User>, StorageError> {
        Ok(with_conn!(self, |conn| {
            users::table
                .filter(users::email.eq(email.as_str()))
                .select(User::as_select())
                .first(conn)
                .await
                .optional()?
        }))
    }

    pub async fn find_user_by_id(&self, id: &UserId) -> Result<Option<User>, StorageError> {
        Ok(with_conn!(self, |conn| {
            users::table
                .find(id)
                .select(User::as_select())
                .first(conn)
                .await
                .optional()?
        }))
    }

    pub async fn insert_user(&self, user: &NewUser<'_>) -> Result<(), InsertUserError> {
        let result = with_conn!(self, |conn| {
            diesel::insert_into(users::table)
                .values(user)
                .execute(conn)
                .await
        });
        match result {
            Ok(_) => Ok(()),
            Err(e) if is_unique_violation(&e) => Err(InsertUserError::Conflict),
            Err(e) => Err(InsertUserError::Storage(e.into())),
        }
    }

    /// Stores a new password hash set by an operator, kills every outstanding
    /// reset token of the user and enqueues the notice, in one transaction.
    /// Returns false when no such user exists.
    pub async fn set_password_hash(
        &self,
        user_id: &UserId,
        password_hash: &str,
        now: NaiveDateTime,
        messages: &[Outgoing],
    ) -> Result<bool, StorageError> {
        let rows = new_rows(messages, now)?;
        Ok(with_conn!(self, |conn| {
            conn.transaction(async |conn| {
                let updated = diesel::update(users::table.find(user_id))
                    .set((
                        users::password_hash.eq(password_hash),
                        users::password_changed_at.eq(now),
                        users::updated_at.eq(now),
                    ))
                    .execute(conn)
                    .await?;
                if updated == 0 {
                    return Ok(false);
                }
                revoke_user_tokens!(conn, user_id);
                insert_outbox_rows!(conn, &rows);
                Ok::<_, diesel::result::Error>(true)
            })
            .await?
        }))
    }

    /// Replaces `old` by `new` (the same password, hashed again at today's
    /// cost), only if the user still has `old`: a password changed meanwhile
    /// is never overwritten. Not a password change: no link is revoked and
    /// `password_changed_at` stays. Returns whether it replaced the hash.
    pub async fn upgrade_password_hash(
        &self,
        user_id: &UserId,
        old: &str,
        new: &str,
        now: NaiveDateTime,
    ) -> Result<bool, StorageError> {
        let updated = with_conn!(self, |conn| {
            diesel::update(
                users::table
                    .find(user_id)
                    .filter(users::password_hash.eq(old)),
            )
            .set((users::password_hash.eq(new), users::updated_at.eq(now)))
            .execute(conn)
            .await?
        });
        Ok(updated == 1)
    }

    /// Creates the user, or updates it when the id exists. Changing the
    /// email, disabling, or setting a new hash kills outstanding tokens.
    pub async fn upsert_user(
        &self,
        change: &UserUpsert<'_>,
        now: NaiveDateTime,
    ) -> Result<Upserted, InsertUserError> {
        let result = with_conn!(self, |conn| {
            conn.transaction(async |conn| {
                // A write first, so SQLite takes its write lock up front.
                let created = diesel::insert_into(users::table)
                    .values(&NewUser {
                        id: change.id,
                        email: change.email.as_str(),
                        password_hash: change.password_hash,
                        disabled: change.disabled.unwrap_or(false),
                        password_changed_at: change.password_hash.map(|_| now),
                        created_at: now,
                        updated_at: now,
                        locale: change.locale,
                    })
                    .on_conflict(users::id)
                    .do_nothing()
                    .execute(conn)
                    .await?;
                let existing: User = users::table
                    .find(change.id)
                    .select(User::as_select())
                    .first(conn)
                    .await?;
                if created == 1 {
                    return Ok(Upserted {
                        user: existing,
                        created: true,
                        tokens_revoked: false,
                    });
                }
                let email_changed = existing.email != change.email.as_str();
                let disabling = change.disabled == Some(true) && !existing.disabled;
                let new_hash = change
                    .password_hash
                    .filter(|h| existing.password_hash.as_deref() != Some(*h));
                diesel::update(users::table.find(change.id))
                    .set((
                        users::email.eq(change.email.as_str()),
                        users::disabled.eq(change.disabled.unwrap_or(existing.disabled)),
                        users::password_hash.eq(new_hash.or(existing.password_hash.as_deref())),
                        users::password_changed_at.eq(if new_hash.is_some() {
                            Some(now)
                        } else {
                            existing.password_changed_at
                        }),
                        users::updated_at.eq(now),
                        users::locale.eq(change.locale.or(existing.locale.as_deref())),
                    ))
                    .execute(conn)
                    .await?;
                let revoke = email_changed || disabling || new_hash.is_some();
                if revoke {
                    revoke_user_tokens!(conn, change.id);
                }
                let user = users::table
                    .find(change.id)
                    .select(User::as_select())
                    .first(conn)
                    .await?;
                Ok::<_, diesel::result::Error>(Upserted {
                    user,
                    created: false,
                    tokens_revoked: revoke,
                })
            })
            .await
        });
        match result {
            Ok(upserted) => Ok(upserted),
            Err(e) if is_unique_violation(&e) => Err(InsertUserError::Conflict),
            Err(e) => Err(InsertUserError::Storage(e.into())),
        }
    }

    /// Deletes the user; its tokens go with it (foreign key cascade).
    /// Returns false when there was no such user.
    pub async fn delete_user(&self, user_id: &UserId) -> Result<bool, StorageError> {
        let deleted = with_conn!(self, |conn| {
            diesel::delete(users::table.find(user_id))
                .execute(conn)
                .await?
        });
        Ok(deleted == 1)
    }

    /// Disables the user and kills every outstanding reset token.
    /// Returns false when no such user exists.
    pub async fn disable_user(
        &self,
        user_id: &UserId,
        now: NaiveDateTime,
    ) -> Result<bool, StorageError> {
        Ok(with_conn!(self, |conn| {
            conn.transaction(async |conn| {
                let updated = diesel::update(users::table.find(user_id))
                    .set((users::disabled.eq(true), users::updated_at.eq(now)))
                    .execute(conn)
                    .await?;
                revoke_user_tokens!(conn, user_id);
                Ok::<_, diesel::result::Error>(updated > 0)
            })
            .await?
        }))
    }
}
