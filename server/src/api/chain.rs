//! Votes, receipts, mining work, block submission, validators' decisions, chain queries.

use super::extract::{ApiJson, ApiQuery, ElectionItemPath, ElectionPath};
use super::ApiError;
use crate::serve::AppState;
use app::site::ClientAddr;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use engine::EngineError;
use ledger::{Approval, Block, BlockHash, Rejection, TxId};
use serde::Deserialize;
use wire::{
    Ballot, BlockDetail, BlockRef, BlockStatus, BlockSummary, CastReceipt, ReceiptReport,
    SignedApproval, SignedRejection, SubmitOutcome, TallyReport, WorkTemplate,
};

/// A vote is small: its encrypted ballot (136 + 160 bytes per candidate, at most
/// `engine::MAX_CANDIDATES`) in hex, and a key and a signature; anything larger is not a
/// vote.
const VOTE_LIMIT: usize = 32 * 1024;
/// A block of 1000 votes in JSON: about 1.7 MB with 3 candidates, 22 MB with the most.
const BLOCK_LIMIT: usize = 24 * 1024 * 1024;

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
        .route("/elections/{id}/head", get(head))
        .route("/elections/{id}/genesis", get(genesis))
        .route("/elections/{id}/chain", get(appended_since))
        .route("/elections/{id}/export", get(export))
        .layer(DefaultBodyLimit::max(super::SMALL_BODY))
}

async fn cast(
    State(state): State<AppState>,
    ClientAddr(client): ClientAddr,
    ElectionPath(id): ElectionPath,
    ApiJson(ballot): ApiJson<Ballot>,
) -> Result<(StatusCode, Json<CastReceipt>), ApiError> {
    let receipt = state.limits.cast(&state.node, client, id, ballot).await?;
    Ok((StatusCode::ACCEPTED, Json(CastReceipt { receipt })))
}

async fn receipt(
    State(state): State<AppState>,
    ElectionItemPath(id, receipt): ElectionItemPath,
) -> Result<Json<ReceiptReport>, ApiError> {
    let tx: TxId = receipt
        .parse()
        .map_err(|_| ApiError::malformed("a receipt is 64 hex digits"))?;
    Ok(Json(state.node.receipt(id, &tx).await?))
}

/// The entity tag of a template: it changes exactly when a miner must start over, that
/// is when the tip or the votes to include change (not with the template's timestamp).
pub fn work_etag(work: &WorkTemplate) -> String {
    let prev = work.prev.to_string();
    let root = work.header.merkle_root.to_string();
    format!("\"{}-{}-{}\"", &prev[..24], &root[..24], work.difficulty)
}

/// Whether the client's `If-None-Match` names `etag`: it has this answer already.
pub(crate) fn client_has(headers: &HeaderMap, etag: &str) -> bool {
    headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|tag| tag.trim() == etag))
}

/// `GET /work`. Miner pages poll it with `If-None-Match`: an unchanged template costs a
/// bodiless 304, a new tip or new votes give the new template at the next poll.
async fn work(
    State(state): State<AppState>,
    ClientAddr(client): ClientAddr,
    ElectionPath(id): ElectionPath,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    state.limits.templates.count(client)?;
    let work = state.node.work(id).await?;
    let etag = work_etag(&work);
    let cache = [
        (header::ETAG, etag.clone()),
        (header::CACHE_CONTROL, "no-cache".to_owned()),
    ];
    let unchanged = client_has(&headers, &etag);
    if unchanged {
        return Ok((StatusCode::NOT_MODIFIED, cache).into_response());
    }
    Ok((cache, Json(&*work)).into_response())
}

async fn submit(
    State(state): State<AppState>,
    ClientAddr(client): ClientAddr,
    ElectionPath(id): ElectionPath,
    ApiJson(block): ApiJson<Block>,
) -> Result<(StatusCode, Json<SubmitOutcome>), ApiError> {
    state.limits.blocks.count(client)?;
    Ok((
        StatusCode::ACCEPTED,
        Json(state.node.submit_block(id, block, Some(client)).await?),
    ))
}

#[derive(Deserialize)]
struct BlockQuery {
    status: Option<String>,
    from: Option<u64>,
    limit: Option<u32>,
}

async fn blocks(
    State(state): State<AppState>,
    ElectionPath(id): ElectionPath,
    ApiQuery(q): ApiQuery<BlockQuery>,
) -> Result<Json<Vec<BlockSummary>>, ApiError> {
    let status = match q.status.as_deref().map(str::parse) {
        None => BlockStatus::Appended,
        Some(Ok(s @ (BlockStatus::Awaiting | BlockStatus::Appended))) => s,
        Some(_) => {
            return Err(ApiError::malformed(format!(
                "status must be 'awaiting' or 'appended', not {:?}",
                q.status.unwrap_or_default()
            )))
        }
    };
    Ok(Json(match status {
        BlockStatus::Awaiting => state.node.awaiting_blocks(id).await?,
        _ => {
            state
                .node
                .chain_page(id, q.from, q.limit.unwrap_or(20))
                .await?
        }
    }))
}

/// Which of a block's votes to list: from Merkle position `from` (0), `limit` of them
/// (all).
#[derive(Deserialize)]
struct VotesQuery {
    from: Option<u64>,
    limit: Option<u64>,
}

