//! Schema migrations: fresh database, re-run (no-op), concurrent starters, upgrade from
//! the previous version with data in it, and a schema newer than the build.

use crate::common;

use clickhouse::Row;
use serde::Deserialize;
use tracehouse_clickhouse::row::SpanRow;
use tracehouse_clickhouse::schema::{MIGRATIONS, latest_version};
use tracehouse_clickhouse::{
    ClickHouseError, ClickHouseStore, create_database, migrate, schema_version,
};
use tracehouse_model::{AttrValue, Event, Span, SpanId, TraceId};
use tracehouse_query::plan::{Target, resolve_key};
use tracehouse_store_api::{ErrorQuery, Store, ValuesQuery};

const T0: i64 = 1_700_000_000_000_000_000;

fn span(id: u8, service: &str) -> Span {
    Span {
        service_name: service.into(),
        attributes: [("k".to_string(), AttrValue::Str("v".into()))].into(),
        ..tracehouse_store_api::testsuite::testkit::span(
            TraceId([id; 16]),
            SpanId([id; 8]),
            T0 + i64::from(id),
            10,
        )
    }
}

#[derive(Row, Deserialize)]
struct Count {
    n: u64,
}

async fn migration_rows(client: &clickhouse::Client) -> u64 {
    client
        .query("SELECT count() AS n FROM tracehouse_migrations FINAL")
        .fetch_one::<Count>()
        .await
        .unwrap()
        .n
}

async fn tables(client: &clickhouse::Client) -> Vec<String> {
    client
        .query("SELECT name FROM system.tables WHERE database = currentDatabase() ORDER BY name")
        .fetch_all::<String>()
        .await
        .unwrap()
}

#[tokio::test]
async fn fresh_database_then_rerun_is_a_no_op() {
    let Some(url) = common::url() else { return };
    let config = common::config(&url, "fresh");
    let client = config.client();
    let store = ClickHouseStore::open(config.clone()).await.unwrap();
    let ddl = config.ddl();
    assert_eq!(
        schema_version(&client, &ddl).await.unwrap(),
        latest_version()
    );
    assert_eq!(migration_rows(&client).await, MIGRATIONS.len() as u64);
    let names = tables(&client).await;
    for t in [
        "spans",
        "trace_index",
        "trace_index_mv",
        "span_keys",
        "span_keys_mv",
        "span_values",
        "span_values_mv",
        "logs",
        "errors",
        "log_keys",
        "log_keys_mv2",
        "log_values",
        "log_values_mv",
        "tracehouse_migrations",
    ] {
        assert!(names.iter().any(|n| n == t), "{t} missing from {names:?}");
    }
    drop(store);
    // Re-running applies nothing and records nothing.
    assert_eq!(
        migrate(&client, &ddl, latest_version()).await.unwrap(),
        latest_version()
    );
    let again = ClickHouseStore::open(config).await.unwrap();
    assert_eq!(migration_rows(&client).await, MIGRATIONS.len() as u64);
    again.write_spans(vec![span(1, "a")]).await.unwrap();
    assert_eq!(again.trace("p", TraceId([1; 16])).await.unwrap().len(), 1);
}

#[tokio::test]
async fn concurrent_starters_converge() {
    let Some(url) = common::url() else { return };
    let config = common::config(&url, "concurrent");
    create_database(&config).await.unwrap();
    let client = config.client();
    let runs: Vec<_> = (0..4)
        .map(|_| {
            let c = client.clone();
            let ddl = config.ddl();
            tokio::spawn(async move { migrate(&c, &ddl, latest_version()).await })
        })
        .collect();
    for r in runs {
        assert_eq!(r.await.unwrap().unwrap(), latest_version());
    }
    assert_eq!(
        schema_version(&client, &config.ddl()).await.unwrap(),
        latest_version()
    );
    assert_eq!(migration_rows(&client).await, MIGRATIONS.len() as u64);
}

const HOUR_NS: i64 = 3_600_000_000_000;

/// The services of the spans of project `p` in `[start_ns, end_ns)`, as autocomplete
/// counts them, sorted.
async fn services(store: &ClickHouseStore, start_ns: i64, end_ns: i64) -> Vec<String> {
    let values = store
        .values(&ValuesQuery {
            target: Target::Spans,
            project_id: "p".into(),
            field: resolve_key("service", Target::Spans),
            start_ns,
            end_ns,
            prefix: String::new(),
            limit: 10,
        })
        .await
        .unwrap();
    let mut got: Vec<String> = values.into_iter().map(|v| v.value).collect();
    got.sort();
    got
}

/// The table each migration adds last (absent before it is applied).
const ADDED_BY: &[(u32, &str)] = &[
    (1, "trace_index_mv"),
    (2, "span_values"),
    (3, "errors"),
    (5, "log_values_mv"),
    (7, "saved_views"),
    (8, "replay"),
    (9, "span_metrics_mv"),
    (10, "otel_metrics"),
    (11, "alert_docs"),
    (11, "alert_history"),
    (11, "alert_lease"),
    (12, "log_keys_mv2"),
];

/// The settings each later migration changes: (version, table, setting text).
const SETTINGS_BY: &[(u32, &str, &str)] = &[
    (
        4,
        "trace_index",
        "non_replicated_deduplication_window = 1000",
    ),
    (4, "span_keys", "non_replicated_deduplication_window = 1000"),
    (
        4,
        "span_values",
        "non_replicated_deduplication_window = 1000",
    ),
];

/// The skip indexes each later migration adds, and the one it replaces: (version, table,
/// added index, dropped index).
const INDEXES_BY: &[(u32, &str, &str, &str)] = &[(6, "logs", "idx_body_tokens", "idx_body")];

