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
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use datafusion::arrow::array::{
    Array, BooleanArray, FixedSizeBinaryArray, Int64Array, RecordBatch,
};
use datafusion::arrow::error::ArrowError;
use datafusion::parquet::arrow::ArrowWriter;
use datafusion::parquet::arrow::ProjectionMask;
use datafusion::parquet::arrow::arrow_reader::{
    ArrowPredicateFn, ArrowReaderMetadata, ParquetRecordBatchReaderBuilder, RowFilter, RowSelection,
};
use datafusion::parquet::basic::{Compression, Encoding, ZstdLevel};
use datafusion::parquet::file::metadata::ParquetMetaData;
use datafusion::parquet::file::page_index::column_index::ColumnIndexMetaData;
use datafusion::parquet::file::properties::{EnabledStatistics, WriterProperties};
use datafusion::parquet::schema::types::ColumnPath;

use crate::error::{EngineResult, StoreError};
use crate::storage::footers::Footers;
use crate::storage::granule::{GRANULE_ROWS, GranuleIndex, GranuleIndexBuilder};
use crate::storage::manifest::PartMeta;
use crate::storage::schema::col;
use crate::storage::sync_dir;
use crate::storage::table::Table;
use crate::storage::trace_index::{TraceLookup, read_ids};
use tracehouse_store_api::metrics::SpanMetrics;
use tracehouse_store_api::stats::KeyStats;

/// Rows per Parquet row group: small enough for bloom filters and statistics to prune well
/// (a multiple of [`GRANULE_ROWS`], so granules never straddle row groups).
const ROW_GROUP_ROWS: usize = 16 * GRANULE_ROWS;

/// A row group ends early, at a granule boundary, once the writer holds this many bytes of
/// it (the writer keeps a whole row group's encoded pages until the group ends).
const ROW_GROUP_BYTES: usize = 32 << 20;

/// Bytes of decoded data a whole-part read asks for at a time (compaction holds one such
/// batch per merged part).
pub(crate) const READ_BATCH_BYTES: u64 = 8 << 20;

/// Row limit of a Parquet data page in parts without a granule index.
const DEFAULT_PAGE_ROWS: usize = 20_000;

/// Row limit of a data page of span parts. A trace's spans sit apart in a part (sorted by
/// service, then time), and reading one span decodes its whole page of every column: pages of
/// 1,024 rows (an eighth of a granule) cut that work eightfold for the trace view and the
/// structure of candidate traces, for a few percent of compression.
const SPAN_PAGE_ROWS: usize = 1024;

/// Most rows in a batch of a read of row ranges (searches, counts, trace reads): a span
/// page. Decoding a granule's attribute maps at once grows buffers of megabytes by
/// reallocation into fresh, zeroed memory for every granule read (a third of a rare-value
/// search's time); batches of a page reuse buffers the allocator keeps. Measured on the
/// bench's data: `user.id=…` 41–50 → 32–37 ms at 16M spans, 9–12 → 7.3 ms at 1M; trace by
/// id 3.8–4.3 → 3.0–3.3 ms at 1M.
const RANGE_BATCH_ROWS: usize = SPAN_PAGE_ROWS;

/// The span columns whose page statistics prune searches (time window, the intrinsic
/// filters). The others keep column-chunk statistics only: with pages of
/// [`SPAN_PAGE_ROWS`], per-page minima and maxima of ids, attribute maps and events would
/// take more of the metadata cache than they could ever prune.
const SPAN_PAGE_STATISTICS: [&str; 11] = [
    col::PROJECT_ID,
    col::NAME,
    col::KIND,
    col::START_TIME,
    col::END_TIME,
    col::DURATION,
    col::STATUS_CODE,
    col::SERVICE_NAME,
    col::ENVIRONMENT,
    col::HAS_ERROR,
    col::SESSION_ID,
];

/// Largest dictionary of a span column chunk; past it the chunk's further pages are plain
/// (ZSTD still shares their repeats). Reading any row of a chunk decodes its whole
/// dictionary: at Parquet's default of 1 MiB, the dictionaries of attribute values,
/// session ids, events and links made up most of a trace read (a few rows from each of
/// several row groups).
const SPAN_DICTIONARY_BYTES: usize = 64 * 1024;

/// Largest dictionary of a chunk of session ids: a row group's sessions (a few thousand
/// ids) fit, which halves the column against plain pages.
const SESSION_DICTIONARY_BYTES: usize = 256 * 1024;

/// The span columns stored without ZSTD: times and durations (delta-coded, which ZSTD
/// shrinks by less than 1%) and the dictionary-coded columns of few values (a run of rows
/// shares one value, so a page is a few bytes of run lengths; trace states, status
/// messages and scope attributes are mostly empty, and compressed they were larger than
/// raw). Compressed, each costs every read of a column chunk a codec — two ZSTD contexts
/// of ~100 KiB, each probing the CPU with `cpuid`, which a virtual machine traps (a fifth
/// of a trace read's time at 16M spans on this machine, more on others) — and a
/// decompression for nothing: at 1M bench spans they took 0.02–0.03 B/span each either way.
const SPAN_UNCOMPRESSED: [&str; 18] = [
    col::PROJECT_ID,
    col::TRACE_STATE,
    col::STATUS_MESSAGE,
    col::SCOPE_ATTRIBUTES,
    col::KIND,
    col::START_TIME,
    col::END_TIME,
    col::DURATION,
    col::STATUS_CODE,
    col::SERVICE_NAME,
    col::SERVICE_VERSION,
    col::ENVIRONMENT,
    col::SCOPE_NAME,
    col::SCOPE_VERSION,
    col::HAS_ERROR,
    col::DROPPED_ATTRIBUTES,
    col::DROPPED_EVENTS,
    col::DROPPED_LINKS,
];

/// The span columns (Parquet leaf paths) written without statistics: no read prunes by them
/// (searches find attribute values through the granule filters; events, links and scope
/// attributes are JSON read whole), and their minima and maxima cost a comparison of every
/// value written, in every flush and compaction.
const SPAN_NO_STATISTICS: [&[&str]; 7] = [
    &[col::ATTRIBUTES, "entries", "keys"],
    &[col::ATTRIBUTES, "entries", "values"],
    &[col::RESOURCE_ATTRIBUTES, "entries", "keys"],
    &[col::RESOURCE_ATTRIBUTES, "entries", "values"],
    &[col::SCOPE_ATTRIBUTES],
    &[col::EVENTS],
    &[col::LINKS],
];

