//! Autocomplete's statistics of a range, exact: the whole hours inside it from the key and
//! value statistics, the partial hours at its edges tallied from their rows the way the
//! statistics are, or their hour's statistics less the rows of the rest of the hour when
//! that is shorter to read ([`HourSplit`]).

use datafusion::prelude::{Expr, col, lit};
use futures::StreamExt;
use tracehouse_store_api::stats::{HourSplit, KeyStats, MAX_SCANNED_RECORDS, MINUTE_NS};

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
            let (a, b) = HourSplit::hour_of(edge);
            let mut hour = self.stats_in(project_id, a, b);
            let rest = HourSplit::rest_of(edge);
            let ranges = rest.clone().unwrap_or_else(|| vec![edge]);
            let scanned = if rows_at_least(&hour, &ranges) > budget {
                None
            } else if none_in(&hour, &ranges) {
                Some((KeyStats::default(), 0))
            } else {
                tally_rows(&snap, project_id, &ranges, budget).await?
            };
            match scanned {
                Some((stats, rows)) if rest.is_some() => {
                    budget -= rows;
                    hour.remove(&stats);
                    out.merge(&hour);
                }
                Some((stats, rows)) => {
                    budget -= rows;
                    out.merge(&stats);
                }
                None => out.merge(&hour),
            }
        }
        Ok(out)
    }
}

/// Spans `stats` count in the whole minutes of `ranges` (none for logs, whose statistics
/// do not count minutes): a lower bound of their rows, known without reading them.
fn rows_at_least(stats: &KeyStats, ranges: &[(i64, i64)]) -> u64 {
    let whole_minutes = |(start, end): (i64, i64)| {
        let first = start.div_euclid(MINUTE_NS) + i64::from(start.rem_euclid(MINUTE_NS) != 0);
        first..end.div_euclid(MINUTE_NS).max(first)
    };
    ranges
        .iter()
        .flat_map(|r| stats.minutes.range(whole_minutes(*r)))
        .map(|(_, c)| c.spans)
        .sum()
}

/// Whether the per-minute span counts of `stats` prove that no row starts in `ranges`
/// (spans only, whose statistics count every row by minute: the future rest of the hour of a
/// window ending now).
fn none_in(stats: &KeyStats, ranges: &[(i64, i64)]) -> bool {
    let rows = stats.keys.get("i:timestamp").map_or(0, |e| e.count);
    let minutes =
        |(start, end): (i64, i64)| start.div_euclid(MINUTE_NS)..=(end - 1).div_euclid(MINUTE_NS);
    stats.minute_total() == rows
        && ranges
            .iter()
            .all(|r| stats.minutes.range(minutes(*r)).all(|(_, c)| c.spans == 0))
}

/// The statistics of the rows of `project_id` in `ranges` (within one hour) and how many rows
/// they count, or `None` when they are more than `budget`.
async fn tally_rows(
    snap: &Snapshot,
    project_id: &str,
    ranges: &[(i64, i64)],
    budget: u64,
) -> Result<Option<(KeyStats, u64)>, StoreError> {
    let time = snap.table.time_column();
    let within = ranges
        .iter()
        .map(|(a, b)| col(time).gt_eq(lit(*a)).and(col(time).lt(lit(*b))))
        .reduce(Expr::or)
        .unwrap_or(lit(false));
    let filter = project_is(project_id).and(within);
    let start = ranges.iter().map(|r| r.0).min().unwrap_or(0);
    let end = ranges.iter().map(|r| r.1).max().unwrap_or(0);
    let parts = snap.parts_in(project_id, start, end);
    let (_ctx, df) = snap.frame(&parts).await?;
    let mut batches = df
        .filter(filter)
        .engine()?
        .select_columns(snap.table.stats_columns())
        .engine()?
        .execute_stream()
        .await
        .engine()?;
    let (mut out, mut rows) = (KeyStats::default(), 0);
    while let Some(batch) = batches.next().await {
        let batch = batch.engine()?;
        rows += batch.num_rows() as u64;
        if rows > budget {
            return Ok(None);
        }
        for stats in snap.table.stats(&batch, HOUR_NS)?.values() {
            out.merge(stats);
        }
    }
    Ok(Some((out, rows)))
}
