//! Tempo's TraceQL metrics routes under `/tempo` (`/api/metrics/query_range` and
//! `/api/metrics/query`) against the real server and a hand-built data set: the wire shape
//! of `tempo.proto`'s `QueryRangeResponse` and `QueryInstantResponse` as protobuf JSON,
//! exact counts and rates per step, quantiles within the sketches' 1 %, `by()` labels, the
//! parameters' forms, plain-text 400s that point into the query, and project scoping.

use crate::common;

use common::TestServer;
use opentelemetry_proto::tonic::common::v1::{AnyValue, KeyValue, any_value};
use opentelemetry_proto::tonic::trace::v1::{Span as OtlpSpan, Status, status};
use serde_json::{Value, json};

/// 2026-01-01T00:00:00Z, in s.
const T: u64 = 1_767_225_600;
const MINUTES: u64 = 6;
const SHOP: (&str, &str) = ("x-tracehouse-key", "shop-key");
const BLOG: (&str, &str) = ("x-tracehouse-key", "blog-key");

fn span(id: [u8; 3], name: &str, at_s: u64, ms: u64, error: bool) -> OtlpSpan {
    let start = at_s * 1_000_000_000;
    OtlpSpan {
        trace_id: [id.as_slice(), &[7; 13]].concat(),
        span_id: [id.as_slice(), &[0, 0, 0, 0, 1]].concat(),
        name: name.into(),
        kind: 2,
        start_time_unix_nano: start,
        end_time_unix_nano: start + ms * 1_000_000,
        status: error.then(|| Status {
            code: status::StatusCode::Error as i32,
            ..Default::default()
        }),
        ..Default::default()
    }
}

fn int_attr(key: &str, v: i64) -> KeyValue {
    KeyValue {
        key: key.into(),
        value: Some(AnyValue {
            value: Some(any_value::Value::IntValue(v)),
        }),
        ..Default::default()
    }
}

/// Six minutes from `T`: each minute `web` serves ten `GET /a` (10, 20 … 100 ms, the first
/// failing, `span.size` 0 … 9, roots) and `api` two `POST /x` (5 ms, children of the first
/// two).
async fn load(server: &TestServer) {
    let (mut web, mut api) = (Vec::new(), Vec::new());
    for m in 0..MINUTES as u8 {
        let at = T + u64::from(m) * 60 + 7;
        for k in 0..10_u8 {
            let mut s = span([m, k, 1], "GET /a", at, u64::from(k + 1) * 10, k == 0);
            s.attributes = vec![int_attr("size", i64::from(k))];
            web.push(s);
        }
        for k in 0..2_u8 {
            let mut s = span([m, k, 2], "POST /x", at, 5, false);
            s.parent_span_id = span([m, k, 1], "", at, 0, false).span_id;
            api.push(s);
        }
    }
    server.post_service_spans(SHOP, "web", web).await;
    server.post_service_spans(SHOP, "api", api).await;
}

/// GET under `/tempo`: status, content type and body text.
async fn get(
    server: &TestServer,
    path: &str,
    params: &[(&str, &str)],
    key: (&str, &str),
) -> (u16, String, String) {
    server
        .get_text_as(&format!("/tempo{path}"), params, key)
        .await
}

/// A range query over the six minutes, in steps of `step`.
async fn range_as(server: &TestServer, q: &str, step: &str, key: (&str, &str)) -> Value {
    let (start, end) = (T.to_string(), (T + MINUTES * 60).to_string());
    let params = [("q", q), ("start", &start), ("end", &end), ("step", step)];
    let (status, content_type, body) = get(server, "/api/metrics/query_range", &params, key).await;
    assert_eq!(status, 200, "{q}: {body}");
    assert!(content_type.starts_with("application/json"));
    serde_json::from_str(&body).unwrap()
}

async fn range(server: &TestServer, q: &str, step: &str) -> Value {
    range_as(server, q, step, SHOP).await
}

/// `(timestampMs, value)` of a series' samples.
fn samples(series: &Value) -> Vec<(String, f64)> {
    series["samples"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            (
                s["timestampMs"].as_str().unwrap().to_string(),
                s["value"].as_f64().unwrap(),
            )
        })
        .collect()
}

