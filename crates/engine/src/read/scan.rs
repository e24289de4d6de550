//! Reads of spans parts that have a granule index ([`crate::storage::granule`]), with Parquet
//! directly instead of through a DataFusion plan.
//!
//! The core is one scan: the granules of every service run of every part are read best
//! first (newest first, or oldest first) across runs and parts, with only the columns the
//! filter names plus the sort keys. The filter (the very DataFusion expression the other
//! paths use, as a physical expression) is evaluated on each granule and every matching
//! row is offered to a collector. Granules outside the time window, runs of services the
//! filter excludes and granules whose value filter rules out an attribute the filter needs
//! are skipped without reading; a collector that knows older rows can no longer change its
//! answer stops the scan, so a search for the newest few rows reads the newest granules of
//! each run, however long the runs are.
//!
//! - A page of spans keeps the best N rows, then reads those N whole by row number,
//!   touching only their pages.
//! - Structural candidates keep the newest N distinct traces.
//! - Histograms count every matching row; trace pages key every matching trace.
//! - Trace reads use each trace's time range in the part instead of a filter.

use std::cmp::Reverse;
use std::collections::{BTreeMap, BTreeSet, BinaryHeap, HashMap};
use std::sync::{Arc, LazyLock};

use datafusion::arrow::array::{Array, BooleanArray, FixedSizeBinaryArray, Int64Array};
use datafusion::common::DFSchema;
use datafusion::physical_plan::PhysicalExpr;
use datafusion::prelude::{Expr, SessionContext};
use tracehouse_model::{Span, SpanId, TraceId};
use tracehouse_query::Filter;

use crate::error::{EngineResult, StoreError};
use crate::storage::granule;
use crate::storage::part::{Part, StartPage};
use crate::storage::schema::{batch_to_spans, col as c};
use crate::storage::table::Table;
use tracehouse_store_api::Bucket;

/// Plans physical expressions (type coercion, function rewrites); built once.
static PLANNER: LazyLock<SessionContext> = LazyLock::new(SessionContext::new);

/// A time-ordered search: which rows, in which direction, how many.
pub(crate) struct OrderedSearch {
    /// The complete predicate (window, filter, cursor) over the spans table.
    pub predicate: Expr,
    /// The filter in the query IR, for skipping runs and granules.
    pub filter: Filter,
    /// Start times that can match: `[lo, hi)`.
    pub window: (i64, i64),
    /// Newest first.
    pub descending: bool,
    /// Rows wanted.
    pub limit: usize,
}

/// A matching row: its sort key made "bigger is better" whatever the direction, and
/// where it lives.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
struct Hit {
    rank: (i64, [u8; 16], [u8; 8]),
    part: usize,
    row: u32,
}

fn flip<const N: usize>(bytes: [u8; N]) -> [u8; N] {
    bytes.map(|b| !b)
}

/// A matching row as a scan offers it.
struct Matched {
    start: i64,
    duration: i64,
    trace: [u8; 16],
    span: [u8; 8],
    error: bool,
    part: usize,
    row: u32,
}

/// What a scan keeps of the matching rows it reads.
trait Collector {
    /// A matching row.
    fn offer(&mut self, m: Matched);
    /// Whether rows starting at best at `start` can no longer change the outcome.
    fn beyond(&self, start: i64) -> bool;
}

/// The `limit` best rows seen so far.
struct BestRows {
    heap: BinaryHeap<Reverse<Hit>>,
    limit: usize,
    descending: bool,
}

impl BestRows {
    /// Ranks a start time like [`Hit::rank`]'s first component.
    fn rank_of(&self, start: i64) -> i64 {
        if self.descending { start } else { !start }
    }

    fn into_sorted(self) -> Vec<Hit> {
        let mut hits: Vec<Hit> = self.heap.into_iter().map(|Reverse(h)| h).collect();
        hits.sort_unstable_by(|a, b| b.cmp(a));
        hits
    }
}

