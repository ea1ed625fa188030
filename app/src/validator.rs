//! The validator's dashboard (`/validator`): the blocks awaiting approval in the
//! validator's elections, every check with its result, quorum progress and the validator's
//! own history. Deciding happens in this browser, in web workers of their own (crate
//! `workers`): the validator unlocks their key (from their key file, or the copy remembered
//! in this browser) in the key worker, where it stays; the checker worker keeps this
//! browser's own copy of each election's chain in IndexedDB, follows it block by block and
//! checks each awaiting block against it; only when the copy is extended by the served
//! chain, the block passes and the genesis block lists the key does the key worker sign
//! the approval the page sends. When the served chain no longer holds what this browser
//! verified, the page raises the alarm and approves nothing. The server never holds the
//! key, so without JavaScript the page points to the command line (`ballotchain
//! approve|reject`).

mod machine;

use crate::loaded::loaded;
use crate::notice;
use ledger::{BlockHash, ElectionId, PublicKey};
use leptos::prelude::*;
use serde::{Deserialize, Serialize};

/// A block awaiting the validator.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct QueueBlock {
    /// Election id.
    pub election: ElectionId,
    /// Election title.
    pub election_title: String,
    /// Block hash.
    pub hash: BlockHash,
    /// Height.
    pub index: u64,
    /// Votes carried.
    pub votes: u64,
    /// Approvals needed.
    pub quorum: u16,
    /// Validators who approved so far.
    pub approved_by: Vec<String>,
    /// Validators who rejected so far.
    pub rejected_by: Vec<String>,
    /// Whether this validator has already decided.
    pub decided_by_me: bool,
    /// Every check, run by the server against the current tip.
    pub checks: Vec<ledger::Check>,
}

/// Everything the dashboard shows.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Dashboard {
    /// Signed-in validator.
    pub username: String,
    /// The key enrolled for this account (none while an officer's re-enrolment is pending).
    pub public_key: Option<PublicKey>,
    /// Blocks awaiting this validator's elections: this page of them.
    pub queue: Vec<QueueBlock>,
    /// Blocks awaiting in all.
    pub awaiting: usize,
    /// This page (from 1) and how many there are.
    pub page: usize,
    pub pages: usize,
    /// This validator's decisions, newest first.
    pub history: Vec<wire::PastDecision>,
    /// The sealed elections this validator is enrolled in (id, title): this browser keeps
    /// a copy of each one's chain.
    pub elections: Vec<(ElectionId, String)>,
}

/// Blocks shown on one page of the dashboard: each is checked, by the server and again
/// by the validator's browser, so a page stays quick however many blocks await.
pub const BLOCKS_PER_PAGE: usize = 10;

/// The dashboard of the signed-in validator, page `page` (from 1) of the blocks awaiting
/// approval, fullest first in each election; refuses anyone else.
#[server(prefix = "/sfn", endpoint = "validator-dashboard")]
pub async fn validator_dashboard(page: usize) -> Result<Dashboard, ServerFnError> {
    let (account, _) = crate::session::signed_in()
        .await?
        .ok_or_else(|| ServerFnError::new("Sign in as a validator to see this page."))?;
    if account.role != wire::Role::Validator {
        return Err(ServerFnError::new(
            "This page is for validators; you are signed in as an admin.",
        ));
    }
    let node = use_context::<engine::Node>()
        .ok_or_else(|| ServerFnError::new("the election database is not available"))?;
    let fail = |e: engine::EngineError| ServerFnError::new(e.to_string());
    let all = node.validator_queue(account.id).await.map_err(fail)?;
    let awaiting = all.len();
    let pages = awaiting.div_ceil(BLOCKS_PER_PAGE).max(1);
    let page = page.clamp(1, pages);
    let mut queue = Vec::new();
    for queued in all
        .into_iter()
        .skip((page - 1) * BLOCKS_PER_PAGE)
        .take(BLOCKS_PER_PAGE)
    {
        let (election, b) = (queued.election, queued.block);
        let detail = node
            .block_detail(election, wire::BlockRef::Hash(b.hash))
            .await
            .map_err(fail)?;
        let checks = node.block_checks(election, &b.hash).await.map_err(fail)?;
        let by = |approve: bool| {
            detail
                .decisions
                .iter()
                .filter(|d| d.approve == approve)
                .map(|d| d.validator.clone())
                .collect::<Vec<_>>()
        };
        queue.push(QueueBlock {
            election,
            election_title: queued.election_title,
            hash: b.hash,
            index: b.index,
            votes: b.votes,
            quorum: detail.quorum,
            approved_by: by(true),
            rejected_by: by(false),
            decided_by_me: detail
                .decisions
                .iter()
                .any(|d| d.validator == account.username),
            checks: checks.to_vec(),
        });
    }
    let history = node.validator_history(account.id).await.map_err(fail)?;
    let elections = node.validator_elections(account.id).await.map_err(fail)?;
    Ok(Dashboard {
        elections,
        username: account.username,
        public_key: account.public_key,
        queue,
        awaiting,
        page,
        pages,
        history,
    })
}

