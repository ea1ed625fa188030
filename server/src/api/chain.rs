//! Votes, receipts, mining work, block submission, validators' decisions, chain queries.

use super::extract::{ApiJson, ApiPath, ApiQuery, ValidatorAccount};
use super::ApiError;
use crate::serve::AppState;
use axum::extract::{ConnectInfo, DefaultBodyLimit, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use engine::{
    Ballot, BlockDetail, BlockSummary, Decision, EngineError, ReceiptStatus, SubmitOutcome,
    WorkTemplate,
};
use ledger::{Block, BlockHash, ChainExport, TxId};
use serde::{Deserialize, Serialize};
use std::net::SocketAddr;

/// A ballot is small; anything larger is not a ballot.
const VOTE_LIMIT: usize = 4 * 1024;
/// A block of 1000 votes in JSON is about 400 KB.
const BLOCK_LIMIT: usize = 2 * 1024 * 1024;
/// Other requests.
const DEFAULT_LIMIT: usize = 64 * 1024;

pub fn router() -> Router<AppState> {
    Router::new()
        .route(
            "/elections/{id}/votes",
            post(cast).layer(DefaultBodyLimit::max(VOTE_LIMIT)),
        )
        .route("/elections/{id}/receipts/{receipt}", get(receipt))
        .route("/elections/{id}/work", get(work))
        .route(
            "/elections/{id}/blocks",
            get(blocks)
                .post(submit)
                .layer(DefaultBodyLimit::max(BLOCK_LIMIT)),
        )
        .route("/elections/{id}/blocks/{block}", get(block))
        .route("/elections/{id}/blocks/{block}/raw", get(raw_block))
        .route("/elections/{id}/blocks/{block}/approve", post(approve))
        .route("/elections/{id}/blocks/{block}/reject", post(reject))
        .route("/elections/{id}/tally", get(tally))
        .route("/elections/{id}/export", get(export))
        .layer(DefaultBodyLimit::max(DEFAULT_LIMIT))
}

#[derive(Serialize)]
struct Receipt {
    receipt: TxId,
}

async fn cast(
    State(state): State<AppState>,
    ConnectInfo(client): ConnectInfo<SocketAddr>,
    ApiPath(id): ApiPath<i64>,
    ApiJson(ballot): ApiJson<Ballot>,
) -> Result<(StatusCode, Json<Receipt>), ApiError> {
    let receipt = cast_limited(&state, client, id, ballot).await?;
    Ok((StatusCode::ACCEPTED, Json(Receipt { receipt })))
}

/// Casts a ballot under the per-address limit on invalid codes; the JSON API and the
/// voter's HTML form both go through here.
pub async fn cast_limited(
    state: &AppState,
    client: SocketAddr,
    election: i64,
    ballot: Ballot,
) -> Result<TxId, ApiError> {
    state.code_limit.check(client.ip())?;
    state.node.cast_vote(election, ballot).await.map_err(|e| {
        // Guessing codes shows up as unknown or malformed codes.
        if matches!(e, EngineError::UnknownCode | EngineError::Invalid(_)) {
            state.code_limit.record_failure(client.ip());
        }
        e.into()
    })
}

async fn receipt(
    State(state): State<AppState>,
    ApiPath((id, receipt)): ApiPath<(i64, String)>,
) -> Result<Json<ReceiptStatus>, ApiError> {
    let tx: TxId = receipt.parse().map_err(|_| {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            "malformed",
            "a receipt is 64 hex digits",
        )
    })?;
    Ok(Json(state.node.receipt(id, &tx).await?))
}

/// The entity tag of a template: it changes exactly when a miner must start over, that
/// is when the tip or the votes to include change (not with the template's timestamp).
pub fn work_etag(work: &WorkTemplate) -> String {
    let prev = work.prev.to_string();
    let root = work.header.merkle_root.to_string();
    format!("\"{}-{}-{}\"", &prev[..24], &root[..24], work.difficulty)
}

