//! OTLP metrics end to end against the real binary: data points over OTLP/gRPC
//! (`MetricsService/Export`), OTLP/HTTP protobuf (gzipped) and OTLP/HTTP JSON, bad points
//! rejected one by one through `partial_success`; then the metrics API: names, labels and
//! their values, and one metric over time (increase across a counter reset, a percentile,
//! exemplars) with its precise 400s.

use crate::common;

use std::io::Write;

use common::{TestServer, string_attr};
use opentelemetry_proto::tonic::collector::metrics::v1::metrics_service_client::MetricsServiceClient;
use opentelemetry_proto::tonic::collector::metrics::v1::{
    ExportMetricsServiceRequest, ExportMetricsServiceResponse,
};
use opentelemetry_proto::tonic::metrics::v1::{
    AggregationTemporality, Gauge, Metric, NumberDataPoint, ResourceMetrics, ScopeMetrics, Sum,
    metric, number_data_point,
};
use opentelemetry_proto::tonic::resource::v1::Resource;
use prost::Message;
use serde_json::{Value, json};

/// 2025-11-25T10:00:00Z: every point lies in the minute after it.
const T: u64 = 1_764_064_800_000_000_000;
const SEC: u64 = 1_000_000_000;
const WINDOW: [(&str, &str); 2] = [
    ("start", "1764064800000000000"),
    ("end", "1764064860000000000"),
];

fn number(start_s: u64, at_s: u64, route: &str, value: f64) -> NumberDataPoint {
    NumberDataPoint {
        attributes: vec![string_attr("route", route)],
        start_time_unix_nano: T + start_s * SEC,
        time_unix_nano: T + at_s * SEC,
        value: Some(number_data_point::Value::AsDouble(value)),
        ..Default::default()
    }
}

fn request(metrics: Vec<Metric>) -> ExportMetricsServiceRequest {
    ExportMetricsServiceRequest {
        resource_metrics: vec![ResourceMetrics {
            resource: Some(Resource {
                attributes: vec![string_attr("service.name", "shop")],
                ..Default::default()
            }),
            scope_metrics: vec![ScopeMetrics {
                metrics,
                ..Default::default()
            }],
            ..Default::default()
        }],
    }
}

fn counter(points: Vec<NumberDataPoint>) -> Metric {
    Metric {
        name: "http.requests".into(),
        unit: "{request}".into(),
        description: "requests served".into(),
        data: Some(metric::Data::Sum(Sum {
            data_points: points,
            aggregation_temporality: AggregationTemporality::Cumulative as i32,
            is_monotonic: true,
        })),
        ..Default::default()
    }
}

/// A histogram with an exemplar, as OTLP/HTTP JSON is written by hand.
fn latency_json() -> Vec<u8> {
    let at = |s: u64| (T + s * SEC).to_string();
    json!({"resourceMetrics": [{
        "resource": {"attributes": [{"key": "service.name", "value": {"stringValue": "shop"}}]},
        "scopeMetrics": [{"metrics": [{
            "name": "latency", "unit": "ms",
            "histogram": {"aggregationTemporality": 1, "dataPoints": [{
                "attributes": [{"key": "route", "value": {"stringValue": "/a"}}],
                "startTimeUnixNano": at(0), "timeUnixNano": at(10),
                "count": "10", "sum": 30.0, "bucketCounts": ["2", "5", "2", "1"],
                "explicitBounds": [1.0, 5.0, 10.0],
                "exemplars": [{"timeUnixNano": at(9), "asDouble": 4.0,
                    "traceId": "5b8efff798038103d269b633813fc60c", "spanId": "eee19b7ec3c1b174"}]
            }]}
        }]}]
    }]})
    .to_string()
    .into_bytes()
}

async fn query(server: &TestServer, params: &[(&str, &str)]) -> (u16, Value) {
    let mut all: Vec<(&str, &str)> = WINDOW.to_vec();
    all.extend_from_slice(params);
    server.get_params("/api/v1/metrics/query", &all).await
}

