//! `GET /api/traces/{id}` (OTLP `TracesData`) and `GET /api/v2/traces/{id}` (Tempo's
//! `TraceByIDResponse`): protobuf when the request accepts `application/protobuf`, else
//! JSON (`{"resourceSpans": …}` and `{"trace": {"resourceSpans": …}}`). `start`/`end` are
//! checked; the trace is found whatever its time, so the answer is never partial.

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, header};
use axum::response::{IntoResponse, Response};
use opentelemetry_proto::tonic::trace::v1::TracesData;
use prost::Message;
use serde::Deserialize;
use serde_json::json;

use super::super::otlp_out::resource_spans;
use super::super::tempopb::{PartialStatus, Trace, TraceByIdResponse};
use super::params::{trace_id, window};
use super::{TextError, project};
use crate::api::ApiState;

const PROTOBUF: &str = "application/protobuf";

/// The optional window of a trace-by-id request, in Unix seconds.
#[derive(Debug, Deserialize)]
pub(super) struct TraceParams {
    start: Option<String>,
    end: Option<String>,
}

/// The trace asked for, as OTLP, or a 404.
async fn trace_data(
    state: &ApiState,
    headers: &HeaderMap,
    id_text: &str,
    p: &TraceParams,
) -> Result<TracesData, TextError> {
    let project = project(state, headers)?;
    let id = trace_id(id_text)?;
    window(p.start.as_deref(), p.end.as_deref())?;
    let spans = state.store.trace(&project, id).await?;
    if spans.is_empty() {
        return Err(TextError::not_found(format!("trace not found: {id}")));
    }
    Ok(TracesData {
        resource_spans: resource_spans(&spans),
    })
}

fn wants_protobuf(headers: &HeaderMap) -> bool {
    headers
        .get_all(header::ACCEPT)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .any(|v| v.contains(PROTOBUF))
}

fn protobuf(body: Vec<u8>) -> Response {
    ([(header::CONTENT_TYPE, PROTOBUF)], body).into_response()
}

/// `GET /api/traces/{id}`.
pub(super) async fn trace_v1(
    State(state): State<ApiState>,
    headers: HeaderMap,
    Path(id): Path<String>,
    Query(p): Query<TraceParams>,
) -> Result<Response, TextError> {
    let data = trace_data(&state, &headers, &id, &p).await?;
    Ok(if wants_protobuf(&headers) {
        protobuf(data.encode_to_vec())
    } else {
        Json(data).into_response()
    })
}

/// `GET /api/v2/traces/{id}`.
pub(super) async fn trace_v2(
    State(state): State<ApiState>,
    headers: HeaderMap,
    Path(id): Path<String>,
    Query(p): Query<TraceParams>,
) -> Result<Response, TextError> {
    let data = trace_data(&state, &headers, &id, &p).await?;
    Ok(if wants_protobuf(&headers) {
        let answer = TraceByIdResponse {
            trace: Some(Trace {
                resource_spans: data.resource_spans,
            }),
            status: PartialStatus::Complete.into(),
            message: String::new(),
        };
        protobuf(answer.encode_to_vec())
    } else {
        Json(json!({ "trace": data })).into_response()
    })
}
