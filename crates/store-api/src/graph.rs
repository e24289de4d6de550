//! The service map: which service calls which service or uninstrumented peer, with request
//! and error counts and client-side latency, written once over the [`Store`] trait.
//!
//! Edges are formed at query time from the spans themselves, so a parent and a child that
//! arrived in different requests, minutes apart, still meet:
//!
//! 1. the **calls**: client and producer spans, and spans with `db.system` or
//!    `messaging.system`, that start in the range;
//! 2. the **callees**: server and consumer spans with a parent, starting from
//!    [`SKEW_WINDOW_NS`] before the range (clocks of two hosts disagree) to
//!    [`JOIN_WINDOW_NS`] after it (a queue's consumer may start minutes after its producer);
//!    one whose parent is a call of another service
//!    makes the edge caller → its service (once per call and callee service);
//! 3. a call without such a callee goes to the peer its attributes name: a database
//!    (`db.system`, `/` and `db.name` or `db.namespace`), a queue (`messaging.system`, `/`
//!    and `messaging.destination.name` or `messaging.destination`) or another host
//!    (`peer.service`, else `server.address` or `net.peer.name`); a call naming none is left
//!    out, and so are calls within one service.
//!
//! An edge counts its calls, those with an error, and the p50/p95 of their durations (the
//! caller's view, DDSketch at 1 %). A map of some spans only ([`service_graph_matching`],
//! e.g. one deployment environment) reads the calls, the callees and the services' counts
//! among those spans. Each step reads at most
//! [`crate::metrics::scan::MAX_SCAN_SPANS`] spans (a larger range is a 400 that says so);
//! links between traces are not followed.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use serde::{Deserialize, Serialize};
use tracehouse_model::{Span, SpanId, TraceId};
use tracehouse_query::{Field, Filter, Plan, Scope, parse, plan};
use utoipa::ToSchema;

use crate::metrics::scan::{SpanParts, SpanScan, each_matching, field_value};
use crate::metrics::{Cell, MetricDim, MetricKey, MetricValue, SpanMetricsQuery};
use crate::stats::MINUTE_NS;
use crate::value::SpanRef;
use crate::{Store, StoreError};

/// How long after the range a callee may start and still be joined to its call.
pub const JOIN_WINDOW_NS: i64 = 5 * MINUTE_NS;
/// How long before the range a callee may start (its host's clock behind its caller's).
pub const SKEW_WINDOW_NS: i64 = MINUTE_NS;

/// The spans that may be calls.
const CALLS: &str = "kind:client OR kind:producer OR db.system EXISTS OR messaging.system EXISTS";
/// The spans that may be callees.
const CALLEES: &str = "(kind:server OR kind:consumer) parent_span_id EXISTS";

/// What a node of the map is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum NodeKind {
    /// An instrumented service.
    Service,
    /// A database named by its clients' `db.*` attributes.
    Database,
    /// A queue or topic named by its producers' `messaging.*` attributes.
    Queue,
    /// Another host or uninstrumented service (`peer.service`, `server.address`).
    Peer,
}

/// A node of the service map.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct GraphNode {
    /// Unique id: the service name, or `kind:name` for a peer.
    pub id: String,
    /// Display name.
    pub name: String,
    /// What it is.
    pub kind: NodeKind,
    /// Spans of the service in the range (for a peer: calls to it).
    pub count: u64,
    /// Those with an error.
    pub errors: u64,
}

/// Calls from one node to another.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct GraphEdge {
    /// Caller node id.
    pub source: String,
    /// Callee node id.
    pub target: String,
    /// Calls.
    pub count: u64,
    /// Calls with an error.
    pub errors: u64,
    /// Median call duration seen by the caller, ns (within 1 %).
    pub p50: f64,
    /// 95th percentile call duration seen by the caller, ns (within 1 %).
    pub p95: f64,
}

/// The service map of a range.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct ServiceGraph {
    /// Services with spans in the range (the 50 with the most) and the peers they call,
    /// by id.
    pub nodes: Vec<GraphNode>,
    /// Edges, by source then target.
    pub edges: Vec<GraphEdge>,
    /// How long after the range a callee may start and still be joined to its call, ns.
    pub join_window_ns: i64,
    /// How long before the range a callee may start and still be joined, ns.
    pub skew_window_ns: i64,
}

/// Calls from one node to another by their display names: what Zipkin's and Jaeger's
/// dependency links are.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DependencyLink {
    /// Caller name.
    pub parent: String,
    /// Callee name.
    pub child: String,
    /// Calls.
    pub calls: u64,
    /// Calls with an error.
    pub errors: u64,
}

