//! The ClickHouse schema and its versioned migrations.
//!
//! Migrations are applied in order at start-up and recorded in `tracehouse_migrations`.
//! ClickHouse has no transactions or locks, so safety with several servers starting at
//! once comes from idempotence instead: every statement is `CREATE … IF NOT EXISTS` /
//! `ADD … IF NOT EXISTS`, so two servers applying the same migration concurrently both
//! succeed and leave the same schema, and the record table is a `ReplacingMergeTree`
//! keyed by version so a migration recorded twice is still one row.
//!
//! Never edit a released migration: add a new one.
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
//! * `logs` — one row per log record. `PARTITION BY toDate(time)` (retention drops whole
//!   days), `ORDER BY (project_id, time)`: log reads are one project's newest (or oldest)
//!   records in a window, so the key order is the read order and `ORDER BY time DESC
//!   LIMIT n` reads only the granules it returns. `log_id` (a content hash) breaks ties.
//!   Attribute maps are stored in the same four views as for spans. Skip indexes: a token
//!   bloom filter (`tokenbf_v1`) on the lowercased body, which bare-word searches
//!   (`hasToken`) use; bloom filters on `trace_id`, `session_id` and the attribute keys
//!   and values; a set index on `level`.
//! * `errors` — one row per error occurrence, derived at write time from the `exception`
//!   events of spans and from error logs with `exception.*` attributes (see
//!   `tracehouse_model::errors`). Same partitioning and `ORDER BY (project_id, time)`;
//!   bloom filters on `fingerprint`, `trace_id` and `session_id` serve a group's page, a
//!   trace's errors and a session's errors.

/// Oldest ClickHouse release the schema and queries are tested for (Map, DateTime64,
/// skip indexes, TTL, server-side parameters and `SET … = DEFAULT` are all older).
pub const MIN_VERSION: (u32, u32) = (23, 8);

/// One schema version.
#[derive(Debug, Clone, Copy)]
pub struct Migration {
    /// Version number, from 1, without gaps.
    pub version: u32,
    /// Short description, recorded with the version.
    pub name: &'static str,
    /// Idempotent statements, run in order.
    pub statements: &'static [&'static str],
}

/// The table that records applied migrations.
pub const MIGRATIONS_TABLE: &str = "CREATE TABLE IF NOT EXISTS tracehouse_migrations (
    version UInt32,
    name String,
    applied_at DateTime DEFAULT now()
) ENGINE = ReplacingMergeTree
ORDER BY version";

const V1_SPANS: &str = "CREATE TABLE IF NOT EXISTS spans (
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
) ENGINE = MergeTree
PARTITION BY toDate(timestamp)
ORDER BY (project_id, toStartOfHour(timestamp), service_name, name, timestamp)
SETTINGS index_granularity = 8192, ttl_only_drop_parts = 1, non_replicated_deduplication_window = 1000";

const V1_TRACE_INDEX: &str = "CREATE TABLE IF NOT EXISTS trace_index (
    project_id LowCardinality(String),
    trace_id FixedString(16),
    day Date,
    start_min SimpleAggregateFunction(min, DateTime64(9, 'UTC')),
    start_max SimpleAggregateFunction(max, DateTime64(9, 'UTC')),
    end_max SimpleAggregateFunction(max, DateTime64(9, 'UTC')),
    span_count SimpleAggregateFunction(sum, UInt64)
) ENGINE = AggregatingMergeTree
PARTITION BY day
ORDER BY (project_id, trace_id)
SETTINGS ttl_only_drop_parts = 1";

const V1_TRACE_INDEX_MV: &str =
    "CREATE MATERIALIZED VIEW IF NOT EXISTS trace_index_mv TO trace_index AS
SELECT
    project_id,
    trace_id,
    toDate(timestamp) AS day,
    min(timestamp) AS start_min,
    max(timestamp) AS start_max,
    max(end_time) AS end_max,
    count() AS span_count
FROM spans
GROUP BY project_id, trace_id, day";

const V2_KEYS: &str = "CREATE TABLE IF NOT EXISTS span_keys (
    project_id LowCardinality(String),
    hour DateTime('UTC'),
    field LowCardinality(String),
    type LowCardinality(String),
    count UInt64
) ENGINE = SummingMergeTree(count)
PARTITION BY toDate(hour)
ORDER BY (project_id, hour, field, type)
SETTINGS ttl_only_drop_parts = 1";

// The field of a key is `i:<intrinsic>`, `s:<span attribute>` or `r:<resource
// attribute>`; the type of an attribute follows its typed JSON (strings are not in the
// typed map). The intrinsic names are those of `tracehouse_query::Intrinsic::name`.
const V2_KEYS_MV: &str = "CREATE MATERIALIZED VIEW IF NOT EXISTS span_keys_mv TO span_keys AS
SELECT project_id, toStartOfHour(timestamp) AS hour, k.1 AS field, k.2 AS type, count() AS count
FROM spans
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

const V2_VALUES: &str = "CREATE TABLE IF NOT EXISTS span_values (
    project_id LowCardinality(String),
    hour DateTime('UTC'),
    field LowCardinality(String),
    value String,
    count UInt64
) ENGINE = SummingMergeTree(count)
PARTITION BY toDate(hour)
ORDER BY (project_id, hour, field, value)
SETTINGS ttl_only_drop_parts = 1";

// Values longer than 200 bytes are counted for their key but not kept as values.
const V2_VALUES_MV: &str = "CREATE MATERIALIZED VIEW IF NOT EXISTS span_values_mv TO span_values AS
SELECT project_id, toStartOfHour(timestamp) AS hour, v.1 AS field, v.2 AS value, count() AS count
FROM spans
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

const V3_LOGS: &str = "CREATE TABLE IF NOT EXISTS logs (
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
) ENGINE = MergeTree
PARTITION BY toDate(time)
ORDER BY (project_id, time)
SETTINGS index_granularity = 8192, ttl_only_drop_parts = 1, non_replicated_deduplication_window = 1000";

const V3_ERRORS: &str = "CREATE TABLE IF NOT EXISTS errors (
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
) ENGINE = MergeTree
PARTITION BY toDate(time)
ORDER BY (project_id, time)
SETTINGS index_granularity = 8192, ttl_only_drop_parts = 1, non_replicated_deduplication_window = 1000";

/// Every migration, oldest first.
pub const MIGRATIONS: &[Migration] = &[
    Migration {
        version: 1,
        name: "spans table, trace index and its materialized view",
        statements: &[V1_SPANS, V1_TRACE_INDEX, V1_TRACE_INDEX_MV],
    },
    Migration {
        version: 2,
        name: "key and value statistics for autocomplete",
        statements: &[V2_KEYS, V2_KEYS_MV, V2_VALUES, V2_VALUES_MV],
    },
    Migration {
        version: 3,
        name: "log records and error occurrences",
        statements: &[V3_LOGS, V3_ERRORS],
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
];

#[cfg(test)]
mod tests {
    use super::*;
    use tracehouse_query::Intrinsic;

    #[test]
    fn versions_are_consecutive() {
        for (i, m) in MIGRATIONS.iter().enumerate() {
            assert_eq!(m.version as usize, i + 1);
            for s in m.statements {
                assert!(s.contains("IF NOT EXISTS"), "not idempotent: {s}");
            }
        }
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
}
