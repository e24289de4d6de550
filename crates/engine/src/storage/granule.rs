//! The granule index of a spans part: a small sidecar that lets searches read a few
//! thousand rows instead of whole column chunks.
//!
//! A spans part is sorted by service, then start time newest first, so each service is one
//! *run* of rows in time order. The part's rows are cut into *granules* of
//! [`GRANULE_ROWS`] rows (a whole number of the spans parts' Parquet pages), and the index
//! keeps, per granule, the range of start times and a split-block bloom filter of the
//! attribute values it holds. With it a search reads each run newest first and stops once
//! older rows can no longer make the page ([`crate::read::scan`]), skips granules outside the time
//! window, and skips granules that cannot hold an attribute value the query asks for
//! (`user.id=4242`).
//!
//! Since format 2 each granule's filter also holds the trace ids of its rows, so a trace
//! read opens only the granules of each run that may hold the trace (format 1 sidecars
//! still open: a trace read then reads every granule of the trace's time range).
//!
//! A live part keeps only the sidecar's header in memory (runs and granule time ranges):
//! the filters and the traces' time ranges, 3 bytes a span, stay in the file and are read
//! where needed — for a probe the one 32-byte block of each granule's filter it hashes to,
//! for many probes the granule's whole filter.
//!
//! Bloom entries are hashes of `(key, value)` in the forms the filter compiler compares
//! ([`crate::read::filter`]): the value as text (strings unquoted, numbers as the evaluator
//! prints them), and the value as a number when it has one (strings whose text parses as a
//! number included), so an equality on either form finds every granule where it may hold.

use std::collections::{HashMap, HashSet};
use std::fs::File;
use std::hash::Hasher;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};

use datafusion::arrow::array::{
    Array, FixedSizeBinaryArray, Int64Array, MapArray, RecordBatch, StringArray,
};
use datafusion::parquet::bloom_filter::Sbbf;
use serde::{Deserialize, Serialize};
use tracehouse_query::{CmpOp, Field, Filter, Intrinsic, Pattern, Scope, Value};
use twox_hash::XxHash64;

use crate::error::{EngineResult, StoreError};
use crate::storage::schema::col;
use tracehouse_store_api::value::{decode_stored, eval_value};

/// Rows per granule: eight of the spans parts' Parquet data pages, so no page straddles two
/// granules.
pub const GRANULE_ROWS: usize = 8192;

/// False-positive rate of each granule's value filter. A search for a rare value (one
/// user's spans) reads every granule whose filter lets it through: at 1 % a 16M-span store's
/// two thousand granules let about twenty through for nothing, each decoding 8,192 rows of
/// attribute maps (60 ms of such a search); at 0.1 % about two.
const BLOOM_FPP: f64 = 0.001;

/// An empty filter for `entries` distinct entries at [`BLOOM_FPP`], of the bits that rate
/// needs in whole blocks. Parquet's own filters round up to a power of two (1.4 times the
/// bits on average); lookups here find a probe's block by multiplying, which needs no such
/// size, so the bytes that rounding would waste buy a tenfold lower rate instead.
fn value_filter(entries: usize) -> Sbbf {
    let bits = -8.0 * entries.max(1) as f64 / (1.0 - BLOOM_FPP.powf(1.0 / 8.0)).ln();
    let blocks = (bits / 8.0).ceil() as usize;
    Sbbf::new(&vec![
        0u8;
        blocks.div_ceil(BLOCK_BYTES).max(1) * BLOCK_BYTES
    ])
}

/// Format version written in the sidecar's header (2: the filters hold trace ids).
const VERSION: u32 = 2;

/// The oldest format version still read.
const FIRST_VERSION: u32 = 1;

/// Magic bytes at the start of a granule index file.
const MAGIC: &[u8; 4] = b"THGI";

/// One service's rows: consecutive, newest first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Run {
    /// The service name all rows of the run share.
    pub service: String,
    /// First row (in part order).
    pub first: u32,
    /// Number of rows.
    pub rows: u32,
    /// Start time of the newest row (the first).
    pub max_start: i64,
    /// Start time of the oldest row (the last).
    pub min_start: i64,
}

impl Run {
    /// One past the last row.
    pub fn end(&self) -> u32 {
        self.first + self.rows
    }
}

/// What the index says about one granule.
#[derive(Debug, Clone)]
pub struct Granule {
    /// Smallest start time in the granule.
    pub min_start: i64,
    /// Largest start time in the granule.
    pub max_start: i64,
    /// Where the granule's filter (see the module docs) starts in the sidecar.
    filter_at: u64,
    /// Bytes of that filter (a multiple of [`BLOCK_BYTES`]).
    filter_bytes: u32,
}

