//! The voter's pages: the ballot at `/e/{election}`, casting, and the receipt at
//! `/e/{election}/receipt/{receipt}`.
//!
//! With JavaScript the ballot is encrypted and signed in the voter's browser: a worker
//! checks the election key against the sealed trustees' keys, encrypts the choice under it
//! with its proofs, and signs with the key derived from the code; the page posts only the
//! signed, encrypted vote, so neither the code nor the choice leaves the device. That form
//! appears only once the page has come alive, so an early click cannot post the code.
//! Without JavaScript a `<noscript>` form posts the code and the choice to the server,
//! which encrypts, signs and forgets both (the page says so).
//!
//! Cast-or-audit: the choice is sealed first, and only then cast or audited. An audit
//! reveals the choice and the seed of the encryption; `/e/{election}/audit` (and
//! `ballotchain audit`) re-encrypts it and compares the bytes.

mod machine;

use crate::explorer::{election_param, receipt_view, ReceiptInfo};
use crate::loaded::loaded;
use crate::notice::{self, Notice};
use ledger::{Candidate, ElectionId};
use leptos::prelude::*;
use leptos_router::hooks::use_params_map;
use serde::{Deserialize, Serialize};
use wire::ElectionState;

/// What the ballot page needs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BallotInfo {
    /// Title.
    pub title: String,
    /// Description.
    pub description: String,
    /// Where the election is.
    pub state: ElectionState,
    /// The ballot.
    pub candidates: Vec<Candidate>,
    /// The genesis block's format version and its trustees with the election key, as
    /// sealed (once open).
    pub sealed: Option<ledger::SealedTrustees>,
}

/// The ballot of an election.
#[server(prefix = "/sfn")]
pub async fn ballot(election: ElectionId) -> Result<BallotInfo, ServerFnError> {
    let node = crate::session::node()?;
    let d = node
        .election(election)
        .await
        .map_err(crate::session::refusal)?;
    let sealed = match d.state {
        ElectionState::Setup => None,
        _ => node
            .genesis(election)
            .await
            .ok()
            .map(|g| g.sealed_trustees()),
    };
    Ok(BallotInfo {
        title: d.title,
        description: d.description,
        state: d.state,
        candidates: d.candidates,
        sealed,
    })
}

/// Casts the ballot form's vote: the server derives the voter's key from the code,
/// encrypts the choice under the election key, signs, and forgets the code and the choice. Then shows the receipt; on any refusal, the ballot again with
/// the reason (never echoing the code into a URL). `confirm` is the "I have checked my
/// choice" box: a vote cannot be changed afterwards.
#[server(prefix = "/sfn", endpoint = "vote")]
pub async fn cast_ballot(
    election: ElectionId,
    #[server(default)] code: String,
    #[server(default)] candidate_id: String,
    #[server(default)] confirm: Option<String>,
) -> Result<(), ServerFnError> {
    let page = format!("/e/{election}");
    if confirm.is_none() {
        return crate::guard::go(&Notice::Unconfirmed.on(&page));
    }
    let Ok(candidate_id) = candidate_id.parse().map(ledger::CandidateId) else {
        return crate::guard::go(&Notice::NoCandidate.on(&page));
    };
    let node = crate::session::node()?;
    let limits = use_context::<std::sync::Arc<crate::limit::Limits>>()
        .ok_or_else(|| ServerFnError::new("the rate limits are not available"))?;
    let crate::site::ClientAddr(client) = leptos_axum::extract().await?;
    let ballot = wire::Ballot::Code { code, candidate_id };
    match limits.cast(&node, client, election, ballot).await {
        Ok(receipt) => crate::guard::go(&format!("/e/{election}/receipt/{receipt}")),
        // This code's vote went through before (an answer lost on the way): its receipt.
        Err(crate::limit::Refused::Engine(engine::EngineError::AlreadyVoted(Some(receipt)))) => {
            crate::guard::go(&format!("/e/{election}/receipt/{receipt}?already=1"))
        }
        Err(refused) => crate::guard::go(&ballot_notice(refused.code()).on(&page)),
    }
}

