//! Injection: every user value travels as a server-side parameter. Hostile values in
//! queries, keys, project ids and stored data are compared literally: they match
//! exactly what they say, never break the SQL, and never widen a result.

mod common;

use tracehouse_model::{AttrValue, Span, SpanId, SpanKind, StatusCode, TraceId};
use tracehouse_query::plan::{Target, resolve_key};
use tracehouse_store::{KeysQuery, SearchQuery, SearchSort, Store, ValuesQuery};

const T0: i64 = 1_700_000_000_000_000_000;

const HOSTILE: &[&str] = &[
    "x' OR '1'='1",
    "x'); DROP TABLE spans; --",
    "a\\' OR 1=1 --",
    "{p0:String}",
    "tab\tnew\nline\\back",
    "\"double\" `back`",
    "%_*",
];

fn span(project: &str, id: u8, value: &str) -> Span {
    Span {
        project_id: project.into(),
        trace_id: TraceId([id; 16]),
        span_id: SpanId([id; 8]),
        parent_span_id: None,
        trace_state: String::new(),
        name: value.into(),
        kind: SpanKind::Server,
        start_time_unix_nano: T0 + i64::from(id),
        end_time_unix_nano: T0 + i64::from(id) + 10,
        duration_nanos: 10,
        status_code: StatusCode::Ok,
        status_message: String::new(),
        service_name: "svc".into(),
        service_version: String::new(),
        environment: String::new(),
        scope_name: String::new(),
        scope_version: String::new(),
        scope_attributes: Default::default(),
        session_id: None,
        attributes: [(value.to_string(), AttrValue::Str(value.into()))].into(),
        resource_attributes: Default::default(),
        events: vec![],
        links: vec![],
        has_error: false,
        dropped_attributes_count: 0,
        dropped_events_count: 0,
        dropped_links_count: 0,
    }
}

fn search(project: &str, q: &str) -> SearchQuery {
    let plan =
        tracehouse_query::plan(&tracehouse_query::parse(q).unwrap_or_else(|e| panic!("{q}: {e}")));
    SearchQuery {
        project_id: project.into(),
        plan,
        start_ns: T0,
        end_ns: T0 + 1_000_000_000,
        sort: SearchSort::TimeDesc,
        limit: 100,
        cursor: None,
    }
}

/// The query-language string literal of `v`.
fn quoted(v: &str) -> String {
    let mut out = String::from("\"");
    for c in v.chars() {
        if matches!(c, '"' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('"');
    out
}

#[tokio::test]
async fn hostile_values_are_compared_literally() {
    let Some(store) = common::store("injection").await else {
        return;
    };
    let project = "p' OR 1=1 --";
    let spans: Vec<Span> = HOSTILE
        .iter()
        .enumerate()
        .map(|(i, v)| span(project, i as u8 + 1, v))
        .collect();
    store.write_spans(spans.clone()).await.unwrap();
    store
        .write_spans(vec![span("innocent", 99, "secret")])
        .await
        .unwrap();

    for (i, v) in HOSTILE.iter().enumerate() {
        let want = vec![spans[i].span_id];
        // As a span name, exactly.
        let q = format!("span_name:{}", quoted(v));
        let page = store.search_spans(&search(project, &q)).await.unwrap();
        let got: Vec<SpanId> = page.spans.iter().map(|s| s.span_id).collect();
        assert_eq!(got, want, "{q}");
        // As an attribute key and value (the key is hostile too).
        let q = format!("{}:{}", quoted(v), quoted(v));
        // Not every text is a valid key; the name case above covers those.
        if tracehouse_query::parse(&q).is_ok() {
            let page = store.search_spans(&search(project, &q)).await.unwrap();
            let got: Vec<SpanId> = page.spans.iter().map(|s| s.span_id).collect();
            assert_eq!(got, want, "{q}");
        }
        // Round trip through trace-by-id.
        assert_eq!(
            store.trace(project, spans[i].trace_id).await.unwrap(),
            vec![spans[i].clone()]
        );
    }
    // A hostile project id never sees another project's data.
    for p in ["' OR ''='", "innocent' --", "x\\"] {
        let page = store.search_spans(&search(p, "")).await.unwrap();
        assert!(page.spans.is_empty(), "{p}");
        assert!(store.trace(p, TraceId([99; 16])).await.unwrap().is_empty());
    }
    // Regexes, globs and substrings with quotes stay inside their parameter.
    for q in [
        r#"span_name:/^x\x27\sOR\s\x271\x27=\x271$/"#,
        r#"span_name:*DROP*"#,
        r#""'); DROP""#,
    ] {
        let page = store.search_spans(&search(project, q)).await.unwrap();
        assert_eq!(page.spans.len(), 1, "{q}");
    }
    // Autocomplete with hostile prefixes and keys.
    let keys = store
        .keys(&KeysQuery {
            project_id: project.into(),
            start_ns: T0,
            end_ns: T0 + 1_000_000_000,
            prefix: "x'".into(),
            limit: 100,
        })
        .await
        .unwrap();
    assert_eq!(keys.len(), 2, "{keys:?}");
    let values = store
        .values(&ValuesQuery {
            project_id: project.into(),
            field: resolve_key(&format!("span.{}", HOSTILE[0]), Target::Spans),
            start_ns: T0,
            end_ns: T0 + 1_000_000_000,
            prefix: "x'".into(),
            limit: 100,
        })
        .await
        .unwrap();
    assert_eq!(values.len(), 1, "{values:?}");
    assert_eq!(values[0].value, HOSTILE[0]);
    // The table is still there.
    assert_eq!(
        store
            .search_spans(&search(project, ""))
            .await
            .unwrap()
            .spans
            .len(),
        HOSTILE.len()
    );
}
