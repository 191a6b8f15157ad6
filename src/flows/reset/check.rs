//! Is a link usable? Verifies the JWT first: a token the service did not
//! sign (bad signature, malformed, unknown key, wrong type, expired) costs
//! one HMAC and is counted in metrics only, never a database round trip,
//! since nobody can guess a token's signature. A signed token is then looked
//! up, for a client not inside its failure backoff; a failed lookup counts
//! against the client's address. Every failure is the same `InvalidLink` to
//! the client; the log says which check failed.

use std::net::IpAddr;

use chrono::{DateTime, Utc};

use super::Reset;
use crate::flow_error::FlowError;
use crate::storage::tokens::TokenRow;
use crate::storage::users::User;
use crate::tokens::VerifiedLink;

/// A link that passed every check, with its row and user.
#[derive(Debug)]
pub struct LiveLink {
    pub row: TokenRow,
    pub user: User,
    /// The link's signed `rtn`: where the person goes after the reset.
    pub return_to: Option<String>,
    /// Proven by the one-time code rather than the link.
    pub by_code: bool,
}

impl LiveLink {
    pub fn expires_at(&self) -> DateTime<Utc> {
        self.row.expires_at.and_utc()
    }
}

impl Reset {
    /// Consumes nothing (validate, and the first step of a reset).
    pub async fn check_link(&self, jwt: &str, ip: Option<IpAddr>) -> Result<LiveLink, FlowError> {
        let now = self.clock.now();
        let link = self.codec.verify(jwt, now).map_err(|why| {
            log::info!("reset token refused: {why}");
            self.metrics.token_rejected(why.label());
            FlowError::InvalidLink
        })?;
        self.limiter.check_token_attempt(ip).await?;
        let result = self.look_up(&link, now).await;
        if matches!(result, Err(FlowError::InvalidLink)) {
            self.limiter.record_token_failure(ip).await?;
        }
        result
    }

    /// The row behind a link the service signed.
    async fn look_up(
        &self,
        link: &VerifiedLink,
        now: DateTime<Utc>,
    ) -> Result<LiveLink, FlowError> {
        let refuse = |label: &'static str, why: &str| {
            log::info!("reset token {} refused: {why}", link.token_id);
            self.metrics.token_rejected(label);
            FlowError::InvalidLink
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
        if let Some(dead) = row.dead_because(&user, now.naive_utc()) {
            return Err(refuse(dead.label(), dead.describe()));
        }
        Ok(LiveLink {
            row,
            user,
            return_to: link.return_to.clone(),
            by_code: false,
        })
    }
}
