//! Mining work, block intake, and what the chain's blocks look like from outside.

use crate::votes::{into_votes, StoredVote, VOTE_COLUMNS};
use crate::{db_time, now_ms, EngineError, Node, Result};
use ledger::block::MinerTag;
use ledger::{
    merkle_root, Approval, ApprovedBlock, Block, BlockHash, BlockHeader, ChainExport, ChainState,
    ElectionId, Genesis, PublicKey, Signature, TxId, Vote, MAX_VOTES_PER_BLOCK,
};
use sqlx::AnyConnection;
use std::collections::HashSet;
use std::net::IpAddr;
use std::ops::Range;
use std::sync::Arc;
use wire::{
    AccountId, BlockDetail, BlockRef, BlockStatus, BlockSummary, DecisionRecord, PastDecision,
    QueuedBlock, SubmitOutcome, VoteInfo, WorkTemplate,
};

/// One part of a chain export, in the order [`Node::export_parts`] reads them.
#[derive(Debug)]
pub enum ExportPart {
    /// The genesis block and its recorded hash: first.
    Start(Box<Genesis>, BlockHash),
    /// The next appended block, from height 1.
    Block(Box<ApprovedBlock>),
    /// The published result, if there is one: last.
    End(Option<ledger::result::TallyResult>),
}

/// Blocks awaiting validators at one height: every awaiting block builds on the tip, so
/// this bounds them all. A fuller block displaces the one with the fewest votes.
pub const MAX_AWAITING_PER_HEIGHT: usize = 16;
/// Of those, from one client address.
pub const MAX_AWAITING_PER_SENDER: usize = 4;

/// Awaiting blocks whose checks are remembered.
const CHECKS_CACHED: usize = 1024;

/// The columns of a [`BlockSummary`], from the `blocks` table aliased `b`.
pub(crate) const SUMMARY_COLUMNS: &str =
    "b.hash, b.idx, b.prev_hash, b.status, b.miner_tag, b.submitted_at,
    (SELECT count(*) FROM block_votes bv WHERE bv.block_hash = b.hash) AS n_votes,
    (SELECT count(*) FROM decisions d WHERE d.block_hash = b.hash AND d.approve = 1) AS approvals,
    (SELECT count(*) FROM decisions d WHERE d.block_hash = b.hash AND d.approve = 0) AS rejections";

/// The columns of a [`DecisionRecord`], from `decisions d` joined with `accounts a`.
const DECISION_COLUMNS: &str =
    "a.username, d.validator_key AS public_key, d.approve, d.signature, d.reason, d.decided_at";

/// `ledger::validate_block` on a blocking thread: a block of 1000 votes verifies 1000
/// signatures, which must not stall the server's tasks. Its ballots' proofs were checked
/// as each vote came into the pending pool (a block is taken only with votes of the pool,
/// byte for byte: each is found by its receipt), so they are not checked again.
pub(crate) async fn validate_off_thread(chain: &Arc<ChainState>, block: &Block) -> Result<()> {
    let (chain, block) = (chain.clone(), block.clone());
    tokio::task::spawn_blocking(move || {
        ledger::validate_block_with(&chain, &block, ledger::Signatures::ProofsChecked)
    })
    .await
    .map_err(EngineError::join)??;
    Ok(())
}

/// A stored block (any status) with its votes in Merkle order, read on `db`.
pub(crate) async fn load_block_from(db: &mut AnyConnection, hash: &BlockHash) -> Result<Block> {
    Ok(Block {
        header: stored_header(&mut *db, hash).await?,
        votes: stored_votes(db, hash, 0..u64::MAX).await?,
    })
}

/// A stored block's header, as recorded.
pub(crate) async fn stored_header(db: &mut AnyConnection, hash: &BlockHash) -> Result<BlockHeader> {
    let header: Vec<u8> = sqlx::query_scalar("SELECT header FROM blocks WHERE hash = $1")
        .bind(hash)
        .fetch_optional(&mut *db)
        .await?
        .ok_or(EngineError::NotFound("block"))?;
    BlockHeader::decode(&header)
        .map_err(|e| EngineError::Internal(format!("stored header does not decode: {e}")))
}

