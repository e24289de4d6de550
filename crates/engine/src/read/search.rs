//! Search, trace search and histograms over a [`Snapshot`] of the embedded store.
//!
//! Plain filter queries run entirely in DataFusion: the plan's pushdown filter (compiled by
//! [`crate::read::filter`]) plus project and time bounds, with sorting, cursors and limits done
//! by the engine (a top-k sort for the common "newest first" page).
//!
//! Structural queries (and pipelines) run in two steps: the pushdown filter finds the
//! newest [`MAX_CANDIDATE_TRACES`] traces with a span in the window that can take part in
//! a match, all spans of those traces are fetched (through the trace index of the parts),
//! and the structure is evaluated per trace with [`tracehouse_query::eval_plan`]. The
//! structure is evaluated on the whole trace; the spans it selects are then limited to
//! the time window.

use std::cmp::Reverse;
use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;

use datafusion::arrow::array::{Array, FixedSizeBinaryArray, Int64Array, RecordBatch};
use datafusion::functions_aggregate::expr_fn::{count, max, min, sum};
use datafusion::logical_expr::SortExpr;
use datafusion::prelude::{Expr, cast, col, lit};
use tracehouse_model::{Span, SpanId, TraceId};
use tracehouse_query::plan::Target;
use tracehouse_query::{Field, Plan, Structure};

use crate::error::{EngineResult, StoreError};
use crate::read::filter::{compile, field_columns, value_order};
use crate::read::query::{Snapshot, id_lit, project_is};
use crate::read::scan::{
    OrderedSearch, count_spans, newest_traces, ordered_spans, trace_keys, trace_spans,
};
use crate::storage::part::Part;
use crate::storage::schema::{batch_to_spans, col as c};
use crate::storage::{blocking, granule};
use tracehouse_store_api::sort::{key_order, offset_page, refuse_key_order};
use tracehouse_store_api::structure::{
    Evaluated, check_cursor, count_matched, cursor_of, empty_buckets, evaluate_candidates,
    page_settled, plain_summaries, span_page, trace_page,
};
use tracehouse_store_api::{
    Histogram, HistogramQuery, MAX_CANDIDATE_TRACES, SearchCursor, SearchPage, SearchQuery,
    SearchSort, TracePage,
};

/// Project and time-window bounds.
pub(crate) fn window(project_id: &str, start_ns: i64, end_ns: i64) -> Expr {
    project_is(project_id)
        .and(col(c::START_TIME).gt_eq(lit(start_ns)))
        .and(col(c::START_TIME).lt(lit(end_ns)))
}

fn sort_key_column(sort: SearchSort) -> &'static str {
    if sort.by_duration() {
        c::DURATION
    } else {
        c::START_TIME
    }
}

/// Rows strictly after `cursor` in its order, over (key column, trace id[, span id]).
fn after(cursor: &SearchCursor, key: Expr, with_span: bool) -> Expr {
    let desc = cursor.sort.descending();
    let beyond = |a: Expr, b: Expr| if desc { a.lt(b) } else { a.gt(b) };
    let trace = col(c::TRACE_ID);
    let t = id_lit(&cursor.trace_id.0);
    let tail = if with_span {
        beyond(trace.clone(), t.clone()).or(trace
            .eq(t)
            .and(beyond(col(c::SPAN_ID), id_lit(&cursor.span_id.0))))
    } else {
        beyond(trace, t)
    };
    beyond(key.clone(), lit(cursor.key)).or(key.eq(lit(cursor.key)).and(tail))
}

fn downcast<T: 'static>(batch: &RecordBatch, i: usize) -> Result<&T, StoreError> {
    batch
        .column(i)
        .as_any()
        .downcast_ref::<T>()
        .ok_or_else(|| StoreError::Corrupt(format!("unexpected type of result column {i}")))
}

