//! The backend-neutral `Store` trait: what the server needs from any storage engine.
//! The embedded engine and the ClickHouse backend implement it and pass the same suites.

use std::collections::BTreeMap;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use tracehouse_model::{ErrorOccurrence, Level, LogRecord, MetricPoint, Span, SpanId, TraceId};
use tracehouse_query::plan::{CmpOp, Filter, Intrinsic, Target, Value};
use tracehouse_query::{Field, Plan};
use utoipa::ToSchema;
use utoipa::openapi::schema::{Object, ObjectBuilder, Type};

use crate::alerts::{AlertEvent, AlertRule, AlertState};
use crate::cursor::{SearchCursor, SearchSort};
use crate::error::StoreError;
use crate::metrics::scan::{EachSpan, SpanScan, page_through};
use crate::metrics::{SpanMetricsAnswer, SpanMetricsQuery};
use crate::otel_metrics::{MetricInfo, MetricNamesQuery, MetricPointsQuery};
use crate::replay::{ReplayChunk, ReplayPage, ReplayQuery};
use crate::views::SavedView;

/// Whether a [`StoreMetric`] can go down (a gauge) or only up (a counter).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum MetricKind {
    /// A level that rises and falls (bytes waiting, live parts).
    Gauge,
    /// A running total since the store opened (flushes, seconds spent).
    Counter,
}

/// One number a backend reports about itself, exported on `/metrics` under its own name:
/// each backend says what it has (a write-ahead log, parts, an insert queue) in its own
/// words, and nothing is filled with another backend's meaning.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StoreMetric {
    /// Metric name, without the server's `tracehouse_` prefix (`wal_bytes`).
    pub name: &'static str,
    /// What it measures, for the metric's help text.
    pub help: &'static str,
    /// Gauge or counter.
    pub kind: MetricKind,
    /// The current value.
    pub value: f64,
}

impl StoreMetric {
    /// A gauge.
    pub fn gauge(name: &'static str, help: &'static str, value: f64) -> StoreMetric {
        StoreMetric {
            name,
            help,
            kind: MetricKind::Gauge,
            value,
        }
    }

    /// A counter.
    pub fn counter(name: &'static str, help: &'static str, value: f64) -> StoreMetric {
        StoreMetric {
            name,
            help,
            kind: MetricKind::Counter,
            value,
        }
    }
}

/// What is wrong with a store right now, for readiness and metrics. Empty when all is well.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct StoreHealth {
    /// Why writes are being refused (a write-ahead log that cannot be written: a full disk,
    /// say), per table. Writes resume by themselves once the cause is gone.
    pub write_failures: Vec<String>,
    /// Why the last flush of a table failed, until one succeeds (retried in the background).
    pub flush_failures: Vec<String>,
    /// Parts set aside as damaged: their rows are not served.
    pub quarantined: Vec<QuarantinedPart>,
}

/// A part set aside as damaged: its files are kept aside, its rows are not served.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema, Deserialize)]
pub struct QuarantinedPart {
    /// The table it belonged to.
    #[schema(schema_with = table_schema)]
    pub table: String,
    /// Its part id (names its files in the quarantine directory).
    pub part_id: u64,
    /// The project whose rows it held.
    pub project_id: String,
    /// Rows it held, no longer served.
    pub rows: u64,
    /// What was wrong with it.
    pub reason: String,
}

/// The schema of [`QuarantinedPart::table`]: the tables a backend keeps.
fn table_schema() -> Object {
    ObjectBuilder::new()
        .schema_type(Type::String)
        .enum_values(Some(["spans", "logs", "errors"]))
        .description(Some("The table it belonged to."))
        .build()
}

impl StoreHealth {
    /// Whether the store takes writes and keeps them moving to parts.
    pub fn is_ready(&self) -> bool {
        self.write_failures.is_empty() && self.flush_failures.is_empty()
    }
}

/// Most candidate traces a structural query (or a trace search) evaluates in memory.
pub const MAX_CANDIDATE_TRACES: usize = 10_000;
/// Largest page of a search.
pub const MAX_SEARCH_LIMIT: usize = 1000;

