//! tracehouse storage on ClickHouse: the scale-out backend of the [`Store`] trait.
//!
//! * [`schema`] — tables, materialized views and versioned, idempotent migrations;
//! * [`row`] — the RowBinary rows and their conversion from and to model spans, log
//!   records and error occurrences;
//! * [`sql`] — the plan's filter compiled to parameterised SQL;
//! * the writer (this module) — group commit: concurrent `write_spans` / `write_logs`
//!   calls are coalesced into one RowBinary `INSERT` per table (spans, logs, and the
//!   error occurrences derived from both), held open for `batch_wait` after the first
//!   write so that writes arriving close together share it, and each call returns only
//!   after ClickHouse accepted every insert that holds its rows. Inserts are retried with backoff under a
//!   deduplication token (so a retry after an ambiguous failure cannot store rows
//!   twice); when ClickHouse stays unreachable the call fails with the retryable
//!   [`StoreError::Unavailable`], which the receivers turn into 503 / `UNAVAILABLE`.
//!   Nothing is acknowledged before ClickHouse has it, so nothing acknowledged is lost;
//! * [`replay`] — the session recordings' rows and their read;
//! * [`otel_metrics`] — the OTLP metric points' rows and their reads;
//! * the reader ([`read`], and [`correlate`] for logs, errors and sessions) — every
//!   `Store` query as SQL over the same plan, with structural queries evaluated on
//!   candidate traces exactly as the embedded engine does.

mod alerts;
mod correlate;
pub mod error;
mod keys;
mod metrics;
pub mod otel_metrics;
mod read;
pub mod replay;
pub mod row;
pub mod schema;
pub mod sql;
mod views;

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use alerts::Doc;
use async_trait::async_trait;
use clickhouse::{Client, RowOwned, RowWrite};
use tokio::sync::{mpsc, oneshot};
use tracehouse_model::{ErrorOccurrence, LogRecord, MetricPoint, Span, TraceId};
use tracehouse_query::plan::Target;
use tracehouse_store_api::metrics::scan::scan;
use tracehouse_store_api::metrics::{SpanMetricsAnswer, SpanMetricsQuery};
use tracehouse_store_api::redelivery::RecentSpans;
use tracehouse_store_api::stats::FilteredQuery;
use tracehouse_store_api::{
    AlertEvent, AlertRule, AlertState, ErrorGroups, ErrorGroupsQuery, ErrorQuery, Histogram,
    HistogramQuery, KeyInfo, KeysQuery, LogHistogram, LogPage, MetricInfo, MetricNamesQuery,
    MetricPointsQuery, ReplayChunk, ReplayPage, ReplayQuery, SavedView, SearchPage, SearchQuery,
    SessionSummary, SessionsQuery, Store, StoreError, StoreMetric, TracePage, ValueCount,
    ValuesQuery,
};

pub use error::ClickHouseError;
use otel_metrics::MetricRow;
use replay::ReplayRow;
use row::{ErrorRow, LogRow, SpanRow};

/// How to reach ClickHouse and how to write to it.
#[derive(Debug, Clone)]
pub struct ClickHouseConfig {
    /// HTTP(S) endpoint, e.g. `http://localhost:8123`.
    pub url: String,
    /// User (ClickHouse's default user when unset).
    pub user: Option<String>,
    /// Password.
    pub password: Option<String>,
    /// Database, created if missing.
    pub database: String,
    /// Drop data older than this (a TTL on every table); `None` keeps everything.
    pub retention: Option<Duration>,
    /// Most rows in one insert; more queued rows wait for the next one.
    pub max_batch_rows: usize,
    /// How long the writer holds a batch open for more writes after the first one was
    /// queued (zero: insert at once). Writes arriving within the wait share one insert;
    /// no write waits longer than this before its insert starts (a full batch goes at
    /// once).
    pub batch_wait: Duration,
    /// Attempts of one insert while ClickHouse is unreachable (at least 1).
    pub insert_attempts: u32,
    /// First retry delay (doubled for each further attempt).
    pub retry_backoff: Duration,
    /// Timeout of one insert request.
    pub insert_timeout: Duration,
    /// Create the schema on this cluster (`ON CLUSTER`, `Replicated*` local tables
    /// behind `Distributed` tables); `None`: a single server.
    pub cluster: Option<schema::Cluster>,
    /// Memory for the fingerprints of the spans this server stored recently, which
    /// recognise a batch delivered again (`tracehouse_store_api::redelivery`). Servers
    /// sharing one ClickHouse each remember their own writes.
    pub recent_spans_bytes: usize,
}

