//! Pretty-printer: `Display` for the AST, producing canonical query text.
//!
//! Canonical form: explicit `AND`/`OR`, parentheses only where precedence needs them,
//! strings in double quotes, keys bare unless they need quoting, `{ … }` with inner
//! spaces, `|` stages separated by spaces. For every tree the parser produces,
//! `parse(&tree.to_string()) == Ok(tree)`.

use std::fmt::{self, Display, Formatter, Write};

use crate::ast::{Expr, Query, Stage, Term, TraceExpr, Value, ValueExpr};
use crate::lexer::{Mode, TokenKind, lex_at};

/// Whether `text` reads back as one bare word in `mode`.
fn is_bare(text: &str, mode: Mode) -> bool {
    match lex_at(text, 0, mode) {
        Ok(t) => t.start == 0 && t.end == text.len() && t.kind == TokenKind::Word(text.to_string()),
        Err(_) => false,
    }
}

/// Writes `text` in double quotes, escaping `"` and `\`.
fn write_quoted(f: &mut Formatter<'_>, text: &str) -> fmt::Result {
    f.write_char('"')?;
    for c in text.chars() {
        if c == '"' || c == '\\' {
            f.write_char('\\')?;
        }
        f.write_char(c)?;
    }
    f.write_char('"')
}

fn write_key(f: &mut Formatter<'_>, key: &str, mode: Mode) -> fmt::Result {
    if is_bare(key, mode) {
        f.write_str(key)
    } else {
        write_quoted(f, key)
    }
}

fn write_regex(f: &mut Formatter<'_>, body: &str) -> fmt::Result {
    let bare = format!("/{body}/");
    let reads_back = matches!(
        lex_at(&bare, 0, Mode::Value),
        Ok(t) if t.end == bare.len() && t.kind == TokenKind::Regex(body.to_string())
    );
    if reads_back {
        f.write_str(&bare)
    } else {
        write_quoted(f, &bare)
    }
}

impl Display for Value {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        match self {
            Value::Word(w) => f.write_str(w),
            Value::Quoted(s) => write_quoted(f, s),
            Value::Regex(r) => write_regex(f, r),
        }
    }
}

impl Display for Query {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        match self {
            Query::Filter(None) => Ok(()),
            Query::Filter(Some(e)) => e.fmt(f),
            Query::Trace(t) => t.fmt(f),
        }
    }
}

fn write_joined<T>(
    f: &mut Formatter<'_>,
    items: &[T],
    sep: &str,
    needs_parens: impl Fn(&T) -> bool,
    write: impl Fn(&mut Formatter<'_>, &T) -> fmt::Result,
) -> fmt::Result {
    for (i, item) in items.iter().enumerate() {
        if i > 0 {
            f.write_str(sep)?;
        }
        if needs_parens(item) {
            f.write_char('(')?;
            write(f, item)?;
            f.write_char(')')?;
        } else {
            write(f, item)?;
        }
    }
    Ok(())
}

impl Display for Expr {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        match self {
            Expr::And(items) => write_joined(
                f,
                items,
                " AND ",
                |e| matches!(e, Expr::And(_) | Expr::Or(_)),
                |f, e| e.fmt(f),
            ),
            Expr::Or(items) => write_joined(
                f,
                items,
                " OR ",
                |e| matches!(e, Expr::Or(_)),
                |f, e| e.fmt(f),
            ),
            Expr::Not(inner) => {
                f.write_str("NOT ")?;
                match **inner {
                    Expr::Term(_) | Expr::Not(_) => inner.fmt(f),
                    _ => write!(f, "({inner})"),
                }
            }
            Expr::Term(t) => t.fmt(f),
        }
    }
}

impl Display for Term {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        match self {
            Term::Compare { key, op, value } => {
                write_key(f, key, Mode::Normal)?;
                f.write_str(op.symbol())?;
                match value {
                    ValueExpr::And(_) | ValueExpr::Or(_) => write!(f, "({value})"),
                    _ => value.fmt(f),
                }
            }
            Term::Exists { key, negated } => {
                write_key(f, key, Mode::Normal)?;
                f.write_str(if *negated { " NOT EXISTS" } else { " EXISTS" })
            }
            Term::Text(v) => v.fmt(f),
        }
    }
}

