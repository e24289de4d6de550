//! The JSON query API under `/api/v1`, plus `/healthz`, `/readyz` and `/metrics`.
//!
//! Every API route is scoped to one project, chosen by the `x-tracehouse-key` (or
//! `authorization: Bearer`) header, or the open project when none are configured.
//! Errors are `{"error": {"message": …}}` with a 4xx/5xx status.

use std::sync::Arc;

use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::json;
use tracehouse_model::TraceId;
use tracehouse_query::ParseError;
use tracehouse_query::plan::resolve_key;
use tracehouse_query::plan::{CmpOp, Field, Filter, Intrinsic, Value};
use tracehouse_store::{
    HistogramQuery, KeysQuery, MAX_SEARCH_LIMIT, SearchCursor, SearchPage, SearchQuery, SearchSort,
    Store, StoreError, ValuesQuery,
};

use crate::metrics::Metrics;
use crate::projects::{AuthError, Projects, key_from_headers};
use crate::time::{now_ns, parse_time};

/// Default page size of span listings and searches.
const DEFAULT_LIMIT: usize = 100;
/// Default listing window: the last hour.
const DEFAULT_WINDOW_NS: i64 = 3_600_000_000_000;

/// State of the API routes.
#[derive(Clone)]
pub struct ApiState {
    /// Where spans are read from.
    pub store: Arc<dyn Store>,
    /// Key → project table.
    pub projects: Arc<Projects>,
    /// Server metrics.
    pub metrics: Arc<Metrics>,
}

/// An API failure rendered as a JSON error body.
#[derive(Debug)]
pub struct ApiError {
    status: StatusCode,
    message: String,
    /// Set for a query that does not parse: where and what was expected.
    parse: Option<ParseError>,
}

impl ApiError {
    fn new(status: StatusCode, message: impl Into<String>) -> ApiError {
        ApiError {
            status,
            message: message.into(),
            parse: None,
        }
    }

    fn bad_request(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::BAD_REQUEST, message)
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

impl From<AuthError> for ApiError {
    fn from(e: AuthError) -> Self {
        ApiError::new(StatusCode::UNAUTHORIZED, e.to_string())
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        let status = match &e {
            StoreError::InvalidArgument(_) => StatusCode::BAD_REQUEST,
            e if e.is_retryable() => StatusCode::SERVICE_UNAVAILABLE,
            _ => StatusCode::INTERNAL_SERVER_ERROR,
        };
        if status == StatusCode::INTERNAL_SERVER_ERROR {
            tracing::error!(error = %e, "query failed");
        }
        ApiError::new(status, e.to_string())
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = match self.parse {
            Some(p) => json!({"error": {
                "message": p.message,
                "start": p.start,
                "end": p.end,
                "expected": p.expected,
            }}),
            None => json!({"error": {"message": self.message}}),
        };
        (self.status, Json(body)).into_response()
    }
}

/// The API, health and metrics router.
pub fn router(state: ApiState) -> Router {
    Router::new()
        .route("/api/v1/traces/{trace_id}", get(get_trace))
        .route("/api/v1/spans", get(list_spans))
        .route("/api/v1/spans/search", get(search_spans))
        .route("/api/v1/spans/histogram", get(histogram))
        .route("/api/v1/traces/search", get(search_traces))
        .route("/api/v1/keys", get(keys))
        .route("/api/v1/keys/{key}/values", get(values))
        .route("/healthz", get(|| async { "ok" }))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics))
        .fallback(|| async {
            ApiError::new(
                StatusCode::NOT_FOUND,
                "no such route: see /api/v1/traces/{trace_id}, /api/v1/spans, \
                 /api/v1/spans/search, /api/v1/traces/search, /api/v1/spans/histogram, \
                 /api/v1/keys and /api/v1/keys/{key}/values",
            )
        })
        .with_state(state)
}

fn project_of(state: &ApiState, headers: &HeaderMap) -> Result<String, ApiError> {
    let key = key_from_headers(
        headers
            .get("x-tracehouse-key")
            .and_then(|v| v.to_str().ok()),
        headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok()),
    );
    Ok(state.projects.for_key(key)?)
}