#[tokio::test]
async fn metrics_over_every_transport_and_through_the_api() {
    let server = TestServer::start(&[]);
    // gRPC: route /a counts 10, 25, then its sender restarts and counts 5; a NaN point and a
    // gauge without points of a type are refused one by one.
    let mut client = MetricsServiceClient::connect(server.grpc.clone())
        .await
        .unwrap();
    let answer = client
        .export(request(vec![
            counter(vec![
                number(0, 10, "/a", 10.0),
                number(0, 20, "/a", 25.0),
                number(25, 30, "/a", 5.0),
                number(0, 30, "/a", f64::NAN),
            ]),
            Metric {
                name: "untyped".into(),
                ..Default::default()
            },
        ]))
        .await
        .unwrap()
        .into_inner();
    let partial = answer.partial_success.expect("partial_success");
    assert_eq!(partial.rejected_data_points, 2);
    assert!(
        partial.error_message.contains("as_double is NaN"),
        "{}",
        partial.error_message
    );
    assert!(
        partial.error_message.contains("has no data"),
        "{}",
        partial.error_message
    );

    // HTTP protobuf, gzipped: route /b and a gauge.
    let gauge = Metric {
        name: "queue.depth".into(),
        data: Some(metric::Data::Gauge(Gauge {
            data_points: vec![number(0, 15, "/b", 3.0)],
        })),
        ..Default::default()
    };
    let body = request(vec![counter(vec![number(0, 10, "/b", 4.0)]), gauge]).encode_to_vec();
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    gz.write_all(&body).unwrap();
    let resp = server
        .post_otlp(
            "/v1/metrics",
            "application/x-protobuf",
            &[("content-encoding", "gzip")],
            gz.finish().unwrap(),
        )
        .await;
    assert_eq!(resp.status().as_u16(), 200);
    let answer = ExportMetricsServiceResponse::decode(resp.bytes().await.unwrap()).unwrap();
    assert_eq!(answer.partial_success, None);

    // HTTP JSON: a histogram with an exemplar.
    let resp = server
        .post_otlp("/v1/metrics", "application/json", &[], latency_json())
        .await;
    assert_eq!(
        resp.status().as_u16(),
        200,
        "{}",
        resp.text().await.unwrap()
    );

    let (status, names) = server.get_params("/api/v1/metrics/names", &WINDOW).await;
    assert_eq!(status, 200, "{names}");
    let all = json!([
        {"name": "http.requests", "type": "sum", "unit": "{request}", "description": "requests served",
         "functions": ["avg", "sum", "min", "max", "count", "rate", "increase"]},
        {"name": "latency", "type": "histogram", "unit": "ms", "description": "",
         "functions": ["avg", "sum", "count", "rate", "increase", "p50", "p75", "p90", "p95", "p99"]},
        {"name": "queue.depth", "type": "gauge", "unit": "", "description": "",
         "functions": ["avg", "sum", "min", "max", "count"]},
    ]);
    assert_eq!(names["metrics"], all);
    for (service, expected) in [("shop", all.clone()), ("billing", json!([]))] {
        let params = [WINDOW[0], WINDOW[1], ("service", service)];
        let (status, names) = server.get_params("/api/v1/metrics/names", &params).await;
        assert_eq!(status, 200, "{names}");
        assert_eq!(names["metrics"], expected, "the metrics of {service}");
    }
    let (status, labels) = server
        .get_params("/api/v1/metrics/http.requests/labels", &WINDOW)
        .await;
    assert_eq!(status, 200, "{labels}");
    assert_eq!(
        labels["labels"],
        json!([
            {"key": "route", "scope": "point", "series": 2},
            {"key": "service.name", "scope": "resource", "series": 2},
        ])
    );
    let (_, values) = server
        .get_params("/api/v1/metrics/http.requests/labels/route/values", &WINDOW)
        .await;
    assert_eq!(
        values["values"],
        json!([{"value": "/a", "series": 1}, {"value": "/b", "series": 1}])
    );

    // Increase by route, one step of a minute: /a 10 + 15 + 5 (the reset), /b 4.
    let (status, inc) = query(
        &server,
        &[
            ("metric", "http.requests"),
            ("fn", "increase"),
            ("by", "route"),
            ("step", "1m"),
        ],
    )
    .await;
    assert_eq!(status, 200, "{inc}");
    let totals: Vec<(Value, Value)> = inc["series"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| (s["labels"]["route"].clone(), s["total"].clone()))
        .collect();
    assert_eq!(
        totals,
        vec![(json!("/a"), json!(30.0)), (json!("/b"), json!(4.0))]
    );
    let (_, filtered) = query(
        &server,
        &[
            ("metric", "http.requests"),
            ("fn", "rate"),
            ("filter", "route:/b"),
            ("step", "1m"),
        ],
    )
    .await;
    assert_eq!(filtered["series"][0]["total"], json!(4.0 / 60.0));

    let (status, p50) = query(&server, &[("metric", "latency"), ("fn", "p50")]).await;
    assert_eq!(status, 200, "{p50}");
    assert_eq!(p50["series"][0]["total"], json!(1.0 + 4.0 * 3.0 / 5.0));
    let exemplar = &p50["series"][0]["exemplars"][0];
    assert_eq!(exemplar["trace_id"], "5b8efff798038103d269b633813fc60c");
    assert_eq!(exemplar["value"], json!(4.0));

    for (params, message) in [
        (vec![("fn", "avg")], "metric is required"),
        (
            vec![("metric", "latency"), ("fn", "median")],
            "unknown fn \"median\"",
        ),
        (
            vec![("metric", "queue.depth"), ("fn", "rate")],
            "does not apply to a gauge",
        ),
        (
            vec![("metric", "latency"), ("step", "1ms")],
            "at most 1440 are allowed",
        ),
        (vec![("metric", "latency"), ("filter", "route:(")], ""),
    ] {
        let (status, body) = query(&server, &params).await;
        assert_eq!(status, 400, "{params:?}: {body}");
        let text = body["error"]["message"].as_str().unwrap();
        assert!(text.contains(message), "{params:?}: {text}");
    }
}
