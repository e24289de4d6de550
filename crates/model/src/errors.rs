//! Error occurrences: one per `exception` span event and per error-severity log record that
//! carries `exception.*` attributes (DESIGN §3, §7), with the fingerprint that groups the
//! same error across traces.
//!
//! The fingerprint is the error type (without its module path) plus the innermost stack
//! frames, normalised so that line numbers, columns, addresses and symbol hashes do not split
//! a group. Without a usable stack
//! it is the type plus the message with numbers, ids, hex and quoted values masked.

use std::sync::LazyLock;

use regex::Regex;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::attr::{AttrValue, Attributes};
use crate::ids::{SpanId, TraceId};
use crate::log::{Level, LogRecord};
use crate::span::Span;

/// How many innermost frames decide a group.
pub const FINGERPRINT_FRAMES: usize = 5;

/// Where an occurrence came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ErrorSource {
    /// An `exception` event on a span.
    SpanEvent,
    /// A log record with `exception.*` attributes.
    Log,
}

impl ErrorSource {
    /// The stored code.
    pub fn code(self) -> u8 {
        self as u8
    }

    /// The source of a stored code.
    pub fn from_code(code: u8) -> ErrorSource {
        if code == 1 {
            ErrorSource::Log
        } else {
            ErrorSource::SpanEvent
        }
    }
}

/// One error as it happened.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct ErrorOccurrence {
    /// The project.
    pub project_id: String,
    /// When it happened, ns since the Unix epoch.
    pub time_unix_nano: i64,
    /// Groups the same error: 16 lowercase hex digits.
    #[schema(pattern = "^[0-9a-f]{16}$")]
    pub fingerprint: String,
    /// `exception.type` (`ValueError`, `java.io.IOException` …).
    #[serde(rename = "type")]
    pub error_type: String,
    /// `exception.message`.
    pub message: String,
    /// `exception.stacktrace` as sent.
    pub stacktrace: String,
    /// Service that raised it.
    pub service_name: String,
    /// Its version.
    pub service_version: String,
    /// Its environment.
    pub environment: String,
    /// The trace it happened in.
    #[schema(required = true)]
    pub trace_id: Option<TraceId>,
    /// The span it happened in.
    #[schema(required = true)]
    pub span_id: Option<SpanId>,
    /// The browser session it belongs to.
    #[schema(required = true)]
    pub session_id: Option<String>,
    /// Span event or log record.
    pub source: ErrorSource,
}

/// The exception fields of an attribute map (`exception.type/message/stacktrace`).
fn exception_fields(attrs: &Attributes) -> (String, String, String) {
    let text = |k: &str| attrs.get(k).map(AttrValue::as_text).unwrap_or_default();
    (
        text("exception.type"),
        text("exception.message"),
        text("exception.stacktrace"),
    )
}

/// The error occurrences of spans: one per `exception` event with a type or a message.
pub fn errors_from_spans(spans: &[Span]) -> Vec<ErrorOccurrence> {
    let mut out = Vec::new();
    for s in spans {
        for e in s.events.iter().filter(|e| e.name == "exception") {
            let (error_type, message, stacktrace) = exception_fields(&e.attributes);
            if error_type.is_empty() && message.is_empty() {
                continue;
            }
            let time = if e.time_unix_nano > 0 {
                e.time_unix_nano
            } else {
                s.start_time_unix_nano
            };
            out.push(ErrorOccurrence {
                project_id: s.project_id.clone(),
                time_unix_nano: time,
                fingerprint: fingerprint(&error_type, &message, &stacktrace),
                error_type,
                message,
                stacktrace,
                service_name: s.service_name.clone(),
                service_version: s.service_version.clone(),
                environment: s.environment.clone(),
                trace_id: Some(s.trace_id),
                span_id: Some(s.span_id),
                session_id: s.session_id.clone(),
                source: ErrorSource::SpanEvent,
            });
        }
    }
    out
}

