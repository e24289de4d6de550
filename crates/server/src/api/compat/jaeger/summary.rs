//! api_v3's `TraceSummary` of a trace, as its protobuf JSON writes it (zero numbers and empty
//! text left out, 64-bit times as decimal strings): `traceId` (32 hex digits), the root
//! (the earliest span without a parent) as `rootServiceName` and `rootOperationName`,
//! `minStartTimeUnixNano` and `maxEndTimeUnixNano`, `spanCount`, `errorSpanCount` (status
//! ERROR), `orphanSpanCount` (spans whose parent is not in the trace) and `services` (by
//! name: `name`, `spanCount`, `errorSpanCount`).

use std::collections::{BTreeMap, HashSet};

use serde_json::{Map, Value, json};
use tracehouse_model::{Span, StatusCode};

/// The fields of `pairs` whose value is not zero or empty.
fn proto3(pairs: impl IntoIterator<Item = (&'static str, Value)>) -> Value {
    let kept: Map<String, Value> = pairs
        .into_iter()
        .filter(|(_, v)| !matches!(v, Value::Null) && *v != json!(0) && *v != json!(""))
        .map(|(k, v)| (k.to_string(), v))
        .collect();
    Value::Object(kept)
}

/// The summary of a trace's spans (at least one).
pub(super) fn trace_summary(spans: &[Span]) -> Value {
    let ids: HashSet<_> = spans.iter().map(|s| s.span_id).collect();
    let root = spans
        .iter()
        .filter(|s| s.parent_span_id.is_none())
        .min_by_key(|s| s.start_time_unix_nano);
    let orphans = spans
        .iter()
        .filter(|s| s.parent_span_id.is_some_and(|p| !ids.contains(&p)))
        .count();
    let failed = |s: &Span| s.status_code == StatusCode::Error;
    let mut services: BTreeMap<&str, (usize, usize)> = BTreeMap::new();
    for s in spans {
        let counts = services.entry(&s.service_name).or_default();
        counts.0 += 1;
        counts.1 += usize::from(failed(s));
    }
    let services: Vec<Value> = services
        .into_iter()
        .map(|(name, (count, errors))| {
            proto3([
                ("name", json!(name)),
                ("spanCount", json!(count)),
                ("errorSpanCount", json!(errors)),
            ])
        })
        .collect();
    let start = spans.iter().map(|s| s.start_time_unix_nano).min();
    let end = spans.iter().map(|s| s.end_time_unix_nano).max();
    proto3([
        (
            "traceId",
            json!(spans.first().map(|s| s.trace_id.to_string())),
        ),
        ("rootServiceName", json!(root.map(|s| &s.service_name))),
        ("rootOperationName", json!(root.map(|s| &s.name))),
        ("minStartTimeUnixNano", json!(start.map(|t| t.to_string()))),
        ("maxEndTimeUnixNano", json!(end.map(|t| t.to_string()))),
        ("spanCount", json!(spans.len())),
        (
            "errorSpanCount",
            json!(spans.iter().filter(|s| failed(s)).count()),
        ),
        ("orphanSpanCount", json!(orphans)),
        ("services", json!(services)),
    ])
}
