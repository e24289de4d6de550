//! Key and value statistics for autocomplete, kept at ingest so that listing keys and top
//! values never scans spans.
//!
//! Statistics are per project and hour: each Parquet part carries a sidecar (`.stats`,
//! JSON) written with it, and the memtable keeps running statistics for its rows, folded
//! in as writes are acknowledged. A query merges the statistics of the hours overlapping
//! its range (so ranges are rounded out to whole hours).
//!
//! The same statistics count spans (and error spans) per minute, so that a histogram of all
//! spans adds up whole minutes instead of scanning rows.
//!
//! Each key keeps how many spans have it, by value type, and the counts of its most
//! frequent values: at most [`MAX_VALUES`] distinct values survive a pruning pass, so
//! counts of keys with very many distinct values are approximate (values that were pruned
//! and came back restart from zero).

use std::collections::{BTreeMap, HashMap};

use datafusion::arrow::array::{
    Array, BooleanArray, FixedSizeBinaryArray, Int64Array, MapArray, RecordBatch, StringArray,
    UInt8Array,
};
use serde::{Deserialize, Serialize};
use tracehouse_query::{Field, Intrinsic, Scope};

use crate::api::{KeyInfo, KeyScope, ValueCount};
use crate::error::StoreError;
use crate::filter::{decode_stored, eval_value};
use crate::schema::col as c;
use tracehouse_model::{Level, SpanKind, StatusCode};

/// Distinct values kept per key (pruned to this many once twice as many accumulate).
pub const MAX_VALUES: usize = 256;
/// Values longer than this (bytes) are counted for the key but not kept as values.
const MAX_VALUE_LEN: usize = 200;

/// What is known about one key.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct KeyEntry {
    /// Spans that have the key.
    pub count: u64,
    /// Spans per value type.
    pub types: BTreeMap<String, u64>,
    /// Spans per value (text form), the most frequent ones.
    pub values: HashMap<String, u64>,
}

