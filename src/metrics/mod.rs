//! The fixed metric families (dashboards and alerts rely on their names),
//! registered once per process (one registry per `Application`, so apps in
//! one test process do not mix).
//! Exposed at `GET /metrics` in Prometheus' text format by the `prometheus`
//! crate; the outbox gauges are read from the database at scrape time, so
//! every replica reports the shared queue.

use prometheus::{
    Encoder, Gauge, HistogramOpts, HistogramVec, IntCounter, IntCounterVec, IntGauge, IntGaugeVec,
    Opts, Registry, TextEncoder,
};

use crate::messages::{OutboxKind, OutboxStatus};

mod labels;

pub use labels::{DeliveryOutcome, LinkVia};

pub struct Metrics {
    registry: Registry,
    http_requests: IntCounterVec,
    http_duration: HistogramVec,
    outbox_rows: IntGaugeVec,
    outbox_oldest_due_age: Gauge,
    deliveries: IntCounterVec,
    links_issued: IntCounterVec,
    password_resets: IntCounter,
    token_rejections: IntCounterVec,
    rate_limited: IntCounterVec,
    pub bcrypt_in_flight: IntGauge,
    pub bcrypt_waiting: IntGauge,
    pub bcrypt_busy: IntCounter,
    breach_checks: IntCounterVec,
    password_checks: IntCounterVec,
    users_imported: IntCounterVec,
    password_handoffs: IntCounterVec,
    reset_codes: IntCounterVec,
    send_duration: HistogramVec,
    pub sends_in_flight: IntGauge,
    worker_last_run: Gauge,
    worker_restarts: IntCounter,
}

/// Registration fails only for a duplicate or malformed name: a programming
/// error that the unit test below catches.
fn register<T: prometheus::core::Collector + Clone + 'static>(registry: &Registry, metric: T) -> T {
    if let Err(e) = registry.register(Box::new(metric.clone())) {
        log::error!("metrics: cannot register a family: {e}");
    }
    metric
}

macro_rules! family {
    ($registry:expr, $kind:ident, $name:literal, $help:literal) => {
        register(
            $registry,
            $kind::new($name, $help).unwrap_or_else(|e| unreachable!("{}: {e}", $name)),
        )
    };
    ($registry:expr, $kind:ident, $name:literal, $help:literal, $labels:expr) => {
        register(
            $registry,
            $kind::new(Opts::new($name, $help), $labels)
                .unwrap_or_else(|e| unreachable!("{}: {e}", $name)),
        )
    };
}

