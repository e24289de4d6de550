//! OTLP/gRPC receiver: the `TraceService` and `LogsService` of the OpenTelemetry protocol,
//! via tonic. Both are the same [`GrpcIngest`] calling the generic ingest path.

use std::sync::Arc;

use opentelemetry_proto::tonic::collector::logs::v1::logs_service_server::{
    LogsService, LogsServiceServer,
};
use opentelemetry_proto::tonic::collector::logs::v1::{
    ExportLogsServiceRequest, ExportLogsServiceResponse,
};
use opentelemetry_proto::tonic::collector::trace::v1::trace_service_server::{
    TraceService, TraceServiceServer,
};
use opentelemetry_proto::tonic::collector::trace::v1::{
    ExportTraceServiceRequest, ExportTraceServiceResponse,
};
use tonic::codec::CompressionEncoding;
use tonic::{Request, Response, Status};

use crate::ingest::{Ingest, IngestError, OtlpExport};
use crate::projects::key_from_headers;

/// Serves `opentelemetry.proto.collector.{trace,logs}.v1.*Service/Export`.
#[derive(Clone)]
pub struct GrpcIngest {
    ingest: Arc<Ingest>,
}

/// Applies the settings every OTLP service shares: gzip both ways and the request size limit.
macro_rules! configured {
    ($server:expr, $max:expr) => {
        $server
            .accept_compressed(CompressionEncoding::Gzip)
            .send_compressed(CompressionEncoding::Gzip)
            .max_decoding_message_size($max)
    };
}

impl GrpcIngest {
    /// A receiver over the shared ingest path.
    pub fn new(ingest: Arc<Ingest>) -> GrpcIngest {
        GrpcIngest { ingest }
    }

    /// The tonic `TraceService`, with gzip accepted and the request size limit applied.
    pub fn traces(&self, max_request_bytes: usize) -> TraceServiceServer<GrpcIngest> {
        configured!(TraceServiceServer::new(self.clone()), max_request_bytes)
    }

    /// The tonic `LogsService`, with gzip accepted and the request size limit applied.
    pub fn logs(&self, max_request_bytes: usize) -> LogsServiceServer<GrpcIngest> {
        configured!(LogsServiceServer::new(self.clone()), max_request_bytes)
    }

    /// Authenticates from the metadata and runs the request through the ingest path.
    async fn export<R: OtlpExport>(
        &self,
        request: Request<R>,
    ) -> Result<Response<R::Response>, Status> {
        let md = request.metadata();
        let x_key = md.get("x-tracehouse-key").and_then(|v| v.to_str().ok());
        let auth = md.get("authorization").and_then(|v| v.to_str().ok());
        let key = key_from_headers(x_key, auth).map(str::to_owned);
        self.ingest
            .export(request.into_inner(), key.as_deref(), "grpc")
            .await
            .map(Response::new)
            .map_err(|e| status_of(&e))
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

#[tonic::async_trait]
impl TraceService for GrpcIngest {
    async fn export(
        &self,
        request: Request<ExportTraceServiceRequest>,
    ) -> Result<Response<ExportTraceServiceResponse>, Status> {
        GrpcIngest::export(self, request).await
    }
}

#[tonic::async_trait]
impl LogsService for GrpcIngest {
    async fn export(
        &self,
        request: Request<ExportLogsServiceRequest>,
    ) -> Result<Response<ExportLogsServiceResponse>, Status> {
        GrpcIngest::export(self, request).await
    }
}