impl Collector for BestRows {
    fn offer(&mut self, m: Matched) {
        let rank = if self.descending {
            (m.start, m.trace, m.span)
        } else {
            (!m.start, flip(m.trace), flip(m.span))
        };
        let hit = Hit {
            rank,
            part: m.part,
            row: m.row,
        };
        if self.heap.len() < self.limit {
            self.heap.push(Reverse(hit));
        } else if self.heap.peek().is_some_and(|Reverse(worst)| hit > *worst) {
            self.heap.pop();
            self.heap.push(Reverse(hit));
        }
    }

    fn beyond(&self, start: i64) -> bool {
        self.heap.len() >= self.limit
            && self
                .heap
                .peek()
                .is_some_and(|Reverse(worst)| self.rank_of(start) < worst.rank.0)
    }
}

/// The `limit` traces whose newest matching row is newest, seen so far.
///
/// Stopping at rows older than the `limit`-th trace's newest row is exact: a trace whose
/// newest matching row is at least that new has that row in a granule the scan still
/// reads, so every trace of the answer is seen at its newest row.
struct NewestTraces {
    /// Every trace seen, with the start of its newest matching row.
    seen: HashMap<[u8; 16], i64>,
    /// The best `limit` of `seen`.
    top: BTreeSet<(i64, [u8; 16])>,
    limit: usize,
}

impl Collector for NewestTraces {
    fn offer(&mut self, m: Matched) {
        let (start, trace) = (m.start, m.trace);
        match self.seen.insert(trace, start) {
            Some(known) if known >= start => {
                self.seen.insert(trace, known);
                return;
            }
            Some(known) => {
                self.top.remove(&(known, trace));
            }
            None => {}
        }
        self.top.insert((start, trace));
        if self.top.len() > self.limit {
            self.top.pop_first();
        }
    }

    fn beyond(&self, start: i64) -> bool {
        self.top.len() >= self.limit && self.top.first().is_some_and(|(t, _)| start < *t)
    }
}

/// Span and error counts per bucket of a histogram grid.
struct Counts {
    /// Start of the first bucket.
    aligned: i64,
    width: i64,
    buckets: Vec<Bucket>,
}

impl Collector for Counts {
    fn offer(&mut self, m: Matched) {
        let i = (m.start - self.aligned) / self.width;
        if let Some(b) = usize::try_from(i)
            .ok()
            .and_then(|i| self.buckets.get_mut(i))
        {
            b.count += 1;
            b.error_count += u64::from(m.error);
        }
    }

    fn beyond(&self, _start: i64) -> bool {
        false
    }
}

/// Each trace's sort key over its matching rows: the earliest start, or the longest
/// duration.
struct TraceKeys {
    by_duration: bool,
    keys: HashMap<[u8; 16], i64>,
}

impl Collector for TraceKeys {
    fn offer(&mut self, m: Matched) {
        let (key, by_duration) = if self.by_duration {
            (m.duration, true)
        } else {
            (m.start, false)
        };
        self.keys
            .entry(m.trace)
            .and_modify(|k| {
                *k = if by_duration {
                    key.max(*k)
                } else {
                    key.min(*k)
                }
            })
            .or_insert(key);
    }

    fn beyond(&self, _start: i64) -> bool {
        false
    }
}

/// The physical predicate and the table columns it reads plus the sort keys and error flag,
/// in table order.
fn prepare(predicate: &Expr) -> Result<(Arc<dyn PhysicalExpr>, Vec<usize>), StoreError> {
    let schema = Table::Spans.schema();
    let mut names: Vec<String> = predicate
        .column_refs()
        .into_iter()
        .map(|c| c.name.clone())
        .collect();
    names.extend(
        [
            c::START_TIME,
            c::DURATION,
            c::TRACE_ID,
            c::SPAN_ID,
            c::HAS_ERROR,
        ]
        .map(String::from),
    );
    let mut indices = names
        .iter()
        .map(|n| schema.index_of(n))
        .collect::<Result<Vec<_>, _>>()
        .engine()?;
    indices.sort_unstable();
    indices.dedup();
    let projected = schema.project(&indices).engine()?;
    let df_schema = DFSchema::try_from(projected).engine()?;
    let physical = PLANNER
        .create_physical_expr(predicate.clone(), &df_schema)
        .engine()?;
    Ok((physical, indices))
}