impl ClickHouseConfig {
    /// Defaults for a server at `url`, database `tracehouse`, 7 days retention.
    pub fn new(url: impl Into<String>) -> Self {
        ClickHouseConfig {
            url: url.into(),
            user: None,
            password: None,
            database: "tracehouse".to_string(),
            retention: Some(Duration::from_secs(7 * 86_400)),
            max_batch_rows: 100_000,
            batch_wait: Duration::from_millis(5),
            insert_attempts: 4,
            retry_backoff: Duration::from_millis(100),
            insert_timeout: Duration::from_secs(30),
            cluster: None,
            recent_spans_bytes: 64 << 20,
        }
    }

    /// The schema's statements for this database and layout.
    pub fn ddl(&self) -> schema::Ddl {
        schema::Ddl::new(&self.database, self.cluster.clone())
    }

    /// A client for the server, bound to [`ClickHouseConfig::database`].
    pub fn client(&self) -> Client {
        self.server_client().with_database(&self.database)
    }

    /// A client for the server, without a database.
    fn server_client(&self) -> Client {
        let mut c = Client::default()
            .with_url(&self.url)
            .with_compression(clickhouse::Compression::Lz4);
        if let Some(u) = &self.user {
            c = c.with_user(u);
        }
        if let Some(p) = &self.password {
            c = c.with_password(p);
        }
        c
    }
}

/// Whether `name` may be used as a database name (it is written into DDL).
fn valid_identifier(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 128
        && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
        && !name.as_bytes()[0].is_ascii_digit()
}

fn parse_version(text: &str) -> Option<(u32, u32)> {
    let mut it = text.trim().split('.');
    let major = it.next()?.parse().ok()?;
    let minor = it.next()?.parse().ok()?;
    Some((major, minor))
}

/// Creates the configured database if needed (for tools and tests that migrate by hand);
/// on a cluster, on every node.
pub async fn create_database(config: &ClickHouseConfig) -> Result<(), ClickHouseError> {
    if !valid_identifier(&config.database) {
        return Err(ClickHouseError::Config(format!(
            "database name {:?}: use letters, digits and _",
            config.database
        )));
    }
    if let Some(c) = &config.cluster
        && !schema::valid_cluster_name(&c.name)
    {
        return Err(ClickHouseError::Config(format!(
            "cluster name {:?}: use letters, digits, _, - and .",
            c.name
        )));
    }
    config
        .server_client()
        .query(&config.ddl().create_database())
        .execute()
        .await?;
    Ok(())
}

/// Checks that the server is reachable and recent enough; returns its version.
pub async fn check_version(client: &Client) -> Result<String, ClickHouseError> {
    let version: String = client.query("SELECT version()").fetch_one().await?;
    match parse_version(&version) {
        Some(v) if v >= schema::MIN_VERSION => Ok(version),
        _ => Err(ClickHouseError::TooOld { found: version }),
    }
}

/// The schema version recorded in the client's database (0 when none); creates the
/// record table (as `ddl` says) if needed.
pub async fn schema_version(client: &Client, ddl: &schema::Ddl) -> Result<u32, ClickHouseError> {
    client.query(&ddl.migrations_table()).execute().await?;
    let v: u32 = client
        .query("SELECT toUInt32(max(version)) FROM tracehouse_migrations")
        .fetch_one()
        .await?;
    Ok(v)
}

