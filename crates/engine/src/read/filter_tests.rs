//! Differential tests: the compiled DataFusion predicate selects exactly the spans the
//! in-memory evaluator selects, over rows in the memtable and in a Parquet part.

use std::collections::BTreeSet;
use std::sync::Arc;

use datafusion::prelude::col;
use proptest::prelude::*;
use tracehouse_model::{
    AttrValue as M, Attributes, Event, Link, Span, SpanId, SpanKind, StatusCode, TraceId,
};
use tracehouse_query::{CmpOp, Field, Filter, Intrinsic, Pattern, Scope, Value, matches};

use super::compile;
use crate::read::query::Snapshot;
use crate::storage::part::write_part;
use crate::storage::schema::{batch_to_spans, col as c, spans_to_batch};
use tracehouse_store_api::value::SpanRef;

const NAMES: [&str; 10] = [
    "GET /api/orders",
    "SELECT users",
    "kafka.send",
    "über-Prüfung ÄÖ",
    "",
    "a_b%c\\\\d",
    "POST /api/orders/{id}",
    "checkout",
    "Checkout-Step 2",
    "x\"y",
];
const SERVICES: [&str; 4] = ["cart", "frontend", "postgres", "Cart"];

fn value(i: usize) -> M {
    match i % 16 {
        0 => M::Str("GET".into()),
        1 => M::Str("get".into()),
        2 => M::Int(200),
        3 => M::Str("200".into()),
        4 => M::Float(200.0),
        5 => M::Float(1.5),
        6 => M::Bool(true),
        7 => M::Str("true".into()),
        8 => M::Str(" 42 ".into()),
        9 => M::Str("a_b%c".into()),
        10 => M::Str("x\"y\\z".into()),
        11 => M::Bytes(vec![1, 2, 3]),
        12 => M::Array(vec![M::Int(1), M::Str("two".into())]),
        13 => M::Str(String::new()),
        14 => M::Int(-7),
        _ => M::Str("Über straße".into()),
    }
}

const KEYS: [&str; 4] = ["http.method", "code", "flag", "note"];

/// Attributes of the `j`-th event or link of span `n`: some of [`KEYS`], so the same key
/// is often set on the span, on several events and on links with different values.
fn item_attributes(n: usize, j: usize, salt: usize) -> Attributes {
    let mut attrs = Attributes::new();
    for (k, key) in KEYS.iter().enumerate() {
        if (n + j + k + salt).is_multiple_of(2) {
            attrs.insert((*key).into(), value(n * 7 + j * 3 + k + salt));
        }
    }
    attrs
}

fn events(n: usize) -> Vec<Event> {
    if n % 4 == 3 {
        return Vec::new();
    }
    (0..n % 3 + 1)
        .map(|j| Event {
            time_unix_nano: 1_000_000_000_000 + j as i64,
            name: format!("e{j}"),
            attributes: item_attributes(n, j, 0),
            dropped_attributes_count: 0,
        })
        .collect()
}

fn links(n: usize) -> Vec<Link> {
    if !matches!(n % 5, 1 | 2) {
        return Vec::new();
    }
    (0..n % 3 + 1)
        .map(|j| Link {
            trace_id: TraceId([9; 16]),
            span_id: SpanId([9; 8]),
            trace_state: String::new(),
            attributes: item_attributes(n, j, 1),
            dropped_attributes_count: 0,
        })
        .collect()
}

fn scope_attributes(n: usize) -> Attributes {
    let mut attrs = Attributes::new();
    if n.is_multiple_of(3) {
        attrs.insert("code".into(), value(n + 2));
        attrs.insert("note".into(), value(n * 11));
    }
    attrs
}

