//! Deserializing one part of a monitor body (common, alerting or one kind's fields) so that
//! every refusal names the top-level field it is about and never quotes the value.
//!
//! A monitor body is split by key before it is deserialized (see the parent module), because
//! serde cannot both `flatten` the common fields and `deny_unknown_fields` the rest. Each part
//! is then deserialized here from its `serde_json` map through a small deserializer of our own
//! instead of `serde_json::from_value`, for two reasons:
//! - `serde_json::Error` carries no field for a value of the wrong type (`"count": -1`), so the
//!   refusal could not name it; here every value knows its key.
//! - serde_json quotes the offending value (`invalid type: string "hunter2"`); a password or a
//!   community sent as a number would be echoed back. These errors describe only its type.

use std::fmt;

use serde::de::value::{SeqDeserializer, StringDeserializer};
use serde::de::{self, DeserializeOwned, IntoDeserializer, Unexpected, Visitor};
use serde_json::{Map, Value};

/// Why a part of a body was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct FieldError {
    /// The top-level field, when known (always, for a refusal of a map's entry).
    pub field: Option<String>,
    /// What is wrong with it, without its value.
    pub problem: Problem,
}

/// What is wrong with a field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Problem {
    /// The part has no such field (a typo, or a field of another kind).
    Unknown,
    /// A required field is absent.
    Missing,
    /// The value has the wrong type or is out of range.
    Invalid(String),
}

impl FieldError {
    fn invalid(problem: String) -> Self {
        FieldError {
            field: None,
            problem: Problem::Invalid(problem),
        }
    }

    /// Attributes an error raised inside the value of `field` to it. An error already about a
    /// field there (an unknown key in a nested object) keeps that key in its description.
    fn within(self, field: &str) -> Self {
        let problem = match (self.field, self.problem) {
            (None, p) => p,
            (Some(inner), Problem::Unknown) => Problem::Invalid(format!("unknown key `{inner}`")),
            (Some(inner), Problem::Missing) => Problem::Invalid(format!("`{inner}` is required")),
            (Some(inner), Problem::Invalid(why)) => Problem::Invalid(format!("`{inner}`: {why}")),
        };
        FieldError {
            field: Some(field.to_owned()),
            problem,
        }
    }
}

impl fmt::Display for FieldError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(field) = &self.field {
            write!(f, "field `{field}`: ")?;
        }
        match &self.problem {
            Problem::Unknown => f.write_str("unknown field"),
            Problem::Missing => f.write_str("is required"),
            Problem::Invalid(why) => f.write_str(why),
        }
    }
}

impl std::error::Error for FieldError {}

/// The type of an unexpected value, never the value itself.
fn described(unexp: Unexpected<'_>) -> &'static str {
    match unexp {
        Unexpected::Bool(_) => "a boolean",
        Unexpected::Unsigned(_) | Unexpected::Signed(_) => "an integer",
        Unexpected::Float(_) => "a number",
        Unexpected::Char(_) | Unexpected::Str(_) => "a string",
        Unexpected::Bytes(_) => "bytes",
        Unexpected::Unit | Unexpected::Option => "null",
        Unexpected::Seq => "a list",
        Unexpected::Map => "an object",
        _ => "another value",
    }
}

impl de::Error for FieldError {
    fn custom<T: fmt::Display>(msg: T) -> Self {
        FieldError::invalid(msg.to_string())
    }

    fn invalid_type(unexp: Unexpected<'_>, exp: &dyn de::Expected) -> Self {
        FieldError::invalid(format!("expected {exp}, found {}", described(unexp)))
    }

    fn invalid_value(unexp: Unexpected<'_>, exp: &dyn de::Expected) -> Self {
        FieldError::invalid(format!(
            "expected {exp}, found {} out of range",
            described(unexp)
        ))
    }

    fn unknown_variant(_variant: &str, expected: &'static [&'static str]) -> Self {
        FieldError::invalid(format!("expected one of {}", expected.join(", ")))
    }

    fn unknown_field(field: &str, _expected: &'static [&'static str]) -> Self {
        FieldError {
            field: Some(field.to_owned()),
            problem: Problem::Unknown,
        }
    }

    fn missing_field(field: &'static str) -> Self {
        FieldError {
            field: Some(field.to_owned()),
            problem: Problem::Missing,
        }
    }
}