impl Display for ValueExpr {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        match self {
            ValueExpr::Value(v) => v.fmt(f),
            ValueExpr::Not(inner) => {
                f.write_str("NOT ")?;
                match **inner {
                    ValueExpr::Value(_) | ValueExpr::Not(_) => inner.fmt(f),
                    _ => write!(f, "({inner})"),
                }
            }
            ValueExpr::And(items) => write_joined(
                f,
                items,
                " AND ",
                |v| matches!(v, ValueExpr::And(_) | ValueExpr::Or(_)),
                |f, v| v.fmt(f),
            ),
            ValueExpr::Or(items) => write_joined(
                f,
                items,
                " OR ",
                |v| matches!(v, ValueExpr::Or(_)),
                |f, v| v.fmt(f),
            ),
        }
    }
}

impl Display for TraceExpr {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        match self {
            TraceExpr::Spanset(None) => f.write_str("{}"),
            TraceExpr::Spanset(Some(e)) => write!(f, "{{ {e} }}"),
            TraceExpr::Binary { op, lhs, rhs } => {
                let prec = op.precedence();
                let lhs_parens = match &**lhs {
                    TraceExpr::Pipeline { .. } => true,
                    TraceExpr::Binary { op: l, .. } => l.precedence() < prec,
                    TraceExpr::Spanset(_) => false,
                };
                let rhs_parens = match &**rhs {
                    TraceExpr::Pipeline { .. } => true,
                    TraceExpr::Binary { op: r, .. } => r.precedence() <= prec,
                    TraceExpr::Spanset(_) => false,
                };
                if lhs_parens {
                    write!(f, "({lhs})")?;
                } else {
                    lhs.fmt(f)?;
                }
                write!(f, " {} ", op.symbol())?;
                if rhs_parens {
                    write!(f, "({rhs})")
                } else {
                    rhs.fmt(f)
                }
            }
            TraceExpr::Pipeline { input, stages } => {
                if matches!(**input, TraceExpr::Pipeline { .. }) {
                    write!(f, "({input})")?;
                } else {
                    input.fmt(f)?;
                }
                for s in stages {
                    write!(f, " | {s}")?;
                }
                Ok(())
            }
        }
    }
}

fn write_args(f: &mut Formatter<'_>, keys: &[String]) -> fmt::Result {
    f.write_char('(')?;
    for (i, k) in keys.iter().enumerate() {
        if i > 0 {
            f.write_str(", ")?;
        }
        write_key(f, k, Mode::Args)?;
    }
    f.write_char(')')
}

