//! Extractors whose rejections are JSON API errors rather than axum's plain text.

use super::ApiError;
use crate::serve::AppState;
use axum::extract::rejection::{JsonRejection, PathRejection, QueryRejection};
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::StatusCode;
use ledger::ElectionId;
use serde::de::DeserializeOwned;
use tower_sessions::Session;
use wire::{Account, ErrorCode, Role};

/// JSON body: 400 when malformed or of the wrong shape, 413 when too large, 415 when not JSON.
pub struct ApiJson<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for ApiJson<T> {
    type Rejection = ApiError;
    async fn from_request(req: Request, state: &S) -> Result<Self, ApiError> {
        match axum::Json::<T>::from_request(req, state).await {
            Ok(axum::Json(v)) => Ok(Self(v)),
            Err(rejection) => Err(json_rejection(rejection)),
        }
    }
}

fn json_rejection(r: JsonRejection) -> ApiError {
    match r.status() {
        StatusCode::PAYLOAD_TOO_LARGE => ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            ErrorCode::TooLarge,
            "the request body is too large",
        ),
        StatusCode::UNSUPPORTED_MEDIA_TYPE => ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ErrorCode::UnsupportedMediaType,
            "send JSON with Content-Type: application/json",
        ),
        _ => ApiError::malformed(r.body_text()),
    }
}

/// Path parameters: 400 when they do not parse.
pub struct ApiPath<T>(pub T);

impl<T: DeserializeOwned + Send, S: Send + Sync> FromRequestParts<S> for ApiPath<T> {
    type Rejection = ApiError;
    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        axum::extract::Path::<T>::from_request_parts(parts, state)
            .await
            .map(|p| Self(p.0))
            .map_err(|r: PathRejection| ApiError::malformed(r.body_text()))
    }
}

/// Query string: 400 when it does not parse.
pub struct ApiQuery<T>(pub T);

impl<T: DeserializeOwned + Send, S: Send + Sync> FromRequestParts<S> for ApiQuery<T> {
    type Rejection = ApiError;
    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        axum::extract::Query::<T>::from_request_parts(parts, state)
            .await
            .map(|q| Self(q.0))
            .map_err(|r: QueryRejection| ApiError::malformed(r.body_text()))
    }
}

/// The signed-in account, or 401.
pub async fn current_account(state: &AppState, session: &Session) -> Result<Account, ApiError> {
    app::session::account_of(&state.node, session)
        .await?
        .ok_or_else(ApiError::unauthenticated)
}

/// The signed-in account if it has `role`: 401 when signed out, 403 for another role.
/// Runs on the request head, so it answers before any body is read.
async fn account_with_role(
    parts: &mut Parts,
    state: &AppState,
    role: Role,
) -> Result<Account, ApiError> {
    let session = Session::from_request_parts(parts, state)
        .await
        .map_err(|_| ApiError::unauthenticated())?;
    let account = current_account(state, &session).await?;
    if account.role != role {
        let what = match role {
            Role::Admin => "an admin",
            Role::Validator => "a validator",
        };
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            ErrorCode::Forbidden,
            format!("this needs {what} account"),
        ));
    }
    Ok(account)
}

/// A signed-in admin. Checked before the body is read, so an anonymous caller gets 401
/// whatever it sent.
pub struct AdminAccount(pub Account);

impl FromRequestParts<AppState> for AdminAccount {
    type Rejection = ApiError;
    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        account_with_role(parts, state, Role::Admin).await.map(Self)
    }
}

/// Any signed-in account, checked before the body is read.
pub struct SignedIn(pub Account);

impl FromRequestParts<AppState> for SignedIn {
    type Rejection = ApiError;
    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let session = Session::from_request_parts(parts, state)
            .await
            .map_err(|_| ApiError::unauthenticated())?;
        current_account(state, &session).await.map(Self)
    }
}

/// The election of an `/elections/{id}` path. Ids are read as signed numbers, as they
/// always were on the wire: a negative one names no election (404) and text is malformed
/// (400), with the same words as before ids had a type of their own.
pub struct ElectionPath(pub ElectionId);

fn election(id: i64) -> Result<ElectionId, ApiError> {
    u64::try_from(id)
        .map(ElectionId)
        .map_err(|_| engine::EngineError::NotFound("election").into())
}

impl<S: Send + Sync> FromRequestParts<S> for ElectionPath {
    type Rejection = ApiError;
    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        let ApiPath(id) = ApiPath::<i64>::from_request_parts(parts, state).await?;
        election(id).map(Self)
    }
}

/// An `/elections/{id}/…/{item}` path: the election and the item as written.
pub struct ElectionItemPath(pub ElectionId, pub String);

impl<S: Send + Sync> FromRequestParts<S> for ElectionItemPath {
    type Rejection = ApiError;
    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        let ApiPath((id, item)) =
            ApiPath::<(i64, String)>::from_request_parts(parts, state).await?;
        Ok(Self(election(id)?, item))
    }
}
