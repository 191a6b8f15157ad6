//! Issuing a reset token: the same steps whether a person asked through
//! forgot-password (`flows::fulfil`) or a service asked through the internal
//! API (`flows::reset_requests`): the random token, its row, the sealed
//! token its email carries, and the `password.reset.requested` event.

use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use chrono::{DateTime, TimeDelta, Utc};

use crate::announce;
use crate::clock::Clock;
use crate::codes::ResetCode;
use crate::config::Settings;
use crate::domain::{TokenHash, TokenId, UserId};
use crate::flow_error::FlowError;
use crate::i18n::Locale;
use crate::messages::{Email, EmailTemplate, LinkToken, OutboxMessage, Outgoing, WebhookEvent};
use crate::storage::tokens::NewToken;
use crate::storage::users::User;
use crate::tokens::{ResetToken, TokenCodec};

/// A token just made, before it is stored.
pub(crate) struct IssuedToken {
    pub id: TokenId,
    pub(crate) token: ResetToken,
    hash: TokenHash,
    /// The one-time code's HMAC, for an emailed token.
    code_hmac: Option<String>,
    pub issued_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
}

impl IssuedToken {
    fn new(now: DateTime<Utc>, ttl: Duration) -> Result<Self, FlowError> {
        let token = ResetToken::generate().context("OS random generator")?;
        // Whole seconds, so the JWT's `exp` equals the row's `expires_at`
        // (a timestamp taken from a `DateTime` always converts back).
        let issued_at = DateTime::from_timestamp(now.timestamp(), 0).unwrap_or(now);
        let expires_at = TimeDelta::from_std(ttl)
            .ok()
            .and_then(|ttl| issued_at.checked_add_signed(ttl))
            .with_context(|| format!("a token lifetime of {} s is out of range", ttl.as_secs()))?;
        Ok(Self {
            id: TokenId::random(),
            hash: token.hash(),
            code_hmac: None,
            token,
            issued_at,
            expires_at,
        })
    }

    pub fn row<'a>(&'a self, user_id: &'a UserId, requested_ip: Option<&'a str>) -> NewToken<'a> {
        NewToken {
            id: &self.id,
            user_id,
            token_hash: &self.hash,
            created_at: self.issued_at.naive_utc(),
            expires_at: self.expires_at.naive_utc(),
            requested_ip,
            code_hmac: self.code_hmac.as_deref(),
        }
    }
}

/// Makes tokens and the messages that go with them.
#[derive(Clone)]
pub struct Issuer {
    pub(crate) codec: TokenCodec,
    clock: Clock,
    settings: Arc<Settings>,
}

impl Issuer {
    pub fn new(codec: TokenCodec, clock: Clock, settings: Arc<Settings>) -> Self {
        Self {
            codec,
            clock,
            settings,
        }
    }

    /// A new token for `user`, and the messages that go with it: the email
    /// (when `by_email`, its link carrying `return_to`) and the
    /// `password.reset.requested` event.
    pub(crate) fn new_token(
        &self,
        user: &User,
        ttl: Duration,
        by_email: bool,
        request_locale: Option<&Locale>,
        return_to: Option<&str>,
    ) -> Result<(IssuedToken, Vec<Outgoing>), FlowError> {
        let now = self.clock.now();
        let mut issued = IssuedToken::new(now, ttl)?;
        let mut messages = Vec::new();
        if by_email {
            let sealed_token = self
                .codec
                .seal(&issued.token, &issued.id)
                .context("sealing the token for its email")?;
            // Every emailed link has its code, the same token.
            let code =
                ResetCode::generate(self.settings.codes.length).context("OS random generator")?;
            issued.code_hmac = Some(code.tag(&self.codec, &issued.id));
            let sealed_code = code
                .seal(&self.codec, &issued.id)
                .context("sealing the code for its email")?;
            // The email gives up when the link expires: a stale one is never sent.
            messages.push(
                Outgoing::new(OutboxMessage::Email(Email {
                    template: EmailTemplate::Reset,
                    to: user.email.clone(),
                    user_id: user.id.clone(),
                    locale: announce::email_locale(user, request_locale),
                    link: Some(LinkToken {
                        token_id: issued.id.clone(),
                        sealed_token,
                        sealed_code: Some(sealed_code),
                        return_to: return_to.map(str::to_owned),
                    }),
                }))
                .giving_up_at(issued.expires_at.naive_utc()),
            );
        }
        messages.extend(announce::event(
            &self.settings.webhooks,
            WebhookEvent::ResetRequested,
            user,
            now,
        ));
        Ok((issued, messages))
    }
}
