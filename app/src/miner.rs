//! The volunteer's miner page, `/e/{election}/mine`.
//!
//! The page runs a pool of web workers (the `miner` crate's bundle, loaded through
//! `/miner/worker.js`), each searching its own nonce range of the current block
//! template. It polls `GET /api/elections/{id}/work` every second with `If-None-Match`:
//! an unchanged template costs a bodiless 304; a new tip or new votes give a new template
//! and every worker restarts on it. A solution is submitted only if the template it
//! solves is still the server's (checked again right before submitting). What the page
//! does is one state machine (`machine.rs`, tested natively); `client.rs` carries out its
//! effects in the browser.

use crate::explorer::election_param;
use crate::loaded::loaded;
use crate::voter::ballot;
use ledger::{BlockHash, ElectionId};
use leptos::prelude::*;
use serde::{Deserialize, Serialize};
use wire::{BlockStatus, ElectionState};

/// Most workers the page runs, whatever the device reports.
pub const MAX_WORKERS: u32 = 32;

/// One worker's line in the table.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct WorkerLine {
    /// Kernel and self-check, once the worker is ready.
    pub kernel: String,
    /// Hashes per second at the last report while hashing: kept while the worker waits
    /// (at a low difficulty a block is found within one report, and the page then waits
    /// for the next template), so the page shows what this browser does.
    pub rate: f64,
    /// Whether the worker is hashing now (not paused between templates).
    pub hashing: bool,
    /// Whether the self-check passed.
    pub ok: bool,
}

/// What became of a block this page found.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Fate {
    /// The server has it (or, when stale, refused it for building on an old tip).
    Block(BlockStatus),
    /// Found on a template that changed before it could be sent: never submitted.
    Discarded,
    /// Not needed: a block awaiting validators already carries the same votes.
    Duplicate,
    /// The server refused it for another reason.
    Refused,
}

impl Fate {
    /// The fate as the page's `data-status` names it.
    pub fn name(self) -> &'static str {
        match self {
            Self::Block(status) => status.as_str(),
            Self::Discarded => "discarded",
            Self::Duplicate => "duplicate",
            Self::Refused => "refused",
        }
    }

    /// The fate in words.
    pub fn label(self) -> &'static str {
        match self {
            Self::Block(status) => status.label(),
            Self::Discarded => "not submitted (the template changed)",
            Self::Duplicate => {
                "not needed (a block awaiting the validators already has these votes)"
            }
            Self::Refused => "refused by the server",
        }
    }
}

/// A block this page found.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FoundBlock {
    /// Block hash.
    pub hash: BlockHash,
    /// Height.
    pub index: u64,
    /// What became of it.
    pub fate: Fate,
    /// Why, for rejected or unsubmitted blocks.
    pub reason: String,
}

/// What the page shows; every field is a signal the workers' messages update.
#[derive(Clone, Copy)]
pub struct MinerUi {
    /// Mining or speed test in progress.
    pub running: RwSignal<bool>,
    /// One sentence on what is happening.
    pub status: RwSignal<String>,
    /// A problem the volunteer must know about.
    pub problem: RwSignal<Option<String>>,
    /// Per worker.
    pub workers: RwSignal<Vec<WorkerLine>>,
    /// Hashes tried since start.
    pub tried: RwSignal<u64>,
    /// Best leading zero bits since the template changed.
    pub best: RwSignal<u32>,
    /// Difficulty of the current template.
    pub difficulty: RwSignal<Option<u8>>,
    /// Blocks found.
    pub found: RwSignal<Vec<FoundBlock>>,
    /// Result of the last speed test.
    pub speed: RwSignal<Option<(f64, usize, String)>>,
    /// The workers field.
    pub worker_count: RwSignal<String>,
    /// The miner tag field.
    pub tag: RwSignal<String>,
}

impl MinerUi {
    fn new() -> Self {
        Self {
            running: RwSignal::new(false),
            status: RwSignal::new("Not mining.".to_owned()),
            problem: RwSignal::new(None),
            workers: RwSignal::new(Vec::new()),
            tried: RwSignal::new(0),
            best: RwSignal::new(0),
            difficulty: RwSignal::new(None),
            found: RwSignal::new(Vec::new()),
            speed: RwSignal::new(None),
            worker_count: RwSignal::new(String::new()),
            tag: RwSignal::new(String::new()),
        }
    }

    /// Total hashes per second over all workers.
    pub fn rate(&self) -> f64 {
        self.workers
            .with(|w| w.iter().fold(0.0, |sum, l| sum + l.rate))
    }
}

/// "12.3 MH/s"
pub fn format_rate(rate: f64) -> String {
    if rate >= 1e6 {
        format!("{:.2} MH/s", rate / 1e6)
    } else if rate >= 1e3 {
        format!("{:.1} kH/s", rate / 1e3)
    } else {
        format!("{rate:.0} H/s")
    }
}

