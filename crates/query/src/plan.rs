//! The backend-neutral plan IR and the planner that compiles a parsed [`Query`] to it.
//!
//! Both storage backends (the embedded DataFusion engine and the ClickHouse SQL
//! generator) compile from these types, and [`crate::eval`] evaluates them in memory;
//! the semantics documented here are the contract all three share.
//!
//! # Semantics every backend implements
//!
//! * Logic is two-valued. A leaf predicate ([`Filter::Cmp`], [`Filter::Match`]) on a
//!   field the span does not have is **false**, so `Not(leaf)` is true for it
//!   (`key!=v` matches spans without `key`, like Highlight).
//! * An attribute with [`Scope::Any`] holds the predicate when the span-scope value or
//!   the resource-scope value does; `Exists` likewise. [`Scope::Event`] and
//!   [`Scope::Link`] hold it when the attribute of at least one event / link does (so the
//!   negation holds when none does, and for spans without events or links);
//!   [`Scope::Instrumentation`] reads the one instrumentation scope of the span.
//! * A field's value "as text" is: strings as they are, integers in decimal, floats in
//!   Rust's shortest round-trip form, booleans `true`/`false`.
//! * Intrinsic `status_code` is one of `unset ok error`, `span_kind` one of
//!   `unspecified internal server client producer consumer` (lowercase); ids are
//!   lowercase hex; `duration` is nanoseconds; `timestamp` is the start time in
//!   nanoseconds since the Unix epoch; `has_errors` is a boolean.

use serde::{Deserialize, Serialize};

use crate::ast::{self, AggFunc, CompareOp, Expr, Query, Stage, Term, TraceExpr, ValueExpr};
use crate::lexer::{DurationLit, Number, parse_duration, parse_number};

/// A built-in field of every span (or log record).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Intrinsic {
    /// `trace_id`: lowercase hex.
    TraceId,
    /// `span_id`: lowercase hex.
    SpanId,
    /// `parent_span_id`: lowercase hex, missing for a root span.
    ParentSpanId,
    /// `span_name` (alias `name`).
    SpanName,
    /// `service_name` (alias `service`).
    ServiceName,
    /// `service_version`.
    ServiceVersion,
    /// `environment`.
    Environment,
    /// `span_kind` (alias `kind`): a lowercase kind name.
    SpanKind,
    /// `duration`: nanoseconds.
    Duration,
    /// `status_code` (alias `status`): `unset`, `ok` or `error`.
    StatusCode,
    /// `status_message`.
    StatusMessage,
    /// `has_errors` (alias `has_error`): boolean.
    HasErrors,
    /// `secure_session_id` (alias `session_id`).
    SessionId,
    /// `level`/`severity` of a log record (severity text, compared case-insensitively).
    Severity,
    /// The body of a log record (`body`; for logs also `message`).
    Body,
    /// `timestamp`: start time, nanoseconds since the Unix epoch.
    Timestamp,
}

/// What kind of values an intrinsic holds; decides how values are typed and checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum IntrinsicKind {
    /// Free text, matched case-sensitively when exact.
    Text,
    /// Lowercase hex ids.
    Id,
    /// Nanoseconds, written as durations (`250ms`) or plain numbers (ns).
    Duration,
    /// Nanoseconds since the epoch, written as integers.
    Timestamp,
    /// `true`/`false`.
    Bool,
    /// Status code names.
    Status,
    /// Span kind names.
    Kind,
    /// Log severity text, matched case-insensitively.
    Severity,
}

impl Intrinsic {
    /// Every intrinsic, in a stable order.
    pub const ALL: [Intrinsic; 16] = [
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
        Intrinsic::Body,
        Intrinsic::Timestamp,
    ];

    /// The canonical key of the intrinsic.
    pub fn name(self) -> &'static str {
        match self {
            Intrinsic::TraceId => "trace_id",
            Intrinsic::SpanId => "span_id",
            Intrinsic::ParentSpanId => "parent_span_id",
            Intrinsic::SpanName => "span_name",
            Intrinsic::ServiceName => "service_name",
            Intrinsic::ServiceVersion => "service_version",
            Intrinsic::Environment => "environment",
            Intrinsic::SpanKind => "span_kind",
            Intrinsic::Duration => "duration",
            Intrinsic::StatusCode => "status_code",
            Intrinsic::StatusMessage => "status_message",
            Intrinsic::HasErrors => "has_errors",
            Intrinsic::SessionId => "secure_session_id",
            Intrinsic::Severity => "level",
            Intrinsic::Body => "body",
            Intrinsic::Timestamp => "timestamp",
        }
    }

    /// The kind of values the intrinsic holds.
    pub fn kind(self) -> IntrinsicKind {
        match self {
            Intrinsic::TraceId | Intrinsic::SpanId | Intrinsic::ParentSpanId => IntrinsicKind::Id,
            Intrinsic::Duration => IntrinsicKind::Duration,
            Intrinsic::Timestamp => IntrinsicKind::Timestamp,
            Intrinsic::HasErrors => IntrinsicKind::Bool,
            Intrinsic::StatusCode => IntrinsicKind::Status,
            Intrinsic::SpanKind => IntrinsicKind::Kind,
            Intrinsic::Severity => IntrinsicKind::Severity,
            _ => IntrinsicKind::Text,
        }
    }
}

/// Which attribute map a key is looked up in.
///
/// `Span`, `Resource` and `Instrumentation` hold at most one value per span; `Any` has up
/// to two (span and resource); `Event` and `Link` have one per event / link that sets the
/// key. Every leaf predicate treats a field with several values alike: it holds when it
/// holds for **at least one** value, and is false when there is none. `key!=v` and
/// `NOT …` negate that, so `event.k!=v` holds when **no** event has `k` equal to `v`
/// (including spans without events), exactly as `k!=v` holds when neither the span nor
/// the resource attribute equals `v`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Scope {
    /// Span attributes (`span.` prefix).
    Span,
    /// Resource attributes (`resource.` prefix).
    Resource,
    /// Either: the predicate holds if it holds in the span or in the resource scope.
    Any,
    /// Attributes of the span's events (`event.` prefix): one value per event with the key.
    Event,
    /// Attributes of the span's links (`link.` prefix): one value per link with the key.
    Link,
    /// Attributes of the span's instrumentation scope (`instrumentation.` prefix).
    Instrumentation,
}

impl Scope {
    /// The key prefix that selects the scope (`None` for [`Scope::Any`], which has none).
    pub fn prefix(self) -> Option<&'static str> {
        match self {
            Scope::Span => Some("span."),
            Scope::Resource => Some("resource."),
            Scope::Any => None,
            Scope::Event => Some("event."),
            Scope::Link => Some("link."),
            Scope::Instrumentation => Some("instrumentation."),
        }
    }

    /// Whether a span can hold several values of one key in this scope (events, links).
    pub fn is_multi_valued(self) -> bool {
        matches!(self, Scope::Event | Scope::Link)
    }
}

/// A field a predicate reads.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Field {
    /// A built-in field.
    Intrinsic(Intrinsic),
    /// An attribute by key (case-sensitive) in a scope.
    Attr {
        /// Where to look.
        scope: Scope,
        /// The attribute key, without the scope prefix.
        key: String,
    },
}

/// What the query runs over; decides a few key meanings and the free-text field.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
pub enum Target {
    /// Spans: free text searches the span name; `level`, `severity`, `message` are attributes.
    #[default]
    Spans,
    /// Log records: free text searches the body; `level`/`severity` is the severity,
    /// `message` the body.
    Logs,
}

