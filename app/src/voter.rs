//! The voter's pages: the ballot at `/e/{election}` with its action, casting, and the
//! receipt at `/e/{election}/receipt/{receipt}`. The ballot is an `ActionForm`, so it
//! posts the same without JavaScript.

use crate::explorer::{election_param, receipt_view, ReceiptInfo};
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
}

/// The ballot of an election.
#[server(prefix = "/sfn")]
pub async fn ballot(election: ElectionId) -> Result<BallotInfo, ServerFnError> {
    let d = crate::session::node()?
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

/// Casts the ballot form's vote: the server derives the voter's key from the code, signs,
/// and forgets the code. Then shows the receipt; on any refusal, the ballot again with
/// the reason (never echoing the code into a URL). `confirm` is the "I have checked my
/// choice" box: a vote cannot be changed afterwards.
#[server(prefix = "/sfn", endpoint = "vote")]
pub async fn cast_ballot(
    election: ElectionId,
    #[server(default)] code: String,
    #[server(default)] candidate_id: String,
    #[server(default)] confirm: Option<String>,
) -> Result<(), ServerFnError> {
    use axum::extract::ConnectInfo;
    use std::net::SocketAddr;
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
    let ConnectInfo(client) = leptos_axum::extract::<ConnectInfo<SocketAddr>>().await?;
    let ballot = wire::Ballot::Code { code, candidate_id };
    match limits.cast(&node, client.ip(), election, ballot).await {
        Ok(receipt) => crate::guard::go(&format!("/e/{election}/receipt/{receipt}")),
        Err(refused) => {
            let notice = match refused.code() {
                wire::ErrorCode::InvalidInput => Notice::MalformedCode,
                wire::ErrorCode::WrongState => Notice::VotingClosed,
                wire::ErrorCode::NotFound => Notice::NoCandidate,
                code => Notice::for_code(code),
            };
            crate::guard::go(&notice.on(&page))
        }
    }
}

/// `/e/{election}`: enter the code, choose, confirm, cast.
#[component]
pub fn BallotPage() -> impl IntoView {
    let election = election_param();
    let notice = notice::from_query();
    let cast = ServerAction::<CastBallot>::new();
    let data = Resource::new(move || election.get(), ballot);
    view! {
        <Suspense fallback=|| view! { <p class="notice">"Loading the ballot…"</p> }>
            {move || Suspend::new(async move {
                let id = election.get_untracked();
                match data.await {
                    Err(e) => view! { <p class="error">{e.to_string()}</p> }.into_any(),
                    Ok(b) => ballot_form(id, b, notice, cast).into_any(),
                }
            })}
        </Suspense>
    }
}

fn ballot_form(
    id: ElectionId,
    b: BallotInfo,
    notice: Memo<Option<Notice>>,
    cast: ServerAction<CastBallot>,
) -> impl IntoView {
    let open = b.state == ElectionState::Open;
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
                <ActionForm action=cast attr:class="ballot">
                    <input type="hidden" name="election" value=id.to_string() />
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
                </ActionForm>
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
