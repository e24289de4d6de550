//! Hand-built spans for the unit tests.

use tracehouse_model::{AttrValue, Link, Span, SpanId, SpanKind, TraceId};
use tracehouse_store_api::testsuite::testkit;

/// The span id numbered `n` (from 1).
pub fn sid(n: u64) -> SpanId {
    SpanId(n.to_be_bytes())
}

/// A root span `id` of service `svc` named `op`, from `start` for `duration` ns.
pub fn root(id: u64, start: i64, duration: i64) -> Span {
    testkit::span(TraceId([7; 16]), sid(id), start, duration)
}

/// A span `id` under `parent`, from `start` for `duration` ns.
pub fn child(id: u64, parent: u64, start: i64, duration: i64) -> Span {
    Span {
        parent_span_id: Some(sid(parent)),
        ..root(id, start, duration)
    }
}

/// Changes to a hand-built span.
pub trait SpanExt {
    /// With this kind.
    fn kind(self, kind: SpanKind) -> Span;
    /// With this service and name.
    fn named(self, service: &str, name: &str) -> Span;
    /// With this span attribute.
    fn attr(self, key: &str, value: &str) -> Span;
    /// Linked to its parent as OpenTracing's FOLLOWS_FROM reference.
    fn follows_from(self) -> Span;
}

impl SpanExt for Span {
    fn kind(self, kind: SpanKind) -> Span {
        Span { kind, ..self }
    }

    fn named(self, service: &str, name: &str) -> Span {
        Span {
            service_name: service.into(),
            name: name.into(),
            ..self
        }
    }

    fn attr(mut self, key: &str, value: &str) -> Span {
        self.attributes
            .insert(key.into(), AttrValue::Str(value.into()));
        self
    }

    fn follows_from(mut self) -> Span {
        #[allow(clippy::expect_used, reason = "test spans built with a parent")]
        let parent = self.parent_span_id.expect("a child span");
        self.links.push(Link {
            trace_id: self.trace_id,
            span_id: parent,
            trace_state: String::new(),
            attributes: [(
                "opentracing.ref_type".to_string(),
                AttrValue::Str("follows_from".into()),
            )]
            .into(),
            dropped_attributes_count: 0,
        });
        self
    }
}
