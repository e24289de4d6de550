//! Saved views: a named search of one project (its query, time range and columns), kept by
//! the store so that it survives restarts and can be shared by name. The bounds and checks
//! are here, once: [`SavedView::check`] and [`check_room`], which `Store::save_view` applies
//! before a backend's `put_view`.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::StoreError;

/// Most views one project keeps.
pub const MAX_VIEWS_PER_PROJECT: usize = 500;
/// Longest view name, in bytes.
pub const MAX_NAME_LEN: usize = 200;
/// Longest saved query, in bytes.
pub const MAX_QUERY_LEN: usize = 10_000;
/// Most columns of a view.
pub const MAX_COLUMNS: usize = 64;
/// Longest column, range, start or end, in bytes.
pub const MAX_FIELD_LEN: usize = 256;

/// A saved search of one project.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct SavedView {
    /// The view's name, unique in its project (1 to 200 bytes, no control characters).
    pub name: String,
    /// The query, in the tracehouse query language (empty: everything).
    #[serde(default)]
    #[schema(required = true)]
    pub query: String,
    /// A relative range as the search page writes it (`15m`, `1h`, `24h`), or empty when
    /// `start` and `end` give the window.
    #[serde(default)]
    #[schema(required = true)]
    pub range: String,
    /// Start of an absolute window (RFC 3339 or ns), or empty.
    #[serde(default)]
    #[schema(required = true)]
    pub start: String,
    /// End of an absolute window (RFC 3339 or ns), or empty.
    #[serde(default)]
    #[schema(required = true)]
    pub end: String,
    /// The result columns shown, in order (the search page's column ids).
    #[serde(default)]
    #[schema(required = true)]
    pub columns: Vec<String>,
    /// When the view was saved, ns since the Unix epoch (set by the server).
    #[serde(default)]
    #[schema(required = true)]
    pub saved_ns: i64,
}

impl SavedView {
    /// Refuses a view outside the bounds, saying which field and why.
    pub fn check(&self) -> Result<(), StoreError> {
        let bad = |m: String| Err(StoreError::InvalidArgument(m));
        if self.name.trim().is_empty() || self.name.len() > MAX_NAME_LEN {
            return bad(format!("a view name has 1 to {MAX_NAME_LEN} bytes"));
        }
        if self.name.chars().any(char::is_control) {
            return bad("a view name has no control characters".into());
        }
        if self.query.len() > MAX_QUERY_LEN {
            return bad(format!("a view's query has at most {MAX_QUERY_LEN} bytes"));
        }
        if self.columns.len() > MAX_COLUMNS {
            return bad(format!("a view has at most {MAX_COLUMNS} columns"));
        }
        let fields = [&self.range, &self.start, &self.end];
        if fields
            .into_iter()
            .chain(&self.columns)
            .any(|f| f.len() > MAX_FIELD_LEN)
        {
            return bad(format!(
                "a view's range, start, end and columns have at most {MAX_FIELD_LEN} bytes each"
            ));
        }
        Ok(())
    }
}

/// Refuses a new name when the project already keeps [`MAX_VIEWS_PER_PROJECT`] views
/// (replacing a view of the same name is always allowed).
pub fn check_room(existing: &[SavedView], name: &str) -> Result<(), StoreError> {
    if existing.len() >= MAX_VIEWS_PER_PROJECT && !existing.iter().any(|v| v.name == name) {
        return Err(StoreError::InvalidArgument(format!(
            "a project keeps at most {MAX_VIEWS_PER_PROJECT} views: delete one first"
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn view(name: &str) -> SavedView {
        SavedView {
            name: name.into(),
            query: "service:web".into(),
            range: "1h".into(),
            start: String::new(),
            end: String::new(),
            columns: vec!["time".into()],
            saved_ns: 1,
        }
    }

    #[test]
    fn bounds_are_checked() {
        assert!(view("errors of web").check().is_ok());
        for bad in [
            view(""),
            view(" "),
            view(&"n".repeat(MAX_NAME_LEN + 1)),
            view("a\nb"),
            SavedView {
                query: "q".repeat(MAX_QUERY_LEN + 1),
                ..view("q")
            },
            SavedView {
                columns: vec!["c".into(); MAX_COLUMNS + 1],
                ..view("c")
            },
            SavedView {
                range: "r".repeat(MAX_FIELD_LEN + 1),
                ..view("r")
            },
        ] {
            assert!(
                matches!(bad.check(), Err(StoreError::InvalidArgument(_))),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn a_full_project_only_replaces() {
        let full: Vec<SavedView> = (0..MAX_VIEWS_PER_PROJECT)
            .map(|i| view(&i.to_string()))
            .collect();
        assert!(check_room(&full, "7").is_ok());
        assert!(check_room(&full, "new").is_err());
        assert!(check_room(&full[1..], "new").is_ok());
    }
}
