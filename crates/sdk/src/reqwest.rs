//! Client spans for outgoing requests through `reqwest-middleware` (feature `reqwest`).
//!
//! [`TracingMiddleware`] opens a span of kind client per request (`http.request.method`,
//! `url.full` without credentials, `server.address`, `server.port`,
//! `http.response.status_code`) and injects its context into the request headers with the
//! global propagator (`traceparent`, `tracestate`, `baggage`), so the called service
//! continues the same trace. A 4xx/5xx response or a transport error marks the span as an
//! error.
//!
//! ```
//! use tracehouse_sdk::reqwest::{TracingMiddleware, client};
//!
//! // Either wrap a client...
//! let http = client(reqwest::Client::new());
//! // ...or add the middleware to your own chain.
//! let http = reqwest_middleware::ClientBuilder::new(reqwest::Client::new())
//!     .with(TracingMiddleware::new())
//!     .build();
//! ```

use http::Extensions;
use opentelemetry_http::HeaderInjector;
use reqwest_middleware::{ClientWithMiddleware, Middleware, Next};
use tracing::Instrument as _;
use tracing::field::Empty;
use tracing_opentelemetry::OpenTelemetrySpanExt as _;

/// A `reqwest-middleware` middleware recording a client span per request.
#[derive(Debug, Clone, Default)]
pub struct TracingMiddleware {
    _private: (),
}

impl TracingMiddleware {
    /// The middleware.
    pub fn new() -> TracingMiddleware {
        TracingMiddleware::default()
    }
}

/// `client` with [`TracingMiddleware`] as its only middleware.
pub fn client(client: ::reqwest::Client) -> ClientWithMiddleware {
    reqwest_middleware::ClientBuilder::new(client)
        .with(TracingMiddleware::new())
        .build()
}

/// The URL without user name and password.
fn redacted(url: &::reqwest::Url) -> String {
    if url.username().is_empty() && url.password().is_none() {
        return url.to_string();
    }
    let mut url = url.clone();
    let _ = url.set_username("REDACTED");
    let _ = url.set_password(Some("REDACTED"));
    url.to_string()
}

#[async_trait::async_trait]
impl Middleware for TracingMiddleware {
    async fn handle(
        &self,
        mut req: ::reqwest::Request,
        extensions: &mut Extensions,
        next: Next<'_>,
    ) -> reqwest_middleware::Result<::reqwest::Response> {
        let method = req.method().as_str().to_string();
        let url = req.url();
        let span = tracing::info_span!(
            target: "tracehouse_sdk::http",
            "HTTP client request",
            otel.name = %method,
            otel.kind = "client",
            otel.status_code = Empty,
            http.request.method = %method,
            http.response.status_code = Empty,
            url.full = %redacted(url),
            server.address = url.host_str().unwrap_or_default(),
            server.port = i64::from(url.port_or_known_default().unwrap_or_default()),
            error.type = Empty,
        );
        let cx = span.context();
        opentelemetry::global::get_text_map_propagator(|propagator| {
            propagator.inject_context(&cx, &mut HeaderInjector(req.headers_mut()));
        });
        let result = next.run(req, extensions).instrument(span.clone()).await;
        match &result {
            Ok(response) => {
                let status = response.status().as_u16();
                span.record("http.response.status_code", i64::from(status));
                if status >= 400 {
                    span.record("otel.status_code", "ERROR");
                    span.record("error.type", status.to_string().as_str());
                }
            }
            Err(err) => {
                span.record("error.type", "transport");
                crate::record_error_on(&span, err);
            }
        }
        result
    }
}
