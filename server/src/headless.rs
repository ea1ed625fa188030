//! `ballotchain validate`: a validator that runs on its own machine, with its own copy of
//! the chain in a local SQLite file. The chain is verified from its genesis block once,
//! then block by block as it grows; every awaiting block is checked here with `ledger`,
//! and an approval, or a rejection naming the broken rule, is signed here; every decision
//! is recorded in the state file. Every block of its copy (so every head it approved, once
//! appended) must stay in the server's chain: when one is gone, it says so and stops with
//! exit code 2.
//!
//! Exit codes: 0 done (one pass; with `--watch` it runs until stopped); 1 it could not run
//! (server unreachable, key file or passphrase wrong, key not in the genesis block, a
//! state file of another election); 2 the server's chain no longer holds what this
//! validator holds, or does not verify. Lines that need a person start with
//! [`ATTENTION`].

use crate::cli::ValidateArgs;
use crate::client::{Api, ApiError};
use ledger::{
    replay, validate_block, Approval, ApprovedBlock, BlockHash, ChainExport, ChainState, Genesis,
    PublicKey, Rejection,
};
use sqlx::sqlite::{SqliteConnectOptions, SqlitePool};
use std::collections::HashSet;
use std::time::Duration;
use wire::{BlockStatus, BlockSummary, ErrorCode};

/// The start of every line that needs a person.
pub const ATTENTION: &str = "ATTENTION:";

/// The server's chain no longer holds what this validator holds, or does not verify:
/// exit code 2.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct ChainBroken(pub String);

type Failure = Box<dyn std::error::Error>;

/// The validator between passes: its key, its verified chain and its state file.
struct Validator {
    election: u64,
    key: ed25519_dalek::SigningKey,
    public: PublicKey,
    state: SqlitePool,
    /// Every call with timeouts: a stalled server fails the pass instead of hanging it.
    api: Api,
    chain: Option<ChainState>,
    /// The genesis block the first copy must start at, when published.
    genesis: Option<BlockHash>,
    /// Blocks decided on already (from the state file).
    decided: HashSet<BlockHash>,
}

pub async fn run(args: ValidateArgs) -> Result<(), Failure> {
    let passphrase = passphrase(&args)?;
    let (_, key) = crate::key::open_with(&args.key, &passphrase)?;
    let public = PublicKey(key.verifying_key().to_bytes());
    let state_path = args
        .state
        .clone()
        .unwrap_or_else(|| format!("ballotchain-validator-{}.db", args.election).into());
    let mut validator = Validator {
        election: args.election,
        key,
        public,
        state: open_state(&state_path).await?,
        api: Api::new(args.server.base()),
        chain: None,
        genesis: args.genesis,
        decided: HashSet::new(),
    };
    validator.load().await?;
    loop {
        match validator.pass().await {
            Ok(()) => {}
            Err(e) if e.is::<ChainBroken>() => {
                println!("{ATTENTION} {e}");
                return Err(e);
            }
            Err(e) => {
                let text = e.to_string();
                if text.contains("chain_integrity") {
                    println!("{ATTENTION} the server refuses its own chain: {text}");
                }
                if !(args.watch && validator.chain.is_some()) {
                    return Err(e);
                }
                println!("could not finish this pass ({text}); trying again");
            }
        }
        if !args.watch {
            return Ok(());
        }
        tokio::time::sleep(Duration::from_secs(args.interval)).await;
    }
}

/// From `--passphrase-file`, else `BALLOTCHAIN_PASSPHRASE` (weaker: other processes of
/// the same user may read a process's environment), else typed at a prompt.
fn passphrase(args: &ValidateArgs) -> Result<String, Failure> {
    match (
        &args.passphrase_file,
        std::env::var("BALLOTCHAIN_PASSPHRASE"),
    ) {
        (None, Ok(value)) => Ok(value),
        (file, _) => crate::key::passphrase(file.as_deref(), false),
    }
}

