//! The metrics part of the grammar:
//!
//! ```text
//! metrics  := spansets { "|" stage } "|" function [ by "(" field { "," field } ")" ]
//!             [ "|" (topk|bottomk) "(" integer ")" ] [ hints ]
//! function := rate() | count_over_time()
//!           | (min|max|avg|sum|histogram)_over_time "(" field ")"
//!           | quantile_over_time "(" field "," number { "," number } ")"
//!           | compare "(" spanset [ "," integer [ "," integer "," integer ] ] ")"
//! ```

use super::{METRICS_FUNCTIONS, Parser, Res, close};
use crate::error::ParseError;
use crate::plan::{Field, Structure};
use crate::traceql::expr::Lit;
use crate::traceql::lexer::{Tok, Token};
use crate::traceql::metrics::{Compare, MetricsFn, OverTime, Quantile, Rank, SecondStage};

/// A metrics query before its filter is checked.
pub(in crate::traceql) struct ParsedMetrics {
    /// What feeds the function.
    pub input: Structure,
    /// Where the input ends (before the `|` of the function).
    pub input_end: usize,
    pub function: MetricsFn,
    /// `by(…)` fields and where each is written.
    pub by: Vec<(Field, usize, usize)>,
    pub second_stage: Option<SecondStage>,
}

