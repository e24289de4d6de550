//! The backend-neutral suite of logs, errors and sessions, written against the `Store`
//! trait: a fixed data set of spans (with `exception` events and session ids) and log
//! records, and the exact answers every backend must give. The embedded store runs it in
//! `crates/engine/tests/logs_errors_sessions.rs`, ClickHouse in
//! `crates/clickhouse/tests/correlate.rs`.

use std::collections::BTreeSet;

use crate::{
    ErrorGroupsQuery, ErrorQuery, HistogramQuery, KeyInfo, KeysQuery, SearchQuery, SearchSort,
    SessionsQuery, Store, StoreError,
};
use tracehouse_model::{
    AttrValue, Attributes, ErrorSource, Event, Level, LogRecord, Span, SpanId, SpanKind,
    StatusCode, TraceId, fingerprint,
};
use tracehouse_query::plan::{Target, plan_for};

/// 2023-11-14T22:00:00Z, an hour boundary.
pub const T0: i64 = 1_699_999_200_000_000_000;
use super::testkit;
pub use super::testkit::{MS, S, set};
/// The window covering the data set.
pub const START: i64 = T0;
/// The end of the window covering the data set.
pub const END: i64 = T0 + 60 * S;

/// A Python traceback of the data set.
pub const PY_STACK: &str = "Traceback (most recent call last):\n  File \"/srv/app/pay.py\", line 40, in charge\n    card.debit(amount)\n  File \"/srv/app/card.py\", line 12, in debit\n    raise ValueError(msg)\nValueError: declined";
/// [`PY_STACK`] after a code change moved its lines: the same error group.
pub const PY_STACK_MOVED: &str = "Traceback (most recent call last):\n  File \"/srv/app/pay.py\", line 44, in charge\n    card.debit(amount)\n  File \"/srv/app/card.py\", line 15, in debit\n    raise ValueError(msg)\nValueError: declined";
/// A JavaScript stack of the data set.
pub const JS_STACK: &str =
    "TypeError: x is undefined\n    at render (/app/main.js:10:5)\n    at boot (/app/main.js:2:1)";
/// A Java stack of the data set.
pub const JAVA_STACK: &str = "PaymentError: declined\n\tat shop.Pay.charge(Pay.java:88)";

/// Trace ids by letter.
pub fn trace(letter: char) -> TraceId {
    TraceId([letter as u8; 16])
}

/// Span ids by label (`a2` → trace `a`, span 2).
pub fn span(label: &str) -> SpanId {
    let b = label.as_bytes();
    SpanId([b[0], b[1], 0, 0, 0, 0, 0, 1])
}

fn s(v: &str) -> AttrValue {
    AttrValue::Str(v.into())
}

fn exception(ty: &str, message: &str, stack: &str, at: i64) -> Event {
    let mut attributes = Attributes::new();
    if !ty.is_empty() {
        attributes.insert("exception.type".into(), s(ty));
    }
    if !message.is_empty() {
        attributes.insert("exception.message".into(), s(message));
    }
    if !stack.is_empty() {
        attributes.insert("exception.stacktrace".into(), s(stack));
    }
    Event {
        time_unix_nano: at,
        name: "exception".into(),
        attributes,
        dropped_attributes_count: 0,
    }
}

/// One span: label, parent, service, name, start offset and duration (ms), session.
fn sp(
    label: &str,
    parent: Option<&str>,
    service: &str,
    name: &str,
    offset_ms: i64,
    dur_ms: i64,
    session: Option<&str>,
) -> Span {
    let start = T0 + offset_ms * MS;
    let mut resource = Attributes::new();
    resource.insert("service.name".into(), s(service));
    Span {
        project_id: "p".into(),
        trace_id: trace(label.chars().next().unwrap_or('z')),
        span_id: span(label),
        parent_span_id: parent.map(span),
        trace_state: String::new(),
        name: name.into(),
        kind: SpanKind::Server,
        start_time_unix_nano: start,
        end_time_unix_nano: start + dur_ms * MS,
        duration_nanos: dur_ms * MS,
        status_code: StatusCode::Unset,
        status_message: String::new(),
        service_name: service.into(),
        service_version: "1.0".into(),
        environment: "prod".into(),
        scope_name: String::new(),
        scope_version: String::new(),
        scope_attributes: Attributes::new(),
        session_id: session.map(String::from),
        attributes: Attributes::new(),
        resource_attributes: resource.into(),
        events: vec![],
        links: vec![],
        has_error: false,
        dropped_attributes_count: 0,
        dropped_events_count: 0,
        dropped_links_count: 0,
    }
}

fn failing(mut span: Span, event: Event) -> Span {
    span.events.push(event);
    span.has_error = true;
    span.status_code = StatusCode::Error;
    span
}

