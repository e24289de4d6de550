//! OTLP/gRPC receiver: the `TraceService`, `LogsService` and `MetricsService` of the
//! OpenTelemetry protocol, via tonic. Each is one [`ExportService`] calling the generic
//! ingest path.
//!
//! The services are written here rather than taken from the generated servers so that a bad
//! request gets the status the OTLP specification names, which the generated code cannot give:
//! - a body that does not decode (malformed, truncated, nested too deep, invalid UTF-8) is
//!   `INVALID_ARGUMENT` ([`OtlpCodec`] maps prost's errors; tonic's own codec says `INTERNAL`);
//! - a message over the size limit is `RESOURCE_EXHAUSTED`, which clients do not retry
//!   (tonic refuses it from its length prefix with `OUT_OF_RANGE`, which OTLP clients retry
//!   forever). The service reads the message from the request stream itself to see that error.

use std::convert::Infallible;
use std::marker::PhantomData;
use std::sync::Arc;
use std::task::{Context, Poll};

use opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceRequest;
use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use tonic::codec::{Codec, CompressionEncoding, DecodeBuf, Decoder, EncodeBuf, Encoder, Streaming};
use tonic::codegen::{Body, BoxFuture, Bytes, Service, StdError, http};
use tonic::server::{Grpc, NamedService};
use tonic::{Code, Request, Response, Status};

use crate::ingest::{Ingest, IngestError, OtlpExport};
use crate::projects::key_from_headers;

/// Serves `opentelemetry.proto.collector.{trace,logs,metrics}.v1.*Service/Export`.
#[derive(Clone)]
pub struct GrpcIngest {
    ingest: Arc<Ingest>,
}

/// An OTLP signal served over gRPC: its service name and Export method path.
pub trait GrpcSignal: OtlpExport {
    /// The fully qualified gRPC service name.
    const SERVICE: &'static str;
    /// The path of its `Export` method.
    const EXPORT_PATH: &'static str;
}

impl GrpcSignal for ExportTraceServiceRequest {
    const SERVICE: &'static str = "opentelemetry.proto.collector.trace.v1.TraceService";
    const EXPORT_PATH: &'static str = "/opentelemetry.proto.collector.trace.v1.TraceService/Export";
}

impl GrpcSignal for ExportLogsServiceRequest {
    const SERVICE: &'static str = "opentelemetry.proto.collector.logs.v1.LogsService";
    const EXPORT_PATH: &'static str = "/opentelemetry.proto.collector.logs.v1.LogsService/Export";
}

impl GrpcSignal for ExportMetricsServiceRequest {
    const SERVICE: &'static str = "opentelemetry.proto.collector.metrics.v1.MetricsService";
    const EXPORT_PATH: &'static str =
        "/opentelemetry.proto.collector.metrics.v1.MetricsService/Export";
}

impl GrpcIngest {
    /// A receiver over the shared ingest path.
    pub fn new(ingest: Arc<Ingest>) -> GrpcIngest {
        GrpcIngest { ingest }
    }

    /// The `TraceService`, with gzip both ways and the request size limit applied.
    pub fn traces(&self, max_request_bytes: usize) -> ExportService<ExportTraceServiceRequest> {
        ExportService::new(self.clone(), max_request_bytes)
    }

    /// The `LogsService`, with gzip both ways and the request size limit applied.
    pub fn logs(&self, max_request_bytes: usize) -> ExportService<ExportLogsServiceRequest> {
        ExportService::new(self.clone(), max_request_bytes)
    }

    /// The `MetricsService`, with gzip both ways and the request size limit applied.
    pub fn metrics(&self, max_request_bytes: usize) -> ExportService<ExportMetricsServiceRequest> {
        ExportService::new(self.clone(), max_request_bytes)
    }

    /// Reads the one request message, authenticates from the metadata and runs the request
    /// through the ingest path.
    async fn export<R: OtlpExport>(
        &self,
        request: Request<Streaming<R>>,
        max_request_bytes: usize,
    ) -> Result<Response<R::Response>, Status> {
        let (metadata, extensions, mut stream) = request.into_parts();
        let message = match stream.message().await {
            Ok(Some(message)) => message,
            Ok(None) => {
                self.ingest.metrics.request_rejected(R::SIGNAL, "malformed");
                return Err(Status::invalid_argument(format!(
                    "the request carries no {}",
                    R::MESSAGE
                )));
            }
            Err(status) => {
                let status = decode_failure(status, max_request_bytes);
                let reason = match status.code() {
                    Code::ResourceExhausted => "too_large",
                    _ => "malformed",
                };
                self.ingest.metrics.request_rejected(R::SIGNAL, reason);
                return Err(status);
            }
        };
        let x_key = metadata
            .get("x-tracehouse-key")
            .and_then(|v| v.to_str().ok());
        let auth = metadata.get("authorization").and_then(|v| v.to_str().ok());
        let key = key_from_headers(x_key, auth).map(str::to_owned);
        drop(extensions);
        self.ingest
            .export(message, key.as_deref(), "grpc")
            .await
            .map(Response::new)
            .map_err(|e| status_of(&e))
    }
}

