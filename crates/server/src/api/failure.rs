//! How the API fails: [`ApiError`], rendered as the JSON [`ErrorBody`] with a 4xx/5xx status,
//! and the failures every query route may answer ([`QueryFailures`]), described once as
//! reusable responses of the document.

use std::collections::BTreeMap;

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use tracehouse_query::ParseError;
use tracehouse_store_api::StoreError;
use utoipa::openapi::{Ref, RefOr, ResponseBuilder, content::ContentBuilder};
use utoipa::{IntoResponses, ToSchema};

use crate::projects::AuthError;

/// An API failure rendered as a JSON error body.
#[derive(Debug)]
pub struct ApiError {
    status: StatusCode,
    message: String,
    /// Set for a query that does not parse: where and what was expected.
    parse: Option<ParseError>,
}

impl ApiError {
    /// An error with this status and message.
    pub(crate) fn new(status: StatusCode, message: impl Into<String>) -> ApiError {
        ApiError {
            status,
            message: message.into(),
            parse: None,
        }
    }

    pub(super) fn bad_request(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::BAD_REQUEST, message)
    }

    pub(super) fn not_found(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::NOT_FOUND, message)
    }

    /// The status and message, for the compatibility APIs that answer in their own shape.
    pub(crate) fn into_parts(self) -> (StatusCode, String) {
        (self.status, self.message)
    }
}

impl From<ParseError> for ApiError {
    fn from(e: ParseError) -> Self {
        ApiError {
            status: StatusCode::BAD_REQUEST,
            message: e.message.clone(),
            parse: Some(e),
        }
    }
}

/// The status a key that does not give read access answers.
pub(super) fn auth_status(e: &AuthError) -> StatusCode {
    match e {
        AuthError::WriteOnly => StatusCode::FORBIDDEN,
        AuthError::Missing | AuthError::Unknown => StatusCode::UNAUTHORIZED,
    }
}

/// The status a store failure answers; the server's own failures are logged here.
pub(super) fn store_status(e: &StoreError) -> StatusCode {
    let status = match e {
        StoreError::InvalidArgument(_) => StatusCode::BAD_REQUEST,
        e if e.is_retryable() => StatusCode::SERVICE_UNAVAILABLE,
        _ => StatusCode::INTERNAL_SERVER_ERROR,
    };
    if status == StatusCode::INTERNAL_SERVER_ERROR {
        tracing::error!(error = %e, "query failed");
    }
    status
}

impl From<AuthError> for ApiError {
    fn from(e: AuthError) -> Self {
        ApiError::new(auth_status(&e), e.to_string())
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        ApiError::new(store_status(&e), e.to_string())
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let error = match self.parse {
            Some(p) => ErrorDetail {
                message: p.message,
                start: Some(p.start),
                end: Some(p.end),
                expected: Some(p.expected),
            },
            None => ErrorDetail {
                message: self.message,
                start: None,
                end: None,
                expected: None,
            },
        };
        (self.status, Json(ErrorBody { error })).into_response()
    }
}

/// Every API failure. `start`, `end` and `expected` are present only when `query` does not
/// parse.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = Error)]
pub struct ErrorBody {
    /// The failure.
    pub error: ErrorDetail,
}

/// What went wrong. The parse fields are left out, never `null`, when they do not apply.
#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorDetail {
    /// What went wrong, phrased for the person who sent the request.
    pub message: String,
    /// Query parse errors only: byte offset in `query` where the offending text starts.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub start: Option<usize>,
    /// Query parse errors only: byte offset just past it.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub end: Option<usize>,
    /// Query parse errors only: what the parser would have accepted there.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub expected: Option<Vec<String>>,
}

/// The failures every query route may answer, as references to the reusable responses of
/// [`responses`].
pub(super) struct QueryFailures;

/// Status, name and description of the reusable failure responses.
const FAILURES: [(&str, &str, &str); 5] = [
    (
        "400",
        "BadRequest",
        "A parameter is invalid: a time that does not parse, `start` not before `end`, a count \
         out of range, an unknown sort, a bad cursor or id, or a query that does not parse \
         (then `start`, `end` and `expected` locate the problem). A parameter of the wrong type \
         (`limit=abc`, `buckets=-1`, a number too large) is a 400 with the same body.",
    ),
    (
        "401",
        "Unauthorized",
        "Projects are configured and the request has no project key, or an unknown one.",
    ),
    (
        "403",
        "Forbidden",
        "The key is a project's browser key, which can only send data: read with one of the \
         project's keys.",
    ),
    (
        "500",
        "InternalError",
        "The query failed unexpectedly (logged by the server).",
    ),
    (
        "503",
        "ServiceUnavailable",
        "The store is overloaded, closing or failed to read, or the query ran past the query \
         deadline (`--query-timeout`, default 30 s) and was cancelled: retry later, or narrow \
         the time range or the query.",
    ),
];

impl IntoResponses for QueryFailures {
    fn responses() -> BTreeMap<String, RefOr<utoipa::openapi::Response>> {
        FAILURES
            .iter()
            .map(|(status, name, _)| {
                let to = Ref::new(format!("#/components/responses/{name}"));
                (status.to_string(), to.into())
            })
            .collect()
    }
}

/// The reusable failure responses, by name, for the document's components.
pub(super) fn responses() -> impl Iterator<Item = (&'static str, utoipa::openapi::Response)> {
    FAILURES.iter().map(|(_, name, description)| {
        let body = ContentBuilder::new()
            .schema(Some(Ref::from_schema_name(ErrorBody::name())))
            .build();
        let response = ResponseBuilder::new()
            .description(*description)
            .content("application/json", body)
            .build();
        (*name, response)
    })
}