/// `/validator`
#[component]
pub fn ValidatorPage() -> impl IntoView {
    let notice = notice::from_query();
    // Bumped after each decision: the queue reloads in place.
    let refresh = RwSignal::new(0u32);
    let query = leptos_router::hooks::use_query_map();
    let page = move || {
        query
            .read()
            .get("page")
            .and_then(|p| p.parse::<usize>().ok())
            .unwrap_or(1)
    };
    let data = Resource::new(
        move || (refresh.get(), page()),
        |(_, page)| validator_dashboard(page),
    );
    // Live for the page's lifetime, across reloads of the queue.
    let desk = Desk {
        key: RwSignal::new(None),
        decision: RwSignal::new(machine::Desk::default()),
        refresh,
    };
    // Leaving the page ends the key worker, and the key unlocked in it.
    #[cfg(feature = "hydrate")]
    on_cleanup(workers::dismiss::<workers::keys::KeyWorker>);
    loaded(
        data,
        "Loading your queue…",
        "Validator dashboard",
        true,
        move |d| {
            view! {
                <h1>"Validator dashboard"</h1>
                <crate::signin::SignOutButton username=d.username.clone() />
                {move || notice::view(notice.get())}
                {key_panel(d.username.clone(), d.public_key, desk)}
                {dashboard(d, desk)}
            }
        },
    )
}

/// The public half of the key unlocked in the key worker (the key itself stays there,
/// never sent anywhere, gone when the page closes), and what became of the last decision.
#[derive(Clone, Copy)]
#[cfg_attr(not(feature = "hydrate"), allow(dead_code))]
struct Desk {
    key: RwSignal<Option<PublicKey>>,
    decision: RwSignal<machine::Desk>,
    refresh: RwSignal<u32>,
}

