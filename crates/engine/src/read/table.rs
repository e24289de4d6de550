//! The reads of one table that use its live state directly rather than a query: snapshots,
//! unfiltered histograms from the per-minute counts, key/value statistics, span metrics, and a trace's
//! spans by id (through each part's trace index).

use std::collections::BTreeMap;
use std::sync::Arc;

use datafusion::arrow::array::{BooleanArray, RecordBatch};
use datafusion::arrow::compute::filter_record_batch;
use tracehouse_model::{Span, TraceId};
use tracehouse_query::{Field, Filter};
use tracehouse_store_api::metrics::{SpanMetrics, SpanMetricsAnswer, SpanMetricsQuery, aggregate};
use tracehouse_store_api::redelivery::fold_identical;
use tracehouse_store_api::stats::{FilteredQuery, KeyStats, MINUTE_NS, is_absent};
use tracehouse_store_api::structure::{bucket_of, empty_buckets};
use tracehouse_store_api::{Histogram, HistogramQuery};

use crate::error::{EngineResult, StoreError};
use crate::read::query::Snapshot;
use crate::read::search::count_into;
use crate::storage::part::Part;
use crate::storage::schema::{Columns, batch_to_spans, col as c};
use crate::storage::{HOUR_NS, blocking};
use crate::table_engine::TableEngine;
use crate::write::memtable::TableState;

impl TableEngine {
    /// A consistent view of the memtable and the live parts.
    pub(crate) fn snapshot(&self) -> Snapshot {
        self.snapshot_of(&self.state.read())
    }

    fn snapshot_of(&self, st: &TableState) -> Snapshot {
        Snapshot {
            table: self.table,
            memtable: st.mem.batches(),
            parts: st.parts.clone(),
            runtime: self.runtime.clone(),
        }
    }

    /// A histogram of every span of a project from the per-minute counts of the statistics:
    /// whole minutes come from the counts, the partial minutes at the range's edges from a
    /// scan. `None` when the counts cannot answer: a filter or structure, buckets narrower
    /// than a minute, a range inside one minute, or statistics written before minutes were
    /// counted.
    pub(crate) async fn histogram_from_minutes(
        &self,
        q: &HistogramQuery,
    ) -> Result<Option<Histogram>, StoreError> {
        if q.traces || q.plan.structure.is_some() || q.plan.pushdown != Filter::True {
            return Ok(None);
        }
        let (aligned, width, mut buckets) = empty_buckets(q.start_ns, q.end_ns, q.buckets)?;
        let first_minute =
            q.start_ns.div_euclid(MINUTE_NS) + i64::from(q.start_ns.rem_euclid(MINUTE_NS) != 0);
        let end_minute = q.end_ns.div_euclid(MINUTE_NS);
        if width % MINUTE_NS != 0 || first_minute >= end_minute {
            return Ok(None);
        }
        let overlaps = hours_overlapping(q.start_ns, q.end_ns);
        let mut minutes = KeyStats::default();
        let snap = {
            let st = self.state.read();
            for p in &st.parts {
                if p.meta.project_id == q.project_id && overlaps(p.meta.hour) {
                    if p.stats.minute_total() != p.meta.rows {
                        return Ok(None);
                    }
                    minutes.merge_minutes(&p.stats);
                }
            }
            let mem = st.mem.stats();
            let counted: u64 = mem
                .iter()
                .flat_map(|m| m.values())
                .map(KeyStats::minute_total)
                .sum();
            if counted != st.mem.waiting().0 as u64 {
                return Ok(None);
            }
            for ((project, hour), stats) in mem.iter().flat_map(|m| m.iter()) {
                if *project == q.project_id && overlaps(*hour) {
                    minutes.merge_minutes(stats);
                }
            }
            self.snapshot_of(&st)
        };
        for (minute, c) in minutes.minutes.range(first_minute..end_minute) {
            let i = bucket_of(
                minute.saturating_mul(MINUTE_NS),
                aligned,
                width,
                buckets.len(),
            );
            if let Some(b) = i.and_then(|i| buckets.get_mut(i)) {
                b.count += c.spans;
                b.error_count += c.errors;
            }
        }
        let edges = [
            (q.start_ns, first_minute * MINUTE_NS),
            (end_minute * MINUTE_NS, q.end_ns),
        ];
        for range in edges.into_iter().filter(|(a, b)| a < b) {
            let grid = (aligned, width);
            count_into(
                &snap,
                &q.project_id,
                &Filter::True,
                range,
                grid,
                &mut buckets,
            )
            .await?;
        }
        Ok(Some(Histogram {
            width_ns: width,
            buckets,
            candidates_truncated: false,
        }))
    }

    /// Key/value statistics of a project over the hours overlapping `[start_ns, end_ns)`,
    /// merged from the parts' sidecars and the memtable's running statistics.
    pub(crate) fn stats_in(&self, project_id: &str, start_ns: i64, end_ns: i64) -> KeyStats {
        let overlaps = hours_overlapping(start_ns, end_ns);
        let mut out = KeyStats::default();
        let st = self.state.read();
        for p in &st.parts {
            if p.meta.project_id == project_id && overlaps(p.meta.hour) {
                out.merge(&p.stats);
            }
        }
        for stats in st.mem.stats() {
            for ((project, hour), s) in stats {
                if project == project_id && overlaps(*hour) {
                    out.merge(s);
                }
            }
        }
        out
    }

