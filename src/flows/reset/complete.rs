//! Setting a new password: through a link (the person who asked), or as an
//! operator. Both kill every outstanding link and announce the change.

use std::net::IpAddr;

use super::{LiveLink, Proof, Reset};
use crate::announce;
use crate::domain::{EmailAddress, EntryProblem, PasswordProblem, UserId};
use crate::flow_error::FlowError;
use crate::i18n::Locale;
use crate::messages::WebhookEvent;
use crate::storage::tokens::ConsumeOutcome;
use crate::storage::users::User;

/// A reset done: whose, and where the person goes next (the link's
/// `return_to`, if it had one).
#[derive(Debug)]
pub struct Completed {
    pub user_id: UserId,
    pub return_to: Option<String>,
}

impl Reset {
    /// The final step of a reset. The password is checked before the token
    /// is touched, so a refused password leaves the link usable; then one
    /// transaction consumes the token, stores the hash, kills the user's
    /// other links and queues the notice and the event.
    pub async fn complete_reset(
        &self,
        proof: Proof<'_>,
        new_password: &str,
        confirm_password: &str,
        ip: Option<IpAddr>,
        locale: Option<&Locale>,
    ) -> Result<Completed, FlowError> {
        // Only a usable link hears what is wrong with the fields.
        let LiveLink {
            row,
            user,
            return_to,
            by_code,
        } = self.check(proof, ip).await?;
        let done = Completed {
            user_id: user.id.clone(),
            return_to,
        };
        let problems = EntryProblem::of(new_password, confirm_password);
        if !problems.is_empty() {
            return Err(FlowError::Entry(problems));
        }
        let password = self.vetting.vet(new_password, &user.email).await?;
        let hash = self.vetting.hash(&password).await?;

        let now = self.clock.now();
        let mut messages = vec![announce::password_changed(&user, locale)];
        messages.extend(announce::event(
            &self.settings.webhooks,
            WebhookEvent::ResetCompleted,
            &user,
            now,
        ));
        if let Some(handoff) = &self.handoff {
            self.hand_off_reset(handoff, &row.id, &user.id, &hash, now, &messages)
                .await?;
            self.wake_worker();
            self.count_reset(by_code);
            return Ok(done);
        }
        let outcome = self
            .repo
            .consume_token_and_set_password(&row.id, &user.id, &hash, now.naive_utc(), &messages)
            .await?;
        match outcome {
            ConsumeOutcome::PasswordChanged => {
                log::info!("password reset for user {} with token {}", user.id, row.id);
                self.wake_worker();
                self.count_reset(by_code);
                Ok(done)
            }
            other => {
                log::info!("reset token {} refused at consume: {other:?}", row.id);
                Err(FlowError::InvalidLink)
            }
        }
    }

    fn count_reset(&self, by_code: bool) {
        self.metrics.password_reset();
        if by_code {
            self.metrics.reset_code("used");
        }
    }

    /// What the policy says of a candidate password for a usable link (the
    /// hosted page's live feedback): the problems, none when it would pass.
    pub async fn password_problems(
        &self,
        jwt: &str,
        candidate: &str,
        ip: Option<IpAddr>,
    ) -> Result<Vec<PasswordProblem>, FlowError> {
        let LiveLink { user, .. } = self.check_link(jwt, ip).await?;
        match self.vetting.vet(candidate, &user.email).await {
            Ok(_) => Ok(Vec::new()),
            Err(FlowError::WeakPassword(problems)) => Ok(problems),
            Err(e) => Err(e),
        }
    }

    /// An operator sets a user's password (`pwreset user set-password`): the
    /// same policy, and the same notice; every outstanding link dies. In
    /// handoff mode the application must take it first.
    pub async fn set_password(
        &self,
        email: &EmailAddress,
        new_password: &str,
    ) -> Result<User, FlowError> {
        let user = self
            .repo
            .find_user_by_email(email)
            .await?
            .ok_or(FlowError::UserNotFound)?;
        let password = self.vetting.vet(new_password, &user.email).await?;
        let hash = self.vetting.hash(&password).await?;
        let notice = announce::password_changed(&user, None);
        if let Some(handoff) = &self.handoff {
            self.hand_off_operator_change(handoff, &user.id, &hash, &[notice])
                .await?;
            self.wake_worker();
            return Ok(user);
        }
        if !self
            .repo
            .set_password_hash(&user.id, &hash, self.clock.now_naive(), &[notice])
            .await?
        {
            return Err(FlowError::UserNotFound);
        }
        self.wake_worker();
        Ok(user)
    }
}
