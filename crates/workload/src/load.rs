//! The load driver: plays the generated shop ([`crate::shop`]) against an OTLP endpoint over
//! gRPC or HTTP/protobuf, rate-limited or flat-out, for a number of spans, a duration or until
//! told to stop, with a progress bar showing the live rate; optionally with the log records the
//! shop's services write ([`crate::shop::logs_of`]).
//!
//! Overload answers (gRPC `UNAVAILABLE`/`RESOURCE_EXHAUSTED`, HTTP 429/502/503/504) are retried
//! with exponential backoff, honouring `Retry-After`; authentication failures and malformed
//! request answers stop the run with a message saying what to do.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use anyhow::{Context, bail};
use indicatif::{ProgressBar, ProgressStyle};
use opentelemetry_proto::tonic::collector::logs::v1::logs_service_client::LogsServiceClient;
use opentelemetry_proto::tonic::collector::logs::v1::{
    ExportLogsServiceRequest, ExportLogsServiceResponse,
};
use opentelemetry_proto::tonic::collector::trace::v1::trace_service_client::TraceServiceClient;
use opentelemetry_proto::tonic::collector::trace::v1::{
    ExportTraceServiceRequest, ExportTraceServiceResponse,
};
use prost::Message;
use rand::RngExt;
use tonic::transport::{Channel, Endpoint};

use crate::shop::{ShopGenerator, logs_of};

/// How many times one request is retried before the run gives up.
const MAX_RETRIES: u32 = 8;
/// Longest wait between two tries.
const MAX_BACKOFF: Duration = Duration::from_secs(10);

/// The OTLP transport.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "clap", derive(clap::ValueEnum))]
pub enum Protocol {
    /// OTLP/gRPC (default port 4317).
    Grpc,
    /// OTLP/HTTP with protobuf bodies, POST /v1/traces (default port 4318).
    Http,
}

/// A load to send: everything `loadgen` needs, independent of the command line.
#[derive(Debug, Clone)]
pub struct LoadConfig {
    /// `http://host:port` of the receiver (for HTTP, `/v1/traces` is appended unless present).
    pub endpoint: String,
    /// Transport.
    pub protocol: Protocol,
    /// Generator seed.
    pub seed: u64,
    /// Spans per second, or flat-out.
    pub rate: Option<f64>,
    /// Stop after at least this many spans.
    pub count: Option<u64>,
    /// Stop after this long.
    pub duration: Option<Duration>,
    /// Ingest key.
    pub key: Option<String>,
    /// Requests in flight.
    pub concurrency: usize,
    /// Traces per request.
    pub traces_per_request: usize,
    /// Send log records too.
    pub logs: bool,
}

/// What a load run did.
#[derive(Debug, Clone, Default)]
pub struct LoadReport {
    /// Spans acknowledged by the server.
    pub spans: u64,
    /// Spans the server acknowledged but rejected (`partial_success`).
    pub rejected: u64,
    /// Log records acknowledged by the server.
    pub logs: u64,
    /// Export requests acknowledged.
    pub requests: u64,
    /// Tries that were answered "retry later".
    pub retries: u64,
    /// Wall time.
    pub elapsed: Duration,
}

impl std::fmt::Display for LoadReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let secs = self.elapsed.as_secs_f64();
        write!(
            f,
            "sent {} spans in {} requests in {secs:.1} s ({:.0} spans/s); {} rejected, {} retries",
            self.spans,
            self.requests,
            self.spans as f64 / secs.max(1e-9),
            self.rejected,
            self.retries
        )?;
        if self.logs > 0 {
            write!(f, "; and {} log records", self.logs)?;
        }
        Ok(())
    }
}

/// One connection to the receiver.
#[derive(Clone)]
enum Client {
    Grpc(Channel),
    Http {
        client: reqwest::Client,
        /// The endpoint without a signal path.
        base: String,
    },
}