/// Bytes of a block of a split-block bloom filter: a probe sets and checks bits of one.
const BLOCK_BYTES: usize = 32;

/// The block of a filter of `blocks` blocks that `probe` hashes to, as Parquet's split-block
/// bloom filters (which the granule filters are) pick it: the probe's bytes hashed with
/// XXH64 (seed 0), the hash's upper half scaled to the block count.
fn block_of(probe: u64, blocks: usize) -> usize {
    let hash = XxHash64::oneshot(0, &probe.to_ne_bytes());
    (((hash >> 32) * blocks as u64) >> 32) as usize
}

/// The serialised header of the sidecar (the filters follow it).
#[derive(Serialize, Deserialize)]
struct Header {
    version: u32,
    granule_rows: u32,
    rows: u32,
    runs: Vec<Run>,
    /// Per granule: min start, max start, bytes of its filter.
    granules: Vec<(i64, i64, u32)>,
    /// Number of trace time ranges (after the filters, 16 bytes each).
    traces: u32,
}

/// The granule index of one part.
#[derive(Debug, Clone)]
pub struct GranuleIndex {
    /// Rows in the part.
    pub rows: u32,
    /// The service runs, in part order.
    pub runs: Vec<Run>,
    /// The granules, in part order.
    pub granules: Vec<Granule>,
    /// Where the start times (earliest, latest) of each trace's spans in the part start in
    /// the sidecar, 16 bytes a trace in the order of the part's trace index (sorted trace
    /// ids): where a trace's rows can be in each run.
    traces_at: u64,
    /// Number of those traces.
    pub traces: u32,
    /// Whether the granules' filters hold their trace ids ([`trace_probe`]); false for
    /// sidecars of format 1.
    pub traces_in_filters: bool,
    /// The sidecar.
    path: PathBuf,
}

/// A granule index as [`GranuleIndexBuilder`] builds it, filters and all, to be written.
#[derive(Debug)]
pub struct BuiltIndex {
    rows: u32,
    runs: Vec<Run>,
    /// Per granule: min start, max start, filter.
    granules: Vec<(i64, i64, Sbbf)>,
    trace_ranges: Vec<(i64, i64)>,
}

/// A part's sidecar open for reading granule filters and trace time ranges.
pub struct SidecarReader<'a> {
    index: &'a GranuleIndex,
    file: File,
}

fn column<'a, T: 'static>(batch: &'a RecordBatch, name: &str) -> Result<&'a T, StoreError> {
    batch
        .column_by_name(name)
        .and_then(|c| c.as_any().downcast_ref::<T>())
        .ok_or_else(|| StoreError::Corrupt(format!("column {name} missing or mistyped")))
}

fn hash_parts(key: &str, tag: u8, value: &[u8]) -> u64 {
    let mut h = XxHash64::with_seed(0x7472_6163_6568_6f75);
    h.write(key.as_bytes());
    h.write(&[0xff, tag]);
    h.write(value);
    h.finish()
}

/// The filter entry of an attribute whose value reads as `text`.
pub fn text_probe(key: &str, text: &str) -> u64 {
    hash_parts(key, b't', text.as_bytes())
}

/// The filter entry of an attribute whose value is the number `n`; none for NaN, which
/// equals nothing.
pub fn number_probe(key: &str, n: f64) -> Option<u64> {
    if n.is_nan() {
        return None;
    }
    // -0.0 == 0.0: one entry for both.
    let n = if n == 0.0 { 0.0 } else { n };
    Some(hash_parts(key, b'n', &n.to_bits().to_le_bytes()))
}

/// The filter entry of a trace id (its own tag: no attribute entry collides with it by
/// construction).
pub fn trace_probe(trace_id: &[u8; 16]) -> u64 {
    hash_parts("", b'T', trace_id)
}

/// The filter entry saying that some row has the attribute `key`.
fn key_probe(key: &str) -> u64 {
    hash_parts(key, b'k', &[])
}

/// Calls `emit` with the filter entries of one stored attribute (its JSON text).
fn value_entries(key: &str, raw: &str, emit: &mut impl FnMut(u64)) {
    emit(key_probe(key));
    let Some(value) = decode_stored(raw) else {
        return;
    };
    let value = eval_value(&value);
    emit(text_probe(key, &value.as_text()));
    if let Some(n) = value.as_f64().and_then(|n| number_probe(key, n)) {
        emit(n);
    }
}

/// Entries some row holds when it matches `filter`: a granule that holds none of them
/// has no matching row. `None` when the filter needs no attribute.
pub fn probes(filter: &Filter) -> Option<Vec<u64>> {
    ranked_probes(filter).map(|(_, p)| p)
}

/// How well probes narrow a search: a pinned value before a mere key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Narrows {
    Value,
    Key,
}

