//! Zipkin v2 compatibility through the real server: spans sent by the OpenTelemetry Python
//! SDK's Zipkin exporters (JSON and protobuf, `tests/python/send_zipkin.py`, run from the
//! virtual environment `target/zipkin-venv` that `scripts/test` installs) read back through
//! the native API and the Zipkin query API; batches are taken span by span; bad requests
//! get Zipkin's plain-text errors; every route is scoped to the key's project.

use crate::common;

use std::io::Write;

use common::{TestServer, run_python};
use serde_json::{Value, json};

const SCRIPT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/python/send_zipkin.py");
const INSTALL_HINT: &str = "run ./scripts/test, which installs them (a virtual environment \
     target/zipkin-venv with opentelemetry-exporter-zipkin-json and -proto-http), then re-run \
     `cargo test -p tracehouse --test integration zipkin::`";

fn zipkin_python() -> String {
    std::env::var("TRACEHOUSE_ZIPKIN_PYTHON").unwrap_or_else(|_| {
        concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../target/zipkin-venv/bin/python"
        )
        .to_string()
    })
}

async fn get_text(server: &TestServer, path: &str, key: Option<&str>) -> (u16, String) {
    let mut req = reqwest::Client::new().get(format!("{}{path}", server.api));
    if let Some(k) = key {
        req = req.header("x-tracehouse-key", k);
    }
    let resp = req.send().await.expect("GET");
    (
        resp.status().as_u16(),
        resp.text().await.unwrap_or_default(),
    )
}

async fn get_json(server: &TestServer, path: &str) -> Value {
    let (status, body) = get_text(server, path, None).await;
    assert_eq!(status, 200, "GET {path}: {body}");
    serde_json::from_str(&body).unwrap()
}

async fn post_spans(
    server: &TestServer,
    content_type: &str,
    headers: &[(&str, &str)],
    body: Vec<u8>,
) -> (u16, String) {
    let resp = server
        .post_otlp("/api/v2/spans", content_type, headers, body)
        .await;
    (
        resp.status().as_u16(),
        resp.text().await.unwrap_or_default(),
    )
}

fn named<'a>(spans: &'a [Value], name: &str) -> &'a Value {
    spans
        .iter()
        .find(|s| s["name"] == name)
        .unwrap_or_else(|| panic!("no span {name:?} in {spans:?}"))
}

/// Sends the script's trace with `encoding` and checks it through both APIs; returns its id.
async fn send_and_check(server: &TestServer, encoding: &str) -> String {
    let run_id = format!("zipkin-{encoding}");
    let endpoint = format!("{}/api/v2/spans", server.http);
    let sent = run_python(
        &zipkin_python(),
        SCRIPT,
        INSTALL_HINT,
        &[&endpoint, encoding, &run_id],
    );
    let trace_id = sent["trace_id"].as_str().unwrap().to_string();

    let spans = server.trace(&trace_id).await;
    assert_eq!(spans.len(), 2, "{spans:?}");
    let root = named(&spans, "get /cart");
    let child = named(&spans, "select cart");
    assert_eq!(root["span_id"], sent["spans"]["get /cart"]);
    assert_eq!(child["parent_span_id"], root["span_id"]);
    assert_eq!(root["kind"], "server");
    assert_eq!(child["kind"], "client");
    assert_eq!(root["service_name"], "zipkin-py");
    assert_eq!(root["scope_name"], "tracehouse.zipkin-interop");
    assert_eq!(root["attributes"]["test.run_id"], run_id.as_str());
    assert_eq!(root["attributes"]["network.local.address"], "10.1.2.3");
    assert_eq!(root["attributes"]["network.local.port"], 8080);
    assert_eq!(root["events"][0]["name"], "cart.loaded");
    assert_eq!(root["events"][0]["attributes"]["items"], 3);
    assert_eq!(child["status_code"], "error");
    assert_eq!(child["status_message"], "deadlock");
    assert_eq!(child["has_error"], true);

    let z = get_json(server, &format!("/zipkin/api/v2/trace/{trace_id}")).await;
    let z = z.as_array().unwrap();
    assert_eq!(z.len(), 2);
    let zroot = named(z, "get /cart");
    let zchild = named(z, "select cart");
    assert_eq!(zroot["traceId"], trace_id.as_str());
    assert_eq!(zroot["kind"], "SERVER");
    assert!(zroot.get("parentId").is_none());
    assert_eq!(
        zroot["localEndpoint"],
        json!({"serviceName": "zipkin-py", "ipv4": "10.1.2.3", "port": 8080})
    );
    assert_eq!(
        zroot["annotations"][0]["value"],
        r#"{"cart.loaded":{"items":3}}"#
    );
    assert_eq!(zroot["tags"]["http.status_code"], "500");
    assert_eq!(zchild["parentId"], zroot["id"]);
    assert_eq!(zchild["remoteEndpoint"], json!({"serviceName": "postgres"}));
    assert_eq!(zchild["tags"]["error"], "deadlock");
    assert_eq!(zchild["tags"]["otel.status_code"], "ERROR");
    assert!(zchild["duration"].as_u64().unwrap() >= 1);
    trace_id
}