async fn block(
    State(state): State<AppState>,
    ElectionItemPath(id, block): ElectionItemPath,
    ApiQuery(q): ApiQuery<VotesQuery>,
) -> Result<Json<BlockDetail>, ApiError> {
    let block: BlockRef = block
        .parse()
        .map_err(|e: wire::BadBlockRef| ApiError::from(EngineError::Invalid(e.to_string())))?;
    let from = q.from.unwrap_or(0);
    let to = q.limit.map_or(u64::MAX, |n| from.saturating_add(n));
    Ok(Json(
        state.node.block_detail_window(id, block, from..to).await?,
    ))
}

async fn raw_block(
    State(state): State<AppState>,
    ElectionItemPath(id, block): ElectionItemPath,
) -> Result<Json<Block>, ApiError> {
    let hash = parse_hash(&block)?;
    Ok(Json(state.node.raw_block(id, &hash).await?))
}

fn parse_hash(text: &str) -> Result<BlockHash, ApiError> {
    text.parse()
        .map_err(|_| ApiError::malformed("a block hash is 64 hex digits"))
}

/// A validator's approval, signed on their device: the signature is the authority, so
/// no session is needed.
async fn approve(
    State(state): State<AppState>,
    ElectionItemPath(id, block): ElectionItemPath,
    ApiJson(signed): ApiJson<SignedApproval>,
) -> Result<Json<BlockSummary>, ApiError> {
    let approval = Approval {
        block: parse_hash(&block)?,
        validator: signed.validator,
        signature: signed.signature,
    };
    Ok(Json(state.node.approve(id, &approval).await?))
}

/// A validator's rejection with its reason, signed on their device.
async fn reject(
    State(state): State<AppState>,
    ElectionItemPath(id, block): ElectionItemPath,
    ApiJson(signed): ApiJson<SignedRejection>,
) -> Result<Json<BlockSummary>, ApiError> {
    let rejection = Rejection {
        block: parse_hash(&block)?,
        validator: signed.validator,
        reason: signed.reason,
        signature: signed.signature,
    };
    Ok(Json(state.node.reject(id, &rejection).await?))
}

async fn tally(
    State(state): State<AppState>,
    ClientAddr(client): ClientAddr,
    ElectionPath(id): ElectionPath,
) -> Result<Json<TallyReport>, ApiError> {
    state.limits.tallies.count(client)?;
    Ok(Json(state.node.tally(id).await?))
}

/// The tip an observer pins: height, hash and approvals.
async fn head(
    State(state): State<AppState>,
    ElectionPath(id): ElectionPath,
) -> Result<Json<wire::Head>, ApiError> {
    Ok(Json(state.node.head(id).await?))
}

/// `GET /genesis`: the genesis block, where a copy kept elsewhere starts (then follows
/// `/chain?since=0`): JSON, or its canonical encoding (`Genesis::encode`, the bytes its
/// hash is taken over) for a client that accepts `application/octet-stream`. Counted as
/// an export.
/// `GET /genesis`. A sealed genesis block never changes: its entity tag is its hash (one
/// per encoding), and a client that holds it already gets a bodiless 304, not counted as
/// an export, so every voter behind one address (a NAT, a proxy) can check it before
/// voting; the block itself is counted like an export.
async fn genesis(
    State(state): State<AppState>,
    ClientAddr(client): ClientAddr,
    ElectionPath(id): ElectionPath,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let binary = accepts_compact(&headers);
    let etag = wire::genesis_etag(&state.node.genesis_hash(id).await?, binary);
    let cache = [
        (header::ETAG, etag.clone()),
        (header::CACHE_CONTROL, "no-cache".to_owned()),
    ];
    if client_has(&headers, &etag) {
        return Ok((StatusCode::NOT_MODIFIED, cache).into_response());
    }
    state.limits.exports.count(client)?;
    let genesis = state.node.genesis(id).await?;
    Ok(if binary {
        (cache, compact(genesis.encode())).into_response()
    } else {
        (cache, Json(genesis)).into_response()
    })
}

/// Whether the client asked for the compact (binary) encoding.
fn accepts_compact(headers: &HeaderMap) -> bool {
    headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.contains("application/octet-stream"))
}

fn compact(bytes: Vec<u8>) -> Response {
    ([(header::CONTENT_TYPE, "application/octet-stream")], bytes).into_response()
}

#[derive(Deserialize)]
struct SinceQuery {
    since: u64,
    limit: Option<u32>,
}

/// `GET /chain?since=HEIGHT[&limit=N]`: the appended blocks after a height, with their
/// approvals (up to 100 at a time): how a copy kept elsewhere follows the chain without
/// the whole export. JSON, or the compact encoding (`ledger::encode_blocks`) for a client
/// that accepts `application/octet-stream`. Counted as an export.
async fn appended_since(
    State(state): State<AppState>,
    ClientAddr(client): ClientAddr,
    ElectionPath(id): ElectionPath,
    ApiQuery(q): ApiQuery<SinceQuery>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    state.limits.exports.count(client)?;
    let blocks = state
        .node
        .appended_since(id, q.since, q.limit.unwrap_or(100))
        .await?;
    Ok(if accepts_compact(&headers) {
        compact(ledger::encode_blocks(&blocks))
    } else {
        Json(blocks).into_response()
    })
}

/// The whole chain, from the file kept for its tip, with an entity tag: a client that
/// has this tip's export already gets a bodiless 304.
async fn export(
    State(state): State<AppState>,
    ClientAddr(client): ClientAddr,
    ElectionPath(id): ElectionPath,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    state.limits.exports.count(client)?;
    state.exports.answer(&state.node, id, &headers).await
}
