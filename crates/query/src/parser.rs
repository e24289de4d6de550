//! Recursive-descent parser from query text to the [`crate::ast`] tree.
//!
//! Grammar (see the crate README for the full description):
//!
//! ```text
//! query     := ε | filter | trace
//! filter    := or+                       -- juxtaposition is AND, binding loosest
//! or        := and (("OR" | "||") and)*
//! and       := not (("AND" | "&&") not)*
//! not       := "NOT" not | "(" filter ")" | term
//! term      := key op valexpr | key "EXISTS" | key "NOT" "EXISTS" | value
//! valexpr   := "NOT" valexpr | "(" group ")" | value
//! group     := gand (("OR" | "||") gand)* ; gand := gnot (("AND" | "&&") gnot)*
//! gnot      := "NOT" gnot | "(" group ")" | value
//! trace     := tor ("|" stage)*
//! tor       := tand ("||" tand)* ; tand := rel ("&&" rel)*
//! rel       := prim ((">" | ">>" | "<" | "<<" | "~") prim)*
//! prim      := "{" filter? "}" | "(" trace ")"
//! stage     := "by" "(" keys ")" | agg "(" key? ")" ("by" "(" keys ")")? cmp number
//! ```
//!
//! The parser never panics; nesting deeper than [`MAX_DEPTH`], more than [`MAX_TERMS`] terms
//! and values, and more than [`MAX_GROUP_KEYS`] keys in one `by(…)` are errors, so that what a
//! store compiles and evaluates from a query is bounded.

use crate::ast::{
    AggFunc, CompareOp, Expr, Query, SpansetOp, Stage, Term, TraceExpr, Value, ValueExpr,
};
use crate::error::ParseError;
use crate::lexer::{
    DURATION_UNITS, DurationLit, Mode, Token, TokenKind, lex_at, parse_duration, parse_number,
};
use crate::plan::{
    Field, IntrinsicKind, Scope, Target, bool_value, kind_name, resolve_key, short_alias,
    status_name,
};

/// Deepest nesting of parentheses, braces, `NOT`s and spanset operators accepted.
pub const MAX_DEPTH: usize = 128;

/// Most search terms and values one query may hold (`a b c` is three, `service:(a OR b)`
/// two): enough for any query written by hand or built by a UI, small enough that compiling
/// and evaluating it stays cheap.
pub const MAX_TERMS: usize = 1000;

/// Most keys one `by(…)` (or aggregate `… by(…)`) groups by.
pub const MAX_GROUP_KEYS: usize = 32;

/// Largest compiled size of a regular expression in a query, in bytes.
pub const REGEX_SIZE_LIMIT: usize = 1 << 20;

/// Parses a query.
///
/// An empty (or all-whitespace) query is `Query::Filter(None)`, which matches everything.
/// A query whose first token (after any `(`) is `{` is a trace-structure query.
///
/// ```
/// use tracehouse_query::{parse, ast::Query};
/// let q = parse("service:cart method:GET OR method:POST").unwrap();
/// assert!(matches!(q, Query::Filter(Some(_))));
/// assert_eq!(q.to_string(), "service:cart AND (method:GET OR method:POST)");
/// let e = parse("service:").unwrap_err();
/// assert_eq!(e.message, "expected a value after `service:`");
/// assert_eq!((e.start, e.end), (8, 8));
/// ```
pub fn parse(q: &str) -> Result<Query, ParseError> {
    let mut p = Parser {
        src: q,
        pos: 0,
        depth: 0,
        terms: 0,
    };
    p.query()
}

/// Compiles a regex the way queries use it (size-limited), for checks and evaluation.
pub fn compile_regex(pattern: &str) -> Result<regex::Regex, regex::Error> {
    regex::RegexBuilder::new(pattern)
        .size_limit(REGEX_SIZE_LIMIT)
        .dfa_size_limit(REGEX_SIZE_LIMIT)
        .nest_limit(MAX_DEPTH as u32)
        .build()
}

struct Parser<'a> {
    src: &'a str,
    pos: usize,
    depth: usize,
    /// Terms and values read so far (see [`MAX_TERMS`]).
    terms: usize,
}

type PResult<T> = Result<T, ParseError>;

fn err(message: impl Into<String>, start: usize, end: usize) -> ParseError {
    ParseError::new(message, start, end)
}

/// Describes a token for "found …" parts of messages.
fn found(t: &Token) -> String {
    t.kind.describe()
}

impl<'a> Parser<'a> {
    fn peek(&self, mode: Mode) -> PResult<Token> {
        lex_at(self.src, self.pos, mode)
    }

    fn peek_after(&self, t: &Token, mode: Mode) -> PResult<Token> {
        lex_at(self.src, t.end, mode)
    }

    fn bump(&mut self, t: &Token) {
        self.pos = t.end;
    }

