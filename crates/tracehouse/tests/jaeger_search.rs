//! Jaeger storage-integration search conformance: the 32 fixture traces are POSTed as
//! OTLP/JSON, every case of `queries.json` is translated into the tracehouse query language
//! and run through `GET /api/v1/traces/search`, and the returned trace ids (and their span
//! counts) must equal `expected_trace_ids.json` exactly.
//!
//! Translation: `ServiceName` → `service_name:"…"`, `OperationName` → `span_name:"…"`,
//! `DurationMin`/`DurationMax` → `duration>=N duration<=N` in ns (0 = unbounded),
//! `StartTimeMin`/`StartTimeMax` → the `start`/`end` window (end made inclusive),
//! `NumTraces` → `limit`. Each tag is an equality with the value typed as in the JSON
//! (string quoted, int, float, bool), addressed where the tag lives in the fixture traces:
//! span or resource attributes → the unscoped `key=value` (either of the two), span
//! **events** → `event.key=value`, **links** → `link.key=value`, the instrumentation
//! **scope** → `instrumentation.key=value`. A key found in several of these places
//! becomes an OR group of the scoped forms, which is what Jaeger's "the tag anywhere on
//! the span" means. Every default case is then exact; each is also run with its tags
//! unscoped, and exactly the ten cases of [`NEED_SCOPES`] are wrong that way. `queries_es.json` (regex tag
//! values, an Elasticsearch-only dialect) is not part of the default suite.

use crate::common;

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

use common::{TestServer, shared_dir};
use serde_json::Value;

/// The cases whose tags live on span events, links or the instrumentation scope of the
/// matching spans: with span and resource attributes alone they return the wrong traces.
const NEED_SCOPES: &[&str] = &[
    "Tags in one spot - Logs",
    "Tags + Operation name + Duration range",
    "Tags in different spots",
    "Multi-spot Tags + Operation name",
    "Multi-spot Tags + Operation name + max Duration",
    "Multi-spot Tags + Operation name + Duration range",
    "Multi-spot Tags + Duration range",
    "Multi-spot Tags + max Duration",
    "Scope Attributes",
    "Link Attributes",
];

fn fixtures() -> PathBuf {
    shared_dir()
        .join("fixtures")
        .join("jaeger-storage-integration")
}

fn read_json(path: &PathBuf) -> Value {
    let text = std::fs::read_to_string(path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn keys_of(attrs: &Value) -> impl Iterator<Item = String> + '_ {
    attrs
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|kv| kv["key"].as_str().map(String::from))
}

/// Where each attribute key of a fixture file appears: `span`, `resource`, `event`,
/// `scope` or `link`.
fn key_locations(fixture: &Value) -> BTreeMap<String, BTreeSet<&'static str>> {
    let mut out: BTreeMap<String, BTreeSet<&'static str>> = BTreeMap::new();
    let mut add = |k: String, loc: &'static str| {
        out.entry(k).or_default().insert(loc);
    };
    for rs in fixture["resourceSpans"].as_array().into_iter().flatten() {
        for k in keys_of(&rs["resource"]["attributes"]) {
            add(k, "resource");
        }
        for ss in rs["scopeSpans"].as_array().into_iter().flatten() {
            for k in keys_of(&ss["scope"]["attributes"]) {
                add(k, "scope");
            }
            for span in ss["spans"].as_array().into_iter().flatten() {
                for k in keys_of(&span["attributes"]) {
                    add(k, "span");
                }
                for e in span["events"].as_array().into_iter().flatten() {
                    for k in keys_of(&e["attributes"]) {
                        add(k, "event");
                    }
                }
                for l in span["links"].as_array().into_iter().flatten() {
                    for k in keys_of(&l["attributes"]) {
                        add(k, "link");
                    }
                }
            }
        }
    }
    out
}

fn quote(s: &str) -> String {
    format!("\"{}\"", s.replace('\\', "\\\\").replace('"', "\\\""))
}

/// The tag as a term: `key=value` in every place the key lives (`locations`, as found by
/// [`key_locations`]), ORed when there are several.
fn tag_term(key: &str, value: &Value, locations: &BTreeSet<&'static str>) -> String {
    let v = match value {
        Value::String(s) => quote(s),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => n.to_string(),
        other => panic!("unsupported tag value {other}"),
    };
    let mut prefixes = Vec::new();
    if locations.contains("span") || locations.contains("resource") {
        prefixes.push("");
    }
    for (location, prefix) in [
        ("event", "event."),
        ("link", "link."),
        ("scope", "instrumentation."),
    ] {
        if locations.contains(location) {
            prefixes.push(prefix);
        }
    }
    assert!(!prefixes.is_empty(), "tag {key} is in no fixture trace");
    let forms: Vec<String> = prefixes
        .iter()
        .map(|p| format!("{}={v}", quote_key(&format!("{p}{key}"))))
        .collect();
    if forms.len() == 1 {
        forms.join("")
    } else {
        format!("({})", forms.join(" OR "))
    }
}

fn quote_key(key: &str) -> String {
    if key
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
    {
        key.to_string()
    } else {
        quote(key)
    }
}

fn rfc3339_ns(text: &str) -> i64 {
    chrono::DateTime::parse_from_rfc3339(text)
        .unwrap_or_else(|e| panic!("{text}: {e}"))
        .timestamp_nanos_opt()
        .expect("time in range")
}

