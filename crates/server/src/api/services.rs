//! Services and their operations with rate, errors and latency (RED):
//! `GET /api/v1/services` and `GET /api/v1/services/{service}/operations`, both from the
//! span metrics (`tracehouse_store_api::metrics`), and the service map
//! (`GET /api/v1/services/graph`, `tracehouse_store_api::graph`).

use std::collections::BTreeMap;

use axum::Json;
use axum::extract::{Path, State};
use axum::http::HeaderMap;
use serde::{Deserialize, Serialize};
use tracehouse_query::plan::{CmpOp, Value};
use tracehouse_query::{Field, Filter, Intrinsic, Plan};
use tracehouse_store_api::graph::{ServiceGraph, service_graph_matching};
use tracehouse_store_api::metrics::{
    MetricDim, MetricKey, MetricSeries, MetricValue, SpanMetricsQuery,
};
use tracehouse_store_api::stats::MINUTE_NS;
use utoipa::{IntoParams, ToSchema};

use super::failure::QueryFailures;
use super::params::{DEFAULT_WINDOW_NS, time_window};
use super::span_metrics::default_step;
use super::{ApiError, ApiState, project_of};
use crate::extract::Query;

/// Points of each sparkline (at most; steps are whole minutes).
const SPARK_POINTS: i64 = 30;

/// Query parameters of the service and operation tables.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub(super) struct RedParams {
    /// Inclusive start of the range: RFC 3339 or nanoseconds (widened to its minute).
    /// Defaults to one hour before `end`.
    start: Option<String>,
    /// Exclusive end of the range: RFC 3339 or nanoseconds. Defaults to now.
    end: Option<String>,
    /// Only spans of this deployment environment (read from the spans, not the sketches:
    /// bounded like any scan of `/api/v1/metrics/spans`).
    environment: Option<String>,
    /// Row order: `name`, `rate` (the default), `error_rate`, `p50`, `p95` or `p99`;
    /// highest first except `name`.
    #[param(value_type = Option<String>)]
    sort: Option<String>,
}

/// Rate, errors and latency of a service or an operation over the range.
#[derive(Debug, Serialize, ToSchema)]
pub struct Red {
    /// Spans in the range.
    pub count: u64,
    /// Spans per second over the range.
    pub rate: f64,
    /// Fraction of spans with an error, 0 to 1.
    pub error_rate: f64,
    /// Median duration, ns (within 1 %).
    pub p50: f64,
    /// 95th percentile duration, ns.
    pub p95: f64,
    /// 99th percentile duration, ns.
    pub p99: f64,
    /// The same per step (at most 30 steps), for sparklines; steps without spans are left
    /// out.
    pub sparkline: Vec<RedPoint>,
}

/// One step of a sparkline.
#[derive(Debug, Serialize, ToSchema)]
pub struct RedPoint {
    /// Start of the step, ns.
    pub t: i64,
    /// Spans.
    pub count: u64,
    /// Spans with an error.
    pub errors: u64,
    /// 95th percentile duration, ns.
    pub p95: f64,
}

/// One service's row.
#[derive(Debug, Serialize, ToSchema)]
pub struct ServiceRed {
    /// Service name.
    pub service: String,
    /// Its numbers.
    pub red: Red,
}

/// One operation's row.
#[derive(Debug, Serialize, ToSchema)]
pub struct OperationRed {
    /// Span name.
    pub name: String,
    /// Span kind.
    pub kind: String,
    /// Its numbers.
    pub red: Red,
}

/// The service table.
#[derive(Debug, Serialize, ToSchema)]
pub struct ServiceList {
    /// Start of the range (widened to its minute), ns.
    pub start_ns: i64,
    /// End of the range (widened to whole minutes), ns.
    pub end_ns: i64,
    /// Sparkline step, ns.
    pub step_ns: i64,
    /// Services, in the requested order.
    pub services: Vec<ServiceRed>,
    /// More than 50 services had spans: only the 50 with the most spans are listed.
    pub truncated: bool,
}

/// The operations of one service.
#[derive(Debug, Serialize, ToSchema)]
pub struct OperationList {
    /// The service.
    pub service: String,
    /// Start of the range (widened to its minute), ns.
    pub start_ns: i64,
    /// End of the range (widened to whole minutes), ns.
    pub end_ns: i64,
    /// Sparkline step, ns.
    pub step_ns: i64,
    /// Operations (span name and kind), in the requested order.
    pub operations: Vec<OperationRed>,
    /// More than 50 operations had spans: only the 50 with the most spans are listed.
    pub truncated: bool,
}

/// The orders of `sort`.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Order {
    Name,
    Rate,
    ErrorRate,
    P50,
    P95,
    P99,
}

