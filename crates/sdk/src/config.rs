//! Configuration: what [`init`](crate::init) sets up, and where each value comes from.
//!
//! Every setting is resolved in the same order: a value set explicitly on [`Config`] wins,
//! then the `TRACEHOUSE_*` environment variable, then the standard `OTEL_*` variable, then
//! the default.
//!
//! | Setting | Explicit | `TRACEHOUSE_*` | `OTEL_*` | Default |
//! |---|---|---|---|---|
//! | service name | [`Config::service_name`] | `TRACEHOUSE_SERVICE_NAME` | `OTEL_SERVICE_NAME`, then `service.name` in `OTEL_RESOURCE_ATTRIBUTES` | `unknown_service:<executable>` |
//! | service version | [`Config::service_version`] | `TRACEHOUSE_SERVICE_VERSION` | `service.version` in `OTEL_RESOURCE_ATTRIBUTES` | none |
//! | environment | [`Config::environment`] | `TRACEHOUSE_ENVIRONMENT` | `deployment.environment.name` (or `deployment.environment`) in `OTEL_RESOURCE_ATTRIBUTES` | none |
//! | endpoint | [`Config::endpoint`] | `TRACEHOUSE_ENDPOINT` | `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT` (logs: `OTEL_EXPORTER_OTLP_LOGS_ENDPOINT`, metrics: `OTEL_EXPORTER_OTLP_METRICS_ENDPOINT`), then `OTEL_EXPORTER_OTLP_ENDPOINT` | `http://localhost:4318` (HTTP) or `http://localhost:4317` (gRPC) |
//! | protocol | [`Config::protocol`] | `TRACEHOUSE_PROTOCOL` | `OTEL_EXPORTER_OTLP_TRACES_PROTOCOL`, then `OTEL_EXPORTER_OTLP_PROTOCOL` | `http/protobuf` (or `grpc` without the `http-proto` feature) |
//! | ingest key | [`Config::ingest_key`] | `TRACEHOUSE_KEY` | — | none |
//! | extra headers | [`Config::header`] | — | `OTEL_EXPORTER_OTLP_HEADERS` | none |
//! | sampling ratio | [`Config::sample_ratio`] | `TRACEHOUSE_SAMPLE_RATIO` | `OTEL_TRACES_SAMPLER` + `OTEL_TRACES_SAMPLER_ARG` | `1.0` |
//! | log filter | [`Config::filter`] | `TRACEHOUSE_LOG` | `RUST_LOG` | `info` |
//! | console output | [`Config::console`] | `TRACEHOUSE_CONSOLE` | — | `true` |
//! | export disabled | [`Config::disabled`] | `TRACEHOUSE_DISABLED` | `OTEL_SDK_DISABLED` | `false` |
//! | log export | [`Config::logs`] | `TRACEHOUSE_LOGS` | `OTEL_LOGS_EXPORTER` (`otlp` or `none`) | `true` |
//! | metric export | [`Config::metrics`] | `TRACEHOUSE_METRICS` | `OTEL_METRICS_EXPORTER` (`otlp` or `none`) | `true` |
//! | metric export interval | [`Config::metric_interval`] | — | `OTEL_METRIC_EXPORT_INTERVAL` (ms) | 60 s |
//!
//! Resource attributes from `OTEL_RESOURCE_ATTRIBUTES` are all kept; explicit
//! [`Config::resource_attribute`]s override them key by key.
//!
//! Logs and metrics go to the same place as traces, with the same protocol and headers. For
//! HTTP/protobuf, a base endpoint (`http://host:4318`) gets `/v1/traces` (and `/v1/logs`,
//! `/v1/metrics`) appended, and an endpoint ending in `/v1/traces` sends logs and metrics to
//! the `/v1/logs` and `/v1/metrics` beside it; a signal-specific
//! `OTEL_EXPORTER_OTLP_{TRACES,LOGS,METRICS}_ENDPOINT` is used as it is.

use std::fmt;
use std::time::Duration;

use crate::Error;

/// The OTLP transport.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Protocol {
    /// OTLP over gRPC (default port 4317); needs the `grpc` feature and a Tokio runtime.
    Grpc,
    /// OTLP over HTTP with protobuf bodies (default port 4318); needs the `http-proto` feature.
    HttpProtobuf,
}

impl Protocol {
    /// Parses the OTel spelling: `grpc`, `http/protobuf` (also `http`, `http-proto`).
    pub fn parse(value: &str) -> Option<Protocol> {
        match value.trim().to_ascii_lowercase().as_str() {
            "grpc" => Some(Protocol::Grpc),
            "http/protobuf" | "http" | "http-proto" | "http_protobuf" => {
                Some(Protocol::HttpProtobuf)
            }
            _ => None,
        }
    }

