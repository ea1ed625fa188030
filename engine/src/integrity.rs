//! The integrity check of every stored chain: in full when the node opens (every rule,
//! signature and proof of work, block by block with `ledger::replay_block`; reads are
//! served meanwhile and writes to a chain wait until it has verified), and cheaply while
//! it serves (the stored rows against the chain verified in memory: hashes and counts, no
//! signature or proof work). Either way it reads one consistent snapshot, one block at a
//! time, and checks the rows around the chain too: every vote of an appended block is
//! marked as on the chain in it, every vote so marked is in the block it names, and
//! pending votes are well formed and not on the chain. A chain found altered is reported,
//! shown, and takes no writes.

use crate::blocks::{appended_hashes, approvals_from, stored_block, stored_genesis, stored_header};
use crate::store;
use crate::sync::Event;
use crate::votes::{StoredVote, VOTE_COLUMNS};
use crate::{ChainSlot, EngineError, Node, Result};
use futures_util::TryStreamExt;
use ledger::{
    Approval, ApprovedBlock, BlockHash, BlockHeader, ChainState, ElectionId, Genesis, Signatures,
    TxId, Vote,
};
use sqlx::AnyConnection;
use std::collections::HashSet;
use std::sync::Arc;
use wire::BlockStatus;

/// What re-verifying the stored chains found.
#[derive(Debug, Clone, Default)]
pub struct IntegrityReport {
    /// Elections whose chain verified, with their heights.
    pub verified: Vec<(ElectionId, u64)>,
    /// Elections whose stored chain does not verify, and why.
    pub problems: Vec<(ElectionId, String)>,
    /// Elections whose chain was written in an earlier format, which this version does
    /// not read: not verified, served read-only, and not a sign of tampering.
    pub old_format: Vec<(ElectionId, String)>,
}

impl IntegrityReport {
    /// True when every chain verified.
    pub fn is_clean(&self) -> bool {
        self.problems.is_empty() && self.old_format.is_empty()
    }
}

/// How far the start-up check goes with the ballots' proofs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum StartupCheck {
    /// Each ballot's proofs were checked as its vote came in and recorded; its row must
    /// still hash to its receipt under the block's Merkle root.
    #[default]
    Recorded,
    /// Every ballot's proofs again (`ballotchain check --full`, like `verify`).
    EveryProof,
}

/// How deep a check goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Depth {
    /// Every rule, signature and proof of work, from the genesis block.
    Full(StartupCheck),
    /// The rows against the chain verified in memory: hashes and counts only.
    Rows,
}

/// Votes whose rows the periodic check re-reads and re-hashes per run, by default: with
/// blocks appended since the last run, older blocks are re-read in turn, this many votes'
/// worth at a time ([`Node::set_rows_per_check`]).
pub const ROWS_PER_CHECK: u64 = 100_000;

/// Where the periodic check of one election's vote rows stands.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Rotation {
    /// The height up to which blocks were there at the last run.
    seen: u64,
    /// The height whose rows are re-read next, among those.
    next: u64,
}

/// Which of `sizes` (votes per block, from height 1) have their vote rows re-read this
/// run: every block above `at.seen` (appended since the last run), and of the others, in
/// turn from `at.next`, as many as `budget` votes allows (at least one block). Returns
/// the mask and where the next run stands.
fn rows_window(sizes: &[u64], at: Rotation, budget: u64) -> (Vec<bool>, Rotation) {
    let old = usize::try_from(at.seen).map_or(sizes.len(), |seen| seen.min(sizes.len()));
    let mut mask = vec![false; sizes.len()];
    mask[old..].iter_mut().for_each(|m| *m = true);
    let mut next = at.next.max(1);
    if old > 0 {
        let mut i = usize::try_from(next - 1).map_or(0, |n| n % old);
        let (mut taken, mut read) = (0u64, 0usize);
        while read < old && (read == 0 || taken.saturating_add(sizes[i]) <= budget) {
            mask[i] = true;
            taken = taken.saturating_add(sizes[i]);
            read += 1;
            i = (i + 1) % old;
        }
        next = i as u64 + 1;
    }
    let seen = sizes.len() as u64;
    (mask, Rotation { seen, next })
}

