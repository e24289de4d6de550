//! The backend-neutral suite of session replay, written against the `Store` trait: chunks
//! of two sessions in two projects, written out of order and one of them twice, and the
//! exact pages every backend must answer. The embedded store runs it in
//! `crates/engine/tests/replay.rs`, ClickHouse in `crates/clickhouse/tests/replay.rs`.

use crate::Store;
use crate::replay::{REPLAY_PAGE_CHUNKS, ReplayChunk, ReplayQuery};

/// 2023-11-14T22:00:00Z, an hour boundary.
pub const T0: i64 = 1_699_999_200_000_000_000;
const MS: i64 = super::testkit::MS;

/// Chunk `sequence` of `session` in `project`: two rrweb-shaped events a second apart,
/// whose text names the chunk.
pub fn chunk(project: &str, session: &str, sequence: u32) -> ReplayChunk {
    let at = T0 + i64::from(sequence) * 5_000 * MS;
    let ms = at / MS;
    ReplayChunk {
        project_id: project.into(),
        session_id: session.into(),
        sequence,
        start_ns: at,
        end_ns: at + 1_000 * MS,
        event_count: 2,
        events: format!(
            r#"[{{"type":3,"timestamp":{ms},"data":{{"text":"{project}/{session}/{sequence}"}}}},{{"type":3,"timestamp":{},"data":{{}}}}]"#,
            ms + 1_000
        ),
    }
}

/// Writes the data set: session `s1` of project `p` as chunks 2, 0, 1 in three writes
/// and chunk 1 once more (a resend), session `s2` of `p`, and session `s1` of project `q`.
pub async fn load(store: &dyn Store) {
    for batch in [
        vec![chunk("p", "s1", 2)],
        vec![chunk("p", "s1", 0), chunk("p", "s2", 0)],
        vec![chunk("p", "s1", 1)],
        vec![chunk("q", "s1", 7)],
        vec![chunk("p", "s1", 1)],
    ] {
        store.write_replay(batch).await.unwrap();
    }
}

fn query(project: &str, session: &str, after: Option<u32>) -> ReplayQuery {
    ReplayQuery {
        project_id: project.into(),
        session_id: session.into(),
        after,
    }
}

async fn sequences(
    store: &dyn Store,
    project: &str,
    session: &str,
    after: Option<u32>,
) -> Vec<u32> {
    let page = store.replay(&query(project, session, after)).await.unwrap();
    assert_eq!(page.next_after, None, "{project}/{session}: one page");
    page.chunks.iter().map(|c| c.sequence).collect()
}

/// Every check of the suite; `when` names the state of the store in failure messages.
pub async fn check_all(store: &dyn Store, when: &str) {
    let page = store.replay(&query("p", "s1", None)).await.unwrap();
    let want: Vec<ReplayChunk> = (0..3).map(|i| chunk("p", "s1", i)).collect();
    assert_eq!(
        page.chunks, want,
        "[{when}] in order, the resent chunk once, as written"
    );
    assert_eq!(
        sequences(store, "p", "s1", Some(0)).await,
        vec![1, 2],
        "[{when}]"
    );
    assert!(
        sequences(store, "p", "s1", Some(2)).await.is_empty(),
        "[{when}]"
    );
    assert_eq!(sequences(store, "p", "s2", None).await, vec![0], "[{when}]");
    assert_eq!(
        sequences(store, "q", "s1", None).await,
        vec![7],
        "[{when}] project q"
    );
    assert!(
        sequences(store, "q", "s2", None).await.is_empty(),
        "[{when}] no leak"
    );
    assert!(
        sequences(store, "r", "s1", None).await.is_empty(),
        "[{when}] no leak"
    );
    assert!(
        sequences(store, "p", "s", None).await.is_empty(),
        "[{when}] exact id"
    );
}

/// A session longer than one page: pages follow `next_after` to the end, in order.
pub async fn check_paging(store: &dyn Store) {
    let n = REPLAY_PAGE_CHUNKS as u32 + 5;
    let chunks: Vec<ReplayChunk> = (0..n).map(|i| chunk("p", "long", i)).collect();
    store.write_replay(chunks).await.unwrap();
    let mut seen = Vec::new();
    let mut after = None;
    loop {
        let page = store.replay(&query("p", "long", after)).await.unwrap();
        seen.extend(page.chunks.iter().map(|c| c.sequence));
        match page.next_after {
            Some(next) => after = Some(next),
            None => break,
        }
    }
    assert_eq!(seen, (0..n).collect::<Vec<_>>());
}