    fn default_endpoint(self) -> &'static str {
        match self {
            Protocol::Grpc => "http://localhost:4317",
            Protocol::HttpProtobuf => "http://localhost:4318",
        }
    }
}

impl fmt::Display for Protocol {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Protocol::Grpc => "grpc",
            Protocol::HttpProtobuf => "http/protobuf",
        })
    }
}

impl Default for Protocol {
    fn default() -> Self {
        if cfg!(feature = "http-proto") {
            Protocol::HttpProtobuf
        } else {
            Protocol::Grpc
        }
    }
}

/// What to set up; unset fields come from the environment or defaults (see the
/// [module docs](self) for the precedence table).
///
/// ```
/// use tracehouse_sdk::{Config, Protocol};
///
/// let config = Config::new()
///     .service_name("checkout")
///     .service_version("1.4.2")
///     .environment("staging")
///     .endpoint("http://localhost:4317")
///     .protocol(Protocol::Grpc)
///     .ingest_key("my-project-key")
///     .sample_ratio(0.25);
/// let settings = config.resolve().unwrap();
/// assert_eq!(settings.service_name, "checkout");
/// ```
#[derive(Debug, Clone, Default)]
pub struct Config {
    service_name: Option<String>,
    service_version: Option<String>,
    environment: Option<String>,
    endpoint: Option<String>,
    protocol: Option<Protocol>,
    ingest_key: Option<String>,
    headers: Vec<(String, String)>,
    sample_ratio: Option<f64>,
    filter: Option<String>,
    console: Option<bool>,
    disabled: Option<bool>,
    logs: Option<bool>,
    metrics: Option<bool>,
    metric_interval: Option<Duration>,
    resource_attributes: Vec<(String, String)>,
}

impl Config {
    /// A configuration with nothing set explicitly: everything comes from the environment.
    pub fn new() -> Config {
        Config::default()
    }

    /// `service.name` of the resource.
    pub fn service_name(mut self, name: impl Into<String>) -> Config {
        self.service_name = Some(name.into());
        self
    }

    /// `service.version` of the resource.
    pub fn service_version(mut self, version: impl Into<String>) -> Config {
        self.service_version = Some(version.into());
        self
    }

    /// `deployment.environment.name` of the resource (e.g. `production`).
    pub fn environment(mut self, environment: impl Into<String>) -> Config {
        self.environment = Some(environment.into());
        self
    }

    /// The OTLP endpoint: a base URL such as `http://localhost:4318`, or for HTTP the full
    /// `…/v1/traces` URL.
    pub fn endpoint(mut self, endpoint: impl Into<String>) -> Config {
        self.endpoint = Some(endpoint.into());
        self
    }

    /// The OTLP transport.
    pub fn protocol(mut self, protocol: Protocol) -> Config {
        self.protocol = Some(protocol);
        self
    }

    /// The tracehouse project ingest key, sent as the `x-tracehouse-key` header.
    pub fn ingest_key(mut self, key: impl Into<String>) -> Config {
        self.ingest_key = Some(key.into());
        self
    }

    /// An extra header (gRPC metadata) sent with every export.
    pub fn header(mut self, name: impl Into<String>, value: impl Into<String>) -> Config {
        self.headers.push((name.into(), value.into()));
        self
    }

    /// The share of new traces to record, `0.0..=1.0` (clamped). Child spans follow their
    /// parent's decision (parent-based sampling).
    pub fn sample_ratio(mut self, ratio: f64) -> Config {
        self.sample_ratio = Some(ratio);
        self
    }

    /// A `tracing_subscriber::EnvFilter` directive such as `info,my_crate=debug`; it decides
    /// which spans and events are recorded, both for export and for the console.
    pub fn filter(mut self, directives: impl Into<String>) -> Config {
        self.filter = Some(directives.into());
        self
    }

    /// Whether to also print spans' events to stderr (a `tracing_subscriber::fmt` layer).
    pub fn console(mut self, enabled: bool) -> Config {
        self.console = Some(enabled);
        self
    }

    /// Turns export off: [`init`](crate::init) then installs only the filter and console
    /// layer, so spans cost next to nothing and nothing is sent.
    pub fn disabled(mut self, disabled: bool) -> Config {
        self.disabled = Some(disabled);
        self
    }

    /// Whether `tracing` events are also exported as OTLP log records (on by default), to the
    /// same endpoint as the spans; events inside a span carry its trace and span ids.
    pub fn logs(mut self, enabled: bool) -> Config {
        self.logs = Some(enabled);
        self
    }

