//! TraceQL metrics: `GET /api/metrics/query_range` answers `QueryRangeResponse` (`series[]`
//! of `labels` as `KeyValue`s, `samples[]` of `timestampMs` as a decimal string and
//! `value`) and `GET /api/metrics/query` answers `QueryInstantResponse` (`series[]` of
//! `labels` and one `value`), as protobuf's JSON writes `tempo.proto`.
//!
//! Parameters as Tempo takes them: `q`; `start`/`end` as Unix seconds (up to 10 digits,
//! decimals allowed), Unix nanoseconds or RFC 3339; `since` (a duration, instead of
//! `start`, default one hour before `end`, which defaults to now); `step` (a duration or
//! seconds; default a hundredth of the range). `exemplars` is checked and ignored: no
//! exemplars are returned. The numbers are the span metrics' (kept per minute), so `step`
//! is rounded up to whole minutes and the range widened to whole minutes; rates are per
//! second of the rounded step. Quantiles are the kept ones (0.5, 0.75, 0.9, 0.95, 0.99,
//! each within 1 %); durations are in seconds as Tempo gives them. `histogram_over_time`
//! counts the matching spans per power-of-two bucket from a scan (labelled `__bucket`, the
//! bucket's upper bound, as Tempo labels it); `compare()` counts every attribute's values in
//! the selection and the baseline from a scan (labelled `__meta_type`, as Tempo labels it);
//! `topk(n)`/`bottomk(n)` keep the series with the largest/smallest average sample.

use axum::Json;
use axum::extract::{Query, State};
use axum::http::HeaderMap;
use std::collections::BTreeMap;

use chrono::DateTime;
use serde::Deserialize;
use serde_json::{Value, json};
use tracehouse_query::lexer::{DurationLit, parse_duration};
use tracehouse_query::traceql::{self, MetricsFn, MetricsQl, OverTime, Rank, SecondStage};
use tracehouse_query::{AttrValue, Field, Intrinsic, ParseError};
use tracehouse_store_api::metrics::compare::{CompareQuery, Comparison, Side, compare};
use tracehouse_store_api::metrics::scan::{Log2Histogram, log2_histogram};
use tracehouse_store_api::metrics::{
    MAX_SERIES, MetricKey, MetricPoint, MetricSeries, MetricValue, PERCENTILES, SpanMetricsAnswer,
    SpanMetricsQuery,
};
use tracehouse_store_api::stats::MINUTE_NS;

use super::{TextError, project};
use crate::api::ApiState;
use crate::time::now_ns;

const NS_PER_S: i64 = 1_000_000_000;
/// Range without `start` or `since`: the hour before `end`.
const DEFAULT_RANGE_NS: i64 = 3_600 * NS_PER_S;
/// Steps in a range without `step`.
const DEFAULT_STEPS: i64 = 100;

/// The query string of both routes.
#[derive(Debug, Deserialize)]
pub(super) struct MetricsParams {
    q: Option<String>,
    start: Option<String>,
    end: Option<String>,
    since: Option<String>,
    step: Option<String>,
    exemplars: Option<String>,
}

/// A checked request.
struct MetricsRequest {
    query: MetricsQl,
    start_ns: i64,
    end_ns: i64,
}

impl MetricsRequest {
    fn parse(p: &MetricsParams) -> Result<MetricsRequest, TextError> {
        let q = p.q.as_deref().map(str::trim).unwrap_or_default();
        if q.is_empty() {
            return Err(TextError::bad_request(
                "invalid q: a TraceQL metrics query is required",
            ));
        }
        let query = traceql::parse_metrics(q).map_err(|e| TextError::query(&e))?;
        check_quantiles(&query).map_err(|e| TextError::query(&e))?;
        if let Some(n) = given(&p.exemplars) {
            n.parse::<u32>().map_err(|_| {
                TextError::bad_request(format!("invalid exemplars {n:?}: expected an integer"))
            })?;
        }
        let end_ns = match given(&p.end) {
            Some(t) => time("end", t)?,
            None => now_ns(),
        };
        let start_ns = match (given(&p.start), given(&p.since)) {
            (Some(t), _) => time("start", t)?,
            (None, Some(s)) => end_ns.saturating_sub(duration("since", s)?),
            (None, None) => end_ns.saturating_sub(DEFAULT_RANGE_NS),
        };
        if start_ns >= end_ns {
            return Err(TextError::bad_request(format!(
                "http parameter start must be before end. received start={start_ns} end={end_ns}"
            )));
        }
        Ok(MetricsRequest {
            query,
            start_ns,
            end_ns,
        })
    }

