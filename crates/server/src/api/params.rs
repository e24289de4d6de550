//! What the query routes share in their parameters: the time window, bounded counts, the
//! query and its plan, and the search and histogram parameters of spans, traces and logs.

use serde::Deserialize;
use tracehouse_query::{Filter, Plan, Target, plan_for};
use tracehouse_store_api::sort::parse_sort;
use tracehouse_store_api::{
    HistogramQuery, MAX_SEARCH_LIMIT, SearchCursor, SearchQuery, SearchSort,
};
use utoipa::{IntoParams, ToSchema};

use super::ApiError;
use crate::time::{now_ns, parse_time};

/// Default page size of span listings and searches.
pub(super) const DEFAULT_LIMIT: usize = 100;
/// Default listing window: the last hour.
pub(super) const DEFAULT_WINDOW_NS: i64 = 3_600_000_000_000;
/// Default and maximum histogram (and trend) buckets.
const DEFAULT_BUCKETS: usize = 60;
pub(super) const MAX_BUCKETS: usize = 1000;

/// The `start`/`end` window of a request: RFC 3339 or ns; `end` defaults to now and `start`
/// to `default_ns` before `end`.
pub(super) fn time_window(
    start: Option<&str>,
    end: Option<&str>,
    default_ns: i64,
) -> Result<(i64, i64), ApiError> {
    let end_ns = match end {
        Some(t) => parse_time(t).map_err(ApiError::bad_request)?,
        None => now_ns(),
    };
    let start_ns = match start {
        Some(t) => parse_time(t).map_err(ApiError::bad_request)?,
        None => end_ns.saturating_sub(default_ns),
    };
    if start_ns >= end_ns {
        return Err(ApiError::bad_request("start must be before end"));
    }
    Ok((start_ns, end_ns))
}

/// A count parameter: `default` when absent, refused outside `1..=max`.
pub(super) fn bounded(
    name: &str,
    value: Option<usize>,
    default: usize,
    max: usize,
) -> Result<usize, ApiError> {
    match value.unwrap_or(default) {
        n if (1..=max).contains(&n) => Ok(n),
        _ => Err(ApiError::bad_request(format!(
            "{name} must be between 1 and {max}"
        ))),
    }
}

/// The language of a `query` parameter.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub(super) enum QueryLang {
    /// The tracehouse query language (the default).
    #[default]
    Tracehouse,
    /// Grafana Tempo's TraceQL, over spans only.
    Traceql,
}

/// Parses and plans the `query` parameter (empty: everything) for spans or logs, in the
/// language asked. What a plan cannot do on its target (structure on logs) the store
/// refuses as a bad request.
pub(super) fn plan_query(
    query: Option<&str>,
    lang: QueryLang,
    target: Target,
) -> Result<Plan, ApiError> {
    let text = query.unwrap_or("");
    match lang {
        QueryLang::Tracehouse => Ok(plan_for(&tracehouse_query::parse(text)?, target)),
        QueryLang::Traceql if target == Target::Logs => Err(ApiError::bad_request(
            "TraceQL queries spans: search logs with the tracehouse query language",
        )),
        QueryLang::Traceql if text.trim().is_empty() => Ok(Plan {
            pushdown: Filter::True,
            structure: None,
        }),
        QueryLang::Traceql => Ok(tracehouse_query::traceql::parse(text)?.plan),
    }
}