    /// Whether OTLP metrics are exported (on by default): the meter provider's instruments
    /// (`tracehouse_sdk::meter`, or `opentelemetry::global::meter`), to the same endpoint
    /// as the spans, every [`metric_interval`](Self::metric_interval).
    pub fn metrics(mut self, enabled: bool) -> Config {
        self.metrics = Some(enabled);
        self
    }

    /// How often metrics are collected and exported (default: `OTEL_METRIC_EXPORT_INTERVAL`
    /// in milliseconds, else 60 s). The guard exports what is left when it shuts down.
    pub fn metric_interval(mut self, interval: Duration) -> Config {
        self.metric_interval = Some(interval);
        self
    }

    /// An extra resource attribute (e.g. `highlight.project_id`); overrides the same key
    /// from `OTEL_RESOURCE_ATTRIBUTES`.
    pub fn resource_attribute(
        mut self,
        key: impl Into<String>,
        value: impl Into<String>,
    ) -> Config {
        self.resource_attributes.push((key.into(), value.into()));
        self
    }

    /// Resolves the configuration against the process environment.
    pub fn resolve(&self) -> Result<Settings, Error> {
        self.resolve_with(|name| std::env::var(name).ok())
    }

    /// Resolves the configuration against `env`, a lookup of environment variables (used by
    /// [`resolve`](Self::resolve) and by tests).
    pub fn resolve_with(&self, env: impl Fn(&str) -> Option<String>) -> Result<Settings, Error> {
        // Empty variables count as unset, as in the OTel specification.
        let var = |name: &str| env(name).filter(|v| !v.trim().is_empty());
        let otel_resource = match var("OTEL_RESOURCE_ATTRIBUTES") {
            Some(v) => parse_key_values(&v),
            None => Vec::new(),
        };
        let from_resource = |key: &str| {
            otel_resource
                .iter()
                .rev()
                .find(|(k, _)| k == key)
                .map(|(_, v)| v.clone())
        };

        let service_name = self
            .service_name
            .clone()
            .or_else(|| var("TRACEHOUSE_SERVICE_NAME"))
            .or_else(|| var("OTEL_SERVICE_NAME"))
            .or_else(|| from_resource("service.name"))
            .unwrap_or_else(default_service_name);
        let service_version = self
            .service_version
            .clone()
            .or_else(|| var("TRACEHOUSE_SERVICE_VERSION"))
            .or_else(|| from_resource("service.version"));
        let environment = self
            .environment
            .clone()
            .or_else(|| var("TRACEHOUSE_ENVIRONMENT"))
            .or_else(|| from_resource("deployment.environment.name"))
            .or_else(|| from_resource("deployment.environment"));

        let protocol = match self.protocol {
            Some(p) => p,
            None => {
                let named = [
                    "TRACEHOUSE_PROTOCOL",
                    "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL",
                    "OTEL_EXPORTER_OTLP_PROTOCOL",
                ]
                .into_iter()
                .find_map(|name| var(name).map(|v| (name, v)));
                match named {
                    Some((name, value)) => {
                        Protocol::parse(&value).ok_or_else(|| Error::InvalidSetting {
                            name: name.to_string(),
                            value,
                            expected: "grpc or http/protobuf",
                        })?
                    }
                    None => Protocol::default(),
                }
            }
        };

        let endpoint = self.signal_endpoint(&var, protocol, Signal::Traces);
        let logs_endpoint = self.signal_endpoint(&var, protocol, Signal::Logs);
        let metrics_endpoint = self.signal_endpoint(&var, protocol, Signal::Metrics);

        let ingest_key = self.ingest_key.clone().or_else(|| var("TRACEHOUSE_KEY"));
        let mut headers = match var("OTEL_EXPORTER_OTLP_HEADERS") {
            Some(v) => parse_key_values(&v),
            None => Vec::new(),
        };
        for (k, v) in &self.headers {
            headers.retain(|(hk, _)| !hk.eq_ignore_ascii_case(k));
            headers.push((k.clone(), v.clone()));
        }
        if let Some(key) = &ingest_key {
            headers.retain(|(hk, _)| !hk.eq_ignore_ascii_case("x-tracehouse-key"));
            headers.push(("x-tracehouse-key".to_string(), key.clone()));
        }

        let sample_ratio = match self.sample_ratio {
            Some(r) => r,
            None => match var("TRACEHOUSE_SAMPLE_RATIO") {
                Some(v) => parse_ratio("TRACEHOUSE_SAMPLE_RATIO", &v)?,
                None => otel_sampler(&var)?.unwrap_or(1.0),
            },
        };
        let sample_ratio = if sample_ratio.is_nan() {
            1.0
        } else {
            sample_ratio.clamp(0.0, 1.0)
        };

        let filter = self
            .filter
            .clone()
            .or_else(|| var("TRACEHOUSE_LOG"))
            .or_else(|| var("RUST_LOG"))
            .unwrap_or_else(|| "info".to_string());
        let console = match self.console {
            Some(c) => c,
            None => match var("TRACEHOUSE_CONSOLE") {
                Some(v) => parse_bool("TRACEHOUSE_CONSOLE", &v)?,
                None => true,
            },
        };

        let disabled = match self.disabled {
            Some(d) => d,
            None => match var("TRACEHOUSE_DISABLED") {
                Some(v) => parse_bool("TRACEHOUSE_DISABLED", &v)?,
                None => match var("OTEL_SDK_DISABLED") {
                    Some(v) => parse_bool("OTEL_SDK_DISABLED", &v)?,
                    None => false,
                },
            },
        };

        let logs = exporter_switch(&var, self.logs, "TRACEHOUSE_LOGS", "OTEL_LOGS_EXPORTER")?;
        let metrics = exporter_switch(
            &var,
            self.metrics,
            "TRACEHOUSE_METRICS",
            "OTEL_METRICS_EXPORTER",
        )?;
        let metric_interval = match self.metric_interval {
            Some(i) => Some(i),
            None => var("OTEL_METRIC_EXPORT_INTERVAL")
                .map(|v| match v.trim().parse::<u64>() {
                    Ok(ms) if ms > 0 => Ok(Duration::from_millis(ms)),
                    _ => Err(Error::InvalidSetting {
                        name: "OTEL_METRIC_EXPORT_INTERVAL".to_string(),
                        value: v,
                        expected: "a positive number of milliseconds",
                    }),
                })
                .transpose()?,
        };

        let mut resource_attributes: Vec<(String, String)> = otel_resource
            .into_iter()
            .filter(|(k, _)| {
                !matches!(
                    k.as_str(),
                    "service.name"
                        | "service.version"
                        | "deployment.environment.name"
                        | "deployment.environment"
                )
            })
            .collect();
        for (k, v) in &self.resource_attributes {
            resource_attributes.retain(|(rk, _)| rk != k);
            resource_attributes.push((k.clone(), v.clone()));
        }

        Ok(Settings {
            service_name,
            service_version,
            environment,
            endpoint,
            logs_endpoint,
            metrics_endpoint,
            protocol,
            headers,
            sample_ratio,
            filter,
            console,
            disabled,
            logs,
            metrics,
            metric_interval,
            resource_attributes,
        })
    }