fn downcast<'a, T: 'static>(
    batch: &'a datafusion::arrow::array::RecordBatch,
    name: &str,
) -> Result<&'a T, StoreError> {
    batch
        .column_by_name(name)
        .and_then(|a| a.as_any().downcast_ref::<T>())
        .ok_or_else(|| StoreError::Corrupt(format!("column {name} missing or mistyped")))
}

/// One granule's rows of one service run of one part: what a scan reads at a time.
struct Chunk {
    part: usize,
    rows: (u32, u32),
    /// The best start time the chunk's granule may hold (newest, or oldest ascending).
    best: i64,
}

/// The chunks worth reading (their service, time window and attribute values may match),
/// best first across every run of every part: so a collector that needs few rows stops
/// once it has them, however the rows are spread over services and parts. A granule that
/// reaches past the window is read by page (from the page index of `start_time`), only the
/// pages whose start times may fall in it, each ranked by its own start times: a granule
/// of a large part spans minutes of one service, and a narrow window or a page of results
/// after a cursor needs a page or two of it.
fn chunks_to_read(parts: &[Arc<Part>], search: &OrderedSearch) -> Result<Vec<Chunk>, StoreError> {
    let services = granule::services(&search.filter);
    let probes = granule::probes(&search.filter);
    let (lo, hi) = search.window;
    let mut chunks: Vec<Chunk> = Vec::new();
    for (part, index) in parts
        .iter()
        .enumerate()
        .filter_map(|(i, p)| p.granules.as_ref().map(|g| (i, g)))
    {
        let runs = index
            .runs
            .iter()
            .filter(|r| r.min_start < hi && r.max_start >= lo)
            .filter(|r| services.as_ref().is_none_or(|s| s.contains(&r.service)));
        let sidecar = match probes {
            Some(_) => Some(index.reader()?),
            None => None,
        };
        let mut pages: Option<Vec<StartPage>> = None;
        for run in runs {
            for rows in index.chunks(run) {
                let g = index.granule_of(rows.0);
                if g.min_start >= hi || g.max_start < lo {
                    continue;
                }
                if let (Some(p), Some(sidecar)) = (&probes, &sidecar)
                    && !sidecar.may_hold_any(g, p)?
                {
                    continue;
                }
                let best = if search.descending {
                    g.max_start
                } else {
                    g.min_start
                };
                if g.min_start >= lo && g.max_start < hi {
                    chunks.push(Chunk { part, rows, best });
                    continue;
                }
                let pages = match &mut pages {
                    Some(p) => p,
                    None => pages.insert(parts[part].start_time_pages()?),
                };
                chunks.extend(
                    pages_in_window(pages, rows, search).map(|(rows, best)| Chunk {
                        part,
                        rows,
                        best,
                    }),
                );
            }
        }
    }
    if search.descending {
        chunks.sort_by_key(|c| (Reverse(c.best), c.part, c.rows));
    } else {
        chunks.sort_by_key(|c| (c.best, c.part, c.rows));
    }
    Ok(chunks)
}

/// The pages among `pages` (a part's, in row order) within `rows` whose start times may
/// fall in the search's window, each with the best start time it may hold (unknown start
/// times rank as the window's edge).
fn pages_in_window<'a>(
    pages: &'a [StartPage],
    (first, end): (u32, u32),
    search: &'a OrderedSearch,
) -> impl Iterator<Item = ((u32, u32), i64)> + 'a {
    let (lo, hi) = search.window;
    let from = pages.partition_point(|p| p.rows.1 <= first);
    pages[from..]
        .iter()
        .take_while(move |p| p.rows.0 < end)
        .filter_map(move |p| {
            let rows = (p.rows.0.max(first), p.rows.1.min(end));
            let (min, max) = p.starts.unwrap_or((lo, hi.saturating_sub(1)));
            let in_window = min < hi && max >= lo;
            let best = if search.descending {
                max.min(hi.saturating_sub(1))
            } else {
                min.max(lo)
            };
            in_window.then_some((rows, best))
        })
}

