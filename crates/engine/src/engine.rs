//! The embedded store: the spans, logs, errors, replay and metrics tables ([`TableEngine`]s) under one data
//! directory and its lock file, and the [`Store`] implementation that routes each call to
//! its table. Reads that fail on damaged data quarantine the damaged parts and run again.

use std::fs::{self, File};
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::Ordering;

use async_trait::async_trait;
use datafusion::arrow::array::RecordBatch;
use parking_lot::Mutex;
use tracehouse_model::{
    LogRecord, MetricPoint, Span, TraceId, errors_from_logs, errors_from_spans, span_fingerprint,
};
use tracehouse_query::plan::Target;
use tracehouse_store_api::metrics::scan::{
    EachSpan, SCAN_PAGE_SPANS, SpanScan, page_through, scan,
};
use tracehouse_store_api::metrics::{SpanMetricsAnswer, SpanMetricsQuery};
use tracehouse_store_api::redelivery::RecentSpans;
use tracehouse_store_api::{
    AlertEvent, AlertRule, AlertState, ErrorGroups, ErrorGroupsQuery, ErrorQuery, Histogram,
    HistogramQuery, KeyInfo, KeysQuery, LogHistogram, LogPage, MetricInfo, MetricNamesQuery,
    MetricPointsQuery, ReplayChunk, ReplayPage, ReplayQuery, SavedView, SearchPage, SearchQuery,
    SessionSummary, SessionsQuery, Store, StoreHealth, StoreMetric, TracePage, ValueCount,
    ValuesQuery,
};

use crate::config::EngineConfig;
use crate::error::StoreError;
use crate::maintenance::{flush_loop, upkeep_loop};
use crate::read::span_scan::{hand_over, matching_rows};
use crate::storage::alerts::AlertFile;
use crate::storage::blocking;
use crate::storage::footers::Footers;
use crate::storage::log_rows::{errors_to_batch, logs_to_batch};
use crate::storage::metric_rows::points_to_batch;
use crate::storage::part::Part;
use crate::storage::replay_rows::chunks_to_batch;
use crate::storage::schema::{batch_to_spans, spans_to_batch};
use crate::storage::table::Table;
use crate::storage::views::ViewFile;
use crate::table_engine::TableEngine;
use crate::write::memtable::{MemtableBudget, arrow_bytes};

/// Point-in-time numbers about the embedded engine (all tables together).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct EngineStats {
    /// Bytes in the write-ahead logs not yet flushed to parts.
    pub wal_bytes: u64,
    /// Rows in the memtables (not yet in parts).
    pub memtable_rows: u64,
    /// Live Parquet parts.
    pub parts: u64,
    /// Rows in live parts.
    pub part_rows: u64,
    /// Bytes of live parts on disk.
    pub part_bytes: u64,
    /// Bytes the live parts hold in memory: trace and granule indexes, statistics and the
    /// Parquet footers and page indexes the store keeps parsed.
    pub part_memory_bytes: u64,
    /// Memtable flushes completed since start.
    pub flushes: u64,
    /// Time spent flushing since start, seconds.
    pub flush_seconds: f64,
    /// Compactions completed since start.
    pub compactions: u64,
    /// Time spent compacting since start, seconds.
    pub compaction_seconds: f64,
}

impl EngineStats {
    /// The numbers as the metrics the server exports (names kept from earlier versions).
    fn metrics(&self) -> Vec<StoreMetric> {
        vec![
            StoreMetric::gauge(
                "wal_bytes",
                "Bytes in the write-ahead log",
                self.wal_bytes as f64,
            ),
            StoreMetric::gauge(
                "memtable_rows",
                "Rows in the memtable, not yet in parts",
                self.memtable_rows as f64,
            ),
            StoreMetric::gauge("parts", "Live Parquet parts", self.parts as f64),
            StoreMetric::gauge("part_rows", "Rows in live parts", self.part_rows as f64),
            StoreMetric::gauge(
                "part_bytes",
                "Bytes of live parts on disk",
                self.part_bytes as f64,
            ),
            StoreMetric::gauge(
                "part_memory_bytes",
                "Bytes live parts hold in memory: indexes, statistics, Parquet metadata",
                self.part_memory_bytes as f64,
            ),
            StoreMetric::counter("flushes", "Memtable flushes", self.flushes as f64),
            StoreMetric::counter(
                "flush_seconds",
                "Time spent flushing the memtable",
                self.flush_seconds,
            ),
            StoreMetric::counter("compactions", "Part compactions", self.compactions as f64),
            StoreMetric::counter(
                "compaction_seconds",
                "Time spent compacting parts",
                self.compaction_seconds,
            ),
        ]
    }
}

