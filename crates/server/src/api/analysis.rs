//! Analyses of traces computed on read by `tracehouse-analysis`: a trace's statistics.

use axum::Json;
use axum::extract::State;
use axum::http::HeaderMap;
use serde::Deserialize;
use tracehouse_analysis::{GroupKey, TraceStats, Tree, trace_stats};
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
