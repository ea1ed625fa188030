//! `/api/elections`: creation, ballot, registries, opening and closing.

use super::extract::{AdminAccount, ApiJson, ElectionItemPath, ElectionPath};
use super::ApiError;
use crate::serve::AppState;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::routing::{get, post};
use axum::{Json, Router};
use engine::EngineError;
use ledger::Candidate;
use wire::{
    ElectionDetail, ElectionSummary, Enrolment, ErrorCode, IssuedInvitation, KeyChange,
    NewCandidate, NewElection, NewVoter, RegisteredVoter, Registration, Roll, VoterId,
};

/// Voter imports may carry thousands of rows.
const IMPORT_LIMIT: usize = 16 * 1024 * 1024;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/elections", get(list).post(create))
        .route("/elections/{id}", get(detail))
        .route("/elections/{id}/candidates", post(add_candidate))
        .route(
            "/elections/{id}/voters",
            post(register_voters).layer(DefaultBodyLimit::max(IMPORT_LIMIT)),
        )
        .route(
            "/elections/{id}/voters/{voter}",
            axum::routing::delete(remove_voter),
        )
        .route(
            "/elections/{id}/voters/{voter}/key",
            axum::routing::put(replace_voter_key),
        )
        .route("/elections/{id}/validators", post(enrol_validator))
        .route(
            "/elections/{id}/validators/{username}/key",
            axum::routing::delete(withdraw_key),
        )
        .route("/elections/{id}/open", post(open))
        .route("/elections/{id}/close", post(close))
        .layer(DefaultBodyLimit::max(super::SMALL_BODY))
}

async fn list(State(state): State<AppState>) -> Result<Json<Vec<ElectionSummary>>, ApiError> {
    Ok(Json(state.node.list_elections().await?))
}

async fn detail(
    State(state): State<AppState>,
    ElectionPath(id): ElectionPath,
) -> Result<Json<ElectionDetail>, ApiError> {
    Ok(Json(state.node.election(id).await?))
}

async fn create(
    State(state): State<AppState>,
    _admin: AdminAccount,
    ApiJson(new): ApiJson<NewElection>,
) -> Result<(StatusCode, Json<ElectionDetail>), ApiError> {
    Ok((
        StatusCode::CREATED,
        Json(state.node.create_election(new).await?),
    ))
}

async fn add_candidate(
    State(state): State<AppState>,
    _admin: AdminAccount,
    ElectionPath(id): ElectionPath,
    ApiJson(c): ApiJson<NewCandidate>,
) -> Result<(StatusCode, Json<Candidate>), ApiError> {
    Ok((
        StatusCode::CREATED,
        Json(
            state
                .node
                .add_candidate(id, &c.name, &c.description)
                .await?,
        ),
    ))
}

/// One voter as JSON (`{name, external_id?, public_key}`), a JSON list of them, or a keys
/// file (`Content-Type: text/csv`, header row with `name`, `public_key` and optionally
/// `external_id` and `election`). Codes are made off the server; only their keys come here.
async fn register_voters(
    State(state): State<AppState>,
    _admin: AdminAccount,
    ElectionPath(id): ElectionPath,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Result<(StatusCode, Json<Registration>), ApiError> {
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let registration = if content_type.starts_with("text/csv") {
        let text = std::str::from_utf8(&body)
            .map_err(|_| ApiError::malformed("the CSV file is not UTF-8 text"))?;
        state.node.import_voter_keys(id, text).await?
    } else if content_type.starts_with("application/json") {
        // Parsed as the shape sent, so a missing field is named.
        let is_list = body.iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'[');
        let parsed = if is_list {
            serde_json::from_slice::<Vec<NewVoter>>(&body)
        } else {
            serde_json::from_slice::<NewVoter>(&body).map(|v| vec![v])
        };
        let list = parsed.map_err(|e| {
            ApiError::malformed(format!(
                "expected {{name, external_id?, public_key}} or a list of them: {e}"
            ))
        })?;
        state.node.register_voters(id, list).await?
    } else {
        return Err(ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ErrorCode::UnsupportedMediaType,
            "send application/json or text/csv",
        ));
    };
    Ok((StatusCode::CREATED, Json(registration)))
}

/// The voter named in a `/voters/{voter}` path.
fn voter_of(text: &str) -> Result<VoterId, ApiError> {
    match text.parse::<i64>() {
        Ok(n) if n >= 0 => Ok(VoterId(n)),
        Ok(_) => Err(EngineError::NotFound("voter").into()),
        Err(_) => Err(ApiError::malformed("a voter id is a number")),
    }
}

/// Takes a voter off the roll before sealing; the answer is the roll now.
async fn remove_voter(
    State(state): State<AppState>,
    _admin: AdminAccount,
    ElectionItemPath(id, voter): ElectionItemPath,
) -> Result<Json<Roll>, ApiError> {
    Ok(Json(state.node.remove_voter(id, voter_of(&voter)?).await?))
}

/// Gives a voter the key of a new code (the old one was lost), before sealing.
async fn replace_voter_key(
    State(state): State<AppState>,
    _admin: AdminAccount,
    ElectionItemPath(id, voter): ElectionItemPath,
    ApiJson(change): ApiJson<KeyChange>,
) -> Result<Json<RegisteredVoter>, ApiError> {
    Ok(Json(
        state
            .node
            .replace_voter_key(id, voter_of(&voter)?, change.public_key)
            .await?,
    ))
}

async fn enrol_validator(
    State(state): State<AppState>,
    _admin: AdminAccount,
    ElectionPath(id): ElectionPath,
    ApiJson(e): ApiJson<Enrolment>,
) -> Result<(StatusCode, Json<ElectionDetail>), ApiError> {
    state.node.enrol_validator(id, &e.username).await?;
    Ok((StatusCode::CREATED, Json(state.node.election(id).await?)))
}

/// Withdraws an enrolled validator's key before sealing; the answer is the re-enrolment
/// link with which they prove a new one.
async fn withdraw_key(
    State(state): State<AppState>,
    AdminAccount(admin): AdminAccount,
    ElectionItemPath(id, username): ElectionItemPath,
) -> Result<(StatusCode, Json<IssuedInvitation>), ApiError> {
    let issued = state
        .node
        .replace_validator_key(id, &username, admin.id)
        .await?;
    Ok((StatusCode::CREATED, Json(issued)))
}

async fn open(
    State(state): State<AppState>,
    _admin: AdminAccount,
    ElectionPath(id): ElectionPath,
) -> Result<Json<ElectionDetail>, ApiError> {
    Ok(Json(state.node.open_election(id).await?))
}

async fn close(
    State(state): State<AppState>,
    _admin: AdminAccount,
    ElectionPath(id): ElectionPath,
) -> Result<Json<ElectionDetail>, ApiError> {
    Ok(Json(state.node.close_election(id).await?))
}
