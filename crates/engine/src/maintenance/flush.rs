//! Flush: the frozen memtable becomes parts. The WAL segment its rows came from is sealed
//! when the memtable freezes, the rows are cut by partition (project, hour) and by size into
//! parts, the manifest commits them, and only then are the frozen rows dropped from memory
//! and the sealed segments removed. A partition that becomes a single part takes the
//! statistics the memtable kept for it as its rows arrived; one cut into several parts has
//! each part's computed from its rows. A part's rows are gathered from the frozen batches a
//! slice at a time as they are written, so the flush holds the sort order, not a copy.

use std::collections::{BTreeMap, HashMap};
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Instant;

use datafusion::arrow::array::{Array, FixedSizeBinaryArray, Int64Array, RecordBatch, StringArray};
use datafusion::arrow::compute::interleave_record_batch;

use crate::error::{EngineResult, StoreError};
use crate::storage::footers::Footers;
use crate::storage::manifest::Manifest;
use crate::storage::merge::SortKeys;
use crate::storage::part::{Part, PartWriter, READ_BATCH_BYTES, merged_stats};
use crate::storage::schema::col as c;
use crate::storage::table::Table;
use crate::storage::{HOUR_NS, blocking};
use crate::table_engine::TableEngine;
use crate::write::memtable::arrow_bytes;
use tracehouse_store_api::stats::KeyStats;

impl TableEngine {
    /// Moves the memtable into new parts and drops the WAL segments it came from. A failed
    /// flush leaves nothing behind (its files are removed) and is retried by the
    /// flush loop, with or without new writes.
    pub(crate) async fn flush_now(&self) -> Result<(), StoreError> {
        let mut manifest = self.manifest.lock().await;
        let result = self.flush_locked(&mut manifest).await;
        match &result {
            Ok(()) => *self.flush_failure.lock() = None,
            Err(e) => {
                *self.flush_failure.lock() = Some(e.to_string());
                self.dirs.discard(manifest.next_part_id..);
            }
        }
        result
    }

    async fn flush_locked(&self, manifest: &mut Manifest) -> Result<(), StoreError> {
        let started = Instant::now();
        let sealed = self.writer.rotate().await?;
        let (frozen, mut frozen_stats) = {
            let st = self.state.read();
            (st.mem.frozen.clone(), st.mem.frozen_stats.clone())
        };
        if frozen.is_empty() {
            self.writer.remove_through(sealed).await;
            return Ok(());
        }
        let mut next = manifest.clone();
        let (tmp, parts_dir) = (self.dirs.tmp.clone(), self.dirs.parts.clone());
        let footers = self.dirs.footers.clone();
        let first_id = next.next_part_id;
        let (table, part_bytes) = (self.table, self.config.part_bytes);
        let new_parts = blocking(move || {
            let dirs = (tmp.as_path(), parts_dir.as_path());
            let mut id = first_id;
            in_sorted_chunks(table, &frozen, part_bytes, |key, run, whole| {
                let partition = (key.project_id.as_str(), key.hour);
                let kept = whole
                    .then(|| frozen_stats.remove(&(key.project_id.clone(), key.hour)))
                    .flatten();
                let part = write_run(table, dirs, id, partition, &run, kept, footers.clone());
                id += 1;
                part
            })
        })
        .await?;
        next.next_part_id = first_id + new_parts.len() as u64;
        next.wal_flushed_seq = sealed;
        next.parts.extend(new_parts.iter().map(|p| p.meta.clone()));
        let dir = self.dirs.dir.clone();
        let to_commit = next.clone();
        blocking(move || to_commit.commit(&dir)).await?;
        {
            let mut st = self.state.write();
            st.parts.extend(new_parts);
            st.mem.clear_frozen();
        }
        *manifest = next;
        self.writer.remove_through(sealed).await;
        self.times.flushes.fetch_add(1, Ordering::Relaxed);
        self.times
            .flush_micros
            .fetch_add(started.elapsed().as_micros() as u64, Ordering::Relaxed);
        tracing::debug!(elapsed = ?started.elapsed(), "flushed memtable");
        Ok(())
    }
}

/// The partition a row belongs to.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct PartitionKey {
    project_id: String,
    hour: i64,
}

/// A row of the frozen batches: (batch, row).
type Position = (usize, usize);

/// The rows of one part-to-be: positions in the frozen batches, in part order.
struct SortedRun<'a> {
    sources: &'a [&'a RecordBatch],
    rows: &'a [Position],
    /// Average Arrow bytes of a row of each source batch.
    row_bytes: &'a [usize],
}