fn ranked_probes(filter: &Filter) -> Option<(Narrows, Vec<u64>)> {
    match filter {
        Filter::And(items) => items
            .iter()
            .filter_map(ranked_probes)
            .min_by_key(|(rank, p)| (*rank, p.len())),
        Filter::Or(items) => {
            items
                .iter()
                .try_fold((Narrows::Value, Vec::new()), |(rank, mut all), f| {
                    let (r, p) = ranked_probes(f)?;
                    all.extend(p);
                    Some((rank.max(r), all))
                })
        }
        Filter::Cmp {
            field: Field::Attr { scope, key },
            op,
            value,
        } if in_maps(*scope) => match (op, value) {
            (CmpOp::Eq, Value::Str(v)) => Some((Narrows::Value, vec![text_probe(key, v)])),
            (CmpOp::Eq, Value::Int(i) | Value::Duration(i)) => Some((
                Narrows::Value,
                number_probe(key, *i as f64).into_iter().collect(),
            )),
            (CmpOp::Eq, Value::Float(f)) => {
                Some((Narrows::Value, number_probe(key, *f).into_iter().collect()))
            }
            // `!=` also holds where the attribute is missing.
            (CmpOp::Ne, _) => None,
            _ => Some((Narrows::Key, vec![key_probe(key)])),
        },
        Filter::Match {
            field: Field::Attr { scope, key },
            pattern,
        } if in_maps(*scope) => Some(match pattern {
            Pattern::Exact(v) => (Narrows::Value, vec![text_probe(key, v)]),
            _ => (Narrows::Key, vec![key_probe(key)]),
        }),
        Filter::Exists(Field::Attr { scope, key }) if in_maps(*scope) => {
            Some((Narrows::Key, vec![key_probe(key)]))
        }
        _ => None,
    }
}

/// Whether attributes of this scope live in the indexed attribute maps.
fn in_maps(scope: Scope) -> bool {
    matches!(scope, Scope::Span | Scope::Resource | Scope::Any)
}

/// The services a row can belong to when it matches `filter`; `None` when any.
pub fn services(filter: &Filter) -> Option<Vec<String>> {
    let service = Field::Intrinsic(Intrinsic::ServiceName);
    match filter {
        Filter::And(items) => items.iter().filter_map(services).min_by_key(Vec::len),
        Filter::Or(items) => items.iter().try_fold(Vec::new(), |mut all, f| {
            all.extend(services(f)?);
            Some(all)
        }),
        Filter::Match {
            field,
            pattern: Pattern::Exact(v),
        } if *field == service => Some(vec![v.clone()]),
        Filter::Cmp {
            field,
            op: CmpOp::Eq,
            value: Value::Str(v),
        } if *field == service => Some(vec![v.clone()]),
        _ => None,
    }
}

impl BuiltIndex {
    /// The sidecar's bytes: magic, header length, header, the filters, the traces' time
    /// ranges.
    pub fn encode(&self) -> Result<Vec<u8>, StoreError> {
        let mut filters = Vec::new();
        let mut granules = Vec::with_capacity(self.granules.len());
        for (min_start, max_start, filter) in &self.granules {
            let before = filters.len();
            filter.write_bitset(&mut filters).engine()?;
            granules.push((*min_start, *max_start, (filters.len() - before) as u32));
        }
        for (min, max) in &self.trace_ranges {
            filters.extend_from_slice(&min.to_le_bytes());
            filters.extend_from_slice(&max.to_le_bytes());
        }
        let header = serde_json::to_vec(&Header {
            version: VERSION,
            granule_rows: GRANULE_ROWS as u32,
            rows: self.rows,
            runs: self.runs.clone(),
            granules,
            traces: self.trace_ranges.len() as u32,
        })?;
        let mut out = Vec::with_capacity(8 + header.len() + filters.len());
        out.extend_from_slice(MAGIC);
        out.extend_from_slice(&(header.len() as u32).to_le_bytes());
        out.extend_from_slice(&header);
        out.extend_from_slice(&filters);
        Ok(out)
    }
}

