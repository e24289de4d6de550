#!/usr/bin/env python3
"""The ClickHouse side of `tracehouse-bench --compare clickhouse`.

Loads the generated spans (JSONCompactEachRow rows written by the Rust side, columns in
INPUT_COLUMNS order) into chDB — the ClickHouse engine in-process — in a table following
Highlight's ClickHouse `traces` schema (MergeTree partitioned by day, ordered by project and
time, bloom filter on the trace id, Map attributes, the write-time column split), times the
load, runs OPTIMIZE FINAL, reads bytes on disk from system.parts and times the queries that
match tracehouse's. Prints one JSON object on stdout; progress goes to stderr.

Usage: chdb_bench.py PARAMS.json  (written by `tracehouse-bench`, which embeds this script).
chDB is installed with pip (chdb==4.4.0, chdb-core==26.9.0) when missing.
"""

import json
import os
import subprocess
import sys
import time

CHDB_PACKAGES = ["chdb==4.4.0", "chdb-core==26.9.0"]

# Highlight's final `traces` table (reference: highlight.md §2.1).
DDL = """
CREATE TABLE bench.traces (
    Timestamp DateTime64(9),
    UUID UUID,
    TraceId String,
    SpanId String,
    ParentSpanId String,
    ProjectId UInt32,
    SecureSessionId String,
    TraceState String,
    SpanName LowCardinality(String),
    SpanKind LowCardinality(String),
    Duration Int64,
    ServiceName LowCardinality(String),
    ServiceVersion String,
    TraceAttributes Map(LowCardinality(String), String),
    StatusCode LowCardinality(String),
    StatusMessage String,
    Events Nested (
        Timestamp DateTime64(9),
        Name LowCardinality(String),
        Attributes Map(LowCardinality(String), String)
    ),
    Links Nested (
        TraceId String,
        SpanId String,
        TraceState String,
        Attributes Map(LowCardinality(String), String)
    ),
    Environment String,
    HasErrors Bool,
    MetricName Nullable(String) MATERIALIZED Events.Attributes[1]['metric.name'],
    MetricValue Nullable(Float64) MATERIALIZED toFloat64OrNull(Events.Attributes[1]['metric.value']),
    HighlightType String,
    HttpResponseBody String,
    HttpRequestBody String,
    HttpUrl String,
    HighlightKey String,
    HttpAttributes Map(LowCardinality(String), String),
    ProcessAttributes Map(LowCardinality(String), String),
    OsAttributes Map(LowCardinality(String), String),
    TelemetryAttributes Map(LowCardinality(String), String),
    WsAttributes Map(LowCardinality(String), String),
    EventAttributes Map(LowCardinality(String), String),
    DbAttributes Map(LowCardinality(String), String),
    INDEX idx_trace_id TraceId TYPE bloom_filter(0.001) GRANULARITY 1,
    INDEX idx_res_attr_key mapKeys(TraceAttributes) TYPE bloom_filter(0.01) GRANULARITY 1,
    INDEX idx_res_attr_value mapValues(TraceAttributes) TYPE bloom_filter(0.01) GRANULARITY 1,
    INDEX idx_duration Duration TYPE minmax GRANULARITY 1
) ENGINE = MergeTree
PARTITION BY toDate(Timestamp)
ORDER BY (ProjectId, Timestamp, UUID)
TTL toDateTime(Timestamp) + INTERVAL 30 DAY
SETTINGS index_granularity = 8192, ttl_only_drop_parts = 1, min_rows_for_wide_part = 0,
    min_bytes_for_wide_part = 0
"""

# The columns of a row in the data file, in order (must match `highlight_row` in bench.rs).
INPUT_COLUMNS = [
    ("Timestamp", "DateTime64(9)"),
    ("UUID", "UUID"),
    ("TraceId", "String"),
    ("SpanId", "String"),
    ("ParentSpanId", "String"),
    ("ProjectId", "UInt32"),
    ("SecureSessionId", "String"),
    ("TraceState", "String"),
    ("SpanName", "String"),
    ("SpanKind", "String"),
    ("Duration", "Int64"),
    ("ServiceName", "String"),
    ("ServiceVersion", "String"),
    ("TraceAttributes", "Map(String, String)"),
    ("StatusCode", "String"),
    ("StatusMessage", "String"),
    ("Events.Timestamp", "Array(DateTime64(9))"),
    ("Events.Name", "Array(String)"),
    ("Events.Attributes", "Array(Map(String, String))"),
    ("Links.TraceId", "Array(String)"),
    ("Links.SpanId", "Array(String)"),
    ("Links.TraceState", "Array(String)"),
    ("Links.Attributes", "Array(Map(String, String))"),
    ("Environment", "String"),
    ("HasErrors", "Bool"),
    ("HighlightType", "String"),
    ("HttpResponseBody", "String"),
    ("HttpRequestBody", "String"),
    ("HttpUrl", "String"),
    ("HighlightKey", "String"),
    ("HttpAttributes", "Map(String, String)"),
    ("ProcessAttributes", "Map(String, String)"),
    ("OsAttributes", "Map(String, String)"),
    ("TelemetryAttributes", "Map(String, String)"),
    ("WsAttributes", "Map(String, String)"),
    ("EventAttributes", "Map(String, String)"),
    ("DbAttributes", "Map(String, String)"),
]


def log(msg):
    print(f"  chdb: {msg}", file=sys.stderr, flush=True)


