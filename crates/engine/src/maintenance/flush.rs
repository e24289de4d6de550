//! Flush: the frozen memtable becomes parts. The WAL segment its rows came from is sealed
//! when the memtable freezes, the rows are cut by partition (project, hour) and by size into
//! parts, the manifest commits them, and only then are the frozen rows dropped from memory
//! and the sealed segments removed.

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::Ordering;
use std::time::Instant;

use datafusion::arrow::array::{Array, Int64Array, RecordBatch, StringArray, UInt32Array};
use datafusion::arrow::compute::{concat_batches, take_record_batch};

use crate::error::{EngineResult, StoreError};
use crate::storage::manifest::Manifest;
use crate::storage::part::write_part;
use crate::storage::schema::col as c;
use crate::storage::table::Table;
use crate::storage::{HOUR_NS, blocking};
use crate::table_engine::TableEngine;
use crate::write::memtable::arrow_bytes;

impl TableEngine {
    /// Moves the memtable into new parts and drops the WAL segments it came from. A failed
    /// flush leaves nothing behind (its files are removed) and is retried by the
    /// maintenance loop, with or without new writes.
    pub(crate) async fn flush_now(&self) -> Result<(), StoreError> {
        let mut manifest = self.manifest.lock().await;
        let result = self.flush_locked(&mut manifest).await;
        match &result {
            Ok(()) => *self.flush_failure.lock() = None,
            Err(e) => {
                *self.flush_failure.lock() = Some(e.to_string());
                self.dirs.discard_uncommitted(&manifest);
            }
        }
        result
    }

    async fn flush_locked(&self, manifest: &mut Manifest) -> Result<(), StoreError> {
        let started = Instant::now();
        let sealed = self.writer.rotate().await?;
        let frozen = self.state.read().mem.frozen.clone();
        if frozen.is_empty() {
            self.writer.remove_through(sealed).await;
            return Ok(());
        }
        let mut next = manifest.clone();
        let (tmp, parts_dir) = (self.dirs.tmp.clone(), self.dirs.parts.clone());
        let first_id = next.next_part_id;
        let (table, part_bytes) = (self.table, self.config.part_bytes);
        let new_parts = blocking(move || {
            let mut id = first_id;
            let mut parts = Vec::new();
            for (key, batches) in partitions(table, &frozen)? {
                for chunk in chunks_by_bytes(batches, part_bytes) {
                    let batch = concat_batches(&table.schema(), &chunk).engine()?;
                    let (project, hour) = (&key.project_id, key.hour);
                    let dirs = (tmp.as_path(), parts_dir.as_path());
                    parts.push(write_part(table, dirs, id, (project, hour), &batch)?);
                    id += 1;
                }
            }
            Ok(parts)
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

/// The rows of `batches` grouped by partition, in partition order; each batch is split
/// on its own, so no concatenation of everything is ever built.
fn partitions(
    table: Table,
    batches: &[RecordBatch],
) -> Result<BTreeMap<PartitionKey, Vec<RecordBatch>>, StoreError> {
    let mut out: BTreeMap<PartitionKey, Vec<RecordBatch>> = Default::default();
    for batch in batches {
        for (key, rows) in split_by_partition(table, batch)? {
            out.entry(key).or_default().push(rows);
        }
    }
    Ok(out)
}

/// Consecutive runs of `batches` of at most `limit` Arrow bytes each (a batch larger than
/// the limit is a run of its own).
fn chunks_by_bytes(batches: Vec<RecordBatch>, limit: usize) -> Vec<Vec<RecordBatch>> {
    let mut out: Vec<Vec<RecordBatch>> = Vec::new();
    let mut current = 0;
    for batch in batches {
        let size = arrow_bytes(&batch);
        match out.last_mut() {
            Some(run) if current + size <= limit => run.push(batch),
            _ => {
                out.push(vec![batch]);
                current = 0;
            }
        }
        current += size;
    }
    out
}

/// Splits rows by (project, hour of the table's time column).
fn split_by_partition(
    table: Table,
    batch: &RecordBatch,
) -> Result<Vec<(PartitionKey, RecordBatch)>, StoreError> {
    let projects = batch
        .column_by_name(c::PROJECT_ID)
        .and_then(|a| a.as_any().downcast_ref::<StringArray>())
        .ok_or_else(|| StoreError::Corrupt("project_id column".into()))?;
    let starts = batch
        .column_by_name(table.time_column())
        .and_then(|a| a.as_any().downcast_ref::<Int64Array>())
        .ok_or_else(|| StoreError::Corrupt("time column".into()))?;
    let mut groups: HashMap<(&str, i64), Vec<u32>> = HashMap::new();
    for i in 0..batch.num_rows() {
        groups
            .entry((projects.value(i), starts.value(i).div_euclid(HOUR_NS)))
            .or_default()
            .push(i as u32);
    }
    let mut out: Vec<_> = groups
        .into_iter()
        .map(|((p, h), rows)| {
            let taken = take_record_batch(batch, &UInt32Array::from(rows)).engine()?;
            Ok((
                PartitionKey {
                    project_id: p.to_string(),
                    hour: h,
                },
                taken,
            ))
        })
        .collect::<Result<_, StoreError>>()?;
    out.sort_by(|a, b| a.0.cmp(&b.0));
    Ok(out)
}
