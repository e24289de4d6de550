//! Alerts in three tables (migration 11). `alert_docs` holds rules and rule states as JSON
//! (`kind` `rule` or `state`), a `ReplacingMergeTree` like `saved_views`: the latest row of
//! a key wins, deletions are tombstones, reads use `FINAL`. `alert_history` is append-only,
//! read newest first. `alert_lease` is the evaluator's lease: one row per lease name, the
//! latest version wins (see [`lease`]). Every value is a server-side parameter.

use clickhouse::{Client, Row};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use tracehouse_store_api::{AlertEvent, StoreError};

use crate::ClickHouseConfig;
use crate::read::ch;
use crate::sql::Params;
use crate::views::{insert_row, version};

/// What an `alert_docs` row holds.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Doc {
    /// An `AlertRule`.
    Rule,
    /// An `AlertState`.
    State,
}

impl Doc {
    fn kind(self) -> &'static str {
        match self {
            Doc::Rule => "rule",
            Doc::State => "state",
        }
    }
}

/// One row of `alert_docs`.
#[derive(Debug, Row, Serialize, Deserialize)]
struct DocRow {
    project_id: String,
    kind: String,
    id: String,
    doc: String,
    deleted: bool,
    version: u64,
}

/// One row of `alert_history`.
#[derive(Debug, Row, Serialize, Deserialize)]
struct EventRow {
    project_id: String,
    rule_id: String,
    at_ns: i64,
    event: String,
}

/// One row of `alert_lease`.
#[derive(Debug, Row, Serialize, Deserialize)]
struct LeaseRow {
    name: String,
    holder: String,
    expires_ns: i64,
    version: u64,
}

/// The project's documents of a kind, by id.
pub(crate) async fn list<T: DeserializeOwned>(
    client: &Client,
    project_id: &str,
    doc: Doc,
) -> Result<Vec<T>, StoreError> {
    let mut p = Params::default();
    let sql = format!(
        "SELECT doc FROM alert_docs FINAL WHERE project_id = {} AND kind = {} AND NOT deleted \
         ORDER BY id",
        p.str(project_id),
        p.str(doc.kind())
    );
    let rows: Vec<String> = p.bind(client.query(&sql)).fetch_all().await.map_err(ch)?;
    rows.iter()
        .map(|v| serde_json::from_str(v).map_err(StoreError::from))
        .collect()
}

/// Saves a document (`None`: a tombstone), replacing the one of the same id.
pub(crate) async fn put<T: Serialize>(
    client: &Client,
    config: &ClickHouseConfig,
    project_id: &str,
    doc: Doc,
    id: &str,
    value: Option<&T>,
) -> Result<(), StoreError> {
    let row = DocRow {
        project_id: project_id.to_string(),
        kind: doc.kind().to_string(),
        id: id.to_string(),
        doc: value
            .map(serde_json::to_string)
            .transpose()?
            .unwrap_or_default(),
        deleted: value.is_none(),
        version: version(),
    };
    let key = (&row.project_id, &row.kind, &row.id);
    insert_row(client, config, "alert_docs", key, row.version, &row).await
}

/// Appends history entries.
pub(crate) async fn add_events(
    client: &Client,
    config: &ClickHouseConfig,
    project_id: &str,
    events: Vec<AlertEvent>,
) -> Result<(), StoreError> {
    for e in events {
        let row = EventRow {
            project_id: project_id.to_string(),
            rule_id: e.rule_id.clone(),
            at_ns: e.at_ns,
            event: serde_json::to_string(&e)?,
        };
        let key = (&row.project_id, &row.event);
        insert_row(client, config, "alert_history", key, version(), &row).await?;
    }
    Ok(())
}

/// A rule's history, newest first.
pub(crate) async fn history(
    client: &Client,
    project_id: &str,
    rule_id: &str,
    limit: usize,
) -> Result<Vec<AlertEvent>, StoreError> {
    let mut p = Params::default();
    let sql = format!(
        "SELECT event FROM alert_history WHERE project_id = {} AND rule_id = {} \
         ORDER BY at_ns DESC LIMIT {limit}",
        p.str(project_id),
        p.str(rule_id),
    );
    let rows: Vec<String> = p.bind(client.query(&sql)).fetch_all().await.map_err(ch)?;
    rows.iter()
        .map(|v| serde_json::from_str(v).map_err(StoreError::from))
        .collect()
}

/// The lease every server of a ClickHouse competes for.
const LEASE: &str = "alert-evaluator";

/// Takes or renews the evaluator's lease for `holder`. A server reads the lease; if another
/// holder's is unexpired it is not the evaluator. Otherwise it writes its own row (a newer
/// version) and reads the lease back: it holds the lease when the latest row is its own.
/// Two servers that find it expired at the same moment both write, and both read back the
/// newer row: the one that read before the other wrote evaluates one round too, then finds
/// the other's unexpired lease. So at most one extra round is evaluated twice, at a
/// takeover.
pub(crate) async fn lease(
    client: &Client,
    config: &ClickHouseConfig,
    holder: &str,
    now_ns: i64,
    ttl_ns: i64,
) -> Result<bool, StoreError> {
    if let Some(current) = read_lease(client).await?
        && current.holder != holder
        && current.expires_ns > now_ns
    {
        return Ok(false);
    }
    let row = LeaseRow {
        name: LEASE.to_string(),
        holder: holder.to_string(),
        expires_ns: now_ns.saturating_add(ttl_ns),
        version: version(),
    };
    insert_row(
        client,
        config,
        "alert_lease",
        (LEASE, holder),
        row.version,
        &row,
    )
    .await?;
    Ok(read_lease(client)
        .await?
        .is_some_and(|current| current.holder == holder))
}

/// The latest row of the lease.
async fn read_lease(client: &Client) -> Result<Option<LeaseRow>, StoreError> {
    let mut p = Params::default();
    let sql = format!(
        "SELECT name, holder, expires_ns, version FROM alert_lease FINAL WHERE name = {}",
        p.str(LEASE)
    );
    p.bind(client.query(&sql))
        .fetch_optional::<LeaseRow>()
        .await
        .map_err(ch)
}
