//! `jwt-gate`: mint and inspect Flask-JWT tokens as jwt-gate issues and verifies them, generate
//! signing key pairs, and print a JWKS.
//!
//! Secrets never come from the command line (it shows in `ps`): HMAC secrets come from
//! `JWT_SECRET_KEY`, private keys from PEM files. Exit status: 0 success, 1 `inspect` found the
//! token invalid, 2 any error (one line on stderr).

mod json;
mod keys;
mod token;

use std::collections::HashSet;
use std::ffi::OsString;
use std::fs::{File, OpenOptions};
use std::io::{self, Read as _, Write as _};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::builder::{PossibleValuesParser, TypedValueParser};
use clap::error::ErrorKind;
use clap::{Args, Parser, Subcommand};
use jwt_gate::{Algorithm, Key, KeyMaterial, Keys};
use serde::Serialize;
use serde_json::{Map, Value};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use zeroize::Zeroizing;

use crate::token::Verifier;

/// The latest time shown or issued: 9999-12-31T23:59:59Z (RFC 3339 has four-digit years).
const MAX_TIME: i64 = 253_402_300_799;
/// The most `inspect -` reads from standard input.
const MAX_STDIN_BYTES: u64 = 1024 * 1024;

/// Why a command failed: one line on stderr, exit status 2.
#[derive(Debug)]
pub(crate) struct Fail {
    pub(crate) message: String,
}

impl Fail {
    pub(crate) fn usage(message: impl Into<String>) -> Self {
        Self {
            message: message.into(),
        }
    }
}

const MAIN_EXAMPLES: &str = "\
Examples:
  export JWT_SECRET_KEY=\"$(openssl rand -base64 32)\"
  jwt-gate mint --identity 42
  jwt-gate mint --identity 42 | jwt-gate inspect -
  jwt-gate keygen --alg ES256 --out keys/
  jwt-gate mint --identity 42 --alg ES256 --key-file keys/private.pem
  jwt-gate jwks keys/public.pem > jwks.json

Exit status: 0 success, 1 `inspect` decoded an invalid token, 2 any error.";

#[derive(Debug, Parser)]
#[command(
    name = "jwt-gate",
    version,
    about = "Mint and inspect Flask-JWT tokens as jwt-gate issues and verifies them; generate key pairs and JWKS",
    long_about = "Mint and inspect Flask-JWT tokens as jwt-gate issues and verifies them; generate \
key pairs and JWKS.\n\nSecrets never come from the command line, where `ps` would show them: HMAC \
secrets come from the JWT_SECRET_KEY environment variable, private keys from PEM files.",
    after_help = MAIN_EXAMPLES,
    subcommand_required = true
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    Mint(MintArgs),
    Inspect(InspectArgs),
    Keygen(KeygenArgs),
    Jwks(JwksArgs),
}

const MINT_EXAMPLES: &str = "\
Examples:
  export JWT_SECRET_KEY=\"$(openssl rand -base64 32)\"
  jwt-gate mint --identity 42
  jwt-gate mint --identity 42 --alg HS512 --lifetime 3600
  jwt-gate mint --identity 42 --claim role='\"admin\"' --claim level=3 --claim 'scopes=[\"a\",\"b\"]'
  jwt-gate mint --identity 42 --alg RS256 --key-file keys/private.pem

Claim values are JSON: quote strings (--claim role='\"admin\"'); a value that is not JSON is an
error, never guessed to be a string. identity, iat, nbf and exp are the command's own.";

/// Print one token, signed as jwt-gate signs them, and a newline.
///
/// The token has Flask-JWT's claims, identity, iat, nbf (= iat) and exp (= iat + lifetime),
/// integers, plus the --claim ones. HS256/HS384/HS512 sign with JWT_SECRET_KEY (its bytes as
/// they are, at least 32); the other algorithms sign with --key-file, and their header carries
/// the key's RFC 7638 thumbprint as `kid`.
#[derive(Debug, Args)]
#[command(after_help = MINT_EXAMPLES)]
struct MintArgs {
    /// The user's id: the token's `identity` claim
    #[arg(long, value_name = "INTEGER", allow_negative_numbers = true)]
    identity: i64,
    /// The signing algorithm [default: HS256]
    #[arg(long, value_name = "ALG", value_parser = alg_parser(|_| true))]
    alg: Option<Algorithm>,
    /// Seconds from now until the token expires (`exp - iat`)
    #[arg(long, value_name = "SECONDS", default_value_t = 300)]
    lifetime: u64,
    /// Private key (PEM: PKCS#8, or PKCS#1 RSA, or SEC1 EC), for the asymmetric algorithms only
    #[arg(long, value_name = "PEM")]
    key_file: Option<PathBuf>,
    /// An extra claim, NAME=JSON; repeatable
    #[arg(long = "claim", value_name = "NAME=JSON", value_parser = parse_claim)]
    claims: Vec<(String, Value)>,
}

