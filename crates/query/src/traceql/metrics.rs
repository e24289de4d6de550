//! TraceQL metrics queries: a spanset filter, then one metrics function and its `by(…)`
//! keys (`{ status = error } | rate() by (resource.service.name)`). The filter lowers to
//! the same [`Plan`] a search uses; what the function computes is left to whoever answers.
//!
//! Covered: `rate()`, `count_over_time()`, `min_over_time(f)`, `max_over_time(f)`,
//! `avg_over_time(f)`, `sum_over_time(f)`, `quantile_over_time(f, q, …)`,
//! `histogram_over_time(f)`, `compare({ selection }, n, start, end)`, each with an optional
//! `by(…)`, an optional second stage `topk(n)` or `bottomk(n)`, and `with(…)` hints. Refused
//! with a positioned error that names them: comparisons of values, arithmetic between
//! metrics, and a metrics function over anything but a single spanset.

use crate::error::ParseError;
use crate::plan::{Field, Filter, Plan, Structure};

use super::lexer;
use super::parser::Parser;

/// A parsed TraceQL metrics query.
#[derive(Debug, Clone, PartialEq)]
pub struct MetricsQl {
    /// The spans measured (a plain filter).
    pub plan: Plan,
    /// What is computed of them per step.
    pub function: MetricsFn,
    /// The keys series are split by, in order.
    pub by: Vec<ByKey>,
    /// `| topk(n)` or `| bottomk(n)` after the function.
    pub second_stage: Option<SecondStage>,
}

/// A second stage: keeps the `limit` series with the largest (`topk`) or smallest
/// (`bottomk`) average value over their samples.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SecondStage {
    /// `topk` or `bottomk`.
    pub op: Rank,
    /// Series kept, at least one.
    pub limit: usize,
}

/// Which end of the ranking a [`SecondStage`] keeps.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rank {
    /// `topk`: the largest averages first.
    Top,
    /// `bottomk`: the smallest averages first.
    Bottom,
}

/// A `by(…)` key: the field and its label in answers (the key as written).
#[derive(Debug, Clone, PartialEq)]
pub struct ByKey {
    /// As written in the query (`resource.service.name`, `name`).
    pub label: String,
    /// The field.
    pub field: Field,
}

/// A metrics function.
#[derive(Debug, Clone, PartialEq)]
pub enum MetricsFn {
    /// `rate()`: spans per second.
    Rate,
    /// `count_over_time()`: spans per step.
    CountOverTime,
    /// `min_over_time(f)`, `max_over_time(f)`, `avg_over_time(f)`, `sum_over_time(f)`.
    OverTime(OverTime, Field),
    /// `quantile_over_time(f, q, …)`: one series per quantile.
    Quantile(Field, Vec<Quantile>),
    /// `histogram_over_time(f)`: spans per step and power-of-two bucket of `f`.
    Histogram(Field),
    /// `compare({ … }, n, start, end)`: the values of every attribute in the selection
    /// against the rest of the spans (the baseline).
    Compare(Compare),
}

/// The arguments of `compare()`.
#[derive(Debug, Clone, PartialEq)]
pub struct Compare {
    /// The spans selected; the others are the baseline.
    pub selection: Filter,
    /// Values kept per attribute and side, the most frequent (default 10).
    pub top: usize,
    /// When set, only spans starting in `[start, end)` (ns) are selected.
    pub window: Option<(i64, i64)>,
}

/// The reduction of `…_over_time(f)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OverTime {
    /// `min_over_time`.
    Min,
    /// `max_over_time`.
    Max,
    /// `avg_over_time`.
    Avg,
    /// `sum_over_time`.
    Sum,
}

/// A quantile argument and where it is written (to point at one that cannot be answered).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Quantile {
    /// The quantile, in `0..=1`.
    pub value: f64,
    /// Byte offset of the argument.
    pub start: usize,
    /// Byte offset just past it.
    pub end: usize,
}

impl MetricsFn {
    /// The function's name as TraceQL writes it.
    pub fn name(&self) -> &'static str {
        match self {
            MetricsFn::Rate => "rate",
            MetricsFn::CountOverTime => "count_over_time",
            MetricsFn::OverTime(OverTime::Min, _) => "min_over_time",
            MetricsFn::OverTime(OverTime::Max, _) => "max_over_time",
            MetricsFn::OverTime(OverTime::Avg, _) => "avg_over_time",
            MetricsFn::OverTime(OverTime::Sum, _) => "sum_over_time",
            MetricsFn::Quantile(..) => "quantile_over_time",
            MetricsFn::Histogram(_) => "histogram_over_time",
            MetricsFn::Compare(_) => "compare",
        }
    }

    /// The field measured, if the function measures one.
    pub fn field(&self) -> Option<&Field> {
        match self {
            MetricsFn::Rate | MetricsFn::CountOverTime | MetricsFn::Compare(_) => None,
            MetricsFn::OverTime(_, f) | MetricsFn::Quantile(f, _) | MetricsFn::Histogram(f) => {
                Some(f)
            }
        }
    }
}

/// Parses a TraceQL metrics query.
pub fn parse_metrics(text: &str) -> Result<MetricsQl, ParseError> {
    let tokens = lexer::tokenize(text)?;
    let mut p = Parser::new(&tokens, text.len());
    let parsed = p.metrics_query()?;
    let Structure::Spanset(filter) = parsed.input else {
        return Err(ParseError::new(
            "metrics are answered over a single spanset filter such as `{ status = error }`; \
             structural operators, spanset `&&`/`||` and search pipeline stages before a \
             metrics function are not supported",
            0,
            parsed.input_end,
        ));
    };
    let by = parsed
        .by
        .into_iter()
        .map(|(field, start, end)| ByKey {
            label: text[start..end].to_string(),
            field,
        })
        .collect();
    Ok(MetricsQl {
        plan: Plan {
            pushdown: filter,
            structure: None,
        },
        function: parsed.function,
        by,
        second_stage: parsed.second_stage,
    })
}
