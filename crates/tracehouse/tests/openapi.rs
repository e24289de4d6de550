//! The OpenAPI document of the JSON API against the real binary: it is served at
//! `/api/v1/openapi.json` (derived with utoipa from the routes and the types they answer),
//! is OpenAPI 3.1, is what `tracehouse openapi` prints, documents exactly the routes the
//! router in `crates/server/src/api/mod.rs` declares (read from its source text), and the
//! real answers of every JSON route, after a little OTLP/HTTP JSON traffic, fit the schemas
//! it names.
//!
//! The schema check is deliberately small: `$ref`, `allOf`/`anyOf`/`oneOf`, `type`,
//! `enum`/`const`, `required`, `properties` (a field the document does not declare is an
//! error), `additionalProperties`, `propertyNames`, `items` and lowercase-hex `pattern`s.

use crate::common;

use std::collections::{BTreeMap, BTreeSet};
use std::time::{SystemTime, UNIX_EPOCH};

use common::TestServer;
use serde_json::{Value, json};

/// The router's source: the routes it declares are read from its `.route("…", get(…))` calls.
const API_SOURCE: &str = include_str!("../../server/src/api/mod.rs");

const TRACE: &str = "0af7651916cd43dd8448eb211c80319c";
const OTHER_TRACE: &str = "1bf7651916cd43dd8448eb211c80319d";
const ROOT: &str = "b7ad6b7169203331";
const CHILD: &str = "00f067aa0ba902b7";
const SESSION: &str = "sess-openapi-1";

/// `(path, method)` of every `.route(...)` call in the router source.
fn declared_routes() -> BTreeSet<(String, String)> {
    let mut routes = BTreeSet::new();
    for (at, _) in API_SOURCE.match_indices(".route(") {
        let rest = API_SOURCE[at + ".route(".len()..].trim_start();
        let rest = rest
            .strip_prefix('"')
            .expect("a route path literal after .route(");
        let end = rest.find('"').expect("closing quote of a route path");
        let path = rest[..end].to_string();
        let after = rest[end + 1..].trim_start_matches(',').trim_start();
        let method: String = after
            .chars()
            .take_while(|c| c.is_ascii_alphabetic())
            .collect();
        assert!(!method.is_empty(), "no method after route {path:?}");
        routes.insert((path, method));
    }
    assert!(routes.len() > 10, "too few routes found: {routes:?}");
    routes
}

/// Follows `$ref`s (local JSON pointers) until a schema that is not one.
fn resolve<'a>(doc: &'a Value, mut v: &'a Value) -> &'a Value {
    for _ in 0..32 {
        let Some(r) = v.get("$ref").and_then(Value::as_str) else {
            return v;
        };
        let pointer = r
            .strip_prefix('#')
            .unwrap_or_else(|| panic!("non-local $ref {r}"));
        v = doc
            .pointer(pointer)
            .unwrap_or_else(|| panic!("$ref {r} does not resolve"));
    }
    panic!("$ref cycle at {v}");
}

/// Every `$ref` string anywhere in `v`.
fn refs(v: &Value, out: &mut Vec<String>) {
    match v {
        Value::Object(m) => {
            for (k, x) in m {
                match (k.as_str(), x) {
                    ("$ref", Value::String(r)) => out.push(r.clone()),
                    _ => refs(x, out),
                }
            }
        }
        Value::Array(a) => a.iter().for_each(|x| refs(x, out)),
        _ => {}
    }
}

fn type_matches(value: &Value, ty: &str) -> bool {
    match ty {
        "null" => value.is_null(),
        "boolean" => value.is_boolean(),
        "integer" => value.is_i64() || value.is_u64(),
        "number" => value.is_number(),
        "string" => value.is_string(),
        "array" => value.is_array(),
        "object" => value.is_object(),
        other => panic!("unknown type {other:?} in the document"),
    }
}

