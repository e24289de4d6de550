//! OTLP metrics (the third signal) as stored: one [`MetricPoint`] per OTLP data point,
//! with what it measured as a [`PointValue`] of its data-point type. Named apart from the
//! span metrics (RED metrics derived from spans) so that the two never blur.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::attr::{AttrValue, Attributes, SharedAttributes};
use crate::ids::{SpanId, TraceId};

/// The OTLP data-point type of a metric.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, ToSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum MetricType {
    /// The last value of something (a temperature, a queue length).
    Gauge,
    /// A sum over time: a counter when monotonic, an up-down counter when not.
    Sum,
    /// A distribution in explicit buckets.
    Histogram,
    /// A distribution in base-2 exponential buckets.
    ExponentialHistogram,
    /// Quantiles computed by the sender (legacy Prometheus summaries).
    Summary,
}

impl MetricType {
    /// The API and query name (`exponential_histogram`).
    pub fn as_str(self) -> &'static str {
        match self {
            MetricType::Gauge => "gauge",
            MetricType::Sum => "sum",
            MetricType::Histogram => "histogram",
            MetricType::ExponentialHistogram => "exponential_histogram",
            MetricType::Summary => "summary",
        }
    }

    /// The type of an API name ([`MetricType::as_str`]).
    pub fn parse(name: &str) -> Option<MetricType> {
        [
            MetricType::Gauge,
            MetricType::Sum,
            MetricType::Histogram,
            MetricType::ExponentialHistogram,
            MetricType::Summary,
        ]
        .into_iter()
        .find(|t| t.as_str() == name)
    }
}

/// How the values of a sum or histogram add up over time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Temporality {
    /// Each point covers the time since the previous one.
    Delta,
    /// Each point covers the time since its series' start time (which moves on a restart
    /// of the sender: a counter reset).
    Cumulative,
}

/// One side (positive or negative) of an exponential histogram: bucket `offset + i`
/// counts values in `(base^(offset+i), base^(offset+i+1)]`, `base = 2^(2^-scale)`.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, ToSchema)]
pub struct ExpBuckets {
    /// Index of the first bucket.
    pub offset: i32,
    /// Counts of consecutive buckets from `offset`.
    pub counts: Vec<u64>,
}

/// One quantile of a summary.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Quantile {
    /// The quantile, 0–1.
    pub quantile: f64,
    /// The value at that quantile.
    pub value: f64,
}

/// What one data point measured, by its metric's type.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum PointValue {
    /// A gauge's value.
    Gauge {
        /// The value.
        value: f64,
    },
    /// A sum's value.
    Sum {
        /// The value.
        value: f64,
        /// Delta or cumulative.
        temporality: Temporality,
        /// A counter (only goes up) rather than an up-down counter.
        monotonic: bool,
    },
    /// An explicit-bucket histogram.
    Histogram {
        /// Delta or cumulative.
        temporality: Temporality,
        /// Values counted.
        count: u64,
        /// Their sum, when the sender kept it.
        #[schema(required = true)]
        sum: Option<f64>,
        /// The smallest value, when known.
        #[schema(required = true)]
        min: Option<f64>,
        /// The largest value, when known.
        #[schema(required = true)]
        max: Option<f64>,
        /// Upper bounds of all buckets but the last, increasing.
        bounds: Vec<f64>,
        /// Counts per bucket (one more than bounds).
        counts: Vec<u64>,
    },
    /// A base-2 exponential histogram.
    ExponentialHistogram {
        /// Delta or cumulative.
        temporality: Temporality,
        /// Values counted.
        count: u64,
        /// Their sum, when the sender kept it.
        #[schema(required = true)]
        sum: Option<f64>,
        /// The smallest value, when known.
        #[schema(required = true)]
        min: Option<f64>,
        /// The largest value, when known.
        #[schema(required = true)]
        max: Option<f64>,
        /// Resolution: `base = 2^(2^-scale)`.
        scale: i32,
        /// Values in the zero bucket.
        zero_count: u64,
        /// Width of the zero bucket.
        zero_threshold: f64,
        /// Buckets of positive values.
        positive: ExpBuckets,
        /// Buckets of negative values (indexes of their absolute values).
        negative: ExpBuckets,
    },
    /// A summary.
    Summary {
        /// Values counted.
        count: u64,
        /// Their sum.
        sum: f64,
        /// Quantiles, as sent.
        quantiles: Vec<Quantile>,
    },
}

impl PointValue {
    /// The data-point type.
    pub fn metric_type(&self) -> MetricType {
        match self {
            PointValue::Gauge { .. } => MetricType::Gauge,
            PointValue::Sum { .. } => MetricType::Sum,
            PointValue::Histogram { .. } => MetricType::Histogram,
            PointValue::ExponentialHistogram { .. } => MetricType::ExponentialHistogram,
            PointValue::Summary { .. } => MetricType::Summary,
        }
    }

    /// The temporality of sums and histograms (`None` for gauges and summaries).
    pub fn temporality(&self) -> Option<Temporality> {
        match self {
            PointValue::Sum { temporality, .. }
            | PointValue::Histogram { temporality, .. }
            | PointValue::ExponentialHistogram { temporality, .. } => Some(*temporality),
            PointValue::Gauge { .. } | PointValue::Summary { .. } => None,
        }
    }
}

/// A sample value recorded with its trace context, kept beside the point it fed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Exemplar {
    /// When it was recorded, ns since the Unix epoch.
    pub time_unix_nano: i64,
    /// The recorded value.
    pub value: f64,
    /// The trace it was recorded in, when it was.
    #[schema(required = true)]
    pub trace_id: Option<TraceId>,
    /// The span it was recorded in, when it was.
    #[schema(required = true)]
    pub span_id: Option<SpanId>,
    /// Attributes the aggregation filtered out of the point.
    #[schema(value_type = BTreeMap<String, AttrValue>)]
    pub attributes: Attributes,
}

/// One stored OTLP metric data point, normalised.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct MetricPoint {
    /// The project the point belongs to.
    pub project_id: String,
    /// The metric's name (`http.server.request.duration`).
    pub name: String,
    /// The metric's description, as sent.
    pub description: String,
    /// The metric's unit (UCUM, `ms`, `By`, `{request}`).
    pub unit: String,
    /// `service.name` of the resource.
    pub service_name: String,
    /// Instrumentation scope name (the meter).
    pub scope_name: String,
    /// Start of a cumulative series (a later start is a reset), or of a delta's interval;
    /// 0 when unset.
    pub start_time_unix_nano: i64,
    /// When the point was taken, ns since the Unix epoch.
    pub time_unix_nano: i64,
    /// Point attributes (the labels).
    #[schema(value_type = BTreeMap<String, AttrValue>)]
    pub attributes: Attributes,
    /// Resource attributes: those of the resource (service, host, SDK) that sent it.
    // One allocation shared by every point of that resource.
    #[schema(value_type = BTreeMap<String, AttrValue>)]
    pub resource_attributes: SharedAttributes,
    /// What was measured.
    pub value: PointValue,
    /// Sample values with their traces.
    pub exemplars: Vec<Exemplar>,
    /// OTLP data-point flags (bit 0: no recorded value).
    pub flags: u32,
}

impl MetricPoint {
    /// A label's value: the point's attribute, else the resource's (`service.name`).
    pub fn label(&self, key: &str) -> Option<&AttrValue> {
        self.attributes
            .get(key)
            .or_else(|| self.resource_attributes.get(key))
    }

    /// Whether the sender marked the point as having no value (a stale series).
    pub fn no_recorded_value(&self) -> bool {
        self.flags & 1 == 1
    }
}