/// Applies the migrations after the recorded version up to `target`, in order, and
/// records each, with the statements `ddl` renders (single server or cluster). Safe to
/// run again (no-op) and from several servers at once (every statement is idempotent).
/// Returns the schema version afterwards.
pub async fn migrate(
    client: &Client,
    ddl: &schema::Ddl,
    target: u32,
) -> Result<u32, ClickHouseError> {
    let current = schema_version(client, ddl).await?;
    let known = schema::latest_version();
    if current > known {
        return Err(ClickHouseError::SchemaTooNew {
            found: current,
            known,
        });
    }
    let mut version = current;
    for m in schema::MIGRATIONS
        .iter()
        .filter(|m| m.version > current && m.version <= target)
    {
        tracing::info!(
            version = m.version,
            name = m.name,
            "applying ClickHouse migration"
        );
        for statement in ddl.migration(m) {
            client.query(&statement).execute().await?;
        }
        client
            .query(
                "INSERT INTO tracehouse_migrations (version, name) VALUES ({v:UInt32}, {n:String})",
            )
            .param("v", m.version)
            .param("n", m.name)
            .execute()
            .await?;
        version = m.version;
    }
    Ok(version)
}

/// Sets (or removes) the retention TTL of every table. Metadata only: existing parts
/// are not rewritten; whole expired partitions are dropped as they age out.
async fn apply_retention(
    client: &Client,
    ddl: &schema::Ddl,
    retention: Option<Duration>,
) -> Result<(), ClickHouseError> {
    for (table, time) in schema::TTL_TABLES {
        let sql = ddl.ttl(table, time, retention);
        let res = client
            .query(&sql)
            .with_setting("materialize_ttl_after_modify", "0")
            .execute()
            .await;
        match res {
            Ok(()) => {}
            // Removing a TTL that was never set is not an error worth stopping for.
            Err(e) if retention.is_none() => {
                tracing::debug!(table, error = %e, "no TTL to remove");
            }
            Err(e) => return Err(e.into()),
        }
    }
    Ok(())
}

/// The rows of one write, per table.
#[derive(Default)]
struct Rows {
    spans: Vec<SpanRow>,
    logs: Vec<LogRow>,
    errors: Vec<ErrorRow>,
    replay: Vec<ReplayRow>,
    metrics: Vec<MetricRow>,
}

impl Rows {
    /// The rows of spans and of the error occurrences of their `exception` events.
    fn of_spans(spans: &[Span]) -> Rows {
        Rows {
            spans: spans.iter().map(SpanRow::from_span).collect(),
            errors: error_rows(&tracehouse_model::errors_from_spans(spans)),
            ..Rows::default()
        }
    }

    /// The rows of log records and of the error occurrences of error logs.
    fn of_logs(logs: &[LogRecord]) -> Rows {
        Rows {
            logs: logs.iter().map(LogRow::from_log).collect(),
            errors: error_rows(&tracehouse_model::errors_from_logs(logs)),
            ..Rows::default()
        }
    }

    /// The rows of chunks of session recordings.
    fn of_replay(chunks: &[ReplayChunk]) -> Rows {
        Rows {
            replay: chunks.iter().map(ReplayRow::from_chunk).collect(),
            ..Rows::default()
        }
    }

    /// The rows of OTLP metric points.
    fn of_metric_points(points: &[MetricPoint]) -> Rows {
        Rows {
            metrics: points.iter().map(MetricRow::from_point).collect(),
            ..Rows::default()
        }
    }

    fn len(&self) -> usize {
        self.spans.len()
            + self.logs.len()
            + self.errors.len()
            + self.replay.len()
            + self.metrics.len()
    }
}

fn error_rows(errors: &[ErrorOccurrence]) -> Vec<ErrorRow> {
    errors.iter().map(ErrorRow::from_error).collect()
}

/// One queued write: rows and where to report the inserts' outcome.
struct WriteRequest {
    rows: Rows,
    /// When it was queued: the batch it opens closes at most `batch_wait` later.
    queued: tokio::time::Instant,
    done: oneshot::Sender<Result<(), StoreError>>,
}

/// Point-in-time numbers about the ClickHouse writer.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct WriterStats {
    /// Rows waiting for their insert (not yet acknowledged).
    pub queued_rows: u64,
    /// Inserts sent since start.
    pub inserts: u64,
    /// Time spent in inserts since start, seconds.
    pub insert_seconds: f64,
}

/// Counters shared with the writer.
#[derive(Default)]
struct Counters {
    queued_rows: AtomicU64,
    inserts: AtomicU64,
    insert_nanos: AtomicU64,
}

/// The ClickHouse store.
pub struct ClickHouseStore {
    client: Client,
    config: Arc<ClickHouseConfig>,
    writer: mpsc::Sender<WriteRequest>,
    counters: Arc<Counters>,
    recent: RecentSpans,
}

