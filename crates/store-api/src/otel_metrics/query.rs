//! The functions of OTLP metrics over time, written once for every backend: the points of
//! one metric in a window (read with [`Store::metric_points`]) are filtered by their labels,
//! split into series (one per label set), reduced to one value per series and step, and
//! combined across the series of each `by` group.
//!
//! Per series and step:
//! * `avg`, `sum`, `min`, `max`, `count` of gauges, cumulative sums and summaries take the
//!   series' last value in the step (a summary's sum, count, or their ratio); of delta sums,
//!   the sum of the step's deltas; of histograms, the values counted in the step (`sum` and
//!   `avg` of the observed values, `count` of observations);
//! * `increase` and `rate` (increase per second) of sums and histograms: delta points add
//!   up; a cumulative point adds what it counts beyond the series' previous point — all of
//!   it when the series restarted (a later start time, or a smaller value: a counter
//!   reset), and all of it for a series' first point when its start time lies in the window
//!   (it counted from zero there); a first point that started before the window counts
//!   from the series' last point of the [`BASELINE_LOOKBACK_NS`] before the window, read
//!   only as that baseline (without one it is itself only the baseline);
//! * `p50` … `p99` of histograms (explicit and exponential), from the step's buckets
//!   ([`Distribution::quantile`]).
//!
//! Across a group's series: `count` counts series with a value, `avg`, `min`, `max` combine
//! the series' values (`sum` adds them), `increase` and `rate` add, percentiles merge the
//! buckets first.

use std::collections::{BTreeMap, HashMap};

use serde::Serialize;
use tracehouse_model::{
    AttrValue, MetricPoint, MetricType, PointValue, SpanId, Temporality, TraceId,
};
use tracehouse_query::Filter;
use utoipa::ToSchema;

use super::distribution::Distribution;
use super::{MetricPointsQuery, series_key};
use crate::Store;
use crate::error::StoreError;

/// Most series an answer holds (those with the most points).
pub const MAX_METRIC_SERIES: usize = 50;
/// Most steps of one answer.
pub const MAX_METRIC_STEPS: i64 = 1_440;
/// Most exemplars kept per series (the newest).
pub const MAX_SERIES_EXEMPLARS: usize = 100;
/// How far before the window points are read as baselines of cumulative series, ns: a few
/// export intervals of the SDKs' default minute.
pub const BASELINE_LOOKBACK_NS: i64 = 5 * 60 * 1_000_000_000;

/// A function of `fn`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MetricFn {
    /// Mean.
    Avg,
    /// Total.
    Sum,
    /// Smallest.
    Min,
    /// Largest.
    Max,
    /// Series (or observations of a histogram).
    Count,
    /// Increase per second.
    Rate,
    /// Increase.
    Increase,
    /// A percentile of a histogram (50, 75, 90, 95, 99).
    Percentile(u8),
}

/// The percentiles of histograms.
const PERCENTILES: [u8; 5] = [50, 75, 90, 95, 99];

/// The functions, as an error lists them.
pub const METRIC_FUNCTIONS: &str =
    "avg, sum, min, max, count, rate, increase, p50, p75, p90, p95, p99";

impl MetricFn {
    /// Parses a name of [`METRIC_FUNCTIONS`].
    pub fn parse(text: &str) -> Result<MetricFn, StoreError> {
        Ok(match text.trim() {
            "avg" => MetricFn::Avg,
            "sum" => MetricFn::Sum,
            "min" => MetricFn::Min,
            "max" => MetricFn::Max,
            "count" => MetricFn::Count,
            "rate" => MetricFn::Rate,
            "increase" => MetricFn::Increase,
            "p50" => MetricFn::Percentile(50),
            "p75" => MetricFn::Percentile(75),
            "p90" => MetricFn::Percentile(90),
            "p95" => MetricFn::Percentile(95),
            "p99" => MetricFn::Percentile(99),
            other => {
                return Err(StoreError::InvalidArgument(format!(
                    "unknown fn {other:?}: use {METRIC_FUNCTIONS}"
                )));
            }
        })
    }

    /// The function's name in [`METRIC_FUNCTIONS`].
    pub fn name(self) -> String {
        match self {
            MetricFn::Avg => "avg".into(),
            MetricFn::Sum => "sum".into(),
            MetricFn::Min => "min".into(),
            MetricFn::Max => "max".into(),
            MetricFn::Count => "count".into(),
            MetricFn::Rate => "rate".into(),
            MetricFn::Increase => "increase".into(),
            MetricFn::Percentile(p) => format!("p{p}"),
        }
    }

