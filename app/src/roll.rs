//! The voter roll on the officer's election page. Codes are made in this browser, in
//! the codes worker (crate `workers`): the page builds the codes sheet here, offers it for download, and only once
//! it is downloaded offers to register the voters, sending names, external ids and public
//! keys, never a code. A roll made offline with `ballotchain codes` is registered by
//! uploading its keys file (a plain form, so it works without JavaScript). The page shows
//! the roll's count and hash, and before sealing lets the officer take a voter off the roll
//! or give one who lost their code a new one.

use crate::admin::RemoveVoter;
use ledger::ElectionId;
use leptos::prelude::*;
use wire::{RegisteredVoter, Roll};

/// Most voters the page lists (the roll's count and hash cover all of them).
#[cfg_attr(not(feature = "ssr"), allow(dead_code))]
pub const LISTED: usize = 1000;

/// How far making codes got; it finishes with how many were made and their keys' roll hash.
type Step = crate::task::Task<(usize, String)>;

/// The voters section of an election in set-up.
#[cfg_attr(not(feature = "hydrate"), allow(unused_variables))]
pub(crate) fn roll_section(
    id: ElectionId,
    roll: Roll,
    voters: Vec<RegisteredVoter>,
    csrf: String,
    remove: ServerAction<RemoveVoter>,
    refresh: RwSignal<usize>,
    said: RwSignal<Option<Result<String, String>>>,
) -> impl IntoView {
    let step = RwSignal::new(Step::Loading);
    let download = RwSignal::new(None::<String>);
    let downloaded = RwSignal::new(false);
    #[cfg(feature = "hydrate")]
    let made: StoredValue<Vec<wire::NewVoter>> = StoredValue::new(Vec::new());
    Effect::new(move |_| step.set(Step::Ready));

    let make = move |_| {
        #[cfg(feature = "hydrate")]
        leptos::task::spawn_local(async move {
            step.set(Step::Working("Making codes…".into()));
            match make_codes(id).await {
                Ok((voters, sheet)) => {
                    let keys: Vec<_> = voters.iter().map(|v| v.public_key).collect();
                    let summary = Roll::of(&keys);
                    match crate::custody::download_text("text/csv", &sheet) {
                        Ok(href) => {
                            download.set(Some(href));
                            downloaded.set(false);
                            made.set_value(voters);
                            step.set(Step::Finished((
                                summary.voters as usize,
                                summary.shown_hash(),
                            )));
                        }
                        Err(e) => step.set(Step::Failed(e)),
                    }
                }
                Err(e) => step.set(Step::Failed(e)),
            }
        });
    };
    let register = move |_| {
        #[cfg(feature = "hydrate")]
        leptos::task::spawn_local(async move {
            let before = step.get_untracked();
            step.set(Step::Working("Registering the voters…".into()));
            let voters = made.get_value();
            let url = wire::paths::voters(id);
            match crate::custody::post_json::<_, wire::Registration>(&url, &voters).await {
                Ok(r) => {
                    made.set_value(Vec::new());
                    download.set(None);
                    step.set(Step::Ready);
                    said.set(Some(Ok(format!(
                        "{} voter(s) registered. The roll now holds {} voters, hash {}.",
                        r.voters.len(),
                        r.roll.voters,
                        r.roll.shown_hash()
                    ))));
                    refresh.update(|n| *n += 1);
                }
                Err(e) => {
                    // The same codes can be sent again once the problem is fixed.
                    said.set(Some(Err(format!("Nothing was registered: {e}"))));
                    step.set(before);
                }
            }
        });
    };
    // A codes sheet chosen where the keys file goes is caught here, before it is sent.
    let sheet_chosen = RwSignal::new(false);
    let check_keys_file = move |_| {
        #[cfg(feature = "hydrate")]
        leptos::task::spawn_local(async move {
            let header = crate::custody::chosen_text("keys-file")
                .await
                .ok()
                .flatten()
                .and_then(|t| t.lines().next().map(str::to_lowercase))
                .unwrap_or_default();
            let is_sheet = header.split(',').any(|c| c.trim() == "code");
            sheet_chosen.set(is_sheet);
            if is_sheet {
                said.set(Some(Err(
                    "That file is a codes sheet, not a keys file: it was not sent. Choose the keys file (name,external_id,public_key).".into(),
                )));
            }
        });
    };
    let busy = move || step.with(|s| s.busy());
    let hidden = {
        let csrf = StoredValue::new(csrf.clone());
        move || {
            view! {
                <input type="hidden" name="csrf" value=csrf.get_value() />
                <input type="hidden" name="election" value=id.to_string() />
            }
        }
    };
    let total = voters.len();
    view! {
        {move || said.get().map(|r| match r {
            Ok(text) => view! { <p class="ok" role="status">{text}</p> }.into_any(),
            Err(text) => view! { <p class="error" role="alert">{text}</p> }.into_any(),
        })}
        <p class="roll" data-roll=roll.shown_hash()>
            {format!("Roll: {} voter{} · hash ", roll.voters, if roll.voters == 1 { "" } else { "s" })}
            <span class="hash">{roll.shown_hash()}</span>
        </p>
        <h3>"Make voting codes in this browser"</h3>
        <p>
            "Codes are made here, on this computer. You download the codes sheet for the voters; the server receives only names, external ids and the codes' public keys. Needs JavaScript; without it, use "
            <code>{format!("ballotchain codes --roll roll.csv --election {id} --out codes.csv --keys keys.csv")}</code>
            " and upload the keys file below."
        </p>
        <div class="ballot">
            <label for="roll-file">"Roll: a CSV file with a header row name,external_id"</label>
            <input id="roll-file" type="file" accept=".csv,text/csv" />
            <label for="roll-text">"Or type voters, one per line: name, external id (optional)"</label>
            <textarea id="roll-text" rows="4"></textarea>
            <button type="button" on:click=make disabled=busy>"Make codes"</button>
            {move || match step.get() {
                Step::Finished((n, hash)) => view! {
                    <p class="ok" role="status">
                        {format!("{n} code(s) made. Their roll hash: {hash}. Download the codes sheet first: the codes are shown nowhere else.")}
                    </p>
                }
                .into_any(),
                other => other.status().into_any(),
            }}
            {move || download.get().map(|href| view! {
                <p>
                    <a class="button" href=href download=format!("voting-codes-election-{id}.csv")
                        on:click=move |_| downloaded.set(true)>
                        "Download the codes sheet"
                    </a>
                </p>
            })}
            {move || (matches!(step.get(), Step::Finished(_)) && downloaded.get()).then(|| view! {
                <button type="button" on:click=register>"Register these voters"</button>
            })}
        </div>
        <form method="post" action=format!("/admin/e/{id}/voters") enctype="multipart/form-data" class="ballot">
            {hidden()}
            <label for="keys-file">"Keys file from ballotchain codes: name,external_id,public_key"</label>
            <input id="keys-file" name="file" type="file" accept=".csv,text/csv" required on:change=check_keys_file />
            <button type="submit" disabled=move || sheet_chosen.get()>"Upload keys file"</button>
        </form>
        {(total > 0).then(|| view! {
            <details class="roll-list">
                <summary>{format!("The roll ({} voter{}{})", roll.voters, if roll.voters == 1 { "" } else { "s" }, if roll.voters as usize > total { format!(", first {total} listed") } else { String::new() })}</summary>
                <table class="checks">
                    <thead>
                        <tr><th scope="col">"Voter"</th><th scope="col">"External id"</th><th scope="col">"Key"</th><th scope="col">"Correct"</th></tr>
                    </thead>
                    <tbody>
                        {voters.into_iter().map(|v| {
                            let vid = v.voter_id;
                            let name = v.name.clone();
                            let replace = move |_| {
                                #[cfg(feature = "hydrate")]
                                leptos::task::spawn_local(async move {
                                    said.set(Some(replace_code(id, vid).await));
                                    refresh.update(|n| *n += 1);
                                });
                            };
                            view! {
                                <tr data-voter=vid.to_string()>
                                    <td>{format!("{} (#{vid})", v.name)}</td>
                                    <td>{v.external_id.clone().unwrap_or_default()}</td>
                                    <td class="hash">{wire::fingerprint(&v.public_key)}</td>
                                    <td>
                                        <ActionForm action=remove attr:class="inline-form">
                                            {hidden()}
                                            <input type="hidden" name="voter" value=vid.to_string() />
                                            <button type="submit" class="danger" aria-label=format!("Remove {name}")>"Remove"</button>
                                        </ActionForm>
                                        <button type="button" class="secondary" disabled=busy on:click=replace
                                            aria-label=format!("New code for {}", v.name)>
                                            "New code"
                                        </button>
                                    </td>
                                </tr>
                            }
                        }).collect_view()}
                    </tbody>
                </table>
            </details>
        })}
    }
}

