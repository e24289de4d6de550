//! Server configuration, independent of where it came from (flags, environment, TOML).

use std::net::SocketAddr;
use std::time::Duration;

use serde::Deserialize;
use tracehouse_model::Limits;

use crate::alerts::AlertsConfig;

/// One project and the ingest keys that write into it.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct ProjectConfig {
    /// Project id: lowercase letters, digits, `-` and `_`.
    pub id: String,
    /// Keys accepted for this project (headers or resource attributes): they write and read.
    pub keys: Vec<String>,
    /// Public browser keys: they only write (OTLP/HTTP, OTLP/gRPC), the query API refuses
    /// them, so one can ship in a web page's JavaScript.
    #[serde(default)]
    pub browser_keys: Vec<String>,
}

/// Everything the server needs besides its store.
#[derive(Debug, Clone)]
pub struct ServerConfig {
    /// JSON API and UI address.
    pub listen: SocketAddr,
    /// OTLP/gRPC address.
    pub otlp_grpc: SocketAddr,
    /// OTLP/HTTP address.
    pub otlp_http: SocketAddr,
    /// Configured projects; empty means open single-project mode.
    pub projects: Vec<ProjectConfig>,
    /// Largest accepted request body, in bytes, before and after decompression.
    pub max_request_bytes: usize,
    /// Attribute limits applied at ingest.
    pub limits: Limits,
    /// Seconds a client is told to wait (Retry-After) when the store is overloaded.
    pub retry_after_secs: u64,
    /// Connection limits and timeouts of the three listeners.
    pub connections: ConnectionLimits,
    /// Longest a JSON API query may run; past it the work is dropped and the answer is a 503.
    pub query_timeout: Duration,
    /// Origins whose web pages may call the OTLP/HTTP receiver (CORS).
    pub cors: CorsOrigins,
    /// Alert evaluation and notification delivery.
    pub alerts: AlertsConfig,
}

/// Which web page origins may send to the OTLP/HTTP receiver from a browser.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum CorsOrigins {
    /// Any origin in open single-project mode (anyone can send there anyway), none when
    /// projects are configured (a browser key should only work from the pages it ships in).
    #[default]
    ByMode,
    /// Any origin (`*`).
    Any,
    /// These exact origins (`scheme://host[:port]`); empty refuses every browser.
    List(Vec<String>),
}

/// Why a `--cors-origin` value was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "invalid CORS origin {0:?}: write scheme://host[:port] with no path (e.g. https://shop.example.com), `*` for any origin or `none`"
)]
pub struct BadOrigin(pub String);

impl CorsOrigins {
    /// Parses `--cors-origin` values (each may be a comma list): `*` allows any origin,
    /// `none` no origin, anything else must be an origin; no values keeps [`CorsOrigins::ByMode`].
    pub fn parse<S: AsRef<str>>(values: &[S]) -> Result<CorsOrigins, BadOrigin> {
        let items: Vec<&str> = values
            .iter()
            .flat_map(|v| v.as_ref().split(','))
            .map(str::trim)
            .filter(|v| !v.is_empty())
            .collect();
        if items.is_empty() {
            return Ok(CorsOrigins::ByMode);
        }
        if items.contains(&"*") {
            return Ok(CorsOrigins::Any);
        }
        let mut origins = Vec::new();
        for item in items.into_iter().filter(|i| *i != "none") {
            let rest = item
                .strip_prefix("https://")
                .or_else(|| item.strip_prefix("http://"))
                .ok_or_else(|| BadOrigin(item.to_string()))?;
            let valid = !rest.is_empty()
                && !rest.starts_with(':')
                && rest.bytes().all(|b| {
                    b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b':' | b'[' | b']')
                });
            if !valid {
                return Err(BadOrigin(item.to_string()));
            }
            // Browsers send the origin lowercased and without a trailing slash.
            origins.push(item.to_ascii_lowercase());
        }
        Ok(CorsOrigins::List(origins))
    }
}

/// How long the listeners wait for slow clients and how many connections each one holds.
///
/// The defaults keep every legitimate client working (a request head arrives in one packet; a
/// 16 MiB body takes 30 s only below ~4.5 Mbit/s) while a client that trickles bytes, or opens
/// connections and sends nothing, holds a file descriptor for seconds instead of forever.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConnectionLimits {
    /// Time to receive a whole request head, counted from the moment the connection is ready
    /// for the next request. HTTP/1 keep-alive connections waiting for their next request are
    /// closed after it too, and a new connection must start its first request within it.
    pub header_read_timeout: Duration,
    /// Time to receive a whole OTLP/HTTP request body; a slower body is answered 408.
    pub request_body_timeout: Duration,
    /// A connection with no request in flight for this long is closed (gracefully: HTTP/2
    /// GOAWAY). HTTP/2 peers are pinged every half of it and dropped when they stop answering.
    pub idle_timeout: Duration,
    /// Connections each listener holds at once. Connections past the limit are accepted and
    /// closed at once (the client sees a reset it can retry) rather than left in the kernel
    /// backlog, where they would wait unseen and unanswered.
    pub max_connections: usize,
}

impl Default for ConnectionLimits {
    fn default() -> Self {
        ConnectionLimits {
            header_read_timeout: Duration::from_secs(10),
            request_body_timeout: Duration::from_secs(30),
            idle_timeout: Duration::from_secs(60),
            // Three listeners × 4,096 stays below the 16k-65k descriptors services are usually
            // given, keeps the per-connection buffers of a full listener in the low hundreds of
            // MB, and is far above what a fleet of OTLP exporters (one connection each) needs.
            max_connections: 4096,
        }
    }
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
            otlp_grpc: SocketAddr::from(([127, 0, 0, 1], 4317)),
            otlp_http: SocketAddr::from(([127, 0, 0, 1], 4318)),
            projects: Vec::new(),
            max_request_bytes: 16 * 1024 * 1024,
            limits: Limits::default(),
            retry_after_secs: 5,
            connections: ConnectionLimits::default(),
            query_timeout: Duration::from_secs(30),
            cors: CorsOrigins::ByMode,
            alerts: AlertsConfig::default(),
        }
    }
}
