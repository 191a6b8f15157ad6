//! What every send passes through, emails and webhooks alike: at most
//! `MAIL_CONCURRENCY` in flight in the process, no faster than
//! `MAIL_MAX_PER_SECOND` when set (evenly spaced, no bursts: a provider's
//! send rate is a rate), each one timed for
//! `pwreset_outbox_send_duration_seconds` and counted in
//! `pwreset_outbox_in_flight` while it runs. The rate limiter is
//! `governor`'s (GCRA), the slots a tokio semaphore.

use std::future::Future;
use std::num::NonZeroU32;
use std::sync::Arc;
use std::time::{Duration, Instant};

use governor::{DefaultDirectRateLimiter, Quota, RateLimiter};
use tokio::sync::{Semaphore, SemaphorePermit, watch};

use crate::messages::OutboxKind;
use crate::metrics::Metrics;

#[derive(Clone)]
pub struct SendGate {
    slots: Arc<Semaphore>,
    rate: Option<Arc<DefaultDirectRateLimiter>>,
    metrics: Arc<Metrics>,
}

impl SendGate {
    pub fn new(concurrency: usize, per_second: Option<u32>, metrics: Arc<Metrics>) -> Self {
        let rate = per_second.and_then(NonZeroU32::new).map(|n| {
            Arc::new(RateLimiter::direct(
                Quota::per_second(n).allow_burst(NonZeroU32::MIN),
            ))
        });
        Self {
            slots: Arc::new(Semaphore::new(concurrency.max(1))),
            rate,
            metrics,
        }
    }

    /// The longest a send may wait for its turn at the rate, with every
    /// slot's send ahead of it: what a row's lease must cover besides the
    /// send itself.
    pub fn longest_wait(concurrency: usize, per_second: Option<u32>) -> Duration {
        match per_second.filter(|n| *n > 0) {
            Some(n) => Duration::from_secs_f64(concurrency as f64 / f64::from(n)),
            None => Duration::ZERO,
        }
    }

    /// Waits for this send's turn: a free slot, then the rate. None when
    /// `stop` turns true first: the send has not started and its row can
    /// go back to the queue untouched.
    pub async fn turn(&self, stop: Option<watch::Receiver<bool>>) -> Option<Turn<'_>> {
        let admitted = async {
            // The semaphore is never closed, so a permit always comes.
            let slot = self.slots.acquire().await.ok();
            if let Some(rate) = &self.rate {
                rate.until_ready().await;
            }
            Turn {
                _slot: slot,
                metrics: &self.metrics,
            }
        };
        let Some(mut stop) = stop else {
            return Some(admitted.await);
        };
        let stopped = async move {
            // A stop that can no longer come never ends the wait.
            if stop.wait_for(|stopping| *stopping).await.is_err() {
                std::future::pending::<()>().await;
            }
        };
        tokio::select! {
            biased;
            () = stopped => None,
            turn = admitted => Some(turn),
        }
    }
}

/// A send's place at the gate, held while it runs.
pub struct Turn<'a> {
    _slot: Option<SemaphorePermit<'a>>,
    metrics: &'a Metrics,
}

impl Turn<'_> {
    /// Runs `send` in this turn, timed and counted in flight. The turn (its
    /// slot) stays the caller's until dropped: a job keeps it until the send
    /// is recorded, so no row waiting behind it can find its lease gone and
    /// let a new claim take a row whose send is done but not yet recorded.
    pub async fn send<T>(&self, kind: OutboxKind, send: impl Future<Output = T>) -> T {
        let _counted = InFlight::new(&self.metrics.sends_in_flight);
        let started = Instant::now();
        let answer = send.await;
        self.metrics
            .observe_send(kind, started.elapsed().as_secs_f64());
        answer
    }
}

/// Counts one send in flight until dropped (a cancelled send included).
struct InFlight<'a>(&'a prometheus::IntGauge);

impl<'a> InFlight<'a> {
    fn new(gauge: &'a prometheus::IntGauge) -> Self {
        gauge.inc();
        Self(gauge)
    }
}

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        self.0.dec();
    }
}
