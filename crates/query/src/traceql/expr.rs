//! Field expressions inside `{ … }` as parsed, and their lowering to the plan's
//! [`Filter`]: comparisons of one field with a literal (arithmetic on literals folded),
//! `&&`, `||`, `!`, `nil` checks and boolean attributes standing alone.
//!
//! TraceQL's comparison semantics on top of the plan's: `!=` and `!~` on an attribute hold
//! only for spans that have it (a missing attribute is `nil`, which is unequal to nothing;
//! intrinsics always have a value, if only `""`), `= nil`
//! is "not set", and regular expressions are anchored at both ends.

use super::fields::FieldRef;
use crate::error::ParseError;
use crate::parser::compile_regex;
use crate::plan::{
    CmpOp, Field, Filter, Intrinsic, IntrinsicKind, Pattern, Value, kind_name, status_name,
};

/// A literal value.
#[derive(Debug, Clone, PartialEq)]
pub(super) enum Lit {
    Str(String),
    Int(i64),
    Float(f64),
    /// Nanoseconds.
    Duration(i64),
    Bool(bool),
    /// `error`, `ok`, `unset`.
    Status(&'static str),
    /// `server`, `client`, …
    Kind(&'static str),
    Nil,
}

/// A comparison operator between a field and a value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum CmpKind {
    Eq,
    Ne,
    Gt,
    Ge,
    Lt,
    Le,
    Re,
    NotRe,
}

impl CmpKind {
    /// The operator with its operands swapped (`1 < .a` is `.a > 1`).
    fn flipped(self) -> CmpKind {
        match self {
            CmpKind::Gt => CmpKind::Lt,
            CmpKind::Ge => CmpKind::Le,
            CmpKind::Lt => CmpKind::Gt,
            CmpKind::Le => CmpKind::Ge,
            other => other,
        }
    }

    fn ordering(self) -> Option<CmpOp> {
        Some(match self {
            CmpKind::Gt => CmpOp::Gt,
            CmpKind::Ge => CmpOp::Ge,
            CmpKind::Lt => CmpOp::Lt,
            CmpKind::Le => CmpOp::Le,
            _ => return None,
        })
    }
}

/// An arithmetic operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum ArithOp {
    Add,
    Sub,
    Mul,
    Div,
    Rem,
    Pow,
}

/// What a node is.
#[derive(Debug, Clone, PartialEq)]
pub(super) enum Kind {
    /// Two or more operands.
    Or(Vec<Node>),
    /// Two or more operands.
    And(Vec<Node>),
    Not(Box<Node>),
    Cmp(CmpKind, Box<Node>, Box<Node>),
    Arith(ArithOp, Box<Node>, Box<Node>),
    Neg(Box<Node>),
    Lit(Lit),
    Field(FieldRef),
}

/// A field expression node and the bytes it spans.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Node {
    pub kind: Kind,
    pub start: usize,
    pub end: usize,
}

type Res<T> = Result<T, ParseError>;

fn err<T>(node: &Node, message: impl Into<String>) -> Res<T> {
    Err(ParseError::new(message, node.start, node.end))
}

impl Node {
    /// The node as a per-span filter. Trace-level fields are refused here: the caller
    /// takes them out of the top-level conjunction first (see [`Node::conjuncts`]).
    pub(super) fn to_filter(&self) -> Res<Filter> {
        match &self.kind {
            Kind::Or(items) => Ok(Filter::Or(filters(items)?)),
            Kind::And(items) => Ok(Filter::And(filters(items)?)),
            Kind::Not(a) => Ok(Filter::Not(Box::new(a.to_filter()?))),
            Kind::Cmp(op, a, b) => self.comparison(*op, a, b),
            Kind::Lit(Lit::Bool(true)) => Ok(Filter::True),
            Kind::Lit(Lit::Bool(false)) => Ok(Filter::never()),
            Kind::Field(FieldRef::Span(field @ Field::Attr { .. })) => Ok(Filter::Cmp {
                field: field.clone(),
                op: CmpOp::Eq,
                value: Value::Bool(true),
            }),
            Kind::Field(_) => err(
                self,
                "an intrinsic is not a condition by itself: compare it with a value",
            ),
            _ => err(self, "expected a condition, such as `.key = \"value\"`"),
        }
    }

