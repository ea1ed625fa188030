//! The chain explorer, `/e/{election}/chain` and `/e/{election}/block/{hash or height}`:
//! the appended blocks newest first, the tally as a bar chart, receipt lookup, block
//! details, and the export for offline verification. Read-only; works without JavaScript.

use crate::loaded::loaded;
use ledger::{BlockHash, ElectionId, TxId};
use leptos::prelude::*;
use leptos_router::hooks::{use_params_map, use_query_map};
use serde::{Deserialize, Serialize};
use wire::{BlockStatus, ElectionState, ReceiptStatus};

/// Appended blocks shown per page.
pub const PAGE: u32 = 20;
/// Votes a block's page shows at once: a block holds up to 1,000, whose page would be
/// over half a megabyte, heavy for a phone.
pub const VOTES_PER_PAGE: u64 = 100;

/// A candidate's bar in the tally.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TallyBar {
    /// Candidate name.
    pub name: String,
    /// Party or description.
    pub description: String,
    /// Votes on the appended chain.
    pub votes: u64,
}

/// Everything the explorer's main page shows.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChainOverview {
    /// Election id.
    pub id: ElectionId,
    /// Title.
    pub title: String,
    /// Where the election is.
    pub state: ElectionState,
    /// Height of the chain, once sealed.
    pub height: Option<u64>,
    /// Genesis hash, once sealed.
    pub genesis_hash: Option<BlockHash>,
    /// The tip's height and hash, read together, once sealed (and while the chain
    /// verifies).
    pub head: Option<(u64, BlockHash)>,
    /// This server's address, for the command that checks a pinned head.
    pub base: String,
    /// Whether the stored chain passed re-verification.
    pub chain_verified: bool,
    /// Where the check of the stored chain stands.
    pub chain_check: wire::ChainCheck,
    /// What re-verification found.
    pub integrity_problem: Option<String>,
    /// Proof-of-work difficulty.
    pub difficulty_bits: u8,
    /// Approvals per block.
    pub quorum: u16,
    /// Registered voters.
    pub voters: u64,
    /// The roll's count and hash (from the genesis block once sealed).
    pub roll: wire::Roll,
    /// Enrolled validators with their keys.
    pub validators: Vec<wire::ValidatorInfo>,
    /// Votes not yet on chain.
    pub pending_votes: u64,
    pub awaiting_votes: u64,
    /// Blocks awaiting validators.
    pub awaiting_blocks: u64,
    /// Whether the ballot is sealed (the genesis block exists).
    pub sealed: bool,
    /// Ballots on the appended chain.
    pub turnout: u64,
    /// The result, once the trustees have decrypted the sums (empty until then).
    pub tally: Vec<TallyBar>,
    /// Where the count ends, once the officer has finalised it.
    pub final_head: Option<wire::FinalHead>,
    /// The decryption shares posted, each checked again against the chain.
    pub shares: Vec<wire::ShareStatus>,
    /// This page of appended blocks, newest first.
    pub blocks: Vec<wire::BlockSummary>,
}

/// Where a receipt's vote is.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReceiptInfo {
    /// The election's title.
    pub election_title: String,
    /// The receipt.
    pub receipt: TxId,
    /// Where the vote is.
    pub status: ReceiptStatus,
    /// Block height, once in a block.
    pub block_index: Option<u64>,
    /// Block hash, once in a block.
    pub block: Option<BlockHash>,
}

/// A vote as a block shows it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VoteRow {
    /// Receipt.
    pub receipt: TxId,
    /// Voter's public key.
    pub voter: ledger::PublicKey,
    /// SHA-256 of the encrypted ballot (no choice can be read from it).
    pub ballot: TxId,
}