impl std::fmt::Debug for ClickHouseStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClickHouseStore").finish_non_exhaustive()
    }
}

/// Queued write requests before `write_spans` sheds load.
const QUEUE_REQUESTS: usize = 4096;

impl ClickHouseStore {
    /// The writer's numbers.
    pub fn stats(&self) -> WriterStats {
        WriterStats {
            queued_rows: self.counters.queued_rows.load(Ordering::Relaxed),
            inserts: self.counters.inserts.load(Ordering::Relaxed),
            insert_seconds: self.counters.insert_nanos.load(Ordering::Relaxed) as f64 / 1e9,
        }
    }

    /// Connects, checks the server version, creates the database, applies migrations and
    /// the retention TTL, and starts the writer.
    pub async fn open(config: ClickHouseConfig) -> Result<Arc<ClickHouseStore>, ClickHouseError> {
        check_version(&config.server_client()).await?;
        create_database(&config).await?;
        let client = config.client();
        let ddl = config.ddl();
        migrate(&client, &ddl, schema::latest_version()).await?;
        apply_retention(&client, &ddl, config.retention).await?;
        let (tx, rx) = mpsc::channel(QUEUE_REQUESTS);
        let counters = Arc::new(Counters::default());
        let shared = Arc::new(config.clone());
        let recent = RecentSpans::with_budget(config.recent_spans_bytes);
        tokio::spawn(writer_loop(client.clone(), config, rx, counters.clone()));
        Ok(Arc::new(ClickHouseStore {
            config: shared,
            client,
            writer: tx,
            counters,
            recent,
        }))
    }

    /// The client, bound to the store's database.
    pub fn client(&self) -> &Client {
        &self.client
    }
}

async fn writer_loop(
    client: Client,
    config: ClickHouseConfig,
    mut rx: mpsc::Receiver<WriteRequest>,
    counters: Arc<Counters>,
) {
    let prefix = format!(
        "{}-{}",
        std::process::id(),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0)
    );
    let mut batch_no: u64 = 0;
    while let Some(first) = rx.recv().await {
        // The batch closes when it is full, when a flush barrier (a request without
        // rows) joins it, or `batch_wait` after its first request was queued, whichever
        // comes first. Requests that queued during the previous insert have waited
        // already, so they do not wait again.
        let deadline = first.queued + config.batch_wait;
        let mut barrier = first.rows.len() == 0;
        let mut rows: usize = first.rows.len();
        let mut batch = vec![first];
        while rows < config.max_batch_rows && !barrier {
            let next = match rx.try_recv() {
                Ok(req) => Some(req),
                Err(mpsc::error::TryRecvError::Disconnected) => None,
                Err(mpsc::error::TryRecvError::Empty) => {
                    // `None` when the wait is over (or the channel closed).
                    tokio::time::timeout_at(deadline, rx.recv())
                        .await
                        .unwrap_or_default()
                }
            };
            let Some(req) = next else { break };
            barrier = req.rows.len() == 0;
            rows += req.rows.len();
            batch.push(req);
        }
        let result = if rows == 0 {
            Ok(())
        } else {
            batch_no += 1;
            let token = format!("{prefix}-{batch_no}");
            let started = std::time::Instant::now();
            let r = insert_batch(&client, &config, &batch, &token).await;
            counters.inserts.fetch_add(1, Ordering::Relaxed);
            counters
                .insert_nanos
                .fetch_add(started.elapsed().as_nanos() as u64, Ordering::Relaxed);
            r
        };
        counters
            .queued_rows
            .fetch_sub(rows as u64, Ordering::Relaxed);
        for req in batch {
            let reply = match &result {
                Ok(()) => Ok(()),
                Err(e) => Err(match e {
                    ClickHouseError::Unreachable(m) => StoreError::Unavailable(m.clone()),
                    other => StoreError::Backend(other.to_string()),
                }),
            };
            let _ = req.done.send(reply);
        }
    }
}

