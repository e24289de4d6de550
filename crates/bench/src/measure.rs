//! Measuring one tracehouse backend: an in-process server over its store, ingest, the
//! backend's step to long-term storage, then every query through the `Store` trait, timed.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use anyhow::Context;
use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceResponse;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceResponse;
use tracehouse_clickhouse::{ClickHouseConfig, ClickHouseStore};
use tracehouse_engine::{
    EmbeddedStore, EngineConfig, HistogramQuery, SearchQuery, SearchSort, Store,
};
use tracehouse_model::TraceId;
use tracehouse_query::{Filter, Plan};
use tracehouse_server::{Server, ServerConfig};
use tracehouse_store_api::graph::service_graph;
use tracehouse_store_api::metrics::{MetricKey, MetricValue, SpanMetricsQuery};
use tracehouse_store_api::otel_metrics::query::{MetricFn, OtelMetricsQuery, otel_metrics};
use tracehouse_store_api::stats::MINUTE_NS;
use tracehouse_workload::{REQUESTS_METRIC, SERVICES};

use crate::chdb::{BACKEND_DATABASE, ChdbFront};
use crate::data::{DataSet, METRIC_INTERVAL_NS};
use crate::ingest::{Otlp, ingest};
use crate::over_http::OverHttp;
use crate::under_load::UnderLoad;
use crate::{BenchArgs, HOUR_NS};

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let idx = ((sorted.len() - 1) as f64 * p).round() as usize;
    sorted[idx]
}

/// Median and p95 of `runs` timings, in ms.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Timing {
    pub(crate) median: f64,
    pub(crate) p95: f64,
}

pub(crate) fn timing(mut ms: Vec<f64>) -> Timing {
    ms.sort_by(f64::total_cmp);
    Timing {
        median: percentile(&ms, 0.5),
        p95: percentile(&ms, 0.95),
    }
}

/// Times `f` `runs` times, in ms.
async fn time_runs<F, Fut>(runs: usize, mut f: F) -> anyhow::Result<Timing>
where
    F: FnMut(usize) -> Fut,
    Fut: Future<Output = anyhow::Result<()>>,
{
    let mut out = Vec::with_capacity(runs);
    for i in 0..runs {
        let t = Instant::now();
        f(i).await?;
        out.push(t.elapsed().as_secs_f64() * 1000.0);
    }
    Ok(timing(out))
}

fn dir_size(path: &Path) -> u64 {
    std::fs::read_dir(path)
        .map(|entries| {
            entries
                .filter_map(Result::ok)
                .map(|e| match e.metadata() {
                    Ok(m) if m.is_dir() => dir_size(&e.path()),
                    Ok(m) => m.len(),
                    Err(_) => 0,
                })
                .sum()
        })
        .unwrap_or(0)
}

/// A field of `/proc/<pid>/status` in MB (Linux), e.g. `VmHWM`; this process when `pid` is
/// `None`.
pub(crate) fn proc_status_mb(pid: Option<u32>, field: &str) -> Option<f64> {
    let path = match pid {
        Some(pid) => format!("/proc/{pid}/status"),
        None => "/proc/self/status".to_string(),
    };
    let text = std::fs::read_to_string(path).ok()?;
    let line = text.lines().find(|l| l.starts_with(field))?;
    let kb: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb / 1024.0)
}

/// CPU time (user and system) this process has used so far, in seconds (Linux; `None`
/// elsewhere): `/proc/self/stat`'s `utime` and `stime`, in clock ticks of 1/100 s.
pub(crate) fn process_cpu_secs() -> Option<f64> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    // The command name (field 2) may hold spaces; the fields after it are plain numbers.
    let after_name = &stat[stat.rfind(')')? + 2..];
    let mut fields = after_name.split_whitespace().skip(11);
    let utime: f64 = fields.next()?.parse().ok()?;
    let stime: f64 = fields.next()?.parse().ok()?;
    Some((utime + stime) / 100.0)
}

/// Resets the peak RSS (`VmHWM`) of this process, so that it measures the server from now on
/// (the memory the data set's generation freed is returned first).
fn reset_peak_rss() {
    tracehouse_server::allocator::release_free_memory();
    let _ = std::fs::write("/proc/self/clear_refs", "5");
}

