//! The backend-neutral half of search: cursor checks, orderings, and the evaluation of
//! structural plans on candidate traces. Every backend finds candidates and fetches traces
//! its own way, then calls these so that their answers agree exactly.

use std::collections::{BTreeSet, HashMap};
use tracehouse_model::{Span, SpanId, TraceId};

use tracehouse_query::{Plan, eval_plan, matches};

use crate::api::{Bucket, HistogramQuery, SearchPage, SearchQuery, TracePage, TraceSummary};
use crate::cursor::{SearchCursor, SearchSort};
use crate::error::StoreError;
use crate::value::SpanRef;

/// Summarises one trace (its spans in start order) given the indices of its matched
/// spans. Shared with other backends so that summaries agree exactly.
pub fn summarise(spans: &[Span], matched: &[usize]) -> Option<TraceSummary> {
    let first = spans.first()?;
    let ids: BTreeSet<SpanId> = spans.iter().map(|s| s.span_id).collect();
    let root = spans
        .iter()
        .filter(|s| s.parent_span_id.is_none_or(|p| !ids.contains(&p)))
        .min_by_key(|s| (s.parent_span_id.is_some(), s.start_time_unix_nano))
        .unwrap_or(first);
    let start = spans.iter().map(|s| s.start_time_unix_nano).min()?;
    let end = spans.iter().map(|s| s.end_time_unix_nano).max()?;
    let services: BTreeSet<&str> = spans.iter().map(|s| s.service_name.as_str()).collect();
    Some(TraceSummary {
        trace_id: first.trace_id,
        root_service: root.service_name.clone(),
        root_name: root.name.clone(),
        start_ns: start,
        duration_ns: end.saturating_sub(start).max(0),
        span_count: spans.len() as u64,
        error_count: spans.iter().filter(|s| s.has_error).count() as u64,
        services: services.into_iter().map(str::to_string).collect(),
        matched_span_ids: matched.iter().map(|&i| spans[i].span_id).collect(),
    })
}

/// A trace's sort key from its matched spans: earliest start, or longest duration.
pub fn trace_key(sort: SearchSort, spans: &[Span], matched: &[usize]) -> i64 {
    let it = matched.iter().map(|&i| &spans[i]);
    if sort.by_duration() {
        it.map(|s| s.duration_nanos).max().unwrap_or(0)
    } else {
        it.map(|s| s.start_time_unix_nano).min().unwrap_or(0)
    }
}

/// "Nice" bucket widths, ns.
const NICE_WIDTHS: &[i64] = &{
    const MS: i64 = 1_000_000;
    const S: i64 = 1_000 * MS;
    const M: i64 = 60 * S;
    const H: i64 = 60 * M;
    const D: i64 = 24 * H;
    [
        1,
        2,
        5,
        10,
        20,
        50,
        100,
        200,
        500,
        1_000,
        2_000,
        5_000,
        10_000,
        20_000,
        50_000,
        100_000,
        200_000,
        500_000,
        MS,
        2 * MS,
        5 * MS,
        10 * MS,
        20 * MS,
        50 * MS,
        100 * MS,
        200 * MS,
        500 * MS,
        S,
        2 * S,
        5 * S,
        10 * S,
        15 * S,
        30 * S,
        M,
        2 * M,
        5 * M,
        10 * M,
        15 * M,
        30 * M,
        H,
        2 * H,
        3 * H,
        6 * H,
        12 * H,
        D,
        2 * D,
        7 * D,
    ]
};

/// The smallest nice width that covers `[start, end)` in at most `buckets` buckets once
/// aligned to a multiple of the width.
pub fn bucket_width(start_ns: i64, end_ns: i64, buckets: usize) -> i64 {
    let buckets = buckets.max(1) as i128;
    let fits = |w: i64| {
        let aligned = start_ns.div_euclid(w) as i128 * w as i128;
        let n = (end_ns as i128 - aligned + w as i128 - 1) / w as i128;
        n <= buckets
    };
    if let Some(w) = NICE_WIDTHS.iter().copied().find(|&w| fits(w)) {
        return w;
    }
    // Doubling saturates at i64::MAX, which fits any window of non-negative times.
    const WEEK: i64 = 7 * 24 * 3_600_000_000_000;
    let mut w = WEEK;
    while !fits(w) && w < i64::MAX {
        w = w.saturating_mul(2);
    }
    w
}

/// Refuses a cursor that was made for another sort order.
pub fn check_cursor(q: &SearchQuery) -> Result<(), StoreError> {
    match &q.cursor {
        Some(cur) if cur.sort != q.sort => Err(StoreError::InvalidArgument(format!(
            "the cursor belongs to sort {}, not {}",
            cur.sort.as_str(),
            q.sort.as_str()
        ))),
        _ => Ok(()),
    }
}

