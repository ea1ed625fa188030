//! The officer's part of the secret ballot, on `/admin/e/{id}`: the trustees' seats
//! (invited by name, replaced before sealing), the key ceremony (started with a threshold,
//! restarted, followed round by round) and, once voting has closed, the count (finalised,
//! then decrypted by the trustees' shares). Every form works without JavaScript; the
//! invitation links, shown once, come from the plain handlers [`invite_trustee`] and
//! [`replace_trustee`].

use crate::admin::ManagedElection;
#[cfg(feature = "ssr")]
use crate::notice::Notice;
use ledger::ElectionId;
use leptos::prelude::*;
#[cfg(feature = "ssr")]
use wire::Role;
use wire::{CeremonyBoard, ElectionState, TallyReport};

/// Starts the key ceremony (again) with every enrolled trustee and this threshold.
#[server(prefix = "/sfn", endpoint = "admin/ceremony")]
pub async fn start_ceremony(
    #[server(default)] csrf: String,
    election: ElectionId,
    #[server(default)] threshold: String,
) -> Result<(), ServerFnError> {
    let page = format!("/admin/e/{election}");
    let (node, _) = match crate::guard::guard(Some(Role::Admin), &csrf, &page).await {
        Ok(allowed) => allowed,
        Err(to) => return crate::guard::go(&to),
    };
    let result = match threshold.trim().parse::<u16>() {
        Ok(t) => node.start_ceremony(election, t).await,
        Err(_) => Err(engine::EngineError::Invalid(
            "the threshold is a whole number of trustees".into(),
        )),
    };
    crate::guard::go(&crate::guard::outcome(result, Notice::CeremonyStarted).on(&page))
}

/// Records the final head of the count, once voting has closed; `early` leaves the votes
/// still pending uncounted.
#[server(prefix = "/sfn", endpoint = "admin/final")]
pub async fn finalise_count(
    #[server(default)] csrf: String,
    election: ElectionId,
    #[server(default)] early: Option<String>,
) -> Result<(), ServerFnError> {
    let page = format!("/admin/e/{election}");
    let (node, _) = match crate::guard::guard(Some(Role::Admin), &csrf, &page).await {
        Ok(allowed) => allowed,
        Err(to) => return crate::guard::go(&to),
    };
    let result = node.finalise(election, early.is_some()).await;
    crate::guard::go(&crate::guard::outcome(result, Notice::Finalised).on(&page))
}

/// The fields of the trustee forms.
#[cfg(feature = "ssr")]
#[derive(serde::Deserialize)]
pub struct SeatForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    name: String,
}

/// `POST /admin/e/{election}/trustees`: a seat for a trustee; answers with their
/// invitation link, shown this once.
#[cfg(feature = "ssr")]
pub async fn invite_trustee(
    axum::extract::State(node): axum::extract::State<engine::Node>,
    session: tower_sessions::Session,
    axum::Extension(site): axum::Extension<std::sync::Arc<crate::site::Site>>,
    headers: axum::http::HeaderMap,
    axum::extract::Path(election): axum::extract::Path<ElectionId>,
    axum::Form(form): axum::Form<SeatForm>,
) -> axum::response::Response {
    use axum::response::{IntoResponse, Redirect};
    let page = format!("/admin/e/{election}");
    if let Err(to) =
        crate::guard::check(&node, &session, Some(Role::Admin), &form.csrf, &page).await
    {
        return Redirect::to(&to).into_response();
    }
    let new = wire::NewTrustee { name: form.name };
    match node.invite_trustee(election, &new).await {
        Ok(issued) => seat_page(&site, &headers, &issued, false),
        Err(e) => crate::guard::refused_back(e, &page),
    }
}

/// `POST /admin/e/{election}/trustees/{trustee}/replace`: withdraws a trustee's seat
/// before sealing and answers with the new seat's invitation link, shown this once.
#[cfg(feature = "ssr")]
pub async fn replace_trustee(
    axum::extract::State(node): axum::extract::State<engine::Node>,
    session: tower_sessions::Session,
    axum::Extension(site): axum::Extension<std::sync::Arc<crate::site::Site>>,
    headers: axum::http::HeaderMap,
    axum::extract::Path((election, trustee)): axum::extract::Path<(ElectionId, wire::TrusteeId)>,
    axum::Form(form): axum::Form<SeatForm>,
) -> axum::response::Response {
    use axum::response::{IntoResponse, Redirect};
    let page = format!("/admin/e/{election}");
    if let Err(to) =
        crate::guard::check(&node, &session, Some(Role::Admin), &form.csrf, &page).await
    {
        return Redirect::to(&to).into_response();
    }
    match node.replace_trustee(election, trustee).await {
        Ok(issued) => seat_page(&site, &headers, &issued, true),
        Err(e) => crate::guard::refused_back(e, &page),
    }
}