fn trace_id_at(ids: &FixedSizeBinaryArray, row: usize) -> Result<TraceId, StoreError> {
    TraceId::from_bytes(ids.value(row)).map_err(|e| StoreError::Corrupt(e.to_string()))
}

/// A page of spans for a plain filter query.
pub(crate) async fn search_spans(
    snap: &Snapshot,
    q: &SearchQuery,
) -> Result<SearchPage, StoreError> {
    check_cursor(q)?;
    if let Some((key, offset)) = key_order(q)? {
        return key_ordered_spans(snap, q, key, offset).await;
    }
    if q.plan.structure.is_some() {
        return structural_spans(snap, q).await;
    }
    let parts = snap.parts_in(&q.project_id, q.start_ns, q.end_ns);
    let mut filter = window(&q.project_id, q.start_ns, q.end_ns).and(compile(&q.plan.pushdown));
    if let Some(cur) = &q.cursor {
        filter = filter.and(after(cur, col(sort_key_column(q.sort)), true));
    }
    let desc = q.sort.descending();
    let sort: Vec<SortExpr> = vec![
        col(sort_key_column(q.sort)).sort(!desc, false),
        col(c::TRACE_ID).sort(!desc, false),
        col(c::SPAN_ID).sort(!desc, false),
    ];
    let (indexed, others): (Vec<&Arc<Part>>, Vec<&Arc<Part>>) = if q.sort.by_duration() {
        (Vec::new(), parts)
    } else {
        parts.into_iter().partition(|p| p.granules.is_some())
    };
    let mut spans = if indexed.is_empty() {
        Vec::new()
    } else {
        ordered(indexed, filter.clone(), q).await?
    };
    if !others.is_empty() || has_rows(snap) {
        spans.extend(snap.spans(&others, filter, sort, Some(q.limit + 1)).await?);
        let key = |s: &Span| {
            let k = if q.sort.by_duration() {
                s.duration_nanos
            } else {
                s.start_time_unix_nano
            };
            (k, s.trace_id.0, s.span_id.0)
        };
        spans.sort_by(|a, b| {
            if desc {
                key(b).cmp(&key(a))
            } else {
                key(a).cmp(&key(b))
            }
        });
        spans.truncate(q.limit + 1);
    }
    let next_cursor = if spans.len() > q.limit {
        spans.truncate(q.limit);
        spans.last().map(|s| cursor_of(q.sort, s))
    } else {
        None
    };
    Ok(SearchPage {
        spans,
        next_cursor,
        candidates_truncated: false,
    })
}

/// A page of spans ordered by the value of `key` ([`tracehouse_store_api::sort`]),
/// `offset` rows in.
async fn key_ordered_spans(
    snap: &Snapshot,
    q: &SearchQuery,
    key: &Field,
    offset: usize,
) -> Result<SearchPage, StoreError> {
    let parts = snap.parts_in(&q.project_id, q.start_ns, q.end_ns);
    let filter = window(&q.project_id, q.start_ns, q.end_ns).and(compile(&q.plan.pushdown));
    let desc = q.sort.descending();
    let mut sort = value_order(key, Target::Spans, desc);
    sort.push(col(c::TRACE_ID).sort(!desc, false));
    sort.push(col(c::SPAN_ID).sort(!desc, false));
    let rows = snap
        .spans(&parts, filter, sort, Some(offset + q.limit + 1))
        .await?;
    let spans: Vec<Span> = rows.into_iter().skip(offset).collect();
    Ok(offset_page(spans, q, offset))
}

/// The page of a time-ordered search over parts with a granule index ([`crate::read::scan`]).
async fn ordered(
    parts: Vec<&Arc<Part>>,
    filter: Expr,
    q: &SearchQuery,
) -> Result<Vec<Span>, StoreError> {
    let desc = q.sort.descending();
    let (mut lo, mut hi) = (q.start_ns, q.end_ns);
    if let Some(cur) = &q.cursor {
        // Rows on the cursor's key may still follow it (ties break on the ids).
        if desc {
            hi = hi.min(cur.key.saturating_add(1));
        } else {
            lo = lo.max(cur.key);
        }
    }
    let search = OrderedSearch {
        predicate: filter,
        filter: q.plan.pushdown.clone(),
        window: (lo, hi),
        descending: desc,
        limit: q.limit + 1,
    };
    let parts: Vec<Arc<Part>> = parts.into_iter().cloned().collect();
    blocking(move || ordered_spans(&parts, &search)).await
}

