//! The service's flows, one folder each, from its entry points down to its
//! SQL, over the shared kernel (domain types, tokens, limits, storage
//! plumbing, the mailer, metrics, clock). A flow takes what it needs when it
//! is built, not a handle to everything. The flows not moved here yet still
//! live in `routes/`, `reset/`, `outbox/` and `storage/`
//! (docs/architecture.md).
//!
//! - `forgot`: someone asks for a link (the JSON API, the hosted page; the
//!   group-committed write and its limit judgement);
//! - `reset`: a person sets a new password through a link (the JSON API,
//!   the hosted page, the operator's set-password);
//! - `provision`: other services and operators create, update, disable
//!   and delete users and revoke their links;
//! - `prune`: retention, what the service forgets and when.

pub mod forgot;
pub mod provision;
pub mod prune;
pub mod reset;
