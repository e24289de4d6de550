//! Interop with Python SDKs, through the real server and its API:
//!
//! * the official OpenTelemetry Python SDK: `tests/python/send_spans.py` sends a trace of
//!   known shape over OTLP/gRPC and over OTLP/HTTP protobuf, and the API must return it field
//!   by field (structure, kinds, typed attributes, event, link, exception + error status,
//!   session id, service fields); `tests/python/send_logs.py` adds the SDK's `logging`
//!   handler and OTLP log exporter, and the trace must come back with its logs (on their
//!   spans) and its errors, findable by log search and in the error groups;
//!   `tests/python/send_metrics.py` uses the SDK's meter provider and OTLP metric exporters
//!   (counter, up-down counter, gauge, explicit and exponential histograms, exemplars
//!   recorded inside a span), and the metrics API must answer exactly the values sent, rates
//!   and percentiles computed by hand, and exemplars that lead to the span's trace;
//! * Highlight's own Python SDK (`highlight-io`): `tests/python/highlight_flask.py` runs a
//!   Flask app that logs and fails inside a request and a job traced with `H.trace`, and
//!   both must show up as traces with their errors, logs and browser session.
//!
//! Needs `python3` with `opentelemetry-sdk` and `opentelemetry-exporter-otlp`, and the
//! virtual environment `target/highlight-venv` with `highlight-io` (or its interpreter in
//! `TRACEHOUSE_HIGHLIGHT_PYTHON`); `scripts/test` installs both. Without them the tests
//! fail; they never skip.

use crate::common;

use std::process::Command;

use common::{TestServer, run_python};
use serde_json::{Value, json};

const SCRIPT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/python/send_spans.py");
const LOGS_SCRIPT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/python/send_logs.py");
const HIGHLIGHT_SCRIPT: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/python/highlight_flask.py"
);
const INSTALL_HINT: &str = "run ./scripts/test, which installs them \
     (pip install opentelemetry-sdk opentelemetry-exporter-otlp; highlight-io into \
     target/highlight-venv), then re-run `cargo test -p tracehouse --test integration interop_python::`";

/// The modules the OpenTelemetry SDK scripts import.
const OTEL_MODULES: &str = "opentelemetry.sdk.trace, opentelemetry.sdk._logs, \
     opentelemetry.exporter.otlp.proto.grpc.trace_exporter, \
     opentelemetry.exporter.otlp.proto.grpc._log_exporter, \
     opentelemetry.exporter.otlp.proto.http.trace_exporter, \
     opentelemetry.exporter.otlp.proto.http._log_exporter";

/// Fails with an actionable message when `python` cannot import `modules`.
fn require_modules(python: &str, modules: &str) {
    let check = Command::new(python)
        .args(["-c", &format!("import {modules}")])
        .output();
    match check {
        Err(e) => panic!("cannot run {python} ({e}): install Python 3 and {INSTALL_HINT}"),
        Ok(out) if !out.status.success() => panic!(
            "{python} cannot import the packages the test needs:\n{}\n{INSTALL_HINT}",
            String::from_utf8_lossy(&out.stderr)
        ),
        Ok(_) => {}
    }
}

/// Fails with an actionable message when python3 or the OpenTelemetry packages are missing.
fn require_python_sdk() {
    require_modules("python3", OTEL_MODULES);
}

/// The interpreter of the virtual environment that holds highlight-io.
fn highlight_python() -> String {
    std::env::var("TRACEHOUSE_HIGHLIGHT_PYTHON").unwrap_or_else(|_| {
        concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../target/highlight-venv/bin/python"
        )
        .to_string()
    })
}

/// What the script reports on stdout.
struct Sent {
    trace_id: String,
    linked_trace_id: String,
    session_id: String,
    spans: Value,
}

impl Sent {
    fn span_id(&self, name: &str) -> &str {
        self.spans[name]
            .as_str()
            .unwrap_or_else(|| panic!("the script did not report span {name:?}: {}", self.spans))
    }
}

/// Runs send_spans.py against `endpoint` with `protocol`.
fn run_script(endpoint: &str, protocol: &str, run_id: &str) -> Sent {
    let out = run_python(
        "python3",
        SCRIPT,
        INSTALL_HINT,
        &[endpoint, protocol, run_id],
    );
    let text = |k: &str| {
        out[k]
            .as_str()
            .unwrap_or_else(|| panic!("send_spans.py output lacks {k:?}: {out}"))
            .to_string()
    };
    Sent {
        trace_id: text("trace_id"),
        linked_trace_id: text("linked_trace_id"),
        session_id: text("session_id"),
        spans: out["spans"].clone(),
    }
}

fn by_name<'a>(spans: &'a [Value], name: &str) -> &'a Value {
    let found: Vec<&Value> = spans.iter().filter(|s| s["name"] == name).collect();
    assert_eq!(
        found.len(),
        1,
        "expected exactly one span named {name:?}: {spans:?}"
    );
    found[0]
}