/// The spans of the data set.
pub fn spans() -> Vec<Span> {
    vec![
        sp("a1", None, "frontend", "GET /checkout", 0, 300, Some("s1")),
        failing(
            sp("a2", Some("a1"), "checkout", "charge", 10, 200, Some("s1")),
            exception("ValueError", "card 4242 declined", PY_STACK, T0 + 50 * MS),
        ),
        sp("b1", None, "frontend", "GET /cart", 2_000, 100, Some("s1")),
        // Only the root of trace b carries the session: its error belongs to s1 all the same.
        failing(
            sp("b2", Some("b1"), "cart", "load", 2_010, 50, None),
            exception(
                "ValueError",
                "card 1111 declined",
                PY_STACK_MOVED,
                T0 + 2_030 * MS,
            ),
        ),
        sp("c1", None, "frontend", "GET /home", 5_000, 80, Some("s2")),
        failing(
            sp(
                "c2",
                Some("c1"),
                "frontend",
                "render",
                5_010,
                20,
                Some("s2"),
            ),
            exception("TypeError", "x is undefined", JS_STACK, T0 + 5_020 * MS),
        ),
        failing(
            sp("d1", None, "worker", "job", 10_000, 30, None),
            exception("KeyError", "user 7 missing", "", T0 + 10_010 * MS),
        ),
        failing(
            sp("d2", Some("d1"), "worker", "job2", 10_500, 30, None),
            exception("KeyError", "user 8 missing", "", T0 + 10_510 * MS),
        ),
        // An exception event without type or message is not an error occurrence.
        failing(
            sp("e1", None, "worker", "noop", 12_000, 5, None),
            exception("", "", "", T0 + 12_001 * MS),
        ),
    ]
}

/// The project of the browser data set ([`browser_spans`]).
pub const BROWSER_PROJECT: &str = "browser";

/// The user agent of the browser data set's first page load.
pub const CHROME: &str = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like \
                          Gecko) Chrome/131.0.0.0 Safari/537.36";

/// A span of the browser data set: `sp` under [`BROWSER_PROJECT`] with its kind and
/// attributes; a service named `web` runs OpenTelemetry's web SDK.
fn browser_sp(base: Span, kind: SpanKind, attributes: &[(&str, &str)]) -> Span {
    let mut span = Span {
        project_id: BROWSER_PROJECT.into(),
        kind,
        ..base
    };
    for (k, v) in attributes {
        span.attributes.insert((*k).into(), s(v));
    }
    if span.service_name == "web" {
        std::sync::Arc::make_mut(&mut span.resource_attributes)
            .insert("telemetry.sdk.language".into(), s("webjs"));
    }
    span
}

/// Two sessions of a browser and its backend: `w1` loads two pages (current and older
/// conventions) and makes two requests (fetch and XHR), while the backend's own HTTP client
/// and server spans are no requests of the browser; `w2` has backend spans only.
pub fn browser_spans() -> Vec<Span> {
    use SpanKind::{Client, Internal, Server};
    let w1 = Some("w1");
    vec![
        browser_sp(
            sp("g1", None, "web", "documentLoad", 0, 400, w1),
            Internal,
            &[
                ("url.full", "http://shop.test/"),
                ("user_agent.original", CHROME),
            ],
        ),
        browser_sp(
            sp("h1", None, "web", "click", 1_000, 300, w1),
            Internal,
            &[],
        ),
        browser_sp(
            sp("h2", Some("h1"), "web", "HTTP POST", 1_010, 250, w1),
            Client,
            &[("http.request.method", "POST")],
        ),
        browser_sp(
            sp("h3", Some("h2"), "api", "POST /cart", 1_020, 200, w1),
            Server,
            &[("http.request.method", "POST")],
        ),
        browser_sp(
            sp("h4", Some("h3"), "api", "GET", 1_030, 50, w1),
            Client,
            &[("http.method", "GET")],
        ),
        browser_sp(
            sp("i1", None, "web", "documentLoad", 5_000, 300, w1),
            Internal,
            &[
                ("http.url", "http://shop.test/checkout?step=1"),
                (
                    "http.user_agent",
                    "Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Firefox/133.0",
                ),
            ],
        ),
        browser_sp(
            sp("j1", None, "web", "HTTP GET", 6_000, 100, w1),
            Client,
            &[("http.method", "GET")],
        ),
        browser_sp(
            sp("k1", None, "api", "GET /health", 7_000, 10, Some("w2")),
            Server,
            &[("http.request.method", "GET")],
        ),
    ]
}

