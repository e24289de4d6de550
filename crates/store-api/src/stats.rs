//! Key and value statistics for autocomplete, kept at ingest so that listing keys and top
//! values never scans spans.
//!
//! Statistics are per project and hour; each backend keeps them its own way (the embedded
//! engine in a sidecar of every part and for its memtable, ClickHouse in tables fed by
//! materialized views). Autocomplete counts a range exactly ([`HourSplit`]): the whole
//! hours inside it from their statistics, the partial hours at its edges from the records
//! themselves, the same way, unless they hold more than [`MAX_SCANNED_RECORDS`].
//!
//! The same statistics count spans (and error spans) per minute, so that a histogram of all
//! spans adds up whole minutes instead of scanning rows.
//!
//! Each key keeps how many spans have it, by value type, and the counts of its most
//! frequent values: at most [`MAX_VALUES`] distinct values survive a pruning pass, so
//! counts of keys with very many distinct values are approximate (values that were pruned
//! and came back restart from zero).

use std::collections::{BTreeMap, HashMap};

use serde::{Deserialize, Serialize};
use tracehouse_query::plan::{IntrinsicKind, Target, reserved_keys, resolve_key, short_alias};
use tracehouse_query::{Field, Filter, Scope};

use crate::api::{KeyInfo, KeyScope, ValueCount};
use crate::metrics::SpanMetrics;

/// Distinct values kept per key (pruned to this many once twice as many accumulate).
pub const MAX_VALUES: usize = 256;
/// Values longer than this (bytes) are counted for the key but not kept as values.
const MAX_VALUE_LEN: usize = 200;

/// Whether a value is short enough to be kept among a key's values.
pub fn keeps_value(v: &str) -> bool {
    v.len() <= MAX_VALUE_LEN
}

/// What is known about one key.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct KeyEntry {
    /// Spans that have the key.
    pub count: u64,
    /// Spans per value type.
    pub types: BTreeMap<String, u64>,
    /// Spans per value (text form), the most frequent ones.
    pub values: HashMap<String, u64, foldhash::fast::RandomState>,
}

impl KeyEntry {
    /// Counts `n` more spans having the key with a value of `value_type`.
    pub fn add_rows(&mut self, value_type: &str, n: u64) {
        self.count += n;
        match self.types.get_mut(value_type) {
            Some(t) => *t += n,
            None => {
                self.types.insert(value_type.to_string(), n);
            }
        }
    }

    /// Counts `n` more spans having the value `v` (spans already counted with
    /// [`KeyEntry::add_rows`]); values longer than the kept length are not kept.
    pub fn add_value(&mut self, v: &str, n: u64) {
        if !keeps_value(v) {
            return;
        }
        match self.values.get_mut(v) {
            Some(x) => *x += n,
            None => {
                self.values.insert(v.to_string(), n);
                if self.values.len() > 2 * MAX_VALUES {
                    self.prune();
                }
            }
        }
    }

    fn prune(&mut self) {
        let mut all: Vec<(String, u64)> = self.values.drain().collect();
        all.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
        all.truncate(MAX_VALUES);
        self.values = all.into_iter().collect();
    }

    fn merge(&mut self, other: &KeyEntry) {
        self.count += other.count;
        for (t, n) in &other.types {
            *self.types.entry(t.clone()).or_default() += n;
        }
        for (v, n) in &other.values {
            *self.values.entry(v.clone()).or_default() += n;
        }
        if self.values.len() > 2 * MAX_VALUES {
            self.prune();
        }
    }

    /// The most frequent value type.
    fn main_type(&self) -> String {
        self.types
            .iter()
            .max_by(|a, b| a.1.cmp(b.1).then_with(|| b.0.cmp(a.0)))
            .map(|(t, _)| t.clone())
            .unwrap_or_default()
    }
}

