//! Immutable Parquet parts: one table, one project, one hour partition, rows sorted in the
//! table's order (spans: service, name, time), with a Parquet bloom filter on `trace_id` and a sidecar trace index (the sorted
//! distinct trace ids) that lets trace-by-id skip every part that cannot hold the trace.
//!
//! A part's files are written under `tmp/`, fsynced and renamed into `parts/`; the part
//! becomes live only when a manifest naming it is committed. A part that is replaced
//! (compaction, retention) deletes its files when the last reader lets go of it.

use std::fs::{self, File};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, OnceLock};

use datafusion::arrow::array::Scalar;
use datafusion::arrow::array::{Array, FixedSizeBinaryArray, Int64Array, RecordBatch};
use datafusion::arrow::compute::kernels::cmp::eq;
use datafusion::arrow::compute::{
    SortColumn, concat_batches, lexsort_to_indices, take_record_batch,
};
use datafusion::parquet::arrow::ArrowWriter;
use datafusion::parquet::arrow::ProjectionMask;
use datafusion::parquet::arrow::arrow_reader::{
    ArrowPredicateFn, ArrowReaderMetadata, ArrowReaderOptions, ParquetRecordBatchReaderBuilder,
    RowFilter,
};
use datafusion::parquet::basic::{Compression, ZstdLevel};
use datafusion::parquet::file::metadata::PageIndexPolicy;
use datafusion::parquet::file::properties::{EnabledStatistics, WriterProperties};
use datafusion::parquet::schema::types::ColumnPath;

use crate::error::StoreError;
use crate::manifest::PartMeta;
use crate::schema::col;
use crate::stats::KeyStats;
use crate::table::Table;
use crate::wal::sync_dir;

/// Rows per Parquet row group: small enough for bloom filters and statistics to prune well.
const ROW_GROUP_ROWS: usize = 128 * 1024;

/// A live part: its metadata, its files and its trace index.
#[derive(Debug)]
pub struct Part {
    /// What the manifest records about it.
    pub meta: PartMeta,
    /// The Parquet file.
    pub path: PathBuf,
    /// Sorted distinct trace ids in the part.
    trace_ids: Vec<[u8; 16]>,
    /// Key/value statistics of the part's rows, for autocomplete.
    pub stats: KeyStats,
    /// Set when the part left the manifest; its files go when the last reference drops.
    obsolete: AtomicBool,
    /// The Parquet footer and page index, parsed on first use.
    reader_metadata: OnceLock<ArrowReaderMetadata>,
}

impl Part {
    fn reader_metadata(&self) -> Result<&ArrowReaderMetadata, StoreError> {
        if let Some(m) = self.reader_metadata.get() {
            return Ok(m);
        }
        let options = ArrowReaderOptions::new().with_page_index_policy(PageIndexPolicy::Optional);
        let loaded = ArrowReaderMetadata::load(&File::open(&self.path)?, options)?;
        Ok(self.reader_metadata.get_or_init(|| loaded))
    }

    /// The rows of one trace: only row groups whose bloom filter may hold the id are read,
    /// and `trace_id` is filtered while decoding so other columns decode only matching rows.
    ///
    /// A point lookup reads Parquet directly: planning a DataFusion query would cost more
    /// than the read itself.
    pub fn read_trace(&self, trace_id: &[u8; 16]) -> Result<Vec<RecordBatch>, StoreError> {
        let metadata = self.reader_metadata()?.clone();
        let schema = metadata.metadata().file_metadata().schema_descr_ptr();
        let column = schema
            .columns()
            .iter()
            .position(|c| c.path().string() == col::TRACE_ID)
            .ok_or_else(|| StoreError::Corrupt(format!("part {} has no trace_id", self.meta.id)))?;
        let builder = ParquetRecordBatchReaderBuilder::new_with_metadata(
            File::open(&self.path)?,
            metadata.clone(),
        );
        let mut row_groups = Vec::new();
        for rg in 0..metadata.metadata().num_row_groups() {
            match builder.get_row_group_column_bloom_filter(rg, column)? {
                Some(bloom) if !bloom.check(&trace_id[..]) => {}
                _ => row_groups.push(rg),
            }
        }
        if row_groups.is_empty() {
            return Ok(Vec::new());
        }
        let wanted = Scalar::new(FixedSizeBinaryArray::try_from_iter(std::iter::once(
            trace_id,
        ))?);
        let predicate =
            ArrowPredicateFn::new(ProjectionMask::leaves(&schema, [column]), move |batch| {
                eq(batch.column(0), &wanted)
            });
        let reader = builder
            .with_row_groups(row_groups)
            .with_row_filter(RowFilter::new(vec![Box::new(predicate)]))
            .build()?;
        Ok(reader.collect::<Result<Vec<_>, _>>()?)
    }