/// One log record.
#[allow(clippy::too_many_arguments)]
fn log(
    offset_ms: i64,
    number: u8,
    text: &str,
    body: &str,
    in_span: Option<&str>,
    service: &str,
    session: Option<&str>,
    attrs: &[(&str, AttrValue)],
) -> LogRecord {
    let mut attributes = Attributes::new();
    for (k, v) in attrs {
        attributes.insert((*k).into(), v.clone());
    }
    let mut l = LogRecord {
        trace_id: in_span.map(|l| trace(l.chars().next().unwrap_or('z'))),
        span_id: in_span.map(span),
        service_name: service.into(),
        service_version: "1.0".into(),
        environment: "prod".into(),
        scope_name: "app".into(),
        session_id: session.map(String::from),
        attributes,
        ..testkit::log(T0 + offset_ms * MS, number, text, body)
    };
    l.log_id = l.content_id();
    l
}

/// The log records of the data set, labelled `l1`…`l7` by their body's first word.
pub fn logs() -> Vec<LogRecord> {
    vec![
        log(
            20,
            9,
            "INFO",
            "charging card",
            Some("a2"),
            "checkout",
            Some("s1"),
            &[("user.id", AttrValue::Int(42))],
        ),
        log(
            150,
            17,
            "ERROR",
            "payment declined",
            Some("a2"),
            "checkout",
            Some("s1"),
            &[
                ("exception.type", s("PaymentError")),
                ("exception.message", s("declined for order 17")),
                ("exception.stacktrace", s(JAVA_STACK)),
            ],
        ),
        log(
            2_050,
            0,
            "WARNING",
            "cart slow",
            Some("b2"),
            "cart",
            Some("s1"),
            &[],
        ),
        log(
            7_000,
            5,
            "DEBUG",
            "cache miss key=abc",
            None,
            "cart",
            None,
            &[],
        ),
        log(8_000, 17, "ERROR", "disk full", None, "worker", None, &[]),
        log(
            9_000,
            9,
            "INFO",
            "Disk usage report",
            None,
            "worker",
            None,
            &[],
        ),
        log(9_000, 9, "INFO", "tie breaker", None, "worker", None, &[]),
    ]
}

/// The label of a log record: `l` + its position in [`logs`].
pub fn log_label(l: &LogRecord) -> String {
    let i = logs()
        .iter()
        .position(|x| x.log_id == l.log_id)
        .unwrap_or_else(|| panic!("unknown log record {:?}", l.body));
    format!("l{}", i + 1)
}

/// Writes the data set under project `p`, and again under `other` (must never leak), and the
/// browser data set under its own project.
pub async fn load(store: &dyn Store) {
    store.write_spans(spans()).await.unwrap();
    store.write_spans(browser_spans()).await.unwrap();
    store.write_logs(logs()).await.unwrap();
    let other_spans = spans()
        .into_iter()
        .map(|mut s| {
            s.project_id = "other".into();
            s
        })
        .collect();
    store.write_spans(other_spans).await.unwrap();
    let other_logs = logs()
        .into_iter()
        .map(|mut l| {
            l.project_id = "other".into();
            l.log_id = l.content_id();
            l
        })
        .collect();
    store.write_logs(other_logs).await.unwrap();
    // A record without a body (only attributes), in a project of its own.
    let mut bodiless = testkit::log(T0 + 30 * S, 9, "INFO", "");
    bodiless.project_id = "bodiless".into();
    bodiless.log_id = bodiless.content_id();
    store.write_logs(vec![bodiless]).await.unwrap();
}

/// A log search of project `p` over the data set's window.
pub fn log_query(q: &str, sort: SearchSort, limit: usize) -> SearchQuery {
    let parsed = tracehouse_query::parse(q).unwrap_or_else(|e| panic!("{q}: {e}"));
    SearchQuery {
        project_id: "p".into(),
        plan: plan_for(&parsed, Target::Logs),
        start_ns: START,
        end_ns: END,
        sort,
        sort_key: None,
        limit,
        cursor: None,
    }
}

/// Labels of every record matching `q`, following cursors with pages of `page`.
pub async fn log_labels_paged(
    store: &dyn Store,
    q: &str,
    sort: SearchSort,
    page: usize,
) -> Vec<String> {
    let mut query = log_query(q, sort, page);
    let mut out = Vec::new();
    loop {
        let p = store.search_logs(&query).await.unwrap();
        assert!(p.logs.len() <= page);
        out.extend(p.logs.iter().map(log_label));
        match p.next_cursor {
            Some(c) => query.cursor = Some(c),
            None => return out,
        }
    }
}

/// Labels of every record matching `q`, newest first, as a set.
pub async fn log_labels(store: &dyn Store, q: &str) -> BTreeSet<String> {
    log_labels_paged(store, q, SearchSort::TimeDesc, 1000)
        .await
        .into_iter()
        .collect()
}

