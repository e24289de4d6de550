//! OTLP/gRPC receiver: the `TraceService` of the OpenTelemetry protocol, via tonic.

use std::sync::Arc;

use opentelemetry_proto::tonic::collector::trace::v1::trace_service_server::{
    TraceService, TraceServiceServer,
};
use opentelemetry_proto::tonic::collector::trace::v1::{
    ExportTraceServiceRequest, ExportTraceServiceResponse,
};
use tonic::codec::CompressionEncoding;
use tonic::{Request, Response, Status};

use crate::ingest::{Ingest, IngestError};
use crate::projects::key_from_headers;

/// Serves `opentelemetry.proto.collector.trace.v1.TraceService/Export`.
pub struct GrpcTraces {
    ingest: Arc<Ingest>,
}

impl GrpcTraces {
    /// A tonic service with gzip accepted and the request size limit applied.
    pub fn service(
        ingest: Arc<Ingest>,
        max_request_bytes: usize,
    ) -> TraceServiceServer<GrpcTraces> {
        TraceServiceServer::new(GrpcTraces { ingest })
            .accept_compressed(CompressionEncoding::Gzip)
            .send_compressed(CompressionEncoding::Gzip)
            .max_decoding_message_size(max_request_bytes)
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
impl TraceService for GrpcTraces {
    async fn export(
        &self,
        request: Request<ExportTraceServiceRequest>,
    ) -> Result<Response<ExportTraceServiceResponse>, Status> {
        let md = request.metadata();
        let x_key = md.get("x-tracehouse-key").and_then(|v| v.to_str().ok());
        let auth = md.get("authorization").and_then(|v| v.to_str().ok());
        let key = key_from_headers(x_key, auth).map(str::to_owned);
        let req = request.into_inner();
        self.ingest
            .export_traces(req, key.as_deref(), "grpc")
            .await
            .map(Response::new)
            .map_err(|e| status_of(&e))
    }
}
