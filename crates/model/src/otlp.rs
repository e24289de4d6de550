//! OTLP → model normalisation: resource and scope fields, typed attributes, session ids,
//! error detection, id validation and attribute limits.

use opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceRequest;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::logs::v1::LogRecord as OtlpLogRecord;
use opentelemetry_proto::tonic::trace::v1::Span as OtlpSpan;
use opentelemetry_proto::tonic::trace::v1::span::{Event as OtlpEvent, Link as OtlpLink};

use opentelemetry_proto::tonic::resource::v1::Resource;

use crate::attr::{AttrValue, Attributes, SharedAttributes, attributes_from_otlp};
use crate::ids::{IdError, LogId, SpanId, TraceId};
use crate::log::{Level, LogRecord};
use crate::span::{Event, Link, Span, SpanKind, StatusCode};

/// Resource attributes that carry a project ingest key.
pub const PROJECT_ATTRIBUTES: [&str; 2] = ["tracehouse.project", "highlight.project_id"];
/// Attributes that carry a browser session id, in order of preference.
pub const SESSION_ATTRIBUTES: [&str; 2] = ["highlight.session_id", "session.id"];
/// How many rejection messages a response spells out before summarising.
const MAX_MESSAGES: usize = 5;

/// Why one span or log record is refused (counted in `partial_success`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
enum Rejection {
    /// An invalid trace, span or parent id.
    #[error(transparent)]
    Id(#[from] IdError),
    /// A span without a start time (Zipkin's timestamp-less spans, buggy SDKs).
    #[error("no start time (start_time_unix_nano is 0)")]
    NoStartTime,
    /// A span whose end precedes its start (an unset end included).
    #[error("ends before it starts (end_time_unix_nano {end} < start_time_unix_nano {start})")]
    EndsBeforeStart {
        /// Start, ns.
        start: i64,
        /// End, ns.
        end: i64,
    },
    /// A time further past the receiver's clock than [`Limits::max_ahead_ns`].
    #[error(
        "{field} {time} is more than {max_ahead_s} s ahead of the receiver's clock ({now}): \
         fix the sender's clock, or raise --max-clock-ahead"
    )]
    InTheFuture {
        /// The OTLP field.
        field: &'static str,
        /// Its value, ns.
        time: i64,
        /// The receiver's clock, ns.
        now: i64,
        /// The bound, seconds.
        max_ahead_s: i64,
    },
    /// A log record with neither a time nor an observed time.
    #[error("no time (time_unix_nano and observed_time_unix_nano are 0)")]
    NoTime,
}

/// The receiver's clock, ns since the epoch.
pub(crate) fn now_ns() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_nanos()).unwrap_or(i64::MAX))
}

/// Refuses a time past the receiver's clock by more than `max_ahead_ns`.
fn not_in_future(
    field: &'static str,
    time: i64,
    now: i64,
    max_ahead_ns: i64,
) -> Result<(), Rejection> {
    if time > now.saturating_add(max_ahead_ns) {
        return Err(Rejection::InTheFuture {
            field,
            time,
            now,
            max_ahead_s: max_ahead_ns / 1_000_000_000,
        });
    }
    Ok(())
}

/// Limits applied while normalising, in the spirit of the OpenTelemetry SDKs' attribute
/// limits: attributes past the count limit are dropped (and added to the
/// `dropped_attributes_count` of their span, event, link or log record), string values
/// longer than the length limit are truncated (strings inside arrays and maps too), and
/// names and messages are truncated to their own limits. Lengths are bytes, cut on a
/// character boundary.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Attributes kept per attribute set (a span's, its resource's, its scope's, each
    /// event's and link's, a log record's); the rest are counted as dropped.
    pub max_attributes_per_span: usize,
    /// String attribute values (and log bodies) are truncated to this many bytes.
    pub max_attribute_value_bytes: usize,
    /// Span names and event names are truncated to this many bytes.
    pub max_name_bytes: usize,
    /// Status messages are truncated to this many bytes.
    pub max_status_message_bytes: usize,
    /// How far past the receiver's clock a span or log record may be timed, ns (clock skew
    /// between hosts is tolerated up to this); later rows are refused.
    pub max_ahead_ns: i64,
}

