//! OTLP to the letter, through the real server: proto3 JSON's doubles written as strings
//! (attributes, and metric points, whose special values are refused point by point),
//! the attribute, name and status message limits set by flags, and spans and log records
//! with impossible times refused in `partial_success` with a reason.

use crate::common;

use common::TestServer;
use opentelemetry_proto::tonic::collector::trace::v1::trace_service_client::TraceServiceClient;
use opentelemetry_proto::tonic::trace::v1::Span;
use serde_json::{Value, json};

const TRACE: &str = "0af7651916cd43dd8448eb211c80319c";

/// A trace export with one span (start 1 s, end 2 s after 2023-11-14T22:00:00Z).
fn export(name: &str, attributes: Value, status_message: &str) -> Vec<u8> {
    json!({"resourceSpans": [{
        "resource": {"attributes": [{"key": "service.name", "value": {"stringValue": "svc"}}]},
        "scopeSpans": [{"spans": [{
            "traceId": TRACE,
            "spanId": "b7ad6b7169203331",
            "name": name,
            "kind": 2,
            "startTimeUnixNano": "1700000000000000000",
            "endTimeUnixNano": "1700000001000000000",
            "attributes": attributes,
            "status": {"code": 2, "message": status_message}
        }]}]
    }]})
    .to_string()
    .into_bytes()
}

async fn post(server: &TestServer, body: Vec<u8>) -> Value {
    let resp = server.post_traces("application/json", &[], body).await;
    let status = resp.status().as_u16();
    let text = resp.text().await.unwrap_or_default();
    assert_eq!(status, 200, "{text}");
    serde_json::from_str(&text).unwrap()
}

#[tokio::test]
async fn doubles_written_as_strings_are_doubles() {
    let server = TestServer::start(&[]);
    let attrs = json!([
        {"key": "ratio", "value": {"doubleValue": "1.5"}},
        {"key": "plain", "value": {"doubleValue": 2.5}},
        {"key": "nan", "value": {"doubleValue": "NaN"}},
        {"key": "inf", "value": {"doubleValue": "Infinity"}},
        {"key": "ninf", "value": {"doubleValue": "-Infinity"}}
    ]);
    post(&server, export("op", attrs, "")).await;
    let spans = server.trace(TRACE).await;
    assert_eq!(spans.len(), 1);
    let a = &spans[0]["attributes"];
    assert_eq!(a["ratio"], json!(1.5), "{a}");
    assert_eq!(a["plain"], json!(2.5), "{a}");
    for key in ["nan", "inf", "ninf"] {
        assert!(!a[key].is_null(), "{key} stored: {a}");
    }
    // A numeric comparison sees the double.
    let (status, body) = server
        .get_params(
            "/api/v1/spans/search",
            &[
                ("query", "ratio>1 ratio<2"),
                ("start", "1699999999000000000"),
                ("end", "1700000002000000000"),
            ],
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["spans"].as_array().map(Vec::len), Some(1), "{body}");
    // Text that is no double is a 400, as any undecodable body.
    let bad = export(
        "op",
        json!([{"key": "x", "value": {"doubleValue": "1.5x"}}]),
        "",
    );
    let resp = server.post_traces("application/json", &[], bad).await;
    assert_eq!(resp.status().as_u16(), 400);
}

/// A gauge of four points and a histogram whose sum is NaN, every double written as a string.
fn string_doubles_metrics(t0: u64) -> Vec<u8> {
    let point = |s: u64, value: &str| json!({"timeUnixNano": (t0 + s * 1_000_000_000).to_string(), "asDouble": value});
    json!({"resourceMetrics": [{
        "resource": {"attributes": [{"key": "service.name", "value": {"stringValue": "svc"}}]},
        "scopeMetrics": [{"metrics": [
            {"name": "temperature", "unit": "Cel", "gauge": {"dataPoints": [
                point(1, "1.5"), point(2, "NaN"), point(3, "Infinity"), point(4, "-2.5e0")
            ]}},
            {"name": "latency", "unit": "s", "histogram": {"aggregationTemporality": 2,
                "dataPoints": [{"timeUnixNano": (t0 + 5_000_000_000).to_string(),
                    "startTimeUnixNano": t0.to_string(), "count": "2", "sum": "NaN",
                    "bucketCounts": ["1", "1"], "explicitBounds": ["0.5"]}]}}
        ]}]
    }]})
    .to_string()
    .into_bytes()
}

