//! The write path: the write-ahead log ([`wal`]), whose fsynced records are what an
//! acknowledgement promises; the group commit that drives it from one thread per table
//! ([`group_commit`]); and the memtable it publishes acknowledged rows to ([`memtable`]).
//! Writes use `storage` only for partition statistics and part handles.

pub(crate) mod group_commit;
pub(crate) mod memtable;
pub(crate) mod wal;
