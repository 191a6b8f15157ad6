//! Fulfil: the worker turns a queued forgot-password request (`flows::forgot`
//! queues it) into a token and its email, for a live account with that
//! address, in one transaction; or settles it with nothing sent. Entry
//! point: the `reset_request` row's job (`job.rs`, which also claims
//! batches of requests, settling at once those no live account has); the
//! SQL beside it (`store.rs`).

mod job;
mod store;

pub use job::REQUEST_BATCH;

use std::sync::Arc;
use std::time::Duration;

use chrono::NaiveDateTime;
use tokio::sync::Notify;

use crate::clock::Clock;
use crate::domain::{EmailAddress, OutboxId, TokenId, UserId};
use crate::flow_error::FlowError;
use crate::i18n::Locale;
use crate::issuing::Issuer;
use crate::limits::Limiter;
use crate::messages::ResetRequest;
use crate::metrics::{LinkVia, Metrics};
use crate::storage::Repo;
use crate::storage::users::User;
use store::Fulfilment;

/// What the worker made of a reset request.
#[derive(Debug, PartialEq, Eq)]
pub enum Fulfilled {
    Issued {
        user_id: UserId,
        token_id: TokenId,
    },
    /// Nothing to send; the request row still has to be settled.
    NoAccount,
    DisabledAccount,
    /// The account had its reset emails for this hour; the request is settled.
    AccountLimitReached {
        user_id: UserId,
    },
    /// Between the first read and the transaction the account changed its
    /// address, or was disabled or deleted; the request is settled.
    AccountChanged,
    /// Another worker holds the row now.
    LeaseLost,
}

/// The fulfil flow, with what it needs.
#[derive(Clone)]
pub struct Fulfil {
    repo: Repo,
    issuer: Issuer,
    limiter: Limiter,
    metrics: Arc<Metrics>,
    clock: Clock,
    /// The lifetime of a link someone asked for (`RESET_TOKEN_TTL_SECS`).
    ttl: Duration,
    /// Wakes the worker for the email just queued.
    wake: Arc<Notify>,
}

impl Fulfil {
    pub fn new(
        repo: Repo,
        issuer: Issuer,
        limiter: Limiter,
        metrics: Arc<Metrics>,
        clock: Clock,
        ttl: Duration,
        wake: Arc<Notify>,
    ) -> Self {
        Self {
            repo,
            issuer,
            limiter,
            metrics,
            clock,
            ttl,
            wake,
        }
    }

    /// Turns a claimed reset request into a token and its email (worker).
    pub async fn fulfil_request(
        &self,
        row_id: &OutboxId,
        lease: NaiveDateTime,
        request: &ResetRequest,
    ) -> Result<Fulfilled, FlowError> {
        match self.account_for_request(request).await? {
            Ok(user) => self.issue_for_request(row_id, lease, request, &user).await,
            Err(nothing) => Ok(nothing),
        }
    }

    /// The first step of `fulfil_request`: the live account with the
    /// requested address, or why there is none.
    pub async fn account_for_request(
        &self,
        request: &ResetRequest,
    ) -> Result<Result<User, Fulfilled>, FlowError> {
        // Only valid addresses are queued; one that no longer parses has no account.
        let Ok(email) = EmailAddress::parse(&request.email) else {
            return Ok(Err(Fulfilled::NoAccount));
        };
        Ok(match self.repo.find_user_by_email(&email).await? {
            Some(user) if !user.disabled => Ok(user),
            Some(_) => Err(Fulfilled::DisabledAccount),
            None => Err(Fulfilled::NoAccount),
        })
    }

    /// The second step: one transaction that settles the request and, if the
    /// account (read again under its row lock) still has the address,
    /// creates the token and its email to that address.
    pub async fn issue_for_request(
        &self,
        row_id: &OutboxId,
        lease: NaiveDateTime,
        request: &ResetRequest,
        user: &User,
    ) -> Result<Fulfilled, FlowError> {
        let locale = request.locale.as_deref().and_then(Locale::parse);
        let (issued, messages) = self.issuer.new_token(
            user,
            self.ttl,
            true,
            locale.as_ref(),
            request.return_to.as_deref(),
        )?;
        let fulfilment = self
            .repo
            .fulfil_reset_request(
                row_id,
                lease,
                self.clock.now_naive(),
                &user.email,
                &issued.row(&user.id, request.ip.as_deref()),
                &messages,
                self.limiter.account_email_limit(),
            )
            .await?;
        Ok(match fulfilment {
            Fulfilment::Issued => {
                self.wake.notify_one();
                self.metrics.link_issued(LinkVia::Forgot);
                Fulfilled::Issued {
                    user_id: user.id.clone(),
                    token_id: issued.id,
                }
            }
            Fulfilment::AccountLimitReached => Fulfilled::AccountLimitReached {
                user_id: user.id.clone(),
            },
            Fulfilment::AccountChanged => Fulfilled::AccountChanged,
            Fulfilment::LeaseLost => Fulfilled::LeaseLost,
        })
    }
}
