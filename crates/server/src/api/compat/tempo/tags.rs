//! Tag names and values: `GET /api/search/tags` (`{"tagNames": […]}`) and
//! `/api/v2/search/tags` (`{"scopes": [{"name", "tags"}]}`), both with `scope=` (`span`,
//! `resource`, `intrinsic`; none or `all` for every scope, v1 leaving out intrinsics), and
//! `GET /api/search/tag/{tag}/values` (`{"tagValues": ["…"]}`, `tag` an attribute name) and
//! `/api/v2/search/tag/{tag}/values` (`{"tagValues": [{"type", "value"}]}`, `tag` a TraceQL
//! identifier such as `.service.name` or `status`). All from the key and value statistics
//! kept at ingest, over `start`/`end` (Unix seconds, default the last hour).

use std::collections::BTreeSet;

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::HeaderMap;
use serde::Deserialize;
use serde_json::{Value, json};
use tracehouse_query::plan::IntrinsicKind;
use tracehouse_query::{Field, Scope, Target, traceql};
use tracehouse_store_api::{KeyScope, KeysQuery, ValuesQuery};

use super::params::window;
use super::{TextError, project};
use crate::api::ApiState;

/// Most tag names or values one answer lists.
const MAX_TAGS: usize = 1000;

/// The TraceQL intrinsics tracehouse answers, as the `intrinsic` scope lists them.
const INTRINSICS: [&str; 7] = [
    "duration",
    "kind",
    "name",
    "rootName",
    "rootServiceName",
    "status",
    "statusMessage",
];

/// The scopes a request may ask for.
const SCOPES: [&str; 3] = ["span", "resource", "intrinsic"];

/// `scope`, `start` and `end`.
#[derive(Debug, Deserialize)]
pub(super) struct TagParams {
    scope: Option<String>,
    start: Option<String>,
    end: Option<String>,
}

/// Tag names by scope, in the order of [`SCOPES`] (only the asked one, if one is).
async fn scoped_tags(
    state: &ApiState,
    headers: &HeaderMap,
    p: &TagParams,
) -> Result<Vec<(&'static str, Vec<String>)>, TextError> {
    let project = project(state, headers)?;
    let asked = match p.scope.as_deref().unwrap_or("") {
        "" | "all" | "none" => None,
        s => Some(SCOPES.into_iter().find(|x| *x == s).ok_or_else(|| {
            TextError::bad_request(format!(
                "invalid scope {s:?}: expected span, resource, intrinsic or all"
            ))
        })?),
    };
    let (start_ns, end_ns) = window(p.start.as_deref(), p.end.as_deref())?;
    let keys = state
        .store
        .keys(&KeysQuery {
            project_id: project,
            target: Target::Spans,
            start_ns,
            end_ns,
            prefix: String::new(),
            limit: MAX_TAGS,
        })
        .await?;
    let of_scope = |scope: KeyScope, prefix: &str| -> Vec<String> {
        let names: BTreeSet<String> = keys
            .iter()
            .filter(|k| k.scope == scope)
            .map(|k| k.key.strip_prefix(prefix).unwrap_or(&k.key).to_string())
            .collect();
        names.into_iter().collect()
    };
    Ok(SCOPES
        .into_iter()
        .filter(|s| asked.is_none_or(|a| a == *s))
        .map(|s| {
            let tags = match s {
                "span" => of_scope(KeyScope::Span, "span."),
                "resource" => of_scope(KeyScope::Resource, "resource."),
                _ => INTRINSICS.iter().map(|i| (*i).to_string()).collect(),
            };
            (s, tags)
        })
        .collect())
}