/// "1,234,567"
pub fn format_count(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// Expected time to find a block: 2^difficulty hashes at `rate`.
pub fn expected_time(difficulty: u8, rate: f64) -> String {
    if rate <= 0.0 {
        return "—".to_owned();
    }
    let secs = 2f64.powi(i32::from(difficulty)) / rate;
    if secs < 1.0 {
        "under a second".to_owned()
    } else if secs < 120.0 {
        format!("about {secs:.0} s")
    } else if secs < 7200.0 {
        format!("about {:.0} min", secs / 60.0)
    } else if secs < 172_800.0 {
        format!("about {:.0} h", secs / 3600.0)
    } else {
        format!("about {:.0} days", secs / 86_400.0)
    }
}

/// `/e/{election}/mine`
#[component]
pub fn MinerPage() -> impl IntoView {
    let election = election_param();
    let info = Resource::new(move || election.get(), ballot);
    loaded(info, "Loading…", "Mine", false, move |b| {
        let id = election.get_untracked();
        view! {
            <h1>{format!("Mine for {}", b.title)}</h1>
            <p class="lead">
                "Lend this device's processor to the election: it searches for the proof of work that seals the next block of votes. Validators then check the block before it joins the chain. No account needed; mining stops when you close the tab."
            </p>
            <p class="links">
                <a href=format!("/e/{id}/chain")>"Explore the chain"</a>
            </p>
            {(b.state == ElectionState::Setup)
                .then(|| {
                    view! {
                        <p class="notice" role="status">
                            "Voting has not opened in this election yet, so there is nothing to mine. Come back once it opens."
                        </p>
                    }
                })}
            <MinerPanel election=id closed=b.state == ElectionState::Closed />
        }
    })
}

#[component]
fn MinerPanel(election: ElectionId, closed: bool) -> impl IntoView {
    let ui = MinerUi::new();
    #[cfg(feature = "hydrate")]
    let controller = {
        let kernel = leptos_router::hooks::use_query_map()
            .get_untracked()
            .get("kernel");
        client::Controller::new(election, ui, kernel, closed)
    };
    #[cfg(not(feature = "hydrate"))]
    let _ = (election, closed);
    // New votes, a new head or a block decided: ask for work now rather than at the next
    // poll (the polls stay, should the stream be closed).
    let live = crate::live::version(election, |c| {
        matches!(
            c,
            wire::Change::Pool | wire::Change::Head { .. } | wire::Change::Block { .. }
        )
    });
    Effect::new(move |seen: Option<u32>| {
        let now = live.get();
        #[cfg(feature = "hydrate")]
        if seen.is_some_and(|seen| seen != now) {
            client::Controller::poll_now(&controller);
        }
        #[cfg(not(feature = "hydrate"))]
        let _ = seen;
        now
    });
    let start = move || {
        #[cfg(feature = "hydrate")]
        client::Controller::start(&controller);
    };
    let stop = move || {
        #[cfg(feature = "hydrate")]
        client::Controller::stop(&controller);
    };
    let speed_test = move || {
        #[cfg(feature = "hydrate")]
        client::Controller::speed_test(&controller);
    };
    view! {
        <noscript>
            <p class="error">"Mining runs in your browser: it needs JavaScript and WebAssembly."</p>
        </noscript>
        {miner_controls(ui, start, stop, speed_test)}
        <p id="miner-status" class="notice" role="status">{move || ui.status.get()}</p>
        {move || ui.problem.get().map(|p| view! { <p class="error" role="alert">{p}</p> })}
        {move || {
            ui.speed
                .get()
                .map(|(r, n, kernel)| {
                    view! {
                        <p id="speed-result" class="notice" data-rate=r.to_string() data-workers=n.to_string() data-kernel=kernel.clone()>
                            {format!(
                                "Speed test: {} with {n} worker{} ({kernel}).",
                                format_rate(r),
                                if n == 1 { "" } else { "s" },
                            )}
                        </p>
                    }
                })
        }}
        {miner_stats(ui)}
        {workers_section(ui)}
        {found_section(election, ui)}
    }
}

/// The workers' count, the miner tag, and the buttons.
fn miner_controls(
    ui: MinerUi,
    start: impl Fn() + Copy + 'static,
    stop: impl Fn() + Copy + 'static,
    speed_test: impl Fn() + Copy + 'static,
) -> impl IntoView {
    view! {
    <form class="miner-controls" on:submit=|ev| ev.prevent_default()>
        <label for="miner-workers">"Workers (threads)"</label>
        <input
            id="miner-workers"
            type="number"
            min="1"
            max=MAX_WORKERS.to_string()
            placeholder="one per processor core"
            prop:value=move || ui.worker_count.get()
            on:input=move |ev| ui.worker_count.set(event_target_value(&ev))
            prop:disabled=move || ui.running.get()
        />
        <label for="miner-tag">"Miner tag (optional, shown in the explorer, up to 16 bytes)"</label>
        <input
            id="miner-tag"
            type="text"
            maxlength="16"
            prop:value=move || ui.tag.get()
            on:input=move |ev| ui.tag.set(event_target_value(&ev))
            prop:disabled=move || ui.running.get()
        />
        <div class="button-row">
            <button id="miner-start" type="button" on:click=move |_| start() prop:disabled=move || ui.running.get()>
                "Start mining"
            </button>
            <button id="miner-stop" type="button" class="secondary" on:click=move |_| stop() prop:disabled=move || !ui.running.get()>
                "Stop"
            </button>
            <button id="speed-test" type="button" class="secondary" on:click=move |_| speed_test() prop:disabled=move || ui.running.get()>
                "Speed test (5 s)"
            </button>
        </div>
    </form>
    }
}

/// The hashrate, the hashes tried, the difficulty and the expected time to a block.
fn miner_stats(ui: MinerUi) -> impl IntoView {
    let rate = move || ui.rate();
    let hashing = move || ui.workers.with(|w| w.iter().any(|l| l.hashing));
    view! {
    <dl class="miner-stats">
        <dt>"Hashrate"</dt>
        <dd id="miner-rate" data-rate=move || rate().to_string() data-hashing=move || hashing().to_string()>
            {move || match (rate(), hashing()) {
                (r, false) if r > 0.0 => format!("{} (while hashing; waiting now)", format_rate(r)),
                (r, _) => format_rate(r),
            }}
        </dd>
        <dt>"Hashes tried"</dt>
        <dd id="miner-tried" data-tried=move || ui.tried.get().to_string()>
            {move || format_count(ui.tried.get())}
        </dd>
        <dt>"Difficulty"</dt>
        <dd>
            {move || {
                ui.difficulty
                    .get()
                    .map(|d| format!("{d} leading zero bits (best so far: {})", ui.best.get()))
                    .unwrap_or_else(|| "—".to_owned())
            }}
        </dd>
        <dt>"Expected time to a block"</dt>
        <dd id="miner-eta">
            {move || {
                ui.difficulty
                    .get()
                    .filter(|_| ui.running.get())
                    .map(|d| expected_time(d, rate()))
                    .unwrap_or_else(|| "—".to_owned())
            }}
        </dd>
    </dl>
    }
}

/// Each worker's rate and kernel.
fn workers_section(ui: MinerUi) -> impl IntoView {
    view! {
    <section aria-labelledby="workers-h">
        <h2 id="workers-h">"Workers"</h2>
        {move || {
            let lines = ui.workers.get();
            if lines.is_empty() {
                view! { <p class="notice">"None running."</p> }.into_any()
            } else {
                view! {
                    <ol id="worker-list" class="worker-list">
                        {lines
                            .into_iter()
                            .map(|l| {
                                view! {
                                    <li data-rate=l.rate.to_string() data-ok=l.ok.to_string()>
                                        {format!(
                                            "{} · {}",
                                            format_rate(l.rate),
                                            if l.kernel.is_empty() { "starting…" } else { l.kernel.as_str() },
                                        )}
                                    </li>
                                }
                            })
                            .collect_view()}
                    </ol>
                }
                    .into_any()
            }
        }}
    </section>
    }
}

/// The blocks found on this page, newest first, and what became of each.
fn found_section(election: ElectionId, ui: MinerUi) -> impl IntoView {
    view! {
    <section aria-labelledby="found-h">
        <h2 id="found-h">"Blocks found here"</h2>
        {move || {
            let found = ui.found.get();
            if found.is_empty() {
                view! { <p class="notice">"None yet."</p> }.into_any()
            } else {
                view! {
                    <ul id="found-list" class="history">
                        {found
                            .into_iter()
                            .rev()
                            .map(|f| {
                                let label = f.fate.label();
                                let text = if f.reason.is_empty() {
                                    format!("Block {} · {label}", f.index)
                                } else {
                                    format!("Block {} · {label}: {}", f.index, f.reason)
                                };
                                view! {
                                    <li data-hash=f.hash.to_hex() data-status=f.fate.name()>
                                        <a href=format!("/e/{election}/block/{}", f.hash)>{text}</a>
                                    </li>
                                }
                            })
                            .collect_view()}
                    </ul>
                }
                    .into_any()
            }
        }}
    </section>
    }
}

#[cfg(feature = "hydrate")]
mod client;
// The page's logic; only the browser runs it, the tests check it natively.
#[cfg_attr(not(feature = "hydrate"), allow(dead_code))]
mod machine;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rates_and_expected_times_read_naturally() {
        assert_eq!(format_rate(0.0), "0 H/s");
        assert_eq!(format_count(0), "0");
        assert_eq!(format_count(999), "999");
        assert_eq!(format_count(1_000), "1,000");
        assert_eq!(format_count(901_120), "901,120");
        assert_eq!(format_count(12_345_678), "12,345,678");
        assert_eq!(format_rate(12_345.0), "12.3 kH/s");
        assert_eq!(format_rate(8_770_000.0), "8.77 MH/s");
        // 2^24 hashes at 8 MH/s: about 2 s; at 0 H/s there is no estimate.
        assert_eq!(expected_time(24, 8e6), "about 2 s");
        assert_eq!(expected_time(24, 0.0), "—");
        assert_eq!(expected_time(16, 8e6), "under a second");
        assert_eq!(expected_time(32, 8e6), "about 9 min");
        assert_eq!(expected_time(40, 8e6), "about 38 h");
        assert_eq!(expected_time(48, 8e6), "about 407 days");
    }
}
