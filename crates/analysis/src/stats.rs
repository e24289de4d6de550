//! Statistics of one trace: its spans grouped by service, operation or an attribute, and
//! within each group by a second key, with count, total, average, minimum and maximum
//! duration and self time — the time a span does not wait on any of its children, with
//! overlapping children merged and children clipped to the span.

use std::collections::BTreeMap;

use serde::Serialize;
use tracehouse_model::Span;
use utoipa::ToSchema;

use crate::tree::Tree;

/// What spans are grouped by.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GroupKey {
    /// The span's service.
    Service,
    /// The span's name (its operation).
    Operation,
    /// An attribute of the span, else of its resource.
    Attribute(String),
}

impl GroupKey {
    /// `service`, `name` or `operation`, else an attribute key.
    pub fn parse(key: &str) -> Self {
        match key {
            "service" | "service.name" => GroupKey::Service,
            "name" | "operation" => GroupKey::Operation,
            other => GroupKey::Attribute(other.to_string()),
        }
    }

    /// The span's value for the key; `None` when it has no such attribute.
    fn value_of(&self, span: &Span) -> Option<String> {
        match self {
            GroupKey::Service => Some(span.service_name.clone()),
            GroupKey::Operation => Some(span.name.clone()),
            GroupKey::Attribute(key) => span
                .attributes
                .get(key)
                .or_else(|| span.resource_attributes.get(key))
                .map(|v| v.as_text()),
        }
    }
}

/// Durations of a set of spans.
#[derive(Debug, Clone, Default, PartialEq, Serialize, ToSchema)]
pub struct SpanStats {
    /// Spans in the set.
    pub count: u64,
    /// Sum of their durations, ns.
    pub total_ns: i64,
    /// Average duration (`total_ns / count`, rounded down), ns.
    pub avg_ns: i64,
    /// Shortest duration, ns.
    pub min_ns: i64,
    /// Longest duration, ns.
    pub max_ns: i64,
    /// Sum of their self times, ns.
    pub self_ns: i64,
    /// `self_ns` as a share of the trace's duration (0 to 1; 0 for a trace lasting no time).
    pub self_share: f64,
}

/// A set of spans sharing a value.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct StatsRow {
    /// The value the spans share; null for spans without the key.
    #[schema(required = true)]
    pub value: Option<String>,
    /// Their statistics.
    #[serde(flatten)]
    pub stats: SpanStats,
    /// Indexes of the spans in the trace's `spans` (for filtering the waterfall).
    pub span_indexes: Vec<usize>,
}

/// One group of spans by the first key.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct StatsGroup {
    /// The group.
    #[serde(flatten)]
    pub row: StatsRow,
    /// The group split by the second key (empty without one), largest self time first.
    pub subgroups: Vec<StatsRow>,
}

/// The statistics of one trace.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct TraceStats {
    /// From the earliest span start to the latest span end, ns.
    pub trace_duration_ns: i64,
    /// Groups by the first key, largest self time first.
    pub groups: Vec<StatsGroup>,
}

/// Self time of every span of the tree, by index.
pub fn self_times(tree: &Tree) -> Vec<i64> {
    (0..tree.spans().len())
        .map(|i| {
            let s = tree.span(i);
            let (start, end) = (s.start_time_unix_nano, s.end_time_unix_nano);
            let mut kids: Vec<(i64, i64)> = tree
                .children(i)
                .iter()
                .map(|&c| {
                    let c = tree.span(c);
                    (
                        c.start_time_unix_nano.max(start),
                        c.end_time_unix_nano.min(end),
                    )
                })
                .filter(|(a, b)| b > a)
                .collect();
            kids.sort_unstable();
            let mut covered = 0;
            let mut reach = i64::MIN;
            for (a, b) in kids {
                let from = a.max(reach);
                if b > from {
                    covered += b - from;
                }
                reach = reach.max(b);
            }
            (end - start - covered).max(0)
        })
        .collect()
}

