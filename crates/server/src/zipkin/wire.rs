//! Zipkin's v2 span as it travels: the JSON form (`zipkin2-api.yaml`, `ListOfSpans`) and the
//! proto3 form (`zipkin.proto`, package `zipkin.proto3`), declared here from the published
//! schemas with prost's derive.
//!
//! The JSON span is read leniently where Zipkin's own readers are (times as integers or
//! decimals, tag values of any scalar type) and written exactly as Zipkin writes it: absent
//! fields omitted, times in microseconds, ids in lowercase hex.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// A Zipkin v2 span in JSON.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct JsonSpan {
    /// 16 or 32 hex characters (64 or 128 bits).
    #[serde(default)]
    pub trace_id: String,
    /// 16 hex characters; absent on a root span.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parent_id: Option<String>,
    /// 16 hex characters.
    #[serde(default)]
    pub id: String,
    /// `CLIENT`, `SERVER`, `PRODUCER` or `CONSUMER`; absent for local spans.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    /// The operation, in lowercase by convention.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Start, epoch microseconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timestamp: Option<Micros>,
    /// Duration, microseconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duration: Option<Micros>,
    /// Whether the span was forced past sampling (`X-B3-Flags: 1`).
    #[serde(default, skip_serializing_if = "is_false")]
    pub debug: bool,
    /// Whether the span contributes to a span started by another tracer (the server half
    /// of a client span with the same id).
    #[serde(default, skip_serializing_if = "is_false")]
    pub shared: bool,
    /// The host that recorded the span.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub local_endpoint: Option<JsonEndpoint>,
    /// The other side of an RPC or messaging span.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub remote_endpoint: Option<JsonEndpoint>,
    /// Timestamped events.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub annotations: Vec<JsonAnnotation>,
    /// String tags.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub tags: BTreeMap<String, TagValue>,
}

fn is_false(b: &bool) -> bool {
    !*b
}

/// A network endpoint in JSON.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct JsonEndpoint {
    /// The service, lowercase by convention.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service_name: Option<String>,
    /// Dotted IPv4 text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ipv4: Option<String>,
    /// IPv6 text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ipv6: Option<String>,
    /// The port.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub port: Option<u16>,
}

/// A timestamped event in JSON.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
pub struct JsonAnnotation {
    /// Epoch microseconds.
    pub timestamp: Micros,
    /// What happened.
    pub value: String,
}

/// Microseconds: written as an integer, read from an integer or a decimal (some tracers
/// send sub-microsecond precision, which is kept).
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
#[serde(transparent)]
pub struct Micros(pub u64);

impl Micros {
    /// The value in nanoseconds, or `None` past the representable range.
    pub fn nanos(self) -> Option<i64> {
        i64::try_from(self.0).ok()?.checked_mul(1000)
    }
}

impl<'de> Deserialize<'de> for Micros {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let n = serde_json::Number::deserialize(d)?;
        if let Some(u) = n.as_u64() {
            return Ok(Micros(u));
        }
        match n.as_f64() {
            Some(f) if f >= 0.0 && f < u64::MAX as f64 => Ok(Micros(f.round() as u64)),
            _ => Err(serde::de::Error::custom(format!(
                "{n} is not a time in microseconds: use a non-negative integer"
            ))),
        }
    }
}

/// A tag value: Zipkin's are strings; numbers and booleans from lenient tracers are kept
/// as their text.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(transparent)]
pub struct TagValue(pub String);

impl<'de> Deserialize<'de> for TagValue {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        match serde_json::Value::deserialize(d)? {
            serde_json::Value::String(s) => Ok(TagValue(s)),
            v @ (serde_json::Value::Number(_) | serde_json::Value::Bool(_)) => {
                Ok(TagValue(v.to_string()))
            }
            other => Err(serde::de::Error::custom(format!(
                "tag values are strings, got {other}"
            ))),
        }
    }
}

/// `zipkin.proto3.ListOfSpans`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct ListOfSpans {
    /// The spans, of any traces.
    #[prost(message, repeated, tag = "1")]
    pub spans: Vec<ProtoSpan>,
}

/// `zipkin.proto3.Span`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct ProtoSpan {
    /// 8 or 16 bytes, big endian.
    #[prost(bytes = "vec", tag = "1")]
    pub trace_id: Vec<u8>,
    /// 8 bytes, or empty on a root span.
    #[prost(bytes = "vec", tag = "2")]
    pub parent_id: Vec<u8>,
    /// 8 bytes.
    #[prost(bytes = "vec", tag = "3")]
    pub id: Vec<u8>,
    /// 0 unspecified, 1 client, 2 server, 3 producer, 4 consumer.
    #[prost(int32, tag = "4")]
    pub kind: i32,
    /// The operation.
    #[prost(string, tag = "5")]
    pub name: String,
    /// Start, epoch microseconds (0: absent).
    #[prost(fixed64, tag = "6")]
    pub timestamp: u64,
    /// Duration, microseconds (0: absent).
    #[prost(uint64, tag = "7")]
    pub duration: u64,
    /// The host that recorded the span.
    #[prost(message, optional, tag = "8")]
    pub local_endpoint: Option<ProtoEndpoint>,
    /// The other side of an RPC or messaging span.
    #[prost(message, optional, tag = "9")]
    pub remote_endpoint: Option<ProtoEndpoint>,
    /// Timestamped events.
    #[prost(message, repeated, tag = "10")]
    pub annotations: Vec<ProtoAnnotation>,
    /// String tags.
    #[prost(btree_map = "string, string", tag = "11")]
    pub tags: BTreeMap<String, String>,
    /// Forced past sampling.
    #[prost(bool, tag = "12")]
    pub debug: bool,
    /// The server half of a client span with the same id.
    #[prost(bool, tag = "13")]
    pub shared: bool,
}

