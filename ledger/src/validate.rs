//! Block validation: every consensus rule, as one function over (chain so far, block).

use crate::block::{Block, MAX_VOTES_PER_BLOCK};
use crate::genesis::Genesis;
use crate::hash::{sha256, BlockHash, GroupKey, PublicKey, TxId};
use crate::merkle::merkle_root;
use crate::pow::leading_zero_bits;
use crate::secret::Ballot;
use crate::tally::Tally;
use crate::vote::Vote;
use crate::FORMAT_VERSION;
use serde::{Deserialize, Serialize};
use std::collections::HashSet;
use std::sync::Arc;

/// The rule a block or vote breaks. `code()` gives a stable machine-readable name.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RuleError {
    /// Unknown format version.
    #[error("block version {found} is not supported")]
    WrongVersion {
        /// Version in the block.
        found: u32,
    },
    /// The block or vote names another election.
    #[error("the block belongs to another election")]
    WrongElection,
    /// The block's height is not one above the tip.
    #[error("block index {found} does not follow the tip (expected {expected})")]
    WrongIndex {
        /// Tip height + 1.
        expected: u64,
        /// Height in the block.
        found: u64,
    },
    /// The block does not build on the current tip.
    #[error("block's parent {found} is not the tip {expected}")]
    WrongParent {
        /// The tip.
        expected: BlockHash,
        /// The block's parent.
        found: BlockHash,
    },
    /// The difficulty field differs from the genesis rule.
    #[error("difficulty {found} differs from the election's {expected}")]
    WrongDifficulty {
        /// Difficulty in the genesis block.
        expected: u8,
        /// Difficulty in the header.
        found: u8,
    },
    /// The hash has too few leading zero bits.
    #[error("proof of work too weak: {found} leading zero bits, {required} required")]
    InsufficientWork {
        /// Bits required.
        required: u8,
        /// Bits the hash has.
        found: u32,
    },
    /// The block claims to be older than its parent.
    #[error("block timestamp is earlier than its parent's")]
    TimestampBeforeParent,
    /// A block must carry at least one vote.
    #[error("block has no votes")]
    EmptyBlock,
    /// More votes than a block may carry.
    #[error("block has {0} votes, more than {MAX_VOTES_PER_BLOCK}")]
    TooManyVotes(usize),
    /// The header's Merkle root does not match the votes.
    #[error("Merkle root does not match the votes")]
    BadMerkleRoot,
    /// A ballot that does not read, or whose proofs do not hold for this election's key
    /// and ballot (a choice other than exactly one candidate, another election's key).
    #[error("vote {index}'s ballot is refused: {reason}")]
    BadBallot {
        /// Position in the block.
        index: usize,
        /// What is wrong with it.
        reason: String,
    },
    /// A ballot whose ciphertexts another vote already carries: its proofs may hold, but it
    /// is a copy of someone else's ballot.
    #[error("vote {index}'s ballot copies another vote's ciphertexts")]
    CopiedBallot {
        /// Position in the block.
        index: usize,
    },
    /// A vote from a key not in the voter registry.
    #[error("vote {index} is from a voter not in the registry")]
    IneligibleVoter {
        /// Position in the block.
        index: usize,
    },
    /// A vote whose signature does not verify.
    #[error("vote {index} has an invalid signature")]
    BadSignature {
        /// Position in the block.
        index: usize,
    },
    /// Two votes of one voter in the same block.
    #[error("vote {index} repeats a voter already in this block")]
    DuplicateVoteInBlock {
        /// Position of the second vote.
        index: usize,
    },
    /// The voter's vote is already on the chain.
    #[error("vote {index} is from a voter who already voted on chain")]
    AlreadyVoted {
        /// Position in the block.
        index: usize,
    },
}

impl RuleError {
    /// Stable snake_case name of the rule, used in API errors.
    pub fn code(&self) -> &'static str {
        match self {
            Self::WrongVersion { .. } => "wrong_version",
            Self::WrongElection => "wrong_election",
            Self::WrongIndex { .. } => "wrong_index",
            Self::WrongParent { .. } => "wrong_parent",
            Self::WrongDifficulty { .. } => "wrong_difficulty",
            Self::InsufficientWork { .. } => "insufficient_work",
            Self::TimestampBeforeParent => "timestamp_before_parent",
            Self::EmptyBlock => "empty_block",
            Self::TooManyVotes(_) => "too_many_votes",
            Self::BadMerkleRoot => "bad_merkle_root",
            Self::BadBallot { .. } => "bad_ballot",
            Self::CopiedBallot { .. } => "copied_ballot",
            Self::IneligibleVoter { .. } => "ineligible_voter",
            Self::BadSignature { .. } => "bad_signature",
            Self::DuplicateVoteInBlock { .. } => "duplicate_vote_in_block",
            Self::AlreadyVoted { .. } => "already_voted",
        }
    }

    /// The rule in words for one vote cast on its own (a block's words name the vote's
    /// position in the block, which a voter has no use for).
    pub fn of_one_vote(&self) -> String {
        match self {
            Self::WrongElection => "the vote belongs to another election".into(),
            Self::BadBallot { reason, .. } => format!("the ballot is refused: {reason}"),
            Self::CopiedBallot { .. } => "the ballot copies another vote's ciphertexts".into(),
            Self::IneligibleVoter { .. } => "the vote is from a voter not in the registry".into(),
            Self::BadSignature { .. } => "the vote's signature is invalid".into(),
            Self::AlreadyVoted { .. } | Self::DuplicateVoteInBlock { .. } => {
                "this voter has voted already".into()
            }
            other => other.to_string(),
        }
    }
}