/// The traces (newest activity first) with a span in the window that matches `filter`,
/// at most `cap`, each with the start of its newest such span; and whether there were more. Parts with a granule index are searched
/// run by run ([`crate::read::scan::newest_traces`]), the memtable and older parts with
/// DataFusion; the two answers are merged.
async fn candidate_traces(
    snap: &Snapshot,
    project_id: &str,
    (start_ns, end_ns): (i64, i64),
    plan: &Plan,
    cap: usize,
) -> Result<(Vec<(TraceId, i64)>, bool), StoreError> {
    let pushdown = compile(&plan.pushdown);
    let filter = window(project_id, start_ns, end_ns).and(pushdown);
    let (indexed, others) = split_indexed(snap.parts_in(project_id, start_ns, end_ns));
    let mut found: Vec<(TraceId, i64)> = Vec::new();
    let mut more = false;
    if !indexed.is_empty() {
        let search = OrderedSearch {
            predicate: filter.clone(),
            filter: plan.pushdown.clone(),
            window: (start_ns, end_ns),
            descending: true,
            limit: cap,
        };
        let (traces, cut_short) = blocking(move || newest_traces(&indexed, &search)).await?;
        found.extend(traces);
        more |= cut_short;
    }
    if !others.is_empty() || has_rows(snap) {
        let (_ctx, df) = snap.frame(&others).await?;
        let batches = df
            .filter(filter)
            .engine()?
            .aggregate(
                vec![col(c::TRACE_ID)],
                vec![max(col(c::START_TIME)).alias("t")],
            )
            .engine()?
            .sort(vec![
                col("t").sort(false, false),
                col(c::TRACE_ID).sort(false, false),
            ])
            .engine()?
            .limit(0, Some(cap + 1))
            .engine()?
            .collect()
            .await
            .engine()?;
        for b in &batches {
            let ids: &FixedSizeBinaryArray = downcast(b, 0)?;
            let newest: &Int64Array = downcast(b, 1)?;
            for row in 0..b.num_rows() {
                found.push((trace_id_at(ids, row)?, newest.value(row)));
            }
        }
    }
    // A trace may have matching spans on both sides: keep its newest.
    let mut newest: HashMap<TraceId, i64> = HashMap::with_capacity(found.len());
    for (id, t) in found {
        let e = newest.entry(id).or_insert(t);
        *e = (*e).max(t);
    }
    let mut ranked: Vec<(i64, TraceId)> = newest.into_iter().map(|(id, t)| (t, id)).collect();
    ranked.sort_unstable_by_key(|r| Reverse((r.0, r.1.0)));
    more |= ranked.len() > cap;
    ranked.truncate(cap);
    Ok((ranked.into_iter().map(|(t, id)| (id, t)).collect(), more))
}

/// Splits parts into those with a granule index (owned, for a blocking task) and the rest.
fn split_indexed(parts: Vec<&Arc<Part>>) -> (Vec<Arc<Part>>, Vec<&Arc<Part>>) {
    let (indexed, others): (Vec<&Arc<Part>>, Vec<&Arc<Part>>) =
        parts.into_iter().partition(|p| p.granules.is_some());
    (indexed.into_iter().cloned().collect(), others)
}

/// Whether the snapshot's memtable holds any row.
fn has_rows(snap: &Snapshot) -> bool {
    snap.memtable.iter().any(|b| b.num_rows() > 0)
}