/// Statistics of a set of spans; keys are `i:<intrinsic>`, `s:<span attribute>` or
/// `r:<resource attribute>`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct KeyStats {
    /// Entries by scoped key.
    pub keys: BTreeMap<String, KeyEntry>,
    /// Spans and error spans per minute (minutes since the epoch). Statistics written before
    /// minutes were counted lack them: [`KeyStats::minute_total`] then falls short of the
    /// row count, and readers scan instead.
    #[serde(default)]
    pub minutes: BTreeMap<i64, MinuteCount>,
    /// Span metrics per minute, service, span name, kind and status (spans only).
    /// Statistics written before span metrics were kept lack them:
    /// [`SpanMetrics::total`] then falls short of the row count.
    #[serde(default)]
    pub metrics: SpanMetrics,
}

/// Spans starting in one minute.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct MinuteCount {
    /// Spans.
    pub spans: u64,
    /// Spans with `has_error`.
    pub errors: u64,
}

/// One minute in ns: the resolution of the per-minute counts.
pub const MINUTE_NS: i64 = 60_000_000_000;

/// One hour in ns: the grain of the key and value statistics.
pub const HOUR_NS: i64 = 3_600_000_000_000;

/// Records autocomplete reads, at most, to count the keys and values of the partial hours
/// at a range's edges; a partial hour past that budget is counted from its whole hour's
/// statistics instead (an overcount, bounded by that hour).
pub const MAX_SCANNED_RECORDS: u64 = 50_000;

/// How autocomplete counts a range `[start, end)` exactly with statistics kept per hour:
/// the whole hours inside it from the statistics, the partial hours at its edges from the
/// records starting in them (counted as the statistics count, so both agree).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HourSplit {
    /// The hour-aligned `[start, end)` of the whole hours inside the range, if any.
    pub whole: Option<(i64, i64)>,
    /// The partial hours at the edges, `[start, end)` each, within one hour each.
    pub edges: Vec<(i64, i64)>,
}

impl HourSplit {
    /// The split of `[start_ns, end_ns)`.
    pub fn of(start_ns: i64, end_ns: i64) -> HourSplit {
        let first = start_ns
            .div_euclid(HOUR_NS)
            .saturating_add(i64::from(start_ns.rem_euclid(HOUR_NS) != 0))
            .saturating_mul(HOUR_NS);
        let last = end_ns.div_euclid(HOUR_NS).saturating_mul(HOUR_NS);
        if first > last {
            // Inside one hour.
            let edges = if start_ns < end_ns {
                vec![(start_ns, end_ns)]
            } else {
                Vec::new()
            };
            return HourSplit { whole: None, edges };
        }
        HourSplit {
            whole: (first < last).then_some((first, last)),
            edges: [(start_ns, first), (last, end_ns)]
                .into_iter()
                .filter(|(a, b)| a < b)
                .collect(),
        }
    }

    /// The whole hour holding a partial one: what counts it when it holds too many records.
    pub fn hour_of(edge: (i64, i64)) -> (i64, i64) {
        let start = edge.0.div_euclid(HOUR_NS).saturating_mul(HOUR_NS);
        (start, start.saturating_add(HOUR_NS))
    }

    /// How to count a partial hour: `None` to read its own records, or the rest of its hour
    /// when that is the shorter time to read, whose records are then taken from the whole
    /// hour's counts. A window ending now has its last hour's rest in the future, which
    /// holds no records (or the few of a sender ahead of the clock).
    pub fn rest_of(edge: (i64, i64)) -> Option<Vec<(i64, i64)>> {
        let (start, end) = Self::hour_of(edge);
        let rest: Vec<(i64, i64)> = [(start, edge.0), (edge.1, end)]
            .into_iter()
            .filter(|(a, b)| a < b)
            .collect();
        let length = |r: &[(i64, i64)]| r.iter().map(|(a, b)| b - a).sum::<i64>();
        (length(&rest) < length(&[edge])).then_some(rest)
    }
}

/// A statistics key: a scope prefix (`i:` intrinsic, `s:` span, `r:` resource …) and the key.
pub fn scoped(prefix: &str, key: &str) -> String {
    format!("{prefix}{key}")
}

