//! pwreset: a password-reset microservice.

pub mod cli;
pub mod client_ip;
pub mod clock;
pub mod config;
pub mod domain;
pub mod error;
pub mod issue;
mod keyfile;
pub mod limits;
pub mod mailer;
pub mod outbox;
pub mod password;
pub mod routes;
pub mod startup;
pub mod storage;
pub mod tokens;
pub mod webhooks;
