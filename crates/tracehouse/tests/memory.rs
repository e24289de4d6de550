//! The server keeps within `--memory-limit` whatever it is fed: several times the budget of
//! span data over OTLP/HTTP from concurrent clients, with searches and histograms running
//! meanwhile, leave its peak resident memory (`VmHWM`) under the limit plus a fixed
//! allowance for the process itself, and every acknowledged span is stored.

use crate::common;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use common::{TestServer, string_attr, traces_export};
use opentelemetry_proto::tonic::common::v1::KeyValue;
use opentelemetry_proto::tonic::trace::v1::Span as OtlpSpan;
use prost::Message;

/// The budget the server runs with, MiB.
const LIMIT_MIB: u64 = 256;
/// What the process needs beyond the budget: its code, the async runtime and its threads,
/// request bodies in flight and the allocator's slack.
const ALLOWANCE_MIB: u64 = 256;
/// Span data sent, as a multiple of the budget.
const VOLUME: u64 = 3;
/// Bytes of attribute payload per span.
const PAYLOAD: usize = 8_000;
/// Spans per request.
const PER_REQUEST: u64 = 100;
/// Concurrent clients.
const CLIENTS: u64 = 4;

fn span(trace: u64, i: u64, now_ns: u64) -> OtlpSpan {
    let mut trace_id = vec![0u8; 16];
    trace_id[8..].copy_from_slice(&(trace + 1).to_be_bytes());
    let mut span_id = vec![0u8; 8];
    span_id.copy_from_slice(&(trace * PER_REQUEST + i + 1).to_be_bytes());
    let start = now_ns - 60_000_000_000 + i * 1_000_000;
    let payload = format!("{trace}-{i}-{}", "x".repeat(PAYLOAD));
    OtlpSpan {
        trace_id,
        span_id,
        name: format!("op-{}", i % 7),
        start_time_unix_nano: start,
        end_time_unix_nano: start + 5_000_000,
        attributes: vec![
            string_attr("payload", &payload),
            string_attr("user.id", &format!("u{}", trace % 1000)),
        ],
        ..Default::default()
    }
}

fn request(trace: u64, now_ns: u64) -> Vec<u8> {
    let resource: Vec<KeyValue> = vec![string_attr("service.name", &format!("svc{}", trace % 5))];
    let spans = (0..PER_REQUEST).map(|i| span(trace, i, now_ns)).collect();
    traces_export(resource, spans).encode_to_vec()
}

/// `VmHWM` of a process, MiB.
fn peak_rss_mib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let line = status
        .lines()
        .find(|l| l.starts_with("VmHWM:"))
        .expect("VmHWM in /proc/PID/status");
    let kib: u64 = line
        .split_whitespace()
        .nth(1)
        .and_then(|v| v.parse().ok())
        .expect("VmHWM value");
    kib / 1024
}

/// Sends request `trace` until it is accepted (a full budget answers 503 with a retry hint).
async fn send(server: &TestServer, trace: u64, now_ns: u64, refused: &AtomicU64) {
    loop {
        let resp = server
            .post_traces("application/x-protobuf", &[], request(trace, now_ns))
            .await;
        match resp.status().as_u16() {
            200 => return,
            429 | 503 => {
                refused.fetch_add(1, Ordering::Relaxed);
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
            other => panic!("export answered {other}: {}", resp.text().await.unwrap()),
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sustained_ingest_and_queries_stay_within_the_memory_limit() {
    let limit = format!("{LIMIT_MIB}MiB");
    let server = Arc::new(TestServer::start(&[
        "--memory-limit",
        &limit,
        "--flush-interval",
        "2s",
    ]));
    let now_ns = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos() as u64;
    let requests = VOLUME * (LIMIT_MIB << 20) / (PER_REQUEST * PAYLOAD as u64);
    let done = Arc::new(AtomicBool::new(false));
    let refused = Arc::new(AtomicU64::new(0));

    let queries = {
        let (server, done) = (server.clone(), done.clone());
        tokio::spawn(async move {
            let mut runs = 0u32;
            while !done.load(Ordering::Relaxed) {
                for path in [
                    "/api/v1/spans/search?query=user.id%3Du7&limit=50",
                    "/api/v1/spans/search?query=name%3Aop-3&limit=50",
                    "/api/v1/traces/search?query=service%3Asvc2&limit=20",
                    "/api/v1/spans/histogram",
                ] {
                    let (status, body) = server.get(path).await;
                    assert_eq!(status, 200, "{path}: {body}");
                }
                runs += 1;
                tokio::time::sleep(Duration::from_millis(250)).await;
            }
            runs
        })
    };
    let clients: Vec<_> = (0..CLIENTS)
        .map(|c| {
            let (server, refused) = (server.clone(), refused.clone());
            tokio::spawn(async move {
                for trace in (c..requests).step_by(CLIENTS as usize) {
                    send(&server, trace, now_ns, &refused).await;
                }
            })
        })
        .collect();
    for c in clients {
        c.await.unwrap();
    }
    done.store(true, Ordering::Relaxed);
    let query_rounds = queries.await.unwrap();

    let peak = peak_rss_mib(server.pid());
    let sent = requests * PER_REQUEST;
    let (status, histogram) = server.get("/api/v1/spans/histogram").await;
    assert_eq!(status, 200);
    let stored: u64 = histogram["buckets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["count"].as_u64().unwrap())
        .sum();
    eprintln!(
        "sent {sent} spans ({} MiB of payload) in {requests} requests, {} refusals, \
         {query_rounds} query rounds; peak RSS {peak} MiB",
        (sent * PAYLOAD as u64) >> 20,
        refused.load(Ordering::Relaxed)
    );
    assert_eq!(stored, sent, "every acknowledged span is stored");
    assert!(query_rounds > 0);
    assert!(
        peak < LIMIT_MIB + ALLOWANCE_MIB,
        "peak RSS {peak} MiB with --memory-limit {LIMIT_MIB}MiB (allowance {ALLOWANCE_MIB} MiB); log:\n{}",
        server.log()
    );
}