    fn enter(&mut self, at: &Token) -> PResult<()> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(err(
                format!("the query nests too deeply (more than {MAX_DEPTH} levels)"),
                at.start,
                at.end,
            ));
        }
        Ok(())
    }

    /// Counts one more term or value, refusing the query past [`MAX_TERMS`].
    fn count_term(&mut self, at: &Token) -> PResult<()> {
        self.terms += 1;
        if self.terms > MAX_TERMS {
            return Err(err(
                format!(
                    "the query has more than {MAX_TERMS} terms and values; split it or use a regex or glob to match many values"
                ),
                at.start,
                at.end,
            ));
        }
        Ok(())
    }

    fn leave(&mut self) {
        self.depth = self.depth.saturating_sub(1);
    }

    fn query(&mut self) -> PResult<Query> {
        // A query is structural when its first token after any `(` is `{`.
        let mut pos = self.pos;
        let structural = loop {
            let t = lex_at(self.src, pos, Mode::Normal)?;
            match t.kind {
                TokenKind::LParen => pos = t.end,
                TokenKind::LBrace => break true,
                _ => break false,
            }
        };
        if structural {
            let (t, _) = self.trace_pipeline()?;
            let next = self.peek(Mode::Normal)?;
            match next.kind {
                TokenKind::Eof => Ok(Query::Trace(t)),
                TokenKind::RParen => Err(err(
                    "unexpected `)`: no `(` is open here",
                    next.start,
                    next.end,
                )),
                _ => Err(err(
                    format!(
                        "expected an operator between spansets or a `|` pipeline, found {}",
                        found(&next)
                    ),
                    next.start,
                    next.end,
                )
                .expecting(["`&&`", "`||`", "`>`", "`>>`", "`<`", "`<<`", "`~`", "`|`"])),
            }
        } else {
            let e = self.filter_seq()?;
            let next = self.peek(Mode::Normal)?;
            match next.kind {
                TokenKind::Eof => Ok(Query::Filter(e)),
                TokenKind::RParen => Err(err(
                    "unexpected `)`: there is no `(` for it to close",
                    next.start,
                    next.end,
                )),
                TokenKind::RBrace => Err(err(
                    "unexpected `}`: there is no `{` for it to close",
                    next.start,
                    next.end,
                )),
                TokenKind::LBrace => Err(err(
                    "a spanset `{…}` can't be mixed with a plain filter: put the filter inside braces, e.g. `{ service:cart } >> { … }`",
                    next.start,
                    next.end,
                )),
                TokenKind::Pipe => Err(err(
                    "a pipeline needs a spanset before `|`, e.g. `{ status_code:error } | count() > 3`",
                    next.start,
                    next.end,
                )
                .expecting(["`{`"])),
                _ => Err(err(format!("unexpected {}", found(&next)), next.start, next.end)),
            }
        }
    }

    // ---------------------------------------------------------------- filters

    /// A sequence of terms joined by implicit AND, up to a token that cannot start a term.
    fn filter_seq(&mut self) -> PResult<Option<Expr>> {
        let mut items = Vec::new();
        loop {
            let t = self.peek(Mode::Normal)?;
            if matches!(
                t.kind,
                TokenKind::Eof
                    | TokenKind::RParen
                    | TokenKind::RBrace
                    | TokenKind::LBrace
                    | TokenKind::Pipe
            ) {
                break;
            }
            let (e, flat) = self.or_expr()?;
            match e {
                Expr::And(inner) if flat => items.extend(inner),
                other => items.push(other),
            }
        }
        Ok(match items.len() {
            0 => None,
            1 => items.pop(),
            _ => Some(Expr::And(items)),
        })
    }

    /// Returns the expression and whether it is an `AND` chain that may be flattened
    /// into an enclosing implicit AND.
    fn or_expr(&mut self) -> PResult<(Expr, bool)> {
        let first = self.and_expr()?;
        let mut items = Vec::new();
        loop {
            let t = self.peek(Mode::Normal)?;
            if !matches!(t.kind, TokenKind::Or | TokenKind::OrOr) {
                break;
            }
            self.bump(&t);
            self.expect_term_after(&t)?;
            items.push(self.and_expr()?.0);
        }
        if items.is_empty() {
            return Ok(first);
        }
        items.insert(0, first.0);
        Ok((Expr::Or(items), false))
    }

    fn and_expr(&mut self) -> PResult<(Expr, bool)> {
        let first = self.not_expr()?;
        let mut items = vec![first];
        loop {
            let t = self.peek(Mode::Normal)?;
            if !matches!(t.kind, TokenKind::And | TokenKind::AndAnd) {
                break;
            }
            self.bump(&t);
            self.expect_term_after(&t)?;
            items.push(self.not_expr()?);
        }
        if items.len() == 1 {
            return Ok((items.pop().unwrap_or(Expr::And(Vec::new())), false));
        }
        Ok((Expr::And(items), true))
    }

    /// After a binary keyword: the next token must be able to start a term.
    fn expect_term_after(&self, op: &Token) -> PResult<()> {
        let t = self.peek(Mode::Normal)?;
        match t.kind {
            TokenKind::Eof | TokenKind::RParen | TokenKind::RBrace | TokenKind::Pipe => Err(err(
                format!("expected a search term after `{}`", op.kind.symbol()),
                t.start,
                t.start,
            )
            .expecting(["a search term"])),
            _ => Ok(()),
        }
    }

    fn not_expr(&mut self) -> PResult<Expr> {
        let t = self.peek(Mode::Normal)?;
        if t.kind == TokenKind::Not {
            self.bump(&t);
            self.expect_term_after(&t)?;
            self.enter(&t)?;
            let inner = self.not_expr()?;
            self.leave();
            return Ok(Expr::Not(Box::new(inner)));
        }
        self.primary()
    }

    fn primary(&mut self) -> PResult<Expr> {
        let t = self.peek(Mode::Normal)?;
        match &t.kind {
            TokenKind::LParen => {
                self.bump(&t);
                self.enter(&t)?;
                let inner = self.filter_seq()?;
                let close = self.peek(Mode::Normal)?;
                if close.kind != TokenKind::RParen {
                    return Err(self.unclosed(&t, &close, "(", ")"));
                }
                self.bump(&close);
                self.leave();
                inner.ok_or_else(|| {
                    err(
                        "empty parentheses: put a search term inside",
                        t.start,
                        close.end,
                    )
                    .expecting(["a search term"])
                })
            }
            TokenKind::Word(_) | TokenKind::Str(_) | TokenKind::Regex(_) => self.keyed_or_text(t),
            TokenKind::And | TokenKind::Or | TokenKind::AndAnd | TokenKind::OrOr => Err(err(
                format!(
                    "expected a search term before `{}`; to search for the word, quote it",
                    t.kind.symbol()
                ),
                t.start,
                t.end,
            )
            .expecting(["a search term"])),
            TokenKind::Exists => Err(err(
                "EXISTS needs a key before it, e.g. `http.route EXISTS`",
                t.start,
                t.end,
            )
            .expecting(["a key"])),
            k if k.is_comparison() => Err(err(
                format!("expected a key before `{}`", k.symbol()),
                t.start,
                t.end,
            )
            .expecting(["a key"])),
            TokenKind::LBrace => Err(err(
                "a spanset `{…}` can't be mixed with a plain filter: put the filter inside braces, e.g. `{ service:cart } >> { … }`",
                t.start,
                t.end,
            )),
            TokenKind::GtGt | TokenKind::LtLt | TokenKind::Tilde => Err(err(
                format!(
                    "`{}` relates spansets: write it between braces, e.g. `{{ service:a }} {} {{ service:b }}`",
                    t.kind.symbol(),
                    t.kind.symbol()
                ),
                t.start,
                t.end,
            )),
            _ => Err(err(format!("unexpected {}", found(&t)), t.start, t.end)
                .expecting(["a search term"])),
        }
    }

    fn unclosed(&self, open: &Token, at: &Token, o: &str, c: &str) -> ParseError {
        if at.kind == TokenKind::Eof {
            err(format!("this `{o}` is never closed"), open.start, open.end)
                .expecting([format!("`{c}`")])
        } else {
            err(
                format!(
                    "expected `{c}` to close the `{o}` at {}, found {}",
                    open.start,
                    found(at)
                ),
                at.start,
                at.end,
            )
            .expecting([format!("`{c}`")])
        }
    }

    /// A word or string: a key if an operator or EXISTS follows, else a text search.
    fn keyed_or_text(&mut self, t: Token) -> PResult<Expr> {
        // A regex-shaped word followed by an operator is a key spelled `/…/`.
        let (text, kind) = match &t.kind {
            TokenKind::Word(w) => (w.clone(), Some(false)),
            TokenKind::Str(s) => (s.clone(), Some(true)),
            TokenKind::Regex(re) => (format!("/{re}/"), None),
            _ => return Err(err("expected a key or search term", t.start, t.end)),
        };
        let next = self.peek_after(&t, Mode::Normal)?;
        if next.kind.is_comparison() {
            if text.is_empty() {
                return Err(err("the key is empty", t.start, t.end).expecting(["a key"]));
            }
            self.bump(&next);
            let op = compare_op(&next.kind);
            let ctx = KeyCtx {
                key: &text,
                op,
                op_end: next.end,
                key_start: t.start,
            };
            let value = self.value_expr(&ctx)?;
            return Ok(Expr::Term(Term::Compare {
                key: text,
                op,
                value,
            }));
        }
        self.count_term(&t)?;
        if next.kind == TokenKind::Exists {
            self.bump(&next);
            return Ok(Expr::Term(Term::Exists {
                key: text,
                negated: false,
            }));
        }
        if next.kind == TokenKind::Not {
            let third = self.peek_after(&next, Mode::Normal)?;
            if third.kind == TokenKind::Exists {
                self.bump(&third);
                return Ok(Expr::Term(Term::Exists {
                    key: text,
                    negated: true,
                }));
            }
        }
        let value = match (kind, &t.kind) {
            (Some(true), _) => Value::Quoted(text),
            (Some(false), _) => Value::Word(text),
            (None, TokenKind::Regex(re)) => {
                self.check_regex(re, &t)?;
                Value::Regex(re.clone())
            }
            (None, _) => Value::Word(text),
        };
        self.bump(&t);
        Ok(Expr::Term(Term::Text(value)))
    }

    fn value_expr(&mut self, ctx: &KeyCtx<'_>) -> PResult<ValueExpr> {
        let t = self.peek(Mode::Value)?;
        match t.kind {
            TokenKind::Not => {
                self.bump(&t);
                self.enter(&t)?;
                let inner = self.value_expr(ctx)?;
                self.leave();
                Ok(ValueExpr::Not(Box::new(inner)))
            }
            TokenKind::LParen => self.value_group(ctx, &t),
            _ => Ok(ValueExpr::Value(self.value_leaf(ctx)?)),
        }
    }

    fn value_group(&mut self, ctx: &KeyCtx<'_>, open: &Token) -> PResult<ValueExpr> {
        self.bump(open);
        self.enter(open)?;
        let inner = self.group_or(ctx)?;
        let close = self.peek(Mode::Value)?;
        match close.kind {
            TokenKind::RParen => {}
            TokenKind::Word(_) | TokenKind::Str(_) | TokenKind::Regex(_) | TokenKind::LParen => {
                return Err(err(
                    "inside a value group, join values with AND or OR",
                    close.start,
                    close.end,
                )
                .expecting(["AND", "OR", "`)`"]));
            }
            _ => return Err(self.unclosed(open, &close, "(", ")")),
        }
        self.bump(&close);
        self.leave();
        Ok(inner)
    }

    fn group_or(&mut self, ctx: &KeyCtx<'_>) -> PResult<ValueExpr> {
        let mut items = vec![self.group_and(ctx)?];
        loop {
            let t = self.peek(Mode::Value)?;
            if !matches!(t.kind, TokenKind::Or | TokenKind::OrOr) {
                break;
            }
            self.bump(&t);
            items.push(self.group_and(ctx)?);
        }
        Ok(if items.len() == 1 {
            items.pop().unwrap_or(ValueExpr::Or(Vec::new()))
        } else {
            ValueExpr::Or(items)
        })
    }

    fn group_and(&mut self, ctx: &KeyCtx<'_>) -> PResult<ValueExpr> {
        let mut items = vec![self.group_not(ctx)?];
        loop {
            let t = self.peek(Mode::Value)?;
            if !matches!(t.kind, TokenKind::And | TokenKind::AndAnd) {
                break;
            }
            self.bump(&t);
            items.push(self.group_not(ctx)?);
        }
        Ok(if items.len() == 1 {
            items.pop().unwrap_or(ValueExpr::And(Vec::new()))
        } else {
            ValueExpr::And(items)
        })
    }

    fn group_not(&mut self, ctx: &KeyCtx<'_>) -> PResult<ValueExpr> {
        let t = self.peek(Mode::Value)?;
        match t.kind {
            TokenKind::Not => {
                self.bump(&t);
                self.enter(&t)?;
                let inner = self.group_not(ctx)?;
                self.leave();
                Ok(ValueExpr::Not(Box::new(inner)))
            }
            TokenKind::LParen => self.value_group(ctx, &t),
            _ => Ok(ValueExpr::Value(self.value_leaf(ctx)?)),
        }
    }

    fn value_leaf(&mut self, ctx: &KeyCtx<'_>) -> PResult<Value> {
        let t = self.peek(Mode::Value)?;
        self.count_term(&t)?;
        let v = match &t.kind {
            TokenKind::Word(w) => Value::Word(w.clone()),
            TokenKind::Str(s) => Value::Quoted(s.clone()),
            TokenKind::Regex(r) => Value::Regex(r.clone()),
            TokenKind::And | TokenKind::Or | TokenKind::Exists | TokenKind::Not => {
                let word = &self.src[t.start..t.end];
                return Err(err(
                    format!(
                        "expected a value after `{}{}`; to match the word `{word}`, quote it: \"{word}\"",
                        ctx.key,
                        ctx.op.symbol()
                    ),
                    t.start,
                    t.end,
                )
                .expecting(["a value"]));
            }
            TokenKind::Eof => {
                return Err(err(
                    format!("expected a value after `{}{}`", ctx.key, ctx.op.symbol()),
                    t.start,
                    t.start,
                )
                .expecting(["a value"]));
            }
            _ => {
                return Err(err(
                    format!(
                        "expected a value after `{}{}`, found {}",
                        ctx.key,
                        ctx.op.symbol(),
                        found(&t)
                    ),
                    t.start,
                    t.end,
                )
                .expecting(["a value"]));
            }
        };
        self.check_value(ctx, &v, &t)?;
        self.bump(&t);
        Ok(v)
    }

    fn check_regex(&self, re: &str, t: &Token) -> PResult<()> {
        compile_regex(re).map(|_| ()).map_err(|e| {
            let detail = e.to_string();
            let last = detail
                .lines()
                .rev()
                .find(|l| !l.trim().is_empty())
                .unwrap_or("");
            err(
                format!(
                    "invalid regular expression `/{re}/`: {}",
                    last.trim().trim_start_matches("error:").trim()
                ),
                t.start,
                t.end,
            )
        })
    }

    /// Checks a value against its key and operator (types, names, units, regex syntax).
    ///
    /// A short alias may read an attribute (see [`short_alias`]), so its values are checked
    /// as an attribute's; `""` (empty or absent) suits every key.
    fn check_value(&self, ctx: &KeyCtx<'_>, v: &Value, t: &Token) -> PResult<()> {
        if !ctx.op.is_ordering() && matches!(v, Value::Quoted(s) if s.is_empty()) {
            return Ok(());
        }
        let field = match short_alias(ctx.key, Target::Spans) {
            Some(_) => Field::Attr {
                scope: Scope::Any,
                key: ctx.key.to_string(),
            },
            None => resolve_key(ctx.key, Target::Spans),
        };
        let kind = match &field {
            Field::Intrinsic(i) => Some((i.name(), i.kind())),
            Field::Attr { .. } => None,
        };
        let numeric_field = matches!(
            kind,
            None | Some((_, IntrinsicKind::Duration | IntrinsicKind::Timestamp))
        );
        let (text, is_regex) = match v {
            Value::Regex(re) => {
                self.check_regex(re, t)?;
                (re.as_str(), true)
            }
            Value::Word(s) | Value::Quoted(s) => (s.as_str(), false),
        };
        let here = |msg: String| err(msg, t.start, t.end);
        if ctx.op.is_ordering() {
            if let Some((name, _)) = kind.filter(|_| !numeric_field) {
                return Err(err(
                    format!(
                        "`{name}` is not a number, so `{}` can't compare it; use `:` to match it",
                        ctx.op.symbol()
                    ),
                    ctx.key_start,
                    ctx.op_end,
                ));
            }
            if is_regex {
                return Err(here(format!(
                    "`{}` compares numbers and durations, not regular expressions",
                    ctx.op.symbol()
                ))
                .expecting(["a number", "a duration"]));
            }
            return self.check_number_or_duration(text, t, ctx.op.symbol());
        }
        let Some((name, kind)) = kind else {
            return Ok(());
        };
        let no_pattern = |what: &str| -> PResult<()> {
            if is_regex || text.contains('*') {
                return Err(here(format!(
                    "`{name}` holds {what}; wildcards and regular expressions don't apply"
                )));
            }
            Ok(())
        };
        match kind {
            IntrinsicKind::Duration => {
                no_pattern("a duration")?;
                self.check_number_or_duration(text, t, ctx.op.symbol())
            }
            IntrinsicKind::Timestamp => {
                no_pattern("a number")?;
                match parse_number(text) {
                    Some(_) => Ok(()),
                    None => Err(here(format!(
                        "`{name}` takes nanoseconds since the Unix epoch, not `{text}`"
                    ))
                    .expecting(["a number"])),
                }
            }
            IntrinsicKind::Bool => {
                no_pattern("true or false")?;
                match bool_value(text) {
                    Some(_) => Ok(()),
                    None => Err(here(format!("`{name}` is true or false, not `{text}`"))
                        .expecting(["true", "false"])),
                }
            }
            IntrinsicKind::Status if !is_regex && !text.contains('*') => {
                match status_name(text) {
                    Some(_) => Ok(()),
                    None => Err(here(format!("unknown status `{text}`"))
                        .expecting(["unset", "ok", "error"])),
                }
            }
            IntrinsicKind::Kind if !is_regex && !text.contains('*') => match kind_name(text) {
                Some(_) => Ok(()),
                None => Err(here(format!("unknown span kind `{text}`")).expecting([
                    "server",
                    "client",
                    "producer",
                    "consumer",
                    "internal",
                    "unspecified",
                ])),
            },
            _ => Ok(()),
        }
    }

    fn check_number_or_duration(&self, text: &str, t: &Token, what: &str) -> PResult<()> {
        match parse_duration(text) {
            DurationLit::Nanos(_) => Ok(()),
            DurationLit::BadUnit(unit) => Err(err(
                format!("unknown duration unit `{unit}` in `{text}`"),
                t.start,
                t.end,
            )
            .expecting(DURATION_UNITS)),
            DurationLit::TooLarge => Err(err(
                format!("the duration `{text}` is too large"),
                t.start,
                t.end,
            )),
            DurationLit::NotDuration if parse_number(text).is_some() => Ok(()),
            DurationLit::NotDuration => Err(err(
                format!("`{what}` needs a number or a duration such as 250ms, not `{text}`"),
                t.start,
                t.end,
            )
            .expecting(["a number", "a duration"])),
        }
    }

    // ---------------------------------------------------------------- trace structure

    /// Returns the expression and its height (for the depth limit).
    fn trace_pipeline(&mut self) -> PResult<(TraceExpr, usize)> {
        let (input, h) = self.trace_or()?;
        let mut stages = Vec::new();
        loop {
            let t = self.peek(Mode::Normal)?;
            if t.kind != TokenKind::Pipe {
                break;
            }
            self.bump(&t);
            stages.push(self.stage()?);
        }
        if stages.is_empty() {
            return Ok((input, h));
        }
        Ok((
            TraceExpr::Pipeline {
                input: Box::new(input),
                stages,
            },
            h + 1,
        ))
    }

    fn binary_chain(
        &mut self,
        next: fn(&mut Self) -> PResult<(TraceExpr, usize)>,
        op_of: fn(&TokenKind) -> Option<SpansetOp>,
    ) -> PResult<(TraceExpr, usize)> {
        let (mut lhs, mut h) = next(self)?;
        loop {
            let t = self.peek(Mode::Normal)?;
            let Some(op) = op_of(&t.kind) else { break };
            self.bump(&t);
            let (rhs, rh) = next(self)?;
            h = h.max(rh) + 1;
            if h + self.depth > MAX_DEPTH {
                return Err(err(
                    format!("the query nests too deeply (more than {MAX_DEPTH} levels)"),
                    t.start,
                    t.end,
                ));
            }
            lhs = TraceExpr::Binary {
                op,
                lhs: Box::new(lhs),
                rhs: Box::new(rhs),
            };
        }
        Ok((lhs, h))
    }

    fn trace_or(&mut self) -> PResult<(TraceExpr, usize)> {
        self.binary_chain(Self::trace_and, |k| {
            (*k == TokenKind::OrOr).then_some(SpansetOp::Or)
        })
    }

    fn trace_and(&mut self) -> PResult<(TraceExpr, usize)> {
        self.binary_chain(Self::trace_rel, |k| {
            (*k == TokenKind::AndAnd).then_some(SpansetOp::And)
        })
    }

    fn trace_rel(&mut self) -> PResult<(TraceExpr, usize)> {
        self.binary_chain(Self::trace_primary, |k| match k {
            TokenKind::Gt => Some(SpansetOp::Child),
            TokenKind::GtGt => Some(SpansetOp::Descendant),
            TokenKind::Lt => Some(SpansetOp::Parent),
            TokenKind::LtLt => Some(SpansetOp::Ancestor),
            TokenKind::Tilde => Some(SpansetOp::Sibling),
            _ => None,
        })
    }

    fn trace_primary(&mut self) -> PResult<(TraceExpr, usize)> {
        let t = self.peek(Mode::Normal)?;
        match t.kind {
            TokenKind::LBrace => {
                self.bump(&t);
                self.enter(&t)?;
                let inner = self.filter_seq()?;
                let close = self.peek(Mode::Normal)?;
                if close.kind != TokenKind::RBrace {
                    return Err(self.unclosed(&t, &close, "{", "}"));
                }
                self.bump(&close);
                self.leave();
                Ok((TraceExpr::Spanset(inner), 1))
            }
            TokenKind::LParen => {
                self.bump(&t);
                self.enter(&t)?;
                let (inner, h) = self.trace_pipeline()?;
                let close = self.peek(Mode::Normal)?;
                if close.kind != TokenKind::RParen {
                    return Err(self.unclosed(&t, &close, "(", ")"));
                }
                self.bump(&close);
                self.leave();
                Ok((inner, h))
            }
            TokenKind::Eof => {
                Err(err("expected a spanset `{ … }`", t.start, t.start).expecting(["`{`", "`(`"]))
            }
            _ => Err(err(
                format!("expected a spanset `{{ … }}`, found {}", found(&t)),
                t.start,
                t.end,
            )
            .expecting(["`{`", "`(`"])),
        }
    }

    fn stage(&mut self) -> PResult<Stage> {
        const FUNCS: [&str; 6] = ["count()", "avg()", "min()", "max()", "sum()", "by()"];
        let t = self.peek(Mode::Normal)?;
        let name = match &t.kind {
            TokenKind::Word(w) => w.clone(),
            TokenKind::Eof => {
                return Err(
                    err("expected a pipeline function after `|`", t.start, t.start)
                        .expecting(FUNCS),
                );
            }
            _ => {
                return Err(err(
                    format!(
                        "expected a pipeline function after `|`, found {}",
                        found(&t)
                    ),
                    t.start,
                    t.end,
                )
                .expecting(FUNCS));
            }
        };
        if name.eq_ignore_ascii_case("by") {
            self.bump(&t);
            let keys = self.args("by")?;
            if keys.is_empty() {
                return Err(err(
                    "by() needs at least one key, e.g. by(service)",
                    t.start,
                    self.pos,
                )
                .expecting(["a key"]));
            }
            return Ok(Stage::By(keys));
        }
        let Some(func) = AggFunc::from_name(&name) else {
            return Err(err(
                format!("unknown pipeline function `{name}`"),
                t.start,
                t.end,
            )
            .expecting(FUNCS));
        };
        self.bump(&t);
        let args = self.args(func.name())?;
        let arg = match (func, args.len()) {
            (AggFunc::Count, 0) => None,
            (AggFunc::Count, _) => {
                return Err(err("count() takes no argument", t.start, self.pos));
            }
            (_, 1) => args.into_iter().next(),
            (f, _) => {
                return Err(err(
                    format!(
                        "{}() takes one field, e.g. {}(duration)",
                        f.name(),
                        f.name()
                    ),
                    t.start,
                    self.pos,
                )
                .expecting(["a field"]));
            }
        };
        // optional inline `by (keys)`
        let mut by = Vec::new();
        let next = self.peek(Mode::Normal)?;
        if matches!(&next.kind, TokenKind::Word(w) if w.eq_ignore_ascii_case("by")) {
            self.bump(&next);
            by = self.args("by")?;
            if by.is_empty() {
                return Err(err(
                    "by() needs at least one key, e.g. by(service)",
                    next.start,
                    self.pos,
                )
                .expecting(["a key"]));
            }
        }
        let op_tok = self.peek(Mode::Normal)?;
        let op = match op_tok.kind {
            TokenKind::Eq
            | TokenKind::Ne
            | TokenKind::Gt
            | TokenKind::Ge
            | TokenKind::Lt
            | TokenKind::Le => compare_op(&op_tok.kind),
            _ => {
                let at = if op_tok.kind == TokenKind::Eof {
                    op_tok.start
                } else {
                    op_tok.end
                };
                return Err(err(
                    format!(
                        "expected a comparison after `{}(…)`, e.g. `> 3`",
                        func.name()
                    ),
                    op_tok.start,
                    at,
                )
                .expecting(["`=`", "`!=`", "`>`", "`>=`", "`<`", "`<=`"]));
            }
        };
        self.bump(&op_tok);
        let v = self.peek(Mode::Value)?;
        let threshold = match &v.kind {
            TokenKind::Word(w) => w.clone(),
            _ => {
                let at = if v.kind == TokenKind::Eof {
                    v.start
                } else {
                    v.end
                };
                return Err(err(
                    format!("expected a number or duration after `{}`", op.symbol()),
                    v.start,
                    at,
                )
                .expecting(["a number", "a duration"]));
            }
        };
        self.check_number_or_duration(&threshold, &v, op.symbol())?;
        if func == AggFunc::Count && parse_number(&threshold).is_none() {
            return Err(err(
                format!("count() is compared with a number, not `{threshold}`"),
                v.start,
                v.end,
            )
            .expecting(["a number"]));
        }
        self.bump(&v);
        Ok(Stage::Aggregate {
            func,
            arg,
            by,
            op,
            threshold,
        })
    }

    /// `( key, key … )` after a function name.
    fn args(&mut self, name: &str) -> PResult<Vec<String>> {
        let open = self.peek(Mode::Args)?;
        if open.kind != TokenKind::LParen {
            return Err(err(
                format!("expected `(` after `{name}`"),
                open.start,
                if open.kind == TokenKind::Eof {
                    open.start
                } else {
                    open.end
                },
            )
            .expecting(["`(`"]));
        }
        self.bump(&open);
        let mut keys = Vec::new();
        loop {
            let t = self.peek(Mode::Args)?;
            match &t.kind {
                TokenKind::RParen => {
                    self.bump(&t);
                    return Ok(keys);
                }
                TokenKind::Word(k) | TokenKind::Str(k) if !k.is_empty() => {
                    if keys.len() == MAX_GROUP_KEYS {
                        return Err(err(
                            format!("`{name}` takes at most {MAX_GROUP_KEYS} keys"),
                            t.start,
                            t.end,
                        ));
                    }
                    self.bump(&t);
                    keys.push(k.clone());
                    let sep = self.peek(Mode::Args)?;
                    match sep.kind {
                        TokenKind::Comma => self.bump(&sep),
                        TokenKind::RParen => {}
                        _ => {
                            return Err(self
                                .unclosed(&open, &sep, "(", ")")
                                .expecting(["`,`", "`)`"]));
                        }
                    }
                }
                _ => {
                    return Err(self
                        .unclosed(&open, &t, "(", ")")
                        .expecting(["a key", "`)`"]));
                }
            }
        }
    }
}

