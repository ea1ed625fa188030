//! The ballotchain node: the state behind the web server, on SQLite or PostgreSQL.
//!
//! It keeps accounts, elections and their registries, the pending pool of votes, the
//! blocks miners submit and the validators' decisions, and appends a block once a quorum
//! of validators has approved it. It speaks no HTTP; the server crate does. What it returns
//! is the `wire` crate's vocabulary; the chain rules it applies are `ledger`'s.

mod accounts;
mod blocks;
mod count;
mod decisions;
mod elections;
mod error;
mod integrity;
mod invitations;
mod live;
mod roll;
mod store;
mod sync;
mod trustees;
mod votes;

pub use accounts::MIN_PASSWORD;
pub use blocks::{ExportPart, MAX_AWAITING_PER_HEIGHT, MAX_AWAITING_PER_SENDER};
pub use elections::{MAX_CANDIDATES, MAX_VOTERS_PER_IMPORT};
pub use error::EngineError;
pub use integrity::{IntegrityReport, StartupCheck, ROWS_PER_CHECK};
pub use invitations::INVITATION_HOURS;
pub use store::{tables, Location};
pub use trustees::MAX_TRUSTEES;

use ledger::{ChainState, ElectionId};
use sqlx::AnyPool;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

/// Result type of the engine.
pub type Result<T, E = EngineError> = std::result::Result<T, E>;

/// An election's appended chain as validation sees it, or why it could not be trusted.
#[derive(Clone)]
enum ChainSlot {
    Verified(Arc<ChainState>),
    Tampered(String),
    /// Written in an earlier format, which this version does not read.
    OldFormat(String),
}

/// Awaiting blocks' checks by block hash, each with the tip it was checked on.
type ChecksCache = HashMap<ledger::BlockHash, (ledger::BlockHash, Arc<Vec<ledger::Check>>)>;

/// A mining template, with the tip and pool generation it was made for.
type Template = (ledger::BlockHash, u64, Arc<wire::WorkTemplate>);

/// The node. Cheap to clone; clones share the database and the in-memory chains.
#[derive(Clone)]
pub struct Node {
    inner: Arc<Inner>,
}

struct Inner {
    /// Readers: on SQLite any number, concurrent with the writer thanks to WAL.
    read: AnyPool,
    /// On SQLite the single writer connection: SQLite allows one writer, and queueing
    /// here avoids SQLITE_BUSY on lock upgrades. On PostgreSQL the same pool as `read`.
    write: AnyPool,
    /// The appended chain of every sealed election, kept for validation.
    chains: Mutex<HashMap<ElectionId, ChainSlot>>,
    /// The sealed rolls' count and hash (a sealed roll never changes).
    rolls: Mutex<HashMap<ElectionId, wire::Roll>>,
    /// Every rule's check of an awaiting block, against the tip it was run on: a
    /// dashboard showing many blocks runs each block's checks once per tip.
    checks: Mutex<ChecksCache>,
    /// Per election, bumped whenever a vote joins its pending pool: with the tip, it
    /// says when a mining template may have changed.
    pool_generation: Mutex<HashMap<ElectionId, u64>>,
    /// The last mining template of each election, with the tip and pool generation it
    /// was made for.
    templates: Mutex<HashMap<ElectionId, Template>>,
    /// Serialises decisions so the tip moves one block at a time.
    append_lock: tokio::sync::Mutex<()>,
    votes: votes::VoteWriter,
    /// True once the start-up check of the stored chains has ended.
    checked: tokio::sync::watch::Sender<bool>,
    /// Where the periodic check of each election's vote rows stands.
    rotation: Mutex<HashMap<ElectionId, integrity::Rotation>>,
    /// Older votes' rows each periodic check re-reads.
    rows_per_check: std::sync::atomic::AtomicU64,
    /// The verdict on each election's full ceremony board, against the digest of what it
    /// checked: a public read costs a check only when the board changed.
    boards: Mutex<HashMap<ElectionId, trustees::BoardVerdict>>,
    /// Full ceremony checks run for the board (see [`Node::board_checks`]).
    board_checks: std::sync::atomic::AtomicU64,
    /// Per election, the digest of the count's rows (final head, shares, result) as last
    /// verified in full: the periodic check redoes the proof work only when they changed.
    counts_verified: Mutex<HashMap<ElectionId, [u8; 32]>>,
    /// On PostgreSQL, the task that hears other instances' events.
    listener: Option<tokio::task::AbortHandle>,
    /// What changes, for the pages that follow an election live.
    live: live::Live,
}