/// A search over spans, traces or log records: a compiled query in a time window of one
/// project. For logs the plan is compiled for logs (`plan_for(q, Target::Logs)`), has no
/// structure, sorts only by time, and the cursor carries the log id where spans put the
/// trace id.
#[derive(Debug, Clone)]
pub struct SearchQuery {
    /// Only rows of this project.
    pub project_id: String,
    /// The compiled query (`tracehouse_query::plan`).
    pub plan: Plan,
    /// Inclusive lower bound of the span start (log record time), ns.
    pub start_ns: i64,
    /// Exclusive upper bound of the span start (log record time), ns.
    pub end_ns: i64,
    /// Result order.
    pub sort: SearchSort,
    /// The key a [`SearchSort::KeyAsc`]/[`SearchSort::KeyDesc`] order reads (see
    /// [`crate::sort`]); `None` under the other orders.
    pub sort_key: Option<Field>,
    /// Page size, 1..=[`MAX_SEARCH_LIMIT`].
    pub limit: usize,
    /// Continue after this position (from a previous page with the same query and sort).
    pub cursor: Option<SearchCursor>,
}

/// One page of a span search.
#[derive(Debug, Clone)]
pub struct SearchPage {
    /// Matching spans in the requested order.
    pub spans: Vec<Span>,
    /// Where the next page starts, when there may be one.
    pub next_cursor: Option<SearchCursor>,
    /// Set when a structural query had more candidate traces than
    /// [`MAX_CANDIDATE_TRACES`]: only the newest candidates were evaluated.
    pub candidates_truncated: bool,
}

/// One trace in a trace search.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct TraceSummary {
    /// The trace.
    pub trace_id: TraceId,
    /// Service of the root span (the earliest span without a parent in the trace; the
    /// earliest span when none is a root).
    pub root_service: String,
    /// Name of that span.
    pub root_name: String,
    /// Earliest span start, ns.
    pub start_ns: i64,
    /// Latest span end minus earliest start, ns.
    pub duration_ns: i64,
    /// Spans stored for the trace.
    pub span_count: u64,
    /// Spans with `has_error`.
    pub error_count: u64,
    /// Distinct services, sorted.
    pub services: Vec<String>,
    /// The spans that matched the query (inside the time window), in start order.
    pub matched_span_ids: Vec<SpanId>,
}

/// One page of a trace search.
#[derive(Debug, Clone)]
pub struct TracePage {
    /// Matching traces. Ordered by the start of their earliest matching span (time sorts)
    /// or by their longest matching span (duration sorts).
    pub traces: Vec<TraceSummary>,
    /// Where the next page starts, when there may be one.
    pub next_cursor: Option<SearchCursor>,
    /// See [`SearchPage::candidates_truncated`].
    pub candidates_truncated: bool,
}

/// A request for span counts over time.
#[derive(Debug, Clone)]
pub struct HistogramQuery {
    /// Only spans of this project.
    pub project_id: String,
    /// The compiled query.
    pub plan: Plan,
    /// Inclusive lower bound, ns.
    pub start_ns: i64,
    /// Exclusive upper bound, ns.
    pub end_ns: i64,
    /// Wanted number of buckets (the width is rounded up to a nice value, so there may be
    /// slightly fewer).
    pub buckets: usize,
    /// Count traces instead of spans: each matching trace once, in the bucket of its earliest
    /// matching span in the range; `error_count` then counts the traces with a failed
    /// matching span.
    pub traces: bool,
}

/// One histogram bucket: spans starting in `[start, end)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
pub struct Bucket {
    /// Bucket start, ns (a multiple of the width).
    pub start: i64,
    /// Bucket end, ns.
    pub end: i64,
    /// Matching spans.
    pub count: u64,
    /// Matching spans with `has_error`.
    pub error_count: u64,
}

/// Span counts over time.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct Histogram {
    /// Bucket width, ns.
    pub width_ns: i64,
    /// Consecutive buckets covering the requested range.
    pub buckets: Vec<Bucket>,
    /// Set when a structural query had more candidate traces than a store evaluates: only
    /// the newest candidates were counted.
    pub candidates_truncated: bool,
}

