//! Server configuration, independent of where it came from (flags, environment, TOML).

use std::net::SocketAddr;
use std::time::Duration;

use serde::Deserialize;
use tracehouse_model::Limits;

/// One project and the ingest keys that write into it.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct ProjectConfig {
    /// Project id: lowercase letters, digits, `-` and `_`.
    pub id: String,
    /// Keys accepted for this project (headers or resource attributes).
    pub keys: Vec<String>,
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
        }
    }
}
