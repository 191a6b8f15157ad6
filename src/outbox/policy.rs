//! The retry policy, pure: given a row, why its attempt failed and the time,
//! decide whether it is tried again (and when) or given up.

use std::time::Duration;

use chrono::{NaiveDateTime, TimeDelta};

use crate::storage::outbox::OutboxRow;

const BACKOFF_BASE_SECS: u64 = 2;
const BACKOFF_CAP_SECS: u64 = crate::send_error::MAX_RETRY_AFTER.as_secs();

/// Why an attempt failed, as far as retrying is concerned.
#[derive(Debug, PartialEq, Eq)]
pub enum Failure {
    /// May succeed later; the other side may have said when.
    Retryable { retry_after: Option<Duration> },
    /// Will not succeed however often it is tried.
    Permanent,
}

#[derive(Debug, PartialEq, Eq)]
pub enum Decision {
    RetryAt(NaiveDateTime),
    GiveUp,
}

/// Retry while attempts and time remain; never past the row's give-up time.
pub fn decide(
    row: &OutboxRow,
    failure: &Failure,
    now: NaiveDateTime,
    max_attempts: u32,
) -> Decision {
    let Failure::Retryable { retry_after } = failure else {
        return Decision::GiveUp;
    };
    let out_of_attempts = row.attempts.max(0) as u32 >= max_attempts;
    let out_of_time = row.give_up_at.is_some_and(|t| t <= now);
    if out_of_attempts || out_of_time {
        return Decision::GiveUp;
    }
    let delay = next_delay(row.attempts.max(0) as u32, *retry_after);
    let delay = TimeDelta::from_std(delay).unwrap_or(TimeDelta::seconds(BACKOFF_CAP_SECS as i64));
    // Checked: a retry time past the end of the calendar is no retry.
    match now.checked_add_signed(delay) {
        Some(at) if row.give_up_at.is_none_or(|t| at < t) => Decision::RetryAt(at),
        _ => Decision::GiveUp,
    }
}

/// Exponential backoff with full jitter (a random delay up to 2 s, 4 s, 8 s,
/// ... capped at 15 min, at least 0.5 s); a provider's Retry-After wins when
/// it asks for longer, up to the same cap.
pub fn next_delay(attempts: u32, retry_after: Option<Duration>) -> Duration {
    let exp = BACKOFF_BASE_SECS.saturating_mul(1u64 << attempts.saturating_sub(1).min(20));
    let cap_ms = exp.min(BACKOFF_CAP_SECS) * 1000;
    let mut bytes = [0u8; 8];
    let jitter_ms = match getrandom::fill(&mut bytes) {
        Ok(()) => u64::from_le_bytes(bytes) % (cap_ms + 1),
        Err(_) => cap_ms / 2,
    };
    let delay = Duration::from_millis(jitter_ms.max(500));
    let cap = Duration::from_secs(BACKOFF_CAP_SECS);
    retry_after.map_or(delay, |ra| ra.max(delay)).min(cap)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::OutboxId;
    use crate::messages::{OutboxKind, OutboxStatus};

    fn row(attempts: i32, give_up_at: Option<NaiveDateTime>) -> OutboxRow {
        let now = chrono::Utc::now().naive_utc();
        OutboxRow {
            id: OutboxId::random(),
            kind: OutboxKind::Email,
            payload: "{}".into(),
            status: OutboxStatus::Pending,
            attempts,
            next_attempt_at: now,
            locked_until: Some(now),
            last_error: None,
            provider_message_id: None,
            created_at: now,
            sent_at: None,
            give_up_at,
            request_id: None,
        }
    }

    #[test]
    fn backoff_grows_within_its_cap_and_honours_retry_after() {
        for attempt in 1..30 {
            let d = next_delay(attempt, None);
            assert!(
                d <= Duration::from_secs(BACKOFF_CAP_SECS),
                "attempt {attempt}: {d:?}"
            );
            assert!(d >= Duration::from_millis(500));
        }
        assert!(next_delay(1, None) <= Duration::from_secs(2));
        assert_eq!(
            next_delay(1, Some(Duration::from_secs(120))),
            Duration::from_secs(120)
        );
    }

    #[test]
    fn retries_until_attempts_or_time_run_out() {
        let now = chrono::Utc::now().naive_utc();
        let retry = Failure::Retryable { retry_after: None };
        assert!(matches!(decide(&row(1, None), &retry, now, 8), Decision::RetryAt(at) if at > now));
        assert_eq!(decide(&row(8, None), &retry, now, 8), Decision::GiveUp);
        assert_eq!(decide(&row(1, Some(now)), &retry, now, 8), Decision::GiveUp);
        assert_eq!(
            decide(&row(1, None), &Failure::Permanent, now, 8),
            Decision::GiveUp
        );
        let later = Failure::Retryable {
            retry_after: Some(Duration::from_secs(3600)),
        };
        let soon = now + TimeDelta::minutes(10);
        assert_eq!(
            decide(&row(1, Some(soon)), &later, now, 8),
            Decision::GiveUp
        );
        let forever = Failure::Retryable {
            retry_after: Some(Duration::from_secs(u64::MAX)),
        };
        assert!(
            matches!(decide(&row(1, None), &forever, now, 8), Decision::RetryAt(at)
                if at <= now + TimeDelta::seconds(BACKOFF_CAP_SECS as i64)),
            "a huge Retry-After is capped"
        );
        assert_eq!(
            decide(&row(1, None), &retry, NaiveDateTime::MAX, 8),
            Decision::GiveUp,
            "no overflow at the end of time"
        );
    }
}
