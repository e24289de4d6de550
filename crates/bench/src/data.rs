//! The data set: the shop generator's traffic written once, as length-prefixed OTLP export
//! requests (what tracehouse ingests) and, for the ClickHouse engine, as JSONCompactEachRow
//! rows in Highlight's ClickHouse `traces` layout (what ClickHouse loads); and the metrics
//! the shop's services export over the same two hours, as length-prefixed OTLP metrics
//! export requests.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::Path;

use indicatif::{ProgressBar, ProgressStyle};
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::{AnyValue, KeyValue, any_value};
use opentelemetry_proto::tonic::trace::v1::Span as OtlpSpan;
use prost::Message;
use rand::{RngExt, SeedableRng};
use serde_json::{Value, json};
use tracehouse_workload::{MetricsGenerator, ShopGenerator, data_points};

use crate::{BenchArgs, HOUR_NS};

/// What the generation pass learned about the data set.
pub(crate) struct DataSet {
    pub(crate) spans: usize,
    pub(crate) traces: usize,
    pub(crate) requests: usize,
    /// Trace ids to look up, in order (the same on both sides).
    pub(crate) lookup_ids: Vec<[u8; 16]>,
    /// A user id that occurs in the data (high-cardinality attribute equality).
    pub(crate) user_id: String,
    /// Inclusive start and exclusive end of the queried window, ns.
    pub(crate) start_ns: i64,
    pub(crate) end_ns: i64,
    pub(crate) otlp_bytes: u64,
    pub(crate) rows_bytes: u64,
    /// The exact p99 duration (ns) of each service, which the span metrics' p99 is compared
    /// with. Only this is kept: every span's duration (128 MB at 16M spans) would count in
    /// the peak RSS the benchmark reports for the server beside it.
    pub(crate) exact_p99: BTreeMap<String, i64>,
    /// The metrics of the same window.
    pub(crate) metrics: MetricsSet,
}

/// What the metrics generation pass wrote.
#[derive(Debug, Default)]
pub(crate) struct MetricsSet {
    /// Series of each metric.
    pub(crate) series: usize,
    pub(crate) points: usize,
    pub(crate) requests: usize,
    pub(crate) bytes: u64,
    /// Services with series: the groups of a query by `service.name`.
    pub(crate) services: usize,
}

/// How often the shop's services export their metrics (the OpenTelemetry SDKs' default).
pub(crate) const METRIC_INTERVAL_NS: i64 = 60_000_000_000;

/// Writes the metrics of `series` series per metric over the window into `path`
/// (length-prefixed like the spans): one export of every instance per interval, at the
/// middle of each interval of the window.
fn generate_metrics(
    seed: u64,
    series: usize,
    (start_ns, end_ns): (i64, i64),
    path: &Path,
) -> anyhow::Result<MetricsSet> {
    let mut generator = MetricsGenerator::new(seed, series, start_ns);
    let mut out = BufWriter::with_capacity(1 << 20, File::create(path)?);
    let mut set = MetricsSet {
        series: generator.series(),
        ..Default::default()
    };
    let mut services = std::collections::BTreeSet::new();
    let mut time_ns = start_ns + METRIC_INTERVAL_NS / 2;
    while time_ns < end_ns {
        let req = generator.request(time_ns);
        services.extend(req.resource_metrics.iter().filter_map(|r| {
            let resource = r.resource.as_ref()?;
            let name = resource
                .attributes
                .iter()
                .find(|kv| kv.key == "service.name")?;
            any_to_string(&name.value)
        }));
        set.points += data_points(&req);
        set.requests += 1;
        let bytes = req.encode_to_vec();
        out.write_all(&(bytes.len() as u32).to_le_bytes())?;
        out.write_all(&bytes)?;
        set.bytes += 4 + bytes.len() as u64;
        time_ns += METRIC_INTERVAL_NS;
    }
    out.flush()?;
    set.services = services.len();
    Ok(set)
}

/// Every span's duration (ns) by service, collected while the data set is generated.
#[derive(Default)]
struct Durations(BTreeMap<String, Vec<i64>>);

impl Durations {
    /// Adds the durations of a request's spans.
    fn add(&mut self, req: &ExportTraceServiceRequest) {
        for rs in &req.resource_spans {
            let service = rs
                .resource
                .iter()
                .flat_map(|r| &r.attributes)
                .find(|kv| kv.key == "service.name")
                .and_then(|kv| any_to_string(&kv.value))
                .unwrap_or_default();
            let durations = self.0.entry(service).or_default();
            for span in rs.scope_spans.iter().flat_map(|s| &s.spans) {
                durations.push(span.end_time_unix_nano as i64 - span.start_time_unix_nano as i64);
            }
        }
    }

    /// The exact `q` percentile of each service's durations: the duration at rank
    /// ⌊q·(n−1)⌋, the rank the span metrics' sketches answer.
    fn percentile(self, q: f64) -> BTreeMap<String, i64> {
        self.0
            .into_iter()
            .map(|(service, mut d)| {
                let rank = (q * (d.len() as f64 - 1.0)) as usize;
                (service, *d.select_nth_unstable(rank).1)
            })
            .collect()
    }
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
/// of `INPUT_COLUMNS` in `chdb_bench.py`.
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
                environment = v;
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
/// repeated), its metrics into `metrics_path` (the same framing) and, when `rows_path` is
/// given, the spans as JSONCompactEachRow rows.
pub(crate) fn generate(
    args: &BenchArgs,
    otlp_path: &Path,
    metrics_path: &Path,
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
        exact_p99: BTreeMap::new(),
        metrics: generate_metrics(
            args.seed,
            args.metric_series,
            (start_ns, end_ns),
            metrics_path,
        )?,
    };
    let mut all_ids: Vec<Vec<u8>> = Vec::new();
    let mut durations = Durations::default();
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
        durations.add(&req);
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
    set.exact_p99 = durations.percentile(0.99);
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
