//! Wiring: pools, migrations, the HTTP server and the outbox worker; the
//! composition root that builds every flow (`kernel.rs`).

use std::net::TcpListener;
use std::sync::Arc;

use actix_web::dev::Server;
use actix_web::middleware::DefaultHeaders;
use actix_web::{App, HttpServer, web};
use anyhow::Context;
use tokio::sync::watch;

use crate::clock::Clock;
use crate::config::{MailProvider, Settings};
use crate::flows::fulfil::Fulfil;
use crate::http::page::Pages;
use crate::http::{self, AppState};
use crate::mailer::templates::Templates;
use crate::mailer::{self, Mailer};
use crate::routes;
use crate::storage::{PoolOptions, Repo};
use crate::webhooks::WebhookSender;
use crate::worker::OutboxWorker;
pub use kernel::Kernel;

mod kernel;

pub struct Application {
    port: u16,
    server: Server,
    /// `/metrics` on a listener of its own (`METRICS_BIND_ADDR`), and its port.
    metrics_server: Option<(Server, u16)>,
    worker: OutboxWorker,
    state: web::Data<AppState>,
    repo: Repo,
    fulfil: Fulfil,
}

/// Opens the database, applies pending migrations and the work they leave
/// for start-up.
pub async fn open_database(settings: &Settings) -> anyhow::Result<Repo> {
    let repo = Repo::connect(
        &settings.database_url,
        &PoolOptions {
            max_size: settings.database_pool_size,
            ca_file: settings.database_ca_file.clone(),
        },
    )?;
    let applied = repo
        .run_migrations()
        .await
        .context("running database migrations")?;
    if applied > 0 {
        log::info!("applied {applied} database migration(s)");
    }
    if let Some(refolded) = repo
        .refold_emails()
        .await
        .context("re-normalizing stored email addresses")?
    {
        log::info!(
            "re-normalized {} stored email address(es) to their case-folded form",
            refolded.changed
        );
        for (id, why) in &refolded.kept {
            log::warn!(
                "user {id}: stored email address left as it was ({why}); \
                 settle it with PUT /internal/v1/users/{id}"
            );
        }
    }
    log::info!("database: {}", repo.describe().await?);
    Ok(repo)
}

impl Application {
    /// Builds everything and binds the listener (`BIND_ADDR`; port 0 picks a
    /// free port).
    pub async fn build(settings: Settings, clock: Clock) -> anyhow::Result<Self> {
        if matches!(settings.mail.provider, MailProvider::Log) {
            log::warn!(
                "MAIL_PROVIDER=log prints every email, reset links included, to standard output: \
                 for development only"
            );
        }
        let mailer = mailer::from_settings(&settings.mail).context("building the email client")?;
        Self::build_with_mailer(settings, clock, mailer).await
    }

