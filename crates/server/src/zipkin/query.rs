//! Zipkin's v2 query API on the API port under `/zipkin` (the base URL Zipkin tools are
//! given), answered from the same store and plans as the native API, scoped to the project
//! of the request's key: `GET /zipkin/api/v2/services`, `…/spans` and `…/remoteServices`
//! (from the span metrics),
//! `…/traces`, `…/trace/{traceId}`, `…/traceMany`, `…/dependencies` (from the service map),
//! `…/autocompleteKeys` and `…/autocompleteValues`. Times are epoch
//! milliseconds (`endTs`, `lookback`), durations microseconds, as Zipkin defines them;
//! failures are plain text with Zipkin's status codes.

use std::time::{SystemTime, UNIX_EPOCH};

use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use futures::{StreamExt, TryStreamExt};
use serde::{Deserialize, Serialize};
use tracehouse_model::TraceId;
use tracehouse_query::plan::{CmpOp, Field, Filter, Intrinsic, Plan, Scope, Target, Value};
use tracehouse_store_api::graph::service_graph;
use tracehouse_store_api::metrics::{MetricDim, MetricKey, MetricValue, SpanMetricsQuery};
use tracehouse_store_api::stats::MINUTE_NS;
use tracehouse_store_api::{
    KeyScope, KeysQuery, MAX_SEARCH_LIMIT, SearchQuery, SearchSort, StoreError, ValuesQuery,
};

use super::from_model::to_zipkin;
use super::to_otlp::{hex_id, keys};
use super::wire::JsonSpan;
use crate::api::{ApiError, ApiState, project_of};

/// Zipkin's default lookback: one day, in milliseconds.
const DEFAULT_LOOKBACK_MS: i64 = 86_400_000;
/// How far back `services` looks: a week.
const SERVICES_LOOKBACK_MS: i64 = 7 * DEFAULT_LOOKBACK_MS;
/// Traces fetched at once while answering a search.
const FETCH_CONCURRENCY: usize = 8;

/// The Zipkin query routes (state: the API's).
pub(crate) fn routes() -> Router<ApiState> {
    Router::new()
        .route("/zipkin/api/v2/services", get(services))
        .route("/zipkin/api/v2/spans", get(span_names))
        .route("/zipkin/api/v2/remoteServices", get(remote_services))
        .route("/zipkin/api/v2/dependencies", get(dependencies))
        .route("/zipkin/api/v2/traces", get(traces))
        .route("/zipkin/api/v2/trace/{trace_id}", get(trace))
        .route("/zipkin/api/v2/traceMany", get(trace_many))
        .route("/zipkin/api/v2/autocompleteKeys", get(autocomplete_keys))
        .route(
            "/zipkin/api/v2/autocompleteValues",
            get(autocomplete_values),
        )
}

/// A failure in Zipkin's form: a status and a plain-text message.
#[derive(Debug)]
pub(crate) struct ZipkinError(StatusCode, String);

impl ZipkinError {
    fn bad_request(message: impl Into<String>) -> ZipkinError {
        ZipkinError(StatusCode::BAD_REQUEST, message.into())
    }
}

impl From<ApiError> for ZipkinError {
    fn from(e: ApiError) -> Self {
        let (status, message) = e.into_parts();
        ZipkinError(status, message)
    }
}

impl From<StoreError> for ZipkinError {
    fn from(e: StoreError) -> Self {
        ApiError::from(e).into()
    }
}

