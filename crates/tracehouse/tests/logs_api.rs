//! Logs, errors and sessions end to end against the real binary: log records over OTLP/HTTP
//! JSON, OTLP/HTTP protobuf (gzipped) and OTLP/gRPC, spans with `exception` events and
//! session ids over OTLP/HTTP; then log search, the level histogram, a trace's logs and
//! errors, error groups and sessions through the JSON API.

use crate::common;

use std::collections::{BTreeMap, BTreeSet};
use std::io::Write;

use common::TestServer;
use opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceRequest;
use opentelemetry_proto::tonic::collector::logs::v1::logs_service_client::LogsServiceClient;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::{AnyValue, InstrumentationScope, KeyValue, any_value};
use opentelemetry_proto::tonic::logs::v1::{LogRecord, ResourceLogs, ScopeLogs};
use opentelemetry_proto::tonic::resource::v1::Resource;
use opentelemetry_proto::tonic::trace::v1::span::Event;
use opentelemetry_proto::tonic::trace::v1::{ResourceSpans, ScopeSpans, Span};
use prost::Message;
use serde_json::{Value, json};

/// 2025-11-25T10:00:00Z: every record and span of the scenario lies in the minute after it.
const T: u64 = 1_764_064_800_000_000_000;
const MS: u64 = 1_000_000;
const SEC: u64 = 1_000 * MS;

const TRACE_A: u8 = 0xa1;
const TRACE_B: u8 = 0xb2;
const TRACE_C: u8 = 0xc3;
const TRACE_D: u8 = 0xd4;
/// Worker log records sent over protobuf, to page through.
const TICKS: u64 = 25;

/// The same Python failure in `pay`, from two deployments (other directories and lines).
const PAY_STACK_1: &str = "Traceback (most recent call last):\n  File \"/srv/app/views.py\", line 40, in pay\n    charge(card)\n  File \"/srv/app/payments.py\", line 12, in charge\n    raise ValueError(msg)\nValueError: card declined";
const PAY_STACK_2: &str = "Traceback (most recent call last):\n  File \"/opt/v2/views.py\", line 44, in pay\n    charge(card)\n  File \"/opt/v2/payments.py\", line 15, in charge\n    raise ValueError(msg)\nValueError: card declined";
/// Another ValueError, raised elsewhere.
const REFUND_STACK: &str = "Traceback (most recent call last):\n  File \"/srv/app/views.py\", line 80, in refund\n    check_window(order)\n  File \"/srv/app/refunds.py\", line 9, in check_window\n    raise ValueError(msg)\nValueError: refund window closed";

fn hex_id(byte: u8, len: usize) -> String {
    hex::encode(vec![byte; len])
}

fn kv(key: &str, value: &str) -> KeyValue {
    KeyValue {
        key: key.into(),
        value: Some(AnyValue {
            value: Some(any_value::Value::StringValue(value.into())),
        }),
        ..Default::default()
    }
}

fn resource(attrs: &[(&str, &str)]) -> Option<Resource> {
    Some(Resource {
        attributes: attrs.iter().map(|(k, v)| kv(k, v)).collect(),
        ..Default::default()
    })
}

/// One server span of `service` in trace `trace`, optionally in a session and failing with
/// an `exception` event `(type, message, stack)` 1 ms after it starts.
fn span(
    trace: u8,
    name: &str,
    start: u64,
    session: Option<(&str, &str)>,
    exception: Option<(&str, &str, &str)>,
) -> Span {
    Span {
        trace_id: vec![trace; 16],
        span_id: vec![trace; 8],
        name: name.into(),
        kind: 2,
        start_time_unix_nano: start,
        end_time_unix_nano: start + 20 * MS,
        attributes: session.map(|(k, v)| vec![kv(k, v)]).unwrap_or_default(),
        events: exception
            .map(|(ty, message, stack)| {
                vec![Event {
                    time_unix_nano: start + MS,
                    name: "exception".into(),
                    attributes: vec![
                        kv("exception.type", ty),
                        kv("exception.message", message),
                        kv("exception.stacktrace", stack),
                    ],
                    ..Default::default()
                }]
            })
            .unwrap_or_default(),
        ..Default::default()
    }
}

