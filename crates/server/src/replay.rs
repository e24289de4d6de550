//! `POST /v1/replay` on the OTLP/HTTP port: chunks of a session recording (rrweb events)
//! from the browser SDK, stored once durable.
//!
//! The wire format: a JSON body, optionally `Content-Encoding: gzip`,
//! `{"session_id": "…", "sequence": 0, "events": [{"type": 4, "timestamp": 1700000000000, …}, …]}`
//! with the project key in `x-tracehouse-key` (or `authorization: Bearer`), a browser key
//! included. `sequence` numbers a session's chunks from 0; a chunk sent again with the same
//! number is stored once. Every event is an object with an integer `type` and a
//! `timestamp` in milliseconds since the epoch (rrweb's shape; the rest is kept as sent).
//! The answer is `200 {"session_id", "sequence", "event_count"}` once the chunk is durable;
//! failures use the JSON API's error body: 400 (malformed, naming what is wrong), 401, 413
//! (over [`MAX_CHUNK_BYTES`] compressed or not, or [`MAX_CHUNK_EVENTS`] events), 415, and
//! 503 with `Retry-After` when the store is overloaded.

use axum::Json;
use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use tracehouse_store_api::ReplayChunk;

use crate::api::ApiError;
use crate::otlp_http::{Failure, HttpState, decompress, read_body};
use crate::projects::request_key;

/// Most bytes of one chunk, compressed or not.
pub const MAX_CHUNK_BYTES: usize = 4 << 20;

/// Most events in one chunk.
pub const MAX_CHUNK_EVENTS: usize = 50_000;

/// Longest session id, in bytes.
const MAX_SESSION_ID_BYTES: usize = 128;

/// The metrics label of the signal.
const SIGNAL: &str = "replay";

/// The body of `POST /v1/replay`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Envelope {
    session_id: String,
    sequence: u32,
    events: Vec<Value>,
}

/// The answer to a stored chunk.
#[derive(Debug, Serialize)]
struct Stored {
    session_id: String,
    sequence: u32,
    event_count: u32,
}

/// Why a chunk is refused: the status and what to tell the sender.
#[derive(Debug, PartialEq)]
struct Refusal(StatusCode, String);

fn malformed(message: String) -> Refusal {
    Refusal(StatusCode::BAD_REQUEST, message)
}

/// An event's time in ns from its `timestamp` (ms since the epoch), checked: not before
/// 1970, not after `latest_ns` (the receiver's clock plus `--max-clock-ahead`).
fn event_time(i: usize, event: &Value, latest_ns: i64) -> Result<i64, Refusal> {
    let obj = event
        .as_object()
        .ok_or_else(|| malformed(format!("events[{i}] is not an object")))?;
    if !obj.get("type").is_some_and(|t| t.is_u64()) {
        return Err(malformed(format!(
            "events[{i}] has no integer \"type\" (an rrweb event type)"
        )));
    }
    let ms = obj
        .get("timestamp")
        .and_then(Value::as_f64)
        .ok_or_else(|| {
            malformed(format!(
                "events[{i}] has no numeric \"timestamp\" (ms since the epoch)"
            ))
        })?;
    // Microseconds are exact in an f64 for any date near now; events are placed to the µs.
    let us = (ms * 1e3).round();
    let latest_us = latest_ns / 1_000;
    if !(0.0..=latest_us as f64).contains(&us) {
        return Err(malformed(format!(
            "events[{i}].timestamp {ms} is before 1970 or further ahead of the receiver's \
             clock than --max-clock-ahead allows: send milliseconds since the epoch"
        )));
    }
    Ok((us as i64).saturating_mul(1_000))
}

