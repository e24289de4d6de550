//! Grafana Tempo's query API under `/tempo`: the wire shapes Tempo documents (field names,
//! id encodings, times as strings, content types, plain-text failures), the protobuf bodies
//! decoded with the OTLP messages and `tempo.proto`'s, keys as headers or basic-auth
//! passwords, and project scoping.

use crate::common;

use std::collections::BTreeSet;
use std::time::{SystemTime, UNIX_EPOCH};

use common::{TestServer, string_attr};
use opentelemetry_proto::tonic::trace::v1::{ResourceSpans, Span as OtlpSpan, Status, TracesData};
use prost::Message;
use serde_json::Value;

/// `tempopb.TraceByIDResponse` at `tempo.proto`'s field numbers.
#[derive(Clone, PartialEq, prost::Message)]
struct TraceByIdResponse {
    #[prost(message, optional, tag = "1")]
    trace: Option<TempoTrace>,
    #[prost(int32, tag = "3")]
    status: i32,
    #[prost(string, tag = "4")]
    message: String,
}

/// `tempopb.Trace`.
#[derive(Clone, PartialEq, prost::Message)]
struct TempoTrace {
    #[prost(message, repeated, tag = "1")]
    resource_spans: Vec<ResourceSpans>,
}

/// A 64-bit trace id: Tempo writes it without the leading zeros.
const TRACE: &str = "00000000000000000102030405060708";
const TRACE_SHORT: &str = "102030405060708";
const ROOT: [u8; 8] = [0xa1, 0, 0, 0, 0, 0, 0, 1];
const CHILD: [u8; 8] = [0xa2, 0, 0, 0, 0, 0, 0, 2];
const SHOP: &str = "shop-key";

fn now_s() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

/// Frontend `GET /checkout` (200 ms) calling postgres `SELECT orders` (50 ms, failed).
async fn load(server: &TestServer) {
    let start = (now_s() - 60) * 1_000_000_000;
    let trace_id = hex::decode(TRACE).unwrap();
    let root = OtlpSpan {
        trace_id: trace_id.clone(),
        span_id: ROOT.to_vec(),
        name: "GET /checkout".into(),
        kind: 2,
        start_time_unix_nano: start,
        end_time_unix_nano: start + 200_000_000,
        attributes: vec![string_attr("http.method", "GET")],
        ..Default::default()
    };
    let child = OtlpSpan {
        trace_id,
        span_id: CHILD.to_vec(),
        parent_span_id: ROOT.to_vec(),
        name: "SELECT orders".into(),
        kind: 3,
        start_time_unix_nano: start + 10_000_000,
        end_time_unix_nano: start + 60_000_000,
        attributes: vec![string_attr("db.system", "postgresql")],
        status: Some(Status {
            code: 2,
            message: "timeout".into(),
        }),
        ..Default::default()
    };
    let key = ("x-tracehouse-key", SHOP);
    server.post_service_spans(key, "frontend", vec![root]).await;
    server
        .post_service_spans(key, "postgres", vec![child])
        .await;
}

struct Answer {
    status: u16,
    content_type: String,
    body: Vec<u8>,
}

impl Answer {
    fn json(&self) -> Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&self.body)))
    }
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

async fn get(
    server: &TestServer,
    path: &str,
    params: &[(&str, &str)],
    headers: &[(&str, &str)],
) -> Answer {
    let url =
        reqwest::Url::parse_with_params(&format!("{}/tempo{path}", server.api), params).unwrap();
    let mut req = reqwest::Client::new().get(url);
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    let resp = req.send().await.unwrap();
    Answer {
        status: resp.status().as_u16(),
        content_type: resp
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_string(),
        body: resp.bytes().await.unwrap().to_vec(),
    }
}

/// Grafana's basic-auth setting: any user, the key as password.
const BASIC_SHOP: (&str, &str) = ("authorization", "Basic Z3JhZmFuYTpzaG9wLWtleQ==");
const KEY_SHOP: (&str, &str) = ("x-tracehouse-key", SHOP);
const KEY_BLOG: (&str, &str) = ("x-tracehouse-key", "blog-key");

