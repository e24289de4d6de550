//! The critical path of a trace, by Jaeger UI's definition, as sections of spans.
//!
//! For each root, the spans that block it are kept: a child is dropped with its subtree when
//! its parent does not wait for it (a FOLLOWS_FROM child, linked to its parent with
//! `opentracing.ref_type = follows_from`, or a consumer under a producer), and children are
//! clipped to their parent as already clipped: a child starting at or after its parent's end,
//! or ending at or before its start, is dropped; one running past either edge is cut there.
//! Then the walk starts at the root's end: the child that finished last is critical from its
//! end, the parent's time after it is critical, and the walk goes down into that child. A
//! span without such a child is critical back to its start, and the walk returns to its
//! parent at that start, looking for a child that finished strictly before it.

use std::cmp::Reverse;
use std::collections::HashMap;

use serde::Serialize;
use tracehouse_model::{AttrValue, SpanId, SpanKind};
use utoipa::ToSchema;

use crate::tree::Tree;

/// A stretch of one span's time on the critical path.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct CriticalSection {
    /// The span's index in the trace's `spans` (which tells apart spans sharing an id).
    pub span_index: usize,
    /// The span's id.
    pub span_id: SpanId,
    /// Start of the section, ns since the Unix epoch.
    pub start_unix_nano: i64,
    /// End of the section, ns since the Unix epoch (after `start_unix_nano`).
    pub end_unix_nano: i64,
}

/// The critical path of every root of the tree, roots by start time, each root's sections in
/// time order.
pub fn critical_path(tree: &Tree) -> Vec<CriticalSection> {
    let mut out = Vec::new();
    for &root in tree.roots() {
        let from = out.len();
        Walk::new(tree, root).run(&mut out);
        out[from..].reverse();
    }
    out
}

/// A child its parent does not wait for.
fn is_async(tree: &Tree, child: usize, parent: usize) -> bool {
    let (c, p) = (tree.span(child), tree.span(parent));
    let consumer_of_producer = p.kind == SpanKind::Producer && c.kind == SpanKind::Consumer;
    let follows_from = c.links.iter().any(|l| {
        l.trace_id == c.trace_id
            && l.span_id == p.span_id
            && matches!(l.attributes.get("opentracing.ref_type"),
                Some(AttrValue::Str(t)) if t.eq_ignore_ascii_case("follows_from"))
    });
    consumer_of_producer || follows_from
}

/// `child` clipped to its parent's clipped `(start, end)`; `None` when it falls outside.
fn clip(child: (i64, i64), parent: (i64, i64)) -> Option<(i64, i64)> {
    let ((cs, ce), (ps, pe)) = (child, parent);
    let outside = if cs >= ps { cs >= pe } else { ce <= ps };
    (!outside).then(|| (cs.max(ps), ce.min(pe)))
}

/// The walk over one root's blocking spans.
struct Walk<'t, 'a> {
    tree: &'t Tree<'a>,
    root: usize,
    /// Clipped times of the spans kept.
    time: HashMap<usize, (i64, i64)>,
    /// Kept children, last-finishing first (ties by start), and how many are used up.
    kids: HashMap<usize, (Vec<usize>, usize)>,
}

impl<'t, 'a> Walk<'t, 'a> {
    fn new(tree: &'t Tree<'a>, root: usize) -> Self {
        let s = tree.span(root);
        let mut time = HashMap::from([(root, (s.start_time_unix_nano, s.end_time_unix_nano))]);
        let mut kids = HashMap::new();
        let mut stack = vec![root];
        while let Some(p) = stack.pop() {
            let pt = time[&p];
            let mut kept = Vec::new();
            for &c in tree.children(p) {
                let cs = tree.span(c);
                let own = (cs.start_time_unix_nano, cs.end_time_unix_nano);
                if is_async(tree, c, p) {
                    continue;
                }
                if let Some(t) = clip(own, pt) {
                    time.insert(c, t);
                    kept.push(c);
                }
            }
            kept.sort_by_key(|c| Reverse(time[c].1));
            stack.extend(&kept);
            kids.insert(p, (kept, 0));
        }
        Walk {
            tree,
            root,
            time,
            kids,
        }
    }

    /// The child of `span` that finished last, strictly before `before` when given.
    fn last_finishing(&mut self, span: usize, before: Option<i64>) -> Option<usize> {
        let (list, used) = self.kids.get_mut(&span)?;
        if let Some(before) = before {
            while *used < list.len() && self.time[&list[*used]].1 >= before {
                *used += 1;
            }
        }
        list.get(*used).copied()
    }

    /// Appends the sections, latest first.
    fn run(mut self, out: &mut Vec<CriticalSection>) {
        let mut span = self.root;
        let mut returning: Option<i64> = None;
        loop {
            let (start, end) = self.time[&span];
            let until = returning.unwrap_or(end);
            match self.last_finishing(span, returning) {
                Some(child) => {
                    self.push(out, span, self.time[&child].1, until);
                    span = child;
                    returning = None;
                }
                None => {
                    self.push(out, span, start, until);
                    match self.tree.parent(span) {
                        Some(parent) if span != self.root => {
                            span = parent;
                            returning = Some(start);
                        }
                        _ => break,
                    }
                }
            }
        }
    }

