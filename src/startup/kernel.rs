//! The composition root: the shared pieces, built once, and each flow built
//! from them with just what it needs.

use std::sync::Arc;

use anyhow::Context;
use tokio::sync::Notify;

use super::open_database;
use crate::breach::BreachCheck;
use crate::clock::Clock;
use crate::config::Settings;
use crate::domain::PasswordPolicy;
use crate::flows::forgot::Forgot;
use crate::flows::fulfil::Fulfil;
use crate::flows::import::Import;
use crate::flows::provision::Provision;
use crate::flows::prune::Retention;
use crate::flows::reset::Reset;
use crate::flows::reset_requests::ResetRequests;
use crate::flows::send::{SendEmail, SendWebhook};
use crate::flows::sign_in::SignIn;
use crate::handoff::Handoff;
use crate::hasher::PasswordHasher;
use crate::hasher::formats::StoredHash;
use crate::issuing::Issuer;
use crate::limits::Limiter;
use crate::mailer::Mailer;
use crate::mailer::templates::Templates;
use crate::metrics::Metrics;
use crate::outbox::SendGate;
use crate::routes::Operations;
use crate::storage::Repo;
use crate::tokens::TokenCodec;
use crate::vetting::Vetting;
use crate::webhooks::WebhookSender;
use crate::worker::{Jobs, OutboxWorker};

/// The shared pieces over an opened database, built once for the server and
/// the CLI alike. Only this composition root holds them all: each flow is
/// built from it with just what it needs (`Kernel::reset`, ...).
pub struct Kernel {
    pub(super) repo: Repo,
    codec: TokenCodec,
    pub(super) settings: Arc<Settings>,
    clock: Clock,
    metrics: Arc<Metrics>,
    limiter: Limiter,
    vetting: Vetting,
    hasher: PasswordHasher,
    /// A bcrypt hash at the configured cost, for the checks of unknown
    /// accounts.
    dummy_hash: StoredHash,
    /// Wakes the in-process worker when a flow queued something to send.
    wake: Arc<Notify>,
    /// The application's receiver, when it holds the passwords.
    handoff: Option<Handoff>,
}

impl Kernel {
    pub async fn build(settings: Settings, clock: Clock) -> anyhow::Result<Self> {
        let keys = settings.load_keys()?;
        let repo = open_database(&settings).await?;
        let codec = TokenCodec::new(
            keys,
            settings.jwt_issuer.clone(),
            settings.jwt_audience.clone(),
        );
        let breach = match &settings.pwned_passwords_url {
            Some(url) => Some(
                BreachCheck::new(url.clone(), settings.pwned_passwords_timeout)
                    .context("building the breached-password client")?,
            ),
            None => None,
        };
        let handoff = match &settings.handoff {
            Some(handoff) => {
                Some(Handoff::new(handoff).context("building the password handoff client")?)
            }
            None => None,
        };
        let metrics = Arc::new(Metrics::new());
        let limiter = Limiter::new(
            repo.clone(),
            settings.rate_limits,
            clock.clone(),
            metrics.clone(),
        );
        let hasher = PasswordHasher::new(
            settings.bcrypt_cost,
            settings.bcrypt_max_concurrency,
            settings.bcrypt_queue_timeout,
            metrics.clone(),
        );
        let cost = settings.bcrypt_cost;
        let dummy_hash = tokio::task::spawn_blocking(move || {
            bcrypt::hash("pwreset: no account has this password", cost)
        })
        .await
        .context("hashing the dummy password")?
        .context("hashing the dummy password")?;
        let dummy_hash =
            StoredHash::parse(&dummy_hash).context("reading back the dummy password's hash")?;
        let vetting = Vetting::new(
            PasswordPolicy {
                min_chars: settings.password_min_length,
            },
            breach,
            hasher.clone(),
            settings.app_name.clone(),
            metrics.clone(),
        );
        Ok(Self {
            repo,
            codec,
            settings: Arc::new(settings),
            clock,
            metrics,
            limiter,
            vetting,
            hasher,
            dummy_hash,
            wake: Arc::new(Notify::new()),
            handoff,
        })
    }

    fn issuer(&self) -> Issuer {
        Issuer::new(
            self.codec.clone(),
            self.clock.clone(),
            self.settings.clone(),
        )
    }

    pub fn forgot(&self) -> Forgot {
        Forgot::new(
            self.repo.clone(),
            self.limiter.clone(),
            self.clock.clone(),
            self.wake.clone(),
        )
    }

    pub fn fulfil(&self) -> Fulfil {
        Fulfil::new(
            self.repo.clone(),
            self.issuer(),
            self.limiter.clone(),
            self.metrics.clone(),
            self.clock.clone(),
            self.settings.reset_token_ttl,
            self.wake.clone(),
        )
    }

    pub fn reset(&self) -> Reset {
        Reset::new(
            self.repo.clone(),
            self.codec.clone(),
            self.vetting.clone(),
            self.limiter.clone(),
            self.metrics.clone(),
            self.clock.clone(),
            self.settings.clone(),
            self.wake.clone(),
            self.handoff.clone(),
        )
    }

    pub fn provision(&self) -> Provision {
        Provision::new(
            self.repo.clone(),
            self.clock.clone(),
            self.vetting.clone(),
            self.settings.keeps_password_hashes(),
        )
    }

    pub fn reset_requests(&self) -> ResetRequests {
        ResetRequests::new(
            self.repo.clone(),
            self.issuer(),
            self.clock.clone(),
            self.metrics.clone(),
            self.settings.clone(),
            self.wake.clone(),
        )
    }

    pub fn sign_in(&self) -> SignIn {
        SignIn::new(
            self.repo.clone(),
            self.hasher.clone(),
            self.limiter.clone(),
            self.metrics.clone(),
            self.clock.clone(),
            self.dummy_hash.clone(),
        )
    }

    pub fn import(&self) -> Import {
        Import::new(
            self.repo.clone(),
            self.clock.clone(),
            self.metrics.clone(),
            self.settings.keeps_password_hashes(),
        )
    }

    pub fn retention(&self) -> Retention {
        Retention::new(
            self.repo.clone(),
            self.clock.clone(),
            self.settings.retention,
        )
    }

    pub(super) fn operations(&self) -> Operations {
        Operations::new(
            self.repo.clone(),
            self.clock.clone(),
            self.metrics.clone(),
            self.settings.metrics_access.allowed_from.clone(),
        )
    }

    /// The worker, with every kind of row's job.
    pub(super) fn worker(
        &self,
        mailer: Arc<dyn Mailer>,
        templates: Templates,
        webhooks: WebhookSender,
    ) -> OutboxWorker {
        let mail = &self.settings.mail;
        let gate = SendGate::new(mail.concurrency, mail.max_per_second, self.metrics.clone());
        let jobs = Jobs {
            fulfil: self.fulfil(),
            email: SendEmail::new(
                self.repo.clone(),
                self.codec.clone(),
                self.clock.clone(),
                self.settings.clone(),
                mailer,
                templates,
                gate.clone(),
            ),
            webhook: SendWebhook::new(webhooks, gate),
        };
        OutboxWorker::new(
            jobs,
            self.retention(),
            self.repo.clone(),
            self.clock.clone(),
            self.metrics.clone(),
            self.settings.clone(),
            self.wake.clone(),
        )
    }
}
