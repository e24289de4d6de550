//! The embedded engine: WAL with group commit → memtable → Parquet parts, with background
//! flush, compaction and retention, queried through DataFusion. One [`TableEngine`] per
//! [`Table`] (spans, logs, errors); [`EmbeddedStore`] holds the three behind one lock file.
//!
//! Invariants (per table):
//! - a write is acknowledged only after its WAL record is fsynced;
//! - every acknowledged row is in exactly one of: the active memtable, the frozen memtable
//!   (being flushed), or a live part — readers see one consistent snapshot of the three;
//! - the manifest is the only commit point for parts; files it does not name are garbage
//!   and are removed at open.

use std::collections::HashMap;
use std::fs::{self, File};
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use async_trait::async_trait;
use datafusion::arrow::array::{Array, Int64Array, RecordBatch, StringArray, UInt32Array};
use datafusion::arrow::compute::{concat_batches, take_record_batch};
use datafusion::prelude::col;
use parking_lot::RwLock;
use tokio::sync::{Mutex, mpsc, oneshot};
use tracehouse_model::{LogRecord, Span, TraceId, errors_from_logs, errors_from_spans};
use tracehouse_query::Filter;
use tracehouse_query::plan::Target;

use crate::error::{EngineResult, StoreError};
use crate::read::query::{Snapshot, id_lit, project_is};
use crate::read::search::count_into;
use crate::storage::HOUR_NS;
use crate::storage::log_rows::{errors_to_batch, logs_to_batch};
use crate::storage::manifest::Manifest;
use crate::storage::part::{Part, list_part_files, write_part};
use crate::storage::quarantine::{self, QuarantinedPart};
use crate::storage::schema::{batch_to_spans, col as c, spans_to_batch};
use crate::storage::stats::merge_into;
use crate::storage::table::Table;
use crate::write::wal::{Wal, encode_batch};
use tracehouse_store_api::stats::{KeyStats, MINUTE_NS};
use tracehouse_store_api::structure::{bucket_of, empty_buckets};
use tracehouse_store_api::{
    ErrorGroups, ErrorGroupsQuery, ErrorQuery, Histogram, HistogramQuery, KeyInfo, KeysQuery,
    LogHistogram, LogPage, SearchPage, SearchQuery, SessionSummary, SessionsQuery, Store,
    StoreHealth, StoreMetric, TracePage, ValueCount, ValuesQuery,
};

/// Parts with fewer rows than this are merged by compaction.
const SMALL_PART_ROWS: u64 = 1_000_000;
/// Compaction never builds a part larger than this many rows.
const MAX_MERGED_ROWS: u64 = 4_000_000;
/// An open hour partition is compacted once it has this many small parts.
const OPEN_HOUR_MAX_PARTS: usize = 8;

/// Tuning of the embedded engine.
#[derive(Debug, Clone)]
pub struct EngineConfig {
    /// Root directory of the store (WAL, parts, manifest).
    pub data_dir: PathBuf,
    /// Flush the memtable at least this often.
    pub flush_interval: Duration,
    /// Flush as soon as the memtable holds this many rows.
    pub flush_rows: usize,
    /// Refuse writes (retryable) while the memtable holds more rows than this.
    pub max_memtable_rows: usize,
    /// Flush as soon as the memtable holds this many bytes of Arrow data.
    pub flush_bytes: usize,
    /// Refuse writes (retryable) while the memtable holds more bytes than this.
    pub max_memtable_bytes: usize,
    /// A flush cuts a partition's rows into parts of at most about this many bytes of Arrow
    /// data, so no column of a part's batch nears Arrow's 2 GiB limit of 32-bit offsets
    /// whatever the spans carry; compaction merges parts only up to this size.
    pub part_bytes: usize,
    /// How often compaction and retention run.
    pub maintenance_interval: Duration,
    /// Drop partitions older than this; `None` keeps everything.
    pub retention: Option<Duration>,
}

impl EngineConfig {
    /// Defaults for a store rooted at `data_dir`.
    pub fn new(data_dir: impl Into<PathBuf>) -> Self {
        EngineConfig {
            data_dir: data_dir.into(),
            flush_interval: Duration::from_secs(30),
            flush_rows: 500_000,
            max_memtable_rows: 4_000_000,
            flush_bytes: 256 << 20,
            max_memtable_bytes: 1 << 30,
            part_bytes: 256 << 20,
            maintenance_interval: Duration::from_secs(30),
            retention: None,
        }
    }
}

/// Point-in-time numbers about the embedded engine (all tables together).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct EngineStats {
    /// Bytes in the write-ahead logs not yet flushed to parts.
    pub wal_bytes: u64,
    /// Rows in the memtables (not yet in parts).
    pub memtable_rows: u64,
    /// Live Parquet parts.
    pub parts: u64,
    /// Rows in live parts.
    pub part_rows: u64,
    /// Bytes of live parts on disk.
    pub part_bytes: u64,
    /// Memtable flushes completed since start.
    pub flushes: u64,
    /// Time spent flushing since start, seconds.
    pub flush_seconds: f64,
    /// Compactions completed since start.
    pub compactions: u64,
    /// Time spent compacting since start, seconds.
    pub compaction_seconds: f64,
}

impl EngineStats {
    /// The numbers as the metrics the server exports (names kept from earlier versions).
    fn metrics(&self) -> Vec<StoreMetric> {
        vec![
            StoreMetric::gauge(
                "wal_bytes",
                "Bytes in the write-ahead log",
                self.wal_bytes as f64,
            ),
            StoreMetric::gauge(
                "memtable_rows",
                "Rows in the memtable, not yet in parts",
                self.memtable_rows as f64,
            ),
            StoreMetric::gauge("parts", "Live Parquet parts", self.parts as f64),
            StoreMetric::gauge("part_rows", "Rows in live parts", self.part_rows as f64),
            StoreMetric::gauge(
                "part_bytes",
                "Bytes of live parts on disk",
                self.part_bytes as f64,
            ),
            StoreMetric::counter("flushes", "Memtable flushes", self.flushes as f64),
            StoreMetric::counter(
                "flush_seconds",
                "Time spent flushing the memtable",
                self.flush_seconds,
            ),
            StoreMetric::counter("compactions", "Part compactions", self.compactions as f64),
            StoreMetric::counter(
                "compaction_seconds",
                "Time spent compacting parts",
                self.compaction_seconds,
            ),
        ]
    }
}

/// Key/value statistics per (project, hour).
type PartitionStats = HashMap<(String, i64), KeyStats>;

