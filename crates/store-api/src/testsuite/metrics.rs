//! The span metrics suite: a hand-built data set over three hours and the metrics every
//! backend must answer for it, computed here by brute force over the spans (with the query
//! crate's evaluator, not the cells): counts, errors, minimum, maximum and sum exact, each
//! percentile within the sketch's relative error of the value at its rank — from the cells
//! kept at ingest and, for attribute filters, keys and values, from a scan. The embedded
//! store runs it in `crates/engine/tests/metrics.rs` (memtable, parts, compaction, restart,
//! retention), ClickHouse in `crates/clickhouse/tests/metrics.rs`.

use std::collections::BTreeMap;

use tracehouse_model::{AttrValue, Span, SpanId, SpanKind, StatusCode, TraceId};
use tracehouse_query::eval::matches;
use tracehouse_query::{parse, plan};

use super::testkit::{self, S};
use crate::metrics::compare::{CompareQuery, Side, compare};
use crate::metrics::scan::log2_histogram;
use crate::metrics::{
    MAX_POINTS, MetricKey, MetricPoint, MetricSource, MetricValue, PERCENTILES,
    SKETCH_RELATIVE_ERROR, SpanMetricsAnswer, SpanMetricsQuery,
};
use crate::stats::MINUTE_NS;
use crate::value::{SpanRef, eval_value};
use crate::{Store, StoreError};

/// 2023-11-14T22:00:00Z, an hour boundary in the middle of the data set.
pub const T0: i64 = 1_699_999_200_000_000_000;
/// One hour in ns.
pub const HOUR: i64 = 60 * MINUTE_NS;
/// Start of the data set: 90 minutes before [`T0`].
pub const START: i64 = T0 - 90 * MINUTE_NS;
/// End of the data set: 90 minutes after [`T0`].
pub const END: i64 = T0 + 90 * MINUTE_NS;

const SERVICES: [(&str, &[&str]); 4] = [
    ("frontend", &["GET /", "GET /cart", "POST /checkout"]),
    ("cart", &["GetCart", "AddItem"]),
    ("payment", &["Charge"]),
    ("db-proxy", &["query", "connect"]),
];

/// The data set: [`data_of`] 720 spans, one every 15 s.
pub fn data() -> Vec<Span> {
    data_of(720)
}

/// `n` spans of project `p`, evenly from [`START`] to [`END`], spread over
/// services, span names, kinds and statuses, with durations over four decades, an
/// `http.method` on the frontend's spans and a numeric `size` on two spans in three; plus
/// spans of project `other` (service `leak`) at the same times, which no answer may show.
pub fn data_of(n: i64) -> Vec<Span> {
    let every = (END - START) / n.max(1);
    let mut out = Vec::new();
    for i in 0..n {
        let (service, names) = SERVICES[(i % 4) as usize];
        let name = names[((i / 4) % names.len() as i64) as usize];
        let kind = [SpanKind::Server, SpanKind::Client, SpanKind::Internal][(i % 3) as usize];
        let status = match i % 7 {
            0 => StatusCode::Error,
            1 | 2 => StatusCode::Unset,
            _ => StatusCode::Ok,
        };
        // Durations from 100 µs to about 1 s, not in any order.
        let duration = 100_000 + (i * 7_919 % 997) * (i % 11 + 1) * 90_000;
        let mut s = testkit::span(
            TraceId([(i % 251) as u8 + 1; 16]),
            SpanId((i as u64 + 1).to_be_bytes()),
            START + i * every + (i % 13) * 1_000_000,
            duration,
        );
        s.service_name = service.into();
        s.name = name.into();
        s.kind = kind;
        s.status_code = status;
        s.has_error = status == StatusCode::Error || i % 29 == 0;
        if let Some(method) = name.split(' ').next().filter(|_| service == "frontend") {
            s.attributes
                .insert("http.method".into(), AttrValue::Str(method.into()));
        }
        if i % 3 != 0 {
            s.attributes
                .insert("size".into(), AttrValue::Int(i * 37 % 5_000 + 1));
        }
        out.push(s);
        if i % 5 == 0 {
            let mut other = out[out.len() - 1].clone();
            other.project_id = "other".into();
            other.service_name = "leak".into();
            out.push(other);
        }
    }
    out
}