/// An OTLP export request the load generator sends: traces or logs.
trait Export: Message + Clone + Default + Send + Sync + 'static {
    /// The answer to it.
    type Response: Message + Default + Send;
    /// Its OTLP/HTTP path.
    const PATH: &'static str;
    /// Sends it over gRPC.
    fn grpc(
        channel: Channel,
        request: tonic::Request<Self>,
    ) -> impl Future<Output = Result<Self::Response, tonic::Status>> + Send;
    /// Items the server refused (`partial_success`).
    fn rejected(response: &Self::Response) -> u64;
}

impl Export for ExportTraceServiceRequest {
    type Response = ExportTraceServiceResponse;
    const PATH: &'static str = "/v1/traces";

    async fn grpc(
        channel: Channel,
        request: tonic::Request<Self>,
    ) -> Result<Self::Response, tonic::Status> {
        let mut client = TraceServiceClient::new(channel).max_decoding_message_size(16 << 20);
        Ok(client.export(request).await?.into_inner())
    }

    fn rejected(response: &Self::Response) -> u64 {
        response
            .partial_success
            .as_ref()
            .map_or(0, |p| p.rejected_spans.max(0) as u64)
    }
}

impl Export for ExportLogsServiceRequest {
    type Response = ExportLogsServiceResponse;
    const PATH: &'static str = "/v1/logs";

    async fn grpc(
        channel: Channel,
        request: tonic::Request<Self>,
    ) -> Result<Self::Response, tonic::Status> {
        let mut client = LogsServiceClient::new(channel).max_decoding_message_size(16 << 20);
        Ok(client.export(request).await?.into_inner())
    }

    fn rejected(response: &Self::Response) -> u64 {
        response
            .partial_success
            .as_ref()
            .map_or(0, |p| p.rejected_log_records.max(0) as u64)
    }
}

/// Nanoseconds since the Unix epoch, now: the generated traces happen in the present.
fn now_ns() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_nanos()).unwrap_or(i64::MAX))
}

/// How one try ended, when it did not succeed.
enum TryError {
    /// Try again after this long (`None`: use the backoff).
    Retry(Option<Duration>, String),
    /// Give up with this message.
    Fatal(anyhow::Error),
}

fn unreachable(endpoint: &str, protocol: Protocol, e: impl std::fmt::Display) -> anyhow::Error {
    let (flag, port) = match protocol {
        Protocol::Grpc => ("--otlp-grpc", 4317),
        Protocol::Http => ("--otlp-http", 4318),
    };
    anyhow::anyhow!(
        "cannot reach the OTLP receiver at {endpoint} ({e}). Is `tracehouse serve` running? \
         It listens on 127.0.0.1:{port} unless started with {flag}; pass its address with --endpoint"
    )
}

fn refused_key(message: &str) -> anyhow::Error {
    anyhow::anyhow!(
        "the server refused the request: {message}. Pass the project's ingest key with --key \
         (or TRACEHOUSE_KEY)"
    )
}

impl Client {
    async fn connect(config: &LoadConfig) -> anyhow::Result<Client> {
        match config.protocol {
            Protocol::Grpc => {
                let endpoint = Endpoint::from_shared(config.endpoint.clone())
                    .with_context(|| format!("invalid --endpoint {:?}", config.endpoint))?
                    .connect_timeout(Duration::from_secs(5));
                let channel = endpoint
                    .connect()
                    .await
                    .map_err(|e| unreachable(&config.endpoint, config.protocol, e))?;
                Ok(Client::Grpc(channel))
            }
            Protocol::Http => {
                let trimmed = config.endpoint.trim_end_matches('/');
                let base = trimmed.strip_suffix("/v1/traces").unwrap_or(trimmed);
                reqwest::Url::parse(base)
                    .with_context(|| format!("invalid --endpoint {:?}", config.endpoint))?;
                let client = reqwest::Client::builder()
                    .connect_timeout(Duration::from_secs(5))
                    .timeout(Duration::from_secs(60))
                    .build()?;
                Ok(Client::Http {
                    client,
                    base: base.to_string(),
                })
            }
        }
    }

