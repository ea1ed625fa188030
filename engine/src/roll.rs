//! The voter roll: voters registered by the public keys of codes made off the server (in
//! the officer's browser or by `ballotchain codes`), the roll's count and hash, and the
//! corrections an officer may make before sealing. The server never sees a code here.

use crate::elections::voter_name_problem;
use crate::{EngineError, Node, Result, MAX_VOTERS_PER_IMPORT};
use ledger::{ChainState, ElectionId, PublicKey};
use std::collections::{HashMap, HashSet};
use wire::cells::from_spreadsheet;
use wire::{ElectionState, NewVoter, RegisteredVoter, Registration, Roll, VoterId};

/// Voters inserted by one statement: 4 values each, well under SQLite's and PostgreSQL's
/// limits on parameters per statement.
const VOTERS_PER_INSERT: usize = 500;

/// A row to register, as read from a request or a keys file.
struct Row {
    name: String,
    external_id: Option<String>,
    public_key: PublicKey,
}

/// Whether 32 bytes are an Ed25519 public key (a point on the curve), as a voter's must be.
fn is_a_key(key: &PublicKey) -> bool {
    ed25519_dalek::VerifyingKey::from_bytes(&key.0).is_ok()
}

impl Node {
    /// Registers voters by their keys in one transaction: all of them or none.
    pub async fn register_voters(
        &self,
        election: ElectionId,
        voters: Vec<NewVoter>,
    ) -> Result<Registration> {
        if voters.is_empty() {
            return Err(EngineError::Invalid("no voters given".into()));
        }
        if voters.len() > MAX_VOTERS_PER_IMPORT {
            return Err(EngineError::Invalid(format!(
                "at most {MAX_VOTERS_PER_IMPORT} voters per request"
            )));
        }
        let rows = voters
            .into_iter()
            .map(|v| Row {
                name: v.name.trim().to_owned(),
                external_id: v
                    .external_id
                    .map(|x| x.trim().to_owned())
                    .filter(|x| !x.is_empty()),
                public_key: v.public_key,
            })
            .collect();
        self.insert_voters(election, rows, Vec::new(), |i| format!("voter {}", i + 1))
            .await
    }

