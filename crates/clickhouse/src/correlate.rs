//! The read side of log records, error occurrences and sessions: every query as
//! parameterised SQL over the `logs`, `errors` and `spans` tables.
//!
//! The backend-neutral rules (argument checks, log cursors, the bucket grid shared with span
//! histograms, group ranking and assembly) are `tracehouse_store_api::signals`, shared with the
//! embedded engine so that both answer alike:
//!
//! * log search and the log histogram compile the shared plan for [`Table::Logs`]; trace
//!   structure and duration sorts are refused. Pages are ordered by time, ties broken by
//!   the log id; a cursor carries the time as its key and the log id in its trace-id slot;
//! * error occurrences come newest first (ties: trace and span descending, then
//!   fingerprint);
//! * error groups aggregate the occurrences in the window (only those whose type or
//!   message contains the text filter, case-insensitively) by fingerprint; the newest
//!   occurrence gives a group its type, message and stack trace. Groups are ranked in SQL
//!   in the shared order (count, last seen, fingerprint); trends and example traces (the
//!   newest distinct traces) are read for the returned groups only;
//! * sessions aggregate the spans with a session id starting in the window, latest span
//!   end first; their error counts come from the `errors` table in the same window;
//! * an occurrence without a session of its own belongs to its trace root's
//!   (`tracehouse_store_api::error_sessions`), looked up in the `spans` table.

use std::collections::HashMap;

use clickhouse::{Client, Row};
use serde::Deserialize;
use tracehouse_model::{ErrorOccurrence, TraceId};
use tracehouse_query::Plan;
use tracehouse_store_api::error_sessions::{
    RootSessions, errors_per_session, fill_sessions, root_window, sessionless_traces,
    sessions_per_group, traces_of,
};
use tracehouse_store_api::session_pages::{
    PageLoads, URL_FIELDS, USER_AGENT_FIELDS, browser_request, fields, page_load,
};
use tracehouse_store_api::signals::{
    GroupCounts, assemble_groups, check_log_plan, check_log_query, empty_log_buckets, log_page,
};
use tracehouse_store_api::structure::empty_buckets;
use tracehouse_store_api::{
    ErrorGroups, ErrorGroupsQuery, ErrorQuery, HistogramQuery, LogHistogram, LogPage, SearchQuery,
    SessionSummary, SessionsQuery, StoreError,
};

use crate::read::{beyond, ch, dir, window_on};
use crate::row::{ERROR_COLUMNS, ErrorRow, LOG_READ_COLUMNS, LogReadRow, level_of};
use crate::sql::{Params, Table, compile, text_of};

/// Most example traces of an error group (as `assemble_groups` keeps).
const EXAMPLE_TRACES: usize = 5;

/// The window and the compiled filter of a logs plan.
fn log_filter(p: &mut Params, project_id: &str, start: i64, end: i64, plan: &Plan) -> String {
    format!(
        "{} AND {}",
        window_on(p, "time", project_id, start, end),
        compile(&plan.pushdown, Table::Logs, p)
    )
}

/// A page of log records.
pub(crate) async fn search_logs(client: &Client, q: &SearchQuery) -> Result<LogPage, StoreError> {
    check_log_query(q)?;
    let mut p = Params::default();
    let mut filter = log_filter(&mut p, &q.project_id, q.start_ns, q.end_ns, &q.plan);
    if let Some(cur) = &q.cursor {
        let k = p.i64(cur.key);
        let id = p.str(cur.trace_id.to_string());
        let b = beyond(q.sort);
        // The plain bound on `time` lets the primary key skip what the tuple excludes.
        filter.push_str(&format!(
            " AND time {b}= fromUnixTimestamp64Nano({k}) \
             AND (time, log_id) {b} (fromUnixTimestamp64Nano({k}), toFixedString(unhex({id}), 16))"
        ));
    }
    let d = dir(q.sort);
    let sql = format!(
        "SELECT {LOG_READ_COLUMNS} FROM logs WHERE {filter} \
         ORDER BY time {d}, log_id {d} LIMIT {}",
        q.limit.saturating_add(1)
    );
    let rows: Vec<LogReadRow> = p.bind(client.query(&sql)).fetch_all().await.map_err(ch)?;
    let logs: Vec<_> = rows.into_iter().map(LogReadRow::into_log).collect();
    Ok(log_page(logs, q))
}