/// Everything validation needs to know about the appended chain so far, in a compact
/// form: the voter roll is the genesis block's own sorted list (membership by binary
/// search), who voted is one bit per voter of that list, and the appended ballots are
/// sorted runs of hashes shared between copies. Cloning it copies the bits and the run
/// list, never the roll or the hashes: a node clones it to append a block. Serialised in
/// a compact form (what the genesis block does not already say), so a copy can be kept
/// between visits: the validator's browser keeps one.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(from = "Kept", into = "Kept")]
pub struct ChainState {
    genesis: Arc<Genesis>,
    genesis_hash: BlockHash,
    tip: BlockHash,
    height: u64,
    tip_timestamp: u64,
    /// The roll sorted and without repeats, when the genesis block does not list it so
    /// (a node always does; this keeps a hand-made one correct).
    sorted_roll: Option<Arc<[PublicKey]>>,
    /// One bit per voter of the roll, by position: set once their vote is on the chain.
    voted: Arc<Vec<u64>>,
    /// The hash of every appended ballot's ciphertexts ([`ciphertexts_hash`]).
    ballots: SortedRuns,
    tally: Tally,
}

/// The hash that identifies a ballot's ciphertexts: two ballots with the same are copies,
/// whatever their proofs.
pub fn ciphertexts_hash(ballot: &Ballot) -> TxId {
    TxId(sha256(&ballot.ciphertext_bytes()))
}

/// A set of hashes kept as sorted runs, each shared (copies of the set share them): a
/// block's hashes make a run, and runs of like size merge, up to [`SortedRuns::MERGED`]
/// hashes, so that a lookup searches a few runs and an append copies at most one run's
/// worth.
#[derive(Debug, Clone, Default)]
struct SortedRuns {
    runs: Vec<Arc<[TxId]>>,
}

impl SortedRuns {
    /// The longest run merging makes (2 MiB of hashes).
    const MERGED: usize = 1 << 16;

    fn contains(&self, id: &TxId) -> bool {
        self.runs.iter().any(|run| run.binary_search(id).is_ok())
    }

    fn extend(&mut self, ids: impl IntoIterator<Item = TxId>) {
        let mut run: Vec<TxId> = ids.into_iter().collect();
        if run.is_empty() {
            return;
        }
        run.sort_unstable();
        while let Some(last) = self.runs.last() {
            if last.len() > 2 * run.len() || last.len() + run.len() > Self::MERGED {
                break;
            }
            let mut merged = Vec::with_capacity(last.len() + run.len());
            let (mut a, mut b) = (last.iter().peekable(), run.iter().peekable());
            while let (Some(x), Some(y)) = (a.peek(), b.peek()) {
                if x <= y {
                    merged.push(*a.next().expect("peeked"));
                } else {
                    merged.push(*b.next().expect("peeked"));
                }
            }
            merged.extend(a.copied());
            merged.extend(b.copied());
            self.runs.pop();
            run = merged;
        }
        self.runs.push(run.into());
    }

    fn iter(&self) -> impl Iterator<Item = &TxId> {
        self.runs.iter().flat_map(|run| run.iter())
    }
}

/// The serialised form of a [`ChainState`]: the voter and validator sets are rebuilt
/// from the genesis block.
#[derive(Serialize, Deserialize)]
struct Kept {
    genesis: Genesis,
    tip: BlockHash,
    height: u64,
    tip_timestamp: u64,
    voted: Vec<PublicKey>,
    ballots: Vec<TxId>,
    tally: Tally,
}

impl From<ChainState> for Kept {
    fn from(c: ChainState) -> Self {
        let roll = c.roll();
        let voted = roll
            .iter()
            .enumerate()
            .filter(|(i, _)| c.voted[i / 64] & (1 << (i % 64)) != 0)
            .map(|(_, key)| *key)
            .collect();
        Self {
            voted,
            ballots: c.ballots.iter().copied().collect(),
            tip: c.tip,
            height: c.height,
            tip_timestamp: c.tip_timestamp,
            tally: c.tally,
            genesis: Arc::unwrap_or_clone(c.genesis),
        }
    }
}

impl From<Kept> for ChainState {
    fn from(k: Kept) -> Self {
        let mut chain = ChainState::new(k.genesis);
        chain.tip = k.tip;
        chain.height = k.height;
        chain.tip_timestamp = k.tip_timestamp;
        chain.mark_voted(k.voted.iter());
        chain.ballots.extend(k.ballots);
        chain.tally = k.tally;
        chain
    }
}

impl ChainState {
    /// The chain holding only its genesis block.
    pub fn new(genesis: Genesis) -> Self {
        let genesis_hash = genesis.hash();
        let sorted = genesis.voters.windows(2).all(|w| w[0] < w[1]);
        let sorted_roll = (!sorted).then(|| {
            let mut roll = genesis.voters.clone();
            roll.sort_unstable();
            roll.dedup();
            Arc::from(roll)
        });
        let voters = sorted_roll
            .as_ref()
            .map_or(genesis.voters.len(), |r: &Arc<[PublicKey]>| r.len());
        Self {
            tip: genesis_hash,
            genesis_hash,
            height: 0,
            tip_timestamp: genesis.opened_at,
            sorted_roll,
            voted: Arc::new(vec![0; voters.div_ceil(64)]),
            ballots: SortedRuns::default(),
            tally: Tally::new(&genesis),
            genesis: Arc::new(genesis),
        }
    }

