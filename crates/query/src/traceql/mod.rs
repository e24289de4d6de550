//! TraceQL, Grafana Tempo's trace query language, as a second front end: TraceQL text is
//! parsed straight into the same [`Plan`] the native language produces, so every store
//! answers it with no code of its own.
//!
//! Covered: spanset filters with `&&`, `||`, `!`, attributes (`.key`, `span.`, `resource.`,
//! `event.`, `link.`, `instrumentation.`, quoted names), the intrinsics `name`, `status`,
//! `statusMessage`, `kind`, `duration`, `span:id`, `span:parentID`, `trace:id`,
//! `rootName`/`trace:rootName` and `rootServiceName`/`trace:rootService` (as `&&`
//! conditions of a spanset), the operators `= != > >= < <= =~ !~`, `nil`, arithmetic on
//! literals, the structural operators `> >> < << ~` with their negated (`!>` …) and union
//! (`&>` …) forms, spanset `&&`/`||`, and the pipeline stages `count()`, `avg()`, `min()`,
//! `max()`, `sum()`, `by()`, `select()`, `coalesce()` and spanset filters. Metrics queries
//! (`{ } | rate() by (…)`) parse with [`parse_metrics`]. Everything else
//! (other intrinsics such as `trace:duration` or `event:name`, string
//! ordering, comparisons between fields) is a [`ParseError`] that names the construct and
//! points at it.
//!
//! ```
//! use tracehouse_query::traceql;
//!
//! let q = traceql::parse(r#"{ resource.service.name = "frontend" } >> { status = error }"#).unwrap();
//! assert!(q.plan.structure.is_some());
//! let e = traceql::parse("{ trace:duration > 5s }").unwrap_err();
//! assert_eq!((e.start, e.end), (2, 16));
//! ```

mod expr;
mod fields;
mod lexer;
mod metrics;
mod parser;

pub use metrics::{
    ByKey, Compare, MetricsFn, MetricsQl, OverTime, Quantile, Rank, SecondStage, parse_metrics,
};

use crate::error::ParseError;
use crate::plan::{Field, Plan, Structure};

/// A parsed TraceQL query.
#[derive(Debug, Clone, PartialEq)]
pub struct TraceQl {
    /// What the stores answer.
    pub plan: Plan,
    /// The fields `select(…)` asks to return with each matched span, in order.
    pub select: Vec<Field>,
}

/// Parses TraceQL text into a plan over spans. A query that is a single spanset without
/// a pipeline is a plain filter (the spans it selects are exactly the spans that match).
pub fn parse(text: &str) -> Result<TraceQl, ParseError> {
    let tokens = lexer::tokenize(text)?;
    let mut p = parser::Parser::new(&tokens, text.len());
    let structure = p.query()?;
    let plan = match structure {
        Structure::Spanset(filter) => Plan {
            pushdown: filter,
            structure: None,
        },
        other => Plan::of_structure(other),
    };
    Ok(TraceQl {
        plan,
        select: p.select,
    })
}

/// The field one TraceQL identifier names (`.http.method`, `resource.service.name`,
/// `status`, `span:duration`, `trace:rootService` — a trace-level intrinsic names the root
/// span's field), for routes that take an identifier rather than a query.
pub fn parse_field(text: &str) -> Result<Field, ParseError> {
    let tokens = lexer::tokenize(text)?;
    let mut p = parser::Parser::new(&tokens, text.len());
    p.identifier()
}

#[cfg(test)]
mod tests;
