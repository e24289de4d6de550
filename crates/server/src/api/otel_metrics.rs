//! OTLP metrics (the third signal, not the span metrics of `/api/v1/metrics/spans`): the
//! project's metrics, a metric's labels and their values for autocomplete, and one metric
//! over time. The answers are formed by `tracehouse_store_api::otel_metrics`, the same for
//! every backend.

use axum::Json;
use axum::extract::State;
use axum::http::HeaderMap;
use serde::{Deserialize, Serialize};
use tracehouse_query::Target;
use tracehouse_store_api::otel_metrics::labels::{
    LabelValue, MetricLabel, label_values, metric_labels,
};
use tracehouse_store_api::otel_metrics::query::{
    MetricFn, OtelMetricsAnswer, OtelMetricsQuery, otel_metrics,
};
use tracehouse_store_api::{MetricInfo, MetricNamesQuery, MetricPointsQuery};
use utoipa::{IntoParams, ToSchema};

use super::failure::QueryFailures;
use super::params::{DEFAULT_WINDOW_NS, QueryLang, plan_query, time_window};
use super::span_metrics::{MAX_BY, default_step};
use super::{ApiError, ApiState, project_of};
use crate::extract::{Path, Query};

/// Steps a request gets when it names no step.
const DEFAULT_STEPS: i64 = 60;

/// The window of a metrics request.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub(super) struct WindowParams {
    /// Inclusive start: RFC 3339 or nanoseconds since the epoch. Defaults to one hour
    /// before `end`.
    start: Option<String>,
    /// Exclusive end: RFC 3339 or nanoseconds. Defaults to now.
    end: Option<String>,
}

impl WindowParams {
    fn window(&self) -> Result<(i64, i64), ApiError> {
        time_window(
            self.start.as_deref(),
            self.end.as_deref(),
            DEFAULT_WINDOW_NS,
        )
    }
}

/// Query parameters of `GET /api/v1/metrics/names`.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub(super) struct NamesParams {
    /// Only the metrics a service sent (points whose resource has this `service.name`).
    service: Option<String>,
    /// Inclusive start: RFC 3339 or nanoseconds since the epoch. Defaults to one hour
    /// before `end`.
    start: Option<String>,
    /// Exclusive end: RFC 3339 or nanoseconds. Defaults to now.
    end: Option<String>,
}

/// A metric of the project and the functions a query of it takes.
#[derive(Debug, Serialize, ToSchema)]
pub struct MetricName {
    #[serde(flatten)]
    info: MetricInfo,
    /// The `fn`s of `/api/v1/metrics/query` that apply to its type, in the order of the
    /// list the query refuses others with.
    functions: Vec<String>,
}

/// The project's metrics.
#[derive(Debug, Serialize, ToSchema)]
pub struct MetricNames {
    /// One per metric with points in the window, by name.
    pub metrics: Vec<MetricName>,
}

/// A metric's labels.
#[derive(Debug, Serialize, ToSchema)]
pub struct MetricLabels {
    /// The metric.
    pub metric: String,
    /// Point attribute keys, then resource attribute keys, each by key.
    pub labels: Vec<MetricLabel>,
}

/// A label's values.
#[derive(Debug, Serialize, ToSchema)]
pub struct MetricLabelValues {
    /// The metric.
    pub metric: String,
    /// The label.
    pub key: String,
    /// Most series first (at most 1000).
    pub values: Vec<LabelValue>,
}

/// OTLP metrics
///
/// The metrics with data points in the window (of one service, if asked), with their type,
/// unit and description (of their newest point) and the functions that apply to them.
#[utoipa::path(
    get,
    path = "/api/v1/metrics/names",
    operation_id = "metricNames",
    tag = "metrics",
    params(NamesParams),
    responses((status = 200, description = "The metrics.", body = MetricNames), QueryFailures),
)]
pub(super) async fn names(
    State(state): State<ApiState>,
    headers: HeaderMap,
    Query(p): Query<NamesParams>,
) -> Result<Json<MetricNames>, ApiError> {
    let project_id = project_of(&state, &headers)?;
    let (start_ns, end_ns) = time_window(p.start.as_deref(), p.end.as_deref(), DEFAULT_WINDOW_NS)?;
    let infos = state
        .store
        .metric_names(&MetricNamesQuery {
            project_id,
            start_ns,
            end_ns,
            service: p.service.filter(|s| !s.is_empty()),
        })
        .await?;
    let metrics = infos
        .into_iter()
        .map(|info| MetricName {
            functions: MetricFn::applicable(info.metric_type)
                .into_iter()
                .map(MetricFn::name)
                .collect(),
            info,
        })
        .collect();
    Ok(Json(MetricNames { metrics }))
}

async fn points_of(
    state: &ApiState,
    headers: &HeaderMap,
    name: &str,
    p: &WindowParams,
) -> Result<Vec<tracehouse_model::MetricPoint>, ApiError> {
    let project_id = project_of(state, headers)?;
    let (start_ns, end_ns) = p.window()?;
    Ok(state
        .store
        .metric_points(&MetricPointsQuery {
            project_id,
            name: name.to_string(),
            start_ns,
            end_ns,
            filter: tracehouse_query::Filter::True,
        })
        .await?)
}

/// A metric's labels
///
/// The label keys of a metric's points in the window, with how many series carry each.
#[utoipa::path(
    get,
    path = "/api/v1/metrics/{name}/labels",
    operation_id = "metricLabels",
    tag = "metrics",
    params(("name" = String, Path, description = "The metric's name."), WindowParams),
    responses((status = 200, description = "The labels.", body = MetricLabels), QueryFailures),
)]
pub(super) async fn labels(
    State(state): State<ApiState>,
    headers: HeaderMap,
    Path(name): Path<String>,
    Query(p): Query<WindowParams>,
) -> Result<Json<MetricLabels>, ApiError> {
    let points = points_of(&state, &headers, &name, &p).await?;
    Ok(Json(MetricLabels {
        labels: metric_labels(&points),
        metric: name,
    }))
}

