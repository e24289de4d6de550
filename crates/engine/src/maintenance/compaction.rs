//! Compaction: the parts of a partition are merged in size tiers, so that a partition holds
//! a number of parts logarithmic in its rows however long it takes writes. A part's *tier*
//! is how many times [`TIER_RATIO`] its rows exceed [`TIER_BASE_ROWS`]; a tier holding
//! [`OPEN_TIER_PARTS`] parts (the open hour) or two (a closed hour, which takes few writes
//! more) is merged into one part of the next tier, and a closed hour whose largest part is not
//! far larger than the rest together merges at once. Each row is so rewritten about once
//! per tier, a late span added to a closed hour never rewrites the hour's largest part, and
//! merges are bounded by the memory budget: at most [`merge_inputs`] parts at a time (each
//! holds one decoded batch while merged) into a part of at most [`max_part_rows`] rows (the
//! merge holds its trace ids and their time ranges). Spans parts written before granule
//! indexes existed are rewritten in the current layout (alone if need be).
//!
//! Spans merge without identical copies: a span delivered again that the ingest window
//! could not leave out (its first copy flushed before a restart, a resend racing the
//! original) is stored once from then on, with statistics, minute counts and span metrics
//! counted again from the kept rows. A merge that fails on damaged data quarantines the
//! damaged part and lets the rest merge next time.

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Instant;

use datafusion::arrow::array::RecordBatch;

use crate::config::EngineConfig;
use crate::error::StoreError;
use crate::storage::footers::Footers;
use crate::storage::merge::SortedMerge;
use crate::storage::part::{Part, PartWriter, READ_BATCH_BYTES, merged_stats};
use crate::storage::table::Table;
use crate::storage::{HOUR_NS, blocking};
use crate::table_engine::TableEngine;
use tracehouse_store_api::stats::KeyStats;

/// Rows of a part of the lowest tier (a flush writes parts of about this size and more).
const TIER_BASE_ROWS: u64 = 65_536;
/// Each tier's parts hold this many times the rows of the tier below.
const TIER_RATIO: u64 = 4;
/// The open hour merges a tier once it holds this many parts (a closed hour: two).
const OPEN_TIER_PARTS: usize = 4;
/// Bytes a merge holds per row of the part it builds: the part's distinct trace ids and
/// each trace's time range, about 16 + 16 bytes and a hash entry per trace of some ten spans.
const MERGE_BYTES_PER_ROW: u64 = 8;

/// The most rows compaction puts in one part: the merge's per-trace bookkeeping within the
/// budget's share of one part ([`EngineConfig::part_bytes`]); 16M rows at the default 1 GiB.
pub(crate) fn max_part_rows(config: &EngineConfig) -> u64 {
    (config.part_bytes as u64 / MERGE_BYTES_PER_ROW).max(TIER_BASE_ROWS)
}

/// Bytes a merge holds per input part: a decoded batch of about [`READ_BATCH_BYTES`], and
/// each column's Parquet reader with its decompressed page, dictionary and codec context
/// (heaptrack of an 8-way merge of span parts: ~100 MB in dictionary decoding and codecs
/// besides the batches).
const MERGE_BYTES_PER_INPUT: u64 = 4 * READ_BATCH_BYTES;

/// The most parts merged at once, within the budget's share of one part (4 at the default
/// 1 GiB, as many as an open hour's tier collects).
pub(crate) fn merge_inputs(config: &EngineConfig) -> usize {
    (config.part_bytes as u64 / MERGE_BYTES_PER_INPUT).clamp(2, OPEN_TIER_PARTS as u64) as usize
}

/// What compaction looks at in a part.
#[derive(Debug, Clone, Copy)]
struct Sized {
    rows: u64,
    /// Written before granule indexes existed: rewritten whatever its size.
    outdated: bool,
}

fn tier(rows: u64) -> u32 {
    let mut tier = 0;
    let mut bound = TIER_BASE_ROWS * TIER_RATIO;
    while rows >= bound {
        tier += 1;
        match bound.checked_mul(TIER_RATIO) {
            Some(next) => bound = next,
            None => break,
        }
    }
    tier
}

