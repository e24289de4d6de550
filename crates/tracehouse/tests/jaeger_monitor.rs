//! Jaeger's `/api/dependencies` and the Monitor tab's `/api/metrics/*` under `/jaeger`,
//! against the real server and a hand-built data set: the exact wire shapes (Jaeger's
//! envelope, its `MetricFamily` JSON), the numbers of every window (calls per second and
//! error fractions exactly, latencies within the sketches' 1 %), grouped and ungrouped,
//! the failures in Jaeger's envelope, and project scoping.

use crate::common;

use common::{TestServer, string_attr};
use opentelemetry_proto::tonic::trace::v1::{Span as OtlpSpan, Status, status};
use serde_json::{Value, json};

/// 2026-01-01T00:00:00Z, in ms.
const T_MS: u64 = 1_767_225_600_000;
const MINUTE_MS: u64 = 60_000;
const SHOP: (&str, &str) = ("x-tracehouse-key", "shop-key");
const BLOG: (&str, &str) = ("x-tracehouse-key", "blog-key");

fn span(ids: [u8; 3], parent: Option<[u8; 3]>, name: &str, kind: i32, at_ms: u64) -> OtlpSpan {
    let id = |[a, b, c]: [u8; 3]| vec![a, b, c, 0, 0, 0, 0, 1];
    OtlpSpan {
        trace_id: [[ids[0], ids[1]].as_slice(), &[7; 14]].concat(),
        span_id: id(ids),
        parent_span_id: parent.map(id).unwrap_or_default(),
        name: name.into(),
        kind,
        start_time_unix_nano: at_ms * 1_000_000,
        ..Default::default()
    }
}

fn timed(mut s: OtlpSpan, ms: u64, error: bool) -> OtlpSpan {
    s.end_time_unix_nano = s.start_time_unix_nano + ms * 1_000_000;
    s.status = error.then(|| Status {
        code: status::StatusCode::Error as i32,
        ..Default::default()
    });
    s
}

/// Ten minutes from `T`; each minute `web` serves six `GET /a` (10 … 60 ms, the first
/// failing, `http.route` `/a`) and three `GET /b` (100 ms); two of the `GET /a` call `api`
/// (a `call api` client span), which serves each in `POST /x` (3 ms, the first failing).
/// The first `GET /b` names a parent that was never received.
fn data() -> (Vec<OtlpSpan>, Vec<OtlpSpan>) {
    let (mut web, mut api) = (Vec::new(), Vec::new());
    for m in 0..10_u8 {
        let at = T_MS + u64::from(m) * MINUTE_MS + 1_000;
        for k in 0..6_u8 {
            let mut a = timed(
                span([m, k, 1], None, "GET /a", 2, at),
                u64::from(k + 1) * 10,
                k == 0,
            );
            a.attributes = vec![string_attr("http.route", "/a")];
            web.push(a);
        }
        for k in 0..3_u8 {
            // The first one's parent was never received.
            let parent = (m == 0 && k == 0).then_some([9, 9, 9]);
            web.push(timed(
                span([m, 10 + k, 1], parent, "GET /b", 2, at),
                100,
                false,
            ));
        }
        for c in 0..2_u8 {
            let call = span([m, c, 2], Some([m, c, 1]), "call api", 3, at + 1);
            web.push(timed(call, 5, false));
            let served = span([m, c, 3], Some([m, c, 2]), "POST /x", 2, at + 2);
            api.push(timed(served, 3, c == 0));
        }
    }
    (web, api)
}

async fn load(server: &TestServer) {
    let (web, api) = data();
    server.post_service_spans(SHOP, "web", web).await;
    server.post_service_spans(SHOP, "api", api).await;
}

async fn get(
    server: &TestServer,
    path: &str,
    params: &[(&str, &str)],
    key: (&str, &str),
) -> (u16, String, Value) {
    server.get_as(&format!("/jaeger{path}"), params, key).await
}

