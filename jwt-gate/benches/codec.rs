//! Issue and verify throughput of jwt-gate against `jsonwebtoken` and against a floor.
//!
//! Run with `cargo bench -p jwt-gate --bench codec` (shorter: append
//! `-- --warm-up-time 1 --measurement-time 3`). Benchmark ids read `<op>/<alg>/<contender>`, so
//! the three contenders of one operation and algorithm sit next to each other and their ratio
//! is read straight off the report:
//!
//! - `issue/HS256/jwt-gate`: [`Jwt::issue`] for a user with an `i64` id (default settings, no
//!   revocation store, no hooks): reads the clock, serializes `{exp, iat, nbf, identity}`,
//!   signs.
//! - `issue/HS256/jsonwebtoken`: `jsonwebtoken::encode` of the same four claims with
//!   `Header::new(HS256)` (`{"typ":"JWT","alg":"HS256"}`) and an `EncodingKey` made once from
//!   the same secret; reads the clock too.
//! - `issue/HS256/floor`: what any issuer must do at least: `serde_json::to_vec` of the same
//!   claims struct, base64url (no padding) of a constant header and of that payload, one HMAC
//!   with an `aws_lc_rs::hmac::Key` prepared once, base64url of the tag. No clock read.
//! - `verify/HS256/jwt-gate`: [`Jwt::verify`] of one token issued by jwt-gate, again and again
//!   (default settings: leeway 10 s, `exp`, `iat`, `nbf` required; the identity read back as
//!   `i64`). With a verified-token cache on (jwt-gate's default, if it has one) this is the
//!   cache-hit path: a client presenting the same token on every request.
//! - `verify/HS256/jwt-gate-nocache`: the same with `verify_cache_capacity = 0`: the whole
//!   decode (strict JSON, PyJWT's checks in PyJWT's order, claims built) on every call.
//! - `verify/HS256/jsonwebtoken`: `jsonwebtoken::decode::<Claims>` of the same token with a
//!   `DecodingKey` made once from the same secret and a `Validation` as close to jwt-gate's as
//!   jsonwebtoken allows: algorithms `[HS256]`, leeway 10, `validate_exp`, `validate_nbf`,
//!   `validate_aud` (no audience configured, so any `aud` is refused, as in jwt-gate),
//!   required `exp` and `nbf` (jsonwebtoken cannot require `iat`; the claims struct has a
//!   non-optional `iat` instead, so a token without it still fails to decode).
//! - `verify/HS256/floor`: the least any verifier must do: base64url-decode (no padding) the
//!   three segments into stack buffers (no allocation, no JSON parsing, no claim checks),
//!   then one `aws_lc_rs::hmac::verify` over the signing input (`header.payload`) with an
//!   `hmac::Key` prepared once. For HS384 and HS512 the HMAC is HMAC-SHA384 and HMAC-SHA512
//!   respectively; for HS256 it is exactly one HMAC-SHA256.
//! - `verify/{RS256,PS256,ES256,ES384,EdDSA}/*`: the same four contenders with the key pairs of
//!   `tests/fixtures/` (jwt-gate's token carries the key's `kid`; jsonwebtoken's `DecodingKey`
//!   is made once from the same public key; the floor is one signature check with an aws-lc-rs
//!   `ParsedPublicKey` made once). With the cache on, a key-pair token costs what an HMAC one
//!   does.
//! - `verify-unique/HS256/*`: the same three, but each iteration verifies the next of
//!   [`UNIQUE_TOKENS`] distinct tokens (one per identity, round-robin), far more than any
//!   default cache holds, so that a cache keyed by the token (almost) never answers: the cost
//!   of a token not seen recently, cache insertion included. Also slower for all three by the
//!   memory misses of touching 2^18 tokens.
//!
//! Every token lives for an hour (both issuers), so that long runs never verify an expired one.

// A benchmark's setup failing is a bug to see at once, not an error to handle.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::hint::black_box;
use std::time::Duration;

