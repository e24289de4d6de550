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
//!   end first; their error counts come from the `errors` table in the same window.

use std::collections::HashMap;

use clickhouse::{Client, Row};
use serde::Deserialize;
use tracehouse_model::{ErrorOccurrence, TraceId};
use tracehouse_query::Plan;
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
use crate::sql::{Params, Table, compile};

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

/// Error occurrences, newest first.
pub(crate) async fn errors(
    client: &Client,
    q: &ErrorQuery,
) -> Result<Vec<ErrorOccurrence>, StoreError> {
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
        filter.push_str(&format!(" AND session_id = {}", p.str(s.as_str())));
    }
    let sql = format!(
        "SELECT {ERROR_COLUMNS} FROM errors WHERE {filter} \
         ORDER BY time DESC, trace_id DESC NULLS LAST, span_id DESC NULLS LAST, \
         fingerprint ASC LIMIT {}",
        q.limit
    );
    let rows: Vec<ErrorRow> = p.bind(client.query(&sql)).fetch_all().await.map_err(ch)?;
    Ok(rows.into_iter().map(ErrorRow::into_error).collect())
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
    sessions: u64,
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

/// The occurrences a group query aggregates: the window, the fingerprint, and the text
/// filter on type or message (case-insensitive); `only` narrows to the given groups.
fn group_filter(p: &mut Params, q: &ErrorGroupsQuery, only: Option<&[String]>) -> String {
    let mut filter = window_on(p, "time", &q.project_id, q.start_ns, q.end_ns);
    if let Some(f) = &q.fingerprint {
        filter.push_str(&format!(" AND fingerprint = {}", p.str(f.as_str())));
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
         uniqExact(trace_id) AS traces, uniqExact(session_id) AS sessions \
         FROM errors WHERE {} GROUP BY fingerprint \
         ORDER BY n DESC, last_seen DESC, fingerprint ASC LIMIT {}",
        group_filter(&mut p, q, None),
        q.limit
    );
    let rows: Vec<GroupRow> = p.bind(client.query(&sql)).fetch_all().await.map_err(ch)?;
    let ranked: Vec<(String, GroupCounts)> = rows
        .into_iter()
        .map(|r| {
            let counts = GroupCounts {
                count: r.n,
                first_seen_ns: r.first_seen,
                last_seen_ns: r.last_seen,
                trace_count: r.traces,
                session_count: r.sessions,
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

#[derive(Debug, Row, Deserialize)]
struct SessionRow {
    sid: String,
    start_ns: i64,
    end_ns: i64,
    traces: u64,
    spans: u64,
    services: Vec<String>,
}

#[derive(Debug, Row, Deserialize)]
struct CountRow {
    sid: String,
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
    let sql = format!(
        "SELECT assumeNotNull(session_id) AS sid, \
         toUnixTimestamp64Nano(min(timestamp)) AS start_ns, \
         toUnixTimestamp64Nano(max(end_time)) AS end_ns, \
         uniqExact(trace_id) AS traces, count() AS spans, \
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

    Ok(rows
        .into_iter()
        .map(|r| SessionSummary {
            error_count: counts.get(&r.sid).copied().unwrap_or(0),
            duration_ns: r.end_ns.saturating_sub(r.start_ns).max(0),
            session_id: r.sid,
            start_ns: r.start_ns,
            end_ns: r.end_ns,
            trace_count: r.traces,
            span_count: r.spans,
            services: r.services,
        })
        .collect())
}