/// The embedded store: the spans, logs, errors, replay and metrics tables under one data
/// directory.
pub struct EmbeddedStore {
    spans: Arc<TableEngine>,
    logs: Arc<TableEngine>,
    errors: Arc<TableEngine>,
    views: Arc<Mutex<ViewFile>>,
    alerts: Arc<Mutex<AlertFile>>,
    replay: Arc<TableEngine>,
    metrics: Arc<TableEngine>,
    recent: RecentSpans,
    /// The parts' parsed Parquet footers, all tables together.
    footers: Arc<Footers>,
    _lock: File,
}

impl EmbeddedStore {
    /// Opens (or creates) the store in `config.data_dir`: takes the directory lock, then opens
    /// each table (removing uncommitted files, loading live parts, replaying its WAL),
    /// remembers the replayed spans in the window of recently stored ones (so that a batch
    /// acknowledged before the restart is left out when sent again) and starts the
    /// background tasks.
    pub async fn open(config: EngineConfig) -> Result<Arc<EmbeddedStore>, StoreError> {
        let dir = config.data_dir.clone();
        fs::create_dir_all(&dir)?;
        let lock = File::create(dir.join("LOCK"))?;
        lock.try_lock().map_err(|_| {
            StoreError::Io(std::io::Error::other(format!(
                "data directory {} is in use by another tracehouse process",
                dir.display()
            )))
        })?;
        let budget = MemtableBudget::new(config.max_memtable_bytes);
        let runtime = crate::read::runtime(&config)?;
        let recent = RecentSpans::with_budget(config.recent_spans_bytes);
        let footers = Arc::new(Footers::new(config.footer_cache_bytes));
        let open = |table| -> Result<Arc<TableEngine>, StoreError> {
            let shared = (budget.clone(), runtime.clone(), footers.clone());
            let engine = Arc::new(TableEngine::open(
                table, &config, shared.0, shared.1, shared.2,
            )?);
            if table == Table::Spans {
                remember_replayed(&recent, &engine)?;
            }
            tokio::spawn(flush_loop(Arc::downgrade(&engine)));
            tokio::spawn(upkeep_loop(Arc::downgrade(&engine)));
            Ok(engine)
        };
        Ok(Arc::new(EmbeddedStore {
            spans: open(Table::Spans)?,
            logs: open(Table::Logs)?,
            errors: open(Table::Errors)?,
            views: Arc::new(Mutex::new(ViewFile::open(&dir)?)),
            alerts: Arc::new(Mutex::new(AlertFile::open(&dir)?)),
            replay: open(Table::Replay)?,
            metrics: open(Table::Metrics)?,
            recent,
            footers,
            _lock: lock,
        }))
    }

