//! The validator's dashboard (`/validator`) and its actions: the blocks awaiting approval
//! in the validator's elections, every check with its result, approve or reject with a
//! reason, quorum progress and the validator's own history. The decision forms are
//! `ActionForm`s and post without JavaScript too (approving waits for the browser's own
//! check, so it needs JavaScript in practice).

use crate::notice::{self, Notice};
use ledger::{BlockHash, ElectionId};
use leptos::prelude::*;
use serde::{Deserialize, Serialize};

/// One check on a block and its outcome.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CheckRow {
    /// What is checked.
    pub name: String,
    /// Passed or not.
    pub passed: bool,
    /// The figures behind it.
    pub detail: String,
}

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
    pub checks: Vec<CheckRow>,
}

/// Everything the dashboard shows.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Dashboard {
    /// Signed-in validator.
    pub username: String,
    /// Token the decision forms echo back.
    pub csrf: String,
    /// Blocks awaiting this validator's elections.
    pub queue: Vec<QueueBlock>,
    /// This validator's decisions, newest first.
    pub history: Vec<wire::PastDecision>,
}

/// The dashboard of the signed-in validator; refuses anyone else.
#[server(prefix = "/sfn")]
pub async fn validator_dashboard() -> Result<Dashboard, ServerFnError> {
    let (account, csrf) = crate::session::signed_in()
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
    let mut queue = Vec::new();
    for queued in node.validator_queue(account.id).await.map_err(fail)? {
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
            checks: checks
                .into_iter()
                .map(|c| CheckRow {
                    name: c.name,
                    passed: c.passed,
                    detail: c.detail,
                })
                .collect(),
        });
    }
    let history = node.validator_history(account.id).await.map_err(fail)?;
    Ok(Dashboard {
        username: account.username,
        csrf,
        queue,
        history,
    })
}

/// Approves an awaiting block: the server signs its hash with this validator's key (the
/// key still lives on the server; see the issue on validators' keys).
#[server(prefix = "/sfn", endpoint = "validator/approve")]
pub async fn approve_block(
    #[server(default)] csrf: String,
    election: ElectionId,
    block: BlockHash,
) -> Result<(), ServerFnError> {
    let (node, account) =
        match crate::guard::guard(Some(wire::Role::Validator), &csrf, "/validator").await {
            Ok(allowed) => allowed,
            Err(to) => return crate::guard::go(&to),
        };
    let result = node.approve(election, &block, account.id).await;
    crate::guard::go(&decided(result, Notice::Approved).on("/validator"))
}

/// Rejects an awaiting block with a reason for the record.
#[server(prefix = "/sfn", endpoint = "validator/reject")]
pub async fn reject_block(
    #[server(default)] csrf: String,
    election: ElectionId,
    block: BlockHash,
    #[server(default)] reason: String,
) -> Result<(), ServerFnError> {
    let (node, account) =
        match crate::guard::guard(Some(wire::Role::Validator), &csrf, "/validator").await {
            Ok(allowed) => allowed,
            Err(to) => return crate::guard::go(&to),
        };
    let result = node.reject(election, &block, account.id, &reason).await;
    crate::guard::go(&decided(result, Notice::Rejected).on("/validator"))
}

/// A decision's notice: a block decided or gone stale meanwhile is no longer awaiting.
#[cfg(feature = "ssr")]
fn decided(result: Result<wire::BlockSummary, engine::EngineError>, done: Notice) -> Notice {
    match crate::guard::outcome(result, done) {
        Notice::WrongState => Notice::NoLongerAwaiting,
        other => other,
    }
}

/// `/validator`
#[component]
pub fn ValidatorPage() -> impl IntoView {
    let notice = notice::from_query();
    let approve = ServerAction::<ApproveBlock>::new();
    let reject = ServerAction::<RejectBlock>::new();
    // With JavaScript, a decision refreshes the queue in place.
    let data = Resource::new(
        move || (approve.version().get(), reject.version().get()),
        |_| validator_dashboard(),
    );
    view! {
        <Suspense fallback=|| view! { <p class="notice">"Loading your queue…"</p> }>
            {move || Suspend::new(async move {
                match data.await {
                    Err(e) => {
                        view! {
                            <h1>"Validator dashboard"</h1>
                            <p class="error" role="alert">{notice::server_error_text(&e)}</p>
                            <p><a href="/login">"Sign in"</a></p>
                        }
                            .into_any()
                    }
                    Ok(d) => dashboard(d, notice, approve, reject).into_any(),
                }
            })}
        </Suspense>
    }
}

