//! Recursive descent over TraceQL tokens, straight to the plan's [`Structure`].
//!
//! ```text
//! query    := pipeline [ "with" "(" hint { "," hint } ")" ]
//! pipeline := ( spansets | aggregate ) { "|" stage }
//! spansets := primary { op primary }        -- `||` < `&&` < structural operators
//! primary  := "{" [ field-expr ] "}" | "(" pipeline ")"
//! stage    := "{" field-expr "}" | by(...) | select(...) | coalesce()
//!           | count() cmp value | (avg|min|max|sum)(field) cmp value
//! ```

use super::expr::{ArithOp, CmpKind, Kind, Lit, Node};
use super::fields::{FieldRef, attribute, scoped_intrinsic, unscoped_intrinsic};
use super::lexer::{Tok, Token};
use crate::ast::AggFunc;
use crate::error::ParseError;
use crate::parser::{MAX_DEPTH, MAX_GROUP_KEYS, MAX_TERMS};
use crate::plan::{CmpOp, Field, Filter, Intrinsic, PlanStage, Relation, RelationMode, Structure};

type Res<T> = Result<T, ParseError>;

mod metrics;

/// TraceQL metrics functions: a different kind of query than a search.
const METRICS_FUNCTIONS: [&str; 12] = [
    "rate",
    "count_over_time",
    "min_over_time",
    "max_over_time",
    "avg_over_time",
    "sum_over_time",
    "quantile_over_time",
    "histogram_over_time",
    "compare",
    "topk",
    "bottomk",
    "sum_by",
];

pub(super) struct Parser<'a> {
    toks: &'a [Token],
    pos: usize,
    src_len: usize,
    depth: usize,
    terms: usize,
    /// The fields of `select(…)` stages, in order.
    pub select: Vec<Field>,
}

impl<'a> Parser<'a> {
    pub(super) fn new(toks: &'a [Token], src_len: usize) -> Self {
        Parser {
            toks,
            pos: 0,
            src_len,
            depth: 0,
            terms: 0,
            select: Vec::new(),
        }
    }

    /// The whole query.
    pub(super) fn query(&mut self) -> Res<Structure> {
        let s = self.pipeline()?;
        if self.peek_ident("with") {
            self.hints()?;
        }
        match self.peek() {
            None => Ok(s),
            Some(t) => Err(self.unexpected(t, &["`|`", "`&&`", "`||`", "a structural operator"])),
        }
    }

    /// A whole text that is one field.
    pub(super) fn identifier(&mut self) -> Res<Field> {
        let node = self.atom()?;
        let field = match node.kind {
            Kind::Field(FieldRef::Span(f)) => f,
            Kind::Field(FieldRef::Root(i)) => Field::Intrinsic(i),
            _ => {
                return Err(ParseError::new(
                    "expected an attribute or an intrinsic",
                    node.start,
                    node.end,
                )
                .expecting(["`.key`", "`span.key`", "an intrinsic"]));
            }
        };
        match self.peek() {
            None => Ok(field),
            Some(t) => Err(self.unexpected(t, &["the end of the identifier"])),
        }
    }

    // ---- tokens -------------------------------------------------------------------------

