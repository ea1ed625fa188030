//! API errors: JSON `{error, message}` with the right status. Internal details are logged,
//! never sent.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use engine::EngineError;
use serde_json::json;

/// An error response.
#[derive(Debug)]
pub struct ApiError {
    status: StatusCode,
    code: &'static str,
    message: String,
    details: Vec<String>,
}

impl ApiError {
    /// An error with a status, a stable code and a human message.
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        Self {
            status,
            code,
            message: message.into(),
            details: Vec::new(),
        }
    }

    /// The stable machine-readable code.
    pub fn code(&self) -> &'static str {
        self.code
    }

    /// 401: no valid session.
    pub fn unauthenticated() -> Self {
        Self::new(StatusCode::UNAUTHORIZED, "unauthenticated", "sign in first")
    }
}

impl From<EngineError> for ApiError {
    fn from(e: EngineError) -> Self {
        let status = StatusCode::from_u16(e.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        if status.is_server_error() {
            tracing::error!(error = ?e, "request failed");
            return Self::new(
                status,
                e.code(),
                "something went wrong on the server; it has been logged",
            );
        }
        let details = match &e {
            EngineError::BadRows(rows) => rows.clone(),
            _ => Vec::new(),
        };
        Self {
            status,
            code: e.code(),
            message: e.to_string(),
            details,
        }
    }
}

impl From<tower_sessions::session::Error> for ApiError {
    fn from(e: tower_sessions::session::Error) -> Self {
        tracing::error!(error = %e, "session store failed");
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "session",
            "the session store failed",
        )
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut body = json!({ "error": self.code, "message": self.message });
        if !self.details.is_empty() {
            body["details"] = json!(self.details);
        }
        (self.status, Json(body)).into_response()
    }
}
