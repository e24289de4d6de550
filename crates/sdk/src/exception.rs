//! Recording errors and panics as OpenTelemetry `exception` events.

use std::backtrace::{Backtrace, BacktraceStatus};
use std::error::Error as StdError;
use std::fmt::Write as _;
use std::sync::OnceLock;

use opentelemetry::KeyValue;
use opentelemetry::trace::Status;
use opentelemetry_sdk::trace::SdkTracerProvider;
use tracing::Span;
use tracing_opentelemetry::OpenTelemetrySpanExt;

/// The provider to flush after a panic outside any span (set by `init`).
pub(crate) static PROVIDER: OnceLock<SdkTracerProvider> = OnceLock::new();

/// Records `err` on the current span as an `exception` event and marks the span as failed.
///
/// The event carries `exception.type`, `exception.message` and `exception.stacktrace`; the
/// stacktrace lists the error's `source()` chain, followed by a backtrace of the call site
/// when `RUST_BACKTRACE` is set. Without a current span, a span named `error` is created
/// for the error alone, so it is never lost.
///
/// ```
/// use tracehouse_sdk::record_error;
///
/// #[tracing::instrument]
/// fn load(path: &str) -> Result<String, std::io::Error> {
///     std::fs::read_to_string(path).inspect_err(|e| record_error(e))
/// }
/// # let _ = load("/definitely/not/here");
/// ```
pub fn record_error<E: StdError + ?Sized>(err: &E) {
    record_error_on(&Span::current(), err);
}

/// Records `err` on `span` (see [`record_error`]).
pub fn record_error_on<E: StdError + ?Sized>(span: &Span, err: &E) {
    let attributes = exception_attributes(err);
    let message = err.to_string();
    if span.is_none() {
        let span = tracing::error_span!("error", otel.kind = "internal");
        span.add_event("exception", attributes);
        span.set_status(Status::error(message));
        return;
    }
    span.add_event("exception", attributes);
    span.set_status(Status::error(message));
}

/// The `exception.*` attributes of an error.
pub fn exception_attributes<E: StdError + ?Sized>(err: &E) -> Vec<KeyValue> {
    vec![
        KeyValue::new("exception.type", error_type(err)),
        KeyValue::new("exception.message", err.to_string()),
        KeyValue::new("exception.stacktrace", stacktrace(err)),
    ]
}

/// The error's type name; for `dyn Error` the leading identifier of its `Debug` output.
fn error_type<E: StdError + ?Sized>(err: &E) -> String {
    let name = std::any::type_name::<E>();
    if !name.starts_with("dyn ") {
        return name.to_string();
    }
    let debug = format!("{err:?}");
    let ident: String = debug
        .chars()
        .take_while(|c| c.is_alphanumeric() || *c == '_' || *c == ':')
        .collect();
    if ident.is_empty() {
        name.to_string()
    } else {
        ident
    }
}

/// The message and `source()` chain, one `caused by:` line per source, then the backtrace of
/// the recording site if `RUST_BACKTRACE` enables one.
fn stacktrace<E: StdError + ?Sized>(err: &E) -> String {
    let mut out = err.to_string();
    let mut source = err.source();
    let mut depth = 0;
    while let Some(cause) = source {
        let _ = write!(out, "\ncaused by: {cause}");
        source = cause.source();
        depth += 1;
        if depth >= 64 {
            out.push_str("\ncaused by: …");
            break;
        }
    }
    let backtrace = Backtrace::capture();
    if backtrace.status() == BacktraceStatus::Captured {
        let _ = write!(out, "\n\nrecorded at:\n{backtrace}");
    }
    out
}

/// Installs a panic hook that records every panic as an `exception` event (type `panic`,
/// the panic message, location and a backtrace) on the current span, marking it failed,
/// then runs the previously installed hook.
///
/// A panic outside any span gets a span of its own (`panic`), which is flushed at once so
/// it survives a process that aborts.
///
/// ```no_run
/// let _guard = tracehouse_sdk::init(tracehouse_sdk::Config::new().service_name("worker"))?;
/// tracehouse_sdk::install_panic_hook();
/// # Ok::<(), tracehouse_sdk::Error>(())
/// ```
pub fn install_panic_hook() {
    let previous = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        let message = if let Some(s) = info.payload().downcast_ref::<&str>() {
            (*s).to_string()
        } else if let Some(s) = info.payload().downcast_ref::<String>() {
            s.clone()
        } else {
            "Box<dyn Any>".to_string()
        };
        let location = info
            .location()
            .map(|l| format!("{}:{}:{}", l.file(), l.line(), l.column()))
            .unwrap_or_default();
        let thread = std::thread::current();
        let thread_name = thread.name().unwrap_or("<unnamed>");
        let stacktrace = format!(
            "thread '{thread_name}' panicked at {location}:\n{message}\n\n{}",
            Backtrace::force_capture()
        );
        let attributes = vec![
            KeyValue::new("exception.type", "panic"),
            KeyValue::new("exception.message", message.clone()),
            KeyValue::new("exception.stacktrace", stacktrace),
            KeyValue::new("exception.escaped", true),
        ];
        let current = Span::current();
        if current.is_none() {
            {
                let span = tracing::error_span!("panic", otel.kind = "internal");
                span.add_event("exception", attributes);
                span.set_status(Status::error(message));
            }
            // Never flush from the exporter's own threads: that would wait on ourselves.
            if !thread_name.starts_with("OpenTelemetry")
                && let Some(provider) = PROVIDER.get()
            {
                let _ = provider.force_flush();
            }
        } else {
            current.add_event("exception", attributes);
            current.set_status(Status::error(message));
        }
        previous(info);
    }));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug)]
    struct Outer(std::io::Error);
    impl std::fmt::Display for Outer {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("could not load config")
        }
    }
    impl StdError for Outer {
        fn source(&self) -> Option<&(dyn StdError + 'static)> {
            Some(&self.0)
        }
    }

    #[test]
    fn attributes_carry_type_message_and_chain() {
        let err = Outer(std::io::Error::new(
            std::io::ErrorKind::NotFound,
            "no such file",
        ));
        let attrs = exception_attributes(&err);
        let get = |k: &str| {
            attrs
                .iter()
                .find(|kv| kv.key.as_str() == k)
                .map(|kv| kv.value.to_string())
                .unwrap_or_default()
        };
        assert!(get("exception.type").ends_with("Outer"), "{attrs:?}");
        assert_eq!(get("exception.message"), "could not load config");
        assert!(
            get("exception.stacktrace")
                .starts_with("could not load config\ncaused by: no such file"),
            "{attrs:?}"
        );
        let dynamic: &(dyn StdError + 'static) = &err;
        let attrs = exception_attributes(dynamic);
        assert_eq!(attrs[0].value.to_string(), "Outer");
    }
}
