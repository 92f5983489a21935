//! Strict JSON for untrusted input (token segments, login bodies).
//!
//! Written by hand on top of serde_json because serde_json's `Value` lets the last of two
//! duplicate members win (a token could then carry two `alg`s, RFC 7515 §5.2 forbids it) and
//! its recursion limit (128) is not configurable. This visitor builds the same `Value` while
//! refusing duplicate member names and nesting beyond a limit.

use std::borrow::Cow;
use std::cell::Cell;
use std::fmt;

use serde::de::{self, DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Value};

/// Why strict parsing failed.
#[derive(Debug)]
pub(crate) enum JsonError {
    /// Not JSON, or a duplicate member name; the text says which.
    Syntax(String),
    /// Nested deeper than the limit.
    TooDeep,
}

/// Parses `bytes` as one JSON value nested at most `max_depth` arrays/objects deep.
pub(crate) fn parse_strict(bytes: &[u8], max_depth: usize) -> Result<Value, JsonError> {
    parse_with(bytes, max_depth, |strict, deserializer| {
        strict.deserialize(deserializer)
    })
}

/// Where the members of a strictly parsed object go: a [`Map`], or a type that keeps some
/// members apart (the claims of a token) so that they are never looked up by name again.
pub(crate) trait Members {
    /// Whether a member of this name is already there.
    fn contains(&self, name: &str) -> bool;
    /// Adds a member whose name is not there yet.
    fn insert(&mut self, name: Cow<'_, str>, value: Value);
}

impl Members for Map<String, Value> {
    fn contains(&self, name: &str) -> bool {
        self.contains_key(name)
    }

    fn insert(&mut self, name: Cow<'_, str>, value: Value) {
        Self::insert(self, name.into_owned(), value);
    }
}

/// [`parse_strict`] of a value that must be an object, whose members are added to `object`
/// (no `Value` is built for the object itself, and `object` is filled where it lies): `false`
/// for valid JSON that is not an object. Same rules, same errors, in the same order.
pub(crate) fn parse_strict_object<O: Members>(
    bytes: &[u8],
    max_depth: usize,
    object: &mut O,
) -> Result<bool, JsonError> {
    parse_with(bytes, max_depth, |strict, deserializer| {
        Object { strict, object }.deserialize(deserializer)
    })
}

/// Runs `parse` with the strict rules over all of `bytes`, trailing data included, and sorts
/// its failure.
fn parse_with<'de, T>(
    bytes: &'de [u8],
    max_depth: usize,
    parse: impl for<'c> FnOnce(Strict<'c>, &mut JsonDeserializer<'de>) -> Result<T, serde_json::Error>,
) -> Result<T, JsonError> {
    let too_deep = Cell::new(false);
    let mut deserializer = serde_json::Deserializer::from_slice(bytes);
    let strict = Strict {
        depth_left: max_depth,
        too_deep: &too_deep,
    };
    let parsed =
        parse(strict, &mut deserializer).and_then(|value| deserializer.end().map(|()| value));
    match parsed {
        Ok(value) => Ok(value),
        Err(_) if too_deep.get() => Err(JsonError::TooDeep),
        Err(error) => Err(JsonError::Syntax(error.to_string())),
    }
}

type JsonDeserializer<'de> = serde_json::Deserializer<serde_json::de::SliceRead<'de>>;

#[derive(Clone, Copy)]
struct Strict<'a> {
    depth_left: usize,
    too_deep: &'a Cell<bool>,
}

impl Strict<'_> {
    fn nested<E: de::Error>(self) -> Result<Self, E> {
        match self.depth_left.checked_sub(1) {
            Some(depth_left) => Ok(Self { depth_left, ..self }),
            None => {
                self.too_deep.set(true);
                Err(E::custom("nested too deeply"))
            }
        }
    }
}

impl<'de> DeserializeSeed<'de> for Strict<'_> {
    type Value = Value;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Value, D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Strict<'_> {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
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
        Ok(Value::from(v))
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

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let inner = self.nested()?;
        let mut items = Vec::new();
        while let Some(item) = seq.next_element_seed(inner)? {
            items.push(item);
        }
        Ok(Value::Array(items))
    }

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Value, A::Error> {
        let mut object = Map::new();
        add_members(map, self.nested()?, &mut object)?;
        Ok(Value::Object(object))
    }
}

