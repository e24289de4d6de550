//! A tiny run of the benchmark harness (tracehouse's embedded store only), so that it cannot
//! rot: it finishes, prints the table and writes every figure to the JSON results.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a test's panic is its failure report"
)]

use std::process::{Command, Output};

use serde_json::Value;

fn bench(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_tracehouse-bench"))
        .args(args)
        .output()
        .expect("run tracehouse-bench")
}

#[test]
fn bench_smoke_run_without_clickhouse() {
    let out_dir = tempfile::tempdir().expect("temp dir");
    let out = bench(&[
        "--spans",
        "2000",
        "--metric-series",
        "50",
        "--runs",
        "5",
        "--out",
        out_dir.path().to_str().expect("utf-8 path"),
    ]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "bench failed: {stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("| trace by id |"), "{stdout}");
    let json: Value = serde_json::from_slice(
        &std::fs::read(out_dir.path().join("2000-spans.json")).expect("JSON results"),
    )
    .expect("valid JSON");
    let names: Vec<&str> = json["figures"]
        .as_array()
        .expect("figures")
        .iter()
        .filter_map(|f| f["name"].as_str())
        .collect();
    for name in [
        "ingest_spans_per_s",
        "bytes_per_span",
        "trace_by_id_ms",
        "search_service_duration_ms",
        "search_attribute_ms",
        "search_substring_ms",
        "histogram_ms",
        "p99_by_service_ms",
        "structural_ms",
        "red_by_service_ms",
        "red_by_operation_ms",
        "service_graph_ms",
        "p99_relative_error_pct",
        "peak_rss_mb",
        "ingest_metric_points_per_s",
        "bytes_per_metric_point",
        "metrics_rate_by_service_ms",
        "ingest_under_load_spans_per_s",
        "search_under_load_ms",
        "peak_rss_under_load_mb",
        "ingest_http_spans_per_s",
        "ingest_http_cpu_us_per_span",
    ] {
        assert!(names.contains(&name), "{name} in {names:?}");
    }

    // 50 series of two metrics, one point a minute for two hours.
    assert_eq!(json["metric_points"].as_u64(), Some(50 * 2 * 120));
    for figure in json["figures"].as_array().expect("figures") {
        if figure["name"].as_str().is_some_and(|n| {
            ["metric", "under_load", "http"]
                .iter()
                .any(|k| n.contains(k))
        }) {
            assert!(
                figure["tracehouse"].as_f64().is_some_and(|v| v > 0.0),
                "{figure}"
            );
        }
    }
    assert!(json["spans"].as_u64().is_some_and(|n| n >= 2000));
    assert!(
        json["figures"][0]["tracehouse"]
            .as_f64()
            .is_some_and(|v| v > 0.0)
    );
    assert!(json["figures"][0]["clickhouse"].is_null());
}
