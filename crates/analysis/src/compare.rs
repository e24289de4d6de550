//! Comparison of two traces: spans aligned by their path of (service, name) from the root.
//! Among the children of two aligned spans (and among the two traces' roots), the k-th span
//! of a given (service, name) in one trace, by start time, is aligned with the k-th of the
//! same (service, name) in the other; what is left over is a subtree only one trace has.

use std::collections::{HashMap, HashSet, VecDeque};

use serde::Serialize;
use utoipa::ToSchema;

use crate::stats::self_times;
use crate::tree::Tree;

/// Which traces a row's span is in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Presence {
    /// In both traces.
    Both,
    /// Only in `b`: added.
    Added,
    /// Only in `a`: missing from `b`.
    Missing,
}

/// One side of a row: the span in one of the traces.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct CompareSide {
    /// The span's index in that trace's `spans` (as the trace route answers them).
    pub span_index: usize,
    /// Start, ns after that trace's start.
    pub start_offset_ns: i64,
    /// Duration, ns.
    pub duration_ns: i64,
    /// Self time (not waiting on any child), ns.
    pub self_ns: i64,
}

/// One row of the aligned trees, in depth-first order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct CompareRow {
    /// Depth in the aligned tree (0 for a root).
    pub depth: usize,
    /// The service of the span(s).
    pub service: String,
    /// The name of the span(s).
    pub name: String,
    /// Which traces the span is in.
    pub presence: Presence,
    /// The first span of a subtree only one trace has (its descendants follow, deeper).
    pub subtree_root: bool,
    /// The span in trace `a`.
    #[schema(required = true)]
    pub a: Option<CompareSide>,
    /// The span in trace `b`.
    #[schema(required = true)]
    pub b: Option<CompareSide>,
    /// `b`'s duration minus `a`'s, ns, when in both.
    #[schema(required = true)]
    pub duration_diff_ns: Option<i64>,
    /// `b`'s self time minus `a`'s, ns, when in both.
    #[schema(required = true)]
    pub self_diff_ns: Option<i64>,
}

/// The alignment of two traces.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct TraceComparison {
    /// Duration of trace `a` (earliest start to latest end), ns.
    pub a_duration_ns: i64,
    /// Duration of trace `b`, ns.
    pub b_duration_ns: i64,
    /// Subtrees only `b` has.
    pub added_subtrees: usize,
    /// Subtrees only `a` has.
    pub missing_subtrees: usize,
    /// The aligned trees, depth first; children by start (in `b` when aligned).
    pub rows: Vec<CompareRow>,
}

/// One trace with what the comparison reads of it.
struct Side<'t, 'a> {
    tree: &'t Tree<'a>,
    selfs: Vec<i64>,
    start: i64,
    duration: i64,
}

impl<'t, 'a> Side<'t, 'a> {
    fn new(tree: &'t Tree<'a>) -> Self {
        let spans = tree.spans();
        let start = spans
            .iter()
            .map(|s| s.start_time_unix_nano)
            .min()
            .unwrap_or(0);
        let end = spans
            .iter()
            .map(|s| s.end_time_unix_nano)
            .max()
            .unwrap_or(0);
        Side {
            tree,
            selfs: self_times(tree),
            start,
            duration: (end - start).max(0),
        }
    }

    fn side(&self, i: usize) -> CompareSide {
        let s = self.tree.span(i);
        CompareSide {
            span_index: i,
            start_offset_ns: s.start_time_unix_nano - self.start,
            duration_ns: s.duration_nanos,
            self_ns: self.selfs[i],
        }
    }

    fn key(&self, i: usize) -> (&'a str, &'a str) {
        let s = self.tree.span(i);
        (s.service_name.as_str(), s.name.as_str())
    }

    /// Start of span `i` relative to its parent's start (to its trace's start for a root).
    fn offset(&self, i: usize) -> i64 {
        let parent_start = self
            .tree
            .parent(i)
            .map_or(self.start, |p| self.tree.span(p).start_time_unix_nano);
        self.tree.span(i).start_time_unix_nano - parent_start
    }
}

/// A pair to emit: a span of `a`, of `b`, or of both, at a depth, and whether it starts a
/// one-sided subtree.
type Pair = (Option<usize>, Option<usize>, usize, bool);

