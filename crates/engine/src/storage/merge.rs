//! A k-way merge of row streams that are each in a table's part order into one stream in
//! that order, a granule of rows at a time. Compaction uses it to merge parts while holding
//! only one decoded batch per input and one output batch, whatever the parts' sizes.
//!
//! Rows are compared through Arrow's row format of the table's sort columns, so the order is
//! exactly the one `sort_for_part` produces for a whole batch.
//!
//! A merge can also drop identical copies ([`SortedMerge::without_copies`]; compaction does
//! for spans): identical rows share their sort key, and rows sharing a key come out of the
//! merge as one run, so a row is left out when its full content matches a row kept earlier
//! in its run. A row is fingerprinted (XXH3-128 of Arrow's row format of every column) only
//! once a second row joins its run, and only the fingerprints of the current run's kept rows
//! are held, so a merge of rows with distinct keys does no more than compare each key with
//! the last, and its memory stays bounded by the largest run.

use std::collections::HashSet;

use datafusion::arrow::array::{ArrayRef, RecordBatch};
use datafusion::arrow::compute::{SortOptions, interleave_record_batch};
use datafusion::arrow::row::{Row, RowConverter, Rows, SortField};
use twox_hash::XxHash3_128;

use crate::error::{EngineResult, StoreError};
use crate::storage::granule::GRANULE_ROWS;
use crate::storage::part::READ_BATCH_BYTES;
use crate::storage::table::Table;

/// The sort keys of a table's rows in Arrow's row format: two rows' keys compare as the
/// rows are ordered in the table's parts (`sort_for_part`).
pub struct SortKeys {
    table: Table,
    converter: RowConverter,
}

impl SortKeys {
    /// The keys of `table`'s part order.
    pub fn new(table: Table) -> Result<SortKeys, StoreError> {
        let schema = table.schema();
        let fields = table
            .sort_columns()
            .iter()
            .map(|(name, descending)| {
                let field = schema.field_with_name(name).engine()?;
                Ok(SortField::new_with_options(
                    field.data_type().clone(),
                    SortOptions {
                        descending: *descending,
                        nulls_first: false,
                    },
                ))
            })
            .collect::<Result<Vec<_>, StoreError>>()?;
        Ok(SortKeys {
            table,
            converter: RowConverter::new(fields).engine()?,
        })
    }

    /// The sort keys of a batch's rows.
    pub fn of(&self, batch: &RecordBatch) -> Result<Rows, StoreError> {
        let columns = self
            .table
            .sort_columns()
            .iter()
            .map(|(name, _)| {
                batch
                    .column_by_name(name)
                    .cloned()
                    .ok_or_else(|| StoreError::Corrupt(format!("missing column {name}")))
            })
            .collect::<Result<Vec<ArrayRef>, _>>()?;
        self.converter.convert_columns(&columns).engine()
    }
}

/// The current run of equal sort keys of a merge that drops copies (see the module docs).
struct Copies {
    /// Every column of the table in Arrow's row format, for fingerprints.
    rows: RowConverter,
    /// The sort key of the current run.
    key: Vec<u8>,
    /// The run's first row, until a second row joins the run and it is fingerprinted.
    first: Option<(RecordBatch, usize)>,
    /// The fingerprints of the run's kept rows, once it has more than one row.
    prints: HashSet<u128>,
    dropped: u64,
}

impl Copies {
    fn new(table: Table) -> Result<Copies, StoreError> {
        let fields = table
            .schema()
            .fields()
            .iter()
            .map(|f| SortField::new(f.data_type().clone()))
            .collect();
        Ok(Copies {
            rows: RowConverter::new(fields).engine()?,
            key: Vec::new(),
            first: None,
            prints: HashSet::new(),
            dropped: 0,
        })
    }

    /// Whether row `row` of `batch`, whose sort key is `key`, is identical to a row kept
    /// earlier in its run; a row that is not is kept.
    fn is_copy(
        &mut self,
        key: Row<'_>,
        batch: &RecordBatch,
        row: usize,
    ) -> Result<bool, StoreError> {
        if key.as_ref() != self.key.as_slice() {
            self.key.clear();
            self.key.extend_from_slice(key.as_ref());
            self.prints.clear();
            self.first = Some((batch.clone(), row));
            return Ok(false);
        }
        if let Some((first, at)) = self.first.take() {
            self.prints.insert(fingerprint(&self.rows, &first, at)?);
        }
        let copy = !self.prints.insert(fingerprint(&self.rows, batch, row)?);
        self.dropped += u64::from(copy);
        Ok(copy)
    }
}

/// The content fingerprint of row `row` of `batch`: XXH3-128 of its every column in
/// Arrow's row format, which encodes equal values alike and different ones differently.
fn fingerprint(rows: &RowConverter, batch: &RecordBatch, row: usize) -> Result<u128, StoreError> {
    let converted = rows
        .convert_columns(batch.slice(row, 1).columns())
        .engine()?;
    Ok(XxHash3_128::oneshot(converted.row(0).as_ref()))
}