/// Deserializes `T` from `fields`; a refusal names the field.
pub(super) fn from_fields<T: DeserializeOwned>(
    fields: Map<String, Value>,
) -> Result<T, FieldError> {
    T::deserialize(Field(Value::Object(fields)))
}

/// The entries of a JSON object; an error in a value is attributed to its key.
struct Entries {
    iter: serde_json::map::IntoIter,
    /// The entry whose key was just read, waiting for its value to be read.
    pending: Option<(String, Value)>,
}

impl<'de> de::MapAccess<'de> for Entries {
    type Error = FieldError;

    fn next_key_seed<K: de::DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, FieldError> {
        let Some((key, value)) = self.iter.next() else {
            return Ok(None);
        };
        let out = seed.deserialize(StringDeserializer::<FieldError>::new(key.clone()));
        self.pending = Some((key, value));
        out.map(Some)
    }

    fn next_value_seed<V: de::DeserializeSeed<'de>>(
        &mut self,
        seed: V,
    ) -> Result<V::Value, FieldError> {
        let (key, value) = self
            .pending
            .take()
            .ok_or_else(|| FieldError::invalid("value read before its key".into()))?;
        seed.deserialize(Field(value)).map_err(|e| e.within(&key))
    }

    fn size_hint(&self) -> Option<usize> {
        Some(self.iter.len())
    }
}

/// One JSON value, deserialized with [`FieldError`].
struct Field(Value);

impl<'de> IntoDeserializer<'de, FieldError> for Field {
    type Deserializer = Self;

    fn into_deserializer(self) -> Self {
        self
    }
}

impl<'de> de::Deserializer<'de> for Field {
    type Error = FieldError;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, FieldError> {
        match self.0 {
            Value::Null => visitor.visit_unit(),
            Value::Bool(b) => visitor.visit_bool(b),
            Value::Number(n) => {
                if let Some(u) = n.as_u64() {
                    visitor.visit_u64(u)
                } else if let Some(i) = n.as_i64() {
                    visitor.visit_i64(i)
                } else {
                    // serde_json (without arbitrary precision) holds every other number as f64.
                    visitor.visit_f64(n.as_f64().unwrap_or(f64::NAN))
                }
            }
            Value::String(s) => visitor.visit_string(s),
            Value::Array(items) => {
                let mut seq = SeqDeserializer::new(items.into_iter().map(Field));
                let out = visitor.visit_seq(&mut seq)?;
                seq.end().map(|()| out)
            }
            Value::Object(entries) => visitor.visit_map(Entries {
                iter: entries.into_iter(),
                pending: None,
            }),
        }
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, FieldError> {
        match self.0 {
            Value::Null => visitor.visit_none(),
            _ => visitor.visit_some(self),
        }
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        visitor: V,
    ) -> Result<V::Value, FieldError> {
        visitor.visit_newtype_struct(self)
    }

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _variants: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, FieldError> {
        // Only unit variants written as strings; no input type uses other enums.
        match self.0 {
            Value::String(s) => visitor.visit_enum(StringDeserializer::<FieldError>::new(s)),
            other => Err(de::Error::invalid_type(
                unexpected(&other),
                &"a string naming a variant",
            )),
        }
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes byte_buf
        unit unit_struct seq tuple tuple_struct map struct identifier ignored_any
    }
}

fn unexpected(v: &Value) -> Unexpected<'_> {
    match v {
        Value::Null => Unexpected::Unit,
        Value::Bool(b) => Unexpected::Bool(*b),
        Value::Number(_) => Unexpected::Float(0.0),
        Value::String(s) => Unexpected::Str(s),
        Value::Array(_) => Unexpected::Seq,
        Value::Object(_) => Unexpected::Map,
    }
}

