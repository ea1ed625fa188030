//! The worker's state machine: one job at a time, hashed in time slices.
//!
//! The worker calls [`Driver::run_slice`] from a timer, so between two slices the event
//! loop delivers the page's messages (stop, a new template). Nothing here touches the
//! browser: the clock is passed in, which lets the native tests drive it.

use crate::kernel::LaneSearch;
use crate::lanes::Lanes;
use ledger::{BlockHash, BlockHeader};

/// Nonces per kernel call between clock readings: small enough to check the clock every
/// millisecond or so, large enough that the call overhead does not show.
pub const CHUNK: u64 = 4096;

/// How a slice ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Slice {
    /// No job.
    Idle,
    /// The time budget ran out; call again.
    Continue,
    /// A solution; the job is over.
    Found {
        /// The job.
        job: u64,
        /// The nonce.
        nonce: u64,
        /// The block hash with it.
        hash: BlockHash,
        /// Nonces tried in the job, the solution included.
        tried: u64,
        /// Most leading zero bits seen in the job.
        best_zero_bits: u32,
    },
    /// The range is used up; the job is over.
    Exhausted {
        /// The job.
        job: u64,
    },
}

#[derive(Debug)]
struct Job {
    id: u64,
    search: LaneSearch,
    difficulty: u8,
    next: u64,
    end: u64,
    tried: u64,
    best: u32,
}

/// The worker's search state.
#[derive(Debug, Default)]
pub struct Driver {
    job: Option<Job>,
    unreported: u64,
}

impl Driver {
    /// A driver with no job.
    pub fn new() -> Self {
        Self::default()
    }

    /// Replaces the current job with a search of `header` over `start..end`.
    pub fn start(&mut self, job: u64, header: &BlockHeader, start: u64, end: u64) {
        self.job = Some(Job {
            id: job,
            search: LaneSearch::new(header),
            difficulty: header.difficulty,
            next: start,
            end,
            tried: 0,
            best: 0,
        });
    }

    /// Drops the current job; the next slice is idle.
    pub fn stop(&mut self) {
        self.job = None;
    }

    /// The current job's number, if any.
    pub fn job(&self) -> Option<u64> {
        self.job.as_ref().map(|j| j.id)
    }

    /// Nonces tried and best zero bits of the current job.
    pub fn progress(&self) -> Option<(u64, u32)> {
        self.job.as_ref().map(|j| (j.tried, j.best))
    }

    /// Nonces tried since the last call (for the rate the page shows).
    pub fn take_unreported(&mut self) -> u64 {
        std::mem::take(&mut self.unreported)
    }

    /// Hashes in chunks of [`CHUNK`] until `budget_ms` has passed by `now` (in ms), a
    /// solution is found or the range ends.
    pub fn run_slice<L: Lanes>(&mut self, mut now: impl FnMut() -> f64, budget_ms: f64) -> Slice {
        let Some(job) = self.job.as_mut() else {
            return Slice::Idle;
        };
        let deadline = now() + budget_ms;
        loop {
            if job.next >= job.end {
                let id = job.id;
                self.job = None;
                return Slice::Exhausted { job: id };
            }
            let to = job.next.saturating_add(CHUNK).min(job.end);
            let result = job.search.search::<L>(job.next..to, job.difficulty);
            job.tried += result.tried;
            job.best = job.best.max(result.best_zero_bits);
            self.unreported += result.tried;
            if let Some(nonce) = result.solution {
                let found = Slice::Found {
                    job: job.id,
                    nonce,
                    hash: BlockHash(job.search.hash_with_nonce::<u32>(nonce)),
                    tried: job.tried,
                    best_zero_bits: job.best,
                };
                self.job = None;
                return found;
            }
            job.next = to;
            if now() >= deadline {
                return Slice::Continue;
            }
        }
    }
}

