//! The browser side of the miner page: carries out the [`Machine`]'s effects (the worker
//! pool, template polling, submission, what the page shows) and turns what comes back
//! (answers, worker reports, timers, buttons) into its events.

use super::machine::{Effect, Event, Machine, Poll, Submission};
use super::{Fate, MinerUi, WorkerLine, MAX_WORKERS};
use gloo_net::http::{Request, Response};
use gloo_timers::callback::{Interval, Timeout};
use ledger::{Block, BlockHash, BlockHeader, ElectionId};
use leptos::prelude::*;
use leptos::task::spawn_local;
use miner::driver::nonce_range;
use miner::gloo_worker::{Spawnable, WorkerBridge};
use miner::{FromMiner, MinerWorker, ToMiner};
use std::cell::RefCell;
use std::rc::{Rc, Weak};
use wire::{BlockDetail, BlockStatus, ElectionDetail, ErrorBody, ErrorCode, WorkTemplate};

/// How often the page asks whether the template changed.
const POLL_MS: u32 = 1000;
/// Speed test: warm-up, then the measured window.
const SPEED_WARMUP_MS: u32 = 1000;
const SPEED_WINDOW_MS: u32 = 5000;

/// The page's logic and what carries it out.
struct State {
    election: ElectionId,
    worker_url: String,
    ui: MinerUi,
    machine: Machine,
    bridges: Vec<WorkerBridge<MinerWorker>>,
    poll: Option<Interval>,
    /// When the last poll started (ms, page clock).
    last_poll: f64,
    timers: Vec<Timeout>,
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

/// The template, or whether the one with tag `etag` is still current.
async fn fetch_work(election: ElectionId, etag: Option<&str>) -> Poll {
    let mut req = Request::get(&wire::paths::work(election));
    if let Some(tag) = etag {
        req = req.header("If-None-Match", tag);
    }
    let resp = match req.send().await {
        Ok(resp) => resp,
        Err(e) => return Poll::Unreachable(e.to_string()),
    };
    match resp.status() {
        304 => Poll::Unchanged,
        200 => {
            let tag = resp.headers().get("etag").unwrap_or_default();
            match resp.json::<WorkTemplate>().await {
                Ok(work) => Poll::New(Box::new(work), tag),
                Err(e) => Poll::Unreachable(e.to_string()),
            }
        }
        _ => Poll::Refused(failure(resp).await),
    }
}

/// Votes waiting for a block, from the election's public detail.
async fn fetch_pool(election: ElectionId) -> Poll {
    match crate::fetch_json::<ElectionDetail>(wire::paths::election(election)).await {
        Ok(detail) => Poll::PoolSize(detail.pending_votes),
        Err(e) => Poll::Unreachable(e),
    }
}

/// Sends a block and reads the server's verdict.
async fn submit(election: ElectionId, block: Block) -> Submission {
    let sent = match Request::post(&wire::paths::blocks(election)).json(&block) {
        Ok(req) => req.send().await.map_err(|e| e.to_string()),
        Err(e) => Err(e.to_string()),
    };
    match sent {
        Ok(resp) if resp.status() == 202 => Submission::Accepted,
        Ok(resp) => {
            let body = failure(resp).await;
            Submission::Refused(body.error, body.message)
        }
        Err(e) => Submission::Unreachable(e),
    }
}

/// Feeds `event` to the machine and carries out its effects.
fn dispatch(weak: &Weak<RefCell<State>>, event: Event) {
    let Some(rc) = weak.upgrade() else { return };
    let effects = match rc.try_borrow_mut() {
        Ok(mut st) => st.machine.step(event),
        Err(_) => return,
    };
    for effect in effects {
        perform(&rc, effect);
    }
}

/// The speed test's two timers: its measured window opens after the warm-up, and closes
/// with the figures to report.
fn speed_timers(weak: &Weak<RefCell<State>>) -> Vec<Timeout> {
    let (open, close) = (weak.clone(), weak.clone());
    let mark = Timeout::new(SPEED_WARMUP_MS, move || {
        let Some(tried) = open
            .upgrade()
            .map(|rc| rc.borrow().ui.tried.get_untracked())
        else {
            return;
        };
        let at = now_ms() as u64;
        dispatch(&open, Event::SpeedMark { tried, at });
    });
    let end = Timeout::new(SPEED_WARMUP_MS + SPEED_WINDOW_MS, move || {
        let Some(rc) = close.upgrade() else { return };
        let event = {
            let st = rc.borrow();
            let kernel = st.ui.workers.with_untracked(|w| {
                w.first()
                    .map(|l| l.kernel.split(',').next().unwrap_or_default().to_owned())
                    .unwrap_or_default()
            });
            Event::SpeedEnd {
                tried: st.ui.tried.get_untracked(),
                at: now_ms() as u64,
                workers: st.bridges.len(),
                kernel,
            }
        };
        dispatch(&close, event);
    });
    vec![mark, end]
}

fn perform(rc: &Rc<RefCell<State>>, effect: Effect) {
    let weak = Rc::downgrade(rc);
    let mut st = rc.borrow_mut();
    let election = st.election;
    match effect {
        Effect::SpawnWorkers => spawn_workers(rc, &mut st),
        Effect::Terminate => terminate(&mut st),
        Effect::Assign { job, header } => assign(&st, job, header),
        Effect::Pause => {
            st.ui
                .workers
                .update(|w| w.iter_mut().for_each(|l| l.hashing = false));
            for b in &st.bridges {
                b.send(ToMiner::Stop);
            }
        }
        Effect::StartPolling => {
            let tick = weak.clone();
            st.poll = Some(Interval::new(POLL_MS, move || {
                dispatch(&tick, Event::PollDue)
            }));
            drop(st);
            dispatch(&weak, Event::PollDue);
        }
        Effect::SpeedTimers => st.timers = speed_timers(&weak),
        Effect::FetchWork(etag) => {
            st.last_poll = now_ms();
            let awaiting = awaiting_blocks(&st.ui);
            let ui = st.ui;
            spawn_local(async move {
                let poll = fetch_work(election, etag.as_deref()).await;
                refresh_fates(ui, election, awaiting).await;
                dispatch(&weak, Event::Polled(poll));
            });
        }
        Effect::FetchPool => {
            st.last_poll = now_ms();
            let awaiting = awaiting_blocks(&st.ui);
            let ui = st.ui;
            spawn_local(async move {
                let poll = fetch_pool(election).await;
                refresh_fates(ui, election, awaiting).await;
                dispatch(&weak, Event::Polled(poll));
            });
        }
        Effect::Recheck(etag) => spawn_local(async move {
            let poll = fetch_work(election, Some(&etag)).await;
            dispatch(&weak, Event::Rechecked(poll));
        }),
        Effect::Submit(block) => spawn_local(async move {
            let (hash, index) = (block.hash(), block.header.index);
            let outcome = submit(election, block).await;
            dispatch(
                &weak,
                Event::Submitted {
                    hash,
                    index,
                    outcome,
                },
            );
        }),
        Effect::Status(text) => st.ui.status.set(text),
        Effect::Problem(problem) => st.ui.problem.set(problem),
        Effect::Difficulty(d) => st.ui.difficulty.set(d),
        Effect::Found(block) => st.ui.found.update(|f| f.push(block)),
        Effect::Speed(result) => st.ui.speed.set(result),
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
            worker_url,
            ui,
            machine: Machine::new(closed),
            bridges: Vec::new(),
            poll: None,
            last_poll: 0.0,
            timers: Vec::new(),
        };
        let this = Self(StoredValue::new_local(Rc::new(RefCell::new(state))));
        ui.worker_count.set(default_workers().to_string());
        on_cleanup(move || this.stop());
        this
    }