/// One block in full.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BlockInfo {
    /// Election title.
    pub election_title: String,
    /// The block's header.
    pub header: ledger::BlockHeader,
    /// Block hash.
    pub hash: BlockHash,
    /// Height.
    pub index: u64,
    /// Where the block is.
    pub status: BlockStatus,
    /// Approvals needed.
    pub quorum: u16,
    /// The votes of this page.
    pub votes: Vec<VoteRow>,
    /// Which page of votes (from 1).
    pub votes_page: u64,
    /// The block's votes, all pages.
    pub total_votes: u64,
    /// Validators' decisions.
    pub decisions: Vec<wire::DecisionRecord>,
}

#[cfg(feature = "ssr")]
use crate::session::{node, refusal as fail};

/// The explorer's data for one page of the chain.
#[server(prefix = "/sfn")]
pub async fn chain_view(
    election: ElectionId,
    from: Option<u64>,
) -> Result<ChainOverview, ServerFnError> {
    let node = node()?;
    let d = node.election(election).await.map_err(fail)?;
    let (tally, turnout, final_head, shares) = if d.height.is_some() {
        let tally = node.tally(election).await.map_err(fail)?;
        let bars = tally
            .result
            .unwrap_or_default()
            .into_iter()
            .map(|c| TallyBar {
                description: d
                    .candidate(c.id)
                    .map(|c| c.description.clone())
                    .unwrap_or_default(),
                name: c.name,
                votes: c.votes,
            })
            .collect();
        let shares = if tally.shares.is_empty() {
            Vec::new()
        } else {
            node.share_statuses(election).await.map_err(fail)?
        };
        (bars, tally.turnout, tally.final_head, shares)
    } else {
        (Vec::new(), 0, None, Vec::new())
    };
    let sealed = d.height.is_some();
    let blocks = node.chain_page(election, from, PAGE).await.map_err(fail)?;
    let head = match d.height {
        Some(_) => node.tip(election).await.ok(),
        None => None,
    };
    let headers: axum::http::HeaderMap = leptos_axum::extract().await?;
    let base =
        match leptos_axum::extract::<axum::Extension<std::sync::Arc<crate::site::Site>>>().await {
            Ok(axum::Extension(site)) => site.base_url(&headers),
            Err(_) => "http://this-server".to_owned(),
        };
    Ok(ChainOverview {
        id: d.id,
        title: d.title,
        state: d.state,
        height: d.height,
        genesis_hash: d.genesis_hash,
        head,
        base,
        chain_verified: d.chain_verified,
        chain_check: d.chain_check,
        integrity_problem: d.integrity_problem,
        difficulty_bits: d.difficulty_bits,
        quorum: d.quorum,
        voters: d.voters,
        roll: d.roll,
        validators: node.validators(election).await.map_err(fail)?,
        pending_votes: d.pending_votes,
        awaiting_votes: d.awaiting_votes,
        awaiting_blocks: d.awaiting_blocks,
        tally,
        final_head,
        shares,
        turnout,
        sealed,
        blocks,
    })
}

/// Where the vote with this receipt is.
#[server(prefix = "/sfn")]
pub async fn receipt_view(
    election: ElectionId,
    receipt: String,
) -> Result<ReceiptInfo, ServerFnError> {
    let tx: TxId = receipt
        .trim()
        .parse()
        .map_err(|_| ServerFnError::new("a receipt is 64 hexadecimal digits"))?;
    // A receipt not found is an answer on the chain page, which exists: no 404.
    let node = node()?;
    let r = node
        .receipt(election, &tx)
        .await
        .map_err(|e| ServerFnError::new(e.to_string()))?;
    let title = node.election(election).await.map_err(fail)?.title;
    Ok(ReceiptInfo {
        election_title: title,
        receipt: r.receipt,
        status: r.status,
        block_index: r.block_index,
        block: r.block,
    })
}

