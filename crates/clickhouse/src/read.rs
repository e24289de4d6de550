//! The read side: every `Store` query as parameterised SQL over the shared plan.
//!
//! Plain filter queries run entirely in ClickHouse (filter, sort, cursor, limit,
//! aggregation). Structural queries follow the embedded engine step by step: the
//! pushdown filter finds the newest [`MAX_CANDIDATE_TRACES`] traces with a span in the
//! window, their spans are fetched (through `trace_index`) a batch at a time, newest
//! first, and the structure is evaluated per trace with [`eval_plan`] until the page is
//! settled; only selected spans inside the window count.

use std::collections::HashMap;

use clickhouse::{Client, Row};
use serde::Deserialize;
use tracehouse_model::{Span, SpanId, TraceId};
use tracehouse_query::plan::Target;
use tracehouse_query::{Field, Plan};
use tracehouse_store_api::redelivery::fold_identical;
use tracehouse_store_api::sort::{key_order, offset_page, refuse_key_order};
use tracehouse_store_api::stats::{FilteredQuery, exists_fields, is_absent, stats_keys};
use tracehouse_store_api::structure::{
    Evaluated, check_cursor, count_matched, cursor_of, empty_buckets, evaluate_candidates,
    page_settled, plain_summaries, span_page, trace_page,
};
use tracehouse_store_api::{
    Histogram, HistogramQuery, MAX_CANDIDATE_TRACES, SearchCursor, SearchPage, SearchQuery,
    SearchSort, StoreError, TracePage,
};

use crate::error::ClickHouseError;
use crate::keys::{hour_bounds, stats_tables};
use crate::row::{READ_COLUMNS, ReadRow};
use crate::sql::{Params, Table, compile, value_order};

pub(crate) fn ch(e: clickhouse::error::Error) -> StoreError {
    ClickHouseError::from(e).into()
}

/// Project and time-window bounds on the spans table.
fn window(p: &mut Params, project_id: &str, start_ns: i64, end_ns: i64) -> String {
    window_on(p, "timestamp", project_id, start_ns, end_ns)
}

/// Project and time-window bounds on the time column `time`.
pub(crate) fn window_on(
    p: &mut Params,
    time: &str,
    project_id: &str,
    start_ns: i64,
    end_ns: i64,
) -> String {
    let project = p.str(project_id);
    let s = p.i64(start_ns);
    let e = p.i64(end_ns);
    format!(
        "project_id = {project} AND {time} >= fromUnixTimestamp64Nano({s}) \
         AND {time} < fromUnixTimestamp64Nano({e})"
    )
}

pub(crate) fn dir(sort: SearchSort) -> &'static str {
    if sort.descending() { "DESC" } else { "ASC" }
}

pub(crate) fn beyond(sort: SearchSort) -> &'static str {
    if sort.descending() { "<" } else { ">" }
}

async fn fetch_spans(client: &Client, sql: &str, p: &Params) -> Result<Vec<Span>, StoreError> {
    let rows: Vec<ReadRow> = p.bind(client.query(sql)).fetch_all().await.map_err(ch)?;
    rows.into_iter()
        .map(|r| r.into_span().map_err(StoreError::from))
        .collect()
}

