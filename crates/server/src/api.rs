//! The JSON query API under `/api/v1` (described by `/api/v1/openapi.json`), plus
//! `/healthz`, `/readyz` and `/metrics`.
//!
//! Every API route is scoped to one project, chosen by the `x-tracehouse-key` (or
//! `authorization: Bearer`) header, or the open project when none are configured.
//! Errors are `{"error": {"message": …}}` with a 4xx/5xx status — also for parameters of the
//! wrong type, unknown routes and methods other than GET (see [`crate::extract`]). Every query
//! route runs under the query deadline: past it the query is dropped (which cancels its work)
//! and the answer is a 503.

use std::sync::Arc;
use std::time::Duration;

use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, Uri, header};
use axum::middleware;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::json;
use tracehouse_model::TraceId;
use tracehouse_query::plan::resolve_key;
use tracehouse_query::plan::{CmpOp, Field, Filter, Intrinsic, Value};
use tracehouse_query::{ParseError, Plan, Target, plan_for};
use tracehouse_store_api::{
    ErrorGroupsQuery, ErrorQuery, HistogramQuery, KeysQuery, MAX_SEARCH_LIMIT, SearchCursor,
    SearchPage, SearchQuery, SearchSort, SessionsQuery, Store, StoreError, ValuesQuery,
};

use crate::extract::{Path, Query};
use crate::metrics::Metrics;
use crate::projects::{AuthError, Projects, key_from_headers};
use crate::time::{now_ns, parse_time};

/// Default page size of span listings and searches.
const DEFAULT_LIMIT: usize = 100;
/// Default listing window: the last hour.
const DEFAULT_WINDOW_NS: i64 = 3_600_000_000_000;
/// Default window of a session's page: the last day (sessions outlive the hour).
const SESSION_WINDOW_NS: i64 = 24 * DEFAULT_WINDOW_NS;
/// Default number of error groups listed.
const DEFAULT_GROUPS: usize = 50;
/// Default number of trend buckets of an error group.
const DEFAULT_TREND_BUCKETS: usize = 24;

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

    fn bad_request(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::BAD_REQUEST, message)
    }

    fn not_found(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::NOT_FOUND, message)
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
    let queries = Router::new()
        .route("/api/v1/traces/{trace_id}", get(get_trace))
        .route("/api/v1/spans", get(list_spans))
        .route("/api/v1/spans/search", get(search_spans))
        .route("/api/v1/spans/histogram", get(histogram))
        .route("/api/v1/traces/search", get(search_traces))
        .route("/api/v1/keys", get(keys))
        .route("/api/v1/keys/{key}/values", get(values))
        .route("/api/v1/logs/search", get(search_logs))
        .route("/api/v1/logs/histogram", get(log_histogram))
        .route("/api/v1/errors/groups", get(error_groups))
        .route("/api/v1/errors/groups/{fingerprint}", get(error_group))
        .route("/api/v1/sessions", get(sessions))
        .route("/api/v1/sessions/{session_id}", get(session))
        .route_layer(middleware::from_fn_with_state(
            state.query_timeout,
            crate::deadline::query_deadline,
        ));
    Router::new()
        .merge(queries)
        .route("/api/v1/openapi.json", get(openapi))
        .route("/healthz", get(|| async { "ok" }))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics))
        .fallback(|| async {
            ApiError::not_found(
                "no such route: see /api/v1/traces/{trace_id}, /api/v1/spans, \
                 /api/v1/spans/search, /api/v1/traces/search, /api/v1/spans/histogram, \
                 /api/v1/keys, /api/v1/keys/{key}/values, /api/v1/logs/search, \
                 /api/v1/logs/histogram, /api/v1/errors/groups, \
                 /api/v1/errors/groups/{fingerprint}, /api/v1/sessions and \
                 /api/v1/sessions/{session_id}, all described by /api/v1/openapi.json",
            )
        })
        .method_not_allowed_fallback(method_not_allowed)
        .with_state(state)
}

/// A known route asked with another method than GET (or HEAD).
async fn method_not_allowed(method: Method, uri: Uri) -> Response {
    let mut response = ApiError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        format!(
            "method {method} is not allowed on {}: the API is read-only, use GET",
            uri.path()
        ),
    )
    .into_response();
    response
        .headers_mut()
        .insert(header::ALLOW, HeaderValue::from_static("GET,HEAD"));
    response
}

