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

mod machine;

use machine::{Event, Phase};

/// The voters section of an election in set-up.
pub(crate) fn roll_section(
    id: ElectionId,
    roll: Roll,
    voters: Vec<RegisteredVoter>,
    csrf: String,
    remove: ServerAction<RemoveVoter>,
    refresh: RwSignal<usize>,
    said: RwSignal<Option<Result<String, String>>>,
) -> impl IntoView {
    let desk = Codes {
        id,
        phase: RwSignal::new(Phase::Ready),
        alive: RwSignal::new(false),
        said,
        refresh,
        file: NodeRef::new(),
        typed: NodeRef::new(),
    };
    Effect::new(move |_| desk.alive.set(true));
    let csrf = StoredValue::new(csrf);
    let list = (!voters.is_empty()).then(|| roll_list(id, &roll, voters, csrf, remove, desk));
    view! {
        {move || said.get().map(|r| match r {
            Ok(text) => view! { <p class="ok" role="status">{text}</p> }.into_any(),
            Err(text) => view! { <p class="error" role="alert">{text}</p> }.into_any(),
        })}
        <p class="roll" data-roll=roll.shown_hash()>
            {format!("Roll: {} voter{} · hash ", roll.voters, if roll.voters == 1 { "" } else { "s" })}
            <span class="hash">{roll.shown_hash()}</span>
        </p>
        {codes_maker(desk)}
        {keys_upload(id, csrf, said)}
        {list}
    }
}

/// The codes machine of the page ([`machine::Phase`]) with what carrying out its effects
/// takes.
#[derive(Clone, Copy)]
struct Codes {
    id: ElectionId,
    phase: RwSignal<Phase>,
    /// The page is live (the codes need its WebAssembly).
    alive: RwSignal<bool>,
    said: RwSignal<Option<Result<String, String>>>,
    refresh: RwSignal<usize>,
    /// The roll chosen, or typed.
    file: NodeRef<leptos::html::Input>,
    typed: NodeRef<leptos::html::Textarea>,
}

impl Codes {
    /// Moves the codes on and carries out what the machine asks.
    fn send(self, event: Event) {
        crate::machine::drive(self.phase, event, |effect| self.carry_out(effect));
    }

    #[cfg_attr(not(feature = "hydrate"), allow(unused_variables))]
    fn carry_out(self, effect: machine::Effect) {
        use machine::Effect;
        match effect {
            Effect::Said(words) => self.said.set(Some(words)),
            Effect::Refresh => self.refresh.update(|n| *n += 1),
            #[cfg(feature = "hydrate")]
            Effect::MakeCodes => leptos::task::spawn_local(async move {
                let made = make_codes(self).await.and_then(|(voters, sheet)| {
                    crate::custody::download_text("text/csv", &sheet).map(|href| (voters, href))
                });
                self.send(Event::Made(made));
            }),
            #[cfg(feature = "hydrate")]
            Effect::Register(voters) => leptos::task::spawn_local(async move {
                let url = wire::paths::voters(self.id);
                let sent = crate::custody::post_json::<_, wire::Registration>(&url, &voters)
                    .await
                    .map(|r| {
                        format!(
                            "{} voter(s) registered. The roll now holds {} voters, hash {}.",
                            r.voters.len(),
                            r.roll.voters,
                            r.roll.shown_hash()
                        )
                    });
                self.send(Event::Registered(sent));
            }),
            #[cfg(not(feature = "hydrate"))]
            _ => {}
        }
    }

    /// Whether the buttons wait (working, or the page not live yet).
    fn busy(self) -> bool {
        !self.alive.get() || self.phase.with(Phase::busy)
    }
}

