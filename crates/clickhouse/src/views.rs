//! Saved views in the `saved_views` table (migration 7): a write inserts the view's JSON
//! with a version (ns at the write), a deletion inserts a tombstone; reads take the latest
//! row of each name with `FINAL`. Every value is a server-side parameter.

use std::hash::{DefaultHasher, Hash, Hasher};
use std::time::{SystemTime, UNIX_EPOCH};

use clickhouse::{Client, Row, RowOwned, RowWrite};
use serde::{Deserialize, Serialize};
use tracehouse_store_api::{SavedView, StoreError};

use crate::ClickHouseConfig;
use crate::read::ch;
use crate::sql::Params;

/// One row of `saved_views`.
#[derive(Debug, Row, Serialize, Deserialize)]
struct ViewRow {
    project_id: String,
    name: String,
    view: String,
    deleted: bool,
    version: u64,
}

/// The project's views, by name.
pub(crate) async fn list(client: &Client, project_id: &str) -> Result<Vec<SavedView>, StoreError> {
    let mut p = Params::default();
    let sql = format!(
        "SELECT view FROM saved_views FINAL WHERE project_id = {} AND NOT deleted ORDER BY name",
        p.str(project_id)
    );
    let rows: Vec<String> = p.bind(client.query(&sql)).fetch_all().await.map_err(ch)?;
    rows.iter()
        .map(|v| serde_json::from_str(v).map_err(StoreError::from))
        .collect()
}

/// Saves a view, replacing one of the same name.
pub(crate) async fn put(
    client: &Client,
    config: &ClickHouseConfig,
    project_id: &str,
    view: SavedView,
) -> Result<(), StoreError> {
    let row = ViewRow {
        project_id: project_id.to_string(),
        name: view.name.clone(),
        view: serde_json::to_string(&view)?,
        deleted: false,
        version: version(),
    };
    insert(client, config, &row).await
}

/// Deletes a view; false when there was none.
pub(crate) async fn delete(
    client: &Client,
    config: &ClickHouseConfig,
    project_id: &str,
    name: &str,
) -> Result<bool, StoreError> {
    if !list(client, project_id)
        .await?
        .iter()
        .any(|v| v.name == name)
    {
        return Ok(false);
    }
    let row = ViewRow {
        project_id: project_id.to_string(),
        name: name.to_string(),
        view: String::new(),
        deleted: true,
        version: version(),
    };
    insert(client, config, &row).await.map(|()| true)
}

/// The version of a write: ns since the epoch, so the latest write of a key wins.
pub(crate) fn version() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_nanos()).unwrap_or(u64::MAX))
}

/// Inserts one row, retried like every insert, with a token of its own (the table, the
/// row's `key` and `version`) so a retry is stored once.
pub(crate) async fn insert_row<T: RowOwned + RowWrite>(
    client: &Client,
    config: &ClickHouseConfig,
    table: &str,
    key: impl Hash,
    version: u64,
    row: &T,
) -> Result<(), StoreError> {
    let mut hasher = DefaultHasher::new();
    key.hash(&mut hasher);
    let token = format!("{table}-{:016x}-{version}", hasher.finish());
    crate::insert_with_retry(client, config, table, &[row], &token)
        .await
        .map_err(StoreError::from)
}

/// Inserts a row of `saved_views`.
async fn insert(
    client: &Client,
    config: &ClickHouseConfig,
    row: &ViewRow,
) -> Result<(), StoreError> {
    let key = (&row.project_id, &row.name);
    insert_row(client, config, "saved_views", key, row.version, row).await
}
