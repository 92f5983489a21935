//! The built `jwt-gate` binary, run as a user runs it: every command, every error.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a test fails by panicking; helpers outside #[test] fns too"
)]

use std::path::Path;

use assert_cmd::Command;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::{EncodingKey, crypto};
use jwt_gate::{Algorithm, Claims, Credentials, Identity, Jwt, JwtError, Key, Keys};
use serde_json::{Value, json};

const SECRET: &str = "0123456789abcdef0123456789abcdef";
const OTHER_SECRET: &str = "fedcba9876543210fedcba9876543210";
const ASYMMETRIC: [&str; 9] = [
    "RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "EdDSA",
];

/// The binary, with no `JWT_SECRET_KEY` inherited from the test's environment.
fn jwt_gate() -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_jwt-gate"));
    command.env_remove("JWT_SECRET_KEY");
    command
}

fn with_secret(secret: &str) -> Command {
    let mut command = jwt_gate();
    command.env("JWT_SECRET_KEY", secret);
    command
}

/// A key file of `tests/keys`.
fn fixture(name: &str) -> String {
    format!("{}/tests/keys/{name}", env!("CARGO_MANIFEST_DIR"))
}

/// What a run printed.
#[derive(Debug)]
struct Run {
    code: i32,
    stdout: String,
    stderr: String,
}

fn run(command: &mut Command, args: &[&str]) -> Run {
    let output = command.args(args).output().unwrap();
    Run {
        code: output.status.code().expect("exited, not killed"),
        stdout: String::from_utf8(output.stdout).unwrap(),
        stderr: String::from_utf8(output.stderr).unwrap(),
    }
}

/// Exit status 2, nothing on stdout, one `error: ...` line on stderr containing `needle`.
fn assert_error(run: &Run, needle: &str) {
    assert_eq!(run.code, 2, "{run:?}");
    assert_eq!(run.stdout, "", "{run:?}");
    assert!(run.stderr.starts_with("error: "), "{run:?}");
    assert!(run.stderr.ends_with('\n'), "{run:?}");
    assert_eq!(run.stderr.lines().count(), 1, "{run:?}");
    assert!(run.stderr.contains(needle), "{needle:?} not in {run:?}");
    assert!(!run.stderr.contains("panicked"), "{run:?}");
}

/// A successful `mint`: one token and a newline.
fn mint(command: &mut Command, args: &[&str]) -> String {
    let mut full = vec!["mint"];
    full.extend_from_slice(args);
    let run = run(command, &full);
    assert_eq!(run.code, 0, "{run:?}");
    assert_eq!(run.stderr, "");
    let token = run.stdout.strip_suffix('\n').expect("a newline");
    assert!(!token.contains('\n'));
    token.to_owned()
}

fn segment_json(token: &str, index: usize) -> Value {
    let segment = token.split('.').nth(index).unwrap();
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(segment).unwrap()).unwrap()
}

/// An `inspect` run and its JSON output (`Value::Null` when it printed nothing).
fn inspect(command: &mut Command, args: &[&str]) -> (Run, Value) {
    let mut full = vec!["inspect"];
    full.extend_from_slice(args);
    let run = run(command, &full);
    let json = if run.stdout.is_empty() {
        Value::Null
    } else {
        assert!(run.stdout.ends_with("}\n"), "{run:?}");
        serde_json::from_str(&run.stdout).unwrap()
    };
    (run, json)
}

/// A token signed by hand: `header` and `claims` JSON as given, HS256 with `secret`.
fn hand_signed(header: &str, claims: &str, secret: &str) -> String {
    let input = format!(
        "{}.{}",
        URL_SAFE_NO_PAD.encode(header),
        URL_SAFE_NO_PAD.encode(claims)
    );
    let key = EncodingKey::from_secret(secret.as_bytes()).unwrap();
    let signature = crypto::sign(input.as_bytes(), &key, jsonwebtoken::Algorithm::HS256).unwrap();
    format!("{input}.{signature}")
}

fn now() -> i64 {
    jwt_gate::unix_seconds(&jwt_gate::SystemClock::default())
}

#[derive(Clone)]
struct User;

impl Identity for User {
    type Id = i64;
    fn id(&self) -> i64 {
        0
    }
}

/// A jwt-gate service's verifier, with the library's defaults.
fn service(keys: Keys) -> Jwt<User> {
    Jwt::builder(keys)
        .authenticate(|_: Credentials| async { Ok::<_, std::io::Error>(None) })
        .identity(|_: Claims<i64>| async { Ok::<_, std::io::Error>(Some(User)) })
        .build()
        .unwrap()
}

/// `keygen` into a new directory: the directory and the printed kid.
fn keygen(alg: &str) -> (tempfile::TempDir, String) {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().to_str().unwrap().to_owned();
    let run = run(&mut jwt_gate(), &["keygen", "--alg", alg, "--out", &out]);
    assert_eq!(run.code, 0, "{run:?}");
    assert_eq!(run.stderr, "");
    let kid = run.stdout.strip_suffix('\n').unwrap().to_owned();
    (dir, kid)
}

fn path_str(dir: &tempfile::TempDir, name: &str) -> String {
    dir.path().join(name).to_str().unwrap().to_owned()
}

// ---- mint ----------------------------------------------------------------------------------

