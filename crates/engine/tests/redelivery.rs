//! The redelivery suite (`tracehouse_store_api::testsuite::redelivery`) on the embedded
//! store: a batch delivered again while its first copy is in the memtable, in parts and in
//! a compacted part reads back once, and a restart keeps it that way.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a test's panic is its failure report"
)]

use std::time::Duration;

use tracehouse_engine::{EmbeddedStore, EngineConfig};
use tracehouse_store_api::testsuite::metrics::{END, HOUR};
use tracehouse_store_api::testsuite::redelivery::{batch, check, deliver};

fn config(dir: &std::path::Path) -> EngineConfig {
    let mut c = EngineConfig::new(dir);
    c.flush_interval = Duration::from_secs(3600);
    c.maintenance_interval = Duration::from_secs(3600);
    c
}

#[tokio::test]
async fn a_batch_delivered_again_is_stored_once() {
    let dir = tempfile::tempdir().unwrap();
    let store = EmbeddedStore::open(config(dir.path())).await.unwrap();
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
    let store = EmbeddedStore::open(config(dir.path())).await.unwrap();
    check(store.as_ref(), &spans, "restarted").await;
}
