//! bcrypt hashing, off the async workers and bounded: at most `max_concurrent`
//! hashes run at once; a request waits at most `queue_timeout` for a slot and
//! is then told to come back later (503 + Retry-After) instead of piling up.
//! Verifications of every accepted format (`formats`) share the same slots.

pub mod formats;

use std::sync::Arc;
use std::time::Duration;

use prometheus::IntGauge;
use tokio::sync::Semaphore;

use self::formats::StoredHash;
use crate::domain::NewPassword;
use crate::metrics::Metrics;

#[derive(Debug, thiserror::Error)]
pub enum HashError {
    #[error("every bcrypt slot stayed busy for the whole queue wait")]
    Busy,
    #[error("bcrypt failed")]
    Failed(#[from] bcrypt::BcryptError),
    #[error("the bcrypt task died")]
    Died(#[from] tokio::task::JoinError),
}

#[derive(Clone)]
pub struct PasswordHasher {
    cost: u32,
    slots: Arc<Semaphore>,
    queue_timeout: Duration,
    metrics: Arc<Metrics>,
}

impl PasswordHasher {
    pub fn new(
        cost: u32,
        max_concurrent: usize,
        queue_timeout: Duration,
        metrics: Arc<Metrics>,
    ) -> Self {
        Self {
            cost,
            slots: Arc::new(Semaphore::new(max_concurrent.max(1))),
            queue_timeout,
            metrics,
        }
    }

    /// The configured cost (`BCRYPT_COST`).
    pub fn cost(&self) -> u32 {
        self.cost
    }

    /// A bcrypt hash of `password` at the configured cost.
    pub async fn hash(&self, password: &NewPassword) -> Result<String, HashError> {
        let password = password.clone();
        let cost = self.cost;
        Ok(self
            .in_slot(move || bcrypt::hash(password.expose(), cost))
            .await??)
    }

    /// A bcrypt hash at the configured cost of a password that just matched
    /// its stored hash (which may predate today's policy, so it is no
    /// `NewPassword`).
    pub async fn rehash(&self, password: &str) -> Result<String, HashError> {
        let password = password.to_owned();
        let cost = self.cost;
        Ok(self.in_slot(move || bcrypt::hash(password, cost)).await??)
    }

    /// Whether `password` matches `hash`, in a slot like a hash (a
    /// verification costs what its hash cost).
    pub async fn verify(&self, password: &str, hash: StoredHash) -> Result<bool, HashError> {
        let password = password.to_owned();
        self.in_slot(move || hash.verify(&password)).await
    }

    /// Runs `work` on a blocking thread once a slot is free. Cancel-safe: if
    /// the caller stops waiting (a client that hung up, a request
    /// deadline), the gauges fall back with the dropped guards, and the slot
    /// stays taken until the blocking task that holds it is done, so work
    /// running on a blocking thread is always counted.
    async fn in_slot<T: Send + 'static>(
        &self,
        work: impl FnOnce() -> T + Send + 'static,
    ) -> Result<T, HashError> {
        let waiting = GaugeGuard::inc(&self.metrics.bcrypt_waiting);
        let slot =
            tokio::time::timeout(self.queue_timeout, self.slots.clone().acquire_owned()).await;
        drop(waiting);
        let Ok(Ok(slot)) = slot else {
            self.metrics.bcrypt_busy.inc();
            return Err(HashError::Busy);
        };
        let in_flight = GaugeGuard::inc(&self.metrics.bcrypt_in_flight);
        let done = tokio::task::spawn_blocking(move || {
            // Dropped in this order: the gauge falls before the slot is free,
            // so a caller who gets the slot never sees this work counted.
            let _held = (in_flight, slot);
            work()
        })
        .await;
        Ok(done?)
    }
}

/// A gauge raised for as long as the guard lives.
struct GaugeGuard(IntGauge);

impl GaugeGuard {
    fn inc(gauge: &IntGauge) -> Self {
        gauge.inc();
        Self(gauge.clone())
    }
}

impl Drop for GaugeGuard {
    fn drop(&mut self) {
        self.0.dec();
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::time::Duration;

    use super::{HashError, PasswordHasher};
    use crate::domain::PasswordPolicy;

    #[tokio::test]
    async fn past_the_queue_wait_a_hash_is_refused_not_queued_forever() {
        let metrics = Arc::new(crate::metrics::Metrics::new());
        let hasher = PasswordHasher::new(4, 1, Duration::from_millis(20), metrics.clone());
        let password = PasswordPolicy { min_chars: 12 }
            .check("violet-kettle-jumps-47-far", &[])
            .unwrap();
        let held = hasher.slots.clone().acquire_owned().await.unwrap();
        assert!(matches!(hasher.hash(&password).await, Err(HashError::Busy)));
        assert_eq!(metrics.bcrypt_busy.get(), 1);
        assert_eq!(metrics.bcrypt_waiting.get(), 0);
        drop(held);
        let hash = hasher.hash(&password).await.unwrap();
        assert!(bcrypt::verify(password.expose(), &hash).unwrap());
    }

    #[tokio::test]
    async fn a_caller_that_stops_waiting_leaves_the_gauges_and_slots_true() {
        let metrics = Arc::new(crate::metrics::Metrics::new());
        // Cost 13 (about a second in a debug build): the hash is still running
        // when the test drops the future that started it.
        let hasher = PasswordHasher::new(13, 1, Duration::from_secs(30), metrics.clone());
        let password = PasswordPolicy { min_chars: 12 }
            .check("violet-kettle-jumps-47-far", &[])
            .unwrap();

        // Dropped while waiting for a slot.
        let held = hasher.slots.clone().acquire_owned().await.unwrap();
        let mut waiting = Box::pin(hasher.hash(&password));
        assert!(futures_util::poll!(&mut waiting).is_pending());
        assert_eq!(metrics.bcrypt_waiting.get(), 1);
        drop(waiting);
        assert_eq!(metrics.bcrypt_waiting.get(), 0, "no waiter left behind");
        drop(held);

        // Dropped while its hash runs: the hash still holds the slot and is
        // counted in flight until it is done, then both are given back.
        let mut running = Box::pin(hasher.hash(&password));
        assert!(futures_util::poll!(&mut running).is_pending());
        assert_eq!(metrics.bcrypt_in_flight.get(), 1);
        drop(running);
        assert_eq!(
            hasher.slots.available_permits(),
            0,
            "the running hash keeps its slot"
        );
        assert_eq!(metrics.bcrypt_in_flight.get(), 1, "and is still counted");
        let slot = tokio::time::timeout(Duration::from_secs(30), hasher.slots.acquire())
            .await
            .expect("the slot comes back once the hash is done")
            .unwrap();
        drop(slot);
        assert_eq!(metrics.bcrypt_in_flight.get(), 0);
        assert_eq!(metrics.bcrypt_waiting.get(), 0);
    }
}
