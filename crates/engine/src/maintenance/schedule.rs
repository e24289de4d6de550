//! When upkeep runs: each table has a flush loop, which flushes when the memtable reaches
//! its row or byte threshold or the flush interval passes (retrying a failed flush with
//! backoff, with or without new writes), and beside it an upkeep loop, which runs retention
//! and compaction on their interval (compaction again at once while it finds parts to
//! merge).

use std::sync::Weak;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use crate::table_engine::TableEngine;

fn now_ns() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos() as i64)
        .unwrap_or(0)
}

/// First wait before retrying a failed flush; doubled after each failure up to
/// [`MAX_FLUSH_RETRY`].
const FIRST_FLUSH_RETRY: Duration = Duration::from_millis(500);
const MAX_FLUSH_RETRY: Duration = Duration::from_secs(30);

/// How often the loops look at the table.
const TICK: Duration = Duration::from_millis(250);

/// Flushes a table on the configured schedule, until the table is dropped.
pub(crate) async fn flush_loop(store: Weak<TableEngine>) {
    let mut last_flush = Instant::now();
    let mut retry = FIRST_FLUSH_RETRY;
    loop {
        tokio::time::sleep(TICK).await;
        let Some(store) = store.upgrade() else { return };
        let (rows, bytes, frozen) = {
            let mem = &store.state.read().mem;
            (mem.active_rows, mem.active_bytes, mem.frozen_rows)
        };
        let failing = store.flush_failure.lock().is_some();
        let due = if failing {
            // A failed flush is retried with or without new writes, backing off.
            last_flush.elapsed() >= retry
        } else {
            rows >= store.config.flush_rows
                || bytes >= store.config.flush_bytes
                || ((rows > 0 || frozen > 0) && last_flush.elapsed() >= store.config.flush_interval)
        };
        if !due {
            continue;
        }
        match store.flush_now().await {
            Ok(()) => {
                if failing {
                    tracing::info!(table = store.table.name(), "memtable flush succeeded again");
                }
                retry = FIRST_FLUSH_RETRY;
            }
            Err(e) => {
                tracing::error!(table = store.table.name(), error = %e, "memtable flush failed; retrying in {retry:?}");
                retry = (retry * 2).min(MAX_FLUSH_RETRY);
            }
        }
        last_flush = Instant::now();
    }
}

/// Applies retention and compacts a table on the configured interval (compaction again at
/// once while it finds parts to merge), until the table is dropped. Runs beside
/// [`flush_loop`], so that a long merge never holds up a flush.
pub(crate) async fn upkeep_loop(store: Weak<TableEngine>) {
    let mut last_run = Instant::now();
    let mut backlog = false;
    loop {
        tokio::time::sleep(TICK).await;
        let Some(store) = store.upgrade() else { return };
        if !backlog && last_run.elapsed() < store.config.maintenance_interval {
            continue;
        }
        if !backlog {
            last_run = Instant::now();
            if let Err(e) = store.apply_retention(now_ns()).await {
                tracing::error!(error = %e, "retention failed");
            }
        }
        backlog = match store.compact(now_ns()).await {
            Ok(replaced) => replaced > 0,
            Err(e) => {
                tracing::error!(error = %e, "compaction failed");
                false
            }
        };
    }
}