/// Unlocking the key: from the copy remembered in this browser or from the key file.
#[cfg_attr(not(feature = "hydrate"), allow(unused_variables))]
fn key_panel(username: String, enrolled: Option<PublicKey>, desk: Desk) -> impl IntoView {
    let status = RwSignal::new(None::<Result<String, String>>);
    let alive = RwSignal::new(false);
    Effect::new(move |_| alive.set(true));
    // Read after hydration (the server cannot know), so the first render matches.
    let has_copy = RwSignal::new(false);
    let name = StoredValue::new(username);
    #[cfg(feature = "hydrate")]
    Effect::new(move |_| {
        has_copy.set(crate::custody::remembered(&name.get_value()).is_some());
    });
    let fields = KeyFields {
        file: NodeRef::new(),
        remember: NodeRef::new(),
        passphrase: NodeRef::new(),
    };
    let unlock = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        #[cfg(feature = "hydrate")]
        leptos::task::spawn_local(async move {
            status.set(Some(Ok("Opening your key…".into())));
            match unlock_here(name.get_value(), enrolled, has_copy, fields).await {
                Ok((public, problems)) => {
                    status.set((!problems.is_empty()).then(|| Err(problems.join(" "))));
                    desk.key.set(Some(public));
                }
                Err(why) => status.set(Some(Err(why))),
            }
        });
    };
    let forget = move |_| {
        #[cfg(feature = "hydrate")]
        crate::custody::forget(&name.get_value());
        has_copy.set(false);
        status.set(Some(Ok(
            "The copy remembered in this browser is forgotten.".into(),
        )));
    };
    view! {
        <section aria-labelledby="key-h" class="key-panel">
            <h2 id="key-h">"Your signing key"</h2>
            <p>
                {match enrolled {
                    Some(key) => format!("Enrolled key: {}. ", wire::fingerprint(&key)),
                    None => "No key is enrolled for your account: use the re-enrolment link the election office sent you. ".to_owned(),
                }}
                "Decisions are signed in this page with your key; the server never holds it."
            </p>
            {move || match desk.key.get() {
                Some(public) => unlocked(public, desk).into_any(),
                None => unlock_form(has_copy, alive, fields, unlock).into_any(),
            }}
            {move || has_copy.get().then(|| view! {
                <button type="button" class="secondary" on:click=forget>"Forget the remembered copy"</button>
            })}
            {move || status.get().map(|s| match s {
                Ok(text) => view! { <p class="notice" role="status">{text}</p> }.into_any(),
                Err(text) => view! { <p class="error" role="alert">{text}</p> }.into_any(),
            })}
            <p class="hint">
                "Without JavaScript, decide from the command line with your key file: "
                <code>"ballotchain approve --server <this site> --election <id> --block <hash> --key my.key"</code>
                " (or "<code>"reject … --reason <text>"</code>")."
            </p>
        </section>
    }
}

/// The key panel's inputs.
#[derive(Clone, Copy)]
#[cfg_attr(not(feature = "hydrate"), allow(dead_code))]
struct KeyFields {
    file: NodeRef<leptos::html::Input>,
    remember: NodeRef<leptos::html::Input>,
    passphrase: NodeRef<leptos::html::Input>,
}

/// The key unlocked in this page, and the button that locks it.
fn unlocked(public: PublicKey, desk: Desk) -> impl IntoView {
    view! {
        <p class="ok" role="status" data-key="unlocked">
            {format!("Key {} is unlocked in this page.", wire::fingerprint(&public))}
        </p>
        <button type="button" class="secondary" on:click=move |_| {
            desk.key.set(None);
            #[cfg(feature = "hydrate")]
            leptos::task::spawn_local(async {
                let _ = workers::keys::lock().await;
            });
        }>"Lock"</button>
    }
}

/// Unlocking the key: the copy remembered here, or a key file, and its passphrase.
fn unlock_form(
    has_copy: RwSignal<bool>,
    alive: RwSignal<bool>,
    fields: KeyFields,
    unlock: impl Fn(leptos::ev::SubmitEvent) + 'static,
) -> impl IntoView {
    view! {
        <form class="ballot" on:submit=unlock>
            {move || if has_copy.get() {
                view! { <p>"A copy of your key file is remembered in this browser (encrypted)."</p> }.into_any()
            } else {
                view! {
                    <label for="key-file">"Key file"</label>
                    <input id="key-file" type="file" accept=".key,.json,application/json" node_ref=fields.file />
                    <label class="choice">
                        <input id="key-remember" type="checkbox" node_ref=fields.remember />
                        "Remember it in this browser (encrypted under its passphrase)"
                    </label>
                }
                .into_any()
            }}
            <label for="key-passphrase">"Key file passphrase"</label>
            <input id="key-passphrase" type="password" autocomplete="current-password" node_ref=fields.passphrase />
            <button type="submit" disabled=move || !alive.get()>"Unlock my key"</button>
        </form>
    }
}

