//! Analyses of traces answered by the API on the spans as answered, after clock-skew
//! adjustment: the critical path (`critical_path=true` on the trace route), statistics and the
//! comparison of two traces.

use crate::common;

use common::{TestServer, now_ns, service_resource as resource};
use serde_json::{Value, json};

const TRACE: &str = "5bf92f3577b34da6a3ce929d0e0e4736";
const MS: u64 = 1_000_000;

/// A span of `TRACE` of kind `kind` (OTLP number), `start`..`end` ms after `t`.
fn span(id: u8, parent: Option<u8>, name: &str, kind: u8, t: u64, times: (u64, u64)) -> Value {
    span_of(TRACE, id, parent, name, kind, t, times)
}

/// A span of trace `trace`.
fn span_of(
    trace: &str,
    id: u8,
    parent: Option<u8>,
    name: &str,
    kind: u8,
    t: u64,
    (start, end): (u64, u64),
) -> Value {
    let mut s = json!({
        "traceId": trace, "spanId": hex::encode([id; 8]), "name": name, "kind": kind,
        "startTimeUnixNano": (t + start * MS).to_string(),
        "endTimeUnixNano": (t + end * MS).to_string()
    });
    if let Some(p) = parent {
        s["parentSpanId"] = json!(hex::encode([p; 8]));
    }
    s
}

/// Sends the checkout trace and returns its time origin.
async fn post_checkout(server: &TestServer) -> u64 {
    let t = now_ns() - 60_000 * MS;
    // The cart's clock runs 300 ms behind: its server span is moved into the client call
    // (60 ms centred in 70 ms: 25..85). The worker consumes what the frontend published: the
    // frontend does not wait for it, though it runs past the request's end.
    let cart_skew = 300;
    let body = json!({"resourceSpans": [
        resource("frontend", vec![
            span(1, None, "GET /checkout", 2, t, (0, 100)),
            span(2, Some(1), "publish order", 4, t, (5, 15)),
            span(3, Some(1), "call cart", 3, t, (20, 90)),
        ]),
        resource("cart", vec![
            span(4, Some(3), "POST /cart", 2, t - cart_skew * MS, (0, 60)),
        ]),
        resource("worker", vec![
            span(5, Some(2), "consume order", 5, t, (30, 150)),
        ]),
    ]});
    let resp = server
        .post_traces("application/json", &[], body.to_string().into_bytes())
        .await;
    assert_eq!(resp.status().as_u16(), 200);
    t
}

#[tokio::test]
async fn the_critical_path_is_answered_as_sections_of_the_adjusted_spans() {
    let server = TestServer::start(&[]);
    let t = post_checkout(&server).await;
    let (status, trace) = server
        .get(&format!("/api/v1/traces/{TRACE}?critical_path=true"))
        .await;
    assert_eq!(status, 200, "{trace}");
    let spans = trace["spans"].as_array().unwrap();
    let path: Vec<(String, u64, u64)> = trace["critical_path"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            let span = &spans[s["span_index"].as_u64().unwrap() as usize];
            assert_eq!(span["span_id"], s["span_id"]);
            let ms = |k: &str| (s[k].as_u64().unwrap() - t) / MS;
            (
                span["name"].as_str().unwrap().to_string(),
                ms("start_unix_nano"),
                ms("end_unix_nano"),
            )
        })
        .collect();
    let expected = [
        ("GET /checkout", 0, 5),
        ("publish order", 5, 15),
        ("GET /checkout", 15, 20),
        ("call cart", 20, 25),
        ("POST /cart", 25, 85),
        ("call cart", 85, 90),
        ("GET /checkout", 90, 100),
    ];
    let expected: Vec<(String, u64, u64)> = expected
        .iter()
        .map(|&(n, s, e)| (n.to_string(), s, e))
        .collect();
    assert_eq!(path, expected);

    // Without the flag the answer has no path; a flag that is not a boolean is refused.
    let (_, plain) = server.get(&format!("/api/v1/traces/{TRACE}")).await;
    assert!(plain.get("critical_path").is_none(), "{plain}");
    let (status, body) = server
        .get(&format!("/api/v1/traces/{TRACE}?critical_path=maybe"))
        .await;
    assert_eq!(status, 400, "{body}");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("critical_path"),
        "{body}"
    );
}

/// Statistics rows as (value, count, total ms, self ms).
fn assert_rows(rows: &Value, expected: &[(&str, u64, u64, u64)]) {
    let ms = |v: &Value| v.as_u64().unwrap() / MS;
    let got: Vec<_> = rows
        .as_array()
        .unwrap()
        .iter()
        .map(|g| {
            (
                g["value"].as_str().unwrap(),
                g["count"].as_u64().unwrap(),
                ms(&g["total_ns"]),
                ms(&g["self_ns"]),
            )
        })
        .collect();
    assert_eq!(got, expected, "{rows}");
}