/// The stored chunk of a decoded body of `project_id`, or why it is refused.
fn chunk_of(project_id: String, body: &[u8], latest_ns: i64) -> Result<ReplayChunk, Refusal> {
    let env: Envelope = serde_json::from_slice(body).map_err(|e| {
        malformed(format!(
            "invalid replay chunk: {e}; send {{\"session_id\": string, \"sequence\": \
             0 to 4294967295, \"events\": [rrweb events]}}"
        ))
    })?;
    let id = &env.session_id;
    if id.is_empty() || id.len() > MAX_SESSION_ID_BYTES || id.chars().any(char::is_control) {
        return Err(malformed(format!(
            "session_id must be 1 to {MAX_SESSION_ID_BYTES} bytes without control characters"
        )));
    }
    if env.events.is_empty() {
        return Err(malformed("events is empty: send at least one event".into()));
    }
    if env.events.len() > MAX_CHUNK_EVENTS {
        return Err(Refusal(
            StatusCode::PAYLOAD_TOO_LARGE,
            format!(
                "{} events in one chunk, over the limit of {MAX_CHUNK_EVENTS}: send smaller chunks",
                env.events.len()
            ),
        ));
    }
    let mut times = (i64::MAX, i64::MIN);
    for (i, event) in env.events.iter().enumerate() {
        let t = event_time(i, event, latest_ns)?;
        times = (times.0.min(t), times.1.max(t));
    }
    let events = serde_json::to_string(&env.events)
        .map_err(|e| Refusal(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()))?;
    Ok(ReplayChunk {
        project_id,
        session_id: env.session_id,
        sequence: env.sequence,
        start_ns: times.0,
        end_ns: times.1,
        event_count: env.events.len() as u32,
        events,
    })
}

impl From<Failure> for Refusal {
    fn from(f: Failure) -> Refusal {
        Refusal(f.http, f.status.message)
    }
}

/// The metrics reason of a refusal.
fn reason(status: StatusCode) -> &'static str {
    match status {
        StatusCode::PAYLOAD_TOO_LARGE => "too_large",
        StatusCode::REQUEST_TIMEOUT => "timeout",
        StatusCode::BAD_REQUEST => "malformed",
        StatusCode::UNSUPPORTED_MEDIA_TYPE => "unsupported_media_type",
        StatusCode::UNAUTHORIZED => "unauthenticated",
        StatusCode::SERVICE_UNAVAILABLE => "unavailable",
        _ => "store_error",
    }
}

fn is_json(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|ct| ct.split(';').next())
        .is_some_and(|mime| mime.trim().eq_ignore_ascii_case("application/json"))
}

/// Reads, checks and stores one chunk.
async fn store_chunk(
    state: &HttpState,
    headers: &HeaderMap,
    body: Body,
) -> Result<Stored, Refusal> {
    if !is_json(headers) {
        return Err(Refusal(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "Content-Type must be application/json".into(),
        ));
    }
    let project_id = state
        .ingest
        .projects
        .for_write_key(request_key(headers))
        .map_err(|e| Refusal(StatusCode::UNAUTHORIZED, e.to_string()))?;
    let limit = state.max_request_bytes.min(MAX_CHUNK_BYTES);
    let raw = read_body(body, limit, state.body_timeout).await?;
    let plain = decompress(headers, raw, MAX_CHUNK_BYTES)?;
    let latest_ns = crate::time::now_ns().saturating_add(state.ingest.limits.max_ahead_ns);
    let chunk = chunk_of(project_id, &plain, latest_ns)?;
    let stored = Stored {
        session_id: chunk.session_id.clone(),
        sequence: chunk.sequence,
        event_count: chunk.event_count,
    };
    state
        .ingest
        .store
        .write_replay(vec![chunk])
        .await
        .map_err(|e| {
            tracing::warn!(error = %e, "could not store a replay chunk");
            let status = if e.is_retryable() {
                StatusCode::SERVICE_UNAVAILABLE
            } else {
                StatusCode::INTERNAL_SERVER_ERROR
            };
            Refusal(status, e.to_string())
        })?;
    Ok(stored)
}

