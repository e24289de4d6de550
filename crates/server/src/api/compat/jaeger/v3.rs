//! Jaeger's api_v3 HTTP gateway under `/jaeger/api/v3` (what the newest Jaeger UI and
//! Grafana's Jaeger search call): `services` (`{"services"}`), `operations?service=&span_kind=`
//! (`{"operations": [{name, spanKind}]}`), `traces/{id}` and `traces?query.*` (OTLP/JSON in
//! `{"result": {"resourceSpans"}}`, all found traces in one answer, 404 when none) and
//! `trace-summaries?query.*` (`{"summaries": [TraceSummary]}`, [`super::summary`]). The
//! `query.*` parameters are taken in both spellings (`query.service_name` and
//! `query.serviceName`), times in RFC 3339; failures are `{"error": {"httpCode", "message"}}`
//! in a text/plain body, as the gateway's `http.Error` sends them.

use std::collections::BTreeMap;

use axum::Json;
use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use opentelemetry_proto::tonic::trace::v1::TracesData;
use serde_json::{Value, json};
use tracehouse_query::plan::kind_name;
use tracehouse_store_api::{MAX_SEARCH_LIMIT, StoreError};

use super::super::otlp_out::resource_spans;
use super::super::{TextError, parse_trace_id, project};
use super::params::{DEFAULT_LIMIT, TraceSearch, duration};
use super::summary::trace_summary;
use super::{JaegerError, find_traces, operations_of, service_names};
use crate::api::ApiState;
use crate::projects::AuthError;

pub(super) fn router() -> Router<ApiState> {
    Router::new()
        .route("/api/v3/services", get(services))
        .route("/api/v3/operations", get(operations))
        .route("/api/v3/traces", get(find))
        .route("/api/v3/traces/{trace_id}", get(trace))
        .route("/api/v3/trace-summaries", get(summaries))
}

/// A failure as the api_v3 gateway answers it.
#[derive(Debug)]
pub(crate) struct V3Error(TextError);

impl V3Error {
    fn bad_request(message: impl Into<String>) -> V3Error {
        V3Error(TextError::bad_request(message))
    }
}

impl From<JaegerError> for V3Error {
    fn from(e: JaegerError) -> Self {
        V3Error(e.into_text())
    }
}

impl From<StoreError> for V3Error {
    fn from(e: StoreError) -> Self {
        V3Error(e.into())
    }
}

impl From<AuthError> for V3Error {
    fn from(e: AuthError) -> Self {
        V3Error(e.into())
    }
}

impl From<TextError> for V3Error {
    fn from(e: TextError) -> Self {
        V3Error(e)
    }
}

impl IntoResponse for V3Error {
    fn into_response(self) -> Response {
        let TextError { status, message } = self.0;
        let body = json!({ "error": { "httpCode": status.as_u16(), "message": message } });
        (
            status,
            [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
            format!("{body}\n"),
        )
            .into_response()
    }
}

/// The first non-empty value of a parameter under any of its spellings.
fn param<'a>(pairs: &'a [(String, String)], names: &[&str]) -> Option<(&'a str, &'a str)> {
    pairs
        .iter()
        .find(|(k, v)| names.contains(&k.as_str()) && !v.is_empty())
        .map(|(k, v)| (k.as_str(), v.as_str()))
}

fn malformed(name: &str, why: impl std::fmt::Display) -> V3Error {
    V3Error::bad_request(format!("malformed parameter {name}: {why}"))
}

fn rfc3339(name: &str, text: &str) -> Result<i64, V3Error> {
    chrono::DateTime::parse_from_rfc3339(text)
        .map_err(|e| malformed(name, e))?
        .timestamp_nanos_opt()
        .ok_or_else(|| malformed(name, "out of range"))
}

fn boolean(pairs: &[(String, String)], names: &[&str]) -> Result<(), V3Error> {
    match param(pairs, names) {
        Some((name, v)) if v.parse::<bool>().is_err() => Err(malformed(name, "expected a boolean")),
        _ => Ok(()),
    }
}

/// `GET /api/v3/services`.
async fn services(
    State(state): State<ApiState>,
    headers: HeaderMap,
) -> Result<Json<Value>, V3Error> {
    let project = project(&state, &headers)?;
    let names = service_names(&state, project).await?;
    Ok(Json(json!({ "services": names })))
}

/// `GET /api/v3/operations`: a span without a kind counts as `internal`.
async fn operations(
    State(state): State<ApiState>,
    headers: HeaderMap,
    Query(pairs): Query<Vec<(String, String)>>,
) -> Result<Json<Value>, V3Error> {
    let project = project(&state, &headers)?;
    let service = param(&pairs, &["service"]).map(|(_, v)| v);
    let kind = match param(&pairs, &["span_kind", "spanKind"]) {
        None => None,
        Some((_, k)) => match kind_name(k) {
            Some(k) => Some(k),
            None => return Ok(Json(json!({ "operations": [] }))),
        },
    };
    let ops: Vec<Value> = operations_of(&state, project, service, kind)
        .await?
        .into_iter()
        .map(|(name, kind)| {
            let kind = if kind.is_empty() { "internal" } else { kind };
            json!({ "name": name, "spanKind": kind })
        })
        .collect();
    Ok(Json(json!({ "operations": ops })))
}

