//! The election officer's pages and their actions: `/admin` (elections, create one) and
//! `/admin/e/{id}` (status, ballot, voters, validators, open and close). Every form
//! carries the session's CSRF token and works without JavaScript: the `ActionForm`s post
//! to server functions, and the keys-file upload (multipart, which server functions' forms
//! do not take) to the plain handler [`register_voters`] at `/admin/e/{id}/voters`.
//! Voting codes are never made here: see the roll section (`roll.rs`), which makes them in
//! the officer's browser.

mod checklist;

use crate::loaded::loaded;
use crate::notice::{self, Notice};
use ledger::{Candidate, CandidateId, ElectionId};
use leptos::prelude::*;
use serde::{Deserialize, Serialize};
#[cfg(feature = "ssr")]
use wire::Role;
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
    /// The roll's count and hash.
    pub roll: wire::Roll,
    /// The first voters of the roll, for corrections.
    pub roll_list: Vec<wire::RegisteredVoter>,
    /// Votes cast.
    pub votes: u64,
    /// Votes not yet on chain.
    pub pending: u64,
    /// Chain height.
    pub height: Option<u64>,
    /// Blocks awaiting approval.
    pub awaiting: u64,
    /// Enrolled validators, with their keys.
    pub validators: Vec<wire::ValidatorInfo>,
    /// Validator accounts not enrolled yet.
    pub other_validators: Vec<String>,
    /// The trustees' seats and the key ceremony.
    pub trustees: wire::CeremonyBoard,
    /// The ballots on the chain and the count, once sealed.
    pub tally: Option<wire::TallyReport>,
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
#[server(prefix = "/sfn", endpoint = "admin/overview")]
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
#[server(prefix = "/sfn", endpoint = "admin/election")]
pub async fn admin_election(election: ElectionId) -> Result<ManagedElection, ServerFnError> {
    let (node, csrf) = admin_context().await?;
    let fail = |e: engine::EngineError| ServerFnError::new(e.to_string());
    let d = node.election(election).await.map_err(fail)?;
    let all = node.validator_accounts().await.map_err(fail)?;
    let validators = node.validators(election).await.map_err(fail)?;
    Ok(ManagedElection {
        csrf,
        id: d.id,
        title: d.title,
        state: d.state,
        difficulty_bits: d.difficulty_bits,
        quorum: d.quorum,
        candidates: d.candidates,
        voters: d.voters,
        roll: d.roll,
        roll_list: if d.state == ElectionState::Setup {
            let mut list = node.voters(election).await.map_err(fail)?;
            list.truncate(crate::roll::LISTED);
            list
        } else {
            Vec::new()
        },
        votes: d.votes,
        pending: d.pending_votes,
        height: d.height,
        awaiting: d.awaiting_blocks,
        other_validators: all
            .into_iter()
            .filter(|v| !validators.iter().any(|e| &e.username == v))
            .collect(),
        validators,
        trustees: node.ceremony_board(election).await.map_err(fail)?,
        // An altered chain has no count to show; the status says why.
        tally: match d.height {
            Some(_) => node.tally(election).await.ok(),
            None => None,
        },
    })
}

/// Creates an election in set-up and goes to its page.
#[server(prefix = "/sfn", endpoint = "admin/elections")]
pub async fn create_election(
    #[server(default)] csrf: String,
    #[server(default)] title: String,
    #[server(default)] description: String,
    #[server(default)] difficulty_bits: String,
    #[server(default)] quorum: String,
) -> Result<(), ServerFnError> {
    let (node, _) = match crate::guard::guard(Some(Role::Admin), &csrf, "/admin").await {
        Ok(allowed) => allowed,
        Err(to) => return crate::guard::go(&to),
    };
    // Blank means the default; anything unreadable is sent on out of range, so the
    // node's rule about the allowed range is what refuses it.
    let difficulty_bits = match difficulty_bits.trim() {
        "" => None,
        t => Some(t.parse::<u8>().unwrap_or(u8::MAX)),
    };
    let quorum = match quorum.trim() {
        "" => None,
        t => Some(t.parse::<u16>().unwrap_or(0)),
    };
    let new = wire::NewElection {
        title,
        description,
        difficulty_bits,
        quorum,
    };
    match node.create_election(new).await {
        Ok(e) => crate::guard::go(&Notice::Created.on(&format!("/admin/e/{}", e.id))),
        Err(e) => {
            crate::guard::go(&crate::guard::outcome::<()>(Err(e), Notice::Created).on("/admin"))
        }
    }
}