/// Checks `pattern`s of the form `^[0-9a-f]{N}$` (ids, fingerprints, cursors); others are
/// not checked.
fn pattern_matches(text: &str, pattern: &str) -> bool {
    let Some(n) = pattern
        .strip_prefix("^[0-9a-f]{")
        .and_then(|p| p.strip_suffix("}$"))
        .and_then(|n| n.parse::<usize>().ok())
    else {
        return true;
    };
    text.len() == n && text.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

/// The properties a schema declares, its `allOf` members' included.
fn declared<'a>(doc: &'a Value, schema: &'a Value, out: &mut Vec<&'a str>) {
    let schema = resolve(doc, schema);
    if let Some(props) = schema.get("properties").and_then(Value::as_object) {
        out.extend(props.keys().map(String::as_str));
    }
    for s in schema
        .get("allOf")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        declared(doc, s, out);
    }
}

/// Checks `value` against `schema`, appending what does not fit (with its JSON path).
fn check(doc: &Value, schema: &Value, value: &Value, at: &str, errs: &mut Vec<String>) {
    check_as(doc, schema, value, at, errs, true);
}

/// [`check`]; `whole` is false for a member of an `allOf`, whose fields may be declared
/// by another member.
fn check_as(
    doc: &Value,
    schema: &Value,
    value: &Value,
    at: &str,
    errs: &mut Vec<String>,
    whole: bool,
) {
    let schema = resolve(doc, schema);
    if let Some(all) = schema.get("allOf").and_then(Value::as_array) {
        for s in all {
            check_as(doc, s, value, at, errs, false);
        }
        if let (true, Value::Object(fields)) = (whole, value) {
            let mut names = Vec::new();
            declared(doc, schema, &mut names);
            for k in fields.keys().filter(|k| !names.contains(&k.as_str())) {
                errs.push(format!("{at}.{k}: field not declared in the schema"));
            }
        }
    }
    for key in ["anyOf", "oneOf"] {
        if let Some(alts) = schema.get(key).and_then(Value::as_array) {
            let fits = alts.iter().any(|s| {
                let mut e = Vec::new();
                check(doc, s, value, at, &mut e);
                e.is_empty()
            });
            if !fits {
                errs.push(format!("{at}: {value} fits no alternative of {key}"));
            }
        }
    }
    if let Some(c) = schema.get("const")
        && c != value
    {
        errs.push(format!("{at}: {value} is not {c}"));
    }
    if let Some(e) = schema.get("enum").and_then(Value::as_array)
        && !e.contains(value)
    {
        errs.push(format!("{at}: {value} is not one of {e:?}"));
    }
    match schema.get("type") {
        Some(Value::String(t)) if !type_matches(value, t) => {
            errs.push(format!("{at}: {value} is not of type {t}"));
        }
        Some(Value::Array(ts))
            if !ts
                .iter()
                .any(|t| type_matches(value, t.as_str().unwrap_or_default())) =>
        {
            errs.push(format!("{at}: {value} is not of a type in {ts:?}"));
        }
        _ => {}
    }
    if let (Some(p), Some(text)) = (
        schema.get("pattern").and_then(Value::as_str),
        value.as_str(),
    ) && !pattern_matches(text, p)
    {
        errs.push(format!("{at}: {text:?} does not match {p}"));
    }
    if let Value::Object(fields) = value {
        for r in schema
            .get("required")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            let r = r.as_str().unwrap_or_default();
            if !fields.contains_key(r) {
                errs.push(format!("{at}: required field {r:?} is missing"));
            }
        }
        let props = schema.get("properties").and_then(Value::as_object);
        let extra = schema.get("additionalProperties").filter(|a| a.is_object());
        let names = schema.get("propertyNames");
        for (k, v) in fields {
            let here = format!("{at}.{k}");
            if let Some(n) = names {
                check(doc, n, &Value::String(k.clone()), &here, errs);
            }
            match (props.and_then(|p| p.get(k)), extra) {
                (Some(s), _) | (None, Some(s)) => check(doc, s, v, &here, errs),
                (None, None)
                    if whole
                        && (props.is_some() || schema.get("additionalProperties").is_some()) =>
                {
                    errs.push(format!("{here}: field not declared in the schema"));
                }
                (None, None) => {}
            }
        }
    }
    if let (Value::Array(items), Some(s)) = (value, schema.get("items")) {
        for (i, v) in items.iter().enumerate() {
            check(doc, s, v, &format!("{at}[{i}]"), errs);
        }
    }
}

