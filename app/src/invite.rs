//! `/invite/{token}`: accepting an invitation. An officer's invitation asks only for a
//! password and works without JavaScript. A validator's also needs a signing key, made
//! (or opened from a key file) in this browser, in WebAssembly: the page proves possession
//! by signing the invitation's challenge and sends only the public key and that proof.
//! Without JavaScript the page says how to do it from the command line.

use crate::loaded::loaded;
use crate::notice;
#[cfg(feature = "ssr")]
use crate::notice::Notice;
use leptos::prelude::*;
use leptos_router::hooks::use_params_map;
use wire::{InvitationInfo, Role};

/// What the invitation asks for; a used, expired or unknown one is refused in words.
#[server(prefix = "/sfn")]
pub async fn invitation_details(token: String) -> Result<InvitationInfo, ServerFnError> {
    let node = crate::session::node()?;
    node.invitation(&token)
        .await
        .map_err(|e| ServerFnError::new(e.to_string()))
}

/// Accepts an officer's invitation with the password they chose (twice, the same), then
/// sends them to sign in.
#[server(prefix = "/sfn", endpoint = "invite/accept")]
pub async fn accept_invitation(
    #[server(default)] token: String,
    #[server(default)] password: String,
    #[server(default)] confirm: String,
) -> Result<(), ServerFnError> {
    // The token goes back into a redirect: only the shape a real one has.
    if token.len() != 64 || !token.bytes().all(|b| b.is_ascii_hexdigit()) {
        return crate::guard::go(&Notice::NotFound.on("/"));
    }
    let page = format!("/invite/{token}");
    if password != confirm {
        return crate::guard::go(&Notice::PasswordMismatch.on(&page));
    }
    let node = crate::session::node()?;
    let acceptance = wire::Acceptance {
        password: Some(password),
        key: None,
    };
    match node.accept_invitation(&token, acceptance).await {
        Ok(_) => crate::guard::go(&Notice::AccountCreated.on("/login")),
        Err(e) => crate::guard::go(&crate::guard::outcome::<()>(Err(e), Notice::Failed).on(&page)),
    }
}

/// `/invite/{token}`
#[component]
pub fn InvitePage() -> impl IntoView {
    let params = use_params_map();
    let token = Memo::new(move |_| params.read().get("token").unwrap_or_default());
    let notice = notice::from_query();
    let data = Resource::new(move || token.get(), invitation_details);
    loaded(
        data,
        "Loading your invitation…",
        "Invitation",
        false,
        move |info| {
            let token = token.get_untracked();
            view! {
                <h1>{format!("Welcome, {}", info.username)}</h1>
                {move || notice::view(notice.get())}
                {match info.role {
                    Role::Admin => officer_form(token).into_any(),
                    Role::Validator => validator_enrolment(token, info).into_any(),
                }}
            }
        },
    )
}

fn officer_form(token: String) -> impl IntoView {
    let accept = ServerAction::<AcceptInvitation>::new();
    view! {
        <p>"You are invited as an election officer. Choose the password you will sign in with."</p>
        <ActionForm action=accept attr:class="ballot">
            <input type="hidden" name="token" value=token />
            <label for="inv-password">"Password (at least 12 characters)"</label>
            <input id="inv-password" name="password" type="password" required minlength="12" autocomplete="new-password" />
            <label for="inv-confirm">"The same password again"</label>
            <input id="inv-confirm" name="confirm" type="password" required minlength="12" autocomplete="new-password" />
            <button type="submit">"Create my account"</button>
        </ActionForm>
    }
}

/// Where the validator's key comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Source {
    New,
    File,
}

/// How far the enrolment got; it finishes with the words that say so.
type Step = crate::task::Task<String>;

/// A key made or opened in the key worker (where it stays), with its (encrypted) key
/// file's JSON text and public half.
#[cfg(feature = "hydrate")]
#[derive(Clone)]
struct ReadyKey {
    file: String,
    public: ledger::PublicKey,
    fresh: bool,
}

