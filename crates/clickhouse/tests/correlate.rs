//! Logs, error occurrences, error groups and sessions on ClickHouse: the shared suite
//! (`tracehouse_store_api::testsuite::correlate`, same data and expected answers as the embedded
//! store), and targeted checks that what is written comes back unchanged, that the logs
//! query language means what it means on the embedded store, and that the derived error
//! occurrences, groups and sessions add up; and the saved views suite
//! (`tracehouse_store_api::testsuite::views`), the alerts suite and the evaluator's lease.

use crate::common;

use std::collections::BTreeMap;
use tracehouse_store_api::testsuite::correlate as shared;
use tracehouse_store_api::testsuite::testkit;

use tracehouse_model::{
    AttrValue, Attributes, ErrorOccurrence, Event, Level, LogId, LogRecord, Span, SpanId, SpanKind,
    StatusCode, TraceId, errors_from_logs, errors_from_spans,
};
use tracehouse_query::plan::Target;
use tracehouse_store_api::signals::empty_log_buckets;
use tracehouse_store_api::{
    ErrorGroupsQuery, ErrorQuery, HistogramQuery, SearchQuery, SearchSort, SessionsQuery, Store,
    StoreError,
};

/// 2023-11-14T22:00:00Z, an hour boundary.
const T0: i64 = 1_699_999_200_000_000_000;
const S: i64 = 1_000_000_000;
const MS: i64 = 1_000_000;

const PY_STACK: &str = "Traceback (most recent call last):\n  File \"/srv/app/views.py\", line 42, in checkout\n    total = cart.total()\n  File \"/srv/app/cart.py\", line 17, in total\n    raise ValueError(x)\nValueError: bad id";

fn attrs(pairs: &[(&str, &str)]) -> Attributes {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), AttrValue::Str(v.to_string())))
        .collect()
}

fn trace(n: u8) -> TraceId {
    TraceId([n; 16])
}

fn span_id(n: u8) -> SpanId {
    SpanId([n; 8])
}

struct L {
    at: i64,
    severity: u8,
    text: &'static str,
    body: &'static str,
    service: &'static str,
    trace: Option<(u8, u8)>,
    session: Option<&'static str>,
    attrs: &'static [(&'static str, &'static str)],
}

fn log(project: &str, l: &L) -> LogRecord {
    let mut r = LogRecord {
        project_id: project.into(),
        observed_time_unix_nano: T0 + l.at + MS,
        trace_id: l.trace.map(|(t, _)| trace(t)),
        span_id: l.trace.map(|(_, s)| span_id(s)),
        service_name: l.service.into(),
        service_version: "1.0".into(),
        environment: "prod".into(),
        scope_name: "app".into(),
        session_id: l.session.map(str::to_string),
        attributes: attrs(l.attrs),
        resource_attributes: attrs(&[("host", "h1")]).into(),
        flags: 1,
        ..testkit::log(T0 + l.at, l.severity, l.text, l.body)
    };
    if l.service == "web" {
        r.attributes.insert("retries".into(), AttrValue::Int(3));
    }
    r.log_id = r.content_id();
    r
}

#[tokio::test]
async fn saved_views_suite_on_clickhouse() {
    let Some(store) = common::store("views_suite").await else {
        return;
    };
    tracehouse_store_api::testsuite::views::run(store.as_ref()).await;
}

#[tokio::test]
async fn alerts_suite_and_the_evaluator_lease_on_clickhouse() {
    let Some(store) = common::store("alerts_suite").await else {
        return;
    };
    tracehouse_store_api::testsuite::alerts::run(store.as_ref()).await;
    let ttl = 10_000_000_000;
    let lease = |holder: &'static str, now: i64| {
        let store = store.clone();
        async move { store.alert_lease(holder, now, ttl).await.unwrap() }
    };
    assert!(lease("a", 1_000).await, "a free lease is taken");
    assert!(!lease("b", 2_000).await, "not while a holds it");
    assert!(lease("a", 3_000).await, "renewed by its holder");
    assert!(lease("b", 3_000 + ttl + 1).await, "taken over once expired");
    assert!(!lease("a", 3_000 + ttl + 2).await, "the old holder lost it");
}

#[tokio::test]
async fn shared_suite_on_clickhouse() {
    let Some(store) = common::store("correlate_suite").await else {
        return;
    };
    shared::load(store.as_ref()).await;
    shared::check_all(store.as_ref(), "clickhouse").await;
}

