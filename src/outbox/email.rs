//! An `email` row: a reset link or a password-changed notice, rendered from
//! the current templates at send time.

use chrono::NaiveDateTime;

use super::{OutboxJob, OutboxWorker, Outcome, StepError};
use crate::i18n::Locale;
use crate::mailer::EmailMessage;
use crate::mailer::templates::Branding;
use crate::messages::{Email, EmailTemplate, OutboxMessage};
use crate::reset::UnusableLink;
use crate::storage::outbox::OutboxRow;

/// Renders and sends an `email` row.
pub(super) struct SendEmail;

impl OutboxJob for SendEmail {
    type Payload = Email;

    async fn run(
        worker: &OutboxWorker,
        row: &OutboxRow,
        lease: NaiveDateTime,
        email: Email,
    ) -> Result<Outcome, StepError> {
        worker.deliver_email(row, lease, &email).await
    }
}

impl OutboxWorker {
    async fn deliver_email(
        &self,
        row: &OutboxRow,
        lease: NaiveDateTime,
        email: &Email,
    ) -> Result<Outcome, StepError> {
        let message = self.render(row, email).await?;
        if self.lease_expired(lease) {
            return Ok(Outcome::LeaseLost);
        }
        let provider_id = self.couriers.mailer.send(&message).await?;
        // Once sent, the row keeps no sealed token.
        let kept = OutboxMessage::Email(email.scrubbed())
            .to_json()
            .map_err(StepError::permanent)?;
        let note = self
            .record_sent(row, lease, provider_id.as_deref(), &kept)
            .await?;
        log::info!(
            "outbox {}: {} email for user {} sent via {} (attempt {}{note})",
            row.id,
            email.template.name(),
            email.user_id,
            self.couriers.mailer.name(),
            row.attempts,
        );
        Ok(Outcome::Sent)
    }

    /// The message for an email row, rendered from the current templates.
    async fn render(&self, row: &OutboxRow, email: &Email) -> Result<EmailMessage, StepError> {
        let settings = self.actions.settings();
        let branding = Branding {
            app_name: &settings.app_name,
            support_contact: settings.support_contact.as_deref(),
        };
        let templates = &self.couriers.templates;
        let locale = email
            .locale
            .as_deref()
            .and_then(Locale::parse)
            .unwrap_or_else(Locale::english);
        let rendered = match email.template {
            EmailTemplate::Reset => {
                let link = email.link.as_ref().ok_or_else(|| {
                    StepError::permanent(anyhow::anyhow!("reset email without its token"))
                })?;
                let (link, minutes) =
                    self.actions
                        .link_for_email(link, &email.to)
                        .await
                        .map_err(|e| match e {
                            UnusableLink::Storage(e) => StepError::Storage(e),
                            other => StepError::permanent(other),
                        })?;
                templates.reset(&branding, &link, minutes, &locale)
            }
            EmailTemplate::PasswordChanged => templates.password_changed(&branding, &locale),
        }
        .map_err(StepError::permanent)?;
        Ok(EmailMessage {
            id: row.id.to_string(),
            from: settings.default_from_email.clone(),
            to: email.to.clone(),
            subject: rendered.subject,
            text: rendered.text,
            html: rendered.html,
        })
    }
}