impl IntoResponse for ZipkinError {
    fn into_response(self) -> Response {
        (
            self.0,
            [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
            self.1,
        )
            .into_response()
    }
}

type Answer<T> = Result<Json<T>, ZipkinError>;

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

/// A number parameter, or a 400 that names it.
fn number(name: &str, text: Option<&str>) -> Result<Option<i64>, ZipkinError> {
    text.filter(|t| !t.is_empty())
        .map(|t| {
            t.parse::<i64>()
                .map_err(|_| ZipkinError::bad_request(format!("{name} {t:?} is not an integer")))
        })
        .transpose()
}

/// `[endTs - lookback, endTs]` in nanoseconds, from milliseconds.
fn window(
    end_ts: Option<&str>,
    lookback: Option<&str>,
    default_lookback: i64,
) -> Result<(i64, i64), ZipkinError> {
    let end = number("endTs", end_ts)?.unwrap_or_else(now_ms);
    let lookback = number("lookback", lookback)?.unwrap_or(default_lookback);
    if end <= 0 || lookback <= 0 {
        return Err(ZipkinError::bad_request(
            "endTs and lookback must be positive epoch milliseconds",
        ));
    }
    let ns = |ms: i64| {
        ms.checked_mul(1_000_000)
            .ok_or_else(|| ZipkinError::bad_request(format!("{ms} ms is out of range")))
    };
    let end_ns = ns(end)?.saturating_add(1);
    Ok((end_ns.saturating_sub(ns(lookback)?).max(0), end_ns))
}

/// `GET /zipkin/api/v2/services`: the services with spans in the last week, sorted.
async fn services(State(state): State<ApiState>, headers: HeaderMap) -> Answer<Vec<String>> {
    let project_id = project_of(&state, &headers)?;
    let (start_ns, end_ns) = window(None, None, SERVICES_LOOKBACK_MS)?;
    let values = state
        .store
        .values(&ValuesQuery {
            project_id,
            target: Target::Spans,
            field: Field::Intrinsic(Intrinsic::ServiceName),
            start_ns,
            end_ns,
            prefix: String::new(),
            limit: MAX_SEARCH_LIMIT,
        })
        .await?;
    let mut names: Vec<String> = values.into_iter().map(|v| v.value).collect();
    names.sort();
    Ok(Json(names))
}

/// Parameters of `GET /zipkin/api/v2/spans` and `…/remoteServices`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct SpanNamesParams {
    service_name: Option<String>,
}

/// `GET /zipkin/api/v2/spans?serviceName=`: the service's span names of the last week, from
/// the span metrics kept at ingest (the busiest 50, the metrics' series bound), sorted.
async fn span_names(
    State(state): State<ApiState>,
    headers: HeaderMap,
    Query(p): Query<SpanNamesParams>,
) -> Answer<Vec<String>> {
    let key = MetricKey::of_dim(MetricDim::Name);
    Ok(Json(
        values_by(&state, &headers, p, key, SERVICES_LOOKBACK_MS).await?,
    ))
}

/// `GET /zipkin/api/v2/remoteServices?serviceName=`: the `peer.service` values of the
/// service's spans in the last day (Zipkin's default lookback), sorted. An attribute is not a
/// kept dimension, so this reads the matching spans (the metrics' scan, bounded to 100,000
/// spans; past that a 400).
async fn remote_services(
    State(state): State<ApiState>,
    headers: HeaderMap,
    Query(p): Query<SpanNamesParams>,
) -> Answer<Vec<String>> {
    let key = MetricKey::named(keys::PEER_SERVICE);
    Ok(Json(
        values_by(&state, &headers, p, key, DEFAULT_LOOKBACK_MS).await?,
    ))
}

/// The values of `key` among the spans of the service in `serviceName` over the last
/// `lookback_ms`, sorted: one series per value of the span metrics over a single step.
async fn values_by(
    state: &ApiState,
    headers: &HeaderMap,
    p: SpanNamesParams,
    key: MetricKey,
    lookback_ms: i64,
) -> Result<Vec<String>, ZipkinError> {
    let project_id = project_of(state, headers)?;
    let service = p
        .service_name
        .filter(|s| !s.trim().is_empty())
        .ok_or_else(|| ZipkinError::bad_request("serviceName is required"))?;
    let (start_ns, end_ns) = window(None, None, lookback_ms)?;
    // One step over the whole window (whole minutes, as the metrics' steps are).
    let step_ns = (end_ns - start_ns + MINUTE_NS - 1) / MINUTE_NS * MINUTE_NS;
    let label = key.label.clone();
    let answer = state
        .store
        .span_metrics(&SpanMetricsQuery {
            project_id,
            plan: Plan {
                pushdown: text_eq(Field::Intrinsic(Intrinsic::ServiceName), service.trim()),
                structure: None,
            },
            start_ns,
            end_ns,
            step_ns,
            by: vec![key],
            value: MetricValue::Duration,
        })
        .await?;
    let mut values: Vec<String> = answer
        .series
        .into_iter()
        .filter_map(|s| s.labels.get(&label).cloned())
        .filter(|v| !v.is_empty())
        .collect();
    values.sort();
    Ok(values)
}

