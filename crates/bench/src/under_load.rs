//! Ingest under a query load: a fresh embedded store takes the whole load file again over
//! OTLP/gRPC while a user searches it once a second — the bench's three span searches and
//! the histogram of the window, in turn — as a UI left open on a busy server does. The
//! figures are the ingest rate (to compare with the quiet ingest of the main run), the
//! latency of those searches while ingest runs, and the server's peak RSS meanwhile.
//!
//! A fresh store, because the main run's store already holds every span: the same batches
//! sent to it again would be recognised as redeliveries and not stored.

use std::path::Path;
use std::time::{Duration, Instant};

use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceResponse;
use tokio::time::MissedTickBehavior;
use tracehouse_engine::Store;

use crate::BenchArgs;
use crate::data::DataSet;
use crate::ingest::ingest;
use crate::measure::{
    Backend, Serving, Timing, all_spans_histogram, newest_50, proc_status_mb, searches, timing,
};

/// How often the user searches while ingest runs.
const SEARCH_EVERY: Duration = Duration::from_secs(1);

/// What ingest under a query load measured.
#[derive(Debug, Clone, Copy)]
pub(crate) struct UnderLoad {
    /// From the first send to the last acknowledgement, s.
    pub(crate) ingest_secs: f64,
    /// The searches run meanwhile, ms.
    pub(crate) searches: Timing,
    /// Peak RSS of the process while the fresh store ingested, MB.
    pub(crate) peak_rss_mb: Option<f64>,
}

/// Ingests `otlp_path` into a fresh embedded store in `data_dir` while searching it once a
/// second (peak RSS counts from the store's opening).
pub(crate) async fn ingest_under_load(
    args: &BenchArgs,
    set: &DataSet,
    otlp_path: &Path,
    data_dir: &Path,
) -> anyhow::Result<UnderLoad> {
    let backend = Backend::embedded(data_dir).await?;
    let store = backend.store();
    let serving = Serving::start(store.clone()).await?;
    let (done_tx, done_rx) = tokio::sync::watch::channel(false);
    let ingesting = async {
        let secs = ingest::<ExportTraceServiceResponse>(
            &serving.grpc,
            otlp_path,
            set.requests,
            args.clients,
        )
        .await;
        let _ = done_tx.send(true);
        secs
    };
    let (ingested, latencies) = tokio::join!(ingesting, search_until(store.as_ref(), set, done_rx));
    let latencies = latencies?;
    let peak_rss_mb = proc_status_mb(None, "VmHWM:");
    serving.stop().await?;
    let ingest_secs = ingested?;
    anyhow::ensure!(
        !latencies.is_empty(),
        "no search ran during the {ingest_secs:.1} s of ingest"
    );
    Ok(UnderLoad {
        ingest_secs,
        searches: timing(latencies),
        peak_rss_mb,
    })
}

/// Runs the next search every [`SEARCH_EVERY`] until `done`; returns each one's latency,
/// ms. An empty answer is fine: the store fills as they run.
async fn search_until(
    store: &dyn Store,
    set: &DataSet,
    mut done: tokio::sync::watch::Receiver<bool>,
) -> anyhow::Result<Vec<f64>> {
    let queries = searches(set)
        .iter()
        .map(|text| newest_50(text, set))
        .collect::<anyhow::Result<Vec<_>>>()?;
    let histogram = all_spans_histogram(set)?;
    let mut tick = tokio::time::interval(SEARCH_EVERY);
    tick.set_missed_tick_behavior(MissedTickBehavior::Delay);
    let mut latencies = Vec::new();
    loop {
        tokio::select! {
            _ = done.wait_for(|d| *d) => return Ok(latencies),
            _ = tick.tick() => {}
        }
        let started = Instant::now();
        match queries.get(latencies.len() % (queries.len() + 1)) {
            Some(query) => drop(store.search_spans(query).await?),
            None => drop(store.histogram(&histogram).await?),
        }
        latencies.push(started.elapsed().as_secs_f64() * 1000.0);
    }
}
