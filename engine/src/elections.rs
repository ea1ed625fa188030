//! Elections, their ballots and registries, and sealing the genesis block.

use crate::{db_time, now_ms, stored_u64, ChainSlot, EngineError, Node, Result};
use ledger::{Candidate, CandidateId, ChainState, ElectionId, Genesis, PublicKey};
use std::sync::Arc;
use wire::{
    AccountId, ElectionDetail, ElectionState, ElectionSummary, NewElection, Role, ValidatorInfo,
};

/// Most voters one request may register.
pub const MAX_VOTERS_PER_IMPORT: usize = 100_000;

/// Most candidates on one ballot (an encrypted ballot grows by 160 bytes with each).
pub const MAX_CANDIDATES: usize = 64;

/// An `elections` row with the counts an election's page shows.
#[derive(sqlx::FromRow)]
struct ElectionRow {
    title: String,
    description: String,
    state: ElectionState,
    #[sqlx(try_from = "i64")]
    difficulty_bits: u8,
    #[sqlx(try_from = "i64")]
    quorum: u16,
    opened_at: Option<i64>,
    closed_at: Option<i64>,
    genesis_hash: Option<ledger::BlockHash>,
    /// Votes not on the chain yet, those in awaiting blocks included.
    #[sqlx(try_from = "i64")]
    pending: u64,
    /// Of those, the votes some block awaiting validators carries.
    #[sqlx(try_from = "i64")]
    in_awaiting: u64,
    #[sqlx(try_from = "i64")]
    awaiting: u64,
}

pub(crate) fn clean_text(field: &str, value: &str, max: usize) -> Result<String> {
    let v = value.trim();
    if v.is_empty() {
        return Err(EngineError::Invalid(format!("{field} must not be empty")));
    }
    if v.chars().count() > max {
        return Err(EngineError::Invalid(format!(
            "{field} is longer than {max} characters"
        )));
    }
    Ok(v.to_owned())
}

/// A candidate's name (required, at most 200 characters) and description (at most 1000).
fn clean_candidate(name: &str, description: &str) -> Result<(String, String)> {
    let name = clean_text("name", name, 200)?;
    let description = description.trim().to_owned();
    if description.chars().count() > 1000 {
        return Err(EngineError::Invalid(
            "description is longer than 1000 characters".into(),
        ));
    }
    Ok((name, description))
}

/// A voter's name: required, at most 200 characters. `None` when fine, else the problem.
pub(crate) fn voter_name_problem(name: &str) -> Option<&'static str> {
    if name.is_empty() {
        Some("the name is empty")
    } else if name.chars().count() > 200 {
        Some("the name is longer than 200 characters")
    } else {
        None
    }
}

