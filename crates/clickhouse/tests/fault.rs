//! Fault tolerance: ClickHouse (the chDB front) stops in the middle of ingest. Writers
//! get retryable errors while it is down; once it is back every acknowledged span is
//! there exactly once, and the rejected batches go in when retried (at least once).
//!
//! This binary starts its own front (it kills it), so it never runs against
//! `TRACEHOUSE_TEST_CLICKHOUSE_URL`.

use crate::common;

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

use clickhouse::Row;
use serde::Deserialize;
use tracehouse_clickhouse::{ClickHouseConfig, ClickHouseStore};
use tracehouse_model::{Span, SpanId, TraceId};
use tracehouse_store_api::Store;

const T0: i64 = 1_700_000_000_000_000_000;

fn batch(n: u32) -> Vec<Span> {
    (0..10u32)
        .map(|i| {
            let mut t = [0u8; 16];
            t[..4].copy_from_slice(&n.to_be_bytes());
            let mut s = [0u8; 8];
            s[..4].copy_from_slice(&n.to_be_bytes());
            s[4..].copy_from_slice(&i.to_be_bytes());
            let start = T0 + i64::from(n) * 1000 + i64::from(i);
            Span {
                name: format!("op{i}"),
                ..tracehouse_store_api::testsuite::testkit::span(TraceId(t), SpanId(s), start, 5)
            }
        })
        .collect()
}

#[derive(Row, Deserialize)]
struct Ids {
    span_id: [u8; 8],
}

#[tokio::test]
async fn front_stopped_mid_ingest_loses_nothing_acknowledged() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("chdb");
    let Some(mut front) = common::Front::start(0, &data) else {
        return;
    };
    let port = front.port;
    let mut config = ClickHouseConfig::new(front.url());
    config.database = common::database("fault");
    config.retention = None;
    config.insert_attempts = 2;
    config.retry_backoff = Duration::from_millis(20);
    config.insert_timeout = Duration::from_secs(5);
    let store: Arc<ClickHouseStore> = ClickHouseStore::open(config.clone()).await.unwrap();

    // Writers keep sending distinct batches; each records the batches acknowledged.
    let acked = Arc::new(parking_lot::Mutex::new(BTreeSet::new()));
    let rejected = Arc::new(parking_lot::Mutex::new(Vec::new()));
    let writers: Vec<_> = (0..3u32)
        .map(|w| {
            let store = store.clone();
            let acked = acked.clone();
            let rejected = rejected.clone();
            tokio::spawn(async move {
                for k in 0..40u32 {
                    let n = w * 1000 + k;
                    match store.write_spans(batch(n)).await {
                        Ok(()) => {
                            acked.lock().insert(n);
                        }
                        Err(e) => {
                            assert!(e.is_retryable(), "not retryable: {e}");
                            rejected.lock().push(n);
                        }
                    }
                    tokio::time::sleep(Duration::from_millis(20)).await;
                }
            })
        })
        .collect();
    tokio::time::sleep(Duration::from_millis(300)).await;
    front.stop();
    // While it is down: writes and reads fail with retryable errors.
    let err = store.write_spans(batch(9999)).await.unwrap_err();
    assert!(err.is_retryable(), "{err}");
    let err = store.trace("p", TraceId([0; 16])).await.unwrap_err();
    assert!(err.is_retryable(), "{err}");
    tokio::time::sleep(Duration::from_millis(500)).await;
    let mut front = common::Front::start(port, &data).expect("restart the front");
    for w in writers {
        w.await.unwrap();
    }
    let acked = acked.lock().clone();
    let rejected = rejected.lock().clone();
    assert!(!acked.is_empty());
    assert!(!rejected.is_empty(), "the outage was not observed");
    // Clients retry what was rejected.
    for n in &rejected {
        store.write_spans(batch(*n)).await.unwrap();
    }
    store.write_spans(batch(9999)).await.unwrap();
    let ids: Vec<Ids> = config
        .client()
        .query("SELECT span_id FROM spans")
        .fetch_all()
        .await
        .unwrap();
    let mut seen = BTreeSet::new();
    let mut twice = BTreeSet::new();
    for r in &ids {
        if !seen.insert(r.span_id) {
            twice.insert(u32::from_be_bytes([
                r.span_id[0],
                r.span_id[1],
                r.span_id[2],
                r.span_id[3],
            ]));
        }
    }
    // Delivery is at least once: a batch rejected after an ambiguous failure (ClickHouse
    // stored it, the answer was lost) may be stored again when the client retries it.
    // An acknowledged batch is stored exactly once.
    for n in &twice {
        assert!(
            rejected.contains(n),
            "acknowledged batch {n} stored twice; rejected {rejected:?}"
        );
    }
    for n in acked.iter().chain(rejected.iter()).chain([9999].iter()) {
        for s in batch(*n) {
            assert!(seen.contains(&s.span_id.0), "batch {n} lost a span");
        }
    }
    front.stop();
}
