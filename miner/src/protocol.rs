//! Messages between the miner page and its workers (bincode through gloo-worker).

use ledger::{BlockHash, BlockHeader};
use serde::{Deserialize, Serialize};

/// From the page to a worker.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub enum ToMiner {
    /// Search `header` over nonces `start..end`; replaces any job in progress.
    Start {
        /// The page's number for this template; echoed in every reply.
        job: u64,
        /// The header to solve (its nonce is ignored).
        header: BlockHeader,
        /// First nonce.
        start: u64,
        /// One past the last nonce.
        end: u64,
    },
    /// Stop hashing; the worker answers [`FromMiner::Stopped`].
    Stop,
}

/// From a worker to the page.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub enum FromMiner {
    /// Sent about every 100 ms while hashing.
    Progress {
        /// The job.
        job: u64,
        /// Nonces tried since the previous report.
        hashes: u64,
        /// Milliseconds since the previous report.
        millis: f64,
        /// Nonces tried in this job so far.
        tried: u64,
        /// Most leading zero bits seen in this job.
        best_zero_bits: u32,
    },
    /// A nonce meeting the difficulty; the worker stops.
    Found {
        /// The job.
        job: u64,
        /// The nonce.
        nonce: u64,
        /// The block hash with that nonce.
        hash: BlockHash,
    },
    /// Every nonce of the range was tried without a solution; the worker stops.
    Exhausted {
        /// The job.
        job: u64,
    },
    /// Acknowledges [`ToMiner::Stop`]: nothing is being hashed any more.
    Stopped,
    /// Which kernel this worker runs and its self-check, sent once it is ready.
    Ready {
        /// "simd128, 8 lanes" or "scalar, 1 lane".
        kernel: String,
        /// The fixed test vectors hashed by this kernel in this browser: how many matched
        /// `ledger`'s native hashes, or the first mismatch. A worker that fails must not
        /// be given work.
        self_check: Result<usize, String>,
    },
}
