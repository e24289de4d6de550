//! Operations, open without a project key: liveness, readiness, metrics and the OpenAPI
//! document itself.

use std::sync::LazyLock;

use axum::Json;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use tracehouse_store_api::QuarantinedPart;
use utoipa::ToSchema;

use super::{ApiError, ApiState};

/// The content type of `/metrics`.
const OPENMETRICS: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// Whether the store takes writes and keeps flushing them, and what damage it set aside.
#[derive(Debug, Serialize, ToSchema)]
pub struct Ready {
    /// The verdict.
    pub status: ReadyStatus,
    /// Why writes are refused right now, per table (for example a full disk); they resume by
    /// themselves.
    pub write_failures: Vec<String>,
    /// Why the last flush of a table failed; retried in the background.
    pub flush_failures: Vec<String>,
    /// Damaged parts moved to quarantine/ under their table's directory (see `tracehouse
    /// check`): their rows are not served.
    pub quarantined: Vec<QuarantinedPart>,
}

/// `ready`; `degraded` when damaged parts were quarantined (their rows are not served);
/// `unavailable` (status 503) while writes are refused or flushes fail.
#[derive(Debug, Clone, Copy, Serialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum ReadyStatus {
    /// Takes writes and flushes them.
    Ready,
    /// Ready, with damaged parts set aside.
    Degraded,
    /// Refuses writes or fails to flush.
    Unavailable,
}

/// Liveness
///
/// Answers `ok` while the process serves requests; needs no project key.
#[utoipa::path(
    get,
    path = "/healthz",
    operation_id = "healthz",
    tag = "operations",
    security(()),
    responses((status = 200, description = "Alive.", body = String, content_type = "text/plain", example = "ok")),
)]
pub(super) async fn healthz() -> &'static str {
    "ok"
}

/// Readiness
///
/// Answers 200 while the store takes writes and flushes them (`degraded` when damaged parts
/// were quarantined), 503 while writes are refused or flushes fail; needs no project key.
#[utoipa::path(
    get,
    path = "/readyz",
    operation_id = "readyz",
    tag = "operations",
    security(()),
    responses(
        (status = 200, description = "Ready (or degraded).", body = Ready),
        (status = 503, description = "Writes are refused or flushes are failing; the body says why.", body = Ready),
    ),
)]
pub(super) async fn readyz(State(state): State<ApiState>) -> (StatusCode, Json<Ready>) {
    let health = state.store.health();
    let (code, status) = match (health.is_ready(), health.quarantined.is_empty()) {
        (false, _) => (StatusCode::SERVICE_UNAVAILABLE, ReadyStatus::Unavailable),
        (true, false) => (StatusCode::OK, ReadyStatus::Degraded),
        (true, true) => (StatusCode::OK, ReadyStatus::Ready),
    };
    let body = Ready {
        status,
        write_failures: health.write_failures,
        flush_failures: health.flush_failures,
        quarantined: health.quarantined,
    };
    (code, Json(body))
}

/// Server metrics
///
/// Ingest, query and storage metrics in the OpenMetrics text format; needs no project key.
#[utoipa::path(
    get,
    path = "/metrics",
    operation_id = "metrics",
    tag = "operations",
    security(()),
    responses((status = 200, description = "The metrics.", body = String, content_type = "application/openmetrics-text; version=1.0.0; charset=utf-8")),
)]
pub(super) async fn metrics(State(state): State<ApiState>) -> Response {
    (
        [(header::CONTENT_TYPE, OPENMETRICS)],
        state.metrics.encode(),
    )
        .into_response()
}

/// The document, rendered once.
static DOCUMENT: LazyLock<Result<String, serde_json::Error>> =
    LazyLock::new(super::doc::openapi_json);

/// This document
///
/// The OpenAPI description of the JSON API; needs no project key.
#[utoipa::path(
    get,
    path = "/api/v1/openapi.json",
    operation_id = "getOpenApi",
    tag = "operations",
    security(()),
    responses((status = 200, description = "The document.", body = Object)),
)]
pub(super) async fn openapi() -> Response {
    match DOCUMENT.as_ref() {
        Ok(doc) => ([(header::CONTENT_TYPE, "application/json")], doc.as_str()).into_response(),
        Err(e) => ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            format!("the OpenAPI document does not serialize: {e}"),
        )
        .into_response(),
    }
}