/// One block by hash or height, with one page of its votes (from 1).
#[server(prefix = "/sfn")]
pub async fn block_view(
    election: ElectionId,
    block: String,
    votes_page: u64,
) -> Result<BlockInfo, ServerFnError> {
    let node = node()?;
    let block: wire::BlockRef = block
        .parse()
        .map_err(|e: wire::BadBlockRef| ServerFnError::new(e.to_string()))?;
    let votes_page = votes_page.max(1);
    let first = (votes_page - 1).saturating_mul(VOTES_PER_PAGE);
    let d = node
        .block_detail_window(election, block, first..first.saturating_add(VOTES_PER_PAGE))
        .await
        .map_err(fail)?;
    let e = node.election(election).await.map_err(fail)?;
    Ok(BlockInfo {
        election_title: e.title.clone(),
        header: d.header.clone(),
        hash: d.summary.hash,
        index: d.summary.index,
        status: d.summary.status,
        quorum: d.quorum,
        votes: d
            .vote_list
            .into_iter()
            .map(|v| VoteRow {
                receipt: v.receipt,
                voter: v.voter,
                ballot: v.ballot,
            })
            .collect(),
        votes_page,
        total_votes: d.summary.votes,
        decisions: d.decisions,
    })
}

/// The `{election}` path parameter (0, which matches no election, when it is not a number).
pub(crate) fn election_param() -> Memo<ElectionId> {
    let params = use_params_map();
    Memo::new(move |_| {
        ElectionId(
            params
                .read()
                .get("election")
                .and_then(|s| s.parse().ok())
                .unwrap_or(0),
        )
    })
}

/// Horizontal bars, one per candidate, scaled to the leader; plain SVG.
#[component]
fn TallyChart(bars: Vec<TallyBar>, total: u64) -> impl IntoView {
    let max = bars.iter().map(|b| b.votes).max().unwrap_or(0).max(1);
    // Name on its own line above each bar, so long names and narrow phones both fit.
    let row = 46;
    let height = (bars.len() as i64 * row).max(row);
    let label = format!(
        "Tally: {}",
        bars.iter()
            .map(|b| format!("{} {}", b.name, b.votes))
            .collect::<Vec<_>>()
            .join(", ")
    );
    view! {
        <figure class="tally">
            <svg
                viewBox=format!("0 0 320 {height}")
                role="img"
                aria-label=label
                preserveAspectRatio="xMinYMin meet"
            >
                {bars
                    .iter()
                    .enumerate()
                    .map(|(i, b)| {
                        let y = i as i64 * row;
                        let width = (b.votes as f64 / max as f64 * 260.0).round();
                        view! {
                            <g class="bar" data-candidate=b.name.clone() data-votes=b.votes>
                                <text x="0" y=y + 15 class="bar-name">
                                    {b.name.clone()}
                                </text>
                                <rect x="0" y=y + 21 width=width.max(2.0) height="18" rx="3"></rect>
                                <text x=width.max(2.0) + 6.0 y=y + 35 class="bar-votes">
                                    {b.votes.to_string()}
                                </text>
                            </g>
                        }
                    })
                    .collect_view()}
            </svg>
            <figcaption>
                {format!(
                    "{total} {} counted on the appended chain",
                    if total == 1 { "vote" } else { "votes" },
                )}
            </figcaption>
        </figure>
    }
}

/// `/e/{election}/chain`
#[component]
pub fn ExplorerPage() -> impl IntoView {
    let election = election_param();
    let query = use_query_map();
    let from = Memo::new(move |_| query.read().get("from").and_then(|s| s.parse::<u64>().ok()));
    let asked = Memo::new(move |_| query.read().get("receipt").filter(|r| !r.trim().is_empty()));
    // Blocks, the head, the count and the state move what the explorer shows (votes
    // joining the pool are shown with the next block: they come too often to re-read the
    // page for each).
    let live = crate::live::version(election.get_untracked(), |c| {
        !matches!(c, wire::Change::Ceremony | wire::Change::Pool)
    });
    let data = Resource::new(
        move || (election.get(), from.get(), live.get()),
        |(e, f, _)| chain_view(e, f),
    );
    let receipt = Resource::new(
        move || (election.get(), asked.get()),
        |(e, r)| async move {
            match r {
                Some(r) => receipt_view(e, r).await.map(Some),
                None => Ok(None),
            }
        },
    );
    loaded(data, "Loading the chain…", "Chain", false, move |v| {
        explorer_body(v, receipt)
    })
}

