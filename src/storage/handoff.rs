//! The writes around a password handoff, each short: no transaction is
//! open while the application is asked. A link is claimed (and the user's
//! next `sequence` taken) in one transaction; after the application's 2xx
//! the claim is settled in another (the token consumed, no hash stored,
//! other links killed, the notice queued); after anything else the claim is
//! released and the link is as it was.

use chrono::{NaiveDateTime, SubsecRound};
use diesel::prelude::*;
use diesel_async::{AsyncConnection, RunQueryDsl};

use super::rows::new_rows;
use super::schema::{password_reset_tokens as tokens, users};
use super::{Repo, StorageError, insert_outbox_rows, revoke_user_tokens, with_conn};
use crate::domain::{TokenId, UserId};
use crate::messages::Outgoing;

/// A link held for one handoff: until `until` (which also tells this claim
/// from a later one), with the sequence number its change carries.
#[derive(Debug, Clone)]
pub struct Claim {
    pub token_id: TokenId,
    pub until: NaiveDateTime,
    pub sequence: i64,
}

#[derive(Debug)]
pub enum ClaimOutcome {
    Claimed(Claim),
    /// Live, but another use of it is being handed off right now.
    InUse,
    /// Used, expired, revoked or never existed.
    NotLive,
    UserDisabled,
}

/// What settling an accepted handoff found.
#[derive(Debug, PartialEq, Eq)]
pub enum Settled {
    /// The change is recorded; the person may be told it worked.
    Recorded,
    /// The claim ran out and another use claimed the link: that use's change
    /// (a later sequence) is the one that counts.
    Superseded,
}

/// Why the claim transaction was rolled back.
enum Undo {
    UserDisabled,
    Failed(diesel::result::Error),
}

impl From<diesel::result::Error> for Undo {
    fn from(e: diesel::result::Error) -> Self {
        Self::Failed(e)
    }
}

/// Bumps and reads the user's sequence, inside a transaction body; None
/// when no user has the id.
macro_rules! next_sequence {
    ($conn:expr, $user_id:expr) => {{
        let bumped = diesel::update(users::table.find($user_id))
            .set(users::password_sequence.eq(users::password_sequence + 1))
            .execute($conn)
            .await?;
        if bumped == 1 {
            Some(
                users::table
                    .find($user_id)
                    .select(users::password_sequence)
                    .get_result::<i64>($conn)
                    .await?,
            )
        } else {
            None
        }
    }};
}

/// The change recorded on the user, inside a transaction body: no hash
/// kept, the change's time.
macro_rules! record_handed_off {
    ($conn:expr, $user_id:expr, $now:expr) => {{
        diesel::update(users::table.find($user_id))
            .set((
                users::password_hash.eq(None::<String>),
                users::password_changed_at.eq($now),
                users::updated_at.eq($now),
            ))
            .execute($conn)
            .await?;
    }};
}

impl Repo {
    /// Claims a live link until `until` and takes its user's next sequence
    /// number, in one transaction; a link already claimed is `InUse`.
    pub async fn claim_token_for_handoff(
        &self,
        token_id: &TokenId,
        user_id: &UserId,
        now: NaiveDateTime,
        until: NaiveDateTime,
    ) -> Result<ClaimOutcome, StorageError> {
        // Postgres keeps microseconds: the claim is compared as stored.
        let until = until.trunc_subsecs(6);
        let outcome = with_conn!(self, |conn| {
            conn.transaction::<_, Undo, _>(async |conn| {
                // A write first, so SQLite takes its write lock up front. The
                // same rule as `TokenRow::dead_because`, and not claimed.
                let claimed = diesel::update(
                    tokens::table
                        .filter(tokens::id.eq(token_id))
                        .filter(tokens::user_id.eq(user_id))
                        .filter(tokens::used_at.is_null())
                        .filter(tokens::expires_at.gt(now))
                        .filter(
                            tokens::claimed_until
                                .is_null()
                                .or(tokens::claimed_until.le(now)),
                        ),
                )
                .set(tokens::claimed_until.eq(until))
                .execute(conn)
                .await?;
                if claimed != 1 {
                    let held: i64 = tokens::table
                        .filter(tokens::id.eq(token_id))
                        .filter(tokens::used_at.is_null())
                        .filter(tokens::expires_at.gt(now))
                        .filter(tokens::claimed_until.gt(now))
                        .count()
                        .get_result(conn)
                        .await?;
                    return Ok(if held > 0 {
                        ClaimOutcome::InUse
                    } else {
                        ClaimOutcome::NotLive
                    });
                }
                let disabled: Option<bool> = users::table
                    .find(user_id)
                    .select(users::disabled)
                    .get_result(conn)
                    .await
                    .optional()?;
                if disabled != Some(false) {
                    return Err(Undo::UserDisabled);
                }
                let sequence = next_sequence!(conn, user_id).ok_or(Undo::UserDisabled)?;
                Ok(ClaimOutcome::Claimed(Claim {
                    token_id: token_id.clone(),
                    until,
                    sequence,
                }))
            })
            .await
        });
        match outcome {
            Ok(outcome) => Ok(outcome),
            Err(Undo::UserDisabled) => Ok(ClaimOutcome::UserDisabled),
            Err(Undo::Failed(e)) => Err(e.into()),
        }
    }

