//! The Arrow schema of the spans table and the conversion between model spans and
//! Arrow record batches (used by the WAL, the memtable, Parquet parts and query results).
//!
//! Attribute maps are Arrow `Map<Utf8, Utf8>` columns whose values are the JSON form of
//! [`AttrValue`] (so `"GET"`, `200`, `1.5`, `true`): queryable per key, and lossless.
//! Events, links and scope attributes are rarely filtered on and are kept as JSON text.

use std::sync::{Arc, LazyLock};

use datafusion::arrow::array::{
    Array, ArrayRef, BooleanArray, BooleanBuilder, FixedSizeBinaryArray, FixedSizeBinaryBuilder,
    Int64Array, Int64Builder, MapArray, MapBuilder, RecordBatch, StringArray, StringBuilder,
    UInt8Array, UInt8Builder, UInt32Array, UInt32Builder,
};
use datafusion::arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use datafusion::arrow::error::ArrowError;
use tracehouse_model::{
    AttrValue, Attributes, Event, Link, SharedAttributes, Span, SpanId, SpanKind, StatusCode,
    TraceId,
};

use crate::error::{EngineResult, StoreError};

/// Column names of the spans table, shared by every module that builds expressions.
pub mod col {
    /// Project the span belongs to.
    pub const PROJECT_ID: &str = "project_id";
    /// 16-byte trace id.
    pub const TRACE_ID: &str = "trace_id";
    /// 8-byte span id.
    pub const SPAN_ID: &str = "span_id";
    /// 8-byte parent span id, null for roots.
    pub const PARENT_SPAN_ID: &str = "parent_span_id";
    /// W3C trace state.
    pub const TRACE_STATE: &str = "trace_state";
    /// Span name.
    pub const NAME: &str = "name";
    /// OTLP span kind number.
    pub const KIND: &str = "kind";
    /// Start time, ns.
    pub const START_TIME: &str = "start_time";
    /// End time, ns.
    pub const END_TIME: &str = "end_time";
    /// Duration, ns.
    pub const DURATION: &str = "duration";
    /// OTLP status code number.
    pub const STATUS_CODE: &str = "status_code";
    /// Status message.
    pub const STATUS_MESSAGE: &str = "status_message";
    /// Service name.
    pub const SERVICE_NAME: &str = "service_name";
    /// Service version.
    pub const SERVICE_VERSION: &str = "service_version";
    /// Deployment environment.
    pub const ENVIRONMENT: &str = "environment";
    /// Instrumentation scope name.
    pub const SCOPE_NAME: &str = "scope_name";
    /// Instrumentation scope version.
    pub const SCOPE_VERSION: &str = "scope_version";
    /// Instrumentation scope attributes (JSON).
    pub const SCOPE_ATTRIBUTES: &str = "scope_attributes";
    /// Session id.
    pub const SESSION_ID: &str = "session_id";
    /// Span attributes (map).
    pub const ATTRIBUTES: &str = "attributes";
    /// Resource attributes (map).
    pub const RESOURCE_ATTRIBUTES: &str = "resource_attributes";
    /// Events (JSON).
    pub const EVENTS: &str = "events";
    /// Links (JSON).
    pub const LINKS: &str = "links";
    /// Error flag.
    pub const HAS_ERROR: &str = "has_error";
    /// Dropped attribute count.
    pub const DROPPED_ATTRIBUTES: &str = "dropped_attributes_count";
    /// Dropped event count.
    pub const DROPPED_EVENTS: &str = "dropped_events_count";
    /// Dropped link count.
    pub const DROPPED_LINKS: &str = "dropped_links_count";
    /// Log and error tables: the event time, ns.
    pub const TIME: &str = "time";
    /// Logs: when the record was observed, ns.
    pub const OBSERVED_TIME: &str = "observed_time";
    /// Logs: 16-byte content id.
    pub const LOG_ID: &str = "log_id";
    /// Logs: OTLP severity number.
    pub const SEVERITY_NUMBER: &str = "severity_number";
    /// Logs: severity text as sent.
    pub const SEVERITY_TEXT: &str = "severity_text";
    /// Logs: coarse level code (`tracehouse_model::Level`).
    pub const LEVEL: &str = "level";
    /// Logs: the message.
    pub const BODY: &str = "body";
    /// Logs: W3C trace flags.
    pub const FLAGS: &str = "flags";
    /// Errors: group key.
    pub const FINGERPRINT: &str = "fingerprint";
    /// Errors: exception type.
    pub const ERROR_TYPE: &str = "error_type";
    /// Errors: exception message.
    pub const MESSAGE: &str = "message";
    /// Errors: stack trace.
    pub const STACKTRACE: &str = "stacktrace";
    /// Errors: span event or log record (`tracehouse_model::ErrorSource` code).
    pub const SOURCE: &str = "source";
    /// Replay: a chunk's number in its session.
    pub const SEQUENCE: &str = "sequence";
    /// Replay: how many events a chunk holds.
    pub const EVENT_COUNT: &str = "event_count";
    /// OTLP metrics: the metric's name.
    pub const METRIC_NAME: &str = "metric_name";
    /// OTLP metrics: the data-point type (`tracehouse_model::MetricType::as_str`).
    pub const METRIC_TYPE: &str = "metric_type";
    /// OTLP metrics: the metric's unit.
    pub const UNIT: &str = "unit";
    /// OTLP metrics: the metric's description.
    pub const DESCRIPTION: &str = "description";
    /// OTLP metrics: what the point measured (`tracehouse_model::PointValue`, JSON).
    pub const POINT_VALUE: &str = "point_value";
    /// OTLP metrics: the point's exemplars (JSON).
    pub const EXEMPLARS: &str = "exemplars";
}

