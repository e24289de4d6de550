//! A deterministic generator of realistic traces from a small microservice shop (frontend,
//! cart, checkout, payment, shipping, email, PostgreSQL and Redis tiers), as OTLP requests.
//!
//! Traces have 3 to 49 spans: client/server span pairs across services with database calls
//! (fan-outs for cart contents, inventory and product search), lognormal durations, about 2%
//! failed traces (declined payments, database timeouts) with `exception` events and stack
//! traces raised by the service that fails, other span events, a producer/consumer hop linked
//! to its trace, browser sessions of several requests each (the session id on the frontend
//! request and, as Highlight's SDKs propagate it, on the server spans of the services it
//! reaches and on the spans that record an exception), high-cardinality user ids and the usual semantic-convention attributes
//! (`http.*`, `url.*`, `rpc.*`, `db.*`, `messaging.*`). The same seed gives the same data.
//! [`logs_of`] derives the log records the services write while serving those traces.

use opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceRequest;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::{AnyValue, InstrumentationScope, KeyValue, any_value};
use opentelemetry_proto::tonic::logs::v1::{LogRecord, ResourceLogs, ScopeLogs, SeverityNumber};
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

pub(crate) fn s(key: &str, value: impl Into<String>) -> KeyValue {
    kv(key, any_value::Value::StringValue(value.into()))
}