/// Rows not yet in parts.
#[derive(Default)]
struct Memtable {
    active: Vec<RecordBatch>,
    active_rows: usize,
    /// Arrow bytes of `active`.
    active_bytes: usize,
    /// Statistics of `active`, kept up to date as writes are acknowledged.
    active_stats: PartitionStats,
    frozen: Vec<RecordBatch>,
    frozen_rows: usize,
    /// Arrow bytes of `frozen`.
    frozen_bytes: usize,
    /// Statistics of `frozen`.
    frozen_stats: PartitionStats,
}

#[derive(Default)]
struct State {
    mem: Memtable,
    parts: Vec<Arc<Part>>,
}

enum WalMsg {
    Append {
        payload: Vec<u8>,
        batch: RecordBatch,
        stats: PartitionStats,
        done: oneshot::Sender<Result<(), StoreError>>,
    },
    /// Seal the segment and freeze the memtable; answers the sealed segment number.
    Rotate(oneshot::Sender<Result<u64, StoreError>>),
    RemoveThrough(u64),
}

/// Counts and total durations of maintenance operations, for metrics.
#[derive(Debug, Default)]
struct MaintenanceTimes {
    flushes: AtomicU64,
    flush_micros: AtomicU64,
    compactions: AtomicU64,
    compaction_micros: AtomicU64,
}

/// One table of the embedded store: its WAL, memtable, parts and manifest.
pub struct TableEngine {
    table: Table,
    /// The table's directory (manifest, WAL, parts).
    dir: PathBuf,
    config: EngineConfig,
    parts_dir: PathBuf,
    tmp_dir: PathBuf,
    state: Arc<RwLock<State>>,
    wal_tx: mpsc::Sender<WalMsg>,
    wal: Arc<WalShared>,
    /// Serialises flush, compaction and retention; holds the committed manifest.
    manifest: Mutex<Manifest>,
    times: MaintenanceTimes,
    /// Why the last flush failed, until one succeeds.
    flush_failure: parking_lot::Mutex<Option<String>>,
    /// Parts set aside as damaged (this run and earlier ones, from the quarantine records).
    quarantined: parking_lot::Mutex<Vec<QuarantinedPart>>,
}

/// The embedded store: the spans, logs and errors tables under one data directory.
pub struct EmbeddedStore {
    spans: Arc<TableEngine>,
    logs: Arc<TableEngine>,
    errors: Arc<TableEngine>,
    _lock: File,
}

fn now_ns() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos() as i64)
        .unwrap_or(0)
}

impl EmbeddedStore {
    /// Opens (or creates) the store in `config.data_dir`: takes the directory lock, then opens
    /// each table (removing uncommitted files, loading live parts, replaying its WAL) and
    /// starts the background tasks.
    pub async fn open(config: EngineConfig) -> Result<Arc<EmbeddedStore>, StoreError> {
        let dir = config.data_dir.clone();
        fs::create_dir_all(&dir)?;
        let lock = File::create(dir.join("LOCK"))?;
        lock.try_lock().map_err(|_| {
            StoreError::Io(std::io::Error::other(format!(
                "data directory {} is in use by another tracehouse process",
                dir.display()
            )))
        })?;
        Ok(Arc::new(EmbeddedStore {
            spans: TableEngine::open(Table::Spans, &config).await?,
            logs: TableEngine::open(Table::Logs, &config).await?,
            errors: TableEngine::open(Table::Errors, &config).await?,
            _lock: lock,
        }))
    }

    /// The table a query language target searches.
    fn searched(&self, target: Target) -> &TableEngine {
        match target {
            Target::Spans => &self.spans,
            Target::Logs => &self.logs,
        }
    }

    fn tables(&self) -> [&Arc<TableEngine>; 3] {
        [&self.spans, &self.logs, &self.errors]
    }

    /// The Parquet files of the live spans parts of a project that overlap
    /// `[start_ns, end_ns)`, for tools that read the columns themselves (the benchmark's
    /// percentiles). A later compaction may retire them: read them before the next one.
    pub fn span_part_files(&self, project_id: &str, start_ns: i64, end_ns: i64) -> Vec<PathBuf> {
        let touched = in_window(project_id, start_ns, end_ns);
        let st = self.spans.state.read();
        st.parts
            .iter()
            .filter(|p| touched(p))
            .map(|p| p.path.clone())
            .collect()
    }

    /// The engine's numbers, all tables together.
    pub fn stats(&self) -> EngineStats {
        let mut out = EngineStats::default();
        for t in self.tables() {
            t.add_stats(&mut out);
        }
        out
    }

    /// Moves every table's memtable into new parts.
    pub async fn flush_now(&self) -> Result<(), StoreError> {
        for t in self.tables() {
            t.flush_now().await?;
        }
        Ok(())
    }

    /// Drops every partition whose hour ended before the retention horizon; returns how many
    /// parts were dropped.
    pub async fn apply_retention(&self, now_ns: i64) -> Result<usize, StoreError> {
        let mut dropped = 0;
        for t in self.tables() {
            dropped += t.apply_retention(now_ns).await?;
        }
        Ok(dropped)
    }

    /// Merges the small parts of each partition; returns how many parts were replaced.
    pub async fn compact(&self, now_ns: i64) -> Result<usize, StoreError> {
        let mut replaced = 0;
        for t in self.tables() {
            replaced += t.compact(now_ns).await?;
        }
        Ok(replaced)
    }
}