impl Default for Limits {
    /// 128 attributes per set (the OpenTelemetry SDKs' default), values of at most
    /// 16 KiB (room for a stack trace), names of 1 KiB and status messages of 4 KiB: a span
    /// with every attribute at its longest is still a few MiB, a typical one unchanged.
    /// Times up to an hour ahead of the receiver's clock.
    fn default() -> Self {
        Limits {
            max_attributes_per_span: 128,
            max_attribute_value_bytes: 16 * 1024,
            max_name_bytes: 1024,
            max_status_message_bytes: 4 * 1024,
            max_ahead_ns: 3_600_000_000_000,
        }
    }
}

/// The outcome of normalising one export request: the accepted rows (spans or log records)
/// and a summary of the rejected ones.
#[derive(Debug)]
pub struct Normalised<T = Span> {
    /// The accepted rows.
    pub rows: Vec<T>,
    /// How many rows were rejected.
    pub rejected: u64,
    /// Why: a summary suitable for OTLP `partial_success.error_message`.
    pub rejection_message: String,
}

impl<T> Default for Normalised<T> {
    fn default() -> Self {
        Normalised {
            rows: Vec::new(),
            rejected: 0,
            rejection_message: String::new(),
        }
    }
}

impl<T> Normalised<T> {
    /// An outcome with room for `rows` rows, allocated once.
    pub(crate) fn with_capacity(rows: usize) -> Self {
        Normalised {
            rows: Vec::with_capacity(rows),
            ..Normalised::default()
        }
    }

    /// Counts a rejected row, keeping the first few reasons.
    pub(crate) fn reject(&mut self, messages: &mut Vec<String>, why: impl FnOnce() -> String) {
        self.rejected += 1;
        if messages.len() < MAX_MESSAGES {
            messages.push(why());
        }
    }

    /// Writes the rejection summary once all rows are seen.
    pub(crate) fn finish(mut self, messages: Vec<String>) -> Self {
        if self.rejected > 0 {
            let more = self.rejected as usize - messages.len();
            self.rejection_message = messages.join("; ");
            if more > 0 {
                self.rejection_message
                    .push_str(&format!("; and {more} more"));
            }
        }
        self
    }
}

/// Normalises an OTLP trace export request.
///
/// `project_of` receives each resource's attributes and returns the project its spans belong
/// to; its error aborts the whole request (an unknown key is not a per-span problem).
pub fn normalise_traces<E>(
    request: ExportTraceServiceRequest,
    limits: &Limits,
    mut project_of: impl FnMut(&Attributes) -> Result<String, E>,
) -> Result<Normalised, E> {
    let spans = request.resource_spans.iter().flat_map(|rs| &rs.scope_spans);
    let mut out = Normalised::with_capacity(spans.map(|ss| ss.spans.len()).sum());
    let mut messages = Vec::new();
    let now = now_ns();
    for (ri, rs) in request.resource_spans.into_iter().enumerate() {
        let resource = ResourceFields::new(rs.resource, limits);
        let project_id = project_of(&resource.attributes)?;
        for ss in rs.scope_spans {
            let (scope_name, scope_version, mut scope_attributes) = match ss.scope {
                Some(s) => (s.name, s.version, attributes_from_otlp(s.attributes)),
                None => Default::default(),
            };
            limit_attributes(&mut scope_attributes, limits);
            for (si, otlp) in ss.spans.into_iter().enumerate() {
                let ids = match checked_span(&otlp, limits, now) {
                    Ok(ids) => ids,
                    Err(e) => {
                        out.reject(&mut messages, || {
                            format!("resource_spans[{ri}] span[{si}] ({:?}): {e}", otlp.name)
                        });
                        continue;
                    }
                };
                let mut span = normalise_span(otlp, ids, limits);
                span.project_id.clone_from(&project_id);
                span.service_name.clone_from(&resource.service_name);
                span.service_version.clone_from(&resource.service_version);
                span.environment.clone_from(&resource.environment);
                span.scope_name.clone_from(&scope_name);
                span.scope_version.clone_from(&scope_version);
                span.scope_attributes.clone_from(&scope_attributes);
                if span.session_id.is_none() {
                    span.session_id = session_of(&resource.attributes);
                }
                span.resource_attributes = resource.attributes.clone();
                span.dropped_attributes_count += resource.dropped;
                out.rows.push(span);
            }
        }
    }
    Ok(out.finish(messages))
}