/// The OpenAPI 3.1 description of these routes (`crates/server/openapi.json`).
pub const OPENAPI_JSON: &str = include_str!("../openapi.json");

/// Serves [`OPENAPI_JSON`]; needs no project key.
async fn openapi() -> Response {
    ([(header::CONTENT_TYPE, "application/json")], OPENAPI_JSON).into_response()
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
    let errors = ErrorQuery {
        project_id: project.clone(),
        start_ns: i64::MIN,
        end_ns: i64::MAX,
        trace_id: Some(id),
        limit: MAX_SEARCH_LIMIT,
        ..Default::default()
    };
    let (spans, logs, mut errors) = futures::try_join!(
        state.store.trace(&project, id),
        state.store.trace_logs(&project, id),
        state.store.errors(&errors),
    )?;
    if spans.is_empty() {
        return Err(ApiError::not_found(format!("trace {id} not found")));
    }
    // The store lists occurrences newest first; a trace reads oldest first.
    errors.reverse();
    Ok(Json(
        json!({"trace_id": id, "spans": spans, "logs": logs, "errors": errors}),
    ))
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
    let mut q = search_query(project, &params, Target::Spans)?;
    q.plan.pushdown = if filters.is_empty() {
        Filter::True
    } else {
        Filter::And(filters)
    };
    let page = state.store.search_spans(&q).await?;
    Ok(Json(spans_page(page)))
}

/// The `start`/`end` window of a request: RFC 3339 or ns; `end` defaults to now and `start`
/// to `default_ns` before `end`.
fn time_window(
    start: Option<&str>,
    end: Option<&str>,
    default_ns: i64,
) -> Result<(i64, i64), ApiError> {
    let end_ns = match end {
        Some(t) => parse_time(t).map_err(ApiError::bad_request)?,
        None => now_ns(),
    };
    let start_ns = match start {
        Some(t) => parse_time(t).map_err(ApiError::bad_request)?,
        None => end_ns.saturating_sub(default_ns),
    };
    if start_ns >= end_ns {
        return Err(ApiError::bad_request("start must be before end"));
    }
    Ok((start_ns, end_ns))
}

