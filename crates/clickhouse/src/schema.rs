//! The ClickHouse schema and its versioned migrations.
//!
//! Migrations are applied in order at start-up and recorded in `tracehouse_migrations`.
//! ClickHouse has no transactions or locks, so safety with several servers starting at
//! once comes from idempotence instead: every statement is `CREATE … IF NOT EXISTS` /
//! `ADD … IF NOT EXISTS`, so two servers applying the same migration concurrently both
//! succeed and leave the same schema, and the record table is a `ReplacingMergeTree`
//! keyed by version so a migration recorded twice is still one row.
//!
//! Never edit a released migration: add a new one (`released_migrations_render_unchanged`
//! holds a hash of each released statement).
//!
//! Each statement is a template rendered by [`Ddl`] for a single server or a cluster
//! (`ON CLUSTER`, `Replicated*` local tables `T_local` behind `Distributed` tables `T`),
//! so one text serves both layouts. Migration 4 gives the materialized views' tables the
//! deduplication window the source tables already have, so a retried insert is not
//! counted twice in them.
//!
//! Tables (all per database):
//!
//! * `spans` — one row per span. `PARTITION BY toDate(timestamp)` (retention drops whole
//!   days with `ttl_only_drop_parts`), `ORDER BY (project_id, toStartOfHour(timestamp),
//!   service_name, name, timestamp)`: every read is one project and a time window, so
//!   the project and hour lead the key and prune granules; within an hour rows cluster
//!   by service and operation, which compresses well and serves the common
//!   `service:x name:y` filters. Attributes are stored four ways per scope: the text
//!   the query language compares (`attributes`, every key), the numeric view
//!   (`attributes_num`, keys whose value reads as a number), the boolean view
//!   (`attributes_bool`) and the typed JSON of non-string values (`attributes_typed`,
//!   for an exact read-back); all three views are computed at write time by the
//!   query crate's own conversion functions, so SQL comparisons agree with the
//!   in-memory evaluator. Skip indexes: bloom filters on `trace_id` and on the
//!   attribute keys and values, minmax on `duration`.
//! * `trace_index` — trace id → (project, first start, last start, last end), fed by
//!   `trace_index_mv`; trace-by-id reads it first and then scans only that time slice.
//! * `span_keys` / `span_values` — per project and hour, how many spans have each key
//!   (by value type) and each value; fed by `span_keys_mv` / `span_values_mv`, read by
//!   autocomplete.
//! * `log_keys` / `log_values` — the same statistics for log records (migration 5), fed
//!   by `log_keys_mv2` (migration 12: the body only where not empty) / `log_values_mv` from
//!   `logs`: record attributes count as the span
//!   scope (`s:`), resource attributes as `r:`, and the intrinsics are those of logs.
//! * `logs` — one row per log record. `PARTITION BY toDate(time)` (retention drops whole
//!   days), `ORDER BY (project_id, time)`: log reads are one project's newest (or oldest)
//!   records in a window, so the key order is the read order and `ORDER BY time DESC
//!   LIMIT n` reads only the granules it returns. `log_id` (a content hash) breaks ties.
//!   Attribute maps are stored in the same four views as for spans. Skip indexes: a token
//!   bloom filter (`tokenbf_v1`) on the lowercased body's Unicode-separated tokens
//!   (`idx_body_tokens`, v6), which bare-word searches (`hasToken`) use; bloom filters on `trace_id`, `session_id` and the attribute keys
//!   and values; a set index on `level`.
//! * `errors` — one row per error occurrence, derived at write time from the `exception`
//!   events of spans and from error logs with `exception.*` attributes (see
//!   `tracehouse_model::errors`). Same partitioning and `ORDER BY (project_id, time)`;
//!   bloom filters on `fingerprint`, `trace_id` and `session_id` serve a group's page, a
//!   trace's errors and a session's errors.
//! * `saved_views` — saved searches per project (migration 7): `ReplacingMergeTree` by
//!   `(project_id, name)` with a write-time version; deletions are tombstone rows.
//! * `alert_docs`, `alert_history`, `alert_lease` — alert rules and their states as JSON
//!   (a `ReplacingMergeTree` like `saved_views`), the append-only history of each rule, and
//!   the lease that lets one server of several evaluate alerts (migration 11).
//! * `replay` — one row per chunk of a session recording (migration 8): the chunk's rrweb
//!   events as JSON text, its first and last event times. A `ReplacingMergeTree`
//!   `ORDER BY (project_id, session_id, sequence)`, so a session's chunks are read in key
//!   order and a resent chunk (same key, same first event, so the same partition) is
//!   merged away; `PARTITION BY toDate(time)` for retention. Sharded by session, so a
//!   session's chunks and their duplicates meet on one shard.
//! * `otel_metrics` — one row per OTLP metric data point (migration 10), apart from the
//!   span metrics: `ORDER BY (project_id, metric_name, time)`, since every read is one
//!   metric of a project in a window; the typed value, labels and exemplars are JSON text
//!   (`tracehouse_model::MetricPoint`'s). `PARTITION BY toDate(time)` for retention,
//!   sharded by metric name.

/// Oldest ClickHouse release the schema and queries are tested for (`quantilesDD`, the
/// DDSketch of the span metrics, came in 24.1; Map, DateTime64, skip indexes, TTL,
/// server-side parameters and `SET … = DEFAULT` are all older).
pub const MIN_VERSION: (u32, u32) = (24, 1);

/// One schema version.
#[derive(Debug, Clone, Copy)]
pub struct Migration {
    /// Version number, from 1, without gaps.
    pub version: u32,
    /// Short description, recorded with the version.
    pub name: &'static str,
    /// Idempotent statements, run in order (rendered for the layout by [`Ddl`]).
    pub statements: &'static [Statement],
}

/// One statement of a migration: SQL text with placeholders, rendered by [`Ddl`] for a
/// single server or for a cluster, so one text serves both.
///
/// Placeholders: `${ON_CLUSTER}` (nothing, or ` ON CLUSTER 'name'`), `${table:NAME}`
/// (a storage table: `NAME`, or on a cluster its local table `db.NAME_local`),
/// `${name:NAME}` (any other object: `NAME`, on a cluster `db.NAME`) and
/// `${ENGINE:E}` / `${ENGINE:E(args)}` (`E`, or on a replicated cluster
/// `ReplicatedE('/clickhouse/tables/{shard}/{database}/NAME', '{replica}', args)`).
#[derive(Debug, Clone, Copy)]
pub enum Statement {
    /// `CREATE TABLE` of a table that stores rows. On a cluster it becomes a local table
    /// on every node plus a `Distributed` table with the table's own name over them,
    /// which is what tracehouse reads and writes.
    Table {
        /// The table's name (what readers and the writer use).
        name: &'static str,
        /// The `CREATE TABLE IF NOT EXISTS ${table:NAME}${ON_CLUSTER} …` template.
        sql: &'static str,
        /// The `Distributed` sharding key: rows with the same key live on one shard.
        /// `None` for tables only fed by materialized views on the same node (inserts
        /// through their `Distributed` table are refused on a multi-shard cluster).
        shard_key: Option<&'static str>,
    },
    /// Any other statement (materialized views, settings), rendered as is.
    Other(&'static str),
}

/// The table that records applied migrations (a template, like the migrations).
const MIGRATIONS_TABLE: &str =
    "CREATE TABLE IF NOT EXISTS ${name:tracehouse_migrations}${ON_CLUSTER} (
    version UInt32,
    name String,
    applied_at DateTime DEFAULT now()
) ENGINE = ${ENGINE:ReplacingMergeTree}
ORDER BY version";

