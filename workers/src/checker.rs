//! The validator's own copy of the chain, in their browser.
//!
//! The copy (the chain state at its head, the block hashes and the blocks this browser
//! saw its own approval append) is kept in IndexedDB. The first visit starts it at the
//! genesis block; every visit then fetches only the blocks after the copy's head, a page
//! at a time, and follows them ([`ledger::follow`]): the served chain must still hold that
//! head and every pinned block, or the page raises the alarm and nothing is approved here.
//! The votes' signatures of each page are checked on a signatures worker per spare core
//! (and here) while the pages arrive. Each awaiting block is then checked against the
//! copy's head with `ledger::validate_block`, its votes' signatures and ballot proofs
//! spread the same way. The copy keeps the running encrypted sums the trustees decrypt.

use crate::signatures::{SignatureAnswer, SignatureCheck, SignatureWorker};
use crate::Job;
use gloo_worker::{HandlerId, Worker, WorkerScope};
use ledger::{ApprovedBlock, Block, BlockHash, ChainState, ElectionId, PublicKey};
use serde::{Deserialize, Serialize};
use std::collections::HashSet;
use std::rc::Rc;

/// Blocks asked for in one `/chain?since=` page (the server gives at most 100): small
/// enough that the pages spread over the signatures workers as they arrive.
pub const PAGE: u64 = 10;

/// Pages asked for ahead of the one being read.
pub const IN_FLIGHT: usize = 4;

/// Most signatures workers one check spawns.
pub const MAX_HELPERS: usize = 3;

/// What the dashboard asks.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub enum CheckRequest {
    /// Brings this browser's copy of the election's chain to the served head, then checks
    /// each of these awaiting blocks against it.
    Check {
        election: ElectionId,
        blocks: Vec<BlockHash>,
    },
    /// This browser's approval appended this block: the served chain must keep it.
    Pin {
        election: ElectionId,
        height: u64,
        hash: BlockHash,
    },
    /// Forgets this browser's copy: the next check starts again from the genesis block.
    Forget { election: ElectionId },
}

/// Where this browser's copy stands after a check.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CopyReport {
    /// The genesis block the copy starts at.
    pub genesis: BlockHash,
    /// The copy's head.
    pub height: u64,
    pub tip: BlockHash,
    /// Whether this check started the copy (from the whole export).
    pub started: bool,
    /// Blocks fetched and verified in this check.
    pub fetched: u64,
    /// Milliseconds this check took in the worker: in all, and reading the kept copy,
    /// fetching the pages (with this worker's share of the signatures, checked while the
    /// next pages come), verifying the rest, and keeping the copy (IndexedDB, with its
    /// encoding).
    pub millis: u64,
    pub timings: Timings,
    /// The validators the genesis block lists.
    pub validators: Vec<PublicKey>,
    /// The trustees the genesis block seals (their keys, the threshold, the election key).
    pub trustees: ledger::genesis::Trustees,
    /// The ballots on the copy and their encrypted sums per candidate, recomputed here
    /// from the verified blocks: what a trustee decrypts its share of.
    pub turnout: u64,
    pub sums: ledger::secret::EncryptedSums,
    /// The served chain does not extend this copy: why (a rollback, a rewrite, or a
    /// served block that does not verify). Nothing may be approved from this browser.
    pub alarm: Option<String>,
}

/// Where a check's time went, in milliseconds.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Timings {
    pub load: u64,
    pub fetch: u64,
    pub verify: u64,
    pub store: u64,
}

/// Milliseconds since `from` (on the worker's clock), added to `into`.
fn lap(into: &mut u64, from: &mut f64) {
    let now = crate::now_ms();
    *into += (now - *from).max(0.0) as u64;
    *from = now;
}

/// What the checker answers.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub enum CheckAnswer {
    /// The copy, and a verdict per awaiting block, in the order asked.
    Checked {
        copy: Box<CopyReport>,
        verdicts: Vec<Result<String, String>>,
    },
    /// The pin is kept.
    Pinned,
    /// The copy is forgotten.
    Forgotten,
    /// The check could not run (server unreachable, storage refused, a chain that does not
    /// verify from its genesis block).
    Failed(String),
}