#[derive(Debug, Row, Deserialize)]
struct LevelBucketRow {
    b: i64,
    level: String,
    n: u64,
}

/// Log record counts over time, per level.
pub(crate) async fn log_histogram(
    client: &Client,
    q: &HistogramQuery,
) -> Result<LogHistogram, StoreError> {
    check_log_plan(&q.plan)?;
    let (aligned, width, mut buckets) = empty_log_buckets(q.start_ns, q.end_ns, q.buckets)?;
    let mut p = Params::default();
    let a = p.i64(aligned);
    let w = p.i64(width);
    let sql = format!(
        "SELECT intDiv(toUnixTimestamp64Nano(time) - {a}, {w}) AS b, toString(level) AS level, \
         count() AS n FROM logs WHERE {} GROUP BY b, level",
        log_filter(&mut p, &q.project_id, q.start_ns, q.end_ns, &q.plan)
    );
    let rows: Vec<LevelBucketRow> = p.bind(client.query(&sql)).fetch_all().await.map_err(ch)?;
    for r in rows {
        if let Some(bucket) = usize::try_from(r.b).ok().and_then(|i| buckets.get_mut(i)) {
            bucket.count += r.n;
            *bucket.levels.entry(level_of(&r.level)).or_default() += r.n;
        }
    }
    Ok(LogHistogram {
        width_ns: width,
        buckets,
    })
}