    /// Runs a durable change of the alert file off the async workers.
    async fn change_alerts<T: Send + 'static>(
        &self,
        project_id: &str,
        f: impl FnOnce(&mut AlertFile, &str) -> Result<T, StoreError> + Send + 'static,
    ) -> Result<T, StoreError> {
        let (alerts, project) = (self.alerts.clone(), project_id.to_string());
        blocking(move || f(&mut alerts.lock(), &project)).await
    }

    /// The table a query language target searches.
    fn searched(&self, target: Target) -> &TableEngine {
        match target {
            Target::Spans => &self.spans,
            Target::Logs => &self.logs,
        }
    }

    fn tables(&self) -> [&Arc<TableEngine>; 5] {
        [
            &self.spans,
            &self.logs,
            &self.errors,
            &self.replay,
            &self.metrics,
        ]
    }

    /// The Parquet files of the live spans parts of a project that overlap
    /// `[start_ns, end_ns)`, for tools that read the columns themselves (the benchmark's
    /// percentiles). A later compaction may retire them: read them before the next one.
    pub fn span_part_files(&self, project_id: &str, start_ns: i64, end_ns: i64) -> Vec<PathBuf> {
        let touched = in_window(project_id, start_ns, end_ns);
        let st = self.spans.state.read();
        st.parts
            .iter()
            .filter(|p| touched(p))
            .map(|p| p.path.clone())
            .collect()
    }

    /// The engine's numbers, all tables together.
    pub fn stats(&self) -> EngineStats {
        let mut out = EngineStats::default();
        for t in self.tables() {
            t.add_stats(&mut out);
        }
        out.part_memory_bytes += self.footers.bytes() as u64;
        out
    }

    /// Moves every table's memtable into new parts.
    pub async fn flush_now(&self) -> Result<(), StoreError> {
        for t in self.tables() {
            t.flush_now().await?;
        }
        Ok(())
    }

    /// Drops every partition whose hour ended before the retention horizon; returns how many
    /// parts were dropped.
    pub async fn apply_retention(&self, now_ns: i64) -> Result<usize, StoreError> {
        let mut dropped = 0;
        for t in self.tables() {
            dropped += t.apply_retention(now_ns).await?;
        }
        Ok(dropped)
    }

    /// Merges the small parts of each partition; returns how many parts were replaced.
    pub async fn compact(&self, now_ns: i64) -> Result<usize, StoreError> {
        let mut replaced = 0;
        for t in self.tables() {
            replaced += t.compact(now_ns).await?;
        }
        Ok(replaced)
    }
}

impl TableEngine {
    /// What is wrong with this table right now, added into `out`.
    fn add_health(&self, out: &mut StoreHealth) {
        let name = self.table.name();
        if let Some(reason) = self.writer.failure() {
            out.write_failures.push(format!("{name}: {reason}"));
        }
        if let Some(reason) = self.flush_failure.lock().clone() {
            out.flush_failures.push(format!("{name}: {reason}"));
        }
        out.quarantined
            .extend(self.quarantined.lock().iter().cloned());
    }

    /// Numbers of this table, added into `out`.
    fn add_stats(&self, out: &mut EngineStats) {
        let st = self.state.read();
        out.wal_bytes += self.writer.bytes();
        out.memtable_rows += st.mem.waiting().0 as u64;
        out.parts += st.parts.len() as u64;
        out.part_rows += st.parts.iter().map(|p| p.meta.rows).sum::<u64>();
        out.part_bytes += st.parts.iter().map(|p| p.meta.bytes).sum::<u64>();
        out.part_memory_bytes += st
            .parts
            .iter()
            .map(|p| p.memory_bytes() as u64)
            .sum::<u64>()
            + self.cells.bytes() as u64;
        out.flushes += self.times.flushes.load(Ordering::Relaxed);
        out.flush_seconds += self.times.flush_micros.load(Ordering::Relaxed) as f64 / 1e6;
        out.compactions += self.times.compactions.load(Ordering::Relaxed);
        out.compaction_seconds += self.times.compaction_micros.load(Ordering::Relaxed) as f64 / 1e6;
    }
}

/// Remembers the spans the WAL replayed into the memtable of a table just opened (oldest
/// first, so that the newest stay when the window cannot hold them all): a batch
/// acknowledged just before a restart is still left out when the client sends it again.
fn remember_replayed(recent: &RecentSpans, spans: &TableEngine) -> Result<(), StoreError> {
    let replayed = spans.state.read().mem.batches();
    for batch in &replayed {
        let prints: Vec<u128> = batch_to_spans(batch)?
            .iter()
            .map(span_fingerprint)
            .collect();
        recent.remember(&prints);
    }
    Ok(())
}

/// The parts a read may have touched: those of its project overlapping its window.
fn in_window(project_id: &str, start_ns: i64, end_ns: i64) -> impl Fn(&Part) -> bool + Sync + '_ {
    move |p: &Part| {
        p.meta.project_id == project_id && p.meta.min_start < end_ns && p.meta.max_start >= start_ns
    }
}

