//! `/api/session` and `/api/accounts`.

use super::extract::{current_account, AdminAccount, ApiJson};
use super::ApiError;
use crate::serve::AppState;
use app::session::sign_in;
use axum::extract::{ConnectInfo, State};
use axum::http::StatusCode;
use axum::routing::post;
use axum::{Json, Router};
use std::net::SocketAddr;
use tower_sessions::Session;
use wire::{Account, Credentials, NewAccount, PasswordChange};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/session", post(login).delete(logout).get(whoami))
        .route("/session/password", axum::routing::put(change_password))
        .route("/accounts", post(create_account))
}

async fn login(
    State(state): State<AppState>,
    ConnectInfo(client): ConnectInfo<SocketAddr>,
    session: Session,
    ApiJson(c): ApiJson<Credentials>,
) -> Result<Json<Account>, ApiError> {
    let account = state
        .limits
        .authenticate(&state.node, client.ip(), &c.username, &c.password)
        .await?;
    sign_in(&session, &account).await?;
    tracing::info!(username = %account.username, "signed in");
    Ok(Json(account))
}

async fn change_password(
    State(state): State<AppState>,
    ConnectInfo(client): ConnectInfo<SocketAddr>,
    session: Session,
    ApiJson(change): ApiJson<PasswordChange>,
) -> Result<StatusCode, ApiError> {
    let account = current_account(&state, &session).await?;
    state
        .limits
        .change_password(
            &state.node,
            client.ip(),
            account.id,
            &change.current_password,
            &change.new_password,
        )
        .await?;
    Ok(StatusCode::NO_CONTENT)
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
