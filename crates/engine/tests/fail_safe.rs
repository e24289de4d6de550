//! The embedded store keeps its promise under hostile data and damage: large spans always
//! flush, corruption is reported instead of silently dropping acknowledged rows.

use std::time::Duration;

use tracehouse_engine::HOUR_NS;
use tracehouse_engine::{EmbeddedStore, EngineConfig, HistogramQuery, Store};
use tracehouse_model::{AttrValue, Attributes, Span, SpanId, SpanKind, StatusCode, TraceId};
use tracehouse_store_api::testsuite::testkit;

const T0: i64 = 1_700_000_000_000_000_000;

/// A client span of service `postgres` in trace `trace` carrying a `db.statement` of
/// `statement_bytes` bytes.
fn span(trace: u32, id: u32, statement_bytes: usize) -> Span {
    let mut attributes = Attributes::new();
    let statement = format!("SELECT /* {trace}.{id} */ {}", "x".repeat(statement_bytes));
    attributes.insert("db.statement".into(), AttrValue::Str(statement));
    let mut trace_id = [7u8; 16];
    trace_id[..4].copy_from_slice(&trace.to_be_bytes());
    let mut span_id = [1u8; 8];
    span_id[4..].copy_from_slice(&id.to_be_bytes());
    let start = T0 + i64::from(id) * 1_000_000;
    Span {
        name: "query".into(),
        kind: SpanKind::Client,
        status_code: StatusCode::Unset,
        service_name: "postgres".into(),
        attributes,
        ..testkit::span(TraceId(trace_id), SpanId(span_id), start, 10)
    }
}

fn config(dir: &std::path::Path) -> EngineConfig {
    let mut c = EngineConfig::new(dir);
    c.flush_interval = Duration::from_secs(3600);
    c.maintenance_interval = Duration::from_secs(3600);
    c
}

/// Spans of project `p` counted by an unfiltered histogram over the hour of `T0`.
async fn count(store: &EmbeddedStore, query: &str) -> u64 {
    let q = HistogramQuery {
        project_id: "p".into(),
        plan: tracehouse_query::plan(&tracehouse_query::parse(query).unwrap()),
        start_ns: T0.div_euclid(HOUR_NS) * HOUR_NS,
        end_ns: (T0.div_euclid(HOUR_NS) + 1) * HOUR_NS,
        buckets: 1,
        traces: false,
    };
    let h = store.histogram(&q).await.unwrap();
    h.buckets.iter().map(|b| b.count).sum()
}

/// Writes `n` spans of `bytes`-byte statements in requests of 100.
async fn write_large(store: &EmbeddedStore, n: u32, bytes: usize) {
    for first in (0..n).step_by(100) {
        let spans = (first..(first + 100).min(n))
            .map(|i| span(i / 10, i, bytes))
            .collect();
        store.write_spans(spans).await.unwrap();
    }
}

#[tokio::test]
async fn large_spans_flush_into_parts_cut_by_bytes_and_merge_only_up_to_the_limit() {
    let dir = tempfile::tempdir().unwrap();
    let mut c = config(dir.path());
    c.part_bytes = 2 << 20;
    let store = EmbeddedStore::open(c).await.unwrap();
    // 3,000 spans with 5,000-byte statements: about 15 MB of strings in one partition.
    write_large(&store, 3_000, 5_000).await;
    store.flush().await.unwrap();
    let parts = store.stats().parts;
    assert!(
        parts >= 6,
        "15 MB cut at 2 MiB makes several parts, got {parts}"
    );
    assert_eq!(count(&store, "").await, 3_000);
    let expected = (0..3_000)
        .filter(|i| format!("{}.{i}", i / 10).contains("2.25"))
        .count();
    assert_eq!(count(&store, "db.statement:*2.25*").await, expected as u64);
    // Compaction of the closed hour merges small parts, but never beyond the byte limit.
    store.compact(T0 + 10 * HOUR_NS).await.unwrap();
    let after = store.stats().parts;
    assert!(after > 1 && after <= parts, "{parts} -> {after} parts");
    assert_eq!(count(&store, "").await, 3_000);
}