async fn open_state(path: &std::path::Path) -> Result<SqlitePool, Failure> {
    let options = SqliteConnectOptions::new()
        .filename(path)
        .create_if_missing(true);
    let pool = SqlitePool::connect_with(options)
        .await
        .map_err(|e| format!("cannot open the state file {}: {e}", path.display()))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))?;
    }
    sqlx::raw_sql(
        "CREATE TABLE IF NOT EXISTS chain (
             height INTEGER PRIMARY KEY,
             hash   TEXT NOT NULL,
             body   TEXT NOT NULL
         );
         CREATE TABLE IF NOT EXISTS decisions (
             hash       TEXT PRIMARY KEY,
             height     INTEGER NOT NULL,
             approve    INTEGER NOT NULL,
             reason     TEXT,
             decided_at INTEGER NOT NULL,
             -- The server answered that this approval appended the block: a head
             -- approved here, which must stay in the chain.
             appended   INTEGER NOT NULL DEFAULT 0
         );",
    )
    .execute(&pool)
    .await?;
    Ok(pool)
}

impl Validator {
    fn id(&self) -> ledger::ElectionId {
        ledger::ElectionId(self.election)
    }

    /// The copy in the state file, replayed (it was verified when it was stored), and
    /// the blocks decided on.
    async fn load(&mut self) -> Result<(), Failure> {
        let rows: Vec<(i64, String, String)> =
            sqlx::query_as("SELECT height, hash, body FROM chain ORDER BY height")
                .fetch_all(&self.state)
                .await?;
        if let Some(((_, _, genesis), blocks)) = rows.split_first() {
            let genesis: Genesis = serde_json::from_str(genesis)?;
            if genesis.election.0 != self.election {
                return Err(format!(
                    "the state file holds election {}, not {}: give another --state",
                    genesis.election.0, self.election
                )
                .into());
            }
            let export = ChainExport {
                genesis_hash: genesis.hash(),
                genesis,
                blocks: blocks
                    .iter()
                    .map(|(_, _, body)| serde_json::from_str::<ApprovedBlock>(body))
                    .collect::<Result<_, _>>()?,
                result: None,
            };
            let chain = replay(&export)
                .map_err(|e| format!("the state file's chain does not verify: {e}"))?;
            println!(
                "this validator's copy: {} blocks, head {}",
                chain.height(),
                chain.tip()
            );
            self.chain = Some(chain);
        }
        let decided: Vec<String> = sqlx::query_scalar("SELECT hash FROM decisions")
            .fetch_all(&self.state)
            .await?;
        self.decided = decided.iter().filter_map(|h| h.parse().ok()).collect();
        Ok(())
    }

    /// One pass: the served chain against this copy, new blocks verified and stored,
    /// then a decision on each awaiting block not decided yet. The whole export is
    /// fetched once, for the first copy; then only the blocks from this copy's head on.
    async fn pass(&mut self) -> Result<(), Failure> {
        if self.chain.is_none() {
            let export: ChainExport = self.api.export(self.id())?;
            self.start(&export).await?;
        } else {
            self.follow().await?;
        }
        self.decide().await
    }

    /// The first copy: the whole chain verified from its genesis block and stored.
    async fn start(&mut self, export: &ChainExport) -> Result<(), Failure> {
        if let Some(genesis) = self.genesis {
            if export.genesis_hash != genesis {
                return Err(ChainBroken(format!(
                    "the served chain starts at genesis block {}, not at {genesis}, the one given",
                    export.genesis_hash
                ))
                .into());
            }
        }
        let chain = replay(export)
            .map_err(|e| ChainBroken(format!("the served chain does not verify: {e}")))?;
        if !chain.is_validator(&self.public) {
            return Err(format!(
                "the genesis block of election {} does not list this key ({})",
                self.election,
                wire::fingerprint(&self.public)
            )
            .into());
        }
        let mut tx = self.state.begin().await?;
        store(
            &mut tx,
            0,
            &export.genesis_hash,
            &serde_json::to_string(&export.genesis)?,
        )
        .await?;
        for approved in &export.blocks {
            store_block(&mut tx, approved).await?;
        }
        tx.commit().await?;
        println!(
            "chain verified from its genesis block {}: {} blocks, head {}",
            export.genesis_hash,
            chain.height(),
            chain.tip()
        );
        self.chain = Some(chain);
        Ok(())
    }