/// `GET /work`. Miner pages poll it with `If-None-Match`: an unchanged template costs a
/// bodiless 304, a new tip or new votes give the new template at the next poll.
async fn work(
    State(state): State<AppState>,
    ApiPath(id): ApiPath<i64>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let work = state.node.work(id).await?;
    let etag = work_etag(&work);
    let cache = [
        (header::ETAG, etag.clone()),
        (header::CACHE_CONTROL, "no-cache".to_owned()),
    ];
    let unchanged = headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|tag| tag.trim() == etag));
    if unchanged {
        return Ok((StatusCode::NOT_MODIFIED, cache).into_response());
    }
    Ok((cache, Json(work)).into_response())
}

async fn submit(
    State(state): State<AppState>,
    ApiPath(id): ApiPath<i64>,
    ApiJson(block): ApiJson<Block>,
) -> Result<(StatusCode, Json<SubmitOutcome>), ApiError> {
    Ok((
        StatusCode::ACCEPTED,
        Json(state.node.submit_block(id, block).await?),
    ))
}

#[derive(Deserialize)]
struct BlockQuery {
    status: Option<String>,
    from: Option<i64>,
    limit: Option<i64>,
}

async fn blocks(
    State(state): State<AppState>,
    ApiPath(id): ApiPath<i64>,
    ApiQuery(q): ApiQuery<BlockQuery>,
) -> Result<Json<Vec<BlockSummary>>, ApiError> {
    match q.status.as_deref() {
        Some("awaiting") => Ok(Json(state.node.awaiting_blocks(id).await?)),
        None | Some("appended") => Ok(Json(
            state
                .node
                .chain_page(id, q.from, q.limit.unwrap_or(20))
                .await?,
        )),
        Some(other) => Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            "malformed",
            format!("status must be 'awaiting' or 'appended', not {other:?}"),
        )),
    }
}

async fn block(
    State(state): State<AppState>,
    ApiPath((id, block)): ApiPath<(i64, String)>,
) -> Result<Json<BlockDetail>, ApiError> {
    Ok(Json(state.node.block_detail(id, &block).await?))
}

async fn raw_block(
    State(state): State<AppState>,
    ApiPath((id, block)): ApiPath<(i64, String)>,
) -> Result<Json<Block>, ApiError> {
    let hash = parse_hash(&block)?;
    Ok(Json(state.node.raw_block(id, &hash).await?))
}

fn parse_hash(text: &str) -> Result<BlockHash, ApiError> {
    text.parse().map_err(|_| {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            "malformed",
            "a block hash is 64 hex digits",
        )
    })
}

async fn approve(
    State(state): State<AppState>,
    ValidatorAccount(account): ValidatorAccount,
    ApiPath((id, block)): ApiPath<(i64, String)>,
) -> Result<Json<BlockSummary>, ApiError> {
    let hash = parse_hash(&block)?;
    Ok(Json(
        state
            .node
            .decide(id, &hash, account.id, Decision::Approve)
            .await?,
    ))
}

#[derive(Deserialize)]
struct Rejection {
    reason: String,
}

async fn reject(
    State(state): State<AppState>,
    ValidatorAccount(account): ValidatorAccount,
    ApiPath((id, block)): ApiPath<(i64, String)>,
    ApiJson(r): ApiJson<Rejection>,
) -> Result<Json<BlockSummary>, ApiError> {
    let hash = parse_hash(&block)?;
    Ok(Json(
        state
            .node
            .decide(id, &hash, account.id, Decision::Reject { reason: r.reason })
            .await?,
    ))
}

#[derive(Serialize)]
struct TallyRow {
    id: u32,
    name: String,
    votes: u64,
}

#[derive(Serialize)]
struct Tally {
    candidates: Vec<TallyRow>,
    total: u64,
}

async fn tally(
    State(state): State<AppState>,
    ApiPath(id): ApiPath<i64>,
) -> Result<Json<Tally>, ApiError> {
    let (rows, total) = state.node.tally(id).await?;
    Ok(Json(Tally {
        candidates: rows
            .into_iter()
            .map(|(id, name, votes)| TallyRow { id, name, votes })
            .collect(),
        total,
    }))
}

async fn export(
    State(state): State<AppState>,
    ApiPath(id): ApiPath<i64>,
) -> Result<Json<ChainExport>, ApiError> {
    Ok(Json(state.node.export(id).await?))
}
