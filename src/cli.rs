//! Command line: `serve` (default), `migrate`, `user ...`, `keys generate`.

use std::io::Read;

use anyhow::{Context, bail};
use clap::{Parser, Subcommand};

use crate::clock::Clock;
use crate::config::Settings;
use crate::domain::{EmailAddress, PasswordPolicy};
use crate::mailer::templates::{Branding, Templates};
use crate::password::PasswordHasher;
use crate::startup::{Application, open_database};
use crate::storage::users::{InsertUserError, NewUser};

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
    /// Manage users.
    #[command(subcommand)]
    User(UserCommand),
    /// Manage signing keys.
    #[command(subcommand)]
    Keys(KeysCommand),
    /// Inspect and re-queue outgoing messages.
    #[command(subcommand)]
    Outbox(OutboxCommand),
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
        #[arg(long)]
        status: Option<String>,
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
}

#[derive(Debug, Subcommand)]
pub enum KeysCommand {
    /// Print a new random signing key for JWT_SECRET.
    Generate,
}

/// Runs a command that needs no configuration, if this is one.
pub async fn run_without_settings(cli: &Cli) -> anyhow::Result<bool> {
    match &cli.command {
        Some(Command::Keys(KeysCommand::Generate)) => print_new_key()?,
        Some(Command::Healthcheck { url }) => healthcheck(url).await?,
        _ => return Ok(false),
    }
    Ok(true)
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

pub async fn run(cli: Cli, settings: Settings) -> anyhow::Result<()> {
    let clock = Clock::system();
    match cli.command.unwrap_or(Command::Serve) {
        Command::Serve => {
            Application::build(settings, clock)
                .await?
                .run_until_stopped()
                .await
        }
        Command::Migrate => {
            open_database(&settings).await?;
            println!("database is up to date");
            Ok(())
        }
        Command::User(command) => run_user(command, &settings, &clock).await,
        Command::Keys(KeysCommand::Generate) => print_new_key(),
        Command::Outbox(command) => run_outbox(command, &settings, &clock).await,
        Command::Mail(MailCommand::Preview { template }) => preview(template, &settings),
        Command::Healthcheck { url } => healthcheck(&url).await,
    }
}

async fn run_user(command: UserCommand, settings: &Settings, clock: &Clock) -> anyhow::Result<()> {
    let repo = open_database(settings).await?;
    let hasher = PasswordHasher::new(settings.bcrypt_cost, 1, std::time::Duration::from_secs(60));
    let policy = PasswordPolicy {
        min_chars: settings.password_min_length,
    };
    let now = clock.now_naive();
    match command {
        UserCommand::Add {
            email,
            id,
            password_stdin,
        } => {
            let email = parse_email(&email)?;
            let hash = if password_stdin {
                let password = read_password(&policy, &email, settings)?;
                Some(hasher.hash(&password).await?)
            } else {
                None
            };
            let id = id.unwrap_or_else(|| uuid::Uuid::new_v4().to_string());
            if id.trim().is_empty() || id.len() > 255 || id.chars().any(char::is_control) {
                bail!("--id must be 1 to 255 printable characters");
            }
            let user = NewUser {
                id: &id,
                email: email.as_str(),
                password_hash: hash.as_deref(),
                disabled: false,
                password_changed_at: hash.as_ref().map(|_| now),
                created_at: now,
                updated_at: now,
            };
            match repo.insert_user(&user).await {
                Ok(()) => println!("created user {id} <{email}>"),
                Err(InsertUserError::Conflict) => {
                    bail!("a user with id {id} or email {email} already exists")
                }
                Err(InsertUserError::Storage(e)) => return Err(e.into()),
            }
        }
        UserCommand::SetPassword { email, .. } => {
            let email = parse_email(&email)?;
            let user = repo
                .find_user_by_email(email.as_str())
                .await?
                .with_context(|| format!("no user with email {email}"))?;
            let password = read_password(&policy, &email, settings)?;
            let hash = hasher.hash(&password).await?;
            let notice = crate::issue::password_changed_row(&user, clock.now());
            repo.set_password_hash(&user.id, &hash, now, &[notice])
                .await?;
            println!(
                "password set for user {} <{email}>; outstanding reset links revoked",
                user.id
            );
        }
        UserCommand::Disable { email } => {
            let email = parse_email(&email)?;
            let user = repo
                .find_user_by_email(email.as_str())
                .await?
                .with_context(|| format!("no user with email {email}"))?;
            repo.disable_user(&user.id, now).await?;
            println!(
                "disabled user {} <{email}>; outstanding reset links revoked",
                user.id
            );
        }
    }
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
            let rows = repo.list_outbox(limit.clamp(1, 10_000)).await?;
            println!(
                "{:<36}  {:<13}  {:<7}  {:>8}  {:<19}  last error",
                "id", "kind", "status", "attempts", "next attempt"
            );
            for row in rows
                .iter()
                .filter(|r| status.as_deref().is_none_or(|s| r.status == s))
            {
                // Never the payload: it may hold a (sealed) token or an address list.
                println!(
                    "{:<36}  {:<13}  {:<7}  {:>8}  {:<19}  {}",
                    row.id,
                    row.kind,
                    row.status,
                    row.attempts,
                    if row.status == "pending" {
                        row.next_attempt_at.format("%Y-%m-%d %H:%M:%S").to_string()
                    } else {
                        "-".into()
                    },
                    row.last_error.as_deref().unwrap_or("")
                );
            }
        }
        OutboxCommand::Retry { id } => {
            if repo.retry_dead_outbox_row(&id, clock.now_naive()).await? {
                println!("outbox {id} is pending again; the worker of a running server sends it");
            } else {
                bail!("no dead outbox row with id {id}");
            }
        }
    }
    Ok(())
}

fn preview(template: PreviewTemplate, settings: &Settings) -> anyhow::Result<()> {
    let templates = Templates::load(settings.mail.template_dir.as_deref())?;
    let branding = Branding {
        app_name: &settings.app_name,
        support_contact: settings.support_contact.as_deref(),
    };
    let rendered = match template {
        PreviewTemplate::Reset => {
            let link = settings.reset_link("<token>");
            let minutes = settings.reset_token_ttl.as_secs().div_ceil(60);
            templates.reset(&branding, &link, minutes)
        }
        PreviewTemplate::Changed => templates.password_changed(&branding),
    }
    .map_err(|e| anyhow::anyhow!(e))?;
    println!(
        "From: {}\nSubject: {}\n\n----- text -----\n{}\n----- html -----\n{}",
        settings.default_from_email, rendered.subject, rendered.text, rendered.html
    );
    Ok(())
}

fn parse_email(raw: &str) -> anyhow::Result<EmailAddress> {
    EmailAddress::parse(raw).map_err(|why| anyhow::anyhow!("{raw:?}: {why}"))
}

fn read_password(
    policy: &PasswordPolicy,
    email: &EmailAddress,
    settings: &Settings,
) -> anyhow::Result<crate::domain::NewPassword> {
    let mut input = String::new();
    std::io::stdin()
        .read_to_string(&mut input)
        .context("reading the password from standard input")?;
    let password = input
        .strip_suffix('\n')
        .map_or(input.as_str(), |p| p.strip_suffix('\r').unwrap_or(p));
    let mut inputs = vec![settings.app_name.as_str()];
    inputs.extend(email.guessable_parts());
    policy
        .check(password, &inputs)
        .map_err(|problems| anyhow::anyhow!("password refused: {}", problems.join(" ")))
}
