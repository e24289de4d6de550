//! `POST /api/v2/spans` on the OTLP/HTTP port: Zipkin v2 spans as JSON (`application/json`,
//! also assumed when no type is given) or proto3 (`application/x-protobuf`), optionally
//! gzipped, within the same body limits as OTLP.
//!
//! Spans are taken or refused one by one: `202 Accepted` when at least one span of a
//! non-empty batch was stored (durably) or the batch was empty, with a text body listing the
//! refused spans if any; `400` when the body is not a list of spans or every span was
//! refused; `401`, `413`, `415`, `503` (with `Retry-After`) as for OTLP/HTTP. Error bodies are
//! plain text, as Zipkin's are.

use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use prost::Message;

use super::to_otlp::convert;
use super::wire::{JsonSpan, ListOfSpans};
use crate::otlp_http::{Failure, HttpState, decompress, ingest_failure, read_body};
use crate::projects::key_from_headers;

/// The body encodings Zipkin's collector accepts over HTTP.
enum Encoding {
    Json,
    Proto,
}

fn encoding_of(headers: &HeaderMap) -> Result<Encoding, Failure> {
    let Some(ct) = headers.get(header::CONTENT_TYPE) else {
        return Ok(Encoding::Json);
    };
    let mime = ct
        .to_str()
        .unwrap_or("")
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    match mime.as_str() {
        "application/json" | "" => Ok(Encoding::Json),
        "application/x-protobuf" | "application/protobuf" => Ok(Encoding::Proto),
        other => Err(Failure::invalid(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            format!(
                "Content-Type {other:?} is not a Zipkin v2 encoding: send application/json \
                 or application/x-protobuf"
            ),
        )),
    }
}

/// The spans of a body, each decoded on its own so one malformed span refuses only itself.
fn decode(encoding: Encoding, body: &[u8]) -> Result<Vec<Result<JsonSpan, String>>, Failure> {
    match encoding {
        Encoding::Json => {
            let items: Vec<serde_json::Value> = serde_json::from_slice(body).map_err(|e| {
                Failure::invalid(
                    StatusCode::BAD_REQUEST,
                    format!("expected a JSON array of Zipkin v2 spans (ListOfSpans): {e}"),
                )
            })?;
            Ok(items
                .into_iter()
                .map(|v| serde_json::from_value(v).map_err(|e| e.to_string()))
                .collect())
        }
        Encoding::Proto => {
            let list = ListOfSpans::decode(body).map_err(|e| {
                Failure::invalid(
                    StatusCode::BAD_REQUEST,
                    format!("invalid protobuf zipkin.proto3.ListOfSpans: {e}"),
                )
            })?;
            Ok(list.spans.into_iter().map(|s| Ok(s.into_json())).collect())
        }
    }
}

/// What became of a batch.
struct Outcome {
    /// Spans in the batch.
    total: usize,
    /// Spans refused, by the Zipkin decoding or by the OTLP path.
    refused: u64,
    /// Why (the OTLP path's message summarises its refusals).
    reasons: Vec<String>,
}

/// Stores the batch's valid spans.
async fn store(state: &HttpState, headers: &HeaderMap, body: Body) -> Result<Outcome, Failure> {
    let encoding = encoding_of(headers)?;
    let raw = read_body(body, state.max_request_bytes, state.body_timeout).await?;
    let plain = decompress(headers, raw, state.max_request_bytes)?;
    let decoded = decode(encoding, &plain)?;
    let total = decoded.len();
    let mut reasons = Vec::new();
    let mut spans = Vec::with_capacity(total);
    for (i, d) in decoded.into_iter().enumerate() {
        match d {
            Ok(span) => spans.push(span),
            Err(why) => reasons.push(format!("span {i}: {why}")),
        }
    }
    let converted = convert(spans);
    reasons.extend(converted.rejected);
    let mut refused = reasons.len() as u64;
    let key = key_from_headers(
        headers
            .get("x-tracehouse-key")
            .and_then(|v| v.to_str().ok()),
        headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok()),
    );
    let answer = state
        .ingest
        .export(converted.request, key, "zipkin")
        .await
        .map_err(|e| ingest_failure(&e, state.retry_after_secs))?;
    state.ingest.metrics.rejected("traces", "invalid", refused);
    if let Some(partial) = answer.partial_success.filter(|p| p.rejected_spans > 0) {
        refused += u64::try_from(partial.rejected_spans).unwrap_or(0);
        reasons.push(partial.error_message);
    }
    Ok(Outcome {
        total,
        refused,
        reasons,
    })
}

/// `POST /api/v2/spans`.
pub(crate) async fn post_spans(
    State(state): State<HttpState>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    match store(&state, &headers, body).await {
        Ok(o) if o.refused == 0 => StatusCode::ACCEPTED.into_response(),
        Ok(o) => {
            let stored = (o.total as u64).saturating_sub(o.refused);
            let status = if stored == 0 {
                StatusCode::BAD_REQUEST
            } else {
                StatusCode::ACCEPTED
            };
            (
                status,
                [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
                format!(
                    "stored {stored} of {} spans; refused {}: {}",
                    o.total,
                    o.refused,
                    o.reasons.join("; ")
                ),
            )
                .into_response()
        }
        Err(f) => {
            state.ingest.metrics.request_rejected("traces", f.reason());
            f.into_plain_response()
        }
    }
}