    /// The exporter URL of `signal`: a signal-specific `OTEL_*` endpoint verbatim; otherwise
    /// the explicit, `TRACEHOUSE_ENDPOINT` or `OTEL_EXPORTER_OTLP_ENDPOINT` base with, for
    /// HTTP, the signal's path (replacing a `/v1/traces` the base already ends with).
    fn signal_endpoint(
        &self,
        var: &impl Fn(&str) -> Option<String>,
        protocol: Protocol,
        signal: Signal,
    ) -> String {
        let base = match self.endpoint.clone().or_else(|| var("TRACEHOUSE_ENDPOINT")) {
            Some(e) => e,
            None => match var(signal.endpoint_variable()) {
                Some(verbatim) => return verbatim.trim().to_string(),
                None => var("OTEL_EXPORTER_OTLP_ENDPOINT")
                    .unwrap_or_else(|| protocol.default_endpoint().to_string()),
            },
        };
        let base = base.trim();
        match protocol {
            Protocol::HttpProtobuf => {
                let root = base
                    .trim_end_matches('/')
                    .trim_end_matches(Signal::Traces.path())
                    .trim_end_matches(Signal::Logs.path())
                    .trim_end_matches(Signal::Metrics.path());
                format!("{root}{}", signal.path())
            }
            Protocol::Grpc => base.to_string(),
        }
    }
}

/// An OTLP signal the SDK exports.
#[derive(Debug, Clone, Copy)]
enum Signal {
    Traces,
    Logs,
    Metrics,
}

impl Signal {
    /// The OTLP/HTTP path.
    fn path(self) -> &'static str {
        match self {
            Signal::Traces => "/v1/traces",
            Signal::Logs => "/v1/logs",
            Signal::Metrics => "/v1/metrics",
        }
    }

    /// The standard variable naming this signal's full endpoint.
    fn endpoint_variable(self) -> &'static str {
        match self {
            Signal::Traces => "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
            Signal::Logs => "OTEL_EXPORTER_OTLP_LOGS_ENDPOINT",
            Signal::Metrics => "OTEL_EXPORTER_OTLP_METRICS_ENDPOINT",
        }
    }
}

