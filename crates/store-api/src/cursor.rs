//! Search orders and opaque pagination cursors: the sort key, trace id and span id of the
//! last row returned.

use std::fmt;
use std::str::FromStr;

use tracehouse_model::{SpanId, TraceId};
use utoipa::openapi::RefOr;
use utoipa::openapi::schema::{ObjectBuilder, Schema, Type};
use utoipa::{PartialSchema, ToSchema};

use crate::error::StoreError;

/// The order of search results.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum SearchSort {
    /// Newest start first (the default).
    #[default]
    TimeDesc,
    /// Oldest start first.
    TimeAsc,
    /// Longest first.
    DurationDesc,
    /// Shortest first.
    DurationAsc,
    /// By the value of [`crate::SearchQuery::sort_key`], largest first (see
    /// [`crate::sort`] for the order of values). Span searches with a plain filter only.
    KeyDesc,
    /// By the value of the sort key, smallest first.
    KeyAsc,
}

impl SearchSort {
    /// The API name (`time_desc`, `time_asc`, `duration_desc`, `duration_asc`).
    pub fn as_str(self) -> &'static str {
        match self {
            SearchSort::TimeDesc => "time_desc",
            SearchSort::TimeAsc => "time_asc",
            SearchSort::DurationDesc => "duration_desc",
            SearchSort::DurationAsc => "duration_asc",
            SearchSort::KeyDesc => "key_desc",
            SearchSort::KeyAsc => "key_asc",
        }
    }

    /// Whether larger keys come first.
    pub fn descending(self) -> bool {
        matches!(
            self,
            SearchSort::TimeDesc | SearchSort::DurationDesc | SearchSort::KeyDesc
        )
    }

    /// Whether the order is by the value of the query's sort key.
    pub fn by_key(self) -> bool {
        matches!(self, SearchSort::KeyDesc | SearchSort::KeyAsc)
    }

    /// Whether the key is the duration (else the start time).
    pub fn by_duration(self) -> bool {
        matches!(self, SearchSort::DurationDesc | SearchSort::DurationAsc)
    }

    fn code(self) -> u8 {
        match self {
            SearchSort::TimeDesc => 0,
            SearchSort::TimeAsc => 1,
            SearchSort::DurationDesc => 2,
            SearchSort::DurationAsc => 3,
            SearchSort::KeyDesc => 4,
            SearchSort::KeyAsc => 5,
        }
    }
}

impl FromStr for SearchSort {
    type Err = StoreError;

    fn from_str(s: &str) -> Result<Self, StoreError> {
        Ok(match s {
            "" | "time_desc" | "newest" => SearchSort::TimeDesc,
            "time_asc" | "oldest" => SearchSort::TimeAsc,
            "duration_desc" => SearchSort::DurationDesc,
            "duration_asc" => SearchSort::DurationAsc,
            other => {
                return Err(StoreError::InvalidArgument(format!(
                    "unknown sort {other:?}: use time_desc, time_asc, duration_desc or duration_asc"
                )));
            }
        })
    }
}

/// As the API takes it: a name [`SearchSort::from_str`] accepts (`newest` and `oldest` stand
/// for `time_desc` and `time_asc`), or `<key>:asc` / `<key>:desc` ([`crate::sort::parse_sort`]).
impl PartialSchema for SearchSort {
    fn schema() -> RefOr<Schema> {
        ObjectBuilder::new()
            .schema_type(Type::String)
            .pattern(Some(
                "^(|time_desc|time_asc|duration_desc|duration_asc|newest|oldest|.+:(asc|desc))$",
            ))
            .default(Some(SearchSort::default().as_str().into()))
            .examples(["time_desc", "duration_desc", "http.status_code:desc"])
            .description(Some(
                "Result order: `time_desc` (the default; also empty or `newest`), `time_asc` \
                 (`oldest`), `duration_desc`, `duration_asc`, or `<key>:desc` / `<key>:asc` \
                 for any key of the query language: spans whose value reads as a number \
                 first, by number, then the others by text, then spans without the key; span \
                 search with a plain filter only, at most 10,000 rows deep.",
            ))
            .into()
    }
}