fn spans_request(service: &str, spans: Vec<Span>) -> ExportTraceServiceRequest {
    ExportTraceServiceRequest {
        resource_spans: vec![ResourceSpans {
            resource: resource(&[("service.name", service)]),
            scope_spans: vec![ScopeSpans {
                spans,
                ..Default::default()
            }],
            ..Default::default()
        }],
    }
}

/// The checkout service's records of traces A and B, as OTLP/HTTP JSON is written by hand.
fn checkout_logs_json() -> Vec<u8> {
    let record = |time: u64, sev: u8, text: &str, body: &str, trace: u8, attrs: Value| {
        json!({
            "timeUnixNano": time.to_string(),
            "observedTimeUnixNano": (time + MS).to_string(),
            "severityNumber": sev,
            "severityText": text,
            "body": {"stringValue": body},
            "traceId": hex_id(trace, 16),
            "spanId": hex_id(trace, 8),
            "attributes": attrs,
        })
    };
    let attrs = |provider: &str, session_key: &str, session: &str| {
        json!([
            {"key": "payment.provider", "value": {"stringValue": provider}},
            {"key": session_key, "value": {"stringValue": session}},
        ])
    };
    let body = json!({"resourceLogs": [{
        "resource": {"attributes": [
            {"key": "service.name", "value": {"stringValue": "checkout"}},
            {"key": "service.version", "value": {"stringValue": "1.2"}},
        ]},
        "scopeLogs": [{
            "scope": {"name": "app.payments"},
            "logRecords": [
                record(T + SEC + 2 * MS, 9, "INFO", "charging card for order 17", TRACE_A,
                    attrs("stripe", "highlight.session_id", "sess-1")),
                record(T + SEC + 3 * MS, 17, "ERROR", "payment failed: card declined", TRACE_A,
                    attrs("stripe", "highlight.session_id", "sess-1")),
                record(T + 2 * SEC + 2 * MS, 9, "INFO", "charging card for order 18", TRACE_B,
                    attrs("adyen", "session.id", "sess-2")),
            ],
        }],
    }]});
    serde_json::to_vec(&body).expect("JSON")
}

/// A background worker's debug records, not tied to any trace, 100 ms apart from T+10s.
fn worker_logs() -> ExportLogsServiceRequest {
    let records = (0..TICKS)
        .map(|i| LogRecord {
            time_unix_nano: T + 10 * SEC + i * 100 * MS,
            severity_number: 5,
            severity_text: "DEBUG".into(),
            body: Some(AnyValue {
                value: Some(any_value::Value::StringValue(format!("tick {i}"))),
            }),
            attributes: vec![kv("queue", "emails")],
            ..Default::default()
        })
        .collect();
    ExportLogsServiceRequest {
        resource_logs: vec![ResourceLogs {
            resource: resource(&[
                ("service.name", "worker"),
                ("deployment.environment", "staging"),
            ]),
            scope_logs: vec![ScopeLogs {
                scope: Some(InstrumentationScope {
                    name: "jobs".into(),
                    ..Default::default()
                }),
                log_records: records,
                ..Default::default()
            }],
            ..Default::default()
        }],
    }
}

/// The billing service's records of trace C: a warning and an error log carrying an
/// exception (which becomes an error occurrence of its own).
fn billing_logs() -> ExportLogsServiceRequest {
    let record = |time: u64, sev: i32, text: &str, body: &str, attrs: Vec<KeyValue>| LogRecord {
        time_unix_nano: time,
        severity_number: sev,
        severity_text: text.into(),
        body: Some(AnyValue {
            value: Some(any_value::Value::StringValue(body.into())),
        }),
        trace_id: vec![TRACE_C; 16],
        span_id: vec![TRACE_C; 8],
        attributes: attrs,
        ..Default::default()
    };
    ExportLogsServiceRequest {
        resource_logs: vec![ResourceLogs {
            resource: resource(&[("service.name", "billing")]),
            scope_logs: vec![ScopeLogs {
                log_records: vec![
                    record(
                        T + 3 * SEC + 2 * MS,
                        13,
                        "WARN",
                        "refund requested late",
                        vec![],
                    ),
                    record(
                        T + 3 * SEC + 3 * MS,
                        17,
                        "ERROR",
                        "refund failed",
                        vec![
                            kv("exception.type", "TimeoutError"),
                            kv("exception.message", "ledger timed out after 30s"),
                        ],
                    ),
                ],
                ..Default::default()
            }],
            ..Default::default()
        }],
    }
}

