//! Property tests: issue → verify round-trips for arbitrary extra claims and ids, every
//! single-byte mutation of a valid token is refused, correctly signed tokens over arbitrary
//! claims are judged as the documented rules say, and neither verification nor the
//! `Authorization` parser panics on anything.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a test fails by panicking; helpers outside #[test] fns too"
)]

use std::convert::Infallible;
use std::sync::OnceLock;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, Mac};
use http::header::AUTHORIZATION;
use http::request::Parts;
use http::{HeaderValue, Request};
use jwt_gate::{
    Claims, Credentials, FixedClock, HeaderError, Identity, Jwt, JwtError, Keys, TokenError,
};
use proptest::prelude::*;
use proptest::sample::Index;
use serde_json::{Map, Value, json};

const SECRET: &str = "property-test-secret-0123456789abcdef";
const NOW: i64 = 1_700_000_000;
/// The default leeway, expiration delta and limits.
const LEEWAY: i64 = 10;
const LIFETIME: i64 = 300;
const MAX_TOKEN_BYTES: usize = 8 * 1024;
const MAX_DEPTH: usize = 32;
/// The claims jwt-gate writes itself: never overridden by extra claims, never in `extra`.
const RESERVED: [&str; 9] = [
    "identity", "exp", "iat", "nbf", "jti", "type", "fresh", "fam", "iat_ms",
];

/// A user whose id and extra claims are the test's.
#[derive(Clone, Debug)]
struct User {
    id: i64,
    extra: Map<String, Value>,
}

impl Identity for User {
    type Id = i64;
    fn id(&self) -> i64 {
        self.id
    }
}

/// One `Jwt` for every case: HS256 under [`SECRET`], the clock at [`NOW`], the user's extra
/// claims as the `payload` hook.
fn jwt() -> &'static Jwt<User> {
    static JWT: OnceLock<Jwt<User>> = OnceLock::new();
    JWT.get_or_init(|| {
        Jwt::builder(Keys::hs256(SECRET).unwrap())
            .clock(FixedClock::at_unix_seconds(NOW))
            .authenticate(|_: Credentials| async { Ok::<Option<User>, Infallible>(None) })
            .identity(|_: Claims<i64>| async { Ok::<Option<User>, Infallible>(None) })
            .payload(|user: &User| user.extra.clone())
            .build()
            .unwrap()
    })
}

fn config() -> ProptestConfig {
    ProptestConfig {
        // Failures print their minimal input; no regression files next to the sources.
        failure_persistence: None,
        ..ProptestConfig::with_cases(256)
    }
}

// ---------------------------------------------------------------------------------------------
// Strategies.

/// Short strings of any characters, control characters and non-BMP ones included.
fn text() -> impl Strategy<Value = String> {
    prop::collection::vec(any::<char>(), 0..12).prop_map(String::from_iter)
}

/// Claim names: the reserved ones and `aud` now and then, otherwise anything.
fn claim_name() -> impl Strategy<Value = String> {
    prop_oneof![
        1 => prop::sample::select(RESERVED.as_slice()).prop_map(str::to_owned),
        6 => text(),
        2 => "[a-z_]{1,6}",
    ]
}

/// JSON values: strings, integers of any size, finite floats, booleans, null, and arrays and
/// objects nested up to 4 deep.
fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        any::<f64>()
            .prop_filter("JSON has no NaN or infinity", |f| f.is_finite())
            .prop_map(Value::from),
        text().prop_map(Value::from),
        Just(Value::Null),
    ];
    leaf.prop_recursive(4, 24, 5, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..5).prop_map(Value::Array),
            prop::collection::btree_map(text(), inner, 0..5)
                .prop_map(|members| Value::Object(members.into_iter().collect())),
        ]
    })
}

/// Extra claims for the `payload` hook: up to 6 members, any names, any values.
fn extra_claims() -> impl Strategy<Value = Map<String, Value>> {
    prop::collection::btree_map(claim_name(), json_value(), 0..6)
        .prop_map(|members| members.into_iter().collect())
}

/// Extra claims without `aud` (which no token may carry: Flask-JWT configures no audience).
fn extra_claims_without_aud() -> impl Strategy<Value = Map<String, Value>> {
    extra_claims().prop_map(|mut extra| {
        extra.remove("aud");
        extra
    })
}