/// What one tracehouse backend measured.
pub(crate) struct Measured {
    pub(crate) ingest_secs: f64,
    /// CPU seconds the process (server and clients) spent during ingest.
    pub(crate) ingest_cpu_secs: Option<f64>,
    /// Bytes on disk after that step; `None` when the backend cannot tell.
    pub(crate) bytes_on_disk: Option<u64>,
    /// Peak RSS of this process (the tracehouse server), MB.
    pub(crate) peak_rss_mb: Option<f64>,
    pub(crate) trace_by_id: Timing,
    pub(crate) service_duration: Timing,
    pub(crate) attribute: Timing,
    pub(crate) substring: Timing,
    pub(crate) histogram: Timing,
    pub(crate) percentiles: Timing,
    pub(crate) structural: Timing,
    /// Grafana's trace by id: `/tempo/api/v2/traces/{id}` as protobuf, over HTTP.
    pub(crate) tempo_trace_by_id: Timing,
    /// The structural search in TraceQL through `/tempo/api/search` (50 traces with their
    /// span sets), over HTTP.
    pub(crate) traceql_search: Timing,
    /// Span metrics per service over the whole range (count, errors, p50, p99).
    pub(crate) red_by_service: Timing,
    /// The same per service and span name.
    pub(crate) red_by_operation: Timing,
    /// The service map over the data set's last [`graph_window_ns`].
    pub(crate) service_graph: Timing,
    /// Largest relative error of a service's p99 from the span metrics against the exact
    /// p99, %.
    pub(crate) p99_error_pct: f64,
    /// OTLP metrics ingest, from the first send to the last acknowledgement, s.
    pub(crate) metrics_ingest_secs: f64,
    /// Bytes on disk of the metric points after the backend's step to long-term storage.
    pub(crate) metric_bytes: Option<u64>,
    /// `rate` of the request counter by `service.name` over the window, per minute.
    pub(crate) metrics_rate: Timing,
    /// Ingest into a fresh store while searching it (embedded store only).
    pub(crate) under_load: Option<UnderLoad>,
    /// Ingest over OTLP/HTTP into a fresh store (embedded store only).
    pub(crate) over_http: Option<OverHttp>,
    /// The backend's sentence for the notes under the table.
    pub(crate) note: String,
}

/// p50 and p99 of span duration per service, with DataFusion over the embedded store's
/// committed parts (after [`Backend::settle`], every span is in one); returns the number of
/// services.
async fn percentiles_by_service(
    store: &EmbeddedStore,
    start_ns: i64,
    end_ns: i64,
) -> anyhow::Result<usize> {
    use datafusion::functions_aggregate::expr_fn::approx_percentile_cont;
    use datafusion::prelude::{ParquetReadOptions, SessionConfig, SessionContext, col, lit};
    let paths: Vec<String> = store
        .span_part_files("default", start_ns, end_ns)
        .iter()
        .map(|p| p.display().to_string())
        .collect();
    let ctx = SessionContext::new_with_config(
        SessionConfig::new()
            .with_target_partitions(2)
            .with_batch_size(8192),
    );
    let duration = || col("duration").sort(true, false);
    let rows = ctx
        .read_parquet(paths, ParquetReadOptions::default())
        .await?
        .filter(
            col("project_id")
                .eq(lit("default"))
                .and(col("start_time").gt_eq(lit(start_ns)))
                .and(col("start_time").lt(lit(end_ns))),
        )?
        .aggregate(
            vec![col("service_name")],
            vec![
                approx_percentile_cont(duration(), lit(0.5), None).alias("p50"),
                approx_percentile_cont(duration(), lit(0.99), None).alias("p99"),
            ],
        )?
        .sort(vec![col("service_name").sort(true, false)])?
        .collect()
        .await?;
    Ok(rows.iter().map(|b| b.num_rows()).sum())
}

/// A tracehouse backend under measurement: the store every step goes through, and the hooks
/// for what the `Store` trait does not cover.
pub(crate) enum Backend {
    /// The embedded engine over `data_dir`.
    Embedded {
        store: Arc<EmbeddedStore>,
        data_dir: PathBuf,
    },
    /// The ClickHouse backend on chDB behind the front.
    ClickHouse {
        store: Arc<ClickHouseStore>,
        front: ChdbFront,
        version: String,
    },
}

