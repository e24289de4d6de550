//! In-memory evaluation of the plan IR over spans that implement [`SpanView`].
//!
//! This is the reference implementation of the semantics documented in [`crate::plan`];
//! stores use it for structure evaluation on candidate traces and tests use it as the
//! oracle for backend predicates.

use std::borrow::Cow;
use std::cell::RefCell;
use std::collections::HashMap;
use std::sync::LazyLock;

use serde::{Deserialize, Serialize};

use crate::ast::AggFunc;
use crate::lexer::parse_number;
use crate::parser::compile_regex;
use crate::plan::{
    CmpOp, Field, Filter, Intrinsic, Pattern, Plan, PlanStage, Relation, RelationMode, Scope,
    Structure, Value, bool_value,
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
    /// The attribute `key` in a single-valued `scope`: [`Scope::Span`],
    /// [`Scope::Resource`] or [`Scope::Instrumentation`].
    fn attribute(&self, scope: Scope, key: &str) -> Option<AttrValue<'_>>;
    /// The values of attribute `key` in a multi-valued `scope` ([`Scope::Event`] or
    /// [`Scope::Link`]): one per event / link that sets the key, in the span's order;
    /// empty when none does.
    fn attribute_values(&self, scope: Scope, key: &str) -> Vec<AttrValue<'_>>;
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

/// The values a field has on one span: up to two single values (span and resource scope
/// for [`Scope::Any`]) or the values of a multi-valued scope. Allocates only for the latter.
struct FieldValues<'s> {
    fixed: [Option<AttrValue<'s>>; 2],
    many: Vec<AttrValue<'s>>,
}

impl<'s> FieldValues<'s> {
    fn iter(&self) -> impl Iterator<Item = &AttrValue<'s>> {
        self.fixed.iter().flatten().chain(self.many.iter())
    }
}

fn field_values<'s, S: SpanView>(field: &Field, span: &'s S) -> FieldValues<'s> {
    let one = |v| FieldValues {
        fixed: [v, None],
        many: Vec::new(),
    };
    match field {
        Field::Intrinsic(Intrinsic::Duration) => one(Some(AttrValue::Int(span.duration_ns()))),
        Field::Intrinsic(Intrinsic::Timestamp) => one(Some(AttrValue::Int(span.start_time_ns()))),
        Field::Intrinsic(i) => one(span.intrinsic(*i)),
        Field::Attr {
            scope: Scope::Any,
            key,
        } => FieldValues {
            fixed: [
                span.attribute(Scope::Span, key),
                span.attribute(Scope::Resource, key),
            ],
            many: Vec::new(),
        },
        Field::Attr { scope, key } if scope.is_multi_valued() => FieldValues {
            fixed: [None, None],
            many: span.attribute_values(*scope, key),
        },
        Field::Attr { scope, key } => one(span.attribute(*scope, key)),
    }
}

