//! The election officer's form posts under `/admin`. Each needs an admin session and the
//! session's CSRF token; each answers with a redirect back to the page, except voter
//! registration, which answers with the one-time page of new voting codes.

use crate::api::ApiError;
use crate::forms::form_account;
use crate::serve::AppState;
use axum::extract::{DefaultBodyLimit, Multipart, Path, State};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::post;
use axum::{Form, Router};
use engine::EngineError;
use ledger::{CandidateId, ElectionId};
use serde::Deserialize;
use tower_sessions::Session;
use wire::{IssuedCode, NewElection, NewVoter, Role};

/// Voter files may hold many thousands of rows.
const IMPORT_LIMIT: usize = 16 * 1024 * 1024;

/// Routes for the officer's forms.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/admin/elections", post(create_election))
        .route("/admin/e/{election}/candidates", post(add_candidate))
        .route(
            "/admin/e/{election}/candidates/{candidate}",
            post(change_candidate),
        )
        .route(
            "/admin/e/{election}/voters",
            post(register_voters).layer(DefaultBodyLimit::max(IMPORT_LIMIT)),
        )
        .route("/admin/e/{election}/validators", post(validators))
        .route("/admin/e/{election}/state", post(change_state))
}

/// Admin session and matching CSRF token, or where to send the browser instead.
async fn guard(state: &AppState, session: &Session, csrf: &str) -> Result<(), Redirect> {
    form_account(state, session, Role::Admin, csrf, "/admin")
        .await
        .map(|_| ())
}

fn back(election: ElectionId, outcome: Result<&str, EngineError>) -> Redirect {
    match outcome {
        Ok(done) => Redirect::to(&format!("/admin/e/{election}?done={done}")),
        Err(e) => Redirect::to(&format!(
            "/admin/e/{election}?error={}",
            ApiError::from(e).code()
        )),
    }
}

#[derive(Deserialize)]
struct ElectionForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    title: String,
    #[serde(default)]
    description: String,
    #[serde(default)]
    difficulty_bits: String,
    #[serde(default)]
    quorum: String,
}

async fn create_election(
    State(state): State<AppState>,
    session: Session,
    Form(f): Form<ElectionForm>,
) -> Redirect {
    if let Err(to) = guard(&state, &session, &f.csrf).await {
        return to;
    }
    // Blank means the default; anything unreadable is sent on out of range, so the
    // engine's message about the allowed range is what the officer sees.
    let difficulty_bits = match f.difficulty_bits.trim() {
        "" => None,
        t => Some(t.parse::<u8>().unwrap_or(u8::MAX)),
    };
    let quorum = match f.quorum.trim() {
        "" => None,
        t => Some(t.parse::<u16>().unwrap_or(0)),
    };
    let new = NewElection {
        title: f.title,
        description: f.description,
        difficulty_bits,
        quorum,
    };
    match state.node.create_election(new).await {
        Ok(e) => Redirect::to(&format!("/admin/e/{}?done=created", e.id)),
        Err(e) => Redirect::to(&format!("/admin?error={}", ApiError::from(e).code())),
    }
}

#[derive(Deserialize)]
struct CandidateForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    description: String,
    #[serde(default)]
    action: String,
}

async fn add_candidate(
    State(state): State<AppState>,
    session: Session,
    Path(election): Path<ElectionId>,
    Form(f): Form<CandidateForm>,
) -> Redirect {
    if let Err(to) = guard(&state, &session, &f.csrf).await {
        return to;
    }
    let r = state
        .node
        .add_candidate(election, &f.name, &f.description)
        .await;
    back(election, r.map(|_| "candidate_added"))
}

async fn change_candidate(
    State(state): State<AppState>,
    session: Session,
    Path((election, candidate)): Path<(ElectionId, u32)>,
    Form(f): Form<CandidateForm>,
) -> Redirect {
    let candidate = CandidateId(candidate);
    if let Err(to) = guard(&state, &session, &f.csrf).await {
        return to;
    }
    let r = match f.action.as_str() {
        "remove" => state
            .node
            .remove_candidate(election, candidate)
            .await
            .map(|_| "candidate_removed"),
        _ => state
            .node
            .update_candidate(election, candidate, &f.name, &f.description)
            .await
            .map(|_| "candidate_saved"),
    };
    back(election, r)
}

#[derive(Deserialize)]
struct ValidatorForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    username: String,
    #[serde(default)]
    password: String,
}

/// With a password: creates the validator account, then enrols it; without: enrols an
/// existing validator account.
async fn validators(
    State(state): State<AppState>,
    session: Session,
    Path(election): Path<ElectionId>,
    Form(f): Form<ValidatorForm>,
) -> Redirect {
    if let Err(to) = guard(&state, &session, &f.csrf).await {
        return to;
    }
    if !f.password.is_empty() {
        if let Err(e) = state
            .node
            .create_account(&f.username, &f.password, Role::Validator)
            .await
        {
            return back(election, Err(e));
        }
    }
    let r = state.node.enrol_validator(election, &f.username).await;
    back(election, r.map(|_| "validator_enrolled"))
}

#[derive(Deserialize)]
struct StateForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    action: String,
}