const INSPECT_EXAMPLES: &str = "\
Examples:
  jwt-gate inspect eyJ0eXAiOiJKV1QiLCJhbGciOiJIUzI1NiJ9.eyJleHAiOjF9.c2ln
  pbpaste | jwt-gate inspect -
  JWT_SECRET_KEY=\"$SECRET\" jwt-gate inspect \"$TOKEN\"
  jwt-gate inspect --key-file keys/public.pem --alg ES256 \"$TOKEN\"

Exit status: 0 decoded (and valid, when verified), 1 decoded but invalid, 2 not decodable.";

/// Decode a token and print `{"header", "claims", "times"}` as JSON; verify it with a key.
///
/// Without a key the token is only decoded. With --key-file (a public or private PEM) or a
/// JWT_SECRET_KEY set it is also verified, as a jwt-gate service with default settings and
/// that one key would, with only `exp` required: jwt-gate's size limits; with --key-file, the
/// token's `kid` must be the key's (its RFC 7638 thumbprint; a secret ignores `kid`); the
/// token's `alg` must fit the key (any HS algorithm for a secret; RS*/PS* for an RSA key, ES256
/// for P-256, ES384 for P-384, EdDSA for Ed25519) and --alg when given; no `crit`; the
/// signature; iat, nbf and exp within a 10 s leeway; no `aud`. The output then adds "valid"
/// and, when invalid, "error" (the message a jwt-gate service would give). --key-file takes
/// precedence over JWT_SECRET_KEY. "times" shows iat, nbf and exp as RFC 3339 UTC.
#[derive(Debug, Args)]
#[command(after_help = INSPECT_EXAMPLES)]
struct InspectArgs {
    /// The token, or `-` to read it from standard input
    #[arg(value_name = "TOKEN", allow_hyphen_values = true)]
    token: String,
    /// Verify with this public (or private) key, PEM
    #[arg(long, value_name = "PEM")]
    key_file: Option<PathBuf>,
    /// Accept only this algorithm when verifying
    #[arg(long, value_name = "ALG", value_parser = alg_parser(|_| true))]
    alg: Option<Algorithm>,
}

const KEYGEN_EXAMPLES: &str = "\
Examples:
  jwt-gate keygen --alg RS256 --out keys/
  jwt-gate keygen --alg PS512 --bits 4096 --out keys/
  jwt-gate keygen --alg EdDSA --out keys/ --force";

/// Generate a key pair: DIR/private.pem (PKCS#8, mode 0600) and DIR/public.pem (SPKI).
///
/// Prints the key's `kid`, its RFC 7638 thumbprint, as the only line. DIR is created if
/// missing. Existing files are never overwritten without --force (exit status 2); with it they
/// are replaced whole.
#[derive(Debug, Args)]
#[command(after_help = KEYGEN_EXAMPLES)]
struct KeygenArgs {
    /// The algorithm the key signs for
    #[arg(long, value_name = "ALG", value_parser = alg_parser(|alg| !alg.is_hmac()))]
    alg: Algorithm,
    /// The directory to write private.pem and public.pem to
    #[arg(long, value_name = "DIR")]
    out: PathBuf,
    /// RSA modulus size (RS*, PS* only) [default: 2048]
    #[arg(long, value_name = "BITS", value_parser = PossibleValuesParser::new(["2048", "3072", "4096"]).try_map(|bits| bits.parse::<usize>()))]
    bits: Option<usize>,
    /// Replace existing private.pem and public.pem
    #[arg(long)]
    force: bool,
}

const JWKS_EXAMPLES: &str = "\
Examples:
  jwt-gate jwks keys/public.pem
  jwt-gate jwks old/public.pem new/public.pem > jwks.json
  jwt-gate jwks --rsa-alg PS256 keys/public.pem";

