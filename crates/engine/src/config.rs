//! How the embedded engine is tuned: directories, flush thresholds, memory bounds, part
//! sizes and the maintenance schedule.

use std::path::PathBuf;
use std::time::Duration;

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
