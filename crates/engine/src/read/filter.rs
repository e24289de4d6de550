//! Compiles the backend-neutral [`Filter`] IR of `tracehouse-query` into a DataFusion
//! [`Expr`] over the spans table (see [`crate::storage::schema`]), for pushdown into the scan.
//!
//! The compiled expression holds exactly when [`tracehouse_query::matches`] holds on the
//! same span read back from the store (the differential tests below check this):
//!
//! * every leaf is two-valued: a predicate on a missing field is `false`, never SQL `NULL`,
//!   so `NOT leaf` is true for spans without the field;
//! * intrinsic columns are compared natively where that is exact (equality on text
//!   columns, numeric comparisons on `duration`/`start_time`, kind and status codes, ids as
//!   binary literals), so Parquet statistics, page indexes and bloom filters apply;
//! * attribute maps store each value as the JSON text of its typed value; the small UDFs of
//!   this module look a key up and turn the JSON into the value's text, number or boolean
//!   with the very functions the in-memory evaluator uses, so the two cannot drift apart.
//!   Equality with a plain string compares the stored JSON text directly (no decoding);
//! * globs become `LIKE` over lowercased text (`%`, `_` and `\` escaped), substrings a
//!   `LIKE '%…%'` over lowercased text, regexes `regexp_like` after validation with the
//!   query crate's size-limited compiler (an invalid regex matches nothing), tokens a UDF
//!   using the evaluator's tokenizer;
//! * event, link and instrumentation-scope attributes (`event.x`, `link.x`,
//!   `instrumentation.x`) live in JSON text columns. A leaf on them becomes one generic
//!   UDF, `th_json_leaf(column, leaf)`, whose second argument is the leaf itself
//!   serialised as JSON: it is decoded once per batch, each row's JSON is decoded into a
//!   small [`SpanView`] of that one attribute, and the leaf is evaluated by
//!   [`tracehouse_query::matches`] itself, so the "any event / any link" rule and every
//!   comparison are the evaluator's by construction. Rows whose JSON does not contain the
//!   key at all are not decoded.

use std::sync::Arc;

use datafusion::arrow::array::{
    Array, ArrayRef, BooleanBuilder, FixedSizeBinaryArray, Float64Builder, MapArray, StringArray,
    StringBuilder,
};
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::DataType;
use datafusion::common::{DataFusionError, Result as DfResult, ScalarValue};
use datafusion::logical_expr::expr::Like;
use datafusion::logical_expr::{
    ColumnarValue, ScalarFunctionArgs, ScalarUDF, ScalarUDFImpl, Signature, SortExpr, Volatility,
    when,
};
use datafusion::prelude::{Expr, col, is_true, lit};
use tracehouse_model::AttrValue as ModelValue;
use tracehouse_model::{Attributes, Level};
use tracehouse_query::eval::has_token;
use tracehouse_query::lexer::parse_number;
use tracehouse_query::parser::compile_regex;
use tracehouse_query::plan::Target;
use tracehouse_query::plan::{id_bytes, level_of};
use tracehouse_query::{
    AttrValue, CmpOp, Field, Filter, Intrinsic, Pattern, Scope, SpanView, Value,
};
use tracehouse_store_api::sort::{ValueClass, class_rank};
use tracehouse_store_api::value::{decode_stored, eval_value};

use crate::read::query::id_lit;
use crate::storage::schema::{col as c, kind_names, status_names};

/// The traces a filter confines its rows to — `trace_id` equal to an id, alone, in a
/// conjunction, or in every branch of a disjunction — or `None` when rows of any trace may
/// match. A read of such a filter skips the parts whose trace index holds none of them.
pub(crate) fn confined_traces(filter: &Filter) -> Option<Vec<[u8; 16]>> {
    let trace = Field::Intrinsic(Intrinsic::TraceId);
    match filter {
        Filter::Cmp {
            field,
            op: CmpOp::Eq,
            value: Value::Str(v),
        }
        | Filter::Match {
            field,
            pattern: Pattern::Exact(v),
        } if *field == trace => {
            let bytes = id_bytes(Intrinsic::TraceId, v)?;
            Some(vec![bytes.try_into().ok()?])
        }
        Filter::And(all) => all.iter().find_map(confined_traces),
        Filter::Or(any) if !any.is_empty() => {
            let mut out = Vec::new();
            for branch in any {
                out.extend(confined_traces(branch)?);
            }
            Some(out)
        }
        _ => None,
    }
}

