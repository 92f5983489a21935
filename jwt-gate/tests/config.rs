//! Every setting, at its Flask-JWT default and changed, seen through HTTP; live changes with
//! `update_config`; the keys and algorithms; what the builder refuses; settings from variables.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a test fails by panicking; helpers outside #[test] fns too"
)]

mod common;

use std::collections::HashMap;
use std::time::Duration;

use axum::http::StatusCode;
use common::{
    CHALLENGE, HS256_HEADER, NOW, SECRET, TestApp, assert_error, assert_invalid_token, assert_user,
    b64, claims_for, error_body, segment_json, sign_segments_with, token, with_claim,
    without_claim,
};
use jwt_gate::{Algorithm, ConfigError, Jwt, JwtConfig, Keys};
use serde_json::json;

fn setting_of(error: &ConfigError) -> &'static str {
    match error {
        ConfigError::Invalid { setting, .. } => setting,
        other => panic!("not an invalid setting: {other:?}"),
    }
}

/// Asserts a 401 in the default shape with `challenge`.
#[track_caller]
fn assert_401_with(reply: &common::Reply, error: &str, description: &str, challenge: &str) {
    assert_eq!(reply.status, StatusCode::UNAUTHORIZED, "{}", reply.text());
    assert_eq!(reply.json(), error_body(401, error, description));
    assert_eq!(reply.challenge(), Some(challenge));
}

#[test]
fn the_defaults_are_flask_jwts() {
    let config = JwtConfig::default();
    assert_eq!(config.auth_url_rule, "/auth");
    assert_eq!(config.expiration_delta, Duration::from_secs(300));
    assert_eq!(config.leeway, Duration::from_secs(10));
    assert_eq!(config.not_before_delta, Duration::ZERO);
    assert_eq!(config.auth_username_key, "username");
    assert_eq!(config.auth_password_key, "password");
    assert_eq!(config.auth_header_prefix, "JWT");
    assert_eq!(config.default_realm, "Login Required");
    assert_eq!(config.verify_claims, ["signature", "exp", "nbf", "iat"]);
    assert_eq!(config.required_claims, ["exp", "iat", "nbf"]);
    assert_eq!(config.max_body_bytes, 64 * 1024);
    assert_eq!(config.challenge(), CHALLENGE);
}

// ---------------------------------------------------------------------------------------------
// auth_url_rule

