//! Key and value statistics of stored rows, computed from Arrow batches at ingest and for
//! each part (the statistics themselves: [`tracehouse_store_api::stats`]).

use std::borrow::Cow;
use std::collections::{BTreeMap, HashMap};

use datafusion::arrow::array::{
    Array, BooleanArray, FixedSizeBinaryArray, Int64Array, MapArray, RecordBatch, StringArray,
    UInt8Array,
};
use tracehouse_model::{Level, SpanKind, StatusCode};
use tracehouse_query::Intrinsic;
use tracehouse_store_api::metrics::{Cell, CellKey};
use tracehouse_store_api::stats::{
    KeyEntry, KeyStats, MAX_VALUES, MINUTE_NS, MinuteCount, json_type, keeps_value, scoped,
};
use tracehouse_store_api::value::{decode_stored, eval_value};

use crate::error::StoreError;
use crate::storage::schema::col as c;

fn get<'a, T: 'static>(batch: &'a RecordBatch, name: &str) -> Result<&'a T, StoreError> {
    batch
        .column_by_name(name)
        .and_then(|a| a.as_any().downcast_ref::<T>())
        .ok_or_else(|| StoreError::Corrupt(format!("column {name} missing or mistyped")))
}

/// A statistics key while a batch is tallied: its scope prefix (`s:`, `r:`) and its name,
/// borrowed from the batch.
type TallyKey<'a> = (&'static str, &'a str);

/// What is known about one key of a batch's partition, borrowing values from the batch.
#[derive(Default)]
struct TallyEntry<'a> {
    count: u64,
    types: Vec<(&'static str, u64)>,
    values: HashMap<Cow<'a, str>, u64, foldhash::fast::RandomState>,
    /// The value of the current run of rows (neighbouring rows often share a value: the
    /// spans of one service), added to `values` when the run ends.
    run: Option<(Cow<'a, str>, u64)>,
}

impl<'a> TallyEntry<'a> {
    /// Counts `n` rows with a value of `value_type` (and its text).
    fn add(&mut self, value_type: &'static str, value: Option<Cow<'a, str>>, n: u64) {
        self.count += n;
        match self.types.iter_mut().find(|(t, _)| *t == value_type) {
            Some((_, c)) => *c += n,
            None => self.types.push((value_type, n)),
        }
        let Some(v) = value.filter(|v| keeps_value(v)) else {
            return;
        };
        match &mut self.run {
            Some((current, c)) if *current == v => *c += n,
            run => {
                if let Some((ended, c)) = run.replace((v, n)) {
                    *self.values.entry(ended).or_default() += c;
                }
            }
        }
    }

    /// Folds the entry into `entry`, keeping the most frequent [`MAX_VALUES`] values (as
    /// [`KeyStats`] itself prunes).
    fn fold_into(mut self, entry: &mut KeyEntry) {
        if let Some((v, c)) = self.run.take() {
            *self.values.entry(v).or_default() += c;
        }
        for (value_type, n) in self.types {
            entry.add_rows(value_type, n);
        }
        let mut values: Vec<(Cow<'_, str>, u64)> = self.values.into_iter().collect();
        if values.len() > MAX_VALUES {
            values.sort_unstable_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
            values.truncate(MAX_VALUES);
        }
        for (v, n) in values {
            entry.add_value(&v, n);
        }
    }
}

/// A run of rows whose attribute map (of one scope) is the same: the resource attributes
/// of the spans of one resource, tallied once for the whole run.
struct MapRun<'a> {
    map: &'a MapArray,
    row: usize,
    rows: u64,
}

impl MapRun<'_> {
    /// Whether row `other` holds the same entries as the run's row.
    fn same_as(&self, other: usize) -> bool {
        let Some((keys, values)) = map_strings(self.map) else {
            return false;
        };
        let offsets = self.map.value_offsets();
        let (a, b) = (offsets[self.row] as usize, offsets[other] as usize);
        let len = offsets[self.row + 1] as usize - a;
        len == offsets[other + 1] as usize - b
            && (0..len).all(|i| {
                keys.value(a + i) == keys.value(b + i) && values.value(a + i) == values.value(b + i)
            })
    }
}

/// The key and value arrays of a map column of strings.
fn map_strings(map: &MapArray) -> Option<(&StringArray, &StringArray)> {
    Some((
        map.keys().as_any().downcast_ref::<StringArray>()?,
        map.values().as_any().downcast_ref::<StringArray>()?,
    ))
}

/// The statistics of one partition of a batch, tallied with keys and values borrowed
/// from the batch's arrays (nothing is allocated per row), then folded into a
/// [`KeyStats`] once.
struct Tally<'a> {
    /// Intrinsic keys, by [`Intrinsic`] discriminant.
    intrinsics: [Option<TallyEntry<'a>>; Intrinsic::ALL.len()],
    attrs: HashMap<TallyKey<'a>, TallyEntry<'a>, foldhash::fast::RandomState>,
    /// The current run of each attribute scope (`s:`, `r:`).
    maps: Vec<(&'static str, MapRun<'a>)>,
    minutes: BTreeMap<i64, MinuteCount>,
    /// Span metrics by (minute, service, name, kind code, status code), keys borrowed.
    metrics: HashMap<MetricKey<'a>, Cell, foldhash::fast::RandomState>,
}

/// A span metrics cell's key while a batch is tallied, borrowing its texts from the batch.
type MetricKey<'a> = (i64, &'a str, &'a str, u8, u8);

impl Default for Tally<'_> {
    fn default() -> Self {
        Tally {
            intrinsics: std::array::from_fn(|_| None),
            attrs: HashMap::default(),
            maps: Vec::new(),
            minutes: BTreeMap::new(),
            metrics: HashMap::default(),
        }
    }
}

