//! Session replay on the embedded store: the shared suite
//! (`tracehouse_store_api::testsuite::replay`) with the chunks in the memtable, after a
//! reopen (WAL replay) and in Parquet parts; a resend after a flush is stored once;
//! retention drops old replay partitions like any table's.

use std::time::Duration;

use tracehouse_engine::{EmbeddedStore, EngineConfig, Store};
use tracehouse_store_api::testsuite::replay::{T0, check_all, check_paging, chunk, load};

fn config(dir: &std::path::Path) -> EngineConfig {
    let mut c = EngineConfig::new(dir);
    c.flush_interval = Duration::from_secs(3600);
    c.maintenance_interval = Duration::from_secs(3600);
    c.retention = Some(Duration::from_secs(24 * 3600));
    c
}

fn replay_part_rows(dir: &std::path::Path) -> usize {
    let manifest: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.join("replay/manifest.json")).unwrap()).unwrap();
    manifest["parts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["rows"].as_u64().unwrap() as usize)
        .sum()
}

#[tokio::test]
async fn replay_in_memtable_after_replay_and_in_parts() {
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
    assert_eq!(
        replay_part_rows(dir.path()),
        5,
        "the resent chunk was stored once"
    );
    check_all(store.as_ref(), "parts").await;
    // A resend after the flush finds the chunk in its part.
    store
        .write_replay(vec![chunk("p", "s1", 0), chunk("p", "s1", 2)])
        .await
        .unwrap();
    assert_eq!(store.stats().memtable_rows, 0, "nothing new to store");
    check_all(store.as_ref(), "resent after flush").await;
    check_paging(store.as_ref()).await;
}

#[tokio::test]
async fn retention_drops_old_replay_partitions() {
    let dir = tempfile::tempdir().unwrap();
    let store = EmbeddedStore::open(config(dir.path())).await.unwrap();
    load(store.as_ref()).await;
    store.flush_now().await.unwrap();
    assert!(
        store
            .apply_retention(T0 + 3600 * 1_000_000_000)
            .await
            .unwrap()
            == 0
    );
    check_all(store.as_ref(), "within retention").await;
    let two_days = T0 + 2 * 24 * 3600 * 1_000_000_000;
    assert!(store.apply_retention(two_days).await.unwrap() > 0);
    let page = store
        .replay(&tracehouse_store_api::ReplayQuery {
            project_id: "p".into(),
            session_id: "s1".into(),
            after: None,
        })
        .await
        .unwrap();
    assert!(page.chunks.is_empty(), "expired chunks are gone");
}

#[tokio::test]
async fn compaction_merges_replay_parts() {
    let dir = tempfile::tempdir().unwrap();
    let store = EmbeddedStore::open(config(dir.path())).await.unwrap();
    for batch in [
        vec![chunk("p", "s1", 2), chunk("p", "s2", 0)],
        vec![chunk("p", "s1", 0), chunk("q", "s1", 7)],
        vec![chunk("p", "s1", 1)],
    ] {
        store.write_replay(batch).await.unwrap();
        store.flush_now().await.unwrap();
    }
    let replaced = store.compact(T0 + 7200 * 1_000_000_000).await.unwrap();
    assert!(replaced >= 2, "replay parts were merged ({replaced})");
    check_all(store.as_ref(), "compacted").await;
}