/// The JSON schema the document gives for `GET path` answering `status`.
fn response_schema<'a>(doc: &'a Value, path: &str, status: u16) -> &'a Value {
    let op = &doc["paths"][path]["get"];
    assert!(op.is_object(), "{path} is not documented");
    let resp = op["responses"]
        .get(status.to_string())
        .unwrap_or_else(|| panic!("GET {path} does not document status {status}"));
    let schema = &resolve(doc, resp)["content"]["application/json"]["schema"];
    assert!(
        schema.is_object(),
        "GET {path} {status} has no application/json schema"
    );
    schema
}

/// Asserts that a real answer fits the document.
fn assert_fits(doc: &Value, path: &str, status: u16, body: &Value) {
    let mut errs = Vec::new();
    check(
        doc,
        response_schema(doc, path, status),
        body,
        "$",
        &mut errs,
    );
    assert!(
        errs.is_empty(),
        "GET {path} ({status}) does not fit the document:\n{}\nbody: {body}",
        errs.join("\n")
    );
}

async fn served_document(server: &TestServer) -> Value {
    let resp = reqwest::get(format!("{}/api/v1/openapi.json", server.api))
        .await
        .expect("GET openapi.json");
    assert_eq!(resp.status().as_u16(), 200);
    let ct = resp
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string();
    assert_eq!(ct, "application/json");
    let text = resp.text().await.expect("body");
    serde_json::from_str(&text).expect("the served document is JSON")
}