/// Reads the chunks worth reading, best first, and offers every matching row to `into`;
/// returns whether some chunk was left unread because it could not change the outcome.
fn scan(
    parts: &[Arc<Part>],
    search: &OrderedSearch,
    into: &mut impl Collector,
) -> Result<bool, StoreError> {
    let (physical, columns) = prepare(&search.predicate)?;
    for chunk in chunks_to_read(parts, search)? {
        if into.beyond(chunk.best) {
            // Chunks come best first: no later one can do better.
            return Ok(true);
        }
        let (first, end) = chunk.rows;
        let mut row = first;
        for batch in parts[chunk.part].read_rows(&[(first, end)], Some(&columns))? {
            let batch = batch?;
            let matched = physical
                .evaluate(&batch)
                .engine()?
                .into_array(batch.num_rows())
                .engine()?;
            let matched = matched
                .as_any()
                .downcast_ref::<BooleanArray>()
                .ok_or_else(|| StoreError::Corrupt("filter is not a predicate".into()))?;
            let starts: &Int64Array = downcast(&batch, c::START_TIME)?;
            let traces: &FixedSizeBinaryArray = downcast(&batch, c::TRACE_ID)?;
            let spans: &FixedSizeBinaryArray = downcast(&batch, c::SPAN_ID)?;
            let errors: &BooleanArray = downcast(&batch, c::HAS_ERROR)?;
            let durations: &Int64Array = downcast(&batch, c::DURATION)?;
            for i in 0..batch.num_rows() {
                if matched.is_valid(i) && matched.value(i) {
                    into.offer(Matched {
                        start: starts.value(i),
                        duration: durations.value(i),
                        trace: traces.value(i).try_into().unwrap_or_default(),
                        span: spans.value(i).try_into().unwrap_or_default(),
                        error: errors.value(i),
                        part: chunk.part,
                        row: row + i as u32,
                    });
                }
            }
            row += batch.num_rows() as u32;
        }
    }
    Ok(false)
}

/// The spans at `rows` (sorted, distinct row numbers) of a part, with only the columns
/// at `columns` when given, in row order.
fn spans_at(part: &Part, rows: &[u32], columns: Option<&[usize]>) -> Result<Vec<Span>, StoreError> {
    let mut ranges: Vec<(u32, u32)> = Vec::new();
    for &r in rows {
        match ranges.last_mut() {
            Some((_, end)) if *end == r => *end += 1,
            _ => ranges.push((r, r + 1)),
        }
    }
    let mut spans = Vec::with_capacity(rows.len());
    for batch in part.read_rows(&ranges, columns)? {
        let batch = batch?;
        spans.extend(batch_to_spans(&batch)?);
    }
    if spans.len() != rows.len() {
        return Err(StoreError::Corrupt(format!(
            "part {} returned {} of {} rows",
            part.meta.id,
            spans.len(),
            rows.len()
        )));
    }
    Ok(spans)
}

/// Step 2: the rows of `hits`, whole, in the order of `hits`.
fn fetch(parts: &[Arc<Part>], hits: &[Hit]) -> Result<Vec<Span>, StoreError> {
    let mut by_part: BTreeMap<usize, Vec<u32>> = BTreeMap::new();
    for h in hits {
        by_part.entry(h.part).or_default().push(h.row);
    }
    let mut found: HashMap<(usize, u32), Span> = HashMap::with_capacity(hits.len());
    for (part, mut rows) in by_part {
        rows.sort_unstable();
        let spans = spans_at(&parts[part], &rows, None)?;
        found.extend(rows.into_iter().map(|r| (part, r)).zip(spans));
    }
    Ok(hits
        .iter()
        .filter_map(|h| found.remove(&(h.part, h.row)))
        .collect())
}

/// The best `search.limit` spans of `parts` (all with a granule index), best first.
pub(crate) fn ordered_spans(
    parts: &[Arc<Part>],
    search: &OrderedSearch,
) -> Result<Vec<Span>, StoreError> {
    let mut best = BestRows {
        heap: BinaryHeap::with_capacity(search.limit + 1),
        limit: search.limit,
        descending: search.descending,
    };
    scan(parts, search, &mut best)?;
    fetch(parts, &best.into_sorted())
}

