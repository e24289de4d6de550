//! The redelivery suite: a batch delivered twice — an exporter resending what it saw no
//! acknowledgement for — reads back once from every read (trace by id, span search,
//! histogram, span metrics from cells and from scans), while a span that only shares its
//! ids with another (Zipkin's client and server halves) is kept beside it. The embedded
//! store runs it around flushes, compactions and restarts — the first copy only in the WAL
//! or already in a part at the restart (`crates/engine/tests/redelivery.rs`), ClickHouse
//! across inserts (`crates/clickhouse/tests/metrics.rs`).

use std::collections::BTreeMap;

use tracehouse_model::{Span, SpanKind};
use tracehouse_query::{parse, plan};

use super::metrics::{self, END, START};
use crate::{HistogramQuery, SearchQuery, SearchSort, Store};

/// The batch: the span metrics suite's data set and, for its first span, a second span
/// with the same trace and span ids but another kind.
pub fn batch() -> Vec<Span> {
    let mut spans = metrics::data();
    let mut half = spans[0].clone();
    half.kind = SpanKind::Client;
    half.name = "client half".into();
    spans.push(half);
    spans
}

/// Delivers `spans` in requests of 100 spans, as an exporter batches them.
pub async fn deliver(store: &dyn Store, spans: &[Span]) {
    for request in spans.chunks(100) {
        store.write_spans(request.to_vec()).await.unwrap();
    }
}

/// Checks that every read sees each span of `stored` once.
pub async fn check(store: &dyn Store, stored: &[Span], stage: &str) {
    let mine: Vec<&Span> = stored.iter().filter(|s| s.project_id == "p").collect();
    let found = search_all(store).await;
    let mut want: BTreeMap<(String, String), usize> = BTreeMap::new();
    for s in &mine {
        *want.entry(key(s)).or_default() += 1;
    }
    assert_eq!(found, want, "{stage}: span search");
    let buckets = store.histogram(&histogram()).await.unwrap().buckets;
    let total: u64 = buckets.iter().map(|b| b.count).sum();
    assert_eq!(total, mine.len() as u64, "{stage}: histogram");
    let first = mine[0];
    let trace = store.trace("p", first.trace_id).await.unwrap();
    let expected = mine.iter().filter(|s| s.trace_id == first.trace_id).count();
    assert_eq!(trace.len(), expected, "{stage}: trace by id");
    let sharing = |spans: &mut dyn Iterator<Item = &Span>| {
        spans.filter(|s| s.span_id == first.span_id).count()
    };
    assert_eq!(
        sharing(&mut trace.iter()),
        sharing(&mut mine.iter().copied()),
        "{stage}: every span sharing an id is kept"
    );
    metrics::check_all(store, stored, stage).await;
}

fn key(s: &Span) -> (String, String) {
    (s.span_id.to_string(), format!("{:?}", s.kind))
}

async fn search_all(store: &dyn Store) -> BTreeMap<(String, String), usize> {
    let q = SearchQuery {
        project_id: "p".into(),
        plan: plan(&parse("").unwrap()),
        start_ns: START,
        end_ns: END,
        sort: SearchSort::TimeDesc,
        sort_key: None,
        limit: crate::MAX_SEARCH_LIMIT,
        cursor: None,
    };
    let page = store.search_spans(&q).await.unwrap();
    assert!(page.next_cursor.is_none(), "one page holds the data set");
    let mut out = BTreeMap::new();
    for s in &page.spans {
        *out.entry(key(s)).or_default() += 1;
    }
    out
}

fn histogram() -> HistogramQuery {
    HistogramQuery {
        project_id: "p".into(),
        plan: plan(&parse("").unwrap()),
        start_ns: START,
        end_ns: END,
        buckets: 60,
        traces: false,
    }
}
