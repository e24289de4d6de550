//! Jaeger's query HTTP JSON API under `/jaeger` (what the Jaeger UI and Grafana's Jaeger data
//! source call; point them at `http://<host>:<api port>/jaeger`): `/api/services`,
//! `/api/services/{service}/operations`, `/api/operations`, `/api/traces` (search) and
//! `/api/traces/{id}`, answered in Jaeger's `{data, total, limit, offset, errors}` envelope
//! with its trace JSON ([`model`]); `/api/dependencies` from the service map
//! ([`dependencies`]); the Monitor tab's `/api/metrics/*` from the span metrics
//! ([`metrics`]); failures in the same envelope with Jaeger's statuses.

mod dependencies;
mod envelope;
mod metrics;
mod model;
mod params;
mod summary;
mod v3;

use std::collections::BTreeSet;

use axum::Json;
use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::HeaderMap;
use axum::routing::get;
use serde::Deserialize;
use serde_json::{Value, json};
use tracehouse_model::{Span, SpanKind, TraceId};
use tracehouse_query::plan::kind_name;
use tracehouse_query::{CmpOp, Field, Filter, Intrinsic, Pattern, Plan, Scope, Value as PlanValue};
use tracehouse_store_api::{SearchQuery, SearchSort, StoreError, ValuesQuery};

pub(crate) use envelope::JaegerError;
use envelope::{envelope, with_missing};
use params::{LOOKBACK_NS, TraceSearch};

use super::{parse_trace_id, project, read_traces};
use crate::api::ApiState;
use crate::time::now_ns;

/// How far back the service list looks.
const SERVICES_LOOKBACK_NS: i64 = 7 * 24 * 3_600 * 1_000_000_000;
/// Most services listed.
const MAX_SERVICES: usize = 1000;
/// Spans read per page, and pages at most, when collecting a service's operations.
const OPERATIONS_PAGE: usize = 1000;
const OPERATIONS_PAGES: usize = 5;

pub(super) fn router() -> Router<ApiState> {
    Router::new()
        .route("/api/services", get(services))
        .route("/api/services/{service}/operations", get(operations_legacy))
        .route("/api/operations", get(operations))
        .route("/api/traces", get(search))
        .route("/api/traces/{trace_id}", get(trace))
        .route("/api/dependencies", get(dependencies::dependencies))
        .merge(metrics::router())
        .merge(v3::router())
}

fn exact(field: Field, text: &str) -> Filter {
    Filter::Match {
        field,
        pattern: Pattern::Exact(text.to_string()),
    }
}

/// The services seen in the last seven days, sorted.
async fn service_names(state: &ApiState, project: String) -> Result<BTreeSet<String>, StoreError> {
    let end_ns = now_ns();
    let values = state
        .store
        .values(&ValuesQuery {
            project_id: project,
            target: tracehouse_query::Target::Spans,
            field: Field::Intrinsic(Intrinsic::ServiceName),
            start_ns: end_ns - SERVICES_LOOKBACK_NS,
            end_ns,
            prefix: String::new(),
            limit: MAX_SERVICES,
        })
        .await?;
    Ok(values.into_iter().map(|v| v.value).collect())
}

/// `GET /api/services`.
async fn services(
    State(state): State<ApiState>,
    headers: HeaderMap,
) -> Result<Json<Value>, JaegerError> {
    let project = project(&state, &headers)?;
    let names = service_names(&state, project).await?;
    Ok(envelope(json!(names), names.len()))
}

/// The distinct (name, kind) of a service's spans (of every service's, without one) among
/// the newest `OPERATIONS_PAGE * OPERATIONS_PAGES` spans of the default lookback; the kind
/// of a span without one is `""`.
async fn operations_of(
    state: &ApiState,
    project: String,
    service: Option<&str>,
    kind: Option<&str>,
) -> Result<BTreeSet<(String, &'static str)>, StoreError> {
    let mut filters: Vec<Filter> = service
        .map(|s| exact(Field::Intrinsic(Intrinsic::ServiceName), s))
        .into_iter()
        .collect();
    if let Some(k) = kind {
        filters.push(exact(Field::Intrinsic(Intrinsic::SpanKind), k));
    }
    let end_ns = now_ns();
    let mut query = SearchQuery {
        project_id: project,
        plan: Plan {
            pushdown: Filter::And(filters),
            structure: None,
        },
        start_ns: end_ns - LOOKBACK_NS,
        end_ns,
        sort: SearchSort::TimeDesc,
        sort_key: None,
        limit: OPERATIONS_PAGE,
        cursor: None,
    };
    let mut out = BTreeSet::new();
    for _ in 0..OPERATIONS_PAGES {
        let page = state.store.search_spans(&query).await?;
        out.extend(page.spans.iter().map(|s| {
            let kind = if s.kind == SpanKind::Unspecified {
                ""
            } else {
                s.kind.as_str()
            };
            (s.name.clone(), kind)
        }));
        match page.next_cursor {
            Some(c) => query.cursor = Some(c),
            None => break,
        }
    }
    Ok(out)
}

/// `GET /api/services/{service}/operations`: operation names of every kind.
async fn operations_legacy(
    State(state): State<ApiState>,
    headers: HeaderMap,
    Path(service): Path<String>,
) -> Result<Json<Value>, JaegerError> {
    let project = project(&state, &headers)?;
    let names: BTreeSet<String> = operations_of(&state, project, Some(&service), None)
        .await?
        .into_iter()
        .map(|(name, _)| name)
        .collect();
    Ok(envelope(json!(names), names.len()))
}

