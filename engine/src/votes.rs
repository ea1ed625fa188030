//! Casting votes into the pending pool, with group commit, and tracking receipts.

use crate::{now_ms, EngineError, Node, Result};
use ledger::{CandidateId, ElectionId, MerkleProof, TxId, Vote, VotingCode};
use serde::{Deserialize, Serialize};
use sqlx::sqlite::SqlitePool;
use sqlx::Row;
use tokio::sync::{mpsc, oneshot};

/// A ballot as a voter submits it.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum Ballot {
    /// Signed in the voter's browser with the key derived from the code.
    Signed {
        /// The signed vote.
        vote: Vote,
    },
    /// The voting code itself; the server derives the key, signs, and forgets the code.
    Code {
        /// The voting code.
        code: String,
        /// The chosen candidate.
        candidate_id: i64,
    },
}

/// Where a receipt's vote is.
#[derive(Debug, Clone, Serialize)]
pub struct ReceiptStatus {
    /// "pending", "awaiting_approval" or "appended".
    pub status: &'static str,
    /// The receipt.
    pub receipt: String,
    /// The candidate voted for.
    pub candidate_id: i64,
    /// Hash of the block holding the vote (awaiting or appended).
    pub block: Option<String>,
    /// Height of that block.
    pub block_index: Option<i64>,
    /// Merkle proof of inclusion, once in a block.
    pub proof: Option<MerkleProof>,
}

struct Pending {
    election: i64,
    vote: Vote,
    reply: oneshot::Sender<Result<()>>,
}

/// Most votes committed in one transaction.
const MAX_GROUP: usize = 512;

/// Hands votes to one task that commits them in groups: each commit (and its fsync)
/// acknowledges every vote that arrived while the previous one was on its way to disk.
pub(crate) struct VoteWriter {
    tx: mpsc::Sender<Pending>,
}

impl VoteWriter {
    pub(crate) fn start(pool: SqlitePool) -> Self {
        let (tx, mut rx) = mpsc::channel::<Pending>(8192);
        tokio::spawn(async move {
            let mut group = Vec::with_capacity(MAX_GROUP);
            while let Some(first) = rx.recv().await {
                group.push(first);
                while group.len() < MAX_GROUP {
                    match rx.try_recv() {
                        Ok(p) => group.push(p),
                        Err(_) => break,
                    }
                }
                match commit_group(&pool, &group).await {
                    Ok(results) => {
                        for (p, r) in group.drain(..).zip(results) {
                            let _ = p.reply.send(r);
                        }
                    }
                    Err(e) => {
                        tracing::error!(error = %e, "committing a group of votes failed");
                        for p in group.drain(..) {
                            let _ = p.reply.send(Err(EngineError::Internal(
                                "the vote could not be stored; please try again".into(),
                            )));
                        }
                    }
                }
            }
        });
        Self { tx }
    }

    async fn submit(&self, election: i64, vote: Vote) -> Result<()> {
        let (reply, rx) = oneshot::channel();
        self.tx
            .send(Pending {
                election,
                vote,
                reply,
            })
            .await
            .map_err(|_| EngineError::Internal("the vote writer stopped".into()))?;
        rx.await
            .map_err(|_| EngineError::Internal("the vote writer stopped".into()))?
    }
}

/// Inserts a group in one transaction. A voter who already has a vote (UNIQUE) or an
/// election no longer open yields a per-vote error; the others are committed.
async fn commit_group(
    pool: &SqlitePool,
    group: &[Pending],
) -> std::result::Result<Vec<Result<()>>, sqlx::Error> {
    let mut tx = pool.begin().await?;
    let mut results = Vec::with_capacity(group.len());
    let now = now_ms() as i64;
    for p in group {
        let v = &p.vote;
        let inserted = sqlx::query(
            "INSERT INTO votes (tx_id, election_id, voter_key, candidate_id, timestamp, signature, received_at)
             SELECT ?, ?, ?, ?, ?, ?, ? WHERE EXISTS (SELECT 1 FROM elections WHERE id = ? AND state = 'open')
             ON CONFLICT DO NOTHING",
        )
        .bind(v.tx_id().0.as_slice())
        .bind(p.election)
        .bind(v.voter.0.as_slice())
        .bind(i64::from(v.candidate.0))
        .bind(v.timestamp as i64)
        .bind(v.signature.0.as_slice())
        .bind(now)
        .bind(p.election)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        results.push(if inserted == 1 {
            Ok(())
        } else {
            let open: Option<String> =
                sqlx::query_scalar("SELECT state FROM elections WHERE id = ?")
                    .bind(p.election)
                    .fetch_optional(&mut *tx)
                    .await?;
            if open.as_deref() == Some("open") {
                Err(EngineError::AlreadyVoted)
            } else {
                Err(EngineError::WrongState("voting is closed".into()))
            }
        });
    }
    tx.commit().await?;
    Ok(results)
}