const V1_SPANS: &str = "CREATE TABLE IF NOT EXISTS ${table:spans}${ON_CLUSTER} (
    project_id LowCardinality(String),
    timestamp DateTime64(9, 'UTC') CODEC(Delta(8), ZSTD(1)),
    end_time DateTime64(9, 'UTC') CODEC(Delta(8), ZSTD(1)),
    duration Int64 CODEC(T64, ZSTD(1)),
    trace_id FixedString(16) CODEC(ZSTD(1)),
    span_id FixedString(8) CODEC(ZSTD(1)),
    parent_span_id Nullable(FixedString(8)) CODEC(ZSTD(1)),
    trace_state String CODEC(ZSTD(1)),
    name LowCardinality(String),
    kind LowCardinality(String),
    status_code LowCardinality(String),
    status_message String CODEC(ZSTD(1)),
    service_name LowCardinality(String),
    service_version LowCardinality(String),
    environment LowCardinality(String),
    scope_name LowCardinality(String),
    scope_version LowCardinality(String),
    scope_attributes String CODEC(ZSTD(1)),
    session_id Nullable(String) CODEC(ZSTD(1)),
    has_error Bool,
    attributes Map(LowCardinality(String), String) CODEC(ZSTD(1)),
    attributes_num Map(LowCardinality(String), Float64) CODEC(ZSTD(1)),
    attributes_bool Map(LowCardinality(String), Bool) CODEC(ZSTD(1)),
    attributes_typed Map(LowCardinality(String), String) CODEC(ZSTD(1)),
    resource_attributes Map(LowCardinality(String), String) CODEC(ZSTD(1)),
    resource_attributes_num Map(LowCardinality(String), Float64) CODEC(ZSTD(1)),
    resource_attributes_bool Map(LowCardinality(String), Bool) CODEC(ZSTD(1)),
    resource_attributes_typed Map(LowCardinality(String), String) CODEC(ZSTD(1)),
    events String CODEC(ZSTD(1)),
    links String CODEC(ZSTD(1)),
    dropped_attributes_count UInt32,
    dropped_events_count UInt32,
    dropped_links_count UInt32,
    INDEX idx_trace_id trace_id TYPE bloom_filter(0.001) GRANULARITY 1,
    INDEX idx_attr_keys mapKeys(attributes) TYPE bloom_filter(0.01) GRANULARITY 1,
    INDEX idx_attr_values mapValues(attributes) TYPE bloom_filter(0.01) GRANULARITY 1,
    INDEX idx_res_keys mapKeys(resource_attributes) TYPE bloom_filter(0.01) GRANULARITY 1,
    INDEX idx_res_values mapValues(resource_attributes) TYPE bloom_filter(0.01) GRANULARITY 1,
    INDEX idx_duration duration TYPE minmax GRANULARITY 1
) ENGINE = ${ENGINE:MergeTree}
PARTITION BY toDate(timestamp)
ORDER BY (project_id, toStartOfHour(timestamp), service_name, name, timestamp)
SETTINGS index_granularity = 8192, ttl_only_drop_parts = 1, non_replicated_deduplication_window = 1000";

const V1_TRACE_INDEX: &str = "CREATE TABLE IF NOT EXISTS ${table:trace_index}${ON_CLUSTER} (
    project_id LowCardinality(String),
    trace_id FixedString(16),
    day Date,
    start_min SimpleAggregateFunction(min, DateTime64(9, 'UTC')),
    start_max SimpleAggregateFunction(max, DateTime64(9, 'UTC')),
    end_max SimpleAggregateFunction(max, DateTime64(9, 'UTC')),
    span_count SimpleAggregateFunction(sum, UInt64)
) ENGINE = ${ENGINE:AggregatingMergeTree}
PARTITION BY day
ORDER BY (project_id, trace_id)
SETTINGS ttl_only_drop_parts = 1";

const V1_TRACE_INDEX_MV: &str =
    "CREATE MATERIALIZED VIEW IF NOT EXISTS ${name:trace_index_mv}${ON_CLUSTER} TO ${table:trace_index} AS
SELECT
    project_id,
    trace_id,
    toDate(timestamp) AS day,
    min(timestamp) AS start_min,
    max(timestamp) AS start_max,
    max(end_time) AS end_max,
    count() AS span_count
FROM ${table:spans}
GROUP BY project_id, trace_id, day";

const V2_KEYS: &str = "CREATE TABLE IF NOT EXISTS ${table:span_keys}${ON_CLUSTER} (
    project_id LowCardinality(String),
    hour DateTime('UTC'),
    field LowCardinality(String),
    type LowCardinality(String),
    count UInt64
) ENGINE = ${ENGINE:SummingMergeTree(count)}
PARTITION BY toDate(hour)
ORDER BY (project_id, hour, field, type)
SETTINGS ttl_only_drop_parts = 1";

// The field of a key is `i:<intrinsic>`, `s:<span attribute>` or `r:<resource
// attribute>`; the type of an attribute follows its typed JSON (strings are not in the
// typed map). The intrinsic names are those of `tracehouse_query::Intrinsic::name`.
const V2_KEYS_MV: &str = "CREATE MATERIALIZED VIEW IF NOT EXISTS ${name:span_keys_mv}${ON_CLUSTER} TO ${table:span_keys} AS
SELECT project_id, toStartOfHour(timestamp) AS hour, k.1 AS field, k.2 AS type, count() AS count
FROM ${table:spans}
ARRAY JOIN arrayConcat(
    [('i:trace_id', 'id'), ('i:span_id', 'id'), ('i:duration', 'duration'),
     ('i:timestamp', 'timestamp'), ('i:span_kind', 'string'), ('i:status_code', 'string'),
     ('i:has_errors', 'bool')],
    if(parent_span_id IS NULL, [], [('i:parent_span_id', 'id')]),
    if(name = '', [], [('i:span_name', 'string')]),
    if(service_name = '', [], [('i:service_name', 'string')]),
    if(service_version = '', [], [('i:service_version', 'string')]),
    if(environment = '', [], [('i:environment', 'string')]),
    if(status_message = '', [], [('i:status_message', 'string')]),
    if(ifNull(session_id, '') = '', [], [('i:secure_session_id', 'string')]),
    arrayMap(x -> ('s:' || x, if(mapContains(attributes_typed, x), multiIf(
        startsWith(attributes_typed[x], '['), 'array',
        startsWith(attributes_typed[x], '{\"$bytes\"'), 'bytes',
        startsWith(attributes_typed[x], '{'), 'map',
        startsWith(attributes_typed[x], 't') OR startsWith(attributes_typed[x], 'f'), 'bool',
        match(attributes_typed[x], '[.eE]'), 'float',
        'int'), 'string')), mapKeys(attributes)),
    arrayMap(x -> ('r:' || x, if(mapContains(resource_attributes_typed, x), multiIf(
        startsWith(resource_attributes_typed[x], '['), 'array',
        startsWith(resource_attributes_typed[x], '{\"$bytes\"'), 'bytes',
        startsWith(resource_attributes_typed[x], '{'), 'map',
        startsWith(resource_attributes_typed[x], 't') OR startsWith(resource_attributes_typed[x], 'f'), 'bool',
        match(resource_attributes_typed[x], '[.eE]'), 'float',
        'int'), 'string')), mapKeys(resource_attributes))
) AS k
GROUP BY project_id, hour, field, type";

