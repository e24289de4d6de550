//! Alert rules of the project: created, listed with their state, read, replaced and
//! deleted, and each rule's history. A rule is checked before it is stored: its query
//! parses (a 400 with the position otherwise), its function fits its source, its window,
//! interval and channel URLs are within bounds (`AlertRule::check`).

use std::hash::{DefaultHasher, Hash, Hasher};

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use serde::{Deserialize, Serialize};
use tracehouse_store_api::alerts::{
    AlertChannel, AlertFunction, AlertSource, Comparison, MAX_HISTORY_PER_RULE,
};
use tracehouse_store_api::{AlertEvent, AlertRule, AlertState};
use utoipa::{IntoParams, ToSchema};

use super::failure::{ErrorBody, QueryFailures};
use super::params::bounded;
use super::{ApiError, ApiState, project_of};
use crate::alerts::measure::rule_plan;
use crate::extract::{self, Path, Query};
use crate::time::now_ns;

/// A rule and where it stands.
#[derive(Debug, Serialize, ToSchema)]
pub struct AlertView {
    /// The rule.
    pub rule: AlertRule,
    /// Its state after the last evaluation (null before the first).
    pub state: Option<AlertState>,
}

/// The project's alert rules.
#[derive(Debug, Serialize, ToSchema)]
pub struct AlertList {
    /// By id.
    pub alerts: Vec<AlertView>,
}

/// A rule's history.
#[derive(Debug, Serialize, ToSchema)]
pub struct AlertHistory {
    /// Newest first.
    pub events: Vec<AlertEvent>,
}

/// What a rule holds besides its id and time (the server's).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct AlertBody {
    /// A name for people (1 to 200 bytes).
    name: String,
    /// What the rule reads: `spans`, `logs` or `errors`.
    source: AlertSource,
    /// The query: the tracehouse query language for spans and logs, a text filter on type
    /// and message for errors; empty matches everything.
    #[serde(default)]
    query: String,
    /// `count`, `rate` (per second), `error_rate` (0 to 1), `p50` … `p99` (span durations,
    /// ms) or `new_error_group` (errors).
    function: AlertFunction,
    /// Seconds of data each evaluation reads (1 to 86400).
    window_s: i64,
    /// The value compared with.
    threshold: f64,
    /// `>`, `>=`, `<` or `<=`.
    comparison: Comparison,
    /// Seconds between evaluations (default 60).
    #[serde(default = "default_interval")]
    interval_s: i64,
    /// Seconds a breach must last before firing (default 0).
    #[serde(default)]
    for_s: i64,
    /// A key to split span rules by (e.g. `service`); empty: one group.
    #[serde(default)]
    by: String,
    /// Seconds after a notification during which the same group's next firing is not
    /// notified (default 0).
    #[serde(default)]
    cooldown_s: i64,
    /// Where notifications go: `{"kind": "webhook" | "slack", "url": "https://…"}`.
    #[serde(default)]
    channels: Vec<AlertChannel>,
}

fn default_interval() -> i64 {
    60
}

impl AlertBody {
    /// The rule of id `id`, once its query parses.
    fn into_rule(self, id: String) -> Result<AlertRule, ApiError> {
        let rule = AlertRule {
            id,
            name: self.name,
            source: self.source,
            query: self.query,
            function: self.function,
            window_s: self.window_s,
            threshold: self.threshold,
            comparison: self.comparison,
            interval_s: self.interval_s,
            for_s: self.for_s,
            by: self.by.trim().to_string(),
            cooldown_s: self.cooldown_s,
            channels: self.channels,
            saved_ns: now_ns(),
        };
        rule_plan(&rule)?;
        Ok(rule)
    }
}

/// List alert rules
///
/// The project's alert rules, by id, each with its state.
#[utoipa::path(
    get,
    path = "/api/v1/alerts",
    operation_id = "listAlerts",
    tag = "alerts",
    responses((status = 200, description = "The rules.", body = AlertList), QueryFailures),
)]
pub(super) async fn list(
    State(state): State<ApiState>,
    headers: HeaderMap,
) -> Result<Json<AlertList>, ApiError> {
    let project = project_of(&state, &headers)?;
    let mut states = state.store.alert_states(&project).await?;
    let alerts = state
        .store
        .alert_rules(&project)
        .await?
        .into_iter()
        .map(|rule| {
            let at = states.iter().position(|s| s.rule_id == rule.id);
            AlertView {
                state: at.map(|i| states.swap_remove(i)),
                rule,
            }
        })
        .collect();
    Ok(Json(AlertList { alerts }))
}

/// Create an alert rule
///
/// Checks and stores a new rule (answered once it is durable); the server evaluates it
/// from its next tick. A query that does not parse is a 400 with its position; an unknown
/// function or source, a window or interval outside 1 to 86400 s, a function the source
/// has no value for and a channel URL that is not http(s) are 400s that say so.
#[utoipa::path(
    post,
    path = "/api/v1/alerts",
    operation_id = "createAlert",
    tag = "alerts",
    request_body = AlertBody,
    responses(
        (status = 201, description = "The stored rule, with its id.", body = AlertRule),
        QueryFailures,
    ),
)]
pub(super) async fn create(
    State(state): State<ApiState>,
    headers: HeaderMap,
    extract::Json(body): extract::Json<AlertBody>,
) -> Result<(StatusCode, Json<AlertRule>), ApiError> {
    let project = project_of(&state, &headers)?;
    let rule = body.into_rule(new_id(&project))?;
    state.store.save_alert_rule(&project, rule.clone()).await?;
    Ok((StatusCode::CREATED, Json(rule)))
}

