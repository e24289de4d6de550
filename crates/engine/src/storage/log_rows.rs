//! The Arrow schemas of the logs and errors tables and the conversion between model log
//! records / error occurrences and record batches (WAL, memtable, parts, query results).
//!
//! Shared columns keep the spans table's names and types (`project_id`, `trace_id`,
//! `span_id`, `service_name`, `session_id`, `attributes`, …), so the filter compiler and
//! the part writer treat all tables alike; ids are nullable here, since a log record or an
//! error need not belong to a trace.

use std::sync::{Arc, LazyLock};

use datafusion::arrow::array::{
    Array, ArrayRef, FixedSizeBinaryBuilder, Int64Builder, RecordBatch, StringBuilder,
    UInt8Builder, UInt32Builder,
};
use datafusion::arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use tracehouse_model::{ErrorOccurrence, ErrorSource, Level, LogId, LogRecord, SpanId, TraceId};

use crate::error::{EngineResult, StoreError};
use crate::storage::schema::{AttrColumn, Columns, attr_map_builder, col, id, read_attrs};

fn utf8(name: &str) -> Field {
    Field::new(name, DataType::Utf8, false)
}

fn trace_id_field() -> Field {
    Field::new(col::TRACE_ID, DataType::FixedSizeBinary(16), true)
}

fn span_id_field() -> Field {
    Field::new(col::SPAN_ID, DataType::FixedSizeBinary(8), true)
}

static LOG_SCHEMA: LazyLock<SchemaRef> = LazyLock::new(|| {
    let map_type = attr_map_builder().finish().data_type().clone();
    Arc::new(Schema::new(vec![
        utf8(col::PROJECT_ID),
        Field::new(col::LOG_ID, DataType::FixedSizeBinary(16), false),
        Field::new(col::TIME, DataType::Int64, false),
        Field::new(col::OBSERVED_TIME, DataType::Int64, false),
        Field::new(col::SEVERITY_NUMBER, DataType::UInt8, false),
        utf8(col::SEVERITY_TEXT),
        Field::new(col::LEVEL, DataType::UInt8, false),
        utf8(col::BODY),
        trace_id_field(),
        span_id_field(),
        utf8(col::SERVICE_NAME),
        utf8(col::SERVICE_VERSION),
        utf8(col::ENVIRONMENT),
        utf8(col::SCOPE_NAME),
        Field::new(col::SESSION_ID, DataType::Utf8, true),
        Field::new(col::ATTRIBUTES, map_type.clone(), false),
        Field::new(col::RESOURCE_ATTRIBUTES, map_type, false),
        Field::new(col::FLAGS, DataType::UInt32, false),
        Field::new(col::DROPPED_ATTRIBUTES, DataType::UInt32, false),
    ]))
});

static ERROR_SCHEMA: LazyLock<SchemaRef> = LazyLock::new(|| {
    Arc::new(Schema::new(vec![
        utf8(col::PROJECT_ID),
        Field::new(col::TIME, DataType::Int64, false),
        utf8(col::FINGERPRINT),
        utf8(col::ERROR_TYPE),
        utf8(col::MESSAGE),
        utf8(col::STACKTRACE),
        utf8(col::SERVICE_NAME),
        utf8(col::SERVICE_VERSION),
        utf8(col::ENVIRONMENT),
        trace_id_field(),
        span_id_field(),
        Field::new(col::SESSION_ID, DataType::Utf8, true),
        Field::new(col::SOURCE, DataType::UInt8, false),
    ]))
});

/// The schema of the logs table.
pub fn log_schema() -> SchemaRef {
    LOG_SCHEMA.clone()
}

/// The schema of the errors table.
pub fn error_schema() -> SchemaRef {
    ERROR_SCHEMA.clone()
}

/// Appends an optional id (null when absent).
fn append_id<const N: usize>(
    b: &mut FixedSizeBinaryBuilder,
    id: Option<[u8; N]>,
) -> Result<(), StoreError> {
    match id {
        Some(bytes) => b.append_value(bytes).engine()?,
        None => b.append_null(),
    }
    Ok(())
}