/// Where a key lives.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum KeyScope {
    /// A built-in field.
    Intrinsic,
    /// A span attribute.
    Span,
    /// A resource attribute.
    Resource,
}

/// A key seen in a time range, for autocomplete.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct KeyInfo {
    /// The key as a query reads it: attributes without scope prefix, unless the plain key
    /// names a built-in field or its short alias (then `span.key` / `resource.key`).
    pub key: String,
    /// Where it lives.
    pub scope: KeyScope,
    /// The most frequent value type: `string`, `int`, `float`, `bool`, `bytes`, `array`,
    /// `map`, `duration`, `id`, `timestamp`.
    #[serde(rename = "type")]
    #[schema(schema_with = value_type_schema)]
    pub value_type: String,
    /// Spans that have it.
    pub count: u64,
}

/// The value types a [`KeyInfo`] names.
const VALUE_TYPES: [&str; 10] = [
    "string",
    "int",
    "float",
    "bool",
    "bytes",
    "array",
    "map",
    "duration",
    "id",
    "timestamp",
];

/// The schema of [`KeyInfo::value_type`]: one of [`VALUE_TYPES`].
fn value_type_schema() -> Object {
    ObjectBuilder::new()
        .schema_type(Type::String)
        .enum_values(Some(VALUE_TYPES))
        .description(Some("The most frequent value type."))
        .build()
}

/// A request for the keys seen in a time range.
#[derive(Debug, Clone)]
pub struct KeysQuery {
    /// The project.
    pub project_id: String,
    /// Keys of spans or of log records.
    pub target: Target,
    /// Inclusive lower bound, ns (counted exactly: see [`crate::stats::HourSplit`]).
    pub start_ns: i64,
    /// Exclusive upper bound, ns.
    pub end_ns: i64,
    /// Only keys starting with this.
    pub prefix: String,
    /// At most this many keys (most frequent first).
    pub limit: usize,
}

/// A request for the top values of one key.
#[derive(Debug, Clone)]
pub struct ValuesQuery {
    /// The project.
    pub project_id: String,
    /// Values in spans or in log records.
    pub target: Target,
    /// The key, resolved for the target (`tracehouse_query::plan::resolve_key`).
    pub field: Field,
    /// Inclusive lower bound, ns (counted exactly: see [`crate::stats::HourSplit`]).
    pub start_ns: i64,
    /// Exclusive upper bound, ns.
    pub end_ns: i64,
    /// Only values starting with this (case-insensitive).
    pub prefix: String,
    /// At most this many values (most frequent first).
    pub limit: usize,
}

/// A value with how many spans have it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct ValueCount {
    /// The value as text.
    pub value: String,
    /// Spans with it (approximate for keys with very many distinct values).
    pub count: u64,
}

/// One page of a log search.
#[derive(Debug, Clone)]
pub struct LogPage {
    /// Matching records in the requested order (ties broken by log id).
    pub logs: Vec<LogRecord>,
    /// Where the next page starts, when there may be one.
    pub next_cursor: Option<SearchCursor>,
}

/// Log record counts over time, per level.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct LogHistogram {
    /// Bucket width, ns.
    pub width_ns: i64,
    /// Consecutive buckets covering the requested range.
    pub buckets: Vec<LogBucket>,
}

/// One bucket of a log histogram: records with a time in `[start, end)`.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct LogBucket {
    /// Bucket start, ns.
    pub start: i64,
    /// Bucket end, ns.
    pub end: i64,
    /// Matching records.
    pub count: u64,
    /// Matching records per level (levels without records are left out).
    pub levels: BTreeMap<Level, u64>,
}

/// Which error occurrences to read.
#[derive(Debug, Clone, Default)]
pub struct ErrorQuery {
    /// The project.
    pub project_id: String,
    /// Inclusive lower bound of the occurrence time, ns.
    pub start_ns: i64,
    /// Exclusive upper bound, ns.
    pub end_ns: i64,
    /// Only this group.
    pub fingerprint: Option<String>,
    /// Only this trace.
    pub trace_id: Option<TraceId>,
    /// Only this session.
    pub session_id: Option<String>,
    /// At most this many, newest first.
    pub limit: usize,
}

