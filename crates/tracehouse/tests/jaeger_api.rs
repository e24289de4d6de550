//! Jaeger's query HTTP JSON API under `/jaeger`: the envelope, Jaeger's trace JSON (ids,
//! references, typed tags, logs, processes, µs times), the search parameters, failures in the
//! envelope with Jaeger's statuses, keys as basic-auth passwords, and project scoping.

use crate::common;

use std::time::{SystemTime, UNIX_EPOCH};

use common::{TestServer, string_attr, traces_export};
use opentelemetry_proto::tonic::trace::v1::span::{Event, Link};
use opentelemetry_proto::tonic::trace::v1::{Span as OtlpSpan, Status};
use prost::Message;
use serde_json::{Value, json};

const TRACE: &str = "00000000000000000102030405060708";
/// Jaeger writes a trace id whose high half is zero with 16 digits.
const TRACE_JAEGER: &str = "0102030405060708";
const LINKED: &str = "0000000000000000000000000000beef";
const ROOT: &str = "a100000000000001";
const CHILD: &str = "a200000000000002";
const BASIC_SHOP: (&str, &str) = ("authorization", "Basic Z3JhZmFuYTpzaG9wLWtleQ==");
const KEY_BLOG: (&str, &str) = ("x-tracehouse-key", "blog-key");

fn now_ns() -> u64 {
    u64::try_from(
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_nanos(),
    )
    .unwrap()
}

/// Frontend `GET /checkout` (200 ms, server) calling postgres `SELECT orders` (50 ms,
/// client, failed, one event, one link). Returns the root's start in ns.
async fn load(server: &TestServer) -> u64 {
    let start = (now_ns() / 1_000) * 1_000 - 60_000_000_000;
    let trace_id = hex::decode(TRACE).unwrap();
    let root = OtlpSpan {
        trace_id: trace_id.clone(),
        span_id: hex::decode(ROOT).unwrap(),
        name: "GET /checkout".into(),
        kind: 2,
        start_time_unix_nano: start,
        end_time_unix_nano: start + 200_000_000,
        attributes: vec![string_attr("http.method", "GET")],
        ..Default::default()
    };
    let child = OtlpSpan {
        trace_id,
        span_id: hex::decode(CHILD).unwrap(),
        parent_span_id: hex::decode(ROOT).unwrap(),
        name: "SELECT orders".into(),
        kind: 3,
        start_time_unix_nano: start + 10_000_000,
        end_time_unix_nano: start + 60_000_000,
        attributes: vec![string_attr("db.system", "postgresql")],
        events: vec![Event {
            time_unix_nano: start + 20_000_000,
            name: "retry".into(),
            attributes: vec![string_attr("attempt", "2")],
            ..Default::default()
        }],
        links: vec![Link {
            trace_id: hex::decode(LINKED).unwrap(),
            span_id: hex::decode("00000000000000ff").unwrap(),
            ..Default::default()
        }],
        status: Some(Status {
            code: 2,
            message: "timeout".into(),
        }),
        ..Default::default()
    };
    for (service, span) in [("frontend", root), ("postgres", child)] {
        let body = traces_export(
            vec![
                string_attr("service.name", service),
                string_attr("host.name", "h1"),
            ],
            vec![span],
        );
        let resp = server
            .post_traces(
                "application/x-protobuf",
                &[("x-tracehouse-key", "shop-key")],
                body.encode_to_vec(),
            )
            .await;
        assert_eq!(resp.status().as_u16(), 200);
    }
    start
}

async fn get(
    server: &TestServer,
    path: &str,
    params: &[(&str, &str)],
    key: (&str, &str),
) -> (u16, String, Value) {
    server.get_as(&format!("/jaeger{path}"), params, key).await
}

fn assert_envelope(body: &Value) {
    for key in ["data", "total", "limit", "offset", "errors"] {
        assert!(body.get(key).is_some(), "{key} missing: {body}");
    }
}

fn tag<'a>(tags: &'a Value, key: &str) -> &'a Value {
    tags.as_array()
        .unwrap()
        .iter()
        .find(|t| t["key"] == key)
        .unwrap_or_else(|| panic!("no tag {key}: {tags}"))
}