impl GranuleIndex {
    /// Opens the sidecar at `path` written by [`BuiltIndex::encode`]: reads its header and
    /// checks that the file holds exactly the filters and trace ranges it announces.
    pub fn open(path: &Path) -> Result<GranuleIndex, StoreError> {
        let corrupt =
            |what: &str| StoreError::Corrupt(format!("granule index {}: {what}", path.display()));
        let file = File::open(path)?;
        let size = file.metadata()?.len();
        let mut head = [0u8; 8];
        file.read_exact_at(&mut head, 0)
            .map_err(|_| corrupt("torn"))?;
        let (magic, len) = head.split_at(4);
        if magic != MAGIC {
            return Err(corrupt("bad magic"));
        }
        let len = u32::from_le_bytes(len.try_into().map_err(|_| corrupt("torn"))?) as u64;
        if 8 + len > size {
            return Err(corrupt("torn"));
        }
        let mut header = vec![0u8; len as usize];
        file.read_exact_at(&mut header, 8)?;
        let header: Header = serde_json::from_slice(&header)?;
        if !(FIRST_VERSION..=VERSION).contains(&header.version)
            || header.granule_rows as usize != GRANULE_ROWS
        {
            return Err(corrupt("unknown version"));
        }
        let mut at = 8 + len;
        let mut granules = Vec::with_capacity(header.granules.len());
        for (min_start, max_start, bytes) in header.granules {
            if bytes == 0 || !(bytes as usize).is_multiple_of(BLOCK_BYTES) {
                return Err(corrupt("torn filters"));
            }
            granules.push(Granule {
                min_start,
                max_start,
                filter_at: at,
                filter_bytes: bytes,
            });
            at += u64::from(bytes);
        }
        let runs_fit = header.runs.iter().all(|r| {
            r.first
                .checked_add(r.rows)
                .is_some_and(|end| end <= header.rows)
        });
        if at + u64::from(header.traces) * 16 != size
            || granules.len() != (header.rows as usize).div_ceil(GRANULE_ROWS)
            || !runs_fit
        {
            return Err(corrupt("size mismatch"));
        }
        Ok(GranuleIndex {
            rows: header.rows,
            runs: header.runs,
            granules,
            traces_at: at,
            traces: header.traces,
            traces_in_filters: header.version >= 2,
            path: path.to_path_buf(),
        })
    }

    /// Bytes the index holds in memory: the granules' time ranges and the runs.
    pub fn memory_bytes(&self) -> usize {
        let runs: usize = self.runs.iter().map(|r| 32 + r.service.len()).sum();
        self.granules.len() * std::mem::size_of::<Granule>() + runs
    }

    /// The sidecar, open for reading filters and trace ranges.
    pub fn reader(&self) -> Result<SidecarReader<'_>, StoreError> {
        Ok(SidecarReader {
            index: self,
            file: File::open(&self.path)?,
        })
    }

    /// The chunks (see [`GranuleIndex::chunks`]) of every run whose granule's start times
    /// overlap one of `intervals` (inclusive `(earliest, latest)` start times).
    pub fn chunks_during(&self, intervals: &[(i64, i64)]) -> Vec<(u32, u32)> {
        self.runs
            .iter()
            .flat_map(|run| self.chunks(run))
            .filter(|(first, _)| {
                let g = self.granule_of(*first);
                intervals
                    .iter()
                    .any(|(lo, hi)| *lo <= g.max_start && *hi >= g.min_start)
            })
            .collect()
    }

    /// The granule holding `row`.
    pub fn granule_of(&self, row: u32) -> &Granule {
        &self.granules[row as usize / GRANULE_ROWS]
    }

    /// The rows of `run` cut at granule boundaries, in part order (newest first), as
    /// `(first, end)` row ranges.
    pub fn chunks(&self, run: &Run) -> Vec<(u32, u32)> {
        let step = GRANULE_ROWS as u32;
        let mut out = Vec::new();
        let mut first = run.first;
        while first < run.end() {
            let end = ((first / step + 1) * step).min(run.end());
            out.push((first, end));
            first = end;
        }
        out
    }
}