impl Drop for Inner {
    fn drop(&mut self) {
        if let Some(listener) = &self.listener {
            listener.abort();
        }
    }
}

impl Node {
    /// Opens (creating a SQLite file if needed) the database at `location`, applies
    /// migrations and re-verifies every stored chain. The report lists anything found
    /// altered.
    pub async fn open(location: impl Into<Location>) -> Result<(Self, IntegrityReport)> {
        Self::open_with(location, StartupCheck::Recorded).await
    }

    /// [`Node::open`], checking the ballots' proofs as `how` says.
    pub async fn open_with(
        location: impl Into<Location>,
        how: StartupCheck,
    ) -> Result<(Self, IntegrityReport)> {
        let node = Self::open_unchecked(location).await?;
        let report = node.check_at_start(how).await?;
        Ok((node, report))
    }

    /// Opens the database and applies migrations, leaving the check of the stored chains
    /// to [`Node::check_at_start`]: until it has verified a chain, that chain's writes
    /// wait (the server starts listening meanwhile and serves reads).
    pub async fn open_unchecked(location: impl Into<Location>) -> Result<Self> {
        let store::Pools {
            read,
            write,
            events,
        } = store::connect(&location.into()).await?;
        let votes = votes::VoteWriter::start(write.clone());
        let node = Self {
            inner: Arc::new_cyclic(|weak| Inner {
                read,
                write,
                chains: Mutex::new(HashMap::new()),
                rolls: Mutex::new(HashMap::new()),
                checks: Mutex::new(HashMap::new()),
                pool_generation: Mutex::new(HashMap::new()),
                templates: Mutex::new(HashMap::new()),
                append_lock: tokio::sync::Mutex::new(()),
                votes,
                checked: tokio::sync::watch::Sender::new(false),
                rotation: Mutex::new(HashMap::new()),
                rows_per_check: std::sync::atomic::AtomicU64::new(integrity::ROWS_PER_CHECK),
                boards: Mutex::new(HashMap::new()),
                board_checks: std::sync::atomic::AtomicU64::new(0),
                live: live::Live::new(),
                counts_verified: Mutex::new(HashMap::new()),
                listener: events.map(|url| sync::listen(url, weak.clone())),
            }),
        };
        Ok(node)
    }

    /// Whether the start-up check has ended.
    pub fn is_checked(&self) -> bool {
        *self.inner.checked.borrow()
    }

    /// How many requests wait for the start-up check to reach their chain (a write to a
    /// chain not verified yet waits; a test waits for this to see one waiting).
    pub fn waiting_for_check(&self) -> usize {
        self.inner.checked.receiver_count()
    }

    /// The pool for reads.
    pub fn pool(&self) -> &AnyPool {
        &self.inner.read
    }

    /// The writer pool (on PostgreSQL the same as [`Node::pool`]).
    pub fn write_pool(&self) -> &AnyPool {
        &self.inner.write
    }

