//! Autocomplete's statistics of a range, exact: the whole hours inside it from the key and
//! value statistics, the partial hours at its edges tallied from their rows the way the
//! statistics are ([`HourSplit`]).

use datafusion::prelude::{col, lit};
use futures::StreamExt;
use tracehouse_store_api::stats::{HourSplit, KeyStats, MAX_SCANNED_RECORDS};

use crate::error::{EngineResult, StoreError};
use crate::read::query::{Snapshot, project_is};
use crate::storage::HOUR_NS;
use crate::table_engine::TableEngine;

impl TableEngine {
    /// The key and value statistics of the rows of a project starting in
    /// `[start_ns, end_ns)`. A partial hour past the budget of [`MAX_SCANNED_RECORDS`] rows
    /// is counted from its whole hour's statistics.
    pub(crate) async fn range_stats(
        &self,
        project_id: &str,
        start_ns: i64,
        end_ns: i64,
    ) -> Result<KeyStats, StoreError> {
        self.range_stats_within(project_id, (start_ns, end_ns), MAX_SCANNED_RECORDS)
            .await
    }

    /// [`TableEngine::range_stats`] with a budget of `budget` rows read.
    pub(crate) async fn range_stats_within(
        &self,
        project_id: &str,
        (start_ns, end_ns): (i64, i64),
        mut budget: u64,
    ) -> Result<KeyStats, StoreError> {
        let split = HourSplit::of(start_ns, end_ns);
        let mut out = match split.whole {
            Some((a, b)) => self.stats_in(project_id, a, b),
            None => KeyStats::default(),
        };
        if split.edges.is_empty() {
            return Ok(out);
        }
        let snap = self.snapshot();
        for edge in split.edges {
            match tally_rows(&snap, project_id, edge, &mut budget).await? {
                Some(stats) => out.merge(&stats),
                None => {
                    let (a, b) = HourSplit::hour_of(edge);
                    out.merge(&self.stats_in(project_id, a, b));
                }
            }
        }
        Ok(out)
    }
}

/// The statistics of the rows of `project_id` in `range` (within one hour), or `None` once
/// they would take more rows than are left in `budget` (which they use up).
async fn tally_rows(
    snap: &Snapshot,
    project_id: &str,
    range: (i64, i64),
    budget: &mut u64,
) -> Result<Option<KeyStats>, StoreError> {
    let time = snap.table.time_column();
    let filter = project_is(project_id)
        .and(col(time).gt_eq(lit(range.0)))
        .and(col(time).lt(lit(range.1)));
    let parts = snap.parts_in(project_id, range.0, range.1);
    let (_ctx, df) = snap.frame(&parts).await?;
    let mut rows = df
        .filter(filter)
        .engine()?
        .select_columns(snap.table.stats_columns())
        .engine()?
        .execute_stream()
        .await
        .engine()?;
    let mut out = KeyStats::default();
    while let Some(batch) = rows.next().await {
        let batch = batch.engine()?;
        let Some(left) = budget.checked_sub(batch.num_rows() as u64) else {
            return Ok(None);
        };
        *budget = left;
        for stats in snap.table.stats(&batch, HOUR_NS)?.values() {
            out.merge(stats);
        }
    }
    Ok(Some(out))
}