/// Asserts that `v` is a JSON integer (not a float) equal to `want`.
fn assert_int(v: &Value, want: i64, what: &str) {
    assert!(
        v.is_i64() || v.is_u64(),
        "{what}: expected the integer {want}, got {v} (type lost?)"
    );
    assert_eq!(v.as_i64(), Some(want), "{what}");
}

/// Asserts that `v` is a JSON float (not an integer) equal to `want`.
fn assert_float(v: &Value, want: f64, what: &str) {
    assert!(
        v.is_f64(),
        "{what}: expected the float {want}, got {v} (a Python float must stay a double)"
    );
    assert_eq!(v.as_f64(), Some(want), "{what}");
}

/// The fields every span of the run shares: resource, scope, trace.
fn assert_common(span: &Value, trace_id: &str, protocol: &str) {
    let name = span["name"].as_str().unwrap_or("?");
    let what = format!("[{protocol}] span {name:?}");
    assert_eq!(span["trace_id"], trace_id, "{what}: trace_id");
    assert_eq!(span["service_name"], "py-interop", "{what}: service_name");
    assert_eq!(span["service_version"], "1.4.2", "{what}: service_version");
    assert_eq!(
        span["environment"], "interop-test",
        "{what}: environment from deployment.environment"
    );
    assert_eq!(
        span["scope_name"], "tracehouse.interop",
        "{what}: scope_name"
    );
    assert_eq!(span["scope_version"], "0.9.0", "{what}: scope_version");
    let res = &span["resource_attributes"];
    assert_eq!(
        res["service.name"], "py-interop",
        "{what}: resource service.name"
    );
    assert_eq!(
        res["service.version"], "1.4.2",
        "{what}: resource service.version"
    );
    assert_eq!(
        res["deployment.environment"], "interop-test",
        "{what}: resource deployment.environment"
    );
    assert_eq!(
        res["telemetry.sdk.language"], "python",
        "{what}: the SDK's own resource attributes are kept: {res}"
    );
    assert_eq!(res["telemetry.sdk.name"], "opentelemetry", "{what}: {res}");
    let start = span["start_time_unix_nano"].as_i64().expect("start ns");
    let end = span["end_time_unix_nano"].as_i64().expect("end ns");
    assert!(
        start > 1_700_000_000_000_000_000 && end >= start,
        "{what}: times {start}..{end}"
    );
    assert_eq!(
        span["duration_nanos"].as_i64(),
        Some(end - start),
        "{what}: duration"
    );
    assert_eq!(
        span["dropped_attributes_count"], 0,
        "{what}: nothing dropped"
    );
    assert_eq!(span["dropped_events_count"], 0, "{what}: nothing dropped");
    assert_eq!(span["dropped_links_count"], 0, "{what}: nothing dropped");
}

