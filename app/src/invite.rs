//! `/invite/{token}`: accepting an invitation. An officer's invitation asks only for a
//! password and works without JavaScript. A validator's also needs a signing key, made
//! (or opened from a key file) in this browser, in WebAssembly: the page proves possession
//! by signing the invitation's challenge and sends only the public key and that proof.
//! Without JavaScript the page says how to do it from the command line.

mod machine;

use crate::loaded::loaded;
use crate::notice;
#[cfg(feature = "ssr")]
use crate::notice::Notice;
use leptos::prelude::*;
use leptos_router::hooks::use_params_map;
use machine::{Enrolment, Event, Phase, Source};
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

/// The enrolment's machine ([`machine::Enrolment`]) with what carrying out its effects
/// takes: the invitation, the account's name and the form's fields.
#[derive(Clone, Copy)]
#[cfg_attr(not(feature = "hydrate"), allow(dead_code))]
struct EnrolDesk {
    token: StoredValue<String>,
    username: StoredValue<String>,
    state: RwSignal<Enrolment>,
    source: RwSignal<Source>,
    fields: Fields,
}

/// The enrolment form's inputs.
#[derive(Clone, Copy)]
struct Fields {
    password: NodeRef<leptos::html::Input>,
    confirm: NodeRef<leptos::html::Input>,
    source_file: NodeRef<leptos::html::Input>,
    keyfile: NodeRef<leptos::html::Input>,
    passphrase: NodeRef<leptos::html::Input>,
    passphrase2: NodeRef<leptos::html::Input>,
    remember: NodeRef<leptos::html::Input>,
}

impl EnrolDesk {
    /// Moves the enrolment on and carries out what the machine asks.
    fn send(self, event: Event) {
        crate::machine::drive(self.state, event, |effect| self.carry_out(effect));
    }

    #[cfg_attr(not(feature = "hydrate"), allow(unused_variables))]
    fn carry_out(self, effect: machine::Effect) {
        #[cfg(feature = "hydrate")]
        leptos::task::spawn_local(async move {
            use machine::Effect;
            let event = match effect {
                Effect::MakeKey(source) => Event::KeyMade(self.make_key(source).await),
                Effect::Enrol(key) => Event::Sent(self.enrol(key).await),
            };
            self.send(event);
        });
    }

    /// Makes the key, or opens the key file chosen, in the key worker.
    #[cfg(feature = "hydrate")]
    async fn make_key(self, source: Source) -> Result<(String, ledger::PublicKey), String> {
        let phrase = crate::input_value(self.fields.passphrase);
        let unlocked = match source {
            Source::New => workers::keys::generate(self.username.get_value(), phrase).await,
            Source::File => {
                let file = crate::custody::text_of(self.fields.keyfile)
                    .await?
                    .ok_or("choose your key file first")?;
                workers::keys::open(file, phrase).await
            }
        };
        unlocked
            .map(|u| (u.file, u.public))
            .map_err(|e| e.to_string())
    }

    /// Proves the key over the invitation's challenge and enrols it; remembers its key
    /// file in this browser when asked to.
    #[cfg(feature = "hydrate")]
    async fn enrol(self, key: machine::Key) -> Result<(), String> {
        let token = self.token.get_value();
        let rekey = self.state.with_untracked(|e| e.rekey);
        let info: InvitationInfo = crate::fetch_json(wire::paths::invitation(&token)).await?;
        let challenge =
            hex::decode(&info.challenge).map_err(|_| "the challenge is not hex".to_owned())?;
        let proof = workers::keys::prove(challenge)
            .await
            .map_err(|e| e.to_string())?;
        let acceptance = wire::Acceptance {
            password: (!rekey).then(|| crate::input_value(self.fields.password)),
            key: Some(wire::KeyProof {
                public_key: key.public,
                proof,
            }),
        };
        let account: wire::Account =
            crate::custody::post_json(&wire::paths::accept_invitation(&token), &acceptance).await?;
        if self
            .fields
            .remember
            .get_untracked()
            .is_some_and(|r| r.checked())
        {
            crate::custody::remember(&account.username, &key.file)?;
        }
        Ok(())
    }
}