/// Why a check gave no copy: what the pages match on.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CheckError {
    /// The check could not run (server unreachable, storage refused, a chain that does
    /// not verify from its genesis block).
    #[error("{0}")]
    Failed(String),
    /// The worker is gone, or answered out of turn (an older copy of its bundle).
    #[error("{0}")]
    Worker(String),
}

/// A check's outcome: the copy, and a verdict per awaiting block in the order asked (the
/// rule it breaks, or what it passed).
#[derive(Debug, Clone, PartialEq)]
pub struct Checked {
    pub copy: CopyReport,
    pub verdicts: Vec<Result<String, String>>,
}

async fn call(request: CheckRequest) -> Result<CheckAnswer, CheckError> {
    match crate::ask::<CheckWorker>(request).await {
        Ok(CheckAnswer::Failed(e)) => Err(CheckError::Failed(e)),
        Ok(answer) => Ok(answer),
        Err(e) => Err(CheckError::Worker(e)),
    }
}

fn out_of_turn() -> CheckError {
    CheckError::Worker(
        "the checker answered another request (an older copy of it?): reload the page".into(),
    )
}

/// Brings this browser's copy of `election`'s chain to the served head, then checks each
/// of these awaiting blocks against it.
pub async fn check(election: ElectionId, blocks: Vec<BlockHash>) -> Result<Checked, CheckError> {
    match call(CheckRequest::Check { election, blocks }).await? {
        CheckAnswer::Checked { copy, verdicts } => Ok(Checked {
            copy: *copy,
            verdicts,
        }),
        _ => Err(out_of_turn()),
    }
}

/// This browser's approval appended block `hash` at `height`: the served chain must keep
/// it.
pub async fn pin(election: ElectionId, height: u64, hash: BlockHash) -> Result<(), CheckError> {
    match call(CheckRequest::Pin {
        election,
        height,
        hash,
    })
    .await?
    {
        CheckAnswer::Pinned => Ok(()),
        _ => Err(out_of_turn()),
    }
}

/// Forgets this browser's copy of `election`'s chain.
pub async fn forget(election: ElectionId) -> Result<(), CheckError> {
    match call(CheckRequest::Forget { election }).await? {
        CheckAnswer::Forgotten => Ok(()),
        _ => Err(out_of_turn()),
    }
}

/// This browser's copy of one election's chain, as kept in IndexedDB.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Copy {
    pub chain: ChainState,
    /// Hashes of the blocks from height 1 on.
    pub hashes: Vec<BlockHash>,
    /// Blocks this browser's approval appended (height, hash).
    pub pins: Vec<(u64, BlockHash)>,
}

impl Copy {
    /// The hash of the block at `height` in this copy (0: the genesis block).
    pub fn hash_at(&self, height: u64) -> Option<BlockHash> {
        match height {
            0 => Some(self.chain.genesis_hash()),
            h => self.hashes.get(usize::try_from(h - 1).ok()?).copied(),
        }
    }

    /// Follows the served chain: `head` as the server states it, `served` the blocks after
    /// this copy's head.
    pub fn follow(
        &mut self,
        head: (u64, BlockHash),
        served: &[ApprovedBlock],
        signatures: ledger::Signatures,
    ) -> Result<(), ledger::FollowError> {
        self.chain = ledger::follow(&self.chain, head, served, &self.pins, signatures)?;
        self.hashes.extend(served.iter().map(|b| b.block.hash()));
        Ok(())
    }

    /// Keeps a block this browser's approval appended. One at or below the head must be
    /// the copy's own block there.
    pub fn pin(&mut self, height: u64, hash: BlockHash) -> Result<(), String> {
        if height <= self.chain.height() && self.hash_at(height) != Some(hash) {
            return Err(format!(
                "the server says block {hash} was appended at height {height}, but this browser verified {} there",
                self.hash_at(height).map_or("nothing".into(), |h| h.to_string())
            ));
        }
        if !self.pins.contains(&(height, hash)) {
            self.pins.push((height, hash));
        }
        Ok(())
    }
}

