//! External fixtures from `/work/shared/fixtures` (see each folder's README):
//!
//! * `otlp-examples/` — the OTLP/JSON examples of the OTLP specification repository: the example
//!   trace over OTLP/HTTP JSON and over OTLP/gRPC must store the same thing, upper-case ids must
//!   resolve, the example logs and events are stored and join their trace, and the example
//!   metrics are stored with their types.
//! * `jaeger-storage-integration/traces/*.json` — Jaeger's storage integration fixtures
//!   (OTLP/JSON `TracesData`): every span must round-trip losslessly through trace-by-id.
//!
//! The expected values are computed from the fixture's OTLP/JSON by a small converter
//! ([`any_value`]) that spells the API's typed attribute JSON (see `crates/model/src/attr.rs`).

use crate::common;

use std::path::{Path, PathBuf};

use common::TestServer;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::collector::trace::v1::trace_service_client::TraceServiceClient;
use serde_json::{Map, Value, json};

// ---------------------------------------------------------------------------------------------
// Fixture access
// ---------------------------------------------------------------------------------------------

fn fixtures_dir() -> PathBuf {
    common::shared_dir().join("fixtures")
}

fn read_bytes(path: &Path) -> Vec<u8> {
    std::fs::read(path).unwrap_or_else(|e| panic!("cannot read fixture {}: {e}", path.display()))
}

fn read_json(path: &Path) -> Value {
    serde_json::from_slice(&read_bytes(path))
        .unwrap_or_else(|e| panic!("fixture {} is not JSON: {e}", path.display()))
}

/// POSTs an OTLP/JSON body to the OTLP/HTTP receiver and asserts a full success: HTTP 200 and
/// no `partialSuccess` rejections.
async fn post_json_ok(server: &TestServer, what: &str, body: Vec<u8>) {
    let resp = server.post_traces("application/json", &[], body).await;
    let status = resp.status().as_u16();
    let text = resp.text().await.unwrap_or_default();
    assert_eq!(status, 200, "POST {what} to /v1/traces: body {text}");
    let parsed: Value = serde_json::from_str(&text).unwrap_or_else(|e| {
        panic!("POST {what}: response is not an OTLP/JSON ExportTraceServiceResponse ({e}): {text}")
    });
    assert_no_rejections(&parsed, what);
}

/// Asserts that an `ExportTraceServiceResponse` (as JSON) rejects nothing.
fn assert_no_rejections(resp: &Value, what: &str) {
    let partial = resp
        .get("partialSuccess")
        .or_else(|| resp.get("partial_success"));
    let rejected = match partial {
        None | Some(Value::Null) => 0,
        Some(p) => match p.get("rejectedSpans").or_else(|| p.get("rejected_spans")) {
            None | Some(Value::Null) => 0,
            Some(Value::String(s)) => s.parse().unwrap_or(-1),
            Some(v) => v.as_i64().unwrap_or(-1),
        },
    };
    assert_eq!(rejected, 0, "{what}: the server rejected spans: {resp}");
}

// ---------------------------------------------------------------------------------------------
// OTLP/JSON → expected API JSON
// ---------------------------------------------------------------------------------------------

/// A 64-bit OTLP/JSON integer: a decimal string (canonical) or a JSON number; absent is 0.
fn int64(v: Option<&Value>, what: &str) -> i64 {
    match v {
        None | Some(Value::Null) => 0,
        Some(Value::String(s)) => s
            .parse()
            .unwrap_or_else(|e| panic!("{what}: {s:?} is not a 64-bit integer: {e}")),
        Some(Value::Number(n)) => n
            .as_i64()
            .unwrap_or_else(|| panic!("{what}: {n} is not a 64-bit integer")),
        Some(other) => panic!("{what}: unexpected integer encoding {other}"),
    }
}

