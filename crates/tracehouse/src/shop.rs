//! A deterministic generator of realistic traces from a small microservice shop (frontend,
//! cart, checkout, payment, shipping, email, PostgreSQL and Redis tiers), as OTLP requests.
//!
//! Traces are client/server span pairs across services with database calls, lognormal
//! durations, about 2% failed payments with `exception` events and stack traces, span events,
//! a producer/consumer hop linked to its trace, session ids on frontend spans, and
//! high-cardinality user ids. The same seed gives the same data.

use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::{AnyValue, InstrumentationScope, KeyValue, any_value};
use opentelemetry_proto::tonic::resource::v1::Resource;
use opentelemetry_proto::tonic::trace::v1::span::{Event, Link, SpanKind};
use opentelemetry_proto::tonic::trace::v1::status::StatusCode;
use opentelemetry_proto::tonic::trace::v1::{ResourceSpans, ScopeSpans, Span, Status};
use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};
use rand_distr::{Distribution, LogNormal};

/// The services of the shop, in the order their resources are emitted.
pub const SERVICES: [&str; 8] = [
    "frontend", "cart", "checkout", "payment", "shipping", "email", "postgres", "redis",
];

fn kv(key: &str, value: any_value::Value) -> KeyValue {
    KeyValue {
        key: key.to_string(),
        value: Some(AnyValue { value: Some(value) }),
        ..Default::default()
    }
}

fn s(key: &str, value: impl Into<String>) -> KeyValue {
    kv(key, any_value::Value::StringValue(value.into()))
}

fn i(key: &str, value: i64) -> KeyValue {
    kv(key, any_value::Value::IntValue(value))
}

/// One generated span and the service that emitted it.
struct Emitted {
    service: usize,
    span: Span,
}

/// Builds traces span by span.
struct TraceBuilder<'a> {
    rng: &'a mut StdRng,
    trace_id: Vec<u8>,
    next_span: u64,
    spans: Vec<Emitted>,
    failed: bool,
}

impl TraceBuilder<'_> {
    fn span_id(&mut self) -> Vec<u8> {
        self.next_span += 1;
        let mut id = self.trace_id[8..].to_vec();
        id[6..].copy_from_slice(&(self.next_span as u16).to_be_bytes());
        id[0] |= 0x80;
        id
    }

    fn millis(&mut self, median_ms: f64) -> i64 {
        let d = LogNormal::new(median_ms.ln(), 0.6)
            .map(|d| d.sample(self.rng))
            .unwrap_or(median_ms);
        (d * 1_000_000.0) as i64
    }

    /// Adds a span; returns its id and end time.
    #[allow(clippy::too_many_arguments)]
    fn push(
        &mut self,
        service: usize,
        parent: &[u8],
        name: &str,
        kind: SpanKind,
        start: i64,
        duration: i64,
        attributes: Vec<KeyValue>,
    ) -> Vec<u8> {
        let id = self.span_id();
        self.spans.push(Emitted {
            service,
            span: Span {
                trace_id: self.trace_id.clone(),
                span_id: id.clone(),
                parent_span_id: parent.to_vec(),
                name: name.to_string(),
                kind: kind as i32,
                start_time_unix_nano: start as u64,
                end_time_unix_nano: (start + duration) as u64,
                attributes,
                ..Default::default()
            },
        });
        id
    }

    fn last(&mut self) -> &mut Span {
        let n = self.spans.len() - 1;
        &mut self.spans[n].span
    }

    /// A database call: a client span in `caller` plus a server span in the database service.
    fn db(
        &mut self,
        caller: usize,
        parent: &[u8],
        db: usize,
        op: &str,
        table: &str,
        start: i64,
    ) -> i64 {
        let (system, statement, median) = if db == 7 {
            (
                "redis",
                format!("{op} {table}:{}", self.rng.random_range(0..100_000)),
                0.4,
            )
        } else {
            (
                "postgresql",
                format!("{op} FROM {table} WHERE id = $1"),
                3.0,
            )
        };
        let d = self.millis(median);
        let attrs = vec![
            s("db.system", system),
            s("db.statement", statement),
            s("db.operation", op),
            s("server.address", SERVICES[db]),
        ];
        let client = self.push(
            caller,
            parent,
            &format!("{op} {table}"),
            SpanKind::Client,
            start,
            d + 200_000,
            attrs.clone(),
        );
        self.push(db, &client, op, SpanKind::Server, start + 100_000, d, attrs);
        start + d + 200_000
    }

    /// An RPC: client span in `caller`, server span in `callee`; `body` fills the server span
    /// and returns its end time.
    fn rpc(
        &mut self,
        caller: usize,
        parent: &[u8],
        callee: usize,
        method: &str,
        start: i64,
        body: impl FnOnce(&mut Self, &[u8], i64) -> i64,
    ) -> i64 {
        let attrs = vec![
            s("rpc.system", "grpc"),
            s("rpc.service", SERVICES[callee]),
            s("rpc.method", method),
        ];
        let client = self.push(
            caller,
            parent,
            &format!("{}/{method}", SERVICES[callee]),
            SpanKind::Client,
            start,
            0,
            attrs.clone(),
        );
        let client_index = self.spans.len() - 1;
        let server_start = start + 150_000;
        let server = self.push(
            callee,
            &client,
            method,
            SpanKind::Server,
            server_start,
            0,
            attrs,
        );
        let server_index = self.spans.len() - 1;
        let work = self.millis(0.8);
        let end = body(self, &server, server_start + work) + 100_000;
        self.spans[server_index].span.end_time_unix_nano = end as u64;
        self.spans[client_index].span.end_time_unix_nano = (end + 150_000) as u64;
        end + 150_000
    }

    fn fail_payment(&mut self, at: i64) {
        self.failed = true;
        let span = self.last();
        span.status = Some(Status {
            code: StatusCode::Error as i32,
            message: "card declined".into(),
        });
        span.events.push(Event {
            time_unix_nano: at as u64,
            name: "exception".into(),
            attributes: vec![
                s("exception.type", "PaymentDeclined"),
                s("exception.message", "card declined by issuer (code 51)"),
                s(
                    "exception.stacktrace",
                    "PaymentDeclined: card declined by issuer (code 51)\n  at charge (payment/src/charge.rs:88)\n  at handle (payment/src/server.rs:41)\n  at serve (payment/src/main.rs:17)",
                ),
            ],
            ..Default::default()
        });
    }
}

