//! The Arrow schema of the OTLP metrics table and the conversion between
//! [`MetricPoint`]s and record batches. Rows are sorted by metric name then time, so a
//! read of one metric in a window touches one run of each part; the labels are maps like
//! the spans' attributes, and what a point measured (its typed value) and its exemplars
//! are kept as JSON text, which only the point's reader looks inside.

use std::sync::{Arc, LazyLock};

use datafusion::arrow::array::{
    Array, ArrayRef, Int64Builder, RecordBatch, StringBuilder, UInt32Builder,
};
use datafusion::arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use tracehouse_model::MetricPoint;

use crate::error::{EngineResult, StoreError};
use crate::storage::schema::{AttrColumn, Columns, attr_map_builder, col, read_attrs, to_json};

static METRIC_SCHEMA: LazyLock<SchemaRef> = LazyLock::new(|| {
    let map_type = attr_map_builder().finish().data_type().clone();
    let utf8 = |name| Field::new(name, DataType::Utf8, false);
    Arc::new(Schema::new(vec![
        utf8(col::PROJECT_ID),
        utf8(col::METRIC_NAME),
        utf8(col::METRIC_TYPE),
        utf8(col::UNIT),
        utf8(col::DESCRIPTION),
        utf8(col::SERVICE_NAME),
        utf8(col::SCOPE_NAME),
        Field::new(col::START_TIME, DataType::Int64, false),
        Field::new(col::TIME, DataType::Int64, false),
        Field::new(col::ATTRIBUTES, map_type.clone(), false),
        Field::new(col::RESOURCE_ATTRIBUTES, map_type, false),
        utf8(col::POINT_VALUE),
        utf8(col::EXEMPLARS),
        Field::new(col::FLAGS, DataType::UInt32, false),
    ]))
});

/// The schema of the metrics table.
pub fn metric_schema() -> SchemaRef {
    METRIC_SCHEMA.clone()
}

/// Converts points into one record batch of [`metric_schema`].
pub fn points_to_batch(points: &[MetricPoint]) -> Result<RecordBatch, StoreError> {
    let n = points.len();
    let mut strings: [StringBuilder; 7] = Default::default();
    let mut start = Int64Builder::with_capacity(n);
    let mut time = Int64Builder::with_capacity(n);
    let mut attrs = AttrColumn::new();
    let mut resource_attrs = AttrColumn::new();
    let mut value = StringBuilder::new();
    let mut exemplars = StringBuilder::new();
    let mut flags = UInt32Builder::with_capacity(n);
    for p in points {
        let texts = [
            p.project_id.as_str(),
            p.name.as_str(),
            p.value.metric_type().as_str(),
            p.unit.as_str(),
            p.description.as_str(),
            p.service_name.as_str(),
            p.scope_name.as_str(),
        ];
        for (b, text) in strings.iter_mut().zip(texts) {
            b.append_value(text);
        }
        start.append_value(p.start_time_unix_nano);
        time.append_value(p.time_unix_nano);
        attrs.append(&p.attributes).engine()?;
        resource_attrs
            .append_shared(&p.resource_attributes)
            .engine()?;
        value.append_value(to_json(&p.value));
        exemplars.append_value(to_json(&p.exemplars));
        flags.append_value(p.flags);
    }
    let mut columns: Vec<ArrayRef> = strings
        .iter_mut()
        .map(|b| Arc::new(b.finish()) as ArrayRef)
        .collect();
    columns.extend([
        Arc::new(start.finish()) as ArrayRef,
        Arc::new(time.finish()),
        Arc::new(attrs.finish()),
        Arc::new(resource_attrs.finish()),
        Arc::new(value.finish()),
        Arc::new(exemplars.finish()),
        Arc::new(flags.finish()),
    ]);
    RecordBatch::try_new(metric_schema(), columns).engine()
}

/// Converts a batch of [`metric_schema`] back into points.
pub fn batch_to_points(batch: &RecordBatch) -> Result<Vec<MetricPoint>, StoreError> {
    let c = Columns(batch);
    let project = c.str(col::PROJECT_ID)?;
    let name = c.str(col::METRIC_NAME)?;
    let unit = c.str(col::UNIT)?;
    let description = c.str(col::DESCRIPTION)?;
    let service = c.str(col::SERVICE_NAME)?;
    let scope = c.str(col::SCOPE_NAME)?;
    let start = c.i64(col::START_TIME)?;
    let time = c.i64(col::TIME)?;
    let attrs = c.map(col::ATTRIBUTES)?;
    let resource_attrs = c.map(col::RESOURCE_ATTRIBUTES)?;
    let value = c.str(col::POINT_VALUE)?;
    let exemplars = c.str(col::EXEMPLARS)?;
    let flags = c.u32(col::FLAGS)?;
    (0..batch.num_rows())
        .map(|i| {
            Ok(MetricPoint {
                project_id: project.value(i).to_string(),
                name: name.value(i).to_string(),
                description: description.value(i).to_string(),
                unit: unit.value(i).to_string(),
                service_name: service.value(i).to_string(),
                scope_name: scope.value(i).to_string(),
                start_time_unix_nano: start.value(i),
                time_unix_nano: time.value(i),
                attributes: read_attrs(attrs, i)?,
                resource_attributes: read_attrs(resource_attrs, i)?.into(),
                value: serde_json::from_str(value.value(i))?,
                exemplars: serde_json::from_str(exemplars.value(i))?,
                flags: flags.value(i),
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use tracehouse_model::{AttrValue, Exemplar, PointValue, Temporality, TraceId};

    #[test]
    fn points_round_trip() {
        let point = MetricPoint {
            project_id: "p".into(),
            name: "http.server.request.duration".into(),
            description: "how long".into(),
            unit: "s".into(),
            service_name: "shop".into(),
            scope_name: "meter".into(),
            start_time_unix_nano: 5,
            time_unix_nano: 10,
            attributes: [("route".to_string(), AttrValue::Str("/a".into()))].into(),
            resource_attributes: tracehouse_model::Attributes::from([(
                "service.name".to_string(),
                AttrValue::Str("shop".into()),
            )])
            .into(),
            value: PointValue::Histogram {
                temporality: Temporality::Cumulative,
                count: 3,
                sum: Some(1.5),
                min: None,
                max: Some(1.0),
                bounds: vec![0.1, 1.0],
                counts: vec![1, 1, 1],
            },
            exemplars: vec![Exemplar {
                time_unix_nano: 9,
                value: 0.5,
                trace_id: Some(TraceId([3; 16])),
                span_id: None,
                attributes: Default::default(),
            }],
            flags: 0,
        };
        let gauge = MetricPoint {
            name: "queue".into(),
            value: PointValue::Gauge { value: -2.0 },
            exemplars: Vec::new(),
            ..point.clone()
        };
        let batch = points_to_batch(&[point.clone(), gauge.clone()]).unwrap();
        assert_eq!(batch_to_points(&batch).unwrap(), vec![point, gauge]);
    }
}
