//! Answering queries: snapshots and the reads that use a table's live state directly
//! (unfiltered histograms from per-minute counts, key statistics, trace by id: [`table`];
//! autocomplete's exact statistics of a range: [`keys`]),
//! query execution over a snapshot ([`query`]), the compiler of the query crate's filter IR
//! to DataFusion ([`filter`]), the granule scan over indexed parts ([`scan`]), span and
//! trace search and histograms ([`search`]), the scans of span metrics, alerts and the
//! service map from the matching rows' columns ([`span_scan`]), logs, errors and sessions
//! ([`correlate`]), session
//! recordings ([`replay`]) and OTLP metric points ([`otel_metrics`]).
//! Reads use `storage` and the table's state, never `write` internals or `maintenance`.

pub(crate) mod correlate;
pub(crate) mod filter;
mod keys;
pub(crate) mod otel_metrics;
pub(crate) mod query;
pub(crate) mod replay;
pub(crate) mod scan;
pub(crate) mod search;
pub(crate) mod span_scan;
mod table;

pub(crate) use query::runtime;
