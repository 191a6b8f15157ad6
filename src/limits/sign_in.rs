//! The sign-in counters. A password check holds one hit on each of them
//! before any hash is computed, in the same upsert that reads the count, so
//! checks running at once cannot all pass a check made before any of them
//! counted: an account's tenth wrong password is the last one tried, however
//! many arrive together. A refused check, and a right password, give their
//! hits back; a wrong password keeps them.

use std::net::IpAddr;

use chrono::NaiveDateTime;

use super::{LimitError, LimitedAction, Limiter, WINDOW};

/// The hits one password check holds on the sign-in counters (none when
/// limits are off). Settled by `Limiter::sign_in_failed`,
/// `sign_in_matched` or `sign_in_undone`; dropped unsettled (the check
/// cancelled), its hits stay counted, on the side that refuses sooner.
#[must_use]
pub struct SignInAttempt {
    held: Vec<Held>,
}

struct Held {
    action: LimitedAction,
    key: String,
    window_start: NaiveDateTime,
}

impl Limiter {
    /// Counts a password check on every sign-in counter, or refuses it (its
    /// hits given back) when one of them is past its allowance; the wait is
    /// until that counter's window ends.
    pub async fn reserve_sign_in(
        &self,
        subject: &str,
        ip: Option<IpAddr>,
    ) -> Result<SignInAttempt, LimitError> {
        let mut attempt = SignInAttempt { held: Vec::new() };
        if !self.settings.enabled {
            return Ok(attempt);
        }
        let now = self.clock.now_naive();
        for action in LimitedAction::SIGN_IN {
            let Some(key) = action.counter_key(ip, Some(subject)) else {
                continue;
            };
            let counter = match self.hit(&key, now).await {
                Ok(counter) => counter,
                Err(e) => {
                    self.give_back(&attempt.held).await;
                    return Err(e.into());
                }
            };
            attempt.held.push(Held {
                action,
                key,
                window_start: counter.window_start,
            });
            if !counter.is_within(action.allowance(&self.settings)) {
                self.give_back(&attempt.held).await;
                let ends = counter.window_start + WINDOW;
                return Err(self.limited(action, ip, ends - now));
            }
        }
        Ok(attempt)
    }

    /// A wrong password (or an unknown account): its hits stay counted.
    pub fn sign_in_failed(&self, attempt: SignInAttempt) {
        drop(attempt);
    }

    /// A right password: the network's count for the account is cleared,
    /// and the hits on the overall and per-IP counts are given back.
    pub async fn sign_in_matched(&self, attempt: SignInAttempt) -> Result<(), LimitError> {
        for held in &attempt.held {
            if held.action == LimitedAction::SignInFailures {
                self.repo.forget_rate_limit(&held.key).await?;
            } else {
                self.repo
                    .unhit_rate_limit(&held.key, held.window_start)
                    .await?;
            }
        }
        Ok(())
    }

    /// A check that could not be made (an outage, the hasher's refusal):
    /// it was no guess, so its hits are given back where they can be.
    pub async fn sign_in_undone(&self, attempt: SignInAttempt) {
        self.give_back(&attempt.held).await;
    }

    async fn give_back(&self, held: &[Held]) {
        for held in held {
            if let Err(e) = self
                .repo
                .unhit_rate_limit(&held.key, held.window_start)
                .await
            {
                // Left counted: the limit refuses sooner, never later.
                log::warn!("rate limit: a sign-in hit stays counted: {e}");
            }
        }
    }
}
