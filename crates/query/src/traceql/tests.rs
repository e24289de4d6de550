use super::*;
use crate::ast::AggFunc;
use crate::plan::{
    CmpOp, Filter, Intrinsic, Pattern, PlanStage, Relation, RelationMode, Scope, Value,
};

fn plan(q: &str) -> Plan {
    parse(q).unwrap_or_else(|e| panic!("{q}: {e}")).plan
}

fn filter(q: &str) -> Filter {
    let p = plan(q);
    assert!(p.structure.is_none(), "{q} is a plain filter");
    p.pushdown
}

fn error(q: &str) -> (String, usize, usize) {
    let e = parse(q).map(|_| ()).expect_err(q);
    (e.message, e.start, e.end)
}

fn attr(scope: Scope, key: &str) -> Field {
    Field::Attr {
        scope,
        key: key.into(),
    }
}

fn exact(field: Field, text: &str) -> Filter {
    Filter::Match {
        field,
        pattern: Pattern::Exact(text.into()),
    }
}

#[test]
fn spanset_filters_lower_to_the_native_filter_ir() {
    assert_eq!(filter("{ }"), Filter::True);
    assert_eq!(
        filter(
            r#"{ resource.service.name = "frontend" && name = "POST /api/orders" && status = error }"#
        ),
        Filter::And(vec![
            exact(Field::Intrinsic(Intrinsic::ServiceName), "frontend"),
            exact(Field::Intrinsic(Intrinsic::SpanName), "POST /api/orders"),
            exact(Field::Intrinsic(Intrinsic::StatusCode), "error"),
        ])
    );
    assert_eq!(
        filter("{ span.http.status_code >= 500 }"),
        Filter::Cmp {
            field: attr(Scope::Span, "http.status_code"),
            op: CmpOp::Ge,
            value: Value::Int(500),
        }
    );
    assert_eq!(
        filter("{ duration > 1s + 500ms }"),
        Filter::Cmp {
            field: Field::Intrinsic(Intrinsic::Duration),
            op: CmpOp::Gt,
            value: Value::Duration(1_500_000_000),
        }
    );
    assert_eq!(
        filter("{ .size > 10 * 1024 * 1024 }"),
        Filter::Cmp {
            field: attr(Scope::Any, "size"),
            op: CmpOp::Gt,
            value: Value::Int(10 * 1024 * 1024),
        }
    );
    assert_eq!(
        filter("{ 100ms < span:duration }"),
        Filter::Cmp {
            field: Field::Intrinsic(Intrinsic::Duration),
            op: CmpOp::Gt,
            value: Value::Duration(100_000_000),
        }
    );
}