/// Print a JWKS, `{"keys": [...]}`, of public keys.
///
/// Each key has `kty`, `use: "sig"`, `alg`, `kid` (its RFC 7638 thumbprint) and its public
/// members. EC and Ed25519 keys have one algorithm each (ES256, ES384, EdDSA); RSA keys get
/// --rsa-alg. A private key file works too: only its public half is printed. A key given twice
/// is listed once.
#[derive(Debug, Args)]
#[command(after_help = JWKS_EXAMPLES)]
struct JwksArgs {
    /// Public key files (PEM: SPKI `PUBLIC KEY`, or PKCS#1 `RSA PUBLIC KEY`)
    #[arg(value_name = "PUBLIC_PEM", required = true)]
    keys: Vec<PathBuf>,
    /// The `alg` of RSA keys
    #[arg(long, value_name = "ALG", default_value = "RS256", value_parser = alg_parser(Algorithm::is_rsa))]
    rsa_alg: Algorithm,
}

/// The algorithms for which `keep` holds, by their exact JOSE names (upper case, `EdDSA`), as
/// in a token's header.
fn alg_parser(keep: fn(Algorithm) -> bool) -> impl TypedValueParser<Value = Algorithm> {
    let names = Algorithm::ALL
        .into_iter()
        .filter(|&alg| keep(alg))
        .map(Algorithm::as_str);
    PossibleValuesParser::new(names).try_map(|name| name.parse::<Algorithm>())
}

/// `NAME=JSON` of `--claim`.
fn parse_claim(text: &str) -> Result<(String, Value), String> {
    let (name, value) = text
        .split_once('=')
        .ok_or_else(|| "expected NAME=JSON, as in role='\"admin\"' or level=3".to_owned())?;
    if name.is_empty() {
        return Err("the claim name is empty".to_owned());
    }
    if token::RESERVED_CLAIMS.contains(&name) {
        return Err(format!(
            "{name} is set by the command itself and cannot be given as a claim"
        ));
    }
    let value = json::parse_value(value.as_bytes()).map_err(|e| {
        format!("the value of {name} is not JSON ({e}); quote strings, as in {name}='\"text\"'")
    })?;
    Ok((name.to_owned(), value))
}

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(error) => return clap_error(&error),
    };
    let outcome = match cli.command {
        Command::Mint(args) => mint(args),
        Command::Inspect(args) => inspect(&args),
        Command::Keygen(args) => keygen(&args),
        Command::Jwks(args) => jwks(&args),
    };
    outcome.unwrap_or_else(|fail| {
        report_error(&fail.message);
        ExitCode::from(2)
    })
}

/// Help and version go to stdout (status 0); usage errors become one line on stderr (status 2).
fn clap_error(error: &clap::Error) -> ExitCode {
    match error.kind() {
        ErrorKind::DisplayHelp | ErrorKind::DisplayVersion => {
            let _ = error.print();
            ExitCode::SUCCESS
        }
        ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand | ErrorKind::MissingSubcommand => {
            report_error(
                "a command is required: mint, inspect, keygen or jwks (see jwt-gate --help)",
            );
            ExitCode::from(2)
        }
        _ => {
            let text = error.render().to_string();
            // clap's message, its context lines and tip, without the usage block and the
            // pointer to --help.
            let message = text
                .lines()
                .take_while(|line| !line.starts_with("Usage:"))
                .filter(|line| !line.starts_with("For more information"))
                .collect::<Vec<_>>()
                .join(" ");
            let message = message.trim();
            report_error(message.strip_prefix("error:").unwrap_or(message));
            ExitCode::from(2)
        }
    }
}

/// One line on stderr, whatever the message holds.
fn report_error(message: &str) {
    let line = message.split_whitespace().collect::<Vec<_>>().join(" ");
    let _ = writeln!(io::stderr().lock(), "error: {line}");
}

/// Writes `text` and a newline to stdout.
fn print_line(text: &str) -> Result<(), Fail> {
    let mut stdout = io::stdout().lock();
    writeln!(stdout, "{text}")
        .and_then(|()| stdout.flush())
        .map_err(|e| Fail::usage(format!("cannot write to standard output: {e}")))
}

fn print_json(value: &impl Serialize) -> Result<(), Fail> {
    let text = serde_json::to_string_pretty(value)
        .map_err(|e| Fail::usage(format!("cannot encode the output: {e}")))?;
    print_line(&text)
}

fn now() -> i64 {
    jwt_gate::unix_seconds(&jwt_gate::SystemClock::default())
}