/// The votes of a stored block at the Merkle positions `positions` (from 0), in order.
async fn stored_votes(
    db: &mut AnyConnection,
    hash: &BlockHash,
    positions: Range<u64>,
) -> Result<Vec<Vote>> {
    let bound = |p: u64| i64::try_from(p).unwrap_or(i64::MAX);
    let rows: Vec<StoredVote> = sqlx::query_as(&format!(
        "SELECT {VOTE_COLUMNS} FROM block_votes bv JOIN votes v ON v.tx_id = bv.tx_id
         WHERE bv.block_hash = $1 AND bv.position >= $2 AND bv.position < $3
         ORDER BY bv.position"
    ))
    .bind(hash)
    .bind(bound(positions.start))
    .bind(bound(positions.end))
    .fetch_all(&mut *db)
    .await?;
    into_votes(rows)
}

impl Node {
    /// A stored block (any status) with its votes in Merkle order.
    pub(crate) async fn load_block(&self, hash: &BlockHash) -> Result<Block> {
        load_block_from(&mut *self.inner.read.acquire().await?, hash).await
    }

    /// A stored block (any status) of `election`, votes in Merkle order: what a validator's
    /// browser re-checks on its own.
    pub async fn raw_block(&self, election: ElectionId, hash: &BlockHash) -> Result<Block> {
        let found: Option<i64> =
            sqlx::query_scalar("SELECT 1 FROM blocks WHERE hash = $1 AND election_id = $2")
                .bind(hash)
                .bind(election)
                .fetch_optional(&self.inner.read)
                .await?;
        if found.is_none() {
            return Err(EngineError::NotFound("block"));
        }
        self.load_block(hash).await
    }

    /// The height and hash of the tip of an election's appended chain (the genesis
    /// block's at height 0).
    pub async fn tip(&self, election: ElectionId) -> Result<(u64, BlockHash)> {
        let chain = self.chain(election).await?;
        Ok((chain.height(), chain.tip()))
    }

    /// A block template on the current tip with up to 1000 pending votes: made once per
    /// tip and pool, however many miners ask. The tip is the stored one (one indexed read),
    /// not only the one this instance heard of: a template on a tip another instance has
    /// moved past would send miners after a block that can only be stale.
    pub async fn work(&self, election: ElectionId) -> Result<Arc<WorkTemplate>> {
        let chain = self.fresh_chain(election).await?;
        if self.state_of(election).await? == wire::ElectionState::Closed {
            self.require_not_final(election).await?;
        }
        // Read before the pool is: a vote that lands meanwhile makes this entry old.
        let generation = self.pool_generation(election);
        let cached = self.templates().get(&election).cloned();
        let work = match cached {
            Some((tip, made_at, work)) if tip == chain.tip() && made_at == generation => work,
            _ => {
                let work = Arc::new(self.new_template(&chain, election).await?);
                self.templates()
                    .insert(election, (chain.tip(), generation, work.clone()));
                work
            }
        };
        if let Some(block) = self.covering_block(election, &work).await? {
            return Err(EngineError::AllAwaiting {
                index: work.index,
                block,
            });
        }
        Ok(work)
    }

    /// A block awaiting validators at the template's height that carries every vote of
    /// the template: mined again, the template could only make a duplicate
    /// ([`Node::make_room`] refuses a vote set an awaiting block carries). Asked on every
    /// request for work, since blocks are submitted and decided by any instance.
    async fn covering_block(
        &self,
        election: ElectionId,
        work: &WorkTemplate,
    ) -> Result<Option<BlockHash>> {
        let candidates: Vec<BlockHash> = sqlx::query_scalar(
            "SELECT b.hash FROM blocks b WHERE b.election_id = $1 AND b.idx = $2 AND b.status = $3
               AND (SELECT count(*) FROM block_votes bv WHERE bv.block_hash = b.hash) >= $4
             ORDER BY b.submitted_at, b.rowid",
        )
        .bind(election)
        .bind(db_time(work.index))
        .bind(BlockStatus::Awaiting)
        .bind(work.votes.len() as i64)
        .fetch_all(&self.inner.read)
        .await?;
        let wanted: HashSet<TxId> = work.votes.iter().map(Vote::tx_id).collect();
        for hash in candidates {
            let carried: HashSet<TxId> =
                sqlx::query_scalar("SELECT tx_id FROM block_votes WHERE block_hash = $1")
                    .bind(hash)
                    .fetch_all(&self.inner.read)
                    .await?
                    .into_iter()
                    .collect();
            if wanted.is_subset(&carried) {
                return Ok(Some(hash));
            }
        }
        Ok(None)
    }