    /// The functions that apply to a metric type, in the order of [`METRIC_FUNCTIONS`]:
    /// gauges and summaries take the plain ones, sums also `rate` and `increase`,
    /// histograms all but `min` and `max` (their buckets give percentiles instead).
    pub fn applicable(metric_type: MetricType) -> Vec<MetricFn> {
        use MetricFn::*;
        match metric_type {
            MetricType::Gauge | MetricType::Summary => vec![Avg, Sum, Min, Max, Count],
            MetricType::Sum => vec![Avg, Sum, Min, Max, Count, Rate, Increase],
            MetricType::Histogram | MetricType::ExponentialHistogram => {
                let mut fns = vec![Avg, Sum, Count, Rate, Increase];
                fns.extend(PERCENTILES.map(Percentile));
                fns
            }
        }
    }

    /// Whether the function applies to a metric type; the error names those that do.
    fn check(self, metric_type: MetricType) -> Result<(), StoreError> {
        let allowed = MetricFn::applicable(metric_type);
        if allowed.contains(&self) {
            return Ok(());
        }
        let names: Vec<String> = allowed.into_iter().map(MetricFn::name).collect();
        Err(StoreError::InvalidArgument(format!(
            "fn {} does not apply to a {} metric: use {}",
            self.name(),
            metric_type.as_str(),
            names.join(", ")
        )))
    }
}

/// A request for one metric over time.
#[derive(Debug, Clone)]
pub struct OtelMetricsQuery {
    /// The project.
    pub project_id: String,
    /// The metric's name.
    pub metric: String,
    /// Label filter (the plain filter of a query: point attributes are span-scope
    /// attributes, resource attributes resource-scope ones, `service` the service name).
    pub filter: Filter,
    /// The function.
    pub function: MetricFn,
    /// Labels to split series by.
    pub by: Vec<String>,
    /// Window start, ns (a multiple of the step).
    pub start_ns: i64,
    /// Window end, ns (a multiple of the step).
    pub end_ns: i64,
    /// Step, ns.
    pub step_ns: i64,
}

impl OtelMetricsQuery {
    /// Aligns the window on the step (start down, end up) and bounds the steps.
    pub fn aligned(mut self) -> Result<OtelMetricsQuery, StoreError> {
        if self.step_ns <= 0 || self.start_ns >= self.end_ns {
            return Err(StoreError::InvalidArgument(
                "the step must be positive and the window not empty".into(),
            ));
        }
        self.start_ns = self.start_ns.div_euclid(self.step_ns) * self.step_ns;
        let steps = (self.end_ns - self.start_ns + self.step_ns - 1) / self.step_ns;
        if steps > MAX_METRIC_STEPS {
            return Err(StoreError::InvalidArgument(format!(
                "the window holds {steps} steps, at most {MAX_METRIC_STEPS} are allowed: \
                 use a longer step"
            )));
        }
        self.end_ns = self.start_ns + steps * self.step_ns;
        Ok(self)
    }
}

/// An exemplar of a series: a sample value with the trace it was recorded in.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct SeriesExemplar {
    /// Start of the step of the point it came with, ns.
    pub t: i64,
    /// When it was recorded, ns.
    pub time_unix_nano: i64,
    /// The recorded value.
    pub value: f64,
    /// Its trace, when it has one.
    #[schema(required = true)]
    pub trace_id: Option<TraceId>,
    /// Its span, when it has one.
    #[schema(required = true)]
    pub span_id: Option<SpanId>,
}

/// One series of an answer: a `by` group.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct OtelSeries {
    /// The value of each `by` label (empty text when a point has none).
    pub labels: BTreeMap<String, String>,
    /// `[t, value]` per step with points, oldest first: `t` in ns, `value` null where the
    /// function is undefined (no baseline yet for an increase, an empty histogram).
    #[schema(value_type = Vec<Vec<Option<f64>>>)]
    pub points: Vec<(i64, Option<f64>)>,
    /// The function over the whole window.
    pub total: Option<f64>,
    /// Points of the group read in the window.
    pub count: u64,
    /// Exemplars of those points, oldest first (at most 100, the newest).
    pub exemplars: Vec<SeriesExemplar>,
}

