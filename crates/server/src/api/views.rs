//! Saved views: named searches of the project, kept by the store (`Store::save_view`), listed,
//! read by name (the link the UI shares), replaced and deleted.

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use serde::{Deserialize, Serialize};
use tracehouse_store_api::SavedView;
use utoipa::ToSchema;

use super::failure::{ErrorBody, QueryFailures};
use super::{ApiError, ApiState, project_of};
use crate::extract::{self, Path};
use crate::time::now_ns;

/// The project's saved views.
#[derive(Debug, Serialize, ToSchema)]
pub struct ViewList {
    /// By name.
    pub views: Vec<SavedView>,
}

/// What a saved view holds besides its name (taken from the path) and time (the server's).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct ViewBody {
    /// The query (empty: everything).
    #[serde(default)]
    query: String,
    /// A relative range (`15m`, `1h`, `24h`), or empty with `start` and `end`.
    #[serde(default)]
    range: String,
    /// Start of an absolute window (RFC 3339 or ns), or empty.
    #[serde(default)]
    start: String,
    /// End of an absolute window (RFC 3339 or ns), or empty.
    #[serde(default)]
    end: String,
    /// The result columns shown, in order.
    #[serde(default)]
    columns: Vec<String>,
}

/// List saved views
///
/// The project's saved views, by name.
#[utoipa::path(
    get,
    path = "/api/v1/views",
    operation_id = "listViews",
    tag = "views",
    responses((status = 200, description = "The views.", body = ViewList), QueryFailures),
)]
pub(super) async fn list(
    State(state): State<ApiState>,
    headers: HeaderMap,
) -> Result<Json<ViewList>, ApiError> {
    let project = project_of(&state, &headers)?;
    let views = state.store.views(&project).await?;
    Ok(Json(ViewList { views }))
}

/// One saved view
///
/// The project's view of that name (what a shared link opens).
#[utoipa::path(
    get,
    path = "/api/v1/views/{name}",
    operation_id = "getView",
    tag = "views",
    params(("name" = String, Path, description = "The view's name.")),
    responses(
        (status = 200, description = "The view.", body = SavedView),
        (status = 404, description = "The project has no view of that name.", body = ErrorBody),
        QueryFailures,
    ),
)]
pub(super) async fn get_view(
    State(state): State<ApiState>,
    headers: HeaderMap,
    Path(name): Path<String>,
) -> Result<Json<SavedView>, ApiError> {
    let project = project_of(&state, &headers)?;
    let views = state.store.views(&project).await?;
    views
        .into_iter()
        .find(|v| v.name == name)
        .map(Json)
        .ok_or_else(|| no_view(&name))
}

fn no_view(name: &str) -> ApiError {
    ApiError::not_found(format!("no saved view named {name:?}"))
}

/// Save a view
///
/// Saves the search under the name, replacing a view of that name; answered once it is
/// durable. A name, query, column or window past its bound is a 400, and so is a new name
/// in a project that keeps 500 views.
#[utoipa::path(
    put,
    path = "/api/v1/views/{name}",
    operation_id = "saveView",
    tag = "views",
    params(("name" = String, Path, description = "The view's name (1 to 200 bytes).")),
    request_body = ViewBody,
    responses(
        (status = 200, description = "The saved view.", body = SavedView),
        QueryFailures,
    ),
)]
pub(super) async fn save(
    State(state): State<ApiState>,
    headers: HeaderMap,
    Path(name): Path<String>,
    extract::Json(body): extract::Json<ViewBody>,
) -> Result<Json<SavedView>, ApiError> {
    let project = project_of(&state, &headers)?;
    let view = SavedView {
        name,
        query: body.query,
        range: body.range,
        start: body.start,
        end: body.end,
        columns: body.columns,
        saved_ns: now_ns(),
    };
    state.store.save_view(&project, view.clone()).await?;
    Ok(Json(view))
}

/// Delete a view
///
/// Deletes the project's view of that name; answered once the deletion is durable.
#[utoipa::path(
    delete,
    path = "/api/v1/views/{name}",
    operation_id = "deleteView",
    tag = "views",
    params(("name" = String, Path, description = "The view's name.")),
    responses(
        (status = 204, description = "Deleted."),
        (status = 404, description = "The project has no view of that name.", body = ErrorBody),
        QueryFailures,
    ),
)]
pub(super) async fn delete(
    State(state): State<ApiState>,
    headers: HeaderMap,
    Path(name): Path<String>,
) -> Result<StatusCode, ApiError> {
    let project = project_of(&state, &headers)?;
    if state.store.delete_view(&project, &name).await? {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(no_view(&name))
    }
}
