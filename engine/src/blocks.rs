//! Mining work, block intake, validators' decisions, appending, and chain queries.

use crate::{now_ms, ChainSlot, EngineError, Node, Result};
use ledger::block::MinerTag;
use ledger::{
    merkle_root, Approval, ApprovedBlock, Block, BlockHash, BlockHeader, ChainExport, ChainState,
    ElectionId, Genesis, PublicKey, Signature, TxId, Vote, MAX_VOTES_PER_BLOCK,
};
use serde::Serialize;
use sqlx::sqlite::SqliteRow;
use sqlx::Row;
use std::sync::Arc;

/// What a miner needs to build a block: the tip, the rules and the votes to include.
#[derive(Debug, Clone, Serialize)]
pub struct WorkTemplate {
    /// The election.
    pub election: i64,
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

/// Result of submitting a block.
#[derive(Debug, Clone, Serialize)]
pub struct SubmitOutcome {
    /// The block hash.
    pub hash: BlockHash,
    /// Its height.
    pub index: u64,
    /// "awaiting" (approval).
    pub status: &'static str,
}

/// A validator's verdict.
#[derive(Debug, Clone)]
pub enum Decision {
    /// Every check passed: sign the block hash.
    Approve,
    /// Something is wrong, and this is what.
    Reject {
        /// Why, for the record.
        reason: String,
    },
}

/// A row of a block list.
#[derive(Debug, Clone, Serialize)]
pub struct BlockSummary {
    /// Block hash.
    pub hash: String,
    /// Height.
    pub index: i64,
    /// Parent hash.
    pub prev: String,
    /// awaiting, appended, stale or rejected.
    pub status: String,
    /// Votes carried.
    pub votes: i64,
    /// Approvals received.
    pub approvals: i64,
    /// Rejections received.
    pub rejections: i64,
    /// The miner's label.
    pub miner_tag: String,
    /// When the block was submitted (ms since epoch).
    pub submitted_at: i64,
}

/// A validator's recorded decision.
#[derive(Debug, Clone, Serialize)]
pub struct DecisionRecord {
    /// Validator username.
    pub validator: String,
    /// Validator public key.
    pub validator_key: Option<String>,
    /// Approved (true) or rejected.
    pub approve: bool,
    /// Signature over the block hash, for approvals.
    pub signature: Option<String>,
    /// Reason, for rejections.
    pub reason: Option<String>,
    /// When (ms since epoch).
    pub decided_at: i64,
}

/// A vote as shown in a block.
#[derive(Debug, Clone, Serialize)]
pub struct VoteInfo {
    /// The receipt.
    pub receipt: String,
    /// The voter's public key (never a name).
    pub voter: String,
    /// Candidate chosen.
    pub candidate_id: u32,
    /// Signing time (ms since epoch).
    pub timestamp: u64,
    /// The voter's signature.
    pub signature: String,
}

/// Everything about one block.
#[derive(Debug, Clone, Serialize)]
pub struct BlockDetail {
    /// Summary fields.
    #[serde(flatten)]
    pub summary: BlockSummary,
    /// The full header.
    pub header: BlockHeader,
    /// The votes, in Merkle order.
    pub vote_list: Vec<VoteInfo>,
    /// Validators' decisions.
    pub decisions: Vec<DecisionRecord>,
    /// Approvals needed.
    pub quorum: u16,
}

pub(crate) fn parse_votes(rows: &[SqliteRow]) -> Result<Vec<Vote>> {
    rows.iter()
        .map(|r| {
            let bad =
                |what: &str| EngineError::Internal(format!("stored vote has a malformed {what}"));
            Ok(Vote {
                election: ElectionId(r.try_get::<i64, _>("election_id")? as u64),
                voter: PublicKey::from_slice(&r.try_get::<Vec<u8>, _>("voter_key")?)
                    .ok_or_else(|| bad("key"))?,
                candidate: ledger::CandidateId(r.try_get::<i64, _>("candidate_id")? as u32),
                timestamp: r.try_get::<i64, _>("timestamp")? as u64,
                signature: Signature::from_slice(&r.try_get::<Vec<u8>, _>("signature")?)
                    .ok_or_else(|| bad("signature"))?,
            })
        })
        .collect()
}

const VOTE_COLUMNS: &str = "v.election_id, v.voter_key, v.candidate_id, v.timestamp, v.signature";

fn summary(r: &SqliteRow) -> Result<BlockSummary> {
    Ok(BlockSummary {
        hash: hex::encode(r.try_get::<Vec<u8>, _>("hash")?),
        index: r.try_get("idx")?,
        prev: hex::encode(r.try_get::<Vec<u8>, _>("prev_hash")?),
        status: r.try_get("status")?,
        votes: r.try_get("n_votes")?,
        approvals: r.try_get("approvals")?,
        rejections: r.try_get("rejections")?,
        miner_tag: r.try_get("miner_tag")?,
        submitted_at: r.try_get("submitted_at")?,
    })
}

fn decision_record(r: &SqliteRow) -> Result<DecisionRecord> {
    Ok(DecisionRecord {
        validator: r.try_get("username")?,
        validator_key: r
            .try_get::<Option<Vec<u8>>, _>("public_key")?
            .map(hex::encode),
        approve: r.try_get::<i64, _>("approve")? == 1,
        signature: r
            .try_get::<Option<Vec<u8>>, _>("signature")?
            .map(hex::encode),
        reason: r.try_get("reason")?,
        decided_at: r.try_get("decided_at")?,
    })
}

const SUMMARY_COLUMNS: &str = "b.hash, b.idx, b.prev_hash, b.status, b.miner_tag, b.submitted_at,
    (SELECT count(*) FROM block_votes bv WHERE bv.block_hash = b.hash) AS n_votes,
    (SELECT count(*) FROM decisions d WHERE d.block_hash = b.hash AND d.approve = 1) AS approvals,
    (SELECT count(*) FROM decisions d WHERE d.block_hash = b.hash AND d.approve = 0) AS rejections";

/// Stores a validator's decision (an approval when `signature` is given, otherwise a
/// rejection with `reason`) and returns how many decisions of that kind the block has.
async fn record_decision(
    tx: &mut sqlx::SqliteConnection,
    hash: &BlockHash,
    account: i64,
    signature: Option<&[u8]>,
    reason: Option<&str>,
    now: i64,
) -> Result<i64> {
    let approve = signature.is_some();
    sqlx::query(
        "INSERT INTO decisions (block_hash, account_id, approve, signature, reason, decided_at)
         VALUES (?, ?, ?, ?, ?, ?)",
    )
    .bind(hash.0.as_slice())
    .bind(account)
    .bind(approve)
    .bind(signature)
    .bind(reason)
    .bind(now)
    .execute(&mut *tx)
    .await
    .map_err(|e| EngineError::on_unique(e, "you have already decided on this block"))?;
    Ok(
        sqlx::query_scalar("SELECT count(*) FROM decisions WHERE block_hash = ? AND approve = ?")
            .bind(hash.0.as_slice())
            .bind(approve)
            .fetch_one(&mut *tx)
            .await?,
    )
}

impl Node {
    pub(crate) async fn load_block(&self, hash: &BlockHash) -> Result<Block> {
        let header: Vec<u8> = sqlx::query_scalar("SELECT header FROM blocks WHERE hash = ?")
            .bind(hash.0.as_slice())
            .fetch_optional(&self.inner.read)
            .await?
            .ok_or(EngineError::NotFound("block"))?;
        let header = BlockHeader::decode(&header)
            .map_err(|e| EngineError::Internal(format!("stored header does not decode: {e}")))?;
        let rows = sqlx::query(&format!(
            "SELECT {VOTE_COLUMNS} FROM block_votes bv JOIN votes v ON v.tx_id = bv.tx_id
             WHERE bv.block_hash = ? ORDER BY bv.position"
        ))
        .bind(hash.0.as_slice())
        .fetch_all(&self.inner.read)
        .await?;
        Ok(Block {
            header,
            votes: parse_votes(&rows)?,
        })
    }

