//! Selection against baseline (TraceQL's `compare()`): the spans of a query are split into
//! those a second filter selects and the rest, and every attribute's values are counted per
//! step on each side, so what sets the selection apart stands out. Read by a scan of the
//! matching spans ([`each_matching`], at most [`super::scan::MAX_SCAN_SPANS`]), so every
//! backend answers alike.
//!
//! The attributes counted are the span's name, status, kind and status message (when set),
//! its span attributes as `span.<key>` and its resource attributes as `resource.<key>`
//! (with `resource.service.name`); durations, times and ids are not (their values are
//! all different).

use std::collections::{BTreeMap, HashMap};

use tracehouse_model::Span;
use tracehouse_query::eval::matches;
use tracehouse_query::{AttrValue, Filter, Intrinsic, SpanView};

use super::SpanMetricsQuery;
use super::scan::{SpanParts, SpanScan, each_matching, scan_of};
use crate::stats::MINUTE_NS;
use crate::value::{SpanRef, eval_value};
use crate::{Store, StoreError};

/// A comparison to compute.
#[derive(Debug, Clone, Copy)]
pub struct CompareQuery<'a> {
    /// The spans compared (project, filter, range and step; `by` and `value` unused).
    pub spans: &'a SpanMetricsQuery,
    /// The spans selected; the others are the baseline.
    pub selection: &'a Filter,
    /// When set, only spans starting in `[start, end)` (ns) are selected.
    pub window: Option<(i64, i64)>,
    /// Values kept per attribute and side: the ones on the most spans.
    pub top: usize,
}

/// Which side of a comparison.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Side {
    /// Spans the selection filter does not select.
    Baseline,
    /// Spans it selects.
    Selection,
}

/// The spans of one side with one value of one attribute (or, for a total, with the
/// attribute at all).
#[derive(Debug, Clone, PartialEq)]
pub struct CompareSeries {
    /// Which side.
    pub side: Side,
    /// The attribute (`name`, `span.http.route`, `resource.service.name`).
    pub attribute: String,
    /// The value, `None` for the side's total of spans with the attribute.
    pub value: Option<AttrValue<'static>>,
    /// Spans per step (index from the range's first minute), steps without spans left out.
    pub steps: BTreeMap<i64, u64>,
}

/// A comparison.
#[derive(Debug, Clone, PartialEq)]
pub struct Comparison {
    /// Start of the first step, ns.
    pub start_ns: i64,
    /// Step, ns.
    pub step_ns: i64,
    /// Per side and attribute, the [`CompareQuery::top`] values on the most spans, then the
    /// side's total; by side, attribute, then spans (most first).
    pub series: Vec<CompareSeries>,
    /// Attributes with more values than [`CompareQuery::top`] on a side.
    pub too_many_values: Vec<String>,
}

/// A value as a map key: its type and its text.
type ValueKey = (u8, String);

fn value_key(v: &AttrValue<'_>) -> ValueKey {
    let kind = match v {
        AttrValue::Str(_) => 0,
        AttrValue::Int(_) => 1,
        AttrValue::Float(_) => 2,
        AttrValue::Bool(_) => 3,
    };
    (kind, v.as_text().into_owned())
}