/// `JWT_SECRET_KEY` as bytes, untrimmed.
fn env_secret() -> Result<Option<Zeroizing<Vec<u8>>>, Fail> {
    std::env::var_os("JWT_SECRET_KEY")
        .map(|value| os_bytes(value).map(Zeroizing::new))
        .transpose()
}

#[cfg(unix)]
fn os_bytes(value: OsString) -> Result<Vec<u8>, Fail> {
    use std::os::unix::ffi::OsStringExt as _;
    Ok(value.into_vec())
}

#[cfg(not(unix))]
fn os_bytes(value: OsString) -> Result<Vec<u8>, Fail> {
    value
        .into_string()
        .map(String::into_bytes)
        .map_err(|_| Fail::usage("JWT_SECRET_KEY: not valid Unicode"))
}

/// One HMAC secret for `alg`, under jwt-gate's rule for secrets (at least 32 bytes), with its
/// message.
fn hmac_keys(alg: Algorithm, secret: &[u8]) -> Result<Keys, Fail> {
    Keys::hmac(alg, secret).map_err(|e| Fail::usage(e.to_string()))
}

fn mint(args: MintArgs) -> Result<ExitCode, Fail> {
    let mut extra = Map::new();
    for (name, value) in args.claims {
        if extra.contains_key(&name) {
            return Err(Fail::usage(format!("--claim {name} is given twice")));
        }
        extra.insert(name, value);
    }
    let now = now();
    let lifetime = i64::try_from(args.lifetime)
        .ok()
        .filter(|&lifetime| now.checked_add(lifetime).is_some_and(|exp| exp <= MAX_TIME))
        .ok_or_else(|| {
            Fail::usage(format!(
                "--lifetime {}: the token would expire after the year 9999",
                args.lifetime
            ))
        })?;
    let alg = args.alg.unwrap_or(Algorithm::HS256);
    let keys = match (alg.is_hmac(), args.key_file) {
        (true, Some(path)) if args.alg.is_none() => {
            // A key file without --alg: say which algorithms the key signs for.
            let material = keys::read_key_file(&path)?;
            return Err(Fail::usage(format!(
                "--key-file needs --alg ({material} signs {}); the default HS256 signs with JWT_SECRET_KEY",
                keys::algorithms(&material)
            )));
        }
        (true, Some(_)) => {
            return Err(Fail::usage(format!(
                "--key-file is for the asymmetric algorithms; {alg} signs with JWT_SECRET_KEY"
            )));
        }
        (true, None) => {
            let secret = env_secret()?.ok_or_else(|| {
                Fail::usage("JWT_SECRET_KEY: not set; set it to at least 32 random bytes")
            })?;
            hmac_keys(alg, &secret)?
        }
        (false, None) => {
            return Err(Fail::usage(format!(
                "--alg {alg} needs --key-file <private PEM> (see jwt-gate keygen)"
            )));
        }
        (false, Some(path)) => {
            let material = keys::read_key_file(&path)?;
            if !material.is_private() {
                return Err(Fail::usage(format!(
                    "{}: a public key cannot sign; pass the private key",
                    path.display()
                )));
            }
            if !material.algorithms().contains(&alg) {
                return Err(Fail::usage(format!(
                    "{}: {material} cannot sign {alg}; it signs {}",
                    path.display(),
                    keys::algorithms(&material)
                )));
            }
            let key = keys::into_key(material, alg, &path)?;
            Keys::new(key).map_err(|e| Fail::usage(keys::reason(e)))?
        }
    };
    let token = token::sign(&keys, args.identity, now, lifetime, &extra)?;
    print_line(&token)?;
    Ok(ExitCode::SUCCESS)
}

