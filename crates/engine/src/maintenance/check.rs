//! Offline verification of a data directory (`tracehouse check`): each table's manifest,
//! every part (footer, sidecars, every page) and every WAL segment not yet covered by parts.
//! With `repair`, damage is set aside the way the running engine would: damaged parts are
//! quarantined, damaged WAL segments keep every readable record (the original goes to
//! quarantine), and a lost or damaged manifest is rebuilt from the parts.

use std::fs::{self, File};
use std::path::Path;
use std::sync::Arc;

use serde::Serialize;

use crate::error::StoreError;
use crate::storage::footers::Footers;
use crate::storage::manifest::{Manifest, PartMeta};
use crate::storage::part::{Part, list_part_files, read_meta};
use crate::storage::quarantine::{quarantine_dir, quarantine_part};
use crate::storage::table::Table;
use crate::write::wal::{SegmentScan, salvage_segment, scan_segment, segment_paths};

/// One problem found, and what repair does (or did) about it.
#[derive(Debug, Clone, Serialize)]
pub struct Finding {
    /// What is damaged: `manifest`, `part 12`, `WAL segment 3`.
    pub what: String,
    /// What is wrong with it.
    pub problem: String,
    /// What repair does about it.
    pub action: String,
    /// Whether that was done.
    pub repaired: bool,
}

/// What checking one table found.
#[derive(Debug, Clone, Serialize)]
pub struct TableReport {
    /// The table.
    pub table: &'static str,
    /// Parts that verified.
    pub parts_ok: usize,
    /// Rows in those parts.
    pub rows_ok: u64,
    /// WAL segments that verified (a torn tail of the newest one included: it is cut at
    /// the next start and was never acknowledged).
    pub wal_segments_ok: usize,
    /// Things that are fine but worth knowing (uncommitted files, a torn tail).
    pub notes: Vec<String>,
    /// Problems.
    pub findings: Vec<Finding>,
}

/// What checking a data directory found.
#[derive(Debug, Clone, Serialize)]
pub struct CheckReport {
    /// Per table.
    pub tables: Vec<TableReport>,
}

impl CheckReport {
    /// Problems found.
    pub fn problems(&self) -> usize {
        self.tables.iter().map(|t| t.findings.len()).sum()
    }

    /// Problems found and not repaired.
    pub fn unrepaired(&self) -> usize {
        let all = self.tables.iter().flat_map(|t| &t.findings);
        all.filter(|f| !f.repaired).count()
    }
}

/// Checks every table of the store in `data_dir`; with `repair`, repairs what it finds.
/// `progress` hears about each step. Refuses to run while a server holds the directory.
pub fn check(
    data_dir: &Path,
    repair: bool,
    progress: &mut dyn FnMut(&str),
) -> Result<CheckReport, StoreError> {
    if !data_dir.join("manifest.json").exists() && !data_dir.join("parts").exists() {
        return Err(StoreError::InvalidArgument(format!(
            "{} is not a tracehouse data directory (no manifest.json, no parts/)",
            data_dir.display()
        )));
    }
    let lock = File::create(data_dir.join("LOCK"))?;
    lock.try_lock().map_err(|_| {
        StoreError::InvalidArgument(format!(
            "{} is in use by a running tracehouse; stop it first",
            data_dir.display()
        ))
    })?;
    let mut tables = Vec::new();
    for table in Table::ALL {
        let dir = table.dir(data_dir);
        if dir.join("parts").exists() || dir.join("manifest.json").exists() {
            tables.push(check_table(table, &dir, repair, progress)?);
        }
    }
    Ok(CheckReport { tables })
}

fn check_table(
    table: Table,
    dir: &Path,
    repair: bool,
    progress: &mut dyn FnMut(&str),
) -> Result<TableReport, StoreError> {
    let mut report = TableReport {
        table: table.name(),
        parts_ok: 0,
        rows_ok: 0,
        wal_segments_ok: 0,
        notes: Vec::new(),
        findings: Vec::new(),
    };
    let manifest = check_manifest(table, dir, repair, &mut report)?;
    if let Some(mut manifest) = manifest {
        check_parts(table, dir, repair, &mut manifest, &mut report, progress)?;
        check_wal(dir, repair, manifest.wal_flushed_seq, &mut report, progress)?;
    }
    Ok(report)
}

/// The table's manifest, rebuilt from the parts when it is lost or damaged (with
/// `repair`); `None` when it is unusable and not repaired.
fn check_manifest(
    table: Table,
    dir: &Path,
    repair: bool,
    report: &mut TableReport,
) -> Result<Option<Manifest>, StoreError> {
    let parts_dir = dir.join("parts");
    let files = list_part_files(&parts_dir).unwrap_or_default();
    let problem = match Manifest::load(dir) {
        Ok(Some(m)) => return Ok(Some(m)),
        Ok(None) if files.is_empty() => return Ok(Some(Manifest::default())),
        Ok(None) => "missing, while parts/ holds part files".to_string(),
        Err(e) => e.to_string(),
    };
    let mut finding = Finding {
        what: "manifest".into(),
        problem,
        action: "rebuild it from the part files (WAL segments still present are replayed, so \
                 rows of a segment flushed just before the loss may appear twice; none is lost)"
            .into(),
        repaired: false,
    };
    if !repair {
        report.findings.push(finding);
        return Ok(None);
    }
    let rebuilt = rebuild_manifest(table, dir, report)?;
    finding.repaired = true;
    report.findings.push(finding);
    Ok(Some(rebuilt))
}