/// Compiles a filter into a DataFusion predicate over the spans table.
pub fn compile(filter: &Filter) -> Expr {
    compile_for(filter, Target::Spans)
}

/// Compiles a filter into a DataFusion predicate over the spans or the logs table. Fields the
/// table does not have (span kind on a log record, a log level on a span) exist nowhere: a
/// predicate on them is false.
pub fn compile_for(filter: &Filter, target: Target) -> Expr {
    if let Some(column) = leaf_field(filter).and_then(|f| json_column(f, target)) {
        return json_leaf(filter, column);
    }
    let compile = |f: &Filter| compile_for(f, target);
    match filter {
        Filter::True => lit(true),
        Filter::And(items) => {
            balanced(items.iter().map(compile).collect(), Expr::and).unwrap_or(lit(true))
        }
        Filter::Or(items) => {
            balanced(items.iter().map(compile).collect(), Expr::or).unwrap_or(lit(false))
        }
        Filter::Not(inner) => !compile(inner),
        Filter::Exists(field) => any_source(field, target, exists),
        Filter::Cmp {
            field,
            op: CmpOp::Ne,
            value,
        } => !any_source(field, target, |s| compare(s, CmpOp::Eq, value)),
        Filter::Cmp { field, op, value } => any_source(field, target, |s| compare(s, *op, value)),
        Filter::Match { field, pattern } => {
            any_source(field, target, |s| match_pattern(s, pattern))
        }
    }
}

/// Joins `items` pairwise into a balanced tree, so that its depth grows with the logarithm of
/// their number: DataFusion plans, simplifies and evaluates expressions recursively, and the
/// left-deep chain of a query with a thousand terms overflows a thread's stack.
fn balanced(mut items: Vec<Expr>, join: fn(Expr, Expr) -> Expr) -> Option<Expr> {
    while items.len() > 1 {
        let mut pairs = items.into_iter();
        let mut next = Vec::new();
        while let Some(a) = pairs.next() {
            next.push(match pairs.next() {
                Some(b) => join(a, b),
                None => a,
            });
        }
        items = next;
    }
    items.pop()
}

/// The field a leaf predicate reads (`None` for `True`, `And`, `Or`, `Not`).
fn leaf_field(filter: &Filter) -> Option<&Field> {
    match filter {
        Filter::Exists(field) | Filter::Cmp { field, .. } | Filter::Match { field, .. } => {
            Some(field)
        }
        Filter::True | Filter::And(_) | Filter::Or(_) | Filter::Not(_) => None,
    }
}

/// The JSON text column holding the field, for event, link and instrumentation-scope
/// attributes of spans.
fn json_column(field: &Field, target: Target) -> Option<&'static str> {
    match (field, target) {
        (Field::Attr { scope, .. }, Target::Spans) => match scope {
            Scope::Event => Some(c::EVENTS),
            Scope::Link => Some(c::LINKS),
            Scope::Instrumentation => Some(c::SCOPE_ATTRIBUTES),
            Scope::Span | Scope::Resource | Scope::Any => None,
        },
        _ => None,
    }
}

/// `th_json_leaf(column, '<leaf as JSON>')`: the evaluator's verdict on the leaf, per row.
fn json_leaf(leaf: &Filter, column: &'static str) -> Expr {
    // Serialising the IR cannot fail (plain enums, strings and numbers).
    let encoded = serde_json::to_string(leaf).unwrap_or_default();
    udf(Udf::JsonLeaf).call(vec![col(column), lit(encoded)])
}

