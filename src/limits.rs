//! Abuse limits. Counters live in the database (one upsert per hit), so
//! several replicas enforce one limit. Every limit is per hour.
//!
//! - forgot-password: per client IP, and per normalized email address
//!   whether or not an account has it, so a 429 says nothing about existence;
//! - validate and reset: invalid tokens per client IP; past the allowance,
//!   each further try must wait 1 s, 2 s, 4 s, ... after the last failure;
//! - reset emails actually sent per account: enforced by the worker, silently.

use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use aws_lc_rs::digest;
use chrono::{NaiveDateTime, TimeDelta};

use crate::clock::Clock;
use crate::config::RateLimitSettings;
use crate::domain::{AccountEmailLimit, EmailAddress, network_of};
use crate::metrics::Metrics;
use crate::storage::group_commit::{Hit, Written};
use crate::storage::rate_limits::Counter;
use crate::storage::{Repo, StorageError};

pub const WINDOW: TimeDelta = TimeDelta::hours(1);
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
        Self {
            repo,
            settings,
            clock,
            metrics,
        }
    }

    /// The counters a forgot-password request counts against (none when
    /// limits are off): its address and its IP. The storage counts both, even
    /// when one is over, so neither can be probed, and writes the request
    /// only if both are within their limits.
    pub fn forgot_password_hits(&self, ip: Option<IpAddr>, email: &EmailAddress) -> Vec<Hit> {
        if !self.settings.enabled {
            return Vec::new();
        }
        // Addresses are stored hashed: the limit table is no list of emails.
        // Per address *and* client network: requests from other networks
        // never use up the allowance of the owner's own.
        let by_email = Hit {
            key: format!(
                "forgot:email:{}:{}",
                sha256_hex(email.as_str()),
                ip.map(network_of).unwrap_or_default()
            ),
            limit: self.settings.forgot_per_email,
            name: "forgot_per_email",
        };
        let by_ip = ip.map(|ip| Hit {
            key: format!("forgot:ip:{}", network(ip)),
            limit: self.settings.forgot_per_ip,
            name: "forgot_per_ip",
        });
        std::iter::once(by_email).chain(by_ip).collect()
    }

    /// The answer to a written forgot-password request: refused, with the
    /// longest wait, if any of its counters went over.
    pub fn forgot_password_verdict(
        &self,
        ip: Option<IpAddr>,
        hits: &[Hit],
        written: &Written,
    ) -> Result<(), LimitError> {
        let now = self.clock.now_naive();
        let retry = hits
            .iter()
            .zip(&written.counters)
            .filter_map(|(hit, counter)| {
                over(*counter, hit.limit, now).map(|wait| (wait, hit.name))
            })
            .max();
        match retry {
            Some((wait, limit)) => Err(self.limited(limit, ip, wait)),
            None => Ok(()),
        }
    }

    /// Refuses a token check from an IP still inside its backoff.
    pub async fn check_token_attempt(&self, ip: Option<IpAddr>) -> Result<(), LimitError> {
        let (true, Some(ip)) = (self.settings.enabled, ip) else {
            return Ok(());
        };
        let now = self.clock.now_naive();
        let Some(counter) = self.repo.read_rate_limit(&failure_key(ip)).await? else {
            return Ok(());
        };
        let allowance = self.settings.token_failures_per_ip as i32;
        if counter.window_start + WINDOW <= now || counter.count < allowance {
            return Ok(());
        }
        let exponent = (counter.count - allowance).clamp(0, 12) as u32;
        let backoff = TimeDelta::seconds(i64::from((1u32 << exponent).min(MAX_BACKOFF_SECS)));
        let free_at = counter.last_at + backoff;
        if now < free_at {
            return Err(self.limited("token_failures", Some(ip), free_at - now));
        }
        Ok(())
    }

    pub async fn record_token_failure(&self, ip: Option<IpAddr>) -> Result<(), LimitError> {
        let (true, Some(ip)) = (self.settings.enabled, ip) else {
            return Ok(());
        };
        self.hit(&failure_key(ip), self.clock.now_naive()).await?;
        Ok(())
    }

    /// The per-account limit on reset emails, for the worker to enforce
    /// inside its transaction; None when limits are off.
    pub fn account_email_limit(&self) -> Option<AccountEmailLimit> {
        self.settings.enabled.then(|| AccountEmailLimit {
            since: self.clock.now_naive() - WINDOW,
            per_network: self.settings.emails_per_account as usize,
            overall: self.settings.emails_per_account_max as usize,
        })
    }

    async fn hit(&self, key: &str, now: NaiveDateTime) -> Result<Counter, StorageError> {
        self.repo.hit_rate_limit(key, now, now - WINDOW).await
    }
}

/// What a per-IP limit counts: an IPv4 address, or an IPv6 /64 (one
/// subscriber's allocation, so minting fresh addresses gains nothing).
fn network(ip: IpAddr) -> String {
    match ip {
        IpAddr::V4(v4) => v4.to_string(),
        IpAddr::V6(v6) => {
            let prefix = u128::from(v6) & (u128::MAX << 64);
            format!("{}/64", std::net::Ipv6Addr::from(prefix))
        }
    }
}

fn failure_key(ip: IpAddr) -> String {
    format!("token-failures:ip:{}", network(ip))
}

/// How long until the counter's window ends, if this hit went over `limit`.
fn over(counter: Counter, limit: u32, now: NaiveDateTime) -> Option<TimeDelta> {
    (counter.count > limit as i32).then(|| counter.window_start + WINDOW - now)
}

impl Limiter {
    /// A refusal: logged, counted by `limit` (one of `metrics::RATE_LIMITS`).
    fn limited(&self, limit: &'static str, ip: Option<IpAddr>, wait: TimeDelta) -> LimitError {
        // Rounded up: a client that waits this long is let through.
        let secs = (wait.num_milliseconds().max(1) as u64).div_ceil(1000);
        log::warn!(
            "rate limit: {limit} from {} refused for {secs} s",
            ip.map_or_else(|| "unknown address".to_owned(), |ip| ip.to_string())
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
    use super::network;

    #[test]
    fn ipv6_clients_count_per_64_and_ipv4_per_address() {
        let a = network("2001:db8:1:2:aaaa::1".parse().unwrap());
        let b = network("2001:db8:1:2:ffff:ffff:ffff:ffff".parse().unwrap());
        let other = network("2001:db8:1:3::1".parse().unwrap());
        assert_eq!(a, b);
        assert_eq!(a, "2001:db8:1:2::/64");
        assert_ne!(a, other);
        assert_eq!(network("203.0.113.7".parse().unwrap()), "203.0.113.7");
    }
}
