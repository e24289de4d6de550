//! The span metrics suite: a hand-built data set over three hours and the metrics every
//! backend must answer for it, computed here by brute force over the spans (with the query
//! crate's evaluator, not the cells): counts, errors, minimum, maximum and sum exact, each
//! percentile within the sketch's relative error of the duration at its rank. The embedded
//! store runs it in `crates/engine/tests/metrics.rs` (memtable, parts, compaction, restart,
//! retention), ClickHouse in `crates/clickhouse/tests/metrics.rs`.

use std::collections::BTreeMap;

use tracehouse_model::{Span, SpanId, SpanKind, StatusCode, TraceId};
use tracehouse_query::eval::matches;
use tracehouse_query::{parse, plan};

use super::testkit::{self, S};
use crate::metrics::{
    MAX_POINTS, MetricDim, MetricPoint, PERCENTILES, SKETCH_RELATIVE_ERROR, SpanMetricsAnswer,
    SpanMetricsQuery,
};
use crate::stats::MINUTE_NS;
use crate::value::SpanRef;
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

/// The data set: 720 spans of project `p`, one every 15 s from [`START`], spread over
/// services, span names, kinds and statuses, with durations over four decades; plus spans
/// of project `other` (service `leak`) at the same times, which no answer may show.
pub fn data() -> Vec<Span> {
    let mut out = Vec::new();
    for i in 0..720_i64 {
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
            START + i * 15 * S + (i % 13) * 1_000_000,
            duration,
        );
        s.service_name = service.into();
        s.name = name.into();
        s.kind = kind;
        s.status_code = status;
        s.has_error = status == StatusCode::Error || i % 29 == 0;
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

/// A metrics query of project `p`.
pub fn query(filter: &str, by: &[MetricDim], start: i64, end: i64, step: i64) -> SpanMetricsQuery {
    SpanMetricsQuery {
        project_id: "p".into(),
        plan: plan(&parse(filter).unwrap()),
        start_ns: start,
        end_ns: end,
        step_ns: step,
        by: by.to_vec(),
    }
}

/// The queries of the suite: ranges inside one hour, across hour boundaries and unaligned
/// to minutes, filters on each dimension, `by` none, one or several dimensions.
pub fn queries() -> Vec<SpanMetricsQuery> {
    use MetricDim::*;
    vec![
        query("", &[Service], START, END, 60 * MINUTE_NS),
        query("", &[], START, END, 10 * MINUTE_NS),
        query(
            "kind:server",
            &[Service, Name],
            T0 - 30 * MINUTE_NS,
            T0 + 30 * MINUTE_NS,
            5 * MINUTE_NS,
        ),
        query(
            "status:error OR service:db*",
            &[Status],
            T0 - 10 * MINUTE_NS + 13 * S,
            T0 + 7 * MINUTE_NS + S,
            MINUTE_NS,
        ),
        query(
            "NOT name:/^GET/",
            &[Kind],
            START + 5 * MINUTE_NS,
            END - 65 * MINUTE_NS,
            15 * MINUTE_NS,
        ),
        query(
            "service:(cart OR payment) status!=unset",
            &[Service, Kind, Status],
            START,
            END,
            30 * MINUTE_NS,
        ),
        query("service:nothing", &[Service], START, END, 60 * MINUTE_NS),
    ]
}

/// A series by brute force: its labels, then its total and its points as rows of
/// `[t, count, errors, min, max, sum, durations at the rank of each percentile…]`.
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
        let labels = q.by.iter().map(|d| dim_of(s, *d)).collect();
        groups.entry(labels).or_default().push(s);
    }
    let mut out: Vec<Expected> = groups
        .into_iter()
        .map(|(labels, spans)| {
            let labels =
                q.by.iter()
                    .map(|d| d.label().to_string())
                    .zip(labels)
                    .collect();
            let mut steps: BTreeMap<i64, Vec<&Span>> = BTreeMap::new();
            for s in &spans {
                steps
                    .entry(q.step_of(s.start_time_unix_nano.div_euclid(MINUTE_NS)))
                    .or_default()
                    .push(s);
            }
            let mut rows = vec![exact(q.grid_start(), &spans)];
            rows.extend(
                steps
                    .into_iter()
                    .map(|(step, spans)| exact(q.grid_start() + step * q.step_ns, &spans)),
            );
            (labels, rows)
        })
        .collect();
    out.sort_by(|a, b| b.1[0][1].cmp(&a.1[0][1]).then_with(|| a.0.cmp(&b.0)));
    out
}

fn dim_of(s: &Span, d: MetricDim) -> String {
    match d {
        MetricDim::Service => s.service_name.clone(),
        MetricDim::Name => s.name.clone(),
        MetricDim::Kind => s.kind.as_str().into(),
        MetricDim::Status => s.status_code.as_str().into(),
    }
}

/// `[t, count, errors, min, max, sum, durations at the rank of each percentile…]`.
fn exact(t: i64, spans: &[&Span]) -> Vec<i64> {
    let mut d: Vec<i64> = spans.iter().map(|s| s.duration_nanos).collect();
    d.sort_unstable();
    let n = d.len();
    let mut row = vec![
        t,
        n as i64,
        spans.iter().filter(|s| s.has_error).count() as i64,
        d[0],
        d[n - 1],
        d.iter().sum(),
    ];
    row.extend(PERCENTILES.map(|q| d[(q * (n as f64 - 1.0)) as usize]));
    row
}

fn check_point(got: &MetricPoint, want: &[i64], what: &str) {
    let exact = [
        got.t,
        got.count as i64,
        got.errors as i64,
        got.min as i64,
        got.max as i64,
        got.sum as i64,
    ];
    assert_eq!(
        exact[..],
        want[..6],
        "{what}: t, count, errors, min, max, sum"
    );
    let pct = [got.p50, got.p75, got.p90, got.p95, got.p99];
    for ((q, v), x) in PERCENTILES.iter().zip(pct).zip(&want[6..]) {
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

/// Runs every query of [`queries`] and checks it against `stored` (what the store holds).
pub async fn check_all(store: &dyn Store, stored: &[Span], stage: &str) {
    for q in queries() {
        let got = store.span_metrics(&q).await.unwrap();
        check_answer(&q, &got, stored, stage);
    }
}

/// Requests every store refuses with a message that says what to change.
pub async fn check_refusals(store: &dyn Store) {
    let cases = [
        (
            query("http.method:GET", &[], START, END, MINUTE_NS),
            "filter",
        ),
        (
            query(
                "{service:cart} >> {service:payment}",
                &[],
                START,
                END,
                MINUTE_NS,
            ),
            "structural",
        ),
        (query("", &[], END, START, MINUTE_NS), "inverted"),
        (query("", &[], START, END, 30 * S), "minutes"),
        (
            query(
                "",
                &[],
                START,
                START + (MAX_POINTS as i64 + 1) * MINUTE_NS,
                MINUTE_NS,
            ),
            "larger step",
        ),
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