impl<'a> Tally<'a> {
    /// Counts one row having intrinsic `i` with a value of `value_type` (and its text).
    fn intrinsic(&mut self, i: Intrinsic, value_type: &'static str, value: Option<Cow<'a, str>>) {
        self.intrinsics[i as usize]
            .get_or_insert_with(TallyEntry::default)
            .add(value_type, value, 1);
    }

    /// Adds a non-empty text intrinsic with its value.
    fn text(&mut self, i: Intrinsic, v: &'a str) {
        if !v.is_empty() {
            self.intrinsic(i, "string", Some(Cow::Borrowed(v)));
        }
    }

    /// Adds a key without values (ids, durations, timestamps, bodies).
    fn bare(&mut self, i: Intrinsic, value_type: &'static str) {
        self.intrinsic(i, value_type, None);
    }

    /// Adds the attributes of one row of a map column: to the current run of its scope
    /// when the row has the same entries, else ending that run.
    fn attrs(&mut self, map: &'a MapArray, row: usize, prefix: &'static str) {
        if map.is_null(row) {
            return;
        }
        match self.maps.iter_mut().find(|(p, _)| *p == prefix) {
            Some((_, run)) if std::ptr::eq(run.map, map) && run.same_as(row) => run.rows += 1,
            Some((_, run)) => {
                let ended = std::mem::replace(run, MapRun { map, row, rows: 1 });
                self.add_map(prefix, &ended);
            }
            None => self.maps.push((prefix, MapRun { map, row, rows: 1 })),
        }
    }

    /// Counts the entries of a run's row for each row of the run.
    fn add_map(&mut self, prefix: &'static str, run: &MapRun<'a>) {
        let Some((keys, values)) = map_strings(run.map) else {
            return;
        };
        let offsets = run.map.value_offsets();
        for i in offsets[run.row] as usize..offsets[run.row + 1] as usize {
            let raw = values.value(i);
            self.attrs.entry((prefix, keys.value(i))).or_default().add(
                json_type(raw),
                stored_text(raw),
                run.rows,
            );
        }
    }

    /// The tallied statistics as a [`KeyStats`].
    fn into_stats(mut self) -> KeyStats {
        for (prefix, run) in std::mem::take(&mut self.maps) {
            self.add_map(prefix, &run);
        }
        let mut stats = KeyStats {
            minutes: self.minutes,
            ..KeyStats::default()
        };
        for ((minute, service, name, kind, status), cell) in self.metrics {
            let key = CellKey {
                minute,
                service: service.to_string(),
                name: name.to_string(),
                kind: SpanKind::from_otlp(i32::from(kind)),
                status: StatusCode::from_otlp(i32::from(status)),
            };
            stats.metrics.add_owned(key, cell);
        }
        for (i, tally) in Intrinsic::ALL.iter().zip(self.intrinsics) {
            if let Some(tally) = tally {
                tally.fold_into(stats.entry(&scoped("i:", i.name())));
            }
        }
        let mut scoped_key = String::with_capacity(64);
        for ((prefix, key), tally) in self.attrs {
            scoped_key.clear();
            scoped_key.push_str(prefix);
            scoped_key.push_str(key);
            tally.fold_into(stats.entry(&scoped_key));
        }
        stats
    }
}