impl Node {
    /// Creates an election in the set-up state.
    pub async fn create_election(&self, new: NewElection) -> Result<ElectionDetail> {
        let title = clean_text("title", &new.title, 200)?;
        let description = new.description.trim().to_owned();
        if description.chars().count() > 2000 {
            return Err(EngineError::Invalid(
                "description is longer than 2000 characters".into(),
            ));
        }
        let difficulty = new.difficulty_bits.unwrap_or(16);
        if difficulty > 48 {
            return Err(EngineError::Invalid(
                "difficulty_bits must be between 0 and 48".into(),
            ));
        }
        let quorum = new.quorum.unwrap_or(ledger::MIN_QUORUM);
        if !(ledger::MIN_QUORUM..=100).contains(&quorum) {
            return Err(EngineError::Invalid(format!(
                "quorum must be between {} and 100: one approver alone could be the operator",
                ledger::MIN_QUORUM
            )));
        }
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO elections (title, description, difficulty_bits, quorum, created_at) VALUES ($1, $2, $3, $4, $5) RETURNING id",
        )
        .bind(&title)
        .bind(&description)
        .bind(i64::from(difficulty))
        .bind(i64::from(quorum))
        .bind(db_time(now_ms()))
        .fetch_one(&self.inner.write)
        .await?;
        let id = ElectionId(stored_u64("election id", id)?);
        tracing::info!(election = id.0, "election created");
        self.election(id).await
    }

    /// All elections, newest first.
    pub async fn list_elections(&self) -> Result<Vec<ElectionSummary>> {
        Ok(sqlx::query_as(
            "SELECT e.id, e.title, e.state,
                    (SELECT count(*) FROM voters v WHERE v.election_id = e.id) AS voters,
                    (SELECT count(*) FROM votes x WHERE x.election_id = e.id) AS votes
             FROM elections e ORDER BY e.id DESC",
        )
        .fetch_all(&self.inner.read)
        .await?)
    }

    /// The election's state; `NotFound` when there is no such election.
    pub(crate) async fn state_of(&self, id: ElectionId) -> Result<ElectionState> {
        sqlx::query_scalar("SELECT state FROM elections WHERE id = $1")
            .bind(id)
            .fetch_optional(&self.inner.read)
            .await?
            .ok_or(EngineError::NotFound("election"))
    }

    pub(crate) async fn require_setup(&self, id: ElectionId) -> Result<()> {
        match self.state_of(id).await? {
            ElectionState::Setup => Ok(()),
            _ => Err(EngineError::WrongState(
                "the election is sealed: its registry can no longer change".into(),
            )),
        }
    }

    /// One election with its ballot, counts and chain tip.
    pub async fn election(&self, id: ElectionId) -> Result<ElectionDetail> {
        let row: ElectionRow = sqlx::query_as(
            "SELECT title, description, state, difficulty_bits, quorum, opened_at, closed_at, genesis_hash,
                    (SELECT count(*) FROM votes x WHERE x.election_id = e.id AND x.block_hash IS NULL) AS pending,
                    (SELECT count(DISTINCT bv.tx_id) FROM block_votes bv JOIN blocks b ON b.hash = bv.block_hash
                      WHERE b.election_id = e.id AND b.status = $2) AS in_awaiting,
                    (SELECT count(*) FROM blocks b WHERE b.election_id = e.id AND b.status = $3) AS awaiting
             FROM elections e WHERE id = $1",
        )
        .bind(id)
        .bind(wire::BlockStatus::Awaiting)
        .bind(wire::BlockStatus::Awaiting)
        .fetch_optional(&self.inner.read)
        .await?
        .ok_or(EngineError::NotFound("election"))?;
        let candidates = self.candidates(id).await?;
        let validators: Vec<String> = sqlx::query_scalar(
            "SELECT a.username FROM election_validators ev JOIN accounts a ON a.id = ev.account_id
             WHERE ev.election_id = $1 ORDER BY a.username",
        )
        .bind(id)
        .fetch_all(&self.inner.read)
        .await?;
        let (chain, (check, problem)) = match row.state {
            ElectionState::Setup => (None, (wire::ChainCheck::NotSealed, None)),
            _ => (self.chain_now(id), self.chain_check(id)),
        };
        let roll = self.roll_of(id, chain.as_deref()).await?;
        // A verified chain in memory knows its roll and the votes on it: no count over a
        // million rows on every page.
        let (voters, votes) = match &chain {
            Some(chain) => (roll.voters, chain.tally().total + row.pending),
            None => {
                let (voters, votes): (i64, i64) = sqlx::query_as(
                    "SELECT (SELECT count(*) FROM voters WHERE election_id = $1),
                            (SELECT count(*) FROM votes WHERE election_id = $2)",
                )
                .bind(id)
                .bind(id)
                .fetch_one(&self.inner.read)
                .await?;
                (
                    stored_u64("voter count", voters)?,
                    stored_u64("vote count", votes)?,
                )
            }
        };
        Ok(ElectionDetail {
            id,
            title: row.title,
            description: row.description,
            state: row.state,
            difficulty_bits: row.difficulty_bits,
            quorum: row.quorum,
            candidates,
            voters,
            roll,
            validators,
            votes,
            // An awaiting block carries only votes still pending (it builds on the tip).
            pending_votes: row.pending.saturating_sub(row.in_awaiting),
            awaiting_votes: row.in_awaiting,
            awaiting_blocks: row.awaiting,
            height: chain.as_ref().map(|c| c.height()),
            tip: chain.as_ref().map(|c| c.tip()),
            genesis_hash: row.genesis_hash,
            opened_at: row
                .opened_at
                .map(|t| stored_u64("opening time", t))
                .transpose()?,
            closed_at: row
                .closed_at
                .map(|t| stored_u64("closing time", t))
                .transpose()?,
            chain_verified: matches!(
                check,
                wire::ChainCheck::Verified | wire::ChainCheck::NotSealed
            ),
            chain_check: check,
            integrity_problem: problem,
        })
    }

    async fn candidates(&self, id: ElectionId) -> Result<Vec<Candidate>> {
        Ok(sqlx::query_as(
            "SELECT id, name, description FROM candidates WHERE election_id = $1 ORDER BY id",
        )
        .bind(id)
        .fetch_all(&self.inner.read)
        .await?)
    }

    /// Adds a candidate to an election still in set-up.
    pub async fn add_candidate(
        &self,
        election: ElectionId,
        name: &str,
        description: &str,
    ) -> Result<Candidate> {
        let (name, description) = clean_candidate(name, description)?;
        self.require_setup(election).await?;
        let on_ballot: i64 =
            sqlx::query_scalar("SELECT count(*) FROM candidates WHERE election_id = $1")
                .bind(election)
                .fetch_one(&self.inner.read)
                .await?;
        if on_ballot >= MAX_CANDIDATES as i64 {
            return Err(EngineError::Invalid(format!(
                "a ballot has at most {MAX_CANDIDATES} candidates: every encrypted ballot carries a ciphertext and a proof for each"
            )));
        }
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO candidates (election_id, name, description) VALUES ($1, $2, $3) RETURNING id",
        )
                .bind(election)
                .bind(&name)
                .bind(&description)
                .fetch_one(&self.inner.write)
                .await
                .map_err(|e| {
                    EngineError::on_unique(
                        e,
                        format!("a candidate named {name:?} is already on the ballot"),
                    )
                })?;
        let id = u32::try_from(id)
            .map_err(|_| EngineError::Internal(format!("candidate id {id} out of range")))?;
        Ok(Candidate {
            id: CandidateId(id),
            name,
            description,
        })
    }

    /// Renames or redescribes a candidate of an election still in set-up.
    pub async fn update_candidate(
        &self,
        election: ElectionId,
        candidate: CandidateId,
        name: &str,
        description: &str,
    ) -> Result<Candidate> {
        let (name, description) = clean_candidate(name, description)?;
        self.require_setup(election).await?;
        let done = sqlx::query(
            "UPDATE candidates SET name = $1, description = $2 WHERE id = $3 AND election_id = $4",
        )
        .bind(&name)
        .bind(&description)
        .bind(candidate)
        .bind(election)
        .execute(&self.inner.write)
        .await
        .map_err(|e| {
            EngineError::on_unique(
                e,
                format!("a candidate named {name:?} is already on the ballot"),
            )
        })?;
        if done.rows_affected() != 1 {
            return Err(EngineError::NotFound("candidate"));
        }
        Ok(Candidate {
            id: candidate,
            name,
            description,
        })
    }

    /// Takes a candidate off the ballot of an election still in set-up.
    pub async fn remove_candidate(
        &self,
        election: ElectionId,
        candidate: CandidateId,
    ) -> Result<()> {
        self.require_setup(election).await?;
        let done = sqlx::query("DELETE FROM candidates WHERE id = $1 AND election_id = $2")
            .bind(candidate)
            .bind(election)
            .execute(&self.inner.write)
            .await?;
        if done.rows_affected() != 1 {
            return Err(EngineError::NotFound("candidate"));
        }
        Ok(())
    }

    /// Usernames of every validator account, for enrolment.
    pub async fn validator_accounts(&self) -> Result<Vec<String>> {
        Ok(
            sqlx::query_scalar("SELECT username FROM accounts WHERE role = $1 ORDER BY username")
                .bind(Role::Validator)
                .fetch_all(&self.inner.read)
                .await?,
        )
    }

    /// Enrols a validator account in an election still in set-up.
    pub async fn enrol_validator(&self, election: ElectionId, username: &str) -> Result<()> {
        self.require_setup(election).await?;
        let account: Option<(AccountId, Role)> =
            sqlx::query_as("SELECT id, role FROM accounts WHERE username = $1")
                .bind(username.trim())
                .fetch_optional(&self.inner.read)
                .await?;
        let (id, role) = account.ok_or(EngineError::NotFound("validator account"))?;
        if role != Role::Validator {
            return Err(EngineError::Invalid(format!(
                "{username:?} is not a validator account"
            )));
        }
        sqlx::query("INSERT INTO election_validators (election_id, account_id) VALUES ($1, $2)")
            .bind(election)
            .bind(id)
            .execute(&self.inner.write)
            .await
            .map_err(|e| EngineError::on_unique(e, format!("{username:?} is already enrolled")))?;
        Ok(())
    }

    /// Seals the genesis block (ballot, voter keys, validator keys, rules, and the trustees
    /// of a complete key ceremony with the election key) and opens voting.
    pub async fn open_election(&self, election: ElectionId) -> Result<ElectionDetail> {
        self.require_setup(election).await?;
        // Everything the genesis block holds is read in the write transaction that seals
        // it: nothing enrolled, registered or withdrawn meanwhile can be left out or kept.
        let mut tx = self.inner.write.begin().await?;
        let (title, difficulty, quorum): (String, i64, i64) =
            sqlx::query_as("SELECT title, difficulty_bits, quorum FROM elections WHERE id = $1")
                .bind(election)
                .fetch_one(&mut *tx)
                .await?;
        let candidates: Vec<Candidate> = sqlx::query_as(
            "SELECT id, name, description FROM candidates WHERE election_id = $1 ORDER BY id",
        )
        .bind(election)
        .fetch_all(&mut *tx)
        .await?;
        if candidates.len() < 2 {
            return Err(EngineError::WrongState(
                "a ballot needs at least two candidates".into(),
            ));
        }
        if candidates.len() > MAX_CANDIDATES {
            return Err(EngineError::WrongState(format!(
                "a ballot has at most {MAX_CANDIDATES} candidates"
            )));
        }
        // A key that does not decode is an error here, never a voter silently left out.
        let mut voters: Vec<PublicKey> =
            sqlx::query_scalar("SELECT public_key FROM voters WHERE election_id = $1")
                .bind(election)
                .fetch_all(&mut *tx)
                .await?;
        let enrolled: Vec<(String, Option<PublicKey>)> = sqlx::query_as(
            "SELECT a.username, a.public_key FROM election_validators ev JOIN accounts a ON a.id = ev.account_id
             WHERE ev.election_id = $1 ORDER BY a.username",
        )
        .bind(election)
        .fetch_all(&mut *tx)
        .await?;
        let keyless: Vec<&str> = enrolled
            .iter()
            .filter(|(_, key)| key.is_none())
            .map(|(name, _)| name.as_str())
            .collect();
        if !keyless.is_empty() {
            return Err(EngineError::WrongState(format!(
                "waiting for {} to enrol a new key (re-enrolment link)",
                keyless.join(", ")
            )));
        }
        let mut validators: Vec<PublicKey> = enrolled.into_iter().filter_map(|(_, k)| k).collect();
        voters.sort();
        validators.sort();
        if voters.is_empty() {
            return Err(EngineError::WrongState(
                "register at least one voter before opening".into(),
            ));
        }
        if validators.len() < quorum as usize {
            return Err(EngineError::WrongState(format!(
                "the quorum is {quorum} but only {} validator(s) are enrolled",
                validators.len()
            )));
        }
        let trustees = crate::trustees::sealed_trustees(&mut tx, election).await?;
        let opened_at = now_ms();
        let genesis = Genesis {
            version: ledger::GENESIS_VERSION,
            election,
            title,
            candidates,
            voters,
            validators,
            quorum: u16::try_from(quorum)
                .map_err(|_| EngineError::Internal(format!("stored quorum {quorum}")))?,
            difficulty: u8::try_from(difficulty)
                .map_err(|_| EngineError::Internal(format!("stored difficulty {difficulty}")))?,
            opened_at,
            trustees,
        };
        // Checked as every copy will check it (the quorum above has said why already).
        genesis
            .check_rules()
            .map_err(|e| EngineError::WrongState(e.to_string()))?;
        let hash = genesis.hash();
        let done = sqlx::query(
            "UPDATE elections SET state = $1, opened_at = $2, genesis = $3, genesis_hash = $4 WHERE id = $5 AND state = $6",
        )
        .bind(ElectionState::Open)
        .bind(db_time(opened_at))
        .bind(genesis.encode())
        .bind(hash)
        .bind(election)
        .bind(ElectionState::Setup)
        .execute(&mut *tx)
        .await?;
        if done.rows_affected() != 1 {
            return Err(EngineError::WrongState(
                "the election was opened concurrently".into(),
            ));
        }
        tx.commit().await?;
        self.set_chain(
            election,
            ChainSlot::Verified(Arc::new(ChainState::new(genesis))),
        );
        tracing::info!(election = election.0, genesis = %hash, "genesis sealed, voting open");
        let opened = wire::Change::State {
            state: ElectionState::Open,
            finalised: false,
        };
        self.changed(election, opened).await;
        self.election(election).await
    }

    /// Closes voting. Votes already accepted can still be mined and approved.
    pub async fn close_election(&self, election: ElectionId) -> Result<ElectionDetail> {
        let done = sqlx::query(
            "UPDATE elections SET state = $1, closed_at = $2 WHERE id = $3 AND state = $4",
        )
        .bind(ElectionState::Closed)
        .bind(db_time(now_ms()))
        .bind(election)
        .bind(ElectionState::Open)
        .execute(&self.inner.write)
        .await?;
        if done.rows_affected() != 1 {
            self.state_of(election).await?;
            return Err(EngineError::WrongState(
                "only an open election can be closed".into(),
            ));
        }
        tracing::info!(election = election.0, "voting closed");
        let closed = wire::Change::State {
            state: ElectionState::Closed,
            finalised: false,
        };
        self.changed(election, closed).await;
        self.election(election).await
    }

    /// The election's enrolled validators with their keys, by name; each marked if the
    /// sealed genesis block lists its key.
    pub async fn validators(&self, election: ElectionId) -> Result<Vec<ValidatorInfo>> {
        let rows: Vec<(String, Option<PublicKey>)> = sqlx::query_as(
            "SELECT a.username, a.public_key FROM election_validators ev JOIN accounts a ON a.id = ev.account_id
             WHERE ev.election_id = $1 ORDER BY a.username",
        )
        .bind(election)
        .fetch_all(&self.inner.read)
        .await?;
        let sealed = match self.state_of(election).await? {
            ElectionState::Setup => None,
            _ => self.chain_now(election),
        };
        Ok(rows
            .into_iter()
            .map(|(username, public_key)| ValidatorInfo {
                in_genesis: match (&sealed, &public_key) {
                    (Some(chain), Some(key)) => chain.is_validator(key),
                    _ => false,
                },
                username,
                public_key,
            })
            .collect())
    }

    /// Whether a validator account is enrolled in an election.
    pub async fn is_enrolled(&self, election: ElectionId, account: AccountId) -> Result<bool> {
        let n: i64 = sqlx::query_scalar(
            "SELECT count(*) FROM election_validators WHERE election_id = $1 AND account_id = $2",
        )
        .bind(election)
        .bind(account)
        .fetch_one(&self.inner.read)
        .await?;
        Ok(n > 0)
    }
}
