//! Deterministic OTLP metrics of the shop's application services, as their SDKs export
//! them: every instance exports, at each interval, a cumulative request counter
//! ([`REQUESTS_METRIC`]) and a cumulative explicit-bucket histogram of request durations in
//! seconds ([`DURATION_METRIC`]), one series of each per route, method and status code.
//!
//! Series are numbered: series `j` is service `j % 6` (frontend, cart, checkout, payment,
//! shipping, email), route `j / 6 % 5` of that service, status code `j / 30 % 5` and
//! instance `j / 150`, so any number of series has realistic label sets (1,000 series are
//! 7 instances of each service, the last one partly). Requests arrive as a Poisson process
//! at the route's rate times the status code's share; each request's duration is lognormal
//! around the route's median. Instances started six hours before the generator's start
//! (their first points are baselines) and instance 1 of each service restarts an hour in:
//! its series start again from zero with a new start time, as after a crash. The same seed
//! gives the same data.

use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
use opentelemetry_proto::tonic::common::v1::{InstrumentationScope, KeyValue};
use opentelemetry_proto::tonic::metrics::v1::{
    AggregationTemporality, HistogramDataPoint, Metric, NumberDataPoint, ResourceMetrics,
    ScopeMetrics, Sum, metric, number_data_point,
};
use opentelemetry_proto::tonic::resource::v1::Resource;
use rand::SeedableRng;
use rand::rngs::StdRng;
use rand_distr::{Distribution, LogNormal, Poisson};

use crate::shop::{SERVICES, i, s};

/// The request counter: a monotonic cumulative sum.
pub const REQUESTS_METRIC: &str = "http.server.requests";
/// The request duration histogram, in seconds, with explicit buckets.
pub const DURATION_METRIC: &str = "http.server.request.duration";

/// An hour, ns.
const HOUR_NS: i64 = 3_600_000_000_000;

/// Bucket bounds of the duration histogram, s (OpenTelemetry's semantic conventions' advice
/// for `http.server.request.duration`).
const BOUNDS: [f64; 14] = [
    0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5, 10.0,
];

/// Status codes and their share of a route's requests.
const STATUSES: [(i64, f64); 5] = [
    (200, 0.85),
    (304, 0.05),
    (400, 0.04),
    (404, 0.04),
    (500, 0.02),
];

/// A route of a service: template, method, requests per second per instance, median
/// duration in ms.
type Route = (&'static str, &'static str, f64, f64);

/// The application services (the first six of [`SERVICES`]) and their routes.
const ROUTES: [[Route; 5]; 6] = [
    [
        ("/", "GET", 4.0, 40.0),
        ("/product/{id}", "GET", 6.0, 60.0),
        ("/cart", "GET", 2.0, 30.0),
        ("/cart/add", "POST", 1.0, 45.0),
        ("/checkout", "POST", 0.3, 250.0),
    ],
    [
        ("/cart/{user_id}", "GET", 2.5, 8.0),
        ("/cart/{user_id}/items", "POST", 1.0, 12.0),
        ("/cart/{user_id}/items/{sku}", "DELETE", 0.2, 10.0),
        ("/cart/{user_id}/total", "GET", 0.4, 6.0),
        ("/health", "GET", 0.2, 1.0),
    ],
    [
        ("/orders", "POST", 0.3, 200.0),
        ("/orders/{id}", "GET", 0.6, 15.0),
        ("/orders/{id}/cancel", "POST", 0.02, 40.0),
        ("/quotes", "POST", 0.5, 30.0),
        ("/health", "GET", 0.2, 1.0),
    ],
    [
        ("/charges", "POST", 0.3, 120.0),
        ("/charges/{id}", "GET", 0.2, 10.0),
        ("/refunds", "POST", 0.01, 90.0),
        ("/methods", "GET", 0.3, 12.0),
        ("/health", "GET", 0.2, 1.0),
    ],
    [
        ("/quotes", "POST", 0.5, 25.0),
        ("/shipments", "POST", 0.3, 60.0),
        ("/shipments/{id}", "GET", 0.4, 10.0),
        ("/tracking/{code}", "GET", 0.8, 20.0),
        ("/health", "GET", 0.2, 1.0),
    ],
    [
        ("/send/confirmation", "POST", 0.3, 80.0),
        ("/send/shipped", "POST", 0.3, 80.0),
        ("/send/receipt", "POST", 0.3, 70.0),
        ("/templates", "GET", 0.1, 5.0),
        ("/health", "GET", 0.2, 1.0),
    ],
];

/// One series' labels and what it counted since its instance started.
struct Series {
    service: usize,
    instance: usize,
    route: Route,
    status: i64,
    /// Requests per second.
    rate: f64,
    durations: LogNormal<f64>,
    start_ns: i64,
    count: u64,
    sum: f64,
    buckets: [u64; BOUNDS.len() + 1],
}

