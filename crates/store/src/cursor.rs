//! Opaque pagination cursors: the (start time, trace id, span id) of the last row returned.

use std::fmt;
use std::str::FromStr;

use tracehouse_model::{SpanId, TraceId};

use crate::error::StoreError;

/// Position after which the next page of a newest-first listing starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cursor {
    /// Start time of the last row returned.
    pub start_ns: i64,
    /// Trace id of the last row returned.
    pub trace_id: TraceId,
    /// Span id of the last row returned.
    pub span_id: SpanId,
}

impl fmt::Display for Cursor {
    /// Hex of the 8-byte big-endian start, the trace id and the span id.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}{}{}",
            hex::encode(self.start_ns.to_be_bytes()),
            self.trace_id,
            self.span_id
        )
    }
}

impl FromStr for Cursor {
    type Err = StoreError;

    fn from_str(s: &str) -> Result<Self, StoreError> {
        let bad = || {
            StoreError::InvalidArgument(format!(
                "invalid cursor {s:?}: pass the next_cursor of a previous page"
            ))
        };
        let bytes = hex::decode(s).map_err(|_| bad())?;
        if bytes.len() != 32 {
            return Err(bad());
        }
        let start: [u8; 8] = bytes[..8].try_into().map_err(|_| bad())?;
        Ok(Cursor {
            start_ns: i64::from_be_bytes(start),
            trace_id: TraceId::from_bytes(&bytes[8..24]).map_err(|_| bad())?,
            span_id: SpanId::from_bytes(&bytes[24..]).map_err(|_| bad())?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_rejects_garbage() {
        let c = Cursor {
            start_ns: 1_700_000_000_000_000_000,
            trace_id: TraceId([7; 16]),
            span_id: SpanId([3; 8]),
        };
        assert_eq!(c.to_string().parse::<Cursor>().unwrap(), c);
        assert!("nothex".parse::<Cursor>().is_err());
        assert!("00".parse::<Cursor>().is_err());
    }
}
