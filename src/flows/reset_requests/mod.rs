//! A service's reset requests (`/internal/v1/reset-requests`): a service
//! starts a reset for one of its users, emailed through the outbox or handed
//! back as a link for a support tool (`issue_link`), and reads back what
//! became of an emailed one (`record.rs`). Entry points: `api.rs`. Callers
//! are authenticated (`http::service_auth`), so unlike the public API these
//! answers may say whether a user exists.

pub(crate) mod api;
mod record;

use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use chrono::{DateTime, Utc};
use tokio::sync::Notify;

use crate::clock::Clock;
use crate::config::Settings;
use crate::domain::{EmailAddress, OutboxId, TokenId, UserId};
use crate::flow_error::FlowError;
use crate::issuing::Issuer;
use crate::messages::OutboxMessage;
use crate::metrics::{LinkVia, Metrics};
use crate::storage::Repo;
pub use record::{DeliveryRecord, DeliveryState};

/// The flow, with what it needs.
pub struct ResetRequests {
    repo: Repo,
    issuer: Issuer,
    clock: Clock,
    metrics: Arc<Metrics>,
    /// The link's base (`RESET_URL_BASE`).
    settings: Arc<Settings>,
    /// Wakes the worker for the email just queued.
    wake: Arc<Notify>,
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

impl ResetRequests {
    pub fn new(
        repo: Repo,
        issuer: Issuer,
        clock: Clock,
        metrics: Arc<Metrics>,
        settings: Arc<Settings>,
        wake: Arc<Notify>,
    ) -> Self {
        Self {
            repo,
            issuer,
            clock,
            metrics,
            settings,
            wake,
        }
    }

    /// A service starts a reset for one of its users (internal API).
    pub async fn issue_link(
        &self,
        target: &Target,
        delivery: Delivery,
        ttl: Duration,
    ) -> Result<IssuedLink, FlowError> {
        let user = match target {
            Target::Email(email) => self.repo.find_user_by_email(email).await?,
            Target::Id(id) => self.repo.find_user_by_id(id).await?,
        }
        .ok_or(FlowError::UserNotFound)?;
        if user.disabled {
            return Err(FlowError::UserDisabled);
        }
        let (issued, messages) =
            self.issuer
                .new_token(&user, ttl, delivery == Delivery::Email, None, None)?;
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
        self.wake.notify_one();
        self.metrics.link_issued(match delivery {
            Delivery::Email => LinkVia::ServiceEmail,
            Delivery::Link => LinkVia::ServiceLink,
        });
        let link = match delivery {
            Delivery::Email => None,
            Delivery::Link => {
                let jwt = self
                    .issuer
                    .codec
                    .mint(
                        &user.id,
                        &issued.id,
                        &issued.token,
                        issued.issued_at,
                        issued.expires_at,
                        None,
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
}