/// The statistics of the tree's trace grouped by `by`, then (within each group) by `then`.
pub fn trace_stats(tree: &Tree, by: &GroupKey, then: Option<&GroupKey>) -> TraceStats {
    let spans = tree.spans();
    let selfs = self_times(tree);
    let start = spans.iter().map(|s| s.start_time_unix_nano).min();
    let end = spans.iter().map(|s| s.end_time_unix_nano).max();
    let trace_duration_ns = start.zip(end).map_or(0, |(s, e)| (e - s).max(0));
    let all: Vec<usize> = (0..spans.len()).collect();
    let groups = group(spans, &selfs, trace_duration_ns, &all, by, then);
    TraceStats {
        trace_duration_ns,
        groups,
    }
}

fn group(
    spans: &[Span],
    selfs: &[i64],
    trace_ns: i64,
    members: &[usize],
    by: &GroupKey,
    then: Option<&GroupKey>,
) -> Vec<StatsGroup> {
    let mut out: Vec<StatsGroup> = rows(spans, selfs, trace_ns, members, by)
        .into_iter()
        .map(|row| StatsGroup {
            subgroups: then.map_or_else(Vec::new, |t| {
                rows(spans, selfs, trace_ns, &row.span_indexes, t)
            }),
            row,
        })
        .collect();
    out.sort_by_key(|g| std::cmp::Reverse(g.row.stats.self_ns));
    out
}

/// The members split by their value of `key`, largest self time first.
fn rows(
    spans: &[Span],
    selfs: &[i64],
    trace_ns: i64,
    members: &[usize],
    key: &GroupKey,
) -> Vec<StatsRow> {
    let mut by_value: BTreeMap<Option<String>, Vec<usize>> = BTreeMap::new();
    for &i in members {
        by_value.entry(key.value_of(&spans[i])).or_default().push(i);
    }
    let mut out: Vec<StatsRow> = by_value
        .into_iter()
        .map(|(value, span_indexes)| StatsRow {
            value,
            stats: stats_of(spans, selfs, trace_ns, &span_indexes),
            span_indexes,
        })
        .collect();
    out.sort_by_key(|r| std::cmp::Reverse(r.stats.self_ns));
    out
}

fn stats_of(spans: &[Span], selfs: &[i64], trace_ns: i64, members: &[usize]) -> SpanStats {
    let durations = || members.iter().map(|&i| spans[i].duration_nanos);
    let count = members.len() as u64;
    let total_ns: i64 = durations().sum();
    let self_ns: i64 = members.iter().map(|&i| selfs[i]).sum();
    SpanStats {
        count,
        total_ns,
        avg_ns: if count == 0 {
            0
        } else {
            total_ns / count as i64
        },
        min_ns: durations().min().unwrap_or(0),
        max_ns: durations().max().unwrap_or(0),
        self_ns,
        self_share: if trace_ns > 0 {
            self_ns as f64 / trace_ns as f64
        } else {
            0.0
        },
    }
}

#[cfg(test)]
mod tests {
    use tracehouse_model::SpanKind;

    use super::*;
    use crate::testkit::{SpanExt, child, root};

    /// Self time by brute force: every nanosecond of the span not inside any child.
    fn brute_self(spans: &[Span], tree: &Tree, i: usize) -> i64 {
        let s = &spans[i];
        (s.start_time_unix_nano..s.end_time_unix_nano)
            .filter(|&t| {
                !tree.children(i).iter().any(|&c| {
                    let c = &spans[c];
                    c.start_time_unix_nano <= t && t < c.end_time_unix_nano
                })
            })
            .count() as i64
    }

    /// A small pseudo-random trace: nested, overlapping, overflowing and async children.
    fn random_trace(seed: u64) -> Vec<Span> {
        let mut state = seed
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        let mut next = |n: u64| {
            state = state
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            (state >> 33) % n
        };
        let services = ["web", "api", "db"];
        let mut spans = vec![root(1, 0, 200).named("web", "GET /")];
        for id in 2..=12u64 {
            let parent = 1 + next(id - 1);
            let p = &spans[(parent - 1) as usize];
            let start = p.start_time_unix_nano - 10 + next(p.duration_nanos as u64 + 30) as i64;
            let service = services[next(3) as usize];
            let mut s = child(id, parent, start, next(120) as i64)
                .named(service, &format!("op{}", next(4)));
            if next(4) == 0 {
                s = s.kind(SpanKind::Consumer).attr("peer", "queue");
            }
            spans.push(s);
        }
        spans
    }