impl Backend {
    /// Opens a fresh embedded store in `data_dir` (peak RSS counts from here).
    pub(crate) async fn embedded(data_dir: &Path) -> anyhow::Result<Backend> {
        let mut engine = EngineConfig::new(data_dir);
        engine.retention = None;
        reset_peak_rss();
        let store = EmbeddedStore::open(engine)
            .await
            .context("opening the embedded store")?;
        Ok(Backend::Embedded {
            store,
            data_dir: data_dir.to_path_buf(),
        })
    }

    /// Starts the front over fresh chDB data in `data` and opens the ClickHouse backend on
    /// it (migrations included; peak RSS counts from here).
    pub(crate) async fn clickhouse(
        python: &str,
        work: &Path,
        data: &Path,
    ) -> anyhow::Result<Backend> {
        let front = ChdbFront::start(python, work, data).await?;
        let mut config = ClickHouseConfig::new(front.url());
        config.database = BACKEND_DATABASE.into();
        config.retention = None;
        // The front decodes the client's LZ4 blocks in Python: a large insert takes longer
        // than a server would need, and must not time out and be retried.
        config.insert_timeout = std::time::Duration::from_secs(600);
        reset_peak_rss();
        let store = ClickHouseStore::open(config)
            .await
            .context("opening the ClickHouse backend")?;
        let version = store
            .client()
            .query("SELECT version()")
            .fetch_one::<String>()
            .await?;
        Ok(Backend::ClickHouse {
            store,
            front,
            version,
        })
    }

    /// The store, as the server and every query see it.
    pub(crate) fn store(&self) -> Arc<dyn Store> {
        match self {
            Backend::Embedded { store, .. } => store.clone(),
            Backend::ClickHouse { store, .. } => store.clone(),
        }
    }

