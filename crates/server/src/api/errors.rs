//! Error groups: occurrences grouped by fingerprint, and one group's page.

use axum::Json;
use axum::extract::State;
use axum::http::HeaderMap;
use serde::{Deserialize, Serialize};
use tracehouse_model::ErrorOccurrence;
use tracehouse_store_api::{
    ErrorGroup, ErrorGroups, ErrorGroupsQuery, ErrorQuery, MAX_SEARCH_LIMIT,
};
use utoipa::{IntoParams, ToSchema};

use super::failure::{ErrorBody, QueryFailures};
use super::params::{DEFAULT_LIMIT, DEFAULT_WINDOW_NS, MAX_BUCKETS, bounded, time_window};
use super::{ApiError, ApiState, project_of};
use crate::extract::{Path, Query};

/// Default number of error groups listed.
const DEFAULT_GROUPS: usize = 50;
/// Default number of trend buckets of an error group.
const DEFAULT_TREND_BUCKETS: usize = 24;

/// One error group and its occurrences.
#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorGroupDetail {
    /// The group's numbers and trend in the window.
    pub group: ErrorGroup,
    /// Occurrences in the window, newest first.
    pub occurrences: Vec<ErrorOccurrence>,
    /// Start of the first trend bucket, ns.
    pub start_ns: i64,
    /// Trend bucket width, ns.
    pub width_ns: i64,
}

/// Query parameters of `GET /api/v1/errors/groups`.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub(super) struct GroupsParams {
    /// Only groups whose type or message contains this text (case-insensitive); blank: all.
    text: Option<String>,
    /// Only the occurrences raised by this service (the `service_name` of the span or log
    /// record they come from, exactly): groups it never raised are left out, and the counts,
    /// first and last seen, trend and example traces of the others are its own. Blank: all.
    service: Option<String>,
    /// Only the occurrences of this deployment environment (that of their span or log
    /// record). Blank: all.
    environment: Option<String>,
    /// Inclusive start of the window: RFC 3339 or nanoseconds since the epoch. Defaults to
    /// one hour before `end`; must be before `end`.
    start: Option<String>,
    /// Exclusive end of the window: RFC 3339 or nanoseconds since the epoch. Defaults to now.
    end: Option<String>,
    /// Most groups returned: 1 to 1000; outside is a 400.
    #[param(minimum = 1, maximum = 1000, default = 50)]
    limit: Option<usize>,
    /// Buckets of each group's trend over the window: 1 to 1000; outside is a 400.
    #[param(minimum = 1, maximum = 1000, default = 24)]
    buckets: Option<usize>,
}

/// Query parameters of `GET /api/v1/errors/groups/{fingerprint}`.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub(super) struct GroupParams {
    /// Inclusive start of the window: RFC 3339 or nanoseconds since the epoch. Defaults to
    /// one hour before `end`; must be before `end`.
    start: Option<String>,
    /// Exclusive end of the window: RFC 3339 or nanoseconds since the epoch. Defaults to now.
    end: Option<String>,
    /// Most occurrences returned, newest first: 1 to 1000; outside is a 400.
    #[param(minimum = 1, maximum = 1000, default = 100)]
    limit: Option<usize>,
    /// Buckets of the group's trend over the window: 1 to 1000; outside is a 400.
    #[param(minimum = 1, maximum = 1000, default = 24)]
    buckets: Option<usize>,
}