    /// Follows the served chain from this copy's head ([`ledger::follow`]): it must still
    /// hold that head and every block this validator's approval appended, then the blocks
    /// after the head are verified and stored.
    async fn follow(&mut self) -> Result<(), Failure> {
        let Some(height) = self.chain.as_ref().map(ChainState::height) else {
            return Ok(());
        };
        let head = self.api.head(self.id())?;
        let mut served: Vec<ApprovedBlock> = Vec::new();
        let mut since = height;
        while since < head.height {
            let page = self.api.chain_since(self.id(), since)?;
            let Some(last) = page.last() else { break };
            since = last.block.header.index;
            served.extend(page);
        }
        // Heads this validator's approval appended: those in the copy were checked as
        // they arrived, but the copy is checked again here against its own file.
        let heads: Vec<(i64, String)> =
            sqlx::query_as("SELECT height, hash FROM decisions WHERE appended = 1")
                .fetch_all(&self.state)
                .await?;
        let mut pins = Vec::new();
        for (h, hash) in heads {
            let (h, hash) = (h as u64, hash.parse::<BlockHash>()?);
            if h > height {
                pins.push((h, hash));
                continue;
            }
            let held: Option<String> =
                sqlx::query_scalar("SELECT hash FROM chain WHERE height = ?")
                    .bind(h as i64)
                    .fetch_optional(&self.state)
                    .await?;
            if held.as_deref() != Some(hash.to_string().as_str()) {
                return Err(ChainBroken(format!(
                    "this validator approved block {h} ({hash}) and saw it appended, but its own copy holds {}",
                    held.as_deref().unwrap_or("nothing there")
                ))
                .into());
            }
        }
        let Some(chain) = &mut self.chain else {
            return Ok(());
        };
        let next = ledger::follow(
            chain,
            (head.height, head.hash),
            &served,
            &pins,
            ledger::Signatures::Here,
        )
        .map_err(|e| ChainBroken(e.to_string()))?;
        // The copy in memory moves on only once the state file holds the new blocks.
        let mut tx = self.state.begin().await?;
        for approved in &served {
            store_block(&mut tx, approved).await?;
            let block = &approved.block;
            println!("block {} verified: {}", block.header.index, block.hash());
        }
        tx.commit().await?;
        *chain = next;
        Ok(())
    }

