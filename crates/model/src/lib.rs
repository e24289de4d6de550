//! The tracehouse data model: spans, log records, OTLP metric data points and error occurrences with typed attributes, trace and span ids, and the
//! conversion from OpenTelemetry's OTLP messages into that model.
//!
//! Every other crate speaks these types: ingest produces them, stores persist them and the
//! query API returns them.
//!
//! The types the API returns derive their OpenAPI schema (`utoipa::ToSchema`) next to their
//! serde attributes, so the schema says what serde writes: a field serde always writes — an
//! `Option` as `null`, a `#[serde(default)]` field — is marked `#[schema(required = true)]`,
//! which utoipa would otherwise leave optional; an [`Attributes`] field names its map type
//! (`#[schema(value_type = BTreeMap<String, AttrValue>)]`), which the derive cannot see
//! through the alias.

pub mod attr;
pub mod errors;
mod identity;
pub mod ids;
pub mod log;
pub mod metric_point;
pub mod otlp;
pub mod otlp_metrics;
pub mod span;

pub use attr::{AttrValue, Attributes, SharedAttributes};
pub use errors::{ErrorOccurrence, ErrorSource, errors_from_logs, errors_from_spans, fingerprint};
pub use identity::span_fingerprint;
pub use ids::{IdError, LogId, SpanId, TraceId};
pub use log::{Level, LogRecord};
pub use metric_point::{
    Exemplar, ExpBuckets, MetricPoint, MetricType, PointValue, Quantile, Temporality,
};
pub use otlp::{Limits, Normalised, normalise_logs, normalise_traces};
pub use otlp_metrics::normalise_metrics;
pub use span::{Event, Link, Span, SpanKind, StatusCode};
