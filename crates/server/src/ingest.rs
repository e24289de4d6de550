//! The transport-independent ingest path: authenticate, normalise, store durably, and
//! build the OTLP response (with `partial_success` for rejected rows). One generic path
//! ([`Ingest::export`]) serves every signal; [`OtlpExport`] says what differs.

use std::sync::Arc;

use futures::future::BoxFuture;
use opentelemetry_proto::tonic::collector::logs::v1::{
    ExportLogsPartialSuccess, ExportLogsServiceRequest, ExportLogsServiceResponse,
};
use opentelemetry_proto::tonic::collector::metrics::v1::{
    ExportMetricsPartialSuccess, ExportMetricsServiceRequest, ExportMetricsServiceResponse,
};
use opentelemetry_proto::tonic::collector::trace::v1::{
    ExportTracePartialSuccess, ExportTraceServiceRequest, ExportTraceServiceResponse,
};
use serde::Serialize;
use serde::de::DeserializeOwned;
use tracehouse_model::{
    Attributes, Limits, LogRecord, MetricPoint, Normalised, Span, normalise_logs,
    normalise_metrics, normalise_traces,
};
use tracehouse_store_api::{Store, StoreError};

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

/// An OTLP export request of one signal (traces, logs, metrics): how to count, normalise and store its
/// rows and how to answer it, so both receivers and [`Ingest::export`] stay signal-agnostic.
pub trait OtlpExport:
    prost::Message + Default + DeserializeOwned + crate::otlp_json::AnyValues + Send + 'static
{
    /// The matching `Export…ServiceResponse`.
    type Response: prost::Message + Serialize + Send + 'static;
    /// The normalised row stored for each item.
    type Row: Send + 'static;
    /// The message name, for error messages (`ExportTraceServiceRequest`).
    const MESSAGE: &'static str;
    /// The metrics label of the signal (`traces`, `logs`, `metrics`).
    const SIGNAL: &'static str;
    /// What the rows are called in logs (`spans`, `log records`, `data points`).
    const ROWS: &'static str;

    /// Items in the request, accepted or not.
    fn item_count(&self) -> u64;
    /// Normalises the request, taking over its strings; `project_of` maps a resource to its
    /// project.
    fn normalise(
        self,
        limits: &Limits,
        project_of: impl FnMut(&Attributes) -> Result<String, AuthError>,
    ) -> Result<Normalised<Self::Row>, AuthError>;
    /// Stores rows durably.
    fn write(store: &dyn Store, rows: Vec<Self::Row>) -> BoxFuture<'_, Result<(), StoreError>>;
    /// The response, with `partial_success` set when rows were rejected.
    fn response(rejected: u64, message: String) -> Self::Response;
}

impl OtlpExport for ExportTraceServiceRequest {
    type Response = ExportTraceServiceResponse;
    type Row = Span;
    const MESSAGE: &'static str = "ExportTraceServiceRequest";
    const SIGNAL: &'static str = "traces";
    const ROWS: &'static str = "spans";

    fn item_count(&self) -> u64 {
        self.resource_spans
            .iter()
            .flat_map(|r| &r.scope_spans)
            .map(|s| s.spans.len() as u64)
            .sum()
    }

    fn normalise(
        self,
        limits: &Limits,
        project_of: impl FnMut(&Attributes) -> Result<String, AuthError>,
    ) -> Result<Normalised<Span>, AuthError> {
        normalise_traces(self, limits, project_of)
    }

    fn write(store: &dyn Store, rows: Vec<Span>) -> BoxFuture<'_, Result<(), StoreError>> {
        store.write_spans(rows)
    }

    fn response(rejected: u64, message: String) -> ExportTraceServiceResponse {
        ExportTraceServiceResponse {
            partial_success: (rejected > 0).then_some(ExportTracePartialSuccess {
                rejected_spans: rejected as i64,
                error_message: message,
            }),
        }
    }
}

impl OtlpExport for ExportLogsServiceRequest {
    type Response = ExportLogsServiceResponse;
    type Row = LogRecord;
    const MESSAGE: &'static str = "ExportLogsServiceRequest";
    const SIGNAL: &'static str = "logs";
    const ROWS: &'static str = "log records";

