//! `tracehouse serve`: resolve the configuration layers, open the store, run the server.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use serde::Deserialize;
use tracehouse_clickhouse::{ClickHouseConfig, ClickHouseStore};
use tracehouse_engine::{EmbeddedStore, EngineConfig, Store};
use tracehouse_server::alerts::AlertsConfig;
use tracehouse_server::{
    ConnectionLimits, CorsOrigins, Limits, ProjectConfig, Server, ServerConfig,
};

use crate::cli::{LogFormat, ServeArgs, StoreKind, parse_duration, parse_size};

/// The smallest `--memory-limit` accepted.
const MIN_MEMORY_LIMIT: usize = 64 << 20;

/// The `--config` TOML file: every key optional.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileConfig {
    data_dir: Option<PathBuf>,
    listen: Option<std::net::SocketAddr>,
    otlp_grpc: Option<std::net::SocketAddr>,
    otlp_http: Option<std::net::SocketAddr>,
    #[serde(default)]
    projects: Vec<ProjectConfig>,
    cors_origins: Option<Vec<String>>,
    retention: Option<String>,
    max_request_bytes: Option<usize>,
    max_attributes: Option<usize>,
    max_attribute_value_bytes: Option<usize>,
    max_name_bytes: Option<usize>,
    max_status_message_bytes: Option<usize>,
    max_clock_ahead: Option<String>,
    header_read_timeout: Option<String>,
    request_body_timeout: Option<String>,
    idle_timeout: Option<String>,
    max_connections: Option<usize>,
    query_timeout: Option<String>,
    alert_tick: Option<String>,
    alert_webhook_timeout: Option<String>,
    alert_webhook_backoff: Option<String>,
    public_url: Option<String>,
    flush_interval: Option<String>,
    memory_limit: Option<String>,
    log_format: Option<LogFormat>,
    store: Option<StoreKind>,
    clickhouse_url: Option<String>,
    clickhouse_user: Option<String>,
    clickhouse_password: Option<String>,
    clickhouse_database: Option<String>,
    clickhouse_cluster: Option<String>,
    clickhouse_batch_wait: Option<String>,
}

/// The resolved settings of one run.
#[derive(Debug)]
pub struct Settings {
    /// Server settings.
    pub server: ServerConfig,
    /// Store settings.
    pub engine: EngineConfig,
    /// Set with `--store clickhouse`: the ClickHouse store instead of the embedded one.
    pub clickhouse: Option<ClickHouseConfig>,
    /// Log format.
    pub log_format: LogFormat,
}

/// Splits `shop=k1,k2` into the project id and its keys; `flag` names the option in errors.
fn parse_keys(spec: &str, flag: &str) -> anyhow::Result<(String, Vec<String>)> {
    let (id, keys) = spec.split_once('=').with_context(|| {
        format!("invalid {flag} {spec:?}: write it as ID=KEY[,KEY…], e.g. shop=secret1")
    })?;
    let keys = keys
        .split(',')
        .map(|k| k.trim().to_string())
        .filter(|k| !k.is_empty())
        .collect();
    Ok((id.trim().to_string(), keys))
}

/// Parses `shop=k1,k2` into a project.
fn parse_project(spec: &str) -> anyhow::Result<ProjectConfig> {
    let (id, keys) = parse_keys(spec, "--project")?;
    Ok(ProjectConfig {
        id,
        keys,
        browser_keys: Vec::new(),
    })
}

/// Adds `--browser-key ID=KEY[,KEY…]` values to their (configured) projects.
fn add_browser_keys(projects: &mut [ProjectConfig], specs: &[String]) -> anyhow::Result<()> {
    for spec in specs {
        let (id, keys) = parse_keys(spec, "--browser-key")?;
        let project = projects.iter_mut().find(|p| p.id == id).with_context(|| {
            format!(
                "--browser-key {spec:?}: no project {id:?} is configured (add it with --project {id}=KEY)"
            )
        })?;
        project.browser_keys.extend(keys);
    }
    Ok(())
}

/// A duration setting: the flag (or environment), else the file, else `default`.
/// A duration in nanoseconds, saturating past ~292 years.
fn duration_ns(d: Duration) -> i64 {
    i64::try_from(d.as_nanos()).unwrap_or(i64::MAX)
}

fn duration_setting(
    flag: Option<String>,
    file: Option<String>,
    name: &str,
    default: Duration,
) -> anyhow::Result<Duration> {
    match flag.or(file) {
        Some(text) => parse_duration(&text).with_context(|| format!("--{name}")),
        None => Ok(default),
    }
}

