//! OTLP metrics on ClickHouse: the `otel_metrics` table's rows (one per data point, the
//! typed value, labels and exemplars as JSON text) and the reads of the store contract,
//! whose answers the shared rules of [`tracehouse_store_api::otel_metrics`] form.

use clickhouse::{Client, Row};
use serde::{Deserialize, Serialize};
use tracehouse_model::{MetricPoint, MetricType};
use tracehouse_store_api::otel_metrics::{check_points, metric_names, point_matches};
use tracehouse_store_api::{MetricInfo, MetricNamesQuery, MetricPointsQuery, StoreError};

use crate::read::ch;

/// One row of the `otel_metrics` table (field names are the column names).
#[derive(Debug, Clone, Row, Serialize, Deserialize)]
pub struct MetricRow {
    pub(crate) project_id: String,
    pub(crate) metric_name: String,
    pub(crate) metric_type: String,
    pub(crate) unit: String,
    pub(crate) description: String,
    pub(crate) service_name: String,
    pub(crate) scope_name: String,
    pub(crate) start_time: i64,
    pub(crate) time: i64,
    pub(crate) attributes: String,
    pub(crate) resource_attributes: String,
    pub(crate) point_value: String,
    pub(crate) exemplars: String,
    pub(crate) flags: u32,
}

/// The columns of a [`MetricRow`], in its order.
const COLUMNS: &str = "project_id, metric_name, metric_type, unit, description, service_name, \
    scope_name, start_time, time, attributes, resource_attributes, point_value, exemplars, flags";

fn json<T: Serialize>(value: &T) -> String {
    serde_json::to_string(value).unwrap_or_default()
}

impl MetricRow {
    /// The row of a point.
    pub fn from_point(p: &MetricPoint) -> MetricRow {
        MetricRow {
            project_id: p.project_id.clone(),
            metric_name: p.name.clone(),
            metric_type: p.value.metric_type().as_str().to_string(),
            unit: p.unit.clone(),
            description: p.description.clone(),
            service_name: p.service_name.clone(),
            scope_name: p.scope_name.clone(),
            start_time: p.start_time_unix_nano,
            time: p.time_unix_nano,
            attributes: json(&p.attributes),
            resource_attributes: json(&p.resource_attributes),
            point_value: json(&p.value),
            exemplars: json(&p.exemplars),
            flags: p.flags,
        }
    }

    fn into_point(self) -> Result<MetricPoint, StoreError> {
        Ok(MetricPoint {
            project_id: self.project_id,
            name: self.metric_name,
            description: self.description,
            unit: self.unit,
            service_name: self.service_name,
            scope_name: self.scope_name,
            start_time_unix_nano: self.start_time,
            time_unix_nano: self.time,
            attributes: serde_json::from_str(&self.attributes)?,
            resource_attributes: serde_json::from_str(&self.resource_attributes)?,
            value: serde_json::from_str(&self.point_value)?,
            exemplars: serde_json::from_str(&self.exemplars)?,
            flags: self.flags,
        })
    }
}

/// One metric's description at one time.
#[derive(Debug, Row, Deserialize)]
struct NameRow {
    metric_name: String,
    metric_type: String,
    unit: String,
    description: String,
    newest: i64,
}

/// The metrics with points in the window (of one service, if asked): the newest
/// description of each name.
pub(crate) async fn names(
    client: &Client,
    q: &MetricNamesQuery,
) -> Result<Vec<MetricInfo>, StoreError> {
    let of_service = if q.service.is_some() {
        "AND service_name = {svc:String}"
    } else {
        ""
    };
    let rows: Vec<NameRow> = client
        .query(&format!(
            "SELECT metric_name, argMax(metric_type, time) AS metric_type, \
             argMax(unit, time) AS unit, argMax(description, time) AS description, \
             max(time) AS newest FROM otel_metrics \
             WHERE project_id = {{p:String}} \
             AND time >= fromUnixTimestamp64Nano({{s:Int64}}, 'UTC') \
             AND time < fromUnixTimestamp64Nano({{e:Int64}}, 'UTC') {of_service} \
             GROUP BY metric_name",
        ))
        .param("p", &q.project_id)
        .param("s", q.start_ns)
        .param("e", q.end_ns)
        .param("svc", q.service.as_deref().unwrap_or_default())
        .fetch_all()
        .await
        .map_err(ch)?;
    let infos = rows.into_iter().map(|r| {
        let metric_type = MetricType::parse(&r.metric_type).ok_or_else(|| {
            StoreError::Corrupt(format!("unknown metric type {:?}", r.metric_type))
        })?;
        let info = MetricInfo {
            name: r.metric_name,
            metric_type,
            unit: r.unit,
            description: r.description,
        };
        Ok((info, r.newest))
    });
    metric_names(infos.collect::<Result<Vec<_>, StoreError>>()?)
}

/// Every point of one metric in the window that matches the label filter: the rows are
/// streamed and filtered as they arrive (the labels are JSON text), and the read stops at
/// the first matching point past the bound, to refuse.
pub(crate) async fn points(
    client: &Client,
    q: &MetricPointsQuery,
) -> Result<Vec<MetricPoint>, StoreError> {
    let mut rows = client
        .query(&format!(
            "SELECT {COLUMNS} FROM otel_metrics WHERE project_id = {{p:String}} \
             AND metric_name = {{n:String}} \
             AND time >= fromUnixTimestamp64Nano({{s:Int64}}, 'UTC') \
             AND time < fromUnixTimestamp64Nano({{e:Int64}}, 'UTC')"
        ))
        .param("p", &q.project_id)
        .param("n", &q.name)
        .param("s", q.start_ns)
        .param("e", q.end_ns)
        .fetch::<MetricRow>()
        .map_err(ch)?;
    let mut points = Vec::new();
    while let Some(row) = rows.next().await.map_err(ch)? {
        let point = row.into_point()?;
        if point_matches(&q.filter, &point) {
            points.push(point);
            check_points(&points, &q.name)?;
        }
    }
    Ok(points)
}