/// What a root-session lookup is narrowed to.
enum Roots<'a> {
    /// The roots of these traces.
    Traces(&'a [TraceId]),
    /// The roots that carry one of these sessions.
    Sessions(&'a [String]),
}

#[derive(Debug, Row, Deserialize)]
struct RootRow {
    tid: [u8; 16],
    sid: String,
}

/// `trace_id IN (traces)` for a column of trace ids.
fn trace_in(p: &mut Params, column: &str, traces: &[TraceId]) -> String {
    let list = p.str_array(traces.iter().map(TraceId::to_string).collect());
    format!("{column} IN (SELECT toFixedString(unhex(arrayJoin({list})), 16))")
}

/// The sessions root spans give their traces (see
/// [`tracehouse_store_api::error_sessions`]): root spans of the project with a session in
/// the root window of `[start_ns, end_ns)`, narrowed to some traces or some sessions.
async fn root_sessions(
    client: &Client,
    project_id: &str,
    (start_ns, end_ns): (i64, i64),
    narrow: Roots<'_>,
) -> Result<RootSessions, StoreError> {
    let (start_ns, end_ns) = root_window(start_ns, end_ns);
    let mut p = Params::default();
    let mut filter = window_on(&mut p, "timestamp", project_id, start_ns, end_ns);
    filter.push_str(" AND parent_span_id IS NULL AND session_id IS NOT NULL AND session_id != ''");
    let narrow = match narrow {
        Roots::Traces(traces) => trace_in(&mut p, "trace_id", traces),
        Roots::Sessions(sessions) => {
            let list = p.str_array(sessions.to_vec());
            format!("has({list}, assumeNotNull(session_id))")
        }
    };
    let sql = format!(
        "SELECT trace_id AS tid, any(assumeNotNull(session_id)) AS sid FROM spans \
         WHERE {filter} AND {narrow} GROUP BY trace_id"
    );
    let rows: Vec<RootRow> = p.bind(client.query(&sql)).fetch_all().await.map_err(ch)?;
    Ok(rows.into_iter().map(|r| (TraceId(r.tid), r.sid)).collect())
}

/// Error occurrences, newest first; those without a session of their own carry their
/// trace root's.
pub(crate) async fn errors(
    client: &Client,
    q: &ErrorQuery,
) -> Result<Vec<ErrorOccurrence>, StoreError> {
    let window_ns = (q.start_ns, q.end_ns);
    let mut roots = match &q.session_id {
        Some(s) => {
            let one = [s.clone()];
            root_sessions(client, &q.project_id, window_ns, Roots::Sessions(&one)).await?
        }
        None => RootSessions::new(),
    };
    let mut p = Params::default();
    let mut filter = window_on(&mut p, "time", &q.project_id, q.start_ns, q.end_ns);
    if let Some(f) = &q.fingerprint {
        filter.push_str(&format!(" AND fingerprint = {}", p.str(f.as_str())));
    }
    if let Some(t) = &q.trace_id {
        filter.push_str(&format!(
            " AND trace_id = toFixedString(unhex({}), 16)",
            p.str(t.to_string())
        ));
    }
    if let Some(s) = &q.session_id {
        let own = format!("session_id = {}", p.str(s.as_str()));
        let traces = traces_of(&roots);
        if traces.is_empty() {
            filter.push_str(&format!(" AND {own}"));
        } else {
            let by_root = trace_in(&mut p, "trace_id", &traces);
            filter.push_str(&format!(
                " AND ({own} OR (session_id IS NULL AND {by_root}))"
            ));
        }
    }
    let sql = format!(
        "SELECT {ERROR_COLUMNS} FROM errors WHERE {filter} \
         ORDER BY time DESC, trace_id DESC NULLS LAST, span_id DESC NULLS LAST, \
         fingerprint ASC LIMIT {}",
        q.limit
    );
    let rows: Vec<ErrorRow> = p.bind(client.query(&sql)).fetch_all().await.map_err(ch)?;
    let mut out: Vec<ErrorOccurrence> = rows.into_iter().map(ErrorRow::into_error).collect();
    let missing = sessionless_traces(&out);
    if q.session_id.is_none() && !missing.is_empty() {
        roots = root_sessions(client, &q.project_id, window_ns, Roots::Traces(&missing)).await?;
    }
    fill_sessions(&mut out, &roots);
    Ok(out)
}

#[derive(Debug, Row, Deserialize)]
struct GroupRow {
    fingerprint: String,
    last_type: String,
    last_message: String,
    last_stacktrace: String,
    services: Vec<String>,
    n: u64,
    first_seen: i64,
    last_seen: i64,
    traces: u64,
}

#[derive(Debug, Row, Deserialize)]
struct GroupSessionRow {
    fingerprint: String,
    sid: String,
}

#[derive(Debug, Row, Deserialize)]
struct GroupTraceRow {
    fingerprint: String,
    tid: [u8; 16],
}

#[derive(Debug, Row, Deserialize)]
struct TrendRow {
    fingerprint: String,
    b: i64,
    n: u64,
}

#[derive(Debug, Row, Deserialize)]
struct ExampleRow {
    fingerprint: String,
    tid: [u8; 16],
    t: i64,
}

/// The occurrences a group query aggregates: the window, the fingerprint, the service, the
/// environment and the text filter on type or message (case-insensitive); `only` narrows to
/// the given groups.
fn group_filter(p: &mut Params, q: &ErrorGroupsQuery, only: Option<&[String]>) -> String {
    let mut filter = window_on(p, "time", &q.project_id, q.start_ns, q.end_ns);
    if let Some(f) = &q.fingerprint {
        filter.push_str(&format!(" AND fingerprint = {}", p.str(f.as_str())));
    }
    if let Some(s) = &q.service {
        filter.push_str(&format!(" AND service_name = {}", p.str(s.as_str())));
    }
    if let Some(e) = &q.environment {
        filter.push_str(&format!(" AND environment = {}", p.str(e.as_str())));
    }
    if let Some(t) = q.text.as_deref().filter(|t| !t.is_empty()) {
        let t = p.str(t.to_lowercase());
        filter.push_str(&format!(
            " AND (position(lowerUTF8(type), {t}) > 0 OR position(lowerUTF8(message), {t}) > 0)"
        ));
    }
    if let Some(list) = only {
        let list = p.str_array(list.to_vec());
        filter.push_str(&format!(" AND has({list}, fingerprint)"));
    }
    filter
}

/// Error groups with their trends and example traces.
pub(crate) async fn error_groups(
    client: &Client,
    q: &ErrorGroupsQuery,
) -> Result<ErrorGroups, StoreError> {
    let (aligned, width, grid) = empty_buckets(q.start_ns, q.end_ns, q.buckets)?;
    let mut p = Params::default();
    // Ranked in the order of `tracehouse_store_api::signals::rank_groups`.
    let sql = format!(
        "SELECT fingerprint, toString(argMax(type, time)) AS last_type, \
         argMax(message, time) AS last_message, argMax(stacktrace, time) AS last_stacktrace, \
         arraySort(groupUniqArray(toString(service_name))) AS services, count() AS n, \
         toUnixTimestamp64Nano(min(time)) AS first_seen, \
         toUnixTimestamp64Nano(max(time)) AS last_seen, \
         uniqExact(trace_id) AS traces \
         FROM errors WHERE {} GROUP BY fingerprint \
         ORDER BY n DESC, last_seen DESC, fingerprint ASC LIMIT {}",
        group_filter(&mut p, q, None),
        q.limit
    );
    let rows: Vec<GroupRow> = p.bind(client.query(&sql)).fetch_all().await.map_err(ch)?;
    let mut ranked: Vec<(String, GroupCounts)> = rows
        .into_iter()
        .map(|r| {
            let counts = GroupCounts {
                count: r.n,
                first_seen_ns: r.first_seen,
                last_seen_ns: r.last_seen,
                trace_count: r.traces,
                session_count: 0,
                services: r.services.into_iter().collect(),
                newest: (r.last_type, r.last_message, r.last_stacktrace),
            };
            (r.fingerprint, counts)
        })
        .collect();
    let fingerprints: Vec<String> = ranked.iter().map(|(f, _)| f.clone()).collect();
    let mut trends: HashMap<String, Vec<u64>> = HashMap::new();
    let mut examples: HashMap<String, Vec<(TraceId, i64)>> = HashMap::new();
    if !fingerprints.is_empty() {
        let sessions = group_sessions(client, q, &fingerprints).await?;
        for (fingerprint, g) in &mut ranked {
            g.session_count = sessions.get(fingerprint).copied().unwrap_or(0);
        }
        let mut p = Params::default();
        let a = p.i64(aligned);
        let w = p.i64(width);
        let sql = format!(
            "SELECT fingerprint, intDiv(toUnixTimestamp64Nano(time) - {a}, {w}) AS b, \
             count() AS n FROM errors WHERE {} GROUP BY fingerprint, b",
            group_filter(&mut p, q, Some(&fingerprints))
        );
        let rows: Vec<TrendRow> = p.bind(client.query(&sql)).fetch_all().await.map_err(ch)?;
        for r in rows {
            let trend = trends
                .entry(r.fingerprint)
                .or_insert_with(|| vec![0; grid.len()]);
            if let Some(slot) = usize::try_from(r.b).ok().and_then(|b| trend.get_mut(b)) {
                *slot += r.n;
            }
        }

        // The newest distinct traces of each group, in the order `assemble_groups` sorts
        // them, so the ones kept here are the ones it keeps.
        let mut p = Params::default();
        let sql = format!(
            "SELECT fingerprint, assumeNotNull(trace_id) AS tid, \
             toUnixTimestamp64Nano(max(time)) AS t FROM errors \
             WHERE {} AND trace_id IS NOT NULL GROUP BY fingerprint, trace_id \
             ORDER BY fingerprint, t DESC, tid ASC LIMIT {EXAMPLE_TRACES} BY fingerprint",
            group_filter(&mut p, q, Some(&fingerprints))
        );
        let rows: Vec<ExampleRow> = p.bind(client.query(&sql)).fetch_all().await.map_err(ch)?;
        for r in rows {
            examples
                .entry(r.fingerprint)
                .or_default()
                .push((TraceId(r.tid), r.t));
        }
    }
    Ok(ErrorGroups {
        start_ns: aligned,
        width_ns: width,
        groups: assemble_groups(ranked, grid.len(), trends, examples),
    })
}

/// Distinct sessions of each of the groups: the occurrences' own, and their trace roots'
/// for those without one.
async fn group_sessions(
    client: &Client,
    q: &ErrorGroupsQuery,
    fingerprints: &[String],
) -> Result<HashMap<String, u64>, StoreError> {
    let mut p = Params::default();
    let sql = format!(
        "SELECT fingerprint, assumeNotNull(session_id) AS sid FROM errors \
         WHERE {} AND session_id IS NOT NULL GROUP BY fingerprint, session_id",
        group_filter(&mut p, q, Some(fingerprints))
    );
    let own: Vec<GroupSessionRow> = p.bind(client.query(&sql)).fetch_all().await.map_err(ch)?;
    let mut p = Params::default();
    let sql = format!(
        "SELECT fingerprint, assumeNotNull(trace_id) AS tid FROM errors \
         WHERE {} AND session_id IS NULL AND trace_id IS NOT NULL \
         GROUP BY fingerprint, trace_id",
        group_filter(&mut p, q, Some(fingerprints))
    );
    let sessionless: Vec<GroupTraceRow> =
        p.bind(client.query(&sql)).fetch_all().await.map_err(ch)?;
    let traces: Vec<TraceId> = sessionless.iter().map(|r| TraceId(r.tid)).collect();
    let roots = if traces.is_empty() {
        RootSessions::new()
    } else {
        let window_ns = (q.start_ns, q.end_ns);
        root_sessions(client, &q.project_id, window_ns, Roots::Traces(&traces)).await?
    };
    Ok(sessions_per_group(
        own.into_iter().map(|r| (r.fingerprint, r.sid)),
        sessionless
            .into_iter()
            .map(|r| (r.fingerprint, TraceId(r.tid))),
        &roots,
    ))
}

#[derive(Debug, Row, Deserialize)]
struct SessionRow {
    sid: String,
    start_ns: i64,
    end_ns: i64,
    traces: u64,
    spans: u64,
    requests: u64,
    services: Vec<String>,
}

#[derive(Debug, Row, Deserialize)]
struct PageLoadRow {
    sid: String,
    start_ns: i64,
    url: Option<String>,
    ua: Option<String>,
}

/// The page loads of the sessions `ids` in the window, folded per session.
async fn page_loads(
    client: &Client,
    q: &SessionsQuery,
    ids: &[String],
) -> Result<PageLoads, StoreError> {
    let mut p = Params::default();
    let window = window_on(&mut p, "timestamp", &q.project_id, q.start_ns, q.end_ns);
    let list = p.str_array(ids.to_vec());
    let is_page_load = compile(&page_load(), Table::Spans, &mut p);
    let url = text_of(&fields(&URL_FIELDS), Table::Spans, &mut p);
    let ua = text_of(&fields(&USER_AGENT_FIELDS), Table::Spans, &mut p);
    let sql = format!(
        "SELECT assumeNotNull(session_id) AS sid, toUnixTimestamp64Nano(timestamp) AS start_ns, \
         {url} AS url, {ua} AS ua FROM spans \
         WHERE {window} AND session_id IS NOT NULL AND has({list}, assumeNotNull(session_id)) \
         AND {is_page_load}"
    );
    let rows: Vec<PageLoadRow> = p.bind(client.query(&sql)).fetch_all().await.map_err(ch)?;
    let mut pages = PageLoads::default();
    for r in &rows {
        pages.add(&r.sid, r.start_ns, r.url.as_deref(), r.ua.as_deref());
    }
    Ok(pages)
}

#[derive(Debug, Row, Deserialize)]
struct CountRow {
    sid: String,
    n: u64,
}

#[derive(Debug, Row, Deserialize)]
struct TraceCountRow {
    tid: [u8; 16],
    n: u64,
}

/// Sessions with spans starting in the window, most recently active (latest span end)
/// first.
pub(crate) async fn sessions(
    client: &Client,
    q: &SessionsQuery,
) -> Result<Vec<SessionSummary>, StoreError> {
    let mut p = Params::default();
    let mut filter = window_on(&mut p, "timestamp", &q.project_id, q.start_ns, q.end_ns);
    filter.push_str(" AND session_id IS NOT NULL AND session_id != ''");
    if let Some(s) = &q.session_id {
        filter.push_str(&format!(" AND session_id = {}", p.str(s.as_str())));
    }
    let requests = compile(&browser_request(), Table::Spans, &mut p);
    let sql = format!(
        "SELECT assumeNotNull(session_id) AS sid, \
         toUnixTimestamp64Nano(min(timestamp)) AS start_ns, \
         toUnixTimestamp64Nano(max(end_time)) AS end_ns, \
         uniqExact(trace_id) AS traces, count() AS spans, countIf({requests}) AS requests, \
         arraySort(groupUniqArray(toString(service_name))) AS services \
         FROM spans WHERE {filter} GROUP BY session_id \
         ORDER BY end_ns DESC, sid ASC LIMIT {}",
        q.limit
    );
    let rows: Vec<SessionRow> = p.bind(client.query(&sql)).fetch_all().await.map_err(ch)?;
    if rows.is_empty() {
        return Ok(Vec::new());
    }

    let mut p = Params::default();
    let list = p.str_array(rows.iter().map(|r| r.sid.clone()).collect());
    let sql = format!(
        "SELECT assumeNotNull(session_id) AS sid, count() AS n FROM errors \
         WHERE {} AND session_id IS NOT NULL AND has({list}, assumeNotNull(session_id)) \
         GROUP BY session_id",
        window_on(&mut p, "time", &q.project_id, q.start_ns, q.end_ns)
    );
    let counts: HashMap<String, u64> = p
        .bind(client.query(&sql))
        .fetch_all::<CountRow>()
        .await
        .map_err(ch)?
        .into_iter()
        .map(|r| (r.sid, r.n))
        .collect();
    // Occurrences without a session of their own count for their trace root's.
    let ids: Vec<String> = rows.iter().map(|r| r.sid.clone()).collect();
    let window_ns = (q.start_ns, q.end_ns);
    let roots = root_sessions(client, &q.project_id, window_ns, Roots::Sessions(&ids)).await?;
    let mut sessionless = Vec::new();
    if !roots.is_empty() {
        let mut p = Params::default();
        let window = window_on(&mut p, "time", &q.project_id, q.start_ns, q.end_ns);
        let by_root = trace_in(&mut p, "trace_id", &traces_of(&roots));
        let sql = format!(
            "SELECT assumeNotNull(trace_id) AS tid, count() AS n FROM errors \
             WHERE {window} AND session_id IS NULL AND {by_root} GROUP BY trace_id"
        );
        let counts: Vec<TraceCountRow> =
            p.bind(client.query(&sql)).fetch_all().await.map_err(ch)?;
        sessionless.extend(counts.into_iter().map(|r| (TraceId(r.tid), r.n)));
    }
    let counts = errors_per_session(counts, sessionless, &roots);
    let pages = page_loads(client, q, &ids).await?;

    Ok(rows
        .into_iter()
        .map(|r| {
            let mut s = SessionSummary {
                error_count: counts.get(&r.sid).copied().unwrap_or(0),
                duration_ns: r.end_ns.saturating_sub(r.start_ns).max(0),
                session_id: r.sid,
                start_ns: r.start_ns,
                end_ns: r.end_ns,
                trace_count: r.traces,
                span_count: r.spans,
                request_count: r.requests,
                services: r.services,
                ..SessionSummary::default()
            };
            pages.describe(&mut s);
            s
        })
        .collect())
}