fn owned(v: AttrValue<'_>) -> AttrValue<'static> {
    match v {
        AttrValue::Str(s) => AttrValue::Str(s.into_owned().into()),
        AttrValue::Int(i) => AttrValue::Int(i),
        AttrValue::Float(f) => AttrValue::Float(f),
        AttrValue::Bool(b) => AttrValue::Bool(b),
    }
}

/// Calls `each` with every attribute of a span that a comparison counts.
fn span_attributes(span: &Span, mut each: impl FnMut(String, AttrValue<'_>)) {
    let view = SpanRef(span);
    for (label, intrinsic) in [
        ("name", Intrinsic::SpanName),
        ("status", Intrinsic::StatusCode),
        ("kind", Intrinsic::SpanKind),
        ("statusMessage", Intrinsic::StatusMessage),
    ] {
        match view.intrinsic(intrinsic) {
            Some(AttrValue::Str(s)) if s.is_empty() => {}
            Some(v) => each(label.to_string(), v),
            None => {}
        }
    }
    for (k, v) in &span.attributes {
        each(format!("span.{k}"), eval_value(v));
    }
    if !span.resource_attributes.contains_key("service.name") {
        each(
            "resource.service.name".into(),
            AttrValue::str(&span.service_name),
        );
    }
    for (k, v) in span.resource_attributes.iter() {
        each(format!("resource.{k}"), eval_value(v));
    }
}

/// Spans per step index.
type Steps = BTreeMap<i64, u64>;

/// Counts per side and attribute: per value (with the value) and in total.
#[derive(Default)]
struct Counts {
    values: HashMap<(Side, String), HashMap<ValueKey, (AttrValue<'static>, Steps)>>,
    totals: HashMap<(Side, String), Steps>,
}

impl Counts {
    fn add(&mut self, side: Side, step: i64, attribute: String, value: AttrValue<'_>) {
        let values = self.values.entry((side, attribute.clone())).or_default();
        let (_, steps) = values
            .entry(value_key(&value))
            .or_insert_with(|| (owned(value), Steps::new()));
        *steps.entry(step).or_default() += 1;
        *self
            .totals
            .entry((side, attribute))
            .or_default()
            .entry(step)
            .or_default() += 1;
    }

    /// The series, each side's attributes limited to their `top` values.
    fn into_comparison(self, q: &CompareQuery<'_>) -> Comparison {
        let spans = |steps: &Steps| steps.values().sum::<u64>();
        let mut too_many_values = Vec::new();
        let mut series = Vec::new();
        let mut keys: Vec<(Side, String)> = self.totals.keys().cloned().collect();
        keys.sort();
        let mut values = self.values;
        let mut totals = self.totals;
        for key in keys {
            let mut kept: Vec<_> = values
                .remove(&key)
                .unwrap_or_default()
                .into_values()
                .collect();
            if kept.len() > q.top && !too_many_values.contains(&key.1) {
                too_many_values.push(key.1.clone());
            }
            kept.sort_by(|(va, a), (vb, b)| {
                spans(b)
                    .cmp(&spans(a))
                    .then_with(|| va.as_text().cmp(&vb.as_text()))
            });
            kept.truncate(q.top);
            let (side, attribute) = key.clone();
            series.extend(kept.into_iter().map(|(value, steps)| CompareSeries {
                side,
                attribute: attribute.clone(),
                value: Some(value),
                steps,
            }));
            series.push(CompareSeries {
                side,
                attribute,
                value: None,
                steps: totals.remove(&key).unwrap_or_default(),
            });
        }
        too_many_values.sort();
        Comparison {
            start_ns: q.spans.grid_start(),
            step_ns: q.spans.step_ns,
            series,
            too_many_values,
        }
    }
}

/// Compares the selection of `q` with its baseline by scanning the matching spans.
pub async fn compare<S: Store + ?Sized>(
    store: &S,
    q: &CompareQuery<'_>,
) -> Result<Comparison, StoreError> {
    q.spans.check()?;
    let scan = SpanScan {
        parts: SpanParts::Whole,
        ..scan_of(q.spans)
    };
    let mut counts = Counts::default();
    each_matching(store, &scan, |span| {
        let start = span.start_time_unix_nano;
        let in_window = q.window.is_none_or(|(s, e)| start >= s && start < e);
        let side = if in_window && matches(q.selection, &SpanRef(span)) {
            Side::Selection
        } else {
            Side::Baseline
        };
        let step = q.spans.step_of(start.div_euclid(MINUTE_NS));
        span_attributes(span, |attribute, value| {
            counts.add(side, step, attribute, value);
        });
    })
    .await?;
    Ok(counts.into_comparison(q))
}