    /// Span metrics of a project from the cells of the statistics (the parts' sidecars,
    /// merged per hour in [`crate::storage::cells::PartitionCells`], and the memtable's running statistics) of the
    /// hours overlapping the range, for a checked query the cells answer
    /// ([`SpanMetricsQuery::from_cells`]). Reads sidecars: call it off the async workers.
    pub(crate) fn span_metrics(
        &self,
        q: &SpanMetricsQuery,
    ) -> Result<SpanMetricsAnswer, StoreError> {
        let overlaps = hours_overlapping(q.start_ns, q.end_ns);
        let (by_hour, mem) = {
            let st = self.state.read();
            let mut by_hour: BTreeMap<i64, Vec<Arc<Part>>> = BTreeMap::new();
            for p in &st.parts {
                if p.meta.project_id == q.project_id && overlaps(p.meta.hour) {
                    by_hour.entry(p.meta.hour).or_default().push(p.clone());
                }
            }
            let mem: Vec<SpanMetrics> = st
                .mem
                .stats()
                .into_iter()
                .flat_map(|m| m.iter())
                .filter(|((project, hour), _)| *project == q.project_id && overlaps(*hour))
                .map(|(_, s)| s.metrics.clone())
                .collect();
            (by_hour, mem)
        };
        let parts = by_hour
            .into_iter()
            .map(|(hour, parts)| self.cells.of(&(q.project_id.clone(), hour), &parts))
            .collect::<Result<Vec<_>, _>>()?;
        let cells = parts.iter().map(|c| c.as_ref()).chain(&mem);
        Ok(aggregate(q, cells.flat_map(SpanMetrics::cells)))
    }

    /// A search or histogram with its plan folded for `snap`: `Exists` of the attributes
    /// that no row of the project has in the hours overlapping the window folded to false
    /// ([`tracehouse_query::Plan::without_absent`]), which lets `service:x` use the
    /// service-sorted parts and a structure read no attribute columns when no span has an
    /// attribute `service`. A key counts as present when the snapshot's parts or the table
    /// as it is now (memtable and parts) have it, so every row of the snapshot is covered
    /// even if it was flushed or retired meanwhile.
    pub(crate) fn folded<Q: FilteredQuery>(&self, snap: &Snapshot, q: &Q) -> Q {
        let overlaps = hours_overlapping(q.window().0, q.window().1);
        let project_id = q.project_id();
        let st = self.state.read();
        let parts: Vec<&KeyStats> = snap
            .parts
            .iter()
            .chain(&st.parts)
            .filter(|p| p.meta.project_id == project_id && overlaps(p.meta.hour))
            .map(|p| &p.stats)
            .collect();
        let mem: Vec<&KeyStats> = st
            .mem
            .stats()
            .into_iter()
            .flat_map(|m| m.iter())
            .filter(|((project, hour), _)| project == project_id && overlaps(*hour))
            .map(|(_, s)| s)
            .collect();
        let has = |k: &str| parts.iter().chain(&mem).any(|s| s.keys.contains_key(k));
        let mut q = q.clone();
        q.fold_absent(&|field: &Field| is_absent(field, has));
        q
    }

    /// The spans of one trace, from the memtable and the parts that may hold it.
    pub(crate) async fn read_trace(
        &self,
        project_id: &str,
        trace_id: TraceId,
    ) -> Result<Vec<Span>, StoreError> {
        let snap = self.snapshot();
        let parts: Vec<Arc<Part>> = snap
            .parts
            .iter()
            .filter(|p| p.meta.project_id == project_id && p.may_contain(&trace_id.0))
            .cloned()
            .collect();
        let memtable = snap.memtable.clone();
        let project = project_id.to_string();
        let from_parts = blocking(move || {
            let mut out = memtable_trace(&memtable, &project, &trace_id.0)?;
            let (indexed, older): (Vec<Arc<Part>>, Vec<Arc<Part>>) =
                parts.into_iter().partition(|p| p.granules.is_some());
            out.extend(crate::read::scan::trace_spans(
                &indexed,
                &[trace_id],
                None,
                None,
            )?);
            for part in &older {
                for batch in part.read_traces(None, &[trace_id.0], None, None)? {
                    out.extend(batch_to_spans(&batch)?);
                }
            }
            Ok(out)
        })
        .await?;
        let mut spans = from_parts;
        fold_identical(&mut spans);
        Ok(spans)
    }
}

/// The spans of one trace among the memtable's batches, by start time: a pass over their
/// trace ids, without a query plan (a trace read is a few milliseconds, and planning one
/// with DataFusion, even over an empty memtable, took a noticeable share of it).
fn memtable_trace(
    batches: &[RecordBatch],
    project_id: &str,
    trace_id: &[u8; 16],
) -> Result<Vec<Span>, StoreError> {
    let mut spans = Vec::new();
    for batch in batches {
        let columns = Columns(batch);
        let (ids, projects) = (columns.fsb(c::TRACE_ID)?, columns.str(c::PROJECT_ID)?);
        let hits: BooleanArray = (0..batch.num_rows())
            .map(|row| Some(ids.value(row) == trace_id && projects.value(row) == project_id))
            .collect();
        if hits.true_count() > 0 {
            spans.extend(batch_to_spans(
                &filter_record_batch(batch, &hits).engine()?,
            )?);
        }
    }
    spans.sort_by_key(|s| s.start_time_unix_nano);
    Ok(spans)
}

/// Whether an hour partition overlaps `[start_ns, end_ns)`.
fn hours_overlapping(start_ns: i64, end_ns: i64) -> impl Fn(i64) -> bool {
    move |hour| {
        hour.saturating_mul(HOUR_NS) < end_ns
            && hour.saturating_add(1).saturating_mul(HOUR_NS) > start_ns
    }
}
