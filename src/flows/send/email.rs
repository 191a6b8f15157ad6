//! The `email` row's job: a reset link or a password-changed notice,
//! rendered from the current templates at send time. A reset link is
//! rebuilt from the sealed token only while the token is still usable and
//! the account still has the address: a stale reset email is never sent.

use crate::codes::ResetCode;
use std::sync::Arc;

use crate::announce;
use crate::clock::Clock;
use crate::config::Settings;
use crate::i18n::Locale;
use crate::mailer::templates::{Branding, ResetContent, Templates};
use crate::mailer::{EmailMessage, Mailer};
use crate::messages::{Email, EmailTemplate, LinkToken, OutboxKind, OutboxMessage, Outgoing};
use crate::outbox::{Claimed, OutboxJob, Outcome, SendGate, StepError};
use crate::storage::outbox::OutboxRow;
use crate::storage::{Repo, StorageError};
use crate::tokens::{SealError, TokenCodec};

/// Renders and sends an `email` row.
pub struct SendEmail {
    repo: Repo,
    codec: TokenCodec,
    clock: Clock,
    /// The branding, the sender address, the link's base and the webhooks
    /// told when a reset email goes dead.
    settings: Arc<Settings>,
    mailer: Arc<dyn Mailer>,
    templates: Templates,
    /// Every send passes it (concurrency, rate, timing).
    gate: SendGate,
}

/// Why a queued reset email cannot be sent.
#[derive(Debug, thiserror::Error)]
pub enum UnusableLink {
    #[error("token revoked before delivery; not sent")]
    Revoked,
    #[error("token no longer valid before delivery; not sent")]
    NoLongerValid,
    #[error("the account's address changed before delivery; not sent")]
    AddressChanged,
    #[error(transparent)]
    Sealed(#[from] SealError),
    #[error("cannot sign the link: {0}")]
    Sign(#[from] jsonwebtoken::errors::Error),
    #[error(transparent)]
    Storage(#[from] StorageError),
}

impl OutboxJob for SendEmail {
    type Payload = Email;

    async fn run(&self, claimed: &Claimed<'_>, email: Email) -> Result<Outcome, StepError> {
        let row = claimed.row;
        let message = self.render(row, &email).await?;
        let turn = match claimed.turn_at(&self.gate).await {
            Ok(turn) => turn,
            Err(instead) => return Ok(instead),
        };
        let provider_id = turn
            .send(OutboxKind::Email, self.mailer.send(&message))
            .await?;
        // Once sent, the row keeps no sealed token.
        let kept = OutboxMessage::Email(email.scrubbed())
            .to_json()
            .map_err(StepError::permanent)?;
        let note = claimed.record_sent(provider_id.as_deref(), &kept).await?;
        drop(turn);
        // The provider's id, to find the message in its dashboard.
        let provider_note = provider_id
            .as_deref()
            .map(|id| format!(", provider message id {}", crate::log_safe::clean(id)))
            .unwrap_or_default();
        log::info!(
            "outbox {}: {} email for user {} sent via {} (attempt {}{provider_note}{note})",
            row.id,
            email.template.name(),
            email.user_id,
            self.mailer.name(),
            row.attempts,
        );
        Ok(Outcome::Sent)
    }

    /// A reset email that goes dead: the `email.delivery.failed` event (when
    /// wanted). An unreadable payload announces nothing: its user is unknown.
    fn when_given_up(&self, row: &OutboxRow, reason: &str) -> Vec<Outgoing> {
        match OutboxMessage::reset_email_user(row.kind, &row.payload) {
            Ok(Some(user_id)) => announce::delivery_failed(
                &self.settings.webhooks,
                &row.id,
                &user_id,
                reason,
                self.clock.now(),
            ),
            Ok(None) | Err(_) => Vec::new(),
        }
    }
}

impl SendEmail {
    pub fn new(
        repo: Repo,
        codec: TokenCodec,
        clock: Clock,
        settings: Arc<Settings>,
        mailer: Arc<dyn Mailer>,
        templates: Templates,
        gate: SendGate,
    ) -> Self {
        Self {
            repo,
            codec,
            clock,
            settings,
            mailer,
            templates,
            gate,
        }
    }

    /// The provider's name, for the log.
    pub fn mailer_name(&self) -> &str {
        self.mailer.name()
    }

    /// The message for an email row, rendered from the current templates.
    async fn render(&self, row: &OutboxRow, email: &Email) -> Result<EmailMessage, StepError> {
        let settings = &self.settings;
        let branding = Branding {
            app_name: &settings.app_name,
            support_contact: settings.support_contact.as_deref(),
        };
        let templates = &self.templates;
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
                let code = link
                    .sealed_code
                    .as_ref()
                    .map(|sealed| ResetCode::unseal(&self.codec, sealed, &link.token_id))
                    .transpose()
                    .map_err(|_| {
                        StepError::permanent(anyhow::anyhow!("the email's code cannot be opened"))
                    })?;
                let (link, minutes) =
                    self.link_for_email(link, &email.to)
                        .await
                        .map_err(|e| match e {
                            UnusableLink::Storage(e) => StepError::Storage(e),
                            other => StepError::permanent(other),
                        })?;
                let code = code.map(|c| c.grouped());
                let content = ResetContent {
                    link: &link,
                    lifetime_minutes: minutes,
                    code: code.as_deref(),
                    code_in_subject: settings.codes.in_subject,
                };
                templates.reset(&branding, &content, &locale)
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

    /// Rebuilds the link of a queued reset email, refusing when the token is
    /// no longer usable. Returns the link and the token's lifetime in
    /// minutes (a service may have asked for a lifetime other than the
    /// default).
    async fn link_for_email(
        &self,
        link: &LinkToken,
        to: &str,
    ) -> Result<(String, u64), UnusableLink> {
        let now = self.clock.now_naive();
        let (row, user) = self
            .repo
            .find_token_by_id(&link.token_id)
            .await?
            .ok_or(UnusableLink::Revoked)?;
        if let Some(dead) = row.dead_because(&user, now) {
            log::info!("reset token {}: {}", row.id, dead.describe());
            return Err(UnusableLink::NoLongerValid);
        }
        if user.email != to {
            return Err(UnusableLink::AddressChanged);
        }
        let token = self.codec.unseal(&link.sealed_token, &link.token_id)?;
        let jwt = self.codec.mint(
            &row.user_id,
            &row.id,
            &token,
            row.created_at.and_utc(),
            row.expires_at.and_utc(),
            link.return_to.as_deref(),
        )?;
        let lifetime_secs = (row.expires_at - row.created_at).num_seconds().max(0) as u64;
        Ok((self.settings.reset_link(&jwt), lifetime_secs.div_ceil(60)))
    }
}