/// A page of spans.
pub(crate) async fn search_spans(
    client: &Client,
    q: &SearchQuery,
) -> Result<SearchPage, StoreError> {
    check_cursor(q)?;
    if let Some((key, offset)) = key_order(q)? {
        return key_ordered_spans(client, q, key, offset).await;
    }
    if q.plan.structure.is_some() {
        return structural_spans(client, q).await;
    }
    let mut p = Params::default();
    let mut filter = format!(
        "{} AND {}",
        window(&mut p, &q.project_id, q.start_ns, q.end_ns),
        compile(&q.plan.pushdown, Table::Spans, &mut p)
    );
    let key = if q.sort.by_duration() {
        "duration"
    } else {
        "toUnixTimestamp64Nano(timestamp)"
    };
    if let Some(cur) = &q.cursor {
        let k = p.i64(cur.key);
        let t = p.str(cur.trace_id.to_string());
        let s = p.str(cur.span_id.to_string());
        filter.push_str(&format!(
            " AND ({key}, trace_id, span_id) {} ({k}, toFixedString(unhex({t}), 16), toFixedString(unhex({s}), 8))",
            beyond(q.sort)
        ));
    }
    let d = dir(q.sort);
    let sort_col = if q.sort.by_duration() {
        "duration"
    } else {
        "timestamp"
    };
    let sql = format!(
        "SELECT {READ_COLUMNS} FROM spans WHERE {filter} \
         ORDER BY {sort_col} {d}, trace_id {d}, span_id {d} LIMIT {}",
        q.limit + 1
    );
    let mut spans = fetch_spans(client, &sql, &p).await?;
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
    client: &Client,
    q: &SearchQuery,
    key: &Field,
    offset: usize,
) -> Result<SearchPage, StoreError> {
    let mut p = Params::default();
    let filter = format!(
        "{} AND {}",
        window(&mut p, &q.project_id, q.start_ns, q.end_ns),
        compile(&q.plan.pushdown, Table::Spans, &mut p)
    );
    let d = dir(q.sort);
    let order = value_order(key, Table::Spans, q.sort.descending(), &mut p);
    let sql = format!(
        "SELECT {READ_COLUMNS} FROM spans WHERE {filter} \
         ORDER BY {order}, trace_id {d}, span_id {d} LIMIT {} OFFSET {offset}",
        q.limit + 1
    );
    let spans = fetch_spans(client, &sql, &p).await?;
    Ok(offset_page(spans, q, offset))
}

#[derive(Debug, Row, Deserialize)]
struct KeyedTrace {
    trace_id: [u8; 16],
    k: i64,
}

/// All spans of the given traces, grouped per trace (each in start order). The trace
/// index narrows the scan to the traces' time slice.
pub(crate) async fn fetch_traces(
    client: &Client,
    project_id: &str,
    ids: &[TraceId],
) -> Result<HashMap<TraceId, Vec<Span>>, StoreError> {
    let mut out: HashMap<TraceId, Vec<Span>> = HashMap::with_capacity(ids.len());
    if ids.is_empty() {
        return Ok(out);
    }
    let mut p = Params::default();
    let project = p.str(project_id);
    let list = p.str_array(ids.iter().map(|t| t.to_string()).collect());
    let set = format!("(SELECT toFixedString(unhex(arrayJoin({list})), 16))");
    let sql = format!(
        "SELECT {READ_COLUMNS} FROM spans \
         WHERE project_id = {project} AND trace_id IN {set} \
         AND timestamp >= (SELECT min(start_min) FROM trace_index WHERE project_id = {project} AND trace_id IN {set}) \
         AND timestamp <= (SELECT max(start_max) FROM trace_index WHERE project_id = {project} AND trace_id IN {set})"
    );
    for s in fetch_spans(client, &sql, &p).await? {
        out.entry(s.trace_id).or_default().push(s);
    }
    out.values_mut().for_each(fold_identical);
    Ok(out)
}

/// The traces (newest activity first) with a span in the window matching the pushdown
/// filter, at most `cap`, each with the start of its newest such span; and whether there
/// were more.
async fn candidate_traces(
    client: &Client,
    project_id: &str,
    plan: &Plan,
    start_ns: i64,
    end_ns: i64,
    cap: usize,
) -> Result<(Vec<(TraceId, i64)>, bool), StoreError> {
    let mut p = Params::default();
    let sql = format!(
        "SELECT trace_id, max(toUnixTimestamp64Nano(timestamp)) AS k FROM spans \
         WHERE {} AND {} GROUP BY trace_id ORDER BY k DESC, trace_id DESC LIMIT {}",
        window(&mut p, project_id, start_ns, end_ns),
        compile(&plan.pushdown, Table::Spans, &mut p),
        cap + 1
    );
    let rows: Vec<KeyedTrace> = p.bind(client.query(&sql)).fetch_all().await.map_err(ch)?;
    let mut out: Vec<(TraceId, i64)> = rows
        .into_iter()
        .map(|r| (TraceId(r.trace_id), r.k))
        .collect();
    let truncated = out.len() > cap;
    out.truncate(cap);
    Ok((out, truncated))
}

