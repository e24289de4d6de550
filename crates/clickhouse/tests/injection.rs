//! Injection: every user value travels as a server-side parameter. Hostile values in
//! queries, keys, project ids and stored data are compared literally: they match
//! exactly what they say, never break the SQL, and never widen a result.

use crate::common;

use tracehouse_model::{AttrValue, Span, SpanId, TraceId};
use tracehouse_query::plan::{Target, resolve_key};
use tracehouse_store_api::{KeysQuery, SearchQuery, SearchSort, Store, ValuesQuery};

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
        name: value.into(),
        attributes: [(value.to_string(), AttrValue::Str(value.into()))].into(),
        ..tracehouse_store_api::testsuite::testkit::span(
            TraceId([id; 16]),
            SpanId([id; 8]),
            T0 + i64::from(id),
            10,
        )
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
        sort_key: None,
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
            target: Target::Spans,
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
            target: Target::Spans,
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

fn hostile_log(project: &str, i: usize, value: &str) -> tracehouse_model::LogRecord {
    let mut l = tracehouse_model::LogRecord {
        log_id: Default::default(),
        project_id: project.into(),
        time_unix_nano: T0 + i as i64,
        observed_time_unix_nano: T0 + i as i64,
        severity_number: 17,
        severity_text: value.into(),
        level: tracehouse_model::Level::Error,
        body: value.into(),
        trace_id: Some(TraceId([i as u8 + 1; 16])),
        span_id: None,
        service_name: value.into(),
        service_version: String::new(),
        environment: String::new(),
        scope_name: String::new(),
        session_id: Some(value.into()),
        attributes: [
            (value.to_string(), AttrValue::Str(value.into())),
            ("exception.type".to_string(), AttrValue::Str(value.into())),
        ]
        .into(),
        resource_attributes: Default::default(),
        flags: 0,
        dropped_attributes_count: 0,
    };
    l.log_id = l.content_id();
    l
}