// ---------------------------------------------------------------------------------------------
// Helpers.

fn b64(bytes: impl AsRef<[u8]>) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

/// `<header>.<payload>.<HS256 under SECRET>` with an HMAC independent of the library's.
fn sign(header: &[u8], payload: &[u8]) -> String {
    let input = format!("{}.{}", b64(header), b64(payload));
    let mut mac = Hmac::<sha2::Sha256>::new_from_slice(SECRET.as_bytes()).unwrap();
    mac.update(input.as_bytes());
    format!("{input}.{}", b64(mac.finalize().into_bytes()))
}

/// Request parts with one `Authorization` header per value.
fn parts(values: &[HeaderValue]) -> Parts {
    let mut request = Request::new(());
    for value in values {
        request.headers_mut().append(AUTHORIZATION, value.clone());
    }
    request.into_parts().0
}

/// Every refusal is a 4xx with a description.
fn assert_client_error(error: &JwtError) -> Result<(), TestCaseError> {
    prop_assert!(error.status().is_client_error(), "{error:?}");
    prop_assert!(!error.to_string().is_empty());
    Ok(())
}

/// The extra claims a verified token shows: the claims less the reserved names.
fn visible(extra: &Map<String, Value>) -> Map<String, Value> {
    let mut visible = extra.clone();
    for claim in RESERVED {
        visible.remove(claim);
    }
    visible
}

/// PyJWT's `int()` of a JSON number: fractions truncated, out of range saturated.
fn numeric_date(value: &Value) -> Option<i64> {
    let number = value.as_number()?;
    Some(if let Some(i) = number.as_i64() {
        i
    } else if number.as_u64().is_some() {
        i64::MAX
    } else {
        number.as_f64().map_or(0, |f| f.trunc() as i64)
    })
}

/// What verification must answer for correctly signed `claims` under the default
/// configuration at [`NOW`]: the documented rules, in the documented order.
fn expected(claims: &Map<String, Value>) -> Result<(), JwtError> {
    for name in ["exp", "iat", "nbf"] {
        if claims.get(name).is_none_or(Value::is_null) {
            return Err(TokenError::MissingClaim(name).into());
        }
    }
    let time = |name: &str, not_integer: TokenError| {
        numeric_date(&claims[name]).ok_or(JwtError::InvalidToken(not_integer))
    };
    if time("iat", TokenError::IatNotInteger)? > NOW + LEEWAY {
        return Err(TokenError::IatInFuture.into());
    }
    if time("nbf", TokenError::NbfNotInteger)? > NOW + LEEWAY {
        return Err(TokenError::NotYetValid.into());
    }
    if time("exp", TokenError::ExpNotInteger)? < NOW - LEEWAY {
        return Err(TokenError::Expired.into());
    }
    match claims.get("aud") {
        None => {}
        Some(Value::String(_)) => return Err(TokenError::InvalidAudience.into()),
        Some(Value::Array(items)) if items.iter().all(Value::is_string) => {
            return Err(TokenError::InvalidAudience.into());
        }
        Some(_) => return Err(TokenError::InvalidClaimFormat.into()),
    }
    if claims.get("identity").and_then(Value::as_i64).is_none() {
        return Err(JwtError::UnknownIdentity);
    }
    Ok(())
}

fn same_error(got: &JwtError, want: &JwtError) -> bool {
    match (got, want) {
        (JwtError::InvalidToken(got), JwtError::InvalidToken(want)) => got == want,
        (JwtError::UnknownIdentity, JwtError::UnknownIdentity) => true,
        _ => false,
    }
}

// ---------------------------------------------------------------------------------------------
// Issue → verify.

