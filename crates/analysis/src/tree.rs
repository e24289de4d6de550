//! The span tree of one trace, by index into its spans, with the same parent rules as the
//! trace view: spans that share an id are all kept (a server span sharing its client's id and
//! parent, as Zipkin's shared spans do, goes under the client, and the children of that id
//! under the server; otherwise the first span with the id is the parent of its children),
//! spans whose parent is not in the trace are roots, and so is any span in a parent cycle.

use std::collections::HashMap;

use tracehouse_model::{Span, SpanKind};

/// The tree of one trace's spans; every index refers to the slice it was built from.
#[derive(Debug)]
pub struct Tree<'a> {
    spans: &'a [Span],
    parent: Vec<Option<usize>>,
    children: Vec<Vec<usize>>,
    roots: Vec<usize>,
    order: Vec<usize>,
}

impl<'a> Tree<'a> {
    /// Builds the tree of `spans` (the spans of one trace).
    pub fn new(spans: &'a [Span]) -> Self {
        let mut parent = parents(spans);
        let mut children: Vec<Vec<usize>> = vec![Vec::new(); spans.len()];
        let mut roots = Vec::new();
        for (i, p) in parent.iter().enumerate() {
            match p {
                Some(p) => children[*p].push(i),
                None => roots.push(i),
            }
        }
        let by_start = |a: &usize, b: &usize| {
            (spans[*a].start_time_unix_nano, *a).cmp(&(spans[*b].start_time_unix_nano, *b))
        };
        for list in &mut children {
            list.sort_by(by_start);
        }
        roots.sort_by(by_start);
        let mut tree = Tree {
            spans,
            parent: Vec::new(),
            children,
            roots,
            order: Vec::with_capacity(spans.len()),
        };
        let mut seen = vec![false; spans.len()];
        for r in tree.roots.clone() {
            tree.visit(r, &mut seen);
        }
        // A parent cycle is reachable from no root: each of its spans becomes a root.
        for i in 0..spans.len() {
            if !seen[i] {
                if let Some(p) = parent[i].take() {
                    tree.children[p].retain(|&c| c != i);
                }
                tree.roots.push(i);
                tree.visit(i, &mut seen);
            }
        }
        tree.parent = parent;
        tree
    }

    fn visit(&mut self, root: usize, seen: &mut [bool]) {
        let mut stack = vec![root];
        while let Some(i) = stack.pop() {
            if std::mem::replace(&mut seen[i], true) {
                continue;
            }
            self.order.push(i);
            stack.extend(self.children[i].iter().rev().filter(|&&c| !seen[c]));
        }
    }

    /// The spans the tree was built from.
    pub fn spans(&self) -> &'a [Span] {
        self.spans
    }

    /// The span at `i`.
    pub fn span(&self, i: usize) -> &'a Span {
        &self.spans[i]
    }

    /// The parent of span `i`, `None` for a root.
    pub fn parent(&self, i: usize) -> Option<usize> {
        self.parent[i]
    }

    /// The children of span `i`, by start time.
    pub fn children(&self, i: usize) -> &[usize] {
        &self.children[i]
    }

    /// Spans without a parent in the trace, by start time (cycle breakers last).
    pub fn roots(&self) -> &[usize] {
        &self.roots
    }

    /// Every span once, depth first (parents before their children).
    pub fn depth_first(&self) -> &[usize] {
        &self.order
    }
}

/// The parent of each span by the trace view's rules (see the module documentation).
fn parents(spans: &[Span]) -> Vec<Option<usize>> {
    let mut same_id: HashMap<[u8; 8], Vec<usize>> = HashMap::with_capacity(spans.len());
    for (i, s) in spans.iter().enumerate() {
        same_id.entry(s.span_id.0).or_default().push(i);
    }
    let mut parent_of_id: HashMap<[u8; 8], usize> = HashMap::with_capacity(same_id.len());
    let mut nested_under: HashMap<usize, usize> = HashMap::new();
    for (id, list) in &same_id {
        let client = list
            .iter()
            .copied()
            .find(|&i| spans[i].kind == SpanKind::Client);
        let server = client.and_then(|c| {
            list.iter().copied().find(|&i| {
                spans[i].kind == SpanKind::Server
                    && spans[i].parent_span_id == spans[c].parent_span_id
            })
        });
        match (client, server) {
            (Some(c), Some(s)) if list.len() > 1 => {
                nested_under.insert(s, c);
                parent_of_id.insert(*id, s);
            }
            _ => {
                parent_of_id.insert(*id, list[0]);
            }
        }
    }
    spans
        .iter()
        .enumerate()
        .map(|(i, s)| {
            let p = nested_under.get(&i).copied().or_else(|| {
                s.parent_span_id
                    .and_then(|pid| parent_of_id.get(&pid.0).copied())
            });
            p.filter(|&p| p != i)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testkit::{SpanExt, child, root};

    #[test]
    fn zipkin_shared_spans_nest_server_under_client() {
        let spans = vec![
            root(1, 0, 100),
            child(2, 1, 10, 50).kind(SpanKind::Client),
            child(2, 1, 12, 40).kind(SpanKind::Server),
            child(3, 2, 15, 10),
        ];
        let t = Tree::new(&spans);
        assert_eq!(t.children(0), &[1]);
        assert_eq!(t.children(1), &[2]);
        assert_eq!(t.children(2), &[3]);
        assert_eq!(t.depth_first(), &[0, 1, 2, 3]);
    }

    #[test]
    fn orphans_and_cycles_become_roots() {
        let spans = vec![
            root(1, 0, 100),
            child(2, 9, 10, 5),
            child(3, 4, 20, 5),
            child(4, 3, 30, 5),
        ];
        let t = Tree::new(&spans);
        assert_eq!(t.roots(), &[0, 1, 2]);
        assert_eq!(t.parent(3), Some(2));
        assert_eq!(t.parent(2), None);
        assert_eq!(t.depth_first().len(), 4);
    }
}