async fn has_index(client: &clickhouse::Client, table: &str, index: &str) -> bool {
    client
        .query(
            "SELECT count() FROM system.data_skipping_indices \
             WHERE database = currentDatabase() AND table = ? AND name = ?",
        )
        .bind(table)
        .bind(index)
        .fetch_one::<u64>()
        .await
        .unwrap()
        > 0
}

async fn engine_full(client: &clickhouse::Client, table: &str) -> String {
    client
        .query(
            "SELECT engine_full FROM system.tables WHERE database = currentDatabase() AND name = ?",
        )
        .bind(table)
        .fetch_one::<String>()
        .await
        .unwrap()
}

#[tokio::test]
async fn upgrade_from_every_previous_version_keeps_data() {
    let Some(url) = common::url() else { return };
    let listed: std::collections::BTreeSet<u32> = ADDED_BY
        .iter()
        .map(|(v, _)| *v)
        .chain(SETTINGS_BY.iter().map(|(v, _, _)| *v))
        .chain(INDEXES_BY.iter().map(|(v, _, _, _)| *v))
        .collect();
    assert_eq!(
        listed.len(),
        MIGRATIONS.len(),
        "list what the new migration adds or changes"
    );
    for previous in 1..latest_version() {
        let config = common::config(&url, &format!("upgrade{previous}"));
        create_database(&config).await.unwrap();
        let client = config.client();
        let ddl = config.ddl();
        assert_eq!(migrate(&client, &ddl, previous).await.unwrap(), previous);
        let names = tables(&client).await;
        for (version, table) in ADDED_BY {
            let present = names.iter().any(|t| t == table);
            assert_eq!(
                present,
                *version <= previous,
                "{table} at version {previous}"
            );
        }
        for (version, table, setting) in SETTINGS_BY {
            if names.iter().any(|t| t == table) {
                let engine = engine_full(&client, table).await;
                assert_eq!(
                    engine.contains(setting),
                    *version <= previous,
                    "{table} at version {previous}: {engine}"
                );
            }
        }
        for (version, table, added, dropped) in INDEXES_BY {
            if names.iter().any(|t| t == table) {
                let now = *version <= previous;
                assert_eq!(has_index(&client, table, added).await, now, "{added}");
                assert_eq!(has_index(&client, table, dropped).await, !now, "{dropped}");
            }
        }
        // Data written by a server of the previous version.
        let mut insert = client.insert::<SpanRow>("spans").await.unwrap();
        insert
            .write(&SpanRow::from_span(&span(7, "old")))
            .await
            .unwrap();
        insert.end().await.unwrap();
        // A new server upgrades the schema at start and reads the old data.
        let store = ClickHouseStore::open(config).await.unwrap();
        assert_eq!(
            schema_version(&client, &ddl).await.unwrap(),
            latest_version()
        );
        for (_, table, setting) in SETTINGS_BY {
            let engine = engine_full(&client, table).await;
            assert!(engine.contains(setting), "{table}: {engine}");
        }
        for (_, table, added, dropped) in INDEXES_BY {
            assert!(has_index(&client, table, added).await, "{added}");
            assert!(!has_index(&client, table, dropped).await, "{dropped}");
        }
        let got = store.trace("p", TraceId([7; 16])).await.unwrap();
        assert_eq!(got, vec![span(7, "old")]);
        // New writes feed the statistics, logs and errors added by later versions.
        let mut new = span(8, "new");
        new.events.push(Event {
            time_unix_nano: T0 + 9,
            name: "exception".into(),
            attributes: [(
                "exception.type".to_string(),
                AttrValue::Str("ValueError".into()),
            )]
            .into(),
            dropped_attributes_count: 0,
        });
        store.write_spans(vec![new]).await.unwrap();
        // In a whole hour, old rows count only where the statistics (version 2) already fed
        // on them; a partial hour is counted from the rows.
        let want: &[&str] = if previous >= 2 {
            &["new", "old"]
        } else {
            &["new"]
        };
        let hour = T0 - T0.rem_euclid(HOUR_NS);
        let whole = services(&store, hour, hour + HOUR_NS).await;
        assert_eq!(whole, want, "from version {previous}");
        assert_eq!(
            services(&store, T0, T0 + 1_000_000_000).await,
            ["new", "old"]
        );
        let errors = store
            .errors(&ErrorQuery {
                project_id: "p".into(),
                start_ns: T0,
                end_ns: T0 + 1_000_000_000,
                limit: 10,
                ..Default::default()
            })
            .await
            .unwrap();
        assert_eq!(errors.len(), 1, "{errors:?}");
        assert_eq!(errors[0].trace_id, Some(TraceId([8; 16])));
        let chunk = tracehouse_store_api::testsuite::replay::chunk("p", "s", 0);
        store.write_replay(vec![chunk.clone()]).await.unwrap();
        let page = store
            .replay(&tracehouse_store_api::ReplayQuery {
                project_id: "p".into(),
                session_id: "s".into(),
                after: None,
            })
            .await
            .unwrap();
        assert_eq!(page.chunks, vec![chunk], "from version {previous}");
    }
}

#[tokio::test]
async fn a_newer_schema_is_refused() {
    let Some(url) = common::url() else { return };
    let config = common::config(&url, "newer");
    create_database(&config).await.unwrap();
    let client = config.client();
    migrate(&client, &config.ddl(), latest_version())
        .await
        .unwrap();
    client
        .query("INSERT INTO tracehouse_migrations (version, name) VALUES (999, 'future')")
        .execute()
        .await
        .unwrap();
    let err = ClickHouseStore::open(config).await.unwrap_err();
    assert!(
        matches!(err, ClickHouseError::SchemaTooNew { found: 999, .. }),
        "{err}"
    );
}
