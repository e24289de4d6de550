//! Compiles the backend-neutral [`Filter`] IR of `tracehouse-query` into a ClickHouse SQL
//! predicate over the `spans` or the `logs` table, with every user-supplied value bound as
//! a server-side parameter (`{p0:String}`): no value is ever spliced into the SQL text.
//!
//! The predicate holds exactly when [`tracehouse_query::matches`] holds on the span (the
//! semantic suite checks both backends against the same expected answers):
//!
//! * every leaf is two-valued: a predicate on a missing field (absent map key, null
//!   parent or session) is `false`, so `NOT leaf` holds for spans without the field;
//! * attribute text, numbers and booleans come from the maps written at ingest with the
//!   evaluator's own conversions (see [`crate::row`]), so no SQL re-parsing is needed;
//! * globs are `LIKE` over lowercased text (`%`, `_`, `\` escaped), substrings
//!   `position` over lowercased text, regexes `match()` (RE2) after validation with the
//!   query crate's size-limited compiler (an invalid regex matches nothing), tokens
//!   `hasToken` over the lowercased text re-split at the evaluator's separators
//!   ([`token_text`]: ClickHouse's own tokens split only at ASCII characters), which the
//!   token bloom filter on the log body serves.
//!
//! Event, link and instrumentation-scope attributes (`event.x`, `link.x`,
//! `instrumentation.x`) live in the JSON `String` columns `events`, `links` and
//! `scope_attributes`, written by the model's serde form. A leaf on an instrumentation
//! attribute reads `scope_attributes` with the `JSON*` functions; a leaf on an event or
//! link attribute is `arrayExists(_item -> leaf, JSONExtractArrayRaw(events))`, so it
//! holds when it holds for some event / link, and `NOT` of it when none does (the rule of
//! `tracehouse_query::plan::Scope`). The value is read by its JSON type the way the
//! evaluator reads it: strings as they are (numbers parsed from trimmed text, booleans
//! from `true`/`false` in any case), numbers and booleans natively, arrays and maps as
//! their JSON text. ClickHouse writes a float's text in the shortest round-trip form
//! without exponent like Rust does, except for magnitudes below 1e-5 or so, where it
//! uses an exponent (`1e-7`); text matches on such floats can differ from the evaluator.
//!
//! On log records ([`Table::Logs`]) `body` is the body, `level` the level name
//! (`tracehouse_model::Level::as_str`; `level:warning` or `level:WARN` is the level any
//! spelling of its name parses to), `timestamp` the record time; trace, span and
//! session ids are nullable. Span-only intrinsics (`duration`, `span_kind`,
//! `status_code`, `status_message`, `has_errors`, `span_name`, `parent_span_id`) are
//! fields log records never have: every leaf on them is false (so `NOT` of it is true),
//! exactly like a missing attribute.

use tracehouse_query::eval::{TOKEN_SEPARATORS, is_token};
use tracehouse_query::lexer::parse_number;
use tracehouse_query::parser::compile_regex;
use tracehouse_query::plan::{id_bytes, level_of};
use tracehouse_query::{CmpOp, Field, Filter, Intrinsic, Pattern, Scope, Value};
use tracehouse_store_api::sort::{ValueClass, class_rank};

/// A bound parameter value.
#[derive(Debug, Clone, PartialEq)]
pub enum Param {
    /// `String`.
    Str(String),
    /// `Int64`.
    I64(i64),
    /// `Float64`.
    F64(f64),
    /// `Array(String)`.
    StrArray(Vec<String>),
}

/// The parameters of one statement, named `p0`, `p1`, …
#[derive(Debug, Default, Clone)]
pub struct Params {
    list: Vec<(String, Param)>,
}

impl Params {
    fn push(&mut self, v: Param, ty: &str) -> String {
        let name = format!("p{}", self.list.len());
        let placeholder = format!("{{{name}:{ty}}}");
        self.list.push((name, v));
        placeholder
    }

    /// Binds a string; returns its placeholder.
    pub fn str(&mut self, v: impl Into<String>) -> String {
        self.push(Param::Str(v.into()), "String")
    }

    /// Binds an integer; returns its placeholder.
    pub fn i64(&mut self, v: i64) -> String {
        self.push(Param::I64(v), "Int64")
    }

    /// Binds a float; returns its placeholder.
    pub fn f64(&mut self, v: f64) -> String {
        self.push(Param::F64(v), "Float64")
    }