/// Opens the copy remembered here, or the key file chosen, in the key worker: its public
/// half and what the validator should know (another key than the one enrolled, a copy
/// that could not be remembered). A remembered copy of another key is forgotten.
#[cfg(feature = "hydrate")]
async fn unlock_here(
    username: String,
    enrolled: Option<PublicKey>,
    has_copy: RwSignal<bool>,
    fields: KeyFields,
) -> Result<(PublicKey, Vec<String>), String> {
    let remembered = crate::custody::remembered(&username);
    let file = match &remembered {
        Some(file) => file.clone(),
        None => crate::custody::text_of(fields.file)
            .await?
            .ok_or("choose your key file first")?,
    };
    let passphrase = crate::input_value(fields.passphrase);
    let workers::keys::Unlocked { file, public } = workers::keys::open(file, passphrase)
        .await
        .map_err(|e| e.to_string())?;
    let mut problems = Vec::new();
    if enrolled != Some(public) {
        problems.push(format!(
            "This key ({}) is not the one enrolled for your account.",
            wire::fingerprint(&public)
        ));
        if remembered.as_ref() == Some(&file) {
            // A copy of an old key (withdrawn since): make way for the key file.
            crate::custody::forget(&username);
            has_copy.set(false);
            problems.push(
                "The copy remembered in this browser is forgotten; load your key file.".into(),
            );
            let _ = workers::keys::lock().await;
            return Err(problems.join(" "));
        }
    }
    if fields.remember.get_untracked().is_some_and(|r| r.checked()) {
        match crate::custody::remember(&username, &file) {
            Ok(()) => has_copy.set(true),
            Err(e) => problems.push(e),
        }
    }
    Ok((public, problems))
}

fn dashboard(d: Dashboard, desk: Desk) -> impl IntoView {
    let verdicts: Vec<(RwSignal<BrowserVerdict>, RwSignal<Vec<PublicKey>>)> = d
        .queue
        .iter()
        .map(|_| {
            (
                RwSignal::new(BrowserVerdict::Checking),
                RwSignal::new(Vec::new()),
            )
        })
        .collect();
    let copies: Vec<(ElectionId, String, RwSignal<CopyState>)> = d
        .elections
        .iter()
        .map(|(id, title)| (*id, title.clone(), RwSignal::new(CopyState::Checking)))
        .collect();
    #[cfg(feature = "hydrate")]
    {
        let blocks: Vec<_> = d
            .queue
            .iter()
            .zip(&verdicts)
            .map(|(b, (v, listed))| (b.election, b.hash, *v, *listed))
            .collect();
        let elections: Vec<_> = copies.iter().map(|(id, _, state)| (*id, *state)).collect();
        // Effects run only in the browser, once the page is hydrated.
        Effect::new(move |_| check_in_browser(elections.clone(), blocks.clone()));
    }
    let copy_of = {
        let copies = copies.clone();
        move |election: ElectionId| {
            copies
                .iter()
                .find(|(id, _, _)| *id == election)
                .map(|(_, _, state)| *state)
        }
    };
    view! {
        {move || desk.decision.with(|d| d.outcome.clone()).map(|o| match o {
            machine::Outcome::Sent(text) => view! { <p class="ok" role="status">{text}</p> }.into_any(),
            machine::Outcome::Refused(text) => view! { <p class="error" role="alert">{text}</p> }.into_any(),
        })}
        {(!copies.is_empty()).then(|| copies_section(copies.clone(), desk))}
        <section aria-labelledby="queue-h">
            <h2 id="queue-h">{format!("Blocks awaiting approval ({})", d.awaiting)}</h2>
            {(d.pages > 1).then(|| pager(d.page, d.pages))}
            {if d.queue.is_empty() {
                view! { <p class="notice">"Nothing to check right now."</p> }.into_any()
            } else {
                d.queue
                    .into_iter()
                    .zip(verdicts)
                    .map(|(b, (v, listed))| {
                        let copy = copy_of(b.election).unwrap_or_else(|| RwSignal::new(CopyState::Checking));
                        queue_block(b, v, listed, copy, desk)
                    })
                    .collect_view()
                    .into_any()
            }}
        </section>
        {history_section(d.history)}
    }
}