/// Merges flags/environment over the config file over the defaults.
pub fn resolve(args: ServeArgs) -> anyhow::Result<Settings> {
    let file: FileConfig = match &args.config {
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("cannot read config file {}", path.display()))?;
            toml::from_str(&text)
                .with_context(|| format!("invalid config file {}", path.display()))?
        }
        None => FileConfig::default(),
    };
    let defaults = ServerConfig::default();
    let mut projects = if args.projects.is_empty() {
        file.projects
    } else {
        args.projects
            .iter()
            .map(|p| parse_project(p))
            .collect::<anyhow::Result<_>>()?
    };
    add_browser_keys(&mut projects, &args.browser_keys)?;
    let cors = if args.cors_origins.is_empty() {
        file.cors_origins.unwrap_or_default()
    } else {
        args.cors_origins
    };
    let server = ServerConfig {
        listen: args.listen.or(file.listen).unwrap_or(defaults.listen),
        otlp_grpc: args
            .otlp_grpc
            .or(file.otlp_grpc)
            .unwrap_or(defaults.otlp_grpc),
        otlp_http: args
            .otlp_http
            .or(file.otlp_http)
            .unwrap_or(defaults.otlp_http),
        projects,
        max_request_bytes: args
            .max_request_bytes
            .or(file.max_request_bytes)
            .unwrap_or(defaults.max_request_bytes),
        limits: Limits {
            max_attributes_per_span: args
                .max_attributes
                .or(file.max_attributes)
                .unwrap_or(defaults.limits.max_attributes_per_span),
            max_attribute_value_bytes: args
                .max_attribute_value_bytes
                .or(file.max_attribute_value_bytes)
                .unwrap_or(defaults.limits.max_attribute_value_bytes),
            max_name_bytes: args
                .max_name_bytes
                .or(file.max_name_bytes)
                .unwrap_or(defaults.limits.max_name_bytes),
            max_status_message_bytes: args
                .max_status_message_bytes
                .or(file.max_status_message_bytes)
                .unwrap_or(defaults.limits.max_status_message_bytes),
            max_ahead_ns: duration_ns(duration_setting(
                args.max_clock_ahead,
                file.max_clock_ahead,
                "max-clock-ahead",
                Duration::from_nanos(defaults.limits.max_ahead_ns.unsigned_abs()),
            )?),
        },
        connections: ConnectionLimits {
            header_read_timeout: duration_setting(
                args.header_read_timeout,
                file.header_read_timeout,
                "header-read-timeout",
                defaults.connections.header_read_timeout,
            )?,
            request_body_timeout: duration_setting(
                args.request_body_timeout,
                file.request_body_timeout,
                "request-body-timeout",
                defaults.connections.request_body_timeout,
            )?,
            idle_timeout: duration_setting(
                args.idle_timeout,
                file.idle_timeout,
                "idle-timeout",
                defaults.connections.idle_timeout,
            )?,
            max_connections: args
                .max_connections
                .or(file.max_connections)
                .unwrap_or(defaults.connections.max_connections),
        },
        query_timeout: duration_setting(
            args.query_timeout,
            file.query_timeout,
            "query-timeout",
            defaults.query_timeout,
        )?,
        cors: CorsOrigins::parse(&cors).context("--cors-origin")?,
        alerts: AlertsConfig {
            tick: duration_setting(
                args.alert_tick,
                file.alert_tick,
                "alert-tick",
                defaults.alerts.tick,
            )?,
            webhook_timeout: duration_setting(
                args.alert_webhook_timeout,
                file.alert_webhook_timeout,
                "alert-webhook-timeout",
                defaults.alerts.webhook_timeout,
            )?,
            webhook_backoff: duration_setting(
                args.alert_webhook_backoff,
                file.alert_webhook_backoff,
                "alert-webhook-backoff",
                defaults.alerts.webhook_backoff,
            )?,
            public_url: args.public_url.or(file.public_url),
            ..defaults.alerts.clone()
        },
        ..defaults
    };
    let data_dir = args
        .data_dir
        .or(file.data_dir)
        .unwrap_or_else(|| PathBuf::from("data"));
    let mut engine = EngineConfig::new(data_dir);
    if let Some(text) = args.memory_limit.or(file.memory_limit) {
        let limit = parse_size(&text).context("--memory-limit")?;
        anyhow::ensure!(
            limit >= MIN_MEMORY_LIMIT,
            "--memory-limit {text} is below the smallest budget the store runs in, 64MiB"
        );
        engine = engine.with_memory_limit(limit);
    }
    let retention = args
        .retention
        .or(file.retention)
        .unwrap_or_else(|| "7d".to_string());
    engine.retention = match retention.as_str() {
        "forever" | "none" => None,
        text => Some(parse_duration(text).context("--retention")?),
    };
    if let Some(text) = args.flush_interval.or(file.flush_interval) {
        engine.flush_interval = parse_duration(&text).context("--flush-interval")?;
    }
    let ch = *args.clickhouse;
    let clickhouse = match args.store.or(file.store).unwrap_or_default() {
        StoreKind::Embedded => None,
        StoreKind::Clickhouse => {
            let url = ch.clickhouse_url.or(file.clickhouse_url).context(
                "--store clickhouse needs --clickhouse-url (or TRACEHOUSE_CLICKHOUSE_URL), e.g. http://localhost:8123",
            )?;
            let mut c = ClickHouseConfig::new(url);
            c.user = ch.clickhouse_user.or(file.clickhouse_user);
            c.password = ch.clickhouse_password.or(file.clickhouse_password);
            if let Some(db) = ch.clickhouse_database.or(file.clickhouse_database) {
                c.database = db;
            }
            c.cluster = ch
                .clickhouse_cluster
                .or(file.clickhouse_cluster)
                .map(tracehouse_clickhouse::schema::Cluster::new);
            if let Some(text) = ch.clickhouse_batch_wait.or(file.clickhouse_batch_wait) {
                c.batch_wait = parse_duration(&text).context("--clickhouse-batch-wait")?;
            }
            c.retention = engine.retention;
            c.recent_spans_bytes = engine.recent_spans_bytes;
            Some(c)
        }
    };
    Ok(Settings {
        server,
        engine,
        clickhouse,
        log_format: args
            .log_format
            .or(file.log_format)
            .unwrap_or(LogFormat::Text),
    })
}