/// The log records, by label.
fn logs() -> Vec<(&'static str, LogRecord)> {
    let defs = [
        (
            "l1",
            L {
                at: S,
                severity: 9,
                text: "INFO",
                body: "user logged in",
                service: "web",
                trace: Some((1, 1)),
                session: Some("s1"),
                attrs: &[("http.route", "/login")],
            },
        ),
        (
            "l2",
            L {
                at: 2 * S,
                severity: 0,
                text: "WARNING",
                body: "payment slow timeout=3s",
                service: "pay",
                trace: Some((2, 2)),
                session: None,
                attrs: &[],
            },
        ),
        (
            "l3",
            L {
                at: 2 * S,
                severity: 17,
                text: "ERROR",
                body: "Payment TIMEOUT",
                service: "pay",
                trace: Some((2, 3)),
                session: Some("s2"),
                attrs: &[
                    ("exception.type", "TimeoutError"),
                    ("exception.message", "gateway 504"),
                ],
            },
        ),
        (
            "l4",
            L {
                at: 3 * S,
                severity: 5,
                text: "DEBUG",
                body: "über-cache miss",
                service: "web",
                trace: None,
                session: None,
                attrs: &[],
            },
        ),
        (
            "l5",
            L {
                at: 70 * S,
                severity: 18,
                text: "",
                body: "disk full",
                service: "db",
                trace: None,
                session: None,
                attrs: &[],
            },
        ),
    ];
    defs.iter().map(|(k, l)| (*k, log("p", l))).collect()
}

fn exception(at: i64, ty: &str, msg: &str, stack: &str) -> Event {
    Event {
        time_unix_nano: T0 + at,
        name: "exception".into(),
        attributes: attrs(&[
            ("exception.type", ty),
            ("exception.message", msg),
            ("exception.stacktrace", stack),
        ]),
        dropped_attributes_count: 0,
    }
}

#[allow(clippy::too_many_arguments)]
fn span(
    t: u8,
    s: u8,
    parent: Option<u8>,
    service: &str,
    at: i64,
    dur: i64,
    session: Option<&str>,
    events: Vec<Event>,
) -> Span {
    Span {
        project_id: "p".into(),
        trace_id: trace(t),
        span_id: span_id(s),
        parent_span_id: parent.map(span_id),
        trace_state: String::new(),
        name: "op".into(),
        kind: SpanKind::Server,
        start_time_unix_nano: T0 + at,
        end_time_unix_nano: T0 + at + dur,
        duration_nanos: dur,
        status_code: StatusCode::Unset,
        status_message: String::new(),
        service_name: service.into(),
        service_version: "1.0".into(),
        environment: "prod".into(),
        scope_name: String::new(),
        scope_version: String::new(),
        scope_attributes: Default::default(),
        session_id: session.map(str::to_string),
        attributes: Default::default(),
        resource_attributes: Default::default(),
        has_error: !events.is_empty(),
        events,
        links: vec![],
        dropped_attributes_count: 0,
        dropped_events_count: 0,
        dropped_links_count: 0,
    }
}

/// Spans of sessions s1 (traces 1 and 3) and s2 (trace 5), with exception events: two
/// occurrences of one ValueError (same stack, different messages), one KeyError.
fn spans() -> Vec<Span> {
    let mut not_an_error = exception(4 * S, "", "", "");
    not_an_error.attributes.clear();
    vec![
        span(
            1,
            1,
            None,
            "web",
            S,
            500 * MS,
            Some("s1"),
            vec![exception(S + 100 * MS, "ValueError", "bad id 42", PY_STACK)],
        ),
        span(
            1,
            11,
            Some(1),
            "web",
            S + 10 * MS,
            100 * MS,
            Some("s1"),
            vec![],
        ),
        span(
            3,
            3,
            None,
            "api",
            5 * S,
            2 * S,
            Some("s1"),
            vec![
                exception(5 * S + 200 * MS, "ValueError", "bad id 43", PY_STACK),
                not_an_error,
            ],
        ),
        span(
            4,
            4,
            None,
            "web",
            6 * S,
            10 * MS,
            None,
            vec![exception(6 * S + MS, "KeyError", "missing 'x'", "")],
        ),
        span(5, 5, None, "pay", 40 * S, S, Some("s2"), vec![]),
    ]
}