/// Whether the span satisfies the filter.
pub fn matches<S: SpanView>(filter: &Filter, span: &S) -> bool {
    match filter {
        Filter::True => true,
        Filter::And(items) => items.iter().all(|f| matches(f, span)),
        Filter::Or(items) => items.iter().any(|f| matches(f, span)),
        Filter::Not(inner) => !matches(inner, span),
        Filter::Exists(field) => field_values(field, span).iter().any(|v| match (field, v) {
            (Field::Intrinsic(_), AttrValue::Str(s)) => !s.is_empty(),
            _ => true,
        }),
        Filter::Cmp { field, op, value } => {
            if *op == CmpOp::Ne {
                return !field_values(field, span)
                    .iter()
                    .any(|v| compare(v, CmpOp::Eq, value));
            }
            field_values(field, span)
                .iter()
                .any(|v| compare(v, *op, value))
        }
        Filter::Match { field, pattern } => field_values(field, span)
            .iter()
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

/// What separates tokens, as a regex character class: anything but a Unicode letter,
/// number or combining mark — whitespace (an em space too), punctuation, symbols. The
/// ClickHouse backend splits with the same class.
pub const TOKEN_SEPARATORS: &str = r"[^\p{L}\p{N}\p{M}]+";

/// Whether some token of `text` equals `token`, case-insensitively. Tokens are maximal
/// runs of Unicode letters, numbers and combining marks ([`TOKEN_SEPARATORS`] splits them).
pub fn has_token(text: &str, token: &str) -> bool {
    let token = token.to_lowercase();
    let fits = |t: &str| !t.is_empty() && t.len() <= token.len() * 4 && t.to_lowercase() == token;
    if text.is_ascii() {
        // The same rule, without the regex: ASCII letters and digits are the token characters.
        return text.split(|c: char| !c.is_ascii_alphanumeric()).any(fits);
    }
    SEPARATORS.split(text).any(fits)
}

/// Whether `text` is one whole token: not empty, and nothing in it separates tokens.
pub fn is_token(text: &str) -> bool {
    !text.is_empty()
        && if text.is_ascii() {
            text.bytes().all(|b| b.is_ascii_alphanumeric())
        } else {
            !SEPARATORS.is_match(text)
        }
}

#[allow(
    clippy::expect_used,
    reason = "a constant pattern, covered by the tests"
)]
static SEPARATORS: LazyLock<regex::Regex> =
    LazyLock::new(|| regex::Regex::new(TOKEN_SEPARATORS).expect("a valid class"));

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
        Structure::Relation {
            rel,
            mode,
            lhs,
            rhs,
        } => {
            let left = eval_set(lhs, spans, tree);
            let right = eval_set(rhs, spans, tree);
            match mode {
                RelationMode::Related => related(*rel, &left, &right, tree),
                RelationMode::Unrelated => {
                    let any = related(*rel, &left, &vec![true; n], tree);
                    right.iter().zip(any).map(|(r, a)| *r && !a).collect()
                }
                RelationMode::Both => {
                    let r = related(*rel, &left, &right, tree);
                    let l = related(rel.inverse(), &r, &left, tree);
                    r.iter().zip(l).map(|(a, b)| *a || b).collect()
                }
            }
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

/// The `right` spans related by `rel` to some `left` span.
fn related(rel: Relation, left: &[bool], right: &[bool], tree: &Tree) -> Vec<bool> {
    let n = left.len();
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
                    && tree.parent[i].is_some_and(|p| left_children[p] > usize::from(left[i]));
            }
        }
    }
    out
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
                                .iter()
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{parse, plan};

    struct TestSpan {
        id: u8,
        parent: Option<u8>,
        name: &'static str,
        service: &'static str,
        kind: &'static str,
        status: &'static str,
        start: i64,
        dur_ms: i64,
        span_attrs: Vec<(&'static str, AttrValue<'static>)>,
        resource_attrs: Vec<(&'static str, AttrValue<'static>)>,
        scope_attrs: Vec<(&'static str, AttrValue<'static>)>,
        events: Vec<Vec<(&'static str, AttrValue<'static>)>>,
        links: Vec<Vec<(&'static str, AttrValue<'static>)>>,
    }

    impl SpanView for TestSpan {
        fn intrinsic(&self, which: Intrinsic) -> Option<AttrValue<'_>> {
            Some(match which {
                Intrinsic::TraceId => AttrValue::str("0af7651916cd43dd8448eb211c80319c"),
                Intrinsic::SpanId => AttrValue::Str(Cow::Owned(format!("{:016x}", self.id))),
                Intrinsic::ParentSpanId => {
                    AttrValue::Str(Cow::Owned(format!("{:016x}", self.parent?)))
                }
                Intrinsic::SpanName => AttrValue::str(self.name),
                Intrinsic::ServiceName => AttrValue::str(self.service),
                Intrinsic::SpanKind => AttrValue::str(self.kind),
                Intrinsic::StatusCode => AttrValue::str(self.status),
                Intrinsic::HasErrors => AttrValue::Bool(self.status == "error"),
                Intrinsic::Environment => AttrValue::str(""),
                _ => return None,
            })
        }
        fn attribute(&self, scope: Scope, key: &str) -> Option<AttrValue<'_>> {
            let list = match scope {
                Scope::Span => &self.span_attrs,
                Scope::Resource => &self.resource_attrs,
                Scope::Instrumentation => &self.scope_attrs,
                Scope::Any | Scope::Event | Scope::Link => return None,
            };
            list.iter().find(|(k, _)| *k == key).map(|(_, v)| v.clone())
        }
        fn attribute_values(&self, scope: Scope, key: &str) -> Vec<AttrValue<'_>> {
            let items = match scope {
                Scope::Event => &self.events,
                Scope::Link => &self.links,
                _ => return Vec::new(),
            };
            items
                .iter()
                .filter_map(|attrs| attrs.iter().find(|(k, _)| *k == key))
                .map(|(_, v)| v.clone())
                .collect()
        }
        fn span_id(&self) -> &[u8] {
            std::slice::from_ref(&self.id)
        }
        fn parent_span_id(&self) -> Option<&[u8]> {
            self.parent.as_ref().map(std::slice::from_ref)
        }
        fn start_time_ns(&self) -> i64 {
            self.start
        }
        fn end_time_ns(&self) -> i64 {
            self.start + self.dur_ms * 1_000_000
        }
    }

    fn span(
        id: u8,
        parent: Option<u8>,
        name: &'static str,
        service: &'static str,
        dur_ms: i64,
    ) -> TestSpan {
        TestSpan {
            id,
            parent,
            name,
            service,
            kind: "internal",
            status: "unset",
            start: 1_000,
            dur_ms,
            span_attrs: vec![],
            resource_attrs: vec![],
            scope_attrs: vec![],
            events: vec![],
            links: vec![],
        }
    }

    /// 0 frontend "GET /api/orders" (server, 500ms)
    /// ├─ 1 cart "orders.List" (300ms)
    /// │  ├─ 2 cart "SELECT orders" (client, error, 200ms, postgresql)
    /// │  └─ 3 cart "SELECT users" (client, 50ms, postgresql)
    /// └─ 4 frontend "render" (20ms)
    /// 5 cart "late" (orphan: parent 99 missing; error; 1s)
    fn trace() -> Vec<TestSpan> {
        let mut s0 = span(0, None, "GET /api/orders", "frontend", 500);
        s0.kind = "server";
        s0.status = "ok";
        s0.span_attrs = vec![
            ("http.method", AttrValue::str("GET")),
            ("http.status_code", AttrValue::Int(200)),
        ];
        s0.resource_attrs = vec![("host.name", AttrValue::str("web-1"))];
        let mut s1 = span(1, Some(0), "orders.List", "cart", 300);
        s1.span_attrs = vec![("db.rows", AttrValue::Int(12))];
        let mut s2 = span(2, Some(1), "SELECT orders", "cart", 200);
        s2.kind = "client";
        s2.status = "error";
        s2.span_attrs = vec![
            ("db.system", AttrValue::str("postgresql")),
            ("latency", AttrValue::str("150")),
            ("ratio", AttrValue::Float(0.25)),
        ];
        let mut s3 = span(3, Some(1), "SELECT users", "cart", 50);
        s3.kind = "client";
        s3.span_attrs = vec![("db.system", AttrValue::str("postgresql"))];
        let mut s4 = span(4, Some(0), "render", "frontend", 20);
        s4.span_attrs = vec![("flag", AttrValue::Bool(true))];
        s4.resource_attrs = vec![("db.system", AttrValue::str("mysql"))];
        let mut s5 = span(5, Some(99), "late", "cart", 1000);
        s5.status = "error";
        // events, links and instrumentation scopes
        s0.events = vec![
            vec![
                ("retry.count", AttrValue::Int(1)),
                ("cache", AttrValue::str("miss")),
            ],
            vec![("retry.count", AttrValue::Int(3))],
        ];
        s0.scope_attrs = vec![("lib.tier", AttrValue::str("web"))];
        s1.events = vec![vec![]];
        s2.events = vec![vec![
            ("exception.type", AttrValue::str("TimeoutError")),
            ("retry.count", AttrValue::str("2")),
        ]];
        s2.links = vec![vec![
            ("link.kind", AttrValue::str("follows")),
            ("hops", AttrValue::Int(2)),
        ]];
        s3.links = vec![
            vec![("hops", AttrValue::Int(5))],
            vec![("hops", AttrValue::Int(1))],
        ];
        s4.events = vec![vec![("cache", AttrValue::str("hit"))]];
        s4.scope_attrs = vec![("lib.tier", AttrValue::str("render"))];
        vec![s0, s1, s2, s3, s4, s5]
    }

    /// Indices of the spans of `trace()` that the query returns.
    fn run(q: &str) -> Vec<usize> {
        let parsed = parse(q).unwrap_or_else(|e| panic!("{q:?}: {e}"));
        let p = plan(&parsed);
        let spans = trace();
        if p.structure.is_some() {
            // the pushdown must keep every trace the structure accepts
            let result = eval_plan(&p, &spans);
            if !result.is_empty() {
                assert!(
                    spans.iter().any(|s| matches(&p.pushdown, s)),
                    "{q}: pushdown too strict"
                );
            }
            result
        } else {
            eval_plan(&p, &spans)
        }
    }

    #[test]
    fn exact_is_case_sensitive() {
        assert_eq!(run("service:cart"), [1, 2, 3, 5]);
        assert_eq!(run("service:Cart"), Vec::<usize>::new());
        assert_eq!(run("http.method=GET"), [0]);
        assert_eq!(run("http.method=get"), Vec::<usize>::new());
    }

    #[test]
    fn globs_are_anchored_and_case_insensitive() {
        assert_eq!(run("name:select*"), [2, 3]);
        assert_eq!(run("name:*ORDERS"), [0, 2]);
        assert_eq!(run("name:*orders*"), [0, 1, 2]);
        assert_eq!(run("name:orders"), Vec::<usize>::new());
        assert_eq!(run("name:*"), [0, 1, 2, 3, 4, 5]);
        assert!(glob_match("a*b*c", "axxbyyc"));
        assert!(glob_match("*", ""));
        assert!(!glob_match("a*b", "ab_"));
        assert!(glob_match("a**", "a"));
    }

    #[test]
    fn regex_is_unanchored() {
        assert_eq!(run("name:/orders/"), [0, 1, 2]);
        assert_eq!(run("name:/^SELECT\\s(users|x)$/"), [3]);
        assert_eq!(run("name:/^users/"), Vec::<usize>::new());
        assert_eq!(run("name:\"/^SELECT (users|x)$/\""), [3]);
        assert_eq!(run("/List$/"), [1]);
    }

    #[test]
    fn bare_words_match_tokens_other_text_substrings() {
        assert_eq!(run("select"), [2, 3]); // token, case-insensitive
        assert_eq!(run("order"), Vec::<usize>::new()); // not a whole token
        assert_eq!(run("\"order\""), [0, 1, 2]); // quoted: substring
        assert_eq!(run("orders.li"), [1]); // not alphanumeric: substring
        assert_eq!(run("api"), [0]);
        assert_eq!(run("select users"), [3]); // implicit AND of tokens
        assert_eq!(run("sel*ers"), [2, 3]); // glob inside the name
        assert!(has_token("naïve-café", "café"));
        assert!(has_token("GET /api/v1", "V1"));
        // Unicode whitespace and punctuation separate tokens; letters of any script and
        // combining marks do not.
        assert!(has_token("charge\u{2003}card", "card")); // em space
        assert!(has_token("naïve\u{00a0}card", "card")); // no-break space
        assert!(has_token("pay—card", "card")); // em dash
        assert!(has_token("支付。卡", "卡")); // ideographic full stop
        assert!(has_token("«card»", "card"));
        assert!(has_token("cafe\u{301} ok", "cafe\u{301}")); // a combining accent stays
        assert!(!has_token("cafe\u{301} ok", "cafe"));
        assert!(!has_token("chargecard", "card"));
        assert!(!has_token("naïvecard", "card"));
        assert!(is_token("café") && is_token("GET2") && is_token("支付"));
        assert!(!is_token("") && !is_token("a-b") && !is_token("a\u{2003}b"));
    }

    #[test]
    fn numeric_comparisons() {
        assert_eq!(run("duration>250ms"), [0, 1, 5]);
        assert_eq!(run("duration>=300ms duration<1s"), [0, 1]);
        assert_eq!(run("duration:50ms"), [3]);
        assert_eq!(run("http.status_code>=200"), [0]);
        assert_eq!(run("http.status_code:200"), [0]);
        assert_eq!(run("http.status_code:\"200\""), [0]);
        assert_eq!(run("latency>100"), [2]); // text attribute compared as a number
        assert_eq!(run("latency:150"), [2]);
        assert_eq!(run("ratio<0.5"), [2]);
        assert_eq!(run("db.rows>10 db.rows<=12"), [1]);
        assert_eq!(run("db.system>1"), Vec::<usize>::new()); // not a number: no match
        assert_eq!(run("flag:true"), [4]);
        assert_eq!(run("flag:TRUE"), [4]);
        assert_eq!(run("timestamp:1000"), [0, 1, 2, 3, 4, 5]);
    }

    #[test]
    fn intrinsic_names_are_case_insensitive() {
        assert_eq!(run("status_code:ERROR"), [2, 5]);
        assert_eq!(run("status:2"), [2, 5]);
        assert_eq!(run("span_kind:Server"), [0]);
        assert_eq!(run("kind:client"), [2, 3]);
        assert_eq!(run("has_errors:true"), [2, 5]);
        assert_eq!(run("has_error:false"), [0, 1, 3, 4]);
        assert_eq!(run("span_id:0000000000000003"), [3]);
        assert_eq!(run("parent_span_id:0000000000000001"), [2, 3]);
    }

    #[test]
    fn scopes_negation_and_exists() {
        assert_eq!(run("db.system:postgresql"), [2, 3]);
        assert_eq!(run("db.system:mysql"), [4]); // unscoped looks in the resource too
        assert_eq!(run("span.db.system:mysql"), Vec::<usize>::new());
        assert_eq!(run("resource.db.system:mysql"), [4]);
        assert_eq!(run("resource.host.name:web-1"), [0]);
        assert_eq!(run("db.system EXISTS"), [2, 3, 4]);
        assert_eq!(run("db.system NOT EXISTS"), [0, 1, 5]);
        assert_eq!(run("db.system!=postgresql"), [0, 1, 4, 5]); // missing counts as "not equal"
        assert_eq!(run("service:(frontend OR nope)"), [0, 4]);
        assert_eq!(run("service!=(frontend OR cart)"), Vec::<usize>::new());
        assert_eq!(run("NOT service:cart"), [0, 4]);
        assert_eq!(run("parent_span_id NOT EXISTS"), [0]);
        assert_eq!(run("environment EXISTS"), Vec::<usize>::new()); // empty intrinsic
        assert_eq!(run("service:cart kind:client OR duration>900ms"), [2, 3, 5]);
    }

    #[test]
    fn event_link_and_instrumentation_scopes() {
        let none = Vec::<usize>::new();
        for (q, want) in [
            // any event may satisfy the predicate
            ("event.retry.count=3", vec![0]),
            ("event.retry.count:1", vec![0]),
            ("event.retry.count>1", vec![0, 2]), // text "2" compares as a number
            ("event.retry.count>=5", none.clone()),
            // each predicate picks its own event
            ("event.retry.count=1 event.retry.count=3", vec![0]),
            // `!=` and NOT: no event has the value (spans without events included)
            ("event.retry.count!=1", vec![1, 2, 3, 4, 5]),
            ("NOT event.retry.count:3", vec![1, 2, 3, 4, 5]),
            ("event.retry.count!=3 event.retry.count EXISTS", vec![2]),
            ("event.retry.count EXISTS", vec![0, 2]),
            ("event.retry.count NOT EXISTS", vec![1, 3, 4, 5]),
            ("event.cache:miss", vec![0]),
            ("event.cache:*I*", vec![0, 4]),
            ("event.cache:(hit OR miss)", vec![0, 4]),
            ("event.exception.type:TimeoutError", vec![2]),
            ("event.exception.type:/out/", vec![2]),
            ("link.hops>4", vec![3]),
            ("link.hops<2", vec![3]),
            ("link.hops=2", vec![2]),
            ("link.hops!=2", vec![0, 1, 3, 4, 5]),
            ("link.hops EXISTS", vec![2, 3]),
            ("link.link.kind:follows", vec![2]),
            ("link.kind:follows", none.clone()),
            ("instrumentation.lib.tier:web", vec![0]),
            ("instrumentation.lib.tier:/^r/", vec![4]),
            ("instrumentation.lib.tier!=web", vec![1, 2, 3, 4, 5]),
            ("instrumentation.lib.tier EXISTS", vec![0, 4]),
            // unscoped keys and the other scopes never look into events, links or scopes
            ("retry.count EXISTS", none.clone()),
            ("cache:miss", none.clone()),
            ("span.hops EXISTS", none.clone()),
            ("lib.tier:web", none),
            // structure and pipelines read them too
            ("{event.cache:miss} >> {link.hops EXISTS}", vec![2, 3]),
            ("{} | by(event.cache) | count() = 1", vec![0, 4]),
            ("{} | sum(link.hops) = 7", vec![0, 1, 2, 3, 4, 5]), // first link of 3 counts
        ] {
            assert_eq!(run(q), want, "{q}");
        }
    }

    #[test]
    fn structural_operators() {
        assert_eq!(run("{service:frontend} > {service:cart}"), [1]);
        assert_eq!(run("{service:frontend} >> {db.system:postgresql}"), [2, 3]);
        assert_eq!(run("{service:frontend} >> {status_code:error}"), [2]); // 5 is an orphan
        assert_eq!(run("{kind:client} < {}"), [1]);
        assert_eq!(run("{kind:client} << {}"), [0, 1]);
        assert_eq!(run("{name:\"SELECT orders\"} ~ {}"), [3]);
        assert_eq!(run("{kind:client} ~ {kind:client}"), [2, 3]);
        assert_eq!(run("{render} ~ {}"), [1]);
        assert_eq!(run("{late} ~ {}"), Vec::<usize>::new()); // no parent, no siblings
        assert_eq!(run("{kind:server} && {status_code:error}"), [0, 2, 5]);
        assert_eq!(run("{kind:server} && {nope}"), Vec::<usize>::new());
        assert_eq!(run("{nope} || {render}"), [4]);
        assert_eq!(run("{kind:server} > {kind:client}"), Vec::<usize>::new());
        assert_eq!(run("{kind:server} > {} > {kind:client}"), [2, 3]);
        assert_eq!(run("{}"), [0, 1, 2, 3, 4, 5]);
        assert_eq!(run("{service:cart kind:server}"), Vec::<usize>::new());
    }

    #[test]
    fn pipelines() {
        assert_eq!(run("{status_code:error} | count() > 1"), [2, 5]);
        assert_eq!(
            run("{status_code:error} | count() > 3"),
            Vec::<usize>::new()
        );
        assert_eq!(run("{} | count() = 6"), [0, 1, 2, 3, 4, 5]);
        assert_eq!(run("{nope} | count() < 1"), Vec::<usize>::new()); // empty never survives
        assert_eq!(run("{service:frontend} | avg(duration) > 250ms"), [0, 4]); // avg 260ms
        assert_eq!(
            run("{service:frontend} | avg(duration) > 300ms"),
            Vec::<usize>::new()
        );
        assert_eq!(run("{} | max(duration) >= 1s"), [0, 1, 2, 3, 4, 5]);
        assert_eq!(run("{} | min(duration) = 20ms"), [0, 1, 2, 3, 4, 5]);
        assert_eq!(run("{} | sum(db.rows) = 12"), [0, 1, 2, 3, 4, 5]);
        assert_eq!(run("{} | sum(no.such.attr) > 0"), Vec::<usize>::new());
        // grouped: only cart's spans have an average over 300ms (1550/4 = 387.5ms)
        assert_eq!(run("{} | avg(duration) by (service) > 300ms"), [1, 2, 3, 5]);
        assert_eq!(run("{} | by(service) | count() > 2"), [1, 2, 3, 5]);
        assert_eq!(run("{} | by(service, kind) | count() = 2"), [1, 2, 3, 5]);
        assert_eq!(
            run("{status_code:error} | by(service) | count() > 1"),
            [2, 5]
        );
        assert_eq!(
            run("({kind:client} | count() > 1) && {kind:server}"),
            [0, 2, 3]
        );
        assert_eq!(run("{kind:server} > ({} | count() > 1)"), [1, 4]);
    }

    #[test]
    fn broken_trees_are_safe() {
        // a cycle and a self-parent must not loop
        let mut a = span(1, Some(2), "a", "x", 1);
        a.kind = "server";
        let b = span(2, Some(1), "b", "x", 1);
        let c = span(3, Some(3), "c", "x", 1);
        let spans = vec![a, b, c];
        for q in ["{} >> {}", "{} << {}", "{} ~ {}", "{} > {}", "{} < {}"] {
            let p = plan(&parse(q).unwrap_or(crate::Query::Filter(None)));
            let _ = eval_plan(&p, &spans);
        }
        let p = plan(&parse("{kind:server} >> {b}").unwrap_or(crate::Query::Filter(None)));
        assert_eq!(eval_plan(&p, &spans), [1]);
        let empty: Vec<TestSpan> = Vec::new();
        assert!(eval_plan(&p, &empty).is_empty());
    }

    #[test]
    fn attr_value_text_and_numbers() {
        assert_eq!(AttrValue::Int(-3).as_text(), "-3");
        assert_eq!(AttrValue::Float(1.5).as_text(), "1.5");
        assert_eq!(AttrValue::Bool(true).as_text(), "true");
        assert_eq!(AttrValue::str(" 42 ").as_f64(), Some(42.0));
        assert_eq!(AttrValue::str("x").as_f64(), None);
        assert_eq!(AttrValue::str("FALSE").as_bool(), Some(false));
    }
}
