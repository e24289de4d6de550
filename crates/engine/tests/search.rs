//! The semantic suite (`tracehouse_store_api::testsuite::semantic`) on the embedded store:
//! every case runs twice, with the rows in the memtable and again after they were flushed
//! into Parquet parts.

use std::collections::BTreeSet;
use std::time::Duration;

use tracehouse_engine::{EmbeddedStore, EngineConfig, SearchSort, Store};
use tracehouse_model::Span;
use tracehouse_store_api::testsuite::semantic::*;
use tracehouse_store_api::testsuite::traceql;

async fn open() -> (tempfile::TempDir, std::sync::Arc<EmbeddedStore>) {
    let dir = tempfile::tempdir().unwrap();
    let mut c = EngineConfig::new(dir.path());
    c.flush_interval = Duration::from_secs(3600);
    c.maintenance_interval = Duration::from_secs(3600);
    let store = EmbeddedStore::open(c).await.unwrap();
    load(store.as_ref()).await;
    (dir, store)
}

#[tokio::test]
async fn traceql_corpus_in_memtable_and_parts() {
    let (_dir, store) = open().await;
    traceql::check_all(store.as_ref(), "memtable").await;
    store.flush_now().await.unwrap();
    traceql::check_all(store.as_ref(), "parts").await;
}

#[tokio::test]
async fn search_semantics_in_memtable_and_parts() {
    let (_dir, store) = open().await;
    check_all(store.as_ref(), "memtable").await;
    store.flush_now().await.unwrap();
    assert_eq!(store.stats().memtable_rows, 0);
    check_all(store.as_ref(), "parts").await;
    check_round_trip(store.as_ref()).await;
    // Half in parts, half in the memtable: write the data again under another project.
    let defs = data();
    let (first, second) = defs.split_at(7);
    let rows: Vec<Span> = first.iter().map(|d| to_span(d, "q")).collect();
    store.write_spans(rows).await.unwrap();
    store.flush_now().await.unwrap();
    store
        .write_spans(second.iter().map(|d| to_span(d, "q")).collect())
        .await
        .unwrap();
    let mut q = query(
        "{service:frontend} >> {service:postgres duration>50ms}",
        SearchSort::TimeDesc,
        100,
    );
    q.project_id = "q".into();
    let got: BTreeSet<String> = store
        .search_spans(&q)
        .await
        .unwrap()
        .spans
        .iter()
        .map(|s| label_of(s.span_id))
        .collect();
    assert_eq!(got, set("a3 b3 e4"));
}

/// Structural queries evaluate candidate traces read with only the columns they need; the
/// spans of the page they return must still be whole (attributes, events, links…).
#[tokio::test]
async fn structural_pages_return_whole_spans() {
    let (_dir, store) = open().await;
    for when in ["memtable", "parts"] {
        for q in [
            "{service:frontend} >> {service:postgres duration>50ms}",
            "{} | count() > 2",
        ] {
            let page = store
                .search_spans(&query(q, SearchSort::TimeDesc, 100))
                .await
                .unwrap();
            assert!(!page.spans.is_empty(), "[{when}] {q}");
            for span in &page.spans {
                let trace = store.trace("p", span.trace_id).await.unwrap();
                let stored = trace
                    .iter()
                    .find(|s| s.span_id == span.span_id)
                    .expect("the span is stored");
                assert_eq!(
                    span,
                    stored,
                    "[{when}] {q}: span {}",
                    label_of(span.span_id)
                );
            }
            assert!(
                page.spans.iter().any(|s| !s.resource_attributes.is_empty()),
                "[{when}] {q}: heavy columns were read for the page"
            );
        }
        store.flush_now().await.unwrap();
    }
}
