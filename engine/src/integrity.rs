//! Re-verification of every stored chain at start: tampering is reported, never served.

use crate::{ChainSlot, EngineError, Node, Result};
use ledger::export::check_approvals;
use ledger::{ChainState, ElectionId};
use std::sync::Arc;

/// What re-verifying the stored chains found.
#[derive(Debug, Clone, Default)]
pub struct IntegrityReport {
    /// Elections whose chain verified, with their heights.
    pub verified: Vec<(i64, u64)>,
    /// Elections whose stored chain does not verify, and why.
    pub problems: Vec<(i64, String)>,
}

impl IntegrityReport {
    /// True when every chain verified.
    pub fn is_clean(&self) -> bool {
        self.problems.is_empty()
    }
}

impl Node {
    /// Rebuilds each sealed election's chain from the database, checking the genesis hash,
    /// every block rule, every approval and every pending vote's signature.
    pub(crate) async fn verify_stored_chains(&self) -> Result<IntegrityReport> {
        let mut report = IntegrityReport::default();
        let sealed: Vec<(i64, Vec<u8>)> = sqlx::query_as(
            "SELECT id, genesis_hash FROM elections WHERE state <> 'setup' ORDER BY id",
        )
        .fetch_all(&self.inner.read)
        .await?;
        for (id, stored_hash) in sealed {
            match self.verify_one(id, &stored_hash).await {
                Ok(chain) => {
                    report.verified.push((id, chain.height()));
                    self.set_chain(ElectionId(id as u64), ChainSlot::Verified(Arc::new(chain)));
                }
                Err(problem) => {
                    tracing::error!(election = id, %problem, "TAMPERING DETECTED: stored chain failed verification");
                    report.problems.push((id, problem.clone()));
                    self.set_chain(ElectionId(id as u64), ChainSlot::Tampered(problem));
                }
            }
        }
        Ok(report)
    }

    async fn verify_one(
        &self,
        id: i64,
        stored_hash: &[u8],
    ) -> std::result::Result<ChainState, String> {
        let fail = |e: EngineError| e.to_string();
        let genesis = self
            .genesis(id)
            .await
            .map_err(fail)?
            .ok_or("the genesis block is missing")?;
        if genesis.hash().0.as_slice() != stored_hash {
            return Err("the genesis block does not match its recorded hash".into());
        }
        if genesis.election != ElectionId(id as u64) {
            return Err("the genesis block names another election".into());
        }
        let mut chain = ChainState::new(genesis);
        for hash in self.appended_hashes(id).await.map_err(fail)? {
            let block = self.load_block(&hash).await.map_err(fail)?;
            let index = block.header.index;
            if block.hash() != hash {
                return Err(format!(
                    "block {index}: the stored header does not hash to its recorded hash"
                ));
            }
            chain
                .append(&block)
                .map_err(|rule| format!("block {index}: {rule}"))?;
            let approvals = self.approvals(&hash).await.map_err(fail)?;
            check_approvals(&chain, &hash, index, &approvals).map_err(|e| e.to_string())?;
        }
        let pending = sqlx::query(
            "SELECT election_id, voter_key, candidate_id, timestamp, signature, tx_id FROM votes v
             WHERE election_id = ? AND block_hash IS NULL",
        )
        .bind(id)
        .fetch_all(&self.inner.read)
        .await
        .map_err(|e| e.to_string())?;
        let votes = crate::blocks::parse_votes(&pending).map_err(fail)?;
        for (vote, row) in votes.iter().zip(&pending) {
            let stored: Vec<u8> = sqlx::Row::try_get(row, "tx_id").map_err(|e| e.to_string())?;
            if vote.tx_id().0.as_slice() != stored.as_slice() || chain.check_vote(vote).is_err() {
                return Err(format!(
                    "pending vote {} was altered or is invalid",
                    hex::encode(&stored)
                ));
            }
        }
        Ok(chain)
    }
}
