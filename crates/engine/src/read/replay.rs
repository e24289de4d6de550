//! Session replay over a snapshot of the replay table: a page of one session's chunks, and
//! which of the chunks a write brings are stored already (so that a resent chunk is stored
//! once). The page rule itself is [`tracehouse_store_api::replay::replay_page`].

use std::collections::HashSet;

use datafusion::prelude::{Expr, col, lit};
use tracehouse_store_api::replay::{REPLAY_PAGE_CHUNKS, replay_page};
use tracehouse_store_api::{ReplayChunk, ReplayPage, ReplayQuery};

use crate::error::StoreError;
use crate::read::query::{Snapshot, project_is};
use crate::storage::replay_rows::batch_to_chunks;
use crate::storage::schema::col as c;

/// A page of one session's recording.
pub(crate) async fn replay(snap: &Snapshot, q: &ReplayQuery) -> Result<ReplayPage, StoreError> {
    let parts = snap.parts_in(&q.project_id, i64::MIN, i64::MAX);
    let filter = project_is(&q.project_id)
        .and(col(c::SESSION_ID).eq(lit(q.session_id.as_str())))
        .and(col(c::SEQUENCE).gt_eq(lit(q.first_sequence())));
    let sort = vec![col(c::SEQUENCE).sort(true, false)];
    let mut rows = Vec::new();
    for batch in snap
        .rows(&parts, filter, sort, Some(REPLAY_PAGE_CHUNKS))
        .await?
    {
        rows.extend(batch_to_chunks(&batch)?);
    }
    Ok(replay_page(rows, q))
}

/// The chunks of `chunks` that are not stored yet (nor repeated earlier in `chunks`).
/// A chunk sent again carries the same first event, so it is looked for only in the
/// partitions its time places it in.
pub(crate) async fn unstored(
    snap: &Snapshot,
    chunks: &[ReplayChunk],
) -> Result<Vec<ReplayChunk>, StoreError> {
    let mut seen: HashSet<(String, String, u32)> = HashSet::new();
    let mut projects: Vec<&str> = chunks.iter().map(|c| c.project_id.as_str()).collect();
    projects.sort_unstable();
    projects.dedup();
    for project in projects {
        let of_project = || chunks.iter().filter(|c| c.project_id == project);
        let start = of_project().map(|c| c.start_ns).min().unwrap_or(i64::MIN);
        let end = of_project().map(|c| c.start_ns).max().unwrap_or(i64::MAX);
        let parts = snap.parts_in(project, start, end.saturating_add(1));
        let filter = project_is(project)
            .and(in_list(
                c::SESSION_ID,
                of_project().map(|c| lit(c.session_id.as_str())),
            ))
            .and(in_list(c::SEQUENCE, of_project().map(|c| lit(c.sequence))));
        let projection = [c::SESSION_ID, c::SEQUENCE];
        for batch in snap.columns(&parts, filter, &projection).await? {
            let cols = crate::storage::schema::Columns(&batch);
            let (sessions, sequences) = (cols.str(c::SESSION_ID)?, cols.u32(c::SEQUENCE)?);
            for i in 0..batch.num_rows() {
                let key = (
                    project.to_string(),
                    sessions.value(i).to_string(),
                    sequences.value(i),
                );
                seen.insert(key);
            }
        }
    }
    Ok(chunks
        .iter()
        .filter(|c| seen.insert((c.project_id.clone(), c.session_id.clone(), c.sequence)))
        .cloned()
        .collect())
}

fn in_list(column: &str, values: impl Iterator<Item = Expr>) -> Expr {
    col(column).in_list(values.collect(), false)
}