/// Normalises an OTLP logs export request, like [`normalise_traces`]. A record's trace and
/// span ids are optional, but when present they must be valid (else the record is rejected
/// and counted). The event time falls back to the observed time.
pub fn normalise_logs<E>(
    request: ExportLogsServiceRequest,
    limits: &Limits,
    mut project_of: impl FnMut(&Attributes) -> Result<String, E>,
) -> Result<Normalised<LogRecord>, E> {
    let records = request.resource_logs.iter().flat_map(|rl| &rl.scope_logs);
    let mut out = Normalised::with_capacity(records.map(|sl| sl.log_records.len()).sum());
    let mut messages = Vec::new();
    let now = now_ns();
    for (ri, rl) in request.resource_logs.into_iter().enumerate() {
        let resource = ResourceFields::new(rl.resource, limits);
        let project_id = project_of(&resource.attributes)?;
        for sl in rl.scope_logs {
            let scope_name = sl.scope.map(|s| s.name).unwrap_or_default();
            for (li, otlp) in sl.log_records.into_iter().enumerate() {
                match normalise_log(otlp, limits, now) {
                    Ok(mut log) => {
                        log.project_id.clone_from(&project_id);
                        log.service_name.clone_from(&resource.service_name);
                        log.service_version.clone_from(&resource.service_version);
                        log.environment.clone_from(&resource.environment);
                        log.scope_name.clone_from(&scope_name);
                        if log.session_id.is_none() {
                            log.session_id = session_of(&resource.attributes);
                        }
                        log.resource_attributes = resource.attributes.clone();
                        log.dropped_attributes_count += resource.dropped;
                        log.log_id = log.content_id();
                        out.rows.push(log);
                    }
                    Err(e) => out.reject(&mut messages, || {
                        format!("resource_logs[{ri}] log_record[{li}]: {e}")
                    }),
                }
            }
        }
    }
    Ok(out.finish(messages))
}

fn normalise_log(otlp: OtlpLogRecord, limits: &Limits, now: i64) -> Result<LogRecord, Rejection> {
    let optional = |bytes: &[u8]| !bytes.is_empty() && bytes.iter().any(|b| *b != 0);
    let trace_id = if optional(&otlp.trace_id) {
        Some(TraceId::from_bytes(&otlp.trace_id)?)
    } else {
        None
    };
    let span_id = if optional(&otlp.span_id) {
        Some(SpanId::from_bytes(&otlp.span_id)?)
    } else {
        None
    };
    let mut attributes = attributes_from_otlp(otlp.attributes);
    let dropped = limit_attributes(&mut attributes, limits);
    let observed = clamp_time(otlp.observed_time_unix_nano);
    let time = match clamp_time(otlp.time_unix_nano) {
        0 if observed == 0 => return Err(Rejection::NoTime),
        0 => observed,
        t => t,
    };
    not_in_future("time_unix_nano", time, now, limits.max_ahead_ns)?;
    let mut body = match AttrValue::from_otlp(otlp.body) {
        AttrValue::Str(s) => s,
        other => other.to_json().to_string(),
    };
    truncate_on_char(&mut body, limits.max_attribute_value_bytes);
    let severity_number = u8::try_from(otlp.severity_number.clamp(0, 24)).unwrap_or(0);
    Ok(LogRecord {
        log_id: LogId::default(),
        project_id: String::new(),
        time_unix_nano: time,
        observed_time_unix_nano: observed,
        severity_number,
        level: Level::of(otlp.severity_number, &otlp.severity_text),
        severity_text: otlp.severity_text,
        body,
        trace_id,
        span_id,
        service_name: String::new(),
        service_version: String::new(),
        environment: String::new(),
        scope_name: String::new(),
        session_id: session_of(&attributes),
        attributes,
        resource_attributes: SharedAttributes::default(),
        flags: otlp.flags,
        dropped_attributes_count: otlp.dropped_attributes_count + dropped,
    })
}