pub(crate) fn i(key: &str, value: i64) -> KeyValue {
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
    /// The next database call times out (and fails its trace).
    fail_next_db: bool,
    /// The browser session the trace's request belongs to.
    session: String,
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
    /// The first call of a trace chosen to fail times out with an `exception` event.
    fn db(
        &mut self,
        caller: usize,
        parent: &[u8],
        db: usize,
        op: &str,
        table: &str,
        start: i64,
    ) -> i64 {
        let (system, statement, median, port) = if db == 7 {
            (
                "redis",
                format!("{op} {table}:{}", self.rng.random_range(0..100_000)),
                0.4,
                6379,
            )
        } else {
            let statement = match op {
                "SELECT" => format!("SELECT * FROM {table} WHERE id = $1"),
                "UPDATE" => format!("UPDATE {table} SET reserved = reserved + $2 WHERE id = $1"),
                _ => format!("INSERT INTO {table} VALUES ($1, $2, $3)"),
            };
            ("postgresql", statement, 3.0, 5432)
        };
        let timeout = std::mem::take(&mut self.fail_next_db);
        let d = if timeout {
            // The client gives up at its 250 ms deadline, a little after it.
            DB_TIMEOUT_NS + self.rng.random_range(0..2_000_000)
        } else {
            self.millis(median)
        };
        let attrs = vec![
            s("db.system", system),
            s("db.name", if db == 7 { "0" } else { "shop" }),
            s("db.statement", statement),
            s("db.operation", op),
            s("db.sql.table", table),
            s("server.address", SERVICES[db]),
            i("server.port", port),
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
        if timeout {
            self.failed = true;
            let at = start + d + 200_000;
            let session = s("highlight.session_id", self.session.clone());
            let span = self.last();
            span.attributes.push(session);
            span.status = Some(Status {
                code: StatusCode::Error as i32,
                message: format!("{system} query timed out"),
            });
            span.events.push(Event {
                time_unix_nano: at as u64,
                name: "exception".into(),
                attributes: vec![
                    s("exception.type", "TimeoutError"),
                    s(
                        "exception.message",
                        format!("{system} did not answer {op} {table} within 250ms"),
                    ),
                    s(
                        "exception.stacktrace",
                        format!(
                            "TimeoutError: {system} did not answer within 250ms\n  at query (db/src/pool.rs:212)\n  at {op_lower}_{table} ({service}/src/store.rs:57)\n  at handle ({service}/src/server.rs:33)",
                            op_lower = op.to_ascii_lowercase(),
                            service = SERVICES[caller],
                        ),
                    ),
                ],
                ..Default::default()
            });
        }
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
        let mut server_attrs = attrs;
        server_attrs.push(s("highlight.session_id", self.session.clone()));
        let server = self.push(
            callee,
            &client,
            method,
            SpanKind::Server,
            server_start,
            0,
            server_attrs,
        );
        let server_index = self.spans.len() - 1;
        let work = self.millis(0.8);
        let end = body(self, &server, server_start + work) + 100_000;
        self.spans[server_index].span.end_time_unix_nano = end as u64;
        self.spans[client_index].span.end_time_unix_nano = (end + 150_000) as u64;
        end + 150_000
    }

    /// Marks the payment server span `payment` as declined: payment itself raises the
    /// exception (after its database insert, at `at`).
    fn fail_payment(&mut self, payment: &[u8], at: i64) {
        self.failed = true;
        let Some(span) = self
            .spans
            .iter_mut()
            .map(|e| &mut e.span)
            .find(|s| s.span_id == payment)
        else {
            return;
        };
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

/// The body of `checkout/PlaceOrder`: read the cart, reserve each item, charge, ship, and
/// queue the confirmation email (a producer span here, a consumer span in `email` linked
/// back to it). Payments are declined now and then.
fn checkout(b: &mut TraceBuilder<'_>, p: &[u8], t: i64) -> i64 {
    let t = b.rpc(2, p, 1, "GetCart", t, |b, p, t| {
        b.db(1, p, 7, "HGETALL", "cart", t)
    });
    let items = b.rng.random_range(1..=5u32);
    let mut t = t;
    for _ in 0..items {
        t = b.db(2, p, 6, "UPDATE", "inventory", t);
    }
    let event = Event {
        time_unix_nano: t as u64,
        name: "order.validated".into(),
        attributes: vec![i("order.items", items as i64)],
        ..Default::default()
    };
    if let Some(e) = b.spans.iter_mut().find(|e| e.span.span_id == p) {
        e.span.events.push(event);
    }
    let declined = b.rng.random_bool(DECLINE_RATE);
    let t = b.rpc(2, p, 3, "Charge", t, |b, p, t| {
        let end = b.db(3, p, 6, "INSERT", "payments", t);
        if declined {
            b.fail_payment(p, end);
        }
        end
    });
    if declined {
        return t;
    }
    let t = b.rpc(2, p, 4, "ShipOrder", t, |b, p, t| {
        b.db(4, p, 6, "INSERT", "shipments", t)
    });
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
            s("messaging.operation", "publish"),
        ],
    );
    let consume_at = t + d + b.millis(5.0);
    let work = b.millis(20.0);
    let trace = b.trace_id.clone();
    let consumer = b.push(
        5,
        &producer,
        "orders process",
        SpanKind::Consumer,
        consume_at,
        work,
        vec![
            s("messaging.system", "kafka"),
            s("messaging.destination.name", "orders"),
            s("messaging.operation", "process"),
            s("email.template", "order-confirmation"),
        ],
    );
    b.last().links.push(Link {
        trace_id: trace,
        span_id: producer.clone(),
        ..Default::default()
    });
    b.db(
        5,
        &consumer,
        6,
        "SELECT",
        "customers",
        consume_at + work / 4,
    );
    t + d
}

/// Deterministic generator of shop traces.
pub struct ShopGenerator {
    rng: StdRng,
    traces: u64,
    /// Browser sessions in progress: id and requests left.
    sessions: Vec<(String, u32)>,
}

/// Browser sessions in progress at once: each trace belongs to one of them at random.
const ACTIVE_SESSIONS: usize = 40;
/// Requests a session makes, at least and at most.
const SESSION_REQUESTS: std::ops::RangeInclusive<u32> = 3..=15;
/// A database client's deadline: a timed-out call lasts a little longer than this.
const DB_TIMEOUT_NS: i64 = 250_000_000;

/// Browsers seen at the frontend (a small, low-cardinality set).
const USER_AGENTS: [&str; 4] = [
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0 Safari/537.36",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_5) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Safari/605.1.15",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:127.0) Gecko/20100101 Firefox/127.0",
];

/// Share of checkouts whose payment is declined (checkouts are 15% of traces: about 1.2%
/// of all traces).
const DECLINE_RATE: f64 = 0.08;
/// Share of traces whose first database call times out (about 0.8% of all traces).
const DB_TIMEOUT_RATE: f64 = 0.008;

impl ShopGenerator {
    /// A generator whose output depends only on `seed`.
    pub fn new(seed: u64) -> Self {
        ShopGenerator {
            rng: StdRng::seed_from_u64(seed),
            traces: 0,
            sessions: Vec::with_capacity(ACTIVE_SESSIONS),
        }
    }

