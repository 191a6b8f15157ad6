//! Command line: `serve` (default), `migrate`, `config`, `user ...`,
//! `keys generate`, `outbox ...`, `prune`, `mail preview`, `healthcheck`. User
//! commands call the same flows (`flows/`) as the internal API.

use anyhow::{Context, bail};
use clap::{Parser, Subcommand};

use crate::clock::Clock;
use crate::config::{ConfigError, Settings, vars};
use crate::domain::OutboxId;
use crate::flows::prune::Retention;
use crate::i18n::Locale;
use crate::mailer::templates::{Branding, ResetContent, Templates};
use crate::messages::OutboxStatus;
use crate::startup::{Application, Kernel, open_database};

mod user;

use user::UserCommand;

#[derive(Debug, Parser)]
#[command(name = "pwreset", version, about = "Password-reset microservice")]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the HTTP server and the outbox worker (the default).
    Serve,
    /// Apply pending database migrations and exit.
    Migrate,
    /// List every configuration variable with its default and meaning.
    Config,
    /// Manage users.
    #[command(subcommand)]
    User(UserCommand),
    /// Manage signing keys.
    #[command(subcommand)]
    Keys(KeysCommand),
    /// Inspect and re-queue outgoing messages.
    #[command(subcommand)]
    Outbox(OutboxCommand),
    /// Delete settled outbox rows and used or expired tokens older than
    /// RETENTION_SECS (the running worker does this every few minutes).
    Prune,
    /// Show what the email templates produce.
    #[command(subcommand)]
    Mail(MailCommand),
    /// Exit 0 when the server at --url answers /readyz (for container health checks).
    Healthcheck {
        #[arg(long, default_value = "http://127.0.0.1:8080/readyz")]
        url: String,
    },
}

#[derive(Debug, Subcommand)]
pub enum OutboxCommand {
    /// List rows, newest first: id, kind, status, attempts, next attempt, last error.
    List {
        /// Only rows with this status (pending, sent, done, dead).
        #[arg(long, value_parser = parse_status)]
        status: Option<OutboxStatus>,
        #[arg(long, default_value_t = 50)]
        limit: i64,
    },
    /// Put a dead row back in the queue.
    Retry { id: String },
}

#[derive(Debug, Subcommand)]
pub enum MailCommand {
    /// Print a message as it would be sent (subject, text, HTML).
    Preview {
        #[arg(value_enum)]
        template: PreviewTemplate,
        /// The language (en, de, fr, es, ...); English when omitted.
        #[arg(long)]
        locale: Option<String>,
    },
}

#[derive(Clone, Copy, Debug, clap::ValueEnum)]
pub enum PreviewTemplate {
    Reset,
    Changed,
}

#[derive(Debug, Subcommand)]
pub enum KeysCommand {
    /// Print a new random signing key for JWT_SECRET.
    Generate,
}

/// Why a command failed: settings that do not parse (exit 2) or anything
/// else (exit 1).
#[derive(Debug, thiserror::Error)]
pub enum CliError {
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error(transparent)]
    Failed(#[from] anyhow::Error),
}

fn parse_status(raw: &str) -> Result<OutboxStatus, String> {
    OutboxStatus::parse(raw).ok_or_else(|| "expected pending, sent, done or dead".to_owned())
}

/// Runs the command; settings are read (by `settings`) only by the commands
/// that need them.
pub async fn run(
    cli: Cli,
    settings: impl FnOnce() -> Result<Settings, ConfigError>,
) -> Result<(), CliError> {
    let clock = Clock::system();
    match cli.command.unwrap_or(Command::Serve) {
        Command::Keys(KeysCommand::Generate) => print_new_key()?,
        Command::Healthcheck { url } => healthcheck(&url).await?,
        Command::Config => print!("{}", vars::describe()),
        Command::Serve => {
            Application::build(settings()?, clock)
                .await?
                .run_until_stopped()
                .await?
        }
        Command::Migrate => {
            open_database(&settings()?).await?;
            println!("database is up to date");
        }
        Command::User(command) => {
            let kernel = Kernel::build(settings()?, clock).await?;
            user::run(command, &kernel).await?
        }
        Command::Outbox(command) => run_outbox(command, &settings()?, &clock).await?,
        Command::Prune => {
            let settings = settings()?;
            let retention =
                Retention::new(open_database(&settings).await?, clock, settings.retention);
            let report = retention.prune().await.map_err(anyhow::Error::from)?;
            println!(
                "deleted {} outbox row(s), {} token(s) and {} rate-limit key(s) older than RETENTION_SECS={}",
                report.outbox_rows,
                report.tokens,
                report.rate_limit_keys,
                retention.keep_for().as_secs()
            );
        }
        Command::Mail(MailCommand::Preview { template, locale }) => {
            preview(template, locale.as_deref(), &settings()?)?
        }
    }
    Ok(())
}

