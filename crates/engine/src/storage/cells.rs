//! The span metrics cells of a table's parts, merged per partition (project and hour) and
//! kept within a byte budget.
//!
//! Each spans part's statistics sidecar carries the span metrics cells of its rows: a
//! duration sketch per minute, service, span name, kind and status, 2–3 KB each in memory.
//! Parts used to hold theirs for life, and under sustained ingest a partition has dozens of
//! parts whose cells cover the same minutes and operations again: 159 parts held about
//! 200 MB of cells during a 16M-span ingest. Now a part's cells stay in its sidecar; a span
//! metrics query merges the cells of each partition it covers once and keeps the result
//! here, reusing it while the partition's parts stay the same and merging in only the new
//! parts' cells when flushes added some.

use std::sync::Arc;

use parking_lot::Mutex;
use tracehouse_store_api::metrics::SpanMetrics;

use crate::error::StoreError;
use crate::storage::lru::ByteLru;
use crate::storage::part::Part;

/// About what one cell takes in memory: its key, counters and a dense sketch of a few
/// hundred bins (2,048 cells of a part decode from 2.3 MB of JSON).
const CELL_BYTES: usize = 3 << 10;

/// A partition: project and hour.
type Partition = (String, i64);

/// Merged cells per partition, least recently used dropped first past the budget.
#[derive(Debug)]
pub(crate) struct PartitionCells {
    held: Mutex<ByteLru<Partition, Merged>>,
}

/// The cells of some parts of a partition, merged.
#[derive(Debug, Clone)]
struct Merged {
    /// Ids of the parts merged, sorted.
    parts: Vec<u64>,
    cells: Arc<SpanMetrics>,
}

impl PartitionCells {
    pub(crate) fn new(budget: usize) -> PartitionCells {
        PartitionCells {
            held: Mutex::new(ByteLru::new(budget)),
        }
    }

    /// The cells of `parts` (the live parts of `partition`) merged: held ones when the
    /// parts are the same, held ones with the cells of the parts added since, or all read
    /// from the parts' sidecars.
    pub(crate) fn of(
        &self,
        partition: &Partition,
        parts: &[Arc<Part>],
    ) -> Result<Arc<SpanMetrics>, StoreError> {
        let mut ids: Vec<u64> = parts.iter().map(|p| p.meta.id).collect();
        ids.sort_unstable();
        let held = self.held.lock().get(partition);
        let (merged_ids, mut cells) = match held {
            Some(m) if m.parts == ids => return Ok(m.cells),
            Some(m) if m.parts.iter().all(|id| ids.binary_search(id).is_ok()) => {
                (m.parts, Arc::unwrap_or_clone(m.cells))
            }
            _ => (Vec::new(), SpanMetrics::default()),
        };
        for p in parts {
            if merged_ids.binary_search(&p.meta.id).is_err() {
                cells.merge(&p.span_metrics()?);
            }
        }
        let cells = Arc::new(cells);
        let bytes = cells.cells().count() * CELL_BYTES;
        let merged = Merged {
            parts: ids,
            cells: cells.clone(),
        };
        self.held.lock().insert(partition.clone(), merged, bytes);
        Ok(cells)
    }

    /// Bytes of cells held (estimated).
    pub(crate) fn bytes(&self) -> usize {
        self.held.lock().bytes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::{Path, PathBuf};

    use tracehouse_model::{SpanId, TraceId};
    use tracehouse_store_api::testsuite::testkit::{MS, span};

    use crate::storage::part::write_part;
    use crate::storage::schema::spans_to_batch;
    use crate::storage::table::Table;

    /// Part `id` of partition ("p", 0): `n` spans of operation `op`, one a minute.
    fn part(dirs: (&Path, &Path), id: u64, op: &str, n: u64) -> Arc<Part> {
        let spans: Vec<_> = (0..n)
            .map(|i| tracehouse_model::Span {
                name: op.into(),
                ..span(
                    TraceId([id as u8; 16]),
                    SpanId((i + 1).to_be_bytes()),
                    (i as i64) * 60_000 * MS,
                    MS,
                )
            })
            .collect();
        let batch = spans_to_batch(&spans).expect("batch");
        write_part(Table::Spans, dirs, id, ("p", 0), &batch).expect("part")
    }

    fn total(cells: &SpanMetrics) -> u64 {
        cells.cells().map(|(_, c)| c.count).sum()
    }

    /// A fresh directory (gone with the guard) with its temporary and parts directories.
    fn part_dirs() -> (tempfile::TempDir, PathBuf, PathBuf) {
        let dir = tempfile::tempdir().expect("tempdir");
        let (tmp, parts_dir) = (dir.path().join("tmp"), dir.path().join("parts"));
        std::fs::create_dir_all(&tmp).expect("tmp");
        std::fs::create_dir_all(&parts_dir).expect("parts");
        (dir, tmp, parts_dir)
    }

    #[test]
    fn cells_merge_once_per_partition_and_follow_its_parts() {
        let (_dir, tmp, parts_dir) = part_dirs();
        let dirs = (tmp.as_path(), parts_dir.as_path());
        let parts = [
            part(dirs, 1, "a", 3),
            part(dirs, 2, "a", 5),
            part(dirs, 3, "b", 7),
        ];
        assert!(
            parts.iter().all(|p| p.stats.metrics.total() == 0),
            "cells stay on disk"
        );
        let cells = PartitionCells::new(usize::MAX);
        let key = ("p".to_string(), 0);

        let first = cells.of(&key, &parts[..2]).expect("cells");
        assert_eq!(total(&first), 8);
        let again = cells.of(&key, &parts[..2]).expect("cells");
        assert!(
            Arc::ptr_eq(&first, &again),
            "the same parts reuse the merge"
        );

        // A flush added a part: its cells are merged into the held ones.
        let grown = cells.of(&key, &parts).expect("cells");
        assert_eq!(total(&grown), 15);
        assert_eq!(
            grown.cells().count(),
            3 + 5 + 7 - 3,
            "minutes 0-4 of `a` merge"
        );
        // Compaction replaced parts: merged again from the sidecars.
        let after = cells.of(&key, &parts[2..]).expect("cells");
        assert_eq!(total(&after), 7);
        assert_eq!(cells.bytes(), 7 * CELL_BYTES);

        // Past the budget the least recently used partition goes.
        let small = PartitionCells::new(8 * CELL_BYTES);
        small.of(&key, &parts[2..]).expect("cells");
        small.of(&("p".to_string(), 1), &parts[..1]).expect("cells");
        assert_eq!(small.bytes(), 3 * CELL_BYTES);
        assert!(!small.held.lock().contains(&key));
    }

    #[test]
    fn a_missing_sidecar_is_an_error() {
        let (_dir, tmp, parts_dir) = part_dirs();
        let p = part((tmp.as_path(), parts_dir.as_path()), 1, "a", 2);
        std::fs::remove_file(p.path.with_extension("stats")).expect("remove");
        let err = PartitionCells::new(usize::MAX)
            .of(&("p".to_string(), 0), &[p])
            .expect_err("no sidecar");
        assert!(matches!(err, StoreError::Io(_)), "{err}");
    }
}
