//! The chain rules of ballotchain, with no I/O: the types of an election's chain, their one
//! canonical binary encoding, proof of work, signatures, block validation and the tally.
//!
//! The same code runs on the server (block intake), in the browser (WebAssembly) and in
//! the `verify` command, so that everyone applies exactly the same rules.

pub mod approval;
pub mod audit;
pub mod block;
pub mod ceremony;
pub mod code;
pub mod encoding;
pub mod export;
pub mod follow;
pub mod genesis;
pub mod hash;
pub mod id;
pub mod merkle;
pub mod pow;
pub mod pow_vectors;
pub mod report;
pub mod result;
pub mod sealed_set;
pub mod secret;
#[cfg(feature = "sqlx")]
pub mod sql;
pub mod tally;
#[cfg(any(test, feature = "testing"))]
pub mod testing;
pub mod validate;
pub mod vote;

pub use approval::{possession_is_proven, prove_possession, Approval, Rejection};
pub use block::{Block, BlockHeader, HEADER_LEN, MAX_VOTES_PER_BLOCK, MINER_TAG_LEN};
pub use code::{CodeError, VotingCode};
pub use encoding::DecodeError;
pub use export::{
    decode_blocks, encode_blocks, replay, replay_block, replay_with, verify_export, ApprovedBlock,
    ChainExport, ExportError, ExportWriter,
};
pub use follow::{follow, FollowError};
pub use genesis::{
    check_version, roll_hash, Candidate, CandidateId, ElectionId, Genesis, GenesisError,
    SealedTrustees, TrusteeRecord, Trustees, GENESIS_VERSION, MIN_QUORUM,
};
pub use hash::{
    BlockHash, GroupKey, MerkleRoot, PublicKey, ReceivingKey, RollHash, Signature, Transcript, TxId,
};
pub use merkle::{merkle_root, MerkleProof};
pub use pow::{leading_zero_bits, meets_difficulty, PowSearch};
pub use report::{check_block, Check};
pub use sealed_set::{SealedSeat, SealedSet};
pub use tally::Tally;
pub use validate::{
    ciphertexts_hash, validate_block, validate_block_with, verified_blocks, votes_verify,
    ChainState, RuleError, Signatures,
};
pub use vote::{Vote, MAX_BALLOT_LEN};

/// Version of the block and transaction format defined by this crate.
pub const FORMAT_VERSION: u32 = 2;