const V2_VALUES: &str = "CREATE TABLE IF NOT EXISTS ${table:span_values}${ON_CLUSTER} (
    project_id LowCardinality(String),
    hour DateTime('UTC'),
    field LowCardinality(String),
    value String,
    count UInt64
) ENGINE = ${ENGINE:SummingMergeTree(count)}
PARTITION BY toDate(hour)
ORDER BY (project_id, hour, field, value)
SETTINGS ttl_only_drop_parts = 1";

// Values longer than 200 bytes are counted for their key but not kept as values.
const V2_VALUES_MV: &str = "CREATE MATERIALIZED VIEW IF NOT EXISTS ${name:span_values_mv}${ON_CLUSTER} TO ${table:span_values} AS
SELECT project_id, toStartOfHour(timestamp) AS hour, v.1 AS field, v.2 AS value, count() AS count
FROM ${table:spans}
ARRAY JOIN arrayFilter(p -> length(p.2) <= 200, arrayConcat(
    [('i:span_kind', toString(kind)), ('i:status_code', toString(status_code)),
     ('i:has_errors', if(has_error, 'true', 'false'))],
    if(name = '', [], [('i:span_name', toString(name))]),
    if(service_name = '', [], [('i:service_name', toString(service_name))]),
    if(service_version = '', [], [('i:service_version', toString(service_version))]),
    if(environment = '', [], [('i:environment', toString(environment))]),
    if(status_message = '', [], [('i:status_message', status_message)]),
    if(ifNull(session_id, '') = '', [], [('i:secure_session_id', ifNull(session_id, ''))]),
    arrayMap((x, y) -> ('s:' || x, y), mapKeys(attributes), mapValues(attributes)),
    arrayMap((x, y) -> ('r:' || x, y), mapKeys(resource_attributes), mapValues(resource_attributes))
)) AS v
GROUP BY project_id, hour, field, value";

const V3_LOGS: &str = "CREATE TABLE IF NOT EXISTS ${table:logs}${ON_CLUSTER} (
    project_id LowCardinality(String),
    time DateTime64(9, 'UTC') CODEC(Delta(8), ZSTD(1)),
    observed_time DateTime64(9, 'UTC') CODEC(Delta(8), ZSTD(1)),
    log_id FixedString(16) CODEC(ZSTD(1)),
    trace_id Nullable(FixedString(16)) CODEC(ZSTD(1)),
    span_id Nullable(FixedString(8)) CODEC(ZSTD(1)),
    severity_number UInt8,
    severity_text LowCardinality(String),
    level LowCardinality(String),
    body String CODEC(ZSTD(1)),
    service_name LowCardinality(String),
    service_version LowCardinality(String),
    environment LowCardinality(String),
    scope_name LowCardinality(String),
    session_id Nullable(String) CODEC(ZSTD(1)),
    flags UInt32,
    dropped_attributes_count UInt32,
    attributes Map(LowCardinality(String), String) CODEC(ZSTD(1)),
    attributes_num Map(LowCardinality(String), Float64) CODEC(ZSTD(1)),
    attributes_bool Map(LowCardinality(String), Bool) CODEC(ZSTD(1)),
    attributes_typed Map(LowCardinality(String), String) CODEC(ZSTD(1)),
    resource_attributes Map(LowCardinality(String), String) CODEC(ZSTD(1)),
    resource_attributes_num Map(LowCardinality(String), Float64) CODEC(ZSTD(1)),
    resource_attributes_bool Map(LowCardinality(String), Bool) CODEC(ZSTD(1)),
    resource_attributes_typed Map(LowCardinality(String), String) CODEC(ZSTD(1)),
    INDEX idx_body lowerUTF8(body) TYPE tokenbf_v1(32768, 3, 0) GRANULARITY 1,
    INDEX idx_trace_id trace_id TYPE bloom_filter(0.001) GRANULARITY 1,
    INDEX idx_session_id session_id TYPE bloom_filter(0.01) GRANULARITY 1,
    INDEX idx_level level TYPE set(16) GRANULARITY 1,
    INDEX idx_attr_keys mapKeys(attributes) TYPE bloom_filter(0.01) GRANULARITY 1,
    INDEX idx_attr_values mapValues(attributes) TYPE bloom_filter(0.01) GRANULARITY 1,
    INDEX idx_res_keys mapKeys(resource_attributes) TYPE bloom_filter(0.01) GRANULARITY 1,
    INDEX idx_res_values mapValues(resource_attributes) TYPE bloom_filter(0.01) GRANULARITY 1
) ENGINE = ${ENGINE:MergeTree}
PARTITION BY toDate(time)
ORDER BY (project_id, time)
SETTINGS index_granularity = 8192, ttl_only_drop_parts = 1, non_replicated_deduplication_window = 1000";

const V3_ERRORS: &str = "CREATE TABLE IF NOT EXISTS ${table:errors}${ON_CLUSTER} (
    project_id LowCardinality(String),
    time DateTime64(9, 'UTC') CODEC(Delta(8), ZSTD(1)),
    fingerprint LowCardinality(String),
    type LowCardinality(String),
    message String CODEC(ZSTD(1)),
    stacktrace String CODEC(ZSTD(1)),
    service_name LowCardinality(String),
    service_version LowCardinality(String),
    environment LowCardinality(String),
    trace_id Nullable(FixedString(16)) CODEC(ZSTD(1)),
    span_id Nullable(FixedString(8)) CODEC(ZSTD(1)),
    session_id Nullable(String) CODEC(ZSTD(1)),
    source LowCardinality(String),
    INDEX idx_fingerprint fingerprint TYPE bloom_filter(0.01) GRANULARITY 1,
    INDEX idx_trace_id trace_id TYPE bloom_filter(0.001) GRANULARITY 1,
    INDEX idx_session_id session_id TYPE bloom_filter(0.01) GRANULARITY 1
) ENGINE = ${ENGINE:MergeTree}
PARTITION BY toDate(time)
ORDER BY (project_id, time)
SETTINGS index_granularity = 8192, ttl_only_drop_parts = 1, non_replicated_deduplication_window = 1000";

// Retries of an insert carry the same deduplication token; for the rows the materialized
// views derive from it to be deduplicated too (not only the source rows), their target
// tables need a deduplication window as well.
const V4_TRACE_INDEX_DEDUP: &str = "ALTER TABLE ${table:trace_index}${ON_CLUSTER} MODIFY SETTING non_replicated_deduplication_window = 1000";
const V4_KEYS_DEDUP: &str = "ALTER TABLE ${table:span_keys}${ON_CLUSTER} MODIFY SETTING non_replicated_deduplication_window = 1000";
const V4_VALUES_DEDUP: &str = "ALTER TABLE ${table:span_values}${ON_CLUSTER} MODIFY SETTING non_replicated_deduplication_window = 1000";