/// The head of the chain, to note down and check later; and the warning this browser
/// raises when the chain no longer holds the head it saw here before.
fn head_section(v: &ChainOverview) -> Option<impl IntoView> {
    let (Some((height, tip)), Some(genesis)) = (v.head, v.genesis_hash) else {
        return None;
    };
    let id = v.id;
    let pin = format!("{height}:{tip}");
    let command = format!(
        "ballotchain verify {}/api/elections/{id}/export --genesis {genesis} --expect {pin}",
        v.base
    );
    let warning = RwSignal::new(None::<String>);
    #[cfg(feature = "hydrate")]
    Effect::new(move |_| {
        leptos::task::spawn_local(check_remembered_head(id, height, tip, genesis, warning))
    });
    #[cfg(not(feature = "hydrate"))]
    let _ = genesis;
    Some(view! {
        <section aria-labelledby="head-h">
            <h2 id="head-h">"Head of the chain"</h2>
            {move || warning.get().map(|w| view! { <p class="error" role="alert">{w}</p> })}
            <p>
                "Keep a note of the head. If this chain is ever cut short or rewritten, checking its export against the note says so. This browser also remembers the last head it saw here, and warns when the chain no longer holds it."
            </p>
            <p><label for="head-pin">"Head (height:hash)"</label></p>
            <input id="head-pin" class="hash" type="text" readonly value=pin />
            <p><label for="head-check">"Check it later, on any computer"</label></p>
            <input id="head-check" class="hash" type="text" readonly value=command />
        </section>
    })
}

/// Compares the head this browser saw last time with the chain served now: the chain
/// must still hold that block at that height. If it does, the current head is
/// remembered instead; if not, the warning stays (and the old head too).
#[cfg(feature = "hydrate")]
async fn check_remembered_head(
    id: ElectionId,
    height: u64,
    tip: BlockHash,
    genesis: BlockHash,
    warning: RwSignal<Option<String>>,
) {
    let key = format!("ballotchain.head.{id}");
    let seen = crate::custody::stored(&key).and_then(|text| {
        let (h, hash) = text.split_once(':')?;
        Some((h.parse::<u64>().ok()?, hash.parse::<BlockHash>().ok()?))
    });
    if let Some((seen_height, seen_hash)) = seen {
        let holds = if seen_height == 0 {
            seen_hash == genesis
        } else if seen_height > height {
            false
        } else if seen_height == height {
            seen_hash == tip
        } else {
            // The block's hash, not its votes.
            let url = format!("{}?limit=0", wire::paths::block(id, seen_height));
            match gloo_net::http::Request::get(&url).send().await {
                Ok(r) if r.status() == 404 => false,
                Ok(r) if r.ok() => match r.json::<wire::BlockDetail>().await {
                    Ok(b) => b.summary.hash == seen_hash,
                    Err(_) => return,
                },
                // Busy or unreachable: nothing is known; the next visit decides.
                _ => return,
            }
        };
        if !holds {
            warning.set(Some(format!(
                "This chain no longer holds block {seen_height} ({seen_hash}), which this browser saw here before: it was cut short or rewritten. Keep that head and tell the election office and the observers."
            )));
            return;
        }
    }
    crate::custody::store(&key, &format!("{height}:{tip}"));
}

