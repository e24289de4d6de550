//! In-memory evaluation of the plan IR over spans that implement [`SpanView`].
//!
//! This is the reference implementation of the semantics documented in [`crate::plan`];
//! stores use it for structure evaluation on candidate traces and tests use it as the
//! oracle for backend predicates.

use std::borrow::Cow;
use std::cell::RefCell;
use std::collections::HashMap;

use serde::{Deserialize, Serialize};

use crate::ast::AggFunc;
use crate::lexer::parse_number;
use crate::parser::compile_regex;
use crate::plan::{
    CmpOp, Field, Filter, Intrinsic, Pattern, Plan, PlanStage, Relation, Scope, Structure, Value,
    bool_value,
};

/// An attribute (or intrinsic) value as a span exposes it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum AttrValue<'a> {
    /// Text (arrays and maps are exposed as JSON text).
    Str(Cow<'a, str>),
    /// An integer.
    Int(i64),
    /// A float.
    Float(f64),
    /// A boolean.
    Bool(bool),
}

impl<'a> AttrValue<'a> {
    /// A borrowed text value.
    pub fn str(s: &'a str) -> Self {
        AttrValue::Str(Cow::Borrowed(s))
    }

    /// The value as text (see [`crate::plan`] for the rendering rules).
    pub fn as_text(&self) -> Cow<'_, str> {
        match self {
            AttrValue::Str(s) => Cow::Borrowed(s.as_ref()),
            AttrValue::Int(i) => Cow::Owned(i.to_string()),
            AttrValue::Float(f) => Cow::Owned(f.to_string()),
            AttrValue::Bool(b) => Cow::Borrowed(if *b { "true" } else { "false" }),
        }
    }

    /// The value as a number: numbers as they are, text parsed as a decimal number,
    /// booleans not at all.
    pub fn as_f64(&self) -> Option<f64> {
        match self {
            AttrValue::Int(i) => Some(*i as f64),
            AttrValue::Float(f) => Some(*f),
            AttrValue::Str(s) => parse_number(s.trim()).map(|n| n.as_f64()),
            AttrValue::Bool(_) => None,
        }
    }

    /// The value as a boolean: booleans, and text `true`/`false` in any case.
    pub fn as_bool(&self) -> Option<bool> {
        match self {
            AttrValue::Bool(b) => Some(*b),
            AttrValue::Str(s) => bool_value(s),
            AttrValue::Int(_) | AttrValue::Float(_) => None,
        }
    }
}

/// Read access to one span (or log record) for evaluation.
pub trait SpanView {
    /// The value of an intrinsic other than `Duration` and `Timestamp` (those come from
    /// [`SpanView::duration_ns`] and [`SpanView::start_time_ns`]); `None` when unset.
    /// Ids are lowercase hex; `StatusCode` and `SpanKind` are lowercase names (see
    /// [`crate::plan`]); `HasErrors` is a `Bool`.
    fn intrinsic(&self, which: Intrinsic) -> Option<AttrValue<'_>>;
    /// The attribute `key` in `scope`, which is [`Scope::Span`] or [`Scope::Resource`].
    fn attribute(&self, scope: Scope, key: &str) -> Option<AttrValue<'_>>;
    /// The span id (raw bytes); used for parent/child links.
    fn span_id(&self) -> &[u8];
    /// The parent span id (raw bytes); `None` or empty for a root span.
    fn parent_span_id(&self) -> Option<&[u8]>;
    /// Start time in nanoseconds since the Unix epoch.
    fn start_time_ns(&self) -> i64;
    /// End time in nanoseconds since the Unix epoch.
    fn end_time_ns(&self) -> i64;
    /// Duration in nanoseconds (by default end minus start, never negative).
    fn duration_ns(&self) -> i64 {
        self.end_time_ns()
            .saturating_sub(self.start_time_ns())
            .max(0)
    }
}