/// Inserts the rows of a batch of requests, one insert per table: spans and log records
/// first, then the error occurrences derived from them, then replay chunks and metric points. The
/// deduplication token is per table in ClickHouse, so the batch's one token serves all
/// five inserts.
async fn insert_batch(
    client: &Client,
    config: &ClickHouseConfig,
    batch: &[WriteRequest],
    token: &str,
) -> Result<(), ClickHouseError> {
    let spans: Vec<&SpanRow> = batch.iter().flat_map(|r| &r.rows.spans).collect();
    insert_with_retry(client, config, "spans", &spans, token).await?;
    let logs: Vec<&LogRow> = batch.iter().flat_map(|r| &r.rows.logs).collect();
    insert_with_retry(client, config, "logs", &logs, token).await?;
    let errors: Vec<&ErrorRow> = batch.iter().flat_map(|r| &r.rows.errors).collect();
    insert_with_retry(client, config, "errors", &errors, token).await?;
    let replay: Vec<&ReplayRow> = batch.iter().flat_map(|r| &r.rows.replay).collect();
    insert_with_retry(client, config, "replay", &replay, token).await?;
    let metrics: Vec<&MetricRow> = batch.iter().flat_map(|r| &r.rows.metrics).collect();
    insert_with_retry(client, config, "otel_metrics", &metrics, token).await
}

async fn insert_once<T: RowOwned + RowWrite>(
    client: &Client,
    config: &ClickHouseConfig,
    table: &str,
    rows: &[&T],
    token: &str,
) -> Result<(), ClickHouseError> {
    let mut insert = client
        .insert::<T>(table)
        .await?
        .with_timeouts(Some(config.insert_timeout), Some(config.insert_timeout))
        .with_setting("insert_deduplication_token", token)
        // The rows the materialized views derive are deduplicated with the source rows
        // (the default only from ClickHouse 24.x on).
        .with_setting("deduplicate_blocks_in_dependent_materialized_views", "1");
    if config.cluster.is_some() {
        // Into a `Distributed` table: return only once every shard has its rows
        // (`insert_distributed_sync`, called `distributed_foreground_insert` since
        // 23.10, which keeps the old name as an alias), so an acknowledged write is
        // stored, not queued on this node.
        insert = insert.with_setting("insert_distributed_sync", "1");
    }
    for r in rows {
        insert.write(r).await?;
    }
    insert.end().await?;
    Ok(())
}

/// Inserts `rows` into `table` (nothing when empty), retrying with backoff while
/// ClickHouse is unreachable.
async fn insert_with_retry<T: RowOwned + RowWrite>(
    client: &Client,
    config: &ClickHouseConfig,
    table: &str,
    rows: &[&T],
    token: &str,
) -> Result<(), ClickHouseError> {
    if rows.is_empty() {
        return Ok(());
    }
    let mut delay = config.retry_backoff;
    let attempts = config.insert_attempts.max(1);
    let mut attempt = 1;
    loop {
        match insert_once(client, config, table, rows, token).await {
            Ok(()) => return Ok(()),
            Err(ClickHouseError::Unreachable(m)) if attempt < attempts => {
                tracing::warn!(attempt, table, error = %m, "ClickHouse insert failed; retrying");
                tokio::time::sleep(delay).await;
                delay = delay.saturating_mul(2);
                attempt += 1;
            }
            Err(e) => {
                tracing::error!(table, rows = rows.len(), error = %e, "ClickHouse insert failed");
                return Err(e);
            }
        }
    }
}

impl ClickHouseStore {
    /// Queues rows for the writer and waits until ClickHouse accepted them.
    async fn write(&self, rows: Rows) -> Result<(), StoreError> {
        let n = rows.len() as u64;
        let (done, wait) = oneshot::channel();
        self.counters.queued_rows.fetch_add(n, Ordering::Relaxed);
        let request = WriteRequest {
            rows,
            queued: tokio::time::Instant::now(),
            done,
        };
        if let Err(e) = self.writer.try_send(request) {
            self.counters.queued_rows.fetch_sub(n, Ordering::Relaxed);
            return Err(match e {
                mpsc::error::TrySendError::Full(_) => {
                    StoreError::Overloaded("ClickHouse insert queue is full".into())
                }
                mpsc::error::TrySendError::Closed(_) => StoreError::Closed,
            });
        }
        wait.await.map_err(|_| StoreError::Closed)?
    }