/// An OTLP/JSON id (hex of `bytes` bytes, either case) in the API's lower-case form; `None`
/// when absent or empty.
fn hex_id(v: Option<&Value>, bytes: usize, what: &str) -> Option<String> {
    let s = match v {
        None | Some(Value::Null) => return None,
        Some(Value::String(s)) if s.is_empty() => return None,
        Some(Value::String(s)) => s,
        Some(other) => panic!("{what}: id is not a string: {other}"),
    };
    assert!(
        s.len() == bytes * 2 && s.chars().all(|c| c.is_ascii_hexdigit()),
        "{what}: id {s:?} is not {} hex characters (OTLP/JSON ids are hex; extend the test if a \
         fixture uses another encoding)",
        bytes * 2
    );
    Some(s.to_ascii_lowercase())
}

/// Converts an OTLP/JSON `AnyValue` into the API's typed attribute JSON:
/// string → string, int → integer, double → float, bool → bool, bytes → `{"$bytes": base64}`,
/// array → array, kvlist → object; an empty `AnyValue` is stored as the empty string.
fn any_value(v: &Value, what: &str) -> Value {
    let Some(obj) = v.as_object() else {
        panic!("{what}: AnyValue is not an object: {v}");
    };
    let Some((kind, inner)) = obj.iter().next() else {
        return json!("");
    };
    assert_eq!(obj.len(), 1, "{what}: AnyValue has several fields: {v}");
    match kind.as_str() {
        "stringValue" => inner.clone(),
        "intValue" => json!(int64(Some(inner), what)),
        "doubleValue" => {
            let f = match inner {
                Value::Number(n) => n.as_f64(),
                Value::String(s) => s.parse::<f64>().ok(),
                _ => None,
            }
            .unwrap_or_else(|| panic!("{what}: bad doubleValue {inner}"));
            let n = serde_json::Number::from_f64(f).unwrap_or_else(|| {
                panic!("{what}: non-finite doubleValue {inner}: extend the converter")
            });
            Value::Number(n)
        }
        "boolValue" => {
            assert!(inner.is_boolean(), "{what}: bad boolValue {inner}");
            inner.clone()
        }
        "bytesValue" => {
            let b64 = inner
                .as_str()
                .unwrap_or_else(|| panic!("{what}: bad bytesValue {inner}"));
            json!({ "$bytes": b64 })
        }
        "arrayValue" => Value::Array(
            inner
                .get("values")
                .and_then(Value::as_array)
                .map(|vals| {
                    vals.iter()
                        .enumerate()
                        .map(|(i, x)| any_value(x, &format!("{what}[{i}]")))
                        .collect()
                })
                .unwrap_or_default(),
        ),
        "kvlistValue" => attributes(inner.get("values"), what),
        other => panic!("{what}: unsupported AnyValue kind {other:?}: extend the converter"),
    }
}

/// Converts an OTLP/JSON `KeyValue` list into the API's attribute object (a repeated key keeps
/// its last value, as the server does).
fn attributes(list: Option<&Value>, what: &str) -> Value {
    let mut out = Map::new();
    for kv in list.and_then(Value::as_array).into_iter().flatten() {
        let key = kv["key"]
            .as_str()
            .unwrap_or_else(|| panic!("{what}: attribute without a key: {kv}"));
        let value = match kv.get("value") {
            None | Some(Value::Null) => json!(""),
            Some(v) => any_value(v, &format!("{what}.{key}")),
        };
        out.insert(key.to_string(), value);
    }
    Value::Object(out)
}

fn kind_name(kind: i64) -> &'static str {
    match kind {
        1 => "internal",
        2 => "server",
        3 => "client",
        4 => "producer",
        5 => "consumer",
        _ => "unspecified",
    }
}

fn status_name(code: i64) -> &'static str {
    match code {
        1 => "ok",
        2 => "error",
        _ => "unset",
    }
}

/// The text form of an attribute as the server derives service fields from it.
fn attr_text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// One span of a fixture with everything the API must return for it.
struct ExpectedSpan {
    trace_id: String,
    span_id: String,
    json: Value,
}

