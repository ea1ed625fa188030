//! Validators' decisions on awaiting blocks: approving (which appends the block at
//! quorum) and rejecting (which discards it once quorum is out of reach). Each decision
//! is signed by the validator's own key, on their device; that signature is the whole
//! authority, checked against the keys the genesis block lists.

use crate::sync::Event;
use crate::{db_time, now_ms, ChainSlot, EngineError, Node, Result};
use ledger::{Approval, BlockHash, ChainState, ElectionId, PublicKey, Rejection, Signature};
use std::sync::Arc;
use wire::{AccountId, BlockStatus, BlockSummary};

/// Longest reason a rejection may give.
const MAX_REASON: usize = 500;

impl Node {
    /// What approving and rejecting both require, cheapest first: the block exists in
    /// this election; the key is in its genesis block (403); the signature is that key's
    /// over this decision (422); an account holds the key; the block still awaits
    /// approval, and this validator has not decided on it yet (409). Called with the
    /// append lock held, so nothing moves between the check and the write on this
    /// instance; the write checks again what another instance may move.
    async fn decider(
        &self,
        chain: &ChainState,
        election: ElectionId,
        hash: &BlockHash,
        key: &PublicKey,
        signed: bool,
    ) -> Result<AccountId> {
        let status: BlockStatus =
            sqlx::query_scalar("SELECT status FROM blocks WHERE hash = $1 AND election_id = $2")
                .bind(hash)
                .bind(election)
                .fetch_optional(&self.inner.read)
                .await?
                .ok_or(EngineError::NotFound("block"))?;
        if !chain.is_validator(key) {
            return Err(EngineError::Forbidden(
                "this key is not a validator's in this election's genesis block".into(),
            ));
        }
        if !signed {
            return Err(EngineError::BadSignature(
                "the signature is not this validator's over this decision on this block".into(),
            ));
        }
        let account: AccountId =
            sqlx::query_scalar("SELECT id FROM accounts WHERE public_key = $1 AND role = $2")
                .bind(key)
                .bind(wire::Role::Validator)
                .fetch_optional(&self.inner.read)
                .await?
                .ok_or_else(|| {
                    EngineError::Forbidden("no validator account holds this key".into())
                })?;
        require_awaiting(status)?;
        let already: i64 = sqlx::query_scalar(
            "SELECT count(*) FROM decisions WHERE block_hash = $1 AND account_id = $2",
        )
        .bind(hash)
        .bind(account)
        .fetch_one(&self.inner.read)
        .await?;
        if already > 0 {
            return Err(EngineError::Duplicate(
                "you have already decided on this block".into(),
            ));
        }
        Ok(account)
    }

    /// Records a validator's signed approval of an awaiting block: re-validates the block
    /// against the tip and at quorum appends it, in one transaction that also marks
    /// competing blocks of the same height stale (their votes stay in the pool). A block
    /// whose parent is no longer the tip is marked stale instead.
    pub async fn approve(&self, election: ElectionId, approval: &Approval) -> Result<BlockSummary> {
        let hash = &approval.block;
        let _guard = self.inner.append_lock.lock().await;
        // Under the append lock, which finalising takes too: no block joins a final count.
        self.require_not_final(election).await?;
        // Caught up with other instances: a block on the stored tip is not stale.
        let chain = self
            .catch_up(&mut *self.inner.read.acquire().await?, election)
            .await?;
        let account = self
            .decider(
                &chain,
                election,
                hash,
                &approval.validator,
                approval.signature_is_valid(),
            )
            .await?;
        let block = self.load_block(hash).await?;
        let now = db_time(now_ms());
        if block.header.prev != chain.tip() {
            self.set_status(hash, BlockStatus::Stale, now).await?;
            return Err(EngineError::Stale(
                "another block was appended at this height".into(),
            ));
        }
        // Re-check against the tip: what is approved is what is stored now. Before the
        // write transaction, which on SQLite would hold the one writer meanwhile.
        crate::blocks::validate_off_thread(&chain, &block).await?;
        // Another instance may have decided meanwhile: again, inside the transaction
        // that holds the chain.
        let (mut tx, chain) = self.begin_chain_write(election).await?;
        crate::count::require_not_final_on(&mut tx, election).await?;
        still_awaiting(&mut tx, hash).await?;
        if block.header.prev != chain.tip() {
            mark(&mut tx, hash, BlockStatus::Stale, now).await?;
            tx.commit().await?;
            return Err(EngineError::Stale(
                "another block was appended at this height".into(),
            ));
        }
        record_decision(
            &mut tx,
            hash,
            account,
            &approval.validator,
            &approval.signature,
            None,
            now,
        )
        .await?;
        let approvals = decisions_of_kind(&mut tx, hash, true).await?;
        let appended = approvals >= i64::from(chain.genesis().quorum);
        if appended {
            // The database has the last word on one block per height.
            mark(&mut tx, hash, BlockStatus::Appended, now)
                .await
                .map_err(|e| match e {
                    EngineError::Database(sqlx::Error::Database(ref db))
                        if db.is_unique_violation() =>
                    {
                        EngineError::Stale("another block was appended at this height".into())
                    }
                    other => other,
                })?;
            sqlx::query(
                "UPDATE votes SET block_hash = $1 WHERE tx_id IN (SELECT tx_id FROM block_votes WHERE block_hash = $2)",
            )
            .bind(hash)
            .bind(hash)
            .execute(&mut *tx)
            .await?;
            // Competitors at this height lose; their votes are still pending.
            sqlx::query(
                "UPDATE blocks SET status = $1, decided_at = $2
                 WHERE election_id = $3 AND idx = $4 AND status = $5 AND hash <> $6",
            )
            .bind(BlockStatus::Stale)
            .bind(now)
            .bind(election)
            .bind(db_time(block.header.index))
            .bind(BlockStatus::Awaiting)
            .bind(hash)
            .execute(&mut *tx)
            .await?;
            Event::Appended(election).send(&mut tx).await?;
        }
        tx.commit().await?;
        if appended {
            let mut next = ChainState::clone(&chain);
            // Validated above, its ballots' proofs checked as they came into the pool.
            next.append_with(&block, ledger::Signatures::ProofsChecked)?;
            self.set_chain(election, ChainSlot::Verified(Arc::new(next)));
            tracing::info!(election = election.0, block = %hash, index = block.header.index, "block appended");
        }
        self.decided(election, hash).await
    }