/// A request for error groups.
#[derive(Debug, Clone)]
pub struct ErrorGroupsQuery {
    /// The project.
    pub project_id: String,
    /// Inclusive lower bound, ns.
    pub start_ns: i64,
    /// Exclusive upper bound, ns.
    pub end_ns: i64,
    /// Only groups whose type or message contains this text (case-insensitive).
    pub text: Option<String>,
    /// Only this group (for a group's own page).
    pub fingerprint: Option<String>,
    /// Only occurrences raised by this service (the `service_name` of the span, or log
    /// record, they come from): groups without one are left out, and every number and the
    /// trend of the others count only this service's occurrences.
    pub service: Option<String>,
    /// Only occurrences of this deployment environment (that of their span or log record).
    pub environment: Option<String>,
    /// At most this many groups, most occurrences first.
    pub limit: usize,
    /// Buckets of each group's trend over the range.
    pub buckets: usize,
}

/// Occurrences of one error fingerprint in a time range.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct ErrorGroup {
    /// The group key: 16 lowercase hex digits.
    #[schema(pattern = "^[0-9a-f]{16}$")]
    pub fingerprint: String,
    /// Error type of the newest occurrence.
    #[serde(rename = "type")]
    pub error_type: String,
    /// Message of the newest occurrence.
    pub message: String,
    /// Stack trace of the newest occurrence.
    pub stacktrace: String,
    /// Services it happened in, sorted.
    pub services: Vec<String>,
    /// Occurrences in the range.
    pub count: u64,
    /// Earliest occurrence in the range, ns.
    pub first_seen_ns: i64,
    /// Latest occurrence in the range, ns.
    pub last_seen_ns: i64,
    /// Distinct traces affected.
    pub trace_count: u64,
    /// Distinct sessions affected.
    pub session_count: u64,
    /// Occurrences per bucket of `width_ns` from `start_ns` of the enclosing answer.
    pub trend: Vec<u64>,
    /// Up to five traces of the newest occurrences, newest first.
    pub example_trace_ids: Vec<TraceId>,
}

/// Error groups with trends on one bucket grid.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct ErrorGroups {
    /// Start of the first trend bucket, ns.
    pub start_ns: i64,
    /// Trend bucket width, ns.
    pub width_ns: i64,
    /// Groups, most occurrences first.
    pub groups: Vec<ErrorGroup>,
}

/// A request for recent sessions.
#[derive(Debug, Clone)]
pub struct SessionsQuery {
    /// The project.
    pub project_id: String,
    /// Sessions with a span starting in `[start_ns, end_ns)`.
    pub start_ns: i64,
    /// Exclusive upper bound, ns.
    pub end_ns: i64,
    /// Only this session (for a session's own page).
    pub session_id: Option<String>,
    /// At most this many, most recently active first.
    pub limit: usize,
}

/// A browser (or client) session seen through its spans.
#[derive(Debug, Clone, Default, PartialEq, Serialize, ToSchema)]
pub struct SessionSummary {
    /// The session id.
    pub session_id: String,
    /// Earliest span start, ns.
    pub start_ns: i64,
    /// Latest span end, ns.
    pub end_ns: i64,
    /// `end_ns - start_ns`.
    pub duration_ns: i64,
    /// Distinct traces.
    pub trace_count: u64,
    /// Spans.
    pub span_count: u64,
    /// Error occurrences tied to the session.
    pub error_count: u64,
    /// Services involved, sorted.
    pub services: Vec<String>,
    /// Page loads (OpenTelemetry's `documentLoad` spans).
    pub page_count: u64,
    /// Network requests of the browser: HTTP client spans of an OpenTelemetry web SDK
    /// (`telemetry.sdk.language` `webjs`).
    pub request_count: u64,
    /// The browser, read from the first page load's user agent, e.g. `Chrome 131 on Linux`.
    pub browser: Option<String>,
    /// URL of the first page loaded.
    pub entry_page: Option<String>,
    /// URL of the last page loaded.
    pub exit_page: Option<String>,
    /// One line: the entry page's path → the last page's, with the number of page loads when
    /// there were more.
    pub summary: Option<String>,
}