impl EmbeddedStore {
    /// Runs a read of `table`; when it fails on damaged data, verifies the parts it may
    /// have touched (`touched`), quarantines the damaged ones and runs it once more, so
    /// that one bad part costs its own rows, not every answer over its window.
    async fn guarded<T, F, Fut>(
        &self,
        table: &TableEngine,
        touched: &(dyn Fn(&Part) -> bool + Sync),
        read: F,
    ) -> Result<T, StoreError>
    where
        F: Fn() -> Fut,
        Fut: Future<Output = Result<T, StoreError>>,
    {
        match read().await {
            Err(e) if e.is_damage() => {
                if table.quarantine_damaged(touched).await? == 0 {
                    return Err(e);
                }
                read().await
            }
            answer => answer,
        }
    }

    /// Appends rows and the error occurrences derived from them, both durably, concurrently
    /// (each table group-commits on its own WAL thread).
    async fn append_with_errors(
        &self,
        rows: (&TableEngine, RecordBatch),
        errors: RecordBatch,
    ) -> Result<(), StoreError> {
        let (table, batch) = rows;
        table.admit(arrow_bytes(&batch)).await?;
        self.errors.admit(arrow_bytes(&errors)).await?;
        tokio::try_join!(table.append(batch), self.errors.append(errors))?;
        Ok(())
    }
}

#[async_trait]
impl Store for EmbeddedStore {
    async fn write_spans(&self, spans: Vec<Span>) -> Result<(), StoreError> {
        let fresh = self.recent.fresh(spans);
        if fresh.spans.is_empty() {
            return Ok(());
        }
        let errors = errors_to_batch(&errors_from_spans(&fresh.spans))?;
        let batch = spans_to_batch(&fresh.spans)?;
        let (spans, fingerprints) = fresh.into_parts();
        // The spans are freed while the write waits for the log's fsync instead of after
        // it: freeing a request's attribute maps and strings is ~5 % of ingest's CPU, which
        // would otherwise lengthen every acknowledgement. `biased` polls the write first, so
        // it is queued before they are freed.
        let (written, ()) = tokio::join!(
            biased;
            self.append_with_errors((&self.spans, batch), errors),
            async move { drop(spans) },
        );
        written?;
        self.recent.remember(&fingerprints);
        Ok(())
    }

    async fn write_logs(&self, logs: Vec<LogRecord>) -> Result<(), StoreError> {
        let errors = errors_to_batch(&errors_from_logs(&logs))?;
        let batch = logs_to_batch(&logs)?;
        self.append_with_errors((&self.logs, batch), errors).await
    }

    async fn trace(&self, project_id: &str, trace_id: TraceId) -> Result<Vec<Span>, StoreError> {
        let touched = |p: &Part| p.meta.project_id == project_id && p.may_contain(&trace_id.0);
        self.guarded(&self.spans, &touched, || {
            self.spans.read_trace(project_id, trace_id)
        })
        .await
    }

    async fn search_spans(&self, query: &SearchQuery) -> Result<SearchPage, StoreError> {
        let touched = in_window(&query.project_id, query.start_ns, query.end_ns);
        self.guarded(&self.spans, &touched, || async {
            let snap = self.spans.snapshot();
            crate::read::search::search_spans(&snap, &self.spans.folded(&snap, query)).await
        })
        .await
    }

    async fn search_traces(&self, query: &SearchQuery) -> Result<TracePage, StoreError> {
        let touched = in_window(&query.project_id, query.start_ns, query.end_ns);
        self.guarded(&self.spans, &touched, || async {
            let snap = self.spans.snapshot();
            crate::read::search::search_traces(&snap, &self.spans.folded(&snap, query)).await
        })
        .await
    }

    async fn histogram(&self, query: &HistogramQuery) -> Result<Histogram, StoreError> {
        let touched = in_window(&query.project_id, query.start_ns, query.end_ns);
        self.guarded(&self.spans, &touched, || async {
            if let Some(h) = self.spans.histogram_from_minutes(query).await? {
                return Ok(h);
            }
            let snap = self.spans.snapshot();
            crate::read::search::histogram(&snap, &self.spans.folded(&snap, query)).await
        })
        .await
    }

