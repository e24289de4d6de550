//! Typed attribute values and their JSON encoding.
//!
//! Attributes keep their OTLP type (string, int, float, bool, bytes, array, map). Their JSON
//! form is the natural one (`"text"`, `42`, `4.5`, `true`, `[…]`, `{…}`), except bytes, which
//! are written as `{"$bytes": "<base64>"}` so that they survive a round trip. Integers and
//! floats stay distinct in the text (`1` versus `1.0`).

use std::collections::BTreeMap;

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use opentelemetry_proto::tonic::common::v1::{AnyValue, KeyValue, any_value};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::Value as Json;
use utoipa::openapi::schema::{
    AdditionalProperties, AnyOfBuilder, ArrayBuilder, ObjectBuilder, Schema, Type,
};
use utoipa::openapi::{Ref, RefOr};
use utoipa::{PartialSchema, ToSchema};

/// The key under which bytes values are written in JSON.
const BYTES_KEY: &str = "$bytes";

/// A map of attribute key to typed value, ordered by key.
pub type Attributes = BTreeMap<String, AttrValue>;

/// Attributes that many rows share: a resource's, held once by all the spans (or log
/// records) of that resource instead of copied into each.
pub type SharedAttributes = std::sync::Arc<Attributes>;

/// One attribute value with its OTLP type preserved.
#[derive(Debug, Clone, PartialEq)]
pub enum AttrValue {
    /// A UTF-8 string.
    Str(String),
    /// A signed 64-bit integer.
    Int(i64),
    /// A 64-bit float.
    Float(f64),
    /// A boolean.
    Bool(bool),
    /// Raw bytes.
    Bytes(Vec<u8>),
    /// A list of values.
    Array(Vec<AttrValue>),
    /// A nested key/value list.
    Map(Vec<(String, AttrValue)>),
}

impl AttrValue {
    /// Converts an OTLP `AnyValue`, taking over its strings and bytes rather than copying
    /// them; an empty value becomes the empty string.
    pub fn from_otlp(value: Option<AnyValue>) -> Self {
        match value.and_then(|v| v.value) {
            // A string-table index only has meaning inside the profiles signal.
            None | Some(any_value::Value::StringValueStrindex(_)) => AttrValue::Str(String::new()),
            Some(any_value::Value::StringValue(s)) => AttrValue::Str(s),
            Some(any_value::Value::IntValue(i)) => AttrValue::Int(i),
            Some(any_value::Value::DoubleValue(f)) => AttrValue::Float(f),
            Some(any_value::Value::BoolValue(b)) => AttrValue::Bool(b),
            Some(any_value::Value::BytesValue(b)) => AttrValue::Bytes(b),
            Some(any_value::Value::ArrayValue(a)) => AttrValue::Array(
                a.values
                    .into_iter()
                    .map(|v| AttrValue::from_otlp(Some(v)))
                    .collect(),
            ),
            Some(any_value::Value::KvlistValue(kv)) => AttrValue::Map(
                kv.values
                    .into_iter()
                    .map(|kv| (kv.key, AttrValue::from_otlp(kv.value)))
                    .collect(),
            ),
        }
    }

    /// The value as text: strings as they are, everything else in its JSON form.
    pub fn as_text(&self) -> String {
        match self {
            AttrValue::Str(s) => s.clone(),
            other => other.to_json().to_string(),
        }
    }

    /// The value as a number when it is one (bools count as 0/1 for comparisons).
    pub fn as_f64(&self) -> Option<f64> {
        match self {
            AttrValue::Int(i) => Some(*i as f64),
            AttrValue::Float(f) => Some(*f),
            AttrValue::Str(s) => s.trim().parse().ok(),
            _ => None,
        }
    }

    /// Appends the text of [`AttrValue::to_json`] to `out`, without building the JSON
    /// value for scalars (the form every stored attribute value is written in).
    pub fn write_json(&self, out: &mut Vec<u8>) -> serde_json::Result<()> {
        match self {
            AttrValue::Str(s) => serde_json::to_writer(out, s),
            AttrValue::Int(i) => serde_json::to_writer(out, i),
            AttrValue::Float(f) if f.is_finite() => serde_json::to_writer(out, f),
            AttrValue::Bool(b) => serde_json::to_writer(out, b),
            other => serde_json::to_writer(out, &other.to_json()),
        }
    }

    /// The JSON form described in the module docs.
    pub fn to_json(&self) -> Json {
        match self {
            AttrValue::Str(s) => Json::String(s.clone()),
            AttrValue::Int(i) => Json::from(*i),
            AttrValue::Float(f) => serde_json::Number::from_f64(*f)
                .map(Json::Number)
                .unwrap_or_else(|| Json::String(f.to_string())),
            AttrValue::Bool(b) => Json::Bool(*b),
            AttrValue::Bytes(b) => {
                let mut m = serde_json::Map::new();
                m.insert(BYTES_KEY.to_string(), Json::String(BASE64.encode(b)));
                Json::Object(m)
            }
            AttrValue::Array(values) => Json::Array(values.iter().map(|v| v.to_json()).collect()),
            AttrValue::Map(entries) => Json::Object(
                entries
                    .iter()
                    .map(|(k, v)| (k.clone(), v.to_json()))
                    .collect(),
            ),
        }
    }