/// The text form of a stored attribute value (JSON text) as statistics count it, borrowed
/// where the stored text already is it (plain strings, integers, booleans).
fn stored_text(raw: &str) -> Option<Cow<'_, str>> {
    if let Some(inner) = raw.strip_prefix('"').and_then(|r| r.strip_suffix('"'))
        && !inner.contains(['\\', '"'])
    {
        return Some(Cow::Borrowed(inner));
    }
    if matches!(raw, "true" | "false") || canonical_int(raw) {
        return Some(Cow::Borrowed(raw));
    }
    decode_stored(raw).map(|v| Cow::Owned(eval_value(&v).as_text().into_owned()))
}

/// Whether `raw` is an integer written the way an `i64` displays (no sign but a leading
/// `-`, no leading zeros, in range).
fn canonical_int(raw: &str) -> bool {
    let digits = raw.strip_prefix('-').unwrap_or(raw);
    let canonical = digits == "0" && raw == "0" || !digits.is_empty() && !digits.starts_with('0');
    canonical && digits.bytes().all(|b| b.is_ascii_digit()) && raw.parse::<i64>().is_ok()
}

/// Statistics of a batch per (project, hour of `time_column`): `per_row` adds one row's
/// keys to the tally of its partition.
fn stats_by_partition<'a>(
    batch: &'a RecordBatch,
    time_column: &str,
    hour_ns: i64,
    mut per_row: impl FnMut(&mut Tally<'a>, usize),
) -> Result<HashMap<(String, i64), KeyStats>, StoreError> {
    let project: &StringArray = get(batch, c::PROJECT_ID)?;
    let time: &Int64Array = get(batch, time_column)?;
    // A batch holds few partitions, and neighbouring rows mostly share one.
    let mut tallies: Vec<((&str, i64), Tally<'a>)> = Vec::new();
    let mut current = 0;
    for row in 0..batch.num_rows() {
        let key = (project.value(row), time.value(row).div_euclid(hour_ns));
        if tallies.get(current).is_none_or(|(k, _)| *k != key) {
            current = match tallies.iter().position(|(k, _)| *k == key) {
                Some(i) => i,
                None => {
                    tallies.push((key, Tally::default()));
                    tallies.len() - 1
                }
            };
        }
        per_row(&mut tallies[current].1, row);
    }
    Ok(tallies
        .into_iter()
        .map(|((p, h), tally)| ((p.to_string(), h), tally.into_stats()))
        .collect())
}

/// The columns [`batch_stats`] reads.
pub const SPAN_STATS_COLUMNS: &[&str] = &[
    c::PROJECT_ID,
    c::START_TIME,
    c::NAME,
    c::SERVICE_NAME,
    c::SERVICE_VERSION,
    c::ENVIRONMENT,
    c::STATUS_MESSAGE,
    c::SESSION_ID,
    c::PARENT_SPAN_ID,
    c::KIND,
    c::STATUS_CODE,
    c::HAS_ERROR,
    c::DURATION,
    c::ATTRIBUTES,
    c::RESOURCE_ATTRIBUTES,
];

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
    let duration: &Int64Array = get(batch, c::DURATION)?;
    let attrs: &MapArray = get(batch, c::ATTRIBUTES)?;
    let resource: &MapArray = get(batch, c::RESOURCE_ATTRIBUTES)?;
    stats_by_partition(batch, c::START_TIME, hour_ns, |tally, row| {
        tally.bare(Intrinsic::TraceId, "id");
        tally.bare(Intrinsic::SpanId, "id");
        if !parent.is_null(row) {
            tally.bare(Intrinsic::ParentSpanId, "id");
        }
        tally.bare(Intrinsic::Duration, "duration");
        tally.bare(Intrinsic::Timestamp, "timestamp");
        tally.text(Intrinsic::SpanName, name.value(row));
        tally.text(Intrinsic::ServiceName, service.value(row));
        tally.text(Intrinsic::ServiceVersion, version.value(row));
        tally.text(Intrinsic::Environment, env.value(row));
        tally.text(Intrinsic::StatusMessage, message.value(row));
        if !session.is_null(row) {
            tally.text(Intrinsic::SessionId, session.value(row));
        }
        let k = SpanKind::from_otlp(i32::from(kind.value(row))).as_str();
        tally.intrinsic(Intrinsic::SpanKind, "string", Some(k.into()));
        let st = StatusCode::from_otlp(i32::from(status.value(row))).as_str();
        tally.intrinsic(Intrinsic::StatusCode, "string", Some(st.into()));
        let minute_of = start.value(row).div_euclid(MINUTE_NS);
        let minute = tally.minutes.entry(minute_of).or_default();
        minute.spans += 1;
        minute.errors += u64::from(has_error.value(row));
        let cell = (
            minute_of,
            service.value(row),
            name.value(row),
            kind.value(row),
            status.value(row),
        );
        tally
            .metrics
            .entry(cell)
            .or_default()
            .add(duration.value(row), has_error.value(row));
        let e = if has_error.value(row) {
            "true"
        } else {
            "false"
        };
        tally.intrinsic(Intrinsic::HasErrors, "bool", Some(e.into()));
        tally.attrs(attrs, row, "s:");
        tally.attrs(resource, row, "r:");
    })
}