/// Adds a candidate to the ballot of an election in set-up.
#[server(prefix = "/sfn", endpoint = "admin/candidates/add")]
pub async fn add_candidate(
    #[server(default)] csrf: String,
    election: ElectionId,
    #[server(default)] name: String,
    #[server(default)] description: String,
) -> Result<(), ServerFnError> {
    let page = format!("/admin/e/{election}");
    let (node, _) = match crate::guard::guard(Some(Role::Admin), &csrf, &page).await {
        Ok(allowed) => allowed,
        Err(to) => return crate::guard::go(&to),
    };
    let result = node.add_candidate(election, &name, &description).await;
    crate::guard::go(&crate::guard::outcome(result, Notice::CandidateAdded).on(&page))
}

/// Saves a candidate's name and description, or (the Remove button) takes the
/// candidate off the ballot.
#[server(prefix = "/sfn", endpoint = "admin/candidates/change")]
pub async fn change_candidate(
    #[server(default)] csrf: String,
    election: ElectionId,
    candidate: CandidateId,
    #[server(default)] name: String,
    #[server(default)] description: String,
    #[server(default)] remove: Option<String>,
) -> Result<(), ServerFnError> {
    let page = format!("/admin/e/{election}");
    let (node, _) = match crate::guard::guard(Some(Role::Admin), &csrf, &page).await {
        Ok(allowed) => allowed,
        Err(to) => return crate::guard::go(&to),
    };
    let notice = if remove.is_some() {
        let result = node.remove_candidate(election, candidate).await;
        crate::guard::outcome(result, Notice::CandidateRemoved)
    } else {
        let result = node
            .update_candidate(election, candidate, &name, &description)
            .await;
        crate::guard::outcome(result, Notice::CandidateSaved)
    };
    crate::guard::go(&notice.on(&page))
}

/// Enrols an existing validator account (one made from an invitation).
#[server(prefix = "/sfn", endpoint = "admin/validators")]
pub async fn enrol_validator(
    #[server(default)] csrf: String,
    election: ElectionId,
    #[server(default)] username: String,
) -> Result<(), ServerFnError> {
    let page = format!("/admin/e/{election}");
    let (node, _) = match crate::guard::guard(Some(Role::Admin), &csrf, &page).await {
        Ok(allowed) => allowed,
        Err(to) => return crate::guard::go(&to),
    };
    let result = node.enrol_validator(election, &username).await;
    crate::guard::go(&crate::guard::outcome(result, Notice::ValidatorEnrolled).on(&page))
}

/// Takes a voter off the roll before sealing.
#[server(prefix = "/sfn", endpoint = "admin/voters/remove")]
pub async fn remove_voter(
    #[server(default)] csrf: String,
    election: ElectionId,
    #[server(default)] voter: String,
) -> Result<(), ServerFnError> {
    let page = format!("/admin/e/{election}");
    let (node, _) = match crate::guard::guard(Some(Role::Admin), &csrf, &page).await {
        Ok(allowed) => allowed,
        Err(to) => return crate::guard::go(&to),
    };
    let result = match voter.trim().parse() {
        Ok(n) => node.remove_voter(election, wire::VoterId(n)).await,
        Err(_) => Err(engine::EngineError::NotFound("voter")),
    };
    crate::guard::go(&crate::guard::outcome(result, Notice::VoterRemoved).on(&page))
}

/// Seals the genesis block and opens voting.
#[server(prefix = "/sfn", endpoint = "admin/open")]
pub async fn open_election(
    #[server(default)] csrf: String,
    election: ElectionId,
) -> Result<(), ServerFnError> {
    let page = format!("/admin/e/{election}");
    let (node, _) = match crate::guard::guard(Some(Role::Admin), &csrf, &page).await {
        Ok(allowed) => allowed,
        Err(to) => return crate::guard::go(&to),
    };
    let result = node.open_election(election).await;
    crate::guard::go(&crate::guard::outcome(result, Notice::Opened).on(&page))
}