impl Display for Stage {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        match self {
            Stage::By(keys) => {
                f.write_str("by")?;
                write_args(f, keys)
            }
            Stage::Aggregate {
                func,
                arg,
                by,
                op,
                threshold,
            } => {
                f.write_str(func.name())?;
                write_args(f, arg.as_slice())?;
                if !by.is_empty() {
                    f.write_str(" by")?;
                    write_args(f, by)?;
                }
                write!(f, " {} {threshold}", op.symbol())
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ast::{AggFunc, CompareOp, SpansetOp};
    use crate::lexer::keyword;
    use crate::parse;
    use crate::plan::{Field, Target, resolve_key};
    use proptest::prelude::*;

    fn roundtrip(q: &str) -> String {
        let ast = parse(q).unwrap_or_else(|e| panic!("{q:?}: {e}"));
        let text = ast.to_string();
        assert_eq!(parse(&text), Ok(ast), "{q:?} printed as {text:?}");
        text
    }

    #[test]
    fn canonical_text() {
        for (q, want) in [
            ("", ""),
            (
                "service:cart method:GET OR method:POST",
                "service:cart AND (method:GET OR method:POST)",
            ),
            ("a and b or not c", "a AND b OR NOT c"),
            ("(a AND b) AND c", "(a AND b) AND c"),
            ("NOT (a OR b)", "NOT (a OR b)"),
            ("k : 'x y'", "k:\"x y\""),
            ("k:`say \"hi\"`", r#"k:"say \"hi\"""#),
            (r#"k:"c:\dir""#, r#"k:"c:\\dir""#),
            ("k exists  j not exists", "k EXISTS AND j NOT EXISTS"),
            ("k:(a or (b and c))", "k:(a OR b AND c)"),
            ("k:((a or b) and c)", "k:((a OR b) AND c)"),
            ("k!=not a", "k!=NOT a"),
            (
                "/x+/ k:\"/a b/\" j:/a\\/b/",
                "/x+/ AND k:\"/a b/\" AND j:/a\\/b/",
            ),
            ("t:/api/v1/", "t:/api/v1/"),
            ("//:x", "\"//\":x"),
            ("\"and\":x \"a b\" EXISTS", "\"and\":x AND \"a b\" EXISTS"),
            (
                "event.exception.type:Timeout link.hops>2 instrumentation.tier!=web",
                "event.exception.type:Timeout AND link.hops>2 AND instrumentation.tier!=web",
            ),
            ("\"event.a b\" exists", "\"event.a b\" EXISTS"),
            ("{a}>{b}", "{ a } > { b }"),
            ("{}", "{}"),
            ("{a} > ({b} > {c})", "{ a } > ({ b } > { c })"),
            ("({a} > {b}) > {c}", "{ a } > { b } > { c }"),
            ("({a} || {b}) && {c}", "({ a } || { b }) && { c }"),
            (
                "{} | avg(duration) by (service) > 1s",
                "{} | avg(duration) by(service) > 1s",
            ),
            (
                "{}|BY(a,\"b c\")|count()>=2",
                "{} | by(a, \"b c\") | count() >= 2",
            ),
            (
                "({} | count() > 1) | count() > 2",
                "({} | count() > 1) | count() > 2",
            ),
            (
                "({a} | count() > 1) && {b}",
                "({ a } | count() > 1) && { b }",
            ),
        ] {
            assert_eq!(roundtrip(q), want, "{q:?}");
        }
    }

    // ---- random ASTs

    fn plain_word() -> impl Strategy<Value = String> {
        "[a-z][a-z0-9_.]{0,6}".prop_filter("keyword", |s| keyword(s).is_none())
    }

    fn attr_key() -> impl Strategy<Value = String> {
        prop_oneof![
            "[a-z][a-z0-9_]{0,4}(\\.[a-z][a-z0-9_]{0,4}){0,2}",
            "(span|resource|event|link|instrumentation)\\.[a-z]{1,5}(\\.[a-z]{1,3})?",
            "[a-z]{1,3} [a-z]{1,3}",
        ]
        .prop_filter("attribute key", |k| {
            keyword(k).is_none() && matches!(resolve_key(k, Target::Spans), Field::Attr { .. })
        })
    }

    fn quoted() -> impl Strategy<Value = Value> {
        "\\PC{0,8}"
            .prop_filter("looks like a regex", |s| {
                !(s.len() >= 2 && s.starts_with('/') && s.ends_with('/'))
            })
            .prop_map(Value::Quoted)
    }

    fn regex() -> impl Strategy<Value = Value> {
        prop::sample::select(vec![
            "a+",
            "^x.*y$",
            "(GET|POST) /api",
            "a/b",
            "\\d{3}",
            "[a-z]+",
            "x\\/y",
            "",
            "a b\\\\",
        ])
        .prop_map(|s| Value::Regex(s.to_string()))
    }

    fn eq_value() -> impl Strategy<Value = Value> {
        prop_oneof![
            plain_word().prop_map(Value::Word),
            "[0-9]{1,4}".prop_map(Value::Word),
            "[a-z]{0,3}\\*[a-z]{0,3}".prop_map(Value::Word),
            "[a-z]{1,3}:[a-z/]{1,3}".prop_map(Value::Word),
            quoted(),
            regex(),
        ]
    }

    fn num_value() -> impl Strategy<Value = Value> {
        prop_oneof![
            "-?[0-9]{1,4}",
            "[0-9]{1,3}(ms|s|us|ns|m|h)",
            "[0-9]{1,2}\\.[0-9]{1,2}",
        ]
        .prop_map(Value::Word)
    }

    fn value_expr(leaf: BoxedStrategy<Value>) -> impl Strategy<Value = ValueExpr> {
        leaf.prop_map(ValueExpr::Value)
            .prop_recursive(3, 12, 3, |inner| {
                prop_oneof![
                    inner.clone().prop_map(|v| ValueExpr::Not(Box::new(v))),
                    prop::collection::vec(inner.clone(), 2..4).prop_map(ValueExpr::And),
                    prop::collection::vec(inner, 2..4).prop_map(ValueExpr::Or),
                ]
            })
    }

    fn term() -> impl Strategy<Value = Term> {
        let eq_op = prop::sample::select(vec![CompareOp::Colon, CompareOp::Eq, CompareOp::Ne]);
        let ord_op = prop::sample::select(vec![
            CompareOp::Gt,
            CompareOp::Ge,
            CompareOp::Lt,
            CompareOp::Le,
        ]);
        prop_oneof![
            (attr_key(), eq_op, value_expr(eq_value().boxed()))
                .prop_map(|(key, op, value)| Term::Compare { key, op, value }),
            (attr_key(), ord_op, value_expr(num_value().boxed()))
                .prop_map(|(key, op, value)| Term::Compare { key, op, value }),
            (attr_key(), any::<bool>()).prop_map(|(key, negated)| Term::Exists { key, negated }),
            prop_oneof![
                plain_word().prop_map(Value::Word),
                "[a-z]{0,3}\\*[a-z]{0,3}".prop_map(Value::Word),
                quoted(),
                regex(),
            ]
            .prop_map(Term::Text),
            prop::sample::select(vec![
                "duration>250ms",
                "status_code:error",
                "span_kind:SERVER",
                "has_errors:false",
                "service:cart",
                "trace_id:ABC",
                "duration:1.5s",
            ])
            .prop_map(|q| match parse(q) {
                Ok(Query::Filter(Some(Expr::Term(t)))) => t,
                _ => Term::Text(Value::Word("broken".into())),
            }),
        ]
    }

    fn expr() -> impl Strategy<Value = Expr> {
        term()
            .prop_map(Expr::Term)
            .prop_recursive(4, 24, 4, |inner| {
                prop_oneof![
                    inner.clone().prop_map(|e| Expr::Not(Box::new(e))),
                    prop::collection::vec(inner.clone(), 2..4).prop_map(Expr::And),
                    prop::collection::vec(inner, 2..4).prop_map(Expr::Or),
                ]
            })
    }

    fn stage() -> impl Strategy<Value = Stage> {
        let key = prop_oneof![
            attr_key(),
            Just("duration".to_string()),
            Just("service".to_string())
        ];
        let op = prop::sample::select(vec![
            CompareOp::Eq,
            CompareOp::Ne,
            CompareOp::Gt,
            CompareOp::Ge,
            CompareOp::Lt,
            CompareOp::Le,
        ]);
        let func = prop::sample::select(vec![
            AggFunc::Count,
            AggFunc::Avg,
            AggFunc::Min,
            AggFunc::Max,
            AggFunc::Sum,
        ]);
        prop_oneof![
            prop::collection::vec(key.clone(), 1..3).prop_map(Stage::By),
            (
                func,
                key.clone(),
                prop::collection::vec(key, 0..2),
                op,
                "[0-9]{1,3}",
                "(ms|s|)"
            )
                .prop_map(|(func, arg, by, op, n, unit)| {
                    let count = func == AggFunc::Count;
                    Stage::Aggregate {
                        func,
                        arg: (!count).then_some(arg),
                        by,
                        op,
                        threshold: if count { n } else { format!("{n}{unit}") },
                    }
                }),
        ]
    }

    fn trace_expr() -> impl Strategy<Value = TraceExpr> {
        prop::option::of(expr())
            .prop_map(TraceExpr::Spanset)
            .prop_recursive(4, 16, 2, |inner| {
                let op = prop::sample::select(vec![
                    SpansetOp::And,
                    SpansetOp::Or,
                    SpansetOp::Child,
                    SpansetOp::Descendant,
                    SpansetOp::Parent,
                    SpansetOp::Ancestor,
                    SpansetOp::Sibling,
                ]);
                prop_oneof![
                    (op, inner.clone(), inner.clone()).prop_map(|(op, l, r)| TraceExpr::Binary {
                        op,
                        lhs: Box::new(l),
                        rhs: Box::new(r)
                    }),
                    (inner, prop::collection::vec(stage(), 1..3)).prop_map(|(i, stages)| {
                        TraceExpr::Pipeline {
                            input: Box::new(i),
                            stages,
                        }
                    }),
                ]
            })
    }

    fn query() -> impl Strategy<Value = Query> {
        prop_oneof![
            prop::option::of(expr()).prop_map(Query::Filter),
            trace_expr().prop_map(Query::Trace),
        ]
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(512))]

        #[test]
        fn print_then_parse_is_identity(q in query()) {
            let text = q.to_string();
            prop_assert_eq!(parse(&text), Ok(q), "printed: {}", text);
        }

        #[test]
        fn parsed_random_text_round_trips(s in "[a-z:=!<>(){}|&~*/\"' .0-9A-Z\\\\-]{0,40}") {
            if let Ok(ast) = parse(&s) {
                let text = ast.to_string();
                prop_assert_eq!(parse(&text), Ok(ast), "input {:?} printed {:?}", s, text);
            }
        }

        #[test]
        fn arbitrary_unicode_never_panics(s in "\\PC{0,64}") {
            if let Ok(ast) = parse(&s) {
                let text = ast.to_string();
                prop_assert_eq!(parse(&text), Ok(ast));
            }
        }
    }
}
