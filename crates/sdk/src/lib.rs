//! # tracehouse-sdk
//!
//! Instrument a Rust service for [tracehouse](https://github.com/tracehouse/tracehouse) (or
//! any OTLP backend) in two lines. The SDK does not reinvent anything: it composes
//! [`opentelemetry`], [`opentelemetry_sdk`], [`opentelemetry_otlp`] and
//! [`tracing_opentelemetry`] with the right defaults, so every `tracing` span becomes an
//! OpenTelemetry span and every `#[tracing::instrument]` function records its arguments.
//!
//! ```no_run
//! #[tracing::instrument]
//! fn checkout(cart_id: u64, coupon: Option<&str>) {
//!     tracing::info!("charging card"); // a log record in the trace (and a span event)
//! }
//!
//! #[tokio::main]
//! async fn main() -> Result<(), tracehouse_sdk::Error> {
//!     let _guard = tracehouse_sdk::init(tracehouse_sdk::Config::new().service_name("shop"))?;
//!     checkout(42, None); // span "checkout" with attributes cart_id=42, coupon="None"
//!     let orders = tracehouse_sdk::meter("shop").u64_counter("orders.placed").build();
//!     orders.add(1, &[tracehouse_sdk::opentelemetry::KeyValue::new("sku", "tea")]);
//!     Ok(())
//! } // the guard flushes and shuts the exporters down here
//! ```
//!
//! Configuration comes from [`Config`], then `TRACEHOUSE_*`, then the standard `OTEL_*`
//! environment variables ([`config`] has the table); [`init_from_env`] uses the
//! environment only.
//!
//! ## What `init` sets up
//! * a batch span exporter over OTLP/HTTP-protobuf or OTLP/gRPC, with the resource
//!   `service.name`, `service.version`, `deployment.environment.name`, `telemetry.sdk.*`
//!   and `telemetry.distro.*`, and the ingest key as the `x-tracehouse-key` header;
//! * a batch log exporter with the same endpoint, protocol, headers and resource (unless
//!   [`Config::logs`] turns it off);
//! * a meter provider exporting OTLP metrics (cumulative temporality) to the same endpoint
//!   every minute ([`Config::metric_interval`]), installed as the global meter provider:
//!   instruments of [`meter`] (or `opentelemetry::global::meter`) are exported (unless
//!   [`Config::metrics`] turns it off);
//! * parent-based ratio sampling;
//! * the W3C `traceparent`/`tracestate` and `baggage` propagators as the global propagator;
//! * a global `tracing` subscriber: an `EnvFilter`, the OpenTelemetry layer, the log bridge
//!   and (by default) a console layer on stderr. `log` records are bridged into `tracing`.
//!
//! Every `tracing` event (and `log` record) is exported as an OTLP log record with its level,
//! message, fields and `code.*` location; inside a span it carries the span's trace and span
//! ids, so tracehouse shows it in the trace. Events inside a span are also kept as span
//! events, for backends without logs; an event with an `error` field holding a `dyn Error`
//! becomes an `exception` event. [`record_error`] records any error explicitly as an
//! `exception` event; [`install_panic_hook`] records panics.
//!
//! ## Integrations (cargo features)
//! | Feature | What |
//! |---|---|
//! | `grpc` (default) | OTLP/gRPC exporter |
//! | `http-proto` (default) | OTLP/HTTP-protobuf exporter |
//! | `axum` | [`axum::TraceLayer`]: a server span per request for axum or any tower HTTP service |
//! | `reqwest` | [`reqwest::TracingMiddleware`]: a client span per request and context injection |
//! | `sqlx` | [`sqlx::TracedPool`]: a client span per query |
//!
//! ## Browser sessions
//! The server middleware copies Highlight's `x-highlight-request: <session>/<request>`
//! header into `highlight.session_id` and `highlight.trace_id` (see [`highlight`]), so a
//! browser session links to the backend trace it caused.