/// Resolves a key as written to the field it names.
///
/// Intrinsic names and aliases are matched exactly (lowercase); `span.x` and
/// `resource.x` are scoped attributes; over spans `event.x`, `link.x` and
/// `instrumentation.x` are attributes of the span's events, links and instrumentation
/// scope (log records have none of these, so over logs those prefixes are part of an
/// ordinary key such as `event.name`); anything else is an attribute in [`Scope::Any`].
/// A prefix alone (`span.`) is an ordinary key.
pub fn resolve_key(key: &str, target: Target) -> Field {
    let intrinsic = match key {
        "trace_id" => Some(Intrinsic::TraceId),
        "span_id" => Some(Intrinsic::SpanId),
        "parent_span_id" => Some(Intrinsic::ParentSpanId),
        "span_name" | "name" => Some(Intrinsic::SpanName),
        "service_name" | "service" => Some(Intrinsic::ServiceName),
        "service_version" => Some(Intrinsic::ServiceVersion),
        "environment" => Some(Intrinsic::Environment),
        "span_kind" | "kind" => Some(Intrinsic::SpanKind),
        "duration" => Some(Intrinsic::Duration),
        "status_code" | "status" => Some(Intrinsic::StatusCode),
        "status_message" => Some(Intrinsic::StatusMessage),
        "has_errors" | "has_error" => Some(Intrinsic::HasErrors),
        "secure_session_id" | "session_id" => Some(Intrinsic::SessionId),
        "timestamp" => Some(Intrinsic::Timestamp),
        "body" => Some(Intrinsic::Body),
        "level" | "severity" if target == Target::Logs => Some(Intrinsic::Severity),
        "message" if target == Target::Logs => Some(Intrinsic::Body),
        _ => None,
    };
    if let Some(i) = intrinsic {
        return Field::Intrinsic(i);
    }
    let scopes: &[Scope] = match target {
        Target::Spans => &[
            Scope::Span,
            Scope::Resource,
            Scope::Event,
            Scope::Link,
            Scope::Instrumentation,
        ],
        Target::Logs => &[Scope::Span, Scope::Resource],
    };
    for &scope in scopes {
        if let Some(rest) = scope
            .prefix()
            .and_then(|p| key.strip_prefix(p))
            .filter(|r| !r.is_empty())
        {
            return Field::Attr {
                scope,
                key: rest.to_string(),
            };
        }
    }
    Field::Attr {
        scope: Scope::Any,
        key: key.to_string(),
    }
}

/// The built-in fields records of `target` have, by their canonical names: what
/// autocomplete offers even before any record has them.
pub fn reserved_keys(target: Target) -> &'static [Intrinsic] {
    match target {
        Target::Spans => &[
            Intrinsic::ServiceName,
            Intrinsic::SpanName,
            Intrinsic::Duration,
            Intrinsic::StatusCode,
            Intrinsic::StatusMessage,
            Intrinsic::SpanKind,
            Intrinsic::TraceId,
            Intrinsic::SpanId,
            Intrinsic::ParentSpanId,
            Intrinsic::ServiceVersion,
            Intrinsic::Environment,
            Intrinsic::HasErrors,
            Intrinsic::SessionId,
            Intrinsic::Timestamp,
        ],
        Target::Logs => &[
            Intrinsic::Severity,
            Intrinsic::Body,
            Intrinsic::ServiceName,
            Intrinsic::TraceId,
            Intrinsic::SpanId,
            Intrinsic::ServiceVersion,
            Intrinsic::Environment,
            Intrinsic::SessionId,
            Intrinsic::Timestamp,
        ],
    }
}

/// The field bare words search: the span name, or the body of a log record.
pub fn text_field(target: Target) -> Field {
    match target {
        Target::Spans => Field::Intrinsic(Intrinsic::SpanName),
        Target::Logs => Field::Intrinsic(Intrinsic::Body),
    }
}

/// The canonical status name for `text` (`error`, `ERROR`, `2`, `STATUS_CODE_ERROR` → `error`).
pub fn status_name(text: &str) -> Option<&'static str> {
    let t = text.to_ascii_lowercase();
    let t = t.strip_prefix("status_code_").unwrap_or(&t);
    Some(match t {
        "unset" | "0" => "unset",
        "ok" | "1" => "ok",
        "error" | "2" => "error",
        _ => return None,
    })
}

/// The canonical span kind name for `text` (`Server`, `2`, `SPAN_KIND_SERVER` → `server`).
pub fn kind_name(text: &str) -> Option<&'static str> {
    let t = text.to_ascii_lowercase();
    let t = t.strip_prefix("span_kind_").unwrap_or(&t);
    Some(match t {
        "unspecified" | "0" => "unspecified",
        "internal" | "1" => "internal",
        "server" | "2" => "server",
        "client" | "3" => "client",
        "producer" | "4" => "producer",
        "consumer" | "5" => "consumer",
        _ => return None,
    })
}

/// The boolean a word stands for (`true`/`false` any case).
pub fn bool_value(text: &str) -> Option<bool> {
    if text.eq_ignore_ascii_case("true") {
        Some(true)
    } else if text.eq_ignore_ascii_case("false") {
        Some(false)
    } else {
        None
    }
}

/// A typed value in a comparison.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Value {
    /// Text; `Eq` compares the field's value as text, case-sensitively.
    Str(String),
    /// An integer; compares numerically (text fields are parsed as numbers).
    Int(i64),
    /// A float; compares numerically.
    Float(f64),
    /// A duration in nanoseconds; compares numerically with nanosecond values.
    Duration(i64),
    /// A boolean; text fields `true`/`false` (any case) compare equal to it.
    Bool(bool),
}

impl Value {
    /// The numeric value, for `Int`, `Float` and `Duration`.
    pub fn as_f64(&self) -> Option<f64> {
        match self {
            Value::Int(i) | Value::Duration(i) => Some(*i as f64),
            Value::Float(f) => Some(*f),
            Value::Str(_) | Value::Bool(_) => None,
        }
    }
}

/// A comparison operator in the IR.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum CmpOp {
    /// Equal.
    Eq,
    /// Not equal: exactly `Not(Eq)` (true when the field is missing). The planner writes
    /// `!=` as `Not(…)` in filters; `Ne` appears in pipeline aggregate comparisons.
    Ne,
    /// Greater than (numeric).
    Gt,
    /// Greater than or equal (numeric).
    Ge,
    /// Less than (numeric).
    Lt,
    /// Less than or equal (numeric).
    Le,
}

impl CmpOp {
    /// Applies the operator to two numbers.
    pub fn apply(self, lhs: f64, rhs: f64) -> bool {
        match self {
            CmpOp::Eq => lhs == rhs,
            CmpOp::Ne => lhs != rhs,
            CmpOp::Gt => lhs > rhs,
            CmpOp::Ge => lhs >= rhs,
            CmpOp::Lt => lhs < rhs,
            CmpOp::Le => lhs <= rhs,
        }
    }

    fn from_ast(op: CompareOp) -> CmpOp {
        match op {
            CompareOp::Colon | CompareOp::Eq => CmpOp::Eq,
            CompareOp::Ne => CmpOp::Ne,
            CompareOp::Gt => CmpOp::Gt,
            CompareOp::Ge => CmpOp::Ge,
            CompareOp::Lt => CmpOp::Lt,
            CompareOp::Le => CmpOp::Le,
        }
    }
}

/// A text pattern matched against a field's value as text.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Pattern {
    /// The whole value equals the text, case-sensitively.
    Exact(String),
    /// `*` matches any run of characters (possibly empty); anchored at both ends;
    /// case-insensitive. No other character is special (backends must escape `%`, `_`).
    Glob(String),
    /// An unanchored regular expression (RE2 syntax, as in the `regex` crate).
    Regex(String),
    /// Some token of the value equals the text, case-insensitively. Tokens are maximal
    /// runs of Unicode letters, numbers and combining marks: whitespace of any kind,
    /// punctuation and symbols separate them ([`crate::eval::TOKEN_SEPARATORS`]). The
    /// text is one token ([`crate::eval::is_token`]).
    Token(String),
    /// The value contains the text, case-insensitively.
    Substring(String),
}

