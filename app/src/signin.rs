//! Signing in (`/login`) and out, and the first-run page (`/setup?token=…`) that creates
//! the first admin, each with its action.

use crate::notice;
#[cfg(feature = "ssr")]
use crate::notice::Notice;
use leptos::prelude::*;
use leptos_router::hooks::use_query_map;

/// The one-time token of the first-run link, `None` once an admin exists.
#[cfg(feature = "ssr")]
#[derive(Clone, Default)]
pub struct SetupToken(pub std::sync::Arc<std::sync::Mutex<Option<String>>>);

/// Signs in and goes to the account's page: validators to their dashboard, admins to
/// the office. Failed attempts count against the connection's address.
#[server(prefix = "/sfn", endpoint = "login")]
pub async fn sign_in(
    #[server(default)] username: String,
    #[server(default)] password: String,
) -> Result<(), ServerFnError> {
    let node = crate::session::node()?;
    let limits = use_context::<std::sync::Arc<crate::limit::Limits>>()
        .ok_or_else(|| ServerFnError::new("the rate limits are not available"))?;
    let crate::site::ClientAddr(client) = leptos_axum::extract().await?;
    let account = match limits
        .authenticate(&node, client, &username, &password)
        .await
    {
        Ok(account) => account,
        Err(refused) => return crate::guard::go(&Notice::for_code(refused.code()).on("/login")),
    };
    let session = leptos_axum::extract::<tower_sessions::Session>().await?;
    if let Err(e) = crate::session::sign_in(&node, &session, &account).await {
        tracing::error!(error = %e, "could not start a session");
        return crate::guard::go(&Notice::Failed.on("/login"));
    }
    tracing::info!(username = %account.username, "signed in");
    crate::guard::go(match account.role {
        wire::Role::Validator => "/validator",
        wire::Role::Admin => "/admin",
    })
}

/// Ends the session and goes home.
#[server(prefix = "/sfn", endpoint = "logout")]
pub async fn sign_out() -> Result<(), ServerFnError> {
    let session = leptos_axum::extract::<tower_sessions::Session>().await?;
    if let Err(e) = session.flush().await {
        tracing::error!(error = %e, "could not end a session");
    }
    crate::guard::go("/")
}

/// The first-run link's action: creates the first admin, once, with the token the server
/// printed at start, and signs them in.
#[server(prefix = "/sfn", endpoint = "setup")]
pub async fn create_first_admin(
    #[server(default)] token: String,
    #[server(default)] username: String,
    #[server(default)] password: String,
) -> Result<(), ServerFnError> {
    let node = crate::session::node()?;
    let SetupToken(slot) = use_context::<SetupToken>().unwrap_or_default();
    // Taking the token out makes it single-use even under concurrent posts.
    let taken = {
        let mut slot = slot.lock().unwrap_or_else(|p| p.into_inner());
        match slot.as_deref() {
            Some(t) if !token.is_empty() && t == token => slot.take(),
            _ => None,
        }
    };
    if taken.is_none() || node.has_admin().await.unwrap_or(true) {
        return crate::guard::go(&Notice::InvalidToken.on("/setup"));
    }
    match node.create_admin(&username, &password).await {
        Ok(account) => {
            let session = leptos_axum::extract::<tower_sessions::Session>().await?;
            if let Err(e) = crate::session::sign_in(&node, &session, &account).await {
                tracing::error!(error = %e, "could not sign in the new admin");
            }
            crate::guard::go("/admin")
        }
        Err(e) => {
            // A bad username or password: give the token back so the officer can retry.
            *slot.lock().unwrap_or_else(|p| p.into_inner()) = taken;
            let token: String = token.chars().filter(char::is_ascii_hexdigit).collect();
            let notice = Notice::for_code(e.code());
            crate::guard::go(&notice.on(&format!("/setup?token={token}")))
        }
    }
}

/// The signed-in person's new password, given the current one (a wrong one counts as a
/// failed sign-in).
#[server(prefix = "/sfn", endpoint = "account/password")]
pub async fn change_password(
    #[server(default)] csrf: String,
    #[server(default)] current_password: String,
    #[server(default)] new_password: String,
) -> Result<(), ServerFnError> {
    let (node, account) = match crate::guard::guard(None, &csrf, "/account").await {
        Ok(allowed) => allowed,
        Err(to) => return crate::guard::go(&to),
    };
    let limits = use_context::<std::sync::Arc<crate::limit::Limits>>()
        .ok_or_else(|| ServerFnError::new("the rate limits are not available"))?;
    let crate::site::ClientAddr(client) = leptos_axum::extract().await?;
    let notice = match limits
        .change_password(&node, client, account.id, &current_password, &new_password)
        .await
    {
        // Every other session of the account ended; this one stays signed in.
        Ok(generation) => {
            let session = leptos_axum::extract::<tower_sessions::Session>().await?;
            match crate::session::keep_after_password_change(&session, generation).await {
                Ok(()) => Notice::PasswordChanged,
                Err(e) => {
                    tracing::error!(error = %e, "could not keep the session after a password change");
                    Notice::Failed
                }
            }
        }
        Err(refused) => Notice::for_code(refused.code()),
    };
    crate::guard::go(&notice.on("/account"))
}

