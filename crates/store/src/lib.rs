//! tracehouse storage: the backend-neutral [`Store`] trait and the embedded engine
//! (write-ahead log → memtable → Parquet parts, compaction and retention, DataFusion queries).

pub mod api;
pub mod cursor;
pub mod engine;
pub mod error;
pub mod filter;
pub mod manifest;
pub mod part;
pub mod query;
pub mod schema;
pub mod search;
pub mod stats;
pub mod structure;
pub mod wal;

pub use api::{
    Bucket, Histogram, HistogramQuery, KeyInfo, KeyScope, KeysQuery, MAX_CANDIDATE_TRACES,
    MAX_SEARCH_LIMIT, SearchPage, SearchQuery, Store, StoreStats, TracePage, TraceSummary,
    ValueCount, ValuesQuery,
};
pub use cursor::{SearchCursor, SearchSort};
pub use engine::{EmbeddedStore, EngineConfig};
pub use error::StoreError;