/// Up to two values a field has on a span (span and resource scope for [`Scope::Any`]).
fn field_values<'s, S: SpanView>(field: &Field, span: &'s S) -> [Option<AttrValue<'s>>; 2] {
    match field {
        Field::Intrinsic(Intrinsic::Duration) => [Some(AttrValue::Int(span.duration_ns())), None],
        Field::Intrinsic(Intrinsic::Timestamp) => {
            [Some(AttrValue::Int(span.start_time_ns())), None]
        }
        Field::Intrinsic(i) => [span.intrinsic(*i), None],
        Field::Attr {
            scope: Scope::Any,
            key,
        } => [
            span.attribute(Scope::Span, key),
            span.attribute(Scope::Resource, key),
        ],
        Field::Attr { scope, key } => [span.attribute(*scope, key), None],
    }
}

/// Whether the span satisfies the filter.
pub fn matches<S: SpanView>(filter: &Filter, span: &S) -> bool {
    match filter {
        Filter::True => true,
        Filter::And(items) => items.iter().all(|f| matches(f, span)),
        Filter::Or(items) => items.iter().any(|f| matches(f, span)),
        Filter::Not(inner) => !matches(inner, span),
        Filter::Exists(field) => {
            field_values(field, span)
                .iter()
                .flatten()
                .any(|v| match (field, v) {
                    (Field::Intrinsic(_), AttrValue::Str(s)) => !s.is_empty(),
                    _ => true,
                })
        }
        Filter::Cmp { field, op, value } => {
            if *op == CmpOp::Ne {
                return !field_values(field, span)
                    .iter()
                    .flatten()
                    .any(|v| compare(v, CmpOp::Eq, value));
            }
            field_values(field, span)
                .iter()
                .flatten()
                .any(|v| compare(v, *op, value))
        }
        Filter::Match { field, pattern } => field_values(field, span)
            .iter()
            .flatten()
            .any(|v| match_pattern(&v.as_text(), pattern)),
    }
}

fn compare(v: &AttrValue<'_>, op: CmpOp, value: &Value) -> bool {
    match value {
        Value::Str(s) => match op {
            CmpOp::Eq => v.as_text() == s.as_str(),
            CmpOp::Ne => v.as_text() != s.as_str(),
            _ => match (v.as_f64(), parse_number(s).map(|n| n.as_f64())) {
                (Some(a), Some(b)) => op.apply(a, b),
                _ => false,
            },
        },
        Value::Bool(b) => match (op, v.as_bool()) {
            (CmpOp::Eq, Some(x)) => x == *b,
            (CmpOp::Ne, Some(x)) => x != *b,
            _ => false,
        },
        Value::Int(_) | Value::Float(_) | Value::Duration(_) => {
            match (v.as_f64(), value.as_f64()) {
                (Some(a), Some(b)) => op.apply(a, b),
                _ => false,
            }
        }
    }
}

/// Whether `text` matches the pattern (see [`Pattern`] for the rules).
pub fn match_pattern(text: &str, pattern: &Pattern) -> bool {
    match pattern {
        Pattern::Exact(s) => text == s,
        Pattern::Glob(g) => glob_match(&g.to_lowercase(), &text.to_lowercase()),
        Pattern::Regex(re) => regex_match(re, text),
        Pattern::Token(t) => has_token(text, t),
        Pattern::Substring(s) => text.to_lowercase().contains(&s.to_lowercase()),
    }
}

