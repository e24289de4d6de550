//! `GET /api/dependencies?endTs=&lookback=&service=`: the service map's edges over
//! `[endTs - lookback, endTs]` (epoch milliseconds and milliseconds, as Jaeger takes them;
//! default now and one day) as Jaeger's dependency links `{parent, child, callCount}` in its
//! envelope, those touching `service` only when it is given.

use axum::Json;
use axum::extract::{Query, State};
use axum::http::HeaderMap;
use serde_json::{Value, json};
use tracehouse_store_api::graph::service_graph;

use super::super::project;
use super::envelope::envelope;
use super::params::{first, millis, now_ms, parse_error};
use super::{ApiState, JaegerError};

/// Jaeger's default lookback of the dependencies: one day, in milliseconds.
const DEFAULT_LOOKBACK_MS: i64 = 86_400_000;

/// `GET /api/dependencies`.
pub(super) async fn dependencies(
    State(state): State<ApiState>,
    headers: HeaderMap,
    Query(pairs): Query<Vec<(String, String)>>,
) -> Result<Json<Value>, JaegerError> {
    let project = project(&state, &headers)?;
    let end_ns = millis(&pairs, "endTs", now_ms)?;
    let lookback_ns = millis(&pairs, "lookback", || DEFAULT_LOOKBACK_MS)?;
    if lookback_ns <= 0 {
        return Err(parse_error("lookback", "must be a positive number of ms"));
    }
    let end_ns = end_ns.saturating_add(1);
    let range = (end_ns.saturating_sub(lookback_ns).max(0), end_ns);
    let graph = service_graph(state.store.as_ref(), &project, range).await?;
    let service = first(&pairs, "service");
    let links: Vec<Value> = graph
        .dependency_links()
        .into_iter()
        .filter(|l| service.is_none_or(|s| l.parent == s || l.child == s))
        .map(|l| json!({ "parent": l.parent, "child": l.child, "callCount": l.calls }))
        .collect();
    Ok(envelope(json!(links), 0))
}