/// The validator's own decisions, newest first.
fn history_section(history: Vec<wire::PastDecision>) -> impl IntoView {
    view! {
    <section aria-labelledby="history-h">
        <h2 id="history-h">"Your decisions"</h2>
        {if history.is_empty() {
            view! { <p class="notice">"None yet."</p> }.into_any()
        } else {
            view! {
                <ul class="history">
                    {history
                        .into_iter()
                        .map(|h| {
                            view! {
                                <li>
                                    <a href=format!("/e/{}/block/{}", h.election, h.hash)>
                                        {format!("Election {} · block {}", h.election, h.index)}
                                    </a>
                                    {if h.decision.approve {
                                        " · approved".to_owned()
                                    } else {
                                        format!(" · rejected: {}", h.decision.reason.unwrap_or_default())
                                    }}
                                </li>
                            }
                        })
                        .collect_view()}
                </ul>
            }
                .into_any()
        }}
    </section>
    }
}

/// Where this browser's copy of an election's chain stands (known only in the browser).
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(not(feature = "hydrate"), allow(dead_code))]
enum CopyState {
    Checking,
    /// Extended by the served chain: what it holds and what this visit fetched.
    Verified {
        height: u64,
        summary: String,
        fetched: u64,
        millis: u64,
        /// Where the time went (for benchmarks).
        timings: String,
    },
    /// The served chain no longer holds what this browser verified (or serves a block
    /// that does not verify): nothing is approved from here.
    Alarm(String),
    /// The check could not run.
    Failed(String),
}

/// This browser's copy of each election's chain: where it stands, and the alarm when the
/// served chain no longer holds it.
#[cfg_attr(not(feature = "hydrate"), allow(unused_variables))]
fn copies_section(
    copies: Vec<(ElectionId, String, RwSignal<CopyState>)>,
    desk: Desk,
) -> impl IntoView {
    view! {
        <section aria-labelledby="copies-h">
            <h2 id="copies-h">"This browser's copy of the chain"</h2>
            <ul class="copies">
                {copies
                    .into_iter()
                    .map(|(election, title, state)| {
                        let forget = move |_| {
                            #[cfg(feature = "hydrate")]
                            leptos::task::spawn_local(async move {
                                let _ = workers::checker::forget(election).await;
                                desk.refresh.update(|n| *n += 1);
                            });
                        };
                        view! {
                            <li data-copy=election.to_string() data-state=move || match state.get() {
                                CopyState::Checking => "checking".to_owned(),
                                CopyState::Verified { .. } => "verified".to_owned(),
                                CopyState::Alarm(_) => "alarm".to_owned(),
                                CopyState::Failed(_) => "failed".to_owned(),
                            }
                            data-height=move || match state.get() {
                                CopyState::Verified { height, .. } => height.to_string(),
                                _ => String::new(),
                            }
                            data-fetched=move || match state.get() {
                                CopyState::Verified { fetched, .. } => fetched.to_string(),
                                _ => String::new(),
                            }
                            data-millis=move || match state.get() {
                                CopyState::Verified { millis, .. } => millis.to_string(),
                                _ => String::new(),
                            }
                            data-timings=move || match state.get() {
                                CopyState::Verified { timings, .. } => timings,
                                _ => String::new(),
                            }>
                                <strong>{title}</strong>": "
                                {move || match state.get() {
                                    CopyState::Checking => view! {
                                        <span>"checking… (needs JavaScript)"</span>
                                    }.into_any(),
                                    CopyState::Verified { summary, .. } => view! { <span>{summary}</span> }.into_any(),
                                    CopyState::Failed(e) => view! {
                                        <span class="error">{format!("this browser could not check the chain: {e}.")}</span>
                                    }.into_any(),
                                    CopyState::Alarm(e) => view! {
                                        <div class="alarm" role="alert">
                                            <p><strong>"Alarm: the served chain no longer holds what this browser verified. "</strong>{e}"."</p>
                                            <p>"Approving is disabled in this election. Tell the election office and the other validators, and compare heads with "
                                                <code>"ballotchain verify <this site>/api/elections/<id>/export --expect <height>:<hash>"</code>"."</p>
                                            <button type="button" class="secondary" on:click=forget>"Forget this browser's copy"</button>
                                        </div>
                                    }.into_any(),
                                }}
                            </li>
                        }
                    })
                    .collect_view()}
            </ul>
        </section>
    }
}

