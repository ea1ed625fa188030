//! `/api/session` and `/api/invitations`: signing in, and accounts made by invitation.

use super::extract::{current_account, AdminAccount, ApiJson, ApiPath, SignedIn};
use super::ApiError;
use crate::serve::AppState;
use app::session::sign_in;
use app::site::ClientAddr;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::StatusCode;
use axum::routing::post;
use axum::{Json, Router};
use tower_sessions::Session;
use wire::{
    Acceptance, Account, Credentials, InvitationInfo, IssuedInvitation, NewInvitation,
    PasswordChange,
};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/session", post(login).delete(logout).get(whoami))
        .route("/session/password", axum::routing::put(change_password))
        .route("/invitations", post(invite))
        .route("/invitations/{token}", axum::routing::get(invitation))
        .route("/invitations/{token}/accept", post(accept))
        .layer(DefaultBodyLimit::max(super::SMALL_BODY))
}

async fn login(
    State(state): State<AppState>,
    ClientAddr(client): ClientAddr,
    session: Session,
    ApiJson(c): ApiJson<Credentials>,
) -> Result<Json<Account>, ApiError> {
    let account = state
        .limits
        .authenticate(&state.node, client, &c.username, &c.password)
        .await?;
    sign_in(&state.node, &session, &account).await?;
    tracing::info!(username = %account.username, "signed in");
    Ok(Json(account))
}

/// Every other session of the account ends; this one stays signed in.
async fn change_password(
    State(state): State<AppState>,
    ClientAddr(client): ClientAddr,
    session: Session,
    SignedIn(account): SignedIn,
    ApiJson(change): ApiJson<PasswordChange>,
) -> Result<StatusCode, ApiError> {
    let generation = state
        .limits
        .change_password(
            &state.node,
            client,
            account.id,
            &change.current_password,
            &change.new_password,
        )
        .await?;
    app::session::keep_after_password_change(&session, generation).await?;
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

/// An admin invites someone; the answer holds the link, shown this once.
async fn invite(
    State(state): State<AppState>,
    AdminAccount(admin): AdminAccount,
    ApiJson(new): ApiJson<NewInvitation>,
) -> Result<(StatusCode, Json<IssuedInvitation>), ApiError> {
    let issued = state.node.create_invitation(admin.id, &new).await?;
    Ok((StatusCode::CREATED, Json(issued)))
}

/// What the invitation asks for, with the challenge a validator's key signs.
async fn invitation(
    State(state): State<AppState>,
    ApiPath(token): ApiPath<String>,
) -> Result<Json<InvitationInfo>, ApiError> {
    Ok(Json(state.node.invitation(&token).await?))
}

/// The invitee's password and, for a validator, their key with its proof of possession.
async fn accept(
    State(state): State<AppState>,
    ApiPath(token): ApiPath<String>,
    ApiJson(acceptance): ApiJson<Acceptance>,
) -> Result<(StatusCode, Json<Account>), ApiError> {
    let account = state.node.accept_invitation(&token, acceptance).await?;
    Ok((StatusCode::CREATED, Json(account)))
}
