//! `tracehouse bench`: ingest throughput over OTLP/gRPC with fsync'd acknowledgements, bytes
//! per span on disk after compaction, and query latencies, on generated shop traffic, printed
//! as a table.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use clap::Args;
use indicatif::{ProgressBar, ProgressStyle};
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::collector::trace::v1::trace_service_client::TraceServiceClient;
use rand::RngExt;
use tracehouse_model::TraceId;
use tracehouse_server::{Server, ServerConfig};
use tracehouse_store::{EmbeddedStore, EngineConfig, SearchQuery, SearchSort, Store};

use crate::shop::ShopGenerator;

const HOUR_NS: i64 = 3_600_000_000_000;

/// Options of `tracehouse bench`.
#[derive(Debug, Clone, Args)]
pub struct BenchArgs {
    /// Approximate number of spans to ingest.
    #[arg(long, default_value_t = 1_000_000)]
    pub spans: usize,
    /// Concurrent OTLP/gRPC clients.
    #[arg(long, default_value_t = 4)]
    pub clients: usize,
    /// Traces per export request (a trace has 3 to 17 spans).
    #[arg(long, default_value_t = 100)]
    pub traces_per_request: usize,
    /// Trace-by-id lookups to time.
    #[arg(long, default_value_t = 200)]
    pub lookups: usize,
    /// Generator seed.
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
    /// Store directory (default: a temporary directory, removed afterwards).
    #[arg(long, value_name = "DIR")]
    pub data_dir: Option<PathBuf>,
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let idx = ((sorted.len() - 1) as f64 * p).round() as usize;
    sorted[idx]
}

fn ms(d: Duration) -> String {
    format!("{:.2} ms", d.as_secs_f64() * 1000.0)
}

