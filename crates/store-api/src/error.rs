//! Errors of the storage contract, in terms every backend can use: what went wrong and
//! whether retrying can help. A backend keeps its own failure as the source.

use std::error::Error;

/// Everything that can go wrong in a store.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// A file-system or network operation failed.
    #[error("I/O error: {0}")]
    Io(#[from] std::io::Error),
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
    /// The store cannot take this request right now (a remote server down, a disk full);
    /// the client should retry.
    #[error("store unavailable ({0}); retry later")]
    Unavailable(String),
    /// A remote storage backend refused or failed an operation.
    #[error("storage backend error: {0}")]
    Backend(String),
    /// The storage engine failed (decoding columns, reading files, executing a plan); its
    /// own error is the source.
    #[error("{context}: {source}")]
    Engine {
        /// What the engine was doing, as users read it (`Parquet error`, `query execution failed`).
        context: &'static str,
        /// Whether the failure says stored data does not decode (see [`StoreError::is_damage`]).
        damaged: bool,
        /// The engine's error.
        #[source]
        source: Box<dyn Error + Send + Sync>,
    },
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
            StoreError::Corrupt(_) => true,
            StoreError::Engine { damaged, .. } => *damaged,
            StoreError::Io(e) => matches!(
                e.kind(),
                std::io::ErrorKind::NotFound
                    | std::io::ErrorKind::UnexpectedEof
                    | std::io::ErrorKind::InvalidData
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
