//! Reset: a person sets a new password through a link. Is the link usable
//! (`check.rs`: the signature first, then the row, with the token-failure
//! backoff), the new password's fields and policy, and one transaction that
//! consumes the token, stores the hash, kills the user's other links and
//! queues the notice and `password.reset.completed` (`complete.rs`). Entry
//! points: the JSON API (`api.rs`: validate, reset), the hosted page
//! (`page.rs`), and the operator's `pwreset user set-password`. When the
//! application holds the passwords, the change is handed to it first and
//! no hash is stored (`handoff.rs`).

pub mod api;
mod check;
pub mod code;
mod complete;
mod handoff;
pub mod page;

use std::sync::Arc;

use tokio::sync::Notify;

pub use check::LiveLink;
pub use code::Proof;
pub use complete::Completed;

use crate::clock::Clock;
use crate::config::Settings;
use crate::handoff::Handoff;
use crate::limits::Limiter;
use crate::metrics::Metrics;
use crate::storage::Repo;
use crate::tokens::TokenCodec;
use crate::vetting::Vetting;

/// The reset flow, with what it needs. Cheap to clone.
#[derive(Clone)]
pub struct Reset {
    repo: Repo,
    codec: TokenCodec,
    vetting: Vetting,
    limiter: Limiter,
    metrics: Arc<Metrics>,
    clock: Clock,
    /// The product's name and the webhooks a completed reset announces to.
    settings: Arc<Settings>,
    /// Wakes the in-process worker for the notice and the event.
    wake_worker: Arc<Notify>,
    /// Set when the application holds the passwords.
    handoff: Option<Handoff>,
}

impl Reset {
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        repo: Repo,
        codec: TokenCodec,
        vetting: Vetting,
        limiter: Limiter,
        metrics: Arc<Metrics>,
        clock: Clock,
        settings: Arc<Settings>,
        wake_worker: Arc<Notify>,
        handoff: Option<Handoff>,
    ) -> Self {
        Self {
            repo,
            codec,
            vetting,
            limiter,
            metrics,
            clock,
            settings,
            wake_worker,
            handoff,
        }
    }

    fn wake_worker(&self) {
        self.wake_worker.notify_one();
    }
}
