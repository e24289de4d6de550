//! The HTTP APIs other tracing tools call, each under its own prefix on the API port and
//! answered from the same stores and plans as the native API: `/tempo` is Grafana Tempo's
//! query API (what Grafana's Tempo data source calls; [`tempo`]), `/jaeger` Jaeger's query
//! HTTP JSON API (what the Jaeger UI and Grafana's Jaeger data source call; [`jaeger`]). Every route is scoped to
//! the project of its key, sent as `x-tracehouse-key`, `authorization: Bearer` or, as
//! Grafana's basic-auth setting sends it, the password of `authorization: Basic`; failures
//! are answered in the emulated tool's own shape ([`text`] for Tempo, Jaeger's envelope).

mod jaeger;
mod otlp_out;
mod tempo;
mod tempopb;
mod text;

use std::time::Duration;

use axum::Router;
use axum::http::{HeaderMap, header};
use axum::middleware;
use base64::Engine;
use futures::{StreamExt, TryStreamExt};
use tracehouse_model::{Span, TraceId};
use tracehouse_store_api::StoreError;

use super::ApiState;
use super::doc::KEY_HEADER;
use crate::projects::key_from_headers;
pub(super) use text::TextError;

/// The compatibility routes, under the query deadline like every query route.
pub(super) fn router(query_timeout: Duration) -> Router<ApiState> {
    Router::new()
        .nest("/tempo", tempo::router())
        .nest("/jaeger", jaeger::router())
        .route_layer(middleware::from_fn_with_state(
            query_timeout,
            crate::deadline::query_deadline,
        ))
}

/// The key of a request: the native headers, else the password (or, without one, the user)
/// of basic authentication.
fn request_key(headers: &HeaderMap) -> Option<String> {
    let authorization = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok());
    let native = key_from_headers(
        headers.get(KEY_HEADER).and_then(|v| v.to_str().ok()),
        authorization,
    );
    if let Some(key) = native {
        return Some(key.to_string());
    }
    let encoded = authorization?
        .strip_prefix("Basic ")
        .or_else(|| authorization?.strip_prefix("basic "))?;
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(encoded.trim())
        .ok()?;
    let text = String::from_utf8(decoded).ok()?;
    let (user, password) = text.split_once(':').unwrap_or((&text, ""));
    [password, user]
        .into_iter()
        .find(|k| !k.is_empty())
        .map(str::to_string)
}

/// A trace id as Tempo and Jaeger take it: 1 to 32 hex digits, left-padded with zeros
/// (64-bit ids); all zeros is no id.
fn parse_trace_id(text: &str) -> Option<TraceId> {
    if text.is_empty() || text.len() > 32 || !text.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    format!("{:0>32}", text.to_ascii_lowercase()).parse().ok()
}

/// How many traces one request reads at a time.
const TRACE_READS: usize = 8;

/// The spans of each trace (none for an id not stored), in the order of `ids`, read at most
/// [`TRACE_READS`] at a time.
async fn read_traces(
    state: &ApiState,
    project: &str,
    ids: &[TraceId],
) -> Result<Vec<Vec<Span>>, StoreError> {
    let (store, project) = (state.store.clone(), project.to_string());
    let reads = ids.iter().copied().map(move |id| {
        let (store, project) = (store.clone(), project.clone());
        async move { store.trace(&project, id).await }
    });
    futures::stream::iter(reads)
        .buffered(TRACE_READS)
        .try_collect()
        .await
}

/// The project of a compatibility request.
fn project(state: &ApiState, headers: &HeaderMap) -> Result<String, TextError> {
    let key = request_key(headers);
    Ok(state.projects.for_key(key.as_deref())?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn key_of(name: header::HeaderName, value: &str) -> Option<String> {
        let mut headers = HeaderMap::new();
        headers.insert(
            name,
            HeaderValue::from_str(value).unwrap_or(HeaderValue::from_static("")),
        );
        request_key(&headers)
    }

    #[test]
    fn keys_come_from_native_headers_or_basic_auth() {
        assert_eq!(
            key_of(header::AUTHORIZATION, "Bearer k1").as_deref(),
            Some("k1")
        );
        // "grafana:k2" and "k3:" (a key given as the user, no password)
        assert_eq!(
            key_of(header::AUTHORIZATION, "Basic Z3JhZmFuYTprMg==").as_deref(),
            Some("k2")
        );
        assert_eq!(
            key_of(header::AUTHORIZATION, "Basic azM6").as_deref(),
            Some("k3")
        );
        assert_eq!(key_of(header::AUTHORIZATION, "Basic !!!"), None);
        let x_key = header::HeaderName::from_static(KEY_HEADER);
        assert_eq!(key_of(x_key, "k4").as_deref(), Some("k4"));
    }
}
