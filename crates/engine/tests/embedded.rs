//! Behaviour of the embedded store: durability across restarts, flush, compaction,
//! retention and trace lookup (search and pagination: tests/search.rs).

use std::time::Duration;

use tracehouse_engine::HOUR_NS;
use tracehouse_engine::{EmbeddedStore, EngineConfig, HistogramQuery, Store};
use tracehouse_model::{AttrValue, Attributes, Span, SpanId, SpanKind, StatusCode, TraceId};
use tracehouse_store_api::testsuite::testkit;

fn span(project: &str, trace: u8, id: u8, start: i64, service: &str) -> Span {
    let mut attributes = Attributes::new();
    attributes.insert("n".into(), AttrValue::Int(i64::from(id)));
    Span {
        project_id: project.into(),
        name: format!("op{id}"),
        kind: SpanKind::Internal,
        status_code: StatusCode::Unset,
        service_name: service.into(),
        attributes,
        ..testkit::span(TraceId([trace; 16]), SpanId([id; 8]), start, 10)
    }
}

fn config(dir: &std::path::Path) -> EngineConfig {
    let mut c = EngineConfig::new(dir);
    // Background work only when a test asks for it.
    c.flush_interval = Duration::from_secs(3600);
    c.maintenance_interval = Duration::from_secs(3600);
    c
}

const T0: i64 = 1_700_000_000_000_000_000;

/// A histogram of project `p`.
fn histogram_query(text: &str, start_ns: i64, end_ns: i64, buckets: usize) -> HistogramQuery {
    HistogramQuery {
        project_id: "p".into(),
        plan: tracehouse_query::plan(&tracehouse_query::parse(text).unwrap()),
        start_ns,
        end_ns,
        buckets,
        traces: false,
    }
}

#[tokio::test]
async fn acknowledged_spans_survive_restart_from_wal_and_parts() {
    let dir = tempfile::tempdir().unwrap();
    {
        let store = EmbeddedStore::open(config(dir.path())).await.unwrap();
        store
            .write_spans(vec![span("p", 1, 1, T0, "a")])
            .await
            .unwrap();
        store.flush().await.unwrap();
        store
            .write_spans(vec![span("p", 1, 2, T0 + 5, "a")])
            .await
            .unwrap();
        assert_eq!(store.stats().parts, 1);
        assert_eq!(store.stats().memtable_rows, 1);
    }
    // Give the WAL thread a moment to exit and release its file.
    tokio::time::sleep(Duration::from_millis(50)).await;
    let store = EmbeddedStore::open(config(dir.path())).await.unwrap();
    let trace = store.trace("p", TraceId([1; 16])).await.unwrap();
    let ids: Vec<u8> = trace.iter().map(|s| s.span_id.0[0]).collect();
    assert_eq!(
        ids,
        vec![1, 2],
        "one span from a part, one replayed from the WAL"
    );
    assert_eq!(trace[0], span("p", 1, 1, T0, "a"));
}

#[tokio::test]
async fn a_flush_returns_once_the_flushed_log_is_gone() {
    let dir = tempfile::tempdir().unwrap();
    let store = EmbeddedStore::open(config(dir.path())).await.unwrap();
    for i in 1..=3u8 {
        store
            .write_spans(vec![span("p", 1, i, T0 + i64::from(i), "a")])
            .await
            .unwrap();
        store.flush().await.unwrap();
        let segments: Vec<_> = std::fs::read_dir(dir.path().join("wal"))
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(segments.len(), 1, "only the open segment: {segments:?}");
    }
}

#[tokio::test]
async fn trace_lookup_is_project_scoped() {
    let dir = tempfile::tempdir().unwrap();
    let store = EmbeddedStore::open(config(dir.path())).await.unwrap();
    store
        .write_spans(vec![span("p", 1, 1, T0, "a"), span("q", 1, 2, T0, "a")])
        .await
        .unwrap();
    store.flush().await.unwrap();
    assert_eq!(store.trace("p", TraceId([1; 16])).await.unwrap().len(), 1);
    assert_eq!(store.trace("q", TraceId([1; 16])).await.unwrap().len(), 1);
    assert!(store.trace("p", TraceId([2; 16])).await.unwrap().is_empty());
}

