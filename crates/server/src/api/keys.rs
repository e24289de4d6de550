//! Autocomplete: the keys seen in a window and the top values of one key, from statistics
//! kept at ingest.

use axum::Json;
use axum::extract::State;
use axum::http::HeaderMap;
use serde::{Deserialize, Serialize};
use tracehouse_query::Target;
use tracehouse_query::plan::resolve_key;
use tracehouse_store_api::{KeyInfo, KeysQuery, ValueCount, ValuesQuery};
use utoipa::{IntoParams, ToSchema};

use super::failure::QueryFailures;
use super::params::{DEFAULT_WINDOW_NS, bounded, time_window};
use super::{ApiError, ApiState, project_of};
use crate::extract::{Path, Query};

/// Default and maximum number of keys or values returned.
const DEFAULT_KEYS: usize = 100;
const MAX_KEYS: usize = 1000;

/// Keys seen in the window.
#[derive(Debug, Serialize, ToSchema)]
pub struct KeyList {
    /// Most frequent first.
    pub keys: Vec<KeyInfo>,
}

/// Top values of one key in the window.
#[derive(Debug, Serialize, ToSchema)]
pub struct ValueList {
    /// The key as requested.
    pub key: String,
    /// Most frequent first.
    pub values: Vec<ValueCount>,
}

/// Whose keys and values to suggest.
#[derive(Debug, Clone, Copy, ToSchema)]
#[schema(rename_all = "lowercase")]
enum TargetName {
    /// Spans (the default).
    Spans,
    /// Log records: their intrinsics such as `level`, record attributes as the `span`
    /// scope, resource attributes.
    Logs,
}

impl TargetName {
    /// The `target` parameter: `spans` when absent or empty, else `spans` or `logs`.
    fn parse(text: Option<&str>) -> Result<TargetName, ApiError> {
        match text.unwrap_or("spans") {
            "" | "spans" => Ok(TargetName::Spans),
            "logs" => Ok(TargetName::Logs),
            other => Err(ApiError::bad_request(format!(
                "unknown target {other:?}: use spans or logs"
            ))),
        }
    }

    fn target(self) -> Target {
        match self {
            TargetName::Spans => Target::Spans,
            TargetName::Logs => Target::Logs,
        }
    }
}

/// Query parameters of the autocomplete routes.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub(super) struct KeyParams {
    /// Only entries starting with this (values: case-insensitive). Default: all.
    #[param(default = "")]
    prefix: Option<String>,
    /// Whose keys and values to suggest: `spans` (default) or `logs` (log record intrinsics
    /// such as `level`, record attributes as the `span` scope, resource attributes).
    #[param(value_type = Option<TargetName>, inline, default = "spans")]
    target: Option<String>,
    /// Inclusive start of the window: RFC 3339 or nanoseconds since the epoch. Defaults to
    /// one hour before `end`; must be before `end`.
    start: Option<String>,
    /// Exclusive end of the window: RFC 3339 or nanoseconds since the epoch. Defaults to now.
    end: Option<String>,
    /// Most entries returned, most frequent first: 1 to 1000; outside is a 400.
    #[param(minimum = 1, maximum = 1000, default = 100)]
    limit: Option<usize>,
}

/// Keys seen in the window
///
/// Intrinsic fields and attribute keys, most frequent first, each with how many records of
/// the window have it: whole hours from statistics kept at ingest, the partial hours at the
/// window's edges from the records themselves (a partial hour of more than 50,000 records
/// is counted whole). Every built-in field of the target is listed, with a count of
/// 0 when no record in the window has it; an attribute whose plain key would read
/// something else (a built-in field or its short alias, such as `name` or `service`) is
/// listed with its scope (`span.name`, `resource.service`).
#[utoipa::path(
    get,
    path = "/api/v1/keys",
    operation_id = "listKeys",
    tag = "autocomplete",
    params(KeyParams),
    responses((status = 200, description = "The keys.", body = KeyList), QueryFailures),
)]
pub(super) async fn keys(
    State(state): State<ApiState>,
    headers: HeaderMap,
    Query(p): Query<KeyParams>,
) -> Result<Json<KeyList>, ApiError> {
    let project_id = project_of(&state, &headers)?;
    let (start_ns, end_ns) = time_window(p.start.as_deref(), p.end.as_deref(), DEFAULT_WINDOW_NS)?;
    let keys = state
        .store
        .keys(&KeysQuery {
            project_id,
            target: TargetName::parse(p.target.as_deref())?.target(),
            start_ns,
            end_ns,
            prefix: p.prefix.unwrap_or_default(),
            limit: bounded("limit", p.limit, DEFAULT_KEYS, MAX_KEYS)?,
        })
        .await?;
    Ok(Json(KeyList { keys }))
}

/// Top values of a key
///
/// The most frequent values of one key in the window, counted like the keys: whole hours
/// from statistics kept at ingest, partial hours from the records.
#[utoipa::path(
    get,
    path = "/api/v1/keys/{key}/values",
    operation_id = "listValues",
    tag = "autocomplete",
    params(
        (
            "key" = String,
            Path,
            description = "A key as listed by `/api/v1/keys` or typed in queries (`service`, \
                           `http.route`, `resource.host.name` …).",
        ),
        KeyParams,
    ),
    responses((status = 200, description = "The values.", body = ValueList), QueryFailures),
)]
pub(super) async fn values(
    State(state): State<ApiState>,
    headers: HeaderMap,
    Path(key): Path<String>,
    Query(p): Query<KeyParams>,
) -> Result<Json<ValueList>, ApiError> {
    let project_id = project_of(&state, &headers)?;
    let (start_ns, end_ns) = time_window(p.start.as_deref(), p.end.as_deref(), DEFAULT_WINDOW_NS)?;
    let target = TargetName::parse(p.target.as_deref())?.target();
    let values = state
        .store
        .values(&ValuesQuery {
            project_id,
            target,
            field: resolve_key(&key, target),
            start_ns,
            end_ns,
            prefix: p.prefix.unwrap_or_default(),
            limit: bounded("limit", p.limit, DEFAULT_KEYS, MAX_KEYS)?,
        })
        .await?;
    Ok(Json(ValueList { key, values }))
}