/// The key `inspect` verifies with, if any: read and checked before the token is.
fn inspect_verifier(args: &InspectArgs) -> Result<Option<Verifier>, Fail> {
    let pinned = args.alg;
    if let Some(path) = &args.key_file {
        if let Some(alg) = pinned.filter(|alg| alg.is_hmac()) {
            return Err(Fail::usage(format!(
                "--alg {alg} verifies with JWT_SECRET_KEY, not --key-file"
            )));
        }
        let material = keys::read_key_file(path)?;
        if let Some(alg) = pinned.filter(|alg| !material.algorithms().contains(alg)) {
            return Err(Fail::usage(format!(
                "--alg {alg} does not fit {}: {material} verifies {}",
                path.display(),
                keys::algorithms(&material)
            )));
        }
        return Ok(Some(Verifier::Key { material, pinned }));
    }
    // Set but empty is refused like a short secret, never taken for "no key": a script's
    // JWT_SECRET_KEY="$UNSET" must not turn verification off.
    let secret = env_secret()?;
    match (secret, pinned) {
        (None, None) => Ok(None),
        (None, Some(alg)) => Err(Fail::usage(format!(
            "--alg {alg} needs a key to verify with: JWT_SECRET_KEY or --key-file"
        ))),
        (Some(_), Some(alg)) if !alg.is_hmac() => Err(Fail::usage(format!(
            "--alg {alg} needs --key-file; JWT_SECRET_KEY verifies HS256, HS384 and HS512"
        ))),
        (Some(secret), pinned) => {
            // The same rule for every HS algorithm; the token may choose one of them later.
            hmac_keys(pinned.unwrap_or(Algorithm::HS256), &secret)?;
            Ok(Some(Verifier::Secret { secret, pinned }))
        }
    }
}

fn read_stdin() -> Result<String, Fail> {
    let mut bytes = Vec::new();
    io::stdin()
        .take(MAX_STDIN_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| Fail::usage(format!("cannot read standard input: {e}")))?;
    if bytes.len() as u64 > MAX_STDIN_BYTES {
        return Err(Fail::usage("not a JWT: standard input is over 1 MiB"));
    }
    String::from_utf8(bytes).map_err(|_| Fail::usage("not a JWT: standard input is not UTF-8"))
}

/// A Unix time as RFC 3339 UTC (`Z`), for years 0 to 9999.
fn rfc3339(seconds: i64) -> Option<String> {
    if !(-62_167_219_200..=MAX_TIME).contains(&seconds) {
        return None;
    }
    OffsetDateTime::from_unix_timestamp(seconds)
        .ok()?
        .format(&Rfc3339)
        .ok()
}

#[derive(Serialize)]
struct Report<'a> {
    header: &'a Map<String, Value>,
    claims: &'a Map<String, Value>,
    times: Map<String, Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    valid: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<String>,
}

fn inspect(args: &InspectArgs) -> Result<ExitCode, Fail> {
    let verifier = inspect_verifier(args)?;
    let input = if args.token == "-" {
        read_stdin()?
    } else {
        args.token.clone()
    };
    let token = input.trim();
    let decoded = token::decode(token).map_err(|e| Fail::usage(format!("not a JWT: {e}")))?;
    let mut times = Map::new();
    for name in ["iat", "nbf", "exp"] {
        if let Some(Ok(seconds)) = token::numeric_date(&decoded.claims, name)
            && let Some(text) = rfc3339(seconds)
        {
            times.insert(name.to_owned(), Value::String(text));
        }
    }
    let outcome = verifier
        .map(|verifier| verifier.verify(token, &decoded, now()))
        .transpose()?;
    let report = Report {
        header: &decoded.header,
        claims: &decoded.claims,
        times,
        valid: outcome.as_ref().map(Result::is_ok),
        error: outcome
            .as_ref()
            .and_then(|outcome| outcome.as_ref().err())
            .map(ToString::to_string),
    };
    print_json(&report)?;
    Ok(match outcome {
        Some(Err(_)) => ExitCode::from(1),
        None | Some(Ok(())) => ExitCode::SUCCESS,
    })
}

fn keygen(args: &KeygenArgs) -> Result<ExitCode, Fail> {
    let alg = args.alg;
    if args.bits.is_some() && !alg.is_rsa() {
        return Err(Fail::usage(format!(
            "--bits is for RSA algorithms (RS*, PS*); {alg} keys have a fixed size"
        )));
    }
    let private_path = args.out.join("private.pem");
    let public_path = args.out.join("public.pem");
    if !args.force {
        for path in [&private_path, &public_path] {
            if path.symlink_metadata().is_ok() {
                return Err(Fail::usage(format!(
                    "{}: already exists; pass --force to overwrite",
                    path.display()
                )));
            }
        }
    }
    std::fs::create_dir_all(&args.out)
        .map_err(|e| Fail::usage(format!("{}: {e}", args.out.display())))?;
    let generated = match args.bits {
        Some(bits) => Key::generate_rsa(alg, bits),
        None => Key::generate(alg),
    }
    .map_err(|e| Fail::usage(keys::reason(e)))?;
    // Read back what is about to be written: the kid is the file's.
    let kid = KeyMaterial::from_pem(generated.public_pem.as_bytes())
        .map_err(|e| Fail::usage(keys::reason(e)))?
        .thumbprint();
    write_key_file(
        &private_path,
        generated.private_pem.as_bytes(),
        0o600,
        args.force,
    )?;
    write_key_file(
        &public_path,
        generated.public_pem.as_bytes(),
        0o644,
        args.force,
    )?;
    print_line(&kid)?;
    Ok(ExitCode::SUCCESS)
}