/// Everything of one session on one timeline.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct SessionDetail {
    /// The session's numbers.
    pub session: SessionSummary,
    /// Its traces (network requests and what they triggered), oldest first.
    pub traces: Vec<TraceSummary>,
    /// Its errors, oldest first.
    pub errors: Vec<ErrorOccurrence>,
    /// Its log records, oldest first.
    pub logs: Vec<LogRecord>,
}

/// The filter `session_id = id`.
fn session_filter(session_id: &str) -> Filter {
    Filter::Cmp {
        field: Field::Intrinsic(Intrinsic::SessionId),
        op: CmpOp::Eq,
        value: Value::Str(session_id.to_string()),
    }
}

/// The filter `trace_id = id`.
pub fn trace_filter(trace_id: TraceId) -> Filter {
    Filter::Cmp {
        field: Field::Intrinsic(Intrinsic::TraceId),
        op: CmpOp::Eq,
        value: Value::Str(trace_id.to_string()),
    }
}

/// A plan with only a pushdown filter.
fn filter_plan(filter: Filter) -> Plan {
    Plan {
        pushdown: filter,
        structure: None,
    }
}

/// A storage engine for spans, log records, OTLP metric points and the error occurrences derived
/// from spans and logs.
#[async_trait]
pub trait Store: Send + Sync {
    /// Stores spans (and the error occurrences of their `exception` events) durably; returns
    /// only once they survive a crash.
    async fn write_spans(&self, spans: Vec<Span>) -> Result<(), StoreError>;
    /// All spans of one trace in a project, ordered by start time; empty when unknown.
    async fn trace(&self, project_id: &str, trace_id: TraceId) -> Result<Vec<Span>, StoreError>;
    /// Spans matching a query in a time window, in the requested order, one page at a time.
    /// Structural queries evaluate at most [`MAX_CANDIDATE_TRACES`] candidate traces.
    async fn search_spans(&self, query: &SearchQuery) -> Result<SearchPage, StoreError>;
    /// Traces with at least one span matching the query in the window (for structural
    /// queries: traces whose structure matches), one row per trace.
    async fn search_traces(&self, query: &SearchQuery) -> Result<TracePage, StoreError>;
    /// Counts of matching spans over time, split by error.
    async fn histogram(&self, query: &HistogramQuery) -> Result<Histogram, StoreError>;
    /// Intrinsic and attribute keys of spans or log records seen in the range, from
    /// statistics kept at ingest.
    async fn keys(&self, query: &KeysQuery) -> Result<Vec<KeyInfo>, StoreError>;
    /// Most frequent values of a key in the range, from statistics kept at ingest.
    async fn values(&self, query: &ValuesQuery) -> Result<Vec<ValueCount>, StoreError>;
    /// Stores log records (and the error occurrences of error logs with `exception.*`
    /// attributes) durably; returns only once they survive a crash.
    async fn write_logs(&self, logs: Vec<LogRecord>) -> Result<(), StoreError>;
    /// Log records matching a query in a time window, one page at a time.
    async fn search_logs(&self, query: &SearchQuery) -> Result<LogPage, StoreError>;
    /// Counts of matching log records over time, per level (the plan is a logs plan).
    async fn log_histogram(&self, query: &HistogramQuery) -> Result<LogHistogram, StoreError>;
    /// Error occurrences matching the query, newest first.
    async fn errors(&self, query: &ErrorQuery) -> Result<Vec<ErrorOccurrence>, StoreError>;
    /// Error occurrences grouped by fingerprint, most frequent first, with trends.
    async fn error_groups(&self, query: &ErrorGroupsQuery) -> Result<ErrorGroups, StoreError>;
    /// Sessions with spans in the window, most recently active first.
    async fn sessions(&self, query: &SessionsQuery) -> Result<Vec<SessionSummary>, StoreError>;
    /// Stores chunks of session recordings durably; returns only once they survive a crash.
    /// A chunk sent again (same project, session and sequence) is answered once by
    /// [`Store::replay`].
    async fn write_replay(&self, chunks: Vec<ReplayChunk>) -> Result<(), StoreError>;
    /// A page of one session's recording, in sequence order (see
    /// [`crate::replay::replay_page`]).
    async fn replay(&self, query: &ReplayQuery) -> Result<ReplayPage, StoreError>;
    /// Stores OTLP metric data points durably; returns only once they survive a crash.
    async fn write_metric_points(&self, points: Vec<MetricPoint>) -> Result<(), StoreError>;
    /// The metrics of a project with points in the window, by name (see
    /// [`crate::otel_metrics::metric_names`]).
    async fn metric_names(&self, query: &MetricNamesQuery) -> Result<Vec<MetricInfo>, StoreError>;
    /// Every point of one metric in the window that matches the query's label filter
    /// ([`crate::otel_metrics::point_matches`]), in no particular order; refused past
    /// [`crate::otel_metrics::MAX_METRIC_POINTS`] matching points.
    async fn metric_points(
        &self,
        query: &MetricPointsQuery,
    ) -> Result<Vec<MetricPoint>, StoreError>;
    /// Span metrics (counts, errors, duration percentiles) over time from what is kept at
    /// ingest, per [`crate::metrics`]'s rules: the query is checked with
    /// [`SpanMetricsQuery::check`] once the store folded its filter
    /// ([`crate::stats::FilteredQuery`]).
    async fn span_metrics(&self, query: &SpanMetricsQuery)
    -> Result<SpanMetricsAnswer, StoreError>;
    /// Calls `each` on every span of `scan` (`matching` of them when counted), in no
    /// particular order, each holding at least the parts the scan asks for; past
    /// [`crate::metrics::scan::MAX_SCAN_SPANS`] read (written since the count), refuses the
    /// scan as [`crate::metrics::scan::each_matching`] does. For the aggregations computed
    /// outside the stores (span metrics by other keys, alerts, the service map, TraceQL's
    /// metrics), which call it through `each_matching`. By default, pages through
    /// [`Store::search_spans`] ([`crate::metrics::scan::page_through`]).
    async fn scan_spans(
        &self,
        scan: &SpanScan<'_>,
        _matching: u64,
        each: &mut EachSpan<'_>,
    ) -> Result<(), StoreError> {
        page_through(self, scan, each).await
    }
    /// Makes everything written so far part of the long-term storage (used at shutdown).
    async fn flush(&self) -> Result<(), StoreError>;
    /// The project's saved views, by name.
    async fn views(&self, project_id: &str) -> Result<Vec<SavedView>, StoreError>;
    /// Stores a checked view durably, replacing one of the same name (use
    /// [`Store::save_view`], which checks it).
    async fn put_view(&self, project_id: &str, view: SavedView) -> Result<(), StoreError>;
    /// Deletes the project's view of that name durably; false when there was none.
    async fn delete_view(&self, project_id: &str, name: &str) -> Result<bool, StoreError>;