/// Parameters of `GET /zipkin/api/v2/dependencies`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct DependenciesParams {
    end_ts: Option<String>,
    lookback: Option<String>,
}

/// A Zipkin dependency link: calls from one service (or peer) to another.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct DependencyLink {
    parent: String,
    child: String,
    call_count: u64,
    #[serde(skip_serializing_if = "is_zero")]
    error_count: u64,
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

/// `GET /zipkin/api/v2/dependencies?endTs=&lookback=`: the edges of the service map over the
/// window (see `tracehouse_store_api::graph` for how calls are joined and its bounds), caller
/// and callee by name (namesakes merged).
async fn dependencies(
    State(state): State<ApiState>,
    headers: HeaderMap,
    Query(p): Query<DependenciesParams>,
) -> Answer<Vec<DependencyLink>> {
    let project_id = project_of(&state, &headers)?;
    let range = window(
        p.end_ts.as_deref(),
        p.lookback.as_deref(),
        DEFAULT_LOOKBACK_MS,
    )?;
    let graph = service_graph(state.store.as_ref(), &project_id, range).await?;
    Ok(Json(
        graph
            .dependency_links()
            .into_iter()
            .map(|l| DependencyLink {
                parent: l.parent,
                child: l.child,
                call_count: l.calls,
                error_count: l.errors,
            })
            .collect(),
    ))
}

/// Parameters of `GET /zipkin/api/v2/traces`.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct TracesParams {
    service_name: Option<String>,
    remote_service_name: Option<String>,
    span_name: Option<String>,
    annotation_query: Option<String>,
    min_duration: Option<String>,
    max_duration: Option<String>,
    end_ts: Option<String>,
    lookback: Option<String>,
    limit: Option<String>,
}

fn text_eq(field: Field, value: &str) -> Filter {
    Filter::Cmp {
        field,
        op: CmpOp::Eq,
        value: Value::Str(value.to_string()),
    }
}

fn attr(key: &str) -> Field {
    Field::Attr {
        scope: Scope::Any,
        key: key.to_string(),
    }
}

/// One term of `annotationQuery`: `key=value` (a tag), or `key` alone (a tag that is set;
/// `error` also matches failed spans).
fn annotation_term(term: &str) -> Filter {
    match term.split_once('=') {
        Some((k, v)) => text_eq(attr(k.trim()), v.trim()),
        None if term == keys::ERROR => Filter::Or(vec![
            Filter::Cmp {
                field: Field::Intrinsic(Intrinsic::HasErrors),
                op: CmpOp::Eq,
                value: Value::Bool(true),
            },
            Filter::Exists(attr(keys::ERROR)),
        ]),
        None => Filter::Exists(attr(term)),
    }
}

fn duration_bound(
    name: &str,
    text: Option<&str>,
    op: CmpOp,
) -> Result<Option<Filter>, ZipkinError> {
    let Some(us) = number(name, text)? else {
        return Ok(None);
    };
    let ns = us.checked_mul(1000).filter(|_| us >= 0).ok_or_else(|| {
        ZipkinError::bad_request(format!("{name} {us} is not a duration in microseconds"))
    })?;
    Ok(Some(Filter::Cmp {
        field: Field::Intrinsic(Intrinsic::Duration),
        op,
        value: Value::Duration(ns),
    }))
}