    async fn span_metrics(
        &self,
        query: &SpanMetricsQuery,
    ) -> Result<SpanMetricsAnswer, StoreError> {
        let query = self.spans.folded(&self.spans.snapshot(), query);
        query.check()?;
        if query.from_cells() {
            let spans = self.spans.clone();
            return blocking(move || spans.span_metrics(&query)).await;
        }
        scan(self, &query).await
    }

    async fn scan_spans(
        &self,
        scan: &SpanScan<'_>,
        matching: u64,
        each: &mut EachSpan<'_>,
    ) -> Result<(), StoreError> {
        // A search page reads whole rows, but only of the granules that may match; the
        // column scan reads the window's every row, but only the columns the scan needs.
        if matching <= SCAN_PAGE_SPANS as u64 {
            return page_through(self, scan, each).await;
        }
        let touched = in_window(scan.project_id, scan.window.0, scan.window.1);
        let rows = self
            .guarded(&self.spans, &touched, || async {
                let snap = self.spans.snapshot();
                matching_rows(&snap, scan).await
            })
            .await?;
        hand_over(&rows, each)
    }

    async fn keys(&self, q: &KeysQuery) -> Result<Vec<KeyInfo>, StoreError> {
        Ok(self
            .searched(q.target)
            .range_stats(&q.project_id, q.start_ns, q.end_ns)
            .await?
            .key_infos(q.target, &q.prefix, q.limit))
    }

    async fn values(&self, q: &ValuesQuery) -> Result<Vec<ValueCount>, StoreError> {
        Ok(self
            .searched(q.target)
            .range_stats(&q.project_id, q.start_ns, q.end_ns)
            .await?
            .values(&q.field, &q.prefix, q.limit))
    }

    async fn search_logs(&self, q: &SearchQuery) -> Result<LogPage, StoreError> {
        let touched = in_window(&q.project_id, q.start_ns, q.end_ns);
        self.guarded(&self.logs, &touched, || async {
            let snap = self.logs.snapshot();
            crate::read::correlate::search_logs(&snap, &self.logs.folded(&snap, q)).await
        })
        .await
    }

    async fn log_histogram(&self, q: &HistogramQuery) -> Result<LogHistogram, StoreError> {
        let touched = in_window(&q.project_id, q.start_ns, q.end_ns);
        self.guarded(&self.logs, &touched, || async {
            let snap = self.logs.snapshot();
            crate::read::correlate::log_histogram(&snap, &self.logs.folded(&snap, q)).await
        })
        .await
    }

    async fn errors(
        &self,
        q: &ErrorQuery,
    ) -> Result<Vec<tracehouse_model::ErrorOccurrence>, StoreError> {
        let touched = in_window(&q.project_id, q.start_ns, q.end_ns);
        self.guarded(&self.errors, &touched, || async {
            crate::read::correlate::errors(&self.spans.snapshot(), &self.errors.snapshot(), q).await
        })
        .await
    }

    async fn error_groups(&self, q: &ErrorGroupsQuery) -> Result<ErrorGroups, StoreError> {
        let touched = in_window(&q.project_id, q.start_ns, q.end_ns);
        self.guarded(&self.errors, &touched, || async {
            crate::read::correlate::error_groups(&self.spans.snapshot(), &self.errors.snapshot(), q)
                .await
        })
        .await
    }

    async fn sessions(&self, q: &SessionsQuery) -> Result<Vec<SessionSummary>, StoreError> {
        let touched = in_window(&q.project_id, q.start_ns, q.end_ns);
        let read = || async {
            crate::read::correlate::sessions(&self.spans.snapshot(), &self.errors.snapshot(), q)
                .await
        };
        match self.guarded(&self.spans, &touched, read).await {
            Err(e) if e.is_damage() => self.guarded(&self.errors, &touched, read).await,
            answer => answer,
        }
    }

    async fn write_metric_points(&self, points: Vec<MetricPoint>) -> Result<(), StoreError> {
        let batch = points_to_batch(&points)?;
        self.metrics.admit(arrow_bytes(&batch)).await?;
        self.metrics.append(batch).await
    }