#[tokio::test]
async fn memtable_bytes_trigger_a_flush_and_backpressure() {
    let dir = tempfile::tempdir().unwrap();
    let mut c = config(dir.path());
    c.flush_bytes = 1 << 20;
    let store = EmbeddedStore::open(c).await.unwrap();
    write_large(&store, 400, 5_000).await;
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    while store.stats().parts == 0 {
        assert!(std::time::Instant::now() < deadline, "no flush by bytes");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    drop(store);

    let dir = tempfile::tempdir().unwrap();
    let mut c = config(dir.path());
    c.max_memtable_bytes = 1 << 20;
    let store = EmbeddedStore::open(c).await.unwrap();
    let refused = async {
        for i in 0..100 {
            let spans = (0..100).map(|j| span(i, i * 100 + j, 5_000)).collect();
            if let Err(e) = store.write_spans(spans).await {
                return e;
            }
        }
        panic!("10 MB were accepted into a 1 MiB memtable");
    }
    .await;
    assert!(refused.is_retryable(), "{refused}");
    store.flush().await.unwrap();
    store.write_spans(vec![span(1, 1, 10)]).await.unwrap();
}

/// A store of two flushed parts (traces 1–2 in the first, 3–4 in the second, 100 spans
/// each) and 10 spans left in the WAL; returns the Parquet files of the two parts.
async fn two_parts(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let store = EmbeddedStore::open(config(dir)).await.unwrap();
    for half in 0..2u32 {
        let spans = (0..100).map(|i| span(half * 2 + 1 + i / 50, half * 100 + i, 10));
        store.write_spans(spans.collect()).await.unwrap();
        store.flush().await.unwrap();
    }
    let wal_only = (200..210).map(|i| span(9, i, 10)).collect();
    store.write_spans(wal_only).await.unwrap();
    let mut files: Vec<_> = std::fs::read_dir(dir.join("parts"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "parquet"))
        .collect();
    files.sort();
    assert_eq!(files.len(), 2);
    files
}

fn open_error(
    result: Result<std::sync::Arc<EmbeddedStore>, tracehouse_engine::StoreError>,
) -> String {
    match result {
        Err(e) => e.to_string(),
        Ok(_) => panic!("the store opened"),
    }
}

#[tokio::test]
async fn a_missing_manifest_refuses_to_start_and_deletes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let files = two_parts(dir.path()).await;
    std::fs::remove_file(dir.path().join("manifest.json")).unwrap();
    let message = open_error(EmbeddedStore::open(config(dir.path())).await);
    assert!(message.contains("manifest.json is missing"), "{message}");
    assert!(message.contains("tracehouse check --repair"), "{message}");
    assert!(files.iter().all(|f| f.exists()), "no part was deleted");

    std::fs::write(dir.path().join("manifest.json"), b"{\"parts\": [").unwrap();
    let message = open_error(EmbeddedStore::open(config(dir.path())).await);
    assert!(message.contains("is damaged"), "{message}");
    assert!(files.iter().all(|f| f.exists()));
}

#[tokio::test]
async fn a_part_with_a_damaged_footer_is_quarantined_and_the_rest_keeps_serving() {
    let dir = tempfile::tempdir().unwrap();
    let files = two_parts(dir.path()).await;
    let mut bytes = std::fs::read(&files[0]).unwrap();
    let n = bytes.len();
    bytes[n - 20..n - 8].fill(0xAB);
    std::fs::write(&files[0], bytes).unwrap();

    let store = EmbeddedStore::open(config(dir.path())).await.unwrap();
    assert_eq!(count(&store, "").await, 110, "second part and WAL served");
    let health = store.health();
    assert_eq!(health.quarantined.len(), 1, "{health:?}");
    assert_eq!(health.quarantined[0].rows, 100);
    assert!(health.is_ready());
    assert!(!files[0].exists());
    assert!(
        dir.path()
            .join("quarantine")
            .join(files[0].file_name().unwrap())
            .exists()
    );
    drop(store);
    // The quarantine is remembered across restarts.
    let store = EmbeddedStore::open(config(dir.path())).await.unwrap();
    assert_eq!(store.health().quarantined.len(), 1);
    assert_eq!(count(&store, "").await, 110);
}

#[tokio::test]
async fn a_deleted_part_is_quarantined_at_open() {
    let dir = tempfile::tempdir().unwrap();
    let files = two_parts(dir.path()).await;
    std::fs::remove_file(&files[1]).unwrap();
    let store = EmbeddedStore::open(config(dir.path())).await.unwrap();
    assert_eq!(count(&store, "").await, 110);
    let q = &store.health().quarantined;
    assert_eq!((q.len(), q[0].rows), (1, 100), "{q:?}");
}

#[tokio::test]
async fn damaged_pages_found_by_a_query_are_quarantined_and_the_query_answers() {
    let dir = tempfile::tempdir().unwrap();
    let files = two_parts(dir.path()).await;
    let store = EmbeddedStore::open(config(dir.path())).await.unwrap();
    // Damage the data pages (not the footer) of a live part.
    let mut bytes = std::fs::read(&files[1]).unwrap();
    bytes[4..1004].fill(0x5A);
    std::fs::write(&files[1], bytes).unwrap();
    assert_eq!(count(&store, "db.statement:*SELECT*").await, 110);
    let q = &store.health().quarantined;
    assert_eq!(q.len(), 1, "{q:?}");
    // Later answers no longer count the unreadable rows.
    assert_eq!(count(&store, "").await, 110);
}