impl Order {
    fn parse(text: Option<&str>) -> Result<Order, ApiError> {
        Ok(match text.unwrap_or("") {
            "" | "rate" => Order::Rate,
            "name" => Order::Name,
            "error_rate" => Order::ErrorRate,
            "p50" => Order::P50,
            "p95" => Order::P95,
            "p99" => Order::P99,
            other => {
                return Err(ApiError::bad_request(format!(
                    "unknown sort {other:?}: use name, rate, error_rate, p50, p95 or p99"
                )));
            }
        })
    }

    /// The sort key of a row (higher first), `None` for `name`.
    fn key(self, r: &Red) -> Option<f64> {
        match self {
            Order::Name => None,
            Order::Rate => Some(r.rate),
            Order::ErrorRate => Some(r.error_rate),
            Order::P50 => Some(r.p50),
            Order::P95 => Some(r.p95),
            Order::P99 => Some(r.p99),
        }
    }

    /// Sorts rows with their names.
    fn sort<T>(self, rows: &mut [T], of: impl Fn(&T) -> (&str, &Red)) {
        rows.sort_by(|a, b| {
            let ((na, ra), (nb, rb)) = (of(a), of(b));
            match (self.key(ra), self.key(rb)) {
                (Some(x), Some(y)) => y.total_cmp(&x).then_with(|| na.cmp(nb)),
                _ => na.cmp(nb),
            }
        });
    }
}

/// An equality filter on a built-in field.
fn equals(intrinsic: Intrinsic, value: &str) -> Filter {
    Filter::Cmp {
        field: Field::Intrinsic(intrinsic),
        op: CmpOp::Eq,
        value: Value::Str(value.to_string()),
    }
}

/// The spans of the `environment` parameter: its deployment environment, none when blank.
fn environment_filter(environment: Option<&str>) -> Option<Filter> {
    environment
        .filter(|e| !e.is_empty())
        .map(|e| equals(Intrinsic::Environment, e))
}

/// The span metrics request of a RED table: spans matching `filters` split by `by`.
fn red_query(
    project_id: String,
    p: &RedParams,
    mut filters: Vec<Filter>,
    by: &[MetricDim],
) -> Result<SpanMetricsQuery, ApiError> {
    let (start_ns, end_ns) = time_window(p.start.as_deref(), p.end.as_deref(), DEFAULT_WINDOW_NS)?;
    filters.extend(environment_filter(p.environment.as_deref()));
    let step_ns = default_step(end_ns.saturating_sub(start_ns), SPARK_POINTS);
    Ok(SpanMetricsQuery {
        project_id,
        plan: Plan {
            pushdown: Filter::And(filters),
            structure: None,
        },
        start_ns,
        end_ns,
        step_ns,
        by: by.iter().map(|d| MetricKey::of_dim(*d)).collect(),
        value: MetricValue::Duration,
    })
}

/// A series' numbers over a range of `seconds`.
fn red_of(s: &MetricSeries, seconds: f64) -> Red {
    let t = &s.total;
    Red {
        count: t.count,
        rate: t.count as f64 / seconds,
        error_rate: t.errors as f64 / t.count.max(1) as f64,
        p50: t.p50,
        p95: t.p95,
        p99: t.p99,
        sparkline: s
            .points
            .iter()
            .map(|p| RedPoint {
                t: p.t,
                count: p.count,
                errors: p.errors,
                p95: p.p95,
            })
            .collect(),
    }
}

/// The answer's range end and length in seconds.
fn range_of(q: &SpanMetricsQuery) -> (i64, f64) {
    let (first, end) = q.minutes();
    (end * MINUTE_NS, ((end - first) * MINUTE_NS) as f64 / 1e9)
}

/// Services with rate, errors and latency
///
/// Every service with spans in the range (the 50 with the most spans): spans per second,
/// error fraction, p50/p95/p99 duration and a sparkline, from the sketches kept at ingest.
#[utoipa::path(
    get,
    path = "/api/v1/services",
    operation_id = "listServices",
    tag = "metrics",
    params(RedParams),
    responses((status = 200, description = "The services.", body = ServiceList), QueryFailures),
)]
pub(super) async fn services(
    State(state): State<ApiState>,
    headers: HeaderMap,
    Query(p): Query<RedParams>,
) -> Result<Json<ServiceList>, ApiError> {
    let project_id = project_of(&state, &headers)?;
    let order = Order::parse(p.sort.as_deref())?;
    let q = red_query(project_id, &p, Vec::new(), &[MetricDim::Service])?;
    let answer = state.store.span_metrics(&q).await?;
    let (end_ns, seconds) = range_of(&q);
    let mut services: Vec<ServiceRed> = answer
        .series
        .iter()
        .map(|s| ServiceRed {
            service: label(&s.labels, MetricDim::Service),
            red: red_of(s, seconds),
        })
        .collect();
    order.sort(&mut services, |r| (&r.service, &r.red));
    Ok(Json(ServiceList {
        start_ns: answer.start_ns,
        end_ns,
        step_ns: answer.step_ns,
        services,
        truncated: answer.series_truncated,
    }))
}

/// A series' value of a dimension.
fn label(labels: &BTreeMap<String, String>, d: MetricDim) -> String {
    labels.get(d.label()).cloned().unwrap_or_default()
}

