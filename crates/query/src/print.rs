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
