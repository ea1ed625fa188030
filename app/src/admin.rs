//! The election officer's pages: `/admin` (elections, create one) and `/admin/e/{id}`
//! (status, ballot, voters, validators, open and close). Forms post to `/admin/…` with the
//! session's CSRF token and work without JavaScript.

use ledger::{Candidate, ElectionId};
use leptos::prelude::*;
use leptos_router::hooks::use_query_map;
use serde::{Deserialize, Serialize};
use wire::{ElectionState, ElectionSummary};

/// The officer's overview.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OfficeOverview {
    /// Signed-in admin.
    pub username: String,
    /// Token the forms echo back.
    pub csrf: String,
    /// Every election.
    pub elections: Vec<ElectionSummary>,
}

/// One election as the officer manages it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ManagedElection {
    /// Token the forms echo back.
    pub csrf: String,
    /// Election id.
    pub id: ElectionId,
    /// Title.
    pub title: String,
    /// Where the election is.
    pub state: ElectionState,
    /// Difficulty in bits.
    pub difficulty_bits: u8,
    /// Approvals per block.
    pub quorum: u16,
    /// The ballot.
    pub candidates: Vec<Candidate>,
    /// Registered voters.
    pub voters: u64,
    /// Votes cast.
    pub votes: u64,
    /// Votes not yet on chain.
    pub pending: u64,
    /// Chain height.
    pub height: Option<u64>,
    /// Blocks awaiting approval.
    pub awaiting: u64,
    /// Enrolled validators.
    pub validators: Vec<String>,
    /// Validator accounts not enrolled yet.
    pub other_validators: Vec<String>,
}

#[cfg(feature = "ssr")]
async fn admin_context() -> Result<(engine::Node, String), ServerFnError> {
    let (account, csrf) = crate::session::signed_in().await?.ok_or_else(|| {
        ServerFnError::new("Sign in as an election officer (admin) to see this page.")
    })?;
    if account.role != wire::Role::Admin {
        return Err(ServerFnError::new(
            "This page is for election officers; you are signed in as a validator.",
        ));
    }
    let node = use_context::<engine::Node>()
        .ok_or_else(|| ServerFnError::new("the election database is not available"))?;
    Ok((node, csrf))
}

/// Every election, for a signed-in admin only.
#[server(prefix = "/sfn")]
pub async fn admin_overview() -> Result<OfficeOverview, ServerFnError> {
    let (node, csrf) = admin_context().await?;
    let (account, _) = crate::session::signed_in()
        .await?
        .ok_or_else(|| ServerFnError::new("signed out"))?;
    let elections = node
        .list_elections()
        .await
        .map_err(|e| ServerFnError::new(e.to_string()))?;
    Ok(OfficeOverview {
        username: account.username,
        csrf,
        elections,
    })
}

/// One election, for a signed-in admin only.
#[server(prefix = "/sfn")]
pub async fn admin_election(election: ElectionId) -> Result<ManagedElection, ServerFnError> {
    let (node, csrf) = admin_context().await?;
    let fail = |e: engine::EngineError| ServerFnError::new(e.to_string());
    let d = node.election(election).await.map_err(fail)?;
    let all = node.validator_accounts().await.map_err(fail)?;
    Ok(ManagedElection {
        csrf,
        id: d.id,
        title: d.title,
        state: d.state,
        difficulty_bits: d.difficulty_bits,
        quorum: d.quorum,
        candidates: d.candidates,
        voters: d.voters,
        votes: d.votes,
        pending: d.pending_votes,
        height: d.height,
        awaiting: d.awaiting_blocks,
        other_validators: all
            .into_iter()
            .filter(|v| !d.validators.contains(v))
            .collect(),
        validators: d.validators,
    })
}

fn message(code: &str) -> &'static str {
    match code {
        "created" => "Election created.",
        "candidate_added" => "Candidate added.",
        "candidate_saved" => "Candidate saved.",
        "candidate_removed" => "Candidate removed.",
        "validator_enrolled" => "Validator enrolled.",
        "opened" => "The genesis block is sealed and voting is open.",
        "closed" => "Voting is closed.",
        "csrf" => "The form expired. Reload the page and try again.",
        "invalid_input" => "Check the form: names and titles cannot be empty, difficulty is 0 to 48 bits, quorum 1 to 100; usernames have 3 to 40 letters, digits, '.', '_' or '-', passwords at least 10 characters.",
        "duplicate" => "That name is already taken.",
        "wrong_state" => "Not possible in the election's current state (the registry is frozen once voting opens; opening needs two candidates, a voter and enough validators).",
        "not_found" => "Not found.",
        _ => "Something went wrong; please try again.",
    }
}

fn server_message(e: &ServerFnError) -> String {
    match e {
        ServerFnError::ServerError(m) => m.clone(),
        other => other.to_string(),
    }
}

fn flash() -> Option<(bool, &'static str)> {
    let query = use_query_map();
    let q = query.read_untracked();
    q.get("error")
        .map(|e| (true, message(&e)))
        .or_else(|| q.get("done").map(|d| (false, message(&d))))
}

