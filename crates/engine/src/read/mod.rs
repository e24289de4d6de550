//! Answering queries: snapshots of the memtable and live parts ([`query`]), the compiler of
//! the query crate's filter IR to DataFusion ([`filter`]), the granule scan over indexed
//! parts ([`scan`]), span and trace search and histograms ([`search`]), and logs, errors
//! and sessions ([`correlate`]). Reads use `storage`; nothing else uses them but the engine.

pub(crate) mod correlate;
pub(crate) mod filter;
pub(crate) mod query;
pub(crate) mod scan;
pub(crate) mod search;