fn spans() -> Vec<Span> {
    (0..60u8)
        .map(|i| {
            let n = usize::from(i);
            let mut attributes = Attributes::new();
            let mut resource = Attributes::new();
            for (k, key) in KEYS.iter().enumerate() {
                if (n + k) % 3 != 0 {
                    attributes.insert((*key).into(), value(n * 3 + k));
                }
                if (n + k) % 4 == 1 {
                    resource.insert((*key).into(), value(n * 5 + k + 1));
                }
            }
            let start = 1_000_000_000_000 + i64::from(i) * 1_000_000;
            let duration = i64::from(i % 7) * 40_000_000 + i64::from(i);
            Span {
                project_id: "p".into(),
                trace_id: TraceId([i / 5 + 1; 16]),
                span_id: SpanId([i + 1; 8]),
                parent_span_id: (i % 5 != 0).then_some(SpanId([i - i % 5 + 1; 8])),
                trace_state: String::new(),
                name: NAMES[n % NAMES.len()].into(),
                kind: SpanKind::from_otlp(i32::from(i % 6)),
                start_time_unix_nano: start,
                end_time_unix_nano: start + duration,
                duration_nanos: duration,
                status_code: StatusCode::from_otlp(i32::from(i % 3)),
                status_message: if i % 3 == 2 {
                    "boom".into()
                } else {
                    String::new()
                },
                service_name: SERVICES[n % SERVICES.len()].into(),
                service_version: if i % 2 == 0 {
                    "1.0".into()
                } else {
                    String::new()
                },
                environment: ["prod", "staging", ""][n % 3].into(),
                scope_name: "s".into(),
                scope_version: String::new(),
                scope_attributes: scope_attributes(n),
                session_id: (i % 4 == 0).then(|| format!("sess{}", i % 8)),
                attributes,
                resource_attributes: resource.into(),
                events: events(n),
                links: links(n),
                has_error: i % 3 == 2,
                dropped_attributes_count: 0,
                dropped_events_count: 0,
                dropped_links_count: 0,
            }
        })
        .collect()
}

struct Fixture {
    snap: Snapshot,
    spans: Vec<Span>,
    _dir: tempfile::TempDir,
}

