//! `/api/session` and `/api/accounts`.

use super::extract::{current_account, sign_in, AdminAccount, ApiJson};
use super::ApiError;
use crate::serve::AppState;
use axum::extract::{ConnectInfo, State};
use axum::http::StatusCode;
use axum::routing::post;
use axum::{Json, Router};
use engine::EngineError;
use std::net::SocketAddr;
use tower_sessions::Session;
use wire::{Account, Credentials, NewAccount};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/session", post(login).delete(logout).get(whoami))
        .route("/accounts", post(create_account))
}

async fn login(
    State(state): State<AppState>,
    ConnectInfo(client): ConnectInfo<SocketAddr>,
    session: Session,
    ApiJson(c): ApiJson<Credentials>,
) -> Result<Json<Account>, ApiError> {
    let account = login_limited(&state, client, &session, &c.username, &c.password).await?;
    Ok(Json(account))
}

/// Signs in under the per-address limit on failed attempts; the JSON API and the
/// sign-in form both go through here.
pub async fn login_limited(
    state: &AppState,
    client: SocketAddr,
    session: &Session,
    username: &str,
    password: &str,
) -> Result<Account, ApiError> {
    state.login_limit.check(client.ip())?;
    let account = state
        .node
        .authenticate(username, password)
        .await
        .map_err(|e| {
            if matches!(e, EngineError::BadCredentials) {
                state.login_limit.record_failure(client.ip());
                tracing::warn!(client = %client.ip(), "failed sign-in");
            }
            ApiError::from(e)
        })?;
    sign_in(session, &account).await?;
    tracing::info!(username = %account.username, "signed in");
    Ok(account)
}

async fn logout(session: Session) -> Result<StatusCode, ApiError> {
    session.flush().await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn whoami(
    State(state): State<AppState>,
    session: Session,
) -> Result<Json<Account>, ApiError> {
    Ok(Json(current_account(&state, &session).await?))
}

async fn create_account(
    State(state): State<AppState>,
    _admin: AdminAccount,
    ApiJson(new): ApiJson<NewAccount>,
) -> Result<(StatusCode, Json<Account>), ApiError> {
    let account = state
        .node
        .create_account(&new.username, &new.password, new.role)
        .await?;
    Ok((StatusCode::CREATED, Json(account)))
}
