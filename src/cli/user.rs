//! `pwreset user ...`: the same flows as the internal API, with refusals in
//! an operator's words.

use std::io::Read;
use std::path::PathBuf;

use anyhow::{Context, bail};
use clap::Subcommand;

use crate::domain::{EmailAddress, PasswordProblem, UserId};
use crate::flow_error::FlowError;
use crate::flows::import::records::ImportFormat;
use crate::i18n::Locale;
use crate::startup::Kernel;

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

pub(super) async fn run(command: UserCommand, kernel: &Kernel) -> anyhow::Result<()> {
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
        FlowError::KeepsNoHashes => anyhow::anyhow!(
            "--password-stdin refused: PASSWORD_HANDOFF_URL is set, so the application holds the \
             passwords and pwreset keeps none; add the user without a password"
        ),
        FlowError::HandoffFailed => anyhow::anyhow!(
            "the application (PASSWORD_HANDOFF_URL) did not accept the new password; nothing \
             changed, see the log for its answer"
        ),
        other => other.into(),
    }
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