/// Which parts of one partition (in part order, oldest first) to merge now, as indexes
/// into `parts`; empty when the partition is fine as it is. Never more than `max_inputs`
/// parts nor (beyond the first) more than `max_rows` rows together.
fn pick(parts: &[Sized], closed: bool, max_rows: u64, max_inputs: usize) -> Vec<usize> {
    let eligible: Vec<usize> = (0..parts.len())
        .filter(|&i| parts[i].outdated || parts[i].rows < max_rows)
        .collect();
    let bounded = |candidates: Vec<usize>| {
        let mut rows = 0u64;
        let mut taken = Vec::new();
        for i in candidates {
            rows = rows.saturating_add(parts[i].rows);
            if !taken.is_empty() && (rows > max_rows || taken.len() == max_inputs) {
                break;
            }
            taken.push(i);
        }
        taken
    };
    let mut outdated: Vec<usize> = eligible
        .iter()
        .copied()
        .filter(|&i| parts[i].outdated)
        .collect();
    if !outdated.is_empty() {
        outdated.extend(eligible.iter().copied().filter(|&i| !parts[i].outdated));
        return bounded(outdated);
    }
    if closed && eligible.len() >= 2 {
        let total: u64 = eligible.iter().map(|&i| parts[i].rows).sum();
        let largest = eligible.iter().map(|&i| parts[i].rows).max().unwrap_or(0);
        if largest <= TIER_RATIO.saturating_mul(total - largest) {
            let taken = bounded(eligible.clone());
            if taken.len() >= 2 {
                return taken;
            }
        }
    }
    let threshold = if closed { 2 } else { OPEN_TIER_PARTS };
    let mut tiers: HashMap<u32, Vec<usize>> = HashMap::new();
    for &i in &eligible {
        tiers.entry(tier(parts[i].rows)).or_default().push(i);
    }
    let mut full: Vec<(u32, Vec<usize>)> = tiers
        .into_iter()
        .filter(|(_, members)| members.len() >= threshold)
        .collect();
    full.sort_by_key(|(tier, _)| *tier);
    full.into_iter()
        .map(|(_, members)| bounded(members))
        .find(|taken| taken.len() >= 2)
        .unwrap_or_default()
}

/// One merge compaction chose: the partition, its parts and the id reserved for the part
/// they become.
struct Planned {
    partition: (String, i64),
    inputs: Vec<Arc<Part>>,
    id: u64,
}

impl TableEngine {
    /// Merges parts of each partition as [`pick`] chooses (one merge per partition per
    /// call), and rewrites spans parts written before granule indexes existed, so that old
    /// data gets the current layout; returns how many parts were replaced.
    ///
    /// The manifest is held only to choose the merges (reserving their part ids) and to
    /// commit each: flushes go on while parts merge. A merge whose inputs left the manifest
    /// meanwhile (retention, quarantine) is thrown away.
    pub(crate) async fn compact(&self, now_ns: i64) -> Result<usize, StoreError> {
        let _one_at_a_time = self.compaction.lock().await;
        let planned = self.plan_merges(now_ns).await;
        let mut replaced = 0;
        for plan in planned {
            let ids: Vec<u64> = plan.inputs.iter().map(|p| p.meta.id).collect();
            let id = plan.id;
            match self.merge(plan).await {
                Ok(retired) => replaced += retired,
                Err(e) => {
                    self.dirs.discard(id..=id);
                    if !e.is_damage() {
                        return Err(e);
                    }
                    // A part that does not decode is set aside; the rest merge next time.
                    let damaged = |p: &Part| ids.contains(&p.meta.id);
                    if self.quarantine_damaged(&damaged).await? == 0 {
                        return Err(e);
                    }
                }
            }
        }
        Ok(replaced)
    }