/// The `index`-th of `workers` disjoint, adjacent nonce ranges covering all of `u64`
/// (the last range stops one short of `u64::MAX`, which a `Range` cannot include).
pub fn nonce_range(index: u64, workers: u64) -> (u64, u64) {
    let workers = workers.max(1);
    let index = index.min(workers - 1);
    let width = u64::MAX / workers;
    let start = index * width;
    let end = if index + 1 == workers {
        u64::MAX
    } else {
        start + width
    };
    (start, end)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lanes::{Pair, X4};
    use crate::vectors::vector_header;
    use std::cell::Cell;

    /// A clock that advances one millisecond per reading.
    fn ticking() -> impl FnMut() -> f64 {
        let t = Cell::new(0.0);
        move || {
            t.set(t.get() + 1.0);
            t.get()
        }
    }

    #[test]
    fn a_found_nonce_meets_the_difficulty() {
        let mut header = vector_header();
        header.difficulty = 14;
        let mut d = Driver::new();
        d.start(7, &header, 0, u64::MAX);
        let found = loop {
            match d.run_slice::<Pair<X4>>(ticking(), 5.0) {
                Slice::Continue => continue,
                other => break other,
            }
        };
        let Slice::Found {
            job,
            nonce,
            hash,
            tried,
            best_zero_bits,
        } = found
        else {
            panic!("expected a solution, got {found:?}");
        };
        assert_eq!(job, 7);
        header.nonce = nonce;
        assert_eq!(header.hash(), hash);
        assert!(ledger::meets_difficulty(&hash, 14));
        assert!(best_zero_bits >= 14);
        assert!(tried > 0);
        // The job ends with the solution: the next slice is idle.
        assert_eq!(d.run_slice::<Pair<X4>>(ticking(), 5.0), Slice::Idle);
        assert_eq!(d.job(), None);
    }

    #[test]
    fn ranges_are_disjoint_and_cover_the_nonce_space() {
        for workers in [1u64, 2, 3, 4, 7, 16, 64] {
            let ranges: Vec<_> = (0..workers).map(|i| nonce_range(i, workers)).collect();
            assert_eq!(ranges[0].0, 0);
            assert_eq!(ranges.last().unwrap().1, u64::MAX);
            for pair in ranges.windows(2) {
                assert_eq!(pair[0].1, pair[1].0, "adjacent, no overlap, no gap");
                assert!(pair[0].0 < pair[0].1);
            }
        }
        // A worker searching its range never reports a nonce outside it.
        let mut header = vector_header();
        header.difficulty = 10;
        for i in 0..4 {
            let (start, end) = nonce_range(i, 4);
            let mut d = Driver::new();
            d.start(1, &header, start, end);
            if let Slice::Found { nonce, .. } = d.run_slice::<X4>(ticking(), 1e9) {
                assert!((start..end).contains(&nonce));
            } else {
                panic!("10 bits is found quickly");
            }
        }
    }

    #[test]
    fn stop_is_honoured_and_a_new_job_replaces_the_old() {
        let mut header = vector_header();
        header.difficulty = 60; // never found in a test
        let mut d = Driver::new();
        d.start(1, &header, 0, u64::MAX);
        assert_eq!(d.run_slice::<u32>(ticking(), 3.0), Slice::Continue);
        let (tried, _) = d.progress().unwrap();
        assert!(tried >= CHUNK, "a slice hashes at least one chunk");
        assert_eq!(d.take_unreported(), tried);
        d.stop();
        assert_eq!(d.run_slice::<u32>(ticking(), 3.0), Slice::Idle);
        assert_eq!(d.take_unreported(), 0, "nothing hashed after stop");
        d.start(2, &header, 100, 100 + 3 * CHUNK / 2);
        assert_eq!(d.job(), Some(2));
        assert_eq!(
            d.run_slice::<u32>(ticking(), 1e9),
            Slice::Exhausted { job: 2 }
        );
        assert_eq!(d.take_unreported(), 3 * CHUNK / 2);
    }

    #[test]
    fn a_slice_ends_when_its_time_is_up() {
        let mut header = vector_header();
        header.difficulty = 60;
        let mut d = Driver::new();
        d.start(1, &header, 0, u64::MAX);
        // One reading before the loop, one per chunk: a 10 ms budget is ten chunks.
        assert_eq!(d.run_slice::<u32>(ticking(), 10.0), Slice::Continue);
        assert_eq!(d.take_unreported(), 10 * CHUNK);
    }
}