async fn evaluate_structural(
    client: &Client,
    project_id: &str,
    plan: &Plan,
    (start_ns, end_ns): (i64, i64),
    settled: impl Fn(&[Evaluated], i64) -> bool,
) -> Result<(Vec<Evaluated>, bool), StoreError> {
    let (candidates, truncated) = candidate_traces(
        client,
        project_id,
        plan,
        start_ns,
        end_ns,
        MAX_CANDIDATE_TRACES,
    )
    .await?;
    let fetch = |ids: Vec<TraceId>| async move { fetch_traces(client, project_id, &ids).await };
    let evaluated =
        evaluate_candidates(plan, &candidates, (start_ns, end_ns), fetch, settled).await?;
    Ok((evaluated, truncated))
}

async fn structural_spans(client: &Client, q: &SearchQuery) -> Result<SearchPage, StoreError> {
    let window = (q.start_ns, q.end_ns);
    let (evaluated, truncated) =
        evaluate_structural(client, &q.project_id, &q.plan, window, |e, next| {
            page_settled(e, q, false, next)
        })
        .await?;
    Ok(span_page(evaluated, q, truncated))
}

/// A page of traces.
pub(crate) async fn search_traces(
    client: &Client,
    q: &SearchQuery,
) -> Result<TracePage, StoreError> {
    check_cursor(q)?;
    refuse_key_order(q, "trace search")?;
    let zero = SpanId([0; 8]);
    if q.plan.structure.is_some() {
        let window = (q.start_ns, q.end_ns);
        let (evaluated, truncated) =
            evaluate_structural(client, &q.project_id, &q.plan, window, |e, next| {
                page_settled(e, q, true, next)
            })
            .await?;
        return Ok(trace_page(evaluated, q, truncated));
    }

    let mut p = Params::default();
    let agg = if q.sort.by_duration() {
        "max(duration)"
    } else {
        "min(toUnixTimestamp64Nano(timestamp))"
    };
    let filter = format!(
        "{} AND {}",
        window(&mut p, &q.project_id, q.start_ns, q.end_ns),
        compile(&q.plan.pushdown, Table::Spans, &mut p)
    );
    let having = match &q.cursor {
        Some(cur) => {
            let k = p.i64(cur.key);
            let t = p.str(cur.trace_id.to_string());
            format!(
                " HAVING (k, trace_id) {} ({k}, toFixedString(unhex({t}), 16))",
                beyond(q.sort)
            )
        }
        None => String::new(),
    };
    let d = dir(q.sort);
    let sql = format!(
        "SELECT trace_id, {agg} AS k FROM spans WHERE {filter} GROUP BY trace_id{having} \
         ORDER BY k {d}, trace_id {d} LIMIT {}",
        q.limit + 1
    );
    let mut page: Vec<KeyedTrace> = p.bind(client.query(&sql)).fetch_all().await.map_err(ch)?;
    let more = page.len() > q.limit;
    page.truncate(q.limit);
    let next_cursor = more.then(|| page.last()).flatten().map(|r| SearchCursor {
        sort: q.sort,
        key: r.k,
        trace_id: TraceId(r.trace_id),
        span_id: zero,
    });
    let ids: Vec<TraceId> = page.iter().map(|r| TraceId(r.trace_id)).collect();
    let traces = fetch_traces(client, &q.project_id, &ids).await?;
    Ok(TracePage {
        traces: plain_summaries(&ids, &traces, q),
        next_cursor,
        candidates_truncated: false,
    })
}

