//! Query timings on generated data (not a timed test; ignored by default).
//!
//! ```text
//! TH_BENCH_SPANS=2000000 cargo test --release -p tracehouse-engine --test integration search_bench:: -- --ignored --nocapture
//! ```

use std::time::{Duration, Instant};

use tracehouse_engine::{
    EmbeddedStore, EngineConfig, HistogramQuery, SearchQuery, SearchSort, Store,
};
use tracehouse_model::{AttrValue, Attributes, Span, SpanId, SpanKind, StatusCode, TraceId};

const T0: i64 = 1_700_000_000_000_000_000;
const SERVICES: [&str; 5] = ["frontend", "cart", "postgres", "payments", "search"];

fn span(i: u64) -> Span {
    let trace = i / 8;
    let pos = i % 8;
    let service = if pos == 0 {
        "frontend"
    } else {
        SERVICES[((i * 7 + pos) % 5) as usize]
    };
    let start = T0 + (i as i64) * 1_000_000;
    let duration = ((i * 2_654_435_761) % 120_000_000) as i64;
    let mut attributes = Attributes::new();
    attributes.insert("user.id".into(), AttrValue::Int((trace % 10_000) as i64));
    attributes.insert(
        "http.method".into(),
        AttrValue::Str(if i.is_multiple_of(3) { "POST" } else { "GET" }.into()),
    );
    let mut tid = [0u8; 16];
    tid[..8].copy_from_slice(&(trace + 1).to_be_bytes());
    let mut sid = [0u8; 8];
    sid.copy_from_slice(&(i + 1).to_be_bytes());
    let parent = (pos > 0).then(|| {
        let mut p = [0u8; 8];
        p.copy_from_slice(&(trace * 8 + 1).to_be_bytes());
        SpanId(p)
    });
    Span {
        project_id: "p".into(),
        trace_id: TraceId(tid),
        span_id: SpanId(sid),
        parent_span_id: parent,
        trace_state: String::new(),
        name: format!("op-{}", i % 50),
        kind: SpanKind::Server,
        start_time_unix_nano: start,
        end_time_unix_nano: start + duration,
        duration_nanos: duration,
        status_code: if i.is_multiple_of(50) {
            StatusCode::Error
        } else {
            StatusCode::Ok
        },
        status_message: String::new(),
        service_name: service.into(),
        service_version: "1".into(),
        environment: "prod".into(),
        scope_name: String::new(),
        scope_version: String::new(),
        scope_attributes: Attributes::new(),
        session_id: None,
        attributes,
        resource_attributes: Default::default(),
        events: vec![],
        links: vec![],
        has_error: i.is_multiple_of(50),
        dropped_attributes_count: 0,
        dropped_events_count: 0,
        dropped_links_count: 0,
    }
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "benchmark: run explicitly"]
async fn search_timings() {
    let n: u64 = std::env::var("TH_BENCH_SPANS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(200_000);
    let dir = tempfile::tempdir().unwrap();
    let mut c = EngineConfig::new(dir.path());
    c.flush_interval = Duration::from_secs(3600);
    c.maintenance_interval = Duration::from_secs(3600);
    c.max_memtable_rows = usize::MAX;
    let store = EmbeddedStore::open(c).await.unwrap();
    let mut i = 0;
    while i < n {
        let batch: Vec<Span> = (i..(i + 50_000).min(n)).map(span).collect();
        i += batch.len() as u64;
        store.write_spans(batch).await.unwrap();
    }
    store.flush_now().await.unwrap();
    let end = T0 + n as i64 * 1_000_000 + 1;
    let q = |text: &str, limit: usize| SearchQuery {
        project_id: "p".into(),
        plan: tracehouse_query::plan(&tracehouse_query::parse(text).unwrap()),
        start_ns: T0,
        end_ns: end,
        sort: SearchSort::TimeDesc,
        sort_key: None,
        limit,
        cursor: None,
    };
    let runs = 7;
    let mut report = Vec::new();
    for (label, text) in [
        (
            "service:cart duration>10ms top 50",
            "service:cart duration>10ms",
        ),
        ("user.id=4242 top 50", "user.id=4242"),
        (
            "{service:frontend} >> {service:postgres duration>50ms}",
            "{service:frontend} >> {service:postgres duration>50ms}",
        ),
    ] {
        let mut times = Vec::new();
        let mut found = 0;
        for _ in 0..runs {
            let t = Instant::now();
            found = store.search_spans(&q(text, 50)).await.unwrap().spans.len();
            times.push(t.elapsed());
        }
        report.push(format!(
            "{label}: median {:?} ({found} rows)",
            median(times)
        ));
    }
    let mut times = Vec::new();
    for _ in 0..runs {
        let t = Instant::now();
        store
            .histogram(&HistogramQuery {
                project_id: "p".into(),
                plan: tracehouse_query::plan(&tracehouse_query::parse("").unwrap()),
                start_ns: T0,
                end_ns: end,
                buckets: 60,
                traces: false,
            })
            .await
            .unwrap();
        times.push(t.elapsed());
    }
    report.push(format!(
        "histogram over all rows: median {:?}",
        median(times)
    ));
    eprintln!("{n} spans:\n  {}", report.join("\n  "));
}