impl ToSchema for SearchSort {}

/// Position after which the next page of a search starts, for any [`SearchSort`]: the
/// sort key (start time or duration), trace id and span id of the last row returned.
/// Trace searches leave the span id zero. Under a key order, `key` is the number of rows
/// before the next page (the ids are zero).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SearchCursor {
    /// The order the cursor belongs to; a cursor is refused under another order.
    pub sort: SearchSort,
    /// Sort key of the last row.
    pub key: i64,
    /// Trace id of the last row.
    pub trace_id: TraceId,
    /// Span id of the last row.
    pub span_id: SpanId,
}

impl SearchCursor {
    /// Whether a row with this position comes strictly after the cursor.
    pub fn is_before(&self, key: i64, trace_id: &TraceId, span_id: &SpanId) -> bool {
        let row = (key, trace_id.0, span_id.0);
        let me = (self.key, self.trace_id.0, self.span_id.0);
        if self.sort.descending() {
            row < me
        } else {
            row > me
        }
    }
}

impl fmt::Display for SearchCursor {
    /// Hex of the sort code, the 8-byte big-endian key, the trace id and the span id.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{:02x}{}{}{}",
            self.sort.code(),
            hex::encode(self.key.to_be_bytes()),
            self.trace_id,
            self.span_id
        )
    }
}

/// As the API sends and takes it: the hex of [`SearchCursor`]'s `Display`.
impl PartialSchema for SearchCursor {
    fn schema() -> RefOr<Schema> {
        ObjectBuilder::new()
            .schema_type(Type::String)
            .pattern(Some("^[0-9a-f]{66}$"))
            .description(Some(
                "Opaque position after the last row of a page. Pass it back unchanged as \
                 `cursor`, with the same query, window and `sort`, to get the next page.",
            ))
            .into()
    }
}

impl ToSchema for SearchCursor {
    fn name() -> std::borrow::Cow<'static, str> {
        "Cursor".into()
    }
}

impl FromStr for SearchCursor {
    type Err = StoreError;

    fn from_str(s: &str) -> Result<Self, StoreError> {
        let bad = || {
            StoreError::InvalidArgument(format!(
                "invalid cursor {s:?}: pass the next_cursor of a previous page"
            ))
        };
        let bytes = hex::decode(s).map_err(|_| bad())?;
        if bytes.len() != 33 {
            return Err(bad());
        }
        let sort = match bytes[0] {
            0 => SearchSort::TimeDesc,
            1 => SearchSort::TimeAsc,
            2 => SearchSort::DurationDesc,
            3 => SearchSort::DurationAsc,
            4 => SearchSort::KeyDesc,
            5 => SearchSort::KeyAsc,
            _ => return Err(bad()),
        };
        let key: [u8; 8] = bytes[1..9].try_into().map_err(|_| bad())?;
        // Trace cursors carry a zero span id, so the ids are taken as they are.
        Ok(SearchCursor {
            sort,
            key: i64::from_be_bytes(key),
            trace_id: TraceId(bytes[9..25].try_into().map_err(|_| bad())?),
            span_id: SpanId(bytes[25..].try_into().map_err(|_| bad())?),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn search_cursor_round_trips() {
        for sort in [
            SearchSort::TimeDesc,
            SearchSort::TimeAsc,
            SearchSort::DurationDesc,
            SearchSort::DurationAsc,
            SearchSort::KeyDesc,
            SearchSort::KeyAsc,
        ] {
            let c = SearchCursor {
                sort,
                key: -5,
                trace_id: TraceId([7; 16]),
                span_id: SpanId([0; 8]),
            };
            assert_eq!(c.to_string().parse::<SearchCursor>().unwrap(), c);
        }
        assert!("zz".parse::<SearchCursor>().is_err());
        assert!("bogus".parse::<SearchSort>().is_err());
    }
}