impl Parser<'_> {
    /// A whole metrics query.
    pub(in crate::traceql) fn metrics_query(&mut self) -> Res<ParsedMetrics> {
        let mut input = self.spansets(1)?;
        let mut stages = Vec::new();
        let input_end = loop {
            let pipe = self.expect(Tok::Pipe, "`|` and a metrics function such as `rate()`")?;
            if matches!(self.peek_tok(), Some(Tok::Ident(w)) if METRICS_FUNCTIONS.contains(&w.as_str()))
            {
                break pipe.start;
            }
            self.stage(&mut input, &mut stages)?;
        };
        let function = self.metrics_function()?;
        let by = if self.peek_ident("by") {
            let at = self.end_pos();
            self.pos += 1;
            self.list(at, Self::located_field)?
        } else {
            Vec::new()
        };
        let second_stage = self.second_stage()?;
        if self.peek_ident("with") {
            self.hints()?;
        }
        if let Some(t) = self.peek() {
            return Err(self.after_function(t));
        }
        Ok(ParsedMetrics {
            input: close(input, stages),
            input_end,
            function,
            by,
            second_stage,
        })
    }

    /// `| topk(n)` or `| bottomk(n)`, when next.
    fn second_stage(&mut self) -> Res<Option<SecondStage>> {
        let op = match self.toks.get(self.pos + 1).map(|t| &t.tok) {
            Some(Tok::Ident(w)) if w == "topk" => Rank::Top,
            Some(Tok::Ident(w)) if w == "bottomk" => Rank::Bottom,
            _ => return Ok(None),
        };
        if !matches!(self.peek_tok(), Some(Tok::Pipe)) {
            return Ok(None);
        }
        self.pos += 2;
        self.expect(Tok::LParen, "`(`")?;
        let node = self.unary()?;
        let limit = match node.constant()? {
            Lit::Int(n) if n > 0 => usize::try_from(n).ok(),
            _ => None,
        };
        let Some(limit) = limit else {
            return Err(ParseError::new(
                "the limit of `topk`/`bottomk` is a whole number greater than 0",
                node.start,
                node.end,
            ));
        };
        self.expect(Tok::RParen, "`)`")?;
        Ok(Some(SecondStage { op, limit }))
    }

    /// What follows a metrics function that cannot.
    fn after_function(&self, t: &Token) -> ParseError {
        let next = self.toks.get(self.pos + 1);
        match (&t.tok, next.map(|n| &n.tok)) {
            (Tok::Pipe, Some(Tok::Ident(w))) => {
                let n = next.map_or(t.end, |n| n.end);
                ParseError::new(
                    format!(
                        "`{w}` after a metrics function is not supported by tracehouse: the \
                         second stages are `topk(n)` and `bottomk(n)`, one of them"
                    ),
                    t.start,
                    n,
                )
            }
            (Tok::Eq | Tok::Ne | Tok::Gt | Tok::Ge | Tok::Lt | Tok::Le, _) => ParseError::new(
                "comparing the values of a metrics query is not supported by tracehouse",
                t.start,
                t.end,
            ),
            (Tok::Plus | Tok::Minus | Tok::Star | Tok::Slash, _) => ParseError::new(
                "arithmetic between metrics queries is not supported by tracehouse",
                t.start,
                t.end,
            ),
            _ => self.unexpected(t, &["`by(…)`", "`with(…)`", "the end of the query"]),
        }
    }

    /// `rate()`, `quantile_over_time(duration, 0.9)`, ….
    fn metrics_function(&mut self) -> Res<MetricsFn> {
        let (name, start, end) = self.word("a metrics function")?;
        let agg = match name {
            "rate" | "count_over_time" => {
                self.expect(Tok::LParen, "`(`")?;
                self.expect(Tok::RParen, "`)`")?;
                return Ok(if name == "rate" {
                    MetricsFn::Rate
                } else {
                    MetricsFn::CountOverTime
                });
            }
            "min_over_time" => Some(OverTime::Min),
            "max_over_time" => Some(OverTime::Max),
            "avg_over_time" => Some(OverTime::Avg),
            "sum_over_time" => Some(OverTime::Sum),
            "quantile_over_time" | "histogram_over_time" => None,
            "compare" => return self.compare().map(MetricsFn::Compare),
            other => {
                return Err(ParseError::new(
                    format!("`{other}()` is not supported by tracehouse"),
                    start,
                    end,
                ));
            }
        };
        self.expect(Tok::LParen, "`(`")?;
        let field = self.plain_field()?;
        let function = match agg {
            Some(agg) => MetricsFn::OverTime(agg, field),
            None if name == "histogram_over_time" => MetricsFn::Histogram(field),
            None => MetricsFn::Quantile(field, self.quantiles()?),
        };
        self.expect(Tok::RParen, "`)`")?;
        Ok(function)
    }

    /// `({ selection }, n, start, end)` of `compare`: `n` defaults to 10; `start` and `end`
    /// (Unix ns) come together.
    fn compare(&mut self) -> Res<Compare> {
        self.expect(Tok::LParen, "`(`")?;
        let at = self.end_pos();
        let Structure::Spanset(selection) = self.spansets(1)? else {
            return Err(ParseError::new(
                "the selection of `compare()` is one spanset filter such as `{ status = error }`",
                at,
                self.end_pos(),
            ));
        };
        let mut numbers = Vec::new();
        while matches!(self.peek_tok(), Some(Tok::Comma)) && numbers.len() < 3 {
            self.pos += 1;
            let node = self.unary()?;
            match node.constant()? {
                Lit::Int(n) if n > 0 => numbers.push(n),
                _ => {
                    return Err(ParseError::new(
                        "the numbers of `compare()` are whole numbers greater than 0: the \
                         values kept per attribute, then the selection's start and end in Unix \
                         nanoseconds",
                        node.start,
                        node.end,
                    ));
                }
            }
        }
        let close = self.expect(Tok::RParen, "`)`")?;
        let window = match numbers[..] {
            [] | [_] => None,
            [_, start, end] if end > start => Some((start, end)),
            [_, _, _] => {
                return Err(ParseError::new(
                    "the end of the selection window of `compare()` must be after its start",
                    at,
                    close.end,
                ));
            }
            _ => {
                return Err(ParseError::new(
                    "`compare()` takes a start and an end together, or neither",
                    at,
                    close.end,
                ));
            }
        };
        Ok(Compare {
            selection,
            top: numbers
                .first()
                .map_or(10, |n| usize::try_from(*n).unwrap_or(usize::MAX)),
            window,
        })
    }

    /// `, q, …` of `quantile_over_time`: at least one, each in `0..=1`.
    fn quantiles(&mut self) -> Res<Vec<Quantile>> {
        let mut out = Vec::new();
        while out.is_empty() || matches!(self.peek_tok(), Some(Tok::Comma)) {
            self.expect(Tok::Comma, "`,` and a quantile such as `0.9`")?;
            let node = self.unary()?;
            let value = match node.constant()? {
                Lit::Int(i) => i as f64,
                Lit::Float(f) => f,
                _ => f64::NAN,
            };
            if !(0.0..=1.0).contains(&value) {
                return Err(ParseError::new(
                    "a quantile is a number from 0 to 1",
                    node.start,
                    node.end,
                ));
            }
            out.push(Quantile {
                value,
                start: node.start,
                end: node.end,
            });
        }
        Ok(out)
    }
}