/// A vote of the pool with the receipt recorded beside it.
#[derive(sqlx::FromRow)]
struct PendingVote {
    tx_id: TxId,
    #[sqlx(flatten)]
    vote: StoredVote,
}

fn altered(why: impl Into<String>) -> EngineError {
    EngineError::Integrity(why.into())
}

impl Node {
    /// The full check of every sealed election, once, when the node opens: each chain is
    /// writable as soon as it has verified, and writes to a chain not checked yet wait
    /// for the check to end (reads of the stored rows are served meanwhile). Ends the
    /// wait even when the check could not run: those chains are then not served.
    pub async fn check_at_start(&self, how: StartupCheck) -> Result<IntegrityReport> {
        let report = self.check_all(Depth::Full(how)).await;
        if let Err(e) = &report {
            let why = format!("the start-up check could not run: {e}");
            let sealed: Vec<ElectionId> =
                sqlx::query_scalar("SELECT id FROM elections WHERE state <> $1")
                    .bind(wire::ElectionState::Setup)
                    .fetch_all(&self.inner.read)
                    .await
                    .unwrap_or_default();
            let mut chains = self.chains();
            for id in sealed {
                chains
                    .entry(id)
                    .or_insert_with(|| ChainSlot::Tampered(why.clone()));
            }
        }
        self.inner.checked.send_replace(true);
        report
    }

    /// The cheap check of every sealed election, while serving: the stored rows against
    /// the chains verified in memory. Every run reads every block's header, its links and
    /// approvals, and counts the votes; it re-reads and re-hashes the vote rows of the
    /// blocks appended since the last run and, in turn, of older blocks up to
    /// [`Node::set_rows_per_check`] votes, so that a long chain's check costs the same
    /// each run and every row is re-read within `votes / rows per check` runs. A chain
    /// found altered takes no more writes, on any instance. Skipped until the start-up
    /// check has ended, and while another instance on the same database is checking
    /// (`None`).
    pub async fn recheck_stored_chains(&self) -> Result<Option<IntegrityReport>> {
        if !*self.inner.checked.borrow() {
            return Ok(Some(IntegrityReport::default()));
        }
        let Some(turn) = store::begin_check(&self.inner.read).await? else {
            return Ok(None);
        };
        let report = self.check_all(Depth::Rows).await;
        store::end_check(turn).await;
        report.map(Some)
    }

    /// How many older votes' rows each periodic check re-reads ([`ROWS_PER_CHECK`] by
    /// default; at least one block's).
    pub fn set_rows_per_check(&self, votes: u64) {
        self.inner
            .rows_per_check
            .store(votes, std::sync::atomic::Ordering::Relaxed);
    }

    fn rows_per_check(&self) -> u64 {
        self.inner
            .rows_per_check
            .load(std::sync::atomic::Ordering::Relaxed)
    }

    fn rotation(&self, id: ElectionId) -> Rotation {
        let rotations = self.inner.rotation.lock();
        // Inserts and reads only: a poisoned map is still whole.
        let rotations = rotations.unwrap_or_else(std::sync::PoisonError::into_inner);
        rotations.get(&id).copied().unwrap_or_default()
    }

    fn set_rotation(&self, id: ElectionId, at: Rotation) {
        let rotations = self.inner.rotation.lock();
        let mut rotations = rotations.unwrap_or_else(std::sync::PoisonError::into_inner);
        rotations.insert(id, at);
    }

    /// A chain sealed by another instance since this one checked the stored chains:
    /// verified in full, then kept like those.
    pub(crate) async fn load_chain(&self, id: ElectionId) -> Result<Arc<ChainState>> {
        let checked = self
            .check_one(id, Depth::Full(StartupCheck::Recorded))
            .await;
        let slot = match checked {
            Ok(chain) => ChainSlot::Verified(chain),
            Err(EngineError::OldFormat(why)) => ChainSlot::OldFormat(why),
            Err(EngineError::Integrity(why)) => {
                self.found_altered(id, why.clone()).await;
                return Err(EngineError::Integrity(why));
            }
            Err(other) => return Err(other),
        };
        // A chain this instance holds already (it sealed it meanwhile) is kept.
        match self.chains().entry(id).or_insert(slot) {
            ChainSlot::Verified(chain) => Ok(chain.clone()),
            ChainSlot::Tampered(why) => Err(EngineError::Integrity(why.clone())),
            ChainSlot::OldFormat(why) => Err(EngineError::OldFormat(why.clone())),
        }
    }