/// The only time a trustee's invitation link is shown.
#[cfg(feature = "ssr")]
fn seat_page(
    site: &crate::site::Site,
    headers: &axum::http::HeaderMap,
    issued: &wire::TrusteeInvitation,
    replaced: bool,
) -> axum::response::Response {
    let link = format!("{}{}", site.base_url(headers), issued.path);
    let what = if replaced {
        format!(
            "The previous seat of {} is withdrawn for good and a key ceremony under way, if any, has ended. With this link the trustee enrols new keys; then start the ceremony again.",
            issued.name
        )
    } else {
        format!(
            "With this link {} makes their keys on their own device and enrols them. If a key ceremony was under way, it has ended: start it again once every trustee has enrolled.",
            issued.name
        )
    };
    crate::admin::standalone_page(
        (
            format!("/admin/e/{}", issued.election),
            "Back to the election",
        ),
        &format!("Trustee invitation for {}", issued.name),
        view! {
            <p>{what}</p>
            {crate::admin::link_shown_once(link)}
        },
    )
}

/// The threshold offered first, and the lowest offered: a majority of the trustees (so the
/// tally survives the absence of a minority, and a minority cannot decrypt on its own),
/// the chain's own rule (`ledger::secret::check_threshold`).
pub(crate) fn majority(n: usize) -> usize {
    ledger::secret::lowest_threshold(n)
}

/// The trustees section of the election's page.
pub(crate) fn section(
    e: &ManagedElection,
    token: impl Fn() -> AnyView + Copy + Send + 'static,
    start: ServerAction<StartCeremony>,
    finalise: ServerAction<FinaliseCount>,
) -> impl IntoView {
    let id = e.id;
    let setup = e.state == ElectionState::Setup;
    let board: &CeremonyBoard = &e.trustees;
    let enrolled = board.trustees.iter().filter(|t| t.seat.is_some()).count();
    let n = board.trustees.len();
    let seats = seat_list(e);
    let ceremony = ceremony_words(board);
    let started = board.ceremony.is_some();
    let default = majority(enrolled);
    view! {
        <section aria-labelledby="trustees-h">
            <h2 id="trustees-h">"Trustees and the key ceremony"</h2>
            <p class="hint">
                "The trustees hold the election key between them: no single party, this office included, can decrypt a ballot. They decrypt only the totals, together, after voting closes."
            </p>
            <ul class="history" data-trustees=n>{seats}</ul>
            <p role="status" data-ceremony-state=board.state().as_str()>
                {ceremony}
            </p>
            <p><a href=format!("/e/{id}/trustees")>"The ceremony's board"</a></p>
            {setup.then(|| view! {
                <form method="post" action=format!("/admin/e/{id}/trustees") class="inline-form">
                    <input type="hidden" name="csrf" value=e.csrf.clone() />
                    <label for="trustee-name">"Invite a trustee"</label>
                    <input id="trustee-name" name="name" required maxlength="200" placeholder="Their name, as people know it" />
                    <button type="submit">"Invite"</button>
                </form>
                {(enrolled > 0 && enrolled == n).then(|| view! {
                    <ActionForm action=start attr:class="inline-form">
                        {token()}
                        <label for="threshold">"Trustees needed to decrypt"</label>
                        <select id="threshold" name="threshold">
                            {(majority(n)..=n)
                                .map(|t| view! {
                                    <option value=t.to_string() selected=t == default>
                                        {format!("{t} of {n}")}
                                    </option>
                                })
                                .collect_view()}
                        </select>
                        <button type="submit">
                            {if started { "Restart the key ceremony" } else { "Start the key ceremony" }}
                        </button>
                    </ActionForm>
                    <p class="hint">
                        "More than half of the trustees must be needed: otherwise two groups of them could each decrypt a count of their own, and the difference would reveal ballots. With all of them needed, one lost key file or passphrase makes the tally impossible. A restart gives the ceremony a new id: every trustee takes their turns again."
                    </p>
                })}
                {(enrolled < n).then(|| view! {
                    <p class="notice">{format!("{enrolled} of {n} trustees have enrolled; the ceremony starts once all have.")}</p>
                })}
            })}
            {e.tally.clone().map(|t| count_view(e, &t, token, finalise))}
        </section>
    }
}