#[tokio::test]
async fn hostile_values_in_logs_errors_and_sessions_are_compared_literally() {
    use tracehouse_store_api::{ErrorGroupsQuery, ErrorQuery, SearchQuery, SessionsQuery};
    let Some(store) = common::store("injection_logs").await else {
        return;
    };
    let project = "p' OR 1=1 --";
    let logs: Vec<_> = HOSTILE
        .iter()
        .enumerate()
        .map(|(i, v)| hostile_log(project, i, v))
        .collect();
    store.write_logs(logs.clone()).await.unwrap();
    store
        .write_logs(vec![hostile_log("innocent", 50, "secret")])
        .await
        .unwrap();
    // Spans whose session id and exception are hostile too.
    let spans: Vec<Span> = HOSTILE
        .iter()
        .enumerate()
        .map(|(i, v)| {
            let mut s = span(project, i as u8 + 1, v);
            s.session_id = Some(v.to_string());
            s.events.push(tracehouse_model::Event {
                time_unix_nano: T0 + 100 + i as i64,
                name: "exception".into(),
                attributes: [
                    ("exception.type".to_string(), AttrValue::Str(v.to_string())),
                    (
                        "exception.message".to_string(),
                        AttrValue::Str(v.to_string()),
                    ),
                ]
                .into(),
                dropped_attributes_count: 0,
            });
            s
        })
        .collect();
    store.write_spans(spans).await.unwrap();

    let window = (T0, T0 + 1_000_000_000);
    let search = |q: &str| {
        let parsed = tracehouse_query::parse(q).unwrap_or_else(|e| panic!("{q}: {e}"));
        SearchQuery {
            project_id: project.into(),
            plan: tracehouse_query::plan_for(&parsed, Target::Logs),
            start_ns: window.0,
            end_ns: window.1,
            sort: SearchSort::TimeDesc,
            sort_key: None,
            limit: 100,
            cursor: None,
        }
    };
    for (i, v) in HOSTILE.iter().enumerate() {
        let want = vec![logs[i].clone()];
        for q in [
            format!("body:{}", quoted(v)),
            format!("service:{}", quoted(v)),
            format!("session_id:{}", quoted(v)),
            format!("{}:{}", quoted(v), quoted(v)),
        ] {
            if tracehouse_query::parse(&q).is_err() {
                continue;
            }
            let page = store.search_logs(&search(&q)).await.unwrap();
            assert_eq!(page.logs, want, "{q}");
        }
        // Occurrences by hostile session id: the log's and the span's.
        let errors = store
            .errors(&ErrorQuery {
                project_id: project.into(),
                start_ns: window.0,
                end_ns: window.1,
                session_id: Some(v.to_string()),
                limit: 100,
                ..Default::default()
            })
            .await
            .unwrap();
        assert_eq!(errors.len(), 2, "{v}");
        assert!(errors.iter().all(|e| e.error_type == *v), "{v}");
        // Groups by hostile text count exactly the occurrences whose type or message
        // contains it (each hostile value is the type and message of two occurrences).
        let groups = store
            .error_groups(&ErrorGroupsQuery {
                project_id: project.into(),
                start_ns: window.0,
                end_ns: window.1,
                text: Some(v.to_string()),
                fingerprint: None,
                service: None,
                environment: None,
                limit: 100,
                buckets: 4,
            })
            .await
            .unwrap();
        let counted: u64 = groups.groups.iter().map(|g| g.count).sum();
        let containing = HOSTILE
            .iter()
            .filter(|h| h.to_lowercase().contains(&v.to_lowercase()))
            .count() as u64;
        assert_eq!(counted, 2 * containing, "{v}");
        // Groups by hostile service: those of the log record raised by it, and only its.
        let of_service = store
            .error_groups(&ErrorGroupsQuery {
                project_id: project.into(),
                start_ns: window.0,
                end_ns: window.1,
                text: None,
                fingerprint: None,
                service: Some(v.to_string()),
                environment: None,
                limit: 100,
                buckets: 4,
            })
            .await
            .unwrap();
        assert!(!of_service.groups.is_empty(), "{v}");
        assert!(
            of_service.groups.iter().all(|g| g.services == [*v]),
            "{v}: {of_service:?}"
        );
        // A session by hostile id.
        let sessions = store
            .sessions(&SessionsQuery {
                project_id: project.into(),
                start_ns: window.0,
                end_ns: window.1,
                session_id: Some(v.to_string()),
                limit: 10,
            })
            .await
            .unwrap();
        assert_eq!(sessions.len(), 1, "{v}");
        assert_eq!(sessions[0].session_id, *v);
        assert_eq!(sessions[0].error_count, 2);
    }
    // Hostile fingerprints match nothing and break nothing.
    for f in HOSTILE {
        let q = ErrorQuery {
            project_id: project.into(),
            start_ns: window.0,
            end_ns: window.1,
            fingerprint: Some(f.to_string()),
            limit: 100,
            ..Default::default()
        };
        assert!(store.errors(&q).await.unwrap().is_empty(), "{f}");
        let g = ErrorGroupsQuery {
            project_id: project.into(),
            start_ns: window.0,
            end_ns: window.1,
            text: None,
            fingerprint: Some(f.to_string()),
            service: None,
            environment: None,
            limit: 100,
            buckets: 4,
        };
        assert!(
            store.error_groups(&g).await.unwrap().groups.is_empty(),
            "{f}"
        );
        let of_environment = ErrorGroupsQuery {
            fingerprint: None,
            environment: Some(f.to_string()),
            ..g
        };
        let groups = store.error_groups(&of_environment).await.unwrap();
        assert!(groups.groups.is_empty(), "{f}");
    }
    // Another project's records stay invisible to hostile project ids.
    for p in ["' OR ''='", "innocent' --", "x\\"] {
        let mut q = search("");
        q.project_id = p.into();
        assert!(store.search_logs(&q).await.unwrap().logs.is_empty(), "{p}");
    }
    // The tables are still there.
    assert_eq!(
        store.search_logs(&search("")).await.unwrap().logs.len(),
        HOSTILE.len()
    );
}