impl KeyStats {
    /// The entry of `scoped_key`, created empty when the key is new.
    pub fn entry(&mut self, scoped_key: &str) -> &mut KeyEntry {
        if !self.keys.contains_key(scoped_key) {
            return self.keys.entry(scoped_key.to_string()).or_default();
        }
        self.keys
            .get_mut(scoped_key)
            .unwrap_or_else(|| unreachable!("the key was found just above"))
    }

    /// Counts one row having `scoped_key` with a value of `value_type` (and its text).
    pub fn add(&mut self, scoped_key: &str, value_type: &str, value: Option<&str>) {
        let e = self.entry(scoped_key);
        e.add_rows(value_type, 1);
        if let Some(v) = value {
            e.add_value(v, 1);
        }
    }

    /// Spans counted in [`KeyStats::minutes`].
    pub fn minute_total(&self) -> u64 {
        self.minutes.values().map(|m| m.spans).sum()
    }

    /// Adds another set of statistics to this one.
    pub fn merge(&mut self, other: &KeyStats) {
        self.metrics.merge(&other.metrics);
        self.merge_minutes(other);
        for (k, e) in &other.keys {
            match self.keys.get_mut(k) {
                Some(mine) => mine.merge(e),
                None => {
                    self.keys.insert(k.clone(), e.clone());
                }
            }
        }
    }

    /// Adds only the per-minute counts of another set of statistics to these: all a
    /// histogram of every span reads, without the keys, values and span metrics cells whose
    /// merging grows with the data held.
    pub fn merge_minutes(&mut self, other: &KeyStats) {
        for (minute, c) in &other.minutes {
            let mine = self.minutes.entry(*minute).or_default();
            mine.spans += c.spans;
            mine.errors += c.errors;
        }
    }

    /// Takes the keys and values `other` counts (statistics of some of the records this
    /// counts) away from these: keys and values no record is left with are dropped. Minutes and
    /// span metrics stay as they are.
    pub fn remove(&mut self, other: &KeyStats) {
        for (k, o) in &other.keys {
            let Some(mine) = self.keys.get_mut(k) else {
                continue;
            };
            mine.count = mine.count.saturating_sub(o.count);
            for (t, n) in &o.types {
                if let Some(m) = mine.types.get_mut(t) {
                    *m = m.saturating_sub(*n);
                }
            }
            for (v, n) in &o.values {
                if let Some(m) = mine.values.get_mut(v) {
                    *m = m.saturating_sub(*n);
                }
            }
            mine.types.retain(|_, n| *n > 0);
            mine.values.retain(|_, n| *n > 0);
            if mine.count == 0 {
                self.keys.remove(k);
            }
        }
    }

    /// The keys of `target`, filtered by a case-insensitive prefix, most frequent first.
    ///
    /// Every key is offered as a query reads it: built-in fields by their canonical names
    /// (each one `target` has, with a count of 0 before any record has it), attributes by
    /// their plain key unless that names something else (a built-in field or its
    /// [`short_alias`], a scope prefix), then as `span.key` / `resource.key`.
    pub fn key_infos(&self, target: Target, prefix: &str, limit: usize) -> Vec<KeyInfo> {
        let prefix = prefix.to_lowercase();
        let mut out: Vec<KeyInfo> = self
            .keys
            .iter()
            .filter_map(|(k, e)| {
                let (scope, key) = match k.split_at_checked(2)? {
                    ("i:", key) => (KeyScope::Intrinsic, key.to_string()),
                    ("s:", key) => (KeyScope::Span, offered_key(key, "span.", target)),
                    ("r:", key) => (KeyScope::Resource, offered_key(key, "resource.", target)),
                    _ => return None,
                };
                Some(KeyInfo {
                    key,
                    scope,
                    value_type: e.main_type(),
                    count: e.count,
                })
            })
            .collect();
        for i in reserved_keys(target) {
            if !self.keys.contains_key(&scoped("i:", i.name())) {
                out.push(KeyInfo {
                    key: i.name().to_string(),
                    scope: KeyScope::Intrinsic,
                    value_type: intrinsic_type(i.kind()).to_string(),
                    count: 0,
                });
            }
        }
        out.retain(|k| k.key.to_lowercase().starts_with(&prefix));
        out.sort_by(|a, b| {
            b.count
                .cmp(&a.count)
                .then_with(|| a.key.cmp(&b.key))
                .then_with(|| a.scope.cmp(&b.scope))
        });
        out.truncate(limit);
        out
    }