impl ServiceGraph {
    /// The edges by caller and callee name, sorted; edges between nodes of the same names
    /// (a service and a peer called alike) are one link.
    pub fn dependency_links(&self) -> Vec<DependencyLink> {
        let names: HashMap<&str, &str> = self
            .nodes
            .iter()
            .map(|n| (n.id.as_str(), n.name.as_str()))
            .collect();
        let name = |id: &str| names.get(id).copied().unwrap_or(id).to_string();
        let mut links: BTreeMap<(String, String), (u64, u64)> = BTreeMap::new();
        for e in &self.edges {
            let link = links.entry((name(&e.source), name(&e.target))).or_default();
            link.0 += e.count;
            link.1 += e.errors;
        }
        links
            .into_iter()
            .map(|((parent, child), (calls, errors))| DependencyLink {
                parent,
                child,
                calls,
                errors,
            })
            .collect()
    }
}

/// A call: its caller and the peer its attributes name.
struct Call {
    service: String,
    peer: Option<(NodeKind, String)>,
    duration_ns: i64,
    error: bool,
}

/// The first attribute of `keys` a span has, as text.
fn attr(span: &SpanRef<'_>, keys: &[&str]) -> Option<String> {
    keys.iter().find_map(|k| {
        let field = Field::Attr {
            scope: Scope::Any,
            key: (*k).to_string(),
        };
        field_value(&field, span)
            .map(|v| v.as_text().into_owned())
            .filter(|v| !v.is_empty())
    })
}

/// `system` or `system/name`.
fn joined(system: String, name: Option<String>) -> String {
    match name {
        Some(n) => format!("{system}/{n}"),
        None => system,
    }
}

/// The peer a call's attributes name.
fn peer_of(span: &Span) -> Option<(NodeKind, String)> {
    let view = SpanRef(span);
    if let Some(system) = attr(&view, &["db.system"]) {
        let name = attr(&view, &["db.name", "db.namespace"]);
        return Some((NodeKind::Database, joined(system, name)));
    }
    if let Some(system) = attr(&view, &["messaging.system"]) {
        let name = attr(
            &view,
            &["messaging.destination.name", "messaging.destination"],
        );
        return Some((NodeKind::Queue, joined(system, name)));
    }
    let host = attr(&view, &["peer.service", "server.address", "net.peer.name"])?;
    Some((NodeKind::Peer, host))
}

/// The id of a peer node.
fn peer_id(kind: NodeKind, name: &str) -> String {
    let kind = match kind {
        NodeKind::Service => "service",
        NodeKind::Database => "database",
        NodeKind::Queue => "queue",
        NodeKind::Peer => "peer",
    };
    format!("{kind}:{name}")
}

/// The service map of `project_id` over `[start_ns, end_ns)`.
pub async fn service_graph<S: Store + ?Sized>(
    store: &S,
    project_id: &str,
    window: (i64, i64),
) -> Result<ServiceGraph, StoreError> {
    service_graph_matching(store, project_id, window, &Filter::True).await
}