/// The field names serde's derive gives the struct `T`, read from what it passes to
/// `deserialize_struct`. The parent module splits a body by these names, so each struct is the
/// only list of its fields.
pub(super) fn names<T: DeserializeOwned>() -> &'static [&'static str] {
    let mut capture = Capture(&[]);
    // The capture always refuses to go on; only the names it saw matter.
    let _ = T::deserialize(&mut capture);
    capture.0
}

/// A deserializer that records the field list of the struct asked of it, then stops.
struct Capture(&'static [&'static str]);

impl<'de> de::Deserializer<'de> for &mut Capture {
    type Error = de::value::Error;

    fn deserialize_any<V: Visitor<'de>>(self, _visitor: V) -> Result<V::Value, Self::Error> {
        Err(de::Error::custom("not a struct"))
    }

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        fields: &'static [&'static str],
        _visitor: V,
    ) -> Result<V::Value, Self::Error> {
        self.0 = fields;
        Err(de::Error::custom("captured"))
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes byte_buf
        option unit unit_struct newtype_struct seq tuple tuple_struct map enum identifier
        ignored_any
    }
}

#[cfg(test)]
mod tests {
    use serde::Deserialize;

    use super::*;

    #[derive(Debug, Deserialize, PartialEq)]
    #[serde(deny_unknown_fields)]
    struct Sample {
        name: String,
        count: Option<u32>,
        list: Option<Vec<Inner>>,
        any: Option<Value>,
    }

    #[derive(Debug, Deserialize, PartialEq)]
    #[serde(deny_unknown_fields)]
    struct Inner {
        op: String,
        value: f64,
    }

    fn parse(v: Value) -> Result<Sample, FieldError> {
        match v {
            Value::Object(m) => from_fields(m),
            _ => panic!("object"),
        }
    }

    #[test]
    fn reads_what_serde_json_reads() {
        let v = serde_json::json!({"name": "n", "count": 3, "any": {"a": [1, -2, 2.5, null]},
            "list": [{"op": ">", "value": 1}, {"op": "<", "value": 1e6}]});
        assert_eq!(
            parse(v.clone()).expect("valid"),
            serde_json::from_value::<Sample>(v).expect("valid")
        );
        let nulls = parse(serde_json::json!({"name": "n", "count": null, "any": null}));
        assert_eq!(nulls.expect("valid").count, None);
    }

    #[test]
    fn refusals_name_the_top_level_field_and_never_the_value() {
        let cases = [
            (
                serde_json::json!({"name": "n", "cuont": 1}),
                "cuont",
                "unknown field",
            ),
            (serde_json::json!({"count": 1}), "name", "is required"),
            (
                serde_json::json!({"name": "n", "count": -1}),
                "count",
                "found an integer out of range",
            ),
            (
                serde_json::json!({"name": 12345678}),
                "name",
                "found an integer",
            ),
            (
                serde_json::json!({"name": "n", "count": "hunter2"}),
                "count",
                "found a string",
            ),
            (
                serde_json::json!({"name": "n", "list": [{"op": ">", "value": 1, "sev": "x"}]}),
                "list",
                "unknown key `sev`",
            ),
            (
                serde_json::json!({"name": "n", "list": [{"op": ">", "value": "hunter2"}]}),
                "list",
                "found a string",
            ),
        ];
        for (body, field, problem) in cases {
            let err = parse(body.clone()).expect_err("refused");
            assert_eq!(err.field.as_deref(), Some(field), "{body}");
            let text = err.to_string();
            assert!(text.contains(problem), "{body}: {text}");
            assert!(
                !text.contains("hunter2") && !text.contains("12345678"),
                "{text}"
            );
        }
    }

    #[test]
    fn names_come_from_the_derive() {
        assert_eq!(names::<Sample>(), &["name", "count", "list", "any"]);
        assert_eq!(names::<Inner>(), &["op", "value"]);
    }
}