    /// Sends one request once.
    async fn try_export<E: Export>(
        &mut self,
        request: &E,
        key: Option<&str>,
        endpoint: &str,
    ) -> Result<E::Response, TryError> {
        match self {
            Client::Grpc(channel) => {
                let mut req = tonic::Request::new(request.clone());
                if let Some(k) = key {
                    let value = k.parse().map_err(|_| {
                        TryError::Fatal(anyhow::anyhow!(
                            "--key must be printable ASCII to be sent as a header"
                        ))
                    })?;
                    req.metadata_mut().insert("x-tracehouse-key", value);
                }
                match E::grpc(channel.clone(), req).await {
                    Ok(resp) => Ok(resp),
                    Err(status) => {
                        use tonic::Code;
                        match status.code() {
                            Code::Unauthenticated | Code::PermissionDenied => {
                                Err(TryError::Fatal(refused_key(status.message())))
                            }
                            Code::Unavailable
                            | Code::ResourceExhausted
                            | Code::Aborted
                            | Code::DeadlineExceeded => {
                                Err(TryError::Retry(None, status.message().to_string()))
                            }
                            code => Err(TryError::Fatal(anyhow::anyhow!(
                                "the server answered {code:?}: {}",
                                status.message()
                            ))),
                        }
                    }
                }
            }
            Client::Http { client, base } => {
                let url = format!("{base}{}", E::PATH);
                let mut req = client
                    .post(url.as_str())
                    .header("content-type", "application/x-protobuf")
                    .body(request.encode_to_vec());
                if let Some(k) = key {
                    req = req.header("x-tracehouse-key", k);
                }
                let resp = match req.send().await {
                    Ok(r) => r,
                    Err(e) if e.is_connect() => {
                        return Err(TryError::Fatal(unreachable(endpoint, Protocol::Http, e)));
                    }
                    Err(e) => return Err(TryError::Retry(None, e.to_string())),
                };
                let status = resp.status().as_u16();
                let retry_after = resp
                    .headers()
                    .get("retry-after")
                    .and_then(|v| v.to_str().ok())
                    .and_then(|v| v.trim().parse::<u64>().ok())
                    .map(Duration::from_secs);
                let body = resp
                    .bytes()
                    .await
                    .map_err(|e| TryError::Retry(None, e.to_string()))?;
                match status {
                    200 => E::Response::decode(body.as_ref()).map_err(|e| {
                        TryError::Fatal(anyhow::anyhow!(
                            "the server's answer is not an OTLP response ({e}): is {endpoint} an \
                             OTLP/HTTP receiver?"
                        ))
                    }),
                    401 | 403 => Err(TryError::Fatal(refused_key(&status_message(&body)))),
                    429 | 502 | 503 | 504 => Err(TryError::Retry(
                        retry_after,
                        format!("HTTP {status}: {}", status_message(&body)),
                    )),
                    404 => Err(TryError::Fatal(anyhow::anyhow!(
                        "{url} answered 404: is {endpoint} an OTLP/HTTP receiver (tracehouse: port \
                         4318)?"
                    ))),
                    _ => Err(TryError::Fatal(anyhow::anyhow!(
                        "the server answered HTTP {status}: {}",
                        status_message(&body)
                    ))),
                }
            }
        }
    }
}

/// The message of an OTLP/HTTP error body (`google.rpc.Status`, protobuf or JSON), or the text.
fn status_message(body: &[u8]) -> String {
    #[derive(Clone, PartialEq, prost::Message)]
    struct RpcStatus {
        #[prost(int32, tag = "1")]
        code: i32,
        #[prost(string, tag = "2")]
        message: String,
    }
    if let Ok(s) = RpcStatus::decode(body)
        && !s.message.is_empty()
    {
        return s.message;
    }
    if let Ok(v) = serde_json::from_slice::<serde_json::Value>(body)
        && let Some(m) = v.get("message").and_then(|m| m.as_str())
    {
        return m.to_string();
    }
    String::from_utf8_lossy(body).chars().take(200).collect()
}

/// Counters shared by the workers.
#[derive(Default)]
struct Counters {
    spans: AtomicU64,
    logs: AtomicU64,
    rejected: AtomicU64,
    requests: AtomicU64,
    retries: AtomicU64,
}