pub(crate) fn attr_map_builder() -> MapBuilder<StringBuilder, StringBuilder> {
    MapBuilder::new(None, StringBuilder::new(), StringBuilder::new())
}

static SCHEMA: LazyLock<SchemaRef> = LazyLock::new(|| {
    let map_type = attr_map_builder().finish().data_type().clone();
    let utf8 = |name: &str| Field::new(name, DataType::Utf8, false);
    Arc::new(Schema::new(vec![
        utf8(col::PROJECT_ID),
        Field::new(col::TRACE_ID, DataType::FixedSizeBinary(16), false),
        Field::new(col::SPAN_ID, DataType::FixedSizeBinary(8), false),
        Field::new(col::PARENT_SPAN_ID, DataType::FixedSizeBinary(8), true),
        utf8(col::TRACE_STATE),
        utf8(col::NAME),
        Field::new(col::KIND, DataType::UInt8, false),
        Field::new(col::START_TIME, DataType::Int64, false),
        Field::new(col::END_TIME, DataType::Int64, false),
        Field::new(col::DURATION, DataType::Int64, false),
        Field::new(col::STATUS_CODE, DataType::UInt8, false),
        utf8(col::STATUS_MESSAGE),
        utf8(col::SERVICE_NAME),
        utf8(col::SERVICE_VERSION),
        utf8(col::ENVIRONMENT),
        utf8(col::SCOPE_NAME),
        utf8(col::SCOPE_VERSION),
        utf8(col::SCOPE_ATTRIBUTES),
        Field::new(col::SESSION_ID, DataType::Utf8, true),
        Field::new(col::ATTRIBUTES, map_type.clone(), false),
        Field::new(col::RESOURCE_ATTRIBUTES, map_type, false),
        utf8(col::EVENTS),
        utf8(col::LINKS),
        Field::new(col::HAS_ERROR, DataType::Boolean, false),
        Field::new(col::DROPPED_ATTRIBUTES, DataType::UInt32, false),
        Field::new(col::DROPPED_EVENTS, DataType::UInt32, false),
        Field::new(col::DROPPED_LINKS, DataType::UInt32, false),
    ]))
});

/// Lowercase span kind names, indexed by the stored `kind` code.
pub fn kind_names() -> [&'static str; 6] {
    SpanKind::ALL.map(SpanKind::as_str)
}

/// Lowercase status names, indexed by the stored `status_code` code.
pub fn status_names() -> [&'static str; 3] {
    StatusCode::ALL.map(StatusCode::as_str)
}

/// The schema of the spans table.
pub fn span_schema() -> SchemaRef {
    SCHEMA.clone()
}

pub(crate) fn to_json<T: serde::Serialize>(value: &T) -> String {
    // Serialising model types to JSON cannot fail: they hold only strings, numbers and maps.
    serde_json::to_string(value).unwrap_or_default()
}

/// A map column of attributes being built, each value as its JSON text. The map that many
/// neighbouring rows share (a resource's, one allocation for all its rows) is encoded once
/// for the run of rows that holds it rather than once a row.
pub(crate) struct AttrColumn {
    builder: MapBuilder<StringBuilder, StringBuilder>,
    /// Reused for the JSON text of one value.
    scratch: Vec<u8>,
    /// The shared map of the previous row (kept alive, so its address is not reused) and its
    /// entries as stored.
    shared: Option<(SharedAttributes, Vec<(String, String)>)>,
}

