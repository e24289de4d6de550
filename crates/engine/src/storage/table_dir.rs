//! A table's directory: `manifest.json`, `parts/`, `tmp/` and `wal/`. Opening it brings the
//! files back in line with the committed manifest (uncommitted part files and leftovers of
//! interrupted writes go, damaged parts are quarantined); [`TableDir::discard`]
//! does the same after a failed flush or compaction.

use std::collections::HashSet;
use std::fs;
use std::ops::RangeBounds;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::error::StoreError;
use crate::storage::footers::Footers;
use crate::storage::manifest::Manifest;
use crate::storage::part::{Part, list_part_files};
use crate::storage::quarantine;
use crate::storage::table::Table;

/// The paths of one table's files.
#[derive(Debug, Clone)]
pub(crate) struct TableDir {
    /// The table's directory (manifest, WAL, parts).
    pub(crate) dir: PathBuf,
    /// Committed (and, briefly, uncommitted) part files.
    pub(crate) parts: PathBuf,
    /// Files being written, renamed into `parts` when complete.
    pub(crate) tmp: PathBuf,
    /// The store's parsed Parquet footers, which the table's parts read through.
    pub(crate) footers: Arc<Footers>,
}

/// A table opened from its directory: the committed manifest and its live parts.
pub(crate) struct Opened {
    pub(crate) manifest: Manifest,
    pub(crate) parts: Vec<Arc<Part>>,
}

impl TableDir {
    /// The directory of `table` under the store's `root`, created if missing.
    pub(crate) fn create(
        table: Table,
        root: &Path,
        footers: Arc<Footers>,
    ) -> Result<TableDir, StoreError> {
        let dir = table.dir(root);
        let out = TableDir {
            parts: dir.join("parts"),
            tmp: dir.join("tmp"),
            dir,
            footers,
        };
        for d in [&out.dir, &out.parts, &out.tmp] {
            fs::create_dir_all(d)?;
        }
        Ok(out)
    }

    /// The write-ahead log's directory.
    pub(crate) fn wal(&self) -> PathBuf {
        self.dir.join("wal")
    }

    /// Loads the committed manifest, removes what no commit names, and opens the live parts.
    pub(crate) fn open(&self, table: Table) -> Result<Opened, StoreError> {
        let mut manifest = self.load_manifest()?;
        clear_dir(&self.tmp)?;
        let live: HashSet<u64> = manifest.parts.iter().map(|p| p.id).collect();
        for (id, path) in list_part_files(&self.parts)? {
            manifest.next_part_id = manifest.next_part_id.max(id + 1);
            if !live.contains(&id) {
                tracing::info!(path = %path.display(), "removing uncommitted part file");
                fs::remove_file(path)?;
            }
        }
        let parts = self.open_parts(table, &mut manifest)?;
        Ok(Opened { manifest, parts })
    }

    /// Removes what a failed flush or compaction wrote: the files of parts `ids`, under
    /// `tmp/` and `parts/` (a flush discards every id from the manifest's next one on; a
    /// compaction, which reserved its id earlier, only its own).
    pub(crate) fn discard(&self, ids: impl RangeBounds<u64>) {
        let result = [&self.tmp, &self.parts].into_iter().try_for_each(|dir| {
            list_part_files(dir)?
                .into_iter()
                .filter(|(id, _)| ids.contains(id))
                .try_for_each(|(_, path)| fs::remove_file(path))
                .map_err(StoreError::from)
        });
        if let Err(e) = result {
            tracing::warn!(error = %e, "could not remove the files of a failed flush or compaction; they go at the next start");
        }
    }

    /// The committed manifest; a new table commits an empty one at once, so that a manifest
    /// is missing only when it was lost. A table whose manifest is missing while part files
    /// exist refuses to open: starting empty would delete every part as uncommitted.
    fn load_manifest(&self) -> Result<Manifest, StoreError> {
        if let Some(m) = Manifest::load(&self.dir)? {
            return Ok(m);
        }
        let orphans = list_part_files(&self.parts)?.len();
        if orphans > 0 {
            return Err(StoreError::Corrupt(format!(
                "{} is missing but {} holds {orphans} part files; refusing to start rather than delete them. \
                 Restore the manifest from a backup, or run `tracehouse check --repair DATA_DIR` to rebuild it from the parts",
                Manifest::path(&self.dir).display(),
                self.parts.display()
            )));
        }
        let fresh = Manifest::default();
        fresh.commit(&self.dir)?;
        Ok(fresh)
    }

    /// Loads the manifest's parts, checking each footer; parts that are damaged or missing
    /// are quarantined and dropped from the (committed) manifest, so one bad part never
    /// keeps the rest of the store from opening.
    fn open_parts(
        &self,
        table: Table,
        manifest: &mut Manifest,
    ) -> Result<Vec<Arc<Part>>, StoreError> {
        let mut parts = Vec::new();
        let mut damaged = Vec::new();
        for meta in &manifest.parts {
            let opened = Part::open(table, &self.parts, meta.clone(), self.footers.clone())
                .and_then(|p| p.verify_footer().map(|()| p));
            match opened {
                Ok(p) => parts.push(Arc::new(p)),
                Err(e) if e.is_damage() => {
                    quarantine::quarantine_part(table, &self.dir, meta, &e.to_string())?;
                    damaged.push(meta.id);
                }
                Err(e) => return Err(e),
            }
        }
        if !damaged.is_empty() {
            manifest.parts.retain(|m| !damaged.contains(&m.id));
            manifest.commit(&self.dir)?;
        }
        Ok(parts)
    }
}

/// Removes every file in `dir`.
fn clear_dir(dir: &Path) -> Result<(), StoreError> {
    for entry in fs::read_dir(dir)? {
        fs::remove_file(entry?.path())?;
    }
    Ok(())
}
