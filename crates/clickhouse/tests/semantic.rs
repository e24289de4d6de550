//! The store semantic suite (shared with the embedded store, same data, same expected
//! answers) on ClickHouse.

use crate::common;

use tracehouse_store_api::testsuite::{semantic, traceql};

#[tokio::test]
async fn search_semantics_on_clickhouse() {
    let Some(store) = common::store("semantic").await else {
        return;
    };
    semantic::load(store.as_ref()).await;
    semantic::check_all(store.as_ref(), "clickhouse").await;
    traceql::check_all(store.as_ref(), "clickhouse").await;
    semantic::check_round_trip(store.as_ref()).await;
}