/// The per-span filter of a trace search: every given condition holds on one span.
fn traces_filter(p: &TracesParams) -> Result<Filter, ZipkinError> {
    fn given(v: &Option<String>) -> Option<&str> {
        v.as_deref().map(str::trim).filter(|s| !s.is_empty())
    }
    let mut terms = Vec::new();
    if let Some(s) = given(&p.service_name) {
        terms.push(text_eq(Field::Intrinsic(Intrinsic::ServiceName), s));
    }
    if let Some(s) = given(&p.remote_service_name) {
        terms.push(text_eq(attr(keys::PEER_SERVICE), s));
    }
    if let Some(s) = given(&p.span_name).filter(|s| *s != "all") {
        terms.push(text_eq(Field::Intrinsic(Intrinsic::SpanName), s));
    }
    if let Some(q) = given(&p.annotation_query) {
        terms.extend(
            q.split(" and ")
                .map(str::trim)
                .filter(|t| !t.is_empty())
                .map(annotation_term),
        );
    }
    terms.extend(duration_bound(
        "minDuration",
        p.min_duration.as_deref(),
        CmpOp::Ge,
    )?);
    terms.extend(duration_bound(
        "maxDuration",
        p.max_duration.as_deref(),
        CmpOp::Le,
    )?);
    Ok(Filter::And(terms).simplify())
}

/// `GET /zipkin/api/v2/traces`: the newest traces with a span matching every condition, each as
/// its list of spans.
async fn traces(
    State(state): State<ApiState>,
    headers: HeaderMap,
    Query(p): Query<TracesParams>,
) -> Answer<Vec<Vec<JsonSpan>>> {
    let project_id = project_of(&state, &headers)?;
    let (start_ns, end_ns) = window(
        p.end_ts.as_deref(),
        p.lookback.as_deref(),
        DEFAULT_LOOKBACK_MS,
    )?;
    let limit = number("limit", p.limit.as_deref())?.unwrap_or(10);
    let limit = usize::try_from(limit)
        .ok()
        .filter(|l| (1..=MAX_SEARCH_LIMIT).contains(l))
        .ok_or_else(|| {
            ZipkinError::bad_request(format!("limit must be 1 to {MAX_SEARCH_LIMIT}"))
        })?;
    let page = state
        .store
        .search_traces(&SearchQuery {
            project_id: project_id.clone(),
            plan: Plan {
                pushdown: traces_filter(&p)?,
                structure: None,
            },
            start_ns,
            end_ns,
            sort: SearchSort::TimeDesc,
            sort_key: None,
            limit,
            cursor: None,
        })
        .await?;
    let ids: Vec<TraceId> = page.traces.iter().map(|t| t.trace_id).collect();
    Ok(Json(fetch(&state, &project_id, ids).await?))
}

/// The stored traces among `ids`, in that order, as Zipkin span lists.
async fn fetch(
    state: &ApiState,
    project_id: &str,
    ids: Vec<TraceId>,
) -> Result<Vec<Vec<JsonSpan>>, ZipkinError> {
    let traces: Vec<Vec<JsonSpan>> = futures::stream::iter(ids)
        .map(|id| async move {
            let spans = state.store.trace(project_id, id).await?;
            Ok::<_, StoreError>(spans.iter().map(to_zipkin).collect())
        })
        .buffered(FETCH_CONCURRENCY)
        .try_collect()
        .await?;
    Ok(traces
        .into_iter()
        .filter(|t: &Vec<JsonSpan>| !t.is_empty())
        .collect())
}

fn trace_id(text: &str) -> Result<TraceId, ZipkinError> {
    let bytes = hex_id("traceId", text.trim(), 16).map_err(ZipkinError::bad_request)?;
    TraceId::from_bytes(&bytes)
        .map_err(|e| ZipkinError::bad_request(format!("traceId {text:?}: {e}")))
}

/// `GET /zipkin/api/v2/trace/{traceId}`: the trace's spans, 404 when none is stored.
async fn trace(
    State(state): State<ApiState>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Answer<Vec<JsonSpan>> {
    let project_id = project_of(&state, &headers)?;
    let id = trace_id(&id)?;
    let spans = state.store.trace(&project_id, id).await?;
    if spans.is_empty() {
        return Err(ZipkinError(
            StatusCode::NOT_FOUND,
            format!("Cannot find trace {id}"),
        ));
    }
    Ok(Json(spans.iter().map(to_zipkin).collect()))
}

/// Parameters of `GET /zipkin/api/v2/traceMany`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct TraceManyParams {
    trace_ids: Option<String>,
}