impl Series {
    fn new(j: usize, start_ns: i64) -> Series {
        let (service, route, status) = (j % 6, j / 6 % 5, j / 30 % 5);
        let route = ROUTES[service][route];
        let (status, share) = STATUSES[status];
        Series {
            service,
            instance: j / 150,
            route,
            status,
            rate: route.2 * share,
            durations: LogNormal::new((route.3 / 1000.0).ln(), 0.6)
                .unwrap_or_else(|_| unreachable!("the medians are positive")),
            start_ns,
            count: 0,
            sum: 0.0,
            buckets: [0; BOUNDS.len() + 1],
        }
    }

    /// Starts counting again from zero at `start_ns` (the instance restarted).
    fn restart(&mut self, start_ns: i64) {
        *self = Series {
            start_ns,
            count: 0,
            sum: 0.0,
            buckets: [0; BOUNDS.len() + 1],
            ..*self
        };
    }

    /// Counts the requests of `secs` seconds.
    fn serve(&mut self, rng: &mut StdRng, secs: f64) {
        let n = Poisson::new(self.rate * secs).map_or(0.0, |p| p.sample(rng)) as u64;
        for _ in 0..n {
            let d = self.durations.sample(rng);
            self.sum += d;
            self.buckets[BOUNDS.partition_point(|b| *b < d)] += 1;
        }
        self.count += n;
    }

    fn attributes(&self) -> Vec<KeyValue> {
        vec![
            s("http.route", self.route.0),
            s("http.request.method", self.route.1),
            i("http.response.status_code", self.status),
        ]
    }

    fn counter_point(&self, time_ns: i64) -> NumberDataPoint {
        NumberDataPoint {
            attributes: self.attributes(),
            start_time_unix_nano: self.start_ns as u64,
            time_unix_nano: time_ns as u64,
            value: Some(number_data_point::Value::AsInt(self.count as i64)),
            ..Default::default()
        }
    }

    fn histogram_point(&self, time_ns: i64) -> HistogramDataPoint {
        HistogramDataPoint {
            attributes: self.attributes(),
            start_time_unix_nano: self.start_ns as u64,
            time_unix_nano: time_ns as u64,
            count: self.count,
            sum: Some(self.sum),
            bucket_counts: self.buckets.to_vec(),
            explicit_bounds: BOUNDS.to_vec(),
            ..Default::default()
        }
    }
}

/// The shop's metrics, export after export.
pub struct MetricsGenerator {
    rng: StdRng,
    series: Vec<Series>,
    /// Time of the previous export, ns.
    last_ns: i64,
    /// When instance 1 of each service restarts, ns (`None` once it did).
    restart_ns: Option<i64>,
}

impl MetricsGenerator {
    /// `series` series of each metric, counting from `start_ns` on.
    pub fn new(seed: u64, series: usize, start_ns: i64) -> MetricsGenerator {
        let started = start_ns - 6 * HOUR_NS;
        MetricsGenerator {
            rng: StdRng::seed_from_u64(seed ^ 0x6d65_7472_6963),
            series: (0..series).map(|j| Series::new(j, started)).collect(),
            last_ns: start_ns,
            restart_ns: Some(start_ns + HOUR_NS),
        }
    }

    /// Series of each metric.
    pub fn series(&self) -> usize {
        self.series.len()
    }

    /// Every instance's export at `time_ns` (after the previous one) in one request, as a
    /// collector batches them: one counter and one histogram point per series.
    pub fn request(&mut self, time_ns: i64) -> ExportMetricsServiceRequest {
        let secs = (time_ns - self.last_ns).max(0) as f64 / 1e9;
        self.last_ns = time_ns;
        let restart = self.restart_ns.filter(|r| *r <= time_ns);
        for series in &mut self.series {
            if let Some(at) = restart.filter(|_| series.instance == 1) {
                series.restart(at);
            }
            series.serve(&mut self.rng, secs);
        }
        if restart.is_some() {
            self.restart_ns = None;
        }
        let mut instances: Vec<(usize, usize)> = self
            .series
            .iter()
            .map(|s| (s.service, s.instance))
            .collect();
        instances.sort_unstable();
        instances.dedup();
        let resource_metrics = instances
            .into_iter()
            .map(|(service, instance)| self.resource_metrics(service, instance, time_ns))
            .collect();
        ExportMetricsServiceRequest { resource_metrics }
    }