impl TableEngine {
    /// Opens (or creates) one table under `config.data_dir`.
    async fn open(table: Table, config: &EngineConfig) -> Result<Arc<TableEngine>, StoreError> {
        let dir = table.dir(&config.data_dir);
        let parts_dir = dir.join("parts");
        let tmp_dir = dir.join("tmp");
        for d in [&dir, &parts_dir, &tmp_dir] {
            fs::create_dir_all(d)?;
        }
        let mut manifest = load_manifest(&dir, &parts_dir)?;
        clear_dir(&tmp_dir)?;
        let live: std::collections::HashSet<u64> = manifest.parts.iter().map(|p| p.id).collect();
        for (id, path) in list_part_files(&parts_dir)? {
            manifest.next_part_id = manifest.next_part_id.max(id + 1);
            if !live.contains(&id) {
                tracing::info!(path = %path.display(), "removing uncommitted part file");
                fs::remove_file(path)?;
            }
        }
        let parts = open_parts(table, &dir, &mut manifest)?;
        let (wal, replayed) = Wal::open(&dir.join("wal"), manifest.wal_flushed_seq)?;
        let replayed_rows: usize = replayed.batches.iter().map(|b| b.num_rows()).sum();
        let replayed_bytes: usize = replayed.batches.iter().map(arrow_bytes).sum();
        let mut replayed_stats = PartitionStats::new();
        for b in &replayed.batches {
            merge_into(&mut replayed_stats, &table.stats(b, HOUR_NS)?);
        }
        tracing::info!(
            ?table,
            parts = parts.len(),
            replayed_rows,
            truncated_bytes = replayed.truncated_bytes,
            "opened embedded store at {}",
            dir.display()
        );
        let state = Arc::new(RwLock::new(State {
            mem: Memtable {
                active: replayed.batches,
                active_rows: replayed_rows,
                active_bytes: replayed_bytes,
                active_stats: replayed_stats,
                ..Default::default()
            },
            parts,
        }));
        let wal_shared = Arc::new(WalShared::default());
        wal_shared.bytes.store(wal.bytes(), Ordering::Relaxed);
        let (wal_tx, wal_rx) = mpsc::channel(4096);
        {
            let state = state.clone();
            let shared = wal_shared.clone();
            std::thread::Builder::new()
                .name("tracehouse-wal".into())
                .spawn(move || wal_loop(wal, wal_rx, &state, &shared))?;
        }
        let store = Arc::new(TableEngine {
            table,
            dir: dir.clone(),
            config: config.clone(),
            parts_dir,
            tmp_dir,
            state,
            wal_tx,
            wal: wal_shared,
            manifest: Mutex::new(manifest),
            times: MaintenanceTimes::default(),
            flush_failure: parking_lot::Mutex::new(None),
            quarantined: parking_lot::Mutex::new(quarantine::load(&dir)),
        });
        tokio::spawn(maintenance_loop(Arc::downgrade(&store)));
        Ok(store)
    }

    fn snapshot(&self) -> Snapshot {
        self.snapshot_of(&self.state.read())
    }

    fn snapshot_of(&self, st: &State) -> Snapshot {
        let mut memtable = st.mem.frozen.clone();
        memtable.extend(st.mem.active.iter().cloned());
        Snapshot {
            table: self.table,
            memtable,
            parts: st.parts.clone(),
        }
    }

    /// A histogram of every span of a project from the per-minute counts of the statistics:
    /// whole minutes come from the counts, the partial minutes at the range's edges from a
    /// scan. `None` when the counts cannot answer: a filter or structure, buckets narrower
    /// than a minute, a range inside one minute, or statistics written before minutes were
    /// counted.
    async fn histogram_from_minutes(
        &self,
        q: &HistogramQuery,
    ) -> Result<Option<Histogram>, StoreError> {
        if q.plan.structure.is_some() || q.plan.pushdown != Filter::True {
            return Ok(None);
        }
        let (aligned, width, mut buckets) = empty_buckets(q.start_ns, q.end_ns, q.buckets)?;
        let first_minute =
            q.start_ns.div_euclid(MINUTE_NS) + i64::from(q.start_ns.rem_euclid(MINUTE_NS) != 0);
        let end_minute = q.end_ns.div_euclid(MINUTE_NS);
        if width % MINUTE_NS != 0 || first_minute >= end_minute {
            return Ok(None);
        }
        let overlaps = |hour: i64| {
            hour.saturating_mul(HOUR_NS) < q.end_ns
                && hour.saturating_add(1).saturating_mul(HOUR_NS) > q.start_ns
        };
        let mut minutes = KeyStats::default();
        let snap = {
            let st = self.state.read();
            for p in &st.parts {
                if p.meta.project_id == q.project_id && overlaps(p.meta.hour) {
                    if p.stats.minute_total() != p.meta.rows {
                        return Ok(None);
                    }
                    minutes.merge(&p.stats);
                }
            }
            let mem = [&st.mem.active_stats, &st.mem.frozen_stats];
            let counted: u64 = mem
                .iter()
                .flat_map(|m| m.values())
                .map(KeyStats::minute_total)
                .sum();
            if counted != (st.mem.active_rows + st.mem.frozen_rows) as u64 {
                return Ok(None);
            }
            for ((project, hour), stats) in mem.iter().flat_map(|m| m.iter()) {
                if *project == q.project_id && overlaps(*hour) {
                    minutes.merge(stats);
                }
            }
            self.snapshot_of(&st)
        };
        for (minute, c) in minutes.minutes.range(first_minute..end_minute) {
            let i = bucket_of(
                minute.saturating_mul(MINUTE_NS),
                aligned,
                width,
                buckets.len(),
            );
            if let Some(b) = i.and_then(|i| buckets.get_mut(i)) {
                b.count += c.spans;
                b.error_count += c.errors;
            }
        }
        let edges = [
            (q.start_ns, first_minute * MINUTE_NS),
            (end_minute * MINUTE_NS, q.end_ns),
        ];
        for range in edges.into_iter().filter(|(a, b)| a < b) {
            let grid = (aligned, width);
            count_into(
                &snap,
                &q.project_id,
                &Filter::True,
                range,
                grid,
                &mut buckets,
            )
            .await?;
        }
        Ok(Some(Histogram {
            width_ns: width,
            buckets,
            candidates_truncated: false,
        }))
    }

    /// Key/value statistics of a project over the hours overlapping `[start_ns, end_ns)`,
    /// merged from the parts' sidecars and the memtable's running statistics.
    fn stats_in(&self, project_id: &str, start_ns: i64, end_ns: i64) -> KeyStats {
        let overlaps = |hour: i64| {
            hour.saturating_mul(HOUR_NS) < end_ns
                && hour.saturating_add(1).saturating_mul(HOUR_NS) > start_ns
        };
        let mut out = KeyStats::default();
        let st = self.state.read();
        for p in &st.parts {
            if p.meta.project_id == project_id && overlaps(p.meta.hour) {
                out.merge(&p.stats);
            }
        }
        for stats in [&st.mem.active_stats, &st.mem.frozen_stats] {
            for ((project, hour), s) in stats {
                if project == project_id && overlaps(*hour) {
                    out.merge(s);
                }
            }
        }
        out
    }

    /// Moves the memtable into new parts and drops the WAL segments it came from. A failed
    /// flush leaves nothing behind (its files are removed) and is retried by the
    /// maintenance loop, with or without new writes.
    async fn flush_now(&self) -> Result<(), StoreError> {
        let mut manifest = self.manifest.lock().await;
        let result = self.flush_locked(&mut manifest).await;
        match &result {
            Ok(()) => *self.flush_failure.lock() = None,
            Err(e) => {
                *self.flush_failure.lock() = Some(e.to_string());
                self.discard_uncommitted(&manifest);
            }
        }
        result
    }

