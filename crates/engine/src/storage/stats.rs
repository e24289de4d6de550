//! Key and value statistics of stored rows, computed from Arrow batches at ingest and for
//! each part (the statistics themselves: [`tracehouse_store_api::stats`]).

use std::collections::HashMap;

use datafusion::arrow::array::{
    Array, BooleanArray, FixedSizeBinaryArray, Int64Array, MapArray, RecordBatch, StringArray,
    UInt8Array,
};
use tracehouse_model::{Level, SpanKind, StatusCode};
use tracehouse_query::Intrinsic;
use tracehouse_store_api::stats::{KeyStats, MINUTE_NS, json_type, scoped};
use tracehouse_store_api::value::{decode_stored, eval_value};

use crate::error::StoreError;
use crate::storage::schema::col as c;

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