fn fixture() -> Fixture {
    let all = spans();
    // The oracle sees spans exactly as the store returns them.
    let spans = batch_to_spans(&spans_to_batch(&all).unwrap()).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let (tmp, parts) = (dir.path().join("tmp"), dir.path().join("parts"));
    std::fs::create_dir_all(&tmp).unwrap();
    std::fs::create_dir_all(&parts).unwrap();
    let part = write_part(
        crate::storage::table::Table::Spans,
        (&tmp, &parts),
        1,
        ("p", 0),
        &spans_to_batch(&all[30..]).unwrap(),
    )
    .unwrap();
    Fixture {
        snap: Snapshot {
            table: crate::storage::table::Table::Spans,
            memtable: vec![spans_to_batch(&all[..30]).unwrap()],
            parts: vec![part],
            runtime: crate::read::runtime(&crate::config::EngineConfig::new(dir.path())).unwrap(),
        },
        spans,
        _dir: dir,
    }
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

fn check(rt: &tokio::runtime::Runtime, fx: &Fixture, filter: &Filter, what: &str) {
    let expected: BTreeSet<[u8; 8]> = fx
        .spans
        .iter()
        .filter(|s| matches(filter, &SpanRef(s)))
        .map(|s| s.span_id.0)
        .collect();
    let parts: Vec<&Arc<crate::storage::part::Part>> = fx.snap.parts.iter().collect();
    let got: BTreeSet<[u8; 8]> = rt
        .block_on(fx.snap.spans(
            &parts,
            compile(filter),
            vec![col(c::SPAN_ID).sort(true, false)],
            None,
        ))
        .unwrap_or_else(|e| panic!("{what}: query failed: {e}\n{filter:?}"))
        .iter()
        .map(|s| s.span_id.0)
        .collect();
    assert_eq!(got, expected, "{what}\n{filter:?}");
}

/// Query strings covering every intrinsic, scope, pattern kind and value type.
const QUERIES: &[&str] = &[
    "",
    "service:cart",
    "service:Cart",
    "service:car*",
    "service:*ART",
    "service!=cart",
    "service:(cart OR postgres)",
    "name:checkout",
    "checkout",
    "CHECKOUT",
    "orders",
    "api",
    "\"GET /api\"",
    "'a_b%c'",
    "b%c",
    "a_b*",
    "/ord.rs$/",
    "/^[A-Z]/",
    "über",
    "Über",
    "Prüfung",
    "ÄÖ",
    "\"x\\\"y\"",
    "span_name:\"\"",
    "duration>100ms",
    "duration>=80ms duration<=120000001",
    "duration:40000001",
    "duration<1.5",
    "timestamp>=1000000030000000",
    "timestamp:1000000000000000",
    "status_code:error",
    "status:ERROR",
    "status:ok OR status:unset",
    "status_code!=error",
    "status:*r*",
    "span_kind:server",
    "kind:2",
    "kind:SPAN_KIND_CLIENT",
    "kind:/^(producer|consumer)$/",
    "has_errors:true",
    "has_error:false",
    "has_errors:TRUE",
    "session_id EXISTS",
    "session_id NOT EXISTS",
    "session_id:sess4",
    "session_id:sess*",
    "secure_session_id!=sess0",
    "environment:prod",
    "environment EXISTS",
    "environment NOT EXISTS",
    "service_version:1.0",
    "status_message:boom",
    "status_message EXISTS",
    "trace_id:01010101010101010101010101010101",
    "trace_id:01010101010101010101010101010101 span_id:0202020202020202",
    "trace_id:0101*",
    "trace_id:zz",
    "parent_span_id EXISTS",
    "parent_span_id NOT EXISTS",
    "parent_span_id:0101010101010101",
    "span_id:/^0[1-3]/",
    "http.method:GET",
    "http.method:get",
    "http.method=GET",
    "http.method!=GET",
    "http.method:G*",
    "http.method:*e*",
    "http.method:/^g/",
    "http.method EXISTS",
    "http.method NOT EXISTS",
    "span.http.method:GET",
    "resource.http.method:GET",
    "resource.http.method EXISTS",
    "code:200",
    "code:\"200\"",
    "code=200",
    "code>100",
    "code>=200",
    "code<0",
    "code<=1.5",
    "code:1.5",
    "code:-7",
    "code>-10 code<10",
    "code:true",
    "code:\"true\"",
    "code:42",
    "code>41",
    "code:\" 42 \"",
    "code:*42*",
    "flag:true",
    "flag:false",
    "flag!=true",
    "flag:\"true\"",
    "flag:TRUE",
    "flag:\"200.0\"",
    "flag:\"200\"",
    "flag:200",
    "note:\"a_b%c\"",
    "note:a_b*",
    "note:*%*",
    "note:*\\\\*",
    "note:\"x\\\"y\\\\z\"",
    "note:*straße",
    "note:/Über/",
    "note:\"\"",
    "note:*",
    "note:[1,\"two\"]",
    "note:\"[1,\\\"two\\\"]\"",
    "note:*two*",
    "note:*bytes*",
    "span.note:1.5",
    "resource.note>1",
    "missing.key:1",
    "missing.key!=1",
    "missing.key NOT EXISTS",
    "NOT code:200",
    "NOT (service:cart OR duration>100ms)",
    "service:cart method:GET OR method:POST",
    "code:(200 OR 1.5) AND NOT flag:true",
    "event.code:200",
    "event.code=200",
    "event.code:\"200\"",
    "event.code!=200",
    "event.code>100",
    "event.code<0",
    "event.code:1.5",
    "event.code:true",
    "event.code EXISTS",
    "event.code NOT EXISTS",
    "event.http.method:GET",
    "event.http.method:g*",
    "event.http.method!=GET",
    "event.flag:true",
    "event.flag!=true",
    "event.note:*two*",
    "event.note:/Über/",
    "event.note:\"\"",
    "event.note:[1,\"two\"]",
    "event.code:GET event.code:true",
    "NOT event.code:(200 OR 1.5)",
    "event.nope EXISTS",
    "event.nope!=1",
    "link.code:200",
    "link.code>=1.5",
    "link.code!=200",
    "link.flag:TRUE",
    "link.note:a_b*",
    "link.http.method EXISTS",
    "link.http.method NOT EXISTS",
    "link.http.method:/^g/",
    "instrumentation.code:200",
    "instrumentation.code>1",
    "instrumentation.code!=200",
    "instrumentation.note EXISTS",
    "instrumentation.note:*straße",
    "instrumentation.note:\"x\\\"y\\\\z\"",
    "instrumentation.flag EXISTS",
    "event.code:200 OR link.code:200 OR instrumentation.code:200 OR code:200",
    "level:error",
    "body:x",
    "message:x",
    "severity EXISTS",
];

#[test]
fn compiled_queries_agree_with_the_evaluator() {
    let fx = fixture();
    let rt = runtime();
    let unparsed: Vec<String> = QUERIES
        .iter()
        .filter_map(|q| {
            tracehouse_query::parse(q)
                .err()
                .map(|e| format!("{q}: {e}"))
        })
        .collect();
    assert!(unparsed.is_empty(), "{unparsed:#?}");
    for q in QUERIES {
        let plan = tracehouse_query::plan(&tracehouse_query::parse(q).unwrap());
        check(&rt, &fx, &plan.pushdown, q);
    }
}

#[test]
fn event_link_and_scope_leaves_select_some_spans_but_not_all() {
    let fx = fixture();
    let rt = runtime();
    for q in [
        "event.code EXISTS",
        "event.code!=200",
        "link.code EXISTS",
        "link.http.method NOT EXISTS",
        "instrumentation.code EXISTS",
        // two different events of one span (span 41) satisfy one predicate each
        "event.code:GET event.code:true",
    ] {
        let plan = tracehouse_query::plan(&tracehouse_query::parse(q).unwrap());
        let n = fx
            .spans
            .iter()
            .filter(|s| matches(&plan.pushdown, &SpanRef(s)))
            .count();
        assert!(
            0 < n && n < fx.spans.len(),
            "{q}: {n} spans, the data set is too uniform"
        );
        // The leaf compiles to the generic JSON UDF, not to a map lookup.
        let text = format!("{}", compile(&plan.pushdown));
        assert!(text.contains("th_json_leaf"), "{q}: {text}");
        check(&rt, &fx, &plan.pushdown, q);
    }
    // Over log records these scopes do not exist: a leaf is false, its negation true.
    let event = Field::Attr {
        scope: Scope::Event,
        key: "code".into(),
    };
    let exists = Filter::Exists(event);
    let logs = super::compile_for(&exists, tracehouse_query::plan::Target::Logs);
    assert_eq!(format!("{logs}"), "Boolean(false)");
}

/// The largest queries the parser accepts compile and evaluate on a thread with a small
/// stack (a left-deep expression of a thousand terms overflowed it and aborted the server).
#[test]
fn largest_accepted_queries_evaluate_on_a_small_stack() {
    let max = tracehouse_query::MAX_TERMS;
    let values: Vec<String> = (0..max).map(|i| format!("s{i}")).collect();
    let queries = [
        vec!["a"; max].join(" "),
        vec!["x:1"; max].join(" "),
        format!("service:({})", values.join(" OR ")),
        values.join(" OR "),
        format!("{{{}}}", vec!["a"; max].join(" ")),
    ];
    std::thread::Builder::new()
        .stack_size(1 << 20)
        .spawn(move || {
            let (fx, rt) = (fixture(), runtime());
            for q in &queries {
                let plan = tracehouse_query::plan(&tracehouse_query::parse(q).unwrap());
                check(&rt, &fx, &plan.pushdown, &q[..20]);
            }
        })
        .unwrap()
        .join()
        .expect("the largest queries evaluate without overflowing the stack");
}

fn field_strategy() -> impl Strategy<Value = Field> {
    let intrinsics = prop::sample::select(vec![
        Intrinsic::TraceId,
        Intrinsic::SpanId,
        Intrinsic::ParentSpanId,
        Intrinsic::SpanName,
        Intrinsic::ServiceName,
        Intrinsic::ServiceVersion,
        Intrinsic::Environment,
        Intrinsic::SpanKind,
        Intrinsic::Duration,
        Intrinsic::StatusCode,
        Intrinsic::StatusMessage,
        Intrinsic::HasErrors,
        Intrinsic::SessionId,
        Intrinsic::Severity,
        Intrinsic::Timestamp,
    ])
    .prop_map(Field::Intrinsic);
    let attrs = (
        prop::sample::select(vec![
            Scope::Span,
            Scope::Resource,
            Scope::Any,
            Scope::Event,
            Scope::Link,
            Scope::Instrumentation,
        ]),
        prop::sample::select(vec!["http.method", "code", "flag", "note", "nope"]),
    )
        .prop_map(|(scope, key)| Field::Attr {
            scope,
            key: key.into(),
        });
    prop_oneof![intrinsics, attrs]
}

fn text_strategy() -> impl Strategy<Value = String> {
    prop_oneof![
        prop::sample::select(vec![
            "GET",
            "get",
            "200",
            "200.0",
            "1.5",
            "true",
            "TRUE",
            "false",
            "",
            " 42 ",
            "42",
            "-7",
            "a_b%c",
            "cart",
            "Cart",
            "server",
            "error",
            "ok",
            "1.0",
            "prod",
            "sess0",
            "checkout",
            "orders",
            "über",
            "ÜBER",
            "x\"y\\z",
            "0101010101010101",
            "boom",
            "[1,\"two\"]",
            "{\"$bytes\":\"AQID\"}",
            "Über straße",
        ])
        .prop_map(String::from),
        "[a-zA-Z0-9 _%.*\\\\-]{0,6}",
    ]
}

fn leaf_strategy() -> impl Strategy<Value = Filter> {
    let value = prop_oneof![
        text_strategy().prop_map(Value::Str),
        (-300i64..300_000_000).prop_map(Value::Int),
        prop::sample::select(vec![0.5f64, 1.5, 200.0, -7.0, 1e15]).prop_map(Value::Float),
        (0i64..300_000_000).prop_map(Value::Duration),
        any::<bool>().prop_map(Value::Bool),
    ];
    let op = prop::sample::select(vec![
        CmpOp::Eq,
        CmpOp::Ne,
        CmpOp::Gt,
        CmpOp::Ge,
        CmpOp::Lt,
        CmpOp::Le,
    ]);
    let pattern = prop_oneof![
        text_strategy().prop_map(Pattern::Exact),
        text_strategy().prop_map(|t| Pattern::Glob(format!("{t}*"))),
        text_strategy().prop_map(|t| Pattern::Glob(format!("*{t}"))),
        prop::sample::select(vec![
            "^g", "(?i)get", "0$", "^$", "[", "\\d+", "ü", "^\\[", "e.r"
        ])
        .prop_map(|r| Pattern::Regex(r.into())),
        prop::sample::select(vec!["get", "api", "orders", "2", "ber", "send", "ü"])
            .prop_map(|t| Pattern::Token(t.into())),
        text_strategy().prop_map(Pattern::Substring),
    ];
    prop_oneof![
        field_strategy().prop_map(Filter::Exists),
        (field_strategy(), op, value).prop_map(|(field, op, value)| Filter::Cmp {
            field,
            op,
            value
        }),
        (field_strategy(), pattern).prop_map(|(field, pattern)| Filter::Match { field, pattern }),
    ]
}

fn filter_strategy() -> impl Strategy<Value = Filter> {
    leaf_strategy().prop_recursive(3, 12, 3, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..3).prop_map(Filter::And),
            prop::collection::vec(inner.clone(), 0..3).prop_map(Filter::Or),
            inner.prop_map(|f| Filter::Not(Box::new(f))),
        ]
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 400, ..ProptestConfig::default() })]

    /// Query text built from the covering queries with random connectives and grouping goes
    /// through the whole path (parse, plan, compile, evaluate) to the evaluator's answer.
    #[test]
    fn random_query_text_agrees_with_the_evaluator(
        parts in prop::collection::vec(
            (0..QUERIES.len(), 0..4usize, any::<bool>()),
            1..8,
        )
    ) {
        let mut text = String::new();
        for (i, (q, joint, grouped)) in parts.into_iter().enumerate() {
            if i > 0 {
                text.push_str([" ", " OR ", " AND ", " AND NOT "][joint]);
            }
            let q = QUERIES[q];
            if grouped && !q.is_empty() {
                text.push_str(&format!("({q})"));
            } else {
                text.push_str(q);
            }
        }
        if let Ok(query) = tracehouse_query::parse(&text) {
            let plan = tracehouse_query::plan(&query);
            thread_local! {
                static FX: (Fixture, tokio::runtime::Runtime) = (fixture(), runtime());
            }
            FX.with(|(fx, rt)| check(rt, fx, &plan.pushdown, &text));
        }
    }

    #[test]
    fn random_filters_agree_with_the_evaluator(filter in filter_strategy()) {
        thread_local! {
            static FX: (Fixture, tokio::runtime::Runtime) = (fixture(), runtime());
        }
        FX.with(|(fx, rt)| check(rt, fx, &filter, "random filter"));
    }
}