async fn loaded(test: &str) -> Option<std::sync::Arc<tracehouse_clickhouse::ClickHouseStore>> {
    let store = common::store(test).await?;
    store
        .write_logs(logs().into_iter().map(|(_, l)| l).collect())
        .await
        .unwrap();
    let other = log(
        "q",
        &L {
            at: 2 * S,
            severity: 17,
            text: "ERROR",
            body: "timeout elsewhere",
            service: "pay",
            trace: Some((2, 2)),
            session: Some("s1"),
            attrs: &[("exception.type", "TimeoutError")],
        },
    );
    store.write_logs(vec![other]).await.unwrap();
    store.write_spans(spans()).await.unwrap();
    Some(store)
}

fn log_query(q: &str, sort: SearchSort, limit: usize) -> SearchQuery {
    let parsed = tracehouse_query::parse(q).unwrap_or_else(|e| panic!("{q}: {e}"));
    SearchQuery {
        project_id: "p".into(),
        plan: tracehouse_query::plan_for(&parsed, Target::Logs),
        start_ns: T0,
        end_ns: T0 + 3600 * S,
        sort,
        sort_key: None,
        limit,
        cursor: None,
    }
}

/// Labels of the records a query finds, newest first.
async fn found(store: &dyn Store, q: &str) -> Vec<&'static str> {
    let by_id: BTreeMap<LogId, &'static str> =
        logs().into_iter().map(|(k, l)| (l.log_id, k)).collect();
    let page = store
        .search_logs(&log_query(q, SearchSort::TimeDesc, 100))
        .await
        .unwrap_or_else(|e| panic!("{q}: {e}"));
    page.logs
        .iter()
        .map(|l| *by_id.get(&l.log_id).unwrap_or(&"?"))
        .collect()
}

/// `a` and `b` in the order of their log ids, descending (the tie order of `TimeDesc`).
fn tie(a: &'static str, b: &'static str) -> [&'static str; 2] {
    let all: BTreeMap<&str, LogId> = logs().into_iter().map(|(k, l)| (k, l.log_id)).collect();
    if all[a] > all[b] { [a, b] } else { [b, a] }
}

#[tokio::test]
async fn log_records_round_trip_and_the_logs_language_applies() {
    let Some(store) = loaded("logs_search").await else {
        return;
    };
    let store = store.as_ref();
    // Every field comes back as written.
    let page = store
        .search_logs(&log_query("", SearchSort::TimeAsc, 100))
        .await
        .unwrap();
    let mut want: Vec<LogRecord> = logs().into_iter().map(|(_, l)| l).collect();
    want.sort_by_key(|l| (l.time_unix_nano, l.log_id));
    assert_eq!(page.logs, want);
    assert!(page.next_cursor.is_none());

    let [a, b] = tie("l2", "l3");
    let cases: Vec<(&str, Vec<&str>)> = vec![
        ("", vec!["l5", "l4", a, b, "l1"]),
        // A bare word is a body token, case-insensitive.
        ("timeout", vec![a, b]),
        ("TIMEOUT payment", vec![a, b]),
        ("slow", vec!["l2"]),
        ("time", vec![]),
        // Non-token text is a substring of the body.
        ("über", vec!["l4"]),
        ("\"cache miss\"", vec!["l4"]),
        ("message:*full*", vec!["l5"]),
        ("body:\"disk full\"", vec!["l5"]),
        // Levels by any spelling of their name.
        ("level:error", vec!["l5", "l3"]),
        ("level:ERROR", vec!["l5", "l3"]),
        ("severity:err", vec!["l5", "l3"]),
        ("level:warning", vec!["l2"]),
        ("level:warn", vec!["l2"]),
        ("level:e*", vec!["l5", "l3"]),
        ("level:nonsense", vec![]),
        ("NOT level:error", vec!["l4", "l2", "l1"]),
        // Intrinsics shared with spans.
        ("service:web", vec!["l4", "l1"]),
        (&TRACE2, vec![a, b]),
        (&SPAN1, vec!["l1"]),
        ("session_id:s1", vec!["l1"]),
        ("session_id EXISTS", vec!["l3", "l1"]),
        ("trace_id NOT EXISTS", vec!["l5", "l4"]),
        ("timestamp>=1699999203000000000", vec!["l5", "l4"]),
        // Attributes of the record and of its resource.
        ("http.route:\"/login\"", vec!["l1"]),
        ("span.http.route:\"/login\"", vec!["l1"]),
        ("resource.http.route:\"/login\"", vec![]),
        ("resource.host:h1", vec!["l5", "l4", a, b, "l1"]),
        ("retries>=3", vec!["l4", "l1"]),
        ("exception.type:TimeoutError", vec!["l3"]),
        // Span-only intrinsics: records never have them.
        ("duration>0", vec![]),
        ("duration<1s", vec![]),
        ("kind:server", vec![]),
        ("status:error", vec![]),
        ("has_error:true", vec![]),
        ("NOT duration>0", vec!["l5", "l4", a, b, "l1"]),
    ];
    for (q, want) in cases {
        assert_eq!(found(store, q).await, want, "{q}");
    }
}

