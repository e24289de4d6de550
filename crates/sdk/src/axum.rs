//! Server spans for axum and any tower HTTP service (feature `axum`).
//!
//! [`TraceLayer`] opens a span of kind server for each request, following the OpenTelemetry
//! HTTP semantic conventions:
//!
//! | Attribute | From |
//! |---|---|
//! | `http.request.method` | the method |
//! | `http.route` | axum's [`MatchedPath`] (e.g. `/items/{sku}`) |
//! | `url.path`, `url.query`, `url.scheme` | the request URI |
//! | `server.address` | the `Host` header |
//! | `client.address` | axum's [`ConnectInfo<SocketAddr>`](ConnectInfo), else the first `X-Forwarded-For` address |
//! | `user_agent.original` | the `User-Agent` header |
//! | `network.protocol.version` | `1.1`, `2`, … |
//! | `http.response.status_code` | the response status |
//! | `highlight.session_id`, `highlight.trace_id` | the `x-highlight-request` header ([`crate::highlight`]) |
//!
//! The span is named `METHOD route` (or just `METHOD` without a route). Its parent is the
//! remote context extracted from `traceparent`/`tracestate` with the global propagator (set
//! by [`init`](crate::init)). A 5xx response, or an error from the inner service, marks it
//! as an error.
//!
//! ```
//! use axum::{Router, routing::get};
//! use tracehouse_sdk::axum::TraceLayer;
//!
//! let app: Router = Router::new()
//!     .route("/items/{sku}", get(|| async { "ok" }))
//!     .layer(TraceLayer::new());
//! ```
//!
//! Add the layer with [`Router::layer`](::axum::Router::layer) so the matched route is
//! known; serve with `into_make_service_with_connect_info::<SocketAddr>()` to record the
//! peer address.

use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::task::{Context, Poll};

use ::axum::extract::{ConnectInfo, MatchedPath};
use http::{Request, Response};
use opentelemetry_http::HeaderExtractor;
use tracing::Instrument as _;
use tracing::field::Empty;
use tracing_opentelemetry::OpenTelemetrySpanExt as _;

use crate::highlight::HighlightRequest;

/// A tower [`Layer`](tower_layer::Layer) that wraps services in [`TraceService`].
#[derive(Debug, Clone, Default)]
pub struct TraceLayer {
    _private: (),
}

impl TraceLayer {
    /// The layer.
    pub fn new() -> TraceLayer {
        TraceLayer::default()
    }
}

impl<S> tower_layer::Layer<S> for TraceLayer {
    type Service = TraceService<S>;

    fn layer(&self, inner: S) -> TraceService<S> {
        TraceService { inner }
    }
}

/// A tower service recording a server span per request (see the [module docs](self)).
#[derive(Debug, Clone)]
pub struct TraceService<S> {
    inner: S,
}

impl<S, B, ResB> tower_service::Service<Request<B>> for TraceService<S>
where
    S: tower_service::Service<Request<B>, Response = Response<ResB>>,
    S::Future: Send + 'static,
    S::Error: std::fmt::Display + 'static,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = Pin<Box<dyn Future<Output = Result<S::Response, S::Error>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: Request<B>) -> Self::Future {
        let span = request_span(&req);
        let future = {
            let _entered = span.enter();
            self.inner.call(req)
        };
        let record_on = span.clone();
        Box::pin(
            async move {
                let result = future.await;
                match &result {
                    Ok(response) => record_status(&record_on, response.status().as_u16()),
                    Err(err) => {
                        record_on.record("otel.status_code", "ERROR");
                        record_on.record("error.type", "service_error");
                        record_on.set_status(opentelemetry::trace::Status::error(err.to_string()));
                    }
                }
                result
            }
            .instrument(span),
        )
    }
}

/// The server span for `req`, with its remote parent set; exposed for custom middleware.
pub fn request_span<B>(req: &Request<B>) -> tracing::Span {
    let method = req.method().as_str();
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map(|m| m.as_str().to_string());
    let name = match &route {
        Some(route) => format!("{method} {route}"),
        None => method.to_string(),
    };
    let headers = req.headers();
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    let client = req
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|ci| ci.0.ip().to_string())
        .or_else(|| {
            header("x-forwarded-for")
                .and_then(|v| v.split(',').next())
                .map(|v| v.trim().to_string())
                .filter(|v| !v.is_empty())
        });
    let version = match req.version() {
        http::Version::HTTP_09 => "0.9",
        http::Version::HTTP_10 => "1.0",
        http::Version::HTTP_11 => "1.1",
        http::Version::HTTP_2 => "2",
        http::Version::HTTP_3 => "3",
        _ => "",
    };
    let span = tracing::info_span!(
        target: "tracehouse_sdk::http",
        "HTTP request",
        otel.name = %name,
        otel.kind = "server",
        otel.status_code = Empty,
        http.request.method = %method,
        http.route = Empty,
        http.response.status_code = Empty,
        url.path = %req.uri().path(),
        url.query = Empty,
        url.scheme = req.uri().scheme_str().unwrap_or("http"),
        server.address = Empty,
        client.address = Empty,
        user_agent.original = Empty,
        network.protocol.version = version,
        error.type = Empty,
        highlight.session_id = Empty,
        highlight.trace_id = Empty,
    );
    if let Some(route) = &route {
        span.record("http.route", route.as_str());
    }
    if let Some(query) = req.uri().query() {
        span.record("url.query", query);
    }
    if let Some(host) = header("host") {
        span.record("server.address", host);
    }
    if let Some(client) = &client {
        span.record("client.address", client.as_str());
    }
    if let Some(agent) = header("user-agent") {
        span.record("user_agent.original", agent);
    }
    if let Some(h) = headers
        .get(crate::highlight::HEADER)
        .and_then(|v| HighlightRequest::parse_bytes(v.as_bytes()))
    {
        span.record("highlight.session_id", h.session_id.as_str());
        if let Some(request) = &h.request_id {
            span.record("highlight.trace_id", request.as_str());
        }
    }
    let parent = opentelemetry::global::get_text_map_propagator(|propagator| {
        propagator.extract(&HeaderExtractor(headers))
    });
    let _ = span.set_parent(parent);
    span
}

/// Records the response status on a server span; 5xx marks the span as an error.
pub fn record_status(span: &tracing::Span, status: u16) {
    span.record("http.response.status_code", i64::from(status));
    if status >= 500 {
        span.record("otel.status_code", "ERROR");
        span.record("error.type", status.to_string().as_str());
    }
}
