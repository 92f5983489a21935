//! The protected flow: `@jwt_required()` + `current_identity` as `CurrentIdentity<User>`, with
//! every row of the header table, every PyJWT token message in PyJWT's order, and the fixes of
//! the spec's §10.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a test fails by panicking; helpers outside #[test] fns too"
)]

mod common;

use std::time::Duration;

use axum::body::Body;
use axum::http::header::AUTHORIZATION;
use axum::http::{Request, StatusCode};
use base64::Engine as _;
use common::{
    CHALLENGE, HS256_HEADER, NOW, OTHER_SECRET, TestApp, User, assert_error, assert_invalid_token,
    assert_invalid_token_prefix, assert_unknown_identity, assert_user, b64, claims_for,
    get_request, get_with_raw_authorization, sign_json, sign_segments, sign_segments_with, token,
    unb64, user, with_claim, without_claim,
};
use jwt_gate::Claims;
use serde_json::{Value, json};

fn assert_missing_token(reply: &common::Reply) {
    assert_error(
        reply,
        401,
        "Authorization Required",
        "Request does not contain an access token",
    );
}

fn assert_bad_header(reply: &common::Reply, description: &str) {
    assert_error(reply, 401, "Invalid JWT header", description);
}

/// A valid token for user 1, issued by hand at NOW.
fn good() -> String {
    token(&claims_for(&json!(1)))
}

// ---------------------------------------------------------------------------------------------
// The `Authorization` header.

#[tokio::test]
async fn no_header_is_authorization_required_with_the_challenge() {
    let app = TestApp::new();
    let reply = app.get("/protected", None).await;
    assert_missing_token(&reply);
    assert_eq!(reply.challenge(), Some(CHALLENGE));
}

#[tokio::test]
async fn an_empty_or_blank_header_is_no_token() {
    let app = TestApp::new();
    for value in ["", " ", "   ", "\t", " \t "] {
        let reply = app.get("/protected", Some(value)).await;
        assert_missing_token(&reply);
    }
}

#[tokio::test]
async fn another_scheme_is_unsupported_authorization_type() {
    let app = TestApp::new();
    let token = good();
    for value in [
        "Bearer x".to_owned(),
        format!("Bearer {token}"),
        "Bearer a b".to_owned(),
        "Basic dXNlcjE6YWJjeHl6".to_owned(),
        // A bare token without a prefix.
        token.clone(),
        format!("JWTX {token}"),
        format!("JW {token}"),
        format!("JWT:{token}"),
    ] {
        let reply = app.get("/protected", Some(&value)).await;
        assert_bad_header(&reply, "Unsupported authorization type");
    }
}

#[tokio::test]
async fn the_prefix_alone_is_token_missing() {
    let app = TestApp::new();
    for value in ["JWT", "JWT ", "  JWT\t ", "jwt"] {
        let reply = app.get("/protected", Some(value)).await;
        assert_bad_header(&reply, "Token missing");
    }
}

#[tokio::test]
async fn more_than_two_parts_is_token_contains_spaces() {
    let app = TestApp::new();
    let token = good();
    for value in [
        "JWT a b".to_owned(),
        format!("JWT {token} extra"),
        format!("JWT {token} {token}"),
        format!("JWT\t{token}\tx"),
    ] {
        let reply = app.get("/protected", Some(&value)).await;
        assert_bad_header(&reply, "Token contains spaces");
    }
}

#[tokio::test]
async fn the_prefix_is_case_insensitive() {
    let app = TestApp::new();
    let token = good();
    for prefix in ["JWT", "jwt", "Jwt", "jWt"] {
        let reply = app
            .get("/protected", Some(&format!("{prefix} {token}")))
            .await;
        assert_user(&reply, 1);
    }
}

#[tokio::test]
async fn any_run_of_whitespace_separates_like_python_split() {
    let app = TestApp::new();
    let token = good();
    for separator in [" ", "\t", "   ", " \t ", "\t\t"] {
        let value = format!("JWT{separator}{token}");
        assert_user(&app.get("/protected", Some(&value)).await, 1);
    }
    // Leading and trailing whitespace is dropped by `str.split()`.
    let value = format!("  JWT {token}\t ");
    assert_user(&app.get("/protected", Some(&value)).await, 1);
    // Latin-1 whitespace (NBSP, NEL) splits too, as the WSGI header string did.
    for separator in [&b"\xa0"[..], b"\x85"] {
        let mut value = b"JWT".to_vec();
        value.extend_from_slice(separator);
        value.extend_from_slice(token.as_bytes());
        let request = get_with_raw_authorization("/protected", &[&value]);
        assert_user(&app.send(request).await, 1);
    }
}

#[tokio::test]
async fn two_authorization_headers_are_refused() {
    let app = TestApp::new();
    let value = format!("JWT {}", good());
    for values in [
        [value.as_bytes(), value.as_bytes()],
        [value.as_bytes(), b"Bearer x"],
        [b"", value.as_bytes()],
        [value.as_bytes(), b""],
    ] {
        let reply = app
            .send(get_with_raw_authorization("/protected", &values))
            .await;
        assert_bad_header(&reply, "Multiple authorization headers");
    }
}

#[tokio::test]
async fn the_header_is_checked_before_the_token() {
    // `Bearer <expired token>` is about the scheme, not the token.
    let app = TestApp::new();
    let expired = token(&with_claim("exp", json!(NOW - 100)));
    let reply = app
        .get("/protected", Some(&format!("Bearer {expired}")))
        .await;
    assert_bad_header(&reply, "Unsupported authorization type");
}

// ---------------------------------------------------------------------------------------------
// PyJWT 1.4.2's messages, in its order.