static TRACE2: std::sync::LazyLock<String> =
    std::sync::LazyLock::new(|| format!("trace_id:{}", trace(2)));
static SPAN1: std::sync::LazyLock<String> =
    std::sync::LazyLock::new(|| format!("span_id:{}", span_id(1)));

#[tokio::test]
async fn log_pages_follow_cursors_through_ties_and_refuse_what_logs_cannot_do() {
    let Some(store) = loaded("logs_pages").await else {
        return;
    };
    for sort in [SearchSort::TimeDesc, SearchSort::TimeAsc] {
        let all = store
            .search_logs(&log_query("", sort, 100))
            .await
            .unwrap()
            .logs;
        assert_eq!(all.len(), 5);
        let mut paged = Vec::new();
        let mut q = log_query("", sort, 2);
        loop {
            let page = store.search_logs(&q).await.unwrap();
            assert!(page.logs.len() <= 2);
            paged.extend(page.logs);
            match page.next_cursor {
                Some(c) => {
                    assert_eq!(c.key, paged.last().unwrap().time_unix_nano);
                    assert_eq!(c.trace_id.0, paged.last().unwrap().log_id.0);
                    q.cursor = Some(c);
                }
                None => break,
            }
        }
        assert_eq!(paged, all, "{sort:?}");
    }
    // Duration sorts, a cursor of another sort and trace structure are refused.
    let refused = [
        log_query("", SearchSort::DurationDesc, 10),
        {
            let mut q = log_query("", SearchSort::TimeAsc, 1);
            q.cursor = store
                .search_logs(&log_query("", SearchSort::TimeDesc, 1))
                .await
                .unwrap()
                .next_cursor;
            q
        },
        log_query(
            "{ level:error } >> { level:info }",
            SearchSort::TimeDesc,
            10,
        ),
    ];
    for q in refused {
        let err = store.search_logs(&q).await.unwrap_err();
        assert!(matches!(err, StoreError::InvalidArgument(_)), "{err}");
    }
    // The logs of one trace, oldest first, through the trait's default method.
    let [a, b] = tie("l2", "l3");
    let labels: BTreeMap<LogId, &str> = logs().into_iter().map(|(k, l)| (l.log_id, k)).collect();
    let got: Vec<&str> = store
        .trace_logs("p", trace(2))
        .await
        .unwrap()
        .iter()
        .map(|l| labels[&l.log_id])
        .collect();
    assert_eq!(got, vec![b, a]);
}

#[tokio::test]
async fn log_histogram_counts_levels_on_the_span_grid() {
    let Some(store) = loaded("logs_histogram").await else {
        return;
    };
    let histogram = |q: &str| {
        let parsed = tracehouse_query::parse(q).unwrap();
        HistogramQuery {
            project_id: "p".into(),
            plan: tracehouse_query::plan_for(&parsed, Target::Logs),
            start_ns: T0,
            end_ns: T0 + 120 * S,
            buckets: 2,
            traces: false,
        }
    };
    let h = store.log_histogram(&histogram("")).await.unwrap();
    let (_, width, mut want) = empty_log_buckets(T0, T0 + 120 * S, 2).unwrap();
    assert_eq!(h.width_ns, width);
    want[0].count = 4;
    want[0].levels = [
        (Level::Debug, 1),
        (Level::Info, 1),
        (Level::Warn, 1),
        (Level::Error, 1),
    ]
    .into();
    want[1].count = 1;
    want[1].levels = [(Level::Error, 1)].into();
    assert_eq!(h.buckets, want);

    let h = store
        .log_histogram(&histogram("service:pay"))
        .await
        .unwrap();
    assert_eq!(h.buckets[0].count, 2);
    assert_eq!(
        h.buckets[0].levels,
        [(Level::Warn, 1), (Level::Error, 1)].into()
    );
    assert_eq!(h.buckets[1].count, 0);
    assert!(h.buckets[1].levels.is_empty());

    let err = store
        .log_histogram(&histogram("{ level:error } >> { level:info }"))
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::InvalidArgument(_)), "{err}");
}

