//! OTLP metrics over a snapshot of the metrics table: the metrics of a project in a window
//! (their names, types, units and descriptions) and the points of one metric. What the
//! answers mean is [`tracehouse_store_api::otel_metrics`]'s.

use datafusion::prelude::{Expr, col, lit};
use tracehouse_model::{MetricPoint, MetricType};
use tracehouse_store_api::otel_metrics::{check_points, metric_names, point_matches};
use tracehouse_store_api::{MetricInfo, MetricNamesQuery, MetricPointsQuery};

use crate::error::StoreError;
use crate::read::query::{Snapshot, project_is};
use crate::storage::metric_rows::batch_to_points;
use crate::storage::schema::{Columns, col as c};

fn in_window(project_id: &str, start_ns: i64, end_ns: i64) -> Expr {
    project_is(project_id)
        .and(col(c::TIME).gt_eq(lit(start_ns)))
        .and(col(c::TIME).lt(lit(end_ns)))
}

/// The metrics with points in the window (of one service, if asked), by name.
pub(crate) async fn names(
    snap: &Snapshot,
    q: &MetricNamesQuery,
) -> Result<Vec<MetricInfo>, StoreError> {
    let parts = snap.parts_in(&q.project_id, q.start_ns, q.end_ns);
    let mut filter = in_window(&q.project_id, q.start_ns, q.end_ns);
    if let Some(service) = &q.service {
        filter = filter.and(col(c::SERVICE_NAME).eq(lit(service.as_str())));
    }
    let projection = [
        c::METRIC_NAME,
        c::METRIC_TYPE,
        c::UNIT,
        c::DESCRIPTION,
        c::TIME,
    ];
    let mut rows = Vec::new();
    for batch in snap.columns(&parts, filter, &projection).await? {
        let cols = Columns(&batch);
        let (name, kind) = (cols.str(c::METRIC_NAME)?, cols.str(c::METRIC_TYPE)?);
        let (unit, description) = (cols.str(c::UNIT)?, cols.str(c::DESCRIPTION)?);
        let time = cols.i64(c::TIME)?;
        for i in 0..batch.num_rows() {
            let metric_type = MetricType::parse(kind.value(i)).ok_or_else(|| {
                StoreError::Corrupt(format!("unknown metric type {:?}", kind.value(i)))
            })?;
            let info = MetricInfo {
                name: name.value(i).to_string(),
                metric_type,
                unit: unit.value(i).to_string(),
                description: description.value(i).to_string(),
            };
            rows.push((info, time.value(i)));
        }
    }
    metric_names(rows)
}

/// Every point of one metric in the window that matches the label filter, oldest first;
/// the filter applies batch by batch as the parts are read.
pub(crate) async fn points(
    snap: &Snapshot,
    q: &MetricPointsQuery,
) -> Result<Vec<MetricPoint>, StoreError> {
    let parts = snap.parts_in(&q.project_id, q.start_ns, q.end_ns);
    let filter = in_window(&q.project_id, q.start_ns, q.end_ns)
        .and(col(c::METRIC_NAME).eq(lit(q.name.as_str())));
    let sort = vec![col(c::TIME).sort(true, false)];
    let mut points = Vec::new();
    for batch in snap.rows(&parts, filter, sort, None).await? {
        points.extend(
            batch_to_points(&batch)?
                .into_iter()
                .filter(|p| point_matches(&q.filter, p)),
        );
        check_points(&points, &q.name)?;
    }
    Ok(points)
}
