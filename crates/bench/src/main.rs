//! `tracehouse bench`: tracehouse against the ClickHouse engine on the same generated data.
//!
//! 1. The shop generator writes the data set once, as length-prefixed OTLP export requests
//!    (what tracehouse ingests) and, with `--compare clickhouse`, as JSONCompactEachRow rows
//!    in Highlight's ClickHouse `traces` layout (what ClickHouse loads).
//! 2. tracehouse, once per backend (the embedded store always; its ClickHouse backend with
//!    `--compare clickhouse-backend`): an in-process server on ephemeral ports with a fresh
//!    store; clients stream the requests from the file over OTLP/gRPC (acknowledged once
//!    durable) — that is the ingest rate; then the backend's own step to long-term storage
//!    (embedded: flush and compaction; ClickHouse: `OPTIMIZE … FINAL`), bytes per span on
//!    disk, and every query `--runs` times through the `Store` trait. One function
//!    ([`measure`]) does this for any `Arc<dyn Store>`; what differs is a [`Backend`] hook
//!    (p50/p99 by service, which the `Store` trait has no aggregation for: DataFusion over
//!    the embedded store's Parquet parts, SQL `quantile` over the backend's `spans` table).
//!    The ClickHouse backend talks to chDB behind the HTTP front of the backend's tests
//!    (`crates/clickhouse/tests/chdb_front.py`, embedded in the binary), which is part of
//!    the measured path.
//! 3. ClickHouse: `bench/chdb_bench.py` (embedded in the binary) loads the rows into chDB
//!    with `INSERT … SELECT FROM file()`, runs `OPTIMIZE FINAL`, reads bytes on disk from
//!    `system.parts` and runs the equivalent SQL the same number of times.
//! 4. One table, one column per engine and embedded/ClickHouse ratios, printed as Markdown
//!    and written as Markdown and JSON with `--out`.

use std::fs::File;
use std::io::{BufReader, BufWriter, Read, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use anyhow::{Context, bail};
use clap::{Args, ValueEnum};
use indicatif::{ProgressBar, ProgressStyle};
use opentelemetry_proto::tonic::collector::trace::v1::{
    ExportTraceServiceRequest, ExportTraceServiceResponse,
};
use opentelemetry_proto::tonic::common::v1::{AnyValue, KeyValue, any_value};
use opentelemetry_proto::tonic::trace::v1::Span as OtlpSpan;
use prost::Message;
use rand::{RngExt, SeedableRng};
use serde_json::{Value, json};
use tonic::codec::{Codec, DecodeBuf, Decoder, EncodeBuf, Encoder};
use tracehouse_clickhouse::{ClickHouseConfig, ClickHouseStore};
use tracehouse_model::TraceId;
use tracehouse_server::{Server, ServerConfig};
use tracehouse_store::{
    EmbeddedStore, EngineConfig, HistogramQuery, SearchQuery, SearchSort, Store,
};

use crate::shop::ShopGenerator;

const HOUR_NS: i64 = 3_600_000_000_000;
/// The full-size data set: results of runs at least this large are also written as
/// `latest.json`/`latest.md`.
const FULL_SIZE: usize = 2_000_000;
/// The Python side, embedded so that the binary works from any directory.
const CHDB_SCRIPT: &str = include_str!("../../../bench/chdb_bench.py");

/// An engine measured besides tracehouse's embedded store.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Compare {
    /// ClickHouse's engine in-process (chDB from PyPI), with Highlight's traces schema,
    /// loaded from a file and queried with hand-written SQL.
    Clickhouse,
    /// tracehouse on its ClickHouse backend, fed over OTLP and queried through the `Store`
    /// trait like the embedded store; the ClickHouse engine is chDB behind the Python HTTP
    /// front of the backend's tests, which bounds ingest.
    ClickhouseBackend,
}