/// Sends one request, retrying overload answers with backoff.
async fn export_with_retry<E: Export>(
    client: &mut Client,
    request: &E,
    config: &LoadConfig,
    counters: &Counters,
    bar: &ProgressBar,
) -> anyhow::Result<E::Response> {
    let mut backoff = Duration::from_millis(100);
    let mut attempt = 0;
    loop {
        match client
            .try_export(request, config.key.as_deref(), &config.endpoint)
            .await
        {
            Ok(resp) => return Ok(resp),
            Err(TryError::Fatal(e)) => return Err(e),
            Err(TryError::Retry(after, why)) => {
                attempt += 1;
                if attempt > MAX_RETRIES {
                    bail!(
                        "the server at {} kept answering \"retry later\" ({why}); gave up after \
                         {MAX_RETRIES} retries",
                        config.endpoint
                    );
                }
                counters.retries.fetch_add(1, Ordering::Relaxed);
                let wait = after.unwrap_or(backoff).min(MAX_BACKOFF);
                bar.set_message(format!("server busy ({why}), retrying in {wait:?}"));
                tokio::time::sleep(wait).await;
                backoff = (backoff * 2).min(MAX_BACKOFF);
            }
        }
    }
}

/// Sends the generated shop traffic described by `config` until its count or duration is
/// reached or `stop` completes; progress goes to `bar` (use a hidden bar for none).
pub async fn drive(
    config: LoadConfig,
    bar: ProgressBar,
    stop: impl Future<Output = ()> + Send,
) -> anyhow::Result<LoadReport> {
    let client = Client::connect(&config).await?;
    let config = Arc::new(config);
    let counters = Arc::new(Counters::default());
    let started = Instant::now();
    let (tx, rx) = tokio::sync::mpsc::channel::<(ExportTraceServiceRequest, usize)>(
        config.concurrency.max(1) * 2,
    );
    let with_logs = config.logs;
    let rx = Arc::new(tokio::sync::Mutex::new(rx));
    let mut workers = tokio::task::JoinSet::new();
    for _ in 0..config.concurrency.max(1) {
        let (rx, config, counters, bar) =
            (rx.clone(), config.clone(), counters.clone(), bar.clone());
        let mut client = client.clone();
        workers.spawn(async move {
            loop {
                let next = rx.lock().await.recv().await;
                let Some((request, n)) = next else {
                    return anyhow::Ok(());
                };
                let resp =
                    export_with_retry(&mut client, &request, &config, &counters, &bar).await?;
                let rejected = ExportTraceServiceRequest::rejected(&resp);
                if with_logs {
                    let logs = logs_of(&request);
                    let records: usize = logs
                        .resource_logs
                        .iter()
                        .flat_map(|r| &r.scope_logs)
                        .map(|s| s.log_records.len())
                        .sum();
                    let resp =
                        export_with_retry(&mut client, &logs, &config, &counters, &bar).await?;
                    let refused = ExportLogsServiceRequest::rejected(&resp);
                    counters.logs.fetch_add(
                        records as u64 - refused.min(records as u64),
                        Ordering::Relaxed,
                    );
                }
                counters.spans.fetch_add(n as u64, Ordering::Relaxed);
                counters.rejected.fetch_add(rejected, Ordering::Relaxed);
                counters.requests.fetch_add(1, Ordering::Relaxed);
                bar.set_message("");
                bar.inc(n as u64);
            }
        });
    }

    let (halt_tx, mut halt_rx) = tokio::sync::watch::channel(false);
    let producer = {
        let config = config.clone();
        tokio::spawn(async move {
            let mut generator = ShopGenerator::new(config.seed);
            let mut generated: u64 = 0;
            loop {
                if config.count.is_some_and(|c| generated >= c)
                    || config.duration.is_some_and(|d| started.elapsed() >= d)
                {
                    break;
                }
                if let Some(rate) = config.rate {
                    let due = started + Duration::from_secs_f64(generated as f64 / rate);
                    let due = match config.duration {
                        Some(d) => due.min(started + d),
                        None => due,
                    };
                    tokio::select! {
                        _ = tokio::time::sleep_until(due.into()) => {}
                        _ = halt_rx.changed() => break,
                    }
                    if config.duration.is_some_and(|d| started.elapsed() >= d) {
                        break;
                    }
                }
                let now = now_ns();
                // Small requests at low rates, so that traffic trickles in rather than in bursts.
                let traces = match config.rate {
                    Some(rate) => {
                        ((rate / 12.0 / 4.0).ceil() as usize).clamp(1, config.traces_per_request)
                    }
                    None => config.traces_per_request,
                };
                let traces = match config.count {
                    Some(c) => traces.min(((c - generated) / 3).max(1) as usize),
                    None => traces,
                };
                let (request, _, n) =
                    generator.request(traces, |rng| now - rng.random_range(0..250_000_000i64));
                generated += n as u64;
                tokio::select! {
                    sent = tx.send((request, n)) => if sent.is_err() { break },
                    _ = halt_rx.changed() => break,
                }
            }
            // Dropping `tx` here lets the workers finish what is queued and stop.
        })
    };

    tokio::pin!(stop);
    let mut stop_seen = false;
    let result = loop {
        tokio::select! {
            _ = &mut stop, if !stop_seen => {
                // Stop generating; what is queued is still sent.
                stop_seen = true;
                let _ = halt_tx.send(true);
            }
            done = workers.join_next() => match done {
                None => break Ok(()),
                Some(Ok(Ok(()))) => {}
                Some(Ok(Err(e))) => break Err(e),
                Some(Err(e)) => break Err(anyhow::anyhow!("a sender task failed: {e}")),
            },
        }
    };
    producer.abort();
    workers.abort_all();
    bar.finish_and_clear();
    let report = LoadReport {
        spans: counters.spans.load(Ordering::Relaxed),
        logs: counters.logs.load(Ordering::Relaxed),
        rejected: counters.rejected.load(Ordering::Relaxed),
        requests: counters.requests.load(Ordering::Relaxed),
        retries: counters.retries.load(Ordering::Relaxed),
        elapsed: started.elapsed(),
    };
    result.map(|()| report)
}

