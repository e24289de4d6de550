//! The Monitor tab's API: `GET /api/metrics/latencies?quantile=`, `/calls` and `/errors`
//! answer one Jaeger `MetricFamily` (its protobuf's JSON: `name`, `type` GAUGE, `help`,
//! `metrics[]` of `labels` `service_name` and, with `groupByOperation`, `operation`, and
//! `metricPoints[]` of `gaugeValue.doubleValue` at an RFC 3339 `timestamp`) from the span
//! metrics kept at ingest; `/minstep` the smallest step, in ms.
//!
//! Parameters as Jaeger takes them: `service` (repeated, required), `groupByOperation`,
//! `spanKind` (repeated, default `server`), `tag`/`tags`, and in milliseconds `endTs`
//! (default now), `lookback` (1 h), `step` (5 s) and `ratePer` (10 min). As Jaeger's
//! Prometheus queries compute them, each point is the window of `ratePer` that ends at its
//! timestamp: the calls per second in it, the fraction of them with an error, or a
//! percentile of their durations in ms. The span metrics are kept per minute, so `step` and
//! `ratePer` are rounded up to whole minutes and windows end on whole minutes (the last one
//! at or after `endTs`); the quantiles are those kept (0.5, 0.75, 0.9, 0.95, 0.99), each
//! within 1 %. A window without calls has no latency or error point.

use std::collections::{BTreeMap, BTreeSet};

use axum::extract::{Query, State};
use axum::http::HeaderMap;
use axum::routing::get;
use axum::{Json, Router};
use chrono::{DateTime, SecondsFormat};
use serde_json::{Value, json};
use tracehouse_query::plan::kind_name;
use tracehouse_query::{Field, Filter, Intrinsic, Plan};
use tracehouse_store_api::metrics::{
    MAX_POINTS, MetricDim, MetricKey, MetricPoint, MetricValue, PERCENTILES, SpanMetricsQuery,
};
use tracehouse_store_api::stats::MINUTE_NS;

use super::super::project;
use super::envelope::envelope;
use super::params::{all, first, millis, now_ms, parse_error, tags};
use super::{ApiState, JaegerError, exact, tag_filter};

const DEFAULT_LOOKBACK_MS: i64 = 3_600_000;
const DEFAULT_STEP_MS: i64 = 5_000;
const DEFAULT_RATE_PER_MS: i64 = 600_000;
/// Most points of one series (Prometheus' own bound).
const MAX_SERIES_POINTS: i64 = 11_000;
/// Most reads of the span metrics one request makes (one per grid of windows).
const MAX_READS: usize = 64;

pub(super) fn router() -> Router<ApiState> {
    Router::new()
        .route("/api/metrics/latencies", get(latencies))
        .route("/api/metrics/calls", get(calls))
        .route("/api/metrics/errors", get(errors))
        .route("/api/metrics/minstep", get(min_step))
}

/// What a family measures.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Measure {
    /// A kept percentile of the durations, ms.
    Latency(f64),
    /// Calls per second.
    Calls,
    /// Calls with an error, as a fraction of the calls.
    Errors,
}

impl Measure {
    /// The family's name and help, as Jaeger's Prometheus reader gives them.
    fn name_and_help(self, by_operation: bool) -> (String, String) {
        let (name, help) = match self {
            Measure::Latency(q) => (
                "latencies",
                format!("{q:.2}th quantile latency, grouped by service"),
            ),
            Measure::Calls => ("call_rate", "calls/sec, grouped by service".into()),
            Measure::Errors => (
                "error_rate",
                "error rate, computed as a fraction of errors/sec over calls/sec, grouped by service"
                    .into(),
            ),
        };
        if by_operation {
            (format!("service_operation_{name}"), help + " & operation")
        } else {
            (format!("service_{name}"), help)
        }
    }

    /// The value of a window's spans (`None`: the window has none), if it has one.
    fn of(self, p: Option<&MetricPoint>, window_s: f64) -> Option<f64> {
        let spans = p.filter(|p| p.count > 0);
        match self {
            Measure::Calls => Some(spans.map_or(0.0, |p| p.count as f64 / window_s)),
            Measure::Errors => spans.map(|p| p.errors as f64 / p.count as f64),
            Measure::Latency(q) => spans.and_then(|p| p.percentile(q)).map(|v| v / 1e6),
        }
    }
}

