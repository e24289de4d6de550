//! Interop with the official OpenTelemetry Python SDK: `tests/python/send_spans.py` sends a
//! trace of known shape over OTLP/gRPC and over OTLP/HTTP protobuf, and the API must return it
//! field by field (structure, kinds, typed attributes, event, link, exception + error status,
//! session id, service fields).
//!
//! Needs `python3` with `opentelemetry-sdk` and `opentelemetry-exporter-otlp` installed (the
//! README's test command installs them). Without them the tests fail; they never skip.

mod common;

use std::io::Read;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::TestServer;
use serde_json::{Value, json};

const SCRIPT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/python/send_spans.py");
const INSTALL_HINT: &str = "run the README's test command, which installs them \
     (pip install opentelemetry-sdk opentelemetry-exporter-otlp), then re-run \
     `cargo test -p tracehouse --test interop_python`";

/// Fails with an actionable message when python3 or the OpenTelemetry packages are missing.
fn require_python_sdk() {
    let check = Command::new("python3")
        .args([
            "-c",
            "import opentelemetry.sdk.trace, \
             opentelemetry.exporter.otlp.proto.grpc.trace_exporter, \
             opentelemetry.exporter.otlp.proto.http.trace_exporter",
        ])
        .output();
    match check {
        Err(e) => panic!("cannot run python3 ({e}): install Python 3 and {INSTALL_HINT}"),
        Ok(out) if !out.status.success() => panic!(
            "the OpenTelemetry Python packages are not importable:\n{}\n{INSTALL_HINT}",
            String::from_utf8_lossy(&out.stderr)
        ),
        Ok(_) => {}
    }
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

/// Runs the script against `endpoint` with `protocol`, bounded in time.
fn run_script(endpoint: &str, protocol: &str, run_id: &str) -> Sent {
    let mut child = Command::new("python3")
        .arg(SCRIPT)
        .args([endpoint, protocol, run_id])
        // Exporter settings come from the arguments only, not from the environment.
        .env_remove("OTEL_EXPORTER_OTLP_ENDPOINT")
        .env_remove("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")
        .env_remove("OTEL_EXPORTER_OTLP_HEADERS")
        .env_remove("OTEL_RESOURCE_ATTRIBUTES")
        .env_remove("OTEL_SERVICE_NAME")
        .env("OTEL_SDK_DISABLED", "false")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run python3 {SCRIPT}: {e}; {INSTALL_HINT}"));
    let deadline = Instant::now() + Duration::from_secs(120);
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait for python3") {
            break status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("send_spans.py ({protocol}) did not finish within 120 s");
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let mut stdout = String::new();
    let mut stderr = String::new();
    if let Some(mut s) = child.stdout.take() {
        let _ = s.read_to_string(&mut stdout);
    }
    if let Some(mut s) = child.stderr.take() {
        let _ = s.read_to_string(&mut stderr);
    }
    assert!(
        status.success(),
        "send_spans.py {endpoint} {protocol} failed ({status}):\nstdout: {stdout}\nstderr: {stderr}"
    );
    let out: Value = serde_json::from_str(stdout.trim()).unwrap_or_else(|e| {
        panic!("send_spans.py printed no JSON ({e}):\nstdout: {stdout}\nstderr: {stderr}")
    });
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