const V5_LOG_KEYS: &str = "CREATE TABLE IF NOT EXISTS ${table:log_keys}${ON_CLUSTER} (
    project_id LowCardinality(String),
    hour DateTime('UTC'),
    field LowCardinality(String),
    type LowCardinality(String),
    count UInt64
) ENGINE = ${ENGINE:SummingMergeTree(count)}
PARTITION BY toDate(hour)
ORDER BY (project_id, hour, field, type)
SETTINGS ttl_only_drop_parts = 1, non_replicated_deduplication_window = 1000";

// The keys of log records, named like those of spans: `i:<intrinsic>` (the names of
// `tracehouse_query::Intrinsic::name`), `s:<record attribute>`, `r:<resource attribute>`.
// Level, body and time count for every record, ids only where present, the other text
// intrinsics only where set.
const V5_LOG_KEYS_MV: &str = "CREATE MATERIALIZED VIEW IF NOT EXISTS ${name:log_keys_mv}${ON_CLUSTER} TO ${table:log_keys} AS
SELECT project_id, toStartOfHour(time) AS hour, k.1 AS field, k.2 AS type, count() AS count
FROM ${table:logs}
ARRAY JOIN arrayConcat(
    [('i:level', 'string'), ('i:body', 'string'), ('i:timestamp', 'timestamp')],
    if(trace_id IS NULL, [], [('i:trace_id', 'id')]),
    if(span_id IS NULL, [], [('i:span_id', 'id')]),
    if(service_name = '', [], [('i:service_name', 'string')]),
    if(service_version = '', [], [('i:service_version', 'string')]),
    if(environment = '', [], [('i:environment', 'string')]),
    if(ifNull(session_id, '') = '', [], [('i:secure_session_id', 'string')]),
    arrayMap(x -> ('s:' || x, if(mapContains(attributes_typed, x), multiIf(
        startsWith(attributes_typed[x], '['), 'array',
        startsWith(attributes_typed[x], '{\"$bytes\"'), 'bytes',
        startsWith(attributes_typed[x], '{'), 'map',
        startsWith(attributes_typed[x], 't') OR startsWith(attributes_typed[x], 'f'), 'bool',
        match(attributes_typed[x], '[.eE]'), 'float',
        'int'), 'string')), mapKeys(attributes)),
    arrayMap(x -> ('r:' || x, if(mapContains(resource_attributes_typed, x), multiIf(
        startsWith(resource_attributes_typed[x], '['), 'array',
        startsWith(resource_attributes_typed[x], '{\"$bytes\"'), 'bytes',
        startsWith(resource_attributes_typed[x], '{'), 'map',
        startsWith(resource_attributes_typed[x], 't') OR startsWith(resource_attributes_typed[x], 'f'), 'bool',
        match(resource_attributes_typed[x], '[.eE]'), 'float',
        'int'), 'string')), mapKeys(resource_attributes))
) AS k
GROUP BY project_id, hour, field, type";

const V5_LOG_VALUES: &str = "CREATE TABLE IF NOT EXISTS ${table:log_values}${ON_CLUSTER} (
    project_id LowCardinality(String),
    hour DateTime('UTC'),
    field LowCardinality(String),
    value String,
    count UInt64
) ENGINE = ${ENGINE:SummingMergeTree(count)}
PARTITION BY toDate(hour)
ORDER BY (project_id, hour, field, value)
SETTINGS ttl_only_drop_parts = 1, non_replicated_deduplication_window = 1000";

// Ids, bodies and timestamps have no values; values longer than 200 bytes are counted for
// their key but not kept.
const V5_LOG_VALUES_MV: &str = "CREATE MATERIALIZED VIEW IF NOT EXISTS ${name:log_values_mv}${ON_CLUSTER} TO ${table:log_values} AS
SELECT project_id, toStartOfHour(time) AS hour, v.1 AS field, v.2 AS value, count() AS count
FROM ${table:logs}
ARRAY JOIN arrayFilter(p -> length(p.2) <= 200, arrayConcat(
    [('i:level', toString(level))],
    if(service_name = '', [], [('i:service_name', toString(service_name))]),
    if(service_version = '', [], [('i:service_version', toString(service_version))]),
    if(environment = '', [], [('i:environment', toString(environment))]),
    if(ifNull(session_id, '') = '', [], [('i:secure_session_id', ifNull(session_id, ''))]),
    arrayMap((x, y) -> ('s:' || x, y), mapKeys(attributes), mapValues(attributes)),
    arrayMap((x, y) -> ('r:' || x, y), mapKeys(resource_attributes), mapValues(resource_attributes))
)) AS v
GROUP BY project_id, hour, field, value";

/// The body's token bloom filter over the evaluator's tokens ([`crate::sql::token_text`]):
/// ClickHouse's own tokens split only at ASCII characters, so an em space or an em dash
/// would hide a word from the index of v3.
const V6_BODY_TOKENS: &str = "ALTER TABLE ${table:logs}${ON_CLUSTER} ADD INDEX IF NOT EXISTS idx_body_tokens arrayStringConcat(splitByRegexp('[^\\\\p{L}\\\\p{N}\\\\p{M}]+', lowerUTF8(body)), ' ') TYPE tokenbf_v1(32768, 3, 0) GRANULARITY 1";
const V8_REPLAY: &str = "CREATE TABLE IF NOT EXISTS ${table:replay}${ON_CLUSTER} (
    project_id LowCardinality(String),
    session_id String,
    sequence UInt32,
    time DateTime64(9, 'UTC') CODEC(Delta(8), ZSTD(1)),
    end_time DateTime64(9, 'UTC') CODEC(Delta(8), ZSTD(1)),
    event_count UInt32,
    events String CODEC(ZSTD(3))
) ENGINE = ${ENGINE:ReplacingMergeTree}
PARTITION BY toDate(time)
ORDER BY (project_id, session_id, sequence)
SETTINGS index_granularity = 256, ttl_only_drop_parts = 1, non_replicated_deduplication_window = 1000";
const V6_DROP_BODY: &str = "ALTER TABLE ${table:logs}${ON_CLUSTER} DROP INDEX IF EXISTS idx_body";

// Saved views (`tracehouse_store_api::views`): the latest row of a (project, name) wins
// (`version`: ns at the write), a deletion is a row with `deleted`; reads use `FINAL`. The
// view itself is its JSON, so the table need not change with its fields. Sharded by project,
// so `FINAL` on each shard sees all rows of a key.
const V7_SAVED_VIEWS: &str = "CREATE TABLE IF NOT EXISTS ${table:saved_views}${ON_CLUSTER} (
    project_id String,
    name String,
    view String CODEC(ZSTD(1)),
    deleted Bool,
    version UInt64
) ENGINE = ${ENGINE:ReplacingMergeTree(version)}
ORDER BY (project_id, name)";

