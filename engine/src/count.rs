//! The count of a secret-ballot election: the officer finalises the chain once voting has
//! closed (its head then covers every counted ballot), the trustees post their signed
//! decryption shares of the encrypted sums up to that head, and with the threshold of
//! valid shares the result is decrypted and published. Every share is checked as it
//! comes in (`ledger::result::check_share`); the node never holds a key share.

use crate::{db_time, now_ms, stored_u64, EngineError, Node, Result};
use ledger::result::{check_share, SignedShare, TallyResult};
use ledger::secret::{find_counts, DecryptionShare};
use ledger::{BlockHash, ElectionId, PublicKey, Signature};
use sqlx::AnyConnection;
use wire::{CandidateVotes, ElectionState, FinalHead, TallyReport};

/// The final head of an election, if finalised.
pub(crate) async fn final_head(
    conn: &mut AnyConnection,
    election: ElectionId,
) -> Result<Option<FinalHead>> {
    let row: Option<(i64, BlockHash, i64)> =
        sqlx::query_as("SELECT height, head, uncounted FROM finals WHERE election_id = $1")
            .bind(election)
            .fetch_optional(conn)
            .await?;
    row.map(|(height, head, uncounted)| {
        Ok(FinalHead {
            height: stored_u64("final height", height)?,
            head,
            uncounted: stored_u64("uncounted votes", uncounted)?,
        })
    })
    .transpose()
}

/// Refuses while the count is final, read on `conn`: the chain takes no more blocks.
pub(crate) async fn require_not_final_on(
    conn: &mut AnyConnection,
    election: ElectionId,
) -> Result<()> {
    match final_head(conn, election).await? {
        Some(f) => Err(EngineError::WrongState(format!(
            "the count is final at block {}: the chain takes no more blocks",
            f.height
        ))),
        None => Ok(()),
    }
}

/// The shares posted, in trustee order.
pub(crate) async fn shares_of(
    conn: &mut AnyConnection,
    election: ElectionId,
) -> Result<Vec<SignedShare>> {
    let rows: Vec<(i64, Vec<u8>, Signature)> = sqlx::query_as(
        "SELECT trustee, share, signature FROM decryption_shares WHERE election_id = $1 ORDER BY trustee",
    )
    .bind(election)
    .fetch_all(conn)
    .await?;
    rows.into_iter()
        .map(|(trustee, share, signature)| {
            Ok(SignedShare {
                trustee: u16::try_from(trustee)
                    .map_err(|_| EngineError::Internal(format!("stored trustee {trustee}")))?,
                share,
                signature,
            })
        })
        .collect()
}

/// The published counts, if any.
pub(crate) async fn counts_of(
    conn: &mut AnyConnection,
    election: ElectionId,
) -> Result<Option<Vec<u64>>> {
    let text: Option<String> =
        sqlx::query_scalar("SELECT counts FROM results WHERE election_id = $1")
            .bind(election)
            .fetch_optional(conn)
            .await?;
    text.map(|t| {
        serde_json::from_str(&t)
            .map_err(|e| EngineError::Internal(format!("stored counts do not read: {e}")))
    })
    .transpose()
}

impl Node {
    /// The tip, and whether a result is published: what a chain export holds.
    pub async fn export_head(&self, election: ElectionId) -> Result<(u64, BlockHash, bool)> {
        let (height, tip) = self.tip(election).await?;
        let mut conn = self.inner.read.acquire().await?;
        let published = counts_of(&mut conn, election).await?.is_some();
        Ok((height, tip, published))
    }

    /// Refuses while the count is final: the chain takes no more blocks.
    pub(crate) async fn require_not_final(&self, election: ElectionId) -> Result<()> {
        require_not_final_on(&mut *self.inner.read.acquire().await?, election).await
    }

