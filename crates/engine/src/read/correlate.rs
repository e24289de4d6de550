//! Log search, log histograms, error occurrences and groups, and sessions over snapshots of
//! the embedded store's tables, run with DataFusion. The backend-neutral rules (checks,
//! cursors, grids, group assembly) are in [`tracehouse_store_api::signals`].

use std::collections::HashMap;
use std::sync::Arc;

use datafusion::arrow::array::{
    Array, ArrayRef, FixedSizeBinaryArray, Int64Array, ListArray, RecordBatch, StringArray,
    UInt8Array,
};
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::DataType;
use datafusion::functions_aggregate::expr_fn::{
    array_agg, count, count_distinct, last_value, max, min, sum,
};
use datafusion::logical_expr::{ExprFunctionExt, SortExpr, when};
use datafusion::prelude::{Expr, col, lit};
use tracehouse_model::{ErrorOccurrence, Level, TraceId};
use tracehouse_query::plan::Target;

use crate::error::{EngineResult, StoreError};
use crate::read::filter::{compile, compile_for, confined_traces, text_of};
use crate::read::query::{Snapshot, id_lit, project_is};
use crate::storage::log_rows::{batch_to_errors, batch_to_logs};
use crate::storage::part::Part;
use crate::storage::schema::col as c;
use tracehouse_store_api::error_sessions::{
    RootSessions, errors_per_session, fill_sessions, root_window, sessionless_traces,
    sessions_per_group, traces_of,
};
use tracehouse_store_api::session_pages::{
    PageLoads, URL_FIELDS, USER_AGENT_FIELDS, browser_request, fields, page_load,
};
use tracehouse_store_api::signals::{
    GroupCounts, assemble_groups, check_log_plan, check_log_query, empty_log_buckets, log_page,
    rank_groups,
};
use tracehouse_store_api::structure::{bucket_of, empty_buckets};
use tracehouse_store_api::{
    ErrorGroups, ErrorGroupsQuery, ErrorQuery, HistogramQuery, LogHistogram, LogPage, SearchQuery,
    SessionSummary, SessionsQuery,
};

/// Project and `[start, end)` bounds on the snapshot's time column.
fn window(snap: &Snapshot, project_id: &str, start_ns: i64, end_ns: i64) -> Expr {
    let time = col(snap.table.time_column());
    project_is(project_id)
        .and(time.clone().gt_eq(lit(start_ns)))
        .and(time.lt(lit(end_ns)))
}

/// A result column as `T`, cast first when the engine chose another representation.
fn column<T: Array + Clone + 'static>(
    batch: &RecordBatch,
    i: usize,
    as_type: &DataType,
) -> Result<T, StoreError> {
    let raw: &ArrayRef = batch.column(i);
    let arr = if raw.data_type() == as_type {
        raw.clone()
    } else {
        cast(raw, as_type).engine()?
    };
    arr.as_any()
        .downcast_ref::<T>()
        .cloned()
        .ok_or_else(|| StoreError::Corrupt(format!("unexpected type of result column {i}")))
}

fn ints(batch: &RecordBatch, i: usize) -> Result<Int64Array, StoreError> {
    column(batch, i, &DataType::Int64)
}

fn texts(batch: &RecordBatch, i: usize) -> Result<StringArray, StoreError> {
    column(batch, i, &DataType::Utf8)
}

fn text_at(a: &StringArray, row: usize) -> Option<&str> {
    (!a.is_null(row)).then(|| a.value(row))
}

fn count_at(a: &Int64Array, row: usize) -> u64 {
    if a.is_null(row) {
        0
    } else {
        a.value(row).max(0) as u64
    }
}

/// The distinct strings of an `array_agg` cell, sorted.
fn string_list(list: &ListArray, row: usize) -> Result<Vec<String>, StoreError> {
    let values = cast(&list.value(row), &DataType::Utf8).engine()?;
    let values = values
        .as_any()
        .downcast_ref::<StringArray>()
        .ok_or_else(|| StoreError::Corrupt("list of strings".into()))?;
    let mut out: Vec<String> = values.iter().flatten().map(str::to_string).collect();
    out.sort();
    out.dedup();
    Ok(out)
}