    /// The session of the next request: one of the sessions in progress, or a new one while
    /// fewer than [`ACTIVE_SESSIONS`] are; a session ends after its last request.
    fn session(&mut self) -> String {
        if self.sessions.len() < ACTIVE_SESSIONS {
            let id = format!("sess-{:016x}", self.rng.random::<u64>());
            let requests = self.rng.random_range(SESSION_REQUESTS);
            self.sessions.push((id, requests));
        }
        let at = self.rng.random_range(0..self.sessions.len());
        let (id, left) = &mut self.sessions[at];
        let id = id.clone();
        *left -= 1;
        if *left == 0 {
            self.sessions.swap_remove(at);
        }
        id
    }

    /// Generates one trace starting at `start` (ns); returns its id and its spans by service.
    fn trace(&mut self, start: i64) -> (Vec<u8>, Vec<Emitted>) {
        self.traces += 1;
        let mut trace_id = self.rng.random::<[u8; 16]>().to_vec();
        trace_id[0] |= 1;
        let user = self.rng.random_range(1..1_000_000i64);
        let session = self.session();
        let route = self.rng.random_range(0..100u32);
        let agent = USER_AGENTS[self.rng.random_range(0..USER_AGENTS.len())];
        let db_timeout = self.rng.random_bool(DB_TIMEOUT_RATE);
        let mut b = TraceBuilder {
            rng: &mut self.rng,
            trace_id: trace_id.clone(),
            next_span: 0,
            spans: Vec::new(),
            failed: false,
            fail_next_db: db_timeout,
            session: session.clone(),
        };
        let product = b.rng.random_range(1..5000u32);
        let (method, path, route_name) = match route {
            0..=29 => ("GET", "/cart".to_string(), "/cart"),
            30..=49 => ("POST", "/cart/items".to_string(), "/cart/items"),
            50..=64 => ("POST", "/checkout".to_string(), "/checkout"),
            65..=84 => ("GET", format!("/products/{product}"), "/products/{id}"),
            _ => ("GET", "/products".to_string(), "/products"),
        };
        let root_attrs = vec![
            s("http.request.method", method),
            s("http.route", route_name),
            s("url.path", path.clone()),
            s("url.scheme", "https"),
            s("http.url", format!("https://shop.example.com{path}")),
            s("server.address", "shop.example.com"),
            i("server.port", 443),
            s("user_agent.original", agent),
            i("user.id", user),
            s("highlight.session_id", session),
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
            0..=29 => b.rpc(0, &root, 1, "GetCart", t, |b, p, t| {
                let items = b.rng.random_range(0..=6u32);
                let mut t = b.db(1, p, 7, "HGETALL", "cart", t);
                for _ in 0..items {
                    t = b.db(1, p, 6, "SELECT", "products", t);
                }
                t
            }),
            30..=49 => b.rpc(0, &root, 1, "AddItem", t, |b, p, t| {
                let t = b.db(1, p, 6, "SELECT", "products", t);
                b.db(1, p, 7, "HSET", "cart", t)
            }),
            50..=64 => b.rpc(0, &root, 2, "PlaceOrder", t, |b, p, t| checkout(b, p, t)),
            65..=84 => {
                let t = if b.rng.random_bool(0.5) {
                    b.db(0, &root, 7, "GET", "product", t)
                } else {
                    t
                };
                b.db(0, &root, 6, "SELECT", "products", t)
            }
            _ => {
                let t = b.db(0, &root, 6, "SELECT", "products_search", t);
                let results = b.rng.random_range(1..=23u32);
                let mut t = t;
                let mut misses = 0;
                for _ in 0..results {
                    t = b.db(0, &root, 7, "GET", "product", t);
                    if b.rng.random_bool(0.1) {
                        misses += 1;
                    }
                }
                let n = b.spans.len() - 1;
                b.spans[0]
                    .span
                    .attributes
                    .push(i("search.results", results as i64));
                if misses > 0 {
                    b.spans[n].span.events.push(Event {
                        time_unix_nano: t as u64,
                        name: "cache.miss".into(),
                        attributes: vec![i("cache.misses", misses)],
                        ..Default::default()
                    });
                }
                t
            }
        };
        let end = t + b.millis(0.3);
        let failed = b.failed;
        let root_span = &mut b.spans[0].span;
        root_span.end_time_unix_nano = end as u64;
        let status = if failed { 500 } else { 200 };
        root_span
            .attributes
            .push(i("http.response.status_code", status));
        root_span.events.push(Event {
            time_unix_nano: (start + 1000) as u64,
            name: "request.received".into(),
            attributes: vec![s("user_agent.original", agent)],
            ..Default::default()
        });
        if failed {
            root_span.status = Some(Status {
                code: StatusCode::Error as i32,
                message: "request failed".into(),
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
                        s("service.version", format!("1.{svc}.0")),
                        s("deployment.environment.name", "production"),
                        s("host.name", format!("{}-{}", SERVICES[svc], svc % 3)),
                        i("process.pid", 1000 + svc as i64),
                        s("os.type", "linux"),
                        s("telemetry.sdk.name", "opentelemetry"),
                        s("telemetry.sdk.language", "rust"),
                        s("telemetry.sdk.version", "0.31.0"),
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

/// The value of a string attribute.
fn text_attr<'a>(attrs: &'a [KeyValue], key: &str) -> Option<&'a str> {
    attrs.iter().find(|kv| kv.key == key).and_then(|kv| {
        match kv.value.as_ref()?.value.as_ref()? {
            any_value::Value::StringValue(v) => Some(v.as_str()),
            _ => None,
        }
    })
}

/// The log records the shop's services write while serving the traces of `request`, as the
/// logging libraries of instrumented services would export them: an access log line per
/// frontend request (carrying the session id), an error line per exception and a debug line
/// per cache miss, each inside its span. A pure function of the spans: the generator's
/// random sequence (and so every benchmark data set) does not change.
pub fn logs_of(request: &ExportTraceServiceRequest) -> ExportLogsServiceRequest {
    let record = |span: &Span, at: u64, severity: SeverityNumber, body: String, attrs| LogRecord {
        time_unix_nano: at,
        observed_time_unix_nano: at,
        severity_number: severity as i32,
        severity_text: match severity {
            SeverityNumber::Error => "ERROR",
            SeverityNumber::Debug => "DEBUG",
            _ => "INFO",
        }
        .into(),
        body: Some(AnyValue {
            value: Some(any_value::Value::StringValue(body)),
        }),
        attributes: attrs,
        trace_id: span.trace_id.clone(),
        span_id: span.span_id.clone(),
        flags: 1,
        ..Default::default()
    };
    let resource_logs = request
        .resource_spans
        .iter()
        .filter_map(|rs| {
            let mut records = Vec::new();
            for span in rs.scope_spans.iter().flat_map(|ss| &ss.spans) {
                let session = text_attr(&span.attributes, "highlight.session_id");
                let is_request = span.attributes.iter().any(|kv| kv.key == "http.route");
                if let (Some(session), true) = (session, is_request) {
                    let ms = span
                        .end_time_unix_nano
                        .saturating_sub(span.start_time_unix_nano)
                        as f64
                        / 1e6;
                    let status = span
                        .attributes
                        .iter()
                        .find(|kv| kv.key == "http.response.status_code")
                        .and_then(|kv| match kv.value.as_ref()?.value.as_ref()? {
                            any_value::Value::IntValue(v) => Some(*v),
                            _ => None,
                        })
                        .unwrap_or(200);
                    records.push(record(
                        span,
                        span.end_time_unix_nano,
                        SeverityNumber::Info,
                        format!("{} -> {status} in {ms:.1} ms", span.name),
                        vec![
                            s("highlight.session_id", session),
                            i("http.response.status_code", status),
                            s("logger.name", "access"),
                        ],
                    ));
                }
                for event in &span.events {
                    let body = match event.name.as_str() {
                        "exception" => format!(
                            "{} failed: {}",
                            span.name,
                            text_attr(&event.attributes, "exception.message").unwrap_or("error")
                        ),
                        "cache.miss" => format!("cache miss while serving {}", span.name),
                        _ => continue,
                    };
                    let severity = if event.name == "exception" {
                        SeverityNumber::Error
                    } else {
                        SeverityNumber::Debug
                    };
                    let mut attrs = vec![s("logger.name", "app")];
                    if let Some(session) = session {
                        attrs.push(s("highlight.session_id", session));
                    }
                    records.push(record(span, event.time_unix_nano, severity, body, attrs));
                }
            }
            (!records.is_empty()).then(|| ResourceLogs {
                resource: rs.resource.clone(),
                scope_logs: vec![ScopeLogs {
                    scope: Some(InstrumentationScope {
                        name: "tracehouse-shop".into(),
                        version: "1.0".into(),
                        ..Default::default()
                    }),
                    log_records: records,
                    ..Default::default()
                }],
                ..Default::default()
            })
        })
        .collect();
    ExportLogsServiceRequest { resource_logs }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::{HashMap, HashSet};

    fn spans_of(req: &ExportTraceServiceRequest) -> Vec<&Span> {
        req.resource_spans
            .iter()
            .flat_map(|r| &r.scope_spans)
            .flat_map(|s| &s.spans)
            .collect()
    }

    #[test]
    fn same_seed_same_data_and_sane_trees() {
        let (a, ids_a, n) = ShopGenerator::new(7).request(200, |_| 1_000_000_000);
        let (b, ids_b, _) = ShopGenerator::new(7).request(200, |_| 1_000_000_000);
        assert_eq!(a, b);
        assert_eq!(ids_a, ids_b);
        let (c, _, _) = ShopGenerator::new(8).request(200, |_| 1_000_000_000);
        assert_ne!(a, c, "another seed gives other data");
        let spans = spans_of(&a);
        assert_eq!(spans.len(), n);
        let roots = spans.iter().filter(|s| s.parent_span_id.is_empty()).count();
        assert_eq!(roots, 200);
        let ids: HashSet<(&[u8], &[u8])> = spans
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
    }

    #[test]
    fn shape_span_counts_error_rate_and_attributes() {
        let mut g = ShopGenerator::new(42);
        let mut per_trace: HashMap<Vec<u8>, usize> = HashMap::new();
        let mut failed: HashSet<Vec<u8>> = HashSet::new();
        let mut keys: HashSet<String> = HashSet::new();
        let (mut links, mut events, mut sessions, mut users) = (0, 0, 0, HashSet::new());
        let traces = 10_000;
        for _ in 0..traces / 100 {
            let (req, _, _) = g.request(100, |_| 1_000_000_000);
            for r in &req.resource_spans {
                for kv in r.resource.iter().flat_map(|r| &r.attributes) {
                    keys.insert(kv.key.clone());
                }
            }
            for s in spans_of(&req) {
                *per_trace.entry(s.trace_id.clone()).or_default() += 1;
                if s.events.iter().any(|e| e.name == "exception") {
                    failed.insert(s.trace_id.clone());
                    assert_eq!(
                        s.status.as_ref().map(|st| st.code),
                        Some(StatusCode::Error as i32)
                    );
                }
                events += s.events.iter().filter(|e| e.name != "exception").count();
                links += s.links.len();
                for kv in &s.attributes {
                    keys.insert(kv.key.clone());
                    match kv.key.as_str() {
                        "highlight.session_id" if s.parent_span_id.is_empty() => sessions += 1,
                        "user.id" => {
                            users.insert(format!("{:?}", kv.value));
                        }
                        _ => {}
                    }
                }
            }
        }
        assert_eq!(g.traces, traces as u64);
        assert_eq!(per_trace.len(), traces);
        let (min, max) = (
            per_trace.values().min().copied().unwrap_or(0),
            per_trace.values().max().copied().unwrap_or(0),
        );
        assert!(
            min >= 3 && max <= 50,
            "3 to 50 spans per trace: {min}..{max}"
        );
        assert!(max >= 30, "some traces are large: {max}");
        let rate = failed.len() as f64 / traces as f64;
        assert!((0.012..=0.03).contains(&rate), "about 2% errors: {rate}");
        assert_eq!(sessions, traces, "every frontend trace has a session");
        assert!(
            users.len() > traces * 9 / 10,
            "user ids are high-cardinality"
        );
        assert!(
            links > 0 && events > traces,
            "links {links}, events {events}"
        );
        for key in [
            "http.request.method",
            "http.route",
            "http.response.status_code",
            "url.path",
            "user_agent.original",
            "rpc.system",
            "rpc.method",
            "db.system",
            "db.statement",
            "db.sql.table",
            "messaging.system",
            "server.address",
            "service.name",
            "telemetry.sdk.language",
        ] {
            assert!(keys.contains(key), "{key} is generated");
        }
    }

    #[test]
    fn sessions_span_several_requests_and_failures_belong_to_who_raised_them() {
        let mut g = ShopGenerator::new(5);
        let (req, _, _) = g.request(2_000, |_| 1_000_000_000);
        let mut traces_of: HashMap<String, HashSet<Vec<u8>>> = HashMap::new();
        let mut failing_sessions = HashSet::new();
        let (mut declined, mut timeouts) = (0, 0);
        for rs in &req.resource_spans {
            let service = rs
                .resource
                .as_ref()
                .and_then(|r| text_attr(&r.attributes, "service.name"))
                .unwrap_or_default()
                .to_string();
            for span in rs.scope_spans.iter().flat_map(|ss| &ss.spans) {
                let session = text_attr(&span.attributes, "highlight.session_id");
                if span.parent_span_id.is_empty() {
                    let session = session.expect("a request has a session").to_string();
                    traces_of
                        .entry(session)
                        .or_default()
                        .insert(span.trace_id.clone());
                }
                for e in span.events.iter().filter(|e| e.name == "exception") {
                    let session = session.expect("an exception's span carries the session");
                    failing_sessions.insert(session.to_string());
                    let duration = span.end_time_unix_nano - span.start_time_unix_nano;
                    match text_attr(&e.attributes, "exception.type") {
                        Some("PaymentDeclined") => {
                            declined += 1;
                            assert_eq!(service, "payment", "payment declines the card");
                            assert_eq!(span.kind, SpanKind::Server as i32);
                        }
                        Some("TimeoutError") => {
                            timeouts += 1;
                            assert_eq!(span.kind, SpanKind::Client as i32, "the caller times out");
                            assert!(!["postgres", "redis"].contains(&service.as_str()));
                            assert!(
                                duration >= DB_TIMEOUT_NS as u64,
                                "a 250 ms timeout lasts 250 ms: {duration}"
                            );
                        }
                        other => panic!("unexpected exception {other:?}"),
                    }
                }
            }
        }
        assert!(
            declined > 0 && timeouts > 0,
            "{declined} declines, {timeouts} timeouts"
        );
        let sizes: Vec<usize> = traces_of.values().map(HashSet::len).collect();
        let several = sizes.iter().filter(|&&n| n >= 3).count();
        assert!(
            several * 2 > sizes.len(),
            "most sessions make several requests: {sizes:?}"
        );
        assert!(sizes.iter().all(|&n| n <= 15), "{sizes:?}");
        assert!(
            failing_sessions.len() >= 10,
            "some sessions meet errors: {}",
            failing_sessions.len()
        );
    }

    #[test]
    fn logs_follow_their_spans() {
        let (req, _, _) = ShopGenerator::new(3).request(400, |_| 1_700_000_000_000_000_000);
        let logs = logs_of(&req);
        let records: Vec<&LogRecord> = logs
            .resource_logs
            .iter()
            .flat_map(|r| &r.scope_logs)
            .flat_map(|s| &s.log_records)
            .collect();
        let spans: HashMap<&[u8], &Span> = spans_of(&req)
            .into_iter()
            .map(|s| (s.span_id.as_slice(), s))
            .collect();
        let access = records
            .iter()
            .filter(|r| r.severity_number == SeverityNumber::Info as i32)
            .count();
        assert_eq!(access, 400, "one access line per request");
        let errors = records
            .iter()
            .filter(|r| r.severity_number == SeverityNumber::Error as i32)
            .count();
        let exceptions = spans_of(&req)
            .iter()
            .flat_map(|s| &s.events)
            .filter(|e| e.name == "exception")
            .count();
        assert_eq!(errors, exceptions);
        assert!(errors > 0);
        for r in &records {
            let span = spans[r.span_id.as_slice()];
            assert_eq!(
                r.trace_id, span.trace_id,
                "a record is inside its span's trace"
            );
            assert!(r.time_unix_nano >= span.start_time_unix_nano);
        }
        assert_eq!(logs_of(&req), logs, "deterministic");
    }
}
