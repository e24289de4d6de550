//! The memtable: acknowledged rows not yet in parts, as Arrow batches with their running
//! key/value statistics, and the live state of a table (memtable plus live parts) that
//! readers snapshot.
//!
//! Rows arrive in the *active* half; a flush first *freezes* it (the WAL segment it came
//! from is sealed at the same moment) and then writes the frozen half to parts. New writes
//! keep landing in the active half meanwhile.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use datafusion::arrow::array::RecordBatch;
use tokio::sync::Notify;
use tracehouse_store_api::stats::KeyStats;

use crate::storage::part::Part;
use crate::storage::stats::merge_into;

/// Key/value statistics per (project, hour).
pub(crate) type PartitionStats = HashMap<(String, i64), KeyStats>;

/// Arrow bytes held by a batch's buffers.
pub(crate) fn arrow_bytes(batch: &RecordBatch) -> usize {
    batch.get_array_memory_size()
}

/// The Arrow bytes the memtables of all tables hold together, against the limit they share.
/// A write that finds them full waits a little for a flush to give bytes back (the writes
/// waiting hold at most an eighth of the limit between them) and is refused, retryably,
/// when none does in time.
#[derive(Debug)]
pub(crate) struct MemtableBudget {
    limit: usize,
    used: AtomicUsize,
    /// Bytes of the writes waiting for room.
    waiting: AtomicUsize,
    /// Woken whenever bytes are given back.
    freed: Notify,
}

impl MemtableBudget {
    /// A budget of `limit` bytes, none used.
    pub(crate) fn new(limit: usize) -> Arc<MemtableBudget> {
        Arc::new(MemtableBudget {
            limit,
            used: AtomicUsize::new(0),
            waiting: AtomicUsize::new(0),
            freed: Notify::new(),
        })
    }

    /// Bytes held by every memtable.
    pub(crate) fn used(&self) -> usize {
        self.used.load(Ordering::Relaxed)
    }

    /// Whether the memtables hold their limit or more.
    pub(crate) fn is_full(&self) -> bool {
        self.used() >= self.limit
    }

    /// Waits until the memtables are below their limit, for at most `patience`, holding a
    /// write of `bytes` meanwhile; returns at once when they are, or when the writes already
    /// waiting hold their share. The caller then checks [`MemtableBudget::is_full`].
    pub(crate) async fn wait_for_room(&self, bytes: usize, patience: Duration) {
        let share = self.limit / 8;
        let held = self.waiting.fetch_add(bytes, Ordering::Relaxed);
        if held.saturating_add(bytes) <= share {
            let deadline = tokio::time::Instant::now() + patience;
            loop {
                let freed = self.freed.notified();
                tokio::pin!(freed);
                freed.as_mut().enable();
                if !self.is_full() || tokio::time::timeout_at(deadline, freed).await.is_err() {
                    break;
                }
            }
        }
        self.waiting.fetch_sub(bytes, Ordering::Relaxed);
    }

    fn take(&self, bytes: usize) {
        self.used.fetch_add(bytes, Ordering::Relaxed);
    }

    fn give_back(&self, bytes: usize) {
        self.used.fetch_sub(bytes, Ordering::Relaxed);
        self.freed.notify_waiters();
    }
}

/// Rows not yet in parts.
pub(crate) struct Memtable {
    /// The budget this memtable's bytes count against.
    budget: Arc<MemtableBudget>,
    pub(crate) active: Vec<RecordBatch>,
    pub(crate) active_rows: usize,
    /// Arrow bytes of `active`.
    pub(crate) active_bytes: usize,
    /// Statistics of `active`, kept up to date as writes are acknowledged.
    pub(crate) active_stats: PartitionStats,
    pub(crate) frozen: Vec<RecordBatch>,
    pub(crate) frozen_rows: usize,
    /// Arrow bytes of `frozen`.
    pub(crate) frozen_bytes: usize,
    /// Statistics of `frozen`.
    pub(crate) frozen_stats: PartitionStats,
}