/// Every occurrence derived from the data set, newest first.
fn all_errors() -> Vec<ErrorOccurrence> {
    let records: Vec<LogRecord> = logs().into_iter().map(|(_, l)| l).collect();
    let mut all = errors_from_spans(&spans());
    all.extend(errors_from_logs(&records));
    all.sort_by_key(|e| std::cmp::Reverse(e.time_unix_nano));
    all
}

fn error_query() -> ErrorQuery {
    ErrorQuery {
        project_id: "p".into(),
        start_ns: T0,
        end_ns: T0 + 3600 * S,
        limit: 100,
        ..Default::default()
    }
}

#[tokio::test]
async fn error_occurrences_are_derived_at_write_time() {
    let Some(store) = loaded("errors").await else {
        return;
    };
    let all = all_errors();
    assert_eq!(all.len(), 4, "3 exception events with a type, 1 error log");
    assert_eq!(store.errors(&error_query()).await.unwrap(), all);

    let value_error = all[1].fingerprint.clone();
    assert_eq!(all[1].error_type, "ValueError");
    assert_eq!(all[3].fingerprint, value_error, "same stack, same group");
    let by = |f: fn(&mut ErrorQuery)| {
        let mut q = error_query();
        f(&mut q);
        q
    };
    let got = store
        .errors(&ErrorQuery {
            fingerprint: Some(value_error.clone()),
            ..error_query()
        })
        .await
        .unwrap();
    assert_eq!(got, vec![all[1].clone(), all[3].clone()]);
    let got = store
        .errors(&by(|q| q.trace_id = Some(trace(3))))
        .await
        .unwrap();
    assert_eq!(got, vec![all[1].clone()]);
    let got = store
        .errors(&by(|q| q.session_id = Some("s1".into())))
        .await
        .unwrap();
    assert_eq!(got, vec![all[1].clone(), all[3].clone()]);
    let got = store.errors(&by(|q| q.limit = 1)).await.unwrap();
    assert_eq!(got, vec![all[0].clone()]);
    let got = store.errors(&by(|q| q.end_ns = T0 + 2 * S)).await.unwrap();
    assert_eq!(got, vec![all[3].clone()], "the window applies");
    // The log-derived occurrence.
    let from_log = &all[2];
    assert_eq!(from_log.error_type, "TimeoutError");
    assert_eq!(from_log.session_id.as_deref(), Some("s2"));
    assert_eq!(from_log.source, tracehouse_model::ErrorSource::Log);
    // Another project sees only its own.
    let other = store
        .errors(&ErrorQuery {
            project_id: "q".into(),
            ..error_query()
        })
        .await
        .unwrap();
    assert_eq!(other.len(), 1);
    assert_eq!(other[0].project_id, "q");
}

fn groups_query() -> ErrorGroupsQuery {
    ErrorGroupsQuery {
        project_id: "p".into(),
        start_ns: T0,
        end_ns: T0 + 120 * S,
        text: None,
        fingerprint: None,
        service: None,
        environment: None,
        limit: 50,
        buckets: 4,
    }
}