/// The columns of the spans table that evaluating `structure` reads: those of the fields
/// it names, plus what every evaluation and trace summary needs (ids and parent links,
/// times, service and name, the error flag).
fn structure_columns(structure: &Structure) -> Vec<&'static str> {
    let mut columns = vec![
        c::TRACE_ID,
        c::SPAN_ID,
        c::PARENT_SPAN_ID,
        c::START_TIME,
        c::END_TIME,
        c::DURATION,
        c::SERVICE_NAME,
        c::NAME,
        c::HAS_ERROR,
    ];
    for field in structure.fields() {
        columns.extend(field_columns(field, Target::Spans));
    }
    columns.sort_unstable();
    columns.dedup();
    columns
}

/// All spans of the given traces (with `only`, just those spans), grouped per trace (each
/// in start order); with `columns`, only those are read (see
/// [`crate::storage::schema::batch_to_spans`] for what may be left out).
/// Parts with a granule index are read where each trace's time range says its rows are
/// ([`crate::read::scan::trace_spans`]); the memtable and older parts through DataFusion.
pub(crate) async fn fetch_traces(
    snap: &Snapshot,
    project_id: &str,
    ids: &[TraceId],
    only: Option<&[SpanId]>,
    columns: Option<&[&str]>,
) -> Result<HashMap<TraceId, Vec<Span>>, StoreError> {
    let mut out: HashMap<TraceId, Vec<Span>> = HashMap::with_capacity(ids.len());
    if ids.is_empty() {
        return Ok(out);
    }
    let parts: Vec<&Arc<Part>> = snap
        .parts
        .iter()
        .filter(|p| p.meta.project_id == project_id && ids.iter().any(|t| p.may_contain(&t.0)))
        .collect();
    let (indexed, others) = split_indexed(parts);
    let mut spans = Vec::new();
    if !indexed.is_empty() {
        let schema = crate::storage::table::Table::Spans.schema();
        let indices: Option<Vec<usize>> = columns
            .map(|names| names.iter().map(|n| schema.index_of(n)).collect())
            .transpose()
            .engine()?;
        let wanted = ids.to_vec();
        let only = only.map(<[SpanId]>::to_vec);
        spans =
            blocking(move || trace_spans(&indexed, &wanted, only.as_deref(), indices.as_deref()))
                .await?;
    }
    if !others.is_empty() || has_rows(snap) {
        let list: Vec<Expr> = ids.iter().map(|t| id_lit(&t.0)).collect();
        let mut filter = project_is(project_id).and(col(c::TRACE_ID).in_list(list, false));
        if let Some(only) = only {
            let list: Vec<Expr> = only.iter().map(|s| id_lit(&s.0)).collect();
            filter = filter.and(col(c::SPAN_ID).in_list(list, false));
        }
        let (_ctx, df) = snap.frame(&others).await?;
        let mut df = df.filter(filter).engine()?;
        if let Some(columns) = columns {
            df = df.select_columns(columns).engine()?;
        }
        for b in &df.collect().await.engine()? {
            spans.extend(batch_to_spans(b)?);
        }
    }
    for s in spans {
        out.entry(s.trace_id).or_default().push(s);
    }
    for spans in out.values_mut() {
        spans.sort_by(|a, b| {
            (a.start_time_unix_nano, a.span_id.0).cmp(&(b.start_time_unix_nano, b.span_id.0))
        });
    }
    Ok(out)
}

/// Evaluates a structural plan on the candidate traces ([`evaluate_candidates`]): they are
/// read with only the columns the structure needs, so the spans come back without the
/// heavy columns it does not name.
async fn evaluate_structural(
    snap: &Snapshot,
    project_id: &str,
    plan: &Plan,
    window: (i64, i64),
    settled: impl Fn(&[Evaluated], i64) -> bool,
) -> Result<(Vec<Evaluated>, bool), StoreError> {
    let (candidates, truncated) =
        candidate_traces(snap, project_id, window, plan, MAX_CANDIDATE_TRACES).await?;
    let columns = plan.structure.as_ref().map(structure_columns);
    let columns = columns.as_deref();
    let fetch = |ids: Vec<TraceId>| async move {
        fetch_traces(snap, project_id, &ids, None, columns).await
    };
    let evaluated = evaluate_candidates(plan, &candidates, window, fetch, settled).await?;
    Ok((evaluated, truncated))
}