    fn name(&self) -> &'static str {
        match self {
            Backend::Embedded { .. } => "tracehouse (embedded)",
            Backend::ClickHouse { .. } => "tracehouse on the ClickHouse backend",
        }
    }

    /// Makes everything long-term storage and measures it: the embedded store flushes its
    /// memtable and compacts parts as it does once their hour has closed; ClickHouse merges
    /// every table with `OPTIMIZE … FINAL`, like the chDB side. Returns the bytes on disk
    /// and the backend's sentence (with the time taken) for the notes.
    async fn settle(&self, spans: usize) -> anyhow::Result<(Option<u64>, String)> {
        let started = Instant::now();
        let per_span = |b: u64| b as f64 / spans as f64;
        match self {
            Backend::Embedded { store, data_dir } => {
                store.flush_now().await?;
                let now = tracehouse_server::time::now_ns();
                while store.compact(now + HOUR_NS).await? > 0 {}
                let secs = started.elapsed().as_secs_f64();
                let stats = store.stats();
                let bytes = dir_size(data_dir);
                let note = format!(
                    "flush + compaction {secs:.1} s into {} parts ({:.1} B/span of Parquet, {:.1} B/span with indexes and statistics; the parts hold {:.0} MB in memory)",
                    stats.parts,
                    per_span(stats.part_bytes),
                    per_span(bytes),
                    stats.part_memory_bytes as f64 / 1e6,
                );
                Ok((Some(bytes), note))
            }
            Backend::ClickHouse { store, .. } => {
                // A barrier: every acknowledged write is already inserted.
                store.flush().await?;
                let client = store.client();
                let tables = client
                    .query(
                        "SELECT name FROM system.tables \
                         WHERE database = currentDatabase() AND engine LIKE '%MergeTree' \
                         ORDER BY name",
                    )
                    .fetch_all::<String>()
                    .await?;
                for table in &tables {
                    // Names come from system.tables (the backend's own schema).
                    client
                        .query(&format!("OPTIMIZE TABLE `{table}` FINAL"))
                        .execute()
                        .await?;
                }
                let secs = started.elapsed().as_secs_f64();
                let parts = client
                    .query(
                        "SELECT toUInt64(count()), toUInt64(sum(bytes_on_disk)) FROM system.parts \
                         WHERE database = currentDatabase() AND active AND table = 'spans'",
                    )
                    .fetch_one::<(u64, u64)>()
                    .await;
                let total = client
                    .query(
                        "SELECT toUInt64(sum(bytes_on_disk)) FROM system.parts \
                         WHERE database = currentDatabase() AND active",
                    )
                    .fetch_one::<u64>()
                    .await;
                let note = match (&parts, &total) {
                    (Ok((n, span_bytes)), Ok(all)) => format!(
                        "OPTIMIZE FINAL of its {} tables {secs:.1} s, spans in {n} parts ({:.1} B/span; {:.1} B/span with the trace index, key/value statistics, logs and errors tables, from system.parts)",
                        tables.len(),
                        per_span(*span_bytes),
                        per_span(*all),
                    ),
                    _ => format!(
                        "OPTIMIZE FINAL of its {} tables {secs:.1} s; system.parts was not readable through the front, so no bytes on disk",
                        tables.len()
                    ),
                };
                Ok((total.ok(), note))
            }
        }
    }

    /// Makes the metric points long-term storage like [`Backend::settle`] does the spans
    /// (embedded: flush and compaction; ClickHouse: `OPTIMIZE TABLE otel_metrics FINAL`)
    /// and returns their bytes on disk: the engine's `metrics/` directory, or the table's
    /// active parts in `system.parts`.
    async fn settle_metrics(&self) -> anyhow::Result<Option<u64>> {
        match self {
            Backend::Embedded { store, data_dir } => {
                store.flush_now().await?;
                let now = tracehouse_server::time::now_ns();
                while store.compact(now + HOUR_NS).await? > 0 {}
                Ok(Some(dir_size(&data_dir.join("metrics"))))
            }
            Backend::ClickHouse { store, .. } => {
                store.flush().await?;
                let client = store.client();
                client
                    .query("OPTIMIZE TABLE otel_metrics FINAL")
                    .execute()
                    .await?;
                Ok(client
                    .query(
                        "SELECT toUInt64(sum(bytes_on_disk)) FROM system.parts \
                         WHERE database = currentDatabase() AND active AND table = 'otel_metrics'",
                    )
                    .fetch_one::<u64>()
                    .await
                    .ok())
            }
        }
    }

    /// p50 and p99 of span duration per service over the window from the raw rows;
    /// returns the number of services. The `Store` trait answers percentiles from the
    /// sketches kept at ingest (`span_metrics`, measured on its own), so each backend reads
    /// its rows natively here: DataFusion over the embedded store's Parquet parts, SQL
    /// `quantile` over the ClickHouse backend's `spans` table.
    async fn percentiles(&self, start_ns: i64, end_ns: i64) -> anyhow::Result<usize> {
        match self {
            Backend::Embedded { store, .. } => {
                percentiles_by_service(store, start_ns, end_ns).await
            }
            Backend::ClickHouse { store, .. } => {
                let rows = store
                    .client()
                    .query(&format!(
                        "SELECT toString(service_name), quantile(0.5)(duration), \
                         quantile(0.99)(duration) FROM spans \
                         WHERE project_id = 'default' \
                         AND timestamp >= fromUnixTimestamp64Nano(toInt64({start_ns}), 'UTC') \
                         AND timestamp < fromUnixTimestamp64Nano(toInt64({end_ns}), 'UTC') \
                         GROUP BY service_name ORDER BY service_name"
                    ))
                    .fetch_all::<(String, f64, f64)>()
                    .await?;
                Ok(rows.len())
            }
        }
    }

    /// The backend's sentence for the notes, after its figures.
    fn describe(&self, settled: &str) -> String {
        match self {
            Backend::Embedded { .. } => format!("{}: {settled}.", self.name()),
            Backend::ClickHouse { front, version, .. } => format!(
                "{}: ClickHouse {version} is chDB behind crates/clickhouse/tests/chdb_front.py, a Python HTTP front that decodes the client's LZ4 blocks in Python and runs one statement at a time — it is part of the measured path, so ingest and query times are bounded by it, not by the engine; {settled}; the front's process peaked at {:.0} MB RSS.",
                self.name(),
                front.peak_rss_mb().unwrap_or(f64::NAN),
            ),
        }
    }
}

/// The TraceQL search equivalent to the native structural query.
const TRACEQL_STRUCTURAL: &str = "{ resource.service.name = \"frontend\" } >> \
    { resource.service.name = \"postgres\" && duration > 5ms }";

