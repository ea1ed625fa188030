//! The volunteer's browser miner.
//!
//! [`kernel`] searches nonces many lanes at a time with the same proof-of-work rule as
//! `ledger`; [`driver`] is the worker's state machine (jobs, time slices, stop), plain
//! Rust tested on native; [`worker`] wires it to gloo-worker messages and timers.

pub mod driver;
pub mod kernel;
pub mod lanes;
pub mod protocol;
pub mod vectors;
pub mod worker;

pub use protocol::{FromMiner, ToMiner};
pub use worker::MinerWorker;

/// gloo-worker, for the page that spawns the workers.
pub use gloo_worker;
