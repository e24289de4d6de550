//! Damaged parts at run time: when a read or a merge fails on data that does not decode,
//! the parts it may have touched are verified page by page (once per part) and the damaged
//! ones are quarantined and dropped from the manifest, so one bad part costs its own rows.

use std::sync::Arc;

use crate::error::StoreError;
use crate::storage::blocking;
use crate::storage::manifest::Manifest;
use crate::storage::part::Part;
use crate::storage::quarantine;
use crate::table_engine::TableEngine;

impl TableEngine {
    /// Verifies (decoding every page, once per part) the live parts `selected` picks, and
    /// quarantines those that are damaged; returns how many were.
    pub(crate) async fn quarantine_damaged(
        &self,
        selected: &(dyn Fn(&Part) -> bool + Sync),
    ) -> Result<usize, StoreError> {
        let mut manifest = self.manifest.lock().await;
        self.quarantine_locked(&mut manifest, selected).await
    }

    pub(crate) async fn quarantine_locked(
        &self,
        manifest: &mut Manifest,
        selected: &(dyn Fn(&Part) -> bool + Sync),
    ) -> Result<usize, StoreError> {
        let candidates: Vec<Arc<Part>> = {
            let st = self.state.read();
            st.parts
                .iter()
                .filter(|p| !p.is_verified() && selected(p))
                .cloned()
                .collect()
        };
        let (table, dir) = (self.table, self.dirs.dir.clone());
        let found = blocking(move || {
            let mut found = Vec::new();
            for part in candidates {
                match part.verify_data() {
                    Ok(()) => part.mark_verified(),
                    Err(e) if e.is_damage() => {
                        found.push(quarantine::quarantine_part(
                            table,
                            &dir,
                            &part.meta,
                            &e.to_string(),
                        )?);
                    }
                    Err(e) => return Err(e),
                }
            }
            Ok(found)
        })
        .await?;
        if found.is_empty() {
            return Ok(0);
        }
        let mut next = manifest.clone();
        next.parts
            .retain(|m| !found.iter().any(|q| q.part_id == m.id));
        self.commit_and_swap(manifest, next, &[]).await?;
        let count = found.len();
        self.quarantined.lock().extend(found);
        Ok(count)
    }
}