    /// Whether the part may hold spans of this trace.
    pub fn may_contain(&self, trace_id: &[u8; 16]) -> bool {
        self.trace_ids.binary_search(trace_id).is_ok()
    }

    /// Marks the part for deletion once no query holds it.
    pub fn retire(&self) {
        self.obsolete.store(true, Ordering::SeqCst);
    }

    /// Reads all rows of the part (for compaction).
    pub fn read_all(&self, table: Table) -> Result<RecordBatch, StoreError> {
        let reader = ParquetRecordBatchReaderBuilder::try_new(File::open(&self.path)?)?.build()?;
        let batches = reader.collect::<Result<Vec<_>, _>>()?;
        Ok(concat_batches(&table.schema(), &batches)?)
    }

    /// Loads a committed part of `table` from `parts_dir`.
    pub fn open(table: Table, parts_dir: &Path, meta: PartMeta) -> Result<Part, StoreError> {
        let path = parquet_path(parts_dir, meta.id);
        let raw = fs::read(index_path(parts_dir, meta.id))?;
        if raw.len() % 16 != 0 {
            return Err(StoreError::Corrupt(format!(
                "trace index of part {} is torn",
                meta.id
            )));
        }
        let trace_ids = raw
            .chunks_exact(16)
            .map(|c| {
                c.try_into()
                    .map_err(|_| StoreError::Corrupt("trace index".into()))
            })
            .collect::<Result<Vec<[u8; 16]>, _>>()?;
        let mut part = Part {
            meta,
            path,
            trace_ids,
            stats: KeyStats::default(),
            obsolete: AtomicBool::new(false),
            reader_metadata: OnceLock::new(),
        };
        part.stats = match fs::read(stats_path(parts_dir, part.meta.id)) {
            Ok(raw) => serde_json::from_slice(&raw)?,
            // Parts written before statistics existed: compute them once from the rows.
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                merged_stats(table, &part.read_all(table)?)?
            }
            Err(e) => return Err(e.into()),
        };
        Ok(part)
    }
}

impl Drop for Part {
    fn drop(&mut self) {
        if self.obsolete.load(Ordering::SeqCst) {
            let index = self.path.with_extension("tidx");
            let stats = self.path.with_extension("stats");
            for p in [&self.path, &index, &stats] {
                if let Err(e) = fs::remove_file(p) {
                    tracing::warn!(path = %p.display(), error = %e, "could not delete retired part file");
                }
            }
        }
    }
}

/// Path of a part's Parquet file.
pub fn parquet_path(parts_dir: &Path, id: u64) -> PathBuf {
    parts_dir.join(format!("{id:020}.parquet"))
}

fn index_path(parts_dir: &Path, id: u64) -> PathBuf {
    parts_dir.join(format!("{id:020}.tidx"))
}

fn stats_path(parts_dir: &Path, id: u64) -> PathBuf {
    parts_dir.join(format!("{id:020}.stats"))
}

/// Statistics of all rows of a batch, as one set (a part holds one project and hour).
fn merged_stats(table: Table, batch: &RecordBatch) -> Result<KeyStats, StoreError> {
    let mut out = KeyStats::default();
    for s in table.stats(batch, crate::engine::HOUR_NS)?.values() {
        out.merge(s);
    }
    Ok(out)
}

/// Part ids of the files in `parts_dir` (committed or not).
pub fn list_part_files(parts_dir: &Path) -> Result<Vec<(u64, PathBuf)>, StoreError> {
    Ok(fs::read_dir(parts_dir)?
        .filter_map(|e| e.ok())
        .filter_map(|e| {
            let path = e.path();
            let id = path.file_stem()?.to_str()?.parse().ok()?;
            Some((id, path))
        })
        .collect())
}

fn writer_properties(table: Table, distinct_traces: usize) -> WriterProperties {
    let trace_id = ColumnPath::from(col::TRACE_ID);
    let unique_id = match table {
        Table::Logs => col::LOG_ID,
        Table::Spans | Table::Errors => col::SPAN_ID,
    };
    WriterProperties::builder()
        .set_compression(Compression::ZSTD(ZstdLevel::try_new(3).unwrap_or_default()))
        .set_max_row_group_row_count(Some(ROW_GROUP_ROWS))
        .set_statistics_enabled(EnabledStatistics::Page)
        .set_column_bloom_filter_enabled(trace_id.clone(), true)
        .set_column_bloom_filter_max_ndv(
            trace_id.clone(),
            distinct_traces.clamp(1, ROW_GROUP_ROWS) as u64,
        )
        .set_column_bloom_filter_fpp(trace_id, 0.01)
        .set_column_dictionary_enabled(ColumnPath::from(unique_id), false)
        .build()
}