/// RFC 3339 of `T` plus `minutes`.
fn at(minutes: u64) -> String {
    format!("2026-01-01T00:{minutes:02}:00Z")
}

/// The Jaeger UI's window: ten minutes to `T + 10 min` in steps of a minute, rates over ten
/// minutes; so the window ending at `T + i min` holds the spans of minutes `0 .. i`.
fn window_params() -> Vec<(&'static str, String)> {
    vec![
        ("endTs", (T_MS + 10 * MINUTE_MS).to_string()),
        ("lookback", (10 * MINUTE_MS).to_string()),
        ("step", MINUTE_MS.to_string()),
        ("ratePer", (10 * MINUTE_MS).to_string()),
    ]
}

/// A family over the UI's window, as the project of `key` sees it.
async fn family_as(
    server: &TestServer,
    which: &str,
    extra: &[(&str, &str)],
    key: (&str, &str),
) -> Value {
    let owned = window_params();
    let mut params: Vec<(&str, &str)> = owned.iter().map(|(k, v)| (*k, v.as_str())).collect();
    params.extend_from_slice(extra);
    let (status, content_type, body) =
        get(server, &format!("/api/metrics/{which}"), &params, key).await;
    assert_eq!(status, 200, "{which} {extra:?}: {body}");
    assert!(content_type.starts_with("application/json"));
    body
}

async fn family(server: &TestServer, which: &str, extra: &[(&str, &str)]) -> Value {
    family_as(server, which, extra, SHOP).await
}

/// The `metricPoints` of a family's series as `(timestamp, value)`.
fn points(metric: &Value) -> Vec<(String, f64)> {
    metric["metricPoints"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            (
                p["timestamp"].as_str().unwrap().to_string(),
                p["gaugeValue"]["doubleValue"].as_f64().unwrap(),
            )
        })
        .collect()
}

/// `per_minute` calls each minute, as the rate over the ten-minute window ending at each
/// minute `0 ..= 10`.
fn call_rates(per_minute: u64) -> Vec<(String, f64)> {
    (0..=10)
        .map(|i| (at(i), (per_minute * i) as f64 / 600.0))
        .collect()
}

/// The same value at each window with calls (ending at minutes `1 ..= 10`).
fn constant(v: f64) -> Vec<(String, f64)> {
    (1..=10).map(|i| (at(i), v)).collect()
}

fn assert_within_1pct(got: &[(String, f64)], want_ms: &[f64]) {
    assert_eq!(got.len(), want_ms.len(), "{got:?}");
    for ((t, g), w) in got.iter().zip(want_ms) {
        assert!((g - w).abs() <= w * 0.01, "{t}: {g} ms, want {w} ms");
    }
}

#[tokio::test]
async fn monitor_and_dependencies_answer_the_jaeger_ui() {
    let server = TestServer::start(&[
        "--retention",
        "forever",
        "--project",
        "shop=shop-key",
        "--project",
        "blog=blog-key",
    ]);
    load(&server).await;
    dependencies(&server).await;
    ungrouped(&server).await;
    grouped(&server).await;
    failures(&server).await;
    orphan_summary(&server).await;
}