/// Reads the roll from the file chosen or the lines typed; the codes worker makes a code
/// for each voter: the voters to register (keys only) and the codes sheet.
#[cfg(feature = "hydrate")]
async fn make_codes(id: ElectionId) -> Result<(Vec<wire::NewVoter>, String), String> {
    // Typed lines get a header row; their line numbers are counted without it.
    let (text, offset) = match crate::custody::chosen_text("roll-file").await? {
        Some(text) => (text, 0),
        None => {
            let typed: Vec<String> = crate::custody::field("roll-text")
                .lines()
                .filter(|l| !l.trim().is_empty())
                .map(str::to_owned)
                .collect();
            if typed.is_empty() {
                return Err("choose a roll file or type at least one voter".into());
            }
            (format!("name,external_id\n{}", typed.join("\n")), 1)
        }
    };
    workers::codes::roll_codes(id, text, offset)
        .await
        .map_err(|e| e.to_string())
}

/// Makes a new code for a voter who lost theirs and registers its key in place of the old
/// one; the new code is shown once, here.
#[cfg(feature = "hydrate")]
async fn replace_code(id: ElectionId, voter: wire::VoterId) -> Result<String, String> {
    let (code, public_key) = workers::codes::one_code(id)
        .await
        .map_err(|e| e.to_string())?;
    let change = wire::KeyChange { public_key };
    let url = wire::paths::voter_key(id, voter);
    let response = gloo_net::http::Request::put(&url)
        .json(&change)
        .map_err(|e| e.to_string())?
        .send()
        .await
        .map_err(|e| e.to_string())?;
    if !response.ok() {
        return Err(match response.json::<wire::ErrorBody>().await {
            Ok(body) => body.message,
            Err(_) => format!("the server answered {}", response.status()),
        });
    }
    let v: wire::RegisteredVoter = response.json().await.map_err(|e| e.to_string())?;
    Ok(format!(
        "New code for {} (#{}): {code}. It is shown only now; the old code no longer works.",
        v.name, v.voter_id
    ))
}
