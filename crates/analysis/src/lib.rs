//! Analysis of one trace, computed on read from its spans: the span tree ([`tree`]), the
//! critical path as sections of spans ([`critical_path`]), statistics with self time
//! ([`stats`]), and the alignment of two traces ([`compare`]).
//!
//! Everything here is a pure function of a trace's spans (as the API answers them, after
//! clock-skew adjustment), so the JSON API computes it once and the UI draws what the API
//! says. Spans are named by their index in the slice given, which tells apart spans that share
//! an id.

pub mod compare;
pub mod critical_path;
pub mod stats;
pub mod tree;

#[cfg(test)]
mod testkit;

pub use compare::{CompareRow, CompareSide, Presence, TraceComparison, compare};
pub use critical_path::{CriticalSection, critical_path};
pub use stats::{GroupKey, SpanStats, StatsGroup, StatsRow, TraceStats, trace_stats};
pub use tree::Tree;