    /// A chain found altered takes no more writes here, and the other instances are told.
    async fn found_altered(&self, id: ElectionId, problem: String) {
        tracing::error!(election = id.0, %problem, "TAMPERING DETECTED: stored chain failed verification");
        self.set_chain(id, ChainSlot::Tampered(problem.clone()));
        let told = match self.inner.read.acquire().await {
            Ok(mut conn) => Event::Altered(id, problem).send(&mut conn).await,
            Err(e) => Err(e),
        };
        if let Err(e) = told {
            tracing::warn!(election = id.0, error = %e, "could not tell the other instances");
        }
    }

    async fn check_all(&self, depth: Depth) -> Result<IntegrityReport> {
        let mut report = IntegrityReport::default();
        let sealed: Vec<ElectionId> =
            sqlx::query_scalar("SELECT id FROM elections WHERE state <> $1 ORDER BY id")
                .bind(wire::ElectionState::Setup)
                .fetch_all(&self.inner.read)
                .await?;
        for id in sealed {
            if let Some(known) = self.integrity_problem(id) {
                report.problems.push((id, known));
                continue;
            }
            if let Some(ChainSlot::OldFormat(why)) = self.chains().get(&id) {
                report.old_format.push((id, why.clone()));
                continue;
            }
            match self.check_one(id, depth).await {
                Ok(chain) => {
                    report.verified.push((id, chain.height()));
                    if matches!(depth, Depth::Full(_)) {
                        self.chains()
                            .entry(id)
                            .or_insert(ChainSlot::Verified(chain));
                    }
                }
                Err(EngineError::Database(e)) => return Err(EngineError::Database(e)),
                Err(EngineError::OldFormat(why)) => {
                    tracing::warn!(election = id.0, %why, "stored chain of an earlier format: not verified, served read-only");
                    report.old_format.push((id, why.clone()));
                    self.chains().entry(id).or_insert(ChainSlot::OldFormat(why));
                }
                // While serving, only rows that disagree are tampering: an election being
                // sealed this moment has no chain in memory yet, and is checked next time.
                Err(other)
                    if depth == Depth::Rows && !matches!(other, EngineError::Integrity(_)) =>
                {
                    tracing::debug!(election = id.0, error = %other, "not checked this time");
                }
                Err(problem) => {
                    let problem = match problem {
                        EngineError::Integrity(why) => why,
                        other => other.to_string(),
                    };
                    report.problems.push((id, problem.clone()));
                    self.found_altered(id, problem).await;
                }
            }
        }
        Ok(report)
    }

