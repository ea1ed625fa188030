//! Elections as the API creates, lists and shows them, and their voter registry.

use crate::state::ElectionState;
use ledger::{BlockHash, Candidate, ElectionId, PublicKey};
use serde::{Deserialize, Serialize};

/// A registered voter's id in the node's database (never on the chain).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
#[cfg_attr(feature = "sqlx", derive(sqlx::Type), sqlx(transparent))]
pub struct VoterId(pub i64);

impl std::fmt::Display for VoterId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

/// `POST /api/elections`: what an admin fills in to create an election.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewElection {
    /// Title shown to voters.
    pub title: String,
    /// Longer text for voters.
    #[serde(default)]
    pub description: String,
    /// Proof-of-work difficulty in leading zero bits (default 16).
    pub difficulty_bits: Option<u8>,
    /// Approvals needed per block (default 2).
    pub quorum: Option<u16>,
}

/// A row of the election list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "sqlx", derive(sqlx::FromRow))]
pub struct ElectionSummary {
    /// Election id.
    pub id: ElectionId,
    /// Title.
    pub title: String,
    /// State.
    pub state: ElectionState,
    /// Registered voters.
    #[cfg_attr(feature = "sqlx", sqlx(try_from = "i64"))]
    pub voters: u64,
    /// Votes accepted (pending or on chain).
    #[cfg_attr(feature = "sqlx", sqlx(try_from = "i64"))]
    pub votes: u64,
}

/// Everything about one election.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ElectionDetail {
    /// Election id.
    pub id: ElectionId,
    /// Title.
    pub title: String,
    /// Description.
    pub description: String,
    /// State.
    pub state: ElectionState,
    /// Proof-of-work difficulty in bits.
    pub difficulty_bits: u8,
    /// Approvals needed per block.
    pub quorum: u16,
    /// The ballot.
    pub candidates: Vec<Candidate>,
    /// Registered voters.
    pub voters: u64,
    /// The voter roll's count and hash: the registered keys in set-up, the genesis block's
    /// registry once sealed.
    pub roll: Roll,
    /// Enrolled validators' usernames.
    pub validators: Vec<String>,
    /// Votes accepted.
    pub votes: u64,
    /// Votes waiting for a block: not on the chain, and in no block awaiting validators.
    pub pending_votes: u64,
    /// Votes in a block awaiting validators (not on the chain yet either).
    #[serde(default)]
    pub awaiting_votes: u64,
    /// Blocks awaiting validators.
    pub awaiting_blocks: u64,
    /// Height of the chain (0 = genesis only); absent before sealing.
    pub height: Option<u64>,
    /// Hash of the last appended block.
    pub tip: Option<BlockHash>,
    /// Hash of the genesis block, the chain's identity.
    pub genesis_hash: Option<BlockHash>,
    /// When voting opened (ms since epoch).
    pub opened_at: Option<u64>,
    /// When voting closed (ms since epoch).
    pub closed_at: Option<u64>,
    /// Whether the stored chain passed re-verification at start (or nothing is sealed).
    pub chain_verified: bool,
    /// Where that check stands.
    pub chain_check: crate::ChainCheck,
    /// What re-verification found, if anything: an alteration, or an earlier format.
    pub integrity_problem: Option<String>,
}

impl ElectionDetail {
    /// The candidate with this id, if on the ballot.
    pub fn candidate(&self, id: ledger::CandidateId) -> Option<&Candidate> {
        self.candidates.iter().find(|c| c.id == id)
    }
}

/// `POST /api/elections/{id}/candidates`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewCandidate {
    /// Name.
    pub name: String,
    /// Party or description.
    #[serde(default)]
    pub description: String,
}

/// A voter to register: the public key of a code made off the server (in the officer's
/// browser or by `ballotchain codes`); the server never sees the code.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewVoter {
    /// The voter's name (kept off the chain).
    pub name: String,
    /// The office's identifier for the voter, unique in the election.
    #[serde(default)]
    pub external_id: Option<String>,
    /// The key the voter's code gives in this election (`VotingCode::public_key`).
    pub public_key: PublicKey,
}

/// A registered voter as the office sees it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "sqlx", derive(sqlx::FromRow))]
pub struct RegisteredVoter {
    /// Voter id.
    #[cfg_attr(feature = "sqlx", sqlx(rename = "id"))]
    pub voter_id: VoterId,
    /// Name.
    pub name: String,
    /// External id.
    pub external_id: Option<String>,
    /// The key registered for the voter.
    pub public_key: PublicKey,
}

/// How many keys a voter roll holds and its hash (`ledger::roll_hash`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Roll {
    /// Number of voters.
    pub voters: u64,
    /// SHA-256 of the domain tag and the sorted keys (hex on the wire); `None` when a
    /// stored key does not decode (sealing then refuses it by name).
    pub hash: Option<ledger::RollHash>,
}

impl Roll {
    /// The hash as a page shows it.
    pub fn shown_hash(&self) -> String {
        self.hash.map_or_else(
            || "unavailable: a stored key does not decode".to_owned(),
            |h| h.to_string(),
        )
    }

    /// The roll of these keys.
    pub fn of(keys: &[PublicKey]) -> Self {
        Self {
            voters: keys.len() as u64,
            hash: Some(ledger::roll_hash(keys)),
        }
    }
}

/// `201` of `POST /api/elections/{id}/voters`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Registration {
    /// The voters registered, in the order given.
    pub voters: Vec<RegisteredVoter>,
    /// The election's whole roll now.
    pub roll: Roll,
}

/// `PUT /api/elections/{id}/voters/{voter}/key`: the key of a new code for a voter who
/// lost theirs (set-up only).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeyChange {
    /// The new key.
    pub public_key: PublicKey,
}

/// `POST /api/elections/{id}/validators`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Enrolment {
    /// The validator account's username.
    pub username: String,
}