/// Walks an OTLP/JSON `TracesData` and computes the API JSON of each span.
fn expected_spans(data: &Value, file: &str) -> Vec<ExpectedSpan> {
    let mut out = Vec::new();
    let resource_spans = data["resourceSpans"]
        .as_array()
        .unwrap_or_else(|| panic!("{file}: no resourceSpans array"));
    for (ri, rs) in resource_spans.iter().enumerate() {
        let rwhat = format!("{file}: resourceSpans[{ri}].resource");
        let resource_attributes = attributes(rs["resource"].get("attributes"), &rwhat);
        let text = |keys: &[&str]| {
            keys.iter()
                .find_map(|k| resource_attributes.get(*k))
                .map(attr_text)
                .unwrap_or_default()
        };
        let mut service_name = text(&["service.name"]);
        if service_name.is_empty() {
            service_name = "unknown_service".into();
        }
        let service_version = text(&["service.version"]);
        let environment = text(&["deployment.environment.name", "deployment.environment"]);
        for (si, ss) in rs["scopeSpans"]
            .as_array()
            .into_iter()
            .flatten()
            .enumerate()
        {
            let swhat = format!("{file}: resourceSpans[{ri}].scopeSpans[{si}]");
            let scope = &ss["scope"];
            let scope_name = scope.get("name").and_then(Value::as_str).unwrap_or("");
            let scope_version = scope.get("version").and_then(Value::as_str).unwrap_or("");
            let scope_attributes = attributes(scope.get("attributes"), &format!("{swhat}.scope"));
            for (pi, span) in ss["spans"].as_array().into_iter().flatten().enumerate() {
                let what = format!("{swhat}.spans[{pi}]");
                let trace_id = hex_id(span.get("traceId"), 16, &what).expect("span traceId");
                let span_id = hex_id(span.get("spanId"), 8, &what).expect("span spanId");
                let parent = hex_id(span.get("parentSpanId"), 8, &what);
                let start = int64(span.get("startTimeUnixNano"), &what);
                let end = int64(span.get("endTimeUnixNano"), &what);
                let status = span.get("status").cloned().unwrap_or(Value::Null);
                let status_code = int64(status.get("code"), &what);
                let span_attributes = attributes(span.get("attributes"), &what);
                let events: Vec<Value> = span
                    .get("events")
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                    .enumerate()
                    .map(|(ei, e)| {
                        let ew = format!("{what}.events[{ei}]");
                        json!({
                            "time_unix_nano": int64(e.get("timeUnixNano"), &ew),
                            "name": e.get("name").and_then(Value::as_str).unwrap_or(""),
                            "attributes": attributes(e.get("attributes"), &ew),
                            "dropped_attributes_count":
                                int64(e.get("droppedAttributesCount"), &ew),
                        })
                    })
                    .collect();
                let links: Vec<Value> = span
                    .get("links")
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                    .enumerate()
                    .map(|(li, l)| {
                        let lw = format!("{what}.links[{li}]");
                        json!({
                            "trace_id": hex_id(l.get("traceId"), 16, &lw),
                            "span_id": hex_id(l.get("spanId"), 8, &lw),
                            "trace_state": l.get("traceState").and_then(Value::as_str).unwrap_or(""),
                            "attributes": attributes(l.get("attributes"), &lw),
                            "dropped_attributes_count":
                                int64(l.get("droppedAttributesCount"), &lw),
                        })
                    })
                    .collect();
                let has_error = status_code == 2 || events.iter().any(|e| e["name"] == "exception");
                let session_id = ["highlight.session_id", "session.id"]
                    .iter()
                    .find_map(|k| span_attributes.get(*k))
                    .or_else(|| {
                        ["highlight.session_id", "session.id"]
                            .iter()
                            .find_map(|k| resource_attributes.get(*k))
                    })
                    .map(attr_text);
                let json = json!({
                    "trace_id": trace_id,
                    "span_id": span_id,
                    "parent_span_id": parent,
                    "trace_state": span.get("traceState").and_then(Value::as_str).unwrap_or(""),
                    "name": span.get("name").and_then(Value::as_str).unwrap_or(""),
                    "kind": kind_name(int64(span.get("kind"), &what)),
                    "start_time_unix_nano": start,
                    "end_time_unix_nano": end,
                    "duration_nanos": (end - start).max(0),
                    "status_code": status_name(status_code),
                    "status_message": status.get("message").and_then(Value::as_str).unwrap_or(""),
                    "service_name": service_name,
                    "service_version": service_version,
                    "environment": environment,
                    "scope_name": scope_name,
                    "scope_version": scope_version,
                    "scope_attributes": scope_attributes,
                    "session_id": session_id,
                    "attributes": span_attributes,
                    "resource_attributes": resource_attributes,
                    "events": events,
                    "links": links,
                    "has_error": has_error,
                    "dropped_attributes_count": int64(span.get("droppedAttributesCount"), &what),
                    "dropped_events_count": int64(span.get("droppedEventsCount"), &what),
                    "dropped_links_count": int64(span.get("droppedLinksCount"), &what),
                });
                out.push(ExpectedSpan {
                    trace_id,
                    span_id,
                    json,
                });
            }
        }
    }
    out
}