#[test]
fn mint_issues_the_token_jwt_gate_issues() {
    let before = now();
    let token = mint(&mut with_secret(SECRET), &["--identity", "42"]);
    let after = now();
    let header = token.split('.').next().unwrap();
    assert_eq!(
        URL_SAFE_NO_PAD.decode(header).unwrap(),
        br#"{"typ":"JWT","alg":"HS256"}"#
    );
    let claims = segment_json(&token, 1);
    let members: Vec<_> = claims.as_object().unwrap().keys().cloned().collect();
    assert_eq!(members, ["exp", "iat", "identity", "nbf"]);
    let iat = claims["iat"].as_i64().unwrap();
    assert!((before..=after).contains(&iat));
    assert_eq!(claims["nbf"].as_i64(), Some(iat));
    assert_eq!(claims["exp"].as_i64(), Some(iat + 300));
    assert_eq!(claims["identity"], json!(42));

    // A jwt-gate service with the same secret accepts it.
    let verified = service(Keys::hs256(SECRET).unwrap())
        .verify(&token)
        .unwrap();
    assert_eq!(verified.identity, 42);
    assert_eq!(verified.exp, Some(iat + 300));
}

#[test]
fn mint_algorithm_lifetime_and_extra_claims() {
    let token = mint(
        &mut with_secret(SECRET),
        &[
            "--identity",
            "-7",
            "--alg",
            "HS512",
            "--lifetime",
            "60",
            "--claim",
            r#"role="admin""#,
            "--claim",
            "level=5",
            "--claim",
            r#"scopes=["a", {"b": null}]"#,
        ],
    );
    assert_eq!(
        segment_json(&token, 0),
        json!({"typ": "JWT", "alg": "HS512"})
    );
    let claims = segment_json(&token, 1);
    assert_eq!(
        claims["exp"].as_i64().unwrap() - claims["iat"].as_i64().unwrap(),
        60
    );
    let verified = service(Keys::hs512(SECRET).unwrap())
        .verify(&token)
        .unwrap();
    assert_eq!(verified.identity, -7);
    assert_eq!(verified.extra["role"], json!("admin"));
    assert_eq!(verified.extra["level"], json!(5));
    assert_eq!(verified.extra["scopes"], json!(["a", {"b": null}]));
    // HS256 keys do not verify an HS512 token: the algorithm is pinned.
    assert!(
        service(Keys::hs256(SECRET).unwrap())
            .verify(&token)
            .is_err()
    );

    let token = mint(
        &mut with_secret(SECRET),
        &["--identity", "1", "--alg", "HS384"],
    );
    assert!(service(Keys::hs384(SECRET).unwrap()).verify(&token).is_ok());
    let token = mint(
        &mut with_secret(SECRET),
        &["--identity=-1", "--lifetime", "0"],
    );
    let claims = segment_json(&token, 1);
    assert_eq!(claims["exp"], claims["iat"]);
}

#[test]
fn mint_uses_the_secret_bytes_untrimmed() {
    let padded = format!(" {SECRET}\n");
    let token = mint(&mut with_secret(&padded), &["--identity", "1"]);
    assert!(
        service(Keys::hs256(&padded).unwrap())
            .verify(&token)
            .is_ok()
    );
    assert!(matches!(
        service(Keys::hs256(SECRET).unwrap()).verify(&token),
        Err(JwtError::InvalidToken(_))
    ));
}

#[test]
fn mint_refuses_a_missing_or_short_secret() {
    assert_error(
        &run(&mut jwt_gate(), &["mint", "--identity", "1"]),
        "JWT_SECRET_KEY: not set",
    );
    assert_error(
        &run(&mut with_secret(""), &["mint", "--identity", "1"]),
        "JWT_SECRET_KEY: the secret is empty",
    );
    assert_error(
        &run(
            &mut with_secret(&SECRET[..31]),
            &["mint", "--identity", "1"],
        ),
        "the secret is 31 bytes; HS256 needs at least 32",
    );
    assert_error(
        &run(
            &mut with_secret("short"),
            &["mint", "--identity", "1", "--alg", "HS512"],
        ),
        "HS512 needs at least 32",
    );
    // Exactly 32 bytes is enough.
    mint(&mut with_secret(&SECRET[..32]), &["--identity", "1"]);
}

#[test]
fn mint_refuses_bad_claims() {
    for (claim, needle) in [
        ("role=admin", "the value of role is not JSON"),
        ("role='admin'", "the value of role is not JSON"),
        ("n=", "the value of n is not JSON"),
        ("o={\"a\":1,\"a\":2}", "duplicate member"),
        ("novalue", "expected NAME=JSON"),
        ("=1", "the claim name is empty"),
        ("identity=1", "identity is set by the command itself"),
        ("iat=1", "iat is set by the command itself"),
        ("nbf=1", "nbf is set by the command itself"),
        ("exp=1", "exp is set by the command itself"),
    ] {
        assert_error(
            &run(
                &mut with_secret(SECRET),
                &["mint", "--identity", "1", "--claim", claim],
            ),
            needle,
        );
    }
    assert_error(
        &run(
            &mut with_secret(SECRET),
            &[
                "mint",
                "--identity",
                "1",
                "--claim",
                "a=1",
                "--claim",
                "a=2",
            ],
        ),
        "--claim a is given twice",
    );
}

#[test]
fn mint_usage_errors_are_one_line() {
    let secret = || with_secret(SECRET);
    assert_error(&run(&mut secret(), &["mint"]), "--identity");
    assert_error(
        &run(&mut secret(), &["mint", "--identity", "x"]),
        "--identity",
    );
    assert_error(
        &run(&mut secret(), &["mint", "--identity", "1.5"]),
        "--identity",
    );
    assert_error(
        &run(
            &mut secret(),
            &["mint", "--identity", "1", "--alg", "hs256"],
        ),
        "possible values",
    );
    assert_error(
        &run(&mut secret(), &["mint", "--identity", "1", "--alg", "none"]),
        "possible values",
    );
    assert_error(
        &run(
            &mut secret(),
            &["mint", "--identity", "1", "--lifetime", "-1"],
        ),
        "'-1'",
    );
    assert_error(
        &run(
            &mut secret(),
            &["mint", "--identity", "1", "--lifetime", "999999999999"],
        ),
        "after the year 9999",
    );
    assert_error(
        &run(&mut secret(), &["mint", "--identity", "1", "--secret", "x"]),
        "unexpected argument '--secret'",
    );
}