fn explorer_body(
    v: ChainOverview,
    receipt: Resource<Result<Option<ReceiptInfo>, ServerFnError>>,
) -> impl IntoView {
    let id = v.id;
    let problem = v.integrity_problem.clone().unwrap_or_default();
    let (verified, class) = match v.chain_check {
        wire::ChainCheck::Verified => ("Chain verified at server start".to_owned(), "ok"),
        wire::ChainCheck::NotSealed => ("Nothing sealed yet".to_owned(), "ok"),
        wire::ChainCheck::Checking => (
            "The server is checking the stored chain: it is shown as stored, and takes votes and blocks once verified.".to_owned(),
            "notice",
        ),
        wire::ChainCheck::OldFormat => (format!("Not verified: {problem}"), "notice"),
        wire::ChainCheck::Altered => (format!("Chain FAILED verification: {problem}"), "error"),
    };
    view! {
        <h1>{v.title.clone()}</h1>
        <p class="lead">
            {format!(
                "{} · height {} · {} registered voters · {} votes waiting for a block · {} votes in {} blocks awaiting approval",
                v.state.label(),
                v.height.map_or_else(|| "not sealed".to_owned(), |h| h.to_string()),
                v.voters,
                v.pending_votes,
                v.awaiting_votes,
                v.awaiting_blocks,
            )}
        </p>
        <p class=class data-chain-check=v.chain_check.as_str()>{verified}</p>
        {(v.pending_votes > 0)
            .then(|| {
                view! {
                    <p class="links">
                        <a href=format!("/e/{id}/mine")>"Help mine the pending votes in your browser"</a>
                    </p>
                }
            })}

        {head_section(&v)}

        {receipt_section(id, receipt)}
        {tally_section(&v)}
        {blocks_section(&v)}
        {rules_section(&v)}
    }
}

/// Looking up a receipt, and the receipt asked for.
fn receipt_section(
    id: ElectionId,
    receipt: Resource<Result<Option<ReceiptInfo>, ServerFnError>>,
) -> impl IntoView {
    view! {
    <section aria-labelledby="receipt-h">
        <h2 id="receipt-h">"Look up a receipt"</h2>
        <form method="get" action=format!("/e/{id}/chain") class="inline-form">
            <label for="receipt">"Receipt"</label>
            <input id="receipt" name="receipt" type="text" inputmode="text" autocomplete="off"
                spellcheck="false" placeholder="64 hexadecimal digits" required />
            <button type="submit">"Look up"</button>
        </form>
        <Suspense fallback=|| ()>
            {move || Suspend::new(async move {
                match receipt.await {
                    Ok(None) => ().into_any(),
                    Ok(Some(r)) => receipt_card(id, r).into_any(),
                    Err(e) => view! { <p class="error" role="alert">{e.to_string()}</p> }.into_any(),
                }
            })}
        </Suspense>
    </section>
    }
}

/// The turnout, then the result once decrypted, and where the count ends.
fn tally_section(v: &ChainOverview) -> impl IntoView {
    let id = v.id;
    view! {
    <section aria-labelledby="tally-h">
        <h2 id="tally-h">"Tally"</h2>
        {if !v.sealed {
            view! { <p class="notice">"The ballot is not sealed yet."</p> }.into_any()
        } else if v.tally.is_empty() {
            view! {
                <p class="turnout" data-turnout=v.turnout>
                    {format!(
                        "Turnout: {} {} on the appended chain.",
                        v.turnout,
                        if v.turnout == 1 { "ballot" } else { "ballots" },
                    )}
                </p>
                <p class="notice">
                    "Every ballot is encrypted: nobody, the server included, can read a choice. The trustees decrypt only the totals, together, after voting closes."
                </p>
            }
                .into_any()
        } else {
            view! { <TallyChart bars=v.tally.clone() total=v.turnout /> }.into_any()
        }}
        {v.final_head.clone().map(|f| final_card(id, &f, &v.shares))}
    </section>
    }
}

