//! The voter's pages: the ballot at `/e/{election}` and the receipt at
//! `/e/{election}/receipt/{receipt}`. The ballot is a plain HTML form posted to
//! `/e/{election}/vote`, so it works the same with JavaScript off.

use crate::explorer::{election_param, receipt_view, ReceiptInfo};
use ledger::{Candidate, ElectionId};
use leptos::prelude::*;
use leptos_router::hooks::{use_params_map, use_query_map};
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
}

/// The ballot of an election.
#[server(prefix = "/sfn")]
pub async fn ballot(election: ElectionId) -> Result<BallotInfo, ServerFnError> {
    let node = use_context::<engine::Node>()
        .ok_or_else(|| ServerFnError::new("the election database is not available"))?;
    let d = node
        .election(election)
        .await
        .map_err(|e| ServerFnError::new(e.to_string()))?;
    Ok(BallotInfo {
        title: d.title,
        description: d.description,
        state: d.state,
        candidates: d.candidates,
    })
}

/// The message for an error code the vote form redirects back with.
fn error_message(code: &str) -> &'static str {
    match code {
        "invalid_code" => "This voting code is not valid for this election. Check it and try again.",
        "invalid_input" => {
            "That does not look like a voting code: it has 24 letters and digits, like ABCD-EFGH-JKMN-PQRS-TVWX-YZ12."
        }
        "already_voted" => "This voting code has already been used. Each code votes once.",
        "wrong_state" => "Voting is not open in this election.",
        "unconfirmed" => "Tick the box to confirm your choice, then cast your vote.",
        "no_candidate" | "not_found" => "Choose one candidate on the ballot.",
        "rate_limited" => "Too many wrong codes from this connection. Wait a minute, then try again.",
        "chain_integrity" => "This election's chain failed verification; voting is suspended.",
        _ => "Your vote could not be recorded. Please try again.",
    }
}

/// `/e/{election}`: enter the code, choose, confirm, cast.
#[component]
pub fn BallotPage() -> impl IntoView {
    let election = election_param();
    let query = use_query_map();
    let error = Memo::new(move |_| query.read().get("error"));
    let data = Resource::new(move || election.get(), ballot);
    view! {
        <Suspense fallback=|| view! { <p class="notice">"Loading the ballot…"</p> }>
            {move || Suspend::new(async move {
                let id = election.get_untracked();
                match data.await {
                    Err(e) => view! { <p class="error">{e.to_string()}</p> }.into_any(),
                    Ok(b) => ballot_form(id, b, error.get_untracked()).into_any(),
                }
            })}
        </Suspense>
    }
}

fn ballot_form(id: ElectionId, b: BallotInfo, error: Option<String>) -> impl IntoView {
    let open = b.state == ElectionState::Open;
    view! {
        <h1>{b.title.clone()}</h1>
        {(!b.description.is_empty()).then(|| view! { <p class="lead">{b.description.clone()}</p> })}
        <p><a href=format!("/e/{id}/chain")>"Explore the chain and the tally"</a></p>
        {error.map(|code| view! { <p class="error" role="alert">{error_message(&code)}</p> })}
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
                <form method="post" action=format!("/e/{id}/vote") class="ballot">
                    <label for="code">"Your voting code"</label>
                    <input id="code" name="code" type="text" required autocomplete="off"
                        autocapitalize="characters" spellcheck="false"
                        placeholder="24 letters and digits" />
                    <fieldset>
                        <legend>"Choose one candidate"</legend>
                        {b.candidates
                            .iter()
                            .map(|c| {
                                let input_id = format!("candidate-{}", c.id);
                                view! {
                                    <div class="choice">
                                        <input type="radio" name="candidate_id" id=input_id.clone()
                                            value=c.id.to_string() required />
                                        <label for=input_id>
                                            <strong>{c.name.clone()}</strong>
                                            {(!c.description.is_empty())
                                                .then(|| view! { <span class="party">{c.description.clone()}</span> })}
                                        </label>
                                    </div>
                                }
                            })
                            .collect_view()}
                    </fieldset>
                    <div class="choice confirm">
                        <input type="checkbox" id="confirm" name="confirm" value="yes" required />
                        <label for="confirm">"I have checked my choice. A vote cannot be changed once cast."</label>
                    </div>
                    <button type="submit">"Cast my vote"</button>
                </form>
            }
                .into_any()
        }}
    }
}

/// `/e/{election}/receipt/{receipt}`: where the vote is now.
#[component]
pub fn ReceiptPage() -> impl IntoView {
    let election = election_param();
    let params = use_params_map();
    let receipt = Memo::new(move |_| params.read().get("receipt").unwrap_or_default());
    let data = Resource::new(
        move || (election.get(), receipt.get()),
        |(e, r)| receipt_view(e, r),
    );
    view! {
        <Suspense fallback=|| view! { <p class="notice">"Looking up your receipt…"</p> }>
            {move || Suspend::new(async move {
                let id = election.get_untracked();
                match data.await {
                    Err(e) => view! { <p class="error">{e.to_string()}</p> }.into_any(),
                    Ok(r) => receipt_body(id, r).into_any(),
                }
            })}
        </Suspense>
    }
}

fn receipt_body(id: ElectionId, r: ReceiptInfo) -> impl IntoView {
    let link = format!("/e/{id}/receipt/{}", r.receipt);
    view! {
        <h1>"Your receipt"</h1>
        <p class="lead">
            "Keep this receipt: it shows your vote is counted without revealing it to anyone else."
        </p>
        <label for="receipt-text">"Receipt"</label>
        <input id="receipt-text" class="hash receipt-text" type="text" readonly value=r.receipt.to_hex() />
        <p>
            <a href=link.clone()>"Link to this receipt"</a>
            " (bookmark it to check later)"
        </p>
        {crate::explorer::receipt_card(id, r)}
        <p><a href=format!("/e/{id}/chain")>"Explore the chain and the tally"</a></p>
    }
}
