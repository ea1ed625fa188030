//! A trustee's pages. `/trustee/{token}` accepts a seat: the identity key and the
//! share-receiving key it binds are made in this browser, in WebAssembly (the key worker),
//! and only their public halves and a proof of possession are sent. `/e/{election}/trustees`
//! is the key ceremony's bulletin board, public like the chain: who has posted each round,
//! and, for the trustee whose key file this browser opens, their turn. The trustee's side
//! of the ceremony stays sealed in their key file (and, if they chose, in this browser's
//! storage) between turns; the server only ever relays signed messages. Without JavaScript
//! the pages say how to do the same with `ballotchain trustee`.

mod machine;

use crate::loaded::loaded;
use ledger::ceremony::Round;
use ledger::ElectionId;
use leptos::prelude::*;
use leptos_router::hooks::use_params_map;
use wire::{CeremonyBoard, CeremonyInfo, CeremonyState, TrusteeInvitationInfo};

/// What the invitation is for; a used, expired or unknown one is refused in words.
#[server(prefix = "/sfn")]
pub async fn trustee_invitation_details(
    token: String,
) -> Result<TrusteeInvitationInfo, ServerFnError> {
    let node = crate::session::node()?;
    node.trustee_invitation(&token)
        .await
        .map_err(|e| ServerFnError::new(e.to_string()))
}

/// The election's title and its ceremony board (a read of the board, counted per address
/// like `GET /api/elections/{id}/ceremony`).
#[server(prefix = "/sfn")]
pub async fn ceremony_view(election: ElectionId) -> Result<(String, CeremonyBoard), ServerFnError> {
    let node = crate::session::node()?;
    let limits = use_context::<std::sync::Arc<crate::limit::Limits>>()
        .ok_or_else(|| ServerFnError::new("the rate limits are not available"))?;
    let crate::site::ClientAddr(client) = leptos_axum::extract().await?;
    limits
        .boards
        .count(client)
        .map_err(|e| ServerFnError::new(e.to_string()))?;
    let title = node
        .election(election)
        .await
        .map_err(|e| ServerFnError::new(e.to_string()))?
        .title;
    let board = node
        .ceremony_board(election)
        .await
        .map_err(|e| ServerFnError::new(e.to_string()))?;
    Ok((title, board))
}

/// How far a trustee's task in this browser got; it finishes with the words that say so.
type Step = crate::task::Task<String>;
use crate::task::{send, TaskEvent};

/// `/trustee/{token}`
#[component]
pub fn TrusteeInvitePage() -> impl IntoView {
    let params = use_params_map();
    let token = Memo::new(move |_| params.read().get("token").unwrap_or_default());
    let data = Resource::new(move || token.get(), trustee_invitation_details);
    loaded(
        data,
        "Loading your invitation…",
        "Trustee invitation",
        false,
        move |info| enrolment(token.get_untracked(), info),
    )
}

#[cfg_attr(not(feature = "hydrate"), allow(unused_variables))]
fn enrolment(token: String, info: TrusteeInvitationInfo) -> impl IntoView {
    let fields = EnrolFields {
        passphrase: NodeRef::new(),
        passphrase2: NodeRef::new(),
        remember: NodeRef::new(),
    };
    let step = RwSignal::new(Step::Loading);
    #[cfg(feature = "hydrate")]
    on_cleanup(workers::dismiss::<workers::keys::KeyWorker>);
    let download = RwSignal::new(None::<String>);
    Effect::new(move |_| {
        send(step, TaskEvent::Alive);
    });
    let election = info.election;
    let name = info.name.clone();
    let challenge = info.challenge.clone();
    let cli = format!(
        "ballotchain trustee enrol --server <this site> --invitation /trustee/{token} --key trustee.key"
    );
    let enrol = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        #[cfg(feature = "hydrate")]
        if send(step, TaskEvent::Start { again: false }) {
            let (token, name, challenge) = (token.clone(), name.clone(), challenge.clone());
            leptos::task::spawn_local(async move {
                let progress = move |words: &str| {
                    send(step, TaskEvent::Progress(words.to_owned()));
                };
                let done = enrol_here(&token, &name, &challenge, election, fields, progress)
                    .await
                    .map(|(file, fingerprint)| {
                        download.set(Some(crate::custody::download_href(&file)));
                        format!(
                            "You are enrolled. Your identity key's fingerprint is {fingerprint}: check that the election office lists it beside your name."
                        )
                    });
                send(step, TaskEvent::Done(done));
            });
        }
    };
    let busy = move || step.with(|s| s.busy() || matches!(s, Step::Finished(_)));
    view! {
        <h1>{format!("Welcome, {}", info.name)}</h1>
        <p class="lead">{format!("You are invited as a trustee of “{}”.", info.title)}</p>
        <p>
            "The trustees hold the key that decrypts the tally, each a part of it: no ballot is ever decrypted, only the totals, and only when enough trustees take part after voting closes. Your keys are made and kept on this device; the server receives only their public halves and a signature proving you hold them."
        </p>
        <p class="notice">
            "This needs JavaScript (WebAssembly). Without it, use the command line: "
            <code>{"ballotchain key new --out trustee.key --label trustee"}</code>
            " then "
            <code>{cli}</code>
            "."
        </p>
        <form class="ballot enrol" on:submit=enrol>
            <label for="tr-passphrase">"Key file passphrase (at least 12 characters; it encrypts your key file and your part of the ceremony)"</label>
            <input id="tr-passphrase" type="password" required minlength="12" autocomplete="new-password" node_ref=fields.passphrase />
            <label for="tr-passphrase2">"The same passphrase again"</label>
            <input id="tr-passphrase2" type="password" required minlength="12" autocomplete="new-password" node_ref=fields.passphrase2 />
            <label class="choice">
                <input id="tr-remember" type="checkbox" checked=true node_ref=fields.remember />
                "Also remember the key file in this browser (encrypted under the same passphrase), for the ceremony's turns"
            </label>
            <button type="submit" disabled=busy>"Make my keys and enrol"</button>
            {move || step.with(|s| s.status())}
        </form>
        {move || match step.get() {
            Step::Finished(text) => enrolled(election, text, download.get()).into_any(),
            _ => ().into_any(),
        }}
    }
}