    /// Registers voters from a keys file: CSV with a header row naming `name`,
    /// `public_key` (64 hex digits) and optionally `external_id`, as `ballotchain codes
    /// --keys` writes it. Any bad row is reported with its line number and nothing is stored.
    pub async fn import_voter_keys(
        &self,
        election: ElectionId,
        csv_text: &str,
    ) -> Result<Registration> {
        let mut reader = csv::ReaderBuilder::new()
            .trim(csv::Trim::All)
            .flexible(false)
            .from_reader(csv_text.as_bytes());
        let headers = reader
            .headers()
            .map_err(|e| EngineError::Invalid(format!("cannot read the CSV header: {e}")))?
            .clone();
        let col = |name: &str| headers.iter().position(|h| h.eq_ignore_ascii_case(name));
        if col("code").is_some() {
            return Err(EngineError::Invalid(
                "this is a codes sheet, not a keys file: it holds the voters' codes, which have now reached the server, so make new codes for these voters and upload the keys file".into(),
            ));
        }
        let (Some(name_col), Some(key_col)) = (col("name"), col("public_key")) else {
            return Err(EngineError::Invalid(
                "the keys file's header must name 'name' and 'public_key' (and optionally 'external_id'); make it with `ballotchain codes` or the roll page".into(),
            ));
        };
        let ext_col = col("external_id");
        // `ballotchain codes` names the election its keys were made for: a code's key
        // depends on it, so keys made for another election could never vote here.
        let election_col = col("election");
        let mut problems = Vec::new();
        let mut rows = Vec::new();
        let mut lines = Vec::new();
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
            if let Some(made_for) = election_col.and_then(|c| record.get(c)) {
                if made_for != election.to_string() {
                    problems.push(format!(
                        "line {line}: these keys were made for election {made_for}, not election {election}"
                    ));
                    continue;
                }
            }
            let key_text = record.get(key_col).unwrap_or("");
            let Ok(public_key) = key_text.parse::<PublicKey>() else {
                problems.push(format!("line {line}: the public key is not 64 hex digits"));
                continue;
            };
            // Cells come back as they were before formulas were neutralised.
            rows.push(Row {
                name: from_spreadsheet(record.get(name_col).unwrap_or("")).to_owned(),
                external_id: ext_col
                    .and_then(|c| record.get(c))
                    .map(|x| from_spreadsheet(x).to_owned())
                    .filter(|x| !x.is_empty()),
                public_key,
            });
            lines.push(line);
        }
        if rows.is_empty() && problems.is_empty() {
            return Err(EngineError::Invalid(
                "the keys file has no voter rows".into(),
            ));
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
        election: ElectionId,
        rows: Vec<Row>,
        mut problems: Vec<String>,
        label: impl Fn(usize) -> String,
    ) -> Result<Registration> {
        self.require_setup(election).await?;
        let mut tx = self.inner.write.begin().await?;
        let state: ElectionState = sqlx::query_scalar("SELECT state FROM elections WHERE id = $1")
            .bind(election)
            .fetch_one(&mut *tx)
            .await?;
        if state != ElectionState::Setup {
            return Err(EngineError::WrongState(
                "the roll is sealed in the genesis block".into(),
            ));
        }
        let registered: Vec<(Option<String>, PublicKey)> =
            sqlx::query_as("SELECT external_id, public_key FROM voters WHERE election_id = $1")
                .bind(election)
                .fetch_all(&mut *tx)
                .await?;
        let mut externals: HashSet<String> =
            registered.iter().filter_map(|(x, _)| x.clone()).collect();
        let mut keys: HashSet<PublicKey> = registered.iter().map(|(_, k)| *k).collect();
        let (old_externals, old_keys) = (externals.clone(), keys.clone());
        for (i, row) in rows.iter().enumerate() {
            let at = label(i);
            if let Some(problem) = voter_name_problem(&row.name) {
                problems.push(format!("{at}: {problem}"));
            }
            if let Some(x) = &row.external_id {
                if old_externals.contains(x) {
                    problems.push(format!("{at}: external id {x:?} is already registered"));
                } else if !externals.insert(x.clone()) {
                    problems.push(format!("{at}: external id {x:?} appears twice"));
                }
            }
            if !is_a_key(&row.public_key) {
                problems.push(format!("{at}: the public key is not an Ed25519 key"));
            } else if old_keys.contains(&row.public_key) {
                problems.push(format!("{at}: this key is already registered"));
            } else if !keys.insert(row.public_key) {
                problems.push(format!("{at}: this key appears twice"));
            }
        }
        if !problems.is_empty() {
            // In the order of the file: "line 3: …" before "line 10: …".
            let at = |p: &String| {
                p.split(|c: char| !c.is_ascii_digit())
                    .find(|n| !n.is_empty())
                    .and_then(|n| n.parse::<u64>().ok())
                    .unwrap_or(0)
            };
            problems.sort_by_key(at);
            return Err(EngineError::BadRows(problems));
        }
        // Many rows per statement: a hundred thousand voters are a few hundred round
        // trips, not a hundred thousand.
        let mut ids: HashMap<PublicKey, i64> = HashMap::with_capacity(rows.len());
        for chunk in rows.chunks(VOTERS_PER_INSERT) {
            let values: Vec<String> = (0..chunk.len())
                .map(|i| {
                    let n = 4 * i;
                    format!("(${}, ${}, ${}, ${})", n + 1, n + 2, n + 3, n + 4)
                })
                .collect();
            let sql = format!(
                "INSERT INTO voters (election_id, name, external_id, public_key) VALUES {} RETURNING id, public_key",
                values.join(", ")
            );
            let mut insert = sqlx::query_as::<_, (i64, PublicKey)>(&sql);
            for row in chunk {
                insert = insert
                    .bind(election)
                    .bind(&row.name)
                    .bind(&row.external_id)
                    .bind(row.public_key);
            }
            let inserted = insert.fetch_all(&mut *tx).await.map_err(|e| {
                EngineError::on_unique(
                    e,
                    "a voter with this key or external id is already registered",
                )
            })?;
            ids.extend(inserted.into_iter().map(|(id, key)| (key, id)));
        }
        let mut out = Vec::with_capacity(rows.len());
        for row in rows {
            let id = ids.get(&row.public_key).copied().ok_or_else(|| {
                EngineError::Internal("a registered voter's id was not returned".into())
            })?;
            out.push(RegisteredVoter {
                voter_id: VoterId(id),
                name: row.name,
                external_id: row.external_id,
                public_key: row.public_key,
            });
        }
        let all: Vec<PublicKey> = keys.into_iter().collect();
        tx.commit().await?;
        tracing::info!(
            election = election.0,
            count = out.len(),
            "voters registered"
        );
        Ok(Registration {
            voters: out,
            roll: Roll::of(&all),
        })
    }