/// api_v3's trace summary of a trace without a root: no root names, one orphan.
async fn orphan_summary(server: &TestServer) {
    let (status, _, body) = get(
        server,
        "/api/v3/trace-summaries",
        &[
            ("query.service_name", "web"),
            ("query.operation_name", "GET /b"),
            ("query.start_time_min", &at(0)),
            ("query.start_time_max", "2026-01-01T00:00:30Z"),
        ],
        SHOP,
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let start = (T_MS + 1_000) * 1_000_000;
    let orphan = json!({
        "traceId": format!("000a{}", "07".repeat(14)),
        "minStartTimeUnixNano": start.to_string(),
        "maxEndTimeUnixNano": (start + 100_000_000).to_string(),
        "spanCount": 1,
        "orphanSpanCount": 1,
        "services": [{ "name": "web", "spanCount": 1 }],
    });
    let found = body["summaries"].as_array().unwrap();
    assert_eq!(
        found.len(),
        3,
        "the three GET /b of the first minute: {body}"
    );
    assert!(found.contains(&orphan), "{body}");
}

async fn dependencies(server: &TestServer) {
    let end = (T_MS + 11 * MINUTE_MS).to_string();
    let lookback = (12 * MINUTE_MS).to_string();
    let window = [("endTs", end.as_str()), ("lookback", lookback.as_str())];
    let (status, content_type, body) = get(server, "/api/dependencies", &window, SHOP).await;
    assert_eq!(status, 200, "{body}");
    assert!(content_type.starts_with("application/json"));
    assert_eq!(
        body,
        json!({
            "data": [{ "parent": "web", "child": "api", "callCount": 20 }],
            "total": 0, "limit": 0, "offset": 0, "errors": null,
        })
    );
    let mut only = window.to_vec();
    only.push(("service", "api"));
    let (_, _, body) = get(server, "/api/dependencies", &only, SHOP).await;
    assert_eq!(body["data"].as_array().map(Vec::len), Some(1));
    only[2] = ("service", "nobody");
    let (_, _, body) = get(server, "/api/dependencies", &only, SHOP).await;
    assert_eq!(body["data"], json!([]));
    let (_, _, body) = get(server, "/api/dependencies", &window, BLOG).await;
    assert_eq!(
        body["data"],
        json!([]),
        "another project's map is invisible"
    );
    let before = [("endTs", T_MS.to_string()), ("lookback", "60000".into())];
    let before: Vec<(&str, &str)> = before.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let (_, _, body) = get(server, "/api/dependencies", &before, SHOP).await;
    assert_eq!(body["data"], json!([]));
}

async fn ungrouped(server: &TestServer) {
    // Calls: nine server spans of web a minute, per second over the window.
    let body = family(server, "calls", &[("service", "web")]).await;
    assert_eq!(body["name"], "service_call_rate");
    assert_eq!(body["type"], "GAUGE");
    assert_eq!(body["help"], "calls/sec, grouped by service");
    assert_eq!(
        body["metrics"][0]["labels"],
        json!([{ "name": "service_name", "value": "web" }])
    );
    assert_eq!(body["metrics"].as_array().map(Vec::len), Some(1));
    assert_eq!(points(&body["metrics"][0]), call_rates(9));
    assert_eq!(
        body["metrics"][0]["metricPoints"][10],
        json!({ "gaugeValue": { "doubleValue": 0.15 }, "timestamp": "2026-01-01T00:10:00Z" }),
        "the window ending at T + 10 min: 90 calls in 600 s"
    );

    // Errors: one of nine, as a fraction; no point for the window without calls.
    let body = family(server, "errors", &[("service", "web")]).await;
    assert_eq!(body["name"], "service_error_rate");
    assert_eq!(points(&body["metrics"][0]), constant(1.0 / 9.0));

    // Latencies in ms: 10 … 60 ms ten times each and 100 ms thirty times per full window.
    let body = family(
        server,
        "latencies",
        &[("service", "web"), ("quantile", "0.5")],
    )
    .await;
    assert_eq!(body["name"], "service_latencies");
    assert_eq!(body["help"], "0.50th quantile latency, grouped by service");
    assert_within_1pct(&points(&body["metrics"][0]), &[50.0; 10]);
    let body = family(
        server,
        "latencies",
        &[("service", "web"), ("quantile", "0.95")],
    )
    .await;
    assert_within_1pct(&points(&body["metrics"][0]), &[100.0; 10]);

    // Both services; client spans by spanKind; a tag narrows (read from the spans).
    let body = family(server, "errors", &[("service", "web"), ("service", "api")]).await;
    let series: Vec<(&Value, Vec<(String, f64)>)> = body["metrics"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| (&m["labels"][0]["value"], points(m)))
        .collect();
    assert_eq!(
        series,
        [
            (&json!("api"), constant(0.5)),
            (&json!("web"), constant(1.0 / 9.0))
        ]
    );
    let body = family(
        server,
        "calls",
        &[("service", "web"), ("spanKind", "client")],
    )
    .await;
    assert_eq!(points(&body["metrics"][0]), call_rates(2));
    let body = family(
        server,
        "calls",
        &[("service", "web"), ("tag", "http.route:/a")],
    )
    .await;
    assert_eq!(points(&body["metrics"][0]), call_rates(6));

    // Another project's spans are invisible.
    let body = family_as(server, "calls", &[("service", "web")], BLOG).await;
    assert_eq!(body["metrics"], json!([]));
}

async fn grouped(server: &TestServer) {
    let by_op = [("service", "web"), ("groupByOperation", "true")];
    let series = |body: &Value| -> Vec<(Value, Vec<(String, f64)>)> {
        body["metrics"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| (m["labels"].clone(), points(m)))
            .collect()
    };
    let labels = |op: &str| json!([{ "name": "service_name", "value": "web" }, { "name": "operation", "value": op }]);

    let body = family(server, "calls", &by_op).await;
    assert_eq!(body["name"], "service_operation_call_rate");
    assert_eq!(body["help"], "calls/sec, grouped by service & operation");
    assert_eq!(
        series(&body),
        [
            (labels("GET /a"), call_rates(6)),
            (labels("GET /b"), call_rates(3))
        ]
    );
    let body = family(server, "errors", &by_op).await;
    assert_eq!(body["name"], "service_operation_error_rate");
    assert_eq!(
        series(&body),
        [
            (labels("GET /a"), constant(1.0 / 6.0)),
            (labels("GET /b"), constant(0.0))
        ]
    );
    let mut p95 = by_op.to_vec();
    p95.push(("quantile", "0.95"));
    let body = family(server, "latencies", &p95).await;
    assert_eq!(body["name"], "service_operation_latencies");
    let got = series(&body);
    assert_eq!(got.len(), 2);
    assert_eq!(got[0].1.len(), 10);
    assert_within_1pct(&got[0].1[9..], &[60.0]);
    assert_within_1pct(&got[1].1, &[100.0; 10]);
}

async fn failures(server: &TestServer) {
    let (status, _, body) = get(server, "/api/metrics/minstep", &[], SHOP).await;
    assert_eq!(status, 200);
    assert_eq!(
        body,
        json!({ "data": 60000, "total": 0, "limit": 0, "offset": 0, "errors": null })
    );
    for (path, params) in [
        ("/api/metrics/calls", vec![]),
        ("/api/metrics/latencies", vec![("service", "web")]),
        (
            "/api/metrics/latencies",
            vec![("service", "web"), ("quantile", "0.42")],
        ),
        (
            "/api/metrics/errors",
            vec![("service", "web"), ("spanKind", "sideways")],
        ),
        (
            "/api/metrics/calls",
            vec![("service", "web"), ("groupByOperation", "maybe")],
        ),
        (
            "/api/metrics/calls",
            vec![("service", "web"), ("step", "x")],
        ),
        ("/api/dependencies", vec![("endTs", "soon")]),
        ("/api/dependencies", vec![("lookback", "0")]),
    ] {
        let (status, content_type, body) = get(server, path, &params, SHOP).await;
        assert_eq!(status, 400, "{path} {params:?}: {body}");
        assert!(
            content_type.starts_with("text/plain"),
            "as http.Error sends it"
        );
        assert_eq!(body["data"], Value::Null);
        assert_eq!(body["errors"][0]["code"], 400);
        assert!(
            body["errors"][0]["msg"]
                .as_str()
                .is_some_and(|m| m.starts_with("unable to parse param")),
            "{body}"
        );
    }
    let (status, _, body) = get(server, "/api/metrics/calls", &[], SHOP).await;
    assert_eq!(status, 400);
    assert_eq!(
        body["errors"][0]["msg"],
        "unable to parse param 'service': please provide at least one service name"
    );
}