/// A page of log records.
pub(crate) async fn search_logs(snap: &Snapshot, q: &SearchQuery) -> Result<LogPage, StoreError> {
    check_log_query(q)?;
    let traces = confined_traces(&q.plan.pushdown);
    let parts = snap.parts_holding(&q.project_id, q.start_ns, q.end_ns, traces.as_deref());
    let mut filter = window(snap, &q.project_id, q.start_ns, q.end_ns)
        .and(compile_for(&q.plan.pushdown, Target::Logs));
    let desc = q.sort.descending();
    if let Some(cur) = &q.cursor {
        let beyond = |a: Expr, b: Expr| if desc { a.lt(b) } else { a.gt(b) };
        let time = col(c::TIME);
        filter = filter.and(
            beyond(time.clone(), lit(cur.key)).or(time
                .eq(lit(cur.key))
                .and(beyond(col(c::LOG_ID), id_lit(&cur.trace_id.0)))),
        );
    }
    let sort: Vec<SortExpr> = vec![
        col(c::TIME).sort(!desc, false),
        col(c::LOG_ID).sort(!desc, false),
    ];
    let mut logs = Vec::new();
    for b in snap.rows(&parts, filter, sort, Some(q.limit + 1)).await? {
        logs.extend(batch_to_logs(&b)?);
    }
    Ok(log_page(logs, q))
}

/// Log record counts over time, per level.
pub(crate) async fn log_histogram(
    snap: &Snapshot,
    q: &HistogramQuery,
) -> Result<LogHistogram, StoreError> {
    check_log_plan(&q.plan)?;
    let (aligned, width, mut buckets) = empty_log_buckets(q.start_ns, q.end_ns, q.buckets)?;
    let parts = snap.parts_in(&q.project_id, q.start_ns, q.end_ns);
    let (_ctx, df) = snap.frame(&parts).await?;
    let bucket = ((col(c::TIME) - lit(aligned)) / lit(width)).alias("b");
    let batches = df
        .filter(
            window(snap, &q.project_id, q.start_ns, q.end_ns)
                .and(compile_for(&q.plan.pushdown, Target::Logs)),
        )
        .engine()?
        .aggregate(
            vec![bucket, col(c::LEVEL)],
            vec![count(lit(1i64)).alias("n")],
        )
        .engine()?
        .collect()
        .await
        .engine()?;
    for b in &batches {
        let idx = ints(b, 0)?;
        let level: UInt8Array = column(b, 1, &DataType::UInt8)?;
        let n = ints(b, 2)?;
        for row in 0..b.num_rows() {
            let Some(bucket) = usize::try_from(idx.value(row))
                .ok()
                .and_then(|i| buckets.get_mut(i))
            else {
                continue;
            };
            let k = count_at(&n, row);
            bucket.count += k;
            *bucket
                .levels
                .entry(Level::from_code(level.value(row)))
                .or_default() += k;
        }
    }
    Ok(LogHistogram {
        width_ns: width,
        buckets,
    })
}

/// The occurrence filter of an [`ErrorQuery`]. With a session, the occurrences of that
/// session are its own and the sessionless ones of `session_traces` (the traces whose
/// root carries the session).
fn error_filter(snap: &Snapshot, q: &ErrorQuery, session_traces: &[TraceId]) -> Expr {
    let mut f = window(snap, &q.project_id, q.start_ns, q.end_ns);
    if let Some(fp) = &q.fingerprint {
        f = f.and(col(c::FINGERPRINT).eq(lit(fp.as_str())));
    }
    if let Some(t) = &q.trace_id {
        f = f.and(col(c::TRACE_ID).eq(id_lit(&t.0)));
    }
    if let Some(s) = &q.session_id {
        let own = col(c::SESSION_ID).eq(lit(s.as_str()));
        f = f.and(if session_traces.is_empty() {
            own
        } else {
            own.or(col(c::SESSION_ID).is_null().and(trace_in(session_traces)))
        });
    }
    f
}

/// `trace_id IN (traces)`.
fn trace_in(traces: &[TraceId]) -> Expr {
    col(c::TRACE_ID).in_list(traces.iter().map(|t| id_lit(&t.0)).collect(), false)
}