/// The status of a request message that could not be read. tonic refuses a message whose
/// length prefix is over the limit with `OUT_OF_RANGE`; OTLP names `RESOURCE_EXHAUSTED`.
fn decode_failure(status: Status, max_request_bytes: usize) -> Status {
    match status.code() {
        Code::OutOfRange => Status::resource_exhausted(format!(
            "request is larger than the {max_request_bytes}-byte limit: send smaller batches \
             ({})",
            status.message()
        )),
        _ => status,
    }
}

/// Maps an ingest failure to the gRPC status the OTLP specification asks for.
fn status_of(e: &IngestError) -> Status {
    match e {
        IngestError::Unauthenticated(a) => Status::unauthenticated(a.to_string()),
        e if e.is_retryable() => Status::unavailable(e.to_string()),
        e => Status::internal(e.to_string()),
    }
}

/// The gRPC service of one signal: routes its `Export` method, answers `UNIMPLEMENTED` to
/// anything else, as generated servers do.
pub struct ExportService<R> {
    ingest: GrpcIngest,
    max_request_bytes: usize,
    signal: PhantomData<fn() -> R>,
}

impl<R> Clone for ExportService<R> {
    fn clone(&self) -> Self {
        ExportService {
            ingest: self.ingest.clone(),
            max_request_bytes: self.max_request_bytes,
            signal: PhantomData,
        }
    }
}

impl<R> ExportService<R> {
    fn new(ingest: GrpcIngest, max_request_bytes: usize) -> ExportService<R> {
        ExportService {
            ingest,
            max_request_bytes,
            signal: PhantomData,
        }
    }
}

impl<R: GrpcSignal> NamedService for ExportService<R> {
    const NAME: &'static str = R::SERVICE;
}

impl<R, B> Service<http::Request<B>> for ExportService<R>
where
    R: GrpcSignal,
    B: Body<Data = Bytes> + Send + 'static,
    B::Error: Into<StdError> + Send + 'static,
{
    type Response = http::Response<tonic::body::Body>;
    type Error = Infallible;
    type Future = BoxFuture<Self::Response, Infallible>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: http::Request<B>) -> Self::Future {
        if request.uri().path() != R::EXPORT_PATH {
            let path = request.uri().path().to_owned();
            return Box::pin(async move {
                let status = Status::unimplemented(format!("no such method {path}"));
                Ok(status.into_http())
            });
        }
        let ingest = self.ingest.clone();
        let max = self.max_request_bytes;
        Box::pin(async move {
            let mut grpc = Grpc::new(OtlpCodec::<R>::default())
                .accept_compressed(CompressionEncoding::Gzip)
                .send_compressed(CompressionEncoding::Gzip)
                .max_decoding_message_size(max);
            let export = tower::service_fn(move |request: Request<Streaming<R>>| {
                let ingest = ingest.clone();
                async move { ingest.export(request, max).await }
            });
            Ok(grpc.client_streaming(export, request).await)
        })
    }
}

/// Protobuf over gRPC for one OTLP signal, answering a body that does not decode with
/// `INVALID_ARGUMENT` (the client sent something wrong; retrying cannot help).
pub struct OtlpCodec<R>(PhantomData<fn() -> R>);

impl<R> Default for OtlpCodec<R> {
    fn default() -> Self {
        OtlpCodec(PhantomData)
    }
}

impl<R: OtlpExport> Codec for OtlpCodec<R> {
    type Encode = R::Response;
    type Decode = R;
    type Encoder = OtlpEncoder<R::Response>;
    type Decoder = OtlpDecoder<R>;

    fn encoder(&mut self) -> Self::Encoder {
        OtlpEncoder(PhantomData)
    }

    fn decoder(&mut self) -> Self::Decoder {
        OtlpDecoder(PhantomData)
    }
}

/// Encodes responses with prost.
pub struct OtlpEncoder<T>(PhantomData<fn(T)>);

impl<T: prost::Message> Encoder for OtlpEncoder<T> {
    type Item = T;
    type Error = Status;

    fn encode(&mut self, item: T, buf: &mut EncodeBuf<'_>) -> Result<(), Status> {
        item.encode(buf)
            .map_err(|e| Status::internal(format!("cannot encode the response: {e}")))
    }
}

/// Decodes a request with prost; a failure is the client's.
pub struct OtlpDecoder<R>(PhantomData<fn() -> R>);

impl<R: OtlpExport> Decoder for OtlpDecoder<R> {
    type Item = R;
    type Error = Status;

    fn decode(&mut self, buf: &mut DecodeBuf<'_>) -> Result<Option<R>, Status> {
        R::decode(buf)
            .map(Some)
            .map_err(|e| Status::invalid_argument(format!("invalid protobuf {}: {e}", R::MESSAGE)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_size_limit_is_resource_exhausted_and_other_failures_keep_their_code() {
        let s = decode_failure(
            Status::out_of_range("Error, decoded message length too large"),
            100,
        );
        assert_eq!(s.code(), Code::ResourceExhausted);
        assert!(s.message().contains("100-byte limit"), "{}", s.message());
        let s = decode_failure(Status::invalid_argument("bad"), 100);
        assert_eq!(s.code(), Code::InvalidArgument);
    }
}
