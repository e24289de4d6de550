//! `GET /api/search`: TraceQL (`q`) or the legacy tag search (`tags` in logfmt,
//! `minDuration`/`maxDuration` on the trace's duration), `limit` traces (default 20),
//! `spss` spans per span set (default 3), `start`/`end` in Unix seconds. The answer has
//! Tempo's shape: `traces[]` with `traceID` (hex without leading zeros),
//! `rootServiceName`, `rootTraceName`, `startTimeUnixNano` (a string), `durationMs`,
//! `spanSets[]` (and the older `spanSet`) of matched spans with the attributes the query
//! reads or selects and `matched`, and `serviceStats`; then `metrics`.

use std::collections::BTreeMap;

use axum::Json;
use axum::extract::{Query, State};
use axum::http::HeaderMap;
use serde::Deserialize;
use serde_json::{Value, json};
use tracehouse_model::{AttrValue, Span};
use tracehouse_query::lexer::{DurationLit, parse_duration};
use tracehouse_query::{Field, Filter, Intrinsic, Pattern, Plan, Scope, traceql};
use tracehouse_store_api::{MAX_SEARCH_LIMIT, SearchQuery, SearchSort, TraceSummary};

use super::super::otlp_out::key_value;
use super::params::{count, trace_id_text, window};
use super::{TextError, project};
use crate::api::ApiState;

const DEFAULT_LIMIT: usize = 20;
const DEFAULT_SPSS: usize = 3;
const MAX_SPSS: usize = 1000;

/// The parameters of a search, as Tempo names them.
#[derive(Debug, Deserialize)]
pub(super) struct SearchParams {
    q: Option<String>,
    tags: Option<String>,
    #[serde(rename = "minDuration")]
    min_duration: Option<String>,
    #[serde(rename = "maxDuration")]
    max_duration: Option<String>,
    limit: Option<String>,
    spss: Option<String>,
    start: Option<String>,
    end: Option<String>,
}

/// `GET /api/search`.
pub(super) async fn search(
    State(state): State<ApiState>,
    headers: HeaderMap,
    Query(p): Query<SearchParams>,
) -> Result<Json<Value>, TextError> {
    let project = project(&state, &headers)?;
    let limit = count("limit", p.limit.as_deref(), DEFAULT_LIMIT, MAX_SEARCH_LIMIT)?;
    let spss = count("spss", p.spss.as_deref(), DEFAULT_SPSS, MAX_SPSS)?;
    let (start_ns, end_ns) = window(p.start.as_deref(), p.end.as_deref())?;
    let min = go_duration("minDuration", p.min_duration.as_deref())?;
    let max = go_duration("maxDuration", p.max_duration.as_deref())?;
    let (plan, select) = match p.q.as_deref().map(str::trim).filter(|q| !q.is_empty()) {
        Some(q) => {
            let parsed = traceql::parse(q).map_err(|e| TextError::query(&e))?;
            (parsed.plan, parsed.select)
        }
        None => (tags_plan(p.tags.as_deref().unwrap_or(""))?, Vec::new()),
    };
    let by_duration = min.is_some() || max.is_some();
    let query = SearchQuery {
        project_id: project.clone(),
        plan,
        start_ns,
        end_ns,
        sort: SearchSort::TimeDesc,
        sort_key: None,
        // the trace duration is known only per result: filter a full page
        limit: if by_duration { MAX_SEARCH_LIMIT } else { limit },
        cursor: None,
    };
    let page = state.store.search_traces(&query).await?;
    let traces: Vec<&TraceSummary> = page
        .traces
        .iter()
        .filter(|t| {
            min.is_none_or(|m| t.duration_ns >= m) && max.is_none_or(|m| t.duration_ns <= m)
        })
        .take(limit)
        .collect();
    let ids: Vec<_> = traces.iter().map(|t| t.trace_id).collect();
    let spans = super::super::read_traces(&state, &project, &ids).await?;
    let shown = shown_fields(&query.plan, &select);
    let traces: Vec<Value> = traces
        .iter()
        .zip(&spans)
        .map(|(t, spans)| trace_json(t, spans, &shown, spss))
        .collect();
    Ok(Json(json!({
        "traces": traces,
        "metrics": { "completedJobs": 1, "totalJobs": 1 },
    })))
}