    fn item_count(&self) -> u64 {
        self.resource_logs
            .iter()
            .flat_map(|r| &r.scope_logs)
            .map(|s| s.log_records.len() as u64)
            .sum()
    }

    fn normalise(
        self,
        limits: &Limits,
        project_of: impl FnMut(&Attributes) -> Result<String, AuthError>,
    ) -> Result<Normalised<LogRecord>, AuthError> {
        normalise_logs(self, limits, project_of)
    }

    fn write(store: &dyn Store, rows: Vec<LogRecord>) -> BoxFuture<'_, Result<(), StoreError>> {
        store.write_logs(rows)
    }

    fn response(rejected: u64, message: String) -> ExportLogsServiceResponse {
        ExportLogsServiceResponse {
            partial_success: (rejected > 0).then_some(ExportLogsPartialSuccess {
                rejected_log_records: rejected as i64,
                error_message: message,
            }),
        }
    }
}

impl OtlpExport for ExportMetricsServiceRequest {
    type Response = ExportMetricsServiceResponse;
    type Row = MetricPoint;
    const MESSAGE: &'static str = "ExportMetricsServiceRequest";
    const SIGNAL: &'static str = "metrics";
    const ROWS: &'static str = "data points";

    fn item_count(&self) -> u64 {
        tracehouse_model::otlp_metrics::point_count(self)
    }

    fn normalise(
        self,
        limits: &Limits,
        project_of: impl FnMut(&Attributes) -> Result<String, AuthError>,
    ) -> Result<Normalised<MetricPoint>, AuthError> {
        normalise_metrics(&self, limits, project_of)
    }

    fn write(store: &dyn Store, rows: Vec<MetricPoint>) -> BoxFuture<'_, Result<(), StoreError>> {
        store.write_metric_points(rows)
    }

    fn response(rejected: u64, message: String) -> ExportMetricsServiceResponse {
        ExportMetricsServiceResponse {
            partial_success: (rejected > 0).then_some(ExportMetricsPartialSuccess {
                rejected_data_points: rejected as i64,
                error_message: message,
            }),
        }
    }
}

/// Shared ingest state used by both OTLP receivers.
pub struct Ingest {
    /// Where spans, log records and metric points go.
    pub store: Arc<dyn Store>,
    /// Key → project table.
    pub projects: Projects,
    /// Attribute limits.
    pub limits: Limits,
    /// Server metrics.
    pub metrics: Arc<Metrics>,
}

impl Ingest {
    /// Stores the rows of one export request of any signal; returns once they are durable.
    pub async fn export<R: OtlpExport>(
        &self,
        req: R,
        header_key: Option<&str>,
        transport: &'static str,
    ) -> Result<R::Response, IngestError> {
        let signal = R::SIGNAL;
        let total = req.item_count();
        let normalised = match req.normalise(&self.limits, |res| {
            self.projects.for_resource(header_key, res)
        }) {
            Ok(n) => n,
            Err(e) => {
                self.metrics.rejected(signal, "unauthenticated", total);
                return Err(e.into());
            }
        };
        let accepted = normalised.rows.len() as u64;
        if let Err(e) = R::write(self.store.as_ref(), normalised.rows).await {
            let reason = if e.is_retryable() {
                "unavailable"
            } else {
                "store_error"
            };
            self.metrics.rejected(signal, reason, accepted);
            tracing::warn!(error = %e, rows = accepted, "could not store {}", R::ROWS);
            return Err(e.into());
        }
        self.metrics.accepted(signal, transport, accepted);
        self.metrics
            .rejected(signal, "invalid", normalised.rejected);
        Ok(R::response(
            normalised.rejected,
            normalised.rejection_message,
        ))
    }

    /// Stores the spans of one trace export request; returns once they are durable.
    pub async fn export_traces(
        &self,
        req: ExportTraceServiceRequest,
        header_key: Option<&str>,
        transport: &'static str,
    ) -> Result<ExportTraceServiceResponse, IngestError> {
        self.export(req, header_key, transport).await
    }

    /// Stores the records of one logs export request; returns once they are durable.
    pub async fn export_logs(
        &self,
        req: ExportLogsServiceRequest,
        header_key: Option<&str>,
        transport: &'static str,
    ) -> Result<ExportLogsServiceResponse, IngestError> {
        self.export(req, header_key, transport).await
    }
}
