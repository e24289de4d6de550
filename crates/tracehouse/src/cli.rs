//! Command-line arguments. Every `serve` flag can also be set by a `TRACEHOUSE_*`
//! environment variable or in a TOML file given with `--config`; flags win over the
//! environment, which wins over the file, which wins over the defaults.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Parser, Subcommand};

/// tracehouse: an OpenTelemetry tracing backend with an embedded columnar store.
///
/// Send traces over OTLP (gRPC :4317, HTTP :4318), then search them through the JSON API
/// and UI on :8080. With no subcommand, `tracehouse` runs `serve` with its defaults.
#[derive(Debug, Parser)]
#[command(name = "tracehouse", version, propagate_version = true)]
pub struct Cli {
    /// What to do (default: serve).
    #[command(subcommand)]
    pub command: Option<Command>,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the server: OTLP receivers, JSON API and UI, embedded store.
    ///
    /// Examples:
    ///   tracehouse serve --data-dir /var/lib/tracehouse --retention 14d
    ///   tracehouse serve --project shop=KEY1,KEY2 --project blog=KEY3
    ///   TRACEHOUSE_OTLP_GRPC=0.0.0.0:4317 tracehouse serve
    #[command(verbatim_doc_comment)]
    Serve(Box<ServeArgs>),
    /// Search spans (or log records) on a running server and print them as a table or as a
    /// JSON array.
    ///
    /// Examples:
    ///   tracehouse query 'service:checkout duration>250ms' --since 6h
    ///   tracehouse query '{service:frontend} >> {status_code:error}' --json
    ///   tracehouse query --logs 'level:error timeout' --since 1d
    #[command(verbatim_doc_comment)]
    Query(crate::query::QueryArgs),
    /// Measure ingest throughput, bytes per span and query latency on generated traffic,
    /// optionally side by side with tracehouse on its ClickHouse backend and with the
    /// ClickHouse engine itself (chDB) on the same data.
    ///
    /// Runs the benchmark harness `tracehouse-bench` (a separate binary, built beside this
    /// one) with these arguments; `tracehouse bench --help` lists its options
    /// (see bench/README.md). Build both with --release:
    ///   cargo build --release -p tracehouse -p tracehouse-bench
    ///   ./target/release/tracehouse bench --compare clickhouse,clickhouse-backend --out bench/results
    ///   cargo run --release -p tracehouse-bench -- --spans 50000
    #[command(verbatim_doc_comment, disable_help_flag = true)]
    Bench(crate::bench::BenchArgs),
    /// Send generated shop traffic (8 services, 3 to 49 spans per trace, ~2% errors) to an
    /// OTLP endpoint, with a progress bar.
    ///
    /// Examples:
    ///   tracehouse loadgen --rate 2000 --duration 1m
    ///   tracehouse loadgen --count 100000 --protocol http --endpoint http://127.0.0.1:4318
    ///   tracehouse loadgen --key KEY1 --concurrency 8        (flat-out until Ctrl-C)
    #[command(verbatim_doc_comment)]
    Loadgen(crate::loadgen::LoadgenArgs),
    /// Run the server with a store in a temporary (or named) directory and feed it shop
    /// traffic at a gentle rate: open the printed URL to see live traces, errors and sessions.
    ///
    /// Examples:
    ///   tracehouse demo
    ///   tracehouse demo --data-dir ./demo-data --rate 100
    #[command(verbatim_doc_comment)]
    Demo(crate::demo::DemoArgs),
    /// The demo's web shop, started by `tracehouse demo`.
    #[command(hide = true)]
    DemoShop(crate::demo::shop::ShopArgs),
    /// Verify a stopped server's data directory: every manifest, part (footer, sidecars,
    /// every page) and write-ahead log segment. Reports what is damaged and, with --repair,
    /// sets it aside (quarantine/) so the server starts; exits 1 while damage remains.
    ///
    /// Examples:
    ///   tracehouse check ./data
    ///   tracehouse check --repair /var/lib/tracehouse
    #[command(verbatim_doc_comment)]
    Check(crate::check::CheckArgs),
    /// Print the OpenAPI 3.1 document of the JSON API (the one served at
    /// /api/v1/openapi.json) to stdout, for generating clients.
    ///
    /// Examples:
    ///   tracehouse openapi > openapi.json
    ///   npm --prefix ui run gen:api        (regenerates ui/src/lib/api.gen.ts from it)
    #[command(verbatim_doc_comment)]
    Openapi,
}

