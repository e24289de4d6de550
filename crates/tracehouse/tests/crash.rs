//! Crash safety: SIGKILL the real server while clients stream acknowledged batches, restart
//! it on the same data directory, and check that every acknowledged span is there.

use crate::common;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::TestServer;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::resource::v1::Resource;
use opentelemetry_proto::tonic::trace::v1::{ResourceSpans, ScopeSpans, Span};
use prost::Message;

const SPANS_PER_BATCH: usize = 20;

fn batch(client: u8, seq: u32, start: u64) -> (String, Vec<u8>) {
    let mut trace_id = [0u8; 16];
    trace_id[0] = client + 1;
    trace_id[12..].copy_from_slice(&seq.to_be_bytes());
    let spans = (0..SPANS_PER_BATCH)
        .map(|i| Span {
            trace_id: trace_id.to_vec(),
            span_id: ((i as u64 + 1) << 8 | u64::from(client))
                .to_be_bytes()
                .to_vec(),
            name: format!("op-{i}"),
            start_time_unix_nano: start + i as u64,
            end_time_unix_nano: start + i as u64 + 500,
            ..Default::default()
        })
        .collect();
    let req = ExportTraceServiceRequest {
        resource_spans: vec![ResourceSpans {
            resource: Some(Resource::default()),
            scope_spans: vec![ScopeSpans {
                spans,
                ..Default::default()
            }],
            ..Default::default()
        }],
    };
    (hex::encode(trace_id), req.encode_to_vec())
}

/// Streams batches until the server dies; records the trace ids it acknowledged.
async fn stream(url: String, client: u8, first_seq: u32, acked: Arc<Mutex<Vec<String>>>) {
    let http = reqwest::Client::new();
    let start = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos() as u64;
    let mut seq = first_seq;
    loop {
        let (trace, body) = batch(client, seq, start);
        let resp = http
            .post(format!("{url}/v1/traces"))
            .header("content-type", "application/x-protobuf")
            .body(body)
            .send()
            .await;
        match resp {
            Ok(r) if r.status().is_success() => acked.lock().unwrap().push(trace),
            _ => return,
        }
        // Keep the data set small enough to read back quickly in a debug build.
        tokio::time::sleep(Duration::from_millis(5)).await;
        seq += 1;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_9_loses_no_acknowledged_span() {
    let dir = tempfile::tempdir().unwrap();
    let acked = Arc::new(Mutex::new(Vec::new()));
    // Several rounds, killing at different moments relative to the 1 s flush cycle.
    for (round, run_ms) in [700u64, 1300, 2100].into_iter().enumerate() {
        let mut server = TestServer::start_in(dir.path(), &["--flush-interval", "1s"]);
        let clients: Vec<_> = (0..4u8)
            .map(|c| {
                tokio::spawn(stream(
                    server.http.clone(),
                    c,
                    round as u32 * 1_000_000,
                    acked.clone(),
                ))
            })
            .collect();
        tokio::time::sleep(Duration::from_millis(run_ms)).await;
        server.kill9();
        for c in clients {
            let _ = c.await;
        }
    }
    let acked = acked.lock().unwrap().clone();
    assert!(
        acked.len() > 20,
        "clients should have had many batches acknowledged, got {}",
        acked.len()
    );

    eprintln!("acknowledged {} batches", acked.len());
    let t = std::time::Instant::now();
    let server = TestServer::start_in(dir.path(), &[]);
    eprintln!("restart took {:?}", t.elapsed());
    // Read everything back through the listing API (one query per 1000 spans).
    let mut per_trace: HashMap<String, usize> = HashMap::new();
    let mut path = "/api/v1/spans?limit=1000".to_string();
    loop {
        let (status, body) = server.get(&path).await;
        assert_eq!(status, 200, "{body}");
        for span in body["spans"].as_array().unwrap() {
            *per_trace
                .entry(span["trace_id"].as_str().unwrap().to_string())
                .or_default() += 1;
        }
        match body["next_cursor"].as_str() {
            Some(c) => path = format!("/api/v1/spans?limit=1000&cursor={c}"),
            None => break,
        }
    }
    eprintln!("listing took {:?}", t.elapsed());
    for trace in &acked {
        assert_eq!(
            per_trace.get(trace).copied().unwrap_or(0),
            SPANS_PER_BATCH,
            "trace {trace} lost spans"
        );
    }
    // Spot-check trace-by-id on a few traces from each round.
    for trace in acked.iter().step_by(acked.len() / 10 + 1) {
        assert_eq!(server.trace(trace).await.len(), SPANS_PER_BATCH);
    }
    let log = std::fs::read_to_string(dir.path().join("server.log")).unwrap();
    assert!(
        !log.contains("ERROR"),
        "the store reopened with errors:\n{log}"
    );
    let (status, metrics) = server.get("/readyz").await;
    assert_eq!(status, 200, "{metrics}");
}

/// Posts replay chunks of `session` (sequence 0, 1, …) until the server dies; records the
/// sequences it acknowledged.
async fn stream_replay(url: String, session: String, acked: Arc<Mutex<Vec<(String, u32)>>>) {
    let http = reqwest::Client::new();
    let now_ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64;
    for sequence in 0u32.. {
        let chunk = serde_json::json!({
            "session_id": session,
            "sequence": sequence,
            "events": [{"type": 3, "timestamp": now_ms + u64::from(sequence), "data": {"n": sequence}}],
        });
        let resp = http
            .post(format!("{url}/v1/replay"))
            .json(&chunk)
            .send()
            .await;
        match resp {
            Ok(r) if r.status().is_success() => {
                acked.lock().unwrap().push((session.clone(), sequence));
            }
            _ => return,
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_9_loses_no_acknowledged_replay_chunk() {
    let dir = tempfile::tempdir().unwrap();
    let acked = Arc::new(Mutex::new(Vec::new()));
    let mut server = TestServer::start_in(dir.path(), &["--flush-interval", "1s"]);
    let clients: Vec<_> = ["a", "b"]
        .into_iter()
        .map(|s| tokio::spawn(stream_replay(server.http.clone(), s.into(), acked.clone())))
        .collect();
    tokio::time::sleep(Duration::from_millis(1300)).await;
    server.kill9();
    for c in clients {
        let _ = c.await;
    }
    let acked = acked.lock().unwrap().clone();
    assert!(acked.len() > 20, "only {} chunks acknowledged", acked.len());
    let server = TestServer::start_in(dir.path(), &[]);
    for session in ["a", "b"] {
        let mut stored = Vec::new();
        let mut path = format!("/api/v1/sessions/{session}/replay");
        loop {
            let (status, body) = server.get(&path).await;
            assert_eq!(status, 200, "{body}");
            for e in body["events"].as_array().unwrap() {
                stored.push(e["data"]["n"].as_u64().unwrap() as u32);
            }
            match body["next_after"].as_u64() {
                Some(after) => path = format!("/api/v1/sessions/{session}/replay?after={after}"),
                None => break,
            }
        }
        let want: Vec<u32> = acked
            .iter()
            .filter(|(s, _)| s == session)
            .map(|(_, n)| *n)
            .collect();
        assert!(
            stored.starts_with(&want),
            "session {session}: acknowledged {want:?}, stored {stored:?}"
        );
    }
}
