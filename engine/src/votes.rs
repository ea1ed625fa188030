//! Casting votes into the pending pool, with group commit, and tracking receipts.

use crate::{db_time, now_ms, stored_u64, EngineError, Node, Result};
use ledger::{
    BlockHash, ElectionId, MerkleProof, PublicKey, RuleError, Signature, TxId, Vote, VotingCode,
};
use sqlx::AnyPool;
use tokio::sync::{mpsc, oneshot};
use wire::{Ballot, ElectionState, ReceiptReport, ReceiptStatus};

/// A vote as the `votes` table stores it; select it with [`VOTE_COLUMNS`].
#[derive(sqlx::FromRow)]
pub(crate) struct StoredVote {
    election_id: ElectionId,
    voter_key: PublicKey,
    ballot: Option<Vec<u8>>,
    timestamp: i64,
    signature: Signature,
}

/// The columns of a [`StoredVote`], from the `votes` table aliased `v`.
pub(crate) const VOTE_COLUMNS: &str =
    "v.election_id, v.voter_key, v.ballot, v.timestamp, v.signature";

impl StoredVote {
    pub(crate) fn into_vote(self) -> Result<Vote> {
        let ballot = self.ballot.ok_or_else(|| {
            EngineError::Integrity(
                "a cleartext vote of the format before secret ballots, which this software refuses"
                    .into(),
            )
        })?;
        Ok(Vote {
            election: self.election_id,
            voter: self.voter_key,
            ballot,
            timestamp: stored_u64("vote time", self.timestamp)?,
            signature: self.signature,
        })
    }
}

/// Stored votes as the chain's votes.
pub(crate) fn into_votes(rows: Vec<StoredVote>) -> Result<Vec<Vote>> {
    rows.into_iter().map(StoredVote::into_vote).collect()
}

struct Pending {
    election: ElectionId,
    vote: Vote,
    /// The hash of the ballot's ciphertexts, whose proofs were checked.
    ciphertexts: TxId,
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
    pub(crate) fn start(pool: AnyPool) -> Self {
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

    async fn submit(&self, election: ElectionId, vote: Vote, ciphertexts: TxId) -> Result<()> {
        let (reply, rx) = oneshot::channel();
        let stopped = || EngineError::Internal("the vote writer stopped".into());
        self.tx
            .send(Pending {
                election,
                vote,
                ciphertexts,
                reply,
            })
            .await
            .map_err(|_| stopped())?;
        rx.await.map_err(|_| stopped())?
    }
}

/// Inserts a group in one transaction. A voter who already has a vote (UNIQUE), a ballot
/// whose ciphertexts another vote carries (UNIQUE) or an election no longer open yields a
/// per-vote error; the others are committed.
async fn commit_group(
    pool: &AnyPool,
    group: &[Pending],
) -> std::result::Result<Vec<Result<()>>, sqlx::Error> {
    let mut tx = pool.begin().await?;
    let mut results = Vec::with_capacity(group.len());
    let now = db_time(now_ms());
    for p in group {
        let v = &p.vote;
        let inserted = sqlx::query(
            "INSERT INTO votes (tx_id, election_id, voter_key, ballot, ciphertexts, proofs_checked_at, timestamp, signature, received_at)
             SELECT $1, $2, $3, $4, $5, $6, $7, $8, $9 WHERE EXISTS (SELECT 1 FROM elections WHERE id = $10 AND state = $11)
             ON CONFLICT DO NOTHING",
        )
        .bind(v.tx_id())
        .bind(p.election)
        .bind(v.voter)
        .bind(&v.ballot)
        .bind(p.ciphertexts)
        .bind(now)
        .bind(db_time(v.timestamp))
        .bind(v.signature)
        .bind(now)
        .bind(p.election)
        .bind(ElectionState::Open)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        results.push(if inserted == 1 {
            Ok(())
        } else {
            let state: Option<ElectionState> =
                sqlx::query_scalar("SELECT state FROM elections WHERE id = $1")
                    .bind(p.election)
                    .fetch_optional(&mut *tx)
                    .await?;
            let voted: Option<i64> =
                sqlx::query_scalar("SELECT 1 FROM votes WHERE election_id = $1 AND voter_key = $2")
                    .bind(p.election)
                    .bind(v.voter)
                    .fetch_optional(&mut *tx)
                    .await?;
            if state != Some(ElectionState::Open) {
                Err(EngineError::WrongState("voting is closed".into()))
            } else if voted.is_some() {
                Err(EngineError::AlreadyVoted(None))
            } else {
                Err(EngineError::Vote(RuleError::CopiedBallot { index: 0 }))
            }
        });
    }
    // The other instances' mining templates miss these votes.
    let mut grew: Vec<ElectionId> = group
        .iter()
        .zip(&results)
        .filter(|(_, r)| r.is_ok())
        .map(|(p, _)| p.election)
        .collect();
    grew.sort_unstable_by_key(|id| id.0);
    grew.dedup();
    for id in grew {
        crate::sync::Event::Votes(id).send(&mut tx).await?;
    }
    tx.commit().await?;
    Ok(results)
}

impl Node {
    /// Casts a ballot: checks it with the chain's vote rules against the sealed registry,
    /// then stores it durably in the pending pool. Returns the receipt once the commit is
    /// on disk.
    pub async fn cast_vote(&self, election: ElectionId, ballot: Ballot) -> Result<TxId> {
        let state = self.state_of(election).await?;
        if state != ElectionState::Open {
            return Err(EngineError::WrongState(format!(
                "the election is {state}, not open for voting"
            )));
        }
        let chain = self.chain(election).await?;
        // A key outside the registry means a wrong code when the server derived it, and a
        // stranger's key when the browser signed.
        let (vote, not_registered) = match ballot {
            Ballot::Code { code, candidate_id } => {
                let code = VotingCode::parse(&code)
                    .map_err(|e| EngineError::Invalid(format!("voting code: {e}")))?;
                let key = code.signing_key(election);
                if !chain.is_voter(&PublicKey(key.verifying_key().to_bytes())) {
                    return Err(EngineError::UnknownCode);
                }
                let choice = chain
                    .genesis()
                    .candidates
                    .iter()
                    .position(|c| c.id == candidate_id)
                    .ok_or(EngineError::NotFound("candidate"))?;
                // Encrypted here, on the voter's behalf (the no-JavaScript path), on a
                // blocking thread; the choice is forgotten with this closure.
                let sealed = chain.clone();
                let vote = tokio::task::spawn_blocking(move || {
                    Vote::cast(
                        &key,
                        sealed.genesis(),
                        choice,
                        now_ms(),
                        &mut rand::rngs::OsRng,
                    )
                })
                .await
                .map_err(EngineError::join)?
                .map_err(|e| EngineError::Internal(format!("encrypting the ballot: {e}")))?;
                (vote, EngineError::UnknownCode)
            }
            Ballot::Signed { vote } => {
                // Stored as a signed 64-bit number: a larger one would be stored as another
                // value, and the vote's signature would no longer verify in any block.
                if i64::try_from(vote.timestamp).is_err() {
                    return Err(EngineError::Invalid(
                        "the vote's timestamp is out of range".into(),
                    ));
                }
                (
                    vote,
                    EngineError::Forbidden("this key is not in the voter registry".into()),
                )
            }
        };
        let voter = vote.voter;
        let cast = async {
            // The ballot's proofs cost about a millisecond: checked on a blocking thread,
            // never on the runtime, and recorded with the vote so they are checked once.
            let (checked, vote) = {
                let chain = chain.clone();
                tokio::task::spawn_blocking(move || (chain.check_vote(&vote), vote))
                    .await
                    .map_err(EngineError::join)?
            };
            let ciphertexts = checked.map_err(|rule| match rule {
                RuleError::AlreadyVoted { .. } => EngineError::AlreadyVoted(None),
                RuleError::IneligibleVoter { .. } => not_registered,
                other => EngineError::Vote(other),
            })?;
            let receipt = vote.tx_id();
            self.inner.votes.submit(election, vote, ciphertexts).await?;
            self.pool_grew(election);
            Ok(receipt)
        };
        match cast.await {
            // The voter's vote is stored: its receipt, for one who lost the first answer.
            Err(EngineError::AlreadyVoted(None)) => {
                let receipt: Option<TxId> = sqlx::query_scalar(
                    "SELECT tx_id FROM votes WHERE election_id = $1 AND voter_key = $2",
                )
                .bind(election)
                .bind(voter)
                .fetch_optional(&self.inner.read)
                .await?;
                Err(EngineError::AlreadyVoted(receipt))
            }
            other => other,
        }
    }

