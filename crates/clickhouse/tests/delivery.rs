//! Delivery: the writer's time-based batching (writes within `batch_wait` share one
//! insert, and no write waits longer than that) and exactly-once retries (an insert
//! repeated under its deduplication token — the writer's retry after a lost reply —
//! stores its rows, and what the materialized views derive from them, once).

use crate::common;

use std::io::{Read, Write};
use std::sync::Arc;
use std::time::{Duration, Instant};

use clickhouse::{Client, Row};
use serde::Deserialize;
use tracehouse_clickhouse::row::SpanRow;
use tracehouse_clickhouse::{ClickHouseConfig, ClickHouseStore};
use tracehouse_model::{AttrValue, Event, Span, SpanId, TraceId};
use tracehouse_store_api::Store;

const T0: i64 = 1_700_000_000_000_000_000;

/// Three spans of trace `n`; the first carries an `exception` event (an error row).
fn spans(n: u32) -> Vec<Span> {
    (0..3u32)
        .map(|i| {
            let mut t = [0u8; 16];
            t[..4].copy_from_slice(&n.to_be_bytes());
            let mut s = [0u8; 8];
            s[..4].copy_from_slice(&n.to_be_bytes());
            s[4..].copy_from_slice(&i.to_be_bytes());
            let start = T0 + i64::from(n) * 1000 + i64::from(i);
            Span {
                attributes: [("k".to_string(), AttrValue::Str("v".into()))].into(),
                events: if i == 0 {
                    vec![Event {
                        time_unix_nano: start + 1,
                        name: "exception".into(),
                        attributes: [(
                            "exception.type".to_string(),
                            AttrValue::Str("ValueError".into()),
                        )]
                        .into(),
                        dropped_attributes_count: 0,
                    }]
                } else {
                    vec![]
                },
                has_error: i == 0,
                ..tracehouse_store_api::testsuite::testkit::span(TraceId(t), SpanId(s), start, 5)
            }
        })
        .collect()
}

#[derive(Row, Deserialize)]
struct Count {
    n: u64,
}

async fn count(client: &Client, sql: &str) -> u64 {
    client.query(sql).fetch_one::<Count>().await.unwrap().n
}

/// What one trace of [`spans`] left in every table: spans, errors, the trace index's
/// span count, and the statistics' counts of the attribute key and of its value.
async fn stored(client: &Client) -> [u64; 5] {
    [
        count(client, "SELECT count() AS n FROM spans").await,
        count(client, "SELECT count() AS n FROM errors").await,
        count(
            client,
            "SELECT toUInt64(sum(span_count)) AS n FROM trace_index",
        )
        .await,
        count(
            client,
            "SELECT toUInt64(sum(count)) AS n FROM span_keys WHERE field = 's:k'",
        )
        .await,
        count(
            client,
            "SELECT toUInt64(sum(count)) AS n FROM span_values WHERE field = 's:k' AND value = 'v'",
        )
        .await,
    ]
}