    /// The span metrics query in steps of `step_ns` (whole minutes).
    fn store_query(&self, project: String, step_ns: i64) -> SpanMetricsQuery {
        let value = match self.query.function.field() {
            None | Some(Field::Intrinsic(Intrinsic::Duration)) => MetricValue::Duration,
            Some(f) => MetricValue::Field(f.clone()),
        };
        SpanMetricsQuery {
            project_id: project,
            plan: self.query.plan.clone(),
            start_ns: self.start_ns,
            end_ns: self.end_ns,
            step_ns,
            by: self
                .query
                .by
                .iter()
                .map(|k| MetricKey {
                    label: k.label.clone(),
                    field: k.field.clone(),
                })
                .collect(),
            value,
        }
    }

    /// The range widened to whole minutes, ns.
    fn minutes_ns(&self) -> i64 {
        let first = self.start_ns.div_euclid(MINUTE_NS);
        let end = (self.end_ns + MINUTE_NS - 1).div_euclid(MINUTE_NS);
        (end - first) * MINUTE_NS
    }
}

/// A parameter that is present and not empty.
fn given(p: &Option<String>) -> Option<&str> {
    p.as_deref().map(str::trim).filter(|t| !t.is_empty())
}

/// Every quantile asked must be a kept one.
fn check_quantiles(query: &MetricsQl) -> Result<(), ParseError> {
    let MetricsFn::Quantile(_, qs) = &query.function else {
        return Ok(());
    };
    match qs
        .iter()
        .find(|q| !PERCENTILES.iter().any(|k| (k - q.value).abs() < 1e-9))
    {
        Some(q) => Err(ParseError::new(
            format!(
                "quantile {} is not kept: tracehouse answers 0.5, 0.75, 0.9, 0.95 and 0.99",
                q.value
            ),
            q.start,
            q.end,
        )),
        None => Ok(()),
    }
}

/// A time: Unix seconds (up to 10 digits, or with decimals), Unix ns, or RFC 3339; in ns.
fn time(name: &str, text: &str) -> Result<i64, TextError> {
    let bad = || {
        TextError::bad_request(format!(
            "invalid {name} {text:?}: expected Unix seconds, Unix nanoseconds or RFC 3339"
        ))
    };
    if text.bytes().all(|b| b.is_ascii_digit()) {
        let n: i64 = text.parse().map_err(|_| bad())?;
        return if text.len() <= 10 {
            Ok(n * NS_PER_S)
        } else {
            Ok(n)
        };
    }
    if let Ok(s) = text.parse::<f64>() {
        return (s.is_finite() && (0.0..1e10).contains(&s))
            .then_some((s * 1e9) as i64)
            .ok_or_else(bad);
    }
    DateTime::parse_from_rfc3339(text)
        .ok()
        .and_then(|t| t.timestamp_nanos_opt())
        .filter(|ns| *ns >= 0)
        .ok_or_else(bad)
}

/// A positive duration (`15s`, `1m0s`, `1h`), ns.
fn duration(name: &str, text: &str) -> Result<i64, TextError> {
    match parse_duration(text) {
        DurationLit::Nanos(ns) if ns > 0 => Ok(ns),
        _ => Err(TextError::bad_request(format!(
            "invalid {name} {text:?}: expected a positive duration such as 30s or 5m"
        ))),
    }
}

