//! The report: one table, one column per engine and embedded/ClickHouse ratios, as Markdown
//! and as JSON.

use serde_json::{Value, json};

use crate::BenchArgs;
use crate::data::DataSet;
use crate::measure::{Measured, Timing};

/// One engine's value of a figure: the median (or the single value) and the p95 of timed
/// figures; `None` when the engine was not measured or has no such figure.
#[derive(Debug, Clone, Copy, Default)]
struct Cell {
    value: Option<f64>,
    p95: Option<f64>,
}

impl Cell {
    fn single(v: Option<f64>) -> Cell {
        Cell {
            value: v.filter(|v| v.is_finite()),
            p95: None,
        }
    }

    fn timed(t: Timing) -> Cell {
        Cell {
            value: Some(t.median),
            p95: Some(t.p95),
        }
    }

    fn text(&self) -> String {
        match (self.value, self.p95) {
            (Some(v), Some(p)) => format!("{} (p95 {})", fmt_num(v), fmt_num(p)),
            (Some(v), None) => fmt_num(v),
            (None, _) => "–".into(),
        }
    }
}

/// One figure of the report, one cell per engine.
struct Figure {
    name: &'static str,
    label: &'static str,
    unit: &'static str,
    higher_is_better: bool,
    /// tracehouse on its embedded store.
    embedded: Cell,
    /// tracehouse on its ClickHouse backend.
    backend: Cell,
    /// The ClickHouse engine (chDB) with Highlight's schema and SQL.
    clickhouse: Cell,
}

impl Figure {
    /// Embedded store / ClickHouse engine: the figure the targets are about.
    fn ratio(&self) -> Option<f64> {
        let c = self.clickhouse.value.filter(|c| *c > 0.0)?;
        Some(self.embedded.value? / c)
    }

    fn meets(&self) -> Option<bool> {
        self.ratio().map(|r| {
            if self.higher_is_better {
                r >= 1.0
            } else {
                r <= 1.0
            }
        })
    }
}

fn fmt_num(v: f64) -> String {
    if v >= 1000.0 {
        format!("{v:.0}")
    } else if v >= 10.0 {
        format!("{v:.1}")
    } else {
        format!("{v:.2}")
    }
}