/// Log search: text, levels, attributes, trace links, sorting and cursors (`when` names
/// the state of the store in failure messages).
pub async fn check_log_search(store: &dyn Store, when: &str) {
    let cases: &[(&str, &str)] = &[
        ("", "l1 l2 l3 l4 l5 l6 l7"),
        ("disk", "l5 l6"),
        ("DISK", "l5 l6"),
        ("\"cart slow\"", "l3"),
        ("level:error", "l2 l5"),
        ("level:ERROR", "l2 l5"),
        ("level:warning", "l3"),
        ("severity:warn", "l3"),
        ("level:debug OR level:info", "l1 l4 l6 l7"),
        ("NOT level:error", "l1 l3 l4 l6 l7"),
        ("level EXISTS", "l1 l2 l3 l4 l5 l6 l7"),
        (&format!("trace_id:{}", trace('a')), "l1 l2"),
        (&format!("span_id:{}", span("b2")), "l3"),
        ("trace_id EXISTS", "l1 l2 l3"),
        ("trace_id NOT EXISTS", "l4 l5 l6 l7"),
        ("user.id=42", "l1"),
        ("span.user.id>40", "l1"),
        ("resource.user.id=42", ""),
        ("service:checkout", "l1 l2"),
        ("service:cart body:*miss*", "l4"),
        ("message:\"disk full\"", "l5"),
        ("session_id:s1", "l1 l2 l3"),
        ("body:/cache.*abc/", "l4"),
        ("exception.type=PaymentError", "l2"),
        ("duration>1ms", ""),
        ("span_kind:server", ""),
        ("NOT duration>1ms", "l1 l2 l3 l4 l5 l6 l7"),
        ("leak", ""),
    ];
    for (q, want) in cases {
        assert_eq!(
            log_labels(store, q).await,
            set(want),
            "[{when}] logs matching {q:?}"
        );
    }
    // Newest first with ties broken by log id, the same order page by page.
    let all = log_labels_paged(store, "", SearchSort::TimeDesc, 1000).await;
    assert_eq!(all[2..], ["l5", "l4", "l3", "l2", "l1"], "[{when}] {all:?}");
    assert_eq!(set(&all[..2].join(" ")), set("l6 l7"));
    for page in [1, 2, 3] {
        assert_eq!(
            log_labels_paged(store, "", SearchSort::TimeDesc, page).await,
            all,
            "[{when}] pages of {page}"
        );
        let mut asc = all.clone();
        asc.reverse();
        assert_eq!(
            log_labels_paged(store, "", SearchSort::TimeAsc, page).await,
            asc,
            "[{when}] oldest first, pages of {page}"
        );
    }
    // A trace's logs, oldest first, whatever the time window.
    let in_trace: Vec<String> = store
        .trace_logs("p", trace('a'))
        .await
        .unwrap()
        .iter()
        .map(log_label)
        .collect();
    assert_eq!(in_trace, ["l1", "l2"], "[{when}]");
    assert!(store.trace_logs("p", trace('q')).await.unwrap().is_empty());
    // What a log search refuses.
    let structural = log_query("{level:error}", SearchSort::TimeDesc, 10);
    assert!(matches!(
        store.search_logs(&structural).await,
        Err(StoreError::InvalidArgument(_))
    ));
    let by_duration = log_query("", SearchSort::DurationDesc, 10);
    assert!(matches!(
        store.search_logs(&by_duration).await,
        Err(StoreError::InvalidArgument(_))
    ));
    // Records keep every field.
    let page = store
        .search_logs(&log_query(
            "level:error trace_id EXISTS",
            SearchSort::TimeDesc,
            10,
        ))
        .await
        .unwrap();
    assert_eq!(page.logs, vec![logs()[1].clone()], "[{when}] round trip");
}

/// Log histograms: totals and per-level counts per bucket.
pub async fn check_log_histogram(store: &dyn Store, when: &str) {
    let histogram = |q: &str| {
        let parsed = tracehouse_query::parse(q).unwrap();
        HistogramQuery {
            project_id: "p".into(),
            plan: plan_for(&parsed, Target::Logs),
            start_ns: T0,
            end_ns: T0 + 10 * S,
            buckets: 10,
            traces: false,
        }
    };
    let h = store.log_histogram(&histogram("")).await.unwrap();
    assert_eq!(h.width_ns, S, "[{when}]");
    assert_eq!(h.buckets.len(), 10);
    let counts: Vec<u64> = h.buckets.iter().map(|b| b.count).collect();
    assert_eq!(counts, [2, 0, 1, 0, 0, 0, 0, 1, 1, 2], "[{when}]");
    let first = &h.buckets[0].levels;
    assert_eq!(first.get(&Level::Info), Some(&1));
    assert_eq!(first.get(&Level::Error), Some(&1));
    assert_eq!(first.len(), 2, "levels without records are left out");
    assert_eq!(h.buckets[2].levels.get(&Level::Warn), Some(&1));
    assert_eq!(h.buckets[9].levels.get(&Level::Info), Some(&2));
    let errors = store
        .log_histogram(&histogram("level:error"))
        .await
        .unwrap();
    let counts: Vec<u64> = errors.buckets.iter().map(|b| b.count).collect();
    assert_eq!(counts, [1, 0, 0, 0, 0, 0, 0, 0, 1, 0], "[{when}]");
}