fn span_ids(resource_spans: &[ResourceSpans]) -> BTreeSet<String> {
    resource_spans
        .iter()
        .flat_map(|r| &r.scope_spans)
        .flat_map(|s| &s.spans)
        .map(|s| hex::encode(&s.span_id))
        .collect()
}

fn services(resource_spans: &[ResourceSpans]) -> BTreeSet<String> {
    resource_spans
        .iter()
        .flat_map(|r| &r.resource.as_ref().unwrap().attributes)
        .filter(|kv| kv.key == "service.name")
        .map(|kv| format!("{:?}", kv.value.as_ref().unwrap().value.as_ref().unwrap()))
        .collect()
}

#[tokio::test]
async fn tempo_api_answers_grafana_to_the_letter() {
    let server = TestServer::start(&["--project", "shop=shop-key", "--project", "blog=blog-key"]);
    load(&server).await;
    let both: BTreeSet<String> = [hex::encode(ROOT), hex::encode(CHILD)].into();

    // Echo and build information; the key is checked.
    let a = get(&server, "/api/echo", &[], &[BASIC_SHOP]).await;
    assert_eq!((a.status, a.text().as_str()), (200, "echo"));
    assert!(
        a.content_type.starts_with("text/plain"),
        "{}",
        a.content_type
    );
    let a = get(&server, "/api/echo", &[], &[]).await;
    assert_eq!(a.status, 401);
    assert!(
        a.content_type.starts_with("text/plain"),
        "{}",
        a.content_type
    );
    let a = get(&server, "/api/status/buildinfo", &[], &[KEY_SHOP]).await;
    assert_eq!(a.status, 200);
    assert!(
        a.json()["version"]
            .as_str()
            .is_some_and(|v| v.starts_with("2."))
    );

    // Trace by id, v1: OTLP TracesData as protobuf, OTLP/JSON otherwise.
    let proto = [BASIC_SHOP, ("accept", "application/protobuf")];
    for id in [TRACE, TRACE_SHORT] {
        let a = get(&server, &format!("/api/traces/{id}"), &[], &proto).await;
        assert_eq!(a.status, 200, "{}", a.text());
        assert_eq!(a.content_type, "application/protobuf");
        let data = TracesData::decode(a.body.as_slice()).unwrap();
        assert_eq!(data.resource_spans.len(), 2, "one per service");
        assert_eq!(span_ids(&data.resource_spans), both);
        assert_eq!(services(&data.resource_spans).len(), 2);
    }
    let a = get(&server, &format!("/api/traces/{TRACE}"), &[], &[KEY_SHOP]).await;
    assert!(a.content_type.starts_with("application/json"));
    let json = a.json();
    let spans = common::otlp_json_spans(&json);
    assert_eq!(spans.len(), 2);
    for s in &spans {
        assert_eq!(s["traceId"], TRACE, "ids are hex");
        assert!(
            s["startTimeUnixNano"].is_string(),
            "64-bit times are strings"
        );
    }
    // v2: tempopb.TraceByIDResponse, or {"trace": {"resourceSpans": …}}.
    let a = get(
        &server,
        &format!("/api/v2/traces/{TRACE}"),
        &[("start", "1"), ("end", &now_s().to_string())],
        &proto,
    )
    .await;
    assert_eq!(a.status, 200, "{}", a.text());
    let answer = TraceByIdResponse::decode(a.body.as_slice()).unwrap();
    assert_eq!(answer.status, 0, "COMPLETE");
    assert_eq!(span_ids(&answer.trace.unwrap().resource_spans), both);
    let a = get(
        &server,
        &format!("/api/v2/traces/{TRACE}"),
        &[],
        &[KEY_SHOP],
    )
    .await;
    assert_eq!(
        a.json()["trace"]["resourceSpans"].as_array().map(Vec::len),
        Some(2)
    );
    // Not found, malformed, another project's.
    for (id, key, status) in [
        ("ffffffffffffffffffffffffffffffff", KEY_SHOP, 404),
        ("not-hex", KEY_SHOP, 400),
        (&"1".repeat(33), KEY_SHOP, 400),
        (TRACE, KEY_BLOG, 404),
    ] {
        for version in ["", "/v2"] {
            let a = get(&server, &format!("/api{version}/traces/{id}"), &[], &[key]).await;
            assert_eq!(a.status, status, "{version} {id}: {}", a.text());
            assert!(
                a.content_type.starts_with("text/plain"),
                "{}",
                a.content_type
            );
        }
    }
    let a = get(
        &server,
        &format!("/api/traces/{TRACE}"),
        &[("start", "20"), ("end", "10")],
        &[KEY_SHOP],
    )
    .await;
    assert_eq!(a.status, 400);

    search(&server).await;
    tags(&server).await;
}