impl Metrics {
    pub fn new() -> Self {
        let registry = Registry::new();
        let r = &registry;
        let send_duration = register(
            r,
            HistogramVec::new(
                HistogramOpts::new(
                    "pwreset_outbox_send_duration_seconds",
                    "Time the provider (or webhook receiver) took to answer a send, by kind of row.",
                )
                .buckets(vec![
                    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
                ]),
                &["kind"],
            )
            .unwrap_or_else(|e| unreachable!("send duration: {e}")),
        );
        let http_duration = register(
            r,
            HistogramVec::new(
                HistogramOpts::new(
                    "pwreset_http_request_duration_seconds",
                    "Time to answer an HTTP request, by matched route pattern.",
                )
                .buckets(vec![
                    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
                ]),
                &["route", "method"],
            )
            .unwrap_or_else(|e| unreachable!("http duration: {e}")),
        );
        let build_info: IntGaugeVec = family!(
            r,
            IntGaugeVec,
            "pwreset_build_info",
            "Always 1; the version of the running binary.",
            &["version"]
        );
        build_info
            .with_label_values(&[env!("CARGO_PKG_VERSION")])
            .set(1);
        #[cfg(target_os = "linux")]
        if let Err(e) = r.register(Box::new(
            prometheus::process_collector::ProcessCollector::for_self(),
        )) {
            log::error!("metrics: cannot register the process collector: {e}");
        }
        let metrics = Self {
            http_requests: family!(
                r,
                IntCounterVec,
                "pwreset_http_requests_total",
                "HTTP requests answered, by matched route pattern, method and status.",
                &["route", "method", "status"]
            ),
            http_duration,
            outbox_rows: family!(
                r,
                IntGaugeVec,
                "pwreset_outbox_rows",
                "Outbox rows in the database, by kind and status (read at scrape time).",
                &["kind", "status"]
            ),
            outbox_oldest_due_age: family!(
                r,
                Gauge,
                "pwreset_outbox_oldest_due_age_seconds",
                "How long the oldest pending outbox row has been due (0 when none)."
            ),
            deliveries: family!(
                r,
                IntCounterVec,
                "pwreset_outbox_deliveries_total",
                "Outbox rows handled by this process's worker, by kind and outcome.",
                &["kind", "outcome"]
            ),
            links_issued: family!(
                r,
                IntCounterVec,
                "pwreset_reset_links_issued_total",
                "Reset tokens created, by how they were asked for.",
                &["via"]
            ),
            password_resets: family!(
                r,
                IntCounter,
                "pwreset_password_resets_total",
                "Passwords changed through a reset link."
            ),
            token_rejections: family!(
                r,
                IntCounterVec,
                "pwreset_token_rejections_total",
                "Reset links refused, by reason.",
                &["reason"]
            ),
            rate_limited: family!(
                r,
                IntCounterVec,
                "pwreset_rate_limited_total",
                "Requests refused with 429, by limit.",
                &["limit"]
            ),
            bcrypt_in_flight: family!(
                r,
                IntGauge,
                "pwreset_bcrypt_in_flight",
                "bcrypt hashes running now."
            ),
            bcrypt_waiting: family!(
                r,
                IntGauge,
                "pwreset_bcrypt_waiting",
                "Requests waiting for a bcrypt slot."
            ),
            bcrypt_busy: family!(
                r,
                IntCounter,
                "pwreset_bcrypt_busy_total",
                "Requests refused with 503 because every bcrypt slot stayed busy."
            ),
            breach_checks: family!(
                r,
                IntCounterVec,
                "pwreset_breach_checks_total",
                "Breached-password checks, by outcome.",
                &["outcome"]
            ),
            password_checks: family!(
                r,
                IntCounterVec,
                "pwreset_password_checks_total",
                "Password checks (sign-in), by outcome: match, mismatch, unknown, limited.",
                &["outcome"]
            ),
            password_handoffs: family!(
                r,
                IntCounterVec,
                "pwreset_password_handoffs_total",
                "Password changes handed to the application, by outcome: accepted, refused, timeout, unreachable.",
                &["outcome"]
            ),
            send_duration,
            sends_in_flight: family!(
                r,
                IntGauge,
                "pwreset_outbox_in_flight",
                "Sends (emails and webhooks) in flight in this process now."
            ),
            reset_codes: family!(
                r,
                IntCounterVec,
                "pwreset_reset_codes_total",
                "One-time codes tried, by outcome: used (a reset done with one), wrong, dead (past its tries), capped (the account past its wrong codes for the hour).",
                &["outcome"]
            ),
            users_imported: family!(
                r,
                IntCounterVec,
                "pwreset_users_imported_total",
                "Users read by `pwreset user import` in this process, by outcome: created, updated, unchanged, refused.",
                &["outcome"]
            ),
            worker_last_run: family!(
                r,
                Gauge,
                "pwreset_worker_last_run_timestamp_seconds",
                "When the outbox worker last finished a loop or settled a row (Unix time)."
            ),
            worker_restarts: family!(
                r,
                IntCounter,
                "pwreset_worker_restarts_total",
                "Times the outbox worker loop ended unexpectedly and was restarted."
            ),
            registry,
        };
        metrics.initialize_labels();
        metrics
    }

    pub fn observe_http(&self, route: &str, method: &str, status: u16, seconds: f64) {
        self.http_requests
            .with_label_values(&[route, method, &status.to_string()])
            .inc();
        self.http_duration
            .with_label_values(&[route, method])
            .observe(seconds);
    }

    pub fn delivery(&self, kind: OutboxKind, outcome: DeliveryOutcome) {
        self.deliveries_of(kind, outcome, 1);
    }

    /// `n` deliveries with the same outcome at once (a batch settled together).
    pub fn deliveries_of(&self, kind: OutboxKind, outcome: DeliveryOutcome, n: u64) {
        self.deliveries
            .with_label_values(&[kind.as_str(), outcome.label()])
            .inc_by(n);
    }