/// Anchored glob match where `*` matches any run of characters.
pub fn glob_match(pattern: &str, text: &str) -> bool {
    let p: Vec<char> = pattern.chars().collect();
    let t: Vec<char> = text.chars().collect();
    let (mut pi, mut ti) = (0usize, 0usize);
    let mut star: Option<(usize, usize)> = None; // (pattern index after '*', text index)
    while ti < t.len() {
        if pi < p.len() && p[pi] == '*' {
            pi += 1;
            star = Some((pi, ti));
        } else if pi < p.len() && p[pi] == t[ti] {
            pi += 1;
            ti += 1;
        } else if let Some((sp, st)) = star {
            pi = sp;
            ti = st + 1;
            star = Some((sp, st + 1));
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|&c| c == '*')
}

/// Whether some token of `text` equals `token`, case-insensitively. Tokens are maximal
/// runs of ASCII alphanumerics and non-ASCII characters.
pub fn has_token(text: &str, token: &str) -> bool {
    text.split(|c: char| c.is_ascii() && !c.is_ascii_alphanumeric())
        .any(|t| !t.is_empty() && t.to_lowercase() == token.to_lowercase())
}

thread_local! {
    static REGEX_CACHE: RefCell<HashMap<String, Option<regex::Regex>>> = RefCell::new(HashMap::new());
}

fn regex_match(pattern: &str, text: &str) -> bool {
    REGEX_CACHE.with(|cache| {
        let mut cache = cache.borrow_mut();
        if !cache.contains_key(pattern) {
            if cache.len() >= 256 {
                cache.clear();
            }
            cache.insert(pattern.to_string(), compile_regex(pattern).ok());
        }
        matches!(cache.get(pattern), Some(Some(re)) if re.is_match(text))
    })
}

/// Parent links of one trace's spans.
struct Tree {
    parent: Vec<Option<usize>>,
}

impl Tree {
    fn new<S: SpanView>(spans: &[S]) -> Tree {
        let mut by_id: HashMap<&[u8], usize> = HashMap::with_capacity(spans.len());
        for (i, s) in spans.iter().enumerate() {
            by_id.entry(s.span_id()).or_insert(i);
        }
        let parent = spans
            .iter()
            .enumerate()
            .map(|(i, s)| {
                s.parent_span_id()
                    .filter(|p| !p.is_empty())
                    .and_then(|p| by_id.get(p).copied())
                    .filter(|&p| p != i)
            })
            .collect();
        Tree { parent }
    }

    /// Ancestors of `i`, nearest first (stops on cycles).
    fn ancestors(&self, i: usize) -> impl Iterator<Item = usize> + '_ {
        let mut cur = self.parent[i];
        let mut steps = 0;
        std::iter::from_fn(move || {
            let p = cur?;
            steps += 1;
            if steps > self.parent.len() {
                return None;
            }
            cur = self.parent[p];
            Some(p)
        })
    }
}

/// Evaluates a structure on all spans of one trace: the indices (ascending) of the
/// spans in the result, empty when the trace does not match.
pub fn eval_structure<S: SpanView>(structure: &Structure, spans: &[S]) -> Vec<usize> {
    let tree = Tree::new(spans);
    let set = eval_set(structure, spans, &tree);
    set.iter()
        .enumerate()
        .filter(|(_, b)| **b)
        .map(|(i, _)| i)
        .collect()
}

/// Evaluates a whole plan on one trace's spans: for a plain filter the spans that match
/// it, for a structural query [`eval_structure`].
pub fn eval_plan<S: SpanView>(plan: &Plan, spans: &[S]) -> Vec<usize> {
    match &plan.structure {
        Some(s) => eval_structure(s, spans),
        None => (0..spans.len())
            .filter(|&i| matches(&plan.pushdown, &spans[i]))
            .collect(),
    }
}