/// Sends the whole scenario over the three transports and checks each export succeeded in full.
async fn send_scenario(s: &TestServer) {
    let checkout = spans_request(
        "checkout",
        vec![
            span(
                TRACE_D,
                "GET /cart",
                T + 500 * MS,
                Some(("highlight.session_id", "sess-1")),
                None,
            ),
            span(
                TRACE_A,
                "POST /pay",
                T + SEC,
                Some(("highlight.session_id", "sess-1")),
                Some(("ValueError", "card 4242 declined", PAY_STACK_1)),
            ),
            span(
                TRACE_B,
                "POST /pay",
                T + 2 * SEC,
                Some(("session.id", "sess-2")),
                Some(("ValueError", "card 5555 declined", PAY_STACK_2)),
            ),
        ],
    );
    let billing = spans_request(
        "billing",
        vec![span(
            TRACE_C,
            "POST /refund",
            T + 3 * SEC,
            None,
            Some(("ValueError", "refund window closed", REFUND_STACK)),
        )],
    );
    for req in [checkout, billing] {
        let resp = s
            .post_traces("application/x-protobuf", &[], req.encode_to_vec())
            .await;
        assert_eq!(resp.status(), 200, "spans export");
    }

    let resp = s
        .post_logs("application/json", &[], checkout_logs_json())
        .await;
    assert_eq!(resp.status(), 200, "JSON logs export");
    let body: Value = resp.json().await.expect("JSON response");
    assert!(
        body.get("partialSuccess").is_none_or(Value::is_null)
            && body.get("partial_success").is_none_or(Value::is_null),
        "nothing rejected: {body}"
    );

    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    gz.write_all(&worker_logs().encode_to_vec()).expect("gzip");
    let resp = s
        .post_logs(
            "application/x-protobuf",
            &[("content-encoding", "gzip")],
            gz.finish().expect("gzip"),
        )
        .await;
    assert_eq!(resp.status(), 200, "protobuf logs export");
    let body = opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceResponse::decode(
        resp.bytes().await.expect("body"),
    )
    .expect("protobuf response");
    assert_eq!(body.partial_success, None);

    let mut client = LogsServiceClient::connect(s.grpc.clone())
        .await
        .unwrap_or_else(|e| panic!("connect to OTLP/gRPC at {}: {e}", s.grpc));
    let resp = client
        .export(billing_logs())
        .await
        .expect("gRPC logs export")
        .into_inner();
    assert_eq!(resp.partial_success, None);
}

/// The window every request of this file asks about.
fn window() -> Vec<(&'static str, String)> {
    vec![
        ("start", T.to_string()),
        ("end", (T + 60 * SEC).to_string()),
    ]
}

async fn get(s: &TestServer, path: &str, params: &[(&str, &str)]) -> (u16, Value) {
    let w = window();
    let mut all: Vec<(&str, &str)> = w.iter().map(|(k, v)| (*k, v.as_str())).collect();
    all.extend_from_slice(params);
    s.get_params(path, &all).await
}

/// Bodies of the records a log search returns (one page).
async fn search_bodies(s: &TestServer, query: &str) -> Vec<String> {
    let (status, body) = get(s, "/api/v1/logs/search", &[("query", query)]).await;
    assert_eq!(status, 200, "{query}: {body}");
    body["logs"]
        .as_array()
        .unwrap_or_else(|| panic!("{query}: no logs array in {body}"))
        .iter()
        .map(|l| l["body"].as_str().unwrap_or_default().to_string())
        .collect()
}