/// Sorts rows into the table's part order.
fn sort_for_part(table: Table, batch: &RecordBatch) -> Result<RecordBatch, StoreError> {
    let key = |name: &str| -> Result<SortColumn, StoreError> {
        Ok(SortColumn {
            values: batch
                .column_by_name(name)
                .ok_or_else(|| StoreError::Corrupt(format!("missing column {name}")))?
                .clone(),
            options: None,
        })
    };
    let keys = table
        .sort_columns()
        .iter()
        .map(|name| key(name))
        .collect::<Result<Vec<_>, _>>()?;
    let indices = lexsort_to_indices(&keys, None)?;
    Ok(take_record_batch(batch, &indices)?)
}

fn sorted_trace_ids(batch: &RecordBatch) -> Result<Vec<[u8; 16]>, StoreError> {
    let ids = batch
        .column_by_name(col::TRACE_ID)
        .and_then(|c| c.as_any().downcast_ref::<FixedSizeBinaryArray>())
        .ok_or_else(|| StoreError::Corrupt("trace_id column".into()))?;
    let mut out: Vec<[u8; 16]> = (0..ids.len())
        .filter(|i| ids.is_valid(*i))
        .filter_map(|i| ids.value(i).try_into().ok())
        .collect();
    out.sort_unstable();
    out.dedup();
    Ok(out)
}

fn time_range(table: Table, batch: &RecordBatch) -> Result<(i64, i64), StoreError> {
    let starts = batch
        .column_by_name(table.time_column())
        .and_then(|c| c.as_any().downcast_ref::<Int64Array>())
        .ok_or_else(|| StoreError::Corrupt("time column".into()))?;
    let min = datafusion::arrow::compute::min(starts).unwrap_or(0);
    let max = datafusion::arrow::compute::max(starts).unwrap_or(0);
    Ok((min, max))
}

/// Writes one part of `table` (rows of a single project and hour) under `tmp_dir`, then
/// moves its files into `parts_dir`. The part is not live until the caller commits a
/// manifest naming it.
pub fn write_part(
    table: Table,
    tmp_dir: &Path,
    parts_dir: &Path,
    id: u64,
    project_id: &str,
    hour: i64,
    batch: &RecordBatch,
) -> Result<Arc<Part>, StoreError> {
    let sorted = sort_for_part(table, batch)?;
    let trace_ids = sorted_trace_ids(&sorted)?;
    let (min_start, max_start) = time_range(table, &sorted)?;
    let stats = merged_stats(table, &sorted)?;

    let tmp_parquet = tmp_dir.join(format!("{id:020}.parquet"));
    let file = File::create(&tmp_parquet)?;
    let mut writer = ArrowWriter::try_new(
        file,
        table.schema(),
        Some(writer_properties(table, trace_ids.len())),
    )?;
    writer.write(&sorted)?;
    let file = writer.into_inner()?;
    file.sync_all()?;
    let bytes = file.metadata()?.len();

    let tmp_index = tmp_dir.join(format!("{id:020}.tidx"));
    let mut index = File::create(&tmp_index)?;
    index.write_all(&trace_ids.concat())?;
    index.sync_all()?;

    let tmp_stats = tmp_dir.join(format!("{id:020}.stats"));
    let mut stats_file = File::create(&tmp_stats)?;
    stats_file.write_all(&serde_json::to_vec(&stats)?)?;
    stats_file.sync_all()?;

    fs::rename(&tmp_stats, stats_path(parts_dir, id))?;
    fs::rename(&tmp_index, index_path(parts_dir, id))?;
    fs::rename(&tmp_parquet, parquet_path(parts_dir, id))?;
    sync_dir(parts_dir)?;
    Ok(Arc::new(Part {
        meta: PartMeta {
            id,
            project_id: project_id.to_string(),
            hour,
            rows: sorted.num_rows() as u64,
            bytes,
            min_start,
            max_start,
        },
        path: parquet_path(parts_dir, id),
        trace_ids,
        stats,
        obsolete: AtomicBool::new(false),
        reader_metadata: OnceLock::new(),
    }))
}
