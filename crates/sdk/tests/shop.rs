//! End to end: the real `tracehouse` server and the two `shop` example services (storefront
//! exporting spans, logs and metrics over OTLP/gRPC, inventory over OTLP/HTTP), checked
//! through the query API.
//!
//! The binaries are not targets of this package, so the test builds them first with
//! `cargo build -p tracehouse --bin tracehouse -p tracehouse-sdk --example shop` (a no-op
//! when `cargo test --workspace` has just built them) and runs them from the target
//! directory this test binary lives in.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a test's panic is its failure report"
)]

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use serde_json::Value;

/// `<target>/<profile>`, from this test binary's path `<target>/<profile>/deps/shop-…`.
fn profile_dir() -> PathBuf {
    let exe = std::env::current_exe().expect("current exe");
    exe.parent()
        .and_then(Path::parent)
        .expect("test binary lives in <target>/<profile>/deps")
        .to_path_buf()
}

fn build_binaries() {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_string());
    let workspace = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let status = Command::new(cargo)
        .current_dir(&workspace)
        .args([
            "build",
            "-p",
            "tracehouse",
            "--bin",
            "tracehouse",
            "-p",
            "tracehouse-sdk",
            "--example",
            "shop",
        ])
        .status()
        .expect("run cargo build");
    if !status.success() {
        // A build error elsewhere in the workspace: use the binaries of the last good build.
        let dir = profile_dir();
        assert!(
            dir.join("tracehouse").exists() && dir.join("examples").join("shop").exists(),
            "building tracehouse and the shop example failed"
        );
        eprintln!("warning: cargo build failed; testing the binaries already in {dir:?}");
    }
}

/// A child process killed on drop, with the lines of its stdout.
struct Proc {
    child: Child,
    lines: mpsc::Receiver<String>,
    log: PathBuf,
}

impl Proc {
    fn spawn(mut cmd: Command, log: PathBuf) -> Proc {
        let stderr = std::fs::File::create(&log).expect("log file");
        let mut child = cmd
            .stdout(Stdio::piped())
            .stderr(Stdio::from(stderr))
            .spawn()
            .expect("spawn");
        let stdout = child.stdout.take().expect("stdout");
        let (tx, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        Proc { child, lines, log }
    }

    /// The second word of the first stdout line whose first word is `label`.
    fn wait_for(&mut self, label: &str) -> String {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(line) => {
                    let words: Vec<&str> = line.split_whitespace().collect();
                    if words.first() == Some(&label)
                        && let Some(url) = words.iter().find(|w| w.starts_with("http://"))
                    {
                        return url.trim_end_matches("/v1/traces").to_string();
                    }
                }
                Err(_) => {
                    let _ = self.child.kill();
                    let log = std::fs::read_to_string(&self.log).unwrap_or_default();
                    panic!("no `{label}` line; log:\n{log}");
                }
            }
        }
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

async fn get_json(url: &str) -> Value {
    let resp = reqwest::get(url).await.expect("GET");
    resp.json().await.unwrap_or(Value::Null)
}

/// Polls the trace until `done` holds for its list `field` (`spans`, `logs`), which it
/// returns (or panics after 30 s).
async fn wait_trace_list(
    api: &str,
    trace_id: &str,
    field: &str,
    done: impl Fn(&[Value]) -> bool,
) -> Vec<Value> {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let body = get_json(&format!("{api}/api/v1/traces/{trace_id}")).await;
        let list = body[field].as_array().cloned().unwrap_or_default();
        if done(&list) {
            return list;
        }
        assert!(
            Instant::now() < deadline,
            "trace {trace_id}: {field} incomplete: {body:#}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// Polls the trace until `done` holds for its spans (or panics after 30 s).
async fn wait_trace(api: &str, trace_id: &str, done: impl Fn(&[Value]) -> bool) -> Vec<Value> {
    wait_trace_list(api, trace_id, "spans", done).await
}

/// The log record whose body is `body`.
fn log_with_body<'a>(logs: &'a [Value], body: &str) -> &'a Value {
    logs.iter()
        .find(|l| l["body"] == body)
        .unwrap_or_else(|| panic!("no log {body:?} in {logs:#?}"))
}

/// Polls `/api/v1/metrics/query?{query}&by={label}` until its series' totals, by the
/// label's value, are `want` (or panics after 30 s).
async fn wait_metric_totals(api: &str, query: &str, label: &str, want: &[(&str, f64)]) {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let body = get_json(&format!("{api}/api/v1/metrics/query?{query}&by={label}")).await;
        let mut got: Vec<(String, f64)> = body["series"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|s| {
                Some((
                    s["labels"][label].as_str()?.to_string(),
                    s["total"].as_f64()?,
                ))
            })
            .collect();
        got.sort_by(|a, b| a.0.cmp(&b.0));
        if got
            .iter()
            .map(|(l, v)| (l.as_str(), *v))
            .eq(want.iter().copied())
        {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "{query}: {got:?}, not {want:?}: {body:#}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

fn find<'a>(spans: &'a [Value], what: &str, pred: impl Fn(&Value) -> bool) -> &'a Value {
    spans
        .iter()
        .find(|s| pred(s))
        .unwrap_or_else(|| panic!("no {what} span in {spans:#?}"))
}

fn named<'a>(spans: &'a [Value], service: &str, name: &str) -> &'a Value {
    find(spans, name, |s| {
        s["service_name"] == service && s["name"] == name
    })
}

