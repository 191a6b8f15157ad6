//! Sign-in: another service asks whether a password is right for one of its
//! users (`POST /internal/v1/password-checks`). One answer for every
//! failure (wrong password, unknown, disabled, no password yet), with the
//! same work for each: an unknown account costs one verification at the
//! configured cost too. Throttled per account and client network, per
//! account, and per client IP: each check counts on those counters before
//! any hash is computed (so checks made at once cannot overrun them), a
//! wrong password keeps its count, a refused or right one gives it back; a
//! success from a network clears that network's count; a stored hash that
//! is not bcrypt at `BCRYPT_COST` (an imported one, or one from a lower
//! cost) is replaced in the same request. Entry point: `api.rs`.

pub(crate) mod api;

use std::net::IpAddr;
use std::sync::Arc;

use chrono::NaiveDateTime;

use crate::clock::Clock;
use crate::domain::{EmailAddress, UserId};
use crate::flow_error::FlowError;
use crate::hasher::PasswordHasher;
use crate::hasher::formats::StoredHash;
use crate::limits::{LimitError, Limiter};
use crate::metrics::Metrics;
use crate::storage::Repo;
use crate::storage::users::User;

/// What a check found: the account and its stored hash, or the outcome
/// counted for a refusal.
enum Verdict {
    Match(Box<(User, String, StoredHash)>),
    NoMatch(&'static str),
}

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
    dummy_hash: StoredHash,
}

impl SignIn {
    pub fn new(
        repo: Repo,
        hasher: PasswordHasher,
        limiter: Limiter,
        metrics: Arc<Metrics>,
        clock: Clock,
        dummy_hash: StoredHash,
    ) -> Self {
        Self {
            repo,
            hasher,
            limiter,
            metrics,
            clock,
            dummy_hash,
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
        let attempt = match self.limiter.reserve_sign_in(&subject, ip).await {
            Ok(attempt) => attempt,
            Err(e) => {
                if matches!(e, LimitError::Limited { .. }) {
                    self.metrics.password_check("limited");
                }
                return Err(e.into());
            }
        };
        let (user, hash, parsed) = match self.verify(account, password).await {
            Ok(Verdict::Match(found)) => *found,
            Ok(Verdict::NoMatch(outcome)) => {
                self.limiter.sign_in_failed(attempt);
                self.metrics.password_check(outcome);
                return Err(FlowError::InvalidCredentials);
            }
            Err(e) => {
                self.limiter.sign_in_undone(attempt).await;
                return Err(e);
            }
        };
        self.limiter.sign_in_matched(attempt).await?;
        self.upgrade(&user, &hash, &parsed, password).await?;
        self.metrics.password_check("match");
        log::info!("password check: user {} signed in", user.id);
        Ok(Matched {
            user_id: user.id,
            password_changed_at: user.password_changed_at,
        })
    }

    /// Whether `password` is the account's, with the same work whatever
    /// the answer.
    async fn verify(&self, account: &Account, password: &str) -> Result<Verdict, FlowError> {
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
            self.hasher
                .verify(password, self.dummy_hash.clone())
                .await?;
            return Ok(Verdict::NoMatch("unknown"));
        };
        let parsed = match StoredHash::parse(&hash) {
            Ok(parsed) => parsed,
            Err(why) => {
                // Written before the formats were checked, or by hand: it
                // matches nothing (the account needs a new password).
                log::warn!(
                    "password check: user {}'s stored hash is {why}; no match",
                    user.id
                );
                self.hasher
                    .verify(password, self.dummy_hash.clone())
                    .await?;
                return Ok(Verdict::NoMatch("mismatch"));
            }
        };
        if !self.hasher.verify(password, parsed.clone()).await? {
            return Ok(Verdict::NoMatch("mismatch"));
        }
        Ok(Verdict::Match(Box::new((user, hash, parsed))))
    }

    /// Replaces a hash that is not bcrypt at the configured cost by one
    /// that is. `hash` is the stored text: the update happens only if it is
    /// still the one that matched.
    async fn upgrade(
        &self,
        user: &User,
        hash: &str,
        parsed: &StoredHash,
        password: &str,
    ) -> Result<(), FlowError> {
        if parsed.is_current(self.hasher.cost()) {
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
                "password check: user {}'s {} hash replaced by bcrypt at cost {}",
                user.id,
                parsed.format(),
                self.hasher.cost()
            );
        }
        Ok(())
    }
}
