//! The query deadline of the JSON API: a route layer that answers 503 in the API's error shape
//! when a query outlives it, dropping the query's future, which cancels its work.

use std::time::Duration;

use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::api::ApiError;

/// Runs a query route under `limit` (the layer's state): a query still running then is
/// dropped, which cancels its work, and answered 503 in the API's error shape.
pub async fn query_deadline(
    State(limit): State<Duration>,
    request: Request,
    next: Next,
) -> Response {
    let path = request.uri().path().to_owned();
    match tokio::time::timeout(limit, next.run(request)).await {
        Ok(response) => response,
        Err(_) => {
            tracing::warn!(%path, ?limit, "query exceeded its deadline and was cancelled");
            ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                format!(
                    "query exceeded the {limit:?} deadline and was cancelled; narrow the time \
                     range or the query"
                ),
            )
            .into_response()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    use axum::Router;
    use axum::body::Body;
    use axum::middleware;
    use axum::routing::get;
    use tower::ServiceExt;

    #[tokio::test]
    async fn a_query_past_its_deadline_is_dropped_and_answered_503_json() {
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let tx = Arc::new(std::sync::Mutex::new(Some(tx)));
        let app = Router::new()
            .route(
                "/slow",
                get(move || {
                    // Dropping the handler's future drops this sender, which ends `rx`.
                    let guard = tx.lock().ok().and_then(|mut t| t.take());
                    async move {
                        tokio::time::sleep(Duration::from_secs(30)).await;
                        drop(guard);
                    }
                }),
            )
            .route("/fast", get(|| async { "ok" }))
            .route_layer(middleware::from_fn_with_state(
                Duration::from_millis(50),
                query_deadline,
            ));
        let get_path = |path: &str| Request::get(path).body(Body::empty()).expect("request");
        let fast = app
            .clone()
            .oneshot(get_path("/fast"))
            .await
            .expect("infallible");
        assert_eq!(fast.status(), StatusCode::OK);
        let started = std::time::Instant::now();
        let slow = app.oneshot(get_path("/slow")).await.expect("infallible");
        assert!(started.elapsed() < Duration::from_secs(5));
        assert_eq!(slow.status(), StatusCode::SERVICE_UNAVAILABLE);
        let bytes = axum::body::to_bytes(slow.into_body(), 1 << 20)
            .await
            .expect("body");
        let body: serde_json::Value = serde_json::from_slice(&bytes).expect("JSON");
        let message = body["error"]["message"].as_str().unwrap_or_default();
        assert!(message.contains("deadline"), "{body}");
        // The handler's work was cancelled, not left running.
        assert!(rx.await.is_err());
    }
}
