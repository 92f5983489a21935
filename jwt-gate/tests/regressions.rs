//! Inputs that fuzzing (fuzz/) or the property tests (properties.rs) found to misbehave, kept
//! as plain tests.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a test fails by panicking; helpers outside #[test] fns too"
)]

use std::convert::Infallible;

use jwt_gate::{Claims, Credentials, FixedClock, Identity, Jwt, Keys};
use serde_json::{Map, Value, json};

const SECRET: &str = "regression-test-secret-0123456789abcdef";
const NOW: i64 = 1_700_000_000;

#[derive(Clone, Debug)]
struct User {
    extra: Map<String, Value>,
}

impl Identity for User {
    type Id = i64;
    fn id(&self) -> i64 {
        1
    }
}

fn jwt() -> Jwt<User> {
    Jwt::builder(Keys::hs256(SECRET).unwrap())
        .clock(FixedClock::at_unix_seconds(NOW))
        .authenticate(|_: Credentials| async { Ok::<Option<User>, Infallible>(None) })
        .identity(|_: Claims<i64>| async { Ok::<Option<User>, Infallible>(None) })
        .payload(|user: &User| user.extra.clone())
        .build()
        .unwrap()
}

/// properties.rs, `issued_tokens_verify_with_their_claims`: a float claim of the `payload`
/// hook came back from `verify` 1 ULP off, because serde_json's parser is "best effort" for
/// long mantissas without its `float_roundtrip` feature, which jwt-gate now turns on.
#[test]
fn float_claims_round_trip_exactly() {
    let jwt = jwt();
    for value in [
        3.345_907_210_891_736_3e-186,
        0.1 + 0.2,
        1.0 / 3.0,
        f64::MAX,
        f64::MIN_POSITIVE,
    ] {
        let mut extra = Map::new();
        extra.insert("x".to_owned(), json!(value));
        let token = jwt.issue(&User { extra }).unwrap();
        let claims = jwt.verify(&token).unwrap();
        assert_eq!(
            claims.extra["x"].as_f64(),
            Some(value),
            "{value:e} came back as {}",
            claims.extra["x"]
        );
    }
}