#[tokio::test]
async fn jaeger_api_answers_the_ui_and_grafana_to_the_letter() {
    let server = TestServer::start(&["--project", "shop=shop-key", "--project", "blog=blog-key"]);
    let start = load(&server).await;

    // Services and operations.
    let (status, content_type, body) = get(&server, "/api/services", &[], BASIC_SHOP).await;
    assert_eq!(status, 200);
    assert!(content_type.starts_with("application/json"));
    assert_eq!(
        body,
        json!({ "data": ["frontend", "postgres"], "total": 2, "limit": 0, "offset": 0, "errors": null })
    );
    let (_, _, body) = get(
        &server,
        "/api/services/postgres/operations",
        &[],
        BASIC_SHOP,
    )
    .await;
    assert_eq!(
        (body["data"].clone(), body["total"].clone()),
        (json!(["SELECT orders"]), json!(1))
    );
    let (_, _, body) = get(
        &server,
        "/api/operations",
        &[("service", "frontend"), ("spanKind", "server")],
        BASIC_SHOP,
    )
    .await;
    assert_eq!(
        body["data"],
        json!([{ "name": "GET /checkout", "spanKind": "server" }])
    );
    let (_, _, body) = get(
        &server,
        "/api/operations",
        &[("service", "frontend"), ("spanKind", "client")],
        BASIC_SHOP,
    )
    .await;
    assert_eq!(body["data"], json!([]));
    let (status, _, body) = get(&server, "/api/operations", &[], BASIC_SHOP).await;
    assert_eq!(status, 400);
    assert_envelope(&body);
    assert_eq!(body["errors"][0]["code"], 400);
    let (_, _, body) = get(&server, "/api/services", &[], KEY_BLOG).await;
    assert_eq!(
        body["data"],
        json!([]),
        "another project's services are invisible"
    );

    // Trace by id, by 32 or 16 digits.
    for id in [TRACE, TRACE_JAEGER] {
        let (status, _, body) = get(&server, &format!("/api/traces/{id}"), &[], BASIC_SHOP).await;
        assert_eq!(status, 200, "{body}");
        assert_envelope(&body);
        assert_eq!(body["data"].as_array().map(Vec::len), Some(1));
    }
    let (_, _, body) = get(&server, &format!("/api/traces/{TRACE}"), &[], BASIC_SHOP).await;
    let trace = &body["data"][0];
    assert_eq!(trace["traceID"], TRACE_JAEGER);
    let spans = trace["spans"].as_array().unwrap();
    assert_eq!(spans.len(), 2);
    let child = spans.iter().find(|s| s["spanID"] == CHILD).unwrap();
    assert_eq!(child["operationName"], "SELECT orders");
    assert_eq!(
        child["references"],
        json!([
            { "refType": "CHILD_OF", "traceID": TRACE_JAEGER, "spanID": ROOT },
            { "refType": "FOLLOWS_FROM", "traceID": "000000000000beef", "spanID": "00000000000000ff" },
        ])
    );
    assert_eq!(
        child["startTime"],
        json!((start + 10_000_000) / 1_000),
        "µs"
    );
    assert_eq!(child["duration"], json!(50_000), "µs");
    let tags = &child["tags"];
    assert_eq!(
        *tag(tags, "db.system"),
        json!({ "key": "db.system", "type": "string", "value": "postgresql" })
    );
    assert_eq!(
        *tag(tags, "span.kind"),
        json!({ "key": "span.kind", "type": "string", "value": "client" })
    );
    assert_eq!(
        *tag(tags, "error"),
        json!({ "key": "error", "type": "bool", "value": true })
    );
    assert_eq!(tag(tags, "otel.status_code")["value"], "ERROR");
    assert_eq!(tag(tags, "otel.status_description")["value"], "timeout");
    assert_eq!(
        child["logs"],
        json!([{
            "timestamp": (start + 20_000_000) / 1_000,
            "fields": [
                { "key": "event", "type": "string", "value": "retry" },
                { "key": "attempt", "type": "string", "value": "2" },
            ],
        }])
    );
    let process = &trace["processes"][child["processID"].as_str().unwrap()];
    assert_eq!(process["serviceName"], "postgres");
    assert_eq!(
        process["tags"],
        json!([{ "key": "host.name", "type": "string", "value": "h1" }])
    );
    assert_eq!(trace["processes"].as_object().map(|p| p.len()), Some(2));

    // Unknown, malformed, another project's.
    for (id, key, status) in [
        ("ffffffffffffffffffffffffffffffff", BASIC_SHOP, 404),
        ("not-hex", BASIC_SHOP, 400),
        (TRACE, KEY_BLOG, 404),
    ] {
        let (got, content_type, body) = get(&server, &format!("/api/traces/{id}"), &[], key).await;
        assert_eq!(got, status, "{id}: {body}");
        assert!(
            content_type.starts_with("text/plain"),
            "as Jaeger's http.Error sends it"
        );
        assert_envelope(&body);
        assert_eq!(body["data"], Value::Null);
        assert_eq!(body["errors"][0]["code"], status);
    }
    let (_, _, body) = get(&server, &format!("/api/traces/{TRACE}"), &[], BASIC_SHOP).await;
    assert_eq!(body["errors"], Value::Null);

    search(&server, start).await;
    api_v3(&server, start).await;
}