/// The verdict on one awaiting block against the copy's head.
pub fn verdict(
    chain: &ChainState,
    asked: &BlockHash,
    block: &Block,
    votes_verified: bool,
) -> Result<String, String> {
    if block.hash() != *asked {
        return Err(format!(
            "the server sent a block whose hash is {}, not {asked}",
            block.hash()
        ));
    }
    let verified: HashSet<BlockHash> = votes_verified.then_some(*asked).into_iter().collect();
    let signatures = if votes_verified {
        ledger::Signatures::VerifiedFor(&verified)
    } else {
        ledger::Signatures::Here
    };
    ledger::validate_block_with(chain, block, signatures)
        .map_err(|e| format!("{e} [{}]", e.code()))?;
    let n = block.votes.len();
    Ok(format!(
        "every rule holds: {n} vote{} with valid signatures, eligible and not voted before; proof of work {} zero bits (≥ {}); parent is the tip at height {} of this browser's own copy",
        if n == 1 { "" } else { "s" },
        ledger::leading_zero_bits(&block.hash().0),
        block.header.difficulty,
        chain.height(),
    ))
}

/// The votes' signatures and ballot proofs of an awaiting block, a share of them on each
/// signatures worker and one here: true when every share holds (then the block's check
/// relies on it). Any share failing, or a worker gone, leaves all of them to the block's
/// own check, which names the vote at fault.
async fn spread_votes(chain: &ChainState, block: &Block, helpers: usize) -> bool {
    let genesis = chain.genesis();
    let share = block.votes.len().div_ceil(helpers + 1).max(1);
    let mut shares = block.votes.chunks(share);
    let mine = shares.next().unwrap_or_default();
    let asked: Vec<_> = shares
        .enumerate()
        .map(|(slot, votes)| {
            crate::ask_on::<SignatureWorker>(
                slot,
                SignatureCheck::Votes(crate::signatures::VotesCheck {
                    election_key: genesis.trustees.election_key,
                    candidates: genesis.candidates.len() as u32,
                    votes: votes.to_vec(),
                }),
            )
        })
        .collect();
    let mut all = ledger::votes_verify(
        &genesis.trustees.election_key,
        genesis.candidates.len(),
        mine,
    );
    for answer in asked {
        all &= matches!(answer.await, Ok(SignatureAnswer::Votes(true)));
    }
    all
}

/// The checker worker: one request at a time (a check, a pin or a forget), so the copy
/// in IndexedDB is never written by two at once.
pub struct CheckWorker {
    turn: Rc<futures::lock::Mutex<()>>,
}

impl Job for CheckWorker {
    type Request = CheckRequest;
    type Answer = CheckAnswer;
    type Codec = crate::Json;
    const BUNDLE: &'static str = "checker";
}

impl Worker for CheckWorker {
    type Message = ();
    type Input = (u32, CheckRequest);
    type Output = (u32, CheckAnswer);

    fn create(_: &WorkerScope<Self>) -> Self {
        Self {
            turn: Rc::default(),
        }
    }

    fn update(&mut self, _: &WorkerScope<Self>, _: ()) {}

    fn received(&mut self, scope: &WorkerScope<Self>, (id, request): Self::Input, who: HandlerId) {
        let scope = scope.clone();
        let turn = Rc::clone(&self.turn);
        wasm_bindgen_futures::spawn_local(async move {
            let _turn = turn.lock().await;
            let answer = browser::answer(request)
                .await
                .unwrap_or_else(CheckAnswer::Failed);
            scope.respond(who, (id, answer));
        });
    }
}

/// The parts that need a browser: fetch and IndexedDB.
mod browser {
    use super::*;
    use idb::{Database, DatabaseEvent, Factory, ObjectStoreParams, TransactionMode};
    use js_sys::Uint8Array;
    use serde::de::DeserializeOwned;
    use wasm_bindgen::{JsCast, JsValue};
    use wasm_bindgen_futures::JsFuture;

    const DB: &str = "ballotchain";
    const STORE: &str = "copies";

    pub async fn answer(request: CheckRequest) -> Result<CheckAnswer, String> {
        let db = open().await?;
        match request {
            CheckRequest::Check { election, blocks } => check(&db, election, &blocks).await,
            CheckRequest::Pin {
                election,
                height,
                hash,
            } => {
                let Some(mut copy) = load(&db, election).await? else {
                    // No copy yet: the first check verifies the whole chain, this block
                    // included.
                    return Ok(CheckAnswer::Pinned);
                };
                copy.pin(height, hash)?;
                save(&db, election, &copy).await?;
                Ok(CheckAnswer::Pinned)
            }
            CheckRequest::Forget { election } => {
                let tx = db
                    .transaction(&[STORE], TransactionMode::ReadWrite)
                    .map_err(storage)?;
                let store = tx.object_store(STORE).map_err(storage)?;
                store
                    .delete(key(election))
                    .map_err(storage)?
                    .await
                    .map_err(storage)?;
                tx.commit().map_err(storage)?.await.map_err(storage)?;
                Ok(CheckAnswer::Forgotten)
            }
        }
    }

