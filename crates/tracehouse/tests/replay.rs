//! Session replay through the real server: chunks posted to `POST /v1/replay` (gzipped or
//! not, with a project or browser key, from an allowed origin) come back in order from
//! `GET /api/v1/sessions/{id}/replay`, a resent chunk once; oversize and malformed chunks
//! get precise refusals.

use crate::common;

use std::io::Write;

use common::TestServer;
use serde_json::{Value, json};

const SHOP: &str = "https://shop.example.com";

fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64
}

/// A chunk of two events whose text names it.
fn chunk(session: &str, sequence: u32) -> Value {
    let t = now_ms() - 60_000 + u64::from(sequence) * 1_000;
    json!({
        "session_id": session,
        "sequence": sequence,
        "events": [
            {"type": 3, "timestamp": t, "data": {"text": format!("chunk {sequence}")}},
            {"type": 3, "timestamp": t + 10, "data": {}},
        ],
    })
}

fn gzip(body: &[u8]) -> Vec<u8> {
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    enc.write_all(body).unwrap();
    enc.finish().unwrap()
}

async fn post(s: &TestServer, headers: &[(&str, &str)], body: Vec<u8>) -> (u16, Value) {
    let resp = s
        .post_otlp("/v1/replay", "application/json", headers, body)
        .await;
    let status = resp.status().as_u16();
    (status, resp.json().await.unwrap_or(Value::Null))
}

async fn post_chunk(s: &TestServer, key: &str, c: &Value) -> (u16, Value) {
    let body = gzip(&serde_json::to_vec(c).unwrap());
    let headers = [("x-tracehouse-key", key), ("content-encoding", "gzip")];
    post(s, &headers, body).await
}

/// The texts of the first events of a session's chunks, through the API.
async fn texts(s: &TestServer, session: &str, key: &str) -> Vec<String> {
    let (status, body) = s
        .get_with_key(&format!("/api/v1/sessions/{session}/replay"), Some(key))
        .await;
    assert_eq!(status, 200, "{body}");
    assert!(body["next_after"].is_null(), "{body}");
    body["events"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|e| e["data"]["text"].as_str().map(String::from))
        .collect()
}

#[tokio::test]
async fn chunks_come_back_in_order_once_per_project() {
    let s = TestServer::start(&[
        "--project",
        "shop=secret",
        "--browser-key",
        "shop=public",
        "--project",
        "other=other-secret",
        "--cors-origin",
        SHOP,
    ]);
    for seq in [1, 0, 2, 1] {
        let (status, body) = post_chunk(&s, "public", &chunk("s1", seq)).await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(
            body,
            json!({"session_id": "s1", "sequence": seq, "event_count": 2})
        );
    }
    // Not gzipped, with the project's own key.
    let plain = serde_json::to_vec(&chunk("s1", 3)).unwrap();
    let (status, body) = post(&s, &[("x-tracehouse-key", "secret")], plain).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        texts(&s, "s1", "secret").await,
        ["chunk 0", "chunk 1", "chunk 2", "chunk 3"]
    );
    assert!(texts(&s, "s1", "other-secret").await.is_empty(), "no leak");
    let (status, _) = s
        .get_with_key("/api/v1/sessions/s1/replay", Some("public"))
        .await;
    assert_eq!(status, 403, "a browser key cannot read");
    let (status, body) = s
        .get_with_key("/api/v1/sessions/s1/replay?after=x", Some("secret"))
        .await;
    assert_eq!(status, 400, "{body}");
    // Paging from a sequence.
    let (_, body) = s
        .get_with_key("/api/v1/sessions/s1/replay?after=2", Some("secret"))
        .await;
    assert_eq!(body["chunks"], 1);
    assert_eq!(body["events"][0]["data"]["text"], "chunk 3");

    // Without a key, or with an unknown one: 401.
    let (status, body) = post(&s, &[], serde_json::to_vec(&chunk("s1", 9)).unwrap()).await;
    assert_eq!(status, 401, "{body}");
    assert!(body["error"]["message"].is_string(), "{body}");

    // A browser at the allowed origin may send; the preflight allows it.
    let pre = reqwest::Client::new()
        .request(reqwest::Method::OPTIONS, format!("{}/v1/replay", s.http))
        .header("origin", SHOP)
        .header("access-control-request-method", "POST")
        .header(
            "access-control-request-headers",
            "content-type,content-encoding,x-tracehouse-key",
        )
        .send()
        .await
        .unwrap();
    assert!(pre.status().is_success());
    assert_eq!(
        pre.headers()["access-control-allow-origin"]
            .to_str()
            .unwrap(),
        SHOP
    );
}

#[tokio::test]
async fn oversize_and_malformed_chunks_are_refused_precisely() {
    let s = TestServer::start(&[]);
    let refused = |status: u16, says: &'static str| {
        move |(got, body): (u16, Value)| {
            assert_eq!(got, status, "{body}");
            let message = body["error"]["message"].as_str().unwrap().to_string();
            assert!(message.contains(says), "{message}");
        }
    };
    refused(400, "invalid replay chunk")(post(&s, &[], b"{\"session_id\":".to_vec()).await);
    refused(400, "events[0] has no numeric \"timestamp\"")(
        post(
            &s,
            &[],
            br#"{"session_id":"s","sequence":0,"events":[{"type":3}]}"#.to_vec(),
        )
        .await,
    );
    refused(400, "invalid gzip")(post(&s, &[("content-encoding", "gzip")], b"nope".to_vec()).await);
    // 4 MiB of events, well compressed: refused once inflated past the limit.
    let mut big = chunk("s", 0);
    big["events"][0]["data"]["text"] = json!("x".repeat(5 << 20));
    let body = gzip(&serde_json::to_vec(&big).unwrap());
    refused(413, "limit")(post(&s, &[("content-encoding", "gzip")], body).await);
    let resp = s
        .post_otlp("/v1/replay", "text/plain", &[], b"{}".to_vec())
        .await;
    assert_eq!(resp.status().as_u16(), 415);
    let (status, body) = s.get("/api/v1/sessions/s/replay").await;
    assert_eq!(
        (status, body["events"].clone()),
        (200, json!([])),
        "nothing stored"
    );
}