#[derive(Debug, Row, Deserialize)]
struct BucketRow {
    b: i64,
    n: u64,
    e: u64,
}

/// Span counts over time.
pub(crate) async fn histogram(
    client: &Client,
    q: &HistogramQuery,
) -> Result<Histogram, StoreError> {
    let (aligned, width, mut buckets) = empty_buckets(q.start_ns, q.end_ns, q.buckets)?;
    let mut truncated = false;
    if q.plan.structure.is_some() {
        let (evaluated, t) = evaluate_structural(
            client,
            &q.project_id,
            &q.plan,
            (q.start_ns, q.end_ns),
            |_, _| false,
        )
        .await?;
        truncated = t;
        count_matched(&mut buckets, (aligned, width), &evaluated, q);
    } else {
        let mut p = Params::default();
        let a = p.i64(aligned);
        let w = p.i64(width);
        let filter = format!(
            "{} AND {}",
            window(&mut p, &q.project_id, q.start_ns, q.end_ns),
            compile(&q.plan.pushdown, Table::Spans, &mut p)
        );
        // Traces count once, at their earliest matching span.
        let sql = if q.traces {
            format!(
                "SELECT intDiv(t - {a}, {w}) AS b, count() AS n, countIf(err) AS e FROM \
                 (SELECT min(toUnixTimestamp64Nano(timestamp)) AS t, max(has_error) AS err \
                 FROM spans WHERE {filter} GROUP BY trace_id) GROUP BY b"
            )
        } else {
            format!(
                "SELECT intDiv(toUnixTimestamp64Nano(timestamp) - {a}, {w}) AS b, count() AS n, \
                 countIf(has_error) AS e FROM spans WHERE {filter} GROUP BY b"
            )
        };
        let rows: Vec<BucketRow> = p.bind(client.query(&sql)).fetch_all().await.map_err(ch)?;
        for r in rows {
            if let Some(bucket) = usize::try_from(r.b).ok().and_then(|i| buckets.get_mut(i)) {
                bucket.count += r.n;
                bucket.error_count += r.e;
            }
        }
    }
    Ok(Histogram {
        width_ns: width,
        buckets,
        candidates_truncated: truncated,
    })
}

/// The query with `Exists` of the attributes no record of the project has in the hours of
/// the window folded to false ([`tracehouse_query::Plan::without_absent`], pushdown and
/// structure), from the key statistics, so that `service:x` (which reads an attribute
/// `service` where a span has one) uses the `service_name` part of the sorting key. The
/// statistics are read just before the search: a span inserted meanwhile whose attribute
/// key is new to its hour may be read by its built-in field.
pub(crate) async fn fold_absent<Q: FilteredQuery>(
    client: &Client,
    target: Target,
    q: &Q,
) -> Result<Q, StoreError> {
    let mut q = q.clone();
    let wanted: Vec<String> = exists_fields(q.pushdown())
        .into_iter()
        .flat_map(stats_keys)
        .collect();
    if wanted.is_empty() {
        return Ok(q);
    }
    let (table, _) = stats_tables(target);
    let mut p = Params::default();
    let project = p.str(q.project_id());
    let (start_ns, end_ns) = q.window();
    let (from, to) = hour_bounds(&mut p, start_ns, end_ns);
    let list = p.str_array(wanted);
    let sql = format!(
        "SELECT DISTINCT toString(field) FROM {table} WHERE project_id = {project} \
         AND hour >= toDateTime({from}, 'UTC') AND hour < toDateTime({to}, 'UTC') \
         AND has({list}, toString(field))"
    );
    let present: Vec<String> = p.bind(client.query(&sql)).fetch_all().await.map_err(ch)?;
    let has = |k: &str| present.iter().any(|p| p == k);
    q.fold_absent(&|field: &Field| is_absent(field, has));
    Ok(q)
}