#[test]
fn a_filter_confined_to_traces_names_them_and_any_other_names_none() {
    use super::confined_traces;
    let (a, b) = (
        "0af7651916cd43dd8448eb211c80319c",
        "4bf92f3577b34da6a3ce929d0e0e4736",
    );
    let eq = |id: &str| Filter::Cmp {
        field: Field::Intrinsic(Intrinsic::TraceId),
        op: CmpOp::Eq,
        value: Value::Str(id.into()),
    };
    let exact = |id: &str| Filter::Match {
        field: Field::Intrinsic(Intrinsic::TraceId),
        pattern: Pattern::Exact(id.into()),
    };
    let service = Filter::Cmp {
        field: Field::Intrinsic(Intrinsic::ServiceName),
        op: CmpOp::Eq,
        value: Value::Str("cart".into()),
    };
    let id = |hex: &str| hex.parse::<TraceId>().unwrap().0;
    assert_eq!(confined_traces(&eq(a)), Some(vec![id(a)]));
    assert_eq!(confined_traces(&exact(b)), Some(vec![id(b)]));
    assert_eq!(
        confined_traces(&Filter::And(vec![service.clone(), eq(a)])),
        Some(vec![id(a)])
    );
    assert_eq!(
        confined_traces(&Filter::Or(vec![eq(a), exact(b)])),
        Some(vec![id(a), id(b)])
    );
    for free in [
        Filter::True,
        service.clone(),
        Filter::Or(vec![eq(a), service]),
        Filter::Or(vec![]),
        Filter::Not(Box::new(eq(a))),
        // Ids match as lowercase hex: an uppercase one matches no row, and prunes nothing.
        eq(&a.to_uppercase()),
    ] {
        assert_eq!(confined_traces(&free), None, "{free:?}");
    }
}