#[tokio::test]
async fn fewer_than_three_segments() {
    let app = TestApp::new();
    for token in [
        "abc",
        "a.b",
        "eyJhbGciOiJIUzI1NiJ9",
        "eyJhbGciOiJIUzI1NiJ9.e30",
    ] {
        assert_invalid_token(&app.protected(token).await, "Not enough segments");
    }
}

#[tokio::test]
async fn undecodable_header_is_invalid_header_padding() {
    let app = TestApp::new();
    let rest = good().split_once('.').unwrap().1.to_owned();
    for header in ["!!", "a", "$$$$", "e30=="] {
        let reply = app.protected(&format!("{header}.{rest}")).await;
        assert_invalid_token(&reply, "Invalid header padding");
    }
}

#[tokio::test]
async fn non_ascii_token_bytes_are_invalid_header_padding() {
    let app = TestApp::new();
    let request = get_with_raw_authorization("/protected", &[b"JWT \xe9\xe9.e30.e30"]);
    assert_invalid_token(&app.send(request).await, "Invalid header padding");
}

#[tokio::test]
async fn header_that_is_not_json_is_invalid_header_string() {
    let app = TestApp::new();
    let rest = good().split_once('.').unwrap().1.to_owned();
    for header in [
        &b"not json"[..],
        b"{\"alg\":\"HS256\"",
        b"{'alg':'HS256'}",
        b"\xff\xfe",
        b"{\"alg\":\"HS256\"} x",
        b"",
    ] {
        let reply = app.protected(&format!("{}.{rest}", b64(header))).await;
        assert_invalid_token_prefix(&reply, "Invalid header string: ");
    }
}

#[tokio::test]
async fn header_that_is_not_an_object() {
    let app = TestApp::new();
    let rest = good().split_once('.').unwrap().1.to_owned();
    for header in [
        "[]",
        r#""HS256""#,
        "1",
        "null",
        "true",
        r#"["alg","HS256"]"#,
    ] {
        let reply = app.protected(&format!("{}.{rest}", b64(header))).await;
        assert_invalid_token(&reply, "Invalid header string: must be a json object");
    }
}