/// A metrics query of project `p` measuring durations, split by the keys `by` (as a query
/// names them).
pub fn query(filter: &str, by: &[&str], start: i64, end: i64, step: i64) -> SpanMetricsQuery {
    SpanMetricsQuery {
        project_id: "p".into(),
        plan: plan(&parse(filter).unwrap()),
        start_ns: start,
        end_ns: end,
        step_ns: step,
        by: by.iter().map(|k| MetricKey::named(k)).collect(),
        value: MetricValue::Duration,
    }
}

/// `q` measuring the numeric attribute `size` instead of durations.
pub fn measuring_size(mut q: SpanMetricsQuery) -> SpanMetricsQuery {
    q.value = MetricValue::Field(MetricKey::named("size").field);
    q
}

/// The queries the cells answer: ranges inside one hour, across hour boundaries and
/// unaligned to minutes, filters on each dimension, `by` none, one or several dimensions.
pub fn cell_queries() -> Vec<SpanMetricsQuery> {
    let around_t0 = (T0 - 30 * MINUTE_NS, T0 + 30 * MINUTE_NS);
    vec![
        query("", &["service"], START, END, HOUR),
        query("", &[], START, END, 10 * MINUTE_NS),
        query(
            "kind:server",
            &["service", "name"],
            around_t0.0,
            around_t0.1,
            5 * MINUTE_NS,
        ),
        query(
            "status:error OR service:db*",
            &["status"],
            T0 - 10 * MINUTE_NS + 13 * S,
            T0 + 7 * MINUTE_NS + S,
            MINUTE_NS,
        ),
        query(
            "NOT name:/^GET/",
            &["kind"],
            START + 5 * MINUTE_NS,
            T0 - 5 * MINUTE_NS,
            15 * MINUTE_NS,
        ),
        query(
            "service:(cart OR payment) status!=unset",
            &["service", "kind", "status"],
            START,
            END,
            30 * MINUTE_NS,
        ),
        query("service:nothing", &["service"], START, END, HOUR),
    ]
}

/// The queries a scan answers: attribute filters, `by` attribute keys, a numeric attribute
/// measured.
pub fn scan_queries() -> Vec<SpanMetricsQuery> {
    let hours = (T0 - 40 * MINUTE_NS, T0 + 50 * MINUTE_NS);
    vec![
        query("http.method:GET", &["service"], START, END, 30 * MINUTE_NS),
        query("", &["http.method"], hours.0, hours.1, 10 * MINUTE_NS),
        query("kind:server", &["service", "http.method"], START, END, HOUR),
        measuring_size(query("", &["service"], START, END, HOUR)),
        measuring_size(query(
            "service:frontend",
            &["name"],
            hours.0,
            hours.1,
            5 * MINUTE_NS,
        )),
    ]
}

/// A series by brute force: its labels, then its total and its points as rows of
/// `[t, count, errors, measured, min, max, sum, values at the rank of each percentile…]`.
pub type Expected = (BTreeMap<String, String>, Vec<Vec<i64>>);

/// What a store must answer for `q` over the spans `stored`, by brute force.
pub fn expected(q: &SpanMetricsQuery, stored: &[Span]) -> Vec<Expected> {
    let (first, end) = q.minutes();
    let mut groups: BTreeMap<Vec<String>, Vec<&Span>> = BTreeMap::new();
    for s in stored {
        let minute = s.start_time_unix_nano.div_euclid(MINUTE_NS);
        if s.project_id != q.project_id
            || minute < first
            || minute >= end
            || !matches(&q.plan.pushdown, &SpanRef(s))
        {
            continue;
        }
        let labels = q.by.iter().map(|k| label_of(s, k)).collect();
        groups.entry(labels).or_default().push(s);
    }
    let mut out: Vec<Expected> = groups
        .into_iter()
        .map(|(labels, spans)| {
            let labels = q.by.iter().map(|k| k.label.clone()).zip(labels).collect();
            let mut steps: BTreeMap<i64, Vec<&Span>> = BTreeMap::new();
            for s in &spans {
                let step = q.step_of(s.start_time_unix_nano.div_euclid(MINUTE_NS));
                steps.entry(step).or_default().push(s);
            }
            let mut rows = vec![exact(q, q.grid_start(), &spans)];
            for (step, spans) in steps {
                rows.push(exact(q, q.grid_start() + step * q.step_ns, &spans));
            }
            (labels, rows)
        })
        .collect();
    out.sort_by(|a, b| b.1[0][1].cmp(&a.1[0][1]).then_with(|| a.0.cmp(&b.0)));
    out
}

