//! A `webhook` row: one event for one receiver, signed anew at each attempt.

use chrono::NaiveDateTime;

use super::{OutboxJob, OutboxWorker, Outcome, StepError};
use crate::messages::Webhook;
use crate::send_error::redact_url;
use crate::storage::outbox::OutboxRow;

/// Signs and posts a `webhook` row.
pub(super) struct SendWebhook;

impl OutboxJob for SendWebhook {
    type Payload = Webhook;

    async fn run(
        worker: &OutboxWorker,
        row: &OutboxRow,
        lease: NaiveDateTime,
        hook: Webhook,
    ) -> Result<Outcome, StepError> {
        if worker.lease_expired(lease) {
            return Ok(Outcome::LeaseLost);
        }
        worker.couriers.webhooks.deliver(&hook).await?;
        let note = worker
            .record_sent(row, lease, Some(&hook.msg_id), &row.payload)
            .await?;
        log::info!(
            "outbox {}: webhook {} delivered to {} (attempt {}{note})",
            row.id,
            hook.msg_id,
            redact_url(&hook.url),
            row.attempts
        );
        Ok(Outcome::Sent)
    }
}