impl AttrColumn {
    /// An empty column.
    pub(crate) fn new() -> AttrColumn {
        AttrColumn {
            builder: attr_map_builder(),
            scratch: Vec::new(),
            shared: None,
        }
    }

    /// Appends a row holding `attrs`.
    pub(crate) fn append(&mut self, attrs: &Attributes) -> Result<(), ArrowError> {
        for (k, v) in attrs {
            let text = json_text(v, &mut self.scratch)?;
            self.builder.keys().append_value(k);
            self.builder.values().append_value(text);
        }
        self.builder.append(true)
    }

    /// Appends a row holding a map that other rows share; the same map as the previous
    /// shared row's is not encoded again.
    pub(crate) fn append_shared(&mut self, attrs: &SharedAttributes) -> Result<(), ArrowError> {
        let cached = matches!(&self.shared, Some((of, _)) if Arc::ptr_eq(of, attrs));
        if !cached {
            let mut entries = Vec::with_capacity(attrs.len());
            for (k, v) in attrs.iter() {
                entries.push((k.clone(), json_text(v, &mut self.scratch)?.to_owned()));
            }
            self.shared = Some((attrs.clone(), entries));
        }
        for (k, text) in self.shared.iter().flat_map(|(_, entries)| entries) {
            self.builder.keys().append_value(k);
            self.builder.values().append_value(text);
        }
        self.builder.append(true)
    }

    /// The column.
    pub(crate) fn finish(&mut self) -> MapArray {
        self.builder.finish()
    }
}

/// The JSON text of a value, written into `scratch`.
fn json_text<'a>(value: &AttrValue, scratch: &'a mut Vec<u8>) -> Result<&'a str, ArrowError> {
    scratch.clear();
    value
        .write_json(scratch)
        .map_err(|e| ArrowError::ExternalError(Box::new(e)))?;
    std::str::from_utf8(scratch).map_err(|e| ArrowError::ExternalError(Box::new(e)))
}

/// Converts spans into one record batch of [`span_schema`].
pub fn spans_to_batch(spans: &[Span]) -> Result<RecordBatch, StoreError> {
    let n = spans.len();
    let mut project = StringBuilder::new();
    let mut trace_id = FixedSizeBinaryBuilder::with_capacity(n, 16);
    let mut span_id = FixedSizeBinaryBuilder::with_capacity(n, 8);
    let mut parent = FixedSizeBinaryBuilder::with_capacity(n, 8);
    let mut trace_state = StringBuilder::new();
    let mut name = StringBuilder::new();
    let mut kind = UInt8Builder::with_capacity(n);
    let mut start = Int64Builder::with_capacity(n);
    let mut end = Int64Builder::with_capacity(n);
    let mut duration = Int64Builder::with_capacity(n);
    let mut status_code = UInt8Builder::with_capacity(n);
    let mut status_message = StringBuilder::new();
    let mut service_name = StringBuilder::new();
    let mut service_version = StringBuilder::new();
    let mut environment = StringBuilder::new();
    let mut scope_name = StringBuilder::new();
    let mut scope_version = StringBuilder::new();
    let mut scope_attrs = StringBuilder::new();
    let mut session = StringBuilder::new();
    let mut attrs = AttrColumn::new();
    let mut resource_attrs = AttrColumn::new();
    let mut events = StringBuilder::new();
    let mut links = StringBuilder::new();
    let mut has_error = BooleanBuilder::with_capacity(n);
    let mut dropped_attrs = UInt32Builder::with_capacity(n);
    let mut dropped_events = UInt32Builder::with_capacity(n);
    let mut dropped_links = UInt32Builder::with_capacity(n);
    for s in spans {
        project.append_value(&s.project_id);
        trace_id.append_value(s.trace_id.0).engine()?;
        span_id.append_value(s.span_id.0).engine()?;
        match &s.parent_span_id {
            Some(p) => parent.append_value(p.0).engine()?,
            None => parent.append_null(),
        }
        trace_state.append_value(&s.trace_state);
        name.append_value(&s.name);
        kind.append_value(s.kind.code());
        start.append_value(s.start_time_unix_nano);
        end.append_value(s.end_time_unix_nano);
        duration.append_value(s.duration_nanos);
        status_code.append_value(s.status_code.code());
        status_message.append_value(&s.status_message);
        service_name.append_value(&s.service_name);
        service_version.append_value(&s.service_version);
        environment.append_value(&s.environment);
        scope_name.append_value(&s.scope_name);
        scope_version.append_value(&s.scope_version);
        scope_attrs.append_value(to_json(&s.scope_attributes));
        session.append_option(s.session_id.as_deref());
        attrs.append(&s.attributes).engine()?;
        resource_attrs
            .append_shared(&s.resource_attributes)
            .engine()?;
        events.append_value(to_json(&s.events));
        links.append_value(to_json(&s.links));
        has_error.append_value(s.has_error);
        dropped_attrs.append_value(s.dropped_attributes_count);
        dropped_events.append_value(s.dropped_events_count);
        dropped_links.append_value(s.dropped_links_count);
    }
    let columns: Vec<ArrayRef> = vec![
        Arc::new(project.finish()),
        Arc::new(trace_id.finish()),
        Arc::new(span_id.finish()),
        Arc::new(parent.finish()),
        Arc::new(trace_state.finish()),
        Arc::new(name.finish()),
        Arc::new(kind.finish()),
        Arc::new(start.finish()),
        Arc::new(end.finish()),
        Arc::new(duration.finish()),
        Arc::new(status_code.finish()),
        Arc::new(status_message.finish()),
        Arc::new(service_name.finish()),
        Arc::new(service_version.finish()),
        Arc::new(environment.finish()),
        Arc::new(scope_name.finish()),
        Arc::new(scope_version.finish()),
        Arc::new(scope_attrs.finish()),
        Arc::new(session.finish()),
        Arc::new(attrs.finish()),
        Arc::new(resource_attrs.finish()),
        Arc::new(events.finish()),
        Arc::new(links.finish()),
        Arc::new(has_error.finish()),
        Arc::new(dropped_attrs.finish()),
        Arc::new(dropped_events.finish()),
        Arc::new(dropped_links.finish()),
    ];
    RecordBatch::try_new(span_schema(), columns).engine()
}

