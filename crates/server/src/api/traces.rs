//! Traces: one trace by id (with its logs and errors) and the trace search.

use axum::Json;
use axum::extract::State;
use axum::http::HeaderMap;
use serde::{Deserialize, Serialize};
use tracehouse_model::{ErrorOccurrence, LogRecord, Span, TraceId};
use tracehouse_query::Target;
use tracehouse_store_api::{
    ErrorQuery, Histogram, HistogramQuery, MAX_CANDIDATE_TRACES, MAX_SEARCH_LIMIT, SearchCursor,
    TraceSummary,
};
use utoipa::{IntoParams, ToSchema};

use super::failure::{ErrorBody, QueryFailures};
use super::params::{HistogramParams, SearchParams, histogram_query, search_query};
use super::{ApiError, ApiState, project_of, skew};
use crate::extract::{Path, Query};

/// Everything stored about one trace.
#[derive(Debug, Serialize, ToSchema)]
pub struct TraceDetail {
    /// The trace.
    pub trace_id: TraceId,
    /// All spans of the trace, by start time (as stored), those that share a span id too.
    pub spans: Vec<TraceSpan>,
    /// Log records emitted in the trace, oldest first (at most 1000).
    pub logs: Vec<LogRecord>,
    /// Errors of the trace, oldest first (at most 1000).
    pub errors: Vec<ErrorOccurrence>,
}

/// A span of a trace, as the trace view shows it.
#[derive(Debug, Serialize, ToSchema)]
pub struct TraceSpan {
    /// The span; its times (and its events') already shifted when it was adjusted for
    /// clock skew.
    #[serde(flatten)]
    pub span: Span,
    /// Set on spans adjusted for clock skew between hosts: how far their times were moved,
    /// in ns (positive: later than stored). The stored span is unchanged.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub clock_skew_shift_ns: Option<i64>,
}

/// Query parameters of the trace route.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub(super) struct TraceParams {
    /// Move spans timed by a skewed clock into their parents (as Jaeger does) and mark
    /// them with `clock_skew_shift_ns`; `false` returns the times as stored.
    #[param(default = true)]
    adjust_clock_skew: Option<bool>,
}

/// One page of traces.
#[derive(Debug, Serialize, ToSchema)]
pub struct TracePage {
    /// Matching traces, ordered by the start of their earliest matching span (time sorts)
    /// or by their longest matching span (duration sorts).
    pub traces: Vec<TraceSummary>,
    /// Where the next page starts; null when there is none.
    #[schema(value_type = Option<SearchCursor>, required = true)]
    pub next_cursor: Option<String>,
    /// A structural query had more candidate traces than `max_candidate_traces`: only the
    /// newest were evaluated.
    pub candidates_truncated: bool,
    /// Most candidate traces a structural query or a trace search evaluates.
    pub max_candidate_traces: usize,
}

/// One trace with its logs and errors
///
/// All spans of the trace (whatever their time), the log records emitted in it and its
/// error occurrences, oldest first. A child timed on another host that starts before its
/// parent or ends after it is moved into the parent, with its descendants on that host,
/// and marked with the shift (`adjust_clock_skew=false` turns this off).
#[utoipa::path(
    get,
    path = "/api/v1/traces/{trace_id}",
    operation_id = "getTrace",
    tag = "traces",
    params(
        (
            "trace_id" = String,
            Path,
            description = "32 hex digits (either case); not all zero.",
            pattern = "^[0-9a-fA-F]{32}$",
        ),
        TraceParams,
    ),
    responses(
        (status = 200, description = "The trace.", body = TraceDetail),
        (status = 404, description = "No span of this trace is stored in the project.", body = ErrorBody),
        QueryFailures,
    ),
)]
pub(super) async fn get_trace(
    State(state): State<ApiState>,
    headers: HeaderMap,
    Path(trace_id): Path<String>,
    Query(p): Query<TraceParams>,
) -> Result<Json<TraceDetail>, ApiError> {
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
    let (mut spans, logs, mut errors) = futures::try_join!(
        state.store.trace(&project, id),
        state.store.trace_logs(&project, id),
        state.store.errors(&errors),
    )?;
    if spans.is_empty() {
        return Err(ApiError::not_found(format!("trace {id} not found")));
    }
    // The store lists occurrences newest first; a trace reads oldest first.
    errors.reverse();
    let shifts = if p.adjust_clock_skew.unwrap_or(true) {
        skew::adjust(&mut spans)
    } else {
        vec![0; spans.len()]
    };
    let spans = spans
        .into_iter()
        .zip(shifts)
        .map(|(span, shift)| TraceSpan {
            span,
            clock_skew_shift_ns: (shift != 0).then_some(shift),
        })
        .collect();
    Ok(Json(TraceDetail {
        trace_id: id,
        spans,
        logs,
        errors,
    }))
}

/// Search traces
///
/// One row per trace with a span matching the query in the window (for structural queries:
/// traces whose structure matches).
#[utoipa::path(
    get,
    path = "/api/v1/traces/search",
    operation_id = "searchTraces",
    tag = "traces",
    params(SearchParams),
    responses((status = 200, description = "A page of traces.", body = TracePage), QueryFailures),
)]
pub(super) async fn search_traces(
    State(state): State<ApiState>,
    headers: HeaderMap,
    Query(p): Query<SearchParams>,
) -> Result<Json<TracePage>, ApiError> {
    let project = project_of(&state, &headers)?;
    let q = search_query(project, &p, Target::Spans)?;
    let page = state.store.search_traces(&q).await?;
    Ok(Json(TracePage {
        traces: page.traces,
        next_cursor: page.next_cursor.map(|c| c.to_string()),
        candidates_truncated: page.candidates_truncated,
        max_candidate_traces: MAX_CANDIDATE_TRACES,
    }))
}

/// Trace counts over time
///
/// Counts of the traces with a span matching the query, each in the bucket of its earliest
/// matching span in the window; `error_count` counts the traces with a failed matching span.
#[utoipa::path(
    get,
    path = "/api/v1/traces/histogram",
    operation_id = "traceHistogram",
    tag = "traces",
    params(HistogramParams),
    responses((status = 200, description = "The histogram.", body = Histogram), QueryFailures),
)]
pub(super) async fn histogram(
    State(state): State<ApiState>,
    headers: HeaderMap,
    Query(p): Query<HistogramParams>,
) -> Result<Json<Histogram>, ApiError> {
    let project_id = project_of(&state, &headers)?;
    let q = HistogramQuery {
        traces: true,
        ..histogram_query(project_id, &p, Target::Spans)?
    };
    Ok(Json(state.store.histogram(&q).await?))
}
