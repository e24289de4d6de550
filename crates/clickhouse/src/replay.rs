//! Session replay on ClickHouse: the `replay` table's rows and the read of a session's
//! chunks. The table is a `ReplacingMergeTree` keyed by project, session and sequence, so a
//! resent chunk is merged away in the background; until then the shared page rule
//! ([`replay_page`]) answers it once.

use clickhouse::{Client, Row};
use serde::{Deserialize, Serialize};
use tracehouse_store_api::replay::{REPLAY_PAGE_CHUNKS, replay_page};
use tracehouse_store_api::{ReplayChunk, ReplayPage, ReplayQuery, StoreError};

use crate::read::ch;

/// One row of the `replay` table (field names are the column names).
#[derive(Debug, Clone, Row, Serialize, Deserialize)]
pub struct ReplayRow {
    pub(crate) project_id: String,
    pub(crate) session_id: String,
    pub(crate) sequence: u32,
    pub(crate) time: i64,
    pub(crate) end_time: i64,
    pub(crate) event_count: u32,
    pub(crate) events: String,
}

impl ReplayRow {
    /// The row of a chunk.
    pub fn from_chunk(c: &ReplayChunk) -> ReplayRow {
        ReplayRow {
            project_id: c.project_id.clone(),
            session_id: c.session_id.clone(),
            sequence: c.sequence,
            time: c.start_ns,
            end_time: c.end_ns,
            event_count: c.event_count,
            events: c.events.clone(),
        }
    }

    fn into_chunk(self) -> ReplayChunk {
        ReplayChunk {
            project_id: self.project_id,
            session_id: self.session_id,
            sequence: self.sequence,
            start_ns: self.time,
            end_ns: self.end_time,
            event_count: self.event_count,
            events: self.events,
        }
    }
}

/// A page of one session's recording, read in the table's key order.
pub(crate) async fn replay(client: &Client, q: &ReplayQuery) -> Result<ReplayPage, StoreError> {
    let rows: Vec<ReplayRow> = client
        .query(
            "SELECT project_id, session_id, sequence, time, end_time, event_count, events \
             FROM replay WHERE project_id = {p:String} AND session_id = {s:String} \
             AND sequence >= {from:UInt32} ORDER BY sequence LIMIT {n:UInt64}",
        )
        .param("p", &q.project_id)
        .param("s", &q.session_id)
        .param("from", q.first_sequence())
        .param("n", REPLAY_PAGE_CHUNKS as u64)
        .fetch_all()
        .await
        .map_err(ch)?;
    Ok(replay_page(
        rows.into_iter().map(ReplayRow::into_chunk).collect(),
        q,
    ))
}