/// A JSON number's type as the API spells it (integers and floats must stay distinct).
fn json_type(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "bool",
        Value::Number(n) if n.is_f64() => "float",
        Value::Number(_) => "integer",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

/// Collects every difference between `expected` and `actual` under `path`, type-strictly
/// (`1` is not `1.0`).
fn diff(expected: &Value, actual: &Value, path: &str, out: &mut Vec<String>) {
    match (expected, actual) {
        (Value::Object(e), Value::Object(a)) => {
            for (k, ev) in e {
                match a.get(k) {
                    Some(av) => diff(ev, av, &format!("{path}.{k}"), out),
                    None => out.push(format!("{path}.{k}: missing, expected {ev}")),
                }
            }
            for k in a.keys().filter(|k| !e.contains_key(*k)) {
                out.push(format!("{path}.{k}: unexpected, got {}", a[k]));
            }
        }
        (Value::Array(e), Value::Array(a)) => {
            if e.len() != a.len() {
                out.push(format!(
                    "{path}: expected {} elements, got {}: expected {expected}, got {actual}",
                    e.len(),
                    a.len()
                ));
                return;
            }
            for (i, (ev, av)) in e.iter().zip(a).enumerate() {
                diff(ev, av, &format!("{path}[{i}]"), out);
            }
        }
        _ if json_type(expected) != json_type(actual) => out.push(format!(
            "{path}: expected {} {expected}, got {} {actual}",
            json_type(expected),
            json_type(actual)
        )),
        _ if expected != actual => out.push(format!("{path}: expected {expected}, got {actual}")),
        _ => {}
    }
}

/// Fetches a trace and checks that it holds exactly the `expected` spans, field by field.
/// Returns the differences found (empty when the round trip is lossless).
async fn check_trace(
    server: &TestServer,
    file: &str,
    trace_id: &str,
    expected: &[&ExpectedSpan],
) -> Vec<String> {
    let mut problems = Vec::new();
    let (status, body) = server.get(&format!("/api/v1/traces/{trace_id}")).await;
    if status != 200 {
        return vec![format!(
            "{file}: GET trace {trace_id}: status {status}, body {body}"
        )];
    }
    if body["trace_id"] != json!(trace_id) {
        problems.push(format!(
            "{file}: trace {trace_id}: response trace_id is {}",
            body["trace_id"]
        ));
    }
    let spans = body["spans"].as_array().cloned().unwrap_or_default();
    if spans.len() != expected.len() {
        problems.push(format!(
            "{file}: trace {trace_id}: expected {} spans, got {}",
            expected.len(),
            spans.len()
        ));
    }
    for e in expected {
        let matching: Vec<&Value> = spans
            .iter()
            .filter(|s| s["span_id"] == json!(e.span_id))
            .collect();
        match matching.as_slice() {
            [actual] => {
                let mut actual = (*actual).clone();
                // The project depends on the server's configuration, not on the fixture.
                if let Some(obj) = actual.as_object_mut() {
                    obj.remove("project_id");
                }
                diff(
                    &e.json,
                    &actual,
                    &format!("{file}: trace {trace_id} span {}", e.span_id),
                    &mut problems,
                );
            }
            [] => problems.push(format!(
                "{file}: trace {trace_id}: span {} missing",
                e.span_id
            )),
            many => problems.push(format!(
                "{file}: trace {trace_id}: span {} returned {} times",
                e.span_id,
                many.len()
            )),
        }
    }
    problems
}

// ---------------------------------------------------------------------------------------------
// otlp-examples
// ---------------------------------------------------------------------------------------------

const EXAMPLE_TRACE_ID: &str = "5b8efff798038103d269b633813fc60c";

fn otlp_examples() -> PathBuf {
    fixtures_dir().join("otlp-examples")
}

/// trace.json over OTLP/HTTP JSON: each field the README lists, upper-case id lookup, and the
/// same payload over OTLP/gRPC into a second server stores byte-identical trace JSON.
#[tokio::test]
async fn otlp_example_trace_json_and_grpc_store_the_same_span() {
    let path = otlp_examples().join("trace.json");
    let raw = read_bytes(&path);

    let json_server = TestServer::start(&[]);
    post_json_ok(&json_server, "otlp-examples/trace.json", raw.clone()).await;

    let (status, by_lower) = json_server
        .get(&format!("/api/v1/traces/{EXAMPLE_TRACE_ID}"))
        .await;
    assert_eq!(status, 200, "GET trace {EXAMPLE_TRACE_ID}: {by_lower}");
    assert_eq!(
        by_lower["trace_id"], EXAMPLE_TRACE_ID,
        "trace_id is returned lower-case: {by_lower}"
    );
    let spans = by_lower["spans"].as_array().expect("spans array");
    assert_eq!(spans.len(), 1, "trace.json holds one span: {by_lower}");
    let s = &spans[0];
    assert_eq!(
        s["trace_id"], EXAMPLE_TRACE_ID,
        "span trace_id (lower-case): {s}"
    );
    assert_eq!(
        s["span_id"], "eee19b7ec3c1b174",
        "span_id (lower-case): {s}"
    );
    assert_eq!(
        s["parent_span_id"], "eee19b7ec3c1b173",
        "parent_span_id must be kept although the parent is not in the payload (orphan): {s}"
    );
    assert_eq!(s["name"], "I'm a server span", "name: {s}");
    assert_eq!(s["kind"], "server", "kind 2 → server: {s}");
    assert_eq!(
        s["start_time_unix_nano"],
        json!(1_544_712_660_000_000_000_i64),
        "start: {s}"
    );
    assert_eq!(
        s["end_time_unix_nano"],
        json!(1_544_712_661_000_000_000_i64),
        "end: {s}"
    );
    assert_eq!(
        s["duration_nanos"],
        json!(1_000_000_000_i64),
        "duration is exactly 1 s: {s}"
    );
    assert_eq!(s["service_name"], "my.service", "service_name: {s}");
    assert_eq!(
        s["resource_attributes"],
        json!({"service.name": "my.service"}),
        "resource attributes: {s}"
    );
    assert_eq!(s["scope_name"], "my.library", "scope_name: {s}");
    assert_eq!(s["scope_version"], "1.0.0", "scope_version: {s}");
    assert_eq!(
        s["scope_attributes"],
        json!({"my.scope.attribute": "some scope attribute"}),
        "scope_attributes: {s}"
    );
    assert_eq!(
        s["attributes"],
        json!({"my.span.attr": "some value"}),
        "span attributes: {s}"
    );
    assert_eq!(s["status_code"], "unset", "no status in the payload: {s}");
    assert_eq!(s["has_error"], false, "has_error: {s}");
    assert_eq!(s["events"], json!([]), "events: {s}");
    assert_eq!(s["links"], json!([]), "links: {s}");

    // The generic converter agrees with the hand-written checks above.
    let expected = expected_spans(&read_json(&path), "otlp-examples/trace.json");
    let refs: Vec<&ExpectedSpan> = expected.iter().collect();
    let problems = check_trace(
        &json_server,
        "otlp-examples/trace.json",
        EXAMPLE_TRACE_ID,
        &refs,
    )
    .await;
    assert!(
        problems.is_empty(),
        "round trip differences:\n{}",
        problems.join("\n")
    );

    // Upper-case hex in the URL resolves to the same trace.
    let upper = EXAMPLE_TRACE_ID.to_ascii_uppercase();
    let (status, by_upper) = json_server.get(&format!("/api/v1/traces/{upper}")).await;
    assert_eq!(
        status, 200,
        "GET trace by upper-case id {upper}: {by_upper}"
    );
    assert_eq!(
        by_upper, by_lower,
        "upper-case id must resolve to the same trace"
    );

    // Same payload as protobuf over OTLP/gRPC into a fresh server.
    let request: ExportTraceServiceRequest = serde_json::from_slice(&raw).expect(
        "trace.json deserializes into ExportTraceServiceRequest (opentelemetry-proto serde)",
    );
    let grpc_server = TestServer::start(&[]);
    let mut client = TraceServiceClient::connect(grpc_server.grpc.clone())
        .await
        .unwrap_or_else(|e| panic!("connect to OTLP/gRPC at {}: {e}", grpc_server.grpc));
    let resp = client
        .export(request)
        .await
        .unwrap_or_else(|e| panic!("OTLP/gRPC export of trace.json failed: {e}"))
        .into_inner();
    if let Some(p) = &resp.partial_success {
        assert_eq!(
            p.rejected_spans, 0,
            "gRPC export rejected spans: {}",
            p.error_message
        );
    }
    let (status, by_grpc) = grpc_server
        .get(&format!("/api/v1/traces/{EXAMPLE_TRACE_ID}"))
        .await;
    assert_eq!(status, 200, "GET trace after gRPC export: {by_grpc}");
    assert_eq!(
        by_grpc, by_lower,
        "the trace stored from OTLP/gRPC differs from the one stored from OTLP/HTTP JSON"
    );
}

/// logs.json and events.json over `POST /v1/logs` are stored (the log record joins the trace
/// of trace.json, whose ids it carries in upper case), and so is metrics.json over
/// `POST /v1/metrics`: its four metrics are listed with their types.
#[tokio::test]
async fn otlp_example_logs_and_metrics_are_stored() {
    let server = TestServer::start(&["--retention", "forever"]);
    let resp = reqwest::Client::new()
        .post(format!("{}/v1/metrics", server.http))
        .header("content-type", "application/json")
        .body(read_bytes(&otlp_examples().join("metrics.json")))
        .send()
        .await
        .unwrap_or_else(|e| panic!("POST metrics.json to /v1/metrics: {e}"));
    let status = resp.status();
    let text = resp.text().await.unwrap_or_default();
    assert_eq!(
        status, 200,
        "POST otlp-examples/metrics.json to /v1/metrics: {text}"
    );
    // Every point of metrics.json is at 2018-12-13T14:51:00.3Z.
    let window = [
        ("start", "1544712660000000000"),
        ("end", "1544712720000000000"),
    ];
    let (status, names) = server.get_params("/api/v1/metrics/names", &window).await;
    assert_eq!(status, 200, "{names}");
    let listed: Vec<(&str, &str)> = names["metrics"]
        .as_array()
        .expect("a list of metrics")
        .iter()
        .map(|m| {
            (
                m["name"].as_str().unwrap_or(""),
                m["type"].as_str().unwrap_or(""),
            )
        })
        .collect();
    assert_eq!(
        listed,
        [
            ("my.counter", "sum"),
            ("my.exponential.histogram", "exponential_histogram"),
            ("my.gauge", "gauge"),
            ("my.histogram", "histogram"),
        ],
        "{names}"
    );
    for file in ["logs.json", "events.json"] {
        let resp = server
            .post_logs(
                "application/json",
                &[],
                read_bytes(&otlp_examples().join(file)),
            )
            .await;
        let status = resp.status();
        let text = resp.text().await.unwrap_or_default();
        assert_eq!(status, 200, "POST otlp-examples/{file} to /v1/logs: {text}");
    }
    post_json_ok(
        &server,
        "otlp-examples/trace.json",
        read_bytes(&otlp_examples().join("trace.json")),
    )
    .await;

    let (status, trace) = server
        .get(&format!("/api/v1/traces/{EXAMPLE_TRACE_ID}"))
        .await;
    assert_eq!(status, 200, "{trace}");
    assert_eq!(trace["spans"].as_array().map(Vec::len), Some(1), "{trace}");
    let logs = trace["logs"].as_array().expect("the trace's logs");
    assert_eq!(logs.len(), 1, "logs.json's record is in the trace: {trace}");
    let log = &logs[0];
    assert_eq!(log["body"], "Example log record", "{log}");
    assert_eq!(log["time_unix_nano"], 1_544_712_660_300_000_000i64, "{log}");
    assert_eq!(log["severity_number"], 10, "{log}");
    assert_eq!(log["severity_text"], "Information", "{log}");
    assert_eq!(log["level"], "info", "{log}");
    assert_eq!(log["span_id"], "eee19b7ec3c1b174", "lower-case hex: {log}");
    assert_eq!(log["service_name"], "my.service", "{log}");
    assert_eq!(log["scope_name"], "my.library", "{log}");
    assert_eq!(
        log["attributes"],
        json!({
            "string.attribute": "some string",
            "boolean.attribute": true,
            "int.attribute": 10,
            "double.attribute": 637.704,
            "array.attribute": ["many", "values"],
            "map.attribute": {"some.map.key": "some value"},
        }),
        "every AnyValue type keeps its type"
    );

    // events.json: a structured body is kept as JSON text, searchable by its attributes.
    let url = reqwest::Url::parse_with_params(
        &format!("{}/api/v1/logs/search", server.api),
        &[
            ("start", "1544712600000000000"),
            ("end", "1544712720000000000"),
            ("query", "event.attribute:\"some event attribute\""),
        ],
    )
    .expect("URL");
    let body: Value = reqwest::get(url)
        .await
        .expect("log search")
        .json()
        .await
        .expect("JSON");
    let found = body["logs"].as_array().expect("logs");
    assert_eq!(found.len(), 1, "{body}");
    let event_body: Value = serde_json::from_str(found[0]["body"].as_str().unwrap_or_default())
        .unwrap_or_else(|e| panic!("events.json body is JSON text ({e}): {body}"));
    assert_eq!(event_body["title"], "Free Online GUID Generator", "{body}");
    assert_eq!(event_body["type"], 0, "{body}");
    assert!(found[0]["trace_id"].is_null(), "{body}");
}

/// Every AnyValue type of logs.json (string, bool, int-as-string, double, array, kvlist), put
/// on the span of trace.json, comes back with its type.
#[tokio::test]
async fn otlp_example_log_attribute_types_survive_on_a_span() {
    let logs = read_json(&otlp_examples().join("logs.json"));
    let log_attrs = logs["resourceLogs"][0]["scopeLogs"][0]["logRecords"][0]["attributes"].clone();
    assert_eq!(
        log_attrs.as_array().map(Vec::len),
        Some(6),
        "logs.json is expected to carry six attributes, one per AnyValue type"
    );
    let mut trace = read_json(&otlp_examples().join("trace.json"));
    let span = &mut trace["resourceSpans"][0]["scopeSpans"][0]["spans"][0];
    span["attributes"] = log_attrs.clone();
    span["events"] =
        json!([{"timeUnixNano": "1544712660500000000", "name": "log", "attributes": log_attrs}]);
    let expected = expected_spans(&trace, "trace.json+logs.json attributes");
    assert_eq!(
        expected[0].json["attributes"],
        json!({
            "string.attribute": "some string",
            "boolean.attribute": true,
            "int.attribute": 10,
            "double.attribute": 637.704,
            "array.attribute": ["many", "values"],
            "map.attribute": {"some.map.key": "some value"},
        }),
        "converter self-check"
    );

    let server = TestServer::start(&[]);
    post_json_ok(
        &server,
        "trace.json with logs.json attributes",
        serde_json::to_vec(&trace).expect("json"),
    )
    .await;
    let refs: Vec<&ExpectedSpan> = expected.iter().collect();
    let problems = check_trace(
        &server,
        "trace.json+logs.json attributes",
        EXAMPLE_TRACE_ID,
        &refs,
    )
    .await;
    assert!(
        problems.is_empty(),
        "round trip differences:\n{}",
        problems.join("\n")
    );
}

// ---------------------------------------------------------------------------------------------
// jaeger-storage-integration
// ---------------------------------------------------------------------------------------------

/// All 32 Jaeger storage-integration trace files, POSTed as OTLP/JSON, come back losslessly
/// from trace-by-id: ids, parent, name, kind, times, status, trace state, typed attributes
/// (span, resource, scope, event, link), events, links, scope name/version.
#[tokio::test]
async fn jaeger_storage_fixtures_round_trip_losslessly() {
    let dir = fixtures_dir()
        .join("jaeger-storage-integration")
        .join("traces");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("cannot list {}: {e}", dir.display()))
        .map(|e| e.expect("dir entry").path())
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .collect();
    files.sort();
    assert_eq!(
        files.len(),
        32,
        "expected the 32 fixture files of the README in {}",
        dir.display()
    );

    let server = TestServer::start(&[]);
    let mut per_file = Vec::new();
    for path in &files {
        let name = path
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or("?")
            .to_string();
        post_json_ok(&server, &name, read_bytes(path)).await;
        per_file.push((name.clone(), expected_spans(&read_json(path), &name)));
    }

    // Trace ids must not be shared between files, or one file's check would see the other's spans.
    let mut owner = std::collections::BTreeMap::<String, String>::new();
    for (file, spans) in &per_file {
        for s in spans {
            if let Some(other) = owner.insert(s.trace_id.clone(), file.clone()) {
                assert_eq!(
                    &other, file,
                    "trace {} appears in {other} and {file}",
                    s.trace_id
                );
            }
        }
    }

    let mut problems = Vec::new();
    let mut checked_spans = 0;
    let mut checked_traces = 0;
    for (file, spans) in &per_file {
        let mut trace_ids: Vec<&str> = spans.iter().map(|s| s.trace_id.as_str()).collect();
        trace_ids.sort();
        trace_ids.dedup();
        for trace_id in trace_ids {
            let expected: Vec<&ExpectedSpan> =
                spans.iter().filter(|s| s.trace_id == trace_id).collect();
            checked_spans += expected.len();
            checked_traces += 1;
            problems.extend(check_trace(&server, file, trace_id, &expected).await);
        }
    }
    assert!(
        problems.is_empty(),
        "{} round-trip differences over {checked_traces} traces / {checked_spans} spans:\n{}",
        problems.len(),
        problems.join("\n")
    );
    assert_eq!(checked_spans, 38, "the fixtures hold 38 spans");

    // example_trace.json facts from the README: example-service-1 has operations 1 (kind
    // unspecified), 3 (server) and 4 (client); listing by service works on 2017 times.
    let (status, body) = server
        .get("/api/v1/spans?service=example-service-1&start=2017-01-25T00:00:00Z&end=2017-01-27T00:00:00Z&limit=1000")
        .await;
    assert_eq!(status, 200, "list spans of example-service-1: {body}");
    let mut ops: Vec<(String, String)> = body["spans"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|s| {
            (
                s["name"].as_str().unwrap_or("").to_string(),
                s["kind"].as_str().unwrap_or("").to_string(),
            )
        })
        .collect();
    ops.sort();
    let want = [
        ("example-operation-1", "unspecified"),
        ("example-operation-3", "server"),
        ("example-operation-4", "client"),
    ];
    let want: Vec<(String, String)> = want
        .iter()
        .map(|(n, k)| (n.to_string(), k.to_string()))
        .collect();
    assert_eq!(
        ops, want,
        "operations (name, kind) of example-service-1: {body}"
    );

    // A trace id that no fixture holds is a clean 404.
    let (status, body) = server
        .get("/api/v1/traces/0000000000000000000000000000beef")
        .await;
    assert_eq!(status, 404, "unknown trace: {body}");
}