impl Node {
    /// Casts a ballot: checks it against the sealed registry and the chain, then stores it
    /// durably in the pending pool. Returns the receipt once the commit is on disk.
    pub async fn cast_vote(&self, election: i64, ballot: Ballot) -> Result<TxId> {
        let state: String = sqlx::query_scalar("SELECT state FROM elections WHERE id = ?")
            .bind(election)
            .fetch_optional(&self.inner.read)
            .await?
            .ok_or(EngineError::NotFound("election"))?;
        if state != "open" {
            return Err(EngineError::WrongState(format!(
                "the election is {state}, not open for voting"
            )));
        }
        let eid = ElectionId(election as u64);
        let chain = self.chain(election).await?;
        let vote = match ballot {
            Ballot::Code { code, candidate_id } => {
                let code = VotingCode::parse(&code)
                    .map_err(|e| EngineError::Invalid(format!("voting code: {e}")))?;
                let candidate = u32::try_from(candidate_id)
                    .ok()
                    .map(CandidateId)
                    .filter(|c| chain.genesis().candidate(*c).is_some())
                    .ok_or(EngineError::NotFound("candidate"))?;
                let key = code.signing_key(eid);
                let vote = Vote::sign(&key, eid, candidate, now_ms());
                if chain.genesis().voters.binary_search(&vote.voter).is_err() {
                    return Err(EngineError::UnknownCode);
                }
                if chain.has_voted(&vote.voter) {
                    return Err(EngineError::AlreadyVoted);
                }
                vote
            }
            Ballot::Signed { vote } => {
                chain.check_vote(&vote).map_err(|e| match e {
                    ledger::RuleError::AlreadyVoted { .. } => EngineError::AlreadyVoted,
                    ledger::RuleError::UnknownCandidate { .. } => {
                        EngineError::NotFound("candidate")
                    }
                    ledger::RuleError::IneligibleVoter { .. } => {
                        EngineError::Forbidden("this key is not in the voter registry".into())
                    }
                    other => EngineError::Rule(other),
                })?;
                vote
            }
        };
        let receipt = vote.tx_id();
        self.inner.votes.submit(election, vote).await?;
        Ok(receipt)
    }

    /// Where the vote with this receipt is: pending, in a block awaiting approval, or appended.
    pub async fn receipt(&self, election: i64, receipt: &TxId) -> Result<ReceiptStatus> {
        let row = sqlx::query(
            "SELECT candidate_id, block_hash FROM votes WHERE tx_id = ? AND election_id = ?",
        )
        .bind(receipt.0.as_slice())
        .bind(election)
        .fetch_optional(&self.inner.read)
        .await?
        .ok_or(EngineError::NotFound("receipt"))?;
        let candidate_id: i64 = row.try_get("candidate_id")?;
        let appended: Option<Vec<u8>> = row.try_get("block_hash")?;
        let block: Option<(Vec<u8>, i64, &'static str)> = match appended {
            Some(h) => {
                let idx: i64 = sqlx::query_scalar("SELECT idx FROM blocks WHERE hash = ?")
                    .bind(&h)
                    .fetch_one(&self.inner.read)
                    .await?;
                Some((h, idx, "appended"))
            }
            None => sqlx::query_as::<_, (Vec<u8>, i64)>(
                "SELECT b.hash, b.idx FROM block_votes bv JOIN blocks b ON b.hash = bv.block_hash
                 WHERE bv.tx_id = ? AND b.status = 'awaiting' ORDER BY b.submitted_at LIMIT 1",
            )
            .bind(receipt.0.as_slice())
            .fetch_optional(&self.inner.read)
            .await?
            .map(|(h, i)| (h, i, "awaiting_approval")),
        };
        let Some((hash, idx, status)) = block else {
            return Ok(ReceiptStatus {
                status: "pending",
                receipt: receipt.to_hex(),
                candidate_id,
                block: None,
                block_index: None,
                proof: None,
            });
        };
        let leaves: Vec<Vec<u8>> =
            sqlx::query("SELECT tx_id FROM block_votes WHERE block_hash = ? ORDER BY position")
                .bind(&hash)
                .fetch_all(&self.inner.read)
                .await?
                .iter()
                .map(|r| r.try_get("tx_id"))
                .collect::<std::result::Result<_, _>>()?;
        let leaves: Vec<TxId> = leaves.iter().filter_map(|b| TxId::from_slice(b)).collect();
        let proof = leaves
            .iter()
            .position(|t| t == receipt)
            .and_then(|i| MerkleProof::new(&leaves, i));
        Ok(ReceiptStatus {
            status,
            receipt: receipt.to_hex(),
            candidate_id,
            block: Some(hex::encode(hash)),
            block_index: Some(idx),
            proof,
        })
    }
}
