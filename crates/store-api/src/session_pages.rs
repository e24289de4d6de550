//! What the sessions list says of a browser session beyond its counts of traces and spans:
//! its page loads (OpenTelemetry's document-load span), its network requests (the HTTP client
//! spans of an OpenTelemetry web SDK), its browser (read from the user agent) and a one-line
//! summary (entry page → last page).
//!
//! Both backends count [`browser_request`] spans in their session aggregate, read the
//! [`page_load`] spans of the listed sessions with their [`URL_FIELDS`] and
//! [`USER_AGENT_FIELDS`] values, and fold those rows with [`PageLoads`].

use std::collections::HashMap;

use tracehouse_query::plan::{CmpOp, Field, Filter, Intrinsic, Scope, Value};

use crate::SessionSummary;

/// The name of the root span OpenTelemetry's document-load instrumentation records for each
/// page load.
pub const PAGE_LOAD_SPAN: &str = "documentLoad";

/// Where a page-load span keeps the page's URL, in order of preference (current and older
/// semantic conventions).
pub const URL_FIELDS: [(Scope, &str); 2] = [(Scope::Span, "url.full"), (Scope::Span, "http.url")];

/// Where a span keeps the browser's user agent, in order of preference: the document-load
/// span's attribute (current and older conventions), then a resource attribute.
pub const USER_AGENT_FIELDS: [(Scope, &str); 3] = [
    (Scope::Span, "user_agent.original"),
    (Scope::Span, "http.user_agent"),
    (Scope::Resource, "user_agent.original"),
];

/// The fields of a `(scope, key)` list.
pub fn fields(list: &[(Scope, &str)]) -> Vec<Field> {
    list.iter()
        .map(|(scope, key)| Field::Attr {
            scope: *scope,
            key: (*key).to_string(),
        })
        .collect()
}

fn equals(field: Field, value: &str) -> Filter {
    Filter::Cmp {
        field,
        op: CmpOp::Eq,
        value: Value::Str(value.to_string()),
    }
}

fn span_attr(key: &str) -> Field {
    Field::Attr {
        scope: Scope::Span,
        key: key.to_string(),
    }
}

/// A page load: the document-load instrumentation's root span.
pub fn page_load() -> Filter {
    equals(Field::Intrinsic(Intrinsic::SpanName), PAGE_LOAD_SPAN)
}

/// A network request of the browser: an HTTP client span (method under the current or the
/// older convention) of a service whose resource says it runs OpenTelemetry's web SDK.
pub fn browser_request() -> Filter {
    Filter::And(vec![
        equals(Field::Intrinsic(Intrinsic::SpanKind), "client"),
        Filter::Or(vec![
            Filter::Exists(span_attr("http.request.method")),
            Filter::Exists(span_attr("http.method")),
        ]),
        equals(
            Field::Attr {
                scope: Scope::Resource,
                key: "telemetry.sdk.language".into(),
            },
            "webjs",
        ),
    ])
}

/// One session's page loads, folded.
#[derive(Debug, Default)]
struct Pages {
    count: u64,
    /// (start, url) of the earliest page load, and of the latest.
    first: Option<(i64, String)>,
    last: Option<(i64, String)>,
    user_agent: Option<(i64, String)>,
}

/// The page loads of sessions, folded into their summaries' pages, browser and summary.
/// Ties in time are broken by the URL, so that the answer does not depend on read order.
#[derive(Debug, Default)]
pub struct PageLoads {
    by_session: HashMap<String, Pages>,
}

impl PageLoads {
    /// Adds one page-load span of `session` starting at `start_ns`, with its page's URL and
    /// the user agent (when the span says them).
    pub fn add(
        &mut self,
        session: &str,
        start_ns: i64,
        url: Option<&str>,
        user_agent: Option<&str>,
    ) {
        let pages = self.by_session.entry(session.to_string()).or_default();
        pages.count += 1;
        if let Some(url) = url {
            let at = (start_ns, url.to_string());
            if pages.first.as_ref().is_none_or(|f| at < *f) {
                pages.first = Some(at.clone());
            }
            if pages.last.as_ref().is_none_or(|l| at > *l) {
                pages.last = Some(at);
            }
        }
        if let Some(ua) = user_agent.filter(|ua| !ua.is_empty()) {
            let at = (start_ns, ua.to_string());
            if pages.user_agent.as_ref().is_none_or(|u| at < *u) {
                pages.user_agent = Some(at);
            }
        }
    }

    /// Sets the page count, entry and exit pages, browser and summary of `session`.
    pub fn describe(&self, session: &mut SessionSummary) {
        let Some(pages) = self.by_session.get(&session.session_id) else {
            return;
        };
        session.page_count = pages.count;
        session.entry_page = pages.first.as_ref().map(|(_, u)| u.clone());
        session.exit_page = pages.last.as_ref().map(|(_, u)| u.clone());
        session.browser = pages.user_agent.as_ref().map(|(_, ua)| browser_name(ua));
        session.summary = summary(
            session.entry_page.as_deref(),
            session.exit_page.as_deref(),
            pages.count,
        );
    }
}

