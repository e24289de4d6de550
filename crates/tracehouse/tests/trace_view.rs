//! The trace-by-id API on real-world data: clock skew between hosts adjusted on read (and
//! marked, and switchable off), and every stored span returned, those sharing an id too.

use crate::common;

use common::{TestServer, now_ns, service_resource as resource};
use serde_json::{Value, json};

const TRACE: &str = "4bf92f3577b34da6a3ce929d0e0e4736";
const MS: u64 = 1_000_000;

fn span(id: u8, parent: Option<u8>, name: &str, start: u64, end: u64) -> Value {
    let mut s = json!({
        "traceId": TRACE, "spanId": hex::encode([id; 8]), "name": name, "kind": 2,
        "startTimeUnixNano": start.to_string(), "endTimeUnixNano": end.to_string()
    });
    if let Some(p) = parent {
        s["parentSpanId"] = json!(hex::encode([p; 8]));
    }
    s
}

#[tokio::test]
async fn skewed_children_are_moved_into_their_parents_and_marked() {
    let server = TestServer::start(&[]);
    let t = now_ns() - 60_000 * MS;
    // The server's clock runs 300 ms behind the client's: its span starts "before" the
    // call that caused it. A second span shares the client span's id (Zipkin's halves).
    let body = json!({"resourceSpans": [
        resource("frontend", vec![
            span(1, None, "GET /checkout", t, t + 100 * MS),
            span(2, Some(1), "call cart", t + 10 * MS, t + 90 * MS),
        ]),
        resource("cart", vec![
            span(3, Some(2), "POST /cart", t - 300 * MS, t - 240 * MS),
            span(2, Some(1), "call cart (server half)", t - 290 * MS, t - 250 * MS),
        ]),
    ]});
    let resp = server
        .post_traces("application/json", &[], body.to_string().into_bytes())
        .await;
    assert_eq!(resp.status().as_u16(), 200);

    let spans = server.trace(TRACE).await;
    assert_eq!(spans.len(), 4, "every stored span: {spans:?}");
    let by_name = |name: &str| {
        spans
            .iter()
            .find(|s| s["name"] == name)
            .unwrap_or_else(|| panic!("{name}"))
            .clone()
    };
    let child = by_name("POST /cart");
    // 60 ms inside an 80 ms call: 10 ms of network each way.
    let shift = (t + 20 * MS) as i64 - (t - 300 * MS) as i64;
    assert_eq!(child["clock_skew_shift_ns"], json!(shift), "{child}");
    assert_eq!(child["start_time_unix_nano"], json!(t + 20 * MS));
    assert!(by_name("call cart").get("clock_skew_shift_ns").is_none());
    assert!(
        by_name("GET /checkout")
            .get("clock_skew_shift_ns")
            .is_none()
    );

    // Turned off, the stored times come back unmarked.
    let (status, raw) = server
        .get_params(
            &format!("/api/v1/traces/{TRACE}"),
            &[("adjust_clock_skew", "false")],
        )
        .await;
    assert_eq!(status, 200, "{raw}");
    let raw_spans = raw["spans"].as_array().unwrap();
    assert!(
        raw_spans
            .iter()
            .all(|s| s.get("clock_skew_shift_ns").is_none())
    );
    let stored = raw_spans
        .iter()
        .find(|s| s["name"] == "POST /cart")
        .unwrap();
    assert_eq!(stored["start_time_unix_nano"], json!(t - 300 * MS));
}
