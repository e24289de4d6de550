//! `tracehouse demo`: the server with an embedded store in a temporary (or named) directory,
//! fed with generated shop traffic: first the last few minutes of history at once, then a
//! gentle live stream, so that the UI shows traces, errors and sessions within seconds. The
//! traffic is [`tracehouse_workload`]'s. Beside it runs a small web shop ([`shop`]) whose pages
//! use the browser SDK and whose API uses `tracehouse-sdk`; when Chromium is installed,
//! [`browser`] visits it now and then, so that sessions with replays, requests and the backend
//! traces they caused appear too.

pub mod browser;
pub mod shop;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use anyhow::Context;
use clap::Args;
use tracehouse_engine::{EmbeddedStore, EngineConfig, Store};
use tracehouse_server::{Server, ServerConfig};
use tracehouse_workload::{LoadConfig, ProgressBar, Protocol, backfill, drive};

/// Options of `tracehouse demo`.
#[derive(Debug, Clone, Args)]
pub struct DemoArgs {
    /// Keep the data in this directory (created if missing; reused if it holds a store);
    /// by default a temporary directory is used and removed at exit.
    #[arg(long, value_name = "DIR")]
    pub data_dir: Option<PathBuf>,
    /// Address of the JSON API and the UI.
    #[arg(long, default_value = "127.0.0.1:8080", value_name = "ADDR")]
    pub listen: SocketAddr,
    /// Address of the OTLP/gRPC receiver (your own services may send here too).
    #[arg(long, default_value = "127.0.0.1:4317", value_name = "ADDR")]
    pub otlp_grpc: SocketAddr,
    /// Address of the OTLP/HTTP receiver.
    #[arg(long, default_value = "127.0.0.1:4318", value_name = "ADDR")]
    pub otlp_http: SocketAddr,
    /// Live traffic, in spans per second.
    #[arg(long, default_value_t = 50.0, value_name = "SPANS_PER_S")]
    pub rate: f64,
    /// History generated at start, spread over this much of the recent past (0s for none).
    #[arg(long, default_value = "15m", value_name = "DURATION")]
    pub backfill: String,
    /// Generator seed.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Address of the demo's web shop (pages traced by the browser SDK, an API traced by
    /// tracehouse-sdk).
    #[arg(long, default_value = "127.0.0.1:8081", value_name = "ADDR")]
    pub shop: SocketAddr,
    /// Do not drive the shop with headless Chromium (by default it does when `chromium` or
    /// `google-chrome` is on PATH).
    #[arg(long)]
    pub no_browser: bool,
}

/// Pause between two scripted visits of the shop.
const VISIT_INTERVAL: std::time::Duration = std::time::Duration::from_secs(60);

/// Traces of backfill per minute of history.
const BACKFILL_TRACES_PER_MINUTE: usize = 100;

/// Waits for Ctrl-C or SIGTERM.
async fn shutdown_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = ctrl_c => {},
                    _ = term.recv() => {},
                }
            }
            Err(_) => {
                let _ = ctrl_c.await;
            }
        }
    }
    #[cfg(not(unix))]
    let _ = ctrl_c.await;
}

