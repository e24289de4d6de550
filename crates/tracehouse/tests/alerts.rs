//! Alerts end to end: the real server evaluates an error-rate rule and notifies a real HTTP
//! receiver started here. Traffic crosses the threshold and back: exactly one firing and
//! one resolved notification arrive with the documented bodies (generic webhook and Slack),
//! a restart in between keeps the rule and its firing state (the resolution is notified
//! after it), the cooldown suppresses the next firing, a receiver answering 500 is retried
//! with the outcome in the history, and the firing's link opens the failed spans behind it.
//! Bad rules are refused with precise 400s.

use crate::common;

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::post;
use common::{TestServer, now_ns};
use opentelemetry_proto::tonic::trace::v1::{Span as OtlpSpan, Status, status};
use serde_json::{Value, json};

const KEY: (&str, &str) = ("x-tracehouse-key", "shop-key");
const FLAGS: &[&str] = &[
    "--project",
    "shop=shop-key",
    "--alert-tick",
    "200ms",
    "--alert-webhook-backoff",
    "200ms",
    "--alert-webhook-timeout",
    "2s",
];

/// What the receiver got: (path, body), in arrival order.
type Received = Arc<Mutex<Vec<(String, Value)>>>;

/// Starts the receiver: `/hook` and `/slack` answer 200, `/flaky` answers 500 to its first
/// request (the firing's first attempt), then 200.
async fn receiver() -> (String, Received) {
    let got: Received = Arc::default();
    let app = axum::Router::new()
        .route("/{path}", post(receive))
        .with_state(got.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (url, got)
}

async fn receive(
    State(got): State<Received>,
    Path(path): Path<String>,
    Json(body): Json<Value>,
) -> StatusCode {
    let mut got = got.lock().unwrap();
    got.push((path.clone(), body));
    let flaky_calls = got.iter().filter(|(p, _)| p == "flaky").count();
    if path == "flaky" && flaky_calls == 1 {
        StatusCode::INTERNAL_SERVER_ERROR
    } else {
        StatusCode::OK
    }
}

fn bodies(got: &Received, path: &str) -> Vec<Value> {
    let got = got.lock().unwrap();
    got.iter()
        .filter(|(p, _)| p == path)
        .map(|(_, b)| b.clone())
        .collect()
}

/// Sends `method` to an API path with the project key and a JSON body.
async fn send(s: &TestServer, method: &str, path: &str, body: Option<Value>) -> (u16, Value) {
    let method = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
    let mut req = reqwest::Client::new()
        .request(method, format!("{}{path}", s.api))
        .header(KEY.0, KEY.1);
    if let Some(b) = body {
        req = req.json(&b);
    }
    let resp = req.send().await.expect("request");
    let status = resp.status().as_u16();
    (status, resp.json().await.unwrap_or(Value::Null))
}

/// `n` spans of checkout starting now, `failed` of them with an error status.
async fn traffic(s: &TestServer, n: usize, failed: usize) {
    let now = now_ns();
    let spans = (0..n)
        .map(|i| {
            let mut trace_id = [7u8; 16];
            trace_id[..8].copy_from_slice(&now.to_be_bytes());
            trace_id[15] = i as u8;
            OtlpSpan {
                trace_id: trace_id.to_vec(),
                span_id: vec![1, 2, 3, 4, 5, 6, 7, i as u8 + 1],
                name: "POST /pay".into(),
                start_time_unix_nano: now - 1_000_000,
                end_time_unix_nano: now,
                status: (i < failed).then(|| Status {
                    code: status::StatusCode::Error as i32,
                    message: "card declined".into(),
                }),
                ..Default::default()
            }
        })
        .collect();
    s.post_service_spans(KEY, "checkout", spans).await;
}

/// Waits until `done` holds, failing after 20 s with `what`.
async fn until(what: &str, mut done: impl FnMut() -> bool) {
    let start = Instant::now();
    while !done() {
        assert!(
            start.elapsed() < Duration::from_secs(20),
            "timed out: {what}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn history(s: &TestServer, id: &str) -> Vec<Value> {
    let (status, body) = send(
        s,
        "GET",
        &format!("/api/v1/alerts/{id}/history?limit=500"),
        None,
    )
    .await;
    assert_eq!(status, 200, "{body}");
    body["events"].as_array().unwrap().clone()
}

/// Waits until the rule's history has an entry for which `pick` holds, and returns it.
async fn event(s: &TestServer, id: &str, pick: impl Fn(&Value) -> bool) -> Value {
    let start = Instant::now();
    loop {
        if let Some(e) = history(s, id).await.into_iter().find(|e| pick(e)) {
            return e;
        }
        assert!(
            start.elapsed() < Duration::from_secs(20),
            "no such history entry"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

fn rule(url: &str) -> Value {
    json!({
        "name": "checkout errors",
        "source": "spans",
        "query": "service:checkout",
        "function": "error_rate",
        "window_s": 3,
        "threshold": 0.5,
        "comparison": ">",
        "interval_s": 1,
        "cooldown_s": 600,
        "channels": [
            {"kind": "webhook", "url": format!("{url}/hook")},
            {"kind": "slack", "url": format!("{url}/slack")},
            {"kind": "webhook", "url": format!("{url}/flaky")},
        ],
    })
}

// Multi-threaded: the receiver keeps answering while the test blocks on the server's exit.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_error_rate_rule_fires_and_resolves_once_across_a_restart_then_cools_down() {
    let (url, got) = receiver().await;
    let dir = tempfile::tempdir().unwrap();
    let mut s = TestServer::start_in(dir.path(), FLAGS);
    let (status, created) = send(&s, "POST", "/api/v1/alerts", Some(rule(&url))).await;
    assert_eq!(status, 201, "{created}");
    let id = created["id"].as_str().unwrap().to_string();

    // Healthy traffic, then mostly failures: the rate crosses 0.5.
    traffic(&s, 4, 0).await;
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert!(
        bodies(&got, "hook").is_empty(),
        "no alert on healthy traffic"
    );
    traffic(&s, 8, 8).await;
    until("the firing notification", || {
        !bodies(&got, "hook").is_empty()
    })
    .await;
    let firing = bodies(&got, "hook")[0].clone();
    assert_eq!(firing["version"], 1);
    assert_eq!(firing["status"], "firing");
    assert_eq!(firing["project"], "shop");
    assert_eq!(firing["rule"]["id"], id.as_str());
    assert_eq!(firing["rule"]["function"], "error_rate");
    assert_eq!(firing["rule"]["comparison"], ">");
    assert_eq!(firing["group"], "");
    assert!(firing["value"].as_f64().unwrap() > 0.5, "{firing}");
    assert_eq!(firing["link"]["query"], "service:checkout");
    assert!(
        firing["url"]
            .as_str()
            .unwrap()
            .contains("/?query=service%3Acheckout&start=")
    );

    // The link opens the failed spans behind the firing.
    let link = &firing["link"];
    let (start, end) = (link["start_ns"].to_string(), link["end_ns"].to_string());
    let query = format!("{} status_code:error", link["query"].as_str().unwrap());
    let (_, _, found) = s
        .get_as(
            "/api/v1/spans/search",
            &[("query", &query), ("start", &start), ("end", &end)],
            KEY,
        )
        .await;
    assert_eq!(found["spans"].as_array().unwrap().len(), 8, "{found}");

    // A restart keeps the rule and its firing state.
    let (_, listed) = send(&s, "GET", "/api/v1/alerts", None).await;
    assert_eq!(
        listed["alerts"][0]["state"]["groups"][0]["status"],
        "firing"
    );
    assert!(s.terminate(), "clean shutdown");
    let s = TestServer::start_in(dir.path(), FLAGS);
    let (status, kept) = send(&s, "GET", &format!("/api/v1/alerts/{id}"), None).await;
    assert_eq!(status, 200, "{kept}");
    assert_eq!(kept["rule"]["name"], "checkout errors");

    // Healthy traffic only: once the failures leave the window, the firing resolves, and
    // the resolution is notified because the stored state remembers the notified firing.
    traffic(&s, 4, 0).await;
    until("the resolved notification", || {
        bodies(&got, "hook").len() == 2
    })
    .await;
    let resolved = bodies(&got, "hook")[1].clone();
    assert_eq!(resolved["status"], "resolved");
    assert_eq!(resolved["rule"]["id"], id.as_str());

    // Failures again within the cooldown: firing, but not notified.
    traffic(&s, 8, 8).await;
    let suppressed = event(&s, &id, |e| e["kind"] == "suppressed").await;
    assert_eq!(suppressed["to"], "firing");
    tokio::time::sleep(Duration::from_millis(1000)).await;
    let hook = bodies(&got, "hook");
    assert_eq!(
        hook.iter()
            .map(|b| b["status"].as_str().unwrap())
            .collect::<Vec<_>>(),
        ["firing", "resolved"],
        "exactly one firing and one resolved notification"
    );

    // The Slack channel got the same two as incoming-webhook bodies.
    let slack = bodies(&got, "slack");
    assert_eq!(slack.len(), 2);
    let text = slack[0]["text"].as_str().unwrap();
    assert!(
        text.starts_with("[FIRING] checkout errors: error_rate ")
            && text.contains("> 0.5 over 3 s"),
        "{text}"
    );
    assert_eq!(slack[0]["blocks"][0]["text"]["text"], text);
    assert!(slack[1]["text"].as_str().unwrap().starts_with("[RESOLVED]"));

    // The 500 was retried; the history says how many attempts each delivery took.
    let flaky = format!("{url}/flaky");
    let retried = event(&s, &id, |e| {
        e["kind"] == "delivery" && e["channel"] == flaky.as_str() && e["to"] == "firing"
    })
    .await;
    assert_eq!(retried["delivered"], true, "{retried}");
    assert_eq!(retried["attempts"], 2, "{retried}");
    let fired = event(&s, &id, |e| e["kind"] == "state" && e["to"] == "firing").await;
    assert_eq!(fired["link"]["source"], "spans");
}

#[tokio::test]
async fn bad_rules_are_refused_with_what_is_wrong() {
    let (url, _) = receiver().await;
    let s = TestServer::start(FLAGS);
    let with = |field: &str, value: Value| {
        let mut r = rule(&url);
        r[field] = value;
        r
    };
    let cases = [
        (with("query", json!("service:(")), "expected"),
        (
            with("function", json!("median")),
            "unknown variant `median`",
        ),
        (
            with("window_s", json!(0)),
            "window_s must be between 1 and 86400 seconds, not 0",
        ),
        (with("window_s", json!(-60)), "not -60"),
        (
            with(
                "channels",
                json!([{"kind": "webhook", "url": "ftp://hooks.example.com/x"}]),
            ),
            "must start with http:// or https://",
        ),
        (with("function", json!("p95")), ""),
    ];
    for (body, says) in cases {
        let (status, answer) = send(&s, "POST", "/api/v1/alerts", Some(body.clone())).await;
        if says.is_empty() {
            assert_eq!(status, 201, "{body}: {answer}");
            continue;
        }
        assert_eq!(status, 400, "{body}: {answer}");
        let message = answer["error"]["message"].as_str().unwrap();
        assert!(message.contains(says), "{message}");
    }
    let (status, answer) = send(
        &s,
        "POST",
        "/api/v1/alerts",
        Some(with("query", json!("service:checkout AND ("))),
    )
    .await;
    assert_eq!(status, 400);
    assert!(
        answer["error"]["start"].as_u64().is_some(),
        "the position: {answer}"
    );
    let logs_p95 = json!({"source": "logs", "function": "p95", "name": "x", "window_s": 60,
        "threshold": 1, "comparison": ">"});
    let (status, answer) = send(&s, "POST", "/api/v1/alerts", Some(logs_p95)).await;
    assert_eq!(status, 400);
    assert!(
        answer["error"]["message"]
            .as_str()
            .unwrap()
            .contains("p95 does not apply to logs")
    );
    // Rules are the project's own, replaced and deleted by id.
    let (_, list) = send(&s, "GET", "/api/v1/alerts", None).await;
    let id = list["alerts"][0]["rule"]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let (status, replaced) = send(
        &s,
        "PUT",
        &format!("/api/v1/alerts/{id}"),
        Some(with("threshold", json!(0.9))),
    )
    .await;
    assert_eq!((status, replaced["threshold"].as_f64()), (200, Some(0.9)));
    let (status, _) = send(&s, "PUT", "/api/v1/alerts/nope", Some(rule(&url))).await;
    assert_eq!(status, 404);
    let (status, _) = send(&s, "PATCH", &format!("/api/v1/alerts/{id}"), None).await;
    assert_eq!(status, 405);
    let (status, _) = send(&s, "DELETE", &format!("/api/v1/alerts/{id}"), None).await;
    assert_eq!(status, 204);
    let (status, _) = send(&s, "GET", &format!("/api/v1/alerts/{id}"), None).await;
    assert_eq!(status, 404);
}
