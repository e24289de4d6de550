//! The JSON query API under `/api/v1`, described by the OpenAPI document it serves at
//! `/api/v1/openapi.json`, plus `/healthz`, `/readyz` and `/metrics`.
//!
//! Every API route is scoped to one project, chosen by the `x-tracehouse-key` (or
//! `authorization: Bearer`) header, or the open project when none are configured.
//! Errors are `{"error": {"message": …}}` with a 4xx/5xx status — also for parameters of the
//! wrong type, unknown routes and methods a route does not answer (see [`crate::extract`]).
//! Every route answers GET; saved views (`/api/v1/views/{name}`) and alert rules
//! (`/api/v1/alerts/{id}`) also PUT and DELETE, and `/api/v1/alerts` POST. Every query
//! route runs under the query deadline: past it the query is dropped (which cancels its work)
//! and the answer is a 503.
//!
//! One module per resource holds its handlers, its parameters and the JSON bodies it answers;
//! each handler carries its `#[utoipa::path]`, and [`openapi_json`] derives the document from
//! them and from the types' `ToSchema` (here, in `tracehouse-store-api` and in
//! `tracehouse-model`), so the document cannot drift from what the routes send.

mod alerts;
mod analysis;
mod compat;
mod doc;
mod errors;
mod failure;
mod keys;
mod logs;
mod ops;
mod otel_metrics;
mod params;
mod replay;
mod services;
mod sessions;
mod skew;
mod span_metrics;
mod spans;
mod traces;
mod typical;
mod views;

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, Uri, header};
use axum::middleware;
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post, put};
use tracehouse_store_api::Store;

pub use alerts::{AlertHistory, AlertList, AlertView};
pub use doc::openapi_json;
pub use errors::ErrorGroupDetail;
pub use failure::{ApiError, ErrorBody, ErrorDetail};
pub use keys::{KeyList, ValueList};
pub use logs::LogPage;
pub use ops::{Ready, ReadyStatus};
pub use replay::SessionReplay;
pub use sessions::SessionList;
pub use spans::SpanPage;
pub use traces::{TraceDetail, TracePage};
pub use views::ViewList;

use crate::metrics::Metrics;
use crate::projects::{Projects, key_from_headers};

/// State of the API routes.
#[derive(Clone)]
pub struct ApiState {
    /// Where spans are read from.
    pub store: Arc<dyn Store>,
    /// Key → project table.
    pub projects: Arc<Projects>,
    /// Server metrics.
    pub metrics: Arc<Metrics>,
    /// Longest a query route may run before it is dropped and answered 503.
    pub query_timeout: Duration,
}