fn validator_enrolment(token: String, info: InvitationInfo) -> impl IntoView {
    let rekey = info.rekey;
    let fields = Fields {
        password: NodeRef::new(),
        confirm: NodeRef::new(),
        source_file: NodeRef::new(),
        keyfile: NodeRef::new(),
        passphrase: NodeRef::new(),
        passphrase2: NodeRef::new(),
        remember: NodeRef::new(),
    };
    let desk = EnrolDesk {
        token: StoredValue::new(token.clone()),
        username: StoredValue::new(info.username.clone()),
        state: RwSignal::new(Enrolment::new(rekey)),
        source: RwSignal::new(Source::New),
        fields,
    };
    let (state, source) = (desk.state, desk.source);
    let alive = RwSignal::new(false);
    // Leaving the page ends the key worker, and the key made or opened in it.
    #[cfg(feature = "hydrate")]
    on_cleanup(workers::dismiss::<workers::keys::KeyWorker>);
    Effect::new(move |_| {
        // A choice made before the page came alive counts.
        if fields.source_file.get().is_some_and(|i| i.checked()) {
            source.set(Source::File);
        }
        alive.set(true);
    });
    let send = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        desk.send(Event::Send {
            passwords_agree: crate::input_value(fields.password)
                == crate::input_value(fields.confirm),
        });
    };
    let busy = move || !alive.get() || state.with(Enrolment::busy);
    let saved = move || state.with(|e| e.key().is_some_and(|k| k.saved));
    view! {
        {enrolment_intro(rekey, format!("/invite/{token}"))}
        {move || state.with(|e| match &e.phase {
            Phase::Enrolled(text) => Some(view! {
                <p class="ok" role="status">{text.clone()}" "<a href="/login">"Sign in"</a>" to see your validator dashboard."</p>
            }),
            _ => None,
        })}
        <form class="ballot enrol" on:submit=send>
            {(!rekey).then(|| view! {
                <label for="inv-password">"Sign-in password (at least 12 characters)"</label>
                <input id="inv-password" type="password" required minlength="12" autocomplete="new-password" node_ref=fields.password />
                <label for="inv-confirm">"The same password again"</label>
                <input id="inv-confirm" type="password" required minlength="12" autocomplete="new-password" node_ref=fields.confirm />
            })}
            {key_fieldset(desk, busy)}
            <button type="submit" disabled=move || busy() || !saved()>
                {if rekey { "Enrol my new key" } else { "Create my account" }}
            </button>
            {move || state.with(|e| match (&e.phase, &e.refused) {
                (Phase::Making(_), _) => Some(view! { <p class="notice" role="status">"Opening or making your key…"</p> }.into_any()),
                (Phase::Sending(_), _) => Some(view! { <p class="notice" role="status">"Enrolling your key…"</p> }.into_any()),
                (_, Some(why)) => Some(view! { <p class="error" role="alert">{why.clone()}</p> }.into_any()),
                _ => None,
            })}
        </form>
    }
}

/// What the invitation asks, and the command line for a browser without JavaScript.
fn enrolment_intro(rekey: bool, link: String) -> impl IntoView {
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
            <code>{format!("ballotchain accept --server <this site> --invitation {link} --key my.key")}</code>
            "."
        </p>
    }
}

/// The signing key: made here or opened from a file, its fingerprint, and a new key's
/// file to download.
fn key_fieldset(
    desk: EnrolDesk,
    busy: impl Fn() -> bool + Copy + Send + Sync + 'static,
) -> impl IntoView {
    let (state, source, fields) = (desk.state, desk.source, desk.fields);
    let make = move |_| {
        let source = source.get_untracked();
        desk.send(Event::Make {
            source,
            passphrases_agree: crate::input_value(fields.passphrase)
                == crate::input_value(fields.passphrase2),
        });
    };
    view! {
        <fieldset>
            <legend>"Your signing key"</legend>
            <label class="choice">
                <input id="inv-source-new" type="radio" name="source" checked=true
                    on:change=move |_| source.set(Source::New) />
                "Make a new key here"
            </label>
            <label class="choice">
                <input id="inv-source-file" type="radio" name="source" node_ref=fields.source_file
                    on:change=move |_| source.set(Source::File) />
                "Use a key file I already have"
            </label>
            <label for="inv-keyfile" hidden=move || source.get() != Source::File>"Key file"</label>
            <input id="inv-keyfile" type="file" accept=".key,.json,application/json" node_ref=fields.keyfile
                hidden=move || source.get() != Source::File />
            <label for="inv-passphrase">"Key file passphrase (at least 12 characters; it encrypts the key file)"</label>
            <input id="inv-passphrase" type="password" minlength="12" autocomplete="new-password" node_ref=fields.passphrase />
            <label for="inv-passphrase2" hidden=move || source.get() != Source::New>"The same passphrase again"</label>
            <input id="inv-passphrase2" type="password" minlength="12" autocomplete="new-password" node_ref=fields.passphrase2
                hidden=move || source.get() != Source::New />
            <label class="choice">
                <input id="inv-remember" type="checkbox" node_ref=fields.remember />
                "Also remember the key in this browser (encrypted under the same passphrase)"
            </label>
            <button type="button" on:click=make disabled=busy>
                {move || if source.get() == Source::New { "Make my key" } else { "Open my key file" }}
            </button>
        </fieldset>
        {move || state.with(|e| e.key().map(|k| view! {
            <p class="ok" role="status">{format!("Your key is ready. Fingerprint: {}", wire::fingerprint(&k.public))}</p>
        }))}
        {move || state.with(|e| e.key().cloned()).filter(|_| source.get() == Source::New).map(|k| {
            #[cfg(feature = "hydrate")]
            let href = crate::custody::download_href(&k.file);
            #[cfg(not(feature = "hydrate"))]
            let href = { let _ = k; String::new() };
            view! {
                <p>
                    <a class="button" href=href download=crate::key_file_name(&desk.username.get_value())
                        on:click=move |_| desk.send(Event::Downloaded)>
                        "Download your key file"
                    </a>
                    " Keep it safe: it is the only copy besides this browser's, if you chose to remember it. Losing it means asking the office for a new invitation."
                </p>
            }
        })}
    }
}