impl Pattern {
    /// The SQL `LIKE` pattern (escape character `\`) of a glob or substring, to be matched
    /// against the lowercased text: what both backends' compilers use, so that `%`, `_` and
    /// `\` in user text are literal everywhere. `None` for the other patterns.
    pub fn like(&self) -> Option<String> {
        let escaped = |text: &str, star_is_wildcard: bool| {
            let mut out = String::with_capacity(text.len() + 4);
            for ch in text.to_lowercase().chars() {
                match ch {
                    '*' if star_is_wildcard => out.push('%'),
                    '%' | '_' | '\\' => {
                        out.push('\\');
                        out.push(ch);
                    }
                    _ => out.push(ch),
                }
            }
            out
        };
        match self {
            Pattern::Glob(g) => Some(escaped(g, true)),
            Pattern::Substring(s) => Some(format!("%{}%", escaped(s, false))),
            Pattern::Exact(_) | Pattern::Regex(_) | Pattern::Token(_) => None,
        }
    }

    /// Whether this is a level name matched exactly: `level:warning` means the level `warn`
    /// whatever the spelling (see [`level_of`]), while a glob with `*` matches level names
    /// as text.
    pub fn level_name(&self) -> Option<&str> {
        match self {
            Pattern::Exact(v) | Pattern::Glob(v) if !v.contains('*') => Some(v),
            _ => None,
        }
    }
}

/// The level a level name means (`warning` → `warn`, `ERR` → `error`); `None` for words that
/// name no level, which match no record.
pub fn level_of(text: &str) -> Option<tracehouse_model::Level> {
    tracehouse_model::Level::from_text(text)
}

/// The bytes an id intrinsic (`trace_id`, `span_id`, `parent_span_id`) equals when the query
/// says `id:text`: `text` must be lowercase hex of the id's length (the planner lowercases
/// what users type); anything else matches no span.
pub fn id_bytes(id: Intrinsic, text: &str) -> Option<Vec<u8>> {
    let len = match id {
        Intrinsic::TraceId => 16,
        Intrinsic::SpanId | Intrinsic::ParentSpanId => 8,
        _ => return None,
    };
    let nibble = |b: u8| match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        _ => None,
    };
    let hex = text.as_bytes();
    if hex.len() != 2 * len {
        return None;
    }
    hex.chunks_exact(2)
        .map(|pair| Some(nibble(pair[0])? << 4 | nibble(pair[1])?))
        .collect()
}

/// A per-span predicate.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Filter {
    /// Always true.
    True,
    /// Every operand holds (empty: true).
    And(Vec<Filter>),
    /// Some operand holds (empty: false).
    Or(Vec<Filter>),
    /// The operand does not hold.
    Not(Box<Filter>),
    /// The field compares with a typed value (see [`Value`] and [`CmpOp`]).
    Cmp {
        /// The field.
        field: Field,
        /// The operator.
        op: CmpOp,
        /// The value.
        value: Value,
    },
    /// The field is present (for attributes: the key is set; for intrinsics: not empty).
    Exists(Field),
    /// The field's value as text matches the pattern.
    Match {
        /// The field.
        field: Field,
        /// The pattern.
        pattern: Pattern,
    },
}

impl Filter {
    /// Adds every field the filter reads to `out`.
    pub fn collect_fields<'a>(&'a self, out: &mut Vec<&'a Field>) {
        match self {
            Filter::True => {}
            Filter::And(items) | Filter::Or(items) => {
                items.iter().for_each(|f| f.collect_fields(out));
            }
            Filter::Not(inner) => inner.collect_fields(out),
            Filter::Exists(field) | Filter::Cmp { field, .. } | Filter::Match { field, .. } => {
                out.push(field);
            }
        }
    }

    /// Always false (`Not(True)`).
    pub fn never() -> Filter {
        Filter::Not(Box::new(Filter::True))
    }

    /// The filter for a store that knows which attributes none of its records has:
    /// `Exists` of such a field is false, and the filter is simplified around it (so that
    /// `service:x`, which reads an attribute `service` where a record has one, becomes the
    /// plain built-in comparison when no record has it). The answer is the same on those
    /// records; the simpler filter lets indexes on built-in fields serve it.
    pub fn without_absent(self, absent: &impl Fn(&Field) -> bool) -> Filter {
        let fold = |items: Vec<Filter>| items.into_iter().map(|f| f.without_absent(absent));
        match self {
            Filter::Exists(field) if absent(&field) => Filter::never(),
            Filter::And(items) => Filter::And(fold(items).collect()).simplify(),
            Filter::Or(items) => Filter::Or(fold(items).collect()).simplify(),
            Filter::Not(inner) => Filter::Not(Box::new(inner.without_absent(absent))).simplify(),
            other => other,
        }
    }

    /// Flattens nested `And`/`Or`, drops neutral operands, removes double negation; an
    /// `And` with a false operand is false, an `Or` drops false operands.
    pub fn simplify(self) -> Filter {
        match self {
            Filter::And(items) => {
                let mut out = Vec::new();
                for f in items.into_iter().map(Filter::simplify) {
                    match f {
                        Filter::True => {}
                        f if f == Filter::never() => return f,
                        Filter::And(inner) => out.extend(inner),
                        other => out.push(other),
                    }
                }
                match out.len() {
                    0 => Filter::True,
                    1 => out.pop().unwrap_or(Filter::True),
                    _ => Filter::And(out),
                }
            }
            Filter::Or(items) => {
                let mut out: Vec<Filter> = Vec::new();
                for f in items.into_iter().map(Filter::simplify) {
                    match f {
                        Filter::True => return Filter::True,
                        f if f == Filter::never() => {}
                        Filter::Or(inner) => {
                            for g in inner {
                                if !out.contains(&g) {
                                    out.push(g);
                                }
                            }
                        }
                        other => {
                            if !out.contains(&other) {
                                out.push(other);
                            }
                        }
                    }
                }
                match out.len() {
                    0 => Filter::never(),
                    1 => out.pop().unwrap_or_else(Filter::never),
                    _ => Filter::Or(out),
                }
            }
            Filter::Not(inner) => match inner.simplify() {
                Filter::Not(x) => *x,
                other => Filter::Not(Box::new(other)),
            },
            leaf => leaf,
        }
    }
}

/// How a structural operator relates right-hand spans to left-hand spans.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Relation {
    /// `>`: the right span's parent is a left span.
    Child,
    /// `>>`: some ancestor of the right span is a left span.
    Descendant,
    /// `<`: the right span is the parent of a left span.
    Parent,
    /// `<<`: the right span is an ancestor of a left span.
    Ancestor,
    /// `~`: the right span shares its (non-empty) parent with a different left span.
    Sibling,
}

impl Relation {
    /// The relation seen from the other side (`>` ⇄ `<`, `>>` ⇄ `<<`, `~` ⇄ `~`): a left
    /// span is related to a right span by `rel` exactly when the right span is related to
    /// the left one by `rel.inverse()`.
    pub fn inverse(self) -> Relation {
        match self {
            Relation::Child => Relation::Parent,
            Relation::Parent => Relation::Child,
            Relation::Descendant => Relation::Ancestor,
            Relation::Ancestor => Relation::Descendant,
            Relation::Sibling => Relation::Sibling,
        }
    }
}

/// Which spans a structural operator yields.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
pub enum RelationMode {
    /// The right-hand spans related to some left-hand span (`>`, `>>`, …).
    #[default]
    Related,
    /// The right-hand spans related to no left-hand span (TraceQL's `!>`, `!>>`, …).
    Unrelated,
    /// The related right-hand spans and the left-hand spans they are related to
    /// (TraceQL's union forms `&>`, `&>>`, …).
    Both,
}