    async fn check(
        db: &Database,
        election: ElectionId,
        blocks: &[BlockHash],
    ) -> Result<CheckAnswer, String> {
        let started_at = crate::now_ms();
        let mut t = Timings::default();
        let mut at = started_at;
        let kept = load(db, election).await?;
        lap(&mut t.load, &mut at);
        let (mut copy, started) = match kept {
            Some(copy) => (copy, false),
            None => {
                let bytes = get_bytes(&wire::paths::genesis(election)).await?;
                let genesis = ledger::Genesis::decode(&bytes)
                    .map_err(|e| format!("the server's genesis block: {e}"))?;
                genesis
                    .check_rules()
                    .map_err(|e| format!("the genesis block breaks a rule: {e}"))?;
                let copy = Copy {
                    chain: ChainState::new(genesis),
                    hashes: Vec::new(),
                    pins: Vec::new(),
                };
                (copy, true)
            }
        };
        let head: wire::Head = get(&wire::paths::head(election)).await?;
        // The blocks after the copy's head, a page at a time, [`IN_FLIGHT`] pages asked
        // ahead. Each page's signatures go to a signatures worker as it arrives, but every
        // (helpers + 1)th page's, which this worker checks while the next pages come.
        let helpers = helpers();
        let starts: Vec<u64> = (copy.chain.height()..head.height)
            .step_by(PAGE as usize)
            .collect();
        let page_url = |since: u64| wire::paths::chain_since(election, since, Some(PAGE));
        let mut coming: std::collections::VecDeque<_> = starts
            .iter()
            .take(IN_FLIGHT)
            .map(|&since| get_bytes_now(&page_url(since)))
            .collect();
        let mut served: Vec<ApprovedBlock> = Vec::new();
        let mut asked = Vec::new();
        let mut verified: HashSet<BlockHash> = HashSet::new();
        for (n, &since) in starts.iter().enumerate() {
            let Some(next) = coming.pop_front() else {
                break;
            };
            if let Some(&later) = starts.get(n + IN_FLIGHT) {
                coming.push_back(get_bytes_now(&page_url(later)));
            }
            let bytes = next.await?;
            let page = ledger::decode_blocks(&bytes, PAGE as u32)
                .map_err(|e| format!("the server's blocks after {since}: {e}"))?;
            if page.is_empty() {
                break;
            }
            let slot = n % (helpers + 1);
            let genesis = copy.chain.genesis();
            if slot < helpers {
                let check = crate::signatures::PageCheck {
                    election_key: genesis.trustees.election_key,
                    candidates: genesis.candidates.len() as u32,
                    page: bytes,
                };
                asked.push(crate::ask_on::<SignatureWorker>(
                    slot,
                    SignatureCheck::Page(check),
                ));
            } else {
                verified.extend(ledger::verified_blocks(
                    &genesis.trustees.election_key,
                    genesis.candidates.len(),
                    page.iter().map(|b| &b.block),
                ));
            }
            served.extend(page);
        }
        lap(&mut t.fetch, &mut at);
        // A worker that failed leaves its blocks to be verified here.
        for answer in asked {
            if let Ok(SignatureAnswer::Page(hashes)) = answer.await {
                verified.extend(hashes);
            }
        }
        let followed = copy.follow(
            (head.height, head.hash),
            &served,
            ledger::Signatures::VerifiedFor(&verified),
        );
        lap(&mut t.verify, &mut at);
        let alarm = match followed {
            Ok(()) => {
                if !served.is_empty() || started {
                    save(db, election, &copy).await?;
                    lap(&mut t.store, &mut at);
                }
                None
            }
            Err(e) => Some(e.to_string()),
        };
        let fetched = served.len() as u64;
        let mut verdicts = Vec::new();
        for hash in blocks {
            verdicts.push(if alarm.is_some() {
                Err("this browser's copy of the chain is not extended by the served chain".into())
            } else {
                match get::<Block>(&wire::paths::block_raw(election, hash)).await {
                    Ok(block) => {
                        let at = crate::now_ms();
                        let spread = spread_votes(&copy.chain, &block, helpers).await;
                        verdict(&copy.chain, hash, &block, spread).map(|said| {
                            format!(
                                "{said} (checked in this browser in {} ms)",
                                (crate::now_ms() - at).max(0.0) as u64
                            )
                        })
                    }
                    Err(e) => Err(e),
                }
            });
        }
        Ok(CheckAnswer::Checked {
            copy: Box::new(CopyReport {
                genesis: copy.chain.genesis_hash(),
                height: copy.chain.height(),
                tip: copy.chain.tip(),
                started,
                fetched,
                millis: (crate::now_ms() - started_at).max(0.0) as u64,
                timings: t,
                validators: copy.chain.genesis().validators.clone(),
                trustees: copy.chain.genesis().trustees.clone(),
                turnout: copy.chain.tally().total,
                sums: copy.chain.tally().sums.clone(),
                alarm,
            }),
            verdicts,
        })
    }

