//! Bad input gets a precise status and never stops the server from taking the next good
//! request: truncated protobuf, invalid JSON, wrong content type, oversized and gzip-bomb
//! bodies, bad ids, unknown keys — for spans and log records alike; plus project scoping of
//! the query API.

use crate::common;

use std::io::Write;

use common::TestServer;
use opentelemetry_proto::tonic::collector::logs::v1::logs_service_client::LogsServiceClient;
use opentelemetry_proto::tonic::collector::logs::v1::{
    ExportLogsServiceRequest, ExportLogsServiceResponse,
};
use opentelemetry_proto::tonic::collector::trace::v1::trace_service_client::TraceServiceClient;
use opentelemetry_proto::tonic::collector::trace::v1::{
    ExportTraceServiceRequest, ExportTraceServiceResponse,
};
use opentelemetry_proto::tonic::common::v1::{AnyValue, KeyValue, any_value};
use opentelemetry_proto::tonic::logs::v1::{LogRecord, ResourceLogs, ScopeLogs};
use opentelemetry_proto::tonic::resource::v1::Resource;
use opentelemetry_proto::tonic::trace::v1::Span;
use prost::Message;

const NOW: u64 = 1_764_064_800_000_000_000;

fn request(
    trace: u8,
    spans: &[(u8, &[u8])],
    project_attr: Option<&str>,
) -> ExportTraceServiceRequest {
    let mut attributes = vec![common::string_attr("service.name", "checkout")];
    attributes.extend(project_attr.map(|key| common::string_attr("tracehouse.project", key)));
    let spans = spans
        .iter()
        .map(|(id, trace_id)| Span {
            trace_id: if trace_id.is_empty() {
                vec![trace; 16]
            } else {
                trace_id.to_vec()
            },
            span_id: vec![*id; 8],
            name: format!("span-{id}"),
            kind: 2,
            start_time_unix_nano: NOW,
            end_time_unix_nano: NOW + 1000,
            ..Default::default()
        })
        .collect();
    common::traces_export(attributes, spans)
}

fn trace_hex(b: u8) -> String {
    hex::encode([b; 16])
}

async fn assert_good_request_works(s: &TestServer, trace: u8) {
    let resp = s
        .post_traces(
            "application/x-protobuf",
            &[],
            request(trace, &[(1, &[])], None).encode_to_vec(),
        )
        .await;
    assert_eq!(resp.status(), 200);
    assert_eq!(s.trace(&trace_hex(trace)).await.len(), 1);
}

async fn status_and_message(resp: reqwest::Response) -> (u16, String) {
    let status = resp.status().as_u16();
    let bytes = resp.bytes().await.unwrap_or_default();
    (status, String::from_utf8_lossy(&bytes).to_string())
}

