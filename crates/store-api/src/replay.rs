//! Session replay: the chunks of recorded page events a browser sends (rrweb events, in
//! order, numbered per session), and the rule both backends answer a session's replay
//! with ([`replay_page`]): chunks in sequence order, a resent chunk counted once, pages
//! bounded in chunks and bytes.

/// Most chunks a store reads for one page of a session's replay.
pub const REPLAY_PAGE_CHUNKS: usize = 200;

/// Most bytes of event text one page of a session's replay holds (one chunk more when the
/// first alone is larger).
pub const REPLAY_PAGE_BYTES: usize = 8 << 20;

/// One chunk of a session's recording, as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReplayChunk {
    /// The project.
    pub project_id: String,
    /// The browser session the chunk belongs to.
    pub session_id: String,
    /// The chunk's number in its session, from 0; a chunk sent again has the same one.
    pub sequence: u32,
    /// The first event's time, ns (the chunk's place in time, partitions and retention).
    pub start_ns: i64,
    /// The last event's time, ns.
    pub end_ns: i64,
    /// How many events the chunk holds.
    pub event_count: u32,
    /// The events, as the JSON array text they arrived as (re-serialised once, validated).
    pub events: String,
}

/// A request for a page of one session's replay.
#[derive(Debug, Clone)]
pub struct ReplayQuery {
    /// The project.
    pub project_id: String,
    /// The session.
    pub session_id: String,
    /// Only chunks numbered after this one (the previous page's `next_after`).
    pub after: Option<u32>,
}

impl ReplayQuery {
    /// The lowest sequence number the page may hold.
    pub fn first_sequence(&self) -> u32 {
        self.after.map_or(0, |a| a.saturating_add(1))
    }
}

/// A page of one session's replay: chunks in sequence order, each number once.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ReplayPage {
    /// The chunks, by sequence number.
    pub chunks: Vec<ReplayChunk>,
    /// Set when more chunks may follow: pass it as `after` for the next page.
    pub next_after: Option<u32>,
}

/// The page a store answers from the rows it read for `q` (at most
/// [`REPLAY_PAGE_CHUNKS`] rows of the project and session numbered from
/// `q.first_sequence()`, in any order, possibly with a chunk stored twice by a resend):
/// sorted by sequence, each number once, cut at [`REPLAY_PAGE_BYTES`] of event text.
/// `next_after` is set when the page was cut or the store read a full page of rows.
pub fn replay_page(mut rows: Vec<ReplayChunk>, q: &ReplayQuery) -> ReplayPage {
    let read_full = rows.len() >= REPLAY_PAGE_CHUNKS;
    rows.retain(|c| {
        c.project_id == q.project_id
            && c.session_id == q.session_id
            && c.sequence >= q.first_sequence()
    });
    rows.sort_by_key(|c| c.sequence);
    rows.dedup_by_key(|c| c.sequence);
    let mut bytes = 0usize;
    let mut kept = 0usize;
    for c in &rows {
        if kept > 0 && bytes + c.events.len() > REPLAY_PAGE_BYTES {
            break;
        }
        bytes += c.events.len();
        kept += 1;
    }
    let cut = kept < rows.len();
    rows.truncate(kept);
    let next_after = if cut || read_full {
        rows.last().map(|c| c.sequence)
    } else {
        None
    };
    ReplayPage {
        chunks: rows,
        next_after,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chunk(sequence: u32, bytes: usize) -> ReplayChunk {
        ReplayChunk {
            project_id: "p".into(),
            session_id: "s".into(),
            sequence,
            start_ns: i64::from(sequence),
            end_ns: i64::from(sequence),
            event_count: 1,
            events: "x".repeat(bytes),
        }
    }

    fn query(after: Option<u32>) -> ReplayQuery {
        ReplayQuery {
            project_id: "p".into(),
            session_id: "s".into(),
            after,
        }
    }

    #[test]
    fn chunks_come_in_order_once() {
        let rows = vec![chunk(2, 1), chunk(0, 1), chunk(2, 1), chunk(1, 1)];
        let page = replay_page(rows, &query(None));
        let seqs: Vec<u32> = page.chunks.iter().map(|c| c.sequence).collect();
        assert_eq!(seqs, vec![0, 1, 2]);
        assert_eq!(page.next_after, None);
        let page = replay_page(vec![chunk(0, 1), chunk(1, 1)], &query(Some(0)));
        assert_eq!(page.chunks.len(), 1);
        assert_eq!(page.chunks[0].sequence, 1);
    }

    #[test]
    fn pages_are_cut_by_bytes_and_by_rows_read() {
        let big = REPLAY_PAGE_BYTES / 2 + 1;
        let page = replay_page(vec![chunk(0, big), chunk(1, big)], &query(None));
        assert_eq!(page.chunks.len(), 1);
        assert_eq!(page.next_after, Some(0));
        let alone = replay_page(vec![chunk(5, REPLAY_PAGE_BYTES * 2)], &query(Some(4)));
        assert_eq!(alone.chunks.len(), 1, "one chunk always fits");
        assert_eq!(alone.next_after, None);
        let full: Vec<ReplayChunk> = (0..REPLAY_PAGE_CHUNKS as u32)
            .map(|i| chunk(i, 1))
            .collect();
        let page = replay_page(full, &query(None));
        assert_eq!(page.next_after, Some(REPLAY_PAGE_CHUNKS as u32 - 1));
    }
}
