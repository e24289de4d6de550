//! Redelivery over the wire: an exporter that resends a batch (over OTLP/gRPC and over
//! OTLP/HTTP, before and after the first copy was flushed into a part) finds each span
//! stored once by the trace view, the span search and the histogram; a span that only
//! shares its ids with another is kept.

use crate::common;

use std::time::Duration;

use common::{TestServer, now_ns, string_attr, traces_export};
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::collector::trace::v1::trace_service_client::TraceServiceClient;
use opentelemetry_proto::tonic::trace::v1::Span as OtlpSpan;
use opentelemetry_proto::tonic::trace::v1::span::SpanKind;

const TRACE: [u8; 16] = [7; 16];

/// Ten spans of one trace a minute ago; the last shares the first's span id as its client
/// half.
fn batch() -> ExportTraceServiceRequest {
    let start = now_ns() - 60_000_000_000;
    let mut spans: Vec<OtlpSpan> = (1..=9u8)
        .map(|i| OtlpSpan {
            trace_id: TRACE.to_vec(),
            span_id: vec![i; 8],
            parent_span_id: if i == 1 { vec![] } else { vec![1; 8] },
            name: format!("step {i}"),
            kind: SpanKind::Server as i32,
            start_time_unix_nano: start + u64::from(i) * 1_000_000,
            end_time_unix_nano: start + u64::from(i) * 1_000_000 + 500_000,
            ..Default::default()
        })
        .collect();
    let mut half = spans[0].clone();
    half.kind = SpanKind::Client as i32;
    spans.push(half);
    traces_export(vec![string_attr("service.name", "resend")], spans)
}

async fn send_grpc(server: &TestServer, req: &ExportTraceServiceRequest) {
    let mut client = TraceServiceClient::connect(server.grpc.clone())
        .await
        .unwrap();
    let resp = client.export(req.clone()).await.unwrap().into_inner();
    assert!(resp.partial_success.is_none(), "{resp:?}");
}

async fn send_http(server: &TestServer, req: &ExportTraceServiceRequest) {
    let body = prost::Message::encode_to_vec(req);
    let resp = server
        .post_traces("application/x-protobuf", &[], body)
        .await;
    assert_eq!(resp.status().as_u16(), 200);
}

/// Asserts that each of the batch's ten spans reads back once.
async fn assert_once(server: &TestServer, stage: &str) {
    let trace = server.trace(&hex::encode(TRACE)).await;
    assert_eq!(trace.len(), 10, "{stage}: trace view");
    let window = [
        ("start", (now_ns() - 3_600_000_000_000).to_string()),
        ("end", (now_ns() + 60_000_000_000).to_string()),
    ];
    let mut params: Vec<(&str, &str)> = window.iter().map(|(k, v)| (*k, v.as_str())).collect();
    params.extend([("query", "service_name:resend"), ("limit", "100")]);
    let (status, body) = server.get_params("/api/v1/spans/search", &params).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        body["spans"].as_array().unwrap().len(),
        10,
        "{stage}: search"
    );
    let (status, body) = server.get_params("/api/v1/spans/histogram", &params).await;
    assert_eq!(status, 200, "{body}");
    let counted: u64 = body["buckets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["count"].as_u64().unwrap())
        .sum();
    assert_eq!(counted, 10, "{stage}: histogram");
}

#[tokio::test]
async fn a_batch_resent_over_grpc_and_http_is_stored_once() {
    let server = TestServer::start(&["--flush-interval", "1s"]);
    let req = batch();
    send_grpc(&server, &req).await;
    send_grpc(&server, &req).await;
    send_http(&server, &req).await;
    assert_once(&server, "resent at once").await;
    let parts = server.data_dir.join("parts");
    let flushed = std::time::Instant::now();
    while !has_parts(&parts) {
        assert!(flushed.elapsed() < Duration::from_secs(20), "no flush");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    send_http(&server, &req).await;
    send_grpc(&server, &req).await;
    assert_once(&server, "resent after the flush").await;
}

/// Whether the table directory holds a Parquet part.
fn has_parts(dir: &std::path::Path) -> bool {
    walk(dir).any(|p| p.extension().is_some_and(|e| e == "parquet"))
}

fn walk(dir: &std::path::Path) -> Box<dyn Iterator<Item = std::path::PathBuf>> {
    let entries = std::fs::read_dir(dir).into_iter().flatten().flatten();
    Box::new(entries.flat_map(|e| {
        let path = e.path();
        if path.is_dir() {
            walk(&path)
        } else {
            Box::new(std::iter::once(path))
        }
    }))
}
