//! Issuing a reset token and its link: the same steps whether a user asked
//! through forgot-password (the worker) or a service asked through the
//! internal API; and rebuilding the link of a queued email at send time.

use std::time::Duration;

use anyhow::Context;
use chrono::{DateTime, TimeDelta, Utc};

use super::{Actions, ResetError, announce};
use crate::domain::{EmailAddress, OutboxId, TokenHash, TokenId, UserId};
use crate::i18n::Locale;
use crate::messages::{Email, EmailTemplate, LinkToken, OutboxMessage, Outgoing, WebhookEvent};
use crate::metrics::LinkVia;
use crate::storage::tokens::NewToken;
use crate::storage::users::User;
use crate::tokens::ResetToken;

/// A token just made, before it is stored.
pub(super) struct IssuedToken {
    pub id: TokenId,
    token: ResetToken,
    hash: TokenHash,
    pub issued_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
}

impl IssuedToken {
    fn new(now: DateTime<Utc>, ttl: Duration) -> Result<Self, ResetError> {
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
        }
    }
}

/// Who a service wants to reset.
#[derive(Debug)]
pub enum Target {
    Email(EmailAddress),
    Id(UserId),
}

/// How the link reaches the user.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Delivery {
    /// Emailed through the outbox.
    Email,
    /// Handed to the calling service (support tools).
    Link,
}

/// What a service gets back.
#[derive(Debug)]
pub struct IssuedLink {
    pub user_id: UserId,
    pub token_id: TokenId,
    pub expires_at: DateTime<Utc>,
    /// For `Delivery::Email`: the email's outbox id, which names its
    /// delivery record (`reset_email_record`).
    pub email_id: Option<OutboxId>,
    /// For `Delivery::Link` only: the JWT and the full link.
    pub link: Option<(String, String)>,
}

impl Actions {
    /// A new token for `user`, and the messages that go with it: the email
    /// (when `by_email`) and the `password.reset.requested` event.
    pub(super) fn new_token(
        &self,
        user: &User,
        ttl: Duration,
        by_email: bool,
        request_locale: Option<&Locale>,
    ) -> Result<(IssuedToken, Vec<Outgoing>), ResetError> {
        let now = self.clock.now();
        let issued = IssuedToken::new(now, ttl)?;
        let mut messages = Vec::new();
        if by_email {
            let sealed_token = self
                .codec
                .seal(&issued.token, &issued.id)
                .context("sealing the token for its email")?;
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

    /// A service starts a reset for one of its users (internal API).
    pub async fn issue_link(
        &self,
        target: &Target,
        delivery: Delivery,
        ttl: Duration,
    ) -> Result<IssuedLink, ResetError> {
        let user = match target {
            Target::Email(email) => self.repo.find_user_by_email(email).await?,
            Target::Id(id) => self.repo.find_user_by_id(id).await?,
        }
        .ok_or(ResetError::UserNotFound)?;
        if user.disabled {
            return Err(ResetError::UserDisabled);
        }
        let (issued, messages) = self.new_token(&user, ttl, delivery == Delivery::Email, None)?;
        let email_id = messages
            .iter()
            .find(|out| matches!(out.message, OutboxMessage::Email(_)))
            .map(|out| out.id.clone());
        self.repo
            .insert_token_with_messages(
                &issued.row(&user.id, None),
                &messages,
                self.clock.now_naive(),
            )
            .await?;
        self.wake_worker();
        self.metrics.link_issued(match delivery {
            Delivery::Email => LinkVia::ServiceEmail,
            Delivery::Link => LinkVia::ServiceLink,
        });
        let link = match delivery {
            Delivery::Email => None,
            Delivery::Link => {
                let jwt = self
                    .codec
                    .mint(
                        &user.id,
                        &issued.id,
                        &issued.token,
                        issued.issued_at,
                        issued.expires_at,
                    )
                    .context("signing the link")?;
                let url = self.settings.reset_link(&jwt);
                Some((jwt, url))
            }
        };
        Ok(IssuedLink {
            user_id: user.id,
            token_id: issued.id,
            expires_at: issued.expires_at,
            email_id,
            link,
        })
    }

    /// Rebuilds the link of a queued reset email, refusing when the token is
    /// no longer usable: a stale reset email is never sent. Returns the link
    /// and the token's lifetime in minutes (a service may have asked for a
    /// lifetime other than the default).
    pub async fn link_for_email(
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
        )?;
        let lifetime_secs = (row.expires_at - row.created_at).num_seconds().max(0) as u64;
        Ok((self.settings.reset_link(&jwt), lifetime_secs.div_ceil(60)))
    }
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
    Sealed(#[from] crate::tokens::SealError),
    #[error("cannot sign the link: {0}")]
    Sign(#[from] jsonwebtoken::errors::Error),
    #[error(transparent)]
    Storage(#[from] crate::storage::StorageError),
}