/// Parses and plans the `query` parameter (empty: everything) for spans or logs. What a
/// plan cannot do on its target (structure on logs) the store refuses as a bad request.
fn plan_query(query: Option<&str>, target: Target) -> Result<Plan, ApiError> {
    let q = tracehouse_query::parse(query.unwrap_or(""))?;
    Ok(plan_for(&q, target))
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

/// [`SearchParams`] checked and planned for spans (span and trace search) or logs.
fn search_query(
    project_id: String,
    p: &SearchParams,
    target: Target,
) -> Result<SearchQuery, ApiError> {
    let plan = plan_query(p.query.as_deref(), target)?;
    let (start_ns, end_ns) = time_window(p.start.as_deref(), p.end.as_deref(), DEFAULT_WINDOW_NS)?;
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
    let q = search_query(project, &p, Target::Spans)?;
    let page = state.store.search_spans(&q).await?;
    Ok(Json(spans_page(page)))
}

/// The JSON body of a page of spans.
fn spans_page(page: SearchPage) -> serde_json::Value {
    json!({
        "spans": page.spans,
        "next_cursor": page.next_cursor.map(|c| c.to_string()),
        "candidates_truncated": page.candidates_truncated,
        "max_candidate_traces": tracehouse_store_api::MAX_CANDIDATE_TRACES,
    })
}

async fn search_traces(
    State(state): State<ApiState>,
    headers: HeaderMap,
    Query(p): Query<SearchParams>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let project = project_of(&state, &headers)?;
    let q = search_query(project, &p, Target::Spans)?;
    let page = state.store.search_traces(&q).await?;
    Ok(Json(json!({
        "traces": page.traces,
        "next_cursor": page.next_cursor.map(|c| c.to_string()),
        "candidates_truncated": page.candidates_truncated,
        "max_candidate_traces": tracehouse_store_api::MAX_CANDIDATE_TRACES,
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

/// The histogram request of spans or logs.
fn histogram_query(
    project_id: String,
    p: &HistogramParams,
    target: Target,
) -> Result<HistogramQuery, ApiError> {
    let plan = plan_query(p.query.as_deref(), target)?;
    let (start_ns, end_ns) = time_window(p.start.as_deref(), p.end.as_deref(), DEFAULT_WINDOW_NS)?;
    Ok(HistogramQuery {
        project_id,
        plan,
        start_ns,
        end_ns,
        buckets: bounded("buckets", p.buckets, DEFAULT_BUCKETS, MAX_BUCKETS)?,
    })
}

async fn histogram(
    State(state): State<ApiState>,
    headers: HeaderMap,
    Query(p): Query<HistogramParams>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let project_id = project_of(&state, &headers)?;
    let q = histogram_query(project_id, &p, Target::Spans)?;
    let h = state.store.histogram(&q).await?;
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
    target: Option<String>,
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

/// The `target` parameter of the autocomplete routes: `spans` (default) or `logs`.
fn target_of(text: Option<&str>) -> Result<Target, ApiError> {
    match text.unwrap_or("spans") {
        "" | "spans" => Ok(Target::Spans),
        "logs" => Ok(Target::Logs),
        other => Err(ApiError::bad_request(format!(
            "unknown target {other:?}: use spans or logs"
        ))),
    }
}

async fn keys(
    State(state): State<ApiState>,
    headers: HeaderMap,
    Query(p): Query<KeyParams>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let project_id = project_of(&state, &headers)?;
    let (start_ns, end_ns) = time_window(p.start.as_deref(), p.end.as_deref(), DEFAULT_WINDOW_NS)?;
    let keys = state
        .store
        .keys(&KeysQuery {
            project_id,
            target: target_of(p.target.as_deref())?,
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
    let (start_ns, end_ns) = time_window(p.start.as_deref(), p.end.as_deref(), DEFAULT_WINDOW_NS)?;
    let target = target_of(p.target.as_deref())?;
    let values = state
        .store
        .values(&ValuesQuery {
            project_id,
            target,
            field: resolve_key(&key, target),
            start_ns,
            end_ns,
            prefix: p.prefix.unwrap_or_default(),
            limit: bounded("limit", p.limit, DEFAULT_KEYS, MAX_KEYS)?,
        })
        .await?;
    Ok(Json(json!({ "key": key, "values": values })))
}

async fn search_logs(
    State(state): State<ApiState>,
    headers: HeaderMap,
    Query(p): Query<SearchParams>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let project = project_of(&state, &headers)?;
    let q = search_query(project, &p, Target::Logs)?;
    let page = state.store.search_logs(&q).await?;
    Ok(Json(json!({
        "logs": page.logs,
        "next_cursor": page.next_cursor.map(|c| c.to_string()),
    })))
}

async fn log_histogram(
    State(state): State<ApiState>,
    headers: HeaderMap,
    Query(p): Query<HistogramParams>,
) -> Result<Json<tracehouse_store_api::LogHistogram>, ApiError> {
    let project_id = project_of(&state, &headers)?;
    let q = histogram_query(project_id, &p, Target::Logs)?;
    Ok(Json(state.store.log_histogram(&q).await?))
}

/// Query parameters of the error group routes (`text` only filters the listing).
#[derive(Debug, Deserialize)]
struct ErrorParams {
    start: Option<String>,
    end: Option<String>,
    text: Option<String>,
    limit: Option<usize>,
    buckets: Option<usize>,
}

/// The error groups request of a listing (all groups) or of one group's page.
fn groups_query(
    project_id: String,
    p: &ErrorParams,
    fingerprint: Option<String>,
) -> Result<ErrorGroupsQuery, ApiError> {
    let (start_ns, end_ns) = time_window(p.start.as_deref(), p.end.as_deref(), DEFAULT_WINDOW_NS)?;
    let (text, limit) = match fingerprint {
        Some(_) => (None, 1),
        None => (
            p.text.clone().filter(|t| !t.trim().is_empty()),
            bounded("limit", p.limit, DEFAULT_GROUPS, MAX_SEARCH_LIMIT)?,
        ),
    };
    Ok(ErrorGroupsQuery {
        project_id,
        start_ns,
        end_ns,
        text,
        fingerprint,
        limit,
        buckets: bounded("buckets", p.buckets, DEFAULT_TREND_BUCKETS, MAX_BUCKETS)?,
    })
}

async fn error_groups(
    State(state): State<ApiState>,
    headers: HeaderMap,
    Query(p): Query<ErrorParams>,
) -> Result<Json<tracehouse_store_api::ErrorGroups>, ApiError> {
    let project_id = project_of(&state, &headers)?;
    let q = groups_query(project_id, &p, None)?;
    Ok(Json(state.store.error_groups(&q).await?))
}

/// A fingerprint from a path: 16 hex digits, answered in lowercase.
fn parse_fingerprint(text: &str) -> Result<String, ApiError> {
    if text.len() == 16 && text.bytes().all(|b| b.is_ascii_hexdigit()) {
        Ok(text.to_ascii_lowercase())
    } else {
        Err(ApiError::bad_request(format!(
            "invalid error group fingerprint {text:?}: expected 16 hex characters as listed by \
             /api/v1/errors/groups"
        )))
    }
}

async fn error_group(
    State(state): State<ApiState>,
    headers: HeaderMap,
    Path(fingerprint): Path<String>,
    Query(p): Query<ErrorParams>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let project_id = project_of(&state, &headers)?;
    let fingerprint = parse_fingerprint(&fingerprint)?;
    let q = groups_query(project_id, &p, Some(fingerprint.clone()))?;
    let occurrences = ErrorQuery {
        project_id: q.project_id.clone(),
        start_ns: q.start_ns,
        end_ns: q.end_ns,
        fingerprint: Some(fingerprint.clone()),
        limit: bounded("limit", p.limit, DEFAULT_LIMIT, MAX_SEARCH_LIMIT)?,
        ..Default::default()
    };
    let (groups, occurrences) = futures::try_join!(
        state.store.error_groups(&q),
        state.store.errors(&occurrences),
    )?;
    let Some(group) = groups.groups.into_iter().next() else {
        return Err(ApiError::not_found(format!(
            "error group {fingerprint} has no occurrence between {} and {}: widen start/end",
            q.start_ns, q.end_ns
        )));
    };
    Ok(Json(json!({
        "group": group,
        "occurrences": occurrences,
        "start_ns": groups.start_ns,
        "width_ns": groups.width_ns,
    })))
}

/// Query parameters of the session routes (`limit` only applies to the listing).
#[derive(Debug, Deserialize)]
struct SessionParams {
    start: Option<String>,
    end: Option<String>,
    limit: Option<usize>,
}

async fn sessions(
    State(state): State<ApiState>,
    headers: HeaderMap,
    Query(p): Query<SessionParams>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let project_id = project_of(&state, &headers)?;
    let (start_ns, end_ns) = time_window(p.start.as_deref(), p.end.as_deref(), DEFAULT_WINDOW_NS)?;
    let sessions = state
        .store
        .sessions(&SessionsQuery {
            project_id,
            start_ns,
            end_ns,
            session_id: None,
            limit: bounded("limit", p.limit, DEFAULT_LIMIT, MAX_SEARCH_LIMIT)?,
        })
        .await?;
    Ok(Json(json!({ "sessions": sessions })))
}

async fn session(
    State(state): State<ApiState>,
    headers: HeaderMap,
    Path(session_id): Path<String>,
    Query(p): Query<SessionParams>,
) -> Result<Json<tracehouse_store_api::SessionDetail>, ApiError> {
    let project_id = project_of(&state, &headers)?;
    let (start_ns, end_ns) = time_window(p.start.as_deref(), p.end.as_deref(), SESSION_WINDOW_NS)?;
    let detail = state
        .store
        .session(&project_id, &session_id, start_ns, end_ns)
        .await?;
    detail.map(Json).ok_or_else(|| {
        ApiError::not_found(format!(
            "session {session_id:?} has no spans between {start_ns} and {end_ns}: widen start/end"
        ))
    })
}

/// Ready while the store takes writes and keeps flushing them (503 otherwise, with the
/// reasons); `degraded` (still 200) when damaged parts were set aside.
async fn readyz(State(state): State<ApiState>) -> Response {
    let health = state.store.health();
    let (code, status) = match (health.is_ready(), health.quarantined.is_empty()) {
        (false, _) => (StatusCode::SERVICE_UNAVAILABLE, "unavailable"),
        (true, false) => (StatusCode::OK, "degraded"),
        (true, true) => (StatusCode::OK, "ready"),
    };
    let body = json!({
        "status": status,
        "write_failures": health.write_failures,
        "flush_failures": health.flush_failures,
        "quarantined": health.quarantined,
    });
    (code, Json(body)).into_response()
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
