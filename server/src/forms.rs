//! Form posts of the HTML pages, for browsers with or without JavaScript. Each answers
//! with a redirect (303) to a page that shows the outcome.

use crate::api::{cast_limited, current_account, login_limited};
use crate::serve::AppState;
use app::session::CSRF_KEY;
use axum::extract::{ConnectInfo, Path, State};
use axum::response::Redirect;
use axum::routing::post;
use axum::{Form, Router};
use ledger::{CandidateId, ElectionId};
use serde::Deserialize;
use std::net::SocketAddr;
use tower_sessions::Session;
use wire::{Account, Ballot, Role};

/// Routes for form posts.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/e/{election}/vote", post(vote))
        .route("/login", post(login))
        .route("/logout", post(logout))
        .route("/validator/decide", post(decide))
        .route("/setup", post(setup))
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
    Path(election): Path<ElectionId>,
    Form(form): Form<VoteForm>,
) -> Redirect {
    let back = |error: &str| Redirect::to(&format!("/e/{election}?error={error}"));
    if form.confirm.is_none() {
        return back("unconfirmed");
    }
    let Ok(candidate_id) = form.candidate_id.parse().map(CandidateId) else {
        return back("no_candidate");
    };
    let ballot = Ballot::Code {
        code: form.code,
        candidate_id,
    };
    match cast_limited(&state, client, election, ballot).await {
        Ok(receipt) => Redirect::to(&format!("/e/{election}/receipt/{receipt}")),
        Err(e) => back(e.code().as_str()),
    }
}

/// The signed-in account behind a state-changing form: it must have `role` (otherwise
/// the browser goes to sign in) and the form must echo the session's CSRF token
/// (otherwise back to `page` with `error=csrf`), so another site cannot post it.
pub async fn form_account(
    state: &AppState,
    session: &Session,
    role: Role,
    csrf: &str,
    page: &str,
) -> Result<Account, Redirect> {
    let account = match current_account(state, session).await {
        Ok(a) if a.role == role => a,
        _ => return Err(Redirect::to("/login")),
    };
    let token: Option<String> = session.get(CSRF_KEY).await.ok().flatten();
    if token.is_none_or(|t| t.is_empty() || t != csrf) {
        return Err(Redirect::to(&format!("{page}?error=csrf")));
    }
    Ok(account)
}

#[derive(Deserialize)]
struct LoginForm {
    #[serde(default)]
    username: String,
    #[serde(default)]
    password: String,
}

/// Signs in and goes to the account's page: validators to their dashboard, admins to the office.
async fn login(
    State(state): State<AppState>,
    ConnectInfo(client): ConnectInfo<SocketAddr>,
    session: Session,
    Form(form): Form<LoginForm>,
) -> Redirect {
    match login_limited(&state, client, &session, &form.username, &form.password).await {
        Ok(account) if account.role == Role::Validator => Redirect::to("/validator"),
        Ok(_) => Redirect::to("/admin"),
        Err(e) => Redirect::to(&format!("/login?error={}", e.code())),
    }
}

async fn logout(session: Session) -> Redirect {
    if let Err(e) = session.flush().await {
        tracing::error!(error = %e, "could not end a session");
    }
    Redirect::to("/")
}

#[derive(Deserialize)]
struct DecideForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    election: u64,
    #[serde(default)]
    block: String,
    #[serde(default)]
    decision: String,
    #[serde(default)]
    reason: String,
}

/// A validator's approve or reject button. Needs the validator's session and the
/// session's CSRF token, so another site cannot make a signed-in validator decide.
async fn decide(
    State(state): State<AppState>,
    session: Session,
    Form(form): Form<DecideForm>,
) -> Redirect {
    let back = |key: &str, value: &str| Redirect::to(&format!("/validator?{key}={value}"));
    let account =
        match form_account(&state, &session, Role::Validator, &form.csrf, "/validator").await {
            Ok(a) => a,
            Err(to) => return to,
        };
    let Ok(hash) = form.block.parse::<ledger::BlockHash>() else {
        return back("error", "invalid_input");
    };
    let election = ElectionId(form.election);
    let (outcome, done) = match form.decision.as_str() {
        "approve" => (
            state.node.approve(election, &hash, account.id).await,
            "approved",
        ),
        "reject" => (
            state
                .node
                .reject(election, &hash, account.id, &form.reason)
                .await,
            "rejected",
        ),
        _ => return back("error", "invalid_input"),
    };
    match outcome {
        Ok(_) => back("done", done),
        Err(e) => back("error", crate::api::ApiError::from(e).code().as_str()),
    }
}

#[derive(Deserialize)]
struct SetupForm {
    #[serde(default)]
    token: String,
    #[serde(default)]
    username: String,
    #[serde(default)]
    password: String,
}

/// The first-run link: creates the first admin once, with the token printed at start.
async fn setup(
    State(state): State<AppState>,
    session: Session,
    Form(form): Form<SetupForm>,
) -> Redirect {
    let back = |error: &str| {
        Redirect::to(&format!(
            "/setup?token={}&error={error}",
            form.token
                .chars()
                .filter(char::is_ascii_hexdigit)
                .collect::<String>()
        ))
    };
    // Taking the token out makes it single-use even under concurrent posts.
    let taken = {
        let mut slot = state.setup_token.lock().expect("setup token lock");
        match slot.as_deref() {
            Some(t) if !form.token.is_empty() && t == form.token => slot.take(),
            _ => None,
        }
    };
    if taken.is_none() || state.node.has_admin().await.unwrap_or(true) {
        return Redirect::to("/setup?error=invalid_token");
    }
    match state
        .node
        .create_account(&form.username, &form.password, Role::Admin)
        .await
    {
        Ok(account) => {
            if let Err(e) = crate::api::sign_in(&session, &account).await {
                tracing::error!(error = ?e, "could not sign in the new admin");
            }
            Redirect::to("/admin")
        }
        Err(e) => {
            // Bad username or password: give the token back so the officer can retry.
            *state.setup_token.lock().expect("setup token lock") = taken;
            back(crate::api::ApiError::from(e).code().as_str())
        }
    }
}