/// What every row of a resource shares: its attributes (limited), how many of them were
/// dropped, and the service fields they give.
pub(crate) struct ResourceFields {
    pub(crate) attributes: SharedAttributes,
    dropped: u32,
    pub(crate) service_name: String,
    service_version: String,
    environment: String,
}

impl ResourceFields {
    pub(crate) fn new(resource: Option<Resource>, limits: &Limits) -> Self {
        let mut attrs = attributes_from_otlp(resource.map(|r| r.attributes).unwrap_or_default());
        let dropped = limit_attributes(&mut attrs, limits);
        let text = |keys: &[&str]| {
            keys.iter()
                .find_map(|k| attrs.get(*k))
                .map(AttrValue::as_text)
                .unwrap_or_default()
        };
        let mut service_name = text(&["service.name"]);
        if service_name.is_empty() {
            service_name = "unknown_service".to_string();
        }
        let service_version = text(&["service.version"]);
        let environment = text(&["deployment.environment.name", "deployment.environment"]);
        ResourceFields {
            attributes: SharedAttributes::new(attrs),
            dropped,
            service_name,
            service_version,
            environment,
        }
    }
}

/// The session id carried by a set of attributes, if any.
fn session_of(attrs: &Attributes) -> Option<String> {
    SESSION_ATTRIBUTES
        .iter()
        .filter_map(|k| attrs.get(*k))
        .map(AttrValue::as_text)
        .find(|s| !s.is_empty())
}

/// What a span must have to be stored, checked before anything is taken from it: its ids
/// and its times.
struct CheckedSpan {
    trace_id: TraceId,
    span_id: SpanId,
    parent_span_id: Option<SpanId>,
    start: i64,
    end: i64,
}

/// Checks a span's ids and times against the limits and the receiver's clock `now`.
fn checked_span(otlp: &OtlpSpan, limits: &Limits, now: i64) -> Result<CheckedSpan, Rejection> {
    let trace_id = TraceId::from_bytes(&otlp.trace_id)?;
    let span_id = SpanId::from_bytes(&otlp.span_id)?;
    let parent_span_id = if otlp.parent_span_id.is_empty() {
        None
    } else {
        Some(SpanId::from_bytes(&otlp.parent_span_id)?)
    };
    let start = clamp_time(otlp.start_time_unix_nano);
    let end = clamp_time(otlp.end_time_unix_nano);
    if start == 0 {
        return Err(Rejection::NoStartTime);
    }
    if end < start {
        return Err(Rejection::EndsBeforeStart { start, end });
    }
    not_in_future("start_time_unix_nano", start, now, limits.max_ahead_ns)?;
    not_in_future("end_time_unix_nano", end, now, limits.max_ahead_ns)?;
    Ok(CheckedSpan {
        trace_id,
        span_id,
        parent_span_id,
        start,
        end,
    })
}