#[tokio::test(flavor = "multi_thread")]
async fn python_zipkin_exporters_round_trip_through_both_apis() {
    let server = TestServer::start(&[]);
    let from_json = send_and_check(&server, "json").await;
    let from_proto = send_and_check(&server, "protobuf").await;

    let services = get_json(&server, "/zipkin/api/v2/services").await;
    assert_eq!(services, json!(["zipkin-py"]));

    let found = get_json(
        &server,
        "/zipkin/api/v2/traces?serviceName=zipkin-py&spanName=select%20cart&annotationQuery=error&limit=10",
    )
    .await;
    let ids: Vec<&str> = found
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t[0]["traceId"].as_str().unwrap())
        .collect();
    assert_eq!(ids.len(), 2, "{found}");
    assert!(ids.contains(&from_json.as_str()) && ids.contains(&from_proto.as_str()));

    let tagged = get_json(
        &server,
        "/zipkin/api/v2/traces?annotationQuery=test.run_id%3Dzipkin-json",
    )
    .await;
    assert_eq!(tagged.as_array().unwrap().len(), 1, "{tagged}");
    assert_eq!(tagged[0][0]["traceId"], from_json.as_str());
    let none = get_json(
        &server,
        "/zipkin/api/v2/traces?serviceName=zipkin-py&minDuration=60000000",
    )
    .await;
    assert_eq!(none, json!([]));
    let remote = get_json(&server, "/zipkin/api/v2/traces?remoteServiceName=postgres").await;
    assert_eq!(remote.as_array().unwrap().len(), 2);

    let many = get_json(
        &server,
        &format!(
            "/zipkin/api/v2/traceMany?traceIds={from_json},{from_proto},00000000000000000000000000000abc"
        ),
    )
    .await;
    assert_eq!(
        many.as_array().unwrap().len(),
        2,
        "unknown ids are left out"
    );

    let names = get_json(&server, "/zipkin/api/v2/spans?serviceName=zipkin-py").await;
    assert_eq!(names, json!(["get /cart", "select cart"]));
    let remote = get_json(
        &server,
        "/zipkin/api/v2/remoteServices?serviceName=zipkin-py",
    )
    .await;
    assert_eq!(remote, json!(["postgres"]));
    let links = get_json(&server, "/zipkin/api/v2/dependencies").await;
    assert_eq!(
        links,
        json!([{"parent": "zipkin-py", "child": "postgres", "callCount": 2, "errorCount": 2}]),
        "the client span names its peer (peer.service), failed both times"
    );
    let keys = get_json(&server, "/zipkin/api/v2/autocompleteKeys").await;
    assert!(
        keys.as_array().unwrap().contains(&json!("test.run_id")),
        "{keys}"
    );
    let values = get_json(&server, "/zipkin/api/v2/autocompleteValues?key=test.run_id").await;
    let mut values: Vec<&str> = values
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    values.sort_unstable();
    assert_eq!(values, ["zipkin-json", "zipkin-protobuf"]);
}

fn now_us() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_micros() as u64
}