/// One input of the merge: its current batch, that batch's sort keys, and the next row.
struct Input<I> {
    batches: I,
    batch: RecordBatch,
    keys: Rows,
    next: usize,
    /// Index of `batch` in the output chunk's batch list.
    slot: usize,
}

/// Merges sorted streams of batches (see the module docs); yields batches of at most
/// [`GRANULE_ROWS`] rows and about [`READ_BATCH_BYTES`] of data.
pub struct SortedMerge<I> {
    keys: SortKeys,
    inputs: Vec<Input<I>>,
    /// Batches the pending output rows point into.
    slots: Vec<RecordBatch>,
    /// Pending output rows: (slot, row).
    picked: Vec<(usize, usize)>,
    /// Estimated Arrow bytes of the pending rows.
    picked_bytes: u64,
    /// The current run of equal keys, when identical copies are dropped.
    copies: Option<Copies>,
}

impl<I> SortedMerge<I>
where
    I: Iterator<Item = Result<RecordBatch, StoreError>>,
{
    /// A merge of `sources`, each already in `table`'s part order.
    pub fn new(table: Table, sources: Vec<I>) -> Result<SortedMerge<I>, StoreError> {
        let mut merge = SortedMerge {
            keys: SortKeys::new(table)?,
            inputs: Vec::new(),
            slots: Vec::new(),
            picked: Vec::with_capacity(GRANULE_ROWS),
            picked_bytes: 0,
            copies: None,
        };
        for batches in sources {
            merge.add_input(batches)?;
        }
        Ok(merge)
    }

    /// The same merge, leaving out every row identical to one it yields (see the module
    /// docs).
    pub fn without_copies(mut self) -> Result<SortedMerge<I>, StoreError> {
        self.copies = Some(Copies::new(self.keys.table)?);
        Ok(self)
    }

    /// How many identical copies the merge has left out so far.
    pub fn copies_dropped(&self) -> u64 {
        self.copies.as_ref().map_or(0, |c| c.dropped)
    }

    /// Starts `batches` as an input, unless it has no rows at all.
    fn add_input(&mut self, mut batches: I) -> Result<(), StoreError> {
        if let Some(batch) = next_non_empty(&mut batches)? {
            let keys = self.keys.of(&batch)?;
            self.slots.push(batch.clone());
            self.inputs.push(Input {
                batches,
                batch,
                keys,
                next: 0,
                slot: self.slots.len() - 1,
            });
        }
        Ok(())
    }

    /// The input whose next row comes first (ties go to the earlier input, so the merge is
    /// stable).
    fn first_input(&self) -> Option<usize> {
        let mut best: Option<usize> = None;
        for (i, input) in self.inputs.iter().enumerate() {
            let better = best.is_none_or(|b| {
                let current = &self.inputs[b];
                input.keys.row(input.next) < current.keys.row(current.next)
            });
            if better {
                best = Some(i);
            }
        }
        best
    }

    /// Takes the next row of input `i` (unless it is a copy left out), moving the input to
    /// its next batch when this one is used up (and dropping it when it has none).
    fn take_row(&mut self, i: usize) -> Result<(), StoreError> {
        let input = &mut self.inputs[i];
        let copy = match &mut self.copies {
            Some(copies) => copies.is_copy(input.keys.row(input.next), &input.batch, input.next)?,
            None => false,
        };
        if !copy {
            self.picked.push((input.slot, input.next));
            self.picked_bytes += row_bytes(&input.batch);
        }
        input.next += 1;
        if input.next < input.batch.num_rows() {
            return Ok(());
        }
        match next_non_empty(&mut input.batches)? {
            Some(batch) => {
                let keys = self.keys.of(&batch)?;
                self.slots.push(batch.clone());
                let input = &mut self.inputs[i];
                input.keys = keys;
                input.batch = batch;
                input.next = 0;
                input.slot = self.slots.len() - 1;
            }
            None => {
                self.inputs.remove(i);
            }
        }
        Ok(())
    }

    /// Builds the pending rows into a batch and forgets the batches no input still reads.
    fn emit(&mut self) -> Result<RecordBatch, StoreError> {
        let slots: Vec<&RecordBatch> = self.slots.iter().collect();
        let out = interleave_record_batch(&slots, &self.picked).engine()?;
        self.picked.clear();
        self.picked_bytes = 0;
        self.slots.clear();
        for input in &mut self.inputs {
            self.slots.push(input.batch.clone());
            input.slot = self.slots.len() - 1;
        }
        Ok(out)
    }

    fn next_batch(&mut self) -> Result<Option<RecordBatch>, StoreError> {
        while self.picked.len() < GRANULE_ROWS && self.picked_bytes < READ_BATCH_BYTES {
            let Some(i) = self.first_input() else { break };
            self.take_row(i)?;
        }
        if self.picked.is_empty() {
            return Ok(None);
        }
        self.emit().map(Some)
    }
}

