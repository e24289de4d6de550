//! The engine's failures in the storage contract's terms: Arrow, Parquet and DataFusion
//! errors become [`StoreError::Engine`], marked damaged when they say stored data does not
//! decode.

use datafusion::arrow::error::ArrowError;
use datafusion::error::DataFusionError;
use datafusion::parquet::errors::ParquetError;
pub use tracehouse_store_api::StoreError;

/// Converts an engine library's failure into a [`StoreError`] (`result.engine()?`).
pub trait EngineResult<T> {
    /// The result with its error as a [`StoreError`].
    fn engine(self) -> Result<T, StoreError>;
}

/// An engine library's error and how to name it.
pub trait EngineFailure: std::error::Error + Send + Sync + Sized + 'static {
    /// The error as a [`StoreError`].
    fn into_store(self) -> StoreError;
}

impl EngineFailure for ArrowError {
    fn into_store(self) -> StoreError {
        engine("Arrow error", true, self)
    }
}

impl EngineFailure for ParquetError {
    fn into_store(self) -> StoreError {
        engine("Parquet error", true, self)
    }
}

impl EngineFailure for DataFusionError {
    fn into_store(self) -> StoreError {
        if let DataFusionError::ResourcesExhausted(why) = self.find_root() {
            return StoreError::InvalidArgument(format!(
                "query too large: it needs more memory than queries may use ({why}); narrow \
                 the time range or the query, or raise --memory-limit"
            ));
        }
        let damaged = matches!(
            self.find_root(),
            DataFusionError::ParquetError(_)
                | DataFusionError::ArrowError(..)
                | DataFusionError::IoError(_)
                | DataFusionError::External(_)
        );
        engine("query execution failed", damaged, self)
    }
}

fn engine(
    context: &'static str,
    damaged: bool,
    e: impl std::error::Error + Send + Sync + 'static,
) -> StoreError {
    StoreError::Engine {
        context,
        damaged,
        source: Box::new(e),
    }
}

impl<T, E: EngineFailure> EngineResult<T> for Result<T, E> {
    fn engine(self) -> Result<T, StoreError> {
        self.map_err(EngineFailure::into_store)
    }
}