/// `quantile`: one of the kept percentiles.
fn quantile(pairs: &[(String, String)]) -> Result<f64, JaegerError> {
    let text = first(pairs, "quantile").unwrap_or_default();
    let q: f64 = text.parse().map_err(|e| parse_error("quantile", e))?;
    if PERCENTILES.iter().any(|k| (k - q).abs() < 1e-9) {
        Ok(q)
    } else {
        Err(parse_error(
            "quantile",
            format!("{q} is not a kept quantile: use 0.5, 0.75, 0.9, 0.95 or 0.99"),
        ))
    }
}

/// A parsed request.
#[derive(Debug)]
struct MetricsRequest {
    plan: Plan,
    by_operation: bool,
    /// Ends of the windows, ns, oldest first (whole minutes).
    ends: Vec<i64>,
    /// Width of a window, ns (whole minutes).
    window_ns: i64,
}

/// A boolean as Go's `strconv.ParseBool` reads it.
fn go_bool(text: &str) -> Option<bool> {
    match text {
        "1" | "t" | "T" | "true" | "TRUE" | "True" => Some(true),
        "0" | "f" | "F" | "false" | "FALSE" | "False" => Some(false),
        _ => None,
    }
}

/// A positive duration parameter in ms, rounded up to whole minutes, in ns.
fn minutes(pairs: &[(String, String)], name: &str, default_ms: i64) -> Result<i64, JaegerError> {
    let ns = millis(pairs, name, || default_ms)?;
    if ns <= 0 {
        return Err(parse_error(name, "must be a positive number of ms"));
    }
    Ok((ns + MINUTE_NS - 1) / MINUTE_NS * MINUTE_NS)
}

/// The filter of the services, span kinds and tags asked for.
fn plan(pairs: &[(String, String)]) -> Result<Plan, JaegerError> {
    let services: Vec<Filter> = all(pairs, "service")
        .filter(|s| !s.is_empty())
        .map(|s| exact(Field::Intrinsic(Intrinsic::ServiceName), s))
        .collect();
    if services.is_empty() {
        return Err(parse_error(
            "service",
            "please provide at least one service name",
        ));
    }
    let asked: Vec<&String> = all(pairs, "spanKind").collect();
    let kinds = if asked.is_empty() {
        vec!["server"]
    } else {
        asked
            .iter()
            .map(|k| {
                kind_name(k)
                    .ok_or_else(|| parse_error("spanKind", format!("unsupported span kind: '{k}'")))
            })
            .collect::<Result<_, _>>()?
    };
    let kinds = kinds
        .into_iter()
        .map(|k| exact(Field::Intrinsic(Intrinsic::SpanKind), k))
        .collect();
    let mut filters = vec![Filter::Or(services), Filter::Or(kinds)];
    filters.extend(tags(pairs)?.iter().map(|(k, v)| tag_filter(k, v)));
    Ok(Plan {
        pushdown: Filter::And(filters).simplify(),
        structure: None,
    })
}

impl MetricsRequest {
    fn parse(pairs: &[(String, String)]) -> Result<MetricsRequest, JaegerError> {
        let plan = plan(pairs)?;
        let by_operation = match first(pairs, "groupByOperation") {
            None => false,
            Some(t) => go_bool(t)
                .ok_or_else(|| parse_error("groupByOperation", format!("invalid syntax {t:?}")))?,
        };
        let end_ns = millis(pairs, "endTs", now_ms)?;
        let lookback_ns = minutes(pairs, "lookback", DEFAULT_LOOKBACK_MS)?;
        let step_ns = minutes(pairs, "step", DEFAULT_STEP_MS)?;
        let window_ns = minutes(pairs, "ratePer", DEFAULT_RATE_PER_MS)?;
        if lookback_ns / step_ns >= MAX_SERIES_POINTS {
            return Err(JaegerError::bad_request(format!(
                "lookback / step is more than {MAX_SERIES_POINTS} points: choose a larger step"
            )));
        }
        let last = end_ns.div_euclid(MINUTE_NS) * MINUTE_NS
            + if end_ns.rem_euclid(MINUTE_NS) == 0 {
                0
            } else {
                MINUTE_NS
            };
        let first_end = end_ns.saturating_sub(lookback_ns);
        let mut ends: Vec<i64> = (0..)
            .map(|i| last - i * step_ns)
            .take_while(|t| *t >= first_end)
            .collect();
        ends.reverse();
        Ok(MetricsRequest {
            plan,
            by_operation,
            ends,
            window_ns,
        })
    }

