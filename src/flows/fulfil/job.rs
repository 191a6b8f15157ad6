//! The `reset_request` row's job: someone typed an address into
//! forgot-password. `Fulfil::fulfil_request` decides; this settles the row
//! when nothing was created. Requests for addresses with no live account
//! (most of them, under a flood of made-up addresses) are settled by the
//! very statement that claims the batch (`claim_batch`).

use chrono::NaiveDateTime;

use super::{Fulfil, Fulfilled};
use crate::flow_error::FlowError;
use crate::messages::{OutboxKind, ResetRequest};
use crate::metrics::DeliveryOutcome;
use crate::outbox::{Claimed, OutboxJob, Outcome, StepError};
use crate::storage::StorageError;
use crate::storage::leases::Due;
use crate::storage::outbox::OutboxRow;

/// Reset requests claimed per batch: most are settled by the claim itself
/// (no live account has the address).
pub const REQUEST_BATCH: i64 = 256;

impl OutboxJob for Fulfil {
    type Payload = ResetRequest;

    async fn run(
        &self,
        claimed: &Claimed<'_>,
        request: ResetRequest,
    ) -> Result<Outcome, StepError> {
        let row = claimed.row;
        let fulfilled = self
            .fulfil_request(&row.id, claimed.lease, &request)
            .await
            .map_err(|e| match e {
                FlowError::Storage(e) => StepError::Storage(e),
                other => StepError::permanent(other),
            })?;
        match fulfilled {
            Fulfilled::Issued { user_id, token_id } => {
                log::info!(
                    "outbox {}: reset token {token_id} created for user {user_id}",
                    row.id
                );
                Ok(Outcome::Sent)
            }
            Fulfilled::NoAccount | Fulfilled::DisabledAccount => {
                let why = if fulfilled == Fulfilled::NoAccount {
                    "no account"
                } else {
                    "a disabled account"
                };
                log::info!(
                    "outbox {}: reset requested for an address with {why}; nothing sent",
                    row.id
                );
                Ok(claimed.record_skipped().await?)
            }
            Fulfilled::AccountLimitReached { user_id } => {
                log::warn!(
                    "outbox {}: user {user_id} had its reset emails for this hour; nothing sent",
                    row.id
                );
                Ok(Outcome::Skipped)
            }
            Fulfilled::AccountChanged => {
                log::info!(
                    "outbox {}: the account changed its address (or was disabled) meanwhile; nothing sent",
                    row.id
                );
                Ok(Outcome::Skipped)
            }
            Fulfilled::LeaseLost => Ok(Outcome::LeaseLost),
        }
    }
}

impl Fulfil {
    /// Takes a batch of due reset requests: those whose address no live
    /// account has are settled in the same statement, the others are leased
    /// and returned, with how many were settled. If that statement fails
    /// (a payload that is not JSON), every request of the batch is leased
    /// instead and decided one by one like any other row.
    pub async fn claim_batch(
        &self,
        now: NaiveDateTime,
        lease_until: NaiveDateTime,
        limit: i64,
    ) -> Result<(Vec<OutboxRow>, usize), StorageError> {
        let claimed = match self
            .repo
            .claim_due_reset_requests(now, lease_until, limit)
            .await
        {
            Ok(claimed) => claimed,
            Err(e) => {
                log::warn!("outbox: reset requests claimed one by one this round: {e}");
                let rows = self
                    .repo
                    .claim_due_outbox_rows(Due::ResetRequests, now, lease_until, limit)
                    .await?;
                return Ok((rows, 0));
            }
        };
        if claimed.settled > 0 {
            log::info!(
                "outbox: {} reset request(s) for addresses with no live account settled; nothing sent",
                claimed.settled
            );
            self.metrics.deliveries_of(
                OutboxKind::ResetRequest,
                DeliveryOutcome::Skipped,
                claimed.settled as u64,
            );
        }
        Ok((claimed.leased, claimed.settled))
    }
}