    fn templates(
        &self,
    ) -> std::sync::MutexGuard<'_, std::collections::HashMap<ElectionId, crate::Template>> {
        // Inserts and reads only: a poisoned map is still whole.
        self.inner
            .templates
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    async fn new_template(&self, chain: &ChainState, election: ElectionId) -> Result<WorkTemplate> {
        let rows: Vec<StoredVote> = sqlx::query_as(&format!(
            "SELECT {VOTE_COLUMNS} FROM votes v WHERE v.election_id = $1 AND v.block_hash IS NULL
             ORDER BY v.received_at, v.rowid LIMIT {MAX_VOTES_PER_BLOCK}"
        ))
        .bind(election)
        .fetch_all(&self.inner.read)
        .await?;
        let votes = into_votes(rows)?;
        if votes.is_empty() {
            return Err(EngineError::NothingToMine);
        }
        let receipts: Vec<TxId> = votes.iter().map(Vote::tx_id).collect();
        let header = BlockHeader {
            version: ledger::FORMAT_VERSION,
            election: chain.genesis().election,
            index: chain.height() + 1,
            prev: chain.tip(),
            merkle_root: merkle_root(&receipts),
            timestamp: now_ms().max(chain.tip_timestamp()),
            difficulty: chain.genesis().difficulty,
            miner_tag: MinerTag::default(),
            nonce: 0,
        };
        Ok(WorkTemplate {
            election,
            index: header.index,
            prev: header.prev,
            difficulty: header.difficulty,
            min_timestamp: chain.tip_timestamp(),
            votes,
            header,
        })
    }

