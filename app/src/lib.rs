//! ballotchain's pages: Leptos components rendered on the server and hydrated in the browser.
#![recursion_limit = "256"]

use leptos::prelude::*;
use leptos_meta::{provide_meta_context, MetaTags};
use leptos_router::components::{Route, Router, Routes};
use leptos_router::{Lazy, LazyRoute, ParamSegment, SsrMode, StaticSegment};

pub mod admin;
#[cfg(feature = "hydrate")]
mod custody;
mod explorer;
#[cfg(feature = "ssr")]
mod guard;
mod invite;
#[cfg(feature = "ssr")]
pub mod limit;
mod live;
mod loaded;
mod machine;
mod miner;
mod notice;
mod roll;
mod seats;
pub mod session;
pub mod signin;
#[cfg(feature = "ssr")]
pub mod site;
mod task;
mod trustee;
mod validator;
mod voter;
pub use admin::{AdminElectionPage, AdminPage};
pub use explorer::{BlockPage, ExplorerPage};
pub use invite::InvitePage;
pub use miner::MinerPage;
pub use signin::{AccountPage, LoginPage, SetupPage};
pub use trustee::{CeremonyPage, TallyPage, TrusteeInvitePage};
pub use validator::ValidatorPage;
pub use voter::{AuditPage, BallotPage, ReceiptPage};
use wire::ElectionSummary;

/// GETs JSON from this server in the browser; an answer other than 2xx is an error
/// naming the URL and status.
#[cfg(feature = "hydrate")]
pub(crate) async fn fetch_json<T: serde::de::DeserializeOwned>(url: String) -> Result<T, String> {
    let resp = gloo_net::http::Request::get(&url)
        .send()
        .await
        .map_err(|e| e.to_string())?;
    if !resp.ok() {
        return Err(format!("{url} answered {}", resp.status()));
    }
    resp.json::<T>().await.map_err(|e| format!("{url}: {e}"))
}

/// GETs the canonical binary encoding of what a URL of this server serves (it answers
/// `application/octet-stream` when asked); an answer other than 2xx is an error naming
/// the URL and status.
#[cfg(feature = "hydrate")]
pub(crate) async fn fetch_bytes(url: String) -> Result<Vec<u8>, String> {
    let resp = gloo_net::http::Request::get(&url)
        .header("Accept", "application/octet-stream")
        .send()
        .await
        .map_err(|e| e.to_string())?;
    if !resp.ok() {
        return Err(format!("{url} answered {}", resp.status()));
    }
    resp.binary().await.map_err(|e| format!("{url}: {e}"))
}

/// The HTML document around the app.
pub fn shell(options: LeptosOptions) -> impl IntoView {
    view! {
        <!DOCTYPE html>
        <html lang="en">
            <head>
                <meta charset="utf-8" />
                <meta name="viewport" content="width=device-width, initial-scale=1" />
                <AutoReload options=options.clone() />
                <HydrationScripts options />
                <link rel="stylesheet" id="leptos" href="/pkg/ballotchain.css" />
                // No icon yet: an empty one keeps browsers from requesting /favicon.ico.
                <link rel="icon" href="data:," />
                <title>"ballotchain"</title>
                <MetaTags />
            </head>
            <body>
                <App />
            </body>
        </html>
    }
}

/// The text an input holds now (empty when it is not on the page), read from the page
/// when needed: a person may type before the page has come alive.
pub(crate) fn input_value(input: NodeRef<leptos::html::Input>) -> String {
    input.get_untracked().map(|i| i.value()).unwrap_or_default()
}

/// The name a downloaded key file gets: `ballotchain-HOLDER.key`, the holder's name kept
/// to letters, digits and dashes, so two people's (or two elections') files do not land
/// under one name.
pub(crate) fn key_file_name(holder: &str) -> String {
    let name: String = holder
        .chars()
        .map(|c| if c.is_alphanumeric() { c } else { '-' })
        .collect();
    format!("ballotchain-{}.key", name.trim_matches('-'))
}