    /// The operands of the top-level `&&` chain.
    pub(super) fn conjuncts(&self) -> Vec<&Node> {
        match &self.kind {
            Kind::And(items) => items.iter().collect(),
            _ => vec![self],
        }
    }

    /// The trace-level field this node compares (`trace:rootName = "x"`), if it does.
    pub(super) fn root_comparison(&self) -> Option<Intrinsic> {
        let Kind::Cmp(_, a, b) = &self.kind else {
            return None;
        };
        [a, b].into_iter().find_map(|side| match &side.kind {
            Kind::Field(FieldRef::Root(i)) => Some(*i),
            _ => None,
        })
    }

    /// The first trace-level field anywhere in the node.
    pub(super) fn find_root(&self) -> Option<&Node> {
        match &self.kind {
            Kind::Field(FieldRef::Root(_)) => Some(self),
            Kind::Or(items) | Kind::And(items) => items.iter().find_map(Node::find_root),
            Kind::Cmp(_, a, b) | Kind::Arith(_, a, b) => a.find_root().or_else(|| b.find_root()),
            Kind::Not(a) | Kind::Neg(a) => a.find_root(),
            Kind::Lit(_) | Kind::Field(_) => None,
        }
    }

    /// The comparison of a trace-level field, as a filter on the root span.
    pub(super) fn root_filter(&self) -> Res<Filter> {
        let Kind::Cmp(op, a, b) = &self.kind else {
            return err(self, "expected a comparison");
        };
        let (field, op, value) = match (&a.kind, &b.kind) {
            (Kind::Field(FieldRef::Root(i)), _) => (*i, *op, b),
            (_, Kind::Field(FieldRef::Root(i))) => (*i, op.flipped(), a),
            _ => return err(self, "expected a comparison"),
        };
        compare(&Field::Intrinsic(field), op, &value.constant()?, value)
    }

    fn comparison(&self, op: CmpKind, a: &Node, b: &Node) -> Res<Filter> {
        let (field, op, value) = match (&a.kind, &b.kind) {
            (Kind::Field(_), Kind::Field(_)) => {
                return err(self, "comparing two fields is not supported by tracehouse");
            }
            (Kind::Field(f), _) => (f, op, b),
            (_, Kind::Field(f)) => (f, op.flipped(), a),
            _ if a.find_field().is_some() || b.find_field().is_some() => {
                return err(
                    self,
                    "arithmetic on fields is not supported by tracehouse, only on literals",
                );
            }
            _ => return err(self, "a comparison needs a field on one side"),
        };
        if *field == FieldRef::NestedSetParent {
            return self.nested_set_parent(op, value);
        }
        let Some(field) = field.span_field() else {
            return err(
                self,
                "a trace-level intrinsic can only be joined to the rest of its spanset with `&&`",
            );
        };
        compare(field, op, &value.constant()?, value)
    }

    /// `nestedSetParent op c`, for an `op` and `c` that hold for every span other than a
    /// root alike (Traces Drilldown's `nestedSetParent < 0` for root spans).
    fn nested_set_parent(&self, op: CmpKind, value: &Node) -> Res<Filter> {
        let Lit::Int(c) = value.constant()? else {
            return err(value, "`nestedSetParent` compares with an integer");
        };
        let holds = |v: i64| match op {
            CmpKind::Eq => Some(v == c),
            CmpKind::Ne => Some(v != c),
            CmpKind::Gt => Some(v > c),
            CmpKind::Ge => Some(v >= c),
            CmpKind::Lt => Some(v < c),
            CmpKind::Le => Some(v <= c),
            CmpKind::Re | CmpKind::NotRe => None,
        };
        let decided = |root, first, last| {
            let same = first == last && !(c >= 1 && matches!(op, CmpKind::Eq | CmpKind::Ne));
            same.then_some((root, first))
        };
        let root = Filter::Not(Box::new(Filter::Exists(Field::Intrinsic(
            Intrinsic::ParentSpanId,
        ))));
        match holds(-1)
            .zip(holds(1))
            .zip(holds(i64::MAX))
            .and_then(|((r, f), l)| decided(r, f, l))
        {
            Some((true, false)) => Ok(root),
            Some((false, true)) => Ok(Filter::Not(Box::new(root))),
            Some((true, true)) => Ok(Filter::True),
            Some((false, false)) => Ok(Filter::never()),
            None => err(
                self,
                "`nestedSetParent` is answered only as root spans or not \
                 (`nestedSetParent < 0`, `nestedSetParent >= 0`)",
            ),
        }
    }