/// `step` (a duration, or seconds), rounded up to whole minutes, ns.
fn step(text: Option<&str>, range_ns: i64) -> Result<i64, TextError> {
    let ns = match text {
        None => range_ns / DEFAULT_STEPS,
        Some(t) => match t.parse::<f64>() {
            Ok(s) if s.is_finite() && s > 0.0 && s < 1e10 => (s * 1e9) as i64,
            Ok(_) => {
                return Err(TextError::bad_request(format!(
                    "invalid step {t:?}: expected a positive duration"
                )));
            }
            Err(_) => duration("step", t)?,
        },
    };
    Ok((ns.max(1) + MINUTE_NS - 1) / MINUTE_NS * MINUTE_NS)
}

/// What a series' values are, of each point.
#[derive(Debug, Clone, Copy)]
enum Measure<'a> {
    /// Spans per second of steps this many seconds long.
    Rate(f64),
    Count,
    Over(OverTime, &'a Field),
    Quantile(f64, &'a Field),
}

impl Measure<'_> {
    /// The value at a point, if it has one (counts always do).
    fn of(self, p: &MetricPoint) -> Option<f64> {
        let measured = p.measured > 0;
        match self {
            Measure::Rate(seconds) => Some(p.count as f64 / seconds),
            Measure::Count => Some(p.count as f64),
            Measure::Over(agg, f) => measured.then(|| {
                scaled(
                    f,
                    match agg {
                        OverTime::Min => p.min,
                        OverTime::Max => p.max,
                        OverTime::Sum => p.sum,
                        OverTime::Avg => p.sum / p.measured as f64,
                    },
                )
            }),
            Measure::Quantile(q, f) => measured
                .then(|| p.percentile(q))
                .flatten()
                .map(|v| scaled(f, v)),
        }
    }

    /// Whether a step without spans has a value (zero).
    fn dense(self) -> bool {
        matches!(self, Measure::Rate(_) | Measure::Count)
    }
}

/// One series of the answer.
struct Series<'a> {
    labels: Vec<Value>,
    source: &'a MetricSeries,
    measure: Measure<'a>,
}

/// A label as `tempo.proto`'s `KeyValue` (an `AnyValue` without a value when empty).
fn string_label(key: &str, value: &str) -> Value {
    if value.is_empty() {
        json!({ "key": key, "value": {} })
    } else {
        json!({ "key": key, "value": { "stringValue": value } })
    }
}

/// A measured value as Tempo gives it: durations in seconds.
fn scaled(field: &Field, v: f64) -> f64 {
    if *field == Field::Intrinsic(Intrinsic::Duration) {
        v / 1e9
    } else {
        v
    }
}

/// The answer's series: one per store series, or one per quantile of each; without `by`
/// keys a series is labelled `__name__` (the function), a quantile's `p`.
fn series<'a>(
    query: &'a MetricsQl,
    answer: &'a SpanMetricsAnswer,
    seconds: f64,
) -> Vec<Series<'a>> {
    let measures: Vec<(Option<Value>, Measure<'a>)> = match &query.function {
        MetricsFn::Rate => vec![(None, Measure::Rate(seconds))],
        MetricsFn::CountOverTime => vec![(None, Measure::Count)],
        MetricsFn::OverTime(agg, f) => vec![(None, Measure::Over(*agg, f))],
        MetricsFn::Quantile(f, qs) => qs
            .iter()
            .map(|q| {
                let p = json!({ "key": "p", "value": { "doubleValue": q.value } });
                (Some(p), Measure::Quantile(q.value, f))
            })
            .collect(),
        // Counted from a scan (`scanned`), not from span metrics.
        MetricsFn::Histogram(_) | MetricsFn::Compare(_) => Vec::new(),
    };
    let name = json!({ "key": "__name__", "value": { "stringValue": query.function.name() } });
    let mut out = Vec::new();
    for s in &answer.series {
        let by: Vec<Value> = query
            .by
            .iter()
            .map(|k| string_label(&k.label, s.labels.get(&k.label).map_or("", String::as_str)))
            .collect();
        for (extra, measure) in &measures {
            let mut labels = by.clone();
            labels.extend(extra.clone());
            if labels.is_empty() {
                labels.push(name.clone());
            }
            out.push(Series {
                labels,
                source: s,
                measure: *measure,
            });
        }
    }
    out
}