/// Enrolled: the key file to keep, and where the ceremony's turns are taken.
fn enrolled(election: ElectionId, said: String, download: Option<String>) -> impl IntoView {
    view! {
        <p class="ok" role="status">{said}</p>
        {download.map(|href| view! {
            <p>
                <a class="button" href=href download=crate::key_file_name(&format!("trustee-election-{election}"))>"Download your key file"</a>
                " Keep it safe, with its passphrase: it is the one file you need. Your turns in the key ceremony, and your part of the election key after it, are re-made from it and the public board, on any computer; the copies offered after your turns work too. Losing both this browser's copy and the file means the office must replace you."
            </p>
        })}
        <p>
            "When the election office starts the key ceremony, take your turns on "
            <a href=format!("/e/{election}/trustees")>"the ceremony page"</a>"."
        </p>
    }
}

/// The trustee's enrolment form's inputs.
#[derive(Clone, Copy)]
#[cfg_attr(not(feature = "hydrate"), allow(dead_code))]
struct EnrolFields {
    passphrase: NodeRef<leptos::html::Input>,
    passphrase2: NodeRef<leptos::html::Input>,
    remember: NodeRef<leptos::html::Input>,
}

/// Makes the keys in the key worker, proves them over the challenge and enrols them; the
/// key file (JSON text) and the identity key's fingerprint.
#[cfg(feature = "hydrate")]
async fn enrol_here(
    token: &str,
    name: &str,
    challenge: &str,
    election: ElectionId,
    fields: EnrolFields,
    progress: impl Fn(&str),
) -> Result<(String, String), String> {
    let phrase = crate::input_value(fields.passphrase);
    if phrase != crate::input_value(fields.passphrase2) {
        return Err("the two passphrases differ".into());
    }
    let challenge = hex::decode(challenge).map_err(|_| "the challenge is not hex".to_owned())?;
    progress("Making your keys…");
    let file = workers::keys::generate(format!("trustee {name}"), phrase)
        .await
        .map_err(|e| e.to_string())?
        .file;
    let enrolment = workers::keys::enrol(challenge)
        .await
        .map_err(|e| e.to_string())?;
    progress("Enrolling your keys…");
    crate::custody::post_json::<_, wire::TrusteeInfo>(
        &wire::paths::accept_trustee_invitation(token),
        &enrolment,
    )
    .await?;
    if fields.remember.get_untracked().is_some_and(|r| r.checked()) {
        crate::custody::remember_trustee(election, &file)?;
    }
    Ok((file, wire::fingerprint(&enrolment.seat.identity)))
}

/// `/e/{election}/trustees`
#[component]
pub fn CeremonyPage() -> impl IntoView {
    let election = crate::explorer::election_param();
    // Bumped after each turn: the board is read again; and as the board changes.
    let version = RwSignal::new(0u32);
    let live = crate::live::version(election.get_untracked(), |c| {
        matches!(c, wire::Change::Ceremony | wire::Change::State { .. })
    });
    let data = Resource::new(
        move || (election.get(), version.get(), live.get()),
        |(e, _, _)| ceremony_view(e),
    );
    view! {
        {loaded(data, "Loading the ceremony…", "Key ceremony", false, move |(title, board)| {
            view! {
                <h1>{format!("Key ceremony: {title}")}</h1>
                {board_view(&board)}
                <YourPart election=election.get_untracked() board />
            }
        })}
        <TurnForm election=election.get_untracked() version />
    }
}

/// Whether the trustee at `position` has posted everything `round` asks of them.
fn has_posted(c: &CeremonyInfo, round: Round, position: u16) -> bool {
    let sent = c
        .messages
        .iter()
        .filter(|m| m.round == round && m.from == position)
        .count();
    let wanted = if round == Round::Shares {
        c.seats.len().saturating_sub(1)
    } else {
        1
    };
    sent >= wanted.max(1)
}

const ROUNDS: [Round; 4] = [
    Round::Commitments,
    Round::Polynomials,
    Round::Shares,
    Round::Confirmations,
];

