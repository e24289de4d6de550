//! Trace and span identifiers: fixed-size byte arrays shown and accepted as lowercase hex.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use utoipa::openapi::RefOr;
use utoipa::openapi::schema::{ObjectBuilder, Schema, Type};
use utoipa::{PartialSchema, ToSchema};

/// Why an id was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IdError {
    /// The id had the wrong number of bytes.
    #[error("{kind} must be {expected} bytes, got {got}")]
    WrongLength {
        /// "trace_id" or "span_id".
        kind: &'static str,
        /// The required length in bytes.
        expected: usize,
        /// The length received.
        got: usize,
    },
    /// The id was all zero bytes, which OTLP defines as invalid.
    #[error("{kind} must not be all zeros")]
    AllZero {
        /// "trace_id" or "span_id".
        kind: &'static str,
    },
    /// The hex text could not be decoded.
    #[error("{kind} is not valid hex: {reason}")]
    BadHex {
        /// "trace_id" or "span_id".
        kind: &'static str,
        /// What was wrong with the text.
        reason: String,
    },
}

macro_rules! define_id {
    ($name:ident, $len:expr, $kind:expr, $doc:expr, $example:expr) => {
        #[doc = $doc]
        #[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
        pub struct $name(pub [u8; $len]);

        impl $name {
            /// Number of bytes in this id.
            pub const LEN: usize = $len;

            /// Builds an id from raw bytes, refusing wrong lengths and the all-zero id.
            pub fn from_bytes(bytes: &[u8]) -> Result<Self, IdError> {
                let arr: [u8; $len] = bytes.try_into().map_err(|_| IdError::WrongLength {
                    kind: $kind,
                    expected: $len,
                    got: bytes.len(),
                })?;
                if arr.iter().all(|b| *b == 0) {
                    return Err(IdError::AllZero { kind: $kind });
                }
                Ok(Self(arr))
            }

            /// The id as lowercase hex.
            pub fn to_hex(&self) -> String {
                hex::encode(self.0)
            }
        }

        impl FromStr for $name {
            type Err = IdError;

            /// Parses hex text (either case) into an id.
            fn from_str(s: &str) -> Result<Self, IdError> {
                let bytes = hex::decode(s).map_err(|e| IdError::BadHex {
                    kind: $kind,
                    reason: e.to_string(),
                })?;
                Self::from_bytes(&bytes)
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.to_hex())
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}({})", stringify!($name), self.to_hex())
            }
        }

        impl Serialize for $name {
            fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(&self.to_hex())
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let text = String::deserialize(d)?;
                text.parse().map_err(serde::de::Error::custom)
            }
        }

        /// As serialized: a string of lowercase hex digits, two per byte.
        impl PartialSchema for $name {
            fn schema() -> RefOr<Schema> {
                ObjectBuilder::new()
                    .schema_type(Type::String)
                    .pattern(Some(format!("^[0-9a-f]{{{}}}$", 2 * $len)))
                    .description(Some(concat!($doc, " Written as lowercase hex.")))
                    .examples([$example])
                    .into()
            }
        }

        impl ToSchema for $name {}
    };
}

define_id!(
    TraceId,
    16,
    "trace_id",
    "A 16-byte trace id.",
    "5b8efff798038103d269b633813fc60c"
);
define_id!(
    SpanId,
    8,
    "span_id",
    "An 8-byte span id.",
    "eee19b7ec3c1b174"
);
define_id!(
    LogId,
    16,
    "log_id",
    "A 16-byte log record id: a hash of the record's content, so a retried export gives the same ids.",
    "0c5b3bf0d4a2e8f61e9a7d2c4b6f8a01"
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_upper_and_lower_hex_and_prints_lowercase() {
        let id: TraceId = "5B8EFFF798038103D269B633813FC60C".parse().unwrap();
        assert_eq!(id.to_hex(), "5b8efff798038103d269b633813fc60c");
        let same: TraceId = "5b8efff798038103d269b633813fc60c".parse().unwrap();
        assert_eq!(id, same);
    }

    #[test]
    fn rejects_zero_and_wrong_length() {
        assert_eq!(
            SpanId::from_bytes(&[0; 8]),
            Err(IdError::AllZero { kind: "span_id" })
        );
        assert!(matches!(
            TraceId::from_bytes(&[1; 8]),
            Err(IdError::WrongLength {
                expected: 16,
                got: 8,
                ..
            })
        ));
        assert!(matches!(
            "zz".parse::<SpanId>(),
            Err(IdError::BadHex { .. })
        ));
    }
}