    /// Binds a list of strings; returns its placeholder.
    pub fn str_array(&mut self, v: Vec<String>) -> String {
        self.push(Param::StrArray(v), "Array(String)")
    }

    /// The bound values, in order.
    pub fn values(&self) -> &[(String, Param)] {
        &self.list
    }

    /// Attaches the parameters to a query.
    pub fn bind(&self, mut q: clickhouse::query::Query) -> clickhouse::query::Query {
        for (name, v) in &self.list {
            q = match v {
                Param::Str(s) => q.param(name, s),
                Param::I64(i) => q.param(name, i),
                Param::F64(f) => q.param(name, f),
                Param::StrArray(a) => q.param(name, a),
            };
        }
        q
    }
}

/// The table a filter is compiled for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Table {
    /// `spans`.
    Spans,
    /// `logs`.
    Logs,
}

/// Where one value of a field comes from.
#[derive(Debug, Clone)]
enum Source {
    /// A non-null text column.
    Text(&'static str),
    /// The nullable session column.
    Session,
    /// The log level column (a level name, `tracehouse_model::Level::as_str`).
    Level,
    /// An id column (text: lowercase hex), its byte length, and whether it is nullable.
    Id(&'static str, usize, bool),
    /// The error flag.
    HasError,
    /// The duration, ns.
    Duration,
    /// The time column (span start, log record time), ns.
    Timestamp(&'static str),
    /// An attribute: the map column prefix (`attributes` / `resource_attributes`) and key.
    Attr(&'static str, String),
    /// An attribute in a JSON object: the SQL arguments that locate the object (the
    /// `scope_attributes` column, or [`ITEM_ATTRIBUTES`] inside `arrayExists`) and the key.
    Json(&'static str, String),
    /// An attribute of every element of a JSON array column (`events`, `links`); a leaf on
    /// it holds when it holds on some element (see [`Compiler::any`]).
    JsonEach(&'static str, String),
    /// A field the table's rows never have.
    Missing,
}

fn intrinsic_source(table: Table, i: Intrinsic) -> Source {
    match table {
        Table::Spans => span_source(i),
        Table::Logs => log_source(i),
    }
}

fn log_source(i: Intrinsic) -> Source {
    match i {
        Intrinsic::TraceId => Source::Id("trace_id", 16, true),
        Intrinsic::SpanId => Source::Id("span_id", 8, true),
        Intrinsic::ServiceName => Source::Text("service_name"),
        Intrinsic::ServiceVersion => Source::Text("service_version"),
        Intrinsic::Environment => Source::Text("environment"),
        Intrinsic::SessionId => Source::Session,
        Intrinsic::Severity => Source::Level,
        Intrinsic::Body => Source::Text("body"),
        Intrinsic::Timestamp => Source::Timestamp("time"),
        Intrinsic::ParentSpanId
        | Intrinsic::SpanName
        | Intrinsic::StatusMessage
        | Intrinsic::SpanKind
        | Intrinsic::StatusCode
        | Intrinsic::HasErrors
        | Intrinsic::Duration => Source::Missing,
    }
}

fn span_source(i: Intrinsic) -> Source {
    match i {
        Intrinsic::TraceId => Source::Id("trace_id", 16, false),
        Intrinsic::SpanId => Source::Id("span_id", 8, false),
        Intrinsic::ParentSpanId => Source::Id("parent_span_id", 8, true),
        Intrinsic::SpanName => Source::Text("name"),
        Intrinsic::ServiceName => Source::Text("service_name"),
        Intrinsic::ServiceVersion => Source::Text("service_version"),
        Intrinsic::Environment => Source::Text("environment"),
        Intrinsic::StatusMessage => Source::Text("status_message"),
        Intrinsic::SpanKind => Source::Text("kind"),
        Intrinsic::StatusCode => Source::Text("status_code"),
        Intrinsic::HasErrors => Source::HasError,
        Intrinsic::Duration => Source::Duration,
        Intrinsic::Timestamp => Source::Timestamp("timestamp"),
        Intrinsic::SessionId => Source::Session,
        Intrinsic::Severity | Intrinsic::Body => Source::Missing,
    }
}

fn sources(table: Table, field: &Field) -> Vec<Source> {
    match field {
        Field::Intrinsic(i) => vec![intrinsic_source(table, *i)],
        Field::Attr { scope, key } => match scope {
            Scope::Span => vec![Source::Attr("attributes", key.clone())],
            Scope::Resource => vec![Source::Attr("resource_attributes", key.clone())],
            Scope::Any => vec![
                Source::Attr("attributes", key.clone()),
                Source::Attr("resource_attributes", key.clone()),
            ],
            Scope::Event | Scope::Link | Scope::Instrumentation if table == Table::Logs => {
                vec![Source::Missing]
            }
            Scope::Event => vec![Source::JsonEach("events", key.clone())],
            Scope::Link => vec![Source::JsonEach("links", key.clone())],
            Scope::Instrumentation => vec![Source::Json("scope_attributes", key.clone())],
        },
    }
}

/// The lambda variable bound to one event or link (its JSON text).
const ITEM: &str = "_item";
/// The JSON arguments that locate the attributes of the current event or link.
const ITEM_ATTRIBUTES: &str = "_item, 'attributes'";

/// A non-null SQL expression, valid only where `guard` holds (no guard: always).
struct Valued {
    expr: String,
    guard: Option<String>,
}

impl Valued {
    fn plain(expr: impl Into<String>) -> Valued {
        Valued {
            expr: expr.into(),
            guard: None,
        }
    }

    /// `guard AND pred(expr)`, two-valued.
    fn test(&self, pred: impl FnOnce(&str) -> String) -> String {
        let p = pred(&self.expr);
        match &self.guard {
            Some(g) => format!("({g} AND {p})"),
            None => format!("({p})"),
        }
    }
}

/// The text `parse_number` accepts, `-?[0-9]+(\.[0-9]+)?`, written without `?` (the
/// client reads `?` in SQL text as a placeholder for a client-side argument).
const NUMBER_SHAPE: &str = "'^(-|)[0-9]+([.][0-9]+|)$'";

const FALSE: &str = "0";
const TRUE: &str = "1";

/// The compiler state: the table and the parameters bound so far.
pub struct Compiler<'a> {
    table: Table,
    params: &'a mut Params,
}

impl<'a> Compiler<'a> {
    /// A compiler for `table`, binding into `params`.
    pub fn new(table: Table, params: &'a mut Params) -> Self {
        Compiler { table, params }
    }

    /// Compiles a filter into a predicate.
    pub fn filter(&mut self, f: &Filter) -> String {
        match f {
            Filter::True => TRUE.to_string(),
            Filter::And(items) if items.is_empty() => TRUE.to_string(),
            Filter::Or(items) if items.is_empty() => FALSE.to_string(),
            Filter::And(items) => self.join(items, " AND "),
            Filter::Or(items) => self.join(items, " OR "),
            Filter::Not(inner) => format!("(NOT {})", self.filter(inner)),
            Filter::Exists(field) => self.any(field, |c, s| c.exists(s)),
            Filter::Cmp {
                field,
                op: CmpOp::Ne,
                value,
            } => format!(
                "(NOT {})",
                self.any(field, |c, s| c.compare(s, CmpOp::Eq, value))
            ),
            Filter::Cmp { field, op, value } => self.any(field, |c, s| c.compare(s, *op, value)),
            Filter::Match { field, pattern } => self.any(field, |c, s| c.match_pattern(s, pattern)),
        }
    }

    fn join(&mut self, items: &[Filter], sep: &str) -> String {
        let parts: Vec<String> = items.iter().map(|f| self.filter(f)).collect();
        format!("({})", parts.join(sep))
    }

    /// The leaf ORed over the field's sources.
    fn any(&mut self, field: &Field, mut leaf: impl FnMut(&mut Self, &Source) -> String) -> String {
        let parts: Vec<String> = sources(self.table, field)
            .iter()
            .map(|s| match s {
                Source::JsonEach(column, key) => {
                    let inner = leaf(self, &Source::Json(ITEM_ATTRIBUTES, key.clone()));
                    format!("arrayExists({ITEM} -> {inner}, JSONExtractArrayRaw({column}))")
                }
                s => leaf(self, s),
            })
            .collect();
        match parts.len() {
            0 => FALSE.to_string(),
            1 => parts
                .into_iter()
                .next()
                .unwrap_or_else(|| FALSE.to_string()),
            _ => format!("({})", parts.join(" OR ")),
        }
    }

    /// The source's value as text, or `None` when spans never have it.
    fn text(&mut self, s: &Source) -> Option<Valued> {
        Some(match s {
            Source::Text(c) => Valued::plain(*c),
            Source::Level => Valued::plain("level"),
            Source::Session => Valued {
                expr: "assumeNotNull(session_id)".into(),
                guard: Some("session_id IS NOT NULL".into()),
            },
            Source::Id(c, _, false) => Valued::plain(format!("lower(hex({c}))")),
            Source::Id(c, _, true) => Valued {
                expr: format!("lower(hex(assumeNotNull({c})))"),
                guard: Some(format!("{c} IS NOT NULL")),
            },
            Source::HasError => Valued::plain("if(has_error, 'true', 'false')"),
            Source::Duration => Valued::plain("toString(duration)"),
            Source::Timestamp(c) => Valued::plain(format!("toString(toUnixTimestamp64Nano({c}))")),
            Source::Attr(map, key) => {
                let k = self.params.str(key.as_str());
                Valued {
                    expr: format!("{map}[{k}]"),
                    guard: Some(format!("mapContains({map}, {k})")),
                }
            }
            Source::Json(doc, key) => {
                let p = self.json_path(doc, key);
                Valued {
                    expr: format!(
                        "multiIf(JSONType({p}) = 'String', JSONExtractString({p}), \
                         JSONType({p}) = 'Null', '', JSONExtractRaw({p}))"
                    ),
                    guard: Some(format!("JSONHas({p})")),
                }
            }
            Source::Missing | Source::JsonEach(..) => return None,
        })
    }

    /// `doc, {key}`: the arguments of the `JSON*` functions that reach the attribute.
    fn json_path(&mut self, doc: &str, key: &str) -> String {
        let k = self.params.str(key);
        format!("{doc}, {k}")
    }

    fn exists(&mut self, s: &Source) -> String {
        match s {
            Source::Text(c) => format!("({c} != '')"),
            Source::Session => {
                "(session_id IS NOT NULL AND assumeNotNull(session_id) != '')".into()
            }
            Source::Id(c, _, true) => format!("({c} IS NOT NULL)"),
            Source::Id(..)
            | Source::Level
            | Source::HasError
            | Source::Duration
            | Source::Timestamp(_) => TRUE.into(),
            Source::Attr(map, key) => {
                let k = self.params.str(key.as_str());
                format!("mapContains({map}, {k})")
            }
            Source::Json(doc, key) => {
                let p = self.json_path(doc, key);
                format!("JSONHas({p})")
            }
            Source::Missing | Source::JsonEach(..) => FALSE.into(),
        }
    }

    /// The source's value as a number (the evaluator's `as_f64`).
    fn number(&mut self, s: &Source) -> Option<Valued> {
        Some(match s {
            Source::Duration => Valued::plain("toFloat64(duration)"),
            Source::Timestamp(c) => Valued::plain(format!("toFloat64(toUnixTimestamp64Nano({c}))")),
            Source::Attr(map, key) => {
                let k = self.params.str(key.as_str());
                Valued {
                    expr: format!("{map}_num[{k}]"),
                    guard: Some(format!("mapContains({map}_num, {k})")),
                }
            }
            Source::Json(doc, key) => {
                let p = self.json_path(doc, key);
                let trimmed =
                    format!(r"replaceRegexpAll(JSONExtractString({p}), '^\\s+|\\s+$', '')");
                Valued {
                    expr: format!(
                        "if(JSONType({p}) = 'String', toFloat64OrZero({trimmed}), JSONExtractFloat({p}))"
                    ),
                    guard: Some(format!(
                        r"JSONHas({p}) AND (JSONType({p}) IN ('Int64', 'UInt64', 'Double') OR (JSONType({p}) = 'String' AND match({trimmed}, {NUMBER_SHAPE})))"
                    )),
                }
            }
            Source::HasError | Source::Missing | Source::JsonEach(..) => return None,
            other => {
                // Text read as `-?digits[.digits]` after trimming, like `parse_number`.
                let t = self.text(other)?;
                let trimmed = format!(r"replaceRegexpAll({}, '^\\s+|\\s+$', '')", t.expr);
                let shape = format!("match({trimmed}, {NUMBER_SHAPE})");
                Valued {
                    expr: format!("toFloat64OrZero({trimmed})"),
                    guard: Some(match t.guard {
                        Some(g) => format!("{g} AND {shape}"),
                        None => shape,
                    }),
                }
            }
        })
    }

    /// The source's value as a boolean (the evaluator's `as_bool`).
    fn boolean(&mut self, s: &Source) -> Option<Valued> {
        Some(match s {
            Source::HasError => Valued::plain("has_error"),
            Source::Attr(map, key) => {
                let k = self.params.str(key.as_str());
                Valued {
                    expr: format!("{map}_bool[{k}]"),
                    guard: Some(format!("mapContains({map}_bool, {k})")),
                }
            }
            Source::Json(doc, key) => {
                let p = self.json_path(doc, key);
                let text = format!("lower(JSONExtractString({p}))");
                Valued {
                    expr: format!(
                        "if(JSONType({p}) = 'Bool', JSONExtractBool({p}) = 1, {text} = 'true')"
                    ),
                    guard: Some(format!(
                        "JSONHas({p}) AND (JSONType({p}) = 'Bool' OR (JSONType({p}) = 'String' AND {text} IN ('true', 'false')))"
                    )),
                }
            }
            Source::Duration | Source::Timestamp(_) | Source::Missing | Source::JsonEach(..) => {
                return None;
            }
            other => {
                let t = self.text(other)?;
                let shape = format!("lower({}) IN ('true', 'false')", t.expr);
                Valued {
                    expr: format!("(lower({}) = 'true')", t.expr),
                    guard: Some(match t.guard {
                        Some(g) => format!("{g} AND {shape}"),
                        None => shape,
                    }),
                }
            }
        })
    }

    fn numeric(&mut self, s: &Source, op: CmpOp, rhs: f64) -> String {
        let Some(v) = self.number(s) else {
            return FALSE.into();
        };
        let p = self.params.f64(rhs);
        v.test(|e| format!("{e} {} {p}", op_sql(op)))
    }

    fn compare(&mut self, s: &Source, op: CmpOp, value: &Value) -> String {
        match value {
            Value::Str(v) => match op {
                CmpOp::Eq => self.match_pattern(s, &Pattern::Exact(v.clone())),
                CmpOp::Ne => match self.text(s) {
                    Some(t) => {
                        let p = self.params.str(v.as_str());
                        t.test(|e| format!("{e} != {p}"))
                    }
                    None => FALSE.into(),
                },
                _ => match parse_number(v) {
                    Some(n) => self.numeric(s, op, n.as_f64()),
                    None => FALSE.into(),
                },
            },
            Value::Bool(b) => {
                let Some(v) = self.boolean(s) else {
                    return FALSE.into();
                };
                let lit = if *b { "true" } else { "false" };
                match op {
                    CmpOp::Eq => v.test(|e| format!("{e} = {lit}")),
                    CmpOp::Ne => v.test(|e| format!("{e} != {lit}")),
                    _ => FALSE.into(),
                }
            }
            Value::Int(i) | Value::Duration(i) => self.numeric(s, op, *i as f64),
            Value::Float(f) => self.numeric(s, op, *f),
        }
    }

    fn match_pattern(&mut self, s: &Source, pattern: &Pattern) -> String {
        if let (Source::Level, Some(name)) = (s, pattern.level_name()) {
            return match level_of(name) {
                Some(level) => {
                    let p = self.params.str(level.as_str());
                    format!("(level = {p})")
                }
                None => FALSE.into(),
            };
        }
        // Ids compare as bytes, so the bloom filter on trace_id applies.
        if let (Pattern::Exact(v), Source::Id(c, len, nullable)) = (pattern, s) {
            let id = if *len == 16 {
                Intrinsic::TraceId
            } else {
                Intrinsic::SpanId
            };
            if id_bytes(id, v).is_none() {
                return FALSE.into();
            }
            let p = self.params.str(v.as_str());
            return if *nullable {
                format!("({c} IS NOT NULL AND assumeNotNull({c}) = unhex({p}))")
            } else {
                format!("({c} = unhex({p}))")
            };
        }
        let Some(t) = self.text(s) else {
            return FALSE.into();
        };
        match pattern {
            Pattern::Exact(v) => {
                let p = self.params.str(v.as_str());
                t.test(|e| format!("{e} = {p}"))
            }
            Pattern::Glob(_) => {
                let p = self.params.str(pattern.like().unwrap_or_default());
                t.test(|e| format!("lowerUTF8({e}) LIKE {p}"))
            }
            Pattern::Substring(v) => {
                let p = self.params.str(v.to_lowercase());
                t.test(|e| format!("position(lowerUTF8({e}), {p}) > 0"))
            }
            Pattern::Regex(re) => {
                if compile_regex(re).is_err() {
                    return FALSE.into();
                }
                let p = self.params.str(re.as_str());
                t.test(|e| format!("match({e}, {p})"))
            }
            Pattern::Token(tok) => {
                if !is_token(tok) {
                    return FALSE.into();
                }
                let p = self.params.str(tok.to_lowercase());
                t.test(|e| format!("hasToken({}, {p})", token_text(e)))
            }
        }
    }
}

/// The lowercased text of `e` with its tokens (the evaluator's: runs of Unicode letters,
/// numbers and marks) joined by spaces, so that `hasToken` on it finds exactly the
/// evaluator's tokens. The log body's token bloom filter indexes the same expression.
pub(crate) fn token_text(e: &str) -> String {
    format!(
        "arrayStringConcat(splitByRegexp('{}', lowerUTF8({e})), ' ')",
        TOKEN_SEPARATORS.replace('\\', "\\\\")
    )
}

fn op_sql(op: CmpOp) -> &'static str {
    match op {
        CmpOp::Eq => "=",
        CmpOp::Ne => "!=",
        CmpOp::Gt => ">",
        CmpOp::Ge => ">=",
        CmpOp::Lt => "<",
        CmpOp::Le => "<=",
    }
}

/// The `ORDER BY` terms of a key order ([`tracehouse_store_api::sort`]): the class rank
/// (numbers, text, absent), then the number, then the text, in the order's direction. The
/// value is the first of the field's sources that has one.
pub fn value_order(field: &Field, table: Table, descending: bool, params: &mut Params) -> String {
    let mut c = Compiler::new(table, params);
    let (mut texts, mut nums) = (Vec::new(), Vec::new());
    for s in sources(table, field) {
        let Some(text) = c.text(&s) else { continue };
        let present = c.exists(&s);
        let num = match c.number(&s) {
            Some(Valued { expr, guard: None }) => format!("toFloat64({expr})"),
            Some(Valued {
                expr,
                guard: Some(g),
            }) => format!("if({g}, toFloat64({expr}), NULL)"),
            None => "NULL".to_string(),
        };
        texts.push(format!("{present}, toNullable({})", text.expr));
        nums.push(format!("{present}, toNullable({num})"));
    }
    let first = |cases: Vec<String>| {
        if cases.is_empty() {
            "NULL".to_string()
        } else {
            format!("multiIf({}, NULL)", cases.join(", "))
        }
    };
    let (text, num) = (first(texts), first(nums));
    let rank = |class| class_rank(class, descending);
    let dir = if descending { "DESC" } else { "ASC" };
    format!(
        "multiIf(({text}) IS NULL, {}, ({num}) IS NOT NULL, {}, {}) ASC, {num} {dir} NULLS LAST, \
         {text} {dir} NULLS LAST",
        rank(ValueClass::Absent),
        rank(ValueClass::Number),
        rank(ValueClass::Text)
    )
}

/// The text of the first of the fields that has a value (`NULL` when none has).
pub fn text_of(fields: &[Field], table: Table, params: &mut Params) -> String {
    let mut c = Compiler::new(table, params);
    let mut cases = Vec::new();
    for s in fields.iter().flat_map(|f| sources(table, f)) {
        let Some(text) = c.text(&s) else { continue };
        cases.push(format!("{}, toNullable({})", c.exists(&s), text.expr));
    }
    if cases.is_empty() {
        "NULL".to_string()
    } else {
        format!("multiIf({}, NULL)", cases.join(", "))
    }
}

/// Compiles a filter into a predicate over `table`, binding its values into `params`.
pub fn compile(filter: &Filter, table: Table, params: &mut Params) -> String {
    Compiler::new(table, params).filter(filter)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sql(q: &str) -> (String, Params) {
        let plan = tracehouse_query::plan(&tracehouse_query::parse(q).unwrap());
        let mut p = Params::default();
        (compile(&plan.pushdown, Table::Spans, &mut p), p)
    }

    fn log_sql(q: &str) -> (String, Params) {
        let plan = tracehouse_query::plan_for(
            &tracehouse_query::parse(q).unwrap(),
            tracehouse_query::plan::Target::Logs,
        );
        let mut p = Params::default();
        (compile(&plan.pushdown, Table::Logs, &mut p), p)
    }

    #[test]
    fn log_fields_map_to_log_columns() {
        let (text, params) = log_sql("timeout level:error");
        assert!(
            text.contains(&format!("hasToken({}", token_text("body"))),
            "{text}"
        );
        assert!(text.contains("(level = {p1:String})"), "{text}");
        assert_eq!(
            params.values()[0].1,
            Param::Str("timeout".into()),
            "the token is a parameter"
        );
        assert_eq!(params.values()[1].1, Param::Str("error".into()));
        // Any spelling of a level name is its level; globs match level names.
        let (_, params) = log_sql("level:WARNING");
        assert_eq!(params.values()[0].1, Param::Str("warn".into()));
        assert_eq!(log_sql("level:nonsense").0, FALSE);
        assert!(log_sql("level:w*").0.contains("lowerUTF8(level) LIKE"));
        let (text, _) = log_sql("timestamp>5");
        assert!(text.contains("toUnixTimestamp64Nano(time)"), "{text}");
        // Span-only intrinsics are fields logs never have: false, and NOT false.
        for q in [
            "duration>1ms",
            "span_kind:server",
            "status_code:error",
            "has_errors:true",
        ] {
            assert_eq!(log_sql(q).0, FALSE, "{q}");
        }
        assert_eq!(log_sql("NOT span_kind:server").0, format!("(NOT {FALSE})"));
    }

    #[test]
    fn event_link_and_scope_attributes_read_the_json_columns() {
        let (text, params) = sql("event.exception.type:Timeout");
        assert!(
            text.starts_with("arrayExists(_item -> ")
                && text.ends_with(", JSONExtractArrayRaw(events))"),
            "{text}"
        );
        assert!(
            text.contains("JSONHas(_item, 'attributes', {p0:String})"),
            "{text}"
        );
        assert_eq!(params.values()[0].1, Param::Str("exception.type".into()));
        assert!(
            params
                .values()
                .contains(&("p1".into(), Param::Str("Timeout".into())))
        );
        let (text, _) = sql("link.hops>2");
        assert!(text.contains("JSONExtractArrayRaw(links)"), "{text}");
        assert!(
            text.contains("JSONExtractFloat(_item, 'attributes', {p0:String})"),
            "{text}"
        );
        // The client reads `?` as an argument placeholder: numeric reads of text never use it.
        for q in ["link.hops>2", "instrumentation.x<1", "event.k:/a?/"] {
            let (text, _) = sql(q);
            assert!(!text.contains('?'), "{q}: {text}");
        }
        // `!=` is the negation of "some link has it"
        let (text, _) = sql("link.hops!=2");
        assert!(text.starts_with("(NOT arrayExists("), "{text}");
        let (text, _) = sql("instrumentation.tier EXISTS");
        assert_eq!(text, "JSONHas(scope_attributes, {p0:String})");
        let (text, _) = sql("instrumentation.sampled:true");
        assert!(
            text.contains("JSONExtractBool(scope_attributes, {p0:String})"),
            "{text}"
        );
        assert!(!text.contains("arrayExists"), "{text}");
        // log records have none of these (a hand-built plan): false, and NOT false
        let leaf = Filter::Exists(Field::Attr {
            scope: Scope::Event,
            key: "k".into(),
        });
        let mut p = Params::default();
        assert_eq!(compile(&leaf, Table::Logs, &mut p), FALSE);
        let not = Filter::Not(Box::new(leaf));
        assert_eq!(compile(&not, Table::Logs, &mut p), format!("(NOT {FALSE})"));
    }

    #[test]
    fn user_values_never_reach_the_sql_text() {
        for q in [
            r#"event.weird'key:"x' OR 1=1 --""#,
            r#"link.weird'key>1"#,
            r#"instrumentation.weird'key:/x' OR 1=1; DROP TABLE spans/"#,
            r#"http.method:"x' OR 1=1 --""#,
            r#"service:"a\\'b""#,
            r#"span_name:/x' OR 1=1; DROP TABLE spans/"#,
            r#"name:*'*"#,
            r#"weird'key:1"#,
        ] {
            let (text, params) = sql(q);
            let (log_text, _) = log_sql(q);
            assert!(
                !log_text.contains("1=1") && !log_text.contains("DROP"),
                "{q}"
            );
            assert!(!text.contains("1=1"), "{q}: {text}");
            assert!(!text.contains("DROP"), "{q}: {text}");
            assert!(!text.contains("weird"), "{q}: {text}");
            assert!(!params.values().is_empty(), "{q}");
        }
    }
}
