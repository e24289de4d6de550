//! Span metrics of queries the cells kept at ingest cannot answer (a filter or a `by` key
//! on attributes or other fields, a numeric attribute measured): the matching spans are
//! read through [`Store::scan_spans`] and counted into cells per series and minute
//! ([`ScanCells`]) exactly as at ingest, so both paths share their semantics (the window
//! widened to whole minutes, percentiles of a DDSketch at 1 %). The alerts, the service
//! map and TraceQL's metrics read their spans the same way ([`each_matching`]). A scan says
//! which [`SpanParts`] of a span it reads: by default a store pages through
//! [`Store::search_spans`] ([`page_through`]), whole spans in time order; the embedded store
//! reads more than a page of matches from the columns of those parts only.
//!
//! The work is bounded before it starts: a histogram counts the matching spans first, and
//! a query matching more than [`MAX_SCAN_SPANS`] is refused with what to change.

use std::collections::{BTreeMap, HashMap};

use tracehouse_model::Span;
use tracehouse_query::{AttrValue, Field, Plan, Scope, SpanView};

use super::{
    Cell, MAX_SERIES, MetricSource, MetricValue, SpanMetricsAnswer, SpanMetricsQuery, merge_cells,
};
use crate::stats::MINUTE_NS;
use crate::value::SpanRef;
use crate::{HistogramQuery, SearchQuery, SearchSort, Store, StoreError};

/// Most spans a scan reads.
pub const MAX_SCAN_SPANS: u64 = 100_000;

/// Spans a scan reads per page. Each page is a search after the previous page's last span,
/// and a search reads the pages of every service's rows around its cursor: pages ten times
/// the API's largest made the 2-minute service map of the benchmark's 2M spans read its
/// 33,000 spans in 4 searches instead of 34 (2.6 s, most of it decoding rows again).
pub const SCAN_PAGE_SPANS: usize = 10_000;

/// What a scan calls on each span it reads.
pub type EachSpan<'e> = dyn for<'s> FnMut(&'s Span) + Send + 'e;

/// What of each span a scan's caller reads: a store may leave the rest of a span empty.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum SpanParts {
    /// The built-in fields (ids, times, names, kind, status, error flag, session).
    Intrinsics,
    /// Those and the span and resource attributes.
    Attributes,
    /// The whole span (events, links and instrumentation scope too).
    Whole,
}

impl SpanParts {
    /// What reading `fields` (as `by` keys, measured values or filters) takes.
    pub fn for_fields<'f>(fields: impl IntoIterator<Item = &'f Field>) -> SpanParts {
        fields
            .into_iter()
            .map(|field| match field {
                Field::Intrinsic(_) => SpanParts::Intrinsics,
                Field::Attr {
                    scope: Scope::Span | Scope::Resource | Scope::Any,
                    ..
                } => SpanParts::Attributes,
                Field::Attr { .. } => SpanParts::Whole,
            })
            .max()
            .unwrap_or(SpanParts::Intrinsics)
    }
}

/// A read of the spans of a project matching a filter-only plan that start in a window,
/// for the aggregations computed outside the stores ([`Store::scan_spans`]).
#[derive(Debug, Clone, Copy)]
pub struct SpanScan<'a> {
    /// Only spans of this project.
    pub project_id: &'a str,
    /// The filter-only plan the spans match.
    pub plan: &'a Plan,
    /// `[start, end)` of the span start, ns.
    pub window: (i64, i64),
    /// What of each span the caller reads.
    pub parts: SpanParts,
}

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

/// The refusal of a scan whose filter matches `matching` spans, more than
/// [`MAX_SCAN_SPANS`].
pub fn too_many(matching: u64) -> StoreError {
    StoreError::InvalidArgument(format!(
        "the query matches {matching} spans, more than the {MAX_SCAN_SPANS} a scan reads: \
         narrow the range or the filter, or filter and split only by service, span name, kind \
         and status and measure duration, which are kept pre-aggregated"
    ))
}

/// How many spans of `project_id` matching `plan` start in `[start_ns, end_ns)`.
pub async fn count_matching<S: Store + ?Sized>(
    store: &S,
    project_id: &str,
    plan: &Plan,
    (start_ns, end_ns): (i64, i64),
) -> Result<u64, StoreError> {
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
    Ok(counted.buckets.iter().map(|b| b.count).sum())
}

