//! The commit step every compaction, retention pass and quarantine shares: the new manifest
//! is made durable first, and only then does the in-memory part list follow it.

use std::sync::Arc;

use crate::error::StoreError;
use crate::storage::blocking;
use crate::storage::manifest::Manifest;
use crate::storage::part::Part;
use crate::table_engine::TableEngine;

impl TableEngine {
    /// Commits `next`, then makes the in-memory part list match it: parts it no longer names
    /// are retired, `added` become live. Returns how many parts were retired.
    pub(crate) async fn commit_and_swap(
        &self,
        manifest: &mut Manifest,
        next: Manifest,
        added: &[Arc<Part>],
    ) -> Result<usize, StoreError> {
        let dir = self.dirs.dir.clone();
        let to_commit = next.clone();
        blocking(move || to_commit.commit(&dir)).await?;
        let mut retired = 0;
        {
            let mut st = self.state.write();
            st.parts.retain(|p| {
                let keep = next.parts.iter().any(|m| m.id == p.meta.id);
                if !keep {
                    p.retire();
                    retired += 1;
                }
                keep
            });
            st.parts.extend(added.iter().cloned());
        }
        *manifest = next;
        Ok(retired)
    }
}