/// A page of appended blocks, newest first.
fn blocks_section(v: &ChainOverview) -> impl IntoView {
    let id = v.id;
    let older = v
        .blocks
        .last()
        .filter(|b| b.index > 1 && v.blocks.len() == PAGE as usize)
        .map(|b| format!("/e/{id}/chain?from={}", b.index - 1));
    view! {
    <section aria-labelledby="blocks-h">
        <h2 id="blocks-h">"Blocks, newest first"</h2>
        {if v.blocks.is_empty() {
            view! { <p class="notice">"No block has been appended yet."</p> }.into_any()
        } else {
            view! {
                <ol class="block-list">
                    {v.blocks
                        .iter()
                        .map(|b| {
                            view! {
                                <li>
                                    <a href=format!("/e/{id}/block/{}", b.hash)>
                                        {format!("Block {}", b.index)}
                                    </a>
                                    <span class="hash">{b.hash.to_hex()}</span>
                                    <span class="meta">
                                        {format!(
                                            "{} vote{} · {} approval{}{}",
                                            b.votes,
                                            if b.votes == 1 { "" } else { "s" },
                                            b.approvals,
                                            if b.approvals == 1 { "" } else { "s" },
                                            if b.miner_tag.is_empty() {
                                                String::new()
                                            } else {
                                                format!(" · mined by {}", b.miner_tag)
                                            },
                                        )}
                                    </span>
                                </li>
                            }
                        })
                        .collect_view()}
                </ol>
            }
                .into_any()
        }}
        {older.map(|href| view! { <a class="pager" href=href>"Older blocks"</a> })}
    </section>
    }
}

/// The genesis block's rules, the validators, and where to check it all offline.
fn rules_section(v: &ChainOverview) -> impl IntoView {
    let id = v.id;
    view! {
    <section aria-labelledby="rules-h">
        <h2 id="rules-h">"Genesis and rules"</h2>
        <dl class="facts">
            <dt>"Genesis hash"</dt>
            <dd class="hash">{v.genesis_hash.map_or_else(|| "not sealed".into(), |h| h.to_hex())}</dd>
            <dt>"Proof of work"</dt>
            <dd>{format!("{} leading zero bits", v.difficulty_bits)}</dd>
            <dt>"Voter roll"</dt>
            <dd data-roll=v.roll.shown_hash()>
                {format!(
                    "{} voter key{}{} · hash ",
                    v.roll.voters,
                    if v.roll.voters == 1 { "" } else { "s" },
                    if v.genesis_hash.is_some() { " in the genesis block" } else { " registered so far" },
                )}
                <span class="hash">{v.roll.shown_hash()}</span>
            </dd>
            <dt>"Quorum"</dt>
            <dd>{format!("{} of {} validators", v.quorum, v.validators.len())}</dd>
            <dt>"Validators"</dt>
            <dd>
                <ul class="validators">
                    {v.validators
                        .iter()
                        .map(|val| {
                            let key = val
                                .public_key
                                .as_ref()
                                .map_or_else(|| "no key".to_owned(), wire::fingerprint);
                            let sealed = if val.in_genesis { " (in the genesis block)" } else { "" };
                            view! {
                                <li data-validator=val.username.clone()>
                                    <strong>{val.username.clone()}</strong>
                                    " · key "
                                    <span class="fingerprint">{key}</span>
                                    {sealed}
                                </li>
                            }
                        })
                        .collect_view()}
                </ul>
            </dd>
        </dl>
        <p>
            <a href=wire::paths::export(id) download=format!("election-{id}-chain.json")>
                "Download the chain"
            </a>
            " and re-check it offline with "
            <code>{format!("ballotchain verify election-{id}-chain.json")}</code>
        </p>
        <p>
            <a href=format!("/e/{id}/trustees")>"The trustees and their key ceremony"</a>
            " · "
            <a href=format!("/e/{id}/tally")>"The count and the trustees' shares"</a>
            " · "
            <a href=format!("/e/{id}/audit")>"Check a ballot audit"</a>
        </p>
    </section>
    }
}

