//! The Arrow schema of the replay table (chunks of session recordings) and the conversion
//! between [`ReplayChunk`]s and record batches. A chunk's events stay the JSON text they
//! were stored as: the store never looks inside them.

use std::sync::{Arc, LazyLock};

use datafusion::arrow::array::{ArrayRef, Int64Builder, RecordBatch, StringBuilder, UInt32Builder};
use datafusion::arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use tracehouse_store_api::ReplayChunk;

use crate::error::{EngineResult, StoreError};
use crate::storage::schema::{Columns, col};

static REPLAY_SCHEMA: LazyLock<SchemaRef> = LazyLock::new(|| {
    Arc::new(Schema::new(vec![
        Field::new(col::PROJECT_ID, DataType::Utf8, false),
        Field::new(col::SESSION_ID, DataType::Utf8, false),
        Field::new(col::SEQUENCE, DataType::UInt32, false),
        Field::new(col::TIME, DataType::Int64, false),
        Field::new(col::END_TIME, DataType::Int64, false),
        Field::new(col::EVENT_COUNT, DataType::UInt32, false),
        Field::new(col::EVENTS, DataType::Utf8, false),
    ]))
});

/// The schema of the replay table.
pub fn replay_schema() -> SchemaRef {
    REPLAY_SCHEMA.clone()
}

/// Converts chunks into one record batch of [`replay_schema`].
pub fn chunks_to_batch(chunks: &[ReplayChunk]) -> Result<RecordBatch, StoreError> {
    let n = chunks.len();
    let mut project = StringBuilder::new();
    let mut session = StringBuilder::new();
    let mut sequence = UInt32Builder::with_capacity(n);
    let mut time = Int64Builder::with_capacity(n);
    let mut end_time = Int64Builder::with_capacity(n);
    let mut event_count = UInt32Builder::with_capacity(n);
    let mut events = StringBuilder::new();
    for c in chunks {
        project.append_value(&c.project_id);
        session.append_value(&c.session_id);
        sequence.append_value(c.sequence);
        time.append_value(c.start_ns);
        end_time.append_value(c.end_ns);
        event_count.append_value(c.event_count);
        events.append_value(&c.events);
    }
    let columns: Vec<ArrayRef> = vec![
        Arc::new(project.finish()),
        Arc::new(session.finish()),
        Arc::new(sequence.finish()),
        Arc::new(time.finish()),
        Arc::new(end_time.finish()),
        Arc::new(event_count.finish()),
        Arc::new(events.finish()),
    ];
    RecordBatch::try_new(replay_schema(), columns).engine()
}

/// Converts a batch of [`replay_schema`] back into chunks.
pub fn batch_to_chunks(batch: &RecordBatch) -> Result<Vec<ReplayChunk>, StoreError> {
    let c = Columns(batch);
    let project = c.str(col::PROJECT_ID)?;
    let session = c.str(col::SESSION_ID)?;
    let sequence = c.u32(col::SEQUENCE)?;
    let time = c.i64(col::TIME)?;
    let end_time = c.i64(col::END_TIME)?;
    let event_count = c.u32(col::EVENT_COUNT)?;
    let events = c.str(col::EVENTS)?;
    Ok((0..batch.num_rows())
        .map(|i| ReplayChunk {
            project_id: project.value(i).to_string(),
            session_id: session.value(i).to_string(),
            sequence: sequence.value(i),
            start_ns: time.value(i),
            end_ns: end_time.value(i),
            event_count: event_count.value(i),
            events: events.value(i).to_string(),
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chunks_round_trip() {
        let chunks = vec![
            ReplayChunk {
                project_id: "p".into(),
                session_id: "s".into(),
                sequence: 3,
                start_ns: 10,
                end_ns: 20,
                event_count: 2,
                events: r#"[{"type":4,"timestamp":1},{"type":2,"timestamp":2}]"#.into(),
            },
            ReplayChunk {
                project_id: "q".into(),
                session_id: "t".into(),
                sequence: 0,
                start_ns: 5,
                end_ns: 5,
                event_count: 1,
                events: "[{}]".into(),
            },
        ];
        let batch = chunks_to_batch(&chunks).unwrap();
        assert_eq!(batch_to_chunks(&batch).unwrap(), chunks);
    }
}
