//! The miner page's logic as one state machine: what the page is doing ([`Phase`]), the
//! events that move it (buttons, polls, worker reports, the submission's answer, timers)
//! and the effects each move asks of the browser (workers, requests, what to show).
//!
//! It is plain Rust with no clock and no browser: `client.rs` carries the effects out and
//! turns what comes back into events, so every transition is tested natively, as the
//! worker's driver is.

use super::{Fate, FoundBlock};
use ledger::block::MinerTag;
use ledger::{Block, BlockHash, BlockHeader};
use wire::{BlockStatus, ErrorBody, ErrorCode, WorkTemplate};

/// A template being worked on: its entity tag and the header the workers hash.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Job {
    /// The server's template.
    pub work: WorkTemplate,
    /// Its entity tag: unchanged while the tip and the votes to include are.
    pub etag: String,
    /// The template's header with this page's miner tag.
    pub header: BlockHeader,
}

/// What the page is doing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Phase {
    /// No workers.
    Idle,
    /// Workers hash an unsolvable header for a few seconds to measure the rate; `mark`
    /// holds the hashes tried and the time (ms) when the measured window opened.
    SpeedTest {
        /// Start of the measured window.
        mark: Option<(u64, u64)>,
    },
    /// Mining without a template: just started, or the last one went away.
    Fetching,
    /// Workers hash this template.
    Hashing(Box<Job>),
    /// A solution of this template: the template is checked once more, then sent.
    Submitting(Box<Job>, BlockHeader),
    /// The block of this template was sent; mining resumes when the template changes.
    Waiting(Box<Job>),
    /// The server has nothing to mine (or voting has not opened): the page watches the
    /// pool's size, a plain answer, instead of being refused work every second.
    Watching,
}

/// What a poll of the server found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Poll {
    /// The template with the tag sent is still current.
    Unchanged,
    /// A new template and its tag.
    New(Box<WorkTemplate>, String),
    /// No template: the server's reason.
    Refused(ErrorBody),
    /// While watching: how many votes wait for a block.
    PoolSize(u64),
    /// The server could not be reached.
    Unreachable(String),
}

/// What became of a block sent to the server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Submission {
    /// Stored; it awaits the validators.
    Accepted,
    /// Refused, with the server's code and message (`stale`: another block came first;
    /// `duplicate`: an awaiting block carries the same votes).
    Refused(ErrorCode, String),
    /// The server could not be reached.
    Unreachable(String),
}

/// Something that happened to the page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// The Start button, with the miner tag typed.
    Start {
        /// Shown with the page's blocks in the explorer.
        tag: String,
    },
    /// The Stop button, or leaving the page.
    Stop,
    /// The speed-test button, with the unsolvable header to hash.
    SpeedTest {
        /// A header no nonce solves.
        header: BlockHeader,
    },
    /// The speed test's measured window opens.
    SpeedMark {
        /// Hashes tried by all workers so far.
        tried: u64,
        /// Now, in ms.
        at: u64,
    },
    /// The speed test's measured window closes.
    SpeedEnd {
        /// Hashes tried by all workers so far.
        tried: u64,
        /// Now, in ms.
        at: u64,
        /// Workers that ran.
        workers: usize,
        /// Their kernel.
        kernel: String,
    },
    /// Time to ask the server again (the interval, or a worker's report when timers are
    /// throttled in a background tab).
    PollDue,
    /// The answer to a poll.
    Polled(Poll),
    /// A worker's solution.
    Found {
        /// The job it was given.
        job: u64,
        /// The nonce.
        nonce: u64,
        /// The hash the worker computed.
        hash: BlockHash,
    },
    /// The answer to the last check of the template before sending a block.
    Rechecked(Poll),
    /// The answer to sending a block.
    Submitted {
        /// The block's hash.
        hash: BlockHash,
        /// Its height.
        index: u64,
        /// What the server said.
        outcome: Submission,
    },
    /// A worker's kernel failed its self-check: this browser cannot be trusted to mine.
    BrokenKernel(String),
}

