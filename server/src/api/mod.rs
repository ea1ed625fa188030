//! The JSON API under `/api/`. One file per resource; each exports `router()`.

mod accounts;
mod chain;
mod elections;
mod error;
mod extract;
pub(crate) mod live;
mod trustees;

pub(crate) use chain::client_has;
pub use error::ApiError;

/// The body limit of every API route that sets no other: accounts, elections,
/// candidates, decisions.
const SMALL_BODY: usize = 64 * 1024;

use crate::serve::AppState;
use axum::Router;

/// All API routes; unknown paths get a JSON 404.
pub fn router() -> Router<AppState> {
    Router::new()
        .merge(accounts::router())
        .merge(elections::router())
        .merge(chain::router())
        .merge(trustees::router())
        .merge(live::router())
        .fallback(|| async {
            ApiError::new(
                axum::http::StatusCode::NOT_FOUND,
                wire::ErrorCode::NotFound,
                "no such API endpoint",
            )
        })
}