    async fn metric_names(&self, q: &MetricNamesQuery) -> Result<Vec<MetricInfo>, StoreError> {
        let touched = in_window(&q.project_id, q.start_ns, q.end_ns);
        self.guarded(&self.metrics, &touched, || async {
            crate::read::otel_metrics::names(&self.metrics.snapshot(), q).await
        })
        .await
    }

    async fn metric_points(&self, q: &MetricPointsQuery) -> Result<Vec<MetricPoint>, StoreError> {
        let touched = in_window(&q.project_id, q.start_ns, q.end_ns);
        self.guarded(&self.metrics, &touched, || async {
            crate::read::otel_metrics::points(&self.metrics.snapshot(), q).await
        })
        .await
    }

    async fn write_replay(&self, chunks: Vec<ReplayChunk>) -> Result<(), StoreError> {
        let touched = |p: &Part| chunks.iter().any(|c| c.project_id == p.meta.project_id);
        let fresh = self
            .guarded(&self.replay, &touched, || async {
                crate::read::replay::unstored(&self.replay.snapshot(), &chunks).await
            })
            .await?;
        let batch = chunks_to_batch(&fresh)?;
        self.replay.admit(arrow_bytes(&batch)).await?;
        self.replay.append(batch).await
    }

    async fn replay(&self, q: &ReplayQuery) -> Result<ReplayPage, StoreError> {
        let touched = |p: &Part| p.meta.project_id == q.project_id;
        self.guarded(&self.replay, &touched, || async {
            crate::read::replay::replay(&self.replay.snapshot(), q).await
        })
        .await
    }

    async fn flush(&self) -> Result<(), StoreError> {
        self.flush_now().await
    }

    async fn views(&self, project_id: &str) -> Result<Vec<SavedView>, StoreError> {
        Ok(self.views.lock().list(project_id))
    }

    async fn put_view(&self, project_id: &str, view: SavedView) -> Result<(), StoreError> {
        let (views, project) = (self.views.clone(), project_id.to_string());
        blocking(move || views.lock().put(&project, view)).await
    }

    async fn delete_view(&self, project_id: &str, name: &str) -> Result<bool, StoreError> {
        let (views, project, name) = (self.views.clone(), project_id.to_string(), name.to_string());
        blocking(move || views.lock().delete(&project, &name)).await
    }

    async fn alert_rules(&self, project_id: &str) -> Result<Vec<AlertRule>, StoreError> {
        Ok(self.alerts.lock().rules(project_id))
    }

    async fn put_alert_rule(&self, project_id: &str, rule: AlertRule) -> Result<(), StoreError> {
        self.change_alerts(project_id, move |a, p| a.put_rule(p, rule))
            .await
    }

    async fn delete_alert_rule(&self, project_id: &str, id: &str) -> Result<bool, StoreError> {
        let id = id.to_string();
        self.change_alerts(project_id, move |a, p| a.delete_rule(p, &id))
            .await
    }

    async fn alert_states(&self, project_id: &str) -> Result<Vec<AlertState>, StoreError> {
        Ok(self.alerts.lock().states(project_id))
    }

    async fn put_alert_state(&self, project_id: &str, state: AlertState) -> Result<(), StoreError> {
        self.change_alerts(project_id, move |a, p| a.put_state(p, state))
            .await
    }

    async fn add_alert_events(
        &self,
        project_id: &str,
        events: Vec<AlertEvent>,
    ) -> Result<(), StoreError> {
        self.change_alerts(project_id, move |a, p| a.add_events(p, events))
            .await
    }

    async fn alert_history(
        &self,
        project_id: &str,
        rule_id: &str,
        limit: usize,
    ) -> Result<Vec<AlertEvent>, StoreError> {
        Ok(self.alerts.lock().history(project_id, rule_id, limit))
    }

    /// One process owns the data directory (its lock file), so it always holds the lease.
    async fn alert_lease(&self, _: &str, _: i64, _: i64) -> Result<bool, StoreError> {
        Ok(true)
    }