#[tokio::test]
async fn malformed_bodies_get_400_415_413_and_the_server_keeps_serving() {
    let s = TestServer::start(&["--max-request-bytes", "65536"]);
    let good = request(1, &[(1, &[])], None).encode_to_vec();

    let truncated = good[..good.len() - 5].to_vec();
    let (status, body) = status_and_message(
        s.post_traces("application/x-protobuf", &[], truncated)
            .await,
    )
    .await;
    assert_eq!(status, 400, "{body}");
    assert!(body.contains("invalid protobuf"), "{body}");

    let (status, body) = status_and_message(
        s.post_traces("application/json", &[], b"{\"resourceSpans\": [".to_vec())
            .await,
    )
    .await;
    assert_eq!(status, 400);
    let json: serde_json::Value =
        serde_json::from_str(&body).expect("JSON error body for a JSON request");
    assert_eq!(
        json["code"], 3,
        "google.rpc.Status INVALID_ARGUMENT: {body}"
    );
    assert!(
        json["message"]
            .as_str()
            .unwrap_or("")
            .contains("invalid JSON"),
        "{body}"
    );

    let (status, body) =
        status_and_message(s.post_traces("text/plain", &[], good.clone()).await).await;
    assert_eq!(status, 415);
    assert!(body.contains("application/x-protobuf"), "{body}");

    let (status, _) = status_and_message(
        s.post_traces("application/x-protobuf", &[], vec![0u8; 70_000])
            .await,
    )
    .await;
    assert_eq!(status, 413);

    // A gzip bomb: small on the wire, far over the limit once inflated.
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    gz.write_all(&vec![0u8; 10_000_000]).unwrap();
    let bomb = gz.finish().unwrap();
    assert!(bomb.len() < 65536);
    let (status, body) = status_and_message(
        s.post_traces(
            "application/x-protobuf",
            &[("content-encoding", "gzip")],
            bomb,
        )
        .await,
    )
    .await;
    assert_eq!(status, 413, "{body}");

    let (status, body) = status_and_message(
        s.post_traces(
            "application/x-protobuf",
            &[("content-encoding", "gzip")],
            b"not gzip".to_vec(),
        )
        .await,
    )
    .await;
    assert_eq!(status, 400, "{body}");

    let (status, _) = status_and_message(
        s.post_traces(
            "application/x-protobuf",
            &[("content-encoding", "br")],
            good.clone(),
        )
        .await,
    )
    .await;
    assert_eq!(status, 415);

    // Gzip is accepted when valid.
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    gz.write_all(&request(7, &[(1, &[])], None).encode_to_vec())
        .unwrap();
    let resp = s
        .post_traces(
            "application/x-protobuf",
            &[("content-encoding", "gzip")],
            gz.finish().unwrap(),
        )
        .await;
    assert_eq!(resp.status(), 200);
    assert_eq!(s.trace(&trace_hex(7)).await.len(), 1);

    assert_good_request_works(&s, 2).await;
}

#[tokio::test]
async fn invalid_ids_are_rejected_per_span_via_partial_success() {
    let s = TestServer::start(&[]);
    let req = request(
        3,
        &[(1, &[]), (2, &[0u8; 16]), (3, &[1, 2, 3]), (0, &[])],
        None,
    );
    let resp = s
        .post_traces("application/x-protobuf", &[], req.encode_to_vec())
        .await;
    assert_eq!(resp.status(), 200);
    let body = ExportTraceServiceResponse::decode(resp.bytes().await.unwrap()).unwrap();
    let partial = body.partial_success.expect("partial_success");
    assert_eq!(partial.rejected_spans, 3);
    assert!(
        partial.error_message.contains("all zeros"),
        "{}",
        partial.error_message
    );
    assert!(
        partial.error_message.contains("16 bytes"),
        "{}",
        partial.error_message
    );
    let spans = s.trace(&trace_hex(3)).await;
    assert_eq!(spans.len(), 1);
    assert_eq!(spans[0]["span_id"], hex::encode([1u8; 8]));

    // The same over gRPC.
    let mut client = TraceServiceClient::connect(s.grpc.clone()).await.unwrap();
    let resp = client
        .export(request(4, &[(1, &[]), (2, &[0u8; 16])], None))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(resp.partial_success.map(|p| p.rejected_spans), Some(1));

    let metrics = reqwest::get(format!("{}/metrics", s.api))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        metrics.contains("tracehouse_spans_rejected_total{reason=\"invalid\"} 4"),
        "{metrics}"
    );
    assert!(
        metrics.contains("tracehouse_spans_accepted_total{transport=\"grpc\"} 1"),
        "{metrics}"
    );
}

