//! The integration tests of `engine`, one test binary: each module is one suite (linking a
//! binary per suite cost half a gigabyte of disk and a link step each).

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a test's panic is its failure report"
)]

mod embedded;
mod fail_safe;
mod granules;
mod layers;
mod logs_errors_sessions;
mod metrics;
mod otel_metrics;
mod redelivery;
mod replay;
mod search;
mod search_bench;