    /// The voter roll, sorted and without repeats.
    fn roll(&self) -> &[PublicKey] {
        self.sorted_roll.as_deref().unwrap_or(&self.genesis.voters)
    }

    /// The position of `key` in the roll.
    fn voter_index(&self, key: &PublicKey) -> Option<usize> {
        self.roll().binary_search(key).ok()
    }

    /// Marks these voters (of the roll) as having voted on the chain.
    fn mark_voted<'a>(&mut self, voters: impl Iterator<Item = &'a PublicKey>) {
        let indices: Vec<usize> = voters.filter_map(|v| self.voter_index(v)).collect();
        let bits = Arc::make_mut(&mut self.voted);
        for i in indices {
            bits[i / 64] |= 1 << (i % 64);
        }
    }

    /// The genesis block.
    pub fn genesis(&self) -> &Genesis {
        &self.genesis
    }
    /// Hash of the genesis block, the chain's identity.
    pub fn genesis_hash(&self) -> BlockHash {
        self.genesis_hash
    }
    /// Hash of the last appended block.
    pub fn tip(&self) -> BlockHash {
        self.tip
    }
    /// Height of the last appended block (0 = genesis only).
    pub fn height(&self) -> u64 {
        self.height
    }
    /// Timestamp of the last appended block.
    pub fn tip_timestamp(&self) -> u64 {
        self.tip_timestamp
    }
    /// The ballots counted and their encrypted sums over the appended chain.
    pub fn tally(&self) -> &Tally {
        &self.tally
    }
    /// Whether `key` is a validator of this election.
    pub fn is_validator(&self, key: &PublicKey) -> bool {
        self.genesis.validators.contains(key)
    }
    /// Whether `key` is in the voter registry.
    pub fn is_voter(&self, key: &PublicKey) -> bool {
        self.voter_index(key).is_some()
    }
    /// Whether a ballot with these ciphertexts ([`ciphertexts_hash`]) is on the chain.
    pub fn has_ballot(&self, ciphertexts: &TxId) -> bool {
        self.ballots.contains(ciphertexts)
    }
    /// Whether this voter's vote is already on the chain.
    pub fn has_voted(&self, voter: &PublicKey) -> bool {
        self.voter_index(voter)
            .is_some_and(|i| self.voted[i / 64] & (1 << (i % 64)) != 0)
    }

    /// The rules one vote must meet on its own, before it can enter a pool or a block:
    /// right election, registered voter, not yet on chain, a ballot that reads, copies no
    /// appended ballot and whose proofs hold, and a valid signature. The ballot's
    /// ciphertexts hash ([`ciphertexts_hash`]) on success, by which a pool refuses copies.
    pub fn check_vote(&self, vote: &Vote) -> Result<TxId, RuleError> {
        self.check_vote_with(vote, Signatures::Here)
    }

    /// [`Self::check_vote`], with the ballot's proofs left out when `signatures` says they
    /// were checked as the vote came in ([`Signatures::ProofsChecked`]).
    pub fn check_vote_with(&self, vote: &Vote, signatures: Signatures) -> Result<TxId, RuleError> {
        let (ballot, ciphertexts) = self.check_vote_fields(0, vote, read_ballot(0, vote))?;
        // The signature first: it costs far less than the proofs, so a forged vote never
        // makes anyone check them.
        if !vote.signature_is_valid() {
            return Err(RuleError::BadSignature { index: 0 });
        }
        if !matches!(signatures, Signatures::ProofsChecked) {
            self.check_proofs(0, &ballot)?;
        }
        Ok(ciphertexts)
    }

    /// The fields of vote `index`, and its ballot (`read` by [`read_ballot`]) not a copy
    /// of an appended one.
    fn check_vote_fields(
        &self,
        index: usize,
        vote: &Vote,
        read: Result<ReadBallot, RuleError>,
    ) -> Result<ReadBallot, RuleError> {
        if vote.election != self.genesis.election {
            return Err(RuleError::WrongElection);
        }
        if !self.is_voter(&vote.voter) {
            return Err(RuleError::IneligibleVoter { index });
        }
        if self.has_voted(&vote.voter) {
            return Err(RuleError::AlreadyVoted { index });
        }
        let (ballot, ciphertexts) = read?;
        if self.ballots.contains(&ciphertexts) {
            return Err(RuleError::CopiedBallot { index });
        }
        Ok((ballot, ciphertexts))
    }

    /// Whether a ballot's proofs hold for this election's key and number of candidates.
    fn check_proofs(&self, index: usize, ballot: &Ballot) -> Result<(), RuleError> {
        ballot
            .verify(
                &self.genesis.trustees.election_key,
                self.genesis.candidates.len(),
            )
            .map_err(|e| RuleError::BadBallot {
                index,
                reason: e.to_string(),
            })
    }

    /// Validates `block` and, if it passes, makes it the new tip.
    pub fn append(&mut self, block: &Block) -> Result<(), RuleError> {
        self.append_with(block, Signatures::Here)
    }

    /// [`Self::append`], with the votes' signatures and ballot proofs verified as
    /// `signatures` says.
    pub fn append_with(&mut self, block: &Block, signatures: Signatures) -> Result<(), RuleError> {
        let ballots = validate(self, block, signatures)?;
        // Summed before anything changes: a ballot of another size leaves the state whole.
        let mut tally = self.tally.clone();
        tally
            .add(ballots.iter().map(|(ballot, _)| ballot))
            .map_err(|e| RuleError::BadBallot {
                index: 0,
                reason: e.to_string(),
            })?;
        self.tally = tally;
        self.tip = block.hash();
        self.height = block.header.index;
        self.tip_timestamp = block.header.timestamp;
        self.mark_voted(block.votes.iter().map(|v| &v.voter));
        self.ballots
            .extend(ballots.iter().map(|(_, ciphertexts)| *ciphertexts));
        Ok(())
    }
}

