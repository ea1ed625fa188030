//! Re-verification of every stored chain at start: tampering is reported, never served.

use crate::votes::{StoredVote, VOTE_COLUMNS};
use crate::{ChainSlot, EngineError, Node, Result};
use ledger::{ChainState, ElectionId, TxId};
use std::sync::Arc;

/// What re-verifying the stored chains found.
#[derive(Debug, Clone, Default)]
pub struct IntegrityReport {
    /// Elections whose chain verified, with their heights.
    pub verified: Vec<(ElectionId, u64)>,
    /// Elections whose stored chain does not verify, and why.
    pub problems: Vec<(ElectionId, String)>,
}

impl IntegrityReport {
    /// True when every chain verified.
    pub fn is_clean(&self) -> bool {
        self.problems.is_empty()
    }
}

/// A vote of the pool with the receipt recorded beside it.
#[derive(sqlx::FromRow)]
struct PendingVote {
    tx_id: TxId,
    #[sqlx(flatten)]
    vote: StoredVote,
}

impl Node {
    /// Rebuilds each sealed election's chain from the database and checks it: the genesis
    /// block against its recorded hash, every block and approval by `ledger::replay`, and
    /// every pending vote by the chain's vote rules.
    pub(crate) async fn verify_stored_chains(&self) -> Result<IntegrityReport> {
        let mut report = IntegrityReport::default();
        let sealed: Vec<ElectionId> =
            sqlx::query_scalar("SELECT id FROM elections WHERE state <> 'setup' ORDER BY id")
                .fetch_all(&self.inner.read)
                .await?;
        for id in sealed {
            match self.verify_one(id).await {
                Ok(chain) => {
                    report.verified.push((id, chain.height()));
                    self.set_chain(id, ChainSlot::Verified(Arc::new(chain)));
                }
                Err(problem) => {
                    let problem = match problem {
                        EngineError::Integrity(why) => why,
                        other => other.to_string(),
                    };
                    tracing::error!(election = id.0, %problem, "TAMPERING DETECTED: stored chain failed verification");
                    report.problems.push((id, problem.clone()));
                    self.set_chain(id, ChainSlot::Tampered(problem));
                }
            }
        }
        Ok(report)
    }

    async fn verify_one(&self, id: ElectionId) -> Result<ChainState> {
        let stored = self.stored_chain(id).await?;
        if stored.genesis.election != id {
            return Err(EngineError::Integrity(
                "the genesis block names another election".into(),
            ));
        }
        let chain = ledger::replay(&stored).map_err(|e| match e {
            ledger::ExportError::GenesisHashMismatch => {
                EngineError::Integrity("the genesis block does not match its recorded hash".into())
            }
            other => EngineError::Integrity(other.to_string()),
        })?;
        let pending: Vec<PendingVote> = sqlx::query_as(&format!(
            "SELECT v.tx_id, {VOTE_COLUMNS} FROM votes v WHERE v.election_id = ? AND v.block_hash IS NULL"
        ))
        .bind(id)
        .fetch_all(&self.inner.read)
        .await?;
        for PendingVote {
            tx_id: receipt,
            vote,
        } in pending
        {
            let vote = vote.into_vote()?;
            if vote.tx_id() != receipt || chain.check_vote(&vote).is_err() {
                return Err(EngineError::Integrity(format!(
                    "pending vote {receipt} was altered or is invalid"
                )));
            }
        }
        Ok(chain)
    }
}