/// Where the count ends and whose decryption shares are in.
fn final_card(
    election: ElectionId,
    end: &wire::FinalHead,
    shares: &[wire::ShareStatus],
) -> impl IntoView {
    let uncounted = match end.uncounted {
        0 => String::new(),
        1 => " 1 vote was not on the chain by then and is not counted.".to_owned(),
        n => format!(" {n} votes were not on the chain by then and are not counted."),
    };
    let listed = (!shares.is_empty()).then(|| {
        view! {
            <ul class="shares">
                {shares
                    .iter()
                    .map(|s| {
                        // Seats are numbered from 1 for people; the protocol counts from 0.
                        let seat = u32::from(s.trustee) + 1;
                        let (class, said) = match &s.problem {
                            None => ("ok", "its signature and every proof hold".to_owned()),
                            Some(p) => ("error", format!("DOES NOT HOLD: {p}")),
                        };
                        // Signed over this head: the same trustee's share over another head,
                        // in another copy, is signed proof that it decrypted twice.
                        view! {
                            <li data-share=seat data-holds=s.problem.is_none().to_string()>
                                {format!(
                                    "{} (seat {seat}, key {}): a share of the count up to block {}, {}; ",
                                    s.name, s.fingerprint, end.height, end.head
                                )}
                                <span class=class>{said}</span>
                            </li>
                        }
                    })
                    .collect_view()}
            </ul>
        }
    });
    let shares = if shares.is_empty() {
        "No trustee has posted a decryption share yet.".to_owned()
    } else {
        "Decryption shares posted, each checked again against the chain:".to_owned()
    };
    view! {
        <div class="final" data-final-height=end.height>
            <p>
                {format!("The count is final at block {}, ", end.height)}
                <a class="hash" href=format!("/e/{election}/block/{}", end.head)>
                    {end.head.to_string()}
                </a>
                {format!(": the chain takes no more blocks.{uncounted}")}
            </p>
            <p>{shares}</p>
            {listed}
        </div>
    }
}

pub(crate) fn receipt_card(election: ElectionId, r: ReceiptInfo) -> impl IntoView {
    let text = match (r.status, r.block_index) {
        (ReceiptStatus::Appended, Some(i)) => format!("Appended to the chain in block {i}."),
        (ReceiptStatus::AwaitingApproval, Some(i)) => {
            format!("In block {i}, awaiting validators' approval.")
        }
        (ReceiptStatus::Uncounted, _) => {
            "Not counted: the count was finalised before this vote reached the chain.".to_owned()
        }
        _ => {
            "Pending: received and stored, waiting to be added to a block of the chain.".to_owned()
        }
    };
    view! {
        <div class="receipt" data-status=r.status.as_str() role="status">
            <p>{text}</p>
            <p class="hash">{r.receipt.to_hex()}</p>
            {r.block.map(|b| view! { <a href=format!("/e/{election}/block/{b}")>"See the block"</a> })}
        </div>
    }
}

/// `/e/{election}/block/{hash or height}`
#[component]
pub fn BlockPage() -> impl IntoView {
    let election = election_param();
    let params = use_params_map();
    let key = Memo::new(move |_| params.read().get("block").unwrap_or_default());
    let query = use_query_map();
    // Not a number: the first page.
    let page = Memo::new(move |_| {
        query
            .read()
            .get("votes")
            .and_then(|s| s.parse::<u64>().ok())
            .unwrap_or(1)
    });
    let data = Resource::new(
        move || (election.get(), key.get(), page.get()),
        |(e, k, p)| block_view(e, k, p),
    );
    loaded(data, "Loading the block…", "Block", false, move |b| {
        block_body(election.get_untracked(), b)
    })
}