/// A trace-structure expression, evaluated on all spans of one candidate trace. Each
/// node yields a set of spans; the trace matches when the root's set is non-empty.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Structure {
    /// The spans that match the filter.
    Spanset(Filter),
    /// Both sides non-empty: their union; otherwise empty.
    And(Box<Structure>, Box<Structure>),
    /// The union of both sides.
    Or(Box<Structure>, Box<Structure>),
    /// The right-hand spans related to some left-hand span (or, by `mode`, to none, or
    /// those and the left-hand spans they relate to).
    Relation {
        /// The relation.
        rel: Relation,
        /// Which spans the relation yields.
        #[serde(default)]
        mode: RelationMode,
        /// Left operand.
        lhs: Box<Structure>,
        /// Right operand (its spans are the result).
        rhs: Box<Structure>,
    },
    /// The input's spans as one group, transformed by the stages; the result is the
    /// union of the groups that survive.
    Pipeline {
        /// The input.
        input: Box<Structure>,
        /// The stages, in order.
        stages: Vec<PlanStage>,
    },
}

/// A pipeline stage in the IR.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum PlanStage {
    /// Splits every group into sub-groups of spans with equal values (as text) of the
    /// fields; spans missing a field group together. A field with several values (an
    /// unscoped key set on span and resource, an event or link attribute) groups by its
    /// first: the span scope before the resource, the first event / link in span order.
    GroupBy(Vec<Field>),
    /// Keeps the groups whose aggregate compares true with `threshold`.
    /// `count` counts spans; `avg`/`min`/`max`/`sum` read the field as a number
    /// (durations in ns; text parsed as a number; spans without a number are skipped;
    /// a field with several values contributes its first number) and a group with no
    /// numbers is dropped.
    Aggregate {
        /// The function.
        func: AggFunc,
        /// Its field (`None` for `count`).
        field: Option<Field>,
        /// The comparison.
        op: CmpOp,
        /// The number compared with (durations in ns).
        threshold: f64,
    },
}

impl Structure {
    /// The structure with each spanset's filter folded by [`Filter::without_absent`].
    pub fn without_absent(self, absent: &impl Fn(&Field) -> bool) -> Structure {
        let fold = |s: Box<Structure>| Box::new(s.without_absent(absent));
        match self {
            Structure::Spanset(filter) => Structure::Spanset(filter.without_absent(absent)),
            Structure::And(a, b) => Structure::And(fold(a), fold(b)),
            Structure::Or(a, b) => Structure::Or(fold(a), fold(b)),
            Structure::Relation {
                rel,
                mode,
                lhs,
                rhs,
            } => Structure::Relation {
                rel,
                mode,
                lhs: fold(lhs),
                rhs: fold(rhs),
            },
            Structure::Pipeline { input, stages } => Structure::Pipeline {
                input: fold(input),
                stages,
            },
        }
    }

    /// Every field the structure reads (its spansets' filters and its pipeline stages), so
    /// that a store can read only those columns of candidate traces.
    pub fn fields(&self) -> Vec<&Field> {
        let mut out = Vec::new();
        self.collect_fields(&mut out);
        out
    }

    fn collect_fields<'a>(&'a self, out: &mut Vec<&'a Field>) {
        match self {
            Structure::Spanset(filter) => filter.collect_fields(out),
            Structure::And(a, b) | Structure::Or(a, b) => {
                a.collect_fields(out);
                b.collect_fields(out);
            }
            Structure::Relation { lhs, rhs, .. } => {
                lhs.collect_fields(out);
                rhs.collect_fields(out);
            }
            Structure::Pipeline { input, stages } => {
                input.collect_fields(out);
                for stage in stages {
                    match stage {
                        PlanStage::GroupBy(fields) => out.extend(fields),
                        PlanStage::Aggregate { field, .. } => out.extend(field.as_ref()),
                    }
                }
            }
        }
    }
}

/// A compiled query.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Plan {
    /// A per-span filter. For a plain filter query it is the query; for a structural
    /// query it is conservative: every matching trace has at least one span that
    /// satisfies it (the OR of the spansets' filters), so a store can use it to find
    /// candidate traces.
    pub pushdown: Filter,
    /// The structure to evaluate on each candidate trace's spans, for structural queries.
    pub structure: Option<Structure>,
}

impl Plan {
    /// The plan with its pushdown filter and its structure's spansets folded by
    /// [`Filter::without_absent`].
    pub fn without_absent(self, absent: &impl Fn(&Field) -> bool) -> Plan {
        Plan {
            pushdown: self.pushdown.without_absent(absent),
            structure: self.structure.map(|s| s.without_absent(absent)),
        }
    }
}

/// Compiles a query over spans. Equivalent to `plan_for(q, Target::Spans)`.
pub fn plan(q: &Query) -> Plan {
    plan_for(q, Target::Spans)
}

/// Compiles a query for the given target.
///
/// Never fails: the parser has checked values; a hand-built AST with values of the
/// wrong type still compiles (to predicates that match nothing sensible).
pub fn plan_for(q: &Query, target: Target) -> Plan {
    match q {
        Query::Filter(None) => Plan {
            pushdown: Filter::True,
            structure: None,
        },
        Query::Filter(Some(e)) => Plan {
            pushdown: compile_expr(e, target).simplify(),
            structure: None,
        },
        Query::Trace(t) => Plan::of_structure(compile_trace(t, target)),
    }
}

impl Plan {
    /// The plan of a structural query: the structure, and as pushdown the OR of its
    /// spansets' filters (every matching trace has a span that satisfies one of them).
    pub fn of_structure(structure: Structure) -> Plan {
        let mut leaves = Vec::new();
        spanset_filters(&structure, &mut leaves);
        Plan {
            pushdown: Filter::Or(leaves).simplify(),
            structure: Some(structure),
        }
    }
}

/// Compiles a filter expression.
pub fn compile_expr(e: &Expr, target: Target) -> Filter {
    match e {
        Expr::And(items) => Filter::And(items.iter().map(|x| compile_expr(x, target)).collect()),
        Expr::Or(items) => Filter::Or(items.iter().map(|x| compile_expr(x, target)).collect()),
        Expr::Not(x) => Filter::Not(Box::new(compile_expr(x, target))),
        Expr::Term(t) => compile_term(t, target),
    }
}

fn compile_term(t: &Term, target: Target) -> Filter {
    match t {
        Term::Compare { key, op, value } => {
            if *op == CompareOp::Ne {
                Filter::Not(Box::new(on_key(key, target, |field| {
                    compile_value_expr(field, CmpOp::Eq, value)
                })))
            } else {
                on_key(key, target, |field| {
                    compile_value_expr(field, CmpOp::from_ast(*op), value)
                })
            }
        }
        Term::Exists { key, negated } => {
            let f = on_key(key, target, |field| Filter::Exists(field.clone()));
            if *negated {
                Filter::Not(Box::new(f))
            } else {
                f
            }
        }
        Term::Text(v) => compile_text(text_field(target), v),
    }
}

/// The short aliases of built-in fields (`service`, `name`, `kind`, `status`,
/// `has_error`, `session_id`; over logs also `severity` and `message`): keys that read an attribute of the same name on the records
/// that have one, and the built-in field on the others. Canonical names (`service_name`,
/// `span_name`, …, and `level` over logs) always read the built-in field, and `span.`/`resource.`
/// name an attribute of any key.
pub fn short_alias(key: &str, target: Target) -> Option<Intrinsic> {
    Some(match key {
        "name" => Intrinsic::SpanName,
        "service" => Intrinsic::ServiceName,
        "kind" => Intrinsic::SpanKind,
        "status" => Intrinsic::StatusCode,
        "has_error" => Intrinsic::HasErrors,
        "session_id" => Intrinsic::SessionId,
        "severity" if target == Target::Logs => Intrinsic::Severity,
        "message" if target == Target::Logs => Intrinsic::Body,
        _ => return None,
    })
}

