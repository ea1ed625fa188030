//! Elections, their ballots and registries, and sealing the genesis block.

use crate::{now_ms, ChainSlot, EngineError, Node, Result};
use ledger::{Candidate, CandidateId, ChainState, ElectionId, Genesis, PublicKey, VotingCode};
use rand::RngCore;
use serde::{Deserialize, Serialize};
use sqlx::Row;
use std::collections::HashSet;
use std::sync::Arc;

/// Where an election is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ElectionState {
    /// Registering candidates, voters and validators.
    Setup,
    /// Genesis sealed; votes accepted.
    Open,
    /// No more votes; pending votes may still be mined and approved.
    Closed,
}

impl ElectionState {
    fn parse(s: &str) -> Result<Self> {
        match s {
            "setup" => Ok(Self::Setup),
            "open" => Ok(Self::Open),
            "closed" => Ok(Self::Closed),
            other => Err(EngineError::Internal(format!("unknown state {other:?}"))),
        }
    }
}

/// What an admin fills in to create an election.
#[derive(Debug, Clone, Deserialize)]
pub struct NewElection {
    /// Title shown to voters.
    pub title: String,
    /// Longer text for voters.
    #[serde(default)]
    pub description: String,
    /// Proof-of-work difficulty in leading zero bits (default 16).
    pub difficulty_bits: Option<u8>,
    /// Approvals needed per block (default 2).
    pub quorum: Option<u16>,
}

/// A row of the election list.
#[derive(Debug, Clone, Serialize)]
pub struct ElectionSummary {
    /// Election id.
    pub id: i64,
    /// Title.
    pub title: String,
    /// State.
    pub state: ElectionState,
    /// Registered voters.
    pub voters: i64,
    /// Votes accepted (pending or on chain).
    pub votes: i64,
}

/// A candidate as the API shows it.
#[derive(Debug, Clone, Serialize)]
pub struct CandidateInfo {
    /// Candidate id (the id votes name).
    pub id: i64,
    /// Name.
    pub name: String,
    /// Party or description.
    pub description: String,
}

/// Everything about one election.
#[derive(Debug, Clone, Serialize)]
pub struct ElectionDetail {
    /// Election id.
    pub id: i64,
    /// Title.
    pub title: String,
    /// Description.
    pub description: String,
    /// State.
    pub state: ElectionState,
    /// Proof-of-work difficulty in bits.
    pub difficulty_bits: u8,
    /// Approvals needed per block.
    pub quorum: u16,
    /// The ballot.
    pub candidates: Vec<CandidateInfo>,
    /// Registered voters.
    pub voters: i64,
    /// Enrolled validators' usernames.
    pub validators: Vec<String>,
    /// Votes accepted.
    pub votes: i64,
    /// Votes not yet on chain.
    pub pending_votes: i64,
    /// Blocks awaiting validators.
    pub awaiting_blocks: i64,
    /// Height of the chain (0 = genesis only); absent before sealing.
    pub height: Option<u64>,
    /// Hash of the last appended block.
    pub tip: Option<String>,
    /// Hash of the genesis block, the chain's identity.
    pub genesis_hash: Option<String>,
    /// When voting opened (ms since epoch).
    pub opened_at: Option<i64>,
    /// When voting closed (ms since epoch).
    pub closed_at: Option<i64>,
    /// Whether the stored chain passed re-verification at start.
    pub chain_verified: bool,
    /// What re-verification found, if anything.
    pub integrity_problem: Option<String>,
}

/// A voter to register.
#[derive(Debug, Clone, Deserialize)]
pub struct NewVoter {
    /// The voter's name (kept off the chain).
    pub name: String,
    /// The office's identifier for the voter, unique in the election.
    #[serde(default)]
    pub external_id: Option<String>,
}

/// A registered voter's new code, shown this once.
#[derive(Debug, Clone, Serialize)]
pub struct IssuedCode {
    /// Voter id.
    pub voter_id: i64,
    /// Name given.
    pub name: String,
    /// External id given.
    pub external_id: Option<String>,
    /// The voting code.
    pub code: String,
}

/// Most voters one request may register.
pub const MAX_VOTERS_PER_IMPORT: usize = 100_000;