fn occurrence_labels(errors: &[tracehouse_model::ErrorOccurrence]) -> Vec<String> {
    errors
        .iter()
        .map(|e| match e.source {
            ErrorSource::Log => format!("log:{}", e.error_type),
            ErrorSource::SpanEvent => {
                let id = e.span_id.expect("span events have a span");
                format!("{}{}", id.0[0] as char, id.0[1] as char)
            }
        })
        .collect()
}

/// Every error occurrence of project `p` in the window.
pub fn error_query() -> ErrorQuery {
    ErrorQuery {
        project_id: "p".into(),
        start_ns: START,
        end_ns: END,
        limit: 100,
        ..Default::default()
    }
}

/// Error occurrences: from spans and logs, by trace, session and group.
pub async fn check_errors(store: &dyn Store, when: &str) {
    let all = store.errors(&error_query()).await.unwrap();
    assert_eq!(
        occurrence_labels(&all),
        ["d2", "d1", "c2", "b2", "log:PaymentError", "a2"],
        "[{when}] newest first"
    );
    let a2 = all.last().unwrap();
    assert_eq!(a2.error_type, "ValueError");
    assert_eq!(a2.message, "card 4242 declined");
    assert_eq!(a2.stacktrace, PY_STACK);
    assert_eq!(a2.service_name, "checkout");
    assert_eq!(a2.trace_id, Some(trace('a')));
    assert_eq!(a2.session_id.as_deref(), Some("s1"));
    assert_eq!(a2.time_unix_nano, T0 + 50 * MS);
    assert_eq!(a2.fingerprint, fingerprint("ValueError", "", PY_STACK));
    let log_error = &all[4];
    assert_eq!(log_error.message, "declined for order 17");
    assert_eq!(log_error.span_id, Some(span("a2")));
    let of_trace = store
        .errors(&ErrorQuery {
            trace_id: Some(trace('a')),
            start_ns: i64::MIN,
            end_ns: i64::MAX,
            ..error_query()
        })
        .await
        .unwrap();
    assert_eq!(
        occurrence_labels(&of_trace),
        ["log:PaymentError", "a2"],
        "[{when}]"
    );
    let of_session = store
        .errors(&ErrorQuery {
            session_id: Some("s1".into()),
            ..error_query()
        })
        .await
        .unwrap();
    assert_eq!(
        occurrence_labels(&of_session),
        ["b2", "log:PaymentError", "a2"],
        "[{when}] b2 by its trace's root"
    );
    assert!(
        of_session
            .iter()
            .all(|e| e.session_id.as_deref() == Some("s1")),
        "[{when}] {of_session:?}"
    );
    let b2 = &all[3];
    assert_eq!(
        b2.session_id.as_deref(),
        Some("s1"),
        "[{when}] an occurrence takes its trace root's session"
    );
    let worker = &all[0];
    assert_eq!(worker.session_id, None, "[{when}] no root session: none");
    let of_group = store
        .errors(&ErrorQuery {
            fingerprint: Some(a2.fingerprint.clone()),
            limit: 1,
            ..error_query()
        })
        .await
        .unwrap();
    assert_eq!(occurrence_labels(&of_group), ["b2"], "[{when}] limit 1");
}

/// Every error group of project `p` in the window.
pub fn groups_query() -> ErrorGroupsQuery {
    ErrorGroupsQuery {
        project_id: "p".into(),
        start_ns: START,
        end_ns: END,
        text: None,
        fingerprint: None,
        service: None,
        environment: None,
        limit: 50,
        buckets: 6,
    }
}