/// Error groups
///
/// Error occurrences in the window grouped by fingerprint, most occurrences first, each
/// with a trend; optionally only those of one service (a service's top errors).
#[utoipa::path(
    get,
    path = "/api/v1/errors/groups",
    operation_id = "listErrorGroups",
    tag = "errors",
    params(GroupsParams),
    responses((status = 200, description = "The groups.", body = ErrorGroups), QueryFailures),
)]
pub(super) async fn error_groups(
    State(state): State<ApiState>,
    headers: HeaderMap,
    Query(p): Query<GroupsParams>,
) -> Result<Json<ErrorGroups>, ApiError> {
    let project_id = project_of(&state, &headers)?;
    let (start_ns, end_ns) = time_window(p.start.as_deref(), p.end.as_deref(), DEFAULT_WINDOW_NS)?;
    let q = ErrorGroupsQuery {
        project_id,
        start_ns,
        end_ns,
        text: p.text.filter(|t| !t.trim().is_empty()),
        fingerprint: None,
        service: p.service.filter(|s| !s.is_empty()),
        environment: p.environment.filter(|e| !e.is_empty()),
        limit: bounded("limit", p.limit, DEFAULT_GROUPS, MAX_SEARCH_LIMIT)?,
        buckets: trend_buckets(p.buckets)?,
    };
    Ok(Json(state.store.error_groups(&q).await?))
}

/// The `buckets` of a group's trend.
fn trend_buckets(buckets: Option<usize>) -> Result<usize, ApiError> {
    bounded("buckets", buckets, DEFAULT_TREND_BUCKETS, MAX_BUCKETS)
}

/// A fingerprint from a path: 16 hex digits, answered in lowercase.
fn parse_fingerprint(text: &str) -> Result<String, ApiError> {
    if text.len() == 16 && text.bytes().all(|b| b.is_ascii_hexdigit()) {
        Ok(text.to_ascii_lowercase())
    } else {
        Err(ApiError::bad_request(format!(
            "invalid error group fingerprint {text:?}: expected 16 hex characters as listed by \
             /api/v1/errors/groups"
        )))
    }
}

/// One error group
///
/// One group's numbers and trend in the window, and its occurrences, newest first.
#[utoipa::path(
    get,
    path = "/api/v1/errors/groups/{fingerprint}",
    operation_id = "getErrorGroup",
    tag = "errors",
    params(
        (
            "fingerprint" = String,
            Path,
            description = "An error group fingerprint: 16 hex digits (either case), as listed \
                           by `/api/v1/errors/groups`.",
            pattern = "^[0-9a-fA-F]{16}$",
        ),
        GroupParams,
    ),
    responses(
        (status = 200, description = "The group.", body = ErrorGroupDetail),
        (status = 404, description = "The group has no occurrence in the window.", body = ErrorBody),
        QueryFailures,
    ),
)]
pub(super) async fn error_group(
    State(state): State<ApiState>,
    headers: HeaderMap,
    Path(fingerprint): Path<String>,
    Query(p): Query<GroupParams>,
) -> Result<Json<ErrorGroupDetail>, ApiError> {
    let project_id = project_of(&state, &headers)?;
    let fingerprint = parse_fingerprint(&fingerprint)?;
    let (start_ns, end_ns) = time_window(p.start.as_deref(), p.end.as_deref(), DEFAULT_WINDOW_NS)?;
    let q = ErrorGroupsQuery {
        project_id,
        start_ns,
        end_ns,
        text: None,
        fingerprint: Some(fingerprint.clone()),
        service: None,
        environment: None,
        limit: 1,
        buckets: trend_buckets(p.buckets)?,
    };
    let occurrences = ErrorQuery {
        project_id: q.project_id.clone(),
        start_ns: q.start_ns,
        end_ns: q.end_ns,
        fingerprint: Some(fingerprint.clone()),
        limit: bounded("limit", p.limit, DEFAULT_LIMIT, MAX_SEARCH_LIMIT)?,
        ..Default::default()
    };
    let (groups, occurrences) = futures::try_join!(
        state.store.error_groups(&q),
        state.store.errors(&occurrences),
    )?;
    let Some(group) = groups.groups.into_iter().next() else {
        return Err(ApiError::not_found(format!(
            "error group {fingerprint} has no occurrence between {} and {}: widen start/end",
            q.start_ns, q.end_ns
        )));
    };
    Ok(Json(ErrorGroupDetail {
        group,
        occurrences,
        start_ns: groups.start_ns,
        width_ns: groups.width_ns,
    }))
}