    fn peek(&self) -> Option<&'a Token> {
        self.toks.get(self.pos)
    }

    fn peek_tok(&self) -> Option<&'a Tok> {
        self.peek().map(|t| &t.tok)
    }

    fn peek_ident(&self, word: &str) -> bool {
        matches!(self.peek_tok(), Some(Tok::Ident(w)) if w == word)
    }

    fn next(&mut self) -> Option<&'a Token> {
        let t = self.toks.get(self.pos);
        self.pos += usize::from(t.is_some());
        t
    }

    fn end_pos(&self) -> usize {
        self.peek().map_or(self.src_len, |t| t.start)
    }

    fn unexpected(&self, t: &Token, expected: &[&str]) -> ParseError {
        ParseError::new(format!("unexpected {}", t.tok.describe()), t.start, t.end)
            .expecting(expected.iter().copied())
    }

    fn expect(&mut self, tok: Tok, what: &str) -> Res<&'a Token> {
        match self.peek() {
            Some(t) if t.tok == tok => {
                self.pos += 1;
                Ok(t)
            }
            Some(t) => Err(self.unexpected(t, &[what])),
            None => Err(ParseError::new(
                format!("expected {what} at the end of the query"),
                self.src_len,
                self.src_len,
            )
            .expecting([what])),
        }
    }

    fn enter(&mut self, at: usize) -> Res<()> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(ParseError::new(
                format!("the query nests deeper than {MAX_DEPTH} levels"),
                at,
                at + 1,
            ));
        }
        Ok(())
    }

    fn count_term(&mut self, start: usize, end: usize) -> Res<()> {
        self.terms += 1;
        if self.terms > MAX_TERMS {
            return Err(ParseError::new(
                format!("the query has more than {MAX_TERMS} conditions"),
                start,
                end,
            ));
        }
        Ok(())
    }

    // ---- spansets and pipelines -------------------------------------------------------

    fn pipeline(&mut self) -> Res<Structure> {
        let starts_with_aggregate = matches!(self.peek_tok(), Some(Tok::Ident(w)) if AggFunc::from_name(w).is_some())
            && matches!(
                self.toks.get(self.pos + 1).map(|t| &t.tok),
                Some(Tok::LParen)
            );
        let mut input = if starts_with_aggregate {
            Structure::Spanset(Filter::True)
        } else {
            self.spansets(1)?
        };
        let mut stages = Vec::new();
        if starts_with_aggregate {
            stages.push(self.aggregate()?);
        }
        while matches!(self.peek_tok(), Some(Tok::Pipe)) {
            self.pos += 1;
            self.stage(&mut input, &mut stages)?;
        }
        Ok(close(input, stages))
    }

    fn spansets(&mut self, min_prec: u8) -> Res<Structure> {
        let mut lhs = self.primary()?;
        while let Some((prec, op)) = self.peek_tok().and_then(spanset_op) {
            if prec < min_prec {
                break;
            }
            self.pos += 1;
            let rhs = self.spansets(prec + 1)?;
            lhs = op.combine(lhs, rhs);
        }
        Ok(lhs)
    }

    fn primary(&mut self) -> Res<Structure> {
        let Some(t) = self.next() else {
            return Err(ParseError::new(
                "expected a spanset such as `{ }`",
                self.src_len,
                self.src_len,
            )
            .expecting(["`{`", "`(`"]));
        };
        self.enter(t.start)?;
        let s = match t.tok {
            Tok::LBrace => self.spanset_body(t.start)?,
            Tok::LParen => {
                let s = self.pipeline()?;
                self.expect(Tok::RParen, "`)`")?;
                s
            }
            _ => return Err(self.unexpected(t, &["`{`", "`(`"])),
        };
        self.depth -= 1;
        Ok(s)
    }

    /// After `{`: the filter and the closing brace.
    fn spanset_body(&mut self, open: usize) -> Res<Structure> {
        self.count_term(open, open + 1)?;
        if matches!(self.peek_tok(), Some(Tok::RBrace)) {
            self.pos += 1;
            return Ok(Structure::Spanset(Filter::True));
        }
        let node = self.or()?;
        self.expect(Tok::RBrace, "`}`")?;
        spanset(&node)
    }

    fn stage(&mut self, input: &mut Structure, stages: &mut Vec<PlanStage>) -> Res<()> {
        let Some(t) = self.peek() else {
            return Err(ParseError::new(
                "expected a pipeline stage after `|`",
                self.src_len,
                self.src_len,
            )
            .expecting([
                "count()",
                "avg(…)",
                "by(…)",
                "select(…)",
                "coalesce()",
                "`{`",
            ]));
        };
        match &t.tok {
            Tok::LBrace => {
                self.pos += 1;
                let filter = self.spanset_body(t.start)?;
                match (&*input, filter, stages.is_empty()) {
                    (Structure::Spanset(a), Structure::Spanset(b), true) => {
                        *input = Structure::Spanset(Filter::And(vec![a.clone(), b]).simplify());
                        Ok(())
                    }
                    _ => Err(ParseError::new(
                        "a spanset filter as a pipeline stage is supported by tracehouse only \
                         right after a single spanset",
                        t.start,
                        self.end_pos(),
                    )),
                }
            }
            Tok::Ident(w) if w == "by" => {
                self.pos += 1;
                let fields = self.field_list(t.start)?;
                stages.push(PlanStage::GroupBy(fields));
                Ok(())
            }
            Tok::Ident(w) if w == "select" => {
                self.pos += 1;
                let fields = self.field_list(t.start)?;
                self.select.extend(fields);
                Ok(())
            }
            Tok::Ident(w) if w == "coalesce" => {
                self.pos += 1;
                self.expect(Tok::LParen, "`(`")?;
                self.expect(Tok::RParen, "`)`")?;
                let done = close(input.clone(), std::mem::take(stages));
                *input = done;
                Ok(())
            }
            Tok::Ident(w) if AggFunc::from_name(w).is_some() => {
                stages.push(self.aggregate()?);
                Ok(())
            }
            Tok::Ident(w) if METRICS_FUNCTIONS.contains(&w.as_str()) => Err(ParseError::new(
                format!(
                    "`{w}()` is a TraceQL metrics function: metrics queries are answered by \
                     Tempo's /api/metrics/query_range and /api/metrics/query, not by a search; \
                     search pipelines take count(), avg(), min(), max(), sum(), by(), \
                     select() and coalesce()"
                ),
                t.start,
                t.end,
            )),
            _ => Err(self.unexpected(
                t,
                &[
                    "count()",
                    "avg(…)",
                    "by(…)",
                    "select(…)",
                    "coalesce()",
                    "`{`",
                ],
            )),
        }
    }

    /// `func([field]) op value`.
    fn aggregate(&mut self) -> Res<PlanStage> {
        let (name, start, end) = self.word("an aggregate")?;
        let func = AggFunc::from_name(name)
            .ok_or_else(|| ParseError::new("expected an aggregate", start, end))?;
        self.expect(Tok::LParen, "`(`")?;
        let field = if func == AggFunc::Count {
            None
        } else {
            Some(self.plain_field()?)
        };
        self.expect(Tok::RParen, "`)`")?;
        let op = match self.next().map(|t| (&t.tok, t)) {
            Some((Tok::Eq, _)) => CmpOp::Eq,
            Some((Tok::Ne, _)) => CmpOp::Ne,
            Some((Tok::Gt, _)) => CmpOp::Gt,
            Some((Tok::Ge, _)) => CmpOp::Ge,
            Some((Tok::Lt, _)) => CmpOp::Lt,
            Some((Tok::Le, _)) => CmpOp::Le,
            Some((_, t)) => return Err(self.unexpected(t, &["a comparison such as `> 2`"])),
            None => {
                return Err(ParseError::new(
                    format!("expected a comparison after `{name}(…)`"),
                    self.src_len,
                    self.src_len,
                )
                .expecting(["`>`", "`>=`", "`<`", "`<=`", "`=`", "`!=`"]));
            }
        };
        let value = self.additive()?;
        let threshold = match value.constant()? {
            Lit::Int(i) | Lit::Duration(i) => i as f64,
            Lit::Float(f) => f,
            _ => {
                return Err(ParseError::new(
                    "an aggregate compares with a number or a duration",
                    value.start,
                    value.end,
                ));
            }
        };
        Ok(PlanStage::Aggregate {
            func,
            field,
            op,
            threshold,
        })
    }

    /// A word (a function's name) and where it is written.
    fn word(&mut self, what: &str) -> Res<(&'a str, usize, usize)> {
        match self.next() {
            Some(Token {
                tok: Tok::Ident(name),
                start,
                end,
            }) => Ok((name.as_str(), *start, *end)),
            _ => Err(ParseError::new(
                format!("expected {what}"),
                self.end_pos(),
                self.end_pos(),
            )),
        }
    }

    /// `( field, … )` of `by` and `select`.
    fn field_list(&mut self, at: usize) -> Res<Vec<Field>> {
        self.list(at, Self::plain_field)
    }

    /// `( item, … )` with at most [`MAX_GROUP_KEYS`] items.
    fn list<T>(&mut self, at: usize, item: fn(&mut Self) -> Res<T>) -> Res<Vec<T>> {
        self.expect(Tok::LParen, "`(`")?;
        let mut items = vec![item(self)?];
        while matches!(self.peek_tok(), Some(Tok::Comma)) {
            self.pos += 1;
            items.push(item(self)?);
            if items.len() > MAX_GROUP_KEYS {
                return Err(ParseError::new(
                    format!("at most {MAX_GROUP_KEYS} fields"),
                    at,
                    self.end_pos(),
                ));
            }
        }
        self.expect(Tok::RParen, "`)`")?;
        Ok(items)
    }

    /// A span-level field by itself (arguments of stages).
    fn plain_field(&mut self) -> Res<Field> {
        self.located_field().map(|(f, _, _)| f)
    }

    /// A span-level field by itself and where it is written.
    fn located_field(&mut self) -> Res<(Field, usize, usize)> {
        let node = self.atom()?;
        match node.kind {
            Kind::Field(FieldRef::Span(f)) => Ok((f, node.start, node.end)),
            _ => Err(ParseError::new(
                "expected a span attribute or intrinsic",
                node.start,
                node.end,
            )
            .expecting(["`.key`", "`span.key`", "`duration`"])),
        }
    }

    fn hints(&mut self) -> Res<()> {
        self.pos += 1;
        self.expect(Tok::LParen, "`(`")?;
        loop {
            match self.next() {
                Some(Token {
                    tok: Tok::Ident(_), ..
                }) => {}
                Some(t) => return Err(self.unexpected(t, &["a hint name"])),
                None => {
                    return Err(ParseError::new(
                        "expected a hint such as `most_recent=true`",
                        self.src_len,
                        self.src_len,
                    ));
                }
            }
            self.expect(Tok::Eq, "`=`")?;
            self.atom()?.constant()?;
            if matches!(self.peek_tok(), Some(Tok::Comma)) {
                self.pos += 1;
                continue;
            }
            self.expect(Tok::RParen, "`)`")?;
            return Ok(());
        }
    }

    // ---- field expressions ------------------------------------------------------------

    fn or(&mut self) -> Res<Node> {
        self.chain(Tok::OrOr, Self::and, Kind::Or)
    }

    fn and(&mut self) -> Res<Node> {
        self.chain(Tok::AndAnd, Self::not, Kind::And)
    }

    fn chain(
        &mut self,
        sep: Tok,
        operand: fn(&mut Self) -> Res<Node>,
        make: fn(Vec<Node>) -> Kind,
    ) -> Res<Node> {
        let first = operand(self)?;
        if self.peek_tok() != Some(&sep) {
            return Ok(first);
        }
        let start = first.start;
        let mut items = vec![first];
        while self.peek_tok() == Some(&sep) {
            self.pos += 1;
            items.push(operand(self)?);
        }
        let end = items.last().map_or(start, |n| n.end);
        Ok(Node {
            kind: make(items),
            start,
            end,
        })
    }

    fn not(&mut self) -> Res<Node> {
        self.prefix(Tok::Bang, Self::comparison, Kind::Not)
    }

    /// `tok operand`, repeatable (`!!x`, `--1`), or `operand` alone.
    fn prefix(
        &mut self,
        tok: Tok,
        operand: fn(&mut Self) -> Res<Node>,
        make: fn(Box<Node>) -> Kind,
    ) -> Res<Node> {
        let Some(t) = self.peek().filter(|t| t.tok == tok) else {
            return operand(self);
        };
        self.pos += 1;
        self.enter(t.start)?;
        let inner = self.prefix(tok, operand, make)?;
        self.depth -= 1;
        Ok(Node {
            start: t.start,
            end: inner.end,
            kind: make(Box::new(inner)),
        })
    }

    fn comparison(&mut self) -> Res<Node> {
        let lhs = self.additive()?;
        let op = match self.peek_tok() {
            Some(Tok::Eq) => CmpKind::Eq,
            Some(Tok::Ne) => CmpKind::Ne,
            Some(Tok::Gt) => CmpKind::Gt,
            Some(Tok::Ge) => CmpKind::Ge,
            Some(Tok::Lt) => CmpKind::Lt,
            Some(Tok::Le) => CmpKind::Le,
            Some(Tok::Re) => CmpKind::Re,
            Some(Tok::NotRe) => CmpKind::NotRe,
            _ => return Ok(lhs),
        };
        self.pos += 1;
        self.count_term(lhs.start, lhs.end)?;
        let rhs = self.additive()?;
        Ok(Node {
            start: lhs.start,
            end: rhs.end,
            kind: Kind::Cmp(op, Box::new(lhs), Box::new(rhs)),
        })
    }

    fn additive(&mut self) -> Res<Node> {
        self.binary(
            Self::multiplicative,
            &[(Tok::Plus, ArithOp::Add), (Tok::Minus, ArithOp::Sub)],
        )
    }

    fn multiplicative(&mut self) -> Res<Node> {
        self.binary(
            Self::power,
            &[
                (Tok::Star, ArithOp::Mul),
                (Tok::Slash, ArithOp::Div),
                (Tok::Percent, ArithOp::Rem),
            ],
        )
    }

    fn binary(&mut self, operand: fn(&mut Self) -> Res<Node>, ops: &[(Tok, ArithOp)]) -> Res<Node> {
        let mut lhs = operand(self)?;
        while let Some(op) = self
            .peek_tok()
            .and_then(|t| ops.iter().find(|(tok, _)| tok == t).map(|(_, op)| *op))
        {
            self.pos += 1;
            self.count_term(lhs.start, lhs.end)?;
            let rhs = operand(self)?;
            lhs = Node {
                start: lhs.start,
                end: rhs.end,
                kind: Kind::Arith(op, Box::new(lhs), Box::new(rhs)),
            };
        }
        Ok(lhs)
    }

    fn power(&mut self) -> Res<Node> {
        let base = self.unary()?;
        let Some(t) = self.peek().filter(|t| t.tok == Tok::Caret) else {
            return Ok(base);
        };
        self.pos += 1;
        self.enter(t.start)?;
        let exp = self.power()?;
        self.depth -= 1;
        Ok(Node {
            start: base.start,
            end: exp.end,
            kind: Kind::Arith(ArithOp::Pow, Box::new(base), Box::new(exp)),
        })
    }

    fn unary(&mut self) -> Res<Node> {
        self.prefix(Tok::Minus, Self::atom, Kind::Neg)
    }

    fn atom(&mut self) -> Res<Node> {
        let Some(t) = self.next() else {
            return Err(ParseError::new(
                "expected a field or a value at the end of the query",
                self.src_len,
                self.src_len,
            )
            .expecting(["`.key`", "an intrinsic", "a value"]));
        };
        let node = |kind| {
            Ok(Node {
                kind,
                start: t.start,
                end: t.end,
            })
        };
        match &t.tok {
            Tok::LParen => {
                self.enter(t.start)?;
                let inner = self.or()?;
                let close = self.expect(Tok::RParen, "`)`")?;
                self.depth -= 1;
                Ok(Node {
                    start: t.start,
                    end: close.end,
                    kind: inner.kind,
                })
            }
            Tok::Str(s) => node(Kind::Lit(Lit::Str(s.clone()))),
            Tok::Int(i) => node(Kind::Lit(Lit::Int(*i))),
            Tok::Float(f) => node(Kind::Lit(Lit::Float(*f))),
            Tok::Duration(d) => node(Kind::Lit(Lit::Duration(*d))),
            Tok::Attr(scope, name) => node(Kind::Field(attribute(*scope, name))),
            Tok::Intrinsic(scope, name) => {
                node(Kind::Field(scoped_intrinsic(scope, name, t.start, t.end)?))
            }
            Tok::Ident(word) => {
                if let Some(lit) = keyword(word) {
                    return node(Kind::Lit(lit));
                }
                match unscoped_intrinsic(word, t.start, t.end) {
                    Some(field) => node(Kind::Field(field?)),
                    None => Err(ParseError::new(
                        format!(
                            "unknown word `{word}`: attributes start with `.` or a scope \
                             (`.{word}`, `span.{word}`), strings are quoted"
                        ),
                        t.start,
                        t.end,
                    )
                    .expecting(["`.key`", "an intrinsic", "a value"])),
                }
            }
            _ => Err(self.unexpected(t, &["`.key`", "an intrinsic", "a value"])),
        }
    }
}