/// One metric over time.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct OtelMetricsAnswer {
    /// The metric's name.
    pub metric: String,
    /// Its type (of its newest point); null when no point matched.
    #[serde(rename = "type")]
    #[schema(required = true)]
    pub metric_type: Option<MetricType>,
    /// Its unit (of its newest point).
    pub unit: String,
    /// Start of the first step, ns.
    pub start_ns: i64,
    /// End of the window (a whole number of steps), ns.
    pub end_ns: i64,
    /// Step, ns.
    pub step_ns: i64,
    /// Series, most points first; at most `max_series`.
    pub series: Vec<OtelSeries>,
    /// More groups matched than `max_series`: only those with the most points are here.
    pub series_truncated: bool,
    /// Most series an answer holds.
    pub max_series: usize,
}

/// Answers a query from the store's points of the metric.
pub async fn otel_metrics(
    store: &dyn Store,
    q: &OtelMetricsQuery,
) -> Result<OtelMetricsAnswer, StoreError> {
    let points = store
        .metric_points(&MetricPointsQuery {
            project_id: q.project_id.clone(),
            name: q.metric.clone(),
            start_ns: q.start_ns.saturating_sub(BASELINE_LOOKBACK_NS),
            end_ns: q.end_ns,
            filter: q.filter.clone(),
        })
        .await?;
    answer(q, points)
}

/// The answer over the points read (of any order, matching the query's filter); those
/// before the window serve only as the baselines of their series.
pub fn answer(
    q: &OtelMetricsQuery,
    points: Vec<MetricPoint>,
) -> Result<OtelMetricsAnswer, StoreError> {
    let (before, mut points): (Vec<MetricPoint>, Vec<MetricPoint>) = points
        .into_iter()
        .filter(|p| !p.no_recorded_value())
        .partition(|p| p.time_unix_nano < q.start_ns);
    let baselines = baselines(before);
    points.sort_by_key(|p| p.time_unix_nano);
    let newest = points.last();
    let metric_type = newest.map(|p| p.value.metric_type());
    if let Some(t) = metric_type {
        q.function.check(t)?;
    }
    let unit = newest.map(|p| p.unit.clone()).unwrap_or_default();
    let mut groups: BTreeMap<BTreeMap<String, String>, Vec<Vec<&MetricPoint>>> = BTreeMap::new();
    for series in split_series(&points) {
        groups
            .entry(group_labels(series[0], &q.by))
            .or_default()
            .push(series);
    }
    let mut series: Vec<OtelSeries> = groups
        .into_iter()
        .map(|(labels, members)| group_series(q, labels, &members, &baselines))
        .collect();
    series.sort_by(|a, b| b.count.cmp(&a.count).then_with(|| a.labels.cmp(&b.labels)));
    let series_truncated = series.len() > MAX_METRIC_SERIES;
    series.truncate(MAX_METRIC_SERIES);
    Ok(OtelMetricsAnswer {
        metric: q.metric.clone(),
        metric_type,
        unit,
        start_ns: q.start_ns,
        end_ns: q.end_ns,
        step_ns: q.step_ns,
        series,
        series_truncated,
        max_series: MAX_METRIC_SERIES,
    })
}

/// The newest point of each series among points before the window, by series key.
fn baselines(before: Vec<MetricPoint>) -> HashMap<String, MetricPoint> {
    let mut newest: HashMap<String, MetricPoint> = HashMap::new();
    for p in before {
        let key = series_key(&p);
        if newest
            .get(&key)
            .is_none_or(|kept| kept.time_unix_nano < p.time_unix_nano)
        {
            newest.insert(key, p);
        }
    }
    newest
}

/// The points of each series (same point and resource attributes), each oldest first.
fn split_series(points: &[MetricPoint]) -> Vec<Vec<&MetricPoint>> {
    let mut by_key: HashMap<String, usize> = HashMap::new();
    let mut out: Vec<Vec<&MetricPoint>> = Vec::new();
    for p in points {
        let i = *by_key.entry(series_key(p)).or_insert_with(|| {
            out.push(Vec::new());
            out.len() - 1
        });
        out[i].push(p);
    }
    out
}