/// A Go duration (`300ms`, `1.5s`, `1h30m`) in ns.
fn go_duration(name: &str, text: Option<&str>) -> Result<Option<i64>, TextError> {
    match text.map(str::trim).filter(|t| !t.is_empty()) {
        None => Ok(None),
        Some(t) => match parse_duration(t) {
            DurationLit::Nanos(ns) => Ok(Some(ns)),
            _ => Err(TextError::bad_request(format!(
                "invalid {name} {t:?}: expected a duration such as 100ms or 1.5s"
            ))),
        },
    }
}

/// The legacy tag search: every `key=value` pair of the logfmt text holds on one span,
/// the value matched as a case-insensitive substring (`service.name` is the service,
/// `name` the span name, other keys span or resource attributes).
fn tags_plan(text: &str) -> Result<Plan, TextError> {
    let filters = logfmt(text)?
        .into_iter()
        .map(|(key, value)| {
            let field = match key.as_str() {
                "service.name" => Field::Intrinsic(Intrinsic::ServiceName),
                "name" => Field::Intrinsic(Intrinsic::SpanName),
                _ => Field::Attr {
                    scope: Scope::Any,
                    key,
                },
            };
            Filter::Match {
                field,
                pattern: Pattern::Substring(value),
            }
        })
        .collect();
    Ok(Plan {
        pushdown: Filter::And(filters).simplify(),
        structure: None,
    })
}

/// `key=value key="quoted value"` pairs.
fn logfmt(text: &str) -> Result<Vec<(String, String)>, TextError> {
    let bad = |why: &str| TextError::bad_request(format!("invalid tags {text:?}: {why}"));
    let mut out = Vec::new();
    let mut rest = text.trim_start();
    while !rest.is_empty() {
        let (key, after) = rest
            .split_once('=')
            .ok_or_else(|| bad("expected key=value pairs"))?;
        if key.is_empty() || key.contains(char::is_whitespace) {
            return Err(bad("expected key=value pairs"));
        }
        let (value, after) = if let Some(quoted) = after.strip_prefix('"') {
            let mut value = String::new();
            let mut chars = quoted.char_indices();
            let mut end = None;
            while let Some((i, c)) = chars.next() {
                match c {
                    '"' => {
                        end = Some(i + 1);
                        break;
                    }
                    '\\' => value.extend(chars.next().map(|(_, c)| c)),
                    c => value.push(c),
                }
            }
            let end = end.ok_or_else(|| bad("unterminated quote"))?;
            (value, &quoted[end..])
        } else {
            let end = after.find(char::is_whitespace).unwrap_or(after.len());
            (after[..end].to_string(), &after[end..])
        };
        out.push((key.to_string(), value));
        rest = after.trim_start();
    }
    Ok(out)
}

/// The fields whose values matched spans show: those the query reads and those it
/// selects, except the ones every span entry has anyway (name, times, ids).
fn shown_fields(plan: &Plan, select: &[Field]) -> Vec<Field> {
    let mut fields = Vec::new();
    plan.pushdown.collect_fields(&mut fields);
    if let Some(s) = &plan.structure {
        fields.extend(s.fields());
    }
    fields.extend(select);
    let mut out: Vec<Field> = Vec::new();
    for f in fields {
        let own = matches!(
            f,
            Field::Intrinsic(
                Intrinsic::SpanName
                    | Intrinsic::Duration
                    | Intrinsic::Timestamp
                    | Intrinsic::TraceId
                    | Intrinsic::SpanId
                    | Intrinsic::ParentSpanId
            )
        );
        if !own && !out.contains(f) {
            out.push(f.clone());
        }
    }
    out
}