    fn find_field(&self) -> Option<&Node> {
        match &self.kind {
            Kind::Field(_) => Some(self),
            Kind::Or(items) | Kind::And(items) => items.iter().find_map(Node::find_field),
            Kind::Cmp(_, a, b) | Kind::Arith(_, a, b) => a.find_field().or_else(|| b.find_field()),
            Kind::Not(a) | Kind::Neg(a) => a.find_field(),
            Kind::Lit(_) => None,
        }
    }

    /// The value of a constant expression: a literal, or arithmetic on numbers and
    /// durations, folded.
    pub(super) fn constant(&self) -> Res<Lit> {
        match &self.kind {
            Kind::Lit(l) => Ok(l.clone()),
            Kind::Neg(a) => match a.constant()? {
                Lit::Int(i) => i
                    .checked_neg()
                    .map(Lit::Int)
                    .map_or_else(|| err(self, "integer overflow"), Ok),
                Lit::Float(f) => Ok(Lit::Float(-f)),
                Lit::Duration(d) => Ok(Lit::Duration(-d)),
                _ => err(self, "only numbers and durations can be negated"),
            },
            Kind::Arith(op, a, b) => fold(self, *op, a.constant()?, b.constant()?),
            _ => err(self, "expected a value"),
        }
    }
}

fn filters(items: &[Node]) -> Res<Vec<Filter>> {
    items.iter().map(Node::to_filter).collect()
}

fn fold(node: &Node, op: ArithOp, a: Lit, b: Lit) -> Res<Lit> {
    let overflow = || -> Res<Lit> { err(node, "arithmetic overflow") };
    match (a, b) {
        (Lit::Int(x), Lit::Int(y)) => int_op(op, x, y).map_or_else(overflow, |v| Ok(Lit::Int(v))),
        (Lit::Duration(x), Lit::Duration(y)) if matches!(op, ArithOp::Add | ArithOp::Sub) => {
            int_op(op, x, y).map_or_else(overflow, |v| Ok(Lit::Duration(v)))
        }
        (Lit::Duration(x), Lit::Int(y)) if matches!(op, ArithOp::Mul | ArithOp::Div) => {
            int_op(op, x, y).map_or_else(overflow, |v| Ok(Lit::Duration(v)))
        }
        (Lit::Int(x), Lit::Duration(y)) if op == ArithOp::Mul => {
            int_op(op, x, y).map_or_else(overflow, |v| Ok(Lit::Duration(v)))
        }
        (x, y) => match (number(&x), number(&y)) {
            (Some(x), Some(y)) => {
                let v = match op {
                    ArithOp::Add => x + y,
                    ArithOp::Sub => x - y,
                    ArithOp::Mul => x * y,
                    ArithOp::Div => x / y,
                    ArithOp::Rem => x % y,
                    ArithOp::Pow => x.powf(y),
                };
                if v.is_finite() {
                    Ok(Lit::Float(v))
                } else {
                    err(node, "the arithmetic has no finite result")
                }
            }
            _ => err(node, "arithmetic works on numbers and durations"),
        },
    }
}

fn int_op(op: ArithOp, x: i64, y: i64) -> Option<i64> {
    match op {
        ArithOp::Add => x.checked_add(y),
        ArithOp::Sub => x.checked_sub(y),
        ArithOp::Mul => x.checked_mul(y),
        ArithOp::Div => x.checked_div(y),
        ArithOp::Rem => x.checked_rem(y),
        ArithOp::Pow => x.checked_pow(u32::try_from(y).ok()?),
    }
}

fn number(l: &Lit) -> Option<f64> {
    match l {
        Lit::Int(i) => Some(*i as f64),
        Lit::Float(f) => Some(*f),
        _ => None,
    }
}