/// Which page of the queue this is, with links to the pages before and after.
fn pager(page: usize, pages: usize) -> impl IntoView {
    view! {
        <nav class="pager" aria-label="Pages of the queue">
            {(page > 1).then(|| view! { <a href=format!("/validator?page={}", page - 1)>"← Previous"</a> })}
            <span>{format!(" Page {page} of {pages}, {BLOCKS_PER_PAGE} blocks a page ")}</span>
            {(page < pages).then(|| view! { <a href=format!("/validator?page={}", page + 1)>"Next →"</a> })}
        </nav>
    }
}

/// A block the browser checks: where it is, and the signals its verdict and the genesis
/// block's validator keys go to.
#[cfg(feature = "hydrate")]
type Watched = (
    ElectionId,
    BlockHash,
    RwSignal<BrowserVerdict>,
    RwSignal<Vec<PublicKey>>,
);

/// What the validator's own browser concluded about a block (decided only in the browser).
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(not(feature = "hydrate"), allow(dead_code))]
enum BrowserVerdict {
    Checking,
    Passed(String),
    Failed(String),
}

/// The validator's own check, in the checker worker: per election, this browser's copy
/// is brought to the served head (from the genesis block on a first visit, only the new
/// blocks after that), then each awaiting block is checked against it.
#[cfg(feature = "hydrate")]
fn check_in_browser(elections: Vec<(ElectionId, RwSignal<CopyState>)>, blocks: Vec<Watched>) {
    leptos::task::spawn_local(async move {
        for (election, state) in elections {
            let mine: Vec<_> = blocks.iter().filter(|b| b.0 == election).collect();
            let answer =
                workers::checker::check(election, mine.iter().map(|b| b.1).collect()).await;
            let workers::checker::Checked { copy, verdicts } = match answer {
                Ok(checked) => checked,
                Err(e) => {
                    let e = e.to_string();
                    state.set(CopyState::Failed(e.clone()));
                    for (_, _, verdict, _) in &mine {
                        verdict.set(BrowserVerdict::Failed(e.clone()));
                    }
                    continue;
                }
            };
            state.set(match &copy.alarm {
                Some(alarm) => CopyState::Alarm(alarm.clone()),
                None => CopyState::Verified {
                    height: copy.height,
                    fetched: copy.fetched,
                    millis: copy.millis,
                    timings: format!(
                        "load {} ms, fetch {} ms, verify {} ms, store {} ms",
                        copy.timings.load,
                        copy.timings.fetch,
                        copy.timings.verify,
                        copy.timings.store
                    ),
                    summary: copy_summary(&copy),
                },
            });
            for ((_, _, verdict, listed), v) in mine.iter().zip(verdicts) {
                listed.set(copy.validators.clone());
                verdict.set(match v {
                    Ok(m) => BrowserVerdict::Passed(m),
                    Err(m) => BrowserVerdict::Failed(m),
                });
            }
        }
    });
}

