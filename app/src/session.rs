//! The signed-in account, as pages and their actions see it through the session cookie.

/// Session key of the signed-in account's id.
pub const ACCOUNT_KEY: &str = "account_id";
/// Session key of the token every state-changing form must echo back.
pub const CSRF_KEY: &str = "csrf";
/// Session key of the account's session generation when it signed in: a password change
/// moves the account's on, which ends every other session.
pub const GENERATION_KEY: &str = "generation";

#[cfg(feature = "ssr")]
pub use server::*;

#[cfg(feature = "ssr")]
mod server {
    use super::{ACCOUNT_KEY, CSRF_KEY, GENERATION_KEY};
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
        node: &engine::Node,
        session: &Session,
        account: &Account,
    ) -> Result<(), SignInError> {
        let generation = node.session_generation(account.id).await?;
        session.cycle_id().await?;
        session.insert(ACCOUNT_KEY, account.id).await?;
        session.insert(GENERATION_KEY, generation).await?;
        let mut token = [0u8; 32];
        rand::RngCore::fill_bytes(&mut rand::rngs::OsRng, &mut token);
        session.insert(CSRF_KEY, hex::encode(token)).await?;
        Ok(())
    }

    /// Why a session could not be signed in.
    #[derive(Debug, thiserror::Error)]
    pub enum SignInError {
        #[error("{0}")]
        Session(#[from] tower_sessions::session::Error),
        #[error("{0}")]
        Node(#[from] engine::EngineError),
    }

    /// The session's account, if someone is signed in, the account still exists and its
    /// password has not changed since this session signed in (a change ends every other
    /// session: [`GENERATION_KEY`]).
    pub async fn account_of(
        node: &engine::Node,
        session: &Session,
    ) -> Result<Option<Account>, tower_sessions::session::Error> {
        let Some(id) = session.get::<AccountId>(ACCOUNT_KEY).await? else {
            return Ok(None);
        };
        // Sessions opened before generations existed carry none: the first generation.
        let generation = session.get::<i64>(GENERATION_KEY).await?.unwrap_or(0);
        Ok(node.account_of_session(id, generation).await.ok().flatten())
    }

    /// Keeps this session signed in after its own password change, which moved the
    /// account to `generation` and so ended every other session.
    pub async fn keep_after_password_change(
        session: &Session,
        generation: i64,
    ) -> Result<(), tower_sessions::session::Error> {
        session.insert(GENERATION_KEY, generation).await
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
