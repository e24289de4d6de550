//! Span metrics of queries the cells kept at ingest cannot answer (a filter or a `by` key
//! on attributes or other fields, a numeric attribute measured): the matching spans are
//! read through [`Store::search_spans`], a page at a time in time order, and counted into
//! cells per series and minute exactly as at ingest, so both paths share their semantics
//! (the window widened to whole minutes, percentiles of a DDSketch at 1 %).
//!
//! The work is bounded before it starts: a histogram counts the matching spans first, and
//! a query matching more than [`MAX_SCAN_SPANS`] is refused with what to change.

use std::collections::HashMap;

use tracehouse_model::Span;
use tracehouse_query::{AttrValue, Field, Plan, Scope, SpanView};

use super::{Cell, MetricSource, MetricValue, SpanMetricsAnswer, SpanMetricsQuery, merge_cells};
use crate::stats::MINUTE_NS;
use crate::value::SpanRef;
use crate::{HistogramQuery, MAX_SEARCH_LIMIT, SearchQuery, SearchSort, Store, StoreError};

/// Most spans a scan reads.
pub const MAX_SCAN_SPANS: u64 = 100_000;

/// The value of a field on a span, as a `by` key or a measured value reads it: an
/// attribute without scope prefix from the span, else from its resource.
pub fn field_value<'a>(field: &Field, span: &'a SpanRef<'_>) -> Option<AttrValue<'a>> {
    match field {
        Field::Intrinsic(i) => span.intrinsic(*i),
        Field::Attr {
            scope: Scope::Any,
            key,
        } => span
            .attribute(Scope::Span, key)
            .or_else(|| span.attribute(Scope::Resource, key)),
        Field::Attr { scope, key } => span.attribute(*scope, key),
    }
}

fn too_many(matching: u64) -> StoreError {
    StoreError::InvalidArgument(format!(
        "the query matches {matching} spans, more than the {MAX_SCAN_SPANS} a scan reads: \
         narrow the range or the filter, or filter and split only by service, span name, kind \
         and status and measure duration, which are kept pre-aggregated"
    ))
}

/// Calls `each` on every span of `project_id` matching `plan` that starts in
/// `[start_ns, end_ns)`, oldest first, after counting them: more than [`MAX_SCAN_SPANS`] is
/// refused before any is read.
pub async fn each_matching<S: Store + ?Sized>(
    store: &S,
    project_id: &str,
    plan: &Plan,
    (start_ns, end_ns): (i64, i64),
    mut each: impl FnMut(&Span),
) -> Result<(), StoreError> {
    let counted = store
        .histogram(&HistogramQuery {
            project_id: project_id.to_string(),
            plan: plan.clone(),
            start_ns,
            end_ns,
            buckets: 1,
            traces: false,
        })
        .await?;
    let matching: u64 = counted.buckets.iter().map(|b| b.count).sum();
    if matching > MAX_SCAN_SPANS {
        return Err(too_many(matching));
    }
    let mut read = 0_u64;
    let mut search = SearchQuery {
        project_id: project_id.to_string(),
        plan: plan.clone(),
        start_ns,
        end_ns,
        sort: SearchSort::TimeAsc,
        sort_key: None,
        limit: MAX_SEARCH_LIMIT,
        cursor: None,
    };
    loop {
        let page = store.search_spans(&search).await?;
        read += page.spans.len() as u64;
        // Spans written since the count: still bounded.
        if read > MAX_SCAN_SPANS {
            return Err(too_many(read));
        }
        page.spans.iter().for_each(&mut each);
        match page.next_cursor {
            Some(c) => search.cursor = Some(c),
            None => return Ok(()),
        }
    }
}

/// Span metrics of a checked query by scanning its matching spans in `store`.
pub async fn scan<S: Store + ?Sized>(
    store: &S,
    q: &SpanMetricsQuery,
) -> Result<SpanMetricsAnswer, StoreError> {
    let (first, end) = q.minutes();
    let window = (first * MINUTE_NS, end * MINUTE_NS);
    let mut cells: HashMap<(Vec<String>, i64), Cell> = HashMap::new();
    each_matching(store, &q.project_id, &q.plan, window, |span| {
        let view = SpanRef(span);
        let labels =
            q.by.iter()
                .map(|k| field_value(&k.field, &view).map(|v| v.as_text().into_owned()))
                .map(Option::unwrap_or_default)
                .collect();
        let value = match &q.value {
            MetricValue::Duration => Some(span.duration_nanos.max(0) as f64),
            MetricValue::Field(f) => field_value(f, &view).and_then(|v| v.as_f64()),
        };
        let minute = span.start_time_unix_nano.div_euclid(MINUTE_NS);
        cells
            .entry((labels, minute))
            .or_default()
            .add_span(value, span.has_error);
    })
    .await?;
    Ok(merge_cells(
        q,
        cells.iter().map(|((l, m), c)| (l.clone(), *m, c)),
        MetricSource::Scan,
    ))
}
