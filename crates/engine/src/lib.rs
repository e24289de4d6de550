//! tracehouse's embedded storage engine (write-ahead log → memtable → Parquet parts,
//! compaction and retention, DataFusion queries) holding spans, log records and error
//! occurrences, behind the [`Store`] contract of `tracehouse-store-api`.
//!
//! The modules are laid out by lifecycle, and imports run one way between them:
//! `storage` (what is on disk) ← `write` (the WAL) ← `read` (queries) and `maintenance`
//! (checks) ← `engine` (the tables, group commit, flush, compaction, retention, and the
//! `Store` implementation). Only the items below are public.

mod engine;
mod error;
mod maintenance;
mod read;
mod storage;
mod write;

pub use engine::{EmbeddedStore, EngineConfig, EngineStats};
pub use maintenance::check;
pub use storage::HOUR_NS;
/// The storage contract this engine implements, re-exported so that users of the engine
/// need one dependency.
pub use tracehouse_store_api::*;