impl SortedRun<'_> {
    /// The rows, gathered from the frozen batches in slices of about [`READ_BATCH_BYTES`]
    /// as they are consumed, so a flush never holds a second copy of a whole part.
    fn batches(&self) -> impl Iterator<Item = Result<RecordBatch, StoreError>> + '_ {
        runs_by_bytes(self.rows, self.row_bytes, READ_BATCH_BYTES as usize)
            .into_iter()
            .map(|slice| interleave_record_batch(self.sources, slice).engine())
    }

    /// The distinct trace ids of the rows, sorted.
    fn trace_ids(&self) -> Result<Vec<[u8; 16]>, StoreError> {
        let columns = self
            .sources
            .iter()
            .map(|b| {
                b.column_by_name(c::TRACE_ID)
                    .and_then(|a| a.as_any().downcast_ref::<FixedSizeBinaryArray>())
                    .ok_or_else(|| StoreError::Corrupt("trace_id column".into()))
            })
            .collect::<Result<Vec<_>, _>>()?;
        let mut ids: Vec<[u8; 16]> = self
            .rows
            .iter()
            .filter(|&&(b, i)| columns[b].is_valid(i))
            .filter_map(|&(b, i)| columns[b].value(i).try_into().ok())
            .collect();
        ids.sort_unstable();
        ids.dedup();
        Ok(ids)
    }
}

/// Writes `run` as part `id` of `partition`, with the statistics the memtable `kept` for
/// the partition when the run is all of it, else counted from the rows as they are written;
/// the part reads its footer through `footers`.
fn write_run(
    table: Table,
    dirs: (&Path, &Path),
    id: u64,
    partition: (&str, i64),
    run: &SortedRun<'_>,
    kept: Option<KeyStats>,
    footers: Arc<Footers>,
) -> Result<Arc<Part>, StoreError> {
    let trace_ids = if table.indexes_traces() {
        run.trace_ids()?
    } else {
        Vec::new()
    };
    let mut writer = PartWriter::create(table, dirs.0, id, trace_ids.len(), footers)?;
    let count = kept.is_none();
    let mut stats = kept.unwrap_or_default();
    for batch in run.batches() {
        let batch = batch?;
        if count {
            stats.merge(&merged_stats(table, &batch)?);
        }
        writer.write(&batch)?;
    }
    writer.finish(dirs, partition, trace_ids, stats)
}

/// Hands the frozen rows to `write` cut into parts, one at a time: by partition (in
/// partition order), each partition's rows in the table's part order, cut into runs of at
/// most about `part_bytes` of Arrow data, with whether the run is the whole partition.
fn in_sorted_chunks<T>(
    table: Table,
    batches: &[RecordBatch],
    part_bytes: usize,
    mut write: impl FnMut(&PartitionKey, SortedRun<'_>, bool) -> Result<T, StoreError>,
) -> Result<Vec<T>, StoreError> {
    let sort_keys = SortKeys::new(table)?;
    let keys = batches
        .iter()
        .map(|b| sort_keys.of(b))
        .collect::<Result<Vec<_>, _>>()?;
    let row_bytes: Vec<usize> = batches
        .iter()
        .map(|b| arrow_bytes(b) / b.num_rows().max(1))
        .collect();
    let sources: Vec<&RecordBatch> = batches.iter().collect();
    let mut out = Vec::new();
    for (key, mut rows) in partitions(table, batches)? {
        rows.sort_by(|a, b| keys[a.0].row(a.1).cmp(&keys[b.0].row(b.1)));
        let runs = runs_by_bytes(&rows, &row_bytes, part_bytes);
        let whole = runs.len() == 1;
        for rows in runs {
            let run = SortedRun {
                sources: &sources,
                rows,
                row_bytes: &row_bytes,
            };
            out.push(write(&key, run, whole)?);
        }
    }
    Ok(out)
}

/// Consecutive runs of `rows` of at most `limit` Arrow bytes each (`row_bytes`: the
/// average size of a row of each batch); a run holds at least one row.
fn runs_by_bytes<'r>(
    rows: &'r [Position],
    row_bytes: &[usize],
    limit: usize,
) -> Vec<&'r [Position]> {
    let mut out = Vec::new();
    let (mut start, mut current) = (0, 0);
    for (i, &(batch, _)) in rows.iter().enumerate() {
        let size = row_bytes[batch];
        if i > start && current + size > limit {
            out.push(&rows[start..i]);
            (start, current) = (i, 0);
        }
        current += size;
    }
    if start < rows.len() {
        out.push(&rows[start..]);
    }
    out
}

