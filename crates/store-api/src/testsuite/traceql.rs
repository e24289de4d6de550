//! The TraceQL conformance corpus: the examples of Tempo's TraceQL documentation, written
//! against the data set of [`super::semantic`], each with the exact spans it must match
//! (every other span of the data set must not). Every backend runs it after loading that
//! data set, so TraceQL answers alike everywhere.

use std::collections::BTreeSet;

use super::semantic::{END, START, label_of, trace_label};
use super::testkit::set;
use crate::{SearchQuery, SearchSort, Store};

/// (TraceQL query, expected spans).
const CASES: &[(&str, &str)] = &[
    ("{ }", "a1 a2 a3 b1 b2 b3 b4 c1 d1 d2 d3 e1 e2 e3 e4"),
    // "Find traces of a specific operation"
    (
        r#"{ resource.service.name = "frontend" && name = "GET /checkout" }"#,
        "a1 b1",
    ),
    // "Find traces having a particular outcome"
    (
        r#"{ resource.service.name = "frontend" && name = "GET /checkout" && status = error }"#,
        "b1",
    ),
    (
        r#"{ resource.service.name = "frontend" && span.http.status_code >= 500 }"#,
        "b1",
    ),
    // spans of one trace that meet different conditions
    (
        r#"{ span.http.method = "GET" && status = error } && { span.http.method = "POST" && status != ok }"#,
        "b1 b2",
    ),
    (
        r#"{ resource.service.name = "cart" } && { resource.service.name = "postgres" }"#,
        "a2 a3 b2 b3 b4",
    ),
    (
        r#"{ kind = producer } || { resource.service.name = "cart" }"#,
        "a2 b2 c1 d2",
    ),
    // "Use structural operators"
    (
        r#"{ resource.service.name = "frontend" } >> { status = error }"#,
        "b2 d3",
    ),
    ("{ } !< { }", "a3 b3 b4 c1 d2 d3 e2 e3 e4"),
    (
        r#"{ } !< { resource.service.name = "postgres" }"#,
        "a3 b3 b4 e2 e3 e4",
    ),
    (
        r#"{ resource.service.name = "postgres" } ~ { resource.service.name = "postgres" }"#,
        "b3 b4 e2 e3 e4",
    ),
    ("{ status = error } !< { status = error }", "b2 d3"),
    (
        r#"{ resource.service.name = "frontend" } > { resource.service.name = "cart" }"#,
        "a2 b2",
    ),
    (
        r#"{ resource.service.name = "cart" } < { resource.service.name = "frontend" }"#,
        "a1 b1",
    ),
    (
        r#"{ resource.service.name = "postgres" } << { }"#,
        "a1 a2 b1 b2 e1",
    ),
    ("{ kind = producer } ~ { status = error }", "d3"),
    // union structural operators
    (
        r#"{ span.http.method = "GET" && status = error } &>> { status = error }"#,
        "b1 b2",
    ),
    (
        r#"{ resource.service.name = "cart" } &> { resource.service.name = "postgres" }"#,
        "a2 a3 b2 b3 b4",
    ),
    ("{ kind = producer } &~ { status = error }", "d2 d3"),
    // negated structural operators
    (
        r#"{ resource.service.name = "frontend" } !> { resource.service.name = "postgres" }"#,
        "a3 b3 b4",
    ),
    (
        r#"{ resource.service.name = "cart" } !>> { resource.service.name = "postgres" }"#,
        "e2 e3 e4",
    ),
    (
        r#"{ resource.service.name = "postgres" } !<< { resource.service.name = "frontend" }"#,
        "d1",
    ),
    (
        r#"{ kind = producer } !~ { resource.service.name = "payments" }"#,
        "d2",
    ),
    // "Other examples", select() does not change what matches
    (
        "{ span.http.status_code = 200 } | select(resource.service.name)",
        "a1",
    ),
    // regular expressions are anchored at both ends
    (
        r#"{ span.db.system =~ "postgresql|mysql" }"#,
        "a3 b3 b4 e2 e3 e4",
    ),
    (r#"{ span.db.system =~ "postgres" }"#, ""),
    (r#"{ span.http.method !~ "GET|POST" }"#, ""),
    (r#"{ span.http.method !~ "G.*" }"#, "a2 b2 d1"),
    // `!=` needs the attribute; `nil` is "not set"
    (r#"{ span.http.method != "GET" }"#, "a2 b2 d1"),
    ("{ span.http.method = nil }", "a3 b3 b4 d2 d3 e2 e3 e4"),
    ("{ span.user.id != nil }", "a2 b2 c1"),
    (
        "{ event.retry.count = nil }",
        "a2 a3 b1 b3 b4 c1 d1 d2 d3 e1 e2 e3 e4",
    ),
    // scopes and quoted names
    (r#"{ resource.host.name = "web-2" }"#, "b1"),
    (r#"{ .host.name = "cart-1" }"#, "a2"),
    (r#"{ .kind = "batch" }"#, "e2"),
    (r#"{ event.error.kind = "timeout" }"#, "b2"),
    ("{ link.hops > 1 }", "b2 b3"),
    (r#"{ instrumentation.tier = "web" }"#, "a1 e1"),
    (r#"{ span."http.method" = "GET" }"#, "a1 b1 c1 e1"),
    (r#"{ .user.id = 7 }"#, "c1"),
    ("{ span.db.rows > 1.2 }", "a3"),
    ("{ span.retry }", "d2"),
    ("{ span.retry = false }", "d3"),
    (
        r#"{ !(resource.service.name = "postgres" || resource.service.name = "frontend") }"#,
        "a2 b2 c1 d2 d3",
    ),
    // intrinsics
    ("{ kind = client && duration >= 600ms }", "b3"),
    (r#"{ statusMessage != "x" && kind = producer }"#, "d2"),
    ("{ span:kind = producer }", "d2"),
    (r#"{ span:id = "0202000000000001" }"#, "b2"),
    (r#"{ span:parentID = "0202000000000001" }"#, "b3 b4"),
    (
        r#"{ trace:id = "05050505050505050505050505050505" }"#,
        "e1 e2 e3 e4",
    ),
    ("{ name = \"charge\u{2003}card\" }", "d3"),
    // trace-level intrinsics
    (
        r#"{ trace:rootService = "frontend" && resource.service.name = "postgres" }"#,
        "a3 b3 b4 e2 e3 e4",
    ),
    (r#"{ rootName = "GET /checkout" }"#, "a1 a2 a3 b1 b2 b3 b4"),
    (r#"{ rootServiceName = "cart" }"#, "c1"),
    (
        r#"{ trace:rootName = "GET /orders" && duration > 35ms }"#,
        "e1 e3 e4",
    ),
    // arithmetic on literals
    ("{ duration > 100ms * 5 }", "b1 b2 b3"),
    ("{ span.http.status_code >= 400 + 100 }", "b1"),
    // aggregates and grouping
    (
        r#"{ resource.service.name = "postgres" } | count() > 2"#,
        "e2 e3 e4",
    ),
    ("{ } | max(duration) > 800ms", "b1 b2 b3 b4"),
    (
        r#"{ resource.service.name = "postgres" } | avg(duration) > 100ms"#,
        "b3 b4",
    ),
    (
        "{ status = error } | by(resource.service.name) | count() > 1",
        "",
    ),
    ("{ } | by(resource.service.name) | count() > 2", "e2 e3 e4"),
    ("{ } | sum(span.user.id) > 4000", "a1 a2 a3 b1 b2 b3 b4"),
    ("count() > 3", "b1 b2 b3 b4 e1 e2 e3 e4"),
    (
        r#"{ resource.service.name = "postgres" } | by(name) | count() > 1 | coalesce() | count() >= 2"#,
        "e2 e3",
    ),
    (
        r#"{ resource.service.name = "postgres" } | by(name) | count() > 1 | coalesce() | count() > 2"#,
        "",
    ),
    (
        r#"{ } | { span.db.system = "postgresql" }"#,
        "a3 b3 b4 e2 e3 e4",
    ),
    // another project's spans never show
    ("{ span.leak = true }", ""),
];

/// (TraceQL query, expected traces).
const TRACE_CASES: &[(&str, &str)] = &[
    ("{ status = error }", "b d"),
    (
        r#"{ resource.service.name = "frontend" } >> { resource.service.name = "postgres" }"#,
        "a b e",
    ),
    ("{ } !< { status = error }", "d"),
    (r#"{ trace:rootService = "frontend" }"#, "a b d e"),
];

fn query(q: &str) -> SearchQuery {
    let parsed = tracehouse_query::traceql::parse(q).unwrap_or_else(|e| panic!("{q}: {e}"));
    SearchQuery {
        project_id: "p".into(),
        plan: parsed.plan,
        start_ns: START,
        end_ns: END,
        sort: SearchSort::TimeDesc,
        sort_key: None,
        limit: 1000,
        cursor: None,
    }
}

/// Runs the corpus on a store holding [`super::semantic::load`]'s data set.
pub async fn check_all(store: &dyn Store, when: &str) {
    for (q, expected) in CASES {
        let page = store.search_spans(&query(q)).await.unwrap();
        let got: BTreeSet<String> = page.spans.iter().map(|s| label_of(s.span_id)).collect();
        assert_eq!(got, set(expected), "{when}: spans of {q}");
    }
    for (q, expected) in TRACE_CASES {
        let page = store.search_traces(&query(q)).await.unwrap();
        let got: BTreeSet<String> = page
            .traces
            .iter()
            .map(|t| trace_label(t.trace_id))
            .collect();
        assert_eq!(got, set(expected), "{when}: traces of {q}");
    }
}