/// Typed access to the columns of a batch, by name.
pub(crate) struct Columns<'a>(pub(crate) &'a RecordBatch);

impl<'a> Columns<'a> {
    pub(crate) fn get<T: 'static>(&self, name: &str) -> Result<&'a T, StoreError> {
        self.0
            .column_by_name(name)
            .and_then(|c| c.as_any().downcast_ref::<T>())
            .ok_or_else(|| StoreError::Corrupt(format!("column {name} missing or mistyped")))
    }
    /// A column that a projection may leave out: `None` when absent.
    pub(crate) fn optional<T: 'static>(&self, name: &str) -> Result<Option<&'a T>, StoreError> {
        match self.0.column_by_name(name) {
            None => Ok(None),
            Some(_) => self.get(name).map(Some),
        }
    }
    pub(crate) fn str(&self, name: &str) -> Result<&'a StringArray, StoreError> {
        self.get(name)
    }
    pub(crate) fn fsb(&self, name: &str) -> Result<&'a FixedSizeBinaryArray, StoreError> {
        self.get(name)
    }
    pub(crate) fn i64(&self, name: &str) -> Result<&'a Int64Array, StoreError> {
        self.get(name)
    }
    pub(crate) fn u8(&self, name: &str) -> Result<&'a UInt8Array, StoreError> {
        self.get(name)
    }
    pub(crate) fn u32(&self, name: &str) -> Result<&'a UInt32Array, StoreError> {
        self.get(name)
    }
    pub(crate) fn map(&self, name: &str) -> Result<&'a MapArray, StoreError> {
        self.get(name)
    }
}

pub(crate) fn read_attrs(map: &MapArray, row: usize) -> Result<Attributes, StoreError> {
    let entries = map.value(row);
    let keys = entries
        .column(0)
        .as_any()
        .downcast_ref::<StringArray>()
        .ok_or_else(|| StoreError::Corrupt("attribute keys are not strings".into()))?;
    let values = entries
        .column(1)
        .as_any()
        .downcast_ref::<StringArray>()
        .ok_or_else(|| StoreError::Corrupt("attribute values are not strings".into()))?;
    (0..keys.len())
        .map(|i| {
            let value: serde_json::Value = serde_json::from_str(values.value(i))?;
            Ok((keys.value(i).to_string(), AttrValue::from_json(&value)))
        })
        .collect()
}

