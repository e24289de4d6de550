//! How the embedded engine is tuned: directories, flush thresholds, the memory budget and
//! its shares, part sizes and the maintenance schedule.

use std::path::PathBuf;
use std::time::Duration;

/// The default memory budget: 1 GiB.
pub const DEFAULT_MEMORY_LIMIT: usize = 1 << 30;

/// Tuning of the embedded engine.
///
/// The memory-bound fields are shares of one budget ([`EngineConfig::with_memory_limit`]):
/// a quarter for the memtables of all tables together, an eighth per flush (the rows a
/// table flushes at once), an eighth for building a part (a flush's sort order and the
/// slice it writes; a compaction's inputs, each holding a decoded batch and its column
/// readers, and the trace ids of the part it builds), a quarter for query execution, a
/// sixteenth for the Parquet footers and page indexes the parts' own reads keep parsed
/// (`storage::footers`; a 16M-span store's three largest parts need 40 MB), another for
/// those DataFusion's queries cache, a sixteenth for the fingerprints of recently stored spans (redelivered
/// spans are stored once) and a thirty-second for the parts' span metrics cells merged per
/// hour (`storage::cells`); the rest is left to the process
/// (requests in flight, the live parts' indexes and statistics, the allocator).
#[derive(Debug, Clone)]
pub struct EngineConfig {
    /// Root directory of the store (WAL, parts, manifest).
    pub data_dir: PathBuf,
    /// Flush the memtable at least this often.
    pub flush_interval: Duration,
    /// Flush as soon as a table's memtable holds this many rows.
    pub flush_rows: usize,
    /// Refuse writes (retryable) while a table's memtable holds more rows than this.
    pub max_memtable_rows: usize,
    /// Flush as soon as a table's memtable holds this many bytes of Arrow data.
    pub flush_bytes: usize,
    /// Refuse writes (retryable) while the memtables of all tables together hold more bytes
    /// than this.
    pub max_memtable_bytes: usize,
    /// A flush cuts a partition's rows into parts of at most about this many bytes of Arrow
    /// data; compaction merges at most `part_bytes` / 32 MiB parts at once (2 to 4) into parts
    /// of at most `part_bytes` / 8 rows.
    pub part_bytes: usize,
    /// Memory queries may take for sorting, grouping and joining; a query that needs more
    /// fails with "query too large" instead of growing the process.
    pub query_memory_bytes: usize,
    /// Memory for the Parquet footers and page indexes DataFusion's queries cache.
    pub metadata_cache_bytes: usize,
    /// Memory for the Parquet footers and page indexes the parts' own reads (searches,
    /// trace reads, compaction) keep parsed (`storage::footers`).
    pub footer_cache_bytes: usize,
    /// Memory for the span metrics cells of the parts, merged per partition, that span
    /// metrics queries reuse.
    pub span_cells_bytes: usize,
    /// Memory for the fingerprints of recently stored spans, which recognise a batch
    /// delivered again (`tracehouse_store_api::redelivery`).
    pub recent_spans_bytes: usize,
    /// How often compaction and retention run.
    pub maintenance_interval: Duration,
    /// Drop partitions older than this; `None` keeps everything.
    pub retention: Option<Duration>,
}

impl EngineConfig {
    /// Defaults for a store rooted at `data_dir`, within [`DEFAULT_MEMORY_LIMIT`].
    pub fn new(data_dir: impl Into<PathBuf>) -> Self {
        EngineConfig {
            data_dir: data_dir.into(),
            flush_interval: Duration::from_secs(30),
            flush_rows: 500_000,
            max_memtable_rows: 4_000_000,
            flush_bytes: 0,
            max_memtable_bytes: 0,
            part_bytes: 0,
            query_memory_bytes: 0,
            metadata_cache_bytes: 0,
            footer_cache_bytes: 0,
            span_cells_bytes: 0,
            recent_spans_bytes: 0,
            maintenance_interval: Duration::from_secs(30),
            retention: None,
        }
        .with_memory_limit(DEFAULT_MEMORY_LIMIT)
    }

    /// Sets every memory-bound field from one budget of `bytes` (see the type's docs).
    pub fn with_memory_limit(mut self, bytes: usize) -> Self {
        self.max_memtable_bytes = bytes / 4;
        self.flush_bytes = bytes / 8;
        self.part_bytes = bytes / 8;
        self.query_memory_bytes = bytes / 4;
        self.metadata_cache_bytes = bytes / 16;
        self.footer_cache_bytes = bytes / 16;
        self.span_cells_bytes = bytes / 32;
        self.recent_spans_bytes = bytes / 16;
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_shares_fit_in_the_budget() {
        let c = EngineConfig::new("/tmp/x").with_memory_limit(256 << 20);
        assert_eq!(c.max_memtable_bytes, 64 << 20);
        let flush = c.flush_bytes + c.part_bytes;
        let shares = c.max_memtable_bytes
            + flush
            + c.query_memory_bytes
            + c.metadata_cache_bytes
            + c.footer_cache_bytes
            + c.span_cells_bytes
            + c.recent_spans_bytes;
        assert!(shares < 256 << 20, "{shares}");
        assert_eq!(
            EngineConfig::new("/tmp/x").max_memtable_bytes,
            DEFAULT_MEMORY_LIMIT / 4
        );
    }
}