/// Query parameters of the span, trace and log searches.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub(super) struct SearchParams {
    /// A query in the tracehouse query language; empty or absent matches everything. A
    /// query that does not parse is a 400 whose error carries `start`, `end` and `expected`.
    /// `q` is taken as its name too.
    #[serde(alias = "q")]
    pub query: Option<String>,
    /// The language of `query`: `tracehouse` (the default) or `traceql` (spans only).
    #[param(value_type = Option<QueryLang>)]
    pub lang: Option<QueryLang>,
    /// Inclusive start of the window: RFC 3339 (`2026-11-25T10:00:00Z`) or nanoseconds since
    /// the epoch. Defaults to one hour before `end`; must be before `end`.
    pub start: Option<String>,
    /// Exclusive end of the window: RFC 3339 or nanoseconds since the epoch. Defaults to now.
    pub end: Option<String>,
    /// Result order: `time_desc` (empty, `newest`), `time_asc` (`oldest`), `duration_desc`,
    /// `duration_asc`, or `<key>:desc` / `<key>:asc` for any key of the query language (span
    /// search with a plain filter: numbers first, then text, then spans without the key; pages
    /// up to 10,000 rows deep).
    #[param(value_type = Option<SearchSort>)]
    pub sort: Option<String>,
    /// Page size: 1 to 1000; outside is a 400.
    #[param(minimum = 1, maximum = 1000, default = 100)]
    pub limit: Option<usize>,
    /// The `next_cursor` of the previous page (same query, window and sort); empty or absent
    /// starts at the first page. A malformed cursor or one of another sort is a 400.
    pub cursor: Option<String>,
}

/// [`SearchParams`] checked and planned for spans (span and trace search) or logs.
pub(super) fn search_query(
    project_id: String,
    p: &SearchParams,
    target: Target,
) -> Result<SearchQuery, ApiError> {
    let plan = plan_query(p.query.as_deref(), p.lang.unwrap_or_default(), target)?;
    let (start_ns, end_ns) = time_window(p.start.as_deref(), p.end.as_deref(), DEFAULT_WINDOW_NS)?;
    let limit = bounded("limit", p.limit, DEFAULT_LIMIT, MAX_SEARCH_LIMIT)?;
    let (sort, sort_key) = parse_sort(p.sort.as_deref().unwrap_or(""), target)?;
    let cursor = p
        .cursor
        .as_deref()
        .filter(|c| !c.is_empty())
        .map(str::parse::<SearchCursor>)
        .transpose()?;
    Ok(SearchQuery {
        project_id,
        plan,
        start_ns,
        end_ns,
        sort,
        sort_key,
        limit,
        cursor,
    })
}

/// Query parameters of the span and log histograms.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub(super) struct HistogramParams {
    /// A query in the tracehouse query language; empty or absent matches everything. A
    /// query that does not parse is a 400 whose error carries `start`, `end` and `expected`.
    /// `q` is taken as its name too.
    #[serde(alias = "q")]
    query: Option<String>,
    /// The language of `query`: `tracehouse` (the default) or `traceql` (spans only).
    #[param(value_type = Option<QueryLang>)]
    lang: Option<QueryLang>,
    /// Inclusive start of the window: RFC 3339 or nanoseconds since the epoch. Defaults to
    /// one hour before `end`; must be before `end`.
    start: Option<String>,
    /// Exclusive end of the window: RFC 3339 or nanoseconds since the epoch. Defaults to now.
    end: Option<String>,
    /// Wanted number of buckets over the window (the width is rounded up, so there may be
    /// slightly fewer): 1 to 1000; outside is a 400.
    #[param(minimum = 1, maximum = 1000, default = 60)]
    buckets: Option<usize>,
}

/// The histogram request of spans or logs.
pub(super) fn histogram_query(
    project_id: String,
    p: &HistogramParams,
    target: Target,
) -> Result<HistogramQuery, ApiError> {
    let plan = plan_query(p.query.as_deref(), p.lang.unwrap_or_default(), target)?;
    let (start_ns, end_ns) = time_window(p.start.as_deref(), p.end.as_deref(), DEFAULT_WINDOW_NS)?;
    Ok(HistogramQuery {
        project_id,
        plan,
        start_ns,
        end_ns,
        buckets: bounded("buckets", p.buckets, DEFAULT_BUCKETS, MAX_BUCKETS)?,
        traces: false,
    })
}