// Span metrics per minute, service, span name, kind and status: counts, duration bounds
// and a DDSketch of durations at 1 % relative error (`tracehouse_store_api::metrics`),
// merged by the engine as parts merge and at query time with `quantilesDDMerge`.
const V9_SPAN_METRICS: &str = "CREATE TABLE IF NOT EXISTS ${table:span_metrics}${ON_CLUSTER} (
    project_id LowCardinality(String),
    minute DateTime('UTC'),
    service_name LowCardinality(String),
    name LowCardinality(String),
    kind LowCardinality(String),
    status_code LowCardinality(String),
    count SimpleAggregateFunction(sum, UInt64),
    errors SimpleAggregateFunction(sum, UInt64),
    duration_min SimpleAggregateFunction(min, Int64),
    duration_max SimpleAggregateFunction(max, Int64),
    duration_sum SimpleAggregateFunction(sum, Int64),
    duration_sketch AggregateFunction(quantilesDD(0.01, 0.5), Int64)
) ENGINE = ${ENGINE:AggregatingMergeTree}
PARTITION BY toDate(minute)
ORDER BY (project_id, minute, service_name, name, kind, status_code)
SETTINGS ttl_only_drop_parts = 1, non_replicated_deduplication_window = 1000";

const V9_SPAN_METRICS_MV: &str = "CREATE MATERIALIZED VIEW IF NOT EXISTS ${name:span_metrics_mv}${ON_CLUSTER} TO ${table:span_metrics} AS
SELECT
    project_id,
    toDateTime(toStartOfMinute(timestamp), 'UTC') AS minute,
    service_name,
    name,
    kind,
    status_code,
    count() AS count,
    countIf(has_error) AS errors,
    min(duration) AS duration_min,
    max(duration) AS duration_max,
    sum(duration) AS duration_sum,
    quantilesDDState(0.01, 0.5)(duration) AS duration_sketch
FROM ${table:spans}
GROUP BY project_id, minute, service_name, name, kind, status_code";

// OTLP metric data points (`tracehouse_model::MetricPoint`), apart from the span metrics:
// one row per point, the typed value, labels and exemplars as JSON text. Reads are one
// metric of a project in a window, which the key order serves.
const V10_OTEL_METRICS: &str = "CREATE TABLE IF NOT EXISTS ${table:otel_metrics}${ON_CLUSTER} (
    project_id LowCardinality(String),
    metric_name LowCardinality(String),
    metric_type LowCardinality(String),
    unit LowCardinality(String),
    description String CODEC(ZSTD(1)),
    service_name LowCardinality(String),
    scope_name LowCardinality(String),
    start_time DateTime64(9, 'UTC') CODEC(Delta(8), ZSTD(1)),
    time DateTime64(9, 'UTC') CODEC(Delta(8), ZSTD(1)),
    attributes String CODEC(ZSTD(1)),
    resource_attributes String CODEC(ZSTD(1)),
    point_value String CODEC(ZSTD(1)),
    exemplars String CODEC(ZSTD(1)),
    flags UInt32
) ENGINE = ${ENGINE:MergeTree}
PARTITION BY toDate(time)
ORDER BY (project_id, metric_name, time)
SETTINGS ttl_only_drop_parts = 1, non_replicated_deduplication_window = 1000";

// Alerts (`tracehouse_store_api::alerts`): rules and rule states as JSON documents, the
// latest row of a (project, kind, id) winning as in `saved_views`; the history appended to;
// the evaluator's lease, one row per name whose latest version wins. Documents and history
// are sharded by project; the lease lives on one shard (key 0), so every server reads the
// same row.
const V11_ALERT_DOCS: &str = "CREATE TABLE IF NOT EXISTS ${table:alert_docs}${ON_CLUSTER} (
    project_id String,
    kind LowCardinality(String),
    id String,
    doc String CODEC(ZSTD(1)),
    deleted Bool,
    version UInt64
) ENGINE = ${ENGINE:ReplacingMergeTree(version)}
ORDER BY (project_id, kind, id)";

const V11_ALERT_HISTORY: &str = "CREATE TABLE IF NOT EXISTS ${table:alert_history}${ON_CLUSTER} (
    project_id String,
    rule_id String,
    at_ns Int64,
    event String CODEC(ZSTD(1))
) ENGINE = ${ENGINE:MergeTree}
ORDER BY (project_id, rule_id, at_ns)
SETTINGS non_replicated_deduplication_window = 1000";

const V11_ALERT_LEASE: &str = "CREATE TABLE IF NOT EXISTS ${table:alert_lease}${ON_CLUSTER} (
    name String,
    holder String,
    expires_ns Int64,
    version UInt64
) ENGINE = ${ENGINE:ReplacingMergeTree(version)}
ORDER BY name";

// Migration 12: a log record's body counts as a key only where it is not empty, as
// `body EXISTS` finds it (v5 counted every record's). The view is replaced under a new name,
// so that the migration stays idempotent.
const V12_DROP_LOG_KEYS_MV: &str = "DROP VIEW IF EXISTS ${name:log_keys_mv}${ON_CLUSTER}";
const V12_LOG_KEYS_MV: &str = "CREATE MATERIALIZED VIEW IF NOT EXISTS ${name:log_keys_mv2}${ON_CLUSTER} TO ${table:log_keys} AS
SELECT project_id, toStartOfHour(time) AS hour, k.1 AS field, k.2 AS type, count() AS count
FROM ${table:logs}
ARRAY JOIN arrayConcat(
    [('i:level', 'string'), ('i:timestamp', 'timestamp')],
    if(body = '', [], [('i:body', 'string')]),
    if(trace_id IS NULL, [], [('i:trace_id', 'id')]),
    if(span_id IS NULL, [], [('i:span_id', 'id')]),
    if(service_name = '', [], [('i:service_name', 'string')]),
    if(service_version = '', [], [('i:service_version', 'string')]),
    if(environment = '', [], [('i:environment', 'string')]),
    if(ifNull(session_id, '') = '', [], [('i:secure_session_id', 'string')]),
    arrayMap(x -> ('s:' || x, if(mapContains(attributes_typed, x), multiIf(
        startsWith(attributes_typed[x], '['), 'array',
        startsWith(attributes_typed[x], '{\"$bytes\"'), 'bytes',
        startsWith(attributes_typed[x], '{'), 'map',
        startsWith(attributes_typed[x], 't') OR startsWith(attributes_typed[x], 'f'), 'bool',
        match(attributes_typed[x], '[.eE]'), 'float',
        'int'), 'string')), mapKeys(attributes)),
    arrayMap(x -> ('r:' || x, if(mapContains(resource_attributes_typed, x), multiIf(
        startsWith(resource_attributes_typed[x], '['), 'array',
        startsWith(resource_attributes_typed[x], '{\"$bytes\"'), 'bytes',
        startsWith(resource_attributes_typed[x], '{'), 'map',
        startsWith(resource_attributes_typed[x], 't') OR startsWith(resource_attributes_typed[x], 'f'), 'bool',
        match(resource_attributes_typed[x], '[.eE]'), 'float',
        'int'), 'string')), mapKeys(resource_attributes))
) AS k
GROUP BY project_id, hour, field, type";