/// A span's value of a key in the data set (which keeps attributes on spans only).
fn label_of(s: &Span, k: &MetricKey) -> String {
    match k.label.as_str() {
        "service_name" => s.service_name.clone(),
        "span_name" => s.name.clone(),
        "span_kind" => s.kind.as_str().into(),
        "status_code" => s.status_code.as_str().into(),
        key => s
            .attributes
            .get(key)
            .map(|v| eval_value(v).as_text().into_owned())
            .unwrap_or_default(),
    }
}

/// `[t, count, errors, measured, min, max, sum, values at the rank of each percentile…]`.
fn exact(q: &SpanMetricsQuery, t: i64, spans: &[&Span]) -> Vec<i64> {
    let mut v: Vec<i64> = spans
        .iter()
        .filter_map(|s| match &q.value {
            MetricValue::Duration => Some(s.duration_nanos),
            MetricValue::Field(_) => match s.attributes.get("size") {
                Some(AttrValue::Int(v)) => Some(*v),
                _ => None,
            },
        })
        .collect();
    v.sort_unstable();
    let n = v.len();
    let errors = spans.iter().filter(|s| s.has_error).count() as i64;
    let mut row = vec![t, spans.len() as i64, errors, n as i64];
    if n == 0 {
        row.extend([0; 3 + PERCENTILES.len()]);
        return row;
    }
    row.extend([v[0], v[n - 1], v.iter().sum()]);
    row.extend(PERCENTILES.map(|q| v[(q * (n as f64 - 1.0)) as usize]));
    row
}

fn check_point(got: &MetricPoint, want: &[i64], what: &str) {
    let exact = [
        got.t,
        got.count as i64,
        got.errors as i64,
        got.measured as i64,
        got.min as i64,
        got.max as i64,
        got.sum as i64,
    ];
    assert_eq!(
        exact[..],
        want[..7],
        "{what}: t, count, errors, measured, min, max, sum"
    );
    let pct = [got.p50, got.p75, got.p90, got.p95, got.p99];
    for ((q, v), x) in PERCENTILES.iter().zip(pct).zip(&want[7..]) {
        let x = *x as f64;
        assert!(
            (v - x).abs() <= x * SKETCH_RELATIVE_ERROR * 1.0001,
            "{what}: p{} is {v}, exact {x}",
            q * 100.0
        );
    }
}

/// Checks the answer of one query against the brute force over `stored`.
pub fn check_answer(q: &SpanMetricsQuery, got: &SpanMetricsAnswer, stored: &[Span], stage: &str) {
    let want = expected(q, stored);
    let what = format!("{stage}: {:?} by {:?}", q.plan.pushdown, q.by);
    assert_eq!(got.start_ns, q.grid_start(), "{what}");
    assert!(!got.series_truncated, "{what}");
    let labels: Vec<_> = got.series.iter().map(|s| &s.labels).collect();
    let want_labels: Vec<_> = want.iter().map(|w| &w.0).collect();
    assert_eq!(labels, want_labels, "{what}: series");
    for (s, (labels, rows)) in got.series.iter().zip(&want) {
        let what = format!("{what} {labels:?}");
        check_point(&s.total, &rows[0], &format!("{what} total"));
        assert_eq!(s.points.len(), rows.len() - 1, "{what}: points");
        for (p, row) in s.points.iter().zip(&rows[1..]) {
            check_point(p, row, &format!("{what} at {}", p.t));
        }
    }
}

/// Runs every query of [`cell_queries`] and [`scan_queries`], checks it against `stored`
/// (what the store holds) and where its numbers came from.
pub async fn check_all(store: &dyn Store, stored: &[Span], stage: &str) {
    check_queries(store, cell_queries(), MetricSource::Sketches, stored, stage).await;
    check_queries(store, scan_queries(), MetricSource::Scan, stored, stage).await;
    check_scanned(store, stored, stage).await;
}