impl SidecarReader<'_> {
    /// Whether some row of `granule` may hold one of `probes` (see [`probes`]): for a few
    /// probes the block each hashes to is read, for more the whole filter.
    pub fn may_hold_any(&self, granule: &Granule, probes: &[u64]) -> Result<bool, StoreError> {
        let bytes = granule.filter_bytes as usize;
        let blocks = bytes / BLOCK_BYTES;
        if probes.len() * BLOCK_BYTES * 8 < bytes {
            let mut block = [0u8; BLOCK_BYTES];
            for p in probes {
                let at = granule.filter_at + (block_of(*p, blocks) * BLOCK_BYTES) as u64;
                self.file.read_exact_at(&mut block, at)?;
                if Sbbf::new(&block).check(p) {
                    return Ok(true);
                }
            }
            return Ok(false);
        }
        let mut filter = vec![0u8; bytes];
        self.file.read_exact_at(&mut filter, granule.filter_at)?;
        let filter = Sbbf::new(&filter);
        Ok(probes.iter().any(|p| filter.check(p)))
    }

    /// The time ranges of the traces at `positions` of the part's trace index.
    pub fn trace_ranges(&self, positions: &[usize]) -> Result<Vec<(i64, i64)>, StoreError> {
        let mut out = Vec::with_capacity(positions.len());
        let mut raw = [0u8; 16];
        for &i in positions {
            if i >= self.index.traces as usize {
                return Err(StoreError::Corrupt(
                    "trace index and granule index disagree".into(),
                ));
            }
            self.file
                .read_exact_at(&mut raw, self.index.traces_at + 16 * i as u64)?;
            let (min, max) = raw.split_at(8);
            let word = |b: &[u8]| {
                b.try_into()
                    .map(i64::from_le_bytes)
                    .map_err(|_| StoreError::Corrupt("trace range".into()))
            };
            out.push((word(min)?, word(max)?));
        }
        Ok(out)
    }

    /// The chunks of [`GranuleIndex::chunks_during`] whose granule may also hold one of
    /// `traces` (every one of them when the filters do not hold trace ids).
    pub fn chunks_holding(
        &self,
        intervals: &[(i64, i64)],
        traces: &[[u8; 16]],
    ) -> Result<Vec<(u32, u32)>, StoreError> {
        let index = self.index;
        let chunks = index.chunks_during(intervals);
        if !index.traces_in_filters {
            return Ok(chunks);
        }
        let probes: Vec<u64> = traces.iter().map(trace_probe).collect();
        let mut out = Vec::with_capacity(chunks.len());
        for c in chunks {
            if self.may_hold_any(index.granule_of(c.0), &probes)? {
                out.push(c);
            }
        }
        Ok(out)
    }
}

/// Builds a part's granule index ([`BuiltIndex`]) from its rows as they are written, batch by batch in part
/// order; granules are cut every [`GRANULE_ROWS`] rows whatever the batches' sizes, and only
/// the granule being filled is held.
#[derive(Default)]
pub struct GranuleIndexBuilder {
    rows: usize,
    runs: Vec<Run>,
    granules: Vec<(i64, i64, Sbbf)>,
    /// The granule being filled: its time range and bloom entries.
    open: Option<OpenGranule>,
    trace_ranges: HashMap<[u8; 16], (i64, i64), foldhash::fast::RandomState>,
}

/// The granule a [`GranuleIndexBuilder`] is filling.
struct OpenGranule {
    min_start: i64,
    max_start: i64,
    entries: HashSet<u64, foldhash::fast::RandomState>,
}

impl GranuleIndexBuilder {
    /// Adds the next rows of the part.
    pub fn push(&mut self, batch: &RecordBatch) -> Result<(), StoreError> {
        let services: &StringArray = column(batch, col::SERVICE_NAME)?;
        let starts: &Int64Array = column(batch, col::START_TIME)?;
        let traces: &FixedSizeBinaryArray = column(batch, col::TRACE_ID)?;
        let maps = [
            column::<MapArray>(batch, col::ATTRIBUTES)?,
            column::<MapArray>(batch, col::RESOURCE_ATTRIBUTES)?,
        ];
        for row in 0..batch.num_rows() {
            let start = starts.value(row);
            self.extend_run(services.value(row), start);
            let id: [u8; 16] = traces
                .value(row)
                .try_into()
                .map_err(|_| StoreError::Corrupt("trace_id column".into()))?;
            let r = self.trace_ranges.entry(id).or_insert((start, start));
            *r = (r.0.min(start), r.1.max(start));
        }
        let mut first = 0;
        while first < batch.num_rows() {
            let room = GRANULE_ROWS - self.rows % GRANULE_ROWS;
            let end = (first + room).min(batch.num_rows());
            let open = self.open.get_or_insert_with(|| OpenGranule {
                min_start: i64::MAX,
                max_start: i64::MIN,
                entries: HashSet::default(),
            });
            let mut last_trace = None;
            for row in first..end {
                open.min_start = open.min_start.min(starts.value(row));
                open.max_start = open.max_start.max(starts.value(row));
                let trace = traces.value(row);
                if last_trace != Some(trace) {
                    open.entries.insert(trace_probe(
                        trace
                            .try_into()
                            .map_err(|_| StoreError::Corrupt("trace_id column".into()))?,
                    ));
                    last_trace = Some(trace);
                }
            }
            let mut seen: Seen<'_> = HashSet::default();
            for map in maps {
                map_entries(map, first..end, &mut seen, &mut |h| {
                    open.entries.insert(h);
                })?;
            }
            self.rows += end - first;
            if self.rows.is_multiple_of(GRANULE_ROWS) {
                self.close_granule()?;
            }
            first = end;
        }
        Ok(())
    }

