//! Wiring: pools, migrations, the HTTP server and the outbox worker.

use std::net::TcpListener;
use std::sync::Arc;

use actix_web::dev::Server;
use actix_web::middleware::{DefaultHeaders, Logger};
use actix_web::{App, HttpServer, web};
use anyhow::Context;
use tokio::sync::{Notify, watch};

use crate::clock::Clock;
use crate::config::{MailProvider, Settings};
use crate::mailer;
use crate::mailer::templates::Templates;
use crate::outbox::{Couriers, OutboxWorker};
use crate::password::PasswordHasher;
use crate::reset::Actions;
use crate::routes::{self, AppState};
use crate::storage::{PoolOptions, Repo};
use crate::tokens::TokenCodec;
use crate::webhooks::WebhookSender;

pub struct Application {
    port: u16,
    server: Server,
    worker: OutboxWorker,
    state: web::Data<AppState>,
}

/// Opens the database and applies pending migrations.
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
    log::info!("database: {}", repo.describe().await?);
    Ok(repo)
}

/// The actions over an opened database, for the server and the CLI alike.
pub async fn build_actions(settings: Settings, clock: Clock) -> anyhow::Result<Actions> {
    let keys = settings.load_keys()?;
    let repo = open_database(&settings).await?;
    let codec = TokenCodec::new(
        keys,
        settings.jwt_issuer.clone(),
        settings.jwt_audience.clone(),
    );
    let hasher = PasswordHasher::new(
        settings.bcrypt_cost,
        settings.bcrypt_max_concurrency,
        settings.bcrypt_queue_timeout,
    );
    Ok(Actions::new(
        repo,
        codec,
        hasher,
        Arc::new(settings),
        clock,
        Arc::new(Notify::new()),
    ))
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
        let templates = Templates::load(settings.mail.template_dir.as_deref())?;
        let webhooks = WebhookSender::new(
            settings.webhooks.secret.clone(),
            settings.mail.connect_timeout,
            settings.mail.timeout,
        )
        .context("building the webhook client")?;
        let actions = build_actions(settings, clock).await?;
        let worker = OutboxWorker::new(
            actions.clone(),
            Couriers {
                mailer,
                webhooks,
                templates,
            },
            actions.worker_wake(),
        );
        let settings = actions.settings.clone();
        let state = web::Data::new(AppState { actions });

        let listener = TcpListener::bind(settings.bind_addr)
            .with_context(|| format!("cannot listen on BIND_ADDR={}", settings.bind_addr))?;
        let local_addr = listener.local_addr()?;
        let port = local_addr.port();
        let app_state = state.clone();
        let server = HttpServer::new(move || {
            App::new()
                .wrap(
                    DefaultHeaders::new()
                        .add(("Cache-Control", "no-store"))
                        .add(("X-Content-Type-Options", "nosniff"))
                        .add(("Referrer-Policy", "no-referrer"))
                        .add(("X-Frame-Options", "DENY")),
                )
                // Method, path (never the query string) and status: no secrets.
                .wrap(
                    Logger::new("%{route}xi %s %Dms").custom_request_replace("route", |req| {
                        format!("{} {}", req.method(), req.path())
                    }),
                )
                .app_data(app_state.clone())
                .app_data(routes::json_config())
                .configure(|cfg| routes::configure(cfg, &app_state.settings().cors_allowed_origins))
                .default_service(web::to(routes::not_found))
        })
        .workers(settings.http_workers)
        .shutdown_timeout(30)
        .listen(listener)?
        .run();
        log::info!("listening on {local_addr}");
        Ok(Self {
            port,
            server,
            worker,
            state,
        })
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    pub fn state(&self) -> web::Data<AppState> {
        self.state.clone()
    }

    /// A handle to the outbox worker, to drive it by hand (tests).
    pub fn worker(&self) -> OutboxWorker {
        self.worker.clone()
    }

    /// Serves until the server stops (SIGINT/SIGTERM: stop accepting, finish
    /// in-flight requests), then lets the worker finish its row and exit.
    pub async fn run_until_stopped(self) -> anyhow::Result<()> {
        let (stop_tx, stop_rx) = watch::channel(false);
        let worker = if self.state.settings().run_outbox_worker {
            Some(tokio::spawn(self.worker.run(stop_rx)))
        } else {
            None
        };
        let served = self.server.await;
        let _ = stop_tx.send(true);
        if let Some(worker) = worker {
            let _ = worker.await;
        }
        served.context("HTTP server failed")
    }
}