/// The literal a keyword stands for.
fn keyword(word: &str) -> Option<Lit> {
    Some(match word {
        "true" => Lit::Bool(true),
        "false" => Lit::Bool(false),
        "nil" => Lit::Nil,
        "minInt" => Lit::Int(i64::MIN),
        "maxInt" => Lit::Int(i64::MAX),
        "error" => Lit::Status("error"),
        "ok" => Lit::Status("ok"),
        "unset" => Lit::Status("unset"),
        "server" => Lit::Kind("server"),
        "client" => Lit::Kind("client"),
        "producer" => Lit::Kind("producer"),
        "consumer" => Lit::Kind("consumer"),
        "internal" => Lit::Kind("internal"),
        "unspecified" => Lit::Kind("unspecified"),
        _ => return None,
    })
}

/// A pipeline's input and stages as one structure.
fn close(input: Structure, stages: Vec<PlanStage>) -> Structure {
    if stages.is_empty() {
        input
    } else {
        Structure::Pipeline {
            input: Box::new(input),
            stages,
        }
    }
}

/// The structure of `{ node }`. Conditions on trace-level fields (`trace:rootName = "x"`)
/// hold for every span of a trace whose root span has the value: so `{ R && F }`, with
/// `R` those conditions as a filter on root spans, is the `F` spans below an `R` root plus
/// an `R` root that is itself `F`: `({R} >> {F}) || {R && F}`.
fn spanset(node: &Node) -> Res<Structure> {
    let (roots, rest): (Vec<&Node>, Vec<&Node>) = node
        .conjuncts()
        .into_iter()
        .partition(|n| n.root_comparison().is_some());
    if let Some(inner) = rest.iter().find_map(|n| n.find_root()) {
        return Err(ParseError::new(
            "a trace-level intrinsic can only be joined to the rest of its spanset with `&&`",
            inner.start,
            inner.end,
        ));
    }
    let filter = Filter::And(rest.iter().map(|n| n.to_filter()).collect::<Res<_>>()?).simplify();
    if roots.is_empty() {
        return Ok(Structure::Spanset(filter));
    }
    let mut root = vec![Filter::Not(Box::new(Filter::Exists(Field::Intrinsic(
        Intrinsic::ParentSpanId,
    ))))];
    for r in roots {
        root.push(r.root_filter()?);
    }
    let root = Filter::And(root).simplify();
    Ok(Structure::Or(
        Box::new(Structure::Relation {
            rel: Relation::Descendant,
            mode: RelationMode::Related,
            lhs: Box::new(Structure::Spanset(root.clone())),
            rhs: Box::new(Structure::Spanset(filter.clone())),
        }),
        Box::new(Structure::Spanset(
            Filter::And(vec![root, filter]).simplify(),
        )),
    ))
}

