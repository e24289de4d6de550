//! What a TraceQL field names: attributes by scope and the intrinsics, mapped to the
//! plan's [`Field`]s; the ones the plan cannot read are refused by name.

use super::lexer::AttrScope;
use crate::error::ParseError;
use crate::plan::{Field, Intrinsic, Scope};

/// A field as a TraceQL query names it.
#[derive(Debug, Clone, PartialEq)]
pub(super) enum FieldRef {
    /// A field every span has a value of.
    Span(Field),
    /// A trace-level field read from the trace's root span (`trace:rootName`,
    /// `trace:rootService`): the root span's own field.
    Root(Intrinsic),
    /// `nestedSetParent`: -1 for a root span, a positive number for any other; only
    /// comparisons that tell roots from the rest are answered.
    NestedSetParent,
}

impl FieldRef {
    /// The plan field a span-level reference reads.
    pub(super) fn span_field(&self) -> Option<&Field> {
        match self {
            FieldRef::Span(f) => Some(f),
            FieldRef::Root(_) | FieldRef::NestedSetParent => None,
        }
    }
}

/// The field an attribute token names. `service.name` of the resource is the span's
/// service (the model keeps it as a built-in field).
pub(super) fn attribute(scope: AttrScope, name: &str) -> FieldRef {
    let scope = match scope {
        AttrScope::Unscoped => Scope::Any,
        AttrScope::Span => Scope::Span,
        AttrScope::Resource => Scope::Resource,
        AttrScope::Event => Scope::Event,
        AttrScope::Link => Scope::Link,
        AttrScope::Instrumentation => Scope::Instrumentation,
    };
    if name == "service.name" && matches!(scope, Scope::Any | Scope::Resource) {
        return FieldRef::Span(Field::Intrinsic(Intrinsic::ServiceName));
    }
    FieldRef::Span(Field::Attr {
        scope,
        key: name.to_string(),
    })
}

/// The field an unscoped intrinsic word names (`duration`, `rootName`, …), `None` for a
/// word that is no intrinsic.
pub(super) fn unscoped_intrinsic(
    word: &str,
    start: usize,
    end: usize,
) -> Option<Result<FieldRef, ParseError>> {
    let span = |i| Ok(FieldRef::Span(Field::Intrinsic(i)));
    Some(match word {
        "name" => span(Intrinsic::SpanName),
        "status" => span(Intrinsic::StatusCode),
        "statusMessage" => span(Intrinsic::StatusMessage),
        "kind" => span(Intrinsic::SpanKind),
        "duration" => span(Intrinsic::Duration),
        "rootName" => Ok(FieldRef::Root(Intrinsic::SpanName)),
        "rootServiceName" => Ok(FieldRef::Root(Intrinsic::ServiceName)),
        "nestedSetParent" => Ok(FieldRef::NestedSetParent),
        "traceDuration" | "childCount" | "nestedSetLeft" | "nestedSetRight" => {
            Err(unsupported(word, start, end))
        }
        _ => return None,
    })
}

/// The field a scoped intrinsic (`span:duration`, `trace:rootName`, …) names.
pub(super) fn scoped_intrinsic(
    scope: &str,
    name: &str,
    start: usize,
    end: usize,
) -> Result<FieldRef, ParseError> {
    let span = |i| Ok(FieldRef::Span(Field::Intrinsic(i)));
    match (scope, name) {
        ("span", "name") => span(Intrinsic::SpanName),
        ("span", "status") => span(Intrinsic::StatusCode),
        ("span", "statusMessage") => span(Intrinsic::StatusMessage),
        ("span", "kind") => span(Intrinsic::SpanKind),
        ("span", "duration") => span(Intrinsic::Duration),
        ("span", "id") => span(Intrinsic::SpanId),
        ("span", "parentID") => span(Intrinsic::ParentSpanId),
        ("trace", "id") => span(Intrinsic::TraceId),
        ("trace", "rootName") => Ok(FieldRef::Root(Intrinsic::SpanName)),
        ("trace", "rootService") => Ok(FieldRef::Root(Intrinsic::ServiceName)),
        ("span", "childCount")
        | ("trace", "duration")
        | ("event", "name" | "timeSinceStart")
        | ("link", "traceID" | "spanID")
        | ("instrumentation", "name" | "version") => {
            Err(unsupported(&format!("{scope}:{name}"), start, end))
        }
        _ => Err(ParseError::new(
            format!("`{scope}:{name}` is not a TraceQL intrinsic"),
            start,
            end,
        )
        .expecting([
            "span:name",
            "span:status",
            "span:statusMessage",
            "span:kind",
            "span:duration",
            "span:id",
            "span:parentID",
            "trace:id",
            "trace:rootName",
            "trace:rootService",
        ])),
    }
}

fn unsupported(what: &str, start: usize, end: usize) -> ParseError {
    ParseError::new(
        format!("the intrinsic `{what}` is not supported by tracehouse"),
        start,
        end,
    )
}