/// Checks every rule for appending `block` to `chain`, cheapest first:
/// version, election, index = tip + 1, parent = tip, difficulty = genesis rule, proof of
/// work, timestamp not before the parent's, 1..=1000 votes, Merkle root, then each vote
/// (election, registered voter, not already on chain, not twice in the block, a ballot
/// that reads and copies no other's ciphertexts, on the chain or in the block) and finally
/// all signatures (batch-verified) and every ballot's proofs.
pub fn validate_block(chain: &ChainState, block: &Block) -> Result<(), RuleError> {
    validate_block_with(chain, block, Signatures::Here)
}

/// How a check verifies the votes' signatures and their ballots' proofs, the costliest
/// rules and the only ones that need no chain state (the election key and the ballot are
/// in the genesis block).
#[derive(Debug, Clone, Copy)]
pub enum Signatures<'a> {
    /// Here, block by block (signatures batch-verified, proofs on every core).
    Here,
    /// Signatures here; every ballot's proofs were checked when its vote came in, and the
    /// caller holds the votes unchanged since (a node's pending pool records the check).
    ProofsChecked,
    /// Already verified elsewhere (spread over web workers, by [`verified_blocks`]) for the
    /// blocks whose hashes are in this set; any other block's are verified here. A block's
    /// hash covers its Merkle root, hence every vote with its signature.
    VerifiedFor(&'a HashSet<BlockHash>),
}

/// The hashes of those `blocks` whose votes give their header's Merkle root, carry valid
/// signatures and ballots whose proofs hold for the election key and the number of
/// candidates (the genesis block's): the part of validation that needs no chain state,
/// so it can run on several workers at once; the rest is [`validate_block_with`] with
/// [`Signatures::VerifiedFor`]. A block that fails here is left out, and its check then
/// names what is wrong.
pub fn verified_blocks<'a>(
    election_key: &GroupKey,
    candidates: usize,
    blocks: impl IntoIterator<Item = &'a Block>,
) -> Vec<BlockHash> {
    blocks
        .into_iter()
        .filter(|b| {
            let receipts: Vec<_> = b.votes.iter().map(Vote::tx_id).collect();
            merkle_root(&receipts) == b.header.merkle_root
                && votes_verify(election_key, candidates, &b.votes)
        })
        .map(Block::hash)
        .collect()
}

/// Whether every one of these votes carries a valid signature and a ballot whose proofs
/// hold for the election key and the number of candidates: the costliest rules, which a
/// block's check may spread over several workers, a share of its votes each (then
/// [`validate_block_with`] with [`Signatures::VerifiedFor`] for the rest).
pub fn votes_verify(election_key: &GroupKey, candidates: usize, votes: &[Vote]) -> bool {
    signatures::verify_all(votes).is_ok()
        && votes
            .iter()
            .map(|v| v.read_ballot())
            .collect::<Result<Vec<_>, _>>()
            .is_ok_and(|ballots| proofs::verify_all(election_key, candidates, &ballots).is_ok())
}

/// [`validate_block`], with the votes' signatures and ballot proofs verified as
/// `signatures` says.
pub fn validate_block_with(
    chain: &ChainState,
    block: &Block,
    signatures: Signatures,
) -> Result<(), RuleError> {
    validate(chain, block, signatures).map(|_| ())
}

/// A vote's ballot, read, and the hash of its ciphertexts ([`ciphertexts_hash`]).
type ReadBallot = (Ballot, TxId);

/// Reads vote `index`'s ballot and hashes its ciphertexts: the points are decoded, and
/// encoded for the hash, once per vote (a good part of a block's validation).
fn read_ballot(index: usize, vote: &Vote) -> Result<ReadBallot, RuleError> {
    let ballot = vote.read_ballot().map_err(|e| RuleError::BadBallot {
        index,
        reason: e.to_string(),
    })?;
    let ciphertexts = ciphertexts_hash(&ballot);
    Ok((ballot, ciphertexts))
}

/// Every vote's ballot read ([`read_ballot`]), on every core where there are several.
fn read_ballots(votes: &[Vote]) -> Vec<Result<ReadBallot, RuleError>> {
    #[cfg(feature = "parallel")]
    {
        use rayon::prelude::*;
        votes
            .par_iter()
            .enumerate()
            .map(|(i, v)| read_ballot(i, v))
            .collect()
    }
    #[cfg(not(feature = "parallel"))]
    {
        votes
            .iter()
            .enumerate()
            .map(|(i, v)| read_ballot(i, v))
            .collect()
    }
}