fn board_view(board: &CeremonyBoard) -> impl IntoView {
    let Some(c) = board.ceremony.clone() else {
        return view! {
            <p class="notice" data-ceremony=CeremonyState::NotStarted.as_str()>
                "The election office has not started the key ceremony yet."
            </p>
            <ul class="trustees">
                {board
                    .trustees
                    .iter()
                    .map(|t| {
                        let keys = t.seat.as_ref().map_or_else(
                            || "not enrolled yet".to_owned(),
                            |s| format!("identity key {}", wire::fingerprint(&s.identity)),
                        );
                        view! { <li>{format!("{} · {keys}", t.name)}</li> }
                    })
                    .collect_view()}
            </ul>
        }
        .into_any();
    };
    let state = c.state();
    let summary = match (&c.election_key, &c.problem, &c.waiting) {
        (Some(key), _, _) => format!(
            "The ceremony is complete: every trustee signed the same sealed set of seats, threshold and keys. Election key {key}, as this server reports it: each trustee's own tool shows the key their share gives."
        ),
        (None, Some(problem), _) => format!("The ceremony failed: {problem}"),
        (None, None, Some(w)) => format!("{}.", waiting_for(&c, w)),
        (None, None, None) => "Every message is in; the board checks the ceremony.".to_owned(),
    };
    view! {
        <p class="lead">
            {format!(
                "Ceremony {}: any {} of these {} trustees will be able to decrypt the tally together.",
                c.id,
                c.threshold,
                c.seats.len()
            )}
        </p>
        {c.warning.clone().map(|w| view! { <p class="notice">{w}</p> })}
        <p class=if state == CeremonyState::Failed { "error" } else { "notice" } data-ceremony=state.as_str() role="status">
            {summary}
        </p>
        <div class="scroll" tabindex="0" role="region" aria-label="Rounds each trustee has posted">
        <table class="ceremony">
            <thead>
                <tr>
                    <th scope="col">"Trustee"</th>
                    <th scope="col">"Identity key"</th>
                    {ROUNDS.iter().map(|r| view! { <th scope="col">{r.to_string()}</th> }).collect_view()}
                </tr>
            </thead>
            <tbody>
                {c.seats
                    .iter()
                    .map(|s| {
                        let cells = ROUNDS
                            .iter()
                            .map(|&r| {
                                let done = has_posted(&c, r, s.position);
                                view! { <td data-posted=done.to_string() data-round=r.to_string()>{if done { "posted" } else { "—" }}</td> }
                            })
                            .collect_view();
                        view! {
                            <tr data-trustee=s.name.clone()>
                                <th scope="row">{s.name.clone()}</th>
                                <td class="fingerprint">{wire::fingerprint(&s.seat.identity)}</td>
                                {cells}
                            </tr>
                        }
                    })
                    .collect_view()}
            </tbody>
        </table>
        </div>
    }
    .into_any()
}

/// Where a trustee's key comes from in a form whose fields are named `{prefix}-…`: the key
/// file remembered in this browser, or one chosen; and its passphrase.
fn key_fields(
    prefix: &'static str,
    election: ElectionId,
    remembered: RwSignal<bool>,
    key: KeyInputs,
) -> impl IntoView {
    let (file, phrase) = (format!("{prefix}-keyfile"), format!("{prefix}-passphrase"));
    view! {
        <p hidden=move || !remembered.get()>
            "Your key file is remembered in this browser. "
            <a href="#" download=crate::key_file_name(&format!("trustee-election-{election}")) on:click=move |ev| save_remembered(&ev, election)>
                "Download it"
            </a>
            " to take your part on another computer."
        </p>
        <label for=file.clone() hidden=move || remembered.get()>"Your key file"</label>
        <input id=file type="file" accept=".key,.json,application/json" node_ref=key.file
            hidden=move || remembered.get() />
        <label for=phrase.clone()>"Key file passphrase"</label>
        <input id=phrase type="password" autocomplete="current-password" node_ref=key.passphrase />
    }
}

/// Points the clicked link at the key file this browser remembers now (it changes with
/// each turn), just before the browser follows it.
#[cfg_attr(not(feature = "hydrate"), allow(unused_variables))]
fn save_remembered(ev: &leptos::ev::MouseEvent, election: ElectionId) {
    #[cfg(feature = "hydrate")]
    if let Some(file) = crate::custody::remembered_trustee(election) {
        use wasm_bindgen::JsCast;
        if let Some(link) = ev
            .current_target()
            .and_then(|t| t.dyn_into::<web_sys::Element>().ok())
        {
            // A link that cannot be pointed stays at "#": nothing is downloaded.
            let _ = link.set_attribute("href", &crate::custody::download_href(&file));
        }
    }
}

/// A key file's inputs: the file chosen and its passphrase.
#[derive(Clone, Copy)]
#[cfg_attr(not(feature = "hydrate"), allow(dead_code))]
struct KeyInputs {
    file: NodeRef<leptos::html::Input>,
    passphrase: NodeRef<leptos::html::Input>,
}

impl KeyInputs {
    fn new() -> Self {
        Self {
            file: NodeRef::new(),
            passphrase: NodeRef::new(),
        }
    }
}

/// Who the running round waits for, by name.
pub(crate) fn waiting_for(c: &CeremonyInfo, w: &wire::Waiting) -> String {
    let names: Vec<String> = w
        .trustees
        .iter()
        .filter_map(|&p| c.seats.get(usize::from(p)).map(|s| s.name.clone()))
        .collect();
    format!("{} waits for {}", w.round, names.join(", "))
}

/// What the trustee whose key file this browser remembers still has to do, read from the
/// board and that file's public half (no passphrase needed): shown once the page is live.
#[component]
#[cfg_attr(not(feature = "hydrate"), allow(unused_variables))]
fn YourPart(election: ElectionId, board: CeremonyBoard) -> impl IntoView {
    let identity = RwSignal::new(None::<String>);
    Effect::new(move |_| {
        #[cfg(feature = "hydrate")]
        identity.set(
            crate::custody::remembered_trustee(election)
                .and_then(|file| serde_json::from_str::<serde_json::Value>(&file).ok())
                .and_then(|v| v.get("public_key")?.as_str().map(str::to_owned)),
        );
    });
    move || {
        let mine = identity.get()?;
        let said = match &board.ceremony {
            None => "Your key file is remembered here. When the office starts the ceremony, take your turns below.".to_owned(),
            Some(c) if c.election_key.is_some() => {
                "The ceremony is complete. Once voting is open, take your turn once more: it checks the sealed genesis block and gives you its hash to publish.".to_owned()
            }
            Some(c) => match c.seats.iter().find(|s| s.seat.identity.to_hex() == mine) {
                None => "The key file remembered here has no seat in this ceremony.".to_owned(),
                Some(seat) => {
                    let next = ROUNDS
                        .iter()
                        .copied()
                        .find(|&r| !has_posted(c, r, seat.position));
                    match (next, &c.waiting) {
                        (None, _) => format!(
                            "{}: you have posted every round; the others finish theirs.",
                            seat.name
                        ),
                        (Some(r), Some(w)) if w.round < r => format!(
                            "{}: your next step is {r}, once everyone has finished {}.",
                            seat.name, w.round
                        ),
                        (Some(r), _) => format!(
                            "{}: it is your turn, {r}. Press \"Take my turn\".",
                            seat.name
                        ),
                    }
                }
            },
        };
        Some(view! { <p class="notice" role="status" data-your-part=mine.clone()>{said}</p> })
    }
}