    fn metrics(&self) -> Vec<StoreMetric> {
        self.stats().metrics()
    }

    fn health(&self) -> StoreHealth {
        let mut out = StoreHealth::default();
        for t in self.tables() {
            t.add_health(&mut out);
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::storage::HOUR_NS;
    use crate::storage::schema::tests::sample_span;

    fn query(text: &str, start_ns: i64, end_ns: i64) -> HistogramQuery {
        HistogramQuery {
            project_id: "default".into(),
            plan: tracehouse_query::plan(&tracehouse_query::parse(text).unwrap()),
            start_ns,
            end_ns,
            buckets: 60,
            traces: false,
        }
    }

    #[tokio::test]
    async fn minute_counts_answer_only_unfiltered_histograms() {
        let dir = tempfile::tempdir().unwrap();
        let mut config = EngineConfig::new(dir.path());
        config.flush_interval = Duration::from_secs(3600);
        let store = EmbeddedStore::open(config).await.unwrap();
        let t0 = 1_700_000_000_000_000_000;
        let spans: Vec<Span> = (1..=50)
            .map(|i| sample_span(i, 1, t0 + i64::from(i) * 1_000_000_000))
            .collect();
        store.write_spans(spans).await.unwrap();
        let hour = query("", t0, t0 + HOUR_NS);
        for when in ["memtable", "parts"] {
            let h = store.spans.histogram_from_minutes(&hour).await.unwrap();
            let h = h.unwrap_or_else(|| panic!("[{when}] counts answer an unfiltered histogram"));
            assert_eq!(
                h.buckets.iter().map(|b| b.count).sum::<u64>(),
                50,
                "[{when}]"
            );
            store.flush_now().await.unwrap();
        }
        let filtered = query("service:cart", t0, t0 + HOUR_NS);
        assert!(
            store
                .spans
                .histogram_from_minutes(&filtered)
                .await
                .unwrap()
                .is_none()
        );
        let narrow = query("", t0, t0 + 30_000_000_000);
        assert!(
            store
                .spans
                .histogram_from_minutes(&narrow)
                .await
                .unwrap()
                .is_none(),
            "buckets under a minute need a scan"
        );
    }

    /// The spans the statistics of `range` count (as having a trace id, as every span has).
    async fn counted(store: &EmbeddedStore, range: (i64, i64), budget: u64) -> u64 {
        let stats = store
            .spans
            .range_stats_within("default", range, budget)
            .await
            .unwrap();
        stats.keys.get("i:trace_id").map_or(0, |e| e.count)
    }

    #[tokio::test]
    async fn partial_hours_are_read_within_the_budget_and_counted_whole_past_it() {
        let dir = tempfile::tempdir().unwrap();
        let mut config = EngineConfig::new(dir.path());
        config.flush_interval = Duration::from_secs(3600);
        let store = EmbeddedStore::open(config).await.unwrap();
        let t0 = 1_700_002_800_000_000_000; // an hour boundary
        let s = 1_000_000_000;
        let spans: Vec<Span> = (1..=50)
            .map(|i| sample_span(i, 1, t0 + i64::from(i) * s))
            .collect();
        store.write_spans(spans).await.unwrap();
        for when in ["memtable", "parts"] {
            let range = (t0 + 11 * s, t0 + 21 * s);
            assert_eq!(counted(&store, range, 10).await, 10, "[{when}]");
            assert_eq!(counted(&store, range, 9).await, 50, "[{when}] whole hour");
            let across = (t0 - 30 * s, t0 + 6 * s);
            assert_eq!(counted(&store, across, 100).await, 5, "[{when}]");
            // The hour less its first 5 s, which are read instead.
            let late = (t0 + 5 * s, t0 + 7200 * s);
            assert_eq!(counted(&store, late, 4).await, 46, "[{when}]");
            assert_eq!(counted(&store, late, 3).await, 50, "[{when}] whole hour");
            // The rest of the hour is empty by its minute counts: nothing is read.
            let early = (t0, t0 + 3000 * s);
            assert_eq!(counted(&store, early, 0).await, 50, "[{when}]");
            store.flush_now().await.unwrap();
        }
    }
}