/// The `search.limit` traces of `parts` (all with a granule index) whose newest span
/// matching the search is newest, with that span's start, newest first; and whether
/// other traces may match too. The search must be newest first.
pub(crate) fn newest_traces(
    parts: &[Arc<Part>],
    search: &OrderedSearch,
) -> Result<(Vec<(TraceId, i64)>, bool), StoreError> {
    let mut newest = NewestTraces {
        seen: HashMap::new(),
        top: BTreeSet::new(),
        limit: search.limit,
    };
    let cut_short = scan(parts, search, &mut newest)?;
    let more = cut_short || newest.seen.len() > newest.top.len();
    Ok((
        newest
            .top
            .into_iter()
            .rev()
            .map(|(t, id)| (TraceId(id), t))
            .collect(),
        more,
    ))
}

/// The spans of `parts` (all with a granule index) matching the search, counted into
/// `buckets` of the grid `(aligned start, width)`; every matching row counts, so only
/// runs, granules and values the filter rules out are skipped.
pub(crate) fn count_spans(
    parts: &[Arc<Part>],
    search: &OrderedSearch,
    (aligned, width): (i64, i64),
    buckets: Vec<Bucket>,
) -> Result<Vec<Bucket>, StoreError> {
    let mut counts = Counts {
        aligned,
        width,
        buckets,
    };
    scan(parts, search, &mut counts)?;
    Ok(counts.buckets)
}

/// Every trace of `parts` (all with a granule index) with a span matching the search, with
/// its key over those spans: the earliest start, or with `by_duration` the longest duration.
pub(crate) fn trace_keys(
    parts: &[Arc<Part>],
    search: &OrderedSearch,
    by_duration: bool,
) -> Result<HashMap<TraceId, i64>, StoreError> {
    let mut keys = TraceKeys {
        by_duration,
        keys: HashMap::new(),
    };
    scan(parts, search, &mut keys)?;
    Ok(keys
        .keys
        .into_iter()
        .map(|(t, k)| (TraceId(t), k))
        .collect())
}

/// All spans of `traces` in `parts` (all with a granule index), or only those whose id
/// is in `only`, with only the table columns at `columns` when given. Only the granules
/// whose start times overlap a trace's and whose filter may hold it (from the part's
/// granule index) are read, of those only the pages whose start times overlap it (from the
/// page index), and their other columns only for the trace's rows.
///
/// A trace's spans sit in the runs of its services, so in a large part each in a row group
/// of its own (eight of them for the bench's traces at 16M spans), and a row group's read
/// has a cost of its own in every column (a codec, a dictionary, a page): the row groups
/// are read side by side, one share per core.
pub(crate) fn trace_spans(
    parts: &[Arc<Part>],
    traces: &[TraceId],
    only: Option<&[SpanId]>,
    columns: Option<&[usize]>,
) -> Result<Vec<Span>, StoreError> {
    let traces: Vec<[u8; 16]> = traces.iter().map(|t| t.0).collect();
    let only: Option<Vec<[u8; 8]>> = only.map(|s| s.iter().map(|s| s.0).collect());
    let mut reads: Vec<(&Part, Vec<(u32, u32)>)> = Vec::new();
    for part in parts {
        let Some(index) = &part.granules else {
            continue;
        };
        let held = part.trace_positions(&traces);
        if held.is_empty() {
            continue;
        }
        let sidecar = index.reader()?;
        let ranges = sidecar.trace_ranges(&held)?;
        let chunks =
            part.rows_starting_during(&sidecar.chunks_holding(&ranges, &traces)?, &ranges)?;
        let groups = part.ranges_by_row_group(&chunks)?;
        reads.extend(groups.into_iter().map(|rows| (part.as_ref(), rows)));
    }
    side_by_side(&reads, |share| {
        let mut out = Vec::new();
        for same_part in share.chunk_by(|a, b| std::ptr::eq(a.0, b.0)) {
            let rows: Vec<(u32, u32)> = same_part.iter().flat_map(|(_, r)| r.clone()).collect();
            for batch in
                same_part[0]
                    .0
                    .read_traces(Some(&rows), &traces, only.as_deref(), columns)?
            {
                out.extend(batch_to_spans(&batch)?);
            }
        }
        Ok(out)
    })
}

