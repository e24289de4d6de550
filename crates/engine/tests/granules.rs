//! Reads of parts through their granule index (`scan.rs`), on data whose service runs are
//! several granules long, with many equal start times, attribute values spelled as numbers
//! and as text, traces spread over services, a window that cuts through both parts, and
//! rows left in the memtable.
//!
//! Time-ordered pages (both directions, several limits, followed by cursors) must equal
//! what the query crate's own evaluator says over all spans, in the exact order of the
//! sort. Trace reads, trace searches and structural queries must answer exactly as the
//! same rows do from the memtable, where no granule index is involved.

use std::time::Duration;

use tracehouse_engine::value::SpanRef;
use tracehouse_engine::{
    EmbeddedStore, EngineConfig, HistogramQuery, MAX_CANDIDATE_TRACES, SearchCursor, SearchQuery,
    SearchSort, Store,
};
use tracehouse_model::{AttrValue, Attributes, Span, SpanId, SpanKind, StatusCode, TraceId};
use tracehouse_query::{eval_plan, matches, parse, plan};

const MS: i64 = 1_000_000;
const HOUR: i64 = 3_600_000 * MS;
/// Start of the data: an hour boundary.
const T0: i64 = 1_700_002_800_000 * MS;

/// A deterministic pseudo-random sequence (xorshift).
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

/// `n` spans over two hours: services of very different sizes, start times on a coarse
/// grid (many ties), users as numbers or numeric text, a low-cardinality route.
fn spans(n: usize) -> Vec<Span> {
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let services = ["api", "api", "api", "api", "db", "db", "cache", "web"];
    (0..n)
        .map(|i| {
            let service = services[rng.below(services.len() as u64) as usize];
            let start = T0 + rng.below(2 * 3600 * 20) as i64 * 50 * MS;
            let duration = rng.below(40) as i64 * MS;
            let user = rng.below(3000) as i64;
            let mut attributes = Attributes::new();
            let user_value = match i % 4 {
                0 => AttrValue::Str(format!("{user}.0")),
                1 => AttrValue::Str(user.to_string()),
                _ => AttrValue::Int(user),
            };
            attributes.insert("user.id".into(), user_value);
            attributes.insert(
                "http.route".into(),
                AttrValue::Str(["/cart", "/checkout", "/products"][i % 3].into()),
            );
            if i % 5 == 0 {
                attributes.insert("flag".into(), AttrValue::Bool(i % 10 == 0));
            }
            let mut resource = Attributes::new();
            resource.insert("service.name".into(), AttrValue::Str(service.into()));
            resource.insert(
                "region".into(),
                AttrValue::Str(["eu", "us"][(i / 7) % 2].into()),
            );
            let mut trace = [0u8; 16];
            trace[..8].copy_from_slice(&(i as u64 / 3).to_be_bytes());
            trace[15] = 1;
            // Traces of three spans: the first is the parent of the other two.
            let parent = (i % 3 != 0).then(|| SpanId((i as u64 / 3 * 3 + 1).to_be_bytes()));
            Span {
                project_id: "p".into(),
                trace_id: TraceId(trace),
                span_id: SpanId((i as u64 + 1).to_be_bytes()),
                parent_span_id: parent,
                trace_state: String::new(),
                name: format!("{} {}", service, ["GET", "POST", "SELECT"][i % 3]),
                kind: SpanKind::Server,
                start_time_unix_nano: start,
                end_time_unix_nano: start + duration,
                duration_nanos: duration,
                status_code: if i % 17 == 0 {
                    StatusCode::Error
                } else {
                    StatusCode::Unset
                },
                status_message: String::new(),
                service_name: service.into(),
                service_version: "1".into(),
                environment: "test".into(),
                scope_name: String::new(),
                scope_version: String::new(),
                scope_attributes: Attributes::new(),
                session_id: None,
                attributes,
                resource_attributes: resource.into(),
                events: Vec::new(),
                links: Vec::new(),
                has_error: i % 17 == 0,
                dropped_attributes_count: 0,
                dropped_events_count: 0,
                dropped_links_count: 0,
            }
        })
        .collect()
}

