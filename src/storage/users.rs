//! Queries on `users`.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use diesel_async::{AsyncConnection, RunQueryDsl};

use super::schema::{password_reset_tokens, users};
use super::{Repo, StorageError, outbox::NewOutboxRow, with_conn};

#[derive(Queryable, Selectable, Clone)]
#[diesel(table_name = users)]
pub struct User {
    pub id: String,
    pub email: String,
    pub password_hash: Option<String>,
    pub disabled: bool,
    pub password_changed_at: Option<NaiveDateTime>,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
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
    pub id: &'a str,
    pub email: &'a str,
    pub password_hash: Option<&'a str>,
    pub disabled: bool,
    pub password_changed_at: Option<NaiveDateTime>,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
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
    pub async fn find_user_by_email(&self, email: &str) -> Result<Option<User>, StorageError> {
        Ok(with_conn!(self, |conn| {
            users::table
                .filter(users::email.eq(email))
                .select(User::as_select())
                .first(conn)
                .await
                .optional()?
        }))
    }

    pub async fn find_user_by_id(&self, id: &str) -> Result<Option<User>, StorageError> {
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
            Err(diesel::result::Error::DatabaseError(
                diesel::result::DatabaseErrorKind::UniqueViolation,
                _,
            )) => Err(InsertUserError::Conflict),
            Err(e) => Err(InsertUserError::Storage(e.into())),
        }
    }

    /// Stores a new password hash set by an operator, kills every outstanding
    /// reset token of the user and enqueues the notice, in one transaction.
    /// Returns false when no such user exists.
    pub async fn set_password_hash(
        &self,
        user_id: &str,
        password_hash: &str,
        now: NaiveDateTime,
        notice: &NewOutboxRow,
    ) -> Result<bool, StorageError> {
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
                diesel::delete(
                    password_reset_tokens::table.filter(password_reset_tokens::user_id.eq(user_id)),
                )
                .execute(conn)
                .await?;
                diesel::insert_into(super::schema::outbox::table)
                    .values(notice)
                    .execute(conn)
                    .await?;
                Ok::<_, diesel::result::Error>(true)
            })
            .await?
        }))
    }

    /// Disables the user and kills every outstanding reset token.
    /// Returns false when no such user exists.
    pub async fn disable_user(
        &self,
        user_id: &str,
        now: NaiveDateTime,
    ) -> Result<bool, StorageError> {
        Ok(with_conn!(self, |conn| {
            conn.transaction(async |conn| {
                let updated = diesel::update(users::table.find(user_id))
                    .set((users::disabled.eq(true), users::updated_at.eq(now)))
                    .execute(conn)
                    .await?;
                diesel::delete(
                    password_reset_tokens::table.filter(password_reset_tokens::user_id.eq(user_id)),
                )
                .execute(conn)
                .await?;
                Ok::<_, diesel::result::Error>(updated > 0)
            })
            .await?
        }))
    }
}