fn dashboard(
    d: Dashboard,
    notice: Memo<Option<Notice>>,
    approve: ServerAction<ApproveBlock>,
    reject: ServerAction<RejectBlock>,
) -> impl IntoView {
    let csrf = d.csrf.clone();
    let verdicts: Vec<RwSignal<BrowserVerdict>> = d
        .queue
        .iter()
        .map(|_| RwSignal::new(BrowserVerdict::Checking))
        .collect();
    #[cfg(feature = "hydrate")]
    {
        let blocks: Vec<_> = d
            .queue
            .iter()
            .zip(&verdicts)
            .map(|(b, v)| (b.election, b.hash, *v))
            .collect();
        // Effects run only in the browser, once the page is hydrated.
        Effect::new(move |_| check_in_browser(blocks.clone()));
    }
    view! {
        <h1>"Validator dashboard"</h1>
        <crate::signin::SignOutButton username=d.username.clone() />
        {move || notice::view(notice.get())}
        <section aria-labelledby="queue-h">
            <h2 id="queue-h">{format!("Blocks awaiting approval ({})", d.queue.len())}</h2>
            {if d.queue.is_empty() {
                view! { <p class="notice">"Nothing to check right now."</p> }.into_any()
            } else {
                d.queue
                    .into_iter()
                    .zip(verdicts)
                    .map(|(b, v)| queue_block(b, csrf.clone(), v, approve, reject))
                    .collect_view()
                    .into_any()
            }}
        </section>
        <section aria-labelledby="history-h">
            <h2 id="history-h">"Your decisions"</h2>
            {if d.history.is_empty() {
                view! { <p class="notice">"None yet."</p> }.into_any()
            } else {
                view! {
                    <ul class="history">
                        {d.history
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

/// What the validator's own browser concluded about a block (decided only in the browser).
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(not(feature = "hydrate"), allow(dead_code))]
enum BrowserVerdict {
    Checking,
    Passed(String),
    Failed(String),
}

/// The validator's own check, in WebAssembly: per election, fetches the export once and
/// replays the chain from its genesis (every block and approval); then, per awaiting
/// block, fetches the raw block and runs `ledger::validate_block` against that tip.
#[cfg(feature = "hydrate")]
fn check_in_browser(blocks: Vec<(ElectionId, BlockHash, RwSignal<BrowserVerdict>)>) {
    leptos::task::spawn_local(async move {
        let mut elections: Vec<ElectionId> = blocks.iter().map(|b| b.0).collect();
        elections.dedup();
        for election in elections {
            let chain = crate::fetch_json::<ledger::ChainExport>(format!(
                "/api/elections/{election}/export"
            ))
            .await
            .and_then(|export| {
                let n = export.blocks.len() + 1;
                ledger::replay(&export)
                    .map(|chain| (chain, n))
                    .map_err(|e| format!("the chain does not verify: {e}"))
            });
            for (_, hash, verdict) in blocks.iter().filter(|b| b.0 == election) {
                let result = match &chain {
                    Err(e) => Err(e.clone()),
                    Ok((chain, n)) => check_block(election, hash, chain, *n).await,
                };
                verdict.set(match result {
                    Ok(m) => BrowserVerdict::Passed(m),
                    Err(m) => BrowserVerdict::Failed(m),
                });
            }
        }
    });
}

#[cfg(feature = "hydrate")]
async fn check_block(
    election: ElectionId,
    hash: &BlockHash,
    chain: &ledger::ChainState,
    chain_blocks: usize,
) -> Result<String, String> {
    let block: ledger::Block =
        crate::fetch_json(format!("/api/elections/{election}/blocks/{hash}/raw")).await?;
    if block.hash() != *hash {
        return Err(format!(
            "the server sent a block whose hash is {}, not {hash}",
            block.hash()
        ));
    }
    ledger::validate_block(chain, &block).map_err(|e| format!("{e} [{}]", e.code()))?;
    Ok(format!(
        "every rule holds: {} vote{} with valid signatures, eligible and not voted before; proof of work {} zero bits (≥ {}); parent is the tip at height {} (chain of {chain_blocks} block{} re-verified with its approvals)",
        block.votes.len(),
        if block.votes.len() == 1 { "" } else { "s" },
        ledger::leading_zero_bits(&block.hash().0),
        block.header.difficulty,
        chain.height(),
        if chain_blocks == 1 { "" } else { "s" },
    ))
}

fn queue_block(
    b: QueueBlock,
    csrf: String,
    verdict: RwSignal<BrowserVerdict>,
    approve: ServerAction<ApproveBlock>,
    reject: ServerAction<RejectBlock>,
) -> impl IntoView {
    let all_pass = b.checks.iter().all(|c| c.passed);
    let browser_ok = move || matches!(verdict.get(), BrowserVerdict::Passed(_));
    let progress = format!(
        "{} of {} approvals{}{}",
        b.approved_by.len(),
        b.quorum,
        if b.approved_by.is_empty() {
            String::new()
        } else {
            format!(" ({})", b.approved_by.join(", "))
        },
        if b.rejected_by.is_empty() {
            String::new()
        } else {
            format!(" · rejected by {}", b.rejected_by.join(", "))
        },
    );
    // Copy, so each form's children can take their own.
    let hidden = {
        let (csrf, election, hash) = (StoredValue::new(csrf.clone()), b.election, b.hash);
        move || {
            view! {
                <input type="hidden" name="csrf" value=csrf.get_value() />
                <input type="hidden" name="election" value=election.to_string() />
                <input type="hidden" name="block" value=hash.to_hex() />
            }
        }
    };
    view! {
        <article class="queue-block" data-block=b.hash.to_hex()>
            <h3>
                <a href=format!("/e/{}/block/{}", b.election, b.hash)>
                    {format!("{} · block {}", b.election_title, b.index)}
                </a>
            </h3>
            <p class="hash">{b.hash.to_hex()}</p>
            <p>{format!("{} vote{} · {progress}", b.votes, if b.votes == 1 { "" } else { "s" })}</p>
            <table class="checks">
                <caption>"Checks run against the current tip"</caption>
                <thead>
                    <tr><th scope="col">"Check"</th><th scope="col">"Result"</th><th scope="col">"Details"</th></tr>
                </thead>
                <tbody>
                    {b.checks
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
            <p class="browser-check" data-verdict=move || match verdict.get() {
                BrowserVerdict::Checking => "checking",
                BrowserVerdict::Passed(_) => "passed",
                BrowserVerdict::Failed(_) => "failed",
            }>
                <strong>"Your browser's own check (WebAssembly): "</strong>
                {move || match verdict.get() {
                    BrowserVerdict::Checking => {
                        "checking the chain and this block… (needs JavaScript)".to_owned()
                    }
                    BrowserVerdict::Passed(m) => format!("✓ passed: {m}."),
                    BrowserVerdict::Failed(m) => format!("✗ failed: {m}."),
                }}
            </p>
            {if b.decided_by_me {
                view! { <p class="notice">"You have decided on this block."</p> }.into_any()
            } else {
                view! {
                    <div class="decide">
                        {all_pass
                            .then(|| {
                                view! {
                                    <ActionForm action=approve>
                                        {hidden()}
                                        // Offered only once this browser's own check passed.
                                        <button type="submit" class="approve" disabled=move || !browser_ok()>
                                            "Approve"
                                        </button>
                                    </ActionForm>
                                }
                            })}
                        <ActionForm action=reject attr:class="inline-form">
                            {hidden()}
                            <label for=format!("reason-{}", b.hash)>"Reason"</label>
                            <input id=format!("reason-{}", b.hash) name="reason" type="text" required maxlength="500" />
                            <button type="submit" class="danger">"Reject"</button>
                        </ActionForm>
                    </div>
                }
                    .into_any()
            }}
        </article>
    }
}