/// Something the browser must do.
#[derive(Debug, Clone, PartialEq)]
pub enum Effect {
    /// Start the workers (as many as the page's field says).
    SpawnWorkers,
    /// Terminate every worker; polling and timers end.
    Terminate,
    /// Every worker searches `header` under job number `job`, each its own nonce range.
    Assign {
        /// The job number replies will carry.
        job: u64,
        /// The header to solve.
        header: BlockHeader,
    },
    /// Every worker stops hashing and stays; their rates show zero.
    Pause,
    /// Poll every second from now on (the first poll is due at once).
    StartPolling,
    /// Arm the speed test's timers (window opens after a warm-up, then closes).
    SpeedTimers,
    /// Ask for the template; with a tag, an unchanged one costs a bodiless 304.
    FetchWork(Option<String>),
    /// Ask how many votes wait.
    FetchPool,
    /// Ask whether the template with this tag is still current (answer: `Rechecked`).
    Recheck(String),
    /// Send the block (answer: `Submitted`).
    Submit(Block),
    /// One sentence on what is happening.
    Status(String),
    /// A problem the volunteer must know about, or none.
    Problem(Option<String>),
    /// The difficulty being mined, if any.
    Difficulty(Option<u8>),
    /// A block found here, with its fate so far.
    Found(FoundBlock),
    /// The speed test's result: rate, workers, kernel; `None` clears it.
    Speed(Option<(f64, usize, String)>),
}

/// The page's state machine.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Machine {
    phase: Phase,
    /// Number of the job the workers are on; replies for another are stale.
    job: u64,
    /// A poll is on its way: do not send another.
    polling: bool,
    /// Voting has closed: an empty pool will stay empty.
    closed: bool,
    /// The volunteer's miner tag for this session.
    tag: String,
}

impl Machine {
    /// A page that is not mining; `closed` when voting has closed in the election.
    pub fn new(closed: bool) -> Self {
        Self {
            phase: Phase::Idle,
            job: 0,
            polling: false,
            closed,
            tag: String::new(),
        }
    }

    /// What the page is doing.
    #[cfg(test)]
    pub fn phase(&self) -> &Phase {
        &self.phase
    }

    /// The job the workers are on.
    pub fn job(&self) -> u64 {
        self.job
    }

    /// The one transition function: the effects of `event` in the current phase.
    pub fn step(&mut self, event: Event) -> Vec<Effect> {
        let phase = std::mem::replace(&mut self.phase, Phase::Idle);
        let (phase, effects) = self.next(phase, event);
        self.phase = phase;
        effects
    }

