//! tracehouse storage: the backend-neutral [`Store`] trait and the embedded engine
//! (write-ahead log → memtable → Parquet parts, compaction and retention, DataFusion queries).

pub mod api;
pub mod cursor;
pub mod engine;
pub mod error;
pub mod manifest;
pub mod part;
pub mod query;
pub mod schema;
pub mod wal;

pub use api::{SpanListQuery, SpanPage, Store, StoreStats};
pub use cursor::Cursor;
pub use engine::{EmbeddedStore, EngineConfig};
pub use error::StoreError;
