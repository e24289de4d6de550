//! The span metrics suite (`tracehouse_store_api::testsuite::metrics`) on the embedded
//! store: with the spans in the memtable, split between parts and the memtable, in parts,
//! after compaction, after a restart, and after retention dropped the oldest hours; and the
//! service map suite (`testsuite::graph`) across writes and a flush.

use std::time::Duration;

use tracehouse_engine::{EmbeddedStore, EngineConfig, Store};
use tracehouse_store_api::metrics::MetricSource;
use tracehouse_store_api::testsuite::metrics::*;

fn config(dir: &std::path::Path) -> EngineConfig {
    let mut c = EngineConfig::new(dir);
    c.flush_interval = Duration::from_secs(3600);
    c.maintenance_interval = Duration::from_secs(3600);
    c.retention = Some(Duration::from_secs(3600));
    c
}

#[tokio::test]
async fn span_metrics_through_flush_compaction_restart_and_retention() {
    let dir = tempfile::tempdir().unwrap();
    let spans = data();
    let (first, second) = spans.split_at(spans.len() / 3);
    let store = EmbeddedStore::open(config(dir.path())).await.unwrap();
    check_refusals(store.as_ref()).await;
    store.write_spans(first.to_vec()).await.unwrap();
    check_all(store.as_ref(), first, "memtable").await;
    store.flush_now().await.unwrap();
    // The second write lands in the hours the first one already flushed: parts and
    // memtable hold cells of the same minutes.
    for chunk in second.chunks(200) {
        store.write_spans(chunk.to_vec()).await.unwrap();
    }
    check_all(store.as_ref(), &spans, "parts and memtable").await;
    store.flush_now().await.unwrap();
    check_all(store.as_ref(), &spans, "parts").await;
    assert!(store.compact(END + 10 * HOUR).await.unwrap() > 0);
    check_all(store.as_ref(), &spans, "compacted").await;
    drop(store);
    let store = EmbeddedStore::open(config(dir.path())).await.unwrap();
    check_all(store.as_ref(), &spans, "restarted").await;
    // One hour of retention at T0 + 1 h keeps the hours from T0 on.
    assert!(store.apply_retention(T0 + HOUR).await.unwrap() > 0);
    let kept: Vec<_> = spans
        .iter()
        .filter(|s| s.start_time_unix_nano >= T0)
        .cloned()
        .collect();
    check_all(store.as_ref(), &kept, "after retention").await;
}

#[tokio::test]
async fn service_graph_across_writes_and_flush() {
    let dir = tempfile::tempdir().unwrap();
    let store = EmbeddedStore::open(config(dir.path())).await.unwrap();
    let (first, later) = tracehouse_store_api::testsuite::graph::data();
    store.write_spans(first).await.unwrap();
    store.flush_now().await.unwrap();
    store.write_spans(later).await.unwrap();
    tracehouse_store_api::testsuite::graph::check(store.as_ref(), "parts and memtable").await;
    store.flush_now().await.unwrap();
    tracehouse_store_api::testsuite::graph::check(store.as_ref(), "parts").await;
}

/// Scans matching more spans than a search page holds read the columns the query needs in
/// one pass instead of paging through whole spans: the same answers as the brute force,
/// from the memtable and from parts beside it; TraceQL's `histogram_over_time` and
/// `compare()` too.
#[tokio::test]
async fn scans_of_more_than_a_search_page_answer_like_the_brute_force() {
    use tracehouse_store_api::metrics::scan::SCAN_PAGE_SPANS;
    let dir = tempfile::tempdir().unwrap();
    let spans = data_of(40_000);
    let large = scan_queries()
        .iter()
        .filter(|q| {
            let matching: i64 = expected(q, &spans).iter().map(|(_, rows)| rows[0][1]).sum();
            matching > SCAN_PAGE_SPANS as i64
        })
        .count();
    assert!(large >= 2, "{large} scan queries read more than a page");
    let store = EmbeddedStore::open(config(dir.path())).await.unwrap();
    let (first, second) = spans.split_at(spans.len() / 2);
    for chunk in first.chunks(4_000) {
        store.write_spans(chunk.to_vec()).await.unwrap();
    }
    check_queries(
        store.as_ref(),
        scan_queries(),
        MetricSource::Scan,
        first,
        "memtable",
    )
    .await;
    check_scanned(store.as_ref(), first, "memtable").await;
    store.flush_now().await.unwrap();
    for chunk in second.chunks(4_000) {
        store.write_spans(chunk.to_vec()).await.unwrap();
    }
    let stage = "parts and memtable";
    check_queries(
        store.as_ref(),
        scan_queries(),
        MetricSource::Scan,
        &spans,
        stage,
    )
    .await;
    check_scanned(store.as_ref(), &spans, stage).await;
}

/// A service map of more calls and callees than a search page holds reads them with the
/// column scan: copies of the suite's requests (each with trace ids of its own) draw the map
/// of one copy, with every count that many times.
#[tokio::test]
async fn a_service_map_of_many_requests_counts_each_copy() {
    use tracehouse_model::Span;
    use tracehouse_store_api::graph::service_graph;
    use tracehouse_store_api::metrics::scan::SCAN_PAGE_SPANS;
    use tracehouse_store_api::testsuite::graph::{RANGE, data};
    const COPIES: u8 = 200;
    let (first, later) = data();
    let one: Vec<Span> = first.iter().chain(&later).cloned().collect();
    let copies: Vec<Span> = (0..COPIES)
        .flat_map(|k| {
            one.iter().map(move |s| {
                let mut s = s.clone();
                s.trace_id.0[15] = k;
                s
            })
        })
        .collect();
    let (dir_one, dir_many) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let store = EmbeddedStore::open(config(dir_one.path())).await.unwrap();
    store.write_spans(one).await.unwrap();
    let want = service_graph(store.as_ref(), "p", RANGE).await.unwrap();
    let store = EmbeddedStore::open(config(dir_many.path())).await.unwrap();
    for chunk in copies.chunks(5_000) {
        store.write_spans(chunk.to_vec()).await.unwrap();
    }
    store.flush_now().await.unwrap();
    let got = service_graph(store.as_ref(), "p", RANGE).await.unwrap();
    let times = u64::from(COPIES);
    let calls: u64 = got.edges.iter().map(|e| e.count).sum();
    assert!(calls > SCAN_PAGE_SPANS as u64, "{calls} calls");
    let nodes = |g: &tracehouse_store_api::graph::ServiceGraph, n: u64| -> Vec<_> {
        g.nodes
            .iter()
            .map(|v| (v.id.clone(), v.kind, v.count * n, v.errors * n))
            .collect()
    };
    assert_eq!(nodes(&got, 1), nodes(&want, times));
    let edges = |g: &tracehouse_store_api::graph::ServiceGraph, n: u64| -> Vec<_> {
        g.edges
            .iter()
            .map(|e| {
                (
                    e.source.clone(),
                    e.target.clone(),
                    e.count * n,
                    e.errors * n,
                )
            })
            .collect()
    };
    assert_eq!(edges(&got, 1), edges(&want, times));
}