async fn get_trace(
    State(state): State<ApiState>,
    headers: HeaderMap,
    Path(trace_id): Path<String>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let project = project_of(&state, &headers)?;
    let id: TraceId = trace_id.parse().map_err(|e| {
        ApiError::bad_request(format!(
            "invalid trace id {trace_id:?}: {e}; expected 32 hex characters"
        ))
    })?;
    let spans = state.store.trace(&project, id).await?;
    if spans.is_empty() {
        return Err(ApiError::new(
            StatusCode::NOT_FOUND,
            format!("trace {id} not found"),
        ));
    }
    Ok(Json(json!({"trace_id": id, "spans": spans})))
}

/// Query parameters of `GET /api/v1/spans`.
#[derive(Debug, Deserialize)]
struct ListParams {
    service: Option<String>,
    name: Option<String>,
    start: Option<String>,
    end: Option<String>,
    limit: Option<usize>,
    cursor: Option<String>,
}

/// The span listing is a search whose filter is built from its parameters.
async fn list_spans(
    State(state): State<ApiState>,
    headers: HeaderMap,
    Query(p): Query<ListParams>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let project = project_of(&state, &headers)?;
    let exact = |intrinsic: Intrinsic, value: Option<String>| {
        value.filter(|v| !v.is_empty()).map(|v| Filter::Cmp {
            field: Field::Intrinsic(intrinsic),
            op: CmpOp::Eq,
            value: Value::Str(v),
        })
    };
    let filters: Vec<Filter> = [
        exact(Intrinsic::ServiceName, p.service),
        exact(Intrinsic::SpanName, p.name),
    ]
    .into_iter()
    .flatten()
    .collect();
    let params = SearchParams {
        query: None,
        start: p.start,
        end: p.end,
        sort: None,
        limit: p.limit,
        cursor: p.cursor,
    };
    let mut q = search_query(project, &params)?;
    q.plan.pushdown = if filters.is_empty() {
        Filter::True
    } else {
        Filter::And(filters)
    };
    let page = state.store.search_spans(&q).await?;
    Ok(Json(spans_page(page)))
}

/// The `start`/`end` window of a request: RFC 3339 or ns, by default the last hour.
fn time_window(start: Option<&str>, end: Option<&str>) -> Result<(i64, i64), ApiError> {
    let end_ns = match end {
        Some(t) => parse_time(t).map_err(ApiError::bad_request)?,
        None => now_ns(),
    };
    let start_ns = match start {
        Some(t) => parse_time(t).map_err(ApiError::bad_request)?,
        None => end_ns.saturating_sub(DEFAULT_WINDOW_NS),
    };
    if start_ns >= end_ns {
        return Err(ApiError::bad_request("start must be before end"));
    }
    Ok((start_ns, end_ns))
}

/// Parses and plans the `query` parameter (empty: every span).
fn plan_query(query: Option<&str>) -> Result<tracehouse_query::Plan, ApiError> {
    let q = tracehouse_query::parse(query.unwrap_or(""))?;
    Ok(tracehouse_query::plan(&q))
}

/// Query parameters of the search endpoints.
#[derive(Debug, Deserialize)]
struct SearchParams {
    query: Option<String>,
    start: Option<String>,
    end: Option<String>,
    sort: Option<String>,
    limit: Option<usize>,
    cursor: Option<String>,
}

fn search_query(project_id: String, p: &SearchParams) -> Result<SearchQuery, ApiError> {
    let plan = plan_query(p.query.as_deref())?;
    let (start_ns, end_ns) = time_window(p.start.as_deref(), p.end.as_deref())?;
    let limit = bounded("limit", p.limit, DEFAULT_LIMIT, MAX_SEARCH_LIMIT)?;
    let sort: SearchSort = p.sort.as_deref().unwrap_or("").parse()?;
    let cursor = p
        .cursor
        .as_deref()
        .filter(|c| !c.is_empty())
        .map(str::parse::<SearchCursor>)
        .transpose()?;
    Ok(SearchQuery {
        project_id,
        plan,
        start_ns,
        end_ns,
        sort,
        limit,
        cursor,
    })
}

async fn search_spans(
    State(state): State<ApiState>,
    headers: HeaderMap,
    Query(p): Query<SearchParams>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let project = project_of(&state, &headers)?;
    let q = search_query(project, &p)?;
    let page = state.store.search_spans(&q).await?;
    Ok(Json(spans_page(page)))
}

/// The JSON body of a page of spans.
fn spans_page(page: SearchPage) -> serde_json::Value {
    json!({
        "spans": page.spans,
        "next_cursor": page.next_cursor.map(|c| c.to_string()),
        "candidates_truncated": page.candidates_truncated,
        "max_candidate_traces": tracehouse_store::MAX_CANDIDATE_TRACES,
    })
}

