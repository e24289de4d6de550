//! The tracehouse server: OTLP receivers (gRPC and HTTP), the JSON query API, project
//! authentication, Prometheus metrics and graceful shutdown, over any [`tracehouse_store_api::Store`].

pub mod alerts;
pub mod allocator;
pub mod api;
pub mod config;
pub mod deadline;
pub mod extract;
pub mod ingest;
pub mod listen;
pub mod metrics;
pub mod otlp_grpc;
pub mod otlp_http;
pub mod otlp_json;
pub mod projects;
pub mod replay;
pub mod runtime;
pub mod sdk_bundle;
pub mod serve;
pub mod time;
pub mod ui;
mod zipkin;

pub use config::{BadOrigin, ConnectionLimits, CorsOrigins, ProjectConfig, ServerConfig};
pub use serve::{BoundAddrs, Server};
pub use tracehouse_model::Limits;