/// Aligns trace `b` with trace `a`.
pub fn compare(a: &Tree, b: &Tree) -> TraceComparison {
    let (sa, sb) = (Side::new(a), Side::new(b));
    let mut out = TraceComparison {
        a_duration_ns: sa.duration,
        b_duration_ns: sb.duration,
        added_subtrees: 0,
        missing_subtrees: 0,
        rows: Vec::with_capacity(a.spans().len().max(b.spans().len())),
    };
    let mut stack: Vec<Pair> = align(&sa, &sb, a.roots(), b.roots(), 0, false);
    stack.reverse();
    while let Some((ia, ib, depth, top)) = stack.pop() {
        let row = row(&sa, &sb, ia, ib, depth, top);
        match (row.presence, top) {
            (Presence::Added, true) => out.added_subtrees += 1,
            (Presence::Missing, true) => out.missing_subtrees += 1,
            _ => {}
        }
        out.rows.push(row);
        let kids_a = ia.map_or(&[][..], |i| a.children(i));
        let kids_b = ib.map_or(&[][..], |i| b.children(i));
        let one_sided = ia.is_none() || ib.is_none();
        let mut next = align(&sa, &sb, kids_a, kids_b, depth + 1, one_sided);
        next.reverse();
        stack.extend(next);
    }
    out
}

/// Pairs the spans of `a` and `b` among siblings (the k-th of a key with the k-th), ordered
/// by their start relative to their parent (`b`'s when paired). Inside a one-sided subtree
/// nothing starts a new subtree.
fn align(
    sa: &Side,
    sb: &Side,
    kids_a: &[usize],
    kids_b: &[usize],
    depth: usize,
    inside_one_sided: bool,
) -> Vec<Pair> {
    let mut unpaired: HashMap<(&str, &str), VecDeque<usize>> = HashMap::new();
    for &i in kids_a {
        unpaired.entry(sa.key(i)).or_default().push_back(i);
    }
    let mut pairs: Vec<(i64, Pair)> = Vec::with_capacity(kids_a.len().max(kids_b.len()));
    let mut paired = HashSet::new();
    for &j in kids_b {
        let partner = unpaired.get_mut(&sb.key(j)).and_then(|q| q.pop_front());
        paired.extend(partner);
        let top = partner.is_none() && !inside_one_sided;
        pairs.push((sb.offset(j), (partner, Some(j), depth, top)));
    }
    for &i in kids_a {
        if !paired.contains(&i) {
            pairs.push((sa.offset(i), (Some(i), None, depth, !inside_one_sided)));
        }
    }
    pairs.sort_by_key(|(offset, _)| *offset);
    pairs.into_iter().map(|(_, p)| p).collect()
}

fn row(
    sa: &Side,
    sb: &Side,
    ia: Option<usize>,
    ib: Option<usize>,
    depth: usize,
    top: bool,
) -> CompareRow {
    let a = ia.map(|i| sa.side(i));
    let b = ib.map(|i| sb.side(i));
    let (service, name) = match (ia, ib) {
        (_, Some(j)) => sb.key(j),
        (Some(i), None) => sa.key(i),
        (None, None) => ("", ""),
    };
    let presence = match (&a, &b) {
        (Some(_), Some(_)) => Presence::Both,
        (None, _) => Presence::Added,
        (Some(_), None) => Presence::Missing,
    };
    let diff = |f: fn(&CompareSide) -> i64| a.as_ref().zip(b.as_ref()).map(|(a, b)| f(b) - f(a));
    CompareRow {
        depth,
        service: service.to_string(),
        name: name.to_string(),
        presence,
        subtree_root: top && presence != Presence::Both,
        duration_diff_ns: diff(|s| s.duration_ns),
        self_diff_ns: diff(|s| s.self_ns),
        a,
        b,
    }
}

#[cfg(test)]
mod tests {
    use tracehouse_model::Span;

    use super::*;
    use crate::testkit::{SpanExt, child, root};

    const MS: i64 = 1_000_000;

    fn ms(id: u64, parent: Option<u64>, service: &str, name: &str, start: i64, end: i64) -> Span {
        let s = match parent {
            Some(p) => child(id, p, start * MS, (end - start) * MS),
            None => root(id, start * MS, (end - start) * MS),
        };
        s.named(service, name)
    }

    /// A checkout: two calls, each with a database statement.
    fn normal() -> Vec<Span> {
        vec![
            ms(1, None, "web", "GET /checkout", 0, 100),
            ms(2, Some(1), "api", "charge", 10, 40),
            ms(3, Some(2), "db", "INSERT", 15, 35),
            ms(4, Some(1), "api", "load cart", 50, 90),
            ms(5, Some(4), "db", "SELECT", 55, 85),
        ]
    }