/// The gauge's last value per second of the minute from `t0`, `[t, value]` as the API
/// answers them.
async fn gauge_points(server: &TestServer, t0: u64) -> Value {
    let (start, end) = (t0.to_string(), (t0 + 60_000_000_000).to_string());
    let params = [
        ("start", start.as_str()),
        ("end", end.as_str()),
        ("metric", "temperature"),
        ("step", "1s"),
        ("fn", "max"),
    ];
    let (status, answer) = server.get_params("/api/v1/metrics/query", &params).await;
    assert_eq!(status, 200, "{answer}");
    answer["series"][0]["points"].clone()
}

#[tokio::test]
async fn metric_point_doubles_written_as_strings_are_read_and_special_ones_refused() {
    let server = TestServer::start(&[]);
    // A whole minute in the past, so that the query window holds every point.
    let t0 = (now_ns() / 60_000_000_000 - 2) * 60_000_000_000;
    let resp = server
        .post_otlp(
            "/v1/metrics",
            "application/json",
            &[],
            string_doubles_metrics(t0),
        )
        .await;
    let status = resp.status().as_u16();
    let body: Value = serde_json::from_str(&resp.text().await.unwrap()).unwrap();
    assert_eq!(status, 200, "{body}");
    let partial = &body["partialSuccess"];
    assert_eq!(
        partial["rejectedDataPoints"].to_string().trim_matches('"'),
        "3",
        "{body}"
    );
    let message = partial["errorMessage"].as_str().unwrap_or_default();
    for refused in ["as_double is NaN", "as_double is inf", "sum is NaN"] {
        assert!(message.contains(refused), "{refused}: {message}");
    }
    let second = |s: u64| t0 + s * 1_000_000_000;
    assert_eq!(
        gauge_points(&server, t0).await,
        json!([[second(1), 1.5], [second(4), -2.5]]),
        "the finite points are stored, the special ones refused"
    );
}

#[tokio::test]
async fn limits_from_flags_truncate_and_count() {
    let server = TestServer::start(&[
        "--max-attributes",
        "2",
        "--max-attribute-value-bytes",
        "4",
        "--max-name-bytes",
        "6",
        "--max-status-message-bytes",
        "5",
    ]);
    let attrs = json!([
        {"key": "a", "value": {"stringValue": "0123456789"}},
        {"key": "b", "value": {"arrayValue": {"values": [{"stringValue": "abcdefgh"}]}}},
        {"key": "c", "value": {"intValue": "7"}}
    ]);
    let huge = "n".repeat(10_000);
    post(&server, export(&huge, attrs, &"m".repeat(10_000))).await;
    let spans = server.trace(TRACE).await;
    let s = &spans[0];
    assert_eq!(s["name"], "nnnnnn");
    assert_eq!(s["status_message"], "mmmmm");
    assert_eq!(s["attributes"], json!({"a": "0123", "b": ["abcd"]}));
    assert_eq!(s["dropped_attributes_count"], json!(1));
}

fn now_ns() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_nanos()).unwrap_or(0))
}

