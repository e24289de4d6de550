//! OTLP metrics → [`MetricPoint`]s, one per data point, each checked on its own: a point
//! that cannot be stored faithfully is rejected and counted (`partial_success`), never
//! repaired. Label sets are never truncated, since a cut set would merge distinct series.

use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
use opentelemetry_proto::tonic::common::v1::KeyValue;
use opentelemetry_proto::tonic::metrics::v1::exponential_histogram_data_point::Buckets;
use opentelemetry_proto::tonic::metrics::v1::{
    AggregationTemporality, ExponentialHistogramDataPoint, HistogramDataPoint, Metric,
    NumberDataPoint, SummaryDataPoint, exemplar, metric, number_data_point,
};

use crate::attr::{Attributes, attributes_from_otlp};
use crate::ids::{SpanId, TraceId};
use crate::metric_point::{Exemplar, ExpBuckets, MetricPoint, PointValue, Quantile, Temporality};
use crate::otlp::{Limits, Normalised, ResourceFields, clamp_time, now_ns};

/// The scales OTLP allows an exponential histogram.
const SCALES: std::ops::RangeInclusive<i32> = -10..=20;

/// Why one data point is refused.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
enum Rejection {
    #[error("the metric has no name")]
    NoName,
    #[error(
        "the metric has no data (none of gauge, sum, histogram, exponential_histogram, summary)"
    )]
    NoType,
    #[error("aggregation temporality is unspecified (must be delta or cumulative)")]
    NoTemporality,
    #[error("{field} is {value}, not a finite number")]
    NotFinite { field: &'static str, value: f64 },
    #[error("a number data point without a value (as_double or as_int)")]
    NoValue,
    #[error("no time (time_unix_nano is 0)")]
    NoTime,
    #[error("time_unix_nano {time} is more than {max_ahead_s} s ahead of the receiver's clock")]
    InTheFuture { time: i64, max_ahead_s: i64 },
    #[error("start_time_unix_nano {start} is after time_unix_nano {time}")]
    StartsAfter { start: i64, time: i64 },
    #[error("{labels} attributes, more than the limit of {max} per data point")]
    TooManyLabels { labels: usize, max: usize },
    #[error("attribute {key:?} is {bytes} bytes long, more than the limit of {max}")]
    LabelTooLong {
        key: String,
        bytes: usize,
        max: usize,
    },
    #[error("{buckets} bucket counts for {bounds} explicit bounds (must be one more)")]
    BucketShape { buckets: usize, bounds: usize },
    #[error("explicit bounds are not strictly increasing")]
    BoundsOrder,
    #[error("bucket counts add up to {buckets}, not count {count}")]
    CountMismatch { buckets: u64, count: u64 },
    #[error("scale {0} is outside -10..=20")]
    Scale(i32),
    #[error("quantile {0} is outside 0..=1")]
    QuantileRange(f64),
}

/// Normalises an OTLP metrics export request, like `normalise_traces`: one row per data
/// point; a metric with no data counts as one rejected point. Exemplars with invalid ids
/// keep their value without the ids.
pub fn normalise_metrics<E>(
    request: &ExportMetricsServiceRequest,
    limits: &Limits,
    mut project_of: impl FnMut(&Attributes) -> Result<String, E>,
) -> Result<Normalised<MetricPoint>, E> {
    let mut out = Normalised::with_capacity(point_count(request) as usize);
    let mut messages = Vec::new();
    let checks = Checks {
        limits,
        now: now_ns(),
    };
    for (ri, rm) in request.resource_metrics.iter().enumerate() {
        let resource = ResourceFields::new(rm.resource.clone(), limits);
        let project_id = project_of(&resource.attributes)?;
        for sm in &rm.scope_metrics {
            let scope_name = sm
                .scope
                .as_ref()
                .map(|s| s.name.clone())
                .unwrap_or_default();
            for (mi, m) in sm.metrics.iter().enumerate() {
                let template = MetricPoint {
                    project_id: project_id.clone(),
                    name: m.name.clone(),
                    description: m.description.clone(),
                    unit: m.unit.clone(),
                    service_name: resource.service_name.clone(),
                    scope_name: scope_name.clone(),
                    start_time_unix_nano: 0,
                    time_unix_nano: 0,
                    attributes: Attributes::new(),
                    resource_attributes: resource.attributes.clone(),
                    value: PointValue::Gauge { value: 0.0 },
                    exemplars: Vec::new(),
                    flags: 0,
                };
                for (pi, point) in checks.metric(m, &template).into_iter().enumerate() {
                    match point {
                        Ok(p) => out.rows.push(p),
                        Err(e) => out.reject(&mut messages, || {
                            format!(
                                "resource_metrics[{ri}] metric[{mi}] ({:?}) point[{pi}]: {e}",
                                m.name
                            )
                        }),
                    }
                }
            }
        }
    }
    Ok(out.finish(messages))
}