/// Error groups: fingerprints, counts and trends, and the group filters.
pub async fn check_error_groups(store: &dyn Store, when: &str) {
    let g = store.error_groups(&groups_query()).await.unwrap();
    assert_eq!(g.width_ns, 10 * S, "[{when}]");
    assert_eq!(g.start_ns, T0);
    let types: Vec<&str> = g.groups.iter().map(|x| x.error_type.as_str()).collect();
    assert_eq!(
        types,
        ["KeyError", "ValueError", "TypeError", "PaymentError"],
        "[{when}] by count, then most recent"
    );
    let key = &g.groups[0];
    assert_eq!(key.count, 2);
    assert_eq!(key.trace_count, 1);
    assert_eq!(key.session_count, 0);
    assert_eq!(
        key.message, "user 8 missing",
        "the newest occurrence's message"
    );
    assert_eq!(key.trend, [0, 2, 0, 0, 0, 0]);
    assert_eq!(key.example_trace_ids, [trace('d')]);
    let value = &g.groups[1];
    assert_eq!(
        value.count, 2,
        "[{when}] the same stack in two traces groups"
    );
    assert_eq!(value.trace_count, 2);
    assert_eq!(value.session_count, 1);
    assert_eq!(value.services, ["cart", "checkout"]);
    assert_eq!(value.first_seen_ns, T0 + 50 * MS);
    assert_eq!(value.last_seen_ns, T0 + 2_030 * MS);
    assert_eq!(value.message, "card 1111 declined");
    assert_eq!(value.stacktrace, PY_STACK_MOVED);
    assert_eq!(value.trend, [2, 0, 0, 0, 0, 0]);
    assert_eq!(value.example_trace_ids, [trace('b'), trace('a')]);
    assert_eq!(value.fingerprint, fingerprint("ValueError", "x", PY_STACK));
    let payment = &g.groups[3];
    assert_eq!(payment.services, ["checkout"]);
    assert_eq!(payment.example_trace_ids, [trace('a')]);

    let text = store
        .error_groups(&ErrorGroupsQuery {
            text: Some("DECLINED".into()),
            ..groups_query()
        })
        .await
        .unwrap();
    let types: Vec<&str> = text.groups.iter().map(|x| x.error_type.as_str()).collect();
    assert_eq!(
        types,
        ["ValueError", "PaymentError"],
        "[{when}] text filter"
    );
    let literal = store
        .error_groups(&ErrorGroupsQuery {
            text: Some("%".into()),
            ..groups_query()
        })
        .await
        .unwrap();
    assert!(literal.groups.is_empty(), "[{when}] % is literal text");
    let one = store
        .error_groups(&ErrorGroupsQuery {
            fingerprint: Some(value.fingerprint.clone()),
            service: None,
            environment: None,
            ..groups_query()
        })
        .await
        .unwrap();
    assert_eq!(one.groups, vec![value.clone()], "[{when}] one group");
    let top = store
        .error_groups(&ErrorGroupsQuery {
            limit: 1,
            ..groups_query()
        })
        .await
        .unwrap();
    assert_eq!(top.groups.len(), 1);
    assert_eq!(top.groups[0].error_type, "KeyError");
    check_error_groups_of_service(store, when).await;
}

/// Error groups of one service (and environment): only the groups it raised, counted over its
/// own occurrences.
async fn check_error_groups_of_service(store: &dyn Store, when: &str) {
    let of = |service: &str| ErrorGroupsQuery {
        service: Some(service.into()),
        ..groups_query()
    };
    let cart = store.error_groups(&of("cart")).await.unwrap();
    assert_eq!(cart.groups.len(), 1, "[{when}] {cart:?}");
    let value = &cart.groups[0];
    assert_eq!(value.fingerprint, fingerprint("ValueError", "x", PY_STACK));
    assert_eq!(value.services, ["cart"], "[{when}]");
    assert_eq!(
        (value.count, value.trace_count, value.session_count),
        (1, 1, 1),
        "[{when}] only cart's occurrence (b2, in session s1 by its root)"
    );
    assert_eq!(value.first_seen_ns, T0 + 2_030 * MS);
    assert_eq!(value.last_seen_ns, T0 + 2_030 * MS);
    assert_eq!(value.message, "card 1111 declined");
    assert_eq!(value.trend, [1, 0, 0, 0, 0, 0]);
    assert_eq!(value.example_trace_ids, [trace('b')]);
    let checkout = store.error_groups(&of("checkout")).await.unwrap();
    let mut types: Vec<&str> = checkout
        .groups
        .iter()
        .map(|x| x.error_type.as_str())
        .collect();
    types.sort_unstable();
    assert_eq!(
        types,
        ["PaymentError", "ValueError"],
        "[{when}] a log record's service is its own"
    );
    let value = checkout
        .groups
        .iter()
        .find(|g| g.error_type == "ValueError");
    assert_eq!(
        value.map(|v| (v.count, v.first_seen_ns, v.message.as_str())),
        Some((1, T0 + 50 * MS, "card 4242 declined")),
        "[{when}] only checkout's occurrence (a2)"
    );
    let text = store
        .error_groups(&ErrorGroupsQuery {
            text: Some("payment".into()),
            ..of("checkout")
        })
        .await
        .unwrap();
    assert_eq!(text.groups.len(), 1, "[{when}] service and text together");
    let in_environment = |environment: &str| ErrorGroupsQuery {
        environment: Some(environment.into()),
        ..of("cart")
    };
    let prod = store.error_groups(&in_environment("prod")).await.unwrap();
    assert_eq!(prod, cart, "[{when}] every occurrence is of prod");
    let staging = store
        .error_groups(&in_environment("staging"))
        .await
        .unwrap();
    assert!(staging.groups.is_empty(), "[{when}] none of staging");
    for service in ["car", "Cart", "nope"] {
        let none = store.error_groups(&of(service)).await.unwrap();
        assert!(none.groups.is_empty(), "[{when}] {service}: {none:?}");
    }
}