#[tokio::test]
async fn statistics_group_the_adjusted_spans_with_self_time() {
    let server = TestServer::start(&[]);
    post_checkout(&server).await;
    let (status, stats) = server
        .get(&format!(
            "/api/v1/traces/{TRACE}/stats?by=service&then=name"
        ))
        .await;
    assert_eq!(status, 200, "{stats}");
    assert_eq!(stats["trace_duration_ns"], json!(150 * MS));
    // (value, count, total ms, self ms): the consumer's 120 ms are its own; the request's
    // own time is what its calls and the publish do not cover.
    assert_rows(
        &stats["groups"],
        &[
            ("worker", 1, 120, 120),
            ("cart", 1, 60, 60),
            ("frontend", 3, 180, 40),
        ],
    );
    let frontend = &stats["groups"][2];
    assert_eq!(frontend["self_share"].as_f64().unwrap(), 40.0 / 150.0);
    assert_rows(
        &frontend["subgroups"],
        &[
            ("GET /checkout", 1, 100, 20),
            ("call cart", 1, 70, 10),
            ("publish order", 1, 10, 10),
        ],
    );
    // Span indexes name the spans of the trace route.
    let spans = server.trace(TRACE).await;
    let worker = stats["groups"][0]["span_indexes"][0].as_u64().unwrap() as usize;
    assert_eq!(spans[worker]["name"], "consume order");

    for (query, needle) in [
        ("by=", "by must be"),
        (
            &*format!("by=service&then={}", "k".repeat(257)),
            "then must be",
        ),
        ("by=service&then", "then must be"),
    ] {
        let (status, body) = server
            .get(&format!("/api/v1/traces/{TRACE}/stats?{query}"))
            .await;
        assert_eq!(status, 400, "{query}: {body}");
        assert!(
            body["error"]["message"].as_str().unwrap().contains(needle),
            "{body}"
        );
    }
    let (status, _) = server
        .get("/api/v1/traces/0123456789abcdef0123456789abcdef/stats")
        .await;
    assert_eq!(status, 404);
}

#[tokio::test]
async fn a_comparison_reports_the_retry_and_the_slower_database_call() {
    let server = TestServer::start(&[]);
    let t = now_ns() - 60_000 * MS;
    let (normal, slow) = (
        "6bf92f3577b34da6a3ce929d0e0e4736",
        "7bf92f3577b34da6a3ce929d0e0e4736",
    );
    let s = |trace, id, parent, name, times| span_of(trace, id, parent, name, 1, t, times);
    // The slow checkout retries the charge and its SELECT takes 30 ms longer; every other
    // span keeps its own time.
    let body = json!({"resourceSpans": [
        resource("web", vec![
            s(normal, 1, None, "GET /checkout", (0, 100)),
            s(slow, 1, None, "GET /checkout", (0, 150)),
        ]),
        resource("api", vec![
            s(normal, 2, Some(1), "charge", (10, 40)),
            s(normal, 4, Some(1), "load cart", (50, 90)),
            s(slow, 2, Some(1), "charge", (10, 40)),
            s(slow, 6, Some(1), "charge", (40, 60)),
            s(slow, 4, Some(1), "load cart", (70, 140)),
        ]),
        resource("db", vec![
            s(normal, 3, Some(2), "INSERT", (15, 35)),
            s(normal, 5, Some(4), "SELECT", (55, 85)),
            s(slow, 3, Some(2), "INSERT", (15, 35)),
            s(slow, 7, Some(6), "INSERT", (45, 55)),
            s(slow, 5, Some(4), "SELECT", (75, 135)),
        ]),
    ]});
    let resp = server
        .post_traces("application/json", &[], body.to_string().into_bytes())
        .await;
    assert_eq!(resp.status().as_u16(), 200);

    let (status, c) = server
        .get(&format!("/api/v1/traces/compare?a={normal}&b={slow}"))
        .await;
    assert_eq!(status, 200, "{c}");
    assert_eq!(c["a_duration_ns"], json!(100 * MS));
    assert_eq!(c["b_duration_ns"], json!(150 * MS));
    assert_eq!(
        (c["added_subtrees"].as_u64(), c["missing_subtrees"].as_u64()),
        (Some(1), Some(0))
    );
    let rows = c["rows"].as_array().unwrap();
    let summary: Vec<String> = rows
        .iter()
        .map(|r| {
            format!(
                "{}{} {}",
                "  ".repeat(r["depth"].as_u64().unwrap() as usize),
                r["name"].as_str().unwrap(),
                r["presence"].as_str().unwrap()
            )
        })
        .collect();
    assert_eq!(
        summary,
        [
            "GET /checkout both",
            "  charge both",
            "    INSERT both",
            "  charge added",
            "    INSERT added",
            "  load cart both",
            "    SELECT both",
        ]
    );
    let changed = |field: &str| -> Vec<(String, i64)> {
        rows.iter()
            .filter_map(|r| {
                let d = r[field].as_i64()?;
                (d != 0).then(|| (r["name"].as_str().unwrap().to_string(), d / MS as i64))
            })
            .collect()
    };
    assert_eq!(changed("self_diff_ns"), [("SELECT".to_string(), 30)]);
    assert_eq!(
        changed("duration_diff_ns"),
        [
            ("GET /checkout".to_string(), 50),
            ("load cart".to_string(), 30),
            ("SELECT".to_string(), 30)
        ]
    );

    for (query, status_wanted) in [
        (format!("a={normal}"), 400),
        (format!("a={normal}&b=xyz"), 400),
        (
            format!("a={normal}&b=0123456789abcdef0123456789abcdef"),
            404,
        ),
    ] {
        let (status, body) = server.get(&format!("/api/v1/traces/compare?{query}")).await;
        assert_eq!(status, status_wanted, "{query}: {body}");
        assert!(body["error"]["message"].is_string(), "{body}");
    }
}

