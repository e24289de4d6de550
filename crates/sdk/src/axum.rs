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
//! It also records each request's duration in the histogram `http.server.request.duration`
//! (seconds, the semantic conventions' buckets) of the global meter provider, with
//! `http.request.method`, `http.route`, `http.response.status_code` and, on failure,
//! `error.type`: create the layer after [`init`](crate::init), which installs the provider.
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
use std::time::Instant;

use ::axum::extract::{ConnectInfo, MatchedPath};
use http::{Request, Response};
use opentelemetry::KeyValue;
use opentelemetry::metrics::Histogram;
use opentelemetry_http::HeaderExtractor;
use tracing::Instrument as _;
use tracing::field::Empty;
use tracing_opentelemetry::OpenTelemetrySpanExt as _;

use crate::highlight::HighlightRequest;

/// Bucket bounds of `http.server.request.duration`, s (the semantic conventions' advice).
const DURATION_BOUNDS: [f64; 14] = [
    0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5, 10.0,
];

/// A tower [`Layer`](tower_layer::Layer) that wraps services in [`TraceService`].
#[derive(Debug, Clone)]
pub struct TraceLayer {
    durations: Histogram<f64>,
}

impl TraceLayer {
    /// The layer, with its duration histogram from the global meter provider.
    pub fn new() -> TraceLayer {
        TraceLayer {
            durations: opentelemetry::global::meter(crate::SCOPE_NAME)
                .f64_histogram("http.server.request.duration")
                .with_unit("s")
                .with_description("Duration of HTTP server requests.")
                .with_boundaries(DURATION_BOUNDS.to_vec())
                .build(),
        }
    }
}

impl Default for TraceLayer {
    fn default() -> TraceLayer {
        TraceLayer::new()
    }
}

impl<S> tower_layer::Layer<S> for TraceLayer {
    type Service = TraceService<S>;

    fn layer(&self, inner: S) -> TraceService<S> {
        TraceService {
            inner,
            durations: self.durations.clone(),
        }
    }
}

/// A tower service recording a server span and its duration per request (see the
/// [module docs](self)).
#[derive(Debug, Clone)]
pub struct TraceService<S> {
    inner: S,
    durations: Histogram<f64>,
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
        let started = Instant::now();
        let span = request_span(&req);
        let mut labels = duration_labels(&req);
        let future = {
            let _entered = span.enter();
            self.inner.call(req)
        };
        let record_on = span.clone();
        let durations = self.durations.clone();
        Box::pin(
            async move {
                let result = future.await;
                match &result {
                    Ok(response) => {
                        let status = response.status().as_u16();
                        record_status(&record_on, status);
                        labels.push(KeyValue::new(
                            "http.response.status_code",
                            i64::from(status),
                        ));
                        if status >= 500 {
                            labels.push(KeyValue::new("error.type", status.to_string()));
                        }
                    }
                    Err(err) => {
                        record_on.record("otel.status_code", "ERROR");
                        record_on.record("error.type", "service_error");
                        record_on.set_status(opentelemetry::trace::Status::error(err.to_string()));
                        labels.push(KeyValue::new("error.type", "service_error"));
                    }
                }
                durations.record(started.elapsed().as_secs_f64(), &labels);
                result
            }
            .instrument(span),
        )
    }
}

/// The request's labels of `http.server.request.duration`: its method and route.
fn duration_labels<B>(req: &Request<B>) -> Vec<KeyValue> {
    let mut labels = vec![KeyValue::new(
        "http.request.method",
        req.method().as_str().to_string(),
    )];
    if let Some(route) = req.extensions().get::<MatchedPath>() {
        labels.push(KeyValue::new("http.route", route.as_str().to_string()));
    }
    labels
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