use aws_lc_rs::hmac;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use criterion::{BatchSize, Criterion, criterion_group, criterion_main};
use std::str::FromStr as _;

use aws_lc_rs::signature::ParsedPublicKey;
use jwt_gate::{Algorithm, Claims, Credentials, Identity, Jwt, JwtConfig, Key, Keys};
use serde::{Deserialize, Serialize};

/// The contract server's default secret.
const SECRET: &str = "super-secret-test-key-0123456789abcdef";
/// Token lifetime for both issuers.
const LIFETIME: Duration = Duration::from_secs(3600);
/// Distinct tokens cycled through by the `verify-unique` groups.
const UNIQUE_TOKENS: usize = 1 << 18;

#[derive(Clone, Debug)]
struct User {
    id: i64,
}

impl Identity for User {
    type Id = i64;
    fn id(&self) -> i64 {
        self.id
    }
}

/// The claims jwt-gate issues, as a `jsonwebtoken` user would declare them.
#[derive(Debug, Serialize, Deserialize)]
struct TokenClaims {
    exp: u64,
    iat: u64,
    nbf: u64,
    identity: i64,
}

struct Contender {
    name: &'static str,
    jwt: Jwt<User>,
    jwt_nocache: Jwt<User>,
    jwt_alg: jsonwebtoken::Algorithm,
    hmac_alg: hmac::Algorithm,
}

fn contenders() -> Vec<Contender> {
    [
        (
            Algorithm::HS256,
            jsonwebtoken::Algorithm::HS256,
            hmac::HMAC_SHA256,
        ),
        (
            Algorithm::HS384,
            jsonwebtoken::Algorithm::HS384,
            hmac::HMAC_SHA384,
        ),
        (
            Algorithm::HS512,
            jsonwebtoken::Algorithm::HS512,
            hmac::HMAC_SHA512,
        ),
    ]
    .into_iter()
    .map(|(algorithm, jwt_alg, hmac_alg)| Contender {
        name: algorithm.as_str(),
        jwt: jwt(algorithm, true),
        jwt_nocache: jwt(algorithm, false),
        jwt_alg,
        hmac_alg,
    })
    .collect()
}

fn jwt(algorithm: Algorithm, cache: bool) -> Jwt<User> {
    jwt_with(Keys::hmac(algorithm, SECRET).unwrap(), cache)
}

fn jwt_with(keys: Keys, cache: bool) -> Jwt<User> {
    let mut config = JwtConfig::default();
    config.expiration_delta = LIFETIME;
    if !cache {
        config.verify_cache_capacity = 0;
    }
    Jwt::builder(keys)
        .config(config)
        .authenticate(|_: Credentials| async { Ok::<_, std::convert::Infallible>(None) })
        .identity(|claims: Claims<i64>| async move {
            Ok::<_, std::convert::Infallible>(Some(User {
                id: claims.identity,
            }))
        })
        .build()
        .unwrap()
}

fn validation(algorithm: jsonwebtoken::Algorithm) -> jsonwebtoken::Validation {
    let mut validation = jsonwebtoken::Validation::new(algorithm);
    validation.leeway = 10;
    validation.validate_exp = true;
    validation.validate_nbf = true;
    validation.validate_aud = true;
    validation.set_required_spec_claims(&["exp", "nbf"]);
    validation
}

fn now() -> u64 {
    jsonwebtoken::get_current_timestamp()
}

fn claims(identity: i64, now: u64) -> TokenClaims {
    TokenClaims {
        exp: now + LIFETIME.as_secs(),
        iat: now,
        nbf: now,
        identity,
    }
}

/// The floor of verification: decode the three segments, one HMAC check.
fn floor_verify(token: &str, key: &hmac::Key) -> bool {
    floor_decode::<64>(token, |input, signature| {
        hmac::verify(key, input, signature).is_ok()
    })
}

