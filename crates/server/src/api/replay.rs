//! A session's recording: the rrweb events its browser sent to `POST /v1/replay`, in order,
//! one page at a time.

use axum::Json;
use axum::extract::State;
use axum::http::HeaderMap;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use tracehouse_store_api::{ReplayPage, ReplayQuery, StoreError};
use utoipa::{IntoParams, ToSchema};

use super::failure::QueryFailures;
use super::{ApiError, ApiState, project_of};
use crate::extract::{Path, Query};

/// A page of a session's recorded events.
#[derive(Debug, Serialize, ToSchema)]
pub struct SessionReplay {
    /// The session id.
    pub session_id: String,
    /// rrweb events as the browser recorded them, oldest first (each has an integer `type`
    /// and a `timestamp` in ms since the epoch); empty when nothing was recorded.
    #[schema(value_type = Vec<Object>)]
    pub events: Vec<Value>,
    /// How many chunks the page's events came in.
    pub chunks: u64,
    /// Set when more events follow: pass it as `after` for the next page.
    pub next_after: Option<u32>,
}

/// Query parameters of a session's recording.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub(super) struct ReplayParams {
    /// Only chunks after this one: the previous page's `next_after`.
    after: Option<u32>,
}

/// The events of a page, in order (each chunk's stored JSON array, concatenated).
fn events_of(page: &ReplayPage) -> Result<Vec<Value>, StoreError> {
    let mut out = Vec::new();
    for chunk in &page.chunks {
        out.extend(serde_json::from_str::<Vec<Value>>(&chunk.events)?);
    }
    Ok(out)
}

/// A session's recording
///
/// The rrweb events the session's browser recorded, oldest first, a page at a time (at
/// most 200 chunks or 8 MiB of events): follow `next_after` until it is absent.
#[utoipa::path(
    get,
    path = "/api/v1/sessions/{session_id}/replay",
    operation_id = "getSessionReplay",
    tag = "sessions",
    params(
        (
            "session_id" = String,
            Path,
            description = "A session id as the browser SDK sends it.",
        ),
        ReplayParams,
    ),
    responses(
        (status = 200, description = "A page of the recording.", body = SessionReplay),
        QueryFailures,
    ),
)]
pub(super) async fn session_replay(
    State(state): State<ApiState>,
    headers: HeaderMap,
    Path(session_id): Path<String>,
    Query(p): Query<ReplayParams>,
) -> Result<Json<SessionReplay>, ApiError> {
    let project_id = project_of(&state, &headers)?;
    let page = state
        .store
        .replay(&ReplayQuery {
            project_id,
            session_id: session_id.clone(),
            after: p.after,
        })
        .await?;
    Ok(Json(SessionReplay {
        events: events_of(&page)?,
        chunks: page.chunks.len() as u64,
        next_after: page.next_after,
        session_id,
    }))
}
