//! Votes, receipts, mining work, blocks, validators' decisions and the tally, as the API
//! carries them.

use crate::state::{BlockStatus, ReceiptStatus};
use ledger::{
    Approval, BlockHash, BlockHeader, CandidateId, ElectionId, MerkleProof, PublicKey, Signature,
    TxId, Vote,
};
use serde::{Deserialize, Serialize};

/// The entity tag `GET /api/elections/{id}/genesis` gives the genesis block of hash
/// `hash`, in its compact (binary) encoding or as JSON: a client that keeps the block
/// sends it back in `If-None-Match` and gets a bodiless 304 while it is current.
pub fn genesis_etag(hash: &BlockHash, binary: bool) -> String {
    format!("\"{hash}-{}\"", if binary { "bin" } else { "json" })
}

/// `POST /api/elections/{id}/votes`: a ballot as a voter submits it. No `Debug`: it may
/// carry a voting code.
#[derive(Clone, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Ballot {
    /// Signed in the voter's browser with the key derived from the code.
    Signed {
        /// The signed vote.
        vote: Vote,
    },
    /// The voting code itself, and the choice: the server derives the key, encrypts the
    /// choice under the election key, signs, and forgets both (the weaker path, for voters
    /// without JavaScript: the server sees the choice while it encrypts it).
    Code {
        /// The voting code.
        code: String,
        /// The chosen candidate.
        candidate_id: CandidateId,
    },
}

/// `202` of a cast: the receipt, which is the vote's transaction hash.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct CastReceipt {
    /// The receipt.
    pub receipt: TxId,
}

/// Where a receipt's vote is.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReceiptReport {
    /// Pending, awaiting approval or appended.
    pub status: ReceiptStatus,
    /// The receipt.
    pub receipt: TxId,
    /// The SHA-256 of the encrypted ballot the vote carries (no choice can be read from it).
    pub ballot: TxId,
    /// Hash of the block holding the vote (awaiting or appended).
    pub block: Option<BlockHash>,
    /// Height of that block.
    pub block_index: Option<u64>,
    /// Merkle proof of inclusion, once in a block.
    pub proof: Option<MerkleProof>,
}

/// What a miner needs to build a block: the tip, the rules and the votes to include.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WorkTemplate {
    /// The election.
    pub election: ElectionId,
    /// Height of the block to mine.
    pub index: u64,
    /// The tip to build on.
    pub prev: BlockHash,
    /// Leading zero bits required.
    pub difficulty: u8,
    /// The block timestamp must not be below this (the tip's timestamp).
    pub min_timestamp: u64,
    /// Pending votes to include, in order.
    pub votes: Vec<Vote>,
    /// A ready header (nonce 0, empty tag); a miner may set its tag and timestamp.
    pub header: BlockHeader,
}

/// `202` of a block submission.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct SubmitOutcome {
    /// The block hash.
    pub hash: BlockHash,
    /// Its height.
    pub index: u64,
    /// Always `awaiting`: a new block waits for validators.
    pub status: BlockStatus,
}

/// A row of a block list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "sqlx", derive(sqlx::FromRow))]
pub struct BlockSummary {
    /// Block hash.
    pub hash: BlockHash,
    /// Height.
    #[cfg_attr(feature = "sqlx", sqlx(rename = "idx", try_from = "i64"))]
    pub index: u64,
    /// Parent hash.
    #[cfg_attr(feature = "sqlx", sqlx(rename = "prev_hash"))]
    pub prev: BlockHash,
    /// Where the block is.
    pub status: BlockStatus,
    /// Votes carried.
    #[cfg_attr(feature = "sqlx", sqlx(rename = "n_votes", try_from = "i64"))]
    pub votes: u64,
    /// Approvals received.
    #[cfg_attr(feature = "sqlx", sqlx(try_from = "i64"))]
    pub approvals: u64,
    /// Rejections received.
    #[cfg_attr(feature = "sqlx", sqlx(try_from = "i64"))]
    pub rejections: u64,
    /// The miner's label.
    pub miner_tag: String,
    /// When the block was submitted (ms since epoch).
    #[cfg_attr(feature = "sqlx", sqlx(try_from = "i64"))]
    pub submitted_at: u64,
}

