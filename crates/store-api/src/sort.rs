//! Ordering span search results by the value of any key (`sort=http.status_code:desc`), the
//! rule both backends implement.
//!
//! A key orders rows by the value a comparison reads (`key > 5` and `key = "x"`): first the
//! rows whose value reads as a number, by number; then the other rows that have the key, by
//! their text (bytewise); then the rows without the key. Descending reverses the first two
//! groups and keeps rows without the key last. Ties break on trace id, then span id, in the
//! sort's direction. For an unscoped attribute the span's own attribute is read before the
//! resource's.
//!
//! Key orders page by offset (the cursor holds the number of rows before the next page),
//! up to [`MAX_KEY_SORT_OFFSET`] rows deep, and apply to span searches with a plain filter:
//! a structural query, a trace search or a log search ordered by a key is refused.

use tracehouse_query::Field;
use tracehouse_query::plan::{Intrinsic, Scope, Target, resolve_key};

use tracehouse_model::{Span, SpanId, TraceId};

use crate::api::{SearchPage, SearchQuery};
use crate::cursor::{SearchCursor, SearchSort};
use crate::error::StoreError;

/// The deepest row a key-ordered page may start at.
pub const MAX_KEY_SORT_OFFSET: usize = 10_000;

/// The rank of a row's value under a key order: numbers, then other text, then absent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum ValueClass {
    /// The value reads as a number.
    Number = 0,
    /// The value is text that is not a number.
    Text = 1,
    /// The row has no value for the key.
    Absent = 2,
}

/// The rank a row of `class` sorts by, always ascending: descending orders put text before
/// numbers, and rows without the key come last either way.
pub fn class_rank(class: ValueClass, descending: bool) -> u8 {
    match (class, descending) {
        (ValueClass::Absent, _) => 2,
        (ValueClass::Number, false) | (ValueClass::Text, true) => 0,
        (ValueClass::Number, true) | (ValueClass::Text, false) => 1,
    }
}

/// For a span search ordered by a key: the key and the offset the page starts at. `None`
/// for the other orders. Refuses what a key order does not apply to (see the module docs).
pub fn key_order(q: &SearchQuery) -> Result<Option<(&Field, usize)>, StoreError> {
    if !q.sort.by_key() {
        return Ok(None);
    }
    let key = q.sort_key.as_ref().ok_or_else(|| {
        StoreError::InvalidArgument(format!("sort {} needs a key", q.sort.as_str()))
    })?;
    if q.plan.structure.is_some() {
        return Err(StoreError::InvalidArgument(
            "sorting by a key applies to plain filters, not to structural queries: sort by \
             time or duration"
                .into(),
        ));
    }
    if let Field::Attr { scope, key } = key
        && matches!(scope, Scope::Event | Scope::Link | Scope::Instrumentation)
    {
        return Err(StoreError::InvalidArgument(format!(
            "cannot sort by {key:?} of events, links or the instrumentation scope: sort by a \
             span or resource attribute or a built-in field"
        )));
    }
    let offset = q.cursor.map_or(0, |c| c.key);
    let offset = usize::try_from(offset)
        .ok()
        .filter(|o| *o <= MAX_KEY_SORT_OFFSET)
        .ok_or_else(|| {
            StoreError::InvalidArgument(format!(
                "a key-ordered search pages at most {MAX_KEY_SORT_OFFSET} rows deep: narrow the \
                 query or the time range"
            ))
        })?;
    Ok(Some((key, offset)))
}

/// Parses an order as the API takes it: a name ([`SearchSort`]'s `FromStr`), or
/// `<key>:asc` / `<key>:desc` for any key of the query language (`duration` and
/// `timestamp` name the duration and time orders).
pub fn parse_sort(text: &str, target: Target) -> Result<(SearchSort, Option<Field>), StoreError> {
    let Some((key, direction)) = text.rsplit_once(':') else {
        return Ok((text.parse()?, None));
    };
    let descending = match direction {
        "desc" => true,
        "asc" => false,
        other => {
            return Err(StoreError::InvalidArgument(format!(
                "unknown sort direction {other:?} in {text:?}: use <key>:asc or <key>:desc"
            )));
        }
    };
    if key.trim().is_empty() {
        return Err(StoreError::InvalidArgument(format!(
            "sort {text:?} names no key: use <key>:asc or <key>:desc"
        )));
    }
    let pick = |desc: SearchSort, asc: SearchSort| if descending { desc } else { asc };
    Ok(match resolve_key(key.trim(), target) {
        Field::Intrinsic(Intrinsic::Duration) => (
            pick(SearchSort::DurationDesc, SearchSort::DurationAsc),
            None,
        ),
        Field::Intrinsic(Intrinsic::Timestamp) => {
            (pick(SearchSort::TimeDesc, SearchSort::TimeAsc), None)
        }
        field => (pick(SearchSort::KeyDesc, SearchSort::KeyAsc), Some(field)),
    })
}

/// Refuses a key order for a search it does not apply to (`what`: "trace search", "log
/// search").
pub fn refuse_key_order(q: &SearchQuery, what: &str) -> Result<(), StoreError> {
    if q.sort.by_key() {
        return Err(StoreError::InvalidArgument(format!(
            "a {what} cannot be sorted by a key: sort by time or duration, or search spans"
        )));
    }
    Ok(())
}

/// The page of a key-ordered span search that starts `offset` rows in, from the rows
/// read from there on (at most one more than the page): the next cursor counts the rows
/// before the next page.
pub fn offset_page(mut spans: Vec<Span>, q: &SearchQuery, offset: usize) -> SearchPage {
    let next_cursor = (spans.len() > q.limit).then(|| {
        spans.truncate(q.limit);
        SearchCursor {
            sort: q.sort,
            key: i64::try_from(offset + q.limit).unwrap_or(i64::MAX),
            trace_id: TraceId([0; 16]),
            span_id: SpanId([0; 8]),
        }
    });
    SearchPage {
        spans,
        next_cursor,
        candidates_truncated: false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sorts_parse_by_name_or_key() {
        let spans = Target::Spans;
        assert_eq!(parse_sort("", spans).unwrap(), (SearchSort::TimeDesc, None));
        assert_eq!(
            parse_sort("oldest", spans).unwrap(),
            (SearchSort::TimeAsc, None)
        );
        assert_eq!(
            parse_sort("duration:asc", spans).unwrap(),
            (SearchSort::DurationAsc, None)
        );
        let (sort, key) = parse_sort("http.status_code:desc", spans).unwrap();
        assert_eq!(sort, SearchSort::KeyDesc);
        assert_eq!(
            key,
            Some(Field::Attr {
                scope: Scope::Any,
                key: "http.status_code".into()
            })
        );
        assert_eq!(
            parse_sort("service:asc", spans).unwrap().1,
            Some(resolve_key("service", spans))
        );
        assert!(parse_sort("a:sideways", spans).is_err());
        assert!(parse_sort(":asc", spans).is_err());
        assert!(parse_sort("bogus", spans).is_err());
    }

    #[test]
    fn classes_rank_numbers_then_text_then_absent() {
        assert!(class_rank(ValueClass::Number, false) < class_rank(ValueClass::Text, false));
        assert!(class_rank(ValueClass::Text, true) < class_rank(ValueClass::Number, true));
        for desc in [false, true] {
            assert_eq!(class_rank(ValueClass::Absent, desc), 2);
        }
    }
}