#[tokio::test]
async fn error_groups_count_trend_and_link_to_traces() {
    let Some(store) = loaded("groups").await else {
        return;
    };
    let all = all_errors();
    let g = store.error_groups(&groups_query()).await.unwrap();
    let (aligned, width, grid) =
        tracehouse_store_api::structure::empty_buckets(T0, T0 + 120 * S, 4).unwrap();
    assert_eq!((g.start_ns, g.width_ns), (aligned, width));
    let kinds: Vec<(&str, u64)> = g
        .groups
        .iter()
        .map(|x| (x.error_type.as_str(), x.count))
        .collect();
    // Most occurrences first, then the most recent.
    assert_eq!(
        kinds,
        vec![("ValueError", 2), ("KeyError", 1), ("TimeoutError", 1)]
    );
    let v = &g.groups[0];
    assert_eq!(v.fingerprint, all[1].fingerprint);
    assert_eq!(v.message, "bad id 43", "the newest occurrence's message");
    assert_eq!(v.stacktrace, PY_STACK);
    assert_eq!(v.services, vec!["api".to_string(), "web".into()]);
    assert_eq!(v.first_seen_ns, T0 + S + 100 * MS);
    assert_eq!(v.last_seen_ns, T0 + 5 * S + 200 * MS);
    assert_eq!((v.trace_count, v.session_count), (2, 1));
    assert_eq!(v.example_trace_ids, vec![trace(3), trace(1)]);
    assert_eq!(v.trend.len(), grid.len());
    assert_eq!(v.trend[0], 2);
    assert_eq!(v.trend.iter().sum::<u64>(), 2);
    let k = &g.groups[1];
    assert_eq!((k.trace_count, k.session_count), (1, 0));
    assert_eq!(k.example_trace_ids, vec![trace(4)]);

    // The text filter keeps the matching occurrences, case-insensitively, in type or message.
    let text = |t: &str| ErrorGroupsQuery {
        text: Some(t.into()),
        ..groups_query()
    };
    let g = store.error_groups(&text("valueERROR")).await.unwrap();
    assert_eq!(g.groups.len(), 1);
    assert_eq!(g.groups[0].count, 2);
    let g = store.error_groups(&text("GATEWAY")).await.unwrap();
    assert_eq!(g.groups.len(), 1);
    assert_eq!(g.groups[0].error_type, "TimeoutError");
    let g = store.error_groups(&text("id 42")).await.unwrap();
    assert_eq!(g.groups.len(), 1);
    assert_eq!(g.groups[0].count, 1);
    assert_eq!(g.groups[0].message, "bad id 42");
    assert_eq!(g.groups[0].example_trace_ids, vec![trace(1)]);
    assert!(
        store
            .error_groups(&text("nowhere"))
            .await
            .unwrap()
            .groups
            .is_empty()
    );

    // One group by fingerprint; a limit keeps the first.
    let g = store
        .error_groups(&ErrorGroupsQuery {
            fingerprint: Some(all[0].fingerprint.clone()),
            service: None,
            environment: None,
            ..groups_query()
        })
        .await
        .unwrap();
    assert_eq!(g.groups.len(), 1);
    assert_eq!(g.groups[0].error_type, "KeyError");
    let g = store
        .error_groups(&ErrorGroupsQuery {
            limit: 1,
            ..groups_query()
        })
        .await
        .unwrap();
    assert_eq!(g.groups.len(), 1);
    assert_eq!(g.groups[0].error_type, "ValueError");
}

#[tokio::test]
async fn example_traces_are_the_five_newest_distinct() {
    let Some(store) = common::store("examples").await else {
        return;
    };
    // Seven traces raise the same error; trace 10 twice (its newest occurrence counts).
    let mut spans: Vec<Span> = (10u8..17)
        .map(|t| {
            span(
                t,
                t,
                None,
                "web",
                i64::from(t) * S,
                MS,
                None,
                vec![exception(i64::from(t) * S, "E", "boom", "")],
            )
        })
        .collect();
    spans[0].events.push(exception(30 * S, "E", "boom", ""));
    store.write_spans(spans).await.unwrap();
    let g = store.error_groups(&groups_query()).await.unwrap();
    assert_eq!(g.groups.len(), 1);
    assert_eq!(g.groups[0].count, 8);
    assert_eq!(g.groups[0].trace_count, 7);
    assert_eq!(
        g.groups[0].example_trace_ids,
        vec![trace(10), trace(16), trace(15), trace(14), trace(13)]
    );
}