/// Data points in a request, accepted or not (a metric without data counts as one).
pub fn point_count(request: &ExportMetricsServiceRequest) -> u64 {
    request
        .resource_metrics
        .iter()
        .flat_map(|r| &r.scope_metrics)
        .flat_map(|s| &s.metrics)
        .map(|m| match &m.data {
            None => 1,
            Some(metric::Data::Gauge(g)) => g.data_points.len(),
            Some(metric::Data::Sum(s)) => s.data_points.len(),
            Some(metric::Data::Histogram(h)) => h.data_points.len(),
            Some(metric::Data::ExponentialHistogram(h)) => h.data_points.len(),
            Some(metric::Data::Summary(s)) => s.data_points.len(),
        } as u64)
        .sum()
}

/// The fields every data-point type shares.
struct Common<'a> {
    attributes: &'a [KeyValue],
    start: u64,
    time: u64,
    flags: u32,
    exemplars: &'a [opentelemetry_proto::tonic::metrics::v1::Exemplar],
}

/// The checks of one request: its limits and the receiver's clock.
struct Checks<'a> {
    limits: &'a Limits,
    now: i64,
}

type Point = Result<MetricPoint, Rejection>;

impl Checks<'_> {
    /// Every data point of a metric, converted or refused.
    fn metric(&self, m: &Metric, template: &MetricPoint) -> Vec<Point> {
        if m.name.is_empty() {
            return vec![Err(Rejection::NoName)];
        }
        let Some(data) = &m.data else {
            return vec![Err(Rejection::NoType)];
        };
        match data {
            metric::Data::Gauge(g) => self.points(&g.data_points, template, |p| {
                Ok(PointValue::Gauge { value: number(p)? })
            }),
            metric::Data::Sum(s) => {
                let temporality = temporality(s.aggregation_temporality);
                self.points(&s.data_points, template, |p| {
                    Ok(PointValue::Sum {
                        value: number(p)?,
                        temporality: temporality.clone()?,
                        monotonic: s.is_monotonic,
                    })
                })
            }
            metric::Data::Histogram(h) => {
                let temporality = temporality(h.aggregation_temporality);
                self.points(&h.data_points, template, |p| {
                    histogram(p, temporality.clone()?)
                })
            }
            metric::Data::ExponentialHistogram(h) => {
                let temporality = temporality(h.aggregation_temporality);
                self.points(&h.data_points, template, |p| {
                    exponential(p, temporality.clone()?)
                })
            }
            metric::Data::Summary(s) => self.points(&s.data_points, template, summary),
        }
    }

    fn points<P: DataPoint>(
        &self,
        points: &[P],
        template: &MetricPoint,
        value: impl Fn(&P) -> Result<PointValue, Rejection>,
    ) -> Vec<Point> {
        points
            .iter()
            .map(|p| self.point(p.common(), value(p)?, template))
            .collect()
    }

    fn point(&self, c: Common<'_>, value: PointValue, template: &MetricPoint) -> Point {
        let time = clamp_time(c.time);
        let start = clamp_time(c.start);
        if time == 0 {
            return Err(Rejection::NoTime);
        }
        if time > self.now.saturating_add(self.limits.max_ahead_ns) {
            return Err(Rejection::InTheFuture {
                time,
                max_ahead_s: self.limits.max_ahead_ns / 1_000_000_000,
            });
        }
        if start > time {
            return Err(Rejection::StartsAfter { start, time });
        }
        Ok(MetricPoint {
            start_time_unix_nano: start,
            time_unix_nano: time,
            attributes: self.labels(c.attributes)?,
            value,
            exemplars: c.exemplars.iter().filter_map(exemplar_of).collect(),
            flags: c.flags,
            ..template.clone()
        })
    }

    /// The point's attributes, refused past the count or length limits.
    fn labels(&self, kvs: &[KeyValue]) -> Result<Attributes, Rejection> {
        let max = self.limits.max_attributes_per_span;
        if kvs.len() > max {
            return Err(Rejection::TooManyLabels {
                labels: kvs.len(),
                max,
            });
        }
        let attributes = attributes_from_otlp(kvs.to_vec());
        let max = self.limits.max_attribute_value_bytes;
        for (key, value) in &attributes {
            let bytes = key.len() + value.as_text().len();
            if bytes > max {
                return Err(Rejection::LabelTooLong {
                    key: key.clone(),
                    bytes,
                    max,
                });
            }
        }
        Ok(attributes)
    }
}

