//! Failures as Tempo answers them: a status and a plain-text body.

use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use tracehouse_query::ParseError;
use tracehouse_store_api::StoreError;

use super::super::failure::{auth_status, store_status};
use crate::projects::AuthError;

/// A failure with a plain-text explanation.
#[derive(Debug)]
pub(crate) struct TextError {
    pub(super) status: StatusCode,
    pub(super) message: String,
}

impl TextError {
    /// A 400 saying what is wrong with the request.
    pub(super) fn bad_request(message: impl Into<String>) -> TextError {
        TextError {
            status: StatusCode::BAD_REQUEST,
            message: message.into(),
        }
    }

    /// A 404.
    pub(super) fn not_found(message: impl Into<String>) -> TextError {
        TextError {
            status: StatusCode::NOT_FOUND,
            message: message.into(),
        }
    }

    /// A 400 for a query that does not parse, with where.
    pub(super) fn query(e: &ParseError) -> TextError {
        let expected = if e.expected.is_empty() {
            String::new()
        } else {
            format!("; expected {}", e.expected.join(", "))
        };
        TextError::bad_request(format!(
            "invalid TraceQL query: {} at bytes {}..{}{expected}",
            e.message, e.start, e.end
        ))
    }
}

impl From<StoreError> for TextError {
    fn from(e: StoreError) -> Self {
        TextError {
            status: store_status(&e),
            message: e.to_string(),
        }
    }
}

impl From<AuthError> for TextError {
    fn from(e: AuthError) -> Self {
        TextError {
            status: auth_status(&e),
            message: e.to_string(),
        }
    }
}

impl IntoResponse for TextError {
    fn into_response(self) -> Response {
        (
            self.status,
            [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
            self.message,
        )
            .into_response()
    }
}
