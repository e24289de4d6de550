//! The write path's durable half: the write-ahead log, whose fsynced records are what an
//! acknowledgement promises (the group commit that drives it and the memtable it feeds live
//! in [`crate::engine`]).

pub(crate) mod wal;
