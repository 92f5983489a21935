//! The hand-written JWS decode against `jsonwebtoken::decode` with the same key and the same
//! `Validation`: on the ground both cover they accept and refuse exactly the same tokens, and
//! where jwt-gate is stricter (flask-jwt-spec.md §10: duplicate members, `crit`, non-canonical
//! base64url, `iat` in the future, nesting) it refuses whatever jsonwebtoken says.
//!
//! jsonwebtoken reads the system clock, so both sides use it, and every time claim is at least
//! 20 s away from a boundary (leeway 10 s): a second ticking during a case changes nothing.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a test fails by panicking; helpers outside #[test] fns too"
)]

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jwt_gate::{JwtConfig, Keys, codec};
use proptest::prelude::*;
use serde_json::{Map, Value, json};

const SECRET: &[u8] = b"differential-secret-0123456789abcdef";

fn now() -> i64 {
    i64::try_from(jsonwebtoken::get_current_timestamp()).unwrap()
}

/// jwt-gate with the claims jsonwebtoken can require (`exp`, `nbf`); the rest as defaults.
fn config() -> JwtConfig {
    let mut config = JwtConfig::default();
    config.required_claims = vec!["exp".to_owned(), "nbf".to_owned()];
    config
}

fn validation() -> jsonwebtoken::Validation {
    let mut validation = jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::HS256);
    validation.leeway = 10;
    validation.validate_exp = true;
    validation.validate_nbf = true;
    validation.validate_aud = true;
    validation.set_required_spec_claims(&["exp", "nbf"]);
    validation
}

fn sign(header: &[u8], payload: &[u8], key: &[u8]) -> String {
    let input = format!(
        "{}.{}",
        URL_SAFE_NO_PAD.encode(header),
        URL_SAFE_NO_PAD.encode(payload)
    );
    let signature = jsonwebtoken::crypto::sign(
        input.as_bytes(),
        &jsonwebtoken::EncodingKey::from_secret(key).unwrap(),
        jsonwebtoken::Algorithm::HS256,
    )
    .unwrap();
    format!("{input}.{signature}")
}

fn jwt_gate_accepts(token: &str) -> bool {
    codec::decode(token, &Keys::hs256(SECRET).unwrap(), &config(), now()).is_ok()
}

fn jsonwebtoken_accepts(token: &str) -> bool {
    jsonwebtoken::decode::<Map<String, Value>>(
        token,
        &jsonwebtoken::DecodingKey::from_secret(SECRET).unwrap(),
        &validation(),
    )
    .is_ok()
}

/// An offset from now at least 20 s clear of the leeway boundary, either side.
fn offset() -> impl Strategy<Value = i64> {
    prop_oneof![-5000_i64..=-20, 20_i64..=5000]
}

/// Headers both parsers read alike: `alg` right or wrong, `typ` and `kid` or not.
fn header() -> impl Strategy<Value = Value> {
    (
        // Mostly the right algorithm, so that accepted tokens are a good share of the cases.
        prop_oneof![
            4 => Just("HS256"),
            1 => prop::sample::select(vec!["HS384", "HS512", "RS256", "none", "hs256"]),
        ],
        any::<bool>(),
        prop::option::of("[a-z0-9]{1,8}"),
    )
        .prop_map(|(alg, typ, kid)| {
            let mut header = json!({ "alg": alg });
            if typ {
                header["typ"] = json!("JWT");
            }
            if let Some(kid) = kid {
                header["kid"] = json!(kid);
            }
            header
        })
}