/// Runs `work` over `units` cut into one contiguous share per core (at most one a unit),
/// each share on a thread of its own but the first, which runs on this one; the results
/// in the order of `units`.
fn side_by_side<U: Sync, T: Send>(
    units: &[U],
    work: impl Fn(&[U]) -> Result<Vec<T>, StoreError> + Sync,
) -> Result<Vec<T>, StoreError> {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let threads = cores.min(units.len()).max(1);
    if threads == 1 {
        return work(units);
    }
    let mut shares = units.chunks(units.len().div_ceil(threads));
    let first = shares.next().unwrap_or_default();
    std::thread::scope(|scope| {
        let others: Vec<_> = shares.map(|share| scope.spawn(|| work(share))).collect();
        let mut out = work(first)?;
        for other in others {
            let part = other
                .join()
                .map_err(|_| StoreError::Backend("a read's thread panicked".into()))??;
            out.extend(part);
        }
        Ok(out)
    })
}

#[cfg(test)]
mod tests {
    use datafusion::prelude::lit;
    use tracehouse_query::Filter;

    use super::*;

    fn search(window: (i64, i64), descending: bool) -> OrderedSearch {
        OrderedSearch {
            predicate: lit(true),
            filter: Filter::True,
            window,
            descending,
            limit: 10,
        }
    }

    /// Pages of 10 rows; the fourth's start times are unknown.
    fn pages() -> Vec<StartPage> {
        let starts = [
            Some((90, 99)),
            Some((70, 89)),
            Some((50, 69)),
            None,
            Some((0, 9)),
        ];
        starts
            .iter()
            .enumerate()
            .map(|(i, &starts)| StartPage {
                rows: (i as u32 * 10, i as u32 * 10 + 10),
                starts,
            })
            .collect()
    }

    #[test]
    fn a_trace_in_four_row_groups_reads_whole_and_in_row_order() {
        let (_dir, part, spans) = crate::storage::part::tests::heavy_part();
        let read = trace_spans(&[part], &[TraceId([1; 16])], None, None).expect("read");
        let ids: Vec<SpanId> = read.iter().map(|s| s.span_id).collect();
        let expected: Vec<SpanId> = spans.iter().map(|s| s.span_id).collect();
        assert_eq!(ids, expected);
    }

    #[test]
    fn side_by_side_keeps_the_order_of_its_units_and_passes_errors_on() {
        let units: Vec<u32> = (0..10).collect();
        let doubled = side_by_side(&units, |share| Ok(share.iter().map(|u| u * 2).collect()));
        assert_eq!(
            doubled.expect("runs"),
            (0..10).map(|u| u * 2).collect::<Vec<_>>()
        );
        let failed = side_by_side(&units, |share| {
            if share.contains(&9) {
                Err(StoreError::Corrupt("nine".into()))
            } else {
                Ok(share.to_vec())
            }
        });
        assert!(matches!(failed, Err(StoreError::Corrupt(m)) if m == "nine"));
        let none: Vec<u32> = side_by_side(&[], |share: &[u32]| Ok(share.to_vec())).expect("runs");
        assert!(none.is_empty());
    }

    #[test]
    fn only_pages_that_may_start_in_the_window_are_read_each_ranked_by_its_own_times() {
        let pages = pages();
        let newest: Vec<_> = pages_in_window(&pages, (0, 50), &search((60, 95), true)).collect();
        assert_eq!(
            newest,
            vec![
                ((0, 10), 94),
                ((10, 20), 89),
                ((20, 30), 69),
                ((30, 40), 94)
            ]
        );
        let oldest: Vec<_> = pages_in_window(&pages, (0, 50), &search((60, 95), false)).collect();
        assert_eq!(oldest[0], ((0, 10), 90));
        assert_eq!(oldest[2], ((20, 30), 60));
        assert_eq!(
            oldest[3],
            ((30, 40), 60),
            "unknown times rank as the window's edge"
        );
        let within: Vec<_> = pages_in_window(&pages, (15, 35), &search((0, 100), true)).collect();
        assert_eq!(within, vec![((15, 20), 89), ((20, 30), 69), ((30, 35), 99)]);
        assert_eq!(
            pages_in_window(&pages, (40, 50), &search((60, 95), true)).count(),
            0
        );
    }
}
