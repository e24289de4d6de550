//! Parse errors that point at the offending characters and say what was expected.

use serde::{Deserialize, Serialize};

/// A query that could not be parsed.
///
/// `start` and `end` are byte offsets into the query text (`start <= end`); an error
/// about something missing at the end of the query has `start == end == query.len()`.
/// `expected` lists what would have been accepted at that point, in human words
/// (for example ``"`)`"`` or `"a value"`), and may be empty.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
#[error("{message} (at {start}..{end})")]
pub struct ParseError {
    /// What went wrong, phrased for the person who typed the query.
    pub message: String,
    /// Byte offset where the offending text starts.
    pub start: usize,
    /// Byte offset just past the offending text.
    pub end: usize,
    /// What the parser would have accepted instead.
    pub expected: Vec<String>,
}

impl ParseError {
    /// An error over `start..end` with no expectation list.
    pub fn new(message: impl Into<String>, start: usize, end: usize) -> Self {
        ParseError {
            message: message.into(),
            start,
            end: end.max(start),
            expected: Vec::new(),
        }
    }

    /// Adds what would have been accepted.
    pub fn expecting<I, S>(mut self, items: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.expected = items.into_iter().map(Into::into).collect();
        self
    }

    /// The offending text of `query`, or `""` when the range is empty or out of bounds.
    pub fn snippet<'q>(&self, query: &'q str) -> &'q str {
        query.get(self.start..self.end).unwrap_or("")
    }
}