/// What the page sequence must be: the evaluator over all spans, in sort order.
fn expected(all: &[Span], q: &SearchQuery) -> Vec<SpanId> {
    let mut hits: Vec<&Span> = all
        .iter()
        .filter(|s| {
            s.start_time_unix_nano >= q.start_ns
                && s.start_time_unix_nano < q.end_ns
                && matches(&q.plan.pushdown, &SpanRef(s))
        })
        .collect();
    let key = |s: &&Span| (s.start_time_unix_nano, s.trace_id.0, s.span_id.0);
    hits.sort_by_key(key);
    if q.sort.descending() {
        hits.reverse();
    }
    hits.iter().map(|s| s.span_id).collect()
}

/// What the pages of a structural query must be, computed from scratch: the newest
/// [`MAX_CANDIDATE_TRACES`] traces with a span in the window matching the pushdown filter,
/// the structure evaluated on each, their matched spans in the window in sort order.
fn expected_structural(all: &[Span], q: &SearchQuery) -> Vec<SpanId> {
    let mut traces: std::collections::HashMap<TraceId, Vec<&Span>> = Default::default();
    for s in all {
        traces.entry(s.trace_id).or_default().push(s);
    }
    let in_window =
        |s: &Span| s.start_time_unix_nano >= q.start_ns && s.start_time_unix_nano < q.end_ns;
    let mut candidates: Vec<(i64, TraceId)> = traces
        .iter()
        .filter_map(|(id, spans)| {
            spans
                .iter()
                .filter(|s| in_window(s) && matches(&q.plan.pushdown, &SpanRef(s)))
                .map(|s| s.start_time_unix_nano)
                .max()
                .map(|t| (t, *id))
        })
        .collect();
    candidates.sort_by_key(|(t, id)| std::cmp::Reverse((*t, id.0)));
    candidates.truncate(MAX_CANDIDATE_TRACES);
    let mut hits: Vec<&Span> = Vec::new();
    for (_, id) in candidates {
        let views: Vec<SpanRef<'_>> = traces[&id].iter().map(|s| SpanRef(s)).collect();
        hits.extend(
            eval_plan(&q.plan, &views)
                .into_iter()
                .map(|i| traces[&id][i])
                .filter(|s| in_window(s)),
        );
    }
    let key = |s: &&Span| (s.start_time_unix_nano, s.trace_id.0, s.span_id.0);
    hits.sort_by_key(key);
    if q.sort.descending() {
        hits.reverse();
    }
    hits.iter().map(|s| s.span_id).collect()
}

/// Pages through a query (at most `max_pages`), returning the span ids in page order.
async fn paged(store: &dyn Store, mut q: SearchQuery, max_pages: usize) -> Vec<SpanId> {
    let mut out = Vec::new();
    for _ in 0..max_pages {
        let page = store.search_spans(&q).await.expect("search");
        assert!(page.spans.len() <= q.limit);
        out.extend(page.spans.iter().map(|s| s.span_id));
        match page.next_cursor {
            Some(c) => q.cursor = Some(c.to_string().parse::<SearchCursor>().expect("cursor")),
            None => break,
        }
    }
    out
}

/// The histogram of a plain query must count exactly the spans the evaluator matches.
async fn check_histogram(store: &dyn Store, all: &[Span], q: &SearchQuery, when: &str) {
    let h = store
        .histogram(&HistogramQuery {
            project_id: q.project_id.clone(),
            plan: q.plan.clone(),
            start_ns: q.start_ns,
            end_ns: q.end_ns,
            buckets: 40,
            traces: false,
        })
        .await
        .expect("histogram");
    let aligned = h.buckets.first().map_or(q.start_ns, |b| b.start);
    let mut want = vec![(0u64, 0u64); h.buckets.len()];
    for s in all.iter().filter(|s| {
        s.start_time_unix_nano >= q.start_ns
            && s.start_time_unix_nano < q.end_ns
            && matches(&q.plan.pushdown, &SpanRef(s))
    }) {
        let i = ((s.start_time_unix_nano - aligned) / h.width_ns) as usize;
        want[i].0 += 1;
        want[i].1 += u64::from(s.has_error);
    }
    let got: Vec<(u64, u64)> = h.buckets.iter().map(|b| (b.count, b.error_count)).collect();
    assert_eq!(got, want, "{when}: histogram of {:?}", q.plan.pushdown);
}

