//! The integration tests of `clickhouse`, one test binary: each module is one suite (linking a
//! binary per suite cost half a gigabyte of disk and a link step each).

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a test's panic is its failure report"
)]

mod cluster;
mod common;
mod correlate;
mod delivery;
mod fault;
mod injection;
mod metrics;
mod migrations;
mod otel_metrics;
mod replay;
mod semantic;
