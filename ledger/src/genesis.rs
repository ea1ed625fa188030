//! The genesis block: the election's rules and registry, frozen when voting opens.

use crate::encoding::{DecodeError, Reader, Writer};
use crate::hash::{sha256, BlockHash, PublicKey};
use serde::{Deserialize, Serialize};

/// Identifies an election.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct ElectionId(pub u64);

/// Identifies a candidate within an election.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct CandidateId(pub u32);

impl std::fmt::Display for ElectionId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

impl std::fmt::Display for CandidateId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

/// Version of the genesis rules this crate applies. Version 2 made a quorum of at least
/// [`MIN_QUORUM`] validators, all listed, a rule of the chain.
pub const GENESIS_VERSION: u32 = 2;

/// Fewest distinct validators that must approve each block: with one, the approver could
/// be the server's operator alone.
pub const MIN_QUORUM: u16 = 2;

/// A genesis block this software does not accept.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum GenesisError {
    /// Made under other rules.
    #[error("the genesis block has version {found}; this software checks chains of version {GENESIS_VERSION} only")]
    WrongVersion {
        /// The version in the block.
        found: u32,
    },
    /// A quorum below [`MIN_QUORUM`].
    #[error("the quorum is {0}; at least {MIN_QUORUM} validators must approve each block")]
    QuorumTooSmall(u16),
    /// Fewer validators than the quorum: no block could ever be appended.
    #[error("the quorum is {quorum} but the genesis block lists {validators} validator(s)")]
    TooFewValidators {
        /// The quorum.
        quorum: u16,
        /// Validators listed.
        validators: usize,
    },
}

/// A candidate on the ballot.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "sqlx", derive(sqlx::FromRow))]
pub struct Candidate {
    /// Ballot identifier.
    pub id: CandidateId,
    /// Name shown to voters.
    pub name: String,
    /// Party or description.
    pub description: String,
}

/// Block 0 of an election's chain. Its hash identifies the chain.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Genesis {
    /// Format version.
    pub version: u32,
    /// The election.
    pub election: ElectionId,
    /// Title shown to voters.
    pub title: String,
    /// The ballot.
    pub candidates: Vec<Candidate>,
    /// Public keys of eligible voters, sorted (names never reach the chain).
    pub voters: Vec<PublicKey>,
    /// Public keys of the validators whose approvals count, sorted.
    pub validators: Vec<PublicKey>,
    /// Distinct validator approvals needed to append a block.
    pub quorum: u16,
    /// Proof of work: leading zero bits every block hash must have.
    pub difficulty: u8,
    /// When voting opened, milliseconds since the Unix epoch.
    pub opened_at: u64,
}

/// The voter roll's fingerprint: SHA-256 over a domain tag and the voters' public keys in
/// ascending order, in hex. The officer's page and `ballotchain codes` show it for the keys
/// they registered; the explorer shows it for the genesis block's registry. A key added by
/// anyone else changes it.
pub fn roll_hash(keys: &[PublicKey]) -> String {
    let mut sorted = keys.to_vec();
    sorted.sort();
    let mut bytes = b"ballotchain/roll/v1".to_vec();
    for key in &sorted {
        bytes.extend_from_slice(&key.0);
    }
    hex::encode(crate::hash::sha256(&bytes))
}

impl Genesis {
    /// The canonical encoding.
    pub fn encode(&self) -> Vec<u8> {
        let mut w = Writer::default();
        w.u32(self.version).u64(self.election.0).text(&self.title);
        w.u32(self.candidates.len() as u32);
        for c in &self.candidates {
            w.u32(c.id.0).text(&c.name).text(&c.description);
        }
        w.u32(self.voters.len() as u32);
        for v in &self.voters {
            w.raw(&v.0);
        }
        w.u32(self.validators.len() as u32);
        for v in &self.validators {
            w.raw(&v.0);
        }
        w.u16(self.quorum).u8(self.difficulty).u64(self.opened_at);
        w.bytes
    }

