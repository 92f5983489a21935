//! [`Claims`]: the payload of a verified token.

use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::{Map, Value};

use crate::error::JwtError;
use crate::token::Verified;

/// Claim names that jwt-gate writes itself; extra claims may not override them.
pub(crate) const RESERVED_CLAIMS: [&str; 4] = ["identity", "exp", "iat", "nbf"];

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
    /// Every other claim of the token (from the `payload` hook, or minted elsewhere).
    pub extra: Map<String, Value>,
}

impl<Id: DeserializeOwned> Claims<Id> {
    /// Reads the `identity` claim as `Id`; a missing one, or one of another JSON type, names
    /// no user.
    pub(crate) fn from_verified(verified: Verified) -> Result<Self, JwtError> {
        let Verified {
            mut payload,
            exp,
            iat,
            nbf,
        } = verified;
        let identity = payload
            .remove("identity")
            .ok_or(JwtError::UnknownIdentity)?;
        let identity = Id::deserialize(identity).map_err(|_| JwtError::UnknownIdentity)?;
        for claim in RESERVED_CLAIMS {
            payload.remove(claim);
        }
        Ok(Self {
            identity,
            iat,
            nbf,
            exp,
            extra: payload,
        })
    }
}

/// The payload jwt-gate signs: Flask-JWT's four claims, then the extras.
#[derive(Serialize)]
pub(crate) struct IssuedClaims<'a, Id> {
    pub(crate) exp: i64,
    pub(crate) iat: i64,
    pub(crate) nbf: i64,
    pub(crate) identity: &'a Id,
    #[serde(flatten)]
    pub(crate) extra: &'a Map<String, Value>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn verified(payload: &Value) -> Verified {
        Verified {
            payload: payload.as_object().unwrap().clone(),
            exp: Some(2),
            iat: Some(1),
            nbf: Some(1),
        }
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
            extra: extra.as_object().unwrap(),
        };
        assert_eq!(
            serde_json::to_value(&claims).unwrap(),
            json!({"exp": 3, "iat": 1, "nbf": 1, "identity": 5, "role": "admin"})
        );
    }
}