/// The fully resolved configuration, as [`init`](crate::init) uses it.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct Settings {
    /// `service.name`.
    pub service_name: String,
    /// `service.version`, if any.
    pub service_version: Option<String>,
    /// `deployment.environment.name`, if any.
    pub environment: Option<String>,
    /// The span exporter URL (for HTTP, including `/v1/traces`).
    pub endpoint: String,
    /// The log exporter URL (for HTTP, including `/v1/logs`; for gRPC the same as `endpoint`).
    pub logs_endpoint: String,
    /// The metric exporter URL (for HTTP, including `/v1/metrics`; for gRPC the same as
    /// `endpoint`).
    pub metrics_endpoint: String,
    /// The OTLP transport.
    pub protocol: Protocol,
    /// Headers sent with each export, including `x-tracehouse-key` when an ingest key is set.
    pub headers: Vec<(String, String)>,
    /// Sampling ratio of new traces, `0.0..=1.0`.
    pub sample_ratio: f64,
    /// `EnvFilter` directives.
    pub filter: String,
    /// Whether events are also printed to stderr.
    pub console: bool,
    /// Whether export is turned off.
    pub disabled: bool,
    /// Whether `tracing` events are exported as OTLP log records.
    pub logs: bool,
    /// Whether OTLP metrics are exported.
    pub metrics: bool,
    /// The metric export interval; `None`: the OpenTelemetry SDK's default (60 s).
    pub metric_interval: Option<Duration>,
    /// Extra resource attributes.
    pub resource_attributes: Vec<(String, String)>,
}

impl Settings {
    /// The ingest key, if one is configured.
    pub fn ingest_key(&self) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k == "x-tracehouse-key")
            .map(|(_, v)| v.as_str())
    }
}

/// Whether a signal's exporter is on: explicitly, else `$tracehouse` (a boolean), else
/// `$otel` (`otlp` or `none`), else on.
fn exporter_switch(
    var: &impl Fn(&str) -> Option<String>,
    explicit: Option<bool>,
    tracehouse: &str,
    otel: &str,
) -> Result<bool, Error> {
    if let Some(on) = explicit {
        return Ok(on);
    }
    if let Some(v) = var(tracehouse) {
        return parse_bool(tracehouse, &v);
    }
    match var(otel) {
        Some(v) => match v.trim().to_ascii_lowercase().as_str() {
            "otlp" => Ok(true),
            "none" => Ok(false),
            _ => Err(Error::InvalidSetting {
                name: otel.to_string(),
                value: v,
                expected: "otlp or none",
            }),
        },
        None => Ok(true),
    }
}

fn default_service_name() -> String {
    let exe = std::env::current_exe()
        .ok()
        .and_then(|p| p.file_stem().map(|s| s.to_string_lossy().into_owned()));
    match exe {
        Some(name) if !name.is_empty() => format!("unknown_service:{name}"),
        _ => "unknown_service".to_string(),
    }
}

/// Parses the W3C-baggage-like `k1=v1,k2=v2` lists of `OTEL_RESOURCE_ATTRIBUTES` and
/// `OTEL_EXPORTER_OTLP_HEADERS`; values are percent-decoded, malformed members skipped.
pub(crate) fn parse_key_values(list: &str) -> Vec<(String, String)> {
    list.split(',')
        .filter_map(|member| {
            let (k, v) = member.split_once('=')?;
            let k = k.trim();
            if k.is_empty() {
                return None;
            }
            Some((k.to_string(), percent_decode(v.trim())))
        })
        .collect()
}

fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%'
            && i + 2 < bytes.len()
            && let (Some(h), Some(l)) = (hex_val(bytes[i + 1]), hex_val(bytes[i + 2]))
        {
            out.push(h << 4 | l);
            i += 3;
            continue;
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn hex_val(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

fn parse_ratio(name: &str, value: &str) -> Result<f64, Error> {
    value
        .trim()
        .parse::<f64>()
        .ok()
        .filter(|r| r.is_finite())
        .ok_or_else(|| Error::InvalidSetting {
            name: name.to_string(),
            value: value.to_string(),
            expected: "a number between 0 and 1",
        })
}

fn parse_bool(name: &str, value: &str) -> Result<bool, Error> {
    match value.trim().to_ascii_lowercase().as_str() {
        "1" | "true" | "yes" | "on" => Ok(true),
        "0" | "false" | "no" | "off" => Ok(false),
        _ => Err(Error::InvalidSetting {
            name: name.to_string(),
            value: value.to_string(),
            expected: "true or false",
        }),
    }
}

/// The ratio implied by `OTEL_TRACES_SAMPLER`/`OTEL_TRACES_SAMPLER_ARG`, if they say one.
fn otel_sampler(var: &impl Fn(&str) -> Option<String>) -> Result<Option<f64>, Error> {
    let Some(sampler) = var("OTEL_TRACES_SAMPLER") else {
        return Ok(None);
    };
    let arg = || match var("OTEL_TRACES_SAMPLER_ARG") {
        Some(v) => parse_ratio("OTEL_TRACES_SAMPLER_ARG", &v).map(Some),
        None => Ok(Some(1.0)),
    };
    match sampler.trim().to_ascii_lowercase().as_str() {
        "always_on" | "parentbased_always_on" => Ok(Some(1.0)),
        "always_off" | "parentbased_always_off" => Ok(Some(0.0)),
        "traceidratio" | "parentbased_traceidratio" => arg(),
        _ => Err(Error::InvalidSetting {
            name: "OTEL_TRACES_SAMPLER".to_string(),
            value: sampler,
            expected: "always_on, always_off, traceidratio or their parentbased_ forms",
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn env(vars: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let map: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        move |name| map.get(name).cloned()
    }

    const ALL: &[(&str, &str)] = &[
        ("TRACEHOUSE_SERVICE_NAME", "th-svc"),
        ("OTEL_SERVICE_NAME", "otel-svc"),
        (
            "OTEL_RESOURCE_ATTRIBUTES",
            "service.name=res-svc,service.version=9.9,deployment.environment.name=res-env,team=core%2Cpay",
        ),
        ("TRACEHOUSE_SERVICE_VERSION", "th-1"),
        ("TRACEHOUSE_ENVIRONMENT", "th-env"),
        ("TRACEHOUSE_ENDPOINT", "http://th:4318"),
        ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://otel:4318"),
        ("TRACEHOUSE_PROTOCOL", "grpc"),
        ("OTEL_EXPORTER_OTLP_PROTOCOL", "http/protobuf"),
        ("TRACEHOUSE_KEY", "th-key"),
        (
            "OTEL_EXPORTER_OTLP_HEADERS",
            "x-tracehouse-key=otel-key,x-extra=1",
        ),
        ("TRACEHOUSE_SAMPLE_RATIO", "0.5"),
        ("OTEL_TRACES_SAMPLER", "traceidratio"),
        ("OTEL_TRACES_SAMPLER_ARG", "0.1"),
        ("TRACEHOUSE_LOG", "debug"),
        ("RUST_LOG", "warn"),
        ("TRACEHOUSE_CONSOLE", "false"),
        ("TRACEHOUSE_DISABLED", "false"),
        ("OTEL_SDK_DISABLED", "true"),
        ("TRACEHOUSE_LOGS", "true"),
        ("OTEL_LOGS_EXPORTER", "none"),
        (
            "OTEL_EXPORTER_OTLP_LOGS_ENDPOINT",
            "http://otel-logs:4318/custom-logs",
        ),
    ];

    #[test]
    fn explicit_beats_everything() {
        let s = Config::new()
            .service_name("explicit")
            .service_version("1.0")
            .environment("prod")
            .endpoint("http://explicit:4317")
            .protocol(Protocol::Grpc)
            .ingest_key("explicit-key")
            .sample_ratio(0.75)
            .filter("trace")
            .console(true)
            .disabled(true)
            .logs(false)
            .resource_attribute("team", "explicit-team")
            .resolve_with(env(ALL))
            .unwrap();
        assert_eq!(s.service_name, "explicit");
        assert_eq!(s.service_version.as_deref(), Some("1.0"));
        assert_eq!(s.environment.as_deref(), Some("prod"));
        assert_eq!(s.endpoint, "http://explicit:4317");
        assert_eq!(s.logs_endpoint, "http://explicit:4317");
        assert!(!s.logs);
        assert_eq!(s.protocol, Protocol::Grpc);
        assert_eq!(s.ingest_key(), Some("explicit-key"));
        assert_eq!(s.sample_ratio, 0.75);
        assert_eq!(s.filter, "trace");
        assert!(s.console);
        assert!(s.disabled);
        assert_eq!(
            s.resource_attributes,
            vec![("team".to_string(), "explicit-team".to_string())]
        );
    }

    #[test]
    fn tracehouse_env_beats_otel_env() {
        let s = Config::new().resolve_with(env(ALL)).unwrap();
        assert_eq!(s.service_name, "th-svc");
        assert_eq!(s.service_version.as_deref(), Some("th-1"));
        assert_eq!(s.environment.as_deref(), Some("th-env"));
        assert_eq!(s.protocol, Protocol::Grpc);
        // gRPC endpoints are used as given.
        assert_eq!(s.endpoint, "http://th:4318");
        assert_eq!(s.logs_endpoint, "http://th:4318");
        assert!(s.logs);
        assert_eq!(s.ingest_key(), Some("th-key"));
        assert!(
            s.headers
                .contains(&("x-extra".to_string(), "1".to_string()))
        );
        assert_eq!(
            s.headers
                .iter()
                .filter(|(k, _)| k == "x-tracehouse-key")
                .count(),
            1
        );
        assert_eq!(s.sample_ratio, 0.5);
        assert_eq!(s.filter, "debug");
        assert!(!s.console);
        assert!(!s.disabled);
        // Percent-decoded, and the well-known keys are not duplicated as extra attributes.
        assert_eq!(
            s.resource_attributes,
            vec![("team".to_string(), "core,pay".to_string())]
        );
    }

    #[test]
    fn otel_env_beats_defaults() {
        let otel_only: Vec<(&str, &str)> = ALL
            .iter()
            .copied()
            .filter(|(k, _)| !k.starts_with("TRACEHOUSE_"))
            .collect();
        let s = Config::new().resolve_with(env(&otel_only)).unwrap();
        assert_eq!(s.service_name, "otel-svc");
        assert_eq!(s.service_version.as_deref(), Some("9.9"));
        assert_eq!(s.environment.as_deref(), Some("res-env"));
        assert_eq!(s.protocol, Protocol::HttpProtobuf);
        assert_eq!(s.endpoint, "http://otel:4318/v1/traces");
        // The signal-specific logs endpoint is used as it is.
        assert_eq!(s.logs_endpoint, "http://otel-logs:4318/custom-logs");
        assert!(!s.logs, "OTEL_LOGS_EXPORTER=none turns log export off");
        assert_eq!(s.ingest_key(), Some("otel-key"));
        assert_eq!(s.sample_ratio, 0.1);
        assert_eq!(s.filter, "warn");
        assert!(s.console);
        assert!(s.disabled);

        // service.name from OTEL_RESOURCE_ATTRIBUTES when OTEL_SERVICE_NAME is absent.
        let s = Config::new()
            .resolve_with(env(&[(
                "OTEL_RESOURCE_ATTRIBUTES",
                "service.name=from-res",
            )]))
            .unwrap();
        assert_eq!(s.service_name, "from-res");
    }

    #[test]
    fn defaults() {
        let s = Config::new().resolve_with(env(&[])).unwrap();
        assert!(s.service_name.starts_with("unknown_service"));
        assert_eq!(s.service_version, None);
        assert_eq!(s.environment, None);
        assert_eq!(s.protocol, Protocol::default());
        match s.protocol {
            Protocol::HttpProtobuf => {
                assert_eq!(s.endpoint, "http://localhost:4318/v1/traces");
                assert_eq!(s.logs_endpoint, "http://localhost:4318/v1/logs");
            }
            Protocol::Grpc => assert_eq!(s.endpoint, "http://localhost:4317"),
        }
        assert!(s.logs);
        assert_eq!(s.ingest_key(), None);
        assert!(s.headers.is_empty());
        assert_eq!(s.sample_ratio, 1.0);
        assert_eq!(s.filter, "info");
        assert!(s.console);
        assert!(!s.disabled);
        let s = Config::new()
            .protocol(Protocol::Grpc)
            .resolve_with(env(&[]))
            .unwrap();
        assert_eq!(s.endpoint, "http://localhost:4317");
    }

    #[test]
    fn endpoints_for_http() {
        let http = |vars: &[(&str, &str)]| {
            Config::new()
                .protocol(Protocol::HttpProtobuf)
                .resolve_with(env(vars))
                .unwrap()
                .endpoint
        };
        assert_eq!(
            http(&[("TRACEHOUSE_ENDPOINT", "http://h:1/")]),
            "http://h:1/v1/traces"
        );
        assert_eq!(
            http(&[("TRACEHOUSE_ENDPOINT", "http://h:1/v1/traces")]),
            "http://h:1/v1/traces"
        );
        assert_eq!(
            http(&[("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "http://h:1/custom")]),
            "http://h:1/custom"
        );
        // Empty variables are unset.
        assert_eq!(
            http(&[
                ("TRACEHOUSE_ENDPOINT", " "),
                ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://o:2")
            ]),
            "http://o:2/v1/traces"
        );

        let logs = |vars: &[(&str, &str)]| {
            Config::new()
                .protocol(Protocol::HttpProtobuf)
                .resolve_with(env(vars))
                .unwrap()
                .logs_endpoint
        };
        assert_eq!(
            logs(&[("TRACEHOUSE_ENDPOINT", "http://h:1/")]),
            "http://h:1/v1/logs"
        );
        // A traces URL sends logs to the /v1/logs beside it.
        assert_eq!(
            logs(&[("TRACEHOUSE_ENDPOINT", "http://h:1/v1/traces")]),
            "http://h:1/v1/logs"
        );
        // The traces-specific variable does not move the logs.
        assert_eq!(
            logs(&[
                ("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "http://h:1/custom"),
                ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://o:2/")
            ]),
            "http://o:2/v1/logs"
        );
        assert_eq!(
            logs(&[("OTEL_EXPORTER_OTLP_LOGS_ENDPOINT", "http://l:3/in")]),
            "http://l:3/in"
        );
    }

    #[test]
    fn metric_export_settings() {
        let resolve = |config: Config, vars: &[(&str, &str)]| config.resolve_with(env(vars));
        let s = resolve(
            Config::new(),
            &[("TRACEHOUSE_ENDPOINT", "http://h:1/v1/traces")],
        )
        .unwrap();
        assert!(s.metrics);
        assert_eq!(s.metrics_endpoint, "http://h:1/v1/metrics");
        assert_eq!(s.metric_interval, None);
        let s = resolve(
            Config::new(),
            &[
                ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://o:2"),
                ("OTEL_EXPORTER_OTLP_METRICS_ENDPOINT", "http://m:3/in"),
                ("OTEL_METRICS_EXPORTER", "none"),
                ("OTEL_METRIC_EXPORT_INTERVAL", "250"),
            ],
        )
        .unwrap();
        assert_eq!(s.metrics_endpoint, "http://m:3/in");
        assert!(!s.metrics);
        assert_eq!(s.metric_interval, Some(Duration::from_millis(250)));
        let s = resolve(
            Config::new()
                .metrics(true)
                .metric_interval(Duration::from_secs(5)),
            &[
                ("TRACEHOUSE_METRICS", "false"),
                ("OTEL_METRIC_EXPORT_INTERVAL", "250"),
            ],
        )
        .unwrap();
        assert!(s.metrics);
        assert_eq!(s.metric_interval, Some(Duration::from_secs(5)));
        assert!(
            !resolve(Config::new(), &[("TRACEHOUSE_METRICS", "0")])
                .unwrap()
                .metrics
        );
        for (name, value) in [
            ("OTEL_METRICS_EXPORTER", "prometheus"),
            ("OTEL_METRIC_EXPORT_INTERVAL", "soon"),
            ("OTEL_METRIC_EXPORT_INTERVAL", "0"),
        ] {
            match resolve(Config::new(), &[(name, value)]) {
                Err(Error::InvalidSetting { name: n, .. }) => assert_eq!(n, name),
                other => panic!("{name}={value}: {other:?}"),
            }
        }
    }

    #[test]
    fn samplers_and_invalid_values() {
        let ratio = |vars: &[(&str, &str)]| {
            Config::new()
                .resolve_with(env(vars))
                .map(|s| s.sample_ratio)
        };
        assert_eq!(
            ratio(&[("OTEL_TRACES_SAMPLER", "always_off")]).unwrap(),
            0.0
        );
        assert_eq!(
            ratio(&[("OTEL_TRACES_SAMPLER", "parentbased_traceidratio")]).unwrap(),
            1.0
        );
        assert_eq!(ratio(&[("TRACEHOUSE_SAMPLE_RATIO", "7")]).unwrap(), 1.0);
        assert!(ratio(&[("TRACEHOUSE_SAMPLE_RATIO", "lots")]).is_err());
        assert!(ratio(&[("OTEL_TRACES_SAMPLER", "jaeger_remote")]).is_err());
        assert_eq!(
            Config::new()
                .sample_ratio(-1.0)
                .resolve_with(env(&[]))
                .unwrap()
                .sample_ratio,
            0.0
        );
        assert!(
            Config::new()
                .resolve_with(env(&[("TRACEHOUSE_PROTOCOL", "carrier-pigeon")]))
                .is_err()
        );
        assert!(
            Config::new()
                .resolve_with(env(&[("TRACEHOUSE_CONSOLE", "maybe")]))
                .is_err()
        );
        assert!(
            Config::new()
                .resolve_with(env(&[("OTEL_LOGS_EXPORTER", "console")]))
                .is_err()
        );
        assert!(
            Config::new()
                .resolve_with(env(&[("OTEL_LOGS_EXPORTER", "OTLP")]))
                .unwrap()
                .logs
        );
    }

    #[test]
    fn key_value_lists() {
        assert_eq!(
            parse_key_values("a=1, b = x%20y ,=bad,novalue,c=%zz,d=%4"),
            vec![
                ("a".to_string(), "1".to_string()),
                ("b".to_string(), "x y".to_string()),
                ("c".to_string(), "%zz".to_string()),
                ("d".to_string(), "%4".to_string()),
            ]
        );
        assert!(parse_key_values("").is_empty());
    }
}