async fn change_state(
    State(state): State<AppState>,
    session: Session,
    Path(election): Path<ElectionId>,
    Form(f): Form<StateForm>,
) -> Redirect {
    if let Err(to) = guard(&state, &session, &f.csrf).await {
        return to;
    }
    let r = match f.action.as_str() {
        "open" => state.node.open_election(election).await.map(|_| "opened"),
        "close" => state.node.close_election(election).await.map(|_| "closed"),
        _ => Err(EngineError::Invalid("unknown action".into())),
    };
    back(election, r)
}

/// One voter (`name`, `external_id`) or a CSV file (`file`), as multipart form data.
async fn register_voters(
    State(state): State<AppState>,
    session: Session,
    Path(election): Path<ElectionId>,
    mut form: Multipart,
) -> Response {
    let (mut csrf, mut name, mut external_id, mut file) =
        (String::new(), String::new(), String::new(), Vec::new());
    loop {
        match form.next_field().await {
            Ok(Some(field)) => {
                let key = field.name().unwrap_or("").to_owned();
                let Ok(bytes) = field.bytes().await else {
                    return page(
                        election,
                        "The upload was interrupted",
                        "<p>Nothing was registered. Please try again.</p>",
                    );
                };
                match key.as_str() {
                    "csrf" => csrf = String::from_utf8_lossy(&bytes).into_owned(),
                    "name" => name = String::from_utf8_lossy(&bytes).into_owned(),
                    "external_id" => external_id = String::from_utf8_lossy(&bytes).into_owned(),
                    "file" => file = bytes.to_vec(),
                    _ => {}
                }
            }
            Ok(None) => break,
            Err(_) => {
                return page(
                    election,
                    "The upload could not be read",
                    "<p>Nothing was registered. Please try again.</p>",
                );
            }
        }
    }
    if let Err(to) = guard(&state, &session, &csrf).await {
        return to.into_response();
    }
    let outcome = if !file.is_empty() {
        match std::str::from_utf8(&file) {
            Ok(text) => state.node.import_voters_csv(election, text).await,
            Err(_) => Err(EngineError::Invalid(
                "the file is not UTF-8 text (save it as CSV UTF-8)".into(),
            )),
        }
    } else {
        let external_id = Some(external_id).filter(|x| !x.trim().is_empty());
        state
            .node
            .register_voters(election, vec![NewVoter { name, external_id }])
            .await
    };
    match outcome {
        Ok(codes) => codes_page(election, &codes),
        Err(EngineError::BadRows(rows)) => {
            let list: String = rows
                .iter()
                .map(|r| format!("<li>{}</li>", escape(r)))
                .collect();
            page(
                election,
                "Nothing was registered",
                &format!("<p class=\"error\" role=\"alert\">The file has {} bad row(s); fix them and upload it again.</p><ul class=\"problems\">{list}</ul>", rows.len()),
            )
        }
        Err(e) => {
            let e = ApiError::from(e);
            Redirect::to(&format!("/admin/e/{election}?error={}", e.code())).into_response()
        }
    }
}

/// The only time the new codes are shown: a table and the same as a CSV download.
fn codes_page(election: ElectionId, codes: &[IssuedCode]) -> Response {
    let mut csv = String::from("voter_id,name,external_id,code\n");
    let mut rows = String::new();
    for c in codes {
        let ext = c.external_id.clone().unwrap_or_default();
        csv.push_str(&format!(
            "{},{},{},{}\n",
            c.voter_id,
            csv_field(&c.name),
            csv_field(&ext),
            c.code
        ));
        rows.push_str(&format!(
            "<tr><td>{}</td><td>{}</td><td class=\"hash\">{}</td></tr>",
            escape(&c.name),
            escape(&ext),
            c.code
        ));
    }
    let body = format!(
        "<p class=\"error\" role=\"alert\">These {n} voting code(s) are shown only now: the server keeps only the voters' public keys. Download them before leaving this page.</p>\
         <p><a class=\"button\" download=\"voting-codes-election-{election}.csv\" href=\"data:text/csv;charset=utf-8,{data}\">Download the codes as CSV</a></p>\
         <table class=\"checks codes\"><thead><tr><th>Name</th><th>External id</th><th>Voting code</th></tr></thead><tbody>{rows}</tbody></table>",
        n = codes.len(),
        data = percent_encode(&csv),
    );
    page(
        election,
        &format!("{} voter(s) registered", codes.len()),
        &body,
    )
}

fn page(election: ElectionId, title: &str, body: &str) -> Response {
    Html(format!(
        "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <link rel=\"stylesheet\" href=\"/pkg/ballotchain.css\"><link rel=\"icon\" href=\"data:,\"><title>{t} · ballotchain</title></head>\
         <body><header class=\"site-header\"><a class=\"brand\" href=\"/\">ballotchain</a></header><main><h1>{t}</h1>{body}\
         <p><a href=\"/admin/e/{election}\">Back to the election</a></p></main></body></html>",
        t = escape(title),
    ))
    .into_response()
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#39;")
}

fn csv_field(text: &str) -> String {
    if text.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", text.replace('"', "\"\""))
    } else {
        text.to_owned()
    }
}

fn percent_encode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}
