//! The JSON API under `/api/`. One file per resource; each exports `router()`.

mod accounts;
pub use accounts::login_limited;
mod chain;
pub use chain::cast_limited;
mod elections;
mod error;
mod extract;
pub use extract::{current_account, sign_in};
pub mod limit;

pub use error::ApiError;

use crate::serve::AppState;
use axum::Router;

/// All API routes; unknown paths get a JSON 404.
pub fn router() -> Router<AppState> {
    Router::new()
        .merge(accounts::router())
        .merge(elections::router())
        .merge(chain::router())
        .fallback(|| async {
            ApiError::new(
                axum::http::StatusCode::NOT_FOUND,
                wire::ErrorCode::NotFound,
                "no such API endpoint",
            )
        })
}
