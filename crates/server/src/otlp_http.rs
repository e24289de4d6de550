//! OTLP/HTTP receiver: `POST /v1/traces`, `POST /v1/logs` and `POST /v1/metrics` with
//! protobuf or JSON bodies, optionally gzipped, all served by one handler generic over the
//! signal; the same port
//! takes session recordings at `POST /v1/replay` ([`crate::replay`]) and Zipkin's
//! `POST /api/v2/spans` ([`crate::zipkin`]), which share its body handling.
//!
//! Browsers may call it from the origins configured with `--cors-origin` (see [`cors_layer`]).
//!
//! Responses follow the OTLP/HTTP specification: the body has the request's encoding,
//! failures carry a `google.rpc.Status`, 400 means "do not retry", 503 with `Retry-After`
//! means "retry later", and rejected rows come back in `partial_success`.

use std::io::Read;
use std::sync::Arc;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{HeaderMap, HeaderName, HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use flate2::read::GzDecoder;
use opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceRequest;
use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use prost::Message;
use serde::Serialize;

use tower_http::cors::{AllowOrigin, CorsLayer};

use crate::config::CorsOrigins;
use crate::ingest::{Ingest, IngestError, OtlpExport};
use crate::projects::request_key;

/// gRPC status codes used in OTLP/HTTP error bodies.
mod code {
    pub const INVALID_ARGUMENT: i32 = 3;
    pub const DEADLINE_EXCEEDED: i32 = 4;
    pub const RESOURCE_EXHAUSTED: i32 = 8;
    pub const INTERNAL: i32 = 13;
    pub const UNAVAILABLE: i32 = 14;
    pub const UNAUTHENTICATED: i32 = 16;
}

/// `google.rpc.Status`, the error body of OTLP/HTTP.
#[derive(Clone, PartialEq, prost::Message, Serialize)]
pub struct RpcStatus {
    /// A gRPC status code.
    #[prost(int32, tag = "1")]
    pub code: i32,
    /// What went wrong and what to do.
    #[prost(string, tag = "2")]
    pub message: String,
}

/// Request body encodings OTLP/HTTP defines.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Encoding {
    Protobuf,
    Json,
}

impl Encoding {
    fn content_type(self) -> &'static str {
        match self {
            Encoding::Protobuf => "application/x-protobuf",
            Encoding::Json => "application/json",
        }
    }

    fn of(headers: &HeaderMap) -> Option<Encoding> {
        let ct = headers.get(header::CONTENT_TYPE)?.to_str().ok()?;
        let mime = ct.split(';').next()?.trim().to_ascii_lowercase();
        match mime.as_str() {
            "application/x-protobuf" | "application/protobuf" => Some(Encoding::Protobuf),
            "application/json" => Some(Encoding::Json),
            _ => None,
        }
    }

    fn encode<T: Message + Serialize>(self, msg: &T) -> Vec<u8> {
        match self {
            Encoding::Protobuf => msg.encode_to_vec(),
            Encoding::Json => serde_json::to_vec(msg).unwrap_or_default(),
        }
    }
}

/// A failed request: HTTP status plus the `google.rpc.Status` body.
pub(crate) struct Failure {
    pub(crate) http: StatusCode,
    pub(crate) status: RpcStatus,
    retry_after: Option<u64>,
}

impl Failure {
    fn new(http: StatusCode, code: i32, message: impl Into<String>) -> Failure {
        Failure {
            http,
            status: RpcStatus {
                code,
                message: message.into(),
            },
            retry_after: None,
        }
    }

    /// A request refused for what it sent (`INVALID_ARGUMENT`).
    pub(crate) fn invalid(http: StatusCode, message: impl Into<String>) -> Failure {
        Failure::new(http, code::INVALID_ARGUMENT, message)
    }

