//! A reset proven by a one-time code instead of a link: the person types
//! the account's email and the code from the email (on another device, or
//! where the link would open the wrong browser). Every failure is the same
//! `InvalidLink` as a bad link, and counts against the client's address
//! like one; the code's own bounds (its tries, the account's hourly cap)
//! hold whether or not the limits are on.

use std::net::IpAddr;

use super::{LiveLink, Reset};
use crate::codes::ResetCode;
use crate::domain::EmailAddress;
use crate::flow_error::FlowError;
use crate::limits::WINDOW;
use crate::storage::codes::{CodeBounds, CodeTry};

/// Wrong codes per account and hour past which every code of the account
/// is refused (its links still work).
pub const ACCOUNT_CODE_CAP: i32 = 20;

/// How a person proves they may set the password.
#[derive(Clone, Copy, Debug)]
pub enum Proof<'a> {
    /// The link's JWT.
    Link(&'a str),
    /// The account's email and the code beside its link, as typed.
    Code {
        email: &'a EmailAddress,
        code: &'a str,
    },
}

impl Reset {
    /// Whichever proof it is, checked; consumes nothing.
    pub async fn check(&self, proof: Proof<'_>, ip: Option<IpAddr>) -> Result<LiveLink, FlowError> {
        match proof {
            Proof::Link(jwt) => self.check_link(jwt, ip).await,
            Proof::Code { email, code } => self.check_code(email, code, ip).await,
        }
    }

    /// A code for an account: one try, counted before it is compared.
    pub async fn check_code(
        &self,
        email: &EmailAddress,
        typed: &str,
        ip: Option<IpAddr>,
    ) -> Result<LiveLink, FlowError> {
        self.limiter.check_token_attempt(ip).await?;
        let result = self.look_up_code(email, typed).await;
        if matches!(result, Err(FlowError::InvalidLink)) {
            self.limiter.record_token_failure(ip).await?;
        }
        result
    }

    async fn look_up_code(&self, email: &EmailAddress, typed: &str) -> Result<LiveLink, FlowError> {
        let refuse = |outcome: &'static str, why: &str| {
            log::info!("reset code refused: {why}");
            self.metrics.reset_code(outcome);
            FlowError::InvalidLink
        };
        let Some(code) = ResetCode::parse(typed) else {
            return Err(refuse("wrong", "not a code (digits of an allowed length)"));
        };
        let user = match self.repo.find_user_by_email(email).await? {
            Some(user) if !user.disabled => user,
            _ => return Err(refuse("wrong", "no live account has the address")),
        };
        let bounds = CodeBounds {
            max_attempts: self.settings.codes.max_attempts,
            account_cap: ACCOUNT_CODE_CAP,
            window: WINDOW,
        };
        let tried = self
            .repo
            .try_code(&user.id, self.clock.now_naive(), bounds, |id, stored| {
                code.matches(&self.codec, id, stored)
            })
            .await?;
        let token_id = match tried {
            CodeTry::Matched(id) => id,
            CodeTry::Wrong => {
                return Err(refuse("wrong", &format!("wrong code for user {}", user.id)));
            }
            CodeTry::Dead => {
                return Err(refuse(
                    "dead",
                    &format!("user {}'s codes are past their tries", user.id),
                ));
            }
            CodeTry::Capped => {
                return Err(refuse(
                    "capped",
                    &format!(
                        "user {} is past {ACCOUNT_CODE_CAP} wrong codes this hour",
                        user.id
                    ),
                ));
            }
        };
        let Some((row, user)) = self.repo.find_token_by_id(&token_id).await? else {
            return Err(refuse("dead", "the code's token is gone"));
        };
        if let Some(dead) = row.dead_because(&user, self.clock.now_naive()) {
            return Err(refuse("dead", dead.describe()));
        }
        Ok(LiveLink {
            row,
            user,
            return_to: None,
            by_code: true,
        })
    }
}