    /// One instance's export.
    fn resource_metrics(&self, service: usize, instance: usize, time_ns: i64) -> ResourceMetrics {
        let mine: Vec<&Series> = self
            .series
            .iter()
            .filter(|s| s.service == service && s.instance == instance)
            .collect();
        let name = SERVICES[service];
        let counter = Metric {
            name: REQUESTS_METRIC.into(),
            description: "HTTP requests served.".into(),
            unit: "{request}".into(),
            data: Some(metric::Data::Sum(Sum {
                data_points: mine.iter().map(|s| s.counter_point(time_ns)).collect(),
                aggregation_temporality: AggregationTemporality::Cumulative as i32,
                is_monotonic: true,
            })),
            ..Default::default()
        };
        let histogram = Metric {
            name: DURATION_METRIC.into(),
            description: "Duration of HTTP server requests.".into(),
            unit: "s".into(),
            data: Some(metric::Data::Histogram(
                opentelemetry_proto::tonic::metrics::v1::Histogram {
                    data_points: mine.iter().map(|s| s.histogram_point(time_ns)).collect(),
                    aggregation_temporality: AggregationTemporality::Cumulative as i32,
                },
            )),
            ..Default::default()
        };
        ResourceMetrics {
            resource: Some(Resource {
                attributes: vec![
                    s("service.name", name),
                    s("service.instance.id", format!("{name}-{instance}")),
                    s("service.version", format!("1.{service}.0")),
                    s("deployment.environment.name", "production"),
                    s("host.name", format!("{name}-{}", instance % 3)),
                    s("telemetry.sdk.name", "opentelemetry"),
                    s("telemetry.sdk.language", "rust"),
                ],
                ..Default::default()
            }),
            scope_metrics: vec![ScopeMetrics {
                scope: Some(InstrumentationScope {
                    name: "tracehouse-shop".into(),
                    version: "1.0".into(),
                    ..Default::default()
                }),
                metrics: vec![counter, histogram],
                ..Default::default()
            }],
            ..Default::default()
        }
    }
}

/// Data points in a request.
pub fn data_points(req: &ExportMetricsServiceRequest) -> usize {
    req.resource_metrics
        .iter()
        .flat_map(|r| &r.scope_metrics)
        .flat_map(|s| &s.metrics)
        .map(|m| match &m.data {
            Some(metric::Data::Sum(d)) => d.data_points.len(),
            Some(metric::Data::Gauge(d)) => d.data_points.len(),
            Some(metric::Data::Histogram(d)) => d.data_points.len(),
            Some(metric::Data::ExponentialHistogram(d)) => d.data_points.len(),
            Some(metric::Data::Summary(d)) => d.data_points.len(),
            None => 0,
        })
        .sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn counts(req: &ExportMetricsServiceRequest) -> Vec<(String, i64)> {
        req.resource_metrics
            .iter()
            .flat_map(|r| {
                let id = r.resource.as_ref().map(|r| &r.attributes[1]);
                let id = format!("{:?}", id.and_then(|kv| kv.value.clone()));
                r.scope_metrics[0].metrics.iter().filter_map(move |m| {
                    let Some(metric::Data::Sum(sum)) = &m.data else {
                        return None;
                    };
                    let total = sum
                        .data_points
                        .iter()
                        .map(|p| match p.value {
                            Some(number_data_point::Value::AsInt(v)) => v,
                            _ => 0,
                        })
                        .sum();
                    Some((id.clone(), total))
                })
            })
            .collect()
    }

    #[test]
    fn series_have_distinct_label_sets_and_the_same_seed_gives_the_same_data() {
        let start = 1_700_000_000_000_000_000;
        let mut a = MetricsGenerator::new(7, 1_000, start);
        let mut b = MetricsGenerator::new(7, 1_000, start);
        let (ra, rb) = (
            a.request(start + 60_000_000_000),
            b.request(start + 60_000_000_000),
        );
        assert_eq!(ra, rb);
        assert_eq!(data_points(&ra), 2_000);
        let mut keys: Vec<String> = a
            .series
            .iter()
            .map(|s| format!("{} {} {:?} {}", s.service, s.instance, s.route, s.status))
            .collect();
        keys.sort();
        keys.dedup();
        assert_eq!(keys.len(), 1_000);
        assert_eq!(ra.resource_metrics.len(), 6 * 7);
    }

    #[test]
    fn counters_grow_and_histograms_add_up_until_instance_1_restarts() {
        let start = 1_700_000_000_000_000_000;
        let minute = 60_000_000_000;
        let mut g = MetricsGenerator::new(1, 300, start);
        let mut before = counts(&g.request(start + minute));
        for k in 2..=59 {
            let now = counts(&g.request(start + k * minute));
            for ((id, a), (_, b)) in before.iter().zip(&now) {
                assert!(b >= a, "{id}: {a} then {b}");
            }
            before = now;
        }
        let after = g.request(start + 61 * minute);
        let restarted = counts(&after);
        for ((id, a), (_, b)) in before.iter().zip(&restarted) {
            if id.contains("-1\"") {
                assert!(b < a, "{id} restarted: {a} then {b}");
            } else {
                assert!(b >= a, "{id}: {a} then {b}");
            }
        }
        for p in after
            .resource_metrics
            .iter()
            .flat_map(|r| &r.scope_metrics[0].metrics)
            .filter_map(|m| match &m.data {
                Some(metric::Data::Histogram(h)) => Some(&h.data_points),
                _ => None,
            })
            .flatten()
        {
            assert_eq!(p.bucket_counts.iter().sum::<u64>(), p.count);
            assert_eq!(p.bucket_counts.len(), p.explicit_bounds.len() + 1);
        }
    }
}