/// Operations of a service
///
/// Every operation (span name and kind) of one service with spans in the range (the 50
/// with the most spans), with the same numbers as the service table.
#[utoipa::path(
    get,
    path = "/api/v1/services/{service}/operations",
    operation_id = "listOperations",
    tag = "metrics",
    params(("service" = String, Path, description = "The service name."), RedParams),
    responses((status = 200, description = "The operations.", body = OperationList), QueryFailures),
)]
pub(super) async fn operations(
    State(state): State<ApiState>,
    headers: HeaderMap,
    Path(service): Path<String>,
    Query(p): Query<RedParams>,
) -> Result<Json<OperationList>, ApiError> {
    let project_id = project_of(&state, &headers)?;
    let order = Order::parse(p.sort.as_deref())?;
    let filters = vec![equals(Intrinsic::ServiceName, &service)];
    let q = red_query(project_id, &p, filters, &[MetricDim::Name, MetricDim::Kind])?;
    let answer = state.store.span_metrics(&q).await?;
    let (end_ns, seconds) = range_of(&q);
    let mut operations: Vec<OperationRed> = answer
        .series
        .iter()
        .map(|s| OperationRed {
            name: label(&s.labels, MetricDim::Name),
            kind: label(&s.labels, MetricDim::Kind),
            red: red_of(s, seconds),
        })
        .collect();
    order.sort(&mut operations, |r| (&r.name, &r.red));
    Ok(Json(OperationList {
        service,
        start_ns: answer.start_ns,
        end_ns,
        step_ns: answer.step_ns,
        operations,
        truncated: answer.series_truncated,
    }))
}

/// Query parameters of the service map.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub(super) struct GraphParams {
    /// Inclusive start of the range: RFC 3339 or nanoseconds. Defaults to one hour before
    /// `end`.
    start: Option<String>,
    /// Exclusive end of the range: RFC 3339 or nanoseconds. Defaults to now.
    end: Option<String>,
    /// Only spans of this deployment environment: its calls, callees and services (read
    /// from the spans, bounded like the rest of the map).
    environment: Option<String>,
}

/// The service map
///
/// Services and the uninstrumented peers they call (databases from `db.system`/`db.name`,
/// queues from `messaging.system`/destination, hosts from `peer.service`/`server.address`),
/// with caller → callee edges: calls, errors and p50/p95 of the caller's durations. Edges
/// are formed at query time: a call (client or producer span starting in the range) meets
/// its callee (a server or consumer span of another service whose parent it is) when the
/// callee starts from `skew_window_ns` (1 minute) before the range to `join_window_ns`
/// (5 minutes) after it, whichever request
/// brought it; a call without one goes to the peer its attributes name. Each step reads at
/// most 100,000 spans (more is a 400: narrow the range). With `environment`, the map of that
/// deployment environment's spans only.
#[utoipa::path(
    get,
    path = "/api/v1/services/graph",
    operation_id = "serviceGraph",
    tag = "metrics",
    params(GraphParams),
    responses((status = 200, description = "The map.", body = ServiceGraph), QueryFailures),
)]
pub(super) async fn graph(
    State(state): State<ApiState>,
    headers: HeaderMap,
    Query(p): Query<GraphParams>,
) -> Result<Json<ServiceGraph>, ApiError> {
    let project_id = project_of(&state, &headers)?;
    let window = time_window(p.start.as_deref(), p.end.as_deref(), DEFAULT_WINDOW_NS)?;
    let filter = environment_filter(p.environment.as_deref()).unwrap_or(Filter::True);
    let store = state.store.as_ref();
    Ok(Json(
        service_graph_matching(store, &project_id, window, &filter).await?,
    ))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, reason = "tests")]

    use super::*;

    fn red(rate: f64, p99: f64) -> Red {
        Red {
            count: 1,
            rate,
            error_rate: 0.0,
            p50: 0.0,
            p95: 0.0,
            p99,
            sparkline: Vec::new(),
        }
    }

    #[test]
    fn rows_sort_by_the_chosen_number_then_name() {
        let mut rows = vec![
            ("b", red(1.0, 5.0)),
            ("a", red(1.0, 9.0)),
            ("c", red(3.0, 1.0)),
        ];
        Order::parse(None).unwrap().sort(&mut rows, |r| (r.0, &r.1));
        assert_eq!(rows.iter().map(|r| r.0).collect::<String>(), "cab");
        Order::parse(Some("p99"))
            .unwrap()
            .sort(&mut rows, |r| (r.0, &r.1));
        assert_eq!(rows.iter().map(|r| r.0).collect::<String>(), "abc");
        Order::parse(Some("name"))
            .unwrap()
            .sort(&mut rows, |r| (r.0, &r.1));
        assert_eq!(rows.iter().map(|r| r.0).collect::<String>(), "abc");
        assert!(Order::parse(Some("latency")).is_err());
    }
}