    /// Checks one election's stored chain in one snapshot, block by block: memory holds
    /// one block at a time, however long the chain.
    async fn check_one(&self, id: ElectionId, depth: Depth) -> Result<Arc<ChainState>> {
        let mut db = store::begin_snapshot(&self.inner.read).await?;
        let known = match depth {
            Depth::Full(_) => None,
            Depth::Rows => {
                // The snapshot starts at the first read: taken while no block is being
                // appended here, it holds every block of the chain in memory (and those
                // other instances appended since).
                let _appending = self.inner.append_lock.lock().await;
                sqlx::query("SELECT count(*) FROM elections")
                    .execute(&mut *db)
                    .await?;
                Some(self.chain(id).await?)
            }
        };
        let (genesis, genesis_hash) = stored_genesis(&mut db, id).await?;
        if genesis.election != id {
            return Err(altered("the genesis block names another election"));
        }
        let hashes = appended_hashes(&mut db, id).await?;
        // Votes in the appended blocks, each of them marked as on the chain in its block.
        let mut in_blocks = 0u64;
        let chain = match known {
            // Every rule, signature and approval; each ballot's proofs were checked as its
            // vote came in, and its row still hashes to the receipt under the block's
            // Merkle root (`ballotchain check --full` and `verify` check every proof again).
            None => {
                if genesis.hash() != genesis_hash {
                    return Err(altered(
                        "the genesis block does not match its recorded hash",
                    ));
                }
                genesis.check_rules().map_err(|e| altered(e.to_string()))?;
                let proofs = match depth {
                    Depth::Full(StartupCheck::EveryProof) => Signatures::Here,
                    _ => Signatures::ProofsChecked,
                };
                let mut chain = ChainState::new(genesis);
                for (i, hash) in hashes.iter().enumerate() {
                    let approved = marked_block(&mut db, hash, i as u64 + 1).await?;
                    in_blocks += approved.block.votes.len() as u64;
                    chain = replay_off_thread(chain, approved, proofs).await?;
                }
                // Every row was read: the periodic check goes on from the first block.
                let seen = chain.height();
                self.set_rotation(id, Rotation { seen, next: 1 });
                Arc::new(chain)
            }
            // The stored blocks against the chain verified in memory: hashes only. Blocks
            // another instance appended before the snapshot began, which this one has not
            // caught up with yet, are verified as catching up verifies them.
            Some(known) => {
                if genesis_hash != known.genesis_hash() {
                    return Err(altered("the genesis block is not the verified one"));
                }
                let mut parent = genesis_hash;
                let mut counted = 0u64;
                let mut extended: Option<ChainState> = None;
                let verified =
                    usize::try_from(known.height()).map_or(hashes.len(), |h| h.min(hashes.len()));
                let mut sizes = Vec::with_capacity(verified);
                for hash in &hashes[..verified] {
                    sizes.push(listed_votes(&mut db, hash).await?);
                }
                let (reread, rotation) =
                    rows_window(&sizes, self.rotation(id), self.rows_per_check());
                for (i, hash) in hashes.iter().enumerate() {
                    let index = i as u64 + 1;
                    if i < verified {
                        if reread[i] {
                            let approved = marked_block(&mut db, hash, index).await?;
                            same_block(&approved, index, parent, known.genesis())?;
                        } else {
                            let (header, approvals) =
                                stored_header_with_approvals(&mut db, hash, index).await?;
                            same_links(&header, &approvals, index, parent, known.genesis())?;
                        }
                        counted += sizes[i];
                        in_blocks += sizes[i];
                        if index == known.height() && *hash != known.tip() {
                            return Err(ends_elsewhere(index, hash, &known));
                        }
                    } else {
                        let approved = marked_block(&mut db, hash, index).await?;
                        in_blocks += approved.block.votes.len() as u64;
                        let next = extended.take().unwrap_or_else(|| ChainState::clone(&known));
                        extended = Some(
                            replay_off_thread(next, approved, Signatures::ProofsChecked).await?,
                        );
                    }
                    parent = *hash;
                }
                self.set_rotation(id, rotation);
                if (hashes.len() as u64) < known.height() {
                    return Err(ends_elsewhere(hashes.len() as u64, &parent, &known));
                }
                // The votes are the ones verified (their receipts make each Merkle root):
                // the same number of ballots is counted.
                if counted != known.tally().total {
                    return Err(altered(
                        "the votes on the stored chain are not the votes counted",
                    ));
                }
                extended.map_or(known, Arc::new)
            }
        };
        rows_agree(&mut db, id, &chain, depth, in_blocks).await?;
        self.count_agrees(&mut db, id, &chain).await?;
        Ok(chain)
    }
}

/// `ledger::replay_block` on a blocking thread (a block's signatures, and perhaps its
/// proofs, cost milliseconds): the chain extended by `approved`.
async fn replay_off_thread(
    mut chain: ChainState,
    approved: ApprovedBlock,
    signatures: Signatures<'static>,
) -> Result<ChainState> {
    tokio::task::spawn_blocking(move || {
        ledger::replay_block(&mut chain, &approved, signatures).map(|()| chain)
    })
    .await
    .map_err(EngineError::join)?
    .map_err(|e| altered(e.to_string()))
}