/// A page of the spans matching a structural query; the page's spans are then read whole.
async fn structural_spans(snap: &Snapshot, q: &SearchQuery) -> Result<SearchPage, StoreError> {
    let window = (q.start_ns, q.end_ns);
    let (evaluated, truncated) =
        evaluate_structural(snap, &q.project_id, &q.plan, window, |e, next| {
            page_settled(e, q, false, next)
        })
        .await?;
    let mut page = span_page(evaluated, q, truncated);
    let ids: Vec<TraceId> = page
        .spans
        .iter()
        .map(|s| s.trace_id)
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    let page_spans: Vec<SpanId> = page.spans.iter().map(|s| s.span_id).collect();
    let whole = fetch_traces(snap, &q.project_id, &ids, Some(&page_spans), None).await?;
    for span in &mut page.spans {
        if let Some(full) = whole
            .get(&span.trace_id)
            .and_then(|t| t.iter().find(|s| s.span_id == span.span_id))
        {
            span.clone_from(full);
        }
    }
    Ok(page)
}

/// A page of traces.
pub(crate) async fn search_traces(
    snap: &Snapshot,
    q: &SearchQuery,
) -> Result<TracePage, StoreError> {
    check_cursor(q)?;
    refuse_key_order(q, "trace search")?;
    let zero = SpanId([0; 8]);
    if q.plan.structure.is_some() {
        let window = (q.start_ns, q.end_ns);
        let (evaluated, truncated) =
            evaluate_structural(snap, &q.project_id, &q.plan, window, |e, next| {
                page_settled(e, q, true, next)
            })
            .await?;
        return Ok(trace_page(evaluated, q, truncated));
    }

    let filter = window(&q.project_id, q.start_ns, q.end_ns).and(compile(&q.plan.pushdown));
    let parts = snap.parts_in(&q.project_id, q.start_ns, q.end_ns);
    // Granules pay when their value filters skip most rows (see `count_into`).
    let all_indexed = !parts.is_empty()
        && parts.iter().all(|p| p.granules.is_some())
        && granule::probes(&q.plan.pushdown).is_some();
    let mut page = if all_indexed {
        // Every trace's key is needed before paging (a key is a minimum or maximum over
        // the trace's rows, which can be anywhere): count them from the granules, merge the
        // memtable's, then page.
        let search = OrderedSearch {
            predicate: filter.clone(),
            filter: q.plan.pushdown.clone(),
            window: (q.start_ns, q.end_ns),
            descending: true,
            limit: usize::MAX,
        };
        let (indexed, _) = split_indexed(parts);
        let by_duration = q.sort.by_duration();
        let mut keys = blocking(move || trace_keys(&indexed, &search, by_duration)).await?;
        if has_rows(snap) {
            for (id, k) in trace_keys_df(snap, &[], filter, q, false).await? {
                keys.entry(id)
                    .and_modify(|e| *e = if by_duration { k.max(*e) } else { k.min(*e) })
                    .or_insert(k);
            }
        }
        let mut page: Vec<(TraceId, i64)> = keys
            .into_iter()
            .filter(|(id, k)| {
                q.cursor
                    .as_ref()
                    .is_none_or(|cur| cur.is_before(*k, id, &zero))
            })
            .collect();
        page.sort_unstable_by_key(|(id, k)| (*k, id.0));
        if q.sort.descending() {
            page.reverse();
        }
        page.truncate(q.limit + 1);
        page
    } else {
        trace_keys_df(snap, &parts, filter, q, true).await?
    };
    let more = page.len() > q.limit;
    page.truncate(q.limit);
    let next_cursor = more
        .then(|| page.last())
        .flatten()
        .map(|(t, k)| SearchCursor {
            sort: q.sort,
            key: *k,
            trace_id: *t,
            span_id: zero,
        });
    let ids: Vec<TraceId> = page.iter().map(|(t, _)| *t).collect();
    let traces = fetch_traces(snap, &q.project_id, &ids, None, None).await?;
    Ok(TracePage {
        traces: plain_summaries(&ids, &traces, q),
        next_cursor,
        candidates_truncated: false,
    })
}

