//! The tables of the embedded store. Each table is one instance of the storage engine (its
//! own WAL, memtable, parts and manifest); this says what differs between them: the schema,
//! the time column that partitions rows, the part sort order and the directory.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use datafusion::arrow::array::RecordBatch;
use datafusion::arrow::datatypes::SchemaRef;

use crate::error::StoreError;
use crate::storage::log_rows::{error_schema, log_schema};
use crate::storage::metric_rows::metric_schema;
use crate::storage::replay_rows::replay_schema;
use crate::storage::schema::{col, span_schema};
use crate::storage::stats::{LOG_STATS_COLUMNS, SPAN_STATS_COLUMNS, batch_stats, log_batch_stats};
use tracehouse_store_api::stats::KeyStats;

/// Which rows an engine instance holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Table {
    /// Spans (at the root of the data directory, where they always were).
    Spans,
    /// OTLP log records (`logs/`).
    Logs,
    /// Error occurrences derived at ingest from spans and logs (`errors/`).
    Errors,
    /// Chunks of session recordings (`replay/`), placed in time by their first event.
    Replay,
    /// OTLP metric data points (`metrics/`), placed in time by their time.
    Metrics,
}

impl Table {
    /// Every table.
    pub const ALL: [Table; 5] = [
        Table::Spans,
        Table::Logs,
        Table::Errors,
        Table::Replay,
        Table::Metrics,
    ];

    /// The table's name, as logs, reports and metrics say it.
    pub fn name(self) -> &'static str {
        match self {
            Table::Spans => "spans",
            Table::Logs => "logs",
            Table::Errors => "errors",
            Table::Replay => "replay",
            Table::Metrics => "metrics",
        }
    }

    /// The table's Arrow schema.
    pub fn schema(self) -> SchemaRef {
        match self {
            Table::Spans => span_schema(),
            Table::Logs => log_schema(),
            Table::Errors => error_schema(),
            Table::Replay => replay_schema(),
            Table::Metrics => metric_schema(),
        }
    }

    /// Whether parts of the table keep a trace index (their rows carry trace ids).
    pub fn indexes_traces(self) -> bool {
        matches!(self, Table::Spans | Table::Logs | Table::Errors)
    }

    /// The ns timestamp that places a row in its hour partition and time ranges.
    pub fn time_column(self) -> &'static str {
        match self {
            Table::Spans => col::START_TIME,
            Table::Logs | Table::Errors | Table::Replay | Table::Metrics => col::TIME,
        }
    }

    /// Row order inside a part, as (column, descending): groups what searches filter on,
    /// then time newest first, so that "newest N" searches find their rows at the start of
    /// each group. Spans break ties like the default search order (see
    /// [`crate::storage::granule`]).
    pub fn sort_columns(self) -> &'static [(&'static str, bool)] {
        match self {
            Table::Spans => &[
                (col::SERVICE_NAME, false),
                (col::START_TIME, true),
                (col::TRACE_ID, true),
                (col::SPAN_ID, true),
            ],
            Table::Logs => &[(col::SERVICE_NAME, false), (col::TIME, true)],
            Table::Errors => &[(col::FINGERPRINT, false), (col::TIME, true)],
            Table::Replay => &[(col::SESSION_ID, false), (col::SEQUENCE, false)],
            Table::Metrics => &[(col::METRIC_NAME, false), (col::TIME, true)],
        }
    }

    /// The table's directory under the store's root.
    pub fn dir(self, root: &Path) -> PathBuf {
        match self {
            Table::Spans => root.to_path_buf(),
            Table::Logs => root.join("logs"),
            Table::Errors => root.join("errors"),
            Table::Replay => root.join("replay"),
            Table::Metrics => root.join("metrics"),
        }
    }

    /// Key/value statistics for autocomplete, per (project, hour), of spans and of log
    /// records (errors, replay chunks and metric points are not searched with the query
    /// language).
    pub fn stats(
        self,
        batch: &RecordBatch,
        hour_ns: i64,
    ) -> Result<HashMap<(String, i64), KeyStats>, StoreError> {
        match self {
            Table::Spans => batch_stats(batch, hour_ns),
            Table::Logs => log_batch_stats(batch, hour_ns),
            Table::Errors | Table::Replay | Table::Metrics => Ok(HashMap::new()),
        }
    }

    /// The columns [`Table::stats`] reads.
    pub fn stats_columns(self) -> &'static [&'static str] {
        match self {
            Table::Spans => SPAN_STATS_COLUMNS,
            Table::Logs => LOG_STATS_COLUMNS,
            Table::Errors | Table::Replay | Table::Metrics => &[],
        }
    }
}
