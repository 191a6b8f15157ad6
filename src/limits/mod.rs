//! Abuse limits. Counters live in the database (one upsert per hit), so
//! several replicas enforce one limit. Every limit is per hour.
//!
//! - forgot-password: per client IP, and per normalized email address
//!   whether or not an account has it, so a 429 says nothing about existence
//!   (judged with the request's write, in `flows::forgot`);
//! - validate and reset: invalid tokens per client IP; past the allowance,
//!   each further try must wait 1 s, 2 s, 4 s, ... after the last failure;
//! - reset emails actually sent per account: enforced by the worker, silently;
//! - password checks: wrong passwords per account and client network, per
//!   account overall, and per client IP; judged before any hash is computed
//!   (`flows::sign_in`).
//!
//! Each limit is one `LimitedAction`: its variable (name and default), its
//! allowance, its counter's key and its metric label live there.

use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use aws_lc_rs::digest;
use chrono::{NaiveDateTime, TimeDelta};

use crate::clock::Clock;
use crate::config::RateLimitSettings;
use crate::config::vars::{self, Var};
use crate::domain::{AccountEmailLimit, owner_network};
use crate::metrics::Metrics;
use crate::storage::rate_limits::Counter;
use crate::storage::{Repo, StorageError};

mod sign_in;

pub const WINDOW: TimeDelta = TimeDelta::hours(1);

/// Every limit the service enforces; all count per hour.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum LimitedAction {
    /// forgot-password requests per client address (IPv4, IPv6 /64).
    ForgotPerIp,
    /// forgot-password requests per normalized address and client network
    /// (IPv4 /24, IPv6 /48), whether or not an account has the address.
    ForgotPerEmail,
    /// Invalid tokens per client address before the backoff starts.
    TokenFailures,
    /// Reset emails per account and client network (the worker, silently).
    EmailsPerAccount,
    /// Reset emails per account, all networks together.
    EmailsPerAccountMax,
    /// Wrong passwords per account (normalized email, or id) and client
    /// network, whether or not an account exists.
    SignInFailures,
    /// Wrong passwords per account, all networks together.
    SignInFailuresMax,
    /// Wrong passwords per client address, across accounts (spraying).
    SignInFailuresPerIp,
}

impl LimitedAction {
    pub const ALL: [Self; 8] = [
        Self::ForgotPerIp,
        Self::ForgotPerEmail,
        Self::TokenFailures,
        Self::EmailsPerAccount,
        Self::EmailsPerAccountMax,
        Self::SignInFailures,
        Self::SignInFailuresMax,
        Self::SignInFailuresPerIp,
    ];

    /// The limits a password check is judged by.
    pub const SIGN_IN: [Self; 3] = [
        Self::SignInFailures,
        Self::SignInFailuresMax,
        Self::SignInFailuresPerIp,
    ];