async fn search(server: &TestServer) {
    let end = now_s().to_string();
    let window = |extra: &[(&'static str, &'static str)]| {
        let mut p: Vec<(&str, String)> = vec![("start", "1".to_string()), ("end", end.clone())];
        p.extend(extra.iter().map(|(k, v)| (*k, v.to_string())));
        p
    };
    let run = |params: Vec<(&'static str, String)>, key| async move {
        let params: Vec<(&str, &str)> = params.iter().map(|(k, v)| (*k, v.as_str())).collect();
        get(server, "/api/search", &params, &[key]).await
    };

    let a = run(window(&[("q", "{ status = error }")]), KEY_SHOP).await;
    assert_eq!(a.status, 200, "{}", a.text());
    let json = a.json();
    let traces = json["traces"].as_array().unwrap();
    assert_eq!(traces.len(), 1, "{json}");
    let t = &traces[0];
    assert_eq!(t["traceID"], TRACE_SHORT);
    assert_eq!(t["rootServiceName"], "frontend");
    assert_eq!(t["rootTraceName"], "GET /checkout");
    assert!(
        t["startTimeUnixNano"]
            .as_str()
            .unwrap()
            .parse::<u64>()
            .is_ok()
    );
    assert_eq!(t["durationMs"], 200);
    let set = &t["spanSets"][0];
    assert_eq!(set["matched"], 1);
    assert_eq!(t["spanSet"], *set, "the deprecated single span set too");
    let span = &set["spans"][0];
    assert_eq!(span["spanID"], hex::encode(CHILD));
    assert_eq!(span["name"], "SELECT orders");
    assert_eq!(span["durationNanos"], "50000000");
    assert!(span["startTimeUnixNano"].is_string());
    assert_eq!(
        span["attributes"],
        serde_json::json!([{ "key": "status", "value": { "stringValue": "error" } }])
    );
    assert_eq!(
        t["serviceStats"],
        serde_json::json!({
            "frontend": { "spanCount": 1 },
            "postgres": { "spanCount": 1, "errorCount": 1 },
        })
    );
    assert!(json["metrics"].is_object());

    // select() adds attributes; spss bounds the spans per set.
    let a = run(
        window(&[("q", "{ } | select(span.db.system)"), ("spss", "1")]),
        KEY_SHOP,
    )
    .await;
    let json = a.json();
    let set = &json["traces"][0]["spanSets"][0];
    assert_eq!(
        (
            set["matched"].as_u64(),
            set["spans"].as_array().map(Vec::len)
        ),
        (Some(2), Some(1))
    );
    let a = run(
        window(&[(
            "q",
            "{ span.db.system = \"postgresql\" } | select(span.db.system)",
        )]),
        KEY_SHOP,
    )
    .await;
    assert_eq!(
        a.json()["traces"][0]["spanSets"][0]["spans"][0]["attributes"],
        serde_json::json!([{ "key": "db.system", "value": { "stringValue": "postgresql" } }])
    );

    // The legacy tag search and trace durations.
    for (params, expected) in [
        (window(&[("tags", "service.name=postgres")]), 1),
        (window(&[("tags", "db.system=POSTGRES")]), 1),
        (window(&[("tags", "service.name=nothing")]), 0),
        (window(&[("minDuration", "10s")]), 0),
        (
            window(&[("minDuration", "150ms"), ("maxDuration", "1s")]),
            1,
        ),
    ] {
        let a = run(params.clone(), KEY_SHOP).await;
        assert_eq!(a.status, 200, "{params:?}: {}", a.text());
        assert_eq!(
            a.json()["traces"].as_array().map(Vec::len),
            Some(expected),
            "{params:?}"
        );
    }
    // Another project sees nothing.
    let a = run(window(&[("q", "{ }")]), KEY_BLOG).await;
    assert_eq!(a.json()["traces"].as_array().map(Vec::len), Some(0));

    // Bad input: plain-text 400s.
    for params in [
        window(&[("q", "{ status = }")]),
        window(&[("q", "{ trace:duration > 1s }")]),
        window(&[("limit", "0")]),
        window(&[("limit", "100000")]),
        window(&[("spss", "x")]),
        window(&[("minDuration", "soon")]),
        window(&[("tags", "novalue")]),
        vec![("start", "20".to_string()), ("end", "10".to_string())],
        vec![("start", "-5".to_string())],
    ] {
        let a = run(params.clone(), KEY_SHOP).await;
        assert_eq!(a.status, 400, "{params:?}: {}", a.text());
        assert!(a.content_type.starts_with("text/plain"), "{params:?}");
        assert!(!a.text().is_empty());
    }
    let a = run(window(&[("q", "{ trace:duration > 1s }")]), KEY_SHOP).await;
    assert!(
        a.text().contains("trace:duration") && a.text().contains("2..16"),
        "{}",
        a.text()
    );
}