/// The columns [`log_batch_stats`] reads.
pub const LOG_STATS_COLUMNS: &[&str] = &[
    c::PROJECT_ID,
    c::TIME,
    c::LEVEL,
    c::BODY,
    c::TRACE_ID,
    c::SPAN_ID,
    c::SERVICE_NAME,
    c::SERVICE_VERSION,
    c::ENVIRONMENT,
    c::SESSION_ID,
    c::ATTRIBUTES,
    c::RESOURCE_ATTRIBUTES,
];

/// Statistics of a log records batch, per (project, hour): the log intrinsics (the level
/// with its names as values; ids, a non-empty body and time without values) and record (`s:`) and
/// resource (`r:`) attributes.
pub fn log_batch_stats(
    batch: &RecordBatch,
    hour_ns: i64,
) -> Result<HashMap<(String, i64), KeyStats>, StoreError> {
    let level: &UInt8Array = get(batch, c::LEVEL)?;
    let body: &StringArray = get(batch, c::BODY)?;
    let trace: &FixedSizeBinaryArray = get(batch, c::TRACE_ID)?;
    let span: &FixedSizeBinaryArray = get(batch, c::SPAN_ID)?;
    let service: &StringArray = get(batch, c::SERVICE_NAME)?;
    let version: &StringArray = get(batch, c::SERVICE_VERSION)?;
    let env: &StringArray = get(batch, c::ENVIRONMENT)?;
    let session: &StringArray = get(batch, c::SESSION_ID)?;
    let attrs: &MapArray = get(batch, c::ATTRIBUTES)?;
    let resource: &MapArray = get(batch, c::RESOURCE_ATTRIBUTES)?;
    stats_by_partition(batch, c::TIME, hour_ns, |tally, row| {
        let name = Level::from_code(level.value(row)).as_str();
        tally.intrinsic(Intrinsic::Severity, "string", Some(name.into()));
        if !body.value(row).is_empty() {
            tally.bare(Intrinsic::Body, "string");
        }
        tally.bare(Intrinsic::Timestamp, "timestamp");
        if trace.is_valid(row) {
            tally.bare(Intrinsic::TraceId, "id");
        }
        if span.is_valid(row) {
            tally.bare(Intrinsic::SpanId, "id");
        }
        tally.text(Intrinsic::ServiceName, service.value(row));
        tally.text(Intrinsic::ServiceVersion, version.value(row));
        tally.text(Intrinsic::Environment, env.value(row));
        if !session.is_null(row) {
            tally.text(Intrinsic::SessionId, session.value(row));
        }
        tally.attrs(attrs, row, "s:");
        tally.attrs(resource, row, "r:");
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

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, reason = "tests")]

    use tracehouse_model::{AttrValue, SpanId, TraceId};
    use tracehouse_query::{Field, Scope};
    use tracehouse_store_api::testsuite::testkit::{MS, span};

    use super::*;
    use crate::storage::schema::spans_to_batch;

    #[test]
    fn stored_text_borrows_plain_values_and_decodes_the_rest() {
        assert!(matches!(stored_text("\"GET\""), Some(Cow::Borrowed("GET"))));
        assert!(matches!(stored_text("-42"), Some(Cow::Borrowed("-42"))));
        assert!(matches!(stored_text("true"), Some(Cow::Borrowed("true"))));
        assert_eq!(stored_text("\"a\\\"b\"").as_deref(), Some("a\"b"));
        assert_eq!(stored_text("1.5").as_deref(), Some("1.5"));
        assert!(canonical_int("0") && canonical_int("-7") && canonical_int("120"));
        for not_canonical in ["-0", "007", "", "-", "1e3", "99999999999999999999"] {
            assert!(!canonical_int(not_canonical), "{not_canonical}");
        }
    }

    #[test]
    fn batch_statistics_count_keys_types_values_and_minutes_per_partition() {
        let mut spans = Vec::new();
        for i in 0..2 * MAX_VALUES as u64 + 10 {
            let mut s = span(TraceId([1; 16]), SpanId(i.to_be_bytes()), 10 * MS, MS);
            s.attributes
                .insert("user.id".into(), AttrValue::Str(format!("u{i}")));
            let code = if i % 2 == 0 {
                AttrValue::Int(200)
            } else {
                AttrValue::Str("ok".into())
            };
            s.attributes.insert("code".into(), code);
            if i == 0 {
                s.attributes
                    .insert("common".into(), AttrValue::Str("x".into()));
                s.project_id = "other".into();
            }
            spans.push(s);
        }
        // The "other" project's span sits first, so the rows of project "p" follow it.
        let batch = spans_to_batch(&spans).unwrap();
        let stats = batch_stats(&batch, crate::storage::HOUR_NS).unwrap();
        assert_eq!(stats.len(), 2);
        let p = &stats[&("p".to_string(), 0)];
        let n = spans.len() as u64 - 1;
        assert_eq!(p.minute_total(), n);
        let code = &p.keys["s:code"];
        assert_eq!(code.count, n);
        assert_eq!(code.types.values().sum::<u64>(), n);
        assert_eq!(code.types.len(), 2);
        let values = p.values(
            &Field::Attr {
                scope: Scope::Span,
                key: "code".into(),
            },
            "",
            10,
        );
        let counts: Vec<(&str, u64)> = values.iter().map(|v| (v.value.as_str(), v.count)).collect();
        assert_eq!(counts, [("ok", n / 2 + 1), ("200", n / 2)]);
        let users = &p.keys["s:user.id"];
        assert_eq!(users.count, n);
        assert_eq!(users.values.len(), MAX_VALUES);
        assert!(!p.keys.contains_key("s:common"));
        let other = &stats[&("other".to_string(), 0)];
        assert_eq!(other.keys["s:common"].values["x"], 1);
        assert_eq!(other.keys["i:service_name"].values["svc"], 1);
    }

    #[test]
    fn runs_of_equal_attribute_maps_count_every_row() {
        let hosts = ["a", "a", "a", "b", "b", "a", "c"];
        let spans: Vec<_> = hosts
            .iter()
            .enumerate()
            .map(|(i, host)| {
                let mut s = span(TraceId([2; 16]), SpanId([i as u8 + 1; 8]), MS, MS);
                let resource = std::sync::Arc::make_mut(&mut s.resource_attributes);
                resource.insert("host".into(), AttrValue::Str((*host).into()));
                if i == 4 {
                    resource.insert("extra".into(), AttrValue::Int(1));
                }
                s
            })
            .collect();
        let batch = spans_to_batch(&spans).unwrap();
        let stats = batch_stats(&batch, crate::storage::HOUR_NS).unwrap();
        let p = &stats[&("p".to_string(), 0)];
        let host = &p.keys["r:host"];
        assert_eq!(host.count, 7);
        assert_eq!(host.values["a"], 4);
        assert_eq!(host.values["b"], 2);
        assert_eq!(host.values["c"], 1);
        assert_eq!(p.keys["r:extra"].count, 1);
        assert_eq!(p.keys["r:extra"].types["int"], 1);
        assert_eq!(p.keys["i:service_name"].values["svc"], 7);
    }
}
