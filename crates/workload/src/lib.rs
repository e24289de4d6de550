//! Generated traffic for tracehouse: the tools that `tracehouse loadgen`, `tracehouse demo` and
//! the benchmark (`tracehouse-bench`) share.
//!
//! - [`ShopGenerator`]: a deterministic generator of realistic traces from a small
//!   microservice shop, as OTLP export requests; [`logs_of`] derives the log records the
//!   shop's services write while serving them. The same seed gives the same data.
//! - [`MetricsGenerator`]: the OTLP metrics the shop's services export (cumulative request
//!   counters and duration histograms with realistic label sets), deterministic like the
//!   traces.
//! - [`drive`]: the load driver. It sends the shop's traffic to any OTLP endpoint over gRPC or
//!   HTTP/protobuf ([`Protocol`]), rate-limited or flat-out, with concurrent requests, retrying
//!   overload answers with backoff, and reports what the server acknowledged
//!   ([`LoadReport`]). [`LoadConfig`] says what to send; [`progress_bar`] shows it live.
//! - [`backfill`]: a span of recent history sent at once, so that a fresh server has something
//!   to show.
//!
//! With the `clap` feature, [`Protocol`] is a `clap::ValueEnum`.

mod load;
mod metrics;
mod shop;

pub use indicatif::ProgressBar;
pub use load::{LoadConfig, LoadReport, Protocol, backfill, drive, progress_bar};
pub use metrics::{DURATION_METRIC, MetricsGenerator, REQUESTS_METRIC, data_points};
pub use shop::{SERVICES, ShopGenerator, logs_of};
