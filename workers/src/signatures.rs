//! The votes' signatures of a page of served blocks, checked on a worker of its own: the
//! checker spawns one per spare core and hands each a page as the server sent it (the
//! compact encoding), so the costliest rule runs on every core while the checker runs the
//! others.

use crate::Job;
use gloo_worker::{HandlerId, Worker, WorkerScope};
use ledger::BlockHash;

/// A signatures worker.
pub struct SignatureWorker;

impl Job for SignatureWorker {
    /// A page of `/chain?since=` as served (`ledger::encode_blocks`).
    type Request = Vec<u8>;
    /// The hashes of its blocks whose votes give their Merkle root and carry valid
    /// signatures (`ledger::verified_blocks`).
    type Answer = Vec<BlockHash>;
    type Codec = gloo_worker::Bincode;
    const BUNDLE: &'static str = "signatures";
}

/// The blocks of a served page whose signatures verify (none when the page does not read).
pub fn verify_page(page: &[u8]) -> Vec<BlockHash> {
    ledger::decode_blocks(page, u32::MAX)
        .map(|blocks| ledger::verified_blocks(blocks.iter().map(|b| &b.block)))
        .unwrap_or_default()
}

impl Worker for SignatureWorker {
    type Message = ();
    type Input = (u32, Vec<u8>);
    type Output = (u32, Vec<BlockHash>);

    fn create(_: &WorkerScope<Self>) -> Self {
        Self
    }

    fn update(&mut self, _: &WorkerScope<Self>, _: ()) {}

    fn received(&mut self, scope: &WorkerScope<Self>, (id, page): Self::Input, who: HandlerId) {
        scope.respond(who, (id, verify_page(&page)));
    }
}
