//! Span metrics over time: `GET /api/v1/metrics/spans`, one function of the matching spans
//! per step and series, answered from the sketches kept at ingest when the filter and keys
//! allow and by a bounded scan otherwise (`tracehouse_store_api::metrics`).

use std::collections::BTreeMap;

use axum::Json;
use axum::extract::State;
use axum::http::HeaderMap;
use serde::{Deserialize, Serialize};
use tracehouse_query::lexer::{DurationLit, parse_duration};
use tracehouse_query::{Field, Intrinsic, Scope, Target};
use tracehouse_store_api::metrics::{
    MAX_POINTS, MAX_SERIES, MetricKey, MetricPoint, MetricSource, MetricValue, SpanMetricsAnswer,
    SpanMetricsQuery, scan::MAX_SCAN_SPANS,
};
use tracehouse_store_api::stats::MINUTE_NS;
use tracehouse_store_api::{KeysQuery, Store};
use utoipa::{IntoParams, ToSchema};

use super::failure::QueryFailures;
use super::params::{DEFAULT_WINDOW_NS, QueryLang, plan_query, time_window};
use super::{ApiError, ApiState, project_of};
use crate::extract::Query;

/// Most `by` keys of one request.
pub(super) const MAX_BY: usize = 4;
/// Points a request gets when it names no step (the step is rounded up to whole minutes).
const DEFAULT_POINTS: i64 = 60;

/// What a metrics request computes per point.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) enum Aggregate {
    /// Matching spans.
    Count,
    /// Matching spans per second.
    Rate,
    /// Matching spans with `has_error`, as a fraction of all.
    ErrorRate,
    /// Mean of the measured value.
    Avg,
    /// Smallest measured value.
    Min,
    /// Largest measured value.
    Max,
    /// A percentile of the measured value (`0.5` … `0.99`).
    Percentile(u8),
}

/// The functions of `fn`, as the error for an unknown one lists them.
const FUNCTIONS: &str =
    "count, rate, error_rate, or avg|min|max|p50|p75|p90|p95|p99(duration or a numeric key)";

/// A parsed `fn`: what to compute and what to measure.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct MetricFn {
    pub(super) aggregate: Aggregate,
    pub(super) value: MetricValue,
    /// The measured key as written (`duration` for durations).
    pub(super) key: String,
}

impl MetricFn {
    /// Parses `count`, `rate`, `error_rate` or `agg(key)`.
    pub(super) fn parse(text: &str) -> Result<MetricFn, ApiError> {
        let counting = |aggregate| MetricFn {
            aggregate,
            value: MetricValue::Duration,
            key: "duration".into(),
        };
        let text = text.trim();
        match text {
            "" | "count" => return Ok(counting(Aggregate::Count)),
            "rate" => return Ok(counting(Aggregate::Rate)),
            "error_rate" => return Ok(counting(Aggregate::ErrorRate)),
            _ => {}
        }
        let unknown = || ApiError::bad_request(format!("unknown fn {text:?}: use {FUNCTIONS}"));
        let (name, rest) = text.split_once('(').ok_or_else(unknown)?;
        let key = rest.strip_suffix(')').ok_or_else(unknown)?.trim();
        let aggregate = match name.trim() {
            "avg" => Aggregate::Avg,
            "min" => Aggregate::Min,
            "max" => Aggregate::Max,
            "p50" => Aggregate::Percentile(50),
            "p75" => Aggregate::Percentile(75),
            "p90" => Aggregate::Percentile(90),
            "p95" => Aggregate::Percentile(95),
            "p99" => Aggregate::Percentile(99),
            _ => return Err(unknown()),
        };
        if key.is_empty() {
            return Err(unknown());
        }
        let field = MetricKey::named(key).field;
        let value = if field == Field::Intrinsic(Intrinsic::Duration) {
            MetricValue::Duration
        } else {
            MetricValue::Field(field)
        };
        Ok(MetricFn {
            aggregate,
            value,
            key: key.to_string(),
        })
    }