    pub fn link_issued(&self, via: LinkVia) {
        let via = match via {
            LinkVia::Forgot => "forgot_password",
            LinkVia::ServiceEmail => "service_email",
            LinkVia::ServiceLink => "service_link",
        };
        self.links_issued.with_label_values(&[via]).inc();
    }

    pub fn password_reset(&self) {
        self.password_resets.inc();
    }

    pub fn token_rejected(&self, reason: &'static str) {
        self.token_rejections.with_label_values(&[reason]).inc();
    }

    /// Makes a refusal's series exist (at 0) before the first refusal.
    pub fn touch_rate_limited(&self, limit: &'static str) {
        self.rate_limited.with_label_values(&[limit]);
    }

    pub fn rate_limited(&self, limit: &'static str) {
        self.rate_limited.with_label_values(&[limit]).inc();
    }

    /// A password check's outcome: `match`, `mismatch` (a live account, a
    /// wrong password), `unknown` (no live account with a password), `limited`.
    pub fn password_check(&self, outcome: &'static str) {
        self.password_checks.with_label_values(&[outcome]).inc();
    }

    /// An imported user's outcome: `created`, `updated`, `unchanged`, `refused`.
    pub fn user_imported(&self, outcome: &'static str) {
        self.users_imported.with_label_values(&[outcome]).inc();
    }

    /// How long one send took the other side to answer.
    pub fn observe_send(&self, kind: OutboxKind, seconds: f64) {
        self.send_duration
            .with_label_values(&[kind.as_str()])
            .observe(seconds);
    }

    /// A code's outcome: `used`, `wrong`, `dead`, `capped`.
    pub fn reset_code(&self, outcome: &'static str) {
        self.reset_codes.with_label_values(&[outcome]).inc();
    }

    /// A handoff's outcome: `accepted`, or a `HandoffFailure`'s label.
    pub fn password_handoff(&self, outcome: &'static str) {
        self.password_handoffs.with_label_values(&[outcome]).inc();
    }

    pub fn breach_check(&self, outcome: &'static str) {
        self.breach_checks.with_label_values(&[outcome]).inc();
    }

    /// The worker made progress (finished a loop, or settled a row).
    pub fn worker_alive(&self, unix_secs: f64) {
        self.worker_last_run.set(unix_secs);
    }

    pub fn worker_last_run(&self) -> f64 {
        self.worker_last_run.get()
    }

    pub fn worker_restarted(&self) {
        self.worker_restarts.inc();
    }

    /// Sets the outbox gauges from what the database holds now.
    pub fn set_outbox(&self, counts: &[(OutboxKind, OutboxStatus, i64)], oldest_due_secs: f64) {
        for kind in OutboxKind::ALL {
            for status in OutboxStatus::ALL {
                let n = counts
                    .iter()
                    .find(|(k, s, _)| k == kind && s == status)
                    .map_or(0, |(_, _, n)| *n);
                self.outbox_rows
                    .with_label_values(&[kind.as_str(), status.as_str()])
                    .set(n);
            }
        }
        self.outbox_oldest_due_age.set(oldest_due_secs.max(0.0));
    }

    /// Every family in the text exposition format (version 0.0.4).
    pub fn render(&self) -> Result<String, prometheus::Error> {
        let mut out = Vec::new();
        TextEncoder::new().encode(&self.registry.gather(), &mut out)?;
        String::from_utf8(out).map_err(|e| prometheus::Error::Msg(e.to_string()))
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_family_registers_and_renders() {
        let metrics = Metrics::new();
        metrics.observe_http("/healthz", "GET", 200, 0.001);
        metrics.delivery(OutboxKind::Email, DeliveryOutcome::Sent);
        metrics.set_outbox(&[(OutboxKind::Email, OutboxStatus::Pending, 3)], 1.5);
        let text = metrics.render().unwrap();
        for family in [
            "pwreset_http_requests_total",
            "pwreset_http_request_duration_seconds_bucket",
            "pwreset_outbox_rows{kind=\"email\",status=\"pending\"} 3",
            "pwreset_outbox_oldest_due_age_seconds 1.5",
            "pwreset_outbox_deliveries_total{kind=\"email\",outcome=\"sent\"} 1",
            "pwreset_build_info{version=",
            "pwreset_bcrypt_in_flight 0",
            "pwreset_worker_restarts_total 0",
        ] {
            assert!(text.contains(family), "{family} missing:\n{text}");
        }
    }
}