/// Sends the script's trace with `protocol` into a fresh server and checks it field by field.
async fn send_and_check(protocol: &str) {
    require_python_sdk();
    let server = TestServer::start(&[]);
    let endpoint = match protocol {
        "grpc" => server.grpc.clone(),
        _ => server.http.clone(),
    };
    let run_id = format!("{}-{}", protocol.replace('/', "-"), std::process::id());
    let sent = run_script(&endpoint, protocol, &run_id);

    // The trace the spans were sent in, by id: root, child and grandchild.
    let spans = server.trace(&sent.trace_id).await;
    assert_eq!(
        spans.len(),
        3,
        "[{protocol}] trace {} should hold 3 spans: {spans:?}",
        sent.trace_id
    );
    let root = by_name(&spans, "GET /checkout");
    let child = by_name(&spans, "POST /payments");
    let grandchild = by_name(&spans, "charge card");
    for s in [root, child, grandchild] {
        assert_common(s, &sent.trace_id, protocol);
        assert_eq!(
            s["session_id"],
            json!(sent.session_id),
            "[{protocol}] span {}: session_id from highlight.session_id",
            s["name"]
        );
        assert_eq!(
            s["attributes"]["highlight.session_id"],
            json!(sent.session_id),
            "[{protocol}] span {}: the highlight.session_id attribute is kept too",
            s["name"]
        );
    }

    // Structure and kinds.
    assert_eq!(
        root["span_id"],
        sent.span_id("GET /checkout"),
        "[{protocol}] root span_id"
    );
    assert_eq!(
        child["span_id"],
        sent.span_id("POST /payments"),
        "[{protocol}] child span_id"
    );
    assert_eq!(
        grandchild["span_id"],
        sent.span_id("charge card"),
        "[{protocol}] grandchild span_id"
    );
    assert_eq!(
        root["parent_span_id"],
        Value::Null,
        "[{protocol}] root has no parent: {root}"
    );
    assert_eq!(
        child["parent_span_id"], root["span_id"],
        "[{protocol}] child's parent is the root"
    );
    assert_eq!(
        grandchild["parent_span_id"], child["span_id"],
        "[{protocol}] grandchild's parent is the child"
    );
    assert_eq!(root["kind"], "server", "[{protocol}] root kind");
    assert_eq!(child["kind"], "client", "[{protocol}] child kind");
    assert_eq!(
        grandchild["kind"], "internal",
        "[{protocol}] grandchild kind"
    );
    let t = |s: &Value, k: &str| s[k].as_i64().expect("time");
    assert!(
        t(root, "start_time_unix_nano") <= t(child, "start_time_unix_nano")
            && t(child, "end_time_unix_nano") <= t(root, "end_time_unix_nano")
            && t(child, "start_time_unix_nano") <= t(grandchild, "start_time_unix_nano")
            && t(grandchild, "end_time_unix_nano") <= t(child, "end_time_unix_nano"),
        "[{protocol}] children lie within their parents in time"
    );

    // Attribute types on the root.
    let a = &root["attributes"];
    let what = |k: &str| format!("[{protocol}] root attribute {k}: {a}");
    assert_eq!(
        a["http.request.method"],
        "GET",
        "{}",
        what("http.request.method")
    );
    assert_eq!(a["test.run_id"], json!(run_id), "{}", what("test.run_id"));
    assert_int(
        &a["http.response.status_code"],
        200,
        &what("http.response.status_code"),
    );
    assert_float(&a["app.cart.total"], 12.5, &what("app.cart.total"));
    assert_float(&a["app.cart.ratio"], 3.0, &what("app.cart.ratio (3.0)"));
    assert_eq!(a["app.cart.express"], true, "{}", what("app.cart.express"));
    assert_eq!(
        a["app.cart.items"],
        json!(["apple", "pear"]),
        "{}",
        what("app.cart.items")
    );
    let qty = a["app.cart.quantities"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    assert_eq!(qty.len(), 3, "{}", what("app.cart.quantities"));
    for (i, q) in qty.iter().enumerate() {
        assert_int(q, i as i64 + 1, &what("app.cart.quantities"));
    }
    assert_eq!(
        child["attributes"]["server.address"], "payments.internal",
        "[{protocol}] child attributes: {child}"
    );
    assert_int(
        &child["attributes"]["server.port"],
        8443,
        &format!("[{protocol}] child server.port"),
    );

    // The event on the root.
    let events = root["events"].as_array().cloned().unwrap_or_default();
    assert_eq!(events.len(), 1, "[{protocol}] root events: {events:?}");
    let ev = &events[0];
    assert_eq!(ev["name"], "cart.loaded", "[{protocol}] event name");
    let ev_time = ev["time_unix_nano"].as_i64().expect("event time");
    assert!(
        (t(root, "start_time_unix_nano")..=t(root, "end_time_unix_nano")).contains(&ev_time),
        "[{protocol}] event time {ev_time} within the root span"
    );
    let ea = &ev["attributes"];
    assert_eq!(ea["cart.id"], "c-42", "[{protocol}] event attributes: {ea}");
    assert_int(
        &ea["cart.size"],
        3,
        &format!("[{protocol}] event cart.size"),
    );
    assert_float(
        &ea["cart.weight"],
        1.25,
        &format!("[{protocol}] event cart.weight"),
    );
    assert_eq!(
        ea["cart.cached"], false,
        "[{protocol}] event attributes: {ea}"
    );
    assert_eq!(root["has_error"], false, "[{protocol}] root has no error");
    assert_eq!(root["status_code"], "unset", "[{protocol}] root status");

    // The link on the root, to the span in the other trace.
    let links = root["links"].as_array().cloned().unwrap_or_default();
    assert_eq!(links.len(), 1, "[{protocol}] root links: {links:?}");
    let link = &links[0];
    assert_eq!(
        link["trace_id"],
        json!(sent.linked_trace_id),
        "[{protocol}] link trace_id"
    );
    assert_eq!(
        link["span_id"],
        sent.span_id("enqueue cart"),
        "[{protocol}] link span_id"
    );
    assert_eq!(
        link["attributes"]["link.reason"], "follows",
        "[{protocol}] link: {link}"
    );
    assert_int(
        &link["attributes"]["link.hops"],
        2,
        &format!("[{protocol}] link attribute link.hops"),
    );

    // The child: status OK, no error.
    assert_eq!(
        child["status_code"], "ok",
        "[{protocol}] child status: {child}"
    );
    assert_eq!(child["has_error"], false, "[{protocol}] child has_error");

    // The grandchild: record_exception + error status.
    assert_eq!(
        grandchild["status_code"], "error",
        "[{protocol}] grandchild status: {grandchild}"
    );
    assert_eq!(
        grandchild["status_message"], "card declined",
        "[{protocol}] grandchild status message"
    );
    assert_eq!(
        grandchild["has_error"], true,
        "[{protocol}] grandchild has_error"
    );
    let gev = grandchild["events"].as_array().cloned().unwrap_or_default();
    assert_eq!(gev.len(), 1, "[{protocol}] grandchild events: {gev:?}");
    assert_eq!(gev[0]["name"], "exception", "[{protocol}] exception event");
    let ex = &gev[0]["attributes"];
    assert_eq!(
        ex["exception.type"], "ValueError",
        "[{protocol}] exception attributes: {ex}"
    );
    assert_eq!(
        ex["exception.message"], "card declined",
        "[{protocol}] exception attributes: {ex}"
    );
    let stack = ex["exception.stacktrace"].as_str().unwrap_or("");
    assert!(
        stack.contains("Traceback") && stack.contains("ValueError: card declined"),
        "[{protocol}] exception.stacktrace: {stack:?}"
    );
    assert_int(
        &ex["payment.attempt"],
        1,
        &format!("[{protocol}] exception event attribute payment.attempt"),
    );

    // The linked span, in its own trace.
    let linked = server.trace(&sent.linked_trace_id).await;
    assert_eq!(linked.len(), 1, "[{protocol}] linked trace: {linked:?}");
    let l = &linked[0];
    assert_common(l, &sent.linked_trace_id, protocol);
    assert_eq!(l["name"], "enqueue cart", "[{protocol}] linked span");
    assert_eq!(
        l["span_id"],
        sent.span_id("enqueue cart"),
        "[{protocol}] linked span id"
    );
    assert_eq!(l["kind"], "producer", "[{protocol}] linked span kind");
    assert_eq!(
        l["parent_span_id"],
        Value::Null,
        "[{protocol}] linked span is a root"
    );
    assert_eq!(
        l["session_id"],
        Value::Null,
        "[{protocol}] linked span has no session"
    );
    assert_eq!(
        l["attributes"]["messaging.system"], "kafka",
        "[{protocol}] {l}"
    );

    // The listing finds the run's spans by service too.
    let (status, body) = server
        .get("/api/v1/spans?service=py-interop&limit=1000")
        .await;
    assert_eq!(status, 200, "[{protocol}] list spans: {body}");
    let listed = body["spans"].as_array().map(Vec::len).unwrap_or(0);
    assert_eq!(
        listed, 4,
        "[{protocol}] the 4 spans of the run are listed: {body}"
    );
}

#[tokio::test]
async fn python_sdk_over_otlp_grpc() {
    send_and_check("grpc").await;
}

#[tokio::test]
async fn python_sdk_over_otlp_http_protobuf() {
    send_and_check("http/protobuf").await;
}

/// The JSON array `field` of `body` (empty when absent).
fn list(body: &Value, field: &str) -> Vec<Value> {
    body[field].as_array().cloned().unwrap_or_default()
}

/// The text of `v[key]`, panicking with `v` when it is not a string.
fn text<'a>(v: &'a Value, key: &str) -> &'a str {
    v[key]
        .as_str()
        .unwrap_or_else(|| panic!("{key:?} is not a string in {v}"))
}

