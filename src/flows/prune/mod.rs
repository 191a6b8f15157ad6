//! Retention: what the service forgets, and when. Settled outbox rows (sent,
//! done, dead) and used or expired tokens older than `RETENTION_SECS`, and
//! rate-limit keys whose windows are long over. The worker runs a pass
//! every few minutes; `pwreset prune` runs one on demand.

mod store;

use std::time::Duration;

use chrono::{NaiveDateTime, TimeDelta};

use crate::clock::Clock;
use crate::limits;
use crate::storage::{Repo, StorageError};

/// What one pass removed.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct PruneReport {
    pub outbox_rows: usize,
    pub tokens: usize,
    pub rate_limit_keys: usize,
}

#[derive(Debug, thiserror::Error)]
pub enum PruneError {
    /// Never a guess: a wrong horizon would delete rows that must be kept.
    #[error("RETENTION_SECS ({0} s) reaches past the clock's range: nothing pruned")]
    BeyondTheClock(u64),
    #[error(transparent)]
    Storage(#[from] StorageError),
}

/// The retention pass, with what it needs: the database, the clock and how
/// long settled rows are kept.
#[derive(Clone)]
pub struct Retention {
    repo: Repo,
    clock: Clock,
    keep_for: Duration,
}

impl Retention {
    pub fn new(repo: Repo, clock: Clock, keep_for: Duration) -> Self {
        Self {
            repo,
            clock,
            keep_for,
        }
    }

    /// How long settled rows are kept (`RETENTION_SECS`).
    pub fn keep_for(&self) -> Duration {
        self.keep_for
    }

    pub async fn prune(&self) -> Result<PruneReport, PruneError> {
        let now = self.clock.now_naive();
        let before = horizon(now, self.keep_for)
            .ok_or(PruneError::BeyondTheClock(self.keep_for.as_secs()))?;
        let settled = self.repo.prune_settled(before).await?;
        let rate_limit_keys = self
            .repo
            .prune_rate_limits(now - limits::WINDOW * 2)
            .await?;
        Ok(PruneReport {
            outbox_rows: settled.outbox_rows,
            tokens: settled.tokens,
            rate_limit_keys,
        })
    }
}

/// The moment before which settled rows are old enough to forget; None when
/// the retention reaches past the clock's range.
fn horizon(now: NaiveDateTime, retention: Duration) -> Option<NaiveDateTime> {
    TimeDelta::from_std(retention)
        .ok()
        .and_then(|retention| now.checked_sub_signed(retention))
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use chrono::NaiveDate;

    use super::horizon;

    #[test]
    fn a_retention_the_clock_cannot_reach_back_to_prunes_nothing() {
        let now = NaiveDate::from_ymd_opt(2026, 12, 4)
            .unwrap()
            .and_hms_opt(12, 0, 0)
            .unwrap();
        assert_eq!(
            horizon(now, Duration::from_secs(60)),
            Some(now - chrono::TimeDelta::seconds(60))
        );
        assert_eq!(
            horizon(now, Duration::MAX),
            None,
            "not 'everything up to now'"
        );
        assert_eq!(
            horizon(now, Duration::from_secs(400_000 * 365 * 86_400)),
            None
        );
    }
}