fn flash_view(f: Option<(bool, &'static str)>) -> impl IntoView {
    f.map(|(is_error, text)| {
        if is_error {
            view! { <p class="error" role="alert">{text}</p> }.into_any()
        } else {
            view! { <p class="ok" role="status">{text}</p> }.into_any()
        }
    })
}

fn refused(e: ServerFnError) -> AnyView {
    view! {
        <h1>"Election office"</h1>
        <p class="error" role="alert">{server_message(&e)}</p>
        <p><a href="/login">"Sign in"</a></p>
    }
    .into_any()
}

/// `/admin`
#[component]
pub fn AdminPage() -> impl IntoView {
    let data = Resource::new(|| (), |_| admin_overview());
    let notice = flash();
    view! {
        <Suspense fallback=|| view! { <p class="notice">"Loading…"</p> }>
            {move || Suspend::new(async move {
                match data.await {
                    Err(e) => refused(e),
                    Ok(o) => overview(o, notice).into_any(),
                }
            })}
        </Suspense>
    }
}

fn overview(o: OfficeOverview, notice: Option<(bool, &'static str)>) -> impl IntoView {
    view! {
        <h1>"Election office"</h1>
        <form method="post" action="/logout" class="inline-form">
            <span>{format!("Signed in as {}", o.username)}</span>
            <button type="submit" class="secondary">"Sign out"</button>
        </form>
        {flash_view(notice)}
        <section aria-labelledby="list-h">
            <h2 id="list-h">"Elections"</h2>
            {if o.elections.is_empty() {
                view! { <p class="notice">"No elections yet."</p> }.into_any()
            } else {
                view! {
                    <ul class="history">
                        {o.elections
                            .into_iter()
                            .map(|e| {
                                view! {
                                    <li>
                                        <a href=format!("/admin/e/{}", e.id)>{e.title}</a>
                                        {format!(
                                            " · {} · {} voter{} · {} vote{}",
                                            e.state.label(),
                                            e.voters,
                                            if e.voters == 1 { "" } else { "s" },
                                            e.votes,
                                            if e.votes == 1 { "" } else { "s" },
                                        )}
                                    </li>
                                }
                            })
                            .collect_view()}
                    </ul>
                }
                    .into_any()
            }}
        </section>
        <section aria-labelledby="new-h">
            <h2 id="new-h">"New election"</h2>
            <form method="post" action="/admin/elections" class="ballot">
                <input type="hidden" name="csrf" value=o.csrf />
                <label for="title">"Title"</label>
                <input id="title" name="title" type="text" required maxlength="200" />
                <label for="description">"Description for voters"</label>
                <input id="description" name="description" type="text" maxlength="2000" />
                <label for="difficulty">"Proof-of-work difficulty (leading zero bits, 0–48; 16 if blank)"</label>
                <input id="difficulty" name="difficulty_bits" type="number" min="0" max="48" inputmode="numeric" />
                <label for="quorum">"Approvals needed per block (2 if blank)"</label>
                <input id="quorum" name="quorum" type="number" min="1" max="100" inputmode="numeric" />
                <button type="submit">"Create election"</button>
            </form>
        </section>
    }
}

/// `/admin/e/{election}`
#[component]
pub fn AdminElectionPage() -> impl IntoView {
    let election = crate::explorer::election_param();
    let data = Resource::new(move || election.get(), admin_election);
    let notice = flash();
    view! {
        <Suspense fallback=|| view! { <p class="notice">"Loading…"</p> }>
            {move || Suspend::new(async move {
                match data.await {
                    Err(e) => refused(e),
                    Ok(e) => manage(e, notice).into_any(),
                }
            })}
        </Suspense>
    }
}

fn manage(e: ManagedElection, notice: Option<(bool, &'static str)>) -> impl IntoView {
    let id = e.id;
    let setup = e.state == ElectionState::Setup;
    let csrf = e.csrf.clone();
    let token = move || view! { <input type="hidden" name="csrf" value=csrf.clone() /> };
    view! {
        <p><a href="/admin">"← All elections"</a></p>
        <h1>{e.title.clone()}</h1>
        {flash_view(notice)}
        <section aria-labelledby="status-h">
            <h2 id="status-h">"Status"</h2>
            <dl class="facts">
                <dt>"State"</dt><dd>{e.state.label()}</dd>
                <dt>"Registered voters"</dt><dd>{e.voters}</dd>
                <dt>"Votes cast"</dt><dd>{e.votes}</dd>
                <dt>"Pending votes"</dt><dd>{e.pending}</dd>
                <dt>"Blocks on chain"</dt><dd>{e.height.map_or_else(|| "not sealed".to_owned(), |h| h.to_string())}</dd>
                <dt>"Awaiting approval"</dt><dd>{e.awaiting}</dd>
                <dt>"Rules"</dt><dd>{format!("{} bits of work, {} approvals per block", e.difficulty_bits, e.quorum)}</dd>
            </dl>
            {match e.state {
                ElectionState::Setup => view! {
                    <form method="post" action=format!("/admin/e/{id}/state")>
                        {token()}
                        <input type="hidden" name="action" value="open" />
                        <button type="submit">"Seal the genesis block and open voting"</button>
                    </form>
                }.into_any(),
                ElectionState::Open => view! {
                    <form method="post" action=format!("/admin/e/{id}/state")>
                        {token()}
                        <input type="hidden" name="action" value="close" />
                        <button type="submit" class="danger">"Close voting"</button>
                    </form>
                }.into_any(),
                ElectionState::Closed => ().into_any(),
            }}
            <p><a href=format!("/e/{id}/chain")>"Explorer"</a>" · "<a href=format!("/e/{id}")>"Ballot"</a></p>
        </section>
        <section aria-labelledby="cand-h">
            <h2 id="cand-h">"Candidates"</h2>
            <ul class="history">
                {e.candidates.iter().map(|c| {
                    let action = format!("/admin/e/{id}/candidates/{}", c.id);
                    if setup {
                        view! {
                            <li>
                                <form method="post" action=action.clone() class="inline-form">
                                    {token()}
                                    <label for=format!("cn-{}", c.id) class="visually-hidden">"Name"</label>
                                    <input id=format!("cn-{}", c.id) name="name" type="text" required value=c.name.clone() />
                                    <label for=format!("cd-{}", c.id) class="visually-hidden">"Description"</label>
                                    <input id=format!("cd-{}", c.id) name="description" type="text" value=c.description.clone() />
                                    <button type="submit" name="action" value="update" class="secondary">"Save"</button>
                                    <button type="submit" name="action" value="remove" class="danger" formnovalidate>"Remove"</button>
                                </form>
                            </li>
                        }.into_any()
                    } else {
                        view! {
                            <li>
                                {if c.description.is_empty() {
                                    c.name.clone()
                                } else {
                                    format!("{} — {}", c.name, c.description)
                                }}
                            </li>
                        }
                            .into_any()
                    }
                }).collect_view()}
            </ul>
            {setup.then(|| view! {
                <form method="post" action=format!("/admin/e/{id}/candidates") class="ballot">
                    {token()}
                    <label for="cand-name">"Candidate name"</label>
                    <input id="cand-name" name="name" type="text" required maxlength="200" />
                    <label for="cand-desc">"Party or description"</label>
                    <input id="cand-desc" name="description" type="text" maxlength="1000" />
                    <button type="submit">"Add candidate"</button>
                </form>
            })}
        </section>
        <section aria-labelledby="voters-h">
            <h2 id="voters-h">{format!("Voters ({})", e.voters)}</h2>
            {if setup {
                view! {
                    <p>"Each new voter gets a voting code, shown once on the next page and offered as a CSV download."</p>
                    <form method="post" action=format!("/admin/e/{id}/voters") enctype="multipart/form-data" class="ballot">
                        {token()}
                        <label for="voter-name">"Voter name"</label>
                        <input id="voter-name" name="name" type="text" required maxlength="200" />
                        <label for="voter-ext">"External id (optional, e.g. roll number)"</label>
                        <input id="voter-ext" name="external_id" type="text" maxlength="200" />
                        <button type="submit">"Register voter"</button>
                    </form>
                    <form method="post" action=format!("/admin/e/{id}/voters") enctype="multipart/form-data" class="ballot">
                        {token()}
                        <label for="voter-file">"Or a CSV file with a header row: name,external_id"</label>
                        <input id="voter-file" name="file" type="file" accept=".csv,text/csv" required />
                        <button type="submit">"Import voters"</button>
                    </form>
                }.into_any()
            } else {
                view! { <p class="notice">"The voter registry is sealed in the genesis block."</p> }.into_any()
            }}
        </section>
        <section aria-labelledby="val-h">
            <h2 id="val-h">"Validators"</h2>
            <p>{if e.validators.is_empty() { "None enrolled yet.".to_owned() } else { format!("Enrolled: {}", e.validators.join(", ")) }}</p>
            {setup.then(|| view! {
                {(!e.other_validators.is_empty()).then(|| view! {
                    <form method="post" action=format!("/admin/e/{id}/validators") class="inline-form">
                        {token()}
                        <label for="enrol">"Enrol an existing validator"</label>
                        <select id="enrol" name="username">
                            {e.other_validators.iter().map(|v| view! { <option value=v.clone()>{v.clone()}</option> }).collect_view()}
                        </select>
                        <button type="submit">"Enrol"</button>
                    </form>
                })}
                <form method="post" action=format!("/admin/e/{id}/validators") class="ballot">
                    {token()}
                    <label for="val-name">"New validator username"</label>
                    <input id="val-name" name="username" type="text" required minlength="3" maxlength="40" />
                    <label for="val-pass">"Their password (at least 10 characters)"</label>
                    <input id="val-pass" name="password" type="password" required minlength="10" autocomplete="new-password" />
                    <button type="submit">"Create and enrol validator"</button>
                </form>
            })}
        </section>
    }
}
