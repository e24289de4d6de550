//! The manifest: the single file that says which parts are live and how much of the WAL
//! they cover. Replacing it (write, fsync, rename, fsync directory) is the commit point of
//! every flush, compaction and retention pass, so a crash never exposes a half-made change.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::error::StoreError;
use crate::storage::sync_dir;

const FILE: &str = "manifest.json";

/// What is known about one live part without opening it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PartMeta {
    /// Unique, increasing part number (names its files).
    pub id: u64,
    /// The project whose spans the part holds.
    pub project_id: String,
    /// The hour partition: span start time in ns divided by one hour.
    pub hour: i64,
    /// Rows in the part.
    pub rows: u64,
    /// Size of the Parquet file.
    pub bytes: u64,
    /// Smallest span start time, ns.
    pub min_start: i64,
    /// Largest span start time, ns.
    pub max_start: i64,
}

/// The committed state of the embedded store.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Manifest {
    /// Every WAL segment up to and including this number is covered by parts.
    pub wal_flushed_seq: u64,
    /// The next part id to hand out.
    pub next_part_id: u64,
    /// The live parts.
    pub parts: Vec<PartMeta>,
}

impl Manifest {
    /// Reads the manifest of `dir`; `None` when there is none (a new store, or a lost one:
    /// the caller tells them apart).
    pub fn load(dir: &Path) -> Result<Option<Manifest>, StoreError> {
        let path = dir.join(FILE);
        match fs::read(&path) {
            Ok(bytes) => serde_json::from_slice(&bytes).map(Some).map_err(|e| {
                StoreError::Corrupt(format!(
                    "{} is damaged ({e}); refusing to start. Restore it from a backup, or run \
                     `tracehouse check --repair DATA_DIR` to rebuild it from the parts",
                    path.display()
                ))
            }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e.into()),
        }
    }

    /// The manifest file of `dir`.
    pub fn path(dir: &Path) -> PathBuf {
        dir.join(FILE)
    }

    /// Atomically replaces the manifest of `dir` with this one.
    pub fn commit(&self, dir: &Path) -> Result<(), StoreError> {
        let tmp: PathBuf = dir.join(format!("{FILE}.tmp"));
        let mut file = fs::File::create(&tmp)?;
        file.write_all(&serde_json::to_vec_pretty(self)?)?;
        file.sync_all()?;
        fs::rename(&tmp, dir.join(FILE))?;
        sync_dir(dir)?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commit_then_load() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(Manifest::load(dir.path()).unwrap(), None);
        let m = Manifest {
            wal_flushed_seq: 3,
            next_part_id: 2,
            parts: vec![PartMeta {
                id: 1,
                project_id: "p".into(),
                hour: 10,
                rows: 5,
                bytes: 100,
                min_start: 1,
                max_start: 2,
            }],
        };
        m.commit(dir.path()).unwrap();
        assert_eq!(Manifest::load(dir.path()).unwrap(), Some(m));
    }
}