fn figures(
    set: &DataSet,
    embedded: &Measured,
    backend: Option<&Measured>,
    ch: Option<&Value>,
) -> Vec<Figure> {
    let chq = |key: &str| Cell {
        value: ch.and_then(|c| c["queries"][key]["median"].as_f64()),
        p95: ch.and_then(|c| c["queries"][key]["p95"].as_f64()),
    };
    let chf = |key: &str| Cell::single(ch.and_then(|c| c[key].as_f64()));
    let per_span = |m: &Measured| m.bytes_on_disk.map(|b| b as f64 / set.spans as f64);
    let rate = |m: &Measured| Some(set.spans as f64 / m.ingest_secs);
    let cpu_per_span = |m: &Measured| m.ingest_cpu_secs.map(|s| s * 1e6 / set.spans as f64);
    let single = |f: &dyn Fn(&Measured) -> Option<f64>| {
        (
            Cell::single(f(embedded)),
            backend.map_or_else(Cell::default, |b| Cell::single(f(b))),
        )
    };
    let q = |name: &'static str,
             label: &'static str,
             pick: fn(&Measured) -> Timing,
             ch_key: Option<&str>| Figure {
        name,
        label,
        unit: "ms",
        higher_is_better: false,
        embedded: Cell::timed(pick(embedded)),
        backend: backend.map_or_else(Cell::default, |b| Cell::timed(pick(b))),
        clickhouse: ch_key.map_or_else(Cell::default, chq),
    };
    let (ingest_e, ingest_b) = single(&rate);
    let (cpu_e, cpu_b) = single(&cpu_per_span);
    let (bytes_e, bytes_b) = single(&per_span);
    let (rss_e, rss_b) = single(&|m| m.peak_rss_mb);
    let (p99_e, p99_b) = single(&|m| Some(m.p99_error_pct));
    let points = set.metrics.points as f64;
    let (points_e, points_b) = single(&|m| Some(points / m.metrics_ingest_secs));
    let (point_bytes_e, point_bytes_b) = single(&|m| m.metric_bytes.map(|b| b as f64 / points));
    let over_http = |m: &Measured| m.over_http;
    let (http_rate_e, http_rate_b) =
        single(&|m| over_http(m).map(|h| set.spans as f64 / h.ingest_secs));
    let (http_cpu_e, http_cpu_b) = single(&|m| {
        over_http(m)
            .and_then(|h| h.cpu_secs)
            .map(|s| s * 1e6 / set.spans as f64)
    });
    let loaded = |m: &Measured| m.under_load;
    let (loaded_rate_e, loaded_rate_b) =
        single(&|m| loaded(m).map(|u| set.spans as f64 / u.ingest_secs));
    let (loaded_rss_e, loaded_rss_b) = single(&|m| loaded(m).and_then(|u| u.peak_rss_mb));
    let loaded_searches =
        |m: &Measured| loaded(m).map_or_else(Cell::default, |u| Cell::timed(u.searches));
    vec![
        Figure {
            name: "ingest_spans_per_s",
            label: "ingest (tracehouse: OTLP/gRPC, acknowledged once durable; ClickHouse (chDB): INSERT from file)",
            unit: "spans/s",
            higher_is_better: true,
            embedded: ingest_e,
            backend: ingest_b,
            clickhouse: chf("ingest_spans_per_s"),
        },
        Figure {
            name: "ingest_cpu_us_per_span",
            label: "CPU per span ingested (tracehouse: server and OTLP clients, user + system; robust to a busy machine)",
            unit: "µs",
            higher_is_better: false,
            embedded: cpu_e,
            backend: cpu_b,
            clickhouse: Cell::default(),
        },
        Figure {
            name: "ingest_http_spans_per_s",
            label: "ingest over OTLP/HTTP, protobuf bodies (the same load into a fresh store, acknowledged once durable; embedded store only)",
            unit: "spans/s",
            higher_is_better: true,
            embedded: http_rate_e,
            backend: http_rate_b,
            clickhouse: Cell::default(),
        },
        Figure {
            name: "ingest_http_cpu_us_per_span",
            label: "CPU per span ingested over OTLP/HTTP (server and clients, user + system)",
            unit: "µs",
            higher_is_better: false,
            embedded: http_cpu_e,
            backend: http_cpu_b,
            clickhouse: Cell::default(),
        },
        Figure {
            name: "bytes_per_span",
            label: "bytes per span on disk after compaction / OPTIMIZE FINAL",
            unit: "B",
            higher_is_better: false,
            embedded: bytes_e,
            backend: bytes_b,
            clickhouse: chf("bytes_per_span"),
        },
        Figure {
            name: "ingest_metric_points_per_s",
            label: "OTLP metrics ingest: cumulative counter and histogram points over OTLP/gRPC, acknowledged once durable (tracehouse only)",
            unit: "points/s",
            higher_is_better: true,
            embedded: points_e,
            backend: points_b,
            clickhouse: Cell::default(),
        },
        Figure {
            name: "bytes_per_metric_point",
            label: "bytes per metric data point on disk after compaction / OPTIMIZE FINAL (tracehouse only)",
            unit: "B",
            higher_is_better: false,
            embedded: point_bytes_e,
            backend: point_bytes_b,
            clickhouse: Cell::default(),
        },
        q(
            "trace_by_id_ms",
            "trace by id",
            |m| m.trace_by_id,
            Some("trace_by_id_ms"),
        ),
        q(
            "search_service_duration_ms",
            "`service:checkout duration>10ms`, newest 50",
            |m| m.service_duration,
            Some("search_service_duration_ms"),
        ),
        q(
            "search_attribute_ms",
            "`user.id=<one user>` (high cardinality), newest 50",
            |m| m.attribute,
            Some("search_attribute_ms"),
        ),
        q(
            "search_substring_ms",
            "span name contains `cart`, newest 50",
            |m| m.substring,
            Some("search_substring_ms"),
        ),
        q(
            "histogram_ms",
            "histogram of all spans over the range, 60 buckets",
            |m| m.histogram,
            Some("histogram_ms"),
        ),
        q(
            "p99_by_service_ms",
            "p50 and p99 duration by service from the raw rows (embedded: DataFusion over the parts; backend: SQL `quantile`; the store's own answer, from sketches kept at ingest, is the span metrics row)",
            |m| m.percentiles,
            Some("p99_by_service_ms"),
        ),
        q(
            "red_by_service_ms",
            "span metrics by service over the whole range: rate, error %, p50, p99 (tracehouse: merged sketches kept at ingest; ClickHouse: `count()`, `countIf`, `quantiles` GROUP BY)",
            |m| m.red_by_service,
            Some("red_by_service_ms"),
        ),
        q(
            "red_by_operation_ms",
            "the same by service and span name",
            |m| m.red_by_operation,
            Some("red_by_operation_ms"),
        ),
        q(
            "metrics_rate_by_service_ms",
            "OTLP metrics: `rate` of one counter, all its `--metric-series` series (1,000 by default), by `service.name` over the 2 hours, 1-minute steps, as `/api/v1/metrics/query` answers it (tracehouse only)",
            |m| m.metrics_rate,
            None,
        ),
        q(
            "service_graph_ms",
            "service map over the last 2 minutes of the range (past 2M spans, 2 min × 2M/spans: the same number of spans; tracehouse only; calls joined to callees at query time by reading the spans)",
            |m| m.service_graph,
            None,
        ),
        Figure {
            name: "p99_relative_error_pct",
            label: "largest relative error of a service's p99 from the span metrics against the exact p99",
            unit: "%",
            higher_is_better: false,
            embedded: p99_e,
            backend: p99_b,
            clickhouse: Cell::default(),
        },
        q(
            "structural_ms",
            "`{service:frontend} >> {service:postgres duration>5ms}` (tracehouse only)",
            |m| m.structural,
            None,
        ),
        q(
            "tempo_trace_by_id_ms",
            "trace by id through Grafana's Tempo route (`/tempo/api/v2/traces/{id}`, protobuf, over HTTP; tracehouse only)",
            |m| m.tempo_trace_by_id,
            None,
        ),
        q(
            "traceql_search_ms",
            "the structural query in TraceQL through `/tempo/api/search` (50 traces with span sets, over HTTP; tracehouse only)",
            |m| m.traceql_search,
            None,
        ),
        Figure {
            name: "peak_rss_mb",
            label: "peak RSS of the tracehouse server (in-process, VmHWM)",
            unit: "MB",
            higher_is_better: false,
            embedded: rss_e,
            backend: rss_b,
            clickhouse: Cell::default(),
        },
        Figure {
            name: "ingest_under_load_spans_per_s",
            label: "ingest while searched once a second (the same load into a fresh store, OTLP/gRPC, acknowledged once durable; embedded store only)",
            unit: "spans/s",
            higher_is_better: true,
            embedded: loaded_rate_e,
            backend: loaded_rate_b,
            clickhouse: Cell::default(),
        },
        Figure {
            name: "search_under_load_ms",
            label: "those searches during ingest: the three span searches above and the histogram, in turn",
            unit: "ms",
            higher_is_better: false,
            embedded: loaded_searches(embedded),
            backend: backend.map_or_else(Cell::default, loaded_searches),
            clickhouse: Cell::default(),
        },
        Figure {
            name: "peak_rss_under_load_mb",
            label: "peak RSS during that ingest (VmHWM from the fresh store's opening)",
            unit: "MB",
            higher_is_better: false,
            embedded: loaded_rss_e,
            backend: loaded_rss_b,
            clickhouse: Cell::default(),
        },
    ]
}

