//! Retention: whole hour partitions older than the configured horizon are dropped from the
//! manifest (their files go with the parts' last readers).

use crate::error::StoreError;
use crate::storage::HOUR_NS;
use crate::table_engine::TableEngine;

impl TableEngine {
    /// Drops every partition whose hour ended before the retention horizon.
    pub(crate) async fn apply_retention(&self, now_ns: i64) -> Result<usize, StoreError> {
        let Some(retention) = self.config.retention else {
            return Ok(0);
        };
        let horizon = now_ns.saturating_sub(retention.as_nanos() as i64);
        let expired = |hour: i64| (hour + 1).saturating_mul(HOUR_NS) <= horizon;
        let mut manifest = self.manifest.lock().await;
        if !manifest.parts.iter().any(|p| expired(p.hour)) {
            return Ok(0);
        }
        let mut next = manifest.clone();
        next.parts.retain(|p| !expired(p.hour));
        self.commit_and_swap(&mut manifest, next, &[]).await
    }
}
