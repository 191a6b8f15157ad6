//! The test harness, by what a test needs: `app` (the service on port 0 and
//! requests as a user sends them), `db` (a fresh database per test), `mail`
//! (the mailbox and fake email APIs), `hooks` (webhook receivers), `users`
//! (accounts provisioned as a backend service would), `tokens` (links an
//! attacker could hold), `logs`.
//!
//! Backend: `PWRESET_TEST_BACKEND=sqlite` (default) or `postgres`, with
//! `PWRESET_TEST_POSTGRES_URL` (default postgres://postgres@127.0.0.1:5432/postgres).

mod app;
mod browser;
mod db;
mod hooks;
mod logs;
mod mail;
mod sigv4;
mod smtp;
mod tokens;
mod tools;
mod users;

pub use app::*;
pub use browser::*;
pub use db::*;
pub use hooks::*;
pub use logs::*;
pub use mail::*;
pub use sigv4::*;
pub use smtp::*;
pub use tokens::*;
pub use tools::*;
pub use users::*;

pub const STRONG_PASSWORD: &str = "violet-kettle-jumps-47-far";
pub const OTHER_STRONG_PASSWORD: &str = "quiet Harbor lantern 93 drifts";
pub const FRONTEND_URL: &str = "https://app.example.test";

pub use pwreset::messages::{OutboxKind, OutboxStatus};
