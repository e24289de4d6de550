//! The backend-neutral suite of OTLP metrics, written against the `Store` trait: points of
//! every data-point type in two projects — a cumulative counter whose sender restarts (a
//! reset), a delta sum, a gauge, explicit and exponential histograms and a summary — and
//! the exact answers every backend must give. The embedded store runs it in
//! `crates/engine/tests/otel_metrics.rs`, ClickHouse in `crates/clickhouse/tests/otel_metrics.rs`.

use tracehouse_model::{
    AttrValue, Attributes, Exemplar, ExpBuckets, MetricPoint, MetricType, PointValue, Quantile,
    Temporality, TraceId,
};

use crate::Store;
use crate::otel_metrics::{MetricInfo, MetricNamesQuery, MetricPointsQuery};

/// 2023-11-14T22:00:00Z, an hour boundary.
pub const T0: i64 = 1_699_999_200_000_000_000;
/// One second, ns.
pub const S: i64 = super::testkit::S;
/// The trace of the counter's exemplar.
pub const EXEMPLAR_TRACE: TraceId = TraceId([7; 16]);

fn labels(pairs: &[(&str, &str)]) -> Attributes {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), AttrValue::Str(v.to_string())))
        .collect()
}

/// A point of `name` in `project` at `T0 + at_s` seconds, started at `T0 + start_s`.
pub fn point(
    project: &str,
    name: &str,
    (start_s, at_s): (i64, i64),
    attrs: &[(&str, &str)],
    value: PointValue,
) -> MetricPoint {
    MetricPoint {
        project_id: project.into(),
        name: name.into(),
        description: format!("{name} described"),
        unit: "1".into(),
        service_name: "shop".into(),
        scope_name: "meter".into(),
        start_time_unix_nano: T0 + start_s * S,
        time_unix_nano: T0 + at_s * S,
        attributes: labels(attrs),
        resource_attributes: labels(&[("service.name", "shop")]),
        value,
        exemplars: Vec::new(),
        flags: 0,
    }
}

fn counter(value: f64) -> PointValue {
    PointValue::Sum {
        value,
        temporality: Temporality::Cumulative,
        monotonic: true,
    }
}

fn delta(value: f64) -> PointValue {
    PointValue::Sum {
        value,
        temporality: Temporality::Delta,
        monotonic: true,
    }
}

/// The data set, point by point.
pub fn points() -> Vec<MetricPoint> {
    let get = [("route", "/a")];
    let post = [("route", "/b")];
    let mut with_exemplar = point("p", "http.requests", (0, 20), &get, counter(10.0));
    with_exemplar.exemplars.push(Exemplar {
        time_unix_nano: T0 + 15 * S,
        value: 1.0,
        trace_id: Some(EXEMPLAR_TRACE),
        span_id: None,
        attributes: Attributes::new(),
    });
    let histogram = |count, counts: Vec<u64>, at| {
        let value = PointValue::Histogram {
            temporality: Temporality::Cumulative,
            count,
            sum: Some(count as f64 * 3.0),
            min: None,
            max: None,
            bounds: vec![1.0, 5.0, 10.0],
            counts,
        };
        point("p", "latency", (0, at), &get, value)
    };
    vec![
        // A counter of route /a: 0 → 10 → 25, then its sender restarts (a later start)
        // and counts 5 → 8; route /b counts 4 → 6.
        point("p", "http.requests", (0, 10), &get, counter(0.0)),
        with_exemplar,
        point("p", "http.requests", (0, 30), &get, counter(25.0)),
        point("p", "http.requests", (35, 40), &get, counter(5.0)),
        point("p", "http.requests", (35, 50), &get, counter(8.0)),
        point("p", "http.requests", (0, 10), &post, counter(4.0)),
        point("p", "http.requests", (0, 30), &post, counter(6.0)),
        // Delta sums: each point is its own interval.
        point("p", "jobs.done", (0, 10), &[], delta(3.0)),
        point("p", "jobs.done", (10, 20), &[], delta(4.0)),
        point("p", "jobs.done", (20, 30), &[], delta(5.0)),
        point(
            "p",
            "queue.depth",
            (0, 10),
            &get,
            PointValue::Gauge { value: 2.0 },
        ),
        point(
            "p",
            "queue.depth",
            (0, 20),
            &get,
            PointValue::Gauge { value: 6.0 },
        ),
        point(
            "p",
            "queue.depth",
            (0, 20),
            &post,
            PointValue::Gauge { value: -1.0 },
        ),
        histogram(4, vec![1, 2, 1, 0], 10),
        histogram(10, vec![2, 5, 2, 1], 20),
        point(
            "p",
            "payload.size",
            (0, 10),
            &[],
            PointValue::ExponentialHistogram {
                temporality: Temporality::Delta,
                count: 6,
                sum: Some(30.0),
                min: Some(0.0),
                max: Some(12.0),
                scale: 0,
                zero_count: 1,
                zero_threshold: 0.0,
                positive: ExpBuckets {
                    offset: 1,
                    counts: vec![2, 2, 1],
                },
                negative: ExpBuckets::default(),
            },
        ),
        point(
            "p",
            "gc.pause",
            (0, 10),
            &[],
            PointValue::Summary {
                count: 3,
                sum: 0.6,
                quantiles: vec![Quantile {
                    quantile: 0.5,
                    value: 0.2,
                }],
            },
        ),
        // Another project: the same name, and a name of its own.
        point("q", "http.requests", (0, 10), &get, counter(1000.0)),
        point(
            "q",
            "secret.metric",
            (0, 10),
            &[],
            PointValue::Gauge { value: 1.0 },
        ),
    ]
}