#[cfg(feature = "hydrate")]
fn copy_summary(copy: &workers::checker::CopyReport) -> String {
    let blocks = |n: u64| format!("{n} block{}", if n == 1 { "" } else { "s" });
    let visit = if copy.started {
        format!(
            "verified from the genesis block on this visit ({}, with every approval) in {} ms",
            blocks(copy.fetched),
            copy.millis
        )
    } else if copy.fetched > 0 {
        format!(
            "this visit fetched and verified {} after the head it held, in {} ms",
            blocks(copy.fetched),
            copy.millis
        )
    } else {
        format!("at the served head already (checked in {} ms)", copy.millis)
    };
    format!(
        "block {} ({}), from genesis block {}; {visit}.",
        copy.height, copy.tip, copy.genesis
    )
}

impl Desk {
    /// Moves the decision on and carries out what it asks.
    fn send(self, event: machine::Event) {
        crate::machine::drive(self.decision, event, |effect| self.carry_out(effect));
    }

    /// One effect, in the browser: the key worker's, the server's or the checker's answer
    /// comes back as the next event.
    #[cfg_attr(not(feature = "hydrate"), allow(unused_variables))]
    fn carry_out(self, effect: machine::Effect) {
        use machine::Effect;
        match effect {
            Effect::Relock => self.key.set(None),
            Effect::Refresh => self.refresh.update(|n| *n += 1),
            #[cfg(feature = "hydrate")]
            Effect::SignAndSend(on) => leptos::task::spawn_local(async move {
                self.send(machine::Event::Sent(sign_and_send(on).await));
            }),
            #[cfg(feature = "hydrate")]
            Effect::Pin {
                election,
                height,
                hash,
            } => leptos::task::spawn_local(async move {
                let kept = workers::checker::pin(election, height, hash)
                    .await
                    .map_err(|e| e.to_string());
                self.send(machine::Event::Pinned(kept));
            }),
            #[cfg(not(feature = "hydrate"))]
            _ => {}
        }
    }

    /// Approve or Reject pressed on a block: the decision with what this page knows.
    fn decide(self, on: machine::OnBlock, listed: RwSignal<Vec<PublicKey>>) {
        self.send(machine::Event::Decide {
            on,
            key: self.key.get_untracked(),
            listed: listed.get_untracked(),
        });
    }
}

/// Signs the decision in the key worker and sends it: the block after, or why not.
#[cfg(feature = "hydrate")]
async fn sign_and_send(on: machine::OnBlock) -> Result<wire::BlockSummary, machine::NotSent> {
    use machine::{Decision, NotSent};
    use workers::keys::KeyError;
    let refused = |e: KeyError| match e {
        KeyError::Locked => NotSent::Locked,
        e => NotSent::Refused(e.to_string()),
    };
    let (election, hash) = (on.election, on.hash);
    let sent = match on.decision {
        Decision::Approve => {
            let a = workers::keys::approve(hash).await.map_err(refused)?;
            let body = wire::SignedApproval {
                validator: a.validator,
                signature: a.signature,
            };
            crate::custody::post_json(&wire::paths::approve(election, hash), &body).await
        }
        Decision::Reject(reason) => {
            let r = workers::keys::reject(hash, reason).await.map_err(refused)?;
            let body = wire::SignedRejection {
                validator: r.validator,
                signature: r.signature,
                reason: r.reason,
            };
            crate::custody::post_json(&wire::paths::reject(election, hash), &body).await
        }
    };
    sent.map_err(NotSent::Refused)
}

/// "1 of 2 approvals (alice) · rejected by bob".
fn approvals(b: &QueueBlock) -> String {
    let by = |names: &[String], before: &str, after: &str| {
        if names.is_empty() {
            String::new()
        } else {
            format!("{before}{}{after}", names.join(", "))
        }
    };
    format!(
        "{} of {} approvals{}{}",
        b.approved_by.len(),
        b.quorum,
        by(&b.approved_by, " (", ")"),
        by(&b.rejected_by, " · rejected by ", ""),
    )
}