/// Creates `path` (it must not exist) with exactly `mode`, whatever the umask.
fn create_new(path: &Path, mode: u32) -> io::Result<File> {
    let mut options = OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::{OpenOptionsExt as _, PermissionsExt as _};
        options.mode(mode);
        let file = options.open(path)?;
        file.set_permissions(std::fs::Permissions::from_mode(mode))?;
        Ok(file)
    }
    #[cfg(not(unix))]
    {
        let _ = mode;
        options.open(path)
    }
}

/// Writes a key file. Without `force` it must not exist; with it, the new file is written
/// beside the old one and renamed over it, so neither a half-written key nor an old mode is
/// ever left behind.
fn write_key_file(path: &Path, contents: &[u8], mode: u32, force: bool) -> Result<(), Fail> {
    let fail = |e: io::Error| Fail::usage(format!("{}: {e}", path.display()));
    let write = |target: &Path| {
        let mut file = create_new(target, mode)?;
        file.write_all(contents)?;
        file.sync_all()
    };
    if !force {
        return write(path).map_err(|e| {
            if e.kind() == io::ErrorKind::AlreadyExists {
                Fail::usage(format!(
                    "{}: already exists; pass --force to overwrite",
                    path.display()
                ))
            } else {
                fail(e)
            }
        });
    }
    let mut temporary = path.as_os_str().to_owned();
    temporary.push(format!(".tmp-{}", std::process::id()));
    let temporary = PathBuf::from(temporary);
    let result = write(&temporary).and_then(|()| std::fs::rename(&temporary, path));
    if result.is_err() {
        let _ = std::fs::remove_file(&temporary);
    }
    result.map_err(fail)
}

fn jwks(args: &JwksArgs) -> Result<ExitCode, Fail> {
    let mut seen = HashSet::new();
    let mut published = Vec::new();
    for path in &args.keys {
        let material = keys::read_key_file(path)?;
        // RSA keys fit every RS* and PS* algorithm; EC and Ed25519 keys fit one.
        let fits = material.algorithms();
        let alg = if fits.contains(&args.rsa_alg) {
            args.rsa_alg
        } else {
            fits.first().copied().ok_or_else(|| {
                Fail::usage(format!("{}: {material} fits no algorithm", path.display()))
            })?
        };
        let key = keys::into_key(material, alg, path)?;
        if let (Some(kid), Some(jwk)) = (key.kid(), key.public_jwk())
            && seen.insert(kid.to_owned())
        {
            published.push(jwk);
        }
    }
    print_json(&serde_json::json!({ "keys": published }))?;
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory as _;

    #[test]
    fn the_cli_definition_is_valid() {
        Cli::command().debug_assert();
    }

    #[test]
    fn claims_are_json() {
        assert_eq!(
            parse_claim("role=\"admin\"").unwrap(),
            ("role".to_owned(), Value::from("admin"))
        );
        assert_eq!(parse_claim("n=5").unwrap().1, Value::from(5));
        // The name ends at the first '=': "b=1" is not JSON.
        assert!(parse_claim("a=b=1").unwrap_err().contains("value of a"));
        assert!(parse_claim("a==1").unwrap_err().contains("value of a"));
        assert!(parse_claim("role=admin").is_err());
        assert!(parse_claim("exp=1").is_err());
        assert!(parse_claim("=1").is_err());
        assert!(parse_claim("novalue").is_err());
        assert!(parse_claim("o={\"a\":1,\"a\":2}").is_err());
    }

    #[test]
    fn rfc3339_utc() {
        assert_eq!(rfc3339(0).as_deref(), Some("1970-01-01T00:00:00Z"));
        assert_eq!(
            rfc3339(1_700_000_000).as_deref(),
            Some("2023-11-14T22:13:20Z")
        );
        assert_eq!(rfc3339(MAX_TIME).as_deref(), Some("9999-12-31T23:59:59Z"));
        assert_eq!(rfc3339(MAX_TIME + 1), None);
        assert_eq!(rfc3339(i64::MIN), None);
    }
}
