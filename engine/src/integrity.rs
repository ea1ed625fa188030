//! The integrity check of every stored chain: in full when the node opens (every rule,
//! signature and proof of work, by `ledger::replay`; reads are served meanwhile and writes
//! to a chain wait until it has verified), and cheaply while it serves (the
//! stored rows against the chain verified in memory: hashes and counts, no signature or
//! proof work). Either way it reads one consistent snapshot and checks the rows around
//! the chain too: every vote marked as on the chain is in exactly one appended block,
//! no other block carries such a vote, and pending votes are well formed and not on the
//! chain. A chain found altered is reported, shown, and takes no writes.

use crate::blocks::stored_chain_from;
use crate::events::Event;
use crate::store;
use crate::votes::{StoredVote, VOTE_COLUMNS};
use crate::{ChainSlot, EngineError, Node, Result};
use ledger::{BlockHash, ChainExport, ChainState, ElectionId, Signatures, TxId, Vote};
use sqlx::AnyConnection;
use std::collections::{HashMap, HashSet};
use std::sync::Arc;

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
                sqlx::query_scalar("SELECT id FROM elections WHERE state <> 'setup'")
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
    /// the chains verified in memory. A chain found altered takes no more writes, on any
    /// instance. Skipped until the start-up check has ended, and while another instance
    /// on the same database is checking (`None`).
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
            sqlx::query_scalar("SELECT id FROM elections WHERE state <> 'setup' ORDER BY id")
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
        let stored = stored_chain_from(&mut db, id).await?;
        if stored.genesis.election != id {
            return Err(altered("the genesis block names another election"));
        }
        let proofs = match depth {
            Depth::Full(StartupCheck::EveryProof) => Signatures::Here,
            _ => Signatures::ProofsChecked,
        };
        let (stored, chain) = match known {
            // Every rule, signature and approval; each ballot's proofs were checked as its
            // vote came in, and its row still hashes to the receipt under the block's
            // Merkle root (`ballotchain check --full` and `verify` check every proof again).
            // On a blocking thread: requests are served meanwhile.
            None => {
                let (stored, replayed) = tokio::task::spawn_blocking(move || {
                    let replayed = ledger::replay_with(&stored, proofs);
                    (stored, replayed)
                })
                .await
                .map_err(EngineError::join)?;
                let chain = replayed.map_err(|e| match e {
                    ledger::ExportError::GenesisHashMismatch => {
                        altered("the genesis block does not match its recorded hash")
                    }
                    other => altered(other.to_string()),
                })?;
                (stored, Arc::new(chain))
            }
            Some(known) => {
                // Blocks another instance appended before the snapshot began, which this
                // one has not caught up with yet: verified as catching up verifies them.
                let known = match stored.blocks.get(known.height() as usize..) {
                    Some(after) if !after.is_empty() => {
                        let (head, after) = (stored.head(), after.to_vec());
                        let followed = tokio::task::spawn_blocking(move || {
                            ledger::follow(&known, head, &after, &[], Signatures::ProofsChecked)
                        })
                        .await
                        .map_err(EngineError::join)?;
                        Arc::new(followed.map_err(|e| altered(e.to_string()))?)
                    }
                    _ => known,
                };
                same_chain(&stored, &known)?;
                (stored, known)
            }
        };
        rows_agree(&mut db, id, &stored, &chain, depth).await?;
        Ok(chain)
    }
}