impl Default for Command {
    fn default() -> Self {
        Command::Serve(Box::default())
    }
}

/// Options of `tracehouse serve`; unset options fall back to the config file, then defaults.
#[derive(Debug, Clone, Default, Args)]
pub struct ServeArgs {
    /// TOML configuration file (same keys as the long flags, with `_` for `-`; projects as
    /// `[[projects]] id = "shop" keys = ["…"]`).
    #[arg(long, env = "TRACEHOUSE_CONFIG", value_name = "FILE")]
    pub config: Option<PathBuf>,

    /// Directory of the embedded store (created if missing) [default: ./data]
    #[arg(long, env = "TRACEHOUSE_DATA_DIR", value_name = "DIR")]
    pub data_dir: Option<PathBuf>,

    /// Address of the JSON API and the UI [default: 127.0.0.1:8080]
    #[arg(long, env = "TRACEHOUSE_LISTEN", value_name = "ADDR")]
    pub listen: Option<SocketAddr>,

    /// Address of the OTLP/gRPC receiver; use 0.0.0.0:4317 to accept other hosts
    /// [default: 127.0.0.1:4317]
    #[arg(long, env = "TRACEHOUSE_OTLP_GRPC", value_name = "ADDR")]
    pub otlp_grpc: Option<SocketAddr>,

    /// Address of the OTLP/HTTP receiver (POST /v1/traces) [default: 127.0.0.1:4318]
    #[arg(long, env = "TRACEHOUSE_OTLP_HTTP", value_name = "ADDR")]
    pub otlp_http: Option<SocketAddr>,

