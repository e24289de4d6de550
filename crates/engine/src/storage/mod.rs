//! What is on disk and how it is laid out: the tables and their Arrow schemas, immutable
//! Parquet parts with their sidecars (trace index, key/value statistics, granule index), the
//! manifest that commits them, and the quarantine of damaged parts. Nothing here reads
//! queries or schedules work: `read` and `maintenance` use it, never the reverse.

use std::fs::File;
use std::io;
use std::path::Path;

use crate::error::StoreError;

pub(crate) mod granule;
pub(crate) mod log_rows;
pub(crate) mod manifest;
pub(crate) mod merge;
pub(crate) mod metric_rows;
pub(crate) mod part;
pub(crate) mod quarantine;
pub(crate) mod replay_rows;
pub(crate) mod schema;
pub(crate) mod stats;
pub(crate) mod table;
pub(crate) mod table_dir;
pub(crate) mod views;

/// One hour in ns: the time partition of parts.
pub const HOUR_NS: i64 = 3_600_000_000_000;

/// Syncs a directory so that file creations and renames in it are durable.
pub fn sync_dir(dir: &Path) -> io::Result<()> {
    File::open(dir)?.sync_all()
}

/// Runs file work (Parquet reads and writes, fsyncs) off the async workers.
pub(crate) async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, StoreError> + Send + 'static,
) -> Result<T, StoreError> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| StoreError::Io(io::Error::other(e)))?
}
