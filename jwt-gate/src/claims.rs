//! [`Claims`]: the payload of a verified token.

use std::borrow::Cow;

use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::{Map, Value};

use crate::error::JwtError;
use crate::json::Members;
use crate::token::{ClaimSet, Verified};

/// Claim names that jwt-gate writes itself; extra claims may not override them.
pub(crate) const RESERVED_CLAIMS: [&str; 10] = [
    "identity", "exp", "iat", "nbf", "jti", "type", "fresh", "fam", "iat_ms", "csrf",
];

/// The kind of a token, its `type` claim (with a revocation store).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum TokenType {
    /// Authorizes requests (`"access"`).
    Access,
    /// Only obtains new tokens at the refresh route (`"refresh"`).
    Refresh,
}

impl TokenType {
    /// The claim value: `access` or `refresh`.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Access => "access",
            Self::Refresh => "refresh",
        }
    }

    fn parse(value: &Value) -> Option<Self> {
        match value.as_str()? {
            "access" => Some(Self::Access),
            "refresh" => Some(Self::Refresh),
            _ => None,
        }
    }
}

/// The claims of a verified token: Flask-JWT's `identity`, `iat`, `nbf`, `exp`, and anything
/// else the token carries in [`extra`](Self::extra).
///
/// The time claims are `None` only when [`JwtConfig::required_claims`](crate::JwtConfig) was
/// narrowed and the token left them out. Values are whole seconds, as PyJWT reads them.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct Claims<Id> {
    /// The user's id, as written by [`Identity::id`](crate::Identity::id).
    pub identity: Id,
    /// Issued at, seconds since the Unix epoch.
    pub iat: Option<i64>,
    /// Not before, seconds since the Unix epoch.
    pub nbf: Option<i64>,
    /// Expires at, seconds since the Unix epoch.
    pub exp: Option<i64>,
    /// The token's unique id (`jti`; with a revocation store).
    pub jti: Option<String>,
    /// Access or refresh (`type`; with a revocation store).
    pub token_type: Option<TokenType>,
    /// Whether an access token was issued by a password login (`fresh`; with a revocation
    /// store).
    pub fresh: Option<bool>,
    /// The refresh family the token belongs to (`fam`; with a revocation store).
    pub family: Option<String>,
    /// When the token was issued, in milliseconds (`iat_ms`; with a revocation store).
    pub issued_at_ms: Option<i64>,
    /// The CSRF double-submit value (`csrf`; with tokens in cookies).
    pub csrf: Option<String>,
    /// Every other claim of the token (from the `payload` hook, or minted elsewhere).
    pub extra: Map<String, Value>,
}

impl<Id: DeserializeOwned> Claims<Id> {
    /// Reads the `identity` claim as `Id`; a missing one, or one of another JSON type, names
    /// no user.
    pub(crate) fn from_verified(verified: Verified<Payload>) -> Result<Self, JwtError> {
        let Verified {
            mut payload,
            exp,
            iat,
            nbf,
            key_retires_at: _,
        } = verified;
        let identity = payload.take("identity").ok_or(JwtError::UnknownIdentity)?;
        let identity = Id::deserialize(identity).map_err(|_| JwtError::UnknownIdentity)?;
        let text = |value: Option<Value>| match value {
            Some(Value::String(s)) => Some(s),
            _ => None,
        };
        let jti = text(payload.take("jti"));
        let family = text(payload.take("fam"));
        let token_type = payload.take("type").as_ref().and_then(TokenType::parse);
        let fresh = payload.take("fresh").and_then(|v| v.as_bool());
        let issued_at_ms = payload.take("iat_ms").and_then(|v| v.as_i64());
        let csrf = text(payload.take("csrf"));
        Ok(Self {
            identity,
            iat,
            nbf,
            exp,
            jti,
            token_type,
            fresh,
            family,
            issued_at_ms,
            csrf,
            extra: payload.extra,
        })
    }
}

/// A verified token's payload as [`Claims`] are made of it: the reserved claims each in its
/// slot, the others in a map. Parsed straight from the token's JSON (see
/// [`parse_strict_object`](crate::json::parse_strict_object)), so that the claims of every
/// request are neither collected into a map nor looked up in it by name, and a reserved
/// claim's name is never allocated.
#[derive(Debug, Default)]
pub(crate) struct Payload {
    /// By the position of the name in [`RESERVED_CLAIMS`].
    reserved: [Option<Value>; RESERVED_CLAIMS.len()],
    extra: Map<String, Value>,
}