    fn next(&mut self, phase: Phase, event: Event) -> (Phase, Vec<Effect>) {
        use Effect as E;
        match (phase, event) {
            (Phase::Idle, Event::Start { tag }) => {
                self.tag = tag.trim().to_owned();
                self.polling = false;
                let status = "Starting workers and fetching the block template…".to_owned();
                let effects = vec![
                    E::Problem(None),
                    E::Status(status),
                    E::SpawnWorkers,
                    E::StartPolling,
                ];
                (Phase::Fetching, effects)
            }
            (Phase::Idle, Event::SpeedTest { header }) => {
                self.job += 1;
                let status = "Speed test: hashing a test header that cannot be solved…";
                let effects = vec![
                    E::Problem(None),
                    E::Speed(None),
                    E::Difficulty(None),
                    E::Status(status.to_owned()),
                    E::SpawnWorkers,
                    E::Assign {
                        job: self.job,
                        header,
                    },
                    E::SpeedTimers,
                ];
                (Phase::SpeedTest { mark: None }, effects)
            }
            (
                phase @ Phase::Idle,
                Event::Submitted {
                    hash,
                    index,
                    outcome,
                },
            ) => self.submitted(phase, hash, index, outcome),
            (Phase::Idle, _) => (Phase::Idle, Vec::new()),
            (_, Event::Stop) => self.halt(vec![E::Status("Stopped.".into())]),
            (_, Event::BrokenKernel(why)) => self.halt(vec![
                E::Problem(Some(format!(
                    "This browser computed a wrong hash ({why}); mining is disabled here."
                ))),
                E::Status("Stopped.".into()),
            ]),
            (Phase::SpeedTest { .. }, Event::SpeedMark { tried, at }) => (
                Phase::SpeedTest {
                    mark: Some((tried, at)),
                },
                Vec::new(),
            ),
            (
                Phase::SpeedTest { mark },
                Event::SpeedEnd {
                    tried,
                    at,
                    workers,
                    kernel,
                },
            ) => {
                let mut effects = Vec::new();
                if let Some((from, since)) = mark {
                    let secs = at.saturating_sub(since).max(1) as f64 / 1000.0;
                    let rate = tried.saturating_sub(from) as f64 / secs;
                    effects.push(E::Speed(Some((rate, workers, kernel))));
                }
                effects.push(E::Status("Speed test finished.".into()));
                self.halt(effects)
            }
            (phase @ Phase::SpeedTest { .. }, _) => (phase, Vec::new()),
            (phase, Event::PollDue) => self.poll(phase),
            (phase, Event::Polled(poll)) => {
                self.polling = false;
                self.polled(phase, poll)
            }
            (
                Phase::Hashing(job),
                Event::Found {
                    job: n,
                    nonce,
                    hash,
                },
            ) if n == self.job => {
                let mut header = job.header.clone();
                header.nonce = nonce;
                if header.hash() != hash {
                    let problem = "A worker reported a nonce whose hash does not match; it was not submitted.";
                    return (Phase::Hashing(job), vec![E::Problem(Some(problem.into()))]);
                }
                let status = format!(
                    "Found block {}; checking the tip before submitting…",
                    job.work.index
                );
                let etag = job.etag.clone();
                let effects = vec![E::Pause, E::Status(status), E::Recheck(etag)];
                (Phase::Submitting(job, header), effects)
            }
            (Phase::Submitting(job, header), Event::Rechecked(Poll::Unchanged)) => {
                let block = Block {
                    header: header.clone(),
                    votes: job.work.votes.clone(),
                };
                (Phase::Submitting(job, header), vec![E::Submit(block)])
            }
            (Phase::Submitting(job, header), Event::Rechecked(poll)) => {
                // The tip or the votes moved on: the solution is stale, never sent.
                let found = E::Found(FoundBlock {
                    hash: header.hash(),
                    index: job.work.index,
                    fate: Fate::Discarded,
                    reason: "a newer template replaced it".into(),
                });
                match poll {
                    Poll::New(work, etag) => {
                        let (phase, mut effects) = self.adopt(*work, etag);
                        effects.insert(0, found);
                        (phase, effects)
                    }
                    _ => (Phase::Fetching, vec![found]),
                }
            }
            (
                phase,
                Event::Submitted {
                    hash,
                    index,
                    outcome,
                },
            ) => self.submitted(phase, hash, index, outcome),
            (phase, _) => (phase, Vec::new()),
        }
    }

    /// Ends the session: workers terminated, later replies stale.
    fn halt(&mut self, mut effects: Vec<Effect>) -> (Phase, Vec<Effect>) {
        self.job += 1;
        self.polling = false;
        effects.insert(0, Effect::Terminate);
        (Phase::Idle, effects)
    }

    fn poll(&mut self, phase: Phase) -> (Phase, Vec<Effect>) {
        if self.polling {
            return (phase, Vec::new());
        }
        let ask = match &phase {
            Phase::Fetching => Effect::FetchWork(None),
            Phase::Hashing(job) | Phase::Waiting(job) => Effect::FetchWork(Some(job.etag.clone())),
            Phase::Watching => Effect::FetchPool,
            // The check before submitting asks the same question.
            Phase::Idle | Phase::SpeedTest { .. } | Phase::Submitting(..) => {
                return (phase, Vec::new())
            }
        };
        self.polling = true;
        (phase, vec![ask])
    }

