//! Content fingerprints of spans: two spans get the same fingerprint exactly when every
//! field is equal (up to a 128-bit hash collision), so a store can recognise a span that was
//! delivered again (an exporter resending a batch whose acknowledgement it did not see) and
//! tell it apart from a different span that only shares its ids.

use std::cell::RefCell;

use twox_hash::XxHash3_128;

use crate::attr::{AttrValue, Attributes, SharedAttributes};
use crate::span::{Event, Link, Span};

/// Capacity above which the per-thread buffer of [`span_fingerprint`] is not kept.
const KEPT_BUFFER_BYTES: usize = 1 << 20;

thread_local! {
    /// The bytes of the span being fingerprinted, reused from span to span.
    static BUFFER: RefCell<Vec<u8>> = const { RefCell::new(Vec::new()) };
    /// The resource attributes of the last span fingerprinted (kept alive, so that their
    /// address is not reused) and their bytes: the spans of one resource share one map,
    /// laid out once for all of them.
    static RESOURCE: RefCell<Option<(SharedAttributes, Vec<u8>)>> = const { RefCell::new(None) };
}

/// A span's content fingerprint: an XXH3-128 over every field, each length-prefixed or
/// tagged so that different contents never feed the same bytes.
///
/// The fields are laid out in a reused buffer and hashed in one pass (XXH3 of the whole
/// equals the streaming hash fed the same bytes piece by piece, which cost a buffered
/// copy per 8-byte piece).
pub fn span_fingerprint(span: &Span) -> u128 {
    BUFFER.with_borrow_mut(|buffer| {
        buffer.clear();
        feed_span(&mut Feed(buffer), span);
        let print = XxHash3_128::oneshot(buffer);
        if buffer.capacity() > KEPT_BUFFER_BYTES {
            *buffer = Vec::new();
        }
        print
    })
}

fn feed_span(f: &mut Feed, span: &Span) {
    let Span {
        project_id,
        trace_id,
        span_id,
        parent_span_id,
        trace_state,
        name,
        kind,
        start_time_unix_nano,
        end_time_unix_nano,
        duration_nanos,
        status_code,
        status_message,
        service_name,
        service_version,
        environment,
        scope_name,
        scope_version,
        scope_attributes,
        session_id,
        attributes,
        resource_attributes,
        events,
        links,
        has_error,
        dropped_attributes_count,
        dropped_events_count,
        dropped_links_count,
    } = span;
    f.str(project_id);
    f.bytes(&trace_id.0);
    f.bytes(&span_id.0);
    match parent_span_id {
        Some(p) => f.bytes(&p.0),
        None => f.u64(u64::MAX),
    }
    for s in [
        trace_state,
        name,
        status_message,
        service_name,
        service_version,
    ] {
        f.str(s);
    }
    for s in [environment, scope_name, scope_version] {
        f.str(s);
    }
    f.u64(*kind as u64);
    f.u64(*status_code as u64);
    for n in [start_time_unix_nano, end_time_unix_nano, duration_nanos] {
        f.u64(*n as u64);
    }
    match session_id {
        Some(s) => f.str(s),
        None => f.u64(u64::MAX),
    }
    for a in [scope_attributes, attributes] {
        f.attrs(a);
    }
    f.shared_attrs(resource_attributes);
    f.u64(events.len() as u64);
    events.iter().for_each(|e| f.event(e));
    f.u64(links.len() as u64);
    links.iter().for_each(|l| f.link(l));
    f.u64(u64::from(*has_error));
    for n in [
        dropped_attributes_count,
        dropped_events_count,
        dropped_links_count,
    ] {
        f.u64(u64::from(*n));
    }
}

/// The bytes hashed, laid out field by field.
struct Feed<'a>(&'a mut Vec<u8>);

