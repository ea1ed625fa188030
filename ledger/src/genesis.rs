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
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    pub fn sample() -> Genesis {
        Genesis {
            version: 1,
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
            validators: vec![PublicKey([3; 32])],
            quorum: 2,
            difficulty: 4,
            opened_at: 1_700_000_000_000,
        }
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
