//! `tracehouse demo` with Chromium on PATH: its headless visit of the demo shop leaves a
//! browser session with page loads, requests and a replay, and one trace from the browser's
//! fetch span through the shop API's server span to its database span, the session id on both
//! sides. Skipped, saying so, when no Chromium is installed.

use crate::common;

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

/// Chromium-like browsers the demo looks for on PATH.
const BROWSERS: [&str; 4] = [
    "chromium",
    "chromium-browser",
    "google-chrome",
    "google-chrome-stable",
];

fn browser_on_path() -> bool {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path).any(|d| BROWSERS.iter().any(|b| d.join(b).is_file()))
}

async fn get(api: &str, path: &str) -> Value {
    let url = format!("{api}{path}");
    let r = reqwest::get(&url).await.expect("GET");
    assert!(r.status().is_success(), "{url}: {}", r.status());
    r.json().await.expect("JSON")
}

/// The first session of the shop's pages with two page loads and a request, once there is one.
async fn shop_session(api: &str) -> Option<Value> {
    let list = get(api, "/api/v1/sessions").await;
    list["sessions"]
        .as_array()?
        .iter()
        .find(|s| {
            s["services"]
                .as_array()
                .is_some_and(|v| v.contains(&"shop-web".into()))
                && s["page_count"].as_u64() >= Some(2)
                && s["request_count"].as_u64() >= Some(1)
        })
        .cloned()
}

/// The spans of `trace` by service, kind and parent: the browser's fetch → the API's server
/// span → its database span.
fn browser_to_database(spans: &[Value]) -> Option<(&Value, &Value, &Value)> {
    let fetch = spans
        .iter()
        .find(|s| s["service_name"] == "shop-web" && s["kind"] == "client")?;
    let server = spans.iter().find(|s| {
        s["service_name"] == "shop-api"
            && s["kind"] == "server"
            && s["parent_span_id"] == fetch["span_id"]
    })?;
    let db = spans.iter().find(|s| {
        s["service_name"] == "shop-api"
            && s["attributes"]["db.system.name"] == "sqlite"
            && s["parent_span_id"] == server["span_id"]
    })?;
    Some((fetch, server, db))
}

/// The API server span and database span of the session's first trace that runs from the
/// browser's fetch to the database.
async fn browser_trace(api: &str, detail: &Value) -> Option<(Value, Value)> {
    for t in detail["traces"].as_array()? {
        let trace = get(api, &format!("/api/v1/traces/{}", t["trace_id"].as_str()?)).await;
        let spans = trace["spans"].as_array()?.clone();
        if let Some((_, server, db)) = browser_to_database(&spans) {
            return Some((server.clone(), db.clone()));
        }
    }
    None
}

#[tokio::test]
async fn the_demo_drives_its_shop_in_chromium_into_a_session_with_a_replay_and_full_traces() {
    if !browser_on_path() {
        eprintln!("skipped: no chromium or google-chrome on PATH");
        return;
    }
    let tmp = tempfile::tempdir().expect("temp dir");
    let mut child = Command::new(env!("CARGO_BIN_EXE_tracehouse"))
        .arg("demo")
        .args(["--listen", "127.0.0.1:0", "--shop", "127.0.0.1:0"])
        .args(["--otlp-grpc", "127.0.0.1:0", "--otlp-http", "127.0.0.1:0"])
        .args(["--backfill", "0s", "--rate", "1"])
        .env("TMPDIR", tmp.path())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn demo");
    let stdout = child.stdout.take().expect("stdout");
    let mut lines = BufReader::new(stdout).lines().map_while(Result::ok);
    let api = lines
        .find_map(|l| l.trim().strip_prefix("open").map(|u| u.trim().to_string()))
        .expect("the URL to open");
    let api = api.trim_end_matches('/').to_string();
    assert!(
        lines.any(|l| l.starts_with("Visiting the shop with")),
        "the demo says it visits the shop"
    );

    let deadline = Instant::now() + Duration::from_secs(90);
    let session = loop {
        if let Some(s) = shop_session(&api).await {
            break s;
        }
        assert!(Instant::now() < deadline, "no browser session of the shop");
        tokio::time::sleep(Duration::from_millis(500)).await;
    };
    let id = session["session_id"].as_str().unwrap().to_string();
    assert_eq!(session["summary"], "/ → /checkout", "{session}");
    assert!(
        session["browser"].as_str().unwrap_or("").contains("Chrome"),
        "{session}"
    );

    let replay = get(&api, &format!("/api/v1/sessions/{id}/replay")).await;
    assert!(
        !replay["events"].as_array().unwrap().is_empty(),
        "the visit was recorded"
    );

    // The API's spans and errors arrive in the exporter's own batches, after the page's:
    // wait for both sides.
    let (server, db) = loop {
        let detail = get(&api, &format!("/api/v1/sessions/{id}")).await;
        let errors: Vec<String> = detail["errors"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|e| e["service_name"].as_str().map(str::to_string))
            .collect();
        let both_failed = ["shop-web", "shop-api"]
            .iter()
            .all(|s| errors.iter().any(|e| e == s));
        if let (Some(found), true) = (browser_trace(&api, &detail).await, both_failed) {
            break found;
        }
        assert!(
            Instant::now() < deadline,
            "a trace from the browser's fetch to the database, and the coupon failing in the \
             API and in the page: errors from {errors:?}"
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    };
    assert_eq!(server["session_id"], id, "the API span carries the session");
    assert!(
        db["name"].as_str().unwrap().starts_with("SELECT")
            || db["name"].as_str().unwrap().starts_with("INSERT"),
        "{db}"
    );

    // The API's metrics (exported every 10 s): its request durations by route, the order.
    let routes = "/api/v1/metrics/query?metric=http.server.request.duration&fn=count\
                  &filter=service:shop-api&by=http.route";
    loop {
        let answer = get(&api, routes).await;
        let counted: Vec<&str> = answer["series"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|s| s["total"].as_f64() >= Some(1.0))
            .filter_map(|s| s["labels"]["http.route"].as_str())
            .collect();
        let orders = get(
            &api,
            "/api/v1/metrics/query?metric=shop.orders.placed&fn=max",
        )
        .await;
        let placed = orders["series"][0]["total"].as_f64();
        if ["/api/items", "/api/orders"]
            .iter()
            .all(|r| counted.contains(r))
            && placed >= Some(1.0)
        {
            break;
        }
        assert!(
            Instant::now() < deadline + Duration::from_secs(20),
            "the shop API's metrics: routes {counted:?}, orders {placed:?}"
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    }

    common::stop_demo(child, tmp.path());
}
