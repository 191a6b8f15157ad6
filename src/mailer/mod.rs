//! Sending email. The outbox worker hands each message to a `Mailer`; which
//! one is chosen by `MAIL_PROVIDER`.

mod file;
mod log_mailer;
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

pub fn from_settings(settings: &Settings) -> Arc<dyn Mailer> {
    match settings.mail.provider {
        MailProvider::Log => Arc::new(LogMailer),
        MailProvider::File => Arc::new(FileMailer::new(settings.mail.file_dir.clone())),
    }
}
