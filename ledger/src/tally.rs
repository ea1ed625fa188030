//! The tally over the appended chain: how many ballots it holds, and their encrypted sums
//! per candidate, which only the trustees can decrypt (together, at least the threshold
//! of them).

use crate::genesis::Genesis;
use crate::secret::{Ballot, EncryptedSums, SecretError};
use serde::{Deserialize, Serialize};

/// Ballots counted and their encrypted sums.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Tally {
    /// One ciphertext per candidate, in ballot order: the sum of the ballots' ciphertexts.
    pub sums: EncryptedSums,
    /// Ballots counted (the turnout on the chain).
    pub total: u64,
}

impl Tally {
    /// A zero tally for the ballot in `genesis`.
    pub fn new(genesis: &Genesis) -> Self {
        Self {
            sums: EncryptedSums::new(genesis.candidates.len()),
            total: 0,
        }
    }

    /// Counts ballots (their proofs already checked against the ballot).
    pub fn add<'a>(
        &mut self,
        ballots: impl IntoIterator<Item = &'a Ballot>,
    ) -> Result<(), SecretError> {
        for ballot in ballots {
            self.sums.add(ballot)?;
            self.total += 1;
        }
        Ok(())
    }
}
