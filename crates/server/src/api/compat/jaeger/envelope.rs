//! Jaeger's response envelope `{data, total, limit, offset, errors}`, for answers and for
//! failures (which, as Jaeger's `http.Error` sends them, are that JSON in a text/plain body
//! with the failure's status).

use axum::Json;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};
use tracehouse_store_api::StoreError;

use super::super::TextError;
use crate::projects::AuthError;

/// An answer: `data` and its `total` (Jaeger fills `total` for lists of names only).
pub(super) fn envelope(data: Value, total: usize) -> Json<Value> {
    Json(json!({ "data": data, "total": total, "limit": 0, "offset": 0, "errors": null }))
}

/// Traces with the ids that were asked for and not found.
pub(super) fn with_missing(data: Value, missing: &[String]) -> Json<Value> {
    let errors: Vec<Value> = missing
        .iter()
        .map(|id| json!({ "msg": "trace not found", "traceID": id }))
        .collect();
    let errors = if errors.is_empty() {
        Value::Null
    } else {
        json!(errors)
    };
    Json(json!({ "data": data, "total": 0, "limit": 0, "offset": 0, "errors": errors }))
}

/// A failure in the envelope.
#[derive(Debug)]
pub(crate) struct JaegerError(TextError);

impl JaegerError {
    pub(super) fn bad_request(message: impl Into<String>) -> JaegerError {
        JaegerError(TextError::bad_request(message))
    }

    pub(super) fn not_found(message: impl Into<String>) -> JaegerError {
        JaegerError(TextError::not_found(message))
    }
}

impl JaegerError {
    /// The failure without its envelope.
    pub(super) fn into_text(self) -> TextError {
        self.0
    }
}

impl From<TextError> for JaegerError {
    fn from(e: TextError) -> Self {
        JaegerError(e)
    }
}

impl From<StoreError> for JaegerError {
    fn from(e: StoreError) -> Self {
        JaegerError(e.into())
    }
}

impl From<AuthError> for JaegerError {
    fn from(e: AuthError) -> Self {
        JaegerError(e.into())
    }
}

impl IntoResponse for JaegerError {
    fn into_response(self) -> Response {
        let TextError { status, message } = self.0;
        let body = json!({
            "data": null,
            "total": 0,
            "limit": 0,
            "offset": 0,
            "errors": [{ "code": status.as_u16(), "msg": message }],
        });
        (
            status,
            [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
            format!("{body}\n"),
        )
            .into_response()
    }
}