/// A rule id: 16 hex digits from the project, the time and the process.
fn new_id(project: &str) -> String {
    let mut h = DefaultHasher::new();
    (project, now_ns(), std::process::id()).hash(&mut h);
    format!("{:016x}", h.finish())
}

/// One alert rule
///
/// The project's rule of that id, with its state.
#[utoipa::path(
    get,
    path = "/api/v1/alerts/{id}",
    operation_id = "getAlert",
    tag = "alerts",
    params(("id" = String, Path, description = "The rule's id.")),
    responses(
        (status = 200, description = "The rule.", body = AlertView),
        (status = 404, description = "The project has no rule of that id.", body = ErrorBody),
        QueryFailures,
    ),
)]
pub(super) async fn get_alert(
    State(state): State<ApiState>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Result<Json<AlertView>, ApiError> {
    let project = project_of(&state, &headers)?;
    let rule = find(&state, &project, &id).await?;
    let states = state.store.alert_states(&project).await?;
    Ok(Json(AlertView {
        rule,
        state: states.into_iter().find(|s| s.rule_id == id),
    }))
}

async fn find(state: &ApiState, project: &str, id: &str) -> Result<AlertRule, ApiError> {
    let rules = state.store.alert_rules(project).await?;
    rules
        .into_iter()
        .find(|r| r.id == id)
        .ok_or_else(|| ApiError::not_found(format!("no alert rule with id {id:?}")))
}

/// Replace an alert rule
///
/// Replaces the rule of that id (checked like a new one); its state starts over.
#[utoipa::path(
    put,
    path = "/api/v1/alerts/{id}",
    operation_id = "replaceAlert",
    tag = "alerts",
    params(("id" = String, Path, description = "The rule's id.")),
    request_body = AlertBody,
    responses(
        (status = 200, description = "The stored rule.", body = AlertRule),
        (status = 404, description = "The project has no rule of that id.", body = ErrorBody),
        QueryFailures,
    ),
)]
pub(super) async fn replace(
    State(state): State<ApiState>,
    headers: HeaderMap,
    Path(id): Path<String>,
    extract::Json(body): extract::Json<AlertBody>,
) -> Result<Json<AlertRule>, ApiError> {
    let project = project_of(&state, &headers)?;
    find(&state, &project, &id).await?;
    let rule = body.into_rule(id.clone())?;
    state.store.save_alert_rule(&project, rule.clone()).await?;
    let fresh = AlertState {
        rule_id: id,
        evaluated_ns: 0,
        error: None,
        groups: Vec::new(),
    };
    state.store.put_alert_state(&project, fresh).await?;
    Ok(Json(rule))
}

/// Delete an alert rule
///
/// Deletes the rule of that id and its state; answered once the deletion is durable.
#[utoipa::path(
    delete,
    path = "/api/v1/alerts/{id}",
    operation_id = "deleteAlert",
    tag = "alerts",
    params(("id" = String, Path, description = "The rule's id.")),
    responses(
        (status = 204, description = "Deleted."),
        (status = 404, description = "The project has no rule of that id.", body = ErrorBody),
        QueryFailures,
    ),
)]
pub(super) async fn delete(
    State(state): State<ApiState>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    let project = project_of(&state, &headers)?;
    if state.store.delete_alert_rule(&project, &id).await? {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(ApiError::not_found(format!("no alert rule with id {id:?}")))
    }
}

/// Query parameters of a rule's history.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub(super) struct HistoryParams {
    /// Most entries returned: 1 to 500; outside is a 400.
    #[param(minimum = 1, maximum = 500, default = 100)]
    limit: Option<usize>,
}

/// An alert rule's history
///
/// State changes (with the query and time range of the data behind them), notification
/// deliveries (channel, attempts, outcome), suppressed notifications and failed
/// evaluations, newest first.
#[utoipa::path(
    get,
    path = "/api/v1/alerts/{id}/history",
    operation_id = "alertHistory",
    tag = "alerts",
    params(("id" = String, Path, description = "The rule's id."), HistoryParams),
    responses(
        (status = 200, description = "The history.", body = AlertHistory),
        (status = 404, description = "The project has no rule of that id.", body = ErrorBody),
        QueryFailures,
    ),
)]
pub(super) async fn history(
    State(state): State<ApiState>,
    headers: HeaderMap,
    Path(id): Path<String>,
    Query(p): Query<HistoryParams>,
) -> Result<Json<AlertHistory>, ApiError> {
    let project = project_of(&state, &headers)?;
    let limit = bounded("limit", p.limit, 100, MAX_HISTORY_PER_RULE)?;
    find(&state, &project, &id).await?;
    let events = state.store.alert_history(&project, &id, limit).await?;
    Ok(Json(AlertHistory { events }))
}