fn clean_text(field: &str, value: &str, max: usize) -> Result<String> {
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
        let quorum = new.quorum.unwrap_or(2);
        if !(1..=100).contains(&quorum) {
            return Err(EngineError::Invalid(
                "quorum must be between 1 and 100".into(),
            ));
        }
        let id = sqlx::query(
            "INSERT INTO elections (title, description, difficulty_bits, quorum, created_at) VALUES (?, ?, ?, ?, ?)",
        )
        .bind(&title)
        .bind(&description)
        .bind(i64::from(difficulty))
        .bind(i64::from(quorum))
        .bind(now_ms() as i64)
        .execute(&self.inner.write)
        .await?
        .last_insert_rowid();
        tracing::info!(election = id, "election created");
        self.election(id).await
    }

    /// All elections, newest first.
    pub async fn list_elections(&self) -> Result<Vec<ElectionSummary>> {
        let rows = sqlx::query(
            "SELECT e.id, e.title, e.state,
                    (SELECT count(*) FROM voters v WHERE v.election_id = e.id) AS voters,
                    (SELECT count(*) FROM votes x WHERE x.election_id = e.id) AS votes
             FROM elections e ORDER BY e.id DESC",
        )
        .fetch_all(&self.inner.read)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(ElectionSummary {
                    id: r.try_get("id")?,
                    title: r.try_get("title")?,
                    state: ElectionState::parse(&r.try_get::<String, _>("state")?)?,
                    voters: r.try_get("voters")?,
                    votes: r.try_get("votes")?,
                })
            })
            .collect()
    }

    pub(crate) async fn state_of(&self, id: i64) -> Result<ElectionState> {
        let s: String = sqlx::query_scalar("SELECT state FROM elections WHERE id = ?")
            .bind(id)
            .fetch_optional(&self.inner.read)
            .await?
            .ok_or(EngineError::NotFound("election"))?;
        ElectionState::parse(&s)
    }

    async fn require_setup(&self, id: i64) -> Result<()> {
        match self.state_of(id).await? {
            ElectionState::Setup => Ok(()),
            _ => Err(EngineError::WrongState(
                "the election is sealed: its registry can no longer change".into(),
            )),
        }
    }

    /// One election with its ballot, counts and chain tip.
    pub async fn election(&self, id: i64) -> Result<ElectionDetail> {
        let row = sqlx::query(
            "SELECT id, title, description, state, difficulty_bits, quorum, opened_at, closed_at, genesis_hash,
                    (SELECT count(*) FROM voters v WHERE v.election_id = e.id) AS voters,
                    (SELECT count(*) FROM votes x WHERE x.election_id = e.id) AS votes,
                    (SELECT count(*) FROM votes x WHERE x.election_id = e.id AND x.block_hash IS NULL) AS pending,
                    (SELECT count(*) FROM blocks b WHERE b.election_id = e.id AND b.status = 'awaiting') AS awaiting
             FROM elections e WHERE id = ?",
        )
        .bind(id)
        .fetch_optional(&self.inner.read)
        .await?
        .ok_or(EngineError::NotFound("election"))?;
        let candidates = self.candidates(id).await?;
        let validators: Vec<String> = sqlx::query_scalar(
            "SELECT a.username FROM election_validators ev JOIN accounts a ON a.id = ev.account_id
             WHERE ev.election_id = ? ORDER BY a.username",
        )
        .bind(id)
        .fetch_all(&self.inner.read)
        .await?;
        let state = ElectionState::parse(&row.try_get::<String, _>("state")?)?;
        let chain = match state {
            ElectionState::Setup => None,
            _ => self.chain(id).await.ok(),
        };
        let problem = self.integrity_problem(ElectionId(id as u64));
        let genesis_hash: Option<Vec<u8>> = row.try_get("genesis_hash")?;
        Ok(ElectionDetail {
            id,
            title: row.try_get("title")?,
            description: row.try_get("description")?,
            state,
            difficulty_bits: row.try_get::<i64, _>("difficulty_bits")? as u8,
            quorum: row.try_get::<i64, _>("quorum")? as u16,
            candidates,
            voters: row.try_get("voters")?,
            validators,
            votes: row.try_get("votes")?,
            pending_votes: row.try_get("pending")?,
            awaiting_blocks: row.try_get("awaiting")?,
            height: chain.as_ref().map(|c| c.height()),
            tip: chain.as_ref().map(|c| c.tip().to_hex()),
            genesis_hash: genesis_hash.map(hex::encode),
            opened_at: row.try_get("opened_at")?,
            closed_at: row.try_get("closed_at")?,
            chain_verified: problem.is_none(),
            integrity_problem: problem,
        })
    }

    async fn candidates(&self, id: i64) -> Result<Vec<CandidateInfo>> {
        let rows = sqlx::query(
            "SELECT id, name, description FROM candidates WHERE election_id = ? ORDER BY id",
        )
        .bind(id)
        .fetch_all(&self.inner.read)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(CandidateInfo {
                    id: r.try_get("id")?,
                    name: r.try_get("name")?,
                    description: r.try_get("description")?,
                })
            })
            .collect()
    }

    /// Renames or redescribes a candidate of an election still in set-up.
    pub async fn update_candidate(
        &self,
        election: i64,
        candidate: i64,
        name: &str,
        description: &str,
    ) -> Result<CandidateInfo> {
        let (name, description) = clean_candidate(name, description)?;
        self.require_setup(election).await?;
        let done = sqlx::query(
            "UPDATE candidates SET name = ?, description = ? WHERE id = ? AND election_id = ?",
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
        Ok(CandidateInfo {
            id: candidate,
            name,
            description,
        })
    }

    /// Takes a candidate off the ballot of an election still in set-up.
    pub async fn remove_candidate(&self, election: i64, candidate: i64) -> Result<()> {
        self.require_setup(election).await?;
        let done = sqlx::query("DELETE FROM candidates WHERE id = ? AND election_id = ?")
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
        Ok(sqlx::query_scalar(
            "SELECT username FROM accounts WHERE role = 'validator' ORDER BY username",
        )
        .fetch_all(&self.inner.read)
        .await?)
    }

    /// Adds a candidate to an election still in set-up.
    pub async fn add_candidate(
        &self,
        election: i64,
        name: &str,
        description: &str,
    ) -> Result<CandidateInfo> {
        let (name, description) = clean_candidate(name, description)?;
        self.require_setup(election).await?;
        let id =
            sqlx::query("INSERT INTO candidates (election_id, name, description) VALUES (?, ?, ?)")
                .bind(election)
                .bind(&name)
                .bind(&description)
                .execute(&self.inner.write)
                .await
                .map_err(|e| {
                    EngineError::on_unique(
                        e,
                        format!("a candidate named {name:?} is already on the ballot"),
                    )
                })?
                .last_insert_rowid();
        Ok(CandidateInfo {
            id,
            name,
            description,
        })
    }

    /// Registers voters in one transaction: all of them or none. Each gets a fresh code.
    pub async fn register_voters(
        &self,
        election: i64,
        voters: Vec<NewVoter>,
    ) -> Result<Vec<IssuedCode>> {
        if voters.is_empty() {
            return Err(EngineError::Invalid("no voters given".into()));
        }
        if voters.len() > MAX_VOTERS_PER_IMPORT {
            return Err(EngineError::Invalid(format!(
                "at most {MAX_VOTERS_PER_IMPORT} voters per request"
            )));
        }
        let mut problems = Vec::new();
        let mut seen = HashSet::new();
        let mut clean = Vec::with_capacity(voters.len());
        for (i, v) in voters.into_iter().enumerate() {
            let name = v.name.trim().to_owned();
            let external = v
                .external_id
                .map(|x| x.trim().to_owned())
                .filter(|x| !x.is_empty());
            if name.is_empty() {
                problems.push(format!("voter {}: the name is empty", i + 1));
            } else if name.chars().count() > 200 {
                problems.push(format!(
                    "voter {}: the name is longer than 200 characters",
                    i + 1
                ));
            }
            if let Some(x) = &external {
                if !seen.insert(x.clone()) {
                    problems.push(format!("voter {}: external id {x:?} appears twice", i + 1));
                }
            }
            clean.push((name, external));
        }
        self.insert_voters(election, clean, problems, |i| format!("voter {}", i + 1))
            .await
    }

    /// Registers voters from CSV text with a header row naming `name` and optionally
    /// `external_id`. Any bad row is reported with its line number and nothing is stored.
    pub async fn import_voters_csv(
        &self,
        election: i64,
        csv_text: &str,
    ) -> Result<Vec<IssuedCode>> {
        let mut reader = csv::ReaderBuilder::new()
            .trim(csv::Trim::All)
            .flexible(false)
            .from_reader(csv_text.as_bytes());
        let headers = reader
            .headers()
            .map_err(|e| EngineError::Invalid(format!("cannot read the CSV header: {e}")))?
            .clone();
        let col = |name: &str| headers.iter().position(|h| h.eq_ignore_ascii_case(name));
        let name_col = col("name").ok_or_else(|| {
            EngineError::Invalid(
                "the CSV header must have a 'name' column (and optionally 'external_id')".into(),
            )
        })?;
        let ext_col = col("external_id");
        let mut problems = Vec::new();
        let mut rows = Vec::new();
        let mut lines = Vec::new();
        let mut seen = HashSet::new();
        for record in reader.records() {
            let record = match record {
                Ok(r) => r,
                Err(e) => {
                    let line = e.position().map_or(0, |p| p.line());
                    problems.push(format!("line {line}: {e}"));
                    continue;
                }
            };
            let line = record.position().map_or(0, |p| p.line());
            let name = record.get(name_col).unwrap_or("").to_owned();
            let external = ext_col
                .and_then(|c| record.get(c))
                .map(str::to_owned)
                .filter(|x| !x.is_empty());
            if name.is_empty() {
                problems.push(format!("line {line}: the name is empty"));
            } else if name.chars().count() > 200 {
                problems.push(format!(
                    "line {line}: the name is longer than 200 characters"
                ));
            }
            if let Some(x) = &external {
                if !seen.insert(x.clone()) {
                    problems.push(format!(
                        "line {line}: external id {x:?} appears twice in the file"
                    ));
                }
            }
            rows.push((name, external));
            lines.push(line);
        }
        if rows.is_empty() && problems.is_empty() {
            return Err(EngineError::Invalid("the CSV has no voter rows".into()));
        }
        if rows.len() > MAX_VOTERS_PER_IMPORT {
            return Err(EngineError::Invalid(format!(
                "at most {MAX_VOTERS_PER_IMPORT} voters per import"
            )));
        }
        self.insert_voters(election, rows, problems, |i| format!("line {}", lines[i]))
            .await
    }

    async fn insert_voters(
        &self,
        election: i64,
        rows: Vec<(String, Option<String>)>,
        mut problems: Vec<String>,
        label: impl Fn(usize) -> String,
    ) -> Result<Vec<IssuedCode>> {
        self.require_setup(election).await?;
        let taken: HashSet<String> = sqlx::query_scalar(
            "SELECT external_id FROM voters WHERE election_id = ? AND external_id IS NOT NULL",
        )
        .bind(election)
        .fetch_all(&self.inner.read)
        .await?
        .into_iter()
        .collect();
        for (i, (_, ext)) in rows.iter().enumerate() {
            if let Some(x) = ext {
                if taken.contains(x) {
                    problems.push(format!(
                        "{}: external id {x:?} is already registered",
                        label(i)
                    ));
                }
            }
        }
        if !problems.is_empty() {
            return Err(EngineError::BadRows(problems));
        }
        let eid = ElectionId(election as u64);
        let issued = tokio::task::spawn_blocking(move || {
            let mut rng = rand::rngs::OsRng;
            rows.into_iter()
                .map(|(name, ext)| {
                    let mut bytes = [0u8; ledger::code::CODE_BYTES];
                    rng.fill_bytes(&mut bytes);
                    let code = VotingCode::from_entropy(bytes);
                    (name, ext, code.public_key(eid), code.to_string())
                })
                .collect::<Vec<_>>()
        })
        .await
        .map_err(|e| EngineError::Internal(e.to_string()))?;
        let mut tx = self.inner.write.begin().await?;
        let mut out = Vec::with_capacity(issued.len());
        for (name, external_id, key, code) in issued {
            let voter_id = sqlx::query("INSERT INTO voters (election_id, name, external_id, public_key) VALUES (?, ?, ?, ?)")
                .bind(election)
                .bind(&name)
                .bind(&external_id)
                .bind(key.0.as_slice())
                .execute(&mut *tx)
                .await
                .map_err(|e| EngineError::on_unique(e, "a voter with this external id is already registered"))?
                .last_insert_rowid();
            out.push(IssuedCode {
                voter_id,
                name,
                external_id,
                code,
            });
        }
        // Re-check inside the write transaction: the election may have been sealed meanwhile.
        let state: String = sqlx::query_scalar("SELECT state FROM elections WHERE id = ?")
            .bind(election)
            .fetch_one(&mut *tx)
            .await?;
        if state != "setup" {
            return Err(EngineError::WrongState(
                "the election was sealed during the import".into(),
            ));
        }
        tx.commit().await?;
        tracing::info!(election, count = out.len(), "voters registered");
        Ok(out)
    }

    /// Enrols a validator account in an election still in set-up.
    pub async fn enrol_validator(&self, election: i64, username: &str) -> Result<()> {
        self.require_setup(election).await?;
        let account: Option<(i64, String)> =
            sqlx::query_as("SELECT id, role FROM accounts WHERE username = ?")
                .bind(username.trim())
                .fetch_optional(&self.inner.read)
                .await?;
        let (id, role) = account.ok_or(EngineError::NotFound("validator account"))?;
        if role != "validator" {
            return Err(EngineError::Invalid(format!(
                "{username:?} is not a validator account"
            )));
        }
        sqlx::query("INSERT INTO election_validators (election_id, account_id) VALUES (?, ?)")
            .bind(election)
            .bind(id)
            .execute(&self.inner.write)
            .await
            .map_err(|e| EngineError::on_unique(e, format!("{username:?} is already enrolled")))?;
        Ok(())
    }

    /// Seals the genesis block (ballot, voter keys, validator keys, rules) and opens voting.
    pub async fn open_election(&self, election: i64) -> Result<ElectionDetail> {
        self.require_setup(election).await?;
        let (title, difficulty, quorum): (String, i64, i64) =
            sqlx::query_as("SELECT title, difficulty_bits, quorum FROM elections WHERE id = ?")
                .bind(election)
                .fetch_one(&self.inner.read)
                .await?;
        let candidates: Vec<Candidate> = self
            .candidates(election)
            .await?
            .into_iter()
            .map(|c| Candidate {
                id: CandidateId(c.id as u32),
                name: c.name,
                description: c.description,
            })
            .collect();
        if candidates.len() < 2 {
            return Err(EngineError::WrongState(
                "a ballot needs at least two candidates".into(),
            ));
        }
        let keys = |sql: &'static str| async move {
            let blobs: Vec<Vec<u8>> = sqlx::query_scalar(sql)
                .bind(election)
                .fetch_all(&self.inner.read)
                .await?;
            let mut keys: Vec<PublicKey> = blobs
                .iter()
                .filter_map(|b| PublicKey::from_slice(b))
                .collect();
            keys.sort();
            Ok::<_, EngineError>(keys)
        };
        let voters = keys("SELECT public_key FROM voters WHERE election_id = ?").await?;
        let validators = keys(
            "SELECT a.public_key FROM election_validators ev JOIN accounts a ON a.id = ev.account_id WHERE ev.election_id = ?",
        )
        .await?;
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
        let opened_at = now_ms();
        let genesis = Genesis {
            version: ledger::FORMAT_VERSION,
            election: ElectionId(election as u64),
            title,
            candidates,
            voters,
            validators,
            quorum: quorum as u16,
            difficulty: difficulty as u8,
            opened_at,
        };
        let hash = genesis.hash();
        let done = sqlx::query(
            "UPDATE elections SET state = 'open', opened_at = ?, genesis = ?, genesis_hash = ? WHERE id = ? AND state = 'setup'",
        )
        .bind(opened_at as i64)
        .bind(genesis.encode())
        .bind(hash.0.as_slice())
        .bind(election)
        .execute(&self.inner.write)
        .await?;
        if done.rows_affected() != 1 {
            return Err(EngineError::WrongState(
                "the election was opened concurrently".into(),
            ));
        }
        self.set_chain(
            genesis.election,
            ChainSlot::Verified(Arc::new(ChainState::new(genesis))),
        );
        tracing::info!(election, genesis = %hash, "genesis sealed, voting open");
        self.election(election).await
    }

    /// Closes voting. Votes already accepted can still be mined and approved.
    pub async fn close_election(&self, election: i64) -> Result<ElectionDetail> {
        let done = sqlx::query(
            "UPDATE elections SET state = 'closed', closed_at = ? WHERE id = ? AND state = 'open'",
        )
        .bind(now_ms() as i64)
        .bind(election)
        .execute(&self.inner.write)
        .await?;
        if done.rows_affected() != 1 {
            self.state_of(election).await?;
            return Err(EngineError::WrongState(
                "only an open election can be closed".into(),
            ));
        }
        tracing::info!(election, "voting closed");
        self.election(election).await
    }

    /// Whether a validator account is enrolled in an election.
    pub async fn is_enrolled(&self, election: i64, account: i64) -> Result<bool> {
        let n: i64 = sqlx::query_scalar(
            "SELECT count(*) FROM election_validators WHERE election_id = ? AND account_id = ?",
        )
        .bind(election)
        .bind(account)
        .fetch_one(&self.inner.read)
        .await?;
        Ok(n > 0)
    }
}
