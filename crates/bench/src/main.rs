//! `tracehouse-bench`: tracehouse against the ClickHouse engine on the same generated data
//! (`tracehouse bench ARGS` runs it too; bench/README.md explains the method).
//!
//! 1. [`data`]: the shop generator (`tracehouse-workload`) writes the data set once, as
//!    length-prefixed OTLP export requests (what tracehouse ingests) and, with
//!    `--compare clickhouse`, as JSONCompactEachRow rows in Highlight's ClickHouse `traces`
//!    layout (what ClickHouse loads).
//! 2. [`measure`]: tracehouse, once per backend (the embedded store always; its ClickHouse
//!    backend with `--compare clickhouse-backend`): an in-process server on ephemeral ports
//!    with a fresh store; clients stream the requests from the file over OTLP/gRPC
//!    ([`ingest`], acknowledged once durable) — that is the ingest rate; then the backend's
//!    own step to long-term storage (embedded: flush and compaction; ClickHouse:
//!    `OPTIMIZE … FINAL`), bytes per span on disk, and every query `--runs` times through the
//!    `Store` trait; then the shop's OTLP metrics the same way (ingest rate in data points/s,
//!    bytes per point, and `rate` of a counter by service as `/api/v1/metrics/query` answers
//!    it). One function does this for any `Arc<dyn Store>`; what differs is a
//!    backend hook (p50/p99 by service from the raw rows, where the `Store` trait answers
//!    from sketches: DataFusion over the embedded store's Parquet parts, SQL `quantile` over
//!    the backend's `spans` table). The ClickHouse backend talks to chDB behind the HTTP front of the
//!    backend's tests ([`chdb`]), which is part of the measured path. The embedded store
//!    then takes the load file again into fresh stores: while searched once a second
//!    ([`under_load`]), and over OTLP/HTTP with protobuf bodies ([`over_http`]).
//! 3. [`chdb`]: ClickHouse itself: `chdb_bench.py` (embedded in the binary) loads the rows into
//!    chDB with `INSERT … SELECT FROM file()`, runs `OPTIMIZE FINAL`, reads bytes on disk from
//!    `system.parts` and runs the equivalent SQL the same number of times.
//! 4. [`report`]: one table, one column per engine and embedded/ClickHouse ratios, printed as
//!    Markdown and written as Markdown and JSON with `--out`.

mod chdb;
mod data;
mod ingest;
mod measure;
mod over_http;
mod report;
mod under_load;

use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{Context, bail};
use clap::{Parser, ValueEnum};

use crate::chdb::measure_clickhouse;
use crate::data::generate;
use crate::measure::{Backend, measure};
use crate::over_http::ingest_over_http;
use crate::report::{Results, json_report, markdown};
use crate::under_load::ingest_under_load;

/// The work directory's store of the ingest under a query load.
const UNDER_LOAD_DIR: &str = "tracehouse-under-load";
/// The work directory's store of the ingest over OTLP/HTTP.
const OVER_HTTP_DIR: &str = "tracehouse-over-http";

/// An hour, in ns.
const HOUR_NS: i64 = 3_600_000_000_000;
/// The full-size data set: results of runs at least this large are also written as
/// `latest.json`/`latest.md`.
const FULL_SIZE: usize = 2_000_000;

/// An engine measured besides tracehouse's embedded store.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Compare {
    /// ClickHouse's engine in-process (chDB from PyPI), with Highlight's traces schema,
    /// loaded from a file and queried with hand-written SQL.
    Clickhouse,
    /// tracehouse on its ClickHouse backend, fed over OTLP and queried through the `Store`
    /// trait like the embedded store; the ClickHouse engine is chDB behind the Python HTTP
    /// front of the backend's tests, which bounds ingest.
    ClickhouseBackend,
}

