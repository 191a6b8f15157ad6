//! The service as its users and attackers see it, over HTTP, against a real
//! database (SQLite by default, Postgres with PWRESET_TEST_BACKEND=postgres).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod helpers;

mod address;
mod architecture;
mod bad_input;
mod breach;
mod browser;
mod cli;
mod delivery;
mod delivery_record;
mod enumeration;
mod expiry;
mod file_modes;
mod foreign_hashes;
mod forged_tokens;
mod fuzz;
mod group_commit;
mod handoff;
mod health;
mod import;
mod internal_api;
mod languages;
mod limits;
mod links;
mod logs;
mod metrics;
mod openapi;
mod outages;
mod packaging;
mod pages;
mod password_checks;
mod postgres_only;
mod properties;
mod providers;
mod reset_flow;
mod retention;
mod rotation;
mod ses;
mod shutdown;
mod slow_clients;
mod smtp;
mod way_back;
mod webhooks;
mod worker;
