//! "Compare with a typical trace": for a trace, another trace of the same root operation
//! whose root span took about as long as that operation usually takes.

use axum::Json;
use axum::extract::State;
use axum::http::HeaderMap;
use serde::Serialize;
use tracehouse_model::{Span, TraceId};
use tracehouse_query::{CmpOp, Field, Filter, Intrinsic, Plan, Value};
use tracehouse_store_api::metrics::{MetricValue, SpanMetricsQuery};
use tracehouse_store_api::structure::summarise;
use tracehouse_store_api::{SearchQuery, SearchSort};
use utoipa::ToSchema;

use super::failure::{ErrorBody, QueryFailures};
use super::traces::{adjusted_spans, parse_trace_id};
use super::{ApiError, ApiState, project_of};
use crate::extract::Path;

/// How far either side of the trace's root a typical trace is looked for: a day, so the
/// median covers the operation's daily pattern.
const REACH_NS: i64 = 24 * 3_600 * 1_000_000_000;
/// Root spans of the operation read around the median to pick the closest from.
const CANDIDATES: usize = 200;

/// A typical trace of a trace's root operation.
#[derive(Debug, Serialize, ToSchema)]
pub(super) struct TypicalTrace {
    /// The trace chosen.
    trace_id: TraceId,
    /// Its root span's duration, ns.
    duration_ns: i64,
    /// The operation's median duration within a day either side of the compared trace's
    /// root, ns (from the span metrics: within their 1 % error).
    median_ns: i64,
    /// Service of the root operation.
    service: String,
    /// Span name of the root operation.
    name: String,
}

/// A typical trace of a trace's root operation
///
/// The trace's root operation (the service and name of its root span) took a median time
/// within a day either side of the root's start, read from the span metrics. Of the
/// operation's root spans in those two days whose duration lies within a factor 1.5 of the
/// median, the one
/// closest to it (ties: the newest) names the typical trace — never the trace itself. A
/// 404 says when the trace is unknown or no other trace of its operation is near the
/// median.
#[utoipa::path(
    get,
    path = "/api/v1/traces/{trace_id}/typical",
    operation_id = "getTypicalTrace",
    tag = "traces",
    params((
        "trace_id" = String,
        Path,
        description = "32 hex digits (either case); not all zero.",
        pattern = "^[0-9a-fA-F]{32}$",
    )),
    responses(
        (status = 200, description = "The typical trace.", body = TypicalTrace),
        (status = 404, description = "The trace is not stored in the project, or no other trace of its root operation is near the median.", body = ErrorBody),
        QueryFailures,
    ),
)]
pub(super) async fn typical_trace(
    State(state): State<ApiState>,
    headers: HeaderMap,
    Path(trace_id): Path<String>,
) -> Result<Json<TypicalTrace>, ApiError> {
    let project = project_of(&state, &headers)?;
    let id = parse_trace_id(&trace_id)?;
    let spans = adjusted_spans(&state, &project, id).await?;
    let root_start = spans
        .iter()
        .map(|s| s.start_time_unix_nano)
        .min()
        .unwrap_or_default();
    let summary = summarise(&spans, &[]).ok_or_else(|| no_typical(id))?;
    let window = (
        root_start.saturating_sub(REACH_NS),
        root_start.saturating_add(REACH_NS),
    );
    let operation = Filter::And(vec![
        text_is(Intrinsic::ServiceName, &summary.root_service),
        text_is(Intrinsic::SpanName, &summary.root_name),
    ]);
    let median = median_ns(&state, &project, &operation, window).await?;
    let Some(median) = median else {
        return Err(no_typical(id));
    };
    let candidates = near_median(&state, &project, operation, window, median).await?;
    let best = candidates
        .iter()
        .filter(|s| s.trace_id != id)
        .min_by_key(|s| (s.duration_nanos.abs_diff(median), -s.start_time_unix_nano))
        .ok_or_else(|| no_typical(id))?;
    Ok(Json(TypicalTrace {
        trace_id: best.trace_id,
        duration_ns: best.duration_nanos,
        median_ns: median,
        service: summary.root_service,
        name: summary.root_name,
    }))
}

fn no_typical(id: TraceId) -> ApiError {
    ApiError::not_found(format!(
        "no other trace of trace {id}'s root operation took about its median time within a day of it"
    ))
}

/// `field = text`.
fn text_is(i: Intrinsic, text: &str) -> Filter {
    Filter::Cmp {
        field: Field::Intrinsic(i),
        op: CmpOp::Eq,
        value: Value::Str(text.to_string()),
    }
}

/// `duration <op> ns`.
fn duration_is(op: CmpOp, ns: i64) -> Filter {
    Filter::Cmp {
        field: Field::Intrinsic(Intrinsic::Duration),
        op,
        value: Value::Duration(ns),
    }
}

/// The median duration of the spans `operation` matches in the window, from the span
/// metrics; `None` when it has none.
async fn median_ns(
    state: &ApiState,
    project: &str,
    operation: &Filter,
    (start_ns, end_ns): (i64, i64),
) -> Result<Option<i64>, ApiError> {
    let answer = state
        .store
        .span_metrics(&SpanMetricsQuery {
            project_id: project.to_string(),
            plan: Plan {
                pushdown: operation.clone(),
                structure: None,
            },
            start_ns,
            end_ns,
            step_ns: 2 * REACH_NS,
            by: Vec::new(),
            value: MetricValue::Duration,
        })
        .await?;
    Ok(answer
        .series
        .first()
        .filter(|s| s.total.measured > 0)
        .map(|s| s.total.p50.round() as i64))
}

/// Root spans of `operation` in the window whose duration is within a factor 1.5 of the
/// median, newest first, at most [`CANDIDATES`].
async fn near_median(
    state: &ApiState,
    project: &str,
    operation: Filter,
    (start_ns, end_ns): (i64, i64),
    median: i64,
) -> Result<Vec<Span>, ApiError> {
    let root = Filter::Not(Box::new(Filter::Exists(Field::Intrinsic(
        Intrinsic::ParentSpanId,
    ))));
    let pushdown = Filter::And(vec![
        operation,
        root,
        duration_is(CmpOp::Ge, median * 2 / 3),
        duration_is(CmpOp::Le, median.saturating_mul(3) / 2),
    ]);
    let page = state
        .store
        .search_spans(&SearchQuery {
            project_id: project.to_string(),
            plan: Plan {
                pushdown,
                structure: None,
            },
            start_ns,
            end_ns,
            sort: SearchSort::TimeDesc,
            sort_key: None,
            limit: CANDIDATES,
            cursor: None,
        })
        .await?;
    Ok(page.spans)
}
