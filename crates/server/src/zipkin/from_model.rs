//! Stored spans → Zipkin v2 JSON, the inverse of [`super::to_otlp`] for spans that came in
//! through Zipkin, and the OpenTelemetry-to-Zipkin mapping for the others: attributes (span
//! over resource, `service.name` aside) become string tags, the status `otel.status_code`
//! (and `error` with the message on a failure), the scope `otel.scope.name`/`version`,
//! events annotations (the name, or `{"name": {attributes}}` for an event with attributes,
//! as OpenTelemetry's Zipkin exporters write it).

use std::collections::BTreeMap;
use std::net::IpAddr;

use tracehouse_model::{AttrValue, Span, SpanKind, StatusCode};

use super::to_otlp::keys;
use super::wire::{JsonAnnotation, JsonEndpoint, JsonSpan, Micros, TagValue};

/// Attributes that are written as endpoint fields, not tags.
const ENDPOINT_KEYS: [&str; 6] = [
    keys::LOCAL_ADDRESS,
    keys::LOCAL_PORT,
    keys::PEER_SERVICE,
    keys::PEER_ADDRESS,
    keys::PEER_PORT,
    keys::SHARED,
];

/// The Zipkin form of a stored span.
pub fn to_zipkin(s: &Span) -> JsonSpan {
    let duration_us = u64::try_from(s.duration_nanos).unwrap_or(0).div_ceil(1000);
    JsonSpan {
        trace_id: trace_id_hex(&s.trace_id.0),
        parent_id: s.parent_span_id.map(|p| p.to_string()),
        id: s.span_id.to_string(),
        kind: kind_name(s.kind).map(str::to_string),
        name: (!s.name.is_empty()).then(|| s.name.clone()),
        timestamp: u64::try_from(s.start_time_unix_nano)
            .ok()
            .map(|ns| Micros(ns / 1000)),
        duration: (duration_us > 0).then_some(Micros(duration_us)),
        debug: false,
        shared: matches!(s.attributes.get(keys::SHARED), Some(AttrValue::Bool(true))),
        local_endpoint: Some(JsonEndpoint {
            service_name: Some(s.service_name.clone()),
            ..endpoint(s, keys::LOCAL_ADDRESS, keys::LOCAL_PORT)
        }),
        remote_endpoint: remote(s),
        annotations: s
            .events
            .iter()
            .map(|e| JsonAnnotation {
                timestamp: Micros(u64::try_from(e.time_unix_nano).unwrap_or(0) / 1000),
                value: if e.attributes.is_empty() {
                    e.name.clone()
                } else {
                    let attrs: serde_json::Map<String, serde_json::Value> = e
                        .attributes
                        .iter()
                        .map(|(k, v)| (k.clone(), v.to_json()))
                        .collect();
                    serde_json::json!({ e.name.clone(): attrs }).to_string()
                },
            })
            .collect(),
        tags: tags(s),
    }
}

/// 16 hex characters for a 64-bit id (upper half zero), else 32, as Zipkin writes them.
pub fn trace_id_hex(id: &[u8; 16]) -> String {
    if id[..8].iter().all(|b| *b == 0) {
        hex::encode(&id[8..])
    } else {
        hex::encode(id)
    }
}

fn kind_name(kind: SpanKind) -> Option<&'static str> {
    match kind {
        SpanKind::Client => Some("CLIENT"),
        SpanKind::Server => Some("SERVER"),
        SpanKind::Producer => Some("PRODUCER"),
        SpanKind::Consumer => Some("CONSUMER"),
        SpanKind::Internal | SpanKind::Unspecified => None,
    }
}

