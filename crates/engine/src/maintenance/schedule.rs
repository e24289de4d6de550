//! When upkeep runs: each table's maintenance loop flushes when the memtable reaches its row
//! or byte threshold or the flush interval passes (retrying a failed flush with backoff,
//! with or without new writes), and runs retention and compaction on their interval.

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

/// Flushes, compacts and applies retention to a table on the configured schedule, until
/// the table is dropped.
pub(crate) async fn maintenance_loop(store: std::sync::Weak<TableEngine>) {
    let mut last_flush = Instant::now();
    let mut last_maintenance = Instant::now();
    let mut retry = FIRST_FLUSH_RETRY;
    loop {
        tokio::time::sleep(Duration::from_millis(250)).await;
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
        if due {
            match store.flush_now().await {
                Ok(()) => {
                    if failing {
                        tracing::info!(
                            table = store.table.name(),
                            "memtable flush succeeded again"
                        );
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
        if last_maintenance.elapsed() >= store.config.maintenance_interval {
            last_maintenance = Instant::now();
            if let Err(e) = store.apply_retention(now_ns()).await {
                tracing::error!(error = %e, "retention failed");
            }
            if let Err(e) = store.compact(now_ns()).await {
                tracing::error!(error = %e, "compaction failed");
            }
        }
    }
}
