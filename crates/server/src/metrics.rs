//! Prometheus metrics about tracehouse itself, served at `/metrics`.

use std::sync::Arc;

use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeLabelSet, EncodeMetric};
use prometheus_client::metrics::counter::{ConstCounter, Counter};
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::ConstGauge;
use prometheus_client::registry::Registry;
use tracehouse_store_api::{MetricKind, Store, StoreMetric};

/// Label: the OTLP transport a request came over.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct TransportLabel {
    /// `grpc` or `http`.
    pub transport: &'static str,
}

/// Label: why data was refused.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ReasonLabel {
    /// A short reason such as `invalid_id` or `unauthenticated`.
    pub reason: &'static str,
}

/// Labels: the signal and the transport of accepted records.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct SignalTransportLabel {
    /// `traces`, `logs` or `metrics`.
    pub signal: &'static str,
    /// `grpc` or `http`.
    pub transport: &'static str,
}

/// Labels: the signal of refused records or requests and why they were refused.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct SignalReasonLabel {
    /// `traces`, `logs` or `metrics`.
    pub signal: &'static str,
    /// A short reason such as `invalid` or `unauthenticated`.
    pub reason: &'static str,
}

/// The signal whose counts are also kept under the original `spans_*` names.
const TRACES: &str = "traces";

/// The server's counters plus a collector reading the store's numbers at scrape time.
pub struct Metrics {
    registry: Registry,
    spans_accepted: Family<TransportLabel, Counter>,
    spans_rejected: Family<ReasonLabel, Counter>,
    records_accepted: Family<SignalTransportLabel, Counter>,
    records_rejected: Family<SignalReasonLabel, Counter>,
    requests_rejected: Family<SignalReasonLabel, Counter>,
}

impl Metrics {
    /// Registers every metric; `store` is read on each scrape.
    pub fn new(store: Arc<dyn Store>) -> Metrics {
        let mut m = Metrics {
            registry: Registry::with_prefix("tracehouse"),
            spans_accepted: Family::default(),
            spans_rejected: Family::default(),
            records_accepted: Family::default(),
            records_rejected: Family::default(),
            requests_rejected: Family::default(),
        };
        let r = &mut m.registry;
        r.register(
            "spans_accepted",
            "Spans durably stored",
            m.spans_accepted.clone(),
        );
        r.register(
            "spans_rejected",
            "Spans refused, by reason",
            m.spans_rejected.clone(),
        );
        r.register(
            "records_accepted",
            "Records (spans, log records) durably stored, by signal",
            m.records_accepted.clone(),
        );
        r.register(
            "records_rejected",
            "Records (spans, log records) refused, by signal and reason",
            m.records_rejected.clone(),
        );
        r.register(
            "requests_rejected",
            "Export requests refused before their records could be counted, by signal and reason",
            m.requests_rejected.clone(),
        );
        r.register_collector(Box::new(StoreCollector(store)));
        m
    }

    /// Counts records of a signal (`traces`, `logs`, `metrics`) stored from one request.
    pub fn accepted(&self, signal: &'static str, transport: &'static str, records: u64) {
        self.records_accepted
            .get_or_create(&SignalTransportLabel { signal, transport })
            .inc_by(records);
        if signal == TRACES {
            self.spans_accepted
                .get_or_create(&TransportLabel { transport })
                .inc_by(records);
        }
    }

    /// Counts records of a signal refused for a reason.
    pub fn rejected(&self, signal: &'static str, reason: &'static str, records: u64) {
        if records == 0 {
            return;
        }
        self.records_rejected
            .get_or_create(&SignalReasonLabel { signal, reason })
            .inc_by(records);
        if signal == TRACES {
            self.spans_rejected
                .get_or_create(&ReasonLabel { reason })
                .inc_by(records);
        }
    }

    /// Counts a whole request of a signal refused (malformed, too large, …).
    pub fn request_rejected(&self, signal: &'static str, reason: &'static str) {
        self.requests_rejected
            .get_or_create(&SignalReasonLabel { signal, reason })
            .inc();
    }

    /// The Prometheus text exposition.
    pub fn encode(&self) -> String {
        let mut out = String::new();
        // Writing into a String cannot fail.
        let _ = prometheus_client::encoding::text::encode(&mut out, &self.registry);
        out
    }
}

struct StoreCollector(Arc<dyn Store>);

impl std::fmt::Debug for StoreCollector {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("StoreCollector")
    }
}

impl Collector for StoreCollector {
    fn encode(&self, mut encoder: DescriptorEncoder) -> Result<(), std::fmt::Error> {
        let h = self.0.health();
        let health = [
            StoreMetric::gauge(
                "store_write_failing",
                "Tables whose write-ahead log refuses writes right now (a full disk, say)",
                h.write_failures.len() as f64,
            ),
            StoreMetric::gauge(
                "store_flush_failing",
                "Tables whose last memtable flush failed (retried in the background)",
                h.flush_failures.len() as f64,
            ),
            StoreMetric::gauge(
                "quarantined_parts",
                "Damaged parts set aside in quarantine/; their rows are not served",
                h.quarantined.len() as f64,
            ),
            StoreMetric::gauge(
                "quarantined_rows",
                "Rows held by quarantined parts",
                h.quarantined.iter().map(|q| q.rows).sum::<u64>() as f64,
            ),
        ];
        for m in self.0.metrics().into_iter().chain(health) {
            match m.kind {
                MetricKind::Gauge => {
                    let g = ConstGauge::new(m.value);
                    g.encode(encoder.encode_descriptor(m.name, m.help, None, g.metric_type())?)?;
                }
                MetricKind::Counter => {
                    let c = ConstCounter::new(m.value);
                    c.encode(encoder.encode_descriptor(m.name, m.help, None, c.metric_type())?)?;
                }
            }
        }
        Ok(())
    }
}