#[tokio::test]
async fn document_is_served_and_lists_exactly_the_routes() {
    let server = TestServer::start(&[]);
    let doc = served_document(&server).await;

    assert!(
        doc["openapi"]
            .as_str()
            .is_some_and(|v| v.starts_with("3.1.")),
        "not OpenAPI 3.1: {}",
        doc["openapi"]
    );
    assert_eq!(doc["info"]["version"], env!("CARGO_PKG_VERSION"));
    assert!(doc["info"]["title"].is_string());

    // `tracehouse openapi` prints the served document (the UI's types are generated from it).
    let printed = std::process::Command::new(env!("CARGO_BIN_EXE_tracehouse"))
        .arg("openapi")
        .output()
        .expect("run tracehouse openapi");
    assert!(printed.status.success(), "{printed:?}");
    let printed: Value = serde_json::from_slice(&printed.stdout).expect("printed JSON");
    assert_eq!(
        printed, doc,
        "tracehouse openapi differs from the served document"
    );

    // Exactly the router's routes, with the router's methods.
    let declared = declared_routes();
    let paths = doc["paths"].as_object().expect("paths");
    let documented: BTreeSet<(String, String)> = paths
        .iter()
        .flat_map(|(p, item)| {
            item.as_object()
                .expect("path item")
                .keys()
                .filter(|k| {
                    matches!(
                        k.as_str(),
                        "get" | "put" | "post" | "delete" | "options" | "head" | "patch" | "trace"
                    )
                })
                .map(|m| (p.clone(), m.clone()))
                .collect::<Vec<_>>()
        })
        .collect();
    assert_eq!(
        documented, declared,
        "documented routes (left) differ from crates/server/src/api/mod.rs (right)"
    );

    // Every `$ref` resolves; operation ids are unique; every path template parameter is a
    // declared required path parameter, and nothing else is.
    let mut all = Vec::new();
    refs(&doc, &mut all);
    assert!(!all.is_empty());
    for r in &all {
        let p = r
            .strip_prefix('#')
            .unwrap_or_else(|| panic!("non-local {r}"));
        assert!(doc.pointer(p).is_some(), "$ref {r} does not resolve");
    }
    let mut ids = BTreeSet::new();
    for (path, item) in paths {
        let op = &item["get"];
        let id = op["operationId"].as_str().expect("operationId");
        assert!(ids.insert(id.to_string()), "duplicate operationId {id}");
        let template: BTreeSet<&str> = path
            .split('/')
            .filter_map(|s| s.strip_prefix('{').and_then(|s| s.strip_suffix('}')))
            .collect();
        let mut in_path = BTreeSet::new();
        let mut in_query = BTreeSet::new();
        for p in op["parameters"].as_array().into_iter().flatten() {
            let p = resolve(&doc, p);
            let name = p["name"].as_str().expect("parameter name");
            match p["in"].as_str() {
                Some("path") => {
                    assert_eq!(p["required"], true, "{path}: path parameter {name}");
                    in_path.insert(name);
                }
                Some("query") => assert!(in_query.insert(name), "{path}: {name} twice"),
                other => panic!("{path}: parameter {name} in {other:?}"),
            }
        }
        assert_eq!(in_path, template, "{path}: path parameters");
        assert!(
            op["responses"]["200"].is_object(),
            "{path}: no 200 response"
        );
    }

    // The project key, both ways.
    let schemes = &doc["components"]["securitySchemes"];
    assert!(
        schemes
            .as_object()
            .expect("security schemes")
            .values()
            .any(|s| s["in"] == "header" && s["name"] == "x-tracehouse-key"),
        "{schemes}"
    );
    assert!(
        schemes
            .as_object()
            .expect("security schemes")
            .values()
            .any(|s| s["type"] == "http" && s["scheme"] == "bearer"),
        "{schemes}"
    );

    // An unknown API route points at the document, in the documented error shape.
    let (status, body) = server.get("/api/v1/nothing-here").await;
    assert_eq!(status, 404, "{body}");
    assert!(
        body["error"]["message"]
            .as_str()
            .is_some_and(|m| m.contains("/api/v1/openapi.json")),
        "{body}"
    );
    let mut errs = Vec::new();
    check(
        &doc,
        &json!({"$ref": "#/components/schemas/Error"}),
        &body,
        "$",
        &mut errs,
    );
    assert!(errs.is_empty(), "{errs:?}");
}

fn now_ns() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("clock")
        .as_nanos() as u64
}

fn kv(key: &str, value: Value) -> Value {
    json!({"key": key, "value": value})
}

fn s(text: &str) -> Value {
    json!({ "stringValue": text })
}

/// A trace of two spans in a session (every attribute type, an event, a link, a failed
/// child with an `exception` event), as OTLP/HTTP JSON.
fn traces_json(t: u64) -> Vec<u8> {
    let ms = 1_000_000;
    let body = json!({"resourceSpans": [{
        "resource": {"attributes": [
            kv("service.name", s("shop-web")),
            kv("service.version", s("2.0.1")),
            kv("deployment.environment", s("test")),
        ]},
        "scopeSpans": [{
            "scope": {"name": "shop.http", "version": "1.0", "attributes": [kv("lib", s("axum"))]},
            "spans": [
                {
                    "traceId": TRACE, "spanId": ROOT, "name": "GET /checkout", "kind": 2,
                    "startTimeUnixNano": t.to_string(),
                    "endTimeUnixNano": (t + 40 * ms).to_string(),
                    "attributes": [
                        kv("http.route", s("/checkout")),
                        kv("http.response.status_code", json!({"intValue": "500"})),
                        kv("cache.ratio", json!({"doubleValue": 0.25})),
                        kv("cache.hit", json!({"boolValue": false})),
                        kv("request.digest", json!({"bytesValue": "AQID"})),
                        kv("request.tags", json!({"arrayValue": {"values": [s("a"), {"intValue": "2"}]}})),
                        kv("request.user", json!({"kvlistValue": {"values": [kv("tier", s("gold"))]}})),
                        kv("session.id", s(SESSION)),
                    ],
                    "events": [{"timeUnixNano": (t + ms).to_string(), "name": "accepted",
                                "attributes": [kv("queue", s("web"))]}],
                    "links": [{"traceId": "5b8efff798038103d269b633813fc60c",
                               "spanId": "eee19b7ec3c1b174", "traceState": "k=v",
                               "attributes": [kv("link.kind", s("follows"))]}],
                    "status": {"code": 2, "message": "checkout failed"},
                },
                {
                    "traceId": TRACE, "spanId": CHILD, "parentSpanId": ROOT,
                    "name": "charge card", "kind": 3,
                    "startTimeUnixNano": (t + 5 * ms).to_string(),
                    "endTimeUnixNano": (t + 30 * ms).to_string(),
                    "attributes": [kv("session.id", s(SESSION))],
                    "events": [{"timeUnixNano": (t + 20 * ms).to_string(), "name": "exception",
                                "attributes": [
                                    kv("exception.type", s("CardDeclined")),
                                    kv("exception.message", s("card declined")),
                                    kv("exception.stacktrace", s("at charge (pay.js:12)")),
                                ]}],
                    "status": {"code": 2},
                },
            ],
        }],
    }]});
    serde_json::to_vec(&body).expect("JSON")
}

