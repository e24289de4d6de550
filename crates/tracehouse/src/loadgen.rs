//! `tracehouse loadgen`: the command line of the load driver ([`tracehouse_workload::drive`]),
//! which plays the generated microservice shop against an OTLP endpoint.

use anyhow::{Context, bail};
use clap::Args;
use tracehouse_workload::{LoadConfig, Protocol, drive, progress_bar};

/// Options of `tracehouse loadgen`.
#[derive(Debug, Clone, Args)]
pub struct LoadgenArgs {
    /// OTLP endpoint [default: http://127.0.0.1:4317 for grpc, http://127.0.0.1:4318 for http]
    #[arg(long, env = "TRACEHOUSE_ENDPOINT", value_name = "URL")]
    pub endpoint: Option<String>,
    /// Transport: grpc or http (protobuf over HTTP, POST /v1/traces).
    #[arg(long, value_enum, default_value_t = Protocol::Grpc)]
    pub protocol: Protocol,
    /// Generator seed: the same seed sends the same traces (timestamps follow the clock).
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Spans per second; without it, send as fast as the server acknowledges.
    #[arg(long, value_name = "SPANS_PER_S")]
    pub rate: Option<f64>,
    /// Stop after this many spans (rounded up to whole traces).
    #[arg(long, value_name = "SPANS")]
    pub count: Option<u64>,
    /// Stop after this long (e.g. 30s, 5m). Without --count or --duration, run until Ctrl-C.
    #[arg(long, value_name = "DURATION")]
    pub duration: Option<String>,
    /// Project ingest key, sent as the x-tracehouse-key header.
    #[arg(long, env = "TRACEHOUSE_KEY", value_name = "KEY")]
    pub key: Option<String>,
    /// Requests in flight at once.
    #[arg(long, default_value_t = 4)]
    pub concurrency: usize,
    /// Traces per export request (a trace has 3 to 49 spans, 12 on average).
    #[arg(long, default_value_t = 20)]
    pub traces_per_request: usize,
    /// Also send the log records the shop's services write while serving each request
    /// (OTLP logs: LogsService over gRPC, POST /v1/logs over HTTP).
    #[arg(long)]
    pub logs: bool,
    /// No progress bar (the summary is still printed).
    #[arg(long)]
    pub quiet: bool,
}

/// The load the command line describes.
fn load_config(args: &LoadgenArgs) -> anyhow::Result<LoadConfig> {
    let endpoint = args.endpoint.clone().unwrap_or_else(|| {
        match args.protocol {
            Protocol::Grpc => "http://127.0.0.1:4317",
            Protocol::Http => "http://127.0.0.1:4318",
        }
        .to_string()
    });
    let duration = args
        .duration
        .as_deref()
        .map(crate::cli::parse_duration)
        .transpose()
        .context("--duration")?;
    if let Some(rate) = args.rate
        && !(rate.is_finite() && rate > 0.0)
    {
        bail!("--rate must be a positive number of spans per second, got {rate}");
    }
    if args.concurrency == 0 || args.traces_per_request == 0 {
        bail!("--concurrency and --traces-per-request must be at least 1");
    }
    Ok(LoadConfig {
        endpoint,
        protocol: args.protocol,
        seed: args.seed,
        rate: args.rate,
        count: args.count,
        duration,
        key: args.key.clone().filter(|k| !k.is_empty()),
        concurrency: args.concurrency,
        traces_per_request: args.traces_per_request,
        logs: args.logs,
    })
}

/// Runs `tracehouse loadgen`.
pub async fn run(args: LoadgenArgs) -> anyhow::Result<()> {
    let config = load_config(&args)?;
    let bar = progress_bar(config.count, args.quiet);
    eprintln!(
        "sending shop traffic to {} over {:?} ({}){}",
        config.endpoint,
        config.protocol,
        match config.rate {
            Some(r) => format!("{r} spans/s"),
            None => "flat-out".to_string(),
        },
        if config.count.is_none() && config.duration.is_none() {
            "; Ctrl-C stops"
        } else {
            ""
        }
    );
    let report = drive(config, bar, async {
        let _ = tokio::signal::ctrl_c().await;
    })
    .await?;
    println!("{report}");
    Ok(())
}