/// The span row of a checked OTLP span, its strings taken over (the resource and scope
/// fields are the caller's to fill).
fn normalise_span(otlp: OtlpSpan, checked: CheckedSpan, limits: &Limits) -> Span {
    let mut attributes = attributes_from_otlp(otlp.attributes);
    let dropped = limit_attributes(&mut attributes, limits);
    let events: Vec<Event> = otlp
        .events
        .into_iter()
        .map(|e| event_from_otlp(e, limits))
        .collect();
    let mut dropped_links = otlp.dropped_links_count;
    let links: Vec<Link> = otlp
        .links
        .into_iter()
        .filter_map(|l| {
            let link = link_from_otlp(l, limits);
            dropped_links += u32::from(link.is_none());
            link
        })
        .collect();
    let (code, mut status_message) = otlp.status.map(|s| (s.code, s.message)).unwrap_or_default();
    let status_code = StatusCode::from_otlp(code);
    let mut name = otlp.name;
    truncate_on_char(&mut name, limits.max_name_bytes);
    truncate_on_char(&mut status_message, limits.max_status_message_bytes);
    let has_error =
        status_code == StatusCode::Error || events.iter().any(|e| e.name == "exception");
    Span {
        project_id: String::new(),
        trace_id: checked.trace_id,
        span_id: checked.span_id,
        parent_span_id: checked.parent_span_id,
        trace_state: otlp.trace_state,
        name,
        kind: SpanKind::from_otlp(otlp.kind),
        start_time_unix_nano: checked.start,
        end_time_unix_nano: checked.end,
        duration_nanos: checked.end - checked.start,
        status_code,
        status_message,
        service_name: String::new(),
        service_version: String::new(),
        environment: String::new(),
        scope_name: String::new(),
        scope_version: String::new(),
        scope_attributes: Attributes::new(),
        session_id: session_of(&attributes),
        attributes,
        resource_attributes: SharedAttributes::default(),
        events,
        links,
        has_error,
        dropped_attributes_count: otlp.dropped_attributes_count + dropped,
        dropped_events_count: otlp.dropped_events_count,
        dropped_links_count: dropped_links,
    }
}

fn event_from_otlp(e: OtlpEvent, limits: &Limits) -> Event {
    let mut attributes = attributes_from_otlp(e.attributes);
    let dropped = limit_attributes(&mut attributes, limits);
    let mut name = e.name;
    truncate_on_char(&mut name, limits.max_name_bytes);
    Event {
        time_unix_nano: clamp_time(e.time_unix_nano),
        name,
        attributes,
        dropped_attributes_count: e.dropped_attributes_count + dropped,
    }
}

/// A link with invalid ids is dropped (and counted) rather than rejecting its span.
fn link_from_otlp(l: OtlpLink, limits: &Limits) -> Option<Link> {
    let trace_id = TraceId::from_bytes(&l.trace_id).ok()?;
    let span_id = SpanId::from_bytes(&l.span_id).ok()?;
    let mut attributes = attributes_from_otlp(l.attributes);
    let dropped = limit_attributes(&mut attributes, limits);
    Some(Link {
        trace_id,
        span_id,
        trace_state: l.trace_state,
        attributes,
        dropped_attributes_count: l.dropped_attributes_count + dropped,
    })
}

/// OTLP times are u64 ns; we store i64 ns (good until the year 2262).
pub(crate) fn clamp_time(t: u64) -> i64 {
    i64::try_from(t).unwrap_or(i64::MAX)
}

/// Applies the limits; returns how many attributes were dropped.
fn limit_attributes(attrs: &mut Attributes, limits: &Limits) -> u32 {
    let mut dropped = 0;
    while attrs.len() > limits.max_attributes_per_span {
        attrs.pop_last();
        dropped += 1;
    }
    for value in attrs.values_mut() {
        truncate_value(value, limits.max_attribute_value_bytes);
    }
    dropped
}

/// Truncates the strings of a value, those inside arrays and maps too.
fn truncate_value(value: &mut AttrValue, max: usize) {
    match value {
        AttrValue::Str(s) => truncate_on_char(s, max),
        AttrValue::Array(items) => items.iter_mut().for_each(|v| truncate_value(v, max)),
        AttrValue::Map(entries) => entries.iter_mut().for_each(|(_, v)| truncate_value(v, max)),
        AttrValue::Int(_) | AttrValue::Float(_) | AttrValue::Bool(_) | AttrValue::Bytes(_) => {}
    }
}