#[cfg_attr(not(feature = "hydrate"), allow(unused_variables))]
fn validator_enrolment(token: String, info: InvitationInfo) -> impl IntoView {
    let step = RwSignal::new(Step::Loading);
    let source = RwSignal::new(Source::New);
    // Leaving the page ends the key worker, and the key made or opened in it.
    #[cfg(feature = "hydrate")]
    on_cleanup(workers::dismiss::<workers::keys::KeyWorker>);
    // The key's public half and the key file's download link, once there is a key.
    let fingerprint = RwSignal::new(None::<String>);
    let download = RwSignal::new(None::<String>);
    let downloaded = RwSignal::new(false);
    #[cfg(feature = "hydrate")]
    let ready: RwSignal<Option<ReadyKey>> = RwSignal::new(None);
    Effect::new(move |_| {
        // A choice made before the page came alive counts.
        #[cfg(feature = "hydrate")]
        if crate::custody::ticked("inv-source-file") {
            source.set(Source::File);
        }
        step.set(Step::Ready);
    });
    let rekey = info.rekey;
    let username = info.username.clone();
    let link_text = format!("/invite/{token}");

    let make_key = move |_| {
        #[cfg(feature = "hydrate")]
        {
            let username = username.clone();
            leptos::task::spawn_local(async move {
                let phrase = crate::custody::field("inv-passphrase");
                let fresh = source.get_untracked() == Source::New;
                let unlocked = match source.get_untracked() {
                    Source::New => {
                        if phrase != crate::custody::field("inv-passphrase2") {
                            Err("the two passphrases differ".to_owned())
                        } else {
                            step.set(Step::Working("Making your key…".into()));
                            workers::keys::generate(username.clone(), phrase)
                                .await
                                .map_err(|e| e.to_string())
                        }
                    }
                    Source::File => match crate::custody::chosen_text("inv-keyfile").await {
                        Ok(Some(file)) => {
                            step.set(Step::Working("Opening your key file…".into()));
                            workers::keys::open(file, phrase)
                                .await
                                .map_err(|e| e.to_string())
                        }
                        Ok(None) => Err("choose your key file first".to_owned()),
                        Err(e) => Err(e),
                    },
                };
                let result = unlocked.map(|u| ReadyKey {
                    file: u.file,
                    public: u.public,
                    fresh,
                });
                match result {
                    Ok(k) => {
                        fingerprint.set(Some(wire::fingerprint(&k.public)));
                        download.set(Some(crate::custody::download_href(&k.file)));
                        downloaded.set(!k.fresh);
                        ready.set(Some(k));
                        step.set(Step::Ready);
                    }
                    Err(e) => step.set(Step::Failed(e)),
                }
            });
        }
    };

    let token_for_send = token.clone();
    let send = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        #[cfg(feature = "hydrate")]
        {
            let token = token_for_send.clone();
            leptos::task::spawn_local(async move {
                let Some(k) = ready.get_untracked() else {
                    step.set(Step::Failed("make or open your key first".into()));
                    return;
                };
                let password = crate::custody::field("inv-password");
                if !rekey && password != crate::custody::field("inv-confirm") {
                    step.set(Step::Failed("the two passwords differ".into()));
                    return;
                }
                step.set(Step::Working("Enrolling your key…".into()));
                let info: Result<InvitationInfo, String> =
                    crate::fetch_json(wire::paths::invitation(&token)).await;
                let result = match info.and_then(|info| {
                    hex::decode(&info.challenge).map_err(|_| "the challenge is not hex".to_owned())
                }) {
                    Err(e) => Err(e),
                    Ok(challenge) => match workers::keys::prove(challenge).await {
                        Ok(proof) => {
                            let acceptance = wire::Acceptance {
                                password: (!rekey).then(|| password.clone()),
                                key: Some(wire::KeyProof {
                                    public_key: k.public,
                                    proof,
                                }),
                            };
                            crate::custody::post_json::<_, wire::Account>(
                                &wire::paths::accept_invitation(&token),
                                &acceptance,
                            )
                            .await
                        }
                        Err(e) => Err(e.to_string()),
                    },
                };
                match result {
                    Ok(account) => {
                        if crate::custody::ticked("inv-remember") {
                            if let Err(e) = crate::custody::remember(&account.username, &k.file) {
                                step.set(Step::Failed(e));
                                return;
                            }
                        }
                        step.set(Step::Finished(if rekey {
                            "Your new key is enrolled.".into()
                        } else {
                            "Your account is ready.".into()
                        }));
                    }
                    Err(e) => step.set(Step::Failed(e)),
                }
            });
        }
    };

    let busy = move || step.with(|s| s.busy() || matches!(s, Step::Finished(_)));
    let has_key = move || fingerprint.get().is_some();
    view! {
        <p>
            {if rekey {
                "The election office withdrew your previous signing key. Enrol a new one: make it here, or use a key file you already have."
            } else {
                "You are invited as a validator. Choose your sign-in password, then make your signing key here (or use a key file you already have)."
            }}
        </p>
        <p class="notice">
            "Your key is made and kept on this device: the server receives only its public half and a signature proving you hold it. It needs JavaScript (WebAssembly). Without it, use the command line: "
            <code>{"ballotchain key new --out my.key"}</code>
            " then "
            <code>{format!("ballotchain accept --server <this site> --invitation {link_text} --key my.key")}</code>
            "."
        </p>
        {move || match step.get() {
            Step::Finished(text) => view! {
                <p class="ok" role="status">{text}" "<a href="/login">"Sign in"</a>" to see your validator dashboard."</p>
            }
            .into_any(),
            _ => ().into_any(),
        }}
        <form class="ballot enrol" on:submit=send>
            {(!rekey).then(|| view! {
                <label for="inv-password">"Sign-in password (at least 12 characters)"</label>
                <input id="inv-password" type="password" required minlength="12" autocomplete="new-password" />
                <label for="inv-confirm">"The same password again"</label>
                <input id="inv-confirm" type="password" required minlength="12" autocomplete="new-password" />
            })}
            <fieldset>
                <legend>"Your signing key"</legend>
                <label class="choice">
                    <input id="inv-source-new" type="radio" name="source" checked=true
                        on:change=move |_| source.set(Source::New) />
                    "Make a new key here"
                </label>
                <label class="choice">
                    <input id="inv-source-file" type="radio" name="source"
                        on:change=move |_| source.set(Source::File) />
                    "Use a key file I already have"
                </label>
                {move || (source.get() == Source::File).then(|| view! {
                    <label for="inv-keyfile">"Key file"</label>
                    <input id="inv-keyfile" type="file" accept=".key,.json,application/json" />
                })}
                <label for="inv-passphrase">"Key file passphrase (at least 12 characters; it encrypts the key file)"</label>
                <input id="inv-passphrase" type="password" minlength="12" autocomplete="new-password" />
                {move || (source.get() == Source::New).then(|| view! {
                    <label for="inv-passphrase2">"The same passphrase again"</label>
                    <input id="inv-passphrase2" type="password" minlength="12" autocomplete="new-password" />
                })}
                <label class="choice">
                    <input id="inv-remember" type="checkbox" />
                    "Also remember the key in this browser (encrypted under the same passphrase)"
                </label>
                <button type="button" on:click=make_key disabled=busy>
                    {move || if source.get() == Source::New { "Make my key" } else { "Open my key file" }}
                </button>
            </fieldset>
            {move || fingerprint.get().map(|f| view! {
                <p class="ok" role="status">{format!("Your key is ready. Fingerprint: {f}")}</p>
            })}
            {move || download.get().filter(|_| source.get() == Source::New).map(|href| view! {
                <p>
                    <a class="button" href=href download="ballotchain-validator.key"
                        on:click=move |_| downloaded.set(true)>
                        "Download your key file"
                    </a>
                    " Keep it safe: it is the only copy besides this browser's, if you chose to remember it. Losing it means asking the office for a new invitation."
                </p>
            })}
            <button type="submit" disabled=move || busy() || !has_key() || !downloaded.get()>
                {if rekey { "Enrol my new key" } else { "Create my account" }}
            </button>
            {move || step.with(|s| s.status())}
        </form>
    }
}