/// Who is signed in and the token their forms echo back.
#[server(prefix = "/sfn", endpoint = "account/own")]
pub async fn own_account() -> Result<(String, String), ServerFnError> {
    let (account, csrf) = crate::session::signed_in()
        .await?
        .ok_or_else(|| ServerFnError::new("Sign in to change your password."))?;
    Ok((account.username, csrf))
}

/// A sign-out button, for the pages of signed-in people, with a link to their account.
#[component]
pub fn SignOutButton(username: String) -> impl IntoView {
    let sign_out = ServerAction::<SignOut>::new();
    view! {
        <ActionForm action=sign_out attr:class="inline-form">
            <span>{format!("Signed in as {username}")}</span>
            <a href="/account">"Change password"</a>
            <button type="submit" class="secondary">"Sign out"</button>
        </ActionForm>
    }
}

/// `/account`: change the password, for anyone signed in.
#[component]
pub fn AccountPage() -> impl IntoView {
    let notice = notice::from_query();
    let change = ServerAction::<ChangePassword>::new();
    let data = Resource::new(|| (), |_| own_account());
    view! {
        <h1>"Your account"</h1>
        {move || notice::view(notice.get())}
        <Suspense fallback=|| view! { <p class="notice">"Loading…"</p> }>
            {move || Suspend::new(async move {
                match data.await {
                    Err(e) => view! {
                        <p class="error" role="alert">{notice::server_error_text(&e)}</p>
                        <p><a href="/login">"Sign in"</a></p>
                    }
                        .into_any(),
                    Ok((username, csrf)) => view! {
                        <p class="lead">{format!("Signed in as {username}.")}</p>
                        <ActionForm action=change attr:class="ballot">
                            <input type="hidden" name="csrf" value=csrf />
                            <label for="current">"Current password"</label>
                            <input id="current" name="current_password" type="password" autocomplete="current-password" required />
                            <label for="new">"New password (at least 12 characters)"</label>
                            <input id="new" name="new_password" type="password" autocomplete="new-password" required minlength="12" />
                            <button type="submit">"Change password"</button>
                        </ActionForm>
                    }
                        .into_any(),
                }
            })}
        </Suspense>
    }
}

/// `/login`
#[component]
pub fn LoginPage() -> impl IntoView {
    let notice = notice::from_query();
    let sign_in = ServerAction::<SignIn>::new();
    view! {
        <h1>"Sign in"</h1>
        <p class="lead">"For election officers and validators. Voters need no account: they use their voting code."</p>
        {move || notice::view(notice.get())}
        <ActionForm action=sign_in attr:class="ballot">
            <label for="username">"Username"</label>
            <input id="username" name="username" type="text" autocomplete="username" required />
            <label for="password">"Password"</label>
            <input id="password" name="password" type="password" autocomplete="current-password" required />
            <button type="submit">"Sign in"</button>
        </ActionForm>
    }
}

/// `/setup?token=…`: the first-run link printed by the server creates the first admin.
#[component]
pub fn SetupPage() -> impl IntoView {
    let query = use_query_map();
    let token = move || query.read().get("token").unwrap_or_default();
    let notice = notice::from_query();
    let create = ServerAction::<CreateFirstAdmin>::new();
    view! {
        <h1>"Create the first admin account"</h1>
        <p class="lead">"This link was printed by the server at its first start and works once."</p>
        {move || notice::view(notice.get())}
        <ActionForm action=create attr:class="ballot">
            <input type="hidden" name="token" value=token />
            <label for="username">"Username"</label>
            <input id="username" name="username" type="text" autocomplete="username" required minlength="3" maxlength="40" />
            <label for="password">"Password (at least 12 characters)"</label>
            <input id="password" name="password" type="password" autocomplete="new-password" required minlength="12" />
            <button type="submit">"Create admin account"</button>
        </ActionForm>
    }
}