/// Every rule, as [`validate_block_with`]; the block's ballots, read, when it passes.
fn validate(
    chain: &ChainState,
    block: &Block,
    signatures: Signatures,
) -> Result<Vec<ReadBallot>, RuleError> {
    let h = &block.header;
    let g = &chain.genesis;
    if h.version != FORMAT_VERSION {
        return Err(RuleError::WrongVersion { found: h.version });
    }
    if h.election != g.election {
        return Err(RuleError::WrongElection);
    }
    if h.index != chain.height + 1 {
        return Err(RuleError::WrongIndex {
            expected: chain.height + 1,
            found: h.index,
        });
    }
    if h.prev != chain.tip {
        return Err(RuleError::WrongParent {
            expected: chain.tip,
            found: h.prev,
        });
    }
    if h.difficulty != g.difficulty {
        return Err(RuleError::WrongDifficulty {
            expected: g.difficulty,
            found: h.difficulty,
        });
    }
    let zeros = leading_zero_bits(&block.hash().0);
    if zeros < u32::from(g.difficulty) {
        return Err(RuleError::InsufficientWork {
            required: g.difficulty,
            found: zeros,
        });
    }
    if h.timestamp < chain.tip_timestamp {
        return Err(RuleError::TimestampBeforeParent);
    }
    if block.votes.is_empty() {
        return Err(RuleError::EmptyBlock);
    }
    if block.votes.len() > MAX_VOTES_PER_BLOCK {
        return Err(RuleError::TooManyVotes(block.votes.len()));
    }
    let receipts: Vec<_> = block.votes.iter().map(Vote::tx_id).collect();
    if merkle_root(&receipts) != h.merkle_root {
        return Err(RuleError::BadMerkleRoot);
    }
    let mut in_block = HashSet::with_capacity(block.votes.len());
    let mut copies = HashSet::with_capacity(block.votes.len());
    let mut ballots = Vec::with_capacity(block.votes.len());
    // Read on every core first; the rules then run in order, so the first vote at fault
    // is the one named.
    let read = read_ballots(&block.votes);
    for ((index, vote), read) in block.votes.iter().enumerate().zip(read) {
        let (ballot, ciphertexts) = chain.check_vote_fields(index, vote, read)?;
        if !in_block.insert(vote.voter) {
            return Err(RuleError::DuplicateVoteInBlock { index });
        }
        if !copies.insert(ciphertexts) {
            return Err(RuleError::CopiedBallot { index });
        }
        ballots.push((ballot, ciphertexts));
    }
    match signatures {
        Signatures::VerifiedFor(verified) if verified.contains(&block.hash()) => {}
        Signatures::ProofsChecked => signatures::verify_all(&block.votes)?,
        _ => {
            signatures::verify_all(&block.votes)?;
            let read: Vec<&Ballot> = ballots.iter().map(|(ballot, _)| ballot).collect();
            proofs::verify_all(&g.trustees.election_key, g.candidates.len(), &read)?;
        }
    }
    Ok(ballots)
}

mod proofs {
    use super::RuleError;
    use crate::hash::GroupKey;
    use crate::secret::Ballot;
    use std::borrow::Borrow;

    /// Every ballot's proofs against the election key and the ballot: on every core where
    /// there are several (the costliest rule: about a millisecond per ballot).
    pub fn verify_all(
        election_key: &GroupKey,
        candidates: usize,
        ballots: &[impl Borrow<Ballot> + Sync],
    ) -> Result<(), RuleError> {
        let key = election_key;
        let check = |(index, b): (usize, &_)| {
            Borrow::<Ballot>::borrow(b)
                .verify(key, candidates)
                .map_err(|e| RuleError::BadBallot {
                    index,
                    reason: e.to_string(),
                })
        };
        #[cfg(feature = "parallel")]
        {
            use rayon::prelude::*;
            let failed = ballots
                .par_iter()
                .enumerate()
                .map(check)
                .filter_map(Result::err)
                .min_by_key(|e| match e {
                    RuleError::BadBallot { index, .. } => *index,
                    _ => usize::MAX,
                });
            failed.map_or(Ok(()), Err)
        }
        #[cfg(not(feature = "parallel"))]
        {
            ballots.iter().enumerate().try_for_each(check)
        }
    }
}

mod signatures {
    use super::RuleError;
    use crate::vote::Vote;
    use ed25519_dalek::{Signature, VerifyingKey};

    /// Size of one batch: large enough for batching to pay, small enough to spread
    /// a 1000-vote block over several cores.
    const CHUNK: usize = 128;

    pub fn verify_all(votes: &[Vote]) -> Result<(), RuleError> {
        #[cfg(feature = "parallel")]
        {
            use rayon::prelude::*;
            let failed = votes
                .par_chunks(CHUNK)
                .enumerate()
                .map(|(i, chunk)| verify_chunk(i * CHUNK, chunk))
                .filter_map(Result::err)
                .min_by_key(|e| match e {
                    RuleError::BadSignature { index } => *index,
                    _ => usize::MAX,
                });
            failed.map_or(Ok(()), Err)
        }
        #[cfg(not(feature = "parallel"))]
        {
            votes
                .chunks(CHUNK)
                .enumerate()
                .try_for_each(|(i, chunk)| verify_chunk(i * CHUNK, chunk))
        }
    }

