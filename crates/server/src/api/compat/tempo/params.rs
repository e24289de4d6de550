//! What Tempo's routes share in their parameters: windows in Unix seconds, bounded counts,
//! trace ids as Tempo writes them.

use tracehouse_model::TraceId;

use super::TextError;
use crate::time::now_ns;

/// Default window without `start`/`end`: the last hour.
const DEFAULT_WINDOW_S: i64 = 3600;
const NS_PER_S: i64 = 1_000_000_000;

/// The `start`/`end` window (Unix seconds, `end` inclusive) in ns: `end` defaults to now,
/// `start` to an hour before `end`.
pub(super) fn window(start: Option<&str>, end: Option<&str>) -> Result<(i64, i64), TextError> {
    let seconds = |name: &str, text: &str| {
        text.trim()
            .parse::<i64>()
            .ok()
            .filter(|s| (0..=i64::MAX / NS_PER_S - 1).contains(s))
            .ok_or_else(|| {
                TextError::bad_request(format!("invalid {name} {text:?}: expected Unix seconds"))
            })
    };
    let end_s = match end.filter(|t| !t.is_empty()) {
        Some(t) => seconds("end", t)?,
        None => now_ns() / NS_PER_S,
    };
    let start_s = match start.filter(|t| !t.is_empty()) {
        Some(t) => seconds("start", t)?,
        None => end_s.saturating_sub(DEFAULT_WINDOW_S),
    };
    if start_s > end_s {
        return Err(TextError::bad_request(
            "invalid start: start must not be after end",
        ));
    }
    Ok((start_s * NS_PER_S, (end_s + 1) * NS_PER_S))
}

/// A count parameter: `default` when absent, refused outside `1..=max`.
pub(super) fn count(
    name: &str,
    text: Option<&str>,
    default: usize,
    max: usize,
) -> Result<usize, TextError> {
    let Some(text) = text.filter(|t| !t.is_empty()) else {
        return Ok(default);
    };
    text.trim()
        .parse::<usize>()
        .ok()
        .filter(|n| (1..=max).contains(n))
        .ok_or_else(|| {
            TextError::bad_request(format!(
                "invalid {name} {text:?}: expected an integer from 1 to {max}"
            ))
        })
}

/// A trace id as Tempo takes it: 1 to 32 hex digits, left-padded with zeros (64-bit ids).
pub(super) fn trace_id(text: &str) -> Result<TraceId, TextError> {
    super::super::parse_trace_id(text).ok_or_else(|| {
        TextError::bad_request(format!(
            "invalid trace id {text:?}: expected up to 32 hex digits"
        ))
    })
}

/// A trace id as Tempo writes it in search results: lowercase hex without leading zeros.
pub(super) fn trace_id_text(id: TraceId) -> String {
    let hex = id.to_string();
    let trimmed = hex.trim_start_matches('0');
    if trimmed.is_empty() {
        "0".into()
    } else {
        trimmed.into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trace_ids_are_padded_in_and_trimmed_out() {
        let id = trace_id("D6E9329D67B6146A").unwrap_or_default();
        assert_eq!(id.to_string(), "0000000000000000d6e9329d67b6146a");
        assert_eq!(trace_id_text(id), "d6e9329d67b6146a");
        for bad in [
            "",
            "xyz",
            &"a".repeat(33),
            "00000000000000000000000000000000",
        ] {
            assert!(trace_id(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn windows_are_seconds_and_checked() {
        assert_eq!(
            window(Some("10"), Some("20")).ok(),
            Some((10 * NS_PER_S, 21 * NS_PER_S))
        );
        assert!(window(Some("20"), Some("10")).is_err());
        assert!(window(Some("-1"), Some("10")).is_err());
        assert!(window(Some("1e3"), None).is_err());
        assert!(window(None, Some("99999999999999999")).is_err());
        assert_eq!(count("limit", None, 20, 100).ok(), Some(20));
        assert!(count("limit", Some("0"), 20, 100).is_err());
        assert!(count("limit", Some("101"), 20, 100).is_err());
    }
}