/// The server's checks of a block against the current tip.
fn checks_table(checks: Vec<ledger::Check>) -> impl IntoView {
    view! {
        <table class="checks">
            <caption>"Checks run against the current tip"</caption>
            <thead>
                <tr><th scope="col">"Check"</th><th scope="col">"Result"</th><th scope="col">"Details"</th></tr>
            </thead>
            <tbody>
                {checks
                    .into_iter()
                    .map(|c| {
                        view! {
                            <tr class=if c.passed { "pass" } else { "fail" }>
                                <td>{c.name}</td>
                                <td>{if c.passed { "✓ pass" } else { "✗ fail" }}</td>
                                <td class="detail">{c.detail}</td>
                            </tr>
                        }
                    })
                    .collect_view()}
            </tbody>
        </table>
    }
}

/// This browser's own check of a block.
fn browser_check(verdict: RwSignal<BrowserVerdict>) -> impl IntoView {
    view! {
        <p class="browser-check" data-verdict=move || match verdict.get() {
            BrowserVerdict::Checking => "checking",
            BrowserVerdict::Passed(_) => "passed",
            BrowserVerdict::Failed(_) => "failed",
        }>
            <strong>"Your browser's own check (WebAssembly): "</strong>
            {move || match verdict.get() {
                BrowserVerdict::Checking => {
                    "checking this block against this browser's copy of the chain… (needs JavaScript)".to_owned()
                }
                BrowserVerdict::Passed(m) => format!("✓ passed: {m}."),
                BrowserVerdict::Failed(m) => format!("✗ failed: {m}."),
            }}
        </p>
    }
}

fn queue_block(
    b: QueueBlock,
    verdict: RwSignal<BrowserVerdict>,
    listed: RwSignal<Vec<PublicKey>>,
    copy: RwSignal<CopyState>,
    desk: Desk,
) -> impl IntoView {
    let all_pass = b.checks.iter().all(|c| c.passed);
    let browser_ok = move || {
        matches!(verdict.get(), BrowserVerdict::Passed(_))
            && matches!(copy.get(), CopyState::Verified { .. })
    };
    let unlocked = move || desk.key.with(|k| k.is_some());
    let progress = approvals(&b);
    let (election, hash) = (b.election, b.hash);
    let on = move |decision| machine::OnBlock {
        election,
        hash,
        decision,
    };
    let reason = NodeRef::<leptos::html::Input>::new();
    let busy = move || desk.decision.with(|d| d.busy());
    view! {
        <article class="queue-block" data-block=b.hash.to_hex()>
            <h3>
                <a href=format!("/e/{}/block/{}", b.election, b.hash)>
                    {format!("{} · block {}", b.election_title, b.index)}
                </a>
            </h3>
            <p class="hash">{b.hash.to_hex()}</p>
            <p>{format!("{} vote{} · {progress}", b.votes, if b.votes == 1 { "" } else { "s" })}</p>
            {checks_table(b.checks)}
            {browser_check(verdict)}
            {if b.decided_by_me {
                view! { <p class="notice">"You have decided on this block."</p> }.into_any()
            } else {
                view! {
                    <div class="decide">
                        {all_pass
                            .then(|| {
                                view! {
                                    // Offered only once this browser's own copy is extended
                                    // by the served chain, its check of the block passed
                                    // and the key is unlocked.
                                    <button type="button" class="approve"
                                        disabled=move || !browser_ok() || !unlocked() || busy()
                                        on:click=move |_| desk.decide(on(machine::Decision::Approve), listed)>
                                        "Approve"
                                    </button>
                                }
                            })}
                        <form class="inline-form" on:submit=move |ev: leptos::ev::SubmitEvent| {
                            ev.prevent_default();
                            let why = crate::input_value(reason);
                            desk.decide(on(machine::Decision::Reject(why)), listed);
                        }>
                            <label for=format!("reason-{}", b.hash)>"Reason"</label>
                            <input id=format!("reason-{}", b.hash) type="text" required maxlength="500" node_ref=reason />
                            <button type="submit" class="danger" disabled=move || !unlocked() || busy()>"Reject"</button>
                        </form>
                    </div>
                }
                    .into_any()
            }}
        </article>
    }
}
