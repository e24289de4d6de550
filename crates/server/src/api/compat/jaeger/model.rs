//! Stored spans as Jaeger's UI JSON (`traceID`, `spans`, `processes`), mapped the way the
//! OpenTelemetry Jaeger translator maps OTLP: a resource is a process (`service.name` its
//! `serviceName`), the parent a `CHILD_OF` reference and links `FOLLOWS_FROM` ones, events
//! `logs` with the name in field `event`, the kind, status and scope as tags; times in µs.

use base64::Engine;
use serde_json::{Map, Value, json};
use tracehouse_model::{AttrValue, Attributes, Span, SpanKind, StatusCode, TraceId};

/// Integers beyond this are sent as strings (JavaScript loses precision past it).
const JS_SAFE: i64 = (1 << 53) - 1;

/// A trace id as Jaeger writes it: 16 hex digits when the high half is zero, else 32.
pub(super) fn trace_id_text(id: TraceId) -> String {
    let hex = id.to_string();
    match hex.strip_prefix("0000000000000000") {
        Some(low) => low.to_string(),
        None => hex,
    }
}

/// One typed tag.
pub(super) fn tag(key: &str, value: &AttrValue) -> Value {
    let (kind, value) = match value {
        AttrValue::Str(s) => ("string", json!(s)),
        AttrValue::Bool(b) => ("bool", json!(b)),
        AttrValue::Int(i) if i.abs() <= JS_SAFE => ("int64", json!(i)),
        AttrValue::Int(i) => ("int64", json!(i.to_string())),
        AttrValue::Float(f) if f.is_finite() => ("float64", json!(f)),
        AttrValue::Float(f) => ("float64", json!(f.to_string())),
        AttrValue::Bytes(b) => (
            "binary",
            json!(base64::engine::general_purpose::STANDARD.encode(b)),
        ),
        other => ("string", json!(other.as_text())),
    };
    json!({ "key": key, "type": kind, "value": value })
}

fn tags(attrs: &Attributes) -> Vec<Value> {
    attrs.iter().map(|(k, v)| tag(k, v)).collect()
}

fn micros(ns: i64) -> i64 {
    ns / 1_000
}

/// The tags the translator derives from a span's own fields.
fn derived_tags(s: &Span) -> Vec<Value> {
    let text = |k: &str, v: &str| tag(k, &AttrValue::Str(v.to_string()));
    let mut out = Vec::new();
    if s.kind != SpanKind::Unspecified {
        out.push(text("span.kind", s.kind.as_str()));
    }
    match s.status_code {
        StatusCode::Unset => {}
        StatusCode::Ok => out.push(text("otel.status_code", "OK")),
        StatusCode::Error => {
            out.push(text("otel.status_code", "ERROR"));
            out.push(tag("error", &AttrValue::Bool(true)));
        }
    }
    if !s.status_message.is_empty() {
        out.push(text("otel.status_description", &s.status_message));
    }
    if !s.scope_name.is_empty() {
        out.push(text("otel.scope.name", &s.scope_name));
    }
    if !s.scope_version.is_empty() {
        out.push(text("otel.scope.version", &s.scope_version));
    }
    if !s.trace_state.is_empty() {
        out.push(text("w3c.tracestate", &s.trace_state));
    }
    out
}

fn span_json(s: &Span, process_id: &str) -> Value {
    let reference = |kind: &str, trace: TraceId, span: String| json!({ "refType": kind, "traceID": trace_id_text(trace), "spanID": span });
    let mut references: Vec<Value> = s
        .parent_span_id
        .map(|p| reference("CHILD_OF", s.trace_id, p.to_string()))
        .into_iter()
        .collect();
    references.extend(
        s.links
            .iter()
            .map(|l| reference("FOLLOWS_FROM", l.trace_id, l.span_id.to_string())),
    );
    let mut span_tags = tags(&s.attributes);
    span_tags.extend(derived_tags(s));
    let logs: Vec<Value> = s
        .events
        .iter()
        .map(|e| {
            let mut fields = vec![tag("event", &AttrValue::Str(e.name.clone()))];
            fields.extend(tags(&e.attributes));
            json!({ "timestamp": micros(e.time_unix_nano), "fields": fields })
        })
        .collect();
    json!({
        "traceID": trace_id_text(s.trace_id),
        "spanID": s.span_id.to_string(),
        "operationName": s.name,
        "references": references,
        "startTime": micros(s.start_time_unix_nano),
        "duration": micros(s.duration_nanos),
        "tags": span_tags,
        "logs": logs,
        "processID": process_id,
        "warnings": null,
    })
}

/// One trace (all spans share the trace id), processes numbered `p1`, `p2`, … in order of
/// first appearance.
pub(super) fn trace_json(spans: &[Span]) -> Value {
    let mut keys: Vec<(&str, &Attributes)> = Vec::new();
    let mut processes = Map::new();
    let mut out = Vec::with_capacity(spans.len());
    for s in spans {
        let key = (s.service_name.as_str(), &*s.resource_attributes);
        let n = match keys.iter().position(|k| *k == key) {
            Some(i) => i + 1,
            None => {
                keys.push(key);
                let mut resource = Attributes::clone(&s.resource_attributes);
                resource.remove("service.name");
                processes.insert(
                    format!("p{}", keys.len()),
                    json!({ "serviceName": s.service_name, "tags": tags(&resource) }),
                );
                keys.len()
            }
        };
        out.push(span_json(s, &format!("p{n}")));
    }
    json!({
        "traceID": spans.first().map(|s| trace_id_text(s.trace_id)).unwrap_or_default(),
        "spans": out,
        "processes": processes,
        "warnings": null,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_and_tags_as_jaeger_writes_them() {
        let short: TraceId = "0000000000000000000000000000abcd"
            .parse()
            .unwrap_or_default();
        assert_eq!(trace_id_text(short), "000000000000abcd");
        let long: TraceId = "1000000000000000000000000000abcd"
            .parse()
            .unwrap_or_default();
        assert_eq!(trace_id_text(long), "1000000000000000000000000000abcd");
        assert_eq!(
            tag("n", &AttrValue::Int(1 << 60)),
            json!({ "key": "n", "type": "int64", "value": (1_i64 << 60).to_string() })
        );
        assert_eq!(
            tag("b", &AttrValue::Bytes(vec![1, 2])),
            json!({ "key": "b", "type": "binary", "value": "AQI=" })
        );
        assert_eq!(tag("f", &AttrValue::Float(1.5))["type"], "float64");
    }
}