/// `field op value` as a filter.
fn compare(field: &Field, op: CmpKind, value: &Lit, at: &Node) -> Res<Filter> {
    let present = || Filter::Exists(field.clone());
    let not = |f: Filter| Filter::Not(Box::new(f));
    // A missing attribute is nil, unequal to nothing; an intrinsic always has a value.
    let set_and_not = |f: Filter| match field {
        Field::Attr { .. } => Filter::And(vec![present(), not(f)]),
        Field::Intrinsic(_) => not(f),
    };
    match (op, value) {
        (CmpKind::Eq, Lit::Nil) => Ok(not(present())),
        (CmpKind::Ne, Lit::Nil) => Ok(present()),
        (_, Lit::Nil) => err(at, "`nil` can only be compared with `=` and `!=`"),
        (CmpKind::Re | CmpKind::NotRe, Lit::Str(re)) => {
            if let Err(e) = compile_regex(re) {
                return err(at, format!("invalid regular expression: {e}"));
            }
            let anchored = format!("^(?:{re})$");
            let m = Filter::Match {
                field: field.clone(),
                pattern: Pattern::Regex(anchored),
            };
            Ok(if op == CmpKind::Re { m } else { set_and_not(m) })
        }
        (CmpKind::Re | CmpKind::NotRe, _) => err(at, "a regular expression must be a string"),
        (CmpKind::Eq, v) => equals(field, v, at),
        (CmpKind::Ne, v) => equals(field, v, at).map(set_and_not),
        (op, v) => {
            let Some(cmp) = op.ordering() else {
                return err(at, "unexpected operator");
            };
            let value = match v {
                Lit::Int(i) if *field == Field::Intrinsic(Intrinsic::Duration) => {
                    Value::Duration(*i)
                }
                Lit::Int(i) => Value::Int(*i),
                Lit::Float(f) => Value::Float(*f),
                Lit::Duration(d) => Value::Duration(*d),
                _ => {
                    return err(
                        at,
                        "ordering comparisons need a number or a duration (string ordering is \
                         not supported by tracehouse)",
                    );
                }
            };
            Ok(Filter::Cmp {
                field: field.clone(),
                op: cmp,
                value,
            })
        }
    }
}

/// `field = value` as a filter, with the value checked against the field's type.
fn equals(field: &Field, value: &Lit, at: &Node) -> Res<Filter> {
    let exact = |text: String| {
        Ok(Filter::Match {
            field: field.clone(),
            pattern: Pattern::Exact(text),
        })
    };
    let cmp = |value: Value| {
        Ok(Filter::Cmp {
            field: field.clone(),
            op: CmpOp::Eq,
            value,
        })
    };
    let kind = match field {
        Field::Intrinsic(i) => Some(i.kind()),
        Field::Attr { .. } => None,
    };
    match (kind, value) {
        (Some(IntrinsicKind::Status), Lit::Status(s)) => exact((*s).to_string()),
        (Some(IntrinsicKind::Status), Lit::Str(s)) => match status_name(s) {
            Some(name) => exact(name.to_string()),
            None => err(at, "status is `error`, `ok` or `unset`"),
        },
        (Some(IntrinsicKind::Status), _) => err(at, "status is `error`, `ok` or `unset`"),
        (Some(IntrinsicKind::Kind), Lit::Kind(k)) => exact((*k).to_string()),
        (Some(IntrinsicKind::Kind), Lit::Str(s)) => match kind_name(s) {
            Some(name) => exact(name.to_string()),
            None => err(at, "kind is a span kind such as `server` or `client`"),
        },
        (Some(IntrinsicKind::Kind), _) => {
            err(at, "kind is a span kind such as `server` or `client`")
        }
        (Some(IntrinsicKind::Duration), Lit::Duration(d) | Lit::Int(d)) => cmp(Value::Duration(*d)),
        (Some(IntrinsicKind::Duration), _) => err(at, "duration is compared with a duration"),
        (Some(IntrinsicKind::Id), Lit::Str(s)) => exact(s.to_ascii_lowercase()),
        (Some(_), Lit::Str(s)) => exact(s.clone()),
        (Some(_), _) => err(at, "this intrinsic is compared with a string"),
        (None, Lit::Str(s)) => exact(s.clone()),
        (None, Lit::Int(i)) => cmp(Value::Int(*i)),
        (None, Lit::Float(f)) => cmp(Value::Float(*f)),
        (None, Lit::Duration(d)) => cmp(Value::Duration(*d)),
        (None, Lit::Bool(b)) => cmp(Value::Bool(*b)),
        (None, _) => err(
            at,
            "status and kind names compare with `status` and `kind`, not attributes",
        ),
    }
}
