//! The signed-in account, as pages and their actions see it through the session cookie.

/// Session key of the signed-in account's id.
pub const ACCOUNT_KEY: &str = "account_id";
/// Session key of the token every state-changing form must echo back.
pub const CSRF_KEY: &str = "csrf";

#[cfg(feature = "ssr")]
pub use server::*;

#[cfg(feature = "ssr")]
mod server {
    use super::{ACCOUNT_KEY, CSRF_KEY};
    use leptos::prelude::*;
    use tower_sessions::Session;
    use wire::{Account, AccountId};

    /// A refusal of the node, for a page's data: in the node's words, and for something
    /// that does not exist, the page's status is 404 (the page still says what is missing).
    pub fn refusal(e: engine::EngineError) -> ServerFnError {
        if matches!(e, engine::EngineError::NotFound(_)) {
            if let Some(response) = use_context::<leptos_axum::ResponseOptions>() {
                response.set_status(axum::http::StatusCode::NOT_FOUND);
            }
        }
        ServerFnError::new(e.to_string())
    }

    /// The node, as the server provides it to every page and action.
    pub fn node() -> Result<engine::Node, ServerFnError> {
        use_context::<engine::Node>()
            .ok_or_else(|| ServerFnError::new("the election database is not available"))
    }

    /// Remembers the signed-in account in the session (with a fresh session id, so a
    /// session fixed before signing in is worthless) and gives the session a fresh CSRF
    /// token for its forms.
    pub async fn sign_in(
        session: &Session,
        account: &Account,
    ) -> Result<(), tower_sessions::session::Error> {
        session.cycle_id().await?;
        session.insert(ACCOUNT_KEY, account.id).await?;
        let mut token = [0u8; 32];
        rand::RngCore::fill_bytes(&mut rand::rngs::OsRng, &mut token);
        session.insert(CSRF_KEY, hex::encode(token)).await?;
        Ok(())
    }

    /// The session's account, if someone is signed in and the account still exists.
    pub async fn account_of(
        node: &engine::Node,
        session: &Session,
    ) -> Result<Option<Account>, tower_sessions::session::Error> {
        let Some(id) = session.get::<AccountId>(ACCOUNT_KEY).await? else {
            return Ok(None);
        };
        Ok(node.account(id).await.ok())
    }

    /// The signed-in account and the session's CSRF token, if anyone is signed in.
    pub async fn signed_in() -> Result<Option<(Account, String)>, ServerFnError> {
        let session = leptos_axum::extract::<Session>().await?;
        let fail = |e: tower_sessions::session::Error| ServerFnError::new(e.to_string());
        let Some(account) = account_of(&node()?, &session).await.map_err(fail)? else {
            return Ok(None);
        };
        let csrf: String = session
            .get(CSRF_KEY)
            .await
            .map_err(fail)?
            .unwrap_or_default();
        Ok(Some((account, csrf)))
    }
}
