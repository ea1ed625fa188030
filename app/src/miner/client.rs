//! The browser side of the miner page: the worker pool, template polling and submission.

use super::{Fate, FoundBlock, MinerUi, WorkerLine, MAX_WORKERS};
use gloo_net::http::{Request, Response};
use gloo_timers::callback::{Interval, Timeout};
use ledger::block::MinerTag;
use ledger::{Block, BlockHash, BlockHeader, ElectionId};
use leptos::prelude::*;
use leptos::task::spawn_local;
use miner::driver::nonce_range;
use miner::gloo_worker::{Spawnable, WorkerBridge};
use miner::{FromMiner, MinerWorker, ToMiner};
use std::cell::RefCell;
use std::rc::{Rc, Weak};
use wire::WorkTemplate as Work;
use wire::{BlockDetail, BlockStatus, ElectionDetail, ErrorBody, ErrorCode, SubmitOutcome};

/// How often the page asks whether the template changed.
const POLL_MS: u32 = 1000;
/// Speed test: warm-up, then the measured window.
const SPEED_WARMUP_MS: u32 = 1000;
const SPEED_WINDOW_MS: u32 = 5000;

/// What a poll of the template found.
enum Fetched {
    Unchanged,
    New(Box<Work>, String),
    Refused(ErrorBody),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    Idle,
    Mining,
    SpeedTest,
}

struct State {
    election: ElectionId,
    /// Voting has closed: once the pool is empty nothing more will come.
    closed: bool,
    worker_url: String,
    ui: MinerUi,
    mode: Mode,
    bridges: Vec<WorkerBridge<MinerWorker>>,
    /// Number of the template the workers are on; replies for another are ignored.
    job: u64,
    /// The template being mined and its entity tag.
    work: Option<(Work, String)>,
    /// The header handed to the workers (with the volunteer's tag).
    header: Option<BlockHeader>,
    /// A block was found on the current template: wait until the template changes.
    waiting: bool,
    poll: Option<Interval>,
    polling: bool,
    /// When the last poll started (ms, page clock).
    last_poll: f64,
    /// The server said there is nothing to mine: watch the pool's size (a plain 200)
    /// instead of asking for work and being refused every second.
    idle: bool,
    timers: Vec<Timeout>,
    /// Hashes tried (all workers) at the start of the speed test's window, and when.
    speed_mark: Option<(u64, f64)>,
}

/// The miner page's controller, shared by its buttons.
#[derive(Clone, Copy)]
pub struct Controller(StoredValue<Rc<RefCell<State>>, LocalStorage>);

fn now_ms() -> f64 {
    web_sys::window()
        .and_then(|w| w.performance())
        .map(|p| p.now())
        .unwrap_or_default()
}

fn default_workers() -> u32 {
    web_sys::window()
        .map(|w| w.navigator().hardware_concurrency() as u32)
        .unwrap_or(1)
        .clamp(1, MAX_WORKERS)
}

async fn failure(resp: Response) -> ErrorBody {
    let status = resp.status();
    resp.json::<ErrorBody>().await.unwrap_or(ErrorBody {
        error: ErrorCode::Internal,
        message: format!("the server answered {status}"),
        details: Vec::new(),
    })
}

async fn fetch_work(election: ElectionId, etag: Option<&str>) -> Result<Fetched, String> {
    let mut req = Request::get(&format!("/api/elections/{election}/work"));
    if let Some(tag) = etag {
        req = req.header("If-None-Match", tag);
    }
    let resp = req.send().await.map_err(|e| e.to_string())?;
    match resp.status() {
        304 => Ok(Fetched::Unchanged),
        200 => {
            let tag = resp.headers().get("etag").unwrap_or_default();
            let work = resp.json::<Work>().await.map_err(|e| e.to_string())?;
            Ok(Fetched::New(Box::new(work), tag))
        }
        _ => Ok(Fetched::Refused(failure(resp).await)),
    }
}

/// Votes waiting for a block, from the election's public detail.
async fn fetch_pool(election: ElectionId) -> Result<u64, String> {
    let detail: ElectionDetail = crate::fetch_json(format!("/api/elections/{election}")).await?;
    Ok(detail.pending_votes)
}

