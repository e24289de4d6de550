//! Keeping stored data in shape while the store runs, and checking it when it does not:
//! [`flush`] (memtable → parts), [`compaction`] (small parts → larger ones), [`retention`]
//! (old hours dropped), [`damage`] (damaged parts quarantined), the manifest [`commit`] they
//! share, and [`schedule`] (when each runs); [`check`] verifies and repairs a data directory
//! offline. Maintenance uses `storage`, `write` and the table's state, never `read`.

pub mod check;
mod commit;
mod compaction;
mod damage;
mod flush;
mod retention;
mod schedule;

pub(crate) use schedule::{flush_loop, upkeep_loop};
