//! Retention: what the service forgets, and when. The worker runs this every
//! few minutes; `pwreset prune` runs it on demand.

use std::time::Duration;

use chrono::{NaiveDateTime, TimeDelta};

use super::{Actions, ResetError};
use crate::limits;

/// What one pass removed.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct PruneReport {
    pub outbox_rows: usize,
    pub tokens: usize,
    pub rate_limit_keys: usize,
}

impl Actions {
    /// Deletes settled outbox rows and used or expired tokens older than
    /// `RETENTION_SECS`, and rate-limit keys whose windows are long over.
    pub async fn prune(&self) -> Result<PruneReport, ResetError> {
        let now = self.clock.now_naive();
        let before = horizon(now, self.settings.retention).ok_or_else(|| {
            anyhow::anyhow!(
                "RETENTION_SECS ({} s) reaches past the clock's range: nothing pruned",
                self.settings.retention.as_secs()
            )
        })?;
        let pruned = self.repo.prune(before).await?;
        let rate_limit_keys = self
            .repo
            .prune_rate_limits(now - limits::WINDOW * 2)
            .await?;
        Ok(PruneReport {
            outbox_rows: pruned.outbox_rows,
            tokens: pruned.tokens,
            rate_limit_keys,
        })
    }
}

/// The moment before which settled rows are old enough to forget; None when
/// the retention reaches past the clock's range. Never a guess: a wrong
/// horizon would delete rows that must be kept.
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