    fn storage(e: idb::Error) -> String {
        format!("this browser's storage refused: {e}")
    }

    fn key(election: ElectionId) -> JsValue {
        JsValue::from_str(&election.to_string())
    }

    async fn open() -> Result<Database, String> {
        let factory = Factory::new().map_err(storage)?;
        let mut request = factory.open(DB, Some(1)).map_err(storage)?;
        request.on_upgrade_needed(|event| {
            if let Ok(db) = event.database() {
                if !db.store_names().iter().any(|s| s == STORE) {
                    let _ = db.create_object_store(STORE, ObjectStoreParams::new());
                }
            }
        });
        request.await.map_err(storage)
    }

    async fn load(db: &Database, election: ElectionId) -> Result<Option<Copy>, String> {
        let tx = db
            .transaction(&[STORE], TransactionMode::ReadOnly)
            .map_err(storage)?;
        let store = tx.object_store(STORE).map_err(storage)?;
        let Some(value) = store
            .get(key(election))
            .map_err(storage)?
            .await
            .map_err(storage)?
        else {
            return Ok(None);
        };
        let bytes = Uint8Array::new(&value).to_vec();
        // A copy this code cannot read (an older format) is started again.
        Ok(bincode::deserialize(&bytes).ok())
    }

    async fn save(db: &Database, election: ElectionId, copy: &Copy) -> Result<(), String> {
        let bytes = bincode::serialize(copy).map_err(|e| e.to_string())?;
        let tx = db
            .transaction(&[STORE], TransactionMode::ReadWrite)
            .map_err(storage)?;
        let store = tx.object_store(STORE).map_err(storage)?;
        store
            .put(
                &Uint8Array::from(bytes.as_slice()).into(),
                Some(&key(election)),
            )
            .map_err(storage)?
            .await
            .map_err(storage)?;
        tx.commit().map_err(storage)?.await.map_err(storage)?;
        Ok(())
    }

    /// Signatures workers to spawn: one per core but this worker's, at most
    /// [`MAX_HELPERS`], at least one.
    fn helpers() -> usize {
        let cores = js_sys::Reflect::get(&js_sys::global(), &JsValue::from_str("navigator"))
            .and_then(|n| js_sys::Reflect::get(&n, &JsValue::from_str("hardwareConcurrency")))
            .ok()
            .and_then(|c| c.as_f64())
            .unwrap_or(2.0) as usize;
        cores.saturating_sub(1).clamp(1, MAX_HELPERS)
    }

    fn read<T: DeserializeOwned>(text: &str, path: &str) -> Result<T, String> {
        serde_json::from_str(text).map_err(|e| format!("the server's answer for {path}: {e}"))
    }

    /// GETs JSON from this site; a refusal is the server's own message.
    async fn get<T: DeserializeOwned>(path: &str) -> Result<T, String> {
        read(&get_text(path).await?, path)
    }

    /// GETs the compact encoding from this site; a refusal is the server's own message.
    async fn get_bytes(path: &str) -> Result<Vec<u8>, String> {
        get_bytes_now(path).await
    }

