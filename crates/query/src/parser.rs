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
//! The parser never panics; nesting deeper than [`MAX_DEPTH`] is an error.

use crate::ast::{
    AggFunc, CompareOp, Expr, Query, SpansetOp, Stage, Term, TraceExpr, Value, ValueExpr,
};
use crate::error::ParseError;
use crate::lexer::{
    DURATION_UNITS, DurationLit, Mode, Token, TokenKind, lex_at, parse_duration, parse_number,
};
use crate::plan::{Field, IntrinsicKind, Target, bool_value, kind_name, resolve_key, status_name};

/// Deepest nesting of parentheses, braces, `NOT`s and spanset operators accepted.
pub const MAX_DEPTH: usize = 128;

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

    fn leave(&mut self) {
        self.depth = self.depth.saturating_sub(1);
    }

    fn end(&self) -> usize {
        self.src.len()
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
            TokenKind::Word(_) | TokenKind::Str(_) => self.keyed_or_text(t),
            TokenKind::Regex(re) => {
                self.check_regex(re, &t)?;
                self.bump(&t);
                Ok(Expr::Term(Term::Text(Value::Regex(re.clone()))))
            }
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
        let (text, quoted) = match &t.kind {
            TokenKind::Word(w) => (w.clone(), false),
            TokenKind::Str(s) => (s.clone(), true),
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
        self.bump(&t);
        Ok(Expr::Term(Term::Text(if quoted {
            Value::Quoted(text)
        } else {
            Value::Word(text)
        })))
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
                format!("invalid regular expression `/{re}/`: {}", last.trim()),
                t.start,
                t.end,
            )
        })
    }

    /// Checks a value against its key and operator (types, names, units, regex syntax).
    fn check_value(&self, ctx: &KeyCtx<'_>, v: &Value, t: &Token) -> PResult<()> {
        let field = resolve_key(ctx.key, Target::Spans);
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
            stages.push(self.stage(&t)?);
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

    fn stage(&mut self, pipe: &Token) -> PResult<Stage> {
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
        let _ = pipe;
        if name.eq_ignore_ascii_case("by") {
            self.bump(&t);
            let keys = self.args(&t, "by")?;
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
        let args = self.args(&t, func.name())?;
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
            by = self.args(&next, "by")?;
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
    fn args(&mut self, func: &Token, name: &str) -> PResult<Vec<String>> {
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
        let _ = func;
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