/// A label's values
///
/// The values of one label of a metric in the window, most series first.
#[utoipa::path(
    get,
    path = "/api/v1/metrics/{name}/labels/{key}/values",
    operation_id = "metricLabelValues",
    tag = "metrics",
    params(
        ("name" = String, Path, description = "The metric's name."),
        ("key" = String, Path, description = "A label key (a point or resource attribute)."),
        WindowParams,
    ),
    responses((status = 200, description = "The values.", body = MetricLabelValues), QueryFailures),
)]
pub(super) async fn label_values_of(
    State(state): State<ApiState>,
    headers: HeaderMap,
    Path((name, key)): Path<(String, String)>,
    Query(p): Query<WindowParams>,
) -> Result<Json<MetricLabelValues>, ApiError> {
    let points = points_of(&state, &headers, &name, &p).await?;
    Ok(Json(MetricLabelValues {
        values: label_values(&points, &key),
        metric: name,
        key,
    }))
}

/// Query parameters of `GET /api/v1/metrics/query`.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub(super) struct QueryParams {
    /// The metric's name (required).
    metric: Option<String>,
    /// Label filter, a plain filter in the tracehouse query language: point attributes
    /// (`route:/checkout`), resource attributes (`resource.host.name:web-1`), `service:x`.
    filter: Option<String>,
    /// `avg`, `sum`, `min`, `max`, `count`, `rate`, `increase`, or `p50`, `p75`, `p90`,
    /// `p95`, `p99` (histograms). Default `avg`. Gauges and summaries take the first five;
    /// percentiles need a histogram.
    #[serde(rename = "fn")]
    #[param(rename = "fn")]
    function: Option<String>,
    /// Labels to split series by, comma-separated (at most 4).
    by: Option<String>,
    /// Step between points (`30s`, `1m`, `1h`); at most 1440 steps. Default: the window in
    /// about 60 steps of whole minutes.
    step: Option<String>,
    /// Inclusive start: RFC 3339 or nanoseconds since the epoch (aligned down to the
    /// step). Defaults to one hour before `end`.
    start: Option<String>,
    /// Exclusive end: RFC 3339 or nanoseconds (aligned up to the step). Defaults to now.
    end: Option<String>,
}

fn labels_of(by: Option<&str>) -> Result<Vec<String>, ApiError> {
    let mut keys: Vec<String> = Vec::new();
    for k in by
        .unwrap_or("")
        .split(',')
        .map(str::trim)
        .filter(|k| !k.is_empty())
    {
        if keys.iter().any(|seen| seen == k) {
            return Err(ApiError::bad_request(format!("by names {k} twice")));
        }
        keys.push(k.to_string());
    }
    if keys.len() > MAX_BY {
        return Err(ApiError::bad_request(format!(
            "by names {} labels, at most {MAX_BY} are allowed",
            keys.len()
        )));
    }
    Ok(keys)
}

fn query_of(project_id: String, p: &QueryParams) -> Result<OtelMetricsQuery, ApiError> {
    let metric =
        p.metric.clone().filter(|m| !m.is_empty()).ok_or_else(|| {
            ApiError::bad_request("metric is required: see /api/v1/metrics/names")
        })?;
    let plan = plan_query(p.filter.as_deref(), QueryLang::Tracehouse, Target::Spans)?;
    if plan.structure.is_some() {
        return Err(ApiError::bad_request(
            "filter must be a plain label filter, without structure",
        ));
    }
    let (start_ns, end_ns) = time_window(p.start.as_deref(), p.end.as_deref(), DEFAULT_WINDOW_NS)?;
    let step_ns = match p.step.as_deref().filter(|s| !s.is_empty()) {
        Some(text) => match tracehouse_query::lexer::parse_duration(text.trim()) {
            tracehouse_query::lexer::DurationLit::Nanos(n) if n > 0 => n,
            _ => {
                return Err(ApiError::bad_request(format!(
                    "step {text:?} is not a duration such as 30s, 1m or 1h"
                )));
            }
        },
        None => default_step(end_ns - start_ns, DEFAULT_STEPS),
    };
    let q = OtelMetricsQuery {
        project_id,
        metric,
        filter: plan.pushdown,
        function: MetricFn::parse(p.function.as_deref().unwrap_or("avg"))?,
        by: labels_of(p.by.as_deref())?,
        start_ns,
        end_ns,
        step_ns,
    };
    Ok(q.aligned()?)
}

/// One OTLP metric over time
///
/// One function of a metric's points per step and per group of the `by` labels, plus its
/// value over the whole window, in the series shape of the span metrics, each series with
/// the exemplars of its points (their trace and span ids lead to the traces). Counter
/// resets (a later start time, or a smaller value) are handled by `rate` and `increase`;
/// percentiles come from explicit or exponential histogram buckets. At most 50 series.
#[utoipa::path(
    get,
    path = "/api/v1/metrics/query",
    operation_id = "metricQuery",
    tag = "metrics",
    params(QueryParams),
    responses((status = 200, description = "The series.", body = OtelMetricsAnswer), QueryFailures),
)]
pub(super) async fn query(
    State(state): State<ApiState>,
    headers: HeaderMap,
    Query(p): Query<QueryParams>,
) -> Result<Json<OtelMetricsAnswer>, ApiError> {
    let project_id = project_of(&state, &headers)?;
    let q = query_of(project_id, &p)?;
    Ok(Json(otel_metrics(state.store.as_ref(), &q).await?))
}
