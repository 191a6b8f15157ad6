//! A `webhook` row: one event for one receiver, signed anew at each attempt.

use chrono::NaiveDateTime;

use super::{OutboxWorker, Outcome, StepError};
use crate::delivery::redact_url;
use crate::messages::Webhook;
use crate::storage::outbox::OutboxRow;

impl OutboxWorker {
    pub(super) async fn deliver_webhook(
        &self,
        row: &OutboxRow,
        lease: NaiveDateTime,
        hook: &Webhook,
    ) -> Result<Outcome, StepError> {
        if self.lease_expired(lease) {
            return Ok(Outcome::LeaseLost);
        }
        self.couriers.webhooks.deliver(hook).await?;
        let note = self
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
