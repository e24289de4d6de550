//! Analyses of traces computed on read by `tracehouse-analysis`: a trace's statistics and
//! the comparison of two traces.

use axum::Json;
use axum::extract::State;
use axum::http::HeaderMap;
use serde::Deserialize;
use tracehouse_analysis::{GroupKey, TraceComparison, TraceStats, Tree, compare, trace_stats};
use utoipa::IntoParams;

use super::failure::{ErrorBody, QueryFailures};
use super::traces::{adjusted_spans, parse_trace_id};
use super::{ApiError, ApiState, project_of};
use crate::extract::{Path, Query};

/// Longest grouping key accepted, in bytes.
const MAX_KEY_LEN: usize = 256;

/// Query parameters of the statistics route.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub(super) struct StatsParams {
    /// What spans are grouped by: `service`, `name` (or `operation`), or any attribute key
    /// (of the span, else of its resource).
    #[param(default = "service")]
    by: Option<String>,
    /// A second key that splits each group into subgroups.
    then: Option<String>,
}

/// A grouping key parameter, refused when empty or longer than [`MAX_KEY_LEN`].
fn group_key(name: &str, value: &str) -> Result<GroupKey, ApiError> {
    if value.is_empty() || value.len() > MAX_KEY_LEN {
        return Err(ApiError::bad_request(format!(
            "{name} must be service, name or an attribute key of 1 to {MAX_KEY_LEN} bytes"
        )));
    }
    Ok(GroupKey::parse(value))
}

/// Statistics of one trace
///
/// The trace's spans (adjusted for clock skew) grouped by a key and optionally by a second
/// one within each group: count, total, average, minimum and maximum duration, and self
/// time — the time a span does not wait on any of its children, overlapping children merged
/// and clipped to the span — also as a share of the trace's duration. Groups come largest
/// self time first and list the indexes of their spans in the trace route's `spans`.
#[utoipa::path(
    get,
    path = "/api/v1/traces/{trace_id}/stats",
    operation_id = "getTraceStats",
    tag = "traces",
    params(
        (
            "trace_id" = String,
            Path,
            description = "32 hex digits (either case); not all zero.",
            pattern = "^[0-9a-fA-F]{32}$",
        ),
        StatsParams,
    ),
    responses(
        (status = 200, description = "The trace's statistics.", body = TraceStats),
        (status = 404, description = "No span of this trace is stored in the project.", body = ErrorBody),
        QueryFailures,
    ),
)]
pub(super) async fn stats(
    State(state): State<ApiState>,
    headers: HeaderMap,
    Path(trace_id): Path<String>,
    Query(p): Query<StatsParams>,
) -> Result<Json<TraceStats>, ApiError> {
    let project = project_of(&state, &headers)?;
    let id = parse_trace_id(&trace_id)?;
    let by = group_key("by", p.by.as_deref().unwrap_or("service"))?;
    let then = p
        .then
        .as_deref()
        .map(|t| group_key("then", t))
        .transpose()?;
    let spans = adjusted_spans(&state, &project, id).await?;
    Ok(Json(trace_stats(&Tree::new(&spans), &by, then.as_ref())))
}

/// Query parameters of the comparison route.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub(super) struct CompareParams {
    /// The trace compared against (32 hex digits).
    #[param(required = true, pattern = "^[0-9a-fA-F]{32}$")]
    a: Option<String>,
    /// The trace compared (32 hex digits).
    #[param(required = true, pattern = "^[0-9a-fA-F]{32}$")]
    b: Option<String>,
}

/// Compare two traces
///
/// Aligns trace `b` with trace `a` (both adjusted for clock skew): spans are matched by their
/// path of (service, name) from the root — among siblings, the k-th span of a (service, name)
/// in one trace with the k-th in the other — and what is left over is a subtree only one
/// trace has (`added` in `b`, `missing` from it). Rows come depth first with both spans'
/// durations, self times and the differences.
#[utoipa::path(
    get,
    path = "/api/v1/traces/compare",
    operation_id = "compareTraces",
    tag = "traces",
    params(CompareParams),
    responses(
        (status = 200, description = "The alignment.", body = TraceComparison),
        (status = 404, description = "No span of one of the traces is stored in the project.", body = ErrorBody),
        QueryFailures,
    ),
)]
pub(super) async fn compare_traces(
    State(state): State<ApiState>,
    headers: HeaderMap,
    Query(p): Query<CompareParams>,
) -> Result<Json<TraceComparison>, ApiError> {
    let project = project_of(&state, &headers)?;
    let (Some(a), Some(b)) = (p.a.as_deref(), p.b.as_deref()) else {
        return Err(ApiError::bad_request(
            "a and b are required: the ids of the two traces to compare",
        ));
    };
    let (a, b) = (parse_trace_id(a)?, parse_trace_id(b)?);
    let (a, b) = futures::try_join!(
        adjusted_spans(&state, &project, a),
        adjusted_spans(&state, &project, b),
    )?;
    Ok(Json(compare(&Tree::new(&a), &Tree::new(&b))))
}
