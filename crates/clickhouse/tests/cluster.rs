//! Cluster layout through `Distributed` tables, on the one-node cluster chDB can run.
//!
//! chDB has no Keeper, so neither `ON CLUSTER` DDL nor `Replicated*` engines can run
//! here (their statements are checked by the unit tests in `schema.rs`). What does run
//! is the rest of the cluster layout: the engine gets a `remote_servers` cluster of one
//! shard on the local node, and tracehouse creates local tables with plain engines and
//! `Distributed` tables over them (`Cluster { replicated: false, on_cluster: false }`).
//! The shared search, logs, errors and sessions suites then run through the
//! `Distributed` tables, with the same expected answers as on one server.
//!
//! This binary starts its own front (with that configuration), so it never runs against
//! `TRACEHOUSE_TEST_CLICKHOUSE_URL`.

use crate::common;

use std::sync::Arc;
use std::time::Duration;
use tracehouse_store_api::testsuite::{correlate, semantic};

use clickhouse::{Client, Row};
use serde::Deserialize;
use tracehouse_clickhouse::schema::{Cluster, MIGRATIONS};
use tracehouse_clickhouse::{ClickHouseConfig, ClickHouseStore};

const CLUSTER: &str = "tracehouse_one";

/// A one-shard cluster on the local node: the node's own address (`tcp_port`) makes the
/// shard local, so `Distributed` tables read and write the local tables directly.
fn engine_config() -> String {
    format!(
        "<clickhouse>
  <tcp_port>9000</tcp_port>
  <remote_servers>
    <{CLUSTER}>
      <shard><replica><host>localhost</host><port>9000</port></replica></shard>
    </{CLUSTER}>
  </remote_servers>
  <macros><shard>01</shard><replica>r1</replica></macros>
</clickhouse>
"
    )
}

fn cluster_config(front: &common::Front, test: &str) -> ClickHouseConfig {
    let mut config = ClickHouseConfig::new(front.url());
    config.database = common::database(test);
    // The suites' data is from 2023: a retention would drop it.
    config.retention = None;
    config.cluster = Some(Cluster {
        name: CLUSTER.into(),
        replicated: false,
        on_cluster: false,
    });
    config
}

#[derive(Row, Deserialize)]
struct TableRow {
    name: String,
    engine: String,
    engine_full: String,
}

async fn tables(client: &Client) -> Vec<TableRow> {
    client
        .query(
            "SELECT name, engine, engine_full FROM system.tables \
             WHERE database = currentDatabase() ORDER BY name",
        )
        .fetch_all()
        .await
        .unwrap()
}

#[tokio::test]
async fn the_suites_pass_through_distributed_tables() {
    let dir = tempfile::tempdir().unwrap();
    let xml = dir.path().join("config.xml");
    std::fs::write(&xml, engine_config()).unwrap();
    let Some(front) = common::Front::start_with_config(0, &dir.path().join("chdb"), Some(&xml))
    else {
        return;
    };

    // The layout: local tables with the data, Distributed tables with the names
    // tracehouse uses, views on the local tables.
    let mut layout = cluster_config(&front, "cluster_layout");
    layout.retention = Some(Duration::from_secs(7 * 86_400));
    drop(ClickHouseStore::open(layout.clone()).await.unwrap());
    let got = tables(&layout.client()).await;
    let engine = |name: &str| {
        got.iter()
            .find(|t| t.name == name)
            .unwrap_or_else(|| panic!("no table {name}"))
    };
    for (table, local_engine) in [
        ("spans", "MergeTree"),
        ("trace_index", "AggregatingMergeTree"),
        ("span_keys", "SummingMergeTree"),
        ("span_values", "SummingMergeTree"),
        ("logs", "MergeTree"),
        ("errors", "MergeTree"),
        ("log_keys", "SummingMergeTree"),
        ("log_values", "SummingMergeTree"),
        ("replay", "ReplacingMergeTree"),
        ("otel_metrics", "MergeTree"),
    ] {
        let dist = engine(table);
        assert_eq!(dist.engine, "Distributed", "{table}");
        assert!(
            dist.engine_full.contains(&format!("'{table}_local'")),
            "{table}: {}",
            dist.engine_full
        );
        let local = engine(&format!("{table}_local"));
        assert_eq!(local.engine, local_engine, "{table}_local");
        // Retention applies to the local tables (a Distributed table stores nothing).
        assert!(local.engine_full.contains(" TTL "), "{}", local.engine_full);
    }
    assert!(engine("spans").engine_full.contains("cityHash64(trace_id)"));
    assert_eq!(engine("tracehouse_migrations").engine, "ReplacingMergeTree");
    for view in [
        "trace_index_mv",
        "span_keys_mv",
        "span_values_mv",
        "log_keys_mv2",
        "log_values_mv",
    ] {
        assert_eq!(engine(view).engine, "MaterializedView");
    }

    // Search semantics through the Distributed tables.
    let config = cluster_config(&front, "cluster_semantic");
    let store: Arc<ClickHouseStore> = ClickHouseStore::open(config.clone()).await.unwrap();
    let client = config.client();
    semantic::load(store.as_ref()).await;
    // Writes are synchronous: the rows are in the local table when the write returns.
    let local: u64 = client
        .query("SELECT count() FROM spans_local")
        .fetch_one()
        .await
        .unwrap();
    let through: u64 = client
        .query("SELECT count() FROM spans")
        .fetch_one()
        .await
        .unwrap();
    assert!(
        local > 0,
        "{local} local, {through} through the Distributed table"
    );
    assert_eq!(local, through);
    semantic::check_all(store.as_ref(), "clickhouse cluster").await;
    semantic::check_round_trip(store.as_ref()).await;

    // Starting again on the same cluster schema applies and records nothing.
    drop(store);
    let again = ClickHouseStore::open(config.clone()).await.unwrap();
    let recorded: u64 = client
        .query("SELECT count() FROM tracehouse_migrations")
        .fetch_one()
        .await
        .unwrap();
    assert_eq!(recorded, MIGRATIONS.len() as u64);
    semantic::check_all(again.as_ref(), "clickhouse cluster, reopened").await;

    // Logs, errors and sessions.
    let config = cluster_config(&front, "cluster_correlate");
    let store = ClickHouseStore::open(config).await.unwrap();
    correlate::load(store.as_ref()).await;
    correlate::check_all(store.as_ref(), "clickhouse cluster").await;
}
