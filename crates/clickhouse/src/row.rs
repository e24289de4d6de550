//! The rows of the `spans`, `logs` and `errors` tables as sent and read in RowBinary, and
//! their conversion from and to the model's [`Span`], [`LogRecord`] and
//! [`ErrorOccurrence`].

use clickhouse::Row;
use serde::{Deserialize, Serialize};
use tracehouse_model::{
    AttrValue, Attributes, ErrorOccurrence, ErrorSource, Level, LogId, LogRecord, Span, SpanId,
    SpanKind, StatusCode, TraceId,
};
use tracehouse_store_api::value::eval_value;

use crate::error::ClickHouseError;

/// One row of the `spans` table (field names are the column names).
#[derive(Debug, Clone, Row, Serialize, Deserialize)]
pub struct SpanRow {
    pub(crate) project_id: String,
    pub(crate) timestamp: i64,
    pub(crate) end_time: i64,
    pub(crate) duration: i64,
    pub(crate) trace_id: [u8; 16],
    pub(crate) span_id: [u8; 8],
    pub(crate) parent_span_id: Option<[u8; 8]>,
    pub(crate) trace_state: String,
    pub(crate) name: String,
    pub(crate) kind: String,
    pub(crate) status_code: String,
    pub(crate) status_message: String,
    pub(crate) service_name: String,
    pub(crate) service_version: String,
    pub(crate) environment: String,
    pub(crate) scope_name: String,
    pub(crate) scope_version: String,
    pub(crate) scope_attributes: String,
    pub(crate) session_id: Option<String>,
    pub(crate) has_error: bool,
    pub(crate) attributes: Vec<(String, String)>,
    pub(crate) attributes_num: Vec<(String, f64)>,
    pub(crate) attributes_bool: Vec<(String, bool)>,
    pub(crate) attributes_typed: Vec<(String, String)>,
    pub(crate) resource_attributes: Vec<(String, String)>,
    pub(crate) resource_attributes_num: Vec<(String, f64)>,
    pub(crate) resource_attributes_bool: Vec<(String, bool)>,
    pub(crate) resource_attributes_typed: Vec<(String, String)>,
    pub(crate) events: String,
    pub(crate) links: String,
    pub(crate) dropped_attributes_count: u32,
    pub(crate) dropped_events_count: u32,
    pub(crate) dropped_links_count: u32,
}

/// The columns read back into a [`SpanRow`] (the numeric and boolean views are only
/// for filtering).
pub const READ_COLUMNS: &str = "project_id, timestamp, end_time, duration, trace_id, span_id, \
    parent_span_id, trace_state, name, kind, status_code, status_message, service_name, \
    service_version, environment, scope_name, scope_version, scope_attributes, session_id, \
    has_error, attributes, attributes_typed, resource_attributes, resource_attributes_typed, \
    events, links, dropped_attributes_count, dropped_events_count, dropped_links_count";

/// A row as read: [`SpanRow`] without the filter-only views.
#[derive(Debug, Clone, Row, Deserialize)]
pub struct ReadRow {
    project_id: String,
    timestamp: i64,
    end_time: i64,
    duration: i64,
    trace_id: [u8; 16],
    span_id: [u8; 8],
    parent_span_id: Option<[u8; 8]>,
    trace_state: String,
    name: String,
    kind: String,
    status_code: String,
    status_message: String,
    service_name: String,
    service_version: String,
    environment: String,
    scope_name: String,
    scope_version: String,
    scope_attributes: String,
    session_id: Option<String>,
    has_error: bool,
    attributes: Vec<(String, String)>,
    attributes_typed: Vec<(String, String)>,
    resource_attributes: Vec<(String, String)>,
    resource_attributes_typed: Vec<(String, String)>,
    events: String,
    links: String,
    dropped_attributes_count: u32,
    dropped_events_count: u32,
    dropped_links_count: u32,
}

/// The four stored views of one attribute map.
#[derive(Default)]
struct AttrColumns {
    text: Vec<(String, String)>,
    num: Vec<(String, f64)>,
    bools: Vec<(String, bool)>,
    typed: Vec<(String, String)>,
}

/// The value as the embedded store reads it back from its JSON form: a non-finite float
/// is written as a JSON string and so becomes a string. Storing that form keeps both
/// backends' answers identical.
fn as_stored(v: &AttrValue) -> std::borrow::Cow<'_, AttrValue> {
    match v {
        AttrValue::Float(f) if !f.is_finite() => {
            std::borrow::Cow::Owned(AttrValue::Str(f.to_string()))
        }
        AttrValue::Array(_) | AttrValue::Map(_) => {
            std::borrow::Cow::Owned(AttrValue::from_json(&v.to_json()))
        }
        other => std::borrow::Cow::Borrowed(other),
    }
}