/// Measure ingest throughput, bytes per span and query latency of tracehouse on generated
/// traffic, optionally side by side with tracehouse on its ClickHouse backend and with the
/// ClickHouse engine itself (chDB) on the same data.
///
/// Runs an in-process server on ephemeral ports with a temporary store, sends generated
/// shop traces over OTLP/gRPC, compacts, queries, and prints a table (see bench/README.md).
/// Build with --release:
///   cargo run --release -p tracehouse-bench -- --compare clickhouse,clickhouse-backend --out bench/results
///   cargo run --release -p tracehouse-bench -- --spans 50000
#[derive(Debug, Clone, Parser)]
#[command(name = "tracehouse-bench", version, verbatim_doc_comment)]
struct BenchArgs {
    /// Approximate number of spans in the data set (whole traces).
    #[arg(long, default_value_t = FULL_SIZE)]
    pub spans: usize,
    /// Also measure these engines on the same data, comma-separated: `clickhouse` (the
    /// ClickHouse engine, chDB, with Highlight's schema and SQL) and `clickhouse-backend`
    /// (tracehouse on its ClickHouse backend, chDB behind a Python HTTP front that is part
    /// of the measured path).
    #[arg(long, value_enum, value_delimiter = ',', value_name = "ENGINES")]
    pub compare: Vec<Compare>,
    /// Runs of each query (median and p95 are reported; at least 5).
    #[arg(long, default_value_t = 11)]
    pub runs: usize,
    /// Concurrent OTLP/gRPC clients.
    #[arg(long, default_value_t = 4)]
    pub clients: usize,
    /// Traces per export request (a trace has 3 to 49 spans, 12 on average).
    #[arg(long, default_value_t = 100)]
    pub traces_per_request: usize,
    /// Series of each metric in the metrics data set (a cumulative request counter and a
    /// duration histogram of the shop's services, exported every minute).
    #[arg(long, default_value_t = 1_000)]
    pub metric_series: usize,
    /// Generator seed.
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
    /// Write the results as Markdown and JSON into this directory (e.g. bench/results).
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
    /// Working directory for the data files and the stores, kept afterwards so that the
    /// embedded store can be reopened (`tracehouse serve --data-dir DIR/tracehouse`);
    /// default: a temporary directory, removed afterwards.
    #[arg(long, value_name = "DIR")]
    pub work_dir: Option<PathBuf>,
    /// Python interpreter for the ClickHouse side.
    #[arg(long, default_value = "python3", value_name = "PATH")]
    pub python: String,
}

/// The server's allocator (see the `tracehouse` binary), so that the figures measure it.
#[global_allocator]
static ALLOCATOR: tracehouse_server::allocator::Allocator =
    tracehouse_server::allocator::Allocator {};

fn main() -> anyhow::Result<()> {
    tracehouse_server::allocator::init();
    tracehouse_server::runtime::build()?.block_on(run(BenchArgs::parse()))
}

/// Runs the benchmark and prints (and with `--out`, writes) the results.
async fn run(args: BenchArgs) -> anyhow::Result<()> {
    if args.runs < 5 {
        bail!("--runs must be at least 5 (median and p95 of too few runs mean little)");
    }
    if args.spans == 0
        || args.clients == 0
        || args.traces_per_request == 0
        || args.metric_series == 0
    {
        bail!("--spans, --clients, --traces-per-request and --metric-series must be at least 1");
    }
    let (work, temporary) = match &args.work_dir {
        Some(d) => (d.clone(), false),
        None => (
            std::env::temp_dir().join(format!("tracehouse-bench-{}", std::process::id())),
            true,
        ),
    };
    for stale in ["tracehouse", UNDER_LOAD_DIR, OVER_HTTP_DIR, "chdb-backend"] {
        let dir = work.join(stale);
        if dir.exists() {
            std::fs::remove_dir_all(&dir)
                .with_context(|| format!("cannot clear {}", dir.display()))?;
        }
    }
    std::fs::create_dir_all(&work)?;
    let result = run_in(&args, &work, temporary).await;
    if temporary {
        let _ = std::fs::remove_dir_all(&work);
    }
    result
}

