//! Saved views on disk: one JSON file, `views.json` in the data directory, holding every
//! project's views. A change is durable before it is answered: the whole file is written
//! to `views.json.tmp`, fsynced, renamed over the old one and the directory fsynced. The
//! file is small (at most `MAX_VIEWS_PER_PROJECT` bounded views per project).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use tracehouse_store_api::SavedView;

use super::{read_json, replace_file};
use crate::error::StoreError;

const FILE: &str = "views.json";

/// Views by project, then by name.
type Views = BTreeMap<String, BTreeMap<String, SavedView>>;

/// The saved views of a data directory, as committed.
#[derive(Debug)]
pub(crate) struct ViewFile {
    dir: PathBuf,
    views: Views,
}

impl ViewFile {
    /// Reads the views of `dir` (none when the file does not exist); a file that does not
    /// decode is an error, never an empty list.
    pub(crate) fn open(dir: &Path) -> Result<Self, StoreError> {
        let views = read_json(dir, FILE, "saved views")?;
        Ok(ViewFile {
            dir: dir.to_path_buf(),
            views,
        })
    }

    /// The project's views by name.
    pub(crate) fn list(&self, project_id: &str) -> Vec<SavedView> {
        self.views
            .get(project_id)
            .map(|v| v.values().cloned().collect())
            .unwrap_or_default()
    }

    /// Saves a view durably, replacing one of the same name.
    pub(crate) fn put(&mut self, project_id: &str, view: SavedView) -> Result<(), StoreError> {
        let mut next = self.views.clone();
        next.entry(project_id.to_string())
            .or_default()
            .insert(view.name.clone(), view);
        self.commit(next)
    }

    /// Deletes a view durably; false when there was none.
    pub(crate) fn delete(&mut self, project_id: &str, name: &str) -> Result<bool, StoreError> {
        let mut next = self.views.clone();
        let Some(project) = next.get_mut(project_id) else {
            return Ok(false);
        };
        if project.remove(name).is_none() {
            return Ok(false);
        }
        if project.is_empty() {
            next.remove(project_id);
        }
        self.commit(next).map(|()| true)
    }

    /// Writes `views` atomically and durably, then makes them the current ones.
    fn commit(&mut self, views: Views) -> Result<(), StoreError> {
        replace_file(&self.dir, FILE, &serde_json::to_vec(&views)?)?;
        self.views = views;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use std::fs;

    use tracehouse_store_api::testsuite::views::view;

    use super::*;

    #[test]
    fn views_survive_a_reopen_and_a_bad_file_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let mut file = ViewFile::open(dir.path()).unwrap();
        file.put("p", view("b", "x")).unwrap();
        file.put("p", view("a", "y")).unwrap();
        assert!(file.delete("p", "b").unwrap());
        assert!(!file.delete("q", "a").unwrap());
        let again = ViewFile::open(dir.path()).unwrap();
        assert_eq!(again.list("p"), vec![view("a", "y")]);
        assert_eq!(again.list("q"), vec![]);
        fs::write(dir.path().join(FILE), b"{not json").unwrap();
        assert!(matches!(
            ViewFile::open(dir.path()),
            Err(StoreError::Corrupt(_))
        ));
    }
}