    /// The user's next sequence number, for a change that no link carries
    /// (`pwreset user set-password`). None when no user has the id.
    pub async fn take_password_sequence(
        &self,
        user_id: &UserId,
    ) -> Result<Option<i64>, StorageError> {
        Ok(with_conn!(self, |conn| {
            conn.transaction(async |conn| {
                Ok::<_, diesel::result::Error>(next_sequence!(conn, user_id))
            })
            .await?
        }))
    }

    /// The application did not take the change: the link is as it was
    /// (unless a later claim holds it already).
    pub async fn release_handoff_claim(&self, claim: &Claim) -> Result<(), StorageError> {
        with_conn!(self, |conn| {
            diesel::update(
                tokens::table
                    .filter(tokens::id.eq(&claim.token_id))
                    .filter(tokens::claimed_until.eq(claim.until)),
            )
            .set(tokens::claimed_until.eq(None::<NaiveDateTime>))
            .execute(conn)
            .await?
        });
        Ok(())
    }

    /// The application took the change: in one transaction the link is
    /// consumed, the user keeps no hash and gets the change's time, the
    /// user's other links die and the notice is queued. A link revoked
    /// while it was handed off (the user disabled, another link used) still
    /// records the change: the application holds the hash.
    pub async fn settle_handoff(
        &self,
        claim: &Claim,
        user_id: &UserId,
        now: NaiveDateTime,
        messages: &[Outgoing],
    ) -> Result<Settled, StorageError> {
        let rows = new_rows(messages, now)?;
        Ok(with_conn!(self, |conn| {
            conn.transaction(async |conn| {
                let consumed = diesel::update(
                    tokens::table
                        .filter(tokens::id.eq(&claim.token_id))
                        .filter(tokens::claimed_until.eq(claim.until)),
                )
                .set((
                    tokens::used_at.eq(now),
                    tokens::claimed_until.eq(None::<NaiveDateTime>),
                ))
                .execute(conn)
                .await?;
                if consumed != 1 {
                    let still_there: i64 = tokens::table
                        .filter(tokens::id.eq(&claim.token_id))
                        .count()
                        .get_result(conn)
                        .await?;
                    if still_there > 0 {
                        return Ok(Settled::Superseded);
                    }
                }
                record_handed_off!(conn, user_id, now);
                revoke_user_tokens!(conn, user_id);
                insert_outbox_rows!(conn, &rows);
                Ok::<_, diesel::result::Error>(Settled::Recorded)
            })
            .await?
        }))
    }

    /// An operator's change the application took: the user keeps no hash,
    /// gets the change's time, every link dies and the notice is queued.
    pub async fn settle_operator_handoff(
        &self,
        user_id: &UserId,
        now: NaiveDateTime,
        messages: &[Outgoing],
    ) -> Result<(), StorageError> {
        let rows = new_rows(messages, now)?;
        with_conn!(self, |conn| {
            conn.transaction(async |conn| {
                record_handed_off!(conn, user_id, now);
                revoke_user_tokens!(conn, user_id);
                insert_outbox_rows!(conn, &rows);
                Ok::<_, diesel::result::Error>(())
            })
            .await?
        });
        Ok(())
    }
}
