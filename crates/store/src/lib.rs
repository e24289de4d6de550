//! tracehouse storage: the backend-neutral [`Store`] trait and the embedded engine
//! (write-ahead log → memtable → Parquet parts, compaction and retention, DataFusion queries)
//! holding spans, log records and error occurrences.

pub mod check;
pub mod correlate;
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
pub mod stats;
pub mod table;
pub mod wal;

pub use engine::{EmbeddedStore, EngineConfig, EngineStats};
/// The storage contract this engine implements, re-exported so that users of the engine
/// need one dependency.
pub use tracehouse_store_api::*;