    fn weak(&self) -> Option<Weak<RefCell<State>>> {
        self.0.try_get_value().map(|rc| Rc::downgrade(&rc))
    }

    /// Starts mining the election's current template.
    pub fn start(&self) {
        if let Some(weak) = self.weak() {
            let tag = weak
                .upgrade()
                .map(|rc| rc.borrow().ui.tag.get_untracked())
                .unwrap_or_default();
            dispatch(&weak, Event::Start { tag });
        }
    }

    /// Asks the server now, as the next poll would (nothing while not mining).
    pub fn poll_now(&self) {
        if let Some(weak) = self.weak() {
            dispatch(&weak, Event::PollDue);
        }
    }

    /// Stops every worker (they are terminated) and the polling.
    pub fn stop(&self) {
        if let Some(weak) = self.weak() {
            dispatch(&weak, Event::Stop);
        }
    }

    /// Hashes a fixed header nobody can solve for a few seconds and reports the rate.
    pub fn speed_test(&self) {
        if let Some(weak) = self.weak() {
            let mut header = miner::vectors::vector_header();
            header.difficulty = u8::MAX;
            dispatch(&weak, Event::SpeedTest { header });
        }
    }
}

/// Terminates the workers and timers; the page shows zero hashrate.
fn terminate(st: &mut State) {
    for b in &st.bridges {
        b.send(ToMiner::Stop);
    }
    st.bridges.clear();
    st.poll = None;
    st.timers.clear();
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

/// Hands `header` to every worker, each its own nonce range.
fn assign(st: &State, job: u64, header: BlockHeader) {
    let n = st.bridges.len() as u64;
    for (i, bridge) in st.bridges.iter().enumerate() {
        let (start, end) = nonce_range(i as u64, n);
        bridge.send(ToMiner::Start {
            job,
            header: header.clone(),
            start,
            end,
        });
    }
    st.ui.best.set(0);
}

/// The blocks found here that still await validators.
fn awaiting_blocks(ui: &MinerUi) -> Vec<BlockHash> {
    ui.found.with_untracked(|f| {
        f.iter()
            .filter(|b| b.fate == Fate::Block(BlockStatus::Awaiting))
            .map(|b| b.hash)
            .collect()
    })
}

/// Asks what became of the blocks still awaiting validators, with the reasons of any
/// rejection.
async fn refresh_fates(ui: MinerUi, election: ElectionId, hashes: Vec<BlockHash>) {
    for hash in hashes {
        let url = wire::paths::block(election, hash);
        let Ok(block) = crate::fetch_json::<BlockDetail>(url).await else {
            continue;
        };
        let status = block.summary.status;
        let reason = block
            .decisions
            .iter()
            .filter(|d| !d.approve)
            .map(|d| format!("{}: {}", d.validator, d.reason.clone().unwrap_or_default()))
            .collect::<Vec<_>>()
            .join("; ");
        ui.found.update(|found| {
            if let Some(f) = found.iter_mut().find(|f| f.hash == hash) {
                f.fate = Fate::Block(status);
                if status == BlockStatus::Rejected {
                    f.reason = reason;
                }
            }
        });
    }
}

fn on_message(weak: &Weak<RefCell<State>>, worker: usize, msg: FromMiner) {
    let Some(rc) = weak.upgrade() else { return };
    let event = {
        let Ok(st) = rc.try_borrow() else { return };
        report(&st, worker, msg)
    };
    if let Some(event) = event {
        dispatch(weak, event);
    }
    // Browsers slow down timers in background tabs (to once a minute after a while), but
    // not workers' messages: while hashing, the workers' reports keep the polls going.
    let due = rc
        .try_borrow()
        .is_ok_and(|st| now_ms() - st.last_poll >= f64::from(POLL_MS));
    if due {
        dispatch(weak, Event::PollDue);
    }
}

/// Shows a worker's report; what the machine must know becomes an event.
fn report(st: &State, worker: usize, msg: FromMiner) -> Option<Event> {
    let line = |update: &dyn Fn(&mut WorkerLine)| {
        st.ui.workers.update(|w| {
            if let Some(l) = w.get_mut(worker) {
                update(l);
            }
        })
    };
    match msg {
        FromMiner::Ready { kernel, self_check } => match self_check {
            Ok(n) => {
                line(&|l| {
                    l.kernel = format!("{kernel}, self-check passed ({n} vectors)");
                    l.ok = true;
                });
                None
            }
            Err(e) => Some(Event::BrokenKernel(format!("{kernel}: {e}"))),
        },
        FromMiner::Progress {
            job,
            hashes,
            millis,
            best_zero_bits,
            ..
        } => {
            st.ui.tried.update(|t| *t += hashes);
            if job == st.machine.job() {
                st.ui.best.update(|b| *b = (*b).max(best_zero_bits));
                let rate = if millis > 0.0 {
                    hashes as f64 * 1000.0 / millis
                } else {
                    0.0
                };
                line(&|l| {
                    l.rate = rate;
                    l.hashing = true;
                });
            }
            None
        }
        FromMiner::Stopped | FromMiner::Exhausted { .. } => {
            line(&|l| l.hashing = false);
            None
        }
        FromMiner::Found { job, nonce, hash } => Some(Event::Found { job, nonce, hash }),
    }
}