/// Every page of a search of the worker's records in `sort` order: (time, body) per record.
async fn page_through(s: &TestServer, sort: &str) -> Vec<(i64, String)> {
    let mut seen = Vec::new();
    let mut cursor = String::new();
    for _ in 0..10 {
        let (status, body) = get(
            s,
            "/api/v1/logs/search",
            &[
                ("query", "service:worker"),
                ("sort", sort),
                ("limit", "10"),
                ("cursor", &cursor),
            ],
        )
        .await;
        assert_eq!(status, 200, "{body}");
        let logs = body["logs"].as_array().expect("logs");
        assert!(logs.len() <= 10, "page larger than the limit");
        seen.extend(logs.iter().map(|l| {
            (
                l["time_unix_nano"].as_i64().unwrap_or_default(),
                l["body"].as_str().unwrap_or_default().to_string(),
            )
        }));
        match body["next_cursor"].as_str() {
            Some(c) => cursor = c.to_string(),
            None => return seen,
        }
    }
    panic!("paging did not end after 10 pages: {seen:?}");
}

fn sorted(mut v: Vec<String>) -> Vec<String> {
    v.sort();
    v
}

#[tokio::test]
async fn logs_errors_and_sessions_over_every_transport() {
    let s = TestServer::start(&["--retention", "forever"]);
    send_scenario(&s).await;

    // --- Log search -------------------------------------------------------------------
    // A bare word matches the body.
    assert_eq!(
        search_bodies(&s, "declined").await,
        vec!["payment failed: card declined"]
    );
    assert_eq!(
        sorted(search_bodies(&s, "card").await),
        vec![
            "charging card for order 17",
            "charging card for order 18",
            "payment failed: card declined"
        ]
    );
    assert_eq!(
        sorted(search_bodies(&s, "level:error").await),
        vec!["payment failed: card declined", "refund failed"]
    );
    assert_eq!(
        search_bodies(&s, "severity:warn").await,
        vec!["refund requested late"]
    );
    assert_eq!(
        search_bodies(&s, &format!("trace_id:{}", hex_id(TRACE_A, 16))).await,
        vec![
            "payment failed: card declined",
            "charging card for order 17"
        ],
        "newest first by default"
    );
    assert_eq!(
        sorted(search_bodies(&s, "payment.provider:stripe").await),
        vec![
            "charging card for order 17",
            "payment failed: card declined"
        ]
    );
    assert_eq!(
        search_bodies(&s, "span.payment.provider:adyen").await,
        vec!["charging card for order 18"]
    );
    assert_eq!(
        search_bodies(&s, "resource.deployment.environment:staging")
            .await
            .len(),
        TICKS as usize
    );
    assert_eq!(
        search_bodies(&s, "session_id:sess-2").await,
        vec!["charging card for order 18"]
    );
    assert_eq!(
        search_bodies(&s, "service:billing refund").await,
        vec!["refund failed", "refund requested late"]
    );
    assert!(search_bodies(&s, "level:fatal").await.is_empty());

    // A record's JSON carries the resource and scope fields.
    let (_, body) = get(&s, "/api/v1/logs/search", &[("query", "declined")]).await;
    let log = &body["logs"][0];
    assert_eq!(log["level"], "error", "{log}");
    assert_eq!(log["severity_number"], 17, "{log}");
    assert_eq!(log["service_name"], "checkout", "{log}");
    assert_eq!(log["service_version"], "1.2", "{log}");
    assert_eq!(log["scope_name"], "app.payments", "{log}");
    assert_eq!(log["session_id"], "sess-1", "{log}");
    assert_eq!(log["trace_id"], hex_id(TRACE_A, 16), "{log}");
    assert_eq!(log["span_id"], hex_id(TRACE_A, 8), "{log}");
    assert_eq!(log["log_id"].as_str().map(str::len), Some(32), "{log}");

    // Paging: every worker record exactly once, in order, both ways.
    let newest_first = page_through(&s, "time_desc").await;
    let oldest_first = page_through(&s, "time_asc").await;
    assert_eq!(newest_first.len(), TICKS as usize, "{newest_first:?}");
    assert!(
        newest_first.windows(2).all(|w| w[0].0 > w[1].0),
        "{newest_first:?}"
    );
    assert!(
        oldest_first.windows(2).all(|w| w[0].0 < w[1].0),
        "{oldest_first:?}"
    );
    assert_eq!(oldest_first.first().map(|l| l.1.as_str()), Some("tick 0"));
    let mut reversed = oldest_first.clone();
    reversed.reverse();
    assert_eq!(reversed, newest_first);
    let bodies: BTreeSet<String> = newest_first.into_iter().map(|l| l.1).collect();
    assert_eq!(
        bodies,
        (0..TICKS)
            .map(|i| format!("tick {i}"))
            .collect::<BTreeSet<_>>()
    );

    // Log searches that cannot work say why.
    let (status, body) = get(&s, "/api/v1/logs/search", &[("query", "{level:error}")]).await;
    assert_eq!(status, 400, "{body}");
    assert!(
        body["error"]["message"]
            .as_str()
            .is_some_and(|m| m.contains("logs")),
        "{body}"
    );
    let (status, body) = get(&s, "/api/v1/logs/search", &[("sort", "duration_desc")]).await;
    assert_eq!(status, 400, "{body}");
    let (status, body) = get(&s, "/api/v1/logs/search", &[("query", "level:(")]).await;
    assert_eq!(status, 400, "{body}");
    assert!(body["error"]["start"].is_u64(), "{body}");
    let (status, _) = get(&s, "/api/v1/logs/search", &[("cursor", "nothex")]).await;
    assert_eq!(status, 400);
    let (status, _) = get(&s, "/api/v1/logs/search", &[("limit", "0")]).await;
    assert_eq!(status, 400);

    // --- Histogram by level -----------------------------------------------------------
    let (status, body) = get(&s, "/api/v1/logs/histogram", &[("buckets", "6")]).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["width_ns"], 10 * SEC, "{body}");
    let buckets = body["buckets"].as_array().expect("buckets");
    let mut levels: BTreeMap<String, u64> = BTreeMap::new();
    let mut total = 0;
    for b in buckets {
        let count = b["count"].as_u64().expect("count");
        let per_level = b["levels"].as_object().expect("levels");
        let mut sum = 0;
        for (level, n) in per_level {
            let n = n.as_u64().expect("level count");
            assert!(n > 0, "levels without records are left out: {b}");
            sum += n;
            *levels.entry(level.clone()).or_default() += n;
        }
        assert_eq!(sum, count, "{b}");
        total += count;
    }
    assert_eq!(total, TICKS + 5);
    assert_eq!(
        levels,
        BTreeMap::from([
            ("debug".to_string(), TICKS),
            ("error".to_string(), 2),
            ("info".to_string(), 2),
            ("warn".to_string(), 1),
        ])
    );
    // The worker's records (T+10 s to T+12.4 s) all fall in the second bucket.
    assert_eq!(buckets[1]["levels"], json!({"debug": 25}), "{body}");
    let (status, body) = get(
        &s,
        "/api/v1/logs/histogram",
        &[("buckets", "6"), ("query", "level:error")],
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        body["buckets"][0],
        json!({"start": T, "end": T + 10 * SEC, "count": 2, "levels": {"error": 2}})
    );
    let (status, _) = get(&s, "/api/v1/logs/histogram", &[("query", "{} >> {}")]).await;
    assert_eq!(status, 400);

    // --- Autocomplete of log keys and values ------------------------------------------
    let (status, body) = get(&s, "/api/v1/keys", &[("target", "logs")]).await;
    assert_eq!(status, 200, "{body}");
    let keys: Vec<&str> = body["keys"]
        .as_array()
        .expect("keys")
        .iter()
        .filter_map(|k| k["key"].as_str())
        .collect();
    assert!(
        keys.contains(&"level") && keys.contains(&"body"),
        "{keys:?}"
    );
    assert!(
        !keys.contains(&"span_name"),
        "span intrinsics are not log keys: {keys:?}"
    );
    let (status, body) = get(&s, "/api/v1/keys/level/values", &[("target", "logs")]).await;
    assert_eq!(status, 200, "{body}");
    let levels: Vec<&str> = body["values"]
        .as_array()
        .expect("values")
        .iter()
        .filter_map(|v| v["value"].as_str())
        .collect();
    assert!(
        levels.contains(&"error") && levels.contains(&"info"),
        "{levels:?}"
    );
    let (status, body) = get(&s, "/api/v1/keys", &[("target", "metrics")]).await;
    assert_eq!(status, 400, "{body}");

    // --- A trace with its logs and errors ---------------------------------------------
    let (status, trace_a) = s
        .get(&format!("/api/v1/traces/{}", hex_id(TRACE_A, 16)))
        .await;
    assert_eq!(status, 200, "{trace_a}");
    assert_eq!(trace_a["spans"].as_array().map(Vec::len), Some(1));
    let logs: Vec<&str> = trace_a["logs"]
        .as_array()
        .expect("logs")
        .iter()
        .filter_map(|l| l["body"].as_str())
        .collect();
    assert_eq!(
        logs,
        vec![
            "charging card for order 17",
            "payment failed: card declined"
        ],
        "oldest first"
    );
    let errors = trace_a["errors"].as_array().expect("errors");
    assert_eq!(errors.len(), 1, "{trace_a}");
    assert_eq!(errors[0]["type"], "ValueError");
    assert_eq!(errors[0]["message"], "card 4242 declined");
    assert_eq!(errors[0]["source"], "span_event");
    assert_eq!(errors[0]["span_id"], hex_id(TRACE_A, 8));
    assert_eq!(errors[0]["session_id"], "sess-1");
    assert_eq!(errors[0]["time_unix_nano"], T + SEC + MS);
    let pay_fingerprint = errors[0]["fingerprint"].as_str().expect("fingerprint");
    assert_eq!(pay_fingerprint.len(), 16);

    let (_, trace_c) = s
        .get(&format!("/api/v1/traces/{}", hex_id(TRACE_C, 16)))
        .await;
    let errors: Vec<(&str, &str)> = trace_c["errors"]
        .as_array()
        .expect("errors")
        .iter()
        .map(|e| {
            (
                e["type"].as_str().unwrap_or_default(),
                e["source"].as_str().unwrap_or_default(),
            )
        })
        .collect();
    assert_eq!(
        errors,
        vec![("ValueError", "span_event"), ("TimeoutError", "log")],
        "oldest first: {trace_c}"
    );
    assert_eq!(trace_c["logs"].as_array().map(Vec::len), Some(2));

    let (_, trace_d) = s
        .get(&format!("/api/v1/traces/{}", hex_id(TRACE_D, 16)))
        .await;
    assert_eq!(trace_d["logs"], json!([]), "{trace_d}");
    assert_eq!(trace_d["errors"], json!([]), "{trace_d}");

    // --- Error groups -----------------------------------------------------------------
    let (status, body) = get(&s, "/api/v1/errors/groups", &[]).await;
    assert_eq!(status, 200, "{body}");
    let groups = body["groups"].as_array().expect("groups");
    assert_eq!(
        groups.len(),
        3,
        "pay, refund and the logged timeout: {body}"
    );
    let pay = &groups[0];
    assert_eq!(pay["fingerprint"], pay_fingerprint, "most frequent first");
    assert_eq!(pay["type"], "ValueError");
    assert_eq!(pay["message"], "card 5555 declined", "newest occurrence");
    assert_eq!(pay["count"], 2);
    assert_eq!(pay["trace_count"], 2);
    assert_eq!(pay["session_count"], 2);
    assert_eq!(pay["services"], json!(["checkout"]));
    assert_eq!(pay["first_seen_ns"], T + SEC + MS);
    assert_eq!(pay["last_seen_ns"], T + 2 * SEC + MS);
    assert_eq!(
        pay["example_trace_ids"],
        json!([hex_id(TRACE_B, 16), hex_id(TRACE_A, 16)])
    );
    // The trend covers the window on the response's grid in at most the 24 default buckets
    // (the width is rounded up to a round value, as for histograms).
    let trend = pay["trend"].as_array().expect("trend");
    let (grid_start, width) = (
        body["start_ns"].as_u64().expect("start_ns"),
        body["width_ns"].as_u64().expect("width_ns"),
    );
    assert!(
        !trend.is_empty() && trend.len() <= 24,
        "default buckets: {body}"
    );
    assert!(
        grid_start <= T && grid_start + width * trend.len() as u64 >= T + 60 * SEC,
        "{body}"
    );
    assert_eq!(trend.iter().filter_map(Value::as_u64).sum::<u64>(), 2);
    let others: BTreeMap<&str, &Value> = groups[1..]
        .iter()
        .map(|g| (g["type"].as_str().unwrap_or_default(), g))
        .collect();
    let refund = others
        .get("ValueError")
        .expect("the refund ValueError group");
    assert_ne!(refund["fingerprint"], pay_fingerprint, "another stack");
    assert_eq!(refund["count"], 1);
    assert_eq!(refund["services"], json!(["billing"]));
    assert_eq!(refund["session_count"], 0);
    let timeout = others
        .get("TimeoutError")
        .expect("the logged error's group");
    assert_eq!(timeout["message"], "ledger timed out after 30s");
    assert_eq!(timeout["example_trace_ids"], json!([hex_id(TRACE_C, 16)]));

    let (_, body) = get(
        &s,
        "/api/v1/errors/groups",
        &[("text", "REFUND"), ("buckets", "6")],
    )
    .await;
    let groups = body["groups"].as_array().expect("groups");
    assert_eq!(groups.len(), 1, "{body}");
    assert_eq!(groups[0]["message"], "refund window closed");
    assert_eq!(
        groups[0]["trend"].as_array().map(Vec::len),
        Some(6),
        "60 s in 6 buckets of 10 s"
    );
    let (_, body) = get(&s, "/api/v1/errors/groups", &[("text", "valueerror")]).await;
    assert_eq!(body["groups"].as_array().map(Vec::len), Some(2), "{body}");
    let (_, body) = get(&s, "/api/v1/errors/groups", &[("limit", "1")]).await;
    assert_eq!(body["groups"].as_array().map(Vec::len), Some(1), "{body}");
    // A service's groups: its occurrences only (the exact numbers are the store suite's).
    let (status, body) = get(&s, "/api/v1/errors/groups", &[("service", "checkout")]).await;
    assert_eq!(status, 200, "{body}");
    let of_checkout = body["groups"].as_array().expect("groups");
    assert!(!of_checkout.is_empty(), "{body}");
    assert!(
        of_checkout
            .iter()
            .all(|g| g["services"] == json!(["checkout"])),
        "{body}"
    );
    let (_, body) = get(&s, "/api/v1/errors/groups", &[("service", "nobody")]).await;
    assert_eq!(body["groups"].as_array().map(Vec::len), Some(0), "{body}");
    let (_, body) = get(&s, "/api/v1/errors/groups", &[("environment", "nowhere")]).await;
    assert_eq!(body["groups"].as_array().map(Vec::len), Some(0), "{body}");

    // One group's page: its occurrences, newest first, linking to their traces.
    let (status, body) = get(
        &s,
        &format!("/api/v1/errors/groups/{}", pay_fingerprint.to_uppercase()),
        &[],
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["group"]["fingerprint"], pay_fingerprint);
    assert_eq!(body["group"]["count"], 2);
    let occurrences: Vec<(&str, &str)> = body["occurrences"]
        .as_array()
        .expect("occurrences")
        .iter()
        .map(|o| {
            assert_eq!(o["fingerprint"], pay_fingerprint, "{o}");
            (
                o["trace_id"].as_str().unwrap_or_default(),
                o["stacktrace"].as_str().unwrap_or_default(),
            )
        })
        .collect();
    let (b, a) = (hex_id(TRACE_B, 16), hex_id(TRACE_A, 16));
    assert_eq!(
        occurrences,
        vec![(b.as_str(), PAY_STACK_2), (a.as_str(), PAY_STACK_1)]
    );
    let (status, body) = get(&s, "/api/v1/errors/groups/0123456789abcdef", &[]).await;
    assert_eq!(status, 404, "{body}");
    assert!(body["error"]["message"].is_string(), "{body}");
    let (status, body) = get(&s, "/api/v1/errors/groups/not-a-fingerprint", &[]).await;
    assert_eq!(status, 400, "{body}");
    // Outside its time range the group has no occurrence.
    let (status, _) = s
        .get_params(
            &format!("/api/v1/errors/groups/{pay_fingerprint}"),
            &[
                ("start", &(T + 30 * SEC).to_string()),
                ("end", &(T + 60 * SEC).to_string()),
            ],
        )
        .await;
    assert_eq!(status, 404);

    // --- Sessions ---------------------------------------------------------------------
    let (status, body) = get(&s, "/api/v1/sessions", &[]).await;
    assert_eq!(status, 200, "{body}");
    let sessions = body["sessions"].as_array().expect("sessions");
    let ids: Vec<&str> = sessions
        .iter()
        .filter_map(|x| x["session_id"].as_str())
        .collect();
    assert_eq!(ids, vec!["sess-2", "sess-1"], "most recently active first");
    let one = &sessions[1];
    assert_eq!(one["start_ns"], T + 500 * MS);
    assert_eq!(one["end_ns"], T + SEC + 20 * MS);
    assert_eq!(one["duration_ns"], SEC + 20 * MS - 500 * MS);
    assert_eq!(one["trace_count"], 2);
    assert_eq!(one["span_count"], 2);
    assert_eq!(one["error_count"], 1);
    assert_eq!(one["services"], json!(["checkout"]));
    let (_, body) = get(&s, "/api/v1/sessions", &[("limit", "1")]).await;
    assert_eq!(body["sessions"].as_array().map(Vec::len), Some(1));

    let (status, body) = get(&s, "/api/v1/sessions/sess-1", &[]).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["session"]["session_id"], "sess-1");
    let traces: Vec<&str> = body["traces"]
        .as_array()
        .expect("traces")
        .iter()
        .filter_map(|t| t["trace_id"].as_str())
        .collect();
    assert_eq!(
        traces,
        vec![hex_id(TRACE_D, 16), hex_id(TRACE_A, 16)],
        "oldest first"
    );
    let errors = body["errors"].as_array().expect("errors");
    assert_eq!(errors.len(), 1, "{body}");
    assert_eq!(errors[0]["trace_id"], hex_id(TRACE_A, 16));
    let logs: Vec<&str> = body["logs"]
        .as_array()
        .expect("logs")
        .iter()
        .filter_map(|l| l["body"].as_str())
        .collect();
    assert_eq!(
        logs,
        vec![
            "charging card for order 17",
            "payment failed: card declined"
        ]
    );

    let (status, body) = get(&s, "/api/v1/sessions/sess-2", &[]).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["traces"].as_array().map(Vec::len), Some(1));
    assert_eq!(body["logs"][0]["body"], "charging card for order 18");
    let (status, body) = get(&s, "/api/v1/sessions/no-such-session", &[]).await;
    assert_eq!(status, 404, "{body}");

    // --- Metrics count log records by signal and transport -----------------------------
    let metrics = reqwest::get(format!("{}/metrics", s.api))
        .await
        .expect("metrics")
        .text()
        .await
        .expect("metrics text");
    for line in [
        "tracehouse_records_accepted_total{signal=\"logs\",transport=\"http\"} 28",
        "tracehouse_records_accepted_total{signal=\"logs\",transport=\"grpc\"} 2",
        "tracehouse_records_accepted_total{signal=\"traces\",transport=\"http\"} 4",
        "tracehouse_spans_accepted_total{transport=\"http\"} 4",
    ] {
        assert!(metrics.contains(line), "{line} in:\n{metrics}");
    }
}

#[tokio::test]
async fn unknown_routes_list_the_new_ones() {
    let s = TestServer::start(&[]);
    let (status, body) = s.get("/api/v1/nothing").await;
    assert_eq!(status, 404);
    let message = body["error"]["message"].as_str().unwrap_or_default();
    for route in [
        "/api/v1/logs/search",
        "/api/v1/logs/histogram",
        "/api/v1/errors/groups",
        "/api/v1/sessions",
    ] {
        assert!(message.contains(route), "{route} in {message:?}");
    }
}