/// Each trace with a span matching `filter` in `parts` and the memtable, with its key (the
/// earliest start, or the longest duration); with `paged`, only the page after the cursor,
/// in the query's order, one more than its limit.
async fn trace_keys_df(
    snap: &Snapshot,
    parts: &[&Arc<Part>],
    filter: Expr,
    q: &SearchQuery,
    paged: bool,
) -> Result<Vec<(TraceId, i64)>, StoreError> {
    let (_ctx, df) = snap.frame(parts).await?;
    let key = if q.sort.by_duration() {
        max(col(c::DURATION))
    } else {
        min(col(c::START_TIME))
    };
    let mut df = df
        .filter(filter)
        .engine()?
        .aggregate(vec![col(c::TRACE_ID)], vec![key.alias("k")])
        .engine()?;
    if paged {
        if let Some(cur) = &q.cursor {
            df = df.filter(after(cur, col("k"), false)).engine()?;
        }
        let desc = q.sort.descending();
        df = df
            .sort(vec![
                col("k").sort(!desc, false),
                col(c::TRACE_ID).sort(!desc, false),
            ])
            .engine()?
            .limit(0, Some(q.limit + 1))
            .engine()?;
    }
    let mut out: Vec<(TraceId, i64)> = Vec::new();
    for b in &df.collect().await.engine()? {
        let ids: &FixedSizeBinaryArray = downcast(b, 0)?;
        let keys: &Int64Array = downcast(b, 1)?;
        for row in 0..b.num_rows() {
            out.push((trace_id_at(ids, row)?, keys.value(row)));
        }
    }
    Ok(out)
}

/// Span counts over time.
pub(crate) async fn histogram(
    snap: &Snapshot,
    q: &HistogramQuery,
) -> Result<Histogram, StoreError> {
    let (aligned, width, mut buckets) = empty_buckets(q.start_ns, q.end_ns, q.buckets)?;
    let mut truncated = false;
    if q.plan.structure.is_some() {
        let window = (q.start_ns, q.end_ns);
        let (evaluated, t) =
            evaluate_structural(snap, &q.project_id, &q.plan, window, |_, _| false).await?;
        truncated = t;
        count_matched(&mut buckets, (aligned, width), &evaluated, q);
    } else if q.traces {
        count_traces_into(snap, q, (aligned, width), &mut buckets).await?;
    } else {
        count_into(
            snap,
            &q.project_id,
            &q.plan.pushdown,
            (q.start_ns, q.end_ns),
            (aligned, width),
            &mut buckets,
        )
        .await?;
    }
    Ok(Histogram {
        width_ns: width,
        buckets,
        candidates_truncated: truncated,
    })
}