/// `entry → exit` by path (`entry` alone when the session stayed on one page), with the number
/// of page loads when there were more than the two named.
fn summary(entry: Option<&str>, exit: Option<&str>, count: u64) -> Option<String> {
    let (entry, exit) = (page_path(entry?), page_path(exit?));
    let route = if entry == exit {
        entry.to_string()
    } else {
        format!("{entry} → {exit}")
    };
    let named = if entry == exit { 1 } else { 2 };
    Some(if count > named {
        format!("{route} ({count} pages)")
    } else {
        route
    })
}

/// A URL's path (without scheme, host, query or fragment); text that is not a URL as it is.
fn page_path(url: &str) -> &str {
    let Some((_, rest)) = url.split_once("://") else {
        return url;
    };
    let path = rest.find('/').map_or("/", |i| &rest[i..]);
    let end = path.find(['?', '#']).unwrap_or(path.len());
    &path[..end]
}

/// Browser families by the user-agent token that names them, most specific first (Edge and
/// Opera also say Chrome, Chrome also says Safari).
const BROWSERS: [(&str, &str); 9] = [
    ("Edg/", "Edge"),
    ("OPR/", "Opera"),
    ("SamsungBrowser/", "Samsung Internet"),
    ("HeadlessChrome/", "Headless Chrome"),
    ("Chrome/", "Chrome"),
    ("CriOS/", "Chrome"),
    ("Firefox/", "Firefox"),
    ("FxiOS/", "Firefox"),
    ("Version/", "Safari"),
];

/// Operating systems by a user-agent token, most specific first (Android says Linux, iOS says
/// Mac OS X).
const SYSTEMS: [(&str, &str); 7] = [
    ("Android", "Android"),
    ("iPhone", "iOS"),
    ("iPad", "iOS"),
    ("CrOS", "ChromeOS"),
    ("Windows", "Windows"),
    ("Mac OS X", "macOS"),
    ("Linux", "Linux"),
];

/// A short name of the browser a user agent describes, e.g. `Chrome 131 on Linux`: the
/// family and major version, and the operating system when the agent names one. An agent of
/// no known family is answered as it is, cut at 60 characters.
pub fn browser_name(user_agent: &str) -> String {
    let family = BROWSERS.iter().find_map(|(token, name)| {
        let at = user_agent.find(token)? + token.len();
        let major: String = user_agent[at..]
            .chars()
            .take_while(char::is_ascii_digit)
            .collect();
        Some(if major.is_empty() {
            (*name).to_string()
        } else {
            format!("{name} {major}")
        })
    });
    let Some(family) = family else {
        return user_agent.chars().take(60).collect();
    };
    match SYSTEMS.iter().find(|(token, _)| user_agent.contains(token)) {
        Some((_, os)) => format!("{family} on {os}"),
        None => family,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const CHROME: &str = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) \
                          Chrome/131.0.0.0 Safari/537.36";

    #[test]
    fn browsers_are_named_by_family_version_and_system() {
        assert_eq!(browser_name(CHROME), "Chrome 131 on Linux");
        assert_eq!(
            browser_name(
                "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) \
                 Chrome/120.0.0.0 Safari/537.36 Edg/120.0.2210.91"
            ),
            "Edge 120 on Windows"
        );
        assert_eq!(
            browser_name(
                "Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) AppleWebKit/605.1.15 \
                 (KHTML, like Gecko) Version/17.1 Mobile/15E148 Safari/604.1"
            ),
            "Safari 17 on iOS"
        );
        assert_eq!(
            browser_name("Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0"),
            "Firefox 133 on Linux"
        );
        assert_eq!(browser_name("curl/8.5.0"), "curl/8.5.0");
    }

    fn summary_of(loads: &[(i64, &str)]) -> SessionSummary {
        let mut pages = PageLoads::default();
        for (at, url) in loads {
            pages.add("s", *at, Some(url), Some(CHROME));
        }
        let mut s = SessionSummary {
            session_id: "s".into(),
            ..SessionSummary::default()
        };
        pages.describe(&mut s);
        s
    }

    #[test]
    fn the_summary_runs_from_the_entry_page_to_the_last() {
        let s = summary_of(&[
            (30, "http://shop.test/checkout?step=2"),
            (10, "http://shop.test/"),
            (20, "http://shop.test/cart#top"),
        ]);
        assert_eq!(s.page_count, 3);
        assert_eq!(s.entry_page.as_deref(), Some("http://shop.test/"));
        assert_eq!(
            s.exit_page.as_deref(),
            Some("http://shop.test/checkout?step=2")
        );
        assert_eq!(s.summary.as_deref(), Some("/ → /checkout (3 pages)"));
        assert_eq!(s.browser.as_deref(), Some("Chrome 131 on Linux"));
        let one = summary_of(&[(10, "http://shop.test"), (20, "http://shop.test/")]);
        assert_eq!(one.summary.as_deref(), Some("/ (2 pages)"));
        let two = summary_of(&[(10, "/a"), (20, "/b")]);
        assert_eq!(two.summary.as_deref(), Some("/a → /b"));
    }

    #[test]
    fn a_session_without_page_loads_keeps_its_defaults() {
        let s = summary_of(&[]);
        assert_eq!((s.page_count, s.summary, s.browser), (0, None, None));
    }
}
