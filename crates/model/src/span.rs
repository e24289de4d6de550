//! The span row: what tracehouse stores and returns for every span (DESIGN §3).

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::attr::{AttrValue, Attributes, SharedAttributes};
use crate::ids::{SpanId, TraceId};

/// The role of a span in a request, as in OTLP.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    PartialOrd,
    Ord,
    Serialize,
    Deserialize,
    ToSchema,
    Default,
)]
#[serde(rename_all = "lowercase")]
pub enum SpanKind {
    /// No kind was given.
    #[default]
    Unspecified,
    /// Internal work within one service.
    Internal,
    /// The server side of a synchronous call.
    Server,
    /// The client side of a synchronous call.
    Client,
    /// The sender of an asynchronous message.
    Producer,
    /// The receiver of an asynchronous message.
    Consumer,
}

impl SpanKind {
    /// Every kind, indexed by its OTLP enum number.
    pub const ALL: [SpanKind; 6] = [
        SpanKind::Unspecified,
        SpanKind::Internal,
        SpanKind::Server,
        SpanKind::Client,
        SpanKind::Producer,
        SpanKind::Consumer,
    ];

    /// Maps the OTLP enum number; unknown numbers become `Unspecified`.
    pub fn from_otlp(kind: i32) -> Self {
        match kind {
            1 => SpanKind::Internal,
            2 => SpanKind::Server,
            3 => SpanKind::Client,
            4 => SpanKind::Producer,
            5 => SpanKind::Consumer,
            _ => SpanKind::Unspecified,
        }
    }

    /// The OTLP enum number, used as the stored code.
    pub fn code(self) -> u8 {
        self as u8
    }

    /// The lowercase name used in the API and the query language.
    pub fn as_str(self) -> &'static str {
        match self {
            SpanKind::Unspecified => "unspecified",
            SpanKind::Internal => "internal",
            SpanKind::Server => "server",
            SpanKind::Client => "client",
            SpanKind::Producer => "producer",
            SpanKind::Consumer => "consumer",
        }
    }
}

/// A span's status code, as in OTLP.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    PartialOrd,
    Ord,
    Serialize,
    Deserialize,
    ToSchema,
    Default,
)]
#[serde(rename_all = "lowercase")]
pub enum StatusCode {
    /// No status was set.
    #[default]
    Unset,
    /// Explicitly successful.
    Ok,
    /// Failed.
    Error,
}

impl StatusCode {
    /// Every status code, indexed by its OTLP enum number.
    pub const ALL: [StatusCode; 3] = [StatusCode::Unset, StatusCode::Ok, StatusCode::Error];

    /// Maps the OTLP enum number; unknown numbers become `Unset`.
    pub fn from_otlp(code: i32) -> Self {
        match code {
            1 => StatusCode::Ok,
            2 => StatusCode::Error,
            _ => StatusCode::Unset,
        }
    }

    /// The OTLP enum number, used as the stored code.
    pub fn code(self) -> u8 {
        self as u8
    }

    /// The lowercase name used in the API and the query language.
    pub fn as_str(self) -> &'static str {
        match self {
            StatusCode::Unset => "unset",
            StatusCode::Ok => "ok",
            StatusCode::Error => "error",
        }
    }
}

/// A timestamped annotation on a span (an `exception` event marks an error).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Event {
    /// When the event happened, ns since the Unix epoch.
    pub time_unix_nano: i64,
    /// The event name.
    pub name: String,
    /// The event's attributes.
    #[schema(required = true)]
    #[schema(value_type = BTreeMap<String, AttrValue>)]
    #[serde(default)]
    pub attributes: Attributes,
    /// Attributes the sender dropped.
    #[schema(required = true)]
    #[serde(default)]
    pub dropped_attributes_count: u32,
}

/// A reference from a span to a span in another (or the same) trace.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Link {
    /// The linked trace.
    pub trace_id: TraceId,
    /// The linked span.
    pub span_id: SpanId,
    /// W3C trace state of the link.
    #[schema(required = true)]
    #[serde(default)]
    pub trace_state: String,
    /// The link's attributes.
    #[schema(required = true)]
    #[schema(value_type = BTreeMap<String, AttrValue>)]
    #[serde(default)]
    pub attributes: Attributes,
    /// Attributes the sender dropped.
    #[schema(required = true)]
    #[serde(default)]
    pub dropped_attributes_count: u32,
}

/// One stored span, normalised from OTLP.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Span {
    /// The project the span belongs to.
    pub project_id: String,
    /// The trace the span belongs to.
    pub trace_id: TraceId,
    /// The span's own id.
    pub span_id: SpanId,
    /// The parent span, absent for a root.
    #[schema(required = true)]
    pub parent_span_id: Option<SpanId>,
    /// W3C trace state.
    pub trace_state: String,
    /// The operation name.
    pub name: String,
    /// The span kind.
    pub kind: SpanKind,
    /// Start, ns since the Unix epoch.
    pub start_time_unix_nano: i64,
    /// End, ns since the Unix epoch.
    pub end_time_unix_nano: i64,
    /// `end - start` in ns (never negative).
    pub duration_nanos: i64,
    /// The status code.
    pub status_code: StatusCode,
    /// The status message.
    pub status_message: String,
    /// `service.name` of the resource.
    pub service_name: String,
    /// `service.version` of the resource.
    pub service_version: String,
    /// `deployment.environment[.name]` of the resource.
    pub environment: String,
    /// Instrumentation scope name.
    pub scope_name: String,
    /// Instrumentation scope version.
    pub scope_version: String,
    /// Instrumentation scope attributes.
    #[schema(value_type = BTreeMap<String, AttrValue>)]
    pub scope_attributes: Attributes,
    /// Browser session the span belongs to (`highlight.session_id` or `session.id`).
    #[schema(required = true)]
    pub session_id: Option<String>,
    /// Span-scope attributes.
    #[schema(value_type = BTreeMap<String, AttrValue>)]
    pub attributes: Attributes,
    /// Resource-scope attributes: those of the resource (service, host, SDK) that sent it.
    // One allocation shared by every span of that resource.
    #[schema(value_type = BTreeMap<String, AttrValue>)]
    pub resource_attributes: SharedAttributes,
    /// Span events in time order as sent.
    pub events: Vec<Event>,
    /// Links to other spans.
    pub links: Vec<Link>,
    /// Status error or an `exception` event.
    pub has_error: bool,
    /// Attributes dropped by the sender or by limits.
    pub dropped_attributes_count: u32,
    /// Events dropped by the sender.
    pub dropped_events_count: u32,
    /// Links dropped by the sender or because their ids were invalid.
    pub dropped_links_count: u32,
}