/// Rows per row group (and page) of replay parts: a chunk of recorded events may weigh a
/// few MiB, and the writer holds a whole row group in memory.
const REPLAY_ROW_GROUP_ROWS: usize = 64;

/// A page of a part's `start_time` column: its rows and the start times it holds, when
/// known.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StartPage {
    /// Its rows, `[first, end)`.
    pub rows: (u32, u32),
    /// Its least and greatest start time (inclusive).
    pub starts: Option<(i64, i64)>,
}

/// A live part: its metadata, its files and its trace index.
#[derive(Debug)]
pub struct Part {
    /// What the manifest records about it.
    pub meta: PartMeta,
    /// The Parquet file.
    pub path: PathBuf,
    /// What the part keeps in memory of its trace index (the sorted distinct trace ids of
    /// its rows, in its `.tidx` file).
    traces: TraceLookup,
    /// Key/value statistics of the part's rows, for autocomplete and per-minute counts;
    /// without the span metrics cells, which stay in the sidecar ([`Part::span_metrics`]).
    pub stats: KeyStats,
    /// Bytes of those statistics' JSON: about what they take in memory.
    stats_bytes: usize,
    /// The span metrics cells of a part whose sidecar lacks them (written before span
    /// metrics were kept), computed from its rows at open.
    computed_metrics: Option<SpanMetrics>,
    /// The granule index of a spans part written in the current layout (service runs
    /// newest first, pages cut at granules); `None` for other tables and older parts,
    /// which are searched through DataFusion alone.
    pub granules: Option<GranuleIndex>,
    /// Set when the part left the manifest; its files go when the last reference drops.
    obsolete: AtomicBool,
    /// Set once every page of the part decoded (see [`Part::verify_data`]).
    verified: AtomicBool,
    /// The store's parsed Parquet footers and page indexes, this part's among them while
    /// it is read often enough.
    footers: Arc<Footers>,
}

impl Part {
    fn reader_metadata(&self) -> Result<ArrowReaderMetadata, StoreError> {
        self.footers.get(&self.path)
    }

    /// The rows of `traces` — only those of `spans` among them, when given — with only the
    /// table columns at `projection` when given, in part order. Only the rows in `ranges`
    /// (see [`Part::read_rows`]) are read; without ranges (a part without a granule index),
    /// the row groups whose bloom filter may hold one of the traces. `trace_id` and
    /// `span_id` are filtered while decoding, so other columns decode only matching rows.
    ///
    /// A point lookup reads Parquet directly: planning a DataFusion query would cost more
    /// than the read itself.
    pub fn read_traces(
        &self,
        ranges: Option<&[(u32, u32)]>,
        traces: &[[u8; 16]],
        spans: Option<&[[u8; 8]]>,
        projection: Option<&[usize]>,
    ) -> Result<Vec<RecordBatch>, StoreError> {
        let builder = match ranges {
            Some(ranges) => self.reader_over(ranges)?,
            None => self.row_groups_holding(traces)?,
        };
        let Some(builder) = builder else {
            return Ok(Vec::new());
        };
        let schema = builder.metadata().file_metadata().schema_descr_ptr();
        let mut leaves = vec![self.leaf(col::TRACE_ID)?];
        if spans.is_some() {
            leaves.push(self.leaf(col::SPAN_ID)?);
        }
        let predicate = ArrowPredicateFn::new(
            ProjectionMask::leaves(&schema, leaves),
            id_filter(traces, spans),
        );
        let mut builder = builder.with_row_filter(RowFilter::new(vec![Box::new(predicate)]));
        if let Some(columns) = projection {
            builder =
                builder.with_projection(ProjectionMask::roots(&schema, columns.iter().copied()));
        }
        builder
            .build()
            .engine()?
            .collect::<Result<Vec<_>, _>>()
            .engine()
    }

    /// The rows of `ranges` (sorted and disjoint) on pages whose start times may fall in one
    /// of `intervals` (inclusive), from the page index of `start_time`: a trace's rows in a
    /// run sit on the page or two of its time range. Row groups without that index keep all
    /// their rows.
    pub fn rows_starting_during(
        &self,
        ranges: &[(u32, u32)],
        intervals: &[(i64, i64)],
    ) -> Result<Vec<(u32, u32)>, StoreError> {
        let mut pages: Vec<(u32, u32)> = Vec::new();
        for page in self.start_time_pages()? {
            let may_hold = page
                .starts
                .is_none_or(|(lo, hi)| intervals.iter().any(|(a, b)| *a <= hi && *b >= lo));
            if !may_hold {
                continue;
            }
            match pages.last_mut() {
                Some((_, last)) if *last == page.rows.0 => *last = page.rows.1,
                _ => pages.push(page.rows),
            }
        }
        Ok(intersect(ranges, &pages))
    }

    /// The pages of `start_time`, in row order, with the start times each holds (from the
    /// page index); a row group without that index is one page of unknown start times.
    pub fn start_time_pages(&self) -> Result<Vec<StartPage>, StoreError> {
        let metadata = self.reader_metadata()?.metadata().clone();
        let leaf = self.leaf(col::START_TIME)?;
        let mut pages = Vec::new();
        for (rg, (group_start, group_end)) in row_group_bounds(&metadata).enumerate() {
            let index = metadata.column_index().and_then(|c| c.get(rg)?.get(leaf));
            let locations = metadata.offset_index().and_then(|o| o.get(rg)?.get(leaf));
            let (Some(ColumnIndexMetaData::INT64(index)), Some(locations)) = (index, locations)
            else {
                pages.push(StartPage {
                    rows: (group_start, group_end),
                    starts: None,
                });
                continue;
            };
            let locations = locations.page_locations();
            for (i, page) in locations.iter().enumerate() {
                let first = group_start + page.first_row_index as u32;
                let end = locations
                    .get(i + 1)
                    .map_or(group_end, |next| group_start + next.first_row_index as u32);
                let starts = index.min_value(i).copied().zip(index.max_value(i).copied());
                pages.push(StartPage {
                    rows: (first, end),
                    starts,
                });
            }
        }
        Ok(pages)
    }

    /// The Parquet leaf column of the top-level column `name`.
    fn leaf(&self, name: &str) -> Result<usize, StoreError> {
        self.reader_metadata()?
            .metadata()
            .file_metadata()
            .schema_descr()
            .columns()
            .iter()
            .position(|c| c.path().string() == name)
            .ok_or_else(|| StoreError::Corrupt(format!("part {} has no {name}", self.meta.id)))
    }