#[tokio::test]
async fn sessions_aggregate_spans_and_count_their_errors() {
    let Some(store) = loaded("sessions").await else {
        return;
    };
    let q = SessionsQuery {
        project_id: "p".into(),
        start_ns: T0,
        end_ns: T0 + 3600 * S,
        session_id: None,
        limit: 10,
    };
    let got = store.sessions(&q).await.unwrap();
    let ids: Vec<&str> = got.iter().map(|s| s.session_id.as_str()).collect();
    assert_eq!(ids, vec!["s2", "s1"], "most recently active first");
    let s1 = &got[1];
    assert_eq!(s1.start_ns, T0 + S);
    assert_eq!(s1.end_ns, T0 + 7 * S);
    assert_eq!(s1.duration_ns, 6 * S);
    assert_eq!((s1.trace_count, s1.span_count), (2, 3));
    assert_eq!(s1.error_count, 2);
    assert_eq!(s1.services, vec!["api".to_string(), "web".into()]);
    let s2 = &got[0];
    assert_eq!((s2.trace_count, s2.span_count, s2.error_count), (1, 1, 1));

    let one = store
        .sessions(&SessionsQuery {
            session_id: Some("s1".into()),
            ..q.clone()
        })
        .await
        .unwrap();
    assert_eq!(one, vec![s1.clone()]);
    let limited = store
        .sessions(&SessionsQuery {
            limit: 1,
            ..q.clone()
        })
        .await
        .unwrap();
    assert_eq!(limited, vec![s2.clone()]);
    // The window applies to span starts (and error times).
    let early = store
        .sessions(&SessionsQuery {
            end_ns: T0 + 2 * S,
            ..q.clone()
        })
        .await
        .unwrap();
    assert_eq!(early.len(), 1);
    assert_eq!((early[0].span_count, early[0].error_count), (2, 1));

    // One session on one timeline, through the trait's default method.
    let detail = store
        .session("p", "s1", T0, T0 + 3600 * S)
        .await
        .unwrap()
        .expect("session s1");
    let traces: Vec<TraceId> = detail.traces.iter().map(|t| t.trace_id).collect();
    assert_eq!(traces, vec![trace(1), trace(3)]);
    assert_eq!(detail.errors.len(), 2);
    assert!(detail.errors[0].time_unix_nano < detail.errors[1].time_unix_nano);
    assert_eq!(detail.logs.len(), 1);
    assert_eq!(detail.logs[0].body, "user logged in");
    assert!(
        store
            .session("p", "nobody", T0, T0 + 3600 * S)
            .await
            .unwrap()
            .is_none()
    );
}

#[tokio::test]
async fn the_body_token_bloom_filter_serves_bare_words() {
    let Some(store) = loaded("tokenbf").await else {
        return;
    };
    // The expression bare words compile to on logs (the `sql` unit tests check that the
    // compiler emits it) is the indexed one.
    let plan: Vec<String> = store
        .client()
        .query(
            "EXPLAIN indexes = 1 SELECT count() FROM logs \
             WHERE project_id = 'p' AND hasToken(arrayStringConcat(\
             splitByRegexp('[^\\\\p{L}\\\\p{N}\\\\p{M}]+', lowerUTF8(body)), ' '), 'timeout')",
        )
        .fetch_all::<String>()
        .await
        .unwrap();
    assert!(
        plan.iter().any(|l| l.contains("idx_body_tokens")),
        "{}",
        plan.join("\n")
    );
}