#[tokio::test]
async fn auth_url_rule_default_is_post_auth() {
    let app = TestApp::new();
    assert_eq!(
        app.post_json("/auth", r#"{"username":"user1","password":"abcxyz"}"#)
            .await
            .status,
        StatusCode::OK
    );
    let reply = app
        .post_json("/login", r#"{"username":"user1","password":"abcxyz"}"#)
        .await;
    assert_error(&reply, 404, "Not Found", "Not found");
}

#[tokio::test]
async fn auth_url_rule_moves_the_login() {
    for rule in ["/login", "/api/v1/auth", "/auth/"] {
        let app = TestApp::with_config(|c| c.auth_url_rule = rule.to_owned());
        let body = r#"{"username":"user1","password":"abcxyz"}"#;
        let reply = app.post_json(rule, body).await;
        assert_eq!(reply.status, StatusCode::OK, "{rule}");
        assert!(reply.json()["access_token"].is_string());
        let reply = app.post_json("/auth", body).await;
        assert_error(&reply, 404, "Not Found", "Not found");
        let reply = app.get(rule, None).await;
        assert_error(&reply, 405, "Method Not Allowed", "Method not allowed");
    }
}

// ---------------------------------------------------------------------------------------------
// expiration_delta, leeway, not_before_delta

#[tokio::test]
async fn expiration_delta_sets_exp() {
    let app = TestApp::with_config(|c| c.expiration_delta = Duration::from_secs(1800));
    let token = app.login("user1", "abcxyz").await;
    assert_eq!(
        segment_json(&token, 1),
        json!({"identity": 1, "iat": NOW, "nbf": NOW, "exp": NOW + 1800})
    );
    app.clock.advance(Duration::from_secs(1810));
    assert_user(&app.protected(&token).await, 1);
    app.clock.advance(Duration::from_secs(1));
    assert_invalid_token(&app.protected(&token).await, "Signature has expired");
}

#[tokio::test]
async fn expiration_delta_default_is_300_seconds() {
    let app = TestApp::new();
    let token = app.login("user1", "abcxyz").await;
    assert_eq!(segment_json(&token, 1)["exp"], json!(NOW + 300));
    app.clock.advance(Duration::from_secs(311));
    assert_invalid_token(&app.protected(&token).await, "Signature has expired");
}

#[tokio::test]
async fn leeway_zero_is_exact() {
    let app = TestApp::with_config(|c| c.leeway = Duration::ZERO);
    let token = app.login("user1", "abcxyz").await;
    app.clock.advance(Duration::from_secs(300));
    assert_user(&app.protected(&token).await, 1);
    app.clock.advance(Duration::from_secs(1));
    assert_invalid_token(&app.protected(&token).await, "Signature has expired");

    let app = TestApp::with_config(|c| c.leeway = Duration::ZERO);
    assert_user(&app.protected(&token_at("exp", NOW)).await, 1);
    assert_user(&app.protected(&token_at("iat", NOW)).await, 1);
    assert_invalid_token(
        &app.protected(&token_at("iat", NOW + 1)).await,
        "Issued At claim (iat) cannot be in the future.",
    );
    assert_invalid_token(
        &app.protected(&token_at("nbf", NOW + 1)).await,
        "The token is not yet valid (nbf)",
    );
    assert_invalid_token(
        &app.protected(&token_at("exp", NOW - 1)).await,
        "Signature has expired",
    );
}

/// Flask-JWT's claims for user 1 at NOW with `claim` at `at`.
fn token_at(claim: &str, at: i64) -> String {
    token(&with_claim(claim, json!(at)))
}

#[tokio::test]
async fn leeway_widened_applies_to_exp_nbf_and_iat() {
    let app = TestApp::with_config(|c| c.leeway = Duration::from_secs(60));
    assert_user(&app.protected(&token_at("exp", NOW - 60)).await, 1);
    assert_invalid_token(
        &app.protected(&token_at("exp", NOW - 61)).await,
        "Signature has expired",
    );
    assert_user(&app.protected(&token_at("nbf", NOW + 60)).await, 1);
    assert_invalid_token(
        &app.protected(&token_at("nbf", NOW + 61)).await,
        "The token is not yet valid (nbf)",
    );
    assert_user(&app.protected(&token_at("iat", NOW + 60)).await, 1);
    assert_invalid_token(
        &app.protected(&token_at("iat", NOW + 61)).await,
        "Issued At claim (iat) cannot be in the future.",
    );
}

#[tokio::test]
async fn not_before_delta_default_is_zero() {
    let app = TestApp::new();
    let token = app.login("user1", "abcxyz").await;
    let claims = segment_json(&token, 1);
    assert_eq!(claims["nbf"], claims["iat"]);
}

#[tokio::test]
async fn not_before_delta_sets_nbf() {
    let app = TestApp::with_config(|c| c.not_before_delta = Duration::from_secs(30));
    let token = app.login("user1", "abcxyz").await;
    assert_eq!(
        segment_json(&token, 1),
        json!({"identity": 1, "iat": NOW, "nbf": NOW + 30, "exp": NOW + 300})
    );
    assert_invalid_token(
        &app.protected(&token).await,
        "The token is not yet valid (nbf)",
    );
    app.clock.advance(Duration::from_secs(19));
    assert_invalid_token(
        &app.protected(&token).await,
        "The token is not yet valid (nbf)",
    );
    app.clock.advance(Duration::from_secs(1));
    assert_user(&app.protected(&token).await, 1);

    // Within the leeway, a short delay is usable at once.
    let app = TestApp::with_config(|c| c.not_before_delta = Duration::from_secs(5));
    let token = app.login("user1", "abcxyz").await;
    assert_eq!(segment_json(&token, 1)["nbf"], json!(NOW + 5));
    assert_user(&app.protected(&token).await, 1);
}

// ---------------------------------------------------------------------------------------------
// auth_username_key, auth_password_key

#[tokio::test]
async fn credential_keys_are_configurable() {
    let app = TestApp::with_config(|c| {
        c.auth_username_key = "email".to_owned();
        c.auth_password_key = "secret".to_owned();
    });
    let reply = app
        .post_json("/auth", r#"{"email": "user2", "secret": "xyzabc"}"#)
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text());
    let token = reply.json()["access_token"].as_str().unwrap().to_owned();
    assert_user(&app.protected(&token).await, 2);
    for body in [
        r#"{"username": "user2", "password": "xyzabc"}"#,
        r#"{"email": "user2", "password": "xyzabc"}"#,
        r#"{"username": "user2", "secret": "xyzabc"}"#,
        r#"{"email": "user2", "secret": "xyzabc", "password": "xyzabc"}"#,
        r#"{"email": "user2"}"#,
    ] {
        let reply = app.post_json("/auth", body).await;
        assert_error(&reply, 401, "Bad Request", "Invalid credentials");
    }
}

#[tokio::test]
async fn credential_keys_default_to_username_and_password() {
    let app = TestApp::new();
    let reply = app
        .post_json("/auth", r#"{"email": "user2", "secret": "xyzabc"}"#)
        .await;
    assert_error(&reply, 401, "Bad Request", "Invalid credentials");
    let reply = app
        .post_json("/auth", r#"{"username": "user2", "password": "xyzabc"}"#)
        .await;
    assert_eq!(reply.status, StatusCode::OK);
}

// ---------------------------------------------------------------------------------------------
// auth_header_prefix, default_realm

#[tokio::test]
async fn auth_header_prefix_changes_the_scheme_and_the_challenge() {
    let app = TestApp::with_config(|c| c.auth_header_prefix = "Bearer".to_owned());
    let challenge = r#"Bearer realm="Login Required""#;
    let token = app.login("user1", "abcxyz").await;
    for scheme in ["Bearer", "bearer", "BEARER"] {
        let reply = app
            .get("/protected", Some(&format!("{scheme} {token}")))
            .await;
        assert_user(&reply, 1);
    }
    let reply = app.get("/protected", Some(&format!("JWT {token}"))).await;
    assert_401_with(
        &reply,
        "Invalid JWT header",
        "Unsupported authorization type",
        challenge,
    );
    let reply = app.get("/protected", Some("Bearer")).await;
    assert_401_with(&reply, "Invalid JWT header", "Token missing", challenge);
    let reply = app.get("/protected", None).await;
    assert_401_with(
        &reply,
        "Authorization Required",
        "Request does not contain an access token",
        challenge,
    );
    let reply = app.get("/protected", Some("Bearer abc")).await;
    assert_401_with(&reply, "Invalid token", "Not enough segments", challenge);
    let unknown = common::token(&claims_for(&json!(3)));
    let reply = app
        .get("/protected", Some(&format!("Bearer {unknown}")))
        .await;
    assert_401_with(&reply, "Invalid JWT", "User does not exist", challenge);
    let reply = app
        .post_json("/auth", r#"{"username": "user1", "password": "no"}"#)
        .await;
    assert_401_with(&reply, "Bad Request", "Invalid credentials", challenge);
}

#[tokio::test]
async fn default_realm_names_the_challenge_realm() {
    let app = TestApp::with_config(|c| c.default_realm = "Stores API".to_owned());
    let challenge = r#"JWT realm="Stores API""#;
    let reply = app.get("/protected", None).await;
    assert_401_with(
        &reply,
        "Authorization Required",
        "Request does not contain an access token",
        challenge,
    );
    let reply = app.get("/protected", Some("JWT abc")).await;
    assert_401_with(&reply, "Invalid token", "Not enough segments", challenge);
    let reply = app
        .post_json("/auth", r#"{"username": "user1", "password": "no"}"#)
        .await;
    assert_401_with(&reply, "Bad Request", "Invalid credentials", challenge);
    let reply = app.get("/group/a", None).await;
    assert_eq!(reply.challenge(), Some(challenge));
}

// ---------------------------------------------------------------------------------------------
// required_claims, verify_claims

#[tokio::test]
async fn required_claims_narrowed_accepts_tokens_without_the_others() {
    let app =
        TestApp::with_config(|c| c.required_claims = vec!["exp".to_owned(), "iat".to_owned()]);
    assert_user(&app.protected(&token(&without_claim("nbf"))).await, 1);
    assert_invalid_token(
        &app.protected(&token(&without_claim("iat"))).await,
        "Token is missing the \"iat\" claim",
    );
    assert_invalid_token(
        &app.protected(&token(&without_claim("exp"))).await,
        "Token is missing the \"exp\" claim",
    );

    let app = TestApp::with_config(|c| c.required_claims = vec!["exp".to_owned()]);
    let only_exp = json!({"identity": 1, "exp": NOW + 5});
    assert_user(&app.protected(&token(&only_exp)).await, 1);
    // A present claim is still checked.
    let future_nbf = json!({"identity": 1, "exp": NOW + 50, "nbf": NOW + 20});
    assert_invalid_token(
        &app.protected(&token(&future_nbf)).await,
        "The token is not yet valid (nbf)",
    );
    let expired = json!({"identity": 1, "exp": NOW - 11});
    assert_invalid_token(
        &app.protected(&token(&expired)).await,
        "Signature has expired",
    );
    // `null` where it is not required is still not a number.
    let null_nbf = json!({"identity": 1, "exp": NOW + 5, "nbf": null});
    assert_invalid_token(
        &app.protected(&token(&null_nbf)).await,
        "Not Before claim (nbf) must be an integer.",
    );
}

#[tokio::test]
async fn required_claims_default_requires_all_three() {
    let app = TestApp::new();
    assert_invalid_token(
        &app.protected(&token(&without_claim("nbf"))).await,
        "Token is missing the \"nbf\" claim",
    );
}

#[tokio::test]
async fn verify_claims_can_only_switch_checks_on() {
    for verify in [vec![], vec!["signature".to_owned()], vec!["iat".to_owned()]] {
        let app = TestApp::with_config(|c| c.verify_claims = verify.clone());
        assert_invalid_token(
            &app.protected(&token_at("exp", NOW - 11)).await,
            "Signature has expired",
        );
        assert_invalid_token(
            &app.protected(&token_at("nbf", NOW + 11)).await,
            "The token is not yet valid (nbf)",
        );
        assert_invalid_token(
            &app.protected(&token_at("iat", NOW + 11)).await,
            "Issued At claim (iat) cannot be in the future.",
        );
        let payload = b64(claims_for(&json!(1)).to_string());
        let forged =
            sign_segments_with("HS256", common::OTHER_SECRET, &b64(HS256_HEADER), &payload);
        assert_invalid_token(
            &app.protected(&forged).await,
            "Signature verification failed",
        );
        let none = format!("{}.{payload}.", b64(r#"{"alg":"none"}"#));
        assert_invalid_token(
            &app.protected(&none).await,
            "The specified alg value is not allowed",
        );
        assert_user(&app.protected(&token(&claims_for(&json!(1)))).await, 1);
    }
}

// ---------------------------------------------------------------------------------------------
// max_body_bytes

#[tokio::test]
async fn max_body_bytes_limits_the_login_body() {
    let app = TestApp::with_config(|c| c.max_body_bytes = 100);
    let body = |len: usize| {
        let mut body = String::from(r#"{"username":"user1","password":"abcxyz"}"#);
        body.push_str(&" ".repeat(len - body.len()));
        body
    };
    assert_eq!(
        app.post_json("/auth", &body(100)).await.status,
        StatusCode::OK
    );
    let reply = app.post_json("/auth", &body(101)).await;
    assert_error(&reply, 413, "Payload Too Large", "Request body too large");
}

// ---------------------------------------------------------------------------------------------
// update_config: live settings

#[tokio::test]
async fn update_config_takes_effect_on_the_next_request() {
    let app = TestApp::new();
    let old = app.login("user1", "abcxyz").await;

    app.jwt
        .update_config(|c| {
            c.expiration_delta = Duration::from_secs(60);
            c.not_before_delta = Duration::from_secs(1);
        })
        .unwrap();
    assert_eq!(app.jwt.config().expiration_delta, Duration::from_secs(60));
    let new = app.login("user1", "abcxyz").await;
    assert_eq!(segment_json(&new, 1)["exp"], json!(NOW + 60));
    assert_eq!(segment_json(&new, 1)["nbf"], json!(NOW + 1));
    assert_eq!(segment_json(&old, 1)["exp"], json!(NOW + 300));

    // Leeway: a token 5 s past its expiry is refused as soon as the leeway drops to 0.
    app.clock.advance(Duration::from_secs(305));
    assert_user(&app.protected(&old).await, 1);
    app.jwt
        .update_config(|c| c.leeway = Duration::ZERO)
        .unwrap();
    assert_invalid_token(&app.protected(&old).await, "Signature has expired");
}

#[tokio::test]
async fn update_config_changes_keys_prefix_and_realm_live() {
    let app = TestApp::new();
    let token = app.login("user1", "abcxyz").await;
    app.jwt
        .update_config(|c| {
            c.auth_header_prefix = "Bearer".to_owned();
            c.default_realm = "api".to_owned();
            c.auth_username_key = "email".to_owned();
        })
        .unwrap();
    let challenge = r#"Bearer realm="api""#;
    assert_user(
        &app.get("/protected", Some(&format!("Bearer {token}")))
            .await,
        1,
    );
    let reply = app.protected(&token).await;
    assert_401_with(
        &reply,
        "Invalid JWT header",
        "Unsupported authorization type",
        challenge,
    );
    let reply = app
        .post_json("/auth", r#"{"username":"user1","password":"abcxyz"}"#)
        .await;
    assert_401_with(&reply, "Bad Request", "Invalid credentials", challenge);
    let reply = app
        .post_json("/auth", r#"{"email":"user1","password":"abcxyz"}"#)
        .await;
    assert_eq!(reply.status, StatusCode::OK);
}

#[tokio::test]
async fn update_config_changes_the_body_limit_live() {
    let app = TestApp::new();
    app.jwt.update_config(|c| c.max_body_bytes = 10).unwrap();
    let reply = app
        .post_json("/auth", r#"{"username":"user1","password":"abcxyz"}"#)
        .await;
    assert_error(&reply, 413, "Payload Too Large", "Request body too large");
}

#[tokio::test]
async fn update_config_refuses_moving_a_mounted_login() {
    let app = TestApp::new();
    let error = app
        .jwt
        .update_config(|c| {
            c.auth_url_rule = "/login".to_owned();
            c.expiration_delta = Duration::from_secs(60);
        })
        .unwrap_err();
    assert_eq!(error, ConfigError::UrlRuleFixed);
    // Nothing changed.
    assert_eq!(*app.jwt.config(), JwtConfig::default());
    let token = app.login("user1", "abcxyz").await;
    assert_eq!(segment_json(&token, 1)["exp"], json!(NOW + 300));
    // Re-stating the same rule is no change.
    app.jwt
        .update_config(|c| c.auth_url_rule = "/auth".to_owned())
        .unwrap();
}

#[tokio::test]
async fn update_config_may_move_the_login_before_it_is_mounted() {
    let clock = common::clock();
    let jwt = common::builder(&clock).build().unwrap();
    jwt.update_config(|c| c.auth_url_rule = "/login".to_owned())
        .unwrap();
    let router = common::router(&jwt);
    let reply = common::send(
        &router,
        common::post(
            "/login",
            Some("application/json"),
            r#"{"username":"user1","password":"abcxyz"}"#,
        ),
    )
    .await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(
        jwt.update_config(|c| c.auth_url_rule = "/auth".to_owned()),
        Err(ConfigError::UrlRuleFixed)
    );
}

#[tokio::test]
async fn update_config_refuses_invalid_settings_and_keeps_the_old_ones() {
    let app = TestApp::new();
    for (change, setting) in [
        (
            Box::new(|c: &mut JwtConfig| c.expiration_delta = Duration::ZERO) as Change,
            "JWT_EXPIRATION_DELTA",
        ),
        (
            Box::new(|c: &mut JwtConfig| c.auth_header_prefix = "JWT X".to_owned()),
            "JWT_AUTH_HEADER_PREFIX",
        ),
        (
            Box::new(|c: &mut JwtConfig| c.default_realm = "a\"b".to_owned()),
            "JWT_DEFAULT_REALM",
        ),
        (
            Box::new(|c: &mut JwtConfig| c.required_claims.push("foo".to_owned())),
            "JWT_REQUIRED_CLAIMS",
        ),
    ] {
        let error = app.jwt.update_config(change).unwrap_err();
        assert_eq!(setting_of(&error), setting);
        assert_eq!(*app.jwt.config(), JwtConfig::default());
    }
    assert_user(&app.protected(&app.login("user1", "abcxyz").await).await, 1);
}

// ---------------------------------------------------------------------------------------------
// Keys and algorithms

#[tokio::test]
async fn hs384_and_hs512_keys_sign_with_their_algorithm() {
    for (keys, alg) in [
        (Keys::hs384(SECRET).unwrap(), "HS384"),
        (Keys::hs512(SECRET).unwrap(), "HS512"),
        (Keys::hmac(Algorithm::HS256, SECRET).unwrap(), "HS256"),
    ] {
        let app = TestApp::with_keys(keys, |b| b);
        assert_eq!(app.jwt.keys().algorithm().as_str(), alg);
        let token = app.login("user1", "abcxyz").await;
        assert_eq!(segment_json(&token, 0), json!({"typ": "JWT", "alg": alg}));
        let (input, signature) = token.rsplit_once('.').unwrap();
        assert_eq!(signature, common::hmac_b64(alg, SECRET, input));
        assert_user(&app.protected(&token).await, 1);
        // A token minted by hand with the same algorithm is accepted too.
        let header = b64(format!(r#"{{"typ":"JWT","alg":"{alg}"}}"#));
        let payload = b64(claims_for(&json!(2)).to_string());
        let minted = sign_segments_with(alg, SECRET, &header, &payload);
        assert_user(&app.protected(&minted).await, 2);
    }
}

#[tokio::test]
async fn a_token_of_one_algorithm_is_refused_by_another() {
    let payload = b64(claims_for(&json!(1)).to_string());
    let minted = |alg: &str| {
        let header = b64(format!(r#"{{"typ":"JWT","alg":"{alg}"}}"#));
        sign_segments_with(alg, SECRET, &header, &payload)
    };
    for (keys, own) in [
        (Keys::hs256(SECRET).unwrap(), "HS256"),
        (Keys::hs384(SECRET).unwrap(), "HS384"),
        (Keys::hs512(SECRET).unwrap(), "HS512"),
    ] {
        let app = TestApp::with_keys(keys, |b| b);
        for alg in ["HS256", "HS384", "HS512"] {
            let reply = app.protected(&minted(alg)).await;
            if alg == own {
                assert_user(&reply, 1);
            } else {
                assert_invalid_token(&reply, "The specified alg value is not allowed");
            }
        }
        // The header claiming the key's algorithm over another algorithm's MAC.
        let header = b64(format!(r#"{{"typ":"JWT","alg":"{own}"}}"#));
        let other = if own == "HS512" { "HS256" } else { "HS512" };
        let input = format!("{header}.{payload}");
        let confused = format!("{input}.{}", common::hmac_b64(other, SECRET, &input));
        assert_invalid_token(
            &app.protected(&confused).await,
            "Signature verification failed",
        );
    }
}

#[test]
fn weak_secrets_are_refused() {
    for secret in ["", "short", &SECRET[..31]] {
        for result in [
            Keys::hs256(secret),
            Keys::hs384(secret),
            Keys::hs512(secret),
        ] {
            assert_eq!(setting_of(&result.unwrap_err()), "JWT_SECRET_KEY");
        }
    }
    assert!(Keys::hs256(SECRET).is_ok());
    assert!(Keys::hs256([0_u8; 32]).is_ok());
    assert_eq!(jwt_gate::MIN_SECRET_BYTES, 32);
}

#[test]
fn keys_never_show_their_secret() {
    let keys = Keys::hs256(SECRET).unwrap();
    assert!(!format!("{keys:?}").contains(SECRET));
    let clock = common::clock();
    let jwt = common::builder(&clock).build().unwrap();
    assert!(!format!("{jwt:?}").contains(SECRET));
}

// ---------------------------------------------------------------------------------------------
// The builder

#[test]
fn the_builder_refuses_missing_callbacks() {
    let keys = || Keys::hs256(SECRET).unwrap();
    let error = Jwt::<common::User>::builder(keys())
        .identity(common::identity)
        .build()
        .unwrap_err();
    assert_eq!(error, ConfigError::MissingCallback("authenticate"));
    let error = Jwt::<common::User>::builder(keys())
        .authenticate(common::authenticate)
        .build()
        .unwrap_err();
    assert_eq!(error, ConfigError::MissingCallback("identity"));
    assert!(Jwt::<common::User>::builder(keys()).build().is_err());
}

/// A change to the settings.
type Change = Box<dyn FnOnce(&mut JwtConfig)>;

#[test]
fn the_builder_refuses_unusable_settings() {
    let cases: Vec<(Change, &str)> = vec![
        (
            Box::new(|c| c.expiration_delta = Duration::ZERO),
            "JWT_EXPIRATION_DELTA",
        ),
        (
            Box::new(|c| c.expiration_delta = Duration::from_millis(1500)),
            "JWT_EXPIRATION_DELTA",
        ),
        (
            Box::new(|c| c.expiration_delta = Duration::from_secs(u64::MAX)),
            "JWT_EXPIRATION_DELTA",
        ),
        (
            Box::new(|c| c.not_before_delta = Duration::from_secs(u64::MAX)),
            "JWT_NOT_BEFORE_DELTA",
        ),
        (
            Box::new(|c| c.leeway = Duration::from_secs(u64::MAX)),
            "JWT_LEEWAY",
        ),
        (
            Box::new(|c| c.auth_url_rule = "auth".to_owned()),
            "JWT_AUTH_URL_RULE",
        ),
        (
            Box::new(|c| c.auth_url_rule = "/{id}".to_owned()),
            "JWT_AUTH_URL_RULE",
        ),
        (
            Box::new(|c| c.auth_url_rule = String::new()),
            "JWT_AUTH_URL_RULE",
        ),
        (
            Box::new(|c| c.auth_username_key = String::new()),
            "JWT_AUTH_USERNAME_KEY",
        ),
        (
            Box::new(|c| c.auth_password_key = "username".to_owned()),
            "JWT_AUTH_PASSWORD_KEY",
        ),
        (
            Box::new(|c| c.auth_header_prefix = String::new()),
            "JWT_AUTH_HEADER_PREFIX",
        ),
        (
            Box::new(|c| c.auth_header_prefix = "JWT X".to_owned()),
            "JWT_AUTH_HEADER_PREFIX",
        ),
        (
            Box::new(|c| c.default_realm = String::new()),
            "JWT_DEFAULT_REALM",
        ),
        (
            Box::new(|c| c.default_realm = "a\"b".to_owned()),
            "JWT_DEFAULT_REALM",
        ),
        (
            Box::new(|c| c.verify_claims = vec!["aud".to_owned()]),
            "JWT_VERIFY_CLAIMS",
        ),
        (
            Box::new(|c| c.required_claims = vec!["identity".to_owned()]),
            "JWT_REQUIRED_CLAIMS",
        ),
        (Box::new(|c| c.max_body_bytes = 0), "max_body_bytes"),
    ];
    for (change, setting) in cases {
        let mut config = JwtConfig::default();
        change(&mut config);
        let clock = common::clock();
        let error = common::builder(&clock).config(config).build().unwrap_err();
        assert_eq!(setting_of(&error), setting);
        assert!(error.to_string().starts_with(setting), "{error}");
    }
}

// ---------------------------------------------------------------------------------------------
// Settings from variables

fn lookup(vars: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
    let vars: HashMap<String, String> = vars
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
    move |name| vars.get(name).cloned()
}

#[tokio::test]
async fn config_from_lookup_drives_the_app() {
    let config = JwtConfig::from_lookup(lookup(&[
        ("JWT_AUTH_URL_RULE", "/login"),
        ("JWT_EXPIRATION_DELTA", "1800"),
        ("JWT_LEEWAY", "0"),
        ("JWT_NOT_BEFORE_DELTA", "0"),
        ("JWT_AUTH_USERNAME_KEY", "email"),
        ("JWT_AUTH_PASSWORD_KEY", "password"),
        ("JWT_AUTH_HEADER_PREFIX", "Bearer"),
        ("JWT_DEFAULT_REALM", "api"),
        ("JWT_VERIFY_CLAIMS", "signature,exp"),
        ("JWT_REQUIRED_CLAIMS", "exp, iat"),
    ]))
    .unwrap();
    let keys = Keys::from_lookup(lookup(&[
        ("JWT_SECRET_KEY", SECRET),
        ("JWT_ALGORITHM", "HS512"),
    ]))
    .unwrap();
    assert_eq!(keys.algorithm(), Algorithm::HS512);
    let app = TestApp::with_keys(keys, |b| b.config(config));
    let reply = app
        .post_json("/login", r#"{"email":"user1","password":"abcxyz"}"#)
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text());
    let token = reply.json()["access_token"].as_str().unwrap().to_owned();
    assert_eq!(segment_json(&token, 0)["alg"], "HS512");
    assert_eq!(segment_json(&token, 1)["exp"], json!(NOW + 1800));
    assert_user(
        &app.get("/protected", Some(&format!("Bearer {token}")))
            .await,
        1,
    );
    let reply = app.get("/protected", None).await;
    assert_eq!(reply.challenge(), Some(r#"Bearer realm="api""#));
    app.clock.advance(Duration::from_secs(1801));
    let reply = app
        .get("/protected", Some(&format!("Bearer {token}")))
        .await;
    assert_401_with(
        &reply,
        "Invalid token",
        "Signature has expired",
        r#"Bearer realm="api""#,
    );
}

#[test]
fn config_from_lookup_keeps_defaults_for_unset_or_empty_variables() {
    assert_eq!(
        JwtConfig::from_lookup(lookup(&[])).unwrap(),
        JwtConfig::default()
    );
    let empty = JwtConfig::from_lookup(lookup(&[
        ("JWT_AUTH_URL_RULE", ""),
        ("JWT_EXPIRATION_DELTA", ""),
        ("JWT_AUTH_HEADER_PREFIX", ""),
    ]))
    .unwrap();
    assert_eq!(empty, JwtConfig::default());
}

#[test]
fn config_from_lookup_names_the_bad_variable() {
    for (name, value) in [
        ("JWT_EXPIRATION_DELTA", "0"),
        ("JWT_EXPIRATION_DELTA", "-5"),
        ("JWT_EXPIRATION_DELTA", "1.5"),
        ("JWT_EXPIRATION_DELTA", "1e3"),
        ("JWT_EXPIRATION_DELTA", "99999999999999999999"),
        ("JWT_LEEWAY", "-1"),
        ("JWT_LEEWAY", " 10"),
        ("JWT_NOT_BEFORE_DELTA", "1.5"),
        ("JWT_AUTH_URL_RULE", "login"),
        ("JWT_AUTH_HEADER_PREFIX", "JWT X"),
        ("JWT_REQUIRED_CLAIMS", "exp,foo"),
        ("JWT_ISSUER", " "),
        ("JWT_VERIFY_CLAIMS", "signature,foo"),
    ] {
        let error = JwtConfig::from_lookup(lookup(&[(name, value)])).unwrap_err();
        assert_eq!(setting_of(&error), name, "{name}={value}");
    }
}

#[test]
fn keys_from_lookup_reads_secret_and_algorithm() {
    let keys = Keys::from_lookup(lookup(&[("JWT_SECRET_KEY", SECRET)])).unwrap();
    assert_eq!(keys.algorithm(), Algorithm::HS256);
    let keys =
        Keys::from_lookup(lookup(&[("JWT_SECRET_KEY", SECRET), ("JWT_ALGORITHM", "")])).unwrap();
    assert_eq!(keys.algorithm(), Algorithm::HS256);
    let keys = Keys::from_lookup(lookup(&[
        ("JWT_SECRET_KEY", SECRET),
        ("JWT_ALGORITHM", "HS384"),
    ]))
    .unwrap();
    assert_eq!(keys.algorithm(), Algorithm::HS384);
    for vars in [
        &[][..],
        &[("JWT_SECRET_KEY", "")],
        &[("JWT_SECRET_KEY", "too short")],
    ] {
        let error = Keys::from_lookup(lookup(vars)).unwrap_err();
        assert_eq!(setting_of(&error), "JWT_SECRET_KEY");
    }
    for alg in ["hs256", "none", "rs256", "HS1024", "ES512"] {
        let error = Keys::from_lookup(lookup(&[
            ("JWT_SECRET_KEY", SECRET),
            ("JWT_ALGORITHM", alg),
        ]))
        .unwrap_err();
        assert_eq!(setting_of(&error), "JWT_ALGORITHM", "{alg}");
    }
    // A key-pair algorithm reads key files, never the secret.
    for alg in ["RS256", "ES256", "EdDSA"] {
        let error = Keys::from_lookup(lookup(&[
            ("JWT_SECRET_KEY", SECRET),
            ("JWT_ALGORITHM", alg),
        ]))
        .unwrap_err();
        assert_eq!(setting_of(&error), "JWT_PRIVATE_KEY_FILE", "{alg}");
    }
}

#[tokio::test]
async fn keys_from_lookup_verify_what_they_sign() {
    let keys = Keys::from_lookup(lookup(&[("JWT_SECRET_KEY", SECRET)])).unwrap();
    let app = TestApp::with_keys(keys, |b| b);
    let token = app.login("user1", "abcxyz").await;
    assert_eq!(
        segment_json(&token, 0),
        json!({"typ": "JWT", "alg": "HS256"})
    );
    // Same secret, same algorithm: the hand-made twin verifies.
    assert_user(
        &app.protected(&common::token(&claims_for(&json!(1)))).await,
        1,
    );
}
