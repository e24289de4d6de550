//! The syntax tree of a query, as written (keys are not resolved yet; see [`crate::plan`]).
//!
//! The tree is canonical: parentheses are not stored but implied by nesting, `&&`/`||`
//! inside braces are the same as `AND`/`OR`, and `'…'`/`` `…` `` strings are the same as
//! `"…"`. Printing a tree with [`std::fmt::Display`] and parsing the text gives the same
//! tree back.

use serde::{Deserialize, Serialize};

/// A parsed query: either a plain filter over spans (or logs), or a trace-structure query.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Query {
    /// A filter without braces; `None` is the empty query, which matches everything.
    Filter(Option<Expr>),
    /// A query built from `{ … }` spansets, structural operators and pipelines.
    Trace(TraceExpr),
}

/// A boolean filter expression.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Expr {
    /// All operands hold (explicit `AND`/`&&` or implicit juxtaposition); two or more operands.
    And(Vec<Expr>),
    /// Any operand holds (`OR`/`||`); two or more operands.
    Or(Vec<Expr>),
    /// `NOT expr`.
    Not(Box<Expr>),
    /// A single condition.
    Term(Term),
}

/// One condition.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Term {
    /// `key op value`, where the value may be a group such as `(a OR b)`.
    Compare {
        /// The key as written (`service`, `span.http.method`, ...).
        key: String,
        /// The operator.
        op: CompareOp,
        /// The value or value group.
        value: ValueExpr,
    },
    /// `key EXISTS` (`negated: false`) or `key NOT EXISTS` (`negated: true`).
    Exists {
        /// The key as written.
        key: String,
        /// True for `NOT EXISTS`.
        negated: bool,
    },
    /// A bare word, quoted string or regex without a key: searches the span name (logs: the body).
    Text(Value),
}

/// A comparison operator between a key and a value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum CompareOp {
    /// `:` (same meaning as `=`)
    Colon,
    /// `=`
    Eq,
    /// `!=`
    Ne,
    /// `>`
    Gt,
    /// `>=`
    Ge,
    /// `<`
    Lt,
    /// `<=`
    Le,
}

impl CompareOp {
    /// The operator as written in a query.
    pub fn symbol(self) -> &'static str {
        match self {
            CompareOp::Colon => ":",
            CompareOp::Eq => "=",
            CompareOp::Ne => "!=",
            CompareOp::Gt => ">",
            CompareOp::Ge => ">=",
            CompareOp::Lt => "<",
            CompareOp::Le => "<=",
        }
    }

    /// True for `> >= < <=`, which compare numerically.
    pub fn is_ordering(self) -> bool {
        matches!(
            self,
            CompareOp::Gt | CompareOp::Ge | CompareOp::Lt | CompareOp::Le
        )
    }
}

/// The right-hand side of a comparison: a value or a group of values.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum ValueExpr {
    /// A single value.
    Value(Value),
    /// `NOT v`: the comparison with `v` does not hold.
    Not(Box<ValueExpr>),
    /// `(a AND b …)`: the comparison holds with every value; two or more operands.
    And(Vec<ValueExpr>),
    /// `(a OR b …)`: the comparison holds with some value; two or more operands.
    Or(Vec<ValueExpr>),
}

/// A literal value as written.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Value {
    /// A bare word: text, number, duration, boolean or glob (`*`), classified when planned.
    Word(String),
    /// A quoted string (quotes removed, escapes resolved); may still contain `*` wildcards.
    Quoted(String),
    /// A regular expression, the text between the slashes.
    Regex(String),
}

impl Value {
    /// The text of the value (the pattern, for a regex).
    pub fn text(&self) -> &str {
        match self {
            Value::Word(s) | Value::Quoted(s) | Value::Regex(s) => s,
        }
    }
}

/// A trace-structure expression.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum TraceExpr {
    /// `{ filter }`: the spans of the trace that match; `{}` (`None`) is every span.
    Spanset(Option<Expr>),
    /// Two spanset expressions combined by `&&`, `||` or a structural operator.
    Binary {
        /// The operator.
        op: SpansetOp,
        /// Left operand.
        lhs: Box<TraceExpr>,
        /// Right operand.
        rhs: Box<TraceExpr>,
    },
    /// `input | stage | stage …` (at least one stage).
    Pipeline {
        /// The spansets fed into the pipeline.
        input: Box<TraceExpr>,
        /// The stages, applied in order.
        stages: Vec<Stage>,
    },
}

/// An operator between spanset expressions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum SpansetOp {
    /// `&&`: both sides match some span; the result is the union.
    And,
    /// `||`: either side matches; the result is the union.
    Or,
    /// `>`: right-hand spans whose parent is a left-hand span.
    Child,
    /// `>>`: right-hand spans that have a left-hand ancestor.
    Descendant,
    /// `<`: right-hand spans that are the parent of a left-hand span.
    Parent,
    /// `<<`: right-hand spans that are an ancestor of a left-hand span.
    Ancestor,
    /// `~`: right-hand spans that share a parent with a (different) left-hand span.
    Sibling,
}

impl SpansetOp {
    /// The operator as written.
    pub fn symbol(self) -> &'static str {
        match self {
            SpansetOp::And => "&&",
            SpansetOp::Or => "||",
            SpansetOp::Child => ">",
            SpansetOp::Descendant => ">>",
            SpansetOp::Parent => "<",
            SpansetOp::Ancestor => "<<",
            SpansetOp::Sibling => "~",
        }
    }

    /// Binding strength: `||` (1) < `&&` (2) < structural operators (3).
    pub fn precedence(self) -> u8 {
        match self {
            SpansetOp::Or => 1,
            SpansetOp::And => 2,
            _ => 3,
        }
    }
}

/// A pipeline stage.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Stage {
    /// `by(k, …)`: split each spanset into groups with equal values of the keys.
    By(Vec<String>),
    /// `func(arg) [by(k, …)] op threshold`: keep the spansets whose aggregate compares true.
    Aggregate {
        /// The aggregate function.
        func: AggFunc,
        /// Its argument key (`None` for `count()`).
        arg: Option<String>,
        /// Inline grouping written after the function; empty when absent.
        by: Vec<String>,
        /// The comparison (never `:`).
        op: CompareOp,
        /// The number or duration compared with, as written.
        threshold: String,
    },
}

/// A pipeline aggregate function.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum AggFunc {
    /// `count()`: number of spans.
    Count,
    /// `avg(f)`: mean of a numeric field.
    Avg,
    /// `min(f)`
    Min,
    /// `max(f)`
    Max,
    /// `sum(f)`
    Sum,
}

impl AggFunc {
    /// The function name as written.
    pub fn name(self) -> &'static str {
        match self {
            AggFunc::Count => "count",
            AggFunc::Avg => "avg",
            AggFunc::Min => "min",
            AggFunc::Max => "max",
            AggFunc::Sum => "sum",
        }
    }

    /// The function with this name (any case).
    pub fn from_name(name: &str) -> Option<AggFunc> {
        [
            AggFunc::Count,
            AggFunc::Avg,
            AggFunc::Min,
            AggFunc::Max,
            AggFunc::Sum,
        ]
        .into_iter()
        .find(|f| f.name().eq_ignore_ascii_case(name))
    }
}
