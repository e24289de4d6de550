//! `tracehouse loadgen` against a real `tracehouse serve`: the spans (and, with `--logs`, the
//! log records) it reports arrive, over gRPC and HTTP, and become errors and sessions; an
//! unreachable server and a refused key give clear errors.

use crate::common;

use std::process::{Command, Output};

use common::TestServer;
use serde_json::Value;

fn tracehouse(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_tracehouse"))
        .args(args)
        .output()
        .expect("run tracehouse")
}

/// The span count of loadgen's summary line (`sent N spans in …`).
fn sent_spans(out: &Output) -> u64 {
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "loadgen failed: {stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
        .split_whitespace()
        .skip_while(|w| *w != "sent")
        .nth(1)
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no summary in {stdout:?}"))
}

/// The log record count of loadgen's summary line (`…; and N log records`).
fn sent_logs(out: &Output) -> u64 {
    let stdout = String::from_utf8_lossy(&out.stdout);
    stdout
        .split_whitespace()
        .skip_while(|w| *w != "and")
        .nth(1)
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no log count in {stdout:?}"))
}

/// The last ten minutes (and one ahead) as API parameters.
fn recent() -> String {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock")
        .as_nanos() as i64;
    format!(
        "start={}&end={}",
        now - 600_000_000_000,
        now + 60_000_000_000
    )
}

/// Spans stored in the last ten minutes (from the histogram), and those with errors.
async fn stored(server: &TestServer, key: Option<&str>) -> (u64, u64) {
    let path = format!("/api/v1/spans/histogram?{}", recent());
    let (status, body) = server.get_with_key(&path, key).await;
    assert_eq!(status, 200, "{body}");
    let buckets = body["buckets"].as_array().cloned().unwrap_or_default();
    let sum = |field: &str| buckets.iter().filter_map(|b| b[field].as_u64()).sum();
    (sum("count"), sum("error_count"))
}

#[tokio::test]
async fn loadgen_spans_arrive_over_grpc_and_http() {
    let server = TestServer::start(&["--retention", "forever"]);
    let grpc = tracehouse(&[
        "loadgen",
        "--endpoint",
        &server.grpc,
        "--count",
        "3000",
        "--seed",
        "7",
        "--logs",
        "--quiet",
    ]);
    let sent_grpc = sent_spans(&grpc);
    assert!(sent_grpc >= 3000, "at least --count spans: {sent_grpc}");
    let (count, errors) = stored(&server, None).await;
    assert_eq!(count, sent_grpc);
    assert!(errors > 0, "some generated spans are errors");

    let http = tracehouse(&[
        "loadgen",
        "--protocol",
        "http",
        "--endpoint",
        &server.http,
        "--count",
        "500",
        "--rate",
        "5000",
        "--seed",
        "8",
        "--logs",
        "--quiet",
    ]);
    let sent_http = sent_spans(&http);
    let (count, _) = stored(&server, None).await;
    assert_eq!(count, sent_grpc + sent_http);

    // The log records arrived too, and the exceptions became error groups and the session
    // ids sessions.
    let (status, body) = server
        .get(&format!("/api/v1/logs/histogram?{}", recent()))
        .await;
    assert_eq!(status, 200, "{body}");
    let logs: u64 = body["buckets"]
        .as_array()
        .expect("buckets")
        .iter()
        .filter_map(|b| b["count"].as_u64())
        .sum();
    assert_eq!(logs, sent_logs(&grpc) + sent_logs(&http));
    let (status, body) = server
        .get(&format!("/api/v1/errors/groups?{}", recent()))
        .await;
    assert_eq!(status, 200, "{body}");
    let groups = body["groups"].as_array().expect("groups");
    assert!(!groups.is_empty(), "{body}");
    assert!(
        groups.iter().any(|g| g["count"].as_u64() > Some(1)),
        "the shop's failures repeat, so groups collect occurrences: {body}"
    );
    let (status, body) = server.get(&format!("/api/v1/sessions?{}", recent())).await;
    assert_eq!(status, 200, "{body}");
    assert!(
        body["sessions"].as_array().is_some_and(|s| !s.is_empty()),
        "{body}"
    );

    // `tracehouse query --logs` prints them as a table and as JSON lines.
    let table = tracehouse(&[
        "query",
        "--logs",
        "level:error",
        "--since",
        "10m",
        "--api",
        &server.api,
    ]);
    let text = String::from_utf8_lossy(&table.stdout);
    assert!(table.status.success(), "{text}");
    let mut lines = text.lines();
    assert!(
        lines.next().is_some_and(|h| h.starts_with("TIME")),
        "{text}"
    );
    let rows: Vec<&str> = lines.filter(|l| !l.starts_with('…')).collect();
    assert!(!rows.is_empty(), "{text}");
    assert!(rows.iter().all(|r| r.contains("  error  ")), "{text}");
    let json = tracehouse(&[
        "query",
        "--logs",
        "level:error",
        "--since",
        "10m",
        "--json",
        "--api",
        &server.api,
    ]);
    let records: Vec<Value> =
        serde_json::from_slice(&json.stdout).expect("--json prints one JSON array");
    assert!(!records.is_empty());
    for record in &records {
        assert_eq!(record["level"], "error", "{record}");
    }

    // Sessions and services of the shop are searchable.
    let (status, body) = server
        .get("/api/v1/spans/search?query=service:checkout")
        .await;
    assert_eq!(status, 200, "{body}");
    assert!(
        body["spans"].as_array().is_some_and(|s| !s.is_empty()),
        "{body}"
    );
}

#[tokio::test]
async fn loadgen_explains_unreachable_servers_and_refused_keys() {
    // Nothing listens on port 1.
    let out = tracehouse(&[
        "loadgen",
        "--endpoint",
        "http://127.0.0.1:1",
        "--count",
        "10",
        "--quiet",
    ]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("cannot reach"), "{err}");
    assert!(err.contains("--endpoint"), "{err}");

    let server = TestServer::start(&["--project", "shop=shop-key"]);
    for protocol in ["grpc", "http"] {
        let endpoint = if protocol == "grpc" {
            &server.grpc
        } else {
            &server.http
        };
        let out = tracehouse(&[
            "loadgen",
            "--protocol",
            protocol,
            "--endpoint",
            endpoint,
            "--count",
            "10",
            "--quiet",
        ]);
        assert!(
            !out.status.success(),
            "{protocol}: a missing key is refused"
        );
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains("--key"), "{protocol}: {err}");
    }
    let out = tracehouse(&[
        "loadgen",
        "--endpoint",
        &server.grpc,
        "--key",
        "shop-key",
        "--count",
        "100",
        "--quiet",
    ]);
    let sent = sent_spans(&out);
    let (count, _) = stored(&server, Some("shop-key")).await;
    assert_eq!(count, sent);
}