def import_chdb():
    try:
        import chdb  # noqa: F401
    except ImportError:
        log("installing " + " ".join(CHDB_PACKAGES) + " with pip")
        subprocess.check_call(
            [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", *CHDB_PACKAGES],
            stdout=sys.stderr,
        )
    import chdb
    from chdb.session import Session

    return chdb, Session


def sql_str(s):
    return "'" + s.replace("\\", "\\\\").replace("'", "\\'") + "'"


def percentile(sorted_ms, p):
    if not sorted_ms:
        return 0.0
    return sorted_ms[round((len(sorted_ms) - 1) * p)]


def peak_rss_mb():
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024.0
    except OSError:
        pass
    return None


def main():
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    with open(sys.argv[1]) as f:
        p = json.load(f)
    chdb, Session = import_chdb()
    db_path = p["db"]
    if os.path.exists(db_path):
        import shutil

        shutil.rmtree(db_path)
    s = Session(db_path)

    def q(sql, fmt="TabSeparated"):
        return s.query(sql, fmt)

    version = str(q("SELECT version()")).strip()
    q("CREATE DATABASE IF NOT EXISTS bench")
    q(DDL)

    structure = ", ".join(f"`{name}` {typ}" for name, typ in INPUT_COLUMNS)
    columns = ", ".join(f"`{name}`" for name, _ in INPUT_COLUMNS)
    log(f"ClickHouse {version}: loading {p['rows']}")
    t = time.perf_counter()
    q(
        f"INSERT INTO bench.traces ({columns}) "
        f"SELECT * FROM file({sql_str(str(p['rows']))}, JSONCompactEachRow, {sql_str(structure)})"
    )
    load_s = time.perf_counter() - t
    rows = int(str(q("SELECT count() FROM bench.traces")).strip())
    if rows != p["expected_rows"]:
        sys.exit(f"loaded {rows} rows, expected {p['expected_rows']}")
    log(f"loaded {rows} rows in {load_s:.1f} s; OPTIMIZE FINAL")
    t = time.perf_counter()
    q("OPTIMIZE TABLE bench.traces FINAL")
    optimize_s = time.perf_counter() - t
    parts, bytes_on_disk = (
        int(x)
        for x in str(
            q(
                "SELECT count(), sum(bytes_on_disk) FROM system.parts "
                "WHERE database = 'bench' AND table = 'traces' AND active"
            )
        )
        .strip()
        .split("\t")
    )

    start, end = p["start_ns"], p["end_ns"]
    window = (
        f"ProjectId = 1 AND Timestamp >= fromUnixTimestamp64Nano(toInt64({start})) "
        f"AND Timestamp < fromUnixTimestamp64Nano(toInt64({end}))"
    )
    newest = "ORDER BY Timestamp DESC, UUID DESC LIMIT 50"
    width_s = max(1, -(-(end - start) // p["buckets"] // 1_000_000_000))
    queries = {
        "trace_by_id_ms": [
            f"SELECT * FROM bench.traces WHERE ProjectId = 1 AND TraceId = {sql_str(tid)} "
            "ORDER BY Timestamp"
            for tid in p["trace_ids"]
        ],
        "search_service_duration_ms": f"SELECT * FROM bench.traces WHERE {window} "
        f"AND ServiceName = {sql_str(p['service'])} AND Duration > {p['min_duration_ns']} {newest}",
        "search_attribute_ms": f"SELECT * FROM bench.traces WHERE {window} "
        f"AND TraceAttributes['user.id'] = {sql_str(p['user_id'])} {newest}",
        "search_substring_ms": f"SELECT * FROM bench.traces WHERE {window} "
        f"AND SpanName ILIKE {sql_str('%' + p['name_substring'] + '%')} {newest}",
        "histogram_ms": "SELECT toStartOfInterval(Timestamp, INTERVAL "
        f"{width_s} SECOND) AS bucket, count(), countIf(HasErrors) FROM bench.traces "
        f"WHERE {window} GROUP BY bucket ORDER BY bucket",
        "p99_by_service_ms": "SELECT ServiceName, quantile(0.5)(Duration), "
        f"quantile(0.99)(Duration) FROM bench.traces WHERE {window} "
        "GROUP BY ServiceName ORDER BY ServiceName",
        "red_by_service_ms": "SELECT ServiceName, count(), countIf(HasErrors), "
        f"quantiles(0.5, 0.99)(Duration) FROM bench.traces WHERE {window} "
        "GROUP BY ServiceName ORDER BY ServiceName",
        "red_by_operation_ms": "SELECT ServiceName, SpanName, count(), countIf(HasErrors), "
        f"quantiles(0.5, 0.99)(Duration) FROM bench.traces WHERE {window} "
        "GROUP BY ServiceName, SpanName ORDER BY ServiceName, SpanName",
    }
    results = {}
    for name, sql in queries.items():
        runs = sql if isinstance(sql, list) else [sql] * p["runs"]
        ms = []
        for text in runs:
            t = time.perf_counter()
            out = str(q(text))
            ms.append((time.perf_counter() - t) * 1000.0)
            if not out.strip():
                sys.exit(f"{name} returned nothing: {text}")
        ms.sort()
        results[name] = {"median": percentile(ms, 0.5), "p95": percentile(ms, 0.95), "runs": ms}
        log(f"{name}: median {results[name]['median']:.2f} ms")

    print(
        json.dumps(
            {
                "clickhouse_version": version,
                "chdb_version": getattr(chdb, "__version__", "?"),
                "rows": rows,
                "load_seconds": load_s,
                "ingest_spans_per_s": rows / load_s,
                "optimize_seconds": optimize_s,
                "parts": parts,
                "bytes_on_disk": bytes_on_disk,
                "bytes_per_span": bytes_on_disk / rows,
                "peak_rss_mb": peak_rss_mb(),
                "queries": results,
            }
        )
    )
    s.close()


if __name__ == "__main__":
    main()