/// `service` (required) and `spanKind` of `/api/operations`.
#[derive(Debug, Deserialize)]
struct OperationParams {
    service: Option<String>,
    #[serde(rename = "spanKind")]
    span_kind: Option<String>,
}

/// `GET /api/operations`: `[{name, spanKind}]`; an unknown kind has no operations.
async fn operations(
    State(state): State<ApiState>,
    headers: HeaderMap,
    Query(p): Query<OperationParams>,
) -> Result<Json<Value>, JaegerError> {
    let project = project(&state, &headers)?;
    let service = p
        .service
        .filter(|s| !s.is_empty())
        .ok_or_else(|| JaegerError::bad_request("parameter 'service' is required"))?;
    let asked = p.span_kind.filter(|k| !k.is_empty());
    let kind = match asked.as_deref().map(kind_name) {
        None => None,
        Some(Some(k)) => Some(k),
        Some(None) => return Ok(envelope(json!([]), 0)),
    };
    let ops: Vec<Value> = operations_of(&state, project, Some(&service), kind)
        .await?
        .into_iter()
        .map(|(name, kind)| json!({ "name": name, "spanKind": kind }))
        .collect();
    let total = ops.len();
    Ok(envelope(json!(ops), total))
}

/// A tag as Jaeger searches it: the value, as text, of an attribute of the span, its
/// resource, one of its events or links or its scope; `error`, `span.kind` and
/// `otel.status_code` also read the fields the translator turns into those tags.
fn tag_filter(key: &str, value: &str) -> Filter {
    let mut any: Vec<Filter> = [
        Scope::Any,
        Scope::Event,
        Scope::Link,
        Scope::Instrumentation,
    ]
    .into_iter()
    .map(|scope| {
        exact(
            Field::Attr {
                scope,
                key: key.to_string(),
            },
            value,
        )
    })
    .collect();
    let status = Field::Intrinsic(Intrinsic::StatusCode);
    match key {
        "error" if value == "true" => any.push(exact(status, "error")),
        "otel.status_code" => any.push(exact(status, &value.to_ascii_lowercase())),
        "span.kind" => any.push(exact(Field::Intrinsic(Intrinsic::SpanKind), value)),
        _ => {}
    }
    Filter::Or(any)
}

/// The per-span filter of a search: every condition holds on one span.
fn search_plan(s: &TraceSearch) -> Plan {
    let mut filters = vec![exact(Field::Intrinsic(Intrinsic::ServiceName), &s.service)];
    if !s.operation.is_empty() {
        filters.push(exact(Field::Intrinsic(Intrinsic::SpanName), &s.operation));
    }
    filters.extend(s.tags.iter().map(|(k, v)| tag_filter(k, v)));
    let duration = |op, ns| Filter::Cmp {
        field: Field::Intrinsic(Intrinsic::Duration),
        op,
        value: PlanValue::Duration(ns),
    };
    filters.extend(s.min_duration.map(|ns| duration(CmpOp::Ge, ns)));
    filters.extend(s.max_duration.map(|ns| duration(CmpOp::Le, ns)));
    Plan {
        pushdown: Filter::And(filters).simplify(),
        structure: None,
    }
}

/// `GET /api/traces`: whole traces with a span that matches, newest first; or, with
/// `traceID`, those traces (the ones not found listed in `errors`).
async fn search(
    State(state): State<ApiState>,
    headers: HeaderMap,
    Query(pairs): Query<Vec<(String, String)>>,
) -> Result<Json<Value>, JaegerError> {
    let project = project(&state, &headers)?;
    let s = TraceSearch::parse(&pairs)?;
    let (ids, traces) = find_traces(&state, &project, &s).await?;
    let missing: Vec<String> = ids
        .iter()
        .zip(&traces)
        .filter(|(_, spans)| spans.is_empty())
        .map(|(id, _)| model::trace_id_text(*id))
        .collect();
    let data: Vec<Value> = traces
        .iter()
        .filter(|spans| !spans.is_empty())
        .map(|spans| model::trace_json(spans))
        .collect();
    Ok(with_missing(json!(data), &missing))
}

/// The traces a search asks for: by id, or those with a matching span (newest first); the
/// ids and their spans (none for an id not found).
async fn find_traces(
    state: &ApiState,
    project: &str,
    s: &TraceSearch,
) -> Result<(Vec<TraceId>, Vec<Vec<Span>>), StoreError> {
    let ids = if s.trace_ids.is_empty() {
        let query = SearchQuery {
            project_id: project.to_string(),
            plan: search_plan(s),
            start_ns: s.start_ns,
            end_ns: s.end_ns.saturating_add(1),
            sort: SearchSort::TimeDesc,
            sort_key: None,
            limit: s.limit,
            cursor: None,
        };
        let page = state.store.search_traces(&query).await?;
        page.traces.iter().map(|t| t.trace_id).collect()
    } else {
        s.trace_ids.clone()
    };
    let traces = read_traces(state, project, &ids).await?;
    Ok((ids, traces))
}

/// `GET /api/traces/{id}`: `[trace]`, or a 404.
async fn trace(
    State(state): State<ApiState>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Result<Json<Value>, JaegerError> {
    let project = project(&state, &headers)?;
    let trace_id = parse_trace_id(&id)
        .ok_or_else(|| JaegerError::bad_request(format!("cannot parse traceID {id:?}")))?;
    let spans = state.store.trace(&project, trace_id).await?;
    if spans.is_empty() {
        return Err(JaegerError::not_found("trace not found"));
    }
    Ok(with_missing(json!([model::trace_json(&spans)]), &[]))
}