/// The API, health and metrics router.
pub fn router(state: ApiState) -> Router {
    let queries = Router::new()
        .route("/api/v1/traces/{trace_id}", get(traces::get_trace))
        .route("/api/v1/traces/{trace_id}/stats", get(analysis::stats))
        .route("/api/v1/traces/compare", get(analysis::compare_traces))
        .route(
            "/api/v1/traces/{trace_id}/typical",
            get(typical::typical_trace),
        )
        .route("/api/v1/spans", get(spans::list_spans))
        .route("/api/v1/spans/search", get(spans::search_spans))
        .route("/api/v1/spans/histogram", get(spans::histogram))
        .route("/api/v1/traces/search", get(traces::search_traces))
        .route("/api/v1/traces/histogram", get(traces::histogram))
        .route("/api/v1/keys", get(keys::keys))
        .route("/api/v1/keys/{key}/values", get(keys::values))
        .route("/api/v1/logs/search", get(logs::search_logs))
        .route("/api/v1/logs/histogram", get(logs::log_histogram))
        .route("/api/v1/errors/groups", get(errors::error_groups))
        .route(
            "/api/v1/errors/groups/{fingerprint}",
            get(errors::error_group),
        )
        .route("/api/v1/sessions", get(sessions::sessions))
        .route("/api/v1/sessions/{session_id}", get(sessions::session))
        .route(
            "/api/v1/sessions/{session_id}/replay",
            get(replay::session_replay),
        )
        .merge(crate::zipkin::routes())
        .route("/api/v1/views", get(views::list))
        // One method per line (axum merges them), as the OpenAPI test reads the routes.
        .route("/api/v1/views/{name}", get(views::get_view))
        .route("/api/v1/views/{name}", put(views::save))
        .route("/api/v1/views/{name}", delete(views::delete))
        .route("/api/v1/alerts", get(alerts::list))
        .route("/api/v1/alerts", post(alerts::create))
        .route("/api/v1/alerts/{id}", get(alerts::get_alert))
        .route("/api/v1/alerts/{id}", put(alerts::replace))
        .route("/api/v1/alerts/{id}", delete(alerts::delete))
        .route("/api/v1/alerts/{id}/history", get(alerts::history))
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .route("/api/v1/metrics/spans", get(span_metrics::span_metrics))
        .route("/api/v1/metrics/names", get(otel_metrics::names))
        .route("/api/v1/metrics/query", get(otel_metrics::query))
        .route("/api/v1/metrics/{name}/labels", get(otel_metrics::labels))
        .route(
            "/api/v1/metrics/{name}/labels/{key}/values",
            get(otel_metrics::label_values_of),
        )
        .route("/api/v1/services", get(services::services))
        .route("/api/v1/services/graph", get(services::graph))
        .route(
            "/api/v1/services/{service}/operations",
            get(services::operations),
        )
        .route_layer(middleware::from_fn_with_state(
            state.query_timeout,
            crate::deadline::query_deadline,
        ));
    Router::new()
        .merge(queries)
        .merge(compat::router(state.query_timeout))
        .route("/api/v1/openapi.json", get(ops::openapi))
        .route("/healthz", get(ops::healthz))
        .route("/readyz", get(ops::readyz))
        .route("/metrics", get(ops::metrics))
        .fallback(|| async {
            ApiError::not_found(
                "no such route: see /api/v1/traces/{trace_id}, /api/v1/traces/{trace_id}/stats, \
                 /api/v1/traces/compare, /api/v1/spans, \
                 /api/v1/spans/search, /api/v1/traces/search, /api/v1/spans/histogram, \
                 /api/v1/traces/histogram, \
                 /api/v1/keys, /api/v1/keys/{key}/values, /api/v1/logs/search, \
                 /api/v1/logs/histogram, /api/v1/errors/groups, \
                 /api/v1/errors/groups/{fingerprint}, /api/v1/sessions, \
                 /api/v1/sessions/{session_id}, /api/v1/sessions/{session_id}/replay, \
                 /api/v1/views, /api/v1/views/{name}, /api/v1/alerts, /api/v1/alerts/{id}, \
                 /api/v1/alerts/{id}/history, /api/v1/metrics/spans, \
                 /api/v1/metrics/names, /api/v1/metrics/query, /api/v1/metrics/{name}/labels, \
                 /api/v1/metrics/{name}/labels/{key}/values, /api/v1/services, \
                 /api/v1/services/graph and /api/v1/services/{service}/operations, all \
                 described by /api/v1/openapi.json",
            )
        })
        .method_not_allowed_fallback(method_not_allowed)
        .with_state(state)
}

/// Largest request body the API reads (a saved view's or an alert rule's).
const MAX_BODY_BYTES: usize = 64 * 1024;

/// A known route asked with a method it does not answer: every route answers GET (and
/// HEAD); a saved view or an alert rule by id also PUT and DELETE, the alert rules POST.
async fn method_not_allowed(method: Method, uri: Uri) -> Response {
    let path = uri.path();
    let one = |prefix: &str| {
        path.strip_prefix(prefix)
            .is_some_and(|rest| !rest.is_empty() && !rest.contains('/'))
    };
    let (allow, say) = if one("/api/v1/views/") || one("/api/v1/alerts/") {
        ("GET,HEAD,PUT,DELETE", "use GET, PUT or DELETE")
    } else if path == "/api/v1/alerts" {
        ("GET,HEAD,POST", "use GET or POST")
    } else {
        ("GET,HEAD", "use GET")
    };
    let mut response = ApiError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        format!("method {method} is not allowed on {}: {say}", uri.path()),
    )
    .into_response();
    response
        .headers_mut()
        .insert(header::ALLOW, HeaderValue::from_static(allow));
    response
}

/// The project of a request, from its key.
pub(crate) fn project_of(state: &ApiState, headers: &HeaderMap) -> Result<String, ApiError> {
    let key = key_from_headers(
        headers.get(doc::KEY_HEADER).and_then(|v| v.to_str().ok()),
        headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok()),
    );
    Ok(state.projects.for_key(key)?)
}