async fn healthcheck(url: &str) -> anyhow::Result<()> {
    let response = reqwest::Client::builder()
        .timeout(std::time::Duration::from_secs(3))
        .build()?
        .get(url)
        .send()
        .await
        .with_context(|| format!("{url} did not answer"))?;
    if !response.status().is_success() {
        bail!("{url} answered {}", response.status());
    }
    Ok(())
}

fn print_new_key() -> anyhow::Result<()> {
    println!(
        "{}",
        crate::tokens::generate_secret().context("OS random generator")?
    );
    Ok(())
}

async fn run_outbox(
    command: OutboxCommand,
    settings: &Settings,
    clock: &Clock,
) -> anyhow::Result<()> {
    let repo = open_database(settings).await?;
    match command {
        OutboxCommand::List { status, limit } => {
            let rows = repo.list_outbox(status, limit.clamp(1, 10_000)).await?;
            println!(
                "{:<36}  {:<13}  {:<7}  {:>8}  {:<19}  last error",
                "id", "kind", "status", "attempts", "next attempt"
            );
            for row in &rows {
                // Never the payload: it may hold a (sealed) token or an address list.
                println!(
                    "{:<36}  {:<13}  {:<7}  {:>8}  {:<19}  {}",
                    row.id,
                    row.kind,
                    row.status,
                    row.attempts,
                    if row.status == OutboxStatus::Pending {
                        row.next_attempt_at.format("%Y-%m-%d %H:%M:%S").to_string()
                    } else {
                        "-".into()
                    },
                    row.last_error.as_deref().unwrap_or("")
                );
            }
        }
        OutboxCommand::Retry { id } => {
            let id = OutboxId::from_operator(&id);
            if repo.retry_dead_outbox_row(&id, clock.now_naive()).await? {
                println!("outbox {id} is pending again; the worker of a running server sends it");
            } else {
                bail!("no dead outbox row with id {id}");
            }
        }
    }
    Ok(())
}

fn preview(
    template: PreviewTemplate,
    locale: Option<&str>,
    settings: &Settings,
) -> anyhow::Result<()> {
    let locale = match locale {
        Some(raw) => Locale::parse(raw).with_context(|| {
            format!(
                "--locale {raw:?}: expected one of {}",
                Locale::all()
                    .iter()
                    .map(Locale::tag)
                    .collect::<Vec<_>>()
                    .join(", ")
            )
        })?,
        None => Locale::english(),
    };
    let templates = Templates::load(settings.mail.template_dir.as_deref())?;
    let branding = Branding {
        app_name: &settings.app_name,
        support_contact: settings.support_contact.as_deref(),
    };
    let rendered = match template {
        PreviewTemplate::Reset => {
            let link = settings.reset_link("<token>");
            let minutes = settings.reset_token_ttl.as_secs().div_ceil(60);
            // A sample code: the real one exists only in its email.
            let content = ResetContent {
                link: &link,
                lifetime_minutes: minutes,
                code: Some("1234 5678"),
                code_in_subject: settings.codes.in_subject,
            };
            templates.reset(&branding, &content, &locale)
        }
        PreviewTemplate::Changed => templates.password_changed(&branding, &locale),
    }?;
    println!(
        "From: {}\nSubject: {}\n\n----- text -----\n{}\n----- html -----\n{}",
        settings.default_from_email, rendered.subject, rendered.text, rendered.html
    );
    Ok(())
}