    /// Removes what a failed flush or compaction wrote: everything under `tmp/`, and part
    /// files numbered past the committed manifest's.
    fn discard_uncommitted(&self, manifest: &Manifest) {
        let parts = list_part_files(&self.parts_dir).unwrap_or_default();
        let stale = parts
            .into_iter()
            .filter(|(id, _)| *id >= manifest.next_part_id);
        let result = clear_dir(&self.tmp_dir).and_then(|()| {
            let mut stale = stale;
            stale
                .try_for_each(|(_, path)| fs::remove_file(path))
                .map_err(StoreError::from)
        });
        if let Err(e) = result {
            tracing::warn!(error = %e, "could not remove the files of a failed flush or compaction; they go at the next start");
        }
    }

    async fn flush_locked(&self, manifest: &mut Manifest) -> Result<(), StoreError> {
        let started = Instant::now();
        let (tx, rx) = oneshot::channel();
        self.wal_tx
            .send(WalMsg::Rotate(tx))
            .await
            .map_err(|_| StoreError::Closed)?;
        let sealed = rx.await.map_err(|_| StoreError::Closed)??;
        let frozen = self.state.read().mem.frozen.clone();
        if frozen.is_empty() {
            let _ = self.wal_tx.send(WalMsg::RemoveThrough(sealed)).await;
            return Ok(());
        }
        let mut next = manifest.clone();
        let (tmp, parts_dir) = (self.tmp_dir.clone(), self.parts_dir.clone());
        let first_id = next.next_part_id;
        let (table, part_bytes) = (self.table, self.config.part_bytes);
        let new_parts =
            tokio::task::spawn_blocking(move || -> Result<Vec<Arc<Part>>, StoreError> {
                let mut id = first_id;
                let mut parts = Vec::new();
                for (key, batches) in partitions(table, &frozen)? {
                    for chunk in chunks_by_bytes(batches, part_bytes) {
                        let batch = concat_batches(&table.schema(), &chunk).engine()?;
                        let (project, hour) = (&key.project_id, key.hour);
                        parts.push(write_part(
                            table, &tmp, &parts_dir, id, project, hour, &batch,
                        )?);
                        id += 1;
                    }
                }
                Ok(parts)
            })
            .await
            .map_err(|e| StoreError::Io(std::io::Error::other(e)))??;
        next.next_part_id = first_id + new_parts.len() as u64;
        next.wal_flushed_seq = sealed;
        next.parts.extend(new_parts.iter().map(|p| p.meta.clone()));
        let dir = self.dir.clone();
        let to_commit = next.clone();
        tokio::task::spawn_blocking(move || to_commit.commit(&dir))
            .await
            .map_err(|e| StoreError::Io(std::io::Error::other(e)))??;
        {
            let mut st = self.state.write();
            st.parts.extend(new_parts);
            st.mem.frozen.clear();
            st.mem.frozen_rows = 0;
            st.mem.frozen_bytes = 0;
            st.mem.frozen_stats.clear();
        }
        *manifest = next;
        let _ = self.wal_tx.send(WalMsg::RemoveThrough(sealed)).await;
        self.times.flushes.fetch_add(1, Ordering::Relaxed);
        self.times
            .flush_micros
            .fetch_add(started.elapsed().as_micros() as u64, Ordering::Relaxed);
        tracing::debug!(elapsed = ?started.elapsed(), "flushed memtable");
        Ok(())
    }

    /// Drops every partition whose hour ended before the retention horizon.
    async fn apply_retention(&self, now_ns: i64) -> Result<usize, StoreError> {
        let Some(retention) = self.config.retention else {
            return Ok(0);
        };
        let horizon = now_ns.saturating_sub(retention.as_nanos() as i64);
        let expired = |hour: i64| (hour + 1).saturating_mul(HOUR_NS) <= horizon;
        let mut manifest = self.manifest.lock().await;
        if !manifest.parts.iter().any(|p| expired(p.hour)) {
            return Ok(0);
        }
        let mut next = manifest.clone();
        next.parts.retain(|p| !expired(p.hour));
        self.commit_and_swap(&mut manifest, next, &[]).await
    }

    /// Merges the small parts of each partition, and rewrites spans parts written before
    /// granule indexes existed (alone if need be), so that old data gets the current layout;
    /// returns how many parts were replaced.
    async fn compact(&self, now_ns: i64) -> Result<usize, StoreError> {
        let mut manifest = self.manifest.lock().await;
        let current_hour = now_ns.div_euclid(HOUR_NS);
        let parts = self.state.read().parts.clone();
        let outdated = |p: &Part| self.table == Table::Spans && p.granules.is_none();
        let mut groups: HashMap<(String, i64), Vec<Arc<Part>>> = HashMap::new();
        for p in parts
            .into_iter()
            .filter(|p| p.meta.rows < SMALL_PART_ROWS || outdated(p))
        {
            groups
                .entry((p.meta.project_id.clone(), p.meta.hour))
                .or_default()
                .push(p);
        }
        let mut replaced = 0;
        for ((project, hour), mut group) in groups {
            let closed = hour < current_hour;
            let upgrade = group.iter().any(|p| outdated(p));
            if !upgrade && (group.len() < 2 || (!closed && group.len() < OPEN_HOUR_MAX_PARTS)) {
                continue;
            }
            // Outdated parts first, then oldest first; the first part is always taken.
            group.sort_by_key(|p| (!outdated(p), p.meta.id));
            let (mut rows, mut bytes) = (0, 0u64);
            let mut first = true;
            let part_bytes = self.config.part_bytes as u64;
            group.retain(|p| {
                rows += p.meta.rows;
                bytes = bytes.saturating_add(p.data_bytes().unwrap_or(u64::MAX));
                let keep = first || (rows <= MAX_MERGED_ROWS && bytes <= part_bytes);
                first = false;
                keep
            });
            if group.len() < 2 && !group.iter().any(|p| outdated(p)) {
                continue;
            }
            match self.merge(&mut manifest, (project, hour), &group).await {
                Ok(retired) => replaced += retired,
                Err(e) => {
                    self.discard_uncommitted(&manifest);
                    if !e.is_damage() {
                        return Err(e);
                    }
                    // A part that does not decode is set aside; the rest merge next time.
                    let ids: Vec<u64> = group.iter().map(|p| p.meta.id).collect();
                    let damaged = |p: &Part| ids.contains(&p.meta.id);
                    if self.quarantine_locked(&mut manifest, &damaged).await? == 0 {
                        return Err(e);
                    }
                }
            }
        }
        Ok(replaced)
    }