/// Sends the front's test hook: the next `count` inserts into `database` lose their
/// reply. Returns how many drops were still pending before.
fn drop_insert_replies(url: &str, database: &str, count: u32) -> u32 {
    let addr = url.trim_start_matches("http://");
    let mut s = std::net::TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    write!(
        s,
        "POST /__fault/drop_insert_reply?database={database}&count={count} HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut reply = String::new();
    s.read_to_string(&mut reply).unwrap();
    assert!(reply.starts_with("HTTP/1.1 200"), "{reply}");
    reply
        .rsplit("\r\n\r\n")
        .next()
        .and_then(|b| b.trim().parse().ok())
        .unwrap_or_else(|| panic!("unexpected reply {reply}"))
}

#[tokio::test]
async fn a_retry_after_a_lost_reply_stores_the_rows_once() {
    let Some(url) = common::url() else { return };
    if !common::on_front() {
        eprintln!("skipped: needs the chDB front's hook that drops a reply");
        return;
    }
    let mut config = common::config(&url, "lost_reply");
    config.retry_backoff = Duration::from_millis(20);
    let store = ClickHouseStore::open(config.clone()).await.unwrap();
    // The spans insert runs, its reply is lost: the writer cannot tell it from a failed
    // insert and retries it with the same token.
    assert_eq!(drop_insert_replies(&url, &config.database, 1), 0);
    store.write_spans(spans(1)).await.unwrap();
    assert_eq!(
        drop_insert_replies(&url, &config.database, 0),
        0,
        "the reply was not dropped, so nothing was retried"
    );
    assert_eq!(stored(&config.client()).await, [3, 1, 3, 3, 3]);
    // The write reads back once.
    assert_eq!(
        store.trace("p", spans(1)[0].trace_id).await.unwrap().len(),
        3
    );
}

#[tokio::test]
async fn repeating_an_insert_with_its_token_stores_it_once() {
    let Some(url) = common::url() else { return };
    let config = common::config(&url, "same_token");
    let store = ClickHouseStore::open(config.clone()).await.unwrap();
    let client = config.client();
    let rows: Vec<SpanRow> = spans(2).iter().map(SpanRow::from_span).collect();
    for token in ["t-1", "t-1", "t-2"] {
        let mut insert = client
            .insert::<SpanRow>("spans")
            .await
            .unwrap()
            .with_setting("insert_deduplication_token", token)
            .with_setting("deduplicate_blocks_in_dependent_materialized_views", "1");
        for r in &rows {
            insert.write(r).await.unwrap();
        }
        insert.end().await.unwrap();
    }
    // t-1 twice is stored once (spans and what the views derive); t-2 is a new insert.
    // No errors: this bypasses the writer, which derives them.
    assert_eq!(stored(&client).await, [6, 0, 6, 6, 6]);
    drop(store);
}

fn batched_config(url: &str, test: &str, wait: Duration) -> ClickHouseConfig {
    let mut config = common::config(url, test);
    config.batch_wait = wait;
    config
}

#[tokio::test]
async fn writes_within_the_wait_share_one_insert() {
    let Some(url) = common::url() else { return };
    let config = batched_config(&url, "batch_wait", Duration::from_millis(1500));
    let store: Arc<ClickHouseStore> = ClickHouseStore::open(config.clone()).await.unwrap();
    let before = store.stats().inserts;
    // Five writes 60 ms apart: without a wait each would be inserted on its own, since
    // an insert of a few rows takes less than that.
    let started = Instant::now();
    let mut writers = Vec::new();
    for n in 0..5u32 {
        let store = store.clone();
        writers.push(tokio::spawn(async move {
            store.write_spans(spans(100 + n)).await.unwrap();
        }));
        tokio::time::sleep(Duration::from_millis(60)).await;
    }
    for w in writers {
        w.await.unwrap();
    }
    assert_eq!(
        store.stats().inserts - before,
        1,
        "one insert for five writes"
    );
    assert!(started.elapsed() >= Duration::from_millis(1500));
    assert_eq!(stored(&config.client()).await[0], 15);
}

#[tokio::test]
async fn no_write_waits_longer_than_the_wait() {
    let Some(url) = common::url() else { return };
    let wait = Duration::from_millis(150);
    let config = batched_config(&url, "batch_latency", wait);
    let store: Arc<ClickHouseStore> = ClickHouseStore::open(config.clone()).await.unwrap();
    let before = store.stats().inserts;
    // A steady stream of writes for 2.4 s, one every 60 ms: a batch must close `wait`
    // after its first write, however many follow.
    let mut writers = Vec::new();
    let writes = 40u32;
    for n in 0..writes {
        let store = store.clone();
        writers.push(tokio::spawn(async move {
            let t = Instant::now();
            store.write_spans(spans(200 + n)).await.unwrap();
            t.elapsed()
        }));
        tokio::time::sleep(Duration::from_millis(60)).await;
    }
    let mut slowest = Duration::ZERO;
    for w in writers {
        slowest = slowest.max(w.await.unwrap());
    }
    // The wait plus an insert (generous for a loaded machine), far below the stream.
    assert!(
        slowest < wait + Duration::from_millis(1000),
        "a write waited {slowest:?}"
    );
    let inserts = store.stats().inserts - before;
    assert!(
        inserts < u64::from(writes) / 2,
        "{inserts} inserts for {writes} writes"
    );
    // A lone write is not held longer either.
    let t = Instant::now();
    store.write_spans(spans(300)).await.unwrap();
    assert!(t.elapsed() < wait + Duration::from_millis(1000));
    // A flush does not wait for the batch to fill.
    let t = Instant::now();
    let (w, f) = tokio::join!(store.write_spans(spans(301)), store.flush());
    w.unwrap();
    f.unwrap();
    assert!(t.elapsed() < wait + Duration::from_millis(1000));
    assert_eq!(stored(&config.client()).await[0], 3 * u64::from(writes) + 6);
}