/// Reads an optional id (null → `None`).
fn optional_id<T>(
    arr: &datafusion::arrow::array::FixedSizeBinaryArray,
    row: usize,
    parse: fn(&[u8]) -> Result<T, tracehouse_model::IdError>,
) -> Result<Option<T>, StoreError> {
    if arr.is_null(row) {
        Ok(None)
    } else {
        id(arr, row, parse).map(Some)
    }
}

/// Converts log records into one record batch of [`log_schema`].
pub fn logs_to_batch(logs: &[LogRecord]) -> Result<RecordBatch, StoreError> {
    let n = logs.len();
    let mut project = StringBuilder::new();
    let mut log_id = FixedSizeBinaryBuilder::with_capacity(n, 16);
    let mut time = Int64Builder::with_capacity(n);
    let mut observed = Int64Builder::with_capacity(n);
    let mut severity_number = UInt8Builder::with_capacity(n);
    let mut severity_text = StringBuilder::new();
    let mut level = UInt8Builder::with_capacity(n);
    let mut body = StringBuilder::new();
    let mut trace_id = FixedSizeBinaryBuilder::with_capacity(n, 16);
    let mut span_id = FixedSizeBinaryBuilder::with_capacity(n, 8);
    let mut service_name = StringBuilder::new();
    let mut service_version = StringBuilder::new();
    let mut environment = StringBuilder::new();
    let mut scope_name = StringBuilder::new();
    let mut session = StringBuilder::new();
    let mut attrs = AttrColumn::new();
    let mut resource_attrs = AttrColumn::new();
    let mut flags = UInt32Builder::with_capacity(n);
    let mut dropped = UInt32Builder::with_capacity(n);
    for l in logs {
        project.append_value(&l.project_id);
        log_id.append_value(l.log_id.0).engine()?;
        time.append_value(l.time_unix_nano);
        observed.append_value(l.observed_time_unix_nano);
        severity_number.append_value(l.severity_number);
        severity_text.append_value(&l.severity_text);
        level.append_value(l.level.code());
        body.append_value(&l.body);
        append_id(&mut trace_id, l.trace_id.map(|t| t.0))?;
        append_id(&mut span_id, l.span_id.map(|s| s.0))?;
        service_name.append_value(&l.service_name);
        service_version.append_value(&l.service_version);
        environment.append_value(&l.environment);
        scope_name.append_value(&l.scope_name);
        session.append_option(l.session_id.as_deref());
        attrs.append(&l.attributes).engine()?;
        resource_attrs
            .append_shared(&l.resource_attributes)
            .engine()?;
        flags.append_value(l.flags);
        dropped.append_value(l.dropped_attributes_count);
    }
    let columns: Vec<ArrayRef> = vec![
        Arc::new(project.finish()),
        Arc::new(log_id.finish()),
        Arc::new(time.finish()),
        Arc::new(observed.finish()),
        Arc::new(severity_number.finish()),
        Arc::new(severity_text.finish()),
        Arc::new(level.finish()),
        Arc::new(body.finish()),
        Arc::new(trace_id.finish()),
        Arc::new(span_id.finish()),
        Arc::new(service_name.finish()),
        Arc::new(service_version.finish()),
        Arc::new(environment.finish()),
        Arc::new(scope_name.finish()),
        Arc::new(session.finish()),
        Arc::new(attrs.finish()),
        Arc::new(resource_attrs.finish()),
        Arc::new(flags.finish()),
        Arc::new(dropped.finish()),
    ];
    RecordBatch::try_new(log_schema(), columns).engine()
}