fn refusal_text(f: &ErrorBody, closed: bool) -> String {
    match f.error {
        ErrorCode::NothingToMine if closed => "Voting has closed and every vote is already in a block: nothing is left to mine. Thank you for helping.".to_owned(),
        ErrorCode::NothingToMine => "Nothing to mine right now: no votes are waiting for a block. This page checks every second and starts again as soon as votes arrive.".to_owned(),
        ErrorCode::WrongState => "Voting has not opened in this election yet, so there is no chain to mine. This page keeps checking.".to_owned(),
        ErrorCode::NotFound => "There is no such election.".to_owned(),
        _ => f.message.clone(),
    }
}

impl Controller {
    /// A controller for the page; `kernel` ("scalar") forces the fallback build.
    pub fn new(election: ElectionId, ui: MinerUi, kernel: Option<String>, closed: bool) -> Self {
        let worker_url = match kernel.as_deref() {
            Some("scalar") => "/miner/worker.js?kernel=scalar".to_owned(),
            _ => "/miner/worker.js".to_owned(),
        };
        let state = State {
            election,
            closed,
            worker_url,
            ui,
            mode: Mode::Idle,
            bridges: Vec::new(),
            job: 0,
            work: None,
            header: None,
            waiting: false,
            poll: None,
            polling: false,
            last_poll: 0.0,
            idle: false,
            timers: Vec::new(),
            speed_mark: None,
        };
        let this = Self(StoredValue::new_local(Rc::new(RefCell::new(state))));
        ui.worker_count.set(default_workers().to_string());
        on_cleanup(move || this.shutdown());
        this
    }

    fn rc(&self) -> Option<Rc<RefCell<State>>> {
        self.0.try_get_value()
    }

    /// Starts mining the election's current template.
    pub fn start(&self) {
        let Some(rc) = self.rc() else { return };
        {
            let mut st = rc.borrow_mut();
            if st.mode != Mode::Idle {
                return;
            }
            st.mode = Mode::Mining;
            st.ui.problem.set(None);
            st.ui
                .status
                .set("Starting workers and fetching the block template…".into());
            spawn_workers(&rc, &mut st);
            st.work = None;
            st.waiting = false;
            let weak = Rc::downgrade(&rc);
            st.poll = Some(Interval::new(POLL_MS, move || poll(&weak)));
        }
        poll(&Rc::downgrade(&rc));
    }

    /// Stops every worker (they are terminated) and the polling.
    pub fn stop(&self, status: &str) {
        let Some(rc) = self.rc() else { return };
        let mut st = rc.borrow_mut();
        halt(&mut st);
        st.ui.status.set(status.to_owned());
    }

    fn shutdown(&self) {
        if let Some(rc) = self.rc() {
            if let Ok(mut st) = rc.try_borrow_mut() {
                halt(&mut st);
            }
        }
    }

    /// Hashes a fixed header nobody can solve for a few seconds and reports the rate.
    pub fn speed_test(&self) {
        let Some(rc) = self.rc() else { return };
        let mut st = rc.borrow_mut();
        if st.mode != Mode::Idle {
            return;
        }
        st.mode = Mode::SpeedTest;
        st.ui.problem.set(None);
        st.ui.speed.set(None);
        st.ui.difficulty.set(None);
        st.ui
            .status
            .set("Speed test: hashing a test header that cannot be solved…".into());
        spawn_workers(&rc, &mut st);
        let mut header = miner::vectors::vector_header();
        header.difficulty = u8::MAX;
        st.header = Some(header);
        assign(&mut st);
        let weak = Rc::downgrade(&rc);
        let mark = Timeout::new(SPEED_WARMUP_MS, move || {
            if let Some(rc) = weak.upgrade() {
                let mut st = rc.borrow_mut();
                st.speed_mark = Some((st.ui.tried.get_untracked(), now_ms()));
            }
        });
        let weak = Rc::downgrade(&rc);
        let done = Timeout::new(SPEED_WARMUP_MS + SPEED_WINDOW_MS, move || {
            let Some(rc) = weak.upgrade() else { return };
            let mut st = rc.borrow_mut();
            if st.mode != Mode::SpeedTest {
                return;
            }
            if let Some((tried, at)) = st.speed_mark {
                let secs = (now_ms() - at) / 1000.0;
                let rate = (st.ui.tried.get_untracked() - tried) as f64 / secs;
                let kernel = st.ui.workers.with_untracked(|w| {
                    w.first()
                        .map(|l| l.kernel.split(',').next().unwrap_or_default().to_owned())
                        .unwrap_or_default()
                });
                st.ui.speed.set(Some((rate, st.bridges.len(), kernel)));
            }
            halt(&mut st);
            st.ui.status.set("Speed test finished.".into());
        });
        st.timers = vec![mark, done];
    }
}