fn encode_attrs(attrs: &Attributes) -> AttrColumns {
    let mut out = AttrColumns::default();
    for (k, v) in attrs {
        let v = as_stored(v);
        let ev = eval_value(&v);
        out.text.push((k.clone(), ev.as_text().into_owned()));
        if let Some(n) = ev.as_f64() {
            out.num.push((k.clone(), n));
        }
        if let Some(b) = ev.as_bool() {
            out.bools.push((k.clone(), b));
        }
        if !matches!(*v, AttrValue::Str(_)) {
            out.typed.push((k.clone(), v.to_json().to_string()));
        }
    }
    out
}

fn decode_attrs(text: Vec<(String, String)>, typed: Vec<(String, String)>) -> Attributes {
    let typed: std::collections::HashMap<String, String> = typed.into_iter().collect();
    text.into_iter()
        .map(|(k, t)| {
            let v = match typed
                .get(&k)
                .and_then(|j| serde_json::from_str::<serde_json::Value>(j).ok())
            {
                Some(json) => AttrValue::from_json(&json),
                None => AttrValue::Str(t),
            };
            (k, v)
        })
        .collect()
}

fn json_of<T: Serialize>(v: &T) -> String {
    serde_json::to_string(v).unwrap_or_else(|_| "[]".to_string())
}

impl SpanRow {
    /// The row of a span.
    pub fn from_span(s: &Span) -> SpanRow {
        let a = encode_attrs(&s.attributes);
        let r = encode_attrs(&s.resource_attributes);
        SpanRow {
            project_id: s.project_id.clone(),
            timestamp: s.start_time_unix_nano,
            end_time: s.end_time_unix_nano,
            duration: s.duration_nanos,
            trace_id: s.trace_id.0,
            span_id: s.span_id.0,
            parent_span_id: s.parent_span_id.map(|p| p.0),
            trace_state: s.trace_state.clone(),
            name: s.name.clone(),
            kind: s.kind.as_str().to_string(),
            status_code: s.status_code.as_str().to_string(),
            status_message: s.status_message.clone(),
            service_name: s.service_name.clone(),
            service_version: s.service_version.clone(),
            environment: s.environment.clone(),
            scope_name: s.scope_name.clone(),
            scope_version: s.scope_version.clone(),
            scope_attributes: json_of(&s.scope_attributes),
            session_id: s.session_id.clone(),
            has_error: s.has_error,
            attributes: a.text,
            attributes_num: a.num,
            attributes_bool: a.bools,
            attributes_typed: a.typed,
            resource_attributes: r.text,
            resource_attributes_num: r.num,
            resource_attributes_bool: r.bools,
            resource_attributes_typed: r.typed,
            events: json_of(&s.events),
            links: json_of(&s.links),
            dropped_attributes_count: s.dropped_attributes_count,
            dropped_events_count: s.dropped_events_count,
            dropped_links_count: s.dropped_links_count,
        }
    }
}

fn kind_of(name: &str) -> SpanKind {
    match name {
        "internal" => SpanKind::Internal,
        "server" => SpanKind::Server,
        "client" => SpanKind::Client,
        "producer" => SpanKind::Producer,
        "consumer" => SpanKind::Consumer,
        _ => SpanKind::Unspecified,
    }
}

fn status_of(name: &str) -> StatusCode {
    match name {
        "ok" => StatusCode::Ok,
        "error" => StatusCode::Error,
        _ => StatusCode::Unset,
    }
}

impl ReadRow {
    /// The span of a row.
    pub fn into_span(self) -> Result<Span, ClickHouseError> {
        let corrupt = |what: &str, e: serde_json::Error| {
            ClickHouseError::Corrupt(format!("column {what} of a span: {e}"))
        };
        Ok(Span {
            project_id: self.project_id,
            trace_id: TraceId(self.trace_id),
            span_id: SpanId(self.span_id),
            parent_span_id: self.parent_span_id.map(SpanId),
            trace_state: self.trace_state,
            name: self.name,
            kind: kind_of(&self.kind),
            start_time_unix_nano: self.timestamp,
            end_time_unix_nano: self.end_time,
            duration_nanos: self.duration,
            status_code: status_of(&self.status_code),
            status_message: self.status_message,
            service_name: self.service_name,
            service_version: self.service_version,
            environment: self.environment,
            scope_name: self.scope_name,
            scope_version: self.scope_version,
            scope_attributes: serde_json::from_str(&self.scope_attributes)
                .map_err(|e| corrupt("scope_attributes", e))?,
            session_id: self.session_id,
            attributes: decode_attrs(self.attributes, self.attributes_typed),
            resource_attributes: decode_attrs(
                self.resource_attributes,
                self.resource_attributes_typed,
            )
            .into(),
            events: serde_json::from_str(&self.events).map_err(|e| corrupt("events", e))?,
            links: serde_json::from_str(&self.links).map_err(|e| corrupt("links", e))?,
            has_error: self.has_error,
            dropped_attributes_count: self.dropped_attributes_count,
            dropped_events_count: self.dropped_events_count,
            dropped_links_count: self.dropped_links_count,
        })
    }
}