/// The application: header, routes, footer.
#[component]
pub fn App() -> impl IntoView {
    provide_meta_context();
    // The stylesheet and title live in the server-rendered shell's <head>, which is not
    // hydrated, so the hydrated tree is only the body. Pages render in `SsrMode::Async`:
    // the HTML is sent once its data is there, so it reads complete without JavaScript.
    view! {
        <Router>
            <header class="site-header">
                <a class="brand" href="/">"ballotchain"</a>
            </header>
            <main>
                <Routes fallback=|| view! { <p class="notice">"Page not found."</p> }>
                    <Route path=StaticSegment("") view={Lazy::<HomeRoute>::new()} ssr=SsrMode::Async />
                    <Route path=StaticSegment("login") view={Lazy::<LoginRoute>::new()} ssr=SsrMode::Async />
                    <Route path=StaticSegment("setup") view={Lazy::<SetupRoute>::new()} ssr=SsrMode::Async />
                    <Route path=StaticSegment("account") view={Lazy::<AccountRoute>::new()} ssr=SsrMode::Async />
                    <Route path=(StaticSegment("invite"), ParamSegment("token")) view={Lazy::<InviteRoute>::new()} ssr=SsrMode::Async />
                    <Route path=(StaticSegment("trustee"), ParamSegment("token")) view={Lazy::<TrusteeInviteRoute>::new()} ssr=SsrMode::Async />
                    <Route path=StaticSegment("validator") view={Lazy::<ValidatorRoute>::new()} ssr=SsrMode::Async />
                    <Route path=StaticSegment("admin") view={Lazy::<AdminRoute>::new()} ssr=SsrMode::Async />
                    <Route path=(StaticSegment("admin"), StaticSegment("e"), ParamSegment("election")) view={Lazy::<AdminElectionRoute>::new()} ssr=SsrMode::Async />
                    <Route path=(StaticSegment("e"), ParamSegment("election")) view={Lazy::<BallotRoute>::new()} ssr=SsrMode::Async />
                    <Route path=(StaticSegment("e"), ParamSegment("election"), StaticSegment("receipt"), ParamSegment("receipt")) view={Lazy::<ReceiptRoute>::new()} ssr=SsrMode::Async />
                    <Route path=(StaticSegment("e"), ParamSegment("election"), StaticSegment("mine")) view={Lazy::<MinerRoute>::new()} ssr=SsrMode::Async />
                    <Route path=(StaticSegment("e"), ParamSegment("election"), StaticSegment("audit")) view={Lazy::<AuditRoute>::new()} ssr=SsrMode::Async />
                    <Route path=(StaticSegment("e"), ParamSegment("election"), StaticSegment("tally")) view={Lazy::<TallyRoute>::new()} ssr=SsrMode::Async />
                    <Route path=(StaticSegment("e"), ParamSegment("election"), StaticSegment("trustees")) view={Lazy::<CeremonyRoute>::new()} ssr=SsrMode::Async />
                    <Route path=(StaticSegment("e"), ParamSegment("election"), StaticSegment("chain")) view={Lazy::<ExplorerRoute>::new()} ssr=SsrMode::Async />
                    <Route path=(StaticSegment("e"), ParamSegment("election"), StaticSegment("block"), ParamSegment("block")) view={Lazy::<BlockRoute>::new()} ssr=SsrMode::Async />
                </Routes>
            </main>
        </Router>
    }
}