/// Runs `queries`, checks each against `stored` and that its numbers came from `source`.
pub async fn check_queries(
    store: &dyn Store,
    queries: Vec<SpanMetricsQuery>,
    source: MetricSource,
    stored: &[Span],
    stage: &str,
) {
    for q in queries {
        let got = store.span_metrics(&q).await.unwrap();
        check_answer(&q, &got, stored, stage);
        assert_eq!(
            got.source, source,
            "{stage}: {:?} by {:?}",
            q.plan.pushdown, q.by
        );
    }
}

/// The spans of `q` (project, filter, range) in `stored`, with their step.
fn in_query<'a>(
    q: &'a SpanMetricsQuery,
    stored: &'a [Span],
) -> impl Iterator<Item = (i64, &'a Span)> {
    let (first, end) = q.minutes();
    stored.iter().filter_map(move |s| {
        let minute = s.start_time_unix_nano.div_euclid(MINUTE_NS);
        (s.project_id == q.project_id
            && (first..end).contains(&minute)
            && matches(&q.plan.pushdown, &SpanRef(s)))
        .then(|| (q.step_of(minute), s))
    })
}

/// The scans of TraceQL's `histogram_over_time` and `compare()` against brute force:
/// spans per service, step and power-of-two duration bucket; spans per side, step and
/// service of the failing spans against the rest.
pub async fn check_scanned(store: &dyn Store, stored: &[Span], stage: &str) {
    let q = query("kind:server", &["service_name"], START, END, 30 * MINUTE_NS);
    let got = log2_histogram(store, &q).await.unwrap();
    let mut want: BTreeMap<(Vec<String>, u64), BTreeMap<i64, u64>> = BTreeMap::new();
    for (step, s) in in_query(&q, stored) {
        let bucket = (s.duration_nanos as u64).next_power_of_two();
        *want
            .entry((vec![s.service_name.clone()], bucket))
            .or_default()
            .entry(step)
            .or_default() += 1;
    }
    let got_map: BTreeMap<_, _> = got
        .series
        .into_iter()
        .map(|s| ((s.labels, s.bucket), s.steps))
        .collect();
    assert_eq!(got_map, want, "{stage}: log2 histogram");

    let q = query("", &[], START, END, HOUR);
    let selection = plan(&parse("status:error").unwrap()).pushdown;
    let compared = CompareQuery {
        spans: &q,
        selection: &selection,
        window: None,
        top: 10,
    };
    let got = compare(store, &compared).await.unwrap();
    let mut want: BTreeMap<(Side, String), BTreeMap<i64, u64>> = BTreeMap::new();
    for (step, s) in in_query(&q, stored) {
        let side = if s.status_code == StatusCode::Error {
            Side::Selection
        } else {
            Side::Baseline
        };
        *want
            .entry((side, s.service_name.clone()))
            .or_default()
            .entry(step)
            .or_default() += 1;
    }
    let got_map: BTreeMap<_, _> = got
        .series
        .into_iter()
        .filter(|s| s.attribute == "resource.service.name")
        .filter_map(|s| Some(((s.side, s.value?.as_text().into_owned()), s.steps)))
        .collect();
    assert_eq!(got_map, want, "{stage}: compare by service");
}

/// Requests every store refuses with a message that says what to change.
pub async fn check_refusals(store: &dyn Store) {
    let structural = "{service:cart} >> {service:payment}";
    let too_long = START + (MAX_POINTS as i64 + 1) * MINUTE_NS;
    let cases = [
        (query("", &["event.id"], START, END, MINUTE_NS), "event.id"),
        (query(structural, &[], START, END, MINUTE_NS), "structural"),
        (query("", &[], END, START, MINUTE_NS), "inverted"),
        (query("", &[], START, END, 30 * S), "minutes"),
        (query("", &[], START, too_long, MINUTE_NS), "larger step"),
    ];
    for (q, says) in cases {
        match store.span_metrics(&q).await {
            Err(StoreError::InvalidArgument(m)) => {
                assert!(m.contains(says), "{m} should say {says}");
            }
            other => panic!("{:?} should be refused, got {other:?}", q.plan.pushdown),
        }
    }
}