    /// The function's value of a point covering `seconds`; `None` where it is undefined
    /// (nothing measured).
    pub(super) fn of(&self, p: &MetricPoint, seconds: f64) -> Option<f64> {
        let measured = (p.measured > 0).then_some(p);
        match self.aggregate {
            Aggregate::Count => Some(p.count as f64),
            Aggregate::Rate => Some(p.count as f64 / seconds),
            Aggregate::ErrorRate => (p.count > 0).then(|| p.errors as f64 / p.count as f64),
            Aggregate::Avg => measured.map(|p| p.sum / p.measured as f64),
            Aggregate::Min => measured.map(|p| p.min),
            Aggregate::Max => measured.map(|p| p.max),
            Aggregate::Percentile(q) => measured.map(|p| match q {
                50 => p.p50,
                75 => p.p75,
                90 => p.p90,
                95 => p.p95,
                _ => p.p99,
            }),
        }
    }
}

/// Query parameters of `GET /api/v1/metrics/spans`.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub(super) struct MetricsParams {
    /// A plain filter in the tracehouse query language (no structure); empty or absent
    /// matches every span.
    query: Option<String>,
    /// What each point holds: `count`, `rate` (spans per second), `error_rate` (fraction of
    /// spans with an error, 0 to 1), or `avg`, `min`, `max`, `p50`, `p75`, `p90`, `p95`,
    /// `p99` of `duration` (ns) or of a numeric key, e.g. `p95(duration)`,
    /// `avg(http.response_content_length)`. Default `count`.
    #[serde(rename = "fn")]
    #[param(rename = "fn")]
    function: Option<String>,
    /// Keys to split series by, comma-separated (at most 4): built-in fields (`service`,
    /// `name`, `kind`, `status`, …) or attribute keys.
    by: Option<String>,
    /// Step between points, a whole number of minutes (`1m`, `5m`, `1h`); at most 1440
    /// points per series. Default: the range in about 60 points.
    step: Option<String>,
    /// Inclusive start of the range: RFC 3339 or nanoseconds since the epoch (widened to
    /// its minute). Defaults to one hour before `end`; must be before `end`.
    start: Option<String>,
    /// Exclusive end of the range: RFC 3339 or nanoseconds (widened to the end of its
    /// minute). Defaults to now.
    end: Option<String>,
}

/// One series of a metrics answer.
#[derive(Debug, Serialize, ToSchema)]
pub struct SeriesOut {
    /// The value of each `by` key (empty text when a span has none).
    pub labels: BTreeMap<String, String>,
    /// `[t, value]` per step with spans, oldest first: `t` in ns, `value` null where it is
    /// undefined (a percentile of spans without the measured key).
    #[schema(value_type = Vec<Vec<Option<f64>>>)]
    pub points: Vec<(i64, Option<f64>)>,
    /// The function over the whole range.
    pub total: Option<f64>,
    /// Spans of the series in the range.
    pub count: u64,
}

/// Span metrics over a range.
#[derive(Debug, Serialize, ToSchema)]
pub struct SpanMetrics {
    /// The function, as asked.
    #[serde(rename = "fn")]
    pub function: String,
    /// Start of the first step (the range's first minute), ns.
    pub start_ns: i64,
    /// End of the range, widened to whole minutes, ns.
    pub end_ns: i64,
    /// Step, ns.
    pub step_ns: i64,
    /// Series, most spans first; at most `max_series`.
    pub series: Vec<SeriesOut>,
    /// More series matched than `max_series`: only those with the most spans are here.
    pub series_truncated: bool,
    /// Most series an answer holds.
    pub max_series: usize,
    /// Most points a series may have (a request for more is a 400).
    pub max_points: usize,
    /// `sketches` when the answer merged the sketches kept at ingest (filter and keys on
    /// service, span name, kind and status, measuring duration), `scan` when it read the
    /// matching spans (at most `max_scan_spans`).
    pub source: MetricSource,
    /// Most spans a scan reads; a query matching more is a 400.
    pub max_scan_spans: u64,
}

/// Parses `step`: a duration (the store requires whole minutes); absent, the range in
/// about [`DEFAULT_POINTS`] points.
pub(super) fn step_of(step: Option<&str>, start_ns: i64, end_ns: i64) -> Result<i64, ApiError> {
    match step.filter(|s| !s.is_empty()) {
        Some(text) => match parse_duration(text.trim()) {
            DurationLit::Nanos(n) => Ok(n),
            _ => Err(ApiError::bad_request(format!(
                "step {text:?} is not a duration: use whole minutes such as 1m, 5m or 1h"
            ))),
        },
        None => Ok(default_step(
            end_ns.saturating_sub(start_ns),
            DEFAULT_POINTS,
        )),
    }
}