/// Closes voting; votes already cast can still be mined and approved.
#[server(prefix = "/sfn", endpoint = "admin/close")]
pub async fn close_election(
    #[server(default)] csrf: String,
    election: ElectionId,
) -> Result<(), ServerFnError> {
    let page = format!("/admin/e/{election}");
    let (node, _) = match crate::guard::guard(Some(Role::Admin), &csrf, &page).await {
        Ok(allowed) => allowed,
        Err(to) => return crate::guard::go(&to),
    };
    let result = node.close_election(election).await;
    crate::guard::go(&crate::guard::outcome(result, Notice::Closed).on(&page))
}

/// The officer's actions, created once per page so that finishing any of them (with
/// JavaScript) reloads the page's data.
#[derive(Clone, Copy)]
struct OfficeActions {
    create: ServerAction<CreateElection>,
    add_candidate: ServerAction<AddCandidate>,
    change_candidate: ServerAction<ChangeCandidate>,
    enrol: ServerAction<EnrolValidator>,
    remove_voter: ServerAction<RemoveVoter>,
    open: ServerAction<OpenElection>,
    close: ServerAction<CloseElection>,
    start_ceremony: ServerAction<crate::seats::StartCeremony>,
    finalise: ServerAction<crate::seats::FinaliseCount>,
    /// Bumped when something done in the browser (not by an action) changed the page.
    refresh: RwSignal<usize>,
    /// What the last thing done in the browser came to; it outlives the reload it causes.
    said: RwSignal<Option<Result<String, String>>>,
}

impl OfficeActions {
    fn new() -> Self {
        Self {
            create: ServerAction::new(),
            add_candidate: ServerAction::new(),
            change_candidate: ServerAction::new(),
            enrol: ServerAction::new(),
            remove_voter: ServerAction::new(),
            open: ServerAction::new(),
            close: ServerAction::new(),
            start_ceremony: ServerAction::new(),
            finalise: ServerAction::new(),
            refresh: RwSignal::new(0),
            said: RwSignal::new(None),
        }
    }

    /// Changes whenever any of them finishes.
    fn version(&self) -> usize {
        self.create.version().get()
            + self.add_candidate.version().get()
            + self.change_candidate.version().get()
            + self.enrol.version().get()
            + self.remove_voter.version().get()
            + self.refresh.get()
            + self.open.version().get()
            + self.close.version().get()
            + self.start_ceremony.version().get()
            + self.finalise.version().get()
    }
}

/// `/admin`
#[component]
pub fn AdminPage() -> impl IntoView {
    let actions = OfficeActions::new();
    let data = Resource::new(move || actions.version(), |_| admin_overview());
    let notice = notice::from_query();
    loaded(data, "Loading…", "Election office", true, move |o| {
        overview(o, notice, actions)
    })
}

fn overview(
    o: OfficeOverview,
    notice: Memo<Option<Notice>>,
    actions: OfficeActions,
) -> impl IntoView {
    let invite_csrf = o.csrf.clone();
    view! {
        <h1>"Election office"</h1>
        <crate::signin::SignOutButton username=o.username.clone() />
        {move || notice::view(notice.get())}
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
            <ActionForm action=actions.create attr:class="ballot">
                <input type="hidden" name="csrf" value=o.csrf />
                <label for="title">"Title"</label>
                <input id="title" name="title" type="text" required maxlength="200" />
                <label for="description">"Description for voters"</label>
                <input id="description" name="description" type="text" maxlength="2000" />
                <label for="difficulty">"Proof-of-work difficulty (leading zero bits, 0–48; 16 if blank)"</label>
                <input id="difficulty" name="difficulty_bits" type="number" min="0" max="48" inputmode="numeric" />
                <label for="quorum">"Approvals needed per block (2 if blank)"</label>
                <input id="quorum" name="quorum" type="number" min="2" max="100" inputmode="numeric" />
                <button type="submit">"Create election"</button>
            </ActionForm>
        </section>
        <section aria-labelledby="invite-h">
            <h2 id="invite-h">"Invite someone"</h2>
            <p>
                "An invitation is a one-time link, valid for 72 hours. The invitee chooses their own password; a validator also makes their signing key on their own device, so this office never holds it."
            </p>
            <form method="post" action="/admin/invitations" class="ballot">
                <input type="hidden" name="csrf" value=invite_csrf />
                <label for="invite-name">"Their username"</label>
                <input id="invite-name" name="username" type="text" required minlength="3" maxlength="40" autocomplete="off" />
                <label for="invite-role">"Role"</label>
                <select id="invite-role" name="role">
                    <option value="validator">"Validator"</option>
                    <option value="admin">"Election officer (admin)"</option>
                </select>
                <button type="submit">"Create invitation link"</button>
            </form>
        </section>
    }
}

