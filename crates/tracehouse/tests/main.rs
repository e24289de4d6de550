//! The integration tests of `tracehouse`, one test binary: each module is one suite (linking a
//! binary per suite cost half a gigabyte of disk and a link step each).

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a test's panic is its failure report"
)]

mod alerts;
mod bad_input;
mod bench_forward;
mod common;
mod compression;
mod cors;
mod crash;
mod demo_browser;
mod fail_safe;
mod fixtures;
mod hostile_clients;
mod interop_python;
mod jaeger_api;
mod jaeger_monitor;
mod jaeger_search;
mod loadgen;
mod logs_api;
mod memory;
mod openapi;
mod otel_metrics_api;
mod otlp_letter;
mod readme_tour;
mod redelivery;
mod replay;
mod saved_views;
mod search_api;
mod services_api;
mod tempo_api;
mod tempo_metrics;
mod trace_analysis;
mod trace_view;
mod zipkin;
