//! Span metrics, services and operations over HTTP against the real server: what the
//! sketches answer, what a scan answers, and the 400s that say what to change.

use crate::common;

use common::{TestServer, string_attr, traces_export};
use opentelemetry_proto::tonic::trace::v1::{Span as OtlpSpan, Status, status};
use prost::Message;
use serde_json::Value;

/// 2026-01-01T00:00:00Z.
const T: u64 = 1_767_225_600_000_000_000;
const MINUTE: u64 = 60_000_000_000;

/// Ten spans per service and minute over 30 minutes: `frontend` (every fifth an error,
/// `http.method` GET or POST) with durations i ms, `cart` 10 × i ms.
fn request(service: &str, scale: u64) -> Vec<u8> {
    let spans = (0..300_u64)
        .map(|i| {
            let start = T + (i / 10) * MINUTE + i * 1_000_000;
            let error = service == "frontend" && i % 5 == 0;
            OtlpSpan {
                trace_id: [[1; 8], (i + 1).to_be_bytes()].concat(),
                span_id: (scale * 1000 + i + 1).to_be_bytes().to_vec(),
                name: if i % 2 == 0 { "GET /" } else { "POST /buy" }.into(),
                kind: 2,
                start_time_unix_nano: start,
                end_time_unix_nano: start + scale * (i + 1) * 1_000_000,
                attributes: vec![string_attr(
                    "http.method",
                    if i % 2 == 0 { "GET" } else { "POST" },
                )],
                status: error.then(|| Status {
                    code: status::StatusCode::Error as i32,
                    ..Default::default()
                }),
                ..Default::default()
            }
        })
        .collect();
    traces_export(vec![string_attr("service.name", service)], spans).encode_to_vec()
}

async fn get(server: &TestServer, path: &str, params: &[(&str, &str)]) -> (u16, Value) {
    let (start, end) = (T.to_string(), (T + 30 * MINUTE).to_string());
    let mut all = vec![("start", start.as_str()), ("end", end.as_str())];
    all.extend_from_slice(params);
    server.get_params(path, &all).await
}

