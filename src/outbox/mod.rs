//! What every kind of outbox row shares, below the flows that handle them:
//! the job a kind runs (`OutboxJob`, in `job.rs`, with `StepError` and the
//! `Outcome` of a row), the claimed row a job works on and settles
//! (`Claimed`, `Settler`, in `settle.rs`), and the pure retry policy
//! (`policy.rs`), and the gate every send passes (`gate.rs`: concurrency, rate,
//! timing). The jobs themselves live in their flows (`flows::fulfil`,
//! `flows::send`); the worker (`worker/`) claims rows and hands each to the
//! job of its kind.

pub mod gate;
mod job;
pub mod policy;
mod settle;

pub use gate::SendGate;
pub use job::{OutboxJob, Outcome, StepError, panic_message};
pub use settle::{Claimed, Settler};