/// `/admin/e/{election}`
#[component]
pub fn AdminElectionPage() -> impl IntoView {
    let election = crate::explorer::election_param();
    let actions = OfficeActions::new();
    let data = Resource::new(
        move || (election.get(), actions.version()),
        |(election, _)| admin_election(election),
    );
    let notice = notice::from_query();
    loaded(data, "Loading…", "Election office", true, move |e| {
        manage(e, notice, actions)
    })
}

/// Every form of the election's page names the election and echoes the session's token.
#[derive(Clone, Copy)]
struct FormToken {
    csrf: StoredValue<String>,
    id: ElectionId,
}

impl FormToken {
    fn fields(self) -> impl IntoView {
        view! {
            <input type="hidden" name="csrf" value=self.csrf.get_value() />
            <input type="hidden" name="election" value=self.id.to_string() />
        }
    }
}

fn manage(
    e: ManagedElection,
    notice: Memo<Option<Notice>>,
    actions: OfficeActions,
) -> impl IntoView {
    let token = FormToken {
        csrf: StoredValue::new(e.csrf.clone()),
        id: e.id,
    };
    let trustees = crate::seats::section(
        &e,
        move || token.fields().into_any(),
        actions.start_ceremony,
        actions.finalise,
    );
    view! {
        <p><a href="/admin">"← All elections"</a></p>
        <h1>{e.title.clone()}</h1>
        {move || notice::view(notice.get())}
        {status_section(&e, token, actions)}
        {candidates_section(&e, token, actions)}
        {voters_section(&e, token, actions)}
        {validators_section(&e, token, actions)}
        {trustees}
    }
}

/// The election's figures and the button that moves it on (open, close).
fn status_section(e: &ManagedElection, token: FormToken, actions: OfficeActions) -> impl IntoView {
    let id = e.id;
    view! {
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
            ElectionState::Setup => setup_checklist(e, token, actions).into_any(),
            ElectionState::Open => view! {
                <ActionForm action=actions.close>
                    {token.fields()}
                    <button type="submit" class="danger">"Close voting"</button>
                </ActionForm>
            }.into_any(),
            ElectionState::Closed => ().into_any(),
        }}
        <p><a href=format!("/e/{id}/chain")>"Explorer"</a>" · "<a href=format!("/e/{id}")>"Ballot"</a></p>
    </section>
    }
}

/// Before sealing: what the genesis block still needs, step by step, and sealing once
/// every step is done (the server checks the same again).
fn setup_checklist(e: &ManagedElection, token: FormToken, actions: OfficeActions) -> impl IntoView {
    let steps = checklist::steps(e);
    let ready = checklist::complete(&steps);
    view! {
        <h3 id="setup-h">"Before voting opens"</h3>
        <ul class="checklist" aria-labelledby="setup-h">
            {steps.into_iter().map(|s| view! {
                <li data-step=s.key data-done=s.done.to_string()>
                    <span aria-hidden="true">{if s.done { "✓ " } else { "○ " }}</span>
                    <span class="visually-hidden">{if s.done { "Done: " } else { "To do: " }}</span>
                    {s.said}
                </li>
            }).collect_view()}
        </ul>
        {if ready {
            view! {
                <ActionForm action=actions.open>
                    {token.fields()}
                    <button type="submit">"Seal the genesis block and open voting"</button>
                </ActionForm>
            }.into_any()
        } else {
            view! {
                <p class="notice" data-seal="waiting">
                    "Sealing the genesis block and opening voting is offered here once every step above is done."
                </p>
            }.into_any()
        }}
    }
}

