//! Compaction: the small parts of a partition are merged into one (up to a row and byte
//! cap), closed hours at once and the open hour once it has many parts; spans parts written
//! before granule indexes existed are rewritten in the current layout. Spans merge without
//! identical copies: a span delivered again that the ingest window could not leave out (its
//! first copy flushed before a restart, a resend racing the original) is stored once from
//! then on, with statistics, minute counts and span metrics counted again from the kept
//! rows. A merge that fails on damaged data quarantines the damaged part and lets the rest
//! merge next time.

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Instant;

use datafusion::arrow::array::RecordBatch;

use crate::error::StoreError;
use crate::storage::manifest::Manifest;
use crate::storage::merge::SortedMerge;
use crate::storage::part::{Part, PartWriter, merged_stats};
use crate::storage::table::Table;
use crate::storage::{HOUR_NS, blocking};
use crate::table_engine::TableEngine;
use tracehouse_store_api::stats::KeyStats;

/// Parts with fewer rows than this are merged by compaction.
const SMALL_PART_ROWS: u64 = 1_000_000;
/// Compaction never builds a part larger than this many rows.
const MAX_MERGED_ROWS: u64 = 4_000_000;
/// An open hour partition is compacted once it has this many small parts.
const OPEN_HOUR_MAX_PARTS: usize = 8;

impl TableEngine {
    /// Merges the small parts of each partition, and rewrites spans parts written before
    /// granule indexes existed (alone if need be), so that old data gets the current layout;
    /// returns how many parts were replaced.
    pub(crate) async fn compact(&self, now_ns: i64) -> Result<usize, StoreError> {
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
                    self.dirs.discard_uncommitted(&manifest);
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
        let (tmp, parts_dir) = (self.dirs.tmp.clone(), self.dirs.parts.clone());
        let inputs = group.to_vec();
        let table = self.table;
        let merged =
            blocking(move || merge_parts(table, (&tmp, &parts_dir), id, (&project, hour), &inputs))
                .await?;
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
}

/// Streams the rows of `inputs` (parts of one partition) through a k-way merge into part
/// `id`: one decoded batch per input and one output batch are held at a time. Spans merge
/// without identical copies (`SortedMerge::without_copies`). The new part's trace index is
/// merged from the inputs' own, and so are its statistics unless copies were left out:
/// ingest counted those, so the statistics are then counted again from the kept rows.
fn merge_parts(
    table: Table,
    dirs: (&Path, &Path),
    id: u64,
    partition: (&str, i64),
    inputs: &[Arc<Part>],
) -> Result<Arc<Part>, StoreError> {
    let mut trace_ids: Vec<[u8; 16]> = inputs
        .iter()
        .flat_map(|p| p.trace_ids().iter().copied())
        .collect();
    trace_ids.sort_unstable();
    trace_ids.dedup();
    let mut writer = PartWriter::create(table, dirs.0, id, trace_ids.len())?;
    let mut merge = merged_rows(table, inputs)?;
    for batch in merge.by_ref() {
        writer.write(&batch?)?;
    }
    let copies = merge.copies_dropped();
    if copies > 0 {
        tracing::info!(
            copies,
            part = id,
            "compaction left out identical copies of spans"
        );
    }
    let stats = merged_part_stats(table, inputs, copies)?;
    writer.finish(dirs, partition, trace_ids, stats)
}

/// The statistics of the part merged from `inputs`: the inputs' own added up, or, when the
/// merge left `copies` out (which ingest counted), counted again from the rows it keeps.
fn merged_part_stats(
    table: Table,
    inputs: &[Arc<Part>],
    copies: u64,
) -> Result<KeyStats, StoreError> {
    let mut stats = KeyStats::default();
    if copies == 0 {
        for p in inputs {
            stats.merge(&p.stats);
        }
        return Ok(stats);
    }
    for batch in merged_rows(table, inputs)? {
        stats.merge(&merged_stats(table, &batch?)?);
    }
    Ok(stats)
}

/// The rows of `inputs` in part order, spans without identical copies.
fn merged_rows(
    table: Table,
    inputs: &[Arc<Part>],
) -> Result<SortedMerge<impl Iterator<Item = Result<RecordBatch, StoreError>> + use<>>, StoreError>
{
    let sources = inputs
        .iter()
        .map(|p| p.batches())
        .collect::<Result<Vec<_>, _>>()?;
    let merge = SortedMerge::new(table, sources)?;
    match table {
        Table::Spans => merge.without_copies(),
        _ => Ok(merge),
    }
}
