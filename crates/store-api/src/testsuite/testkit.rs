//! Builders of test data every backend's tests share, so that a test states only what
//! matters to it.

use std::collections::BTreeSet;

use tracehouse_model::{Level, LogId, LogRecord, Span, SpanId, SpanKind, StatusCode, TraceId};

/// One millisecond in ns.
pub const MS: i64 = 1_000_000;
/// One second in ns.
pub const S: i64 = 1_000 * MS;

/// The set of whitespace-separated labels in `labels` (`"a1 b2"`), as suites state expected
/// answers.
pub fn set(labels: &str) -> BTreeSet<String> {
    labels.split_whitespace().map(String::from).collect()
}

/// A plain server span of project `p`, service `svc`, named `op`, without attributes,
/// events or links; tests change what they need with struct update syntax.
pub fn span(trace_id: TraceId, span_id: SpanId, start: i64, duration: i64) -> Span {
    Span {
        project_id: "p".into(),
        trace_id,
        span_id,
        parent_span_id: None,
        trace_state: String::new(),
        name: "op".into(),
        kind: SpanKind::Server,
        start_time_unix_nano: start,
        end_time_unix_nano: start + duration,
        duration_nanos: duration,
        status_code: StatusCode::Ok,
        status_message: String::new(),
        service_name: "svc".into(),
        service_version: String::new(),
        environment: String::new(),
        scope_name: String::new(),
        scope_version: String::new(),
        scope_attributes: Default::default(),
        session_id: None,
        attributes: Default::default(),
        resource_attributes: Default::default(),
        events: Vec::new(),
        links: Vec::new(),
        has_error: false,
        dropped_attributes_count: 0,
        dropped_events_count: 0,
        dropped_links_count: 0,
    }
}

/// A plain log record of project `p`, service `svc`, at `time` with `body` and the given
/// severity, outside any trace and session; tests change what they need with struct update
/// syntax, then give it its content id with [`LogRecord::content_id`] if they store it.
pub fn log(time: i64, severity_number: u8, severity_text: &str, body: &str) -> LogRecord {
    LogRecord {
        log_id: LogId::default(),
        project_id: "p".into(),
        time_unix_nano: time,
        observed_time_unix_nano: time,
        severity_number,
        severity_text: severity_text.into(),
        level: Level::of(i32::from(severity_number), severity_text),
        body: body.into(),
        trace_id: None,
        span_id: None,
        service_name: "svc".into(),
        service_version: String::new(),
        environment: String::new(),
        scope_name: String::new(),
        session_id: None,
        attributes: Default::default(),
        resource_attributes: Default::default(),
        flags: 0,
        dropped_attributes_count: 0,
    }
}