/// The predicate `build` makes for the field `key` names. For a [`short_alias`] it is
/// built for both readings: the attribute `key` (span or resource scope) where a record
/// has it, the built-in field where it does not.
fn on_key(key: &str, target: Target, build: impl Fn(&Field) -> Filter) -> Filter {
    let field = resolve_key(key, target);
    if short_alias(key, target).is_none() {
        return build(&field);
    }
    let attr = Field::Attr {
        scope: Scope::Any,
        key: key.to_string(),
    };
    let has_attr = Filter::Exists(attr.clone());
    Filter::Or(vec![
        Filter::And(vec![has_attr.clone(), build(&attr)]),
        Filter::And(vec![Filter::Not(Box::new(has_attr)), build(&field)]),
    ])
}

fn compile_value_expr(field: &Field, op: CmpOp, v: &ValueExpr) -> Filter {
    match v {
        ValueExpr::Value(v) => compile_value(field, op, v),
        ValueExpr::Not(x) => Filter::Not(Box::new(compile_value_expr(field, op, x))),
        ValueExpr::And(items) => Filter::And(
            items
                .iter()
                .map(|x| compile_value_expr(field, op, x))
                .collect(),
        ),
        ValueExpr::Or(items) => Filter::Or(
            items
                .iter()
                .map(|x| compile_value_expr(field, op, x))
                .collect(),
        ),
    }
}

fn number_value(n: Number) -> Value {
    match n {
        Number::Int(i) => Value::Int(i),
        Number::Float(f) => Value::Float(f),
    }
}

/// A duration-or-number literal as a typed value; numbers on duration fields are ns.
fn numeric_literal(text: &str, field: &Field) -> Option<Value> {
    if let DurationLit::Nanos(ns) = parse_duration(text) {
        return Some(Value::Duration(ns));
    }
    let n = parse_number(text)?;
    if *field == Field::Intrinsic(Intrinsic::Duration) {
        return Some(Value::Duration(match n {
            Number::Int(i) => i,
            Number::Float(f) => f as i64,
        }));
    }
    Some(number_value(n))
}

fn compile_value(field: &Field, op: CmpOp, v: &ast::Value) -> Filter {
    let text = match v {
        ast::Value::Regex(re) => {
            return Filter::Match {
                field: field.clone(),
                pattern: Pattern::Regex(re.clone()),
            };
        }
        ast::Value::Word(t) | ast::Value::Quoted(t) => t,
    };
    let cmp = |value: Value| Filter::Cmp {
        field: field.clone(),
        op,
        value,
    };
    let matching = |pattern: Pattern| Filter::Match {
        field: field.clone(),
        pattern,
    };
    if op != CmpOp::Eq {
        return cmp(numeric_literal(text, field).unwrap_or_else(|| Value::Str(text.clone())));
    }
    if text.is_empty() {
        // `key=""`: the field is empty or absent (`key!=""` negates it: set and not empty).
        return Filter::Or(vec![
            Filter::Not(Box::new(Filter::Exists(field.clone()))),
            matching(Pattern::Exact(String::new())),
        ]);
    }
    if text.contains('*') {
        return matching(Pattern::Glob(text.clone()));
    }
    let exact = || matching(Pattern::Exact(text.clone()));
    match field {
        Field::Intrinsic(i) => match i.kind() {
            IntrinsicKind::Duration => numeric_literal(text, field).map_or_else(exact, cmp),
            IntrinsicKind::Timestamp => match parse_number(text) {
                Some(n) => cmp(number_value(n)),
                None => exact(),
            },
            IntrinsicKind::Bool => match bool_value(text) {
                Some(b) => cmp(Value::Bool(b)),
                None => exact(),
            },
            IntrinsicKind::Status => match status_name(text) {
                Some(n) => matching(Pattern::Exact(n.to_string())),
                None => exact(),
            },
            IntrinsicKind::Kind => match kind_name(text) {
                Some(n) => matching(Pattern::Exact(n.to_string())),
                None => exact(),
            },
            IntrinsicKind::Severity => matching(Pattern::Glob(text.clone())),
            IntrinsicKind::Id => matching(Pattern::Exact(text.to_ascii_lowercase())),
            IntrinsicKind::Text => exact(),
        },
        Field::Attr { .. } => match v {
            ast::Value::Word(w) => {
                if let Some(n) = parse_number(w) {
                    cmp(number_value(n))
                } else if let Some(b) = bool_value(w) {
                    cmp(Value::Bool(b))
                } else {
                    exact()
                }
            }
            _ => exact(),
        },
    }
}

fn compile_text(field: Field, v: &ast::Value) -> Filter {
    let pattern = match v {
        ast::Value::Regex(re) => Pattern::Regex(re.clone()),
        ast::Value::Word(w) if crate::eval::is_token(w) => Pattern::Token(w.clone()),
        ast::Value::Word(t) | ast::Value::Quoted(t) if t.contains('*') => {
            let mut g = String::with_capacity(t.len() + 2);
            if !t.starts_with('*') {
                g.push('*');
            }
            g.push_str(t);
            if !t.ends_with('*') {
                g.push('*');
            }
            Pattern::Glob(g)
        }
        ast::Value::Word(t) | ast::Value::Quoted(t) => Pattern::Substring(t.clone()),
    };
    Filter::Match { field, pattern }
}

fn compile_trace(t: &TraceExpr, target: Target) -> Structure {
    match t {
        TraceExpr::Spanset(None) => Structure::Spanset(Filter::True),
        TraceExpr::Spanset(Some(e)) => Structure::Spanset(compile_expr(e, target).simplify()),
        TraceExpr::Binary { op, lhs, rhs } => {
            let l = Box::new(compile_trace(lhs, target));
            let r = Box::new(compile_trace(rhs, target));
            let rel = match op {
                ast::SpansetOp::And => return Structure::And(l, r),
                ast::SpansetOp::Or => return Structure::Or(l, r),
                ast::SpansetOp::Child => Relation::Child,
                ast::SpansetOp::Descendant => Relation::Descendant,
                ast::SpansetOp::Parent => Relation::Parent,
                ast::SpansetOp::Ancestor => Relation::Ancestor,
                ast::SpansetOp::Sibling => Relation::Sibling,
            };
            Structure::Relation {
                rel,
                mode: RelationMode::Related,
                lhs: l,
                rhs: r,
            }
        }
        TraceExpr::Pipeline { input, stages } => {
            let mut out = Vec::new();
            for s in stages {
                compile_stage(s, target, &mut out);
            }
            Structure::Pipeline {
                input: Box::new(compile_trace(input, target)),
                stages: out,
            }
        }
    }
}

fn compile_stage(s: &Stage, target: Target, out: &mut Vec<PlanStage>) {
    let fields = |keys: &[String]| keys.iter().map(|k| resolve_key(k, target)).collect();
    match s {
        Stage::By(keys) => out.push(PlanStage::GroupBy(fields(keys))),
        Stage::Aggregate {
            func,
            arg,
            by,
            op,
            threshold,
        } => {
            if !by.is_empty() {
                out.push(PlanStage::GroupBy(fields(by)));
            }
            let threshold = match parse_duration(threshold) {
                DurationLit::Nanos(ns) => ns as f64,
                _ => parse_number(threshold).map_or(f64::NAN, Number::as_f64),
            };
            out.push(PlanStage::Aggregate {
                func: *func,
                field: arg.as_deref().map(|k| resolve_key(k, target)),
                op: CmpOp::from_ast(*op),
                threshold,
            });
        }
    }
}