    fn push(&self, out: &mut Vec<CriticalSection>, span: usize, start: i64, end: i64) {
        if start != end {
            out.push(CriticalSection {
                span_index: span,
                span_id: self.tree.span(span).span_id,
                start_unix_nano: start,
                end_unix_nano: end,
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use tracehouse_model::Span;

    use super::*;
    use crate::testkit::{SpanExt, child, root};

    /// The path as (span index, start, end).
    fn path(spans: &[Span]) -> Vec<(usize, i64, i64)> {
        critical_path(&Tree::new(spans))
            .into_iter()
            .map(|s| (s.span_index, s.start_unix_nano, s.end_unix_nano))
            .collect()
    }

    #[test]
    fn walks_back_from_the_last_finishing_child() {
        let spans = vec![
            root(1, 0, 100),
            child(2, 1, 10, 20),
            child(3, 1, 40, 45),
            child(4, 1, 20, 15),
        ];
        // From 100: 3 ends last (85); back at its start (40) the last child ending before 40
        // is 4 (35); back at 20 no child ended before: the root back to its start.
        assert_eq!(
            path(&spans),
            vec![
                (0, 0, 20),
                (3, 20, 35),
                (0, 35, 40),
                (2, 40, 85),
                (0, 85, 100)
            ]
        );
    }

    #[test]
    fn overflowing_children_are_clipped_to_the_parent() {
        let spans = vec![
            root(1, 0, 100),
            child(2, 1, 60, 80),  // past the end: 60..100
            child(3, 1, -20, 50), // before the start: 0..30
            child(4, 3, 25, 40),  // to its clipped parent: 25..30
        ];
        assert_eq!(
            path(&spans),
            vec![(2, 0, 25), (3, 25, 30), (0, 30, 60), (1, 60, 100)]
        );
    }

    #[test]
    fn children_outside_the_parent_are_dropped_with_their_subtrees() {
        let spans = vec![
            root(1, 0, 100),
            child(2, 1, 100, 50), // starts at the end
            child(3, 2, 110, 10),
            child(4, 1, 120, 0),  // zero-duration after the end
            child(5, 1, -50, 50), // ends at the start
            child(6, 1, 20, 30),
        ];
        assert_eq!(path(&spans), vec![(0, 0, 20), (5, 20, 50), (0, 50, 100)]);
    }

    #[test]
    fn a_consumer_under_a_producer_does_not_block() {
        let spans = vec![
            root(1, 0, 100).kind(SpanKind::Server),
            child(2, 1, 10, 10).kind(SpanKind::Producer),
            child(3, 2, 30, 60).kind(SpanKind::Consumer),
            child(4, 3, 40, 10),
        ];
        assert_eq!(path(&spans), vec![(0, 0, 10), (1, 10, 20), (0, 20, 100)]);
        // A consumer under anything but a producer is waited for.
        let spans = vec![
            root(1, 0, 100).kind(SpanKind::Server),
            child(2, 1, 30, 60).kind(SpanKind::Consumer),
        ];
        assert_eq!(path(&spans), vec![(0, 0, 30), (1, 30, 90), (0, 90, 100)]);
    }

    #[test]
    fn a_follows_from_child_does_not_block() {
        let spans = vec![
            root(1, 0, 100),
            child(2, 1, 10, 80).follows_from(),
            child(3, 2, 20, 60),
            child(4, 1, 10, 20),
        ];
        assert_eq!(path(&spans), vec![(0, 0, 10), (3, 10, 30), (0, 30, 100)]);
    }

    #[test]
    fn zero_duration_spans_add_no_sections() {
        // The zero-duration child ends with 3 at 50 and loses the tie to the earlier start.
        let spans = vec![root(1, 0, 100), child(2, 1, 50, 0), child(3, 1, 10, 40)];
        assert_eq!(path(&spans), vec![(0, 0, 10), (2, 10, 50), (0, 50, 100)]);
        // Alone it splits its parent's time without a section of its own.
        let spans = vec![root(1, 0, 100), child(2, 1, 40, 0)];
        assert_eq!(path(&spans), vec![(0, 0, 40), (0, 40, 100)]);
        assert_eq!(path(&[root(1, 5, 0)]), vec![]);
    }

    #[test]
    fn every_root_has_its_own_path() {
        let spans = vec![root(1, 0, 100), child(2, 9, 200, 30), child(3, 2, 205, 10)];
        assert_eq!(
            path(&spans),
            vec![(0, 0, 100), (1, 200, 205), (2, 205, 215), (1, 215, 230)]
        );
    }

    #[test]
    fn a_deep_trace_is_walked_without_recursion() {
        let depth = 100_000;
        let mut spans = vec![root(1, 0, 2 * depth)];
        spans.extend(
            (2..=depth as u64).map(|i| child(i, i - 1, i as i64, 2 * depth - 2 * i as i64)),
        );
        let path = critical_path(&Tree::new(&spans));
        // Two sections of every span but the innermost, which lasts no time.
        assert_eq!(path.len(), 2 * (depth as usize - 1));
        assert_eq!(path[0].start_unix_nano, 0);
        assert_eq!(path.last().map(|s| s.end_unix_nano), Some(2 * depth));
    }
}
