//! The span metrics suite (shared with the embedded store, same data, same expected
//! answers) on ClickHouse: the cells of two inserts, merged at query time; and the service
//! map suite; the redelivery suite (a batch delivered again is read once).

use crate::common;

use tracehouse_store_api::Store;
use tracehouse_store_api::testsuite::metrics::*;

#[tokio::test]
async fn span_metrics_on_clickhouse() {
    let Some(store) = common::store("metrics").await else {
        return;
    };
    check_refusals(store.as_ref()).await;
    let spans = data();
    let (first, second) = spans.split_at(spans.len() / 3);
    store.write_spans(first.to_vec()).await.unwrap();
    check_all(store.as_ref(), first, "first insert").await;
    store.write_spans(second.to_vec()).await.unwrap();
    check_all(store.as_ref(), &spans, "both inserts").await;
}

#[tokio::test]
async fn redelivered_spans_on_clickhouse() {
    use tracehouse_store_api::testsuite::redelivery::{batch, check, deliver};
    let Some(store) = common::store("redelivery").await else {
        return;
    };
    let spans = batch();
    deliver(store.as_ref(), &spans).await;
    deliver(store.as_ref(), &spans).await;
    check(store.as_ref(), &spans, "inserted twice").await;
    deliver(store.as_ref(), &spans).await;
    check(store.as_ref(), &spans, "inserted three times").await;
}

#[tokio::test]
async fn service_graph_on_clickhouse() {
    let Some(store) = common::store("graph").await else {
        return;
    };
    let (first, later) = tracehouse_store_api::testsuite::graph::data();
    store.write_spans(first).await.unwrap();
    store.write_spans(later).await.unwrap();
    tracehouse_store_api::testsuite::graph::check(store.as_ref(), "clickhouse").await;
}