/// Calls `each` on every span of `scan`, in no particular order, after counting them: more
/// than [`MAX_SCAN_SPANS`] is refused before any is read.
pub async fn each_matching<S: Store + ?Sized>(
    store: &S,
    scan: &SpanScan<'_>,
    mut each: impl FnMut(&Span) + Send,
) -> Result<(), StoreError> {
    let matching = count_matching(store, scan.project_id, scan.plan, scan.window).await?;
    if matching > MAX_SCAN_SPANS {
        return Err(too_many(matching));
    }
    store.scan_spans(scan, matching, &mut each).await
}

/// Calls `each` on every span of `scan`, oldest first, reading them a search page at a time
/// (whole spans); once more than [`MAX_SCAN_SPANS`] were read (written since they were
/// counted), refuses the query. [`Store::scan_spans`] reads this way unless a store knows a
/// better one.
pub async fn page_through<S: Store + ?Sized>(
    store: &S,
    scan: &SpanScan<'_>,
    each: &mut EachSpan<'_>,
) -> Result<(), StoreError> {
    let mut read = 0_u64;
    let mut search = SearchQuery {
        project_id: scan.project_id.to_string(),
        plan: scan.plan.clone(),
        start_ns: scan.window.0,
        end_ns: scan.window.1,
        sort: SearchSort::TimeAsc,
        sort_key: None,
        limit: SCAN_PAGE_SPANS,
        cursor: None,
    };
    loop {
        let page = store.search_spans(&search).await?;
        read += page.spans.len() as u64;
        if read > MAX_SCAN_SPANS {
            return Err(too_many(read));
        }
        page.spans.iter().for_each(&mut *each);
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
    let mut cells = ScanCells::default();
    each_matching(store, &scan_of(q), |span| cells.add(q, span)).await?;
    Ok(cells.answer(q))
}

/// The read of the spans a span metrics query counts: its window widened to whole minutes,
/// the parts of a span its keys and measured value read.
pub fn scan_of(q: &SpanMetricsQuery) -> SpanScan<'_> {
    let value = match &q.value {
        MetricValue::Duration => None,
        MetricValue::Field(field) => Some(field),
    };
    SpanScan {
        project_id: &q.project_id,
        plan: &q.plan,
        window: scan_window(q),
        parts: SpanParts::for_fields(q.by.iter().map(|k| &k.field).chain(value)),
    }
}

/// The window a scan reads: the query's range widened to whole minutes.
pub fn scan_window(q: &SpanMetricsQuery) -> (i64, i64) {
    let (first, end) = q.minutes();
    (first * MINUTE_NS, end * MINUTE_NS)
}

/// The cells of a scanned span metrics query, by series (its `by` values) and minute: a
/// store that reads the matching spans its own way counts them here, so that every scan
/// answers alike whatever the order it reads them in.
#[derive(Default)]
pub struct ScanCells(HashMap<(Vec<String>, i64), Cell>);

impl ScanCells {
    /// Counts a span matching `q` into its cell.
    pub fn add(&mut self, q: &SpanMetricsQuery, span: &Span) {
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
        self.0
            .entry((labels, minute))
            .or_default()
            .add_span(value, span.has_error);
    }

    /// The answer to `q` from the cells.
    pub fn answer(&self, q: &SpanMetricsQuery) -> SpanMetricsAnswer {
        merge_cells(
            q,
            self.0.iter().map(|((l, m), c)| (l.clone(), *m, c)),
            MetricSource::Scan,
        )
    }
}

/// Spans per series, step and power-of-two bucket of the measured value (TraceQL's
/// `histogram_over_time`), from a scan of the matching spans.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Log2Histogram {
    /// Start of the first step, ns.
    pub start_ns: i64,
    /// Step, ns.
    pub step_ns: i64,
    /// One per combination of `by` values and bucket: the [`MAX_SERIES`] combinations of
    /// `by` values with the most spans, each with all its buckets, in label then bucket order.
    pub series: Vec<Log2Series>,
    /// Set when more combinations of `by` values matched than [`MAX_SERIES`].
    pub series_truncated: bool,
}