#[tokio::test]
async fn compaction_merges_closed_hour_parts_without_losing_rows() {
    let dir = tempfile::tempdir().unwrap();
    let store = EmbeddedStore::open(config(dir.path())).await.unwrap();
    for i in 0..3u8 {
        store
            .write_spans(vec![span("p", i + 1, i + 1, T0 + i64::from(i), "a")])
            .await
            .unwrap();
        store.flush().await.unwrap();
    }
    assert_eq!(store.stats().parts, 3);
    let held = store.stats().part_memory_bytes;
    assert!(
        held > 3 * 16,
        "three trace indexes, granule indexes and statistics: {held}"
    );
    let replaced = store.compact(T0 + 10 * HOUR_NS).await.unwrap();
    assert_eq!(replaced, 3);
    assert_eq!(store.stats().parts, 1);
    let merged = store.stats().part_memory_bytes;
    assert!(
        merged > 0 && merged < held,
        "one part holds less than the three it replaced: {merged} of {held}"
    );
    assert_eq!(store.stats().part_rows, 3);
    for i in 1..=3u8 {
        assert_eq!(store.trace("p", TraceId([i; 16])).await.unwrap().len(), 1);
    }
    // Retired files disappear once no snapshot holds them.
    let files = std::fs::read_dir(dir.path().join("parts")).unwrap().count();
    assert_eq!(
        files, 4,
        "one parquet file, its trace index, its statistics and its granule index"
    );
}

#[tokio::test]
async fn retention_drops_whole_old_partitions() {
    let dir = tempfile::tempdir().unwrap();
    let mut cfg = config(dir.path());
    cfg.retention = Some(Duration::from_secs(24 * 3600));
    let store = EmbeddedStore::open(cfg).await.unwrap();
    let old = T0;
    let new = T0 + 30 * HOUR_NS;
    store
        .write_spans(vec![span("p", 1, 1, old, "a"), span("p", 2, 2, new, "a")])
        .await
        .unwrap();
    store.flush().await.unwrap();
    assert_eq!(store.stats().parts, 2);
    assert_eq!(store.apply_retention(new + HOUR_NS).await.unwrap(), 1);
    assert!(store.trace("p", TraceId([1; 16])).await.unwrap().is_empty());
    assert_eq!(store.trace("p", TraceId([2; 16])).await.unwrap().len(), 1);
}

#[tokio::test]
async fn second_open_of_same_dir_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let _store = EmbeddedStore::open(config(dir.path())).await.unwrap();
    let err = EmbeddedStore::open(config(dir.path())).await.err().unwrap();
    assert!(err.to_string().contains("in use"), "{err}");
}

#[tokio::test]
async fn uncommitted_part_files_are_removed_at_open() {
    let dir = tempfile::tempdir().unwrap();
    {
        let store = EmbeddedStore::open(config(dir.path())).await.unwrap();
        store
            .write_spans(vec![span("p", 1, 1, T0, "a")])
            .await
            .unwrap();
    }
    tokio::time::sleep(Duration::from_millis(50)).await;
    std::fs::write(
        dir.path()
            .join("parts")
            .join("00000000000000000099.parquet"),
        b"half",
    )
    .unwrap();
    let store = EmbeddedStore::open(config(dir.path())).await.unwrap();
    assert!(
        !dir.path()
            .join("parts")
            .join("00000000000000000099.parquet")
            .exists()
    );
    assert_eq!(store.trace("p", TraceId([1; 16])).await.unwrap().len(), 1);
}

