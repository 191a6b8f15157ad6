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
mod ses;
pub mod smtp;
pub mod templates;

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

pub use crate::send_error::SendError;
pub use file::FileMailer;
pub use log_mailer::LogMailer;

use crate::config::{MailProvider, MailSettings};

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

pub type SendFuture<'a> =
    Pin<Box<dyn Future<Output = Result<Option<String>, SendError>> + Send + 'a>>;

pub trait Mailer: Send + Sync {
    /// Sends the message; returns the provider's message id when it gives one.
    fn send<'a>(&'a self, message: &'a EmailMessage) -> SendFuture<'a>;
    fn name(&self) -> &'static str;
}

/// Why a mailer could not be built from settings that parsed.
#[derive(Debug, thiserror::Error)]
pub enum MailerError {
    #[error("building the HTTP client: {0}")]
    Http(#[from] reqwest::Error),
    #[error(transparent)]
    Smtp(#[from] smtp::SmtpUrlError),
}

/// The mailer MAIL_PROVIDER names. Its settings were parsed already, so
/// only building the client can fail.
pub fn from_settings(mail: &MailSettings) -> Result<Arc<dyn Mailer>, MailerError> {
    let api: Box<dyn http_api::ProviderApi> = match mail.provider.clone() {
        MailProvider::Log => return Ok(Arc::new(LogMailer)),
        MailProvider::File { dir } => return Ok(Arc::new(FileMailer::new(dir))),
        MailProvider::Postmark {
            base_url,
            server_token,
        } => Box::new(postmark::Postmark {
            base_url,
            server_token,
        }),
        MailProvider::Sendgrid { base_url, api_key } => {
            Box::new(sendgrid::Sendgrid { base_url, api_key })
        }
        MailProvider::Mailgun {
            base_url,
            api_key,
            domain,
        } => Box::new(mailgun::Mailgun {
            base_url,
            api_key,
            domain,
        }),
        MailProvider::Resend { base_url, api_key } => {
            Box::new(resend::Resend { base_url, api_key })
        }
        MailProvider::Mailpit { base_url, api_key } => {
            Box::new(mailpit::Mailpit { base_url, api_key })
        }
        MailProvider::Http { url, api_key } => Box::new(http::GenericHttp { url, api_key }),
        MailProvider::Smtp { url, shown } => {
            return Ok(Arc::new(smtp::SmtpMailer::new(
                &url,
                &shown,
                mail.connect_timeout,
                mail.timeout,
                mail.smtp_pool_size,
            )?));
        }
        MailProvider::Ses {
            base_url,
            region,
            credentials,
        } => Box::new(ses::Ses {
            base_url,
            region,
            credentials,
        }),
    };
    Ok(Arc::new(http_api::HttpMailer::new(
        api,
        mail.connect_timeout,
        mail.timeout,
    )?))
}