    /// Merges `group` (parts of one partition) into one part; returns how many parts were
    /// retired.
    async fn merge(
        &self,
        manifest: &mut Manifest,
        (project, hour): (String, i64),
        group: &[Arc<Part>],
    ) -> Result<usize, StoreError> {
        let started = Instant::now();
        let id = manifest.next_part_id;
        let (tmp, parts_dir) = (self.tmp_dir.clone(), self.parts_dir.clone());
        let inputs = group.to_vec();
        let table = self.table;
        let merged = tokio::task::spawn_blocking(move || -> Result<Arc<Part>, StoreError> {
            let batches = inputs
                .iter()
                .map(|p| p.read_all(table))
                .collect::<Result<Vec<_>, _>>()?;
            let all = concat_batches(&table.schema(), &batches).engine()?;
            write_part(table, &tmp, &parts_dir, id, &project, hour, &all)
        })
        .await
        .map_err(|e| StoreError::Io(std::io::Error::other(e)))??;
        let mut next = manifest.clone();
        next.next_part_id = id + 1;
        next.parts
            .retain(|m| !group.iter().any(|g| g.meta.id == m.id));
        next.parts.push(merged.meta.clone());
        let retired = self.commit_and_swap(manifest, next, &[merged]).await?;
        self.times.compactions.fetch_add(1, Ordering::Relaxed);
        self.times
            .compaction_micros
            .fetch_add(started.elapsed().as_micros() as u64, Ordering::Relaxed);
        Ok(retired)
    }

    /// Verifies (decoding every page, once per part) the live parts `selected` picks, and
    /// quarantines those that are damaged; returns how many were.
    async fn quarantine_damaged(
        &self,
        selected: &(dyn Fn(&Part) -> bool + Sync),
    ) -> Result<usize, StoreError> {
        let mut manifest = self.manifest.lock().await;
        self.quarantine_locked(&mut manifest, selected).await
    }

    async fn quarantine_locked(
        &self,
        manifest: &mut Manifest,
        selected: &(dyn Fn(&Part) -> bool + Sync),
    ) -> Result<usize, StoreError> {
        let candidates: Vec<Arc<Part>> = {
            let st = self.state.read();
            st.parts
                .iter()
                .filter(|p| !p.is_verified() && selected(p))
                .cloned()
                .collect()
        };
        let (table, dir) = (self.table, self.dir.clone());
        let found =
            tokio::task::spawn_blocking(move || -> Result<Vec<QuarantinedPart>, StoreError> {
                let mut found = Vec::new();
                for part in candidates {
                    match part.verify_data() {
                        Ok(()) => part.mark_verified(),
                        Err(e) if e.is_damage() => {
                            found.push(quarantine::quarantine_part(
                                table,
                                &dir,
                                &part.meta,
                                &e.to_string(),
                            )?);
                        }
                        Err(e) => return Err(e),
                    }
                }
                Ok(found)
            })
            .await
            .map_err(|e| StoreError::Io(std::io::Error::other(e)))??;
        if found.is_empty() {
            return Ok(0);
        }
        let mut next = manifest.clone();
        next.parts
            .retain(|m| !found.iter().any(|q| q.part_id == m.id));
        self.commit_and_swap(manifest, next, &[]).await?;
        let count = found.len();
        self.quarantined.lock().extend(found);
        Ok(count)
    }

    /// What is wrong with this table right now, added into `out`.
    fn add_health(&self, out: &mut StoreHealth) {
        let name = self.table.name();
        if let Some(reason) = self.wal.failure.lock().clone() {
            out.write_failures.push(format!("{name}: {reason}"));
        }
        if let Some(reason) = self.flush_failure.lock().clone() {
            out.flush_failures.push(format!("{name}: {reason}"));
        }
        out.quarantined
            .extend(self.quarantined.lock().iter().cloned());
    }

    /// Commits `next`, then makes the in-memory part list match it: parts it no longer names
    /// are retired, `added` become live. Returns how many parts were retired.
    async fn commit_and_swap(
        &self,
        manifest: &mut Manifest,
        next: Manifest,
        added: &[Arc<Part>],
    ) -> Result<usize, StoreError> {
        let dir = self.dir.clone();
        let to_commit = next.clone();
        tokio::task::spawn_blocking(move || to_commit.commit(&dir))
            .await
            .map_err(|e| StoreError::Io(std::io::Error::other(e)))??;
        let mut retired = 0;
        {
            let mut st = self.state.write();
            st.parts.retain(|p| {
                let keep = next.parts.iter().any(|m| m.id == p.meta.id);
                if !keep {
                    p.retire();
                    retired += 1;
                }
                keep
            });
            st.parts.extend(added.iter().cloned());
        }
        *manifest = next;
        Ok(retired)
    }
}

/// The committed manifest of a table; a new table commits an empty one at once, so that a
/// manifest is missing only when it was lost. A table whose manifest is missing while part
/// files exist refuses to open: starting empty would delete every part as uncommitted.
fn load_manifest(
    dir: &std::path::Path,
    parts_dir: &std::path::Path,
) -> Result<Manifest, StoreError> {
    if let Some(m) = Manifest::load(dir)? {
        return Ok(m);
    }
    let orphans = list_part_files(parts_dir)?.len();
    if orphans > 0 {
        return Err(StoreError::Corrupt(format!(
            "{} is missing but {} holds {orphans} part files; refusing to start rather than delete them. \
             Restore the manifest from a backup, or run `tracehouse check --repair DATA_DIR` to rebuild it from the parts",
            Manifest::path(dir).display(),
            parts_dir.display()
        )));
    }
    let fresh = Manifest::default();
    fresh.commit(dir)?;
    Ok(fresh)
}

/// Removes every file in `dir`.
fn clear_dir(dir: &std::path::Path) -> Result<(), StoreError> {
    for entry in fs::read_dir(dir)? {
        fs::remove_file(entry?.path())?;
    }
    Ok(())
}

/// Loads the manifest's parts, checking each footer; parts that are damaged or missing are
/// quarantined and dropped from the (committed) manifest, so one bad part never keeps the
/// rest of the store from opening.
fn open_parts(
    table: Table,
    dir: &std::path::Path,
    manifest: &mut Manifest,
) -> Result<Vec<Arc<Part>>, StoreError> {
    let parts_dir = dir.join("parts");
    let mut parts = Vec::new();
    let mut damaged = Vec::new();
    for meta in &manifest.parts {
        let opened =
            Part::open(table, &parts_dir, meta.clone()).and_then(|p| p.verify_footer().map(|()| p));
        match opened {
            Ok(p) => parts.push(Arc::new(p)),
            Err(e) if e.is_damage() => {
                quarantine::quarantine_part(table, dir, meta, &e.to_string())?;
                damaged.push(meta.id);
            }
            Err(e) => return Err(e),
        }
    }
    if !damaged.is_empty() {
        manifest.parts.retain(|m| !damaged.contains(&m.id));
        manifest.commit(dir)?;
    }
    Ok(parts)
}