/// The same value at every step of `step_min` minutes.
fn every(step_min: u64, v: f64) -> Vec<(String, f64)> {
    (0..MINUTES / step_min)
        .map(|i| (((T + i * step_min * 60) * 1000).to_string(), v))
        .collect()
}

fn label(key: &str, value: &str) -> Value {
    json!({ "key": key, "value": { "stringValue": value } })
}

fn within_1pct(got: f64, want: f64) -> bool {
    (got - want).abs() <= want * 0.01
}

#[tokio::test]
async fn traceql_metrics_answer_grafana() {
    let server = TestServer::start(&[
        "--retention",
        "forever",
        "--project",
        "shop=shop-key",
        "--project",
        "blog=blog-key",
    ]);
    load(&server).await;
    rates_and_counts(&server).await;
    quantiles_and_values(&server).await;
    instants(&server).await;
    histograms(&server).await;
    comparisons(&server).await;
    ranks(&server).await;
    parameters(&server).await;
    failures(&server).await;
}

async fn rates_and_counts(server: &TestServer) {
    // Unlabelled: `__name__` names the function; twelve spans a minute.
    let body = range(server, "{ } | rate()", "60s").await;
    let series = body["series"].as_array().unwrap();
    assert_eq!(series.len(), 1, "{body}");
    assert_eq!(series[0]["labels"], json!([label("__name__", "rate")]));
    assert_eq!(samples(&series[0]), every(1, 12.0 / 60.0));
    assert_eq!(body["metrics"]["completedJobs"], 1);

    // By the span name, in steps of two minutes (seconds and Go's form both read).
    for step in ["120", "2m0s"] {
        let body = range(
            server,
            r#"{ resource.service.name = "web" } | count_over_time() by (name)"#,
            step,
        )
        .await;
        let series = body["series"].as_array().unwrap();
        assert_eq!(series.len(), 1, "{body}");
        assert_eq!(series[0]["labels"], json!([label("name", "GET /a")]));
        assert_eq!(samples(&series[0]), every(2, 20.0));
    }

    // Errors by service: only web has them, one a minute; most spans first.
    let body = range(
        server,
        "{ status = error } | rate() by (resource.service.name)",
        "1m",
    )
    .await;
    let series = body["series"].as_array().unwrap();
    assert_eq!(series.len(), 1, "{body}");
    assert_eq!(
        series[0]["labels"],
        json!([label("resource.service.name", "web")])
    );
    assert_eq!(samples(&series[0]), every(1, 1.0 / 60.0));
    let body = range(
        server,
        "{ } | count_over_time() by (resource.service.name)",
        "3m",
    )
    .await;
    let names: Vec<&Value> = body["series"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| &s["labels"][0]["value"]["stringValue"])
        .collect();
    assert_eq!(names, [&json!("web"), &json!("api")]);
    assert_eq!(samples(&body["series"][1]), every(3, 6.0));

    // Traces Drilldown's root spans, and the rest.
    let body = range(
        server,
        "{nestedSetParent<0 && true} | rate() with(sample=true)",
        "60s",
    )
    .await;
    assert_eq!(samples(&body["series"][0]), every(1, 10.0 / 60.0));
    let body = range(
        server,
        "{ nestedSetParent >= 0 } | count_over_time() by (resource.service.name)",
        "60s",
    )
    .await;
    assert_eq!(body["series"].as_array().unwrap().len(), 1, "{body}");
    assert_eq!(
        body["series"][0]["labels"],
        json!([label("resource.service.name", "api")])
    );
    assert_eq!(samples(&body["series"][0]), every(1, 2.0));

    // Another project sees none of it.
    let body = range_as(server, "{ } | rate()", "60s", BLOG).await;
    assert_eq!(body["series"], json!([]));
}

