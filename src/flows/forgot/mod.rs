//! Forgot-password: someone asks for a link. The request path only counts
//! the request against its limits and queues the address, the same work for
//! every address; whether an account has it is decided later by the worker
//! (`flows::fulfil`). Entry points: the JSON API (`api.rs`) and the
//! hosted page (`page.rs`); the write is group-committed (`group_commit/`).

pub mod api;
pub mod group_commit;
pub mod page;

use std::net::IpAddr;
use std::sync::{Arc, OnceLock};

use tokio::sync::Notify;

use group_commit::{GroupCommit, Hit, Written};

use crate::clock::Clock;
use crate::domain::{EmailAddress, ReturnTo};
use crate::flow_error::FlowError;
use crate::i18n::Locale;
use crate::limits::{LimitError, LimitedAction, Limiter, WINDOW};
use crate::messages::{OutboxMessage, Outgoing, ResetRequest};
use crate::storage::Repo;

/// The forgot flow, with what it needs: the database (for its batch
/// writer), the limiter and the clock. Cheap to clone.
#[derive(Clone)]
pub struct Forgot {
    repo: Repo,
    limiter: Limiter,
    clock: Clock,
    /// Writes requests in batches; started on first use.
    writer: Arc<OnceLock<GroupCommit>>,
    /// Wakes the in-process worker: the request is fulfilled at once.
    wake: Arc<Notify>,
    /// The runtime the flow was built on (the main one, when there is one):
    /// the batch writer runs there, not on whichever HTTP worker happened to
    /// take the first request (an HTTP worker's runtime stops before the
    /// others have drained at shutdown).
    runtime: Option<tokio::runtime::Handle>,
}

/// The counters a request counts on, each with its limit.
#[derive(Clone, Debug, Default)]
struct ForgotHits {
    actions: Vec<LimitedAction>,
    hits: Vec<Hit>,
}

impl Forgot {
    pub fn new(repo: Repo, limiter: Limiter, clock: Clock, wake: Arc<Notify>) -> Self {
        Self {
            repo,
            limiter,
            clock,
            writer: Arc::default(),
            wake,
            runtime: tokio::runtime::Handle::try_current().ok(),
        }
    }

    /// Counts the request against its limits and queues it. Always the same
    /// work whatever the account: whether it exists is decided later.
    pub async fn request_link(
        &self,
        email: &EmailAddress,
        ip: Option<IpAddr>,
        locale: Option<&Locale>,
        return_to: Option<&ReturnTo>,
    ) -> Result<(), FlowError> {
        let request = Outgoing::new(OutboxMessage::ResetRequest(ResetRequest {
            email: email.as_str().to_owned(),
            ip: ip.map(|ip| ip.to_string()),
            locale: locale.map(Locale::tag),
            return_to: return_to.map(|r| r.as_str().to_owned()),
        }));
        // Counted and queued in one transaction with whatever other requests
        // arrive meanwhile (group commit); the row exists once this returns.
        let hits = self.hits(ip, email);
        let now = self.clock.now_naive();
        let written = self
            .writer()
            .write(&request, hits.hits.clone(), now, now - WINDOW)
            .await?;
        self.verdict(ip, &hits, &written)?;
        if !written.queued {
            // The storage and the limiter read the same counters the same way.
            return Err(
                anyhow::anyhow!("a refused forgot-password request was let through").into(),
            );
        }
        // The worker takes the row at once (a lone request's email leaves
        // within milliseconds). Its work runs on the main runtime, not on
        // the HTTP workers' threads, and this answer is already decided:
        // the same for every account, whatever the worker then finds.
        self.wake.notify_one();
        Ok(())
    }

    /// The counters a request counts against (none when limits are off):
    /// its address (per client network: requests from other networks never
    /// use up the allowance of the owner's own) and its IP. The batch counts
    /// both, even when one is over, so neither can be probed, and writes the
    /// request only if both are within their limits.
    fn hits(&self, ip: Option<IpAddr>, email: &EmailAddress) -> ForgotHits {
        if !self.limiter.enabled() {
            return ForgotHits::default();
        }
        let (actions, hits) = [LimitedAction::ForgotPerEmail, LimitedAction::ForgotPerIp]
            .into_iter()
            .filter_map(|action| {
                let key = action.counter_key(ip, Some(email.as_str()))?;
                let limit = self.limiter.allowance(action);
                Some((action, Hit { key, limit }))
            })
            .unzip();
        ForgotHits { actions, hits }
    }

    /// The answer to a written request: refused, with the longest wait, if
    /// any of its counters went over.
    fn verdict(
        &self,
        ip: Option<IpAddr>,
        hits: &ForgotHits,
        written: &Written,
    ) -> Result<(), LimitError> {
        let now = self.clock.now_naive();
        let retry = hits
            .actions
            .iter()
            .zip(&hits.hits)
            .zip(&written.counters)
            .filter(|((_, hit), counter)| !counter.is_within(hit.limit))
            // Until the window's end: a client that waits this long finds a
            // fresh window.
            .map(|((action, _), counter)| (counter.window_start + WINDOW - now, *action))
            .max();
        match retry {
            Some((wait, action)) => Err(self.limiter.limited(action, ip, wait)),
            None => Ok(()),
        }
    }

    fn writer(&self) -> &GroupCommit {
        self.writer
            .get_or_init(|| GroupCommit::start(self.repo.clone(), self.runtime.as_ref()))
    }
}