/// The OTLP data-point messages.
trait DataPoint {
    fn common(&self) -> Common<'_>;
}

macro_rules! data_point {
    ($t:ty) => {
        impl DataPoint for $t {
            fn common(&self) -> Common<'_> {
                Common {
                    attributes: &self.attributes,
                    start: self.start_time_unix_nano,
                    time: self.time_unix_nano,
                    flags: self.flags,
                    exemplars: &self.exemplars,
                }
            }
        }
    };
}

data_point!(NumberDataPoint);
data_point!(HistogramDataPoint);
data_point!(ExponentialHistogramDataPoint);

impl DataPoint for SummaryDataPoint {
    fn common(&self) -> Common<'_> {
        Common {
            attributes: &self.attributes,
            start: self.start_time_unix_nano,
            time: self.time_unix_nano,
            flags: self.flags,
            exemplars: &[],
        }
    }
}

fn temporality(code: i32) -> Result<Temporality, Rejection> {
    match AggregationTemporality::try_from(code) {
        Ok(AggregationTemporality::Delta) => Ok(Temporality::Delta),
        Ok(AggregationTemporality::Cumulative) => Ok(Temporality::Cumulative),
        _ => Err(Rejection::NoTemporality),
    }
}

fn finite(field: &'static str, value: f64) -> Result<f64, Rejection> {
    if value.is_finite() {
        Ok(value)
    } else {
        Err(Rejection::NotFinite { field, value })
    }
}

fn finite_opt(field: &'static str, value: Option<f64>) -> Result<Option<f64>, Rejection> {
    value.map(|v| finite(field, v)).transpose()
}

fn number(p: &NumberDataPoint) -> Result<f64, Rejection> {
    match p.value {
        Some(number_data_point::Value::AsDouble(d)) => finite("as_double", d),
        Some(number_data_point::Value::AsInt(i)) => Ok(i as f64),
        None => Err(Rejection::NoValue),
    }
}

fn counts_add_up(buckets: u64, count: u64) -> Result<(), Rejection> {
    if buckets == count {
        Ok(())
    } else {
        Err(Rejection::CountMismatch { buckets, count })
    }
}