/// Two log records of the trace: an info line and an error log carrying an exception.
fn logs_json(t: u64) -> Vec<u8> {
    let ms = 1_000_000;
    let body = json!({"resourceLogs": [{
        "resource": {"attributes": [kv("service.name", s("shop-web"))]},
        "scopeLogs": [{
            "scope": {"name": "shop.logger"},
            "logRecords": [
                {
                    "timeUnixNano": (t + 2 * ms).to_string(),
                    "severityNumber": 9, "severityText": "INFO",
                    "body": s("checkout started"),
                    "traceId": TRACE, "spanId": ROOT,
                    "attributes": [kv("session.id", s(SESSION))],
                },
                {
                    "timeUnixNano": (t + 25 * ms).to_string(),
                    "observedTimeUnixNano": (t + 26 * ms).to_string(),
                    "severityNumber": 17, "severityText": "ERROR",
                    "body": s("payment failed"),
                    "traceId": TRACE, "spanId": CHILD, "flags": 1,
                    "attributes": [
                        kv("session.id", s(SESSION)),
                        kv("exception.type", s("GatewayTimeout")),
                        kv("exception.message", s("gateway timed out")),
                    ],
                },
            ],
        }],
    }]});
    serde_json::to_vec(&body).expect("JSON")
}

/// A request to check: the documented path, the real path, its query parameters, and the
/// array (a JSON pointer) that must not be empty for the check to mean something.
type Case<'a> = (&'a str, &'a str, &'a [(&'a str, &'a str)], &'a str);

/// A histogram point with an exemplar of the trace, as OTLP/HTTP JSON.
fn metrics_json(t: u64) -> Vec<u8> {
    json!({"resourceMetrics": [{
        "resource": {"attributes": [kv("service.name", s("shop-web"))]},
        "scopeMetrics": [{"metrics": [{
            "name": "http.server.duration", "unit": "ms", "description": "request time",
            "histogram": {"aggregationTemporality": 1, "dataPoints": [{
                "attributes": [kv("route", s("/cart"))],
                "startTimeUnixNano": (t - 1_000_000_000).to_string(),
                "timeUnixNano": t.to_string(),
                "count": "3", "sum": 12.5, "bucketCounts": ["1", "2"], "explicitBounds": [5.0],
                "exemplars": [{"timeUnixNano": t.to_string(), "asDouble": 7.5,
                    "traceId": TRACE, "spanId": "eee19b7ec3c1b174"}]
            }]}
        }]}]
    }]})
    .to_string()
    .into_bytes()
}