    /// The roll: the genesis block's registry once sealed, the registered keys before.
    pub(crate) async fn roll_of(
        &self,
        election: ElectionId,
        sealed: Option<&ChainState>,
    ) -> Result<Roll> {
        if let Some(chain) = sealed {
            let mut rolls = self
                .inner
                .rolls
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            let roll = rolls
                .entry(election)
                .or_insert_with(|| Roll::of(&chain.genesis().voters));
            return Ok(roll.clone());
        }
        // Read as bytes: a stored key altered to another size still shows as a count, and
        // the page loads (sealing refuses such a key by name).
        let stored: Vec<Vec<u8>> =
            sqlx::query_scalar("SELECT public_key FROM voters WHERE election_id = $1")
                .bind(election)
                .fetch_all(&self.inner.read)
                .await?;
        let keys: Vec<PublicKey> = stored
            .iter()
            .filter_map(|k| <[u8; 32]>::try_from(k.as_slice()).ok().map(PublicKey))
            .collect();
        if keys.len() != stored.len() {
            tracing::error!(election = election.0, "a stored voter key does not decode");
            return Ok(Roll {
                voters: stored.len() as u64,
                hash: None,
            });
        }
        Ok(Roll::of(&keys))
    }

    /// The registered voters, in registration order (the office's list).
    pub async fn voters(&self, election: ElectionId) -> Result<Vec<RegisteredVoter>> {
        Ok(sqlx::query_as(
            "SELECT id, name, external_id, public_key FROM voters WHERE election_id = $1 ORDER BY id",
        )
        .bind(election)
        .fetch_all(&self.inner.read)
        .await?)
    }

    /// The voter of this election with this id, with the election still in set-up.
    async fn correctable(
        &self,
        tx: &mut sqlx::AnyConnection,
        election: ElectionId,
        voter: VoterId,
    ) -> Result<RegisteredVoter> {
        let state: ElectionState = sqlx::query_scalar("SELECT state FROM elections WHERE id = $1")
            .bind(election)
            .fetch_optional(&mut *tx)
            .await?
            .ok_or(EngineError::NotFound("election"))?;
        if state != ElectionState::Setup {
            return Err(EngineError::WrongState(
                "the roll is sealed in the genesis block; it can no longer change".into(),
            ));
        }
        sqlx::query_as(
            "SELECT id, name, external_id, public_key FROM voters WHERE id = $1 AND election_id = $2",
        )
        .bind(voter)
        .bind(election)
        .fetch_optional(&mut *tx)
        .await?
        .ok_or(EngineError::NotFound("voter"))
    }

    /// Takes a voter off the roll before sealing.
    pub async fn remove_voter(&self, election: ElectionId, voter: VoterId) -> Result<Roll> {
        let mut tx = self.inner.write.begin().await?;
        self.correctable(&mut tx, election, voter).await?;
        sqlx::query("DELETE FROM voters WHERE id = $1")
            .bind(voter)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        tracing::info!(
            election = election.0,
            voter = voter.0,
            "voter removed from the roll"
        );
        self.roll_of(election, None).await
    }

    /// Gives a voter who lost their code the key of a new one, before sealing; the old
    /// code stops counting.
    pub async fn replace_voter_key(
        &self,
        election: ElectionId,
        voter: VoterId,
        key: PublicKey,
    ) -> Result<RegisteredVoter> {
        if !is_a_key(&key) {
            return Err(EngineError::Invalid(
                "the public key is not an Ed25519 key".into(),
            ));
        }
        let mut tx = self.inner.write.begin().await?;
        let mut registered = self.correctable(&mut tx, election, voter).await?;
        sqlx::query("UPDATE voters SET public_key = $1 WHERE id = $2")
            .bind(key)
            .bind(voter)
            .execute(&mut *tx)
            .await
            .map_err(|e| EngineError::on_unique(e, "this key is already registered"))?;
        tx.commit().await?;
        tracing::info!(
            election = election.0,
            voter = voter.0,
            "voter's key replaced"
        );
        registered.public_key = key;
        Ok(registered)
    }
}
