//! Log records: the search and the histogram per level.

use axum::Json;
use axum::extract::State;
use axum::http::HeaderMap;
use serde::Serialize;
use tracehouse_model::LogRecord;
use tracehouse_query::Target;
use tracehouse_store_api::{LogHistogram, SearchCursor};
use utoipa::ToSchema;

use super::failure::QueryFailures;
use super::params::{HistogramParams, SearchParams, histogram_query, search_query};
use super::{ApiError, ApiState, project_of};
use crate::extract::Query;

/// One page of log records.
#[derive(Debug, Serialize, ToSchema)]
pub struct LogPage {
    /// Matching records in the requested order.
    pub logs: Vec<LogRecord>,
    /// Where the next page starts; null when there is none.
    #[schema(value_type = Option<SearchCursor>, required = true)]
    pub next_cursor: Option<String>,
}

/// Search log records
///
/// Log records matching a query compiled for logs (a bare word searches the body;
/// `level:error`, `message:`, `trace_id:`, `session_id:`, attributes). Structural queries
/// and duration sorts are a 400.
#[utoipa::path(
    get,
    path = "/api/v1/logs/search",
    operation_id = "searchLogs",
    tag = "logs",
    params(SearchParams),
    responses((status = 200, description = "A page of log records.", body = LogPage), QueryFailures),
)]
pub(super) async fn search_logs(
    State(state): State<ApiState>,
    headers: HeaderMap,
    Query(p): Query<SearchParams>,
) -> Result<Json<LogPage>, ApiError> {
    let project = project_of(&state, &headers)?;
    let q = search_query(project, &p, Target::Logs)?;
    let page = state.store.search_logs(&q).await?;
    Ok(Json(LogPage {
        logs: page.logs,
        next_cursor: page.next_cursor.map(|c| c.to_string()),
    }))
}

/// Log record counts over time
///
/// Counts of matching log records over the window, per level.
#[utoipa::path(
    get,
    path = "/api/v1/logs/histogram",
    operation_id = "logHistogram",
    tag = "logs",
    params(HistogramParams),
    responses((status = 200, description = "The histogram.", body = LogHistogram), QueryFailures),
)]
pub(super) async fn log_histogram(
    State(state): State<ApiState>,
    headers: HeaderMap,
    Query(p): Query<HistogramParams>,
) -> Result<Json<LogHistogram>, ApiError> {
    let project_id = project_of(&state, &headers)?;
    let q = histogram_query(project_id, &p, Target::Logs)?;
    Ok(Json(state.store.log_histogram(&q).await?))
}