/// A manifest naming every readable part file; unreadable ones are quarantined. The old
/// manifest, if any, is kept in quarantine.
fn rebuild_manifest(
    table: Table,
    dir: &Path,
    report: &mut TableReport,
) -> Result<Manifest, StoreError> {
    let parts_dir = dir.join("parts");
    let old = Manifest::path(dir);
    if old.exists() {
        let q = quarantine_dir(dir);
        fs::create_dir_all(&q)?;
        fs::rename(&old, q.join("manifest.json.damaged"))?;
    }
    let mut ids: Vec<u64> = list_part_files(&parts_dir)?
        .into_iter()
        .filter(|(_, p)| p.extension().is_some_and(|x| x == "parquet"))
        .map(|(id, _)| id)
        .collect();
    ids.sort_unstable();
    let mut manifest = Manifest::default();
    for id in ids {
        manifest.next_part_id = manifest.next_part_id.max(id + 1);
        match read_meta(table, &parts_dir, id) {
            Ok(meta) => manifest.parts.push(meta),
            Err(e) => {
                let meta = unknown_part(id);
                quarantine_part(table, dir, &meta, &e.to_string())?;
                report.findings.push(Finding {
                    what: format!("part {id}"),
                    problem: e.to_string(),
                    action: "quarantine it (its rows are no longer served)".into(),
                    repaired: true,
                });
            }
        }
    }
    let first_segment = segment_paths(&dir.join("wal"))?.first().map(|(s, _)| *s);
    manifest.wal_flushed_seq = first_segment.map_or(0, |s| s.saturating_sub(1));
    manifest.commit(dir)?;
    Ok(manifest)
}

/// What is known of a part that cannot be read: its id.
fn unknown_part(id: u64) -> PartMeta {
    PartMeta {
        id,
        project_id: String::new(),
        hour: 0,
        rows: 0,
        bytes: 0,
        min_start: 0,
        max_start: 0,
    }
}

fn check_parts(
    table: Table,
    dir: &Path,
    repair: bool,
    manifest: &mut Manifest,
    report: &mut TableReport,
    progress: &mut dyn FnMut(&str),
) -> Result<(), StoreError> {
    let parts_dir = dir.join("parts");
    let total = manifest.parts.len();
    let mut damaged = Vec::new();
    // Each part is read once: no footer needs to stay parsed after its part is checked.
    let footers = Arc::new(Footers::new(0));
    for (i, meta) in manifest.parts.iter().enumerate() {
        progress(&format!("{}: part {} of {total}", table.name(), i + 1));
        let verified = Part::open(table, &parts_dir, meta.clone(), footers.clone()).and_then(|p| {
            p.verify_footer()?;
            p.verify_data()
        });
        match verified {
            Ok(()) => {
                report.parts_ok += 1;
                report.rows_ok += meta.rows;
            }
            Err(e) => {
                if repair {
                    quarantine_part(table, dir, meta, &e.to_string())?;
                }
                report.findings.push(Finding {
                    what: format!("part {}", meta.id),
                    problem: format!("{e} (project {}, {} rows)", meta.project_id, meta.rows),
                    action: "quarantine it (its rows are no longer served)".into(),
                    repaired: repair,
                });
                damaged.push(meta.id);
            }
        }
    }
    if repair && !damaged.is_empty() {
        manifest.parts.retain(|m| !damaged.contains(&m.id));
        manifest.commit(dir)?;
    }
    let live: Vec<u64> = manifest.parts.iter().map(|m| m.id).collect();
    let stray = list_part_files(&parts_dir)?
        .into_iter()
        .filter(|(id, _)| !live.contains(id) && !damaged.contains(id))
        .count();
    if stray > 0 {
        report.notes.push(format!(
            "{stray} uncommitted part files (from an interrupted flush or compaction): removed at the next start"
        ));
    }
    Ok(())
}

fn check_wal(
    dir: &Path,
    repair: bool,
    flushed_seq: u64,
    report: &mut TableReport,
    progress: &mut dyn FnMut(&str),
) -> Result<(), StoreError> {
    let segments = segment_paths(&dir.join("wal"))?;
    let newest = segments.last().map(|(s, _)| *s);
    for (seq, path) in segments.iter().filter(|(s, _)| *s > flushed_seq) {
        progress(&format!("{}: WAL segment {seq}", report.table));
        let data = fs::read(path)?;
        let scan: SegmentScan = scan_segment(&data, |_| {});
        match scan.torn_tail() {
            _ if scan.damage.is_empty() => report.wal_segments_ok += 1,
            Some(offset) if Some(*seq) == newest => {
                report.wal_segments_ok += 1;
                report.notes.push(format!(
                    "WAL segment {seq} ends in a torn write at offset {offset} (never acknowledged): cut at the next start"
                ));
            }
            _ => {
                let lost = scan.damaged_bytes(data.len());
                let salvaged = if repair {
                    salvage_segment(path, &quarantine_dir(dir))?
                } else {
                    None
                };
                report.findings.push(Finding {
                    what: format!("WAL segment {seq}"),
                    problem: format!(
                        "{} damaged stretches ({lost} bytes, first at offset {}) among {} readable records",
                        scan.damage.len(),
                        scan.damage.first().map_or(0, |d| d.offset),
                        scan.records.len()
                    ),
                    action: "keep every readable record and move the original to quarantine/ \
                             (the records in the damaged bytes are lost)"
                        .into(),
                    repaired: salvaged.is_some(),
                });
            }
        }
    }
    Ok(())
}