/// The partition a row belongs to.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct PartitionKey {
    project_id: String,
    hour: i64,
}

/// Arrow bytes held by a batch's buffers.
fn arrow_bytes(batch: &RecordBatch) -> usize {
    batch.get_array_memory_size()
}

/// The rows of `batches` grouped by partition, in partition order; each batch is split
/// on its own, so no concatenation of everything is ever built.
fn partitions(
    table: Table,
    batches: &[RecordBatch],
) -> Result<std::collections::BTreeMap<PartitionKey, Vec<RecordBatch>>, StoreError> {
    let mut out: std::collections::BTreeMap<PartitionKey, Vec<RecordBatch>> = Default::default();
    for batch in batches {
        for (key, rows) in split_by_partition(table, batch)? {
            out.entry(key).or_default().push(rows);
        }
    }
    Ok(out)
}

/// Consecutive runs of `batches` of at most `limit` Arrow bytes each (a batch larger than
/// the limit is a run of its own).
fn chunks_by_bytes(batches: Vec<RecordBatch>, limit: usize) -> Vec<Vec<RecordBatch>> {
    let mut out: Vec<Vec<RecordBatch>> = Vec::new();
    let mut current = 0;
    for batch in batches {
        let size = arrow_bytes(&batch);
        match out.last_mut() {
            Some(run) if current + size <= limit => run.push(batch),
            _ => {
                out.push(vec![batch]);
                current = 0;
            }
        }
        current += size;
    }
    out
}

/// Splits rows by (project, hour of the table's time column).
fn split_by_partition(
    table: Table,
    batch: &RecordBatch,
) -> Result<Vec<(PartitionKey, RecordBatch)>, StoreError> {
    let projects = batch
        .column_by_name(c::PROJECT_ID)
        .and_then(|a| a.as_any().downcast_ref::<StringArray>())
        .ok_or_else(|| StoreError::Corrupt("project_id column".into()))?;
    let starts = batch
        .column_by_name(table.time_column())
        .and_then(|a| a.as_any().downcast_ref::<Int64Array>())
        .ok_or_else(|| StoreError::Corrupt("time column".into()))?;
    let mut groups: HashMap<(&str, i64), Vec<u32>> = HashMap::new();
    for i in 0..batch.num_rows() {
        groups
            .entry((projects.value(i), starts.value(i).div_euclid(HOUR_NS)))
            .or_default()
            .push(i as u32);
    }
    let mut out: Vec<_> = groups
        .into_iter()
        .map(|((p, h), rows)| {
            let taken = take_record_batch(batch, &UInt32Array::from(rows)).engine()?;
            Ok((
                PartitionKey {
                    project_id: p.to_string(),
                    hour: h,
                },
                taken,
            ))
        })
        .collect::<Result<_, StoreError>>()?;
    out.sort_by(|a, b| a.0.cmp(&b.0));
    Ok(out)
}

/// What the WAL thread shares with the rest of the table: its size and why writes last
/// failed, for statistics and readiness.
#[derive(Default)]
struct WalShared {
    bytes: AtomicU64,
    /// Set when an append or fsync failed; cleared by the next durable group.
    failure: parking_lot::Mutex<Option<String>>,
}

/// The WAL thread's state: the log, the group waiting for its fsync, and whether the log
/// must be cut back to its last durable record before it takes another write.
struct WalWriter<'a> {
    wal: Wal,
    pending: Vec<Pending>,
    needs_recovery: bool,
    state: &'a RwLock<State>,
    shared: &'a WalShared,
}

/// The WAL thread: writes queued records, fsyncs once per group, then publishes the group's
/// rows to the memtable and acknowledges each writer.
fn wal_loop(wal: Wal, mut rx: mpsc::Receiver<WalMsg>, state: &RwLock<State>, shared: &WalShared) {
    let mut w = WalWriter {
        wal,
        pending: Vec::new(),
        needs_recovery: false,
        state,
        shared,
    };
    while let Some(first) = rx.blocking_recv() {
        let mut msg = Some(first);
        while let Some(m) = msg.take() {
            w.handle(m);
            msg = rx.try_recv().ok();
        }
        w.commit_group();
        shared.bytes.store(w.wal.bytes(), Ordering::Relaxed);
    }
    w.commit_group();
}

impl WalWriter<'_> {
    fn handle(&mut self, msg: WalMsg) {
        match msg {
            WalMsg::Append {
                payload,
                batch,
                stats,
                done,
            } => {
                if let Err(e) = self.recovered() {
                    let _ = done.send(Err(e));
                } else if let Err(e) = self.wal.append(&payload) {
                    self.pending.push((batch, stats, done));
                    self.fail(format!("WAL write failed: {e}"));
                } else {
                    self.pending.push((batch, stats, done));
                }
            }
            WalMsg::Rotate(done) => {
                self.commit_group();
                let result = self
                    .recovered()
                    .and_then(|()| Ok(self.wal.rotate()?))
                    .inspect(|_| {
                        let mut st = self.state.write();
                        let mem = &mut st.mem;
                        mem.frozen.append(&mut mem.active);
                        mem.frozen_rows += std::mem::take(&mut mem.active_rows);
                        mem.frozen_bytes += std::mem::take(&mut mem.active_bytes);
                        let active = std::mem::take(&mut mem.active_stats);
                        merge_into(&mut mem.frozen_stats, &active);
                    });
                let _ = done.send(result);
            }
            WalMsg::RemoveThrough(seq) => {
                if let Err(e) = self.wal.remove_through(seq) {
                    tracing::warn!(error = %e, "could not remove flushed WAL segments");
                }
            }
        }
    }

    /// Cuts the log back to its last durable record if a failure left it behind; refuses
    /// the write (retryable) while that is impossible.
    fn recovered(&mut self) -> Result<(), StoreError> {
        if !self.needs_recovery {
            return Ok(());
        }
        match self.wal.recover() {
            Ok(()) => {
                self.needs_recovery = false;
                tracing::info!(
                    "write-ahead log cut back to its last durable record; taking writes again"
                );
                Ok(())
            }
            Err(e) => Err(StoreError::Unavailable(format!(
                "the write-ahead log cannot be repaired after a failed write ({e}); writes resume once it can"
            ))),
        }
    }

    /// Fails every write of the pending group: none of them is durable.
    fn fail(&mut self, reason: String) {
        tracing::error!("{reason}; the writes of this group are refused (retryable)");
        for (_, _, done) in self.pending.drain(..) {
            let _ = done.send(Err(StoreError::Unavailable(reason.clone())));
        }
        *self.shared.failure.lock() = Some(reason);
        self.needs_recovery = true;
    }

    /// One fsync for every pending append, then publish and acknowledge them.
    fn commit_group(&mut self) {
        if self.pending.is_empty() {
            return;
        }
        if let Err(e) = self.wal.sync() {
            // What the failed fsync covered is not durable: it is cut off before the next
            // write, and every write of the group is refused.
            self.fail(format!("WAL fsync failed: {e}"));
            return;
        }
        let mut st = self.state.write();
        for (batch, stats, _) in &self.pending {
            st.mem.active_rows += batch.num_rows();
            st.mem.active_bytes += arrow_bytes(batch);
            st.mem.active.push(batch.clone());
            merge_into(&mut st.mem.active_stats, stats);
        }
        drop(st);
        for (_, _, done) in self.pending.drain(..) {
            let _ = done.send(Ok(()));
        }
        self.shared.failure.lock().take();
    }
}

