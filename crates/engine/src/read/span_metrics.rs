//! Span metrics that the cells kept at ingest cannot answer (a filter or a `by` key on
//! attributes or other fields, a numeric attribute measured), read from the store itself:
//! one DataFusion pass over the memtable and the window's parts with the filter pushed down,
//! which hands over, a batch at a time, only the columns the query's keys and value read.
//! The rows become spans holding just those fields and are counted into
//! [`ScanCells`], as the generic scan of the other backends counts the spans it pages
//! through, so both answer alike. The caller counts the matching spans first, as the
//! generic scan does, and reads them this way only when there are more than a search page;
//! rows written since the count past [`MAX_SCAN_SPANS`] refuse the query the generic way.

use futures::StreamExt;
use tracehouse_query::plan::Target;
use tracehouse_store_api::StoreError;
use tracehouse_store_api::metrics::scan::{MAX_SCAN_SPANS, ScanCells, scan_window, too_many};
use tracehouse_store_api::metrics::{MetricValue, SpanMetricsAnswer, SpanMetricsQuery};

use crate::error::EngineResult;
use crate::read::filter::{compile, field_columns};
use crate::read::query::Snapshot;
use crate::read::search::window;
use crate::storage::schema::{batch_to_spans, col as c};

/// The columns a span needs to be counted for `q`: its ids and start (which every span read
/// back has), duration and error flag, and what the `by` keys and the measured value read.
fn columns_read(q: &SpanMetricsQuery) -> Vec<&'static str> {
    let value = match &q.value {
        MetricValue::Duration => None,
        MetricValue::Field(field) => Some(field),
    };
    let mut columns = vec![
        c::TRACE_ID,
        c::SPAN_ID,
        c::START_TIME,
        c::DURATION,
        c::HAS_ERROR,
    ];
    for field in q.by.iter().map(|k| &k.field).chain(value) {
        columns.extend(field_columns(field, Target::Spans));
    }
    columns.sort_unstable();
    columns.dedup();
    columns
}

/// Span metrics of a checked, folded query over `snap`, counted from its matching rows.
pub(crate) async fn scan_span_metrics(
    snap: &Snapshot,
    q: &SpanMetricsQuery,
) -> Result<SpanMetricsAnswer, StoreError> {
    let (start_ns, end_ns) = scan_window(q);
    let predicate = window(&q.project_id, start_ns, end_ns).and(compile(&q.plan.pushdown));
    let parts = snap.parts_in(&q.project_id, start_ns, end_ns);
    let (_ctx, df) = snap.frame(&parts).await?;
    let mut batches = df
        .filter(predicate)
        .engine()?
        .select_columns(&columns_read(q))
        .engine()?
        .execute_stream()
        .await
        .engine()?;
    let (mut cells, mut matching) = (ScanCells::default(), 0_u64);
    while let Some(batch) = batches.next().await {
        let batch = batch.engine()?;
        matching += batch.num_rows() as u64;
        if matching > MAX_SCAN_SPANS {
            return Err(too_many(matching));
        }
        batch_to_spans(&batch)?
            .iter()
            .for_each(|span| cells.add(q, span));
    }
    Ok(cells.answer(q))
}
