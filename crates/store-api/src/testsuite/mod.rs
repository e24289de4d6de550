//! The conformance suites every backend runs from its own tests (feature `testsuite`): the
//! same data, the same queries, the exact answers, so that backends cannot drift apart.
//! Each suite loads its data set through [`crate::Store`] and panics on the first answer
//! that differs.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a test's panic is its failure report"
)]

pub mod alerts;
pub mod correlate;
pub mod graph;
pub mod metrics;
pub mod otel_metrics;
pub mod redelivery;
pub mod replay;
pub mod semantic;
pub mod testkit;
pub mod traceql;
pub mod views;