/// The answer: the series after the query's second stage, the job counts, and a partial
/// status when series were left out.
fn finish(series: Vec<Value>, stage: Option<SecondStage>, truncated: bool) -> Json<Value> {
    let mut body = json!({
        "series": ranked(series, stage),
        "metrics": { "completedJobs": 1, "totalJobs": 1 },
    });
    if truncated {
        body["status"] = json!("PARTIAL");
        body["message"] = json!(format!(
            "only the {MAX_SERIES} series with the most spans are returned"
        ));
    }
    Json(body)
}

/// The series a second stage keeps: the `limit` with the largest (`topk`) or smallest
/// (`bottomk`) average sample, series without samples last.
fn ranked(mut series: Vec<Value>, stage: Option<SecondStage>) -> Vec<Value> {
    let Some(stage) = stage else {
        return series;
    };
    series.sort_by(|a, b| match (average(a), average(b)) {
        (Some(x), Some(y)) => match stage.op {
            Rank::Top => y.total_cmp(&x),
            Rank::Bottom => x.total_cmp(&y),
        },
        (x, y) => y.is_some().cmp(&x.is_some()),
    });
    series.truncate(stage.limit);
    series
}

/// The average of a series' samples (a range answer) or its value (an instant answer).
fn average(series: &Value) -> Option<f64> {
    if let Some(v) = series["value"].as_f64() {
        return Some(v);
    }
    let values: Vec<f64> = series["samples"]
        .as_array()?
        .iter()
        .filter_map(|p| p["value"].as_f64())
        .collect();
    (!values.is_empty()).then(|| values.iter().sum::<f64>() / values.len() as f64)
}

/// The labels of a histogram series: its `by` values, then `__bucket`, the bucket's upper
/// bound (in seconds for durations).
fn bucket_labels(query: &MetricsQl, field: &Field, labels: &[String], bucket: u64) -> Vec<Value> {
    let mut out: Vec<Value> = query
        .by
        .iter()
        .zip(labels)
        .map(|(k, v)| string_label(&k.label, v))
        .collect();
    let bound = scaled(field, bucket as f64);
    out.push(json!({ "key": "__bucket", "value": { "doubleValue": bound } }));
    out
}

/// A sample of a range answer.
fn sample(t_ns: i64, value: f64) -> Value {
    json!({ "timestampMs": (t_ns / 1_000_000).to_string(), "value": value })
}

/// The grid of a range answer: start of the first step, step and steps, ns.
#[derive(Debug, Clone, Copy)]
struct Grid {
    start_ns: i64,
    step_ns: i64,
    steps: i64,
}

impl Grid {
    /// A sample at every step of spans counted per step index (0 where none).
    fn counts(self, counts: &BTreeMap<i64, u64>) -> Vec<Value> {
        (0..self.steps)
            .map(|i| {
                let n = counts.get(&i).copied().unwrap_or_default();
                sample(self.start_ns + i * self.step_ns, n as f64)
            })
            .collect()
    }
}

/// How a series' counts are answered: samples over a grid, or their sum.
#[derive(Debug, Clone, Copy)]
enum Shape {
    Range(Grid),
    Instant,
}

impl Shape {
    /// A series of `labels` with `counts` per step.
    fn series(self, labels: Vec<Value>, counts: &BTreeMap<i64, u64>) -> Value {
        match self {
            Shape::Range(grid) => json!({ "labels": labels, "samples": grid.counts(counts) }),
            Shape::Instant => {
                json!({ "labels": labels, "value": counts.values().sum::<u64>() as f64 })
            }
        }
    }