/// One row of the `logs` table (field names are the column names).
#[derive(Debug, Clone, Row, Serialize, Deserialize)]
pub struct LogRow {
    pub(crate) project_id: String,
    pub(crate) time: i64,
    pub(crate) observed_time: i64,
    pub(crate) log_id: [u8; 16],
    pub(crate) trace_id: Option<[u8; 16]>,
    pub(crate) span_id: Option<[u8; 8]>,
    pub(crate) severity_number: u8,
    pub(crate) severity_text: String,
    pub(crate) level: String,
    pub(crate) body: String,
    pub(crate) service_name: String,
    pub(crate) service_version: String,
    pub(crate) environment: String,
    pub(crate) scope_name: String,
    pub(crate) session_id: Option<String>,
    pub(crate) flags: u32,
    pub(crate) dropped_attributes_count: u32,
    pub(crate) attributes: Vec<(String, String)>,
    pub(crate) attributes_num: Vec<(String, f64)>,
    pub(crate) attributes_bool: Vec<(String, bool)>,
    pub(crate) attributes_typed: Vec<(String, String)>,
    pub(crate) resource_attributes: Vec<(String, String)>,
    pub(crate) resource_attributes_num: Vec<(String, f64)>,
    pub(crate) resource_attributes_bool: Vec<(String, bool)>,
    pub(crate) resource_attributes_typed: Vec<(String, String)>,
}

/// The columns read back into a [`LogReadRow`].
pub const LOG_READ_COLUMNS: &str = "project_id, time, observed_time, log_id, trace_id, span_id, \
    severity_number, severity_text, level, body, service_name, service_version, environment, \
    scope_name, session_id, flags, dropped_attributes_count, attributes, attributes_typed, \
    resource_attributes, resource_attributes_typed";

/// A log row as read: [`LogRow`] without the filter-only views.
#[derive(Debug, Clone, Row, Deserialize)]
pub struct LogReadRow {
    project_id: String,
    time: i64,
    observed_time: i64,
    log_id: [u8; 16],
    trace_id: Option<[u8; 16]>,
    span_id: Option<[u8; 8]>,
    severity_number: u8,
    severity_text: String,
    level: String,
    body: String,
    service_name: String,
    service_version: String,
    environment: String,
    scope_name: String,
    session_id: Option<String>,
    flags: u32,
    dropped_attributes_count: u32,
    attributes: Vec<(String, String)>,
    attributes_typed: Vec<(String, String)>,
    resource_attributes: Vec<(String, String)>,
    resource_attributes_typed: Vec<(String, String)>,
}

impl LogRow {
    /// The row of a log record.
    pub fn from_log(l: &LogRecord) -> LogRow {
        let a = encode_attrs(&l.attributes);
        let r = encode_attrs(&l.resource_attributes);
        LogRow {
            project_id: l.project_id.clone(),
            time: l.time_unix_nano,
            observed_time: l.observed_time_unix_nano,
            log_id: l.log_id.0,
            trace_id: l.trace_id.map(|t| t.0),
            span_id: l.span_id.map(|s| s.0),
            severity_number: l.severity_number,
            severity_text: l.severity_text.clone(),
            level: l.level.as_str().to_string(),
            body: l.body.clone(),
            service_name: l.service_name.clone(),
            service_version: l.service_version.clone(),
            environment: l.environment.clone(),
            scope_name: l.scope_name.clone(),
            session_id: l.session_id.clone(),
            flags: l.flags,
            dropped_attributes_count: l.dropped_attributes_count,
            attributes: a.text,
            attributes_num: a.num,
            attributes_bool: a.bools,
            attributes_typed: a.typed,
            resource_attributes: r.text,
            resource_attributes_num: r.num,
            resource_attributes_bool: r.bools,
            resource_attributes_typed: r.typed,
        }
    }
}

/// The level of a stored level name (`unknown` for names this build does not know).
pub fn level_of(name: &str) -> Level {
    Level::from_text(name).unwrap_or(Level::Unknown)
}