/// Log autocomplete reads its own statistics (`log_keys` / `log_values`): intrinsics only
/// where set, record attributes as the span scope with their value types, values as the
/// query language's text, per project and hour.
#[tokio::test]
async fn log_keys_and_values_come_from_the_log_statistics() {
    use tracehouse_query::plan::resolve_key;
    use tracehouse_store_api::{KeyScope, KeysQuery, ValuesQuery};
    let Some(store) = loaded("log_keys").await else {
        return;
    };
    let mut typed = log(
        "k",
        &L {
            at: S,
            severity: 13,
            text: "WARN",
            body: "",
            service: "",
            trace: None,
            session: None,
            attrs: &[],
        },
    );
    typed
        .attributes
        .insert("ratio".into(), AttrValue::Float(1.5));
    typed.attributes.insert("ok".into(), AttrValue::Bool(true));
    typed.log_id = typed.content_id();
    store.write_logs(vec![typed]).await.unwrap();
    let keys = |project: &'static str, prefix: &'static str, start: i64| {
        let store = store.clone();
        async move {
            let mut got: Vec<(String, KeyScope, String, u64)> = store
                .keys(&KeysQuery {
                    project_id: project.into(),
                    target: Target::Logs,
                    start_ns: start,
                    end_ns: start + 60 * S,
                    prefix: prefix.into(),
                    limit: 100,
                })
                .await
                .unwrap()
                .into_iter()
                .map(|k| (k.key, k.scope, k.value_type, k.count))
                .collect();
            got.sort();
            got
        }
    };
    let row = |k: &str, scope: KeyScope, t: &str, n: u64| (k.to_string(), scope, t.to_string(), n);
    use KeyScope::{Intrinsic as I, Resource as R, Span as Sp};
    // The window counts its own records, not its hour's: l5 alone (the reserved keys it
    // lacks with 0).
    let mut want = vec![
        row("body", I, "string", 1),
        row("environment", I, "string", 1),
        row("host", R, "string", 1),
        row("level", I, "string", 1),
        row("secure_session_id", I, "string", 0),
        row("service_name", I, "string", 1),
        row("service_version", I, "string", 1),
        row("span_id", I, "id", 0),
        row("timestamp", I, "timestamp", 1),
        row("trace_id", I, "id", 0),
    ];
    want.sort();
    assert_eq!(keys("p", "", T0 + 30 * S).await, want);
    assert_eq!(
        keys("p", "SERV", T0).await,
        vec![
            row("service_name", I, "string", 4),
            row("service_version", I, "string", 4)
        ],
        "case-insensitive key prefix"
    );
    // An hour without records offers the reserved keys of log records, none counted.
    let next_hour = keys("p", "", T0 + 3600 * S).await;
    assert_eq!(next_hour.len(), 9, "next hour: {next_hour:?}");
    assert!(
        next_hour
            .iter()
            .all(|(_, scope, _, n)| *scope == I && *n == 0)
    );
    // Empty text intrinsics, the body too, are absent; typed attributes keep their types.
    let mut want = vec![
        row("environment", I, "string", 1),
        row("host", R, "string", 1),
        row("level", I, "string", 1),
        row("ok", Sp, "bool", 1),
        row("ratio", Sp, "float", 1),
        row("service_version", I, "string", 1),
        row("timestamp", I, "timestamp", 1),
    ];
    want.sort();
    let mut counted = keys("k", "", T0).await;
    counted.retain(|(_, _, _, n)| *n > 0);
    assert_eq!(counted, want);

    let values = |project: &'static str, key: &'static str, prefix: &'static str| {
        let store = store.clone();
        async move {
            store
                .values(&ValuesQuery {
                    project_id: project.into(),
                    target: Target::Logs,
                    field: resolve_key(key, Target::Logs),
                    start_ns: T0,
                    end_ns: T0 + 3600 * S,
                    prefix: prefix.into(),
                    limit: 10,
                })
                .await
                .unwrap()
                .into_iter()
                .map(|v| (v.value, v.count))
                .collect::<Vec<_>>()
        }
    };
    let pairs = |v: &[(&str, u64)]| -> Vec<(String, u64)> {
        v.iter().map(|(s, n)| (s.to_string(), *n)).collect()
    };
    assert_eq!(
        values("p", "level", "").await,
        pairs(&[("error", 2), ("debug", 1), ("info", 1), ("warn", 1)])
    );
    assert_eq!(
        values("p", "service", "").await,
        pairs(&[("pay", 2), ("web", 2), ("db", 1)])
    );
    assert_eq!(
        values("p", "session_id", "S").await,
        pairs(&[("s1", 1), ("s2", 1)])
    );
    assert_eq!(values("p", "retries", "").await, pairs(&[("3", 2)]));
    assert_eq!(values("p", "resource.host", "").await, pairs(&[("h1", 5)]));
    assert_eq!(
        values("p", "exception.type", "time").await,
        pairs(&[("TimeoutError", 1)])
    );
    for key in ["body", "trace_id", "span_id", "timestamp"] {
        assert!(values("p", key, "").await.is_empty(), "{key} has no values");
    }
    assert_eq!(values("k", "ratio", "").await, pairs(&[("1.5", 1)]));
    assert_eq!(values("k", "ok", "").await, pairs(&[("true", 1)]));
    assert!(values("k", "service", "").await.is_empty());
    // Span statistics are not log statistics, and the other way round.
    assert!(values("p", "span_name", "").await.is_empty());
    let span_keys = store
        .keys(&KeysQuery {
            project_id: "p".into(),
            target: Target::Spans,
            start_ns: T0,
            end_ns: T0 + S,
            prefix: "http.route".into(),
            limit: 10,
        })
        .await
        .unwrap();
    assert!(span_keys.is_empty(), "{span_keys:?}");
}
