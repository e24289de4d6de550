//! The tracehouse data model: spans with typed attributes, trace and span ids, and the
//! conversion from OpenTelemetry's OTLP messages into that model.
//!
//! Every other crate speaks these types: ingest produces them, stores persist them and the
//! query API returns them.

pub mod attr;
pub mod ids;
pub mod otlp;
pub mod span;

pub use attr::{AttrValue, Attributes};
pub use ids::{IdError, SpanId, TraceId};
pub use otlp::{Limits, Normalised, normalise_traces};
pub use span::{Event, Link, Span, SpanKind, StatusCode};