    fn polled(&mut self, phase: Phase, poll: Poll) -> (Phase, Vec<Effect>) {
        if matches!(phase, Phase::Submitting(..)) {
            // A poll sent before the find: the check before submitting decides.
            return (phase, Vec::new());
        }
        match poll {
            Poll::Unchanged => (phase, Vec::new()),
            Poll::New(work, etag) => self.adopt(*work, etag),
            Poll::PoolSize(0) => (phase, Vec::new()),
            Poll::PoolSize(_) => {
                self.polling = true;
                (phase, vec![Effect::FetchWork(None)])
            }
            Poll::Unreachable(why) => (
                phase,
                vec![Effect::Status(format!(
                    "Cannot reach the server ({why}); trying again every second."
                ))],
            ),
            Poll::Refused(body) => {
                let watch = matches!(body.error, ErrorCode::NothingToMine | ErrorCode::WrongState);
                let next = if watch {
                    Phase::Watching
                } else {
                    Phase::Fetching
                };
                let effects = vec![
                    Effect::Pause,
                    Effect::Difficulty(None),
                    Effect::Status(refusal_text(&body, self.closed)),
                ];
                (next, effects)
            }
        }
    }

    /// A new template: every worker restarts on it under a new job number.
    fn adopt(&mut self, work: WorkTemplate, etag: String) -> (Phase, Vec<Effect>) {
        let mut header = work.header.clone();
        header.miner_tag = MinerTag::from_text(&self.tag);
        header.nonce = 0;
        self.job += 1;
        let votes = work.votes.len();
        let status = format!(
            "Mining block {} with {votes} vote{} on tip {}…",
            work.index,
            if votes == 1 { "" } else { "s" },
            &work.prev.to_string()[..12],
        );
        let effects = vec![
            Effect::Difficulty(Some(work.difficulty)),
            Effect::Status(status),
            Effect::Assign {
                job: self.job,
                header: header.clone(),
            },
        ];
        (
            Phase::Hashing(Box::new(Job { work, etag, header })),
            effects,
        )
    }

    /// The server's answer to a block: recorded whatever the page does now (the block was
    /// sent); the phase moves on only if the page was waiting for this answer.
    fn submitted(
        &mut self,
        phase: Phase,
        hash: BlockHash,
        index: u64,
        outcome: Submission,
    ) -> (Phase, Vec<Effect>) {
        let found = |fate, reason: String| {
            Effect::Found(FoundBlock {
                hash,
                index,
                fate,
                reason,
            })
        };
        let current = matches!(&phase, Phase::Submitting(_, h) if h.hash() == hash);
        let (effects, next) = match outcome {
            Submission::Accepted => (
                vec![
                    found(Fate::Block(BlockStatus::Awaiting), String::new()),
                    Effect::Status(format!(
                        "Block {index} found and submitted; validators are checking it. Mining resumes when the tip or the waiting votes change."
                    )),
                ],
                Waits,
            ),
            Submission::Refused(code, message) => {
                let fate = match code {
                    ErrorCode::Stale => Fate::Block(BlockStatus::Stale),
                    ErrorCode::Duplicate => Fate::Duplicate,
                    _ => Fate::Refused,
                };
                (vec![found(fate, message)], Refetch)
            }
            Submission::Unreachable(why) => (
                vec![Effect::Problem(Some(format!(
                    "Could not submit block {index}: {why}"
                )))],
                Refetch,
            ),
        };
        if !current {
            let effects = effects
                .into_iter()
                .filter(|e| matches!(e, Effect::Found(_)))
                .collect();
            return (phase, effects);
        }
        let Phase::Submitting(job, _) = phase else {
            return (phase, effects);
        };
        match next {
            Waits => (Phase::Waiting(job), effects),
            Refetch => (Phase::Fetching, effects),
        }
    }
}

/// Where a mining session goes after a submission's answer.
enum After {
    Waits,
    Refetch,
}
use After::{Refetch, Waits};