    /// A decision recorded: the block as it stands now, also said to the pages that
    /// follow the election.
    async fn decided(&self, election: ElectionId, hash: &BlockHash) -> Result<BlockSummary> {
        let summary = self.block_summary(election, hash).await?;
        let change = wire::Change::Block {
            hash: *hash,
            status: summary.status,
        };
        self.changed(election, change).await;
        Ok(summary)
    }

    /// Records a validator's signed rejection of an awaiting block, with its reason (1 to
    /// 500 characters, signed as given). Once so many
    /// validators have rejected it that quorum is out of reach, the block is discarded
    /// and its votes stay in the pool.
    pub async fn reject(
        &self,
        election: ElectionId,
        rejection: &Rejection,
    ) -> Result<BlockSummary> {
        let (hash, reason) = (&rejection.block, rejection.reason.as_str());
        if reason.trim().is_empty() || reason.chars().count() > MAX_REASON {
            return Err(EngineError::Invalid(format!(
                "a rejection needs a reason of 1 to {MAX_REASON} characters"
            )));
        }
        let _guard = self.inner.append_lock.lock().await;
        let account = self
            .decider(
                &*self.chain(election).await?,
                election,
                hash,
                &rejection.validator,
                rejection.signature_is_valid(),
            )
            .await?;
        let now = db_time(now_ms());
        let (mut tx, chain) = self.begin_chain_write(election).await?;
        still_awaiting(&mut tx, hash).await?;
        record_decision(
            &mut tx,
            hash,
            account,
            &rejection.validator,
            &rejection.signature,
            Some(reason),
            now,
        )
        .await?;
        let rejections = decisions_of_kind(&mut tx, hash, false).await?;
        let validators = chain.genesis().validators.len() as i64;
        if rejections > validators - i64::from(chain.genesis().quorum) {
            sqlx::query("UPDATE blocks SET status = $1, decided_at = $2 WHERE hash = $3")
                .bind(BlockStatus::Rejected)
                .bind(now)
                .bind(hash)
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        self.decided(election, hash).await
    }

    async fn set_status(&self, hash: &BlockHash, status: BlockStatus, now: i64) -> Result<()> {
        mark(&mut *self.inner.write.acquire().await?, hash, status, now).await
    }
}

/// Sets a block's status, decided at `now`.
async fn mark(
    db: &mut sqlx::AnyConnection,
    hash: &BlockHash,
    status: BlockStatus,
    now: i64,
) -> Result<()> {
    sqlx::query("UPDATE blocks SET status = $1, decided_at = $2 WHERE hash = $3")
        .bind(status)
        .bind(now)
        .bind(hash)
        .execute(&mut *db)
        .await?;
    Ok(())
}

/// Refuses a block no longer awaiting approval.
fn require_awaiting(status: BlockStatus) -> Result<()> {
    if status != BlockStatus::Awaiting {
        return Err(EngineError::WrongState(format!(
            "the block is {status}, no longer awaiting approval"
        )));
    }
    Ok(())
}

/// The block still awaits approval, read again inside the transaction that records a
/// decision (another instance may have decided meanwhile). The database's UNIQUE (block,
/// account) has the last word on a validator deciding twice.
async fn still_awaiting(tx: &mut sqlx::AnyConnection, hash: &BlockHash) -> Result<()> {
    let status: BlockStatus = sqlx::query_scalar("SELECT status FROM blocks WHERE hash = $1")
        .bind(hash)
        .fetch_optional(&mut *tx)
        .await?
        .ok_or(EngineError::NotFound("block"))?;
    require_awaiting(status)
}

/// Stores a validator's signed decision: an approval, or a rejection with its reason.
/// The database's UNIQUE (block, account) has the last word on deciding twice.
async fn record_decision(
    tx: &mut sqlx::AnyConnection,
    hash: &BlockHash,
    account: AccountId,
    key: &PublicKey,
    signature: &Signature,
    reason: Option<&str>,
    now: i64,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO decisions (block_hash, account_id, validator_key, approve, signature, reason, decided_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(hash)
    .bind(account)
    .bind(key)
    // A flag is stored as 0 or 1, the same on both backends.
    .bind(i64::from(reason.is_none()))
    .bind(signature)
    .bind(reason)
    .bind(now)
    .execute(&mut *tx)
    .await
    .map_err(|e| EngineError::on_unique(e, "you have already decided on this block"))?;
    Ok(())
}

/// How many approvals (or rejections) the block has.
async fn decisions_of_kind(
    tx: &mut sqlx::AnyConnection,
    hash: &BlockHash,
    approve: bool,
) -> Result<i64> {
    Ok(
        sqlx::query_scalar("SELECT count(*) FROM decisions WHERE block_hash = $1 AND approve = $2")
            .bind(hash)
            .bind(i64::from(approve))
            .fetch_one(&mut *tx)
            .await?,
    )
}