/// Writes the data set in three writes.
pub async fn load(store: &dyn Store) {
    let all = points();
    let (a, rest) = all.split_at(6);
    let (b, c) = rest.split_at(8);
    for batch in [a, b, c] {
        store.write_metric_points(batch.to_vec()).await.unwrap();
    }
}

/// A window of the whole data set, `T0` to `T0 + 1 min`.
pub fn window() -> (i64, i64) {
    (T0, T0 + 60 * S)
}

fn info(name: &str, metric_type: MetricType) -> MetricInfo {
    MetricInfo {
        name: name.into(),
        metric_type,
        unit: "1".into(),
        description: format!("{name} described"),
    }
}

/// Points in a stable order, for comparisons.
fn sorted(mut points: Vec<MetricPoint>) -> Vec<MetricPoint> {
    points.sort_by(|a, b| {
        (a.time_unix_nano, format!("{:?}", a.attributes))
            .cmp(&(b.time_unix_nano, format!("{:?}", b.attributes)))
    });
    points
}

async fn read(
    store: &dyn Store,
    project: &str,
    name: &str,
    window: (i64, i64),
) -> Vec<MetricPoint> {
    let q = MetricPointsQuery {
        project_id: project.into(),
        name: name.into(),
        start_ns: window.0,
        end_ns: window.1,
    };
    sorted(store.metric_points(&q).await.unwrap())
}

/// Checks the stored data: names with their types, every point as written (exemplars
/// included), windows, and that project `q` never leaks into `p`.
pub async fn check_storage(store: &dyn Store, stage: &str) {
    let (start_ns, end_ns) = window();
    let names = store
        .metric_names(&MetricNamesQuery {
            project_id: "p".into(),
            start_ns,
            end_ns,
        })
        .await
        .unwrap();
    assert_eq!(
        names,
        vec![
            info("gc.pause", MetricType::Summary),
            info("http.requests", MetricType::Sum),
            info("jobs.done", MetricType::Sum),
            info("latency", MetricType::Histogram),
            info("payload.size", MetricType::ExponentialHistogram),
            info("queue.depth", MetricType::Gauge),
        ],
        "{stage}: names of p"
    );
    for name in [
        "http.requests",
        "jobs.done",
        "latency",
        "payload.size",
        "gc.pause",
    ] {
        let expected: Vec<MetricPoint> = points()
            .into_iter()
            .filter(|pt| pt.project_id == "p" && pt.name == name)
            .collect();
        assert_eq!(
            read(store, "p", name, window()).await,
            sorted(expected),
            "{stage}: {name}"
        );
    }
    let later = read(store, "p", "http.requests", (T0 + 30 * S, end_ns)).await;
    let times: Vec<i64> = later.iter().map(|p| (p.time_unix_nano - T0) / S).collect();
    assert_eq!(
        times,
        vec![30, 30, 40, 50],
        "{stage}: the window bounds the points"
    );
    assert!(
        read(store, "p", "secret.metric", window()).await.is_empty(),
        "{stage}: leak"
    );
    let q = read(store, "q", "http.requests", window()).await;
    assert_eq!(q.len(), 1, "{stage}: q's own point");
}
