//! Zipkin v2 spans → an OTLP export request, so that Zipkin ingest runs the same path as
//! OTLP (projects, limits, per-span rejection, error derivation, durability).
//!
//! The mapping (documented in `docs/zipkin.md`): `localEndpoint.serviceName` becomes the
//! resource's `service.name`; the endpoints' addresses and ports become
//! `network.local.address`/`network.local.port` and
//! `network.peer.address`/`network.peer.port`, the remote service `peer.service`; tags become
//! string attributes except the OpenTelemetry ones Zipkin exporters write for fields Zipkin
//! lacks (`otel.status_code`, `otel.status_description`, `otel.scope.name`/`version`, and the
//! older `otel.library.name`/`version`), which become the status and the instrumentation
//! scope; an `error` tag alone also marks the span failed, its value being the message;
//! annotations become events (`{"name": {attributes}}`, the form OpenTelemetry's exporters
//! give an event with attributes, becomes that event); a `shared` span keeps its id and is marked
//! `zipkin.shared=true`. 64-bit trace ids are zero-extended to 128 bits, as Zipkin and the
//! OpenTelemetry Collector do.

use std::collections::BTreeMap;

use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::{AnyValue, InstrumentationScope, KeyValue, any_value};
use opentelemetry_proto::tonic::resource::v1::Resource;
use opentelemetry_proto::tonic::trace::v1::span::{Event, SpanKind};
use opentelemetry_proto::tonic::trace::v1::{ResourceSpans, ScopeSpans, Span, Status, status};

use super::wire::{JsonAnnotation, JsonEndpoint, JsonSpan};

/// Attribute keys the endpoints map to.
pub(super) mod keys {
    pub const LOCAL_ADDRESS: &str = "network.local.address";
    pub const LOCAL_PORT: &str = "network.local.port";
    pub const PEER_SERVICE: &str = "peer.service";
    pub const PEER_ADDRESS: &str = "network.peer.address";
    pub const PEER_PORT: &str = "network.peer.port";
    pub const SHARED: &str = "zipkin.shared";
    pub const STATUS_CODE: &str = "otel.status_code";
    pub const STATUS_DESCRIPTION: &str = "otel.status_description";
    pub const SCOPE_NAME: &str = "otel.scope.name";
    pub const SCOPE_VERSION: &str = "otel.scope.version";
    pub const LIBRARY_NAME: &str = "otel.library.name";
    pub const LIBRARY_VERSION: &str = "otel.library.version";
    pub const ERROR: &str = "error";
}

/// The request built from a batch, and why the spans left out were refused.
pub struct Converted {
    /// Spans grouped by service and instrumentation scope.
    pub request: ExportTraceServiceRequest,
    /// One message per refused span.
    pub rejected: Vec<String>,
}

/// Converts each span that has valid ids; the others are reported in `rejected`.
pub fn convert(spans: Vec<JsonSpan>) -> Converted {
    let mut groups: BTreeMap<(Option<String>, String, String), Vec<Span>> = BTreeMap::new();
    let mut rejected = Vec::new();
    for (i, span) in spans.into_iter().enumerate() {
        match convert_span(span) {
            Ok((service, scope, otlp)) => groups
                .entry((service, scope.0, scope.1))
                .or_default()
                .push(otlp),
            Err(why) => rejected.push(format!("span {i}: {why}")),
        }
    }
    let resource_spans = groups
        .into_iter()
        .map(
            |((service, scope_name, scope_version), spans)| ResourceSpans {
                resource: Some(Resource {
                    attributes: service
                        .map(|s| vec![string_kv("service.name", s)])
                        .unwrap_or_default(),
                    ..Resource::default()
                }),
                scope_spans: vec![ScopeSpans {
                    scope: Some(InstrumentationScope {
                        name: scope_name,
                        version: scope_version,
                        ..InstrumentationScope::default()
                    }),
                    spans,
                    schema_url: String::new(),
                }],
                schema_url: String::new(),
            },
        )
        .collect();
    Converted {
        request: ExportTraceServiceRequest { resource_spans },
        rejected,
    }
}

