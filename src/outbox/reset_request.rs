//! A `reset_request` row: someone typed an address into forgot-password.
//! The action decides; this settles the row when nothing was created.
//! Requests for addresses with no live account (most of them, under a flood
//! of made-up addresses) are settled a whole batch at a time.

use chrono::NaiveDateTime;

use super::{OutboxWorker, Outcome, StepError};
use crate::domain::{EmailAddress, OutboxId};
use crate::messages::{OutboxKind, OutboxMessage, ResetRequest};
use crate::metrics::DeliveryOutcome;
use crate::reset::{Fulfilled, ResetError};
use crate::storage::StorageError;
use crate::storage::outbox::{OutboxRow, Settlement};

impl OutboxWorker {
    /// Settles, with one lookup and one update, the claimed reset requests
    /// whose address no live account has: nothing is created for them, as
    /// the one-by-one path would decide. Returns the rows still to process
    /// (everything else, requests for live accounts included).
    pub(super) async fn settle_requests_without_account(
        &self,
        rows: Vec<OutboxRow>,
        lease: NaiveDateTime,
    ) -> Result<Vec<OutboxRow>, StorageError> {
        // Each reset request's address; None when it no longer parses (no
        // account can have it).
        let addresses: Vec<Option<Option<EmailAddress>>> = rows
            .iter()
            .map(
                |row| match OutboxMessage::from_json(row.kind, &row.payload) {
                    Ok(OutboxMessage::ResetRequest(request)) if row.locked_until == Some(lease) => {
                        Some(EmailAddress::parse(&request.email).ok())
                    }
                    _ => None,
                },
            )
            .collect();
        let wanted: Vec<&str> = addresses
            .iter()
            .filter_map(|a| a.as_ref()?.as_ref().map(EmailAddress::as_str))
            .collect();
        if addresses.iter().all(Option::is_none) {
            return Ok(rows);
        }
        let live = self.actions.repo().live_account_emails(&wanted).await?;
        let needs_nothing = |address: &Option<Option<EmailAddress>>| match address {
            Some(Some(email)) => !live.contains(email.as_str()),
            Some(None) => true,
            None => false,
        };
        let ids: Vec<OutboxId> = rows
            .iter()
            .zip(&addresses)
            .filter(|(_, address)| needs_nothing(address))
            .map(|(row, _)| row.id.clone())
            .collect();
        if ids.is_empty() {
            return Ok(rows);
        }
        let now = self.actions.clock().now_naive();
        let settled = self
            .actions
            .repo()
            .settle_handled_requests(&ids, lease, now)
            .await?;
        log::info!(
            "outbox: {} reset request(s) for addresses with no live account settled; nothing sent",
            settled.len()
        );
        let metrics = self.actions.metrics();
        for _ in &ids {
            // Settled now, or the lease was lost meanwhile: skipped either way.
            metrics.delivery(OutboxKind::ResetRequest, DeliveryOutcome::Skipped);
        }
        self.alive();
        Ok(rows
            .into_iter()
            .zip(&addresses)
            .filter(|(_, address)| !needs_nothing(address))
            .map(|(row, _)| row)
            .collect())
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