/// GET `path`, asserting 200.
async fn get_ok(server: &TestServer, path: &str) -> Value {
    let (status, body) = server.get(path).await;
    assert_eq!(status, 200, "GET {path}: {body}");
    body
}

/// Percent-encodes a query-string value.
fn encode(value: &str) -> String {
    value
        .bytes()
        .map(|b| match b {
            b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// The bodies of the logs `/api/v1/logs/search` finds for `query`.
async fn search_logs(server: &TestServer, query: &str) -> Vec<Value> {
    let body = get_ok(
        server,
        &format!("/api/v1/logs/search?query={}&limit=1000", encode(query)),
    )
    .await;
    list(&body, "logs")
}

/// The one element of `items` for which `pred` holds.
fn only<'a>(items: &'a [Value], what: &str, pred: impl Fn(&Value) -> bool) -> &'a Value {
    let found: Vec<&Value> = items.iter().filter(|v| pred(v)).collect();
    assert_eq!(found.len(), 1, "expected exactly one {what} in {items:#?}");
    found[0]
}

/// Sends send_logs.py's trace, logs and error with `protocol` into a fresh server and checks
/// them through the trace, log search, error group and session APIs.
async fn logs_and_errors(protocol: &str) {
    require_python_sdk();
    let server = TestServer::start(&[]);
    let endpoint = match protocol {
        "grpc" => server.grpc.clone(),
        _ => server.http.clone(),
    };
    let run_id = format!("logs-{}-{}", protocol.replace('/', "-"), std::process::id());
    let out = run_python(
        "python3",
        LOGS_SCRIPT,
        INSTALL_HINT,
        &[&endpoint, protocol, &run_id],
    );
    let trace_id = text(&out, "trace_id");
    let session_id = text(&out, "session_id");
    let root_id = text(&out["spans"], "POST /orders");
    let child_id = text(&out["spans"], "reserve stock");
    let p = protocol;

    // The trace: its spans, its logs oldest first, each on the span it was written in.
    let body = get_ok(&server, &format!("/api/v1/traces/{trace_id}")).await;
    let spans = list(&body, "spans");
    assert_eq!(spans.len(), 2, "[{p}] spans: {spans:#?}");
    let root = by_name(&spans, "POST /orders");
    let logs = list(&body, "logs");
    let bodies: Vec<&str> = logs.iter().map(|l| text(l, "body")).collect();
    assert_eq!(
        bodies,
        [
            "order received for cart-42",
            "reservation failed for sku-7",
            "order rejected"
        ],
        "[{p}] the trace's logs, oldest first: {logs:#?}"
    );
    let (start, end) = (
        root["start_time_unix_nano"].as_i64().expect("start"),
        root["end_time_unix_nano"].as_i64().expect("end"),
    );
    for l in &logs {
        assert_eq!(l["trace_id"], trace_id, "[{p}] {l:#}");
        assert_eq!(l["project_id"], "default", "[{p}] {l:#}");
        assert_eq!(l["service_name"], "py-logs", "[{p}] {l:#}");
        assert_eq!(l["service_version"], "3.1.0", "[{p}] {l:#}");
        assert_eq!(l["environment"], "interop-test", "[{p}] {l:#}");
        assert_eq!(l["scope_name"], "tracehouse.interop.orders", "[{p}] {l:#}");
        assert_eq!(
            l["resource_attributes"]["telemetry.sdk.language"], "python",
            "[{p}] {l:#}"
        );
        let t = l["time_unix_nano"].as_i64().expect("log time");
        assert!(
            (start..=end).contains(&t),
            "[{p}] log time {t} within the root span {start}..{end}: {l:#}"
        );
    }
    let received = &logs[0];
    assert_eq!(received["span_id"], root_id, "[{p}] {received:#}");
    assert_eq!(received["level"], "info", "[{p}] {received:#}");
    assert_int(&received["severity_number"], 9, &format!("[{p}] INFO"));
    assert_eq!(received["severity_text"], "INFO", "[{p}] {received:#}");
    assert_eq!(
        received["session_id"],
        json!(session_id),
        "[{p}] session from the log attribute highlight.session_id: {received:#}"
    );
    assert_int(
        &received["attributes"]["order.items"],
        3,
        &format!("[{p}] log attribute order.items"),
    );
    let failed = &logs[1];
    assert_eq!(failed["span_id"], child_id, "[{p}] {failed:#}");
    assert_eq!(failed["level"], "error", "[{p}] {failed:#}");
    assert_int(&failed["severity_number"], 17, &format!("[{p}] ERROR"));
    let fa = &failed["attributes"];
    assert_eq!(fa["exception.type"], "OutOfStockError", "[{p}] {failed:#}");
    assert_eq!(
        fa["exception.message"], "sku-7 is out of stock",
        "[{p}] {fa}"
    );
    let stack = text(fa, "exception.stacktrace");
    assert!(
        stack.contains("in check_stock")
            && stack.contains("OutOfStockError: sku-7 is out of stock"),
        "[{p}] the log's stacktrace: {stack}"
    );
    let rejected = &logs[2];
    assert_eq!(rejected["span_id"], root_id, "[{p}] {rejected:#}");
    assert_eq!(rejected["level"], "warn", "[{p}] {rejected:#}");
    assert_int(&rejected["severity_number"], 13, &format!("[{p}] WARNING"));

    // Its errors: the span's exception event and the error log, both on the child span.
    let errors = list(&body, "errors");
    assert_eq!(errors.len(), 2, "[{p}] errors: {errors:#?}");
    for source in ["span_event", "log"] {
        let e = only(&errors, source, |e| e["source"] == source);
        assert!(
            text(e, "type").ends_with("OutOfStockError"),
            "[{p}] error type: {e:#}"
        );
        assert_eq!(e["message"], "sku-7 is out of stock", "[{p}] {e:#}");
        assert_eq!(e["trace_id"], trace_id, "[{p}] {e:#}");
        assert_eq!(e["span_id"], child_id, "[{p}] {e:#}");
        assert_eq!(e["service_name"], "py-logs", "[{p}] {e:#}");
        assert!(
            text(e, "stacktrace").contains("in check_stock"),
            "[{p}] error stacktrace: {e:#}"
        );
        assert_eq!(text(e, "fingerprint").len(), 16, "[{p}] {e:#}");
    }

    // Log search: by level, by body text, by trace id, and a log outside any trace.
    let found = search_logs(&server, "level:error").await;
    assert_eq!(found.len(), 1, "[{p}] level:error: {found:#?}");
    assert_eq!(found[0]["body"], "reservation failed for sku-7", "[{p}]");
    let found = search_logs(&server, "\"order received\"").await;
    assert_eq!(found.len(), 1, "[{p}] \"order received\": {found:#?}");
    assert_eq!(found[0]["span_id"], root_id, "[{p}]");
    let found = search_logs(&server, &format!("trace_id:{trace_id}")).await;
    assert_eq!(found.len(), 3, "[{p}] trace_id:…: {found:#?}");
    let found = search_logs(&server, "nightly").await;
    assert_eq!(found.len(), 1, "[{p}] nightly: {found:#?}");
    assert_eq!(found[0]["body"], "nightly cleanup done", "[{p}]");
    assert_eq!(
        found[0]["trace_id"],
        Value::Null,
        "[{p}] a log outside any span has no trace: {found:#?}"
    );
    let found = search_logs(&server, "service:py-logs").await;
    assert_eq!(found.len(), 4, "[{p}] service:py-logs: {found:#?}");

    // Error groups: the exception type shows up, with both occurrences and this trace.
    let groups = list(&get_ok(&server, "/api/v1/errors/groups").await, "groups");
    let matching: Vec<&Value> = groups
        .iter()
        .filter(|g| {
            g["type"]
                .as_str()
                .is_some_and(|t| t.ends_with("OutOfStockError"))
        })
        .collect();
    assert!(
        !matching.is_empty(),
        "[{p}] no OutOfStockError group: {groups:#?}"
    );
    let total: i64 = matching.iter().filter_map(|g| g["count"].as_i64()).sum();
    assert_eq!(total, 2, "[{p}] occurrences over the groups: {matching:#?}");
    for g in &matching {
        assert_eq!(g["message"], "sku-7 is out of stock", "[{p}] {g:#}");
        assert_eq!(g["services"], json!(["py-logs"]), "[{p}] {g:#}");
        assert_eq!(g["trace_count"], 1, "[{p}] {g:#}");
        assert_eq!(g["example_trace_ids"], json!([trace_id]), "[{p}] {g:#}");
        let detail = get_ok(
            &server,
            &format!("/api/v1/errors/groups/{}", text(g, "fingerprint")),
        )
        .await;
        let occurrences = list(&detail, "occurrences");
        assert!(
            !occurrences.is_empty() && occurrences.iter().all(|o| o["trace_id"] == trace_id),
            "[{p}] the group's occurrences link to the trace: {detail:#}"
        );
    }

    // The session of the root span lists the trace and the log that carries the session.
    let session = get_ok(&server, &format!("/api/v1/sessions/{session_id}")).await;
    assert!(
        list(&session, "traces")
            .iter()
            .any(|t| t["trace_id"] == trace_id),
        "[{p}] the session lists the trace: {session:#}"
    );
    assert!(
        list(&session, "logs")
            .iter()
            .any(|l| l["body"] == "order received for cart-42"),
        "[{p}] the session lists the log: {session:#}"
    );
}

#[tokio::test]
async fn python_logging_handler_over_otlp_grpc() {
    logs_and_errors("grpc").await;
}

#[tokio::test]
async fn python_logging_handler_over_otlp_http_protobuf() {
    logs_and_errors("http/protobuf").await;
}

/// Highlight's Python SDK, configured with a project id and tracehouse's OTLP endpoint: a
/// Flask request that logs and fails, and a job traced with `H.trace`, arrive as traces with
/// their errors (type, message, stack), logs and browser session.
#[tokio::test]
async fn highlight_python_sdk_flask_app() {
    let python = highlight_python();
    require_modules(
        &python,
        "highlight_io, highlight_io.integrations.flask, flask",
    );
    let server = TestServer::start(&[]);
    let run_id = format!("highlight-{}", std::process::id());
    // highlight-io exports every signal over OTLP/gRPC.
    let out = run_python(
        &python,
        HIGHLIGHT_SCRIPT,
        INSTALL_HINT,
        &[&server.grpc, &run_id],
    );
    let session_id = text(&out, "session_id");
    let request_id = text(&out, "request_id");
    let project_id = text(&out, "project_id");
    let request_trace = text(&out["request"], "trace_id");
    let request_span = text(&out["request"], "span_id");
    let job_trace = text(&out["job"], "trace_id");
    let job_span = text(&out["job"], "span_id");

    // The request: Highlight's Flask span, carrying the session from X-Highlight-Request.
    let body = get_ok(&server, &format!("/api/v1/traces/{request_trace}")).await;
    let spans = list(&body, "spans");
    let span = only(&spans, "request span", |s| s["span_id"] == request_span);
    assert_eq!(span["name"], "GET /orders/sku-7", "{span:#}");
    assert_eq!(span["service_name"], "py-highlight", "{span:#}");
    assert_eq!(span["service_version"], "2.0.1", "{span:#}");
    assert_eq!(span["environment"], "interop-test", "{span:#}");
    assert_eq!(span["session_id"], json!(session_id), "{span:#}");
    assert_eq!(span["has_error"], true, "{span:#}");
    let a = &span["attributes"];
    assert_eq!(a["highlight.session_id"], json!(session_id), "{a}");
    assert_eq!(a["highlight.trace_id"], json!(request_id), "{a}");
    assert_eq!(a["highlight.project_id"], json!(project_id), "{a}");
    let res = &span["resource_attributes"];
    assert_eq!(
        res["highlight.project_id"],
        json!(project_id),
        "the project id resource attribute is kept: {res}"
    );
    assert_eq!(res["telemetry.distro.name"], "highlight_io", "{res}");
    // Open mode: the project id is accepted and the data lands in the open project.
    assert_eq!(span["project_id"], "default", "{span:#}");
    let exceptions: Vec<&Value> = span["events"]
        .as_array()
        .map(|e| e.iter().filter(|e| e["name"] == "exception").collect())
        .unwrap_or_default();
    assert!(!exceptions.is_empty(), "no exception event: {span:#}");

    let logs = list(&body, "logs");
    let placed = only(&logs, "request log", |l| {
        l["body"] == "placing order for sku-7"
    });
    assert_eq!(placed["span_id"], request_span, "{placed:#}");
    assert_eq!(placed["level"], "info", "{placed:#}");
    assert_eq!(placed["session_id"], json!(session_id), "{placed:#}");
    assert_eq!(placed["service_name"], "py-highlight", "{placed:#}");
    assert_eq!(placed["project_id"], "default", "{placed:#}");
    assert_eq!(
        placed["attributes"]["highlight.project_id"],
        json!(project_id),
        "{placed:#}"
    );

    let errors = list(&body, "errors");
    assert!(!errors.is_empty(), "the request's error: {body:#}");
    for e in &errors {
        assert!(
            text(e, "type").ends_with("InventoryError"),
            "error type: {e:#}"
        );
        assert_eq!(e["message"], "sku-7 is out of stock", "{e:#}");
        assert!(
            text(e, "stacktrace").contains("InventoryError: sku-7 is out of stock")
                && text(e, "stacktrace").contains("in check_stock"),
            "error stack: {e:#}"
        );
        assert_eq!(e["span_id"], request_span, "{e:#}");
        assert_eq!(e["session_id"], json!(session_id), "{e:#}");
    }

    // The job: H.trace records the exception it re-raises; its log is on its span.
    let body = get_ok(&server, &format!("/api/v1/traces/{job_trace}")).await;
    let spans = list(&body, "spans");
    let span = only(&spans, "job span", |s| s["span_id"] == job_span);
    assert_eq!(span["name"], "nightly reindex", "{span:#}");
    assert_eq!(span["has_error"], true, "{span:#}");
    assert_eq!(
        span["session_id"],
        Value::Null,
        "an empty highlight.session_id is no session: {span:#}"
    );
    let logs = list(&body, "logs");
    let reindexing = only(&logs, "job log", |l| l["body"] == "reindexing 3 shards");
    assert_eq!(reindexing["span_id"], job_span, "{reindexing:#}");
    assert_eq!(reindexing["level"], "warn", "{reindexing:#}");
    let errors = list(&body, "errors");
    let e = only(&errors, "job error", |e| {
        e["type"]
            .as_str()
            .is_some_and(|t| t.ends_with("ReindexError"))
    });
    assert_eq!(e["message"], "shard 2 is corrupt", "{e:#}");
    assert!(
        text(e, "stacktrace").contains("ReindexError: shard 2 is corrupt"),
        "{e:#}"
    );

    // Error groups and the session view.
    let groups = list(&get_ok(&server, "/api/v1/errors/groups").await, "groups");
    let group = |suffix: &str| {
        groups
            .iter()
            .find(|g| g["type"].as_str().is_some_and(|t| t.ends_with(suffix)))
            .unwrap_or_else(|| panic!("no {suffix} group: {groups:#?}"))
    };
    let inventory = group("InventoryError");
    assert_eq!(inventory["session_count"], 1, "{inventory:#}");
    assert_eq!(
        inventory["example_trace_ids"],
        json!([request_trace]),
        "{inventory:#}"
    );
    assert_eq!(
        group("ReindexError")["example_trace_ids"],
        json!([job_trace]),
        "{groups:#?}"
    );
    let session = get_ok(&server, &format!("/api/v1/sessions/{session_id}")).await;
    assert!(
        list(&session, "traces")
            .iter()
            .any(|t| t["trace_id"] == request_trace),
        "the session lists the request's trace: {session:#}"
    );
    assert!(
        list(&session, "errors")
            .iter()
            .any(|e| e["span_id"] == request_span),
        "the session lists the request's error: {session:#}"
    );
    assert!(
        list(&session, "logs")
            .iter()
            .any(|l| l["body"] == "placing order for sku-7"),
        "the session lists the request's log: {session:#}"
    );
}

const METRICS_SCRIPT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/python/send_metrics.py");

/// The modules send_metrics.py imports.
const METRICS_MODULES: &str = "opentelemetry.sdk.metrics, \
     opentelemetry.exporter.otlp.proto.grpc.metric_exporter, \
     opentelemetry.exporter.otlp.proto.http.metric_exporter";

/// `GET /api/v1/metrics/query` of `metric` with `fn`, a 1-minute step and `extra`, asserting
/// 200.
async fn metric_query(server: &TestServer, metric: &str, f: &str, extra: &[(&str, &str)]) -> Value {
    let mut params = vec![("metric", metric), ("fn", f), ("step", "1m")];
    params.extend_from_slice(extra);
    let (status, body) = server.get_params("/api/v1/metrics/query", &params).await;
    assert_eq!(status, 200, "{metric} {f}: {body}");
    body
}

/// The whole-window value of the only series of an answer.
fn total(answer: &Value) -> f64 {
    let series = answer["series"].as_array().expect("series");
    assert_eq!(series.len(), 1, "one series: {answer}");
    series[0]["total"]
        .as_f64()
        .unwrap_or_else(|| panic!("no total: {answer}"))
}

/// The SDK's meter provider exports a counter, an up-down counter, a gauge, an explicit and
/// an exponential histogram (their exemplars recorded inside a span); the API answers
/// exactly the values sent, rates and percentiles equal hand-computed ones, and the
/// exemplars lead to the span's trace.
async fn metrics_sent_and_queried(protocol: &str) {
    require_modules("python3", METRICS_MODULES);
    let server = TestServer::start(&[]);
    let endpoint = match protocol {
        "grpc" => server.grpc.clone(),
        _ => server.http.clone(),
    };
    let out = run_python(
        "python3",
        METRICS_SCRIPT,
        INSTALL_HINT,
        &[&endpoint, protocol],
    );
    let trace_id = out["trace_id"].as_str().expect("trace_id").to_string();

    let names = get_ok(&server, "/api/v1/metrics/names").await;
    let types: Vec<(String, String)> = list(&names, "metrics")
        .iter()
        .map(|m| (text(m, "name").to_string(), text(m, "type").to_string()))
        .collect();
    let pairs = [
        ("interop.latency", "histogram"),
        ("interop.payload", "exponential_histogram"),
        ("interop.queue", "sum"),
        ("interop.requests", "sum"),
        ("interop.temperature", "gauge"),
    ];
    let want: Vec<(String, String)> = pairs
        .iter()
        .map(|(n, t)| (n.to_string(), t.to_string()))
        .collect();
    assert_eq!(types, want, "[{protocol}] {names}");

    // The counter's points started in the window (the SDK's start time), so they count
    // from zero: /a 3, /b 2, and the rate is their increase over the window's seconds.
    let by_route = metric_query(&server, "interop.requests", "increase", &[("by", "route")]).await;
    let totals: Vec<(String, f64)> = list(&by_route, "series")
        .iter()
        .map(|s| {
            (
                text(&s["labels"], "route").to_string(),
                s["total"].as_f64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        totals,
        vec![("/a".into(), 3.0), ("/b".into(), 2.0)],
        "[{protocol}]"
    );
    let rate = metric_query(&server, "interop.requests", "rate", &[]).await;
    let seconds =
        (rate["end_ns"].as_i64().unwrap() - rate["start_ns"].as_i64().unwrap()) as f64 / 1e9;
    assert_eq!(total(&rate), 5.0 / seconds, "[{protocol}] rate");
    let queue = metric_query(&server, "interop.queue", "sum", &[]).await;
    assert_eq!(total(&queue), 3.0, "[{protocol}] up-down counter");
    let temperature = metric_query(&server, "interop.temperature", "avg", &[]).await;
    assert_eq!(total(&temperature), 21.5, "[{protocol}] gauge");
    assert_eq!(temperature["unit"], "Cel");

    // Latency 0.5, 3, 4, 7, 12 in (-inf, 1], (1, 5], (5, 10], (10, inf): 1, 2, 1, 1.
    for (f, want) in [
        ("count", 5.0),
        ("sum", 26.5),
        ("p50", 1.0 + 4.0 * 1.5 / 2.0),
        ("p75", 5.0 + 5.0 * 0.75),
        ("p99", 10.0),
    ] {
        let answer = metric_query(&server, "interop.latency", f, &[]).await;
        assert_eq!(total(&answer), want, "[{protocol}] latency {f}");
    }
    let latency = metric_query(&server, "interop.latency", "p50", &[]).await;
    let exemplars = list(&latency["series"][0], "exemplars");
    assert!(!exemplars.is_empty(), "[{protocol}] exemplars: {latency}");
    for e in &exemplars {
        assert_eq!(text(e, "trace_id"), trace_id, "[{protocol}] exemplar {e}");
    }
    let trace = server.trace(&trace_id).await;
    assert_eq!(
        trace.len(),
        1,
        "[{protocol}] the exemplars' trace is stored: {trace:?}"
    );
    assert_eq!(trace[0]["name"], "GET /cart");

    // Payload 1, 2, 4, 8 in exponential buckets: exact count and sum; the median (rank 2)
    // lies in the bucket whose upper bound is 2.
    let count = metric_query(&server, "interop.payload", "count", &[]).await;
    assert_eq!(total(&count), 4.0, "[{protocol}] payload count");
    let avg = metric_query(&server, "interop.payload", "avg", &[]).await;
    assert_eq!(total(&avg), 15.0 / 4.0, "[{protocol}] payload avg");
    let p50 = total(&metric_query(&server, "interop.payload", "p50", &[]).await);
    assert!(
        1.0 < p50 && p50 <= 2.0 + 1e-9,
        "[{protocol}] payload p50 {p50}"
    );
}

#[tokio::test]
async fn python_metrics_over_otlp_grpc() {
    metrics_sent_and_queried("grpc").await;
}

#[tokio::test]
async fn python_metrics_over_otlp_http_protobuf() {
    metrics_sent_and_queried("http/protobuf").await;
}
