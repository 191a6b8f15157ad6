//! The `webhook` row's job: one event for one receiver, signed anew at each
//! attempt.

use crate::messages::{OutboxKind, Webhook};
use crate::outbox::{Claimed, OutboxJob, Outcome, SendGate, StepError};
use crate::send_error::redact_url;
use crate::webhooks::WebhookSender;

/// Signs and posts a `webhook` row.
pub struct SendWebhook {
    sender: WebhookSender,
    /// Every send passes it (concurrency, rate, timing), as emails do.
    gate: SendGate,
}

impl SendWebhook {
    pub fn new(sender: WebhookSender, gate: SendGate) -> Self {
        Self { sender, gate }
    }
}

impl OutboxJob for SendWebhook {
    type Payload = Webhook;

    async fn run(&self, claimed: &Claimed<'_>, hook: Webhook) -> Result<Outcome, StepError> {
        let turn = match claimed.turn_at(&self.gate).await {
            Ok(turn) => turn,
            Err(instead) => return Ok(instead),
        };
        turn.send(OutboxKind::Webhook, self.sender.deliver(&hook))
            .await?;
        let row = claimed.row;
        let note = claimed
            .record_sent(Some(&hook.msg_id), &row.payload)
            .await?;
        drop(turn);
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
