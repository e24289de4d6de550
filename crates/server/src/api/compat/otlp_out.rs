//! Stored spans back to OTLP: one `ResourceSpans` per resource (service and resource
//! attributes), one `ScopeSpans` per instrumentation scope, spans in the order given.
//! What Tempo's trace-by-id answers carry (as protobuf, or as OTLP/JSON through the
//! generated serde types: hex ids, 64-bit times as strings).

use std::collections::BTreeMap;

use opentelemetry_proto::tonic::common::v1::{
    AnyValue, ArrayValue, InstrumentationScope, KeyValue, KeyValueList, any_value,
};
use opentelemetry_proto::tonic::resource::v1::Resource;
use opentelemetry_proto::tonic::trace::v1::span::{Event, Link};
use opentelemetry_proto::tonic::trace::v1::{ResourceSpans, ScopeSpans, Span, Status};
use tracehouse_model::{AttrValue, Attributes};

/// An attribute value as OTLP carries it.
pub(super) fn any_value(v: &AttrValue) -> AnyValue {
    use any_value::Value as V;
    let value = match v {
        AttrValue::Str(s) => V::StringValue(s.clone()),
        AttrValue::Int(i) => V::IntValue(*i),
        AttrValue::Float(f) => V::DoubleValue(*f),
        AttrValue::Bool(b) => V::BoolValue(*b),
        AttrValue::Bytes(b) => V::BytesValue(b.clone()),
        AttrValue::Array(items) => V::ArrayValue(ArrayValue {
            values: items.iter().map(any_value).collect(),
        }),
        AttrValue::Map(entries) => V::KvlistValue(KeyValueList {
            values: entries.iter().map(|(k, v)| key_value(k, v)).collect(),
        }),
    };
    AnyValue { value: Some(value) }
}

/// One attribute as OTLP carries it.
pub(super) fn key_value(key: &str, value: &AttrValue) -> KeyValue {
    KeyValue {
        key: key.to_string(),
        value: Some(any_value(value)),
        ..Default::default()
    }
}

fn key_values(attrs: &Attributes) -> Vec<KeyValue> {
    attrs.iter().map(|(k, v)| key_value(k, v)).collect()
}

fn nanos(ns: i64) -> u64 {
    u64::try_from(ns).unwrap_or(0)
}

fn span(s: &tracehouse_model::Span) -> Span {
    Span {
        trace_id: s.trace_id.0.to_vec(),
        span_id: s.span_id.0.to_vec(),
        trace_state: s.trace_state.clone(),
        parent_span_id: s.parent_span_id.map(|p| p.0.to_vec()).unwrap_or_default(),
        name: s.name.clone(),
        kind: i32::from(s.kind.code()),
        start_time_unix_nano: nanos(s.start_time_unix_nano),
        end_time_unix_nano: nanos(s.end_time_unix_nano),
        attributes: key_values(&s.attributes),
        dropped_attributes_count: s.dropped_attributes_count,
        events: s
            .events
            .iter()
            .map(|e| Event {
                time_unix_nano: nanos(e.time_unix_nano),
                name: e.name.clone(),
                attributes: key_values(&e.attributes),
                dropped_attributes_count: e.dropped_attributes_count,
            })
            .collect(),
        dropped_events_count: s.dropped_events_count,
        links: s
            .links
            .iter()
            .map(|l| Link {
                trace_id: l.trace_id.0.to_vec(),
                span_id: l.span_id.0.to_vec(),
                trace_state: l.trace_state.clone(),
                attributes: key_values(&l.attributes),
                dropped_attributes_count: l.dropped_attributes_count,
                ..Default::default()
            })
            .collect(),
        dropped_links_count: s.dropped_links_count,
        status: Some(Status {
            message: s.status_message.clone(),
            code: i32::from(s.status_code.code()),
        }),
        ..Default::default()
    }
}

/// The resource of a span: its resource attributes, with `service.name` set from the
/// span's service when the attributes lack it.
fn resource(s: &tracehouse_model::Span) -> Resource {
    let mut attrs = Attributes::clone(&s.resource_attributes);
    attrs
        .entry("service.name".into())
        .or_insert_with(|| AttrValue::Str(s.service_name.clone()));
    Resource {
        attributes: key_values(&attrs),
        ..Default::default()
    }
}

/// The spans grouped by resource, then by instrumentation scope.
pub(super) fn resource_spans(spans: &[tracehouse_model::Span]) -> Vec<ResourceSpans> {
    // Resources and scopes in order of first appearance.
    let mut out: Vec<ResourceSpans> = Vec::new();
    let mut resources: BTreeMap<Vec<u8>, usize> = BTreeMap::new();
    let mut scopes: BTreeMap<(usize, Vec<u8>), usize> = BTreeMap::new();
    for s in spans {
        let res = resource(s);
        let r = *resources
            .entry(prost::Message::encode_to_vec(&res))
            .or_insert_with(|| {
                out.push(ResourceSpans {
                    resource: Some(res),
                    ..Default::default()
                });
                out.len() - 1
            });
        let scope = InstrumentationScope {
            name: s.scope_name.clone(),
            version: s.scope_version.clone(),
            attributes: key_values(&s.scope_attributes),
            ..Default::default()
        };
        let scope_spans = &mut out[r].scope_spans;
        let i = *scopes
            .entry((r, prost::Message::encode_to_vec(&scope)))
            .or_insert_with(|| {
                scope_spans.push(ScopeSpans {
                    scope: Some(scope),
                    ..Default::default()
                });
                scope_spans.len() - 1
            });
        scope_spans[i].spans.push(span(s));
    }
    out
}
