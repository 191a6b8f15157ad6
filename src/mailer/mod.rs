//! Sending email. The outbox worker hands each message to a `Mailer`; which
//! one is chosen by `MAIL_PROVIDER`.

mod file;
mod http;
pub mod http_api;
mod log_mailer;
mod mailgun;
mod mailpit;
mod postmark;
mod resend;
mod sendgrid;
pub mod templates;

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

pub use file::FileMailer;
pub use log_mailer::LogMailer;

use crate::config::{MailProvider, Settings};

/// One outgoing message. Bodies may hold a reset link, so Debug omits them.
#[derive(Clone)]
pub struct EmailMessage {
    /// The outbox row id: stable across retries (idempotency key).
    pub id: String,
    pub from: String,
    pub to: String,
    pub subject: String,
    pub text: String,
    pub html: String,
}

impl fmt::Debug for EmailMessage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EmailMessage")
            .field("id", &self.id)
            .field("to", &self.to)
            .field("subject", &self.subject)
            .finish_non_exhaustive()
    }
}

/// Why a send failed, and whether trying again can help.
#[derive(Debug, thiserror::Error)]
pub enum SendError {
    #[error("temporary failure: {reason}")]
    Transient {
        reason: String,
        retry_after: Option<Duration>,
    },
    #[error("permanent failure: {0}")]
    Permanent(String),
}

pub type SendFuture<'a> =
    Pin<Box<dyn Future<Output = Result<Option<String>, SendError>> + Send + 'a>>;

pub trait Mailer: Send + Sync {
    /// Sends the message; returns the provider's message id when it gives one.
    fn send<'a>(&'a self, message: &'a EmailMessage) -> SendFuture<'a>;
    fn name(&self) -> &'static str;
}

/// The mailer MAIL_PROVIDER names. Settings were validated already, so a
/// missing key here is reported the same way, not assumed away.
pub fn from_settings(settings: &Settings) -> Result<Arc<dyn Mailer>, String> {
    let mail = &settings.mail;
    let base = |default: &str| {
        mail.api_base_url
            .clone()
            .unwrap_or_else(|| default.to_owned())
    };
    let key = || {
        mail.api_key.clone().ok_or_else(|| {
            format!(
                "MAIL_API_KEY is required with MAIL_PROVIDER={}",
                mail.provider.name()
            )
        })
    };
    let api: Box<dyn http_api::ProviderApi> = match mail.provider {
        MailProvider::Log => return Ok(Arc::new(LogMailer)),
        MailProvider::File => return Ok(Arc::new(FileMailer::new(mail.file_dir.clone()))),
        MailProvider::Postmark => Box::new(postmark::Postmark {
            base_url: base(postmark::DEFAULT_BASE_URL),
            server_token: key()?,
        }),
        MailProvider::Sendgrid => Box::new(sendgrid::Sendgrid {
            base_url: base(sendgrid::DEFAULT_BASE_URL),
            api_key: key()?,
        }),
        MailProvider::Mailgun => Box::new(mailgun::Mailgun {
            base_url: base(mailgun::DEFAULT_BASE_URL),
            api_key: key()?,
            domain: mail
                .mailgun_domain
                .clone()
                .ok_or("MAILGUN_DOMAIN is required with MAIL_PROVIDER=mailgun")?,
        }),
        MailProvider::Resend => Box::new(resend::Resend {
            base_url: base(resend::DEFAULT_BASE_URL),
            api_key: key()?,
        }),
        MailProvider::Mailpit => Box::new(mailpit::Mailpit {
            base_url: base(mailpit::DEFAULT_BASE_URL),
            api_key: mail.api_key.clone(),
        }),
        MailProvider::Http => Box::new(http::GenericHttp {
            url: mail
                .api_base_url
                .clone()
                .ok_or("MAIL_API_BASE_URL is required with MAIL_PROVIDER=http")?,
            api_key: mail.api_key.clone(),
        }),
    };
    Ok(Arc::new(http_api::HttpMailer::new(
        api,
        mail.connect_timeout,
        mail.timeout,
    )?))
}