    /// Reads the JSON form back; `null` becomes the empty string.
    pub fn from_json(json: &Json) -> Self {
        match json {
            Json::Null => AttrValue::Str(String::new()),
            Json::Bool(b) => AttrValue::Bool(*b),
            Json::Number(n) => match n.as_i64() {
                Some(i) if !n.is_f64() => AttrValue::Int(i),
                _ => AttrValue::Float(n.as_f64().unwrap_or(f64::NAN)),
            },
            Json::String(s) => AttrValue::Str(s.clone()),
            Json::Array(values) => {
                AttrValue::Array(values.iter().map(AttrValue::from_json).collect())
            }
            Json::Object(map) => {
                if map.len() == 1
                    && let Some(Json::String(b64)) = map.get(BYTES_KEY)
                    && let Ok(bytes) = BASE64.decode(b64)
                {
                    return AttrValue::Bytes(bytes);
                }
                AttrValue::Map(
                    map.iter()
                        .map(|(k, v)| (k.clone(), AttrValue::from_json(v)))
                        .collect(),
                )
            }
        }
    }
}

impl Serialize for AttrValue {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.to_json().serialize(s)
    }
}

impl<'de> Deserialize<'de> for AttrValue {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Ok(AttrValue::from_json(&Json::deserialize(d)?))
    }
}

/// The JSON form of the module docs as a schema: any of a string, an integer, a number, a
/// boolean, `{"$bytes": "<base64>"}`, an array of values or an object of values.
impl PartialSchema for AttrValue {
    fn schema() -> RefOr<Schema> {
        let itself = || Ref::from_schema_name(AttrValue::name());
        let bytes = ObjectBuilder::new()
            .schema_type(Type::Object)
            .property(
                BYTES_KEY,
                ObjectBuilder::new()
                    .schema_type(Type::String)
                    .content_encoding("base64"),
            )
            .required(BYTES_KEY)
            .additional_properties(Some(AdditionalProperties::FreeForm(false)));
        let primitive = |t: Type| ObjectBuilder::new().schema_type(t);
        AnyOfBuilder::new()
            .item(primitive(Type::String))
            .item(primitive(Type::Integer))
            .item(primitive(Type::Number))
            .item(primitive(Type::Boolean))
            .item(bytes)
            .item(ArrayBuilder::new().items(itself()))
            .item(
                ObjectBuilder::new()
                    .schema_type(Type::Object)
                    .additional_properties(Some(itself())),
            )
            .description(Some(
                "An attribute value with its OpenTelemetry type kept: strings, integers (`1`) \
                 and floats (`1.0`) as JSON, bytes as `{\"$bytes\": \"<base64>\"}`, arrays and \
                 key/value lists as JSON arrays and objects.",
            ))
            .into()
    }
}

impl ToSchema for AttrValue {}

/// Converts OTLP key/values into [`Attributes`], taking over their strings; a repeated key
/// keeps its last value.
pub fn attributes_from_otlp(kvs: Vec<KeyValue>) -> Attributes {
    kvs.into_iter()
        .map(|kv| (kv.key, AttrValue::from_otlp(kv.value)))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_round_trip_keeps_types() {
        let values = [
            AttrValue::Str("GET".into()),
            AttrValue::Int(42),
            AttrValue::Float(1.0),
            AttrValue::Bool(true),
            AttrValue::Bytes(vec![0, 1, 2, 255]),
            AttrValue::Array(vec![AttrValue::Int(1), AttrValue::Str("x".into())]),
            AttrValue::Map(vec![("a".into(), AttrValue::Float(2.5))]),
        ];
        for v in values {
            let text = v.to_json().to_string();
            let back: AttrValue = serde_json::from_str(&text).unwrap();
            assert_eq!(back, v, "{text}");
        }
    }

    #[test]
    fn written_json_is_the_json_form() {
        let values = [
            AttrValue::Str("quote \" backslash \\ control \u{1} é 🙂".into()),
            AttrValue::Int(i64::MIN),
            AttrValue::Float(1.0),
            AttrValue::Float(-2.5e-300),
            AttrValue::Float(f64::NAN),
            AttrValue::Float(f64::NEG_INFINITY),
            AttrValue::Bool(false),
            AttrValue::Bytes(vec![0, 255]),
            AttrValue::Array(vec![AttrValue::Int(1), AttrValue::Str("x".into())]),
            AttrValue::Map(vec![("a".into(), AttrValue::Float(2.5))]),
        ];
        for v in values {
            let mut out = b"prefix".to_vec();
            v.write_json(&mut out).unwrap();
            let expected = format!("prefix{}", v.to_json());
            assert_eq!(String::from_utf8(out).unwrap(), expected);
        }
    }

    #[test]
    fn int_and_float_stay_distinct_in_text() {
        assert_eq!(AttrValue::Int(1).to_json().to_string(), "1");
        assert_eq!(AttrValue::Float(1.0).to_json().to_string(), "1.0");
    }
}