/// Cuts `s` to at most `max` bytes, on a char boundary.
fn truncate_on_char(s: &mut String, max: usize) {
    if s.len() > max {
        let mut cut = max;
        while !s.is_char_boundary(cut) {
            cut -= 1;
        }
        s.truncate(cut);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use opentelemetry_proto::tonic::common::v1::{AnyValue, KeyValue, any_value};
    use opentelemetry_proto::tonic::resource::v1::Resource;
    use opentelemetry_proto::tonic::trace::v1::{ResourceSpans, ScopeSpans, Status};

    fn kv(k: &str, v: &str) -> KeyValue {
        KeyValue {
            key: k.into(),
            value: Some(AnyValue {
                value: Some(any_value::Value::StringValue(v.into())),
            }),
            ..Default::default()
        }
    }

    fn span(trace: &[u8], id: &[u8]) -> OtlpSpan {
        OtlpSpan {
            trace_id: trace.to_vec(),
            span_id: id.to_vec(),
            name: "GET /cart".into(),
            kind: 2,
            start_time_unix_nano: 1_000,
            end_time_unix_nano: 5_000,
            ..Default::default()
        }
    }

    fn request(spans: Vec<OtlpSpan>) -> ExportTraceServiceRequest {
        ExportTraceServiceRequest {
            resource_spans: vec![ResourceSpans {
                resource: Some(Resource {
                    attributes: vec![
                        kv("service.name", "cart"),
                        kv("service.version", "1.2"),
                        kv("deployment.environment", "prod"),
                    ],
                    ..Default::default()
                }),
                scope_spans: vec![ScopeSpans {
                    spans,
                    ..Default::default()
                }],
                ..Default::default()
            }],
        }
    }

    fn run(req: ExportTraceServiceRequest) -> Normalised {
        normalise_traces(req, &Limits::default(), |_| Ok::<_, ()>("p".to_string())).unwrap()
    }

    #[test]
    fn fills_resource_fields_session_and_errors() {
        let mut s = span(&[1; 16], &[2; 8]);
        s.attributes.push(kv("session.id", "sess-1"));
        s.status = Some(Status {
            code: 2,
            message: "boom".into(),
        });
        let out = run(request(vec![s]));
        assert_eq!(out.rejected, 0);
        let sp = &out.rows[0];
        assert_eq!(sp.project_id, "p");
        assert_eq!(sp.service_name, "cart");
        assert_eq!(sp.service_version, "1.2");
        assert_eq!(sp.environment, "prod");
        assert_eq!(sp.session_id.as_deref(), Some("sess-1"));
        assert_eq!(sp.kind, SpanKind::Server);
        assert_eq!(sp.duration_nanos, 4_000);
        assert!(sp.has_error);
        assert_eq!(sp.status_message, "boom");
    }

    #[test]
    fn spans_of_one_resource_share_its_attributes() {
        let out = run(request(vec![
            span(&[1; 16], &[2; 8]),
            span(&[1; 16], &[3; 8]),
        ]));
        let [a, b] = &out.rows[..] else {
            panic!("two spans expected, got {}", out.rows.len());
        };
        assert_eq!(a.resource_attributes.len(), 3);
        assert!(
            SharedAttributes::ptr_eq(&a.resource_attributes, &b.resource_attributes),
            "one copy of the resource's attributes for all its spans"
        );
    }

    #[test]
    fn exception_event_marks_error() {
        let mut s = span(&[1; 16], &[2; 8]);
        s.events.push(OtlpEvent {
            name: "exception".into(),
            ..Default::default()
        });
        assert!(run(request(vec![s])).rows[0].has_error);
    }

    #[test]
    fn invalid_ids_reject_only_that_span() {
        let good = span(&[1; 16], &[2; 8]);
        let zero = span(&[0; 16], &[2; 8]);
        let short = span(&[1; 8], &[2; 8]);
        let mut bad_parent = span(&[1; 16], &[3; 8]);
        bad_parent.parent_span_id = vec![1, 2];
        let out = run(request(vec![good, zero, short, bad_parent]));
        assert_eq!(out.rows.len(), 1);
        assert_eq!(out.rejected, 3);
        assert!(
            out.rejection_message.contains("all zeros"),
            "{}",
            out.rejection_message
        );
        assert!(
            out.rejection_message.contains("16 bytes"),
            "{}",
            out.rejection_message
        );
    }

    #[test]
    fn limits_drop_and_truncate() {
        use opentelemetry_proto::tonic::common::v1::ArrayValue;
        use opentelemetry_proto::tonic::trace::v1::span::Event as OtlpEvent;
        let mut s = span(&[1; 16], &[2; 8]);
        s.attributes = (0..5).map(|i| kv(&format!("k{i}"), "ééé")).collect();
        s.dropped_attributes_count = 1;
        s.name = "x".repeat(100);
        s.status = Some(Status {
            message: "y".repeat(100),
            code: 2,
        });
        s.events = vec![OtlpEvent {
            name: "é".repeat(50),
            attributes: (0..4).map(|i| kv(&format!("e{i}"), "v")).collect(),
            ..Default::default()
        }];
        let limits = Limits {
            max_attributes_per_span: 3,
            max_attribute_value_bytes: 3,
            max_name_bytes: 5,
            max_status_message_bytes: 7,
            ..Limits::default()
        };
        let out =
            normalise_traces(request(vec![s]), &limits, |_| Ok::<_, ()>(String::new())).unwrap();
        let sp = &out.rows[0];
        assert_eq!(sp.attributes.len(), 3);
        assert_eq!(sp.dropped_attributes_count, 1 + 2, "the sender's and ours");
        assert_eq!(sp.attributes["k0"], AttrValue::Str("é".into()));
        assert_eq!(sp.name, "xxxxx");
        assert_eq!(sp.status_message, "yyyyyyy");
        assert_eq!(sp.events[0].name, "éé", "cut on a character boundary");
        assert_eq!(sp.events[0].attributes.len(), 3);
        assert_eq!(sp.events[0].dropped_attributes_count, 1);
        // Strings inside arrays are truncated too.
        let mut s = span(&[1; 16], &[3; 8]);
        s.attributes = vec![kv("a", "x")];
        s.attributes[0].value = Some(AnyValue {
            value: Some(any_value::Value::ArrayValue(ArrayValue {
                values: vec![AnyValue {
                    value: Some(any_value::Value::StringValue("abcdef".into())),
                }],
            })),
        });
        let out =
            normalise_traces(request(vec![s]), &limits, |_| Ok::<_, ()>(String::new())).unwrap();
        assert_eq!(
            out.rows[0].attributes["a"],
            AttrValue::Array(vec![AttrValue::Str("abc".into())])
        );
    }

    #[test]
    fn odd_times_are_refused_with_a_reason() {
        let now = u64::try_from(now_ns()).unwrap_or(0);
        let hour = 3_600_000_000_000u64;
        let timed = |id: u8, start: u64, end: u64| {
            let mut s = span(&[1; 16], &[id; 8]);
            s.start_time_unix_nano = start;
            s.end_time_unix_nano = end;
            s
        };
        let req = request(vec![
            timed(1, 0, 5_000),
            timed(2, 9_000, 5_000),
            timed(3, 9_000, 0),
            timed(4, now + 2 * hour, now + 2 * hour + 1),
            timed(5, now, now + 3 * hour),
            timed(6, now + hour / 2, now + hour / 2 + 1),
            timed(7, 9_000, 9_000),
        ]);
        let out = normalise_traces(req.clone(), &Limits::default(), |_| {
            Ok::<_, ()>(String::new())
        })
        .unwrap();
        let kept: Vec<u8> = out.rows.iter().map(|s| s.span_id.0[0]).collect();
        assert_eq!(
            kept,
            [6, 7],
            "a little skew and a zero-length span are fine"
        );
        assert_eq!(out.rejected, 5);
        let m = &out.rejection_message;
        for why in [
            "no start time",
            "ends before it starts (end_time_unix_nano 5000 < start_time_unix_nano 9000)",
            "end_time_unix_nano 0 < start_time_unix_nano 9000",
            "start_time_unix_nano",
            "more than 3600 s ahead of the receiver's clock",
        ] {
            assert!(m.contains(why), "{why} in {m}");
        }
        // A sender with a badly skewed clock is let in by a wider bound.
        let lenient = Limits {
            max_ahead_ns: 4 * hour as i64,
            ..Limits::default()
        };
        let out = normalise_traces(req, &lenient, |_| Ok::<_, ()>(String::new())).unwrap();
        let kept: Vec<u8> = out.rows.iter().map(|s| s.span_id.0[0]).collect();
        assert_eq!(kept, [4, 5, 6, 7]);
        // Log records: a time far ahead, or no time at all.
        use opentelemetry_proto::tonic::logs::v1::{ResourceLogs, ScopeLogs};
        let log = |time: u64, observed: u64| OtlpLogRecord {
            time_unix_nano: time,
            observed_time_unix_nano: observed,
            ..Default::default()
        };
        let req = ExportLogsServiceRequest {
            resource_logs: vec![ResourceLogs {
                scope_logs: vec![ScopeLogs {
                    log_records: vec![log(0, 0), log(now + 2 * hour, 0), log(0, now), log(now, 0)],
                    ..Default::default()
                }],
                ..Default::default()
            }],
        };
        let out = normalise_logs(req, &Limits::default(), |_| Ok::<_, ()>(String::new())).unwrap();
        assert_eq!(out.rows.len(), 2);
        assert_eq!(out.rejected, 2);
        assert!(
            out.rejection_message.contains("no time"),
            "{}",
            out.rejection_message
        );
        assert!(
            out.rejection_message.contains("time_unix_nano"),
            "{}",
            out.rejection_message
        );
    }

    #[test]
    fn project_error_aborts() {
        let r = normalise_traces(
            request(vec![span(&[1; 16], &[2; 8])]),
            &Limits::default(),
            |_| Err::<String, _>("unknown key"),
        );
        assert_eq!(r.err(), Some("unknown key"));
    }

    #[test]
    fn logs_get_resource_fields_levels_ids_and_rejections() {
        use opentelemetry_proto::tonic::logs::v1::{ResourceLogs, ScopeLogs};
        let record = |trace: Vec<u8>, number: i32, text: &str| OtlpLogRecord {
            time_unix_nano: 0,
            observed_time_unix_nano: 7_000,
            severity_number: number,
            severity_text: text.into(),
            body: Some(AnyValue {
                value: Some(any_value::Value::StringValue("payment failed".into())),
            }),
            trace_id: trace,
            span_id: vec![2; 8],
            attributes: vec![kv("highlight.session_id", "s-9")],
            ..Default::default()
        };
        let req = ExportLogsServiceRequest {
            resource_logs: vec![ResourceLogs {
                resource: Some(Resource {
                    attributes: vec![kv("service.name", "pay")],
                    ..Default::default()
                }),
                scope_logs: vec![ScopeLogs {
                    log_records: vec![
                        record(vec![1; 16], 17, "ERROR"),
                        record(vec![], 0, "warning"),
                        record(vec![1; 5], 9, "INFO"),
                    ],
                    ..Default::default()
                }],
                ..Default::default()
            }],
        };
        let out =
            normalise_logs(req, &Limits::default(), |_| Ok::<_, ()>("p".to_string())).unwrap();
        assert_eq!(out.rows.len(), 2);
        assert_eq!(out.rejected, 1);
        assert!(
            out.rejection_message.contains("log_record[2]"),
            "{}",
            out.rejection_message
        );
        let (a, b) = (&out.rows[0], &out.rows[1]);
        assert_eq!(a.service_name, "pay");
        assert_eq!(a.project_id, "p");
        assert_eq!(a.time_unix_nano, 7_000, "observed time stands in");
        assert_eq!(a.level, Level::Error);
        assert_eq!(a.trace_id, Some(TraceId([1; 16])));
        assert_eq!(a.session_id.as_deref(), Some("s-9"));
        assert_eq!(b.level, Level::Warn);
        assert_eq!(b.trace_id, None, "an empty trace id means no trace");
        assert_ne!(a.log_id, b.log_id);
        assert_eq!(a.log_id, a.content_id(), "the id is the content hash");
    }
}