/// An appended batch waiting for its group's fsync.
type Pending = (
    RecordBatch,
    PartitionStats,
    oneshot::Sender<Result<(), StoreError>>,
);

/// First wait before retrying a failed flush; doubled after each failure up to
/// [`MAX_FLUSH_RETRY`].
const FIRST_FLUSH_RETRY: Duration = Duration::from_millis(500);
const MAX_FLUSH_RETRY: Duration = Duration::from_secs(30);

async fn maintenance_loop(store: std::sync::Weak<TableEngine>) {
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

impl TableEngine {
    /// Appends rows durably: returns once their WAL record is fsynced and they are in the
    /// memtable. Refused (retryable) while too many rows wait for a flush.
    async fn append(&self, batch: RecordBatch) -> Result<(), StoreError> {
        if batch.num_rows() == 0 {
            return Ok(());
        }
        {
            let st = self.state.read();
            let rows = st.mem.active_rows + st.mem.frozen_rows;
            let bytes = st.mem.active_bytes + st.mem.frozen_bytes;
            if rows >= self.config.max_memtable_rows || bytes >= self.config.max_memtable_bytes {
                return Err(StoreError::Overloaded(format!(
                    "{rows} rows ({} MiB) waiting to be flushed",
                    bytes >> 20
                )));
            }
        }
        let payload = encode_batch(&batch)?;
        let stats = self.table.stats(&batch, HOUR_NS)?;
        let (done, rx) = oneshot::channel();
        self.wal_tx
            .send(WalMsg::Append {
                payload,
                batch,
                stats,
                done,
            })
            .await
            .map_err(|_| StoreError::Closed)?;
        rx.await.map_err(|_| StoreError::Closed)?
    }

    /// Numbers of this table, added into `out`.
    fn add_stats(&self, out: &mut EngineStats) {
        let st = self.state.read();
        out.wal_bytes += self.wal.bytes.load(Ordering::Relaxed);
        out.memtable_rows += (st.mem.active_rows + st.mem.frozen_rows) as u64;
        out.parts += st.parts.len() as u64;
        out.part_rows += st.parts.iter().map(|p| p.meta.rows).sum::<u64>();
        out.part_bytes += st.parts.iter().map(|p| p.meta.bytes).sum::<u64>();
        out.flushes += self.times.flushes.load(Ordering::Relaxed);
        out.flush_seconds += self.times.flush_micros.load(Ordering::Relaxed) as f64 / 1e6;
        out.compactions += self.times.compactions.load(Ordering::Relaxed);
        out.compaction_seconds += self.times.compaction_micros.load(Ordering::Relaxed) as f64 / 1e6;
    }
}

/// The parts a read may have touched: those of its project overlapping its window.
fn in_window(project_id: &str, start_ns: i64, end_ns: i64) -> impl Fn(&Part) -> bool + Sync + '_ {
    move |p: &Part| {
        p.meta.project_id == project_id && p.meta.min_start < end_ns && p.meta.max_start >= start_ns
    }
}

impl EmbeddedStore {
    /// Runs a read of `table`; when it fails on damaged data, verifies the parts it may
    /// have touched (`touched`), quarantines the damaged ones and runs it once more, so
    /// that one bad part costs its own rows, not every answer over its window.
    async fn guarded<T, F, Fut>(
        &self,
        table: &TableEngine,
        touched: &(dyn Fn(&Part) -> bool + Sync),
        read: F,
    ) -> Result<T, StoreError>
    where
        F: Fn() -> Fut,
        Fut: std::future::Future<Output = Result<T, StoreError>>,
    {
        match read().await {
            Err(e) if e.is_damage() => {
                if table.quarantine_damaged(touched).await? == 0 {
                    return Err(e);
                }
                read().await
            }
            answer => answer,
        }
    }

    /// Appends rows and the error occurrences derived from them, both durably, concurrently
    /// (each table group-commits on its own WAL thread).
    async fn append_with_errors(
        &self,
        rows: (&TableEngine, RecordBatch),
        errors: RecordBatch,
    ) -> Result<(), StoreError> {
        let (table, batch) = rows;
        tokio::try_join!(table.append(batch), self.errors.append(errors))?;
        Ok(())
    }
}

#[async_trait]
impl Store for EmbeddedStore {
    async fn write_spans(&self, spans: Vec<Span>) -> Result<(), StoreError> {
        let errors = errors_to_batch(&errors_from_spans(&spans))?;
        let batch = spans_to_batch(&spans)?;
        self.append_with_errors((&self.spans, batch), errors).await
    }

    async fn write_logs(&self, logs: Vec<LogRecord>) -> Result<(), StoreError> {
        let errors = errors_to_batch(&errors_from_logs(&logs))?;
        let batch = logs_to_batch(&logs)?;
        self.append_with_errors((&self.logs, batch), errors).await
    }

    async fn trace(&self, project_id: &str, trace_id: TraceId) -> Result<Vec<Span>, StoreError> {
        let touched = |p: &Part| p.meta.project_id == project_id && p.may_contain(&trace_id.0);
        self.guarded(&self.spans, &touched, || {
            self.read_trace(project_id, trace_id)
        })
        .await
    }

    async fn search_spans(&self, query: &SearchQuery) -> Result<SearchPage, StoreError> {
        let touched = in_window(&query.project_id, query.start_ns, query.end_ns);
        self.guarded(&self.spans, &touched, || async {
            crate::read::search::search_spans(&self.spans.snapshot(), query).await
        })
        .await
    }

    async fn search_traces(&self, query: &SearchQuery) -> Result<TracePage, StoreError> {
        let touched = in_window(&query.project_id, query.start_ns, query.end_ns);
        self.guarded(&self.spans, &touched, || async {
            crate::read::search::search_traces(&self.spans.snapshot(), query).await
        })
        .await
    }