fn spanset_filters(s: &Structure, out: &mut Vec<Filter>) {
    match s {
        Structure::Spanset(f) => out.push(f.clone()),
        Structure::And(l, r) | Structure::Or(l, r) | Structure::Relation { lhs: l, rhs: r, .. } => {
            spanset_filters(l, out);
            spanset_filters(r, out);
        }
        Structure::Pipeline { input, .. } => spanset_filters(input, out),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::parse;

    fn pd(q: &str) -> Filter {
        plan(&parse(q).unwrap_or_else(|e| panic!("{q:?}: {e}"))).pushdown
    }

    #[test]
    fn folding_absent_aliases_leaves_a_structure_reading_only_built_in_fields() {
        let p = plan(&parse("{service:frontend} >> {service:postgres duration>5ms}").unwrap());
        let is_attr = |f: &&Field| matches!(f, Field::Attr { .. });
        let structure = p.structure.clone().unwrap();
        assert!(
            structure.fields().iter().any(is_attr),
            "aliases read attributes"
        );
        let folded = p.without_absent(&|f: &Field| matches!(f, Field::Attr { .. }));
        let structure = folded.structure.unwrap();
        assert!(!structure.fields().iter().any(is_attr), "{structure:?}");
        let mut pushdown = Vec::new();
        folded.pushdown.collect_fields(&mut pushdown);
        assert!(!pushdown.iter().any(is_attr), "{:?}", folded.pushdown);
        let kept =
            plan(&parse("{service:frontend} >> {x:1}").unwrap()).without_absent(&|f: &Field| {
                *f == Field::Attr {
                    scope: Scope::Any,
                    key: "service".into(),
                }
            });
        assert!(
            kept.structure.unwrap().fields().iter().any(is_attr),
            "x stays an attribute"
        );
    }
    fn attr(key: &str) -> Field {
        Field::Attr {
            scope: Scope::Any,
            key: key.into(),
        }
    }
    fn intr(i: Intrinsic) -> Field {
        Field::Intrinsic(i)
    }
    #[test]
    fn like_patterns_escape_user_text_once_for_every_backend() {
        let like = |p: Pattern| p.like().unwrap_or_default();
        assert_eq!(like(Pattern::Glob("GET*".into())), "get%");
        assert_eq!(like(Pattern::Glob("*a_b%c\\*".into())), "%a\\_b\\%c\\\\%");
        assert_eq!(like(Pattern::Substring("50%*".into())), "%50\\%*%");
        assert_eq!(Pattern::Exact("x".into()).like(), None);
    }

    #[test]
    fn ids_and_level_names_mean_the_same_everywhere() {
        assert_eq!(
            id_bytes(Intrinsic::SpanId, "00000000000000ff"),
            Some(vec![0, 0, 0, 0, 0, 0, 0, 255])
        );
        assert_eq!(
            id_bytes(Intrinsic::TraceId, &"ab".repeat(16)),
            Some(vec![0xab; 16])
        );
        for bad in [
            "00000000000000FF",
            "0000000000000ff",
            "zz00000000000000",
            "",
        ] {
            assert_eq!(id_bytes(Intrinsic::SpanId, bad), None, "{bad}");
        }
        assert_eq!(id_bytes(Intrinsic::ServiceName, "00"), None);
        assert_eq!(
            Pattern::Glob("warning".into()).level_name(),
            Some("warning")
        );
        assert_eq!(Pattern::Glob("warn*".into()).level_name(), None);
        assert_eq!(level_of("WARNING").map(|l| l.as_str()), Some("warn"));
        assert_eq!(level_of("loud"), None);
    }

    fn m(field: Field, pattern: Pattern) -> Filter {
        Filter::Match { field, pattern }
    }
    fn c(field: Field, op: CmpOp, value: Value) -> Filter {
        Filter::Cmp { field, op, value }
    }

    #[test]
    fn keys_resolve_to_intrinsics_aliases_and_scopes() {
        for (k, i) in [
            ("trace_id", Intrinsic::TraceId),
            ("span_id", Intrinsic::SpanId),
            ("parent_span_id", Intrinsic::ParentSpanId),
            ("span_name", Intrinsic::SpanName),
            ("name", Intrinsic::SpanName),
            ("service_name", Intrinsic::ServiceName),
            ("service", Intrinsic::ServiceName),
            ("service_version", Intrinsic::ServiceVersion),
            ("environment", Intrinsic::Environment),
            ("span_kind", Intrinsic::SpanKind),
            ("kind", Intrinsic::SpanKind),
            ("duration", Intrinsic::Duration),
            ("status_code", Intrinsic::StatusCode),
            ("status_message", Intrinsic::StatusMessage),
            ("has_errors", Intrinsic::HasErrors),
            ("has_error", Intrinsic::HasErrors),
            ("secure_session_id", Intrinsic::SessionId),
            ("session_id", Intrinsic::SessionId),
            ("timestamp", Intrinsic::Timestamp),
        ] {
            assert_eq!(resolve_key(k, Target::Spans), intr(i), "{k}");
        }
        assert_eq!(
            resolve_key("level", Target::Logs),
            intr(Intrinsic::Severity)
        );
        assert_eq!(
            resolve_key("severity", Target::Logs),
            intr(Intrinsic::Severity)
        );
        assert_eq!(resolve_key("message", Target::Logs), intr(Intrinsic::Body));
        assert_eq!(resolve_key("level", Target::Spans), attr("level"));
        assert_eq!(
            resolve_key("span.http.method", Target::Spans),
            Field::Attr {
                scope: Scope::Span,
                key: "http.method".into()
            }
        );
        assert_eq!(
            resolve_key("resource.host.name", Target::Spans),
            Field::Attr {
                scope: Scope::Resource,
                key: "host.name".into()
            }
        );
        assert_eq!(
            resolve_key("http.method", Target::Spans),
            attr("http.method")
        );
        assert_eq!(resolve_key("span.", Target::Spans), attr("span."));
        // The scope prefixes, over spans and over logs.
        let scoped = |scope, key: &str| Field::Attr {
            scope,
            key: key.into(),
        };
        for (key, spans, logs) in [
            ("span.a", scoped(Scope::Span, "a"), scoped(Scope::Span, "a")),
            (
                "resource.a.b",
                scoped(Scope::Resource, "a.b"),
                scoped(Scope::Resource, "a.b"),
            ),
            (
                "event.exception.type",
                scoped(Scope::Event, "exception.type"),
                attr("event.exception.type"),
            ),
            (
                "event.name",
                scoped(Scope::Event, "name"),
                attr("event.name"),
            ),
            (
                "event.event.x",
                scoped(Scope::Event, "event.x"),
                attr("event.event.x"),
            ),
            (
                "span.event.x",
                scoped(Scope::Span, "event.x"),
                scoped(Scope::Span, "event.x"),
            ),
            ("link.hops", scoped(Scope::Link, "hops"), attr("link.hops")),
            (
                "instrumentation.lib.tier",
                scoped(Scope::Instrumentation, "lib.tier"),
                attr("instrumentation.lib.tier"),
            ),
            ("event.", attr("event."), attr("event.")),
            ("link.", attr("link."), attr("link.")),
            (
                "instrumentation.",
                attr("instrumentation."),
                attr("instrumentation."),
            ),
            ("events.x", attr("events.x"), attr("events.x")),
            ("Event.x", attr("Event.x"), attr("Event.x")),
            ("scope.x", attr("scope.x"), attr("scope.x")),
        ] {
            assert_eq!(resolve_key(key, Target::Spans), spans, "{key} over spans");
            assert_eq!(resolve_key(key, Target::Logs), logs, "{key} over logs");
        }
        assert_eq!(resolve_key("Service", Target::Spans), attr("Service"));
        for i in Intrinsic::ALL {
            if i != Intrinsic::Severity {
                assert_eq!(resolve_key(i.name(), Target::Logs), intr(i));
            }
        }
    }

    #[test]
    fn values_are_typed() {
        assert_eq!(
            pd("duration>250ms"),
            c(
                intr(Intrinsic::Duration),
                CmpOp::Gt,
                Value::Duration(250_000_000)
            )
        );
        assert_eq!(
            pd("duration:1.5s"),
            c(
                intr(Intrinsic::Duration),
                CmpOp::Eq,
                Value::Duration(1_500_000_000)
            )
        );
        assert_eq!(
            pd("duration<=300"),
            c(intr(Intrinsic::Duration), CmpOp::Le, Value::Duration(300))
        );
        assert_eq!(
            pd("http.status_code>=500"),
            c(attr("http.status_code"), CmpOp::Ge, Value::Int(500))
        );
        assert_eq!(
            pd("ratio<0.5"),
            c(attr("ratio"), CmpOp::Lt, Value::Float(0.5))
        );
        assert_eq!(
            pd("latency>5ms"),
            c(attr("latency"), CmpOp::Gt, Value::Duration(5_000_000))
        );
        assert_eq!(
            pd("http.status_code:200"),
            c(attr("http.status_code"), CmpOp::Eq, Value::Int(200))
        );
        assert_eq!(
            pd("cached=TRUE"),
            c(attr("cached"), CmpOp::Eq, Value::Bool(true))
        );
        assert_eq!(
            pd("code:\"200\""),
            m(attr("code"), Pattern::Exact("200".into()))
        );
        assert_eq!(
            pd("has_errors:true"),
            c(intr(Intrinsic::HasErrors), CmpOp::Eq, Value::Bool(true))
        );
        assert_eq!(
            pd("status_code:ERROR"),
            m(intr(Intrinsic::StatusCode), Pattern::Exact("error".into()))
        );
        assert_eq!(
            pd("status_code:2"),
            m(intr(Intrinsic::StatusCode), Pattern::Exact("error".into()))
        );
        assert_eq!(
            pd("span_kind:Server"),
            m(intr(Intrinsic::SpanKind), Pattern::Exact("server".into()))
        );
        assert_eq!(
            pd("span_kind:SPAN_KIND_CLIENT"),
            m(intr(Intrinsic::SpanKind), Pattern::Exact("client".into()))
        );
        assert_eq!(
            pd("trace_id:ABCdef"),
            m(intr(Intrinsic::TraceId), Pattern::Exact("abcdef".into()))
        );
        assert_eq!(
            pd("service_name:Cart"),
            m(intr(Intrinsic::ServiceName), Pattern::Exact("Cart".into()))
        );
        assert_eq!(
            pd("timestamp>=17"),
            c(intr(Intrinsic::Timestamp), CmpOp::Ge, Value::Int(17))
        );
    }

    #[test]
    fn patterns() {
        assert_eq!(
            pd("method:GET*"),
            m(attr("method"), Pattern::Glob("GET*".into()))
        );
        assert_eq!(
            pd("method:\"*ET\""),
            m(attr("method"), Pattern::Glob("*ET".into()))
        );
        assert_eq!(
            pd("span_name:/^GET/"),
            m(intr(Intrinsic::SpanName), Pattern::Regex("^GET".into()))
        );
        assert_eq!(
            pd("checkout"),
            m(intr(Intrinsic::SpanName), Pattern::Token("checkout".into()))
        );
        assert_eq!(
            pd("gorm.Query"),
            m(
                intr(Intrinsic::SpanName),
                Pattern::Substring("gorm.Query".into())
            )
        );
        assert_eq!(
            pd("\"GET /api\""),
            m(
                intr(Intrinsic::SpanName),
                Pattern::Substring("GET /api".into())
            )
        );
        assert_eq!(
            pd("\"abc\""),
            m(intr(Intrinsic::SpanName), Pattern::Substring("abc".into()))
        );
        assert_eq!(
            pd("gorm.*"),
            m(intr(Intrinsic::SpanName), Pattern::Glob("*gorm.*".into()))
        );
        assert_eq!(
            pd("*gorm*"),
            m(intr(Intrinsic::SpanName), Pattern::Glob("*gorm*".into()))
        );
        assert_eq!(
            pd("/time(out)?/"),
            m(
                intr(Intrinsic::SpanName),
                Pattern::Regex("time(out)?".into())
            )
        );
        let logs = plan_for(
            &parse("timeout level:warn").unwrap_or(Query::Filter(None)),
            Target::Logs,
        );
        assert_eq!(
            logs.pushdown,
            Filter::And(vec![
                m(intr(Intrinsic::Body), Pattern::Token("timeout".into())),
                m(intr(Intrinsic::Severity), Pattern::Glob("warn".into())),
            ])
        );
    }

    #[test]
    fn empty_values_mean_empty_or_absent() {
        let empty_or_absent = |field: Field| {
            Filter::Or(vec![
                Filter::Not(Box::new(Filter::Exists(field.clone()))),
                m(field, Pattern::Exact(String::new())),
            ])
        };
        assert_eq!(
            pd("parent_span_id=\"\""),
            empty_or_absent(intr(Intrinsic::ParentSpanId))
        );
        assert_eq!(pd("k:''"), empty_or_absent(attr("k")));
        assert_eq!(
            pd("k!=``"),
            Filter::Not(Box::new(empty_or_absent(attr("k"))))
        );
        assert_eq!(
            pd("span_kind:(\"\" OR server)"),
            Filter::Or(vec![
                empty_or_absent(intr(Intrinsic::SpanKind)),
                m(intr(Intrinsic::SpanKind), Pattern::Exact("server".into())),
            ])
            .simplify()
        );
    }

    #[test]
    fn short_aliases_read_their_attribute_where_it_is_set() {
        let alias = |key: &str, on_attr: Filter, on_field: Filter| {
            let has = Filter::Exists(attr(key));
            Filter::Or(vec![
                Filter::And(vec![has.clone(), on_attr]),
                Filter::And(vec![Filter::Not(Box::new(has)), on_field]),
            ])
        };
        assert_eq!(
            pd("service:cart"),
            alias(
                "service",
                m(attr("service"), Pattern::Exact("cart".into())),
                m(intr(Intrinsic::ServiceName), Pattern::Exact("cart".into())),
            )
        );
        // Each reading types the value its own way.
        assert_eq!(
            pd("status!=2"),
            Filter::Not(Box::new(alias(
                "status",
                c(attr("status"), CmpOp::Eq, Value::Int(2)),
                m(intr(Intrinsic::StatusCode), Pattern::Exact("error".into())),
            )))
        );
        assert_eq!(
            pd("kind EXISTS"),
            alias(
                "kind",
                Filter::Exists(attr("kind")),
                Filter::Exists(intr(Intrinsic::SpanKind)),
            )
        );
        for key in [
            "name",
            "service",
            "kind",
            "status",
            "has_error",
            "session_id",
        ] {
            assert!(short_alias(key, Target::Spans).is_some(), "{key}");
        }
        for key in [
            "span_name",
            "service_name",
            "level",
            "message",
            "duration",
            "span.x",
        ] {
            assert_eq!(short_alias(key, Target::Spans), None, "{key}");
        }
        assert_eq!(short_alias("level", Target::Logs), None);
        assert_eq!(
            short_alias("severity", Target::Logs),
            Some(Intrinsic::Severity)
        );
        assert_eq!(short_alias("message", Target::Logs), Some(Intrinsic::Body));
        // Canonical names and scoped keys read one field.
        assert_eq!(
            pd("service_name:cart"),
            m(intr(Intrinsic::ServiceName), Pattern::Exact("cart".into()))
        );
        assert_eq!(
            pd("span.service:cart"),
            m(
                Field::Attr {
                    scope: Scope::Span,
                    key: "service".into()
                },
                Pattern::Exact("cart".into())
            )
        );
    }

    #[test]
    fn negation_groups_and_exists() {
        assert_eq!(
            pd("k!=v"),
            Filter::Not(Box::new(m(attr("k"), Pattern::Exact("v".into()))))
        );
        assert_eq!(
            pd("k!=(a OR b)"),
            Filter::Not(Box::new(Filter::Or(vec![
                m(attr("k"), Pattern::Exact("a".into())),
                m(attr("k"), Pattern::Exact("b".into())),
            ])))
        );
        assert_eq!(
            pd("k:(a AND NOT b*)"),
            Filter::And(vec![
                m(attr("k"), Pattern::Exact("a".into())),
                Filter::Not(Box::new(m(attr("k"), Pattern::Glob("b*".into())))),
            ])
        );
        assert_eq!(pd("k EXISTS"), Filter::Exists(attr("k")));
        assert_eq!(
            pd("k NOT EXISTS"),
            Filter::Not(Box::new(Filter::Exists(attr("k"))))
        );
        assert_eq!(pd("NOT NOT k EXISTS"), Filter::Exists(attr("k")));
        assert_eq!(pd(""), Filter::True);
    }

    #[test]
    fn scoped_keys_compile_to_their_scope() {
        let f = |scope, key: &str| Field::Attr {
            scope,
            key: key.into(),
        };
        let not = |x: Filter| Filter::Not(Box::new(x));
        for (q, want) in [
            (
                "event.exception.type:TimeoutError",
                m(
                    f(Scope::Event, "exception.type"),
                    Pattern::Exact("TimeoutError".into()),
                ),
            ),
            (
                "event.exception.type=\"x y\"",
                m(
                    f(Scope::Event, "exception.type"),
                    Pattern::Exact("x y".into()),
                ),
            ),
            (
                "event.retry!=3",
                not(c(f(Scope::Event, "retry"), CmpOp::Eq, Value::Int(3))),
            ),
            (
                "event.k:(a OR b*)",
                Filter::Or(vec![
                    m(f(Scope::Event, "k"), Pattern::Exact("a".into())),
                    m(f(Scope::Event, "k"), Pattern::Glob("b*".into())),
                ]),
            ),
            (
                "event.latency>=1.5ms",
                c(
                    f(Scope::Event, "latency"),
                    CmpOp::Ge,
                    Value::Duration(1_500_000),
                ),
            ),
            (
                "link.hops>2",
                c(f(Scope::Link, "hops"), CmpOp::Gt, Value::Int(2)),
            ),
            (
                "link.sampled:false",
                c(f(Scope::Link, "sampled"), CmpOp::Eq, Value::Bool(false)),
            ),
            (
                "link.peer:/^svc-\\d+$/",
                m(f(Scope::Link, "peer"), Pattern::Regex("^svc-\\d+$".into())),
            ),
            ("link.x EXISTS", Filter::Exists(f(Scope::Link, "x"))),
            (
                "instrumentation.tier NOT EXISTS",
                not(Filter::Exists(f(Scope::Instrumentation, "tier"))),
            ),
            (
                "instrumentation.otel.scope.ratio<0.5",
                c(
                    f(Scope::Instrumentation, "otel.scope.ratio"),
                    CmpOp::Lt,
                    Value::Float(0.5),
                ),
            ),
            (
                "\"event.a b\":c",
                m(f(Scope::Event, "a b"), Pattern::Exact("c".into())),
            ),
            (
                "NOT link.kind:follows",
                not(m(f(Scope::Link, "kind"), Pattern::Exact("follows".into()))),
            ),
            (
                "{event.k:a} > {link.x NOT EXISTS}",
                Filter::Or(vec![
                    m(f(Scope::Event, "k"), Pattern::Exact("a".into())),
                    not(Filter::Exists(f(Scope::Link, "x"))),
                ]),
            ),
        ] {
            assert_eq!(pd(q), want, "{q}");
        }
        // Group-by and aggregate fields resolve the same way.
        let p = plan(&parse("{} | sum(link.hops) by (event.k) > 1").unwrap_or(Query::Filter(None)));
        assert_eq!(
            p.structure,
            Some(Structure::Pipeline {
                input: Box::new(Structure::Spanset(Filter::True)),
                stages: vec![
                    PlanStage::GroupBy(vec![f(Scope::Event, "k")]),
                    PlanStage::Aggregate {
                        func: AggFunc::Sum,
                        field: Some(f(Scope::Link, "hops")),
                        op: CmpOp::Gt,
                        threshold: 1.0
                    }
                ]
            })
        );
    }

    #[test]
    fn structural_pushdown_is_the_or_of_spansets() {
        let p = plan(
            &parse("{service_name:frontend} >> {db.system:postgresql}")
                .unwrap_or(Query::Filter(None)),
        );
        assert_eq!(
            p.pushdown,
            Filter::Or(vec![
                m(
                    intr(Intrinsic::ServiceName),
                    Pattern::Exact("frontend".into())
                ),
                m(attr("db.system"), Pattern::Exact("postgresql".into())),
            ])
        );
        assert!(matches!(
            p.structure,
            Some(Structure::Relation {
                rel: Relation::Descendant,
                ..
            })
        ));
        // any `{}` makes every trace a candidate
        assert_eq!(pd("{a} && {}"), Filter::True);
        // duplicates collapse
        assert_eq!(
            pd("{a} > {a}"),
            m(intr(Intrinsic::SpanName), Pattern::Token("a".into()))
        );
        let p = plan(&parse("{} | avg(duration) by (service) > 1s").unwrap_or(Query::Filter(None)));
        assert_eq!(
            p.structure,
            Some(Structure::Pipeline {
                input: Box::new(Structure::Spanset(Filter::True)),
                stages: vec![
                    PlanStage::GroupBy(vec![intr(Intrinsic::ServiceName)]),
                    PlanStage::Aggregate {
                        func: AggFunc::Avg,
                        field: Some(intr(Intrinsic::Duration)),
                        op: CmpOp::Gt,
                        threshold: 1e9
                    }
                ]
            })
        );
    }

    #[test]
    fn plans_serialise_to_json() {
        let p =
            plan(&parse("{a:1 b:/x/} > {c EXISTS} | count() > 1").unwrap_or(Query::Filter(None)));
        let json = serde_json::to_string(&p).unwrap_or_default();
        let back: Plan = serde_json::from_str(&json).unwrap_or(Plan {
            pushdown: Filter::True,
            structure: None,
        });
        assert_eq!(back, p);
    }

    #[test]
    fn simplify() {
        let a = m(attr("a"), Pattern::Exact("1".into()));
        assert_eq!(Filter::And(vec![Filter::True, a.clone()]).simplify(), a);
        assert_eq!(Filter::And(vec![]).simplify(), Filter::True);
        assert_eq!(
            Filter::Or(vec![a.clone(), Filter::True]).simplify(),
            Filter::True
        );
        assert_eq!(Filter::Or(vec![]).simplify(), Filter::never());
        assert_eq!(
            Filter::Or(vec![a.clone(), Filter::Or(vec![a.clone()])]).simplify(),
            a
        );
    }

    #[test]
    fn absent_attributes_fold_away() {
        let none = |f: &Field| matches!(f, Field::Attr { key, .. } if key == "service");
        assert_eq!(
            pd("service:cart duration>1ms").without_absent(&none),
            pd("service_name:cart duration>1ms")
        );
        assert_eq!(
            pd("service!=cart").without_absent(&none),
            pd("service_name!=cart")
        );
        assert_eq!(
            pd("service NOT EXISTS").without_absent(&none),
            pd("service_name NOT EXISTS")
        );
        assert_eq!(
            pd("span.service EXISTS").without_absent(&none),
            Filter::never()
        );
        assert_eq!(
            Filter::And(vec![Filter::never(), Filter::True]).simplify(),
            Filter::never()
        );
        let some = |_: &Field| false;
        assert_eq!(pd("service:cart").without_absent(&some), pd("service:cart"));
    }

    #[test]
    fn structures_list_the_fields_they_read() {
        let q =
            parse("{service:a span.x=1} >> {event.e EXISTS} | by(resource.r) | avg(duration) > 1")
                .unwrap();
        let plan = plan(&q);
        let structure = plan.structure.expect("a structure");
        let fields = structure.fields();
        for want in [
            intr(Intrinsic::ServiceName),
            intr(Intrinsic::Duration),
            Field::Attr {
                scope: Scope::Span,
                key: "x".into(),
            },
            Field::Attr {
                scope: Scope::Event,
                key: "e".into(),
            },
            Field::Attr {
                scope: Scope::Resource,
                key: "r".into(),
            },
        ] {
            assert!(fields.contains(&&want), "{want:?} in {fields:?}");
        }
    }
}