fn histogram(p: &HistogramDataPoint, temporality: Temporality) -> Result<PointValue, Rejection> {
    for b in &p.explicit_bounds {
        finite("explicit_bounds", *b)?;
    }
    if !p.explicit_bounds.windows(2).all(|w| w[0] < w[1]) {
        return Err(Rejection::BoundsOrder);
    }
    let shaped = p.bucket_counts.len() == p.explicit_bounds.len() + 1
        || (p.bucket_counts.is_empty() && p.explicit_bounds.is_empty());
    if !shaped {
        return Err(Rejection::BucketShape {
            buckets: p.bucket_counts.len(),
            bounds: p.explicit_bounds.len(),
        });
    }
    if !p.bucket_counts.is_empty() {
        counts_add_up(sum_counts(&p.bucket_counts), p.count)?;
    }
    Ok(PointValue::Histogram {
        temporality,
        count: p.count,
        sum: finite_opt("sum", p.sum)?,
        min: finite_opt("min", p.min)?,
        max: finite_opt("max", p.max)?,
        bounds: p.explicit_bounds.clone(),
        counts: p.bucket_counts.clone(),
    })
}

fn sum_counts(counts: &[u64]) -> u64 {
    counts.iter().fold(0u64, |a, c| a.saturating_add(*c))
}

fn exp_buckets(b: Option<&Buckets>) -> ExpBuckets {
    b.map(|b| ExpBuckets {
        offset: b.offset,
        counts: b.bucket_counts.clone(),
    })
    .unwrap_or_default()
}

fn exponential(
    p: &ExponentialHistogramDataPoint,
    temporality: Temporality,
) -> Result<PointValue, Rejection> {
    if !SCALES.contains(&p.scale) {
        return Err(Rejection::Scale(p.scale));
    }
    let positive = exp_buckets(p.positive.as_ref());
    let negative = exp_buckets(p.negative.as_ref());
    let buckets = p
        .zero_count
        .saturating_add(sum_counts(&positive.counts))
        .saturating_add(sum_counts(&negative.counts));
    counts_add_up(buckets, p.count)?;
    Ok(PointValue::ExponentialHistogram {
        temporality,
        count: p.count,
        sum: finite_opt("sum", p.sum)?,
        min: finite_opt("min", p.min)?,
        max: finite_opt("max", p.max)?,
        scale: p.scale,
        zero_count: p.zero_count,
        zero_threshold: finite("zero_threshold", p.zero_threshold)?,
        positive,
        negative,
    })
}

fn summary(p: &SummaryDataPoint) -> Result<PointValue, Rejection> {
    let quantiles = p
        .quantile_values
        .iter()
        .map(|q| {
            if !(0.0..=1.0).contains(&q.quantile) {
                return Err(Rejection::QuantileRange(q.quantile));
            }
            Ok(Quantile {
                quantile: q.quantile,
                value: finite("quantile_values.value", q.value)?,
            })
        })
        .collect::<Result<_, _>>()?;
    Ok(PointValue::Summary {
        count: p.count,
        sum: finite("sum", p.sum)?,
        quantiles,
    })
}