    /// The variable that sets the allowance (and says its default).
    pub fn var(self) -> &'static Var {
        match self {
            Self::ForgotPerIp => &vars::RATE_LIMIT_FORGOT_PER_IP,
            Self::ForgotPerEmail => &vars::RATE_LIMIT_FORGOT_PER_EMAIL,
            Self::TokenFailures => &vars::RATE_LIMIT_TOKEN_FAILURES_PER_IP,
            Self::EmailsPerAccount => &vars::RATE_LIMIT_EMAILS_PER_ACCOUNT,
            Self::EmailsPerAccountMax => &vars::RATE_LIMIT_EMAILS_PER_ACCOUNT_MAX,
            Self::SignInFailures => &vars::RATE_LIMIT_SIGNIN_FAILURES,
            Self::SignInFailuresMax => &vars::RATE_LIMIT_SIGNIN_FAILURES_MAX,
            Self::SignInFailuresPerIp => &vars::RATE_LIMIT_SIGNIN_FAILURES_PER_IP,
        }
    }

    /// How many an hour the settings allow.
    pub fn allowance(self, settings: &RateLimitSettings) -> u32 {
        match self {
            Self::ForgotPerIp => settings.forgot_per_ip,
            Self::ForgotPerEmail => settings.forgot_per_email,
            Self::TokenFailures => settings.token_failures_per_ip,
            Self::EmailsPerAccount => settings.emails_per_account,
            Self::EmailsPerAccountMax => settings.emails_per_account_max,
            Self::SignInFailures => settings.signin_failures,
            Self::SignInFailuresMax => settings.signin_failures_max,
            Self::SignInFailuresPerIp => settings.signin_failures_per_ip,
        }
    }

    /// The `limit` label of `pwreset_rate_limited_total`, for the limits a
    /// client is refused by; None for the worker's silent ones.
    pub fn metric_label(self) -> Option<&'static str> {
        match self {
            Self::ForgotPerIp => Some("forgot_per_ip"),
            Self::ForgotPerEmail => Some("forgot_per_email"),
            Self::TokenFailures => Some("token_failures"),
            Self::EmailsPerAccount | Self::EmailsPerAccountMax => None,
            Self::SignInFailures => Some("signin_failures"),
            Self::SignInFailuresMax => Some("signin_failures_max"),
            Self::SignInFailuresPerIp => Some("signin_failures_per_ip"),
        }
    }

    /// The key of the counter a request from `ip` (about `subject`: a
    /// normalized email, or for sign-in `email:...`/`id:...`) counts on. None
    /// for the per-account email limits, which are counted from the
    /// account's token rows, and when what the key needs is unknown.
    /// Subjects are hashed: the limit table is no list of emails.
    pub fn counter_key(self, ip: Option<IpAddr>, subject: Option<&str>) -> Option<String> {
        match self {
            Self::ForgotPerIp => ip.map(|ip| format!("forgot:ip:{}", ip_limit_key(ip))),
            Self::ForgotPerEmail => subject.map(|email| {
                format!(
                    "forgot:email:{}:{}",
                    sha256_hex(email),
                    ip.map(owner_network).unwrap_or_default()
                )
            }),
            Self::SignInFailures => subject.map(|subject| {
                format!(
                    "signin:account:{}:{}",
                    sha256_hex(subject),
                    ip.map(owner_network).unwrap_or_default()
                )
            }),
            Self::SignInFailuresMax => {
                subject.map(|subject| format!("signin:account:{}", sha256_hex(subject)))
            }
            Self::SignInFailuresPerIp => ip.map(|ip| format!("signin:ip:{}", ip_limit_key(ip))),
            Self::TokenFailures => ip.map(|ip| format!("token-failures:ip:{}", ip_limit_key(ip))),
            Self::EmailsPerAccount | Self::EmailsPerAccountMax => None,
        }
    }
}

/// The longest a backoff can grow.
const MAX_BACKOFF_SECS: u32 = 3600;

#[derive(Debug, thiserror::Error)]
pub enum LimitError {
    /// Over a limit: come back after `retry_after`.
    #[error("rate limited for {retry_after:?}")]
    Limited { retry_after: Duration },
    #[error(transparent)]
    Storage(#[from] StorageError),
}

#[derive(Clone)]
pub struct Limiter {
    repo: Repo,
    settings: RateLimitSettings,
    clock: Clock,
    metrics: Arc<Metrics>,
}

impl Limiter {
    pub fn new(
        repo: Repo,
        settings: RateLimitSettings,
        clock: Clock,
        metrics: Arc<Metrics>,
    ) -> Self {
        // Every refusal's series exists from the start, at 0.
        for label in LimitedAction::ALL.iter().filter_map(|a| a.metric_label()) {
            metrics.touch_rate_limited(label);
        }
        Self {
            repo,
            settings,
            clock,
            metrics,
        }
    }

    /// Whether limits are on (`RATE_LIMIT_ENABLED`).
    pub fn enabled(&self) -> bool {
        self.settings.enabled
    }

    /// How many an hour the settings allow for `action`.
    pub fn allowance(&self, action: LimitedAction) -> u32 {
        action.allowance(&self.settings)
    }

    /// Refuses a token check from an IP still inside its backoff.
    pub async fn check_token_attempt(&self, ip: Option<IpAddr>) -> Result<(), LimitError> {
        let (true, Some(ip)) = (self.settings.enabled, ip) else {
            return Ok(());
        };
        let now = self.clock.now_naive();
        let action = LimitedAction::TokenFailures;
        let Some(key) = action.counter_key(Some(ip), None) else {
            return Ok(());
        };
        let Some(counter) = self.repo.read_rate_limit(&key).await? else {
            return Ok(());
        };
        let allowance = action.allowance(&self.settings) as i32;
        if counter.window_start + WINDOW <= now || counter.count < allowance {
            return Ok(());
        }
        let exponent = (counter.count - allowance).clamp(0, 12) as u32;
        let backoff = TimeDelta::seconds(i64::from((1u32 << exponent).min(MAX_BACKOFF_SECS)));
        let free_at = counter.last_at + backoff;
        if now < free_at {
            return Err(self.limited(action, Some(ip), free_at - now));
        }
        Ok(())
    }