/// Grafana's two calls through the Tempo routes of the running server: trace by id as
/// protobuf, and the structural query as a TraceQL search of 50 traces.
async fn tempo_routes(runs: usize, api: &str, set: &DataSet) -> anyhow::Result<(Timing, Timing)> {
    let http = reqwest::Client::new();
    let by_id = time_runs(runs, |i| {
        let request = http
            .get(format!(
                "{api}/tempo/api/v2/traces/{}",
                hex::encode(set.lookup_ids[i])
            ))
            .header("accept", "application/protobuf");
        async move {
            let response = request.send().await?.error_for_status()?;
            anyhow::ensure!(!response.bytes().await?.is_empty(), "an empty trace");
            Ok(())
        }
    })
    .await?;
    let window = [
        ("q", TRACEQL_STRUCTURAL.to_string()),
        ("limit", "50".to_string()),
        ("start", (set.start_ns / 1_000_000_000).to_string()),
        ("end", (set.end_ns / 1_000_000_000 + 1).to_string()),
    ];
    let search = time_runs(runs, |_| {
        let request = http.get(format!("{api}/tempo/api/search")).query(&window);
        async move {
            let body: serde_json::Value = request.send().await?.error_for_status()?.json().await?;
            anyhow::ensure!(
                body["traces"].as_array().is_some_and(|t| !t.is_empty()),
                "the TraceQL search found nothing"
            );
            Ok(())
        }
    })
    .await?;
    Ok((by_id, search))
}

/// The window of the service map figure, at the end of the data set: the last 2 minutes,
/// shortened past 2M spans to keep the same number of spans in it (2 min × 2M / spans). The
/// map reads the spans of its range and refuses a range of more than 100,000 of them; the
/// last 2 minutes of a 16M-span data set hold about 270,000.
pub(crate) fn graph_window_ns(spans: usize) -> i64 {
    const FULL: f64 = 2_000_000.0;
    let share = (FULL / spans.max(1) as f64).min(1.0);
    (GRAPH_WINDOW_NS as f64 * share) as i64
}

/// The service map's window at data sets of up to 2M spans.
const GRAPH_WINDOW_NS: i64 = 2 * MINUTE_NS;

/// The span metrics figures of one backend.
struct RedFigures {
    by_service: Timing,
    by_operation: Timing,
    graph: Timing,
    p99_error_pct: f64,
}

/// Span metrics over the whole range split by `by`, in one step (through the `Store` trait,
/// as `/api/v1/metrics/spans` and `/api/v1/services` ask).
fn red_query(set: &DataSet, by: &[&str]) -> SpanMetricsQuery {
    let minutes = (set.end_ns - set.start_ns) / MINUTE_NS + 2;
    SpanMetricsQuery {
        project_id: "default".into(),
        plan: Plan {
            pushdown: Filter::True,
            structure: None,
        },
        start_ns: set.start_ns,
        end_ns: set.end_ns,
        step_ns: minutes * MINUTE_NS,
        by: by.iter().map(|k| MetricKey::named(k)).collect(),
        value: MetricValue::Duration,
    }
}

/// Times span metrics by service and by operation and the service map, and compares each
/// service's p99 with the exact one.
async fn red_figures(
    args: &BenchArgs,
    set: &DataSet,
    store: &Arc<dyn Store>,
) -> anyhow::Result<RedFigures> {
    let red = |by: &'static [&'static str]| {
        let query = red_query(set, by);
        time_runs(args.runs, move |_| {
            let store = store.clone();
            let query = query.clone();
            async move {
                let answer = store.span_metrics(&query).await?;
                anyhow::ensure!(!answer.series.is_empty(), "no span metrics by {by:?}");
                Ok(())
            }
        })
    };
    let by_service = red(&["service"]).await?;
    let by_operation = red(&["service", "name"]).await?;
    let graph_window = (set.end_ns - graph_window_ns(set.spans), set.end_ns);
    // A small data set may have no trace in the window: the figure times the map, the
    // store suites check its edges.
    let graph = time_runs(args.runs, |_| async {
        service_graph(store.as_ref(), "default", graph_window).await?;
        Ok(())
    })
    .await?;
    let answer = store.span_metrics(&red_query(set, &["service"])).await?;
    let mut p99_error_pct: f64 = 0.0;
    for s in &answer.series {
        let service = s.labels.values().next().cloned().unwrap_or_default();
        let x = *set
            .exact_p99
            .get(&service)
            .with_context(|| format!("no exact p99 of {service}"))? as f64;
        p99_error_pct = p99_error_pct.max((s.total.p99 - x).abs() / x * 100.0);
    }
    Ok(RedFigures {
        by_service,
        by_operation,
        graph,
        p99_error_pct,
    })
}

