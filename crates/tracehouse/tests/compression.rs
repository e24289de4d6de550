//! API responses are compressed as the client asks (gzip or brotli by `Accept-Encoding`), and
//! sent as they are to a client that asks for neither.

use crate::common;

use std::io::Read;

use common::TestServer;
use serde_json::{Value, json};

const TRACE: &str = "4bf92f3577b34da6a3ce929d0e0e4736";

/// A trace of `n` spans as OTLP/JSON, now.
fn trace_json(n: usize) -> Vec<u8> {
    let now = chrono::Utc::now().timestamp_nanos_opt().expect("now");
    let spans: Vec<Value> = (0..n)
        .map(|i| {
            let start = now - 1_000_000_000 + i as i64 * 1_000;
            json!({
                "traceId": TRACE,
                "spanId": format!("{:016x}", i + 1),
                "parentSpanId": if i == 0 { String::new() } else { format!("{:016x}", 1) },
                "name": format!("SELECT orders {i}"),
                "kind": 3,
                "startTimeUnixNano": start.to_string(),
                "endTimeUnixNano": (start + 500_000).to_string(),
                "attributes": [{"key": "db.statement", "value": {"stringValue": "SELECT * FROM orders WHERE id = $1"}}],
            })
        })
        .collect();
    serde_json::to_vec(&json!({"resourceSpans": [{
        "resource": {"attributes": [{"key": "service.name", "value": {"stringValue": "shop"}}]},
        "scopeSpans": [{"spans": spans}],
    }]}))
    .expect("JSON")
}

async fn get(server: &TestServer, encoding: Option<&str>) -> (Option<String>, Vec<u8>) {
    let mut request = reqwest::Client::new().get(format!("{}/api/v1/traces/{TRACE}", server.api));
    if let Some(e) = encoding {
        request = request.header("accept-encoding", e);
    }
    let response = request.send().await.expect("GET");
    assert_eq!(response.status(), 200);
    let used = response
        .headers()
        .get("content-encoding")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let vary = response
        .headers()
        .get("vary")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_ascii_lowercase();
    assert!(vary.contains("accept-encoding"), "vary: {vary}");
    (used, response.bytes().await.expect("body").to_vec())
}

#[tokio::test]
async fn api_responses_are_compressed_as_negotiated() {
    let server = TestServer::start(&[]);
    let response = server
        .post_traces("application/json", &[], trace_json(500))
        .await;
    assert!(response.status().is_success());

    let (plain_encoding, plain) = get(&server, None).await;
    assert_eq!(plain_encoding, None);
    let body: Value = serde_json::from_slice(&plain).expect("plain JSON");
    assert_eq!(body["spans"].as_array().map(Vec::len), Some(500));

    let (encoding, gzipped) = get(&server, Some("gzip")).await;
    assert_eq!(encoding.as_deref(), Some("gzip"));
    let mut unzipped = Vec::new();
    flate2::read::GzDecoder::new(&gzipped[..])
        .read_to_end(&mut unzipped)
        .expect("gunzip");
    assert_eq!(unzipped, plain, "the same JSON once decompressed");
    assert!(
        gzipped.len() * 5 < plain.len(),
        "{} gzipped vs {} plain",
        gzipped.len(),
        plain.len()
    );

    let (encoding, brotli) = get(&server, Some("br;q=1.0, gzip;q=0.5")).await;
    assert_eq!(encoding.as_deref(), Some("br"));
    assert!(brotli.len() * 5 < plain.len());

    let (encoding, _) = get(&server, Some("identity")).await;
    assert_eq!(encoding, None);
}