/// The search of `query.*` parameters.
fn search_of(pairs: &[(String, String)]) -> Result<TraceSearch, V3Error> {
    let get = |names: &[&str]| param(pairs, names);
    let text = |names: &[&str]| get(names).map(|(_, v)| v.to_string()).unwrap_or_default();
    let (Some((min_name, min)), Some((max_name, max))) = (
        get(&["query.start_time_min", "query.startTimeMin"]),
        get(&["query.start_time_max", "query.startTimeMax"]),
    ) else {
        return Err(V3Error::bad_request(
            "query.start_time_min and query.start_time_max are required",
        ));
    };
    let limit = match get(&[
        "query.search_depth",
        "query.searchDepth",
        "query.num_traces",
        "query.numTraces",
    ]) {
        Some((name, n)) => n.parse::<i64>().map_err(|e| malformed(name, e))?,
        None => DEFAULT_LIMIT,
    };
    let tags = match get(&["query.attributes"]) {
        Some((name, json)) => serde_json::from_str::<BTreeMap<String, String>>(json)
            .map_err(|e| malformed(name, e))?,
        None => BTreeMap::new(),
    };
    let dur = |names: &[&str]| -> Result<Option<i64>, V3Error> {
        get(names)
            .map(|(n, v)| duration(n, v).map_err(V3Error::from))
            .transpose()
    };
    boolean(pairs, &["query.raw_traces", "query.rawTraces"])?;
    let search = TraceSearch {
        service: text(&["query.service_name", "query.serviceName"]),
        operation: text(&["query.operation_name", "query.operationName"]),
        tags,
        start_ns: rfc3339(min_name, min)?,
        end_ns: rfc3339(max_name, max)?,
        min_duration: dur(&["query.duration_min", "query.durationMin"])?,
        max_duration: dur(&["query.duration_max", "query.durationMax"])?,
        limit: usize::try_from(limit.clamp(0, MAX_SEARCH_LIMIT as i64)).unwrap_or(0),
        trace_ids: Vec::new(),
    };
    search.validate()?;
    Ok(search)
}

fn result(traces: &[Vec<tracehouse_model::Span>]) -> Result<Json<Value>, V3Error> {
    let spans: Vec<tracehouse_model::Span> = traces.iter().flatten().cloned().collect();
    if spans.is_empty() {
        return Err(V3Error(TextError::not_found("No traces found")));
    }
    let data = TracesData {
        resource_spans: resource_spans(&spans),
    };
    Ok(Json(json!({ "result": data })))
}

/// The traces a `query.*` search finds in the request's project.
async fn searched(
    state: &ApiState,
    headers: &HeaderMap,
    pairs: &[(String, String)],
) -> Result<Vec<Vec<tracehouse_model::Span>>, V3Error> {
    let project = project(state, headers)?;
    let search = search_of(pairs)?;
    let (_, traces) = find_traces(state, &project, &search).await?;
    Ok(traces)
}

/// `GET /api/v3/traces`.
async fn find(
    State(state): State<ApiState>,
    headers: HeaderMap,
    Query(pairs): Query<Vec<(String, String)>>,
) -> Result<Json<Value>, V3Error> {
    result(&searched(&state, &headers, &pairs).await?)
}

/// `GET /api/v3/trace-summaries`: the `query.*` search of `/api/v3/traces`, a summary per
/// trace found; none is `{}` (protobuf's JSON leaves an empty list out).
async fn summaries(
    State(state): State<ApiState>,
    headers: HeaderMap,
    Query(pairs): Query<Vec<(String, String)>>,
) -> Result<Json<Value>, V3Error> {
    let summaries: Vec<Value> = searched(&state, &headers, &pairs)
        .await?
        .iter()
        .filter(|spans| !spans.is_empty())
        .map(|spans| trace_summary(spans))
        .collect();
    if summaries.is_empty() {
        return Ok(Json(json!({})));
    }
    Ok(Json(json!({ "summaries": summaries })))
}

/// `GET /api/v3/traces/{id}`.
async fn trace(
    State(state): State<ApiState>,
    headers: HeaderMap,
    Path(id): Path<String>,
    Query(pairs): Query<Vec<(String, String)>>,
) -> Result<Json<Value>, V3Error> {
    let project = project(&state, &headers)?;
    let trace_id = parse_trace_id(&id).ok_or_else(|| malformed("trace_id", format!("{id:?}")))?;
    for name in ["start_time", "end_time"] {
        if let Some((n, v)) = param(&pairs, &[name]) {
            rfc3339(n, v)?;
        }
    }
    boolean(&pairs, &["raw_traces"])?;
    let spans = state.store.trace(&project, trace_id).await?;
    if spans.is_empty() {
        return Err(V3Error(TextError::not_found("trace not found")));
    }
    result(&[spans])
}
