//! Send: the worker hands a queued email or webhook to the other side. An
//! `email` row (`email.rs`: a reset link, rebuilt and checked at send time,
//! or a password-changed notice, rendered from the current templates) goes
//! to the mailer; a `webhook` row (`webhook.rs`) is signed anew and posted.
//! Entry points: the two rows' jobs.

mod email;
mod webhook;

pub use email::SendEmail;
pub use webhook::SendWebhook;
