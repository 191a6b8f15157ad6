//! Setting a password when the application holds the passwords
//! (`PASSWORD_HANDOFF_URL`): the change is handed to the application, and
//! only its 2xx completes it. Through a link, the link is claimed first (so
//! a second use of it waits its turn), the claim and the user's next
//! `sequence` written in one short transaction; the application is asked
//! with no transaction open; then the claim is settled (token consumed,
//! other links killed, notice queued) or released (the link as it was).

use chrono::{DateTime, TimeDelta, Utc};

use super::Reset;
use crate::domain::{TokenId, UserId};
use crate::flow_error::FlowError;
use crate::handoff::{Handoff, HandoffFailure, PasswordChanged};
use crate::messages::Outgoing;
use crate::storage::handoff::{ClaimOutcome, Settled};

impl Reset {
    /// Hands a change through a link to the application; Ok only when the
    /// application took it and the token is consumed.
    pub(super) async fn hand_off_reset(
        &self,
        handoff: &Handoff,
        token_id: &TokenId,
        user_id: &UserId,
        hash: &str,
        now: DateTime<Utc>,
        messages: &[Outgoing],
    ) -> Result<(), FlowError> {
        let lease = TimeDelta::from_std(handoff.claim_duration())
            .map_err(|e| FlowError::Internal(anyhow::anyhow!("handoff claim duration: {e}")))?;
        let claim = match self
            .repo
            .claim_token_for_handoff(token_id, user_id, now.naive_utc(), now.naive_utc() + lease)
            .await?
        {
            ClaimOutcome::Claimed(claim) => claim,
            ClaimOutcome::InUse => {
                log::info!("reset token {token_id} is being handed off by another request");
                return Err(FlowError::LinkInUse);
            }
            other => {
                log::info!("reset token {token_id} refused at claim: {other:?}");
                return Err(FlowError::InvalidLink);
            }
        };
        let change = PasswordChanged::new(user_id, hash, now, claim.sequence);
        if let Err(failure) = handoff.hand_off(&change).await {
            self.count_failure(failure, user_id, claim.sequence);
            self.repo.release_handoff_claim(&claim).await?;
            return Err(FlowError::HandoffFailed);
        }
        self.metrics.password_handoff("accepted");
        match self
            .repo
            .settle_handoff(&claim, user_id, now.naive_utc(), messages)
            .await?
        {
            Settled::Recorded => {
                log::info!(
                    "password handed off for user {user_id} with token {token_id} (sequence {})",
                    claim.sequence
                );
                Ok(())
            }
            Settled::Superseded => {
                // The claim ran out before the answer came back and a later
                // use holds the link: its change, a higher sequence, counts.
                log::warn!(
                    "password handoff for user {user_id} (sequence {}) accepted after its claim \
                     on token {token_id} ran out; a later use supersedes it",
                    claim.sequence
                );
                Err(FlowError::InvalidLink)
            }
        }
    }

    /// Hands an operator's change (`pwreset user set-password`) to the
    /// application; Ok only when it took it.
    pub(super) async fn hand_off_operator_change(
        &self,
        handoff: &Handoff,
        user_id: &UserId,
        hash: &str,
        messages: &[Outgoing],
    ) -> Result<(), FlowError> {
        let sequence = self
            .repo
            .take_password_sequence(user_id)
            .await?
            .ok_or(FlowError::UserNotFound)?;
        let now = self.clock.now();
        let change = PasswordChanged::new(user_id, hash, now, sequence);
        if let Err(failure) = handoff.hand_off(&change).await {
            self.count_failure(failure, user_id, sequence);
            return Err(FlowError::HandoffFailed);
        }
        self.metrics.password_handoff("accepted");
        self.repo
            .settle_operator_handoff(user_id, now.naive_utc(), messages)
            .await?;
        log::info!("password handed off for user {user_id} by an operator (sequence {sequence})");
        Ok(())
    }

    fn count_failure(&self, failure: HandoffFailure, user_id: &UserId, sequence: i64) {
        self.metrics.password_handoff(failure.label());
        log::warn!(
            "password change for user {user_id} (sequence {sequence}) not taken: the application \
             {failure}; nothing changed"
        );
    }
}
