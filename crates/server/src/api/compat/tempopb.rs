//! The messages of Grafana Tempo's `tempopb` package (`pkg/tempopb/tempo.proto`) that the
//! trace-by-id routes send as protobuf, declared with prost's derive at the upstream field
//! numbers. Tempo's `tempopb.trace.v1` is its vendored copy of OTLP's `trace.v1`, the same
//! messages on the wire, so the OTLP types stand in for it.

use opentelemetry_proto::tonic::trace::v1::ResourceSpans;

/// `tempopb.Trace`: the spans of one trace, by resource (field 1, `batches` in older
/// releases, `resourceSpans` in newer ones).
#[derive(Clone, PartialEq, prost::Message)]
pub struct Trace {
    /// The spans by resource.
    #[prost(message, repeated, tag = "1")]
    pub resource_spans: Vec<ResourceSpans>,
}

/// `tempopb.PartialStatus`: whether the answer holds the whole trace.
#[derive(Clone, Copy, Debug, PartialEq, Eq, prost::Enumeration)]
#[repr(i32)]
pub enum PartialStatus {
    /// Every span the store holds.
    Complete = 0,
    /// Some spans were left out (a size limit).
    Partial = 1,
}

/// `tempopb.TraceByIDResponse`: the answer of `/api/v2/traces/{id}` (field 2, the
/// `TraceByIDMetrics`, has no field tracehouse fills).
#[derive(Clone, PartialEq, prost::Message)]
pub struct TraceByIdResponse {
    /// The trace.
    #[prost(message, optional, tag = "1")]
    pub trace: Option<Trace>,
    /// Complete or partial.
    #[prost(enumeration = "PartialStatus", tag = "3")]
    pub status: i32,
    /// Why the answer is partial, when it is.
    #[prost(string, tag = "4")]
    pub message: String,
}