    /// The top values of a field, filtered by a case-insensitive prefix.
    pub fn values(&self, field: &Field, prefix: &str, limit: usize) -> Vec<ValueCount> {
        let keys = stats_keys(field);
        let prefix = prefix.to_lowercase();
        let mut counts: HashMap<&str, u64> = HashMap::new();
        for k in &keys {
            if let Some(e) = self.keys.get(k) {
                for (v, n) in &e.values {
                    if v.to_lowercase().starts_with(&prefix) {
                        *counts.entry(v.as_str()).or_default() += n;
                    }
                }
            }
        }
        let mut out: Vec<ValueCount> = counts
            .into_iter()
            .map(|(value, count)| ValueCount {
                value: value.to_string(),
                count,
            })
            .collect();
        out.sort_by(|a, b| b.count.cmp(&a.count).then_with(|| a.value.cmp(&b.value)));
        out.truncate(limit);
        out
    }
}

/// The statistics keys that count a field (`i:name`, `s:key`, `r:key`); none for event,
/// link and instrumentation-scope attributes, which the statistics do not count.
pub fn stats_keys(field: &Field) -> Vec<String> {
    match field {
        Field::Intrinsic(i) => vec![scoped("i:", i.name())],
        Field::Attr { scope, key } => match scope {
            Scope::Span => vec![scoped("s:", key)],
            Scope::Resource => vec![scoped("r:", key)],
            Scope::Any => vec![scoped("s:", key), scoped("r:", key)],
            Scope::Event | Scope::Link | Scope::Instrumentation => Vec::new(),
        },
    }
}

/// Whether statistics in which `has` tells the keys present prove that no record has the
/// attribute `field` reads (never for built-in fields or attributes they do not count): what
/// a store may fold with [`tracehouse_query::Filter::without_absent`].
pub fn is_absent(field: &Field, has: impl Fn(&str) -> bool) -> bool {
    let keys = stats_keys(field);
    matches!(field, Field::Attr { .. }) && !keys.is_empty() && !keys.iter().any(|k| has(k))
}

/// The attribute fields a filter tests with `Exists` whose absence statistics can prove.
pub fn exists_fields(filter: &Filter) -> Vec<&Field> {
    let mut all = Vec::new();
    collect_exists(filter, &mut all);
    all.retain(|f| matches!(f, Field::Attr { .. }) && !stats_keys(f).is_empty());
    all
}

fn collect_exists<'a>(filter: &'a Filter, out: &mut Vec<&'a Field>) {
    match filter {
        Filter::Exists(f) => out.push(f),
        Filter::And(items) | Filter::Or(items) => {
            items.iter().for_each(|f| collect_exists(f, out));
        }
        Filter::Not(inner) => collect_exists(inner, out),
        Filter::True | Filter::Cmp { .. } | Filter::Match { .. } => {}
    }
}

/// A query over a project's window with a pushdown filter (searches and histograms), which
/// a store may simplify with what its statistics prove ([`is_absent`]).
pub trait FilteredQuery: Clone {
    /// The project searched.
    fn project_id(&self) -> &str;
    /// `[start, end)` in ns.
    fn window(&self) -> (i64, i64);
    /// The pushdown filter (it names every attribute the query tests for presence, the
    /// structure's included).
    fn pushdown(&self) -> &Filter;
    /// Folds the query's plan (pushdown and structure) with what `absent` proves
    /// ([`tracehouse_query::Plan::without_absent`]).
    fn fold_absent(&mut self, absent: &dyn Fn(&Field) -> bool);
}

