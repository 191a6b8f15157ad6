//! A `reset_request` row: someone typed an address into forgot-password.
//! The action decides; this settles the row when nothing was created.
//! Requests for addresses with no live account (most of them, under a flood
//! of made-up addresses) are settled by the very statement that claims the
//! batch.

use chrono::NaiveDateTime;

use super::{OutboxJob, OutboxWorker, Outcome, StepError};
use crate::messages::{OutboxKind, ResetRequest};
use crate::metrics::DeliveryOutcome;
use crate::reset::{Fulfilled, ResetError};
use crate::storage::StorageError;
use crate::storage::leases::{Due, Settlement};
use crate::storage::outbox::OutboxRow;

/// Turns a `reset_request` row into a token and its email, or settles it.
pub(super) struct Fulfil;

impl OutboxJob for Fulfil {
    type Payload = ResetRequest;

    async fn run(
        worker: &OutboxWorker,
        row: &OutboxRow,
        lease: NaiveDateTime,
        request: ResetRequest,
    ) -> Result<Outcome, StepError> {
        worker.fulfil_reset_request(row, lease, &request).await
    }
}

impl OutboxWorker {
    /// Takes a batch of due reset requests: those whose address no live
    /// account has are settled in the same statement, the others are leased
    /// and returned, with how many were settled. If that statement fails
    /// (a payload that is not JSON), every request of the batch is leased
    /// instead and decided one by one like any other row.
    pub(super) async fn claim_reset_requests(
        &self,
        now: NaiveDateTime,
        lease_until: NaiveDateTime,
    ) -> Result<(Vec<OutboxRow>, usize), StorageError> {
        let repo = self.actions.repo();
        let claimed = match repo
            .claim_due_reset_requests(now, lease_until, super::REQUEST_BATCH)
            .await
        {
            Ok(claimed) => claimed,
            Err(e) => {
                log::warn!("outbox: reset requests claimed one by one this round: {e}");
                let rows = repo
                    .claim_due_outbox_rows(
                        Due::ResetRequests,
                        now,
                        lease_until,
                        super::REQUEST_BATCH,
                    )
                    .await?;
                return Ok((rows, 0));
            }
        };
        if claimed.settled > 0 {
            log::info!(
                "outbox: {} reset request(s) for addresses with no live account settled; nothing sent",
                claimed.settled
            );
            self.actions.metrics().deliveries_of(
                OutboxKind::ResetRequest,
                DeliveryOutcome::Skipped,
                claimed.settled as u64,
            );
            self.alive();
        }
        Ok((claimed.leased, claimed.settled))
    }

    async fn fulfil_reset_request(
        &self,
        row: &OutboxRow,
        lease: NaiveDateTime,
        request: &ResetRequest,
    ) -> Result<Outcome, StepError> {
        let fulfilled = self
            .actions
            .fulfil_request(&row.id, lease, request)
            .await
            .map_err(|e| match e {
                ResetError::Storage(e) => StepError::Storage(e),
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
                let now = self.actions.clock().now_naive();
                let ours = self
                    .actions
                    .repo()
                    .settle_outbox_row(&row.id, lease, now, Settlement::Done)
                    .await?;
                Ok(Outcome::Skipped.unless_lease_lost(ours))
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
