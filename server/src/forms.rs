//! Form posts of the HTML pages, for browsers with or without JavaScript. Each answers
//! with a redirect (303) to a page that shows the outcome.

use crate::api::cast_limited;
use crate::serve::AppState;
use axum::extract::{ConnectInfo, Path, State};
use axum::response::Redirect;
use axum::routing::post;
use axum::{Form, Router};
use engine::Ballot;
use serde::Deserialize;
use std::net::SocketAddr;

/// Routes for form posts.
pub fn router() -> Router<AppState> {
    Router::new().route("/e/{election}/vote", post(vote))
}

/// The voter's ballot form.
#[derive(Deserialize)]
struct VoteForm {
    #[serde(default)]
    code: String,
    #[serde(default)]
    candidate_id: String,
    /// The "I have checked my choice" box: a vote cannot be changed afterwards.
    #[serde(default)]
    confirm: Option<String>,
}

/// Casts the ballot, then shows the receipt; on any error returns to the ballot with an
/// error code the page turns into a message (never echoing the code back into a URL).
async fn vote(
    State(state): State<AppState>,
    ConnectInfo(client): ConnectInfo<SocketAddr>,
    Path(election): Path<i64>,
    Form(form): Form<VoteForm>,
) -> Redirect {
    let back = |error: &str| Redirect::to(&format!("/e/{election}?error={error}"));
    if form.confirm.is_none() {
        return back("unconfirmed");
    }
    let Ok(candidate_id) = form.candidate_id.parse::<i64>() else {
        return back("no_candidate");
    };
    let ballot = Ballot::Code {
        code: form.code,
        candidate_id,
    };
    match cast_limited(&state, client, election, ballot).await {
        Ok(receipt) => Redirect::to(&format!("/e/{election}/receipt/{receipt}")),
        Err(e) => back(e.code()),
    }
}