async fn search_traces(
    State(state): State<ApiState>,
    headers: HeaderMap,
    Query(p): Query<SearchParams>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let project = project_of(&state, &headers)?;
    let q = search_query(project, &p)?;
    let page = state.store.search_traces(&q).await?;
    Ok(Json(json!({
        "traces": page.traces,
        "next_cursor": page.next_cursor.map(|c| c.to_string()),
        "candidates_truncated": page.candidates_truncated,
        "max_candidate_traces": tracehouse_store::MAX_CANDIDATE_TRACES,
    })))
}

/// Query parameters of `GET /api/v1/spans/histogram`.
#[derive(Debug, Deserialize)]
struct HistogramParams {
    query: Option<String>,
    start: Option<String>,
    end: Option<String>,
    buckets: Option<usize>,
}

/// Default and maximum histogram buckets.
const DEFAULT_BUCKETS: usize = 60;
const MAX_BUCKETS: usize = 1000;

async fn histogram(
    State(state): State<ApiState>,
    headers: HeaderMap,
    Query(p): Query<HistogramParams>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let project_id = project_of(&state, &headers)?;
    let plan = plan_query(p.query.as_deref())?;
    let (start_ns, end_ns) = time_window(p.start.as_deref(), p.end.as_deref())?;
    let buckets = bounded("buckets", p.buckets, DEFAULT_BUCKETS, MAX_BUCKETS)?;
    let h = state
        .store
        .histogram(&HistogramQuery {
            project_id,
            plan,
            start_ns,
            end_ns,
            buckets,
        })
        .await?;
    Ok(Json(json!({
        "width_ns": h.width_ns,
        "buckets": h.buckets,
        "candidates_truncated": h.candidates_truncated,
    })))
}

/// Query parameters of the autocomplete endpoints.
#[derive(Debug, Deserialize)]
struct KeyParams {
    prefix: Option<String>,
    start: Option<String>,
    end: Option<String>,
    limit: Option<usize>,
}

/// Default and maximum number of keys or values returned.
const DEFAULT_KEYS: usize = 100;
const MAX_KEYS: usize = 1000;

/// A count parameter: `default` when absent, refused outside `1..=max`.
fn bounded(
    name: &str,
    value: Option<usize>,
    default: usize,
    max: usize,
) -> Result<usize, ApiError> {
    match value.unwrap_or(default) {
        n if (1..=max).contains(&n) => Ok(n),
        _ => Err(ApiError::bad_request(format!(
            "{name} must be between 1 and {max}"
        ))),
    }
}

async fn keys(
    State(state): State<ApiState>,
    headers: HeaderMap,
    Query(p): Query<KeyParams>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let project_id = project_of(&state, &headers)?;
    let (start_ns, end_ns) = time_window(p.start.as_deref(), p.end.as_deref())?;
    let keys = state
        .store
        .keys(&KeysQuery {
            project_id,
            start_ns,
            end_ns,
            prefix: p.prefix.unwrap_or_default(),
            limit: bounded("limit", p.limit, DEFAULT_KEYS, MAX_KEYS)?,
        })
        .await?;
    Ok(Json(json!({ "keys": keys })))
}

async fn values(
    State(state): State<ApiState>,
    headers: HeaderMap,
    Path(key): Path<String>,
    Query(p): Query<KeyParams>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let project_id = project_of(&state, &headers)?;
    let (start_ns, end_ns) = time_window(p.start.as_deref(), p.end.as_deref())?;
    let values = state
        .store
        .values(&ValuesQuery {
            project_id,
            field: resolve_key(&key, tracehouse_query::plan::Target::Spans),
            start_ns,
            end_ns,
            prefix: p.prefix.unwrap_or_default(),
            limit: bounded("limit", p.limit, DEFAULT_KEYS, MAX_KEYS)?,
        })
        .await?;
    Ok(Json(json!({ "key": key, "values": values })))
}

async fn readyz(State(state): State<ApiState>) -> Response {
    // The store answers stats only while it is open and its writer is alive.
    let stats = state.store.stats();
    Json(json!({"status": "ready", "memtable_rows": stats.memtable_rows, "parts": stats.parts}))
        .into_response()
}

async fn metrics(State(state): State<ApiState>) -> Response {
    (
        [(
            header::CONTENT_TYPE,
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
        )],
        state.metrics.encode(),
    )
        .into_response()
}