    /// Batch verification says only "some signature failed"; then each is checked alone
    /// to name the first bad one.
    fn verify_chunk(offset: usize, votes: &[Vote]) -> Result<(), RuleError> {
        let messages: Vec<Vec<u8>> = votes.iter().map(Vote::message).collect();
        let msg_refs: Vec<&[u8]> = messages.iter().map(Vec::as_slice).collect();
        let sigs: Vec<Signature> = votes
            .iter()
            .map(|v| Signature::from_bytes(&v.signature.0))
            .collect();
        let keys: Option<Vec<VerifyingKey>> = votes
            .iter()
            .map(|v| VerifyingKey::from_bytes(&v.voter.0).ok())
            .collect();
        if let Some(keys) = keys {
            if ed25519_dalek::verify_batch(&msg_refs, &sigs, &keys).is_ok() {
                return Ok(());
            }
        }
        let index = votes
            .iter()
            .position(|v| !v.signature_is_valid())
            .unwrap_or(0);
        Err(RuleError::BadSignature {
            index: offset + index,
        })
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::block::{BlockHeader, MinerTag};
    use crate::code::VotingCode;
    use crate::genesis::ElectionId;
    use crate::hash::{MerkleRoot, Signature};
    use crate::pow::PowSearch;

    pub const DIFFICULTY: u8 = 6;

    pub struct Fixture {
        pub chain: ChainState,
        pub codes: Vec<VotingCode>,
    }

    /// The fixture's trustee (one, threshold 1), the same on every call: its sealed keys,
    /// identity key and side of the ceremony (its key share).
    pub fn trustees() -> &'static (
        crate::genesis::Trustees,
        Vec<ed25519_dalek::SigningKey>,
        Vec<crate::ceremony::Trustee>,
    ) {
        static SEALED: std::sync::OnceLock<(
            crate::genesis::Trustees,
            Vec<ed25519_dalek::SigningKey>,
            Vec<crate::ceremony::Trustee>,
        )> = std::sync::OnceLock::new();
        SEALED.get_or_init(|| crate::testing::sealed_trustees(ElectionId(1), 1, 1, 1))
    }

    /// The election key of the fixture's genesis block.
    pub fn election_key() -> GroupKey {
        trustees().0.election_key
    }

    /// The counts the chain's encrypted sums decrypt to, with the fixture's trustee.
    pub fn decrypted(chain: &ChainState) -> Vec<u64> {
        decrypt(chain.genesis(), chain.tally())
    }

    /// The counts a tally of the fixture's election decrypts to.
    pub fn decrypt(genesis: &Genesis, tally: &Tally) -> Vec<u64> {
        use crate::secret::{find_counts, DecryptionShare};
        let share = DecryptionShare::make(
            trustees().2[0].key_share().unwrap(),
            &tally.sums,
            &mut rand::rngs::OsRng,
        )
        .unwrap();
        find_counts(&genesis.trustees.keys(), &tally.sums, &[share], tally.total).unwrap()
    }

    pub fn fixture(voters: u8) -> Fixture {
        let election = ElectionId(1);
        let codes: Vec<_> = (0..voters)
            .map(|i| VotingCode::from_entropy([i; 15]))
            .collect();
        let mut keys: Vec<_> = codes.iter().map(|c| c.public_key(election)).collect();
        keys.sort();
        let genesis = Genesis {
            voters: keys,
            difficulty: DIFFICULTY,
            ..crate::testing::genesis(election, trustees().0.clone())
        };
        Fixture {
            chain: ChainState::new(genesis),
            codes,
        }
    }

    /// A vote for candidate `candidate` (1, 2 or 3), encrypted under the fixture's key with
    /// randomness seeded by the code and the candidate: the same vote on every call (tests
    /// compare chains built twice).
    pub fn vote(code: &VotingCode, candidate: u32) -> Vote {
        use rand::SeedableRng;
        let seed = crate::hash::sha256(format!("{code}/{candidate}").as_bytes());
        let mut rng = rand::rngs::StdRng::from_seed(seed);
        let ballot = Ballot::encrypt(&election_key(), 3, candidate as usize - 1, &mut rng)
            .expect("a candidate on the ballot");
        signed(code, ballot.encode().expect("a ballot encodes"))
    }

    /// A vote carrying these ballot bytes, whatever they are.
    pub fn signed(code: &VotingCode, ballot: Vec<u8>) -> Vote {
        Vote::sign(
            &code.signing_key(ElectionId(1)),
            ElectionId(1),
            ballot,
            2000,
        )
    }

    /// A block on the chain's tip, with the proof of work done.
    pub fn mine(chain: &ChainState, votes: Vec<Vote>) -> Block {
        let receipts: Vec<_> = votes.iter().map(Vote::tx_id).collect();
        let mut header = BlockHeader {
            version: FORMAT_VERSION,
            election: chain.genesis().election,
            index: chain.height() + 1,
            prev: chain.tip(),
            merkle_root: merkle_root(&receipts),
            timestamp: chain.tip_timestamp() + 1,
            difficulty: chain.genesis().difficulty,
            miner_tag: MinerTag::from_text("t"),
            nonce: 0,
        };
        remine(&mut header);
        Block { header, votes }
    }

    /// After its votes were changed: the block's Merkle root recomputed, then re-mined.
    pub fn remine_with_votes(block: &mut Block) {
        let receipts: Vec<_> = block.votes.iter().map(Vote::tx_id).collect();
        block.header.merkle_root = merkle_root(&receipts);
        remine(&mut block.header);
    }

    pub fn remine(header: &mut BlockHeader) {
        header.nonce = PowSearch::new(header)
            .search(0..u64::MAX, header.difficulty)
            .solution
            .expect("low difficulty");
    }

