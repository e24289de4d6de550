//! Errors of the storage layer.

use datafusion::arrow::error::ArrowError;
use datafusion::error::DataFusionError;
use datafusion::parquet::errors::ParquetError;

/// Everything that can go wrong in a store.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// A file-system operation failed.
    #[error("I/O error: {0}")]
    Io(#[from] std::io::Error),
    /// Building or reading Arrow data failed.
    #[error("Arrow error: {0}")]
    Arrow(#[from] ArrowError),
    /// Reading or writing Parquet failed.
    #[error("Parquet error: {0}")]
    Parquet(#[from] ParquetError),
    /// Query execution failed.
    #[error("query execution failed: {0}")]
    DataFusion(#[from] DataFusionError),
    /// Stored data could not be decoded.
    #[error("stored data is corrupt: {0}")]
    Corrupt(String),
    /// The store is shedding load; the client should retry later.
    #[error("store is overloaded ({0}); retry later")]
    Overloaded(String),
    /// The store is shutting down or its writer stopped.
    #[error("store is closed")]
    Closed,
    /// A request argument was invalid (for example a malformed cursor).
    #[error("{0}")]
    InvalidArgument(String),
    /// A remote storage backend cannot be reached right now; the client should retry.
    #[error("store unavailable ({0}); retry later")]
    Unavailable(String),
    /// A remote storage backend refused or failed an operation.
    #[error("storage backend error: {0}")]
    Backend(String),
}

impl From<serde_json::Error> for StoreError {
    fn from(e: serde_json::Error) -> Self {
        StoreError::Corrupt(e.to_string())
    }
}

impl StoreError {
    /// Whether the error says stored data is damaged or missing (a part that does not
    /// decode, a file that is gone), rather than that the request or the moment is wrong.
    pub fn is_damage(&self) -> bool {
        match self {
            StoreError::Parquet(_) | StoreError::Corrupt(_) | StoreError::Arrow(_) => true,
            StoreError::Io(e) => matches!(
                e.kind(),
                std::io::ErrorKind::NotFound
                    | std::io::ErrorKind::UnexpectedEof
                    | std::io::ErrorKind::InvalidData
            ),
            StoreError::DataFusion(e) => matches!(
                e.find_root(),
                DataFusionError::ParquetError(_)
                    | DataFusionError::ArrowError(..)
                    | DataFusionError::IoError(_)
                    | DataFusionError::External(_)
            ),
            _ => false,
        }
    }

    /// Whether a client may succeed by retrying the same request later.
    pub fn is_retryable(&self) -> bool {
        matches!(
            self,
            StoreError::Overloaded(_)
                | StoreError::Closed
                | StoreError::Io(_)
                | StoreError::Unavailable(_)
        )
    }
}