    pub async fn record_token_failure(&self, ip: Option<IpAddr>) -> Result<(), LimitError> {
        let (true, Some(ip)) = (self.settings.enabled, ip) else {
            return Ok(());
        };
        if let Some(key) = LimitedAction::TokenFailures.counter_key(Some(ip), None) {
            self.hit(&key, self.clock.now_naive()).await?;
        }
        Ok(())
    }

    /// The per-account limit on reset emails, for the worker to enforce
    /// inside its transaction; None when limits are off.
    pub fn account_email_limit(&self) -> Option<AccountEmailLimit> {
        self.settings.enabled.then(|| AccountEmailLimit {
            since: self.clock.now_naive() - WINDOW,
            per_network: LimitedAction::EmailsPerAccount.allowance(&self.settings) as usize,
            overall: LimitedAction::EmailsPerAccountMax.allowance(&self.settings) as usize,
        })
    }

    async fn hit(&self, key: &str, now: NaiveDateTime) -> Result<Counter, StorageError> {
        self.repo.hit_rate_limit(key, now, now - WINDOW).await
    }
}

/// What a per-IP limit counts: an IPv4 address, or an IPv6 /64 (one
/// subscriber's allocation, so minting fresh addresses gains nothing).
fn ip_limit_key(ip: IpAddr) -> String {
    match ip {
        IpAddr::V4(v4) => v4.to_string(),
        IpAddr::V6(v6) => {
            let prefix = u128::from(v6) & (u128::MAX << 64);
            format!("{}/64", std::net::Ipv6Addr::from(prefix))
        }
    }
}

impl Limiter {
    /// A refusal: logged, counted by its limit's label.
    pub fn limited(
        &self,
        action: LimitedAction,
        ip: Option<IpAddr>,
        wait: TimeDelta,
    ) -> LimitError {
        // Only the limits that refuse a client come here; the worker's
        // per-account limits settle their rows silently.
        let limit = action.metric_label().unwrap_or("per_account");
        // Rounded up: a client that waits this long is let through.
        let secs = (wait.num_milliseconds().max(1) as u64).div_ceil(1000);
        // The log names the variable an operator would raise.
        log::warn!(
            "rate limit: {limit} from {} refused for {secs} s ({}={})",
            ip.map_or_else(|| "unknown address".to_owned(), |ip| ip.to_string()),
            action.var().name,
            action.allowance(&self.settings)
        );
        self.metrics.rate_limited(limit);
        LimitError::Limited {
            retry_after: Duration::from_secs(secs),
        }
    }
}

fn sha256_hex(text: &str) -> String {
    digest::digest(&digest::SHA256, text.as_bytes())
        .as_ref()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::{LimitedAction, ip_limit_key};
    use crate::config::vars;

    #[test]
    fn ipv6_clients_count_per_64_and_ipv4_per_address() {
        let a = ip_limit_key("2001:db8:1:2:aaaa::1".parse().unwrap());
        let b = ip_limit_key("2001:db8:1:2:ffff:ffff:ffff:ffff".parse().unwrap());
        let other = ip_limit_key("2001:db8:1:3::1".parse().unwrap());
        assert_eq!(a, b);
        assert_eq!(a, "2001:db8:1:2::/64");
        assert_ne!(a, other);
        assert_eq!(ip_limit_key("203.0.113.7".parse().unwrap()), "203.0.113.7");
    }

    #[test]
    fn every_limit_variable_belongs_to_one_limit_and_is_declared() {
        let names: Vec<&str> = LimitedAction::ALL.iter().map(|a| a.var().name).collect();
        let mut distinct = names.clone();
        distinct.sort();
        distinct.dedup();
        assert_eq!(distinct.len(), names.len(), "{names:?}");
        for name in names {
            assert!(vars::ALL.iter().any(|v| v.name == name), "{name}");
        }
        let declared: Vec<&str> = vars::ALL
            .iter()
            .map(|v| v.name)
            .filter(|n| n.starts_with("RATE_LIMIT_") && *n != "RATE_LIMIT_ENABLED")
            .collect();
        assert_eq!(declared.len(), LimitedAction::ALL.len(), "{declared:?}");
    }
}