/// Adds the spans matching `filter` that start in `[range.0, range.1)` to their buckets of
/// the grid `(aligned start, width)`: parts with a granule index are counted granule by
/// granule ([`crate::read::scan::count_spans`]), the memtable and older parts with DataFusion.
pub(crate) async fn count_into(
    snap: &Snapshot,
    project_id: &str,
    filter: &tracehouse_query::Filter,
    range: (i64, i64),
    grid: (i64, i64),
    buckets: &mut [tracehouse_store_api::Bucket],
) -> Result<(), StoreError> {
    let (aligned, width) = grid;
    let predicate = window(project_id, range.0, range.1).and(compile(filter));
    let parts = snap.parts_in(project_id, range.0, range.1);
    // Every matching row counts: granules only pay when their value filters skip most of
    // them; otherwise DataFusion's parallel, vectorised scan is faster.
    let (indexed, others) = if granule::probes(filter).is_some() {
        split_indexed(parts)
    } else {
        (Vec::new(), parts)
    };
    if !indexed.is_empty() {
        let search = OrderedSearch {
            predicate: predicate.clone(),
            filter: filter.clone(),
            window: range,
            descending: true,
            limit: usize::MAX,
        };
        let empty = buckets
            .iter()
            .map(|b| tracehouse_store_api::Bucket {
                count: 0,
                error_count: 0,
                ..*b
            })
            .collect();
        let counted = blocking(move || count_spans(&indexed, &search, grid, empty)).await?;
        for (b, c) in buckets.iter_mut().zip(counted) {
            b.count += c.count;
            b.error_count += c.error_count;
        }
    }
    if others.is_empty() && !has_rows(snap) {
        return Ok(());
    }
    let (_ctx, df) = snap.frame(&others).await?;
    let bucket = ((col(c::START_TIME) - lit(aligned)) / lit(width)).alias("b");
    let batches = df
        .filter(predicate)
        .engine()?
        .aggregate(
            vec![bucket],
            vec![
                count(lit(1i64)).alias("n"),
                sum(cast(
                    col(c::HAS_ERROR),
                    datafusion::arrow::datatypes::DataType::Int64,
                ))
                .alias("e"),
            ],
        )
        .engine()?
        .collect()
        .await
        .engine()?;
    add_bucket_rows(&batches, buckets)
}

/// Adds rows of (bucket index, count, error count) to their buckets.
fn add_bucket_rows(
    batches: &[RecordBatch],
    buckets: &mut [tracehouse_store_api::Bucket],
) -> Result<(), StoreError> {
    for b in batches {
        let idx: &Int64Array = downcast(b, 0)?;
        let counts: &Int64Array = downcast(b, 1)?;
        let errors: &Int64Array = downcast(b, 2)?;
        for row in 0..b.num_rows() {
            if let Some(bucket) = usize::try_from(idx.value(row))
                .ok()
                .and_then(|i| buckets.get_mut(i))
            {
                bucket.count += counts.value(row).max(0) as u64;
                bucket.error_count += if errors.is_null(row) {
                    0
                } else {
                    errors.value(row).max(0) as u64
                };
            }
        }
    }
    Ok(())
}

/// Adds the traces with a span matching the plain filter of `q` to the bucket of their
/// earliest matching span ([`HistogramQuery::traces`]): the first matching start and the
/// error flag per trace, then counts per bucket, both aggregated by DataFusion.
async fn count_traces_into(
    snap: &Snapshot,
    q: &HistogramQuery,
    (aligned, width): (i64, i64),
    buckets: &mut [tracehouse_store_api::Bucket],
) -> Result<(), StoreError> {
    let predicate = window(&q.project_id, q.start_ns, q.end_ns).and(compile(&q.plan.pushdown));
    let parts = snap.parts_in(&q.project_id, q.start_ns, q.end_ns);
    let (_ctx, df) = snap.frame(&parts).await?;
    let error = cast(
        col(c::HAS_ERROR),
        datafusion::arrow::datatypes::DataType::Int64,
    );
    let batches = df
        .filter(predicate)
        .engine()?
        .aggregate(
            vec![col(c::TRACE_ID)],
            vec![min(col(c::START_TIME)).alias("t"), max(error).alias("err")],
        )
        .engine()?
        .aggregate(
            vec![((col("t") - lit(aligned)) / lit(width)).alias("b")],
            vec![count(lit(1i64)).alias("n"), sum(col("err")).alias("e")],
        )
        .engine()?
        .collect()
        .await
        .engine()?;
    add_bucket_rows(&batches, buckets)
}