type ScopeKey = (String, String);

fn convert_span(mut z: JsonSpan) -> Result<(Option<String>, ScopeKey, Span), String> {
    let trace_id = hex_id("traceId", &z.trace_id, 16)?;
    let span_id = hex_id("id", &z.id, 8)?;
    let parent_span_id = match z.parent_id.as_deref() {
        Some(p) => hex_id("parentId", p, 8)?,
        None => Vec::new(),
    };
    let parent_span_id = if parent_span_id.iter().all(|b| *b == 0) {
        Vec::new()
    } else {
        parent_span_id
    };
    let kind = kind_of(z.kind.as_deref())?;
    let start = z.timestamp.and_then(|t| t.nanos()).unwrap_or(0);
    let duration = z.duration.and_then(|d| d.nanos()).unwrap_or(0);
    let mut take = |key: &str| z.tags.remove(key).map(|v| v.0);
    let status = status_of(
        take(keys::STATUS_CODE),
        take(keys::STATUS_DESCRIPTION),
        z.tags.get(keys::ERROR).map(|v| v.0.as_str()),
    );
    let mut take = |key: &str| z.tags.remove(key).map(|v| v.0);
    let scope = (
        take(keys::SCOPE_NAME)
            .or_else(|| take(keys::LIBRARY_NAME))
            .unwrap_or_default(),
        take(keys::SCOPE_VERSION)
            .or_else(|| take(keys::LIBRARY_VERSION))
            .unwrap_or_default(),
    );
    let mut attributes: Vec<KeyValue> = z
        .tags
        .into_iter()
        .map(|(k, v)| string_kv(&k, v.0))
        .collect();
    let service = z
        .local_endpoint
        .as_mut()
        .and_then(|e| e.service_name.take());
    if let Some(local) = &z.local_endpoint {
        endpoint_attrs(
            local,
            keys::LOCAL_ADDRESS,
            keys::LOCAL_PORT,
            &mut attributes,
        );
    }
    if let Some(remote) = &mut z.remote_endpoint {
        if let Some(name) = remote.service_name.take() {
            attributes.push(string_kv(keys::PEER_SERVICE, name));
        }
        endpoint_attrs(remote, keys::PEER_ADDRESS, keys::PEER_PORT, &mut attributes);
    }
    if z.shared {
        attributes.push(kv(keys::SHARED, any_value::Value::BoolValue(true)));
    }
    let events = z.annotations.into_iter().map(event_of).collect();
    let span = Span {
        trace_id,
        span_id,
        parent_span_id,
        name: z.name.unwrap_or_default(),
        kind: kind as i32,
        start_time_unix_nano: start as u64,
        end_time_unix_nano: start.saturating_add(duration) as u64,
        attributes,
        events,
        status: Some(status),
        ..Span::default()
    };
    Ok((service, scope, span))
}

/// Hex of at most `2 * len` digits, zero-extended on the left to `len` bytes.
pub(super) fn hex_id(field: &str, text: &str, len: usize) -> Result<Vec<u8>, String> {
    let digits = 2 * len;
    if text.is_empty() || text.len() > digits || !text.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(format!(
            "{field} {text:?} is not 1 to {digits} hex characters"
        ));
    }
    let padded = format!("{text:0>digits$}");
    hex::decode(padded).map_err(|e| format!("{field} {text:?}: {e}"))
}

fn kind_of(kind: Option<&str>) -> Result<SpanKind, String> {
    Ok(match kind {
        None => SpanKind::Internal,
        Some("CLIENT") => SpanKind::Client,
        Some("SERVER") => SpanKind::Server,
        Some("PRODUCER") => SpanKind::Producer,
        Some("CONSUMER") => SpanKind::Consumer,
        Some(other) => {
            return Err(format!(
                "kind {other:?} is not CLIENT, SERVER, PRODUCER or CONSUMER"
            ));
        }
    })
}

