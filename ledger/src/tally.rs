//! The tally: votes per candidate over the appended chain.

use crate::genesis::{CandidateId, Genesis};
use crate::vote::Vote;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Votes counted per candidate.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Tally {
    /// Count per candidate; every candidate on the ballot appears, even with zero.
    pub counts: BTreeMap<CandidateId, u64>,
    /// All votes counted.
    pub total: u64,
}

impl Tally {
    /// A zero tally for the ballot in `genesis`.
    pub fn new(genesis: &Genesis) -> Self {
        Self {
            counts: genesis.candidates.iter().map(|c| (c.id, 0)).collect(),
            total: 0,
        }
    }

    /// Counts votes (already validated against the ballot).
    pub fn add(&mut self, votes: &[Vote]) {
        for v in votes {
            *self.counts.entry(v.candidate).or_insert(0) += 1;
            self.total += 1;
        }
    }
}