fn group_labels(p: &MetricPoint, by: &[String]) -> BTreeMap<String, String> {
    by.iter()
        .map(|k| {
            (
                k.clone(),
                p.label(k).map(AttrValue::as_text).unwrap_or_default(),
            )
        })
        .collect()
}

/// What one series holds in one step.
#[derive(Debug, Clone)]
enum Sample {
    /// A plain value (a last value, a sum of deltas, an increase).
    Value(f64),
    /// Histogram buckets.
    Buckets(Distribution),
}

fn group_series(
    q: &OtelMetricsQuery,
    labels: BTreeMap<String, String>,
    members: &[Vec<&MetricPoint>],
    baselines: &HashMap<String, MetricPoint>,
) -> OtelSeries {
    let step_of = |t: i64| q.start_ns + (t - q.start_ns).div_euclid(q.step_ns) * q.step_ns;
    let range_s = (q.end_ns - q.start_ns) as f64 / 1e9;
    let step_s = q.step_ns as f64 / 1e9;
    let mut steps: BTreeMap<i64, Vec<Sample>> = BTreeMap::new();
    let mut whole: Vec<Sample> = Vec::new();
    for series in members {
        let baseline = baselines.get(&series_key(series[0]));
        for (t, sample) in samples(q, series, baseline, &step_of) {
            steps.entry(t).or_default().push(sample);
        }
        whole.extend(
            samples(q, series, baseline, &|_| q.start_ns)
                .into_iter()
                .map(|(_, s)| s),
        );
    }
    let mut exemplars: Vec<SeriesExemplar> = members
        .iter()
        .flatten()
        .flat_map(|p| {
            p.exemplars.iter().map(|e| SeriesExemplar {
                t: step_of(p.time_unix_nano),
                time_unix_nano: e.time_unix_nano,
                value: e.value,
                trace_id: e.trace_id,
                span_id: e.span_id,
            })
        })
        .collect();
    exemplars.sort_by_key(|e| e.time_unix_nano);
    let cut = exemplars.len().saturating_sub(MAX_SERIES_EXEMPLARS);
    exemplars.drain(..cut);
    OtelSeries {
        labels,
        points: steps
            .into_iter()
            .map(|(t, s)| (t, combine(q.function, &s, step_s)))
            .collect(),
        total: combine(q.function, &whole, range_s),
        count: members.iter().map(|s| s.len() as u64).sum(),
        exemplars,
    }
}

/// Whether the function reads increases of sums and histograms (rather than their last
/// values).
fn counts_increase(f: MetricFn, value: &PointValue) -> bool {
    match value {
        PointValue::Sum { temporality, .. } => {
            matches!(f, MetricFn::Rate | MetricFn::Increase) || *temporality == Temporality::Delta
        }
        PointValue::Histogram { .. } | PointValue::ExponentialHistogram { .. } => true,
        PointValue::Gauge { .. } | PointValue::Summary { .. } => false,
    }
}

/// One series' samples per step (`step_of` maps a time to its step), oldest first; its
/// point of before the window, if any, is the baseline of its first increase.
fn samples(
    q: &OtelMetricsQuery,
    series: &[&MetricPoint],
    baseline: Option<&MetricPoint>,
    step_of: &dyn Fn(i64) -> i64,
) -> Vec<(i64, Sample)> {
    let mut by_step: BTreeMap<i64, Sample> = BTreeMap::new();
    let mut previous: Option<&MetricPoint> = baseline;
    for p in series {
        let t = step_of(p.time_unix_nano);
        if counts_increase(q.function, &p.value) {
            if let Some(added) = added(p, previous, q.start_ns) {
                match (by_step.get_mut(&t), added) {
                    (Some(Sample::Value(v)), Sample::Value(a)) => *v += a,
                    (Some(Sample::Buckets(d)), Sample::Buckets(a)) => d.merge(&a),
                    (_, added) => {
                        by_step.insert(t, added);
                    }
                }
            }
        } else if let Some(v) = last_value(q.function, &p.value) {
            by_step.insert(t, Sample::Value(v));
        }
        previous = Some(p);
    }
    by_step.into_iter().collect()
}