impl Memtable {
    /// A memtable holding `batches` (replayed from the WAL) in its active half, counted
    /// against `budget`.
    pub(crate) fn replayed(
        budget: Arc<MemtableBudget>,
        batches: Vec<RecordBatch>,
        stats: PartitionStats,
    ) -> Memtable {
        let active_bytes = batches.iter().map(arrow_bytes).sum();
        budget.take(active_bytes);
        Memtable {
            budget,
            active_rows: batches.iter().map(RecordBatch::num_rows).sum(),
            active_bytes,
            active: batches,
            active_stats: stats,
            frozen: Vec::new(),
            frozen_rows: 0,
            frozen_bytes: 0,
            frozen_stats: PartitionStats::new(),
        }
    }

    /// Rows and Arrow bytes waiting for a flush (both halves).
    pub(crate) fn waiting(&self) -> (usize, usize) {
        (
            self.active_rows + self.frozen_rows,
            self.active_bytes + self.frozen_bytes,
        )
    }

    /// Adds an acknowledged batch and its statistics to the active half.
    pub(crate) fn publish(&mut self, batch: &RecordBatch, stats: &PartitionStats) {
        let bytes = arrow_bytes(batch);
        self.budget.take(bytes);
        self.active_rows += batch.num_rows();
        self.active_bytes += bytes;
        self.active.push(batch.clone());
        merge_into(&mut self.active_stats, stats);
    }

    /// Moves the active half into the frozen half (which a flush then writes out).
    pub(crate) fn freeze(&mut self) {
        self.frozen.append(&mut self.active);
        self.frozen_rows += std::mem::take(&mut self.active_rows);
        self.frozen_bytes += std::mem::take(&mut self.active_bytes);
        let active = std::mem::take(&mut self.active_stats);
        merge_into(&mut self.frozen_stats, &active);
    }

    /// Empties the frozen half once its rows are committed in parts.
    pub(crate) fn clear_frozen(&mut self) {
        self.budget.give_back(self.frozen_bytes);
        self.frozen.clear();
        self.frozen_rows = 0;
        self.frozen_bytes = 0;
        self.frozen_stats.clear();
    }

    /// Every batch, frozen half first.
    pub(crate) fn batches(&self) -> Vec<RecordBatch> {
        self.frozen.iter().chain(&self.active).cloned().collect()
    }

    /// The statistics of both halves.
    pub(crate) fn stats(&self) -> [&PartitionStats; 2] {
        [&self.active_stats, &self.frozen_stats]
    }
}

/// What a table holds right now: the memtable and the live parts. Readers take a snapshot
/// of both under one read lock.
pub(crate) struct TableState {
    pub(crate) mem: Memtable,
    pub(crate) parts: Vec<Arc<Part>>,
}

impl Drop for Memtable {
    fn drop(&mut self) {
        let held = self.active_bytes + self.frozen_bytes;
        self.budget.give_back(held);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn a_write_waits_for_a_flush_to_give_room_back() {
        let budget = MemtableBudget::new(800);
        budget.take(800);
        let waiter = {
            let budget = budget.clone();
            tokio::spawn(async move { budget.wait_for_room(100, Duration::from_secs(2)).await })
        };
        tokio::time::sleep(Duration::from_millis(500)).await;
        assert!(
            !waiter.is_finished(),
            "returned while the memtables were full"
        );
        budget.give_back(300);
        tokio::time::timeout(Duration::from_millis(10), waiter)
            .await
            .expect("the waiter was not woken by the bytes given back")
            .unwrap();
        assert!(!budget.is_full());
        assert_eq!(budget.waiting.load(Ordering::Relaxed), 0);
    }

    #[tokio::test(start_paused = true)]
    async fn a_write_waits_no_longer_than_its_patience_nor_past_the_share() {
        let budget = MemtableBudget::new(800);
        budget.take(800);
        let started = tokio::time::Instant::now();
        budget.wait_for_room(100, Duration::from_secs(2)).await;
        assert_eq!(started.elapsed(), Duration::from_secs(2));
        assert!(budget.is_full());
        // Waiting writes may hold an eighth of the limit: a larger one does not wait.
        let started = tokio::time::Instant::now();
        budget.wait_for_room(101, Duration::from_secs(2)).await;
        assert_eq!(started.elapsed(), Duration::ZERO);
        assert_eq!(budget.waiting.load(Ordering::Relaxed), 0);
    }
}