/// The value a span is ordered by under `sort`.
pub fn span_key(sort: SearchSort, s: &Span) -> i64 {
    if sort.by_duration() {
        s.duration_nanos
    } else {
        s.start_time_unix_nano
    }
}

/// The cursor that continues after `s`.
pub fn cursor_of(sort: SearchSort, s: &Span) -> SearchCursor {
    SearchCursor {
        sort,
        key: span_key(sort, s),
        trace_id: s.trace_id,
        span_id: s.span_id,
    }
}

/// Orders rows by (key, trace id, span id) in the sort's direction.
pub fn order(
    sort: SearchSort,
    a: (i64, TraceId, SpanId),
    b: (i64, TraceId, SpanId),
) -> std::cmp::Ordering {
    let o = (a.0, a.1.0, a.2.0).cmp(&(b.0, b.1.0, b.2.0));
    if sort.descending() { o.reverse() } else { o }
}

/// A trace that matched a structural query, with the indices of its matched spans.
pub struct Evaluated {
    /// All spans of the trace.
    pub spans: Vec<Span>,
    /// Indices into `spans` of the matched spans.
    pub matched: Vec<usize>,
}

/// Evaluates a structural plan on each candidate trace; only matched spans whose start is
/// in the window are kept, and traces left without any are dropped.
pub fn evaluate(
    plan: &Plan,
    traces: impl IntoIterator<Item = Vec<Span>>,
    start_ns: i64,
    end_ns: i64,
) -> Vec<Evaluated> {
    let mut out = Vec::new();
    for spans in traces {
        let views: Vec<SpanRef<'_>> = spans.iter().map(SpanRef).collect();
        let matched: Vec<usize> = eval_plan(plan, &views)
            .into_iter()
            .filter(|&i| {
                let t = spans[i].start_time_unix_nano;
                t >= start_ns && t < end_ns
            })
            .collect();
        drop(views);
        if !matched.is_empty() {
            out.push(Evaluated { spans, matched });
        }
    }
    out
}

/// Candidate traces fetched and evaluated per round trip to the store.
pub const CANDIDATE_BATCH: usize = 1000;

/// Evaluates `plan` on candidate traces — newest first, each with the start of its newest
/// span matching the pushdown filter — in batches read with `fetch`, until `settled` says
/// that candidates starting at most at the next one's time can no longer change the answer
/// (see [`page_settled`]). Only matched spans in `[start, end)` count (see [`evaluate`]).
pub async fn evaluate_candidates<F, Fut>(
    plan: &Plan,
    candidates: &[(TraceId, i64)],
    (start_ns, end_ns): (i64, i64),
    mut fetch: F,
    settled: impl Fn(&[Evaluated], i64) -> bool,
) -> Result<Vec<Evaluated>, StoreError>
where
    F: FnMut(Vec<TraceId>) -> Fut,
    Fut: Future<Output = Result<HashMap<TraceId, Vec<Span>>, StoreError>>,
{
    let mut evaluated = Vec::new();
    for (i, batch) in candidates.chunks(CANDIDATE_BATCH).enumerate() {
        let traces = fetch(batch.iter().map(|(id, _)| *id).collect()).await?;
        evaluated.extend(evaluate(plan, traces.into_values(), start_ns, end_ns));
        if let Some((_, next)) = candidates.get((i + 1) * CANDIDATE_BATCH)
            && settled(&evaluated, *next)
        {
            break;
        }
    }
    Ok(evaluated)
}

/// Whether evaluating more candidate traces, whose newest spans matching the pushdown
/// filter start at most at `next`, can no longer change the page of `q` (of traces with
/// `traces`, else of spans). Only newest-first pages settle early: a candidate's matched
/// spans start no later than its newest matching span, so once more than a page of rows
/// after the cursor rank strictly above `next`, nothing later can displace them.
pub fn page_settled(evaluated: &[Evaluated], q: &SearchQuery, traces: bool, next: i64) -> bool {
    if q.sort != SearchSort::TimeDesc {
        return false;
    }
    let zero = SpanId([0; 8]);
    let after = |key: i64, trace: &TraceId, span: &SpanId| {
        key > next
            && q.cursor
                .as_ref()
                .is_none_or(|cur| cur.is_before(key, trace, span))
    };
    let ranked = if traces {
        evaluated
            .iter()
            .filter(|e| {
                after(
                    trace_key(q.sort, &e.spans, &e.matched),
                    &e.spans[0].trace_id,
                    &zero,
                )
            })
            .count()
    } else {
        evaluated
            .iter()
            .flat_map(|e| e.matched.iter().map(|&i| &e.spans[i]))
            .filter(|s| after(s.start_time_unix_nano, &s.trace_id, &s.span_id))
            .count()
    };
    ranked > q.limit
}