struct KeyCtx<'k> {
    key: &'k str,
    op: CompareOp,
    op_end: usize,
    key_start: usize,
}

fn compare_op(k: &TokenKind) -> CompareOp {
    match k {
        TokenKind::Eq => CompareOp::Eq,
        TokenKind::Ne => CompareOp::Ne,
        TokenKind::Gt => CompareOp::Gt,
        TokenKind::Ge => CompareOp::Ge,
        TokenKind::Lt => CompareOp::Lt,
        TokenKind::Le => CompareOp::Le,
        _ => CompareOp::Colon,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ast::AggFunc;

    fn p(q: &str) -> Query {
        match parse(q) {
            Ok(x) => x,
            Err(e) => panic!("{q:?} failed: {e}"),
        }
    }
    fn f(q: &str) -> Expr {
        match p(q) {
            Query::Filter(Some(e)) => e,
            other => panic!("{q:?} is not a filter: {other:?}"),
        }
    }
    fn t(q: &str) -> TraceExpr {
        match p(q) {
            Query::Trace(t) => t,
            other => panic!("{q:?} is not structural: {other:?}"),
        }
    }
    fn cmp(key: &str, op: CompareOp, v: Value) -> Expr {
        Expr::Term(Term::Compare {
            key: key.into(),
            op,
            value: ValueExpr::Value(v),
        })
    }
    fn kv(key: &str, v: &str) -> Expr {
        cmp(key, CompareOp::Colon, word(v))
    }
    fn word(s: &str) -> Value {
        Value::Word(s.into())
    }
    fn text(s: &str) -> Expr {
        Expr::Term(Term::Text(word(s)))
    }
    fn vw(s: &str) -> ValueExpr {
        ValueExpr::Value(word(s))
    }
    fn err_of(q: &str) -> ParseError {
        match parse(q) {
            Err(e) => e,
            Ok(x) => panic!("{q:?} parsed: {x:?}"),
        }
    }

    #[test]
    fn empty_query_matches_everything() {
        assert_eq!(p(""), Query::Filter(None));
        assert_eq!(p("   \t\n"), Query::Filter(None));
    }

    #[test]
    fn every_operator() {
        for (sym, op) in [
            (":", CompareOp::Colon),
            ("=", CompareOp::Eq),
            ("!=", CompareOp::Ne),
            (">", CompareOp::Gt),
            (">=", CompareOp::Ge),
            ("<", CompareOp::Lt),
            ("<=", CompareOp::Le),
        ] {
            assert_eq!(
                f(&format!("http.status{sym}500")),
                cmp("http.status", op, word("500"))
            );
            // whitespace around the operator is allowed
            assert_eq!(
                f(&format!("http.status {sym} 500")),
                cmp("http.status", op, word("500"))
            );
        }
    }

    #[test]
    fn quoting_styles() {
        for q in [r#"name:"a b""#, "name:'a b'", "name:`a b`"] {
            assert_eq!(
                f(q),
                cmp("name", CompareOp::Colon, Value::Quoted("a b".into())),
                "{q}"
            );
        }
        assert_eq!(
            f(r#"msg:"say \"hi\"""#),
            cmp("msg", CompareOp::Colon, Value::Quoted("say \"hi\"".into()))
        );
        assert_eq!(
            f(r"msg:`a\`b`"),
            cmp("msg", CompareOp::Colon, Value::Quoted("a`b".into()))
        );
        assert_eq!(
            f(r"msg:'it\'s'"),
            cmp("msg", CompareOp::Colon, Value::Quoted("it's".into()))
        );
        assert_eq!(
            f(r#""quoted key":v"#),
            cmp("quoted key", CompareOp::Colon, word("v"))
        );
        assert_eq!(
            f(r#""just text""#),
            Expr::Term(Term::Text(Value::Quoted("just text".into())))
        );
    }

    #[test]
    fn keywords_are_case_insensitive() {
        let expect = Expr::Or(vec![
            Expr::And(vec![text("a"), text("b")]),
            Expr::Not(Box::new(text("c"))),
        ]);
        for q in [
            "a AND b OR NOT c",
            "a and b or not c",
            "a And b oR nOt c",
            "a && b || NOT c",
        ] {
            assert_eq!(f(q), expect, "{q}");
        }
        assert_eq!(
            f("k exists"),
            Expr::Term(Term::Exists {
                key: "k".into(),
                negated: false
            })
        );
        assert_eq!(
            f("k not Exists"),
            Expr::Term(Term::Exists {
                key: "k".into(),
                negated: true
            })
        );
    }

    #[test]
    fn implicit_and_binds_loosest() {
        // DESIGN §6: cart AND (GET OR POST)
        assert_eq!(
            f("service:cart method:GET OR method:POST"),
            Expr::And(vec![
                kv("service", "cart"),
                Expr::Or(vec![kv("method", "GET"), kv("method", "POST")]),
            ])
        );
        // a AND b OR c = (a AND b) OR c
        assert_eq!(
            f("a AND b OR c"),
            Expr::Or(vec![Expr::And(vec![text("a"), text("b")]), text("c")])
        );
        // a b OR c = a AND (b OR c)
        assert_eq!(
            f("a b OR c"),
            Expr::And(vec![text("a"), Expr::Or(vec![text("b"), text("c")])])
        );
        // explicit AND chains merge into the implicit AND
        assert_eq!(
            f("a AND b c"),
            Expr::And(vec![text("a"), text("b"), text("c")])
        );
        assert_eq!(
            f("fs statSync"),
            Expr::And(vec![text("fs"), text("statSync")])
        );
    }

    #[test]
    fn not_binds_tighter_than_and() {
        assert_eq!(
            f("NOT a AND b"),
            Expr::And(vec![Expr::Not(Box::new(text("a"))), text("b")])
        );
        assert_eq!(
            f("NOT (a AND b)"),
            Expr::Not(Box::new(Expr::And(vec![text("a"), text("b")])))
        );
        assert_eq!(
            f("NOT NOT a"),
            Expr::Not(Box::new(Expr::Not(Box::new(text("a")))))
        );
        assert_eq!(
            f("NOT k EXISTS"),
            Expr::Not(Box::new(Expr::Term(Term::Exists {
                key: "k".into(),
                negated: false
            })))
        );
    }

    #[test]
    fn parentheses_keep_their_grouping() {
        assert_eq!(
            f("(a AND b) AND c"),
            Expr::And(vec![Expr::And(vec![text("a"), text("b")]), text("c")])
        );
        assert_eq!(
            f("(a OR b) (c OR d)"),
            Expr::And(vec![
                Expr::Or(vec![text("a"), text("b")]),
                Expr::Or(vec![text("c"), text("d")])
            ])
        );
        assert_eq!(f("((a))"), text("a"));
    }

    #[test]
    fn value_groups() {
        let g = |value| {
            Expr::Term(Term::Compare {
                key: "k".into(),
                op: CompareOp::Colon,
                value,
            })
        };
        assert_eq!(f("k:(a OR b)"), g(ValueExpr::Or(vec![vw("a"), vw("b")])));
        assert_eq!(
            f("k:(a OR b AND NOT c)"),
            g(ValueExpr::Or(vec![
                vw("a"),
                ValueExpr::And(vec![vw("b"), ValueExpr::Not(Box::new(vw("c")))])
            ]))
        );
        assert_eq!(f("k:NOT a"), g(ValueExpr::Not(Box::new(vw("a")))));
        assert_eq!(f("k:(a)"), g(vw("a")));
        assert_eq!(
            f("k:((a OR b) AND c)"),
            g(ValueExpr::And(vec![
                ValueExpr::Or(vec![vw("a"), vw("b")]),
                vw("c")
            ]))
        );
        // values inside a group may contain `:`
        assert_eq!(
            f("k:(a:b OR c)"),
            g(ValueExpr::Or(vec![vw("a:b"), vw("c")]))
        );
        assert_eq!(
            f("k:(\"x y\" or /z+/)"),
            g(ValueExpr::Or(vec![
                ValueExpr::Value(Value::Quoted("x y".into())),
                ValueExpr::Value(Value::Regex("z+".into()))
            ]))
        );
    }

    #[test]
    fn values_split_at_first_colon() {
        assert_eq!(
            f("http.url:https://x.io/a?b=1"),
            kv("http.url", "https://x.io/a?b=1")
        );
        assert_eq!(f("a:b:c"), kv("a", "b:c"));
        assert_eq!(f("a=b=c"), cmp("a", CompareOp::Eq, word("b=c")));
    }

    #[test]
    fn wildcards_and_regexes() {
        assert_eq!(f("method:GET*"), kv("method", "GET*"));
        assert_eq!(f("name:*orders*"), kv("name", "*orders*"));
        assert_eq!(f("gorm.*"), text("gorm.*"));
        assert_eq!(
            f("name:/^GET\\s\\/api/"),
            cmp(
                "name",
                CompareOp::Colon,
                Value::Regex("^GET\\s\\/api".into())
            )
        );
        // a bare regex can't hold unescaped whitespace (quote it instead)
        assert_eq!(f("/a b/"), Expr::And(vec![text("/a"), text("b/")]));
        assert_eq!(
            f("name:/(GET|POST)/"),
            cmp("name", CompareOp::Colon, Value::Regex("(GET|POST)".into()))
        );
        assert_eq!(
            f("/timeout|deadline/"),
            Expr::Term(Term::Text(Value::Regex("timeout|deadline".into())))
        );
        // a path is not a regex unless it ends with a slash
        assert_eq!(
            f("http.target:/api/orders"),
            kv("http.target", "/api/orders")
        );
        assert_eq!(
            f("http.target:/api/orders/"),
            cmp(
                "http.target",
                CompareOp::Colon,
                Value::Regex("api/orders".into())
            )
        );
        // quoted /…/ is a regex too (Highlight), and may contain spaces
        assert_eq!(
            f("k:\"/a b/\""),
            cmp("k", CompareOp::Colon, Value::Regex("a b".into()))
        );
    }

    #[test]
    fn bare_text_forms() {
        assert_eq!(f("checkout"), text("checkout"));
        assert_eq!(f("5ms"), text("5ms"));
        assert_eq!(
            f("POST /api/orders"),
            Expr::And(vec![text("POST"), text("/api/orders")])
        );
        assert_eq!(f("it's"), text("it's"));
        // a key that looks like a regex (found by fuzzing the printer)
        assert_eq!(f("//:x"), kv("//", "x"));
        assert_eq!(
            f("\"/a/\" EXISTS"),
            Expr::Term(Term::Exists {
                key: "/a/".into(),
                negated: false
            })
        );
    }

    #[test]
    fn intrinsic_values_are_checked() {
        assert!(parse("status_code:ERROR").is_ok());
        assert!(parse("status_code:2").is_ok());
        assert!(parse("span_kind:Server kind:client").is_ok());
        assert!(parse("has_errors:TRUE").is_ok());
        assert!(parse("duration:250ms duration>1.5s duration<=300us duration>=1h30m").is_ok());
        assert!(parse("duration>1000").is_ok());
        assert!(parse("status_code:err*").is_ok());
        assert!(parse("timestamp>1700000000000000000").is_ok());
        // Short aliases may read an attribute of their name; `""` suits every key.
        assert!(parse("kind:batch status:3 has_error:maybe").is_ok());
        assert!(parse("span_kind:\"\" status_code!='' has_errors=``").is_ok());
        assert!(parse("span_kind:batch").is_err());
        let e = err_of("status_code:eror");
        assert_eq!(e.message, "unknown status `eror`");
        assert_eq!(e.expected, ["unset", "ok", "error"]);
        assert_eq!((e.start, e.end), (12, 16));
        assert!(
            err_of("span_kind:serv")
                .message
                .contains("unknown span kind")
        );
        assert!(err_of("has_errors:maybe").message.contains("true or false"));
        assert!(err_of("duration:fast").message.contains("duration"));
        assert!(
            err_of("duration:/1/")
                .message
                .contains("regular expressions")
        );
        let e = err_of("service_name>3");
        assert!(e.message.contains("not a number"), "{}", e.message);
        assert_eq!((e.start, e.end), (0, 13));
        assert!(
            err_of("http.size>big")
                .message
                .contains("needs a number or a duration")
        );
        assert!(
            err_of("http.size>/x/")
                .message
                .contains("not regular expressions")
        );
    }

    #[test]
    fn structural_queries() {
        let ss = |q: &str| TraceExpr::Spanset(Some(f(q)));
        let bin = |op, l, r| TraceExpr::Binary {
            op,
            lhs: Box::new(l),
            rhs: Box::new(r),
        };
        for (sym, op) in [
            ("&&", SpansetOp::And),
            ("||", SpansetOp::Or),
            (">", SpansetOp::Child),
            (">>", SpansetOp::Descendant),
            ("<", SpansetOp::Parent),
            ("<<", SpansetOp::Ancestor),
            ("~", SpansetOp::Sibling),
        ] {
            assert_eq!(
                t(&format!("{{a:1}} {sym} {{b:2}}")),
                bin(op, ss("a:1"), ss("b:2")),
                "{sym}"
            );
            assert_eq!(
                t(&format!("{{a:1}}{sym}{{b:2}}")),
                bin(op, ss("a:1"), ss("b:2")),
                "{sym}"
            );
        }
        assert_eq!(t("{}"), TraceExpr::Spanset(None));
        assert_eq!(t("{ }"), TraceExpr::Spanset(None));
        // structural binds tighter than &&, which binds tighter than ||; left-assoc
        assert_eq!(
            t("{a} || {b} && {c} > {d}"),
            bin(
                SpansetOp::Or,
                ss("a"),
                bin(
                    SpansetOp::And,
                    ss("b"),
                    bin(SpansetOp::Child, ss("c"), ss("d"))
                )
            )
        );
        assert_eq!(
            t("{a} > {b} >> {c}"),
            bin(
                SpansetOp::Descendant,
                bin(SpansetOp::Child, ss("a"), ss("b")),
                ss("c")
            )
        );
        assert_eq!(
            t("{a} > ({b} >> {c})"),
            bin(
                SpansetOp::Child,
                ss("a"),
                bin(SpansetOp::Descendant, ss("b"), ss("c"))
            )
        );
        // && and || inside braces are filter AND/OR
        assert_eq!(
            t("{ a:1 && b:2 || c:3 }"),
            TraceExpr::Spanset(Some(Expr::Or(vec![
                Expr::And(vec![kv("a", "1"), kv("b", "2")]),
                kv("c", "3")
            ])))
        );
        // a comparison `>` inside braces is not the child operator
        assert_eq!(
            t("{duration>100ms} > {x}"),
            bin(SpansetOp::Child, ss("duration>100ms"), ss("x"))
        );
    }

    #[test]
    fn pipelines() {
        assert_eq!(
            t("{status_code:error} | count() > 3"),
            TraceExpr::Pipeline {
                input: Box::new(TraceExpr::Spanset(Some(kv("status_code", "error")))),
                stages: vec![Stage::Aggregate {
                    func: AggFunc::Count,
                    arg: None,
                    by: vec![],
                    op: CompareOp::Gt,
                    threshold: "3".into()
                }]
            }
        );
        assert_eq!(
            t("{} | avg(duration) by (service) > 1s"),
            TraceExpr::Pipeline {
                input: Box::new(TraceExpr::Spanset(None)),
                stages: vec![Stage::Aggregate {
                    func: AggFunc::Avg,
                    arg: Some("duration".into()),
                    by: vec!["service".into()],
                    op: CompareOp::Gt,
                    threshold: "1s".into()
                }]
            }
        );
        assert_eq!(
            t("{} | by(service, http.route) | MAX(duration) <= 20ms | sum(bytes)!=0"),
            TraceExpr::Pipeline {
                input: Box::new(TraceExpr::Spanset(None)),
                stages: vec![
                    Stage::By(vec!["service".into(), "http.route".into()]),
                    Stage::Aggregate {
                        func: AggFunc::Max,
                        arg: Some("duration".into()),
                        by: vec![],
                        op: CompareOp::Le,
                        threshold: "20ms".into()
                    },
                    Stage::Aggregate {
                        func: AggFunc::Sum,
                        arg: Some("bytes".into()),
                        by: vec![],
                        op: CompareOp::Ne,
                        threshold: "0".into()
                    },
                ]
            }
        );
        assert!(parse("({a} | count() > 1) && {b}").is_ok());
        assert!(parse("{a} && {b} | min(duration) = 5ms").is_ok());
    }

    /// (query, message fragment, start, end)
    const BROKEN: &[(&str, &str, usize, usize)] = &[
        ("service:", "expected a value after `service:`", 8, 8),
        ("service: ", "expected a value after `service:`", 9, 9),
        (
            "service:)",
            "expected a value after `service:`, found `)`",
            8,
            9,
        ),
        ("k:or", "quote it", 2, 4),
        ("(a OR b", "this `(` is never closed", 0, 1),
        ("a OR b)", "no `(` for it to close", 6, 7),
        ("{a:1", "this `{` is never closed", 0, 1),
        ("{a:1} > {b", "this `{` is never closed", 8, 9),
        ("a}", "no `{` for it to close", 1, 2),
        ("k:(a b)", "join values with AND or OR", 5, 6),
        ("k:(a OR b", "this `(` is never closed", 2, 3),
        ("name:/[a-/", "invalid regular expression", 5, 10),
        ("/(/", "invalid regular expression", 0, 3),
        ("{} | foo()", "unknown pipeline function `foo`", 5, 8),
        ("{} | ", "expected a pipeline function after `|`", 5, 5),
        ("{} | count(x) > 1", "count() takes no argument", 5, 13),
        ("{} | avg() > 1", "avg() takes one field", 5, 10),
        ("{} | count() 3", "expected a comparison", 13, 14),
        (
            "{} | count() >",
            "expected a number or duration after `>`",
            14,
            14,
        ),
        (
            "{} | count() > 1s",
            "count() is compared with a number",
            15,
            17,
        ),
        (
            "{} | avg(duration) > 5xs",
            "unknown duration unit `xs`",
            21,
            24,
        ),
        ("{} | by()", "by() needs at least one key", 5, 9),
        ("{} | by(a", "this `(` is never closed", 7, 8),
        ("duration>5xs", "unknown duration unit `xs` in `5xs`", 9, 12),
        ("duration>10sec", "unknown duration unit `sec`", 9, 14),
        ("a AND", "expected a search term after `AND`", 5, 5),
        ("a OR )", "expected a search term after `OR`", 5, 5),
        ("NOT", "expected a search term after `NOT`", 3, 3),
        ("AND a", "expected a search term before `AND`", 0, 3),
        ("EXISTS", "EXISTS needs a key", 0, 6),
        (":x", "expected a key before `:`", 0, 1),
        ("a ! b", "unexpected `!`", 2, 3),
        ("name:\"abc", "unterminated string", 5, 9),
        ("()", "empty parentheses", 0, 2),
        ("a:b {c}", "can't be mixed with a plain filter", 4, 5),
        ("(a:b) && {c}", "can't be mixed with a plain filter", 9, 10),
        ("a:b | count() > 1", "a pipeline needs a spanset", 4, 5),
        ("{a} b", "expected an operator between spansets", 4, 5),
        ("{a} >", "expected a spanset", 5, 5),
        ("{a} > b", "expected a spanset `{ … }`, found `b`", 6, 7),
        ("a >> b", "relates spansets", 2, 4),
        ("\"\":x", "the key is empty", 0, 2),
    ];

    #[test]
    fn errors_point_at_the_problem() {
        for (q, msg, start, end) in BROKEN {
            let e = err_of(q);
            assert!(
                e.message.contains(msg),
                "{q:?}: got {:?}, want {msg:?}",
                e.message
            );
            assert_eq!((e.start, e.end), (*start, *end), "{q:?}: {}", e.message);
            assert!(e.end <= q.len() && q.is_char_boundary(e.start) && q.is_char_boundary(e.end));
        }
    }

    #[test]
    fn errors_say_what_was_expected() {
        assert_eq!(err_of("(a").expected, ["`)`"]);
        assert_eq!(err_of("{a").expected, ["`}`"]);
        assert_eq!(err_of("service:").expected, ["a value"]);
        assert!(
            err_of("{} | nope()")
                .expected
                .contains(&"count()".to_string())
        );
        assert!(err_of("duration>5xs").expected.contains(&"ms".to_string()));
    }

    #[test]
    fn errors_serialise_to_json() {
        let e = err_of("service:");
        let json = serde_json::to_value(&e).unwrap_or_default();
        assert_eq!(json["start"], 8);
        assert_eq!(json["end"], 8);
        assert_eq!(json["message"], "expected a value after `service:`");
        assert_eq!(json["expected"][0], "a value");
    }

    #[test]
    fn ast_serialises_to_json() {
        let q = p("{a:1} >> {b} | count() > 2");
        let json = serde_json::to_string(&q).unwrap_or_default();
        let back: Query = serde_json::from_str(&json).unwrap_or(Query::Filter(None));
        assert_eq!(back, q);
    }

    #[test]
    fn nesting_is_limited() {
        let deep = |n: usize| format!("{}a{}", "(".repeat(n), ")".repeat(n));
        assert!(parse(&deep(MAX_DEPTH - 1)).is_ok());
        let e = err_of(&deep(MAX_DEPTH + 1));
        assert!(e.message.contains("nests too deeply"));
        // very deep input fails cleanly instead of overflowing the stack
        assert!(parse(&"(".repeat(100_000)).is_err());
        assert!(parse(&"NOT ".repeat(100_000)).is_err());
        assert!(parse(&"{".repeat(100_000)).is_err());
        assert!(parse(&format!("k:{}", "(".repeat(100_000))).is_err());
        assert!(parse(&format!("k:{}a", "NOT ".repeat(100_000))).is_err());
        let chain = vec!["{}"; 10_000].join(" > ");
        assert!(err_of(&chain).message.contains("nests too deeply"));
        let ok_chain = vec!["{}"; 50].join(" > ");
        assert!(parse(&ok_chain).is_ok());
    }

    #[test]
    fn terms_and_group_keys_are_limited() {
        let words = |n: usize| vec!["a"; n].join(" ");
        assert!(parse(&words(MAX_TERMS)).is_ok());
        let e = err_of(&words(MAX_TERMS + 1));
        assert!(e.message.contains("more than 1000 terms"), "{}", e.message);
        assert_eq!((e.start, e.end), (2 * MAX_TERMS, 2 * MAX_TERMS + 1));
        let values = |n: usize| {
            let v: Vec<String> = (0..n).map(|i| format!("s{i}")).collect();
            format!("service:({})", v.join(" OR "))
        };
        assert!(parse(&values(MAX_TERMS)).is_ok());
        assert!(err_of(&values(MAX_TERMS + 1)).message.contains("terms"));
        let pairs = vec!["x:1"; MAX_TERMS + 1].join(" ");
        assert!(err_of(&pairs).message.contains("terms"));
        assert!(
            err_of(&format!("{{{}}}", words(MAX_TERMS + 1)))
                .message
                .contains("terms")
        );
        let keys = |n: usize| {
            let k: Vec<String> = (0..n).map(|i| format!("k{i}")).collect();
            format!("{{}} | by({})", k.join(", "))
        };
        assert!(parse(&keys(MAX_GROUP_KEYS)).is_ok());
        let e = err_of(&keys(MAX_GROUP_KEYS + 1));
        assert_eq!(e.message, "`by` takes at most 32 keys");
    }

    #[test]
    fn odd_inputs_never_panic() {
        for q in [
            "\"",
            "'",
            "`",
            "/",
            "//",
            "\\",
            "{",
            "}",
            "(",
            ")",
            "|",
            "||",
            "&&",
            "&",
            "~",
            "!",
            "!=",
            ":",
            "::",
            "a:",
            "a:(",
            "a:()",
            "a:(b",
            "a:(b OR",
            "a:NOT",
            "{}|",
            "{}|by",
            "{}|by(",
            "{}|count",
            "{}|count(",
            "{}|count()",
            "{}|count()>",
            "{} > ",
            "µ",
            "é:ü",
            "a:\"\\",
            "a:'\\'",
            "{a:}",
            "{a:(b}",
            "({})",
            "(({}",
            "({a}",
            "{} | avg(duration) by",
            "{} | avg(duration) by(",
            "k:/a\\/",
            "\u{0}",
            "a\u{200b}b:c",
        ] {
            let _ = parse(q);
        }
    }
}
