//! The backend-neutral semantic suite of search, trace search, histograms and
//! autocomplete, written against the `Store` trait: a fixed data set, many queries, and
//! the exact span / trace ids each must return. Every backend runs it with the same data
//! and the same expected answers: the embedded store in `crates/engine/tests/search.rs`, ClickHouse in
//! `crates/clickhouse/tests/semantic.rs`.

use std::collections::BTreeSet;

use crate::{
    HistogramQuery, KeyScope, KeysQuery, SearchCursor, SearchQuery, SearchSort, Store, ValuesQuery,
};
use tracehouse_model::{
    AttrValue, Attributes, Event, Link, Span, SpanId, SpanKind, StatusCode, TraceId,
};
use tracehouse_query::plan::{Target, resolve_key};

/// 2023-11-14T22:00:00Z, an hour boundary.
pub const T0: i64 = 1_699_999_200_000_000_000;
pub use super::testkit::{MS, S, set};

/// One span of the data set, named by a label like `a1` (trace `a`, span 1).
pub struct Def {
    label: &'static str,
    parent: Option<&'static str>,
    service: &'static str,
    name: &'static str,
    kind: SpanKind,
    offset_ms: i64,
    dur_ms: i64,
    error: bool,
    attrs: Vec<(&'static str, AttrValue)>,
    resource: Vec<(&'static str, AttrValue)>,
    /// The attributes of each event.
    events: Vec<Vec<(&'static str, AttrValue)>>,
    /// The attributes of each link.
    links: Vec<Vec<(&'static str, AttrValue)>>,
    /// Instrumentation scope attributes.
    scope: Vec<(&'static str, AttrValue)>,
}

fn d(
    label: &'static str,
    parent: Option<&'static str>,
    service: &'static str,
    name: &'static str,
    kind: SpanKind,
    offset_ms: i64,
    dur_ms: i64,
) -> Def {
    Def {
        label,
        parent,
        service,
        name,
        kind,
        offset_ms,
        dur_ms,
        error: false,
        attrs: Vec::new(),
        resource: Vec::new(),
        events: Vec::new(),
        links: Vec::new(),
        scope: Vec::new(),
    }
}

impl Def {
    fn error(mut self) -> Self {
        self.error = true;
        self
    }
    fn attr(mut self, k: &'static str, v: AttrValue) -> Self {
        self.attrs.push((k, v));
        self
    }
    fn res(mut self, k: &'static str, v: AttrValue) -> Self {
        self.resource.push((k, v));
        self
    }
    fn event(mut self, attrs: Vec<(&'static str, AttrValue)>) -> Self {
        self.events.push(attrs);
        self
    }
    fn link(mut self, attrs: Vec<(&'static str, AttrValue)>) -> Self {
        self.links.push(attrs);
        self
    }
    fn scope(mut self, k: &'static str, v: AttrValue) -> Self {
        self.scope.push((k, v));
        self
    }
}

fn attrs_of(list: &[(&'static str, AttrValue)]) -> Attributes {
    list.iter().map(|(k, v)| ((*k).into(), v.clone())).collect()
}

fn s(v: &str) -> AttrValue {
    AttrValue::Str(v.into())
}

/// Trace number of a label (`a` → 1).
fn trace_of(label: &str) -> u8 {
    label.as_bytes()[0] - b'a' + 1
}

/// The span id a label stands for (`b2` → trace 2, span 2).
pub fn span_id_of(label: &str) -> SpanId {
    let b = label.as_bytes();
    SpanId([trace_of(label), b[1] - b'0', 0, 0, 0, 0, 0, 1])
}

/// The label of a span id of the data set.
pub fn label_of(id: SpanId) -> String {
    format!("{}{}", char::from(b'a' + id.0[0] - 1), id.0[1])
}

/// The label of a trace id of the data set (`a`…`e`).
pub fn trace_label(id: TraceId) -> String {
    char::from(b'a' + id.0[0] - 1).to_string()
}

/// Trace start offsets: a at 0 min, b at 10, c at 20, d at 30, e at 40.
pub fn trace_start(label: &str) -> i64 {
    T0 + i64::from(trace_of(label) - 1) * 600 * S
}

/// The data set: five traces (`a`…`e`): a healthy checkout, a failing one with a slow
/// database, a lone cart request, a payment with a producer and a failing step, and a trace
/// with many database calls.
pub fn data() -> Vec<Def> {
    use SpanKind::*;
    vec![
        // a: a healthy checkout through cart and postgres.
        d("a1", None, "frontend", "GET /checkout", Server, 0, 300)
            .attr("http.method", s("GET"))
            .attr("http.status_code", AttrValue::Int(200))
            .res("host.name", s("web-1"))
            .event(vec![
                ("cache", s("miss")),
                ("retry.count", AttrValue::Int(1)),
            ])
            .event(vec![("retry.count", AttrValue::Int(3))])
            .scope("otel.lib", s("http"))
            .scope("tier", s("web")),
        d(
            "a2",
            Some("a1"),
            "cart",
            "POST /cart/items",
            Server,
            10,
            120,
        )
        .attr("http.method", s("POST"))
        .attr("user.id", AttrValue::Int(4242))
        .res("host.name", s("cart-1")),
        d("a3", Some("a2"), "postgres", "SELECT cart", Client, 20, 80)
            .attr("db.system", s("postgresql"))
            .attr("db.rows", AttrValue::Float(1.5))
            .event(vec![("sql.retry", AttrValue::Bool(true))]),
        // b: a failing checkout with a slow database.
        d("b1", None, "frontend", "GET /checkout", Server, 0, 900)
            .error()
            .attr("http.method", s("GET"))
            .attr("http.status_code", AttrValue::Int(500))
            .res("host.name", s("web-2")),
        d("b2", Some("b1"), "cart", "POST /cart/items", Server, 5, 850)
            .error()
            .attr("http.method", s("POST"))
            .attr("user.id", s("4242"))
            .event(vec![("retry.count", s("2")), ("error.kind", s("timeout"))])
            .link(vec![
                ("link.kind", s("follows")),
                ("hops", AttrValue::Int(2)),
            ]),
        d("b3", Some("b2"), "postgres", "SELECT cart", Client, 10, 600)
            .attr("db.system", s("postgresql"))
            .link(vec![("hops", AttrValue::Int(5))])
            .link(vec![("hops", AttrValue::Int(1))]),
        d(
            "b4",
            Some("b2"),
            "postgres",
            "INSERT orders",
            Client,
            700,
            20,
        )
        .attr("db.system", s("postgresql")),
        // c: a lone cart request.
        d("c1", None, "cart", "GET /cart", Server, 0, 5)
            .attr("http.method", s("GET"))
            .attr("user.id", AttrValue::Int(7)),
        // d: a payment with a producer and a failing internal step.
        d("d1", None, "frontend", "POST /pay", Server, 0, 50)
            .attr("http.method", s("POST"))
            .attr("note", s("")),
        d("d2", Some("d1"), "payments", "kafka.send", Producer, 1, 2)
            .attr("messaging.system", s("kafka"))
            .attr("retry", AttrValue::Bool(true))
            .link(vec![
                ("hops", AttrValue::Int(1)),
                ("messaging.batch", AttrValue::Bool(true)),
            ])
            .scope("tier", s("queue")),
        // An em space between the words; an attribute that the short alias `name` reads.
        d(
            "d3",
            Some("d1"),
            "payments",
            "charge\u{2003}card",
            Internal,
            5,
            40,
        )
        .error()
        .attr("retry", AttrValue::Bool(false))
        .attr("name", s("charge")),
        // e: a trace with many database calls.
        d("e1", None, "frontend", "GET /orders", Server, 0, 200)
            .attr("http.method", s("GET"))
            .event(vec![])
            .scope("tier", s("web"))
            .scope("ratio", AttrValue::Float(0.5)),
        d(
            "e2",
            Some("e1"),
            "postgres",
            "SELECT orders",
            Client,
            10,
            30,
        )
        .attr("db.system", s("postgresql"))
        .res("kind", s("batch")),
        d(
            "e3",
            Some("e1"),
            "postgres",
            "SELECT orders",
            Client,
            50,
            40,
        )
        .attr("db.system", s("postgresql")),
        d(
            "e4",
            Some("e1"),
            "postgres",
            "SELECT items",
            Client,
            100,
            60,
        )
        .attr("db.system", s("postgresql")),
    ]
}

/// The span a definition stands for, in `project`.
pub fn to_span(def: &Def, project: &str) -> Span {
    let start = trace_start(def.label) + def.offset_ms * MS;
    let mut attributes = Attributes::new();
    for (k, v) in &def.attrs {
        attributes.insert((*k).into(), v.clone());
    }
    let mut resource = Attributes::new();
    resource.insert("service.name".into(), s(def.service));
    for (k, v) in &def.resource {
        resource.insert((*k).into(), v.clone());
    }
    Span {
        project_id: project.into(),
        trace_id: TraceId([trace_of(def.label); 16]),
        span_id: span_id_of(def.label),
        parent_span_id: def.parent.map(span_id_of),
        trace_state: String::new(),
        name: def.name.into(),
        kind: def.kind,
        start_time_unix_nano: start,
        end_time_unix_nano: start + def.dur_ms * MS,
        duration_nanos: def.dur_ms * MS,
        status_code: if def.error {
            StatusCode::Error
        } else {
            StatusCode::Ok
        },
        status_message: String::new(),
        service_name: def.service.into(),
        service_version: "1.0".into(),
        environment: "prod".into(),
        scope_name: String::new(),
        scope_version: String::new(),
        scope_attributes: attrs_of(&def.scope),
        session_id: None,
        attributes,
        resource_attributes: resource.into(),
        events: def
            .events
            .iter()
            .enumerate()
            .map(|(i, attrs)| Event {
                time_unix_nano: start + i as i64 * MS,
                name: format!("step {i}"),
                attributes: attrs_of(attrs),
                dropped_attributes_count: 0,
            })
            .collect(),
        links: def
            .links
            .iter()
            .map(|attrs| Link {
                trace_id: TraceId([0xee; 16]),
                span_id: SpanId([0xee; 8]),
                trace_state: String::new(),
                attributes: attrs_of(attrs),
                dropped_attributes_count: 0,
            })
            .collect(),
        has_error: def.error,
        dropped_attributes_count: 0,
        dropped_events_count: 0,
        dropped_links_count: 0,
    }
}

/// The window covering the whole data set.
pub const START: i64 = T0;
/// The end of the window covering the whole data set.
pub const END: i64 = T0 + 3600 * S;

/// Writes the data set into `store`: project `p`, the same spans under project `other`
/// (with a `leak` attribute that must never show up) and one span of `p` after the window.
pub async fn load(store: &dyn Store) {
    let defs = data();
    let spans: Vec<Span> = defs.iter().map(|d| to_span(d, "p")).collect();
    store.write_spans(spans).await.unwrap();
    // Other projects and other times must never leak into results.
    let mut other: Vec<Span> = defs.iter().map(|d| to_span(d, "other")).collect();
    for s in &mut other {
        s.attributes.insert("leak".into(), AttrValue::Bool(true));
    }
    store.write_spans(other).await.unwrap();
    let mut late = to_span(
        &d("f1", None, "frontend", "GET /late", SpanKind::Server, 0, 1),
        "p",
    );
    late.start_time_unix_nano = END + S;
    late.end_time_unix_nano = END + 2 * S;
    store.write_spans(vec![late]).await.unwrap();
}

/// A span search of project `p` over the data set's window.
pub fn query(q: &str, sort: SearchSort, limit: usize) -> SearchQuery {
    let plan =
        tracehouse_query::plan(&tracehouse_query::parse(q).unwrap_or_else(|e| panic!("{q}: {e}")));
    SearchQuery {
        project_id: "p".into(),
        plan,
        start_ns: START,
        end_ns: END,
        sort,
        sort_key: None,
        limit,
        cursor: None,
    }
}

/// Labels of every span matching `q`, as a set (one page holds them all).
pub async fn span_labels(store: &dyn Store, q: &str) -> BTreeSet<String> {
    let page = store
        .search_spans(&query(q, SearchSort::TimeDesc, 1000))
        .await
        .unwrap();
    assert!(page.next_cursor.is_none());
    page.spans.iter().map(|s| label_of(s.span_id)).collect()
}

/// Labels of every trace matching `q`, as a set.
pub async fn trace_labels(store: &dyn Store, q: &str) -> BTreeSet<String> {
    let page = store
        .search_traces(&query(q, SearchSort::TimeDesc, 1000))
        .await
        .unwrap();
    page.traces
        .iter()
        .map(|t| trace_label(t.trace_id))
        .collect()
}

/// (query, expected spans) — Highlight syntax, intrinsics, typed attributes, scopes.
const SPAN_CASES: &[(&str, &str)] = &[
    ("", "a1 a2 a3 b1 b2 b3 b4 c1 d1 d2 d3 e1 e2 e3 e4"),
    ("service:cart", "a2 b2 c1"),
    ("service:CART", ""),
    ("service:ca*", "a2 b2 c1"),
    ("service:*GRES", "a3 b3 b4 e2 e3 e4"),
    ("service!=postgres service!=frontend", "a2 b2 c1 d2 d3"),
    ("service:(cart OR payments)", "a2 b2 c1 d2 d3"),
    ("checkout", "a1 b1"),
    ("CHECKOUT", "a1 b1"),
    ("cart", "a2 a3 b2 b3 c1"),
    ("\"cart/items\"", "a2 b2"),
    ("SELECT*", "a3 b3 e2 e3 e4"),
    ("/^SELECT.(cart|items)$/", "a3 b3 e4"),
    ("span_name:\"SELECT orders\"", "e2 e3"),
    ("name:select*", "a3 b3 e2 e3 e4"),
    ("duration>500ms", "b1 b2 b3"),
    ("duration>=300ms duration<900ms", "a1 b2 b3"),
    ("duration<5ms", "d2"),
    ("duration:5ms", "c1"),
    ("duration>0.1s service:postgres", "b3"),
    ("status_code:error", "b1 b2 d3"),
    ("status:ok service:payments", "d2"),
    ("has_errors:true", "b1 b2 d3"),
    ("has_errors:false service:frontend", "a1 d1 e1"),
    ("span_kind:client duration>50ms", "a3 b3 e4"),
    ("kind:producer", "d2"),
    ("kind:internal OR kind:producer", "d2 d3"),
    ("http.method:GET", "a1 b1 c1 e1"),
    ("http.method=POST", "a2 b2 d1"),
    ("http.method!=GET", "a2 a3 b2 b3 b4 d1 d2 d3 e2 e3 e4"),
    ("http.method:get", ""),
    ("http.method:g*", "a1 b1 c1 e1"),
    ("http.method EXISTS service:postgres", ""),
    ("http.method NOT EXISTS", "a3 b3 b4 d2 d3 e2 e3 e4"),
    ("http.status_code>=500", "b1"),
    ("http.status_code<300", "a1"),
    ("http.status_code:200", "a1"),
    ("user.id=4242", "a2 b2"),
    ("user.id:\"4242\"", "a2 b2"),
    ("user.id>100", "a2 b2"),
    ("user.id<100", "c1"),
    ("db.rows>1", "a3"),
    ("db.rows:1.5", "a3"),
    ("retry:true", "d2"),
    ("retry:false", "d3"),
    ("retry!=true", "a1 a2 a3 b1 b2 b3 b4 c1 d1 d3 e1 e2 e3 e4"),
    ("db.system:postgresql duration>50ms", "a3 b3 e4"),
    ("messaging.system:kafka", "d2"),
    ("host.name:web-*", "a1 b1"),
    ("resource.host.name:cart-1", "a2"),
    ("span.host.name:cart-1", ""),
    ("service.name:payments", "d2 d3"),
    ("resource.service.name:payments", "d2 d3"),
    ("span.service.name EXISTS", ""),
    ("leak:true", ""),
    (
        "service:cart http.method:GET OR http.method:POST",
        "a2 b2 c1",
    ),
    ("(service:cart http.method:GET) OR kind:producer", "c1 d2"),
    (
        "NOT service:postgres AND NOT service:frontend",
        "a2 b2 c1 d2 d3",
    ),
    ("late", ""),
    // Event, link and instrumentation-scope attributes: "some event / link has it";
    // `!=` and NOT hold when none has it.
    ("event.retry.count=3", "a1"),
    ("event.retry.count>1", "a1 b2"),
    ("event.retry.count:2", "b2"),
    ("event.retry.count:\"2\"", "b2"),
    (
        "event.retry.count!=1",
        "a2 a3 b1 b2 b3 b4 c1 d1 d2 d3 e1 e2 e3 e4",
    ),
    ("event.retry.count:1 event.retry.count:3", "a1"),
    ("event.retry.count EXISTS", "a1 b2"),
    (
        "event.retry.count NOT EXISTS",
        "a2 a3 b1 b3 b4 c1 d1 d2 d3 e1 e2 e3 e4",
    ),
    ("event.cache:miss", "a1"),
    ("event.cache:M*", "a1"),
    ("event.error.kind:/time/", "b2"),
    ("event.error.kind:timeout", "b2"),
    ("event.sql.retry:true", "a3"),
    ("event.sql.retry:\"true\"", "a3"),
    ("retry.count EXISTS", ""),
    ("span.retry.count EXISTS", ""),
    ("link.hops>4", "b3"),
    ("link.hops<2", "b3 d2"),
    ("link.hops=2", "b2"),
    ("link.hops!=1", "a1 a2 a3 b1 b2 b4 c1 d1 d3 e1 e2 e3 e4"),
    ("link.hops EXISTS", "b2 b3 d2"),
    ("link.link.kind:follows", "b2"),
    ("link.kind:follows", ""),
    ("link.messaging.batch:true", "d2"),
    ("instrumentation.tier:web", "a1 e1"),
    (
        "instrumentation.tier!=web",
        "a2 a3 b1 b2 b3 b4 c1 d1 d2 d3 e2 e3 e4",
    ),
    ("instrumentation.tier EXISTS", "a1 d2 e1"),
    ("instrumentation.ratio<1", "e1"),
    ("instrumentation.otel.lib:h*", "a1"),
    ("tier:web", ""),
    (
        "event.cache:miss OR link.hops>4 OR instrumentation.tier:queue",
        "a1 b3 d2",
    ),
    ("{link.hops EXISTS} < {}", "b1 b2 d1"),
    (
        "{event.retry.count EXISTS} >> {service:postgres}",
        "a3 b3 b4",
    ),
    // Structural queries: the spans of the right-hand side that stand in the relation.
    ("{service:frontend} > {service:cart}", "a2 b2"),
    (
        "{service:frontend} >> {service:postgres}",
        "a3 b3 b4 e2 e3 e4",
    ),
    (
        "{service:frontend} >> {service:postgres duration>50ms}",
        "a3 b3 e4",
    ),
    ("{service:cart} < {service:frontend}", "a1 b1"),
    ("{service:postgres} << {}", "a1 a2 b1 b2 e1"),
    ("{kind:producer} ~ {status:error}", "d3"),
    ("{status:error} && {kind:producer}", "d2 d3"),
    ("{kind:producer} || {service:cart}", "a2 b2 c1 d2"),
    ("{service:postgres} | count() > 2", "e2 e3 e4"),
    ("{service:postgres} | count() >= 2", "b3 b4 e2 e3 e4"),
    ("{} | max(duration) > 800ms", "b1 b2 b3 b4"),
    ("{service:postgres} | avg(duration) > 100ms", "b3 b4"),
    ("{status:error} | count() > 1", "b1 b2"),
    ("{} | by(service) | count() > 2", "e2 e3 e4"),
    // `key=""`: empty or absent; `key!=""`: set and not empty — for every key.
    ("parent_span_id=\"\"", "a1 b1 c1 d1 e1"),
    ("parent_span_id!=\"\"", "a2 a3 b2 b3 b4 d2 d3 e2 e3 e4"),
    (
        "status_message=''",
        "a1 a2 a3 b1 b2 b3 b4 c1 d1 d2 d3 e1 e2 e3 e4",
    ),
    ("secure_session_id!=\"\"", ""),
    ("http.method=\"\"", "a3 b3 b4 d2 d3 e2 e3 e4"),
    ("http.method!=\"\" service:cart", "a2 b2 c1"),
    ("note=\"\" service:frontend", "a1 b1 d1 e1"),
    ("note!=\"\"", ""),
    ("note EXISTS", "d1"),
    ("event.cache=\"\" service:frontend", "b1 d1 e1"),
    (
        "resource.host.name:(\"\" OR web-1) service:frontend",
        "a1 d1 e1",
    ),
    // Short aliases read an attribute of their own name where a span has one, the
    // built-in field elsewhere; canonical names and scoped keys read one thing only.
    ("name:charge", "d3"),
    ("name:\"charge\u{2003}card\"", ""),
    ("span_name:charge", ""),
    ("span_name:\"charge\u{2003}card\"", "d3"),
    ("span.name:charge", "d3"),
    (
        "name EXISTS",
        "a1 a2 a3 b1 b2 b3 b4 c1 d1 d2 d3 e1 e2 e3 e4",
    ),
    ("name!=charge service:payments", "d2"),
    ("kind:batch", "e2"),
    ("kind:client", "a3 b3 b4 e3 e4"),
    ("span_kind:client service:postgres duration<35ms", "b4 e2"),
    ("resource.kind:batch", "e2"),
    ("kind NOT EXISTS", ""),
    // Bare words are tokens split at Unicode whitespace and punctuation.
    ("card", "d3"),
    ("charge card", "d3"),
    ("CHARGE", "d3"),
    ("\"ge\u{2003}ca\"", "d3"),
];

async fn check_spans(store: &dyn Store, when: &str) {
    let mut failures = Vec::new();
    for (q, want) in SPAN_CASES {
        let got = span_labels(store, q).await;
        if got != set(want) {
            failures.push(format!("{when}: {q:?}: got {got:?}, want {want:?}"));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// (query, expected traces).
const TRACE_CASES: &[(&str, &str)] = &[
    ("", "a b c d e"),
    ("service:postgres", "a b e"),
    ("status:error", "b d"),
    ("user.id=4242", "a b"),
    ("duration>800ms", "b"),
    (
        "{service:frontend} >> {service:postgres duration>50ms}",
        "a b e",
    ),
    ("{service:cart} > {service:postgres}", "a b"),
    ("{service:postgres} | count() > 2", "e"),
    ("{status:error} && {kind:producer}", "d"),
    ("nothing-matches-this", ""),
    ("link.hops EXISTS", "b d"),
    ("instrumentation.tier:web", "a e"),
    ("event.retry.count>2", "a"),
];

async fn check_traces(store: &dyn Store, when: &str) {
    let mut failures = Vec::new();
    for (q, want) in TRACE_CASES {
        let got = trace_labels(store, q).await;
        if got != set(want) {
            failures.push(format!("{when}: {q:?}: got {got:?}, want {want:?}"));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    // Summary contents.
    let page = store
        .search_traces(&query(
            "service:postgres duration>500ms",
            SearchSort::TimeDesc,
            10,
        ))
        .await
        .unwrap();
    assert_eq!(page.traces.len(), 1, "{when}");
    let b = &page.traces[0];
    assert_eq!(trace_label(b.trace_id), "b");
    assert_eq!(b.root_service, "frontend");
    assert_eq!(b.root_name, "GET /checkout");
    assert_eq!(b.start_ns, trace_start("b1"));
    assert_eq!(b.duration_ns, 900 * MS);
    assert_eq!(b.span_count, 4);
    assert_eq!(b.error_count, 2);
    assert_eq!(b.services, vec!["cart", "frontend", "postgres"]);
    assert_eq!(
        b.matched_span_ids
            .iter()
            .map(|i| label_of(*i))
            .collect::<Vec<_>>(),
        vec!["b3"]
    );
    let page = store
        .search_traces(&query(
            "{service:frontend} >> {service:postgres}",
            SearchSort::TimeDesc,
            10,
        ))
        .await
        .unwrap();
    let order: Vec<String> = page
        .traces
        .iter()
        .map(|t| trace_label(t.trace_id))
        .collect();
    assert_eq!(order, vec!["e", "b", "a"], "{when}");
    assert_eq!(
        page.traces[1]
            .matched_span_ids
            .iter()
            .map(|i| label_of(*i))
            .collect::<Vec<_>>(),
        vec!["b3", "b4"]
    );
}

/// Walks every page of a search with the given page size.
async fn all_pages(store: &dyn Store, q: &str, sort: SearchSort, limit: usize) -> Vec<String> {
    let mut sq = query(q, sort, limit);
    let mut out = Vec::new();
    for _ in 0..100 {
        let page = store.search_spans(&sq).await.unwrap();
        assert!(page.spans.len() <= limit);
        out.extend(page.spans.iter().map(|s| label_of(s.span_id)));
        match page.next_cursor {
            // Cursors survive their text form.
            Some(c) => sq.cursor = Some(c.to_string().parse::<SearchCursor>().unwrap()),
            None => return out,
        }
    }
    panic!("pagination did not end");
}

async fn all_trace_pages(
    store: &dyn Store,
    q: &str,
    sort: SearchSort,
    limit: usize,
) -> Vec<String> {
    let mut sq = query(q, sort, limit);
    let mut out = Vec::new();
    for _ in 0..100 {
        let page = store.search_traces(&sq).await.unwrap();
        out.extend(page.traces.iter().map(|t| trace_label(t.trace_id)));
        match page.next_cursor {
            Some(c) => sq.cursor = Some(c),
            None => return out,
        }
    }
    panic!("pagination did not end");
}

async fn check_sorts_and_cursors(store: &dyn Store, when: &str) {
    let newest = all_pages(store, "service:postgres", SearchSort::TimeDesc, 1000).await;
    assert_eq!(newest, vec!["e4", "e3", "e2", "b4", "b3", "a3"], "{when}");
    let oldest = all_pages(store, "service:postgres", SearchSort::TimeAsc, 1000).await;
    assert_eq!(oldest, vec!["a3", "b3", "b4", "e2", "e3", "e4"], "{when}");
    let longest = all_pages(store, "service:postgres", SearchSort::DurationDesc, 1000).await;
    assert_eq!(longest, vec!["b3", "a3", "e4", "e3", "e2", "b4"], "{when}");
    let shortest = all_pages(store, "service:postgres", SearchSort::DurationAsc, 1000).await;
    assert_eq!(shortest, vec!["b4", "e2", "e3", "e4", "a3", "b3"], "{when}");
    for sort in [
        SearchSort::TimeDesc,
        SearchSort::TimeAsc,
        SearchSort::DurationDesc,
        SearchSort::DurationAsc,
    ] {
        let whole = all_pages(store, "", sort, 1000).await;
        assert_eq!(whole.len(), 15);
        for limit in [1, 2, 4, 7] {
            assert_eq!(
                all_pages(store, "", sort, limit).await,
                whole,
                "{when} {sort:?} {limit}"
            );
        }
        // Structural results paginate the same way.
        let q = "{service:frontend} >> {}";
        let whole = all_pages(store, q, sort, 1000).await;
        assert_eq!(whole.len(), 10, "{when} {sort:?}");
        for limit in [1, 3] {
            assert_eq!(
                all_pages(store, q, sort, limit).await,
                whole,
                "{when} {sort:?}"
            );
        }
        let traces = all_trace_pages(store, "", sort, 1000).await;
        assert_eq!(traces.len(), 5);
        assert_eq!(
            all_trace_pages(store, "", sort, 2).await,
            traces,
            "{when} {sort:?}"
        );
        let structural = all_trace_pages(store, "{service:frontend} >> {}", sort, 1000).await;
        assert_eq!(
            all_trace_pages(store, "{service:frontend} >> {}", sort, 1).await,
            structural
        );
    }
    let traces = all_trace_pages(store, "", SearchSort::TimeDesc, 1000).await;
    assert_eq!(traces, vec!["e", "d", "c", "b", "a"]);
    // A cursor of one sort is refused under another.
    let page = store
        .search_spans(&query("", SearchSort::TimeDesc, 1))
        .await
        .unwrap();
    let mut q = query("", SearchSort::DurationAsc, 1);
    q.cursor = page.next_cursor;
    assert!(store.search_spans(&q).await.is_err());
}

/// Every page of a span search ordered by `key`, with the given page size.
async fn by_key(store: &dyn Store, q: &str, key: &str, desc: bool, limit: usize) -> Vec<String> {
    let sort = if desc {
        SearchSort::KeyDesc
    } else {
        SearchSort::KeyAsc
    };
    let mut sq = query(q, sort, limit);
    sq.sort_key = Some(resolve_key(key, Target::Spans));
    let mut out = Vec::new();
    for _ in 0..100 {
        let page = store.search_spans(&sq).await.unwrap();
        out.extend(page.spans.iter().map(|s| label_of(s.span_id)));
        match page.next_cursor {
            Some(c) => sq.cursor = Some(c.to_string().parse::<SearchCursor>().unwrap()),
            None => return out,
        }
    }
    panic!("pagination did not end");
}

/// `first`, then every other label of the data set in id order (reversed when `desc`):
/// the rows without the key, which come last in both directions.
fn then_rest(first: &[&str], desc: bool) -> Vec<String> {
    let mut rest: Vec<String> = data()
        .iter()
        .map(|d| d.label.to_string())
        .filter(|l| !first.contains(&l.as_str()))
        .collect();
    rest.sort();
    if desc {
        rest.reverse();
    }
    first.iter().map(|l| l.to_string()).chain(rest).collect()
}

async fn check_key_sorts(store: &dyn Store, when: &str) {
    // Numbers (a numeric string reads as one), ties by ids in the sort's direction.
    for (key, desc, first) in [
        ("user.id", false, &["c1", "a2", "b2"][..]),
        ("user.id", true, &["b2", "a2", "c1"]),
        (
            "http.method",
            false,
            &["a1", "b1", "c1", "e1", "a2", "b2", "d1"],
        ),
        (
            "http.method",
            true,
            &["d1", "b2", "a2", "e1", "c1", "b1", "a1"],
        ),
        // A resource attribute through an unscoped key; booleans; an empty value is a value.
        ("host.name", false, &["a2", "a1", "b1"]),
        ("retry", false, &["d3", "d2"]),
        ("retry", true, &["d2", "d3"]),
        ("note", true, &["d1"]),
    ] {
        let whole = by_key(store, "", key, desc, 1000).await;
        assert_eq!(whole, then_rest(first, desc), "{when} {key} desc={desc}");
        for limit in [1, 4] {
            assert_eq!(
                by_key(store, "", key, desc, limit).await,
                whole,
                "{when} {key} desc={desc} limit={limit}"
            );
        }
    }
    assert_eq!(
        by_key(
            store,
            "service_name:frontend",
            "http.status_code",
            true,
            1000
        )
        .await,
        vec!["b1", "a1", "e1", "d1"],
        "{when}"
    );
    let mut refused = query("", SearchSort::KeyAsc, 10);
    refused.sort_key = Some(resolve_key("user.id", Target::Spans));
    assert!(store.search_traces(&refused).await.is_err(), "{when}");
    refused.cursor = Some(SearchCursor {
        sort: SearchSort::KeyAsc,
        key: 20_000,
        trace_id: TraceId([0; 16]),
        span_id: SpanId([0; 8]),
    });
    assert!(
        store.search_spans(&refused).await.is_err(),
        "{when}: too deep"
    );
    let mut structural = query("{service:frontend} >> {}", SearchSort::KeyAsc, 10);
    structural.sort_key = Some(resolve_key("user.id", Target::Spans));
    assert!(store.search_spans(&structural).await.is_err(), "{when}");
}

async fn check_histogram(store: &dyn Store, when: &str) {
    let h = store
        .histogram(&HistogramQuery {
            project_id: "p".into(),
            plan: tracehouse_query::plan(&tracehouse_query::parse("").unwrap()),
            start_ns: START,
            end_ns: END,
            buckets: 6,
            traces: false,
        })
        .await
        .unwrap();
    assert_eq!(h.width_ns, 600 * S, "{when}");
    let counts: Vec<(u64, u64)> = h.buckets.iter().map(|b| (b.count, b.error_count)).collect();
    assert_eq!(
        counts,
        vec![(3, 0), (4, 2), (1, 0), (3, 1), (4, 0), (0, 0)],
        "{when}"
    );
    assert_eq!(h.buckets[0].start, START);
    assert_eq!(h.buckets[5].end, END);
    let h = store
        .histogram(&HistogramQuery {
            project_id: "p".into(),
            plan: tracehouse_query::plan(
                &tracehouse_query::parse("{service:frontend} >> {service:postgres}").unwrap(),
            ),
            start_ns: START,
            end_ns: END,
            buckets: 4,
            traces: false,
        })
        .await
        .unwrap();
    // 4 buckets of 15 minutes.
    assert_eq!(h.width_ns, 900 * S);
    let counts: Vec<u64> = h.buckets.iter().map(|b| b.count).collect();
    assert_eq!(counts, vec![3, 0, 3, 0], "{when}");
    // Traces count once, at their earliest matching span; errors count failed traces.
    for (q, buckets, want) in [
        ("", 6, vec![(1, 0), (1, 1), (1, 0), (1, 1), (1, 0), (0, 0)]),
        (
            "status:error",
            6,
            vec![(0, 0), (1, 1), (0, 0), (1, 1), (0, 0), (0, 0)],
        ),
        (
            "{service:frontend} >> {service:postgres}",
            4,
            vec![(2, 0), (0, 0), (1, 0), (0, 0)],
        ),
    ] {
        let h = store
            .histogram(&HistogramQuery {
                project_id: "p".into(),
                plan: tracehouse_query::plan(&tracehouse_query::parse(q).unwrap()),
                start_ns: START,
                end_ns: END,
                buckets,
                traces: true,
            })
            .await
            .unwrap();
        let counts: Vec<(u64, u64)> = h.buckets.iter().map(|b| (b.count, b.error_count)).collect();
        assert_eq!(counts, want, "{when}: traces of {q:?}");
    }
    // A width that does not divide the range: buckets stay aligned to the width.
    let h = store
        .histogram(&HistogramQuery {
            project_id: "p".into(),
            plan: tracehouse_query::plan(&tracehouse_query::parse("status:error").unwrap()),
            start_ns: START + 7 * S,
            end_ns: START + 7 * S + 3600 * S,
            buckets: 7,
            traces: false,
        })
        .await
        .unwrap();
    assert_eq!(h.width_ns, 600 * S);
    assert!(h.buckets.iter().all(|b| b.start % h.width_ns == 0));
    assert_eq!(h.buckets.iter().map(|b| b.count).sum::<u64>(), 3);
}

async fn check_keys_values(store: &dyn Store, when: &str) {
    let keys = store
        .keys(&KeysQuery {
            target: Target::Spans,
            project_id: "p".into(),
            start_ns: START,
            end_ns: END,
            prefix: String::new(),
            limit: 1000,
        })
        .await
        .unwrap();
    let find = |k: &str, scope: KeyScope| keys.iter().find(|i| i.key == k && i.scope == scope);
    let method = find("http.method", KeyScope::Span).unwrap_or_else(|| panic!("{when}: {keys:?}"));
    assert_eq!((method.count, method.value_type.as_str()), (7, "string"));
    let status = find("http.status_code", KeyScope::Span).unwrap();
    assert_eq!((status.count, status.value_type.as_str()), (2, "int"));
    let host = find("host.name", KeyScope::Resource).unwrap();
    assert_eq!(host.count, 3);
    assert!(find("service_name", KeyScope::Intrinsic).is_some());
    assert!(find("duration", KeyScope::Intrinsic).is_some());
    // Reserved keys are offered before any span has them.
    let session = find("secure_session_id", KeyScope::Intrinsic).unwrap();
    assert_eq!((session.count, session.value_type.as_str()), (0, "string"));
    // Keys are offered as queries read them: an attribute whose plain key is a short alias
    // with its scope, any other by its plain key.
    assert_eq!(find("span.name", KeyScope::Span).map(|k| k.count), Some(1));
    assert_eq!(
        find("resource.kind", KeyScope::Resource).map(|k| k.count),
        Some(1)
    );
    assert!(find("name", KeyScope::Span).is_none() && find("kind", KeyScope::Resource).is_none());
    assert!(find("note", KeyScope::Span).is_some());
    for key in ["name", "kind", "service", "session_id"] {
        assert!(keys.iter().all(|k| k.key != key), "{when}: {key} offered");
    }
    assert!(
        find("leak", KeyScope::Span).is_none(),
        "{when}: other project leaked"
    );
    let http = store
        .keys(&KeysQuery {
            target: Target::Spans,
            project_id: "p".into(),
            start_ns: START,
            end_ns: END,
            prefix: "http.".into(),
            limit: 1000,
        })
        .await
        .unwrap();
    assert_eq!(
        http.iter().map(|k| k.key.as_str()).collect::<Vec<_>>(),
        vec!["http.method", "http.status_code"]
    );
    let key_list = |prefix: &'static str, start_ns: i64| async move {
        store
            .keys(&KeysQuery {
                target: Target::Spans,
                project_id: "p".into(),
                start_ns,
                end_ns: start_ns + 3600 * S,
                prefix: prefix.into(),
                limit: 1000,
            })
            .await
            .unwrap()
            .into_iter()
            .map(|k| (k.key, k.count))
            .collect::<Vec<_>>()
    };
    assert_eq!(
        key_list("span.n", START).await,
        vec![("span.name".to_string(), 1)],
        "{when}"
    );
    // A range without spans still offers every reserved key.
    let empty = key_list("", START - 24 * 3600 * S).await;
    assert_eq!(empty.len(), 14, "{when}: {empty:?}");
    assert!(empty.iter().all(|(_, n)| *n == 0));

    let values = |key: &'static str, prefix: &'static str| async move {
        store
            .values(&ValuesQuery {
                target: Target::Spans,
                project_id: "p".into(),
                field: resolve_key(key, Target::Spans),
                start_ns: START,
                end_ns: END,
                prefix: prefix.into(),
                limit: 100,
            })
            .await
            .unwrap()
            .into_iter()
            .map(|v| (v.value, v.count))
            .collect::<Vec<_>>()
    };
    assert_eq!(
        values("service", "").await,
        vec![
            ("postgres".to_string(), 6),
            ("frontend".to_string(), 4),
            ("cart".to_string(), 3),
            ("payments".to_string(), 2),
        ],
        "{when}"
    );
    assert_eq!(
        values("http.method", "").await,
        vec![("GET".to_string(), 4), ("POST".to_string(), 3)]
    );
    assert_eq!(
        values("http.method", "p").await,
        vec![("POST".to_string(), 3)]
    );
    assert_eq!(
        values("user.id", "").await,
        vec![("4242".to_string(), 2), ("7".to_string(), 1)]
    );
    assert_eq!(
        values("resource.host.name", "web").await,
        vec![("web-1".to_string(), 1), ("web-2".to_string(), 1)]
    );
    assert_eq!(values("span.host.name", "").await, vec![]);
    assert_eq!(
        values("status_code", "").await,
        vec![("ok".to_string(), 12), ("error".to_string(), 3)]
    );
    assert_eq!(
        values("kind", "prod").await,
        vec![("producer".to_string(), 1)]
    );
}

/// The spans of project `p` starting in `[start_ns, end_ns)` that `q` matches.
async fn count_in(store: &dyn Store, q: &str, start_ns: i64, end_ns: i64) -> u64 {
    let page = store
        .search_spans(&SearchQuery {
            start_ns,
            end_ns,
            ..query(q, SearchSort::TimeDesc, 1000)
        })
        .await
        .unwrap();
    page.spans.len() as u64
}

/// Autocomplete counts the records of the range, partial hours included: each key offered
/// counts the spans that `KEY EXISTS` finds there (the reserved keys no span has: 0).
async fn check_key_counts_in_range(store: &dyn Store, when: &str) {
    let ranges = [
        // Traces b and c, inside the data set's hour.
        (T0 + 600 * S, T0 + 1800 * S),
        // Traces a, b and c, from the hour before.
        (T0 - 1800 * S, T0 + 1500 * S),
        // The whole hour and, past it, the late span.
        (T0 - 1800 * S, END + 1800 * S),
        // All but trace a (the hour less its first five minutes) and the late span.
        (T0 + 300 * S, END + 1800 * S),
    ];
    for (start_ns, end_ns) in ranges {
        let keys = store
            .keys(&KeysQuery {
                target: Target::Spans,
                project_id: "p".into(),
                start_ns,
                end_ns,
                prefix: String::new(),
                limit: 1000,
            })
            .await
            .unwrap();
        for k in &keys {
            let found = count_in(store, &format!("{} EXISTS", k.key), start_ns, end_ns).await;
            assert_eq!(k.count, found, "{when}: {} in {start_ns}..{end_ns}", k.key);
        }
        let count = |key: &str| keys.iter().find(|k| k.key == key).map(|k| k.count);
        let spans = count_in(store, "", start_ns, end_ns).await;
        assert_eq!(count("trace_id"), Some(spans), "{when}");
        assert_eq!(keys.first().map(|k| k.count), Some(spans), "{when}");
    }
    let first = store
        .keys(&KeysQuery {
            target: Target::Spans,
            project_id: "p".into(),
            start_ns: T0 + 600 * S,
            end_ns: T0 + 1800 * S,
            prefix: "http.".into(),
            limit: 10,
        })
        .await
        .unwrap();
    let counts: Vec<(&str, u64)> = first.iter().map(|k| (k.key.as_str(), k.count)).collect();
    assert_eq!(
        counts,
        [("http.method", 3), ("http.status_code", 1)],
        "{when}: b1, b2, c1"
    );
    let services: Vec<(String, u64)> = store
        .values(&ValuesQuery {
            target: Target::Spans,
            project_id: "p".into(),
            field: resolve_key("service", Target::Spans),
            start_ns: T0 + 600 * S,
            end_ns: T0 + 1800 * S,
            prefix: String::new(),
            limit: 10,
        })
        .await
        .unwrap()
        .into_iter()
        .map(|v| (v.value, v.count))
        .collect();
    let want = [("cart", 2), ("postgres", 2), ("frontend", 1)];
    assert_eq!(
        services,
        want.map(|(v, n)| (v.to_string(), n)),
        "{when}: values of b and c"
    );
}

/// Runs every case of the suite against `store` (loaded with [`load`]).
pub async fn check_all(store: &dyn Store, when: &str) {
    check_spans(store, when).await;
    check_traces(store, when).await;
    check_sorts_and_cursors(store, when).await;
    check_key_sorts(store, when).await;
    check_histogram(store, when).await;
    check_keys_values(store, when).await;
    check_key_counts_in_range(store, when).await;
}

/// A span using every field: ids, parent, session, all attribute types, events, links.
pub fn full_span(project: &str) -> Span {
    use tracehouse_model::{Event, Link};
    let mut attributes = Attributes::new();
    attributes.insert("str".into(), s("it's \"quoted\" \\ back"));
    attributes.insert("int".into(), AttrValue::Int(-42));
    attributes.insert("float".into(), AttrValue::Float(2.5));
    attributes.insert("whole".into(), AttrValue::Float(3.0));
    attributes.insert("bool".into(), AttrValue::Bool(false));
    attributes.insert("bytes".into(), AttrValue::Bytes(vec![0, 1, 255]));
    attributes.insert(
        "array".into(),
        AttrValue::Array(vec![AttrValue::Int(1), s("two")]),
    );
    attributes.insert(
        "map".into(),
        AttrValue::Map(vec![("a".into(), AttrValue::Bool(true))]),
    );
    attributes.insert("empty".into(), s(""));
    let mut span = to_span(
        &d("a9", Some("a1"), "svc", "op", SpanKind::Consumer, 5, 7),
        project,
    );
    span.trace_id = TraceId([0xab; 16]);
    span.attributes = attributes;
    std::sync::Arc::make_mut(&mut span.resource_attributes).insert("unicode".into(), s("naïve ✓"));
    span.session_id = Some("sess-1".into());
    span.trace_state = "k=v".into();
    span.status_message = "boom".into();
    span.status_code = StatusCode::Error;
    span.scope_name = "lib".into();
    span.scope_version = "0.1".into();
    span.scope_attributes
        .insert("scope.attr".into(), AttrValue::Int(1));
    span.events = vec![Event {
        time_unix_nano: span.start_time_unix_nano + 1,
        name: "exception".into(),
        attributes: [("exception.message".to_string(), s("bad"))].into(),
        dropped_attributes_count: 1,
    }];
    span.links = vec![Link {
        trace_id: TraceId([9; 16]),
        span_id: SpanId([8; 8]),
        trace_state: "x=y".into(),
        attributes: Attributes::new(),
        dropped_attributes_count: 0,
    }];
    span.has_error = true;
    span.dropped_attributes_count = 3;
    span.dropped_events_count = 4;
    span.dropped_links_count = 5;
    span
}

/// Trace-by-id returns stored spans exactly as written, in start order, and only in
/// their own project.
pub async fn check_round_trip(store: &dyn Store) {
    let span = full_span("rt");
    let mut second = to_span(&d("a8", None, "svc", "root", SpanKind::Server, 0, 20), "rt");
    second.trace_id = span.trace_id;
    // Zipkin-style halves: the client and the server side of a call share one span id.
    let mut half = second.clone();
    half.kind = SpanKind::Client;
    half.start_time_unix_nano += 1;
    half.end_time_unix_nano -= 1;
    half.duration_nanos -= 2;
    store
        .write_spans(vec![span.clone(), second.clone(), half.clone()])
        .await
        .unwrap();
    let got = store.trace("rt", span.trace_id).await.unwrap();
    assert_eq!(
        got,
        vec![second.clone(), half, span.clone()],
        "every stored span, those sharing an id too"
    );
    // Halves reported with the same start time (Zipkin's shared spans timed by one host)
    // are both kept: only identical copies are one span.
    let mut server = second.clone();
    server.trace_id = TraceId([0xce; 16]);
    let mut client = server.clone();
    client.kind = SpanKind::Client;
    store
        .write_spans(vec![server.clone(), client.clone()])
        .await
        .unwrap();
    let twins = store.trace("rt", server.trace_id).await.unwrap();
    assert_eq!(twins.len(), 2, "{twins:?}");
    assert!(twins.contains(&server) && twins.contains(&client));
    assert!(
        store
            .trace("other-rt", span.trace_id)
            .await
            .unwrap()
            .is_empty()
    );
    assert!(
        store
            .trace("rt", TraceId([0xcd; 16]))
            .await
            .unwrap()
            .is_empty()
    );
    // Filters see the typed values.
    let mut q = query(
        "int<0 float:2.5 whole:3 bool:false str:*quoted* unicode:naïve*",
        SearchSort::TimeDesc,
        10,
    );
    q.project_id = "rt".into();
    q.start_ns = 0;
    q.end_ns = i64::MAX;
    let page = store.search_spans(&q).await.unwrap();
    assert_eq!(page.spans, vec![span]);
}