    /// Takes a mined block from `sender` (the client's address; `None` for the node's own
    /// tools), checking cheapest first: not seen before, not built on an old tip (stale),
    /// room for it among the blocks awaiting validators ([`Node::make_room`]), every chain
    /// rule (`ledger::validate_block`), every vote still in the pending pool. Then it is
    /// stored to await validators.
    pub async fn submit_block(
        &self,
        election: ElectionId,
        block: Block,
        sender: Option<IpAddr>,
    ) -> Result<SubmitOutcome> {
        let chain = self.fresh_chain(election).await?;
        self.require_not_final(election).await?;
        let hash = block.hash();
        let known: Option<BlockStatus> =
            sqlx::query_scalar("SELECT status FROM blocks WHERE hash = $1")
                .bind(hash)
                .fetch_optional(&self.inner.read)
                .await?;
        if let Some(status) = known {
            return Err(EngineError::Duplicate(format!(
                "this block was already submitted ({status})"
            )));
        }
        if block.header.election == election
            && block.header.prev != chain.tip()
            && block.header.index <= chain.height()
            && self.is_on_chain(&chain, &block.header.prev).await?
        {
            return Err(EngineError::Stale(format!(
                "the chain has moved on to block {}",
                chain.height()
            )));
        }
        let sender = sender.map(|ip| ip.to_string());
        let votes: HashSet<TxId> = block.votes.iter().map(Vote::tx_id).collect();
        // Checked before the signatures, so spam costs little; again below, where it counts.
        let mut read = self.inner.read.acquire().await?;
        Self::make_room(&mut read, election, &block, &votes, sender.as_deref()).await?;
        drop(read);
        validate_off_thread(&chain, &block).await?;
        // No block is appended meanwhile, by this instance or another: the block still
        // builds on the tip when it is stored, and no approval decides on a block this
        // one displaces.
        let _appending = self.inner.append_lock.lock().await;
        let (mut tx, now) = self.begin_chain_write(election).await?;
        // Again under the lock that finalising takes: no block joins a final count.
        crate::count::require_not_final_on(&mut tx, election).await?;
        if now.tip() != block.header.prev {
            return Err(EngineError::Stale(
                "a block was appended while this one was checked".into(),
            ));
        }
        let displaced =
            Self::make_room(&mut tx, election, &block, &votes, sender.as_deref()).await?;
        if let Some(displaced) = displaced {
            sqlx::query(
                "UPDATE blocks SET status = $1, decided_at = $2 WHERE hash = $3 AND status = $4",
            )
            .bind(BlockStatus::Stale)
            .bind(db_time(now_ms()))
            .bind(displaced)
            .bind(BlockStatus::Awaiting)
            .execute(&mut *tx)
            .await?;
            tracing::info!(election = election.0, block = %displaced, "awaiting block displaced by one with more votes");
        }
        for (i, v) in block.votes.iter().enumerate() {
            let pending: i64 = sqlx::query_scalar(
                "SELECT count(*) FROM votes WHERE tx_id = $1 AND election_id = $2 AND block_hash IS NULL",
            )
            .bind(v.tx_id())
            .bind(election)
            .fetch_one(&mut *tx)
            .await?;
            if pending == 0 {
                return Err(EngineError::UnknownVote(i));
            }
        }
        sqlx::query(
            "INSERT INTO blocks (hash, election_id, idx, prev_hash, header, miner_tag, status, submitted_at, submitted_by)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        )
        .bind(hash)
        .bind(election)
        .bind(db_time(block.header.index))
        .bind(block.header.prev)
        .bind(block.header.encode().as_slice())
        .bind(block.header.miner_tag.to_text())
        .bind(BlockStatus::Awaiting)
        .bind(db_time(now_ms()))
        .bind(&sender)
        .execute(&mut *tx)
        .await?;
        for (i, v) in block.votes.iter().enumerate() {
            sqlx::query(
                "INSERT INTO block_votes (block_hash, position, tx_id) VALUES ($1, $2, $3)",
            )
            .bind(hash)
            .bind(i as i64)
            .bind(v.tx_id())
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        tracing::info!(election = election.0, block = %hash, index = block.header.index, votes = block.votes.len(), "block awaiting approval");
        if let Some(displaced) = displaced {
            let stale = wire::Change::Block {
                hash: displaced,
                status: BlockStatus::Stale,
            };
            self.changed(election, stale).await;
        }
        let awaiting = wire::Change::Block {
            hash,
            status: BlockStatus::Awaiting,
        };
        self.changed(election, awaiting).await;
        Ok(SubmitOutcome {
            hash,
            index: block.header.index,
            status: BlockStatus::Awaiting,
        })
    }

    /// Whether `block` (its votes `votes`, from `sender`) may join the blocks awaiting
    /// validators at its height, where every awaiting block is (each builds on the tip).
    /// Refused: a sender with [`MAX_AWAITING_PER_SENDER`] there already (too many); a
    /// vote set that an awaiting block already carries, the same or more (duplicate); a
    /// full height where no block has fewer votes (crowded). Otherwise the block to
    /// displace, if the height is full: the one with the fewest votes, the newest of them.
    async fn make_room(
        db: &mut sqlx::AnyConnection,
        election: ElectionId,
        block: &Block,
        votes: &HashSet<TxId>,
        sender: Option<&str>,
    ) -> Result<Option<BlockHash>> {
        let awaiting: Vec<(BlockHash, Option<String>, i64)> = sqlx::query_as(
            "SELECT b.hash, b.submitted_by,
                (SELECT count(*) FROM block_votes bv WHERE bv.block_hash = b.hash)
             FROM blocks b WHERE b.election_id = $1 AND b.idx = $2 AND b.status = $3
             ORDER BY b.submitted_at, b.rowid",
        )
        .bind(election)
        .bind(db_time(block.header.index))
        .bind(BlockStatus::Awaiting)
        .fetch_all(&mut *db)
        .await?;
        if let Some(sender) = sender {
            let theirs = awaiting
                .iter()
                .filter(|(_, by, _)| by.as_deref() == Some(sender))
                .count();
            if theirs >= MAX_AWAITING_PER_SENDER {
                return Err(EngineError::TooMany(format!(
                    "{theirs} blocks from this address are awaiting validators already; wait for their decisions"
                )));
            }
        }
        for (hash, _, count) in &awaiting {
            if (*count as usize) < votes.len() {
                continue;
            }
            let theirs: HashSet<TxId> =
                sqlx::query_scalar("SELECT tx_id FROM block_votes WHERE block_hash = $1")
                    .bind(hash)
                    .fetch_all(&mut *db)
                    .await?
                    .into_iter()
                    .collect();
            if votes.is_subset(&theirs) {
                return Err(EngineError::Duplicate(if theirs.len() == votes.len() {
                    format!("block {hash} with these same votes is awaiting validators already")
                } else {
                    format!(
                        "block {hash}, awaiting validators, carries all of these votes and more"
                    )
                }));
            }
        }
        if awaiting.len() < MAX_AWAITING_PER_HEIGHT {
            return Ok(None);
        }
        let fewest = awaiting
            .iter()
            .rev()
            .min_by_key(|(_, _, count)| *count)
            .filter(|(_, _, count)| (*count as usize) < votes.len());
        match fewest {
            Some((hash, _, _)) => Ok(Some(*hash)),
            None => Err(EngineError::Crowded(format!(
                "{} blocks are awaiting validators at this height, none with fewer votes than this one; mine the full template",
                awaiting.len()
            ))),
        }
    }

    /// Whether `hash` is the genesis or an appended block of `chain`'s election.
    async fn is_on_chain(&self, chain: &ChainState, hash: &BlockHash) -> Result<bool> {
        let election = chain.genesis().election;
        if *hash == chain.genesis_hash() {
            return Ok(true);
        }
        let n: i64 = sqlx::query_scalar(
            "SELECT count(*) FROM blocks WHERE hash = $1 AND election_id = $2 AND status = $3",
        )
        .bind(hash)
        .bind(election)
        .bind(BlockStatus::Appended)
        .fetch_one(&self.inner.read)
        .await?;
        Ok(n > 0)
    }

    /// One block's summary.
    pub(crate) async fn block_summary(
        &self,
        election: ElectionId,
        hash: &BlockHash,
    ) -> Result<BlockSummary> {
        sqlx::query_as(&format!(
            "SELECT {SUMMARY_COLUMNS} FROM blocks b WHERE b.hash = $1 AND b.election_id = $2"
        ))
        .bind(hash)
        .bind(election)
        .fetch_optional(&self.inner.read)
        .await?
        .ok_or(EngineError::NotFound("block"))
    }

    /// Every rule checked on its own for an awaiting block, against the current tip;
    /// run once per block and tip, then remembered.
    pub async fn block_checks(
        &self,
        election: ElectionId,
        hash: &BlockHash,
    ) -> Result<Arc<Vec<ledger::Check>>> {
        let chain = self.chain(election).await?;
        let tip = chain.tip();
        let cached = self.checks_cache().get(hash).cloned();
        if let Some((checked_on, checks)) = cached {
            if checked_on == tip {
                return Ok(checks);
            }
        }
        let block = self.load_block(hash).await?;
        let checks = Arc::new(
            tokio::task::spawn_blocking(move || ledger::check_block(&chain, &block))
                .await
                .map_err(EngineError::join)?,
        );
        let mut cache = self.checks_cache();
        // Blocks left behind by the tip are never asked for again: start afresh now and
        // then rather than track them.
        if cache.len() >= CHECKS_CACHED {
            cache.clear();
        }
        cache.insert(*hash, (tip, checks.clone()));
        Ok(checks)
    }

    fn checks_cache(&self) -> std::sync::MutexGuard<'_, crate::ChecksCache> {
        // Inserts and reads only: a poisoned map is still whole.
        self.inner
            .checks
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Blocks awaiting approval in the elections this validator is enrolled in: by
    /// election and height, the fullest first.
    pub async fn validator_queue(&self, account: AccountId) -> Result<Vec<QueuedBlock>> {
        Ok(sqlx::query_as(&format!(
            "SELECT b.election_id, e.title, {SUMMARY_COLUMNS} FROM blocks b JOIN elections e ON e.id = b.election_id
             JOIN election_validators ev ON ev.election_id = b.election_id AND ev.account_id = $1
             WHERE b.status = $2 ORDER BY b.election_id, b.idx, n_votes DESC, b.submitted_at"
        ))
        .bind(account)
        .bind(BlockStatus::Awaiting)
        .fetch_all(&self.inner.read)
        .await?)
    }

    /// The sealed elections (open or closed) this validator is enrolled in, by id, with
    /// their titles: the chains a validator's own copy follows.
    pub async fn validator_elections(
        &self,
        account: AccountId,
    ) -> Result<Vec<(ElectionId, String)>> {
        Ok(sqlx::query_as(
            "SELECT e.id, e.title FROM elections e
             JOIN election_validators ev ON ev.election_id = e.id AND ev.account_id = $1
             WHERE e.state <> $2 ORDER BY e.id",
        )
        .bind(account)
        .bind(wire::ElectionState::Setup)
        .fetch_all(&self.inner.read)
        .await?)
    }

    /// This validator's last 100 decisions, newest first.
    pub async fn validator_history(&self, account: AccountId) -> Result<Vec<PastDecision>> {
        Ok(sqlx::query_as(&format!(
            "SELECT b.election_id, b.idx, b.hash, {DECISION_COLUMNS}
             FROM decisions d JOIN blocks b ON b.hash = d.block_hash JOIN accounts a ON a.id = d.account_id
             WHERE d.account_id = $1 ORDER BY d.decided_at DESC LIMIT 100"
        ))
        .bind(account)
        .fetch_all(&self.inner.read)
        .await?)
    }

    /// Blocks awaiting validators, oldest first.
    pub async fn awaiting_blocks(&self, election: ElectionId) -> Result<Vec<BlockSummary>> {
        self.state_of(election).await?;
        Ok(sqlx::query_as(&format!(
            "SELECT {SUMMARY_COLUMNS} FROM blocks b WHERE b.election_id = $1 AND b.status = $2 ORDER BY b.idx, b.submitted_at"
        ))
        .bind(election)
        .bind(BlockStatus::Awaiting)
        .fetch_all(&self.inner.read)
        .await?)
    }

    /// Appended blocks, newest first, starting at height `from` (default: the tip); 1 to
    /// 100 of them.
    pub async fn chain_page(
        &self,
        election: ElectionId,
        from: Option<u64>,
        limit: u32,
    ) -> Result<Vec<BlockSummary>> {
        self.state_of(election).await?;
        Ok(sqlx::query_as(&format!(
            "SELECT {SUMMARY_COLUMNS} FROM blocks b WHERE b.election_id = $1 AND b.status = $2 AND b.idx <= $3
             ORDER BY b.idx DESC LIMIT $4"
        ))
        .bind(election)
        .bind(BlockStatus::Appended)
        .bind(from.map_or(i64::MAX, db_time))
        .bind(i64::from(limit.clamp(1, 100)))
        .fetch_all(&self.inner.read)
        .await?)
    }

    /// Appended blocks after height `since`, oldest first, with their approvals, as the
    /// export carries them; 1 to 100 of them. A copy kept elsewhere follows the chain with
    /// these instead of the whole export.
    pub async fn appended_since(
        &self,
        election: ElectionId,
        since: u64,
        limit: u32,
    ) -> Result<Vec<ApprovedBlock>> {
        self.chain(election).await?;
        let mut db = self.inner.read.begin().await?;
        appended_after(&mut db, election, since, Some(limit.clamp(1, 100))).await
    }

    /// One block by hash (any status), or the appended block at a height.
    pub async fn block_detail(&self, election: ElectionId, block: BlockRef) -> Result<BlockDetail> {
        self.block_detail_window(election, block, 0..u64::MAX).await
    }

    /// [`Node::block_detail`] with only the votes at the Merkle positions `votes` (from
    /// 0; the summary still counts them all): a page of a large block reads those rows
    /// only.
    pub async fn block_detail_window(
        &self,
        election: ElectionId,
        block: BlockRef,
        votes: Range<u64>,
    ) -> Result<BlockDetail> {
        let hash = match block {
            BlockRef::Hash(hash) => hash,
            BlockRef::Height(index) => sqlx::query_scalar(
                "SELECT hash FROM blocks WHERE election_id = $1 AND idx = $2 AND status = $3",
            )
            .bind(election)
            .bind(db_time(index))
            .bind(BlockStatus::Appended)
            .fetch_optional(&self.inner.read)
            .await?
            .ok_or(EngineError::NotFound("block"))?,
        };
        let summary = self.block_summary(election, &hash).await?;
        let (header, vote_list) = {
            let mut db = self.inner.read.acquire().await?;
            let header = stored_header(&mut db, &hash).await?;
            let votes = stored_votes(&mut db, &hash, votes).await?;
            (header, votes.iter().map(VoteInfo::from).collect())
        };
        let decisions: Vec<DecisionRecord> = sqlx::query_as(&format!(
            "SELECT {DECISION_COLUMNS} FROM decisions d JOIN accounts a ON a.id = d.account_id
             WHERE d.block_hash = $1 ORDER BY d.decided_at"
        ))
        .bind(hash)
        .fetch_all(&self.inner.read)
        .await?;
        let quorum: i64 = sqlx::query_scalar("SELECT quorum FROM elections WHERE id = $1")
            .bind(election)
            .fetch_one(&self.inner.read)
            .await?;
        Ok(BlockDetail {
            summary,
            vote_list,
            header,
            decisions,
            quorum: u16::try_from(quorum)
                .map_err(|_| EngineError::Internal(format!("stored quorum {quorum}")))?,
        })
    }

    /// The chain as stored (see [`stored_chain_from`]).
    pub(crate) async fn stored_chain(&self, election: ElectionId) -> Result<ChainExport> {
        stored_chain_from(&mut *self.inner.read.acquire().await?, election).await
    }

    /// The tip of the appended chain, with its approvals.
    pub async fn head(&self, election: ElectionId) -> Result<wire::Head> {
        let chain = self.chain(election).await?;
        let approvals = if chain.height() == 0 {
            Vec::new()
        } else {
            approvals_from(&mut *self.inner.read.acquire().await?, &chain.tip()).await?
        };
        Ok(wire::Head {
            election,
            height: chain.height(),
            hash: chain.tip(),
            approvals,
        })
    }

    /// The genesis block: where a copy kept elsewhere starts.
    pub async fn genesis(&self, election: ElectionId) -> Result<ledger::Genesis> {
        Ok(self.chain(election).await?.genesis().clone())
    }

    /// The hash of an open election's genesis block (no copy of the block).
    pub async fn genesis_hash(&self, election: ElectionId) -> Result<BlockHash> {
        Ok(self.chain(election).await?.genesis_hash())
    }

    /// The chain export read in one snapshot, a block at a time, into `parts`: whoever
    /// writes it holds as many blocks as the channel does, however long the chain.
    /// Returns the height and hash it ends at, and whether it carries the published
    /// result.
    pub async fn export_parts(
        &self,
        election: ElectionId,
        parts: tokio::sync::mpsc::Sender<ExportPart>,
    ) -> Result<(u64, BlockHash, bool)> {
        self.chain(election).await?;
        let mut db = crate::store::begin_snapshot(&self.inner.read).await?;
        let (genesis, genesis_hash) = stored_genesis(&mut db, election).await?;
        let hashes = appended_hashes(&mut db, election).await?;
        let result = self.published_result(&mut db, election).await?;
        let stopped = |_| EngineError::Internal("the export's writer stopped".into());
        parts
            .send(ExportPart::Start(Box::new(genesis), genesis_hash))
            .await
            .map_err(stopped)?;
        let mut head = (0, genesis_hash);
        for (i, hash) in hashes.iter().enumerate() {
            head = (i as u64 + 1, *hash);
            let block = stored_block(&mut db, hash, head.0).await?;
            parts
                .send(ExportPart::Block(Box::new(block)))
                .await
                .map_err(stopped)?;
        }
        let published = result.is_some();
        parts.send(ExportPart::End(result)).await.map_err(stopped)?;
        Ok((head.0, head.1, published))
    }

    /// The whole appended chain with approvals, and the published result once there is
    /// one, for offline verification.
    pub async fn export(&self, election: ElectionId) -> Result<ChainExport> {
        self.chain(election).await?;
        let mut export = self.stored_chain(election).await?;
        let mut conn = self.inner.read.acquire().await?;
        export.result = self.published_result(&mut conn, election).await?;
        Ok(export)
    }
}

/// Appended blocks after height `since`, oldest first, with their approvals, read on
/// `db`: all of them, or the first `limit`.
pub(crate) async fn appended_after(
    db: &mut AnyConnection,
    election: ElectionId,
    since: u64,
    limit: Option<u32>,
) -> Result<Vec<ApprovedBlock>> {
    let hashes: Vec<BlockHash> = sqlx::query_scalar(
        "SELECT hash FROM blocks WHERE election_id = $1 AND status = $2 AND idx > $3
         ORDER BY idx LIMIT $4",
    )
    .bind(election)
    .bind(BlockStatus::Appended)
    .bind(db_time(since))
    .bind(limit.map_or(i64::MAX, i64::from))
    .fetch_all(&mut *db)
    .await?;
    let mut blocks = Vec::with_capacity(hashes.len());
    for hash in hashes {
        blocks.push(ApprovedBlock {
            block: load_block_from(&mut *db, &hash).await?,
            approvals: approvals_from(&mut *db, &hash).await?,
        });
    }
    Ok(blocks)
}

/// The validators' approvals of a block, oldest first, read on `db`.
pub(crate) async fn approvals_from(
    db: &mut AnyConnection,
    hash: &BlockHash,
) -> Result<Vec<Approval>> {
    let rows: Vec<(PublicKey, Signature)> = sqlx::query_as(
        "SELECT d.validator_key, d.signature FROM decisions d JOIN accounts a ON a.id = d.account_id
         WHERE d.block_hash = $1 AND d.approve = 1 ORDER BY d.decided_at",
    )
    .bind(hash)
    .fetch_all(&mut *db)
    .await?;
    Ok(rows
        .into_iter()
        .map(|(validator, signature)| Approval {
            block: *hash,
            validator,
            signature,
        })
        .collect())
}

/// The chain as stored: the genesis block with its recorded hash, and every block
/// marked appended, by height, with its approvals. A block whose header does not hash
/// to its recorded hash is an integrity error. Nothing here checks the chain's rules:
/// `ledger::replay` does.
pub(crate) async fn stored_chain_from(
    db: &mut AnyConnection,
    election: ElectionId,
) -> Result<ChainExport> {
    let (genesis, genesis_hash) = stored_genesis(db, election).await?;
    let hashes = appended_hashes(db, election).await?;
    let mut blocks = Vec::with_capacity(hashes.len());
    for (i, hash) in hashes.iter().enumerate() {
        blocks.push(stored_block(db, hash, i as u64 + 1).await?);
    }
    Ok(ChainExport {
        genesis,
        genesis_hash,
        blocks,
        result: None,
    })
}

/// The sealed genesis block of an election, and its recorded hash.
pub(crate) async fn stored_genesis(
    db: &mut AnyConnection,
    election: ElectionId,
) -> Result<(Genesis, BlockHash)> {
    let sealed: Option<(Option<Vec<u8>>, Option<BlockHash>)> =
        sqlx::query_as("SELECT genesis, genesis_hash FROM elections WHERE id = $1")
            .bind(election)
            .fetch_optional(&mut *db)
            .await?;
    let (genesis, genesis_hash) = match sealed.ok_or(EngineError::NotFound("election"))? {
        (None, _) => {
            return Err(EngineError::WrongState(
                "the election is not sealed yet".into(),
            ))
        }
        (Some(_), None) => {
            return Err(EngineError::Integrity(
                "the genesis block's hash is not recorded".into(),
            ))
        }
        (Some(blob), Some(hash)) => (blob, hash),
    };
    let genesis = Genesis::decode(&genesis).map_err(|e| match e {
        ledger::DecodeError::Version { found, .. } => EngineError::OldFormat(format!(
            "this chain was written by an earlier version of ballotchain (genesis format {found}), which this version does not read: it is kept and shown, not verified, and takes no writes"
        )),
        other => EngineError::Internal(format!("stored genesis does not decode: {other}")),
    })?;
    Ok((genesis, genesis_hash))
}

/// The hashes of the blocks marked appended, by height.
pub(crate) async fn appended_hashes(
    db: &mut AnyConnection,
    election: ElectionId,
) -> Result<Vec<BlockHash>> {
    Ok(sqlx::query_scalar(
        "SELECT hash FROM blocks WHERE election_id = $1 AND status = $2 ORDER BY idx",
    )
    .bind(election)
    .bind(BlockStatus::Appended)
    .fetch_all(&mut *db)
    .await?)
}

/// The stored block `hash`, the `index`-th appended one, with its approvals: an integrity
/// error when its header does not hash to `hash`.
pub(crate) async fn stored_block(
    db: &mut AnyConnection,
    hash: &BlockHash,
    index: u64,
) -> Result<ApprovedBlock> {
    let block = load_block_from(&mut *db, hash).await?;
    if block.hash() != *hash {
        return Err(EngineError::Integrity(format!(
            "block {index}: the stored header does not hash to its recorded hash"
        )));
    }
    Ok(ApprovedBlock {
        approvals: approvals_from(&mut *db, hash).await?,
        block,
    })
}