/// Times the metrics query figure as `/api/v1/metrics/query` answers it: `rate` of the
/// request counter (every series of the data set) by `service.name` over the window, one
/// step per export interval; each answer must hold a rate for every service.
async fn metrics_rate(
    args: &BenchArgs,
    set: &DataSet,
    store: &dyn Store,
) -> anyhow::Result<Timing> {
    let query = OtelMetricsQuery {
        project_id: "default".into(),
        metric: REQUESTS_METRIC.into(),
        filter: Filter::True,
        function: MetricFn::Rate,
        by: vec!["service.name".into()],
        start_ns: set.start_ns,
        end_ns: set.end_ns,
        step_ns: METRIC_INTERVAL_NS,
    }
    .aligned()?;
    time_runs(args.runs, |_| async {
        let answer = otel_metrics(store, &query).await?;
        anyhow::ensure!(
            answer.series.len() == set.metrics.services
                && answer
                    .series
                    .iter()
                    .all(|s| s.total.is_some_and(|r| r > 0.0)),
            "the rate by service has {} series, not {} with a rate each",
            answer.series.len(),
            set.metrics.services
        );
        Ok(())
    })
    .await
}

/// An in-process tracehouse server on ephemeral ports over a store.
pub(crate) struct Serving {
    /// Its OTLP/gRPC endpoint.
    pub(crate) grpc: Otlp,
    /// Its OTLP/HTTP endpoint.
    pub(crate) http: Otlp,
    /// Its API's base URL.
    pub(crate) api: String,
    stop: tokio::sync::oneshot::Sender<()>,
    running: tokio::task::JoinHandle<anyhow::Result<()>>,
}

impl Serving {
    /// Binds a server of the default configuration over `store` and starts it.
    pub(crate) async fn start(store: Arc<dyn Store>) -> anyhow::Result<Serving> {
        let config = ServerConfig {
            listen: "127.0.0.1:0".parse()?,
            otlp_grpc: "127.0.0.1:0".parse()?,
            otlp_http: "127.0.0.1:0".parse()?,
            ..ServerConfig::default()
        };
        let server = Server::bind(config, store).await?;
        let addrs = server.addrs()?;
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let running = tokio::spawn(server.run(async {
            let _ = stopped.await;
        }));
        Ok(Serving {
            grpc: Otlp::Grpc(format!("http://{}", addrs.otlp_grpc)),
            http: Otlp::Http(format!("http://{}", addrs.otlp_http)),
            api: format!("http://{}", addrs.api),
            stop,
            running,
        })
    }

    /// Stops the server and waits for it to finish.
    pub(crate) async fn stop(self) -> anyhow::Result<()> {
        let _ = self.stop.send(());
        self.running.await?
    }
}

/// The bench's three span searches: a service with a duration bound, one user's spans
/// (high cardinality), a substring of the span name.
pub(crate) fn searches(set: &DataSet) -> [String; 3] {
    [
        "service:checkout duration>10ms".into(),
        format!("user.id={}", set.user_id),
        "span_name:*cart*".into(),
    ]
}

/// The newest 50 spans matching `text` over the data set's window.
pub(crate) fn newest_50(text: &str, set: &DataSet) -> anyhow::Result<SearchQuery> {
    Ok(SearchQuery {
        project_id: "default".into(),
        plan: tracehouse_query::plan(&tracehouse_query::parse(text)?),
        start_ns: set.start_ns,
        end_ns: set.end_ns,
        sort: SearchSort::TimeDesc,
        sort_key: None,
        limit: 50,
        cursor: None,
    })
}

/// The histogram of every span over the data set's window, 60 buckets.
pub(crate) fn all_spans_histogram(set: &DataSet) -> anyhow::Result<HistogramQuery> {
    Ok(HistogramQuery {
        project_id: "default".into(),
        plan: tracehouse_query::plan(&tracehouse_query::parse("")?),
        start_ns: set.start_ns,
        end_ns: set.end_ns,
        buckets: 60,
        traces: false,
    })
}

