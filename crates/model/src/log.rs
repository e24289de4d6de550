//! The log record row: what tracehouse stores and returns for every OTLP log record
//! (DESIGN §3), and the severity levels logs are grouped by.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::attr::{AttrValue, Attributes, SharedAttributes};
use crate::ids::{LogId, SpanId, TraceId};

/// A coarse severity level, from OTLP's severity number ranges (or the text when the number
/// is unset).
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, ToSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum Level {
    /// No severity given.
    Unknown,
    /// Numbers 1–4.
    Trace,
    /// Numbers 5–8.
    Debug,
    /// Numbers 9–12.
    Info,
    /// Numbers 13–16.
    Warn,
    /// Numbers 17–20.
    Error,
    /// Numbers 21–24.
    Fatal,
}

impl Level {
    /// Every level, least severe first.
    pub const ALL: [Level; 7] = [
        Level::Unknown,
        Level::Trace,
        Level::Debug,
        Level::Info,
        Level::Warn,
        Level::Error,
        Level::Fatal,
    ];

    /// The level of an OTLP severity number (1–24); 0 and out-of-range numbers fall back to
    /// the severity text (`WARNING`, `err`, `Critical` … are understood).
    pub fn of(severity_number: i32, severity_text: &str) -> Level {
        match severity_number {
            1..=4 => Level::Trace,
            5..=8 => Level::Debug,
            9..=12 => Level::Info,
            13..=16 => Level::Warn,
            17..=20 => Level::Error,
            21..=24 => Level::Fatal,
            _ => Level::from_text(severity_text).unwrap_or(Level::Unknown),
        }
    }

    /// Parses a level name as written by common logging libraries, case-insensitively.
    pub fn from_text(text: &str) -> Option<Level> {
        let t = text.trim().to_ascii_lowercase();
        let word = t.trim_end_matches(|c: char| c.is_ascii_digit());
        Some(match word {
            "trace" | "finest" | "finer" => Level::Trace,
            "debug" | "fine" | "config" => Level::Debug,
            "info" | "information" | "notice" => Level::Info,
            "warn" | "warning" => Level::Warn,
            "error" | "err" | "severe" => Level::Error,
            "fatal" | "critical" | "crit" | "alert" | "emerg" | "emergency" | "panic" => {
                Level::Fatal
            }
            "unknown" | "unspecified" => Level::Unknown,
            _ => return None,
        })
    }

    /// The stored code (the index in [`Level::ALL`]).
    pub fn code(self) -> u8 {
        self as u8
    }

    /// The level of a stored code; unknown codes become `Unknown`.
    pub fn from_code(code: u8) -> Level {
        Level::ALL
            .get(usize::from(code))
            .copied()
            .unwrap_or(Level::Unknown)
    }

    /// The lowercase name used in the API and the query language (`level:error`).
    pub fn as_str(self) -> &'static str {
        match self {
            Level::Unknown => "unknown",
            Level::Trace => "trace",
            Level::Debug => "debug",
            Level::Info => "info",
            Level::Warn => "warn",
            Level::Error => "error",
            Level::Fatal => "fatal",
        }
    }
}

/// One stored log record, normalised from OTLP.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct LogRecord {
    /// Identifies the record (see [`LogRecord::content_id`]).
    pub log_id: LogId,
    /// The project the record belongs to.
    pub project_id: String,
    /// When the event happened, ns since the Unix epoch (the observed time when the sender
    /// gave none).
    pub time_unix_nano: i64,
    /// When the collector or SDK saw it, ns since the Unix epoch.
    pub observed_time_unix_nano: i64,
    /// OTLP severity number (0–24).
    pub severity_number: u8,
    /// Severity as the sender wrote it (`WARNING`, `err` …).
    pub severity_text: String,
    /// Coarse level derived from number and text.
    pub level: Level,
    /// The message; structured bodies are kept as JSON text.
    pub body: String,
    /// The trace the record was emitted in, when it was.
    #[schema(required = true)]
    pub trace_id: Option<TraceId>,
    /// The span the record was emitted in, when it was.
    #[schema(required = true)]
    pub span_id: Option<SpanId>,
    /// `service.name` of the resource.
    pub service_name: String,
    /// `service.version` of the resource.
    pub service_version: String,
    /// `deployment.environment[.name]` of the resource.
    pub environment: String,
    /// Instrumentation scope name (often the logger name).
    pub scope_name: String,
    /// Browser session the record belongs to (`highlight.session_id` or `session.id`).
    #[schema(required = true)]
    pub session_id: Option<String>,
    /// Record attributes.
    #[schema(value_type = BTreeMap<String, AttrValue>)]
    pub attributes: Attributes,
    /// Resource attributes: those of the resource (service, host, SDK) that sent it.
    // One allocation shared by every record of that resource.
    #[schema(value_type = BTreeMap<String, AttrValue>)]
    pub resource_attributes: SharedAttributes,
    /// W3C trace flags.
    pub flags: u32,
    /// Attributes dropped by the sender or by limits.
    pub dropped_attributes_count: u32,
}

impl LogRecord {
    /// A hash of everything but the id: equal records get equal ids, so ids order records
    /// totally for pagination and a retried export does not mint new identities.
    pub fn content_id(&self) -> LogId {
        let mut copy = self.clone();
        copy.log_id = LogId::default();
        let bytes = serde_json::to_vec(&copy).unwrap_or_default();
        let hash = twox_hash::XxHash3_128::oneshot(&bytes);
        let mut id = hash.to_be_bytes();
        // The all-zero id is invalid; a hash landing there is nudged.
        if id.iter().all(|b| *b == 0) {
            id[15] = 1;
        }
        LogId(id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_map_to_ranges_and_text_is_the_fallback() {
        assert_eq!(Level::of(1, ""), Level::Trace);
        assert_eq!(Level::of(9, "WARN"), Level::Info, "number wins over text");
        assert_eq!(Level::of(17, ""), Level::Error);
        assert_eq!(Level::of(24, ""), Level::Fatal);
        assert_eq!(Level::of(0, "WARNING"), Level::Warn);
        assert_eq!(Level::of(0, "Critical"), Level::Fatal);
        assert_eq!(Level::of(0, "INFO2"), Level::Info);
        assert_eq!(Level::of(0, ""), Level::Unknown);
        assert_eq!(Level::of(99, "nonsense"), Level::Unknown);
    }

    #[test]
    fn codes_round_trip() {
        for l in Level::ALL {
            assert_eq!(Level::from_code(l.code()), l);
            assert_eq!(Level::from_text(l.as_str()), Some(l));
        }
        assert_eq!(Level::from_code(200), Level::Unknown);
    }
}
