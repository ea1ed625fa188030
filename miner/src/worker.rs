//! The gloo-worker web worker around [`Driver`].
//!
//! Each slice hashes for [`SLICE_MS`], then the next slice is scheduled with a zero-delay
//! timer. A timer (unlike a resolved promise) lets the event loop deliver queued
//! messages first, so a stop or a new template takes effect within one slice.

use crate::driver::{Driver, Slice};
use crate::protocol::{FromMiner, ToMiner};
use gloo_worker::{HandlerId, Worker, WorkerScope};

/// Milliseconds of hashing between two looks at the message queue.
pub const SLICE_MS: f64 = 50.0;
/// Milliseconds between progress reports.
pub const REPORT_MS: f64 = 100.0;

/// The kernel this build uses: two interleaved groups of four SIMD lanes where the build
/// has `simd128`, one plain `u32` lane otherwise (measured in Chromium: 3.6 MH/s, against
/// 3.0 for two interleaved scalar lanes and 2.5 for the sha2 crate's compression).
#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
pub type Kernel = crate::lanes::Pair<crate::lanes::V128>;
/// The kernel this build uses: one scalar lane (no `simd128`).
#[cfg(not(all(target_arch = "wasm32", target_feature = "simd128")))]
pub type Kernel = u32;

/// A short description of [`Kernel`] for the page.
pub fn kernel_name() -> String {
    let kind = if cfg!(all(target_arch = "wasm32", target_feature = "simd128")) {
        "simd128"
    } else {
        "scalar"
    };
    let lanes = <Kernel as crate::lanes::Lanes>::LANES;
    format!("{kind}, {lanes} lane{}", if lanes == 1 { "" } else { "s" })
}

/// Internal messages: the timer's tick.
#[derive(Debug)]
pub struct Tick {
    generation: u64,
}

/// The mining worker.
pub struct MinerWorker {
    driver: Driver,
    /// The page that sent the current job.
    client: Option<HandlerId>,
    /// Bumped on every start and stop so a tick from an older run is ignored.
    generation: u64,
    last_report: f64,
}

fn now() -> f64 {
    js_sys::Date::now()
}

impl MinerWorker {
    fn schedule(&self, scope: &WorkerScope<Self>) {
        let scope = scope.clone();
        let generation = self.generation;
        gloo_timers::callback::Timeout::new(0, move || scope.send_message(Tick { generation }))
            .forget();
    }

    /// Sends the hashes done since the last report, and the job's totals.
    fn report(
        &mut self,
        scope: &WorkerScope<Self>,
        client: HandlerId,
        job: u64,
        tried: u64,
        best: u32,
    ) {
        let at = now();
        let hashes = self.driver.take_unreported();
        scope.respond(
            client,
            FromMiner::Progress {
                job,
                hashes,
                millis: at - self.last_report,
                tried,
                best_zero_bits: best,
            },
        );
        self.last_report = at;
    }
}

impl Worker for MinerWorker {
    type Message = Tick;
    type Input = ToMiner;
    type Output = FromMiner;

    fn create(_scope: &WorkerScope<Self>) -> Self {
        Self {
            driver: Driver::new(),
            client: None,
            generation: 0,
            last_report: 0.0,
        }
    }

    fn connected(&mut self, scope: &WorkerScope<Self>, id: HandlerId) {
        scope.respond(
            id,
            FromMiner::Ready {
                kernel: kernel_name(),
                self_check: crate::vectors::check::<Kernel>(),
            },
        );
    }

    fn update(&mut self, scope: &WorkerScope<Self>, tick: Tick) {
        if tick.generation != self.generation {
            return;
        }
        let Some(client) = self.client else { return };
        let job = self.driver.job();
        match self.driver.run_slice::<Kernel>(now, SLICE_MS) {
            Slice::Idle => {}
            Slice::Continue => {
                if let (Some(job), Some((tried, best))) = (job, self.driver.progress()) {
                    if now() - self.last_report >= REPORT_MS {
                        self.report(scope, client, job, tried, best);
                    }
                }
                self.schedule(scope);
            }
            Slice::Found {
                job,
                nonce,
                hash,
                tried,
                best_zero_bits,
            } => {
                self.report(scope, client, job, tried, best_zero_bits);
                scope.respond(client, FromMiner::Found { job, nonce, hash });
            }
            Slice::Exhausted { job: done } => {
                debug_assert_eq!(job, Some(done));
                self.driver.take_unreported();
                scope.respond(client, FromMiner::Exhausted { job: done });
            }
        }
    }

    fn received(&mut self, scope: &WorkerScope<Self>, msg: ToMiner, id: HandlerId) {
        self.generation += 1;
        match msg {
            ToMiner::Start {
                job,
                header,
                start,
                end,
            } => {
                self.client = Some(id);
                self.driver.start(job, &header, start, end);
                self.driver.take_unreported();
                self.last_report = now();
                self.schedule(scope);
            }
            ToMiner::Stop => {
                self.driver.stop();
                self.driver.take_unreported();
                scope.respond(id, FromMiner::Stopped);
            }
        }
    }
}
