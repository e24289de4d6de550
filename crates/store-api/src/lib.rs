//! The storage contract of tracehouse: the [`Store`] trait every backend implements, its
//! requests and answers, and the backend-neutral rules that make backends answer alike —
//! cursors and orderings, structural evaluation and page assembly ([`structure`]), time
//! buckets, log/error/session rules ([`signals`]), what the sessions list reads of a browser
//! session ([`session_pages`]), key statistics ([`stats`]) and the span
//! view evaluators read ([`value`]).
//!
//! It knows nothing of Arrow, Parquet, DataFusion or SQL: the embedded engine
//! (`tracehouse-engine`) and the ClickHouse backend (`tracehouse-clickhouse`) depend on it,
//! and so does the server, which needs nothing else of a backend.
//!
//! The answers the JSON API sends as they are (trace summaries, histograms, error groups,
//! sessions …) derive their OpenAPI schema (`utoipa::ToSchema`); their doc comments are the
//! schema's descriptions, so they speak of the JSON, not of Rust items.

pub mod alerts;
mod api;
mod cursor;
mod error;
pub mod error_sessions;
pub mod graph;
pub mod metrics;
pub mod otel_metrics;
pub mod redelivery;
pub mod replay;
pub mod session_pages;
pub mod signals;
pub mod sort;
pub mod stats;
pub mod structure;
#[cfg(any(test, feature = "testsuite"))]
pub mod testsuite;
pub mod value;
pub mod views;

pub use alerts::{AlertEvent, AlertRule, AlertState};
pub use api::{
    Bucket, ErrorGroup, ErrorGroups, ErrorGroupsQuery, ErrorQuery, Histogram, HistogramQuery,
    KeyInfo, KeyScope, KeysQuery, LogBucket, LogHistogram, LogPage, MAX_CANDIDATE_TRACES,
    MAX_SEARCH_LIMIT, MetricKind, QuarantinedPart, SearchPage, SearchQuery, SessionDetail,
    SessionSummary, SessionsQuery, Store, StoreHealth, StoreMetric, TracePage, TraceSummary,
    ValueCount, ValuesQuery, trace_filter,
};
pub use cursor::{SearchCursor, SearchSort};
pub use error::StoreError;
pub use otel_metrics::{MetricInfo, MetricNamesQuery, MetricPointsQuery};
pub use replay::{ReplayChunk, ReplayPage, ReplayQuery};
pub use views::SavedView;
