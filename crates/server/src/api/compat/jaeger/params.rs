//! The search parameters of Jaeger's `/api/traces`, parsed as Jaeger's query parser does:
//! `service` (required without `traceID`), `operation`, repeated `tag=key:value` and
//! `tags={json}`, `start`/`end` in µs (default: the last two days), `minDuration` /
//! `maxDuration` as Go durations, `limit` (default 100), repeated `traceID`.

use std::collections::BTreeMap;

use tracehouse_model::TraceId;
use tracehouse_query::lexer::{DurationLit, parse_duration};
use tracehouse_store_api::MAX_SEARCH_LIMIT;

use super::super::parse_trace_id;
use super::JaegerError;
use crate::time::now_ns;

/// Jaeger's default search lookback.
pub(super) const LOOKBACK_NS: i64 = 2 * 24 * 3_600 * 1_000_000_000;
pub(super) const DEFAULT_LIMIT: i64 = 100;

/// A parsed search.
#[derive(Debug, Default, PartialEq)]
pub(super) struct TraceSearch {
    pub service: String,
    pub operation: String,
    pub tags: BTreeMap<String, String>,
    pub start_ns: i64,
    pub end_ns: i64,
    pub min_duration: Option<i64>,
    pub max_duration: Option<i64>,
    pub limit: usize,
    pub trace_ids: Vec<TraceId>,
}

/// The first non-empty value of a query parameter.
pub(super) fn first<'a>(pairs: &'a [(String, String)], name: &str) -> Option<&'a str> {
    pairs
        .iter()
        .find(|(k, v)| k == name && !v.is_empty())
        .map(|(_, v)| v.as_str())
}

/// Every value of a query parameter.
pub(super) fn all<'a>(
    pairs: &'a [(String, String)],
    name: &'a str,
) -> impl Iterator<Item = &'a String> {
    pairs.iter().filter(move |(k, _)| k == name).map(|(_, v)| v)
}

pub(super) fn parse_error(name: &str, why: impl std::fmt::Display) -> JaegerError {
    JaegerError::bad_request(format!("unable to parse param '{name}': {why}"))
}

fn micros(name: &str, text: &str) -> Result<i64, JaegerError> {
    text.parse::<i64>()
        .ok()
        .and_then(|us| us.checked_mul(1_000))
        .ok_or_else(|| {
            parse_error(
                name,
                format!("{text:?} is not microseconds since the epoch"),
            )
        })
}

/// An integer number of milliseconds (a time since the epoch or a duration), in ns; absent,
/// `default_ms`.
pub(super) fn millis(
    pairs: &[(String, String)],
    name: &str,
    default_ms: impl FnOnce() -> i64,
) -> Result<i64, JaegerError> {
    let ms = match first(pairs, name) {
        Some(text) => text.parse::<i64>().map_err(|e| parse_error(name, e))?,
        None => default_ms(),
    };
    ms.checked_mul(1_000_000)
        .ok_or_else(|| parse_error(name, format!("{ms} ms is out of range")))
}

/// Milliseconds since the epoch, now.
pub(super) fn now_ms() -> i64 {
    now_ns() / 1_000_000
}

pub(super) fn duration(name: &str, text: &str) -> Result<i64, JaegerError> {
    match parse_duration(text) {
        DurationLit::Nanos(ns) => Ok(ns),
        _ => Err(parse_error(name, format!("invalid duration {text:?}"))),
    }
}

/// The tags asked for by `tag=key:value` (repeated) and `tags={json}`.
pub(super) fn tags(pairs: &[(String, String)]) -> Result<BTreeMap<String, String>, JaegerError> {
    let mut tags = BTreeMap::new();
    for tag in all(pairs, "tag") {
        let (k, v) = tag.split_once(':').ok_or_else(|| {
            JaegerError::bad_request(format!(
                "malformed 'tag' parameter, expecting key:value, received: {tag}"
            ))
        })?;
        tags.insert(k.to_string(), v.to_string());
    }
    for json in all(pairs, "tags") {
        let map: BTreeMap<String, String> = serde_json::from_str(json).map_err(|e| {
            JaegerError::bad_request(format!(
                "malformed 'tags' parameter, cannot unmarshal JSON: {e}"
            ))
        })?;
        tags.extend(map);
    }
    Ok(tags)
}

