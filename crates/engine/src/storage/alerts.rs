//! Alert rules, their states and their histories on disk: one JSON file, `alerts.json` in the
//! data directory, replaced atomically and fsynced on every change like `views.json`. It
//! stays small: at most `MAX_RULES_PER_PROJECT` rules per project, a state per rule and
//! `MAX_HISTORY_PER_RULE` history entries per rule (the oldest are dropped).

use std::collections::{BTreeMap, VecDeque};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use tracehouse_store_api::alerts::MAX_HISTORY_PER_RULE;
use tracehouse_store_api::{AlertEvent, AlertRule, AlertState};

use super::{read_json, replace_file};
use crate::error::StoreError;

const FILE: &str = "alerts.json";

/// By project, then by rule id.
type ByRule<T> = BTreeMap<String, BTreeMap<String, T>>;

/// What `alerts.json` holds.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
struct Alerts {
    rules: ByRule<AlertRule>,
    states: ByRule<AlertState>,
    /// Oldest first.
    history: ByRule<VecDeque<AlertEvent>>,
}

/// The alerts of a data directory, as committed.
#[derive(Debug)]
pub(crate) struct AlertFile {
    dir: PathBuf,
    alerts: Alerts,
}

impl AlertFile {
    /// Reads the alerts of `dir` (none when the file does not exist); a file that does not
    /// decode is an error, never an empty list.
    pub(crate) fn open(dir: &Path) -> Result<Self, StoreError> {
        Ok(AlertFile {
            dir: dir.to_path_buf(),
            alerts: read_json(dir, FILE, "alert rules")?,
        })
    }

    /// The project's rules by id.
    pub(crate) fn rules(&self, project_id: &str) -> Vec<AlertRule> {
        values(&self.alerts.rules, project_id)
    }

    /// The project's rule states by rule id.
    pub(crate) fn states(&self, project_id: &str) -> Vec<AlertState> {
        values(&self.alerts.states, project_id)
    }

    /// A rule's history, newest first.
    pub(crate) fn history(&self, project_id: &str, rule_id: &str, limit: usize) -> Vec<AlertEvent> {
        self.alerts
            .history
            .get(project_id)
            .and_then(|p| p.get(rule_id))
            .map(|h| h.iter().rev().take(limit).cloned().collect())
            .unwrap_or_default()
    }

    /// Saves a rule durably, replacing one of the same id.
    pub(crate) fn put_rule(&mut self, project_id: &str, rule: AlertRule) -> Result<(), StoreError> {
        self.change(|a| {
            entry(&mut a.rules, project_id).insert(rule.id.clone(), rule);
            true
        })
    }

    /// Deletes a rule and its state durably; false when there was none.
    pub(crate) fn delete_rule(&mut self, project_id: &str, id: &str) -> Result<bool, StoreError> {
        let mut found = false;
        self.change(|a| {
            found = entry(&mut a.rules, project_id).remove(id).is_some();
            entry(&mut a.states, project_id).remove(id);
            found
        })?;
        Ok(found)
    }

    /// Saves a rule's state durably.
    pub(crate) fn put_state(
        &mut self,
        project_id: &str,
        state: AlertState,
    ) -> Result<(), StoreError> {
        self.change(|a| {
            entry(&mut a.states, project_id).insert(state.rule_id.clone(), state);
            true
        })
    }

    /// Appends history entries durably, keeping the newest `MAX_HISTORY_PER_RULE` per rule.
    pub(crate) fn add_events(
        &mut self,
        project_id: &str,
        events: Vec<AlertEvent>,
    ) -> Result<(), StoreError> {
        self.change(|a| {
            let history = entry(&mut a.history, project_id);
            for event in events {
                let rule = history.entry(event.rule_id.clone()).or_default();
                rule.push_back(event);
                while rule.len() > MAX_HISTORY_PER_RULE {
                    rule.pop_front();
                }
            }
            true
        })
    }

    /// Applies `f` to a copy and commits it when `f` says it changed something; the
    /// current alerts change only once the copy is durable.
    fn change(&mut self, f: impl FnOnce(&mut Alerts) -> bool) -> Result<(), StoreError> {
        let mut next = self.alerts.clone();
        if !f(&mut next) {
            return Ok(());
        }
        prune(&mut next.rules);
        prune(&mut next.states);
        prune(&mut next.history);
        replace_file(&self.dir, FILE, &serde_json::to_vec(&next)?)?;
        self.alerts = next;
        Ok(())
    }
}

/// The values of a project's map, by key.
fn values<T: Clone>(map: &ByRule<T>, project_id: &str) -> Vec<T> {
    map.get(project_id)
        .map(|p| p.values().cloned().collect())
        .unwrap_or_default()
}

/// A project's map, created when missing.
fn entry<'a, T>(map: &'a mut ByRule<T>, project_id: &str) -> &'a mut BTreeMap<String, T> {
    map.entry(project_id.to_string()).or_default()
}

/// Drops the projects left without entries.
fn prune<T>(map: &mut ByRule<T>) {
    map.retain(|_, p| !p.is_empty());
}

#[cfg(test)]
mod tests {
    use tracehouse_store_api::testsuite::alerts::{event, rule, state};

    use super::*;

    #[test]
    fn alerts_survive_a_reopen_and_a_bad_file_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let mut file = AlertFile::open(dir.path()).unwrap();
        file.put_rule("p", rule("a")).unwrap();
        file.put_rule("p", rule("b")).unwrap();
        file.put_state("p", state("b")).unwrap();
        for i in 0..MAX_HISTORY_PER_RULE + 3 {
            file.add_events("p", vec![event("a", i as i64)]).unwrap();
        }
        assert!(file.delete_rule("p", "b").unwrap());
        assert!(!file.delete_rule("q", "a").unwrap());
        let again = AlertFile::open(dir.path()).unwrap();
        assert_eq!(again.rules("p"), vec![rule("a")]);
        assert_eq!(again.states("p"), vec![]);
        let history = again.history("p", "a", 2);
        let newest = (MAX_HISTORY_PER_RULE + 2) as i64;
        assert_eq!(history, vec![event("a", newest), event("a", newest - 1)]);
        assert_eq!(
            again.history("p", "a", usize::MAX).len(),
            MAX_HISTORY_PER_RULE
        );
        assert_eq!(again.rules("q"), vec![]);
        std::fs::write(dir.path().join(FILE), b"{not json").unwrap();
        assert!(matches!(
            AlertFile::open(dir.path()),
            Err(StoreError::Corrupt(_))
        ));
    }
}