impl LogReadRow {
    /// The log record of a row.
    pub fn into_log(self) -> LogRecord {
        LogRecord {
            log_id: LogId(self.log_id),
            project_id: self.project_id,
            time_unix_nano: self.time,
            observed_time_unix_nano: self.observed_time,
            severity_number: self.severity_number,
            severity_text: self.severity_text,
            level: level_of(&self.level),
            body: self.body,
            trace_id: self.trace_id.map(TraceId),
            span_id: self.span_id.map(SpanId),
            service_name: self.service_name,
            service_version: self.service_version,
            environment: self.environment,
            scope_name: self.scope_name,
            session_id: self.session_id,
            attributes: decode_attrs(self.attributes, self.attributes_typed),
            resource_attributes: decode_attrs(
                self.resource_attributes,
                self.resource_attributes_typed,
            )
            .into(),
            flags: self.flags,
            dropped_attributes_count: self.dropped_attributes_count,
        }
    }
}

/// One row of the `errors` table, written and read alike.
#[derive(Debug, Clone, Row, Serialize, Deserialize)]
pub struct ErrorRow {
    pub(crate) project_id: String,
    pub(crate) time: i64,
    pub(crate) fingerprint: String,
    #[serde(rename = "type")]
    pub(crate) error_type: String,
    pub(crate) message: String,
    pub(crate) stacktrace: String,
    pub(crate) service_name: String,
    pub(crate) service_version: String,
    pub(crate) environment: String,
    pub(crate) trace_id: Option<[u8; 16]>,
    pub(crate) span_id: Option<[u8; 8]>,
    pub(crate) session_id: Option<String>,
    pub(crate) source: String,
}

/// The columns of an [`ErrorRow`].
pub const ERROR_COLUMNS: &str = "project_id, time, fingerprint, type, message, stacktrace, \
    service_name, service_version, environment, trace_id, span_id, session_id, source";

/// The stored name of an error source.
fn source_name(s: ErrorSource) -> &'static str {
    match s {
        ErrorSource::SpanEvent => "span_event",
        ErrorSource::Log => "log",
    }
}

impl ErrorRow {
    /// The row of an error occurrence.
    pub fn from_error(e: &ErrorOccurrence) -> ErrorRow {
        ErrorRow {
            project_id: e.project_id.clone(),
            time: e.time_unix_nano,
            fingerprint: e.fingerprint.clone(),
            error_type: e.error_type.clone(),
            message: e.message.clone(),
            stacktrace: e.stacktrace.clone(),
            service_name: e.service_name.clone(),
            service_version: e.service_version.clone(),
            environment: e.environment.clone(),
            trace_id: e.trace_id.map(|t| t.0),
            span_id: e.span_id.map(|s| s.0),
            session_id: e.session_id.clone(),
            source: source_name(e.source).to_string(),
        }
    }

    /// The error occurrence of a row.
    pub fn into_error(self) -> ErrorOccurrence {
        ErrorOccurrence {
            project_id: self.project_id,
            time_unix_nano: self.time,
            fingerprint: self.fingerprint,
            error_type: self.error_type,
            message: self.message,
            stacktrace: self.stacktrace,
            service_name: self.service_name,
            service_version: self.service_version,
            environment: self.environment,
            trace_id: self.trace_id.map(TraceId),
            span_id: self.span_id.map(SpanId),
            session_id: self.session_id,
            source: if self.source == source_name(ErrorSource::Log) {
                ErrorSource::Log
            } else {
                ErrorSource::SpanEvent
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn attribute_views_follow_the_evaluator() {
        let mut a = Attributes::new();
        a.insert("s".into(), AttrValue::Str("4242".into()));
        a.insert("i".into(), AttrValue::Int(7));
        a.insert("f".into(), AttrValue::Float(1.5));
        a.insert("b".into(), AttrValue::Bool(true));
        a.insert("t".into(), AttrValue::Str("TRUE".into()));
        a.insert("n".into(), AttrValue::Float(f64::NAN));
        let c = encode_attrs(&a);
        let num: std::collections::HashMap<_, _> = c.num.iter().cloned().collect();
        assert_eq!(num.get("s"), Some(&4242.0));
        assert_eq!(num.get("i"), Some(&7.0));
        assert!(!num.contains_key("b"));
        let bools: std::collections::HashMap<_, _> = c.bools.iter().cloned().collect();
        assert_eq!(bools.get("t"), Some(&true));
        let back = decode_attrs(c.text, c.typed);
        assert_eq!(back.get("i"), Some(&AttrValue::Int(7)));
        assert_eq!(back.get("f"), Some(&AttrValue::Float(1.5)));
        assert_eq!(back.get("n"), Some(&AttrValue::Str("NaN".into())));
    }
}