impl<I> Iterator for SortedMerge<I>
where
    I: Iterator<Item = Result<RecordBatch, StoreError>>,
{
    type Item = Result<RecordBatch, StoreError>;

    fn next(&mut self) -> Option<Self::Item> {
        self.next_batch().transpose()
    }
}

/// The average Arrow bytes of a row of `batch`.
fn row_bytes(batch: &RecordBatch) -> u64 {
    (batch.get_array_memory_size() / batch.num_rows().max(1)) as u64
}

fn next_non_empty<I>(batches: &mut I) -> Result<Option<RecordBatch>, StoreError>
where
    I: Iterator<Item = Result<RecordBatch, StoreError>>,
{
    for batch in batches.by_ref() {
        let batch = batch?;
        if batch.num_rows() > 0 {
            return Ok(Some(batch));
        }
    }
    Ok(None)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::storage::part::sort_for_part;
    use crate::storage::schema::spans_to_batch;
    use crate::storage::schema::tests::sample_span;
    use tracehouse_model::Span;

    /// `n` spans of services a/b/c at scattered times, as one batch.
    fn spans(seed: u8, n: u8) -> RecordBatch {
        let spans: Vec<_> = (0..n)
            .map(|i| {
                let jitter = (u32::from(i) * 37 + u32::from(seed)) % 50;
                let mut s = sample_span(seed, i + 1, 1_000 + i64::from(jitter));
                s.service_name = ["a", "b", "c"][usize::from(i % 3)].into();
                s
            })
            .collect();
        spans_to_batch(&spans).unwrap()
    }

    /// Cuts a batch into batches of `size` rows.
    fn chunks(batch: &RecordBatch, size: usize) -> Vec<Result<RecordBatch, StoreError>> {
        (0..batch.num_rows())
            .step_by(size)
            .map(|at| Ok(batch.slice(at, size.min(batch.num_rows() - at))))
            .collect()
    }

    #[test]
    fn merging_sorted_inputs_equals_sorting_them_together() {
        let table = Table::Spans;
        let inputs: Vec<RecordBatch> = [(1, 40), (2, 7), (3, 0), (4, 25)]
            .into_iter()
            .map(|(seed, n)| sort_for_part(table, &spans(seed, n)).unwrap())
            .collect();
        let sources = inputs.iter().map(|b| chunks(b, 6).into_iter()).collect();
        let merged: Vec<RecordBatch> = SortedMerge::new(table, sources)
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        let all = datafusion::arrow::compute::concat_batches(&table.schema(), &inputs).unwrap();
        let expected = sort_for_part(table, &all).unwrap();
        let got = datafusion::arrow::compute::concat_batches(&table.schema(), &merged).unwrap();
        assert_eq!(got.num_rows(), 72);
        let keys = |b: &RecordBatch| -> Vec<(String, i64)> {
            crate::storage::schema::batch_to_spans(b)
                .unwrap()
                .into_iter()
                .map(|s| (s.service_name, s.start_time_unix_nano))
                .collect()
        };
        assert_eq!(keys(&got), keys(&expected));
        assert!(merged.iter().all(|b| b.num_rows() <= GRANULE_ROWS));
    }

    #[test]
    fn without_copies_leaves_out_identical_rows_and_keeps_rows_that_only_share_a_key() {
        let table = Table::Spans;
        let server = sample_span(1, 1, 1_000);
        let mut client = server.clone();
        client.kind = tracehouse_model::SpanKind::Client;
        let other = sample_span(1, 2, 2_000);
        let part = |spans: &[Span]| sort_for_part(table, &spans_to_batch(spans).unwrap()).unwrap();
        // Rows of one key come out input by input, so copies of one half meet with the
        // other half between them.
        let inputs = [
            part(&[server.clone(), client.clone(), other.clone()]),
            part(&[other.clone(), server.clone()]),
            part(&[client.clone(), server.clone()]),
        ];
        let sources = inputs.iter().map(|b| chunks(b, 1).into_iter()).collect();
        let mut merge = SortedMerge::new(table, sources)
            .unwrap()
            .without_copies()
            .unwrap();
        let merged: Vec<RecordBatch> = merge.by_ref().collect::<Result<_, _>>().unwrap();
        assert_eq!(merge.copies_dropped(), 4);
        let got = datafusion::arrow::compute::concat_batches(&table.schema(), &merged).unwrap();
        let mut spans = crate::storage::schema::batch_to_spans(&got).unwrap();
        spans.sort_by_key(|s| (s.start_time_unix_nano, s.kind as u8));
        assert_eq!(spans, [server, client, other]);
    }

    #[test]
    fn no_inputs_or_empty_inputs_merge_to_nothing() {
        let empty: Vec<std::vec::IntoIter<Result<RecordBatch, StoreError>>> =
            vec![Vec::new().into_iter()];
        assert_eq!(SortedMerge::new(Table::Spans, empty).unwrap().count(), 0);
    }
}