    /// A search or histogram with its plan folded by the key statistics
    /// ([`read::fold_absent`]).
    async fn folded<Q: FilteredQuery>(&self, target: Target, q: &Q) -> Result<Q, StoreError> {
        read::fold_absent(&self.client, target, q).await
    }
}

#[async_trait]
impl Store for ClickHouseStore {
    async fn write_spans(&self, spans: Vec<Span>) -> Result<(), StoreError> {
        let fresh = self.recent.fresh(spans);
        if fresh.spans.is_empty() {
            return Ok(());
        }
        self.write(Rows::of_spans(&fresh.spans)).await?;
        self.recent.remember(fresh.fingerprints());
        Ok(())
    }

    async fn trace(&self, project_id: &str, trace_id: TraceId) -> Result<Vec<Span>, StoreError> {
        let mut traces = read::fetch_traces(&self.client, project_id, &[trace_id]).await?;
        Ok(traces.remove(&trace_id).unwrap_or_default())
    }

    async fn search_spans(&self, query: &SearchQuery) -> Result<SearchPage, StoreError> {
        read::search_spans(&self.client, &self.folded(Target::Spans, query).await?).await
    }

    async fn search_traces(&self, query: &SearchQuery) -> Result<TracePage, StoreError> {
        read::search_traces(&self.client, &self.folded(Target::Spans, query).await?).await
    }

    async fn histogram(&self, query: &HistogramQuery) -> Result<Histogram, StoreError> {
        read::histogram(&self.client, &self.folded(Target::Spans, query).await?).await
    }

    async fn span_metrics(
        &self,
        query: &SpanMetricsQuery,
    ) -> Result<SpanMetricsAnswer, StoreError> {
        let query = self.folded(Target::Spans, query).await?;
        query.check()?;
        if query.from_cells() {
            metrics::span_metrics(&self.client, &query).await
        } else {
            scan(self, &query).await
        }
    }

    async fn keys(&self, query: &KeysQuery) -> Result<Vec<KeyInfo>, StoreError> {
        keys::keys(&self.client, query).await
    }

    async fn values(&self, query: &ValuesQuery) -> Result<Vec<ValueCount>, StoreError> {
        keys::values(&self.client, query).await
    }

    async fn write_logs(&self, logs: Vec<LogRecord>) -> Result<(), StoreError> {
        if logs.is_empty() {
            return Ok(());
        }
        self.write(Rows::of_logs(&logs)).await
    }

    async fn search_logs(&self, query: &SearchQuery) -> Result<LogPage, StoreError> {
        correlate::search_logs(&self.client, &self.folded(Target::Logs, query).await?).await
    }

    async fn log_histogram(&self, query: &HistogramQuery) -> Result<LogHistogram, StoreError> {
        correlate::log_histogram(&self.client, &self.folded(Target::Logs, query).await?).await
    }

    async fn errors(&self, query: &ErrorQuery) -> Result<Vec<ErrorOccurrence>, StoreError> {
        correlate::errors(&self.client, query).await
    }

    async fn error_groups(&self, query: &ErrorGroupsQuery) -> Result<ErrorGroups, StoreError> {
        correlate::error_groups(&self.client, query).await
    }

    async fn sessions(&self, query: &SessionsQuery) -> Result<Vec<SessionSummary>, StoreError> {
        correlate::sessions(&self.client, query).await
    }

    async fn write_metric_points(&self, points: Vec<MetricPoint>) -> Result<(), StoreError> {
        if points.is_empty() {
            return Ok(());
        }
        self.write(Rows::of_metric_points(&points)).await
    }

    async fn metric_names(&self, query: &MetricNamesQuery) -> Result<Vec<MetricInfo>, StoreError> {
        otel_metrics::names(&self.client, query).await
    }

    async fn metric_points(
        &self,
        query: &MetricPointsQuery,
    ) -> Result<Vec<MetricPoint>, StoreError> {
        otel_metrics::points(&self.client, query).await
    }

    async fn write_replay(&self, chunks: Vec<ReplayChunk>) -> Result<(), StoreError> {
        if chunks.is_empty() {
            return Ok(());
        }
        self.write(Rows::of_replay(&chunks)).await
    }

