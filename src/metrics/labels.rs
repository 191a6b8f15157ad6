//! The label values of the metric families that take a closed set.

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
pub const TOKEN_REJECTION_REASONS: [&str; 9] = [
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