fn ends_elsewhere(height: u64, tip: &BlockHash, known: &ChainState) -> EngineError {
    altered(format!(
        "the stored chain ends at block {height} ({tip}), the verified chain at block {} ({})",
        known.height(),
        known.tip()
    ))
}

/// The `index`-th appended block as stored, and every vote of it marked as on the chain
/// in it: a vote of an appended block that is missing, pending or marked as in another
/// block is an altered row.
async fn marked_block(
    db: &mut AnyConnection,
    hash: &BlockHash,
    index: u64,
) -> Result<ApprovedBlock> {
    let marks: Vec<(TxId, Option<TxId>, Option<BlockHash>)> = sqlx::query_as(
        "SELECT bv.tx_id, v.tx_id, v.block_hash FROM block_votes bv
         LEFT JOIN votes v ON v.tx_id = bv.tx_id WHERE bv.block_hash = $1",
    )
    .bind(hash)
    .fetch_all(&mut *db)
    .await?;
    for (receipt, row, marked) in marks {
        if row.is_none() {
            return Err(altered(format!(
                "block {index}: its vote {receipt} is missing"
            )));
        }
        if marked != Some(*hash) {
            return Err(altered(format!(
                "vote {receipt} is in block {index} but not marked as on the chain in it"
            )));
        }
    }
    stored_block(db, hash, index).await
}

/// How many votes a stored block lists.
async fn listed_votes(db: &mut AnyConnection, hash: &BlockHash) -> Result<u64> {
    let listed: i64 = sqlx::query_scalar("SELECT count(*) FROM block_votes WHERE block_hash = $1")
        .bind(hash)
        .fetch_one(&mut *db)
        .await?;
    crate::stored_u64("vote count", listed)
}

/// The `index`-th appended block's header and approvals, without its votes: an integrity
/// error when the header does not hash to `hash`.
async fn stored_header_with_approvals(
    db: &mut AnyConnection,
    hash: &BlockHash,
    index: u64,
) -> Result<(BlockHeader, Vec<Approval>)> {
    let header = stored_header(&mut *db, hash).await?;
    if header.hash() != *hash {
        return Err(altered(format!(
            "block {index}: the stored header does not hash to its recorded hash"
        )));
    }
    Ok((header, approvals_from(db, hash).await?))
}

/// One stored block against the chain verified in memory, hashing only: its height and
/// parent, its votes under its Merkle root, and approvals by a quorum of the genesis
/// validators.
fn same_block(
    approved: &ApprovedBlock,
    index: u64,
    parent: BlockHash,
    genesis: &Genesis,
) -> Result<()> {
    let block = &approved.block;
    let receipts: Vec<TxId> = block.votes.iter().map(Vote::tx_id).collect();
    if ledger::merkle_root(&receipts) != block.header.merkle_root {
        return Err(altered(format!(
            "block {index}: its height, parent or votes do not match its header"
        )));
    }
    same_links(&block.header, &approved.approvals, index, parent, genesis)
}

/// A stored block's header against the chain verified in memory, its votes aside: its
/// height and parent, and approvals by a quorum of the genesis validators.
fn same_links(
    header: &BlockHeader,
    approvals: &[Approval],
    index: u64,
    parent: BlockHash,
    genesis: &Genesis,
) -> Result<()> {
    if header.index != index || header.prev != parent {
        return Err(altered(format!(
            "block {index}: its height, parent or votes do not match its header"
        )));
    }
    let hash = header.hash();
    let approvers: HashSet<_> = approvals
        .iter()
        .filter(|a| a.block == hash && genesis.validators.contains(&a.validator))
        .map(|a| a.validator)
        .collect();
    if approvers.len() < usize::from(genesis.quorum) {
        return Err(altered(format!(
            "block {index}: {} approvals by the genesis validators, {} needed",
            approvers.len(),
            genesis.quorum
        )));
    }
    Ok(())
}

