//! The label values of the metric families that take a closed set, and
//! each family's series made at 0 before its first event.

use super::Metrics;
use crate::messages::OutboxKind;

/// How a delivery attempt ended, for `pwreset_outbox_deliveries_total`.
#[derive(Clone, Copy, Debug)]
pub enum DeliveryOutcome {
    Sent,
    Retry,
    Dead,
    /// Nothing needed sending (unknown account, limit reached) or another
    /// worker holds the row.
    Skipped,
}

impl DeliveryOutcome {
    pub(super) fn label(self) -> &'static str {
        match self {
            Self::Sent => "sent",
            Self::Retry => "retry",
            Self::Dead => "dead",
            Self::Skipped => "skipped",
        }
    }
}

/// How a reset link came to be, for `pwreset_reset_links_issued_total`.
#[derive(Clone, Copy, Debug)]
pub enum LinkVia {
    /// forgot-password, through the worker.
    Forgot,
    /// A service asked for an emailed link.
    ServiceEmail,
    /// A service asked for the link itself (support tools).
    ServiceLink,
}

/// The `reason` values of `pwreset_token_rejections_total`.
pub(super) const TOKEN_REJECTION_REASONS: [&str; 9] = [
    "malformed",
    "wrong_type",
    "unknown_key",
    "bad_signature",
    "expired",
    "not_found",
    "mismatch",
    "used",
    "disabled",
];

impl Metrics {
    /// Every known label value starts at 0, so rates and alerts see a series
    /// before its first event.
    pub(super) fn initialize_labels(&self) {
        for kind in OutboxKind::ALL {
            for outcome in ["sent", "retry", "dead", "skipped"] {
                self.deliveries.with_label_values(&[kind.as_str(), outcome]);
            }
        }
        for via in ["forgot_password", "service_email", "service_link"] {
            self.links_issued.with_label_values(&[via]);
        }
        for reason in TOKEN_REJECTION_REASONS {
            self.token_rejections.with_label_values(&[reason]);
        }
        for outcome in ["clean", "breached", "failed_open"] {
            self.breach_checks.with_label_values(&[outcome]);
        }
        for outcome in ["match", "mismatch", "unknown", "limited"] {
            self.password_checks.with_label_values(&[outcome]);
        }
        for outcome in ["created", "updated", "unchanged", "refused"] {
            self.users_imported.with_label_values(&[outcome]);
        }
        for outcome in ["accepted", "refused", "timeout", "unreachable"] {
            self.password_handoffs.with_label_values(&[outcome]);
        }
        for outcome in ["used", "wrong", "dead", "capped"] {
            self.reset_codes.with_label_values(&[outcome]);
        }
    }
}