/// Each trustee's seat: enrolled (with the identity key's fingerprint) or invited, and,
/// while the election is set up, a way to replace them.
fn seat_list(e: &ManagedElection) -> impl IntoView {
    let (id, setup) = (e.id, e.state == ElectionState::Setup);
    e.trustees
        .trustees
        .iter()
        .map(|t| {
            let keys = t.seat.as_ref().map_or_else(
                || "invitation not accepted yet".to_owned(),
                |s| format!("enrolled · identity key {}", wire::fingerprint(&s.identity)),
            );
            let replace = setup.then(|| {
                view! {
                    <form method="post" action=format!("/admin/e/{id}/trustees/{}/replace", t.id) class="inline-form">
                        <input type="hidden" name="csrf" value=e.csrf.clone() />
                        <button type="submit" class="danger" aria-label=format!("Replace {}", t.name)>"Replace"</button>
                    </form>
                }
            });
            view! {
                <li data-trustee=t.name.clone()>
                    <strong>{t.name.clone()}</strong>" · "{keys}
                    {replace}
                </li>
            }
        })
        .collect_view()
}

/// Where the key ceremony is, in the officer's words.
fn ceremony_words(board: &CeremonyBoard) -> String {
    let n = board.trustees.len();
    match &board.ceremony {
        None if n == 0 => "No trustee yet: invite at least one (three, any two of whom decrypt, is a sound start).".to_owned(),
        None => "The key ceremony has not started.".to_owned(),
        Some(c) => match (&c.election_key, &c.problem, &c.waiting) {
            (Some(_), _, _) => format!(
                "The key ceremony is complete: any {} of the {} trustees can decrypt the tally.",
                c.threshold,
                c.seats.len()
            ),
            (None, Some(problem), _) => format!("The key ceremony failed: {problem}. Restart it."),
            (None, None, Some(w)) => format!(
                "Key ceremony {} (any {} of {}): {}.",
                c.id,
                c.threshold,
                c.seats.len(),
                crate::trustee::waiting_for(c, w)
            ),
            (None, None, None) => "Every message is in; the board checks the ceremony.".to_owned(),
        },
    }
}

/// The count, once voting has closed.
fn count_view(
    e: &ManagedElection,
    tally: &TallyReport,
    token: impl Fn() -> AnyView + Copy + Send + 'static,
    finalise: ServerAction<FinaliseCount>,
) -> impl IntoView {
    let threshold = e
        .trustees
        .ceremony
        .as_ref()
        .map_or(0, |c| usize::from(c.threshold));
    if e.state != ElectionState::Closed {
        return ().into_any();
    }
    let Some(end) = tally.final_head.clone() else {
        let (pending, awaiting) = (e.pending, e.awaiting);
        let early = pending > 0 || awaiting > 0;
        return view! {
            <h3>"The count"</h3>
            <p>
                {format!(
                    "Finalising fixes the chain's head the count covers: {} ballots on the chain now. The chain then takes no more blocks, and the trustees decrypt the totals.",
                    tally.turnout
                )}
            </p>
            <ActionForm action=finalise attr:class="ballot">
                {token()}
                {early.then(|| view! {
                    <p class="notice">
                        {format!(
                            "{pending} votes are still pending and {awaiting} blocks await validators: wait for them, or finalise early and leave those votes uncounted (their receipts will say so)."
                        )}
                    </p>
                    <label class="choice">
                        <input type="checkbox" name="early" value="yes" />
                        "Finalise early, leaving the pending votes uncounted"
                    </label>
                })}
                <button type="submit">"Finalise the count"</button>
            </ActionForm>
        }
        .into_any();
    };
    let shares = tally.shares.len();
    let progress = match &tally.result {
        Some(result) => {
            let counts: Vec<String> = result
                .iter()
                .map(|c| format!("{}: {}", c.name, c.votes))
                .collect();
            format!("The result is published: {}.", counts.join(", "))
        }
        None => format!(
            "{shares} of the {threshold} decryption shares needed are in. Each trustee posts theirs from their own copy of the chain, on the count page or with the command line (ballotchain trustee tally)."
        ),
    };
    view! {
        <h3>"The count"</h3>
        <p data-final-height=end.height>
            {format!(
                "Final at block {} ({} ballots).{}",
                end.height,
                tally.turnout,
                if end.uncounted > 0 {
                    format!(" {} votes were left uncounted.", end.uncounted)
                } else {
                    String::new()
                }
            )}
        </p>
        <p role="status" data-shares=shares>{progress}</p>
        <p>
            <a href=format!("/e/{}/tally", e.id)>"The count page"</a>
            ": send this link to the trustees."
        </p>
    }
    .into_any()
}