    #[test]
    fn sorted_runs_hold_every_hash_added_in_a_few_runs() {
        let mut set = SortedRuns::default();
        let mut all = HashSet::new();
        for block in 0u32..300 {
            let ids: Vec<TxId> = (0u32..1000)
                .map(|i| TxId(sha256(&(block * 1000 + i).to_le_bytes())))
                .collect();
            all.extend(ids.iter().copied());
            set.extend(ids);
            // A copy shares the runs: adding to one leaves the other as it was.
            if block == 150 {
                let copy = set.clone();
                set.extend([TxId([7; 32])]);
                assert!(!copy.contains(&TxId([7; 32])) && set.contains(&TxId([7; 32])));
                all.insert(TxId([7; 32]));
            }
        }
        assert!(set.runs.len() <= 24, "{} runs", set.runs.len());
        assert!(set
            .runs
            .iter()
            .all(|run| run.windows(2).all(|w| w[0] < w[1])));
        assert!(set.runs.iter().all(|run| run.len() <= SortedRuns::MERGED));
        assert_eq!(set.iter().count(), all.len());
        assert!(all.iter().all(|id| set.contains(id)));
        for absent in 300_000u32..301_000 {
            assert!(!set.contains(&TxId(sha256(&absent.to_le_bytes()))));
        }
    }

    #[test]
    fn a_roll_listed_out_of_order_or_twice_is_still_read_right() {
        let mut genesis = crate::genesis::tests::sample();
        let keys: Vec<PublicKey> = (1u8..=40).map(|n| PublicKey([n; 32])).collect();
        genesis.voters = keys.iter().rev().copied().chain([keys[3]]).collect();
        let mut chain = ChainState::new(genesis);
        assert!(keys.iter().all(|k| chain.is_voter(k)));
        assert!(!chain.is_voter(&PublicKey([99; 32])));
        chain.mark_voted([&keys[0], &keys[39], &PublicKey([99; 32])].into_iter());
        let voted: Vec<bool> = keys.iter().map(|k| chain.has_voted(k)).collect();
        assert_eq!(voted.iter().filter(|v| **v).count(), 2);
        assert!(voted[0] && voted[39] && !chain.has_voted(&PublicKey([99; 32])));
        // The kept form reads back the same.
        let kept: ChainState =
            serde_json::from_slice(&serde_json::to_vec(&chain).unwrap()).unwrap();
        assert!(kept.has_voted(&keys[0]) && kept.has_voted(&keys[39]) && !kept.has_voted(&keys[1]));
    }

    #[test]
    fn a_valid_block_is_appended_and_counted() {
        let mut f = fixture(3);
        let block = mine(&f.chain, vec![vote(&f.codes[0], 1), vote(&f.codes[1], 2)]);
        f.chain.append(&block).unwrap();
        assert_eq!(f.chain.height(), 1);
        assert_eq!(f.chain.tip(), block.hash());
        assert_eq!(f.chain.tally().total, 2);
        assert_eq!(decrypted(&f.chain), [1, 1, 0]);
    }

    #[test]
    fn block_with_weak_proof_of_work_is_rejected() {
        let f = fixture(1);
        let mut block = mine(&f.chain, vec![vote(&f.codes[0], 1)]);
        // Find a nonce whose hash misses the target.
        while crate::pow::meets_difficulty(&block.hash(), DIFFICULTY) {
            block.header.nonce += 1;
        }
        assert!(matches!(
            validate_block(&f.chain, &block),
            Err(RuleError::InsufficientWork {
                required: DIFFICULTY,
                ..
            })
        ));
    }

    #[test]
    fn block_on_wrong_parent_or_index_is_rejected() {
        let f = fixture(1);
        let mut block = mine(&f.chain, vec![vote(&f.codes[0], 1)]);
        block.header.prev = BlockHash([9; 32]);
        remine(&mut block.header);
        assert_eq!(
            validate_block(&f.chain, &block).unwrap_err().code(),
            "wrong_parent"
        );
        let mut block = mine(&f.chain, vec![vote(&f.codes[0], 1)]);
        block.header.index = 2;
        remine(&mut block.header);
        assert_eq!(
            validate_block(&f.chain, &block).unwrap_err().code(),
            "wrong_index"
        );
    }

    #[test]
    fn wrong_difficulty_or_version_or_election_is_rejected() {
        let f = fixture(1);
        let base = mine(&f.chain, vec![vote(&f.codes[0], 1)]);
        let mut b = base.clone();
        b.header.difficulty = DIFFICULTY + 1;
        remine(&mut b.header);
        assert_eq!(
            validate_block(&f.chain, &b).unwrap_err().code(),
            "wrong_difficulty"
        );
        // A block of the cleartext format (version 1) is refused by its version.
        let mut b = base.clone();
        b.header.version = 1;
        remine(&mut b.header);
        assert_eq!(
            validate_block(&f.chain, &b).unwrap_err().code(),
            "wrong_version"
        );
        let mut b = base;
        b.header.election = ElectionId(77);
        remine(&mut b.header);
        assert_eq!(
            validate_block(&f.chain, &b).unwrap_err().code(),
            "wrong_election"
        );
    }

    #[test]
    fn bad_merkle_root_is_rejected() {
        let f = fixture(1);
        let mut block = mine(&f.chain, vec![vote(&f.codes[0], 1)]);
        block.header.merkle_root = MerkleRoot([1; 32]);
        remine(&mut block.header);
        assert_eq!(
            validate_block(&f.chain, &block),
            Err(RuleError::BadMerkleRoot)
        );
    }