/// An exemplar with a finite value; ids that are absent or invalid are left out.
fn exemplar_of(e: &opentelemetry_proto::tonic::metrics::v1::Exemplar) -> Option<Exemplar> {
    let value = match e.value? {
        exemplar::Value::AsDouble(d) => d,
        exemplar::Value::AsInt(i) => i as f64,
    };
    value.is_finite().then(|| Exemplar {
        time_unix_nano: clamp_time(e.time_unix_nano),
        value,
        trace_id: TraceId::from_bytes(&e.trace_id).ok(),
        span_id: SpanId::from_bytes(&e.span_id).ok(),
        attributes: attributes_from_otlp(e.filtered_attributes.clone()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::attr::AttrValue;
    use opentelemetry_proto::tonic::common::v1::{AnyValue, any_value};
    use opentelemetry_proto::tonic::metrics::v1::{
        Exemplar as OtlpExemplar, ExponentialHistogram, Gauge, Histogram, ResourceMetrics,
        ScopeMetrics, Sum, Summary, summary_data_point::ValueAtQuantile,
    };
    use opentelemetry_proto::tonic::resource::v1::Resource;

    const T: u64 = 1_700_000_000_000_000_000;

    fn kv(k: &str, v: &str) -> KeyValue {
        KeyValue {
            key: k.into(),
            value: Some(AnyValue {
                value: Some(any_value::Value::StringValue(v.into())),
            }),
            ..Default::default()
        }
    }

    fn request(metrics: Vec<Metric>) -> ExportMetricsServiceRequest {
        ExportMetricsServiceRequest {
            resource_metrics: vec![ResourceMetrics {
                resource: Some(Resource {
                    attributes: vec![kv("service.name", "shop")],
                    ..Default::default()
                }),
                scope_metrics: vec![ScopeMetrics {
                    metrics,
                    ..Default::default()
                }],
                ..Default::default()
            }],
        }
    }

    fn metric(name: &str, data: metric::Data) -> Metric {
        Metric {
            name: name.into(),
            unit: "ms".into(),
            data: Some(data),
            ..Default::default()
        }
    }

    fn number_point(value: f64) -> NumberDataPoint {
        NumberDataPoint {
            attributes: vec![kv("route", "/a")],
            start_time_unix_nano: T - 10,
            time_unix_nano: T,
            value: Some(number_data_point::Value::AsDouble(value)),
            exemplars: vec![OtlpExemplar {
                time_unix_nano: T - 5,
                value: Some(exemplar::Value::AsInt(7)),
                trace_id: vec![1; 16],
                span_id: vec![2; 8],
                ..Default::default()
            }],
            ..Default::default()
        }
    }

    fn histogram_point(counts: Vec<u64>, bounds: Vec<f64>, count: u64) -> HistogramDataPoint {
        HistogramDataPoint {
            time_unix_nano: T,
            count,
            sum: Some(12.0),
            bucket_counts: counts,
            explicit_bounds: bounds,
            ..Default::default()
        }
    }

    fn normalise(req: &ExportMetricsServiceRequest) -> Normalised<MetricPoint> {
        normalise_metrics(req, &Limits::default(), |_| Ok::<_, ()>("p".to_string())).unwrap()
    }

    #[test]
    fn every_type_becomes_typed_points() {
        let sum = Sum {
            data_points: vec![number_point(3.0)],
            aggregation_temporality: AggregationTemporality::Cumulative as i32,
            is_monotonic: true,
        };
        let exp = ExponentialHistogramDataPoint {
            time_unix_nano: T,
            count: 3,
            scale: 1,
            zero_count: 1,
            positive: Some(Buckets {
                offset: 2,
                bucket_counts: vec![1, 1],
            }),
            ..Default::default()
        };
        let req = request(vec![
            metric(
                "g",
                metric::Data::Gauge(Gauge {
                    data_points: vec![number_point(1.5)],
                }),
            ),
            metric("c", metric::Data::Sum(sum)),
            metric(
                "h",
                metric::Data::Histogram(Histogram {
                    data_points: vec![histogram_point(vec![1, 2, 0], vec![1.0, 5.0], 3)],
                    aggregation_temporality: AggregationTemporality::Delta as i32,
                }),
            ),
            metric(
                "e",
                metric::Data::ExponentialHistogram(ExponentialHistogram {
                    data_points: vec![exp],
                    aggregation_temporality: AggregationTemporality::Delta as i32,
                }),
            ),
            metric(
                "s",
                metric::Data::Summary(Summary {
                    data_points: vec![SummaryDataPoint {
                        time_unix_nano: T,
                        count: 2,
                        sum: 4.0,
                        quantile_values: vec![ValueAtQuantile {
                            quantile: 0.5,
                            value: 2.0,
                        }],
                        ..Default::default()
                    }],
                }),
            ),
        ]);
        let out = normalise(&req);
        assert_eq!(out.rejected, 0, "{}", out.rejection_message);
        assert_eq!(out.rows.len(), 5);
        let g = &out.rows[0];
        assert_eq!(g.value, PointValue::Gauge { value: 1.5 });
        assert_eq!(
            (
                g.project_id.as_str(),
                g.service_name.as_str(),
                g.unit.as_str()
            ),
            ("p", "shop", "ms")
        );
        assert_eq!(
            g.label("route").map(AttrValue::as_text).as_deref(),
            Some("/a")
        );
        assert_eq!(
            g.label("service.name").map(AttrValue::as_text).as_deref(),
            Some("shop")
        );
        assert_eq!(g.exemplars[0].value, 7.0);
        assert_eq!(g.exemplars[0].trace_id, Some(TraceId([1; 16])));
        assert_eq!(g.start_time_unix_nano, (T - 10) as i64);
        assert_eq!(
            out.rows[1].value,
            PointValue::Sum {
                value: 3.0,
                temporality: Temporality::Cumulative,
                monotonic: true
            }
        );
        assert_eq!(out.rows[2].value.temporality(), Some(Temporality::Delta));
        assert!(
            matches!(&out.rows[3].value, PointValue::ExponentialHistogram { positive, .. } if positive.offset == 2)
        );
        assert!(
            matches!(&out.rows[4].value, PointValue::Summary { quantiles, .. } if quantiles[0].value == 2.0)
        );
    }

    #[test]
    fn bad_points_are_rejected_one_by_one_with_their_reason() {
        let many: Vec<KeyValue> = (0..200).map(|i| kv(&format!("k{i}"), "v")).collect();
        let mut oversize = number_point(1.0);
        oversize.attributes = many;
        let mut no_time = number_point(1.0);
        no_time.time_unix_nano = 0;
        let gauge = Gauge {
            data_points: vec![
                number_point(f64::NAN),
                number_point(f64::INFINITY),
                oversize,
                no_time,
                number_point(2.0),
            ],
        };
        let req = request(vec![
            metric("g", metric::Data::Gauge(gauge)),
            Metric {
                name: "untyped".into(),
                ..Default::default()
            },
            metric(
                "h",
                metric::Data::Histogram(Histogram {
                    data_points: vec![
                        histogram_point(vec![1, 1, 0], vec![1.0, 5.0], 3),
                        histogram_point(vec![1, 1], vec![1.0, 5.0], 2),
                        histogram_point(vec![1, 1, 1], vec![5.0, 1.0], 3),
                    ],
                    aggregation_temporality: AggregationTemporality::Cumulative as i32,
                }),
            ),
            metric(
                "no_temporality",
                metric::Data::Sum(Sum {
                    data_points: vec![number_point(1.0)],
                    ..Default::default()
                }),
            ),
        ]);
        assert_eq!(point_count(&req), 10);
        let out = normalise(&req);
        assert_eq!(out.rows.len(), 1, "only the good gauge point is kept");
        assert_eq!(out.rejected, 9);
        let m = &out.rejection_message;
        assert!(
            m.contains("point[0]: as_double is NaN, not a finite number"),
            "{m}"
        );
        assert!(m.contains("as_double is inf"), "{m}");
        assert!(
            m.contains("200 attributes, more than the limit of 128"),
            "{m}"
        );
        assert!(m.contains("no time"), "{m}");
        assert!(
            m.contains("(\"untyped\") point[0]: the metric has no data"),
            "{m}"
        );
        assert!(m.contains("and 4 more"), "{m}");
        let only_h = request(vec![
            req.resource_metrics[0].scope_metrics[0].metrics[2].clone(),
        ]);
        let m = normalise(&only_h).rejection_message;
        assert!(m.contains("bucket counts add up to 2, not count 3"), "{m}");
        assert!(m.contains("2 bucket counts for 2 explicit bounds"), "{m}");
        assert!(m.contains("not strictly increasing"), "{m}");
    }
}