#[tokio::test]
async fn project_keys_route_data_and_unknown_keys_get_401() {
    let s = TestServer::start(&[
        "--project",
        "shop=shop-key",
        "--project",
        "blog=blog-key,blog-key-2",
    ]);
    let body = request(5, &[(1, &[])], None).encode_to_vec();

    let (status, msg) = status_and_message(
        s.post_traces("application/x-protobuf", &[], body.clone())
            .await,
    )
    .await;
    assert_eq!(status, 401, "no key: {msg}");
    let (status, _) = status_and_message(
        s.post_traces(
            "application/x-protobuf",
            &[("x-tracehouse-key", "wrong")],
            body.clone(),
        )
        .await,
    )
    .await;
    assert_eq!(status, 401);

    let resp = s
        .post_traces(
            "application/x-protobuf",
            &[("x-tracehouse-key", "shop-key")],
            body.clone(),
        )
        .await;
    assert_eq!(resp.status(), 200);
    let resp = s
        .post_traces(
            "application/x-protobuf",
            &[("authorization", "Bearer blog-key-2")],
            request(6, &[(1, &[])], None).encode_to_vec(),
        )
        .await;
    assert_eq!(resp.status(), 200);
    // A key in the resource attributes wins over the header.
    let resp = s
        .post_traces(
            "application/x-protobuf",
            &[("x-tracehouse-key", "shop-key")],
            request(8, &[(1, &[])], Some("blog-key")).encode_to_vec(),
        )
        .await;
    assert_eq!(resp.status(), 200);

    let t5 = format!("/api/v1/traces/{}", trace_hex(5));
    let t6 = format!("/api/v1/traces/{}", trace_hex(6));
    let t8 = format!("/api/v1/traces/{}", trace_hex(8));
    assert_eq!(s.get_with_key(&t5, Some("shop-key")).await.0, 200);
    assert_eq!(
        s.get_with_key(&t5, Some("blog-key")).await.0,
        404,
        "other project's trace is invisible"
    );
    assert_eq!(s.get_with_key(&t6, Some("blog-key")).await.0, 200);
    assert_eq!(s.get_with_key(&t8, Some("blog-key")).await.0, 200);
    let (status, body) = s.get_with_key(&t5, None).await;
    assert_eq!(status, 401);
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap_or("")
            .contains("x-tracehouse-key"),
        "{body}"
    );

    // gRPC: UNAUTHENTICATED without a known key.
    let mut client = TraceServiceClient::connect(s.grpc.clone()).await.unwrap();
    let err = client
        .export(request(9, &[(1, &[])], None))
        .await
        .unwrap_err();
    assert_eq!(err.code(), tonic::Code::Unauthenticated);
    let mut req = tonic::Request::new(request(9, &[(1, &[])], None));
    req.metadata_mut()
        .insert("x-tracehouse-key", "shop-key".parse().unwrap());
    client.export(req).await.unwrap();
    assert_eq!(
        s.get_with_key(
            &format!("/api/v1/traces/{}", trace_hex(9)),
            Some("shop-key")
        )
        .await
        .0,
        200
    );
}

#[tokio::test]
async fn query_api_validates_its_arguments() {
    let s = TestServer::start(&[]);
    let (status, body) = s.get("/api/v1/traces/xyz").await;
    assert_eq!(status, 400);
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap_or("")
            .contains("32 hex"),
        "{body}"
    );
    let (status, body) = s.get(&format!("/api/v1/traces/{}", trace_hex(0xab))).await;
    assert_eq!(status, 404);
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap_or("")
            .contains("not found"),
        "{body}"
    );
    assert_eq!(s.get("/api/v1/spans?limit=0").await.0, 400);
    assert_eq!(s.get("/api/v1/spans?limit=5000").await.0, 400);
    assert_eq!(s.get("/api/v1/spans?start=yesterday").await.0, 400);
    assert_eq!(s.get("/api/v1/spans?cursor=zz").await.0, 400);
    assert_eq!(s.get("/api/v1/spans?start=10&end=5").await.0, 400);
    // `q` is the query too: a query that does not parse is refused under either name.
    for path in [
        "/api/v1/spans/search?q=service:",
        "/api/v1/spans/histogram?q=service:",
        "/api/v1/traces/search?q=service:",
        "/api/v1/logs/search?q=service:",
    ] {
        let (status, body) = s.get(path).await;
        assert_eq!(status, 400, "{path}: {body}");
        assert!(body["error"]["expected"].is_array(), "{path}: {body}");
    }
    assert_eq!(
        s.get("/api/v1/spans/search?q=service:checkout").await.0,
        200
    );
    // The listing takes no query: one is refused with where to send it, not ignored.
    for path in ["/api/v1/spans?query=service:checkout", "/api/v1/spans?q=x"] {
        let (status, body) = s.get(path).await;
        assert_eq!(status, 400, "{path}: {body}");
        let message = body["error"]["message"].as_str().unwrap_or("");
        assert!(message.contains("/api/v1/spans/search"), "{path}: {body}");
    }
    assert_eq!(s.get("/healthz").await.0, 200);
    assert_eq!(s.get("/readyz").await.0, 200);
}