fn init_logging(format: LogFormat) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(crate::cli::colour_logs())
        .with_writer(std::io::stderr);
    match format {
        LogFormat::Text => builder.init(),
        LogFormat::Json => builder.json().init(),
    }
}

async fn shutdown_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let terminate = tokio::signal::unix::SignalKind::terminate();
        let Ok(mut term) = tokio::signal::unix::signal(terminate) else {
            let _ = ctrl_c.await;
            return;
        };
        tokio::select! {
            _ = ctrl_c => {},
            _ = term.recv() => {},
        }
    }
    #[cfg(not(unix))]
    let _ = ctrl_c.await;
}

/// Runs the server until Ctrl-C or SIGTERM.
pub async fn run(args: ServeArgs) -> anyhow::Result<()> {
    let settings = resolve(args)?;
    init_logging(settings.log_format);
    let data_dir = settings.engine.data_dir.clone();
    let (store, location): (Arc<dyn Store>, String) = match settings.clickhouse {
        None => (
            EmbeddedStore::open(settings.engine)
                .await
                .with_context(|| format!("cannot open the store in {}", data_dir.display()))?,
            format!("data stored in {}", crate::cli::describe_dir(&data_dir)),
        ),
        Some(c) => {
            let mut location = format!("ClickHouse {} database {}", c.url, c.database);
            if let Some(cluster) = &c.cluster {
                location.push_str(&format!(" on cluster {}", cluster.name));
            }
            let store = ClickHouseStore::open(c)
                .await
                .with_context(|| format!("cannot open the store: {location}"))?;
            (store, location)
        }
    };
    let mode = if settings.server.projects.is_empty() {
        "open single-project mode: no key needed".to_string()
    } else {
        format!(
            "{} project(s), ingest keys required",
            settings.server.projects.len()
        )
    };
    let server = Server::bind(settings.server, store).await?;
    let addrs = server.addrs()?;
    println!(
        "tracehouse {} serving ({mode}; {})\n  api        http://{}\n  otlp-grpc  http://{}\n  otlp-http  http://{}/v1/traces",
        env!("CARGO_PKG_VERSION"),
        location,
        addrs.api,
        addrs.otlp_grpc,
        addrs.otlp_http
    );
    server.run(shutdown_signal()).await?;
    tracing::info!("stopped cleanly");
    // Give the WAL thread a moment to close its files before the process exits.
    tokio::time::sleep(Duration::from_millis(10)).await;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    /// The settings of `tracehouse serve --config <file holding toml> <flags>`.
    fn with_config_file(toml: &str, flags: &[&str]) -> Settings {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("tracehouse.toml");
        std::fs::write(&path, toml).unwrap();
        let mut argv = vec!["tracehouse", "serve", "--config", path.to_str().unwrap()];
        argv.extend_from_slice(flags);
        resolve(args(&argv)).unwrap()
    }

    fn args(argv: &[&str]) -> ServeArgs {
        match crate::cli::Cli::parse_from(argv)
            .command
            .unwrap_or_default()
        {
            crate::cli::Command::Serve(a) => *a,
            other => panic!("expected serve, got {other:?}"),
        }
    }

    #[test]
    fn flags_win_over_file_and_defaults() {
        let s = with_config_file(
            "listen = \"127.0.0.1:9000\"\notlp_grpc = \"127.0.0.1:9001\"\nretention = \"2d\"\n[[projects]]\nid = \"shop\"\nkeys = [\"k1\"]\n",
            &["--listen", "127.0.0.1:9999"],
        );
        assert_eq!(s.server.listen.port(), 9999);
        assert_eq!(s.server.otlp_grpc.port(), 9001);
        assert_eq!(s.server.otlp_http.port(), 4318);
        assert_eq!(
            s.server.projects,
            vec![ProjectConfig {
                id: "shop".into(),
                keys: vec!["k1".into()],
                browser_keys: Vec::new(),
            }]
        );
        assert_eq!(s.engine.retention, Some(Duration::from_secs(2 * 86400)));
        assert_eq!(s.engine.data_dir, PathBuf::from("data"));
    }

    #[test]
    fn memory_limit_from_flag_or_file_sets_every_share() {
        let s = resolve(args(&["tracehouse", "serve"])).unwrap();
        assert_eq!(
            s.engine.max_memtable_bytes,
            256 << 20,
            "default budget: 1 GiB"
        );
        let s = resolve(args(&["tracehouse", "serve", "--memory-limit", "256MiB"])).unwrap();
        assert_eq!(s.engine.max_memtable_bytes, 64 << 20);
        assert_eq!(s.engine.query_memory_bytes, 64 << 20);
        let s = with_config_file("memory_limit = \"2g\"\n", &[]);
        assert_eq!(s.engine.max_memtable_bytes, 512 << 20);
        for bad in ["lots", "12TB", "1MiB"] {
            let err = resolve(args(&["tracehouse", "serve", "--memory-limit", bad])).unwrap_err();
            assert!(
                format!("{err:#}").contains("memory-limit"),
                "{bad}: {err:#}"
            );
        }
    }

    #[test]
    fn clickhouse_store_flags() {
        let s = resolve(args(&["tracehouse", "serve"])).unwrap();
        assert!(s.clickhouse.is_none());
        let s = resolve(args(&[
            "tracehouse",
            "serve",
            "--store",
            "clickhouse",
            "--clickhouse-url",
            "http://ch:8123",
            "--clickhouse-database",
            "traces",
            "--clickhouse-user",
            "u",
            "--retention",
            "2d",
        ]))
        .unwrap();
        let c = s.clickhouse.unwrap();
        assert_eq!(c.url, "http://ch:8123");
        assert_eq!(c.database, "traces");
        assert_eq!(c.user.as_deref(), Some("u"));
        assert_eq!(c.retention, Some(Duration::from_secs(2 * 86400)));
        assert_eq!(c.cluster, None);
        assert_eq!(c.batch_wait, Duration::from_millis(5));
        let s = resolve(args(&[
            "tracehouse",
            "serve",
            "--store",
            "clickhouse",
            "--clickhouse-url",
            "http://ch:8123",
            "--clickhouse-cluster",
            "traces",
            "--clickhouse-batch-wait",
            "20ms",
        ]))
        .unwrap();
        let c = s.clickhouse.unwrap();
        assert_eq!(
            c.cluster,
            Some(tracehouse_clickhouse::schema::Cluster::new("traces"))
        );
        assert_eq!(c.batch_wait, Duration::from_millis(20));
        // The same keys in the config file.
        let s = with_config_file(
            "store = \"clickhouse\"\nclickhouse_url = \"http://ch:8123\"\nclickhouse_cluster = \"main\"\nclickhouse_batch_wait = \"0s\"\n",
            &[],
        );
        let c = s.clickhouse.unwrap();
        assert_eq!(c.cluster.map(|c| c.name).as_deref(), Some("main"));
        assert_eq!(c.batch_wait, Duration::ZERO);
        let err = resolve(args(&["tracehouse", "serve", "--store", "clickhouse"])).unwrap_err();
        assert!(format!("{err:#}").contains("--clickhouse-url"), "{err:#}");
    }

    #[test]
    fn connection_limits_and_query_timeout_from_flags_file_and_defaults() {
        let s = resolve(args(&["tracehouse", "serve"])).unwrap();
        assert_eq!(s.server.connections, ConnectionLimits::default());
        assert_eq!(s.server.query_timeout, Duration::from_secs(30));
        let s = with_config_file(
            "header_read_timeout = \"3s\"\nidle_timeout = \"2m\"\nmax_connections = 10\nquery_timeout = \"5s\"\n",
            &[
                "--max-connections",
                "20",
                "--request-body-timeout",
                "1500ms",
            ],
        );
        let c = s.server.connections;
        assert_eq!(c.header_read_timeout, Duration::from_secs(3));
        assert_eq!(c.request_body_timeout, Duration::from_millis(1500));
        assert_eq!(c.idle_timeout, Duration::from_secs(120));
        assert_eq!(c.max_connections, 20);
        assert_eq!(s.server.query_timeout, Duration::from_secs(5));
    }

    #[test]
    fn ingest_limits_from_flags_file_and_defaults() {
        let s = resolve(args(&["tracehouse", "serve"])).unwrap();
        assert_eq!(s.server.limits, Limits::default());
        let s = with_config_file(
            "max_attributes = 64
max_name_bytes = 200
max_clock_ahead = \"5m\"
",
            &[
                "--max-attributes",
                "32",
                "--max-status-message-bytes",
                "100",
            ],
        );
        let l = s.server.limits;
        assert_eq!(l.max_attributes_per_span, 32, "the flag wins over the file");
        assert_eq!(l.max_name_bytes, 200);
        assert_eq!(l.max_status_message_bytes, 100);
        assert_eq!(l.max_ahead_ns, 300_000_000_000, "from the file");
        assert_eq!(
            l.max_attribute_value_bytes,
            Limits::default().max_attribute_value_bytes
        );
    }

    #[test]
    fn project_flags_and_bad_values() {
        let s = resolve(args(&[
            "tracehouse",
            "serve",
            "--project",
            "a=k1,k2",
            "--project",
            "b=k3",
            "--retention",
            "forever",
        ]))
        .unwrap();
        assert_eq!(s.server.projects.len(), 2);
        assert_eq!(s.server.projects[0].keys, vec!["k1", "k2"]);
        assert_eq!(s.engine.retention, None);
        assert!(resolve(args(&["tracehouse", "serve", "--project", "nokeys"])).is_err());
        let err = resolve(args(&["tracehouse", "serve", "--idle-timeout", "later"])).unwrap_err();
        assert!(format!("{err:#}").contains("--idle-timeout"), "{err:#}");
        let err = resolve(args(&["tracehouse", "serve", "--retention", "soon"])).unwrap_err();
        assert!(format!("{err:#}").contains("30s, 36h or 7d"), "{err:#}");
    }

    #[test]
    fn browser_keys_and_cors_origins_from_flags_and_file() {
        let s = resolve(args(&[
            "tracehouse",
            "serve",
            "--project",
            "shop=secret",
            "--browser-key",
            "shop=pub1,pub2",
            "--cors-origin",
            "https://shop.example.com,http://localhost:5173",
            "--cors-origin",
            "https://admin.example.com",
        ]))
        .unwrap();
        assert_eq!(s.server.projects[0].browser_keys, vec!["pub1", "pub2"]);
        assert_eq!(
            s.server.cors,
            CorsOrigins::List(vec![
                "https://shop.example.com".into(),
                "http://localhost:5173".into(),
                "https://admin.example.com".into()
            ])
        );
        assert_eq!(
            resolve(args(&["tracehouse", "serve"])).unwrap().server.cors,
            CorsOrigins::ByMode
        );
        let any = resolve(args(&["tracehouse", "serve", "--cors-origin", "*"])).unwrap();
        assert_eq!(any.server.cors, CorsOrigins::Any);
        let err = resolve(args(&["tracehouse", "serve", "--browser-key", "shop=p"])).unwrap_err();
        assert!(
            format!("{err:#}").contains("no project \"shop\""),
            "{err:#}"
        );
        for bad in [
            "shop.example.com",
            "https://shop.example.com/",
            "https://x/app",
        ] {
            let err = resolve(args(&["tracehouse", "serve", "--cors-origin", bad])).unwrap_err();
            assert!(
                format!("{err:#}").contains("invalid CORS origin"),
                "{bad}: {err:#}"
            );
        }

        let s = with_config_file(
            "cors_origins = [\"https://shop.example.com\"]\n[[projects]]\nid = \"shop\"\nkeys = [\"k1\"]\nbrowser_keys = [\"pub\"]\n",
            &[],
        );
        assert_eq!(s.server.projects[0].browser_keys, vec!["pub"]);
        assert_eq!(
            s.server.cors,
            CorsOrigins::List(vec!["https://shop.example.com".into()])
        );
    }
}