/// A validator's recorded decision on a block.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "sqlx", derive(sqlx::FromRow))]
pub struct DecisionRecord {
    /// Validator username.
    #[cfg_attr(feature = "sqlx", sqlx(rename = "username"))]
    pub validator: String,
    /// Validator public key.
    #[cfg_attr(feature = "sqlx", sqlx(rename = "public_key"))]
    pub validator_key: Option<PublicKey>,
    /// Approved (true) or rejected.
    #[cfg_attr(feature = "sqlx", sqlx(try_from = "crate::StoredFlag"))]
    pub approve: bool,
    /// The validator's signature: over the block hash, and for a rejection its reason.
    pub signature: Option<Signature>,
    /// Reason, for rejections.
    pub reason: Option<String>,
    /// When (ms since epoch).
    #[cfg_attr(feature = "sqlx", sqlx(try_from = "i64"))]
    pub decided_at: u64,
}

/// A vote as a block shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VoteInfo {
    /// The receipt.
    pub receipt: TxId,
    /// The voter's public key (never a name).
    pub voter: PublicKey,
    /// The SHA-256 of the encrypted ballot.
    pub ballot: TxId,
    /// Signing time (ms since epoch).
    pub timestamp: u64,
    /// The voter's signature.
    pub signature: Signature,
}

impl From<&Vote> for VoteInfo {
    fn from(v: &Vote) -> Self {
        Self {
            receipt: v.tx_id(),
            voter: v.voter,
            ballot: v.ballot_hash(),
            timestamp: v.timestamp,
            signature: v.signature,
        }
    }
}

/// Everything about one block.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BlockDetail {
    /// Summary fields.
    #[serde(flatten)]
    pub summary: BlockSummary,
    /// The full header.
    pub header: BlockHeader,
    /// The votes, in Merkle order.
    pub vote_list: Vec<VoteInfo>,
    /// Validators' decisions, oldest first.
    pub decisions: Vec<DecisionRecord>,
    /// Approvals needed.
    pub quorum: u16,
}

/// A block awaiting approval in one of a validator's elections.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "sqlx", derive(sqlx::FromRow))]
pub struct QueuedBlock {
    /// The election.
    #[cfg_attr(feature = "sqlx", sqlx(rename = "election_id"))]
    pub election: ElectionId,
    /// Its title.
    #[cfg_attr(feature = "sqlx", sqlx(rename = "title"))]
    pub election_title: String,
    /// The block.
    #[serde(flatten)]
    #[cfg_attr(feature = "sqlx", sqlx(flatten))]
    pub block: BlockSummary,
}

/// One of a validator's past decisions.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "sqlx", derive(sqlx::FromRow))]
pub struct PastDecision {
    /// The election.
    #[cfg_attr(feature = "sqlx", sqlx(rename = "election_id"))]
    pub election: ElectionId,
    /// Height of the block decided on.
    #[cfg_attr(feature = "sqlx", sqlx(rename = "idx", try_from = "i64"))]
    pub index: u64,
    /// Its hash.
    pub hash: BlockHash,
    /// The decision.
    #[serde(flatten)]
    #[cfg_attr(feature = "sqlx", sqlx(flatten))]
    pub decision: DecisionRecord,
}

/// `POST /api/elections/{id}/blocks/{hash}/approve`: the ledger's approval without the
/// block hash, which the path names. The signature is the whole authority: no session.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SignedApproval {
    /// The validator's public key, as the genesis block lists it.
    pub validator: PublicKey,
    /// Its signature over the approval domain tag and the block hash.
    pub signature: Signature,
}

/// `POST /api/elections/{id}/blocks/{hash}/reject`: the ledger's rejection without the
/// block hash, which the path names.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SignedRejection {
    /// The validator's public key, as the genesis block lists it.
    pub validator: PublicKey,
    /// Its signature over the rejection domain tag, the block hash and the reason.
    pub signature: Signature,
    /// Why, for the record (1 to 500 characters), signed exactly as sent.
    pub reason: String,
}