    /// Decodes the canonical encoding; trailing bytes are an error.
    pub fn decode(bytes: &[u8]) -> Result<Self, DecodeError> {
        let mut r = Reader::new(bytes);
        let version = r.u32()?;
        let election = ElectionId(r.u64()?);
        let title = r.text()?;
        let n = r.u32()?;
        let mut candidates = Vec::new();
        for _ in 0..n {
            candidates.push(Candidate {
                id: CandidateId(r.u32()?),
                name: r.text()?,
                description: r.text()?,
            });
        }
        let keys = |r: &mut Reader| -> Result<Vec<PublicKey>, DecodeError> {
            let n = r.u32()?;
            (0..n).map(|_| Ok(PublicKey(r.array()?))).collect()
        };
        let voters = keys(&mut r)?;
        let validators = keys(&mut r)?;
        let quorum = r.u16()?;
        let difficulty = r.u8()?;
        let opened_at = r.u64()?;
        r.finish()?;
        Ok(Self {
            version,
            election,
            title,
            candidates,
            voters,
            validators,
            quorum,
            difficulty,
            opened_at,
        })
    }

    /// Hash of block 0: SHA-256 of the canonical encoding.
    pub fn hash(&self) -> BlockHash {
        BlockHash(sha256(&self.encode()))
    }

    /// The candidate with this id, if on the ballot.
    pub fn candidate(&self, id: CandidateId) -> Option<&Candidate> {
        self.candidates.iter().find(|c| c.id == id)
    }

    /// The genesis rules: this version, a quorum of at least [`MIN_QUORUM`], and at least
    /// as many distinct validators as the quorum.
    pub fn check_rules(&self) -> Result<(), GenesisError> {
        if self.version != GENESIS_VERSION {
            return Err(GenesisError::WrongVersion {
                found: self.version,
            });
        }
        if self.quorum < MIN_QUORUM {
            return Err(GenesisError::QuorumTooSmall(self.quorum));
        }
        let distinct: std::collections::HashSet<_> = self.validators.iter().collect();
        if distinct.len() < usize::from(self.quorum) {
            return Err(GenesisError::TooFewValidators {
                quorum: self.quorum,
                validators: distinct.len(),
            });
        }
        Ok(())
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    #[test]
    fn the_roll_hash_ignores_order_and_sees_an_added_key() {
        let (a, b, c) = (PublicKey([1; 32]), PublicKey([2; 32]), PublicKey([3; 32]));
        assert_eq!(roll_hash(&[a, b]), roll_hash(&[b, a]));
        assert_ne!(roll_hash(&[a, b]), roll_hash(&[a, b, c]));
        assert_eq!(roll_hash(&[]).len(), 64);
    }

    pub fn sample() -> Genesis {
        Genesis {
            version: GENESIS_VERSION,
            election: ElectionId(9),
            title: "Board".into(),
            candidates: vec![
                Candidate {
                    id: CandidateId(1),
                    name: "Ada".into(),
                    description: "".into(),
                },
                Candidate {
                    id: CandidateId(2),
                    name: "Grace".into(),
                    description: "Navy".into(),
                },
            ],
            voters: vec![PublicKey([1; 32]), PublicKey([2; 32])],
            validators: vec![PublicKey([3; 32]), PublicKey([4; 32])],
            quorum: 2,
            difficulty: 4,
            opened_at: 1_700_000_000_000,
        }
    }

    #[test]
    fn a_genesis_needs_this_version_a_quorum_of_two_and_enough_validators() {
        let g = sample();
        assert_eq!(g.check_rules(), Ok(()));
        let old = Genesis {
            version: 1,
            ..sample()
        };
        let err = old.check_rules().unwrap_err();
        assert_eq!(err, GenesisError::WrongVersion { found: 1 });
        assert!(err.to_string().contains("version 1"), "{err}");
        let lone = Genesis {
            quorum: 1,
            ..sample()
        };
        assert_eq!(lone.check_rules(), Err(GenesisError::QuorumTooSmall(1)));
        let twice = Genesis {
            validators: vec![PublicKey([3; 32]), PublicKey([3; 32])],
            ..sample()
        };
        assert_eq!(
            twice.check_rules(),
            Err(GenesisError::TooFewValidators {
                quorum: 2,
                validators: 1
            })
        );
    }

    #[test]
    fn genesis_round_trips_and_any_change_changes_its_hash() {
        let g = sample();
        assert_eq!(Genesis::decode(&g.encode()).unwrap(), g);
        let mut other = g.clone();
        other.quorum = 3;
        assert_ne!(other.hash(), g.hash());
        let mut bytes = g.encode();
        bytes.push(0);
        assert_eq!(Genesis::decode(&bytes), Err(DecodeError::Trailing(1)));
    }
}
