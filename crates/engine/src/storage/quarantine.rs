//! Damaged data set aside. A part that cannot be read is moved, with its sidecars, into the
//! table's `quarantine/` directory beside a record of why and how many rows it held; the
//! manifest drops it, so the rest of the store keeps serving, and the loss is reported
//! (readiness, metrics, `tracehouse check`) instead of being silent. The files stay there
//! until an operator removes them.

use std::fs;
use std::path::{Path, PathBuf};

use crate::error::StoreError;
use crate::storage::manifest::PartMeta;
use crate::storage::part::part_files;
use crate::storage::sync_dir;
use crate::storage::table::Table;
pub use tracehouse_store_api::QuarantinedPart;

/// Where a table's damaged files go.
pub fn quarantine_dir(table_dir: &Path) -> PathBuf {
    table_dir.join("quarantine")
}

fn record_path(dir: &Path, id: u64) -> PathBuf {
    dir.join(format!("{id:020}.json"))
}

/// Moves the files of a part into quarantine (those that exist) and writes its record.
/// The caller then commits a manifest without the part.
pub fn quarantine_part(
    table: Table,
    table_dir: &Path,
    meta: &PartMeta,
    reason: &str,
) -> Result<QuarantinedPart, StoreError> {
    let dir = quarantine_dir(table_dir);
    fs::create_dir_all(&dir)?;
    let record = QuarantinedPart {
        table: table.name().to_string(),
        part_id: meta.id,
        project_id: meta.project_id.clone(),
        rows: meta.rows,
        reason: reason.to_string(),
    };
    fs::write(
        record_path(&dir, meta.id),
        serde_json::to_vec_pretty(&record)?,
    )?;
    let parts_dir = table_dir.join("parts");
    for path in part_files(&parts_dir, meta.id) {
        let Some(name) = path.file_name() else {
            continue;
        };
        match fs::rename(&path, dir.join(name)) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(e.into()),
        }
    }
    sync_dir(&dir)?;
    sync_dir(&parts_dir)?;
    tracing::error!(
        table = table.name(),
        part = meta.id,
        project = %meta.project_id,
        rows = meta.rows,
        %reason,
        "quarantined a damaged part: its rows are no longer served; its files are in {}",
        dir.display()
    );
    Ok(record)
}

/// The parts in a table's quarantine, from their records.
pub fn load(table_dir: &Path) -> Vec<QuarantinedPart> {
    let Ok(entries) = fs::read_dir(quarantine_dir(table_dir)) else {
        return Vec::new();
    };
    let mut out: Vec<QuarantinedPart> = entries
        .filter_map(|e| e.ok())
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .filter_map(|p| {
            let raw = fs::read(&p).ok()?;
            serde_json::from_slice(&raw)
                .inspect_err(|e| tracing::warn!(path = %p.display(), error = %e, "unreadable quarantine record"))
                .ok()
        })
        .collect();
    out.sort_by_key(|q| q.part_id);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quarantined_parts_are_moved_and_recorded() {
        let dir = tempfile::tempdir().unwrap();
        let parts = dir.path().join("parts");
        fs::create_dir_all(&parts).unwrap();
        let [parquet, index, ..] = part_files(&parts, 7);
        fs::write(&parquet, b"not parquet").unwrap();
        fs::write(&index, b"").unwrap();
        let meta = PartMeta {
            id: 7,
            project_id: "p".into(),
            hour: 1,
            rows: 10,
            bytes: 11,
            min_start: 0,
            max_start: 1,
        };
        let q = quarantine_part(Table::Logs, dir.path(), &meta, "bad footer").unwrap();
        assert!(!parquet.exists() && !index.exists());
        assert!(
            quarantine_dir(dir.path())
                .join(parquet.file_name().unwrap())
                .exists()
        );
        assert_eq!(load(dir.path()), vec![q]);
    }
}
