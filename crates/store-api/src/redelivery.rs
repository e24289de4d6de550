//! Spans delivered twice are stored once. OTLP exporters and collectors resend a batch whose
//! acknowledgement they did not see (a timeout, a dropped connection), so the same spans can
//! arrive again seconds or minutes later. Both backends pass every span write through
//! [`RecentSpans`] first: a span whose content fingerprint (`span_fingerprint`: every field,
//! ids included) was stored recently, or that repeats within the write, is left out, so
//! every read — trace by id, searches, counts, histograms, span metrics, error occurrences —
//! sees it once. Spans that only share ids (Zipkin's client and server halves, a buggy SDK)
//! differ in content and are all kept.
//!
//! The window is bounded by memory, not time: two generations of fingerprints, the older
//! dropped when the newer fills, so the last `per_generation` to `2 × per_generation`
//! stored spans are remembered. A fingerprint is remembered only once its write is durable
//! ([`RecentSpans::remember`]): a resend racing the original write is stored too (a read of
//! the trace by id still folds identical copies, [`fold_identical`]).
//!
//! The window lives in memory, so a restart empties it. The embedded store fills it again
//! as it opens, with the spans its write-ahead log replays into the memtable (oldest first,
//! within the budget as usual): a batch acknowledged just before a crash or restart is still
//! left out when the client sends it again. Its remaining limitation: a span whose first
//! copy was already flushed to a part before the restart is no longer in the log, so its
//! resend is stored again, and so is a resend racing the original. Until compaction,
//! searches, histograms, span metrics and autocomplete counts count such a copy twice and
//! trace by id folds it; the embedded store's compaction then leaves identical copies out
//! of the part it merges (`crates/engine/src/storage/merge.rs`) and counts the part's
//! statistics from the rows it keeps, once both copies are in small parts of one partition.
//! The error occurrences derived from such a copy stay counted twice. ClickHouse does not
//! fill the window at start: a resend after its restart is stored again and folded by
//! trace by id only.

use std::collections::HashSet;
use std::hash::{BuildHasherDefault, Hasher};
use std::sync::{Mutex, PoisonError};

use tracehouse_model::{Span, span_fingerprint};

/// Bytes one remembered fingerprint takes in a full generation's hash table: 16 bytes of
/// fingerprint and one control byte, in a table at most 7/8 full.
const BYTES_PER_SPAN: usize = 17 * 8 / 7 + 1;

/// The fingerprints of recently stored spans (see the module docs).
#[derive(Debug)]
pub struct RecentSpans {
    per_generation: usize,
    generations: Mutex<Generations>,
}

#[derive(Debug, Default)]
struct Generations {
    current: Fingerprints,
    previous: Fingerprints,
}

type Fingerprints = HashSet<u128, BuildHasherDefault<Prehashed>>;

/// The spans of a write that were not stored recently, with their fingerprints for
/// [`RecentSpans::remember`] once the write is durable.
#[derive(Debug)]
pub struct FreshSpans {
    /// The spans to store, in the order written.
    pub spans: Vec<Span>,
    fingerprints: Vec<u128>,
}

impl RecentSpans {
    /// A window whose fingerprints take at most about `bytes`.
    pub fn with_budget(bytes: usize) -> Self {
        RecentSpans {
            per_generation: (bytes / 2 / BYTES_PER_SPAN).max(1),
            generations: Mutex::default(),
        }
    }

    /// How many stored spans the window remembers at least.
    pub fn per_generation(&self) -> usize {
        self.per_generation
    }

    /// Leaves out the spans stored recently and repeats within `spans`.
    pub fn fresh(&self, spans: Vec<Span>) -> FreshSpans {
        let prints: Vec<u128> = spans.iter().map(span_fingerprint).collect();
        let mut in_write = Fingerprints::default();
        let seen = {
            let g = self.lock();
            prints
                .iter()
                .map(|p| g.current.contains(p) || g.previous.contains(p) || !in_write.insert(*p))
                .collect::<Vec<bool>>()
        };
        let (mut kept, mut fingerprints) = (Vec::with_capacity(spans.len()), Vec::new());
        for ((span, print), seen) in spans.into_iter().zip(prints).zip(seen) {
            if !seen {
                kept.push(span);
                fingerprints.push(print);
            }
        }
        FreshSpans {
            spans: kept,
            fingerprints,
        }
    }

