//! Prometheus metrics about tracehouse itself, served at `/metrics`.

use std::sync::Arc;

use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeLabelSet, EncodeMetric};
use prometheus_client::metrics::counter::{ConstCounter, Counter};
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::ConstGauge;
use prometheus_client::registry::Registry;
use tracehouse_store::Store;

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

/// The server's counters plus a collector reading the store's numbers at scrape time.
pub struct Metrics {
    registry: Registry,
    spans_accepted: Family<TransportLabel, Counter>,
    spans_rejected: Family<ReasonLabel, Counter>,
    requests_rejected: Family<ReasonLabel, Counter>,
}

impl Metrics {
    /// Registers every metric; `store` is read on each scrape.
    pub fn new(store: Arc<dyn Store>) -> Metrics {
        let mut registry = Registry::with_prefix("tracehouse");
        let spans_accepted = Family::<TransportLabel, Counter>::default();
        let spans_rejected = Family::<ReasonLabel, Counter>::default();
        let requests_rejected = Family::<ReasonLabel, Counter>::default();
        registry.register(
            "spans_accepted",
            "Spans durably stored",
            spans_accepted.clone(),
        );
        registry.register(
            "spans_rejected",
            "Spans refused, by reason",
            spans_rejected.clone(),
        );
        registry.register(
            "requests_rejected",
            "Export requests refused before their spans could be counted, by reason",
            requests_rejected.clone(),
        );
        registry.register_collector(Box::new(StoreCollector(store)));
        Metrics {
            registry,
            spans_accepted,
            spans_rejected,
            requests_rejected,
        }
    }

    /// Counts spans stored from one request.
    pub fn accepted(&self, transport: &'static str, spans: u64) {
        self.spans_accepted
            .get_or_create(&TransportLabel { transport })
            .inc_by(spans);
    }

    /// Counts spans refused for a reason.
    pub fn rejected(&self, reason: &'static str, spans: u64) {
        if spans > 0 {
            self.spans_rejected
                .get_or_create(&ReasonLabel { reason })
                .inc_by(spans);
        }
    }

    /// Counts a whole request refused (malformed, too large, …).
    pub fn request_rejected(&self, reason: &'static str) {
        self.requests_rejected
            .get_or_create(&ReasonLabel { reason })
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
        let s = self.0.stats();
        let gauges: [(&str, &str, i64); 5] = [
            (
                "wal_bytes",
                "Bytes in the write-ahead log",
                s.wal_bytes as i64,
            ),
            (
                "memtable_rows",
                "Rows in the memtable, not yet in parts",
                s.memtable_rows as i64,
            ),
            ("parts", "Live Parquet parts", s.parts as i64),
            ("part_rows", "Rows in live parts", s.part_rows as i64),
            (
                "part_bytes",
                "Bytes of live parts on disk",
                s.part_bytes as i64,
            ),
        ];
        for (name, help, value) in gauges {
            let g = ConstGauge::new(value);
            g.encode(encoder.encode_descriptor(name, help, None, g.metric_type())?)?;
        }
        let counters: [(&str, &str, f64); 4] = [
            ("flushes", "Memtable flushes", s.flushes as f64),
            (
                "flush_seconds",
                "Time spent flushing the memtable",
                s.flush_seconds,
            ),
            ("compactions", "Part compactions", s.compactions as f64),
            (
                "compaction_seconds",
                "Time spent compacting parts",
                s.compaction_seconds,
            ),
        ];
        for (name, help, value) in counters {
            let c = ConstCounter::new(value);
            c.encode(encoder.encode_descriptor(name, help, None, c.metric_type())?)?;
        }
        Ok(())
    }
}
