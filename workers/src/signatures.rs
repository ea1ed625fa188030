//! The votes' signatures and ballot proofs of a page of served blocks, or of a share of an
//! awaiting block's votes, checked on a worker of its own: the checker spawns one per
//! spare core and hands each a page as the server sent it (the compact encoding) or a
//! share of a block's votes, so the costliest rules run on every core while the checker
//! runs the others.

use crate::Job;
use gloo_worker::{HandlerId, Worker, WorkerScope};
use ledger::{BlockHash, GroupKey};
use serde::{Deserialize, Serialize};

/// A page to check, with what the ballots' proofs are checked against (from the copy's
/// verified genesis block).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PageCheck {
    pub election_key: GroupKey,
    pub candidates: u32,
    /// A page of `/chain?since=` as served (`ledger::encode_blocks`).
    pub page: Vec<u8>,
}

/// Some votes of an awaiting block to check, against what the page check uses.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct VotesCheck {
    pub election_key: GroupKey,
    pub candidates: u32,
    pub votes: Vec<ledger::Vote>,
}

/// What a signatures worker checks.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub enum SignatureCheck {
    Page(PageCheck),
    Votes(VotesCheck),
}

/// What it found.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub enum SignatureAnswer {
    /// The hashes of the page's blocks whose votes give their Merkle root, carry valid
    /// signatures and ballots whose proofs hold (`ledger::verified_blocks`).
    Page(Vec<BlockHash>),
    /// Whether every vote's signature and ballot proofs hold (`ledger::votes_verify`).
    Votes(bool),
}

/// A signatures worker.
pub struct SignatureWorker;

impl Job for SignatureWorker {
    type Request = SignatureCheck;
    type Answer = SignatureAnswer;
    type Codec = gloo_worker::Bincode;
    const BUNDLE: &'static str = "signatures";
}

/// Checks what was asked.
pub fn check(request: &SignatureCheck) -> SignatureAnswer {
    match request {
        SignatureCheck::Page(page) => SignatureAnswer::Page(verify_page(page)),
        SignatureCheck::Votes(v) => SignatureAnswer::Votes(ledger::votes_verify(
            &v.election_key,
            v.candidates as usize,
            &v.votes,
        )),
    }
}

/// The blocks of a served page whose signatures and proofs verify (none when the page
/// does not read).
pub fn verify_page(check: &PageCheck) -> Vec<BlockHash> {
    ledger::decode_blocks(&check.page, u32::MAX)
        .map(|blocks| {
            ledger::verified_blocks(
                &check.election_key,
                check.candidates as usize,
                blocks.iter().map(|b| &b.block),
            )
        })
        .unwrap_or_default()
}

impl Worker for SignatureWorker {
    type Message = ();
    type Input = (u32, SignatureCheck);
    type Output = (u32, SignatureAnswer);

    fn create(_: &WorkerScope<Self>) -> Self {
        Self
    }

    fn update(&mut self, _: &WorkerScope<Self>, _: ()) {}

    fn received(&mut self, scope: &WorkerScope<Self>, (id, asked): Self::Input, who: HandlerId) {
        scope.respond(who, (id, check(&asked)));
    }
}