    /// A series of `labels` without values (no samples; no value, as protobuf's JSON
    /// writes a zero).
    fn empty(self, labels: Vec<Value>) -> Value {
        match self {
            Shape::Range(_) => json!({ "labels": labels, "samples": [] }),
            Shape::Instant => json!({ "labels": labels }),
        }
    }
}

/// `histogram_over_time`: one series per `by` values and bucket.
fn histogram_series(
    query: &MetricsQl,
    field: &Field,
    h: &Log2Histogram,
    shape: Shape,
) -> Vec<Value> {
    h.series
        .iter()
        .map(|s| shape.series(bucket_labels(query, field, &s.labels, s.bucket), &s.steps))
        .collect()
}

/// A value as `tempo.proto`'s `AnyValue`.
fn any_value(v: &AttrValue<'_>) -> Value {
    match v {
        AttrValue::Str(s) => json!({ "stringValue": s }),
        AttrValue::Int(i) => json!({ "intValue": i.to_string() }),
        AttrValue::Float(f) => json!({ "doubleValue": f }),
        AttrValue::Bool(b) => json!({ "boolValue": b }),
    }
}

/// A `__meta_type` label.
fn meta_type(kind: &str) -> Value {
    json!({ "key": "__meta_type", "value": { "stringValue": kind } })
}

/// `compare()`: per side and attribute its top values (`__meta_type` `baseline` or
/// `selection`) and its total (`baseline_total`, `selection_total`, the attribute without a
/// value), then an empty `__meta_error` series per attribute with more values than kept.
fn compare_series(c: &Comparison, shape: Shape) -> Vec<Value> {
    let mut out: Vec<Value> = c
        .series
        .iter()
        .map(|s| {
            let side = match s.side {
                Side::Baseline => "baseline",
                Side::Selection => "selection",
            };
            let (kind, value) = match &s.value {
                Some(v) => (side.to_string(), any_value(v)),
                None => (format!("{side}_total"), json!({})),
            };
            let labels = vec![
                meta_type(&kind),
                json!({ "key": s.attribute, "value": value }),
            ];
            shape.series(labels, &s.steps)
        })
        .collect();
    out.extend(c.too_many_values.iter().map(|a| {
        let error =
            json!({ "key": "__meta_error", "value": { "stringValue": "__too_many_values__" } });
        shape.empty(vec![error, json!({ "key": a, "value": {} })])
    }));
    out
}

/// The answer of a function counted from a scan (`histogram_over_time`, `compare()`), or
/// `None` for the span metrics' functions.
async fn scanned(
    state: &ApiState,
    r: &MetricsRequest,
    store_query: &SpanMetricsQuery,
    shape: impl Fn(i64) -> Shape,
) -> Result<Option<(Vec<Value>, bool)>, TextError> {
    let store = state.store.as_ref();
    Ok(match &r.query.function {
        MetricsFn::Histogram(field) => {
            let h = log2_histogram(store, store_query).await?;
            let series = histogram_series(&r.query, field, &h, shape(h.start_ns));
            Some((series, h.series_truncated))
        }
        MetricsFn::Compare(c) => {
            let q = CompareQuery {
                spans: store_query,
                selection: &c.selection,
                window: c.window,
                top: c.top,
            };
            let comparison = compare(store, &q).await?;
            Some((
                compare_series(&comparison, shape(comparison.start_ns)),
                false,
            ))
        }
        _ => None,
    })
}