    /// The merges to run now, at most one per partition, each with a part id reserved.
    async fn plan_merges(&self, now_ns: i64) -> Vec<Planned> {
        let mut manifest = self.manifest.lock().await;
        let current_hour = now_ns.div_euclid(HOUR_NS);
        let outdated = |p: &Part| self.table == Table::Spans && p.granules.is_none();
        let mut partitions: HashMap<(String, i64), Vec<Arc<Part>>> = HashMap::new();
        for p in self.state.read().parts.iter() {
            partitions
                .entry((p.meta.project_id.clone(), p.meta.hour))
                .or_default()
                .push(p.clone());
        }
        let (max_rows, max_inputs) = (max_part_rows(&self.config), merge_inputs(&self.config));
        let mut planned = Vec::new();
        for (partition, mut parts) in partitions {
            parts.sort_by_key(|p| p.meta.id);
            let sized: Vec<Sized> = parts
                .iter()
                .map(|p| Sized {
                    rows: p.meta.rows,
                    outdated: outdated(p),
                })
                .collect();
            let chosen = pick(&sized, partition.1 < current_hour, max_rows, max_inputs);
            let alone_outdated = chosen.len() == 1 && sized[chosen[0]].outdated;
            if chosen.len() < 2 && !alone_outdated {
                continue;
            }
            planned.push(Planned {
                partition,
                inputs: chosen.iter().map(|&i| parts[i].clone()).collect(),
                id: manifest.next_part_id,
            });
            // Reserved: the next commit (of any kind) records the higher id.
            manifest.next_part_id += 1;
        }
        planned
    }