/// Measures one tracehouse backend: an in-process server on ephemeral ports over its store,
/// OTLP/gRPC ingest of the load file, the backend's step to long-term storage, then every
/// query through the `Store` trait.
pub(crate) async fn measure(
    args: &BenchArgs,
    set: &DataSet,
    (otlp_path, metrics_path): (&Path, &Path),
    backend: &Backend,
) -> anyhow::Result<Measured> {
    let store = backend.store();
    // What this process already holds (the allocator keeps memory of an earlier backend's
    // run): the peak RSS of this backend cannot be lower.
    let resident_mb = proc_status_mb(None, "VmRSS:");
    let serving = Serving::start(store.clone()).await?;
    let (grpc, api) = (serving.grpc.clone(), serving.api.clone());

    eprintln!("{}: ingest over OTLP/gRPC…", backend.name());
    let cpu_before = process_cpu_secs();
    let ingest_secs =
        ingest::<ExportTraceServiceResponse>(&grpc, otlp_path, set.requests, args.clients.max(1))
            .await?;
    let ingest_cpu_secs = process_cpu_secs().zip(cpu_before).map(|(a, b)| a - b);
    let peak_after_ingest = proc_status_mb(None, "VmHWM:");

    eprintln!("{}: to long-term storage…", backend.name());
    let (bytes_on_disk, settled) = backend.settle(set.spans).await?;
    let peak_after_settle = proc_status_mb(None, "VmHWM:");

    eprintln!("{}: metrics ingest over OTLP/gRPC…", backend.name());
    let metrics_ingest_secs = ingest::<ExportMetricsServiceResponse>(
        &grpc,
        metrics_path,
        set.metrics.requests,
        args.clients.max(1),
    )
    .await?;
    let metric_bytes = backend.settle_metrics().await?;

    eprintln!("{}: queries, {} runs each…", backend.name(), args.runs);
    let (start_ns, end_ns) = (set.start_ns, set.end_ns);
    let trace_by_id = time_runs(args.runs, |i| {
        let store = store.clone();
        let id = TraceId(set.lookup_ids[i]);
        async move {
            let spans = store.trace("default", id).await?;
            anyhow::ensure!(!spans.is_empty(), "a generated trace was not found");
            Ok(())
        }
    })
    .await?;
    let search = |text: String| {
        let store = store.clone();
        async move {
            let query = newest_50(&text, set)?;
            time_runs(args.runs, |_| {
                let store = store.clone();
                let query = query.clone();
                let text = text.clone();
                async move {
                    let page = store.search_spans(&query).await?;
                    anyhow::ensure!(!page.spans.is_empty(), "{text:?} found nothing");
                    Ok(())
                }
            })
            .await
        }
    };
    let [service_duration, attribute, substring] = searches(set);
    let service_duration = search(service_duration).await?;
    let attribute = search(attribute).await?;
    let substring = search(substring).await?;
    let structural = search("{service:frontend} >> {service:postgres duration>5ms}".into()).await?;
    let histogram = {
        let query = all_spans_histogram(set)?;
        time_runs(args.runs, |_| {
            let store = store.clone();
            let query = query.clone();
            async move {
                let h = store.histogram(&query).await?;
                let total: u64 = h.buckets.iter().map(|b| b.count).sum();
                anyhow::ensure!(
                    total as usize == set.spans,
                    "histogram counted {total} spans"
                );
                Ok(())
            }
        })
        .await?
    };
    let percentiles = time_runs(args.runs, |_| async {
        let services = backend.percentiles(start_ns, end_ns).await?;
        anyhow::ensure!(services == SERVICES.len(), "{services} services");
        Ok(())
    })
    .await?;
    let (tempo_trace_by_id, traceql_search) = tempo_routes(args.runs, &api, set).await?;
    let red = red_figures(args, set, &store).await?;
    let metrics_rate = metrics_rate(args, set, store.as_ref()).await?;
    let peak_rss_mb = proc_status_mb(None, "VmHWM:");
    serving.stop().await?;
    Ok(Measured {
        ingest_secs,
        ingest_cpu_secs,
        bytes_on_disk,
        peak_rss_mb,
        trace_by_id,
        service_duration,
        attribute,
        substring,
        histogram,
        percentiles,
        structural,
        tempo_trace_by_id,
        traceql_search,
        red_by_service: red.by_service,
        red_by_operation: red.by_operation,
        service_graph: red.graph,
        p99_error_pct: red.p99_error_pct,
        metrics_ingest_secs,
        metric_bytes,
        metrics_rate,
        under_load: None,
        over_http: None,
        note: match (resident_mb, peak_after_ingest, peak_after_settle) {
            (Some(mb), Some(ingest), Some(settle)) => format!(
                "{} Its peak RSS counts from {mb:.0} MB already resident when its store opened; \
                 it was {ingest:.0} MB after ingest and {settle:.0} MB after the step to long-term storage.",
                backend.describe(&settled)
            ),
            _ => backend.describe(&settled),
        },
    })
}
