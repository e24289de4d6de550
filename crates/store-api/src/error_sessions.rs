//! Which session an error occurrence belongs to, the rule both backends apply when they
//! read: the session of its own span or log record, or — when that carries none, as the
//! backend spans of a browser session often do — the session of its trace's root span.
//! Stored occurrences are never rewritten: a root span usually arrives after its children
//! have failed (it ends last), so the link is made on read.
//!
//! A backend provides one primitive, the sessions that root spans give their traces (root
//! spans with a session, in [`root_window`], narrowed to some traces or some sessions), and
//! these functions do the rest.

use std::collections::{BTreeSet, HashMap};

use tracehouse_model::{ErrorOccurrence, TraceId};

/// How far before and after a query's window a trace's root span is looked for: a root
/// starts before its errors, and a long trace may straddle the window's edge.
pub const ROOT_SLACK_NS: i64 = 3_600_000_000_000;

/// Trace → the session its root span carries.
pub type RootSessions = HashMap<TraceId, String>;

/// The window in which root spans are looked for, for a query over `[start_ns, end_ns)`.
pub fn root_window(start_ns: i64, end_ns: i64) -> (i64, i64) {
    (
        start_ns.saturating_sub(ROOT_SLACK_NS),
        end_ns.saturating_add(ROOT_SLACK_NS),
    )
}

/// The traces of the occurrences that carry no session of their own.
pub fn sessionless_traces(occurrences: &[ErrorOccurrence]) -> Vec<TraceId> {
    let traces: BTreeSet<TraceId> = occurrences
        .iter()
        .filter(|o| o.session_id.is_none())
        .filter_map(|o| o.trace_id)
        .collect();
    traces.into_iter().collect()
}

/// Gives each occurrence without a session the session of its trace's root, if any.
pub fn fill_sessions(occurrences: &mut [ErrorOccurrence], roots: &RootSessions) {
    for o in occurrences.iter_mut().filter(|o| o.session_id.is_none()) {
        o.session_id = o.trace_id.and_then(|t| roots.get(&t)).cloned();
    }
}

/// Distinct sessions per error group: `own` holds the (fingerprint, session) pairs of
/// occurrences with a session, `sessionless` the (fingerprint, trace) pairs of those
/// without one, which count their trace's root session.
pub fn sessions_per_group(
    own: impl IntoIterator<Item = (String, String)>,
    sessionless: impl IntoIterator<Item = (String, TraceId)>,
    roots: &RootSessions,
) -> HashMap<String, u64> {
    let mut sets: HashMap<String, BTreeSet<String>> = HashMap::new();
    for (fingerprint, session) in own {
        sets.entry(fingerprint).or_default().insert(session);
    }
    for (fingerprint, trace) in sessionless {
        if let Some(session) = roots.get(&trace) {
            sets.entry(fingerprint).or_default().insert(session.clone());
        }
    }
    sets.into_iter().map(|(f, s)| (f, s.len() as u64)).collect()
}

/// Occurrences per session: `own` counts those with the session, `sessionless` counts per
/// trace those without any, which belong to the session of their trace's root.
pub fn errors_per_session(
    mut own: HashMap<String, u64>,
    sessionless: impl IntoIterator<Item = (TraceId, u64)>,
    roots: &RootSessions,
) -> HashMap<String, u64> {
    for (trace, n) in sessionless {
        if let Some(session) = roots.get(&trace) {
            *own.entry(session.clone()).or_default() += n;
        }
    }
    own
}

/// The traces whose root carries one of the sessions (what an error search by session
/// also takes, for occurrences without a session of their own).
pub fn traces_of(roots: &RootSessions) -> Vec<TraceId> {
    let traces: BTreeSet<TraceId> = roots.keys().copied().collect();
    traces.into_iter().collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sessionless_occurrences_take_their_roots_session() {
        let roots: RootSessions = [(TraceId([1; 16]), "s1".to_string())].into();
        let per_group = sessions_per_group(
            [("f".to_string(), "s2".to_string())],
            [
                ("f".to_string(), TraceId([1; 16])),
                ("f".to_string(), TraceId([2; 16])),
                ("g".to_string(), TraceId([2; 16])),
            ],
            &roots,
        );
        assert_eq!(per_group.get("f"), Some(&2));
        assert_eq!(per_group.get("g"), None);
        let per_session = errors_per_session(
            [("s1".to_string(), 1)].into(),
            [(TraceId([1; 16]), 2), (TraceId([2; 16]), 5)],
            &roots,
        );
        assert_eq!(per_session, [("s1".to_string(), 3)].into());
        assert_eq!(root_window(i64::MIN, i64::MAX), (i64::MIN, i64::MAX));
    }
}
