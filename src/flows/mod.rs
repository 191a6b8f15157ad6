//! The service's flows, one folder each, from its entry points down to its
//! SQL, over the shared kernel (domain types, tokens, limits, storage
//! plumbing, the mailer, metrics, clock). A flow takes what it needs when it
//! is built, not a handle to everything (docs/architecture.md).
//!
//! - `forgot`: someone asks for a link (the JSON API, the hosted page; the
//!   group-committed write and its limit judgement);
//! - `fulfil`: the worker turns a request into a token and its email;
//! - `send`: the worker hands an email or a webhook to the other side;
//! - `reset`: a person sets a new password through a link (the JSON API,
//!   the hosted page, the operator's set-password);
//! - `provision`: other services and operators create, update, disable
//!   and delete users and revoke their links;
//! - `reset_requests`: a service starts a reset for one of its users, and
//!   reads back what became of an emailed one;
//! - `sign_in`: another service checks a person's password;
//! - `import`: an operator moves an existing user base in from a file;
//! - `prune`: retention, what the service forgets and when.

pub mod forgot;
pub mod fulfil;
pub mod import;
pub mod provision;
pub mod prune;
pub mod reset;
pub mod reset_requests;
pub mod send;
pub mod sign_in;