fn block_body(election: ElectionId, b: BlockInfo) -> impl IntoView {
    let approvals = b.decisions.iter().filter(|d| d.approve).count();
    let first = (b.votes_page - 1).saturating_mul(VOTES_PER_PAGE);
    let pager = votes_pager(election, &b);
    view! {
        <p><a href=format!("/e/{election}/chain")>{format!("← {}", b.election_title)}</a></p>
        <h1>{format!("Block {}", b.index)}</h1>
        <p class="lead">{format!("{} · {approvals} of {} approvals", b.status, b.quorum)}</p>
        <p class="hash">{b.hash.to_hex()}</p>
        <h2>"Header"</h2>
        <dl class="facts">
            {header_fields(&b.header)
                .into_iter()
                .map(|(k, v)| view! { <dt>{k}</dt><dd class="hash">{v}</dd> })
                .collect_view()}
        </dl>
        <h2>"Validators"</h2>
        <ul class="decisions">
            {b.decisions
                .into_iter()
                .map(|d| {
                    // An approval shows its signature, a rejection its reason.
                    let evidence = if d.approve {
                        d.signature.map(|s| s.to_hex())
                    } else {
                        d.reason
                    };
                    view! {
                        <li>
                            <strong>{d.validator}</strong>
                            {if d.approve { " approved, signature " } else { " rejected: " }}
                            <span class="hash">{evidence}</span>
                            {d.validator_key.as_ref().map(|key| view! {
                                " · key "
                                <span class="fingerprint">{wire::fingerprint(key)}</span>
                            })}
                        </li>
                    }
                })
                .collect_view()}
        </ul>
        <h2>{format!("Votes ({})", b.total_votes)}</h2>
        {pager}
        <ol class="votes" start=first + 1>
            {b.votes
                .into_iter()
                .map(|v| {
                    view! {
                        <li>
                            "ballot "
                            <span class="hash">{v.ballot.to_hex()}</span>
                            " · receipt "
                            <span class="hash">{v.receipt.to_hex()}</span>
                            " · voter key "
                            <span class="hash">{v.voter.to_hex()}</span>
                        </li>
                    }
                })
                .collect_view()}
        </ol>
    }
}

/// Which of a large block's votes this page shows, and the way to the others.
fn votes_pager(election: ElectionId, b: &BlockInfo) -> Option<impl IntoView> {
    if b.total_votes <= VOTES_PER_PAGE && b.votes_page == 1 {
        return None;
    }
    let pages = b.total_votes.div_ceil(VOTES_PER_PAGE).max(1);
    let first = (b.votes_page - 1).saturating_mul(VOTES_PER_PAGE);
    let shown = if b.votes.is_empty() {
        format!(
            "This block has {} votes, on {pages} pages: page {} is past the last.",
            b.total_votes, b.votes_page
        )
    } else {
        format!(
            "Votes {}–{} of {} (page {} of {pages}).",
            first + 1,
            first + b.votes.len() as u64,
            b.total_votes,
            b.votes_page
        )
    };
    let hash = b.hash.to_hex();
    let at = |page: u64| format!("/e/{election}/block/{hash}?votes={page}");
    let earlier = (b.votes_page > 1).then(|| at((b.votes_page - 1).min(pages)));
    let later = (b.votes_page < pages).then(|| at(b.votes_page + 1));
    Some(view! {
        <p class="notice">{shown}</p>
        <nav class="pager" aria-label="Pages of votes">
            {earlier.map(|href| view! { <a class="pager" href=href>"Earlier votes"</a> })}
            " "
            {later.map(|href| view! { <a class="pager" href=href>"Later votes"</a> })}
        </nav>
    })
}

/// A block header's fields as label and value, in header order.
fn header_fields(h: &ledger::BlockHeader) -> [(&'static str, String); 9] {
    [
        ("Version", h.version.to_string()),
        ("Election", h.election.to_string()),
        ("Height", h.index.to_string()),
        ("Parent", h.prev.to_hex()),
        ("Merkle root", h.merkle_root.to_hex()),
        ("Timestamp (ms)", h.timestamp.to_string()),
        ("Difficulty (bits)", h.difficulty.to_string()),
        ("Miner tag", h.miner_tag.to_text()),
        ("Nonce", h.nonce.to_string()),
    ]
}