/// Converts a batch of [`log_schema`] back into log records.
pub fn batch_to_logs(batch: &RecordBatch) -> Result<Vec<LogRecord>, StoreError> {
    let c = Columns(batch);
    let project = c.str(col::PROJECT_ID)?;
    let log_id = c.fsb(col::LOG_ID)?;
    let time = c.i64(col::TIME)?;
    let observed = c.i64(col::OBSERVED_TIME)?;
    let severity_number = c.u8(col::SEVERITY_NUMBER)?;
    let severity_text = c.str(col::SEVERITY_TEXT)?;
    let level = c.u8(col::LEVEL)?;
    let body = c.str(col::BODY)?;
    let trace_id = c.fsb(col::TRACE_ID)?;
    let span_id = c.fsb(col::SPAN_ID)?;
    let service_name = c.str(col::SERVICE_NAME)?;
    let service_version = c.str(col::SERVICE_VERSION)?;
    let environment = c.str(col::ENVIRONMENT)?;
    let scope_name = c.str(col::SCOPE_NAME)?;
    let session = c.str(col::SESSION_ID)?;
    let attrs = c.map(col::ATTRIBUTES)?;
    let resource_attrs = c.map(col::RESOURCE_ATTRIBUTES)?;
    let flags = c.u32(col::FLAGS)?;
    let dropped = c.u32(col::DROPPED_ATTRIBUTES)?;
    (0..batch.num_rows())
        .map(|i| {
            Ok(LogRecord {
                log_id: id(log_id, i, LogId::from_bytes)?,
                project_id: project.value(i).to_string(),
                time_unix_nano: time.value(i),
                observed_time_unix_nano: observed.value(i),
                severity_number: severity_number.value(i),
                severity_text: severity_text.value(i).to_string(),
                level: Level::from_code(level.value(i)),
                body: body.value(i).to_string(),
                trace_id: optional_id(trace_id, i, TraceId::from_bytes)?,
                span_id: optional_id(span_id, i, SpanId::from_bytes)?,
                service_name: service_name.value(i).to_string(),
                service_version: service_version.value(i).to_string(),
                environment: environment.value(i).to_string(),
                scope_name: scope_name.value(i).to_string(),
                session_id: (!session.is_null(i)).then(|| session.value(i).to_string()),
                attributes: read_attrs(attrs, i)?,
                resource_attributes: read_attrs(resource_attrs, i)?.into(),
                flags: flags.value(i),
                dropped_attributes_count: dropped.value(i),
            })
        })
        .collect()
}

/// Converts error occurrences into one record batch of [`error_schema`].
pub fn errors_to_batch(errors: &[ErrorOccurrence]) -> Result<RecordBatch, StoreError> {
    let n = errors.len();
    let mut project = StringBuilder::new();
    let mut time = Int64Builder::with_capacity(n);
    let mut fingerprint = StringBuilder::new();
    let mut error_type = StringBuilder::new();
    let mut message = StringBuilder::new();
    let mut stacktrace = StringBuilder::new();
    let mut service_name = StringBuilder::new();
    let mut service_version = StringBuilder::new();
    let mut environment = StringBuilder::new();
    let mut trace_id = FixedSizeBinaryBuilder::with_capacity(n, 16);
    let mut span_id = FixedSizeBinaryBuilder::with_capacity(n, 8);
    let mut session = StringBuilder::new();
    let mut source = UInt8Builder::with_capacity(n);
    for e in errors {
        project.append_value(&e.project_id);
        time.append_value(e.time_unix_nano);
        fingerprint.append_value(&e.fingerprint);
        error_type.append_value(&e.error_type);
        message.append_value(&e.message);
        stacktrace.append_value(&e.stacktrace);
        service_name.append_value(&e.service_name);
        service_version.append_value(&e.service_version);
        environment.append_value(&e.environment);
        append_id(&mut trace_id, e.trace_id.map(|t| t.0))?;
        append_id(&mut span_id, e.span_id.map(|s| s.0))?;
        session.append_option(e.session_id.as_deref());
        source.append_value(e.source.code());
    }
    let columns: Vec<ArrayRef> = vec![
        Arc::new(project.finish()),
        Arc::new(time.finish()),
        Arc::new(fingerprint.finish()),
        Arc::new(error_type.finish()),
        Arc::new(message.finish()),
        Arc::new(stacktrace.finish()),
        Arc::new(service_name.finish()),
        Arc::new(service_version.finish()),
        Arc::new(environment.finish()),
        Arc::new(trace_id.finish()),
        Arc::new(span_id.finish()),
        Arc::new(session.finish()),
        Arc::new(source.finish()),
    ];
    RecordBatch::try_new(error_schema(), columns).engine()
}