fn machine() -> String {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|t| {
            t.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split(':').nth(1))
                .map(|s| s.trim().to_string())
        })
        .unwrap_or_else(|| std::env::consts::ARCH.to_string());
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let mem = std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|t| {
            t.lines()
                .find(|l| l.starts_with("MemTotal:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|kb| kb.parse::<f64>().ok())
        })
        .map(|kb| format!(", {:.0} GB RAM", kb / 1024.0 / 1024.0))
        .unwrap_or_default();
    format!("{cpu}, {cores} cores{mem}, {}", std::env::consts::OS)
}

/// Everything one run measured.
pub(crate) struct Results<'a> {
    set: &'a DataSet,
    embedded: &'a Measured,
    backend: Option<&'a Measured>,
    ch: Option<&'a Value>,
    figures: Vec<Figure>,
    date: String,
}

impl<'a> Results<'a> {
    /// The figures of a run that ends now: the embedded store's, the ClickHouse backend's
    /// (if measured) and the ClickHouse engine's report (if measured).
    pub(crate) fn new(
        set: &'a DataSet,
        embedded: &'a Measured,
        backend: Option<&'a Measured>,
        ch: Option<&'a Value>,
    ) -> Results<'a> {
        Results {
            set,
            embedded,
            backend,
            ch,
            figures: figures(set, embedded, backend, ch),
            date: chrono::Utc::now().format("%Y-%m-%dT%H:%M:%SZ").to_string(),
        }
    }
}

