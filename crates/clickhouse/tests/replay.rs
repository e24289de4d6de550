//! Session replay on ClickHouse: the shared suite (`tracehouse_store_api::testsuite::replay`,
//! same data and answers as the embedded store); a resent chunk is merged away by the
//! `ReplacingMergeTree` (the table's layout and retention TTL on a cluster are checked in
//! `cluster.rs`).

use crate::common;

use tracehouse_store_api::testsuite::replay::{check_all, check_paging, load};

#[tokio::test]
async fn shared_replay_suite_on_clickhouse() {
    let Some(store) = common::store("replay_suite").await else {
        return;
    };
    load(store.as_ref()).await;
    check_all(store.as_ref(), "clickhouse").await;
    check_paging(store.as_ref()).await;
}

#[tokio::test]
async fn a_resent_chunk_is_stored_once_after_merges() {
    let Some(store) = common::store("replay_dedup").await else {
        return;
    };
    load(store.as_ref()).await;
    let client = store.client();
    client
        .query("OPTIMIZE TABLE replay FINAL")
        .execute()
        .await
        .unwrap();
    let rows: u64 = client
        .query("SELECT count() FROM replay")
        .fetch_one()
        .await
        .unwrap();
    assert_eq!(rows, 5, "chunk p/s1/1 was sent twice and is stored once");
    check_all(store.as_ref(), "merged").await;
}
