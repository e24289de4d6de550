//! Keeping stored data healthy: the offline verification and repair of a data directory
//! ([`check`]) (flush, compaction and retention are still scheduled by [`crate::engine`]).

pub mod check;
