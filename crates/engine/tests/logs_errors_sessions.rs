//! The logs, errors and sessions suite (`tracehouse_store_api::testsuite::correlate`) on the
//! embedded store: with the rows in the memtable, after a reopen (WAL replay), and after
//! they were flushed into Parquet parts of the logs and errors tables.

use std::time::Duration;

use tracehouse_engine::{EmbeddedStore, EngineConfig, Store};
use tracehouse_store_api::testsuite::correlate::*;

fn config(dir: &std::path::Path) -> EngineConfig {
    let mut c = EngineConfig::new(dir);
    c.flush_interval = Duration::from_secs(3600);
    c.maintenance_interval = Duration::from_secs(3600);
    c
}

#[tokio::test]
async fn logs_errors_and_sessions_in_memtable_after_replay_and_in_parts() {
    let dir = tempfile::tempdir().unwrap();
    {
        let store = EmbeddedStore::open(config(dir.path())).await.unwrap();
        load(store.as_ref()).await;
        check_all(store.as_ref(), "memtable").await;
    }
    let store = EmbeddedStore::open(config(dir.path())).await.unwrap();
    check_all(store.as_ref(), "replayed").await;
    store.flush_now().await.unwrap();
    assert_eq!(store.stats().memtable_rows, 0);
    for table in ["logs", "errors"] {
        let parts = std::fs::read_dir(dir.path().join(table).join("parts"))
            .unwrap()
            .count();
        assert!(parts > 0, "{table} has parts after a flush");
    }
    check_all(store.as_ref(), "parts").await;
    drop(store);
    let store = EmbeddedStore::open(config(dir.path())).await.unwrap();
    check_all(store.as_ref(), "reopened parts").await;
}

#[tokio::test]
async fn compaction_keeps_logs_and_errors() {
    let dir = tempfile::tempdir().unwrap();
    let store = EmbeddedStore::open(config(dir.path())).await.unwrap();
    // Three flushes make three small parts of the logs and errors tables in the same closed
    // hour (the spans, delivered again, are stored once: their errors too).
    for _ in 0..3 {
        load(store.as_ref()).await;
        store.flush_now().await.unwrap();
    }
    let replaced = store.compact(END + 7200 * S).await.unwrap();
    assert!(
        replaced >= 6,
        "logs and errors parts were merged too ({replaced})"
    );
    let page = store
        .search_logs(&log_query(
            "",
            tracehouse_engine::SearchSort::TimeDesc,
            1000,
        ))
        .await
        .unwrap();
    assert_eq!(page.logs.len(), 3 * logs().len());
    let all = store.errors(&error_query()).await.unwrap();
    let from_spans = tracehouse_model::errors_from_spans(&spans()).len();
    let from_logs = tracehouse_model::errors_from_logs(&logs()).len();
    assert!(from_spans > 0 && from_logs > 0);
    assert_eq!(all.len(), from_spans + 3 * from_logs);
}