/// Every migration, oldest first.
pub const MIGRATIONS: &[Migration] = &[
    Migration {
        version: 1,
        name: "spans table, trace index and its materialized view",
        statements: &[
            Statement::Table {
                name: "spans",
                sql: V1_SPANS,
                shard_key: Some("cityHash64(trace_id)"),
            },
            Statement::Table {
                name: "trace_index",
                sql: V1_TRACE_INDEX,
                shard_key: None,
            },
            Statement::Other(V1_TRACE_INDEX_MV),
        ],
    },
    Migration {
        version: 2,
        name: "key and value statistics for autocomplete",
        statements: &[
            Statement::Table {
                name: "span_keys",
                sql: V2_KEYS,
                shard_key: None,
            },
            Statement::Other(V2_KEYS_MV),
            Statement::Table {
                name: "span_values",
                sql: V2_VALUES,
                shard_key: None,
            },
            Statement::Other(V2_VALUES_MV),
        ],
    },
    Migration {
        version: 3,
        name: "log records and error occurrences",
        statements: &[
            Statement::Table {
                name: "logs",
                sql: V3_LOGS,
                shard_key: Some("cityHash64(log_id)"),
            },
            Statement::Table {
                name: "errors",
                sql: V3_ERRORS,
                shard_key: Some("cityHash64(fingerprint)"),
            },
        ],
    },
    Migration {
        version: 4,
        name: "deduplication window on the materialized views' tables",
        statements: &[
            Statement::Other(V4_TRACE_INDEX_DEDUP),
            Statement::Other(V4_KEYS_DEDUP),
            Statement::Other(V4_VALUES_DEDUP),
        ],
    },
    Migration {
        version: 5,
        name: "key and value statistics of log records for autocomplete",
        statements: &[
            Statement::Table {
                name: "log_keys",
                sql: V5_LOG_KEYS,
                shard_key: None,
            },
            Statement::Other(V5_LOG_KEYS_MV),
            Statement::Table {
                name: "log_values",
                sql: V5_LOG_VALUES,
                shard_key: None,
            },
            Statement::Other(V5_LOG_VALUES_MV),
        ],
    },
    Migration {
        version: 6,
        name: "log body token index over Unicode-separated tokens",
        statements: &[
            Statement::Other(V6_BODY_TOKENS),
            Statement::Other(V6_DROP_BODY),
        ],
    },
    Migration {
        version: 7,
        name: "saved views",
        statements: &[Statement::Table {
            name: "saved_views",
            sql: V7_SAVED_VIEWS,
            shard_key: Some("cityHash64(project_id)"),
        }],
    },
    Migration {
        version: 8,
        name: "session replay chunks",
        statements: &[Statement::Table {
            name: "replay",
            sql: V8_REPLAY,
            shard_key: Some("cityHash64(session_id)"),
        }],
    },
    Migration {
        version: 9,
        name: "span metrics per minute, service, span name, kind and status",
        statements: &[
            Statement::Table {
                name: "span_metrics",
                sql: V9_SPAN_METRICS,
                shard_key: None,
            },
            Statement::Other(V9_SPAN_METRICS_MV),
        ],
    },
    Migration {
        version: 10,
        name: "OTLP metric data points",
        statements: &[Statement::Table {
            name: "otel_metrics",
            sql: V10_OTEL_METRICS,
            shard_key: Some("cityHash64(metric_name)"),
        }],
    },
    Migration {
        version: 11,
        name: "alert rules, states, history and the evaluator's lease",
        statements: &[
            Statement::Table {
                name: "alert_docs",
                sql: V11_ALERT_DOCS,
                shard_key: Some("cityHash64(project_id)"),
            },
            Statement::Table {
                name: "alert_history",
                sql: V11_ALERT_HISTORY,
                shard_key: Some("cityHash64(project_id)"),
            },
            Statement::Table {
                name: "alert_lease",
                sql: V11_ALERT_LEASE,
                shard_key: Some("0"),
            },
        ],
    },
    Migration {
        version: 12,
        name: "log keys: the body only where it is not empty",
        statements: &[
            Statement::Other(V12_DROP_LOG_KEYS_MV),
            Statement::Other(V12_LOG_KEYS_MV),
        ],
    },
];

/// The newest schema version.
pub fn latest_version() -> u32 {
    MIGRATIONS.last().map_or(0, |m| m.version)
}

/// Tables that carry a retention TTL, with the time expression it applies to.
pub const TTL_TABLES: &[(&str, &str)] = &[
    ("spans", "toDateTime(timestamp)"),
    ("trace_index", "toDateTime(day)"),
    ("span_keys", "hour"),
    ("span_values", "hour"),
    ("logs", "toDateTime(time)"),
    ("errors", "toDateTime(time)"),
    ("log_keys", "hour"),
    ("log_values", "hour"),
    ("replay", "toDateTime(time)"),
    ("span_metrics", "minute"),
    ("otel_metrics", "toDateTime(time)"),
];

/// A ClickHouse cluster to create the schema on (a `remote_servers` entry of the
/// servers' configuration).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cluster {
    /// The cluster's name in `remote_servers`.
    pub name: String,
    /// `Replicated*` engines (ZooKeeper/Keeper paths from the `{shard}` and `{replica}`
    /// macros). `false`: plain engines on every shard (sharding without replicas).
    pub replicated: bool,
    /// Run the DDL with `ON CLUSTER` (distributed DDL, needs Keeper). `false`: the DDL
    /// creates the objects on the connected server only (a one-node cluster, or a
    /// schema created on every node by running tracehouse against each).
    pub on_cluster: bool,
}

impl Cluster {
    /// A replicated cluster whose schema is created with `ON CLUSTER name`: what
    /// `--clickhouse-cluster` selects.
    pub fn new(name: impl Into<String>) -> Self {
        Cluster {
            name: name.into(),
            replicated: true,
            on_cluster: true,
        }
    }
}

/// Whether `name` may be used as a cluster name (it is written into DDL, quoted).
pub fn valid_cluster_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 128
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.'))
}

/// Renders the schema's statements for one database, on a single server or a cluster.
///
/// On a single server every table has its own name and plain engines. On a cluster each
/// storage table `T` is a local table `T_local` on every node (a `Replicated*` engine
/// at `/clickhouse/tables/{shard}/{database}/T`) plus a `Distributed` table `T` over
/// them; materialized views read and feed the local tables of their node, and the
/// readers and the writer use the `Distributed` names, so they are the same in both
/// layouts. The migrations record is replicated to every node of the cluster (one
/// Keeper path for all shards), so any node knows the schema version.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ddl {
    database: String,
    cluster: Option<Cluster>,
}

impl Ddl {
    /// The statements for `database` (a valid identifier, checked by the caller) on a
    /// single server (`None`) or on `cluster`.
    pub fn new(database: impl Into<String>, cluster: Option<Cluster>) -> Self {
        Ddl {
            database: database.into(),
            cluster,
        }
    }

    /// The cluster, if any.
    pub fn cluster(&self) -> Option<&Cluster> {
        self.cluster.as_ref()
    }

    fn on_cluster(&self) -> String {
        match &self.cluster {
            Some(c) if c.on_cluster => format!(" ON CLUSTER '{}'", c.name),
            _ => String::new(),
        }
    }

    /// Where the rows of table `name` are stored: `name`, or on a cluster the
    /// node's local table `` `db`.name_local ``.
    pub fn storage_table(&self, name: &str) -> String {
        match &self.cluster {
            None => name.to_string(),
            Some(_) => format!("`{}`.{name}_local", self.database),
        }
    }

    /// `CREATE DATABASE IF NOT EXISTS`.
    pub fn create_database(&self) -> String {
        format!(
            "CREATE DATABASE IF NOT EXISTS `{}`{}",
            self.database,
            self.on_cluster()
        )
    }