/// The positions of the rows of `batches` by (project, hour of the table's time column),
/// in partition order.
fn partitions(
    table: Table,
    batches: &[RecordBatch],
) -> Result<BTreeMap<PartitionKey, Vec<Position>>, StoreError> {
    let mut groups: HashMap<(&str, i64), Vec<Position>> = HashMap::new();
    for (b, batch) in batches.iter().enumerate() {
        let projects = batch
            .column_by_name(c::PROJECT_ID)
            .and_then(|a| a.as_any().downcast_ref::<StringArray>())
            .ok_or_else(|| StoreError::Corrupt("project_id column".into()))?;
        let times = batch
            .column_by_name(table.time_column())
            .and_then(|a| a.as_any().downcast_ref::<Int64Array>())
            .ok_or_else(|| StoreError::Corrupt("time column".into()))?;
        for i in 0..batch.num_rows() {
            let key = (projects.value(i), times.value(i).div_euclid(HOUR_NS));
            groups.entry(key).or_default().push((b, i));
        }
    }
    Ok(groups
        .into_iter()
        .map(|((project, hour), rows)| {
            let key = PartitionKey {
                project_id: project.to_string(),
                hour,
            };
            (key, rows)
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::storage::part::sort_for_part;
    use crate::storage::schema::spans_to_batch;
    use crate::storage::schema::tests::sample_span;
    use tracehouse_model::{Span, SpanId};

    /// Span `i` of hour `hour` at a scattered minute, of `service`.
    fn span(i: u64, hour: i64, service: &str) -> Span {
        let start = hour * HOUR_NS + (i as i64 * 7_919 % 1_000) * 1_000_000;
        let mut s = sample_span((i % 7) as u8, (i % 250) as u8 + 1, start);
        s.span_id = SpanId((i + 1).to_be_bytes());
        s.service_name = service.to_string();
        s
    }

    #[test]
    fn parts_are_partitions_in_part_order_cut_by_size() {
        let hours = [1_000, 1_001];
        let batches: Vec<RecordBatch> = (0..4u64)
            .map(|b| {
                let spans: Vec<Span> = (0..50)
                    .map(|i| {
                        let n = b * 50 + i;
                        span(
                            n,
                            hours[(n % 2) as usize],
                            ["b", "a", "c"][(n % 3) as usize],
                        )
                    })
                    .collect();
                spans_to_batch(&spans).unwrap()
            })
            .collect();
        let per_row = arrow_bytes(&batches[0]) / 50;
        let gathered = |run: SortedRun<'_>| {
            let slices = run.batches().collect::<Result<Vec<_>, _>>()?;
            datafusion::arrow::compute::concat_batches(&batches[0].schema(), &slices).engine()
        };
        let parts = in_sorted_chunks(Table::Spans, &batches, 30 * per_row, |key, run, whole| {
            assert!(!whole, "100 rows an hour are cut into several parts");
            Ok((key.hour, gathered(run)?))
        })
        .unwrap();
        assert!(parts.iter().all(|(_, c)| c.num_rows() <= 30), "cut by size");
        let uncut = in_sorted_chunks(Table::Spans, &batches, usize::MAX, |key, run, whole| {
            assert!(whole, "an hour in one part");
            Ok((key.hour, run.rows.len()))
        })
        .unwrap();
        assert_eq!(uncut, [(hours[0], 100), (hours[1], 100)]);
        for hour in hours {
            let got: Vec<RecordBatch> = parts
                .iter()
                .filter(|(h, _)| *h == hour)
                .map(|(_, c)| c.clone())
                .collect();
            let got = datafusion::arrow::compute::concat_batches(&got[0].schema(), &got).unwrap();
            let all =
                datafusion::arrow::compute::concat_batches(&batches[0].schema(), &batches).unwrap();
            let mine: Vec<u32> = (0..all.num_rows() as u32)
                .filter(|&i| {
                    let t = all.column_by_name(c::START_TIME).unwrap();
                    let t = t.as_any().downcast_ref::<Int64Array>().unwrap();
                    t.value(i as usize).div_euclid(HOUR_NS) == hour
                })
                .collect();
            let taken = datafusion::arrow::compute::take_record_batch(
                &all,
                &datafusion::arrow::array::UInt32Array::from(mine),
            )
            .unwrap();
            assert_eq!(
                got,
                sort_for_part(Table::Spans, &taken).unwrap(),
                "hour {hour}"
            );
        }
        let hours_seen: Vec<i64> = parts.iter().map(|(h, _)| *h).collect();
        assert!(
            hours_seen.is_sorted(),
            "partitions in order: {hours_seen:?}"
        );
    }

    #[test]
    fn runs_hold_at_least_one_row_and_at_most_the_limit() {
        let rows: Vec<Position> = (0..10).map(|i| (i % 2, i)).collect();
        let runs = runs_by_bytes(&rows, &[10, 30], 40);
        assert_eq!(runs.iter().map(|r| r.len()).sum::<usize>(), 10);
        assert!(runs.iter().all(|r| r.len() == 2), "{runs:?}");
        let one = runs_by_bytes(&rows[..3], &[100, 100], 40);
        assert_eq!(
            one.len(),
            3,
            "a row larger than the limit is a run of its own"
        );
        assert!(runs_by_bytes(&[], &[], 40).is_empty());
    }
}