    /// Saves a view of the project (replacing one of the same name) once it is within the
    /// bounds of [`crate::views`].
    async fn save_view(&self, project_id: &str, view: SavedView) -> Result<(), StoreError> {
        view.check()?;
        crate::views::check_room(&self.views(project_id).await?, &view.name)?;
        self.put_view(project_id, view).await
    }
    /// The project's alert rules, by id.
    async fn alert_rules(&self, project_id: &str) -> Result<Vec<AlertRule>, StoreError>;
    /// Stores a checked rule durably, replacing one of the same id (use
    /// [`Store::save_alert_rule`], which checks it).
    async fn put_alert_rule(&self, project_id: &str, rule: AlertRule) -> Result<(), StoreError>;
    /// Deletes the project's rule of that id and its state durably (its history stays
    /// until it ages out); false when there was none.
    async fn delete_alert_rule(&self, project_id: &str, id: &str) -> Result<bool, StoreError>;
    /// The states of the project's rules (those evaluated at least once).
    async fn alert_states(&self, project_id: &str) -> Result<Vec<AlertState>, StoreError>;
    /// Stores a rule's state durably, replacing the previous one.
    async fn put_alert_state(&self, project_id: &str, state: AlertState) -> Result<(), StoreError>;
    /// Appends entries to rules' histories durably (a store may drop all but the newest
    /// [`crate::alerts::MAX_HISTORY_PER_RULE`] of a rule).
    async fn add_alert_events(
        &self,
        project_id: &str,
        events: Vec<AlertEvent>,
    ) -> Result<(), StoreError>;
    /// A rule's history, newest first, at most `limit` entries.
    async fn alert_history(
        &self,
        project_id: &str,
        rule_id: &str,
        limit: usize,
    ) -> Result<Vec<AlertEvent>, StoreError>;
    /// Takes or renews the lease of the alert evaluator for `holder` until `now_ns + ttl_ns`:
    /// true when `holder` holds it. Servers sharing a backend evaluate alerts only while they
    /// hold it; a single-node backend always grants it.
    async fn alert_lease(&self, holder: &str, now_ns: i64, ttl_ns: i64)
    -> Result<bool, StoreError>;