impl Node {
    /// The count's rows against the verified chain, in the same snapshot: the final head is
    /// the chain's tip (no block joins a final count), every posted share is signed by its
    /// trustee over that head and these sums with every proof holding, and a published result
    /// is what the shares decrypt the sums to ([`ledger::result::check_result`]). A count
    /// edited in the database is an altered chain like any other row. The proofs are checked
    /// again only when the rows differ from the ones last verified (a digest of them), so the
    /// periodic check stays cheap while nothing changes.
    async fn count_agrees(
        &self,
        db: &mut AnyConnection,
        id: ElectionId,
        chain: &Arc<ChainState>,
    ) -> Result<()> {
        let end = crate::count::final_head(db, id).await?;
        let shares = crate::count::shares_of(db, id).await?;
        let counts = crate::count::counts_of(db, id)
            .await
            .map_err(|_| altered("the published result does not read"))?;
        let Some(end) = end else {
            if !shares.is_empty() || counts.is_some() {
                return Err(altered(
                    "decryption shares or a result are stored for a count that is not final",
                ));
            }
            return Ok(());
        };
        if end.height != chain.height() || end.head != chain.tip() {
            return Err(altered(format!(
            "the final head recorded, block {} ({}), is not the verified chain's, block {} ({})",
            end.height,
            end.head,
            chain.height(),
            chain.tip()
        )));
        }
        let digest = {
            use sha2::{Digest, Sha256};
            let rows =
                serde_json::to_vec(&(end.height, end.head, &shares, &counts)).map_err(|e| {
                    EngineError::Internal(format!("the count's rows do not encode: {e}"))
                })?;
            <[u8; 32]>::from(Sha256::digest(rows))
        };
        if self.counts_verified().get(&id) == Some(&digest) {
            return Ok(());
        }
        let chain = chain.clone();
        tokio::task::spawn_blocking(move || -> Result<()> {
            let Some(counts) = counts else {
                let (genesis, tip, sums) = (chain.genesis(), chain.tip(), &chain.tally().sums);
                for share in &shares {
                    ledger::result::check_share(genesis, &tip, sums, share).map_err(|e| {
                        altered(format!(
                            "the decryption share of trustee {} does not hold: {e}",
                            share.trustee
                        ))
                    })?;
                }
                return Ok(());
            };
            // Every share, and the counts they decrypt the sums to.
            let result = ledger::result::TallyResult {
                height: end.height,
                head: end.head,
                shares,
                counts,
            };
            ledger::result::check_result(&chain, &result)
                .map_err(|e| altered(format!("the published result does not hold: {e}")))?;
            Ok(())
        })
        .await
        .map_err(EngineError::join)??;
        self.counts_verified().insert(id, digest);
        Ok(())
    }

