//! A new password's way in: the policy (with the account's email and the
//! product's name as words a guessable password is built from), then the
//! breached-password check when configured, then bcrypt off the async
//! workers. Every way of setting a password goes through it: a reset, the
//! operator's `set-password`, a user provisioned with a password.

use std::sync::Arc;

use crate::breach::{BreachCheck, BreachVerdict};
use crate::domain::{EmailAddress, NewPassword, PasswordPolicy, PasswordProblem};
use crate::flow_error::FlowError;
use crate::hasher::PasswordHasher;
use crate::metrics::Metrics;

#[derive(Clone)]
pub struct Vetting {
    policy: PasswordPolicy,
    /// The breached-password check, when `PWNED_PASSWORDS_URL` is set.
    breach: Option<BreachCheck>,
    hasher: PasswordHasher,
    app_name: String,
    metrics: Arc<Metrics>,
}

impl Vetting {
    pub fn new(
        policy: PasswordPolicy,
        breach: Option<BreachCheck>,
        hasher: PasswordHasher,
        app_name: String,
        metrics: Arc<Metrics>,
    ) -> Self {
        Self {
            policy,
            breach,
            hasher,
            app_name,
            metrics,
        }
    }

    /// The policy, with the account's email and the product's name as words
    /// a guessable password would be built from.
    fn check_policy(&self, raw: &str, email: &str) -> Result<NewPassword, FlowError> {
        let mut user_inputs = vec![self.app_name.as_str()];
        let email = EmailAddress::parse(email).ok();
        if let Some(email) = &email {
            user_inputs.extend(email.guessable_parts());
        }
        self.policy
            .check(raw, &user_inputs)
            .map_err(FlowError::WeakPassword)
    }

    /// The policy, then (when configured) the breached-password check. An
    /// unreachable breach API lets the password through: logged and counted.
    pub async fn vet(&self, raw: &str, email: &str) -> Result<NewPassword, FlowError> {
        let password = self.check_policy(raw, email)?;
        let Some(breach) = &self.breach else {
            return Ok(password);
        };
        match breach.check(&password).await {
            Ok(BreachVerdict::Clean) => {
                self.metrics.breach_check("clean");
                Ok(password)
            }
            Ok(BreachVerdict::Breached(_)) => {
                self.metrics.breach_check("breached");
                Err(FlowError::WeakPassword(vec![PasswordProblem::Breached]))
            }
            Err(e) => {
                self.metrics.breach_check("failed_open");
                log::warn!("breached-password check skipped (failing open): {e}");
                Ok(password)
            }
        }
    }

    pub async fn hash(&self, password: &NewPassword) -> Result<String, FlowError> {
        Ok(self.hasher.hash(password).await?)
    }
}
