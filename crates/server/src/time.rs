//! Parsing time bounds given to the API: RFC 3339 or integer nanoseconds since the epoch.

/// Nanoseconds since the Unix epoch, now.
pub fn now_ns() -> i64 {
    chrono::Utc::now().timestamp_nanos_opt().unwrap_or(i64::MAX)
}

/// Parses `2026-11-25T10:00:00Z` / `2026-11-25T11:00:00+01:00` (RFC 3339) or
/// `1764064800000000000` (ns since the epoch).
pub fn parse_time(text: &str) -> Result<i64, String> {
    if let Ok(ns) = text.parse::<i64>() {
        return Ok(ns);
    }
    let t = chrono::DateTime::parse_from_rfc3339(text).map_err(|e| {
        format!("invalid time {text:?} ({e}): use RFC 3339 like 2026-11-25T10:00:00Z or nanoseconds since the epoch")
    })?;
    t.timestamp_nanos_opt()
        .ok_or_else(|| format!("time {text:?} is out of range"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_both_forms() {
        assert_eq!(parse_time("1000").unwrap(), 1000);
        assert_eq!(parse_time("1970-01-01T00:00:01Z").unwrap(), 1_000_000_000);
        assert_eq!(
            parse_time("2025-11-25T10:00:00.5Z").unwrap(),
            1_764_064_800_500_000_000
        );
        assert_eq!(
            parse_time("2025-11-25T11:00:00+01:00").unwrap(),
            1_764_064_800_000_000_000
        );
        assert!(parse_time("yesterday").unwrap_err().contains("RFC 3339"));
    }
}