/// What the ballot says when a vote is refused, whichever way it was cast.
fn ballot_notice(code: wire::ErrorCode) -> Notice {
    match code {
        wire::ErrorCode::InvalidInput => Notice::MalformedCode,
        wire::ErrorCode::WrongState => Notice::VotingClosed,
        wire::ErrorCode::NotFound => Notice::NoCandidate,
        // A signed vote from a key the roll does not hold: the code is not this election's.
        wire::ErrorCode::Forbidden | wire::ErrorCode::IneligibleVoter => Notice::InvalidCode,
        code => Notice::for_code(code),
    }
}

/// `/e/{election}`: enter the code, choose, confirm, cast.
#[component]
pub fn BallotPage() -> impl IntoView {
    let election = election_param();
    let notice = notice::from_query();
    let data = Resource::new(move || election.get(), ballot);
    loaded(data, "Loading the ballot…", "Ballot", false, move |b| {
        ballot_page(election.get_untracked(), b, notice)
    })
}

fn ballot_page(id: ElectionId, b: BallotInfo, notice: Memo<Option<Notice>>) -> impl IntoView {
    let open = b.state == ElectionState::Open;
    // The signing form exists only in a live page: never in the server's HTML.
    let alive = RwSignal::new(false);
    Effect::new(move |_| alive.set(true));
    let candidates = StoredValue::new(b.candidates.clone());
    let sealed = StoredValue::new(b.sealed.clone());
    let fallback = fallback_form(id, &b.candidates);
    view! {
        <h1>{b.title.clone()}</h1>
        {(!b.description.is_empty()).then(|| view! { <p class="lead">{b.description.clone()}</p> })}
        <p><a href=format!("/e/{id}/chain")>"Explore the chain and the tally"</a></p>
        {move || notice::view(notice.get())}
        {if !open {
            view! {
                <p class="notice" role="status">
                    {if b.state == ElectionState::Closed {
                        "Voting has closed in this election."
                    } else {
                        "Voting has not opened yet in this election."
                    }}
                </p>
            }
                .into_any()
        } else {
            view! {
                // First, so that without JavaScript its fields are the ones the labels name.
                <noscript inner_html=fallback.clone() />
                {move || if alive.get() {
                    signing_form(id, candidates.get_value(), sealed.get_value()).into_any()
                } else {
                    preparing(fallback.clone()).into_any()
                }}
            }
                .into_any()
        }}
    }
}

/// What the ballot shows until the page is live: that the secure ballot is being prepared;
/// and, if it has not come alive after 8 seconds (its module blocked or failing), the
/// server's form, with the words a browser without JavaScript shows (style/main.css
/// reveals it).
fn preparing(fallback: String) -> impl IntoView {
    view! {
        <div class="preparing">
            <p class="notice" role="status">
                "Preparing the secure ballot: your browser encrypts and signs your vote itself…"
            </p>
            <div class="late">
                <p class="notice">"The secure ballot has not loaded. You can still vote with the server's form:"</p>
                <div inner_html=fallback></div>
            </div>
        </div>
    }
}

/// The ballot form's state machine ([`machine::Ballot`]) with what carrying out its
/// effects takes: the election, the ballot's order and sealed trustees, the code field and
/// the page's navigation.
#[derive(Clone)]
#[cfg_attr(not(feature = "hydrate"), allow(dead_code))]
struct BallotDesk<N> {
    id: ElectionId,
    state: RwSignal<machine::Ballot>,
    candidates: StoredValue<Vec<ledger::CandidateId>>,
    sealed: StoredValue<Option<ledger::SealedTrustees>>,
    code: NodeRef<leptos::html::Input>,
    /// The sealed ballot's card and its Cast button, brought into view once sealed.
    card: NodeRef<leptos::html::Section>,
    cast: NodeRef<leptos::html::Button>,
    navigate: N,
}