    async fn replay(&self, query: &ReplayQuery) -> Result<ReplayPage, StoreError> {
        replay::replay(&self.client, query).await
    }

    async fn flush(&self) -> Result<(), StoreError> {
        // A barrier: returns once every write queued before it was inserted.
        let (done, wait) = oneshot::channel();
        self.writer
            .send(WriteRequest {
                rows: Rows::default(),
                queued: tokio::time::Instant::now(),
                done,
            })
            .await
            .map_err(|_| StoreError::Closed)?;
        wait.await.map_err(|_| StoreError::Closed)?
    }

    async fn views(&self, project_id: &str) -> Result<Vec<SavedView>, StoreError> {
        views::list(&self.client, project_id).await
    }

    async fn put_view(&self, project_id: &str, view: SavedView) -> Result<(), StoreError> {
        views::put(&self.client, &self.config, project_id, view).await
    }

    async fn delete_view(&self, project_id: &str, name: &str) -> Result<bool, StoreError> {
        views::delete(&self.client, &self.config, project_id, name).await
    }

    async fn alert_rules(&self, project_id: &str) -> Result<Vec<AlertRule>, StoreError> {
        alerts::list(&self.client, project_id, Doc::Rule).await
    }

    async fn put_alert_rule(&self, project_id: &str, rule: AlertRule) -> Result<(), StoreError> {
        let (client, config) = (&self.client, &self.config);
        alerts::put(client, config, project_id, Doc::Rule, &rule.id, Some(&rule)).await
    }

    async fn delete_alert_rule(&self, project_id: &str, id: &str) -> Result<bool, StoreError> {
        let rules: Vec<AlertRule> = alerts::list(&self.client, project_id, Doc::Rule).await?;
        if !rules.iter().any(|r| r.id == id) {
            return Ok(false);
        }
        let (client, config) = (&self.client, &self.config);
        alerts::put::<AlertRule>(client, config, project_id, Doc::Rule, id, None).await?;
        alerts::put::<AlertState>(client, config, project_id, Doc::State, id, None).await?;
        Ok(true)
    }

    async fn alert_states(&self, project_id: &str) -> Result<Vec<AlertState>, StoreError> {
        alerts::list(&self.client, project_id, Doc::State).await
    }

    async fn put_alert_state(&self, project_id: &str, state: AlertState) -> Result<(), StoreError> {
        let (client, config, id) = (&self.client, &self.config, state.rule_id.clone());
        alerts::put(client, config, project_id, Doc::State, &id, Some(&state)).await
    }

    async fn add_alert_events(
        &self,
        project_id: &str,
        events: Vec<AlertEvent>,
    ) -> Result<(), StoreError> {
        alerts::add_events(&self.client, &self.config, project_id, events).await
    }

    async fn alert_history(
        &self,
        project_id: &str,
        rule_id: &str,
        limit: usize,
    ) -> Result<Vec<AlertEvent>, StoreError> {
        alerts::history(&self.client, project_id, rule_id, limit).await
    }

    async fn alert_lease(
        &self,
        holder: &str,
        now_ns: i64,
        ttl_ns: i64,
    ) -> Result<bool, StoreError> {
        alerts::lease(&self.client, &self.config, holder, now_ns, ttl_ns).await
    }

    fn metrics(&self) -> Vec<StoreMetric> {
        let s = self.stats();
        vec![
            StoreMetric::gauge(
                "clickhouse_queued_rows",
                "Rows waiting for their ClickHouse insert (not yet acknowledged)",
                s.queued_rows as f64,
            ),
            StoreMetric::counter(
                "clickhouse_inserts",
                "Inserts sent to ClickHouse",
                s.inserts as f64,
            ),
            StoreMetric::counter(
                "clickhouse_insert_seconds",
                "Time spent in ClickHouse inserts",
                s.insert_seconds,
            ),
        ]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_and_names() {
        assert_eq!(parse_version("24.3.1.2672"), Some((24, 3)));
        assert_eq!(parse_version("26.9.2.1"), Some((26, 9)));
        assert_eq!(parse_version("junk"), None);
        assert!(valid_identifier("tracehouse_1"));
        assert!(!valid_identifier("a-b"));
        assert!(!valid_identifier("x`; DROP"));
        assert!(!valid_identifier("1abc"));
    }
}