impl Payload {
    /// The position of `name` in [`RESERVED_CLAIMS`] (a `match` rather than a search: it runs
    /// for every claim of every token).
    fn slot(name: &str) -> Option<usize> {
        Some(match name {
            "identity" => 0,
            "exp" => 1,
            "iat" => 2,
            "nbf" => 3,
            "jti" => 4,
            "type" => 5,
            "fresh" => 6,
            "fam" => 7,
            "iat_ms" => 8,
            "csrf" => 9,
            _ => return None,
        })
    }

    /// Takes a reserved claim out.
    fn take(&mut self, name: &str) -> Option<Value> {
        Self::slot(name).and_then(|slot| self.reserved[slot].take())
    }
}

#[cfg(test)]
impl Payload {
    /// The payload of a JSON object, as a token would carry it.
    pub(crate) fn of(object: &Value) -> Self {
        let bytes = serde_json::to_vec(object).expect("a JSON value serializes");
        let mut payload = Self::default();
        let is_object = crate::json::parse_strict_object(&bytes, 32, &mut payload);
        assert!(is_object.expect("valid JSON"), "an object");
        payload
    }
}

impl ClaimSet for Payload {
    fn len(&self) -> usize {
        self.reserved.iter().flatten().count() + self.extra.len()
    }

    fn get(&self, name: &str) -> Option<&Value> {
        match Self::slot(name) {
            Some(slot) => self.reserved[slot].as_ref(),
            None => self.extra.get(name),
        }
    }
}

impl Members for Payload {
    fn contains(&self, name: &str) -> bool {
        self.get(name).is_some()
    }

    fn insert(&mut self, name: Cow<'_, str>, value: Value) {
        match Self::slot(&name) {
            Some(slot) => self.reserved[slot] = Some(value),
            None => {
                self.extra.insert(name.into_owned(), value);
            }
        }
    }
}

/// The payload jwt-gate signs: Flask-JWT's four claims, then the extras.
#[derive(Serialize)]
pub(crate) struct IssuedClaims<'a, Id> {
    pub(crate) exp: i64,
    pub(crate) iat: i64,
    pub(crate) nbf: i64,
    pub(crate) identity: &'a Id,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) iss: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) aud: Option<&'a str>,
    #[serde(flatten)]
    pub(crate) lifecycle: Option<LifecycleClaims<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) csrf: Option<&'a str>,
    #[serde(flatten)]
    pub(crate) extra: &'a Map<String, Value>,
}

