//! The web UI: the single-page app built from `ui/` (see `build.rs`), embedded in the
//! binary and served on the API listener.
//!
//! [`router`] has no fallback of its own, so merging it into the API router keeps the API's
//! routes (and its JSON 404 for unknown `/api/...` paths) in charge. It serves:
//! - every file of `ui/dist` at its own path (`/assets/*` are content-hashed and cached forever);
//! - `index.html` at `/` and at each client-side route ([`CLIENT_ROUTES`]), so that deep links
//!   such as `/traces/{id}?span=…` load the app, which then routes in the browser.

use axum::Router;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;

#[derive(rust_embed::Embed)]
#[folder = "../../ui/dist"]
struct Assets;

/// Paths the single-page app routes itself; each answers with `index.html`.
pub const CLIENT_ROUTES: &[&str] = &[
    "/",
    "/traces",
    "/traces/",
    "/traces/{*rest}",
    "/logs",
    "/errors",
    "/errors/{*rest}",
    "/sessions",
    "/sessions/{*rest}",
    "/services",
    "/services/{*rest}",
    "/service-map",
    "/metrics-explorer",
    "/alerts",
];

/// Routes for the embedded UI, to merge into the API router.
pub fn router() -> Router {
    let mut router = Router::new();
    for route in CLIENT_ROUTES {
        router = router.route(
            route,
            get(|h: HeaderMap| async move { file("index.html", &h) }),
        );
    }
    for path in Assets::iter() {
        if path == "index.html" {
            continue;
        }
        let route = format!("/{path}");
        router = router.route(
            &route,
            get(move |h: HeaderMap| async move { file(&path, &h) }),
        );
    }
    router
}

fn content_type(path: &str) -> &'static str {
    match path.rsplit_once('.').map(|(_, ext)| ext) {
        Some("html") => "text/html; charset=utf-8",
        Some("js" | "mjs") => "text/javascript; charset=utf-8",
        Some("css") => "text/css; charset=utf-8",
        Some("svg") => "image/svg+xml",
        Some("png") => "image/png",
        Some("ico") => "image/x-icon",
        Some("json" | "map") => "application/json",
        Some("woff2") => "font/woff2",
        Some("txt") => "text/plain; charset=utf-8",
        _ => "application/octet-stream",
    }
}

fn file(path: &str, headers: &HeaderMap) -> Response {
    let Some(f) = Assets::get(path) else {
        return (StatusCode::NOT_FOUND, "not found").into_response();
    };
    let etag = format!("\"{}\"", hex::encode(&f.metadata.sha256_hash()[..16]));
    let cache = if path.starts_with("assets/") {
        "public, max-age=31536000, immutable"
    } else {
        "no-cache"
    };
    let not_modified = headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|t| t.trim() == etag));
    let mut resp = if not_modified {
        StatusCode::NOT_MODIFIED.into_response()
    } else {
        (
            [(header::CONTENT_TYPE, content_type(path))],
            f.data.into_owned(),
        )
            .into_response()
    };
    let h = resp.headers_mut();
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static(cache));
    if let Ok(v) = HeaderValue::from_str(&etag) {
        h.insert(header::ETAG, v);
    }
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    resp
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::body::Body;
    use axum::http::Request;
    use tower::ServiceExt;

    async fn get_path(router: Router, path: &str) -> (StatusCode, String, String) {
        let resp = router
            .oneshot(Request::get(path).body(Body::empty()).unwrap())
            .await
            .unwrap();
        let status = resp.status();
        let ct = resp
            .headers()
            .get(header::CONTENT_TYPE)
            .map(|v| v.to_str().unwrap().to_string())
            .unwrap_or_default();
        let body = axum::body::to_bytes(resp.into_body(), usize::MAX)
            .await
            .unwrap();
        (status, ct, String::from_utf8_lossy(&body).into_owned())
    }

    #[tokio::test]
    async fn serves_index_for_client_routes_and_leaves_the_rest_alone() {
        let fallback = Router::new().fallback(|| async { (StatusCode::NOT_FOUND, "api 404") });
        let app = fallback.merge(router());
        for path in [
            "/",
            "/traces",
            "/traces/0123456789abcdef0123456789abcdef",
            "/services",
            "/services/map",
            "/service-map",
            "/metrics-explorer",
            "/alerts",
        ] {
            let (status, ct, body) = get_path(app.clone(), path).await;
            assert_eq!(status, StatusCode::OK, "{path}");
            assert!(ct.starts_with("text/html"), "{path}: {ct}");
            assert!(body.contains("<html"), "{path}");
        }
        let (status, _, body) = get_path(app.clone(), "/api/v1/nope").await;
        assert_eq!((status, body.as_str()), (StatusCode::NOT_FOUND, "api 404"));
        for path in Assets::iter().filter(|p| p.starts_with("assets/")) {
            let (status, ct, _) = get_path(app.clone(), &format!("/{path}")).await;
            assert_eq!(status, StatusCode::OK, "{path}");
            assert_ne!(ct, "application/octet-stream", "{path}");
        }
    }
}