fn eval_set<S: SpanView>(s: &Structure, spans: &[S], tree: &Tree) -> Vec<bool> {
    let n = spans.len();
    match s {
        Structure::Spanset(f) => spans.iter().map(|s| matches(f, s)).collect(),
        Structure::And(l, r) => {
            let (a, b) = (eval_set(l, spans, tree), eval_set(r, spans, tree));
            if a.contains(&true) && b.contains(&true) {
                a.iter().zip(&b).map(|(x, y)| *x || *y).collect()
            } else {
                vec![false; n]
            }
        }
        Structure::Or(l, r) => {
            let (a, b) = (eval_set(l, spans, tree), eval_set(r, spans, tree));
            a.iter().zip(&b).map(|(x, y)| *x || *y).collect()
        }
        Structure::Relation { rel, lhs, rhs } => {
            let left = eval_set(lhs, spans, tree);
            let right = eval_set(rhs, spans, tree);
            let mut out = vec![false; n];
            match rel {
                Relation::Child => {
                    for i in 0..n {
                        out[i] = right[i] && tree.parent[i].is_some_and(|p| left[p]);
                    }
                }
                Relation::Descendant => {
                    for i in 0..n {
                        out[i] = right[i] && tree.ancestors(i).any(|a| left[a]);
                    }
                }
                Relation::Parent => {
                    for i in (0..n).filter(|&i| left[i]) {
                        if let Some(p) = tree.parent[i] {
                            out[p] = right[p];
                        }
                    }
                }
                Relation::Ancestor => {
                    let mut marked = vec![false; n];
                    for i in (0..n).filter(|&i| left[i]) {
                        for a in tree.ancestors(i) {
                            if marked[a] {
                                break;
                            }
                            marked[a] = true;
                        }
                    }
                    for i in 0..n {
                        out[i] = right[i] && marked[i];
                    }
                }
                Relation::Sibling => {
                    let mut left_children = vec![0usize; n];
                    for i in (0..n).filter(|&i| left[i]) {
                        if let Some(p) = tree.parent[i] {
                            left_children[p] += 1;
                        }
                    }
                    for i in 0..n {
                        out[i] = right[i]
                            && tree.parent[i]
                                .is_some_and(|p| left_children[p] > usize::from(left[i]));
                    }
                }
            }
            out
        }
        Structure::Pipeline { input, stages } => {
            let set = eval_set(input, spans, tree);
            let first: Vec<usize> = (0..n).filter(|&i| set[i]).collect();
            let mut groups = if first.is_empty() {
                Vec::new()
            } else {
                vec![first]
            };
            for stage in stages {
                groups = apply_stage(stage, groups, spans);
            }
            let mut out = vec![false; n];
            for i in groups.into_iter().flatten() {
                out[i] = true;
            }
            out
        }
    }
}

fn apply_stage<S: SpanView>(
    stage: &PlanStage,
    groups: Vec<Vec<usize>>,
    spans: &[S],
) -> Vec<Vec<usize>> {
    match stage {
        PlanStage::GroupBy(fields) => {
            let mut out = Vec::new();
            for g in groups {
                let mut index: HashMap<Vec<Option<String>>, usize> = HashMap::new();
                let mut split: Vec<Vec<usize>> = Vec::new();
                for i in g {
                    let key: Vec<Option<String>> = fields
                        .iter()
                        .map(|f| {
                            field_values(f, &spans[i])
                                .into_iter()
                                .flatten()
                                .next()
                                .map(|v| v.as_text().into_owned())
                        })
                        .collect();
                    let slot = *index.entry(key).or_insert_with(|| {
                        split.push(Vec::new());
                        split.len() - 1
                    });
                    split[slot].push(i);
                }
                out.extend(split);
            }
            out
        }
        PlanStage::Aggregate {
            func,
            field,
            op,
            threshold,
        } => groups
            .into_iter()
            .filter(|g| {
                aggregate(*func, field.as_ref(), g, spans).is_some_and(|v| op.apply(v, *threshold))
            })
            .collect(),
    }
}

fn aggregate<S: SpanView>(
    func: AggFunc,
    field: Option<&Field>,
    group: &[usize],
    spans: &[S],
) -> Option<f64> {
    if func == AggFunc::Count {
        return Some(group.len() as f64);
    }
    let field = field?;
    let values: Vec<f64> = group
        .iter()
        .filter_map(|&i| {
            field_values(field, &spans[i])
                .iter()
                .flatten()
                .find_map(AttrValue::as_f64)
        })
        .collect();
    if values.is_empty() {
        return None;
    }
    let sum: f64 = values.iter().sum();
    Some(match func {
        AggFunc::Count => values.len() as f64,
        AggFunc::Sum => sum,
        AggFunc::Avg => sum / values.len() as f64,
        AggFunc::Min => values.iter().copied().fold(f64::INFINITY, f64::min),
        AggFunc::Max => values.iter().copied().fold(f64::NEG_INFINITY, f64::max),
    })
}