    /// A reader of every row group whose `trace_id` bloom filter may hold one of `traces`
    /// (every row group without one); `None` when none may.
    fn row_groups_holding(
        &self,
        traces: &[[u8; 16]],
    ) -> Result<Option<ParquetRecordBatchReaderBuilder<File>>, StoreError> {
        let metadata = self.reader_metadata()?;
        let column = self.leaf(col::TRACE_ID)?;
        let builder = ParquetRecordBatchReaderBuilder::new_with_metadata(
            File::open(&self.path)?,
            metadata.clone(),
        );
        let mut row_groups = Vec::new();
        for rg in 0..metadata.metadata().num_row_groups() {
            match builder
                .get_row_group_column_bloom_filter(rg, column)
                .engine()?
            {
                Some(bloom) if !traces.iter().any(|t| bloom.check(&t[..])) => {}
                _ => row_groups.push(rg),
            }
        }
        Ok((!row_groups.is_empty()).then(|| {
            builder
                .with_row_groups(row_groups)
                .with_batch_size(GRANULE_ROWS)
        }))
    }

    /// The rows in `ranges` (`(first, end)` row numbers in part order, sorted and
    /// disjoint), in part order, with only the table columns at `projection` when given.
    /// Only the pages holding those rows are read, in batches of about [`READ_BATCH_BYTES`]
    /// and at most [`RANGE_BATCH_ROWS`], as they are consumed.
    pub fn read_rows(
        &self,
        ranges: &[(u32, u32)],
        projection: Option<&[usize]>,
    ) -> Result<impl Iterator<Item = Result<RecordBatch, StoreError>> + use<>, StoreError> {
        let Some(mut builder) = self.reader_over(ranges)? else {
            return Ok(None.into_iter().flatten());
        };
        if let Some(columns) = projection {
            let schema = builder.metadata().file_metadata().schema_descr_ptr();
            builder =
                builder.with_projection(ProjectionMask::roots(&schema, columns.iter().copied()));
        }
        let reader = builder.build().engine()?;
        Ok(Some(reader.map(|b| b.engine())).into_iter().flatten())
    }

    /// A reader of the rows in `ranges` (see [`Part::read_rows`]) in batches of about
    /// [`READ_BATCH_BYTES`] and at most [`RANGE_BATCH_ROWS`]; `None` when the ranges hold
    /// no row.
    fn reader_over(
        &self,
        ranges: &[(u32, u32)],
    ) -> Result<Option<ParquetRecordBatchReaderBuilder<File>>, StoreError> {
        let metadata = self.reader_metadata()?;
        let mut row_groups = Vec::new();
        let mut selected = Vec::new();
        let mut offset = 0usize;
        for (rg, bounds) in row_group_bounds(metadata.metadata()).enumerate() {
            let inside = intersect(ranges, &[bounds]);
            if !inside.is_empty() {
                // Selected rows count from the first row of the row groups read.
                let shift = |row: u32| (row - bounds.0) as usize + offset;
                row_groups.push(rg);
                selected.extend(inside.iter().map(|&(a, b)| shift(a)..shift(b)));
                offset += (bounds.1 - bounds.0) as usize;
            }
        }
        if row_groups.is_empty() {
            return Ok(None);
        }
        let selection = RowSelection::from_consecutive_ranges(selected.into_iter(), offset);
        Ok(Some(
            ParquetRecordBatchReaderBuilder::new_with_metadata(File::open(&self.path)?, metadata)
                .with_row_groups(row_groups)
                .with_row_selection(selection)
                .with_batch_size(self.read_batch_rows()?.min(RANGE_BATCH_ROWS)),
        ))
    }

    /// `ranges` (sorted and disjoint) cut where row groups end, one list per row group they
    /// reach, in row order: the unit a read can be split into, as readers of different row
    /// groups share nothing (each decodes its own column chunks).
    pub fn ranges_by_row_group(
        &self,
        ranges: &[(u32, u32)],
    ) -> Result<Vec<Vec<(u32, u32)>>, StoreError> {
        let metadata = self.reader_metadata()?;
        Ok(row_group_bounds(metadata.metadata())
            .map(|bounds| intersect(ranges, &[bounds]))
            .filter(|inside| !inside.is_empty())
            .collect())
    }

    /// Positions in the part's trace index of the traces that may be one of `traces`
    /// (rarely one of another trace: see [`TraceLookup`]), ascending.
    pub fn trace_positions(&self, traces: &[[u8; 16]]) -> Vec<usize> {
        self.traces.positions(traces)
    }

    /// The span metrics cells of the part's rows, read from its statistics sidecar.
    pub fn span_metrics(&self) -> Result<SpanMetrics, StoreError> {
        if let Some(m) = &self.computed_metrics {
            return Ok(m.clone());
        }
        Ok(decode_stats(&fs::read(self.path.with_extension("stats"))?)?.metrics)
    }

    /// The part's distinct trace ids, sorted, read from its trace index file.
    pub fn trace_ids(&self) -> Result<Vec<[u8; 16]>, StoreError> {
        read_ids(&self.path.with_extension("tidx"))
    }

    /// Bytes the part holds in memory while live: its trace index, granule index and
    /// statistics (about their JSON's size); its Parquet footer is the store's
    /// [`Footers`]' to count.
    pub fn memory_bytes(&self) -> usize {
        self.traces.memory_bytes()
            + self.granules.as_ref().map_or(0, GranuleIndex::memory_bytes)
            + self.stats_bytes
    }

    /// Whether the part may hold spans of this trace (rarely true of a trace it does not
    /// hold: see [`TraceLookup`]).
    pub fn may_contain(&self, trace_id: &[u8; 16]) -> bool {
        self.traces.may_hold(trace_id)
    }

    /// Whether every page of the part decoded once already.
    pub fn is_verified(&self) -> bool {
        self.verified.load(Ordering::Relaxed)
    }

    /// Records that every page of the part decoded.
    pub fn mark_verified(&self) {
        self.verified.store(true, Ordering::Relaxed);
    }

    /// Marks the part for deletion once no query holds it.
    pub fn retire(&self) {
        self.obsolete.store(true, Ordering::SeqCst);
    }

    /// Checks that the Parquet footer and page index parse (cheap: done for every part at
    /// open).
    pub fn verify_footer(&self) -> Result<(), StoreError> {
        self.reader_metadata().map(|_| ())
    }

    /// Decodes every page of every column, and checks the row count against the manifest.
    pub fn verify_data(&self) -> Result<(), StoreError> {
        let mut rows = 0u64;
        for batch in self.batches()? {
            rows += batch?.num_rows() as u64;
        }
        if rows != self.meta.rows {
            return Err(StoreError::Corrupt(format!(
                "part {} holds {rows} rows, its manifest entry says {}",
                self.meta.id, self.meta.rows
            )));
        }
        Ok(())
    }