/// The step of whole minutes that cuts a range of `range_ns` into at most about `points`.
pub(super) fn default_step(range_ns: i64, points: i64) -> i64 {
    let minutes = range_ns.div_euclid(MINUTE_NS) + 1;
    ((minutes + points - 1) / points).max(1) * MINUTE_NS
}

/// Parses `by`: comma-separated keys, at most [`MAX_BY`], each once.
pub(super) fn keys_of(by: Option<&str>) -> Result<Vec<MetricKey>, ApiError> {
    let names: Vec<&str> = by
        .unwrap_or("")
        .split(',')
        .map(str::trim)
        .filter(|k| !k.is_empty())
        .collect();
    if names.len() > MAX_BY {
        return Err(ApiError::bad_request(format!(
            "by names {} keys, at most {MAX_BY} are allowed",
            names.len()
        )));
    }
    let keys: Vec<MetricKey> = names.iter().map(|k| MetricKey::named(k)).collect();
    for (i, k) in keys.iter().enumerate() {
        if keys[..i].iter().any(|other| other.field == k.field) {
            return Err(ApiError::bad_request(format!(
                "by names {} twice",
                names[i]
            )));
        }
    }
    Ok(keys)
}

/// Refuses attribute keys no span of the project has in the range (from the key
/// statistics): a misspelt key would otherwise give one empty series.
pub(super) async fn check_known(
    store: &dyn Store,
    project_id: &str,
    (start_ns, end_ns): (i64, i64),
    keys: &[(&str, &Field)],
) -> Result<(), ApiError> {
    let attrs: Vec<(&str, &String)> = keys
        .iter()
        .filter_map(|(name, field)| match field {
            Field::Attr {
                scope: Scope::Span | Scope::Resource | Scope::Any,
                key,
            } => Some((*name, key)),
            _ => None,
        })
        .collect();
    if attrs.is_empty() {
        return Ok(());
    }
    let seen = store
        .keys(&KeysQuery {
            project_id: project_id.to_string(),
            target: Target::Spans,
            start_ns,
            end_ns,
            prefix: String::new(),
            limit: usize::MAX,
        })
        .await?;
    let bare = |k: &str| {
        ["span.", "resource."]
            .iter()
            .find_map(|p| k.strip_prefix(p))
            .unwrap_or(k)
            .to_string()
    };
    for (name, key) in attrs {
        if !seen.iter().any(|k| bare(&k.key) == *key) {
            return Err(ApiError::bad_request(format!(
                "unknown key {name:?}: no span has it in this range (see /api/v1/keys)"
            )));
        }
    }
    Ok(())
}

/// The request as the store takes it.
pub(super) fn metrics_query(
    project_id: String,
    p: &MetricsParams,
) -> Result<(SpanMetricsQuery, MetricFn), ApiError> {
    let plan = plan_query(p.query.as_deref(), QueryLang::Tracehouse, Target::Spans)?;
    let (start_ns, end_ns) = time_window(p.start.as_deref(), p.end.as_deref(), DEFAULT_WINDOW_NS)?;
    let function = MetricFn::parse(p.function.as_deref().unwrap_or(""))?;
    let q = SpanMetricsQuery {
        project_id,
        plan,
        start_ns,
        end_ns,
        step_ns: step_of(p.step.as_deref(), start_ns, end_ns)?,
        by: keys_of(p.by.as_deref())?,
        value: function.value.clone(),
    };
    Ok((q, function))
}