    /// Where the vote with this receipt is: pending, in a block awaiting approval, or appended.
    pub async fn receipt(&self, election: ElectionId, receipt: &TxId) -> Result<ReceiptReport> {
        let (ballot, appended): (Option<Vec<u8>>, Option<BlockHash>) = sqlx::query_as(
            "SELECT ballot, block_hash FROM votes WHERE tx_id = $1 AND election_id = $2",
        )
        .bind(receipt)
        .bind(election)
        .fetch_optional(&self.inner.read)
        .await?
        .ok_or(EngineError::NotFound("receipt"))?;
        let ballot = TxId(ledger::hash::sha256(&ballot.unwrap_or_default()));
        let not_in_block = |status| ReceiptReport {
            status,
            receipt: *receipt,
            ballot,
            block: None,
            block_index: None,
            proof: None,
        };
        if appended.is_none() {
            // Once the count is final the chain takes no more blocks: a vote not on it
            // by then is not counted, wherever it waits.
            let mut conn = self.inner.read.acquire().await?;
            if crate::count::final_head(&mut conn, election)
                .await?
                .is_some()
            {
                return Ok(not_in_block(ReceiptStatus::Uncounted));
            }
        }
        let block: Option<(BlockHash, i64, ReceiptStatus)> = match appended {
            Some(hash) => {
                let idx: i64 = sqlx::query_scalar("SELECT idx FROM blocks WHERE hash = $1")
                    .bind(hash)
                    .fetch_one(&self.inner.read)
                    .await?;
                Some((hash, idx, ReceiptStatus::Appended))
            }
            None => sqlx::query_as::<_, (BlockHash, i64)>(
                "SELECT b.hash, b.idx FROM block_votes bv JOIN blocks b ON b.hash = bv.block_hash
                 WHERE bv.tx_id = $1 AND b.status = $2 ORDER BY b.submitted_at LIMIT 1",
            )
            .bind(receipt)
            .bind(wire::BlockStatus::Awaiting)
            .fetch_optional(&self.inner.read)
            .await?
            .map(|(hash, idx)| (hash, idx, ReceiptStatus::AwaitingApproval)),
        };
        let Some((hash, idx, status)) = block else {
            return Ok(not_in_block(ReceiptStatus::Pending));
        };
        let leaves: Vec<TxId> = sqlx::query_scalar(
            "SELECT tx_id FROM block_votes WHERE block_hash = $1 ORDER BY position",
        )
        .bind(hash)
        .fetch_all(&self.inner.read)
        .await?;
        let proof = leaves
            .iter()
            .position(|t| t == receipt)
            .and_then(|i| MerkleProof::new(&leaves, i));
        Ok(ReceiptReport {
            status,
            receipt: *receipt,
            ballot,
            block: Some(hash),
            block_index: Some(stored_u64("height", idx)?),
            proof,
        })
    }
}
