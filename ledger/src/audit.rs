//! Cast-or-audit (Benaloh's challenge): the voter's device seals the ballot first, and only
//! then learns whether it will be cast or audited. An audited ballot is never cast: the
//! device reveals the choice and the seed of the ChaCha20 generator that made every random
//! value of the encryption and its proofs, and anyone re-encrypts the choice with that
//! seed and compares the bytes ([`BallotAudit::check`]). A device that encrypts another
//! choice than the voter's (an operator serving bad WebAssembly) cannot know which ballots
//! will be audited, so each audit gives it a fair chance of being caught.

use crate::hash::{sha256, GroupKey, TxId};
use crate::id::ElectionId;
use crate::secret::{Ballot, SecretError};
use crate::CandidateId;
use rand_chacha::rand_core::SeedableRng;
use serde::{Deserialize, Serialize};

/// A sealed ballot revealed for audit: everything needed to make its bytes again.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BallotAudit {
    pub election: ElectionId,
    /// The ballot, in the genesis block's order.
    pub candidates: Vec<CandidateId>,
    /// The choice the device says it encrypted.
    pub choice: CandidateId,
    /// The ChaCha20 seed every random value of the encryption came from.
    #[serde(with = "hex::serde")]
    pub seed: [u8; 32],
    /// The sealed ballot's bytes, as the device showed their hash before the voter chose
    /// to audit.
    #[serde(with = "crate::hash::var_hex")]
    pub ballot: Vec<u8>,
}

/// Why an audit fails.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum AuditError {
    /// The choice is not on the ballot.
    #[error("candidate {0} is not on the ballot")]
    NotOnBallot(CandidateId),
    /// The ballot is not what the choice and the seed make: the device encrypted
    /// something else than it says.
    #[error("the sealed ballot is NOT the encryption of the choice it claims: the device that made it cannot be trusted")]
    Mismatch,
    /// The election key does not read.
    #[error("{0}")]
    Secret(#[from] SecretError),
}

/// Encrypts candidate `choice` (an index in ballot order) with every random value drawn
/// from ChaCha20 seeded with `seed`: the same seed and choice make the same bytes.
pub fn encrypt_seeded(
    election_key: &GroupKey,
    candidates: usize,
    choice: usize,
    seed: [u8; 32],
) -> Result<Ballot, SecretError> {
    let mut rng = rand_chacha::ChaCha20Rng::from_seed(seed);
    Ballot::encrypt(election_key, candidates, choice, &mut rng)
}

impl BallotAudit {
    /// The hash the device shows while the ballot is sealed (and a cast vote's receipt
    /// shows as its ballot's hash).
    pub fn ballot_hash(&self) -> TxId {
        TxId(sha256(&self.ballot))
    }

    /// Makes the ballot again from the choice and the seed under `election_key` (the one
    /// the genesis block seals) and compares the bytes.
    pub fn check(&self, election_key: &GroupKey) -> Result<(), AuditError> {
        let choice = self
            .candidates
            .iter()
            .position(|c| *c == self.choice)
            .ok_or(AuditError::NotOnBallot(self.choice))?;
        let again = encrypt_seeded(election_key, self.candidates.len(), choice, self.seed)?;
        if again.encode()? == self.ballot {
            Ok(())
        } else {
            Err(AuditError::Mismatch)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_revealed_ballot_re_encrypts_to_its_bytes_and_another_choice_does_not() {
        let (sealed, _, _) = crate::testing::sealed_trustees(ElectionId(3), 3, 2, 11);
        let key = sealed.election_key;
        let candidates = vec![CandidateId(4), CandidateId(8), CandidateId(9)];
        let seed = [5u8; 32];
        let ballot = encrypt_seeded(&key, 3, 1, seed).unwrap();
        ballot.verify(&key, 3).unwrap();
        let audit = BallotAudit {
            election: ElectionId(3),
            candidates: candidates.clone(),
            choice: CandidateId(8),
            seed,
            ballot: ballot.encode().unwrap(),
        };
        assert_eq!(audit.check(&key), Ok(()));
        // Through its JSON form, as the page shows it and the explorer reads it.
        let json = serde_json::to_string(&audit).unwrap();
        let read: BallotAudit = serde_json::from_str(&json).unwrap();
        assert_eq!(read.check(&key), Ok(()));
        // A device that encrypted Ada while the voter chose Grace is caught.
        let lying = BallotAudit {
            choice: CandidateId(4),
            ..audit.clone()
        };
        assert_eq!(lying.check(&key), Err(AuditError::Mismatch));
        let other_seed = BallotAudit {
            seed: [6; 32],
            ..audit.clone()
        };
        assert_eq!(other_seed.check(&key), Err(AuditError::Mismatch));
        let off = BallotAudit {
            choice: CandidateId(5),
            ..audit
        };
        assert_eq!(
            off.check(&key),
            Err(AuditError::NotOnBallot(CandidateId(5)))
        );
        // Two seeds never make the same ballot.
        assert_ne!(
            encrypt_seeded(&key, 3, 1, [1; 32]).unwrap().encode(),
            encrypt_seeded(&key, 3, 1, [2; 32]).unwrap().encode()
        );
    }
}