/// Deterministic generator of shop traces.
pub struct ShopGenerator {
    rng: StdRng,
    traces: u64,
}

impl ShopGenerator {
    /// A generator whose output depends only on `seed`.
    pub fn new(seed: u64) -> Self {
        ShopGenerator {
            rng: StdRng::seed_from_u64(seed),
            traces: 0,
        }
    }

    /// Generates one trace starting at `start` (ns); returns its id and its spans by service.
    fn trace(&mut self, start: i64) -> (Vec<u8>, Vec<Emitted>) {
        self.traces += 1;
        let mut trace_id = self.rng.random::<[u8; 16]>().to_vec();
        trace_id[0] |= 1;
        let user = self.rng.random_range(1..1_000_000i64);
        let session = format!("sess-{:08x}", self.rng.random_range(0..200_000u32));
        let route = self.rng.random_range(0..100u32);
        let mut b = TraceBuilder {
            rng: &mut self.rng,
            trace_id: trace_id.clone(),
            next_span: 0,
            spans: Vec::new(),
            failed: false,
        };
        let (method, path, route_name) = match route {
            0..=34 => ("GET", "/cart".to_string(), "/cart"),
            35..=59 => ("POST", "/cart/items".to_string(), "/cart/items"),
            60..=79 => ("POST", "/checkout".to_string(), "/checkout"),
            _ => (
                "GET",
                format!("/products/{}", user % 5000),
                "/products/{id}",
            ),
        };
        let root_attrs = vec![
            s("http.request.method", method),
            s("http.route", route_name),
            s("url.path", path),
            i("user.id", user),
            s("highlight.session_id", session.clone()),
            s(
                "client.address",
                format!("10.{}.{}.{}", user % 256, (user / 256) % 256, user % 7),
            ),
        ];
        let root = b.push(
            0,
            &[],
            &format!("{method} {route_name}"),
            SpanKind::Server,
            start,
            0,
            root_attrs,
        );
        let mut t = start + b.millis(0.5);
        t = match route {
            0..=34 => b.rpc(0, &root, 1, "GetCart", t, |b, p, t| {
                b.db(1, p, 7, "HGETALL", "cart", t)
            }),
            35..=59 => b.rpc(0, &root, 1, "AddItem", t, |b, p, t| {
                let t = b.db(1, p, 6, "SELECT", "products", t);
                b.db(1, p, 7, "HSET", "cart", t)
            }),
            60..=79 => b.rpc(0, &root, 2, "PlaceOrder", t, |b, p, t| {
                let t = b.rpc(2, p, 1, "GetCart", t, |b, p, t| {
                    b.db(1, p, 7, "HGETALL", "cart", t)
                });
                let declined = b.rng.random_bool(0.1);
                let t = b.rpc(2, p, 3, "Charge", t, |b, p, t| {
                    let end = b.db(3, p, 6, "INSERT", "payments", t);
                    if declined {
                        b.fail_payment(end);
                    }
                    end
                });
                if declined {
                    return t;
                }
                let t = b.rpc(2, p, 4, "ShipOrder", t, |b, p, t| {
                    b.db(4, p, 6, "INSERT", "shipments", t)
                });
                // The confirmation email is queued: a producer span here, a consumer span in email
                // linked back to it.
                let d = b.millis(0.3);
                let producer = b.push(
                    2,
                    p,
                    "orders publish",
                    SpanKind::Producer,
                    t,
                    d,
                    vec![
                        s("messaging.system", "kafka"),
                        s("messaging.destination.name", "orders"),
                    ],
                );
                let consume_at = t + d + b.millis(5.0);
                let work = b.millis(20.0);
                let trace = b.trace_id.clone();
                b.push(
                    5,
                    &producer,
                    "orders process",
                    SpanKind::Consumer,
                    consume_at,
                    work,
                    vec![
                        s("messaging.system", "kafka"),
                        s("email.template", "order-confirmation"),
                    ],
                );
                b.last().links.push(Link {
                    trace_id: trace,
                    span_id: producer.clone(),
                    ..Default::default()
                });
                t + d
            }),
            _ => b.db(0, &root, 6, "SELECT", "products", t),
        };
        let end = t + b.millis(0.3);
        let failed = b.failed;
        let root_span = &mut b.spans[0].span;
        root_span.end_time_unix_nano = end as u64;
        let status = if failed { 502 } else { 200 };
        root_span
            .attributes
            .push(i("http.response.status_code", status));
        root_span.events.push(Event {
            time_unix_nano: (start + 1000) as u64,
            name: "request.received".into(),
            ..Default::default()
        });
        if failed {
            root_span.status = Some(Status {
                code: StatusCode::Error as i32,
                message: "checkout failed".into(),
            });
        }
        (trace_id, b.spans)
    }

