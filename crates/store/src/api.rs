//! The backend-neutral `Store` trait: what the server needs from any storage engine.
//! The embedded engine implements it now; the ClickHouse backend will implement it too.

use async_trait::async_trait;
use tracehouse_model::{Span, TraceId};

use crate::cursor::Cursor;
use crate::error::StoreError;

/// A request to list spans newest first.
#[derive(Debug, Clone)]
pub struct SpanListQuery {
    /// Only spans of this project.
    pub project_id: String,
    /// Only spans of this service, when set.
    pub service: Option<String>,
    /// Only spans with this exact name, when set.
    pub name: Option<String>,
    /// Inclusive lower bound of the span start, ns.
    pub start_ns: i64,
    /// Exclusive upper bound of the span start, ns.
    pub end_ns: i64,
    /// Maximum spans to return.
    pub limit: usize,
    /// Continue after this position (from a previous page's `next_cursor`).
    pub cursor: Option<Cursor>,
}

/// One page of spans.
#[derive(Debug, Clone)]
pub struct SpanPage {
    /// Spans, newest first.
    pub spans: Vec<Span>,
    /// Where the next page starts, when there may be one.
    pub next_cursor: Option<Cursor>,
}

/// Point-in-time numbers about a store, exported as metrics.
#[derive(Debug, Clone, Default)]
pub struct StoreStats {
    /// Bytes in the write-ahead log not yet flushed to parts.
    pub wal_bytes: u64,
    /// Rows in the memtable (not yet in parts).
    pub memtable_rows: u64,
    /// Live Parquet parts.
    pub parts: u64,
    /// Rows in live parts.
    pub part_rows: u64,
    /// Bytes of live parts on disk.
    pub part_bytes: u64,
    /// Memtable flushes completed since start.
    pub flushes: u64,
    /// Time spent flushing since start, seconds.
    pub flush_seconds: f64,
    /// Compactions completed since start.
    pub compactions: u64,
    /// Time spent compacting since start, seconds.
    pub compaction_seconds: f64,
}

/// A storage engine for spans.
#[async_trait]
pub trait Store: Send + Sync {
    /// Stores spans durably; returns only once they survive a crash.
    async fn write_spans(&self, spans: Vec<Span>) -> Result<(), StoreError>;
    /// All spans of one trace in a project, ordered by start time; empty when unknown.
    async fn trace(&self, project_id: &str, trace_id: TraceId) -> Result<Vec<Span>, StoreError>;
    /// Spans matching simple filters, newest first, one page at a time.
    async fn list_spans(&self, query: &SpanListQuery) -> Result<SpanPage, StoreError>;
    /// Makes everything written so far part of the long-term storage (used at shutdown).
    async fn flush(&self) -> Result<(), StoreError>;
    /// Current numbers for the metrics endpoint.
    fn stats(&self) -> StoreStats;
}
