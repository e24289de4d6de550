//! Binding the three listeners and running them until shutdown, then flushing the store.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;

use tokio::net::TcpListener;
use tracehouse_store::Store;

use crate::api::{self, ApiState};
use crate::config::ServerConfig;
use crate::ingest::Ingest;
use crate::metrics::Metrics;
use crate::otlp_grpc::GrpcIngest;
use crate::otlp_http::{self, HttpState};
use crate::projects::Projects;

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
    ingest: Arc<Ingest>,
    api_state: ApiState,
    http_state: HttpState,
    max_request_bytes: usize,
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
        let projects = Arc::new(Projects::new(&config.projects)?);
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
            },
            http_state: HttpState {
                ingest: ingest.clone(),
                max_request_bytes: config.max_request_bytes,
                retry_after_secs: config.retry_after_secs,
            },
            store,
            ingest,
            max_request_bytes: config.max_request_bytes,
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
        let signal = move || {
            let mut rx = rx.clone();
            async move {
                let _ = rx.wait_for(|stop| *stop).await;
            }
        };
        let api = axum::serve(
            self.api,
            api::router(self.api_state).merge(crate::ui::router()),
        )
        .with_graceful_shutdown(signal());
        let http = axum::serve(self.http, otlp_http::router(self.http_state))
            .with_graceful_shutdown(signal());
        let receiver = GrpcIngest::new(self.ingest);
        let grpc = tonic::transport::Server::builder()
            .add_service(receiver.traces(self.max_request_bytes))
            .add_service(receiver.logs(self.max_request_bytes))
            .serve_with_incoming_shutdown(tokio_stream_listener(self.grpc), signal());
        tokio::spawn(async move {
            shutdown.await;
            tracing::info!("shutting down: finishing requests in flight");
            let _ = tx.send(true);
        });
        let (a, h, g) = tokio::join!(async { api.await }, async { http.await }, grpc);
        a?;
        h?;
        g?;
        tracing::info!("flushing the store");
        self.store.flush().await?;
        Ok(())
    }
}

/// Adapts a tokio listener into the incoming-connection stream tonic expects.
fn tokio_stream_listener(listener: TcpListener) -> tonic::transport::server::TcpIncoming {
    tonic::transport::server::TcpIncoming::from(listener)
}