/// `GET /zipkin/api/v2/traceMany?traceIds=a,b`: the stored traces among the ids.
async fn trace_many(
    State(state): State<ApiState>,
    headers: HeaderMap,
    Query(p): Query<TraceManyParams>,
) -> Answer<Vec<Vec<JsonSpan>>> {
    let project_id = project_of(&state, &headers)?;
    let ids = p
        .trace_ids
        .as_deref()
        .unwrap_or("")
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(trace_id)
        .collect::<Result<Vec<_>, _>>()?;
    if ids.is_empty() {
        return Err(ZipkinError::bad_request(
            "traceIds parameter is empty: pass comma-separated trace ids",
        ));
    }
    if ids.len() > MAX_SEARCH_LIMIT {
        return Err(ZipkinError::bad_request(format!(
            "at most {MAX_SEARCH_LIMIT} traceIds at once"
        )));
    }
    Ok(Json(fetch(&state, &project_id, ids).await?))
}

/// `GET /zipkin/api/v2/autocompleteKeys`: the tag keys of the last day, most used first.
async fn autocomplete_keys(
    State(state): State<ApiState>,
    headers: HeaderMap,
) -> Answer<Vec<String>> {
    let project_id = project_of(&state, &headers)?;
    let (start_ns, end_ns) = window(None, None, DEFAULT_LOOKBACK_MS)?;
    let keys = state
        .store
        .keys(&KeysQuery {
            project_id,
            target: Target::Spans,
            start_ns,
            end_ns,
            prefix: String::new(),
            limit: MAX_SEARCH_LIMIT,
        })
        .await?;
    Ok(Json(
        keys.into_iter()
            .filter(|k| k.scope != KeyScope::Intrinsic)
            .map(|k| k.key)
            .collect(),
    ))
}

/// Parameters of `GET /zipkin/api/v2/autocompleteValues`.
#[derive(Debug, Deserialize)]
struct ValuesParams {
    key: Option<String>,
}

/// `GET /zipkin/api/v2/autocompleteValues?key=`: the key's values of the last day, most used
/// first.
async fn autocomplete_values(
    State(state): State<ApiState>,
    headers: HeaderMap,
    Query(p): Query<ValuesParams>,
) -> Answer<Vec<String>> {
    let project_id = project_of(&state, &headers)?;
    let key = p
        .key
        .filter(|k| !k.is_empty())
        .ok_or_else(|| ZipkinError::bad_request("key parameter is required"))?;
    let (start_ns, end_ns) = window(None, None, DEFAULT_LOOKBACK_MS)?;
    let values = state
        .store
        .values(&ValuesQuery {
            project_id,
            target: Target::Spans,
            field: attr(&key),
            start_ns,
            end_ns,
            prefix: String::new(),
            limit: MAX_SEARCH_LIMIT,
        })
        .await?;
    Ok(Json(values.into_iter().map(|v| v.value).collect()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn traces_filter_takes_every_condition() {
        let p = TracesParams {
            service_name: Some("frontend".into()),
            span_name: Some("all".into()),
            annotation_query: Some("error and http.method=GET".into()),
            min_duration: Some("1500".into()),
            ..TracesParams::default()
        };
        let Filter::And(terms) = traces_filter(&p).unwrap() else {
            panic!("expected a conjunction");
        };
        assert_eq!(terms.len(), 4, "{terms:?}");
        assert!(terms.contains(&Filter::Cmp {
            field: Field::Intrinsic(Intrinsic::Duration),
            op: CmpOp::Ge,
            value: Value::Duration(1_500_000),
        }));
        assert!(terms.contains(&text_eq(attr("http.method"), "GET")));
        assert!(
            traces_filter(&TracesParams {
                max_duration: Some("soon".into()),
                ..TracesParams::default()
            })
            .is_err()
        );
    }

    #[test]
    fn windows_are_milliseconds_back_from_end() {
        let (start, end) = window(Some("2000"), Some("1000"), DEFAULT_LOOKBACK_MS).unwrap();
        assert_eq!((start, end), (1_000_000_001, 2_000_000_001));
        assert!(window(Some("-1"), None, DEFAULT_LOOKBACK_MS).is_err());
        assert!(window(None, Some("x"), DEFAULT_LOOKBACK_MS).is_err());
    }
}
