//! A `reset_request` row: someone typed an address into forgot-password.
//! The action decides; this settles the row when nothing was created.
//! Requests for addresses with no live account (most of them, under a flood
//! of made-up addresses) are settled a whole batch per statement, without
//! being claimed first.

use chrono::NaiveDateTime;

use super::{OutboxWorker, Outcome, StepError};
use crate::messages::{OutboxKind, ResetRequest};
use crate::metrics::DeliveryOutcome;
use crate::reset::{Fulfilled, ResetError};
use crate::storage::outbox::{OutboxRow, Settlement};

impl OutboxWorker {
    /// Settles, a batch per statement and before anything is claimed, the
    /// due reset requests whose address no live account has; returns how
    /// many. A failure is logged and the batch goes on: those requests are
    /// then claimed and decided one by one like any other.
    pub(super) async fn settle_requests_without_account(&self) -> usize {
        let now = self.actions.clock().now_naive();
        let settled = match self
            .actions
            .repo()
            .settle_requests_without_account(now, super::REQUEST_BATCH)
            .await
        {
            Ok(settled) => settled,
            Err(e) => {
                log::warn!("outbox: settling reset requests without an account failed: {e}");
                return 0;
            }
        };
        if settled > 0 {
            log::info!(
                "outbox: {settled} reset request(s) for addresses with no live account settled; nothing sent"
            );
            let metrics = self.actions.metrics();
            for _ in 0..settled {
                metrics.delivery(OutboxKind::ResetRequest, DeliveryOutcome::Skipped);
            }
            self.alive();
        }
        settled
    }

    pub(super) async fn fulfil_reset_request(
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
                self.actions
                    .repo()
                    .settle_outbox_row(&row.id, lease, now, Settlement::Done)
                    .await?;
                Ok(Outcome::Skipped)
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