#[tokio::test]
async fn span_listing_pages_through_everything_newest_first() {
    let s = TestServer::start(&[]);
    let spans: Vec<(u8, &[u8])> = (1..=25u8).map(|i| (i, &[][..])).collect();
    let mut req = request(10, &spans, None);
    for (i, span) in req.resource_spans[0].scope_spans[0]
        .spans
        .iter_mut()
        .enumerate()
    {
        span.start_time_unix_nano = NOW + i as u64 * 1000;
        span.end_time_unix_nano = span.start_time_unix_nano + 10;
    }
    assert_eq!(
        s.post_traces("application/x-protobuf", &[], req.encode_to_vec())
            .await
            .status(),
        200
    );
    let mut path = format!(
        "/api/v1/spans?start=2025-11-25T00:00:00Z&end={}&limit=10&service=checkout",
        NOW + 1_000_000
    );
    let mut seen = Vec::new();
    loop {
        let (status, body) = s.get(&path).await;
        assert_eq!(status, 200, "{body}");
        for span in body["spans"].as_array().unwrap() {
            seen.push(span["start_time_unix_nano"].as_i64().unwrap());
        }
        match body["next_cursor"].as_str() {
            Some(c) => {
                path = format!(
                    "/api/v1/spans?start=2025-11-25T00:00:00Z&end={}&limit=10&cursor={c}",
                    NOW + 1_000_000
                );
            }
            None => break,
        }
    }
    assert_eq!(seen.len(), 25);
    assert!(
        seen.windows(2).all(|w| w[0] > w[1]),
        "newest first: {seen:?}"
    );
}

/// A logs export of one `worker` record per `(body, trace_id)`; an empty trace id leaves the
/// record outside any trace.
fn logs_request(records: &[(&str, &[u8])]) -> ExportLogsServiceRequest {
    ExportLogsServiceRequest {
        resource_logs: vec![ResourceLogs {
            resource: Some(Resource {
                attributes: vec![KeyValue {
                    key: "service.name".into(),
                    value: Some(AnyValue {
                        value: Some(any_value::Value::StringValue("worker".into())),
                    }),
                    ..Default::default()
                }],
                ..Default::default()
            }),
            scope_logs: vec![ScopeLogs {
                log_records: records
                    .iter()
                    .map(|(body, trace_id)| LogRecord {
                        time_unix_nano: NOW,
                        severity_number: 9,
                        body: Some(AnyValue {
                            value: Some(any_value::Value::StringValue((*body).into())),
                        }),
                        trace_id: trace_id.to_vec(),
                        ..Default::default()
                    })
                    .collect(),
                ..Default::default()
            }],
            ..Default::default()
        }],
    }
}

/// Bodies of the log records the key's project holds around [`NOW`].
async fn stored_log_bodies(s: &TestServer, key: &str) -> Vec<String> {
    let path = format!(
        "/api/v1/logs/search?start={}&end={}&sort=time_asc",
        NOW - 1_000_000_000,
        NOW + 1_000_000_000
    );
    let (status, body) = s.get_with_key(&path, Some(key)).await;
    assert_eq!(status, 200, "{body}");
    let mut bodies: Vec<String> = body["logs"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|l| l["body"].as_str().map(str::to_string))
        .collect();
    bodies.sort();
    bodies
}