#[tokio::test]
async fn metrics_services_and_operations() {
    let server = TestServer::start(&["--retention", "forever"]);
    for (service, scale) in [("frontend", 1), ("cart", 10)] {
        let resp = server
            .post_traces("application/x-protobuf", &[], request(service, scale))
            .await;
        assert_eq!(resp.status().as_u16(), 200);
    }

    // From the sketches: p99 per service, one point per 10 minutes.
    let (status, body) = get(
        &server,
        "/api/v1/metrics/spans",
        &[("fn", "p99(duration)"), ("by", "service"), ("step", "10m")],
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["source"], "sketches");
    let series = body["series"].as_array().unwrap();
    assert_eq!(series.len(), 2);
    let cart = series
        .iter()
        .find(|s| s["labels"]["service_name"] == "cart")
        .unwrap();
    assert_eq!(cart["count"], 300);
    assert_eq!(cart["points"].as_array().unwrap().len(), 3);
    // The 99th percentile of 10 ms … 3000 ms at rank 296: 2970 ms, within 1 %.
    let p99 = cart["total"].as_f64().unwrap();
    assert!((p99 - 2.97e9).abs() <= 2.97e7, "{p99}");

    // Error rate of the frontend, and a rate.
    let (_, body) = get(
        &server,
        "/api/v1/metrics/spans",
        &[("fn", "error_rate"), ("query", "service:frontend")],
    )
    .await;
    assert_eq!(body["series"][0]["total"], 0.2, "{body}");
    let (_, body) = get(&server, "/api/v1/metrics/spans", &[("fn", "rate")]).await;
    assert_eq!(body["series"][0]["total"], 600.0 / 1800.0, "{body}");

    // By an attribute: a scan, same numbers.
    let (status, body) = get(
        &server,
        "/api/v1/metrics/spans",
        &[
            ("fn", "count"),
            ("by", "http.method"),
            ("query", "service:cart"),
        ],
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["source"], "scan");
    let counts: Vec<(String, u64)> = body["series"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            (
                s["labels"]["http.method"].as_str().unwrap().to_string(),
                s["count"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(counts, [("GET".into(), 150), ("POST".into(), 150)]);

    // Bad requests say what to change.
    for (params, says) in [
        (vec![("fn", "median(duration)")], "unknown fn"),
        (vec![("by", "no.such.key")], "unknown key"),
        (vec![("fn", "avg(nope)")], "unknown key"),
        (
            vec![("query", "{service:cart} >> {service:frontend}")],
            "structural",
        ),
        (vec![("step", "30s")], "whole number of minutes"),
        (vec![("step", "soon")], "not a duration"),
        (vec![("by", "a,b,c,d,e")], "at most 4"),
    ] {
        let (status, body) = get(&server, "/api/v1/metrics/spans", &params).await;
        assert_eq!(status, 400, "{params:?}: {body}");
        let message = body["error"]["message"].as_str().unwrap();
        assert!(message.contains(says), "{params:?}: {message}");
    }
    let (status, body) = server
        .get_params(
            "/api/v1/metrics/spans",
            &[
                ("start", &T.to_string()),
                ("end", &(T + 2000 * MINUTE).to_string()),
                ("step", "1m"),
            ],
        )
        .await;
    assert_eq!(status, 400, "{body}");
    assert!(body["error"]["message"].as_str().unwrap().contains("1440"));
    let (status, _) = server
        .get_params(
            "/api/v1/metrics/spans",
            &[
                ("start", &(T + MINUTE).to_string()),
                ("end", &T.to_string()),
            ],
        )
        .await;
    assert_eq!(status, 400);

    // The service table, sorted by p99.
    let (status, body) = get(&server, "/api/v1/services", &[("sort", "p99")]).await;
    assert_eq!(status, 200, "{body}");
    let services = body["services"].as_array().unwrap();
    let names: Vec<&str> = services
        .iter()
        .map(|s| s["service"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["cart", "frontend"]);
    let frontend = &services[1]["red"];
    assert_eq!(frontend["count"], 300);
    assert_eq!(frontend["error_rate"], 0.2);
    assert!(frontend["sparkline"].as_array().unwrap().len() >= 15);
    let (status, _) = get(&server, "/api/v1/services", &[("sort", "latency")]).await;
    assert_eq!(status, 400);

    // The operations of one service.
    let (status, body) = get(&server, "/api/v1/services/frontend/operations", &[]).await;
    assert_eq!(status, 200, "{body}");
    let ops: Vec<(&str, &str, u64)> = body["operations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| {
            (
                o["name"].as_str().unwrap(),
                o["kind"].as_str().unwrap(),
                o["red"]["count"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        ops,
        [("GET /", "server", 150), ("POST /buy", "server", 150)]
    );
    let (_, body) = get(&server, "/api/v1/services/nothing/operations", &[]).await;
    assert_eq!(body["operations"].as_array().map(Vec::len), Some(0));

    // The map: both services, no calls between them (the exact edges are the store suite's).
    let (status, body) = get(&server, "/api/v1/services/graph", &[]).await;
    assert_eq!(status, 200, "{body}");
    let nodes: Vec<&str> = body["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["id"].as_str().unwrap())
        .collect();
    assert_eq!(nodes, ["cart", "frontend"]);
    assert_eq!(body["edges"].as_array().map(Vec::len), Some(0));
    // Of an environment none of the spans is in: empty (the exact maps are the store suite's).
    let (status, body) = get(&server, "/api/v1/services/graph", &[("environment", "qa")]).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["nodes"].as_array().map(Vec::len), Some(0), "{body}");
    let (_, body) = get(&server, "/api/v1/services/graph", &[("environment", "")]).await;
    assert_eq!(
        body["nodes"].as_array().map(Vec::len),
        Some(2),
        "blank: every environment"
    );
    let (status, _) = server
        .get_params(
            "/api/v1/services/graph",
            &[
                ("start", &(T + MINUTE).to_string()),
                ("end", &T.to_string()),
            ],
        )
        .await;
    assert_eq!(status, 400);
}
