//! Query execution over a snapshot of the embedded store with DataFusion: the memtable's
//! record batches and the chosen Parquet parts form one table, filters are pushed into the
//! Parquet scan (statistics, bloom filters, page index), and results become model spans.

use std::sync::Arc;

use datafusion::arrow::array::RecordBatch;
use datafusion::common::ScalarValue;
use datafusion::datasource::MemTable;
use datafusion::execution::runtime_env::{RuntimeEnv, RuntimeEnvBuilder};
use datafusion::prelude::{
    DataFrame, Expr, ParquetReadOptions, SessionConfig, SessionContext, col, lit,
};
use tracehouse_model::Span;

use crate::config::EngineConfig;
use crate::error::{EngineResult, StoreError};
use crate::storage::granule::GRANULE_ROWS;
use crate::storage::part::Part;
use crate::storage::schema::{batch_to_spans, col as c};
use crate::storage::table::Table;

/// A consistent view of one table: memtable batches plus live parts.
pub struct Snapshot {
    /// The table viewed.
    pub table: Table,
    /// Rows not yet in parts.
    pub memtable: Vec<RecordBatch>,
    /// Live parts (kept alive, and so on disk, while the snapshot exists).
    pub parts: Vec<Arc<Part>>,
    /// Where its queries run (see [`runtime`]).
    pub runtime: Arc<RuntimeEnv>,
}

/// The runtime every query of a store runs in: a memory pool of
/// [`EngineConfig::query_memory_bytes`] (sorts spill to disk past it, and a query that still
/// does not fit fails as too large), and a cache of Parquet footers and page indexes (parts
/// are immutable and never reuse a path, so each is parsed once).
pub(crate) fn runtime(config: &EngineConfig) -> Result<Arc<RuntimeEnv>, StoreError> {
    RuntimeEnvBuilder::new()
        .with_memory_limit(config.query_memory_bytes, 1.0)
        .with_metadata_cache_limit(config.metadata_cache_bytes)
        .build_arc()
        .engine()
}

/// A session whose scans decode `batch_rows` rows at a time.
fn session(runtime: &Arc<RuntimeEnv>, batch_rows: usize) -> SessionContext {
    let mut config = SessionConfig::new()
        .with_target_partitions(2)
        .with_batch_size(batch_rows);
    let parquet = &mut config.options_mut().execution.parquet;
    parquet.pushdown_filters = true;
    parquet.reorder_filters = true;
    parquet.bloom_filter_on_read = true;
    SessionContext::new_with_config_rt(config, runtime.clone())
}

/// A literal for a fixed-size binary column (ids).
pub fn id_lit(bytes: &[u8]) -> Expr {
    lit(ScalarValue::FixedSizeBinary(
        bytes.len() as i32,
        Some(bytes.to_vec()),
    ))
}

impl Snapshot {
    /// The live parts of `project_id` that may hold spans starting in `[start_ns, end_ns)`.
    pub fn parts_in(&self, project_id: &str, start_ns: i64, end_ns: i64) -> Vec<&Arc<Part>> {
        self.parts
            .iter()
            .filter(|p| {
                p.meta.project_id == project_id
                    && p.meta.min_start < end_ns
                    && p.meta.max_start >= start_ns
            })
            .collect()
    }

    /// [`Snapshot::parts_in`] less the parts whose trace index holds none of `traces`, when
    /// the read is confined to some traces.
    pub fn parts_holding(
        &self,
        project_id: &str,
        start_ns: i64,
        end_ns: i64,
        traces: Option<&[[u8; 16]]>,
    ) -> Vec<&Arc<Part>> {
        let mut parts = self.parts_in(project_id, start_ns, end_ns);
        if let Some(traces) = traces {
            parts.retain(|p| traces.iter().any(|t| p.may_contain(t)));
        }
        parts
    }

    /// One DataFrame over the memtable and the given parts.
    pub(crate) async fn frame(
        &self,
        parts: &[&Arc<Part>],
    ) -> Result<(SessionContext, DataFrame), StoreError> {
        let ctx = session(&self.runtime, batch_rows(parts)?);
        let schema = self.table.schema();
        let mem = MemTable::try_new(schema.clone(), vec![self.memtable.clone()]).engine()?;
        let mut df = ctx.read_table(Arc::new(mem)).engine()?;
        if !parts.is_empty() {
            let paths: Vec<String> = parts.iter().map(|p| p.path.display().to_string()).collect();
            let files = ctx
                .read_parquet(paths, ParquetReadOptions::default().schema(&schema))
                .await
                .engine()?;
            df = df.union(files).engine()?;
        }
        Ok((ctx, df))
    }

    /// Runs `filter` over the memtable and `parts`, sorted and limited.
    pub async fn rows(
        &self,
        parts: &[&Arc<Part>],
        filter: Expr,
        sort: Vec<datafusion::logical_expr::SortExpr>,
        limit: Option<usize>,
    ) -> Result<Vec<RecordBatch>, StoreError> {
        let (_ctx, df) = self.frame(parts).await?;
        df.filter(filter)
            .engine()?
            .sort(sort)
            .engine()?
            .limit(0, limit)
            .engine()?
            .collect()
            .await
            .engine()
    }

    /// The `columns` of the rows matching `filter` over the memtable and `parts`, unordered.
    pub async fn columns(
        &self,
        parts: &[&Arc<Part>],
        filter: Expr,
        columns: &[&str],
    ) -> Result<Vec<RecordBatch>, StoreError> {
        let (_ctx, df) = self.frame(parts).await?;
        df.filter(filter)
            .engine()?
            .select_columns(columns)
            .engine()?
            .collect()
            .await
            .engine()
    }

    /// Like [`Snapshot::rows`], as spans (a spans snapshot).
    pub async fn spans(
        &self,
        parts: &[&Arc<Part>],
        filter: Expr,
        sort: Vec<datafusion::logical_expr::SortExpr>,
        limit: Option<usize>,
    ) -> Result<Vec<Span>, StoreError> {
        let batches = self.rows(parts, filter, sort, limit).await?;
        let mut out = Vec::new();
        for b in &batches {
            out.extend(batch_to_spans(b)?);
        }
        Ok(out)
    }
}

/// Rows per scanned batch over `parts`: the fewest any part asks for, so a batch of the
/// widest rows (spans carrying kilobytes of attributes) stays near
/// [`READ_BATCH_BYTES`](crate::storage::part::READ_BATCH_BYTES) of decoded data instead of a
/// granule's rows whatever their size. Decoding is not drawn from the query memory pool,
/// so this is what bounds it.
fn batch_rows(parts: &[&Arc<Part>]) -> Result<usize, StoreError> {
    parts
        .iter()
        .map(|p| p.read_batch_rows())
        .try_fold(GRANULE_ROWS, |rows, part| Ok(rows.min(part?)))
}

/// `project_id = p`.
pub fn project_is(project_id: &str) -> Expr {
    col(c::PROJECT_ID).eq(lit(project_id))
}