/// Where one value of a field comes from.
#[derive(Debug, Clone)]
enum Source {
    /// A non-null text column, used as is.
    Text(&'static str),
    /// The nullable session id column.
    Session,
    /// A fixed-size binary id column (text: lowercase hex); `nullable` for the parent.
    Id(&'static str, bool),
    /// The kind column (text: lowercase kind name).
    Kind,
    /// The status column (text: lowercase status name).
    Status,
    /// The log level column (text: lowercase level name).
    Level,
    /// The error flag (a boolean).
    HasError,
    /// A non-null Int64 column (`duration`, `start_time`).
    Int(&'static str),
    /// An attribute in one map column.
    Attr(&'static str, String),
    /// A field the table never has (log-only intrinsics on spans and the reverse).
    Missing,
}

/// Where the values of a field come from (two places for an unscoped attribute).
fn sources(field: &Field, target: Target) -> Vec<Source> {
    match field {
        Field::Intrinsic(i) => vec![intrinsic_source(*i, target)],
        Field::Attr { scope, key } => match scope {
            Scope::Span => vec![Source::Attr(c::ATTRIBUTES, key.clone())],
            Scope::Resource => vec![Source::Attr(c::RESOURCE_ATTRIBUTES, key.clone())],
            Scope::Any => vec![
                Source::Attr(c::ATTRIBUTES, key.clone()),
                Source::Attr(c::RESOURCE_ATTRIBUTES, key.clone()),
            ],
            // Spans compile these to `json_leaf`; log records have none of them.
            Scope::Event | Scope::Link | Scope::Instrumentation => vec![Source::Missing],
        },
    }
}

/// The leaf predicate ORed over the field's sources.
fn any_source(field: &Field, target: Target, leaf: impl Fn(&Source) -> Expr) -> Expr {
    balanced(sources(field, target).iter().map(leaf).collect(), Expr::or).unwrap_or(lit(false))
}

/// The columns of the spans or logs table that a predicate on `field` reads.
pub fn field_columns(field: &Field, target: Target) -> Vec<&'static str> {
    if let Some(column) = json_column(field, target) {
        return vec![column];
    }
    sources(field, target)
        .iter()
        .filter_map(|s| match s {
            Source::Text(name)
            | Source::Id(name, _)
            | Source::Int(name)
            | Source::Attr(name, _) => Some(*name),
            Source::Session => Some(c::SESSION_ID),
            Source::Kind => Some(c::KIND),
            Source::Status => Some(c::STATUS_CODE),
            Source::Level => Some(c::LEVEL),
            Source::HasError => Some(c::HAS_ERROR),
            Source::Missing => None,
        })
        .collect()
}

fn intrinsic_source(i: Intrinsic, target: Target) -> Source {
    if target == Target::Logs {
        return match i {
            Intrinsic::TraceId => Source::Id(c::TRACE_ID, true),
            Intrinsic::SpanId => Source::Id(c::SPAN_ID, true),
            Intrinsic::ServiceName => Source::Text(c::SERVICE_NAME),
            Intrinsic::ServiceVersion => Source::Text(c::SERVICE_VERSION),
            Intrinsic::Environment => Source::Text(c::ENVIRONMENT),
            Intrinsic::SessionId => Source::Session,
            Intrinsic::Severity => Source::Level,
            Intrinsic::Body => Source::Text(c::BODY),
            Intrinsic::Timestamp => Source::Int(c::TIME),
            Intrinsic::ParentSpanId
            | Intrinsic::SpanName
            | Intrinsic::StatusMessage
            | Intrinsic::SpanKind
            | Intrinsic::StatusCode
            | Intrinsic::HasErrors
            | Intrinsic::Duration => Source::Missing,
        };
    }
    match i {
        Intrinsic::TraceId => Source::Id(c::TRACE_ID, false),
        Intrinsic::SpanId => Source::Id(c::SPAN_ID, false),
        Intrinsic::ParentSpanId => Source::Id(c::PARENT_SPAN_ID, true),
        Intrinsic::SpanName => Source::Text(c::NAME),
        Intrinsic::ServiceName => Source::Text(c::SERVICE_NAME),
        Intrinsic::ServiceVersion => Source::Text(c::SERVICE_VERSION),
        Intrinsic::Environment => Source::Text(c::ENVIRONMENT),
        Intrinsic::StatusMessage => Source::Text(c::STATUS_MESSAGE),
        Intrinsic::SpanKind => Source::Kind,
        Intrinsic::StatusCode => Source::Status,
        Intrinsic::HasErrors => Source::HasError,
        Intrinsic::Duration => Source::Int(c::DURATION),
        Intrinsic::Timestamp => Source::Int(c::START_TIME),
        Intrinsic::SessionId => Source::Session,
        Intrinsic::Severity | Intrinsic::Body => Source::Missing,
    }
}

/// `CASE column WHEN code THEN name … END` (null for unknown codes).
fn code_names(column: &str, names: &[&str]) -> Expr {
    let mut builder = when(col(column).eq(lit(0u8)), lit(names[0]));
    for (code, name) in names.iter().enumerate().skip(1) {
        builder = builder.when(col(column).eq(lit(code as u8)), lit(*name));
    }
    builder
        .otherwise(lit(ScalarValue::Utf8(None)))
        .unwrap_or(lit(ScalarValue::Utf8(None)))
}

/// The source's value as text (null when missing), and whether it can be null.
fn text(s: &Source) -> (Expr, bool) {
    match s {
        Source::Text(name) => (col(*name), false),
        Source::Session => (col(c::SESSION_ID), true),
        Source::Id(name, nullable) => (udf(Udf::Hex).call(vec![col(*name)]), *nullable),
        Source::Kind => (code_names(c::KIND, &kind_names()), true),
        Source::Status => (code_names(c::STATUS_CODE, &status_names()), true),
        Source::Level => (code_names(c::LEVEL, &Level::ALL.map(Level::as_str)), true),
        Source::HasError => (
            when(col(c::HAS_ERROR), lit("true"))
                .otherwise(lit("false"))
                .unwrap_or(lit("false")),
            false,
        ),
        Source::Int(name) => (datafusion::prelude::cast(col(*name), DataType::Utf8), false),
        Source::Attr(map, key) => (attr(Udf::AttrText, map, key), true),
        Source::Missing => (lit(ScalarValue::Utf8(None)), true),
    }
}

fn attr(kind: Udf, map: &str, key: &str) -> Expr {
    udf(kind).call(vec![col(map), lit(key)])
}

/// Makes a possibly-null predicate two-valued.
fn definite(e: Expr, nullable: bool) -> Expr {
    if nullable { is_true(e) } else { e }
}

fn exists(s: &Source) -> Expr {
    match s {
        Source::Text(name) => col(*name).not_eq(lit("")),
        Source::Session => is_true(col(c::SESSION_ID).not_eq(lit(""))),
        Source::Id(name, true) => col(*name).is_not_null(),
        Source::Id(_, false)
        | Source::Kind
        | Source::Status
        | Source::Level
        | Source::HasError
        | Source::Int(_) => lit(true),
        Source::Attr(map, key) => attr(Udf::AttrRaw, map, key).is_not_null(),
        Source::Missing => lit(false),
    }
}

/// The value of the first of the field's sources that has one, read by `read` (null when
/// none has).
fn first_present(field: &Field, target: Target, read: impl Fn(&Source) -> Expr) -> Expr {
    first_of(sources(field, target), read)
}

/// The text of the first of the fields that has a value (null when none has).
pub fn text_of(fields: &[Field], target: Target) -> Expr {
    first_of(fields.iter().flat_map(|f| sources(f, target)), |s| {
        text(s).0
    })
}

/// The value of the first of the sources that has one, read by `read` (null when none has).
fn first_of(sources: impl IntoIterator<Item = Source>, read: impl Fn(&Source) -> Expr) -> Expr {
    let mut cases = sources.into_iter();
    let Some(first) = cases.next() else {
        return lit(ScalarValue::Null);
    };
    let mut case = when(exists(&first), read(&first));
    for s in cases {
        case = case.when(exists(&s), read(&s));
    }
    case.end().unwrap_or(lit(ScalarValue::Null))
}

/// The sort expressions of a key order ([`tracehouse_store_api::sort`]): the class rank
/// (numbers, text, absent), then the number, then the text, in the order's direction.
pub fn value_order(field: &Field, target: Target, descending: bool) -> Vec<SortExpr> {
    let text = first_present(field, target, |s| text(s).0);
    let num = first_present(field, target, number);
    let rank = |class| lit(class_rank(class, descending));
    let class = when(text.clone().is_null(), rank(ValueClass::Absent))
        .when(num.clone().is_not_null(), rank(ValueClass::Number))
        .otherwise(rank(ValueClass::Text))
        .unwrap_or(rank(ValueClass::Absent));
    vec![
        class.sort(true, false),
        num.sort(!descending, false),
        text.sort(!descending, false),
    ]
}

/// The source's value as a number (null when missing or not numeric).
fn number(s: &Source) -> Expr {
    match s {
        Source::Int(name) => datafusion::prelude::cast(col(*name), DataType::Float64),
        Source::Attr(map, key) => attr(Udf::AttrNum, map, key),
        Source::HasError | Source::Missing => lit(ScalarValue::Float64(None)),
        other => udf(Udf::TextNum).call(vec![text(other).0]),
    }
}

fn cmp_expr(lhs: Expr, op: CmpOp, rhs: Expr) -> Expr {
    match op {
        CmpOp::Eq => lhs.eq(rhs),
        CmpOp::Ne => lhs.not_eq(rhs),
        CmpOp::Gt => lhs.gt(rhs),
        CmpOp::Ge => lhs.gt_eq(rhs),
        CmpOp::Lt => lhs.lt(rhs),
        CmpOp::Le => lhs.lt_eq(rhs),
    }
}

fn compare(s: &Source, op: CmpOp, value: &Value) -> Expr {
    match value {
        Value::Str(v) => match op {
            CmpOp::Eq => match_pattern(s, &Pattern::Exact(v.clone())),
            CmpOp::Ne => {
                let (t, nullable) = text(s);
                definite(t.not_eq(lit(v.as_str())), nullable)
            }
            _ => match parse_number(v) {
                Some(n) => is_true(cmp_expr(number(s), op, lit(n.as_f64()))),
                None => lit(false),
            },
        },
        Value::Bool(b) => {
            let as_bool = match s {
                Source::HasError => col(c::HAS_ERROR),
                Source::Attr(map, key) => attr(Udf::AttrBool, map, key),
                Source::Int(_) | Source::Missing => return lit(false),
                other => udf(Udf::TextBool).call(vec![text(other).0]),
            };
            match op {
                CmpOp::Eq => is_true(as_bool.eq(lit(*b))),
                CmpOp::Ne => is_true(as_bool.not_eq(lit(*b))),
                _ => lit(false),
            }
        }
        Value::Int(i) | Value::Duration(i) => match s {
            // Exact for |i| < 2^53, like the evaluator's f64 comparison.
            Source::Int(name) => cmp_expr(col(*name), op, lit(*i)),
            other => is_true(cmp_expr(number(other), op, lit(*i as f64))),
        },
        Value::Float(f) => is_true(cmp_expr(number(s), op, lit(*f))),
    }
}

/// Whether `s` could be the text of a non-string attribute value (number, bool, JSON).
fn may_be_non_string_text(s: &str) -> bool {
    s == "true"
        || s == "false"
        || s.starts_with(['[', '{'])
        || s.parse::<f64>().is_ok()
        || s.eq_ignore_ascii_case("nan")
        || s.contains("inf")
}

fn like(expr: Expr, pattern: String) -> Expr {
    Expr::Like(Like::new(
        false,
        Box::new(expr),
        Box::new(lit(pattern)),
        Some('\\'),
        false,
    ))
}

fn lower(e: Expr) -> Expr {
    datafusion::functions::string::expr_fn::lower(e)
}

fn match_pattern(s: &Source, pattern: &Pattern) -> Expr {
    if let (Source::Level, Some(name)) = (s, pattern.level_name()) {
        return match level_of(name) {
            Some(level) => col(c::LEVEL).eq(lit(level.code())),
            None => lit(false),
        };
    }
    // Fast, pushdown-friendly forms of exact matches.
    if let Pattern::Exact(v) = pattern {
        match s {
            Source::Text(name) => return col(*name).eq(lit(v.as_str())),
            Source::Session => return is_true(col(c::SESSION_ID).eq(lit(v.as_str()))),
            Source::Id(name, _) => {
                // Span ids and parent span ids have the same form.
                let id = if *name == c::TRACE_ID {
                    Intrinsic::TraceId
                } else {
                    Intrinsic::SpanId
                };
                return match id_bytes(id, v) {
                    Some(bytes) => is_true(col(*name).eq(id_lit(&bytes))),
                    None => lit(false),
                };
            }
            Source::Kind => {
                return match kind_names().iter().position(|n| n == v) {
                    Some(code) => col(c::KIND).eq(lit(code as u8)),
                    None => lit(false),
                };
            }
            Source::Status => {
                return match status_names().iter().position(|n| n == v) {
                    Some(code) => col(c::STATUS_CODE).eq(lit(code as u8)),
                    None => lit(false),
                };
            }
            Source::Attr(map, key) => {
                let quoted = serde_json::to_string(v).unwrap_or_default();
                let as_string = is_true(attr(Udf::AttrRaw, map, key).eq(lit(quoted)));
                if !may_be_non_string_text(v) {
                    return as_string;
                }
                return as_string.or(is_true(attr(Udf::AttrText, map, key).eq(lit(v.as_str()))));
            }
            _ => {}
        }
    }
    let (t, nullable) = text(s);
    if matches!(s, Source::Missing) {
        return lit(false);
    }
    let e = match pattern {
        Pattern::Exact(v) => t.eq(lit(v.as_str())),
        Pattern::Glob(_) | Pattern::Substring(_) => {
            like(lower(t), pattern.like().unwrap_or_default())
        }
        Pattern::Regex(re) => {
            if compile_regex(re).is_err() {
                return lit(false);
            }
            datafusion::functions::regex::expr_fn::regexp_like(t, lit(re.as_str()), None)
        }
        Pattern::Token(tok) => udf(Udf::Token).call(vec![t, lit(tok.as_str())]),
    };
    definite(e, nullable)
}

/// The UDFs this module uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Udf {
    /// `(map, key)` → the stored JSON text of the value, or null.
    AttrRaw,
    /// `(map, key)` → the value as text (strings unquoted), or null.
    AttrText,
    /// `(map, key)` → the value as a number, or null.
    AttrNum,
    /// `(map, key)` → the value as a boolean, or null.
    AttrBool,
    /// `(text)` → the text as a number (the evaluator's rule), or null.
    TextNum,
    /// `(text)` → the text as a boolean (`true`/`false` any case), or null.
    TextBool,
    /// `(fixed-size binary)` → lowercase hex.
    Hex,
    /// `(text, token)` → whether some token of the text equals the token.
    Token,
    /// `(JSON text column, leaf as JSON)` → whether the leaf holds (never null); the
    /// column is `events`, `links` or `scope_attributes`, as the leaf's scope says.
    JsonLeaf,
}

#[derive(Debug, PartialEq, Eq, Hash)]
struct ThUdf {
    kind: Udf,
    signature: Signature,
}

fn udf(kind: Udf) -> ScalarUDF {
    let arity = match kind {
        Udf::TextNum | Udf::TextBool | Udf::Hex => 1,
        _ => 2,
    };
    ScalarUDF::new_from_impl(ThUdf {
        kind,
        signature: Signature::any(arity, Volatility::Immutable),
    })
}

fn string_array(a: &ArrayRef) -> DfResult<Arc<dyn Array>> {
    Ok(if a.data_type() == &DataType::Utf8 {
        a.clone()
    } else {
        cast(a, &DataType::Utf8)?
    })
}

fn as_strings(a: &ArrayRef) -> DfResult<&StringArray> {
    a.as_any()
        .downcast_ref::<StringArray>()
        .ok_or_else(|| DataFusionError::Internal("expected a Utf8 array".into()))
}

fn scalar_str(v: &ColumnarValue) -> DfResult<String> {
    match v {
        ColumnarValue::Scalar(
            ScalarValue::Utf8(Some(s))
            | ScalarValue::Utf8View(Some(s))
            | ScalarValue::LargeUtf8(Some(s)),
        ) => Ok(s.clone()),
        _ => Err(DataFusionError::Internal(
            "expected a string literal argument".into(),
        )),
    }
}

/// Per-row output of the attribute UDFs.
enum Out {
    Str(StringBuilder),
    Num(Float64Builder),
    Bool(BooleanBuilder),
}

impl Out {
    fn null(&mut self) {
        match self {
            Out::Str(b) => b.append_null(),
            Out::Num(b) => b.append_null(),
            Out::Bool(b) => b.append_null(),
        }
    }
    fn finish(self) -> ArrayRef {
        match self {
            Out::Str(mut b) => Arc::new(b.finish()),
            Out::Num(mut b) => Arc::new(b.finish()),
            Out::Bool(mut b) => Arc::new(b.finish()),
        }
    }
}

impl ThUdf {
    fn out(&self, n: usize) -> Out {
        match self.kind {
            Udf::AttrNum | Udf::TextNum => Out::Num(Float64Builder::with_capacity(n)),
            Udf::AttrBool | Udf::TextBool | Udf::Token | Udf::JsonLeaf => {
                Out::Bool(BooleanBuilder::with_capacity(n))
            }
            _ => Out::Str(StringBuilder::with_capacity(n, n * 8)),
        }
    }

    /// Appends the conversion of an evaluator value.
    fn push_value(&self, out: &mut Out, raw: &str, v: &AttrValue<'_>) {
        match (out, self.kind) {
            (Out::Str(b), Udf::AttrRaw) => b.append_value(raw),
            (Out::Str(b), _) => b.append_value(v.as_text()),
            (Out::Num(b), _) => b.append_option(v.as_f64()),
            (Out::Bool(b), _) => b.append_option(v.as_bool()),
        }
    }

    fn attr(&self, map: &ArrayRef, key: &str) -> DfResult<ArrayRef> {
        let map = map
            .as_any()
            .downcast_ref::<MapArray>()
            .ok_or_else(|| DataFusionError::Internal("expected a map column".into()))?;
        let keys = string_array(map.keys())?;
        let keys = as_strings(&keys)?;
        let values = string_array(map.values())?;
        let values = as_strings(&values)?;
        let offsets = map.value_offsets();
        let mut out = self.out(map.len());
        for row in 0..map.len() {
            let (from, to) = (offsets[row] as usize, offsets[row + 1] as usize);
            let hit = if map.is_null(row) {
                None
            } else {
                (from..to).find(|&i| keys.value(i) == key)
            };
            let Some(i) = hit.filter(|&i| !values.is_null(i)) else {
                out.null();
                continue;
            };
            let raw = values.value(i);
            if self.kind == Udf::AttrRaw {
                self.push_value(&mut out, raw, &AttrValue::Bool(false));
                continue;
            }
            match decode_stored(raw) {
                Some(v) => self.push_value(&mut out, raw, &eval_value(&v)),
                None => out.null(),
            }
        }
        Ok(out.finish())
    }

    fn text_fn(&self, text: &ArrayRef, extra: Option<&str>) -> DfResult<ArrayRef> {
        let arr = string_array(text)?;
        let arr = as_strings(&arr)?;
        let mut out = self.out(arr.len());
        for i in 0..arr.len() {
            if arr.is_null(i) {
                out.null();
                continue;
            }
            let s = arr.value(i);
            match (&mut out, self.kind) {
                (Out::Bool(b), Udf::Token) => b.append_value(has_token(s, extra.unwrap_or(""))),
                _ => self.push_value(&mut out, s, &AttrValue::str(s)),
            }
        }
        Ok(out.finish())
    }

    /// Evaluates a leaf on an event, link or scope attribute against each row's JSON.
    fn json_leaf(&self, column: &ArrayRef, leaf: &str) -> DfResult<ArrayRef> {
        let leaf: Filter = serde_json::from_str(leaf)
            .map_err(|e| DataFusionError::Internal(format!("bad json leaf: {e}")))?;
        let Some(Field::Attr { scope, key }) = leaf_field(&leaf) else {
            return Err(DataFusionError::Internal(
                "json leaf without an attribute".into(),
            ));
        };
        let (scope, key) = (*scope, key.as_str());
        let quoted_key = serde_json::to_string(key).unwrap_or_default();
        let arr = string_array(column)?;
        let arr = as_strings(&arr)?;
        let mut out = BooleanBuilder::with_capacity(arr.len());
        for i in 0..arr.len() {
            let text = if arr.is_null(i) { "" } else { arr.value(i) };
            // The stored JSON names every key exactly as `quoted_key` (both are
            // serde_json's escaping), so a row without that text has no value.
            let values = if text.contains(&quoted_key) {
                json_values(scope, key, text)
            } else {
                Vec::new()
            };
            let view = JsonAttrView {
                scope,
                key,
                values: &values,
            };
            out.append_value(tracehouse_query::matches(&leaf, &view));
        }
        Ok(Arc::new(out.finish()))
    }

    fn hex(&self, ids: &ArrayRef) -> DfResult<ArrayRef> {
        let ids = ids
            .as_any()
            .downcast_ref::<FixedSizeBinaryArray>()
            .ok_or_else(|| DataFusionError::Internal("expected an id column".into()))?;
        let mut b = StringBuilder::with_capacity(ids.len(), ids.len() * 32);
        for i in 0..ids.len() {
            if ids.is_null(i) {
                b.append_null();
            } else {
                b.append_value(hex::encode(ids.value(i)));
            }
        }
        Ok(Arc::new(b.finish()))
    }
}

impl ScalarUDFImpl for ThUdf {
    fn name(&self) -> &str {
        match self.kind {
            Udf::AttrRaw => "th_attr_raw",
            Udf::AttrText => "th_attr_text",
            Udf::AttrNum => "th_attr_num",
            Udf::AttrBool => "th_attr_bool",
            Udf::TextNum => "th_text_num",
            Udf::TextBool => "th_text_bool",
            Udf::Hex => "th_hex",
            Udf::Token => "th_has_token",
            Udf::JsonLeaf => "th_json_leaf",
        }
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, _args: &[DataType]) -> DfResult<DataType> {
        Ok(match self.kind {
            Udf::AttrNum | Udf::TextNum => DataType::Float64,
            Udf::AttrBool | Udf::TextBool | Udf::Token | Udf::JsonLeaf => DataType::Boolean,
            _ => DataType::Utf8,
        })
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> DfResult<ColumnarValue> {
        let rows = args.number_rows;
        let first = args
            .args
            .first()
            .ok_or_else(|| DataFusionError::Internal("missing argument".into()))?
            .to_array(rows)?;
        let result = match self.kind {
            Udf::AttrRaw | Udf::AttrText | Udf::AttrNum | Udf::AttrBool => {
                let key = scalar_str(&args.args[1])?;
                self.attr(&first, &key)?
            }
            Udf::Token => {
                let token = scalar_str(&args.args[1])?;
                self.text_fn(&first, Some(&token))?
            }
            Udf::JsonLeaf => {
                let leaf = scalar_str(&args.args[1])?;
                self.json_leaf(&first, &leaf)?
            }
            Udf::TextNum | Udf::TextBool => self.text_fn(&first, None)?,
            Udf::Hex => self.hex(&first)?,
        };
        Ok(ColumnarValue::Array(result))
    }
}

/// One event or link as stored in the JSON columns; only its attributes are read.
#[derive(serde::Deserialize)]
struct AttributedItem {
    #[serde(default)]
    attributes: Attributes,
}

/// The values of `key` in one row's JSON: the scope attribute map (`Instrumentation`) or
/// the list of events / links (one value per item that sets the key). Undecodable JSON
/// has no values.
fn json_values(scope: Scope, key: &str, text: &str) -> Vec<ModelValue> {
    if scope.is_multi_valued() {
        serde_json::from_str::<Vec<AttributedItem>>(text)
            .map(|items| {
                items
                    .into_iter()
                    .filter_map(|mut item| item.attributes.remove(key))
                    .collect()
            })
            .unwrap_or_default()
    } else {
        serde_json::from_str::<Attributes>(text)
            .ok()
            .and_then(|mut attrs| attrs.remove(key))
            .into_iter()
            .collect()
    }
}

/// The evaluator's view of one attribute of one row, for `th_json_leaf`: it has only that
/// attribute (in that scope) and no intrinsics, which is all a leaf on it reads.
struct JsonAttrView<'a> {
    scope: Scope,
    key: &'a str,
    values: &'a [ModelValue],
}

impl SpanView for JsonAttrView<'_> {
    fn intrinsic(&self, _which: Intrinsic) -> Option<AttrValue<'_>> {
        None
    }

    fn attribute(&self, scope: Scope, key: &str) -> Option<AttrValue<'_>> {
        if scope != self.scope || key != self.key || scope.is_multi_valued() {
            return None;
        }
        self.values.first().map(eval_value)
    }

    fn attribute_values(&self, scope: Scope, key: &str) -> Vec<AttrValue<'_>> {
        if scope != self.scope || key != self.key || !scope.is_multi_valued() {
            return Vec::new();
        }
        self.values.iter().map(eval_value).collect()
    }

    fn span_id(&self) -> &[u8] {
        &[]
    }

    fn parent_span_id(&self) -> Option<&[u8]> {
        None
    }

    fn start_time_ns(&self) -> i64 {
        0
    }

    fn end_time_ns(&self) -> i64 {
        0
    }
}

#[cfg(test)]
#[path = "filter_tests.rs"]
mod tests;