    /// A project and its ingest keys, as ID=KEY[,KEY…]; repeat for more projects (in the
    /// environment, separate projects with `;`). With no projects, tracehouse runs in open
    /// single-project mode and accepts data without a key.
    #[arg(
        long = "project",
        env = "TRACEHOUSE_PROJECTS",
        value_name = "ID=KEYS",
        value_delimiter = ';'
    )]
    pub projects: Vec<String>,

    /// A public browser key of a configured project, as ID=KEY[,KEY…]; repeat for more
    /// projects (in the environment, separate them with `;`). A browser key can only send data
    /// (the query API refuses it with 403), so it may ship in a web page's JavaScript.
    #[arg(
        long = "browser-key",
        env = "TRACEHOUSE_BROWSER_KEYS",
        value_name = "ID=KEYS",
        value_delimiter = ';'
    )]
    pub browser_keys: Vec<String>,

    /// Web page origin allowed to send to the OTLP/HTTP receiver from a browser (CORS), as
    /// scheme://host[:port]; repeat or separate with commas; `*` allows any origin, `none` no
    /// origin [default: any origin in open single-project mode, none when projects are
    /// configured]
    #[arg(
        long = "cors-origin",
        env = "TRACEHOUSE_CORS_ORIGINS",
        value_name = "ORIGIN"
    )]
    pub cors_origins: Vec<String>,

    /// Drop data older than this (e.g. 36h, 7d, 4w; "forever" keeps everything) [default: 7d]
    #[arg(long, env = "TRACEHOUSE_RETENTION", value_name = "AGE")]
    pub retention: Option<String>,

    /// Largest OTLP request accepted, in bytes, before and after decompression
    /// [default: 16777216]
    #[arg(long, env = "TRACEHOUSE_MAX_REQUEST_BYTES", value_name = "BYTES")]
    pub max_request_bytes: Option<usize>,

    /// Attributes kept per attribute set (a span's, its resource's, each event's …); the
    /// rest are dropped and counted in `dropped_attributes_count`. A metric data point with
    /// more is rejected (a cut label set would merge series) [default: 128]
    #[arg(long, env = "TRACEHOUSE_MAX_ATTRIBUTES", value_name = "COUNT")]
    pub max_attributes: Option<usize>,

    /// Longer string attribute values (and log bodies) are truncated to this many bytes; a
    /// metric data point with a longer label is rejected [default: 16384]
    #[arg(
        long,
        env = "TRACEHOUSE_MAX_ATTRIBUTE_VALUE_BYTES",
        value_name = "BYTES"
    )]
    pub max_attribute_value_bytes: Option<usize>,

    /// Longer span and event names are truncated to this many bytes [default: 1024]
    #[arg(long, env = "TRACEHOUSE_MAX_NAME_BYTES", value_name = "BYTES")]
    pub max_name_bytes: Option<usize>,

    /// Longer span status messages are truncated to this many bytes [default: 4096]
    #[arg(
        long,
        env = "TRACEHOUSE_MAX_STATUS_MESSAGE_BYTES",
        value_name = "BYTES"
    )]
    pub max_status_message_bytes: Option<usize>,

    /// Spans and log records timed further ahead of this server's clock are refused (in
    /// `partial_success`, with the reason); raise it for senders with badly skewed clocks
    /// [default: 1h]
    #[arg(long, env = "TRACEHOUSE_MAX_CLOCK_AHEAD", value_name = "DURATION")]
    pub max_clock_ahead: Option<String>,

    /// Time a client has to send a whole request head; an idle HTTP/1 keep-alive connection
    /// and a new connection that starts no request are closed after it too [default: 10s]
    #[arg(long, env = "TRACEHOUSE_HEADER_READ_TIMEOUT", value_name = "DURATION")]
    pub header_read_timeout: Option<String>,

    /// Time a client has to send a whole OTLP/HTTP request body; a slower one is answered 408
    /// [default: 30s]
    #[arg(long, env = "TRACEHOUSE_REQUEST_BODY_TIMEOUT", value_name = "DURATION")]
    pub request_body_timeout: Option<String>,

    /// A connection with no request in flight for this long is closed [default: 60s]
    #[arg(long, env = "TRACEHOUSE_IDLE_TIMEOUT", value_name = "DURATION")]
    pub idle_timeout: Option<String>,

    /// Connections each listener (API, OTLP/gRPC, OTLP/HTTP) holds at once; new connections
    /// past it are closed at once [default: 4096]
    #[arg(long, env = "TRACEHOUSE_MAX_CONNECTIONS", value_name = "N")]
    pub max_connections: Option<usize>,

    /// Longest a JSON API query may run; past it the query is cancelled and answered 503
    /// [default: 30s]
    #[arg(long, env = "TRACEHOUSE_QUERY_TIMEOUT", value_name = "DURATION")]
    pub query_timeout: Option<String>,

    /// How often the alert evaluator looks for due rules and renews its lease (e.g. 1s)
    /// [default: 1s]
    #[arg(long, env = "TRACEHOUSE_ALERT_TICK", value_name = "DURATION")]
    pub alert_tick: Option<String>,

    /// Longest one alert webhook attempt may take [default: 10s]
    #[arg(
        long,
        env = "TRACEHOUSE_ALERT_WEBHOOK_TIMEOUT",
        value_name = "DURATION"
    )]
    pub alert_webhook_timeout: Option<String>,

    /// Wait before retrying a failed alert webhook, doubled before each next attempt (4
    /// attempts in all) [default: 1s]
    #[arg(
        long,
        env = "TRACEHOUSE_ALERT_WEBHOOK_BACKOFF",
        value_name = "DURATION"
    )]
    pub alert_webhook_backoff: Option<String>,

    /// The UI's address as people reach it (e.g. https://tracehouse.example.com), for the
    /// links in alert notifications [default: http://<--listen>]
    #[arg(long, env = "TRACEHOUSE_PUBLIC_URL", value_name = "URL")]
    pub public_url: Option<String>,

    /// Memory the embedded store keeps within under any load and data volume: memtables,
    /// flushes, compaction and queries share it; writes past it are refused with a retry
    /// hint, queries past their share fail as too large (e.g. 512MiB, 2GiB) [default: 1GiB]
    #[arg(long, env = "TRACEHOUSE_MEMORY_LIMIT", value_name = "SIZE")]
    pub memory_limit: Option<String>,

    /// How often the memtable is written to Parquet parts (e.g. 30s) [default: 30s]
    #[arg(long, env = "TRACEHOUSE_FLUSH_INTERVAL", value_name = "DURATION")]
    pub flush_interval: Option<String>,

    /// Log format: text or json [default: text]
    #[arg(long, env = "TRACEHOUSE_LOG_FORMAT", value_name = "FORMAT")]
    pub log_format: Option<LogFormat>,

    /// Storage backend: embedded (this machine's disk) or clickhouse [default: embedded]
    #[arg(long, env = "TRACEHOUSE_STORE", value_name = "BACKEND")]
    pub store: Option<StoreKind>,

    /// The ClickHouse flags (boxed: they are many and rarely set).
    #[command(flatten)]
    pub clickhouse: Box<ClickHouseArgs>,
}

