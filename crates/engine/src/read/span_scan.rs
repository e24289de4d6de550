//! The spans of a scan (`Store::scan_spans`: span metrics by other keys, alerts, the
//! service map, TraceQL's metrics) read from the matching rows' columns: one DataFusion pass
//! over the memtable and the window's parts with the filter pushed down, which hands over
//! only the columns of the parts of a span the scan asks for. The rows are gathered first
//! (at most [`MAX_SCAN_SPANS`] of them: one more refuses the scan, as the generic scan
//! refuses spans written since its count), so a read retried after damaged parts were set
//! aside hands no span over twice, then made into spans holding just those fields.

use datafusion::arrow::array::RecordBatch;
use futures::StreamExt;
use tracehouse_store_api::StoreError;
use tracehouse_store_api::metrics::scan::{
    EachSpan, MAX_SCAN_SPANS, SpanParts, SpanScan, too_many,
};

use crate::error::EngineResult;
use crate::read::filter::compile;
use crate::read::query::Snapshot;
use crate::read::search::window;
use crate::storage::schema::{batch_to_spans, col as c};
use crate::storage::table::Table;

/// The columns of the span parts `parts` asks for.
fn columns_of(parts: SpanParts) -> Vec<String> {
    let heavy: &[&str] = match parts {
        SpanParts::Intrinsics => &[
            c::ATTRIBUTES,
            c::RESOURCE_ATTRIBUTES,
            c::EVENTS,
            c::LINKS,
            c::SCOPE_ATTRIBUTES,
        ],
        SpanParts::Attributes => &[c::EVENTS, c::LINKS, c::SCOPE_ATTRIBUTES],
        SpanParts::Whole => &[],
    };
    Table::Spans
        .schema()
        .fields()
        .iter()
        .map(|f| f.name().clone())
        .filter(|name| !heavy.contains(&name.as_str()))
        .collect()
}

/// The rows of `scan` over `snap`, with the columns of the parts it asks for.
pub(crate) async fn matching_rows(
    snap: &Snapshot,
    scan: &SpanScan<'_>,
) -> Result<Vec<RecordBatch>, StoreError> {
    let (start_ns, end_ns) = scan.window;
    let predicate = window(scan.project_id, start_ns, end_ns).and(compile(&scan.plan.pushdown));
    let parts = snap.parts_in(scan.project_id, start_ns, end_ns);
    let (_ctx, df) = snap.frame(&parts).await?;
    let mut stream = df
        .filter(predicate)
        .engine()?
        .select_columns(
            &columns_of(scan.parts)
                .iter()
                .map(String::as_str)
                .collect::<Vec<_>>(),
        )
        .engine()?
        .execute_stream()
        .await
        .engine()?;
    let (mut rows, mut read) = (Vec::new(), 0_u64);
    while let Some(batch) = stream.next().await {
        let batch = batch.engine()?;
        read += batch.num_rows() as u64;
        if read > MAX_SCAN_SPANS {
            return Err(too_many(read));
        }
        rows.push(batch);
    }
    Ok(rows)
}

/// Hands the spans of `rows` to `each`.
pub(crate) fn hand_over(rows: &[RecordBatch], each: &mut EachSpan<'_>) -> Result<(), StoreError> {
    for batch in rows {
        batch_to_spans(batch)?.iter().for_each(&mut *each);
    }
    Ok(())
}