#![warn(missing_docs)]
#![cfg_attr(docsrs, feature(doc_auto_cfg))]

#[cfg(not(any(feature = "grpc", feature = "http-proto")))]
compile_error!("tracehouse-sdk needs an OTLP transport: enable the `grpc` or `http-proto` feature");

pub mod config;
mod exception;
pub mod highlight;

#[cfg(feature = "axum")]
pub mod axum;
#[cfg(feature = "reqwest")]
pub mod reqwest;
#[cfg(feature = "sqlx")]
pub mod sqlx;

use opentelemetry::KeyValue;
use opentelemetry::propagation::TextMapCompositePropagator;
use opentelemetry::trace::TracerProvider as _;
use opentelemetry_appender_tracing::layer::OpenTelemetryTracingBridge;
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::logs::SdkLoggerProvider;
use opentelemetry_sdk::metrics::{PeriodicReader, SdkMeterProvider};
use opentelemetry_sdk::propagation::{BaggagePropagator, TraceContextPropagator};
use opentelemetry_sdk::trace::{Sampler, SdkTracerProvider};
use tracing_subscriber::Layer as _;
use tracing_subscriber::layer::SubscriberExt as _;
use tracing_subscriber::util::SubscriberInitExt as _;

pub use config::{Config, Protocol, Settings};
pub use exception::{exception_attributes, install_panic_hook, record_error, record_error_on};

/// The OpenTelemetry API the SDK is built on (the same version), e.g. for
/// `opentelemetry::KeyValue` in metric attributes.
pub use opentelemetry;

/// Re-exported so users can name span extension methods (`set_parent`, `context`, …).
pub use tracing_opentelemetry::OpenTelemetrySpanExt;

/// The instrumentation scope name of spans created through the SDK.
pub const SCOPE_NAME: &str = "tracehouse-sdk";