pub(crate) fn markdown(args: &BenchArgs, r: &Results<'_>) -> String {
    type Column = (&'static str, fn(&Figure) -> String);
    let mut columns: Vec<Column> = vec![
        ("figure", |f| f.label.to_string()),
        ("unit", |f| f.unit.to_string()),
        ("tracehouse (embedded)", |f| f.embedded.text()),
    ];
    if r.backend.is_some() {
        columns.push(("tracehouse on ClickHouse backend", |f| f.backend.text()));
    }
    if r.ch.is_some() {
        columns.push(("ClickHouse (chDB)", |f| f.clickhouse.text()));
        columns.push(("embedded/ClickHouse", |f| {
            f.ratio().map_or("–".into(), |r| format!("{r:.2}"))
        }));
        columns.push(("target", |f| {
            match f.meets() {
                Some(true) => "met",
                Some(false) => "**missed**",
                None => "–",
            }
            .to_string()
        }));
    }
    let row = |cells: Vec<String>| format!("| {} |\n", cells.join(" | "));
    let mut s = format!(
        "tracehouse bench, {}: {} spans in {} traces and {} metric data points of {} series per metric (seed {}), {} runs per query, {}\n\n",
        r.date,
        r.set.spans,
        r.set.traces,
        r.set.metrics.points,
        r.set.metrics.series,
        args.seed,
        args.runs,
        machine()
    );
    s.push_str(&row(columns.iter().map(|c| c.0.to_string()).collect()));
    s.push_str(&row(columns.iter().map(|_| "---".to_string()).collect()));
    for f in &r.figures {
        s.push_str(&row(columns.iter().map(|c| c.1(f)).collect()));
    }
    s.push_str(&format!(
        "\nQuery figures are medians over {} runs (p95 in brackets); tracehouse's queries go through the `Store` trait, as the API does. tracehouse ingest: {} clients × {} traces per request over OTLP/gRPC. {}",
        args.runs, args.clients, args.traces_per_request, r.embedded.note,
    ));
    if let Some(b) = r.backend {
        s.push(' ');
        s.push_str(&b.note);
    }
    if let Some(c) = r.ch {
        s.push_str(&format!(
            " ClickHouse {} (chDB {}): load {:.1} s from a {:.0} MB JSONCompactEachRow file, OPTIMIZE FINAL {:.1} s, {} parts; its Python process peaked at {:.0} MB RSS.",
            c["clickhouse_version"].as_str().unwrap_or("?"),
            c["chdb_version"].as_str().unwrap_or("?"),
            c["load_seconds"].as_f64().unwrap_or(f64::NAN),
            r.set.rows_bytes as f64 / 1e6,
            c["optimize_seconds"].as_f64().unwrap_or(f64::NAN),
            c["parts"].as_u64().unwrap_or(0),
            c["peak_rss_mb"].as_f64().unwrap_or(f64::NAN),
        ));
    }
    s.push('\n');
    s
}

pub(crate) fn json_report(r: &Results<'_>) -> Value {
    let num = |v: f64| if v.is_finite() { json!(v) } else { Value::Null };
    let cell = |c: &Cell| c.value.map(num);
    let p95 = |c: &Cell| c.p95.map(num);
    json!({
        "spans": r.set.spans,
        "traces": r.set.traces,
        "metric_points": r.set.metrics.points,
        "metric_series": r.set.metrics.series,
        "date": r.date,
        "machine": machine(),
        "clickhouse_version": r.ch.and_then(|c| c.get("clickhouse_version")).cloned(),
        "notes": {
            "tracehouse": r.embedded.note,
            "clickhouse_backend": r.backend.map(|b| b.note.clone()),
        },
        "figures": r.figures.iter().map(|f| json!({
            "name": f.name,
            "label": f.label,
            "unit": f.unit,
            "better": if f.higher_is_better { "higher" } else { "lower" },
            "tracehouse": cell(&f.embedded),
            "clickhouse_backend": cell(&f.backend),
            "clickhouse": cell(&f.clickhouse),
            "ratio": f.ratio().map(num),
            "p95": {
                "tracehouse": p95(&f.embedded),
                "clickhouse_backend": p95(&f.backend),
                "clickhouse": p95(&f.clickhouse),
            },
        })).collect::<Vec<_>>(),
    })
}