#[tokio::test]
async fn undecodable_payload_is_invalid_payload_padding() {
    let app = TestApp::new();
    let token = good();
    let parts: Vec<&str> = token.split('.').collect();
    for payload in ["!!", "a", "e30=", "$"] {
        let reply = app
            .protected(&format!("{}.{payload}.{}", parts[0], parts[2]))
            .await;
        assert_invalid_token(&reply, "Invalid payload padding");
    }
    // Checked before `alg`: an unsigned token with a broken payload is about the payload.
    let none = b64(r#"{"alg":"none"}"#);
    let reply = app.protected(&format!("{none}.!!.")).await;
    assert_invalid_token(&reply, "Invalid payload padding");
}

#[tokio::test]
async fn undecodable_signature_is_invalid_crypto_padding() {
    let app = TestApp::new();
    let token = good();
    let (input, signature) = token.rsplit_once('.').unwrap();
    for bad in ["!!".to_owned(), format!("{signature}="), "a".to_owned()] {
        let reply = app.protected(&format!("{input}.{bad}")).await;
        assert_invalid_token(&reply, "Invalid crypto padding");
    }
    // Checked before `alg`.
    let none = format!("{}.{}", b64(r#"{"alg":"none"}"#), b64("{}"));
    assert_invalid_token(
        &app.protected(&format!("{none}.!!")).await,
        "Invalid crypto padding",
    );
}

#[tokio::test]
async fn only_the_configured_alg_is_allowed() {
    let app = TestApp::new();
    let payload = b64(claims_for(&json!(1)).to_string());
    let mut tokens = Vec::new();
    for header in [
        r#"{"typ":"JWT","alg":"none"}"#,
        r#"{"typ":"JWT","alg":"None"}"#,
        r#"{"typ":"JWT","alg":"NONE"}"#,
        r#"{"typ":"JWT","alg":"HS512"}"#,
        r#"{"typ":"JWT","alg":"HS384"}"#,
        r#"{"typ":"JWT","alg":"RS256"}"#,
        r#"{"typ":"JWT","alg":"ES256"}"#,
        r#"{"typ":"JWT","alg":"hs256"}"#,
        r#"{"typ":"JWT","alg":"HS256 "}"#,
        r#"{"typ":"JWT","alg":null}"#,
        r#"{"typ":"JWT","alg":["HS256"]}"#,
        r#"{"typ":"JWT"}"#,
        "{}",
    ] {
        // Signed HS256 all the same: the header is refused before the signature is read.
        tokens.push(sign_segments(&b64(header), &payload));
    }
    // alg=none, unsigned.
    tokens.push(format!(
        "{}.{payload}.",
        b64(r#"{"typ":"JWT","alg":"none"}"#)
    ));
    // Really signed with HS512 and HS384 under the same secret.
    for alg in ["HS512", "HS384"] {
        let header = b64(format!(r#"{{"typ":"JWT","alg":"{alg}"}}"#));
        tokens.push(sign_segments_with(alg, common::SECRET, &header, &payload));
    }
    // Garbage signature: alg comes first.
    tokens.push(format!(
        "{}.{payload}.{}",
        b64(r#"{"alg":"none"}"#),
        b64("not a signature")
    ));
    for token in tokens {
        let reply = app.protected(&token).await;
        assert_invalid_token(&reply, "The specified alg value is not allowed");
    }
}

#[tokio::test]
async fn a_wrong_signature_is_signature_verification_failed() {
    let app = TestApp::new();
    let one = good();
    let two = token(&claims_for(&json!(2)));
    let one_parts: Vec<&str> = one.split('.').collect();
    let two_parts: Vec<&str> = two.split('.').collect();
    let header = b64(HS256_HEADER);
    let payload = b64(claims_for(&json!(1)).to_string());
    for token in [
        // Tampered payload: user 2's claims under user 1's signature.
        format!("{}.{}.{}", one_parts[0], two_parts[1], one_parts[2]),
        // Another secret.
        sign_segments_with("HS256", OTHER_SECRET, &header, &payload),
        // Tampered header (a `kid` added) keeping the signature.
        format!(
            "{}.{}.{}",
            b64(r#"{"typ":"JWT","alg":"HS256","kid":"x"}"#),
            one_parts[1],
            one_parts[2]
        ),
        // Stripped signature.
        format!("{}.{}.", one_parts[0], one_parts[1]),
        // Another token's signature.
        format!("{}.{}.{}", one_parts[0], one_parts[1], two_parts[2]),
        // A payload that is not JSON under a wrong signature: the signature comes first.
        format!("{}.{}.{}", one_parts[0], b64("not json"), one_parts[2]),
    ] {
        let reply = app.protected(&token).await;
        assert_invalid_token(&reply, "Signature verification failed");
    }
}

#[tokio::test]
async fn a_signed_payload_that_is_not_json_is_invalid_payload_string() {
    let app = TestApp::new();
    for payload in [
        &b"not json"[..],
        b"{\"identity\":1",
        b"\xff\xfe",
        b"{} {}",
        b"",
    ] {
        let token = sign_segments(&b64(HS256_HEADER), &b64(payload));
        assert_invalid_token_prefix(&app.protected(&token).await, "Invalid payload string: ");
    }
}

#[tokio::test]
async fn non_finite_numbers_are_not_json() {
    // Python's `json` reads NaN and Infinity; JSON (RFC 8259) has no such numbers.
    let app = TestApp::new();
    for number in ["NaN", "Infinity", "-Infinity"] {
        for claim in ["exp", "iat", "nbf", "identity"] {
            let mut claims = claims_for(&json!(1));
            claims[claim] = json!("PLACEHOLDER");
            let payload = claims.to_string().replace("\"PLACEHOLDER\"", number);
            let reply = app.protected(&sign_json(HS256_HEADER, &payload)).await;
            assert_invalid_token_prefix(&reply, "Invalid payload string: ");
        }
    }
}

#[tokio::test]
async fn escaped_json_strings_are_read_as_json() {
    let app = TestApp::new();
    let header = r#"{"typ":"JWT","alg":"HS\u0032\u0035\u0036"}"#;
    let payload = claims_for(&json!(1)).to_string();
    assert_user(&app.protected(&sign_json(header, &payload)).await, 1);
}

#[tokio::test]
async fn a_signed_payload_that_is_not_an_object() {
    let app = TestApp::new();
    for payload in ["[1]", "[]", "1", r#""x""#, "null", "true"] {
        let token = sign_json(HS256_HEADER, payload);
        assert_invalid_token(
            &app.protected(&token).await,
            "Invalid payload string: must be a json object",
        );
    }
}

#[tokio::test]
async fn required_claims_are_checked_in_order_exp_iat_nbf() {
    let app = TestApp::new();
    for (payload, claim) in [
        (json!({"identity": 1}), "exp"),
        (json!({}), "exp"),
        (json!({"identity": 1, "iat": NOW, "nbf": NOW}), "exp"),
        (json!({"identity": 1, "exp": NOW + 300}), "iat"),
        (json!({"identity": 1, "exp": NOW + 300, "nbf": NOW}), "iat"),
        (json!({"identity": 1, "exp": NOW + 300, "iat": NOW}), "nbf"),
        // `null` counts as missing (`payload.get(c) is None`).
        (with_claim("exp", Value::Null), "exp"),
        (with_claim("iat", Value::Null), "iat"),
        (with_claim("nbf", Value::Null), "nbf"),
        (
            json!({"identity": 1, "exp": null, "iat": null, "nbf": null}),
            "exp",
        ),
        // Before any time rule: a missing `exp` wins over an `iat` in the future.
        (
            json!({"identity": 1, "iat": NOW + 1000, "nbf": NOW + 1000}),
            "exp",
        ),
    ] {
        let reply = app.protected(&token(&payload)).await;
        assert_invalid_token(&reply, &format!("Token is missing the \"{claim}\" claim"));
    }
    for claim in ["exp", "iat", "nbf"] {
        let reply = app.protected(&token(&without_claim(claim))).await;
        assert_invalid_token(&reply, &format!("Token is missing the \"{claim}\" claim"));
    }
}

#[tokio::test]
async fn iat_in_the_future_beyond_the_leeway() {
    let app = TestApp::new();
    let at = |iat: i64| token(&with_claim("iat", json!(iat)));
    assert_user(&app.protected(&at(NOW + 10)).await, 1);
    assert_invalid_token(
        &app.protected(&at(NOW + 11)).await,
        "Issued At claim (iat) cannot be in the future.",
    );
    assert_invalid_token(
        &app.protected(&at(NOW + 100_000)).await,
        "Issued At claim (iat) cannot be in the future.",
    );
}

#[tokio::test]
async fn nbf_in_the_future_beyond_the_leeway() {
    let app = TestApp::new();
    let at = |nbf: i64| token(&with_claim("nbf", json!(nbf)));
    assert_user(&app.protected(&at(NOW + 10)).await, 1);
    assert_invalid_token(
        &app.protected(&at(NOW + 11)).await,
        "The token is not yet valid (nbf)",
    );
}

#[tokio::test]
async fn exp_in_the_past_beyond_the_leeway() {
    let app = TestApp::new();
    let at = |exp: i64| token(&with_claim("exp", json!(exp)));
    assert_user(&app.protected(&at(NOW - 10)).await, 1);
    assert_invalid_token(&app.protected(&at(NOW - 11)).await, "Signature has expired");
    assert_invalid_token(&app.protected(&at(0)).await, "Signature has expired");
}

#[tokio::test]
async fn time_rules_run_iat_then_nbf_then_exp() {
    let app = TestApp::new();
    let all_bad = json!({"identity": 1, "iat": NOW + 100, "nbf": NOW + 100, "exp": NOW - 100});
    assert_invalid_token(
        &app.protected(&token(&all_bad)).await,
        "Issued At claim (iat) cannot be in the future.",
    );
    let nbf_exp = json!({"identity": 1, "iat": NOW, "nbf": NOW + 100, "exp": NOW - 100});
    assert_invalid_token(
        &app.protected(&token(&nbf_exp)).await,
        "The token is not yet valid (nbf)",
    );
    // A malformed later claim does not hide an earlier failure, and vice versa.
    let iat_then_bad_exp = json!({"identity": 1, "iat": NOW + 100, "nbf": NOW, "exp": "x"});
    assert_invalid_token(
        &app.protected(&token(&iat_then_bad_exp)).await,
        "Issued At claim (iat) cannot be in the future.",
    );
    let bad_iat_then_expired = json!({"identity": 1, "iat": "x", "nbf": NOW, "exp": NOW - 100});
    assert_invalid_token(
        &app.protected(&token(&bad_iat_then_expired)).await,
        "Issued At claim (iat) must be an integer.",
    );
}

#[tokio::test]
async fn an_issued_token_expires_after_exp_plus_leeway() {
    let app = TestApp::new();
    let token = app.login("user1", "abcxyz").await;
    assert_user(&app.protected(&token).await, 1);
    app.clock.advance(Duration::from_secs(300));
    assert_user(&app.protected(&token).await, 1);
    app.clock.advance(Duration::from_secs(10));
    assert_user(&app.protected(&token).await, 1);
    // The clock is read in whole seconds: still second exp + leeway.
    app.clock.advance(Duration::from_millis(999));
    assert_user(&app.protected(&token).await, 1);
    app.clock.advance(Duration::from_millis(1));
    assert_invalid_token(&app.protected(&token).await, "Signature has expired");
}

#[tokio::test]
async fn a_clock_behind_the_issuer_is_tolerated_within_the_leeway() {
    let app = TestApp::new();
    let token = app.login("user1", "abcxyz").await;
    app.clock.rewind(Duration::from_secs(10));
    assert_user(&app.protected(&token).await, 1);
    app.clock.rewind(Duration::from_secs(1));
    assert_invalid_token(
        &app.protected(&token).await,
        "Issued At claim (iat) cannot be in the future.",
    );
}

#[tokio::test]
async fn any_audience_is_invalid() {
    let app = TestApp::new();
    for aud in [json!("api"), json!(["api"]), json!(["a", "b"]), json!([])] {
        let reply = app.protected(&token(&with_claim("aud", aud))).await;
        assert_invalid_token(&reply, "Invalid audience");
    }
    for aud in [json!(5), json!(["a", 1]), json!({"a": 1}), json!(true)] {
        let reply = app.protected(&token(&with_claim("aud", aud))).await;
        assert_invalid_token(&reply, "Invalid claim format in token");
    }
    // After the time rules.
    let mut expired = with_claim("exp", json!(NOW - 100));
    expired["aud"] = json!("api");
    assert_invalid_token(
        &app.protected(&token(&expired)).await,
        "Signature has expired",
    );
}

#[tokio::test]
async fn unknown_claims_and_header_fields_are_ignored() {
    let app = TestApp::new();
    let mut claims = claims_for(&json!(1));
    claims["jti"] = json!("abc");
    claims["sub"] = json!({"nested": [1, 2]});
    claims["iss"] = json!("elsewhere");
    claims["custom"] = json!(null);
    assert_user(&app.protected(&token(&claims)).await, 1);
    for header in [
        r#"{"alg":"HS256"}"#,
        r#"{"alg":"HS256","typ":"JWT","kid":"unknown-key"}"#,
        r#"{"alg":"HS256","jku":"http://127.0.0.1:1/jwks.json"}"#,
        r#"{"alg":"HS256","x5u":"http://127.0.0.1:1/cert.pem"}"#,
        r#"{"alg":"HS256","jwk":{"kty":"oct","k":"AAAA"}}"#,
        r#"{"alg":"HS256","typ":"at+jwt","cty":"JWT"}"#,
    ] {
        let token = sign_json(header, &claims_for(&json!(1)).to_string());
        assert_user(&app.protected(&token).await, 1);
    }
}

// ---------------------------------------------------------------------------------------------
// The `identity` claim (§10 fixes 3, 4, 9) and the identity callback.

#[tokio::test]
async fn identity_must_be_an_integer_naming_a_user() {
    let app = TestApp::new();
    let mut payloads: Vec<String> = [
        json!(true),
        json!(false),
        json!("1"),
        json!("user1"),
        json!(1.0),
        json!(1.5),
        json!([1]),
        json!({}),
        json!({"id": 1}),
        json!(null),
        json!(3),
        json!(0),
        json!(-1),
        json!(i64::MIN),
        json!(i64::MAX),
        json!(9_223_372_036_854_775_808_u64),
        json!(u64::MAX),
    ]
    .iter()
    .map(|identity| claims_for(identity).to_string())
    .collect();
    // Out of the id type's range, or written as floats.
    for identity in [
        "-9223372036854775809",
        "1e0",
        "1E0",
        "1.0",
        "100000000000000000000",
    ] {
        payloads.push(format!(
            r#"{{"exp":{},"iat":{NOW},"nbf":{NOW},"identity":{identity}}}"#,
            NOW + 300
        ));
    }
    payloads.push(without_claim("identity").to_string());
    for payload in payloads {
        let reply = app.protected(&sign_json(HS256_HEADER, &payload)).await;
        assert_unknown_identity(&reply);
    }
}

#[tokio::test]
async fn identity_true_is_not_user_one() {
    let app = TestApp::new();
    let reply = app.protected(&token(&claims_for(&json!(true)))).await;
    assert_unknown_identity(&reply);
    assert_user(&app.protected(&token(&claims_for(&json!(1)))).await, 1);
}

#[tokio::test]
async fn identity_callback_returning_none_is_user_does_not_exist() {
    let app = TestApp::with(|b| {
        b.identity(|_: Claims<i64>| async { Ok::<Option<User>, std::convert::Infallible>(None) })
    });
    assert_unknown_identity(&app.protected(&good()).await);
}

#[tokio::test]
async fn identity_callback_error_is_a_500_without_its_cause() {
    let app = TestApp::with(|b| {
        b.identity(|_: Claims<i64>| async {
            Err::<Option<User>, _>(std::io::Error::other("postgres://admin:hunter2@db refused"))
        })
    });
    let reply = app.protected(&good()).await;
    assert_error(
        &reply,
        500,
        "Internal Server Error",
        "Internal server error",
    );
    assert!(!reply.text().contains("hunter2"));
    assert!(!reply.text().contains("postgres"));
}

#[tokio::test]
async fn identity_callback_sees_the_verified_claims() {
    let seen = std::sync::Arc::new(std::sync::Mutex::new(None));
    let record = std::sync::Arc::clone(&seen);
    let app = TestApp::with(move |b| {
        b.identity(move |claims: Claims<i64>| {
            *record.lock().unwrap() = Some(claims.clone());
            common::identity(claims)
        })
    });
    let mut payload = claims_for(&json!(2));
    payload["role"] = json!("admin");
    payload["iat"] = json!(NOW as f64 + 0.75);
    assert_user(&app.protected(&token(&payload)).await, 2);
    let claims = seen.lock().unwrap().clone().expect("identity was called");
    assert_eq!(claims.identity, 2);
    assert_eq!(claims.iat, Some(NOW));
    assert_eq!(claims.nbf, Some(NOW));
    assert_eq!(claims.exp, Some(NOW + 300));
    assert_eq!(Value::Object(claims.extra), json!({"role": "admin"}));
}

// ---------------------------------------------------------------------------------------------
// Time claims that are not numbers (§10 fixes 5, 8), fractions and huge numbers.

#[tokio::test]
async fn time_claims_must_be_json_numbers() {
    let app = TestApp::new();
    for (claim, description) in [
        ("exp", "Expiration Time claim (exp) must be an integer."),
        ("iat", "Issued At claim (iat) must be an integer."),
        ("nbf", "Not Before claim (nbf) must be an integer."),
    ] {
        for value in [
            json!("x"),
            json!(""),
            json!((NOW + 100).to_string()),
            json!("1.5"),
            json!(true),
            json!(false),
            json!([]),
            json!([NOW]),
            json!({}),
            json!({"t": NOW}),
        ] {
            let reply = app.protected(&token(&with_claim(claim, value))).await;
            assert_invalid_token(&reply, description);
        }
    }
}

#[tokio::test]
async fn fractional_time_claims_truncate() {
    let app = TestApp::new();
    let now = NOW as f64;
    // iat NOW + 10.9 truncates to NOW + 10: within the leeway (rounding would refuse it).
    assert_user(
        &app.protected(&token(&with_claim("iat", json!(now + 10.9))))
            .await,
        1,
    );
    assert_invalid_token(
        &app.protected(&token(&with_claim("iat", json!(now + 11.0))))
            .await,
        "Issued At claim (iat) cannot be in the future.",
    );
    assert_user(
        &app.protected(&token(&with_claim("nbf", json!(now + 10.9))))
            .await,
        1,
    );
    // exp NOW - 10.1 truncates to NOW - 11: expired (rounding or ceiling would accept it).
    assert_invalid_token(
        &app.protected(&token(&with_claim("exp", json!(now - 10.1))))
            .await,
        "Signature has expired",
    );
    assert_user(
        &app.protected(&token(&with_claim("exp", json!(now - 9.9))))
            .await,
        1,
    );
}

#[tokio::test]
async fn huge_time_claims_are_far_future_or_far_past() {
    let app = TestApp::new();
    let with_raw = |claim: &str, number: &str| {
        let mut claims = claims_for(&json!(1));
        claims[claim] = json!("PLACEHOLDER");
        sign_json(
            HS256_HEADER,
            &claims.to_string().replace("\"PLACEHOLDER\"", number),
        )
    };
    for number in [
        "1e300",
        "1.7976931348623157e308",
        "18446744073709551615",
        "9223372036854775807",
        "9223372036854775808",
        "100000000000000000000000000000",
    ] {
        assert_user(&app.protected(&with_raw("exp", number)).await, 1);
        assert_invalid_token(
            &app.protected(&with_raw("iat", number)).await,
            "Issued At claim (iat) cannot be in the future.",
        );
        assert_invalid_token(
            &app.protected(&with_raw("nbf", number)).await,
            "The token is not yet valid (nbf)",
        );
    }
    for number in [
        "-1e300",
        "-1.7976931348623157e308",
        "-9223372036854775808",
        "-9223372036854775809",
        "-100000000000000000000000000000",
    ] {
        assert_invalid_token(
            &app.protected(&with_raw("exp", number)).await,
            "Signature has expired",
        );
        assert_user(&app.protected(&with_raw("iat", number)).await, 1);
        assert_user(&app.protected(&with_raw("nbf", number)).await, 1);
    }
    for number in ["0", "-0", "0.0", "1e-300", "-1e-300"] {
        assert_invalid_token(
            &app.protected(&with_raw("exp", number)).await,
            "Signature has expired",
        );
    }
}

// ---------------------------------------------------------------------------------------------
// Strict parsing (§10 fixes 10, 11, 12, 16).

#[tokio::test]
async fn a_crit_header_is_refused() {
    let app = TestApp::new();
    let payload = claims_for(&json!(1)).to_string();
    for crit in [r"[]", r#"["exp"]"#, r#"["b64"]"#, r#""x""#, "null", "{}"] {
        let header = format!(r#"{{"typ":"JWT","alg":"HS256","crit":{crit}}}"#);
        let reply = app.protected(&sign_json(&header, &payload)).await;
        assert_invalid_token(&reply, "Unsupported critical header");
    }
}

/// A token, signed HS256 with the secret, for which `pick` finds a segment: tries claims with
/// an `n` of 0, 1, 2... and returns the first token whose segment `index` satisfies `pick`.
fn token_whose_segment(index: usize, pick: impl Fn(&str) -> bool) -> String {
    (0..10_000)
        .map(|n| {
            let mut claims = claims_for(&json!(1));
            // `~` and `?` are the ASCII bytes whose bits make base64's `-` and `_`.
            let filler = ["", "~", "~~", "?", "??", "~?"][n % 6];
            claims["n"] = json!(format!("{filler}{n}"));
            let header = format!(r#"{{"typ":"JWT","alg":"HS256","kid":"{filler}{n}"}}"#);
            sign_json(&header, &claims.to_string())
        })
        .find(|token| pick(token.split('.').nth(index).unwrap()))
        .expect("a token with such a segment")
}

fn has_url_safe_chars(segment: &str) -> bool {
    segment.contains(['-', '_'])
}

fn to_standard_alphabet(segment: &str) -> String {
    segment.replace('-', "+").replace('_', "/")
}

/// `segment` with the last character's unused low bit set: same bytes for a lenient decoder.
fn with_trailing_bit(segment: &str) -> String {
    const ALPHABET: &str = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut chars = segment.to_owned();
    let last = chars.pop().unwrap();
    let index = ALPHABET.find(last).unwrap();
    assert_eq!(index & 1, 0, "canonical: unused bits are zero");
    chars.push(ALPHABET.as_bytes()[index | 1] as char);
    // A lenient decoder reads the same bytes.
    let lenient = base64::engine::GeneralPurpose::new(
        &base64::alphabet::URL_SAFE,
        base64::engine::GeneralPurposeConfig::new()
            .with_encode_padding(false)
            .with_decode_allow_trailing_bits(true)
            .with_decode_padding_mode(base64::engine::DecodePaddingMode::Indifferent),
    );
    assert_eq!(lenient.decode(&chars).unwrap(), unb64(segment));
    chars
}

#[tokio::test]
async fn non_canonical_header_base64_is_invalid_header_padding() {
    let app = TestApp::new();
    // Padding.
    let token = good();
    let (header, rest) = token.split_once('.').unwrap();
    let (payload, _) = rest.split_once('.').unwrap();
    let padded = format!("{header}==");
    let mut bad = vec![sign_segments(&padded, payload)];
    // The `+` / `/` alphabet.
    let token = token_whose_segment(0, has_url_safe_chars);
    let parts: Vec<&str> = token.split('.').collect();
    bad.push(sign_segments(&to_standard_alphabet(parts[0]), parts[1]));
    // Non-zero trailing bits.
    let token = token_whose_segment(0, |s| s.len() % 4 != 0);
    let parts: Vec<&str> = token.split('.').collect();
    bad.push(sign_segments(&with_trailing_bit(parts[0]), parts[1]));
    // A character appended (a length no encoding has).
    bad.push(sign_segments(&format!("{header}A"), payload));
    for token in bad {
        assert_invalid_token(&app.protected(&token).await, "Invalid header padding");
    }
}

#[tokio::test]
async fn non_canonical_payload_base64_is_invalid_payload_padding() {
    let app = TestApp::new();
    let token = token_whose_segment(1, |s| s.len() % 4 != 0);
    let parts: Vec<&str> = token.split('.').collect();
    let mut bad = vec![
        sign_segments(parts[0], &format!("{}=", parts[1])),
        sign_segments(parts[0], &with_trailing_bit(parts[1])),
    ];
    let token = token_whose_segment(1, has_url_safe_chars);
    let parts: Vec<&str> = token.split('.').collect();
    bad.push(sign_segments(parts[0], &to_standard_alphabet(parts[1])));
    // A fourth segment lands in the payload (PyJWT's rsplit then split).
    bad.push(format!("{}.x", good()));
    for token in bad {
        assert_invalid_token(&app.protected(&token).await, "Invalid payload padding");
    }
}

#[tokio::test]
async fn non_canonical_signature_base64_is_invalid_crypto_padding() {
    let app = TestApp::new();
    let token = good();
    let (input, signature) = token.rsplit_once('.').unwrap();
    let mut bad = vec![
        format!("{input}.{signature}="),
        format!("{input}.{signature}=="),
        format!("{input}.{}", with_trailing_bit(signature)),
        format!("{input}.{signature}AA"),
        format!("{input}.{signature}!"),
    ];
    let token = token_whose_segment(2, has_url_safe_chars);
    let (input, signature) = token.rsplit_once('.').unwrap();
    bad.push(format!("{input}.{}", to_standard_alphabet(signature)));
    for token in bad {
        assert_invalid_token(&app.protected(&token).await, "Invalid crypto padding");
    }
}

#[tokio::test]
async fn duplicate_json_members_are_refused() {
    let app = TestApp::new();
    let payload = claims_for(&json!(1)).to_string();
    for header in [
        r#"{"alg":"HS256","alg":"HS256"}"#,
        r#"{"alg":"none","alg":"HS256"}"#,
        r#"{"alg":"HS256","typ":"JWT","typ":"JWT"}"#,
        r#"{"alg":"HS256","jwk":{"k":"a","k":"b"}}"#,
    ] {
        let reply = app.protected(&sign_json(header, &payload)).await;
        assert_invalid_token_prefix(&reply, "Invalid header string: ");
    }
    // The same name spelled with an escape is the same member.
    let reply = app
        .protected(&sign_json(r#"{"alg":"HS256","al\u0067":"none"}"#, &payload))
        .await;
    assert_invalid_token_prefix(&reply, "Invalid header string: ");
    let exp = NOW + 300;
    for payload in [
        format!(r#"{{"identity":2,"identity":1,"iat":{NOW},"nbf":{NOW},"exp":{exp}}}"#),
        format!(r#"{{"identity":2,"identit\u0079":1,"iat":{NOW},"nbf":{NOW},"exp":{exp}}}"#),
        format!(r#"{{"identity":1,"iat":{NOW},"nbf":{NOW},"exp":{exp},"exp":{exp}}}"#),
        format!(r#"{{"identity":1,"iat":{NOW},"nbf":{NOW},"exp":{exp},"x":{{"a":1,"a":2}}}}"#),
    ] {
        let reply = app.protected(&sign_json(HS256_HEADER, &payload)).await;
        assert_invalid_token_prefix(&reply, "Invalid payload string: ");
    }
}

/// A valid token for user 1 exactly `len` bytes long (padded with an extra claim).
fn token_of_length(len: usize) -> String {
    // The payload's base64 is 4/3 of its bytes: start a little below.
    (len * 3 / 4 - 300..len)
        .map(|pad| {
            let mut claims = claims_for(&json!(1));
            claims["pad"] = json!("p".repeat(pad));
            token(&claims)
        })
        .find(|token| token.len() >= len)
        .filter(|token| token.len() == len)
        .expect("a token of that length")
}

#[tokio::test]
async fn tokens_up_to_8_kib_are_read() {
    let app = TestApp::new();
    let token = token_of_length(8 * 1024);
    assert_user(&app.protected(&token).await, 1);
}

#[tokio::test]
async fn tokens_over_8_kib_are_too_large() {
    let app = TestApp::new();
    let token = token_of_length(8 * 1024 + 1);
    assert_invalid_token(&app.protected(&token).await, "Token too large");
    // Before any other check.
    assert_invalid_token(&app.protected(&"a".repeat(9000)).await, "Token too large");
    assert_invalid_token(
        &app.protected(&format!("{}.!!.!!", "!".repeat(9000))).await,
        "Token too large",
    );
}

fn nested(depth: usize) -> String {
    format!("{}1{}", "[".repeat(depth), "]".repeat(depth))
}

#[tokio::test]
async fn json_nested_32_levels_is_read() {
    let app = TestApp::new();
    // The payload object is level 1; 31 arrays make 32.
    let exp = NOW + 300;
    let payload = format!(
        r#"{{"identity":1,"iat":{NOW},"nbf":{NOW},"exp":{exp},"deep":{}}}"#,
        nested(31)
    );
    assert_user(&app.protected(&sign_json(HS256_HEADER, &payload)).await, 1);
    let header = format!(r#"{{"typ":"JWT","alg":"HS256","x":{}}}"#, nested(31));
    let payload = claims_for(&json!(1)).to_string();
    assert_user(&app.protected(&sign_json(&header, &payload)).await, 1);
}

#[tokio::test]
async fn json_nested_deeper_than_32_levels_is_refused() {
    let app = TestApp::new();
    let exp = NOW + 300;
    let payload = format!(
        r#"{{"identity":1,"iat":{NOW},"nbf":{NOW},"exp":{exp},"deep":{}}}"#,
        nested(32)
    );
    assert_invalid_token(
        &app.protected(&sign_json(HS256_HEADER, &payload)).await,
        "Token too deeply nested",
    );
    let header = format!(r#"{{"typ":"JWT","alg":"HS256","x":{}}}"#, nested(32));
    let payload = claims_for(&json!(1)).to_string();
    assert_invalid_token(
        &app.protected(&sign_json(&header, &payload)).await,
        "Token too deeply nested",
    );
    // Thousands of levels, unbalanced, in the header (unsigned) and in a signed payload.
    let header = b64("[".repeat(5000));
    assert_invalid_token(
        &app.protected(&format!("{header}.e30.e30")).await,
        "Token too deeply nested",
    );
    let token = sign_json(HS256_HEADER, &"{\"a\":[".repeat(1000));
    assert_invalid_token(&app.protected(&token).await, "Token too deeply nested");
}

// ---------------------------------------------------------------------------------------------
// Extractors and routing.

#[tokio::test]
async fn every_401_carries_the_challenge() {
    let app = TestApp::new();
    let kit = app.kit();
    let expired = kit.expired(&user(1));
    let unknown = kit.valid(&User {
        id: 3,
        username: "ghost".to_owned(),
    });
    for authorization in [
        None,
        Some("Bearer x".to_owned()),
        Some("JWT".to_owned()),
        Some("JWT a b".to_owned()),
        Some("JWT abc".to_owned()),
        Some(format!("JWT {expired}")),
        Some(format!("JWT {unknown}")),
    ] {
        for path in ["/protected", "/optional", "/claims", "/group/a"] {
            // Optional auth without a token, and claims of an unknown user, are not refused.
            let anonymous = path == "/optional" && authorization.is_none();
            let claims_only =
                path == "/claims" && authorization.as_deref() == Some(&format!("JWT {unknown}"));
            if anonymous || claims_only {
                continue;
            }
            let reply = app.get(path, authorization.as_deref()).await;
            assert_eq!(reply.status, StatusCode::UNAUTHORIZED, "{path}");
            assert_eq!(reply.challenge(), Some(CHALLENGE), "{path}");
        }
    }
}

#[tokio::test]
async fn head_on_a_protected_get_route_is_served_like_get() {
    let app = TestApp::new();
    let head = |authorization: Option<String>| {
        let mut request = Request::head("/protected");
        if let Some(value) = authorization {
            request = request.header(AUTHORIZATION, value);
        }
        request.body(Body::empty()).unwrap()
    };
    let reply = app.send(head(None)).await;
    assert_eq!(reply.status, StatusCode::UNAUTHORIZED);
    assert_eq!(reply.challenge(), Some(CHALLENGE));
    assert!(reply.body.is_empty());
    let reply = app.send(head(Some(format!("JWT {}", good())))).await;
    assert_eq!(reply.status, StatusCode::OK);
    assert!(reply.body.is_empty());
    let reply = app.send(head(Some("JWT abc".to_owned()))).await;
    assert_eq!(reply.status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn options_and_other_methods_on_a_protected_route_are_405() {
    let app = TestApp::new();
    for method in ["OPTIONS", "POST", "PUT", "DELETE"] {
        let request = Request::builder()
            .method(method)
            .uri("/protected")
            .header(AUTHORIZATION, format!("JWT {}", good()))
            .body(Body::empty())
            .unwrap();
        let reply = app.send(request).await;
        assert_error(&reply, 405, "Method Not Allowed", "Method not allowed");
        assert_eq!(reply.header("allow"), Some("GET,HEAD"), "{method}");
    }
}

#[tokio::test]
async fn optional_identity_is_none_without_a_token() {
    let app = TestApp::new();
    for authorization in [None, Some(""), Some("   ")] {
        let reply = app.get("/optional", authorization).await;
        assert_eq!(reply.status, StatusCode::OK);
        assert_eq!(reply.json(), json!({"user": null}));
        assert_eq!(reply.challenge(), None);
    }
    let reply = app.get("/optional", Some(&format!("JWT {}", good()))).await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(reply.json(), json!({"user": "user1"}));
}

#[tokio::test]
async fn optional_identity_with_a_bad_token_is_still_401() {
    let app = TestApp::new();
    let reply = app.get("/optional", Some("JWT abc")).await;
    assert_invalid_token(&reply, "Not enough segments");
    let reply = app.get("/optional", Some("Bearer abc")).await;
    assert_bad_header(&reply, "Unsupported authorization type");
    let reply = app.get("/optional", Some("JWT")).await;
    assert_bad_header(&reply, "Token missing");
    let kit = app.kit();
    let reply = app
        .send(kit.with_token(get_request("/optional", None), &kit.expired(&user(1))))
        .await;
    assert_invalid_token(&reply, "Signature has expired");
    let reply = app
        .send(kit.with_token(get_request("/optional", None), &kit.tampered(&user(1))))
        .await;
    assert_invalid_token(&reply, "Signature verification failed");
    let unknown = token(&claims_for(&json!(3)));
    let reply = app.get("/optional", Some(&format!("JWT {unknown}"))).await;
    assert_unknown_identity(&reply);
    let value = format!("JWT {}", good());
    let reply = app
        .send(get_with_raw_authorization(
            "/optional",
            &[value.as_bytes(), value.as_bytes()],
        ))
        .await;
    assert_bad_header(&reply, "Multiple authorization headers");
}

#[tokio::test]
async fn current_claims_reads_the_token_without_loading_the_user() {
    let app = TestApp::new();
    let mut payload = claims_for(&json!(3));
    payload["role"] = json!("admin");
    let reply = app
        .get("/claims", Some(&format!("JWT {}", token(&payload))))
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text());
    assert_eq!(
        reply.json(),
        json!({"identity": 3, "iat": NOW, "nbf": NOW, "exp": NOW + 300, "extra": {"role": "admin"}})
    );
    assert_missing_token(&app.get("/claims", None).await);
    let expired = token(&with_claim("exp", json!(NOW - 100)));
    assert_invalid_token(
        &app.get("/claims", Some(&format!("JWT {expired}"))).await,
        "Signature has expired",
    );
    // An identity that is not of the id type names no user, even here.
    let string_id = token(&claims_for(&json!("1")));
    assert_unknown_identity(&app.get("/claims", Some(&format!("JWT {string_id}"))).await);
}

#[tokio::test]
async fn a_route_group_guarded_by_the_extractor() {
    let app = TestApp::new();
    let kit = app.kit();
    assert_missing_token(&app.get("/group/a", None).await);
    assert_invalid_token(
        &app.get("/group/a", Some("JWT abc")).await,
        "Not enough segments",
    );
    let unknown = token(&claims_for(&json!(3)));
    assert_unknown_identity(&app.get("/group/a", Some(&format!("JWT {unknown}"))).await);
    for (token, description) in [
        (kit.expired(&user(2)), "Signature has expired"),
        (
            kit.not_yet_valid(&user(2)),
            "The token is not yet valid (nbf)",
        ),
        (kit.wrong_key(&user(2)), "Signature verification failed"),
        (
            kit.alg_none(&user(2)),
            "The specified alg value is not allowed",
        ),
    ] {
        let reply = kit.get_with_token(&app.router, "/group/a", &token).await;
        assert_eq!(reply.status, StatusCode::UNAUTHORIZED);
        assert_eq!(
            reply.json(),
            common::error_body(401, "Invalid token", description)
        );
        assert_eq!(reply.header("www-authenticate"), Some(CHALLENGE));
    }
    let reply = kit
        .get_with_token(&app.router, "/group/a", &kit.valid(&user(2)))
        .await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(reply.json(), json!({"group": "a"}));
}

#[tokio::test]
async fn public_routes_ignore_tokens() {
    let app = TestApp::new();
    for authorization in [None, Some("JWT abc"), Some("Bearer x")] {
        let reply = app.get("/public", authorization).await;
        assert_eq!(reply.status, StatusCode::OK);
        assert_eq!(reply.json(), json!({"ok": true}));
    }
}