/// The status from the OpenTelemetry tags, else from an `error` tag. The message is
/// `otel.status_description`, else the `error` tag's value (where OpenTelemetry's Zipkin
/// exporters put it), unless that is just `true`.
fn status_of(code: Option<String>, description: Option<String>, error: Option<&str>) -> Status {
    let message = || {
        description
            .clone()
            .or_else(|| error.filter(|e| *e != "true").map(str::to_string))
            .unwrap_or_default()
    };
    let (code, message) = match (code.as_deref(), error) {
        (Some("ERROR"), _) | (None | Some("UNSET"), Some(_)) => {
            (status::StatusCode::Error, message())
        }
        (Some("OK"), _) => (status::StatusCode::Ok, String::new()),
        _ => (status::StatusCode::Unset, String::new()),
    };
    Status {
        code: code as i32,
        message,
    }
}

/// An annotation as an event: OpenTelemetry's Zipkin exporters write an event with
/// attributes as the JSON object `{"name": {attributes}}`; anything else is the name.
fn event_of(a: JsonAnnotation) -> Event {
    let time_unix_nano = a.timestamp.nanos().map_or(0, |n| n as u64);
    if a.value.starts_with('{')
        && let Ok(serde_json::Value::Object(outer)) = serde_json::from_str(&a.value)
        && outer.len() == 1
        && let Some((name, serde_json::Value::Object(attrs))) = outer.into_iter().next()
    {
        return Event {
            time_unix_nano,
            name,
            attributes: attrs
                .into_iter()
                .filter_map(|(k, v)| json_kv(k, v))
                .collect(),
            ..Event::default()
        };
    }
    Event {
        time_unix_nano,
        name: a.value,
        ..Event::default()
    }
}

fn json_kv(key: String, v: serde_json::Value) -> Option<KeyValue> {
    let value = match v {
        serde_json::Value::String(s) => any_value::Value::StringValue(s),
        serde_json::Value::Bool(b) => any_value::Value::BoolValue(b),
        serde_json::Value::Number(n) => match n.as_i64() {
            Some(i) => any_value::Value::IntValue(i),
            None => any_value::Value::DoubleValue(n.as_f64()?),
        },
        other => any_value::Value::StringValue(other.to_string()),
    };
    Some(kv(&key, value))
}

fn endpoint_attrs(e: &JsonEndpoint, address: &str, port: &str, out: &mut Vec<KeyValue>) {
    if let Some(ip) = e.ipv4.as_ref().or(e.ipv6.as_ref()) {
        out.push(string_kv(address, ip.clone()));
    }
    if let Some(p) = e.port {
        out.push(kv(port, any_value::Value::IntValue(i64::from(p))));
    }
}

fn kv(key: &str, value: any_value::Value) -> KeyValue {
    KeyValue {
        key: key.to_string(),
        value: Some(AnyValue { value: Some(value) }),
        ..KeyValue::default()
    }
}

