//! CONTRACT.md's "Keys extension", through the built `contract-server` binary: key pairs for
//! every asymmetric algorithm, the `kid` header and `/.well-known/jwks.json`, the refusal of
//! bad key files at start, HMAC left exactly as Flask-JWT had it, `JWT_ISSUER` /
//! `JWT_AUDIENCE`, and verify-only mode.
//!
//! Keys come from `jwt_gate::Key::generate` and, where `openssl` is installed, from `openssl`
//! itself (so that keys of the usual tooling load too). The `kid` is checked against an RFC 7638
//! thumbprint computed here from the PEM file, and signatures against `openssl`; tokens the
//! server must refuse are signed with jwt-gate's own `Jwt::issue` on other keys, or with
//! `openssl`. Verify-only mode (`JWT_JWKS_URL`) is checked against a signing server and against
//! a JWKS served by the test, which counts the fetches.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a test fails by panicking; helpers outside #[test] fns too"
)]

mod common;

use std::io::{Read as _, Write as _};
use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use common::{Response, Server, run_to_exit, token_part};
use jwt_gate::{Algorithm, Claims, Credentials, Identity, Jwt, JwtConfig, Key, Keys};
use serde_json::{Value, json};
use sha2::{Digest as _, Sha256};

/// Every asymmetric algorithm of the contract.
const ASYMMETRIC: [Algorithm; 9] = [
    Algorithm::RS256,
    Algorithm::RS384,
    Algorithm::RS512,
    Algorithm::PS256,
    Algorithm::PS384,
    Algorithm::PS512,
    Algorithm::ES256,
    Algorithm::ES384,
    Algorithm::EdDSA,
];

/// One algorithm of each key family and padding.
const FAMILIES: [Algorithm; 5] = [
    Algorithm::RS256,
    Algorithm::PS256,
    Algorithm::ES256,
    Algorithm::ES384,
    Algorithm::EdDSA,
];

/// The contract's default secret (JWT_SECRET_KEY unset).
const DEFAULT_SECRET: &str = "super-secret-test-key-0123456789abcdef";

fn user1() -> Value {
    json!({"id": 1, "username": "user1"})
}

/// A directory of its own under the system's temp dir, removed when dropped.
struct TempDir(PathBuf);

impl TempDir {
    fn new() -> Self {
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        let path = std::env::temp_dir().join(format!(
            "contract-server-keys-{}-{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::SeqCst)
        ));
        std::fs::create_dir_all(&path).unwrap();
        Self(path)
    }

    /// Writes `name` and answers its path.
    fn write(&self, name: &str, contents: impl AsRef<[u8]>) -> String {
        let path = self.0.join(name);
        std::fs::write(&path, contents).unwrap();
        path.display().to_string()
    }

    fn path(&self, name: &str) -> String {
        self.0.join(name).display().to_string()
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        std::fs::remove_dir_all(&self.0).ok();
    }
}

/// A key pair written as PEM files, as the server reads it.
struct KeyFiles {
    dir: TempDir,
    algorithm: Algorithm,
    private: String,
    public: String,
    private_pem: String,
    public_pem: String,
}

impl KeyFiles {
    /// A new pair from `jwt_gate::Key::generate` (PKCS#8 and SPKI).
    fn generate(algorithm: Algorithm) -> Self {
        let pair = Key::generate(algorithm).unwrap();
        Self::from_pem(algorithm, &pair.private_pem, &pair.public_pem)
    }

    fn from_pem(algorithm: Algorithm, private_pem: &str, public_pem: &str) -> Self {
        let dir = TempDir::new();
        let private = dir.write("private.pem", private_pem);
        let public = dir.write("public.pem", public_pem);
        Self {
            dir,
            algorithm,
            private,
            public,
            private_pem: private_pem.to_owned(),
            public_pem: public_pem.to_owned(),
        }
    }

    /// `JWT_ALGORITHM`, `JWT_PRIVATE_KEY_FILE` and `JWT_PUBLIC_KEY_FILE`.
    fn vars(&self) -> Vec<(&'static str, String)> {
        vec![
            ("JWT_ALGORITHM", self.algorithm.as_str().to_owned()),
            ("JWT_PRIVATE_KEY_FILE", self.private.clone()),
            ("JWT_PUBLIC_KEY_FILE", self.public.clone()),
        ]
    }

    /// The RFC 7638 thumbprint of the public key, computed here from the PEM file.
    fn thumbprint(&self) -> String {
        let (_, canonical) = public_jwk_members(self.algorithm, &self.public_pem);
        URL_SAFE_NO_PAD.encode(Sha256::digest(canonical.as_bytes()))
    }

    /// The private key, to sign with in the test.
    fn signing_key(&self) -> Key {
        Key::from_pem(self.algorithm, self.private_pem.as_bytes()).unwrap()
    }
}

fn start(vars: &[(&str, String)]) -> Server {
    let vars: Vec<(&str, &str)> = vars.iter().map(|(n, v)| (*n, v.as_str())).collect();
    Server::start(&vars)
}