/// The sessions root spans give their traces (see [`tracehouse_store_api::error_sessions`]):
/// root spans of the project with a session, in the root window of `[start_ns, end_ns)`,
/// that also satisfy `narrow` (some traces, or some sessions).
async fn root_sessions(
    spans: &Snapshot,
    project_id: &str,
    (start_ns, end_ns): (i64, i64),
    narrow: Expr,
) -> Result<RootSessions, StoreError> {
    let (start_ns, end_ns) = root_window(start_ns, end_ns);
    let parts = spans.parts_in(project_id, start_ns, end_ns);
    let filter = window(spans, project_id, start_ns, end_ns)
        .and(col(c::PARENT_SPAN_ID).is_null())
        .and(col(c::SESSION_ID).is_not_null())
        .and(col(c::SESSION_ID).not_eq(lit("")))
        .and(narrow);
    let (_ctx, df) = spans.frame(&parts).await?;
    let batches = df
        .filter(filter)
        .engine()?
        .aggregate(vec![col(c::TRACE_ID), col(c::SESSION_ID)], vec![])
        .engine()?
        .collect()
        .await
        .engine()?;
    let mut out = RootSessions::new();
    for b in &batches {
        let ids: FixedSizeBinaryArray =
            column(b, 0, &DataType::FixedSizeBinary(TraceId::LEN as i32))?;
        let session = texts(b, 1)?;
        for row in 0..b.num_rows() {
            if let Ok(id) = TraceId::from_bytes(ids.value(row)) {
                out.insert(id, session.value(row).to_string());
            }
        }
    }
    Ok(out)
}

/// Error occurrences, newest first; those without a session of their own carry their
/// trace root's.
pub(crate) async fn errors(
    spans: &Snapshot,
    snap: &Snapshot,
    q: &ErrorQuery,
) -> Result<Vec<ErrorOccurrence>, StoreError> {
    let window_ns = (q.start_ns, q.end_ns);
    let mut roots = match &q.session_id {
        Some(s) => {
            let of_session = col(c::SESSION_ID).eq(lit(s.as_str()));
            root_sessions(spans, &q.project_id, window_ns, of_session).await?
        }
        None => RootSessions::new(),
    };
    let trace = q.trace_id.as_ref().map(|t| std::slice::from_ref(&t.0));
    let parts = snap.parts_holding(&q.project_id, q.start_ns, q.end_ns, trace);
    let sort = vec![
        col(c::TIME).sort(false, false),
        col(c::TRACE_ID).sort(false, false),
        col(c::SPAN_ID).sort(false, false),
        col(c::FINGERPRINT).sort(true, false),
    ];
    let filter = error_filter(snap, q, &traces_of(&roots));
    let mut out = Vec::new();
    for b in snap.rows(&parts, filter, sort, Some(q.limit)).await? {
        out.extend(batch_to_errors(&b)?);
    }
    let missing = sessionless_traces(&out);
    if q.session_id.is_none() && !missing.is_empty() {
        roots = root_sessions(spans, &q.project_id, window_ns, trace_in(&missing)).await?;
    }
    fill_sessions(&mut out, &roots);
    Ok(out)
}

/// `lower(column) LIKE '%text%'`, with LIKE metacharacters of `text` escaped.
fn contains_ci(column: &str, text: &str) -> Expr {
    let mut pattern = String::from("%");
    for ch in text.to_lowercase().chars() {
        if matches!(ch, '%' | '_' | '\\') {
            pattern.push('\\');
        }
        pattern.push(ch);
    }
    pattern.push('%');
    Expr::Like(datafusion::logical_expr::expr::Like::new(
        false,
        Box::new(datafusion::functions::string::expr_fn::lower(col(column))),
        Box::new(lit(pattern)),
        Some('\\'),
        false,
    ))
}

/// `column IN (values)` for fingerprints or session ids.
fn one_of(column: &str, values: &[String]) -> Expr {
    col(column).in_list(values.iter().map(|v| lit(v.as_str())).collect(), false)
}