/// `zipkin.proto3.Endpoint`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct ProtoEndpoint {
    /// The service.
    #[prost(string, tag = "1")]
    pub service_name: String,
    /// 4 bytes.
    #[prost(bytes = "vec", tag = "2")]
    pub ipv4: Vec<u8>,
    /// 16 bytes.
    #[prost(bytes = "vec", tag = "3")]
    pub ipv6: Vec<u8>,
    /// The port (0: absent).
    #[prost(int32, tag = "4")]
    pub port: i32,
}

/// `zipkin.proto3.Annotation`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct ProtoAnnotation {
    /// Epoch microseconds.
    #[prost(fixed64, tag = "1")]
    pub timestamp: u64,
    /// What happened.
    #[prost(string, tag = "2")]
    pub value: String,
}

const KINDS: [&str; 4] = ["CLIENT", "SERVER", "PRODUCER", "CONSUMER"];

impl ProtoSpan {
    /// The span in the JSON form, which the conversion to OTLP reads: ids as hex, addresses
    /// as text, zero meaning absent.
    pub fn into_json(self) -> JsonSpan {
        let hex_opt = |b: Vec<u8>| (!b.is_empty()).then(|| hex::encode(b));
        JsonSpan {
            trace_id: hex::encode(self.trace_id),
            parent_id: hex_opt(self.parent_id),
            id: hex::encode(self.id),
            kind: usize::try_from(self.kind - 1)
                .ok()
                .and_then(|i| KINDS.get(i))
                .map(|k| k.to_string())
                .or_else(|| (self.kind != 0).then(|| format!("kind {}", self.kind))),
            name: (!self.name.is_empty()).then_some(self.name),
            timestamp: (self.timestamp != 0).then_some(Micros(self.timestamp)),
            duration: (self.duration != 0).then_some(Micros(self.duration)),
            debug: self.debug,
            shared: self.shared,
            local_endpoint: self.local_endpoint.map(ProtoEndpoint::into_json),
            remote_endpoint: self.remote_endpoint.map(ProtoEndpoint::into_json),
            annotations: self
                .annotations
                .into_iter()
                .map(|a| JsonAnnotation {
                    timestamp: Micros(a.timestamp),
                    value: a.value,
                })
                .collect(),
            tags: self
                .tags
                .into_iter()
                .map(|(k, v)| (k, TagValue(v)))
                .collect(),
        }
    }
}

impl ProtoEndpoint {
    fn into_json(self) -> JsonEndpoint {
        let ipv4 = <[u8; 4]>::try_from(self.ipv4.as_slice())
            .ok()
            .map(|b| std::net::Ipv4Addr::from(b).to_string());
        let ipv6 = <[u8; 16]>::try_from(self.ipv6.as_slice())
            .ok()
            .map(|b| std::net::Ipv6Addr::from(b).to_string());
        JsonEndpoint {
            service_name: (!self.service_name.is_empty()).then_some(self.service_name),
            ipv4,
            ipv6,
            port: u16::try_from(self.port).ok().filter(|p| *p != 0),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_reads_lenient_times_and_tags() {
        let s: JsonSpan = serde_json::from_str(
            r#"{"traceId":"a","id":"b","timestamp":1500.4,"duration":12,
                "tags":{"http.status_code":200,"ok":true,"s":"x"}}"#,
        )
        .unwrap();
        assert_eq!(s.timestamp, Some(Micros(1500)));
        assert_eq!(s.tags["http.status_code"], TagValue("200".into()));
        assert_eq!(s.tags["ok"], TagValue("true".into()));
        assert!(serde_json::from_str::<JsonSpan>(r#"{"timestamp":-1}"#).is_err());
        assert!(serde_json::from_str::<JsonSpan>(r#"{"tags":{"a":[1]}}"#).is_err());
    }

    #[test]
    fn json_writes_only_present_fields() {
        let s = JsonSpan {
            trace_id: "0af7651916cd43dd".into(),
            id: "b7ad6b7169203331".into(),
            ..JsonSpan::default()
        };
        assert_eq!(
            serde_json::to_string(&s).unwrap(),
            r#"{"traceId":"0af7651916cd43dd","id":"b7ad6b7169203331"}"#
        );
    }

    #[test]
    fn proto_becomes_json_with_absent_zeroes() {
        let p = ProtoSpan {
            trace_id: vec![1; 8],
            id: vec![2; 8],
            kind: 2,
            timestamp: 5,
            local_endpoint: Some(ProtoEndpoint {
                service_name: "api".into(),
                ipv4: vec![10, 0, 0, 1],
                ipv6: Vec::new(),
                port: 8080,
            }),
            ..ProtoSpan::default()
        };
        let j = p.into_json();
        assert_eq!(j.trace_id, "0101010101010101");
        assert_eq!(j.parent_id, None);
        assert_eq!(j.kind.as_deref(), Some("SERVER"));
        assert_eq!(j.duration, None);
        let local = j.local_endpoint.unwrap();
        assert_eq!(local.ipv4.as_deref(), Some("10.0.0.1"));
        assert_eq!(local.port, Some(8080));
    }
}