    /// Rows per batch for reads of this part: about [`READ_BATCH_BYTES`] of decoded data,
    /// at most a granule.
    pub fn read_batch_rows(&self) -> Result<usize, StoreError> {
        let per_row = self.data_bytes()?.div_ceil(self.meta.rows.max(1)).max(1);
        Ok((READ_BATCH_BYTES / per_row).clamp(1, GRANULE_ROWS as u64) as usize)
    }

    /// Uncompressed bytes of the part's data, from the Parquet footer.
    pub fn data_bytes(&self) -> Result<u64, StoreError> {
        let metadata = self.reader_metadata()?.metadata().clone();
        Ok(metadata
            .row_groups()
            .iter()
            .map(|rg| rg.total_byte_size().max(0) as u64)
            .sum())
    }

    /// Every row of the part in part order, in batches of about [`READ_BATCH_BYTES`] of
    /// decoded data (at most a granule) whatever the size of a row, read as they are
    /// consumed.
    pub fn batches(
        &self,
    ) -> Result<impl Iterator<Item = Result<RecordBatch, StoreError>> + Send + use<>, StoreError>
    {
        let reader = ParquetRecordBatchReaderBuilder::new_with_metadata(
            File::open(&self.path)?,
            self.reader_metadata()?,
        )
        .with_batch_size(self.read_batch_rows()?)
        .build()
        .engine()?;
        Ok(reader.map(|b| b.engine()))
    }

    /// Loads a committed part of `table` from `parts_dir`.
    pub fn open(
        table: Table,
        parts_dir: &Path,
        meta: PartMeta,
        footers: Arc<Footers>,
    ) -> Result<Part, StoreError> {
        let path = parquet_path(parts_dir, meta.id);
        let traces = TraceLookup::open(&index_path(parts_dir, meta.id))?;
        let mut part = Part {
            meta,
            path,
            traces,
            stats: KeyStats::default(),
            stats_bytes: 0,
            computed_metrics: None,
            granules: None,
            obsolete: AtomicBool::new(false),
            verified: AtomicBool::new(false),
            footers,
        };
        let granules = granules_path(parts_dir, part.meta.id);
        part.granules = match GranuleIndex::open(&granules) {
            Ok(index) => {
                if index.traces as usize != part.traces.len()
                    || u64::from(index.rows) != part.meta.rows
                {
                    return Err(StoreError::Corrupt(format!(
                        "granule index of part {} disagrees with its trace index or rows",
                        part.meta.id
                    )));
                }
                Some(index)
            }
            Err(StoreError::Io(e)) if e.kind() == std::io::ErrorKind::NotFound => None,
            Err(e) => return Err(e),
        };
        let stored: Option<KeyStats> = match fs::read(stats_path(parts_dir, part.meta.id)) {
            Ok(raw) => Some(decode_stats(&raw)?),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
            Err(e) => return Err(e.into()),
        };
        // Parts written before statistics (or, of spans, before span metrics) existed:
        // compute them from the rows at each open.
        let metrics_missing =
            |s: &KeyStats| table == Table::Spans && s.metrics.total() != part.meta.rows;
        let (stats, computed) = match stored {
            Some(stats) if !metrics_missing(&stats) => (stats, false),
            _ => {
                let mut stats = KeyStats::default();
                for batch in part.batches()? {
                    stats.merge(&merged_stats(table, &batch?)?);
                }
                (stats, true)
            }
        };
        let metrics;
        (part.stats, part.stats_bytes, metrics) = held_stats(stats)?;
        part.computed_metrics = computed.then_some(metrics);
        Ok(part)
    }
}