impl TraceSearch {
    /// The search the query string's pairs ask for.
    pub(super) fn parse(pairs: &[(String, String)]) -> Result<TraceSearch, JaegerError> {
        let first = |name: &str| first(pairs, name);
        let all = |name: &'static str| all(pairs, name);
        let end_ns = first("end")
            .map(|t| micros("end", t))
            .transpose()?
            .unwrap_or_else(now_ns);
        let start_ns = first("start")
            .map(|t| micros("start", t))
            .transpose()?
            .unwrap_or_else(|| now_ns() - LOOKBACK_NS);
        let tags = tags(pairs)?;
        let limit = match first("limit") {
            Some(t) => t.parse::<i64>().map_err(|e| parse_error("limit", e))?,
            None => DEFAULT_LIMIT,
        };
        let trace_ids = all("traceID")
            .map(|id| {
                parse_trace_id(id).ok_or_else(|| {
                    JaegerError::bad_request(format!("cannot parse traceID param: {id:?}"))
                })
            })
            .collect::<Result<Vec<_>, _>>()?;
        let search = TraceSearch {
            service: first("service").unwrap_or_default().to_string(),
            operation: first("operation").unwrap_or_default().to_string(),
            tags,
            start_ns,
            end_ns,
            min_duration: first("minDuration")
                .map(|t| duration("minDuration", t))
                .transpose()?,
            max_duration: first("maxDuration")
                .map(|t| duration("maxDuration", t))
                .transpose()?,
            limit: usize::try_from(limit.clamp(0, MAX_SEARCH_LIMIT as i64)).unwrap_or(0),
            trace_ids,
        };
        search.validate()?;
        Ok(search)
    }

    /// Jaeger's checks of a search.
    pub(super) fn validate(&self) -> Result<(), JaegerError> {
        if self.trace_ids.is_empty() && self.service.is_empty() {
            return Err(JaegerError::bad_request("parameter 'service' is required"));
        }
        if self.limit == 0 {
            return Err(JaegerError::bad_request(
                "invalid parameter: limit must be greater than 0",
            ));
        }
        if self.start_ns > self.end_ns {
            return Err(JaegerError::bad_request(
                "invalid parameter: start time must be before end time",
            ));
        }
        if let (Some(min), Some(max)) = (self.min_duration, self.max_duration)
            && max < min
        {
            return Err(JaegerError::bad_request(
                "'maxDuration' should be greater than 'minDuration'",
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(query: &str) -> Result<TraceSearch, JaegerError> {
        let pairs: Vec<(String, String)> = query
            .split('&')
            .filter_map(|p| p.split_once('='))
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        TraceSearch::parse(&pairs)
    }

    #[test]
    fn parameters_as_jaeger_reads_them() {
        let s = parse(concat!(
            "service=cart&operation=GET&tag=http.status_code:500&tag=url:a:b",
            r#"&tags={"error":"true"}&start=1000&end=2000&minDuration=1ms"#,
            "&maxDuration=1s&limit=5000",
        ))
        .ok()
        .unwrap_or_default();
        assert_eq!(s.service, "cart");
        assert_eq!(s.tags.get("url").map(String::as_str), Some("a:b"));
        assert_eq!(s.tags.get("error").map(String::as_str), Some("true"));
        assert_eq!((s.start_ns, s.end_ns), (1_000_000, 2_000_000));
        assert_eq!(
            (s.min_duration, s.max_duration),
            (Some(1_000_000), Some(1_000_000_000))
        );
        assert_eq!(s.limit, MAX_SEARCH_LIMIT, "clamped");
        for bad in [
            "operation=x",
            "service=a&tag=novalue",
            "service=a&tags=notjson",
            "service=a&start=soon",
            "service=a&limit=0",
            "service=a&limit=x",
            "service=a&minDuration=2s&maxDuration=1s",
            "service=a&start=20&end=10",
            "traceID=zz",
        ] {
            assert!(parse(bad).is_err(), "{bad}");
        }
        assert!(parse("traceID=abc").is_ok(), "ids need no service");
    }
}
