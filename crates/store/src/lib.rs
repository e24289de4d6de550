//! tracehouse storage: the backend-neutral [`Store`] trait and the embedded engine
//! (write-ahead log → memtable → Parquet parts, compaction and retention, DataFusion queries)
//! holding spans, log records and error occurrences.

pub mod api;
pub mod check;
pub mod correlate;
pub mod cursor;
pub mod engine;
pub mod error;
pub mod filter;
pub mod granule;
pub mod log_rows;
pub mod manifest;
pub mod part;
pub mod quarantine;
pub mod query;
pub mod scan;
pub mod schema;
pub mod search;
pub mod signals;
pub mod stats;
pub mod structure;
pub mod table;
pub mod wal;

pub use api::{
    Bucket, ErrorGroup, ErrorGroups, ErrorGroupsQuery, ErrorQuery, Histogram, HistogramQuery,
    KeyInfo, KeyScope, KeysQuery, LogBucket, LogHistogram, LogPage, MAX_CANDIDATE_TRACES,
    MAX_SEARCH_LIMIT, SearchPage, SearchQuery, SessionDetail, SessionSummary, SessionsQuery, Store,
    StoreHealth, StoreStats, TracePage, TraceSummary, ValueCount, ValuesQuery, trace_filter,
};
pub use cursor::{SearchCursor, SearchSort};
pub use engine::{EmbeddedStore, EngineConfig};
pub use error::StoreError;