    /// The reads that cover every window: `[start, end)` ranges of the span metrics in steps
    /// of one window, one per grid of window ends (ends a whole number of windows apart), split
    /// where a read would have more than [`MAX_POINTS`] steps.
    fn reads(&self) -> Result<Vec<(i64, i64)>, JaegerError> {
        let w = self.window_ns;
        let mut grids: BTreeMap<i64, Vec<i64>> = BTreeMap::new();
        for &t in &self.ends {
            grids.entry(t.rem_euclid(w)).or_default().push(t);
        }
        let most = w * MAX_POINTS as i64;
        let mut reads = Vec::new();
        for ends in grids.values() {
            let (mut from, mut to) = (ends[0], ends[0]);
            for &t in &ends[1..] {
                if t - from >= most {
                    reads.push((from - w, to));
                    from = t;
                }
                to = t;
            }
            reads.push((from - w, to));
        }
        if reads.len() > MAX_READS {
            return Err(JaegerError::bad_request(format!(
                "this step and ratePer need {} reads of the span metrics, more than {MAX_READS}: \
                 choose a step that divides ratePer, or a shorter lookback",
                reads.len()
            )));
        }
        Ok(reads)
    }

    /// The `by` keys: the service, and the span name by operation.
    fn keys(&self) -> Vec<MetricKey> {
        let mut keys = vec![MetricKey::of_dim(MetricDim::Service)];
        if self.by_operation {
            keys.push(MetricKey::of_dim(MetricDim::Name));
        }
        keys
    }
}

/// Each series' window points by window end, by its label values (service, operation).
type Windows = BTreeMap<Vec<String>, BTreeMap<i64, MetricPoint>>;

/// Reads the span metrics of every window.
async fn windows(
    state: &ApiState,
    project: &str,
    r: &MetricsRequest,
) -> Result<Windows, JaegerError> {
    let wanted: BTreeSet<i64> = r.ends.iter().copied().collect();
    let keys = r.keys();
    let mut out = Windows::new();
    for (start_ns, end_ns) in r.reads()? {
        let answer = state
            .store
            .span_metrics(&SpanMetricsQuery {
                project_id: project.to_string(),
                plan: r.plan.clone(),
                start_ns,
                end_ns,
                step_ns: r.window_ns,
                by: keys.clone(),
                value: MetricValue::Duration,
            })
            .await?;
        for s in answer.series {
            let labels: Vec<String> = keys
                .iter()
                .map(|k| s.labels.get(&k.label).cloned().unwrap_or_default())
                .collect();
            let points = out.entry(labels).or_default();
            for p in s.points {
                let end = p.t + r.window_ns;
                if wanted.contains(&end) {
                    points.insert(end, p);
                }
            }
        }
    }
    Ok(out)
}

/// A label as protobuf's JSON writes it (an empty value left out).
fn label(name: &str, value: &str) -> Value {
    if value.is_empty() {
        json!({ "name": name })
    } else {
        json!({ "name": name, "value": value })
    }
}

/// RFC 3339 of a time in ns, as protobuf's JSON writes a `Timestamp`.
fn timestamp(ns: i64) -> String {
    DateTime::from_timestamp_nanos(ns).to_rfc3339_opts(SecondsFormat::AutoSi, true)
}

/// The family of a measure over the windows.
fn family(measure: Measure, r: &MetricsRequest, windows: &Windows) -> Value {
    let (name, help) = measure.name_and_help(r.by_operation);
    let window_s = r.window_ns as f64 / 1e9;
    let metrics: Vec<Value> = windows
        .iter()
        .map(|(labels, points)| {
            let names = ["service_name", "operation"];
            let labels: Vec<Value> = names.iter().zip(labels).map(|(n, v)| label(n, v)).collect();
            let points: Vec<Value> = r
                .ends
                .iter()
                .filter_map(|end| {
                    let v = measure.of(points.get(end), window_s)?;
                    Some(
                        json!({ "gaugeValue": { "doubleValue": v }, "timestamp": timestamp(*end) }),
                    )
                })
                .collect();
            json!({ "labels": labels, "metricPoints": points })
        })
        .collect();
    json!({ "name": name, "type": "GAUGE", "help": help, "metrics": metrics })
}

/// Answers one measure.
async fn answer(
    state: &ApiState,
    headers: &HeaderMap,
    pairs: &[(String, String)],
    measure: Measure,
) -> Result<Json<Value>, JaegerError> {
    let project = project(state, headers)?;
    let r = MetricsRequest::parse(pairs)?;
    let windows = windows(state, &project, &r).await?;
    Ok(Json(family(measure, &r, &windows)))
}