/// The trustee's turn, in this browser: the key file (remembered here, or chosen) is
/// opened in the key worker, which takes the turn on the board as it is now and seals the
/// result into the key file before anything is posted.
#[component]
#[cfg_attr(not(feature = "hydrate"), allow(unused_variables))]
fn TurnForm(election: ElectionId, version: RwSignal<u32>) -> impl IntoView {
    let step = RwSignal::new(Step::Loading);
    #[cfg(feature = "hydrate")]
    on_cleanup(workers::dismiss::<workers::keys::KeyWorker>);
    let remembered = RwSignal::new(false);
    let key = KeyInputs::new();
    let download = RwSignal::new(None::<String>);
    // Turns taken on this page (a page that stays open takes several).
    let turns = RwSignal::new(0u32);
    #[cfg(feature = "hydrate")]
    let opened = RwSignal::new(false);
    Effect::new(move |_| {
        #[cfg(feature = "hydrate")]
        remembered.set(crate::custody::remembered_trustee(election).is_some());
        send(step, TaskEvent::Alive);
    });
    let take_turn = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        #[cfg(feature = "hydrate")]
        if send(step, TaskEvent::Start { again: true }) {
            leptos::task::spawn_local(async move {
                let progress = move |words: &str| {
                    send(step, TaskEvent::Progress(words.to_owned()));
                };
                let watch = Watch {
                    progress,
                    moved: move || {
                        turns.update(|t| *t += 1);
                        version.update(|v| *v += 1);
                    },
                    alive: move || step.try_with_untracked(|_| ()).is_some(),
                };
                let done = turn_here(election, opened, remembered.get_untracked(), key, watch)
                    .await
                    .map(|(said, file)| {
                        download.set(file.map(|f| crate::custody::download_href(&f)));
                        said
                    });
                send(step, TaskEvent::Done(done));
            });
        }
    };
    let busy = move || step.with(|s| s.busy());
    view! {
        <section aria-labelledby="turn-h" data-turns=move || turns.get()>
            <h2 id="turn-h">"Your turn, as a trustee"</h2>
            <p class="notice">
                "Press once: your part runs in this browser (WebAssembly) until the ceremony is complete, taking each round as the board moves, so keep this page open. It checks every message it uses and posts only messages signed by your key; the key file you saved at enrolment is all it needs. Once the ceremony is complete it shows the election key your own key share gives; once voting is open, the same button checks that the sealed genesis block holds exactly the keys your ceremony made and gives you its hash to publish. Without JavaScript: "
                <code>{format!("ballotchain trustee ceremony --server <this site> --election {election} --key trustee.key --wait 600")}</code>
            </p>
            <form class="ballot" on:submit=take_turn>
                {key_fields("turn", election, remembered, key)}
                <button type="submit" disabled=busy>"Take my turn"</button>
                {move || step.with(|s| s.status())}
            </form>
            {move || match step.get() {
                Step::Finished(text) => view! {
                    <p class="ok" role="status" data-turn="done">{text}</p>
                    {download.get().map(|href| view! {
                        <p>
                            <a class="button" href=href download=crate::key_file_name(&format!("trustee-election-{election}"))>"Download your key file"</a>
                            " This copy keeps your finished part of the ceremony, so it opens faster. The file you saved at enrolment works as well: your part is re-made from it and the public board."
                        </p>
                    })}
                }
                .into_any(),
                _ => ().into_any(),
            }}
        </section>
    }
}

/// How often a trustee's page reads the board while the ceremony runs, in ms.
#[cfg(feature = "hydrate")]
const BOARD_EVERY_MS: u32 = 3_000;

/// What a trustee's page does while its part runs: says the step it is at, says the
/// board moved (the page reads it again), and asks whether the page is still open.
#[cfg(feature = "hydrate")]
struct Watch<P, M, A> {
    progress: P,
    moved: M,
    alive: A,
}

