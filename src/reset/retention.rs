//! Retention: what the service forgets, and when. The worker runs this every
//! few minutes; `pwreset prune` runs it on demand.

use chrono::TimeDelta;

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
        let retention = TimeDelta::from_std(self.settings.retention).unwrap_or(TimeDelta::days(7));
        let before = now.checked_sub_signed(retention).unwrap_or(now);
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