    /// The index, once every row was pushed; `trace_ids` are the part's distinct trace ids,
    /// sorted.
    pub fn finish(mut self, trace_ids: &[[u8; 16]]) -> Result<BuiltIndex, StoreError> {
        self.close_granule()?;
        let trace_ranges = trace_ids
            .iter()
            .map(|id| {
                self.trace_ranges.get(id).copied().ok_or_else(|| {
                    StoreError::Corrupt("trace index names a trace without rows".into())
                })
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(BuiltIndex {
            rows: u32::try_from(self.rows).map_err(|_| {
                StoreError::InvalidArgument("a part holds at most 2^32 rows".into())
            })?,
            runs: self.runs,
            granules: self.granules,
            trace_ranges,
        })
    }

    fn extend_run(&mut self, service: &str, start: i64) {
        match self.runs.last_mut() {
            Some(run) if run.service == service => {
                run.rows += 1;
                run.max_start = run.max_start.max(start);
                run.min_start = run.min_start.min(start);
            }
            _ => self.runs.push(Run {
                service: service.to_string(),
                first: self.rows_seen(),
                rows: 1,
                max_start: start,
                min_start: start,
            }),
        }
    }

    /// Rows already counted in runs.
    fn rows_seen(&self) -> u32 {
        self.runs.iter().map(|r| r.rows).sum()
    }

    fn close_granule(&mut self) -> Result<(), StoreError> {
        let Some(open) = self.open.take() else {
            return Ok(());
        };
        let mut values = value_filter(open.entries.len());
        for h in &open.entries {
            values.insert(h);
        }
        self.granules.push((open.min_start, open.max_start, values));
        Ok(())
    }
}

/// The `(key, stored value)` pairs of a granule already entered in its filter.
type Seen<'a> = HashSet<(&'a str, &'a str), foldhash::fast::RandomState>;

/// Calls `emit` with the filter entries of the rows `rows` of an attribute map column,
/// once per distinct `(key, stored value)` not yet in `seen` (values repeat a lot: resource
/// attributes on every span of a service, methods, routes), which saves decoding them again.
fn map_entries<'a>(
    map: &'a MapArray,
    rows: std::ops::Range<usize>,
    seen: &mut Seen<'a>,
    emit: &mut impl FnMut(u64),
) -> Result<(), StoreError> {
    let keys = map
        .keys()
        .as_any()
        .downcast_ref::<StringArray>()
        .ok_or_else(|| StoreError::Corrupt("attribute keys are not text".into()))?;
    let values = map
        .values()
        .as_any()
        .downcast_ref::<StringArray>()
        .ok_or_else(|| StoreError::Corrupt("attribute values are not text".into()))?;
    let offsets = map.value_offsets();
    for row in rows {
        if map.is_null(row) {
            continue;
        }
        for i in offsets[row] as usize..offsets[row + 1] as usize {
            if !values.is_null(i) && seen.insert((keys.value(i), values.value(i))) {
                value_entries(keys.value(i), values.value(i), emit);
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use tracehouse_query::{parse, plan};

    fn probes_of(q: &str) -> Option<Vec<u64>> {
        probes(&plan(&parse(q).expect("query parses")).pushdown)
    }

    fn entries(key: &str, raw: &str) -> Vec<u64> {
        let mut out = Vec::new();
        value_entries(key, raw, &mut |h| out.push(h));
        out
    }

    #[test]
    fn equality_on_either_form_finds_the_value() {
        let number = entries("user.id", "4242");
        let text = entries("user.id", "\"4242.0\"");
        let word = entries("user.id", "\"alice\"");
        for q in ["user.id=4242", "user.id:4242", "span.user.id=4242.0"] {
            let p = probes_of(q).expect("an equality has probes");
            assert!(p.iter().any(|h| number.contains(h)), "{q} on 4242");
            assert!(p.iter().any(|h| text.contains(h)), "{q} on \"4242.0\"");
        }
        let p = probes_of("user.id=\"4242\"").expect("probes");
        assert!(
            p.iter().any(|h| number.contains(h)),
            "text 4242 on number 4242"
        );
        let p = probes_of("user.id=alice").expect("probes");
        assert!(p.iter().any(|h| word.contains(h)));
        assert!(!p.iter().any(|h| number.contains(h) || text.contains(h)));
        let zero = number_probe("x", 0.0).expect("a number");
        assert!(entries("x", "-0.0").contains(&zero) && entries("x", "\"0\"").contains(&zero));
        assert_eq!(number_probe("x", f64::NAN), None);
    }

    #[test]
    fn filters_that_need_an_attribute_have_probes() {
        let present = entries("user.id", "4242");
        for q in [
            "user.id>4242",
            "user.id EXISTS",
            "user.id:42*",
            "user.id=/4.*/",
            "resource.user.id<1",
        ] {
            let p = probes_of(q).expect("a positive leaf needs the key");
            assert!(p.iter().any(|h| present.contains(h)), "{q}");
            assert!(
                !p.iter().any(|h| entries("other", "4242").contains(h)),
                "{q}"
            );
        }
        for q in [
            "user.id!=4242",
            "NOT user.id=4242",
            "user.id NOT EXISTS",
            "user.id=4242 OR service:x",
            "event.user.id=4242",
            "service:x",
            "",
        ] {
            assert_eq!(probes_of(q), None, "{q}");
        }
        // A pinned value narrows more than a key; among values, fewer entries win.
        let value = probes_of("user.id=7").expect("probes");
        assert_eq!(probes_of("a EXISTS user.id=7 b>1"), Some(value));
        assert_eq!(
            probes_of("service:x user.id=1 a=2").map(|p| p.len()),
            Some(1)
        );
        assert_eq!(
            probes_of("user.id=1 OR user.id=2").map(|p| p.len()),
            Some(2)
        );
        assert_eq!(probes_of("user.id=1 OR a EXISTS").map(|p| p.len()), Some(2));
    }

    /// `built` written as a sidecar in a fresh directory (gone with the guard) and opened.
    fn written(built: &BuiltIndex) -> (tempfile::TempDir, GranuleIndex) {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("1.gidx");
        std::fs::write(&path, built.encode().expect("encode")).expect("write");
        let index = GranuleIndex::open(&path).expect("open");
        (dir, index)
    }

    /// Opens `raw` as a sidecar.
    fn open_raw(raw: &[u8]) -> Result<GranuleIndex, StoreError> {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("1.gidx");
        std::fs::write(&path, raw).expect("write");
        GranuleIndex::open(&path)
    }

    #[test]
    fn a_probe_reads_the_block_the_whole_filter_would_check_at_the_rate_asked() {
        let mut filter = value_filter(5_000);
        for i in 0..5_000u64 {
            filter.insert(&text_probe("k", &i.to_string()));
        }
        let mut bytes = Vec::new();
        filter.write_bitset(&mut bytes).expect("bitset");
        // 14.6 bits an entry in whole blocks, not rounded up to a power of two (16 KiB).
        assert_eq!(bytes.len(), 9_152);
        let blocks = bytes.len() / BLOCK_BYTES;
        let (mut hits, mut checked) = (0, 0);
        for i in 0..20_000u64 {
            let p = text_probe("k", &i.to_string());
            let b = block_of(p, blocks) * BLOCK_BYTES;
            let one = Sbbf::new(&bytes[b..b + BLOCK_BYTES]).check(&p);
            assert_eq!(one, filter.check(&p), "probe {i}");
            hits += usize::from(one);
            checked += 1;
        }
        // Every entry, and about 0.1 % of the 15,000 others (15).
        assert!((5_000..5_040).contains(&hits), "{hits} of {checked}");
    }

    #[test]
    fn the_sidecar_round_trips_and_refuses_damage() {
        use tracehouse_model::{AttrValue, Span, SpanId};
        let spans: Vec<Span> = (0..3 * GRANULE_ROWS as u64 / 2)
            .map(|i| {
                let mut s =
                    crate::storage::schema::tests::sample_span((i % 7) as u8, 0, 1_000 - i as i64);
                s.span_id = SpanId(i.to_be_bytes());
                s.service_name = if i < 100 { "a" } else { "b" }.into();
                s.attributes
                    .insert("user.id".into(), AttrValue::Int(i as i64));
                s
            })
            .collect();
        let batch = crate::storage::schema::spans_to_batch(&spans).expect("batch");
        let ids: Vec<[u8; 16]> = (0..7u8).map(|b| [b; 16]).collect();
        let mut builder = GranuleIndexBuilder::default();
        builder.push(&batch).expect("index");
        let built = builder.finish(&ids).expect("index");
        let raw = built.encode().expect("encode");
        let (_dir, back) = written(&built);
        assert_eq!(back.runs.len(), 2);
        assert_eq!(
            (back.runs[1].first, back.runs[1].rows),
            (100, spans.len() as u32 - 100)
        );
        assert_eq!(back.granules.len(), 2);
        assert_eq!(back.chunks(&back.runs[1]).len(), 2);
        assert_eq!(back.runs, built.runs);
        let sidecar = back.reader().expect("reader");
        let positions: Vec<usize> = (0..7).collect();
        let ranges = sidecar.trace_ranges(&positions).expect("ranges");
        assert_eq!(ranges, built.trace_ranges);
        let last = spans.len() as i64 - 1;
        assert_eq!(ranges[0], (1_000 - last + last % 7, 1_000));
        assert!(sidecar.trace_ranges(&[7]).is_err(), "past the traces");
        let probe = |n: i64| {
            number_probe("user.id", n as f64)
                .into_iter()
                .collect::<Vec<_>>()
        };
        let holds = |g: usize, probes: &[u64]| {
            sidecar
                .may_hold_any(&back.granules[g], probes)
                .expect("filter read")
        };
        assert!(holds(0, &probe(5)));
        assert!(holds(1, &probe(GRANULE_ROWS as i64 + 5)));
        let misses = (0..1000).filter(|n| holds(1, &probe(n + 100_000))).count();
        assert!(misses < 50, "{misses} false positives in 1000");
        // Many probes read the whole filter: the same answers.
        let many: Vec<u64> = (0..1000).flat_map(|n| probe(n + 100_000)).collect();
        assert_eq!(holds(1, &many), misses > 0);
        assert!(holds(0, &[many, probe(5)].concat()));
        for damaged in [&raw[..raw.len() - 1], &raw[1..], &raw[..10], &raw[..4]] {
            assert!(open_raw(damaged).is_err());
        }
    }

    #[test]
    fn granule_filters_hold_trace_ids() {
        use tracehouse_model::{Span, SpanId};
        // Rows of trace k are rows 1000k..1000(k+1): traces 0..=8 start in granule 0, 8..=11
        // in granule 1 (one service, so one run).
        let rows = 3 * GRANULE_ROWS as u64 / 2;
        let spans: Vec<Span> = (0..rows)
            .map(|i| {
                let mut s = crate::storage::schema::tests::sample_span(
                    (i / 1000) as u8,
                    0,
                    1_000_000 - i as i64,
                );
                s.span_id = SpanId(i.to_be_bytes());
                s
            })
            .collect();
        let batch = crate::storage::schema::spans_to_batch(&spans).expect("batch");
        let ids: Vec<[u8; 16]> = (0..=(rows / 1000) as u8).map(|b| [b; 16]).collect();
        let mut builder = GranuleIndexBuilder::default();
        builder.push(&batch).expect("index");
        let built = builder.finish(&ids).expect("index");
        let (_dir, index) = written(&built);
        let sidecar = index.reader().expect("reader");
        let everything = [(i64::MIN, i64::MAX)];
        assert_eq!(index.chunks_during(&everything).len(), 2);
        let granule = |k: u8| {
            sidecar
                .chunks_holding(&everything, &[[k; 16]])
                .expect("filters")
        };
        assert_eq!(granule(0), vec![(0, GRANULE_ROWS as u32)]);
        assert_eq!(granule(11), vec![(GRANULE_ROWS as u32, rows as u32)]);
        assert_eq!(granule(8).len(), 2, "trace 8 straddles the boundary");
        let misses = (100..=255u8).filter(|&k| !granule(k).is_empty()).count();
        assert!(misses < 10, "{misses} false positives in 156");
        // A sidecar of format 1 (no trace ids in its filters) still opens; a trace read then
        // reads every granule of the trace's time range.
        let raw = built.encode().expect("encode");
        let holding = |index: &GranuleIndex| {
            let sidecar = index.reader().expect("reader");
            sidecar
                .chunks_holding(&everything, &[[0; 16]])
                .expect("filters")
                .len()
        };
        assert!(index.traces_in_filters);
        assert_eq!(holding(&index), 1);
        let at = raw
            .windows(11)
            .position(|w| w == b"\"version\":2")
            .expect("version in the header");
        let mut old = raw;
        old[at + 10] = b'1';
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("old.gidx");
        std::fs::write(&path, &old).expect("write");
        let back = GranuleIndex::open(&path).expect("format 1 opens");
        assert!(!back.traces_in_filters);
        assert_eq!(holding(&back), 2);
        old[at + 10] = b'3';
        assert!(open_raw(&old).is_err(), "a newer format is refused");
    }

    #[test]
    fn service_constraints() {
        let s = |q: &str| services(&plan(&parse(q).expect("parses")).pushdown);
        assert_eq!(
            s("service_name:checkout duration>10ms"),
            Some(vec!["checkout".into()])
        );
        assert_eq!(
            s("service_name:a OR service_name=b"),
            Some(vec!["a".into(), "b".into()])
        );
        assert_eq!(s("service_name:a OR duration>1ms"), None);
        assert_eq!(s("service_name:a*"), None);
        assert_eq!(s("NOT service_name:a"), None);
        // The short alias may read an attribute `service`; once the store knows no row has
        // one, it is the built-in field again.
        let alias = plan(&parse("service:checkout duration>10ms").expect("parses")).pushdown;
        assert_eq!(services(&alias), None);
        let no_attribute = |f: &Field| matches!(f, Field::Attr { .. });
        assert_eq!(
            services(&alias.without_absent(&no_attribute)),
            Some(vec!["checkout".into()])
        );
    }
}