    /// Runs one planned merge and commits it; returns how many parts were retired (none
    /// when an input left the manifest while it merged).
    async fn merge(&self, plan: Planned) -> Result<usize, StoreError> {
        let started = Instant::now();
        let (tmp, parts_dir) = (self.dirs.tmp.clone(), self.dirs.parts.clone());
        let footers = self.dirs.footers.clone();
        let Planned {
            partition,
            inputs,
            id,
        } = plan;
        let table = self.table;
        let sources = inputs.clone();
        let merged = blocking(move || {
            let (project, hour) = (partition.0.as_str(), partition.1);
            let dirs = (tmp.as_path(), parts_dir.as_path());
            merge_parts(table, dirs, id, (project, hour), &sources, footers)
        })
        .await?;
        let mut manifest = self.manifest.lock().await;
        let live = |p: &Arc<Part>| manifest.parts.iter().any(|m| m.id == p.meta.id);
        if !inputs.iter().all(live) {
            drop(manifest);
            merged.retire();
            return Ok(0);
        }
        let mut next = manifest.clone();
        next.parts
            .retain(|m| !inputs.iter().any(|g| g.meta.id == m.id));
        next.parts.push(merged.meta.clone());
        let retired = self.commit_and_swap(&mut manifest, next, &[merged]).await?;
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
    footers: Arc<Footers>,
) -> Result<Arc<Part>, StoreError> {
    let mut trace_ids: Vec<[u8; 16]> = Vec::new();
    for input in inputs {
        trace_ids.extend(input.trace_ids()?);
    }
    trace_ids.sort_unstable();
    trace_ids.dedup();
    let mut writer = PartWriter::create(table, dirs.0, id, trace_ids.len(), footers)?;
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
            stats.metrics.merge(&p.span_metrics()?);
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

#[cfg(test)]
mod tests {
    use super::*;

    const MAX_ROWS: u64 = 16_000_000;

    fn parts(rows: &[u64]) -> Vec<Sized> {
        rows.iter()
            .map(|&rows| Sized {
                rows,
                outdated: false,
            })
            .collect()
    }

    /// Flushes `flushes` parts of `rows` each into an open hour, compacting after each as
    /// the upkeep loop would (until nothing is left to merge); returns the parts' rows and
    /// the rows written by merges.
    fn open_hour(flushes: usize, rows: u64) -> (Vec<u64>, u64) {
        let (mut live, mut written) = (Vec::new(), 0);
        for _ in 0..flushes {
            live.push(rows);
            loop {
                let chosen = pick(&parts(&live), false, MAX_ROWS, OPEN_TIER_PARTS);
                if chosen.len() < 2 {
                    break;
                }
                let merged: u64 = chosen.iter().map(|&i| live[i]).sum();
                written += merged;
                live = (0..live.len())
                    .filter(|i| !chosen.contains(i))
                    .map(|i| live[i])
                    .collect();
                live.push(merged);
            }
        }
        (live, written)
    }

    #[test]
    fn tiers_grow_by_the_ratio() {
        assert_eq!(tier(1), 0);
        assert_eq!(tier(TIER_BASE_ROWS * TIER_RATIO - 1), 0);
        assert_eq!(tier(TIER_BASE_ROWS * TIER_RATIO), 1);
        assert_eq!(tier(TIER_BASE_ROWS * TIER_RATIO.pow(3)), 3);
        assert_eq!(tier(u64::MAX), 23);
    }

    #[test]
    fn a_busy_open_hour_keeps_few_parts_and_rewrites_each_row_a_few_times() {
        // 8M spans in 125 flushes of 64k: the part count stays logarithmic.
        let (live, written) = open_hour(125, 64_000);
        let total: u64 = live.iter().sum();
        assert_eq!(total, 8_000_000);
        assert!(live.len() <= 12, "{live:?}");
        assert!(written <= 5 * total, "{written} rows written for {total}");
    }

    #[test]
    fn an_open_hour_waits_for_a_full_tier() {
        assert!(pick(&parts(&[1_000, 2_000, 3_000]), false, MAX_ROWS, 8).is_empty());
        assert_eq!(
            pick(&parts(&[1_000, 2_000, 3_000, 4_000]), false, MAX_ROWS, 8),
            [0, 1, 2, 3]
        );
        // The lowest full tier first; a part of another tier stays out of it.
        assert_eq!(
            pick(&parts(&[2_000_000, 10, 20, 30, 40]), false, MAX_ROWS, 8),
            [1, 2, 3, 4]
        );
    }

    #[test]
    fn a_closed_hour_merges_at_once_unless_one_part_dwarfs_the_rest() {
        assert_eq!(
            pick(&parts(&[3_000_000, 1_000_000, 500_000]), true, MAX_ROWS, 8),
            [0, 1, 2]
        );
        // A late span never rewrites the hour's largest part...
        assert!(pick(&parts(&[8_000_000, 100]), true, MAX_ROWS, 8).is_empty());
        // ...late spans merge among themselves.
        assert_eq!(
            pick(&parts(&[8_000_000, 100, 200]), true, MAX_ROWS, 8),
            [1, 2]
        );
    }

    #[test]
    fn merges_stay_within_the_row_cap_and_the_fan_in() {
        let many = parts(&[100; 20]);
        assert_eq!(pick(&many, true, MAX_ROWS, 8), (0..8).collect::<Vec<_>>());
        assert_eq!(pick(&many, true, MAX_ROWS, 4), [0, 1, 2, 3]);
        assert_eq!(pick(&many, true, 350, 8), [0, 1, 2]);
        // Parts at the cap are left alone.
        assert!(pick(&parts(&[MAX_ROWS, MAX_ROWS]), true, MAX_ROWS, 8).is_empty());
    }

    #[test]
    fn outdated_parts_are_rewritten_first_even_alone() {
        let mut old = parts(&[MAX_ROWS, 10]);
        old[0].outdated = true;
        assert_eq!(pick(&old, false, MAX_ROWS, 8), [0]);
    }

    #[test]
    fn the_caps_follow_the_budget() {
        let config = EngineConfig::new("/tmp/x");
        assert_eq!(max_part_rows(&config), 16_777_216);
        assert_eq!(merge_inputs(&config), 4);
        let small = config.with_memory_limit(256 << 20);
        assert_eq!(max_part_rows(&small), 4_194_304);
        assert_eq!(merge_inputs(&small), 2);
    }
}