    /// The same checkout with the charge retried and a database call 30 ms slower; every
    /// other span keeps its own time.
    fn slow() -> Vec<Span> {
        vec![
            ms(11, None, "web", "GET /checkout", 0, 150),
            ms(12, Some(11), "api", "charge", 10, 40),
            ms(13, Some(12), "db", "INSERT", 15, 35),
            ms(16, Some(11), "api", "charge", 40, 60),
            ms(17, Some(16), "db", "INSERT", 45, 55),
            ms(14, Some(11), "api", "load cart", 70, 140),
            ms(15, Some(14), "db", "SELECT", 75, 135),
        ]
    }

    fn rows_of(c: &TraceComparison) -> Vec<(usize, &str, Presence, bool)> {
        c.rows
            .iter()
            .map(|r| (r.depth, r.name.as_str(), r.presence, r.subtree_root))
            .collect()
    }

    #[test]
    fn reports_the_retry_and_the_slower_call_and_nothing_else() {
        let (a, b) = (normal(), slow());
        let c = compare(&Tree::new(&a), &Tree::new(&b));
        assert_eq!((c.a_duration_ns, c.b_duration_ns), (100 * MS, 150 * MS));
        assert_eq!((c.added_subtrees, c.missing_subtrees), (1, 0));
        assert_eq!(
            rows_of(&c),
            vec![
                (0, "GET /checkout", Presence::Both, false),
                (1, "charge", Presence::Both, false),
                (2, "INSERT", Presence::Both, false),
                (1, "charge", Presence::Added, true),
                (2, "INSERT", Presence::Added, false),
                (1, "load cart", Presence::Both, false),
                (2, "SELECT", Presence::Both, false),
            ]
        );
        let own: Vec<_> = c
            .rows
            .iter()
            .filter(|r| r.self_diff_ns.is_some_and(|d| d != 0))
            .map(|r| (r.name.as_str(), r.self_diff_ns))
            .collect();
        assert_eq!(
            own,
            [("SELECT", Some(30 * MS))],
            "only the database call is slower"
        );
        let longer: Vec<_> = c
            .rows
            .iter()
            .filter(|r| r.duration_diff_ns.is_some_and(|d| d != 0))
            .map(|r| (r.name.as_str(), r.duration_diff_ns))
            .collect();
        assert_eq!(
            longer,
            [
                ("GET /checkout", Some(50 * MS)),
                ("load cart", Some(30 * MS)),
                ("SELECT", Some(30 * MS)),
            ]
        );
        // Sides name the spans by index, with offsets from their own trace's start.
        let added = &c.rows[3];
        assert_eq!(added.a, None);
        assert_eq!(
            added.b,
            Some(CompareSide {
                span_index: 3,
                start_offset_ns: 40 * MS,
                duration_ns: 20 * MS,
                self_ns: 10 * MS
            })
        );
    }

    #[test]
    fn the_other_way_round_the_retry_is_missing() {
        let (a, b) = (slow(), normal());
        let c = compare(&Tree::new(&a), &Tree::new(&b));
        assert_eq!((c.added_subtrees, c.missing_subtrees), (0, 1));
        let missing: Vec<_> = c
            .rows
            .iter()
            .filter(|r| r.presence == Presence::Missing)
            .map(|r| (r.depth, r.name.as_str(), r.subtree_root))
            .collect();
        assert_eq!(missing, [(1, "charge", true), (2, "INSERT", false)]);
    }

    #[test]
    fn different_roots_are_one_subtree_each() {
        let a = vec![
            ms(1, None, "web", "GET /a", 0, 10),
            ms(2, Some(1), "db", "q", 1, 2),
        ];
        let b = vec![ms(1, None, "web", "GET /b", 0, 10)];
        let c = compare(&Tree::new(&a), &Tree::new(&b));
        assert_eq!(
            rows_of(&c),
            vec![
                (0, "GET /b", Presence::Added, true),
                (0, "GET /a", Presence::Missing, true),
                (1, "q", Presence::Missing, false),
            ]
        );
        let same = compare(&Tree::new(&a), &Tree::new(&a));
        assert!(same.rows.iter().all(|r| r.presence == Presence::Both
            && r.duration_diff_ns == Some(0)
            && r.self_diff_ns == Some(0)));
    }
}