    /// The `reason` label of the refused-requests metric.
    pub(crate) fn reason(&self) -> &'static str {
        match self.http {
            StatusCode::PAYLOAD_TOO_LARGE => "too_large",
            StatusCode::REQUEST_TIMEOUT => "timeout",
            StatusCode::BAD_REQUEST => "malformed",
            StatusCode::UNSUPPORTED_MEDIA_TYPE => "unsupported_media_type",
            StatusCode::UNAUTHORIZED => "unauthenticated",
            _ => "unavailable",
        }
    }

    fn into_response(self, encoding: Encoding) -> Response {
        let resp = (
            self.http,
            [(header::CONTENT_TYPE, encoding.content_type())],
            encoding.encode(&self.status),
        )
            .into_response();
        Failure::with_retry_after(resp, self.retry_after)
    }

    /// The failure as a plain-text body (the Zipkin receiver's error form).
    pub(crate) fn into_plain_response(self) -> Response {
        let resp = (
            self.http,
            [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
            self.status.message,
        )
            .into_response();
        Failure::with_retry_after(resp, self.retry_after)
    }

    fn with_retry_after(mut resp: Response, retry_after: Option<u64>) -> Response {
        if let Some(secs) = retry_after {
            resp.headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(secs));
        }
        resp
    }
}

/// State of the OTLP/HTTP routes.
#[derive(Clone)]
pub struct HttpState {
    /// Shared ingest path.
    pub ingest: Arc<Ingest>,
    /// Largest body accepted, compressed or not.
    pub max_request_bytes: usize,
    /// Seconds to put in `Retry-After` when overloaded.
    pub retry_after_secs: u64,
    /// Time allowed to receive the whole body; a slower one is answered 408.
    pub body_timeout: std::time::Duration,
}

/// The OTLP/HTTP router, answering browsers from `cors` origins.
pub fn router(state: HttpState, cors: Option<CorsLayer>) -> Router {
    let router = Router::new()
        .route("/v1/traces", post(export::<ExportTraceServiceRequest>))
        .route("/v1/logs", post(export::<ExportLogsServiceRequest>))
        .route("/v1/metrics", post(export::<ExportMetricsServiceRequest>))
        .route("/api/v2/spans", post(crate::zipkin::post_spans))
        .route("/v1/replay", post(crate::replay::ingest_replay))
        .with_state(state);
    match cors {
        Some(layer) => router.layer(layer),
        None => router,
    }
}

/// How long a browser may cache a preflight answer: two hours, the most Chromium honours
/// (Firefox allows a day), so a page sends one preflight per endpoint every two hours.
const PREFLIGHT_MAX_AGE: std::time::Duration = std::time::Duration::from_secs(2 * 60 * 60);

/// The CORS layer for the allowed origins, or none when no origin is allowed (then browsers
/// get no CORS headers and refuse to send). `open` is whether the server runs without projects,
/// which decides [`CorsOrigins::ByMode`].
///
/// Preflights are answered for `POST` with the headers an OTLP browser exporter sends:
/// `content-type` (protobuf and JSON are not CORS-safelisted types), `content-encoding`, the
/// key (`x-tracehouse-key` or `authorization`) and trace context (`traceparent`,
/// `tracestate`); `retry-after` is exposed so a browser exporter can honour it. No
/// credentials: the key travels in a header or the resource, never in a cookie.
pub fn cors_layer(origins: &CorsOrigins, open: bool) -> Option<CorsLayer> {
    let allow = match origins {
        CorsOrigins::ByMode if open => AllowOrigin::any(),
        CorsOrigins::Any => AllowOrigin::any(),
        CorsOrigins::ByMode => return None,
        CorsOrigins::List(list) if list.is_empty() => return None,
        CorsOrigins::List(list) => AllowOrigin::list(
            list.iter()
                .filter_map(|o| HeaderValue::from_str(o).ok())
                .collect::<Vec<_>>(),
        ),
    };
    Some(
        CorsLayer::new()
            .allow_origin(allow)
            .allow_methods([Method::POST])
            .allow_headers([
                header::CONTENT_TYPE,
                header::CONTENT_ENCODING,
                header::AUTHORIZATION,
                HeaderName::from_static("x-tracehouse-key"),
                HeaderName::from_static("traceparent"),
                HeaderName::from_static("tracestate"),
            ])
            .expose_headers([header::RETRY_AFTER])
            .max_age(PREFLIGHT_MAX_AGE),
    )
}

/// Reads the body, refusing anything larger than `limit` or slower than `timeout` (a client
/// trickling its body would otherwise hold the connection and the buffer forever).
pub(crate) async fn read_body(
    body: Body,
    limit: usize,
    timeout: std::time::Duration,
) -> Result<Bytes, Failure> {
    match tokio::time::timeout(timeout, axum::body::to_bytes(body, limit)).await {
        Ok(Ok(bytes)) => Ok(bytes),
        Ok(Err(_)) => Err(Failure::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            code::RESOURCE_EXHAUSTED,
            format!("request body is larger than the {limit}-byte limit: send smaller batches"),
        )),
        Err(_) => Err(Failure::new(
            StatusCode::REQUEST_TIMEOUT,
            code::DEADLINE_EXCEEDED,
            format!(
                "request body not received within {timeout:?}: send smaller batches or check \
                 the network"
            ),
        )),
    }
}