/// Sessions: their order, time ranges, counts and services, limits and lookups by id.
pub async fn check_sessions(store: &dyn Store, when: &str) {
    let q = SessionsQuery {
        project_id: "p".into(),
        start_ns: START,
        end_ns: END,
        session_id: None,
        limit: 100,
    };
    let list = store.sessions(&q).await.unwrap();
    let ids: Vec<&str> = list.iter().map(|s| s.session_id.as_str()).collect();
    assert_eq!(ids, ["s2", "s1"], "[{when}] most recently active first");
    let s1 = &list[1];
    assert_eq!(s1.start_ns, T0);
    assert_eq!(s1.end_ns, T0 + 2_100 * MS);
    assert_eq!(s1.duration_ns, 2_100 * MS);
    assert_eq!(s1.trace_count, 2);
    assert_eq!(
        s1.span_count, 3,
        "[{when}] the spans that carry the session"
    );
    assert_eq!(
        s1.error_count, 3,
        "[{when}] two span events (one by its trace's root) and one error log"
    );
    assert_eq!(s1.services, ["checkout", "frontend"]);
    assert_eq!(list[0].error_count, 1);
    let limited = store
        .sessions(&SessionsQuery {
            limit: 1,
            ..q.clone()
        })
        .await
        .unwrap();
    assert_eq!(limited.len(), 1);

    let detail = store
        .session("p", "s1", START, END)
        .await
        .unwrap()
        .expect("session s1");
    assert_eq!(&detail.session, s1);
    let traces: Vec<TraceId> = detail.traces.iter().map(|t| t.trace_id).collect();
    assert_eq!(traces, [trace('a'), trace('b')], "[{when}] oldest first");
    assert_eq!(detail.traces[0].root_name, "GET /checkout");
    assert_eq!(
        occurrence_labels(&detail.errors),
        ["a2", "log:PaymentError", "b2"],
        "[{when}] oldest first"
    );
    let logs: Vec<String> = detail.logs.iter().map(log_label).collect();
    assert_eq!(logs, ["l1", "l2", "l3"]);
    assert!(
        store
            .session("p", "nope", START, END)
            .await
            .unwrap()
            .is_none()
    );
    assert!(
        store
            .session("other-project", "s1", START, END)
            .await
            .unwrap()
            .is_none()
    );
}

/// Browser sessions: page loads, requests of the browser (not of its backend), the browser
/// of the first page load and the summary from the entry page to the last.
pub async fn check_browser_sessions(store: &dyn Store, when: &str) {
    let list = store
        .sessions(&SessionsQuery {
            project_id: BROWSER_PROJECT.into(),
            start_ns: START,
            end_ns: END,
            session_id: None,
            limit: 100,
        })
        .await
        .unwrap();
    let ids: Vec<&str> = list.iter().map(|s| s.session_id.as_str()).collect();
    assert_eq!(ids, ["w2", "w1"], "[{when}]");
    let w1 = &list[1];
    assert_eq!(
        (w1.page_count, w1.request_count, w1.trace_count),
        (2, 2, 4),
        "[{when}] {w1:?}"
    );
    assert_eq!(
        w1.browser.as_deref(),
        Some("Chrome 131 on Linux"),
        "[{when}]"
    );
    assert_eq!(w1.entry_page.as_deref(), Some("http://shop.test/"));
    assert_eq!(
        w1.exit_page.as_deref(),
        Some("http://shop.test/checkout?step=1")
    );
    assert_eq!(w1.summary.as_deref(), Some("/ → /checkout"), "[{when}]");
    let w2 = &list[0];
    assert_eq!(
        (w2.page_count, w2.request_count, &w2.browser, &w2.summary),
        (0, 0, &None, &None),
        "[{when}] backend spans only"
    );
}