fn string_kv(key: &str, value: String) -> KeyValue {
    kv(key, any_value::Value::StringValue(value))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn span(json: &str) -> JsonSpan {
        serde_json::from_str(json).unwrap()
    }

    fn attr<'a>(s: &'a Span, key: &str) -> Option<&'a any_value::Value> {
        s.attributes
            .iter()
            .find(|kv| kv.key == key)
            .and_then(|kv| kv.value.as_ref()?.value.as_ref())
    }

    #[test]
    fn maps_fields_endpoints_status_and_scope() {
        let c = convert(vec![span(
            r#"{"traceId":"463ac35c9f6413ad","parentId":"0000000000000000","id":"72485a3953bb6124",
                "kind":"CLIENT","name":"get /api","timestamp":1000,"duration":250,
                "localEndpoint":{"serviceName":"frontend","ipv4":"10.0.0.1","port":80},
                "remoteEndpoint":{"serviceName":"backend","ipv6":"::1","port":9000},
                "annotations":[{"timestamp":1100,"value":"ws"}],
                "tags":{"http.path":"/api","otel.status_code":"ERROR",
                        "otel.status_description":"boom","otel.scope.name":"lib",
                        "otel.scope.version":"1.2"}}"#,
        )]);
        assert!(c.rejected.is_empty());
        let rs = &c.request.resource_spans[0];
        let resource = rs.resource.as_ref().unwrap();
        assert_eq!(resource.attributes[0].key, "service.name");
        let ss = &rs.scope_spans[0];
        assert_eq!(ss.scope.as_ref().unwrap().name, "lib");
        assert_eq!(ss.scope.as_ref().unwrap().version, "1.2");
        let s = &ss.spans[0];
        assert_eq!(hex::encode(&s.trace_id), "0000000000000000463ac35c9f6413ad");
        assert!(s.parent_span_id.is_empty(), "a zero parent is a root");
        assert_eq!(s.kind, SpanKind::Client as i32);
        assert_eq!(
            (s.start_time_unix_nano, s.end_time_unix_nano),
            (1_000_000, 1_250_000)
        );
        let st = s.status.as_ref().unwrap();
        assert_eq!((st.code, st.message.as_str()), (2, "boom"));
        assert_eq!(s.events[0].name, "ws");
        assert_eq!(s.events[0].time_unix_nano, 1_100_000);
        assert!(attr(s, "otel.status_code").is_none());
        assert_eq!(
            attr(s, keys::PEER_SERVICE),
            Some(&any_value::Value::StringValue("backend".into()))
        );
        assert_eq!(
            attr(s, keys::PEER_ADDRESS),
            Some(&any_value::Value::StringValue("::1".into()))
        );
        assert_eq!(
            attr(s, keys::LOCAL_PORT),
            Some(&any_value::Value::IntValue(80))
        );
    }

    #[test]
    fn annotations_in_the_opentelemetry_form_keep_their_attributes() {
        let c = convert(vec![span(
            r#"{"traceId":"1","id":"2","timestamp":5,"tags":{"otel.status_code":"ERROR","error":"bad card"},
                "annotations":[{"timestamp":6,"value":"{\"exception\": {\"exception.type\": \"ValueError\", \"n\": 2}}"},
                               {"timestamp":7,"value":"{not json"}]}"#,
        )]);
        let s = &c.request.resource_spans[0].scope_spans[0].spans[0];
        assert_eq!(s.events[0].name, "exception");
        assert_eq!(s.events[0].attributes.len(), 2);
        assert_eq!(s.events[1].name, "{not json");
        let st = s.status.as_ref().unwrap();
        assert_eq!((st.code, st.message.as_str()), (2, "bad card"));
    }

    #[test]
    fn error_tag_fails_the_span_and_bad_ids_reject_only_their_span() {
        let c = convert(vec![
            span(r#"{"traceId":"1","id":"2","tags":{"error":"timeout"},"shared":true}"#),
            span(r#"{"traceId":"xyz","id":"2"}"#),
            span(r#"{"traceId":"1","id":"12345678901234567"}"#),
            span(r#"{"traceId":"1","id":"2","kind":"LOCAL"}"#),
        ]);
        assert_eq!(c.rejected.len(), 3, "{:?}", c.rejected);
        assert!(c.rejected[0].starts_with("span 1: traceId"));
        assert!(c.rejected[2].contains("kind \"LOCAL\""));
        let s = &c.request.resource_spans[0].scope_spans[0].spans[0];
        assert_eq!(hex::encode(&s.span_id), "0000000000000002");
        let st = s.status.as_ref().unwrap();
        assert_eq!((st.code, st.message.as_str()), (2, "timeout"));
        assert_eq!(
            attr(s, keys::SHARED),
            Some(&any_value::Value::BoolValue(true))
        );
        assert!(attr(s, "error").is_some(), "the error tag stays a tag");
    }
}