async fn quantiles_and_values(server: &TestServer) {
    // One series per quantile, labelled `p`; durations in seconds, within 1 %.
    let body = range(
        server,
        r#"{ name = "GET /a" } | quantile_over_time(duration, 0.5, 0.9) by (resource.service.name)"#,
        "60s",
    )
    .await;
    let series = body["series"].as_array().unwrap();
    assert_eq!(series.len(), 2, "{body}");
    for (s, (q, want)) in series.iter().zip([(0.5, 0.050), (0.9, 0.090)]) {
        assert_eq!(
            s["labels"],
            json!([
                label("resource.service.name", "web"),
                { "key": "p", "value": { "doubleValue": q } }
            ])
        );
        let got = samples(s);
        assert_eq!(got.len(), MINUTES as usize);
        assert!(
            got.iter().all(|(_, v)| within_1pct(*v, want)),
            "{q}: {got:?}"
        );
    }

    // Averages, bounds and sums of a span attribute (a scan) and of durations.
    for (q, want) in [
        ("{ } | avg_over_time(span.size)", 4.5),
        ("{ } | max_over_time(span.size)", 9.0),
        ("{ } | sum_over_time(span.size)", 45.0),
        (r#"{ name = "GET /a" } | min_over_time(duration)"#, 0.010),
        (r#"{ name = "GET /a" } | avg_over_time(duration)"#, 0.055),
    ] {
        let body = range(server, q, "60s").await;
        let got = samples(&body["series"][0]);
        assert_eq!(got.len(), MINUTES as usize, "{q}: {body}");
        assert!(
            got.iter().all(|(_, v)| within_1pct(*v, want)),
            "{q}: {got:?}"
        );
    }
}

async fn instants(server: &TestServer) {
    let (start, end) = (T.to_string(), (T + MINUTES * 60).to_string());
    let instant = |q: &'static str| {
        let (start, end) = (start.clone(), end.clone());
        async move {
            let params = [("q", q), ("start", start.as_str()), ("end", end.as_str())];
            let (status, _, body) = get(server, "/api/metrics/query", &params, SHOP).await;
            assert_eq!(status, 200, "{q}: {body}");
            serde_json::from_str::<Value>(&body).unwrap()
        }
    };
    let body = instant("{ } | count_over_time() by (resource.service.name)").await;
    assert_eq!(
        body["series"],
        json!([
            { "labels": [label("resource.service.name", "web")], "value": 60.0 },
            { "labels": [label("resource.service.name", "api")], "value": 12.0 },
        ])
    );
    let body = instant("{ status = error } | rate()").await;
    assert_eq!(
        body["series"],
        json!([{ "labels": [label("__name__", "rate")], "value": 6.0 / 360.0 }])
    );
    let body = instant(r#"{ name = "POST /x" } | quantile_over_time(duration, 0.99)"#).await;
    assert!(
        within_1pct(body["series"][0]["value"].as_f64().unwrap(), 0.005),
        "{body}"
    );
}

/// A `__bucket` label: a power of two, in seconds for durations.
fn bucket(bound: f64) -> Value {
    json!({ "key": "__bucket", "value": { "doubleValue": bound } })
}

/// `histogram_over_time`: spans per power-of-two bucket (ns for durations, as seconds), one
/// series per bucket with a sample at each step; values below 2 in no bucket.
async fn histograms(server: &TestServer) {
    let pow = |e: i32| 2_f64.powi(e) / 1e9;
    // A minute: 5 ms ×2 (api) | 10 ms | 20, 30 ms | 40, 50, 60 ms | 70 … 100 ms.
    let body = range(server, "{ } | histogram_over_time(duration)", "60s").await;
    let series = body["series"].as_array().unwrap();
    let got: Vec<(Value, Vec<(String, f64)>)> = series
        .iter()
        .map(|s| (s["labels"].clone(), samples(s)))
        .collect();
    let want: Vec<(Value, Vec<(String, f64)>)> =
        [(23, 2.0), (24, 1.0), (25, 2.0), (26, 3.0), (27, 4.0)]
            .into_iter()
            .map(|(e, n)| (json!([bucket(pow(e))]), every(1, n)))
            .collect();
    assert_eq!(got, want, "{body}");

    let body = range(
        server,
        "{ } | histogram_over_time(duration) by (resource.service.name)",
        "3m",
    )
    .await;
    let firsts: Vec<(Value, f64)> = body["series"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| (s["labels"].clone(), samples(s)[0].1))
        .collect();
    let service = |name| label("resource.service.name", name);
    assert_eq!(
        firsts,
        [
            (json!([service("api"), bucket(pow(23))]), 6.0),
            (json!([service("web"), bucket(pow(24))]), 3.0),
            (json!([service("web"), bucket(pow(25))]), 6.0),
            (json!([service("web"), bucket(pow(26))]), 9.0),
            (json!([service("web"), bucket(pow(27))]), 12.0),
        ]
    );

    // An integer attribute in its own unit: `span.size` 0 … 9 a minute (0 and 1 in none).
    let (start, end) = (T.to_string(), (T + MINUTES * 60).to_string());
    let params = [
        ("q", "{ } | histogram_over_time(span.size)"),
        ("start", start.as_str()),
        ("end", end.as_str()),
    ];
    let (status, _, body) = get(server, "/api/metrics/query", &params, SHOP).await;
    assert_eq!(status, 200, "{body}");
    let body: Value = serde_json::from_str(&body).unwrap();
    let want: Vec<Value> = [(2.0, 6.0), (4.0, 12.0), (8.0, 24.0), (16.0, 6.0)]
        .into_iter()
        .map(|(b, n)| json!({ "labels": [bucket(b)], "value": n }))
        .collect();
    assert_eq!(body["series"], json!(want));
}

/// The samples of the series labelled `labels`.
fn series_of(body: &Value, labels: Value) -> Vec<(String, f64)> {
    let series = body["series"].as_array().unwrap();
    let found = series.iter().find(|s| s["labels"] == labels);
    samples(found.unwrap_or_else(|| panic!("no series {labels} in {body}")))
}

fn meta(kind: &str, key: &str, value: Value) -> Value {
    json!([label("__meta_type", kind), { "key": key, "value": value }])
}

/// `compare()`: every attribute's values among the selected spans and the others, each
/// side's totals, and the attributes with more values than kept.
async fn comparisons(server: &TestServer) {
    let body = range(server, "{ } | compare({ status = error })", "60s").await;
    let text = |v: &str| json!({ "stringValue": v });
    let size = |v: i64| json!({ "intValue": v.to_string() });
    for (labels, per_minute) in [
        (meta("selection", "name", text("GET /a")), 1.0),
        (meta("selection", "span.size", size(0)), 1.0),
        (meta("selection", "status", text("error")), 1.0),
        (meta("selection_total", "name", json!({})), 1.0),
        (meta("baseline", "name", text("GET /a")), 9.0),
        (meta("baseline", "name", text("POST /x")), 2.0),
        (meta("baseline", "resource.service.name", text("api")), 2.0),
        (meta("baseline", "span.size", size(9)), 1.0),
        (meta("baseline_total", "name", json!({})), 11.0),
        (meta("baseline_total", "span.size", json!({})), 9.0),
    ] {
        assert_eq!(
            series_of(&body, labels.clone()),
            every(1, per_minute),
            "{labels}"
        );
    }
    assert!(!body.to_string().contains("__meta_error"), "{body}");

    // Two values kept per attribute: `span.size` has nine in the baseline (ties by value).
    let body = range(server, "{ } | compare({ status = error }, 2)", "6m").await;
    let error = json!([
        label("__meta_error", "__too_many_values__"),
        { "key": "span.size", "value": {} },
    ]);
    assert_eq!(series_of(&body, error), []);
    let kept: Vec<Value> = body["series"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| {
            s["labels"][0] == label("__meta_type", "baseline")
                && s["labels"][1]["key"] == "span.size"
        })
        .map(|s| s["labels"][1]["value"].clone())
        .collect();
    assert_eq!(kept, [size(1), size(2)]);

    // A selection window: only the second minute's failures are selected.
    let (from, to) = ((T + 60) * 1_000_000_000, (T + 120) * 1_000_000_000);
    let q = format!("{{ }} | compare({{ status = error }}, 10, {from}, {to})");
    let body = range(server, &q, "60s").await;
    let selected = series_of(&body, meta("selection_total", "name", json!({})));
    let want: Vec<(String, f64)> = every(1, 0.0)
        .into_iter()
        .enumerate()
        .map(|(i, (t, _))| (t, if i == 1 { 1.0 } else { 0.0 }))
        .collect();
    assert_eq!(selected, want);
}

/// `topk(n)`/`bottomk(n)` keep the series with the largest/smallest average.
async fn ranks(server: &TestServer) {
    let names = |body: &Value| -> Vec<Value> {
        body["series"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s["labels"][0]["value"]["stringValue"].clone())
            .collect()
    };
    let top = range(server, "{ } | rate() by (name) | topk(1)", "60s").await;
    assert_eq!(names(&top), [json!("GET /a")], "{top}");
    let bottom = range(
        server,
        "{ } | count_over_time() by (name) | bottomk(5)",
        "60s",
    )
    .await;
    assert_eq!(
        names(&bottom),
        [json!("POST /x"), json!("GET /a")],
        "{bottom}"
    );
}

/// `start`/`end` as ns and RFC 3339 mean what seconds mean; `since` counts back from `end`.
async fn parameters(server: &TestServer) {
    let q = "{ } | count_over_time()";
    let ns = |s: u64| (s * 1_000_000_000).to_string();
    let end_s = T + MINUTES * 60;
    let forms = [
        vec![("start", ns(T)), ("end", ns(end_s))],
        vec![
            ("start", "2026-01-01T00:00:00Z".to_string()),
            ("end", "2026-01-01T00:06:00Z".to_string()),
        ],
        vec![("since", "6m".to_string()), ("end", end_s.to_string())],
    ];
    for form in forms {
        let mut params: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
        params.extend([("q", q), ("step", "60"), ("exemplars", "100")]);
        let (status, _, body) = get(server, "/api/metrics/query_range", &params, SHOP).await;
        assert_eq!(status, 200, "{form:?}: {body}");
        let body: Value = serde_json::from_str(&body).unwrap();
        assert_eq!(samples(&body["series"][0]), every(1, 12.0), "{form:?}");
    }
}

/// Tempo's plain-text 400s, pointing into the query where the query is at fault.
async fn failures(server: &TestServer) {
    let start = T.to_string();
    let cases: [(&[(&str, &str)], &str); 9] = [
        (
            &[("q", "{ } | compare({ status = error }, 10, 5, 4)")],
            "must be after its start",
        ),
        (&[("q", "{ } | rate() | topk(0)")], "at bytes 20..21"),
        (
            &[("q", "{ } | quantile_over_time(duration, 0.42)")],
            "at bytes 35..39",
        ),
        (&[("q", "{ } >> { } | rate()")], "single spanset"),
        (&[("q", "{ } | rate() | topk(3) | topk(2)")], "topk"),
        (&[("q", "{ status = error }")], "metrics function"),
        (&[], "a TraceQL metrics query is required"),
        (
            &[
                ("q", "{ } | rate()"),
                ("start", &start),
                ("end", "1767225000"),
            ],
            "start must be before end",
        ),
        (&[("q", "{ } | rate()"), ("step", "fast")], "invalid step"),
    ];
    for path in ["/api/metrics/query_range", "/api/metrics/query"] {
        for (params, want) in &cases {
            if path.ends_with("query") && params.iter().any(|(k, _)| *k == "step") {
                continue; // the instant query has no step
            }
            let (status, content_type, body) = get(server, path, params, SHOP).await;
            assert_eq!(status, 400, "{path} {params:?}: {body}");
            assert!(content_type.starts_with("text/plain"), "{content_type}");
            assert!(body.contains(want), "{path} {params:?}: {body}");
        }
    }
    let (status, _, _) = get(
        server,
        "/api/metrics/query_range",
        &[("q", "{ } | rate()")],
        ("x-tracehouse-key", "nope"),
    )
    .await;
    assert_eq!(status, 401);
}