/// The ClickHouse options of `serve` (for `--store clickhouse`).
#[derive(Debug, Clone, Default, clap::Args)]
pub struct ClickHouseArgs {
    /// ClickHouse HTTP endpoint for --store clickhouse, e.g. http://localhost:8123
    #[arg(long, env = "TRACEHOUSE_CLICKHOUSE_URL", value_name = "URL")]
    pub clickhouse_url: Option<String>,

    /// ClickHouse user [default: the server's default user]
    #[arg(long, env = "TRACEHOUSE_CLICKHOUSE_USER", value_name = "USER")]
    pub clickhouse_user: Option<String>,

    /// ClickHouse password
    #[arg(
        long,
        env = "TRACEHOUSE_CLICKHOUSE_PASSWORD",
        value_name = "PASSWORD",
        hide_env_values = true
    )]
    pub clickhouse_password: Option<String>,

    /// ClickHouse database, created if missing [default: tracehouse]
    #[arg(long, env = "TRACEHOUSE_CLICKHOUSE_DATABASE", value_name = "NAME")]
    pub clickhouse_database: Option<String>,

    /// ClickHouse cluster (a `remote_servers` name) to create the schema on: `ON CLUSTER`
    /// DDL, Replicated local tables (`spans_local`, …) behind Distributed tables
    /// (`spans`, …) [default: a single server]
    #[arg(long, env = "TRACEHOUSE_CLICKHOUSE_CLUSTER", value_name = "NAME")]
    pub clickhouse_cluster: Option<String>,

    /// How long the ClickHouse writer holds an insert open for more concurrent writes
    /// (e.g. 5ms, 0s: insert at once) [default: 5ms]
    #[arg(
        long,
        env = "TRACEHOUSE_CLICKHOUSE_BATCH_WAIT",
        value_name = "DURATION"
    )]
    pub clickhouse_batch_wait: Option<String>,
}

/// Where spans are stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum StoreKind {
    /// The embedded store (WAL + Parquet parts in --data-dir).
    #[default]
    Embedded,
    /// A ClickHouse server or cluster (stateless tracehouse servers).
    Clickhouse,
}

/// How logs are written to stderr.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    /// Human-readable lines.
    Text,
    /// One JSON object per line.
    Json,
}

/// Parses a duration such as `30s`, `36h`, `7d` or `4w`.
/// A size in bytes: a number with an optional binary unit (`K`/`KiB`, `M`/`MiB`, `G`/`GiB`,
/// any case), e.g. `512MiB`, `2g`, `1048576`.
pub fn parse_size(text: &str) -> anyhow::Result<usize> {
    let t = text.trim();
    let split = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
    let (digits, unit) = t.split_at(split);
    let shift = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 0,
        "k" | "kb" | "kib" => 10,
        "m" | "mb" | "mib" => 20,
        "g" | "gb" | "gib" => 30,
        _ => anyhow::bail!("invalid size {text:?}: write it like 512MiB or 2GiB"),
    };
    let n: usize = digits
        .parse()
        .map_err(|_| anyhow::anyhow!("invalid size {text:?}: write it like 512MiB or 2GiB"))?;
    n.checked_mul(1 << shift)
        .ok_or_else(|| anyhow::anyhow!("size {text:?} is too large"))
}

pub fn parse_duration(text: &str) -> anyhow::Result<Duration> {
    humantime::parse_duration(text).map_err(|e| {
        anyhow::anyhow!("invalid duration {text:?} ({e}): write it like 30s, 36h or 7d")
    })
}

/// Whether log lines on stderr get ANSI colours: only on a terminal, and not when `NO_COLOR`
/// is set (<https://no-color.org>), so that a redirected log file holds plain text.
pub fn colour_logs() -> bool {
    use std::io::IsTerminal;
    std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
}

/// How a banner names a data directory: as given, and absolute when it was relative.
pub fn describe_dir(dir: &std::path::Path) -> String {
    match std::path::absolute(dir) {
        Ok(abs) if abs != dir => format!("{} ({})", dir.display(), abs.display()),
        _ => dir.display().to_string(),
    }
}
