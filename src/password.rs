//! bcrypt hashing, off the async workers and bounded: at most `max_concurrent`
//! hashes run at once; a request waits at most `queue_timeout` for a slot and
//! is then told to come back later (503 + Retry-After) instead of piling up.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::Semaphore;

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

    pub async fn hash(&self, password: &NewPassword) -> Result<String, HashError> {
        self.metrics.bcrypt_waiting.inc();
        let slot = tokio::time::timeout(self.queue_timeout, self.slots.acquire()).await;
        self.metrics.bcrypt_waiting.dec();
        let Ok(Ok(_slot)) = slot else {
            self.metrics.bcrypt_busy.inc();
            return Err(HashError::Busy);
        };
        self.metrics.bcrypt_in_flight.inc();
        let password = password.clone();
        let cost = self.cost;
        let hashed =
            tokio::task::spawn_blocking(move || bcrypt::hash(password.expose(), cost)).await;
        self.metrics.bcrypt_in_flight.dec();
        Ok(hashed??)
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
}