    /// Checks each awaiting block not decided yet against this copy's head: approves the
    /// fullest that passes every rule at the next height, and rejects, naming the rule,
    /// each that breaks one.
    async fn decide(&mut self) -> Result<(), Failure> {
        let Some(chain) = &self.chain else {
            return Ok(());
        };
        let mut awaiting = self.api.awaiting(self.id())?;
        awaiting.retain(|b| b.index == chain.height() + 1 && !self.decided.contains(&b.hash));
        awaiting.sort_by_key(|b| std::cmp::Reverse(b.votes));
        // One approval per height, ever: approving rivals would hand an operator
        // signatures for a chain other than the one appended.
        let approved_here: Option<i64> =
            sqlx::query_scalar("SELECT 1 FROM decisions WHERE approve = 1 AND height = ?")
                .bind(chain.height() as i64 + 1)
                .fetch_optional(&self.state)
                .await?;
        let mut approved_one = approved_here.is_some();
        for summary in awaiting {
            let hash = summary.hash;
            let block = self.api.block(self.id(), hash)?;
            let verdict = if block.hash() != hash {
                Err(format!(
                    "the server sent block {} for {hash} [wrong_block]",
                    block.hash()
                ))
            } else {
                validate_block(chain, &block).map_err(|e| format!("{e} [{}]", e.code()))
            };
            match verdict {
                Ok(()) if approved_one => continue,
                Ok(()) => {
                    let approval = Approval::sign(&self.key, hash);
                    let sent = self.api.approve(self.id(), hash, &approval);
                    approved_one = true;
                    record(
                        &self.state,
                        &mut self.decided,
                        hash,
                        summary.index,
                        true,
                        None,
                        sent,
                    )
                    .await?;
                }
                Err(reason) => {
                    let rejection = Rejection::sign(&self.key, hash, &reason);
                    let sent = self.api.reject(self.id(), hash, &rejection);
                    println!(
                        "{ATTENTION} block {} ({hash}) breaks a rule: {reason}; rejection signed",
                        summary.index
                    );
                    record(
                        &self.state,
                        &mut self.decided,
                        hash,
                        summary.index,
                        false,
                        Some(reason),
                        sent,
                    )
                    .await?;
                }
            }
        }
        Ok(())
    }
}

/// Notes a decision sent (or refused because it was taken already) in the state file.
#[allow(clippy::too_many_arguments)]
async fn record(
    state: &SqlitePool,
    decided: &mut HashSet<BlockHash>,
    hash: BlockHash,
    height: u64,
    approve: bool,
    reason: Option<String>,
    sent: Result<BlockSummary, ApiError>,
) -> Result<(), Failure> {
    let what = if approve { "approved" } else { "rejected" };
    let mut appended = false;
    match sent {
        Ok(summary) => {
            println!(
                "block {height} ({hash}) {what}: now {} ({} approval(s), {} rejection(s))",
                summary.status.label(),
                summary.approvals,
                summary.rejections
            );
            appended = summary.status == BlockStatus::Appended;
        }
        Err(e) => {
            let code = match &e {
                ApiError::Refused { code, .. } => Some(*code),
                _ => None,
            };
            if code == Some(ErrorCode::ChainIntegrity) {
                println!("{ATTENTION} block {height} ({hash}) not {what}: the server refuses its own chain: {e}");
                return Ok(());
            }
            println!("block {height} ({hash}) not {what}: {e}");
            // Decided already, or no longer awaiting: nothing more to do for it.
            let settled = matches!(
                code,
                Some(ErrorCode::Duplicate | ErrorCode::WrongState | ErrorCode::Stale)
            );
            if !settled {
                return Ok(());
            }
        }
    }
    sqlx::query(
        "INSERT OR REPLACE INTO decisions (hash, height, approve, reason, decided_at, appended)
         VALUES (?, ?, ?, ?, ?, ?)",
    )
    .bind(hash.to_string())
    .bind(height as i64)
    .bind(approve)
    .bind(reason)
    .bind(engine::now_ms() as i64)
    .bind(appended)
    .execute(state)
    .await?;
    decided.insert(hash);
    Ok(())
}

/// Keeps an appended block, with its approvals, in the state file.
async fn store_block(
    tx: &mut sqlx::SqliteConnection,
    approved: &ApprovedBlock,
) -> Result<(), Failure> {
    let block = &approved.block;
    store(
        tx,
        block.header.index,
        &block.hash(),
        &serde_json::to_string(approved)?,
    )
    .await
}

async fn store(
    tx: &mut sqlx::SqliteConnection,
    height: u64,
    hash: &BlockHash,
    body: &str,
) -> Result<(), Failure> {
    sqlx::query("INSERT OR REPLACE INTO chain (height, hash, body) VALUES (?, ?, ?)")
        .bind(height as i64)
        .bind(hash.to_string())
        .bind(body)
        .execute(&mut *tx)
        .await?;
    Ok(())
}