    #[test]
    fn self_time_equals_brute_force() {
        for seed in 0..200 {
            let spans = random_trace(seed);
            let tree = Tree::new(&spans);
            let selfs = self_times(&tree);
            for (i, own) in selfs.iter().enumerate() {
                assert_eq!(*own, brute_self(&spans, &tree, i), "seed {seed} span {i}");
            }
        }
    }

    #[test]
    fn groups_equal_brute_force() {
        for seed in 0..50 {
            let spans = random_trace(seed);
            let tree = Tree::new(&spans);
            let by = GroupKey::parse("service");
            let then = GroupKey::parse("peer");
            let stats = trace_stats(&tree, &by, Some(&then));
            assert_eq!(stats.trace_duration_ns, {
                let s = spans
                    .iter()
                    .map(|s| s.start_time_unix_nano)
                    .min()
                    .unwrap_or(0);
                spans
                    .iter()
                    .map(|s| s.end_time_unix_nano)
                    .max()
                    .unwrap_or(0)
                    - s
            });
            let mut seen = 0;
            for g in &stats.groups {
                let (g, subgroups) = (&g.row, &g.subgroups);
                let members: Vec<usize> = (0..spans.len())
                    .filter(|&i| Some(&spans[i].service_name) == g.value.as_ref())
                    .collect();
                assert_eq!(g.span_indexes, members, "seed {seed}");
                let durations: Vec<i64> =
                    members.iter().map(|&i| spans[i].duration_nanos).collect();
                let self_ns: i64 = members.iter().map(|&i| brute_self(&spans, &tree, i)).sum();
                assert_eq!(g.stats.count, members.len() as u64);
                assert_eq!(g.stats.total_ns, durations.iter().sum::<i64>());
                assert_eq!(g.stats.min_ns, *durations.iter().min().unwrap_or(&0));
                assert_eq!(g.stats.max_ns, *durations.iter().max().unwrap_or(&0));
                assert_eq!(g.stats.self_ns, self_ns);
                let sub: usize = subgroups.iter().map(|s| s.span_indexes.len()).sum();
                assert_eq!(sub, members.len(), "subgroups split the group");
                for s in subgroups {
                    assert!(s.span_indexes.iter().all(|&i| {
                        spans[i].attributes.get("peer").map(|v| v.as_text()) == s.value
                    }));
                }
                seen += members.len();
            }
            assert_eq!(seen, spans.len());
            assert!(
                stats
                    .groups
                    .windows(2)
                    .all(|w| w[0].row.stats.self_ns >= w[1].row.stats.self_ns)
            );
        }
    }

    #[test]
    fn overlapping_nested_and_async_children() {
        // 0..100 with children 10..40 and 30..60 (overlapping: 50 covered), a grandchild
        // inside the second, and a consumer running past the end (clipped: 90..100).
        let spans = vec![
            root(1, 0, 100).named("web", "GET /"),
            child(2, 1, 10, 30).named("api", "a"),
            child(3, 1, 30, 30).named("api", "b"),
            child(4, 3, 35, 10).named("db", "q"),
            child(5, 1, 90, 50)
                .named("worker", "consume")
                .kind(SpanKind::Consumer),
        ];
        let tree = Tree::new(&spans);
        assert_eq!(self_times(&tree), vec![40, 30, 20, 10, 50]);
        let stats = trace_stats(&tree, &GroupKey::Operation, None);
        assert_eq!(stats.trace_duration_ns, 140);
        let values: Vec<_> = stats
            .groups
            .iter()
            .map(|g| g.row.value.as_deref())
            .collect();
        assert_eq!(
            values,
            [
                Some("consume"),
                Some("GET /"),
                Some("a"),
                Some("b"),
                Some("q")
            ]
        );
        assert!((stats.groups[0].row.stats.self_share - 50.0 / 140.0).abs() < 1e-12);
        let by_attr = trace_stats(&tree, &GroupKey::parse("http.route"), None);
        assert_eq!(by_attr.groups.len(), 1);
        assert_eq!(by_attr.groups[0].row.value, None);
        assert_eq!(by_attr.groups[0].row.stats.count, 5);
    }
}