/// Undoes `Content-Encoding: gzip`, bounding the decompressed size too.
pub(crate) fn decompress(headers: &HeaderMap, body: Bytes, limit: usize) -> Result<Bytes, Failure> {
    let enc = headers
        .get(header::CONTENT_ENCODING)
        .and_then(|v| v.to_str().ok())
        .map(|v| v.trim().to_ascii_lowercase());
    match enc.as_deref() {
        None | Some("") | Some("identity") => Ok(body),
        Some("gzip") => {
            let mut out = Vec::new();
            GzDecoder::new(body.as_ref())
                .take(limit as u64 + 1)
                .read_to_end(&mut out)
                .map_err(|e| {
                    Failure::new(
                        StatusCode::BAD_REQUEST,
                        code::INVALID_ARGUMENT,
                        format!("invalid gzip body: {e}"),
                    )
                })?;
            if out.len() > limit {
                return Err(Failure::new(
                    StatusCode::PAYLOAD_TOO_LARGE,
                    code::RESOURCE_EXHAUSTED,
                    format!(
                        "decompressed body is larger than the {limit}-byte limit: send smaller batches"
                    ),
                ));
            }
            Ok(out.into())
        }
        Some(other) => Err(Failure::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            code::INVALID_ARGUMENT,
            format!("unsupported Content-Encoding {other:?}: use gzip or none"),
        )),
    }
}

/// Decodes an export request of any signal from the body's encoding.
fn decode<R: OtlpExport>(encoding: Encoding, body: &[u8]) -> Result<R, Failure> {
    let bad = |what: &str, e: &dyn std::fmt::Display| {
        Failure::new(
            StatusCode::BAD_REQUEST,
            code::INVALID_ARGUMENT,
            format!("invalid {what} {}: {e}", R::MESSAGE),
        )
    };
    match encoding {
        Encoding::Protobuf => R::decode(body).map_err(|e| bad("protobuf", &e)),
        Encoding::Json => crate::otlp_json::decode(body).map_err(|e| bad("JSON", &e)),
    }
}

pub(crate) fn ingest_failure(e: &IngestError, retry_after_secs: u64) -> Failure {
    match e {
        IngestError::Unauthenticated(a) => Failure::new(
            StatusCode::UNAUTHORIZED,
            code::UNAUTHENTICATED,
            a.to_string(),
        ),
        e if e.is_retryable() => Failure {
            retry_after: Some(retry_after_secs),
            ..Failure::new(
                StatusCode::SERVICE_UNAVAILABLE,
                code::UNAVAILABLE,
                e.to_string(),
            )
        },
        e => Failure::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            code::INTERNAL,
            e.to_string(),
        ),
    }
}

/// `POST /v1/traces`, `POST /v1/logs` and `POST /v1/metrics`: read, inflate and decode the
/// body within the size limit, then run it through the ingest path and answer in the request's encoding.
async fn export<R: OtlpExport>(
    State(state): State<HttpState>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let Some(encoding) = Encoding::of(&headers) else {
        state
            .ingest
            .metrics
            .request_rejected(R::SIGNAL, "unsupported_media_type");
        return Failure::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            code::INVALID_ARGUMENT,
            "Content-Type must be application/x-protobuf or application/json",
        )
        .into_response(Encoding::Json);
    };
    let result = async {
        let raw = read_body(body, state.max_request_bytes, state.body_timeout).await?;
        let plain = decompress(&headers, raw, state.max_request_bytes)?;
        let request = decode::<R>(encoding, &plain)?;
        state
            .ingest
            .export(request, request_key(&headers), "http")
            .await
            .map_err(|e| ingest_failure(&e, state.retry_after_secs))
    }
    .await;
    match result {
        Ok(resp) => (
            StatusCode::OK,
            [(header::CONTENT_TYPE, encoding.content_type())],
            encoding.encode(&resp),
        )
            .into_response(),
        Err(f) => {
            state.ingest.metrics.request_rejected(R::SIGNAL, f.reason());
            f.into_response(encoding)
        }
    }
}