/// The ballot: edited while the election is being set up, listed after.
fn candidates_section(
    e: &ManagedElection,
    token: FormToken,
    actions: OfficeActions,
) -> impl IntoView {
    let setup = e.state == ElectionState::Setup;
    view! {
    <section aria-labelledby="cand-h">
        <h2 id="cand-h">"Candidates"</h2>
        <ul class="history">
            {e.candidates.iter().cloned().map(|c| {
                if setup {
                    view! {
                        <li>
                            <ActionForm action=actions.change_candidate attr:class="inline-form">
                                {token.fields()}
                                <input type="hidden" name="candidate" value=c.id.to_string() />
                                <label for=format!("cn-{}", c.id) class="visually-hidden">"Name"</label>
                                <input id=format!("cn-{}", c.id) name="name" type="text" required value=c.name />
                                <label for=format!("cd-{}", c.id) class="visually-hidden">"Description"</label>
                                <input id=format!("cd-{}", c.id) name="description" type="text" value=c.description />
                                <button type="submit" class="secondary">"Save"</button>
                                <button type="submit" name="remove" value="yes" class="danger" formnovalidate>"Remove"</button>
                            </ActionForm>
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
            <ActionForm action=actions.add_candidate attr:class="ballot">
                {token.fields()}
                <label for="cand-name">"Candidate name"</label>
                <input id="cand-name" name="name" type="text" required maxlength="200" />
                <label for="cand-desc">"Party or description"</label>
                <input id="cand-desc" name="description" type="text" maxlength="1000" />
                <button type="submit">"Add candidate"</button>
            </ActionForm>
        })}
    </section>
    }
}

/// The roll: made on the office's machine while being set up, its hash once sealed.
fn voters_section(e: &ManagedElection, token: FormToken, actions: OfficeActions) -> impl IntoView {
    let (id, setup) = (e.id, e.state == ElectionState::Setup);
    view! {
    <section aria-labelledby="voters-h">
        <h2 id="voters-h">{format!("Voters ({})", e.voters)}</h2>
        {if setup {
            crate::roll::roll_section(id, e.roll.clone(), e.roll_list.clone(), token.csrf.get_value(), actions.remove_voter, actions.refresh, actions.said).into_any()
        } else {
            view! {
                <p class="notice">"The voter registry is sealed in the genesis block."</p>
                <p class="roll" data-roll=e.roll.shown_hash()>
                    {format!("Roll: {} voters · hash ", e.roll.voters)}
                    <span class="hash">{e.roll.shown_hash()}</span>
                </p>
            }.into_any()
        }}
    </section>
    }
}

/// The validators enrolled, their keys, and enrolling or replacing one.
fn validators_section(
    e: &ManagedElection,
    token: FormToken,
    actions: OfficeActions,
) -> impl IntoView {
    let (id, setup) = (e.id, e.state == ElectionState::Setup);
    view! {
    <section aria-labelledby="val-h">
        <h2 id="val-h">"Validators"</h2>
        {if e.validators.is_empty() {
            view! { <p>"None enrolled yet."</p> }.into_any()
        } else {
            view! {
                <ul class="validators">
                    {e.validators.iter().map(|v| {
                        let name = v.username.clone();
                        view! {
                            <li data-validator=name.clone()>
                                <strong>{name.clone()}</strong>
                                {match &v.public_key {
                                    Some(key) => format!(" · key {}", wire::fingerprint(key)),
                                    None => " · no key: waiting for them to re-enrol".to_owned(),
                                }}
                                {setup.then(|| {
                                    let (label, text) = match v.public_key {
                                        Some(_) => (format!("Replace key of {name}"), "Replace key"),
                                        None => (format!("New re-enrolment link for {name}"), "New re-enrolment link"),
                                    };
                                    view! {
                                        <form method="post" class="inline-form" action=format!("/admin/e/{id}/validators/{name}/rekey")>
                                            {token.fields()}
                                            <button type="submit" class="danger" aria-label=label>{text}</button>
                                        </form>
                                    }
                                })}
                            </li>
                        }
                    }).collect_view()}
                </ul>
            }.into_any()
        }}
        {quorum_warning(e)}
        {setup.then(|| enrol_form(e, token, actions))}
    </section>
    }
}

/// A quorum equal to the validators enrolled: one absent validator stops the chain.
fn quorum_warning(e: &ManagedElection) -> Option<impl IntoView> {
    let exact = e.state == ElectionState::Setup && e.validators.len() == usize::from(e.quorum);
    let quorum = e.quorum;
    exact.then(|| view! {
        <p class="notice" role="status">
            {format!(
                "Exactly {} validators for a quorum of {}: if one of them is absent, no block can be appended. Enrol at least one more.",
                quorum, quorum,
            )}
        </p>
    })
}

/// Enrolling another validator account, or where to invite one.
fn enrol_form(e: &ManagedElection, token: FormToken, actions: OfficeActions) -> impl IntoView {
    // Made here: the form's children are built later, when `e` is gone.
    let options = e
        .other_validators
        .iter()
        .map(|v| view! { <option value=v.clone()>{v.clone()}</option> })
        .collect_view();
    let none = e.other_validators.is_empty();
    // With none enrolled yet, "every account is enrolled" would contradict the list.
    let first = if e.validators.is_empty() {
        "There is no validator account yet: invite one below; once they have made their key, enrol them here."
    } else {
        "Every validator account is enrolled: invite another below; once they have made their key, enrol them here."
    };
    view! {
        {if none {
            view! { <p class="notice">{first}</p> }.into_any()
        } else {
            view! {
                <ActionForm action=actions.enrol attr:class="inline-form">
                    {token.fields()}
                    <label for="enrol">"Enrol a validator"</label>
                    <select id="enrol" name="username">{options}</select>
                    <button type="submit">"Enrol"</button>
                </ActionForm>
            }.into_any()
        }}
        <p class="hint">
            "Replacing a key withdraws it now and gives you a re-enrolment link for that validator; the election cannot be opened until they have enrolled a new key."
        </p>
        <form method="post" action="/admin/invitations" class="inline-form">
            {token.fields()}
            <input type="hidden" name="role" value="validator" />
            <label for="invite-validator">"Invite a validator (their username)"</label>
            <input id="invite-validator" name="username" type="text" required minlength="3" maxlength="40" autocomplete="off" />
            <button type="submit" class="secondary">"Create invitation link"</button>
        </form>
    }
}

/// Voter files may hold many thousands of rows.
#[cfg(feature = "ssr")]
pub const IMPORT_LIMIT: usize = 16 * 1024 * 1024;

/// The plain handlers of the officer's pages, for the server's router: the voter upload,
/// and the invitations, whose links are shown once.
#[cfg(feature = "ssr")]
pub fn upload_routes<S>() -> axum::Router<S>
where
    S: Clone + Send + Sync + 'static,
    engine::Node: axum::extract::FromRef<S>,
{
    axum::Router::new()
        .route(
            "/admin/e/{election}/voters",
            axum::routing::post(register_voters)
                .layer(axum::extract::DefaultBodyLimit::max(IMPORT_LIMIT)),
        )
        .route("/admin/invitations", axum::routing::post(invite))
        .route(
            "/admin/e/{election}/validators/{username}/rekey",
            axum::routing::post(replace_key),
        )
        .route(
            "/admin/e/{election}/trustees",
            axum::routing::post(crate::seats::invite_trustee),
        )
        .route(
            "/admin/e/{election}/trustees/{trustee}/replace",
            axum::routing::post(crate::seats::replace_trustee),
        )
}

/// The fields of the invitation form.
#[cfg(feature = "ssr")]
#[derive(Deserialize)]
pub struct InviteForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    username: String,
    #[serde(default)]
    role: String,
    /// The election page the form was sent from, if any: where the link page leads back.
    #[serde(default)]
    election: Option<ElectionId>,
}

/// `POST /admin/invitations`: an officer invites someone. Answers with the link, shown
/// this once (the server keeps only its hash); a refusal goes back to the office page.
#[cfg(feature = "ssr")]
pub async fn invite(
    axum::extract::State(node): axum::extract::State<engine::Node>,
    session: tower_sessions::Session,
    axum::Extension(site): axum::Extension<std::sync::Arc<crate::site::Site>>,
    headers: axum::http::HeaderMap,
    axum::Form(form): axum::Form<InviteForm>,
) -> axum::response::Response {
    use axum::response::{IntoResponse, Redirect};
    let (back, label) = match form.election {
        Some(id) => (format!("/admin/e/{id}"), "Back to the election"),
        None => ("/admin".to_owned(), "Back to the office"),
    };
    let admin =
        match crate::guard::check(&node, &session, Some(Role::Admin), &form.csrf, &back).await {
            Ok(account) => account,
            Err(to) => return Redirect::to(&to).into_response(),
        };
    let issued = match form.role.parse::<Role>() {
        Ok(role) => {
            let new = wire::NewInvitation {
                username: form.username,
                role,
            };
            node.create_invitation(admin.id, &new).await
        }
        Err(_) => Err(engine::EngineError::Invalid("choose a role".into())),
    };
    match issued {
        Ok(issued) => invitation_page(&site, &headers, &issued, (back, label)),
        Err(e) => crate::guard::refused_back(e, &back),
    }
}

/// `POST /admin/e/{election}/validators/{username}/rekey`: withdraws a validator's key
/// before sealing and answers with their re-enrolment link, shown this once.
#[cfg(feature = "ssr")]
pub async fn replace_key(
    axum::extract::State(node): axum::extract::State<engine::Node>,
    session: tower_sessions::Session,
    axum::Extension(site): axum::Extension<std::sync::Arc<crate::site::Site>>,
    headers: axum::http::HeaderMap,
    axum::extract::Path((election, username)): axum::extract::Path<(ElectionId, String)>,
    axum::Form(form): axum::Form<InviteForm>,
) -> axum::response::Response {
    use axum::response::{IntoResponse, Redirect};
    let page = format!("/admin/e/{election}");
    let admin =
        match crate::guard::check(&node, &session, Some(Role::Admin), &form.csrf, &page).await {
            Ok(account) => account,
            Err(to) => return Redirect::to(&to).into_response(),
        };
    match node
        .replace_validator_key(election, &username, admin.id)
        .await
    {
        Ok(issued) => invitation_page(&site, &headers, &issued, (page, "Back to the election")),
        Err(e) => crate::guard::refused_back(e, &page),
    }
}

/// The only time an invitation link is shown. The link works once, within 72 hours.
#[cfg(feature = "ssr")]
fn invitation_page(
    site: &crate::site::Site,
    headers: &axum::http::HeaderMap,
    issued: &wire::IssuedInvitation,
    back: (String, &'static str),
) -> axum::response::Response {
    let link = format!("{}{}", site.base_url(headers), issued.path);
    let what = match (issued.rekey, issued.role) {
        (true, _) => format!("{}'s key was withdrawn. With this link they enrol a new one; the election cannot be opened until they have.", issued.username),
        (false, Role::Validator) => format!("With this link {} chooses a password and makes a signing key on their own device (or enrols one from a key file). Then enrol them in an election.", issued.username),
        (false, Role::Admin) => format!("With this link {} chooses a password and becomes an election officer.", issued.username),
    };
    standalone_page(
        back,
        &format!("Invitation for {}", issued.username),
        view! {
            <p>{what}</p>
            {link_shown_once(link)}
        },
    )
}

/// `POST /admin/e/{election}/voters`, multipart: a keys file (`file`, as `ballotchain
/// codes --keys` writes it: `name,external_id,public_key`). Answers with the voters
/// registered and the roll's count and hash; a bad file with its bad rows (nothing
/// registered); anything else back on the election's page with the reason.
#[cfg(feature = "ssr")]
pub async fn register_voters(
    axum::extract::State(node): axum::extract::State<engine::Node>,
    session: tower_sessions::Session,
    axum::extract::Path(election): axum::extract::Path<ElectionId>,
    mut form: axum::extract::Multipart,
) -> axum::response::Response {
    use axum::response::{IntoResponse, Redirect};
    let page = format!("/admin/e/{election}");
    let (mut csrf, mut file) = (String::new(), Vec::new());
    loop {
        let field = match form.next_field().await {
            Ok(Some(field)) => field,
            Ok(None) => break,
            Err(_) => return upload_failed(election),
        };
        let key = field.name().unwrap_or("").to_owned();
        let Ok(bytes) = field.bytes().await else {
            return upload_failed(election);
        };
        match key.as_str() {
            "csrf" => csrf = String::from_utf8_lossy(&bytes).into_owned(),
            "file" => file = bytes.to_vec(),
            _ => {}
        }
    }
    if let Err(to) = crate::guard::check(&node, &session, Some(Role::Admin), &csrf, &page).await {
        return Redirect::to(&to).into_response();
    }
    let outcome = match std::str::from_utf8(&file) {
        Ok(text) => node.import_voter_keys(election, text).await,
        Err(_) => Err(engine::EngineError::Invalid(
            "the file is not UTF-8 text (save it as CSV UTF-8)".into(),
        )),
    };
    match outcome {
        Ok(registration) => standalone_page(
            back_to(election),
            &format!("{} voter(s) registered", registration.voters.len()),
            view! {
                <p class="roll" data-roll=registration.roll.shown_hash()>
                    {format!("The roll now holds {} voters, hash ", registration.roll.voters)}
                    <span class="hash">{registration.roll.shown_hash()}</span>
                    ". If you made the codes with ballotchain codes, it printed the hash of the keys it made: when this roll holds only those, the two match."
                </p>
            },
        ),
        Err(engine::EngineError::BadRows(rows)) => standalone_page(
            back_to(election),
            "Nothing was registered",
            view! {
                <p class="error" role="alert">
                    {format!("The file has {} bad row(s); fix them and upload it again.", rows.len())}
                </p>
                <ul class="problems">{rows.into_iter().map(|r| view! { <li>{r}</li> }).collect_view()}</ul>
            },
        ),
        Err(e) => crate::guard::refused_back(e, &page),
    }
}

#[cfg(feature = "ssr")]
fn upload_failed(election: ElectionId) -> axum::response::Response {
    standalone_page(
        back_to(election),
        "The upload could not be read",
        view! { <p>"Nothing was registered. Please try again."</p> },
    )
}

/// The way back to an election's page.
#[cfg(feature = "ssr")]
fn back_to(election: ElectionId) -> (String, &'static str) {
    (format!("/admin/e/{election}"), "Back to the election")
}

/// An invitation link, shown this once: the warning, the link to copy, and the link.
#[cfg(feature = "ssr")]
pub(crate) fn link_shown_once(link: String) -> impl IntoView {
    view! {
        <p class="error" role="alert">
            "This link is shown only now and works once, for 72 hours. Send it to them privately."
        </p>
        <p><label for="invite-link">"Invitation link"</label></p>
        <input id="invite-link" class="hash" type="text" readonly value=link.clone() />
        <p><a href=link>"Open the link"</a></p>
    }
}

/// A page of its own (not hydrated, never cached) around `body`, with a way back.
#[cfg(feature = "ssr")]
pub(crate) fn standalone_page(
    back: (String, &'static str),
    title: &str,
    body: impl IntoView + 'static,
) -> axum::response::Response {
    use axum::response::IntoResponse;
    let title = title.to_owned();
    let html = view! {
        <html lang="en">
            <head>
                <meta charset="utf-8" />
                <meta name="viewport" content="width=device-width, initial-scale=1" />
                <link rel="stylesheet" href="/pkg/ballotchain.css" />
                <link rel="icon" href="data:," />
                <title>{format!("{title} · ballotchain")}</title>
            </head>
            <body>
                <header class="site-header">
                    <a class="brand" href="/">"ballotchain"</a>
                </header>
                <main>
                    <h1>{title.clone()}</h1>
                    {body}
                    <p><a href=back.0>{back.1}</a></p>
                </main>
            </body>
        </html>
    }
    .to_html();
    (
        [(axum::http::header::CACHE_CONTROL, "no-store")],
        axum::response::Html(format!("<!DOCTYPE html>{html}")),
    )
        .into_response()
}