    /// [`get_bytes`], the request sent now (not when the future is first awaited).
    fn get_bytes_now(path: &str) -> impl std::future::Future<Output = Result<Vec<u8>, String>> {
        let path = path.to_owned();
        let unreachable = |path: &str| format!("the server could not be reached ({path})");
        let global: web_sys::WorkerGlobalScope = js_sys::global().unchecked_into();
        let init = web_sys::RequestInit::new();
        let sent = web_sys::Headers::new()
            .and_then(|h| h.set("accept", "application/octet-stream").map(|()| h))
            .map(|headers| {
                init.set_headers(&headers);
                JsFuture::from(global.fetch_with_str_and_init(&path, &init))
            });
        async move {
            let response: web_sys::Response = sent
                .map_err(|_| unreachable(&path))?
                .await
                .map_err(|_| unreachable(&path))?
                .unchecked_into();
            if !response.ok() {
                return Err(refusal(&response, &path).await);
            }
            let buffer = JsFuture::from(response.array_buffer().map_err(|_| unreachable(&path))?)
                .await
                .map_err(|_| unreachable(&path))?;
            Ok(Uint8Array::new(&buffer).to_vec())
        }
    }

    /// The server's own words for a refusal.
    async fn refusal(response: &web_sys::Response, path: &str) -> String {
        let text = match response.text() {
            Ok(p) => JsFuture::from(p).await.ok().and_then(|t| t.as_string()),
            Err(_) => None,
        };
        match text.and_then(|t| serde_json::from_str::<wire::ErrorBody>(&t).ok()) {
            Some(body) => body.message,
            None => format!("the server answered {} for {path}", response.status()),
        }
    }

    /// GETs text from this site; a refusal is the server's own message.
    async fn get_text(path: &str) -> Result<String, String> {
        let unreachable = |_| format!("the server could not be reached ({path})");
        let global: web_sys::WorkerGlobalScope = js_sys::global().unchecked_into();
        let response: web_sys::Response = JsFuture::from(global.fetch_with_str(path))
            .await
            .map_err(unreachable)?
            .unchecked_into();
        if !response.ok() {
            return Err(refusal(&response, path).await);
        }
        JsFuture::from(response.text().map_err(unreachable)?)
            .await
            .map_err(unreachable)?
            .as_string()
            .ok_or_else(|| format!("the server's answer for {path} is not text"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_pin_below_the_head_must_be_the_copys_own_block() {
        let trustee = ed25519_dalek::SigningKey::from_bytes(&[7; 32]);
        let (board, _) = ledger::ceremony::run_all(
            ElectionId(1),
            1,
            std::slice::from_ref(&trustee),
            1,
            &mut rand::rngs::OsRng,
        )
        .unwrap();
        let identity = ledger::PublicKey(trustee.verifying_key().to_bytes());
        let trustees =
            ledger::Trustees::from_ceremony(ElectionId(1), 1, 1, &[identity], &board).unwrap();
        let genesis: ledger::Genesis = serde_json::from_value(serde_json::json!({
            "version": ledger::GENESIS_VERSION, "election": 1, "title": "T",
            "candidates": [{"id": 1, "name": "A", "description": ""}],
            "voters": [], "validators": [], "quorum": 2, "difficulty": 1, "opened_at": 0,
            "trustees": trustees,
        }))
        .unwrap();
        let mut copy = Copy {
            chain: ChainState::new(genesis),
            hashes: Vec::new(),
            pins: Vec::new(),
        };
        let genesis_hash = copy.chain.genesis_hash();
        assert!(copy.pin(0, genesis_hash).is_ok());
        assert!(copy.pin(0, BlockHash([1; 32])).is_err());
        // Above the head: kept, for the served chain to keep.
        assert!(copy.pin(2, BlockHash([1; 32])).is_ok());
        assert!(copy.pin(2, BlockHash([1; 32])).is_ok());
        assert_eq!(copy.pins.len(), 2);
        let bytes = bincode::serialize(&copy).unwrap();
        let back: Copy = bincode::deserialize(&bytes).unwrap();
        assert_eq!(back.pins, copy.pins);
        assert_eq!(back.chain.tip(), genesis_hash);
    }
}