#[tokio::test]
async fn a_typical_trace_is_the_other_root_of_the_operation_closest_to_its_median() {
    let server = TestServer::start(&[]);
    let t = now_ns() - 600_000 * MS;
    let id = |n: u8| hex::encode([n; 16]);
    // Spans of "GET /cart" on the web service: the slow root examined, other roots of 10 to
    // 100 ms and a 34 ms child (the median of all seven is 35 ms: the 35 ms root is chosen,
    // the 34 ms span is no root, the 33 ms root is farther).
    let durations: [(u8, u64); 7] = [
        (1, 900),
        (2, 10),
        (3, 33),
        (4, 35),
        (5, 60),
        (6, 100),
        (7, 34),
    ];
    let mut web = Vec::new();
    for (n, ms) in durations {
        let offset = u64::from(n) * 1_000;
        web.push(span_of(
            &id(n),
            1,
            None,
            "GET /cart",
            2,
            t + offset * MS,
            (0, ms),
        ));
    }
    // Trace 7's 34 ms span is not a root: it is a child, never a candidate.
    web[6] = span_of(&id(7), 2, Some(1), "GET /cart", 2, t + 7_000 * MS, (0, 34));
    // Another operation, and another service with the same span name.
    web.push(span_of(&id(8), 1, None, "GET /home", 2, t, (0, 34)));
    let body = json!({"resourceSpans": [
        resource("web", web),
        resource("api", vec![span_of(&id(9), 1, None, "GET /cart", 2, t, (0, 34))]),
    ]});
    let resp = server
        .post_traces("application/json", &[], body.to_string().into_bytes())
        .await;
    assert_eq!(resp.status().as_u16(), 200);

    let (status, typical) = server
        .get(&format!("/api/v1/traces/{}/typical", id(1)))
        .await;
    assert_eq!(status, 200, "{typical}");
    assert_eq!(typical["trace_id"], json!(id(4)), "{typical}");
    assert_eq!(typical["duration_ns"], json!(35 * MS));
    let median = typical["median_ns"].as_f64().unwrap();
    assert!((median - 35.0e6).abs() <= 35.0e6 * 0.01, "{typical}");
    assert_eq!(
        (typical["service"].as_str(), typical["name"].as_str()),
        (Some("web"), Some("GET /cart"))
    );
    // From the typical trace itself, another one is chosen.
    let (status, back) = server
        .get(&format!("/api/v1/traces/{}/typical", id(4)))
        .await;
    assert_eq!(status, 200, "{back}");
    assert_ne!(back["trace_id"], json!(id(4)), "{back}");

    // The only trace of its operation has no typical trace; an unknown trace is a 404 too.
    for missing in [id(8), id(99)] {
        let (status, body) = server
            .get(&format!("/api/v1/traces/{missing}/typical"))
            .await;
        assert_eq!(status, 404, "{missing}: {body}");
        assert!(body["error"]["message"].as_str().is_some(), "{body}");
    }
    let (status, body) = server.get("/api/v1/traces/xyz/typical").await;
    assert_eq!(status, 400, "{body}");
}