/// Errors of setting up or shutting down the SDK.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// An environment variable holds a value the SDK cannot use.
    #[error("{name}={value:?} is invalid: expected {expected}")]
    InvalidSetting {
        /// The variable.
        name: String,
        /// Its value.
        value: String,
        /// What would have been valid.
        expected: &'static str,
    },
    /// The protocol's cargo feature is not enabled.
    #[error("OTLP protocol {0} needs the tracehouse-sdk cargo feature {1:?}")]
    ProtocolDisabled(Protocol, &'static str),
    /// The gRPC exporter was set up outside a Tokio runtime.
    #[error("the OTLP/gRPC exporter needs a Tokio runtime: call init from within one")]
    NoRuntime,
    /// An export header name or value is not valid in HTTP.
    #[error("invalid export header {0:?}")]
    InvalidHeader(String),
    /// The OTLP exporter could not be built.
    #[error("building the OTLP exporter: {0}")]
    Exporter(#[from] opentelemetry_otlp::ExporterBuildError),
    /// The log filter directives do not parse.
    #[error("invalid log filter: {0}")]
    Filter(#[from] tracing_subscriber::filter::ParseError),
    /// A global `tracing` subscriber was already installed.
    #[error("a global tracing subscriber is already set: {0}")]
    SubscriberAlreadySet(#[from] tracing_subscriber::util::TryInitError),
    /// Flushing or shutting down an exporter failed.
    #[error("flushing telemetry: {0}")]
    Flush(#[from] opentelemetry_sdk::error::OTelSdkError),
}

/// Sets up tracing for the process as `config` says (see the [crate docs](crate)) and
/// returns the guard that flushes on drop.
///
/// Call it once, early in `main`, and keep the guard alive until the end of `main`. With the
/// gRPC protocol, call it from within a Tokio runtime.
///
/// ```no_run
/// use tracehouse_sdk::{Config, Protocol};
///
/// # async fn run() -> Result<(), tracehouse_sdk::Error> {
/// let _guard = tracehouse_sdk::init(
///     Config::new()
///         .service_name("inventory")
///         .service_version(env!("CARGO_PKG_VERSION"))
///         .endpoint("http://localhost:4317")
///         .protocol(Protocol::Grpc),
/// )?;
/// # Ok(()) }
/// ```
pub fn init(config: Config) -> Result<Guard, Error> {
    let settings = config.resolve()?;
    let filter = tracing_subscriber::EnvFilter::try_new(&settings.filter)?;
    if settings.disabled {
        tracing_subscriber::registry()
            .with(filter)
            .with(console_layer(settings.console))
            .try_init()?;
        return Ok(Guard::default());
    }
    let provider = tracer_provider(&settings)?;
    let logger = settings
        .logs
        .then(|| logger_provider(&settings))
        .transpose()?;
    let meter = settings
        .metrics
        .then(|| meter_provider(&settings))
        .transpose()?;
    let tracer = provider.tracer_with_scope(
        opentelemetry::InstrumentationScope::builder(SCOPE_NAME)
            .with_version(env!("CARGO_PKG_VERSION"))
            .build(),
    );
    let otel = tracing_opentelemetry::layer().with_tracer(tracer);
    tracing_subscriber::registry()
        .with(filter)
        .with(otel)
        .with(logger.as_ref().map(log_layer))
        .with(console_layer(settings.console))
        .try_init()?;
    install_globals(&provider);
    if let Some(meter) = &meter {
        opentelemetry::global::set_meter_provider(meter.clone());
    }
    Ok(Guard {
        provider: Some(provider),
        logger,
        meter,
    })
}

/// The `tracing` layer that turns events into log records of `provider`.
///
/// It leaves out the events of the crates that carry the export itself (HTTP and gRPC
/// clients, the OpenTelemetry SDK): exporting them would produce more of them, without end.
/// Add it to your own subscriber when you compose one (see [`tracer_provider`]).
pub fn log_layer<S>(provider: &SdkLoggerProvider) -> impl tracing_subscriber::Layer<S> + use<S>
where
    S: tracing::Subscriber + for<'a> tracing_subscriber::registry::LookupSpan<'a>,
{
    OpenTelemetryTracingBridge::new(provider).with_filter(tracing_subscriber::filter::filter_fn(
        |meta| !is_export_machinery(meta.target()),
    ))
}

/// Whether `target` belongs to a crate that the exporters run on.
fn is_export_machinery(target: &str) -> bool {
    const CRATES: [&str; 8] = [
        "tonic",
        "h2",
        "hyper",
        "hyper_util",
        "tower",
        "reqwest",
        "rustls",
        "tracing_opentelemetry",
    ];
    let krate = target.split("::").next().unwrap_or(target);
    // opentelemetry, opentelemetry_sdk, opentelemetry_otlp, opentelemetry_http …
    CRATES.contains(&krate) || krate.starts_with("opentelemetry")
}

/// [`init`] with everything taken from the environment (`TRACEHOUSE_*`, then `OTEL_*`).
///
/// ```no_run
/// # async fn run() -> Result<(), tracehouse_sdk::Error> {
/// // TRACEHOUSE_SERVICE_NAME=shop TRACEHOUSE_ENDPOINT=http://localhost:4318 ./shop
/// let _guard = tracehouse_sdk::init_from_env()?;
/// # Ok(()) }
/// ```
pub fn init_from_env() -> Result<Guard, Error> {
    init(Config::new())
}

/// Builds the OpenTelemetry tracer provider for `settings` without installing anything
/// global: for callers that compose their own `tracing` subscriber (add
/// `tracing_opentelemetry::layer().with_tracer(provider.tracer("…"))` to it) and want the
/// SDK's exporter, resource and sampler. Pass the provider to [`Guard::new`] to flush it on
/// drop, and to [`install_globals`] to set the propagator and global provider.
pub fn tracer_provider(settings: &Settings) -> Result<SdkTracerProvider, Error> {
    let exporter = exporter(settings)?;
    Ok(SdkTracerProvider::builder()
        .with_batch_exporter(exporter)
        .with_sampler(Sampler::ParentBased(Box::new(Sampler::TraceIdRatioBased(
            settings.sample_ratio,
        ))))
        .with_resource(resource(settings))
        .build())
}

/// Builds the OpenTelemetry logger provider for `settings` (the spans' endpoint, protocol,
/// headers and resource; the logs path) without installing anything global: for callers
/// that compose their own subscriber with [`log_layer`]. Pass it to
/// [`Guard::with_logger_provider`] to flush it on drop.
pub fn logger_provider(settings: &Settings) -> Result<SdkLoggerProvider, Error> {
    let exporter = log_exporter(settings)?;
    Ok(SdkLoggerProvider::builder()
        .with_batch_exporter(exporter)
        .with_resource(resource(settings))
        .build())
}

/// Builds the OpenTelemetry meter provider for `settings` (the spans' endpoint, protocol,
/// headers and resource; the metrics path; cumulative temporality; a periodic reader on its
/// own thread, every [`Settings::metric_interval`]) without installing anything global: set
/// it with `opentelemetry::global::set_meter_provider` and pass it to
/// [`Guard::with_meter_provider`] to export what is left on drop.
pub fn meter_provider(settings: &Settings) -> Result<SdkMeterProvider, Error> {
    let exporter = metric_exporter(settings)?;
    let mut reader = PeriodicReader::builder(exporter);
    if let Some(interval) = settings.metric_interval {
        reader = reader.with_interval(interval);
    }
    Ok(SdkMeterProvider::builder()
        .with_reader(reader.build())
        .with_resource(resource(settings))
        .build())
}

/// A meter of the global meter provider (the SDK's, once [`init`] ran) whose instruments
/// report under the instrumentation scope `name`:
///
/// ```no_run
/// use tracehouse_sdk::opentelemetry::KeyValue;
///
/// let meter = tracehouse_sdk::meter("checkout");
/// let orders = meter.u64_counter("orders.placed").build();
/// let duration = meter.f64_histogram("checkout.duration").with_unit("s").build();
/// orders.add(1, &[KeyValue::new("payment.method", "card")]);
/// duration.record(0.42, &[KeyValue::new("outcome", "paid")]);
/// ```
pub fn meter(name: &'static str) -> opentelemetry::metrics::Meter {
    opentelemetry::global::meter(name)
}

/// Installs `provider` as the global OpenTelemetry tracer provider, the W3C trace-context +
/// baggage propagator as the global propagator, and the provider for the panic hook's
/// flush. [`init`] calls it.
pub fn install_globals(provider: &SdkTracerProvider) {
    opentelemetry::global::set_text_map_propagator(TextMapCompositePropagator::new(vec![
        Box::new(TraceContextPropagator::new()),
        Box::new(BaggagePropagator::new()),
    ]));
    opentelemetry::global::set_tracer_provider(provider.clone());
    let _ = exception::PROVIDER.set(provider.clone());
}

fn console_layer<S>(enabled: bool) -> Option<impl tracing_subscriber::Layer<S>>
where
    S: tracing::Subscriber + for<'a> tracing_subscriber::registry::LookupSpan<'a>,
{
    enabled.then(|| tracing_subscriber::fmt::layer().with_writer(std::io::stderr))
}

fn resource(settings: &Settings) -> Resource {
    let mut attributes = vec![
        KeyValue::new("telemetry.distro.name", SCOPE_NAME),
        KeyValue::new("telemetry.distro.version", env!("CARGO_PKG_VERSION")),
    ];
    if let Some(version) = &settings.service_version {
        attributes.push(KeyValue::new("service.version", version.clone()));
    }
    if let Some(env) = &settings.environment {
        attributes.push(KeyValue::new("deployment.environment.name", env.clone()));
    }
    attributes.extend(
        settings
            .resource_attributes
            .iter()
            .map(|(k, v)| KeyValue::new(k.clone(), v.clone())),
    );
    Resource::builder_empty()
        .with_detector(Box::new(
            opentelemetry_sdk::resource::TelemetryResourceDetector,
        ))
        .with_attributes(attributes)
        .with_service_name(settings.service_name.clone())
        .build()
}

fn header_map(settings: &Settings) -> Result<http::HeaderMap, Error> {
    let mut map = http::HeaderMap::new();
    for (k, v) in &settings.headers {
        let name = http::HeaderName::from_bytes(k.to_ascii_lowercase().as_bytes())
            .map_err(|_| Error::InvalidHeader(k.clone()))?;
        let value = http::HeaderValue::from_str(v).map_err(|_| Error::InvalidHeader(k.clone()))?;
        map.insert(name, value);
    }
    Ok(map)
}

/// Builds the OTLP exporter of type `$exporter` (`SpanExporter`, `LogExporter`,
/// `MetricExporter`: their
/// builders have the same methods but no common trait) for `$settings`, sending to
/// `$endpoint`.
macro_rules! otlp_exporter {
    ($exporter:ident, $settings:expr, $endpoint:expr) => {{
        #[allow(unused_imports)]
        use opentelemetry_otlp::WithExportConfig as _;
        let settings: &Settings = $settings;
        let endpoint: &str = $endpoint;
        let headers = header_map(settings)?;
        let built: Result<opentelemetry_otlp::$exporter, Error> = match settings.protocol {
            #[cfg(feature = "grpc")]
            Protocol::Grpc => {
                use opentelemetry_otlp::WithTonicConfig as _;
                if tokio_runtime_missing() {
                    return Err(Error::NoRuntime);
                }
                Ok(opentelemetry_otlp::$exporter::builder()
                    .with_tonic()
                    .with_endpoint(endpoint)
                    .with_metadata(
                        opentelemetry_otlp::tonic_types::metadata::MetadataMap::from_headers(
                            headers,
                        ),
                    )
                    .build()?)
            }
            #[cfg(not(feature = "grpc"))]
            Protocol::Grpc => {
                let _ = (headers, endpoint);
                Err(Error::ProtocolDisabled(Protocol::Grpc, "grpc"))
            }
            #[cfg(feature = "http-proto")]
            Protocol::HttpProtobuf => {
                use opentelemetry_otlp::WithHttpConfig as _;
                let headers = headers
                    .iter()
                    .filter_map(|(k, v)| {
                        Some((k.as_str().to_string(), v.to_str().ok()?.to_string()))
                    })
                    .collect();
                Ok(opentelemetry_otlp::$exporter::builder()
                    .with_http()
                    .with_protocol(opentelemetry_otlp::Protocol::HttpBinary)
                    .with_endpoint(endpoint)
                    .with_headers(headers)
                    .build()?)
            }
            #[cfg(not(feature = "http-proto"))]
            Protocol::HttpProtobuf => {
                let _ = (headers, endpoint);
                Err(Error::ProtocolDisabled(
                    Protocol::HttpProtobuf,
                    "http-proto",
                ))
            }
        };
        built
    }};
}

fn exporter(settings: &Settings) -> Result<opentelemetry_otlp::SpanExporter, Error> {
    otlp_exporter!(SpanExporter, settings, &settings.endpoint)
}

fn log_exporter(settings: &Settings) -> Result<opentelemetry_otlp::LogExporter, Error> {
    otlp_exporter!(LogExporter, settings, &settings.logs_endpoint)
}

fn metric_exporter(settings: &Settings) -> Result<opentelemetry_otlp::MetricExporter, Error> {
    otlp_exporter!(MetricExporter, settings, &settings.metrics_endpoint)
}

#[cfg(feature = "grpc")]
fn tokio_runtime_missing() -> bool {
    // tonic (through opentelemetry-otlp's grpc-tonic feature) depends on tokio.
    tokio::runtime::Handle::try_current().is_err()
}

/// Keeps the exporters alive; dropping it flushes pending spans, log records and metrics and
/// shuts the exporters down.
///
/// Keep it in a variable named other than `_` (`let _guard = …`) until the end of `main`.
/// Dropping it blocks until the export finishes (bounded by the exporter timeout); with
/// gRPC, drop it where the Tokio runtime can still make progress (e.g. at the end of
/// `#[tokio::main] async fn main`, not inside a single-threaded runtime's task).
#[must_use = "dropping the guard shuts tracing down at once"]
#[derive(Debug, Default)]
pub struct Guard {
    provider: Option<SdkTracerProvider>,
    logger: Option<SdkLoggerProvider>,
    meter: Option<SdkMeterProvider>,
}

impl Guard {
    /// A guard for a provider built with [`tracer_provider`].
    pub fn new(provider: SdkTracerProvider) -> Guard {
        Guard {
            provider: Some(provider),
            logger: None,
            meter: None,
        }
    }

    /// Also flushes and shuts down `logger` (built with [`logger_provider`]).
    pub fn with_logger_provider(mut self, logger: SdkLoggerProvider) -> Guard {
        self.logger = Some(logger);
        self
    }

    /// Also exports what is left of `meter` (built with [`meter_provider`]) and shuts it
    /// down.
    pub fn with_meter_provider(mut self, meter: SdkMeterProvider) -> Guard {
        self.meter = Some(meter);
        self
    }

    /// The tracer provider (e.g. to create raw OpenTelemetry tracers).
    pub fn provider(&self) -> Option<&SdkTracerProvider> {
        self.provider.as_ref()
    }

    /// The logger provider, when log export is on.
    pub fn logger_provider(&self) -> Option<&SdkLoggerProvider> {
        self.logger.as_ref()
    }

    /// The meter provider, when metric export is on.
    pub fn meter_provider(&self) -> Option<&SdkMeterProvider> {
        self.meter.as_ref()
    }

    /// Exports every finished span, every log record and the metrics collected now.
    pub fn flush(&self) -> Result<(), Error> {
        // All are flushed even when one fails; the first failure is reported.
        first_failure([
            self.provider.as_ref().map(|p| p.force_flush()),
            self.logger.as_ref().map(|p| p.force_flush()),
            self.meter.as_ref().map(|p| p.force_flush()),
        ])
    }

    /// Flushes and shuts the exporters down, reporting failures that dropping would ignore.
    pub fn shutdown(mut self) -> Result<(), Error> {
        self.shutdown_all()
    }

    fn shutdown_all(&mut self) -> Result<(), Error> {
        first_failure([
            self.provider.take().map(|p| p.shutdown()),
            self.logger.take().map(|p| p.shutdown()),
            self.meter.take().map(|p| p.shutdown()),
        ])
    }
}

/// The first failure of the providers' flushes or shutdowns (`None`: no such provider).
fn first_failure(
    results: [Option<opentelemetry_sdk::error::OTelSdkResult>; 3],
) -> Result<(), Error> {
    results
        .into_iter()
        .flatten()
        .try_for_each(|r| r.map_err(Error::from))
}

impl Drop for Guard {
    fn drop(&mut self) {
        let _ = self.shutdown_all();
    }
}

#[cfg(test)]
mod tests {
    use super::is_export_machinery;

    #[test]
    fn export_machinery_is_not_logged() {
        for target in [
            "h2::codec",
            "hyper_util::client::legacy",
            "tonic::transport",
            "opentelemetry_sdk",
            "opentelemetry_otlp::exporter",
            "reqwest::connect",
        ] {
            assert!(is_export_machinery(target), "{target}");
        }
        for target in ["shop", "my_app::orders", "log", "hyperion::db", "towers"] {
            assert!(!is_export_machinery(target), "{target}");
        }
    }
}