/// The error occurrences of log records: error or fatal records with `exception.*`
/// attributes (the body stands in for a missing message).
pub fn errors_from_logs(logs: &[LogRecord]) -> Vec<ErrorOccurrence> {
    logs.iter()
        .filter(|l| l.level >= Level::Error)
        .filter_map(|l| {
            let (error_type, mut message, stacktrace) = exception_fields(&l.attributes);
            if error_type.is_empty() && message.is_empty() && stacktrace.is_empty() {
                return None;
            }
            if message.is_empty() {
                message.clone_from(&l.body);
            }
            Some(ErrorOccurrence {
                project_id: l.project_id.clone(),
                time_unix_nano: l.time_unix_nano,
                fingerprint: fingerprint(&error_type, &message, &stacktrace),
                error_type,
                message,
                stacktrace,
                service_name: l.service_name.clone(),
                service_version: l.service_version.clone(),
                environment: l.environment.clone(),
                trace_id: l.trace_id,
                span_id: l.span_id,
                session_id: l.session_id.clone(),
                source: ErrorSource::Log,
            })
        })
        .collect()
}

/// The group key of an error: type + innermost normalised frames, or type + masked message
/// when the stack has no recognisable frames.
pub fn fingerprint(error_type: &str, message: &str, stacktrace: &str) -> String {
    // `__main__.OutOfStockError` (Python's span events) and `OutOfStockError` (its logging
    // handler) are one type: the module path does not split a group.
    let error_type = error_type.rsplit(['.', ':']).next().unwrap_or(error_type);
    let frames = top_frames(stacktrace);
    let key = if frames.is_empty() {
        format!("{error_type}\n{}", mask_message(message))
    } else {
        format!("{error_type}\n{}", frames.join("\n"))
    };
    format!("{:016x}", twox_hash::XxHash64::oneshot(0, key.as_bytes()))
}

/// Compiles one of this module's pattern literals. Each is compiled by the unit tests below,
/// so a typo fails the build's tests rather than a request.
#[allow(
    clippy::expect_used,
    reason = "the patterns are literals, compiled by the tests"
)]
fn pattern(re: &str) -> Regex {
    Regex::new(re).expect("a pattern literal of this module")
}