/// Options of `tracehouse bench`.
#[derive(Debug, Clone, Args)]
pub struct BenchArgs {
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

// ---------------------------------------------------------------------------------------
// Raw gRPC: the requests are sent exactly as they were encoded into the load file.

/// A tonic codec that sends pre-encoded protobuf bytes and decodes the OTLP response.
#[derive(Clone, Copy, Default)]
struct RawCodec;

struct RawEncoder;
struct ResponseDecoder;

impl Encoder for RawEncoder {
    type Item = Vec<u8>;
    type Error = tonic::Status;
    fn encode(&mut self, item: Vec<u8>, dst: &mut EncodeBuf<'_>) -> Result<(), tonic::Status> {
        use bytes::BufMut;
        dst.put_slice(&item);
        Ok(())
    }
}

impl Decoder for ResponseDecoder {
    type Item = ExportTraceServiceResponse;
    type Error = tonic::Status;
    fn decode(
        &mut self,
        src: &mut DecodeBuf<'_>,
    ) -> Result<Option<ExportTraceServiceResponse>, tonic::Status> {
        ExportTraceServiceResponse::decode(src)
            .map(Some)
            .map_err(|e| tonic::Status::internal(e.to_string()))
    }
}

impl Codec for RawCodec {
    type Encode = Vec<u8>;
    type Decode = ExportTraceServiceResponse;
    type Encoder = RawEncoder;
    type Decoder = ResponseDecoder;
    fn encoder(&mut self) -> RawEncoder {
        RawEncoder
    }
    fn decoder(&mut self) -> ResponseDecoder {
        ResponseDecoder
    }
}

const EXPORT_PATH: &str = "/opentelemetry.proto.collector.trace.v1.TraceService/Export";

// ---------------------------------------------------------------------------------------
// The data set.

/// What the generation pass learned about the data set.
struct DataSet {
    spans: usize,
    traces: usize,
    requests: usize,
    /// Trace ids to look up, in order (the same on both sides).
    lookup_ids: Vec<[u8; 16]>,
    /// A user id that occurs in the data (high-cardinality attribute equality).
    user_id: String,
    /// Inclusive start and exclusive end of the queried window, ns.
    start_ns: i64,
    end_ns: i64,
    otlp_bytes: u64,
    rows_bytes: u64,
}

fn any_to_string(v: &Option<AnyValue>) -> Option<String> {
    match v.as_ref()?.value.as_ref()? {
        any_value::Value::StringValue(s) if s.is_empty() => None,
        any_value::Value::StringValue(s) => Some(s.clone()),
        any_value::Value::IntValue(i) => Some(i.to_string()),
        any_value::Value::DoubleValue(d) => Some(d.to_string()),
        // Highlight drops booleans, bytes, arrays and maps are flattened: the generator has none.
        _ => None,
    }
}

fn ts(ns: u64) -> String {
    format!("{}.{:09}", ns / 1_000_000_000, ns % 1_000_000_000)
}

/// Column groups of Highlight's write-time split (§2.2), in the order of the map columns.
const MAP_PREFIXES: [&str; 7] = [
    "http.",
    "process.",
    "os.",
    "telemetry.",
    "ws.",
    "event.",
    "db.",
];

/// One span as a JSONCompactEachRow row of Highlight's `traces` table, in the column order
/// of `INPUT_COLUMNS` in bench/chdb_bench.py.
fn highlight_row(resource: &[KeyValue], span: &OtlpSpan, uuid: [u8; 16]) -> Value {
    use serde_json::Map;
    let mut merged: Vec<(String, String)> = Vec::new();
    for kv in resource.iter().chain(&span.attributes) {
        if let Some(v) = any_to_string(&kv.value) {
            merged.retain(|(k, _)| k != &kv.key);
            merged.push((kv.key.clone(), v));
        }
    }
    let mut service_name = String::new();
    let mut service_version = String::new();
    let mut environment = String::new();
    let mut session = String::new();
    let mut dedicated: [String; 5] = Default::default(); // response body, request body, url, key, type
    let mut maps: [Map<String, Value>; 8] = Default::default(); // TraceAttributes + MAP_PREFIXES
    for (k, v) in merged {
        match k.as_str() {
            "service.name" => service_name = v,
            "service.version" => service_version = v,
            "deployment.environment" | "deployment.environment.name" | "environment" => {
                environment = v
            }
            "highlight.session_id" | "highlight_session_id" => session = v,
            "http.response.body" => dedicated[0] = v,
            "http.request.body" => dedicated[1] = v,
            "http.url" => dedicated[2] = v,
            "highlight.key" => dedicated[3] = v,
            "highlight.type" => dedicated[4] = v,
            _ => {
                let slot = MAP_PREFIXES
                    .iter()
                    .position(|p| k.starts_with(p))
                    .map_or(0, |i| i + 1);
                maps[slot].insert(k, Value::String(v));
            }
        }
    }
    let kind = match span.kind {
        1 => "Internal",
        2 => "Server",
        3 => "Client",
        4 => "Producer",
        5 => "Consumer",
        _ => "Unspecified",
    };
    let (status, message) = match &span.status {
        Some(s) if s.code == 2 => ("Error", s.message.as_str()),
        Some(s) if s.code == 1 => ("Ok", s.message.as_str()),
        Some(s) => ("Unset", s.message.as_str()),
        None => ("Unset", ""),
    };
    let has_errors = span.events.iter().any(|e| e.name == "exception");
    let event_attrs: Vec<Value> = span
        .events
        .iter()
        .map(|e| {
            Value::Object(
                e.attributes
                    .iter()
                    .filter_map(|kv| any_to_string(&kv.value).map(|v| (kv.key.clone(), json!(v))))
                    .collect(),
            )
        })
        .collect();
    let [trace_attrs, http, process, os, telemetry, ws, event, db] = maps;
    json!([
        ts(span.start_time_unix_nano),
        format!(
            "{}-{}-{}-{}-{}",
            hex::encode(&uuid[0..4]),
            hex::encode(&uuid[4..6]),
            hex::encode(&uuid[6..8]),
            hex::encode(&uuid[8..10]),
            hex::encode(&uuid[10..16])
        ),
        hex::encode(&span.trace_id),
        hex::encode(&span.span_id),
        hex::encode(&span.parent_span_id),
        1,
        session,
        span.trace_state,
        span.name,
        kind,
        span.end_time_unix_nano
            .saturating_sub(span.start_time_unix_nano),
        service_name,
        service_version,
        trace_attrs,
        status,
        message,
        span.events
            .iter()
            .map(|e| ts(e.time_unix_nano))
            .collect::<Vec<_>>(),
        span.events
            .iter()
            .map(|e| e.name.as_str())
            .collect::<Vec<_>>(),
        event_attrs,
        span.links
            .iter()
            .map(|l| hex::encode(&l.trace_id))
            .collect::<Vec<_>>(),
        span.links
            .iter()
            .map(|l| hex::encode(&l.span_id))
            .collect::<Vec<_>>(),
        span.links
            .iter()
            .map(|l| l.trace_state.as_str())
            .collect::<Vec<_>>(),
        span.links.iter().map(|_| json!({})).collect::<Vec<_>>(),
        environment,
        has_errors,
        dedicated[4],
        dedicated[0],
        dedicated[1],
        dedicated[2],
        dedicated[3],
        http,
        process,
        os,
        telemetry,
        ws,
        event,
        db,
    ])
}

/// Generates the data set into `otlp_path` (u32 little-endian length + encoded request,
/// repeated) and, when `rows_path` is given, into JSONCompactEachRow rows.
fn generate(
    args: &BenchArgs,
    otlp_path: &Path,
    rows_path: Option<&Path>,
) -> anyhow::Result<DataSet> {
    let now = tracehouse_server::time::now_ns();
    // Two hours of traffic ending an hour ago: every part is in a closed hour.
    let start_ns = now - 3 * HOUR_NS;
    let end_ns = now - HOUR_NS;
    let mut generator = ShopGenerator::new(args.seed);
    let mut uuids = rand::rngs::StdRng::seed_from_u64(args.seed ^ 0x7575_6964);
    let mut otlp = BufWriter::with_capacity(1 << 20, File::create(otlp_path)?);
    let mut rows = match rows_path {
        Some(p) => Some(BufWriter::with_capacity(1 << 20, File::create(p)?)),
        None => None,
    };
    let mut set = DataSet {
        spans: 0,
        traces: 0,
        requests: 0,
        lookup_ids: Vec::new(),
        user_id: String::new(),
        start_ns,
        end_ns,
        otlp_bytes: 0,
        rows_bytes: 0,
    };
    let mut all_ids: Vec<Vec<u8>> = Vec::new();
    let bar = ProgressBar::new(args.spans as u64).with_message("generating");
    bar.set_style(
        ProgressStyle::with_template("{msg} {bar:30} {human_pos}/{human_len} spans  {per_sec}")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    while set.spans < args.spans {
        let (req, ids, n) = generator.request(args.traces_per_request, |rng| {
            start_ns + rng.random_range(0..end_ns - start_ns - 60_000_000_000)
        });
        if set.user_id.is_empty() {
            set.user_id = user_of(&req, &ids[ids.len() / 2]).unwrap_or_default();
        }
        set.spans += n;
        set.traces += ids.len();
        set.requests += 1;
        all_ids.extend(ids);
        let bytes = req.encode_to_vec();
        otlp.write_all(&(bytes.len() as u32).to_le_bytes())?;
        otlp.write_all(&bytes)?;
        set.otlp_bytes += 4 + bytes.len() as u64;
        if let Some(out) = rows.as_mut() {
            for rs in &req.resource_spans {
                let resource = rs
                    .resource
                    .as_ref()
                    .map(|r| r.attributes.as_slice())
                    .unwrap_or(&[]);
                for span in rs.scope_spans.iter().flat_map(|s| &s.spans) {
                    let row = highlight_row(resource, span, uuids.random());
                    serde_json::to_writer(&mut *out, &row)?;
                    out.write_all(b"\n")?;
                }
            }
        }
        bar.inc(n as u64);
    }
    bar.finish_and_clear();
    otlp.flush()?;
    if let Some(mut out) = rows {
        out.flush()?;
        set.rows_bytes = out.get_ref().metadata()?.len();
    }
    let mut rng = rand::rngs::StdRng::seed_from_u64(args.seed ^ 0x6c6f_6f6b);
    for _ in 0..args.runs {
        let id = &all_ids[rng.random_range(0..all_ids.len())];
        let mut fixed = [0u8; 16];
        fixed.copy_from_slice(id);
        set.lookup_ids.push(fixed);
    }
    Ok(set)
}

/// The `user.id` of the root span of `trace_id` in `req`.
fn user_of(req: &ExportTraceServiceRequest, trace_id: &[u8]) -> Option<String> {
    req.resource_spans
        .iter()
        .flat_map(|r| &r.scope_spans)
        .flat_map(|s| &s.spans)
        .filter(|s| s.trace_id == trace_id && s.parent_span_id.is_empty())
        .flat_map(|s| &s.attributes)
        .find(|kv| kv.key == "user.id")
        .and_then(|kv| any_to_string(&kv.value))
}

// ---------------------------------------------------------------------------------------
// Measurements.

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let idx = ((sorted.len() - 1) as f64 * p).round() as usize;
    sorted[idx]
}

/// Median and p95 of `runs` timings, in ms.
#[derive(Debug, Clone, Copy)]
struct Timing {
    median: f64,
    p95: f64,
}

fn timing(mut ms: Vec<f64>) -> Timing {
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
    Fut: std::future::Future<Output = anyhow::Result<()>>,
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
fn proc_status_mb(pid: Option<u32>, field: &str) -> Option<f64> {
    let path = match pid {
        Some(pid) => format!("/proc/{pid}/status"),
        None => "/proc/self/status".to_string(),
    };
    let text = std::fs::read_to_string(path).ok()?;
    let line = text.lines().find(|l| l.starts_with(field))?;
    let kb: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb / 1024.0)
}

/// Resets the peak RSS (`VmHWM`) of this process, so that it measures the server from now on.
fn reset_peak_rss() {
    let _ = std::fs::write("/proc/self/clear_refs", "5");
}

/// What one tracehouse backend measured.
struct Measured {
    ingest_secs: f64,
    /// Bytes on disk after that step; `None` when the backend cannot tell.
    bytes_on_disk: Option<u64>,
    /// Peak RSS of this process (the tracehouse server), MB.
    peak_rss_mb: Option<f64>,
    trace_by_id: Timing,
    service_duration: Timing,
    attribute: Timing,
    substring: Timing,
    histogram: Timing,
    percentiles: Timing,
    structural: Timing,
    /// The backend's sentence for the notes under the table.
    note: String,
}

/// Streams the load file to the server over OTLP/gRPC with `clients` concurrent clients.
async fn ingest(
    grpc: &str,
    otlp_path: &Path,
    set: &DataSet,
    clients: usize,
) -> anyhow::Result<f64> {
    let (tx, rx) = tokio::sync::mpsc::channel::<Vec<u8>>(clients * 2);
    let reader = {
        let path = otlp_path.to_path_buf();
        tokio::task::spawn_blocking(move || -> anyhow::Result<()> {
            let mut file = BufReader::with_capacity(1 << 20, File::open(&path)?);
            let mut len = [0u8; 4];
            loop {
                match file.read_exact(&mut len) {
                    Ok(()) => {}
                    Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => return Ok(()),
                    Err(e) => return Err(e.into()),
                }
                let mut buf = vec![0u8; u32::from_le_bytes(len) as usize];
                file.read_exact(&mut buf)?;
                if tx.blocking_send(buf).is_err() {
                    return Ok(());
                }
            }
        })
    };
    let bar = ProgressBar::new(set.requests as u64).with_message("tracehouse ingest");
    bar.set_style(
        ProgressStyle::with_template(
            "{msg} {bar:30} {human_pos}/{human_len} requests  {per_sec}  eta {eta}",
        )
        .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    let rx = Arc::new(tokio::sync::Mutex::new(rx));
    let channel = tonic::transport::Endpoint::from_shared(grpc.to_string())?
        .connect()
        .await?;
    let started = Instant::now();
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..clients {
        let (rx, bar) = (rx.clone(), bar.clone());
        let mut grpc = tonic::client::Grpc::new(channel.clone());
        tasks.spawn(async move {
            loop {
                let next = rx.lock().await.recv().await;
                let Some(body) = next else {
                    return anyhow::Ok(());
                };
                grpc.ready().await?;
                let resp = grpc
                    .unary(
                        tonic::Request::new(body),
                        tonic::codegen::http::uri::PathAndQuery::from_static(EXPORT_PATH),
                        RawCodec,
                    )
                    .await?
                    .into_inner();
                if let Some(p) = resp.partial_success
                    && p.rejected_spans > 0
                {
                    bail!(
                        "the server rejected {} spans: {}",
                        p.rejected_spans,
                        p.error_message
                    );
                }
                bar.inc(1);
            }
        });
    }
    while let Some(done) = tasks.join_next().await {
        done??;
    }
    let secs = started.elapsed().as_secs_f64();
    reader.await??;
    bar.finish_and_clear();
    Ok(secs)
}

/// p50 and p99 of span duration per service, with DataFusion over the store's live parts.
async fn percentiles_by_service(
    data_dir: &Path,
    start_ns: i64,
    end_ns: i64,
) -> anyhow::Result<usize> {
    use datafusion::functions_aggregate::expr_fn::approx_percentile_cont;
    use datafusion::prelude::{ParquetReadOptions, SessionConfig, SessionContext, col, lit};
    let manifest = tracehouse_store::manifest::Manifest::load(data_dir)?.unwrap_or_default();
    let parts_dir = data_dir.join("parts");
    let paths: Vec<String> = manifest
        .parts
        .iter()
        .filter(|p| p.project_id == "default" && p.min_start < end_ns && p.max_start >= start_ns)
        .map(|p| {
            tracehouse_store::part::parquet_path(&parts_dir, p.id)
                .display()
                .to_string()
        })
        .collect();
    let ctx = SessionContext::new_with_config(
        SessionConfig::new()
            .with_target_partitions(2)
            .with_batch_size(8192),
    );
    let schema = tracehouse_store::schema::span_schema();
    let duration = || col("duration").sort(true, false);
    let rows = ctx
        .read_parquet(paths, ParquetReadOptions::default().schema(&schema))
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

/// The HTTP front of the ClickHouse backend's tests, embedded so that the binary works from
/// any directory (the tests run it from its path in the repository).
const CHDB_FRONT: &str = include_str!("../../clickhouse/tests/chdb_front.py");
/// The pinned chDB release the tests and `bench/chdb_bench.py` install.
const CHDB_PACKAGES: [&str; 2] = ["chdb==4.4.0", "chdb-core==26.9.0"];
/// The ClickHouse backend's database in the front's chDB data.
const BACKEND_DATABASE: &str = "tracehouse_bench";

/// A running `chdb_front.py`: the ClickHouse engine (chDB) behind the part of ClickHouse's
/// HTTP interface the backend's client uses. Stopped by PID when dropped.
struct ChdbFront {
    child: std::process::Child,
    /// Held open: the front exits when its stdin closes (`--exit-with-stdin`), so it never
    /// outlives this process, however that ends.
    _stdin: std::process::ChildStdin,
    port: u16,
}

impl ChdbFront {
    /// Starts a front on a free port over the chDB data in `data` (installing chDB with pip
    /// once when the front reports it missing) and waits until it answers `/ping`.
    async fn start(python: &str, work: &Path, data: &Path) -> anyhow::Result<ChdbFront> {
        let script = work.join("chdb_front.py");
        std::fs::write(&script, CHDB_FRONT)?;
        let mut installed = false;
        loop {
            let spawn = {
                let (python, script, data) =
                    (python.to_string(), script.clone(), data.to_path_buf());
                tokio::task::spawn_blocking(move || ChdbFront::spawn(&python, &script, &data))
            };
            match spawn.await?? {
                Some(front) => {
                    front.wait_ready().await?;
                    return Ok(front);
                }
                None if !installed => {
                    eprintln!("installing {} with pip…", CHDB_PACKAGES.join(" "));
                    let status = std::process::Command::new(python)
                        .args([
                            "-m",
                            "pip",
                            "install",
                            "--quiet",
                            "--disable-pip-version-check",
                        ])
                        .arg("--no-deps")
                        .args(CHDB_PACKAGES)
                        .stdout(std::process::Stdio::null())
                        .status()
                        .with_context(|| format!("cannot run {python:?} -m pip"))?;
                    if !status.success() {
                        bail!(
                            "pip could not install {} ({status})",
                            CHDB_PACKAGES.join(" ")
                        );
                    }
                    installed = true;
                }
                None => bail!("chDB is still missing after pip installed it"),
            }
        }
    }

    /// Spawns the front and reads the port it prints; `None` when chDB is missing.
    fn spawn(python: &str, script: &Path, data: &Path) -> anyhow::Result<Option<ChdbFront>> {
        use std::io::BufRead;
        use std::process::{Command, Stdio};
        let mut child = Command::new(python)
            .arg(script)
            .args(["--port", "0", "--exit-with-stdin", "--path"])
            .arg(data)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .with_context(|| {
                format!("cannot run {python:?} for the ClickHouse front: install Python 3 or pass --python")
            })?;
        let mut line = String::new();
        if let Some(out) = child.stdout.take() {
            std::io::BufReader::new(out).read_line(&mut line)?;
        }
        let port = line
            .trim()
            .strip_prefix("PORT ")
            .and_then(|p| p.parse::<u16>().ok());
        let Some(port) = port else {
            let _ = child.kill();
            let _ = child.wait();
            if line.starts_with("CHDB_MISSING") {
                return Ok(None);
            }
            bail!("the ClickHouse front did not start (it printed {line:?})");
        };
        let stdin = child.stdin.take().context("the front's stdin")?;
        Ok(Some(ChdbFront {
            child,
            _stdin: stdin,
            port,
        }))
    }

    fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    async fn wait_ready(&self) -> anyhow::Result<()> {
        let http = reqwest::Client::new();
        let ping = format!("{}/ping", self.url());
        let deadline = Instant::now() + std::time::Duration::from_secs(60);
        while Instant::now() < deadline {
            if let Ok(resp) = http.get(&ping).send().await
                && resp.text().await.is_ok_and(|t| t.contains("Ok."))
            {
                return Ok(());
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        bail!("the ClickHouse front did not answer /ping within a minute")
    }

    /// Peak RSS of the front's process (the ClickHouse engine), MB.
    fn peak_rss_mb(&self) -> Option<f64> {
        proc_status_mb(Some(self.child.id()), "VmHWM:")
    }
}

impl Drop for ChdbFront {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A tracehouse backend under measurement: the store every step goes through, and the hooks
/// for what the `Store` trait does not cover.
enum Backend {
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
    async fn embedded(data_dir: &Path) -> anyhow::Result<Backend> {
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
    async fn clickhouse(python: &str, work: &Path, data: &Path) -> anyhow::Result<Backend> {
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
    fn store(&self) -> Arc<dyn Store> {
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
                    "flush + compaction {secs:.1} s into {} parts ({:.1} B/span of Parquet, {:.1} B/span with indexes and statistics)",
                    stats.parts,
                    per_span(stats.part_bytes),
                    per_span(bytes),
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

    /// p50 and p99 of span duration per service over the window; returns the number of
    /// services. The `Store` trait has no percentile aggregation, so each backend answers
    /// natively: DataFusion over the embedded store's Parquet parts, SQL `quantile` over
    /// the ClickHouse backend's `spans` table.
    async fn percentiles(&self, start_ns: i64, end_ns: i64) -> anyhow::Result<usize> {
        match self {
            Backend::Embedded { data_dir, .. } => {
                percentiles_by_service(data_dir, start_ns, end_ns).await
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

/// Measures one tracehouse backend: an in-process server on ephemeral ports over its store,
/// OTLP/gRPC ingest of the load file, the backend's step to long-term storage, then every
/// query through the `Store` trait.
async fn measure(
    args: &BenchArgs,
    set: &DataSet,
    otlp_path: &Path,
    backend: &Backend,
) -> anyhow::Result<Measured> {
    let store = backend.store();
    // What this process already holds (the allocator keeps memory of an earlier backend's
    // run): the peak RSS of this backend cannot be lower.
    let resident_mb = proc_status_mb(None, "VmRSS:");
    let config = ServerConfig {
        listen: "127.0.0.1:0".parse()?,
        otlp_grpc: "127.0.0.1:0".parse()?,
        otlp_http: "127.0.0.1:0".parse()?,
        ..ServerConfig::default()
    };
    let server = Server::bind(config, store.clone()).await?;
    let grpc = format!("http://{}", server.addrs()?.otlp_grpc);
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let serving = tokio::spawn(server.run(async {
        let _ = stop_rx.await;
    }));

    eprintln!("{}: ingest over OTLP/gRPC…", backend.name());
    let ingest_secs = ingest(&grpc, otlp_path, set, args.clients.max(1)).await?;

    eprintln!("{}: to long-term storage…", backend.name());
    let (bytes_on_disk, settled) = backend.settle(set.spans).await?;

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
            let plan = tracehouse_query::plan(&tracehouse_query::parse(&text)?);
            let query = SearchQuery {
                project_id: "default".into(),
                plan,
                start_ns,
                end_ns,
                sort: SearchSort::TimeDesc,
                limit: 50,
                cursor: None,
            };
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
    let service_duration = search("service:checkout duration>10ms".into()).await?;
    let attribute = search(format!("user.id={}", set.user_id)).await?;
    let substring = search("span_name:*cart*".into()).await?;
    let structural = search("{service:frontend} >> {service:postgres duration>5ms}".into()).await?;
    let histogram = {
        let query = HistogramQuery {
            project_id: "default".into(),
            plan: tracehouse_query::plan(&tracehouse_query::parse("")?),
            start_ns,
            end_ns,
            buckets: 60,
        };
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
        anyhow::ensure!(
            services == crate::shop::SERVICES.len(),
            "{services} services"
        );
        Ok(())
    })
    .await?;
    let peak_rss_mb = proc_status_mb(None, "VmHWM:");
    let _ = stop_tx.send(());
    serving.await??;
    Ok(Measured {
        ingest_secs,
        bytes_on_disk,
        peak_rss_mb,
        trace_by_id,
        service_duration,
        attribute,
        substring,
        histogram,
        percentiles,
        structural,
        note: match resident_mb {
            Some(mb) => format!(
                "{} Its peak RSS counts from {mb:.0} MB already resident when its store opened.",
                backend.describe(&settled)
            ),
            None => backend.describe(&settled),
        },
    })
}

/// Runs the ClickHouse side; returns its JSON report.
fn measure_clickhouse(
    args: &BenchArgs,
    set: &DataSet,
    work: &Path,
    rows_path: &Path,
) -> anyhow::Result<Value> {
    let script = work.join("chdb_bench.py");
    std::fs::write(&script, CHDB_SCRIPT)?;
    let params = json!({
        "rows": rows_path,
        "db": work.join("chdb"),
        "runs": args.runs,
        "start_ns": set.start_ns,
        "end_ns": set.end_ns,
        "trace_ids": set.lookup_ids.iter().map(hex::encode).collect::<Vec<_>>(),
        "service": "checkout",
        "min_duration_ns": 10_000_000,
        "user_id": set.user_id,
        "name_substring": "cart",
        "buckets": 60,
        "expected_rows": set.spans,
    });
    let params_path = work.join("chdb_params.json");
    std::fs::write(&params_path, serde_json::to_vec_pretty(&params)?)?;
    eprintln!("ClickHouse (chDB): load, OPTIMIZE FINAL, queries…");
    let output = std::process::Command::new(&args.python)
        .arg(&script)
        .arg(&params_path)
        .stderr(std::process::Stdio::inherit())
        .output()
        .with_context(|| {
            format!(
                "cannot run {:?} for the ClickHouse side: install Python 3 or pass --python",
                args.python
            )
        })?;
    if !output.status.success() {
        bail!(
            "the ClickHouse side failed ({}); see its messages above",
            output.status
        );
    }
    let text = String::from_utf8_lossy(&output.stdout);
    let last = text
        .lines()
        .rev()
        .find(|l| l.trim_start().starts_with('{'))
        .unwrap_or("");
    serde_json::from_str(last).with_context(|| format!("unreadable ClickHouse report: {text}"))
}

// ---------------------------------------------------------------------------------------
// Report.

/// One engine's value of a figure: the median (or the single value) and the p95 of timed
/// figures; `None` when the engine was not measured or has no such figure.
#[derive(Debug, Clone, Copy, Default)]
struct Cell {
    value: Option<f64>,
    p95: Option<f64>,
}

impl Cell {
    fn single(v: Option<f64>) -> Cell {
        Cell {
            value: v.filter(|v| v.is_finite()),
            p95: None,
        }
    }

    fn timed(t: Timing) -> Cell {
        Cell {
            value: Some(t.median),
            p95: Some(t.p95),
        }
    }

    fn text(&self) -> String {
        match (self.value, self.p95) {
            (Some(v), Some(p)) => format!("{} (p95 {})", fmt_num(v), fmt_num(p)),
            (Some(v), None) => fmt_num(v),
            (None, _) => "–".into(),
        }
    }
}

/// One figure of the report, one cell per engine.
struct Figure {
    name: &'static str,
    label: &'static str,
    unit: &'static str,
    higher_is_better: bool,
    /// tracehouse on its embedded store.
    embedded: Cell,
    /// tracehouse on its ClickHouse backend.
    backend: Cell,
    /// The ClickHouse engine (chDB) with Highlight's schema and SQL.
    clickhouse: Cell,
}

impl Figure {
    /// Embedded store / ClickHouse engine: the figure the targets are about.
    fn ratio(&self) -> Option<f64> {
        let c = self.clickhouse.value.filter(|c| *c > 0.0)?;
        Some(self.embedded.value? / c)
    }

    fn meets(&self) -> Option<bool> {
        self.ratio().map(|r| {
            if self.higher_is_better {
                r >= 1.0
            } else {
                r <= 1.0
            }
        })
    }
}

fn fmt_num(v: f64) -> String {
    if v >= 1000.0 {
        format!("{v:.0}")
    } else if v >= 10.0 {
        format!("{v:.1}")
    } else {
        format!("{v:.2}")
    }
}

fn figures(
    set: &DataSet,
    embedded: &Measured,
    backend: Option<&Measured>,
    ch: Option<&Value>,
) -> Vec<Figure> {
    let chq = |key: &str| Cell {
        value: ch.and_then(|c| c["queries"][key]["median"].as_f64()),
        p95: ch.and_then(|c| c["queries"][key]["p95"].as_f64()),
    };
    let chf = |key: &str| Cell::single(ch.and_then(|c| c[key].as_f64()));
    let per_span = |m: &Measured| m.bytes_on_disk.map(|b| b as f64 / set.spans as f64);
    let rate = |m: &Measured| Some(set.spans as f64 / m.ingest_secs);
    let single = |f: &dyn Fn(&Measured) -> Option<f64>| {
        (
            Cell::single(f(embedded)),
            backend.map_or_else(Cell::default, |b| Cell::single(f(b))),
        )
    };
    let q = |name: &'static str,
             label: &'static str,
             pick: fn(&Measured) -> Timing,
             ch_key: Option<&str>| Figure {
        name,
        label,
        unit: "ms",
        higher_is_better: false,
        embedded: Cell::timed(pick(embedded)),
        backend: backend.map_or_else(Cell::default, |b| Cell::timed(pick(b))),
        clickhouse: ch_key.map_or_else(Cell::default, chq),
    };
    let (ingest_e, ingest_b) = single(&rate);
    let (bytes_e, bytes_b) = single(&per_span);
    let (rss_e, rss_b) = single(&|m| m.peak_rss_mb);
    vec![
        Figure {
            name: "ingest_spans_per_s",
            label: "ingest (tracehouse: OTLP/gRPC, acknowledged once durable; ClickHouse (chDB): INSERT from file)",
            unit: "spans/s",
            higher_is_better: true,
            embedded: ingest_e,
            backend: ingest_b,
            clickhouse: chf("ingest_spans_per_s"),
        },
        Figure {
            name: "bytes_per_span",
            label: "bytes per span on disk after compaction / OPTIMIZE FINAL",
            unit: "B",
            higher_is_better: false,
            embedded: bytes_e,
            backend: bytes_b,
            clickhouse: chf("bytes_per_span"),
        },
        q(
            "trace_by_id_ms",
            "trace by id",
            |m| m.trace_by_id,
            Some("trace_by_id_ms"),
        ),
        q(
            "search_service_duration_ms",
            "`service:checkout duration>10ms`, newest 50",
            |m| m.service_duration,
            Some("search_service_duration_ms"),
        ),
        q(
            "search_attribute_ms",
            "`user.id=<one user>` (high cardinality), newest 50",
            |m| m.attribute,
            Some("search_attribute_ms"),
        ),
        q(
            "search_substring_ms",
            "span name contains `cart`, newest 50",
            |m| m.substring,
            Some("search_substring_ms"),
        ),
        q(
            "histogram_ms",
            "histogram of all spans over the range, 60 buckets",
            |m| m.histogram,
            Some("histogram_ms"),
        ),
        q(
            "p99_by_service_ms",
            "p50 and p99 duration by service (not in the `Store` trait: embedded: DataFusion over the parts; backend: SQL `quantile`)",
            |m| m.percentiles,
            Some("p99_by_service_ms"),
        ),
        q(
            "structural_ms",
            "`{service:frontend} >> {service:postgres duration>5ms}` (tracehouse only)",
            |m| m.structural,
            None,
        ),
        Figure {
            name: "peak_rss_mb",
            label: "peak RSS of the tracehouse server (in-process, VmHWM)",
            unit: "MB",
            higher_is_better: false,
            embedded: rss_e,
            backend: rss_b,
            clickhouse: Cell::default(),
        },
    ]
}

fn machine() -> String {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|t| {
            t.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split(':').nth(1))
                .map(|s| s.trim().to_string())
        })
        .unwrap_or_else(|| std::env::consts::ARCH.to_string());
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let mem = std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|t| {
            t.lines()
                .find(|l| l.starts_with("MemTotal:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|kb| kb.parse::<f64>().ok())
        })
        .map(|kb| format!(", {:.0} GB RAM", kb / 1024.0 / 1024.0))
        .unwrap_or_default();
    format!("{cpu}, {cores} cores{mem}, {}", std::env::consts::OS)
}

/// Everything one run measured.
struct Results<'a> {
    set: &'a DataSet,
    embedded: &'a Measured,
    backend: Option<&'a Measured>,
    ch: Option<&'a Value>,
    figures: Vec<Figure>,
    date: String,
}

fn markdown(args: &BenchArgs, r: &Results<'_>) -> String {
    type Column = (&'static str, fn(&Figure) -> String);
    let mut columns: Vec<Column> = vec![
        ("figure", |f| f.label.to_string()),
        ("unit", |f| f.unit.to_string()),
        ("tracehouse (embedded)", |f| f.embedded.text()),
    ];
    if r.backend.is_some() {
        columns.push(("tracehouse on ClickHouse backend", |f| f.backend.text()));
    }
    if r.ch.is_some() {
        columns.push(("ClickHouse (chDB)", |f| f.clickhouse.text()));
        columns.push(("embedded/ClickHouse", |f| {
            f.ratio().map_or("–".into(), |r| format!("{r:.2}"))
        }));
        columns.push(("target", |f| {
            match f.meets() {
                Some(true) => "met",
                Some(false) => "**missed**",
                None => "–",
            }
            .to_string()
        }));
    }
    let row = |cells: Vec<String>| format!("| {} |\n", cells.join(" | "));
    let mut s = format!(
        "tracehouse bench, {}: {} spans in {} traces (seed {}), {} runs per query, {}\n\n",
        r.date,
        r.set.spans,
        r.set.traces,
        args.seed,
        args.runs,
        machine()
    );
    s.push_str(&row(columns.iter().map(|c| c.0.to_string()).collect()));
    s.push_str(&row(columns.iter().map(|_| "---".to_string()).collect()));
    for f in &r.figures {
        s.push_str(&row(columns.iter().map(|c| c.1(f)).collect()));
    }
    s.push_str(&format!(
        "\nQuery figures are medians over {} runs (p95 in brackets); tracehouse's queries go through the `Store` trait, as the API does. tracehouse ingest: {} clients × {} traces per request over OTLP/gRPC. {}",
        args.runs, args.clients, args.traces_per_request, r.embedded.note,
    ));
    if let Some(b) = r.backend {
        s.push(' ');
        s.push_str(&b.note);
    }
    if let Some(c) = r.ch {
        s.push_str(&format!(
            " ClickHouse {} (chDB {}): load {:.1} s from a {:.0} MB JSONCompactEachRow file, OPTIMIZE FINAL {:.1} s, {} parts; its Python process peaked at {:.0} MB RSS.",
            c["clickhouse_version"].as_str().unwrap_or("?"),
            c["chdb_version"].as_str().unwrap_or("?"),
            c["load_seconds"].as_f64().unwrap_or(f64::NAN),
            r.set.rows_bytes as f64 / 1e6,
            c["optimize_seconds"].as_f64().unwrap_or(f64::NAN),
            c["parts"].as_u64().unwrap_or(0),
            c["peak_rss_mb"].as_f64().unwrap_or(f64::NAN),
        ));
    }
    s.push('\n');
    s
}

fn json_report(r: &Results<'_>) -> Value {
    let num = |v: f64| if v.is_finite() { json!(v) } else { Value::Null };
    let cell = |c: &Cell| c.value.map(num);
    let p95 = |c: &Cell| c.p95.map(num);
    json!({
        "spans": r.set.spans,
        "traces": r.set.traces,
        "date": r.date,
        "machine": machine(),
        "clickhouse_version": r.ch.and_then(|c| c.get("clickhouse_version")).cloned(),
        "notes": {
            "tracehouse": r.embedded.note,
            "clickhouse_backend": r.backend.map(|b| b.note.clone()),
        },
        "figures": r.figures.iter().map(|f| json!({
            "name": f.name,
            "label": f.label,
            "unit": f.unit,
            "better": if f.higher_is_better { "higher" } else { "lower" },
            "tracehouse": cell(&f.embedded),
            "clickhouse_backend": cell(&f.backend),
            "clickhouse": cell(&f.clickhouse),
            "ratio": f.ratio().map(num),
            "p95": {
                "tracehouse": p95(&f.embedded),
                "clickhouse_backend": p95(&f.backend),
                "clickhouse": p95(&f.clickhouse),
            },
        })).collect::<Vec<_>>(),
    })
}

/// Runs the benchmark and prints (and with `--out`, writes) the results.
pub async fn run(args: BenchArgs) -> anyhow::Result<()> {
    if args.runs < 5 {
        bail!("--runs must be at least 5 (median and p95 of too few runs mean little)");
    }
    if args.spans == 0 || args.clients == 0 || args.traces_per_request == 0 {
        bail!("--spans, --clients and --traces-per-request must be at least 1");
    }
    let (work, temporary) = match &args.work_dir {
        Some(d) => (d.clone(), false),
        None => (
            std::env::temp_dir().join(format!("tracehouse-bench-{}", std::process::id())),
            true,
        ),
    };
    for stale in ["tracehouse", "chdb-backend"] {
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

async fn run_in(args: &BenchArgs, work: &Path, temporary: bool) -> anyhow::Result<()> {
    let otlp_path = work.join("load.otlp");
    let rows_path = work.join("spans.jsonl");
    let with_clickhouse = args.compare.contains(&Compare::Clickhouse);
    let with_backend = args.compare.contains(&Compare::ClickhouseBackend);
    eprintln!("generating about {} spans…", args.spans);
    let started = Instant::now();
    let set = {
        let args = args.clone();
        let (otlp_path, rows_path) = (otlp_path.clone(), rows_path.clone());
        tokio::task::spawn_blocking(move || {
            generate(
                &args,
                &otlp_path,
                with_clickhouse.then_some(rows_path.as_path()),
            )
        })
        .await??
    };
    eprintln!(
        "generated {} spans in {} traces in {:.1} s ({:.0} MB of OTLP{})",
        set.spans,
        set.traces,
        started.elapsed().as_secs_f64(),
        set.otlp_bytes as f64 / 1e6,
        if with_clickhouse {
            format!(", {:.0} MB of rows", set.rows_bytes as f64 / 1e6)
        } else {
            String::new()
        }
    );
    let data_dir = work.join("tracehouse");
    let embedded = {
        let backend = Backend::embedded(&data_dir).await?;
        let measured = measure(args, &set, &otlp_path, &backend).await;
        drop(backend);
        if temporary {
            let _ = std::fs::remove_dir_all(&data_dir);
        }
        measured?
    };
    let backend = if with_backend {
        let chdb_dir = work.join("chdb-backend");
        let backend = Backend::clickhouse(&args.python, work, &chdb_dir).await?;
        let measured = measure(args, &set, &otlp_path, &backend).await;
        drop(backend);
        if temporary {
            let _ = std::fs::remove_dir_all(&chdb_dir);
        }
        Some(measured?)
    } else {
        None
    };
    let ch = if with_clickhouse {
        Some(measure_clickhouse(args, &set, work, &rows_path)?)
    } else {
        None
    };
    let results = Results {
        set: &set,
        embedded: &embedded,
        backend: backend.as_ref(),
        ch: ch.as_ref(),
        figures: figures(&set, &embedded, backend.as_ref(), ch.as_ref()),
        date: chrono::Utc::now().format("%Y-%m-%dT%H:%M:%SZ").to_string(),
    };
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