    /// Records the fingerprints of a write that is now durable.
    pub fn remember(&self, fresh: &[u128]) {
        let mut g = self.lock();
        for p in fresh {
            if g.current.len() >= self.per_generation {
                let full = std::mem::take(&mut g.current);
                g.previous = full;
                g.current.reserve(self.per_generation);
            }
            g.current.insert(*p);
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Generations> {
        self.generations
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }
}

impl FreshSpans {
    /// The fingerprints of [`FreshSpans::spans`], to remember once they are stored.
    pub fn fingerprints(&self) -> &[u128] {
        &self.fingerprints
    }

    /// The spans and their fingerprints apart, for a writer done with the spans before
    /// their write is durable.
    pub fn into_parts(self) -> (Vec<Span>, Vec<u128>) {
        (self.spans, self.fingerprints)
    }
}

/// Drops identical copies from the spans of a trace and orders them by start time and span
/// id; spans that only share an id are all kept.
pub fn fold_identical(spans: &mut Vec<Span>) {
    spans.sort_by_key(|s| (s.start_time_unix_nano, s.span_id));
    let mut kept: Vec<Span> = Vec::with_capacity(spans.len());
    for span in spans.drain(..) {
        let same_place = kept.iter().rev().take_while(|k| {
            (k.start_time_unix_nano, k.span_id) == (span.start_time_unix_nano, span.span_id)
        });
        if !same_place.into_iter().any(|k| *k == span) {
            kept.push(span);
        }
    }
    *spans = kept;
}

/// A hasher for keys that are already uniform hashes: it keeps their low 64 bits.
#[derive(Debug, Default)]
struct Prehashed(u64);

impl Hasher for Prehashed {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.0 = self.0.rotate_left(8) ^ u64::from(*b);
        }
    }

    fn write_u128(&mut self, v: u128) {
        self.0 = v as u64;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tracehouse_model::{AttrValue, SpanId, TraceId};

    use crate::testsuite::testkit::span;

    fn spans(n: u8) -> Vec<Span> {
        (1..=n)
            .map(|i| span(TraceId([i; 16]), SpanId([i; 8]), i64::from(i), 5))
            .collect()
    }

    #[test]
    fn a_remembered_write_is_left_out_and_a_different_one_kept() {
        let recent = RecentSpans::with_budget(1 << 20);
        let first = recent.fresh(spans(3));
        assert_eq!(first.spans.len(), 3);
        assert_eq!(recent.fresh(spans(3)).spans.len(), 3, "not durable yet");
        recent.remember(first.fingerprints());
        assert!(recent.fresh(spans(3)).spans.is_empty());
        let mut changed = spans(3);
        changed[1].attributes.insert("k".into(), AttrValue::Int(1));
        let again = recent.fresh(changed);
        assert_eq!(again.spans.len(), 1, "only the changed span is new");
        assert_eq!(again.spans[0].span_id, SpanId([2; 8]));
    }

    #[test]
    fn repeats_within_one_write_are_left_out() {
        let recent = RecentSpans::with_budget(1 << 20);
        let mut twice = spans(2);
        twice.extend(spans(2));
        assert_eq!(recent.fresh(twice).spans.len(), 2);
    }

    #[test]
    fn the_window_keeps_one_to_two_generations() {
        let recent = RecentSpans::with_budget(4 * BYTES_PER_SPAN);
        assert_eq!(recent.per_generation(), 2);
        let all = spans(5);
        let fresh = recent.fresh(all.clone());
        recent.remember(fresh.fingerprints());
        // Generations {1, 2} (dropped), {3, 4}, {5}.
        let left = recent.fresh(all);
        let ids: Vec<SpanId> = left.spans.iter().map(|s| s.span_id).collect();
        assert_eq!(ids, vec![SpanId([1; 8]), SpanId([2; 8])]);
    }

    #[test]
    fn identical_copies_fold_even_apart_while_halves_stay() {
        let mut client = span(TraceId([1; 16]), SpanId([2; 8]), 100, 50);
        client.kind = tracehouse_model::SpanKind::Client;
        let mut server = client.clone();
        server.kind = tracehouse_model::SpanKind::Server;
        let root = span(TraceId([1; 16]), SpanId([1; 8]), 0, 500);
        let mut spans = vec![client.clone(), server.clone(), root.clone(), client.clone()];
        fold_identical(&mut spans);
        assert_eq!(spans, [root, client, server]);
    }

    #[test]
    fn folding_keeps_spans_that_only_share_an_id() {
        let mut trace = spans(2);
        let mut server = trace[0].clone();
        server.kind = tracehouse_model::SpanKind::Client;
        trace.push(server);
        trace.push(trace[0].clone());
        trace.push(trace[1].clone());
        fold_identical(&mut trace);
        assert_eq!(trace.len(), 3);
        assert_eq!(trace[0].span_id, trace[1].span_id);
        assert_ne!(trace[0], trace[1]);
    }
}
