//! The service map suite: 20 requests through a frontend that calls a service (whose
//! server spans arrive in a later write, some two minutes after their call and past the end
//! of the range, one before the range's start), a database, a queue consumed by another service, an uninstrumented
//! service and an external host, plus calls the map must leave out (no peer, within one
//! service, another project); the exact edges every backend must answer, over every
//! environment and over one (requests 16 to 19 are `staging`, the others `prod`).

use tracehouse_model::{AttrValue, Span, SpanId, SpanKind, TraceId};
use tracehouse_query::plan::{CmpOp, Value};
use tracehouse_query::{Field, Filter, Intrinsic};

use super::testkit::{self, MS, S};
use crate::Store;
use crate::graph::{GraphEdge, GraphNode, NodeKind, service_graph, service_graph_matching};
use crate::metrics::SKETCH_RELATIVE_ERROR;
use crate::stats::MINUTE_NS;

/// 2023-11-14T22:00:00Z.
pub const T0: i64 = 1_699_999_200_000_000_000;
/// The range of the map: ten minutes from [`T0`].
pub const RANGE: (i64, i64) = (T0, T0 + 10 * MINUTE_NS);

fn span(r: i64, id: u8, parent: Option<u8>, service: &str, kind: SpanKind, duration: i64) -> Span {
    let mut s = testkit::span(
        TraceId([r as u8 + 1; 16]),
        SpanId([id; 8]),
        T0 + r * 30 * S + i64::from(id) * MS,
        duration,
    );
    s.parent_span_id = parent.map(|p| SpanId([p; 8]));
    s.service_name = service.into();
    s.kind = kind;
    s.name = format!("op{id}");
    s.environment = if r >= 16 { "staging" } else { "prod" }.into();
    s
}

fn with(mut s: Span, attrs: &[(&str, &str)]) -> Span {
    for (k, v) in attrs {
        s.attributes
            .insert((*k).into(), AttrValue::Str((*v).into()));
    }
    s
}

fn failing(mut s: Span, error: bool) -> Span {
    s.has_error = error;
    s
}

/// The data set, as two writes: everything but the `cart` server spans of odd requests,
/// then those (request 19's starting two minutes after its call, past the range's end;
/// request 0's 30 s before its call, before the range's start).
pub fn data() -> (Vec<Span>, Vec<Span>) {
    use SpanKind::{Client, Consumer, Internal, Producer, Server};
    let (mut first, mut later) = (Vec::new(), Vec::new());
    for r in 0..20_i64 {
        let cart_server = {
            let mut s = span(r, 3, Some(2), "cart", Server, 800_000);
            // Minutes after its call, or (request 0, its host's clock behind) 30 s before it
            // and before the range.
            let shift = match r {
                0 => -30 * S,
                r if r % 4 == 3 => 2 * MINUTE_NS,
                _ => 0,
            };
            s.start_time_unix_nano += shift;
            s.end_time_unix_nano += shift;
            s
        };
        if r % 2 == 1 {
            later.push(cart_server);
        } else {
            first.push(cart_server);
        }
        let db = [("db.system", "postgresql"), ("db.name", "orders")];
        let queue = [
            ("messaging.system", "kafka"),
            ("messaging.destination.name", "orders"),
        ];
        first.extend([
            span(r, 1, None, "frontend", Server, 50 * MS),
            failing(
                span(r, 2, Some(1), "frontend", Client, (r + 1) * MS),
                r % 5 == 0,
            ),
            with(span(r, 4, Some(3), "cart", Client, (r + 1) * 100_000), &db),
            with(span(r, 5, Some(1), "frontend", Producer, 2 * MS), &queue),
            span(r, 6, Some(5), "fulfil", Consumer, 9 * MS),
            failing(
                with(
                    span(r, 7, Some(1), "frontend", Client, (r + 1) * 3 * MS),
                    &[("peer.service", "payments-api")],
                ),
                r % 2 == 0,
            ),
            span(r, 9, Some(1), "frontend", Client, MS),
            span(r, 10, Some(3), "cart", Client, MS),
            span(r, 11, Some(10), "cart", Server, MS),
            span(r, 12, Some(3), "cart", Internal, MS),
        ]);
        if r < 10 {
            let host = [("server.address", "api.stripe.com")];
            first.push(with(span(r, 8, Some(1), "frontend", Client, 7 * MS), &host));
        }
        let mut x = span(r, 13, None, "x", Client, MS);
        let mut y = span(r, 14, Some(13), "y", Server, MS);
        x.project_id = "other".into();
        y.project_id = "other".into();
        first.extend([x, y]);
    }
    (first, later)
}

fn node(id: &str, name: &str, kind: NodeKind, count: u64, errors: u64) -> GraphNode {
    GraphNode {
        id: id.into(),
        name: name.into(),
        kind,
        count,
        errors,
    }
}