    /// The `CREATE TABLE` of the migrations record.
    pub fn migrations_table(&self) -> String {
        // On a cluster, one Keeper path for every shard: all nodes are replicas of one
        // record, so the replica name includes the shard.
        self.render(
            MIGRATIONS_TABLE,
            "/clickhouse/tables/{database}/tracehouse_migrations",
            "{shard}-{replica}",
        )
    }

    /// The statements of one migration, in order.
    pub fn migration(&self, m: &Migration) -> Vec<String> {
        let mut out = Vec::new();
        for st in m.statements {
            match *st {
                Statement::Other(sql) => out.push(self.render(sql, "", "")),
                Statement::Table {
                    name,
                    sql,
                    shard_key,
                } => {
                    let path = format!("/clickhouse/tables/{{shard}}/{{database}}/{name}");
                    out.push(self.render(sql, &path, "{replica}"));
                    if let Some(c) = &self.cluster {
                        let key = shard_key.map(|k| format!(", {k}")).unwrap_or_default();
                        out.push(format!(
                            "CREATE TABLE IF NOT EXISTS `{db}`.{name}{on} AS {local}\nENGINE = Distributed('{cluster}', '{db}', '{name}_local'{key})",
                            db = self.database,
                            on = self.on_cluster(),
                            local = self.storage_table(name),
                            cluster = c.name,
                        ));
                    }
                }
            }
        }
        out
    }

    /// `ALTER TABLE … MODIFY TTL` (or `REMOVE TTL` for `None`) of the storage table
    /// `table` with the time expression `time`.
    pub fn ttl(&self, table: &str, time: &str, retention: Option<std::time::Duration>) -> String {
        let head = format!(
            "ALTER TABLE {}{}",
            self.storage_table(table),
            self.on_cluster()
        );
        match retention {
            Some(r) => format!(
                "{head} MODIFY TTL {time} + toIntervalSecond({})",
                r.as_secs().max(1)
            ),
            None => format!("{head} REMOVE TTL"),
        }
    }

    /// Substitutes the placeholders of `template`; `path` and `replica` are the Keeper
    /// path and replica name of a replicated engine.
    fn render(&self, template: &str, path: &str, replica: &str) -> String {
        let mut out = String::with_capacity(template.len() + 128);
        let mut rest = template;
        while let Some(i) = rest.find("${") {
            out.push_str(&rest[..i]);
            let end = rest[i..]
                .find('}')
                .map(|e| i + e)
                .unwrap_or_else(|| panic!("unclosed placeholder in {template}"));
            let ph = &rest[i + 2..end];
            if ph == "ON_CLUSTER" {
                out.push_str(&self.on_cluster());
            } else if let Some(t) = ph.strip_prefix("table:") {
                out.push_str(&self.storage_table(t));
            } else if let Some(n) = ph.strip_prefix("name:") {
                match &self.cluster {
                    None => out.push_str(n),
                    Some(_) => out.push_str(&format!("`{}`.{n}", self.database)),
                }
            } else if let Some(e) = ph.strip_prefix("ENGINE:") {
                out.push_str(&self.engine(e, path, replica));
            } else {
                panic!("unknown placeholder ${{{ph}}} in {template}");
            }
            rest = &rest[end + 1..];
        }
        out.push_str(rest);
        out
    }

