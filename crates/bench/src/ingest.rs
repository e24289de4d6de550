//! OTLP ingest of a load file (spans or metrics) over gRPC or HTTP: the requests are sent
//! exactly as they were encoded into it (a raw gRPC codec; `application/x-protobuf` bodies
//! over HTTP), by concurrent clients, each acknowledged before the next.

use std::fs::File;
use std::io::{BufReader, Read};
use std::marker::PhantomData;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::bail;
use indicatif::{ProgressBar, ProgressStyle};
use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceResponse;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceResponse;
use prost::Message;
use tonic::Code;
use tonic::codec::{Codec, DecodeBuf, Decoder, EncodeBuf, Encoder};

/// An OTLP signal the harness sends: its export method and what its response refused.
pub(crate) trait Signal: Message + Default + Send + 'static {
    /// The gRPC method.
    const PATH: &'static str;
    /// The OTLP/HTTP path.
    const HTTP_PATH: &'static str;
    /// What the signal's items are called, for messages.
    const ITEMS: &'static str;
    /// Items refused and why, from the response's `partial_success`.
    fn rejected(&self) -> Option<(i64, &str)>;
}

impl Signal for ExportTraceServiceResponse {
    const PATH: &'static str = "/opentelemetry.proto.collector.trace.v1.TraceService/Export";
    const HTTP_PATH: &'static str = "/v1/traces";
    const ITEMS: &'static str = "spans";
    fn rejected(&self) -> Option<(i64, &str)> {
        let p = self.partial_success.as_ref()?;
        Some((p.rejected_spans, p.error_message.as_str()))
    }
}

impl Signal for ExportMetricsServiceResponse {
    const PATH: &'static str = "/opentelemetry.proto.collector.metrics.v1.MetricsService/Export";
    const HTTP_PATH: &'static str = "/v1/metrics";
    const ITEMS: &'static str = "data points";
    fn rejected(&self) -> Option<(i64, &str)> {
        let p = self.partial_success.as_ref()?;
        Some((p.rejected_data_points, p.error_message.as_str()))
    }
}

/// A tonic codec that sends pre-encoded protobuf bytes and decodes the OTLP response `R`.
struct RawCodec<R>(PhantomData<R>);

struct RawEncoder;
struct ResponseDecoder<R>(PhantomData<R>);

impl Encoder for RawEncoder {
    type Item = Vec<u8>;
    type Error = tonic::Status;
    fn encode(&mut self, item: Vec<u8>, dst: &mut EncodeBuf<'_>) -> Result<(), tonic::Status> {
        use bytes::BufMut;
        dst.put_slice(&item);
        Ok(())
    }
}

impl<R: Signal> Decoder for ResponseDecoder<R> {
    type Item = R;
    type Error = tonic::Status;
    fn decode(&mut self, src: &mut DecodeBuf<'_>) -> Result<Option<R>, tonic::Status> {
        R::decode(src)
            .map(Some)
            .map_err(|e| tonic::Status::internal(e.to_string()))
    }
}

impl<R: Signal> Codec for RawCodec<R> {
    type Encode = Vec<u8>;
    type Decode = R;
    type Encoder = RawEncoder;
    type Decoder = ResponseDecoder<R>;
    fn encoder(&mut self) -> RawEncoder {
        RawEncoder
    }
    fn decoder(&mut self) -> ResponseDecoder<R> {
        ResponseDecoder(PhantomData)
    }
}

/// Longest wait between retries of a refused export.
const MAX_BACKOFF: Duration = Duration::from_secs(2);

/// The OTLP endpoint the clients send to.
#[derive(Debug, Clone)]
pub(crate) enum Otlp {
    /// OTLP/gRPC at this URL (`http://host:port`).
    Grpc(String),
    /// OTLP/HTTP under this base URL (`http://host:port`), with protobuf bodies.
    Http(String),
}

impl Otlp {
    /// The transport, for messages.
    fn name(&self) -> &'static str {
        match self {
            Otlp::Grpc(_) => "OTLP/gRPC",
            Otlp::Http(_) => "OTLP/HTTP",
        }
    }
}

/// One client's connection: a gRPC channel, or an HTTP client (keep-alive) and the URL of the
/// signal's path. Clones share the gRPC channel or the HTTP connection pool.
#[derive(Clone)]
enum Client {
    Grpc(tonic::client::Grpc<tonic::transport::Channel>),
    Http {
        client: reqwest::Client,
        url: String,
    },
}