/// Terminates the workers and timers; the page shows zero hashrate.
fn halt(st: &mut State) {
    for b in &st.bridges {
        b.send(ToMiner::Stop);
    }
    st.bridges.clear();
    st.poll = None;
    st.timers.clear();
    st.mode = Mode::Idle;
    st.job += 1;
    st.work = None;
    st.header = None;
    st.waiting = false;
    st.idle = false;
    st.speed_mark = None;
    st.ui.running.set(false);
    st.ui.workers.set(Vec::new());
}

fn spawn_workers(rc: &Rc<RefCell<State>>, st: &mut State) {
    let count = st
        .ui
        .worker_count
        .get_untracked()
        .trim()
        .parse::<u32>()
        .unwrap_or_else(|_| default_workers())
        .clamp(1, MAX_WORKERS);
    st.ui.worker_count.set(count.to_string());
    st.ui.tried.set(0);
    st.ui.best.set(0);
    st.ui.running.set(true);
    st.ui
        .workers
        .set(vec![WorkerLine::default(); count as usize]);
    st.bridges = (0..count as usize)
        .map(|i| {
            let weak = Rc::downgrade(rc);
            // `with_loader`: worker.js is the module worker's own entry (it picks the
            // bundle), not a wasm-bindgen shim for gloo-worker to wrap.
            MinerWorker::spawner()
                .with_loader(true)
                .callback(move |msg| on_message(&weak, i, msg))
                .spawn(&st.worker_url)
        })
        .collect();
}

/// Hands the current header to every worker, each its own nonce range.
fn assign(st: &mut State) {
    let Some(header) = st.header.clone() else {
        return;
    };
    st.job += 1;
    let n = st.bridges.len() as u64;
    for (i, bridge) in st.bridges.iter().enumerate() {
        let (start, end) = nonce_range(i as u64, n);
        bridge.send(ToMiner::Start {
            job: st.job,
            header: header.clone(),
            start,
            end,
        });
    }
    st.ui.best.set(0);
}

/// Pauses the workers without ending the session (nothing to mine, or waiting); their
/// rates show zero.
fn pause(st: &mut State) {
    st.job += 1;
    st.ui
        .workers
        .update(|w| w.iter_mut().for_each(|l| l.rate = 0.0));
    for b in &st.bridges {
        b.send(ToMiner::Stop);
    }
}

/// A new template: every worker restarts on it.
fn adopt(st: &mut State, work: Work, etag: String) {
    let mut header = work.header.clone();
    header.miner_tag = MinerTag::from_text(st.ui.tag.get_untracked().trim());
    header.nonce = 0;
    st.ui.difficulty.set(Some(work.difficulty));
    st.ui.status.set(format!(
        "Mining block {} with {} vote{} on tip {}…",
        work.index,
        work.votes.len(),
        if work.votes.len() == 1 { "" } else { "s" },
        &work.prev.to_string()[..12],
    ));
    st.header = Some(header);
    st.work = Some((work, etag));
    st.waiting = false;
    st.idle = false;
    assign(st);
}