/// What every floor does: split the token, base64url-decode its three segments into stack
/// buffers (a signature of at most `N` bytes), then `check` the signature over the signing
/// input.
fn floor_decode<const N: usize>(token: &str, check: impl FnOnce(&[u8], &[u8]) -> bool) -> bool {
    let mut header = [0_u8; 256];
    let mut payload = [0_u8; 1024];
    let mut signature = [0_u8; N];
    let Some((signing_input, signature_b64)) = token.rsplit_once('.') else {
        return false;
    };
    let Some((header_b64, payload_b64)) = signing_input.split_once('.') else {
        return false;
    };
    let (Ok(_), Ok(_), Ok(signature_len)) = (
        URL_SAFE_NO_PAD.decode_slice(header_b64, &mut header),
        URL_SAFE_NO_PAD.decode_slice(payload_b64, &mut payload),
        URL_SAFE_NO_PAD.decode_slice(signature_b64, &mut signature),
    ) else {
        return false;
    };
    black_box((&header, &payload));
    check(signing_input.as_bytes(), &signature[..signature_len])
}

/// The floor of issuing: serialize, encode, one HMAC, encode.
fn floor_issue(header_b64: &str, claims: &TokenClaims, key: &hmac::Key) -> String {
    let payload = serde_json::to_vec(claims).unwrap();
    let mut token = String::with_capacity(256);
    token.push_str(header_b64);
    token.push('.');
    URL_SAFE_NO_PAD.encode_string(payload, &mut token);
    let tag = hmac::sign(key, token.as_bytes());
    token.push('.');
    URL_SAFE_NO_PAD.encode_string(tag.as_ref(), &mut token);
    token
}

