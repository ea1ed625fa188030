//! The signed-in account, as pages see it through the session cookie.

/// Session key of the signed-in account's id.
pub const ACCOUNT_KEY: &str = "account_id";
/// Session key of the token every state-changing form must echo back.
pub const CSRF_KEY: &str = "csrf";

/// The signed-in account and the session's CSRF token, if anyone is signed in.
#[cfg(feature = "ssr")]
pub async fn signed_in() -> Result<Option<(wire::Account, String)>, leptos::prelude::ServerFnError>
{
    use leptos::prelude::*;
    let session = leptos_axum::extract::<tower_sessions::Session>().await?;
    let fail = |e: tower_sessions::session::Error| ServerFnError::new(e.to_string());
    let Some(id) = session
        .get::<wire::AccountId>(ACCOUNT_KEY)
        .await
        .map_err(fail)?
    else {
        return Ok(None);
    };
    let csrf: String = session
        .get(CSRF_KEY)
        .await
        .map_err(fail)?
        .unwrap_or_default();
    let node = use_context::<engine::Node>()
        .ok_or_else(|| ServerFnError::new("the election database is not available"))?;
    Ok(node.account(id).await.ok().map(|a| (a, csrf)))
}