/// Declares groups of pages whose code the browser loads only when it shows one of them.
/// With `cargo leptos build --split`, what only one group's pages use goes into that
/// group's own WebAssembly module (and code shared by some groups into chunks they
/// share), so the bundle every visitor downloads holds the router and what all pages
/// share. Pages are grouped by who visits them: the fewer groups, the fewer files a
/// visit fetches. `#[lazy]` names the function that loads a group's module
/// `__preload_{group}`; each group names it too, as a plain macro cannot build it.
macro_rules! page_groups {
    ($(
        $(#[$doc:meta])*
        $loader:ident($which:ident, $preload:ident) { $($route:ident => $page:ident),+ $(,)? }
    )+) => {$(
        // Named after the pages they pick, which all end in `Page`.
        #[allow(clippy::enum_variant_names)]
        #[derive(Clone, Copy)]
        enum $which {
            $($page),+
        }

        $(#[$doc])*
        #[lazy]
        fn $loader(which: $which) -> AnyView {
            match which {
                $($which::$page => view! { <$page /> }.into_any()),+
            }
        }

        $(
            struct $route;

            impl LazyRoute for $route {
                fn data() -> Self {
                    $route
                }

                async fn view(_this: Self) -> AnyView {
                    $loader($which::$page).await
                }

                // The router awaits this before it hydrates the page, so the group's
                // module is there when hydration reaches the page.
                async fn preload() {
                    #[cfg(feature = "hydrate")]
                    $preload().await;
                }
            }
        )+
    )+};
}

page_groups! {
    /// What a voter sees: the elections, the ballot, a receipt, an audited ballot.
    voter_pages(VoterPage, __preload_voter_pages) {
        HomeRoute => HomePage,
        BallotRoute => BallotPage,
        ReceiptRoute => ReceiptPage,
        AuditRoute => AuditPage,
    }
    /// Anyone exploring a chain.
    chain_pages(ChainPage, __preload_chain_pages) {
        ExplorerRoute => ExplorerPage,
        BlockRoute => BlockPage,
    }
    /// The election officer.
    officer_pages(OfficerPage, __preload_officer_pages) {
        LoginRoute => LoginPage,
        SetupRoute => SetupPage,
        AccountRoute => AccountPage,
        AdminRoute => AdminPage,
        AdminElectionRoute => AdminElectionPage,
    }
    /// A validator: the invitation and the dashboard.
    validator_pages(ValidatorGroupPage, __preload_validator_pages) {
        InviteRoute => InvitePage,
        ValidatorRoute => ValidatorPage,
    }
    /// A trustee: the invitation, the ceremony and the tally.
    trustee_pages(TrusteePage, __preload_trustee_pages) {
        TrusteeInviteRoute => TrusteeInvitePage,
        CeremonyRoute => CeremonyPage,
        TallyRoute => TallyPage,
    }
    /// A volunteer miner.
    miner_pages(MinerGroupPage, __preload_miner_pages) {
        MinerRoute => MinerPage,
    }
}

/// Lists every election, newest first.
#[server(prefix = "/sfn")]
pub async fn list_elections() -> Result<Vec<ElectionSummary>, ServerFnError> {
    let node = use_context::<engine::Node>()
        .ok_or_else(|| ServerFnError::new("the election database is not available"))?;
    node.list_elections()
        .await
        .map_err(|e| ServerFnError::new(e.to_string()))
}

/// The home page: every election with its state and turnout.
#[component]
fn HomePage() -> impl IntoView {
    let elections = Resource::new(|| (), |_| list_elections());
    view! {
        <h1>"Elections"</h1>
        <p class="lead">
            "Elections you can check. Your vote is encrypted on your own device and kept in a public record that volunteers and independent validators build together; anyone can check the record, and only the totals are ever decrypted."
        </p>
        <Suspense fallback=|| view! { <p class="notice">"Loading elections…"</p> }>
            {move || Suspend::new(async move {
                match elections.await {
                    Ok(list) if list.is_empty() => {
                        view! { <p class="notice">"No elections yet."</p> }.into_any()
                    }
                    Ok(list) => {
                        view! {
                            <ul class="election-list">
                                {list
                                    .into_iter()
                                    .map(|e| {
                                        view! {
                                            <li class="election-card" data-state=e.state.as_str()>
                                                <h2>
                                                    <a href=format!("/e/{}", e.id)>{e.title}</a>
                                                </h2>
                                                <p class="state">{e.state.label()}</p>
                                                <p class="links">
                                                    <a href=format!("/e/{}", e.id)>"Vote"</a>
                                                    " · "
                                                    <a href=format!("/e/{}/chain", e.id)>"Explore the chain"</a>
                                                    " · "
                                                    <a href=format!("/e/{}/mine", e.id)>"Mine"</a>
                                                </p>
                                                <p class="counts">
                                                    {format!("{} registered voters · {} votes cast", e.voters, e.votes)}
                                                </p>
                                            </li>
                                        }
                                    })
                                    .collect_view()}
                            </ul>
                        }
                            .into_any()
                    }
                    Err(e) => view! { <p class="error">{e.to_string()}</p> }.into_any(),
                }
            })}
        </Suspense>
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_key_file_is_named_for_its_holder_in_letters_digits_and_dashes() {
        assert_eq!(
            super::key_file_name("validator1"),
            "ballotchain-validator1.key"
        );
        assert_eq!(
            super::key_file_name("trustee-election-7"),
            "ballotchain-trustee-election-7.key"
        );
        assert_eq!(
            super::key_file_name("../Grace Hopper/"),
            "ballotchain-Grace-Hopper.key"
        );
    }
}
