//! OTLP metrics on the embedded store: the shared suite
//! (`tracehouse_store_api::testsuite::otel_metrics`) with the points in the memtable, after
//! a reopen (WAL replay), in Parquet parts and after compaction; retention drops old
//! metrics partitions like any table's.

use std::time::Duration;

use tracehouse_engine::{EmbeddedStore, EngineConfig, Store};
use tracehouse_store_api::MetricNamesQuery;
use tracehouse_store_api::testsuite::otel_metrics::{
    T0, check_queries, check_storage, load, window,
};

fn config(dir: &std::path::Path) -> EngineConfig {
    let mut c = EngineConfig::new(dir);
    c.flush_interval = Duration::from_secs(3600);
    c.maintenance_interval = Duration::from_secs(3600);
    c.retention = Some(Duration::from_secs(24 * 3600));
    c
}

#[tokio::test]
async fn metrics_in_memtable_after_replay_in_parts_and_compacted() {
    let dir = tempfile::tempdir().unwrap();
    {
        let store = EmbeddedStore::open(config(dir.path())).await.unwrap();
        load(store.as_ref()).await;
        check_storage(store.as_ref(), "memtable").await;
    }
    let store = EmbeddedStore::open(config(dir.path())).await.unwrap();
    check_storage(store.as_ref(), "replayed").await;
    store.flush_now().await.unwrap();
    assert_eq!(store.stats().memtable_rows, 0);
    assert!(dir.path().join("metrics/manifest.json").exists());
    check_storage(store.as_ref(), "parts").await;
    load(store.as_ref()).await;
    store.flush_now().await.unwrap();
    let replaced = store.compact(T0 + 7200 * 1_000_000_000).await.unwrap();
    assert!(replaced >= 2, "metrics parts were merged ({replaced})");
}

#[tokio::test]
async fn retention_drops_old_metrics_partitions() {
    let dir = tempfile::tempdir().unwrap();
    let store = EmbeddedStore::open(config(dir.path())).await.unwrap();
    load(store.as_ref()).await;
    store.flush_now().await.unwrap();
    let two_days = T0 + 2 * 24 * 3600 * 1_000_000_000;
    assert!(store.apply_retention(two_days).await.unwrap() > 0);
    let (start_ns, end_ns) = window();
    let names = store
        .metric_names(&MetricNamesQuery {
            project_id: "p".into(),
            start_ns,
            end_ns,
            service: None,
        })
        .await
        .unwrap();
    assert!(names.is_empty(), "expired points are gone: {names:?}");
}

#[tokio::test]
async fn metric_functions_on_the_embedded_store() {
    let dir = tempfile::tempdir().unwrap();
    let store = EmbeddedStore::open(config(dir.path())).await.unwrap();
    load(store.as_ref()).await;
    check_queries(store.as_ref()).await;
    store.flush_now().await.unwrap();
    check_queries(store.as_ref()).await;
}
