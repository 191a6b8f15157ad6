//! pwreset: a password-reset microservice. The map of the modules and who
//! may call whom is docs/architecture.md.

pub(crate) mod announce;
pub(crate) mod breach;
pub mod cli;
pub(crate) mod client_ip;
pub mod clock;
pub(crate) mod codes;
pub mod config;
pub mod domain;
pub(crate) mod error;
pub mod flow_error;
pub mod flows;
pub(crate) mod handoff;
pub(crate) mod hasher;
pub mod http;
pub(crate) mod i18n;
pub(crate) mod issuing;
mod keyfile;
pub(crate) mod limits;
pub mod log_context;
pub(crate) mod log_safe;
pub mod logging;
pub mod mailer;
pub mod messages;
pub(crate) mod metrics;
pub mod outbox;
pub mod routes;
pub(crate) mod send_error;
pub mod startup;
pub mod storage;
mod tls;
pub mod tokens;
pub(crate) mod vetting;
pub(crate) mod webhooks;
pub mod worker;