impl<N> BallotDesk<N>
where
    N: Fn(&str, leptos_router::NavigateOptions) + Clone + 'static,
{
    /// Moves the machine on and carries out what it asks.
    fn send(&self, event: machine::Event) {
        crate::machine::drive(self.state, event, |effect| self.carry_out(effect));
    }

    /// One effect, in the browser: the worker's or the server's answer comes back as the
    /// next event.
    #[cfg_attr(not(feature = "hydrate"), allow(unused_variables))]
    fn carry_out(&self, effect: machine::Effect) {
        use machine::Effect;
        let id = self.id;
        match effect {
            Effect::ToReceipt { receipt, already } => {
                let again = if already { "?already=1" } else { "" };
                (self.navigate)(
                    &format!("/e/{id}/receipt/{receipt}{again}"),
                    Default::default(),
                );
            }
            Effect::Restart(notice) => {
                (self.navigate)(&notice.on(&format!("/e/{id}")), Default::default());
            }
            Effect::ShowSealed => {
                // Once the card is on the page (the next turn of the event loop).
                let (card, cast) = (self.card, self.cast);
                set_timeout(
                    move || {
                        if let Some(card) = card.get_untracked() {
                            card.scroll_into_view();
                        }
                        if let Some(cast) = cast.get_untracked() {
                            let _ = cast.focus();
                        }
                    },
                    std::time::Duration::ZERO,
                );
            }
            #[cfg(feature = "hydrate")]
            effect => {
                let desk = self.clone();
                leptos::task::spawn_local(async move {
                    use machine::Event;
                    let event = match effect {
                        Effect::SealInWorker(choice) => Event::Sealed(
                            seal_here(
                                id,
                                desk.candidates.get_value(),
                                desk.sealed.get_value(),
                                choice,
                            )
                            .await,
                        ),
                        Effect::CastSealed => {
                            let code = crate::input_value(desk.code);
                            Event::CastAnswer(cast_sealed(id, code).await)
                        }
                        _ => Event::Audited(
                            workers::ballot::audit()
                                .await
                                .ok()
                                .and_then(|audit| serde_json::to_string_pretty(&audit).ok())
                                .ok_or(Notice::Failed),
                        ),
                    };
                    desk.send(event);
                });
            }
            #[cfg(not(feature = "hydrate"))]
            _ => {}
        }
    }
}

/// The ballot sealed and signed in this browser: the code stays here; only the signed vote
/// is sent. The choice is sealed first; only then does the voter cast it or audit it
/// (cast-or-audit), so the code that sealed it cannot know which.
fn signing_form(
    id: ElectionId,
    candidates: Vec<Candidate>,
    sealed: Option<ledger::SealedTrustees>,
) -> impl IntoView {
    use machine::{Event, Phase};
    let state = RwSignal::new(machine::Ballot::default());
    let choice = RwSignal::new(None::<ledger::CandidateId>);
    let confirm = NodeRef::<leptos::html::Input>::new();
    let desk = BallotDesk {
        id,
        state,
        candidates: StoredValue::new(candidates.iter().map(|c| c.id).collect()),
        sealed: StoredValue::new(sealed),
        code: NodeRef::new(),
        card: NodeRef::new(),
        cast: NodeRef::new(),
        navigate: leptos_router::hooks::use_navigate(),
    };
    let names = StoredValue::new(candidates.clone());
    #[cfg(feature = "hydrate")]
    on_cleanup(workers::dismiss::<workers::ballot::BallotWorker>);
    let seal = {
        let desk = desk.clone();
        move |ev: leptos::ev::SubmitEvent| {
            ev.prevent_default();
            let code = crate::input_value(desk.code);
            desk.send(Event::Seal {
                code_reads: ledger::VotingCode::parse(&code).is_ok(),
                choice: choice.get_untracked(),
                confirmed: confirm.get_untracked().is_some_and(|c| c.checked()),
            });
        }
    };
    let busy = move || state.with(|b| b.busy());
    let code = desk.code;
    view! {
        <form class="ballot" on:submit=seal>
            <label for="code">"Your voting code"</label>
            <input id="code" type="text" required autocomplete="off" node_ref=code
                autocapitalize="characters" spellcheck="false"
                placeholder="24 letters and digits" />
            <fieldset disabled=move || state.with(|b| b.sealed())>
                <legend>"Choose one candidate"</legend>
                {choices(&candidates, choice)}
            </fieldset>
            <div class="choice confirm">
                <input type="checkbox" id="confirm" required node_ref=confirm />
                <label for="confirm">"I have checked my choice. A vote cannot be changed once cast."</label>
            </div>
            <p class="hint">"Your browser encrypts your choice for the trustees, who decrypt only the totals, and signs your vote with a key made from your code: neither the code nor your choice is sent."</p>
            <button type="submit" disabled=move || busy() || state.with(|b| b.sealed())>"Seal my ballot"</button>
            {move || state.with(|b| b.notice).map(|n| notice::view(Some(n)))}
        </form>
        {move || match state.with(|b| b.phase.clone()) {
            Phase::Sealed(s) | Phase::Casting(s) => {
                let name = names.with_value(|c| {
                    c.iter()
                        .find(|c| c.id == s.choice)
                        .map_or_else(|| s.choice.to_string(), |c| c.name.clone())
                });
                sealed_card(s, name, desk.clone(), busy).into_any()
            }
            Phase::Audited(text) => audited_card(id, text, desk.clone()).into_any(),
            _ => ().into_any(),
        }}
    }
}

