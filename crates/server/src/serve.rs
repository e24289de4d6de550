//! Binding the three listeners and running them until shutdown, then flushing the store.
//!
//! Each listener accepts through [`crate::listen::Acceptor`] (connection limit, accept backoff)
//! and serves its connections with [`crate::listen::serve_http`] (header, idle and keep-alive
//! timeouts, graceful shutdown): the API and OTLP/HTTP axum routers, and the OTLP/gRPC services
//! as tonic routes, so a silent or slow client is cut alike on every port.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;

use tokio::net::TcpListener;
use tower_http::CompressionLevel;
use tower_http::compression::CompressionLayer;
use tower_http::cors::CorsLayer;
use tracehouse_store_api::Store;

use crate::alerts::AlertsConfig;
use crate::alerts::notify::Delivery;
use crate::alerts::runner::Evaluator;
use crate::api::{self, ApiState};
use crate::config::{ConnectionLimits, ServerConfig};
use crate::ingest::Ingest;
use crate::listen::{Acceptor, MAX_CONNECTIONS_LIMIT, serve_http};
use crate::metrics::Metrics;
use crate::otlp_grpc::GrpcIngest;
use crate::otlp_http::{self, HttpState};
use crate::projects::Projects;
use crate::time::now_ns;

/// The addresses actually bound (useful with port 0).
#[derive(Debug, Clone, Copy)]
pub struct BoundAddrs {
    /// JSON API and UI.
    pub api: SocketAddr,
    /// OTLP/gRPC.
    pub otlp_grpc: SocketAddr,
    /// OTLP/HTTP.
    pub otlp_http: SocketAddr,
}

/// A bound, not yet running server.
pub struct Server {
    store: Arc<dyn Store>,
    alerts: AlertsConfig,
    ingest: Arc<Ingest>,
    api_state: ApiState,
    http_state: HttpState,
    cors: Option<CorsLayer>,
    max_request_bytes: usize,
    limits: ConnectionLimits,
    api: TcpListener,
    grpc: TcpListener,
    http: TcpListener,
}

async fn bind(addr: SocketAddr, what: &str) -> anyhow::Result<TcpListener> {
    TcpListener::bind(addr).await.map_err(|e| {
        anyhow::anyhow!("cannot listen for {what} on {addr}: {e} (is another tracehouse running? pick another address with the matching flag)")
    })
}

impl Server {
    /// Validates the configuration and binds every listener.
    pub async fn bind(config: ServerConfig, store: Arc<dyn Store>) -> anyhow::Result<Server> {
        check_limits(&config)?;
        let projects = Arc::new(Projects::new(&config.projects)?);
        let cors = otlp_http::cors_layer(&config.cors, projects.is_open());
        let metrics = Arc::new(Metrics::new(store.clone()));
        let ingest = Arc::new(Ingest {
            store: store.clone(),
            projects: (*projects).clone(),
            limits: config.limits,
            metrics: metrics.clone(),
        });
        Ok(Server {
            api_state: ApiState {
                store: store.clone(),
                projects,
                metrics,
                query_timeout: config.query_timeout,
            },
            http_state: HttpState {
                ingest: ingest.clone(),
                max_request_bytes: config.max_request_bytes,
                retry_after_secs: config.retry_after_secs,
                body_timeout: config.connections.request_body_timeout,
            },
            cors,
            store,
            alerts: config.alerts,
            ingest,
            max_request_bytes: config.max_request_bytes,
            limits: config.connections,
            api: bind(config.listen, "the API (--listen)").await?,
            grpc: bind(config.otlp_grpc, "OTLP/gRPC (--otlp-grpc)").await?,
            http: bind(config.otlp_http, "OTLP/HTTP (--otlp-http)").await?,
        })
    }

    /// The bound addresses.
    pub fn addrs(&self) -> anyhow::Result<BoundAddrs> {
        Ok(BoundAddrs {
            api: self.api.local_addr()?,
            otlp_grpc: self.grpc.local_addr()?,
            otlp_http: self.http.local_addr()?,
        })
    }