/// An operator between spansets.
#[derive(Clone, Copy)]
enum SpansetOp {
    And,
    Or,
    Rel(Relation, RelationMode),
}

impl SpansetOp {
    fn combine(self, lhs: Structure, rhs: Structure) -> Structure {
        match self {
            SpansetOp::And => Structure::And(Box::new(lhs), Box::new(rhs)),
            SpansetOp::Or => Structure::Or(Box::new(lhs), Box::new(rhs)),
            SpansetOp::Rel(rel, mode) => Structure::Relation {
                rel,
                mode,
                lhs: Box::new(lhs),
                rhs: Box::new(rhs),
            },
        }
    }
}

/// The precedence (`||` 1, `&&` 2, structural 3) and meaning of a spanset operator.
fn spanset_op(t: &Tok) -> Option<(u8, SpansetOp)> {
    use Relation::*;
    use RelationMode::*;
    let rel = |r, m| Some((3, SpansetOp::Rel(r, m)));
    match t {
        Tok::OrOr => Some((1, SpansetOp::Or)),
        Tok::AndAnd => Some((2, SpansetOp::And)),
        Tok::Gt => rel(Child, Related),
        Tok::Desc => rel(Descendant, Related),
        Tok::Lt => rel(Parent, Related),
        Tok::Anc => rel(Ancestor, Related),
        Tok::Tilde => rel(Sibling, Related),
        Tok::NotChild => rel(Child, Unrelated),
        Tok::NotDesc => rel(Descendant, Unrelated),
        Tok::NotParent => rel(Parent, Unrelated),
        Tok::NotAnc => rel(Ancestor, Unrelated),
        Tok::NotRe => rel(Sibling, Unrelated),
        Tok::UnionChild => rel(Child, Both),
        Tok::UnionDesc => rel(Descendant, Both),
        Tok::UnionParent => rel(Parent, Both),
        Tok::UnionAnc => rel(Ancestor, Both),
        Tok::UnionSibling => rel(Sibling, Both),
        _ => None,
    }
}