    /// Records the final head once voting has closed: every vote is on the chain and no
    /// block awaits validators, or, `early`, the votes still pending are left uncounted
    /// (and listed as such). From then on the chain takes no more blocks.
    pub async fn finalise(&self, election: ElectionId, early: bool) -> Result<TallyReport> {
        let state = self.state_of(election).await?;
        if state != ElectionState::Closed {
            return Err(EngineError::WrongState(
                "close voting before finalising the count".into(),
            ));
        }
        let _appending = self.inner.append_lock.lock().await;
        let (mut tx, chain) = self.begin_chain_write(election).await?;
        let (pending, awaiting): (i64, i64) = sqlx::query_as(
            "SELECT (SELECT count(*) FROM votes WHERE election_id = $1 AND block_hash IS NULL),
                    (SELECT count(*) FROM blocks WHERE election_id = $2 AND status = $3)",
        )
        .bind(election)
        .bind(election)
        .bind(wire::BlockStatus::Awaiting)
        .fetch_one(&mut *tx)
        .await?;
        if (pending > 0 || awaiting > 0) && !early {
            return Err(EngineError::WrongState(format!(
                "{pending} vote(s) are still pending and {awaiting} block(s) await validators: wait for them, or finalise early to leave the pending votes uncounted"
            )));
        }
        sqlx::query(
            "INSERT INTO finals (election_id, height, head, uncounted, finalised_at) VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(election)
        .bind(db_time(chain.height()))
        .bind(chain.tip())
        .bind(pending)
        .bind(db_time(now_ms()))
        .execute(&mut *tx)
        .await
        .map_err(|e| EngineError::on_unique(e, "the count is final already"))?;
        tx.commit().await?;
        tracing::info!(
            election = election.0,
            height = chain.height(),
            uncounted = pending,
            "count finalised"
        );
        drop(_appending);
        let finalised = wire::Change::State {
            state: ElectionState::Closed,
            finalised: true,
        };
        self.changed(election, finalised).await;
        self.tally(election).await
    }

    /// Every posted share checked again against the chain in memory (the final one): its
    /// trustee's name, and whether its signature and proofs hold.
    pub async fn share_statuses(&self, election: ElectionId) -> Result<Vec<wire::ShareStatus>> {
        let chain = self.chain(election).await?;
        let mut conn = self.inner.read.acquire().await?;
        let shares = shares_of(&mut conn, election).await?;
        let names: Vec<(PublicKey, String)> = sqlx::query_as(
            "SELECT identity_key, name FROM trustees WHERE election_id = $1 AND identity_key IS NOT NULL",
        )
        .bind(election)
        .fetch_all(&mut *conn)
        .await?;
        drop(conn);
        let checked = tokio::task::spawn_blocking(move || {
            let genesis = chain.genesis();
            shares
                .iter()
                .map(|s| {
                    let identity = genesis
                        .trustees
                        .trustees
                        .get(usize::from(s.trustee))
                        .map(|t| t.identity);
                    let name = names
                        .iter()
                        .find(|(key, _)| Some(*key) == identity)
                        .map_or_else(|| format!("trustee {}", s.trustee), |(_, n)| n.clone());
                    wire::ShareStatus {
                        trustee: s.trustee,
                        name,
                        fingerprint: identity
                            .as_ref()
                            .map_or_else(|| "of no seat".to_owned(), wire::fingerprint),
                        problem: check_share(genesis, &chain.tip(), &chain.tally().sums, s)
                            .err()
                            .map(|e| e.to_string()),
                    }
                })
                .collect()
        })
        .await
        .map_err(EngineError::join)?;
        Ok(checked)
    }

    /// Takes a trustee's signed decryption share of the sums at the final head: signed by
    /// its identity key as the genesis block seals it, its proofs holding, once per
    /// trustee. With the threshold of shares the counts are decrypted and published.
    pub async fn post_share(
        &self,
        election: ElectionId,
        share: SignedShare,
    ) -> Result<TallyReport> {
        let chain = self.chain(election).await?;
        let mut conn = self.inner.read.acquire().await?;
        let Some(end) = final_head(&mut conn, election).await? else {
            return Err(EngineError::WrongState(
                "the count is not final yet: the officer finalises it after voting closes".into(),
            ));
        };
        drop(conn);
        if chain.height() != end.height || chain.tip() != end.head {
            return Err(EngineError::Integrity(
                "the chain in memory is not the final one".into(),
            ));
        }
        let checked = {
            let (chain, share) = (chain.clone(), share.clone());
            tokio::task::spawn_blocking(move || {
                check_share(chain.genesis(), &chain.tip(), &chain.tally().sums, &share)
            })
            .await
            .map_err(EngineError::join)?
        };
        checked.map_err(|e| match e {
            ledger::result::ResultError::Signature(_) => EngineError::BadSignature(e.to_string()),
            other => EngineError::Invalid(other.to_string()),
        })?;
        let mut tx = self.inner.write.begin().await?;
        sqlx::query(
            "INSERT INTO decryption_shares (election_id, trustee, share, signature, posted_at) VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(election)
        .bind(i64::from(share.trustee))
        .bind(&share.share)
        .bind(share.signature)
        .bind(db_time(now_ms()))
        .execute(&mut *tx)
        .await
        .map_err(|e| {
            EngineError::on_unique(e, format!("trustee {} has posted a share already", share.trustee))
        })?;
        tx.commit().await?;
        // Decrypted off the runtime and outside any transaction (every share is checked
        // again, then baby-step giant-step): the writer is not held meanwhile.
        let mut conn = self.inner.read.acquire().await?;
        let shares = shares_of(&mut conn, election).await?;
        let published = counts_of(&mut conn, election).await?.is_some();
        drop(conn);
        if !published && shares.len() >= usize::from(chain.genesis().trustees.threshold) {
            let chain = chain.clone();
            let counts = tokio::task::spawn_blocking(move || {
                let read: Vec<DecryptionShare> = shares
                    .iter()
                    .map(SignedShare::read)
                    .collect::<std::result::Result<_, _>>()?;
                let tally = chain.tally();
                find_counts(
                    &chain.genesis().trustees.keys(),
                    &tally.sums,
                    &read,
                    tally.total,
                )
            })
            .await
            .map_err(EngineError::join)?
            .map_err(|e| EngineError::Internal(format!("decrypting the sums: {e}")))?;
            sqlx::query(
                "INSERT INTO results (election_id, counts, published_at) VALUES ($1, $2, $3)
                 ON CONFLICT DO NOTHING",
            )
            .bind(election)
            .bind(serde_json::to_string(&counts).unwrap_or_default())
            .bind(db_time(now_ms()))
            .execute(&self.inner.write)
            .await?;
            tracing::info!(election = election.0, "result decrypted and published");
            self.changed(election, wire::Change::Result).await;
        }
        tracing::info!(
            election = election.0,
            trustee = share.trustee,
            "decryption share posted"
        );
        let posted = wire::Change::Share {
            trustee: share.trustee,
        };
        self.changed(election, posted).await;
        self.tally(election).await
    }

    /// The published result with the shares that give it, for the export.
    pub(crate) async fn published_result(
        &self,
        conn: &mut AnyConnection,
        election: ElectionId,
    ) -> Result<Option<TallyResult>> {
        let (Some(end), Some(counts)) = (
            final_head(conn, election).await?,
            counts_of(conn, election).await?,
        ) else {
            return Ok(None);
        };
        Ok(Some(TallyResult {
            height: end.height,
            head: end.head,
            shares: shares_of(conn, election).await?,
            counts,
        }))
    }

    /// The turnout on the appended chain and its encrypted sums per candidate, in ballot
    /// order; the final head once the count is final, the trustees who have posted a
    /// share, and the result once the threshold of them have.
    pub async fn tally(&self, election: ElectionId) -> Result<TallyReport> {
        let chain = self.chain(election).await?;
        let tally = chain.tally();
        let mut conn = self.inner.read.acquire().await?;
        let final_head = final_head(&mut conn, election).await?;
        let shares = shares_of(&mut conn, election)
            .await?
            .into_iter()
            .map(|s| s.trustee)
            .collect();
        let result = counts_of(&mut conn, election).await?.map(|counts| {
            chain
                .genesis()
                .candidates
                .iter()
                .zip(counts)
                .map(|(c, votes)| CandidateVotes {
                    id: c.id,
                    name: c.name.clone(),
                    votes,
                })
                .collect()
        });
        Ok(TallyReport {
            turnout: tally.total,
            sums: tally.sums.clone(),
            final_head,
            shares,
            result,
        })
    }
}