/// `GET /api/search/tags`.
pub(super) async fn tags_v1(
    State(state): State<ApiState>,
    headers: HeaderMap,
    Query(p): Query<TagParams>,
) -> Result<Json<Value>, TextError> {
    let all = p
        .scope
        .as_deref()
        .is_none_or(|s| matches!(s, "" | "all" | "none"));
    let names: BTreeSet<String> = scoped_tags(&state, &headers, &p)
        .await?
        .into_iter()
        .filter(|(scope, _)| !(all && *scope == "intrinsic"))
        .flat_map(|(_, tags)| tags)
        .collect();
    Ok(Json(json!({ "tagNames": names })))
}

/// `GET /api/v2/search/tags`.
pub(super) async fn tags_v2(
    State(state): State<ApiState>,
    headers: HeaderMap,
    Query(p): Query<TagParams>,
) -> Result<Json<Value>, TextError> {
    let scopes: Vec<Value> = scoped_tags(&state, &headers, &p)
        .await?
        .into_iter()
        .map(|(name, tags)| json!({ "name": name, "tags": tags }))
        .collect();
    Ok(Json(json!({ "scopes": scopes })))
}

/// `start` and `end` of a values request.
#[derive(Debug, Deserialize)]
pub(super) struct ValueParams {
    start: Option<String>,
    end: Option<String>,
}

async fn values_of(
    state: &ApiState,
    headers: &HeaderMap,
    field: Field,
    p: &ValueParams,
) -> Result<Vec<String>, TextError> {
    let project = project(state, headers)?;
    let (start_ns, end_ns) = window(p.start.as_deref(), p.end.as_deref())?;
    let values = state
        .store
        .values(&ValuesQuery {
            project_id: project,
            target: Target::Spans,
            field,
            start_ns,
            end_ns,
            prefix: String::new(),
            limit: MAX_TAGS,
        })
        .await?;
    Ok(values.into_iter().map(|v| v.value).collect())
}

/// `GET /api/search/tag/{tag}/values`: `tag` is an attribute name (either scope).
pub(super) async fn values_v1(
    State(state): State<ApiState>,
    headers: HeaderMap,
    Path(tag): Path<String>,
    Query(p): Query<ValueParams>,
) -> Result<Json<Value>, TextError> {
    let quoted = format!(".\"{}\"", tag.replace('\\', "\\\\").replace('"', "\\\""));
    let field = traceql::parse_field(&quoted).unwrap_or(Field::Attr {
        scope: Scope::Any,
        key: tag,
    });
    let values = values_of(&state, &headers, field, &p).await?;
    Ok(Json(json!({ "tagValues": values })))
}

/// `GET /api/v2/search/tag/{tag}/values`: `tag` is a TraceQL identifier.
pub(super) async fn values_v2(
    State(state): State<ApiState>,
    headers: HeaderMap,
    Path(tag): Path<String>,
    Query(p): Query<ValueParams>,
) -> Result<Json<Value>, TextError> {
    let field = traceql::parse_field(&tag).map_err(|e| {
        TextError::bad_request(format!(
            "invalid tag {tag:?}: {} at bytes {}..{}",
            e.message, e.start, e.end
        ))
    })?;
    let fixed_type = match &field {
        Field::Intrinsic(i) => match i.kind() {
            IntrinsicKind::Status | IntrinsicKind::Kind => Some("keyword"),
            IntrinsicKind::Duration => Some("duration"),
            _ => Some("string"),
        },
        Field::Attr { .. } => None,
    };
    let values: Vec<Value> = values_of(&state, &headers, field, &p)
        .await?
        .into_iter()
        .map(|v| {
            let t = fixed_type.unwrap_or_else(|| value_type(&v));
            json!({ "type": t, "value": v })
        })
        .collect();
    Ok(Json(json!({ "tagValues": values })))
}

/// The TraceQL type a stored attribute value reads as (statistics keep values as text).
fn value_type(text: &str) -> &'static str {
    if text.parse::<i64>().is_ok() {
        "int"
    } else if text.parse::<f64>().is_ok_and(f64::is_finite) {
        "float"
    } else if text == "true" || text == "false" {
        "bool"
    } else {
        "string"
    }
}
