//! OTLP metrics (the third signal, not the span metrics of [`crate::metrics`]): what a
//! store answers about stored [`MetricPoint`]s, and the bounds both backends keep. A store
//! reads points of one metric in a window; every rule that turns them into answers is
//! written here once, so that both backends answer alike.

use serde::Serialize;
use tracehouse_model::{MetricPoint, MetricType};
use tracehouse_query::{Filter, Intrinsic, Scope, SpanView};
use utoipa::ToSchema;

use crate::error::StoreError;
use crate::value::eval_value;

mod distribution;
pub mod labels;
pub mod query;

pub use distribution::Distribution;

/// The most points one read of a metric returns; a window holding more is refused as too
/// large (narrow the window or filter by labels), never answered in part.
pub const MAX_METRIC_POINTS: usize = 500_000;

/// The most distinct metric names a project's names answer lists.
pub const MAX_METRIC_NAMES: usize = 10_000;

/// A request for the metrics of a project seen in a window.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MetricNamesQuery {
    /// The project.
    pub project_id: String,
    /// Window start, ns (inclusive).
    pub start_ns: i64,
    /// Window end, ns (exclusive).
    pub end_ns: i64,
    /// Only the metrics with points of this service (their resource's `service.name`).
    pub service: Option<String>,
}

/// A request for the points of one metric in a window that match a label filter.
#[derive(Debug, Clone, PartialEq)]
pub struct MetricPointsQuery {
    /// The project.
    pub project_id: String,
    /// The metric's name.
    pub name: String,
    /// Window start, ns (inclusive), of the points' times.
    pub start_ns: i64,
    /// Window end, ns (exclusive).
    pub end_ns: i64,
    /// Label filter (see [`point_matches`]), applied as the store reads, so that
    /// [`MAX_METRIC_POINTS`] bounds the matching points only.
    pub filter: Filter,
}

/// Whether a point matches a label filter (the plain filter of a query: point attributes
/// are span-scope attributes, resource attributes resource-scope ones, `service` the
/// service name, `name` the metric's name).
pub fn point_matches(filter: &Filter, p: &MetricPoint) -> bool {
    tracehouse_query::matches(filter, &PointRef(p))
}

/// A point as the query language's evaluator sees it.
struct PointRef<'a>(&'a MetricPoint);

impl SpanView for PointRef<'_> {
    fn intrinsic(&self, which: Intrinsic) -> Option<tracehouse_query::AttrValue<'_>> {
        match which {
            Intrinsic::ServiceName => Some(tracehouse_query::AttrValue::str(&self.0.service_name)),
            Intrinsic::SpanName => Some(tracehouse_query::AttrValue::str(&self.0.name)),
            _ => None,
        }
    }

    fn attribute(&self, scope: Scope, key: &str) -> Option<tracehouse_query::AttrValue<'_>> {
        match scope {
            Scope::Span => self.0.attributes.get(key).map(eval_value),
            Scope::Resource => self.0.resource_attributes.get(key).map(eval_value),
            _ => None,
        }
    }

    fn attribute_values(&self, _scope: Scope, _key: &str) -> Vec<tracehouse_query::AttrValue<'_>> {
        Vec::new()
    }

    fn span_id(&self) -> &[u8] {
        &[]
    }

    fn parent_span_id(&self) -> Option<&[u8]> {
        None
    }

    fn start_time_ns(&self) -> i64 {
        self.0.time_unix_nano
    }

    fn end_time_ns(&self) -> i64 {
        self.0.time_unix_nano
    }
}

/// A metric of a project: its name and what its latest point said about it.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, ToSchema)]
pub struct MetricInfo {
    /// The metric's name.
    pub name: String,
    /// Its data-point type.
    #[serde(rename = "type")]
    pub metric_type: MetricType,
    /// Its unit, as sent.
    pub unit: String,
    /// Its description, as sent.
    pub description: String,
}

/// Names, one row per metric sorted by name, from `(name, type, unit, description, time)`
/// rows of any order: the newest row of each name describes it.
pub fn metric_names(
    rows: impl IntoIterator<Item = (MetricInfo, i64)>,
) -> Result<Vec<MetricInfo>, StoreError> {
    let mut newest: std::collections::BTreeMap<String, (MetricInfo, i64)> = Default::default();
    for (info, time) in rows {
        match newest.get_mut(&info.name) {
            Some(kept) if kept.1 >= time => {}
            Some(kept) => *kept = (info, time),
            None => {
                if newest.len() == MAX_METRIC_NAMES {
                    return Err(too_many_names());
                }
                newest.insert(info.name.clone(), (info, time));
            }
        }
    }
    Ok(newest.into_values().map(|(info, _)| info).collect())
}

fn too_many_names() -> StoreError {
    StoreError::InvalidArgument(format!(
        "the window holds more than {MAX_METRIC_NAMES} metric names"
    ))
}

/// The identity of a point's series: its point and resource attributes, as text.
pub fn series_key(p: &MetricPoint) -> String {
    serde_json::to_string(&(&p.attributes, &p.resource_attributes)).unwrap_or_default()
}

/// Checks a read's size as it grows: past [`MAX_METRIC_POINTS`] the read is refused.
pub fn check_points(points: &[MetricPoint], name: &str) -> Result<(), StoreError> {
    if points.len() > MAX_METRIC_POINTS {
        return Err(StoreError::InvalidArgument(format!(
            "metric {name:?} has more than {MAX_METRIC_POINTS} points in the window: \
             narrow the window"
        )));
    }
    Ok(())
}