    /// Like `build`, with a `Mailer` of the embedder's own instead of the one
    /// `MAIL_PROVIDER` names (for a transport pwreset has no provider for).
    pub async fn build_with_mailer(
        settings: Settings,
        clock: Clock,
        mailer: Arc<dyn Mailer>,
    ) -> anyhow::Result<Self> {
        let templates = Templates::load(settings.mail.template_dir.as_deref())?;
        let webhooks = WebhookSender::new(
            settings.webhooks.secret.clone(),
            settings.mail.connect_timeout,
            settings.mail.timeout,
        )
        .context("building the webhook client")?;
        let kernel = Kernel::build(settings, clock).await?;
        let worker = kernel.worker(mailer, templates, webhooks);
        let settings = kernel.settings.clone();
        let pages = Pages::load(settings.page_template_dir.as_deref())?;
        // Each flow gets what it needs here, once.
        let forgot = web::Data::new(kernel.forgot());
        let reset = web::Data::new(kernel.reset());
        let provision = web::Data::new(kernel.provision());
        let reset_requests = web::Data::new(kernel.reset_requests());
        let sign_in = web::Data::new(kernel.sign_in());
        let operations = web::Data::new(kernel.operations());
        let repo = kernel.repo.clone();
        let fulfil = kernel.fulfil();
        let state = web::Data::new(AppState {
            settings: settings.clone(),
            pages,
        });

        let listener = TcpListener::bind(settings.bind_addr)
            .with_context(|| format!("cannot listen on BIND_ADDR={}", settings.bind_addr))?;
        let local_addr = listener.local_addr()?;
        let port = local_addr.port();
        let app_state = state.clone();
        let metrics_ops = operations.clone();
        let server = HttpServer::new(move || {
            App::new()
                .wrap(
                    DefaultHeaders::new()
                        .add(("Cache-Control", "no-store"))
                        .add(("X-Content-Type-Options", "nosniff"))
                        .add(("Referrer-Policy", "no-referrer"))
                        .add(("X-Frame-Options", "DENY")),
                )
                .wrap(actix_web::middleware::from_fn(http::body_deadline))
                // Counts every answer, refusals by the layers above included.
                .wrap(actix_web::middleware::from_fn(routes::observe))
                // Outermost: the request's id for every line and answer, and
                // its access line (method, path never the query, status).
                .wrap(actix_web::middleware::from_fn(http::tag_request))
                .app_data(app_state.clone())
                .app_data(forgot.clone())
                .app_data(reset.clone())
                .app_data(provision.clone())
                .app_data(reset_requests.clone())
                .app_data(sign_in.clone())
                .app_data(operations.clone())
                .configure(|cfg| {
                    let settings = app_state.settings();
                    routes::configure(
                        cfg,
                        &settings.cors_allowed_origins,
                        settings.keeps_password_hashes(),
                        settings.metrics_access.bind_addr.is_none(),
                    )
                })
                .default_service(web::to(http::not_found))
        })
        .workers(settings.http_workers)
        // Signals are ours (run_until_stopped), so the worker stops with the server.
        .disable_signals()
        .client_request_timeout(settings.client_request_timeout)
        .shutdown_timeout(settings.shutdown_timeout.as_secs())
        .listen(listener)?
        .run();
        log::info!("listening on {local_addr}");
        let metrics_server = match settings.metrics_access.bind_addr {
            Some(addr) => Some(metrics_listener(addr, metrics_ops, &settings)?),
            None => None,
        };
        Ok(Self {
            port,
            server,
            metrics_server,
            worker,
            state,
            repo,
            fulfil,
        })
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// The port of `/metrics`' own listener, when it has one.
    pub fn metrics_port(&self) -> Option<u16> {
        self.metrics_server.as_ref().map(|(_, port)| *port)
    }

    pub fn state(&self) -> web::Data<AppState> {
        self.state.clone()
    }

    /// The application's storage, for what no API shows (tests).
    pub fn repo(&self) -> Repo {
        self.repo.clone()
    }

    /// The fulfil flow, to drive its steps one by one (tests).
    pub fn fulfil(&self) -> Fulfil {
        self.fulfil.clone()
    }

    /// A handle to the outbox worker, to drive it by hand (tests).
    pub fn worker(&self) -> OutboxWorker {
        self.worker.clone()
    }

    /// Serves until SIGINT or SIGTERM. Then, within one
    /// `SHUTDOWN_TIMEOUT_SECS`: the server stops accepting and finishes the
    /// requests in flight, and the worker starts no new row, finishes the
    /// deliveries in hand and releases the rows it claimed but did not
    /// start, so the next process sends them at once. A delivery still
    /// running at the deadline is abandoned; its lease lets another process
    /// take it over later.
    pub async fn run_until_stopped(self) -> anyhow::Result<()> {
        let settings = self.state.settings();
        let timeout = settings.shutdown_timeout;
        let (stop_tx, stop_rx) = watch::channel(false);
        let mut worker = settings
            .run_outbox_worker
            .then(|| tokio::spawn(self.worker.run(stop_rx)));
        let handle = self.server.handle();
        // The metrics listener has nothing in flight worth waiting for.
        let metrics_server = self.metrics_server.map(|(server, _)| {
            let handle = server.handle();
            (tokio::spawn(server), handle)
        });
        // The server runs as a task of its own: it must keep running to carry
        // out the stop command below.
        let mut server = tokio::spawn(self.server);
        let served = tokio::select! {
            served = &mut server => Some(served),
            signal = shutdown_signal() => {
                log::info!("{signal}: shutting down (at most {} s)", timeout.as_secs());
                None
            }
        };
        let deadline = tokio::time::Instant::now() + timeout;
        let _ = stop_tx.send(true);
        if let Some((task, handle)) = metrics_server {
            handle.stop(false).await;
            let _ = task.await;
        }
        // What the timeout cut short, if anything: said in the log and in
        // the exit status, never reported as a clean stop.
        let mut cut_short = Vec::new();
        let served = match served {
            Some(served) => served,
            None => {
                let stopped = tokio::time::timeout_at(deadline, async {
                    handle.stop(true).await;
                    (&mut server).await
                })
                .await;
                match stopped {
                    Ok(served) => served,
                    Err(_) => {
                        server.abort();
                        cut_short.push("requests still in flight were cut off");
                        Ok(Ok(()))
                    }
                }
            }
        }
        .context("the HTTP server task died")?;
        if let Some(worker) = worker.as_mut()
            && tokio::time::timeout_at(deadline, worker).await.is_err()
        {
            cut_short.push("a delivery in hand was abandoned mid-way (its lease lets another process take it over)");
        }
        if let Some(worker) = worker {
            worker.abort();
        }
        served.context("HTTP server failed")?;
        if cut_short.is_empty() {
            log::info!("stopped");
            Ok(())
        } else {
            let what = cut_short.join("; ");
            log::error!(
                "stopped at the shutdown timeout ({} s): {what}",
                timeout.as_secs()
            );
            anyhow::bail!("shutdown timed out after {} s: {what}", timeout.as_secs())
        }
    }
}

/// `/metrics` alone, on `addr` (one worker thread: a scrape is small).
fn metrics_listener(
    addr: std::net::SocketAddr,
    operations: web::Data<routes::Operations>,
    settings: &Settings,
) -> anyhow::Result<(Server, u16)> {
    let listener = TcpListener::bind(addr)
        .with_context(|| format!("cannot listen on METRICS_BIND_ADDR={addr}"))?;
    let local = listener.local_addr()?;
    let server = HttpServer::new(move || {
        App::new()
            .wrap(actix_web::middleware::from_fn(http::tag_request))
            .app_data(operations.clone())
            .configure(routes::configure_metrics_only)
    })
    .workers(1)
    .disable_signals()
    .client_request_timeout(settings.client_request_timeout)
    .listen(listener)?
    .run();
    log::info!("metrics listening on {local}");
    Ok((server, local.port()))
}

/// Waits for SIGTERM or SIGINT; says which.
async fn shutdown_signal() -> &'static str {
    use tokio::signal::unix::{SignalKind, signal};
    match (
        signal(SignalKind::terminate()),
        signal(SignalKind::interrupt()),
    ) {
        (Ok(mut term), Ok(mut int)) => tokio::select! {
            _ = term.recv() => "SIGTERM",
            _ = int.recv() => "SIGINT",
        },
        _ => {
            log::warn!("cannot listen for SIGTERM/SIGINT; serving until killed");
            std::future::pending().await
        }
    }
}