/// Making codes in this browser: the roll typed or chosen, the sheet to download, then
/// registering the voters.
fn codes_maker(desk: Codes) -> impl IntoView {
    let id = desk.id;
    let phase = desk.phase;
    view! {
        <h3>"Make voting codes in this browser"</h3>
        <p>
            "Codes are made here, on this computer. You download the codes sheet for the voters; the server receives only names, external ids and the codes' public keys. Needs JavaScript; without it, use "
            <code>{format!("ballotchain codes --roll roll.csv --election {id} --out codes.csv --keys keys.csv")}</code>
            " and upload the keys file below."
        </p>
        <div class="ballot">
            <label for="roll-file">"Roll: a CSV file with a header row name,external_id"</label>
            <input id="roll-file" type="file" accept=".csv,text/csv" node_ref=desk.file />
            <label for="roll-text">"Or type voters, one per line: name, external id (optional)"</label>
            <textarea id="roll-text" rows="4" node_ref=desk.typed></textarea>
            <button type="button" on:click=move |_| desk.send(Event::Make) disabled=move || desk.busy()>"Make codes"</button>
            {move || match phase.get() {
                Phase::Made(m) | Phase::Registering(m) => view! {
                    <p class="ok" role="status">
                        {format!("{} code(s) made. Their roll hash: {}. Download the codes sheet first: the codes are shown nowhere else.", m.count, m.hash)}
                    </p>
                    <p>
                        <a class="button" href=m.sheet download=format!("voting-codes-election-{id}.csv")
                            on:click=move |_| desk.send(Event::Downloaded)>
                            "Download the codes sheet"
                        </a>
                    </p>
                    {m.downloaded.then(|| view! {
                        <button type="button" on:click=move |_| desk.send(Event::Register) disabled=move || desk.busy()>
                            "Register these voters"
                        </button>
                    })}
                }
                .into_any(),
                Phase::Making => view! { <p class="notice" role="status">"Making codes…"</p> }.into_any(),
                Phase::Failed(why) => view! { <p class="error" role="alert">{why}</p> }.into_any(),
                Phase::Ready => ().into_any(),
            }}
            {move || matches!(phase.get(), Phase::Registering(_)).then(|| view! {
                <p class="notice" role="status">"Registering the voters…"</p>
            })}
        </div>
    }
}

/// Uploading the keys file `ballotchain codes` made offline (a plain form: it works
/// without JavaScript). A codes sheet chosen instead is caught before it is sent.
#[cfg_attr(not(feature = "hydrate"), allow(unused_variables))]
fn keys_upload(
    id: ElectionId,
    csrf: StoredValue<String>,
    said: RwSignal<Option<Result<String, String>>>,
) -> impl IntoView {
    let sheet_chosen = RwSignal::new(false);
    let file = NodeRef::<leptos::html::Input>::new();
    let check_keys_file = move |_| {
        #[cfg(feature = "hydrate")]
        leptos::task::spawn_local(async move {
            let header = crate::custody::text_of(file)
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
    view! {
        <form method="post" action=format!("/admin/e/{id}/voters") enctype="multipart/form-data" class="ballot">
            <input type="hidden" name="csrf" value=csrf.get_value() />
            <input type="hidden" name="election" value=id.to_string() />
            <label for="keys-file">"Keys file from ballotchain codes: name,external_id,public_key"</label>
            <input id="keys-file" name="file" type="file" accept=".csv,text/csv" required node_ref=file on:change=check_keys_file />
            <button type="submit" disabled=move || sheet_chosen.get()>"Upload keys file"</button>
        </form>
    }
}

/// The roll as registered (the first [`LISTED`]): take a voter off, or give one who lost
/// their code a new one.
fn roll_list(
    id: ElectionId,
    roll: &Roll,
    voters: Vec<RegisteredVoter>,
    csrf: StoredValue<String>,
    remove: ServerAction<RemoveVoter>,
    desk: Codes,
) -> impl IntoView {
    let total = voters.len();
    let listed = if roll.voters as usize > total {
        format!(", first {total} listed")
    } else {
        String::new()
    };
    view! {
        <details class="roll-list">
            <summary>{format!("The roll ({} voter{}{listed})", roll.voters, if roll.voters == 1 { "" } else { "s" })}</summary>
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
                                desk.said.set(Some(replace_code(id, vid).await));
                                desk.refresh.update(|n| *n += 1);
                            });
                        };
                        view! {
                            <tr data-voter=vid.to_string()>
                                <td>{format!("{} (#{vid})", v.name)}</td>
                                <td>{v.external_id.clone().unwrap_or_default()}</td>
                                <td class="hash">{wire::fingerprint(&v.public_key)}</td>
                                <td>
                                    <ActionForm action=remove attr:class="inline-form">
                                        <input type="hidden" name="csrf" value=csrf.get_value() />
                                        <input type="hidden" name="election" value=id.to_string() />
                                        <input type="hidden" name="voter" value=vid.to_string() />
                                        <button type="submit" class="danger" aria-label=format!("Remove {name}")>"Remove"</button>
                                    </ActionForm>
                                    <button type="button" class="secondary" disabled=move || desk.busy() on:click=replace
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
    }
}

/// Reads the roll from the file chosen or the lines typed; the codes worker makes a code
/// for each voter: the voters to register (keys only) and the codes sheet.
#[cfg(feature = "hydrate")]
async fn make_codes(desk: Codes) -> Result<(Vec<wire::NewVoter>, String), String> {
    // Typed lines get a header row; their line numbers are counted without it.
    let (text, offset) = match crate::custody::text_of(desk.file).await? {
        Some(text) => (text, 0),
        None => {
            let typed = desk
                .typed
                .get_untracked()
                .map(|t| t.value())
                .unwrap_or_default();
            let typed: Vec<String> = typed
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
    workers::codes::roll_codes(desk.id, text, offset)
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
