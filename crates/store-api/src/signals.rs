//! The backend-neutral rules of log, error and session queries: argument checks, log
//! cursors, bucket grids and the assembly of error groups, so that every backend answers
//! alike.

use std::collections::{BTreeSet, HashMap};

use tracehouse_model::{LogRecord, SpanId, TraceId};
use tracehouse_query::Plan;

use crate::api::{ErrorGroup, LogBucket, LogPage, SearchQuery};
use crate::cursor::{SearchCursor, SearchSort};
use crate::error::StoreError;
use crate::structure::{check_cursor, empty_buckets};

/// Refuses trace structure in a logs plan: log records have no spans to relate.
pub fn check_log_plan(plan: &Plan) -> Result<(), StoreError> {
    if plan.structure.is_some() {
        return Err(StoreError::InvalidArgument(
            "structural queries ({…}, >>, pipelines) apply to traces, not to logs: \
             search logs with filters only (e.g. level:error trace_id:…)"
                .into(),
        ));
    }
    Ok(())
}

/// Refuses what a log search cannot do: trace structure, duration and key sorts, a cursor
/// of another order.
pub fn check_log_query(q: &SearchQuery) -> Result<(), StoreError> {
    check_log_plan(&q.plan)?;
    crate::sort::refuse_key_order(q, "log search")?;
    if q.sort.by_duration() {
        return Err(StoreError::InvalidArgument(format!(
            "log records have no duration: sort by time_desc or time_asc, not {}",
            q.sort.as_str()
        )));
    }
    check_cursor(q)
}

/// The cursor that continues after `log`: its time, with the log id in the trace id slot.
pub fn log_cursor(sort: SearchSort, log: &LogRecord) -> SearchCursor {
    SearchCursor {
        sort,
        key: log.time_unix_nano,
        trace_id: TraceId(log.log_id.0),
        span_id: SpanId::default(),
    }
}

/// The page of a log search from up to `limit + 1` records fetched in order: the extra
/// record, when there is one, only says that a next page exists.
pub fn log_page(mut logs: Vec<LogRecord>, q: &SearchQuery) -> LogPage {
    let next_cursor = if logs.len() > q.limit {
        logs.truncate(q.limit);
        logs.last().map(|l| log_cursor(q.sort, l))
    } else {
        None
    };
    LogPage { logs, next_cursor }
}

/// The empty buckets of a log histogram: `(aligned start, width, buckets)` on the same grid
/// as span histograms.
pub fn empty_log_buckets(
    start_ns: i64,
    end_ns: i64,
    requested: usize,
) -> Result<(i64, i64, Vec<LogBucket>), StoreError> {
    let (aligned, width, buckets) = empty_buckets(start_ns, end_ns, requested)?;
    let buckets = buckets
        .into_iter()
        .map(|b| LogBucket {
            start: b.start,
            end: b.end,
            count: 0,
            levels: Default::default(),
        })
        .collect();
    Ok((aligned, width, buckets))
}

/// Occurrence counts of one fingerprint, as a backend aggregates them.
#[derive(Debug, Clone, Default)]
pub struct GroupCounts {
    /// Occurrences.
    pub count: u64,
    /// Earliest occurrence, ns.
    pub first_seen_ns: i64,
    /// Latest occurrence, ns.
    pub last_seen_ns: i64,
    /// Distinct traces.
    pub trace_count: u64,
    /// Distinct sessions.
    pub session_count: u64,
    /// Services.
    pub services: BTreeSet<String>,
    /// Type, message and stack trace of the newest occurrence.
    pub newest: (String, String, String),
}

/// Orders groups (most occurrences, then most recent, then fingerprint) and keeps `limit`.
pub fn rank_groups(groups: &mut Vec<(String, GroupCounts)>, limit: usize) {
    groups.sort_by(|(fa, a), (fb, b)| {
        b.count
            .cmp(&a.count)
            .then(b.last_seen_ns.cmp(&a.last_seen_ns))
            .then(fa.cmp(fb))
    });
    groups.truncate(limit);
}

/// Builds the groups from their counts, trends (`fingerprint → per-bucket counts`) and
/// example traces (`fingerprint → (trace, newest time)` pairs, any order).
pub fn assemble_groups(
    ranked: Vec<(String, GroupCounts)>,
    trend_len: usize,
    mut trends: HashMap<String, Vec<u64>>,
    mut examples: HashMap<String, Vec<(TraceId, i64)>>,
) -> Vec<ErrorGroup> {
    ranked
        .into_iter()
        .map(|(fingerprint, g)| {
            let trend = trends
                .remove(&fingerprint)
                .unwrap_or_else(|| vec![0; trend_len]);
            let mut ex = examples.remove(&fingerprint).unwrap_or_default();
            ex.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
            let (error_type, message, stacktrace) = g.newest;
            ErrorGroup {
                fingerprint,
                error_type,
                message,
                stacktrace,
                services: g.services.into_iter().collect(),
                count: g.count,
                first_seen_ns: g.first_seen_ns,
                last_seen_ns: g.last_seen_ns,
                trace_count: g.trace_count,
                session_count: g.session_count,
                trend,
                example_trace_ids: ex.into_iter().take(5).map(|(t, _)| t).collect(),
            }
        })
        .collect()
}