fn child_of(child: &Value, parent: &Value) {
    assert_eq!(
        child["parent_span_id"], parent["span_id"],
        "{} should be a child of {}",
        child["name"], parent["name"]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shop_traces_cross_services_with_sessions_errors_and_arguments() {
    build_binaries();
    let bin = profile_dir();
    let tmp = tempfile::tempdir().expect("tmp");

    let mut server_cmd = Command::new(bin.join("tracehouse"));
    server_cmd
        .arg("serve")
        .arg("--data-dir")
        .arg(tmp.path().join("data"))
        .args([
            "--listen",
            "127.0.0.1:0",
            "--otlp-grpc",
            "127.0.0.1:0",
            "--otlp-http",
            "127.0.0.1:0",
        ]);
    let mut server = Proc::spawn(server_cmd, tmp.path().join("server.log"));
    let api = server.wait_for("api");
    let grpc = server.wait_for("otlp-grpc");
    let http = server.wait_for("otlp-http");

    let shop = |role: &str, endpoint: &str, protocol: &str| {
        let mut cmd = Command::new(bin.join("examples").join("shop"));
        cmd.args([role, "--listen", "127.0.0.1:0"])
            .env("TRACEHOUSE_ENDPOINT", endpoint)
            .env("TRACEHOUSE_PROTOCOL", protocol)
            .env("OTEL_BSP_SCHEDULE_DELAY", "100")
            .env("OTEL_BLRP_SCHEDULE_DELAY", "100")
            .env("OTEL_METRIC_EXPORT_INTERVAL", "200")
            .env("RUST_LOG", "info");
        cmd
    };
    let mut inventory = Proc::spawn(
        shop("inventory", &http, "http/protobuf"),
        tmp.path().join("inventory.log"),
    );
    let inventory_url = inventory.wait_for("inventory");
    let mut storefront_cmd = shop("storefront", &grpc, "grpc");
    storefront_cmd.args(["--inventory", &inventory_url]);
    let mut storefront = Proc::spawn(storefront_cmd, tmp.path().join("storefront.log"));
    let storefront_url = storefront.wait_for("storefront");
    let client = reqwest::Client::new();

    // 1. An outside caller's traceparent: one trace across both services.
    let trace_id = "4bf92f3577b34da6a3ce929d0e0e4736";
    let caller_span = "00f067aa0ba902b7";
    let resp = client
        .get(format!("{storefront_url}/checkout/tea?quantity=2"))
        .header("traceparent", format!("00-{trace_id}-{caller_span}-01"))
        .send()
        .await
        .expect("checkout");
    assert_eq!(resp.status(), 200);
    let body: Value = resp.json().await.expect("json");
    assert_eq!(body["in_stock"], true, "{body}");

    let spans = wait_trace(&api, trace_id, |s| {
        s.iter().any(|s| s["name"] == "SELECT items") && s.len() >= 6
    })
    .await;
    let front = named(&spans, "shop-storefront", "GET /checkout/{sku}");
    assert_eq!(front["kind"], "server");
    assert_eq!(front["parent_span_id"], caller_span);
    let a = &front["attributes"];
    assert_eq!(a["http.request.method"], "GET");
    assert_eq!(a["http.route"], "/checkout/{sku}");
    assert_eq!(a["url.path"], "/checkout/tea");
    assert_eq!(a["url.query"], "quantity=2");
    assert_eq!(a["http.response.status_code"], 200);
    assert_eq!(a["client.address"], "127.0.0.1");
    assert_eq!(
        front["resource_attributes"]["telemetry.distro.name"],
        "tracehouse-sdk"
    );

    // #[instrument] arguments as attributes; the `log` record as a span event.
    let checkout = named(&spans, "shop-storefront", "checkout");
    child_of(checkout, front);
    assert_eq!(checkout["attributes"]["sku"], "tea");
    // tracing-opentelemetry records unsigned integers as strings (a u64 may not fit an i64).
    let quantity = &checkout["attributes"]["quantity"];
    assert!(*quantity == 2 || *quantity == "2", "{quantity}");
    assert!(
        checkout["events"].as_array().is_some_and(|e| e
            .iter()
            .any(|e| e.to_string().contains("checking out 2 x tea"))),
        "log bridge event missing: {checkout:#}"
    );

    let outgoing = named(&spans, "shop-storefront", "GET");
    assert_eq!(outgoing["kind"], "client");
    child_of(outgoing, checkout);
    assert_eq!(outgoing["attributes"]["http.request.method"], "GET");
    assert_eq!(
        outgoing["attributes"]["url.full"],
        format!("{inventory_url}/items/tea")
    );
    assert_eq!(outgoing["attributes"]["http.response.status_code"], 200);

    let back = named(&spans, "shop-inventory", "GET /items/{sku}");
    assert_eq!(back["kind"], "server");
    child_of(back, outgoing);
    assert_eq!(back["attributes"]["http.route"], "/items/{sku}");

    let lookup = named(&spans, "shop-inventory", "lookup");
    child_of(lookup, back);
    assert_eq!(lookup["attributes"]["sku"], "tea");

    let db = named(&spans, "shop-inventory", "SELECT items");
    child_of(db, lookup);
    assert_eq!(db["kind"], "client");
    assert_eq!(db["attributes"]["db.system.name"], "sqlite");
    assert_eq!(
        db["attributes"]["db.query.text"],
        "SELECT name, stock FROM items WHERE sku = ?"
    );
    assert!(spans.iter().all(|s| s["has_error"] == false), "{spans:#?}");

    // The request's `log` record and `tracing` event as OTLP log records in the trace (the
    // storefront's over gRPC, the inventory's over HTTP), each on the span it happened in.
    let logs = wait_trace_list(&api, trace_id, "logs", |l| {
        l.iter().any(|l| l["body"] == "checking out 2 x tea")
            && l.iter().any(|l| l["body"] == "stock looked up")
    })
    .await;
    let checking = log_with_body(&logs, "checking out 2 x tea");
    assert_eq!(checking["trace_id"], trace_id, "{checking:#}");
    assert_eq!(checking["span_id"], checkout["span_id"], "{checking:#}");
    assert_eq!(checking["service_name"], "shop-storefront", "{checking:#}");
    assert_eq!(checking["level"], "info", "{checking:#}");
    assert_eq!(checking["severity_text"], "INFO", "{checking:#}");
    // The log crate's record keeps its real location, not the bridge's.
    assert_eq!(
        checking["attributes"]["code.filename"], "shop.rs",
        "{checking:#}"
    );
    assert_eq!(
        checking["resource_attributes"]["telemetry.distro.name"], "tracehouse-sdk",
        "{checking:#}"
    );
    let looked_up = log_with_body(&logs, "stock looked up");
    assert_eq!(looked_up["trace_id"], trace_id, "{looked_up:#}");
    assert_eq!(looked_up["span_id"], lookup["span_id"], "{looked_up:#}");
    assert_eq!(looked_up["service_name"], "shop-inventory", "{looked_up:#}");
    assert_eq!(looked_up["attributes"]["found"], true, "{looked_up:#}");
    assert_eq!(
        looked_up["attributes"]["code.filename"], "shop.rs",
        "{looked_up:#}"
    );
    assert!(
        logs.iter().all(|l| l["trace_id"] == trace_id),
        "only the trace's own logs: {logs:#?}"
    );

    // 2. A browser request with x-highlight-request: the session id lands on the trace.
    let resp = client
        .get(format!("{storefront_url}/checkout/mug"))
        .header("x-highlight-request", "sess-7Hq2/req-91")
        .send()
        .await
        .expect("checkout mug");
    assert_eq!(resp.status(), 200);
    let deadline = Instant::now() + Duration::from_secs(30);
    let session_span = loop {
        let list = get_json(&format!(
            "{api}/api/v1/spans?service=shop-storefront&limit=100"
        ))
        .await;
        let found = list["spans"]
            .as_array()
            .and_then(|s| s.iter().find(|s| s["session_id"] == "sess-7Hq2").cloned());
        if let Some(span) = found {
            break span;
        }
        assert!(
            Instant::now() < deadline,
            "no span with the session: {list:#}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    assert_eq!(session_span["name"], "GET /checkout/{sku}");
    assert_eq!(
        session_span["attributes"]["highlight.session_id"],
        "sess-7Hq2"
    );
    assert_eq!(session_span["attributes"]["highlight.trace_id"], "req-91");
    let session_trace = session_span["trace_id"].as_str().expect("trace id");
    let spans = wait_trace(&api, session_trace, |s| {
        s.iter().any(|s| s["service_name"] == "shop-inventory")
    })
    .await;
    assert!(spans.iter().any(|s| s["name"] == "SELECT items"));

    // 3. A failing handler: an exception event with the source chain, status error.
    let failing_trace = "0af7651916cd43dd8448eb211c80319c";
    let resp = client
        .get(format!("{storefront_url}/reserve"))
        .header(
            "traceparent",
            format!("00-{failing_trace}-b7ad6b7169203331-01"),
        )
        .send()
        .await
        .expect("reserve");
    assert_eq!(resp.status(), 502);
    let spans = wait_trace(&api, failing_trace, |s| {
        s.iter()
            .any(|s| s["name"] == "GET /reserve" && s["service_name"] == "shop-inventory")
            && s.iter().any(|s| s["name"] == "INSERT reservations")
            && s.len() >= 4
    })
    .await;
    let failed = named(&spans, "shop-inventory", "GET /reserve");
    assert_eq!(failed["status_code"], "error");
    assert_eq!(failed["has_error"], true);
    assert_eq!(failed["attributes"]["http.response.status_code"], 500);
    let exception = failed["events"]
        .as_array()
        .and_then(|e| e.iter().find(|e| e["name"] == "exception"))
        .unwrap_or_else(|| panic!("no exception event: {failed:#}"));
    let ea = &exception["attributes"];
    assert!(
        ea["exception.type"]
            .as_str()
            .is_some_and(|t| t.ends_with("ReservationError")),
        "{ea}"
    );
    assert_eq!(ea["exception.message"], "could not reserve stock");
    let stack = ea["exception.stacktrace"].as_str().unwrap_or_default();
    assert!(
        stack.starts_with("could not reserve stock\ncaused by: ")
            && stack.contains("no such table"),
        "{stack}"
    );
    let insert = named(&spans, "shop-inventory", "INSERT reservations");
    child_of(insert, failed);
    assert_eq!(insert["status_code"], "error");
    let proxy = named(&spans, "shop-storefront", "GET /reserve");
    assert_eq!(proxy["status_code"], "error");
    assert_eq!(proxy["attributes"]["http.response.status_code"], 502);

    // 4. Metrics, exported every 200 ms: the storefront's counter and histogram over gRPC,
    // the inventory's counter over HTTP, with the values of the requests above.
    wait_metric_totals(
        &api,
        "metric=shop.orders.placed&fn=max",
        "sku",
        &[("mug", 1.0), ("tea", 1.0)],
    )
    .await;
    wait_metric_totals(
        &api,
        "metric=shop.checkout.duration&fn=count",
        "outcome",
        &[("placed", 2.0)],
    )
    .await;
    wait_metric_totals(
        &api,
        "metric=shop.stock.lookups&fn=max&filter=service:shop-inventory",
        "found",
        &[("true", 2.0)],
    )
    .await;
    // The server layer's request durations, by route.
    wait_metric_totals(
        &api,
        "metric=http.server.request.duration&fn=count&filter=service:shop-storefront",
        "http.route",
        &[("/checkout/{sku}", 2.0), ("/reserve", 1.0)],
    )
    .await;
    let names = get_json(&format!("{api}/api/v1/metrics/names")).await;
    let duration = names["metrics"]
        .as_array()
        .and_then(|m| m.iter().find(|m| m["name"] == "shop.checkout.duration"))
        .unwrap_or_else(|| panic!("no shop.checkout.duration in {names:#}"));
    assert_eq!(duration["type"], "histogram", "{duration}");
    assert_eq!(duration["unit"], "s", "{duration}");

    drop(storefront);
    drop(inventory);
}