/// The trustee's part, from one press until it is done: opens the key (once per page),
/// then reads the board every 3 s and, each time it moved, takes the turn in the key
/// worker (which re-makes the trustee's side from the key and the board when the key file
/// keeps none), keeps the sealed key file and posts what is owed. Ends when the ceremony
/// is complete (with the election key the trustee's own share gives) or, once voting is
/// open, with the check of the sealed genesis block; a refusal, or leaving the page, ends
/// it too. What happened, in words, and the key file as it is now.
#[cfg(feature = "hydrate")]
async fn turn_here(
    election: ElectionId,
    opened: RwSignal<bool>,
    remembered: bool,
    key: KeyInputs,
    watch: Watch<impl Fn(&str), impl Fn(), impl Fn() -> bool>,
) -> Result<(String, Option<String>), String> {
    if !opened.get_untracked() {
        (watch.progress)("Opening your key file…");
        open_trustee_key(election, remembered, key).await?;
        opened.set(true);
    }
    let (mut said, mut file, mut seen) = (Vec::new(), None, None);
    loop {
        let detail: wire::ElectionDetail =
            crate::fetch_json(wire::paths::election(election)).await?;
        let board: CeremonyBoard = crate::fetch_json(wire::paths::ceremony(election)).await?;
        let sealed = detail.state != wire::ElectionState::Setup;
        let Some(mut c) = board.ceremony else {
            return Err("the election office has not started the key ceremony yet".into());
        };
        if seen != Some(c.messages.len()) {
            (watch.progress)("Taking your turn…");
            let taken = one_turn(election, &c, remembered, !sealed).await?;
            file = Some(taken.file);
            said.extend(taken.said);
            c = taken.after.unwrap_or(c);
            seen = Some(c.messages.len());
            (watch.moved)();
        }
        if sealed {
            (watch.progress)("Checking the sealed genesis block…");
            return Ok((check_genesis_here(election).await?, file));
        }
        if let Some(board_key) = c.election_key {
            said.push(format!(
                "The ceremony is complete. {}",
                own_key_here(board_key).await?
            ));
            return Ok((said.join(" "), file));
        }
        if let Some(problem) = &c.problem {
            return Err(format!("the ceremony failed: {problem}"));
        }
        let waiting = c.waiting.as_ref().map(|w| waiting_for(&c, w));
        (watch.progress)(&format!(
            "{} {}. This page takes your next turn by itself when the board moves: keep it open.",
            said.join(" "),
            waiting.unwrap_or_else(|| "The board checks the ceremony".into())
        ));
        gloo_timers::future::TimeoutFuture::new(BOARD_EVERY_MS).await;
        if !(watch.alive)() {
            return Err("the page was left before your part was done".into());
        }
    }
}

/// One turn taken: the board after posting (if anything was posted), what was posted in
/// words, and the key file as it is now.
#[cfg(feature = "hydrate")]
struct Taken {
    after: Option<CeremonyInfo>,
    said: Option<String>,
    file: String,
}

/// One turn on the board `c`: the key worker takes it and seals the side into the key
/// file, remembered here (if chosen) before anything is posted; when `post`, what the
/// turn owes is posted and leaves the key file's outbox.
#[cfg(feature = "hydrate")]
async fn one_turn(
    election: ElectionId,
    c: &CeremonyInfo,
    remembered: bool,
    post: bool,
) -> Result<Taken, String> {
    let workers::keys::TurnTaken {
        posts,
        file,
        joined,
    } = turn_on(election, c).await.map_err(|e| e.to_string())?;
    // Kept before posting: a turn cut after posting finds its side; one cut before finds
    // the messages in its outbox.
    if remembered {
        crate::custody::remember_trustee(election, &file)?;
    }
    if posts.is_empty() || !post {
        return Ok(Taken {
            after: None,
            said: None,
            file,
        });
    }
    let after: CeremonyBoard =
        crate::custody::post_json(&wire::paths::ceremony_messages(election), &posts).await?;
    let file = workers::keys::posted()
        .await
        .map_err(|e| e.to_string())?
        .file;
    if remembered {
        crate::custody::remember_trustee(election, &file)?;
    }
    let rounds: std::collections::BTreeSet<Round> = posts.iter().map(|m| m.round).collect();
    let rounds: Vec<String> = rounds.iter().map(Round::to_string).collect();
    let mut said = format!("Posted {}.", rounds.join(" and "));
    if joined {
        said.push_str(" You joined the ceremony: check the names and fingerprints above against the ones the election office published.");
    }
    Ok(Taken {
        after: after.ceremony,
        said: Some(said),
        file,
    })
}

/// The trustee's key file: the copy remembered here, or the file chosen.
#[cfg(feature = "hydrate")]
async fn trustee_key_file(
    election: ElectionId,
    remembered: bool,
    key: KeyInputs,
) -> Result<String, String> {
    if remembered {
        return crate::custody::remembered_trustee(election)
            .ok_or_else(|| "this browser no longer remembers your key file".to_owned());
    }
    crate::custody::text_of(key.file)
        .await?
        .ok_or_else(|| "choose your key file first".to_owned())
}

/// Opens the trustee's key file (remembered here, or chosen) in the key worker: its
/// identity key's public half.
#[cfg(feature = "hydrate")]
async fn open_trustee_key(
    election: ElectionId,
    remembered: bool,
    key: KeyInputs,
) -> Result<ledger::PublicKey, String> {
    let file = trustee_key_file(election, remembered, key).await?;
    let passphrase = crate::input_value(key.passphrase);
    workers::keys::open(file, passphrase)
        .await
        .map(|u| u.public)
        .map_err(|e| e.to_string())
}

/// The election key this trustee's own key share gives (asked of the key worker, where the
/// key file is open), compared with the one the board reports: the words to show, or an
/// alarm when they differ.
#[cfg(feature = "hydrate")]
async fn own_key_here(board_key: ledger::GroupKey) -> Result<String, String> {
    use workers::keys::KeyError;
    let own = match workers::keys::election_key().await {
        Ok(key) => key,
        Err(e @ (KeyError::Unfinished | KeyError::NoCeremony)) => return Err(format!("ATTENTION: the board says the ceremony is complete, but {e}: tell the election office and the other trustees")),
        Err(e) => return Err(e.to_string()),
    };
    if own != board_key {
        return Err(format!(
            "ATTENTION: the board reports election key {board_key}, but your key share gives {own}: tell the election office and the other trustees"
        ));
    }
    Ok(format!(
        "Your key share gives election key {own}, the one the board shows."
    ))
}

