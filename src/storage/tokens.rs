//! Queries on `password_reset_tokens`. Only SHA-256 hashes of tokens are
//! stored; the raw token never reaches this module.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use diesel_async::{AsyncConnection, RunQueryDsl};

use super::rows::new_rows;
use super::schema::{password_reset_tokens, users};
use super::users::User;
use super::{Repo, StorageError, insert_outbox_rows, revoke_user_tokens, with_conn};
use crate::domain::{TokenHash, TokenId, UserId};
use crate::messages::Outgoing;

#[derive(Queryable, Selectable, Clone, Debug)]
#[diesel(table_name = password_reset_tokens)]
pub struct TokenRow {
    pub id: TokenId,
    pub user_id: UserId,
    pub created_at: NaiveDateTime,
    pub expires_at: NaiveDateTime,
    pub used_at: Option<NaiveDateTime>,
}

/// Why a token can no longer be used.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DeadToken {
    Used,
    Expired,
    UserDisabled,
}

impl DeadToken {
    /// The `reason` label of `pwreset_token_rejections_total`.
    pub fn label(self) -> &'static str {
        match self {
            Self::Used => "used",
            Self::Expired => "expired",
            Self::UserDisabled => "disabled",
        }
    }

    pub fn describe(self) -> &'static str {
        match self {
            Self::Used => "already used",
            Self::Expired => "expired",
            Self::UserDisabled => "user is disabled",
        }
    }
}

impl TokenRow {
    /// Whether this token is dead at `now` for its `user`, and why: used,
    /// expired, or its user disabled. The rule every reader of a token
    /// applies; `consume_token_and_set_password` states the same in its
    /// conditional updates, which is what makes using a token atomic.
    pub fn dead_because(&self, user: &User, now: NaiveDateTime) -> Option<DeadToken> {
        if self.used_at.is_some() {
            Some(DeadToken::Used)
        } else if self.expires_at <= now {
            Some(DeadToken::Expired)
        } else if user.disabled {
            Some(DeadToken::UserDisabled)
        } else {
            None
        }
    }
}

#[derive(Insertable, Debug)]
#[diesel(table_name = password_reset_tokens)]
pub struct NewToken<'a> {
    pub id: &'a TokenId,
    pub user_id: &'a UserId,
    pub token_hash: &'a TokenHash,
    pub created_at: NaiveDateTime,
    pub expires_at: NaiveDateTime,
    pub requested_ip: Option<&'a str>,
    /// The one-time code's HMAC (`codes::ResetCode::tag`), for an emailed token.
    pub code_hmac: Option<&'a str>,
}

/// What a successful consume changed, or why nothing was.
#[derive(Debug, PartialEq, Eq)]
pub enum ConsumeOutcome {
    PasswordChanged,
    /// Used, expired, revoked or never existed: another request won, or the
    /// token died between verification and consumption.
    TokenNotLive,
    UserDisabled,
}

impl Repo {
    /// The token with this hash and its user, whatever its state; the caller
    /// decides (and logs) why a dead one is refused.
    pub async fn find_token_by_hash(
        &self,
        token_hash: &TokenHash,
    ) -> Result<Option<(TokenRow, User)>, StorageError> {
        Ok(with_conn!(self, |conn| {
            password_reset_tokens::table
                .inner_join(users::table)
                .filter(password_reset_tokens::token_hash.eq(token_hash))
                .select((TokenRow::as_select(), User::as_select()))
                .first(conn)
                .await
                .optional()?
        }))
    }

    pub async fn find_token_by_id(
        &self,
        id: &TokenId,
    ) -> Result<Option<(TokenRow, User)>, StorageError> {
        Ok(with_conn!(self, |conn| {
            password_reset_tokens::table
                .inner_join(users::table)
                .filter(password_reset_tokens::id.eq(id))
                .select((TokenRow::as_select(), User::as_select()))
                .first(conn)
                .await
                .optional()?
        }))
    }

    /// Stores a new token and the messages that announce it, atomically.
    pub async fn insert_token_with_messages(
        &self,
        token: &NewToken<'_>,
        messages: &[Outgoing],
        now: NaiveDateTime,
    ) -> Result<(), StorageError> {
        let rows = new_rows(messages, now)?;
        with_conn!(self, |conn| {
            conn.transaction(async |conn| {
                diesel::insert_into(password_reset_tokens::table)
                    .values(token)
                    .execute(conn)
                    .await?;
                insert_outbox_rows!(conn, &rows);
                Ok::<_, diesel::result::Error>(())
            })
            .await?
        });
        Ok(())
    }

    /// Kills every outstanding token of a user. None when there is no such user.
    pub async fn revoke_tokens(&self, user_id: &UserId) -> Result<Option<usize>, StorageError> {
        Ok(with_conn!(self, |conn| {
            conn.transaction(async |conn| {
                let revoked = revoke_user_tokens!(conn, user_id);
                let exists: i64 = users::table
                    .filter(users::id.eq(user_id))
                    .count()
                    .get_result(conn)
                    .await?;
                Ok::<_, diesel::result::Error>((exists > 0).then_some(revoked))
            })
            .await?
        }))
    }

    /// The heart of the reset: in ONE transaction, consume the token with a
    /// conditional update (only one concurrent caller can win), store the new
    /// hash, kill the user's other tokens and enqueue the announcements.
    pub async fn consume_token_and_set_password(
        &self,
        token_id: &TokenId,
        user_id: &UserId,
        password_hash: &str,
        now: NaiveDateTime,
        messages: &[Outgoing],
    ) -> Result<ConsumeOutcome, StorageError> {
        let rows = new_rows(messages, now)?;
        let outcome = with_conn!(self, |conn| {
            conn.transaction::<_, Undo, _>(async |conn| {
                // First statement is a write, so SQLite takes its write lock
                // up front instead of failing to upgrade a read lock. These
                // two updates are `TokenRow::dead_because`, atomically.
                let consumed = diesel::update(
                    password_reset_tokens::table
                        .filter(password_reset_tokens::id.eq(token_id))
                        .filter(password_reset_tokens::user_id.eq(user_id))
                        .filter(password_reset_tokens::used_at.is_null())
                        .filter(password_reset_tokens::expires_at.gt(now)),
                )
                .set(password_reset_tokens::used_at.eq(now))
                .execute(conn)
                .await?;
                if consumed != 1 {
                    return Ok(ConsumeOutcome::TokenNotLive);
                }
                let changed = diesel::update(
                    users::table
                        .filter(users::id.eq(user_id))
                        .filter(users::disabled.eq(false)),
                )
                .set((
                    users::password_hash.eq(password_hash),
                    users::password_changed_at.eq(now),
                    users::updated_at.eq(now),
                ))
                .execute(conn)
                .await?;
                if changed != 1 {
                    // Undo the consume: a disabled user's token stays as it was.
                    return Err(Undo::UserDisabled);
                }
                revoke_user_tokens!(conn, user_id);
                insert_outbox_rows!(conn, &rows);
                Ok(ConsumeOutcome::PasswordChanged)
            })
            .await
        });
        match outcome {
            Ok(outcome) => Ok(outcome),
            Err(Undo::UserDisabled) => Ok(ConsumeOutcome::UserDisabled),
            Err(Undo::Failed(e)) => Err(e.into()),
        }
    }
}

/// Why the consume transaction was rolled back.
enum Undo {
    /// The user was disabled: nothing of the reset is kept.
    UserDisabled,
    Failed(diesel::result::Error),
}

impl From<diesel::result::Error> for Undo {
    fn from(e: diesel::result::Error) -> Self {
        Self::Failed(e)
    }
}