/// One radio button per candidate; the choice goes to `choice`.
fn choices(
    candidates: &[Candidate],
    choice: RwSignal<Option<ledger::CandidateId>>,
) -> impl IntoView {
    candidates
        .iter()
        .map(|c| {
            let input_id = format!("candidate-{}", c.id);
            let this = c.id;
            view! {
                <div class="choice">
                    <input type="radio" name="candidate_id" id=input_id.clone()
                        value=c.id.to_string() required
                        on:change=move |_| choice.set(Some(this)) />
                    <label for=input_id>
                        <strong>{c.name.clone()}</strong>
                        {(!c.description.is_empty())
                            .then(|| view! { <span class="party">{c.description.clone()}</span> })}
                    </label>
                </div>
            }
        })
        .collect_view()
}

/// The sealed ballot: cast it, or audit it instead.
fn sealed_card<N>(
    s: machine::SealedBallot,
    name: String,
    desk: BallotDesk<N>,
    busy: impl Fn() -> bool + Copy + Send + Sync + 'static,
) -> impl IntoView
where
    N: Fn(&str, leptos_router::NavigateOptions) + Clone + Send + Sync + 'static,
{
    let (card, button) = (desk.card, desk.cast);
    let (cast, audit) = (desk.clone(), desk);
    view! {
        <section class="sealed" aria-labelledby="sealed-h" data-sealed=s.hash.to_hex() data-millis=s.millis node_ref=card>
            <h2 id="sealed-h">"Your ballot is sealed"</h2>
            <p class="chosen">"You chose "<strong>{name}</strong>"."</p>
            <button type="button" on:click=move |_| cast.send(machine::Event::Cast) disabled=busy node_ref=button>"Cast my vote"</button>
            " "
            <button type="button" class="secondary" on:click=move |_| audit.send(machine::Event::Audit) disabled=busy>"Audit this ballot instead"</button>
            <p>"Its fingerprint: "<span class="hash">{s.hash.to_hex()}</span></p>
            <p class="hint">
                "Cast it, or audit it instead: an audit reveals the choice sealed in it and how it was encrypted, so you (or anyone you trust) can check this browser encrypted what you chose. An audited ballot is never cast; you then seal a new one."
            </p>
        </section>
    }
}