/// A progress bar for `count` spans (a spinner when unbounded) with the live rate.
pub fn progress_bar(count: Option<u64>, quiet: bool) -> ProgressBar {
    if quiet {
        return ProgressBar::hidden();
    }
    let (bar, template) = match count {
        Some(n) => (
            ProgressBar::new(n),
            "{bar:30} {human_pos}/{human_len} spans  {per_sec:>12}  {elapsed_precise}  {msg}",
        ),
        None => (
            ProgressBar::no_length(),
            "{spinner} {human_pos} spans  {per_sec:>12}  {elapsed_precise}  {msg}",
        ),
    };
    bar.set_style(
        ProgressStyle::with_template(template).unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    bar.enable_steady_tick(Duration::from_millis(200));
    bar
}

/// Sends `window` worth of history ending now, over gRPC to `endpoint`: `traces_per_minute`
/// shop traces (and their log records) for each minute of it, at once. Returns the spans sent.
pub async fn backfill(
    endpoint: &str,
    seed: u64,
    window: Duration,
    traces_per_minute: usize,
) -> anyhow::Result<u64> {
    let minutes = (window.as_secs() / 60).max(1);
    let window_ns = i64::try_from(window.as_nanos()).unwrap_or(i64::MAX);
    let mut client = TraceServiceClient::connect(endpoint.to_string()).await?;
    let mut logs = LogsServiceClient::connect(endpoint.to_string()).await?;
    // Another seed than a live stream's of the same seed, so that trace ids never repeat.
    let mut generator = ShopGenerator::new(seed ^ 0x6261_636b_6669_6c6c);
    let now = now_ns();
    let mut spans = 0;
    for _ in 0..minutes {
        let (request, _, n) = generator.request(traces_per_minute, |rng| {
            now - rng.random_range(1_000_000_000..window_ns.max(2_000_000_000))
        });
        logs.export(logs_of(&request)).await?;
        client.export(request).await?;
        spans += n as u64;
    }
    Ok(spans)
}