static PYTHON_FRAME: LazyLock<Regex> =
    LazyLock::new(|| pattern(r#"^File "([^"]*)", line \d+(?:, in (.+))?$"#));
static RUST_FRAME: LazyLock<Regex> = LazyLock::new(|| pattern(r"^\d+:\s+(\S.*)$"));
static GO_LOCATION: LazyLock<Regex> =
    LazyLock::new(|| pattern(r"^(\S+\.go):\d+(?: \+0x[0-9a-f]+)?$"));
static SYMBOL_HASH: LazyLock<Regex> = LazyLock::new(|| pattern(r"::h[0-9a-f]{16}$"));
static POSITION: LazyLock<Regex> = LazyLock::new(|| pattern(r":\d+(?::\d+)?"));
static DIRECTORY: LazyLock<Regex> = LazyLock::new(|| pattern(r"[^\s(]*[/\\]"));
static ADDRESS: LazyLock<Regex> = LazyLock::new(|| pattern(r"0x[0-9a-fA-F]+"));

/// The innermost [`FINGERPRINT_FRAMES`] frames of a stack trace, normalised. Understands
/// Python tracebacks (innermost last), `at …` frames (Java, JavaScript, .NET, Rust
/// locations), Rust backtrace symbols and Go locations; other lines (messages, headers,
/// source excerpts) are ignored.
pub fn top_frames(stacktrace: &str) -> Vec<String> {
    let mut frames = Vec::new();
    let mut innermost_last = false;
    for line in stacktrace.lines().map(str::trim) {
        if let Some(c) = PYTHON_FRAME.captures(line) {
            innermost_last = true;
            let file = c.get(1).map_or("", |m| basename(m.as_str()));
            let func = c.get(2).map_or("", |m| m.as_str());
            frames.push(format!("{file} in {func}"));
        } else if let Some(rest) = line.strip_prefix("at ") {
            frames.push(normalise_location(rest));
        } else if let Some(c) = RUST_FRAME.captures(line) {
            let symbol = c.get(1).map_or("", |m| m.as_str());
            frames.push(SYMBOL_HASH.replace(symbol, "").into_owned());
        } else if let Some(c) = GO_LOCATION.captures(line) {
            frames.push(c.get(1).map_or("", |m| basename(m.as_str())).to_string());
        }
    }
    if innermost_last {
        frames.reverse();
    }
    frames.truncate(FINGERPRINT_FRAMES);
    frames
}

/// `Foo.bar (/srv/app/foo.js:10:5)` → `Foo.bar (foo.js)`: no directories, lines, columns or
/// addresses.
fn normalise_location(frame: &str) -> String {
    let no_pos = POSITION.replace_all(frame, "");
    let no_addr = ADDRESS.replace_all(&no_pos, "0x");
    DIRECTORY.replace_all(&no_addr, "").into_owned()
}

fn basename(path: &str) -> &str {
    path.rsplit(['/', '\\']).next().unwrap_or(path)
}

static QUOTED: LazyLock<Regex> = LazyLock::new(|| pattern(r#""[^"]*"|'[^']*'|`[^`]*`"#));
static UUID: LazyLock<Regex> = LazyLock::new(|| {
    pattern(r"(?i)\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b")
});
static HEX: LazyLock<Regex> = LazyLock::new(|| {
    pattern(
        r"(?i)\b(?:0x[0-9a-f]+|[0-9a-f]*[0-9][0-9a-f]*[a-f][0-9a-f]*|[0-9a-f]*[a-f][0-9a-f]*[0-9][0-9a-f]*)\b",
    )
});
static NUMBER: LazyLock<Regex> = LazyLock::new(|| pattern(r"\d+(?:\.\d+)?"));

/// The message with values masked: quoted text → `<str>`, UUIDs → `<id>`, hex → `<hex>`,
/// numbers → `<num>`.
pub fn mask_message(message: &str) -> String {
    let m = QUOTED.replace_all(message, "<str>");
    let m = UUID.replace_all(&m, "<id>");
    let m = HEX.replace_all(&m, |c: &regex::Captures| {
        let s = &c[0];
        if s.len() >= 6 || s.starts_with("0x") || s.starts_with("0X") {
            "<hex>".to_string()
        } else {
            s.to_string()
        }
    });
    NUMBER.replace_all(&m, "<num>").into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    const PY_A: &str = "Traceback (most recent call last):\n  File \"/srv/app/views.py\", line 42, in checkout\n    total = cart.total()\n  File \"/srv/app/cart.py\", line 17, in total\n    return sum(p / q for p, q in items)\nZeroDivisionError: division by zero";
    const PY_A_MOVED: &str = "Traceback (most recent call last):\n  File \"/opt/other/views.py\", line 45, in checkout\n    total = cart.total()\n  File \"/opt/other/cart.py\", line 19, in total\n    return sum(p / q for p, q in items)\nZeroDivisionError: division by zero";
    const PY_B: &str = "Traceback (most recent call last):\n  File \"/srv/app/views.py\", line 80, in refund\n    r = payments.refund()\n  File \"/srv/app/payments.py\", line 9, in refund\n    raise ValueError(\"no\")\nValueError: no";

    #[test]
    fn every_pattern_compiles() {
        let all = [
            &PYTHON_FRAME,
            &RUST_FRAME,
            &GO_LOCATION,
            &SYMBOL_HASH,
            &POSITION,
            &DIRECTORY,
            &ADDRESS,
            &QUOTED,
            &UUID,
            &HEX,
            &NUMBER,
        ];
        for re in all {
            assert!(!LazyLock::force(re).as_str().is_empty());
        }
    }

    #[test]
    fn python_frames_innermost_first_without_lines_or_dirs() {
        assert_eq!(
            top_frames(PY_A),
            vec![
                "cart.py in total".to_string(),
                "views.py in checkout".into()
            ]
        );
    }

    #[test]
    fn same_stack_groups_even_when_lines_and_messages_differ() {
        assert_eq!(
            fingerprint("ZeroDivisionError", "division by zero", PY_A),
            fingerprint(
                "ZeroDivisionError",
                "division by zero (order 17)",
                PY_A_MOVED
            )
        );
        assert_ne!(
            fingerprint("ZeroDivisionError", "x", PY_A),
            fingerprint("ZeroDivisionError", "x", PY_B),
            "different stacks are different groups"
        );
        assert_ne!(
            fingerprint("ZeroDivisionError", "x", PY_A),
            fingerprint("ArithmeticError", "x", PY_A),
            "different types are different groups"
        );
    }

    #[test]
    fn module_paths_do_not_split_a_type() {
        assert_eq!(
            fingerprint("__main__.OutOfStockError", "m", PY_A),
            fingerprint("OutOfStockError", "m", PY_A)
        );
        assert_eq!(
            fingerprint("shop::Error", "m", ""),
            fingerprint("Error", "m", "")
        );
        assert_ne!(
            fingerprint("OutOfStockError", "m", PY_A),
            fingerprint("StockError", "m", PY_A)
        );
    }

    #[test]
    fn java_and_javascript_frames() {
        let java = "java.io.IOException: disk full\n\tat com.shop.Store.save(Store.java:88)\n\tat com.shop.Api.post(Api.java:12)";
        assert_eq!(
            top_frames(java),
            vec![
                "com.shop.Store.save(Store.java)",
                "com.shop.Api.post(Api.java)"
            ]
        );
        let js = "TypeError: x is undefined\n    at render (/app/dist/main.js:10:5)\n    at /app/dist/vendor.js:1:200";
        assert_eq!(top_frames(js), vec!["render (main.js)", "vendor.js"]);
    }

    #[test]
    fn rust_and_go_frames() {
        let rust = "   0: shop::checkout::pay::h0123456789abcdef\n             at ./src/checkout.rs:10:5\n   1: shop::main";
        assert_eq!(
            top_frames(rust),
            vec!["shop::checkout::pay", "checkout.rs", "shop::main"]
        );
        let go = "goroutine 1 [running]:\nmain.handler(0xc000010000)\n\t/home/u/app/main.go:42 +0x1d\nmain.main()\n\t/home/u/app/main.go:10 +0x25";
        assert_eq!(top_frames(go), vec!["main.go", "main.go"]);
    }

    #[test]
    fn only_five_innermost_frames_count() {
        let deep: String = (0..9).map(|i| format!("  at f{i} (a.js:1:1)\n")).collect();
        assert_eq!(top_frames(&deep).len(), FINGERPRINT_FRAMES);
        let deeper = format!("{deep}  at caller (b.js:1:1)\n");
        assert_eq!(
            fingerprint("E", "", &deep),
            fingerprint("E", "", &deeper),
            "outer frames do not split a group"
        );
    }

    #[test]
    fn without_stack_the_masked_message_groups() {
        assert_eq!(
            mask_message(
                "user 4242 not found in 'eu-1' (req 9f8e7d6c5b4a, id 3fa85f64-5717-4562-b3fc-2c963f66afa6)"
            ),
            "user <num> not found in <str> (req <hex>, id <id>)"
        );
        assert_eq!(
            fingerprint("KeyError", "user 1 missing", ""),
            fingerprint("KeyError", "user 99 missing", "")
        );
        assert_ne!(
            fingerprint("KeyError", "user 1 missing", ""),
            fingerprint("KeyError", "cart 1 missing", "")
        );
        assert_eq!(fingerprint("E", "m", "").len(), 16);
    }

    #[test]
    fn words_are_not_mistaken_for_hex() {
        assert_eq!(mask_message("bad cafe deadbeef"), "bad cafe deadbeef");
        assert_eq!(mask_message("at 0xdead"), "at <hex>");
    }
}
