//! The development mailbox: prints each message to standard output (not the
//! log), so a developer can click the link. Start-up warns that it is not for
//! production.

use std::io::Write;

use super::{EmailMessage, Mailer, SendError, SendFuture};

pub struct LogMailer;

impl Mailer for LogMailer {
    fn send<'a>(&'a self, message: &'a EmailMessage) -> SendFuture<'a> {
        Box::pin(async move {
            let mut out = std::io::stdout().lock();
            writeln!(
                out,
                "----- email {} -----\nFrom: {}\nTo: {}\nSubject: {}\n\n{}\n----- end of email -----",
                message.id, message.from, message.to, message.subject, message.text
            )
            .and_then(|()| out.flush())
            .map_err(|e| SendError::Transient { reason: e.to_string(), retry_after: None })?;
            Ok(None)
        })
    }

    fn name(&self) -> &'static str {
        "log"
    }
}