/// Checks an edge: counts exact, percentiles within the sketch error of the durations at
/// their ranks.
fn check_edge(e: &GraphEdge, (source, target): (&str, &str), errors: u64, durations: &[i64]) {
    let what = format!("{source} -> {target}");
    assert_eq!((e.source.as_str(), e.target.as_str()), (source, target));
    assert_eq!(
        (e.count, e.errors),
        (durations.len() as u64, errors),
        "{what}"
    );
    let mut d = durations.to_vec();
    d.sort_unstable();
    for (q, got) in [(0.5, e.p50), (0.95, e.p95)] {
        let x = d[(q * (d.len() as f64 - 1.0)) as usize] as f64;
        assert!(
            (got - x).abs() <= x * SKETCH_RELATIVE_ERROR * 1.0001,
            "{what}: p{} {got} vs {x}",
            q * 100.0
        );
    }
}

/// Checks the map of [`RANGE`] of project `p`.
pub async fn check(store: &dyn Store, stage: &str) {
    let g = service_graph(store, "p", RANGE).await.unwrap();
    // Request 19's cart server span starts past the range and request 0's before it: not
    // among the cart's spans in the range, yet joined to their calls. The queue's consumer is instrumented: its edge goes
    // to the consumer's service, and the queue has no node.
    let db = "database:postgresql/orders";
    let nodes = [
        node("cart", "cart", NodeKind::Service, 98, 0),
        node(db, "postgresql/orders", NodeKind::Database, 20, 0),
        node("frontend", "frontend", NodeKind::Service, 110, 14),
        node("fulfil", "fulfil", NodeKind::Service, 20, 0),
        node(
            "peer:api.stripe.com",
            "api.stripe.com",
            NodeKind::Peer,
            10,
            0,
        ),
        node("peer:payments-api", "payments-api", NodeKind::Peer, 20, 10),
    ];
    assert_eq!(g.nodes, nodes, "{stage}: nodes");
    let ms = |f: &dyn Fn(i64) -> i64| (0..20).map(f).collect::<Vec<i64>>();
    let edges = g
        .edges
        .iter()
        .map(|e| (e.source.as_str(), e.target.as_str()));
    assert_eq!(
        edges.collect::<Vec<_>>(),
        [
            ("cart", db),
            ("frontend", "cart"),
            ("frontend", "fulfil"),
            ("frontend", "peer:api.stripe.com"),
            ("frontend", "peer:payments-api"),
        ],
        "{stage}: edges"
    );
    let e = &g.edges;
    check_edge(&e[0], ("cart", db), 0, &ms(&|r| (r + 1) * 100_000));
    check_edge(&e[1], ("frontend", "cart"), 4, &ms(&|r| (r + 1) * MS));
    check_edge(&e[2], ("frontend", "fulfil"), 0, &ms(&|_| 2 * MS));
    check_edge(&e[3], ("frontend", "peer:api.stripe.com"), 0, &[7 * MS; 10]);
    check_edge(
        &e[4],
        ("frontend", "peer:payments-api"),
        10,
        &ms(&|r| (r + 1) * 3 * MS),
    );
    let empty = service_graph(
        store,
        "p",
        (RANGE.1 + 60 * MINUTE_NS, RANGE.1 + 61 * MINUTE_NS),
    )
    .await
    .unwrap();
    assert!(empty.nodes.is_empty() && empty.edges.is_empty(), "{stage}");
    assert!(service_graph(store, "p", (RANGE.1, RANGE.0)).await.is_err());
    check_environment(store, stage).await;
}

/// The spans of one deployment environment.
fn environment(name: &str) -> Filter {
    Filter::Cmp {
        field: Field::Intrinsic(Intrinsic::Environment),
        op: CmpOp::Eq,
        value: Value::Str(name.into()),
    }
}

/// The map of the `staging` requests (16 to 19) only: their spans, calls and callees.
async fn check_environment(store: &dyn Store, stage: &str) {
    let g = service_graph_matching(store, "p", RANGE, &environment("staging"))
        .await
        .unwrap();
    let db = "database:postgresql/orders";
    let nodes = [
        // Request 19's cart server span starts past the range.
        node("cart", "cart", NodeKind::Service, 19, 0),
        node(db, "postgresql/orders", NodeKind::Database, 4, 0),
        node("frontend", "frontend", NodeKind::Service, 20, 2),
        node("fulfil", "fulfil", NodeKind::Service, 4, 0),
        node("peer:payments-api", "payments-api", NodeKind::Peer, 4, 2),
    ];
    assert_eq!(g.nodes, nodes, "{stage}: staging nodes");
    let ms = |f: &dyn Fn(i64) -> i64| (16..20).map(f).collect::<Vec<i64>>();
    let e = &g.edges;
    assert_eq!(e.len(), 4, "{stage}: staging edges {e:?}");
    check_edge(&e[0], ("cart", db), 0, &ms(&|r| (r + 1) * 100_000));
    check_edge(&e[1], ("frontend", "cart"), 0, &ms(&|r| (r + 1) * MS));
    check_edge(&e[2], ("frontend", "fulfil"), 0, &ms(&|_| 2 * MS));
    check_edge(
        &e[3],
        ("frontend", "peer:payments-api"),
        2,
        &ms(&|r| (r + 1) * 3 * MS),
    );
    let g = service_graph_matching(store, "p", RANGE, &environment("qa"))
        .await
        .unwrap();
    assert!(g.nodes.is_empty() && g.edges.is_empty(), "{stage}: {g:?}");
}