/// Converts a batch of [`error_schema`] back into error occurrences.
pub fn batch_to_errors(batch: &RecordBatch) -> Result<Vec<ErrorOccurrence>, StoreError> {
    let c = Columns(batch);
    let project = c.str(col::PROJECT_ID)?;
    let time = c.i64(col::TIME)?;
    let fingerprint = c.str(col::FINGERPRINT)?;
    let error_type = c.str(col::ERROR_TYPE)?;
    let message = c.str(col::MESSAGE)?;
    let stacktrace = c.str(col::STACKTRACE)?;
    let service_name = c.str(col::SERVICE_NAME)?;
    let service_version = c.str(col::SERVICE_VERSION)?;
    let environment = c.str(col::ENVIRONMENT)?;
    let trace_id = c.fsb(col::TRACE_ID)?;
    let span_id = c.fsb(col::SPAN_ID)?;
    let session = c.str(col::SESSION_ID)?;
    let source = c.u8(col::SOURCE)?;
    (0..batch.num_rows())
        .map(|i| {
            Ok(ErrorOccurrence {
                project_id: project.value(i).to_string(),
                time_unix_nano: time.value(i),
                fingerprint: fingerprint.value(i).to_string(),
                error_type: error_type.value(i).to_string(),
                message: message.value(i).to_string(),
                stacktrace: stacktrace.value(i).to_string(),
                service_name: service_name.value(i).to_string(),
                service_version: service_version.value(i).to_string(),
                environment: environment.value(i).to_string(),
                trace_id: optional_id(trace_id, i, TraceId::from_bytes)?,
                span_id: optional_id(span_id, i, SpanId::from_bytes)?,
                session_id: (!session.is_null(i)).then(|| session.value(i).to_string()),
                source: ErrorSource::from_code(source.value(i)),
            })
        })
        .collect()
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use tracehouse_model::{AttrValue, Attributes};

    /// A log record with every field set; `trace` 0 means no trace.
    pub(crate) fn sample_log(trace: u8, time: i64, level: Level, body: &str) -> LogRecord {
        let mut attributes = Attributes::new();
        attributes.insert("user.id".into(), AttrValue::Int(42));
        attributes.insert("exception.type".into(), AttrValue::Str("E".into()));
        let mut log = LogRecord {
            log_id: LogId::default(),
            project_id: "default".into(),
            time_unix_nano: time,
            observed_time_unix_nano: time + 5,
            severity_number: 17,
            severity_text: "ERROR".into(),
            level,
            body: body.into(),
            trace_id: (trace > 0).then_some(TraceId([trace; 16])),
            span_id: (trace > 0).then_some(SpanId([trace; 8])),
            service_name: "cart".into(),
            service_version: "1.0".into(),
            environment: "prod".into(),
            scope_name: "app".into(),
            session_id: (trace > 0).then(|| "s1".to_string()),
            attributes,
            resource_attributes: Default::default(),
            flags: 1,
            dropped_attributes_count: 2,
        };
        log.log_id = log.content_id();
        log
    }

    #[test]
    fn log_batches_round_trip() {
        let logs = vec![
            sample_log(1, 100, Level::Error, "boom"),
            sample_log(0, 200, Level::Info, "hello"),
        ];
        let batch = logs_to_batch(&logs).unwrap();
        assert_eq!(batch_to_logs(&batch).unwrap(), logs);
    }

    #[test]
    fn error_batches_round_trip() {
        let errors = tracehouse_model::errors_from_logs(&[
            sample_log(1, 100, Level::Error, "boom"),
            sample_log(0, 200, Level::Fatal, "down"),
        ]);
        assert_eq!(errors.len(), 2);
        let batch = errors_to_batch(&errors).unwrap();
        assert_eq!(batch_to_errors(&batch).unwrap(), errors);
    }
}
