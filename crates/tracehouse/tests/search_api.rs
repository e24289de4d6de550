//! The search API over HTTP: teaching parse errors, span and trace search with cursors,
//! histogram, keys and values — on Jaeger's `example_trace.json` (5 spans, 3 services).

use crate::common;

use common::{TestServer, shared_dir};
use serde_json::Value;

/// 2017-01-26T16:46:31.639875Z, the start of every span of the example trace.
const T: i64 = 1_485_449_191_639_875_000;
const START: i64 = T - 60_000_000_000;
const END: i64 = T + 60_000_000_000;

async fn get(server: &TestServer, path: &str, params: &[(&str, &str)]) -> (u16, Value) {
    let mut all: Vec<(&str, String)> = vec![("start", START.to_string()), ("end", END.to_string())];
    all.extend(params.iter().map(|(k, v)| (*k, v.to_string())));
    let url = reqwest::Url::parse_with_params(&format!("{}{path}", server.api), &all).expect("url");
    let resp = reqwest::get(url).await.expect("GET");
    let status = resp.status().as_u16();
    (status, resp.json().await.unwrap_or(Value::Null))
}

fn span_names(body: &Value) -> Vec<&str> {
    body["spans"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|s| s["name"].as_str())
        .collect()
}

#[tokio::test]
async fn search_endpoints_answer_and_bad_queries_teach() {
    let server = TestServer::start(&["--retention", "forever"]);
    let body = std::fs::read(
        shared_dir().join("fixtures/jaeger-storage-integration/traces/example_trace.json"),
    )
    .expect("fixture");
    let resp = server.post_traces("application/json", &[], body).await;
    assert_eq!(resp.status().as_u16(), 200);

    // A bad query: 400 with the position and what was expected.
    let (status, body) = get(
        &server,
        "/api/v1/spans/search",
        &[("query", "service:(a OR")],
    )
    .await;
    assert_eq!(status, 400, "{body}");
    let err = &body["error"];
    assert!(
        err["message"].as_str().is_some_and(|m| !m.is_empty()),
        "{body}"
    );
    assert!(
        err["start"].as_u64().is_some() && err["end"].as_u64().is_some(),
        "{body}"
    );
    assert!(err["expected"].is_array(), "{body}");
    for path in ["/api/v1/traces/search", "/api/v1/spans/histogram"] {
        let (status, body) = get(&server, path, &[("query", "duration>")]).await;
        assert_eq!(status, 400, "{path}: {body}");
        assert!(body["error"]["start"].is_u64(), "{path}: {body}");
    }
    let (status, _) = get(&server, "/api/v1/spans/search", &[("sort", "sideways")]).await;
    assert_eq!(status, 400);
    let (status, _) = get(&server, "/api/v1/spans/search", &[("cursor", "nothex")]).await;
    assert_eq!(status, 400);

    // Ordered by any key: span search only.
    let (status, body) = get(
        &server,
        "/api/v1/spans/search",
        &[("sort", "span_name:desc")],
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let names: Vec<&str> = body["spans"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        [4, 3, 2, 1, 1].map(|n| format!("example-operation-{n}")),
        "{body}"
    );
    for (path, sort) in [
        ("/api/v1/spans/search", "span_name:sideways"),
        ("/api/v1/traces/search", "span_name:desc"),
        ("/api/v1/logs/search", "service_name:asc"),
    ] {
        let (status, body) = get(&server, path, &[("sort", sort)]).await;
        assert_eq!(status, 400, "{path} {sort}: {body}");
        assert!(body["error"]["message"].as_str().is_some(), "{body}");
    }

    // Span search with paging.
    let (status, body) = get(
        &server,
        "/api/v1/spans/search",
        &[("query", "service:example-service-1"), ("limit", "2")],
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["spans"].as_array().map(Vec::len), Some(2));
    let cursor = body["next_cursor"]
        .as_str()
        .expect("a next page")
        .to_string();
    let (_, body) = get(
        &server,
        "/api/v1/spans/search",
        &[
            ("query", "service:example-service-1"),
            ("limit", "2"),
            ("cursor", &cursor),
        ],
    )
    .await;
    assert_eq!(body["spans"].as_array().map(Vec::len), Some(1), "{body}");
    assert!(body["next_cursor"].is_null());
    let (_, body) = get(&server, "/api/v1/spans/search", &[("query", "kind:client")]).await;
    assert_eq!(span_names(&body), vec!["example-operation-4"]);

    // TraceQL, asked with `lang=traceql`, on the same routes.
    let (status, body) = get(
        &server,
        "/api/v1/spans/search",
        &[("query", "{ kind = client }"), ("lang", "traceql")],
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(span_names(&body), vec!["example-operation-4"]);
    let (status, body) = get(
        &server,
        "/api/v1/traces/search",
        &[
            (
                "query",
                "{ kind = server } && { kind = client } | count() > 1",
            ),
            ("lang", "traceql"),
        ],
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["traces"].as_array().map(Vec::len), Some(1), "{body}");
    let (status, body) = get(
        &server,
        "/api/v1/spans/search",
        &[("query", "{ trace:duration > 1s }"), ("lang", "traceql")],
    )
    .await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(
        (
            body["error"]["start"].as_u64(),
            body["error"]["end"].as_u64()
        ),
        (Some(2), Some(16)),
        "{body}"
    );
    let (status, _) = get(&server, "/api/v1/spans/search", &[("lang", "sql")]).await;
    assert_eq!(status, 400);
    let (status, _) = get(
        &server,
        "/api/v1/logs/search",
        &[("query", "{ }"), ("lang", "traceql")],
    )
    .await;
    assert_eq!(status, 400);

    // Trace search.
    let (status, body) = get(
        &server,
        "/api/v1/traces/search",
        &[("query", "kind:server")],
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let traces = body["traces"].as_array().expect("traces");
    assert_eq!(traces.len(), 1);
    assert_eq!(traces[0]["trace_id"], "00000000000000000000000000000011");
    assert_eq!(traces[0]["span_count"], 5);
    assert_eq!(
        traces[0]["services"],
        serde_json::json!([
            "example-service-1",
            "example-service-2",
            "example-service-3"
        ])
    );
    assert_eq!(
        traces[0]["matched_span_ids"].as_array().map(Vec::len),
        Some(1)
    );

    // Histogram.
    let (status, body) = get(&server, "/api/v1/spans/histogram", &[("buckets", "12")]).await;
    assert_eq!(status, 200, "{body}");
    // 120 s in 12 buckets from an unaligned start: 10 s would need 13 aligned buckets.
    assert_eq!(body["width_ns"], 15_000_000_000i64);
    let buckets = body["buckets"].as_array().expect("buckets");
    assert!(buckets.len() <= 12);
    let total: u64 = buckets.iter().filter_map(|b| b["count"].as_u64()).sum();
    assert_eq!(total, 5);
    let (status, _) = get(&server, "/api/v1/spans/histogram", &[("buckets", "0")]).await;
    assert_eq!(status, 400);

    // Keys and values.
    let (status, body) = get(&server, "/api/v1/keys", &[("prefix", "serv")]).await;
    assert_eq!(status, 200, "{body}");
    let keys = body["keys"].as_array().expect("keys");
    assert!(
        keys.iter()
            .any(|k| k["key"] == "service.name" && k["scope"] == "resource" && k["count"] == 5),
        "{body}"
    );
    assert!(
        keys.iter()
            .any(|k| k["key"] == "service_name" && k["scope"] == "intrinsic"),
        "{body}"
    );
    let (status, body) = get(
        &server,
        "/api/v1/keys/service/values",
        &[("prefix", "example")],
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        body["values"],
        serde_json::json!([
            {"value": "example-service-1", "count": 3},
            {"value": "example-service-2", "count": 1},
            {"value": "example-service-3", "count": 1},
        ])
    );
}