/// Claims both read alike: integer `exp` and `nbf` (either may be missing), an `iat` never
/// in the future, an identity and extra claims of any JSON shape that is neither a registered
/// claim nor nested deeply.
fn claims() -> impl Strategy<Value = Value> {
    (
        prop::option::weighted(0.9, offset()),
        prop::option::weighted(0.9, offset()),
        prop::option::of(0_i64..5000),
        prop::collection::btree_map(
            "x_[a-z]{1,6}",
            prop_oneof![
                any::<i64>().prop_map(Value::from),
                "[ -~]{0,12}".prop_map(Value::from),
                any::<bool>().prop_map(Value::from),
                Just(Value::Null)
            ],
            0..4,
        ),
    )
        .prop_map(|(exp, nbf, iat_ago, extra)| {
            let now = now();
            let mut claims = json!({ "identity": 1 });
            if let Some(exp) = exp {
                claims["exp"] = json!(now + exp);
            }
            if let Some(nbf) = nbf {
                claims["nbf"] = json!(now + nbf);
            }
            if let Some(ago) = iat_ago {
                claims["iat"] = json!(now - ago);
            }
            for (name, value) in extra {
                claims[name] = value;
            }
            claims
        })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    /// On common ground: the same verdict, whatever the header, the claims and the key.
    #[test]
    fn both_decoders_agree(header in header(), claims in claims(), right_key in prop::bool::weighted(0.8)) {
        let key: &[u8] = if right_key { SECRET } else { b"another-secret-0123456789abcdef-xyz" };
        let token = sign(
            &serde_json::to_vec(&header).unwrap(),
            &serde_json::to_vec(&claims).unwrap(),
            key,
        );
        prop_assert_eq!(
            jwt_gate_accepts(&token),
            jsonwebtoken_accepts(&token),
            "header {} claims {} right key {}", header, claims, right_key
        );
    }

    /// A signature altered anywhere is refused by both.
    #[test]
    fn altered_signatures_are_refused_by_both(claims in claims(), at in any::<prop::sample::Index>()) {
        let token = sign(br#"{"typ":"JWT","alg":"HS256"}"#, &serde_json::to_vec(&claims).unwrap(), SECRET);
        let (body, signature) = token.rsplit_once('.').unwrap();
        let mut signature = signature.as_bytes().to_vec();
        let i = at.index(signature.len());
        signature[i] = if signature[i] == b'A' { b'B' } else { b'A' };
        let altered = format!("{body}.{}", String::from_utf8(signature).unwrap());
        prop_assert!(!jwt_gate_accepts(&altered));
        prop_assert!(!jsonwebtoken_accepts(&altered));
    }

    /// Where jwt-gate is stricter (§10), it refuses, whatever jsonwebtoken decides.
    #[test]
    fn the_stricter_rules_refuse(claims in claims(), rule in 0_usize..6) {
        let header = br#"{"typ":"JWT","alg":"HS256"}"#.to_vec();
        let payload = serde_json::to_vec(&claims).unwrap();
        let token = match rule {
            // A duplicate member (the last one would win in serde_json).
            0 => sign(br#"{"alg":"none","alg":"HS256"}"#, &payload, SECRET),
            // An extension jwt-gate does not understand.
            1 => sign(br#"{"alg":"HS256","crit":["exp"]}"#, &payload, SECRET),
            // Padding on a segment (non-canonical base64url).
            2 => {
                let token = sign(&header, &payload, SECRET);
                let (head, rest) = token.split_once('.').unwrap();
                format!("{head}=.{rest}")
            }
            // `iat` in the future beyond the leeway (jsonwebtoken does not check `iat`).
            3 => {
                let mut claims = claims;
                claims["iat"] = json!(now() + 60);
                sign(&header, &serde_json::to_vec(&claims).unwrap(), SECRET)
            }
            // Nesting deeper than the limit.
            4 => {
                let mut claims = claims;
                let mut deep = json!(1);
                for _ in 0..40 {
                    deep = json!([deep]);
                }
                claims["x_deep"] = deep;
                sign(&header, &serde_json::to_vec(&claims).unwrap(), SECRET)
            }
            // A time claim that is a numeric string.
            _ => {
                let mut claims = claims;
                claims["exp"] = json!((now() + 300).to_string());
                sign(&header, &serde_json::to_vec(&claims).unwrap(), SECRET)
            }
        };
        prop_assert!(!jwt_gate_accepts(&token), "rule {} token {}", rule, token);
    }
}

/// The common ground holds accepted tokens too: a valid token passes both.
#[test]
fn a_valid_token_passes_both() {
    let now = now();
    let claims = json!({"identity": 1, "iat": now, "nbf": now, "exp": now + 300});
    let token = sign(
        br#"{"typ":"JWT","alg":"HS256"}"#,
        &serde_json::to_vec(&claims).unwrap(),
        SECRET,
    );
    assert!(jwt_gate_accepts(&token));
    assert!(jsonwebtoken_accepts(&token));
}