    #[test]
    fn empty_block_and_old_timestamp_are_rejected() {
        let f = fixture(1);
        let block = mine(&f.chain, vec![]);
        assert_eq!(validate_block(&f.chain, &block), Err(RuleError::EmptyBlock));
        let mut block = mine(&f.chain, vec![vote(&f.codes[0], 1)]);
        block.header.timestamp = 10;
        remine(&mut block.header);
        assert_eq!(
            validate_block(&f.chain, &block),
            Err(RuleError::TimestampBeforeParent)
        );
    }

    #[test]
    fn tampered_vote_with_recomputed_root_fails_its_signature() {
        let f = fixture(2);
        let mut votes = vec![vote(&f.codes[0], 1), vote(&f.codes[1], 1)];
        votes[1].ballot = vote(&f.codes[1], 2).ballot;
        let block = mine(&f.chain, votes);
        assert_eq!(
            validate_block(&f.chain, &block),
            Err(RuleError::BadSignature { index: 1 })
        );
        let mut votes = vec![vote(&f.codes[0], 1)];
        votes[0].signature = Signature([0; 64]);
        let block = mine(&f.chain, votes);
        assert_eq!(
            validate_block(&f.chain, &block),
            Err(RuleError::BadSignature { index: 0 })
        );
    }

    #[test]
    fn a_ballot_that_proves_no_single_choice_under_this_key_is_refused_and_so_is_a_copy() {
        use crate::secret::Ballot;
        let f = fixture(3);
        let refused = |ballot: Vec<u8>| {
            let block = mine(&f.chain, vec![signed(&f.codes[0], ballot)]);
            validate_block(&f.chain, &block)
        };
        let marks = |m: &[bool]| {
            Ballot::encrypt_marks(&election_key(), m, &mut rand::rngs::OsRng)
                .unwrap()
                .encode()
                .unwrap()
        };
        // Two 1s, no 1, a ballot for two candidates, another election's key, bytes that
        // are no ballot: each refused, by vote.
        let other_key = crate::testing::sealed_trustees(ElectionId(1), 1, 1, 9)
            .0
            .election_key;
        for bad in [
            marks(&[true, true, false]),
            marks(&[false, false, false]),
            marks(&[true, false]),
            Ballot::encrypt(&other_key, 3, 0, &mut rand::rngs::OsRng)
                .unwrap()
                .encode()
                .unwrap(),
            vec![1, 2, 3],
        ] {
            assert!(
                matches!(refused(bad), Err(RuleError::BadBallot { index: 0, .. })),
                "a bad ballot passed"
            );
        }
        assert!(refused(marks(&[false, true, false])).is_ok());
        // The same ciphertexts under another voter's signature: twice in one block, and
        // again once the first is on the chain.
        let first = vote(&f.codes[0], 2);
        let copy = signed(&f.codes[1], first.ballot.clone());
        let block = mine(&f.chain, vec![first.clone(), copy.clone()]);
        assert_eq!(
            validate_block(&f.chain, &block),
            Err(RuleError::CopiedBallot { index: 1 })
        );
        let mut chain = f.chain.clone();
        chain.append(&mine(&chain, vec![first])).unwrap();
        assert_eq!(
            validate_block(&chain, &mine(&chain, vec![copy.clone()])),
            Err(RuleError::CopiedBallot { index: 0 })
        );
        assert_eq!(
            chain.check_vote(&copy),
            Err(RuleError::CopiedBallot { index: 0 })
        );
        // Proofs checked elsewhere are taken only as the caller says.
        let unproven = mine(
            &f.chain,
            vec![signed(&f.codes[2], marks(&[true, true, true]))],
        );
        assert!(validate_block_with(&f.chain, &unproven, Signatures::ProofsChecked).is_ok());
        assert!(validate_block(&f.chain, &unproven).is_err());
    }

    #[test]
    fn an_unregistered_voter_is_rejected() {
        let f = fixture(1);
        let stranger = VotingCode::from_entropy([200; 15]);
        let block = mine(&f.chain, vec![vote(&stranger, 1)]);
        assert_eq!(
            validate_block(&f.chain, &block),
            Err(RuleError::IneligibleVoter { index: 0 })
        );
    }

    #[test]
    fn same_voter_twice_in_a_block_is_rejected() {
        let f = fixture(1);
        let first = vote(&f.codes[0], 1);
        let mut second = vote(&f.codes[0], 2);
        second.timestamp += 1;
        let block = mine(&f.chain, vec![first, second]);
        assert_eq!(
            validate_block(&f.chain, &block),
            Err(RuleError::DuplicateVoteInBlock { index: 1 })
        );
    }

    #[test]
    fn vote_already_on_chain_is_rejected_in_a_later_block() {
        let mut f = fixture(2);
        let b1 = mine(&f.chain, vec![vote(&f.codes[0], 1)]);
        f.chain.append(&b1).unwrap();
        let mut again = vote(&f.codes[0], 3);
        again.timestamp += 5;
        let b2 = mine(&f.chain, vec![vote(&f.codes[1], 1), again.clone()]);
        assert_eq!(
            validate_block(&f.chain, &b2),
            Err(RuleError::AlreadyVoted { index: 1 })
        );
        assert_eq!(
            f.chain.check_vote(&again),
            Err(RuleError::AlreadyVoted { index: 0 })
        );
        assert!(f.chain.check_vote(&vote(&f.codes[1], 1)).is_ok());
    }
}