proptest! {
    #![proptest_config(config())]

    #[test]
    fn issued_tokens_verify_with_their_claims(
        id in any::<i64>(),
        extra in extra_claims_without_aud(),
    ) {
        let jwt = jwt();
        let token = jwt.issue(&User { id, extra: extra.clone() }).unwrap();
        if token.len() > MAX_TOKEN_BYTES {
            // Rare with these sizes; a token over the limit is refused before anything else.
            let error = jwt.verify(&token).unwrap_err();
            prop_assert!(matches!(error, JwtError::InvalidToken(TokenError::TooLarge)));
            return Ok(());
        }
        let claims = jwt.verify(&token).unwrap();
        prop_assert_eq!(claims.identity, id);
        prop_assert_eq!(claims.iat, Some(NOW));
        prop_assert_eq!(claims.nbf, Some(NOW));
        prop_assert_eq!(claims.exp, Some(NOW + LIFETIME));
        // Exactly, floats included (jwt-gate turns serde_json's `float_roundtrip` on).
        prop_assert_eq!(&claims.extra, &visible(&extra));
        // No lifecycle without a revocation store.
        prop_assert_eq!(claims.jti, None);
        prop_assert_eq!(claims.token_type, None);
    }

    #[test]
    fn an_aud_claim_never_verifies(id in any::<i64>(), mut extra in extra_claims(), aud in json_value()) {
        extra.insert("aud".to_owned(), aud.clone());
        let jwt = jwt();
        let token = jwt.issue(&User { id, extra }).unwrap();
        let error = jwt.verify(&token).unwrap_err();
        if token.len() > MAX_TOKEN_BYTES {
            prop_assert!(matches!(error, JwtError::InvalidToken(TokenError::TooLarge)));
            return Ok(());
        }
        let want = match &aud {
            Value::String(_) => TokenError::InvalidAudience,
            Value::Array(items) if items.iter().all(Value::is_string) => TokenError::InvalidAudience,
            _ => TokenError::InvalidClaimFormat,
        };
        prop_assert!(matches!(&error, JwtError::InvalidToken(e) if *e == want), "{error:?} for {aud}");
    }

    /// Nested deeper than the limit: refused, whoever signed it.
    #[test]
    fn nesting_beyond_the_limit_is_refused(id in any::<i64>(), depth in 1_usize..40) {
        let mut value = json!(1);
        for _ in 0..depth {
            value = json!([value]);
        }
        let mut extra = Map::new();
        extra.insert("deep".to_owned(), value);
        let jwt = jwt();
        let token = jwt.issue(&User { id, extra }).unwrap();
        // The claims object is one level more.
        match jwt.verify(&token) {
            Ok(_) => prop_assert!(depth < MAX_DEPTH),
            Err(error) => {
                prop_assert!(depth >= MAX_DEPTH);
                prop_assert!(matches!(error, JwtError::InvalidToken(TokenError::TooDeeplyNested)));
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Mutations.

/// Changes byte `at` of `token` by `delta` (1..=255), so it always becomes another byte.
fn mutate(token: &str, at: Index, delta: u8) -> (usize, Vec<u8>) {
    let mut bytes = token.as_bytes().to_vec();
    let at = at.index(bytes.len());
    bytes[at] = bytes[at].wrapping_add(delta);
    (at, bytes)
}

/// A mutated token is refused both as text (when it is still UTF-8) and from an
/// `Authorization` header (when it is still a header value; the header is read as Latin-1, so
/// any byte gets there).
fn assert_refused(jwt: &Jwt<User>, bytes: &[u8]) -> Result<(), TestCaseError> {
    if let Ok(text) = std::str::from_utf8(bytes) {
        match jwt.verify(text) {
            Ok(claims) => prop_assert!(false, "a mutated token verified: {text:?} -> {claims:?}"),
            Err(error) => assert_client_error(&error)?,
        }
    }
    let mut header = b"JWT ".to_vec();
    header.extend_from_slice(bytes);
    if let Ok(value) = HeaderValue::from_bytes(&header) {
        match jwt.token(&parts(&[value])) {
            Ok(Some(token)) => match jwt.verify(&token) {
                Ok(claims) => prop_assert!(
                    false,
                    "a mutated token verified from a header: {token:?} -> {claims:?}"
                ),
                Err(error) => assert_client_error(&error)?,
            },
            Ok(None) => prop_assert!(false, "no token in {header:?}"),
            Err(error) => assert_client_error(&error)?,
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(config())]

    /// With canonical base64url (no padding, no other alphabet, zero trailing bits) no change
    /// of one byte keeps the decoded bytes, so none keeps the signature valid.
    #[test]
    fn every_single_byte_mutation_is_refused(
        id in any::<i64>(),
        extra in extra_claims_without_aud(),
        at in any::<Index>(),
        delta in 1_u8..=255,
    ) {
        let jwt = jwt();
        let token = jwt.issue(&User { id, extra }).unwrap();
        let (_, bytes) = mutate(&token, at, delta);
        assert_refused(jwt, &bytes)?;
    }

    /// The same, concentrated on the signature's last character, where base64url leaves
    /// unused bits.
    #[test]
    fn mutations_of_the_last_character_are_refused(id in any::<i64>(), delta in 1_u8..=255) {
        let jwt = jwt();
        let mut bytes = jwt.issue(&User { id, extra: Map::new() }).unwrap().into_bytes();
        let last = bytes.len() - 1;
        bytes[last] = bytes[last].wrapping_add(delta);
        assert_refused(jwt, &bytes)?;
    }
}

/// Exhaustively, for one token: every position, every other byte value.
#[test]
fn every_byte_of_one_token_is_load_bearing() {
    let jwt = jwt();
    let mut extra = Map::new();
    extra.insert("role".to_owned(), json!("admin"));
    let token = jwt.issue(&User { id: 42, extra }).unwrap();
    for at in 0..token.len() {
        for delta in 1..=255_u8 {
            let mut bytes = token.as_bytes().to_vec();
            bytes[at] = bytes[at].wrapping_add(delta);
            if let Ok(text) = std::str::from_utf8(&bytes) {
                assert!(jwt.verify(text).is_err(), "{text:?} verified");
            }
        }
    }
    // Dropping or adding a character anywhere is refused too.
    for at in 0..token.len() {
        let mut shorter = token.clone();
        shorter.remove(at);
        assert!(jwt.verify(&shorter).is_err(), "{shorter:?} verified");
        for c in ['A', 'Q', 'g', 'w', '-', '_', '.', '='] {
            let mut longer = token.clone();
            longer.insert(at, c);
            assert!(jwt.verify(&longer).is_err(), "{longer:?} verified");
        }
    }
    assert!(jwt.verify(&token).is_ok());
}

// ---------------------------------------------------------------------------------------------
// Arbitrary input never panics.

/// A segment: base64url text, base64url of arbitrary bytes or JSON, or anything.
fn segment() -> impl Strategy<Value = String> {
    prop_oneof![
        "[A-Za-z0-9_-]{0,48}",
        prop::collection::vec(any::<u8>(), 0..48).prop_map(b64),
        json_value().prop_map(|v| b64(v.to_string())),
        Just(b64(r#"{"typ":"JWT","alg":"HS256"}"#)),
        Just(b64(r#"{"alg":"none"}"#)),
        "[A-Za-z0-9+/=_-]{0,48}",
        text(),
    ]
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn verification_never_panics_on_strings(token in any::<String>()) {
        let error = jwt().verify(&token).unwrap_err();
        assert_client_error(&error)?;
    }

    #[test]
    fn verification_never_panics_on_three_segments(
        header in segment(),
        payload in segment(),
        signature in segment(),
    ) {
        let token = format!("{header}.{payload}.{signature}");
        let error = jwt().verify(&token).unwrap_err();
        assert_client_error(&error)?;
        // The header segment is checked first: the standard alphabet or padding there is
        // refused as such (when no segment holds a `.` that would move the boundaries).
        if header.contains(['+', '/', '='])
            && ![&header, &payload, &signature].iter().any(|s| s.contains('.'))
        {
            prop_assert!(
                matches!(error, JwtError::InvalidToken(TokenError::InvalidHeaderPadding)),
                "{error:?} for {token}"
            );
        }
    }

    /// Correctly signed tokens over arbitrary claims: verification answers exactly what the
    /// documented rules say (required claims, then `iat`, `nbf`, `exp`, `aud`, then the
    /// identity's type).
    #[test]
    fn signed_claims_are_judged_by_the_rules(
        identity in prop_oneof![
            3 => any::<i64>().prop_map(Value::from),
            1 => json_value(),
        ],
        times in prop::collection::vec(
            prop_oneof![
                4 => (-1_000_i64..1_000).prop_map(|d| Value::from(NOW + d)),
                1 => json_value(),
                1 => Just(Value::Null),
            ],
            3,
        ),
        absent in prop::collection::vec(prop::bool::weighted(0.1), 4),
        extra in extra_claims(),
    ) {
        let mut claims = Map::new();
        for (name, value) in extra {
            claims.insert(name, value);
        }
        let mut set = |at: usize, name: &str, value: Value| {
            if absent[at] {
                claims.remove(name);
            } else {
                claims.insert(name.to_owned(), value);
            }
        };
        set(0, "identity", identity);
        set(1, "exp", times[0].clone());
        set(2, "iat", times[1].clone());
        set(3, "nbf", times[2].clone());
        let token = sign(
            br#"{"typ":"JWT","alg":"HS256"}"#,
            &serde_json::to_vec(&Value::Object(claims.clone())).unwrap(),
        );
        let want = if token.len() > MAX_TOKEN_BYTES {
            Err(TokenError::TooLarge.into())
        } else {
            expected(&claims)
        };
        match (jwt().verify(&token), want) {
            (Ok(verified), Ok(())) => {
                prop_assert_eq!(Some(verified.identity), claims["identity"].as_i64());
                prop_assert_eq!(verified.exp, numeric_date(&claims["exp"]));
                prop_assert_eq!(verified.iat, numeric_date(&claims["iat"]));
                prop_assert_eq!(verified.nbf, numeric_date(&claims["nbf"]));
                prop_assert_eq!(&verified.extra, &visible(&claims));
            }
            (Err(got), Err(want)) => {
                prop_assert!(same_error(&got, &want), "got {:?}, want {:?} for {}", got, want, Value::Object(claims));
            }
            (got, want) => prop_assert!(false, "got {:?}, want {:?} for {}", got, want, Value::Object(claims)),
        }
    }
}

// ---------------------------------------------------------------------------------------------
// The `Authorization` parser.

/// Header values: the scheme in any case, tokens, whitespace of every kind, any bytes.
fn header_value() -> impl Strategy<Value = Vec<u8>> {
    let piece = prop_oneof![
        Just(b"JWT".to_vec()),
        Just(b"jwt".to_vec()),
        Just(b"Bearer".to_vec()),
        Just(b" ".to_vec()),
        Just(b"\t".to_vec()),
        Just(vec![0x85]),
        Just(vec![0xa0]),
        Just(vec![0x1c]),
        "[A-Za-z0-9._-]{1,12}".prop_map(String::into_bytes),
        prop::collection::vec(any::<u8>(), 1..6),
    ];
    prop::collection::vec(piece, 0..6).prop_map(|pieces| pieces.concat())
}

/// Python's `str.split()` whitespace within Latin-1.
fn is_python_whitespace(c: char) -> bool {
    matches!(c, '\t'..='\r' | '\x1c'..='\x20' | '\u{85}' | '\u{a0}')
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn the_authorization_parser_never_panics(values in prop::collection::vec(header_value(), 0..4)) {
        let values: Vec<HeaderValue> = values
            .iter()
            .filter_map(|v| HeaderValue::from_bytes(v).ok())
            .collect();
        let jwt = jwt();
        let result = jwt.token(&parts(&values));
        match (values.as_slice(), result) {
            ([], result) => prop_assert!(matches!(result, Ok(None))),
            ([_, _, ..], result) => prop_assert!(
                matches!(result, Err(JwtError::BadHeader(HeaderError::MultipleHeaders))),
                "{result:?}"
            ),
            ([value], result) => {
                let text: String = value.as_bytes().iter().map(|&b| char::from(b)).collect();
                let words: Vec<&str> = text.split(is_python_whitespace).filter(|w| !w.is_empty()).collect();
                let want = match words.as_slice() {
                    [] => Ok(None),
                    [scheme, ..] if scheme.to_lowercase() != "jwt" => Err(HeaderError::UnsupportedType),
                    [_] => Err(HeaderError::TokenMissing),
                    [_, token] => Ok(Some((*token).to_owned())),
                    _ => Err(HeaderError::TokenContainsSpaces),
                };
                match (result, want) {
                    (Ok(got), Ok(want)) => prop_assert_eq!(got, want),
                    (Err(JwtError::BadHeader(got)), Err(want)) => prop_assert_eq!(got, want),
                    (got, want) => prop_assert!(false, "got {:?}, want {:?} for {:?}", got, want, text),
                }
            }
        }
    }
}