/// The service map of `project_id` over `[start_ns, end_ns)` drawn from the spans matching
/// `filter` only (a plain filter, such as one environment).
pub async fn service_graph_matching<S: Store + ?Sized>(
    store: &S,
    project_id: &str,
    (start_ns, end_ns): (i64, i64),
    filter: &Filter,
) -> Result<ServiceGraph, StoreError> {
    if end_ns <= start_ns {
        return Err(StoreError::InvalidArgument(
            "the range is empty or inverted: end must be after start".into(),
        ));
    }
    let plan_of = |q: &str| {
        parse(q).map(|q| Plan {
            pushdown: Filter::And(vec![plan(&q).pushdown, filter.clone()]).simplify(),
            structure: None,
        })
    };
    let (Ok(calls_plan), Ok(callees_plan)) = (plan_of(CALLS), plan_of(CALLEES)) else {
        unreachable!("the map's own queries parse");
    };
    let mut calls: HashMap<(TraceId, SpanId), Call> = HashMap::new();
    let calls_scan = SpanScan {
        project_id,
        plan: &calls_plan,
        window: (start_ns, end_ns),
        parts: SpanParts::Attributes,
    };
    each_matching(store, &calls_scan, |s| {
        let call = Call {
            service: s.service_name.clone(),
            peer: peer_of(s),
            duration_ns: s.duration_nanos,
            error: s.has_error,
        };
        calls.insert((s.trace_id, s.span_id), call);
    })
    .await?;
    let widened = (
        start_ns.saturating_sub(SKEW_WINDOW_NS),
        end_ns.saturating_add(JOIN_WINDOW_NS),
    );
    let mut callees: HashMap<(TraceId, SpanId), BTreeSet<String>> = HashMap::new();
    let callees_scan = SpanScan {
        project_id,
        plan: &callees_plan,
        window: widened,
        parts: SpanParts::Intrinsics,
    };
    each_matching(store, &callees_scan, |s| {
        let Some(parent) = s.parent_span_id else {
            return;
        };
        let key = (s.trace_id, parent);
        if calls.get(&key).is_some_and(|c| c.service != s.service_name) {
            callees
                .entry(key)
                .or_default()
                .insert(s.service_name.clone());
        }
    })
    .await?;
    let mut edges: BTreeMap<(String, String), Cell> = BTreeMap::new();
    let mut peers: BTreeMap<String, (NodeKind, String)> = BTreeMap::new();
    for (key, call) in &calls {
        let targets: Vec<String> = match (callees.get(key), &call.peer) {
            (Some(services), _) => services.iter().cloned().collect(),
            (None, Some((kind, name))) => {
                let id = peer_id(*kind, name);
                peers.insert(id.clone(), (*kind, name.clone()));
                vec![id]
            }
            (None, None) => Vec::new(),
        };
        for target in targets {
            edges
                .entry((call.service.clone(), target))
                .or_default()
                .add(call.duration_ns, call.error);
        }
    }
    let mut nodes = service_nodes(store, project_id, (start_ns, end_ns), filter).await?;
    for (id, (kind, name)) in peers {
        let incoming = edges.iter().filter(|((_, t), _)| *t == id).map(|(_, c)| c);
        let (count, errors) = incoming.fold((0, 0), |(n, e), c| (n + c.count, e + c.errors));
        nodes.push(GraphNode {
            id,
            name,
            kind,
            count,
            errors,
        });
    }
    // Services beyond the span metrics' top series still get their node.
    for (source, target) in edges.keys() {
        for id in [source, target] {
            if !nodes.iter().any(|n| n.id == *id) {
                nodes.push(GraphNode {
                    id: id.clone(),
                    name: id.clone(),
                    kind: NodeKind::Service,
                    count: 0,
                    errors: 0,
                });
            }
        }
    }
    nodes.sort_by(|a, b| a.id.cmp(&b.id));
    let edges = edges
        .into_iter()
        .map(|((source, target), cell)| {
            let d = &cell.durations;
            let q = |p: f64| d.quantile(p).ok().flatten().unwrap_or(0.0);
            GraphEdge {
                source,
                target,
                count: cell.count,
                errors: cell.errors,
                p50: q(0.5),
                p95: q(0.95),
            }
        })
        .collect();
    Ok(ServiceGraph {
        nodes,
        edges,
        join_window_ns: JOIN_WINDOW_NS,
        skew_window_ns: SKEW_WINDOW_NS,
    })
}

/// Every service with spans matching `filter` in the range, with its span and error counts
/// (from the span metrics kept at ingest when the filter allows).
async fn service_nodes<S: Store + ?Sized>(
    store: &S,
    project_id: &str,
    (start_ns, end_ns): (i64, i64),
    filter: &Filter,
) -> Result<Vec<GraphNode>, StoreError> {
    let minutes = (end_ns - start_ns).div_euclid(MINUTE_NS) + 2;
    let answer = store
        .span_metrics(&SpanMetricsQuery {
            project_id: project_id.to_string(),
            plan: Plan {
                pushdown: filter.clone(),
                structure: None,
            },
            start_ns,
            end_ns,
            step_ns: minutes * MINUTE_NS,
            by: vec![MetricKey::of_dim(MetricDim::Service)],
            value: MetricValue::Duration,
        })
        .await?;
    Ok(answer
        .series
        .into_iter()
        .map(|s| {
            let name = s.labels.into_values().next().unwrap_or_default();
            GraphNode {
                id: name.clone(),
                name,
                kind: NodeKind::Service,
                count: s.total.count,
                errors: s.total.errors,
            }
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn node(id: &str, name: &str, kind: NodeKind) -> GraphNode {
        GraphNode {
            id: id.into(),
            name: name.into(),
            kind,
            count: 1,
            errors: 0,
        }
    }

    fn edge(source: &str, target: &str, count: u64, errors: u64) -> GraphEdge {
        GraphEdge {
            source: source.into(),
            target: target.into(),
            count,
            errors,
            p50: 0.0,
            p95: 0.0,
        }
    }

    #[test]
    fn links_name_both_ends_and_merge_namesakes() {
        let graph = ServiceGraph {
            nodes: vec![
                node("web", "web", NodeKind::Service),
                node("cart", "cart", NodeKind::Service),
                node("peer:cart", "cart", NodeKind::Peer),
                node("database:pg/shop", "pg/shop", NodeKind::Database),
            ],
            edges: vec![
                edge("web", "cart", 3, 1),
                edge("web", "database:pg/shop", 2, 0),
                edge("web", "peer:cart", 4, 2),
            ],
            join_window_ns: JOIN_WINDOW_NS,
            skew_window_ns: SKEW_WINDOW_NS,
        };
        let link = |parent: &str, child: &str, calls, errors| DependencyLink {
            parent: parent.into(),
            child: child.into(),
            calls,
            errors,
        };
        assert_eq!(
            graph.dependency_links(),
            [link("web", "cart", 7, 3), link("web", "pg/shop", 2, 0)]
        );
    }
}