/// The name and value of a field on a span, when it has one.
fn field_value(span: &Span, field: &Field) -> Option<(String, AttrValue)> {
    let text = |s: &str| Some(AttrValue::Str(s.to_string()));
    let (name, value) = match field {
        Field::Intrinsic(i) => {
            let value = match i {
                Intrinsic::StatusCode => text(span.status_code.as_str()),
                Intrinsic::SpanKind => text(span.kind.as_str()),
                Intrinsic::StatusMessage => text(&span.status_message),
                Intrinsic::ServiceName => text(&span.service_name),
                Intrinsic::ServiceVersion => text(&span.service_version),
                Intrinsic::Environment => text(&span.environment),
                _ => None,
            };
            let name = match i {
                Intrinsic::StatusCode => "status",
                Intrinsic::SpanKind => "kind",
                Intrinsic::StatusMessage => "statusMessage",
                Intrinsic::ServiceName => "service.name",
                Intrinsic::ServiceVersion => "service.version",
                other => other.name(),
            };
            (name.to_string(), value)
        }
        Field::Attr { scope, key } => {
            let first = |maps: Vec<&tracehouse_model::Attributes>| {
                maps.into_iter().find_map(|m| m.get(key)).cloned()
            };
            let value = match scope {
                Scope::Span => span.attributes.get(key).cloned(),
                Scope::Resource => span.resource_attributes.get(key).cloned(),
                Scope::Any => first(vec![&span.attributes, &span.resource_attributes]),
                Scope::Event => first(span.events.iter().map(|e| &e.attributes).collect()),
                Scope::Link => first(span.links.iter().map(|l| &l.attributes).collect()),
                Scope::Instrumentation => span.scope_attributes.get(key).cloned(),
            };
            (key.clone(), value)
        }
    };
    Some((name, value?))
}

fn span_json(span: &Span, shown: &[Field]) -> Value {
    let attributes: Vec<Value> = shown
        .iter()
        .filter_map(|f| field_value(span, f))
        .map(|(k, v)| serde_json::to_value(key_value(&k, &v)).unwrap_or(Value::Null))
        .collect();
    json!({
        "spanID": span.span_id.to_string(),
        "name": span.name,
        "startTimeUnixNano": span.start_time_unix_nano.to_string(),
        "durationNanos": span.duration_nanos.to_string(),
        "attributes": attributes,
    })
}

fn trace_json(t: &TraceSummary, spans: &[Span], shown: &[Field], spss: usize) -> Value {
    let mut matched: Vec<&Span> = spans
        .iter()
        .filter(|s| t.matched_span_ids.contains(&s.span_id))
        .collect();
    matched.sort_by_key(|s| (s.start_time_unix_nano, s.span_id));
    let span_set = json!({
        "spans": matched.iter().take(spss).map(|s| span_json(s, shown)).collect::<Vec<_>>(),
        "matched": t.matched_span_ids.len(),
    });
    let mut stats: BTreeMap<&str, (u64, u64)> = BTreeMap::new();
    for s in spans {
        let entry = stats.entry(&s.service_name).or_default();
        entry.0 += 1;
        entry.1 += u64::from(s.has_error);
    }
    let service_stats: serde_json::Map<String, Value> = stats
        .into_iter()
        .map(|(svc, (spans, errors))| {
            let mut stat = json!({ "spanCount": spans });
            if errors > 0 {
                stat["errorCount"] = json!(errors);
            }
            (svc.to_string(), stat)
        })
        .collect();
    json!({
        "traceID": trace_id_text(t.trace_id),
        "rootServiceName": t.root_service,
        "rootTraceName": t.root_name,
        "startTimeUnixNano": t.start_ns.to_string(),
        "durationMs": t.duration_ns / 1_000_000,
        "spanSet": span_set,
        "spanSets": [span_set],
        "serviceStats": service_stats,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn logfmt_pairs_with_quotes() {
        let pairs = logfmt(r#" service.name=cart  http.url="/api/x y" a=\"b "#).ok();
        assert_eq!(
            pairs,
            Some(vec![
                ("service.name".into(), "cart".into()),
                ("http.url".into(), "/api/x y".into()),
                ("a".into(), "\\\"b".into()),
            ])
        );
        assert!(logfmt("novalue").is_err());
        assert!(logfmt(r#"a="open"#).is_err());
        assert_eq!(logfmt("").ok(), Some(Vec::new()));
    }

    #[test]
    fn go_durations() {
        assert_eq!(
            go_duration("d", Some("1.5s")).ok(),
            Some(Some(1_500_000_000))
        );
        assert_eq!(go_duration("d", None).ok(), Some(None));
        assert!(go_duration("d", Some("fast")).is_err());
    }
}