/// `GET /api/metrics/query_range`.
pub(super) async fn query_range(
    State(state): State<ApiState>,
    headers: HeaderMap,
    Query(p): Query<MetricsParams>,
) -> Result<Json<Value>, TextError> {
    let project = project(&state, &headers)?;
    let r = MetricsRequest::parse(&p)?;
    let step_ns = step(given(&p.step), r.end_ns - r.start_ns)?;
    let store_query = r.store_query(project, step_ns);
    let stage = r.query.second_stage;
    let steps = r.minutes_ns().div_euclid(step_ns) + i64::from(r.minutes_ns() % step_ns != 0);
    let grid = |start_ns| {
        Shape::Range(Grid {
            start_ns,
            step_ns,
            steps,
        })
    };
    if let Some((series, truncated)) = scanned(&state, &r, &store_query, grid).await? {
        return Ok(finish(series, stage, truncated));
    }
    let answer = state.store.span_metrics(&store_query).await?;
    let series: Vec<Value> = series(&r.query, &answer, step_ns as f64 / 1e9)
        .into_iter()
        .map(|s| {
            let mut points = s.source.points.iter().peekable();
            let samples: Vec<Value> = (0..steps)
                .filter_map(|i| {
                    let t = answer.start_ns + i * step_ns;
                    let point = points.next_if(|p| p.t == t);
                    let empty = MetricPoint::new([0; 3], [0.0; 3], [0.0; 5]);
                    let v = match point {
                        Some(p) => s.measure.of(p),
                        None if s.measure.dense() => s.measure.of(&empty),
                        None => None,
                    }?;
                    Some(sample(t, v))
                })
                .collect();
            json!({ "labels": s.labels, "samples": samples })
        })
        .collect();
    Ok(finish(series, stage, answer.series_truncated))
}

/// `GET /api/metrics/query`: one value per series over the whole range.
pub(super) async fn query_instant(
    State(state): State<ApiState>,
    headers: HeaderMap,
    Query(p): Query<MetricsParams>,
) -> Result<Json<Value>, TextError> {
    let project = project(&state, &headers)?;
    let r = MetricsRequest::parse(&p)?;
    let range_ns = r.minutes_ns();
    let store_query = r.store_query(project, range_ns);
    let stage = r.query.second_stage;
    if let Some((series, truncated)) = scanned(&state, &r, &store_query, |_| Shape::Instant).await?
    {
        return Ok(finish(series, stage, truncated));
    }
    let answer = state.store.span_metrics(&store_query).await?;
    let series: Vec<Value> = series(&r.query, &answer, range_ns as f64 / 1e9)
        .into_iter()
        .filter_map(|s| {
            let v = s.measure.of(&s.source.total)?;
            Some(json!({ "labels": s.labels, "value": v }))
        })
        .collect();
    Ok(finish(series, stage, answer.series_truncated))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_are_seconds_nanoseconds_or_rfc3339() {
        assert_eq!(
            time("start", "1700000000").ok(),
            Some(1_700_000_000 * NS_PER_S)
        );
        assert_eq!(
            time("start", "1700000000123456789").ok(),
            Some(1_700_000_000_123_456_789)
        );
        assert_eq!(
            time("start", "1700000000.5").ok(),
            Some(1_700_000_000_500_000_000)
        );
        assert_eq!(
            time("start", "2023-11-14T22:13:20Z").ok(),
            Some(1_700_000_000 * NS_PER_S)
        );
        for bad in ["soon", "-5", "1e300", "99999999999999999999"] {
            assert!(time("start", bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn steps_round_up_to_minutes() {
        assert_eq!(step(Some("15s"), 0).ok(), Some(MINUTE_NS));
        assert_eq!(step(Some("1m0s"), 0).ok(), Some(MINUTE_NS));
        assert_eq!(step(Some("90"), 0).ok(), Some(2 * MINUTE_NS));
        assert_eq!(step(Some("5m"), 0).ok(), Some(5 * MINUTE_NS));
        assert_eq!(step(None, 3_600 * NS_PER_S).ok(), Some(MINUTE_NS));
        assert_eq!(step(None, 86_400 * NS_PER_S).ok(), Some(15 * MINUTE_NS));
        for bad in ["0", "-1s", "fast", "0s"] {
            assert!(step(Some(bad), 0).is_err(), "{bad}");
        }
    }
}