/// The spans of one series and bucket.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Log2Series {
    /// The value of each `by` key, in query order (empty when a span has none).
    pub labels: Vec<String>,
    /// The bucket: the smallest power of two at least the value, in its unit (ns for
    /// durations).
    pub bucket: u64,
    /// Spans per step index (from the range's first minute), steps without spans left out.
    pub steps: BTreeMap<i64, u64>,
    /// Spans over the whole range.
    pub total: u64,
}

/// The power-of-two bucket of a measured value: the smallest power of two at least the
/// value. Values below 2 and values that are not integers (floats, text) have none, as in
/// Tempo.
pub fn log2_bucket(value: &AttrValue<'_>) -> Option<u64> {
    match value {
        AttrValue::Int(v) if *v >= 2 => u64::try_from(*v).ok()?.checked_next_power_of_two(),
        _ => None,
    }
}

/// The log2 histogram of a checked query's value (durations in ns, or an integer field)
/// by scanning its matching spans in `store`.
pub async fn log2_histogram<S: Store + ?Sized>(
    store: &S,
    q: &SpanMetricsQuery,
) -> Result<Log2Histogram, StoreError> {
    q.check()?;
    let mut counts: HashMap<Vec<String>, BTreeMap<u64, BTreeMap<i64, u64>>> = HashMap::new();
    each_matching(store, &scan_of(q), |span| {
        let view = SpanRef(span);
        let value = match &q.value {
            MetricValue::Duration => Some(AttrValue::Int(span.duration_nanos)),
            MetricValue::Field(f) => field_value(f, &view),
        };
        let Some(bucket) = value.as_ref().and_then(log2_bucket) else {
            return;
        };
        let labels =
            q.by.iter()
                .map(|k| field_value(&k.field, &view).map(|v| v.as_text().into_owned()))
                .map(Option::unwrap_or_default)
                .collect();
        let step = q.step_of(span.start_time_unix_nano.div_euclid(MINUTE_NS));
        *counts
            .entry(labels)
            .or_default()
            .entry(bucket)
            .or_default()
            .entry(step)
            .or_default() += 1;
    })
    .await?;
    Ok(log2_series(q, counts))
}

/// The [`MAX_SERIES`] label sets with the most spans, flattened to one series per bucket.
fn log2_series(
    q: &SpanMetricsQuery,
    counts: HashMap<Vec<String>, BTreeMap<u64, BTreeMap<i64, u64>>>,
) -> Log2Histogram {
    let total = |buckets: &BTreeMap<u64, BTreeMap<i64, u64>>| -> u64 {
        buckets.values().flat_map(BTreeMap::values).sum()
    };
    let mut sets: Vec<_> = counts.into_iter().collect();
    sets.sort_by(|(la, a), (lb, b)| total(b).cmp(&total(a)).then_with(|| la.cmp(lb)));
    let series_truncated = sets.len() > MAX_SERIES;
    sets.truncate(MAX_SERIES);
    sets.sort_by(|(a, _), (b, _)| a.cmp(b));
    let series = sets
        .into_iter()
        .flat_map(|(labels, buckets)| {
            buckets.into_iter().map(move |(bucket, steps)| Log2Series {
                labels: labels.clone(),
                bucket,
                total: steps.values().sum(),
                steps,
            })
        })
        .collect();
    Log2Histogram {
        start_ns: q.grid_start(),
        step_ns: q.step_ns,
        series,
        series_truncated,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_are_the_next_power_of_two_of_integers_from_two() {
        let bucket = |v: i64| log2_bucket(&AttrValue::Int(v));
        assert_eq!(
            [2, 3, 4, 5, 1_000, 1_024, 1_025].map(bucket),
            [2, 4, 4, 8, 1_024, 1_024, 2_048].map(Some)
        );
        assert_eq!(bucket(i64::MAX), Some(1 << 63));
        for none in [-4, 0, 1] {
            assert_eq!(bucket(none), None, "{none}");
        }
        assert_eq!(log2_bucket(&AttrValue::Float(300.0)), None);
        assert_eq!(log2_bucket(&AttrValue::str("300")), None);
    }
}