fn poll(weak: &Weak<RefCell<State>>) {
    let Some(rc) = weak.upgrade() else { return };
    let (election, etag, awaiting, idle) = {
        let mut st = rc.borrow_mut();
        if st.mode != Mode::Mining || st.polling {
            return;
        }
        st.polling = true;
        st.last_poll = now_ms();
        let awaiting: Vec<BlockHash> = st.ui.found.with_untracked(|f| {
            f.iter()
                .filter(|b| b.fate == Fate::Block(BlockStatus::Awaiting))
                .map(|b| b.hash)
                .collect()
        });
        (
            st.election,
            st.work.as_ref().map(|(_, tag)| tag.clone()),
            awaiting,
            st.idle,
        )
    };
    let weak = weak.clone();
    spawn_local(async move {
        let fetched = if idle {
            match fetch_pool(election).await {
                Ok(0) => Ok(Fetched::Unchanged),
                Ok(_) => fetch_work(election, None).await,
                Err(e) => Err(e),
            }
        } else {
            fetch_work(election, etag.as_deref()).await
        };
        let fates = refresh_fates(election, awaiting).await;
        let Some(rc) = weak.upgrade() else { return };
        let mut st = rc.borrow_mut();
        st.polling = false;
        apply_fates(&st, fates);
        if st.mode != Mode::Mining {
            return;
        }
        match fetched {
            Ok(Fetched::Unchanged) => {}
            Ok(Fetched::New(work, tag)) => adopt(&mut st, *work, tag),
            Ok(Fetched::Refused(f)) => {
                st.idle = matches!(f.error, ErrorCode::NothingToMine | ErrorCode::WrongState);
                st.work = None;
                st.header = None;
                pause(&mut st);
                st.ui.status.set(refusal_text(&f, st.closed));
            }
            Err(e) => st.ui.status.set(format!(
                "Cannot reach the server ({e}); trying again every second."
            )),
        }
    });
}

async fn refresh_fates(
    election: ElectionId,
    hashes: Vec<BlockHash>,
) -> Vec<(BlockHash, BlockStatus, String)> {
    let mut out = Vec::new();
    for hash in hashes {
        let url = format!("/api/elections/{election}/blocks/{hash}");
        if let Ok(b) = crate::fetch_json::<BlockDetail>(url).await {
            let reason = b
                .decisions
                .iter()
                .filter(|d| !d.approve)
                .map(|d| format!("{}: {}", d.validator, d.reason.clone().unwrap_or_default()))
                .collect::<Vec<_>>()
                .join("; ");
            out.push((hash, b.summary.status, reason));
        }
    }
    out
}

fn apply_fates(st: &State, fates: Vec<(BlockHash, BlockStatus, String)>) {
    if fates.is_empty() {
        return;
    }
    st.ui.found.update(|found| {
        for (hash, status, reason) in fates {
            if let Some(f) = found.iter_mut().find(|f| f.hash == hash) {
                f.fate = Fate::Block(status);
                if status == BlockStatus::Rejected {
                    f.reason = reason;
                }
            }
        }
    });
}

fn on_message(weak: &Weak<RefCell<State>>, worker: usize, msg: FromMiner) {
    let progress = matches!(msg, FromMiner::Progress { .. });
    handle(weak, worker, msg);
    // Browsers slow down timers in background tabs (to once a minute after a while), but
    // not workers' messages: while hashing, the workers' reports keep the polls going.
    let due = progress
        && weak
            .upgrade()
            .is_some_and(|rc| now_ms() - rc.borrow().last_poll >= f64::from(POLL_MS));
    if due {
        poll(weak);
    }
}

