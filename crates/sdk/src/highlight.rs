//! The `x-highlight-request` header: how a browser session is linked to a backend trace.
//!
//! Browser SDKs send `x-highlight-request: <session id>/<request id>` on requests to the
//! backend. The server middleware copies the two parts into the span attributes
//! [`SESSION_ID_ATTRIBUTE`] and [`TRACE_ID_ATTRIBUTE`]; tracehouse reads the session id
//! from `highlight.session_id` and lists the trace in that session.

/// The request header carrying `<session id>/<request id>`.
pub const HEADER: &str = "x-highlight-request";
/// The span attribute holding the browser session id.
pub const SESSION_ID_ATTRIBUTE: &str = "highlight.session_id";
/// The span attribute holding the browser request id.
pub const TRACE_ID_ATTRIBUTE: &str = "highlight.trace_id";

/// Longest id accepted from the header; longer parts make the header malformed.
const MAX_ID_LEN: usize = 256;

/// The parsed value of an `x-highlight-request` header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HighlightRequest {
    /// The browser session id (never empty).
    pub session_id: String,
    /// The request id (the browser's trace id or a random id), when the header has one.
    pub request_id: Option<String>,
}

impl HighlightRequest {
    /// Parses a header value.
    ///
    /// * `"<session>/<request>"` gives both ids;
    /// * a value without `/` is the session id only;
    /// * an empty request part (`"sess/"`) gives no request id; parts after a second `/`
    ///   are ignored;
    /// * an empty value or session part, a part longer than 256 bytes, or characters other
    ///   than visible ASCII make the header malformed: `None`. It never panics.
    ///
    /// ```
    /// use tracehouse_sdk::highlight::HighlightRequest;
    ///
    /// let h = HighlightRequest::parse("a1b2c3/4bf92f3577b34da6a3ce929d0e0e4736").unwrap();
    /// assert_eq!(h.session_id, "a1b2c3");
    /// assert_eq!(h.request_id.as_deref(), Some("4bf92f3577b34da6a3ce929d0e0e4736"));
    /// assert_eq!(HighlightRequest::parse("only-session").unwrap().request_id, None);
    /// assert_eq!(HighlightRequest::parse(""), None);
    /// ```
    pub fn parse(value: &str) -> Option<HighlightRequest> {
        let value = value.trim();
        if value.is_empty() || !value.bytes().all(|b| b.is_ascii_graphic()) {
            return None;
        }
        let mut parts = value.split('/');
        let session = parts.next()?;
        let request = parts.next().filter(|r| !r.is_empty());
        if session.is_empty()
            || session.len() > MAX_ID_LEN
            || request.is_some_and(|r| r.len() > MAX_ID_LEN)
        {
            return None;
        }
        Some(HighlightRequest {
            session_id: session.to_string(),
            request_id: request.map(str::to_string),
        })
    }

    /// Parses the header's raw bytes (as found in an HTTP header map); invalid UTF-8 is
    /// malformed.
    pub fn parse_bytes(value: &[u8]) -> Option<HighlightRequest> {
        std::str::from_utf8(value).ok().and_then(Self::parse)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(v: &str) -> Option<(String, Option<String>)> {
        HighlightRequest::parse(v).map(|h| (h.session_id, h.request_id))
    }

    fn some(s: &str, r: Option<&str>) -> Option<(String, Option<String>)> {
        Some((s.to_string(), r.map(str::to_string)))
    }

    #[test]
    fn with_slash() {
        assert_eq!(parse("sess/req"), some("sess", Some("req")));
        assert_eq!(parse("  sess/req \t"), some("sess", Some("req")));
        assert_eq!(parse("sess/req/extra"), some("sess", Some("req")));
        assert_eq!(parse("sess/"), some("sess", None));
        assert_eq!(parse("sess//req"), some("sess", None));
    }

    #[test]
    fn without_slash() {
        assert_eq!(parse("sess"), some("sess", None));
        assert_eq!(
            parse("QKUCJQzIdTtT2uUpGmYBZkJsnHzC"),
            some("QKUCJQzIdTtT2uUpGmYBZkJsnHzC", None)
        );
    }

    #[test]
    fn empty() {
        assert_eq!(parse(""), None);
        assert_eq!(parse("   "), None);
        assert_eq!(parse("/"), None);
        assert_eq!(parse("/req"), None);
    }

    #[test]
    fn malformed_never_panics() {
        assert_eq!(parse("se ss/req"), None);
        assert_eq!(parse("sess/re\u{0}q"), None);
        assert_eq!(parse("séss/req"), None);
        assert_eq!(parse("sess/\u{1F600}"), None);
        assert_eq!(parse(&"a".repeat(257)), None);
        assert_eq!(parse(&format!("s/{}", "r".repeat(257))), None);
        assert_eq!(parse(&"a".repeat(256)), some(&"a".repeat(256), None));
        assert_eq!(HighlightRequest::parse_bytes(b"\xff\xfe/req"), None);
        assert_eq!(
            HighlightRequest::parse_bytes(b"s/r"),
            some("s", Some("r")).map(|(s, r)| HighlightRequest {
                session_id: s,
                request_id: r
            })
        );
        // Arbitrary bytes: no panics.
        for i in 0..=255u8 {
            for j in [b'/', b'a', 0x80, 0xff] {
                let _ = HighlightRequest::parse_bytes(&[i, j, i]);
            }
        }
    }
}
