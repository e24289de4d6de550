//! The browser SDK (`@tracehouse/browser` with session replay) as one self-contained ES
//! module, built from `sdk-js/` by `build.rs` and served at [`SDK_PATH`] on the API listener,
//! so that a page without a bundler (the demo's shop among them) can
//! `import { init, replay } from '<api>/sdk/tracehouse-replay.min.js'`. The module is public
//! code: any origin may load it (module scripts need CORS).

use axum::Router;
use axum::http::header;
use axum::response::IntoResponse;
use axum::routing::get;

/// Where the module is served.
pub const SDK_PATH: &str = "/sdk/tracehouse-replay.min.js";

/// The built module (a module that throws, saying so, in a build without Node.js).
const BUNDLE: &str = include_str!("../../../sdk-js/dist/tracehouse-replay.min.js");

/// The route serving the module, to merge into the API router.
pub fn router() -> Router {
    Router::new().route(
        SDK_PATH,
        get(|| async {
            (
                [
                    (header::CONTENT_TYPE, "text/javascript; charset=utf-8"),
                    (header::ACCESS_CONTROL_ALLOW_ORIGIN, "*"),
                    (header::CACHE_CONTROL, "no-cache"),
                ],
                BUNDLE,
            )
                .into_response()
        }),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::body::Body;
    use axum::http::{Request, StatusCode};
    use tower::ServiceExt;

    #[tokio::test]
    async fn serves_the_module_to_any_origin() {
        let resp = router()
            .oneshot(Request::get(SDK_PATH).body(Body::empty()).unwrap())
            .await
            .unwrap();
        assert_eq!(resp.status(), StatusCode::OK);
        let h = resp.headers();
        assert_eq!(h[header::ACCESS_CONTROL_ALLOW_ORIGIN], "*");
        assert!(
            h[header::CONTENT_TYPE]
                .to_str()
                .unwrap()
                .starts_with("text/javascript")
        );
        let body = axum::body::to_bytes(resp.into_body(), usize::MAX)
            .await
            .unwrap();
        assert!(!body.is_empty());
    }
}
