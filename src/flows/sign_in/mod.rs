//! Sign-in: another service asks whether a password is right for one of its
//! users (`POST /internal/v1/password-checks`). One answer for every
//! failure (wrong password, unknown, disabled, no password yet), with the
//! same work for each: an unknown account costs one verification at the
//! configured cost too. Throttled per account and client network, per
//! account, and per client IP, before any hash is computed; a success from
//! a network clears that network's count; a stored hash below `BCRYPT_COST`
//! is replaced in the same request. Entry point: `api.rs`.

pub(crate) mod api;

use std::net::IpAddr;
use std::sync::Arc;

use chrono::NaiveDateTime;

use crate::clock::Clock;
use crate::domain::{EmailAddress, UserId};
use crate::flow_error::FlowError;
use crate::hasher::{HashError, PasswordHasher};
use crate::limits::{LimitError, Limiter};
use crate::metrics::Metrics;
use crate::storage::Repo;
use crate::storage::users::User;

/// Whose password is checked.
#[derive(Debug)]
pub enum Account {
    Email(EmailAddress),
    Id(UserId),
}

impl Account {
    /// What the sign-in counters count, whether or not an account has it.
    fn subject(&self) -> String {
        match self {
            Self::Email(email) => format!("email:{email}"),
            Self::Id(id) => format!("id:{id}"),
        }
    }
}

/// A password that matched.
#[derive(Debug)]
pub struct Matched {
    pub user_id: UserId,
    pub password_changed_at: Option<NaiveDateTime>,
}

/// The sign-in flow, with what it needs.
#[derive(Clone)]
pub struct SignIn {
    repo: Repo,
    hasher: PasswordHasher,
    limiter: Limiter,
    metrics: Arc<Metrics>,
    clock: Clock,
    /// A bcrypt hash at the configured cost that no password is checked
    /// against for real: the work an unknown account costs.
    dummy_hash: Arc<str>,
}

impl SignIn {
    pub fn new(
        repo: Repo,
        hasher: PasswordHasher,
        limiter: Limiter,
        metrics: Arc<Metrics>,
        clock: Clock,
        dummy_hash: String,
    ) -> Self {
        Self {
            repo,
            hasher,
            limiter,
            metrics,
            clock,
            dummy_hash: dummy_hash.into(),
        }
    }

    /// Checks `password` for `account`, as seen from `ip`.
    pub async fn check(
        &self,
        account: &Account,
        password: &str,
        ip: Option<IpAddr>,
    ) -> Result<Matched, FlowError> {
        let subject = account.subject();
        if let Err(e) = self.limiter.check_sign_in(&subject, ip).await {
            if matches!(e, LimitError::Limited { .. }) {
                self.metrics.password_check("limited");
            }
            return Err(e.into());
        }
        let user = match account {
            Account::Email(email) => self.repo.find_user_by_email(email).await?,
            Account::Id(id) => self.repo.find_user_by_id(id).await?,
        };
        let live = user.filter(|user| !user.disabled).and_then(|user| {
            let hash = user.password_hash.clone()?;
            Some((user, hash))
        });
        let Some((user, hash)) = live else {
            // The same work as a real check, and the same answer.
            self.verify(password, &self.dummy_hash).await?;
            return self.refuse(&subject, ip, "unknown").await;
        };
        if !self.verify(password, &hash).await? {
            return self.refuse(&subject, ip, "mismatch").await;
        }
        self.limiter.clear_sign_in_network(&subject, ip).await?;
        self.upgrade(&user, &hash, password).await?;
        self.metrics.password_check("match");
        log::info!("password check: user {} signed in", user.id);
        Ok(Matched {
            user_id: user.id,
            password_changed_at: user.password_changed_at,
        })
    }

    /// A verification; a stored hash bcrypt cannot read matches nothing
    /// (logged: the account needs a new password or a new import).
    async fn verify(&self, password: &str, hash: &str) -> Result<bool, FlowError> {
        match self.hasher.verify(password, hash).await {
            Ok(matched) => Ok(matched),
            Err(HashError::Failed(e)) => {
                log::warn!("password check: a stored hash cannot be read ({e}); no match");
                Ok(false)
            }
            Err(other) => Err(other.into()),
        }
    }

    async fn refuse(
        &self,
        subject: &str,
        ip: Option<IpAddr>,
        outcome: &'static str,
    ) -> Result<Matched, FlowError> {
        self.limiter.record_sign_in_failure(subject, ip).await?;
        self.metrics.password_check(outcome);
        Err(FlowError::InvalidCredentials)
    }

    /// Replaces a hash below the configured cost by one at it.
    async fn upgrade(&self, user: &User, hash: &str, password: &str) -> Result<(), FlowError> {
        if bcrypt_cost(hash).is_none_or(|cost| cost >= self.hasher.cost()) {
            return Ok(());
        }
        let new = self.hasher.rehash(password).await?;
        let now = self.clock.now_naive();
        if self
            .repo
            .upgrade_password_hash(&user.id, hash, &new, now)
            .await?
        {
            log::info!(
                "password check: user {}'s hash raised to cost {}",
                user.id,
                self.hasher.cost()
            );
        }
        Ok(())
    }
}

/// The cost of a bcrypt hash (`$2b$12$...`), if it is one.
fn bcrypt_cost(hash: &str) -> Option<u32> {
    let mut parts = hash.split('$');
    match (parts.next(), parts.next(), parts.next()) {
        (Some(""), Some("2a" | "2b" | "2y" | "2x"), Some(cost)) => cost.parse().ok(),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::bcrypt_cost;

    #[test]
    fn the_cost_is_read_from_bcrypt_hashes_only() {
        assert_eq!(bcrypt_cost(&bcrypt::hash("x", 4).unwrap()), Some(4));
        assert_eq!(bcrypt_cost("$2y$11$abc"), Some(11));
        assert_eq!(bcrypt_cost("pbkdf2_sha256$1000$salt$hash"), None);
        assert_eq!(bcrypt_cost("$argon2id$v=19$m=65536"), None);
    }
}
