//! Bodies are read only once the sender may send them: the officer's forms, uploads
//! and page data, the validator's dashboard and the signed-in person's actions are
//! checked against the session on the request's head, and every body outside the JSON API (whose routes set their own limits) is read
//! here, up to its route's limit. Server functions decode their arguments before their
//! own code runs, so without this an anonymous client could make them buffer anything.

use crate::api::ApiError;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{header, HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use engine::Node;
use tower_sessions::Session;
use wire::{ErrorCode, Role};

/// A form's or server function's body, outside the voter upload.
pub const FORM_LIMIT: usize = 64 * 1024;

/// Who may send a body to a path.
#[derive(Debug, PartialEq, Eq)]
enum Needs {
    Anyone,
    SignedIn,
    Role(Role),
}

fn needs(method: &Method, path: &str) -> Needs {
    if matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS) {
        Needs::Anyone
    } else if path.starts_with("/admin/") || path.starts_with("/sfn/admin/") {
        Needs::Role(Role::Admin)
    } else if path == "/sfn/validator-dashboard" {
        Needs::Role(Role::Validator)
    } else if path.starts_with("/sfn/account/") {
        Needs::SignedIn
    } else {
        Needs::Anyone
    }
}

/// The most a body may hold; `None` on the JSON API, whose routes set their own.
fn limit(path: &str) -> Option<usize> {
    if path.starts_with("/api/") {
        None
    } else if path.starts_with("/admin/e/") && path.ends_with("/voters") {
        Some(app::admin::IMPORT_LIMIT)
    } else {
        Some(FORM_LIMIT)
    }
}

pub async fn gate(
    State(node): State<Node>,
    session: Session,
    request: Request,
    next: Next,
) -> Response {
    let path = request.uri().path().to_owned();
    let allowed = match needs(request.method(), &path) {
        Needs::Anyone => true,
        needed => match app::session::account_of(&node, &session).await {
            Ok(Some(account)) => needed == Needs::SignedIn || needed == Needs::Role(account.role),
            Ok(None) => false,
            Err(e) => return ApiError::from(e).into_response(),
        },
    };
    if !allowed {
        tracing::info!(
            path,
            "a form or action without the right session; body left unread"
        );
        return to_sign_in(&request, &path);
    }
    let Some(limit) = limit(&path) else {
        return next.run(request).await;
    };
    let (parts, body) = request.into_parts();
    let declared = parts
        .headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > limit as u64) {
        return too_large(limit);
    }
    match axum::body::to_bytes(body, limit).await {
        Ok(bytes) => {
            next.run(Request::from_parts(parts, Body::from(bytes)))
                .await
        }
        // Within its declared length, a body that fails did not arrive whole.
        Err(_) if declared.is_some() => {
            ApiError::malformed("the request body did not arrive whole").into_response()
        }
        Err(_) => too_large(limit),
    }
}

/// Where the action itself would have sent the browser: to sign in. A form without
/// JavaScript gets a redirect; a server function called from a page gets the header
/// its client follows (as `leptos_axum::redirect` sets it), with its `()` result.
fn to_sign_in(request: &Request, path: &str) -> Response {
    let location = HeaderValue::from_static("/login");
    let wants_html = request
        .headers()
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.contains("text/html"));
    if path.starts_with("/sfn/") && !wants_html {
        return (
            StatusCode::OK,
            [
                (header::LOCATION, location),
                (
                    header::HeaderName::from_static(leptos::server_fn::redirect::REDIRECT_HEADER),
                    HeaderValue::from_static(""),
                ),
                (
                    header::CONTENT_TYPE,
                    HeaderValue::from_static("application/json"),
                ),
            ],
            "null",
        )
            .into_response();
    }
    let status = if path.starts_with("/sfn/") {
        StatusCode::FOUND
    } else {
        StatusCode::SEE_OTHER
    };
    (status, [(header::LOCATION, location)]).into_response()
}

fn too_large(limit: usize) -> Response {
    ApiError::new(
        StatusCode::PAYLOAD_TOO_LARGE,
        ErrorCode::TooLarge,
        format!("the request body is larger than this form takes ({limit} bytes)"),
    )
    .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn officers_forms_need_an_admin_and_reads_need_nobody() {
        let post = Method::POST;
        assert_eq!(needs(&post, "/admin/e/1/voters"), Needs::Role(Role::Admin));
        assert_eq!(needs(&post, "/sfn/admin/open"), Needs::Role(Role::Admin));
        assert_eq!(needs(&post, "/sfn/account/password"), Needs::SignedIn);
        assert_eq!(needs(&post, "/sfn/account/own"), Needs::SignedIn);
        assert_eq!(
            needs(&post, "/sfn/validator-dashboard"),
            Needs::Role(Role::Validator)
        );
        // No such route: left to answer 404.
        assert_eq!(needs(&post, "/sfn/validator/approve"), Needs::Anyone);
        assert_eq!(needs(&post, "/sfn/login"), Needs::Anyone);
        assert_eq!(needs(&post, "/sfn/vote"), Needs::Anyone);
        assert_eq!(needs(&Method::GET, "/admin/e/1"), Needs::Anyone);
        assert_eq!(limit("/admin/e/1/voters"), Some(app::admin::IMPORT_LIMIT));
        assert_eq!(limit("/sfn/vote"), Some(FORM_LIMIT));
        assert_eq!(limit("/api/elections"), None);
    }
}
