//! The Cloudflare v4 response envelope and the API error type that renders into it.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Serialize;
use serde_json::{json, Value};

/// A successful v4 answer: `{result, result_info, success: true, errors: [], messages: []}`.
pub fn ok<T: Serialize>(result: T) -> Response {
    Json(json!({
        "result": result,
        "result_info": null,
        "success": true,
        "errors": [],
        "messages": [],
    }))
    .into_response()
}

/// A successful v4 answer carrying `result_info` (list routes).
pub fn ok_with_info<T: Serialize>(result: T, info: Value) -> Response {
    Json(json!({
        "result": result,
        "result_info": info,
        "success": true,
        "errors": [],
        "messages": [],
    }))
    .into_response()
}

/// An error answered in the v4 envelope with Cloudflare's numeric code.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{code}: {message}")]
pub struct ApiError {
    /// HTTP status of the answer.
    pub status: StatusCode,
    /// Cloudflare's error code (5400, 5404, 5413, …).
    pub code: u32,
    /// Human-readable explanation, specific to what was wrong.
    pub message: String,
}

impl ApiError {
    /// An error with any status and code.
    pub fn new(status: StatusCode, code: u32, message: impl Into<String>) -> Self {
        Self {
            status,
            code,
            message: message.into(),
        }
    }
    /// 400 / 5400: the request is malformed or breaks a documented rule.
    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, 5400, message)
    }
    /// 404 / 5404: no such image (or variant).
    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, 5404, message)
    }
    /// 409 / 5409: the resource already exists.
    pub fn conflict(message: impl Into<String>) -> Self {
        Self::new(StatusCode::CONFLICT, 5409, message)
    }
    /// 413 / 5413: over the 10 MB limit.
    pub fn too_large() -> Self {
        Self::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            5413,
            "Maximum image size of 10 MB (10485760 bytes) reached",
        )
    }
    /// 415 / 5455: the bytes are not an image format the service accepts.
    pub fn unsupported(message: impl Into<String>) -> Self {
        Self::new(StatusCode::UNSUPPORTED_MEDIA_TYPE, 5455, message)
    }
    /// 500 / 5500: something failed inside the service; the detail is logged, not hidden.
    pub fn internal(message: impl Into<String>) -> Self {
        let message = message.into();
        tracing::error!(%message, "internal error");
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            5500,
            format!("Internal error: {message}"),
        )
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = json!({
            "result": null,
            "success": false,
            "errors": [{"code": self.code, "message": self.message}],
            "messages": [],
        });
        (self.status, Json(body)).into_response()
    }
}

impl From<crate::store::StoreError> for ApiError {
    fn from(error: crate::store::StoreError) -> Self {
        use crate::store::StoreError;
        match error {
            StoreError::ImageExists(_) | StoreError::VariantExists(_) => {
                ApiError::conflict(error.to_string())
            }
            StoreError::Database(_) | StoreError::Io(_) => ApiError::internal(error.to_string()),
        }
    }
}

impl From<rusqlite::Error> for ApiError {
    fn from(error: rusqlite::Error) -> Self {
        ApiError::internal(format!("database: {error}"))
    }
}

impl From<std::io::Error> for ApiError {
    fn from(error: std::io::Error) -> Self {
        ApiError::internal(format!("storage: {error}"))
    }
}

/// Result type of every handler.
pub type ApiResult<T = Response> = Result<T, ApiError>;