impl Drop for Part {
    fn drop(&mut self) {
        self.footers.forget(&self.path);
        if self.obsolete.load(Ordering::SeqCst) {
            let index = self.path.with_extension("tidx");
            let stats = self.path.with_extension("stats");
            let granules = self.path.with_extension("gidx");
            for p in [&self.path, &index, &stats, &granules] {
                if !p.exists() {
                    continue;
                }
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

/// Each row group's rows as `(first, end)` row numbers of the part, in part order.
fn row_group_bounds(metadata: &ParquetMetaData) -> impl Iterator<Item = (u32, u32)> + '_ {
    metadata.row_groups().iter().scan(0u32, |start, meta| {
        let first = *start;
        *start += meta.num_rows().max(0) as u32;
        Some((first, *start))
    })
}

/// Every file a part may have: Parquet, trace index, statistics, granule index.
pub fn part_files(parts_dir: &Path, id: u64) -> [PathBuf; 4] {
    [
        parquet_path(parts_dir, id),
        index_path(parts_dir, id),
        stats_path(parts_dir, id),
        granules_path(parts_dir, id),
    ]
}

/// What the manifest would record about a part, read back from its Parquet file: for
/// rebuilding a lost manifest.
pub fn read_meta(table: Table, parts_dir: &Path, id: u64) -> Result<PartMeta, StoreError> {
    let path = parquet_path(parts_dir, id);
    let bytes = fs::metadata(&path)?.len();
    let builder = ParquetRecordBatchReaderBuilder::try_new(File::open(&path)?).engine()?;
    let schema = builder.parquet_schema();
    let wanted = [col::PROJECT_ID, table.time_column()].map(|name| {
        schema
            .columns()
            .iter()
            .position(|c| c.path().string() == name)
            .ok_or_else(|| StoreError::Corrupt(format!("part {id} has no column {name}")))
    });
    let [project, time] = wanted;
    let mask = ProjectionMask::leaves(schema, [project?, time?]);
    let (mut rows, mut min_start, mut max_start) = (0u64, i64::MAX, i64::MIN);
    let mut project_id = None;
    for batch in builder.with_projection(mask).build().engine()? {
        let batch = batch.engine()?;
        let (lo, hi) = time_range(table, &batch)?;
        if batch.num_rows() > 0 {
            (min_start, max_start) = (min_start.min(lo), max_start.max(hi));
        }
        rows += batch.num_rows() as u64;
        let projects = batch
            .column_by_name(col::PROJECT_ID)
            .and_then(|c| {
                c.as_any()
                    .downcast_ref::<datafusion::arrow::array::StringArray>()
            })
            .ok_or_else(|| StoreError::Corrupt(format!("part {id}: project_id column")))?;
        if let Some(p) = projects.iter().flatten().next() {
            project_id.get_or_insert_with(|| p.to_string());
        }
    }
    let project_id =
        project_id.ok_or_else(|| StoreError::Corrupt(format!("part {id} is empty")))?;
    Ok(PartMeta {
        id,
        project_id,
        hour: min_start.div_euclid(crate::storage::HOUR_NS),
        rows,
        bytes,
        min_start,
        max_start,
    })
}

fn index_path(parts_dir: &Path, id: u64) -> PathBuf {
    parts_dir.join(format!("{id:020}.tidx"))
}

/// The first bytes of a ZSTD frame.
const ZSTD_MAGIC: [u8; 4] = [0x28, 0xb5, 0x2f, 0xfd];

/// A part's statistics sidecar: the JSON of its [`KeyStats`], ZSTD-compressed. Key/value
/// counts and span-metric sketches repeat the same keys and numbers, so compression takes
/// them from ~11 bytes per span of a small data set to about one.
/// Also returns the length of the JSON.
fn encode_stats(stats: &KeyStats) -> Result<Vec<u8>, StoreError> {
    Ok(zstd::bulk::compress(&serde_json::to_vec(stats)?, 3)?)
}

/// Reads a statistics sidecar: compressed, or plain JSON as parts written before
/// compression have it.
fn decode_stats(raw: &[u8]) -> Result<KeyStats, StoreError> {
    if raw.starts_with(&ZSTD_MAGIC) {
        let json = zstd::stream::decode_all(raw)
            .map_err(|e| StoreError::Corrupt(format!("statistics sidecar: {e}")))?;
        return Ok(serde_json::from_slice(&json)?);
    }
    Ok(serde_json::from_slice(raw)?)
}

/// What a live part keeps of its statistics: all but the span metrics cells (returned
/// apart), with the size of their JSON.
fn held_stats(mut stats: KeyStats) -> Result<(KeyStats, usize, SpanMetrics), StoreError> {
    let metrics = std::mem::take(&mut stats.metrics);
    let bytes = serde_json::to_vec(&stats)?.len();
    Ok((stats, bytes, metrics))
}

fn stats_path(parts_dir: &Path, id: u64) -> PathBuf {
    parts_dir.join(format!("{id:020}.stats"))
}

fn granules_path(parts_dir: &Path, id: u64) -> PathBuf {
    parts_dir.join(format!("{id:020}.gidx"))
}

/// Writes `bytes` to `tmp_dir/name`, fsynced.
fn write_synced(tmp_dir: &Path, name: String, bytes: &[u8]) -> Result<PathBuf, StoreError> {
    let path = tmp_dir.join(name);
    let mut file = File::create(&path)?;
    file.write_all(bytes)?;
    file.sync_all()?;
    Ok(path)
}

/// Statistics of all rows of a batch, as one set (a part holds one project and hour).
pub(crate) fn merged_stats(table: Table, batch: &RecordBatch) -> Result<KeyStats, StoreError> {
    let mut out = KeyStats::default();
    for s in table.stats(batch, crate::storage::HOUR_NS)?.values() {
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
        Table::Replay => col::EVENTS,
        Table::Metrics => col::POINT_VALUE,
    };
    let (page_rows, group_rows) = match table {
        Table::Spans => (SPAN_PAGE_ROWS, ROW_GROUP_ROWS),
        Table::Logs | Table::Errors | Table::Metrics => (DEFAULT_PAGE_ROWS, ROW_GROUP_ROWS),
        Table::Replay => (REPLAY_ROW_GROUP_ROWS, REPLAY_ROW_GROUP_ROWS),
    };
    // Times and durations are nearly unique: a dictionary would fill up and then have
    // to be decoded whole to read a single row. Delta encoding suits times sorted newest
    // first.
    let times: &[&str] = match table {
        Table::Spans => &[col::START_TIME, col::END_TIME, col::DURATION],
        Table::Logs => &[col::TIME, col::OBSERVED_TIME],
        Table::Errors => &[col::TIME],
        Table::Replay => &[col::TIME, col::END_TIME],
        Table::Metrics => &[col::TIME, col::START_TIME],
    };
    let mut builder = WriterProperties::builder().set_statistics_enabled(match table {
        Table::Spans => EnabledStatistics::Chunk,
        _ => EnabledStatistics::Page,
    });
    if table == Table::Spans {
        for name in SPAN_PAGE_STATISTICS {
            builder = builder
                .set_column_statistics_enabled(ColumnPath::from(name), EnabledStatistics::Page);
        }
        for path in SPAN_NO_STATISTICS {
            let path = ColumnPath::new(path.iter().map(|p| p.to_string()).collect());
            builder = builder.set_column_statistics_enabled(path, EnabledStatistics::None);
        }
        for name in SPAN_UNCOMPRESSED {
            builder =
                builder.set_column_compression(ColumnPath::from(name), Compression::UNCOMPRESSED);
        }
        builder = builder
            .set_dictionary_page_size_limit(SPAN_DICTIONARY_BYTES)
            .set_column_dictionary_page_size_limit(
                ColumnPath::from(col::SESSION_ID),
                SESSION_DICTIONARY_BYTES,
            );
    }
    for name in times {
        builder = builder
            .set_column_dictionary_enabled(ColumnPath::from(*name), false)
            .set_column_encoding(ColumnPath::from(*name), Encoding::DELTA_BINARY_PACKED);
    }
    // Spans parts find a trace's rows through their trace index and granule filters: a
    // Parquet bloom filter per row group, sized for every trace of the part, would add about
    // 1 B/span for nothing.
    if table != Table::Spans {
        builder = builder
            .set_column_bloom_filter_max_ndv(
                trace_id.clone(),
                distinct_traces.clamp(1, ROW_GROUP_ROWS) as u64,
            )
            .set_column_bloom_filter_fpp(trace_id, 0.01);
    }
    builder
        .set_compression(Compression::ZSTD(ZstdLevel::try_new(3).unwrap_or_default()))
        .set_max_row_group_row_count(Some(group_rows))
        .set_data_page_row_count_limit(page_rows)
        .set_column_bloom_filter_enabled(ColumnPath::from(col::SESSION_ID), table == Table::Replay)
        .set_column_bloom_filter_enabled(
            ColumnPath::from(col::METRIC_NAME),
            table == Table::Metrics,
        )
        .set_column_dictionary_enabled(ColumnPath::from(unique_id), false)
        .build()
}

/// The rows in both `a` and `b`, each a sorted list of disjoint `(first, end)` row ranges.
fn intersect(a: &[(u32, u32)], b: &[(u32, u32)]) -> Vec<(u32, u32)> {
    let (mut i, mut j, mut out) = (0, 0, Vec::new());
    while i < a.len() && j < b.len() {
        let (first, end) = (a[i].0.max(b[j].0), a[i].1.min(b[j].1));
        if first < end {
            out.push((first, end));
        }
        if a[i].1 < b[j].1 {
            i += 1;
        } else {
            j += 1;
        }
    }
    out
}

/// The row filter of [`Part::read_traces`]: rows whose `trace_id` is one of `traces` and,
/// when `spans` are given, whose `span_id` is one of them.
fn id_filter(
    traces: &[[u8; 16]],
    spans: Option<&[[u8; 8]]>,
) -> impl FnMut(RecordBatch) -> Result<BooleanArray, ArrowError> + Send + 'static {
    let mut traces = traces.to_vec();
    traces.sort_unstable();
    let spans = spans.map(|s| {
        let mut s = s.to_vec();
        s.sort_unstable();
        s
    });
    move |batch: RecordBatch| {
        let ids = |name: &str| {
            batch
                .column_by_name(name)
                .and_then(|c| c.as_any().downcast_ref::<FixedSizeBinaryArray>())
                .ok_or_else(|| ArrowError::SchemaError(format!("{name} missing or mistyped")))
        };
        let trace_ids = ids(col::TRACE_ID)?;
        let span_ids = match &spans {
            Some(_) => Some(ids(col::SPAN_ID)?),
            None => None,
        };
        Ok((0..batch.num_rows())
            .map(|i| {
                let trace = trace_ids.value(i);
                let wanted = traces.binary_search_by(|t| t[..].cmp(trace)).is_ok();
                Some(
                    wanted
                        && match (&spans, span_ids) {
                            (Some(spans), Some(ids)) => {
                                spans.binary_search_by(|s| s[..].cmp(ids.value(i))).is_ok()
                            }
                            _ => true,
                        },
                )
            })
            .collect())
    }
}

/// Sorts rows into the table's part order with one lexicographic sort of the whole batch:
/// the reference the flush's and compaction's row-format ordering is tested against.
#[cfg(test)]
pub(crate) fn sort_for_part(table: Table, batch: &RecordBatch) -> Result<RecordBatch, StoreError> {
    use datafusion::arrow::compute::{
        SortColumn, SortOptions, lexsort_to_indices, take_record_batch,
    };
    let key = |name: &str, descending: bool| -> Result<SortColumn, StoreError> {
        Ok(SortColumn {
            values: batch
                .column_by_name(name)
                .ok_or_else(|| StoreError::Corrupt(format!("missing column {name}")))?
                .clone(),
            options: Some(SortOptions {
                descending,
                nulls_first: false,
            }),
        })
    };
    let keys = table
        .sort_columns()
        .iter()
        .map(|(name, descending)| key(name, *descending))
        .collect::<Result<Vec<_>, _>>()?;
    let indices = lexsort_to_indices(&keys, None).engine()?;
    take_record_batch(batch, &indices).engine()
}

#[cfg(test)]
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

/// Writes one part of `table` (rows of a single project and hour, in any order) under
/// `tmp_dir`, then moves its files into `parts_dir`. The part is not live until the caller
/// commits a manifest naming it. Tests write parts with it; the flush streams sorted rows
/// into a [`PartWriter`] itself.
#[cfg(test)]
pub fn write_part(
    table: Table,
    dirs: (&Path, &Path),
    id: u64,
    partition: (&str, i64),
    batch: &RecordBatch,
) -> Result<Arc<Part>, StoreError> {
    let sorted = sort_for_part(table, batch)?;
    let stats = merged_stats(table, &sorted)?;
    let trace_ids = if table.indexes_traces() {
        sorted_trace_ids(&sorted)?
    } else {
        Vec::new()
    };
    let footers = Arc::new(Footers::new(0));
    let mut writer = PartWriter::create(table, dirs.0, id, trace_ids.len(), footers)?;
    writer.write(&sorted)?;
    writer.finish(dirs, partition, trace_ids, stats)
}

/// Writes a part's files from rows that arrive in part order, batch by batch, holding only
/// the row group being encoded and the granule being indexed; flush and compaction stream
/// their rows into it.
pub struct PartWriter {
    table: Table,
    id: u64,
    tmp_parquet: PathBuf,
    writer: ArrowWriter<File>,
    granules: Option<GranuleIndexBuilder>,
    rows: u64,
    time_range: Option<(i64, i64)>,
    /// [`ROW_GROUP_BYTES`]; tests lower it.
    row_group_bytes: usize,
    footers: Arc<Footers>,
}

impl PartWriter {
    /// Starts part `id` of `table` under `tmp_dir`; `distinct_traces` sizes the Parquet
    /// bloom filters on `trace_id`; the part reads its footer through `footers`.
    pub fn create(
        table: Table,
        tmp_dir: &Path,
        id: u64,
        distinct_traces: usize,
        footers: Arc<Footers>,
    ) -> Result<PartWriter, StoreError> {
        let tmp_parquet = tmp_dir.join(format!("{id:020}.parquet"));
        let writer = ArrowWriter::try_new(
            File::create(&tmp_parquet)?,
            table.schema(),
            Some(writer_properties(table, distinct_traces)),
        )
        .engine()?;
        Ok(PartWriter {
            table,
            id,
            tmp_parquet,
            writer,
            granules: matches!(table, Table::Spans).then(GranuleIndexBuilder::default),
            rows: 0,
            time_range: None,
            row_group_bytes: ROW_GROUP_BYTES,
            footers,
        })
    }

    /// Appends rows that follow every row written so far in the table's part order.
    pub fn write(&mut self, batch: &RecordBatch) -> Result<(), StoreError> {
        if batch.num_rows() == 0 {
            return Ok(());
        }
        if let Some(g) = &mut self.granules {
            g.push(batch)?;
        }
        let (min, max) = time_range(self.table, batch)?;
        self.time_range = Some(match self.time_range {
            Some((lo, hi)) => (lo.min(min), hi.max(max)),
            None => (min, max),
        });
        // Rows go in granule by granule, so that a row group can end early at a granule
        // boundary once the writer holds [`ROW_GROUP_BYTES`]: whatever the rows weigh, a
        // part (however large compaction makes it) is written in bounded memory.
        let mut offset = 0;
        while offset < batch.num_rows() {
            let to_boundary = GRANULE_ROWS - (self.rows % GRANULE_ROWS as u64) as usize;
            let len = to_boundary.min(batch.num_rows() - offset);
            self.writer.write(&batch.slice(offset, len)).engine()?;
            offset += len;
            self.rows += len as u64;
            if self.rows.is_multiple_of(GRANULE_ROWS as u64)
                && self.writer.in_progress_size() > self.row_group_bytes
            {
                self.writer.flush().engine()?;
            }
        }
        Ok(())
    }

    /// Finishes the files, with the part's distinct trace ids (sorted) and statistics, and
    /// moves them from `dirs.0` (tmp) into `dirs.1` (parts) as the part of `partition`
    /// (project, hour).
    pub fn finish(
        self,
        (tmp_dir, parts_dir): (&Path, &Path),
        (project_id, hour): (&str, i64),
        trace_ids: Vec<[u8; 16]>,
        stats: KeyStats,
    ) -> Result<Arc<Part>, StoreError> {
        let id = self.id;
        let file = self.writer.into_inner().engine()?;
        file.sync_all()?;
        let bytes = file.metadata()?.len();
        let built = self.granules.map(|g| g.finish(&trace_ids)).transpose()?;
        let tmp_index = write_synced(tmp_dir, format!("{id:020}.tidx"), &trace_ids.concat())?;
        let tmp_stats = write_synced(tmp_dir, format!("{id:020}.stats"), &encode_stats(&stats)?)?;
        let (stats, stats_bytes, _) = held_stats(stats)?;
        let granules = match built {
            Some(g) => {
                let tmp = write_synced(tmp_dir, format!("{id:020}.gidx"), &g.encode()?)?;
                fs::rename(&tmp, granules_path(parts_dir, id))?;
                Some(GranuleIndex::open(&granules_path(parts_dir, id))?)
            }
            None => None,
        };
        fs::rename(&tmp_stats, stats_path(parts_dir, id))?;
        fs::rename(&tmp_index, index_path(parts_dir, id))?;
        fs::rename(&self.tmp_parquet, parquet_path(parts_dir, id))?;
        sync_dir(parts_dir)?;
        let (min_start, max_start) = self.time_range.unwrap_or((0, 0));
        Ok(Arc::new(Part {
            meta: PartMeta {
                id,
                project_id: project_id.to_string(),
                hour,
                rows: self.rows,
                bytes,
                min_start,
                max_start,
            },
            path: parquet_path(parts_dir, id),
            traces: TraceLookup::of(&trace_ids),
            stats,
            stats_bytes,
            computed_metrics: None,
            granules,
            obsolete: AtomicBool::new(false),
            verified: AtomicBool::new(false),
            footers: self.footers,
        }))
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    #[test]
    fn statistics_sidecars_are_compressed_and_plain_ones_still_read() {
        let mut stats = KeyStats::default();
        for minute in 0..500 {
            stats.minutes.insert(minute, Default::default());
        }
        let plain = serde_json::to_vec(&stats).expect("statistics serialise");
        let stored = encode_stats(&stats).expect("statistics compress");
        assert!(stored.starts_with(&ZSTD_MAGIC));
        assert!(
            stored.len() * 5 < plain.len(),
            "{} of {}",
            stored.len(),
            plain.len()
        );
        assert_eq!(decode_stats(&stored).expect("compressed"), stats);
        assert_eq!(decode_stats(&plain).expect("plain JSON"), stats);
        let mut damaged = stored.clone();
        damaged.truncate(stored.len() / 2);
        assert!(
            decode_stats(&damaged)
                .expect_err("half a frame")
                .is_damage()
        );
    }

    /// A spans part writer in a fresh directory (gone with the guard), with the temporary
    /// and parts directories its `finish` takes.
    fn span_part_writer() -> (tempfile::TempDir, PathBuf, PathBuf, PartWriter) {
        let dir = tempfile::tempdir().expect("tempdir");
        let (tmp, parts) = (dir.path().join("tmp"), dir.path().join("parts"));
        fs::create_dir_all(&tmp).expect("tmp");
        fs::create_dir_all(&parts).expect("parts");
        let footers = Arc::new(Footers::new(1 << 20));
        let writer = PartWriter::create(Table::Spans, &tmp, 1, 1, footers).expect("writer");
        (dir, tmp, parts, writer)
    }

    /// A spans part of `3 * GRANULE_ROWS + 100` rows of one trace, heavy enough (a 512-byte
    /// attribute each, row groups cut at 1 MiB) to end its row groups at every granule, with
    /// the spans it holds in their order; written in batches that do not line up with
    /// granules, as a merge hands them over.
    pub(crate) fn heavy_part() -> (tempfile::TempDir, Arc<Part>, Vec<tracehouse_model::Span>) {
        use crate::storage::schema::spans_to_batch;
        use tracehouse_model::{AttrValue, SpanId, TraceId};
        use tracehouse_store_api::testsuite::testkit::span;
        let rows = 3 * GRANULE_ROWS + 100;
        let spans: Vec<_> = (0..rows as u64)
            .map(|i| {
                let mut s = span(TraceId([1; 16]), SpanId((i + 1).to_be_bytes()), 0, 1);
                let noise: String = (0..32)
                    .map(|k| format!("{:016x}", (i * 32 + k).wrapping_mul(0x9e37_79b9_7f4a_7c15)))
                    .collect();
                s.attributes.insert("payload".into(), AttrValue::Str(noise));
                s
            })
            .collect();
        let batch = spans_to_batch(&spans).expect("batch");
        let (dir, tmp, parts, mut writer) = span_part_writer();
        writer.row_group_bytes = 1 << 20;
        let mut offset = 0;
        while offset < rows {
            let len = 3_000.min(rows - offset);
            writer.write(&batch.slice(offset, len)).expect("write");
            offset += len;
        }
        let stats = merged_stats(Table::Spans, &batch).expect("stats");
        let part = writer
            .finish((&tmp, &parts), ("p", 0), vec![[1; 16]], stats)
            .expect("finish");
        (dir, part, spans)
    }

    #[test]
    fn attribute_maps_and_json_columns_are_written_without_statistics() {
        let (_dir, part, _) = heavy_part();
        let metadata = part.reader_metadata().expect("footer").metadata().clone();
        let group = metadata.row_group(0);
        let has_stats = |path: &[&str]| {
            let chunk = group
                .columns()
                .iter()
                .find(|c| c.column_path().parts() == path)
                .unwrap_or_else(|| panic!("no leaf {path:?}"));
            chunk.statistics().is_some()
        };
        for path in SPAN_NO_STATISTICS {
            assert!(!has_stats(path), "{path:?}");
        }
        for path in [col::START_TIME, col::NAME, col::TRACE_ID] {
            assert!(has_stats(&[path]), "{path}");
        }
    }

    #[test]
    fn heavy_rows_end_row_groups_early_at_granule_boundaries() {
        let (_dir, part, spans) = heavy_part();
        let rows = spans.len();
        let metadata = part.reader_metadata().expect("footer").metadata().clone();
        let groups: Vec<i64> = metadata.row_groups().iter().map(|g| g.num_rows()).collect();
        assert_eq!(groups, [8192, 8192, 8192, 100]);
        assert_eq!(
            part.ranges_by_row_group(&[(10, 20), (8_000, 8_300), (24_600, 24_676)])
                .expect("groups"),
            [
                vec![(10, 20), (8_000, 8_192)],
                vec![(8_192, 8_300)],
                vec![(24_600, 24_676)]
            ]
        );
        let read: usize = part
            .batches()
            .expect("read")
            .map(|b| b.expect("batch").num_rows())
            .sum();
        assert_eq!(read, rows);
        let granule = part.read_rows(&[(8192, 8200)], None).expect("rows");
        assert_eq!(
            granule.map(|b| b.expect("batch").num_rows()).sum::<usize>(),
            8
        );
    }

    #[test]
    fn trace_reads_open_only_the_pages_of_the_trace_time_range() {
        use crate::storage::schema::{batch_to_spans, spans_to_batch};
        use tracehouse_model::{SpanId, TraceId};
        use tracehouse_store_api::testsuite::testkit::span;
        // One service, newest first; trace k holds rows 500k..500(k+1).
        let rows = 3 * GRANULE_ROWS;
        let trace = |k: usize| [k as u8 + 1; 16];
        let start = |row: usize| 10_000_000 - row as i64;
        let spans: Vec<_> = (0..rows)
            .map(|i| {
                span(
                    TraceId(trace(i / 500)),
                    SpanId((i as u64 + 1).to_be_bytes()),
                    start(i),
                    start(i) + 5,
                )
            })
            .collect();
        let batch = spans_to_batch(&spans).expect("batch");
        let (_dir, tmp, parts, mut writer) = span_part_writer();
        writer.write(&batch).expect("write");
        let mut ids: Vec<[u8; 16]> = (0..rows.div_ceil(500)).map(trace).collect();
        ids.sort_unstable();
        let stats = merged_stats(Table::Spans, &batch).expect("stats");
        let part = writer
            .finish((&tmp, &parts), ("p", 0), ids, stats)
            .expect("finish");
        let during = (start(10_499), start(10_000));
        let everything = [(0, rows as u32)];
        let pages = part
            .rows_starting_during(&everything, &[during])
            .expect("pages");
        assert_eq!(
            pages,
            [(9 * 1024, 11 * 1024)],
            "the two pages of rows 10000..10500"
        );
        assert_eq!(
            part.rows_starting_during(&[(0, 9500), (10_400, 12_000)], &[during])
                .expect("pages"),
            [(9 * 1024, 9500), (10_400, 11 * 1024)]
        );
        let read = |ranges: Option<&[(u32, u32)]>, spans: Option<&[[u8; 8]]>| {
            part.read_traces(ranges, &[trace(20)], spans, None)
                .expect("read")
                .iter()
                .flat_map(|b| batch_to_spans(b).expect("spans"))
                .collect::<Vec<_>>()
        };
        let found = read(Some(&pages), None);
        assert_eq!(found.len(), 500);
        assert!(found.iter().all(|s| s.trace_id.0 == trace(20)));
        assert_eq!(
            read(None, None).len(),
            500,
            "without ranges: every row group (spans parts have no Parquet bloom filter)"
        );
        let one = (10_123u64 + 1).to_be_bytes();
        let found = read(Some(&pages), Some(&[one, [9; 8]]));
        assert_eq!(found.iter().map(|s| s.span_id.0).collect::<Vec<_>>(), [one]);
        assert!(
            read(Some(&[(0, 1024)]), None).is_empty(),
            "outside the ranges"
        );
    }

    #[test]
    fn intersections_of_row_ranges() {
        assert_eq!(
            intersect(&[(0, 10), (20, 30)], &[(5, 25)]),
            [(5, 10), (20, 25)]
        );
        assert_eq!(intersect(&[(0, 10)], &[(10, 20)]), []);
        assert_eq!(
            intersect(&[(0, 100)], &[(1, 2), (3, 4), (99, 200)]),
            [(1, 2), (3, 4), (99, 100)]
        );
        assert_eq!(intersect(&[], &[(0, 1)]), []);
    }

    #[test]
    fn span_parts_have_small_pages_page_statistics_for_pruning_and_cheap_columns_plain() {
        let props = writer_properties(Table::Spans, 100);
        assert_eq!(props.data_page_row_count_limit(), SPAN_PAGE_ROWS);
        let stats = |c: &str| props.statistics_enabled(&ColumnPath::from(c));
        let trace_bloom = |p: &WriterProperties| {
            p.bloom_filter_properties(&ColumnPath::from(col::TRACE_ID))
                .is_some()
        };
        assert!(!trace_bloom(&props), "spans parts have granule filters");
        assert_eq!(stats(col::START_TIME), EnabledStatistics::Page);
        assert_eq!(stats(col::SERVICE_NAME), EnabledStatistics::Page);
        for c in [col::TRACE_ID, col::SPAN_ID] {
            assert_eq!(stats(c), EnabledStatistics::Chunk, "{c}");
        }
        for c in [col::EVENTS, col::LINKS, col::SCOPE_ATTRIBUTES] {
            assert_eq!(stats(c), EnabledStatistics::None, "{c}");
        }
        let codec = |c: &str| props.compression(&ColumnPath::from(c));
        for c in [
            col::START_TIME,
            col::DURATION,
            col::SERVICE_NAME,
            col::TRACE_STATE,
            col::DROPPED_LINKS,
        ] {
            assert_eq!(codec(c), Compression::UNCOMPRESSED, "{c}");
        }
        for c in [col::TRACE_ID, col::NAME, col::EVENTS, col::LINKS] {
            assert!(matches!(codec(c), Compression::ZSTD(_)), "{c}");
        }
        let logs = writer_properties(Table::Logs, 100);
        assert_eq!(
            logs.statistics_enabled(&ColumnPath::from(col::BODY)),
            EnabledStatistics::Page
        );
        assert!(
            trace_bloom(&logs),
            "a log part's trace lookups use its bloom filters"
        );
    }
}
