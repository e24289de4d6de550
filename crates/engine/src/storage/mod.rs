//! What is on disk and how it is laid out: the tables and their Arrow schemas, immutable
//! Parquet parts with their sidecars (trace index, key/value statistics, granule index), the
//! manifest that commits them, and the quarantine of damaged parts. Nothing here reads
//! queries or schedules work: `read` and `maintenance` use it, never the reverse.

use std::fs::{self, File};
use std::io::{self, Write};
use std::path::Path;

use crate::error::StoreError;

pub(crate) mod alerts;
pub(crate) mod cells;
pub(crate) mod footers;
pub(crate) mod granule;
pub(crate) mod log_rows;
pub(crate) mod lru;
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
pub(crate) mod trace_index;
pub(crate) mod views;

/// One hour in ns: the time partition of parts.
pub const HOUR_NS: i64 = 3_600_000_000_000;

/// Reads the JSON file `dir/name` (the default when it does not exist); a file that does not
/// decode is an error naming `what` it holds, never an empty value.
pub(crate) fn read_json<T: serde::de::DeserializeOwned + Default>(
    dir: &Path,
    name: &str,
    what: &str,
) -> Result<T, StoreError> {
    let path = dir.join(name);
    match fs::read(&path) {
        Ok(bytes) => serde_json::from_slice(&bytes).map_err(|e| {
            StoreError::Corrupt(format!(
                "{what} {} do not decode ({e}); move the file aside to start without them",
                path.display()
            ))
        }),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(T::default()),
        Err(e) => Err(e.into()),
    }
}

/// Replaces `dir/name` with `bytes` atomically and durably: written to `name.tmp`, fsynced,
/// renamed over the old file, and the directory fsynced.
pub(crate) fn replace_file(dir: &Path, name: &str, bytes: &[u8]) -> io::Result<()> {
    let tmp = dir.join(format!("{name}.tmp"));
    let mut file = File::create(&tmp)?;
    file.write_all(bytes)?;
    file.sync_all()?;
    fs::rename(&tmp, dir.join(name))?;
    sync_dir(dir)
}

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