/// Implements [`FilteredQuery`] for a query type with `project_id`, `start_ns`, `end_ns`
/// and `plan` fields.
macro_rules! filtered_query {
    ($query:ty) => {
        impl FilteredQuery for $query {
            fn project_id(&self) -> &str {
                &self.project_id
            }
            fn window(&self) -> (i64, i64) {
                (self.start_ns, self.end_ns)
            }
            fn pushdown(&self) -> &Filter {
                &self.plan.pushdown
            }
            fn fold_absent(&mut self, absent: &dyn Fn(&Field) -> bool) {
                self.plan = self.plan.clone().without_absent(&absent);
            }
        }
    };
}

filtered_query!(crate::SearchQuery);
filtered_query!(crate::HistogramQuery);
filtered_query!(crate::metrics::SpanMetricsQuery);

/// How autocomplete offers an attribute key: plain when the plain key reads exactly this
/// attribute, else with its scope prefix (`span.service`, `resource.duration`).
fn offered_key(key: &str, scope_prefix: &str, target: Target) -> String {
    let plain = resolve_key(key, target)
        == Field::Attr {
            scope: Scope::Any,
            key: key.to_string(),
        };
    if plain && short_alias(key, target).is_none() {
        key.to_string()
    } else {
        format!("{scope_prefix}{key}")
    }
}

/// The key prefix a query's key `prefix` can match in the statistics: the text after a
/// `span.` or `resource.` scope prefix, which autocomplete offers before some keys.
pub fn stats_prefix(prefix: &str) -> &str {
    ["span.", "resource."]
        .iter()
        .find_map(|p| prefix.strip_prefix(p))
        .unwrap_or(prefix)
}

/// The value type autocomplete names for a built-in field.
fn intrinsic_type(kind: IntrinsicKind) -> &'static str {
    match kind {
        IntrinsicKind::Id => "id",
        IntrinsicKind::Duration => "duration",
        IntrinsicKind::Timestamp => "timestamp",
        IntrinsicKind::Bool => "bool",
        IntrinsicKind::Text
        | IntrinsicKind::Status
        | IntrinsicKind::Kind
        | IntrinsicKind::Severity => "string",
    }
}

