//! What became of an emailed reset: the record a service reads back with the
//! id it was given (`GET /internal/v1/reset-requests/{id}`). It never
//! carries the token, the link or the address.

use chrono::NaiveDateTime;

use super::ResetRequests;
use crate::domain::{OutboxId, UserId};
use crate::flow_error::FlowError;
use crate::messages::{OutboxMessage, OutboxStatus};
use crate::storage::outbox::OutboxRow;

/// Where an emailed reset stands.
#[derive(Debug, PartialEq, Eq)]
pub enum DeliveryState {
    /// Waiting for its first or next attempt; `last_error` says why the
    /// previous one failed, if one did.
    Queued {
        next_attempt_at: NaiveDateTime,
        last_error: Option<String>,
    },
    /// A provider accepted it (any 2xx, or SMTP's 250).
    Sent {
        at: NaiveDateTime,
        provider_message_id: Option<String>,
    },
    /// Given up: a permanent refusal, the attempts used up, or the link no
    /// longer worth sending.
    Dead { reason: String },
}

#[derive(Debug)]
pub struct DeliveryRecord {
    pub id: OutboxId,
    pub user_id: UserId,
    pub created_at: NaiveDateTime,
    pub attempts: i32,
    pub state: DeliveryState,
}

/// The user a reset email row is for; None for any other row. A payload
/// that cannot be read is a corrupt row, not "no such record".
fn reset_email_user(row: &OutboxRow) -> Result<Option<UserId>, FlowError> {
    OutboxMessage::reset_email_user(row.kind, &row.payload)
        .map_err(|e| corrupt(row, &format!("its payload cannot be read ({e})")))
}

/// A row the record cannot be told from truthfully: a 500, logged with why.
fn corrupt(row: &OutboxRow, why: &str) -> FlowError {
    FlowError::Internal(anyhow::anyhow!("outbox row {} is corrupt: {why}", row.id))
}

impl ResetRequests {
    /// The record of the reset email with this id; None when there is none
    /// (never was, another kind of row, or pruned after RETENTION_SECS).
    pub async fn reset_email_record(
        &self,
        id: &OutboxId,
    ) -> Result<Option<DeliveryRecord>, FlowError> {
        let Some(row) = self.repo.outbox_row(id).await? else {
            return Ok(None);
        };
        let Some(user_id) = reset_email_user(&row)? else {
            return Ok(None);
        };
        let state = match row.status {
            OutboxStatus::Sent | OutboxStatus::Done => DeliveryState::Sent {
                at: row
                    .sent_at
                    .ok_or_else(|| corrupt(&row, "settled sent with no sent_at"))?,
                provider_message_id: row.provider_message_id.clone(),
            },
            OutboxStatus::Dead => DeliveryState::Dead {
                reason: row
                    .last_error
                    .clone()
                    .filter(|reason| !reason.is_empty())
                    .ok_or_else(|| corrupt(&row, "dead with no reason"))?,
            },
            OutboxStatus::Pending => DeliveryState::Queued {
                next_attempt_at: row.next_attempt_at,
                last_error: row.last_error.clone(),
            },
        };
        Ok(Some(DeliveryRecord {
            id: row.id,
            user_id,
            created_at: row.created_at,
            attempts: row.attempts,
            state,
        }))
    }
}