async fn search(server: &TestServer, query: &str, start: i64, end: i64, limit: u64) -> Value {
    let url = reqwest::Url::parse_with_params(
        &format!("{}/api/v1/traces/search", server.api),
        &[
            ("query", query.to_string()),
            ("start", start.to_string()),
            ("end", end.to_string()),
            ("limit", limit.to_string()),
        ],
    )
    .expect("url");
    let resp = reqwest::get(url).await.expect("GET traces/search");
    let status = resp.status().as_u16();
    let body: Value = resp.json().await.unwrap_or(Value::Null);
    assert_eq!(status, 200, "{query}: {body}");
    body
}

#[tokio::test]
async fn jaeger_search_cases_return_exactly_the_expected_traces() {
    let dir = fixtures();
    let server = TestServer::start(&["--retention", "forever"]);
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir.join("traces"))
        .expect("fixture traces")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .collect();
    files.sort();
    assert_eq!(files.len(), 32);
    for path in &files {
        let body = std::fs::read(path).expect("fixture");
        let resp = server.post_traces("application/json", &[], body).await;
        assert_eq!(resp.status().as_u16(), 200, "{}", path.display());
    }

    // Where every attribute key lives, over all fixture traces.
    let mut locations: BTreeMap<String, BTreeSet<&'static str>> = BTreeMap::new();
    for path in &files {
        for (k, l) in key_locations(&read_json(path)) {
            locations.entry(k).or_default().extend(l);
        }
    }

    let cases = read_json(&dir.join("queries.json"));
    let expected = read_json(&dir.join("expected_trace_ids.json"));
    let expected: BTreeMap<String, (BTreeSet<String>, u64)> = expected["cases"]
        .as_array()
        .expect("cases")
        .iter()
        .filter(|c| c["suite"] == "default")
        .map(|c| {
            let ids = c["expected_trace_ids"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|v| v.as_str().map(String::from))
                .collect();
            (
                c["caption"].as_str().unwrap_or_default().to_string(),
                (ids, c["expected_span_count"].as_u64().unwrap_or(0)),
            )
        })
        .collect();

    let mut failures = Vec::new();
    let mut ran = 0;
    let mut needs_scopes: BTreeSet<&str> = BTreeSet::new();
    for case in cases.as_array().expect("queries") {
        let caption = case["Caption"].as_str().expect("caption");
        let q = &case["Query"];
        let (want_ids, want_spans) = expected
            .get(caption)
            .unwrap_or_else(|| panic!("no expected ids for {caption}"));

        let mut terms = vec![format!(
            "service_name:{}",
            quote(q["ServiceName"].as_str().unwrap_or(""))
        )];
        if let Some(op) = q["OperationName"].as_str().filter(|s| !s.is_empty()) {
            terms.push(format!("span_name:{}", quote(op)));
        }
        // The same query with every tag unscoped (span or resource attributes only), run
        // too, to show which cases need the event, link and scope terms.
        let mut unscoped_terms = terms.clone();
        let span_or_resource = BTreeSet::from(["span"]);
        for (k, v) in q["Tags"].as_object().into_iter().flatten() {
            let locs = locations.get(k).cloned().unwrap_or_default();
            terms.push(tag_term(k, v, &locs));
            unscoped_terms.push(tag_term(k, v, &span_or_resource));
        }
        let min = q["DurationMin"].as_i64().unwrap_or(0);
        let max = q["DurationMax"].as_i64().unwrap_or(0);
        if min > 0 {
            terms.push(format!("duration>={min}"));
        }
        if max > 0 {
            terms.push(format!("duration<={max}"));
        }
        let start = rfc3339_ns(q["StartTimeMin"].as_str().expect("start"));
        let end = rfc3339_ns(q["StartTimeMax"].as_str().expect("end")) + 1;
        let limit = q["NumTraces"].as_u64().unwrap_or(1000);
        let run = |terms: &[String]| {
            let query = terms.join(" ");
            let server = &server;
            async move {
                let body = search(server, &query, start, end, limit).await;
                let traces = body["traces"].as_array().cloned().unwrap_or_default();
                let got: BTreeSet<String> = traces
                    .iter()
                    .filter_map(|t| t["trace_id"].as_str().map(String::from))
                    .collect();
                let spans: u64 = traces.iter().filter_map(|t| t["span_count"].as_u64()).sum();
                (query, got, spans)
            }
        };
        let (query, got, spans) = run(&terms).await;
        if &got != want_ids || spans != *want_spans {
            failures.push(format!(
                "{caption}: `{query}` returned {got:?} ({spans} spans), want {want_ids:?} ({want_spans} spans)"
            ));
        }
        let (_, unscoped_got, unscoped_spans) = run(&unscoped_terms).await;
        if &unscoped_got != want_ids || unscoped_spans != *want_spans {
            needs_scopes.insert(caption);
        }
        ran += 1;
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    assert_eq!(ran, 25, "all 25 default cases ran");
    assert_eq!(
        needs_scopes,
        NEED_SCOPES.iter().copied().collect::<BTreeSet<_>>(),
        "the cases that only event, link and scope terms make exact"
    );
}
