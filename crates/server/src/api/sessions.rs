//! Sessions: the recent ones, and one session's traces, errors and logs on one timeline.

use axum::Json;
use axum::extract::State;
use axum::http::HeaderMap;
use serde::{Deserialize, Serialize};
use tracehouse_store_api::{MAX_SEARCH_LIMIT, SessionDetail, SessionSummary, SessionsQuery};
use utoipa::{IntoParams, ToSchema};

use super::failure::{ErrorBody, QueryFailures};
use super::params::{DEFAULT_LIMIT, DEFAULT_WINDOW_NS, bounded, time_window};
use super::{ApiError, ApiState, project_of};
use crate::extract::{Path, Query};

/// Default window of a session's page: the last day (sessions outlive the hour).
const SESSION_WINDOW_NS: i64 = 24 * DEFAULT_WINDOW_NS;

/// Sessions with spans in the window.
#[derive(Debug, Serialize, ToSchema)]
pub struct SessionList {
    /// Most recently active first.
    pub sessions: Vec<SessionSummary>,
}

/// Query parameters of the session routes. A session's page documents only its window: it
/// ignores `limit` (still refused when not a number, as on the listing).
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub(super) struct SessionParams {
    /// Inclusive start of the window: RFC 3339 or nanoseconds since the epoch. Defaults to
    /// one hour before `end`; must be before `end`.
    start: Option<String>,
    /// Exclusive end of the window: RFC 3339 or nanoseconds since the epoch. Defaults to now.
    end: Option<String>,
    /// Most sessions returned: 1 to 1000; outside is a 400.
    #[param(minimum = 1, maximum = 1000, default = 100)]
    limit: Option<usize>,
}

/// Recent sessions
///
/// Sessions (`highlight.session_id` / `session.id`) with a span starting in the window, most
/// recently active first.
#[utoipa::path(
    get,
    path = "/api/v1/sessions",
    operation_id = "listSessions",
    tag = "sessions",
    params(SessionParams),
    responses((status = 200, description = "The sessions.", body = SessionList), QueryFailures),
)]
pub(super) async fn sessions(
    State(state): State<ApiState>,
    headers: HeaderMap,
    Query(p): Query<SessionParams>,
) -> Result<Json<SessionList>, ApiError> {
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
    Ok(Json(SessionList { sessions }))
}

/// One session
///
/// One session's traces, errors and log records in the window. The window defaults to the
/// day before `end` (not the hour).
#[utoipa::path(
    get,
    path = "/api/v1/sessions/{session_id}",
    operation_id = "getSession",
    tag = "sessions",
    params(
        (
            "session_id" = String,
            Path,
            description = "A session id as listed by `/api/v1/sessions`.",
        ),
        (
            "start" = Option<String>,
            Query,
            description = "Inclusive start of the window: RFC 3339 or nanoseconds since the \
                           epoch. Defaults to one day before `end`; must be before `end`.",
        ),
        (
            "end" = Option<String>,
            Query,
            description = "Exclusive end of the window: RFC 3339 or nanoseconds since the \
                           epoch. Defaults to now.",
        ),
    ),
    responses(
        (status = 200, description = "The session.", body = SessionDetail),
        (status = 404, description = "The session has no span in the window.", body = ErrorBody),
        QueryFailures,
    ),
)]
pub(super) async fn session(
    State(state): State<ApiState>,
    headers: HeaderMap,
    Path(session_id): Path<String>,
    Query(p): Query<SessionParams>,
) -> Result<Json<SessionDetail>, ApiError> {
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