/// Runs `phase`, which opens a store in `dir` and closes it by its end, then removes `dir`
/// when the work directory is temporary, whether the phase succeeded or not.
async fn in_store_dir<T>(
    dir: &Path,
    temporary: bool,
    phase: impl Future<Output = anyhow::Result<T>>,
) -> anyhow::Result<T> {
    let result = phase.await;
    if temporary {
        let _ = std::fs::remove_dir_all(dir);
    }
    result
}

async fn run_in(args: &BenchArgs, work: &Path, temporary: bool) -> anyhow::Result<()> {
    let otlp_path = work.join("load.otlp");
    let metrics_path = work.join("metrics.otlp");
    let rows_path = work.join("spans.jsonl");
    let with_clickhouse = args.compare.contains(&Compare::Clickhouse);
    let with_backend = args.compare.contains(&Compare::ClickhouseBackend);
    eprintln!("generating about {} spans…", args.spans);
    let started = Instant::now();
    let set = {
        let args = args.clone();
        let paths = (otlp_path.clone(), metrics_path.clone(), rows_path.clone());
        tokio::task::spawn_blocking(move || {
            let (otlp_path, metrics_path, rows_path) = paths;
            generate(
                &args,
                &otlp_path,
                &metrics_path,
                with_clickhouse.then_some(rows_path.as_path()),
            )
        })
        .await??
    };
    eprintln!(
        "generated {} spans in {} traces and {} metric data points in {:.1} s ({:.0} MB of OTLP{})",
        set.spans,
        set.traces,
        set.metrics.points,
        started.elapsed().as_secs_f64(),
        (set.otlp_bytes + set.metrics.bytes) as f64 / 1e6,
        if with_clickhouse {
            format!(", {:.0} MB of rows", set.rows_bytes as f64 / 1e6)
        } else {
            String::new()
        }
    );
    let data_dir = work.join("tracehouse");
    let mut embedded = in_store_dir(&data_dir, temporary, async {
        let backend = Backend::embedded(&data_dir).await?;
        measure(args, &set, (&otlp_path, &metrics_path), &backend).await
    })
    .await?;
    eprintln!("tracehouse (embedded): ingest into a fresh store, searched once a second…");
    let loaded_dir = work.join(UNDER_LOAD_DIR);
    let under_load = ingest_under_load(args, &set, &otlp_path, &loaded_dir);
    embedded.under_load = Some(in_store_dir(&loaded_dir, temporary, under_load).await?);
    eprintln!("tracehouse (embedded): ingest over OTLP/HTTP into a fresh store…");
    let http_dir = work.join(OVER_HTTP_DIR);
    let over_http = ingest_over_http(args, &set, &otlp_path, &http_dir);
    embedded.over_http = Some(in_store_dir(&http_dir, temporary, over_http).await?);
    let backend = if with_backend {
        let chdb_dir = work.join("chdb-backend");
        let measured = in_store_dir(&chdb_dir, temporary, async {
            let backend = Backend::clickhouse(&args.python, work, &chdb_dir).await?;
            measure(args, &set, (&otlp_path, &metrics_path), &backend).await
        });
        Some(measured.await?)
    } else {
        None
    };
    let ch = if with_clickhouse {
        Some(measure_clickhouse(args, &set, work, &rows_path)?)
    } else {
        None
    };
    let results = Results::new(&set, &embedded, backend.as_ref(), ch.as_ref());
    let md = markdown(args, &results);
    println!("{md}");
    if let Some(out) = &args.out {
        std::fs::create_dir_all(out).with_context(|| format!("cannot create {}", out.display()))?;
        let json = serde_json::to_string_pretty(&json_report(&results))?;
        let mut names = vec![format!("{}-spans", args.spans)];
        if args.spans >= FULL_SIZE && !args.compare.is_empty() {
            names.push("latest".into());
        }
        for name in names {
            std::fs::write(out.join(format!("{name}.md")), &md)?;
            std::fs::write(out.join(format!("{name}.json")), format!("{json}\n"))?;
            eprintln!(
                "wrote {}",
                out.join(format!("{name}.{{md,json}}")).display()
            );
        }
    }
    Ok(())
}
