//! Jaeger storage-integration search conformance: the 32 fixture traces are POSTed as
//! OTLP/JSON, every case of `queries.json` is translated into the tracehouse query language
//! and run through `GET /api/v1/traces/search`, and the returned trace ids (and their span
//! counts) must equal `expected_trace_ids.json` exactly.
//!
//! Translation: `ServiceName` → `service_name:"…"`, `OperationName` → `span_name:"…"`,
//! each tag → an unscoped attribute equality `key=value` (span or resource attributes of
//! the same span) with the value typed as in the JSON (string quoted, int, float, bool),
//! `DurationMin`/`DurationMax` → `duration>=N duration<=N` in ns (0 = unbounded),
//! `StartTimeMin`/`StartTimeMax` → the `start`/`end` window (end made inclusive),
//! `NumTraces` → `limit`.
//!
//! What the language cannot express: tags that live on span **events**, on the
//! instrumentation **scope** or on **links** — the language addresses span and resource
//! attributes only (`span.`, `resource.`, unscoped = either). The test finds, from the
//! fixture files, where every tag of a case lives; the cases with a tag outside span and
//! resource attributes are listed in [`NOT_EXPRESSIBLE`] (asserted, so the list cannot go
//! stale). For them the test still runs the query without the inexpressible tags and
//! checks that the expected traces are among the results (an approximation, reported as
//! such), so no case is skipped silently. `queries_es.json` (regex tag values, an
//! Elasticsearch-only dialect) is not part of the default suite.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

use common::{TestServer, shared_dir};
use serde_json::Value;

/// Cases with at least one tag outside span/resource attributes, and where those tags are.
const NOT_EXPRESSIBLE: &[(&str, &str)] = &[
    (
        "Tags in one spot - Logs",
        "all tags are event (log) attributes",
    ),
    (
        "Tags + Operation name + Duration range",
        "all tags are event (log) attributes of the matching span",
    ),
    (
        "Tags in different spots",
        "tags are spread over span, resource and event attributes",
    ),
    (
        "Multi-spot Tags + Operation name",
        "tags are spread over span, resource and event attributes",
    ),
    (
        "Multi-spot Tags + Operation name + max Duration",
        "tags are spread over span, resource and event attributes",
    ),
    (
        "Multi-spot Tags + Operation name + Duration range",
        "tags are spread over span, resource and event attributes",
    ),
    (
        "Multi-spot Tags + Duration range",
        "tags are spread over span, resource and event attributes",
    ),
    (
        "Multi-spot Tags + max Duration",
        "tags are spread over span, resource and event attributes",
    ),
    (
        "Scope Attributes",
        "all tags are instrumentation-scope attributes",
    ),
    ("Link Attributes", "all tags are link attributes"),
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

fn tag_term(key: &str, value: &Value) -> String {
    let v = match value {
        Value::String(s) => quote(s),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => n.to_string(),
        other => panic!("unsupported tag value {other}"),
    };
    format!("{}={v}", quote_key(key))
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
    let mut exact = 0;
    let mut approximated = Vec::new();
    for case in cases.as_array().expect("queries") {
        let caption = case["Caption"].as_str().expect("caption");
        let q = &case["Query"];
        let (want_ids, want_spans) = expected
            .get(caption)
            .unwrap_or_else(|| panic!("no expected ids for {caption}"));
        let mut locations: BTreeMap<String, BTreeSet<&'static str>> = BTreeMap::new();
        for f in case["ExpectedFixtures"].as_array().expect("fixtures") {
            let name = f.as_str().expect("fixture name");
            for (k, l) in
                key_locations(&read_json(&dir.join("traces").join(format!("{name}.json"))))
            {
                locations.entry(k).or_default().extend(l);
            }
        }

        let mut terms = vec![format!(
            "service_name:{}",
            quote(q["ServiceName"].as_str().unwrap_or(""))
        )];
        if let Some(op) = q["OperationName"].as_str().filter(|s| !s.is_empty()) {
            terms.push(format!("span_name:{}", quote(op)));
        }
        let mut inexpressible = Vec::new();
        for (k, v) in q["Tags"].as_object().into_iter().flatten() {
            let locs = locations.get(k).cloned().unwrap_or_default();
            if locs.iter().any(|l| *l == "span" || *l == "resource") {
                terms.push(tag_term(k, v));
            } else {
                inexpressible.push(format!(
                    "{k} ({})",
                    locs.into_iter().collect::<Vec<_>>().join("/")
                ));
            }
        }
        let min = q["DurationMin"].as_i64().unwrap_or(0);
        let max = q["DurationMax"].as_i64().unwrap_or(0);
        if min > 0 {
            terms.push(format!("duration>={min}"));
        }
        if max > 0 {
            terms.push(format!("duration<={max}"));
        }
        let query = terms.join(" ");
        let start = rfc3339_ns(q["StartTimeMin"].as_str().expect("start"));
        let end = rfc3339_ns(q["StartTimeMax"].as_str().expect("end")) + 1;
        let limit = q["NumTraces"].as_u64().unwrap_or(1000);
        let body = search(&server, &query, start, end, limit).await;
        let traces = body["traces"].as_array().cloned().unwrap_or_default();
        let got: BTreeSet<String> = traces
            .iter()
            .filter_map(|t| t["trace_id"].as_str().map(String::from))
            .collect();
        let spans: u64 = traces.iter().filter_map(|t| t["span_count"].as_u64()).sum();

        let listed = NOT_EXPRESSIBLE.iter().any(|(c, _)| *c == caption);
        if inexpressible.is_empty() {
            if listed {
                failures.push(format!("{caption}: listed as not expressible, but it is"));
            }
            if &got != want_ids || spans != *want_spans {
                failures.push(format!(
                    "{caption}: `{query}` returned {got:?} ({spans} spans), want {want_ids:?} ({want_spans} spans)"
                ));
            }
            exact += 1;
        } else {
            if !listed {
                failures.push(format!(
                    "{caption}: tags {inexpressible:?} cannot be expressed; add the case to NOT_EXPRESSIBLE"
                ));
            }
            // The approximation (without the inexpressible tags) must still find the traces.
            if !want_ids.is_subset(&got) {
                failures.push(format!(
                    "{caption} (approximated as `{query}`): returned {got:?}, which misses some of {want_ids:?}"
                ));
            }
            approximated.push(format!("{caption}: without {inexpressible:?}"));
        }
    }
    eprintln!(
        "jaeger search: {exact} cases exact, {} approximated (not expressible):\n  {}",
        approximated.len(),
        approximated.join("\n  ")
    );
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    assert_eq!(exact + approximated.len(), 25, "all 25 default cases ran");
    assert_eq!(approximated.len(), NOT_EXPRESSIBLE.len());
}
