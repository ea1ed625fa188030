//! The one check in front of every officer's and validator's action, and how an action
//! ends: by sending the browser to a page that shows its outcome. Server side only.

use crate::notice::Notice;
use leptos::prelude::*;

/// Ends an action by sending the browser to `location`: a 302 without JavaScript, a
/// client-side navigation with it.
pub fn go(location: &str) -> Result<(), ServerFnError> {
    leptos_axum::redirect(location);
    Ok(())
}

/// The notice an action's result earns: `done` when it went through, otherwise the
/// refusal's own (server failures are logged here, never shown in detail).
pub fn outcome<T>(result: Result<T, engine::EngineError>, done: Notice) -> Notice {
    match result {
        Ok(_) => done,
        Err(e) => {
            let notice = Notice::for_code(e.code());
            if notice == Notice::Failed {
                tracing::error!(error = ?e, "a form's action failed");
            }
            notice
        }
    }
}

/// Sends the browser of a plain form handler back to `page`, with the refusal's notice.
pub fn refused_back(e: engine::EngineError, page: &str) -> axum::response::Response {
    use axum::response::IntoResponse;
    axum::response::Redirect::to(&outcome::<()>(Err(e), Notice::Failed).on(page)).into_response()
}

/// Lets an action through only for a signed-in account of `role` (any role if `None`)
/// whose form echoes the session's CSRF token (so another site cannot post it). Otherwise
/// says where to send the browser: to sign in, or back to `page` with `error=csrf`.
pub async fn check(
    node: &engine::Node,
    session: &tower_sessions::Session,
    role: Option<wire::Role>,
    csrf: &str,
    page: &str,
) -> Result<wire::Account, String> {
    let account = crate::session::account_of(node, session)
        .await
        .ok()
        .flatten();
    let Some(account) = account.filter(|a| role.is_none_or(|r| a.role == r)) else {
        return Err("/login".to_owned());
    };
    let token: Option<String> = session.get(crate::session::CSRF_KEY).await.ok().flatten();
    if token.is_none_or(|t| t.is_empty() || t != csrf) {
        return Err(Notice::Csrf.on(page));
    }
    Ok(account)
}

/// [`check`] for a server function: the node and the account, or where to go instead.
pub async fn guard(
    role: Option<wire::Role>,
    csrf: &str,
    page: &str,
) -> Result<(engine::Node, wire::Account), String> {
    let node = crate::session::node().map_err(|_| Notice::Failed.on(page))?;
    let session = leptos_axum::extract::<tower_sessions::Session>()
        .await
        .map_err(|_| Notice::Failed.on(page))?;
    let account = check(&node, &session, role, csrf, page).await?;
    Ok((node, account))
}
