//! Span metrics from the `span_metrics` table (fed at insert by a materialized view): one
//! query merges the cells of the range per series and step, and per series over the whole
//! range, with `quantilesDDMerge`; the answer is assembled by the shared rules
//! ([`tracehouse_store_api::metrics::assemble`]).

use clickhouse::{Client, Row};
use serde::Deserialize;
use tracehouse_store_api::StoreError;
use tracehouse_store_api::metrics::{
    MetricDim, MetricPoint, MetricRow, MetricSource, PERCENTILES, SKETCH_RELATIVE_ERROR,
    SpanMetricsAnswer, SpanMetricsQuery, assemble,
};
use tracehouse_store_api::stats::MINUTE_NS;

use crate::read::ch;
use crate::sql::{Params, Table, compile};

#[derive(Debug, Row, Deserialize)]
struct MetricDbRow {
    labels: Vec<String>,
    step: Option<i64>,
    n: u64,
    errs: u64,
    dmin: f64,
    dmax: f64,
    dsum: f64,
    qs: Vec<f64>,
}

/// The column of a dimension in `span_metrics` (the same as in `spans`, so filters compile
/// alike).
fn column(d: MetricDim) -> &'static str {
    match d {
        MetricDim::Service => "service_name",
        MetricDim::Name => "name",
        MetricDim::Kind => "kind",
        MetricDim::Status => "status_code",
    }
}

/// Span metrics of a checked query (its filter folded and [`SpanMetricsQuery::check`]ed)
/// that the cells answer ([`SpanMetricsQuery::from_cells`]).
pub(crate) async fn span_metrics(
    client: &Client,
    q: &SpanMetricsQuery,
) -> Result<SpanMetricsAnswer, StoreError> {
    let (first, end) = q.minutes();
    let mut p = Params::default();
    let project = p.str(q.project_id.as_str());
    let from = p.i64(first * (MINUTE_NS / 1_000_000_000));
    let to = p.i64(end * (MINUTE_NS / 1_000_000_000));
    let first_minute = p.i64(first);
    let per_step = p.i64(q.step_ns / MINUTE_NS);
    let filter = compile(&q.plan.pushdown, Table::Spans, &mut p);
    let labels: Vec<String> =
        q.by.iter()
            .filter_map(|k| MetricDim::of(&k.field))
            .map(|d| format!("toString({})", column(d)))
            .collect();
    let levels: Vec<String> = PERCENTILES.iter().map(f64::to_string).collect();
    let sql = format!(
        "SELECT CAST([{labels}] AS Array(String)) AS labels, \
         intDiv(intDiv(toInt64(toUnixTimestamp(minute)), 60) - {first_minute}, {per_step}) AS step, \
         toUInt64(sum(count)) AS n, toUInt64(sum(errors)) AS errs, \
         toFloat64(min(duration_min)) AS dmin, toFloat64(max(duration_max)) AS dmax, \
         toFloat64(sum(duration_sum)) AS dsum, \
         quantilesDDMerge({SKETCH_RELATIVE_ERROR}, {levels})(duration_sketch) AS qs \
         FROM span_metrics \
         WHERE project_id = {project} AND minute >= toDateTime({from}, 'UTC') \
         AND minute < toDateTime({to}, 'UTC') AND {filter} \
         GROUP BY GROUPING SETS ((labels, step), (labels)) \
         SETTINGS group_by_use_nulls = 1",
        labels = labels.join(", "),
        levels = levels.join(", "),
    );
    let rows: Vec<MetricDbRow> = p.bind(client.query(&sql)).fetch_all().await.map_err(ch)?;
    let rows = rows.into_iter().map(|r| {
        let mut qs = [0.0; 5];
        for (slot, v) in qs.iter_mut().zip(r.qs) {
            *slot = v;
        }
        MetricRow {
            labels: r.labels,
            step: r.step,
            point: MetricPoint::new([r.n, r.errs, r.n], [r.dmin, r.dmax, r.dsum], qs),
        }
    });
    Ok(assemble(q, rows, MetricSource::Sketches))
}