/// Once the election is sealed: the genesis block (its canonical bytes, hashed here) must
/// seal this trustee's key at its seat with exactly the set its own ceremony made, which
/// the key worker checks against the key file. The words with the hash to publish, or an
/// `ATTENTION:` alarm.
#[cfg(feature = "hydrate")]
async fn check_genesis_here(election: ElectionId) -> Result<String, String> {
    let alarm = |why: String| {
        format!(
            "ATTENTION: the genesis block of this election does not seal the key ceremony you took part in: {why}. Do not publish its hash: tell the election office and the other trustees, and warn the voters."
        )
    };
    let bytes = crate::fetch_bytes(wire::paths::genesis(election)).await?;
    let genesis = ledger::Genesis::decode(&bytes).map_err(|e| alarm(e.to_string()))?;
    if genesis.election != election {
        return Err(alarm(format!("it is election {}'s", genesis.election)));
    }
    let hash = genesis.hash();
    match workers::keys::check_sealed(election, genesis.sealed_trustees()).await {
        Ok(key) => Ok(format!(
            "The genesis block {hash} seals your key with exactly the set your key ceremony made (any {} of {} trustees, election key {key}). Publish this hash beside the office's: voters pin it when they vote.",
            genesis.trustees.threshold,
            genesis.trustees.trustees.len()
        )),
        Err(workers::keys::KeyError::Sealed(why)) => Err(alarm(why)),
        Err(e) => Err(e.to_string()),
    }
}

/// The count as anyone sees it: the election's title, the tally report, the threshold and
/// the trustees' names in seat order.
#[server(prefix = "/sfn")]
pub async fn count_view(election: ElectionId) -> Result<CountData, ServerFnError> {
    let node = crate::session::node()?;
    let fail = |e: engine::EngineError| ServerFnError::new(e.to_string());
    let detail = node.election(election).await.map_err(fail)?;
    if detail.height.is_none() {
        return Err(ServerFnError::new(
            "the election is not open yet: there is nothing to count",
        ));
    }
    let genesis = node.genesis(election).await.map_err(fail)?;
    let board = node.ceremony_board(election).await.map_err(fail)?;
    let names = genesis
        .trustees
        .trustees
        .iter()
        .map(|t| {
            board
                .trustees
                .iter()
                .find(|s| s.seat.as_ref().is_some_and(|s| s.identity == t.identity))
                .map_or_else(|| wire::fingerprint(&t.identity), |s| s.name.clone())
        })
        .collect();
    Ok(CountData {
        title: detail.title,
        tally: node.tally(election).await.map_err(fail)?,
        threshold: genesis.trustees.threshold,
        names,
    })
}

/// What the tally page shows.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct CountData {
    pub title: String,
    pub tally: wire::TallyReport,
    pub threshold: u16,
    /// The trustees' names, in seat order.
    pub names: Vec<String>,
}

/// `/e/{election}/tally`: the count, and a trustee's share of it.
#[component]
pub fn TallyPage() -> impl IntoView {
    let election = crate::explorer::election_param();
    let version = RwSignal::new(0u32);
    let live = crate::live::version(election.get_untracked(), |c| {
        matches!(
            c,
            wire::Change::Share { .. }
                | wire::Change::Result
                | wire::Change::State { .. }
                | wire::Change::Head { .. }
        )
    });
    let data = Resource::new(
        move || (election.get(), version.get(), live.get()),
        |(e, _, _)| count_view(e),
    );
    view! {
        {loaded(data, "Loading the count…", "The count", false, move |v| {
            count_card(election.get_untracked(), &v)
        })}
        <ShareForm election=election.get_untracked() version />
    }
}

fn count_card(election: ElectionId, v: &CountData) -> impl IntoView {
    let t = &v.tally;
    let state = match (&t.final_head, &t.result) {
        (_, Some(_)) => "published",
        (Some(_), None) => "final",
        (None, _) => "open",
    };
    let head = t.final_head.clone().map(|end| {
        view! {
            <p>
                {format!("The count is final at block {}, ", end.height)}
                <a class="hash" href=format!("/e/{election}/block/{}", end.head)>{end.head.to_string()}</a>
                {format!(": {} ballots.", t.turnout)}
                {(end.uncounted > 0).then(|| format!(" {} votes were left uncounted.", end.uncounted))}
            </p>
        }
    });
    let shares: Vec<String> = t
        .shares
        .iter()
        .filter_map(|&p| v.names.get(usize::from(p)).cloned())
        .collect();
    let result = t.result.clone().map(|r| {
        view! {
            <ul class="result">
                {r.into_iter().map(|c| view! { <li data-candidate=c.name.clone()>{format!("{}: {}", c.name, c.votes)}</li> }).collect_view()}
            </ul>
        }
    });
    view! {
        <h1>{format!("The count: {}", v.title)}</h1>
        <p class="lead" data-count=state>
            {match state {
                "open" => format!(
                    "{} ballots on the chain so far. The count is final once the officer finalises it after voting closes; then any {} of the {} trustees decrypt the totals.",
                    t.turnout, v.threshold, v.names.len()
                ),
                "final" => format!(
                    "{} of the {} decryption shares needed are in.",
                    t.shares.len(), v.threshold
                ),
                _ => "The result is decrypted and published.".to_owned(),
            }}
        </p>
        {head}
        <p class="shares">
            {if shares.is_empty() {
                "No trustee has posted a decryption share yet.".to_owned()
            } else {
                format!("Shares posted by: {}.", shares.join(", "))
            }}
        </p>
        {result}
        <details>
            <summary>"The encrypted sums, as the server computes them"</summary>
            <p class="hash">{hex::encode(t.sums.to_bytes())}</p>
        </details>
    }
}

