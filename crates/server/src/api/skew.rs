//! Clock-skew adjustment of a trace on read, in the manner of Jaeger's adjuster: spans of
//! one trace are timed by the clocks of different hosts, so a server child can appear to
//! start before its client parent or to end after it. Where a child runs on another host
//! (the resource's `host.name`, else its service) and does not fit within its parent, it is
//! moved: centred in its parent when it is shorter (the network time split evenly between
//! request and response), aligned with the parent's start when it is longer. Its
//! descendants on its own host move with it. Only the answer changes; stored spans do not.

use tracehouse_analysis::Tree;
use tracehouse_model::Span;

/// The clock a span was timed by: its resource's `host.name`, else its service.
fn host_of(span: &Span) -> String {
    span.resource_attributes
        .get("host.name")
        .map(|h| h.as_text())
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| span.service_name.clone())
}

/// The shift that puts `child` (as stored) within `parent` (as already adjusted).
fn shift_into(child: &Span, parent: &Span) -> i64 {
    let (ps, pe) = (parent.start_time_unix_nano, parent.end_time_unix_nano);
    let (cs, ce) = (child.start_time_unix_nano, child.end_time_unix_nano);
    let (pd, cd) = (pe.saturating_sub(ps), ce.saturating_sub(cs));
    if cd > pd {
        // Longer than its parent: the best one can do is start together.
        return if cs < ps { ps - cs } else { 0 };
    }
    if cs >= ps && ce <= pe {
        return 0;
    }
    ps.saturating_add((pd - cd) / 2).saturating_sub(cs)
}

fn shift(span: &mut Span, by: i64) {
    span.start_time_unix_nano = span.start_time_unix_nano.saturating_add(by);
    span.end_time_unix_nano = span.end_time_unix_nano.saturating_add(by);
    for e in &mut span.events {
        e.time_unix_nano = e.time_unix_nano.saturating_add(by);
    }
}

/// Adjusts the spans of one trace for clock skew; returns the shift applied to each span
/// (0 for most). Parents are the trace view's ([`Tree`]): a Zipkin server half goes under the
/// client half sharing its id, so it is moved into its client as Jaeger moves it; spans
/// whose parent is missing are roots and stay where they are.
pub fn adjust(spans: &mut [Span]) -> Vec<i64> {
    let (order, parents): (Vec<usize>, Vec<Option<usize>>) = {
        let tree = Tree::new(spans);
        let parents = (0..spans.len()).map(|i| tree.parent(i)).collect();
        (tree.depth_first().to_vec(), parents)
    };
    let hosts: Vec<String> = spans.iter().map(host_of).collect();
    let mut shifts = vec![0i64; spans.len()];
    // Parents come first: a child is measured against its parent as already moved, and
    // one on its parent's host moves with it.
    for i in order {
        let by = match parents[i] {
            Some(p) if hosts[p] != hosts[i] => shift_into(&spans[i], &spans[p]),
            Some(p) => shifts[p],
            None => 0,
        };
        if by != 0 {
            shift(&mut spans[i], by);
            shifts[i] = by;
        }
    }
    shifts
}

#[cfg(test)]
mod tests {
    use super::*;
    use tracehouse_model::{AttrValue, SpanId, TraceId};
    use tracehouse_store_api::testsuite::testkit;

    fn span(id: u8, parent: Option<u8>, host: &str, start: i64, end: i64) -> Span {
        let mut s = testkit::span(TraceId([1; 16]), SpanId([id; 8]), start, end - start);
        s.parent_span_id = parent.map(|p| SpanId([p; 8]));
        std::sync::Arc::make_mut(&mut s.resource_attributes)
            .insert("host.name".into(), AttrValue::Str(host.into()));
        s
    }

    fn times(spans: &[Span]) -> Vec<(i64, i64)> {
        spans
            .iter()
            .map(|s| (s.start_time_unix_nano, s.end_time_unix_nano))
            .collect()
    }

    #[test]
    fn a_child_on_another_host_moves_into_its_parent_with_its_own_subtree() {
        let mut spans = vec![
            span(1, None, "a", 1000, 2000),
            // Starts 500 before its parent on a skewed clock; its child shares its host.
            span(2, Some(1), "b", 500, 1300),
            span(3, Some(2), "b", 600, 700),
            // Fits: untouched, as is a child on the parent's own host.
            span(4, Some(1), "c", 1100, 1200),
            span(5, Some(1), "a", 100, 200),
        ];
        let shifts = adjust(&mut spans);
        // 800 long in a 1000 parent: 100 of network time each way.
        assert_eq!(shifts, [0, 600, 600, 0, 0]);
        assert_eq!(
            times(&spans),
            [
                (1000, 2000),
                (1100, 1900),
                (1200, 1300),
                (1100, 1200),
                (100, 200)
            ]
        );
    }

    #[test]
    fn a_zipkin_server_half_moves_into_its_client_half() {
        let mut client = span(2, Some(1), "web", 1100, 1600);
        client.kind = tracehouse_model::SpanKind::Client;
        // The server half shares the client's id and parent, timed 20 early by its host.
        let mut server = span(2, Some(1), "pay", 1080, 1530);
        server.kind = tracehouse_model::SpanKind::Server;
        let mut spans = vec![
            span(1, None, "web", 1000, 1900),
            server,
            client,
            span(3, Some(2), "pay", 1090, 1100),
        ];
        // Centred in its client (450 in 500: 25 each way), with its own child.
        assert_eq!(adjust(&mut spans), [0, 45, 0, 45]);
    }

    #[test]
    fn longer_children_start_with_their_parent_and_cycles_end() {
        let mut spans = vec![
            span(1, None, "a", 1000, 1100),
            span(2, Some(1), "b", 900, 1500),
            span(3, Some(1), "b", 1050, 1500),
        ];
        assert_eq!(adjust(&mut spans), [0, 100, 0]);
        // A cycle is broken where the trace view breaks it, at its first span.
        let mut cycle = vec![span(1, Some(2), "a", 0, 10), span(2, Some(1), "b", 50, 60)];
        assert_eq!(adjust(&mut cycle), [0, -50]);
        // Without host names the service is the clock.
        let mut by_service = vec![span(1, None, "", 1000, 2000), span(2, Some(1), "", 0, 100)];
        by_service[1].service_name = "other".into();
        assert_eq!(adjust(&mut by_service), [0, 1450]);
    }
}
