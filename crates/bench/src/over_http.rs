//! Ingest over OTLP/HTTP: the load file again, into a fresh embedded store, as protobuf
//! bodies `POST`ed to `/v1/traces` by the same clients, so that the HTTP receiver's rate and
//! CPU per span stand beside the gRPC figures of the main run.
//!
//! A fresh store, for the reason of [`crate::under_load`]: the main run's store already
//! holds every span and would take the batches for redeliveries.

use std::path::Path;

use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceResponse;

use crate::BenchArgs;
use crate::data::DataSet;
use crate::ingest::ingest;
use crate::measure::{Backend, Serving, process_cpu_secs};

/// What ingest over OTLP/HTTP measured.
#[derive(Debug, Clone, Copy)]
pub(crate) struct OverHttp {
    /// From the first send to the last acknowledgement, s.
    pub(crate) ingest_secs: f64,
    /// CPU time of the process (server and clients) meanwhile, s.
    pub(crate) cpu_secs: Option<f64>,
}

/// Ingests `otlp_path` over OTLP/HTTP into a fresh embedded store in `data_dir`.
pub(crate) async fn ingest_over_http(
    args: &BenchArgs,
    set: &DataSet,
    otlp_path: &Path,
    data_dir: &Path,
) -> anyhow::Result<OverHttp> {
    let backend = Backend::embedded(data_dir).await?;
    let serving = Serving::start(backend.store()).await?;
    let cpu_before = process_cpu_secs();
    let ingested = ingest::<ExportTraceServiceResponse>(
        &serving.http,
        otlp_path,
        set.requests,
        args.clients.max(1),
    )
    .await;
    let cpu_secs = process_cpu_secs().zip(cpu_before).map(|(a, b)| a - b);
    serving.stop().await?;
    Ok(OverHttp {
        ingest_secs: ingested?,
        cpu_secs,
    })
}