/// The claims a token carries when a revocation store is on.
#[derive(Serialize)]
pub(crate) struct LifecycleClaims<'a> {
    pub(crate) jti: &'a str,
    #[serde(rename = "type")]
    pub(crate) token_type: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) fresh: Option<bool>,
    pub(crate) fam: &'a str,
    pub(crate) iat_ms: i64,
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn verified(payload: &Value) -> Verified<Payload> {
        Verified {
            payload: Payload::of(payload),
            exp: Some(2),
            iat: Some(1),
            nbf: Some(1),
            key_retires_at: None,
        }
    }

    #[test]
    fn every_reserved_claim_has_its_own_slot() {
        for (position, claim) in RESERVED_CLAIMS.iter().enumerate() {
            assert_eq!(Payload::slot(claim), Some(position), "{claim}");
        }
        assert_eq!(Payload::slot("iss"), None);
        assert_eq!(Payload::slot("Identity"), None);
    }

    #[test]
    fn identity_must_have_the_id_type() {
        let ok = Claims::<i64>::from_verified(verified(&json!({"identity": 7, "x": 1}))).unwrap();
        assert_eq!(ok.identity, 7);
        assert_eq!(ok.extra, *json!({"x": 1}).as_object().unwrap());
        for bad in [
            json!({"identity": true}),
            json!({"identity": "1"}),
            json!({"identity": 1.0}),
            json!({"identity": null}),
            json!({"identity": [1]}),
            json!({"identity": {"id": 1}}),
            json!({"identity": 9_223_372_036_854_775_808_u64}),
            json!({}),
        ] {
            assert!(
                matches!(
                    Claims::<i64>::from_verified(verified(&bad)),
                    Err(JwtError::UnknownIdentity)
                ),
                "{bad}"
            );
        }
    }

    #[test]
    fn issued_claims_are_flat() {
        let extra = json!({"role": "admin"});
        let claims = IssuedClaims {
            exp: 3,
            iat: 1,
            nbf: 1,
            identity: &5,
            iss: None,
            aud: None,
            lifecycle: None,
            csrf: None,
            extra: extra.as_object().unwrap(),
        };
        assert_eq!(
            serde_json::to_value(&claims).unwrap(),
            json!({"exp": 3, "iat": 1, "nbf": 1, "identity": 5, "role": "admin"})
        );
    }

    mod payload_parse {
        use super::super::*;
        use crate::json::{parse_strict, parse_strict_object};
        use proptest::prelude::*;

        /// Member names: the reserved claims (where `Payload` keeps its slots), their
        /// near-misses, and a few others, so that duplicates are common.
        fn name() -> impl Strategy<Value = String> {
            prop_oneof![
                proptest::sample::select(RESERVED_CLAIMS.to_vec()).prop_map(str::to_owned),
                proptest::sample::select(vec!["iss", "aud", "sub", "Identity", "exp ", "x", ""])
                    .prop_map(str::to_owned),
                "[a-z]{1,3}",
            ]
        }

        fn value() -> impl Strategy<Value = String> {
            let leaf = prop_oneof![
                any::<i64>().prop_map(|n| n.to_string()),
                any::<f64>().prop_map(|f| format!("{f:e}")),
                Just("18446744073709551616".to_owned()),
                Just("1e400".to_owned()),
                Just("null".to_owned()),
                Just("true".to_owned()),
                "[a-z]{0,4}".prop_map(|s| format!("{s:?}")),
                Just("\"\\u0069\"".to_owned()),
            ];
            leaf.prop_recursive(4, 24, 4, |inner| {
                prop_oneof![
                    prop::collection::vec(inner.clone(), 0..4)
                        .prop_map(|items| format!("[{}]", items.join(","))),
                    prop::collection::vec((name(), inner), 0..4)
                        .prop_map(|members| object(&members)),
                ]
            })
        }

        fn object(members: &[(String, String)]) -> String {
            let members: Vec<String> = members
                .iter()
                .map(|(name, value)| format!("{name:?}:{value}"))
                .collect();
            format!("{{{}}}", members.join(","))
        }

        /// A payload: mostly objects of claims, sometimes broken or not an object at all.
        fn payload() -> impl Strategy<Value = String> {
            let members = prop::collection::vec((name(), value()), 0..8);
            prop_oneof![
                6 => members.prop_map(|m| object(&m)),
                1 => value(),
                1 => (prop::collection::vec((name(), value()), 0..8), 0..40_usize)
                    .prop_map(|(m, cut)| {
                        let text = object(&m);
                        text[..text.len().saturating_sub(cut)].to_owned()
                    }),
                1 => (prop::collection::vec((name(), value()), 0..8), "[ ,x}]{0,3}")
                    .prop_map(|(m, tail)| object(&m) + &tail),
            ]
        }

        proptest! {
            #![proptest_config(ProptestConfig { cases: 2048, ..ProptestConfig::default() })]

            /// `Payload` is filled by the same strict parse as a map: the same JSON is
            /// refused with the same error (duplicates, depth, syntax, trailing data), a
            /// non-object is told apart, and an object's members are all there.
            #[test]
            fn a_payload_holds_what_a_map_would(text in payload(), depth in 1_usize..6) {
                let bytes = text.as_bytes();
                let mut payload = Payload::default();
                let as_payload = parse_strict_object(bytes, depth, &mut payload);
                match parse_strict(bytes, depth) {
                    Ok(Value::Object(map)) => {
                        prop_assert!(matches!(as_payload, Ok(true)), "{text}: {as_payload:?}");
                        prop_assert_eq!(ClaimSet::len(&payload), map.len());
                        for (name, value) in &map {
                            prop_assert_eq!(ClaimSet::get(&payload, name), Some(value));
                        }
                    }
                    Ok(_) => prop_assert!(matches!(as_payload, Ok(false)), "{text}: {as_payload:?}"),
                    Err(error) => prop_assert_eq!(
                        format!("{:?}", as_payload.unwrap_err()),
                        format!("{error:?}"),
                    ),
                }
            }
        }
    }
}