/// Error groups with trends and example traces.
pub(crate) async fn error_groups(
    spans: &Snapshot,
    snap: &Snapshot,
    q: &ErrorGroupsQuery,
) -> Result<ErrorGroups, StoreError> {
    let (aligned, width, grid) = empty_buckets(q.start_ns, q.end_ns, q.buckets)?;
    let parts = snap.parts_in(&q.project_id, q.start_ns, q.end_ns);
    let mut filter = error_filter(
        snap,
        &ErrorQuery {
            project_id: q.project_id.clone(),
            start_ns: q.start_ns,
            end_ns: q.end_ns,
            fingerprint: q.fingerprint.clone(),
            ..Default::default()
        },
        &[],
    );
    if let Some(text) = q.text.as_deref().filter(|t| !t.is_empty()) {
        filter = filter.and(contains_ci(c::ERROR_TYPE, text).or(contains_ci(c::MESSAGE, text)));
    }
    if let Some(service) = &q.service {
        filter = filter.and(col(c::SERVICE_NAME).eq(lit(service.as_str())));
    }
    if let Some(environment) = &q.environment {
        filter = filter.and(col(c::ENVIRONMENT).eq(lit(environment.as_str())));
    }
    let newest = |column: &str| last_value(col(column), vec![col(c::TIME).sort(true, false)]);
    let (_ctx, df) = snap.frame(&parts).await?;
    let batches = df
        .filter(filter.clone())
        .engine()?
        .aggregate(
            vec![col(c::FINGERPRINT)],
            vec![
                count(lit(1i64)).alias("n"),
                min(col(c::TIME)).alias("first"),
                max(col(c::TIME)).alias("last"),
                count_distinct(col(c::TRACE_ID)).alias("traces"),
                array_agg(col(c::SERVICE_NAME))
                    .distinct()
                    .build()
                    .engine()?
                    .alias("services"),
                newest(c::ERROR_TYPE).alias("type"),
                newest(c::MESSAGE).alias("message"),
                newest(c::STACKTRACE).alias("stack"),
            ],
        )
        .engine()?
        .collect()
        .await
        .engine()?;
    let mut ranked = Vec::new();
    for b in &batches {
        let fp = texts(b, 0)?;
        let (n, first, last) = (ints(b, 1)?, ints(b, 2)?, ints(b, 3)?);
        let traces = ints(b, 4)?;
        let services: ListArray = column(b, 5, b.column(5).data_type())?;
        let (ty, msg, stack) = (texts(b, 6)?, texts(b, 7)?, texts(b, 8)?);
        for row in 0..b.num_rows() {
            ranked.push((
                fp.value(row).to_string(),
                GroupCounts {
                    count: count_at(&n, row),
                    first_seen_ns: first.value(row),
                    last_seen_ns: last.value(row),
                    trace_count: count_at(&traces, row),
                    session_count: 0,
                    services: string_list(&services, row)?.into_iter().collect(),
                    newest: (
                        ty.value(row).to_string(),
                        msg.value(row).to_string(),
                        stack.value(row).to_string(),
                    ),
                },
            ));
        }
    }
    rank_groups(&mut ranked, q.limit);
    let top: Vec<String> = ranked.iter().map(|(f, _)| f.clone()).collect();
    if !top.is_empty() {
        let of_top = filter.clone().and(one_of(c::FINGERPRINT, &top));
        let sessions = group_sessions(spans, snap, q, of_top).await?;
        for (fingerprint, g) in &mut ranked {
            g.session_count = sessions.get(fingerprint).copied().unwrap_or(0);
        }
    }
    let mut trends: HashMap<String, Vec<u64>> = HashMap::new();
    let mut examples: HashMap<String, Vec<(TraceId, i64)>> = HashMap::new();
    if !top.is_empty() {
        let (_ctx, df) = snap.frame(&parts).await?;
        let per_trace = df
            .filter(filter.and(one_of(c::FINGERPRINT, &top)))
            .engine()?
            .aggregate(
                vec![col(c::FINGERPRINT), col(c::TRACE_ID), col(c::TIME)],
                vec![count(lit(1i64)).alias("n")],
            )
            .engine()?
            .collect()
            .await
            .engine()?;
        for b in &per_trace {
            let fp = texts(b, 0)?;
            let ids: FixedSizeBinaryArray =
                column(b, 1, &DataType::FixedSizeBinary(TraceId::LEN as i32))?;
            let time = ints(b, 2)?;
            let n = ints(b, 3)?;
            for row in 0..b.num_rows() {
                let fingerprint = fp.value(row);
                let t = time.value(row);
                if let Some(i) = bucket_of(t, aligned, width, grid.len()) {
                    trends
                        .entry(fingerprint.to_string())
                        .or_insert_with(|| vec![0; grid.len()])[i] += count_at(&n, row);
                }
                if ids.is_valid(row)
                    && let Ok(id) = TraceId::from_bytes(ids.value(row))
                {
                    let ex = examples.entry(fingerprint.to_string()).or_default();
                    match ex.iter_mut().find(|(t2, _)| *t2 == id) {
                        Some(entry) => entry.1 = entry.1.max(t),
                        None => ex.push((id, t)),
                    }
                }
            }
        }
    }
    Ok(ErrorGroups {
        start_ns: aligned,
        width_ns: width,
        groups: assemble_groups(ranked, grid.len(), trends, examples),
    })
}