#[tokio::test(flavor = "multi_thread")]
async fn batches_are_taken_span_by_span_and_bad_requests_get_plain_errors() {
    let server = TestServer::start(&[]);
    let ts = now_us();
    let batch = json!([
        {"traceId": "5af7183fb1d4cf5f", "id": "6b221d5bc9e6496c", "name": "get /",
         "timestamp": ts, "duration": 1500, "kind": "SERVER",
         "localEndpoint": {"serviceName": "legacy"}, "tags": {"http.method": "GET"}},
        {"traceId": "5af7183fb1d4cf5f", "id": "not-hex", "timestamp": ts},
        {"traceId": "5af7183fb1d4cf5f", "id": "0000000000000003", "name": "late tags"},
        42
    ]);
    let (status, text) = post_spans(
        &server,
        "application/json",
        &[],
        batch.to_string().into_bytes(),
    )
    .await;
    assert_eq!(status, 202, "{text}");
    assert!(text.starts_with("stored 1 of 4 spans; refused 3"), "{text}");
    assert!(text.contains("span 1: id \"not-hex\""), "{text}");

    let z = get_json(&server, "/zipkin/api/v2/trace/5af7183fb1d4cf5f").await;
    assert_eq!(
        z[0]["traceId"], "5af7183fb1d4cf5f",
        "64-bit ids read back as 16 hex"
    );
    assert_eq!(z[0]["duration"], 1500);
    assert_eq!(z[0]["timestamp"], ts);
    let native = server.trace("00000000000000005af7183fb1d4cf5f").await;
    assert_eq!(native[0]["service_name"], "legacy");

    let all_bad = json!([{"traceId": "zz", "id": "1", "timestamp": ts}]).to_string();
    let (status, text) = post_spans(&server, "application/json", &[], all_bad.into_bytes()).await;
    assert_eq!(
        (status, text.starts_with("stored 0 of 1")),
        (400, true),
        "{text}"
    );
    let (status, text) = post_spans(
        &server,
        "application/json",
        &[],
        b"{\"not\":\"a list\"}".to_vec(),
    )
    .await;
    assert_eq!(status, 400);
    assert!(
        text.contains("expected a JSON array of Zipkin v2 spans"),
        "{text}"
    );
    let (status, _) = post_spans(
        &server,
        "application/x-protobuf",
        &[],
        vec![0xff, 0xff, 0xff],
    )
    .await;
    assert_eq!(status, 400);
    let (status, text) = post_spans(&server, "text/plain", &[], b"[]".to_vec()).await;
    assert_eq!(status, 415, "{text}");
    let (status, _) = post_spans(&server, "application/json", &[], b"[]".to_vec()).await;
    assert_eq!(status, 202);

    let gz = json!([{"traceId": "1", "id": "2", "name": "zipped", "timestamp": ts,
                     "localEndpoint": {"serviceName": "legacy"}}]);
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    enc.write_all(gz.to_string().as_bytes()).unwrap();
    let (status, text) = post_spans(
        &server,
        "application/json",
        &[("content-encoding", "gzip")],
        enc.finish().unwrap(),
    )
    .await;
    assert_eq!(status, 202, "{text}");
    assert_eq!(
        get_json(&server, "/zipkin/api/v2/trace/1").await[0]["name"],
        "zipped"
    );

    for (path, want) in [
        ("/zipkin/api/v2/trace/xyz", 400),
        ("/zipkin/api/v2/trace/0000000000000abc", 404),
        ("/zipkin/api/v2/traces?limit=0", 400),
        ("/zipkin/api/v2/traces?endTs=soon", 400),
        ("/zipkin/api/v2/traces?lookback=-5", 400),
        ("/zipkin/api/v2/traces?minDuration=fast", 400),
        ("/zipkin/api/v2/traceMany", 400),
        ("/zipkin/api/v2/autocompleteValues", 400),
        ("/zipkin/api/v2/spans", 400),
        ("/zipkin/api/v2/remoteServices?serviceName=", 400),
        ("/zipkin/api/v2/dependencies?lookback=0", 400),
    ] {
        let (status, text) = get_text(&server, path, None).await;
        assert_eq!(status, want, "{path}: {text}");
        assert!(
            !text.is_empty() && !text.starts_with('{'),
            "{path}: plain text, got {text}"
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn zipkin_routes_are_scoped_to_the_key_project() {
    let server = TestServer::start(&["--project", "a=key-a", "--project", "b=key-b"]);
    let span = json!([{"traceId": "abc", "id": "1", "name": "mine", "timestamp": now_us(),
                       "localEndpoint": {"serviceName": "svc-a"}}]);
    let (status, text) = post_spans(
        &server,
        "application/json",
        &[],
        span.to_string().into_bytes(),
    )
    .await;
    assert_eq!(status, 401, "no key: {text}");
    let (status, text) = post_spans(
        &server,
        "application/json",
        &[("x-tracehouse-key", "key-a")],
        span.to_string().into_bytes(),
    )
    .await;
    assert_eq!(status, 202, "{text}");
    assert_eq!(
        get_text(&server, "/zipkin/api/v2/trace/abc", Some("key-a"))
            .await
            .0,
        200
    );
    assert_eq!(
        get_text(&server, "/zipkin/api/v2/trace/abc", Some("key-b"))
            .await
            .0,
        404
    );
    assert_eq!(
        get_text(&server, "/zipkin/api/v2/trace/abc", None).await.0,
        401
    );
    let (_, services) = get_text(&server, "/zipkin/api/v2/services", Some("key-b")).await;
    assert_eq!(services, "[]");
}
