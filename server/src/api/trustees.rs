//! Trustees, the key ceremony's bulletin board and the count: `/api/elections/{id}/trustees`,
//! `/api/elections/{id}/ceremony`, `/api/trustee-invitations`, `/api/elections/{id}/final`
//! and `/api/elections/{id}/tally/shares`.
//!
//! The officer (signed in) invites and replaces trustees and starts the ceremony. A
//! trustee needs no session: enrolment proves their keys, and every message they post is
//! checked against their identity key. The board is public, like the chain.

use super::extract::{AdminAccount, ApiJson, ApiPath, ElectionItemPath, ElectionPath};
use super::ApiError;
use crate::serve::AppState;
use app::site::ClientAddr;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::StatusCode;
use axum::routing::{delete, get, post};
use axum::{Json, Router};
use ledger::ceremony::CeremonyMessage;
use ledger::result::SignedShare;
use wire::{
    CeremonyBoard, Finalise, NewCeremony, NewTrustee, TallyReport, TrusteeEnrolment, TrusteeId,
    TrusteeInfo, TrusteeInvitation, TrusteeInvitationInfo,
};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/elections/{id}/trustees", post(invite))
        .route("/elections/{id}/trustees/{trustee}", delete(replace))
        .route("/elections/{id}/ceremony", get(board).post(start))
        .route("/elections/{id}/ceremony/messages", post(messages))
        .route("/trustee-invitations/{token}", get(invitation))
        .route("/trustee-invitations/{token}/accept", post(enrol))
        .route("/elections/{id}/final", post(finalise))
        .route("/elections/{id}/tally/shares", post(share))
        .layer(DefaultBodyLimit::max(super::SMALL_BODY))
}

/// A seat for a trustee; the answer holds the invitation link, shown this once.
async fn invite(
    State(state): State<AppState>,
    _admin: AdminAccount,
    ElectionPath(id): ElectionPath,
    ApiJson(new): ApiJson<NewTrustee>,
) -> Result<(StatusCode, Json<TrusteeInvitation>), ApiError> {
    let issued = state.node.invite_trustee(id, &new).await?;
    Ok((StatusCode::CREATED, Json(issued)))
}

/// Withdraws a trustee's seat before sealing; the answer is the new seat's invitation.
async fn replace(
    State(state): State<AppState>,
    _admin: AdminAccount,
    ElectionItemPath(id, trustee): ElectionItemPath,
) -> Result<(StatusCode, Json<TrusteeInvitation>), ApiError> {
    let trustee = trustee
        .parse::<i64>()
        .map_err(|_| ApiError::malformed("a trustee id is a number"))?;
    let issued = state.node.replace_trustee(id, TrusteeId(trustee)).await?;
    Ok((StatusCode::CREATED, Json(issued)))
}

/// `GET /ceremony`: the board, counted per client address as a costly read.
async fn board(
    State(state): State<AppState>,
    ClientAddr(client): ClientAddr,
    ElectionPath(id): ElectionPath,
) -> Result<Json<CeremonyBoard>, ApiError> {
    state.limits.boards.count(client)?;
    Ok(Json(state.node.ceremony_board(id).await?))
}

/// Starts the ceremony (again: a new ceremony id) with every enrolled trustee.
async fn start(
    State(state): State<AppState>,
    _admin: AdminAccount,
    ElectionPath(id): ElectionPath,
    ApiJson(new): ApiJson<NewCeremony>,
) -> Result<(StatusCode, Json<CeremonyBoard>), ApiError> {
    let board = state.node.start_ceremony(id, new.threshold).await?;
    Ok((StatusCode::CREATED, Json(board)))
}

/// A trustee's signed messages of one step; the answer is the board after them.
async fn messages(
    State(state): State<AppState>,
    ElectionPath(id): ElectionPath,
    ApiJson(messages): ApiJson<Vec<CeremonyMessage>>,
) -> Result<(StatusCode, Json<CeremonyBoard>), ApiError> {
    let board = state.node.post_ceremony_messages(id, &messages).await?;
    Ok((StatusCode::CREATED, Json(board)))
}

async fn invitation(
    State(state): State<AppState>,
    ApiPath(token): ApiPath<String>,
) -> Result<Json<TrusteeInvitationInfo>, ApiError> {
    Ok(Json(state.node.trustee_invitation(&token).await?))
}

/// The trustee's identity and share-receiving keys, each proven.
async fn enrol(
    State(state): State<AppState>,
    ApiPath(token): ApiPath<String>,
    ApiJson(enrolment): ApiJson<TrusteeEnrolment>,
) -> Result<(StatusCode, Json<TrusteeInfo>), ApiError> {
    let info = state.node.enrol_trustee(&token, &enrolment).await?;
    Ok((StatusCode::CREATED, Json(info)))
}

/// The officer ends the count once voting has closed: the final head the trustees decrypt.
async fn finalise(
    State(state): State<AppState>,
    _admin: AdminAccount,
    ElectionPath(id): ElectionPath,
    ApiJson(f): ApiJson<Finalise>,
) -> Result<Json<TallyReport>, ApiError> {
    Ok(Json(state.node.finalise(id, f.early).await?))
}

/// A trustee's signed decryption share; the answer is the tally after it (with the result
/// once the threshold of shares is in).
async fn share(
    State(state): State<AppState>,
    ElectionPath(id): ElectionPath,
    ApiJson(share): ApiJson<SignedShare>,
) -> Result<(StatusCode, Json<TallyReport>), ApiError> {
    Ok((
        StatusCode::CREATED,
        Json(state.node.post_share(id, share).await?),
    ))
}