#[test]
fn not_equal_and_nil_follow_tempo() {
    let a = attr(Scope::Span, "a");
    assert_eq!(
        filter(r#"{ span.a != "x" }"#),
        Filter::And(vec![
            Filter::Exists(a.clone()),
            Filter::Not(Box::new(exact(a.clone(), "x")))
        ])
    );
    assert_eq!(
        filter("{ span.a = nil }"),
        Filter::Not(Box::new(Filter::Exists(a.clone())))
    );
    assert_eq!(filter("{ span.a != nil }"), Filter::Exists(a.clone()));
    assert_eq!(
        filter(r#"{ statusMessage != "x" }"#),
        Filter::Not(Box::new(exact(
            Field::Intrinsic(Intrinsic::StatusMessage),
            "x"
        ))),
        "an empty status message is not nil"
    );
    assert_eq!(
        filter(r#"{ span.a =~ "GET|POST" }"#),
        Filter::Match {
            field: a,
            pattern: Pattern::Regex("^(?:GET|POST)$".into())
        }
    );
    assert_eq!(
        filter("{ span.cache.hit }"),
        Filter::Cmp {
            field: attr(Scope::Span, "cache.hit"),
            op: CmpOp::Eq,
            value: Value::Bool(true)
        }
    );
    assert_eq!(
        filter(r#"{ span."name with space" = "v" }"#),
        exact(attr(Scope::Span, "name with space"), "v")
    );
}

#[test]
fn structural_operators_and_their_negated_and_union_forms() {
    let rel = |q: &str| match plan(q).structure {
        Some(Structure::Relation { rel, mode, .. }) => (rel, mode),
        other => panic!("{q}: {other:?}"),
    };
    assert_eq!(
        rel("{} >> {}"),
        (Relation::Descendant, RelationMode::Related)
    );
    assert_eq!(rel("{} !< {}"), (Relation::Parent, RelationMode::Unrelated));
    assert_eq!(
        rel("{} !~ {}"),
        (Relation::Sibling, RelationMode::Unrelated)
    );
    assert_eq!(rel("{} &>> {}"), (Relation::Descendant, RelationMode::Both));
    assert_eq!(rel("{} &~ {}"), (Relation::Sibling, RelationMode::Both));
    // `||` binds loosest, structural operators tightest
    assert!(matches!(
        plan("{.a} && {.b} > {.c} || {.d}").structure,
        Some(Structure::Or(l, _)) if matches!(*l, Structure::And(..))
    ));
}

#[test]
fn pipelines_map_to_plan_stages() {
    let stages = |q: &str| match plan(q).structure {
        Some(Structure::Pipeline { stages, .. }) => stages,
        other => panic!("{q}: {other:?}"),
    };
    assert_eq!(
        stages("{ status = error } | by(resource.service.name) | count() > 1"),
        vec![
            PlanStage::GroupBy(vec![Field::Intrinsic(Intrinsic::ServiceName)]),
            PlanStage::Aggregate {
                func: AggFunc::Count,
                field: None,
                op: CmpOp::Gt,
                threshold: 1.0
            }
        ]
    );
    assert_eq!(
        stages("avg(duration) > 20ms"),
        vec![PlanStage::Aggregate {
            func: AggFunc::Avg,
            field: Some(Field::Intrinsic(Intrinsic::Duration)),
            op: CmpOp::Gt,
            threshold: 20e6
        }]
    );
    // coalesce() closes the pipeline so far: what follows sees one group
    match plan("{} | by(.a) | count() > 1 | coalesce() | count() > 3").structure {
        Some(Structure::Pipeline { input, stages }) => {
            assert_eq!(stages.len(), 1);
            assert!(matches!(*input, Structure::Pipeline { .. }));
        }
        other => panic!("{other:?}"),
    }
    // select() returns fields and does not change what matches
    let q = parse("{ status = error } | select(span.http.url, duration)").unwrap();
    assert_eq!(q.select.len(), 2);
    assert!(q.plan.structure.is_none());
    // a spanset filter right after a spanset narrows it
    assert_eq!(
        filter("{ .a = 1 } | { .b = 2 }"),
        Filter::And(vec![
            Filter::Cmp {
                field: attr(Scope::Any, "a"),
                op: CmpOp::Eq,
                value: Value::Int(1)
            },
            Filter::Cmp {
                field: attr(Scope::Any, "b"),
                op: CmpOp::Eq,
                value: Value::Int(2)
            }
        ])
    );
    assert!(parse("{} with (most_recent=true)").is_ok());
}

#[test]
fn root_intrinsics_become_a_relation_to_the_root_span() {
    let p = plan(r#"{ trace:rootService = "frontend" && .a = 1 }"#);
    assert!(matches!(
        p.structure,
        Some(Structure::Or(l, _)) if matches!(*l, Structure::Relation { rel: Relation::Descendant, .. })
    ));
    let (msg, start, end) = error(r#"{ rootName = "x" || .a = 1 }"#);
    assert!(msg.contains("joined"), "{msg}");
    assert_eq!((start, end), (2, 10));
}

#[test]
fn unsupported_constructs_are_named_and_positioned() {
    let cases: &[(&str, &str, usize, usize)] = &[
        ("{ trace:duration > 5s }", "trace:duration", 2, 16),
        (r#"{ event:name = "exception" }"#, "event:name", 2, 12),
        (r#"{ link:traceID = "ab" }"#, "link:traceID", 2, 14),
        ("{ } | rate()", "rate()", 6, 10),
        ("{ .a = .b }", "two fields", 2, 9),
        ("{ .a + 1 = 2 }", "arithmetic on fields", 2, 12),
        (r#"{ .a > "x" }"#, "string ordering", 7, 10),
        ("{ status = server }", "status", 11, 17),
        ("{ foo = 1 }", "unknown word `foo`", 2, 5),
        ("{ .a = 1 ", "`}`", 9, 9),
        ("{ .a = 1 } >", "spanset", 12, 12),
        (r#"{ .a =~ "(" }"#, "regular expression", 8, 11),
        ("{ .a = 1 / 0 }", "overflow", 7, 12),
        ("{ } | count() > 1 | { .a = 1 }", "pipeline stage", 20, 30),
    ];
    for (q, needle, start, end) in cases {
        let (msg, s, e) = error(q);
        assert!(msg.contains(needle), "{q}: {msg}");
        assert_eq!((s, e), (*start, *end), "{q}: {msg}");
    }
}

#[test]
fn identifiers_name_one_field() {
    assert_eq!(
        parse_field("resource.service.name"),
        Ok(Field::Intrinsic(Intrinsic::ServiceName))
    );
    assert_eq!(
        parse_field(".http.method"),
        Ok(attr(Scope::Any, "http.method"))
    );
    assert_eq!(
        parse_field("trace:rootService"),
        Ok(Field::Intrinsic(Intrinsic::ServiceName))
    );
    assert_eq!(
        parse_field("status"),
        Ok(Field::Intrinsic(Intrinsic::StatusCode))
    );
    assert!(parse_field("1").is_err());
    assert!(parse_field(".a .b").is_err());
    assert!(parse_field("").is_err());
}

#[test]
fn limits_are_parse_errors() {
    let deep = format!("{}{{}}{}", "(".repeat(200), ")".repeat(200));
    assert!(error(&deep).0.contains("nests"));
    let wide = (0..1100)
        .map(|i| format!(".a = {i}"))
        .collect::<Vec<_>>()
        .join(" || ");
    assert!(error(&format!("{{ {wide} }}")).0.contains("conditions"));
    let keys = (0..40)
        .map(|i| format!(".k{i}"))
        .collect::<Vec<_>>()
        .join(", ");
    assert!(error(&format!("{{}} | by({keys})")).0.contains("at most"));
}

mod never_panics {
    use proptest::prelude::*;

    /// Fragments of TraceQL, so that random queries get deep into the grammar.
    const FRAGMENTS: &[&str] = &[
        "{",
        "}",
        "(",
        ")",
        "|",
        ",",
        "&&",
        "||",
        "!",
        "=",
        "!=",
        ">",
        ">=",
        "<",
        "<=",
        "=~",
        "!~",
        ">>",
        "<<",
        "~",
        "!>",
        "!>>",
        "!<",
        "!<<",
        "&>",
        "&>>",
        "&<",
        "&<<",
        "&~",
        "+",
        "-",
        "*",
        "/",
        "%",
        "^",
        ".a",
        "span.b",
        "resource.service.name",
        "event.x",
        "link.y",
        "instrumentation.z",
        "span.\"q r\"",
        "name",
        "status",
        "duration",
        "kind",
        "rootName",
        "trace:rootService",
        "span:id",
        "trace:duration",
        "event:name",
        "error",
        "server",
        "nil",
        "true",
        "1",
        "-2",
        "1.5",
        "100ms",
        "\"s\"",
        "\"(\"",
        "count()",
        "avg(duration)",
        "by(.a)",
        "select(.a)",
        "coalesce()",
        "rate()",
        "quantile_over_time(duration, 0.9)",
        "avg_over_time(",
        "0.5",
        "nestedSetParent",
        "with",
        "maxInt",
        " ",
        "\"",
        "`",
        "\\",
        "é",
        "$",
    ];

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2048))]

        #[test]
        fn random_fragments_parse_or_fail_with_an_error_inside_the_text(
            parts in proptest::collection::vec(proptest::sample::select(FRAGMENTS), 0..24)
        ) {
            let q = parts.join(" ");
            let errors = [
                super::parse(&q).err(),
                super::parse_metrics(&q).err(),
            ];
            for e in errors.into_iter().flatten() {
                prop_assert!(e.start <= e.end && e.end <= q.len(), "{q:?}: {e:?}");
                prop_assert!(q.is_char_boundary(e.start) && q.is_char_boundary(e.end));
            }
        }

        #[test]
        fn arbitrary_text_never_panics(q in "\\PC{0,64}") {
            let _ = super::parse(&q);
            let _ = super::parse_metrics(&q);
        }
    }
}

fn metrics(q: &str) -> MetricsQl {
    parse_metrics(q).unwrap_or_else(|e| panic!("{q}: {e}"))
}

fn metrics_error(q: &str) -> (String, usize, usize) {
    let e = parse_metrics(q).map(|_| ()).expect_err(q);
    (e.message, e.start, e.end)
}

#[test]
fn metrics_queries_lower_their_filter_and_keep_keys_as_written() {
    let m = metrics("{ status = error } | rate() by (resource.service.name, name)");
    assert_eq!(m.function, MetricsFn::Rate);
    assert_eq!(m.plan.pushdown, filter("{ status = error }"));
    assert!(m.plan.structure.is_none());
    let labels: Vec<&str> = m.by.iter().map(|k| k.label.as_str()).collect();
    assert_eq!(labels, ["resource.service.name", "name"]);
    assert_eq!(m.by[1].field, Field::Intrinsic(Intrinsic::SpanName));
    let m = metrics(
        "{ } | { kind = server } | quantile_over_time(duration, 0.5, 0.9, 1) with(sample=true)",
    );
    assert_eq!(m.plan.pushdown, filter("{ kind = server }"));
    let MetricsFn::Quantile(field, qs) = &m.function else {
        panic!("{m:?}")
    };
    assert_eq!(*field, Field::Intrinsic(Intrinsic::Duration));
    let values: Vec<f64> = qs.iter().map(|q| q.value).collect();
    assert_eq!(values, [0.5, 0.9, 1.0]);
    assert_eq!(
        metrics("{}|count_over_time()").function,
        MetricsFn::CountOverTime
    );
    assert_eq!(
        metrics("{} | avg_over_time(span.size) by(.a)").function,
        MetricsFn::OverTime(OverTime::Avg, attr(Scope::Span, "size"))
    );
}

#[test]
fn unsupported_metrics_constructs_are_named_where_they_are() {
    let q = "{ } | compare({ .a = 1 } >> { })";
    let (msg, s, e) = metrics_error(q);
    assert!(msg.contains("one spanset filter"), "{msg}");
    assert_eq!(&q[s..e], "{ .a = 1 } >> { }");
    for (q, bad) in [
        ("{ } | compare({ status = error }, 0)", "0"),
        ("{ } | compare({ status = error }, 5, -1, 9)", "-1"),
    ] {
        let (msg, s, e) = metrics_error(q);
        assert!(msg.contains("greater than 0"), "{msg}");
        assert_eq!(&q[s..e], bad);
    }
    let (msg, ..) = metrics_error("{ } | compare({ status = error }, 5, 9)");
    assert!(msg.contains("together"), "{msg}");
    let (msg, ..) = metrics_error("{ } | compare({ status = error }, 5, 9, 3)");
    assert!(msg.contains("after its start"), "{msg}");
    let q = "{ } | rate() by (name) | topk(5) | bottomk(2)";
    let (msg, s, e) = metrics_error(q);
    assert!(msg.contains("`bottomk`"), "{msg}");
    assert_eq!(&q[s..e], "| bottomk");
    for q in ["{ } | rate() | topk(0)", "{ } | rate() | bottomk(1.5)"] {
        let (msg, s, e) = metrics_error(q);
        assert!(msg.contains("greater than 0"), "{msg}");
        assert_eq!((s, e), (q.rfind('(').unwrap_or_default() + 1, q.len() - 1));
    }
    let q = "{ .a = 1 } >> { } | rate()";
    let (msg, s, e) = metrics_error(q);
    assert!(msg.contains("single spanset"), "{msg}");
    assert_eq!((s, e), (0, q.find("| rate").unwrap_or_default()));
    let q = "{ } | quantile_over_time(duration, 1.5)";
    let (_, s, e) = metrics_error(q);
    assert_eq!(&q[s..e], "1.5");
    let q = "{ } | rate() > 2";
    assert!(metrics_error(q).0.contains("comparing"));
    let (msg, s, e) = metrics_error("{ status = error }");
    assert!(msg.contains("metrics function"), "{msg}");
    assert_eq!((s, e), (18, 18));
    let q = "{ } | quantile_over_time(duration)";
    assert_eq!(metrics_error(q).1, q.len() - 1, "a quantile is required");
    // a metrics function in a search names the routes that answer it
    assert!(error("{ } | rate()").0.contains("/api/metrics/query_range"));
}

#[test]
fn nested_set_parent_tells_roots_from_the_rest() {
    let root = Filter::Not(Box::new(Filter::Exists(Field::Intrinsic(
        Intrinsic::ParentSpanId,
    ))));
    for q in [
        "{ nestedSetParent < 0 }",
        "{ nestedSetParent = -1 }",
        "{ 0 > nestedSetParent }",
    ] {
        assert_eq!(filter(q), root, "{q}");
    }
    for q in [
        "{ nestedSetParent >= 0 }",
        "{ nestedSetParent != -1 }",
        "{ nestedSetParent > -1 }",
    ] {
        assert_eq!(
            filter(q),
            Filter::Exists(Field::Intrinsic(Intrinsic::ParentSpanId)),
            "{q}"
        );
    }
    assert_eq!(
        filter("{ nestedSetParent<0 && true && kind = server }"),
        Filter::And(vec![root, filter("{ kind = server }")])
    );
    assert!(error("{ nestedSetParent = \"1\" }").0.contains("integer"));
    for q in ["{ nestedSetParent = 3 }", "{ nestedSetParent > 2 }"] {
        let (msg, s, e) = error(q);
        assert!(msg.contains("nestedSetParent"), "{q}: {msg}");
        assert_eq!(&q[s..e], &q[2..q.len() - 2], "{q}");
    }
}