impl Client {
    /// Connects to `otlp` for signal `R`.
    async fn connect<R: Signal>(otlp: &Otlp) -> anyhow::Result<Client> {
        Ok(match otlp {
            Otlp::Grpc(url) => Client::Grpc(tonic::client::Grpc::new(
                tonic::transport::Endpoint::from_shared(url.clone())?
                    .connect()
                    .await?,
            )),
            Otlp::Http(base) => Client::Http {
                client: reqwest::Client::new(),
                url: format!("{base}{}", R::HTTP_PATH),
            },
        })
    }

    /// Sends one export; `None` when the server answered that it is overloaded
    /// (gRPC `UNAVAILABLE` or `RESOURCE_EXHAUSTED`, HTTP 429 or 503: its memtables are at
    /// their budget until a flush frees them).
    async fn send<R: Signal>(&mut self, body: Vec<u8>) -> anyhow::Result<Option<R>> {
        match self {
            Client::Grpc(grpc) => {
                grpc.ready().await?;
                let sent = grpc
                    .unary(
                        tonic::Request::new(body),
                        tonic::codegen::http::uri::PathAndQuery::from_static(R::PATH),
                        RawCodec::<R>(PhantomData),
                    )
                    .await;
                match sent {
                    Ok(resp) => Ok(Some(resp.into_inner())),
                    Err(s) if matches!(s.code(), Code::Unavailable | Code::ResourceExhausted) => {
                        Ok(None)
                    }
                    Err(s) => Err(s.into()),
                }
            }
            Client::Http { client, url } => {
                let resp = client
                    .post(url.as_str())
                    .header(reqwest::header::CONTENT_TYPE, "application/x-protobuf")
                    .body(body)
                    .send()
                    .await?;
                let status = resp.status();
                if matches!(
                    status,
                    reqwest::StatusCode::TOO_MANY_REQUESTS
                        | reqwest::StatusCode::SERVICE_UNAVAILABLE
                ) {
                    return Ok(None);
                }
                let bytes = resp.bytes().await?;
                if !status.is_success() {
                    bail!(
                        "{url} answered {status}: {}",
                        String::from_utf8_lossy(&bytes)
                    );
                }
                Ok(Some(R::decode(bytes)?))
            }
        }
    }

    /// Sends one export, retrying as OTLP exporters do while the server answers that it is
    /// overloaded, with exponential backoff (the same for both transports, so that their
    /// rates compare the server's paths, not two retry policies).
    async fn export<R: Signal>(&mut self, body: Vec<u8>) -> anyhow::Result<R> {
        let mut backoff = Duration::from_millis(20);
        loop {
            match self.send(body.clone()).await? {
                Some(resp) => return Ok(resp),
                None => {
                    tokio::time::sleep(backoff).await;
                    backoff = (backoff * 2).min(MAX_BACKOFF);
                }
            }
        }
    }
}

/// Streams a load file of `requests` requests of signal `R` to the server at `otlp` with
/// `clients` concurrent clients; returns the seconds from the first send to the last
/// acknowledgement.
pub(crate) async fn ingest<R: Signal>(
    otlp: &Otlp,
    otlp_path: &Path,
    requests: usize,
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
    let bar = ProgressBar::new(requests as u64).with_message(format!(
        "tracehouse ingest of {} over {}",
        R::ITEMS,
        otlp.name()
    ));
    bar.set_style(
        ProgressStyle::with_template(
            "{msg} {bar:30} {human_pos}/{human_len} requests  {per_sec}  eta {eta}",
        )
        .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    let rx = Arc::new(tokio::sync::Mutex::new(rx));
    let client = Client::connect::<R>(otlp).await?;
    let started = Instant::now();
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..clients {
        let (rx, bar) = (rx.clone(), bar.clone());
        let mut client = client.clone();
        tasks.spawn(async move {
            loop {
                let next = rx.lock().await.recv().await;
                let Some(body) = next else {
                    return anyhow::Ok(());
                };
                let resp: R = client.export(body).await?;
                if let Some((n, why)) = resp.rejected()
                    && n > 0
                {
                    bail!("the server rejected {n} {}: {why}", R::ITEMS);
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
