//! pwreset: a password-reset microservice. The map of the modules and who
//! may call whom is docs/architecture.md.

pub mod breach;
pub mod cli;
pub mod client_ip;
pub mod clock;
pub mod config;
pub mod delivery;
pub mod domain;
pub mod error;
pub mod i18n;
mod keyfile;
pub mod limits;
pub mod log_safe;
pub mod mailer;
pub mod messages;
pub mod metrics;
pub mod outbox;
pub mod password;
pub mod reset;
pub mod routes;
pub mod startup;
pub mod storage;
pub mod tokens;
pub mod webhooks;
