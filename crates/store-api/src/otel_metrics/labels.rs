//! The labels of one metric, for autocomplete: the keys its points carry (point and resource
//! attributes) and a key's values, each with how many series have it.

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;
use tracehouse_model::{AttrValue, MetricPoint};
use utoipa::ToSchema;

use super::series_key;

/// Most values a label's answer lists (those of the most series).
pub const MAX_LABEL_VALUES: usize = 1_000;

/// A label key of a metric.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct MetricLabel {
    /// The key (`route`, `service.name`).
    pub key: String,
    /// `point` for a data-point attribute, `resource` for a resource attribute.
    pub scope: &'static str,
    /// Series with the key.
    pub series: u64,
}

/// A label value with how many series have it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct LabelValue {
    /// The value as text.
    pub value: String,
    /// Series with it.
    pub series: u64,
}

/// The point and resource attributes of each distinct series of points.
fn series(
    points: &[MetricPoint],
) -> impl Iterator<Item = (&tracehouse_model::Attributes, &tracehouse_model::Attributes)> {
    let mut seen = BTreeSet::new();
    points
        .iter()
        .filter(move |p| seen.insert(series_key(p)))
        .map(|p| (&p.attributes, &*p.resource_attributes))
}

/// The label keys of points, point attributes first, each sorted by key.
pub fn metric_labels(points: &[MetricPoint]) -> Vec<MetricLabel> {
    let mut counts: BTreeMap<(u8, &str), u64> = BTreeMap::new();
    for (attrs, resource) in series(points) {
        for k in attrs.keys() {
            *counts.entry((0, k)).or_default() += 1;
        }
        for k in resource.keys() {
            *counts.entry((1, k)).or_default() += 1;
        }
    }
    counts
        .into_iter()
        .map(|((scope, key), series)| MetricLabel {
            key: key.to_string(),
            scope: if scope == 0 { "point" } else { "resource" },
            series,
        })
        .collect()
}

/// The values of label `key` (a point attribute, else a resource attribute), most series
/// first, then by value; at most [`MAX_LABEL_VALUES`].
pub fn label_values(points: &[MetricPoint], key: &str) -> Vec<LabelValue> {
    let mut counts: BTreeMap<String, u64> = BTreeMap::new();
    for (attrs, resource) in series(points) {
        if let Some(v) = attrs.get(key).or_else(|| resource.get(key)) {
            *counts.entry(AttrValue::as_text(v)).or_default() += 1;
        }
    }
    let mut values: Vec<LabelValue> = counts
        .into_iter()
        .map(|(value, series)| LabelValue { value, series })
        .collect();
    values.sort_by(|a, b| b.series.cmp(&a.series).then_with(|| a.value.cmp(&b.value)));
    values.truncate(MAX_LABEL_VALUES);
    values
}
