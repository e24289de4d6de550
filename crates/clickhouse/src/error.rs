//! Errors of the ClickHouse backend and how they map onto [`StoreError`].

use tracehouse_store_api::StoreError;

/// Everything that can go wrong talking to ClickHouse.
#[derive(Debug, thiserror::Error)]
pub enum ClickHouseError {
    /// ClickHouse could not be reached, or the request timed out: retryable.
    #[error("ClickHouse is unreachable: {0}")]
    Unreachable(String),
    /// ClickHouse answered with an error.
    #[error("ClickHouse error: {0}")]
    Server(String),
    /// The server is older than the oldest supported release.
    #[error(
        "ClickHouse {found} is too old: tracehouse needs ClickHouse {}.{} or newer",
        crate::schema::MIN_VERSION.0,
        crate::schema::MIN_VERSION.1
    )]
    TooOld {
        /// The version the server reported.
        found: String,
    },
    /// The database has a newer schema than this build knows.
    #[error(
        "the database schema is at version {found}, newer than this tracehouse build knows ({known}); upgrade tracehouse"
    )]
    SchemaTooNew {
        /// Version recorded in the database.
        found: u32,
        /// Newest version this build has.
        known: u32,
    },
    /// A configuration value is invalid.
    #[error("invalid ClickHouse configuration: {0}")]
    Config(String),
    /// A stored row could not be decoded.
    #[error("stored data is corrupt: {0}")]
    Corrupt(String),
}

/// ClickHouse error codes that mean "try again later" rather than "this request is wrong".
const RETRYABLE_CODES: &[u32] = &[
    159, // TIMEOUT_EXCEEDED
    164, // READONLY (e.g. replica in read-only mode)
    202, // TOO_MANY_SIMULTANEOUS_QUERIES
    209, // SOCKET_TIMEOUT
    210, // NETWORK_ERROR
    241, // MEMORY_LIMIT_EXCEEDED
    242, // TABLE_IS_READ_ONLY
    252, // TOO_MANY_PARTS
    319, // UNKNOWN_STATUS_OF_INSERT
    425, // SYSTEM_ERROR
    999, // KEEPER_EXCEPTION
];

fn server_code(text: &str) -> Option<u32> {
    let rest = text.split("Code:").nth(1)?.trim_start();
    let digits: String = rest.chars().take_while(|c| c.is_ascii_digit()).collect();
    digits.parse().ok()
}

impl From<clickhouse::error::Error> for ClickHouseError {
    fn from(e: clickhouse::error::Error) -> Self {
        use clickhouse::error::Error as E;
        match e {
            E::Network(_) | E::TimedOut => ClickHouseError::Unreachable(e.to_string()),
            E::BadResponse(text) => {
                let retryable = server_code(&text).is_some_and(|c| RETRYABLE_CODES.contains(&c))
                    // A proxy or load balancer in front of a server that is down.
                    || text.starts_with("502")
                    || text.starts_with("503")
                    || text.starts_with("504");
                if retryable {
                    ClickHouseError::Unreachable(text)
                } else {
                    ClickHouseError::Server(text)
                }
            }
            other => ClickHouseError::Server(other.to_string()),
        }
    }
}

impl From<ClickHouseError> for StoreError {
    fn from(e: ClickHouseError) -> Self {
        match e {
            ClickHouseError::Unreachable(m) => StoreError::Unavailable(m),
            ClickHouseError::Corrupt(m) => StoreError::Corrupt(m),
            other => StoreError::Backend(other.to_string()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_read_from_exception_text() {
        assert_eq!(
            server_code("Code: 252. DB::Exception: Too many parts"),
            Some(252)
        );
        assert_eq!(server_code("nothing"), None);
    }
}