/// Histograms of all spans (answered from per-minute counts plus scans of the partial edge
/// minutes) agree with histograms that must scan (a filter every span passes), in the
/// memtable, in parts, across projects, and with statistics written before minutes were
/// counted.
#[tokio::test]
async fn histograms_from_minute_counts_match_scans() {
    use tracehouse_engine::Histogram;
    const MIN: i64 = 60_000_000_000;
    let dir = tempfile::tempdir().unwrap();
    let store = EmbeddedStore::open(config(dir.path())).await.unwrap();
    // 3 hours of spans every 7.3 s (so minutes and edges hold uneven counts), every 5th an
    // error; another project interleaved.
    let write = |offset: i64| {
        (0..480)
            .map(|i| {
                let mut s = span(
                    "p",
                    (i % 200) as u8,
                    (i % 250) as u8,
                    T0 + offset + i * 7_300_000_000,
                    "a",
                );
                s.has_error = i % 5 == 0;
                s
            })
            .chain(
                (0..50).map(|i| span("other", 7, i as u8, T0 + offset + i * 11_000_000_000, "b")),
            )
            .collect::<Vec<_>>()
    };
    store.write_spans(write(0)).await.unwrap();
    store.write_spans(write(HOUR_NS)).await.unwrap();
    let ranges = [
        (T0, T0 + 3 * HOUR_NS, 60),
        (T0 + 17_123_456_789, T0 + 2 * HOUR_NS - 3_000_000_001, 24),
        (T0 + 5 * MIN, T0 + 65 * MIN, 6),
        (T0 + 59 * MIN + 1, T0 + 61 * MIN + 5, 2),
        (T0 + 10 * MIN + 1, T0 + 10 * MIN + 50_000_000_000, 5),
        (T0 - HOUR_NS, T0 + 30 * MIN, 1000),
    ];
    let check = |when: &'static str| {
        let store = store.clone();
        async move {
            for (start, end, buckets) in ranges {
                let q = |text: &str| histogram_query(text, start, end, buckets);
                let fast: Histogram = store.histogram(&q("")).await.unwrap();
                let scanned: Histogram = store.histogram(&q("duration>=0")).await.unwrap();
                assert_eq!(fast, scanned, "[{when}] {start}..{end} in {buckets}");
                assert!(fast.buckets.iter().any(|b| b.error_count > 0) || end - start < 10 * MIN);
            }
        }
    };
    check("memtable").await;
    store.flush_now().await.unwrap();
    check("parts").await;
    store.write_spans(write(2 * HOUR_NS)).await.unwrap();
    check("parts and memtable").await;
    // Statistics from before minutes were counted (and before sidecars were compressed,
    // so written back as plain JSON): the counts must not be trusted.
    store.flush_now().await.unwrap();
    drop(store);
    for entry in std::fs::read_dir(dir.path().join("parts")).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "stats") {
            let json = zstd::stream::decode_all(&*std::fs::read(&path).unwrap()).unwrap();
            let mut stats: serde_json::Value = serde_json::from_slice(&json).unwrap();
            stats.as_object_mut().unwrap().remove("minutes");
            std::fs::write(&path, serde_json::to_vec(&stats).unwrap()).unwrap();
        }
    }
    let store = EmbeddedStore::open(config(dir.path())).await.unwrap();
    for (start, end, buckets) in ranges {
        let q = |text: &str| histogram_query(text, start, end, buckets);
        assert_eq!(
            store.histogram(&q("")).await.unwrap(),
            store.histogram(&q("duration>=0")).await.unwrap(),
            "[old statistics] {start}..{end}"
        );
    }
}

#[tokio::test]
async fn saved_views_follow_the_suite_and_survive_a_restart() {
    use tracehouse_store_api::testsuite::views;
    let dir = tempfile::tempdir().unwrap();
    {
        let store = EmbeddedStore::open(config(dir.path())).await.unwrap();
        views::run(store.as_ref()).await;
    }
    let store = EmbeddedStore::open(config(dir.path())).await.unwrap();
    views::check(store.as_ref()).await;
}

#[tokio::test]
async fn alerts_follow_the_suite_and_survive_a_restart() {
    use tracehouse_store_api::testsuite::alerts;
    let dir = tempfile::tempdir().unwrap();
    {
        let store = EmbeddedStore::open(config(dir.path())).await.unwrap();
        alerts::run(store.as_ref()).await;
    }
    let store = EmbeddedStore::open(config(dir.path())).await.unwrap();
    alerts::check(store.as_ref()).await;
}