#[tokio::test]
async fn the_future_bound_is_a_setting() {
    let server = TestServer::start(&["--max-clock-ahead", "4h"]);
    let now = now_ns();
    let hour = 3_600_000_000_000u64;
    let span = |id: u8, start: u64| {
        json!({
            "traceId": TRACE, "spanId": hex::encode([id; 8]), "name": format!("s{id}"),
            "startTimeUnixNano": start.to_string(), "endTimeUnixNano": (start + 1).to_string()
        })
    };
    let body = json!({"resourceSpans": [{"scopeSpans": [{"spans": [
        span(1, now + 3 * hour),
        span(2, now + 5 * hour),
    ]}]}]});
    let answer = post(&server, body.to_string().into_bytes()).await;
    let partial = &answer["partialSuccess"];
    assert_eq!(partial["rejectedSpans"], json!(1), "{answer}");
    let why = partial["errorMessage"].as_str().unwrap_or_default();
    assert!(why.contains("--max-clock-ahead"), "{why}");
    let stored = server.trace(TRACE).await;
    assert_eq!(stored.len(), 1, "3 h ahead is within 4 h");
    assert_eq!(stored[0]["name"], "s1");
}

#[tokio::test]
async fn impossible_times_are_refused_with_a_reason() {
    let server = TestServer::start(&[]);
    let now = now_ns();
    let hour = 3_600_000_000_000u64;
    let span = |id: u8, start: u64, end: u64| {
        json!({
            "traceId": TRACE, "spanId": hex::encode([id; 8]), "name": format!("s{id}"),
            "startTimeUnixNano": start.to_string(), "endTimeUnixNano": end.to_string()
        })
    };
    let body = json!({"resourceSpans": [{"scopeSpans": [{"spans": [
        span(1, 0, now),
        span(2, now, now - 1_000),
        span(3, now + 3 * hour, now + 3 * hour),
        span(4, now, now + 1_000),
    ]}]}]});
    let answer = post(&server, body.to_string().into_bytes()).await;
    let partial = &answer["partialSuccess"];
    assert_eq!(partial["rejectedSpans"], json!(3), "{answer}");
    let why = partial["errorMessage"].as_str().unwrap_or_default();
    for reason in [
        "no start time",
        "ends before it starts",
        "ahead of the receiver's clock",
    ] {
        assert!(why.contains(reason), "{reason}: {why}");
    }
    let stored = server.trace(TRACE).await;
    assert_eq!(stored.len(), 1, "only the sound span is stored");
    assert_eq!(stored[0]["name"], "s4");

    // The same over gRPC.
    let mut client = TraceServiceClient::connect(server.grpc.clone())
        .await
        .unwrap();
    let odd = Span {
        trace_id: vec![7; 16],
        span_id: vec![7; 8],
        name: "timeless".into(),
        ..Default::default()
    };
    let resp = client
        .export(common::traces_export(Vec::new(), vec![odd]))
        .await
        .unwrap()
        .into_inner();
    let partial = resp.partial_success.expect("partial success");
    assert_eq!(partial.rejected_spans, 1);
    assert!(
        partial.error_message.contains("no start time"),
        "{}",
        partial.error_message
    );

    // Log records: far ahead, or no time at all.
    let record = |time: u64, observed: u64, body: &str| {
        json!({"timeUnixNano": time.to_string(), "observedTimeUnixNano": observed.to_string(),
               "body": {"stringValue": body}})
    };
    let logs = json!({"resourceLogs": [{"scopeLogs": [{"logRecords": [
        record(0, 0, "timeless"),
        record(now + 3 * hour, 0, "ahead"),
        record(0, now, "observed only"),
    ]}]}]});
    let resp = server
        .post_logs("application/json", &[], logs.to_string().into_bytes())
        .await;
    assert_eq!(resp.status().as_u16(), 200);
    let answer: Value = resp.json().await.unwrap();
    let partial = &answer["partialSuccess"];
    assert_eq!(partial["rejectedLogRecords"], json!(2), "{answer}");
    let why = partial["errorMessage"].as_str().unwrap_or_default();
    assert!(
        why.contains("no time") && why.contains("time_unix_nano"),
        "{why}"
    );
}
