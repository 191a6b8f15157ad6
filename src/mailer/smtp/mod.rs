//! SMTP: `SMTP_URL` in lettre's URL form (implicit TLS, STARTTLS
//! required, or plain for a local relay), `SMTP_POOL_SIZE` connections used
//! at once, each for many messages (`connections.rs`), a multipart text +
//! HTML message with its own `Message-ID` and `Date`. lettre builds the
//! message and speaks the protocol. 4xx replies, lost connections and
//! servers that do not answer in time are retried; 5xx replies are not.

mod connections;

use std::time::Duration;

use lettre::Message;
use lettre::message::{Mailbox, MultiPart, header};
use secrecy::{ExposeSecret, SecretString};

use super::{EmailMessage, Mailer, SendFuture};
use crate::send_error::SendError;
use connections::{Connections, Server};

pub struct SmtpMailer {
    connections: Connections,
}

/// Why the SMTP client could not be built (never shows the URL's password).
#[derive(Debug, thiserror::Error)]
#[error("SMTP_URL {shown}: {reason}")]
pub struct SmtpUrlError {
    shown: String,
    reason: String,
}

impl SmtpMailer {
    /// `url` was checked with the settings (`config::check_smtp_url`).
    /// `pool_size` connections are kept open and used at once, each for
    /// many messages (`SMTP_POOL_SIZE`).
    pub fn new(
        url: &SecretString,
        shown: &str,
        connect_timeout: Duration,
        timeout: Duration,
        pool_size: u32,
    ) -> Result<Self, SmtpUrlError> {
        let refused = |reason: String| SmtpUrlError {
            shown: shown.to_owned(),
            reason: crate::log_safe::clean(&reason),
        };
        let server = Server::from_url(url.expose_secret()).map_err(refused)?;
        let connections =
            Connections::new(server, connect_timeout, timeout, pool_size).map_err(refused)?;
        Ok(Self { connections })
    }
}

/// `<{outbox id}@{the sender's domain}>`: the same for every attempt at one
/// row, so a receiver can tell a resend after a lost reply from a new email.
pub fn message_id(outbox_id: &str, from: &str) -> String {
    let domain = from.rsplit_once('@').map_or("localhost", |(_, d)| d);
    format!("<{outbox_id}@{domain}>")
}

fn build(m: &EmailMessage) -> Result<(Message, String), SendError> {
    let mailbox = |what: &str, raw: &str| {
        raw.parse::<Mailbox>().map_err(|e| {
            SendError::Permanent(format!(
                "smtp: {what} {:?} is not an address: {e}",
                crate::log_safe::clean(raw)
            ))
        })
    };
    let id = message_id(&m.id, &m.from);
    let message = Message::builder()
        .from(mailbox("sender", &m.from)?)
        .to(mailbox("recipient", &m.to)?)
        .subject(m.subject.clone())
        .message_id(Some(id.clone()))
        .date_now()
        .header(header::MIME_VERSION_1_0)
        .multipart(MultiPart::alternative_plain_html(
            m.text.clone(),
            m.html.clone(),
        ))
        .map_err(|e| SendError::Permanent(format!("smtp: cannot build the message: {e}")))?;
    Ok((message, id))
}

/// A 5xx reply will be given again; anything else (4xx, a dropped or
/// refused connection, a timeout, TLS trouble) may pass later.
fn classify(e: &lettre::transport::smtp::Error) -> SendError {
    let reason = format!(
        "smtp: {}",
        crate::log_safe::clean(&crate::log_safe::without_jwts(&e.to_string()))
    );
    if e.is_permanent() {
        SendError::Permanent(reason)
    } else {
        SendError::Transient {
            reason,
            retry_after: None,
        }
    }
}

impl Mailer for SmtpMailer {
    fn send<'a>(&'a self, m: &'a EmailMessage) -> SendFuture<'a> {
        Box::pin(async move {
            let (message, id) = build(m)?;
            self.connections
                .send(message.envelope(), &message.formatted())
                .await?;
            Ok(Some(id))
        })
    }

    fn name(&self) -> &'static str {
        "smtp"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_message_is_multipart_with_its_own_id_and_date() {
        let (message, id) = build(&EmailMessage {
            id: "0b6f3c1e".into(),
            from: "no-reply@acme.example".into(),
            to: "reader@example.com".into(),
            subject: "Reset your password".into(),
            text: "Open https://x.test/r?token=abc".into(),
            html: "<p><a href=\"https://x.test/r?token=abc\">Reset</a></p>".into(),
        })
        .unwrap();
        assert_eq!(id, "<0b6f3c1e@acme.example>");
        let raw = String::from_utf8(message.formatted()).unwrap();
        for expected in [
            "Message-ID: <0b6f3c1e@acme.example>",
            "Date: ",
            "MIME-Version: 1.0",
            "Content-Type: multipart/alternative;",
            "Content-Type: text/plain; charset=utf-8",
            "Content-Type: text/html; charset=utf-8",
        ] {
            assert!(raw.contains(expected), "{expected} in\n{raw}");
        }
    }

    #[test]
    fn a_recipient_that_is_no_address_is_permanent() {
        let refused = build(&EmailMessage {
            id: "1".into(),
            from: "no-reply@acme.example".into(),
            to: "not an address".into(),
            subject: String::new(),
            text: String::new(),
            html: String::new(),
        });
        assert!(matches!(refused, Err(SendError::Permanent(_))));
    }
}