    async fn histogram(&self, query: &HistogramQuery) -> Result<Histogram, StoreError> {
        let touched = in_window(&query.project_id, query.start_ns, query.end_ns);
        self.guarded(&self.spans, &touched, || async {
            if let Some(h) = self.spans.histogram_from_minutes(query).await? {
                return Ok(h);
            }
            crate::read::search::histogram(&self.spans.snapshot(), query).await
        })
        .await
    }

    async fn keys(&self, q: &KeysQuery) -> Result<Vec<KeyInfo>, StoreError> {
        Ok(self
            .searched(q.target)
            .stats_in(&q.project_id, q.start_ns, q.end_ns)
            .key_infos(&q.prefix, q.limit))
    }

    async fn values(&self, q: &ValuesQuery) -> Result<Vec<ValueCount>, StoreError> {
        Ok(self
            .searched(q.target)
            .stats_in(&q.project_id, q.start_ns, q.end_ns)
            .values(&q.field, &q.prefix, q.limit))
    }

    async fn search_logs(&self, q: &SearchQuery) -> Result<LogPage, StoreError> {
        let touched = in_window(&q.project_id, q.start_ns, q.end_ns);
        self.guarded(&self.logs, &touched, || async {
            crate::read::correlate::search_logs(&self.logs.snapshot(), q).await
        })
        .await
    }

    async fn log_histogram(&self, q: &HistogramQuery) -> Result<LogHistogram, StoreError> {
        let touched = in_window(&q.project_id, q.start_ns, q.end_ns);
        self.guarded(&self.logs, &touched, || async {
            crate::read::correlate::log_histogram(&self.logs.snapshot(), q).await
        })
        .await
    }

    async fn errors(
        &self,
        q: &ErrorQuery,
    ) -> Result<Vec<tracehouse_model::ErrorOccurrence>, StoreError> {
        let touched = in_window(&q.project_id, q.start_ns, q.end_ns);
        self.guarded(&self.errors, &touched, || async {
            crate::read::correlate::errors(&self.errors.snapshot(), q).await
        })
        .await
    }

    async fn error_groups(&self, q: &ErrorGroupsQuery) -> Result<ErrorGroups, StoreError> {
        let touched = in_window(&q.project_id, q.start_ns, q.end_ns);
        self.guarded(&self.errors, &touched, || async {
            crate::read::correlate::error_groups(&self.errors.snapshot(), q).await
        })
        .await
    }

    async fn sessions(&self, q: &SessionsQuery) -> Result<Vec<SessionSummary>, StoreError> {
        let touched = in_window(&q.project_id, q.start_ns, q.end_ns);
        let read = || async {
            crate::read::correlate::sessions(&self.spans.snapshot(), &self.errors.snapshot(), q)
                .await
        };
        match self.guarded(&self.spans, &touched, read).await {
            Err(e) if e.is_damage() => self.guarded(&self.errors, &touched, read).await,
            answer => answer,
        }
    }

    async fn flush(&self) -> Result<(), StoreError> {
        self.flush_now().await
    }

    fn metrics(&self) -> Vec<StoreMetric> {
        self.stats().metrics()
    }

    fn health(&self) -> StoreHealth {
        let mut out = StoreHealth::default();
        for t in self.tables() {
            t.add_health(&mut out);
        }
        out
    }
}

impl EmbeddedStore {
    /// The spans of one trace, from the memtable and the parts that may hold it.
    async fn read_trace(
        &self,
        project_id: &str,
        trace_id: TraceId,
    ) -> Result<Vec<Span>, StoreError> {
        let snap = self.spans.snapshot();
        let parts: Vec<Arc<Part>> = snap
            .parts
            .iter()
            .filter(|p| p.meta.project_id == project_id && p.may_contain(&trace_id.0))
            .cloned()
            .collect();
        let filter = project_is(project_id).and(col(c::TRACE_ID).eq(id_lit(&trace_id.0)));
        let by_start = vec![col(c::START_TIME).sort(true, false)];
        let mut spans = snap.spans(&[], filter, by_start, None).await?;
        let from_parts = tokio::task::spawn_blocking(move || -> Result<Vec<Span>, StoreError> {
            let (indexed, older): (Vec<Arc<Part>>, Vec<Arc<Part>>) =
                parts.into_iter().partition(|p| p.granules.is_some());
            let mut out = crate::read::scan::trace_spans(&indexed, &[trace_id], None, None)?;
            for part in &older {
                for batch in part.read_trace(&trace_id.0)? {
                    out.extend(batch_to_spans(&batch)?);
                }
            }
            Ok(out)
        })
        .await
        .map_err(|e| StoreError::Io(std::io::Error::other(e)))??;
        spans.extend(from_parts);
        spans.sort_by_key(|s| (s.start_time_unix_nano, s.span_id));
        Ok(spans)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::storage::schema::tests::sample_span;

    fn query(text: &str, start_ns: i64, end_ns: i64) -> HistogramQuery {
        HistogramQuery {
            project_id: "default".into(),
            plan: tracehouse_query::plan(&tracehouse_query::parse(text).unwrap()),
            start_ns,
            end_ns,
            buckets: 60,
        }
    }

    #[tokio::test]
    async fn minute_counts_answer_only_unfiltered_histograms() {
        let dir = tempfile::tempdir().unwrap();
        let mut config = EngineConfig::new(dir.path());
        config.flush_interval = Duration::from_secs(3600);
        let store = EmbeddedStore::open(config).await.unwrap();
        let t0 = 1_700_000_000_000_000_000;
        let spans: Vec<Span> = (1..=50)
            .map(|i| sample_span(i, 1, t0 + i64::from(i) * 1_000_000_000))
            .collect();
        store.write_spans(spans).await.unwrap();
        let hour = query("", t0, t0 + HOUR_NS);
        for when in ["memtable", "parts"] {
            let h = store.spans.histogram_from_minutes(&hour).await.unwrap();
            let h = h.unwrap_or_else(|| panic!("[{when}] counts answer an unfiltered histogram"));
            assert_eq!(
                h.buckets.iter().map(|b| b.count).sum::<u64>(),
                50,
                "[{when}]"
            );
            store.flush_now().await.unwrap();
        }
        let filtered = query("service:cart", t0, t0 + HOUR_NS);
        assert!(
            store
                .spans
                .histogram_from_minutes(&filtered)
                .await
                .unwrap()
                .is_none()
        );
        let narrow = query("", t0, t0 + 30_000_000_000);
        assert!(
            store
                .spans
                .histogram_from_minutes(&narrow)
                .await
                .unwrap()
                .is_none(),
            "buckets under a minute need a scan"
        );
    }
}