fn endpoint(s: &Span, address: &str, port: &str) -> JsonEndpoint {
    let ip = s.attributes.get(address).and_then(|v| match v {
        AttrValue::Str(text) => text.parse::<IpAddr>().ok(),
        _ => None,
    });
    JsonEndpoint {
        service_name: None,
        ipv4: ip.filter(IpAddr::is_ipv4).map(|ip| ip.to_string()),
        ipv6: ip.filter(IpAddr::is_ipv6).map(|ip| ip.to_string()),
        port: match s.attributes.get(port) {
            Some(AttrValue::Int(p)) => u16::try_from(*p).ok(),
            _ => None,
        },
    }
}

fn remote(s: &Span) -> Option<JsonEndpoint> {
    let e = JsonEndpoint {
        service_name: match s.attributes.get(keys::PEER_SERVICE) {
            Some(AttrValue::Str(name)) => Some(name.clone()),
            _ => None,
        },
        ..endpoint(s, keys::PEER_ADDRESS, keys::PEER_PORT)
    };
    (e != JsonEndpoint::default()).then_some(e)
}

fn tags(s: &Span) -> BTreeMap<String, TagValue> {
    let mut tags: BTreeMap<String, TagValue> = s
        .resource_attributes
        .iter()
        .filter(|(k, _)| k.as_str() != "service.name")
        .chain(
            s.attributes
                .iter()
                .filter(|(k, _)| !ENDPOINT_KEYS.contains(&k.as_str())),
        )
        .map(|(k, v)| (k.clone(), TagValue(v.as_text())))
        .collect();
    let mut put = |k: &str, v: &str| {
        if !v.is_empty() {
            tags.entry(k.to_string())
                .or_insert_with(|| TagValue(v.to_string()));
        }
    };
    match s.status_code {
        StatusCode::Error => {
            put(keys::STATUS_CODE, "ERROR");
            put(keys::STATUS_DESCRIPTION, &s.status_message);
            put(
                keys::ERROR,
                if s.status_message.is_empty() {
                    "true"
                } else {
                    &s.status_message
                },
            );
        }
        StatusCode::Ok => put(keys::STATUS_CODE, "OK"),
        StatusCode::Unset => {}
    }
    put(keys::SCOPE_NAME, &s.scope_name);
    put(keys::SCOPE_VERSION, &s.scope_version);
    tags
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::zipkin::to_otlp::convert;
    use crate::zipkin::wire::JsonSpan;
    use tracehouse_model::otlp::{Limits, normalise_traces};

    /// A Zipkin span through the OTLP conversion and normalisation reads back as it was.
    #[test]
    fn zipkin_spans_round_trip() {
        let sent: JsonSpan = serde_json::from_str(
            r#"{"traceId":"463ac35c9f6413ad","parentId":"00000000000000aa","id":"72485a3953bb6124",
                "kind":"SERVER","name":"get /api","timestamp":1700000000000000,"duration":250,
                "shared":true,
                "localEndpoint":{"serviceName":"backend","ipv4":"10.0.0.2","port":9000},
                "remoteEndpoint":{"serviceName":"frontend","ipv6":"2001:db8::1"},
                "annotations":[{"timestamp":1700000000000100,"value":"wr"}],
                "tags":{"http.path":"/api","error":"timeout","otel.scope.name":"lib"}}"#,
        )
        .unwrap();
        let c = convert(vec![sent.clone()]);
        let n = normalise_traces(c.request, &Limits::default(), |_| {
            Ok::<_, ()>("p".to_string())
        })
        .unwrap();
        let back = to_zipkin(&n.rows[0]);
        let mut expected = sent;
        for (k, v) in [
            ("otel.status_code", "ERROR"),
            ("otel.status_description", "timeout"),
        ] {
            expected.tags.insert(k.into(), TagValue(v.into()));
        }
        assert_eq!(back, expected);
    }

    #[test]
    fn long_trace_ids_stay_long_and_durations_round_up() {
        assert_eq!(trace_id_hex(&[1; 16]), "01".repeat(16));
        assert_eq!(
            trace_id_hex(&[[0; 8], [2; 8]].concat().try_into().unwrap()),
            "02".repeat(8)
        );
    }
}
