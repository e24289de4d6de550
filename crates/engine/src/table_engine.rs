//! One table of the embedded store (spans, logs or errors): its directory, WAL thread,
//! memtable, live parts and committed manifest, and the write entry point. Reads
//! (`read::table`) and upkeep (`maintenance`) add their methods in their own folders.
//!
//! Invariants:
//! - a write is acknowledged only after its WAL record is fsynced;
//! - every acknowledged row is in exactly one of: the active memtable, the frozen memtable
//!   (being flushed), or a live part — readers see one consistent snapshot of the three;
//! - the manifest is the only commit point for parts; files it does not name are garbage
//!   and are removed at open.

use std::sync::Arc;
use std::sync::atomic::AtomicU64;
use std::time::Duration;

use datafusion::arrow::array::RecordBatch;
use datafusion::execution::runtime_env::RuntimeEnv;
use parking_lot::RwLock;
use tokio::sync::Mutex;

use crate::config::EngineConfig;
use crate::error::StoreError;
use crate::storage::HOUR_NS;
use crate::storage::cells::PartitionCells;
use crate::storage::footers::Footers;
use crate::storage::manifest::Manifest;
use crate::storage::quarantine::{self, QuarantinedPart};
use crate::storage::stats::merge_into;
use crate::storage::table::Table;
use crate::storage::table_dir::TableDir;
use crate::write::group_commit::Writer;

/// How long a write waits for a flush to free memtable room before it is refused: about
/// what a flush of a full memtable takes on a busy two-core machine.
const ADMIT_PATIENCE: Duration = Duration::from_secs(2);
use crate::write::memtable::{Memtable, MemtableBudget, PartitionStats, TableState};
use crate::write::wal::Wal;

/// Counts and total durations of maintenance operations, for metrics.
#[derive(Debug, Default)]
pub(crate) struct MaintenanceTimes {
    pub(crate) flushes: AtomicU64,
    pub(crate) flush_micros: AtomicU64,
    pub(crate) compactions: AtomicU64,
    pub(crate) compaction_micros: AtomicU64,
}

/// One table of the embedded store: its WAL, memtable, parts and manifest.
pub(crate) struct TableEngine {
    pub(crate) table: Table,
    pub(crate) dirs: TableDir,
    pub(crate) config: EngineConfig,
    pub(crate) state: Arc<RwLock<TableState>>,
    pub(crate) writer: Writer,
    /// The memory budget the memtables of every table share.
    pub(crate) budget: Arc<MemtableBudget>,
    /// Query execution: its memory pool and the cache of Parquet metadata.
    pub(crate) runtime: Arc<RuntimeEnv>,
    /// Serialises commits (flush, compaction, retention, quarantine); holds the committed
    /// manifest. Compaction holds it only to choose its merges and to commit each.
    pub(crate) manifest: Mutex<Manifest>,
    /// One compaction at a time (the upkeep loop's, or one asked for directly).
    pub(crate) compaction: Mutex<()>,
    pub(crate) times: MaintenanceTimes,
    /// Why the last flush failed, until one succeeds.
    pub(crate) flush_failure: parking_lot::Mutex<Option<String>>,
    /// Parts set aside as damaged (this run and earlier ones, from the quarantine records).
    pub(crate) quarantined: parking_lot::Mutex<Vec<QuarantinedPart>>,
    /// The parts' span metrics cells merged per partition, for span metrics queries.
    pub(crate) cells: PartitionCells,
}

impl TableEngine {
    /// Opens (or creates) one table under `config.data_dir`: removes uncommitted files,
    /// loads the live parts, replays the WAL into the memtable and starts the WAL thread.
    /// Its memtable counts against `budget`, its queries run in `runtime` and its parts
    /// keep their footers in `footers`.
    pub(crate) fn open(
        table: Table,
        config: &EngineConfig,
        budget: Arc<MemtableBudget>,
        runtime: Arc<RuntimeEnv>,
        footers: Arc<Footers>,
    ) -> Result<TableEngine, StoreError> {
        let dirs = TableDir::create(table, &config.data_dir, footers)?;
        let opened = dirs.open(table)?;
        let (wal, replayed) = Wal::open(&dirs.wal(), opened.manifest.wal_flushed_seq)?;
        let mut replayed_stats = PartitionStats::new();
        for b in &replayed.batches {
            merge_into(&mut replayed_stats, &table.stats(b, HOUR_NS)?);
        }
        let mem = Memtable::replayed(budget.clone(), replayed.batches, replayed_stats);
        tracing::info!(
            ?table,
            parts = opened.parts.len(),
            replayed_rows = mem.active_rows,
            truncated_bytes = replayed.truncated_bytes,
            "opened embedded store at {}",
            dirs.dir.display()
        );
        let state = Arc::new(RwLock::new(TableState {
            mem,
            parts: opened.parts,
        }));
        Ok(TableEngine {
            table,
            writer: Writer::spawn(wal, state.clone())?,
            budget,
            runtime,
            quarantined: parking_lot::Mutex::new(quarantine::load(&dirs.dir)),
            cells: PartitionCells::new(config.span_cells_bytes),
            dirs,
            config: config.clone(),
            state,
            manifest: Mutex::new(opened.manifest),
            compaction: Mutex::new(()),
            times: MaintenanceTimes::default(),
            flush_failure: parking_lot::Mutex::new(None),
        })
    }

    /// Whether the table takes a write of `bytes`: refused (retryable) while too many rows
    /// of this table, or too many bytes of all tables, wait for a flush. A write that finds
    /// the bytes at their limit first waits up to [`ADMIT_PATIENCE`] for a flush to free
    /// room, so that a client sending at full speed is slowed down rather than refused. A
    /// write that spans tables is admitted by each before any of them is appended to, so
    /// that a refusal never leaves half of it stored for the client's retry to store again.
    pub(crate) async fn admit(&self, bytes: usize) -> Result<(), StoreError> {
        if self.budget.is_full() {
            self.budget.wait_for_room(bytes, ADMIT_PATIENCE).await;
        }
        let (rows, _) = self.state.read().mem.waiting();
        if rows >= self.config.max_memtable_rows || self.budget.is_full() {
            return Err(StoreError::Overloaded(format!(
                "{rows} rows of {} and {} MiB of all tables are waiting to be flushed",
                self.table.name(),
                self.budget.used() >> 20
            )));
        }
        Ok(())
    }

    /// Appends rows durably (admitted first with [`TableEngine::admit`]): returns once
    /// their WAL record is fsynced and they are in the memtable.
    pub(crate) async fn append(&self, batch: RecordBatch) -> Result<(), StoreError> {
        if batch.num_rows() == 0 {
            return Ok(());
        }
        let stats = self.table.stats(&batch, HOUR_NS)?;
        self.writer.append(batch, stats).await
    }
}