    /// A stored block (any status) of `election`, votes in Merkle order: what a validator's
    /// browser re-checks on its own.
    pub async fn raw_block(&self, election: i64, hash: &BlockHash) -> Result<Block> {
        let found: Option<i64> =
            sqlx::query_scalar("SELECT 1 FROM blocks WHERE hash = ? AND election_id = ?")
                .bind(hash.0.as_slice())
                .bind(election)
                .fetch_optional(&self.inner.read)
                .await?;
        if found.is_none() {
            return Err(EngineError::NotFound("block"));
        }
        self.load_block(hash).await
    }

    /// A block template on the current tip with up to 1000 pending votes.
    pub async fn work(&self, election: i64) -> Result<WorkTemplate> {
        let chain = self.chain(election).await?;
        let rows = sqlx::query(&format!(
            "SELECT {VOTE_COLUMNS} FROM votes v WHERE v.election_id = ? AND v.block_hash IS NULL
             ORDER BY v.received_at, v.rowid LIMIT {MAX_VOTES_PER_BLOCK}"
        ))
        .bind(election)
        .fetch_all(&self.inner.read)
        .await?;
        let votes = parse_votes(&rows)?;
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

    /// Takes a mined block: stale if it builds on an old tip, rejected with the rule it
    /// breaks if invalid, otherwise stored to await validators.
    pub async fn submit_block(&self, election: i64, block: Block) -> Result<SubmitOutcome> {
        let eid = ElectionId(election as u64);
        let chain = self.chain(election).await?;
        let hash = block.hash();
        let known: Option<String> = sqlx::query_scalar("SELECT status FROM blocks WHERE hash = ?")
            .bind(hash.0.as_slice())
            .fetch_optional(&self.inner.read)
            .await?;
        if let Some(status) = known {
            return Err(EngineError::Duplicate(format!(
                "this block was already submitted ({status})"
            )));
        }
        if block.header.election == eid
            && block.header.prev != chain.tip()
            && block.header.index <= chain.height()
        {
            let on_chain = block.header.prev == chain.genesis_hash()
                || sqlx::query_scalar::<_, i64>(
                    "SELECT count(*) FROM blocks WHERE hash = ? AND election_id = ? AND status = 'appended'",
                )
                .bind(block.header.prev.0.as_slice())
                .bind(election)
                .fetch_one(&self.inner.read)
                .await?
                    > 0;
            if on_chain {
                return Err(EngineError::Stale(format!(
                    "the chain has moved on to block {}",
                    chain.height()
                )));
            }
        }
        let checked = {
            let (chain, block) = (chain.clone(), block.clone());
            tokio::task::spawn_blocking(move || ledger::validate_block(&chain, &block))
                .await
                .map_err(|e| EngineError::Internal(e.to_string()))?
        };
        checked?;
        let mut tx = self.inner.write.begin().await?;
        for (i, v) in block.votes.iter().enumerate() {
            let pending: i64 = sqlx::query_scalar(
                "SELECT count(*) FROM votes WHERE tx_id = ? AND election_id = ? AND block_hash IS NULL",
            )
            .bind(v.tx_id().0.as_slice())
            .bind(election)
            .fetch_one(&mut *tx)
            .await?;
            if pending == 0 {
                return Err(EngineError::UnknownVote(i));
            }
        }
        sqlx::query(
            "INSERT INTO blocks (hash, election_id, idx, prev_hash, header, miner_tag, status, submitted_at)
             VALUES (?, ?, ?, ?, ?, ?, 'awaiting', ?)",
        )
        .bind(hash.0.as_slice())
        .bind(election)
        .bind(block.header.index as i64)
        .bind(block.header.prev.0.as_slice())
        .bind(block.header.encode().as_slice())
        .bind(block.header.miner_tag.to_text())
        .bind(now_ms() as i64)
        .execute(&mut *tx)
        .await?;
        for (i, v) in block.votes.iter().enumerate() {
            sqlx::query("INSERT INTO block_votes (block_hash, position, tx_id) VALUES (?, ?, ?)")
                .bind(hash.0.as_slice())
                .bind(i as i64)
                .bind(v.tx_id().0.as_slice())
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        tracing::info!(election, block = %hash, index = block.header.index, votes = block.votes.len(), "block awaiting approval");
        Ok(SubmitOutcome {
            hash,
            index: block.header.index,
            status: "awaiting",
        })
    }

    /// Records a validator's decision on an awaiting block. An approval is the validator
    /// key's signature over the block hash; at quorum the block is appended, in one
    /// transaction that also marks competing blocks of the same height stale.
    pub async fn decide(
        &self,
        election: i64,
        hash: &BlockHash,
        account: i64,
        decision: Decision,
    ) -> Result<BlockSummary> {
        if let Decision::Reject { reason } = &decision {
            let n = reason.trim().chars().count();
            if n == 0 || n > 500 {
                return Err(EngineError::Invalid(
                    "a rejection needs a reason of 1 to 500 characters".into(),
                ));
            }
        }
        let key = self.validator_key(account).await?;
        if !self.is_enrolled(election, account).await? {
            return Err(EngineError::Forbidden(
                "you are not a validator of this election".into(),
            ));
        }
        let eid = ElectionId(election as u64);
        let _guard = self.inner.append_lock.lock().await;
        let chain = self.chain(election).await?;
        let public = PublicKey(key.verifying_key().to_bytes());
        if !chain.is_validator(&public) {
            return Err(EngineError::Forbidden(
                "your key is not in this election's genesis block".into(),
            ));
        }
        let status: String =
            sqlx::query_scalar("SELECT status FROM blocks WHERE hash = ? AND election_id = ?")
                .bind(hash.0.as_slice())
                .bind(election)
                .fetch_optional(&self.inner.read)
                .await?
                .ok_or(EngineError::NotFound("block"))?;
        if status != "awaiting" {
            return Err(EngineError::WrongState(format!(
                "the block is {status}, no longer awaiting approval"
            )));
        }
        let already: i64 = sqlx::query_scalar(
            "SELECT count(*) FROM decisions WHERE block_hash = ? AND account_id = ?",
        )
        .bind(hash.0.as_slice())
        .bind(account)
        .fetch_one(&self.inner.read)
        .await?;
        if already > 0 {
            return Err(EngineError::Duplicate(
                "you have already decided on this block".into(),
            ));
        }
        let block = self.load_block(hash).await?;
        let now = now_ms() as i64;
        match decision {
            Decision::Approve => {
                if block.header.prev != chain.tip() {
                    sqlx::query(
                        "UPDATE blocks SET status = 'stale', decided_at = ? WHERE hash = ?",
                    )
                    .bind(now)
                    .bind(hash.0.as_slice())
                    .execute(&self.inner.write)
                    .await?;
                    return Err(EngineError::Stale(
                        "another block was appended at this height".into(),
                    ));
                }
                // Re-check against the tip: what is approved is what is stored now.
                let checked = {
                    let (chain, block) = (chain.clone(), block.clone());
                    tokio::task::spawn_blocking(move || ledger::validate_block(&chain, &block))
                        .await
                        .map_err(|e| EngineError::Internal(e.to_string()))?
                };
                checked?;
                let approval = Approval::sign(&key, *hash);
                let mut tx = self.inner.write.begin().await?;
                let approvals = record_decision(
                    &mut tx,
                    hash,
                    account,
                    Some(approval.signature.0.as_slice()),
                    None,
                    now,
                )
                .await?;
                let appended = approvals >= i64::from(chain.genesis().quorum);
                if appended {
                    sqlx::query(
                        "UPDATE blocks SET status = 'appended', decided_at = ? WHERE hash = ?",
                    )
                    .bind(now)
                    .bind(hash.0.as_slice())
                    .execute(&mut *tx)
                    .await?;
                    sqlx::query(
                        "UPDATE votes SET block_hash = ? WHERE tx_id IN (SELECT tx_id FROM block_votes WHERE block_hash = ?)",
                    )
                    .bind(hash.0.as_slice())
                    .bind(hash.0.as_slice())
                    .execute(&mut *tx)
                    .await?;
                    // Competitors at this height lose; their votes are still pending.
                    sqlx::query(
                        "UPDATE blocks SET status = 'stale', decided_at = ?
                         WHERE election_id = ? AND idx = ? AND status = 'awaiting' AND hash <> ?",
                    )
                    .bind(now)
                    .bind(election)
                    .bind(block.header.index as i64)
                    .bind(hash.0.as_slice())
                    .execute(&mut *tx)
                    .await?;
                }
                tx.commit().await?;
                if appended {
                    let mut next = ChainState::clone(&chain);
                    next.append(&block)?;
                    self.set_chain(eid, ChainSlot::Verified(Arc::new(next)));
                    tracing::info!(election, block = %hash, index = block.header.index, "block appended");
                }
            }
            Decision::Reject { reason } => {
                let mut tx = self.inner.write.begin().await?;
                let rejections =
                    record_decision(&mut tx, hash, account, None, Some(reason.trim()), now).await?;
                let validators = chain.genesis().validators.len() as i64;
                // Once quorum is out of reach the block can never be appended.
                if rejections > validators - i64::from(chain.genesis().quorum) {
                    sqlx::query(
                        "UPDATE blocks SET status = 'rejected', decided_at = ? WHERE hash = ?",
                    )
                    .bind(now)
                    .bind(hash.0.as_slice())
                    .execute(&mut *tx)
                    .await?;
                }
                tx.commit().await?;
            }
        }
        self.block_summary(election, hash).await
    }

    async fn block_summary(&self, election: i64, hash: &BlockHash) -> Result<BlockSummary> {
        let row = sqlx::query(&format!(
            "SELECT {SUMMARY_COLUMNS} FROM blocks b WHERE b.hash = ? AND b.election_id = ?"
        ))
        .bind(hash.0.as_slice())
        .bind(election)
        .fetch_optional(&self.inner.read)
        .await?
        .ok_or(EngineError::NotFound("block"))?;
        summary(&row)
    }

    /// Every rule checked on its own for an awaiting block, against the current tip.
    pub async fn block_checks(
        &self,
        election: i64,
        hash: &BlockHash,
    ) -> Result<Vec<ledger::Check>> {
        let chain = self.chain(election).await?;
        let block = self.load_block(hash).await?;
        tokio::task::spawn_blocking(move || ledger::check_block(&chain, &block))
            .await
            .map_err(|e| EngineError::Internal(e.to_string()))
    }

    /// Blocks awaiting approval in the elections this validator is enrolled in, with the
    /// election id and title, oldest first.
    pub async fn validator_queue(&self, account: i64) -> Result<Vec<(i64, String, BlockSummary)>> {
        let rows = sqlx::query(&format!(
            "SELECT b.election_id, e.title, {SUMMARY_COLUMNS} FROM blocks b JOIN elections e ON e.id = b.election_id
             JOIN election_validators ev ON ev.election_id = b.election_id AND ev.account_id = ?
             WHERE b.status = 'awaiting' ORDER BY b.election_id, b.idx, b.submitted_at"
        ))
        .bind(account)
        .fetch_all(&self.inner.read)
        .await?;
        rows.iter()
            .map(|r| Ok((r.try_get("election_id")?, r.try_get("title")?, summary(r)?)))
            .collect()
    }

    /// This validator's past decisions, newest first: (election, block height, block hash, record).
    pub async fn validator_history(
        &self,
        account: i64,
    ) -> Result<Vec<(i64, i64, String, DecisionRecord)>> {
        let rows = sqlx::query(
            "SELECT b.election_id, b.idx, b.hash, a.username, a.public_key, d.approve, d.signature, d.reason, d.decided_at
             FROM decisions d JOIN blocks b ON b.hash = d.block_hash JOIN accounts a ON a.id = d.account_id
             WHERE d.account_id = ? ORDER BY d.decided_at DESC LIMIT 100",
        )
        .bind(account)
        .fetch_all(&self.inner.read)
        .await?;
        rows.iter()
            .map(|r| {
                Ok((
                    r.try_get("election_id")?,
                    r.try_get("idx")?,
                    hex::encode(r.try_get::<Vec<u8>, _>("hash")?),
                    decision_record(r)?,
                ))
            })
            .collect()
    }

    /// Blocks awaiting validators, oldest first.
    pub async fn awaiting_blocks(&self, election: i64) -> Result<Vec<BlockSummary>> {
        self.state_of(election).await?;
        let rows = sqlx::query(&format!(
            "SELECT {SUMMARY_COLUMNS} FROM blocks b WHERE b.election_id = ? AND b.status = 'awaiting' ORDER BY b.idx, b.submitted_at"
        ))
        .bind(election)
        .fetch_all(&self.inner.read)
        .await?;
        rows.iter().map(summary).collect()
    }

    /// Appended blocks, newest first, starting at height `from` (default: the tip).
    pub async fn chain_page(
        &self,
        election: i64,
        from: Option<i64>,
        limit: i64,
    ) -> Result<Vec<BlockSummary>> {
        self.state_of(election).await?;
        let limit = limit.clamp(1, 100);
        let rows = sqlx::query(&format!(
            "SELECT {SUMMARY_COLUMNS} FROM blocks b WHERE b.election_id = ? AND b.status = 'appended' AND b.idx <= ?
             ORDER BY b.idx DESC LIMIT ?"
        ))
        .bind(election)
        .bind(from.unwrap_or(i64::MAX))
        .bind(limit)
        .fetch_all(&self.inner.read)
        .await?;
        rows.iter().map(summary).collect()
    }

    /// One block by hash, or the appended block at a height.
    pub async fn block_detail(&self, election: i64, hash_or_index: &str) -> Result<BlockDetail> {
        let hash = if let Ok(index) = hash_or_index.parse::<i64>() {
            let h: Vec<u8> = sqlx::query_scalar(
                "SELECT hash FROM blocks WHERE election_id = ? AND idx = ? AND status = 'appended'",
            )
            .bind(election)
            .bind(index)
            .fetch_optional(&self.inner.read)
            .await?
            .ok_or(EngineError::NotFound("block"))?;
            BlockHash::from_slice(&h)
                .ok_or_else(|| EngineError::Internal("malformed stored hash".into()))?
        } else {
            hash_or_index.parse::<BlockHash>().map_err(|_| {
                EngineError::Invalid(
                    "a block is named by its height or its 64-hex-digit hash".into(),
                )
            })?
        };
        let summary = self.block_summary(election, &hash).await?;
        let block = self.load_block(&hash).await?;
        let decisions = self.decisions(&hash).await?;
        let quorum: i64 = sqlx::query_scalar("SELECT quorum FROM elections WHERE id = ?")
            .bind(election)
            .fetch_one(&self.inner.read)
            .await?;
        Ok(BlockDetail {
            summary,
            vote_list: block
                .votes
                .iter()
                .map(|v| VoteInfo {
                    receipt: v.tx_id().to_hex(),
                    voter: v.voter.to_hex(),
                    candidate_id: v.candidate.0,
                    timestamp: v.timestamp,
                    signature: v.signature.to_hex(),
                })
                .collect(),
            header: block.header,
            decisions,
            quorum: quorum as u16,
        })
    }

    async fn decisions(&self, hash: &BlockHash) -> Result<Vec<DecisionRecord>> {
        let rows = sqlx::query(
            "SELECT a.username, a.public_key, d.approve, d.signature, d.reason, d.decided_at
             FROM decisions d JOIN accounts a ON a.id = d.account_id WHERE d.block_hash = ? ORDER BY d.decided_at",
        )
        .bind(hash.0.as_slice())
        .fetch_all(&self.inner.read)
        .await?;
        rows.iter().map(decision_record).collect()
    }

    pub(crate) async fn approvals(&self, hash: &BlockHash) -> Result<Vec<Approval>> {
        let rows: Vec<(Vec<u8>, Vec<u8>)> = sqlx::query_as(
            "SELECT a.public_key, d.signature FROM decisions d JOIN accounts a ON a.id = d.account_id
             WHERE d.block_hash = ? AND d.approve = 1 ORDER BY d.decided_at",
        )
        .bind(hash.0.as_slice())
        .fetch_all(&self.inner.read)
        .await?;
        rows.iter()
            .map(|(k, s)| {
                Ok(Approval {
                    block: *hash,
                    validator: PublicKey::from_slice(k)
                        .ok_or_else(|| EngineError::Internal("malformed key".into()))?,
                    signature: Signature::from_slice(s).ok_or_else(|| {
                        EngineError::Internal("malformed approval signature".into())
                    })?,
                })
            })
            .collect()
    }

    pub(crate) async fn genesis(&self, election: i64) -> Result<Option<Genesis>> {
        let blob: Option<Option<Vec<u8>>> =
            sqlx::query_scalar("SELECT genesis FROM elections WHERE id = ?")
                .bind(election)
                .fetch_optional(&self.inner.read)
                .await?;
        let blob = blob.ok_or(EngineError::NotFound("election"))?;
        blob.map(|b| {
            Genesis::decode(&b)
                .map_err(|e| EngineError::Internal(format!("stored genesis does not decode: {e}")))
        })
        .transpose()
    }

    pub(crate) async fn appended_hashes(&self, election: i64) -> Result<Vec<BlockHash>> {
        let rows: Vec<Vec<u8>> = sqlx::query_scalar(
            "SELECT hash FROM blocks WHERE election_id = ? AND status = 'appended' ORDER BY idx",
        )
        .bind(election)
        .fetch_all(&self.inner.read)
        .await?;
        rows.iter()
            .map(|h| {
                BlockHash::from_slice(h)
                    .ok_or_else(|| EngineError::Internal("malformed stored hash".into()))
            })
            .collect()
    }

    /// The whole appended chain with approvals, for offline verification.
    pub async fn export(&self, election: i64) -> Result<ChainExport> {
        self.chain(election).await?;
        let genesis = self
            .genesis(election)
            .await?
            .ok_or_else(|| EngineError::WrongState("the election is not sealed yet".into()))?;
        let mut blocks = Vec::new();
        for hash in self.appended_hashes(election).await? {
            blocks.push(ApprovedBlock {
                block: self.load_block(&hash).await?,
                approvals: self.approvals(&hash).await?,
            });
        }
        Ok(ChainExport {
            genesis_hash: genesis.hash(),
            genesis,
            blocks,
        })
    }

    /// Votes per candidate on the appended chain, with candidate names.
    pub async fn tally(&self, election: i64) -> Result<(Vec<(u32, String, u64)>, u64)> {
        let chain = self.chain(election).await?;
        let t = chain.tally();
        let rows = chain
            .genesis()
            .candidates
            .iter()
            .map(|c| {
                (
                    c.id.0,
                    c.name.clone(),
                    t.counts.get(&c.id).copied().unwrap_or(0),
                )
            })
            .collect();
        Ok((rows, t.total))
    }
}