/// Distinct sessions of each group the filter selects: the occurrences' own, and their
/// trace roots' for those without one.
async fn group_sessions(
    spans: &Snapshot,
    snap: &Snapshot,
    q: &ErrorGroupsQuery,
    filter: Expr,
) -> Result<HashMap<String, u64>, StoreError> {
    let parts = snap.parts_in(&q.project_id, q.start_ns, q.end_ns);
    let pairs = |with_session: bool, second: &'static str| {
        let filter = filter.clone();
        let parts = &parts;
        async move {
            let has = if with_session {
                col(c::SESSION_ID).is_not_null()
            } else {
                col(c::SESSION_ID)
                    .is_null()
                    .and(col(c::TRACE_ID).is_not_null())
            };
            let (_ctx, df) = snap.frame(parts).await?;
            df.filter(filter.and(has))
                .engine()?
                .aggregate(vec![col(c::FINGERPRINT), col(second)], vec![])
                .engine()?
                .collect()
                .await
                .engine()
        }
    };
    let mut own = Vec::new();
    for b in &pairs(true, c::SESSION_ID).await? {
        let (fp, session) = (texts(b, 0)?, texts(b, 1)?);
        for row in 0..b.num_rows() {
            own.push((fp.value(row).to_string(), session.value(row).to_string()));
        }
    }
    let mut sessionless = Vec::new();
    for b in &pairs(false, c::TRACE_ID).await? {
        let fp = texts(b, 0)?;
        let ids: FixedSizeBinaryArray =
            column(b, 1, &DataType::FixedSizeBinary(TraceId::LEN as i32))?;
        for row in 0..b.num_rows() {
            if let Ok(id) = TraceId::from_bytes(ids.value(row)) {
                sessionless.push((fp.value(row).to_string(), id));
            }
        }
    }
    let traces: Vec<TraceId> = sessionless.iter().map(|(_, t)| *t).collect();
    let roots = if traces.is_empty() {
        RootSessions::new()
    } else {
        let window_ns = (q.start_ns, q.end_ns);
        root_sessions(spans, &q.project_id, window_ns, trace_in(&traces)).await?
    };
    Ok(sessions_per_group(own, sessionless, &roots))
}

/// The page loads among the spans `filter` selects, folded per session.
async fn page_loads(
    spans: &Snapshot,
    parts: &[&Arc<Part>],
    filter: Expr,
) -> Result<PageLoads, StoreError> {
    let (_ctx, df) = spans.frame(parts).await?;
    let batches = df
        .filter(filter.and(compile(&page_load())))
        .engine()?
        .select(vec![
            col(c::SESSION_ID),
            col(c::START_TIME),
            text_of(&fields(&URL_FIELDS), Target::Spans).alias("url"),
            text_of(&fields(&USER_AGENT_FIELDS), Target::Spans).alias("ua"),
        ])
        .engine()?
        .collect()
        .await
        .engine()?;
    let mut pages = PageLoads::default();
    for b in &batches {
        let (id, start, url, ua) = (texts(b, 0)?, ints(b, 1)?, texts(b, 2)?, texts(b, 3)?);
        for row in 0..b.num_rows() {
            pages.add(
                id.value(row),
                start.value(row),
                text_at(&url, row),
                text_at(&ua, row),
            );
        }
    }
    Ok(pages)
}