pub(crate) fn id<T>(
    arr: &FixedSizeBinaryArray,
    row: usize,
    parse: fn(&[u8]) -> Result<T, tracehouse_model::IdError>,
) -> Result<T, StoreError> {
    parse(arr.value(row)).map_err(|e| StoreError::Corrupt(e.to_string()))
}

/// The JSON value of a row of a text column, or the default when the column was left out.
fn json_or_default<T: serde::de::DeserializeOwned + Default>(
    column: Option<&StringArray>,
    row: usize,
) -> Result<T, StoreError> {
    Ok(match column {
        Some(c) => serde_json::from_str(c.value(row))?,
        None => T::default(),
    })
}

/// Text of a row of a column a projection may leave out (empty when left out or null).
fn text_or_empty(column: Option<&StringArray>, row: usize) -> String {
    column
        .filter(|c| c.is_valid(row))
        .map_or_else(String::new, |c| c.value(row).to_string())
}

/// Converts a batch of [`span_schema`] back into spans. Only the trace id, span id and
/// start time must be there: a projection may leave any other column out, and spans read
/// without it have that field empty (empty text and maps, zero, false, unset).
pub fn batch_to_spans(batch: &RecordBatch) -> Result<Vec<Span>, StoreError> {
    let c = Columns(batch);
    let trace_id = c.fsb(col::TRACE_ID)?;
    let span_id = c.fsb(col::SPAN_ID)?;
    let start = c.i64(col::START_TIME)?;
    let text = |name| c.optional::<StringArray>(name);
    let (project, trace_state, name) = (
        text(col::PROJECT_ID)?,
        text(col::TRACE_STATE)?,
        text(col::NAME)?,
    );
    let (status_message, service_name, service_version) = (
        text(col::STATUS_MESSAGE)?,
        text(col::SERVICE_NAME)?,
        text(col::SERVICE_VERSION)?,
    );
    let (environment, scope_name, scope_version) = (
        text(col::ENVIRONMENT)?,
        text(col::SCOPE_NAME)?,
        text(col::SCOPE_VERSION)?,
    );
    let (scope_attrs, session, events, links) = (
        text(col::SCOPE_ATTRIBUTES)?,
        text(col::SESSION_ID)?,
        text(col::EVENTS)?,
        text(col::LINKS)?,
    );
    let parent: Option<&FixedSizeBinaryArray> = c.optional(col::PARENT_SPAN_ID)?;
    let small = |name| c.optional::<UInt8Array>(name);
    let (kind, status_code) = (small(col::KIND)?, small(col::STATUS_CODE)?);
    let int = |name| c.optional::<Int64Array>(name);
    let (end, duration) = (int(col::END_TIME)?, int(col::DURATION)?);
    let count = |name| c.optional::<UInt32Array>(name);
    let (dropped_attrs, dropped_events, dropped_links) = (
        count(col::DROPPED_ATTRIBUTES)?,
        count(col::DROPPED_EVENTS)?,
        count(col::DROPPED_LINKS)?,
    );
    let attrs: Option<&MapArray> = c.optional(col::ATTRIBUTES)?;
    let resource_attrs: Option<&MapArray> = c.optional(col::RESOURCE_ATTRIBUTES)?;
    let has_error: Option<&BooleanArray> = c.optional(col::HAS_ERROR)?;
    (0..batch.num_rows())
        .map(|i| {
            let events: Vec<Event> = json_or_default(events, i)?;
            let links: Vec<Link> = json_or_default(links, i)?;
            let start = start.value(i);
            Ok(Span {
                project_id: text_or_empty(project, i),
                trace_id: id(trace_id, i, TraceId::from_bytes)?,
                span_id: id(span_id, i, SpanId::from_bytes)?,
                parent_span_id: match parent.filter(|p| p.is_valid(i)) {
                    Some(p) => Some(id(p, i, SpanId::from_bytes)?),
                    None => None,
                },
                trace_state: text_or_empty(trace_state, i),
                name: text_or_empty(name, i),
                kind: SpanKind::from_otlp(kind.map_or(0, |k| i32::from(k.value(i)))),
                start_time_unix_nano: start,
                end_time_unix_nano: end.map_or(start, |e| e.value(i)),
                duration_nanos: duration.map_or(0, |d| d.value(i)),
                status_code: StatusCode::from_otlp(
                    status_code.map_or(0, |s| i32::from(s.value(i))),
                ),
                status_message: text_or_empty(status_message, i),
                service_name: text_or_empty(service_name, i),
                service_version: text_or_empty(service_version, i),
                environment: text_or_empty(environment, i),
                scope_name: text_or_empty(scope_name, i),
                scope_version: text_or_empty(scope_version, i),
                scope_attributes: json_or_default(scope_attrs, i)?,
                session_id: session
                    .filter(|s| s.is_valid(i))
                    .map(|s| s.value(i).to_string()),
                attributes: attrs.map_or(Ok(Attributes::new()), |m| read_attrs(m, i))?,
                resource_attributes: resource_attrs
                    .map_or(Ok(Attributes::new()), |m| read_attrs(m, i))?
                    .into(),
                events,
                links,
                has_error: has_error.is_some_and(|h| h.value(i)),
                dropped_attributes_count: dropped_attrs.map_or(0, |d| d.value(i)),
                dropped_events_count: dropped_events.map_or(0, |d| d.value(i)),
                dropped_links_count: dropped_links.map_or(0, |d| d.value(i)),
            })
        })
        .collect()
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A span with every field set, for round-trip tests across the crate.
    pub(crate) fn sample_span(trace: u8, span: u8, start: i64) -> Span {
        let mut attributes = Attributes::new();
        attributes.insert("http.method".into(), AttrValue::Str("GET".into()));
        attributes.insert("http.status_code".into(), AttrValue::Int(200));
        attributes.insert("ratio".into(), AttrValue::Float(0.5));
        attributes.insert("blob".into(), AttrValue::Bytes(vec![1, 2, 3]));
        let mut resource = Attributes::new();
        resource.insert("service.name".into(), AttrValue::Str("cart".into()));
        Span {
            project_id: "default".into(),
            trace_id: TraceId([trace; 16]),
            span_id: SpanId([span; 8]),
            parent_span_id: (span > 1).then_some(SpanId([1; 8])),
            trace_state: String::new(),
            name: format!("op-{span}"),
            kind: SpanKind::Server,
            start_time_unix_nano: start,
            end_time_unix_nano: start + 1_000,
            duration_nanos: 1_000,
            status_code: StatusCode::Ok,
            status_message: String::new(),
            service_name: "cart".into(),
            service_version: "1.0".into(),
            environment: "prod".into(),
            scope_name: "scope".into(),
            scope_version: "0.1".into(),
            scope_attributes: Attributes::new(),
            session_id: Some("s1".into()),
            attributes,
            resource_attributes: resource.into(),
            events: vec![Event {
                time_unix_nano: start + 10,
                name: "exception".into(),
                attributes: Attributes::new(),
                dropped_attributes_count: 0,
            }],
            links: vec![Link {
                trace_id: TraceId([9; 16]),
                span_id: SpanId([9; 8]),
                trace_state: "a=b".into(),
                attributes: Attributes::new(),
                dropped_attributes_count: 0,
            }],
            has_error: true,
            dropped_attributes_count: 1,
            dropped_events_count: 2,
            dropped_links_count: 3,
        }
    }

    #[test]
    fn batch_round_trip_is_lossless() {
        let spans = vec![sample_span(1, 1, 100), sample_span(1, 2, 200)];
        let batch = spans_to_batch(&spans).unwrap();
        assert_eq!(batch.num_rows(), 2);
        assert_eq!(batch_to_spans(&batch).unwrap(), spans);
    }

    #[test]
    fn rows_sharing_a_resource_map_store_it_for_each_row() {
        let resource = |service: &str| {
            let mut attrs = Attributes::new();
            attrs.insert("service.name".into(), AttrValue::Str(service.into()));
            attrs.insert("host.cores".into(), AttrValue::Int(8));
            SharedAttributes::new(attrs)
        };
        let (cart, shop) = (resource("cart"), resource("shop"));
        // Runs of one shared map, another, the first again, and an equal map that is
        // not the same allocation.
        let held = [&cart, &cart, &shop, &cart, &resource("cart")];
        let spans: Vec<Span> = held
            .iter()
            .enumerate()
            .map(|(i, r)| Span {
                resource_attributes: SharedAttributes::clone(r),
                ..sample_span(1, i as u8 + 1, 100)
            })
            .collect();
        let back = batch_to_spans(&spans_to_batch(&spans).unwrap()).unwrap();
        assert_eq!(back, spans);
        let services: Vec<&AttrValue> = back
            .iter()
            .map(|s| &s.resource_attributes["service.name"])
            .collect();
        let text = |t: &str| AttrValue::Str(t.into());
        assert_eq!(
            services,
            [
                &text("cart"),
                &text("cart"),
                &text("shop"),
                &text("cart"),
                &text("cart")
            ]
        );
    }
}