    fn engine(&self, engine: &str, path: &str, replica: &str) -> String {
        match &self.cluster {
            Some(c) if c.replicated => {
                let (name, args) = match engine.split_once('(') {
                    Some((n, a)) => (n, format!(", {}", a.trim_end_matches(')'))),
                    None => (engine, String::new()),
                };
                format!("Replicated{name}('{path}', '{replica}'{args})")
            }
            _ => engine.to_string(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tracehouse_query::Intrinsic;

    fn single() -> Ddl {
        Ddl::new("tracehouse", None)
    }

    fn cluster() -> Ddl {
        Ddl::new("tracehouse", Some(Cluster::new("traces")))
    }

    #[test]
    fn versions_are_consecutive_and_idempotent() {
        for (i, m) in MIGRATIONS.iter().enumerate() {
            assert_eq!(m.version as usize, i + 1);
            for ddl in [single(), cluster()] {
                for s in ddl.migration(m) {
                    assert!(
                        s.contains("IF NOT EXISTS")
                            || s.contains(" DROP INDEX IF EXISTS ")
                            || s.starts_with("DROP VIEW IF EXISTS ")
                            || s.contains(" MODIFY SETTING "),
                        "not idempotent: {s}"
                    );
                    assert!(!s.contains("${"), "placeholder left: {s}");
                }
            }
        }
    }

    fn fnv1a(text: &str) -> u64 {
        text.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| {
            (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
        })
    }

    /// Released migrations are never edited: their single-server text is exactly the
    /// text servers ran when they were released (a hash of each statement).
    #[test]
    fn released_migrations_render_unchanged() {
        let released: &[(u32, &[u64])] = &[
            (
                1,
                &[
                    0x2025_eff3_5107_593f,
                    0x4c75_0a4d_586b_0582,
                    0x037a_29b9_fc95_020f,
                ],
            ),
            (
                2,
                &[
                    0xc036_c587_a7ff_f2e7,
                    0xd095_d5a2_cebe_863b,
                    0x77e7_fbbd_33d5_dd18,
                    0xeecb_7a89_e3d0_0cf4,
                ],
            ),
            (3, &[0x4126_9f97_8cff_c4bf, 0xdc56_6da7_0804_82a4]),
            (
                4,
                &[
                    0xa950_4280_7c59_0583,
                    0x38ba_e651_1c42_4878,
                    0xb69c_5496_8e64_d9ca,
                ],
            ),
            (
                5,
                &[
                    0x8c18_e2a0_54b5_86cf,
                    0x005e_5de4_3751_ee77,
                    0x5fd7_2904_93fd_bc0c,
                    0x7c9c_081c_c872_2116,
                ],
            ),
        ];
        for (version, hashes) in released {
            let m = &MIGRATIONS[*version as usize - 1];
            let got: Vec<u64> = single().migration(m).iter().map(|s| fnv1a(s)).collect();
            assert_eq!(&got, hashes, "migration {version} changed");
        }
        assert_eq!(fnv1a(&single().migrations_table()), 0x35dd_28d6_ca53_1b97);
    }

    #[test]
    fn single_server_statements_name_the_tables_themselves() {
        let all: Vec<String> = MIGRATIONS
            .iter()
            .flat_map(|m| single().migration(m))
            .collect();
        assert!(all[0].starts_with("CREATE TABLE IF NOT EXISTS spans (\n"));
        assert!(all.iter().all(|s| !s.contains("_local")
            && !s.contains("Replicated")
            && !s.contains("ON CLUSTER")
            && !s.contains("Distributed")));
        assert_eq!(
            single().ttl("spans", "toDateTime(timestamp)", None),
            "ALTER TABLE spans REMOVE TTL"
        );
        assert_eq!(
            single().create_database(),
            "CREATE DATABASE IF NOT EXISTS `tracehouse`"
        );
    }

    /// The `CREATE TABLE` statements of `name` on the cluster: local, then distributed.
    fn cluster_tables(name: &str) -> (String, Option<String>) {
        let all: Vec<String> = MIGRATIONS
            .iter()
            .flat_map(|m| cluster().migration(m))
            .collect();
        let local = all
            .iter()
            .find(|s| {
                s.starts_with(&format!(
                    "CREATE TABLE IF NOT EXISTS `tracehouse`.{name}_local ON CLUSTER 'traces' ("
                ))
            })
            .unwrap_or_else(|| panic!("no local table {name}"))
            .clone();
        let dist = all
            .iter()
            .find(|s| {
                s.starts_with(&format!(
                    "CREATE TABLE IF NOT EXISTS `tracehouse`.{name} ON CLUSTER 'traces' AS"
                ))
            })
            .cloned();
        (local, dist)
    }

    #[test]
    fn cluster_tables_are_replicated_local_tables_behind_distributed_ones() {
        let cases = [
            ("spans", "MergeTree", "", Some("cityHash64(trace_id)")),
            ("trace_index", "AggregatingMergeTree", "", None),
            ("span_keys", "SummingMergeTree", ", count", None),
            ("span_values", "SummingMergeTree", ", count", None),
            ("logs", "MergeTree", "", Some("cityHash64(log_id)")),
            ("errors", "MergeTree", "", Some("cityHash64(fingerprint)")),
            ("log_keys", "SummingMergeTree", ", count", None),
            ("log_values", "SummingMergeTree", ", count", None),
        ];
        for (name, engine, args, key) in cases {
            let (local, dist) = cluster_tables(name);
            assert!(
                local.contains(&format!(
                    ") ENGINE = Replicated{engine}('/clickhouse/tables/{{shard}}/{{database}}/{name}', '{{replica}}'{args})\n"
                )),
                "{local}"
            );
            let key = key.map(|k| format!(", {k}")).unwrap_or_default();
            assert_eq!(
                dist.as_deref(),
                Some(
                    format!(
                        "CREATE TABLE IF NOT EXISTS `tracehouse`.{name} ON CLUSTER 'traces' AS `tracehouse`.{name}_local\nENGINE = Distributed('traces', 'tracehouse', '{name}_local'{key})"
                    )
                    .as_str()
                ),
                "{name}"
            );
            // The same columns, keys and settings as the single-server table.
            let single_sql: Vec<String> = MIGRATIONS
                .iter()
                .flat_map(|m| single().migration(m))
                .filter(|s| s.starts_with(&format!("CREATE TABLE IF NOT EXISTS {name} (")))
                .collect();
            assert_eq!(single_sql.len(), 1, "{name}");
            let body = |s: &str| {
                let start = s.find(" (\n").unwrap();
                let end = s.find(") ENGINE = ").unwrap();
                let after = s[end..].split_once('\n').unwrap().1.to_string();
                (s[start..end].to_string(), after)
            };
            assert_eq!(body(&local), body(&single_sql[0]), "{name}");
        }
    }

    #[test]
    fn cluster_views_feed_local_tables_from_local_tables() {
        let all: Vec<String> = MIGRATIONS
            .iter()
            .flat_map(|m| cluster().migration(m))
            .collect();
        for (view, to, from) in [
            ("trace_index_mv", "trace_index", "spans"),
            ("span_keys_mv", "span_keys", "spans"),
            ("span_values_mv", "span_values", "spans"),
            ("log_keys_mv", "log_keys", "logs"),
            ("log_values_mv", "log_values", "logs"),
        ] {
            let sql = all
                .iter()
                .find(|s| s.contains(&format!("VIEW IF NOT EXISTS `tracehouse`.{view} ")))
                .unwrap_or_else(|| panic!("no {view}"));
            assert!(
                sql.contains(&format!(
                    "`tracehouse`.{view} ON CLUSTER 'traces' TO `tracehouse`.{to}_local AS"
                )),
                "{sql}"
            );
            assert!(
                sql.contains(&format!("\nFROM `tracehouse`.{from}_local\n")),
                "{sql}"
            );
        }
        // Every statement runs on the whole cluster.
        for s in &all {
            assert!(s.contains(" ON CLUSTER 'traces'"), "{s}");
        }
        // Version 4's settings go to the local tables.
        let v4 = cluster().migration(&MIGRATIONS[3]);
        assert_eq!(
            v4[0],
            "ALTER TABLE `tracehouse`.trace_index_local ON CLUSTER 'traces' MODIFY SETTING non_replicated_deduplication_window = 1000"
        );
    }

    #[test]
    fn cluster_database_migrations_record_and_ttl() {
        let c = cluster();
        assert_eq!(
            c.create_database(),
            "CREATE DATABASE IF NOT EXISTS `tracehouse` ON CLUSTER 'traces'"
        );
        let m = c.migrations_table();
        assert!(
            m.starts_with(
                "CREATE TABLE IF NOT EXISTS `tracehouse`.tracehouse_migrations ON CLUSTER 'traces' ("
            ),
            "{m}"
        );
        assert!(
            m.contains("ENGINE = ReplicatedReplacingMergeTree('/clickhouse/tables/{database}/tracehouse_migrations', '{shard}-{replica}')\n"),
            "{m}"
        );
        for (table, time) in TTL_TABLES {
            assert_eq!(
                c.ttl(table, time, Some(std::time::Duration::from_secs(86_400))),
                format!(
                    "ALTER TABLE `tracehouse`.{table}_local ON CLUSTER 'traces' MODIFY TTL {time} + toIntervalSecond(86400)"
                )
            );
        }
    }

    #[test]
    fn unreplicated_cluster_without_distributed_ddl() {
        let d = Ddl::new(
            "db",
            Some(Cluster {
                name: "one".into(),
                replicated: false,
                on_cluster: false,
            }),
        );
        let v1 = d.migration(&MIGRATIONS[0]);
        assert!(v1[0].starts_with("CREATE TABLE IF NOT EXISTS `db`.spans_local (\n"));
        assert!(v1[0].contains(") ENGINE = MergeTree\n"));
        assert_eq!(
            v1[1],
            "CREATE TABLE IF NOT EXISTS `db`.spans AS `db`.spans_local\nENGINE = Distributed('one', 'db', 'spans_local', cityHash64(trace_id))"
        );
        assert!(valid_cluster_name("my-cluster.1"));
        assert!(!valid_cluster_name("x'; DROP"));
        assert!(!valid_cluster_name(""));
    }

    #[test]
    fn statistics_use_the_query_language_names() {
        for i in Intrinsic::ALL {
            if matches!(i, Intrinsic::Severity | Intrinsic::Body) {
                continue;
            }
            assert!(
                V2_KEYS_MV.contains(&format!("'i:{}'", i.name())),
                "{}",
                i.name()
            );
        }
    }

    #[test]
    fn log_statistics_use_the_query_language_names() {
        use Intrinsic as I;
        for i in [
            I::Severity,
            I::Body,
            I::TraceId,
            I::SpanId,
            I::ServiceName,
            I::ServiceVersion,
            I::Environment,
            I::SessionId,
            I::Timestamp,
        ] {
            assert!(
                V12_LOG_KEYS_MV.contains(&format!("('i:{}', '", i.name())),
                "{}",
                i.name()
            );
        }
        for i in [
            I::Severity,
            I::ServiceName,
            I::ServiceVersion,
            I::Environment,
            I::SessionId,
        ] {
            assert!(
                V5_LOG_VALUES_MV.contains(&format!("('i:{}', ", i.name())),
                "{}",
                i.name()
            );
        }
    }
}