fn with(
    mut vars: Vec<(&'static str, String)>,
    extra: &[(&'static str, &str)],
) -> Vec<(&'static str, String)> {
    vars.extend(extra.iter().map(|(n, v)| (*n, (*v).to_owned())));
    vars
}

// ---------------------------------------------------------------------------------------------
// Signing tokens in the test.

/// A user of the test's own signer, known by its id only.
#[derive(Clone, Debug)]
struct Subject(i64);

impl Identity for Subject {
    type Id = i64;
    fn id(&self) -> i64 {
        self.0
    }
}

/// A token for identity `id`, signed by jwt-gate with `key` (whose `kid`, if any, goes into the
/// header) and carrying the `iss` / `aud` of `config`.
fn sign(key: Key, config: JwtConfig, id: i64) -> String {
    let jwt: Jwt<Subject> = Jwt::builder(Keys::new(key).unwrap())
        .config(config)
        .authenticate(|_: Credentials| async { Ok::<_, std::convert::Infallible>(None) })
        .identity(|claims: Claims<i64>| async move {
            Ok::<_, std::convert::Infallible>(Some(Subject(claims.identity)))
        })
        .build()
        .unwrap();
    jwt.issue(&Subject(id)).unwrap()
}

fn claims_now(extra: &Value) -> Value {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let mut claims = json!({"identity": 1, "iat": now, "nbf": now, "exp": now + 300});
    for (name, value) in extra.as_object().unwrap() {
        claims[name] = value.clone();
    }
    claims
}

/// `header.claims.signature` with the signature computed by `signature(signing_input)`.
fn compact(header: &Value, claims: &Value, signature: impl Fn(&[u8]) -> Vec<u8>) -> String {
    let input = format!(
        "{}.{}",
        URL_SAFE_NO_PAD.encode(header.to_string()),
        URL_SAFE_NO_PAD.encode(claims.to_string())
    );
    let signature = signature(input.as_bytes());
    format!("{input}.{}", URL_SAFE_NO_PAD.encode(signature))
}

fn hmac_sha256(secret: &[u8], message: &[u8]) -> Vec<u8> {
    use hmac::Mac as _;
    let mut mac = hmac::Hmac::<Sha256>::new_from_slice(secret).unwrap();
    mac.update(message);
    mac.finalize().into_bytes().to_vec()
}

// ---------------------------------------------------------------------------------------------
// The public key, read here without jwt-gate: a minimal DER reader for SPKI.

/// One DER TLV: (tag, contents, rest).
fn der(input: &[u8]) -> (u8, &[u8], &[u8]) {
    let tag = input[0];
    let (length, header) = match input[1] {
        short if short < 0x80 => (usize::from(short), 2),
        long => {
            let count = usize::from(long & 0x7f);
            let length = input[2..2 + count]
                .iter()
                .fold(0, |acc, byte| acc * 256 + usize::from(*byte));
            (length, 2 + count)
        }
    };
    (
        tag,
        &input[header..header + length],
        &input[header + length..],
    )
}

fn pem_body(pem: &str) -> Vec<u8> {
    let base64: String = pem
        .lines()
        .filter(|line| !line.starts_with("-----"))
        .collect();
    STANDARD.decode(base64).unwrap()
}

/// The public JWK members of an SPKI PEM (`"PUBLIC KEY"`) for `algorithm`, and the RFC 7638
/// canonical JSON they hash to.
fn public_jwk_members(algorithm: Algorithm, public_pem: &str) -> (Value, String) {
    assert!(public_pem.starts_with("-----BEGIN PUBLIC KEY-----"));
    let spki = pem_body(public_pem);
    let (_, spki, _) = der(&spki);
    let (_, _algorithm_identifier, rest) = der(spki);
    let (tag, bit_string, _) = der(rest);
    assert_eq!(tag, 0x03, "SPKI holds a BIT STRING");
    let key = &bit_string[1..];
    let b64 = |bytes: &[u8]| URL_SAFE_NO_PAD.encode(bytes);
    match algorithm.as_str() {
        "ES256" | "ES384" => {
            let (crv, size) = if algorithm == Algorithm::ES256 {
                ("P-256", 32)
            } else {
                ("P-384", 48)
            };
            assert_eq!((key[0], key.len()), (4, 1 + 2 * size), "uncompressed point");
            let (x, y) = (b64(&key[1..=size]), b64(&key[1 + size..]));
            let canonical = format!(r#"{{"crv":"{crv}","kty":"EC","x":"{x}","y":"{y}"}}"#);
            (json!({"kty": "EC", "crv": crv, "x": x, "y": y}), canonical)
        }
        "EdDSA" => {
            let x = b64(key);
            let canonical = format!(r#"{{"crv":"Ed25519","kty":"OKP","x":"{x}"}}"#);
            (json!({"kty": "OKP", "crv": "Ed25519", "x": x}), canonical)
        }
        _ => {
            let (_, rsa, _) = der(key);
            let (_, n, rest) = der(rsa);
            let (_, e, _) = der(rest);
            let strip = |int: &[u8]| {
                let start = int.iter().position(|b| *b != 0).unwrap_or(int.len());
                int[start..].to_vec()
            };
            let (n, e) = (b64(&strip(n)), b64(&strip(e)));
            let canonical = format!(r#"{{"e":"{e}","kty":"RSA","n":"{n}"}}"#);
            (json!({"kty": "RSA", "n": n, "e": e}), canonical)
        }
    }
}

// ---------------------------------------------------------------------------------------------
// openssl, when installed: keys from the usual tooling, and an independent signer / verifier.

fn openssl_available() -> bool {
    let available = Command::new("openssl")
        .arg("version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|status| status.success());
    if !available {
        eprintln!("SKIPPED: `openssl` is not installed; the cases that need it are not run");
    }
    available
}

fn openssl(args: &[&str]) -> Vec<u8> {
    let output = Command::new("openssl").args(args).output().unwrap();
    assert!(
        output.status.success(),
        "openssl {args:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    output.stdout
}

/// The `openssl dgst` digest and padding options of an RSA or ECDSA algorithm.
fn dgst_options(algorithm: Algorithm) -> Vec<&'static str> {
    let name = algorithm.as_str();
    let digest = match &name[2..] {
        "384" => "-sha384",
        "512" => "-sha512",
        _ => "-sha256",
    };
    let mut options = vec![digest];
    if name.starts_with("PS") {
        // RFC 7518 §3.5: MGF1 with the same hash, a salt as long as the hash.
        options.extend([
            "-sigopt",
            "rsa_padding_mode:pss",
            "-sigopt",
            "rsa_pss_saltlen:digest",
        ]);
    }
    options
}

/// JWS (RFC 7518 §3.4) ECDSA signature `r || s` from a DER `Ecdsa-Sig-Value`.
fn ecdsa_raw(der_signature: &[u8], size: usize) -> Vec<u8> {
    let (_, sequence, _) = der(der_signature);
    let (_, r, rest) = der(sequence);
    let (_, s, _) = der(rest);
    let mut raw = Vec::new();
    for int in [r, s] {
        let int = &int[int.len().saturating_sub(size)..];
        raw.extend(std::iter::repeat_n(0, size - int.len()));
        raw.extend_from_slice(int);
    }
    raw
}

/// A DER `Ecdsa-Sig-Value` from a JWS `r || s`.
fn ecdsa_der(raw: &[u8]) -> Vec<u8> {
    let mut sequence = Vec::new();
    for half in raw.chunks(raw.len() / 2) {
        let start = half.iter().position(|b| *b != 0).unwrap_or(half.len() - 1);
        let mut int = half[start..].to_vec();
        if int[0] & 0x80 != 0 {
            int.insert(0, 0);
        }
        sequence.push(0x02);
        sequence.push(u8::try_from(int.len()).unwrap());
        sequence.extend(int);
    }
    let mut der = vec![0x30, u8::try_from(sequence.len()).unwrap()];
    der.extend(sequence);
    der
}

fn ec_size(algorithm: Algorithm) -> usize {
    if algorithm == Algorithm::ES384 {
        48
    } else {
        32
    }
}

/// Signs `message` with the private key file of `files`, by `openssl`, as `algorithm` does.
fn openssl_sign(files: &KeyFiles, message: &[u8]) -> Vec<u8> {
    let input = files.dir.write("message", message);
    let algorithm = files.algorithm;
    if algorithm == Algorithm::EdDSA {
        return openssl(&[
            "pkeyutl",
            "-sign",
            "-inkey",
            &files.private,
            "-rawin",
            "-in",
            &input,
        ]);
    }
    let mut args = vec!["dgst"];
    args.extend(dgst_options(algorithm));
    args.extend(["-sign", &files.private, &input]);
    let signature = openssl(&args);
    if algorithm.as_str().starts_with("ES") {
        ecdsa_raw(&signature, ec_size(algorithm))
    } else {
        signature
    }
}

/// Whether `openssl` accepts the signature of `token` under the public key file of `files`.
fn openssl_verifies(files: &KeyFiles, token: &str) -> bool {
    let (input, signature) = token.rsplit_once('.').unwrap();
    let mut signature = URL_SAFE_NO_PAD.decode(signature).unwrap();
    let algorithm = files.algorithm;
    if algorithm.as_str().starts_with("ES") {
        assert_eq!(signature.len(), 2 * ec_size(algorithm), "JWS r || s");
        signature = ecdsa_der(&signature);
    }
    let message = files.dir.write("message", input);
    let signature_file = files.dir.write("signature", signature);
    let mut args = if algorithm == Algorithm::EdDSA {
        vec![
            "pkeyutl",
            "-verify",
            "-pubin",
            "-inkey",
            &files.public,
            "-rawin",
        ]
    } else {
        let mut args = vec!["dgst"];
        args.extend(dgst_options(algorithm));
        args.extend(["-verify", &files.public]);
        args
    };
    if algorithm == Algorithm::EdDSA {
        args.extend(["-in", &message, "-sigfile", &signature_file]);
    } else {
        args.extend(["-signature", &signature_file, &message]);
    }
    Command::new("openssl")
        .args(&args)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .unwrap()
        .success()
}

/// A new key pair made by `openssl` for `algorithm`: (private PEM, public PEM).
fn openssl_pair(algorithm: Algorithm, dir: &TempDir) -> (String, String) {
    let private = dir.path(&format!("{algorithm}-openssl.pem"));
    match algorithm.as_str() {
        // PKCS#1 (`BEGIN RSA PRIVATE KEY`), which the contract accepts for RSA.
        "RS256" => openssl(&["genrsa", "-traditional", "-out", &private, "2048"]),
        "ES256" => openssl(&[
            "genpkey",
            "-algorithm",
            "EC",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
            "-out",
            &private,
        ]),
        "ES384" => openssl(&[
            "genpkey",
            "-algorithm",
            "EC",
            "-pkeyopt",
            "ec_paramgen_curve:P-384",
            "-out",
            &private,
        ]),
        "EdDSA" => openssl(&["genpkey", "-algorithm", "ED25519", "-out", &private]),
        _ => openssl(&[
            "genpkey",
            "-algorithm",
            "RSA",
            "-pkeyopt",
            "rsa_keygen_bits:2048",
            "-out",
            &private,
        ]),
    };
    let public = openssl(&["pkey", "-in", &private, "-pubout"]);
    (
        std::fs::read_to_string(&private).unwrap(),
        String::from_utf8(public).unwrap(),
    )
}

// ---------------------------------------------------------------------------------------------
// Assertions.

fn invalid_token(description: &str) -> Value {
    json!({"status_code": 401, "error": "Invalid token", "description": description})
}

#[track_caller]
fn assert_refused(server: &Server, token: &str, description: &str) {
    let response = server.with_token("GET", "/protected", token);
    assert_eq!(response.status, 401, "{description}: {:?}", response.body);
    assert_eq!(
        response.header("www-authenticate"),
        Some(r#"JWT realm="Login Required""#)
    );
    assert_eq!(response.json(), invalid_token(description));
}

#[track_caller]
fn assert_accepted(server: &Server, token: &str, user: &Value) {
    let response = server.with_token("GET", "/protected", token);
    assert_eq!(response.status, 200, "{:?}", response.body);
    assert_eq!(&response.json(), user);
}

fn jwks(server: &Server) -> Response {
    let response = server.request("GET", "/.well-known/jwks.json", &[], None);
    assert_eq!(response.status, 200, "{:?}", response.body);
    assert_eq!(response.header("content-type"), Some("application/json"));
    response
}

/// Exit status 2 with one line on stderr naming `variable`, and no key material in it.
#[track_caller]
fn assert_exits_naming(vars: &[(&str, &str)], variable: &str) {
    let (code, stderr) = run_to_exit(vars);
    assert_eq!(code, Some(2), "{vars:?}: {stderr}");
    assert_eq!(stderr.trim_end().lines().count(), 1, "{vars:?}: {stderr}");
    assert!(
        stderr.contains(&format!("{variable}:")),
        "{vars:?} should name {variable}: {stderr}"
    );
    assert!(
        !stderr.contains("-----") && !stderr.contains("BEGIN"),
        "{stderr}"
    );
}

// ---------------------------------------------------------------------------------------------
// Key pairs.

#[test]
fn every_asymmetric_algorithm_signs_with_its_thumbprint_as_kid_and_publishes_the_key() {
    let openssl = openssl_available();
    for algorithm in ASYMMETRIC {
        let files = KeyFiles::generate(algorithm);
        let server = start(&files.vars());
        let response = server.login(r#"{"username":"user1","password":"abcxyz"}"#);
        assert_eq!(response.status, 200, "{algorithm}: {:?}", response.body);
        assert_eq!(response.header("cache-control"), Some("no-store"));
        let token = response.json()["access_token"].as_str().unwrap().to_owned();

        let kid = files.thumbprint();
        assert_eq!(
            token_part(&token, 0),
            json!({"typ": "JWT", "alg": algorithm.as_str(), "kid": kid}),
            "{algorithm}"
        );
        let claims = token_part(&token, 1);
        let mut names: Vec<&str> = claims
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        names.sort_unstable();
        assert_eq!(names, ["exp", "iat", "identity", "nbf"], "{algorithm}");
        assert_eq!(claims["identity"], 1);
        if openssl {
            assert!(
                openssl_verifies(&files, &token),
                "{algorithm}: openssl disagrees"
            );
            let stranger = KeyFiles::generate(algorithm);
            assert!(!openssl_verifies(&stranger, &token), "{algorithm}");
        }
        assert_accepted(&server, &token, &user1());
        let user2 = server
            .login(r#"{"username":"user2","password":"xyzabc"}"#)
            .json();
        assert_accepted(
            &server,
            user2["access_token"].as_str().unwrap(),
            &json!({"id": 2, "username": "user2"}),
        );

        // The JWKS: this one public key, with kid, alg and use, nothing private.
        let document = jwks(&server).json();
        let keys = document["keys"].as_array().unwrap();
        assert_eq!(keys.len(), 1, "{algorithm}: {document}");
        let published = keys[0].as_object().unwrap();
        assert_eq!(published["kid"], kid.as_str());
        assert_eq!(published["alg"], algorithm.as_str());
        assert_eq!(published["use"], "sig");
        let (members, _) = public_jwk_members(algorithm, &files.public_pem);
        for (name, value) in members.as_object().unwrap() {
            assert_eq!(&published[name], value, "{algorithm}: {name}");
        }
        for private in ["d", "p", "q", "dp", "dq", "qi", "oth", "k"] {
            assert!(
                !published.contains_key(private),
                "{algorithm}: {private} published"
            );
        }
        let mut allowed: Vec<&str> = members
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        allowed.extend(["kid", "alg", "use", "key_ops"]);
        for name in published.keys() {
            assert!(
                allowed.contains(&name.as_str()),
                "{algorithm}: unexpected member {name}"
            );
        }
    }
}

#[test]
fn keys_made_by_openssl_load_too() {
    if !openssl_available() {
        return;
    }
    let dir = TempDir::new();
    for algorithm in FAMILIES {
        let (private_pem, public_pem) = openssl_pair(algorithm, &dir);
        let files = KeyFiles::from_pem(algorithm, &private_pem, &public_pem);
        let server = start(&files.vars());
        let token = server.token();
        assert_eq!(
            token_part(&token, 0)["kid"],
            files.thumbprint(),
            "{algorithm}"
        );
        assert!(openssl_verifies(&files, &token), "{algorithm}");
        assert_accepted(&server, &token, &user1());
    }
}

#[test]
fn tokens_the_key_ring_does_not_know_are_refused() {
    let openssl = openssl_available();
    for algorithm in FAMILIES {
        let files = KeyFiles::generate(algorithm);
        let server = start(&files.vars());
        let kid = files.thumbprint();
        let own = files.signing_key();
        let config = JwtConfig::default();

        // The test's signer is right: the server's own key under its own kid passes.
        assert_accepted(&server, &sign(own.clone(), config.clone(), 1), &user1());

        // The server's own key under another kid.
        let renamed = sign(
            own.clone().with_kid("not-a-key-of-this-server"),
            config.clone(),
            1,
        );
        assert_refused(&server, &renamed, "Unknown key id (kid)");

        // Another key of the same algorithm, claiming the server's kid.
        let other = KeyFiles::generate(algorithm)
            .signing_key()
            .with_kid(kid.as_str());
        let forged = sign(other, config.clone(), 1);
        assert_eq!(token_part(&forged, 0)["kid"], kid.as_str());
        assert_refused(&server, &forged, "Signature verification failed");

        // Another algorithm under the server's kid: a key of another family, and for RSA the
        // same key with the other padding.
        let foreign = if algorithm == Algorithm::ES256 {
            Algorithm::ES384
        } else {
            Algorithm::ES256
        };
        let other_alg = KeyFiles::generate(foreign)
            .signing_key()
            .with_kid(kid.as_str());
        assert_refused(
            &server,
            &sign(other_alg, config.clone(), 1),
            "The specified alg value is not allowed",
        );
        if algorithm.as_str().starts_with("RS") || algorithm.as_str().starts_with("PS") {
            let twin = if algorithm == Algorithm::RS256 {
                Algorithm::PS256
            } else {
                Algorithm::RS256
            };
            let same_key = Key::from_pem(twin, files.private_pem.as_bytes())
                .unwrap()
                .with_kid(kid.as_str());
            assert_refused(
                &server,
                &sign(same_key, config.clone(), 1),
                "The specified alg value is not allowed",
            );
        }
        // Algorithm confusion: HS256 keyed with the public key's PEM text.
        let confused = compact(
            &json!({"typ": "JWT", "alg": "HS256", "kid": kid}),
            &claims_now(&json!({})),
            |input| hmac_sha256(files.public_pem.as_bytes(), input),
        );
        assert_refused(&server, &confused, "The specified alg value is not allowed");
        let none = compact(
            &json!({"typ": "JWT", "alg": "none", "kid": kid}),
            &claims_now(&json!({})),
            |_| Vec::new(),
        );
        assert_refused(&server, &none, "The specified alg value is not allowed");

        // No kid at all: signed by the server's own key with openssl when it is there (else the
        // kid is cut out of a valid token, which the kid check refuses before the signature).
        let header = json!({"typ": "JWT", "alg": algorithm.as_str()});
        let no_kid = if openssl {
            let token = compact(&header, &claims_now(&json!({})), |input| {
                openssl_sign(&files, input)
            });
            // The same, with the kid, passes: the signature is right.
            let with_kid = compact(
                &json!({"typ": "JWT", "alg": algorithm.as_str(), "kid": kid}),
                &claims_now(&json!({})),
                |input| openssl_sign(&files, input),
            );
            assert_accepted(&server, &with_kid, &user1());
            token
        } else {
            let valid = server.token();
            let (_, rest) = valid.split_once('.').unwrap();
            format!("{}.{rest}", URL_SAFE_NO_PAD.encode(header.to_string()))
        };
        assert_refused(&server, &no_kid, "Token header has no key id (kid)");

        // An HMAC token under the default secret means nothing to a key-pair server.
        let hmac = compact(
            &json!({"typ": "JWT", "alg": "HS256"}),
            &claims_now(&json!({})),
            |input| hmac_sha256(DEFAULT_SECRET.as_bytes(), input),
        );
        assert_refused(&server, &hmac, "Token header has no key id (kid)");
    }
}

#[test]
fn tokens_of_one_key_pair_server_are_refused_by_another() {
    let first = KeyFiles::generate(Algorithm::EdDSA);
    let second = KeyFiles::generate(Algorithm::EdDSA);
    let a = start(&first.vars());
    let b = start(&second.vars());
    let token = a.token();
    assert_accepted(&a, &token, &user1());
    assert_refused(&b, &token, "Unknown key id (kid)");
    // Same key files, another process: the thumbprint is the same, so the token is good.
    let a_again = start(&first.vars());
    assert_accepted(&a_again, &token, &user1());
}

// ---------------------------------------------------------------------------------------------
// Bad key files.

#[test]
fn bad_key_files_stop_the_server_with_exit_2_naming_the_variable() {
    let dir = TempDir::new();
    let es256 = KeyFiles::generate(Algorithm::ES256);
    let other = KeyFiles::generate(Algorithm::ES256);
    let p384 = KeyFiles::generate(Algorithm::ES384);
    let ed = KeyFiles::generate(Algorithm::EdDSA);
    let rsa = KeyFiles::generate(Algorithm::RS256);
    let garbage = dir.write("garbage.pem", "this is not a key\n");
    let empty = dir.write("empty.pem", "");
    let truncated = dir.write(
        "truncated.pem",
        &es256.private_pem[..es256.private_pem.len() / 2],
    );
    let missing = dir.path("missing.pem");
    let directory = dir.0.display().to_string();
    let (private, public) = (es256.private.as_str(), es256.public.as_str());

    let cases: Vec<(&str, Option<&str>, Option<&str>, &str)> = vec![
        ("ES256", None, Some(public), "JWT_PRIVATE_KEY_FILE"),
        ("ES256", Some(private), None, "JWT_PUBLIC_KEY_FILE"),
        ("ES256", None, None, "JWT_PRIVATE_KEY_FILE"),
        ("ES256", Some(""), Some(public), "JWT_PRIVATE_KEY_FILE"),
        (
            "ES256",
            Some(&missing),
            Some(public),
            "JWT_PRIVATE_KEY_FILE",
        ),
        (
            "ES256",
            Some(private),
            Some(&missing),
            "JWT_PUBLIC_KEY_FILE",
        ),
        (
            "ES256",
            Some(&directory),
            Some(public),
            "JWT_PRIVATE_KEY_FILE",
        ),
        (
            "ES256",
            Some(private),
            Some(&directory),
            "JWT_PUBLIC_KEY_FILE",
        ),
        (
            "ES256",
            Some(&garbage),
            Some(public),
            "JWT_PRIVATE_KEY_FILE",
        ),
        (
            "ES256",
            Some(private),
            Some(&garbage),
            "JWT_PUBLIC_KEY_FILE",
        ),
        ("ES256", Some(&empty), Some(public), "JWT_PRIVATE_KEY_FILE"),
        (
            "ES256",
            Some(&truncated),
            Some(public),
            "JWT_PRIVATE_KEY_FILE",
        ),
        // A mismatched pair.
        (
            "ES256",
            Some(private),
            Some(&other.public),
            "JWT_PUBLIC_KEY_FILE",
        ),
        // The public key given as the private one, and the private as the public one.
        ("ES256", Some(public), Some(public), "JWT_PRIVATE_KEY_FILE"),
        ("ES256", Some(private), Some(private), "JWT_PUBLIC_KEY_FILE"),
        // Keys of another algorithm.
        ("RS256", Some(private), Some(public), "JWT_PRIVATE_KEY_FILE"),
        ("ES384", Some(private), Some(public), "JWT_PRIVATE_KEY_FILE"),
        (
            "ES256",
            Some(&p384.private),
            Some(&p384.public),
            "JWT_PRIVATE_KEY_FILE",
        ),
        ("EdDSA", Some(private), Some(public), "JWT_PRIVATE_KEY_FILE"),
        (
            "ES256",
            Some(&ed.private),
            Some(&ed.public),
            "JWT_PRIVATE_KEY_FILE",
        ),
        (
            "PS256",
            Some(&ed.private),
            Some(&ed.public),
            "JWT_PRIVATE_KEY_FILE",
        ),
        (
            "EdDSA",
            Some(&ed.private),
            Some(&rsa.public),
            "JWT_PUBLIC_KEY_FILE",
        ),
        (
            "RS256",
            Some(&rsa.private),
            Some(&ed.public),
            "JWT_PUBLIC_KEY_FILE",
        ),
    ];
    for (algorithm, private, public, variable) in &cases {
        let mut vars = vec![("JWT_ALGORITHM", *algorithm)];
        if let Some(path) = private {
            vars.push(("JWT_PRIVATE_KEY_FILE", path));
        }
        if let Some(path) = public {
            vars.push(("JWT_PUBLIC_KEY_FILE", path));
        }
        assert_exits_naming(&vars, variable);
    }

    // A file the server may not read (not checkable as root, who reads anything).
    {
        use std::os::unix::fs::PermissionsExt as _;
        let locked = dir.write("locked.pem", es256.private_pem.as_bytes());
        std::fs::set_permissions(&locked, std::fs::Permissions::from_mode(0o000)).unwrap();
        if std::fs::read(&locked).is_err() {
            assert_exits_naming(
                &[
                    ("JWT_ALGORITHM", "ES256"),
                    ("JWT_PRIVATE_KEY_FILE", &locked),
                    ("JWT_PUBLIC_KEY_FILE", public),
                ],
                "JWT_PRIVATE_KEY_FILE",
            );
        } else {
            eprintln!("SKIPPED: running as root, an unreadable file cannot be made");
        }
    }

    // RSA under 2048 bits, from openssl (jwt-gate generates no such key).
    if openssl_available() {
        let small = dir.path("rsa1024.pem");
        openssl(&["genrsa", "-out", &small, "1024"]);
        let small_public = dir.write("rsa1024.pub", openssl(&["pkey", "-in", &small, "-pubout"]));
        for algorithm in ["RS256", "PS512"] {
            assert_exits_naming(
                &[
                    ("JWT_ALGORITHM", algorithm),
                    ("JWT_PRIVATE_KEY_FILE", &small),
                    ("JWT_PUBLIC_KEY_FILE", &small_public),
                ],
                "JWT_PRIVATE_KEY_FILE",
            );
        }
        assert_exits_naming(
            &[
                ("JWT_ALGORITHM", "RS256"),
                ("JWT_PRIVATE_KEY_FILE", &rsa.private),
                ("JWT_PUBLIC_KEY_FILE", &small_public),
            ],
            "JWT_PUBLIC_KEY_FILE",
        );
    }
}

// ---------------------------------------------------------------------------------------------
// HMAC stays Flask-JWT's.

#[test]
fn hmac_keeps_flask_jwt_s_header_publishes_no_key_and_ignores_an_incoming_kid() {
    for (algorithm, secret) in [
        (None, DEFAULT_SECRET),
        (Some("HS384"), "another secret of at least thirty-two bytes"),
        (
            Some("HS512"),
            "yet another secret of at least thirty-two bytes",
        ),
    ] {
        let mut vars = Vec::new();
        if let Some(algorithm) = algorithm {
            vars.push(("JWT_ALGORITHM", algorithm.to_owned()));
            vars.push(("JWT_SECRET_KEY", secret.to_owned()));
        }
        let server = start(&vars);
        let name = algorithm.unwrap_or("HS256");
        let document = jwks(&server);
        assert_eq!(document.json(), json!({"keys": []}));
        assert!(!document.body.contains(secret));

        let token = server.token();
        assert_eq!(token_part(&token, 0), json!({"typ": "JWT", "alg": name}));
        assert_accepted(&server, &token, &user1());

        // The same secret under a kid (any kid): accepted, the kid is ignored.
        let algorithm = name.parse::<Algorithm>().unwrap();
        for kid in ["k1", "no-such-key"] {
            let key = Key::hmac(algorithm, secret).unwrap().with_kid(kid);
            let token = sign(key, JwtConfig::default(), 2);
            assert_eq!(token_part(&token, 0)["kid"], kid);
            assert_accepted(&server, &token, &json!({"id": 2, "username": "user2"}));
        }
        // A kid does not make another secret's token good.
        let wrong = Key::hmac(algorithm, "a different secret, thirty-two bytes or more")
            .unwrap()
            .with_kid("k1");
        assert_refused(
            &server,
            &sign(wrong, JwtConfig::default(), 1),
            "Signature verification failed",
        );
    }
}

// ---------------------------------------------------------------------------------------------
// The JWKS route.

#[test]
fn the_jwks_route_is_always_there_and_never_shadowed() {
    let es256 = KeyFiles::generate(Algorithm::ES256);
    let es256_vars = with(es256.vars(), &[("APP_CUSTOM_ERROR_HANDLER", "1")]);
    let everything = [
        ("APP_LIFECYCLE", "1".to_owned()),
        ("APP_TOKEN_LOCATION", "headers,cookies".to_owned()),
        ("APP_METRICS", "1".to_owned()),
        ("APP_LOGIN_THROTTLE", "3".to_owned()),
        ("JWT_AUTH_URL_RULE", "/.well-known/login".to_owned()),
    ];
    for (vars, keys, custom) in [
        (Vec::new(), 0, false),
        (everything.to_vec(), 0, false),
        (es256_vars, 1, true),
    ] {
        let server = start(&vars);
        let document = jwks(&server).json();
        assert_eq!(document["keys"].as_array().unwrap().len(), keys, "{vars:?}");
        let head = server.request("HEAD", "/.well-known/jwks.json", &[], None);
        assert_eq!(head.status, 200);
        assert!(head.body.is_empty());
        for method in ["POST", "PUT", "DELETE", "OPTIONS"] {
            let response = server.request(method, "/.well-known/jwks.json", &[], None);
            assert_eq!(response.status, 405, "{method} {vars:?}");
            let expected = if custom {
                json!({"message": "Method not allowed", "code": 405})
            } else {
                json!({"status_code": 405, "error": "Method Not Allowed", "description": "Method not allowed"})
            };
            assert_eq!(response.json(), expected, "{method}");
        }
        for path in [
            "/.well-known/jwks.json/",
            "/.well-known/jwks",
            "/.well-known/",
        ] {
            let response = server.request("GET", path, &[], None);
            assert_eq!(response.status, 404, "{path}");
        }
        // The other routes are where they were.
        assert_eq!(server.request("GET", "/public", &[], None).status, 200);
        assert_eq!(server.request("GET", "/protected", &[], None).status, 401);
    }
    let login_rule = start(&everything);
    let login = login_rule.request(
        "POST",
        "/.well-known/login",
        &[("Content-Type", "application/json")],
        Some(r#"{"username":"user1","password":"abcxyz"}"#),
    );
    assert_eq!(login.status, 200, "{:?}", login.body);

    // The login may not take the JWKS path, whatever else is configured.
    let rule = ("JWT_AUTH_URL_RULE", "/.well-known/jwks.json");
    assert_exits_naming(&[rule], "JWT_AUTH_URL_RULE");
    assert_exits_naming(&[rule, ("APP_LIFECYCLE", "1")], "JWT_AUTH_URL_RULE");
    let key_pair = with(es256.vars(), &[rule]);
    let key_pair: Vec<(&str, &str)> = key_pair.iter().map(|(n, v)| (*n, v.as_str())).collect();
    assert_exits_naming(&key_pair, "JWT_AUTH_URL_RULE");
    // Nor the metrics route when it is on.
    assert_exits_naming(
        &[("JWT_AUTH_URL_RULE", "/metrics"), ("APP_METRICS", "1")],
        "JWT_AUTH_URL_RULE",
    );
}

// ---------------------------------------------------------------------------------------------
// Issuer and audience.

#[test]
fn issuer_and_audience_are_issued_and_required() {
    const ISSUER: &str = "https://issuer.example";
    let es256 = KeyFiles::generate(Algorithm::ES256);
    for (vars, key) in [
        (
            Vec::new(),
            Key::hmac(Algorithm::HS256, DEFAULT_SECRET).unwrap(),
        ),
        (es256.vars(), es256.signing_key()),
    ] {
        let vars = with(
            vars,
            &[("JWT_ISSUER", ISSUER), ("JWT_AUDIENCE", "api, admin")],
        );
        let server = start(&vars);
        let token = server.token();
        let claims = token_part(&token, 1);
        assert_eq!(claims["iss"], ISSUER);
        assert_eq!(claims["aud"], "api");
        assert_accepted(&server, &token, &user1());

        let config = |issuer: Option<&str>, audience: &[&str]| {
            let mut config = JwtConfig::default();
            config.issuer = issuer.map(str::to_owned);
            config.audience = audience.iter().map(|a| (*a).to_owned()).collect();
            config
        };
        let signed = |config: JwtConfig| sign(key.clone(), config, 1);
        // Any of the configured audiences will do.
        assert_accepted(&server, &signed(config(Some(ISSUER), &["admin"])), &user1());
        assert_refused(
            &server,
            &signed(config(Some("https://other.example"), &["api"])),
            "Invalid issuer",
        );
        assert_refused(&server, &signed(config(None, &["api"])), "Invalid issuer");
        assert_refused(
            &server,
            &signed(config(Some(ISSUER), &["other"])),
            "Invalid audience",
        );
        assert_refused(
            &server,
            &signed(config(Some(ISSUER), &[])),
            "Invalid audience",
        );
        // `aud` as a list naming one of ours.
        let header = token_part(&token, 0);
        if header.get("kid").is_none() {
            let listed = compact(
                &header,
                &claims_now(&json!({"iss": ISSUER, "aud": ["other", "admin"]})),
                |input| hmac_sha256(DEFAULT_SECRET.as_bytes(), input),
            );
            assert_accepted(&server, &listed, &user1());
            let wrong_list = compact(
                &header,
                &claims_now(&json!({"iss": ISSUER, "aud": ["other", "another"]})),
                |input| hmac_sha256(DEFAULT_SECRET.as_bytes(), input),
            );
            assert_refused(&server, &wrong_list, "Invalid audience");
        }
    }
    // Without them nothing changes: no iss, no aud, and a token with an aud is refused
    // (Flask-JWT's rule).
    let plain = Server::start(&[]);
    let claims = token_part(&plain.token(), 1);
    assert!(claims.get("iss").is_none() && claims.get("aud").is_none());
    let mut audience = JwtConfig::default();
    audience.audience = vec!["api".to_owned()];
    let with_aud = sign(
        Key::hmac(Algorithm::HS256, DEFAULT_SECRET).unwrap(),
        audience,
        1,
    );
    assert_refused(&plain, &with_aud, "Invalid audience");
}

// ---------------------------------------------------------------------------------------------
// Verify-only mode.

fn jwks_url(port: u16) -> String {
    format!("http://127.0.0.1:{port}/.well-known/jwks.json")
}

/// A JWKS served by the test itself: what it answers can change, and it counts the fetches.
struct KeyServer {
    port: u16,
    answer: Arc<Mutex<(u16, String)>>,
    fetches: Arc<AtomicUsize>,
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl KeyServer {
    fn start(port: u16, jwks: &Value) -> Self {
        let listener = TcpListener::bind(("127.0.0.1", port)).unwrap();
        listener.set_nonblocking(true).unwrap();
        let answer = Arc::new(Mutex::new((200, jwks.to_string())));
        let fetches = Arc::new(AtomicUsize::new(0));
        let stop = Arc::new(AtomicBool::new(false));
        let thread = {
            let (answer, fetches, stop) = (answer.clone(), fetches.clone(), stop.clone());
            std::thread::spawn(move || {
                while !stop.load(Ordering::SeqCst) {
                    match listener.accept() {
                        Ok((stream, _)) => Self::answer(stream, &answer, &fetches),
                        Err(_) => std::thread::sleep(Duration::from_millis(10)),
                    }
                }
            })
        };
        Self {
            port,
            answer,
            fetches,
            stop,
            thread: Some(thread),
        }
    }

    fn answer(mut stream: TcpStream, answer: &Mutex<(u16, String)>, fetches: &AtomicUsize) {
        stream.set_nonblocking(false).unwrap();
        stream
            .set_read_timeout(Some(Duration::from_secs(5)))
            .unwrap();
        let mut request = Vec::new();
        let mut buffer = [0; 1024];
        while !request.windows(4).any(|w| w == b"\r\n\r\n") {
            match stream.read(&mut buffer) {
                Ok(0) | Err(_) => return,
                Ok(n) => request.extend_from_slice(&buffer[..n]),
            }
        }
        if request.starts_with(b"GET /.well-known/jwks.json ") {
            fetches.fetch_add(1, Ordering::SeqCst);
        }
        let (status, body) = answer.lock().unwrap().clone();
        let response = format!(
            "HTTP/1.1 {status} X\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\
             Connection: close\r\n\r\n{body}",
            body.len()
        );
        stream.write_all(response.as_bytes()).ok();
    }

    fn serve(&self, status: u16, body: &str) {
        *self.answer.lock().unwrap() = (status, body.to_owned());
    }

    fn fetches(&self) -> usize {
        self.fetches.load(Ordering::SeqCst)
    }
}

impl Drop for KeyServer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(thread) = self.thread.take() {
            thread.join().ok();
        }
    }
}

fn jwks_of(keys: &[&Key]) -> Value {
    json!({"keys": keys.iter().map(|key| key.public_jwk().unwrap()).collect::<Vec<_>>()})
}

/// Sends `token` to `/protected` until it is accepted: the verify-only server fetches the keys
/// again at most once per 10 s, so a new `kid` may take that long. Not a timing assertion: the
/// deadline only keeps a broken server from hanging the test.
#[track_caller]
fn until_accepted(server: &Server, token: &str) -> Response {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let response = server.with_token("GET", "/protected", token);
        if response.status == 200 || Instant::now() > deadline {
            return response;
        }
        assert_eq!(response.json(), invalid_token("Unknown key id (kid)"));
        std::thread::sleep(Duration::from_millis(250));
    }
}

#[test]
fn a_verify_only_server_accepts_the_signer_s_tokens_and_nothing_else() {
    for algorithm in ASYMMETRIC {
        let files = KeyFiles::generate(algorithm);
        let signer = start(&files.vars());
        let verifier = Server::start(&[("JWT_JWKS_URL", &jwks_url(signer.port))]);

        let token = signer.token();
        assert_accepted(&verifier, &token, &user1());
        let user2 = signer
            .login(r#"{"username":"user2","password":"xyzabc"}"#)
            .json();
        assert_accepted(
            &verifier,
            user2["access_token"].as_str().unwrap(),
            &json!({"id": 2, "username": "user2"}),
        );

        // No login here: the path is an unknown one.
        let login = verifier.login(r#"{"username":"user1","password":"abcxyz"}"#);
        assert_eq!(
            (login.status, login.json()),
            (
                404,
                json!({"status_code": 404, "error": "Not Found", "description": "Not found"})
            ),
            "{algorithm}"
        );
        // It republishes the signer's key.
        assert_eq!(jwks(&verifier).json(), jwks(&signer).json(), "{algorithm}");

        let kid = files.thumbprint();
        let config = JwtConfig::default();
        let forged = KeyFiles::generate(algorithm)
            .signing_key()
            .with_kid(kid.as_str());
        assert_refused(
            &verifier,
            &sign(forged, config.clone(), 1),
            "Signature verification failed",
        );
        let renamed = files.signing_key().with_kid("not-published");
        assert_refused(
            &verifier,
            &sign(renamed, config.clone(), 1),
            "Unknown key id (kid)",
        );
        let hmac = compact(
            &json!({"typ": "JWT", "alg": "HS256", "kid": kid}),
            &claims_now(&json!({})),
            |input| hmac_sha256(files.public_pem.as_bytes(), input),
        );
        assert_refused(&verifier, &hmac, "The specified alg value is not allowed");
        let default_secret = compact(
            &json!({"typ": "JWT", "alg": "HS256"}),
            &claims_now(&json!({})),
            |input| hmac_sha256(DEFAULT_SECRET.as_bytes(), input),
        );
        assert_refused(
            &verifier,
            &default_secret,
            "Token header has no key id (kid)",
        );
    }
}

#[test]
fn a_verify_only_server_requires_its_issuer_and_audience() {
    const ISSUER: &str = "https://issuer.example";
    let files = KeyFiles::generate(Algorithm::ES256);
    let signer = start(&with(
        files.vars(),
        &[("JWT_ISSUER", ISSUER), ("JWT_AUDIENCE", "api")],
    ));
    let url = jwks_url(signer.port);
    let token = signer.token();
    for (vars, outcome) in [
        (vec![("JWT_ISSUER", ISSUER), ("JWT_AUDIENCE", "api")], None),
        (
            vec![("JWT_ISSUER", ISSUER), ("JWT_AUDIENCE", "admin,api")],
            None,
        ),
        (vec![("JWT_AUDIENCE", "api")], None),
        (
            vec![("JWT_ISSUER", ISSUER), ("JWT_AUDIENCE", "admin")],
            Some("Invalid audience"),
        ),
        (
            vec![
                ("JWT_ISSUER", "https://other.example"),
                ("JWT_AUDIENCE", "api"),
            ],
            Some("Invalid issuer"),
        ),
        // No audience configured: a token with one is refused (Flask-JWT's rule).
        (vec![], Some("Invalid audience")),
    ] {
        let mut vars = vars;
        vars.push(("JWT_JWKS_URL", &url));
        let verifier = Server::start(&vars);
        match outcome {
            None => assert_accepted(&verifier, &token, &user1()),
            Some(description) => assert_refused(&verifier, &token, description),
        }
    }
    // A token of the same key without the issuer is refused where the issuer is required.
    let verifier = Server::start(&[
        ("JWT_JWKS_URL", &url),
        ("JWT_ISSUER", ISSUER),
        ("JWT_AUDIENCE", "api"),
    ]);
    let mut config = JwtConfig::default();
    config.audience = vec!["api".to_owned()];
    assert_refused(
        &verifier,
        &sign(files.signing_key(), config, 1),
        "Invalid issuer",
    );
}

#[test]
fn a_verify_only_server_follows_a_key_rotation_of_the_signer() {
    let first = KeyFiles::generate(Algorithm::ES256);
    let signer = start(&first.vars());
    let port = signer.port;
    let verifier = Server::start(&[("JWT_JWKS_URL", &jwks_url(port))]);
    let old_token = signer.token();
    assert_accepted(&verifier, &old_token, &user1());

    // The signer restarts on the same port with a new key pair.
    assert!(signer.terminate().success());
    let second = KeyFiles::generate(Algorithm::ES256);
    let vars = second.vars();
    let vars: Vec<(&str, &str)> = vars.iter().map(|(n, v)| (*n, v.as_str())).collect();
    let signer = Server::start_on(port, &vars);
    let new_token = signer.token();
    assert_eq!(token_part(&new_token, 0)["kid"], second.thumbprint());

    // The unknown kid makes the verifier fetch the keys again (at most once per 10 s).
    let response = until_accepted(&verifier, &new_token);
    assert_eq!((response.status, response.json()), (200, user1()));
    // The signer no longer publishes the old key: its tokens are refused now.
    assert_refused(&verifier, &old_token, "Unknown key id (kid)");
    assert_eq!(jwks(&verifier).json(), jwks(&signer).json());
}

#[test]
fn unknown_kids_fetch_the_keys_again_at_most_once_per_10_seconds() {
    let first = KeyFiles::generate(Algorithm::EdDSA).signing_key();
    let second = KeyFiles::generate(Algorithm::EdDSA).signing_key();
    let keys = KeyServer::start(common::free_port(), &jwks_of(&[&first]));
    let verifier = Server::start(&[("JWT_JWKS_URL", &jwks_url(keys.port))]);
    let started = Instant::now();
    // Fetched once, at start.
    assert_eq!(keys.fetches(), 1);
    let config = JwtConfig::default();
    let token = sign(first.clone(), config.clone(), 1);
    for _ in 0..5 {
        assert_accepted(&verifier, &token, &user1());
    }
    assert_eq!(keys.fetches(), 1, "known kids are served from the cache");

    // A burst of unknown kids: at most one fetch per 10 s, however many tokens come.
    for index in 0..20 {
        let stranger = second.clone().with_kid(format!("unknown-{index}"));
        assert_refused(
            &verifier,
            &sign(stranger, config.clone(), 1),
            "Unknown key id (kid)",
        );
    }
    let allowed = 1 + 1 + usize::try_from(started.elapsed().as_secs() / 10).unwrap();
    assert!(keys.fetches() <= allowed, "{} fetches", keys.fetches());

    // The issuer adds a key: a token naming it is accepted after one more fetch.
    keys.serve(200, &jwks_of(&[&first, &second]).to_string());
    let before = keys.fetches();
    let response = until_accepted(&verifier, &sign(second.clone(), config.clone(), 2));
    assert_eq!(
        (response.status, response.json()),
        (200, json!({"id": 2, "username": "user2"}))
    );
    assert_eq!(keys.fetches(), before + 1);

    // A failed fetch keeps the last good keys.
    keys.serve(500, r#"{"error": "down"}"#);
    let before = keys.fetches();
    let deadline = Instant::now() + Duration::from_secs(60);
    let unknown = sign(second.clone().with_kid("still-unknown"), config.clone(), 1);
    while keys.fetches() == before && Instant::now() < deadline {
        assert_refused(&verifier, &unknown, "Unknown key id (kid)");
        std::thread::sleep(Duration::from_millis(250));
    }
    assert_eq!(keys.fetches(), before + 1, "a new fetch was tried");
    assert_accepted(&verifier, &token, &user1());
    assert_accepted(
        &verifier,
        &sign(second, config, 2),
        &json!({"id": 2, "username": "user2"}),
    );
}

#[test]
fn a_verify_only_server_starts_while_the_key_server_is_down() {
    let key = KeyFiles::generate(Algorithm::ES384).signing_key();
    let port = common::free_port();
    let mut verifier = Server::start_capturing_logs(&[("JWT_JWKS_URL", &jwks_url(port))]);
    let token = sign(key.clone(), JwtConfig::default(), 1);
    assert_refused(&verifier, &token, "Unknown key id (kid)");
    assert_eq!(jwks(&verifier).json(), json!({"keys": []}));

    // The key server comes up: the keys are fetched when a token needs them.
    let keys = KeyServer::start(port, &jwks_of(&[&key]));
    let response = until_accepted(&verifier, &token);
    assert_eq!((response.status, response.json()), (200, user1()));
    assert!(keys.fetches() >= 1);

    let mut stderr = verifier.child.stderr.take().unwrap();
    verifier.child.kill().unwrap();
    verifier.child.wait().unwrap();
    let mut logs = String::new();
    stderr.read_to_string(&mut logs).unwrap();
    assert!(
        logs.contains("could not fetch the keys of JWT_JWKS_URL"),
        "{logs}"
    );
}

#[test]
fn verify_only_settings_are_checked_at_start() {
    let files = KeyFiles::generate(Algorithm::ES256);
    let url = jwks_url(9);
    let url = ("JWT_JWKS_URL", url.as_str());
    for (vars, variable) in [
        (
            vec![
                url,
                ("JWT_ALGORITHM", "ES256"),
                ("JWT_PRIVATE_KEY_FILE", &files.private),
                ("JWT_PUBLIC_KEY_FILE", &files.public),
            ],
            "JWT_JWKS_URL",
        ),
        (
            vec![url, ("JWT_PRIVATE_KEY_FILE", &files.private)],
            "JWT_JWKS_URL",
        ),
        (vec![("JWT_JWKS_URL", "not a url")], "JWT_JWKS_URL"),
        (
            vec![("JWT_JWKS_URL", "ftp://127.0.0.1/jwks.json")],
            "JWT_JWKS_URL",
        ),
        (vec![url, ("JWT_ALGORITHM", "es256")], "JWT_ALGORITHM"),
        (vec![url, ("JWT_SECRET_KEY", "")], "JWT_SECRET_KEY"),
        (
            vec![url, ("JWT_AUTH_URL_RULE", "/.well-known/jwks.json")],
            "JWT_AUTH_URL_RULE",
        ),
    ] {
        assert_exits_naming(&vars, variable);
    }
    // The public key file is not used, and does not stop the server.
    let verifier = Server::start(&[
        url,
        ("JWT_ALGORITHM", "ES256"),
        ("JWT_PUBLIC_KEY_FILE", &files.public),
    ]);
    assert_eq!(verifier.login("{}").status, 404);
    // An empty JWT_JWKS_URL is unset: the default HMAC server, with its login.
    let server = Server::start(&[("JWT_JWKS_URL", "")]);
    assert_accepted(&server, &server.token(), &user1());
}