async fn tags(server: &TestServer) {
    let a = get(server, "/api/v2/search/tags", &[], &[KEY_SHOP]).await;
    assert_eq!(a.status, 200, "{}", a.text());
    let json = a.json();
    let scopes = json["scopes"].as_array().unwrap();
    let names: Vec<&str> = scopes.iter().map(|s| s["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["span", "resource", "intrinsic"]);
    let tags_of = |i: usize| -> Vec<String> {
        scopes[i]["tags"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| t.as_str().unwrap().to_string())
            .collect()
    };
    assert!(tags_of(0).contains(&"db.system".to_string()), "{json}");
    assert!(tags_of(1).contains(&"service.name".to_string()), "{json}");
    assert!(tags_of(2).contains(&"status".to_string()), "{json}");
    let a = get(
        server,
        "/api/v2/search/tags",
        &[("scope", "span")],
        &[KEY_SHOP],
    )
    .await;
    assert_eq!(a.json()["scopes"].as_array().map(Vec::len), Some(1));
    let a = get(
        server,
        "/api/v2/search/tags",
        &[("scope", "bogus")],
        &[KEY_SHOP],
    )
    .await;
    assert_eq!(a.status, 400);
    let a = get(server, "/api/search/tags", &[], &[KEY_SHOP]).await;
    let names = a.json()["tagNames"].clone();
    assert!(
        names
            .as_array()
            .unwrap()
            .contains(&Value::from("http.method")),
        "{names}"
    );
    assert!(
        !names.as_array().unwrap().contains(&Value::from("status")),
        "v1 leaves intrinsics out"
    );

    let a = get(
        server,
        "/api/search/tag/service.name/values",
        &[],
        &[KEY_SHOP],
    )
    .await;
    let mut values: Vec<String> = serde_json::from_value(a.json()["tagValues"].clone()).unwrap();
    values.sort();
    assert_eq!(values, ["frontend", "postgres"]);
    let a = get(
        server,
        "/api/v2/search/tag/resource.service.name/values",
        &[],
        &[KEY_SHOP],
    )
    .await;
    let values = a.json()["tagValues"].clone();
    assert!(
        values
            .as_array()
            .unwrap()
            .contains(&serde_json::json!({ "type": "string", "value": "frontend" })),
        "{values}"
    );
    let a = get(server, "/api/v2/search/tag/status/values", &[], &[KEY_SHOP]).await;
    let values = a.json()["tagValues"].clone();
    assert!(
        values
            .as_array()
            .unwrap()
            .contains(&serde_json::json!({ "type": "keyword", "value": "error" })),
        "{values}"
    );
    let a = get(server, "/api/v2/search/tag/%7B/values", &[], &[KEY_SHOP]).await;
    assert_eq!(a.status, 400, "{}", a.text());
    let a = get(
        server,
        "/api/search/tag/service.name/values",
        &[],
        &[KEY_BLOG],
    )
    .await;
    assert_eq!(a.json()["tagValues"], serde_json::json!([]));
}