/// The stored blocks are the chain verified in memory: the same length and tip, each
/// block linked to the one before with its votes under its Merkle root and approved by
/// a quorum of the genesis validators, and the same votes counted. Hashing only.
fn same_chain(stored: &ChainExport, known: &ChainState) -> Result<()> {
    let (height, tip) = stored.head();
    if stored.genesis_hash != known.genesis_hash() || height != known.height() || tip != known.tip()
    {
        return Err(altered(format!(
            "the stored chain ends at block {height} ({tip}), the verified chain at block {} ({})",
            known.height(),
            known.tip()
        )));
    }
    let genesis = known.genesis();
    let mut parent = stored.genesis_hash;
    let mut counted = 0u64;
    for (i, approved) in stored.blocks.iter().enumerate() {
        let block = &approved.block;
        let index = i as u64 + 1;
        let receipts: Vec<TxId> = block.votes.iter().map(Vote::tx_id).collect();
        if block.header.index != index
            || block.header.prev != parent
            || ledger::merkle_root(&receipts) != block.header.merkle_root
        {
            return Err(altered(format!(
                "block {index}: its height, parent or votes do not match its header"
            )));
        }
        let approvers: HashSet<_> = approved
            .approvals
            .iter()
            .filter(|a| a.block == block.hash() && genesis.validators.contains(&a.validator))
            .map(|a| a.validator)
            .collect();
        if approvers.len() < usize::from(genesis.quorum) {
            return Err(altered(format!(
                "block {index}: {} approvals by the genesis validators, {} needed",
                approvers.len(),
                genesis.quorum
            )));
        }
        counted += block.votes.len() as u64;
        parent = block.hash();
    }
    // The votes are the ones verified (their receipts make each Merkle root): the same
    // number of ballots is counted.
    if counted != known.tally().total {
        return Err(altered(
            "the votes on the stored chain are not the votes counted",
        ));
    }
    Ok(())
}

/// The rows around the chain: every vote marked as on the chain is in exactly one
/// appended block, and the one it names; no block of another status carries such a vote;
/// every pending vote is well formed (its receipt is its hash; in a full check, every
/// vote rule holds) and not on the chain.
async fn rows_agree(
    db: &mut AnyConnection,
    id: ElectionId,
    stored: &ChainExport,
    chain: &ChainState,
    depth: Depth,
) -> Result<()> {
    let mut in_blocks: HashMap<TxId, (u64, BlockHash)> = HashMap::new();
    for approved in &stored.blocks {
        let (index, hash) = (approved.block.header.index, approved.block.hash());
        for vote in &approved.block.votes {
            if let Some((other, _)) = in_blocks.insert(vote.tx_id(), (index, hash)) {
                return Err(altered(format!(
                    "vote {} is in block {other} and in block {index}",
                    vote.tx_id()
                )));
            }
        }
    }
    let marked: Vec<(TxId, BlockHash)> = sqlx::query_as(
        "SELECT tx_id, block_hash FROM votes WHERE election_id = $1 AND block_hash IS NOT NULL",
    )
    .bind(id)
    .fetch_all(&mut *db)
    .await?;
    for (receipt, block) in &marked {
        match in_blocks.get(receipt) {
            Some((_, hash)) if hash == block => {}
            Some((index, _)) => {
                return Err(altered(format!(
                    "vote {receipt} is in block {index} but marked as in block {block}"
                )))
            }
            None => {
                let status: Option<String> =
                    sqlx::query_scalar("SELECT status FROM blocks WHERE hash = $1")
                        .bind(block)
                        .fetch_optional(&mut *db)
                        .await?;
                return Err(altered(match status {
                    Some(status) if status != "appended" => format!(
                        "vote {receipt} is marked as on the chain in block {block}, which is {status}"
                    ),
                    _ => format!(
                        "vote {receipt} is marked as on the chain, in no appended block"
                    ),
                }));
            }
        }
    }
    if marked.len() != in_blocks.len() {
        return Err(altered(format!(
            "{} votes are in appended blocks, {} marked as on the chain",
            in_blocks.len(),
            marked.len()
        )));
    }
    let pending: Vec<PendingVote> = sqlx::query_as(&format!(
        "SELECT v.tx_id, {VOTE_COLUMNS} FROM votes v WHERE v.election_id = $1 AND v.block_hash IS NULL"
    ))
    .bind(id)
    .fetch_all(&mut *db)
    .await?;
    for PendingVote {
        tx_id: receipt,
        vote,
    } in pending
    {
        let vote = vote.into_vote()?;
        let well_formed = vote.tx_id() == receipt
            && vote.election == id
            && !in_blocks.contains_key(&receipt)
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