    /// Serves until `shutdown` completes, then drains connections and flushes the store.
    pub async fn run(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> anyhow::Result<()> {
        let (tx, rx) = tokio::sync::watch::channel(false);
        let evaluator = self.evaluator(self.api.local_addr()?);
        let alerts = tokio::spawn(evaluator.run(rx.clone()));
        let limits = self.limits;
        let max = limits.max_connections;
        let api = serve_http(
            Acceptor::new(self.api, max, "api"),
            api::router(self.api_state)
                .merge(crate::ui::router())
                .merge(crate::sdk_bundle::router())
                .layer(compression()),
            limits,
            rx.clone(),
        );
        let http = serve_http(
            Acceptor::new(self.http, max, "otlp-http"),
            otlp_http::router(self.http_state, self.cors),
            limits,
            rx.clone(),
        );
        let receiver = GrpcIngest::new(self.ingest);
        let grpc = serve_http(
            Acceptor::new(self.grpc, max, "otlp-grpc"),
            tonic::service::Routes::new(receiver.traces(self.max_request_bytes))
                .add_service(receiver.logs(self.max_request_bytes))
                .add_service(receiver.metrics(self.max_request_bytes))
                .prepare()
                .into_axum_router(),
            limits,
            rx,
        );
        tokio::spawn(async move {
            shutdown.await;
            tracing::info!("shutting down: finishing requests in flight");
            let _ = tx.send(true);
        });
        tokio::join!(api, http, grpc);
        let _ = alerts.await;
        tracing::info!("flushing the store");
        self.store.flush().await?;
        Ok(())
    }
}

impl Server {
    /// The alert evaluator of this server's projects; links in notifications point at
    /// `--public-url`, else at the API listener.
    fn evaluator(&self, api: SocketAddr) -> Evaluator {
        let c = &self.alerts;
        let public_url = c
            .public_url
            .clone()
            .unwrap_or_else(|| format!("http://{api}"));
        Evaluator {
            store: self.store.clone(),
            projects: self.api_state.projects.ids(),
            delivery: Arc::new(Delivery {
                timeout: c.webhook_timeout,
                attempts: c.webhook_attempts,
                backoff: c.webhook_backoff,
                public_url: public_url.trim_end_matches('/').to_string(),
                in_flight: Default::default(),
            }),
            tick: c.tick,
            lease_ttl: c.lease_ttl,
            deadline: self.api_state.query_timeout,
            holder: format!("{api}/{}/{}", std::process::id(), now_ns()),
        }
    }
}

/// Refuses limits that would make a listener useless.
/// Compression of the API's and the UI's responses, gzip or brotli as the client's
/// `Accept-Encoding` prefers (a 5,000-span trace is megabytes of JSON). Level 4 of either is
/// several times faster than their defaults for a ratio close to theirs on JSON.
fn compression() -> CompressionLayer {
    CompressionLayer::new().quality(CompressionLevel::Precise(4))
}

fn check_limits(config: &ServerConfig) -> anyhow::Result<()> {
    let c = &config.connections;
    if !(1..=MAX_CONNECTIONS_LIMIT).contains(&c.max_connections) {
        anyhow::bail!(
            "--max-connections must be between 1 and {MAX_CONNECTIONS_LIMIT}, not {}",
            c.max_connections
        );
    }
    for (flag, value) in [
        ("--header-read-timeout", c.header_read_timeout),
        ("--request-body-timeout", c.request_body_timeout),
        ("--idle-timeout", c.idle_timeout),
        ("--query-timeout", config.query_timeout),
        ("--alert-tick", config.alerts.tick),
        ("--alert-webhook-timeout", config.alerts.webhook_timeout),
    ] {
        if value.is_zero() {
            anyhow::bail!("{flag} must be longer than zero");
        }
    }
    Ok(())
}