/// The answer with the function applied.
pub(super) fn shape(
    q: &SpanMetricsQuery,
    f: &MetricFn,
    text: String,
    answer: SpanMetricsAnswer,
) -> SpanMetrics {
    let (first, end) = q.minutes();
    let step_s = q.step_ns as f64 / 1e9;
    let range_s = ((end - first) * MINUTE_NS) as f64 / 1e9;
    SpanMetrics {
        function: text,
        start_ns: answer.start_ns,
        end_ns: end * MINUTE_NS,
        step_ns: answer.step_ns,
        series: answer
            .series
            .into_iter()
            .map(|s| SeriesOut {
                labels: s.labels,
                points: s.points.iter().map(|p| (p.t, f.of(p, step_s))).collect(),
                total: f.of(&s.total, range_s),
                count: s.total.count,
            })
            .collect(),
        series_truncated: answer.series_truncated,
        max_series: MAX_SERIES,
        max_points: MAX_POINTS,
        source: answer.source,
        max_scan_spans: MAX_SCAN_SPANS,
    }
}

/// Span metrics over time
///
/// One function of the spans matching a plain filter, per step and per series of the `by`
/// keys, plus its value over the whole range. Answered from DDSketches kept at ingest
/// (percentiles within 1 %) when the filter and keys only use service, span name, kind and
/// status and the function measures duration; otherwise by reading the matching spans, with
/// the same semantics, up to `max_scan_spans`. The range is widened to whole minutes.
/// At most 50 series (those with the most spans) and 1440 points per series.
#[utoipa::path(
    get,
    path = "/api/v1/metrics/spans",
    operation_id = "spanMetrics",
    tag = "metrics",
    params(MetricsParams),
    responses((status = 200, description = "The series.", body = SpanMetrics), QueryFailures),
)]
pub(super) async fn span_metrics(
    State(state): State<ApiState>,
    headers: HeaderMap,
    Query(p): Query<MetricsParams>,
) -> Result<Json<SpanMetrics>, ApiError> {
    let project_id = project_of(&state, &headers)?;
    let (q, f) = metrics_query(project_id, &p)?;
    let value = match &f.value {
        MetricValue::Duration => None,
        MetricValue::Field(field) => Some((f.key.as_str(), field)),
    };
    let keys: Vec<(&str, &Field)> =
        q.by.iter()
            .map(|k| (k.label.as_str(), &k.field))
            .chain(value)
            .collect();
    check_known(
        state.store.as_ref(),
        &q.project_id,
        (q.start_ns, q.end_ns),
        &keys,
    )
    .await?;
    let answer = state.store.span_metrics(&q).await?;
    let text = p.function.unwrap_or_else(|| "count".into());
    Ok(Json(shape(&q, &f, text, answer)))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, reason = "tests")]

    use super::*;

    #[test]
    fn functions_parse_or_say_what_exists() {
        assert_eq!(MetricFn::parse("").unwrap().aggregate, Aggregate::Count);
        assert_eq!(
            MetricFn::parse("error_rate").unwrap().aggregate,
            Aggregate::ErrorRate
        );
        let p95 = MetricFn::parse("p95(duration)").unwrap();
        assert_eq!(
            (p95.aggregate, p95.value),
            (Aggregate::Percentile(95), MetricValue::Duration)
        );
        let avg = MetricFn::parse("avg( http.size )").unwrap();
        assert_eq!(avg.key, "http.size");
        assert!(matches!(avg.value, MetricValue::Field(Field::Attr { .. })));
        for bad in [
            "median(duration)",
            "p95",
            "p95()",
            "sum(duration)",
            "p96(duration)",
        ] {
            let e = format!("{:?}", MetricFn::parse(bad).unwrap_err());
            assert!(e.contains("error_rate"), "{bad}: {e}");
        }
    }

    #[test]
    fn steps_and_keys_are_bounded() {
        assert_eq!(step_of(Some("5m"), 0, 1).unwrap(), 5 * MINUTE_NS);
        assert_eq!(step_of(None, 0, 3_600_000_000_000).unwrap(), 2 * MINUTE_NS);
        assert_eq!(step_of(None, 0, 3_599_000_000_000).unwrap(), MINUTE_NS);
        assert_eq!(step_of(None, 0, 1).unwrap(), MINUTE_NS);
        assert!(step_of(Some("soon"), 0, 1).is_err());
        assert_eq!(keys_of(Some("service, http.method")).unwrap().len(), 2);
        assert!(keys_of(Some("a,b,c,d,e")).is_err());
        assert!(keys_of(Some("service,service_name")).is_err());
    }
}