/// `POST /v1/replay`.
pub(crate) async fn ingest_replay(
    State(state): State<HttpState>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    match store_chunk(&state, &headers, body).await {
        Ok(stored) => {
            state.ingest.metrics.accepted(SIGNAL, "http", 1);
            Json(stored).into_response()
        }
        Err(Refusal(status, message)) => {
            state
                .ingest
                .metrics
                .request_rejected(SIGNAL, reason(status));
            let mut resp = ApiError::new(status, message).into_response();
            if status == StatusCode::SERVICE_UNAVAILABLE {
                resp.headers_mut().insert(
                    header::RETRY_AFTER,
                    HeaderValue::from(state.retry_after_secs),
                );
            }
            resp
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: i64 = 1_700_000_000_000_000_000;

    fn chunk(body: &str) -> Result<ReplayChunk, Refusal> {
        chunk_of(
            "p".into(),
            body.as_bytes(),
            NOW + tracehouse_model::otlp::Limits::default().max_ahead_ns,
        )
    }

    fn refusal(body: &str) -> String {
        let Refusal(status, message) = chunk(body).unwrap_err();
        assert_eq!(status, StatusCode::BAD_REQUEST, "{message}");
        message
    }

    #[test]
    fn a_chunk_keeps_its_events_and_their_time_range() {
        let c = chunk(
            r#"{"session_id":"s-1","sequence":3,"events":[
                {"type":4,"timestamp":1699999999000,"data":{"href":"http://x/"}},
                {"type":3,"timestamp":1699999998500.5,"data":{}}]}"#,
        )
        .unwrap();
        assert_eq!((c.project_id.as_str(), c.session_id.as_str()), ("p", "s-1"));
        assert_eq!((c.sequence, c.event_count), (3, 2));
        assert_eq!(c.start_ns, 1_699_999_998_500_500_000);
        assert_eq!(c.end_ns, 1_699_999_999_000_000_000);
        let events: Vec<Value> = serde_json::from_str(&c.events).unwrap();
        assert_eq!(events[0]["data"]["href"], "http://x/");
    }

    #[test]
    fn malformed_chunks_are_refused_saying_what_is_wrong() {
        let ev = r#"{"type":3,"timestamp":1699999999000}"#;
        let cases = [
            ("not json".to_string(), "invalid replay chunk"),
            (format!(r#"{{"sequence":1,"events":[{ev}]}}"#), "session_id"),
            (format!(r#"{{"session_id":"s","sequence":-1,"events":[{ev}]}}"#), "sequence"),
            (format!(r#"{{"session_id":"s","sequence":1,"events":[{ev}],"x":1}}"#), "unknown field"),
            (format!(r#"{{"session_id":"","sequence":1,"events":[{ev}]}}"#), "1 to 128 bytes"),
            (format!(r#"{{"session_id":"a\nb","sequence":1,"events":[{ev}]}}"#), "control"),
            (r#"{"session_id":"s","sequence":1,"events":[]}"#.into(), "events is empty"),
            (r#"{"session_id":"s","sequence":1,"events":[3]}"#.into(), "events[0] is not an object"),
            (format!(r#"{{"session_id":"s","sequence":1,"events":[{ev},{{"timestamp":1}}]}}"#), "events[1] has no integer \"type\""),
            (r#"{"session_id":"s","sequence":1,"events":[{"type":3,"timestamp":"x"}]}"#.into(), "numeric \"timestamp\""),
            (r#"{"session_id":"s","sequence":1,"events":[{"type":3,"timestamp":-5}]}"#.into(), "before 1970"),
            (r#"{"session_id":"s","sequence":1,"events":[{"type":3,"timestamp":1700009999000}]}"#.into(), "further ahead"),
        ];
        for (body, says) in cases {
            let message = refusal(&body);
            assert!(message.contains(says), "{body}: {message}");
        }
    }

    #[test]
    fn too_many_events_is_too_large() {
        let events = vec![r#"{"type":3,"timestamp":1}"#; MAX_CHUNK_EVENTS + 1].join(",");
        let body = format!(r#"{{"session_id":"s","sequence":0,"events":[{events}]}}"#);
        let Refusal(status, _) = chunk(&body).unwrap_err();
        assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
    }
}