#[test]
fn mint_signs_with_key_pairs_and_names_the_key() {
    for alg in ASYMMETRIC {
        let (dir, kid) = keygen(alg);
        let private = path_str(&dir, "private.pem");
        let public = path_str(&dir, "public.pem");
        // JWT_SECRET_KEY plays no part for key pairs.
        let token = mint(
            &mut with_secret(SECRET),
            &["--identity", "9", "--alg", alg, "--key-file", &private],
        );
        assert_eq!(
            segment_json(&token, 0),
            json!({"typ": "JWT", "alg": alg, "kid": kid}),
            "{alg}"
        );
        let (run, report) = inspect(&mut jwt_gate(), &["--key-file", &public, &token]);
        assert_eq!(run.code, 0, "{alg}: {run:?}");
        assert_eq!(report["valid"], json!(true), "{alg}");
        assert_eq!(report["claims"]["identity"], json!(9));
        // A jwt-gate service with the key pair accepts it, header and all.
        let algorithm: Algorithm = alg.parse().unwrap();
        let pem = std::fs::read(&private).unwrap();
        let keys = Keys::new(Key::from_pem(algorithm, pem).unwrap()).unwrap();
        assert_eq!(service(keys).verify(&token).unwrap().identity, 9, "{alg}");
    }
}

#[test]
fn mint_refuses_keys_that_do_not_fit() {
    let (es256, _) = keygen("ES256");
    let (eddsa, _) = keygen("EdDSA");
    let (rs256, _) = keygen("RS256");
    let p256 = path_str(&es256, "private.pem");
    let ed = path_str(&eddsa, "private.pem");
    let rsa = path_str(&rs256, "private.pem");
    let (rsa1024, p521, encrypted, readme) = (
        fixture("rsa-1024.pem"),
        fixture("p521.pem"),
        fixture("encrypted.pem"),
        fixture("README.md"),
    );
    let cases: [(&[&str], &str); 13] = [
        (
            &["--alg", "ES384", "--key-file", &p256],
            "a P-256 key cannot sign ES384; it signs ES256",
        ),
        (
            &["--alg", "RS256", "--key-file", &ed],
            "an Ed25519 key cannot sign RS256",
        ),
        (
            &["--alg", "EdDSA", "--key-file", &rsa],
            "an RSA 2048-bit key cannot sign EdDSA",
        ),
        (&["--alg", "ES256", "--key-file", &rsa], "cannot sign ES256"),
        (
            &["--alg", "HS256", "--key-file", &rsa],
            "--key-file is for the asymmetric algorithms",
        ),
        (
            &["--key-file", &p256],
            "--key-file needs --alg (a P-256 key signs ES256)",
        ),
        (&["--alg", "RS256"], "--alg RS256 needs --key-file"),
        (
            &[
                "--alg",
                "EdDSA",
                "--key-file",
                &path_str(&eddsa, "public.pem"),
            ],
            "a public key cannot sign",
        ),
        (
            &["--alg", "RS256", "--key-file", &rsa1024],
            "the RSA key has 1024 bits; at least 2048 are required",
        ),
        (
            &["--alg", "ES256", "--key-file", &p521],
            "P-521 keys are not supported",
        ),
        (
            &["--alg", "EdDSA", "--key-file", &encrypted],
            "encrypted private keys are not supported",
        ),
        (
            &["--alg", "RS256", "--key-file", "/nonexistent/key.pem"],
            "/nonexistent/key.pem",
        ),
        (&["--alg", "RS256", "--key-file", &readme], "not a PEM file"),
    ];
    for (args, needle) in cases {
        let mut full = vec!["mint", "--identity", "1"];
        full.extend_from_slice(args);
        assert_error(&run(&mut with_secret(SECRET), &full), needle);
    }
}

#[test]
fn mint_reads_openssl_key_formats() {
    // PKCS#1 RSA, verified with its PKCS#1 public key.
    let token = mint(
        &mut jwt_gate(),
        &[
            "--identity",
            "1",
            "--alg",
            "PS256",
            "--key-file",
            fixture("rsa-pkcs1.pem").as_str(),
        ],
    );
    let public = fixture("rsa-pkcs1-public.pem");
    let (run, report) = inspect(&mut jwt_gate(), &["--key-file", public.as_str(), &token]);
    assert_eq!((run.code, &report["valid"]), (0, &json!(true)), "{run:?}");

    // SEC1 P-384 after an EC PARAMETERS block, verified with the private key file itself.
    let sec1 = fixture("p384-sec1.pem");
    let sec1 = sec1.as_str();
    let token = mint(
        &mut jwt_gate(),
        &["--identity", "1", "--alg", "ES384", "--key-file", sec1],
    );
    let (run, report) = inspect(&mut jwt_gate(), &["--key-file", sec1, &token]);
    assert_eq!((run.code, &report["valid"]), (0, &json!(true)), "{run:?}");
}

// ---- inspect -------------------------------------------------------------------------------