/// Autocomplete for log queries: the keys of log records (intrinsics, record and resource
/// attributes) and the top values of a key, kept apart from the spans'.
pub async fn check_log_keys(store: &dyn Store, when: &str) {
    use crate::{KeyScope, ValuesQuery};
    use tracehouse_query::plan::resolve_key;
    let keys = log_keys(store, "p", (START, END)).await;
    let has = |key: &str, scope: KeyScope| keys.iter().find(|k| k.key == key && k.scope == scope);
    let level = has("level", KeyScope::Intrinsic).unwrap_or_else(|| panic!("[{when}] {keys:?}"));
    assert_eq!(level.count, 7, "[{when}] every record has a level");
    assert_eq!(
        has("user.id", KeyScope::Span).map(|k| (k.count, k.value_type.as_str())),
        Some((1, "int")),
        "[{when}] record attributes are the span scope of logs"
    );
    assert_eq!(
        has("exception.type", KeyScope::Span).map(|k| k.count),
        Some(1)
    );
    assert!(
        has("trace_id", KeyScope::Intrinsic).is_some_and(|k| k.count == 3),
        "[{when}]"
    );
    assert!(
        has("span_name", KeyScope::Intrinsic).is_none()
            && has("duration", KeyScope::Intrinsic).is_none(),
        "[{when}] span intrinsics are not log keys: {keys:?}"
    );
    let values = |key: &str, prefix: &str| ValuesQuery {
        project_id: "p".into(),
        target: Target::Logs,
        field: resolve_key(key, Target::Logs),
        start_ns: START,
        end_ns: END,
        prefix: prefix.into(),
        limit: 10,
    };
    let levels: Vec<(String, u64)> = store
        .values(&values("level", ""))
        .await
        .unwrap()
        .into_iter()
        .map(|v| (v.value, v.count))
        .collect();
    let want: Vec<(String, u64)> = [("info", 3), ("error", 2), ("debug", 1), ("warn", 1)]
        .into_iter()
        .map(|(v, n)| (v.to_string(), n))
        .collect();
    assert_eq!(levels, want, "[{when}] level values, most frequent first");
    let services: Vec<String> = store
        .values(&values("service", "c"))
        .await
        .unwrap()
        .into_iter()
        .map(|v| v.value)
        .collect();
    assert_eq!(services, ["cart", "checkout"], "[{when}] prefix filter");
    // Span keys stay span keys.
    let span_keys = store
        .keys(&KeysQuery {
            project_id: "p".into(),
            target: Target::Spans,
            start_ns: START,
            end_ns: END,
            prefix: "lev".into(),
            limit: 100,
        })
        .await
        .unwrap();
    assert!(span_keys.is_empty(), "[{when}] {span_keys:?}");
    check_log_key_counts_in_range(store, when).await;
}

/// The log keys of `project` in `[start, end)`.
async fn log_keys(
    store: &dyn Store,
    project: &str,
    (start_ns, end_ns): (i64, i64),
) -> Vec<KeyInfo> {
    store
        .keys(&KeysQuery {
            project_id: project.into(),
            target: Target::Logs,
            start_ns,
            end_ns,
            prefix: String::new(),
            limit: 100,
        })
        .await
        .unwrap()
}

/// Log keys count the records of the range, not of its hour: each key offered counts what
/// `KEY EXISTS` finds there — after the first two records; after the first one, to the
/// hour's last minute (its hour less the rest of it).
async fn check_log_key_counts_in_range(store: &dyn Store, when: &str) {
    for (start_ns, end_ns) in [(START + S, END), (START + 100 * MS, START + 3500 * S)] {
        let keys = log_keys(store, "p", (start_ns, end_ns)).await;
        for k in &keys {
            let q = SearchQuery {
                start_ns,
                end_ns,
                ..log_query(&format!("{} EXISTS", k.key), SearchSort::TimeDesc, 1000)
            };
            let found = store.search_logs(&q).await.unwrap().logs.len() as u64;
            assert_eq!(k.count, found, "[{when}] {} in {start_ns}..{end_ns}", k.key);
        }
        let count = |key: &str| keys.iter().find(|k| k.key == key).map(|k| k.count);
        let want = if start_ns == START + S {
            (Some(5), Some(1), None)
        } else {
            (Some(6), Some(2), None)
        };
        assert_eq!(
            (count("level"), count("trace_id"), count("user.id")),
            want,
            "[{when}] l1's user.id is before both ranges"
        );
    }
    // An empty body is no body, as `body EXISTS` finds none.
    let keys = log_keys(store, "bodiless", (START, END)).await;
    let count = |key: &str| keys.iter().find(|k| k.key == key).map(|k| k.count);
    assert_eq!(
        (count("level"), count("body")),
        (Some(1), Some(0)),
        "[{when}]"
    );
}

/// Every check, labelled `when` (e.g. "memtable" or "parts").
pub async fn check_all(store: &dyn Store, when: &str) {
    check_log_search(store, when).await;
    check_log_histogram(store, when).await;
    check_errors(store, when).await;
    check_error_groups(store, when).await;
    check_sessions(store, when).await;
    check_browser_sessions(store, when).await;
    check_log_keys(store, when).await;
}
