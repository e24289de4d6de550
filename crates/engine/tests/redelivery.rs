//! The redelivery suite (`tracehouse_store_api::testsuite::redelivery`) on the embedded
//! store: a batch delivered again while its first copy is in the memtable, in parts and in
//! a compacted part reads back once, and a restart keeps it that way — whether the first
//! copy was still only in the WAL at the restart (the window is rebuilt from its replay) or
//! already in a part (compaction removes the copy).

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use tracehouse_engine::{EmbeddedStore, EngineConfig};
use tracehouse_model::{Span, errors_from_spans};
use tracehouse_store_api::Store;
use tracehouse_store_api::testsuite::metrics::{END, HOUR};
use tracehouse_store_api::testsuite::redelivery::{batch, check, deliver};

fn config(dir: &Path) -> EngineConfig {
    let mut c = EngineConfig::new(dir);
    c.flush_interval = Duration::from_secs(3600);
    c.maintenance_interval = Duration::from_secs(3600);
    c
}

async fn open(dir: &Path) -> Arc<EmbeddedStore> {
    EmbeddedStore::open(config(dir)).await.unwrap()
}

/// Rows a delivery of `spans` stores: the spans and their error occurrences.
fn rows(spans: &[Span]) -> u64 {
    (spans.len() + errors_from_spans(spans).len()) as u64
}

#[tokio::test]
async fn a_batch_delivered_again_is_stored_once() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path()).await;
    let spans = batch();
    let first = &spans[..spans.len() / 2];
    deliver(store.as_ref(), first).await;
    deliver(store.as_ref(), first).await;
    check(store.as_ref(), first, "memtable").await;
    store.flush_now().await.unwrap();
    // The whole batch: its first half again, now in parts, and the rest new.
    deliver(store.as_ref(), &spans).await;
    check(store.as_ref(), &spans, "parts and memtable").await;
    store.flush_now().await.unwrap();
    deliver(store.as_ref(), &spans).await;
    check(store.as_ref(), &spans, "parts").await;
    assert!(store.compact(END + 10 * HOUR).await.unwrap() > 0);
    deliver(store.as_ref(), &spans).await;
    store.flush_now().await.unwrap();
    check(store.as_ref(), &spans, "compacted").await;
    drop(store);
    let store = open(dir.path()).await;
    check(store.as_ref(), &spans, "restarted").await;
}

#[tokio::test]
async fn a_batch_acknowledged_just_before_a_restart_is_left_out_when_sent_again() {
    let dir = tempfile::tempdir().unwrap();
    let spans = batch();
    let store = open(dir.path()).await;
    deliver(store.as_ref(), &spans).await;
    // A crash: the batch is acknowledged, so in the WAL, and in no part.
    drop(store);
    let store = open(dir.path()).await;
    let stats = store.stats();
    assert_eq!((stats.parts, stats.memtable_rows), (0, rows(&spans)));
    deliver(store.as_ref(), &spans).await;
    assert_eq!(
        store.stats().memtable_rows,
        rows(&spans),
        "nothing stored again"
    );
    check(store.as_ref(), &spans, "resent after a restart").await;
    store.flush_now().await.unwrap();
    check(store.as_ref(), &spans, "resent after a restart, flushed").await;
}

#[tokio::test]
async fn compaction_removes_copies_stored_in_different_parts() {
    let dir = tempfile::tempdir().unwrap();
    let spans = batch();
    let store = open(dir.path()).await;
    deliver(store.as_ref(), &spans).await;
    store.flush_now().await.unwrap();
    drop(store);
    // The first copy is in parts, the window empty: the window lets the batch in again.
    let store = open(dir.path()).await;
    deliver(store.as_ref(), &spans).await;
    store.flush_now().await.unwrap();
    assert_eq!(store.stats().part_rows, 2 * rows(&spans), "stored twice");
    let first = &spans[0];
    let trace = store.trace(&first.project_id, first.trace_id).await;
    let expected = spans
        .iter()
        .filter(|s| (&s.project_id, s.trace_id) == (&first.project_id, first.trace_id));
    let folded = trace.unwrap().len();
    assert_eq!(folded, expected.count(), "trace by id folds the copies");
    assert!(store.compact(END + 10 * HOUR).await.unwrap() > 0);
    // The span copies are gone; their error occurrences stay (see redelivery.rs).
    let errors = rows(&spans) - spans.len() as u64;
    assert_eq!(store.stats().part_rows, rows(&spans) + errors);
    check(store.as_ref(), &spans, "compacted").await;
    drop(store);
    let store = open(dir.path()).await;
    check(store.as_ref(), &spans, "compacted, restarted").await;
}