fn issue(c: &mut Criterion) {
    let user = User { id: 1 };
    for contender in contenders() {
        let name = contender.name;
        let encoding = jsonwebtoken::EncodingKey::from_secret(SECRET.as_bytes()).unwrap();
        let header = jsonwebtoken::Header::new(contender.jwt_alg);
        let key = hmac::Key::new(contender.hmac_alg, SECRET.as_bytes());
        let header_b64 = URL_SAFE_NO_PAD.encode(format!(r#"{{"typ":"JWT","alg":"{name}"}}"#));
        let fixed_now = now();

        c.bench_function(&format!("issue/{name}/jwt-gate"), |b| {
            b.iter(|| contender.jwt.issue(black_box(&user)).unwrap());
        });
        c.bench_function(&format!("issue/{name}/jsonwebtoken"), |b| {
            b.iter(|| {
                let claims = claims(black_box(user.id), now());
                jsonwebtoken::encode(&header, &claims, &encoding).unwrap()
            });
        });
        c.bench_function(&format!("issue/{name}/floor"), |b| {
            b.iter(|| {
                let claims = claims(black_box(user.id), fixed_now);
                floor_issue(&header_b64, &claims, &key)
            });
        });
    }
}

fn verify(c: &mut Criterion) {
    for contender in contenders() {
        let name = contender.name;
        let token = contender.jwt.issue(&User { id: 1 }).unwrap();
        let decoding = jsonwebtoken::DecodingKey::from_secret(SECRET.as_bytes()).unwrap();
        let validation = validation(contender.jwt_alg);
        let key = hmac::Key::new(contender.hmac_alg, SECRET.as_bytes());

        // The three must agree that the token is valid, or the comparison means nothing.
        assert_eq!(contender.jwt.verify(&token).unwrap().identity, 1);
        assert_eq!(contender.jwt_nocache.verify(&token).unwrap().identity, 1);
        let decoded = jsonwebtoken::decode::<TokenClaims>(&token, &decoding, &validation).unwrap();
        assert_eq!(decoded.claims.identity, 1);
        assert!(floor_verify(&token, &key));
        // And that a token signed by jsonwebtoken is one jwt-gate accepts (same claims).
        let theirs = jsonwebtoken::encode(
            &jsonwebtoken::Header::new(contender.jwt_alg),
            &claims(1, now()),
            &jsonwebtoken::EncodingKey::from_secret(SECRET.as_bytes()).unwrap(),
        )
        .unwrap();
        assert_eq!(contender.jwt.verify(&theirs).unwrap().identity, 1);

        c.bench_function(&format!("verify/{name}/jwt-gate"), |b| {
            b.iter(|| contender.jwt.verify(black_box(&token)).unwrap());
        });
        c.bench_function(&format!("verify/{name}/jwt-gate-nocache"), |b| {
            b.iter(|| contender.jwt_nocache.verify(black_box(&token)).unwrap());
        });
        c.bench_function(&format!("verify/{name}/jsonwebtoken"), |b| {
            b.iter(|| {
                jsonwebtoken::decode::<TokenClaims>(black_box(&token), &decoding, &validation)
                    .unwrap()
            });
        });
        c.bench_function(&format!("verify/{name}/floor"), |b| {
            b.iter(|| assert!(floor_verify(black_box(&token), &key)));
        });
    }
}

/// The floor of a key-pair verification: decode the three segments, one signature check with
/// a public key parsed once.
fn floor_verify_signature(token: &str, key: &ParsedPublicKey) -> bool {
    floor_decode::<512>(token, |input, signature| {
        key.verify_sig(input, signature).is_ok()
    })
}

/// Key pairs (the test fixtures): jwt-gate's verify with and without its cache, against
/// `jsonwebtoken::decode` with a `DecodingKey` made once from the same public key, and against
/// the floor (the segments decoded, one signature check with an aws-lc-rs key parsed once).
/// With the cache on, a key-pair token costs what an HMAC one does.
fn verify_key_pairs(c: &mut Criterion) {
    use aws_lc_rs::signature::{self as sig, VerificationAlgorithm};
    let fixtures = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures");
    let pairs: [(Algorithm, &str, &'static dyn VerificationAlgorithm); 5] = [
        (Algorithm::RS256, "rsa", &sig::RSA_PKCS1_2048_8192_SHA256),
        (Algorithm::PS256, "rsa", &sig::RSA_PSS_2048_8192_SHA256),
        (Algorithm::ES256, "p256", &sig::ECDSA_P256_SHA256_FIXED),
        (Algorithm::ES384, "p384", &sig::ECDSA_P384_SHA384_FIXED),
        (Algorithm::EdDSA, "ed25519", &sig::ED25519),
    ];
    for (algorithm, dir, verification) in pairs {
        let name = algorithm.as_str();
        let private = std::fs::read(format!("{fixtures}/{dir}/private.pem")).unwrap();
        let public_der = std::fs::read(format!("{fixtures}/{dir}/public.der")).unwrap();
        let keys = Keys::new(Key::from_pem(algorithm, &private).unwrap()).unwrap();
        let cached = jwt_with(keys.clone(), true);
        let uncached = jwt_with(keys, false);
        let token = cached.issue(&User { id: 1 }).unwrap();
        let raw_public = spki_key(&public_der);
        let decoding = match dir {
            "rsa" => jsonwebtoken::DecodingKey::from_rsa_der(&raw_public),
            "ed25519" => jsonwebtoken::DecodingKey::from_ed_der(&raw_public),
            _ => jsonwebtoken::DecodingKey::from_ec_der(&raw_public),
        };
        let jwt_alg = jsonwebtoken::Algorithm::from_str(name).unwrap();
        let validation = validation(jwt_alg);
        let floor_key = ParsedPublicKey::new(verification, &raw_public).unwrap();

        assert_eq!(cached.verify(&token).unwrap().identity, 1);
        assert_eq!(uncached.verify(&token).unwrap().identity, 1);
        let decoded = jsonwebtoken::decode::<TokenClaims>(&token, &decoding, &validation).unwrap();
        assert_eq!(decoded.claims.identity, 1);
        assert!(floor_verify_signature(&token, &floor_key));

        c.bench_function(&format!("verify/{name}/jwt-gate"), |b| {
            b.iter(|| cached.verify(black_box(&token)).unwrap());
        });
        c.bench_function(&format!("verify/{name}/jwt-gate-nocache"), |b| {
            b.iter(|| uncached.verify(black_box(&token)).unwrap());
        });
        c.bench_function(&format!("verify/{name}/jsonwebtoken"), |b| {
            b.iter(|| {
                jsonwebtoken::decode::<TokenClaims>(black_box(&token), &decoding, &validation)
                    .unwrap()
            });
        });
        c.bench_function(&format!("verify/{name}/floor"), |b| {
            b.iter(|| assert!(floor_verify_signature(black_box(&token), &floor_key)));
        });
    }
}

/// The key bits of a DER SubjectPublicKeyInfo (`SEQUENCE { SEQUENCE algorithm, BIT STRING
/// key }`), without the BIT STRING's unused-bits octet: a PKCS#1 RSA key, an EC point, or the
/// 32 bytes of an Ed25519 key, which aws-lc-rs parses for each algorithm.
fn spki_key(der: &[u8]) -> Vec<u8> {
    let (_, outer) = der_element(der);
    let (algorithm_len, _) = der_element(outer);
    let (_, bits) = der_element(&outer[algorithm_len..]);
    bits[1..].to_vec()
}

/// The first DER element of `input`: its whole length and its content.
fn der_element(input: &[u8]) -> (usize, &[u8]) {
    let first = input[1];
    let (length, header) = if first < 0x80 {
        (usize::from(first), 2)
    } else {
        let count = usize::from(first & 0x7f);
        let length = input[2..2 + count]
            .iter()
            .fold(0, |acc, &b| (acc << 8) | usize::from(b));
        (length, 2 + count)
    };
    (header + length, &input[header..header + length])
}

/// Each iteration verifies a token not verified in the last [`UNIQUE_TOKENS`] iterations.
fn verify_unique(c: &mut Criterion) {
    let contender = contenders().swap_remove(0);
    let name = contender.name;
    let tokens: Vec<String> = (1..=UNIQUE_TOKENS as i64)
        .map(|id| contender.jwt.issue(&User { id }).unwrap())
        .collect();
    let decoding = jsonwebtoken::DecodingKey::from_secret(SECRET.as_bytes()).unwrap();
    let validation = validation(contender.jwt_alg);
    let key = hmac::Key::new(contender.hmac_alg, SECRET.as_bytes());

    let mut next = cycle(&tokens);
    c.bench_function(&format!("verify-unique/{name}/jwt-gate"), |b| {
        b.iter_batched(
            &mut next,
            |token| contender.jwt.verify(token).unwrap(),
            BatchSize::SmallInput,
        );
    });
    let mut next = cycle(&tokens);
    c.bench_function(&format!("verify-unique/{name}/jsonwebtoken"), |b| {
        b.iter_batched(
            &mut next,
            |token| jsonwebtoken::decode::<TokenClaims>(token, &decoding, &validation).unwrap(),
            BatchSize::SmallInput,
        );
    });
    let mut next = cycle(&tokens);
    c.bench_function(&format!("verify-unique/{name}/floor"), |b| {
        b.iter_batched(
            &mut next,
            |token| assert!(floor_verify(token, &key)),
            BatchSize::SmallInput,
        );
    });
}

/// Hands out `tokens` round-robin (a `&str`, so the setup costs no copy).
fn cycle<'a>(tokens: &'a [String]) -> impl FnMut() -> &'a str {
    let mut i = 0;
    move || {
        i = (i + 1) % tokens.len();
        tokens[i].as_str()
    }
}

criterion_group!(benches, issue, verify, verify_key_pairs, verify_unique);
criterion_main!(benches);