/// Runs `tracehouse demo` until Ctrl-C.
pub async fn run(args: DemoArgs) -> anyhow::Result<()> {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(crate::cli::colour_logs())
        .with_writer(std::io::stderr)
        .try_init();
    if !(args.rate.is_finite() && args.rate > 0.0) {
        anyhow::bail!("--rate must be a positive number of spans per second");
    }
    let window = crate::cli::parse_duration(&args.backfill).context("--backfill")?;
    let (data_dir, temporary) = match &args.data_dir {
        Some(d) => (d.clone(), false),
        None => (
            std::env::temp_dir().join(format!("tracehouse-demo-{}", std::process::id())),
            true,
        ),
    };
    // Declared before the store, so dropped after it: a failed start removes a temporary
    // store as a clean exit does.
    let _cleanup = temporary.then(|| RemoveOnDrop(data_dir.clone()));
    let mut engine = EngineConfig::new(&data_dir);
    engine.retention = Some(std::time::Duration::from_secs(7 * 86_400));
    let store: Arc<dyn Store> = EmbeddedStore::open(engine)
        .await
        .with_context(|| format!("cannot open the store in {}", data_dir.display()))?;
    let config = ServerConfig {
        listen: args.listen,
        otlp_grpc: args.otlp_grpc,
        otlp_http: args.otlp_http,
        ..ServerConfig::default()
    };
    let server = Server::bind(config, store).await.context(
        "cannot start the server: is another tracehouse running? Pick free addresses with \
         --listen, --otlp-grpc and --otlp-http (port 0 picks any)",
    )?;
    let addrs = server.addrs()?;
    let grpc = format!("http://{}", addrs.otlp_grpc);
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let serving = {
        let mut stop_rx = stop_rx.clone();
        tokio::spawn(server.run(async move {
            let _ = stop_rx.changed().await;
        }))
    };

    let shop = shop::start(args.shop, addrs.api, addrs.otlp_http)
        .await
        .context("cannot start the demo shop: pick a free address with --shop")?;
    let history = if window.is_zero() {
        0
    } else {
        backfill(&grpc, args.seed, window, BACKFILL_TRACES_PER_MINUTE)
            .await
            .context("sending the demo history")?
    };
    println!(
        "tracehouse demo {}: {history} spans of history, then {} spans/s of live shop traffic \
         (data stored in {}{})\n\n  open  http://{}/\n  shop  {}/  (traced in the browser and on the server)\n\n  otlp-grpc  http://{}\n  otlp-http  http://{}/v1/traces\n\nTry the queries  service:checkout status_code:error  or  \
         {{service:frontend}} >> {{service:payment status_code:error}}\nCtrl-C stops.",
        env!("CARGO_PKG_VERSION"),
        args.rate,
        crate::cli::describe_dir(&data_dir),
        if temporary {
            ", a temporary directory removed at exit; --data-dir DIR keeps it"
        } else {
            ""
        },
        addrs.api,
        shop.url,
        addrs.otlp_grpc,
        addrs.otlp_http,
    );
    let load = LoadConfig {
        endpoint: grpc,
        protocol: Protocol::Grpc,
        seed: args.seed,
        rate: Some(args.rate),
        count: None,
        duration: None,
        key: None,
        concurrency: 1,
        traces_per_request: 10,
        logs: true,
    };
    let mut stop_load = stop_rx.clone();
    let feeding = tokio::spawn(drive(load, ProgressBar::hidden(), async move {
        let _ = stop_load.changed().await;
    }));
    let visiting = start_visits(&args, shop, stop_rx.clone());
    shutdown_signal().await;
    eprintln!("stopping…");
    let _ = stop_tx.send(true);
    match feeding.await {
        Ok(Ok(report)) => eprintln!("demo traffic: {report}"),
        Ok(Err(e)) => eprintln!("demo traffic stopped early: {e:#}"),
        Err(e) => eprintln!("demo traffic task failed: {e}"),
    }
    if let Some(visiting) = visiting {
        let _ = visiting.await;
    }
    serving.await??;
    // Let the WAL thread close its files before the temporary store is removed.
    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    Ok(())
}

/// Visits the shop with headless Chromium every [`VISIT_INTERVAL`] until `stop`, when a browser
/// is found (and not turned off); says in one line why not otherwise.
fn start_visits(
    args: &DemoArgs,
    shop: shop::ShopProcess,
    mut stop: tokio::sync::watch::Receiver<bool>,
) -> Option<tokio::task::JoinHandle<()>> {
    let found = (!args.no_browser).then(browser::find).flatten();
    let Some(path) = found else {
        println!(
            "No headless browser visits ({}): open the shop yourself to record a session.",
            if args.no_browser {
                "--no-browser"
            } else {
                "no chromium or google-chrome on PATH"
            }
        );
        // The shop keeps running as long as its handle lives.
        return Some(tokio::spawn(async move {
            let _ = stop.changed().await;
            drop(shop);
        }));
    };
    println!(
        "Visiting the shop with {} every {}s (a new session each time).",
        path.display(),
        VISIT_INTERVAL.as_secs()
    );
    Some(tokio::spawn(async move {
        // The whole process handle moves in (not only the fields used), so the shop lives on.
        let mut shop = shop;
        loop {
            let visited = browser::visit(&path, &shop.url, &mut shop.visits_done, &mut stop).await;
            if *stop.borrow() {
                break;
            }
            if let Err(e) = visited {
                eprintln!("demo browser visit: {e:#}");
            }
            tokio::select! {
                _ = stop.changed() => break,
                () = tokio::time::sleep(VISIT_INTERVAL) => {}
            }
        }
    }))
}

/// Removes a temporary directory when dropped, whether the demo ends cleanly or fails.
struct RemoveOnDrop(PathBuf);

impl Drop for RemoveOnDrop {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}