/// What a point adds: a delta point all it holds; a cumulative point what it counts
/// beyond `previous`, or all of it after a restart or when its series started in the
/// window (at or after `window_start`); nothing for a first point started earlier.
fn added(p: &MetricPoint, previous: Option<&MetricPoint>, window_start: i64) -> Option<Sample> {
    let whole = || match &p.value {
        PointValue::Sum { value, .. } => Some(Sample::Value(*value)),
        other => Distribution::of(other).map(Sample::Buckets),
    };
    if p.value.temporality() == Some(Temporality::Delta) {
        return whole();
    }
    let Some(prev) = previous else {
        return (p.start_time_unix_nano >= window_start)
            .then(whole)
            .flatten();
    };
    if p.start_time_unix_nano > prev.start_time_unix_nano {
        return whole();
    }
    match (&p.value, &prev.value) {
        (PointValue::Sum { value, .. }, PointValue::Sum { value: before, .. }) => {
            Some(Sample::Value(if value < before {
                *value
            } else {
                value - before
            }))
        }
        (now, before) => {
            let (now, before) = (Distribution::of(now)?, Distribution::of(before)?);
            Some(Sample::Buckets(now.since(&before).unwrap_or(now)))
        }
    }
}

/// The value `f` reads from a gauge, cumulative sum or summary point.
fn last_value(f: MetricFn, value: &PointValue) -> Option<f64> {
    match value {
        PointValue::Gauge { value } | PointValue::Sum { value, .. } => Some(*value),
        PointValue::Summary { count, sum, .. } => match f {
            MetricFn::Count => Some(*count as f64),
            MetricFn::Sum => Some(*sum),
            _ => (*count > 0).then(|| sum / *count as f64),
        },
        PointValue::Histogram { .. } | PointValue::ExponentialHistogram { .. } => None,
    }
}

/// The function over a group's samples of one step (or of the whole window) lasting
/// `seconds`.
fn combine(f: MetricFn, samples: &[Sample], seconds: f64) -> Option<f64> {
    let mut merged: Option<Distribution> = None;
    let mut values = Vec::new();
    for s in samples {
        match s {
            Sample::Value(v) => values.push(*v),
            Sample::Buckets(d) => merged.get_or_insert_with(Distribution::default).merge(d),
        }
    }
    if let Some(d) = merged {
        return match f {
            MetricFn::Percentile(p) => d.quantile(f64::from(p) / 100.0),
            MetricFn::Count | MetricFn::Increase => Some(d.count as f64),
            MetricFn::Rate => Some(d.count as f64 / seconds),
            MetricFn::Sum => Some(d.sum),
            MetricFn::Avg => (d.count > 0).then(|| d.sum / d.count as f64),
            MetricFn::Min | MetricFn::Max => None,
        };
    }
    if values.is_empty() {
        return None;
    }
    let total: f64 = values.iter().sum();
    Some(match f {
        MetricFn::Sum | MetricFn::Increase => total,
        MetricFn::Rate => total / seconds,
        MetricFn::Avg => total / values.len() as f64,
        MetricFn::Min => values.iter().copied().fold(f64::INFINITY, f64::min),
        MetricFn::Max => values.iter().copied().fold(f64::NEG_INFINITY, f64::max),
        MetricFn::Count => values.len() as f64,
        MetricFn::Percentile(_) => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_type_takes_its_functions_and_refuses_the_rest_by_name() {
        let all = METRIC_FUNCTIONS.split(", ").map(MetricFn::parse);
        for metric_type in [
            MetricType::Gauge,
            MetricType::Sum,
            MetricType::Histogram,
            MetricType::ExponentialHistogram,
            MetricType::Summary,
        ] {
            let allowed = MetricFn::applicable(metric_type);
            let names: Vec<String> = allowed.iter().map(|f| f.name()).collect();
            for f in all.clone().map(Result::unwrap) {
                match f.check(metric_type) {
                    Ok(()) => assert!(allowed.contains(&f), "{f:?} {metric_type:?}"),
                    Err(e) => {
                        assert!(!allowed.contains(&f), "{f:?} {metric_type:?}");
                        assert!(e.to_string().ends_with(&names.join(", ")), "{e}");
                    }
                }
            }
        }
        assert_eq!(
            MetricFn::applicable(MetricType::Histogram)
                .into_iter()
                .map(MetricFn::name)
                .collect::<Vec<_>>()
                .join(", "),
            "avg, sum, count, rate, increase, p50, p75, p90, p95, p99"
        );
        assert_eq!(MetricFn::parse("p95").unwrap().name(), "p95");
    }
}
