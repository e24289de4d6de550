//! tracehouse's embedded storage engine (write-ahead log → memtable → Parquet parts,
//! compaction and retention, DataFusion queries) holding spans, log records and error
//! occurrences, behind the [`Store`] contract of `tracehouse-store-api`.
//!
//! The modules are laid out by lifecycle, and imports run one way between them:
//! `storage` (what is on disk) ← `write` (WAL, group commit, memtable) ← `table_engine`
//! (one table's shared state and its write entry) ← `read` (queries) and `maintenance`
//! (flush, compaction, retention, quarantine, scheduling, offline checks) ← `engine` (the
//! three tables behind one lock file, and the `Store` implementation). `config` and `error`
//! sit beside them all. Only the items below are public.

mod config;
mod engine;
mod error;
mod maintenance;
mod read;
mod storage;
mod table_engine;
mod write;

pub use config::EngineConfig;
pub use engine::{EmbeddedStore, EngineStats};
pub use maintenance::check;
pub use storage::HOUR_NS;
/// The storage contract this engine implements, re-exported so that users of the engine
/// need one dependency.
pub use tracehouse_store_api::*;
