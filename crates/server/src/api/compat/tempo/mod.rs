//! Grafana Tempo's query API under `/tempo` (point Grafana's Tempo data source at
//! `http://<host>:<api port>/tempo`): echo and build information, trace by id (v1 and v2,
//! protobuf or JSON), TraceQL and tag search, tag names and values, TraceQL metrics. Parameters and answers
//! follow Tempo's HTTP API documentation and `tempo.proto`; failures are plain text.

mod metrics;
mod params;
mod search;
mod tags;
mod trace;

use axum::Json;
use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, header};
use axum::response::IntoResponse;
use axum::routing::get;
use serde_json::{Value, json};

use super::{TextError, project};
use crate::api::ApiState;

/// The Tempo release whose API these routes answer: Grafana enables features by it.
const TEMPO_API_VERSION: &str = "2.7.0";

pub(super) fn router() -> Router<ApiState> {
    Router::new()
        .route("/api/echo", get(echo))
        .route("/api/status/buildinfo", get(buildinfo))
        .route("/api/traces/{trace_id}", get(trace::trace_v1))
        .route("/api/v2/traces/{trace_id}", get(trace::trace_v2))
        .route("/api/search", get(search::search))
        .route("/api/search/tags", get(tags::tags_v1))
        .route("/api/v2/search/tags", get(tags::tags_v2))
        .route("/api/search/tag/{tag}/values", get(tags::values_v1))
        .route("/api/v2/search/tag/{tag}/values", get(tags::values_v2))
        .route("/api/metrics/query_range", get(metrics::query_range))
        .route("/api/metrics/query", get(metrics::query_instant))
}

/// `GET /api/echo`: what Grafana's "Save & test" calls; the key must give read access.
async fn echo(
    State(state): State<ApiState>,
    headers: HeaderMap,
) -> Result<impl IntoResponse, TextError> {
    project(&state, &headers)?;
    Ok((
        [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
        "echo",
    ))
}

/// `GET /api/status/buildinfo`: the Tempo API version answered, and this server's own.
async fn buildinfo(
    State(state): State<ApiState>,
    headers: HeaderMap,
) -> Result<Json<Value>, TextError> {
    project(&state, &headers)?;
    Ok(Json(json!({
        "version": TEMPO_API_VERSION,
        "revision": concat!("tracehouse-", env!("CARGO_PKG_VERSION")),
        "branch": "",
        "buildUser": "",
        "buildDate": "",
        "goVersion": "",
    })))
}