/// One page of the matched spans of evaluated traces, in the query's order after its cursor.
pub fn span_page(evaluated: Vec<Evaluated>, q: &SearchQuery, truncated: bool) -> SearchPage {
    let mut spans: Vec<Span> = evaluated
        .into_iter()
        .flat_map(|e| {
            let Evaluated { spans, matched } = e;
            let mut keep = vec![false; spans.len()];
            for i in matched {
                keep[i] = true;
            }
            spans
                .into_iter()
                .zip(keep)
                .filter_map(|(s, k)| k.then_some(s))
        })
        .filter(|s| {
            q.cursor
                .as_ref()
                .is_none_or(|cur| cur.is_before(span_key(q.sort, s), &s.trace_id, &s.span_id))
        })
        .collect();
    spans.sort_by(|a, b| {
        order(
            q.sort,
            (span_key(q.sort, a), a.trace_id, a.span_id),
            (span_key(q.sort, b), b.trace_id, b.span_id),
        )
    });
    let next_cursor = if spans.len() > q.limit {
        spans.truncate(q.limit);
        spans.last().map(|s| cursor_of(q.sort, s))
    } else {
        None
    };
    SearchPage {
        spans,
        next_cursor,
        candidates_truncated: truncated,
    }
}

/// One page of evaluated traces (one row each), in the query's order after its cursor.
pub fn trace_page(evaluated: Vec<Evaluated>, q: &SearchQuery, truncated: bool) -> TracePage {
    let zero = SpanId([0; 8]);
    let mut rows: Vec<(i64, Evaluated)> = evaluated
        .into_iter()
        .map(|e| (trace_key(q.sort, &e.spans, &e.matched), e))
        .filter(|(k, e)| {
            q.cursor
                .as_ref()
                .is_none_or(|cur| cur.is_before(*k, &e.spans[0].trace_id, &zero))
        })
        .collect();
    rows.sort_by(|a, b| {
        order(
            q.sort,
            (a.0, a.1.spans[0].trace_id, zero),
            (b.0, b.1.spans[0].trace_id, zero),
        )
    });
    let more = rows.len() > q.limit;
    rows.truncate(q.limit);
    let next_cursor = more
        .then(|| rows.last())
        .flatten()
        .map(|(k, e)| SearchCursor {
            sort: q.sort,
            key: *k,
            trace_id: e.spans[0].trace_id,
            span_id: zero,
        });
    let traces = rows
        .iter()
        .filter_map(|(_, e)| summarise(&e.spans, &e.matched))
        .collect();
    TracePage {
        traces,
        next_cursor,
        candidates_truncated: truncated,
    }
}

/// The summaries of a plain (non-structural) trace page: each trace's spans that start in
/// the window and match the pushdown filter are its matched spans. `traces` holds every span
/// of the page's traces; pages keep the order of `ids`.
pub fn plain_summaries(
    ids: &[TraceId],
    traces: &HashMap<TraceId, Vec<Span>>,
    q: &SearchQuery,
) -> Vec<TraceSummary> {
    ids.iter()
        .filter_map(|t| {
            let spans = traces.get(t)?;
            let matched: Vec<usize> = (0..spans.len())
                .filter(|&i| {
                    let s = &spans[i];
                    s.start_time_unix_nano >= q.start_ns
                        && s.start_time_unix_nano < q.end_ns
                        && matches(&q.plan.pushdown, &SpanRef(s))
                })
                .collect();
            summarise(spans, &matched)
        })
        .collect()
}

/// Most buckets a histogram is cut into, whatever is asked.
pub const MAX_BUCKETS: usize = 10_000;

/// Refuses a time window no data can be in: times are nanoseconds since the Unix epoch, so
/// never negative, and the window must not be empty.
pub fn check_window(start_ns: i64, end_ns: i64) -> Result<(), StoreError> {
    if start_ns < 0 {
        return Err(StoreError::InvalidArgument(format!(
            "start {start_ns} is before the Unix epoch: times are nanoseconds since 1970-01-01T00:00:00Z"
        )));
    }
    if start_ns >= end_ns {
        return Err(StoreError::InvalidArgument(format!(
            "start {start_ns} must be before end {end_ns}"
        )));
    }
    Ok(())
}

