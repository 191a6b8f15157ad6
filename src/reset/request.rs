//! forgot-password: the request path only queues the address (the same work
//! for every address); the worker later resolves the account and, for a
//! live one, creates the token and its email in one transaction.

use std::net::IpAddr;

use chrono::NaiveDateTime;

use super::{Actions, ResetError};
use crate::domain::{EmailAddress, OutboxId, TokenId, UserId};
use crate::messages::{OutboxMessage, Outgoing, ResetRequest};
use crate::storage::outbox::Fulfilment;

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
    /// Another worker holds the row now.
    LeaseLost,
}

impl Actions {
    /// Counts the request against its limits and queues it. Always the same
    /// work whatever the account: whether it exists is decided later.
    pub async fn request_link(
        &self,
        email: &EmailAddress,
        ip: Option<IpAddr>,
    ) -> Result<(), ResetError> {
        self.limiter.forgot_password(ip, email).await?;
        let request = Outgoing::new(OutboxMessage::ResetRequest(ResetRequest {
            email: email.as_str().to_owned(),
            ip: ip.map(|ip| ip.to_string()),
        }));
        self.repo.enqueue(&request, self.clock.now_naive()).await?;
        // The worker is deliberately not woken here: it finds the row on its
        // next poll (OUTBOX_POLL_INTERVAL_MS), so the extra work an existing
        // account causes never runs while this response is still being sent.
        Ok(())
    }

    /// Turns a claimed reset request into a token and its email (worker).
    pub async fn fulfil_request(
        &self,
        row_id: &OutboxId,
        lease: NaiveDateTime,
        request: &ResetRequest,
    ) -> Result<Fulfilled, ResetError> {
        // Only valid addresses are queued; one that no longer parses has no account.
        let Ok(email) = EmailAddress::parse(&request.email) else {
            return Ok(Fulfilled::NoAccount);
        };
        let user = match self.repo.find_user_by_email(&email).await? {
            Some(user) if !user.disabled => user,
            Some(_) => return Ok(Fulfilled::DisabledAccount),
            None => return Ok(Fulfilled::NoAccount),
        };
        let (issued, messages) = self.new_token(&user, self.settings.reset_token_ttl, true)?;
        let fulfilment = self
            .repo
            .fulfil_reset_request(
                row_id,
                lease,
                self.clock.now_naive(),
                &issued.row(&user.id, request.ip.as_deref()),
                &messages,
                self.limiter.account_email_limit(),
            )
            .await?;
        Ok(match fulfilment {
            Fulfilment::Issued => {
                self.wake_worker();
                Fulfilled::Issued {
                    user_id: user.id,
                    token_id: issued.id,
                }
            }
            Fulfilment::AccountLimitReached => Fulfilled::AccountLimitReached { user_id: user.id },
            Fulfilment::LeaseLost => Fulfilled::LeaseLost,
        })
    }
}