impl KeyEntry {
    fn add(&mut self, value_type: &str, value: Option<&str>, n: u64) {
        self.count += n;
        match self.types.get_mut(value_type) {
            Some(t) => *t += n,
            None => {
                self.types.insert(value_type.to_string(), n);
            }
        }
        if let Some(v) = value.filter(|v| v.len() <= MAX_VALUE_LEN) {
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

fn scoped(prefix: &str, key: &str) -> String {
    format!("{prefix}{key}")
}

impl KeyStats {
    fn add(&mut self, scoped_key: &str, value_type: &str, value: Option<&str>) {
        match self.keys.get_mut(scoped_key) {
            Some(e) => e.add(value_type, value, 1),
            None => {
                let mut e = KeyEntry::default();
                e.add(value_type, value, 1);
                self.keys.insert(scoped_key.to_string(), e);
            }
        }
    }

    /// Spans counted in [`KeyStats::minutes`].
    pub fn minute_total(&self) -> u64 {
        self.minutes.values().map(|m| m.spans).sum()
    }

    /// Adds another set of statistics to this one.
    pub fn merge(&mut self, other: &KeyStats) {
        for (minute, c) in &other.minutes {
            let mine = self.minutes.entry(*minute).or_default();
            mine.spans += c.spans;
            mine.errors += c.errors;
        }
        for (k, e) in &other.keys {
            match self.keys.get_mut(k) {
                Some(mine) => mine.merge(e),
                None => {
                    self.keys.insert(k.clone(), e.clone());
                }
            }
        }
    }

    /// The keys, filtered by a case-insensitive prefix, most frequent first.
    pub fn key_infos(&self, prefix: &str, limit: usize) -> Vec<KeyInfo> {
        let prefix = prefix.to_lowercase();
        let mut out: Vec<KeyInfo> = self
            .keys
            .iter()
            .filter_map(|(k, e)| {
                let (scope, key) = match k.split_at_checked(2)? {
                    ("i:", key) => (KeyScope::Intrinsic, key),
                    ("s:", key) => (KeyScope::Span, key),
                    ("r:", key) => (KeyScope::Resource, key),
                    _ => return None,
                };
                key.to_lowercase().starts_with(&prefix).then(|| KeyInfo {
                    key: key.to_string(),
                    scope,
                    value_type: e.main_type(),
                    count: e.count,
                })
            })
            .collect();
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
        let keys: Vec<String> = match field {
            Field::Intrinsic(i) => vec![scoped("i:", i.name())],
            Field::Attr { scope, key } => match scope {
                Scope::Span => vec![scoped("s:", key)],
                Scope::Resource => vec![scoped("r:", key)],
                Scope::Any => vec![scoped("s:", key), scoped("r:", key)],
                // Event, link and scope attributes are not counted in the statistics.
                Scope::Event | Scope::Link | Scope::Instrumentation => Vec::new(),
            },
        };
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

/// The type name of a stored attribute value (JSON text).
fn json_type(raw: &str) -> &'static str {
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

fn get<'a, T: 'static>(batch: &'a RecordBatch, name: &str) -> Result<&'a T, StoreError> {
    batch
        .column_by_name(name)
        .and_then(|a| a.as_any().downcast_ref::<T>())
        .ok_or_else(|| StoreError::Corrupt(format!("column {name} missing or mistyped")))
}

/// Adds the attributes of one row of a map column.
fn add_attrs(stats: &mut KeyStats, map: &MapArray, row: usize, prefix: &str) {
    if map.is_null(row) {
        return;
    }
    let entries = map.value(row);
    let (Some(keys), Some(values)) = (
        entries.column(0).as_any().downcast_ref::<StringArray>(),
        entries.column(1).as_any().downcast_ref::<StringArray>(),
    ) else {
        return;
    };
    let mut scoped_key = String::with_capacity(64);
    for i in 0..keys.len() {
        let raw = values.value(i);
        scoped_key.clear();
        scoped_key.push_str(prefix);
        scoped_key.push_str(keys.value(i));
        let text = decode_stored(raw).map(|v| eval_value(&v).as_text().into_owned());
        stats.add(&scoped_key, json_type(raw), text.as_deref());
    }
}

/// Statistics of a batch per (project, hour of `time_column`): `per_row` adds one row's
/// keys to the statistics of its partition.
fn stats_by_partition(
    batch: &RecordBatch,
    time_column: &str,
    hour_ns: i64,
    mut per_row: impl FnMut(&mut KeyStats, usize),
) -> Result<HashMap<(String, i64), KeyStats>, StoreError> {
    let project: &StringArray = get(batch, c::PROJECT_ID)?;
    let time: &Int64Array = get(batch, time_column)?;
    let mut out: HashMap<(String, i64), KeyStats> = HashMap::new();
    let mut current: Option<((String, i64), KeyStats)> = None;
    for row in 0..batch.num_rows() {
        let key = (project.value(row), time.value(row).div_euclid(hour_ns));
        let switch = current
            .as_ref()
            .is_none_or(|((p, h), _)| p != key.0 || *h != key.1);
        if switch {
            if let Some((k, s)) = current.take() {
                out.entry(k).or_default().merge(&s);
            }
            current = Some(((key.0.to_string(), key.1), KeyStats::default()));
        }
        if let Some((_, stats)) = current.as_mut() {
            per_row(stats, row);
        }
    }
    if let Some((k, s)) = current.take() {
        out.entry(k).or_default().merge(&s);
    }
    Ok(out)
}

/// Adds a non-empty text intrinsic with its value.
fn add_text(stats: &mut KeyStats, i: Intrinsic, v: &str) {
    if !v.is_empty() {
        stats.add(&scoped("i:", i.name()), "string", Some(v));
    }
}

/// Adds a key without values (ids, durations, timestamps, bodies).
fn add_bare(stats: &mut KeyStats, i: Intrinsic, value_type: &str) {
    stats.add(&scoped("i:", i.name()), value_type, None);
}

/// Statistics of a spans batch, per (project, hour), with per-minute span and error counts.
pub fn batch_stats(
    batch: &RecordBatch,
    hour_ns: i64,
) -> Result<HashMap<(String, i64), KeyStats>, StoreError> {
    let start: &Int64Array = get(batch, c::START_TIME)?;
    let name: &StringArray = get(batch, c::NAME)?;
    let service: &StringArray = get(batch, c::SERVICE_NAME)?;
    let version: &StringArray = get(batch, c::SERVICE_VERSION)?;
    let env: &StringArray = get(batch, c::ENVIRONMENT)?;
    let message: &StringArray = get(batch, c::STATUS_MESSAGE)?;
    let session: &StringArray = get(batch, c::SESSION_ID)?;
    let parent: &FixedSizeBinaryArray = get(batch, c::PARENT_SPAN_ID)?;
    let kind: &UInt8Array = get(batch, c::KIND)?;
    let status: &UInt8Array = get(batch, c::STATUS_CODE)?;
    let has_error: &BooleanArray = get(batch, c::HAS_ERROR)?;
    let attrs: &MapArray = get(batch, c::ATTRIBUTES)?;
    let resource: &MapArray = get(batch, c::RESOURCE_ATTRIBUTES)?;
    stats_by_partition(batch, c::START_TIME, hour_ns, |stats, row| {
        add_bare(stats, Intrinsic::TraceId, "id");
        add_bare(stats, Intrinsic::SpanId, "id");
        if !parent.is_null(row) {
            add_bare(stats, Intrinsic::ParentSpanId, "id");
        }
        add_bare(stats, Intrinsic::Duration, "duration");
        add_bare(stats, Intrinsic::Timestamp, "timestamp");
        add_text(stats, Intrinsic::SpanName, name.value(row));
        add_text(stats, Intrinsic::ServiceName, service.value(row));
        add_text(stats, Intrinsic::ServiceVersion, version.value(row));
        add_text(stats, Intrinsic::Environment, env.value(row));
        add_text(stats, Intrinsic::StatusMessage, message.value(row));
        if !session.is_null(row) {
            add_text(stats, Intrinsic::SessionId, session.value(row));
        }
        let k = SpanKind::from_otlp(i32::from(kind.value(row))).as_str();
        stats.add(&scoped("i:", Intrinsic::SpanKind.name()), "string", Some(k));
        let st = StatusCode::from_otlp(i32::from(status.value(row))).as_str();
        stats.add(
            &scoped("i:", Intrinsic::StatusCode.name()),
            "string",
            Some(st),
        );
        let minute = stats
            .minutes
            .entry(start.value(row).div_euclid(MINUTE_NS))
            .or_default();
        minute.spans += 1;
        minute.errors += u64::from(has_error.value(row));
        let e = if has_error.value(row) {
            "true"
        } else {
            "false"
        };
        stats.add(&scoped("i:", Intrinsic::HasErrors.name()), "bool", Some(e));
        add_attrs(stats, attrs, row, "s:");
        add_attrs(stats, resource, row, "r:");
    })
}

/// Statistics of a log records batch, per (project, hour): the log intrinsics (the level
/// with its names as values; ids, body and time without values) and record (`s:`) and
/// resource (`r:`) attributes.
pub fn log_batch_stats(
    batch: &RecordBatch,
    hour_ns: i64,
) -> Result<HashMap<(String, i64), KeyStats>, StoreError> {
    let level: &UInt8Array = get(batch, c::LEVEL)?;
    let trace: &FixedSizeBinaryArray = get(batch, c::TRACE_ID)?;
    let span: &FixedSizeBinaryArray = get(batch, c::SPAN_ID)?;
    let service: &StringArray = get(batch, c::SERVICE_NAME)?;
    let version: &StringArray = get(batch, c::SERVICE_VERSION)?;
    let env: &StringArray = get(batch, c::ENVIRONMENT)?;
    let session: &StringArray = get(batch, c::SESSION_ID)?;
    let attrs: &MapArray = get(batch, c::ATTRIBUTES)?;
    let resource: &MapArray = get(batch, c::RESOURCE_ATTRIBUTES)?;
    stats_by_partition(batch, c::TIME, hour_ns, |stats, row| {
        let name = Level::from_code(level.value(row)).as_str();
        stats.add(
            &scoped("i:", Intrinsic::Severity.name()),
            "string",
            Some(name),
        );
        add_bare(stats, Intrinsic::Body, "string");
        add_bare(stats, Intrinsic::Timestamp, "timestamp");
        if trace.is_valid(row) {
            add_bare(stats, Intrinsic::TraceId, "id");
        }
        if span.is_valid(row) {
            add_bare(stats, Intrinsic::SpanId, "id");
        }
        add_text(stats, Intrinsic::ServiceName, service.value(row));
        add_text(stats, Intrinsic::ServiceVersion, version.value(row));
        add_text(stats, Intrinsic::Environment, env.value(row));
        if !session.is_null(row) {
            add_text(stats, Intrinsic::SessionId, session.value(row));
        }
        add_attrs(stats, attrs, row, "s:");
        add_attrs(stats, resource, row, "r:");
    })
}

/// Adds `from` into `into`, per (project, hour).
pub fn merge_into(
    into: &mut HashMap<(String, i64), KeyStats>,
    from: &HashMap<(String, i64), KeyStats>,
) {
    for (k, s) in from {
        into.entry(k.clone()).or_default().merge(s);
    }
}