/// A ballot revealed for audit: never cast.
fn audited_card<N>(id: ElectionId, text: String, desk: BallotDesk<N>) -> impl IntoView
where
    N: Fn(&str, leptos_router::NavigateOptions) + Clone + Send + Sync + 'static,
{
    #[cfg(feature = "hydrate")]
    let href = crate::custody::download_href(&text);
    #[cfg(not(feature = "hydrate"))]
    let href = String::new();
    view! {
        <section class="audited" aria-labelledby="audited-h">
            <h2 id="audited-h">"Audited: this ballot will never be cast"</h2>
            <p>
                "Check it on "<a href=format!("/e/{id}/audit")>"the audit page"</a>
                ", on another device, or with "<code>"ballotchain audit ballot-audit.json --server <this site>"</code>
                ". Then seal a new ballot to vote: it is encrypted afresh."
            </p>
            <label for="audit-text">"The audit"</label>
            <textarea id="audit-text" class="hash" readonly rows="8">{text}</textarea>
            <p><a class="button" href=href download="ballot-audit.json">"Download the audit"</a></p>
            <button type="button" on:click=move |_| desk.send(machine::Event::Again)>"Seal a new ballot"</button>
        </section>
    }
}

/// The ballot worker checks the election key and seals the choice: the sealed ballot's
/// hash and the milliseconds sealing took, or the notice that says why not.
#[cfg(feature = "hydrate")]
async fn seal_here(
    id: ElectionId,
    candidates: Vec<ledger::CandidateId>,
    sealed: Option<ledger::SealedTrustees>,
    candidate: ledger::CandidateId,
) -> Result<(ledger::TxId, u64), Notice> {
    use workers::ballot::BallotError;
    let sealed = sealed.ok_or(Notice::VotingClosed)?;
    match workers::ballot::seal(id, sealed, candidates, candidate).await {
        Ok((hash, millis)) => Ok((hash, millis.max(0.0) as u64)),
        Err(BallotError::NoCandidate) => Err(Notice::NoCandidate),
        Err(BallotError::UntrustedKey(_)) => Err(Notice::UntrustedKey),
        Err(_) => Err(Notice::Failed),
    }
}

/// The ballot worker signs the sealed ballot with the key derived from the code; the page
/// sends it: the receipt (and whether it is of a vote this code had cast before), or the
/// notice that says why not.
#[cfg(feature = "hydrate")]
async fn cast_sealed(id: ElectionId, code: String) -> Result<(ledger::TxId, bool), Notice> {
    use workers::ballot::BallotError;
    let signed = workers::ballot::cast(code, js_sys::Date::now() as u64).await;
    let vote = match signed {
        Ok(vote) => vote,
        Err(BallotError::MalformedCode) => return Err(Notice::MalformedCode),
        Err(_) => return Err(Notice::Failed),
    };
    let ballot = wire::Ballot::Signed { vote };
    match crate::custody::post_answer::<_, wire::CastReceipt>(&wire::paths::votes(id), &ballot)
        .await
    {
        Ok(r) => Ok((r.receipt, false)),
        // This code's vote went through before (an answer lost on the way): its receipt.
        Err(Some(body)) if body.error == wire::ErrorCode::AlreadyVoted => {
            match body.details.first().and_then(|r| r.parse().ok()) {
                Some(receipt) => Ok((receipt, true)),
                None => Err(Notice::AlreadyVoted),
            }
        }
        Err(Some(body)) => Err(ballot_notice(body.error)),
        Err(None) => Err(Notice::Failed),
    }
}