async fn check(store: &dyn Store, all: &[Span], when: &str) {
    let queries = [
        "",
        "service:api",
        "service:cache duration>30ms",
        "service:db OR service:web",
        "user.id=42",
        "user.id:1234",
        "user.id=\"77\"",
        "user.id=42 OR user.id=2999",
        "user.id EXISTS duration<2ms",
        "flag=true",
        "flag EXISTS service:web",
        "region:us http.route:/checkout duration>=38ms",
        "status:error service:db",
        "span_name:*SELECT* user.id>2990",
        "NOT service:api duration<1ms",
        "user.id!=5 service:cache duration=0",
        "nosuchkey=1",
    ];
    let window = (T0 + 20 * 60_000 * MS, T0 + HOUR + 50 * 60_000 * MS);
    for text in queries {
        for sort in [SearchSort::TimeDesc, SearchSort::TimeAsc] {
            for (start_ns, end_ns) in [(T0 - HOUR, T0 + 3 * HOUR), window] {
                let mut q = SearchQuery {
                    project_id: "p".into(),
                    plan: plan(&parse(text).expect("query parses")),
                    start_ns,
                    end_ns,
                    sort,
                    sort_key: None,
                    limit: 1,
                    cursor: None,
                };
                if sort == SearchSort::TimeDesc {
                    check_histogram(store, all, &q, when).await;
                }
                let want = expected(all, &q);
                for (limit, pages) in [(1, 3), (400, 3)] {
                    q.limit = limit;
                    let got = paged(store, q.clone(), pages).await;
                    let want = &want[..want.len().min(limit * pages)];
                    assert_eq!(
                        got.len(),
                        want.len(),
                        "{when}: {text:?} {sort:?} limit {limit} window {start_ns}..{end_ns}"
                    );
                    assert!(
                        got == want,
                        "{when}: {text:?} {sort:?} limit {limit}: order differs"
                    );
                }
            }
        }
    }
}

/// A store holding `flushed` in parts and `fresh` in the memtable.
async fn store_with(
    flushed: &[Span],
    fresh: &[Span],
) -> (tempfile::TempDir, std::sync::Arc<EmbeddedStore>) {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut config = EngineConfig::new(dir.path());
    config.flush_interval = Duration::from_secs(3600);
    config.maintenance_interval = Duration::from_secs(3600);
    let store = EmbeddedStore::open(config).await.expect("open");
    for chunk in flushed.chunks(9_000) {
        store.write_spans(chunk.to_vec()).await.expect("write");
    }
    store.flush_now().await.expect("flush");
    assert!(store.stats().parts >= 2, "two hour partitions");
    if !fresh.is_empty() {
        store.write_spans(fresh.to_vec()).await.expect("write");
    }
    (dir, store)
}

#[tokio::test]
async fn time_ordered_pages_over_granules_equal_the_evaluator() {
    let all = spans(36_000);
    let (_dir, store) = store_with(&all, &[]).await;
    check(store.as_ref(), &all, "parts").await;
}

#[tokio::test]
async fn pages_merge_parts_and_memtable_in_order() {
    let all = spans(40_000);
    let (flushed, fresh) = all.split_at(36_000);
    let (_dir, store) = store_with(flushed, fresh).await;
    check(store.as_ref(), &all, "parts and memtable").await;
}

