//! OTLP metrics on ClickHouse: the shared suite
//! (`tracehouse_store_api::testsuite::otel_metrics`, same data and answers as the embedded
//! store, functions included) over the `otel_metrics` table.

use crate::common;

use tracehouse_store_api::testsuite::otel_metrics::{check_queries, check_storage, load};

#[tokio::test]
async fn shared_otel_metrics_suite_on_clickhouse() {
    let Some(store) = common::store("otel_metrics_suite").await else {
        return;
    };
    load(store.as_ref()).await;
    check_storage(store.as_ref(), "clickhouse").await;
    check_queries(store.as_ref()).await;
}
