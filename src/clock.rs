//! The service's notion of "now". Production reads the system clock; tests
//! move a manual clock forward instead of sleeping until a token expires.

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};

use chrono::{DateTime, NaiveDateTime, Timelike, Utc};

#[derive(Clone, Debug, Default)]
pub struct Clock {
    /// Seconds added to the system time; only a manual clock changes it.
    offset_secs: Arc<AtomicI64>,
}

impl Clock {
    pub fn system() -> Self {
        Self::default()
    }

    /// Moves this clock (and every clone of it) forward.
    pub fn advance(&self, secs: i64) {
        self.offset_secs.fetch_add(secs, Ordering::SeqCst);
    }

    pub fn now(&self) -> DateTime<Utc> {
        let now = Utc::now() + chrono::Duration::seconds(self.offset_secs.load(Ordering::SeqCst));
        // Postgres keeps microseconds; truncating here makes values round-trip exactly.
        now.with_nanosecond(now.nanosecond() / 1_000 * 1_000)
            .unwrap_or(now)
    }

    /// Unix time in seconds, to the millisecond (metrics and readiness).
    pub fn unix_secs(&self) -> f64 {
        let now = self.now();
        now.timestamp() as f64 + f64::from(now.timestamp_subsec_millis()) / 1000.0
    }

    /// UTC wall time as stored in the database.
    pub fn now_naive(&self) -> NaiveDateTime {
        self.now().naive_utc()
    }
}