    /// Saves an alert rule of the project (replacing one of the same id) once it is within
    /// the bounds of [`crate::alerts`].
    async fn save_alert_rule(&self, project_id: &str, rule: AlertRule) -> Result<(), StoreError> {
        rule.check()?;
        crate::alerts::check_room(&self.alert_rules(project_id).await?, &rule.id)?;
        self.put_alert_rule(project_id, rule).await
    }
    /// The backend's own numbers, for the metrics endpoint.
    fn metrics(&self) -> Vec<StoreMetric>;
    /// What is wrong right now (refused writes, failing flushes, quarantined data), for
    /// readiness and metrics. A backend whose storage is a remote server's reports its
    /// failures through errors of the operations instead, and answers an empty health.
    fn health(&self) -> StoreHealth {
        StoreHealth::default()
    }

    /// The log records of one trace, oldest first (at most [`MAX_SEARCH_LIMIT`]).
    async fn trace_logs(
        &self,
        project_id: &str,
        trace_id: TraceId,
    ) -> Result<Vec<LogRecord>, StoreError> {
        let page = self
            .search_logs(&SearchQuery {
                project_id: project_id.to_string(),
                plan: filter_plan(trace_filter(trace_id)),
                start_ns: i64::MIN,
                end_ns: i64::MAX,
                sort: SearchSort::TimeAsc,
                sort_key: None,
                limit: MAX_SEARCH_LIMIT,
                cursor: None,
            })
            .await?;
        Ok(page.logs)
    }

    /// One session's traces, errors and logs in `[start_ns, end_ns)`; `None` when the
    /// session has no spans there.
    async fn session(
        &self,
        project_id: &str,
        session_id: &str,
        start_ns: i64,
        end_ns: i64,
    ) -> Result<Option<SessionDetail>, StoreError> {
        let found = self
            .sessions(&SessionsQuery {
                project_id: project_id.to_string(),
                start_ns,
                end_ns,
                session_id: Some(session_id.to_string()),
                limit: 1,
            })
            .await?;
        let Some(session) = found.into_iter().next() else {
            return Ok(None);
        };
        let traces = self
            .search_traces(&SearchQuery {
                project_id: project_id.to_string(),
                plan: filter_plan(session_filter(session_id)),
                start_ns,
                end_ns,
                sort: SearchSort::TimeAsc,
                sort_key: None,
                limit: MAX_SEARCH_LIMIT,
                cursor: None,
            })
            .await?
            .traces;
        let mut errors = self
            .errors(&ErrorQuery {
                project_id: project_id.to_string(),
                start_ns,
                end_ns,
                session_id: Some(session_id.to_string()),
                limit: MAX_SEARCH_LIMIT,
                ..Default::default()
            })
            .await?;
        errors.reverse();
        let logs = self
            .search_logs(&SearchQuery {
                project_id: project_id.to_string(),
                plan: filter_plan(session_filter(session_id)),
                start_ns,
                end_ns,
                sort: SearchSort::TimeAsc,
                sort_key: None,
                limit: MAX_SEARCH_LIMIT,
                cursor: None,
            })
            .await?
            .logs;
        Ok(Some(SessionDetail {
            session,
            traces,
            errors,
            logs,
        }))
    }
}