/// A block named by its height on the chain or by its hash (any status).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BlockRef {
    /// The appended block at this height.
    Height(u64),
    /// The block with this hash.
    Hash(BlockHash),
}

/// A block reference that is neither a height nor a 64-hex-digit hash.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("a block is named by its height or its 64-hex-digit hash")]
pub struct BadBlockRef;

impl std::str::FromStr for BlockRef {
    type Err = BadBlockRef;
    fn from_str(s: &str) -> Result<Self, BadBlockRef> {
        if let Ok(height) = s.parse() {
            return Ok(Self::Height(height));
        }
        s.parse().map(Self::Hash).map_err(|_| BadBlockRef)
    }
}

/// The tip of an election's chain, as an observer pins it: `ballotchain verify
/// --expect HEIGHT:HASH` later fails if the chain no longer holds this block.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Head {
    /// The election.
    pub election: ElectionId,
    /// The tip's height (0: only the genesis block).
    pub height: u64,
    /// The tip's hash.
    pub hash: BlockHash,
    /// The validators' approvals of the tip (none for the genesis block).
    pub approvals: Vec<Approval>,
}

/// `GET /api/elections/{id}/tally`: the turnout on the appended chain and the encrypted
/// sums per candidate, which only the trustees can decrypt; the result once they have.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TallyReport {
    /// Ballots on the appended chain.
    pub turnout: u64,
    /// The encrypted sums, 64 bytes per candidate in ballot order (hex on the wire): anyone
    /// recomputes them from the chain (`ledger::Tally`).
    #[serde(with = "ledger::secret::sums_hex")]
    pub sums: ledger::secret::EncryptedSums,
    /// Where the count ends, once the officer has finalised it (after voting closed).
    pub final_head: Option<FinalHead>,
    /// The trustees (by position) whose decryption shares are in.
    pub shares: Vec<u16>,
    /// Votes per candidate, in ballot order, once the threshold of trustees have
    /// decrypted the sums; `None` until then (always, while voting is open).
    pub result: Option<Vec<CandidateVotes>>,
}

/// A posted decryption share, checked again against the chain: the trustee's seat (its
/// position in the genesis block), name, and whether its signature and proofs hold.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ShareStatus {
    pub trustee: u16,
    pub name: String,
    /// The fingerprint of the trustee's identity key as the genesis block seals it, which
    /// signed the share (over the election, the final head and its sums).
    pub fingerprint: String,
    /// Why the share does not hold; `None` when its signature and every proof hold.
    pub problem: Option<String>,
}

/// The head the count covers: the chain takes no more blocks after it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FinalHead {
    pub height: u64,
    pub head: BlockHash,
    /// Votes not on the chain when the officer finalised early: not counted (their
    /// receipts say "uncounted").
    pub uncounted: u64,
}

/// `POST /api/elections/{id}/final`: `early` leaves the votes still pending uncounted.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Finalise {
    #[serde(default)]
    pub early: bool,
}

/// One candidate's line of the tally.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CandidateVotes {
    /// Candidate id.
    pub id: CandidateId,
    /// Name.
    pub name: String,
    /// Votes on the appended chain.
    pub votes: u64,
}

/// `HEIGHT:HASH`, a head pinned by an observer.
pub fn pinned_head(text: &str) -> Result<(u64, BlockHash), String> {
    let (height, hash) = text
        .split_once(':')
        .ok_or_else(|| format!("{text:?} is not HEIGHT:HASH"))?;
    let height = height
        .trim()
        .parse()
        .map_err(|_| format!("{height:?} is not a height"))?;
    let hash = hash
        .trim()
        .parse()
        .map_err(|_| format!("{hash:?} is not a block hash (64 hex digits)"))?;
    Ok((height, hash))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_block_is_named_by_height_or_hash() {
        assert_eq!("7".parse(), Ok(BlockRef::Height(7)));
        let hash = BlockHash([0xab; 32]);
        assert_eq!(hash.to_hex().parse(), Ok(BlockRef::Hash(hash)));
        assert_eq!("abc".parse::<BlockRef>(), Err(BadBlockRef));
        assert_eq!("-1".parse::<BlockRef>(), Err(BadBlockRef));
    }
}