    fn counts_verified(
        &self,
    ) -> std::sync::MutexGuard<'_, std::collections::HashMap<ElectionId, [u8; 32]>> {
        self.inner
            .counts_verified
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

/// The rows around the chain, beyond its blocks (each of whose `in_blocks` votes is
/// marked as on the chain in it, [`marked_block`]): no other vote is marked as on the
/// chain (so every vote so marked is in the appended block it names); every pending vote
/// is well formed (its receipt is its hash; in a full check, every vote rule holds) and
/// from a voter not on the chain. Pending votes are read as a stream.
async fn rows_agree(
    db: &mut AnyConnection,
    id: ElectionId,
    chain: &ChainState,
    depth: Depth,
    in_blocks: u64,
) -> Result<()> {
    let marked: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM votes WHERE election_id = $1 AND block_hash IS NOT NULL",
    )
    .bind(id)
    .fetch_one(&mut *db)
    .await?;
    if u64::try_from(marked).ok() != Some(in_blocks) {
        // Which vote, to say so: a search run only when something is wrong.
        let stray: Option<(TxId, BlockHash, Option<String>)> = sqlx::query_as(
            "SELECT v.tx_id, v.block_hash, b.status FROM votes v LEFT JOIN blocks b ON b.hash = v.block_hash
             WHERE v.election_id = $1 AND v.block_hash IS NOT NULL
               AND (b.status IS NULL OR b.status <> $2 OR NOT EXISTS
                    (SELECT 1 FROM block_votes bv WHERE bv.block_hash = v.block_hash AND bv.tx_id = v.tx_id))
             LIMIT 1",
        )
        .bind(id)
        .bind(BlockStatus::Appended)
        .fetch_optional(&mut *db)
        .await?;
        return Err(altered(match stray {
            // Read as text: an altered row may hold a status that is no status at all.
            Some((receipt, block, Some(status))) if status.parse() != Ok(BlockStatus::Appended) => {
                format!(
                    "vote {receipt} is marked as on the chain in block {block}, which is {status}"
                )
            }
            Some((receipt, _, _)) => {
                format!("vote {receipt} is marked as on the chain, in no appended block")
            }
            None => {
                format!("{in_blocks} votes are in appended blocks, {marked} marked as on the chain")
            }
        }));
    }
    let query = format!(
        "SELECT v.tx_id, {VOTE_COLUMNS} FROM votes v WHERE v.election_id = $1 AND v.block_hash IS NULL"
    );
    let mut pending = sqlx::query_as::<_, PendingVote>(&query)
        .bind(id)
        .fetch(&mut *db);
    while let Some(PendingVote {
        tx_id: receipt,
        vote,
    }) = pending.try_next().await?
    {
        let vote = vote.into_vote()?;
        let well_formed = vote.tx_id() == receipt
            && vote.election == id
            && match depth {
                Depth::Full(StartupCheck::Recorded) => chain
                    .check_vote_with(&vote, Signatures::ProofsChecked)
                    .is_ok(),
                Depth::Full(StartupCheck::EveryProof) => {
                    chain.check_vote_with(&vote, Signatures::Here).is_ok()
                }
                Depth::Rows => chain.is_voter(&vote.voter) && !chain.has_voted(&vote.voter),
            };
        if !well_formed {
            return Err(altered(format!(
                "pending vote {receipt} was altered or is invalid"
            )));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::{rows_window, Rotation};

    fn window(sizes: &[u64], seen: u64, next: u64, budget: u64) -> (Vec<usize>, u64, u64) {
        let (mask, at) = rows_window(sizes, Rotation { seen, next }, budget);
        let heights = (1..=sizes.len()).filter(|h| mask[h - 1]).collect();
        (heights, at.seen, at.next)
    }

    #[test]
    fn the_first_run_reads_every_block_as_new() {
        assert_eq!(window(&[5, 5, 5], 0, 0, 1), (vec![1, 2, 3], 3, 1));
        assert_eq!(window(&[], 0, 0, 1), (vec![], 0, 1));
    }

    #[test]
    fn older_blocks_are_read_in_turn_within_the_budget_and_new_ones_always() {
        // Budget for two blocks of five: heights 1 and 2, then 3 and 1 (wrapping).
        assert_eq!(window(&[5, 5, 5], 3, 1, 10), (vec![1, 2], 3, 3));
        assert_eq!(window(&[5, 5, 5], 3, 3, 10), (vec![1, 3], 3, 2));
        // Two blocks appended since: read whatever the budget.
        assert_eq!(window(&[5, 5, 5, 5, 5], 3, 2, 5), (vec![2, 4, 5], 5, 3));
        // A block larger than the budget is still read, alone.
        assert_eq!(window(&[50, 5], 2, 1, 10), (vec![1], 2, 2));
        // Everything fits: every block, every run.
        assert_eq!(window(&[1, 2, 3], 3, 2, 100), (vec![1, 2, 3], 3, 2));
    }

    #[test]
    fn every_older_block_is_read_within_votes_over_budget_runs() {
        let sizes = vec![3u64; 10];
        let mut at = Rotation { seen: 10, next: 1 };
        let mut read = [0u32; 10];
        for _ in 0..5 {
            let (mask, next) = rows_window(&sizes, at, 6);
            for (count, reread) in read.iter_mut().zip(mask) {
                *count += u32::from(reread);
            }
            at = next;
        }
        assert_eq!(read, [1; 10]);
    }

    #[test]
    fn a_chain_shorter_than_remembered_wraps_at_its_end() {
        // The rotation stood past the end of a chain another instance has not extended.
        assert_eq!(window(&[5, 5], 2, 9, 5), (vec![1], 2, 2));
        assert_eq!(window(&[5, 5], 7, 2, 5), (vec![2], 2, 1));
    }
}
