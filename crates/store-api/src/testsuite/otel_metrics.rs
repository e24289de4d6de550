//! The backend-neutral suite of OTLP metrics, written against the `Store` trait: points of
//! every data-point type in two projects — a cumulative counter whose sender restarts (a
//! reset), a delta sum, a gauge, explicit and exponential histograms and a summary — and
//! the exact answers every backend must give: what is stored ([`check_storage`]) and the
//! functions over it, computed by hand ([`check_queries`]). The embedded store runs it in
//! `crates/engine/tests/otel_metrics.rs`, ClickHouse in `crates/clickhouse/tests/otel_metrics.rs`.

use tracehouse_model::{
    AttrValue, Attributes, Exemplar, ExpBuckets, MetricPoint, MetricType, PointValue, Quantile,
    Temporality, TraceId,
};

use crate::Store;
use crate::otel_metrics::query::{MetricFn, OtelMetricsAnswer, OtelMetricsQuery, otel_metrics};
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
        resource_attributes: labels(&[("service.name", "shop")]).into(),
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

/// `p` as sent by another service.
fn of_service(mut p: MetricPoint, service: &str) -> MetricPoint {
    p.service_name = service.into();
    p.resource_attributes = labels(&[("service.name", service)]).into();
    p
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
        // Another service's metric, and its point of a metric the shop has too.
        of_service(
            point("p", "invoices", (0, 10), &[], counter(2.0)),
            "billing",
        ),
        of_service(
            point(
                "p",
                "gc.pause",
                (0, 5),
                &[],
                PointValue::Summary {
                    count: 1,
                    sum: 0.1,
                    quantiles: Vec::new(),
                },
            ),
            "billing",
        ),
        // Project b: a counter started two minutes before the window, 100 half a minute
        // before it (a baseline), 110 and 130 in it; a gauge point before the window.
        point("b", "orders", (-120, -30), &[], counter(100.0)),
        point("b", "orders", (-120, 10), &[], counter(110.0)),
        point("b", "orders", (-120, 30), &[], counter(130.0)),
        point(
            "b",
            "stock",
            (0, -30),
            &[],
            PointValue::Gauge { value: 9.0 },
        ),
        point("b", "stock", (0, 10), &[], PointValue::Gauge { value: 7.0 }),
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

/// The names of a project's metrics in the whole window (of one service).
async fn names(store: &dyn Store, project: &str, service: Option<&str>) -> Vec<MetricInfo> {
    let (start_ns, end_ns) = window();
    store
        .metric_names(&MetricNamesQuery {
            project_id: project.into(),
            start_ns,
            end_ns,
            service: service.map(String::from),
        })
        .await
        .unwrap()
}

/// Points in a stable order, for comparisons.
fn sorted(mut points: Vec<MetricPoint>) -> Vec<MetricPoint> {
    points.sort_by(|a, b| {
        (a.time_unix_nano, format!("{:?}", a.attributes))
            .cmp(&(b.time_unix_nano, format!("{:?}", b.attributes)))
    });
    points
}

/// The points of `name` in the window that match the label filter `filter` (query
/// language text).
async fn read_matching(
    store: &dyn Store,
    (project, name): (&str, &str),
    window: (i64, i64),
    filter: &str,
) -> Vec<MetricPoint> {
    let q = MetricPointsQuery {
        project_id: project.into(),
        name: name.into(),
        start_ns: window.0,
        end_ns: window.1,
        filter: label_filter(filter),
    };
    sorted(store.metric_points(&q).await.unwrap())
}

async fn read(
    store: &dyn Store,
    project: &str,
    name: &str,
    window: (i64, i64),
) -> Vec<MetricPoint> {
    read_matching(store, (project, name), window, "").await
}

/// A label filter in the query language, as the API plans it.
fn label_filter(text: &str) -> tracehouse_query::Filter {
    tracehouse_query::plan::plan_for(
        &tracehouse_query::parse(text).unwrap(),
        tracehouse_query::Target::Spans,
    )
    .pushdown
}

/// Checks the stored data: names with their types, every point as written (exemplars
/// included), windows, and that project `q` never leaks into `p`.
pub async fn check_storage(store: &dyn Store, stage: &str) {
    let (_, end_ns) = window();
    let shop = vec![
        info("gc.pause", MetricType::Summary),
        info("http.requests", MetricType::Sum),
        info("jobs.done", MetricType::Sum),
        info("latency", MetricType::Histogram),
        info("payload.size", MetricType::ExponentialHistogram),
        info("queue.depth", MetricType::Gauge),
    ];
    let mut all = shop.clone();
    all.insert(2, info("invoices", MetricType::Sum));
    assert_eq!(names(store, "p", None).await, all, "{stage}: names of p");
    assert_eq!(
        names(store, "p", Some("shop")).await,
        shop,
        "{stage}: names of p's shop"
    );
    let billing = vec![
        info("gc.pause", MetricType::Summary),
        info("invoices", MetricType::Sum),
    ];
    assert_eq!(
        names(store, "p", Some("billing")).await,
        billing,
        "{stage}: names of p's billing"
    );
    assert_eq!(
        names(store, "q", Some("billing")).await,
        vec![],
        "{stage}: no leak by service"
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
    // Label filters apply in the read: the points of route /b only, of the service only.
    let b = read_matching(store, ("p", "http.requests"), window(), "route:/b").await;
    let times: Vec<i64> = b.iter().map(|p| (p.time_unix_nano - T0) / S).collect();
    assert_eq!(times, vec![10, 30], "{stage}: a label filter in the read");
    let none = read_matching(store, ("p", "http.requests"), window(), "service:other").await;
    assert!(none.is_empty(), "{stage}: a service filter in the read");
}

fn metrics_query(name: &str, function: &str, by: &[&str], filter: &str) -> OtelMetricsQuery {
    project_query("p", name, function, by, filter)
}

fn project_query(
    project: &str,
    name: &str,
    function: &str,
    by: &[&str],
    filter: &str,
) -> OtelMetricsQuery {
    let (start_ns, end_ns) = window();
    OtelMetricsQuery {
        project_id: project.into(),
        metric: name.into(),
        filter: label_filter(filter),
        function: MetricFn::parse(function).unwrap(),
        by: by.iter().map(|b| b.to_string()).collect(),
        start_ns,
        end_ns,
        step_ns: 20 * S,
    }
    .aligned()
    .unwrap()
}

async fn run(store: &dyn Store, q: &OtelMetricsQuery) -> OtelMetricsAnswer {
    otel_metrics(store, q).await.unwrap()
}

/// `(labels, [(step offset s, value)], total)` of each series, for comparisons.
type Shape = Vec<(Vec<String>, Vec<(i64, Option<f64>)>, Option<f64>)>;

fn shape(a: &OtelMetricsAnswer) -> Shape {
    a.series
        .iter()
        .map(|s| {
            (
                s.labels.values().cloned().collect(),
                s.points.iter().map(|(t, v)| ((t - T0) / S, *v)).collect(),
                s.total,
            )
        })
        .collect()
}

fn labels_of(values: &[&str]) -> Vec<String> {
    values.iter().map(|v| v.to_string()).collect()
}

/// Checks the functions against hand-computed answers (steps of 20 s from `T0`): counter
/// increases and rates across a reset, delta sums, gauges, explicit and exponential
/// percentiles, label filters and `by`, exemplars with their points, and refusals.
pub async fn check_queries(store: &dyn Store) {
    // Route /a counts 0@10, 10@20, 25@30, then restarts at 35: 5@40, 8@50; /b 4@10, 6@30.
    // Both started at T0, in the window, so their first points count from zero.
    let q = metrics_query("http.requests", "increase", &["route"], "");
    assert_eq!(
        shape(&run(store, &q).await),
        vec![
            (
                labels_of(&["/a"]),
                vec![(0, Some(0.0)), (20, Some(25.0)), (40, Some(8.0))],
                Some(33.0)
            ),
            (
                labels_of(&["/b"]),
                vec![(0, Some(4.0)), (20, Some(2.0))],
                Some(6.0)
            ),
        ],
        "increase by route, across the reset"
    );
    let rate = run(store, &metrics_query("http.requests", "rate", &[], "")).await;
    assert_eq!(
        shape(&rate),
        vec![(
            vec![],
            vec![(0, Some(0.2)), (20, Some(27.0 / 20.0)), (40, Some(0.4))],
            Some(39.0 / 60.0)
        )],
        "rate of all series"
    );
    let a = run(
        store,
        &metrics_query("http.requests", "increase", &[], "route:/b"),
    )
    .await;
    assert_eq!(a.series[0].total, Some(6.0), "a label filter");
    let exemplars = &rate.series[0].exemplars;
    assert_eq!(exemplars.len(), 1);
    assert_eq!(
        (exemplars[0].t, exemplars[0].trace_id),
        (T0 + 20 * S, Some(EXEMPLAR_TRACE))
    );
    assert_eq!(rate.metric_type, Some(MetricType::Sum));

    let jobs = run(store, &metrics_query("jobs.done", "sum", &[], "")).await;
    assert_eq!(
        shape(&jobs),
        vec![(vec![], vec![(0, Some(3.0)), (20, Some(9.0))], Some(12.0))],
        "delta sums add up per step"
    );
    let jobs = run(store, &metrics_query("jobs.done", "rate", &[], "")).await;
    assert_eq!(jobs.series[0].total, Some(12.0 / 60.0));

    for (function, total) in [
        ("avg", 2.5),
        ("sum", 5.0),
        ("min", -1.0),
        ("max", 6.0),
        ("count", 2.0),
    ] {
        let g = run(store, &metrics_query("queue.depth", function, &[], "")).await;
        assert_eq!(
            g.series[0].total,
            Some(total),
            "gauge {function}: last values"
        );
    }
    let g = run(store, &metrics_query("queue.depth", "avg", &[], "")).await;
    assert_eq!(
        shape(&g)[0].1,
        vec![(0, Some(2.0)), (20, Some(2.5))],
        "step 0 holds /a's 2 only; step 20 /a's 6 and /b's -1"
    );

    // Latency: [1, 2, 1, 0] then [2, 5, 2, 1] in buckets (-inf, 1], (1, 5], (5, 10], (10, inf).
    let p50 = run(store, &metrics_query("latency", "p50", &[], "")).await;
    assert_eq!(
        shape(&p50),
        vec![(
            vec![],
            vec![
                (0, Some(1.0 + 4.0 * 1.0 / 2.0)),
                (20, Some(1.0 + 4.0 * 2.0 / 3.0))
            ],
            Some(1.0 + 4.0 * 3.0 / 5.0)
        )],
        "explicit percentiles of each step's increase and of the window"
    );
    let count = run(store, &metrics_query("latency", "count", &[], "")).await;
    assert_eq!(count.series[0].total, Some(10.0));
    // Payload size: zero bucket 1, (2, 4] 2, (4, 8] 2, (8, 16] 1.
    let p90 = run(store, &metrics_query("payload.size", "p90", &[], "")).await;
    let p90 = p90.series[0].total.unwrap();
    assert!(
        (p90 - 11.2).abs() < 1e-9,
        "p90 {p90}: 8 + 8 × 0.4 in (8, 16]"
    );
    let p50 = run(store, &metrics_query("payload.size", "p50", &[], "")).await;
    assert_eq!(p50.series[0].total, Some(4.0));
    let avg = run(store, &metrics_query("payload.size", "avg", &[], "")).await;
    assert_eq!(avg.series[0].total, Some(5.0));

    // Project b's counter started before the window: its first increase counts from its
    // point of before the window; that point counts for nothing else.
    let orders = run(store, &project_query("b", "orders", "increase", &[], "")).await;
    assert_eq!(
        shape(&orders),
        vec![(vec![], vec![(0, Some(10.0)), (20, Some(20.0))], Some(30.0))],
        "the first step's increase from the baseline before the window"
    );
    assert_eq!(
        orders.series[0].count, 2,
        "the baseline is not a point of the window"
    );
    let rate = run(store, &project_query("b", "orders", "rate", &[], "")).await;
    assert_eq!(rate.series[0].points[0].1, Some(10.0 / 20.0));
    let stock = run(store, &project_query("b", "stock", "min", &[], "")).await;
    assert_eq!(
        shape(&stock),
        vec![(vec![], vec![(0, Some(7.0))], Some(7.0))],
        "a gauge's point before the window is not read"
    );

    let refused = otel_metrics(store, &metrics_query("queue.depth", "rate", &[], "")).await;
    let message = refused.unwrap_err().to_string();
    assert!(message.contains("does not apply to a gauge"), "{message}");
    let none = run(store, &metrics_query("secret.metric", "avg", &[], "")).await;
    assert!(none.series.is_empty(), "another project's metric");
}