fn handle(weak: &Weak<RefCell<State>>, worker: usize, msg: FromMiner) {
    let Some(rc) = weak.upgrade() else { return };
    let mut st = rc.borrow_mut();
    match msg {
        FromMiner::Ready { kernel, self_check } => match self_check {
            Ok(n) => st.ui.workers.update(|w| {
                if let Some(l) = w.get_mut(worker) {
                    l.kernel = format!("{kernel}, self-check passed ({n} vectors)");
                    l.ok = true;
                }
            }),
            Err(e) => {
                halt(&mut st);
                st.ui.problem.set(Some(format!(
                    "This browser computed a wrong hash ({kernel}: {e}); mining is disabled here."
                )));
                st.ui.status.set("Stopped.".into());
            }
        },
        FromMiner::Progress {
            job,
            hashes,
            millis,
            best_zero_bits,
            ..
        } => {
            st.ui.tried.update(|t| *t += hashes);
            if job != st.job {
                return;
            }
            st.ui.best.update(|b| *b = (*b).max(best_zero_bits));
            let rate = if millis > 0.0 {
                hashes as f64 * 1000.0 / millis
            } else {
                0.0
            };
            st.ui.workers.update(|w| {
                if let Some(l) = w.get_mut(worker) {
                    l.rate = rate;
                }
            });
        }
        FromMiner::Stopped | FromMiner::Exhausted { .. } => st.ui.workers.update(|w| {
            if let Some(l) = w.get_mut(worker) {
                l.rate = 0.0;
            }
        }),
        FromMiner::Found { job, nonce, hash } => {
            if job != st.job || st.mode != Mode::Mining {
                return;
            }
            let (Some((work, etag)), Some(mut header)) = (st.work.clone(), st.header.clone())
            else {
                return;
            };
            header.nonce = nonce;
            if header.hash() != hash {
                st.ui.problem.set(Some(
                    "A worker reported a nonce whose hash does not match; it was not submitted."
                        .into(),
                ));
                return;
            }
            pause(&mut st);
            st.waiting = true;
            st.ui.status.set(format!(
                "Found block {}; checking the tip before submitting…",
                work.index
            ));
            let weak = weak.clone();
            spawn_local(submit(weak, work, etag, header));
        }
    }
}

/// Submits a solved block, unless the template changed in the meantime.
async fn submit(weak: Weak<RefCell<State>>, work: Work, etag: String, header: BlockHeader) {
    let Some(election) = weak.upgrade().map(|rc| rc.borrow().election) else {
        return;
    };
    let hash = header.hash();
    let index = work.index;
    let record = |fate: Fate, reason: String| FoundBlock {
        hash,
        index,
        fate,
        reason,
    };
    match fetch_work(election, Some(&etag)).await {
        Ok(Fetched::Unchanged) => {}
        fresh => {
            // The tip or the votes moved on: the solution is stale, do not send it.
            let Some(rc) = weak.upgrade() else { return };
            let mut st = rc.borrow_mut();
            st.ui.found.update(|f| {
                f.push(record(
                    Fate::Discarded,
                    "a newer template replaced it".into(),
                ))
            });
            if st.mode == Mode::Mining {
                match fresh {
                    Ok(Fetched::New(w, tag)) => adopt(&mut st, *w, tag),
                    _ => {
                        st.work = None;
                        st.waiting = false;
                    }
                }
            }
            return;
        }
    }
    let block = Block {
        header,
        votes: work.votes,
    };
    let sent = match Request::post(&format!("/api/elections/{election}/blocks")).json(&block) {
        Ok(req) => req.send().await.map_err(|e| e.to_string()),
        Err(e) => Err(e.to_string()),
    };
    // Read the answer before touching the state: worker messages need it meanwhile.
    let outcome = match sent {
        Ok(resp) if resp.status() == 202 => match resp.json::<SubmitOutcome>().await {
            Ok(s) => Ok((s.hash, s.index)),
            Err(_) => Ok((hash, index)),
        },
        Ok(resp) => {
            let code = resp.status();
            Err((code, failure(resp).await.message))
        }
        Err(e) => Err((0, e)),
    };
    let Some(rc) = weak.upgrade() else { return };
    let mut st = rc.borrow_mut();
    match outcome {
        Ok((hash, index)) => {
            st.ui.found.update(|f| {
                f.push(FoundBlock {
                    hash,
                    index,
                    fate: Fate::Block(BlockStatus::Awaiting),
                    reason: String::new(),
                })
            });
            st.ui.status.set(format!(
                "Block {index} found and submitted; validators are checking it. Mining resumes when the tip or the waiting votes change."
            ));
        }
        Err((0, e)) => {
            st.ui
                .problem
                .set(Some(format!("Could not submit block {index}: {e}")));
            st.work = None;
            st.waiting = false;
        }
        Err((code, message)) => {
            let fate = if code == 409 {
                Fate::Block(BlockStatus::Stale)
            } else {
                Fate::Refused
            };
            st.ui.found.update(|list| list.push(record(fate, message)));
            // Start over on whatever the server now offers.
            st.work = None;
            st.waiting = false;
        }
    }
}
