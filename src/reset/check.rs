//! Is a link usable? Verifies the JWT, then the row behind it, for a client
//! not inside its failure backoff. Every failure is the same `InvalidLink`
//! to the client (and counts against its address); the log says which check
//! failed.

use std::net::IpAddr;

use chrono::{DateTime, Utc};

use super::{Actions, ResetError};
use crate::storage::tokens::TokenRow;
use crate::storage::users::User;

/// A link that passed every check, with its row and user.
#[derive(Debug)]
pub struct LiveLink {
    pub row: TokenRow,
    pub user: User,
}

impl LiveLink {
    pub fn expires_at(&self) -> DateTime<Utc> {
        self.row.expires_at.and_utc()
    }
}

impl Actions {
    /// Consumes nothing (validate, and the first step of a reset).
    pub async fn check_link(&self, jwt: &str, ip: Option<IpAddr>) -> Result<LiveLink, ResetError> {
        self.limiter.check_token_attempt(ip).await?;
        let result = self.verify_link(jwt).await;
        if matches!(result, Err(ResetError::InvalidLink)) {
            self.limiter.record_token_failure(ip).await?;
        }
        result
    }

    async fn verify_link(&self, jwt: &str) -> Result<LiveLink, ResetError> {
        let now = self.clock.now();
        let link = self.codec.verify(jwt, now).map_err(|why| {
            log::info!("reset token refused: {why}");
            self.metrics.token_rejected(why.label());
            ResetError::InvalidLink
        })?;
        let refuse = |label: &'static str, why: &str| {
            log::info!("reset token {} refused: {why}", link.token_id);
            self.metrics.token_rejected(label);
            ResetError::InvalidLink
        };
        let found = self.repo.find_token_by_hash(&link.token.hash()).await?;
        let Some((row, user)) = found else {
            return Err(refuse(
                "not_found",
                "no such token (revoked or never issued)",
            ));
        };
        if row.id != link.token_id {
            return Err(refuse("mismatch", "jti does not match the token row"));
        }
        if row.user_id != link.user_id {
            return Err(refuse("mismatch", "sub does not match the token's user"));
        }
        if row.used_at.is_some() {
            return Err(refuse("used", "already used"));
        }
        if row.expires_at <= now.naive_utc() {
            return Err(refuse("expired", "expired"));
        }
        if user.disabled {
            return Err(refuse("disabled", "user is disabled"));
        }
        Ok(LiveLink { row, user })
    }
}