    /// One export request holding `traces` traces, starting at the times `start_of` returns.
    /// Returns the request, the trace ids and the number of spans.
    pub fn request(
        &mut self,
        traces: usize,
        mut start_of: impl FnMut(&mut StdRng) -> i64,
    ) -> (ExportTraceServiceRequest, Vec<Vec<u8>>, usize) {
        let mut by_service: Vec<Vec<Span>> = vec![Vec::new(); SERVICES.len()];
        let mut ids = Vec::with_capacity(traces);
        for _ in 0..traces {
            let start = start_of(&mut self.rng);
            let (id, spans) = self.trace(start);
            ids.push(id);
            for e in spans {
                by_service[e.service].push(e.span);
            }
        }
        let count = by_service.iter().map(Vec::len).sum();
        let resource_spans = by_service
            .into_iter()
            .enumerate()
            .filter(|(_, spans)| !spans.is_empty())
            .map(|(svc, spans)| ResourceSpans {
                resource: Some(Resource {
                    attributes: vec![
                        s("service.name", SERVICES[svc]),
                        s("service.version", format!("1.{}.0", svc)),
                        s("deployment.environment.name", "production"),
                        s("host.name", format!("{}-{}", SERVICES[svc], svc % 3)),
                    ],
                    ..Default::default()
                }),
                scope_spans: vec![ScopeSpans {
                    scope: Some(InstrumentationScope {
                        name: "tracehouse-shop".into(),
                        version: "1.0".into(),
                        ..Default::default()
                    }),
                    spans,
                    ..Default::default()
                }],
                ..Default::default()
            })
            .collect();
        (ExportTraceServiceRequest { resource_spans }, ids, count)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_seed_same_data_and_sane_trees() {
        let (a, ids_a, n) = ShopGenerator::new(7).request(200, |_| 1_000_000_000);
        let (b, ids_b, _) = ShopGenerator::new(7).request(200, |_| 1_000_000_000);
        assert_eq!(a, b);
        assert_eq!(ids_a, ids_b);
        assert!(n >= 200 * 3, "at least 3 spans per trace, got {n}");
        let spans: Vec<&Span> = a
            .resource_spans
            .iter()
            .flat_map(|r| &r.scope_spans)
            .flat_map(|s| &s.spans)
            .collect();
        let roots = spans.iter().filter(|s| s.parent_span_id.is_empty()).count();
        assert_eq!(roots, 200);
        let ids: std::collections::HashSet<(&[u8], &[u8])> = spans
            .iter()
            .map(|s| (s.trace_id.as_slice(), s.span_id.as_slice()))
            .collect();
        assert_eq!(
            ids.len(),
            spans.len(),
            "span ids are unique within their trace"
        );
        for s in &spans {
            assert!(s.end_time_unix_nano >= s.start_time_unix_nano);
            if !s.parent_span_id.is_empty() {
                assert!(
                    ids.contains(&(s.trace_id.as_slice(), s.parent_span_id.as_slice())),
                    "parent exists"
                );
            }
        }
        let errors = spans
            .iter()
            .filter(|s| s.events.iter().any(|e| e.name == "exception"))
            .count();
        assert!(
            errors > 0 && errors < 20,
            "about 2% of traces fail: {errors}"
        );
    }
}