async fn search(server: &TestServer, start: u64) {
    let count = |body: &Value| body["data"].as_array().map(Vec::len);
    let from = ((start - 1_000_000_000) / 1_000).to_string();
    let to = ((start + 1_000_000_000) / 1_000).to_string();
    for (params, expected) in [
        (vec![("service", "postgres")], 1),
        (
            vec![("service", "frontend"), ("operation", "GET /checkout")],
            1,
        ),
        (
            vec![("service", "frontend"), ("operation", "SELECT orders")],
            0,
        ),
        (
            vec![("service", "postgres"), ("tag", "db.system:postgresql")],
            1,
        ),
        (
            vec![("service", "postgres"), ("tags", r#"{"error":"true"}"#)],
            1,
        ),
        (vec![("service", "postgres"), ("tag", "attempt:2")], 1),
        (vec![("service", "frontend"), ("tag", "error:true")], 0),
        (vec![("service", "postgres"), ("minDuration", "100ms")], 0),
        (vec![("service", "postgres"), ("maxDuration", "100ms")], 1),
        (
            vec![
                ("service", "postgres"),
                ("start", from.as_str()),
                ("end", to.as_str()),
            ],
            1,
        ),
        (
            vec![("service", "postgres"), ("start", "0"), ("end", "1000")],
            0,
        ),
    ] {
        let (status, _, body) = get(server, "/api/traces", &params, BASIC_SHOP).await;
        assert_eq!(status, 200, "{params:?}: {body}");
        assert_envelope(&body);
        assert_eq!(count(&body), Some(expected), "{params:?}: {body}");
    }
    let (_, _, body) = get(
        server,
        "/api/traces",
        &[("service", "postgres")],
        BASIC_SHOP,
    )
    .await;
    assert_eq!(
        body["data"][0]["spans"].as_array().map(Vec::len),
        Some(2),
        "whole traces"
    );
    let (_, _, body) = get(server, "/api/traces", &[("service", "postgres")], KEY_BLOG).await;
    assert_eq!(count(&body), Some(0));

    // Multi-get by id: the missing ones are listed in `errors`.
    let missing = "00000000000000000000000000000bad";
    let (status, _, body) = get(
        server,
        "/api/traces",
        &[("traceID", TRACE), ("traceID", missing)],
        BASIC_SHOP,
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(count(&body), Some(1));
    assert_eq!(
        body["errors"],
        json!([{ "msg": "trace not found", "traceID": "0000000000000bad" }])
    );

    for params in [
        vec![],
        vec![("service", "a"), ("limit", "0")],
        vec![("service", "a"), ("tag", "novalue")],
        vec![("service", "a"), ("tags", "{")],
        vec![("service", "a"), ("start", "soon")],
        vec![
            ("service", "a"),
            ("minDuration", "2s"),
            ("maxDuration", "1s"),
        ],
        vec![("traceID", "xyz")],
    ] {
        let (status, _, body) = get(server, "/api/traces", &params, BASIC_SHOP).await;
        assert_eq!(status, 400, "{params:?}: {body}");
        assert_eq!(body["errors"][0]["code"], 400, "{params:?}");
        assert!(
            body["errors"][0]["msg"]
                .as_str()
                .is_some_and(|m| !m.is_empty())
        );
    }
}

/// RFC 3339 with nanoseconds, as api_v3 takes times.
fn rfc3339(ns: u64) -> String {
    let t = UNIX_EPOCH + std::time::Duration::from_nanos(ns);
    humantime::format_rfc3339_nanos(t).to_string()
}

async fn api_v3(server: &TestServer, start: u64) {
    let (status, _, body) = get(server, "/api/v3/services", &[], BASIC_SHOP).await;
    assert_eq!(status, 200);
    assert_eq!(body, json!({ "services": ["frontend", "postgres"] }));
    let (_, _, body) = get(
        server,
        "/api/v3/operations",
        &[("service", "postgres")],
        BASIC_SHOP,
    )
    .await;
    assert_eq!(
        body,
        json!({ "operations": [{ "name": "SELECT orders", "spanKind": "client" }] })
    );

    let (status, _, body) = get(server, &format!("/api/v3/traces/{TRACE}"), &[], BASIC_SHOP).await;
    assert_eq!(status, 200, "{body}");
    let spans = common::otlp_json_spans(&body["result"]);
    assert_eq!(spans.len(), 2);
    assert!(
        spans.iter().all(|s| s["traceId"] == TRACE),
        "OTLP/JSON hex ids"
    );

    let (min, max) = (
        rfc3339(start - 1_000_000_000),
        rfc3339(start + 1_000_000_000),
    );
    for (service, operation, min_key, max_key) in [
        (
            "query.service_name",
            "query.operation_name",
            "query.start_time_min",
            "query.start_time_max",
        ),
        (
            "query.serviceName",
            "query.operationName",
            "query.startTimeMin",
            "query.startTimeMax",
        ),
    ] {
        let params = [
            (service, "frontend"),
            (operation, "GET /checkout"),
            (min_key, min.as_str()),
            (max_key, max.as_str()),
        ];
        let (status, _, body) = get(server, "/api/v3/traces", &params, BASIC_SHOP).await;
        assert_eq!(status, 200, "{params:?}: {body}");
        assert_eq!(
            body["result"]["resourceSpans"].as_array().map(Vec::len),
            Some(2),
            "whole traces"
        );
    }
    let params = [
        ("query.service_name", "postgres"),
        ("query.attributes", r#"{"db.system":"mysql"}"#),
        ("query.start_time_min", min.as_str()),
        ("query.start_time_max", max.as_str()),
    ];
    let (status, content_type, body) = get(server, "/api/v3/traces", &params, BASIC_SHOP).await;
    assert_eq!(status, 404);
    assert!(content_type.starts_with("text/plain"));
    assert_eq!(
        body,
        json!({ "error": { "httpCode": 404, "message": "No traces found" } })
    );
    for params in [
        vec![("query.service_name", "postgres")],
        vec![
            ("query.service_name", "postgres"),
            ("query.start_time_min", "yesterday"),
            ("query.start_time_max", max.as_str()),
        ],
        vec![
            ("query.service_name", "postgres"),
            ("query.start_time_min", min.as_str()),
            ("query.start_time_max", max.as_str()),
            ("query.duration_min", "x"),
        ],
    ] {
        let (status, _, body) = get(server, "/api/v3/traces", &params, BASIC_SHOP).await;
        assert_eq!(status, 400, "{params:?}: {body}");
        assert_eq!(body["error"]["httpCode"], 400);
    }
    summaries(server, &min, &max, start).await;
    let (status, _, body) = get(server, "/api/v3/traces/zz", &[], BASIC_SHOP).await;
    assert_eq!(
        (status, body["error"]["httpCode"].clone()),
        (400, json!(400))
    );
    let (status, _, _) = get(server, &format!("/api/v3/traces/{TRACE}"), &[], KEY_BLOG).await;
    assert_eq!(status, 404);
}

/// `/api/v3/trace-summaries`: api_v3's `TraceSummary` JSON (zeros left out, times as strings).
async fn summaries(server: &TestServer, min: &str, max: &str, start: u64) {
    let search = |service| {
        [
            ("query.serviceName", service),
            ("query.startTimeMin", min),
            ("query.startTimeMax", max),
        ]
    };
    let (status, content_type, body) = get(
        server,
        "/api/v3/trace-summaries",
        &search("postgres"),
        BASIC_SHOP,
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert!(content_type.starts_with("application/json"));
    assert_eq!(
        body,
        json!({ "summaries": [{
            "traceId": TRACE,
            "rootServiceName": "frontend",
            "rootOperationName": "GET /checkout",
            "minStartTimeUnixNano": start.to_string(),
            "maxEndTimeUnixNano": (start + 200_000_000).to_string(),
            "spanCount": 2,
            "errorSpanCount": 1,
            "services": [
                { "name": "frontend", "spanCount": 1 },
                { "name": "postgres", "spanCount": 1, "errorSpanCount": 1 },
            ],
        }] })
    );
    let (status, _, body) = get(
        server,
        "/api/v3/trace-summaries",
        &search("nobody"),
        BASIC_SHOP,
    )
    .await;
    assert_eq!((status, body), (200, json!({})), "none: an empty message");
    let (_, _, body) = get(
        server,
        "/api/v3/trace-summaries",
        &search("postgres"),
        KEY_BLOG,
    )
    .await;
    assert_eq!(body, json!({}));
    let (status, _, body) = get(
        server,
        "/api/v3/trace-summaries",
        &[("query.serviceName", "postgres")],
        BASIC_SHOP,
    )
    .await;
    assert_eq!(
        (status, body["error"]["httpCode"].clone()),
        (400, json!(400))
    );
}
