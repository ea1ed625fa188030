//! API errors: JSON `{error, message}` with the right status. The one place where an
//! engine error becomes an HTTP status. Internal details are logged, never sent.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use engine::EngineError;
use wire::{ErrorBody, ErrorCode};

/// An error response.
#[derive(Debug)]
pub struct ApiError {
    status: StatusCode,
    body: ErrorBody,
    /// Seconds to wait, sent as `Retry-After`.
    retry_after: Option<u64>,
}

impl ApiError {
    /// An error with a status, a stable code and a human message.
    pub fn new(status: StatusCode, code: ErrorCode, message: impl Into<String>) -> Self {
        Self {
            status,
            body: ErrorBody {
                error: code,
                message: message.into(),
                details: Vec::new(),
            },
            retry_after: None,
        }
    }

    /// 401: no valid session.
    pub fn unauthenticated() -> Self {
        Self::new(
            StatusCode::UNAUTHORIZED,
            ErrorCode::Unauthenticated,
            "sign in first",
        )
    }

    /// 400: the request does not parse.
    pub fn malformed(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, ErrorCode::Malformed, message)
    }

    /// The same, asking the client to wait this many seconds (`Retry-After`).
    pub fn retry_after(mut self, seconds: u64) -> Self {
        self.retry_after = Some(seconds);
        self
    }
}

/// The HTTP status of each engine error.
fn status_of(e: &EngineError) -> StatusCode {
    match e {
        EngineError::Invalid(_) | EngineError::BadRows(_) => StatusCode::BAD_REQUEST,
        EngineError::BadCredentials => StatusCode::UNAUTHORIZED,
        EngineError::UnknownCode | EngineError::Forbidden(_) => StatusCode::FORBIDDEN,
        EngineError::NotFound(_) => StatusCode::NOT_FOUND,
        EngineError::AlreadyVoted(_)
        | EngineError::WrongState(_)
        | EngineError::OldFormat(_)
        | EngineError::Duplicate(_)
        | EngineError::Stale(_)
        | EngineError::Crowded(_)
        | EngineError::NothingToMine
        | EngineError::AllAwaiting { .. }
        | EngineError::Integrity(_) => StatusCode::CONFLICT,
        EngineError::Gone(_) => StatusCode::GONE,
        EngineError::TooMany(_) => StatusCode::TOO_MANY_REQUESTS,
        EngineError::Rule(_)
        | EngineError::Vote(_)
        | EngineError::UnknownVote(_)
        | EngineError::BadSignature(_) => StatusCode::UNPROCESSABLE_ENTITY,
        EngineError::Database(_) | EngineError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

impl From<EngineError> for ApiError {
    fn from(e: EngineError) -> Self {
        let status = status_of(&e);
        if status.is_server_error() {
            tracing::error!(error = ?e, "request failed");
            return Self::new(
                status,
                e.code(),
                "something went wrong on the server; it has been logged",
            );
        }
        let mut error = Self::new(status, e.code(), e.to_string());
        match e {
            EngineError::BadRows(rows) => error.body.details = rows,
            // The earlier vote's receipt, on its own for programs.
            EngineError::AlreadyVoted(Some(receipt)) => {
                error.body.details = vec![receipt.to_string()]
            }
            _ => {}
        }
        error
    }
}

impl From<app::limit::TooManyFailures> for ApiError {
    fn from(e: app::limit::TooManyFailures) -> Self {
        let mut error = Self::new(
            StatusCode::TOO_MANY_REQUESTS,
            ErrorCode::RateLimited,
            e.to_string(),
        );
        error.retry_after = Some(e.wait);
        error
    }
}

impl From<app::limit::Refused> for ApiError {
    fn from(r: app::limit::Refused) -> Self {
        match r {
            app::limit::Refused::Limited(e) => e.into(),
            app::limit::Refused::Engine(e) => e.into(),
        }
    }
}

impl From<tower_sessions::session::Error> for ApiError {
    fn from(e: tower_sessions::session::Error) -> Self {
        tracing::error!(error = %e, "session store failed");
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            ErrorCode::Session,
            "the session store failed",
        )
    }
}

impl From<app::session::SignInError> for ApiError {
    fn from(e: app::session::SignInError) -> Self {
        match e {
            app::session::SignInError::Session(e) => e.into(),
            app::session::SignInError::Node(e) => e.into(),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut response = (self.status, Json(self.body)).into_response();
        if let Some(seconds) = self.retry_after {
            response
                .headers_mut()
                .insert(axum::http::header::RETRY_AFTER, seconds.into());
        }
        response
    }
}