fn dir_size(path: &std::path::Path) -> u64 {
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

/// Times `f` `runs` times; returns the sorted durations.
async fn time_runs<F, Fut>(runs: usize, mut f: F) -> anyhow::Result<Vec<Duration>>
where
    F: FnMut(usize) -> Fut,
    Fut: std::future::Future<Output = anyhow::Result<()>>,
{
    let mut out = Vec::with_capacity(runs);
    for i in 0..runs {
        let t = Instant::now();
        f(i).await?;
        out.push(t.elapsed());
    }
    out.sort();
    Ok(out)
}

/// Runs the benchmark and prints the results.
pub async fn run(args: BenchArgs) -> anyhow::Result<()> {
    let tmp;
    let data_dir = match &args.data_dir {
        Some(d) => d.clone(),
        None => {
            tmp = tempfile_dir()?;
            tmp.clone()
        }
    };
    let mut engine = EngineConfig::new(&data_dir);
    engine.retention = None;
    let store = EmbeddedStore::open(engine)
        .await
        .context("opening the store")?;
    let dyn_store: Arc<dyn Store> = store.clone();
    let config = ServerConfig {
        listen: "127.0.0.1:0".parse()?,
        otlp_grpc: "127.0.0.1:0".parse()?,
        otlp_http: "127.0.0.1:0".parse()?,
        ..ServerConfig::default()
    };
    let server = Server::bind(config, dyn_store).await?;
    let grpc = format!("http://{}", server.addrs()?.otlp_grpc);
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let serving = tokio::spawn(server.run(async {
        let _ = stop_rx.await;
    }));

    // Generate every request first so that generation is not measured.
    eprintln!("generating about {} spans…", args.spans);
    let now = tracehouse_server::time::now_ns();
    let window_start = now - 3 * HOUR_NS;
    let mut generator = ShopGenerator::new(args.seed);
    let mut requests: Vec<(ExportTraceServiceRequest, usize)> = Vec::new();
    let mut trace_ids: Vec<Vec<u8>> = Vec::new();
    let mut total_spans = 0;
    while total_spans < args.spans {
        let (req, ids, n) = generator.request(args.traces_per_request, |rng| {
            window_start + rng.random_range(0..2 * HOUR_NS)
        });
        total_spans += n;
        trace_ids.extend(ids);
        requests.push((req, n));
    }

    let bar = ProgressBar::new(total_spans as u64);
    bar.set_style(
        ProgressStyle::with_template("{bar:40} {pos}/{len} spans  {per_sec}  eta {eta}")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    let queue = Arc::new(tokio::sync::Mutex::new(requests));
    let started = Instant::now();
    let mut clients = Vec::new();
    for _ in 0..args.clients {
        let queue = queue.clone();
        let bar = bar.clone();
        let grpc = grpc.clone();
        clients.push(tokio::spawn(async move {
            let mut client = TraceServiceClient::connect(grpc).await?;
            loop {
                let Some((req, n)) = queue.lock().await.pop() else {
                    break;
                };
                client.export(req).await?;
                bar.inc(n as u64);
            }
            anyhow::Ok(())
        }));
    }
    for c in clients {
        c.await??;
    }
    let ingest_secs = started.elapsed().as_secs_f64();
    bar.finish_and_clear();

    // Make everything part of the long-term storage, compacted as it would be after an hour.
    let flush_started = Instant::now();
    store.flush_now().await?;
    while store.compact(now + HOUR_NS).await? > 0 {}
    let compact_secs = flush_started.elapsed().as_secs_f64();
    let stats = store.stats();

    let mut rng = <rand::rngs::StdRng as rand::SeedableRng>::seed_from_u64(args.seed);
    let lookups = time_runs(args.lookups, |_| {
        let id = &trace_ids[rng.random_range(0..trace_ids.len())];
        let store = store.clone();
        let id = TraceId::from_bytes(id);
        async move {
            let spans = store.trace("default", id?).await?;
            anyhow::ensure!(!spans.is_empty(), "a generated trace was not found");
            Ok(())
        }
    })
    .await?;
    let mut queries = Vec::new();
    for (label, text) in [
        (
            "service:checkout duration>10ms, newest 50",
            "service:checkout duration>10ms",
        ),
        ("user.id=4242 (high cardinality)", "user.id=4242"),
        ("span name contains \"cart\"", "span_name:*cart*"),
        (
            "{frontend} >> {postgres duration>5ms}",
            "{service:frontend} >> {service:postgres duration>5ms}",
        ),
    ] {
        let plan = tracehouse_query::plan(&tracehouse_query::parse(text)?);
        let query = SearchQuery {
            project_id: "default".into(),
            plan,
            start_ns: window_start,
            end_ns: now,
            sort: SearchSort::TimeDesc,
            limit: 50,
            cursor: None,
        };
        let runs = time_runs(7, |_| {
            let store = store.clone();
            let query = query.clone();
            async move {
                store.search_spans(&query).await?;
                Ok(())
            }
        })
        .await?;
        queries.push((label, runs));
    }

    let _ = stop_tx.send(());
    serving.await??;

    println!(
        "tracehouse bench: {total_spans} spans in {} traces, {} clients, {} traces/request",
        trace_ids.len(),
        args.clients,
        args.traces_per_request
    );
    println!("| measure | value |");
    println!("|---|---|");
    println!(
        "| ingest (OTLP/gRPC, fsync'd acks) | {:.0} spans/s ({ingest_secs:.1} s) |",
        total_spans as f64 / ingest_secs
    );
    println!(
        "| flush + compaction | {compact_secs:.1} s → {} parts |",
        stats.parts
    );
    println!(
        "| bytes/span in parts (Parquet) | {:.1} |",
        stats.part_bytes as f64 / stats.part_rows.max(1) as f64
    );
    println!(
        "| bytes/span on disk (data dir) | {:.1} |",
        dir_size(&data_dir) as f64 / total_spans.max(1) as f64
    );
    println!(
        "| trace by id, median / p95 ({} lookups) | {} / {} |",
        lookups.len(),
        ms(percentile(&lookups, 0.5)),
        ms(percentile(&lookups, 0.95))
    );
    for (label, runs) in &queries {
        println!(
            "| {label}, median / p95 | {} / {} |",
            ms(percentile(runs, 0.5)),
            ms(percentile(runs, 0.95))
        );
    }
    if args.data_dir.is_none() {
        drop(store);
        let _ = std::fs::remove_dir_all(&data_dir);
    }
    Ok(())
}

fn tempfile_dir() -> anyhow::Result<PathBuf> {
    let dir = std::env::temp_dir().join(format!("tracehouse-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    Ok(dir)
}