/// A trustee's share, from this browser: the checker worker brings this browser's own
/// copy of the chain to the served head (verifying every block, ballot proofs included),
/// which must be the final head (and the head the trustee was given from outside the
/// office, if any), with the same encrypted sums the server shows; then the key worker
/// decrypts this trustee's share of those sums, and the count is recorded in this
/// browser and in the key file before the page posts the signed share. A key file chosen
/// rather than remembered here is offered for download first: the share is posted only
/// once the trustee has taken the updated file, which records the count.
#[component]
fn ShareForm(election: ElectionId, version: RwSignal<u32>) -> impl IntoView {
    use machine::{Event, Phase};
    #[cfg(feature = "hydrate")]
    on_cleanup(workers::dismiss::<workers::keys::KeyWorker>);
    let desk = ShareDesk {
        election,
        phase: RwSignal::new(Phase::Ready),
        version,
        own_sums: RwSignal::new(None),
        key: KeyInputs::new(),
        expect: NodeRef::new(),
    };
    let key = desk.key;
    let (phase, own_sums) = (desk.phase, desk.own_sums);
    let remembered = RwSignal::new(false);
    let alive = RwSignal::new(false);
    Effect::new(move |_| {
        #[cfg(feature = "hydrate")]
        remembered.set(crate::custody::remembered_trustee(election).is_some());
        alive.set(true);
    });
    let make = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        desk.send(Event::Make {
            remembered: remembered.get_untracked(),
        });
    };
    let busy = move || !alive.get() || phase.with(Phase::busy);
    view! {
        <section aria-labelledby="share-h">
            <h2 id="share-h">"Your decryption share, as a trustee"</h2>
            <p class="notice">
                "This browser verifies its own copy of the chain up to the final head, recomputes the encrypted sums, and decrypts your share only if they are the server's. You decrypt one count only: it is recorded in your key file and in this browser before your share is posted. Without JavaScript: "
                <code>{format!("ballotchain trustee tally --server <this site> --election {election} --key trustee.key --genesis <published genesis hash> --expect-final <HEIGHT:HASH>")}</code>
            </p>
            <form class="ballot" on:submit=make>
                {key_fields("share", election, remembered, key)}
                <label for="share-expect">"The final head you were given (HEIGHT:HASH)"</label>
                <input id="share-expect" type="text" inputmode="text" autocomplete="off" spellcheck="false" aria-describedby="share-expect-help" node_ref=desk.expect />
                <p id="share-expect-help" class="help">
                    "Take it from an observer's own copy of the chain (a pinned head, a validator's dashboard, "
                    <code>"ballotchain validate"</code>
                    "), not from the election office alone: a share is posted only for that head. Leave it empty to decrypt the head this server shows."
                </p>
                <button type="submit" disabled=busy>"Check the count and post my share"</button>
                {move || phase.with(|p| match p {
                    Phase::Working(_, words) => Some(view! { <p class="notice" role="status">{words.clone()}</p> }.into_any()),
                    Phase::Failed(why) => Some(view! { <p class="error" role="alert">{why.clone()}</p> }.into_any()),
                    _ => None,
                })}
            </form>
            {move || own_sums.get().map(|s| view! {
                <p>"The sums this browser recomputed: "<span class="hash" data-own-sums=s.clone()>{s.clone()}</span></p>
            })}
            {move || match phase.get() {
                Phase::SaveFirst { made, saved, refused } => save_first(desk, made.file.unwrap_or_default(), saved, refused).into_any(),
                Phase::Posted(text) => view! { <p class="ok" role="status" data-share="posted">{text}</p> }.into_any(),
                _ => ().into_any(),
            }}
        </section>
    }
}

/// A share made with a chosen key file: the updated file to take before it is posted.
fn save_first(
    desk: ShareDesk,
    href: String,
    saved: bool,
    refused: Option<String>,
) -> impl IntoView {
    view! {
        <div class="notice" role="status" data-share="save-first">
            <p>"Your share is made, and this browser has recorded the count. Your key file now records it too: download it and replace your earlier copy before your share is posted (an earlier copy would let the key decrypt another count)."</p>
            <p>
                <a class="button" href=href download=crate::key_file_name(&format!("trustee-election-{}", desk.election)) on:click=move |_| desk.send(machine::Event::Saved)>"Download your updated key file"</a>
            </p>
            <button type="button" disabled=!saved on:click=move |_| desk.send(machine::Event::Post)>"I have saved it: post my share"</button>
            {refused.map(|why| view! { <p class="error" role="alert">{why}</p> })}
        </div>
    }
}

/// The share form's machine ([`machine::Phase`]) with what carrying out its effects takes.
#[derive(Clone, Copy)]
#[cfg_attr(not(feature = "hydrate"), allow(dead_code))]
struct ShareDesk {
    election: ElectionId,
    phase: RwSignal<machine::Phase>,
    /// Bumped to load the count again.
    version: RwSignal<u32>,
    /// The sums this browser recomputed, hex.
    own_sums: RwSignal<Option<String>>,
    key: KeyInputs,
    /// The final head the trustee was given.
    expect: NodeRef<leptos::html::Input>,
}

impl ShareDesk {
    /// Moves the share on and carries out what the machine asks.
    fn send(self, event: machine::Event) {
        crate::machine::drive(self.phase, event, |effect| self.carry_out(effect));
    }