#[test]
fn inspect_decodes_without_a_key() {
    let token = hand_signed(
        r#"{"alg":"HS256","typ":"JWT","kid":"k1"}"#,
        r#"{"iat":0,"nbf":1700000000.9,"exp":253402300799,"identity":"x","n":[1,{"a":true}]}"#,
        SECRET,
    );
    let (run, report) = inspect(&mut jwt_gate(), &[&token]);
    assert_eq!(run.code, 0, "{run:?}");
    assert_eq!(run.stderr, "");
    assert!(
        run.stdout.starts_with("{\n  \"header\": {\n"),
        "pretty: {run:?}"
    );
    assert_eq!(
        report,
        json!({
            "header": {"alg": "HS256", "typ": "JWT", "kid": "k1"},
            "claims": {
                "iat": 0, "nbf": 1_700_000_000.9, "exp": 253_402_300_799_i64,
                "identity": "x", "n": [1, {"a": true}]
            },
            "times": {
                "iat": "1970-01-01T00:00:00Z",
                "nbf": "2023-11-14T22:13:20Z",
                "exp": "9999-12-31T23:59:59Z"
            }
        })
    );
    // Time claims that are not numbers, or out of RFC 3339's range, have no time.
    let token = hand_signed(
        r#"{"alg":"HS256"}"#,
        r#"{"iat":"0","exp":1e300,"nbf":-99999999999}"#,
        SECRET,
    );
    let (run, report) = inspect(&mut jwt_gate(), &[&token]);
    assert_eq!(run.code, 0, "{run:?}");
    assert_eq!(report["times"], json!({}));
}

#[test]
fn inspect_reads_standard_input() {
    let token = mint(&mut with_secret(SECRET), &["--identity", "3"]);
    let output = with_secret(SECRET)
        .args(["inspect", "-"])
        .write_stdin(format!("{token}\n"))
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let report: Value = serde_json::from_slice(&output).unwrap();
    assert_eq!(report["valid"], json!(true));
    assert_eq!(report["claims"]["identity"], json!(3));

    jwt_gate()
        .args(["inspect", "-"])
        .write_stdin("not a token")
        .assert()
        .code(2)
        .stdout("")
        .stderr("error: not a JWT: Not enough segments\n");
}

