//! Attribute values and spans as the query crate's evaluator sees them: the one reading of a
//! stored value every backend shares.

use tracehouse_model::AttrValue as ModelValue;
use tracehouse_query::{AttrValue, Intrinsic, Scope};

/// Converts a model attribute value to the evaluator's view (non-scalars as JSON text).
pub fn eval_value(v: &ModelValue) -> AttrValue<'_> {
    match v {
        ModelValue::Str(s) => AttrValue::str(s),
        ModelValue::Int(i) => AttrValue::Int(*i),
        ModelValue::Float(f) => AttrValue::Float(*f),
        ModelValue::Bool(b) => AttrValue::Bool(*b),
        other => AttrValue::Str(other.to_json().to_string().into()),
    }
}

/// Decodes a stored attribute value (JSON text) the way spans are read back.
pub fn decode_stored(raw: &str) -> Option<ModelValue> {
    if let Some(inner) = raw.strip_prefix('"').and_then(|r| r.strip_suffix('"'))
        && !inner.contains(['\\', '"'])
    {
        return Some(ModelValue::Str(inner.to_string()));
    }
    // Fast paths with the same result as the JSON decoding below.
    match raw {
        "true" => return Some(ModelValue::Bool(true)),
        "false" => return Some(ModelValue::Bool(false)),
        _ => {}
    }
    if raw.bytes().all(|b| b.is_ascii_digit() || b == b'-')
        && let Ok(i) = raw.parse::<i64>()
    {
        return Some(ModelValue::Int(i));
    }
    let json: serde_json::Value = serde_json::from_str(raw).ok()?;
    Some(ModelValue::from_json(&json))
}

/// A [`tracehouse_query::SpanView`] over a model span, for structure evaluation and as the
/// oracle of the compiled filters.
pub struct SpanRef<'a>(pub &'a tracehouse_model::Span);

impl tracehouse_query::SpanView for SpanRef<'_> {
    fn intrinsic(&self, which: Intrinsic) -> Option<AttrValue<'_>> {
        let s = self.0;
        Some(match which {
            Intrinsic::TraceId => AttrValue::Str(s.trace_id.to_string().into()),
            Intrinsic::SpanId => AttrValue::Str(s.span_id.to_string().into()),
            Intrinsic::ParentSpanId => AttrValue::Str(s.parent_span_id?.to_string().into()),
            Intrinsic::SpanName => AttrValue::str(&s.name),
            Intrinsic::ServiceName => AttrValue::str(&s.service_name),
            Intrinsic::ServiceVersion => AttrValue::str(&s.service_version),
            Intrinsic::Environment => AttrValue::str(&s.environment),
            Intrinsic::StatusMessage => AttrValue::str(&s.status_message),
            Intrinsic::SpanKind => AttrValue::str(s.kind.as_str()),
            Intrinsic::StatusCode => AttrValue::str(match s.status_code.code() {
                1 => "ok",
                2 => "error",
                _ => "unset",
            }),
            Intrinsic::HasErrors => AttrValue::Bool(s.has_error),
            Intrinsic::SessionId => AttrValue::str(s.session_id.as_deref()?),
            Intrinsic::Duration => AttrValue::Int(s.duration_nanos),
            Intrinsic::Timestamp => AttrValue::Int(s.start_time_unix_nano),
            Intrinsic::Severity | Intrinsic::Body => return None,
        })
    }

    fn attribute(&self, scope: Scope, key: &str) -> Option<AttrValue<'_>> {
        let map = match scope {
            Scope::Span => &self.0.attributes,
            Scope::Resource => &self.0.resource_attributes,
            Scope::Instrumentation => &self.0.scope_attributes,
            Scope::Any | Scope::Event | Scope::Link => return None,
        };
        map.get(key).map(eval_value)
    }

    fn attribute_values(&self, scope: Scope, key: &str) -> Vec<AttrValue<'_>> {
        let s = self.0;
        match scope {
            Scope::Event => s
                .events
                .iter()
                .filter_map(|e| e.attributes.get(key))
                .map(eval_value)
                .collect(),
            Scope::Link => s
                .links
                .iter()
                .filter_map(|l| l.attributes.get(key))
                .map(eval_value)
                .collect(),
            Scope::Span | Scope::Resource | Scope::Any | Scope::Instrumentation => Vec::new(),
        }
    }

    fn span_id(&self) -> &[u8] {
        &self.0.span_id.0
    }

    fn parent_span_id(&self) -> Option<&[u8]> {
        self.0.parent_span_id.as_ref().map(|p| &p.0[..])
    }

    fn start_time_ns(&self) -> i64 {
        self.0.start_time_unix_nano
    }

    fn end_time_ns(&self) -> i64 {
        self.0.end_time_unix_nano
    }

    fn duration_ns(&self) -> i64 {
        self.0.duration_nanos
    }
}