/// Why there is nothing to mine, in the volunteer's words.
fn refusal_text(f: &ErrorBody, closed: bool) -> String {
    match f.error {
        ErrorCode::NothingToMine if closed => "Voting has closed and every vote is already in a block: nothing is left to mine. Thank you for helping.".to_owned(),
        ErrorCode::NothingToMine => format!("Nothing to mine right now: {}. This page checks every second and starts again as soon as new votes arrive.", f.message),
        ErrorCode::WrongState => "Voting has not opened in this election yet, so there is no chain to mine. This page keeps checking.".to_owned(),
        ErrorCode::NotFound => "There is no such election.".to_owned(),
        _ => f.message.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ledger::{BlockHash, ElectionId, MerkleRoot, PowSearch};

    fn template(index: u64, tip: u8) -> WorkTemplate {
        let header = BlockHeader {
            version: ledger::FORMAT_VERSION,
            election: ElectionId(1),
            index,
            prev: BlockHash([tip; 32]),
            merkle_root: MerkleRoot([7; 32]),
            timestamp: 1_000,
            difficulty: 4,
            miner_tag: MinerTag::default(),
            nonce: 0,
        };
        WorkTemplate {
            election: ElectionId(1),
            index,
            prev: header.prev,
            difficulty: 4,
            min_timestamp: 0,
            votes: Vec::new(),
            header,
        }
    }

    fn refused(error: ErrorCode) -> Poll {
        Poll::Refused(ErrorBody {
            error,
            message: "refused".into(),
            details: Vec::new(),
        })
    }

    /// A machine mining `template(1, 0)` under the tag "t1".
    fn hashing() -> Machine {
        let mut m = Machine::new(false);
        m.step(Event::Start {
            tag: " vol ".into(),
        });
        m.step(Event::PollDue);
        m.step(Event::Polled(Poll::New(
            Box::new(template(1, 0)),
            "t1".into(),
        )));
        m
    }

    /// A solution of the current job.
    fn solve(m: &Machine) -> Event {
        let Phase::Hashing(job) = m.phase() else {
            panic!("not hashing: {:?}", m.phase())
        };
        let r = PowSearch::new(&job.header).search(0..u64::MAX, job.header.difficulty);
        let mut header = job.header.clone();
        header.nonce = r.solution.unwrap();
        Event::Found {
            job: m.job(),
            nonce: header.nonce,
            hash: header.hash(),
        }
    }

    fn assigned(effects: &[Effect]) -> Option<(u64, BlockHeader)> {
        effects.iter().find_map(|e| match e {
            Effect::Assign { job, header } => Some((*job, header.clone())),
            _ => None,
        })
    }

    #[test]
    fn start_spawns_workers_and_polls_for_a_template_which_every_worker_gets() {
        let mut m = Machine::new(false);
        let effects = m.step(Event::Start {
            tag: " vol ".into(),
        });
        assert!(effects.contains(&Effect::SpawnWorkers));
        assert!(effects.contains(&Effect::StartPolling));
        assert_eq!(m.phase(), &Phase::Fetching);
        assert_eq!(m.step(Event::PollDue), vec![Effect::FetchWork(None)]);
        assert_eq!(m.step(Event::PollDue), vec![], "one poll at a time");
        let effects = m.step(Event::Polled(Poll::New(
            Box::new(template(1, 0)),
            "t1".into(),
        )));
        let (job, header) = assigned(&effects).unwrap();
        assert_eq!(job, m.job());
        assert_eq!(header.miner_tag, MinerTag::from_text("vol"));
        assert!(effects.contains(&Effect::Difficulty(Some(4))));
        assert_eq!(
            m.step(Event::PollDue),
            vec![Effect::FetchWork(Some("t1".into()))],
            "later polls send the tag"
        );
        assert_eq!(m.step(Event::Polled(Poll::Unchanged)), vec![]);
    }

    #[test]
    fn a_new_template_restarts_every_worker_under_a_new_job() {
        let mut m = hashing();
        let old = m.job();
        m.step(Event::PollDue);
        let effects = m.step(Event::Polled(Poll::New(
            Box::new(template(2, 1)),
            "t2".into(),
        )));
        let (job, header) = assigned(&effects).unwrap();
        assert_eq!(job, old + 1);
        assert_eq!(header.index, 2);
        // A solution of the old job is stale.
        let stale = Event::Found {
            job: old,
            nonce: 1,
            hash: BlockHash([0; 32]),
        };
        assert_eq!(m.step(stale), vec![]);
    }

    #[test]
    fn a_solution_is_checked_against_the_tip_then_submitted_and_the_page_waits() {
        let mut m = hashing();
        let found = solve(&m);
        let effects = m.step(found);
        assert_eq!(effects[0], Effect::Pause);
        assert!(effects.contains(&Effect::Recheck("t1".into())));
        assert_eq!(m.step(Event::PollDue), vec![], "no poll while submitting");
        let effects = m.step(Event::Rechecked(Poll::Unchanged));
        let Some(Effect::Submit(block)) = effects.first() else {
            panic!("{effects:?}")
        };
        assert!(ledger::meets_difficulty(&block.hash(), 4));
        let (hash, index) = (block.hash(), block.header.index);
        let effects = m.step(Event::Submitted {
            hash,
            index,
            outcome: Submission::Accepted,
        });
        assert!(
            matches!(&effects[0], Effect::Found(f) if f.fate == Fate::Block(BlockStatus::Awaiting) && f.hash == hash)
        );
        assert!(matches!(m.phase(), Phase::Waiting(_)));
        // Waiting polls with the same tag; a new template resumes mining.
        assert_eq!(
            m.step(Event::PollDue),
            vec![Effect::FetchWork(Some("t1".into()))]
        );
        let effects = m.step(Event::Polled(Poll::New(
            Box::new(template(2, 9)),
            "t2".into(),
        )));
        assert!(assigned(&effects).is_some());
        assert!(matches!(m.phase(), Phase::Hashing(_)));
    }

    #[test]
    fn a_solution_whose_template_changed_meanwhile_is_never_sent() {
        let mut m = hashing();
        let found = solve(&m);
        m.step(found);
        let effects = m.step(Event::Rechecked(Poll::New(
            Box::new(template(2, 3)),
            "t2".into(),
        )));
        assert!(matches!(&effects[0], Effect::Found(f) if f.fate == Fate::Discarded));
        assert!(!effects.iter().any(|e| matches!(e, Effect::Submit(_))));
        assert!(
            assigned(&effects).is_some(),
            "mining goes on with the new template"
        );
    }

    #[test]
    fn a_worker_reporting_a_wrong_hash_is_not_believed() {
        let mut m = hashing();
        let Event::Found { job, nonce, .. } = solve(&m) else {
            unreachable!()
        };
        let effects = m.step(Event::Found {
            job,
            nonce,
            hash: BlockHash([9; 32]),
        });
        assert!(matches!(&effects[..], [Effect::Problem(Some(_))]));
        assert!(matches!(m.phase(), Phase::Hashing(_)));
    }

    #[test]
    fn a_stale_or_refused_block_is_recorded_and_mining_starts_over() {
        let outcomes = [
            (ErrorCode::Stale, Fate::Block(BlockStatus::Stale)),
            (ErrorCode::Duplicate, Fate::Duplicate),
            (ErrorCode::BadMerkleRoot, Fate::Refused),
        ];
        for (code, fate) in outcomes {
            let mut m = hashing();
            let found = solve(&m);
            m.step(found);
            let Effect::Submit(block) = m.step(Event::Rechecked(Poll::Unchanged)).remove(0) else {
                unreachable!()
            };
            let effects = m.step(Event::Submitted {
                hash: block.hash(),
                index: 1,
                outcome: Submission::Refused(code, "no".into()),
            });
            assert!(matches!(&effects[0], Effect::Found(f) if f.fate == fate && f.reason == "no"));
            assert_eq!(m.phase(), &Phase::Fetching);
            assert_eq!(m.step(Event::PollDue), vec![Effect::FetchWork(None)]);
        }
    }

    #[test]
    fn with_nothing_to_mine_the_page_watches_the_pool_and_resumes_when_votes_wait() {
        let mut m = Machine::new(false);
        m.step(Event::Start { tag: String::new() });
        m.step(Event::PollDue);
        let effects = m.step(Event::Polled(refused(ErrorCode::NothingToMine)));
        assert_eq!(effects[0], Effect::Pause);
        assert!(
            matches!(&effects[2], Effect::Status(s) if s.starts_with("Nothing to mine right now"))
        );
        assert_eq!(m.phase(), &Phase::Watching);
        assert_eq!(m.step(Event::PollDue), vec![Effect::FetchPool]);
        assert_eq!(m.step(Event::Polled(Poll::PoolSize(0))), vec![]);
        assert_eq!(m.step(Event::PollDue), vec![Effect::FetchPool]);
        assert_eq!(
            m.step(Event::Polled(Poll::PoolSize(2))),
            vec![Effect::FetchWork(None)]
        );
        let effects = m.step(Event::Polled(Poll::New(
            Box::new(template(1, 0)),
            "t".into(),
        )));
        assert!(assigned(&effects).is_some());

        let mut closed = Machine::new(true);
        closed.step(Event::Start { tag: String::new() });
        closed.step(Event::PollDue);
        let effects = closed.step(Event::Polled(refused(ErrorCode::NothingToMine)));
        assert!(matches!(&effects[2], Effect::Status(s) if s.contains("nothing is left to mine")));
    }

    #[test]
    fn stop_terminates_the_workers_and_later_replies_change_nothing() {
        let mut m = hashing();
        let found = solve(&m);
        let effects = m.step(Event::Stop);
        assert_eq!(effects[0], Effect::Terminate);
        assert_eq!(m.phase(), &Phase::Idle);
        assert_eq!(m.step(found), vec![]);
        assert_eq!(m.step(Event::PollDue), vec![]);
        assert_eq!(
            m.step(Event::Polled(Poll::New(
                Box::new(template(1, 0)),
                "t".into()
            ))),
            vec![]
        );
        // Start again: a fresh session.
        assert!(m
            .step(Event::Start { tag: String::new() })
            .contains(&Effect::SpawnWorkers));
    }

    #[test]
    fn a_block_sent_before_stop_is_still_recorded() {
        let mut m = hashing();
        let found = solve(&m);
        m.step(found);
        let Effect::Submit(block) = m.step(Event::Rechecked(Poll::Unchanged)).remove(0) else {
            unreachable!()
        };
        m.step(Event::Stop);
        let effects = m.step(Event::Submitted {
            hash: block.hash(),
            index: 1,
            outcome: Submission::Accepted,
        });
        assert!(
            matches!(&effects[..], [Effect::Found(f)] if f.fate == Fate::Block(BlockStatus::Awaiting)),
            "{effects:?}"
        );
        assert_eq!(m.phase(), &Phase::Idle);
    }

    #[test]
    fn the_speed_test_measures_its_window_then_stops() {
        let mut m = Machine::new(false);
        let mut header = template(1, 0).header;
        header.difficulty = u8::MAX;
        let effects = m.step(Event::SpeedTest {
            header: header.clone(),
        });
        assert!(effects.contains(&Effect::SpawnWorkers));
        assert!(effects.contains(&Effect::SpeedTimers));
        assert_eq!(assigned(&effects).unwrap().1, header);
        assert_eq!(
            m.step(Event::Start { tag: String::new() }),
            vec![],
            "one thing at a time"
        );
        m.step(Event::SpeedMark {
            tried: 1_000,
            at: 1_000,
        });
        let effects = m.step(Event::SpeedEnd {
            tried: 6_000,
            at: 6_000,
            workers: 2,
            kernel: "scalar".into(),
        });
        assert_eq!(effects[0], Effect::Terminate);
        assert!(effects.contains(&Effect::Speed(Some((1_000.0, 2, "scalar".into())))));
        assert_eq!(m.phase(), &Phase::Idle);
    }

    #[test]
    fn a_broken_kernel_stops_everything_with_the_reason() {
        let mut m = hashing();
        let effects = m.step(Event::BrokenKernel("scalar: vector 3 differs".into()));
        assert_eq!(effects[0], Effect::Terminate);
        assert!(matches!(&effects[1], Effect::Problem(Some(p)) if p.contains("vector 3 differs")));
        assert_eq!(m.phase(), &Phase::Idle);
    }
}