#[test]
fn inspect_verifies_with_the_secret() {
    let token = mint(
        &mut with_secret(SECRET),
        &["--identity", "5", "--alg", "HS384"],
    );
    let (run, report) = inspect(&mut with_secret(SECRET), &[&token]);
    assert_eq!(run.code, 0, "{run:?}");
    assert_eq!(report["valid"], json!(true));
    assert!(report.get("error").is_none());
    let (run, report) = inspect(&mut with_secret(SECRET), &["--alg", "HS384", &token]);
    assert_eq!((run.code, &report["valid"]), (0, &json!(true)));

    let (run, report) = inspect(&mut with_secret(OTHER_SECRET), &[&token]);
    assert_eq!(run.code, 1, "{run:?}");
    assert_eq!(run.stderr, "");
    assert_eq!(report["valid"], json!(false));
    assert_eq!(report["error"], json!("Signature verification failed"));
    assert_eq!(report["claims"]["identity"], json!(5));

    // A single secret ignores the kid of a token, as a jwt-gate service with it does.
    let token = hand_signed(
        r#"{"typ":"JWT","alg":"HS256","kid":"anything"}"#,
        &format!(r#"{{"identity":1,"exp":{}}}"#, now() + 60),
        SECRET,
    );
    let (run, report) = inspect(&mut with_secret(SECRET), &[&token]);
    assert_eq!((run.code, &report["valid"]), (0, &json!(true)), "{run:?}");

    // A set but empty JWT_SECRET_KEY is refused, never taken for "no key".
    assert_error(
        &inspect(&mut with_secret(""), &[&token]).0,
        "JWT_SECRET_KEY: the secret is empty",
    );
}

#[test]
fn inspect_reports_why_a_token_is_invalid() {
    let now = now();
    let header = r#"{"typ":"JWT","alg":"HS256"}"#;
    let claims = |extra: &str| format!(r#"{{"identity":1,"iat":{now},"nbf":{now}{extra}}}"#);
    let exp = |delta: i64| format!(r#","exp":{}"#, now + delta);
    let cases: Vec<(String, &str)> = vec![
        (
            hand_signed(header, &claims(&exp(-60)), SECRET),
            "Signature has expired",
        ),
        (
            hand_signed(header, &claims(""), SECRET),
            "Token is missing the \"exp\" claim",
        ),
        (
            hand_signed(header, &claims(r#","exp":null"#), SECRET),
            "Token is missing the \"exp\" claim",
        ),
        (
            hand_signed(header, &claims(r#","exp":"soon""#), SECRET),
            "Expiration Time claim (exp) must be an integer.",
        ),
        (
            hand_signed(
                header,
                &format!(r#"{{"exp":{},"nbf":{}}}"#, now + 600, now + 60),
                SECRET,
            ),
            "The token is not yet valid (nbf)",
        ),
        (
            hand_signed(
                header,
                &format!(r#"{{"exp":{},"iat":{}}}"#, now + 600, now + 60),
                SECRET,
            ),
            "Issued At claim (iat) cannot be in the future.",
        ),
        (
            hand_signed(r#"{"alg":"none"}"#, &claims(&exp(60)), SECRET),
            "The specified alg value is not allowed",
        ),
        (
            hand_signed(r#"{"typ":"JWT"}"#, &claims(&exp(60)), SECRET),
            "The specified alg value is not allowed",
        ),
        (
            hand_signed(r#"{"alg":"RS256"}"#, &claims(&exp(60)), SECRET),
            "The specified alg value is not allowed",
        ),
        (
            hand_signed(r#"{"alg":"HS256","crit":["x"]}"#, &claims(&exp(60)), SECRET),
            "Unsupported critical header",
        ),
        (
            hand_signed(
                header,
                &claims(&format!(r#"{},"aud":"api""#, exp(60))),
                SECRET,
            ),
            "Invalid audience",
        ),
        (
            hand_signed(header, &claims(&exp(60)), OTHER_SECRET),
            "Signature verification failed",
        ),
    ];
    for (token, error) in cases {
        let (run, report) = inspect(&mut with_secret(SECRET), &[&token]);
        assert_eq!(run.code, 1, "{error}: {run:?}");
        assert_eq!(report["valid"], json!(false), "{error}");
        assert_eq!(report["error"], json!(error));
    }
    // Within the 10 s leeway is still valid.
    let token = hand_signed(header, &claims(&exp(-8)), SECRET);
    let (run, _) = inspect(&mut with_secret(SECRET), &[&token]);
    assert_eq!(run.code, 0, "{run:?}");
    // A pinned algorithm refuses the others.
    let token = mint(
        &mut with_secret(SECRET),
        &["--identity", "1", "--alg", "HS512"],
    );
    let (run, report) = inspect(&mut with_secret(SECRET), &["--alg", "HS256", &token]);
    assert_eq!(run.code, 1);
    assert_eq!(
        report["error"],
        json!("The specified alg value is not allowed")
    );
}

/// `inspect --alg HS256` says what a jwt-gate service with the same HS256 secret says.
#[test]
fn inspect_agrees_with_a_jwt_gate_service() {
    let now = now();
    let jwt = service(Keys::hs256(SECRET).unwrap());
    let header = r#"{"typ":"JWT","alg":"HS256"}"#;
    let full = |exp: i64| format!(r#"{{"identity":1,"iat":{now},"nbf":{now},"exp":{exp}}}"#);
    let tokens = [
        mint(&mut with_secret(SECRET), &["--identity", "1"]),
        hand_signed(header, &full(now - 3600), SECRET),
        hand_signed(header, &full(now + 60), OTHER_SECRET),
        hand_signed(r#"{"alg":"HS512"}"#, &full(now + 60), SECRET),
        hand_signed(
            header,
            &format!(
                r#"{{"identity":1,"iat":{now},"nbf":{},"exp":{}}}"#,
                now + 99,
                now + 999
            ),
            SECRET,
        ),
    ];
    for token in tokens {
        // The service is pinned to HS256, as its keys are.
        let (run, report) = inspect(&mut with_secret(SECRET), &["--alg", "HS256", &token]);
        match jwt.verify(&token) {
            Ok(_) => assert_eq!((run.code, &report["valid"]), (0, &json!(true))),
            Err(error) => {
                assert_eq!(run.code, 1, "{run:?}");
                assert_eq!(report["error"], json!(error.to_string()));
            }
        }
    }
}

#[test]
fn inspect_refuses_what_is_not_a_jwt() {
    let claims = URL_SAFE_NO_PAD.encode(r#"{"exp":1}"#);
    let header = URL_SAFE_NO_PAD.encode(r#"{"alg":"HS256"}"#);
    let cases = [
        ("", "Not enough segments"),
        ("abc", "Not enough segments"),
        ("a.b", "Not enough segments"),
        (
            &format!("{header}.{claims}.sig.extra") as &str,
            "Invalid payload padding",
        ),
        (&format!("{header}=.{claims}.sig"), "Invalid header padding"),
        (
            &format!("{}.{claims}.", URL_SAFE_NO_PAD.encode("not json")),
            "Invalid header string",
        ),
        (
            &format!("{}.{claims}.", URL_SAFE_NO_PAD.encode("[1]")),
            "Invalid header string: must be a json object",
        ),
        (
            &format!(
                "{}.{claims}.",
                URL_SAFE_NO_PAD.encode(r#"{"alg":"HS256","alg":"none"}"#)
            ),
            // jwt-gate's own words.
            "duplicate member name \"alg\"",
        ),
        (
            &format!("{header}.{}.", URL_SAFE_NO_PAD.encode("\"x\"")),
            "Invalid payload string: must be a json object",
        ),
        (
            &format!("{header}.{claims}.not/base64"),
            "Invalid crypto padding",
        ),
    ];
    for (token, needle) in cases {
        let (run, _) = inspect(&mut with_secret(SECRET), &[token]);
        assert_error(&run, "not a JWT: ");
        assert_error(&run, needle);
    }
    // A token with an empty signature decodes (and fails verification).
    let (run, report) = inspect(&mut jwt_gate(), &[&format!("{header}.{claims}.")]);
    assert_eq!(run.code, 0, "{run:?}");
    assert_eq!(report["claims"], json!({"exp": 1}));
}

#[test]
fn inspect_key_errors() {
    let (es256, _) = keygen("ES256");
    let public = path_str(&es256, "public.pem");
    let token = mint(&mut with_secret(SECRET), &["--identity", "1"]);
    assert_error(
        &inspect(&mut with_secret("short"), &[&token]).0,
        "JWT_SECRET_KEY: the secret is 5 bytes",
    );
    assert_error(
        &inspect(
            &mut jwt_gate(),
            &["--key-file", &public, "--alg", "HS256", &token],
        )
        .0,
        "--alg HS256 verifies with JWT_SECRET_KEY",
    );
    assert_error(
        &inspect(
            &mut jwt_gate(),
            &["--key-file", &public, "--alg", "ES384", &token],
        )
        .0,
        "--alg ES384 does not fit",
    );
    assert_error(
        &inspect(&mut jwt_gate(), &["--alg", "HS256", &token]).0,
        "needs a key to verify with",
    );
    assert_error(
        &inspect(&mut with_secret(SECRET), &["--alg", "ES256", &token]).0,
        "--alg ES256 needs --key-file",
    );
    assert_error(
        &inspect(&mut jwt_gate(), &["--key-file", "/nonexistent.pem", &token]).0,
        "/nonexistent.pem",
    );
    assert_error(
        &inspect(
            &mut jwt_gate(),
            &["--key-file", fixture("rsa-1024.pem").as_str(), &token],
        )
        .0,
        "1024 bits",
    );
    assert_error(&inspect(&mut jwt_gate(), &[]).0, "<TOKEN>");

    // --key-file wins over JWT_SECRET_KEY: an HS256 token does not fit an EC key (whose ring
    // asks for the token's kid first, as a jwt-gate service with that key does).
    let (run, report) = inspect(&mut with_secret(SECRET), &["--key-file", &public, &token]);
    assert_eq!(run.code, 1, "{run:?}");
    assert_eq!(report["error"], json!("Token header has no key id (kid)"));
}

/// The PKCS#8 DER inside a PEM file, for jsonwebtoken's `EncodingKey::from_ed_der`.
fn pem_der(path: &str) -> Vec<u8> {
    let text = std::fs::read_to_string(path).unwrap();
    let body: String = text
        .lines()
        .filter(|line| !line.starts_with("-----"))
        .collect();
    base64::engine::general_purpose::STANDARD
        .decode(body)
        .unwrap()
}

/// A token signed by hand with an Ed25519 private key file: `header` and `claims` as given.
fn ed25519_signed(header: &Value, claims: &Value, private: &str) -> String {
    let input = format!(
        "{}.{}",
        URL_SAFE_NO_PAD.encode(header.to_string()),
        URL_SAFE_NO_PAD.encode(claims.to_string())
    );
    let key = EncodingKey::from_ed_der(&pem_der(private));
    let signature = crypto::sign(input.as_bytes(), &key, jsonwebtoken::Algorithm::EdDSA).unwrap();
    format!("{input}.{signature}")
}

/// A key pair verifies as a jwt-gate service's ring of one key: the token's kid must be the
/// key's (its thumbprint), checked before the signature.
#[test]
fn inspect_requires_the_kid_of_a_key_pair() {
    let (dir, kid) = keygen("EdDSA");
    let (other, _) = keygen("EdDSA");
    let private = path_str(&dir, "private.pem");
    let public = path_str(&dir, "public.pem");
    let token = mint(
        &mut jwt_gate(),
        &["--identity", "4", "--alg", "EdDSA", "--key-file", &private],
    );
    for key_file in [&public, &private] {
        let (run, report) = inspect(&mut jwt_gate(), &["--key-file", key_file, &token]);
        assert_eq!((run.code, &report["valid"]), (0, &json!(true)), "{run:?}");
    }
    let (run, _) = inspect(
        &mut jwt_gate(),
        &["--key-file", &public, "--alg", "EdDSA", &token],
    );
    assert_eq!(run.code, 0, "{run:?}");

    let claims = segment_json(&token, 1);
    let cases = [
        // Signed by the right key, under another kid.
        (
            ed25519_signed(
                &json!({"typ": "JWT", "alg": "EdDSA", "kid": "another-key"}),
                &claims,
                &private,
            ),
            "Unknown key id (kid)",
        ),
        // Signed by the right key, without a kid.
        (
            ed25519_signed(&json!({"typ": "JWT", "alg": "EdDSA"}), &claims, &private),
            "Token header has no key id (kid)",
        ),
        // The kid of the right key on a token signed by another one.
        (
            ed25519_signed(
                &json!({"typ": "JWT", "alg": "EdDSA", "kid": kid}),
                &claims,
                &path_str(&other, "private.pem"),
            ),
            "Signature verification failed",
        ),
        // Another key's token, with its own kid.
        (
            mint(
                &mut jwt_gate(),
                &[
                    "--identity",
                    "4",
                    "--alg",
                    "EdDSA",
                    "--key-file",
                    &path_str(&other, "private.pem"),
                ],
            ),
            "Unknown key id (kid)",
        ),
    ];
    for (token, error) in cases {
        let (run, report) = inspect(&mut jwt_gate(), &["--key-file", &public, &token]);
        assert_eq!(run.code, 1, "{error}: {run:?}");
        assert_eq!(report["valid"], json!(false), "{error}");
        assert_eq!(report["error"], json!(error));
    }
    // The kid of the token, changed after signing (so its header is no longer jwt-gate's).
    let (header, rest) = token.split_once('.').unwrap();
    let mut changed = segment_json(&token, 0);
    changed["kid"] = json!(format!("{kid}x"));
    let changed = format!("{}.{rest}", URL_SAFE_NO_PAD.encode(changed.to_string()));
    assert_ne!(changed.split('.').next(), Some(header));
    let (run, report) = inspect(&mut jwt_gate(), &["--key-file", &public, &changed]);
    assert_eq!(run.code, 1, "{run:?}");
    assert_eq!(report["error"], json!("Unknown key id (kid)"));
}

/// An RSA key fits RS* and PS*: without --alg the token's own (if the key fits it) is verified.
#[test]
fn inspect_takes_the_rsa_algorithm_from_the_token_unless_pinned() {
    let (dir, _) = keygen("PS256");
    let private = path_str(&dir, "private.pem");
    let public = path_str(&dir, "public.pem");
    for alg in ["RS256", "PS256", "PS512"] {
        let token = mint(
            &mut jwt_gate(),
            &["--identity", "1", "--alg", alg, "--key-file", &private],
        );
        let (run, report) = inspect(&mut jwt_gate(), &["--key-file", &public, &token]);
        assert_eq!(
            (run.code, &report["valid"]),
            (0, &json!(true)),
            "{alg}: {run:?}"
        );
        let (run, _) = inspect(
            &mut jwt_gate(),
            &["--key-file", &public, "--alg", alg, &token],
        );
        assert_eq!(run.code, 0, "{alg}: {run:?}");
        let other = if alg == "RS256" { "PS256" } else { "RS256" };
        let (run, report) = inspect(
            &mut jwt_gate(),
            &["--key-file", &public, "--alg", other, &token],
        );
        assert_eq!(run.code, 1, "{alg}: {run:?}");
        assert_eq!(
            report["error"],
            json!("The specified alg value is not allowed")
        );
    }
}

// ---- keygen --------------------------------------------------------------------------------

#[cfg(unix)]
fn mode(path: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt as _;
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

#[test]
fn keygen_writes_pkcs8_and_spki_and_prints_the_kid() {
    for alg in ASYMMETRIC {
        let (dir, kid) = keygen(alg);
        let private = std::fs::read_to_string(dir.path().join("private.pem")).unwrap();
        let public = std::fs::read_to_string(dir.path().join("public.pem")).unwrap();
        assert!(
            private.starts_with("-----BEGIN PRIVATE KEY-----\n"),
            "{alg}"
        );
        assert!(private.ends_with("-----END PRIVATE KEY-----\n"), "{alg}");
        assert!(public.starts_with("-----BEGIN PUBLIC KEY-----\n"), "{alg}");
        assert!(public.ends_with("-----END PUBLIC KEY-----\n"), "{alg}");
        #[cfg(unix)]
        assert_eq!(mode(&dir.path().join("private.pem")), 0o600, "{alg}");
        // The kid is the RFC 7638 thumbprint, as jwks prints it, from either file.
        assert_eq!(kid.len(), 43, "{alg}");
        assert!(
            kid.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        );
        for file in ["public.pem", "private.pem"] {
            let run = run(&mut jwt_gate(), &["jwks", &path_str(&dir, file)]);
            let jwks: Value = serde_json::from_str(&run.stdout).unwrap();
            assert_eq!(jwks["keys"][0]["kid"], json!(kid), "{alg} {file}");
        }
    }
}

#[test]
fn keygen_never_overwrites_without_force() {
    let (dir, kid) = keygen("ES256");
    let out = dir.path().to_str().unwrap();
    let private = dir.path().join("private.pem");
    let before = std::fs::read(&private).unwrap();
    assert_error(
        &run(&mut jwt_gate(), &["keygen", "--alg", "ES256", "--out", out]),
        "private.pem: already exists; pass --force to overwrite",
    );
    assert_eq!(std::fs::read(&private).unwrap(), before);

    // public.pem alone is enough to refuse, and nothing is written.
    std::fs::remove_file(&private).unwrap();
    assert_error(
        &run(&mut jwt_gate(), &["keygen", "--alg", "ES256", "--out", out]),
        "public.pem: already exists",
    );
    assert!(!private.exists());

    // --force replaces both, with a new key and mode 0600 even over a 0644 file.
    std::fs::write(&private, "old").unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        std::fs::set_permissions(&private, std::fs::Permissions::from_mode(0o644)).unwrap();
    }
    let run = run(
        &mut jwt_gate(),
        &["keygen", "--alg", "ES256", "--out", out, "--force"],
    );
    assert_eq!(run.code, 0, "{run:?}");
    let new_kid = run.stdout.trim_end();
    assert_ne!(new_kid, kid);
    #[cfg(unix)]
    assert_eq!(mode(&private), 0o600);
    let jwks = self::run(&mut jwt_gate(), &["jwks", &path_str(&dir, "public.pem")]);
    assert!(jwks.stdout.contains(new_kid));
    let leftovers = std::fs::read_dir(dir.path()).unwrap().count();
    assert_eq!(leftovers, 2, "no temporary file is left behind");
}

#[test]
fn keygen_creates_the_directory_and_sizes_rsa_keys() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("a/b");
    let run = run(
        &mut jwt_gate(),
        &[
            "keygen",
            "--alg",
            "PS384",
            "--bits",
            "3072",
            "--out",
            out.to_str().unwrap(),
        ],
    );
    assert_eq!(run.code, 0, "{run:?}");
    let jwks = self::run(
        &mut jwt_gate(),
        &["jwks", out.join("public.pem").to_str().unwrap()],
    );
    let jwks: Value = serde_json::from_str(&jwks.stdout).unwrap();
    let n = URL_SAFE_NO_PAD
        .decode(jwks["keys"][0]["n"].as_str().unwrap())
        .unwrap();
    assert_eq!(n.len(), 3072 / 8);
}

#[test]
fn keygen_usage_errors() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().to_str().unwrap();
    for (args, needle) in [
        (&["--alg", "HS256", "--out", out][..], "possible values"),
        (&["--alg", "ES512", "--out", out], "possible values"),
        (&["--alg", "ES256"], "--out"),
        (&["--out", out], "--alg"),
        (
            &["--alg", "ES256", "--bits", "2048", "--out", out],
            "--bits is for RSA algorithms",
        ),
        (
            &["--alg", "RS256", "--bits", "1024", "--out", out],
            "possible values: 2048, 3072, 4096",
        ),
    ] {
        let mut full = vec!["keygen"];
        full.extend_from_slice(args);
        assert_error(&run(&mut jwt_gate(), &full), needle);
    }
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
    // An --out that is a file.
    let file = dir.path().join("file");
    std::fs::write(&file, "").unwrap();
    assert_error(
        &run(
            &mut jwt_gate(),
            &["keygen", "--alg", "EdDSA", "--out", file.to_str().unwrap()],
        ),
        "file",
    );
}

// ---- jwks ----------------------------------------------------------------------------------

#[test]
fn jwks_lists_public_keys() {
    let (rsa, rsa_kid) = keygen("RS256");
    let (p384, p384_kid) = keygen("ES384");
    let rfc8037 = fixture("rfc8037-ed25519-public.pem");
    let rsa_public = path_str(&rsa, "public.pem");
    let run = run(
        &mut jwt_gate(),
        &[
            "jwks",
            &rsa_public,
            &path_str(&p384, "public.pem"),
            rfc8037.as_str(),
            &rsa_public,
        ],
    );
    assert_eq!(run.code, 0, "{run:?}");
    assert_eq!(run.stderr, "");
    let jwks: Value = serde_json::from_str(&run.stdout).unwrap();
    let keys = jwks["keys"].as_array().unwrap();
    assert_eq!(keys.len(), 3, "the repeated key is listed once");
    assert_eq!(keys[0]["kty"], "RSA");
    assert_eq!(keys[0]["alg"], "RS256");
    assert_eq!(keys[0]["use"], "sig");
    assert_eq!(keys[0]["kid"], json!(rsa_kid));
    assert_eq!(keys[0]["e"], "AQAB");
    assert!(keys[0]["n"].is_string());
    assert_eq!(keys[1]["kty"], "EC");
    assert_eq!(keys[1]["crv"], "P-384");
    assert_eq!(keys[1]["alg"], "ES384");
    assert_eq!(keys[1]["kid"], json!(p384_kid));
    assert_eq!(keys[1]["x"].as_str().unwrap().len(), 64);
    // RFC 8037 A.3's thumbprint.
    assert_eq!(
        keys[2],
        json!({
            "kty": "OKP", "use": "sig", "alg": "EdDSA",
            "kid": "kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k",
            "crv": "Ed25519", "x": "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"
        })
    );
    // jsonwebtoken reads the set and verifies a minted token with it.
    let set: jsonwebtoken::jwk::JwkSet = serde_json::from_value(jwks.clone()).unwrap();
    let token = mint(
        &mut jwt_gate(),
        &[
            "--identity",
            "1",
            "--alg",
            "RS256",
            "--key-file",
            &path_str(&rsa, "private.pem"),
        ],
    );
    let jwk = set.find(&rsa_kid).unwrap();
    let key = jsonwebtoken::DecodingKey::from_jwk(jwk).unwrap();
    let (input, signature) = token.rsplit_once('.').unwrap();
    let valid = crypto::verify(
        signature,
        input.as_bytes(),
        &key,
        jsonwebtoken::Algorithm::RS256,
    )
    .unwrap();
    assert!(valid);
}

#[test]
fn jwks_rsa_alg_and_pkcs1_public_keys() {
    let pkcs1 = fixture("rsa-pkcs1-public.pem");
    let private = fixture("rsa-pkcs1.pem");
    let run = run(
        &mut jwt_gate(),
        &[
            "jwks",
            "--rsa-alg",
            "PS512",
            pkcs1.as_str(),
            private.as_str(),
        ],
    );
    assert_eq!(run.code, 0, "{run:?}");
    let jwks: Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(jwks["keys"].as_array().unwrap().len(), 1, "same key twice");
    assert_eq!(jwks["keys"][0]["alg"], "PS512");
}

#[test]
fn jwks_errors() {
    let rsa = fixture("rsa-pkcs1-public.pem");
    let rsa = rsa.as_str();
    for (args, needle) in [
        (&[][..], "<PUBLIC_PEM>"),
        (&["/nonexistent.pem"], "/nonexistent.pem"),
        (&[rsa, "/nonexistent.pem"], "/nonexistent.pem"),
        (&["--rsa-alg", "ES256", rsa], "possible values"),
    ] {
        let mut full = vec!["jwks"];
        full.extend_from_slice(args);
        assert_error(&run(&mut jwt_gate(), &full), needle);
    }
    for (name, needle) in [
        ("README.md", "not a PEM file"),
        ("rsa-1024.pem", "1024 bits"),
        ("p521.pem", "P-521"),
        ("encrypted.pem", "encrypted"),
    ] {
        assert_error(&run(&mut jwt_gate(), &["jwks", &fixture(name)]), needle);
    }
}

// ---- help ----------------------------------------------------------------------------------

#[test]
fn every_command_has_help_with_examples() {
    for command in [&[][..], &["mint"], &["inspect"], &["keygen"], &["jwks"]] {
        let mut args = command.to_vec();
        args.push("--help");
        let run = run(&mut jwt_gate(), &args);
        assert_eq!(run.code, 0, "{run:?}");
        assert!(run.stdout.contains("Examples:"), "{run:?}");
        assert!(run.stdout.contains("Usage: jwt-gate"), "{run:?}");
        assert_eq!(run.stderr, "");
    }
    let run = run(&mut jwt_gate(), &["--version"]);
    assert_eq!(run.code, 0);
    assert!(run.stdout.starts_with("jwt-gate "));
}

#[test]
fn no_command_or_an_unknown_one_is_a_one_line_error() {
    assert_error(&run(&mut jwt_gate(), &[]), "a command is required");
    assert_error(
        &run(&mut jwt_gate(), &["sign"]),
        "unrecognized subcommand 'sign'",
    );
    assert_error(&run(&mut jwt_gate(), &["--secret", "x"]), "--secret");
}