/// Adds the members of an object whose own depth is counted to `object`, each value nested at
/// most as deep as `inner` allows; a repeated name is refused.
fn add_members<'de, A: MapAccess<'de>, O: Members>(
    mut map: A,
    inner: Strict<'_>,
    object: &mut O,
) -> Result<(), A::Error> {
    while let Some(name) = map.next_key_seed(MemberName)? {
        if object.contains(&name) {
            return Err(de::Error::custom(format_args!(
                "duplicate member name {name:?}"
            )));
        }
        let value = map.next_value_seed(inner)?;
        object.insert(name, value);
    }
    Ok(())
}

/// A member name, borrowed from the input unless it has escapes.
struct MemberName;

impl<'de> DeserializeSeed<'de> for MemberName {
    type Value = Cow<'de, str>;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
        deserializer.deserialize_str(self)
    }
}

impl<'de> Visitor<'de> for MemberName {
    type Value = Cow<'de, str>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a member name")
    }

    fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Self::Value, E> {
        Ok(Cow::Borrowed(v))
    }

    fn visit_str<E>(self, v: &str) -> Result<Self::Value, E> {
        Ok(Cow::Owned(v.to_owned()))
    }

    fn visit_string<E>(self, v: String) -> Result<Self::Value, E> {
        Ok(Cow::Owned(v))
    }
}

/// The top-level seed of [`parse_strict_object`]: an object's members into `object`,
/// anything else checked by the strict rules and then dropped.
struct Object<'a, 'o, O> {
    strict: Strict<'a>,
    object: &'o mut O,
}

impl<'de, O: Members> DeserializeSeed<'de> for Object<'_, '_, O> {
    type Value = bool;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<bool, D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de, O: Members> Visitor<'de> for Object<'_, '_, O> {
    type Value = bool;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_bool<E>(self, _: bool) -> Result<bool, E> {
        Ok(false)
    }

    fn visit_i64<E>(self, _: i64) -> Result<bool, E> {
        Ok(false)
    }

    fn visit_u64<E>(self, _: u64) -> Result<bool, E> {
        Ok(false)
    }

    fn visit_f64<E>(self, _: f64) -> Result<bool, E> {
        Ok(false)
    }

    fn visit_str<E>(self, _: &str) -> Result<bool, E> {
        Ok(false)
    }

    fn visit_unit<E>(self) -> Result<bool, E> {
        Ok(false)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<bool, A::Error> {
        self.strict.visit_seq(seq).map(|_| false)
    }

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<bool, A::Error> {
        add_members(map, self.strict.nested()?, self.object).map(|()| true)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_like_serde_json() {
        let text = br#"{"a":[1,-2,3.5,"x",null,true],"b":{"c":{}}}"#;
        let strict = parse_strict(text, 32).unwrap();
        let plain: Value = serde_json::from_slice(text).unwrap();
        assert_eq!(strict, plain);
    }

    #[test]
    fn refuses_duplicate_members_at_any_depth() {
        for text in [
            r#"{"alg":"HS256","alg":"none"}"#,
            r#"{"a":{"b":1,"b":2}}"#,
            r#"[{"x":1,"x":1}]"#,
        ] {
            match parse_strict(text.as_bytes(), 32) {
                Err(JsonError::Syntax(message)) => assert!(message.contains("duplicate")),
                other => panic!("{text}: {other:?}"),
            }
        }
    }

    #[test]
    fn refuses_nesting_beyond_the_limit() {
        let deep = |n: usize| format!("{}{}", "[".repeat(n), "]".repeat(n));
        assert!(parse_strict(deep(32).as_bytes(), 32).is_ok());
        assert!(matches!(
            parse_strict(deep(33).as_bytes(), 32),
            Err(JsonError::TooDeep)
        ));
        assert!(matches!(
            parse_strict(deep(100_000).as_bytes(), 32),
            Err(JsonError::TooDeep)
        ));
    }

    #[test]
    fn refuses_trailing_data_and_bad_utf8() {
        assert!(matches!(
            parse_strict(b"{} {}", 32),
            Err(JsonError::Syntax(_))
        ));
        assert!(matches!(
            parse_strict(b"\"\xff\"", 32),
            Err(JsonError::Syntax(_))
        ));
        assert!(matches!(parse_strict(b"", 32), Err(JsonError::Syntax(_))));
    }
}
