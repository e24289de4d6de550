//! The JSON API's extractors: axum's `Query`, `Path` and `Json` with [`ApiError`] as their rejection,
//! so that a parameter of the wrong type (`limit=abc`, `buckets=-1`, a number past `usize`, a
//! path segment that is not UTF-8) answers the documented JSON error with axum's status and
//! explanation instead of a plain-text body. Handlers use these in place of axum's.

use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::StatusCode;
use axum::http::request::Parts;
use serde::de::DeserializeOwned;

use crate::api::ApiError;

/// The query string deserialized as `T`; refused as a JSON 400.
#[derive(Debug)]
pub struct Query<T>(pub T);

/// The path parameters deserialized as `T`; refused as a JSON 400.
#[derive(Debug)]
pub struct Path<T>(pub T);

impl<T, S> FromRequestParts<S> for Query<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        match axum::extract::Query::<T>::from_request_parts(parts, state).await {
            Ok(axum::extract::Query(value)) => Ok(Query(value)),
            Err(rejection) => Err(ApiError::new(rejection.status(), rejection.body_text())),
        }
    }
}

impl<T, S> FromRequestParts<S> for Path<T>
where
    T: DeserializeOwned + Send,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        match axum::extract::Path::<T>::from_request_parts(parts, state).await {
            Ok(axum::extract::Path(value)) => Ok(Path(value)),
            Err(rejection) => Err(ApiError::new(rejection.status(), rejection.body_text())),
        }
    }
}

/// A JSON request body deserialized as `T`; bad JSON or a body that does not fit `T` is a
/// JSON 400 (a missing content type a 415, too large a body a 413) with axum's explanation.
#[derive(Debug)]
pub struct Json<T>(pub T);

impl<T, S> FromRequest<S> for Json<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, ApiError> {
        match axum::Json::<T>::from_request(req, state).await {
            Ok(axum::Json(value)) => Ok(Json(value)),
            // A body that parses but does not fit (a missing or unknown field, a wrong type)
            // is bad input like any other: a 400, not axum's 422.
            Err(rejection) if rejection.status() == StatusCode::UNPROCESSABLE_ENTITY => Err(
                ApiError::new(StatusCode::BAD_REQUEST, rejection.body_text()),
            ),
            Err(rejection) => Err(ApiError::new(rejection.status(), rejection.body_text())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::Router;
    use axum::body::Body;
    use axum::http::{Request, StatusCode};
    use axum::routing::get;
    use serde::Deserialize;
    use tower::ServiceExt;

    #[derive(Deserialize)]
    struct Params {
        limit: Option<usize>,
    }

    async fn answer(uri: &str) -> (StatusCode, serde_json::Value) {
        let app = Router::new().route(
            "/items/{id}",
            get(|Path(id): Path<u8>, Query(p): Query<Params>| async move {
                format!("{id} {:?}", p.limit)
            }),
        );
        let request = Request::get(uri).body(Body::empty()).expect("request");
        let response = app.oneshot(request).await.expect("infallible");
        let status = response.status();
        let bytes = axum::body::to_bytes(response.into_body(), 1 << 20)
            .await
            .expect("body");
        let json = serde_json::from_slice(&bytes).unwrap_or(serde_json::Value::Null);
        (status, json)
    }

    #[tokio::test]
    async fn rejections_are_json_errors_with_axums_status() {
        for uri in [
            "/items/1?limit=abc",
            "/items/1?limit=-1",
            "/items/1?limit=99999999999999999999",
            "/items/1?limit=1&limit=2",
            "/items/300",
            "/items/%FF",
        ] {
            let (status, body) = answer(uri).await;
            assert_eq!(status, StatusCode::BAD_REQUEST, "{uri}: {body}");
            assert!(body["error"]["message"].is_string(), "{uri}: {body}");
        }
    }
}