#[tokio::test]
async fn traces_read_through_granules_equal_the_memtable() {
    // Enough rows that the largest service's runs are several granules long.
    let all = spans(50_000);
    let (_dir, parts) = store_with(&all, &[]).await;
    let memtable_dir = tempfile::tempdir().expect("tempdir");
    let mut config = EngineConfig::new(memtable_dir.path());
    config.flush_interval = Duration::from_secs(3600);
    config.maintenance_interval = Duration::from_secs(3600);
    let memtable = EmbeddedStore::open(config).await.expect("open");
    memtable.write_spans(all.clone()).await.expect("write");
    assert_eq!(memtable.stats().parts, 0);

    let ids = |spans: &[Span]| spans.iter().map(|s| s.span_id).collect::<Vec<_>>();
    for s in all.iter().step_by(1999) {
        let got = parts.trace("p", s.trace_id).await.expect("trace");
        assert_eq!(got.len(), 3, "every span of the trace");
        assert_eq!(got, memtable.trace("p", s.trace_id).await.expect("trace"));
    }
    let window = (T0 + 20 * 60_000 * MS, T0 + HOUR + 50 * 60_000 * MS);
    for text in [
        "{service:api} > {service:db}",
        "{service:web duration>30ms} >> {}",
        "{service:cache} ~ {} | count() > 1",
        "service:db duration<1ms",
        "region:us duration>20ms",
    ] {
        for (start_ns, end_ns) in [(T0 - HOUR, T0 + 3 * HOUR), window] {
            let q = SearchQuery {
                project_id: "p".into(),
                plan: plan(&parse(text).expect("query parses")),
                start_ns,
                end_ns,
                sort: SearchSort::TimeDesc,
                sort_key: None,
                limit: 200,
                cursor: None,
            };
            let want = memtable.search_spans(&q).await.expect("search");
            let got = parts.search_spans(&q).await.expect("search");
            assert!(!want.spans.is_empty(), "{text}: the data has matches");
            assert_eq!(ids(&got.spans), ids(&want.spans), "{text}: spans");
            assert_eq!(got.spans, want.spans, "{text}: whole spans");
            for sort in [
                SearchSort::TimeDesc,
                SearchSort::TimeAsc,
                SearchSort::DurationDesc,
            ] {
                let q = SearchQuery {
                    sort,
                    sort_key: None,
                    limit: 20,
                    ..q.clone()
                };
                let want = memtable.search_traces(&q).await.expect("search");
                let got = parts.search_traces(&q).await.expect("search");
                assert_eq!(got.traces, want.traces, "{text} {sort:?}: traces");
                assert_eq!(got.next_cursor, want.next_cursor, "{text} {sort:?}: cursor");
            }
            // Newest-first pages stop evaluating candidates early: two pages must still
            // be exactly what evaluating every candidate gives.
            let q = SearchQuery {
                limit: 150,
                ..q.clone()
            };
            let want = expected_structural(&all, &q);
            let want = &want[..want.len().min(300)];
            assert_eq!(paged(parts.as_ref(), q, 2).await, want, "{text}: pages");
        }
    }
}

#[tokio::test]
async fn parts_from_before_granule_indexes_are_searched_then_rewritten() {
    let all = spans(20_000);
    let dir = tempfile::tempdir().expect("tempdir");
    let config = || {
        let mut c = EngineConfig::new(dir.path());
        c.flush_interval = Duration::from_secs(3600);
        c.maintenance_interval = Duration::from_secs(3600);
        c
    };
    let store = EmbeddedStore::open(config()).await.expect("open");
    store.write_spans(all.clone()).await.expect("write");
    store.flush_now().await.expect("flush");
    drop(store);
    // What an older version wrote: the same parts without their granule index.
    let sidecars = || {
        std::fs::read_dir(dir.path().join("parts"))
            .expect("parts")
            .filter(|e| {
                e.as_ref()
                    .is_ok_and(|e| e.path().extension().is_some_and(|x| x == "gidx"))
            })
            .count()
    };
    for entry in std::fs::read_dir(dir.path().join("parts")).expect("parts") {
        let path = entry.expect("entry").path();
        if path.extension().is_some_and(|x| x == "gidx") {
            std::fs::remove_file(path).expect("remove");
        }
    }
    assert_eq!(sidecars(), 0);
    let store = EmbeddedStore::open(config()).await.expect("reopen");
    let q = |text: &str| SearchQuery {
        project_id: "p".into(),
        plan: plan(&parse(text).expect("query parses")),
        start_ns: T0 - HOUR,
        end_ns: T0 + 3 * HOUR,
        sort: SearchSort::TimeDesc,
        sort_key: None,
        limit: 100,
        cursor: None,
    };
    let queries = ["service:db duration>30ms", "user.id=42", "region:us"];
    for text in queries {
        let want = expected(&all, &q(text));
        assert_eq!(
            paged(store.as_ref(), q(text), 2).await,
            want[..want.len().min(200)]
        );
    }
    let parts = store.stats().parts as usize;
    assert_eq!(store.compact(T0 + 10 * HOUR).await.expect("compact"), parts);
    assert_eq!(
        sidecars(),
        parts,
        "every part rewritten with its granule index"
    );
    assert_eq!(store.compact(T0 + 10 * HOUR).await.expect("compact"), 0);
    for text in queries {
        let want = expected(&all, &q(text));
        assert_eq!(
            paged(store.as_ref(), q(text), 2).await,
            want[..want.len().min(200)]
        );
    }
}