    /// The sealed chain of an election: `NotFound` when there is no such election,
    /// `WrongState` while it is in set-up, `Integrity` when its stored chain failed
    /// re-verification. Sealed chains are in memory; only a miss reads the database.
    async fn chain(&self, id: ElectionId) -> Result<Arc<ChainState>> {
        let mut slot = self.chains().get(&id).cloned();
        if slot.is_none() && !self.is_checked() {
            // Not verified yet: wait for the start-up check (it ends even when it fails).
            let mut checked = self.inner.checked.subscribe();
            let _ = checked.wait_for(|done| *done).await;
            slot = self.chains().get(&id).cloned();
        }
        match slot {
            Some(ChainSlot::Verified(c)) => Ok(c),
            Some(ChainSlot::Tampered(why)) => Err(EngineError::Integrity(why)),
            Some(ChainSlot::OldFormat(why)) => Err(EngineError::OldFormat(why)),
            None => {
                if self.state_of(id).await? == wire::ElectionState::Setup {
                    return Err(EngineError::WrongState(
                        "the election is not open: its genesis block is not sealed yet".into(),
                    ));
                }
                // Sealed by another instance since this one checked the stored chains.
                Box::pin(self.load_chain(id)).await
            }
        }
    }

    fn chains(&self) -> std::sync::MutexGuard<'_, HashMap<ElectionId, ChainSlot>> {
        // A panic while the map was held cannot leave it half-written (inserts and reads
        // only), so a poisoned lock is still safe to use.
        self.inner
            .chains
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// The pool generation of an election (see `Inner::pool_generation`).
    fn pool_generation(&self, id: ElectionId) -> u64 {
        let generations = self
            .inner
            .pool_generation
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        generations.get(&id).copied().unwrap_or(0)
    }

    /// A vote joined the pool of `id` (here, or on another instance).
    fn pool_grew(&self, id: ElectionId) {
        {
            let mut generations = self
                .inner
                .pool_generation
                .lock()
                .unwrap_or_else(|p| p.into_inner());
            *generations.entry(id).or_insert(0) += 1;
        }
        self.inner.live.publish(id, wire::Change::Pool);
    }

    /// Keeps `slot` as the chain of `id`; a verified chain with another head than before
    /// (a block appended here or by another instance, or voting opened) is said to the
    /// pages that follow the election.
    fn set_chain(&self, id: ElectionId, slot: ChainSlot) {
        let head = match &slot {
            ChainSlot::Verified(chain) => Some((chain.height(), chain.tip())),
            _ => None,
        };
        let before = self.chains().insert(id, slot);
        let moved = match (&before, head) {
            (Some(ChainSlot::Verified(old)), Some((_, tip))) => old.tip() != tip,
            (_, head) => head.is_some(),
        };
        if let (true, Some((height, hash))) = (moved, head) {
            self.inner
                .live
                .publish(id, wire::Change::Head { height, hash });
        }
    }

    fn integrity_problem(&self, id: ElectionId) -> Option<String> {
        match self.chains().get(&id) {
            Some(ChainSlot::Tampered(why)) => Some(why.clone()),
            _ => None,
        }
    }

    /// The chain verified in memory, without waiting for the start-up check: for reads
    /// that show what is known now.
    fn chain_now(&self, id: ElectionId) -> Option<Arc<ChainState>> {
        match self.chains().get(&id) {
            Some(ChainSlot::Verified(c)) => Some(c.clone()),
            _ => None,
        }
    }

    /// Where the check of a sealed election's stored chain stands.
    fn chain_check(&self, id: ElectionId) -> (wire::ChainCheck, Option<String>) {
        match self.chains().get(&id) {
            Some(ChainSlot::Verified(_)) => (wire::ChainCheck::Verified, None),
            Some(ChainSlot::Tampered(why)) => (wire::ChainCheck::Altered, Some(why.clone())),
            Some(ChainSlot::OldFormat(why)) => (wire::ChainCheck::OldFormat, Some(why.clone())),
            None => (wire::ChainCheck::Checking, None),
        }
    }
}

/// Milliseconds since the Unix epoch.
pub fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

/// A height, id or time read from the database, which stores it as a signed integer.
fn stored_u64(what: &str, value: i64) -> Result<u64> {
    u64::try_from(value)
        .map_err(|_| EngineError::Internal(format!("stored {what} {value} is negative")))
}

/// A time to store.
fn db_time(ms: u64) -> i64 {
    i64::try_from(ms).unwrap_or(i64::MAX)
}
