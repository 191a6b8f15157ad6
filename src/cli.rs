//! Command line: `serve` (default), `migrate`, `config`, `user ...`,
//! `keys generate`, `outbox ...`, `prune`, `mail preview`, `healthcheck`. User
//! commands call the same flows (`flows/`) as the internal API.

use std::io::Read;
use std::path::PathBuf;

use anyhow::{Context, bail};
use clap::{Parser, Subcommand};

use crate::clock::Clock;
use crate::config::{ConfigError, Settings, vars};
use crate::domain::{EmailAddress, OutboxId, PasswordProblem, UserId};
use crate::flow_error::FlowError;
use crate::flows::import::records::ImportFormat;
use crate::flows::prune::Retention;
use crate::i18n::Locale;
use crate::mailer::templates::{Branding, Templates};
use crate::messages::OutboxStatus;
use crate::startup::{Application, Kernel, open_database};

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
pub enum UserCommand {
    /// Create a user.
    Add {
        email: String,
        /// The user's id (your system's id); a random UUID when omitted.
        #[arg(long)]
        id: Option<String>,
        /// Read the initial password from standard input.
        #[arg(long)]
        password_stdin: bool,
    },
    /// Set a user's password (read from standard input); kills their reset links.
    SetPassword {
        email: String,
        #[arg(long, required = true)]
        password_stdin: bool,
    },
    /// Disable a user; kills their reset links.
    Disable { email: String },
    /// Create or update users from a file (JSON Lines, or Django's
    /// `manage.py dumpdata auth.user`); `-` reads standard input. Prints
    /// what it did and every refused record; exits 1 when any was refused.
    Import {
        file: PathBuf,
        #[arg(long, value_enum, default_value = "jsonl")]
        format: ImportFormat,
    },
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
            run_user(command, &kernel).await?
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

async fn run_user(command: UserCommand, kernel: &Kernel) -> anyhow::Result<()> {
    match command {
        UserCommand::Add {
            email,
            id,
            password_stdin,
        } => {
            let email = parse_email(&email)?;
            let id = match id {
                Some(raw) => UserId::parse(&raw).context("--id")?,
                None => UserId::random(),
            };
            let password = password_stdin.then(read_password).transpose()?;
            kernel
                .provision()
                .add_user(&id, &email, password.as_deref())
                .await
                .map_err(|e| match e {
                    FlowError::Conflict => {
                        anyhow::anyhow!("a user with id {id} or email {email} already exists")
                    }
                    other => explain(other, &email),
                })?;
            println!("created user {id} <{email}>");
        }
        UserCommand::SetPassword { email, .. } => {
            let email = parse_email(&email)?;
            let password = read_password()?;
            let user = kernel
                .reset()
                .set_password(&email, &password)
                .await
                .map_err(|e| explain(e, &email))?;
            println!(
                "password set for user {} <{email}>; outstanding reset links revoked",
                user.id
            );
        }
        UserCommand::Import { file, format } => import(kernel, &file, format).await?,
        UserCommand::Disable { email } => {
            let email = parse_email(&email)?;
            let user = kernel
                .provision()
                .disable_user(&email)
                .await
                .map_err(|e| explain(e, &email))?;
            println!(
                "disabled user {} <{email}>; outstanding reset links revoked",
                user.id
            );
        }
    }
    Ok(())
}

/// `pwreset user import`: the summary on standard output, each refused
/// record on standard error, failure when any was refused.
async fn import(
    kernel: &Kernel,
    file: &std::path::Path,
    format: ImportFormat,
) -> anyhow::Result<()> {
    let import = kernel.import();
    let report = if file.as_os_str() == "-" {
        import.run(std::io::stdin().lock(), format).await
    } else {
        let opened =
            std::fs::File::open(file).with_context(|| format!("opening {}", file.display()))?;
        import
            .run(std::io::BufReader::with_capacity(1 << 16, opened), format)
            .await
    }
    .with_context(|| format!("importing {}", file.display()))?;
    for refusal in &report.refused {
        eprintln!("refused {}: {}", refusal.position, refusal.reason);
    }
    println!("{report}");
    if !report.refused.is_empty() {
        bail!(
            "{} record(s) refused; the others were imported",
            report.refused.len()
        );
    }
    Ok(())
}

/// An action's refusal in an operator's words.
fn explain(e: FlowError, email: &EmailAddress) -> anyhow::Error {
    match e {
        FlowError::UserNotFound => anyhow::anyhow!("no user with email {email}"),
        FlowError::WeakPassword(problems) => anyhow::anyhow!(
            "password refused: {}",
            PasswordProblem::messages(&problems, &Locale::english()).join(" ")
        ),
        other => other.into(),
    }
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
            templates.reset(&branding, &link, minutes, &locale)
        }
        PreviewTemplate::Changed => templates.password_changed(&branding, &locale),
    }?;
    println!(
        "From: {}\nSubject: {}\n\n----- text -----\n{}\n----- html -----\n{}",
        settings.default_from_email, rendered.subject, rendered.text, rendered.html
    );
    Ok(())
}

fn parse_email(raw: &str) -> anyhow::Result<EmailAddress> {
    EmailAddress::parse(raw).with_context(|| format!("{raw:?}"))
}

/// The password from standard input, without its final line break.
fn read_password() -> anyhow::Result<String> {
    let mut input = String::new();
    std::io::stdin()
        .read_to_string(&mut input)
        .context("reading the password from standard input")?;
    let password = input
        .strip_suffix('\n')
        .map_or(input.as_str(), |p| p.strip_suffix('\r').unwrap_or(p));
    Ok(password.to_owned())
}
