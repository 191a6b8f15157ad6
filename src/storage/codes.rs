//! One try of a one-time code, in one transaction: every live code of the
//! account counts the try before anything is compared (two concurrent
//! wrong tries are two tries), a code past its tries is never compared,
//! and a wrong try counts toward the account's hourly cap. Only HMACs of
//! codes are stored; the comparison is the caller's (`codes::ResetCode`).

use chrono::{NaiveDateTime, TimeDelta};
use diesel::prelude::*;
use diesel_async::{AsyncConnection, RunQueryDsl};

use super::schema::{password_reset_tokens as tokens, users};
use super::{Repo, StorageError, with_conn};
use crate::domain::{TokenId, UserId};

/// What one try found.
#[derive(Debug, PartialEq, Eq)]
pub enum CodeTry {
    /// The code of this live token.
    Matched(TokenId),
    /// No live code of the account is this one.
    Wrong,
    /// The account has live codes, all past their tries.
    Dead,
    /// The account is past its wrong codes for the hour: nothing compared.
    Capped,
}

/// The bounds of a try: a code's tries, the account's wrong codes in
/// `window`.
#[derive(Clone, Copy, Debug)]
pub struct CodeBounds {
    pub max_attempts: i32,
    pub account_cap: i32,
    pub window: TimeDelta,
}

enum Undo {
    Capped,
    Failed(diesel::result::Error),
}

impl From<diesel::result::Error> for Undo {
    fn from(e: diesel::result::Error) -> Self {
        Self::Failed(e)
    }
}

impl Repo {
    /// One try of a code for `user_id` at `now`; `matches(token id, stored
    /// HMAC)` compares it with one live code.
    pub async fn try_code(
        &self,
        user_id: &UserId,
        now: NaiveDateTime,
        bounds: CodeBounds,
        matches: impl Fn(&TokenId, &str) -> bool + Send + Sync,
    ) -> Result<CodeTry, StorageError> {
        let window_start = now - bounds.window;
        let matches = &matches;
        let outcome = with_conn!(self, |conn| {
            conn.transaction::<_, Undo, _>(async |conn| {
                // The try counts first, on every live code of the account
                // (a write first: SQLite takes its write lock up front).
                let live = diesel::update(
                    tokens::table
                        .filter(tokens::user_id.eq(user_id))
                        .filter(tokens::used_at.is_null())
                        .filter(tokens::expires_at.gt(now))
                        .filter(tokens::code_hmac.is_not_null()),
                )
                .set(tokens::code_attempts.eq(tokens::code_attempts + 1))
                .execute(conn)
                .await?;
                let failures: Option<(i32, Option<NaiveDateTime>)> = users::table
                    .find(user_id)
                    .select((users::code_failures, users::code_failures_since))
                    .get_result(conn)
                    .await
                    .optional()?;
                let capped = failures.is_some_and(|(count, since)| {
                    count >= bounds.account_cap && since.is_some_and(|s| s > window_start)
                });
                if capped {
                    // Not a try: nothing was compared.
                    return Err(Undo::Capped);
                }
                let candidates: Vec<(TokenId, Option<String>)> = tokens::table
                    .filter(tokens::user_id.eq(user_id))
                    .filter(tokens::used_at.is_null())
                    .filter(tokens::expires_at.gt(now))
                    .filter(tokens::code_attempts.le(bounds.max_attempts))
                    .select((tokens::id, tokens::code_hmac))
                    .load(conn)
                    .await?;
                let compared = candidates.len();
                let matched = candidates
                    .into_iter()
                    .find_map(|(id, stored)| stored.filter(|s| matches(&id, s)).map(|_| id));
                if let Some(id) = matched {
                    // A right code is not a wrong try.
                    diesel::update(tokens::table.find(&id))
                        .set(tokens::code_attempts.eq(tokens::code_attempts - 1))
                        .execute(conn)
                        .await?;
                    return Ok(CodeTry::Matched(id));
                }
                let counted = diesel::update(
                    users::table
                        .find(user_id)
                        .filter(users::code_failures_since.gt(window_start)),
                )
                .set(users::code_failures.eq(users::code_failures + 1))
                .execute(conn)
                .await?;
                if counted == 0 {
                    diesel::update(users::table.find(user_id))
                        .set((
                            users::code_failures.eq(1),
                            users::code_failures_since.eq(now),
                        ))
                        .execute(conn)
                        .await?;
                }
                Ok(if compared == 0 && live > 0 {
                    CodeTry::Dead
                } else {
                    CodeTry::Wrong
                })
            })
            .await
        });
        match outcome {
            Ok(outcome) => Ok(outcome),
            Err(Undo::Capped) => Ok(CodeTry::Capped),
            Err(Undo::Failed(e)) => Err(e.into()),
        }
    }
}