/// Sessions with spans in the window, most recently active first.
pub(crate) async fn sessions(
    spans: &Snapshot,
    errors: &Snapshot,
    q: &SessionsQuery,
) -> Result<Vec<SessionSummary>, StoreError> {
    let parts = spans.parts_in(&q.project_id, q.start_ns, q.end_ns);
    let mut filter = window(spans, &q.project_id, q.start_ns, q.end_ns)
        .and(col(c::SESSION_ID).is_not_null())
        .and(col(c::SESSION_ID).not_eq(lit("")));
    if let Some(id) = &q.session_id {
        filter = filter.and(col(c::SESSION_ID).eq(lit(id.as_str())));
    }
    // Distinct traces per session: group by (session, trace) first, then by session —
    // much cheaper than a distinct count of binary ids per session.
    let (_ctx, df) = spans.frame(&parts).await?;
    let batches = df
        .filter(filter.clone())
        .engine()?
        .aggregate(
            vec![col(c::SESSION_ID), col(c::TRACE_ID)],
            vec![
                min(col(c::START_TIME)).alias("s"),
                max(col(c::END_TIME)).alias("e"),
                count(lit(1i64)).alias("n"),
                sum(when(compile(&browser_request()), lit(1i64))
                    .otherwise(lit(0i64))
                    .engine()?)
                .alias("r"),
            ],
        )
        .engine()?
        .aggregate(
            vec![col(c::SESSION_ID)],
            vec![
                min(col("s")).alias("start"),
                max(col("e")).alias("end"),
                count(lit(1i64)).alias("traces"),
                sum(col("n")).alias("spans"),
                sum(col("r")).alias("requests"),
            ],
        )
        .engine()?
        .sort(vec![
            col("end").sort(false, false),
            col(c::SESSION_ID).sort(true, false),
        ])
        .engine()?
        .limit(0, Some(q.limit))
        .engine()?
        .collect()
        .await
        .engine()?;
    let mut out = Vec::new();
    for b in &batches {
        let id = texts(b, 0)?;
        let (start, end, traces, n) = (ints(b, 1)?, ints(b, 2)?, ints(b, 3)?, ints(b, 4)?);
        let requests = ints(b, 5)?;
        for row in 0..b.num_rows() {
            out.push(SessionSummary {
                session_id: id.value(row).to_string(),
                start_ns: start.value(row),
                end_ns: end.value(row),
                duration_ns: end.value(row).saturating_sub(start.value(row)).max(0),
                trace_count: count_at(&traces, row),
                span_count: count_at(&n, row),
                request_count: count_at(&requests, row),
                ..SessionSummary::default()
            });
        }
    }
    if out.is_empty() {
        return Ok(out);
    }
    let ids: Vec<String> = out.iter().map(|s| s.session_id.clone()).collect();
    let in_sessions = filter.and(one_of(c::SESSION_ID, &ids));
    let pages = page_loads(spans, &parts, in_sessions.clone()).await?;
    let (_ctx, df) = spans.frame(&parts).await?;
    let pairs = df
        .filter(in_sessions)
        .engine()?
        .aggregate(vec![col(c::SESSION_ID), col(c::SERVICE_NAME)], vec![])
        .engine()?
        .collect()
        .await
        .engine()?;
    let mut services: HashMap<String, Vec<String>> = HashMap::new();
    for b in &pairs {
        let (id, service) = (texts(b, 0)?, texts(b, 1)?);
        for row in 0..b.num_rows() {
            services
                .entry(id.value(row).to_string())
                .or_default()
                .push(service.value(row).to_string());
        }
    }
    for s in &mut out {
        let mut list = services.remove(&s.session_id).unwrap_or_default();
        list.sort();
        s.services = list;
        pages.describe(s);
    }
    if out.is_empty() {
        return Ok(out);
    }
    let error_parts = errors.parts_in(&q.project_id, q.start_ns, q.end_ns);
    let (_ctx, df) = errors.frame(&error_parts).await?;
    let counts = df
        .filter(
            window(errors, &q.project_id, q.start_ns, q.end_ns).and(one_of(c::SESSION_ID, &ids)),
        )
        .engine()?
        .aggregate(vec![col(c::SESSION_ID)], vec![count(lit(1i64)).alias("n")])
        .engine()?
        .collect()
        .await
        .engine()?;
    let mut by_session = HashMap::new();
    for b in &counts {
        let id = texts(b, 0)?;
        let n = ints(b, 1)?;
        for row in 0..b.num_rows() {
            by_session.insert(id.value(row).to_string(), count_at(&n, row));
        }
    }
    // Occurrences without a session of their own count for their trace root's.
    let window_ns = (q.start_ns, q.end_ns);
    let roots = root_sessions(spans, &q.project_id, window_ns, one_of(c::SESSION_ID, &ids)).await?;
    let mut sessionless = Vec::new();
    if !roots.is_empty() {
        let (_ctx, df) = errors.frame(&error_parts).await?;
        let counts = df
            .filter(
                window(errors, &q.project_id, q.start_ns, q.end_ns)
                    .and(col(c::SESSION_ID).is_null())
                    .and(trace_in(&traces_of(&roots))),
            )
            .engine()?
            .aggregate(vec![col(c::TRACE_ID)], vec![count(lit(1i64)).alias("n")])
            .engine()?
            .collect()
            .await
            .engine()?;
        for b in &counts {
            let ids: FixedSizeBinaryArray =
                column(b, 0, &DataType::FixedSizeBinary(TraceId::LEN as i32))?;
            let n = ints(b, 1)?;
            for row in 0..b.num_rows() {
                if let Ok(id) = TraceId::from_bytes(ids.value(row)) {
                    sessionless.push((id, count_at(&n, row)));
                }
            }
        }
    }
    let by_session = errors_per_session(by_session, sessionless, &roots);
    for s in &mut out {
        s.error_count = by_session.get(&s.session_id).copied().unwrap_or(0);
    }
    Ok(out)
}
