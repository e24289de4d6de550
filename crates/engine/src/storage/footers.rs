//! The parsed Parquet footers and page indexes of a store's parts, kept within a byte
//! budget.
//!
//! A part's reads need its footer and page index parsed (a few hundred KB to a few MB for a
//! large spans part: a page index entry per page and column). Parts used to keep theirs
//! for life once read, and every part is read at least once (checked at open, merged by
//! compaction, verified in the background), so a store held the metadata of all its parts:
//! 170 MB for the hundred parts a 16M-span ingest had live at once. The cache keeps the
//! most recently used within its budget and parses the others again when they are read.

use std::fs::File;
use std::path::{Path, PathBuf};

use datafusion::parquet::arrow::arrow_reader::{ArrowReaderMetadata, ArrowReaderOptions};
use datafusion::parquet::file::metadata::PageIndexPolicy;
use parking_lot::Mutex;

use crate::error::{EngineResult, StoreError};
use crate::storage::lru::ByteLru;

/// Footers of parts, least recently used dropped first once they hold more than the budget.
#[derive(Debug)]
pub struct Footers {
    held: Mutex<ByteLru<PathBuf, ArrowReaderMetadata>>,
}

impl Footers {
    /// A cache holding at most about `budget` bytes of parsed metadata (the one in use may
    /// be larger on its own).
    pub fn new(budget: usize) -> Footers {
        Footers {
            held: Mutex::new(ByteLru::new(budget)),
        }
    }

    /// The footer and page index of the Parquet file at `path`, parsed now unless held.
    pub fn get(&self, path: &Path) -> Result<ArrowReaderMetadata, StoreError> {
        if let Some(m) = self.held.lock().get(path) {
            return Ok(m);
        }
        let options = ArrowReaderOptions::new().with_page_index_policy(PageIndexPolicy::Optional);
        let metadata = ArrowReaderMetadata::load(&File::open(path)?, options).engine()?;
        let bytes = metadata.metadata().memory_size();
        self.held
            .lock()
            .insert(path.to_path_buf(), metadata.clone(), bytes);
        Ok(metadata)
    }

    /// Drops the metadata of the file at `path` (its part is gone).
    pub fn forget(&self, path: &Path) {
        self.held.lock().remove(path);
    }

    /// Bytes of metadata held.
    pub fn bytes(&self) -> usize {
        self.held.lock().bytes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    use datafusion::arrow::array::{Int64Array, RecordBatch};
    use datafusion::arrow::datatypes::{DataType, Field, Schema};
    use datafusion::parquet::arrow::ArrowWriter;

    fn parquet_file(dir: &Path, name: &str, rows: i64) -> PathBuf {
        let schema = Arc::new(Schema::new(vec![Field::new("x", DataType::Int64, false)]));
        let batch = RecordBatch::try_new(
            schema.clone(),
            vec![Arc::new(Int64Array::from_iter_values(0..rows))],
        )
        .expect("batch");
        let path = dir.join(name);
        let mut w = ArrowWriter::try_new(File::create(&path).expect("create"), schema, None)
            .expect("writer");
        w.write(&batch).expect("write");
        w.close().expect("close");
        path
    }

    #[test]
    fn the_least_recently_used_footers_go_past_the_budget() {
        let dir = tempfile::tempdir().expect("tempdir");
        let paths: Vec<PathBuf> = (0..3)
            .map(|i| parquet_file(dir.path(), &format!("{i}.parquet"), 1000))
            .collect();
        let one = Footers::new(usize::MAX).get(&paths[0]).expect("footer");
        let size = one.metadata().memory_size();
        let footers = Footers::new(size * 2);
        for p in &paths[..2] {
            footers.get(p).expect("footer");
        }
        assert_eq!(footers.bytes(), 2 * size);
        // The first is used again: the second is now the least recently used.
        footers.get(&paths[0]).expect("footer");
        footers.get(&paths[2]).expect("footer");
        assert_eq!(footers.bytes(), 2 * size);
        let held: Vec<bool> = paths
            .iter()
            .map(|p| footers.held.lock().contains(p.as_path()))
            .collect();
        assert_eq!(held, [true, false, true]);
        footers.forget(&paths[0]);
        assert_eq!(footers.bytes(), size);
    }

    #[test]
    fn a_footer_larger_than_the_budget_is_still_read() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = parquet_file(dir.path(), "big.parquet", 10_000);
        let footers = Footers::new(1);
        let m = footers.get(&path).expect("footer");
        assert_eq!(m.metadata().file_metadata().num_rows(), 10_000);
        assert!(
            footers.bytes() > 1,
            "the one in use stays until another comes"
        );
        let other = parquet_file(dir.path(), "other.parquet", 10);
        footers.get(&other).expect("footer");
        assert!(!footers.held.lock().contains(path.as_path()));
    }

    #[test]
    fn a_damaged_footer_is_an_error() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("bad.parquet");
        std::fs::write(&path, b"not parquet at all").expect("write");
        assert!(Footers::new(1 << 20).get(&path).is_err());
        assert_eq!(Footers::new(1 << 20).bytes(), 0);
    }
}