/// The empty buckets of a histogram: `(aligned start, width, buckets)`, with the width
/// chosen by [`bucket_width`] and the first bucket aligned to a multiple of it. At most
/// `requested` (and [`MAX_BUCKETS`]) buckets; refuses a window [`check_window`] refuses.
pub fn empty_buckets(
    start_ns: i64,
    end_ns: i64,
    requested: usize,
) -> Result<(i64, i64, Vec<Bucket>), StoreError> {
    check_window(start_ns, end_ns)?;
    let width = bucket_width(start_ns, end_ns, requested.clamp(1, MAX_BUCKETS));
    // `start_ns >= 0`, so the aligned start is in `[0, start_ns]` and every bucket start
    // below `end_ns` fits in an i64.
    let aligned = start_ns.div_euclid(width) * width;
    let n = (i128::from(end_ns) - i128::from(aligned) + i128::from(width) - 1) / i128::from(width);
    let buckets = (0..n)
        .map(|i| {
            let start = (i128::from(aligned) + i * i128::from(width)) as i64;
            Bucket {
                start,
                end: start.saturating_add(width),
                count: 0,
                error_count: 0,
            }
        })
        .collect();
    Ok((aligned, width, buckets))
}

/// The bucket of `time` on a grid `(aligned start, width)` of `len` buckets, if inside it.
pub fn bucket_of(time: i64, aligned: i64, width: i64, len: usize) -> Option<usize> {
    let i = time.checked_sub(aligned)?.div_euclid(width);
    usize::try_from(i).ok().filter(|i| *i < len)
}

/// Counts the matched spans of evaluated traces into their buckets, or with `traces` each
/// trace once, at its earliest matched span in `[q.start_ns, q.end_ns)` (see
/// [`HistogramQuery::traces`]).
pub fn count_matched(
    buckets: &mut [Bucket],
    (aligned, width): (i64, i64),
    evaluated: &[Evaluated],
    q: &HistogramQuery,
) {
    let n = buckets.len();
    let mut add = |start: i64, error: bool| {
        if let Some(bucket) = bucket_of(start, aligned, width, n).and_then(|b| buckets.get_mut(b)) {
            bucket.count += 1;
            bucket.error_count += u64::from(error);
        }
    };
    for e in evaluated {
        let in_range = e
            .matched
            .iter()
            .map(|&i| &e.spans[i])
            .filter(|s| (q.start_ns..q.end_ns).contains(&s.start_time_unix_nano));
        if q.traces {
            let mut spans = in_range.peekable();
            if spans.peek().is_none() {
                continue;
            }
            let (start, error) = spans.fold((i64::MAX, false), |(t, e), s| {
                (t.min(s.start_time_unix_nano), e || s.has_error)
            });
            add(start, error);
        } else {
            in_range.for_each(|s| add(s.start_time_unix_nano, s.has_error));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn widths_are_nice_and_cover_the_range() {
        const S: i64 = 1_000_000_000;
        assert_eq!(bucket_width(0, 3600 * S, 60), 60 * S);
        assert_eq!(bucket_width(0, 3600 * S, 100), 60 * S);
        assert_eq!(bucket_width(0, 10 * S, 10), S);
        assert_eq!(bucket_width(5, 15 * S, 10), 2 * S);
        let w = bucket_width(123_456_789, 123_456_789 + 86_400 * S, 50);
        assert!(w >= 86_400 * S / 50);
    }

    /// Every bucket grid covers its window with at most the requested buckets, contiguous
    /// and in order, whatever the window; windows no data can be in are refused.
    #[test]
    fn bucket_grids_cover_any_valid_window() {
        let windows = [
            (0, 1),
            (0, i64::MAX),
            (1, i64::MAX),
            (i64::MAX - 1, i64::MAX),
            (1_700_000_000_000_000_000, 1_700_003_600_000_000_000),
            (5, 15_000_000_000),
        ];
        for (start, end) in windows {
            for requested in [0, 1, 2, 7, 60, 1000, usize::MAX] {
                let (aligned, width, buckets) = empty_buckets(start, end, requested).unwrap();
                let what = format!("[{start}, {end}) in {requested}");
                assert!(!buckets.is_empty() && buckets.len() <= requested.clamp(1, MAX_BUCKETS));
                assert_eq!(buckets[0].start, aligned, "{what}");
                assert!(
                    aligned <= start && buckets.last().unwrap().end >= end,
                    "{what}"
                );
                for pair in buckets.windows(2) {
                    assert_eq!(pair[0].end, pair[1].start, "{what}");
                }
                assert_eq!(bucket_of(start, aligned, width, buckets.len()), Some(0));
                let last = bucket_of(end - 1, aligned, width, buckets.len());
                assert_eq!(last, Some(buckets.len() - 1), "{what}");
                assert_eq!(bucket_of(i64::MIN, aligned, width, buckets.len()), None);
            }
        }
        for (start, end) in [
            (-1, i64::MAX),
            (i64::MIN, 0),
            (i64::MIN, i64::MAX),
            (5, 5),
            (6, 5),
        ] {
            let e = empty_buckets(start, end, 60).unwrap_err();
            assert!(matches!(e, StoreError::InvalidArgument(_)), "{e}");
        }
    }
}
