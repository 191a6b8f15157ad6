//! Reading JSON bodies into typed structs. Size and content type are
//! enforced by the JSON extractor (`json`); each field is a `Field<T>`, which
//! records a wrong or missing value instead of failing the whole body, so
//! every field's problem reaches the client at once (`errors`).

use std::future::Future;
use std::pin::Pin;

use actix_web::{FromRequest, HttpRequest, dev::Payload};
use serde::Deserialize;
use serde::de::{DeserializeOwned, Deserializer};
use serde_json::Value;

use super::json::Json;
use crate::domain::FieldErrors;
use crate::error::ApiError;

/// A JSON object body read into `T` (whose fields are `Field`s).
pub struct Body<T>(pub T);

impl<T: DeserializeOwned + 'static> FromRequest for Body<T> {
    type Error = actix_web::Error;
    type Future = Pin<Box<dyn Future<Output = Result<Self, Self::Error>>>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let json = Json::<UniqueKeys>::from_request(req, payload);
        Box::pin(async move {
            let Json(UniqueKeys(value)) = json.await?;
            if !value.is_object() {
                return Err(ApiError::Validation(crate::domain::field_error(
                    "non_field_errors",
                    "Expected a JSON object.",
                ))
                .into());
            }
            serde_json::from_value(value)
                .map(Body)
                .map_err(|e| ApiError::MalformedBody(e.to_string()).into())
        })
    }
}

/// A JSON value in which no object names a key twice. With duplicates,
/// parsers disagree on which one counts (serde keeps the last, others the
/// first), so a proxy that checked one and this service would read another:
/// such a body is refused whole (`malformed_request`), at every depth.
struct UniqueKeys(Value);

impl<'de> Deserialize<'de> for UniqueKeys {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer
            .deserialize_any(UniqueKeysVisitor)
            .map(UniqueKeys)
    }
}

struct UniqueKeysVisitor;

impl<'de> serde::de::Visitor<'de> for UniqueKeysVisitor {
    type Value = Value;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_bool<E>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Bool(v))
    }

    fn visit_i64<E>(self, v: i64) -> Result<Value, E> {
        Ok(Value::from(v))
    }

    fn visit_u64<E>(self, v: u64) -> Result<Value, E> {
        Ok(Value::from(v))
    }

    fn visit_f64<E>(self, v: f64) -> Result<Value, E> {
        Ok(serde_json::Number::from_f64(v).map_or(Value::Null, Value::Number))
    }

    fn visit_str<E>(self, v: &str) -> Result<Value, E> {
        Ok(Value::String(v.to_owned()))
    }

    fn visit_string<E>(self, v: String) -> Result<Value, E> {
        Ok(Value::String(v))
    }

    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_none<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        d.deserialize_any(self)
    }

    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut items = Vec::new();
        while let Some(UniqueKeys(item)) = seq.next_element()? {
            items.push(item);
        }
        Ok(Value::Array(items))
    }

    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let mut object = serde_json::Map::new();
        while let Some(key) = map.next_key::<String>()? {
            let UniqueKeys(value) = map.next_value()?;
            if object.contains_key(&key) {
                return Err(serde::de::Error::custom(format!(
                    "the key {:?} appears twice",
                    crate::log_safe::clean(&key)
                )));
            }
            object.insert(key, value);
        }
        Ok(Value::Object(object))
    }
}

/// One field as the client sent it.
#[derive(Debug, Default)]
pub enum Field<T> {
    /// Absent or null.
    #[default]
    Missing,
    /// Present but unusable, with the reason.
    Invalid(&'static str),
    Given(T),
}

/// A JSON value a field can hold, with the message for anything else.
pub trait FieldValue: Sized {
    fn from_json(value: Value) -> Result<Self, &'static str>;
}

impl FieldValue for String {
    fn from_json(value: Value) -> Result<Self, &'static str> {
        match value {
            Value::String(s) if s.is_empty() => Err("This field may not be blank."),
            Value::String(s) => Ok(s),
            _ => Err("Must be a string."),
        }
    }
}

impl FieldValue for bool {
    fn from_json(value: Value) -> Result<Self, &'static str> {
        value.as_bool().ok_or("Must be true or false.")
    }
}

impl FieldValue for u64 {
    fn from_json(value: Value) -> Result<Self, &'static str> {
        value.as_u64().ok_or("Must be a whole number.")
    }
}

impl<'de, T: FieldValue> Deserialize<'de> for Field<T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        Ok(match Value::deserialize(deserializer)? {
            Value::Null => Self::Missing,
            value => match T::from_json(value) {
                Ok(v) => Self::Given(v),
                Err(why) => Self::Invalid(why),
            },
        })
    }
}

impl<T> Field<T> {
    pub fn is_given(&self) -> bool {
        !matches!(self, Self::Missing)
    }
}

/// Collects every field's problem, then answers them all at once.
#[derive(Default)]
pub struct Problems(FieldErrors);

impl Problems {
    pub fn required<T>(&mut self, name: &str, field: Field<T>) -> Option<T> {
        match field {
            Field::Given(v) => Some(v),
            Field::Missing => {
                self.add(name, "This field is required.");
                None
            }
            Field::Invalid(why) => {
                self.add(name, why);
                None
            }
        }
    }

    /// `Some(None)` when absent, `None` when present but unusable.
    pub fn optional<T>(&mut self, name: &str, field: Field<T>) -> Option<Option<T>> {
        match field {
            Field::Missing => Some(None),
            other => self.required(name, other).map(Some),
        }
    }

    pub fn add(&mut self, name: &str, message: impl Into<String>) {
        self.0
            .entry(name.to_owned())
            .or_default()
            .push(message.into());
    }

    /// Keeps `value` when it parsed, or records why it did not.
    pub fn parsed<T, E: std::fmt::Display>(
        &mut self,
        name: &str,
        value: Option<Result<T, E>>,
    ) -> Option<T> {
        match value? {
            Ok(v) => Some(v),
            Err(why) => {
                self.add(name, why.to_string());
                None
            }
        }
    }

    /// The fields, or every collected problem as one 400. A field that is
    /// None has recorded its problem, so `value` is Some exactly when there
    /// are none.
    pub fn finish<T>(self, value: Option<T>) -> Result<T, ApiError> {
        match value {
            Some(value) if self.0.is_empty() => Ok(value),
            _ => Err(ApiError::Validation(self.0)),
        }
    }
}

/// A fixed message for a person (`{"detail"}`, as the Django views this
/// service replaces answered).
#[derive(serde::Serialize, utoipa::ToSchema)]
pub struct Detail {
    pub detail: &'static str,
}

/// A stored UTC time as the internal API shows it (RFC 3339, seconds).
pub(crate) fn rfc3339(t: chrono::NaiveDateTime) -> String {
    t.and_utc()
        .to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

/// A user id from the path, refused as the `id` field when it is not one.
pub(crate) fn path_user_id(raw: &str) -> Result<crate::domain::UserId, ApiError> {
    crate::domain::UserId::parse(raw).map_err(|why| ApiError::field("id", why.to_string()))
}