/// `GET /api/metrics/latencies`.
async fn latencies(
    State(state): State<ApiState>,
    headers: HeaderMap,
    Query(pairs): Query<Vec<(String, String)>>,
) -> Result<Json<Value>, JaegerError> {
    let q = quantile(&pairs)?;
    answer(&state, &headers, &pairs, Measure::Latency(q)).await
}

/// `GET /api/metrics/calls`.
async fn calls(
    State(state): State<ApiState>,
    headers: HeaderMap,
    Query(pairs): Query<Vec<(String, String)>>,
) -> Result<Json<Value>, JaegerError> {
    answer(&state, &headers, &pairs, Measure::Calls).await
}

/// `GET /api/metrics/errors`.
async fn errors(
    State(state): State<ApiState>,
    headers: HeaderMap,
    Query(pairs): Query<Vec<(String, String)>>,
) -> Result<Json<Value>, JaegerError> {
    answer(&state, &headers, &pairs, Measure::Errors).await
}

/// `GET /api/metrics/minstep`: one minute, the span metrics' resolution, in ms.
async fn min_step(
    State(state): State<ApiState>,
    headers: HeaderMap,
) -> Result<Json<Value>, JaegerError> {
    project(&state, &headers)?;
    Ok(envelope(json!(MINUTE_NS / 1_000_000), 0))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs(query: &str) -> Vec<(String, String)> {
        query
            .split('&')
            .filter_map(|p| p.split_once('='))
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    fn request(query: &str) -> MetricsRequest {
        MetricsRequest::parse(&pairs(query)).unwrap_or_else(|e| panic!("{query}: {e:?}"))
    }

    #[test]
    fn windows_end_on_minutes_and_reads_cover_them_once_per_grid() {
        // The UI's request: an hour in steps of a minute, rates over ten minutes.
        let end_ms: i64 = 1_767_225_600_000 + 30_000;
        let r = request(&format!(
            "service=a&endTs={end_ms}&lookback=3600000&step=60000&ratePer=600000"
        ));
        assert_eq!(r.ends.len(), 61, "both ends, as a Prometheus range");
        assert_eq!(*r.ends.last().unwrap(), 1_767_225_660_000_000_000);
        assert!(r.ends.windows(2).all(|w| w[1] - w[0] == MINUTE_NS));
        let reads = r.reads().unwrap();
        assert_eq!(reads.len(), 10, "one grid per minute of the window");
        assert!(reads.iter().all(|(s, e)| (e - s) % (10 * MINUTE_NS) == 0));
        // A step that is a multiple of the window: one read.
        let r = request("service=a&endTs=600000&lookback=600000&step=120000&ratePer=60000");
        assert_eq!(r.ends, [0, 2, 4, 6, 8, 10].map(|m| m * MINUTE_NS));
        assert_eq!(r.reads().unwrap(), [(-MINUTE_NS, 10 * MINUTE_NS)]);
        // Defaults: step 5 s rounds up to a minute.
        assert_eq!(request("service=a").window_ns, 10 * MINUTE_NS);
    }

    #[test]
    fn bad_parameters_are_refused() {
        for bad in [
            "",
            "service=",
            "service=a&groupByOperation=yes",
            "service=a&spanKind=sideways",
            "service=a&endTs=soon",
            "service=a&step=0",
            "service=a&ratePer=-5",
            "service=a&tag=novalue",
            "service=a&lookback=31536000000&step=60000",
            "service=a&step=60000&ratePer=7140000&lookback=86400000",
        ] {
            let r = MetricsRequest::parse(&pairs(bad)).and_then(|r| r.reads().map(|_| ()));
            assert!(r.is_err(), "{bad}");
        }
        assert!(quantile(&pairs("quantile=0.95")).is_ok());
        for bad in ["", "quantile=x", "quantile=0.42"] {
            assert!(quantile(&pairs(bad)).is_err(), "{bad}");
        }
    }

    #[test]
    fn families_are_named_as_jaeger_names_them() {
        let (name, help) = Measure::Latency(0.95).name_and_help(false);
        assert_eq!(name, "service_latencies");
        assert_eq!(help, "0.95th quantile latency, grouped by service");
        let (name, help) = Measure::Errors.name_and_help(true);
        assert_eq!(name, "service_operation_error_rate");
        assert!(help.ends_with("grouped by service & operation"));
        assert_eq!(timestamp(1_767_225_600_000_000_000), "2026-01-01T00:00:00Z");
    }
}