/// The type name of a stored attribute value (JSON text).
pub fn json_type(raw: &str) -> &'static str {
    match raw.as_bytes().first() {
        Some(b'"') => "string",
        Some(b't' | b'f') => "bool",
        Some(b'[') => "array",
        Some(b'{') if raw.starts_with("{\"$bytes\"") => "bytes",
        Some(b'{') => "map",
        Some(b'n') | None => "string",
        Some(_) if raw.contains(['.', 'e', 'E']) => "float",
        Some(_) => "int",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tracehouse_query::{parse, plan};

    #[test]
    fn merging_minutes_adds_their_counts_and_nothing_else() {
        let mut part = KeyStats::default();
        part.add("s:user.id", "int", Some("7"));
        part.minutes.insert(
            3,
            MinuteCount {
                spans: 5,
                errors: 1,
            },
        );
        let mut into = KeyStats::default();
        into.minutes.insert(
            3,
            MinuteCount {
                spans: 2,
                errors: 0,
            },
        );
        into.merge_minutes(&part);
        into.merge_minutes(&part);
        assert_eq!(
            into.minutes[&3],
            MinuteCount {
                spans: 12,
                errors: 2
            }
        );
        assert!(into.keys.is_empty());
        let mut whole = KeyStats::default();
        whole.merge(&part);
        assert_eq!(whole.minutes, part.minutes);
        assert_eq!(whole.keys.len(), 1);
    }

    #[test]
    fn ranges_split_into_whole_hours_and_edges() {
        const H: i64 = HOUR_NS;
        const M: i64 = MINUTE_NS;
        let split = |a, b| {
            let s = HourSplit::of(a, b);
            (s.whole, s.edges)
        };
        assert_eq!(split(10 * H, 12 * H), (Some((10 * H, 12 * H)), vec![]));
        assert_eq!(
            split(10 * H + 5 * M, 12 * H + 1),
            (
                Some((11 * H, 12 * H)),
                vec![(10 * H + 5 * M, 11 * H), (12 * H, 12 * H + 1)]
            )
        );
        assert_eq!(
            split(10 * H + M, 11 * H + M),
            (None, vec![(10 * H + M, 11 * H), (11 * H, 11 * H + M)])
        );
        assert_eq!(
            split(10 * H + M, 10 * H + 2 * M),
            (None, vec![(10 * H + M, 10 * H + 2 * M)])
        );
        assert_eq!(
            split(10 * H, 10 * H + M),
            (None, vec![(10 * H, 10 * H + M)])
        );
        assert_eq!(split(-H - M, -H + M).1, vec![(-H - M, -H), (-H, -H + M)]);
        assert_eq!(split(5, 5), (None, vec![]));
        assert_eq!(HourSplit::hour_of((10 * H + M, 11 * H)), (10 * H, 11 * H));
        assert_eq!(HourSplit::hour_of((-M, 0)), (-H, 0));
        // The shorter time is read: an edge, or the rest of its hour.
        assert_eq!(
            HourSplit::rest_of((10 * H + 5 * M, 11 * H)),
            Some(vec![(10 * H, 10 * H + 5 * M)])
        );
        assert_eq!(HourSplit::rest_of((10 * H, 10 * H + 5 * M)), None);
        assert_eq!(
            HourSplit::rest_of((10 * H + M, 10 * H + 58 * M)),
            Some(vec![(10 * H, 10 * H + M), (10 * H + 58 * M, 11 * H)])
        );
        assert_eq!(HourSplit::rest_of((10 * H + 20 * M, 10 * H + 50 * M)), None);
    }

    #[test]
    fn removed_records_leave_what_the_rest_has() {
        let mut hour = KeyStats::default();
        hour.entry("s:a").add_rows("string", 3);
        hour.entry("s:a").add_value("x", 2);
        hour.entry("s:a").add_value("y", 1);
        hour.entry("s:b").add_rows("int", 1);
        let mut part = KeyStats::default();
        part.entry("s:a").add_rows("string", 2);
        part.entry("s:a").add_value("x", 2);
        part.entry("s:b").add_rows("int", 1);
        part.entry("s:c").add_rows("int", 1);
        hour.remove(&part);
        assert_eq!(hour.keys.keys().collect::<Vec<_>>(), ["s:a"]);
        let a = &hour.keys["s:a"];
        assert_eq!((a.count, a.types["string"]), (1, 1));
        assert_eq!(a.values, [("y".to_string(), 1)].into_iter().collect());
    }

    #[test]
    fn only_counted_attributes_can_be_proved_absent() {
        let pushdown = plan(
            &parse("service:x event.k EXISTS span.a EXISTS")
                .unwrap_or(tracehouse_query::Query::Filter(None)),
        )
        .pushdown;
        let fields: Vec<String> = exists_fields(&pushdown)
            .into_iter()
            .flat_map(stats_keys)
            .collect();
        assert_eq!(
            fields,
            ["s:service", "r:service", "s:service", "r:service", "s:a"]
        );
        let nothing = |_: &str| false;
        let any = Field::Attr {
            scope: Scope::Any,
            key: "service".into(),
        };
        assert!(is_absent(&any, nothing));
        assert!(!is_absent(&any, |k: &str| k == "r:service"));
        let event = Field::Attr {
            scope: Scope::Event,
            key: "k".into(),
        };
        assert!(!is_absent(&event, nothing), "events are not counted");
        let intrinsic = Field::Intrinsic(tracehouse_query::Intrinsic::ServiceName);
        assert!(!is_absent(&intrinsic, nothing));
    }
}
