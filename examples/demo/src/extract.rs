//! The demo's extractors: [`Name`] (DEMO-API.md §2.2) and [`JsonObject`] (§2.1).

use std::sync::{Arc, Mutex, PoisonError};

use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use http_body_util::BodyExt;
use serde_json::{Map, Value};
use utoipa::IntoParams;
use utoipa::openapi::path::{Parameter, ParameterBuilder, ParameterIn};
use utoipa::openapi::{ObjectBuilder, Required, Type};

use crate::MAX_BODY_BYTES;
use crate::error::ApiError;

/// Longest name, in Unicode code points.
const MAX_NAME_CHARS: usize = 80;

const BAD_NAME: &str = "name: Must be 1 to 80 characters without control characters";

/// The `<name>` of `/item/<name>` and `/store/<name>`: the last path segment, strictly
/// percent-decoded as UTF-8, 1 to 80 code points, no control character.
///
/// axum's `Path` is not used: it lets a `%` that is not followed by two hex digits through
/// as is, and answers invalid UTF-8 with its own plain-text rejection.
#[derive(Debug)]
pub(crate) struct Name(pub(crate) String);

impl<S: Send + Sync> FromRequestParts<S> for Name {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, ApiError> {
        // The routes are `/item/{name}` and `/store/{name}`, not nested: the raw segment is
        // everything after the last `/` of the request's own path.
        let path = parts.uri.path();
        let raw = path.rsplit('/').next().unwrap_or_default();
        decode_name(raw)
            .map(Self)
            .ok_or_else(|| ApiError::bad_request(BAD_NAME))
    }
}

/// The `{name}` path parameter in the OpenAPI document.
impl IntoParams for Name {
    fn into_params(_: impl Fn() -> Option<ParameterIn>) -> Vec<Parameter> {
        let schema = ObjectBuilder::new()
            .schema_type(Type::String)
            .min_length(Some(1))
            .max_length(Some(MAX_NAME_CHARS))
            .examples([serde_json::json!("chair")]);
        let parameter = ParameterBuilder::new()
            .name("name")
            .parameter_in(ParameterIn::Path)
            .required(Required::True)
            .description(Some(
                "The name: one path segment, percent-decoded as UTF-8 (`a%2Fb` is `a/b`), 1 to \
                 80 characters without control characters, compared exactly. An invalid name \
                 answers 400 `name: Must be 1 to 80 characters without control characters`.",
            ))
            .schema(Some(schema))
            .build();
        vec![parameter]
    }
}

/// Percent-decodes `raw` strictly and checks the name rules.
fn decode_name(raw: &str) -> Option<String> {
    let mut bytes = Vec::with_capacity(raw.len());
    let mut rest = raw.as_bytes();
    while let Some((&byte, tail)) = rest.split_first() {
        if byte == b'%' {
            let (high, low) = match tail {
                [high, low, ..] => (hex(*high)?, hex(*low)?),
                _ => return None,
            };
            bytes.push(high << 4 | low);
            rest = &tail[2..];
        } else {
            bytes.push(byte);
            rest = tail;
        }
    }
    let name = String::from_utf8(bytes).ok()?;
    let length = name.chars().count();
    let valid = (1..=MAX_NAME_CHARS).contains(&length) && !name.chars().any(char::is_control);
    valid.then_some(name)
}

fn hex(digit: u8) -> Option<u8> {
    char::from(digit)
        .to_digit(16)
        .and_then(|value| u8::try_from(value).ok())
}

/// A request body that is a JSON object, read with jwt-gate's rules: 415 without a JSON
/// content type, 413 over 64 KiB, 400 for invalid JSON (duplicate keys and numbers out of
/// `f64` range included), 400 for anything but an object. `raw` is the body's text, for the
/// rules that depend on how a value is written.
#[derive(Debug)]
pub(crate) struct JsonObject {
    pub(crate) object: Map<String, Value>,
    pub(crate) raw: Vec<u8>,
}

impl<S: Send + Sync> FromRequest<S> for JsonObject {
    type Rejection = ApiError;

    async fn from_request(request: Request, _state: &S) -> Result<Self, ApiError> {
        let (parts, body) = request.into_parts();
        // A copy of what jwt-gate reads; it reads at most one frame past the limit.
        let copy = Arc::new(Mutex::new(Vec::new()));
        let sink = Arc::clone(&copy);
        let body = body.map_frame(move |frame| {
            if let Some(data) = frame.data_ref() {
                let mut sink = sink.lock().unwrap_or_else(PoisonError::into_inner);
                if sink.len() + data.len() <= MAX_BODY_BYTES {
                    sink.extend_from_slice(data);
                }
            }
            frame
        });
        let object =
            jwt_gate::read_json_object(Request::from_parts(parts, body), MAX_BODY_BYTES).await?;
        let raw = std::mem::take(&mut *copy.lock().unwrap_or_else(PoisonError::into_inner));
        Ok(Self { object, raw })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_percent_decoded() {
        for (raw, name) in [
            ("chair", "chair"),
            ("a%2Fb", "a/b"),
            ("caf%C3%A9", "café"),
            ("caf%c3%a9", "café"),
            ("%2520", "%20"),
            ("%43hair", "Chair"),
            ("%20chair", " chair"),
            ("a_c", "a_c"),
            ("%25", "%"),
            ("%C2%A0", "\u{a0}"),
            ("%E2%80%8B", "\u{200b}"),
            ("café", "café"),
        ] {
            assert_eq!(decode_name(raw).as_deref(), Some(name), "{raw}");
        }
    }

    #[test]
    fn bad_names_are_refused() {
        let long = "x".repeat(81);
        let long_encoded = "%C3%A9".repeat(81);
        for raw in [
            "",
            "%",
            "%4",
            "%zz",
            "%G0",
            "a%",
            "%FF",
            "%C3",
            "%C3%28",
            "%00",
            "%1F",
            "%7F",
            "%C2%80",
            "%C2%9F",
            "a%0Ab",
            long.as_str(),
            long_encoded.as_str(),
        ] {
            assert_eq!(decode_name(raw), None, "{raw}");
        }
    }

    #[test]
    fn length_counts_code_points() {
        assert!(decode_name(&"x".repeat(80)).is_some());
        assert!(decode_name(&"%C3%A9".repeat(80)).is_some());
        assert!(decode_name(&"%F0%9F%98%80".repeat(80)).is_some());
    }
}