impl Feed<'_> {
    fn u64(&mut self, v: u64) {
        self.0.extend_from_slice(&v.to_le_bytes());
    }

    fn bytes(&mut self, b: &[u8]) {
        self.u64(b.len() as u64);
        self.0.extend_from_slice(b);
    }

    fn str(&mut self, s: &str) {
        self.bytes(s.as_bytes());
    }

    fn attrs(&mut self, attrs: &Attributes) {
        self.u64(attrs.len() as u64);
        for (k, v) in attrs {
            self.str(k);
            self.value(v);
        }
    }

    /// Feeds a shared map as [`Feed::attrs`] does, copying the bytes of the previous span's
    /// when it is the same map.
    fn shared_attrs(&mut self, attrs: &SharedAttributes) {
        RESOURCE.with_borrow_mut(|last| match last {
            Some((map, bytes)) if SharedAttributes::ptr_eq(map, attrs) => {
                self.0.extend_from_slice(bytes);
            }
            _ => {
                let start = self.0.len();
                self.attrs(attrs);
                *last = Some((attrs.clone(), self.0[start..].to_vec()));
            }
        });
    }

    fn value(&mut self, v: &AttrValue) {
        match v {
            AttrValue::Str(s) => {
                self.u64(0);
                self.str(s);
            }
            AttrValue::Int(i) => {
                self.u64(1);
                self.u64(*i as u64);
            }
            AttrValue::Float(x) => {
                self.u64(2);
                self.u64(x.to_bits());
            }
            AttrValue::Bool(b) => {
                self.u64(3);
                self.u64(u64::from(*b));
            }
            AttrValue::Bytes(b) => {
                self.u64(4);
                self.bytes(b);
            }
            AttrValue::Array(values) => {
                self.u64(5);
                self.u64(values.len() as u64);
                values.iter().for_each(|v| self.value(v));
            }
            AttrValue::Map(entries) => {
                self.u64(6);
                self.u64(entries.len() as u64);
                for (k, v) in entries {
                    self.str(k);
                    self.value(v);
                }
            }
        }
    }

    fn event(&mut self, e: &Event) {
        self.u64(e.time_unix_nano as u64);
        self.str(&e.name);
        self.attrs(&e.attributes);
        self.u64(u64::from(e.dropped_attributes_count));
    }

    fn link(&mut self, l: &Link) {
        self.bytes(&l.trace_id.0);
        self.bytes(&l.span_id.0);
        self.str(&l.trace_state);
        self.attrs(&l.attributes);
        self.u64(u64::from(l.dropped_attributes_count));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ids::{SpanId, TraceId};
    use crate::span::{SpanKind, StatusCode};

    fn span() -> Span {
        Span {
            project_id: "p".into(),
            trace_id: TraceId([1; 16]),
            span_id: SpanId([2; 8]),
            parent_span_id: None,
            trace_state: String::new(),
            name: "GET /".into(),
            kind: SpanKind::Client,
            start_time_unix_nano: 10,
            end_time_unix_nano: 20,
            duration_nanos: 10,
            status_code: StatusCode::Unset,
            status_message: String::new(),
            service_name: "shop".into(),
            service_version: String::new(),
            environment: String::new(),
            scope_name: String::new(),
            scope_version: String::new(),
            scope_attributes: Attributes::new(),
            session_id: None,
            attributes: [("k".to_string(), AttrValue::Str("v".into()))].into(),
            resource_attributes: Default::default(),
            events: Vec::new(),
            links: Vec::new(),
            has_error: false,
            dropped_attributes_count: 0,
            dropped_events_count: 0,
            dropped_links_count: 0,
        }
    }

    #[test]
    fn fingerprints_do_not_change_between_versions() {
        // The one-pass hash of the laid-out fields is the streaming hash the first
        // implementation fed them to: this span's value is the one that implementation gave.
        let mut s = span();
        s.events.push(Event {
            time_unix_nano: 5,
            name: "e".into(),
            attributes: [("n".to_string(), AttrValue::Int(3))].into(),
            dropped_attributes_count: 1,
        });
        assert_eq!(
            span_fingerprint(&s),
            0xfce5edcf86b2de846ec5ed211e99b474,
            "{:#x}",
            span_fingerprint(&s)
        );
    }

    #[test]
    fn equal_spans_share_a_fingerprint_and_any_difference_changes_it() {
        let a = span();
        assert_eq!(span_fingerprint(&a), span_fingerprint(&a.clone()));
        let mut changes: Vec<Span> = Vec::new();
        let mut b = a.clone();
        b.kind = SpanKind::Server;
        changes.push(b);
        let mut b = a.clone();
        b.attributes.insert("k".into(), AttrValue::Int(1));
        changes.push(b);
        let mut b = a.clone();
        b.resource_attributes = a.attributes.clone().into();
        changes.push(b);
        let mut b = a.clone();
        b.project_id = "q".into();
        changes.push(b);
        let mut b = a.clone();
        b.events.push(Event {
            time_unix_nano: 15,
            name: "e".into(),
            attributes: Attributes::new(),
            dropped_attributes_count: 0,
        });
        changes.push(b);
        let mut b = a.clone();
        b.parent_span_id = Some(SpanId([3; 8]));
        changes.push(b);
        for b in &changes {
            assert_ne!(span_fingerprint(&a), span_fingerprint(b), "{b:?}");
        }
    }

    #[test]
    fn a_shared_resource_map_feeds_the_same_bytes_as_a_copy_of_it() {
        let resource = |service: &str| -> SharedAttributes {
            [("service.name".to_string(), AttrValue::Str(service.into()))]
                .into_iter()
                .collect::<Attributes>()
                .into()
        };
        let (shop, cart) = (resource("shop"), resource("cart"));
        let of = |r: &SharedAttributes| {
            let mut s = span();
            s.resource_attributes = r.clone();
            span_fingerprint(&s)
        };
        let (first, again) = (of(&shop), of(&shop));
        assert_eq!(first, again, "the map laid out anew and copied");
        assert_eq!(first, of(&resource("shop")), "an equal map elsewhere");
        assert_ne!(first, of(&cart));
        assert_eq!(of(&shop), first, "after another map");
    }

    #[test]
    fn moving_text_between_fields_changes_it() {
        let mut a = span();
        a.name = "ab".into();
        a.status_message = String::new();
        let mut b = span();
        b.name = "a".into();
        b.status_message = "b".into();
        assert_ne!(span_fingerprint(&a), span_fingerprint(&b));
    }
}
