//! Server configuration, independent of where it came from (flags, environment, TOML).

use std::net::SocketAddr;

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
        }
    }
}