#[tokio::test]
async fn bad_log_exports_are_refused_like_span_exports() {
    let s = TestServer::start(&["--max-request-bytes", "65536", "--project", "shop=shop-key"]);
    let key = [("x-tracehouse-key", "shop-key")];
    let good = logs_request(&[("first", &[])]).encode_to_vec();

    let truncated = good[..good.len() - 3].to_vec();
    let (status, body) =
        status_and_message(s.post_logs("application/x-protobuf", &key, truncated).await).await;
    assert_eq!(status, 400, "{body}");
    assert!(
        body.contains("invalid protobuf ExportLogsServiceRequest"),
        "{body}"
    );

    let (status, body) = status_and_message(
        s.post_logs("application/json", &key, b"{\"resourceLogs\": [".to_vec())
            .await,
    )
    .await;
    assert_eq!(status, 400, "{body}");
    let json: serde_json::Value =
        serde_json::from_str(&body).expect("JSON error body for a JSON request");
    assert_eq!(
        json["code"], 3,
        "google.rpc.Status INVALID_ARGUMENT: {body}"
    );
    assert!(
        json["message"]
            .as_str()
            .unwrap_or("")
            .contains("invalid JSON ExportLogsServiceRequest"),
        "{body}"
    );

    let (status, _) = status_and_message(s.post_logs("text/plain", &key, good.clone()).await).await;
    assert_eq!(status, 415);

    let (status, _) = status_and_message(
        s.post_logs("application/x-protobuf", &key, vec![0u8; 70_000])
            .await,
    )
    .await;
    assert_eq!(status, 413);
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    gz.write_all(&vec![0u8; 10_000_000]).unwrap();
    let (status, body) = status_and_message(
        s.post_logs(
            "application/x-protobuf",
            &[
                ("x-tracehouse-key", "shop-key"),
                ("content-encoding", "gzip"),
            ],
            gz.finish().unwrap(),
        )
        .await,
    )
    .await;
    assert_eq!(status, 413, "gzip bomb: {body}");

    // Unknown or missing keys: 401 over HTTP, UNAUTHENTICATED over gRPC.
    let (status, body) = status_and_message(
        s.post_logs("application/x-protobuf", &[], good.clone())
            .await,
    )
    .await;
    assert_eq!(status, 401, "{body}");
    assert!(body.contains("x-tracehouse-key"), "{body}");
    let (status, _) = status_and_message(
        s.post_logs(
            "application/x-protobuf",
            &[("x-tracehouse-key", "wrong")],
            good.clone(),
        )
        .await,
    )
    .await;
    assert_eq!(status, 401);
    let mut client = LogsServiceClient::connect(s.grpc.clone()).await.unwrap();
    let err = client
        .export(logs_request(&[("no key", &[])]))
        .await
        .unwrap_err();
    assert_eq!(err.code(), tonic::Code::Unauthenticated);

    // Bad trace ids reject their record only, via partial_success.
    let req = logs_request(&[
        ("first", &[]),
        ("short trace id", &[1, 2, 3]),
        ("zero trace id", &[0u8; 16]),
        ("in a trace", &[7u8; 16]),
    ]);
    let resp = s
        .post_logs("application/x-protobuf", &key, req.encode_to_vec())
        .await;
    assert_eq!(resp.status(), 200);
    let body = ExportLogsServiceResponse::decode(resp.bytes().await.unwrap()).unwrap();
    let partial = body.partial_success.expect("partial_success");
    assert_eq!(partial.rejected_log_records, 1, "{}", partial.error_message);
    assert!(
        partial.error_message.contains("16 bytes"),
        "{}",
        partial.error_message
    );
    let mut req = tonic::Request::new(logs_request(&[("by grpc", &[]), ("bad", &[9u8; 5])]));
    req.metadata_mut()
        .insert("x-tracehouse-key", "shop-key".parse().unwrap());
    let resp = client.export(req).await.unwrap().into_inner();
    assert_eq!(
        resp.partial_success.map(|p| p.rejected_log_records),
        Some(1)
    );

    // The server kept serving, and only the good records were stored.
    assert_eq!(
        stored_log_bodies(&s, "shop-key").await,
        vec!["by grpc", "first", "in a trace", "zero trace id"]
    );
    let metrics = reqwest::get(format!("{}/metrics", s.api))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    for line in [
        "tracehouse_records_rejected_total{signal=\"logs\",reason=\"invalid\"} 2",
        "tracehouse_records_rejected_total{signal=\"logs\",reason=\"unauthenticated\"} 3",
        "tracehouse_requests_rejected_total{signal=\"logs\",reason=\"malformed\"} 2",
        "tracehouse_requests_rejected_total{signal=\"logs\",reason=\"too_large\"} 2",
        "tracehouse_records_accepted_total{signal=\"logs\",transport=\"http\"} 3",
    ] {
        assert!(metrics.contains(line), "{line} in:\n{metrics}");
    }
    assert!(
        !metrics.contains("tracehouse_spans_rejected_total"),
        "log records are not counted as spans:\n{metrics}"
    );
}