#[tokio::test]
async fn real_answers_fit_the_documented_schemas() {
    let server = TestServer::start(&[]);
    let doc = served_document(&server).await;
    let t = now_ns() - 30_000_000_000;
    let resp = server
        .post_traces("application/json", &[], traces_json(t))
        .await;
    assert_eq!(resp.status().as_u16(), 200);
    // The same request a second earlier as another trace: the typical trace of the first.
    let again = String::from_utf8(traces_json(t - 1_000_000_000))
        .unwrap()
        .replace(TRACE, OTHER_TRACE);
    let resp = server
        .post_traces("application/json", &[], again.into_bytes())
        .await;
    assert_eq!(resp.status().as_u16(), 200);
    let resp = server
        .post_logs("application/json", &[], logs_json(t))
        .await;
    assert_eq!(resp.status().as_u16(), 200);
    let resp = server
        .post_otlp("/v1/metrics", "application/json", &[], metrics_json(t))
        .await;
    assert_eq!(resp.status().as_u16(), 200);
    let resp = reqwest::Client::new()
        .put(format!("{}/api/v1/views/errors", server.api))
        .json(&json!({"query": "status:error", "range": "1h", "columns": ["time"]}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 200);
    let chunk = serde_json::json!({
        "session_id": SESSION,
        "sequence": 0,
        "events": [{"type": 4, "timestamp": t / 1_000_000, "data": {"href": "http://shop/"}}],
    });
    let resp = server
        .post_otlp(
            "/v1/replay",
            "application/json",
            &[],
            chunk.to_string().into_bytes(),
        )
        .await;
    assert_eq!(resp.status().as_u16(), 200);

    // An alert rule that fires at its first evaluation (spans of the last minute), so that
    // its state and history have entries.
    let created: Value = reqwest::Client::new()
        .post(format!("{}/api/v1/alerts", server.api))
        .json(
            &json!({"name": "any spans", "source": "spans", "function": "count",
            "window_s": 300, "threshold": 0, "comparison": ">", "interval_s": 1,
            "channels": [{"kind": "webhook", "url": "http://127.0.0.1:9/hook"}]}),
        )
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let alert = format!("/api/v1/alerts/{}", created["id"].as_str().expect("an id"));
    let alert_history = format!("{alert}/history");
    let start = std::time::Instant::now();
    while server.get(&alert_history).await.1["events"]
        .as_array()
        .is_none_or(Vec::is_empty)
    {
        assert!(
            start.elapsed().as_secs() < 20,
            "the rule was never evaluated"
        );
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }

    let mut checked = BTreeSet::new();
    let mut answers = BTreeMap::new();
    let cases: &[Case] = &[
        ("/api/v1/alerts", "/api/v1/alerts", &[], "/alerts"),
        ("/api/v1/alerts/{id}", &alert, &[], "/state/groups"),
        (
            "/api/v1/alerts/{id}/history",
            &alert_history,
            &[],
            "/events",
        ),
        (
            "/api/v1/spans/search",
            "/api/v1/spans/search",
            &[("limit", "1")],
            "/spans",
        ),
        (
            "/api/v1/spans",
            "/api/v1/spans",
            &[("service", "shop-web")],
            "/spans",
        ),
        (
            "/api/v1/spans/histogram",
            "/api/v1/spans/histogram",
            &[],
            "/buckets",
        ),
        (
            "/api/v1/traces/histogram",
            "/api/v1/traces/histogram",
            &[],
            "/buckets",
        ),
        (
            "/api/v1/traces/search",
            "/api/v1/traces/search",
            &[],
            "/traces",
        ),
        (
            "/api/v1/traces/{trace_id}",
            &format!("/api/v1/traces/{TRACE}"),
            &[],
            "/errors",
        ),
        (
            "/api/v1/traces/{trace_id}/stats",
            &format!("/api/v1/traces/{TRACE}/stats"),
            &[("by", "service"), ("then", "name")],
            "/groups/0/subgroups",
        ),
        (
            "/api/v1/traces/{trace_id}/typical",
            &format!("/api/v1/traces/{TRACE}/typical"),
            &[],
            "",
        ),
        (
            "/api/v1/traces/compare",
            "/api/v1/traces/compare",
            &[("a", TRACE), ("b", TRACE)],
            "/rows",
        ),
        ("/api/v1/keys", "/api/v1/keys", &[], "/keys"),
        (
            "/api/v1/keys/{key}/values",
            "/api/v1/keys/http.route/values",
            &[],
            "/values",
        ),
        (
            "/api/v1/logs/search",
            "/api/v1/logs/search",
            &[("query", "level:error")],
            "/logs",
        ),
        (
            "/api/v1/logs/histogram",
            "/api/v1/logs/histogram",
            &[],
            "/buckets",
        ),
        (
            "/api/v1/errors/groups",
            "/api/v1/errors/groups",
            &[],
            "/groups",
        ),
        ("/api/v1/sessions", "/api/v1/sessions", &[], "/sessions"),
        (
            "/api/v1/sessions/{session_id}",
            &format!("/api/v1/sessions/{SESSION}"),
            &[],
            "/errors",
        ),
        ("/api/v1/views", "/api/v1/views", &[], "/views"),
        (
            "/api/v1/views/{name}",
            "/api/v1/views/errors",
            &[],
            "/columns",
        ),
        (
            "/api/v1/sessions/{session_id}/replay",
            &format!("/api/v1/sessions/{SESSION}/replay"),
            &[],
            "/events",
        ),
        (
            "/api/v1/metrics/spans",
            "/api/v1/metrics/spans",
            &[("fn", "p95(duration)"), ("by", "service")],
            "/series",
        ),
        (
            "/api/v1/metrics/names",
            "/api/v1/metrics/names",
            &[],
            "/metrics",
        ),
        (
            "/api/v1/metrics/{name}/labels",
            "/api/v1/metrics/http.server.duration/labels",
            &[],
            "/labels",
        ),
        (
            "/api/v1/metrics/{name}/labels/{key}/values",
            "/api/v1/metrics/http.server.duration/labels/route/values",
            &[],
            "/values",
        ),
        (
            "/api/v1/metrics/query",
            "/api/v1/metrics/query",
            &[
                ("metric", "http.server.duration"),
                ("fn", "p95"),
                ("by", "route"),
            ],
            "/series/0/exemplars",
        ),
        ("/api/v1/services", "/api/v1/services", &[], "/services"),
        (
            "/api/v1/services/graph",
            "/api/v1/services/graph",
            &[],
            "/nodes",
        ),
        (
            "/api/v1/services/{service}/operations",
            "/api/v1/services/shop-web/operations",
            &[],
            "/operations",
        ),
        ("/readyz", "/readyz", &[], ""),
    ];
    for (template, path, params, non_empty) in cases {
        let (status, body) = server.get_params(path, params).await;
        assert_eq!(status, 200, "GET {path}: {body}");
        if !non_empty.is_empty() {
            assert!(
                body.pointer(non_empty)
                    .and_then(Value::as_array)
                    .is_some_and(|a| !a.is_empty()),
                "GET {path}: {non_empty} is empty, nothing to check: {body}"
            );
        }
        assert_fits(&doc, template, status, &body);
        checked.insert(template.to_string());
        answers.insert(template.to_string(), body);
    }

    // The page of one span carries a cursor; the next page fits too.
    let first = &answers["/api/v1/spans/search"];
    let cursor = first["next_cursor"].as_str().expect("a next cursor");
    let (status, body) = server
        .get_params(
            "/api/v1/spans/search",
            &[("limit", "1"), ("cursor", cursor)],
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_fits(&doc, "/api/v1/spans/search", status, &body);

    // The trace carries every kind of attribute value, its event, link, logs and both errors.
    let trace = &answers["/api/v1/traces/{trace_id}"];
    assert_eq!(trace["spans"].as_array().map(Vec::len), Some(2), "{trace}");
    assert!(
        trace["logs"].as_array().is_some_and(|l| l.len() == 2),
        "{trace}"
    );
    assert!(
        trace["spans"]
            .as_array()
            .into_iter()
            .flatten()
            .any(|s| s["attributes"]["request.digest"].is_object()
                && s["links"].as_array().is_some_and(|l| !l.is_empty())),
        "{trace}"
    );

    // The trace with its critical path fits too.
    let (status, body) = server
        .get_params(
            &format!("/api/v1/traces/{TRACE}"),
            &[("critical_path", "true")],
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert!(
        body["critical_path"]
            .as_array()
            .is_some_and(|c| !c.is_empty()),
        "{body}"
    );
    assert_fits(&doc, "/api/v1/traces/{trace_id}", status, &body);

    // One error group's page, by a fingerprint from the listing.
    let fingerprint = answers["/api/v1/errors/groups"]["groups"][0]["fingerprint"]
        .as_str()
        .expect("a fingerprint")
        .to_string();
    let path = format!("/api/v1/errors/groups/{fingerprint}");
    let (status, body) = server.get(&path).await;
    assert_eq!(status, 200, "{body}");
    assert!(
        body["occurrences"]
            .as_array()
            .is_some_and(|o| !o.is_empty()),
        "{body}"
    );
    assert_fits(&doc, "/api/v1/errors/groups/{fingerprint}", status, &body);
    checked.insert("/api/v1/errors/groups/{fingerprint}".to_string());

    // Every documented JSON route was checked (this document itself is only parsed).
    let json_routes: BTreeSet<String> = doc["paths"]
        .as_object()
        .expect("paths")
        .iter()
        .filter(|(p, item)| {
            *p != "/api/v1/openapi.json"
                && resolve(&doc, &item["get"]["responses"]["200"])["content"]
                    .get("application/json")
                    .is_some()
        })
        .map(|(p, _)| p.clone())
        .collect();
    assert_eq!(
        checked, json_routes,
        "checked (left) versus documented JSON routes"
    );

    // Failures: a query that does not parse (with its position), a bound out of range, an
    // unknown trace, an empty window for a group and a session.
    let (status, body) = server
        .get_params("/api/v1/spans/search", &[("query", "service:(a OR")])
        .await;
    assert_eq!(status, 400, "{body}");
    assert!(body["error"]["expected"].is_array(), "{body}");
    assert_fits(&doc, "/api/v1/spans/search", status, &body);
    for (path, params) in [
        ("/api/v1/traces/search", &[("limit", "1001")][..]),
        ("/api/v1/logs/search", &[("sort", "duration_desc")][..]),
        ("/api/v1/spans/histogram", &[("buckets", "0")][..]),
        ("/api/v1/sessions", &[("start", "yesterday")][..]),
    ] {
        let (status, body) = server.get_params(path, params).await;
        assert_eq!(status, 400, "GET {path} {params:?}: {body}");
        assert_fits(&doc, path, status, &body);
    }
    let (status, body) = server
        .get("/api/v1/traces/ffffffffffffffffffffffffffffffff")
        .await;
    assert_eq!(status, 404, "{body}");
    assert_fits(&doc, "/api/v1/traces/{trace_id}", status, &body);
    let (status, body) = server.get("/api/v1/traces/xyz").await;
    assert_eq!(status, 400, "{body}");
    assert_fits(&doc, "/api/v1/traces/{trace_id}", status, &body);
    let old = [("start", "1000"), ("end", "2000")];
    let (status, body) = server.get_params(&path, &old).await;
    assert_eq!(status, 404, "{body}");
    assert_fits(&doc, "/api/v1/errors/groups/{fingerprint}", status, &body);
    let (status, body) = server
        .get_params(&format!("/api/v1/sessions/{SESSION}"), &old)
        .await;
    assert_eq!(status, 404, "{body}");
    assert_fits(&doc, "/api/v1/sessions/{session_id}", status, &body);
}