    fn carry_out(self, effect: machine::Effect) {
        use machine::Effect;
        match effect {
            Effect::Refresh => self.version.update(|v| *v += 1),
            #[cfg(feature = "hydrate")]
            Effect::MakeShare { remembered } => leptos::task::spawn_local(async move {
                use machine::{Event, Made};
                let progress = move |words: &str| self.send(Event::Progress(words.to_owned()));
                let made = share_here(self, remembered, progress)
                    .await
                    .map(|(share, file)| Made {
                        share,
                        file: (!remembered).then(|| crate::custody::download_href(&file)),
                    });
                self.send(Event::Made(made));
            }),
            #[cfg(feature = "hydrate")]
            Effect::Post(share) => leptos::task::spawn_local(async move {
                self.send(machine::Event::Posted(
                    post_share(self.election, &share).await,
                ));
            }),
            #[cfg(not(feature = "hydrate"))]
            _ => {}
        }
    }
}

/// Checks the count against this browser's own copy (and the head the trustee was given,
/// if any) and the count recorded here, makes the share in the key worker, and records
/// the count in this browser and, if remembered here, the key file: the signed share and
/// the key file that records it, ready to post.
#[cfg(feature = "hydrate")]
async fn share_here(
    desk: ShareDesk,
    remembered: bool,
    progress: impl Fn(&str),
) -> Result<(ledger::result::SignedShare, String), String> {
    let (election, own_sums) = (desk.election, desk.own_sums);
    let given = crate::input_value(desk.expect);
    let expected =
        match given.trim() {
            "" => None,
            text => Some(wire::pinned_head(text).map_err(|e| {
                format!("the final head you were given: {e}; write it as HEIGHT:HASH")
            })?),
        };
    let file = trustee_key_file(election, remembered, desk.key).await?;
    progress("Reading the count…");
    let report: wire::TallyReport = crate::fetch_json(wire::paths::tally(election)).await?;
    if report.final_head.is_none() {
        return Err(ledger::result::ShareRefusal::NotFinal.to_string());
    }
    progress("Verifying this browser's copy of the chain…");
    let copy = workers::checker::check(election, Vec::new())
        .await
        .map_err(|e| e.to_string())?
        .copy;
    if let Some(alarm) = copy.alarm {
        return Err(format!(
            "the served chain does not hold this browser's copy ({alarm}): posting nothing"
        ));
    }
    own_sums.set(Some(hex::encode(copy.sums.to_bytes())));
    progress("Opening your key file…");
    let passphrase = crate::input_value(desk.key.passphrase);
    let trustee = workers::keys::open(file, passphrase)
        .await
        .map_err(|e| e.to_string())?
        .public;
    // The same rule as the command line's: a final count, at the head given, exactly
    // this browser's copy, and the one count this browser recorded, if any.
    let recorded = crate::custody::recorded_count(&copy.genesis, &trustee)?;
    let record = ledger::result::may_share(&ledger::result::ShareAsked {
        genesis: copy.genesis,
        trustee,
        height: copy.height,
        tip: copy.tip,
        sums: &copy.sums,
        served: report.final_head.as_ref().map(|end| (end.height, end.head)),
        served_sums: &report.sums,
        expected,
        recorded: recorded.as_ref(),
    })
    .map_err(|e| format!("{e}: posting nothing"))?;
    progress("Reading your part of the key ceremony…");
    remake_here(election, copy.trustees.ceremony).await?;
    progress("Decrypting your share…");
    let workers::keys::Shared { share, file } =
        workers::keys::share(election, copy.trustees, copy.tip, copy.sums)
            .await
            .map_err(|e| format!("{e}: posting nothing"))?;
    // Kept before posting, here and in the key file: this trustee decrypts this count
    // only.
    crate::custody::record_count(&record)?;
    if remembered {
        crate::custody::remember_trustee(election, &file)?;
    }
    Ok((share, file))
}

/// This trustee's turn on the ceremony `c` in the key worker ([`workers::keys::turn`]).
#[cfg(feature = "hydrate")]
async fn turn_on(
    election: ElectionId,
    c: &CeremonyInfo,
) -> Result<workers::keys::TurnTaken, workers::keys::KeyError> {
    let seats = c.seats.iter().map(|s| s.seat.clone()).collect();
    workers::keys::turn(election, c.id, seats, c.threshold, c.messages.clone()).await
}

/// Takes this trustee's side of the sealed ceremony up in the key worker: a key file that
/// keeps it is used as it is; one that keeps none (the file saved at enrolment) or
/// another ceremony's has it re-made from the key and the public board. Whatever the
/// board says, the share is then made only for the set the genesis block seals.
#[cfg(feature = "hydrate")]
async fn remake_here(election: ElectionId, sealed: u64) -> Result<(), String> {
    let board: CeremonyBoard = crate::fetch_json(wire::paths::ceremony(election)).await?;
    let Some(c) = board.ceremony.filter(|c| c.id == sealed) else {
        return Ok(());
    };
    turn_on(election, &c)
        .await
        .map(|_| ())
        .map_err(|e| format!("{e}: posting nothing"))
}

/// Posts a trustee's share; what happened, in words.
#[cfg(feature = "hydrate")]
async fn post_share(
    election: ElectionId,
    share: &ledger::result::SignedShare,
) -> Result<String, String> {
    let after: wire::TallyReport =
        crate::custody::post_json(&wire::paths::tally_shares(election), share).await?;
    Ok(match after.result {
        Some(_) => "Your share is posted, and the result is decrypted and published.".into(),
        None => format!(
            "Your share is posted: {} of the shares needed are in.",
            after.shares.len()
        ),
    })
}