/// The ballot for a browser without JavaScript, as plain HTML inside `<noscript>` (a
/// browser with JavaScript never parses it): it posts the code to the server.
fn fallback_form(id: ElectionId, candidates: &[Candidate]) -> String {
    let escape = |text: &str| {
        text.replace('&', "&amp;")
            .replace('<', "&lt;")
            .replace('>', "&gt;")
            .replace('"', "&quot;")
            .replace('\'', "&#39;")
    };
    let choices: String = candidates
        .iter()
        .map(|c| {
            let party = if c.description.is_empty() {
                String::new()
            } else {
                format!(r#"<span class="party">{}</span>"#, escape(&c.description))
            };
            format!(
                r#"<div class="choice"><input type="radio" name="candidate_id" id="candidate-{id}" value="{id}" required><label for="candidate-{id}"><strong>{name}</strong>{party}</label></div>"#,
                id = c.id,
                name = escape(&c.name),
            )
        })
        .collect();
    format!(
        r#"<form class="ballot" method="post" action="/sfn/vote"><input type="hidden" name="election" value="{id}"><p class="notice">Without JavaScript your voting code and your choice are sent to the server, which encrypts your choice, signs your vote with the key your code gives and forgets both. With JavaScript on, your browser encrypts and signs, and neither your code nor your choice leaves this device.</p><label for="code">Your voting code</label><input id="code" name="code" type="text" required autocomplete="off" autocapitalize="characters" spellcheck="false" placeholder="24 letters and digits"><fieldset><legend>Choose one candidate</legend>{choices}</fieldset><div class="choice confirm"><input type="checkbox" id="confirm" name="confirm" value="yes" required><label for="confirm">I have checked my choice. A vote cannot be changed once cast.</label></div><button type="submit">Cast my vote</button></form>"#
    )
}

/// `/e/{election}/receipt/{receipt}`: where the vote is now.
#[component]
pub fn ReceiptPage() -> impl IntoView {
    let election = election_param();
    let params = use_params_map();
    let receipt = Memo::new(move |_| params.read().get("receipt").unwrap_or_default());
    let query = leptos_router::hooks::use_query_map();
    let already = move || query.read().get("already").is_some();
    // A block appended or decided, or the election's state: the receipt may have moved.
    let live = crate::live::version(election.get_untracked(), |c| {
        matches!(
            c,
            wire::Change::Head { .. } | wire::Change::Block { .. } | wire::Change::State { .. }
        )
    });
    let data = Resource::new(
        move || (election.get(), receipt.get(), live.get()),
        |(e, r, _)| receipt_view(e, r),
    );
    loaded(
        data,
        "Looking up your receipt…",
        "Receipt",
        false,
        move |r| {
            view! {
                {already().then(|| view! {
                    <p class="notice" role="status">
                        "This code had voted already, and a vote cannot be changed: this is the receipt of that vote."
                    </p>
                })}
                {receipt_body(election.get_untracked(), r)}
            }
        },
    )
}

fn receipt_body(id: ElectionId, r: ReceiptInfo) -> impl IntoView {
    use wire::ReceiptStatus;
    let link = format!("/e/{id}/receipt/{}", r.receipt);
    let block = r.block_index.map_or_else(String::new, |i| format!(" {i}"));
    let (headline, lead) = match r.status {
        ReceiptStatus::Pending => (
            "Your vote is recorded",
            "It waits to be added to a block of the chain. Nothing is counted before the tally, which the trustees decrypt after voting closes.".to_owned(),
        ),
        ReceiptStatus::AwaitingApproval => (
            "Your vote is recorded",
            format!("It is in block{block}, which the validators are checking before it joins the chain. Nothing is counted before the tally."),
        ),
        ReceiptStatus::Appended => (
            "Your vote is recorded on the chain",
            format!("It is in block{block} of the chain, and counts in the tally the trustees decrypt after voting closes."),
        ),
        ReceiptStatus::Uncounted => (
            "Your vote was not counted",
            "The election office finalised the count before this vote reached the chain.".to_owned(),
        ),
    };
    view! {
        <p><a href=format!("/e/{id}")>{format!("← {}", r.election_title)}</a></p>
        <h1>{headline}</h1>
        <p class="lead">{lead}</p>
        <p>"Keep this receipt: it lets you find your vote later without showing anyone how you voted."</p>
        <label for="receipt-text">"Receipt"</label>
        <input id="receipt-text" class="hash receipt-text" type="text" readonly value=r.receipt.to_hex() />
        <p>
            <a href=link.clone()>"Link to this receipt"</a>
            " (bookmark it to check later)"
        </p>
        {crate::explorer::receipt_card(id, r)}
        <details class="experts">
            <summary>"For experts: check your vote yourself"</summary>
            <ol class="steps">
                <li>
                    "Open "<a href=format!("/e/{id}/chain")>"the explorer"</a>
                    " and paste this receipt into \"Look up a receipt\"."
                </li>
                <li>
                    "Once your vote is in a block, it shows that block and a Merkle proof: your receipt is one of the leaves under the block's root, so the block cannot drop or change your vote without the proof failing."
                </li>
                <li>
                    "Once the block is appended, your vote counts in the tally. Anyone can re-verify the whole chain, every approval and the tally with "
                    <code>{format!("ballotchain verify <this site>/api/elections/{id}/export")}</code>"."
                </li>
            </ol>
        </details>
    }
}

/// `/e/{election}/audit`: checks a ballot audit in this browser (the ballot worker
/// re-encrypts the revealed choice with the revealed seed under the sealed trustees' key
/// and compares the bytes).
#[component]
pub fn AuditPage() -> impl IntoView {
    let election = election_param();
    let data = Resource::new(move || election.get(), ballot);
    loaded(data, "Loading…", "Ballot audit", false, move |b| {
        audit_form(election.get_untracked(), b)
    })
}

#[cfg_attr(not(feature = "hydrate"), allow(unused_variables))]
fn audit_form(id: ElectionId, b: BallotInfo) -> impl IntoView {
    let verdict = RwSignal::new(None::<Result<String, String>>);
    let candidates = StoredValue::new(b.candidates.clone());
    let sealed = StoredValue::new(b.sealed.clone());
    let input = NodeRef::<leptos::html::Textarea>::new();
    let check = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        #[cfg(feature = "hydrate")]
        leptos::task::spawn_local(async move {
            let text = input.get_untracked().map(|t| t.value()).unwrap_or_default();
            let result = match (
                serde_json::from_str::<ledger::audit::BallotAudit>(text.trim()),
                sealed.get_value(),
            ) {
                (Err(e), _) => Err(format!("this is not a ballot audit: {e}")),
                (_, None) => Err("the election is not open yet: no ballot was sealed".into()),
                (Ok(audit), _) if audit.election != id => Err(format!(
                    "this audit is of election {}, not this one",
                    audit.election
                )),
                (Ok(audit), Some(sealed)) => {
                    let name = candidates.with_value(|c| {
                        c.iter()
                            .find(|c| c.id == audit.choice)
                            .map_or_else(|| audit.choice.to_string(), |c| c.name.clone())
                    });
                    match workers::ballot::check(sealed, audit).await {
                        Ok(()) => Ok(format!(
                            "The sealed ballot is the encryption of {name}, under the trustees' election key."
                        )),
                        Err(e) => Err(e.to_string()),
                    }
                }
            };
            verdict.set(Some(result));
        });
    };
    view! {
        <h1>{format!("Check a ballot audit: {}", b.title)}</h1>
        <p class="lead">
            "Paste the audit a ballot page revealed. This browser encrypts the revealed choice again with the revealed seed, under the key the trustees made, and compares the bytes with the sealed ballot's: they match only if the page encrypted what the voter chose."
        </p>
        <p class="notice">
            "This needs JavaScript (WebAssembly). Without it, or to check away from this server: "
            <code>"ballotchain audit ballot-audit.json --server <this site>"</code>
        </p>
        <form class="ballot" on:submit=check>
            <label for="audit-input">"The audit (JSON)"</label>
            <textarea id="audit-input" class="hash" rows="10" required node_ref=input></textarea>
            <button type="submit">"Check the audit"</button>
        </form>
        {move || verdict.get().map(|v| match v {
            Ok(text) => view! { <p class="ok" role="status" data-audit="match">{text}</p> }.into_any(),
            Err(text) => view! { <p class="error" role="alert" data-audit="mismatch">{text}</p> }.into_any(),
        })}
    }
}
