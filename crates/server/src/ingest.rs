//! The transport-independent ingest path: authenticate, normalise, store durably, and
//! build the OTLP response (with `partial_success` for rejected spans).

use std::sync::Arc;

use opentelemetry_proto::tonic::collector::trace::v1::{
    ExportTracePartialSuccess, ExportTraceServiceRequest, ExportTraceServiceResponse,
};
use tracehouse_model::{Limits, normalise_traces};
use tracehouse_store::{Store, StoreError};

use crate::metrics::Metrics;
use crate::projects::{AuthError, Projects};

/// Why a whole export request failed.
#[derive(Debug, thiserror::Error)]
pub enum IngestError {
    /// The project key was missing or unknown.
    #[error(transparent)]
    Unauthenticated(#[from] AuthError),
    /// The store could not take the data.
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl IngestError {
    /// Whether the client should retry the same request later.
    pub fn is_retryable(&self) -> bool {
        match self {
            IngestError::Unauthenticated(_) => false,
            IngestError::Store(e) => e.is_retryable(),
        }
    }
}

/// Shared ingest state used by both OTLP receivers.
pub struct Ingest {
    /// Where spans go.
    pub store: Arc<dyn Store>,
    /// Key → project table.
    pub projects: Projects,
    /// Attribute limits.
    pub limits: Limits,
    /// Server metrics.
    pub metrics: Arc<Metrics>,
}

fn span_count(req: &ExportTraceServiceRequest) -> u64 {
    req.resource_spans
        .iter()
        .flat_map(|r| &r.scope_spans)
        .map(|s| s.spans.len() as u64)
        .sum()
}

impl Ingest {
    /// Stores the spans of one export request; returns once they are durable.
    pub async fn export_traces(
        &self,
        req: ExportTraceServiceRequest,
        header_key: Option<&str>,
        transport: &'static str,
    ) -> Result<ExportTraceServiceResponse, IngestError> {
        let total = span_count(&req);
        let normalised = match normalise_traces(&req, &self.limits, |res| {
            self.projects.for_resource(header_key, res)
        }) {
            Ok(n) => n,
            Err(e) => {
                self.metrics.rejected("unauthenticated", total);
                return Err(e.into());
            }
        };
        drop(req);
        let accepted = normalised.spans.len() as u64;
        if let Err(e) = self.store.write_spans(normalised.spans).await {
            self.metrics.rejected(
                if e.is_retryable() {
                    "unavailable"
                } else {
                    "store_error"
                },
                accepted,
            );
            tracing::warn!(error = %e, spans = accepted, "could not store spans");
            return Err(e.into());
        }
        self.metrics.accepted(transport, accepted);
        self.metrics.rejected("invalid", normalised.rejected);
        let partial_success = (normalised.rejected > 0).then_some(ExportTracePartialSuccess {
            rejected_spans: normalised.rejected as i64,
            error_message: normalised.rejection_message,
        });
        Ok(ExportTraceServiceResponse { partial_success })
    }
}
